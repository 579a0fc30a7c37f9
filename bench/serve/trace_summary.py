#!/usr/bin/env python3
"""Summarises a core-thread trace of `trig serve` (TRIG_SERVE_TRACE=FILE, runtime/serve/core.cpp):
per phase, the percentiles of its microseconds over the cycles that did anything, and the slow
cycles (total over --slow-ms) by the phase that took most of them.

    TRIG_SERVE_TRACE=/tmp/core.trace python3 bench/serve_bench.py --trig build/trig --quick --only track
    python3 bench/serve/trace_summary.py /tmp/core.trace [--slow-ms 5] [--from-s 0]
"""
import argparse, collections, sys


def pct(xs, p):
    if not xs:
        return 0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--slow-ms", type=float, default=5.0)
    ap.add_argument("--from-s", type=float, default=0.0, help="ignore cycles before this many seconds")
    ap.add_argument("--to-s", type=float, default=1e18)
    a = ap.parse_args()
    with open(a.trace) as f:
        header = f.readline().split()
        rows = []
        for line in f:
            v = [int(x) for x in line.split()]
            if len(v) != len(header):
                continue
            if a.from_s * 1e6 <= v[0] <= a.to_s * 1e6:
                rows.append(dict(zip(header, v)))
    if not rows:
        print("no cycles")
        return 1
    phases = [h for h in header if h.endswith("_us") and h != "t_us"]
    commits = [r for r in rows if r["submissions"] > 0]
    span = (rows[-1]["t_us"] - rows[0]["t_us"]) / 1e6
    print(f"{len(rows):,} cycles over {span:.1f} s, {len(commits):,} with submissions "
          f"({sum(r['events'] for r in commits):,} log entries; per group p50 {pct([r['events'] for r in commits], 50)}, "
          f"p99 {pct([r['events'] for r in commits], 99)})")
    print(f"{'phase':16} {'p50':>8} {'p90':>8} {'p99':>8} {'p99.9':>8} {'max':>8}  (µs)")
    for ph in phases:
        xs = [r[ph] for r in (commits if ph != "wallclock_us" else rows)]
        print(f"{ph:16} {pct(xs,50):8} {pct(xs,90):8} {pct(xs,99):8} {pct(xs,99.9):8} {max(xs):8}")
    work = [h for h in phases if h != "oldest_wait_us"]
    slow = [r for r in rows if sum(r[h] for h in work) > a.slow_ms * 1000]
    by = collections.Counter(max(work, key=lambda h: r[h]) for r in slow)
    print(f"cycles over {a.slow_ms} ms of work: {len(slow)}; by their largest phase: "
          + ", ".join(f"{k} {v}" for k, v in by.most_common()))
    for r in slow[:25]:
        print("  t=%.3fs " % (r["t_us"] / 1e6) + " ".join(f"{h[:-3]}={r[h]}" for h in header[1:] if r[h]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
