"""Throughput of one engine on one workload, correctness first.

The engine runs once with no events (its start-up: loading or compiling the rules, starting a
runtime) and then on the first N events of the stream, N grown until the processing takes the
target time (or the stream is exhausted). Events per second = N / (CPU(N) - CPU(0)), CPU being
user + system time of the process pinned to one core. Every run's fired counts are compared
with the hand-written baseline's on the same N events before any rate is kept; on a mail
workload, so are the sent counts of every rule and the records' bytes (their digests).
"""
from __future__ import annotations

import math
import traceback
from dataclasses import asdict, dataclass, field

from .engines import Engine, EngineError, Run


def snap(n: float) -> int:
    """1, 2, 5 x 10^k at or below n (so that engines share prefix files)."""
    if n < 1:
        return 1
    k = 10 ** int(math.floor(math.log10(n)))
    for m in (5, 2, 1):
        if m * k <= n:
            return m * k
    return k


@dataclass
class Result:
    engine: str
    status: str                      # "ok", "disagree", "error", "unavailable", "unsupported"
    reason: str = ""
    events: int = 0                  # N of the measured run
    rate: float = 0.0                # events/s per core
    cpu_s: float = 0.0
    startup_cpu_s: float = 0.0
    wall_s: float = 0.0
    maxrss_kb: int = 0
    startup_maxrss_kb: int = 0
    fired_total: int = 0
    mismatches: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def compare(expected: dict[str, int], got: dict[str, int]) -> list[str]:
    diffs = []
    for name, want in expected.items():
        have = got.get(name)
        if have != want:
            diffs.append(f"{name}: {have} vs {want}")
    for name in got:
        if name not in expected:
            diffs.append(f"{name}: unknown rule")
    return diffs


def disagreement(ref: Run, run: Run) -> list[str]:
    """What differs between a run and the baseline's on the same events: fired counts, and on
    a mail workload, instead, sent counts and the records' bytes (trig prints no firings then)."""
    if ref.sent is None:
        return compare(ref.fired, run.fired)
    if run.sent is None:
        return ["no sent counts"]
    diffs = [f"sent {d}" for d in compare(ref.sent, run.sent)]
    a, b = ref.extra.get("records_sha"), run.extra.get("records_sha")
    if a != b:
        diffs.append(f"records differ: {ref.extra.get('records_bytes')} bytes {a} vs "
                     f"{run.extra.get('records_bytes')} bytes {b} (first difference: "
                     f"{first_difference(ref.extra.get('records_path'), run.extra.get('records_path'))})")
    return diffs


def first_difference(a: str | None, b: str | None) -> str:
    """The first line where two record files differ, for the report."""
    if not a or not b:
        return "?"
    with open(a, encoding="utf-8", errors="replace") as fa, open(b, encoding="utf-8", errors="replace") as fb:
        for i, (x, y) in enumerate(zip(fa, fb), 1):
            if x != y:
                return f"line {i}: {x.strip()[:160]!r} vs {y.strip()[:160]!r}"
    return "one is a prefix of the other"


class Reference:
    """The baseline's fired counts per prefix length, computed once each."""

    def __init__(self, baseline: Engine, prefix) -> None:
        self.baseline = baseline
        self.prefix = prefix
        self.cache: dict[int, Run] = {}

    def at(self, n: int) -> Run:
        if n not in self.cache:
            self.cache[n] = self.baseline.run(self.prefix(n), n)
        return self.cache[n]


def throughput(engine: Engine, reference: Reference, prefix, stream_events: int, target_s: float,
               repeats: int, start_n: int, log) -> Result:
    try:
        startup = min((engine.run(prefix(0), 0) for _ in range(repeats)), key=lambda r: r.cpu_s)
        n = min(stream_events, start_n)
        best: Run | None = None
        while True:
            runs = [engine.run(prefix(n), n) for _ in range(repeats)]
            ref = reference.at(n)
            for run in runs:
                diffs = disagreement(ref, run)
                if diffs:
                    return Result(engine.key, "disagree", f"fired counts differ from the baseline on {n:,} events",
                                  events=n, mismatches=diffs[:20], fired_total=sum(run.fired.values()))
            best = min(runs, key=lambda r: r.cpu_s)
            work = best.cpu_s - startup.cpu_s
            if n >= stream_events or work >= target_s * 0.6:
                break
            grow = target_s / max(work, 0.01)
            nxt = min(stream_events, snap(n * min(grow, 100.0)))
            if nxt <= n:
                break
            log(f"    {engine.key}: {n:,} events took {work:.3f} s of CPU; trying {nxt:,}")
            n = nxt
        work = best.cpu_s - startup.cpu_s
        res = Result(engine.key, "ok", events=n, cpu_s=best.cpu_s, startup_cpu_s=startup.cpu_s,
                     wall_s=best.wall_s, maxrss_kb=best.maxrss_kb, startup_maxrss_kb=startup.maxrss_kb,
                     fired_total=sum(best.fired.values()) or sum((best.sent or {}).values()),
                     extra=dict(best.extra))
        if work <= 0.05:
            res.reason = (f"processing took only {work:.3f} s of CPU beyond start-up: the rate is a rough "
                          "lower bound (the stream is too short for this engine)")
        res.rate = n / max(work, 0.001)
        return res
    except EngineError as e:
        return Result(engine.key, "error", str(e))
    except Exception as e:  # a harness bug must not hide the other engines' results
        return Result(engine.key, "error", f"{type(e).__name__}: {e}; {traceback.format_exc(limit=3)}")
