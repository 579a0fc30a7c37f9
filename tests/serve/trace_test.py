#!/usr/bin/env python3
"""`trig serve`'s core-thread trace (TRIG_SERVE_TRACE=FILE, docs/serve.md, "Diagnostics"): one
line per cycle of the core thread that did anything, the header naming the columns; the events
and submissions it counts are the ones posted; bench/serve/trace_summary.py reads it; without the
variable no file is written.

usage: trace_test.py TRIG
"""
import os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_test  # noqa: E402
from serve_test import check, run_tests, Serve, write_rule_files  # noqa: E402

RULES = """
template thanks { subject "Thanks" body "Thank you" }
trigger thank_you:
  when purchased
  send thanks
"""
COLUMNS = ("t_us submissions events oldest_wait_us stamp_us append_us answer_us engine_us "
           "publish_us dead_us wallclock_us").split()
SUMMARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "serve",
                       "trace_summary.py")


def run(tmp, trace, manual):
    rules = write_rule_files(tmp, RULES)
    env = dict(serve_test.ENV)
    if trace:
        serve_test.ENV["TRIG_SERVE_TRACE"] = trace
    try:
        s = Serve([rules], os.path.join(tmp, "data-" + ("manual" if manual else "wall")), manual=manual)
    finally:
        serve_test.ENV.clear()
        serve_test.ENV.update(env)
    try:
        for i in range(3):
            st, _ = s.post("/v1/track", {"event": "purchased", "userId": f"u{i}",
                                         "properties": {"order_id": f"o{i}"}})
            check(st == 200, f"track {i}: {st}")
        batch = {"batch": [{"type": "track", "event": "purchased", "userId": f"b{i}",
                            "properties": {"order_id": f"b{i}"}} for i in range(5)]}
        st, _ = s.post("/v1/batch", batch)
        check(st == 200, f"batch: {st}")
    finally:
        s.stop()


def traced(tmp):
    """Every posted event is in the trace once, in a line of the header's columns."""
    for manual in (True, False):
        trace = os.path.join(tmp, f"core-{manual}.trace")
        run(tmp, trace, manual)
        with open(trace) as f:
            lines = f.read().splitlines()
        check(lines and lines[0].split() == COLUMNS, f"the header names the columns: {lines[:1]}")
        rows = [[int(x) for x in line.split()] for line in lines[1:]]
        check(rows and all(len(r) == len(COLUMNS) and min(r) >= 0 for r in rows),
              f"every line has {len(COLUMNS)} numbers >= 0: {lines[1:4]}")
        events = sum(r[2] for r in rows)
        submissions = sum(r[1] for r in rows)
        check(events == 8, f"manual={manual}: the 8 events posted are traced: {events}")
        check(submissions == 4, f"manual={manual}: the 4 requests are traced: {submissions}")
        times = [r[0] for r in rows]
        check(times == sorted(times), "the lines are in time order")
        out = subprocess.run([sys.executable, SUMMARY, trace], capture_output=True, text=True)
        check(out.returncode == 0 and "4 with submissions" in out.stdout and "append_us" in out.stdout,
              f"trace_summary.py reads it: {out.returncode} {out.stdout[:300]} {out.stderr[-300:]}")


def untraced(tmp):
    """Without TRIG_SERVE_TRACE nothing is written."""
    before = set(os.listdir(tmp))
    run(tmp, None, True)
    after = set(os.listdir(tmp)) - before
    check(not any(n.endswith(".trace") for n in after), f"no trace file: {sorted(after)}")


if __name__ == "__main__":
    sys.exit(run_tests("trace_test", [traced, untraced]))
