#!/usr/bin/env python3
"""Timer lateness of `trig serve` on the wall clock with 1M pending timers (issue 11: p99 under
10 ms), alone and beside an ingest load.

    python3 bench/timer_lateness.py --trig build/trig                 # 1M timers, ~5 minutes
    python3 bench/timer_lateness.py --trig build/trig --quick         # 200k timers, ~2 minutes
    python3 bench/timer_lateness.py ... --update-docs                 # the table into docs/performance.md

What it does (one `trig serve`, wall clock, a fresh data directory, port 0):

1. Rules: `pending: when product_view and idle 1d`, `soon1: when cart_add and idle S1`,
   `soon2: when checkout_start and idle S2`, each `send reminder`. Every customer gets one event,
   so one pending `idle` wait (the event generator is bench/serve_restart.py's).
2. Load: TIMERS - 2 x DUE customers' `product_view` (the timers that stay pending for a day),
   posted to /v1/batch as fast as this script's client goes (4 connections, 500 events a request):
   that rate is the *maximum ingest rate* the load of step 5 takes half of.
3. The DUE customers of `soon1` (`cart_add`) and the DUE of `soon2` (`checkout_start`),
   interleaved, posted evenly over WINDOW seconds (50 events a request). Serve stamps each event
   when it accepts it, so the `soon1` timers fall due evenly over [start + S1, end + S1] and the
   `soon2` ones over [start + S2, end + S2], with S1 = WINDOW + 10 s (nothing is posted while they
   fall due) and S2 = S1 + WINDOW + 10 s. TIMERS timers are pending when the first falls due.
4. Phase *alone*: `/metrics` just before the first `soon1` timer is due and just after the last;
   the difference of the histogram `trig_timer_lateness_seconds` is the lateness of those timers:
   when the core thread made and stored each one's decision record (the customers have no
   address, so each is a `suppressed` `no_email` record: nothing is delivered) minus when it was
   due, measured in the service in microseconds. p50 and p99 are interpolated within the
   histogram's buckets (0.5 ms wide up to 3 ms, 1-2.5 ms up to 15 ms); max is the upper bound of
   the highest bucket reached.
5. Phase *under load*: from 3 s before the first `soon2` timer is due to the last, `product_view`
   events of pending customers (each cancels the customer's 1-day wait and arms a new one: a
   cancel and a schedule in the 1M-entry timer queue) posted to /v1/batch at half the maximum
   ingest rate of step 2 (100 events a request, 4 connections, paced). The same histogram.
6. Checks of the measurement: in each phase the histogram counted exactly DUE timers, and
   `trig_decisions_total` of the phase's rule grew by DUE (every timer fired, none twice, none
   outside the window); `trig_timers_pending` before phase 1 is TIMERS.

A benchmark, never part of `make test`: it prints figures and exits 1 only when a check fails.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import random
import re
import sys
import tempfile
import threading
import time
import http.client

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import serve_restart  # noqa: E402  (the event generator, the service's start)
from serve_bench import (cpu_diff, cpu_pressure, cpu_ticks, machine_info, proc_hwm_kb,  # noqa: E402
                         trig_version, update_docs)

DOCS_BEGIN = "<!-- bench:timers:begin -->"
DOCS_END = "<!-- bench:timers:end -->"
METRIC = "trig_timer_lateness_seconds"
HEADERS = dict(serve_restart.AUTH, **{"Content-Type": "application/json"})

RULES = """
template reminder {{ subject "Your cart" body "Come back" }}
trigger pending:
  when product_view and idle 1d
  send reminder
trigger soon1:
  when cart_add and idle {s1}s
  send reminder
trigger soon2:
  when checkout_start and idle {s2}s
  send reminder
"""


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------------- metrics

def scrape(port: int) -> str:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return text


def histogram(text: str, name: str) -> dict:
    """{"buckets": [(le, cumulative count)], "count": n, "sum": s} of a histogram in /metrics."""
    buckets = []
    count, total = 0, 0.0
    for line in text.splitlines():
        m = re.match(rf'^{name}_bucket\{{le="([^"]+)"\}} (\S+)$', line)
        if m:
            buckets.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(float(m.group(2)))))
        elif line.startswith(name + "_count "):
            count = int(float(line.split()[1]))
        elif line.startswith(name + "_sum "):
            total = float(line.split()[1])
    return {"buckets": buckets, "count": count, "sum": total}


def sample(text: str, name: str, **labels) -> float:
    """A sample's value summed over every series of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def hist_diff(after: dict, before: dict) -> dict:
    b = dict(before["buckets"])
    return {"buckets": [(le, n - b.get(le, 0)) for le, n in after["buckets"]],
            "count": after["count"] - before["count"], "sum": after["sum"] - before["sum"]}


def quantile(h: dict, q: float) -> float | None:
    """The q-quantile (seconds), linear within the bucket it falls in (Prometheus's
    histogram_quantile)."""
    n = h["count"]
    if n <= 0:
        return None
    rank = q * n
    lo, below = 0.0, 0
    for le, cum in h["buckets"]:
        if cum >= rank:
            if le == float("inf"):
                return lo
            return lo + (le - lo) * ((rank - below) / max(1, cum - below))
        lo, below = le, cum
    return lo


def max_bound(h: dict) -> float | None:
    """The upper bound of the highest bucket with an observation (inf: beyond the last)."""
    prev = 0
    top = None
    for le, cum in h["buckets"]:
        if cum > prev:
            top = le
        prev = cum
    return top


# ------------------------------------------------------------------------------------- posting

class Poster:
    """Posts bodies to /v1/batch from `threads` keep-alive connections: as fast as they go
    (rate None) or request i at t0 + i / rate; `cycle` repeats the bodies until stop()."""

    def __init__(self, port: int, bodies: list[bytes], threads: int, rate: float | None = None,
                 cycle: bool = False) -> None:
        self.port, self.bodies, self.rate, self.cycle = port, bodies, rate, cycle
        self.next = itertools.count()
        self.stopping = False
        self.ok = 0
        self.failed: dict[int, int] = {}
        self.first_send = None
        self.last_ack = None
        self.lock = threading.Lock()
        self.t0 = time.monotonic() + 0.05
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> "Poster":
        for t in self.threads:
            t.start()
        return self

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while not self.stopping:
            i = next(self.next)
            if i >= len(self.bodies) and not self.cycle:
                break
            if self.rate:
                left = self.t0 + i / self.rate - time.monotonic()
                if left > 0:
                    time.sleep(left)
            sent = time.time()
            conn.request("POST", "/v1/batch", self.bodies[i % len(self.bodies)], HEADERS)
            r = conn.getresponse()
            r.read()
            acked = time.time()
            with self.lock:
                if r.status == 200:
                    self.ok += 1
                else:
                    self.failed[r.status] = self.failed.get(r.status, 0) + 1
                if self.first_send is None or sent < self.first_send:
                    self.first_send = sent
                if self.last_ack is None or acked > self.last_ack:
                    self.last_ack = acked
        conn.close()

    def join(self) -> "Poster":
        for t in self.threads:
            t.join()
        return self

    def stop(self) -> "Poster":
        self.stopping = True
        return self.join()


def set_core_slice(pid: int, slice_us: int) -> str:
    """Sets the EEVDF slice (Linux 6.12+: sched_runtime of a SCHED_OTHER thread) of serve's core
    thread (comm `trig-core`) from outside; 0 gives it the kernel's default back. The experiment of
    docs/performance.md, "Timer lateness": does a short slice let the core preempt its neighbours
    when it wakes for a timer?"""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() != "trig-core":
                continue
        # struct sched_attr (48 bytes): size, policy, flags, nice, priority, runtime, deadline, period
        attr = ctypes.create_string_buffer(struct.pack("IIQiIQQQ", 48, 0, 0, os.getpriority(os.PRIO_PROCESS, int(tid)),
                                                       0, slice_us * 1000, 0, 0), 48)
        if libc.syscall(314, int(tid), attr, 0) != 0:  # SYS_sched_setattr on x86-64
            return f"sched_setattr failed: errno {ctypes.get_errno()}"
        with open(f"/proc/{pid}/task/{tid}/sched") as f:
            m = re.search(r"se\.slice\s*:\s*(\d+)", f.read())
        return f"trig-core slice {int(m.group(1)) / 1000 if m else '?'} us"
    return "no trig-core thread"


def sleep_until(t: float) -> None:
    while True:
        left = t - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


# --------------------------------------------------------------------------------------- bench

def phase(port: int, pid: int, metric: str, rule: str, due: int, first: float, last: float,
          load: Poster | None) -> dict:
    """Scrapes just before `first` (the first timer of the phase is due) and after `last`; the
    histogram's difference, checked against the phase's rule's decisions."""
    sleep_until(first - 1.0)
    before = scrape(port)
    cpu0, t0 = cpu_ticks(pid), time.time()
    sleep_until(last + 1.5)
    after = scrape(port)
    wall = time.time() - t0
    cpu = cpu_diff(pid, cpu0, cpu_ticks(pid), wall)
    h = hist_diff(histogram(after, metric), histogram(before, metric))
    fired = sample(after, "trig_decisions_total", rule=rule) - sample(before, "trig_decisions_total", rule=rule)
    res = {"rule": rule, "due": due, "window_s": round(last - first, 2), "rate": due / max(1e-9, last - first),
           "observed": h["count"], "fired": int(fired),
           "pending_before": sample(before, "trig_timers_pending"),
           "p50_ms": ms(quantile(h, 0.5)), "p90_ms": ms(quantile(h, 0.9)), "p99_ms": ms(quantile(h, 0.99)),
           "p999_ms": ms(quantile(h, 0.999)), "max_le_ms": ms(max_bound(h)),
           "mean_ms": ms(h["sum"] / h["count"]) if h["count"] else None,
           "buckets": [(le, n) for le, n in h["buckets"]], "cpu": cpu}
    if load is not None:
        with load.lock:
            res["load_ok"] = load.ok
            res["load_failed"] = dict(load.failed)
    return res


def ms(x: float | None) -> float | None:
    return None if x is None else (float("inf") if x == float("inf") else round(x * 1000, 2))


def run(a) -> dict:
    s1 = a.window + 10
    s2 = s1 + a.window + 10
    lasting = a.timers - 2 * a.due
    if lasting < 0:
        raise SystemExit("--due is more than half of --timers")
    res = {"meta": {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "machine": machine_info(), "trig_version": trig_version(a.trig),
                    "load_before": os.getloadavg(), "cpu_pressure_before": cpu_pressure(),
                    "mode": "quick" if a.quick else "full"},
           "inputs": {"timers": a.timers, "due": a.due, "window_s": a.window, "s1": s1, "s2": s2}}
    log(f"timer_lateness: generating bodies ({a.timers:,} timers, {a.due:,} due in each phase)")
    pending_bodies = list(serve_restart.batch_bodies(0, lasting, 500, event="product_view", prefix="l"))
    soon1 = list(serve_restart.batch_bodies(0, a.due, 50, event="cart_add", prefix="a"))
    soon2 = list(serve_restart.batch_bodies(0, a.due, 50, event="checkout_start", prefix="b", properties={}))
    soon = [b for pair in itertools.zip_longest(soon1, soon2) for b in pair if b is not None]
    rng = random.Random(a.seed)
    load_bodies = [json.dumps({"batch": [
        {"type": "track", "event": "product_view", "userId": f"l{rng.randrange(max(1, lasting))}",
         "properties": {"product_id": "p"}} for _ in range(100)]}).encode() for _ in range(2000)]
    with tempfile.TemporaryDirectory(dir=a.tmp) as tmp:
        rules = os.path.join(tmp, "rules.trig")
        with open(rules, "w") as f:
            f.write(RULES.format(s1=s1, s2=s2))
        p, port, _ = serve_restart.start(a.trig, rules, os.path.join(tmp, "data"), clock="wall")
        threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
        if a.core_slice_us is not None:
            time.sleep(0.5)  # the core thread names itself as its loop starts
            res["meta"]["core_slice"] = set_core_slice(p.pid, a.core_slice_us)
            log(f"timer_lateness: {res['meta']['core_slice']}")
        load = None
        try:
            t = time.time()
            Poster(port, pending_bodies, 4).start().join()
            took = time.time() - t
            res["max_ingest"] = lasting / took
            log(f"timer_lateness: {lasting:,} pending timers loaded in {took:.1f} s "
                f"({res['max_ingest']:,.0f} events/s, this client's maximum)")
            rps = len(soon) / a.window
            post = Poster(port, soon, 4, rate=rps).start().join()
            if post.failed:
                raise RuntimeError(f"posting the due timers failed: {post.failed}")
            log(f"timer_lateness: {2 * a.due:,} due-soon timers posted over "
                f"{post.last_ack - post.first_send:.1f} s")
            first, last = post.first_send, post.last_ack
            res["alone"] = phase(port, p.pid, a.metric, "soon1", a.due, first + s1, last + s1, None)
            log(f"timer_lateness: alone: {res['alone']}")
            load_rate = res["max_ingest"] / 2 / 100  # requests of 100 events
            sleep_until(first + s2 - 3)
            load = Poster(port, load_bodies, 4, rate=load_rate, cycle=True).start()
            t_load = time.time()
            res["loaded"] = phase(port, p.pid, a.metric, "soon2", a.due, first + s2, last + s2, load)
            load.stop()
            res["loaded"]["load_target_eps"] = load_rate * 100
            res["loaded"]["load_eps"] = load.ok * 100 / (time.time() - t_load)
            load = None
            log(f"timer_lateness: under load: {res['loaded']}")
            res["rss_mib"] = (proc_hwm_kb(p.pid) or 0) / 1024
        finally:
            if load is not None:
                load.stop()
            p.terminate()
            p.wait(timeout=120)
    res["meta"]["load_after"] = os.getloadavg()
    res["meta"]["cpu_pressure_after"] = cpu_pressure()
    checks = []
    for key in ("alone", "loaded"):
        r = res[key]
        ok = r["observed"] == a.due and r["fired"] == a.due
        checks.append(f"{key}: {r['observed']:,} lateness observations, {r['fired']:,} `{r['rule']}` decisions, "
                      f"{a.due:,} timers due: {'ok' if ok else 'MISMATCH'}")
    ok = res["alone"]["pending_before"] == a.timers
    checks.append(f"timers pending before the first fell due: {res['alone']['pending_before']:,.0f} "
                  f"(want {a.timers:,}): {'ok' if ok else 'MISMATCH'}")
    res["checks"] = checks
    return res


def fmt_ms(x) -> str:
    if x is None:
        return "—"
    return "> 1 h" if x == float("inf") else f"{x:g} ms"


def render(res: dict) -> str:
    meta, inp = res["meta"], res["inputs"]
    m = meta["machine"]
    out = [f"**{meta['mode'].capitalize()} run, {meta['date']}**: {m['cpu']}, {m['cores']} cores, "
           f"Linux {m['kernel']}; {meta['trig_version']}. Load average before: {meta['load_before'][0]:.1f}, "
           f"after: {meta['load_after'][0]:.1f}; CPU pressure (some, avg60) before/after: "
           f"{meta['cpu_pressure_before']}% / {meta['cpu_pressure_after']}%.", ""]
    out.append(f"`python3 bench/timer_lateness.py{' --quick' if meta['mode'] == 'quick' else ''}`: "
               f"{inp['timers']:,} pending `idle` timers (one per customer), {inp['due']:,} of them due evenly "
               f"over a window of about {inp['window_s']} s in each phase; *lateness* = when the core made and "
               f"stored the timer's decision record − when it was due (`trig_timer_lateness_seconds`, "
               f"interpolated within its buckets; *max* is the bound of the highest bucket reached). "
               f"The maximum ingest rate of this script's client (4 connections, /v1/batch of 500) while "
               f"loading the timers: {res['max_ingest']:,.0f} events/s.")
    out.append("")
    out.append("| phase | timers pending | due timers | due per s | p50 | p90 | p99 | p99.9 | max ≤ | mean |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in (("alone", "alone"), ("loaded", "beside /v1/batch at {:,.0f} events/s (target {:,.0f})")):
        r = res[key]
        if key == "loaded":
            label = label.format(r["load_eps"], r["load_target_eps"])
        out.append(f"| {label} | {r['pending_before']:,.0f} | {r['observed']:,} | {r['rate']:,.0f} | "
                   f"{fmt_ms(r['p50_ms'])} | {fmt_ms(r['p90_ms'])} | **{fmt_ms(r['p99_ms'])}** | "
                   f"{fmt_ms(r['p999_ms'])} | {fmt_ms(r['max_le_ms'])} | {fmt_ms(r['mean_ms'])} |")
    out.append("")
    verdicts = []
    for key in ("alone", "loaded"):
        p99 = res[key]["p99_ms"]
        verdicts.append(f"{key}: p99 {fmt_ms(p99)} — {'met' if p99 is not None and p99 < 10 else '**missed**'}")
    out.append("Target p99 < 10 ms: " + "; ".join(verdicts) + f". Peak RSS {res['rss_mib']:,.0f} MiB.")
    out.append("")
    for key in ("alone", "loaded"):
        cpu = ", ".join(f"{c['thread']} {c['cores']} (waited for a CPU {c['waited_cpu_s']} s)"
                        for c in res[key]["cpu"][:3])
        out.append(f"- serve's CPU ({key}, cores): {cpu}")
    out.append("")
    out.append("Checks: " + "; ".join(res["checks"]) + ".")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trig", default=os.path.join(REPO, "build", "trig"))
    ap.add_argument("--timers", type=int, default=1_000_000, help="pending timers in all")
    ap.add_argument("--due", type=int, default=100_000, help="timers that fall due in each phase")
    ap.add_argument("--window", type=int, default=30, help="seconds over which each phase's timers fall due")
    ap.add_argument("--quick", action="store_true", help="200k timers, 20k due per phase over 15 s")
    ap.add_argument("--metric", default=METRIC, help="the lateness histogram (trig_decision_lateness_seconds "
                    "for a trig without trig_timer_lateness_seconds: the same records here, in milliseconds)")
    ap.add_argument("--core-slice-us", type=int, help="set the core thread's EEVDF slice from outside "
                    "(microseconds, 100 to 100000; 0: the kernel's default), an experiment")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tmp", default=None, help="where the data directory goes (default: $TMPDIR)")
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "out"))
    ap.add_argument("--update-docs", action="store_true",
                    help="copy the table into docs/performance.md (between its bench:timers markers)")
    a = ap.parse_args()
    if a.quick:
        a.timers, a.due, a.window = 200_000, 20_000, 15
    a.trig = os.path.abspath(a.trig)
    if not os.path.exists(a.trig):
        log(f"{a.trig} not found")
        return 2
    res = run(a)
    md = render(res)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "timer_lateness.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    if a.update_docs:
        update_docs(os.path.join(REPO, "docs", "performance.md"), md + "\n", DOCS_BEGIN, DOCS_END)
    print()
    print(md)
    return 1 if any("MISMATCH" in c for c in res["checks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
