from lib import *

case("split-seed-timing", '''
template checkout_nudge { subject "Finish checking out" body "." }
trigger reminder_timing:
  when checkout_start and idle 30m
  split delay { 50% fast: after 1h send checkout_nudge  50% slow: after 3h send checkout_nudge }
''', emails("d1 08:00", "c1", "c2", "c3", "u2", "eve") + [
    # buckets of "<id>/reminder_timing/delay": c1 91, c2 26, c3 77, u2 0, eve 15
    ev("d1 10:00", "checkout_start", c) for c in ["c1", "c2", "c3", "u2", "eve"]
], [
    ("d1 13:30", "c1", "reminder_timing", "checkout_nudge", "slow"),
    ("d1 11:30", "c2", "reminder_timing", "checkout_nudge", "fast"),
    ("d1 13:30", "c3", "reminder_timing", "checkout_nudge", "slow"),
    ("d1 11:30", "u2", "reminder_timing", "checkout_nudge", "fast"),
    ("d1 11:30", "eve", "reminder_timing", "checkout_nudge", "fast"),
])

case("split-bucket-ranges", '''
template ta { subject "A" body "." }
template tb { subject "B" body "." }
template tc { subject "C" body "." }
# Buckets of "<id>/checkout/delay": c4 23 (the spec's test vector), c3 24, cat 12, u4 5, c1 98.
# a holds 0-22, b holds 23, c holds 24-99.
trigger checkout:
  when checkout_start
  split delay {
    23% a: send ta
    1% b: send tb
    76% c: send tc
  }
''', emails("d1 08:00", "c4", "c3", "cat", "u4", "c1") + [
    ev("d1 10:00", "checkout_start", c) for c in ["c4", "c3", "cat", "u4", "c1"]
], [
    ("d1 10:00", "c4", "checkout", "tb", "b"),
    ("d1 10:00", "c3", "checkout", "tc", "c"),
    ("d1 10:00", "cat", "checkout", "ta", "a"),
    ("d1 10:00", "u4", "checkout", "ta", "a"),
    ("d1 10:00", "c1", "checkout", "tc", "c"),
])

case("split-continues-flow", '''
event signup_done { }
template hello_f { subject "Hey!" body "." }
template hello_x { subject "Dear customer" body "." }
template tips { subject "Tips" body "." }
template survey { subject "Survey" body "." }
# The variant's steps run, then the flow goes on after the split.
trigger onboarding:
  when signup_done
  split tone {
    50% friendly: send hello_f then after 1d send tips
    50% formal: send hello_x
  }
  then after 2d send survey
''', emails("d1 08:00", "c1", "c2") + [
    # buckets of "<id>/onboarding/tone": c1 72 (formal), c2 25 (friendly)
    ev("d1 10:00", "signup_done", "c1"),
    ev("d1 10:00", "signup_done", "c2"),
], [
    ("d1 10:00", "c1", "onboarding", "hello_x", "formal"),
    ("d3 10:00", "c1", "onboarding", "survey", "formal"),
    ("d1 10:00", "c2", "onboarding", "hello_f", "friendly"),
    ("d2 10:00", "c2", "onboarding", "tips", "friendly"),
    ("d4 10:00", "c2", "onboarding", "survey", "friendly"),
])

case("aggregates", '''
template big { subject "Big spender" body "." }
template avg_t { subject "Avg" body "." }
template none_t { subject "None" body "." }
template cheap { subject "Cheap" body "." }
trigger big_spender: when purchased and sum(purchased.revenue) within 30d > 100 send big
trigger average: when cart_add and avg(cart_add.price) within 1d >= 20 send avg_t
# max over nothing is absent: the comparison is false, so the unless does not hold
trigger no_big_order: when page_view unless max(purchased.revenue) within 30d > 10 send none_t
trigger bargain: when search and min(cart_add.price) within 1d < 5 send cheap
''', emails("d1 08:00", "c1", "c2", "c3", "c4", "c5", "c6", "c7") + [
    ev("d1 10:00", "purchased", "c1", order_id="a", revenue=60),
    ev("d2 10:00", "purchased", "c1", order_id="b", revenue=40.01),
    ev("d1 10:00", "purchased", "c2", order_id="a", revenue=60),
    ev("d2 10:00", "purchased", "c2", order_id="b", revenue=40),
    ev("d1 10:00", "purchased", "c3", order_id="a"),
    ev("d1 10:00", "page_view", "c4", url="/"),
    ev("d1 10:00", "purchased", "c5", order_id="a", revenue=20),
    ev("d2 10:00", "page_view", "c5", url="/"),
    ev("d1 10:00", "cart_add", "c6", product_id="p", price=10),
    ev("d1 11:00", "cart_add", "c6", product_id="q", price=30),
    ev("d1 10:00", "cart_add", "c7", product_id="p", price=3),
    ev("d1 10:01", "cart_add", "c7", product_id="q"),
    ev("d1 11:00", "search", "c7", query="x"),
], [
    ("d2 10:00", "c1", "big_spender", "big"),
    ("d1 10:00", "c4", "no_big_order", "none_t"),
    ("d1 11:00", "c6", "average", "avg_t"),
    ("d1 11:00", "c7", "bargain", "cheap"),
])

case("absent-values", '''
template t1 { subject "not" body "." }
template t2 { subject "exists" body "." }
template t3 { subject "ne" body "." }
template t4 { subject "div" body "." }
template t5 { subject "last" body "." }
# A comparison with an absent side is false, and `not` of it is true.
trigger not_many: when cart_add and not (quantity > 2) send t1
trigger has_value: when checkout_start and exists(cart_value) send t2
trigger not_five: when cart_add and quantity != 5 send t3
# Division by zero is absent.
trigger per_item: when cart_add and cart_value / quantity > 10 send t4
trigger shoes_last: when search and last(product_view).category == "shoes" send t5
''', emails("d1 08:00", *[f"c{i}" for i in range(1, 10)]) + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 10:00", "cart_add", "c2", product_id="p", quantity=3),
    ev("d1 10:00", "checkout_start", "c3", cart_value=5),
    ev("d1 10:00", "checkout_start", "c4"),
    # c5: both not_many and not_five fire at 10:00: they compete, the rule declared first wins
    ev("d1 10:00", "cart_add", "c5", product_id="p", cart_value=100, quantity=0),
    ev("d1 10:00", "cart_add", "c6", product_id="p", cart_value=100, quantity=5),
    ev("d1 10:00", "product_view", "c7", product_id="p", category="shoes"),
    ev("d2 10:00", "product_view", "c7", product_id="p", category="hats"),
    ev("d3 10:00", "search", "c7", query="x"),
    ev("d1 10:00", "product_view", "c8", product_id="p", category="hats"),
    ev("d2 10:00", "product_view", "c8", product_id="p", category="shoes"),
    ev("d3 10:00", "search", "c8", query="x"),
    ev("d3 10:00", "search", "c9", query="x"),
], [
    ("d1 10:00", "c1", "not_many", "t1"),
    ("d1 10:00", "c2", "not_five", "t3"),
    ("d1 10:00", "c3", "has_value", "t2"),
    ("d1 10:00", "c5", "not_many", "t1"),
    ("d1 10:00", "c6", "per_item", "t4"),
    ("d3 10:00", "c8", "shoes_last", "t5"),
], explain(("c5", "not_five", "outranked")))

case("string-operators", '''
template sale { subject "Sale" body "." }
template shoes { subject "Shoes" body "." }
template cats { subject "Cats" body "." }
trigger sale_visit: when page_view(url starts_with "/sale") send sale
trigger shoe_search: when search(query contains "shoe") send shoes
trigger category_view: when product_view(category in ["shoes", "bags"]) send cats
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "page_view", "c1", url="/sale/boots"),
    ev("d1 11:00", "page_view", "c1", url="/home/sale"),
    ev("d1 10:00", "search", "c2", query="red shoes"),
    ev("d1 11:00", "search", "c2", query="hat"),
    ev("d1 10:00", "product_view", "c3", product_id="p", category="bags"),
    ev("d1 11:00", "product_view", "c3", product_id="p", category="hats"),
    ev("d1 12:00", "product_view", "c3", product_id="p"),
], [
    ("d1 10:00", "c1", "sale_visit", "sale"),
    ("d1 10:00", "c2", "shoe_search", "shoes"),
    ("d1 10:00", "c3", "category_view", "cats"),
])

case("money-arithmetic", '''
template total_t { subject "Total {{ line_total | default "?" }}" body "." }
template cents_t { subject "Cents" body "." }
# Money stays exact through arithmetic: 33.34 * 3 is 100.02, 33.33 * 3 is 99.99.
trigger big_line: when cart_add and price * quantity > 100 send total_t with line_total = price * quantity
trigger exact_sum: when checkout_start and cart_value == 0.1 + 0.2 send cents_t
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p", price=33.34, quantity=3),
    ev("d1 10:00", "cart_add", "c2", product_id="p", price=33.33, quantity=3),
    ev("d1 10:00", "checkout_start", "c3", cart_value=0.3),
], [
    ("d1 10:00", "c1", "big_line", "total_t", "-", "Total 100.02"),
    ("d1 10:00", "c3", "exact_sum", "cents_t"),
])

case("time-arithmetic", '''
event trial { ends_at: time }
template ending { subject "Your trial ends {{ ends_at }}" body "." }
trigger trial_ending: when trial(ends_at - 3d <= 2026-03-10T00:00:00Z) send ending
''', emails("d1 08:00", "c1", "c2") + [
    ev("d1 10:00", "trial", "c1", ends_at="2026-03-13T00:00:00Z"),
    ev("d1 10:00", "trial", "c2", ends_at="2026-03-13T00:00:01Z"),
], [
    ("d1 10:00", "c1", "trial_ending", "ending", "-", "Your trial ends 2026-03-13T00:00:00Z"),
])

case("until-stops-the-clock", '''
template reminder { subject "Reminder" body "." }
trigger cart_abandon: when cart_add and idle 15m send reminder
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 10:15", "cart_add", "c2", product_id="p"),
    ev("d1 10:25", "cart_add", "c3", product_id="p"),
], [
    ("d1 10:15", "c1", "cart_abandon", "reminder"),
], {"args": ["--until", T("d1 10:20")]})

case("idle-not-preempted", '''
template u { subject "Urgent" body "." }
template s { subject "Slow" body "." }
# A send that goes out cancels pending steps of lower-priority flows, but a pending idle
# evaluation is not a flow yet: it still fires. (email_click is passive: no activity.)
trigger urgent: when email_click priority 5 send u
trigger slow: when cart_add and idle 1h priority 1 send s
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 10:30", "email_click", "c1", message_id="m", url="https://x"),
], [
    ("d1 10:30", "c1", "urgent", "u"),
    ("d1 11:00", "c1", "slow", "s"),
])

case("with-bindings-and-last", '''
template followup {
  subject "More {{ last_viewed_category | default "things" }} for {{ customer.first_name | default "you" }}"
  body "."
}
trigger cart_abandon:
  when cart_add and idle 15m
  send followup with last_viewed_category = last(product_view).category
''', emails("d1 08:00", "c1", "c2") + [ident("d1 08:00", "c1", first_name="Ann")] + [
    ev("d1 09:00", "product_view", "c1", product_id="p", category="lamps"),
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 10:00", "cart_add", "c2", product_id="p"),
], [
    ("d1 10:15", "c1", "cart_abandon", "followup", "-", "More lamps for Ann"),
    ("d1 10:15", "c2", "cart_abandon", "followup", "-", "More things for you"),
])
