#!/usr/bin/env python3
"""`trig serve` on the wall clock: the timer lateness histogram (trig_timer_lateness_seconds)
counts the decisions of timers and only those, and a timer that fell due while the service was
down counts at the restart with its lateness (docs/serve.md, "Metrics"; SERVE.md section 5).

usage: timers_test.py TRIG
"""
import os, re, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_test import check, metric, run_tests, Serve, write_rule_files  # noqa: E402

RULES = """
template reminder { subject "Your cart" body "Come back" }
template thanks { subject "Thanks" body "Thank you" }
trigger cart_abandon:
  when cart_add and idle 1s
  send reminder
trigger thank_you:
  when purchased
  send thanks
"""


def track(s, user, event, props):
    st, _ = s.post("/v1/track", {"event": event, "userId": user, "properties": props})
    check(st == 200, f"track {event} for {user}: {st}")


def decisions(s):
    """trig_decisions_total over every series (any rule, decision, reason)."""
    _, text = s.request("GET", "/metrics", key=None)
    text = text.decode() if isinstance(text, bytes) else str(text)
    return sum(float(m.group(1)) for m in re.finditer(r"^trig_decisions_total\{.*\} (\S+)$", text, re.M))


def wait_decisions(s, n, timeout=20):
    deadline = time.time() + timeout
    got = 0
    while time.time() < deadline:
        got = decisions(s)
        if got >= n:
            break
        time.sleep(0.05)
    return got


def timers_and_events(tmp):
    """An idle timer's decision is a timer's; a purchase's decision and a cancelled wait are not."""
    rules = write_rule_files(tmp, RULES)
    s = Serve([rules], os.path.join(tmp, "data"), manual=False)
    try:
        track(s, "t1", "cart_add", {"product_id": "p"})    # fires after 1 s: a timer
        track(s, "t2", "purchased", {"order_id": "o2"})   # decided at its stamp: an event
        track(s, "t3", "cart_add", {"product_id": "p"})    # its wait is cancelled ...
        track(s, "t3", "purchased", {"order_id": "o3"})   # ... by the purchase (an event's decision)
        got = wait_decisions(s, 3)
        check(got == 3, f"three decisions (t1's timer, t2's and t3's purchases): {got}")
        time.sleep(1.5)  # t3's cancelled wait would have been due by now
        timers = metric(s, "trig_timer_lateness_seconds_count")
        decisions = metric(s, "trig_decision_lateness_seconds_count")
        check(timers == 1, f"one timer's lateness observed: {timers}")
        check(decisions == 3, f"every decision's lateness observed: {decisions}")
        check(metric(s, "trig_timer_lateness_seconds_bucket", le="+Inf") == 1,
              "the timer's observation is in the +Inf bucket")
    finally:
        s.stop()


def due_while_down(tmp):
    """A wait that fell due while the service was stopped fires at the restart, late by at least
    the time it was overdue, and its lateness is observed."""
    rules = write_rule_files(tmp, RULES)
    data = os.path.join(tmp, "data")
    s = Serve([rules], data, manual=False)
    try:
        track(s, "d1", "cart_add", {"product_id": "p"})
        stopped_at = time.time()
    finally:
        s.stop()
    time.sleep(max(0.0, stopped_at + 2.0 - time.time()))  # due 1 s after its stamp: overdue by >= 1 s
    s = Serve([rules], data, manual=False)
    try:
        got = wait_decisions(s, 1)
        check(got == 1, f"the overdue wait fired at the restart: {got} decisions")
        n = metric(s, "trig_timer_lateness_seconds_count")
        total = metric(s, "trig_timer_lateness_seconds_sum")
        check(n == 1, f"its lateness is observed once: {n}")
        check(total >= 1.0, f"and it is at least the second it was overdue: {total} s")
        check(metric(s, "trig_timer_lateness_seconds_bucket", le="0.5") == 0,
              "not in a bucket under 0.5 s")
    finally:
        s.stop()


if __name__ == "__main__":
    sys.exit(run_tests("timers_test", [timers_and_events, due_while_down]))
