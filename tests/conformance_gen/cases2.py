from lib import *

case("opt-out-and-resubscribe", '''
template hello { subject "Hello" body "." }
trigger welcome_back: when page_view send hello
''', emails("d1 09:00", "c1", "c2", "c4") + [
    ev("d1 09:30", "unsubscribe", "c1"),
    ev("d1 10:00", "page_view", "c1", url="/"),
    ident("d1 11:00", "c1", subscribed=True),
    ev("d1 12:00", "page_view", "c1", url="/"),
    ident("d1 09:10", "c2", subscribed=False),
    ev("d1 10:00", "page_view", "c2", url="/"),
    ev("d1 10:00", "page_view", "c3", url="/"),
    ident("d1 09:30", "c4", email=None),
    ev("d1 10:00", "page_view", "c4", url="/"),
], [
    ("d1 12:00", "c1", "welcome_back", "hello"),
], explain(("c1", "welcome_back", "opted_out"), ("c2", "welcome_back", "opted_out"),
           ("c3", "welcome_back", "no_email"), ("c4", "welcome_back", "no_email")))

case("rule-limit", '''
template hi { subject "Hi" body "." }
trigger hello: when page_view limit 2 per 1d send hi
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "page_view", "c1", url="/"),
    ev("d1 11:00", "page_view", "c1", url="/"),
    ev("d1 12:00", "page_view", "c1", url="/"),
    # (t - 1d, t]: the send of d1 10:00 is out of the window at d2 10:00
    ev("d2 10:00", "page_view", "c1", url="/"),
    ev("d2 10:30", "page_view", "c1", url="/"),
    # c2 has no email: suppressed sends never count toward the limit
    ev("d1 10:00", "page_view", "c2", url="/"),
    ev("d1 11:00", "page_view", "c2", url="/"),
    ev("d1 12:00", "page_view", "c2", url="/"),
], [
    ("d1 10:00", "c1", "hello", "hi"),
    ("d1 11:00", "c1", "hello", "hi"),
    ("d2 10:00", "c1", "hello", "hi"),
], explain(("c1", "hello", "rule_limit"), ("c2", "hello", "no_email")))

case("goal-converted", '''
template reminder { subject "Reminder" body "." }
template followup { subject "Followup" body "." }
trigger cart_abandon:
  when cart_add and idle 15m
  goal purchased within 3d
  send reminder
  then after 24h send followup
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 12:00", "purchased", "c1", order_id="o"),
    ev("d1 10:00", "cart_add", "c2", product_id="p"),
    ev("d1 10:00", "cart_add", "c3", product_id="p"),
    ev("d5 10:00", "purchased", "c3", order_id="o"),
], [
    ("d1 10:15", "c1", "cart_abandon", "reminder"),
    ("d1 10:15", "c2", "cart_abandon", "reminder"),
    ("d2 10:15", "c2", "cart_abandon", "followup"),
    ("d1 10:15", "c3", "cart_abandon", "reminder"),
    ("d2 10:15", "c3", "cart_abandon", "followup"),
], explain(("c1", "cart_abandon", "converted")))

case("flow-restarted", '''
template thanks { subject "Thanks" body "." }
template review { subject "Review?" body "." }
trigger review_flow: when purchased send thanks then after 2d send review
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "purchased", "c1", order_id="o1"),
    ev("d2 10:00", "purchased", "c1", order_id="o2"),
], [
    ("d1 10:00", "c1", "review_flow", "thanks"),
    ("d2 10:00", "c1", "review_flow", "thanks"),
    ("d4 10:00", "c1", "review_flow", "review"),
], explain(("c1", "review_flow", "restarted")))

case("step-unless-since-firing", '''
template reminder { subject "Reminder" body "." }
template followup { subject "Followup" body "." }
trigger cart_abandon:
  when cart_add and idle 15m
  send reminder
  then after 24h unless purchased send followup
''', emails("d1 08:00", "c1", "c2", "c3", "c4") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 15:00", "purchased", "c1", order_id="o"),
    # c2: the purchase was before the rule fired: it does not count
    ev("d1 09:00", "purchased", "c2", order_id="o"),
    ev("d1 10:00", "cart_add", "c2", product_id="p"),
    ev("d1 10:00", "cart_add", "c3", product_id="p"),
    # c4: a purchase stamped exactly when the step is due comes after the step (timers first)
    ev("d1 10:00", "cart_add", "c4", product_id="p"),
    ev("d2 10:15", "purchased", "c4", order_id="o"),
], [
    ("d1 10:15", "c1", "cart_abandon", "reminder"),
    ("d1 10:15", "c2", "cart_abandon", "reminder"),
    ("d2 10:15", "c2", "cart_abandon", "followup"),
    ("d1 10:15", "c3", "cart_abandon", "reminder"),
    ("d2 10:15", "c3", "cart_abandon", "followup"),
    ("d1 10:15", "c4", "cart_abandon", "reminder"),
    ("d2 10:15", "c4", "cart_abandon", "followup"),
], explain(("c1", "cart_abandon", "condition")))

case("since-firing-excludes-anchor", '''
template pitch { subject "Pitch" body "." }
# "since the rule fired": the anchor itself (and events before it) do not count.
trigger big_order: when purchased(revenue > 100) after 1d unless purchased send pitch
''', emails("d1 08:00", "c1", "c2", "c3", "c4") + [
    ev("d1 10:00", "purchased", "c1", order_id="a", revenue=200),
    ev("d1 10:00", "purchased", "c2", order_id="a", revenue=200),
    ev("d1 12:00", "purchased", "c2", order_id="b", revenue=5),
    # c3: a second purchase in the same instant, after the anchor in the input
    ev("d1 10:00", "purchased", "c3", order_id="a", revenue=200),
    ev("d1 10:00", "purchased", "c3", order_id="b", revenue=5),
    # c4: the same two, in the other order: the small one happened before the firing
    ev("d1 10:00", "purchased", "c4", order_id="b", revenue=5),
    ev("d1 10:00", "purchased", "c4", order_id="a", revenue=200),
], [
    ("d2 10:00", "c1", "big_order", "pitch"),
    ("d2 10:00", "c4", "big_order", "pitch"),
], explain(("c2", "big_order", "condition"), ("c3", "big_order", "condition")))

case("timer-before-event-same-instant", '''
template f { subject "Follow" body "." }
trigger follow: when cart_add after 1h unless purchased within 1h send f
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 11:00", "purchased", "c1", order_id="o"),
    ev("d1 10:00", "cart_add", "c2", product_id="p"),
    ev("d1 10:59:59", "purchased", "c2", order_id="o"),
    ev("d1 10:00", "cart_add", "c3", product_id="p"),
    ev("d1 10:00", "purchased", "c3", order_id="o"),
], [
    ("d1 11:00", "c1", "follow", "f"),
], explain(("c2", "follow", "condition"), ("c3", "follow", "condition")))

case("priority-same-instant", '''
template low_t { subject "Low" body "." }
template high_t { subject "High" body "." }
trigger low: when cart_add priority 1 send low_t
trigger high: when cart_add priority 2 send high_t
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
], [
    ("d1 10:00", "c1", "high", "high_t"),
], explain(("c1", "low", "outranked")))

case("priority-tiebreaks", '''
template first_t { subject "First" body "." }
template second_t { subject "Second" body "." }
template older_t { subject "Older" body "." }
template newer_t { subject "Newer" body "." }
# Equal priority, same anchor: the rule declared first wins.
trigger first_rule: when product_view send first_t
trigger second_rule: when product_view send second_t
# Equal priority: the most recent anchor wins, whatever the declaration order. The idle
# evaluation due at 10:00 runs before the search stamped 10:00; both sends compete at 10:00.
trigger older: when checkout_start and idle 1h priority 3 send older_t
trigger newer: when search priority 3 send newer_t
''', emails("d1 08:00", "c1", "c2") + [
    ev("d1 10:00", "product_view", "c1", product_id="p"),
    ev("d1 09:00", "checkout_start", "c2"),
    ev("d1 10:00", "search", "c2", query="q"),
], [
    ("d1 10:00", "c1", "first_rule", "first_t"),
    ("d1 10:00", "c2", "newer", "newer_t"),
], explain(("c1", "second_rule", "outranked"), ("c2", "older", "outranked")))

case("arbitration-window", '''
settings { arbitration 1h }
template low_t { subject "Low" body "." }
template high_t { subject "High" body "." }
trigger low: when page_view priority 1 send low_t
trigger high: when search priority 2 send high_t
''', emails("d1 08:00", "c1", "c2", "c3", "c4") + [
    # c1: a lone send waits for its window: due 10:05, out at 11:05
    ev("d1 10:05", "page_view", "c1", url="/"),
    # c2: both due inside [10:00, 11:00]: the higher priority goes out at 11:00
    ev("d1 10:00", "page_view", "c2", url="/"),
    ev("d1 10:30", "search", "c2", query="q"),
    # c3: due exactly at t + W still joins the window
    ev("d1 10:00", "page_view", "c3", url="/"),
    ev("d1 11:00", "search", "c3", query="q"),
    # c4: one second later opens a window of its own
    ev("d1 10:00", "page_view", "c4", url="/"),
    ev("d1 11:00:01", "search", "c4", query="q"),
], [
    ("d1 11:05", "c1", "low", "low_t"),
    ("d1 11:00", "c2", "high", "high_t"),
    ("d1 11:00", "c3", "high", "high_t"),
    ("d1 11:00", "c4", "low", "low_t"),
    ("d1 12:00:01", "c4", "high", "high_t"),
], explain(("c2", "low", "outranked"), ("c3", "low", "outranked")))

case("preemption", '''
template n1 { subject "N1" body "." }
template n2 { subject "N2" body "." }
template u1 { subject "U1" body "." }
trigger nurture: when page_view priority 1 send n1 then after 1d send n2
trigger urgent: when cart_add priority 5 send u1
''', emails("d1 08:00", "c1", "c2") + [
    ev("d1 10:00", "page_view", "c1", url="/"),
    ev("d1 12:00", "cart_add", "c1", product_id="p"),
    ev("d1 09:00", "cart_add", "c2", product_id="p"),
    ev("d1 10:00", "page_view", "c2", url="/"),
], [
    ("d1 10:00", "c1", "nurture", "n1"),
    ("d1 12:00", "c1", "urgent", "u1"),
    ("d1 09:00", "c2", "urgent", "u1"),
    ("d1 10:00", "c2", "nurture", "n1"),
    ("d2 10:00", "c2", "nurture", "n2"),
], explain(("c1", "nurture", "preempted")))

case("outranked-first-send", '''
template a1 { subject "A1" body "." }
template b1 { subject "B1" body "." }
template b2 { subject "B2" body "." }
template s1 { subject "S1" body "." }
template s2 { subject "S2" body "." }
template s3 { subject "S3" body "." }
template d1 { subject "D1" body "." }
# A flow whose first send is outranked does not start (b2 never comes).
trigger first_rule: when cart_add send a1
trigger second_rule: when cart_add send b1 then after 1h send b2
# A later step that is outranked does not end its flow (s3 still comes).
trigger series: when search send s1 then after 1h send s2 then after 1h send s3
trigger visit: when page_view send d1
''', emails("d1 08:00", "c1", "c2") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
    ev("d1 10:00", "search", "c2", query="q"),
    ev("d1 11:00", "page_view", "c2", url="/"),
], [
    ("d1 10:00", "c1", "first_rule", "a1"),
    ("d1 10:00", "c2", "series", "s1"),
    ("d1 11:00", "c2", "visit", "d1"),
    ("d1 12:00", "c2", "series", "s3"),
], explain(("c1", "second_rule", "outranked"), ("c2", "series", "outranked")))

case("frequency-cap", '''
settings { cap 2 per 1d }
template hi_t { subject "Hi" body "." }
trigger hi: when page_view send hi_t
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "page_view", "c1", url="/"),
    ev("d1 11:00", "page_view", "c1", url="/"),
    ev("d1 12:00", "page_view", "c1", url="/"),
    ev("d2 10:00", "page_view", "c1", url="/"),
    ev("d2 10:30", "page_view", "c1", url="/"),
], [
    ("d1 10:00", "c1", "hi", "hi_t"),
    ("d1 11:00", "c1", "hi", "hi_t"),
    ("d2 10:00", "c1", "hi", "hi_t"),
], explain(("c1", "hi", "frequency_cap")))

case("losers-never-retried", '''
settings { cap 1 per 1d }
template low_t { subject "Low" body "." }
template high_t { subject "High" body "." }
template warm_t { subject "Warm" body "." }
trigger low: when cart_add priority 1 send low_t
trigger high: when cart_add priority 2 send high_t
trigger warm: when page_view send warm_t
''', emails("d1 08:00", "c1") + [
    ev("d1 09:00", "page_view", "c1", url="/"),
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
], [
    ("d1 09:00", "c1", "warm", "warm_t"),
], explain(("c1", "high", "frequency_cap"), ("c1", "low", "outranked")))

case("capped-step-continues", '''
settings { cap 1 per 1h }
template s1 { subject "S1" body "." }
template s2 { subject "S2" body "." }
template s3 { subject "S3" body "." }
trigger series: when cart_add send s1 then after 30m send s2 then after 1h send s3
''', emails("d1 08:00", "c1") + [
    ev("d1 10:00", "cart_add", "c1", product_id="p"),
], [
    ("d1 10:00", "c1", "series", "s1"),
    ("d1 11:30", "c1", "series", "s3"),
], explain(("c1", "series", "frequency_cap")))

case("quiet-hours-utc", '''
settings { quiet_hours 22:00-08:00 }
template hi_t { subject "Hi" body "." }
trigger hi: when page_view send hi_t
''', emails("d1 00:00", "c1", "c2", "c3", "c4", "c5") + [
    ev("d1 23:00", "page_view", "c1", url="/"),
    ev("d1 07:59", "page_view", "c2", url="/"),
    ev("d1 08:00", "page_view", "c3", url="/"),
    ev("d1 21:59:59", "page_view", "c4", url="/"),
    ev("d1 22:00", "page_view", "c5", url="/"),
], [
    ("d2 08:00", "c1", "hi", "hi_t"),
    ("d1 08:00", "c2", "hi", "hi_t"),
    ("d1 08:00", "c3", "hi", "hi_t"),
    ("d1 21:59:59", "c4", "hi", "hi_t"),
    ("d2 08:00", "c5", "hi", "hi_t"),
])

case("quiet-hours-timezones", '''
settings { quiet_hours 22:00-08:00 }
template hi_t { subject "Hi" body "." }
trigger hi: when page_view send hi_t
''', [
    ident("d1 00:00", "ny", email="ny@example.com", timezone="America/New_York"),
    ident("d1 00:00", "tokyo", email="t@example.com", timezone="Asia/Tokyo"),
    ident("d1 00:00", "london", email="l@example.com", timezone="Europe/London"),
    ident("d1 00:00", "mars", email="m@example.com", timezone="Mars/Olympus"),
    ident("d1 00:00", "ny2", email="ny2@example.com", timezone="America/New_York"),
    # 04:00Z is 23:00 in New York (EST): deferred to 08:00 EST = 13:00Z
    ev("d2 04:00", "page_view", "ny", url="/"),
    # 13:30Z is 22:30 in Tokyo: deferred to 08:00 JST next day = 23:00Z
    ev("d2 13:30", "page_view", "tokyo", url="/"),
    ev("d2 12:00", "page_view", "london", url="/"),
    # an unknown zone is UTC
    ev("d2 23:00", "page_view", "mars", url="/"),
    # 15:00Z is 10:00 in New York
    ev("d2 15:00", "page_view", "ny2", url="/"),
], [
    ("d2 13:00", "ny", "hi", "hi_t"),
    ("d2 23:00", "tokyo", "hi", "hi_t"),
    ("d2 12:00", "london", "hi", "hi_t"),
    ("d3 08:00", "mars", "hi", "hi_t"),
    ("d2 15:00", "ny2", "hi", "hi_t"),
])

case("quiet-hours-daytime-range", '''
settings { quiet_hours 12:00-14:00 }
template hi_t { subject "Hi" body "." }
trigger hi: when page_view send hi_t
''', emails("d1 08:00", "c1", "c2", "c3") + [
    ev("d1 12:30", "page_view", "c1", url="/"),
    ev("d1 14:00", "page_view", "c2", url="/"),
    ev("d1 11:59", "page_view", "c3", url="/"),
], [
    ("d1 14:00", "c1", "hi", "hi_t"),
    ("d1 14:00", "c2", "hi", "hi_t"),
    ("d1 11:59", "c3", "hi", "hi_t"),
])
