from lib import *

case("limit-restarts-nothing", '''
template a { subject "A" body "." }
template b { subject "B" body "." }
# A firing stopped by the limit is no firing: the running flow is not restarted.
trigger hello: when page_view limit 1 per 1d send a then after 2h send b
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "page_view", "c1", url="/"),
    ev("d1 11:00", "page_view", "c1", url="/"),
], [
    ("d1 10:00", "c1", "hello", "a"),
    ("d1 12:00", "c1", "hello", "b"),
], explain(("c1", "hello", "rule_limit")))

case("idle-filtered-anchor-activity", '''
template big { subject "Big cart" body "." }
# An event that fails the anchor's filter arms nothing, but it is still activity.
trigger big_cart: when cart_add(price > 100) and idle 15m send big
''', emails("d1 08:00", "c1", "c2") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p", price=200),
    ev("d1 10:05", "cart_add", "c1", product_id="q", price=5),
    ev("d1 10:00", "cart_add", "c2", product_id="p", price=200),
], [
    ("d1 10:15", "c2", "big_cart", "big"),
])

case("quiet-hours-dst", '''
settings { quiet_hours 22:00-08:00 }
template hi_t { subject "Hi" body "." }
trigger hi: when page_view send hi_t
''', [
    ident("d1 00:00", "ny", email="ny@example.com", timezone="America/New_York"),
    ident("d1 00:00", "ny2", email="ny2@example.com", timezone="America/New_York"),
    # 2026-03-08 04:00Z is 23:00 EST on the 7th; the clocks spring forward at 02:00 on the 8th,
    # so 08:00 that morning is EDT: 12:00Z.
    ev("d8 04:00", "page_view", "ny", url="/"),
    # 2026-03-01 04:00Z is 23:00 EST: 08:00 EST is 13:00Z.
    ev("d1 04:00", "page_view", "ny2", url="/"),
], [
    ("d8 12:00", "ny", "hi", "hi_t"),
    ("d1 13:00", "ny2", "hi", "hi_t"),
])

case("goal-ends-flow", '''
template a { subject "A" body "." }
template b { subject "B" body "." }
# The goal ends the flow when it comes within D of the firing or of the flow's last send, even
# before the first send; later than that it converts nothing and the flow goes on.
trigger nurture:
  when page_view
  goal purchased within 1d
  after 2d send a
  then after 5d send b
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "page_view", "c1", url="/"),
    ev("d1 11:00", "purchased", "c1", order_id="o"),
    ev("d1 10:00", "page_view", "c2", url="/"),
    ev("d5 10:00", "purchased", "c2", order_id="o"),
    ev("d1 10:00", "page_view", "c3", url="/"),
    ev("d4 09:00", "purchased", "c3", order_id="o"),
], [
    ("d3 10:00", "c2", "nurture", "a"),
    ("d8 10:00", "c2", "nurture", "b"),
    ("d3 10:00", "c3", "nurture", "a"),
], explain(("c1", "nurture", "converted"), ("c3", "nurture", "converted")))
