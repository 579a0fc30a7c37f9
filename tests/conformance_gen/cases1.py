from lib import *

IDLE_RULES = '''
# The canonical idle reminder: evaluated 15 minutes after the last cart_add, cancelled by any
# non-passive activity of the customer in between.
template reminder { subject "Hi {{ customer.first_name | default "there" }}" body "Your cart is waiting." }

trigger cart_abandon: when cart_add and idle 15m send reminder
'''

case("idle-cancellation", IDLE_RULES,
     emails("d1 09:00", *[f"c{i}" for i in range(1, 10)]) + [ident("d1 09:00", "c1", first_name="Ann")] + [
    ev("d1 10:00", "cart_add", "c1", product_id="p1"),
    # c2: a page view is activity: the evaluation is cancelled, nothing is sent
    ev("d1 10:00", "cart_add", "c2", product_id="p1"),
    ev("d1 10:10", "page_view", "c2", url="/"),
    # c3: email engagement is passive: it does not cancel
    ev("d1 10:00", "cart_add", "c3", product_id="p1"),
    ev("d1 10:05", "email_open", "c3", message_id="m"),
    # c4: a second anchor replaces the pending evaluation (one send, 15m after the second)
    ev("d1 10:00", "cart_add", "c4", product_id="p1"),
    ev("d1 10:10", "cart_add", "c4", product_id="p2"),
    # c5: an event stamped exactly t+D comes after the timer
    ev("d1 10:00", "cart_add", "c5", product_id="p1"),
    ev("d1 10:15", "page_view", "c5", url="/"),
    # c6: identify never cancels
    ev("d1 10:00", "cart_add", "c6", product_id="p1"),
    ident("d1 10:05", "c6", first_name="Cy"),
    # c7: an undeclared event counts as activity
    ev("d1 10:00", "cart_add", "c7", product_id="p1"),
    ev("d1 10:05", "video_play", "c7", seconds=3),
    # c8: clicks and bounces are passive too
    ev("d1 10:00", "cart_add", "c8", product_id="p1"),
    ev("d1 10:05", "email_click", "c8", message_id="m", url="https://x"),
    ev("d1 10:06", "email_bounce", "c8", message_id="m", kind="soft"),  # a hard one would stop mail
    # c9: activity one second before the evaluation still cancels
    ev("d1 10:00", "cart_add", "c9", product_id="p1"),
    ev("d1 10:14:59", "search", "c9", query="lamp"),
], [
    ("d1 10:15", "c1", "cart_abandon", "reminder", "-", "Hi Ann"),
    ("d1 10:15", "c3", "cart_abandon", "reminder", "-", "Hi there"),
    ("d1 10:25", "c4", "cart_abandon", "reminder"),
    ("d1 10:15", "c5", "cart_abandon", "reminder"),
    ("d1 10:15", "c6", "cart_abandon", "reminder", "-", "Hi Cy"),
    ("d1 10:15", "c8", "cart_abandon", "reminder"),
])

case("dedup-message-id", IDLE_RULES, emails("d1 09:00", "c1", "c2", "c3", "c4") + [
    # c1: the duplicate of the anchor is dropped: it neither re-arms nor cancels
    ev("d1 10:00", "cart_add", "c1", mid="m1", product_id="p1"),
    ev("d1 10:10", "cart_add", "c1", mid="m1", product_id="p1"),
    # c2: a duplicated page view is dropped, so it does not cancel the evaluation
    ev("d1 09:50", "page_view", "c2", mid="m2", url="/"),
    ev("d1 10:00", "cart_add", "c2", product_id="p1"),
    ev("d1 10:05", "page_view", "c2", mid="m2", url="/"),
    # c3: different ids are different events
    ev("d1 10:00", "cart_add", "c3", mid="m3", product_id="p1"),
    ev("d1 10:10", "cart_add", "c3", mid="m4", product_id="p1"),
    # c4: ids are global: reusing c1's id drops the event
    ev("d1 10:00", "cart_add", "c4", mid="m1", product_id="p1"),
], [
    ("d1 10:15", "c1", "cart_abandon", "reminder"),
    ("d1 10:15", "c2", "cart_abandon", "reminder"),
    ("d1 10:25", "c3", "cart_abandon", "reminder"),
])

case("dedup-content", '''
settings { dedup 10s }
template viewed { subject "Still looking?" body "." }
trigger viewed_twice:
  when product_view and count(product_view(same product_id)) within 1d >= 2
  send viewed
''', emails("d1 09:00", "c1", "c2", "c3", "c4", "c5") + [
    # c1: a refresh 5s later is the same event
    ev("d1 10:00:00", "product_view", "c1", product_id="p1"),
    ev("d1 10:00:05", "product_view", "c1", product_id="p1"),
    # c2: exactly D later is still within D (inclusive)
    ev("d1 10:00:00", "product_view", "c2", product_id="p1"),
    ev("d1 10:00:10", "product_view", "c2", product_id="p1"),
    # c3: D + 1s later is a new view
    ev("d1 10:00:00", "product_view", "c3", product_id="p1"),
    ev("d1 10:00:11", "product_view", "c3", product_id="p1"),
    # c4: another product is other content
    ev("d1 10:00:00", "product_view", "c4", product_id="p1"),
    ev("d1 10:00:05", "product_view", "c4", product_id="p2"),
    # c5: properties are compared after normalisation (declared fields, camelCase mapped)
    ev("d1 10:00:00", "product_view", "c5", product_id="p1"),
    ev("d1 10:00:05", "product_view", "c5", productId="p1", referrer="newsletter"),
    ev("d1 10:00:30", "product_view", "c5", productId="p1"),
], [
    ("d1 10:00:11", "c3", "viewed_twice", "viewed"),
    ("d1 10:00:30", "c5", "viewed_twice", "viewed"),
])

case("rejected-events", IDLE_RULES, emails("d1 09:00", "c1") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p1"),
    # line 3: a string where money is declared
    ev("d1 10:05", "cart_add", "c1", product_id="p1", price="cheap"),
    # line 4: malformed JSON
    '{"type":"track","event":"page_view",',
    # line 5: no userId
    {"type": "track", "event": "page_view", "timestamp": T("d1 10:06"), "properties": {"url": "/"}},
    # line 6: a required property is missing
    ev("d1 10:07", "page_view", "c1"),
    # line 7: an unparsable timestamp
    {"type": "track", "event": "page_view", "userId": "c1", "timestamp": "yesterday", "properties": {"url": "/"}},
], [
    # invalid events are not activity: the evaluation is not cancelled
    ("d1 10:15", "c1", "cart_abandon", "reminder"),
], bad=[3, 4, 5, 6, 7])

case("window-inclusive", '''
template thanks { subject "Thanks" body "." }
# A window [t - D, t] includes both ends.
trigger quick_buyer: when purchased and cart_add within 1h send thanks
''', emails("d1 08:00", "c1", "c2", "c3", "c4") + [
    ev("d1 09:00", "cart_add", "c1", product_id="p"),
    ev("d1 10:00", "purchased", "c1", order_id="o1"),
    ev("d1 08:59:59", "cart_add", "c2", product_id="p"),
    ev("d1 10:00", "purchased", "c2", order_id="o2"),
    # c3: stamped t but after the anchor in the input: not processed yet when the rule fires
    ev("d1 10:00", "purchased", "c3", order_id="o3"),
    ev("d1 10:00", "cart_add", "c3", product_id="p"),
    # c4: stamped t and before the anchor: inside
    ev("d1 10:00", "cart_add", "c4", product_id="p"),
    ev("d1 10:00", "purchased", "c4", order_id="o4"),
], [
    ("d1 10:00", "c1", "quick_buyer", "thanks"),
    ("d1 10:00", "c4", "quick_buyer", "thanks"),
])

case("count-includes-anchor", '''
template third { subject "Third time" body "." }
trigger third_view: when product_view and count(product_view) within 1d >= 3 send third
''', emails("d1 08:00", "c1", "c2") + [
    ev("d1 10:00", "product_view", "c1", product_id="a"),
    ev("d1 11:00", "product_view", "c1", product_id="b"),
    ev("d1 12:00", "product_view", "c1", product_id="c"),
    ev("d1 13:00", "product_view", "c1", product_id="d"),
    ev("d1 10:00", "product_view", "c2", product_id="a"),
    ev("d1 11:00", "product_view", "c2", product_id="b"),
    ev("d2 10:00:01", "product_view", "c2", product_id="c"),
    ev("d2 11:00", "product_view", "c2", product_id="d"),
], [
    ("d1 12:00", "c1", "third_view", "third"),
    ("d1 13:00", "c1", "third_view", "third"),
    ("d2 11:00", "c2", "third_view", "third"),
])

case("same-and-alias-filters", '''
template browse { subject "Still thinking about {{ product_id }}?" body "." }
trigger browse:
  when product_view as v and count(product_view(same product_id)) within 7d >= 2
  unless cart_add(same product_id) within 7d
  unless purchased(product_id == v.product_id) within 30d
  send browse
''', emails("d1 08:00", "c1", "c2", "c3", "c4", "c5") + [
    ev("d1 10:00", "product_view", "c1", product_id="p1"),
    ev("d2 10:00", "product_view", "c1", product_id="p2"),
    ev("d3 10:00", "product_view", "c1", product_id="p1"),
    ev("d1 10:00", "product_view", "c2", product_id="p1"),
    ev("d2 10:00", "cart_add", "c2", product_id="p1"),
    ev("d3 10:00", "product_view", "c2", product_id="p1"),
    ev("d1 10:00", "product_view", "c3", product_id="p1"),
    ev("d2 10:00", "cart_add", "c3", product_id="p2"),
    ev("d3 10:00", "product_view", "c3", product_id="p1"),
    ev("d1 09:00", "purchased", "c4", order_id="o", product_id="p1"),
    ev("d1 10:00", "product_view", "c4", product_id="p1"),
    ev("d2 10:00", "product_view", "c4", product_id="p1"),
    # c5: the purchase has no product_id: the comparison is false, so it excludes nothing
    ev("d1 09:00", "purchased", "c5", order_id="o"),
    ev("d1 10:00", "product_view", "c5", product_id="p1"),
    ev("d2 10:00", "product_view", "c5", product_id="p1"),
], [
    ("d3 10:00", "c1", "browse", "browse", "-", "Still thinking about p1?"),
    ("d3 10:00", "c3", "browse", "browse"),
    ("d2 10:00", "c5", "browse", "browse"),
])

case("anchor-alternatives", '''
template nudge { subject "About {{ cart_value | default "your cart" }}" body "." }
trigger nudge: when (cart_add or checkout_start) and idle 10m send nudge
''', emails("d1 08:00", "c1", "c2", "c3", "c4") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p", cart_value=49.9),
    ev("d1 10:00", "checkout_start", "c2", cart_value=120),
    ev("d1 10:00", "cart_add", "c3", product_id="p"),
    ev("d1 10:05", "checkout_start", "c3", cart_value=10),
    ev("d1 10:00", "cart_add", "c4", product_id="p"),
], [
    ("d1 10:10", "c1", "nudge", "nudge", "-", "About 49.90"),
    ("d1 10:10", "c2", "nudge", "nudge", "-", "About 120.00"),
    ("d1 10:15", "c3", "nudge", "nudge", "-", "About 10.00"),
    ("d1 10:10", "c4", "nudge", "nudge", "-", "About your cart"),
])

case("anchor-filter-money", '''
template big { subject "Big cart" body "." }
template exact { subject "Exactly" body "." }
trigger big_cart: when cart_add(price > 100) send big
trigger exact_price: when cart_add(price == 49.99) send exact
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p", price=100),
    ev("d1 10:01", "cart_add", "c1", product_id="p", price=100.01),
    ev("d1 10:02", "cart_add", "c1", product_id="p"),
    '{"type":"track","event":"cart_add","userId":"c2","timestamp":"2026-03-01T10:00:00Z","properties":{"product_id":"p","price":49.99}}',
    '{"type":"track","event":"cart_add","userId":"c2","timestamp":"2026-03-01T10:01:00Z","properties":{"product_id":"p","price":49.990}}',
    '{"type":"track","event":"cart_add","userId":"c3","timestamp":"2026-03-01T10:00:00Z","properties":{"product_id":"p","price":49.98}}',
], [
    ("d1 10:01", "c1", "big_cart", "big"),
    ("d1 10:00", "c2", "exact_price", "exact"),
    ("d1 10:01", "c2", "exact_price", "exact"),
])

case("camelcase-and-aliases", '''
event signup from "Signed Up", "User Registered" { plan: string, referral_code?: string }
template welcome { subject "Welcome to {{ plan }}{{ referral_code | default "" }}" body "." }
trigger welcome: when signup send welcome
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "Signed Up", "c1", plan="pro", referralCode="-X"),
    ev("d1 10:00", "User Registered", "c2", plan="free"),
    ev("d1 10:00", "signup", "c3", planName="team"),  # invalid: no plan
    ev("d1 10:01", "signup", "c3", plan="team"),
], [
    ("d1 10:00", "c1", "welcome", "welcome", "-", "Welcome to pro-X"),
    ("d1 10:00", "c2", "welcome", "welcome", "-", "Welcome to free"),
    ("d1 10:01", "c3", "welcome", "welcome", "-", "Welcome to team"),
])
