#!/usr/bin/env python3
"""Self-test of the benchmark harness, without any timing: on tiny seeded workloads, the Python
reference model, the hand-written C++ baseline and every translated peer (CLIPS,
json-rules-engine, and trig when a binary is given) must fire every rule the same number of times.
On the mail workloads (customers identified with an address) the reference, the baseline and trig
must also send for the same rules and write the same records, byte for byte.

    python3 bench/selftest.py [--trig build/trig] [--latency build/bench/trig_bench_latency]
                              [--require clips,jre,trig]

With --latency, the latency benchmark runs each workload paced (its timers driven by the virtual
clock) with both engines and must fire every rule as often as the reference: pacing must not
change a decision. Only its counts are checked, never its timings.

A peer that is not installed is skipped (and named), unless --require lists it. Ends with the
line `N passed, N failed, N skipped`; exit status 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from harness import translate, workload  # noqa: E402
from harness.engines import Clips, CppBaseline, EngineError, JsonRulesEngine, Trig, count_trig_records  # noqa: E402
from harness.measure import compare  # noqa: E402
from harness.reference import run_reference  # noqa: E402
from harness.workload import MS_DAY, MS_HOUR, StreamSpec  # noqa: E402


class Tally:
    def __init__(self) -> None:
        self.passed = self.failed = self.skipped = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok      {name}")
        else:
            self.failed += 1
            print(f"FAILED  {name}: {detail}")

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        print(f"skipped {name}: {why}")


def check_generator(t: Tally, tmp: str) -> None:
    spec = StreamSpec("selftest-gen", 2000, 150, seed=7, span_ms=3 * MS_DAY)
    a, b = os.path.join(tmp, "a.jsonl"), os.path.join(tmp, "b.jsonl")
    workload.write_stream(spec, a)
    workload.write_stream(spec, b)
    with open(a, "rb") as fa, open(b, "rb") as fb:
        t.check("generator: same seed, same bytes", fa.read() == fb.read())
    other = StreamSpec("selftest-gen", 2000, 150, seed=8, span_ms=3 * MS_DAY)
    c = os.path.join(tmp, "c.jsonl")
    workload.write_stream(other, c)
    with open(a, "rb") as fa, open(c, "rb") as fc:
        t.check("generator: another seed, another stream", fa.read() != fc.read())
    last_time, last_by_customer, problems, types = None, {}, [], set()
    with open(a, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            et, user, ts, props = workload.parse_line(line)
            types.add(et)
            if last_time is not None and ts < last_time:
                problems.append(f"line {i}: out of time order")
            if last_by_customer.get(user) == ts:
                problems.append(f"line {i}: two events of {user} at one stamp")
            for k, (typ, optional) in workload.EVENT_FIELDS[et].items():
                if not optional and k not in props:
                    problems.append(f"line {i}: required {k} missing")
            if "\\" in line:
                problems.append(f"line {i}: an escape (the converters assume none)")
            again = workload.segment_line(et, user, workload.format_ts(ts), props)
            if again != line.rstrip("\n"):
                problems.append(f"line {i}: does not round-trip")
            last_time, last_by_customer[user] = ts, ts
    t.check("generator: time order, one stamp per customer, required fields, round trip", not problems,
            "; ".join(problems[:5]))
    t.check("generator: every event type occurs", types == set(workload.EVENT_TYPES), str(sorted(types)))
    t.check("rules: the first 10 of 100 are the 10-rule set",
            workload.make_rules(10, 1, False) == workload.make_rules(100, 1, False)[:10])
    w1, w2 = workload.make_rules(50, 1, False), workload.make_rules(50, 1, True)
    t.check("rules: W2 is W1 plus history conditions",
            all(a.filters == b.filters and a.anchor == b.anchor for a, b in zip(w1, w2))
            and any(r.count_min for r in w2) and any(r.unless_purchased_days for r in w2))


def check_trig_record_counting(t: Tally, tmp: str) -> None:
    path = os.path.join(tmp, "records.jsonl")
    with open(path, "w") as f:
        f.write('{"decision":"suppressed","time":"2026-01-01T00:00:00Z","customer":"c1","rule":"a","step":1,'
                '"reason":"no_email"}\n'
                '{"decision":"send","time":"2026-01-01T00:00:00Z","customer":"c2","rule":"a","step":1}\n'
                '{"decision":"suppressed","time":"2026-01-01T00:00:00Z","customer":"c2","rule":"b","step":1,'
                '"reason":"restarted"}\n'
                '{"decision":"send","time":"2026-01-01T00:00:00Z","customer":"c2","rule":"b","step":2}\n')
    got = count_trig_records(path)
    t.check("trig records: firings are first-step sends and suppressions", got == {"a": 2}, str(got))


def check_baseline_reader(t: Tally, tmp: str) -> None:
    """The baseline's JSON reader on shapes the generator never writes: keys in another order,
    camelCase keys, escapes, nulls, extra and nested properties, numbers as integers."""
    lines = [
        '{"properties":{"productId":"p1","category":"sh\\u006fes","price":120},"event":"product_view",'
        '"userId":"c1","timestamp":"2026-01-01T00:00:00Z"}',
        '{"type":"track","event":"product_view","userId":"c1","timestamp":"2026-01-01T00:00:01.5Z",'
        '"properties":{"product_id":"p1","extra":{"a":[1,2,{"b":null}]},"category":"shoes","price":99.5}}',
        '{"event":"product_view","userId":"c\\"2","timestamp":"2026-01-01T01:00:02+01:00",'
        '"properties":{"product_id":"p1","category":null,"price":150.00}}',
        '{"event":"cart_add","userId":"c2","timestamp":"2026-01-01T00:00:03Z",'
        '"properties":{"product_id":"p1","quantity":2,"cartValue":"12"}}',
    ]
    path = os.path.join(tmp, "shapes.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(lines[:3]) + "\n")
    rules = [workload.Rule("shoes", "product_view", (workload.Cmp("category", "==", "shoes"),)),
             workload.Rule("dear", "product_view", (workload.Cmp("price", ">=", workload.Money(10000)),)),
             workload.Rule("absent", "product_view", (workload.Cmp("category", "!=", "bags"),))]
    expected = run_reference(rules, open(path))["fired"]
    t.check("baseline reader: the reference reads the shapes", expected == {"shoes": 2, "dear": 2, "absent": 2},
            str(expected))
    cpp = CppBaseline(os.path.join(tmp, "cpp-shapes"))
    try:
        cpp.prepare(rules, os.path.join(tmp, "shapes"))
        got = cpp.run(path, 3).fired
        t.check("baseline reader: order, camelCase, escapes, nulls, nesting", got == expected, str(got))
        with open(path, "a") as f:
            f.write(lines[3] + "\n")  # a string where money is declared: invalid
        try:
            cpp.run(path, 3)
            t.check("baseline reader: rejects a string where money is declared", False, "accepted")
        except EngineError as e:
            t.check("baseline reader: rejects a string where money is declared", "exited 1" in str(e), str(e))
    except EngineError as e:
        t.check("baseline reader", False, str(e))


def workloads(tmp: str) -> list[tuple[str, list, str, int, bool]]:
    """(name, rules, stream path, lines, mail)."""
    s = StreamSpec("selftest", 4000, 120, seed=3, span_ms=30 * MS_DAY)
    timers = StreamSpec("selftest-timers", 3000, 400, seed=3, span_ms=4 * MS_HOUR, zipf_s=0.5)
    mail = StreamSpec("selftest", 4000, 120, seed=3, span_ms=30 * MS_DAY, mail=True)
    out = []
    for spec in (s, timers, mail):
        path = os.path.join(tmp, spec.key() + ".jsonl")
        lines = workload.write_stream(spec, path)["events"]
        if spec is s:
            out.append(("W1", workload.make_rules(40, 5, stateful=False), path, lines, False))
            out.append(("W2", workload.make_rules(40, 5, stateful=True), path, lines, False))
        elif spec is timers:
            out.append(("W3", workload.timer_rules(), path, lines, False))
        else:
            out.append(("W1-mail", workload.make_rules(40, 5, stateful=False), path, lines, True))
            out.append(("W2-mail", workload.make_rules(40, 5, stateful=True), path, lines, True))
    return out


def check_mail_stream(t: Tally, tmp: str) -> None:
    """A mail stream is the plain stream's events with one identify per customer before its first."""
    plain = StreamSpec("selftest-mail", 1500, 60, seed=4, span_ms=3 * MS_DAY)
    mail = StreamSpec("selftest-mail", 1500, 60, seed=4, span_ms=3 * MS_DAY, mail=True)
    a, b = os.path.join(tmp, "plain.jsonl"), os.path.join(tmp, "mail.jsonl")
    info_a, info_b = workload.write_stream(plain, a), workload.write_stream(mail, b)
    with open(a) as fa, open(b) as fb:
        plain_lines = fa.readlines()
        mail_lines = fb.readlines()
    tracks = [line for line in mail_lines if '"type":"identify"' not in line]
    seen, first_ok = set(), True
    for line in mail_lines:
        et, user, _, props = workload.parse_line(line)
        if et == "identify":
            first_ok &= user not in seen and bool(props.get("email"))
            seen.add(user)
        else:
            first_ok &= user in seen
    t.check("mail stream: the plain events, one identify with an address before each customer's first",
            tracks == plain_lines and first_ok and info_b["events"] == info_a["events"] + info_a["distinct_customers"],
            f"{info_a} {info_b}")


def check_mail_reference(t: Tally, name: str, rules, expected: dict) -> None:
    """The mail workload is not vacuous: sends, outranked firings, subjects with and without a
    first name, and rendered money."""
    recs = expected["records"]
    sent, fired = sum(expected["sent"].values()), sum(expected["fired"].values())
    t.check(f"{name}: sends, outranked firings, defaults and values in subjects",
            0 < sent < fired and '"subject":"Hi, ' in recs and recs.count('"subject":"Hi, ') < sent
            and len({r for r, n in expected["sent"].items() if n}) >= 3,
            f"sent {sent}, fired {fired}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trig", help="a trig binary to check as well (both engines)")
    ap.add_argument("--latency", help="the latency benchmark binary to check as well (counts only)")
    ap.add_argument("--require", default="", help="comma-separated peers whose absence is a failure: clips,jre,trig")
    args = ap.parse_args()
    required = {x for x in args.require.split(",") if x}
    t = Tally()
    with tempfile.TemporaryDirectory(prefix="trig-bench-selftest-") as tmp:
        check_generator(t, tmp)
        check_trig_record_counting(t, tmp)
        check_baseline_reader(t, tmp)
        check_mail_stream(t, tmp)
        cpp = CppBaseline(os.path.join(tmp, "cpp"))
        peers = [Clips(lambda path, n: _facts(path, n)), JsonRulesEngine()]
        if args.trig:
            peers += [Trig(os.path.abspath(args.trig), "jit", os.path.join(tmp, "trig")),
                      Trig(os.path.abspath(args.trig), "interp", os.path.join(tmp, "trig"))]
        elif "trig" in required:
            t.check("trig", False, "--require trig needs --trig BINARY")
        for name, rules, path, n, mail in workloads(tmp):
            expected = run_reference(rules, open(path, encoding="utf-8"), mail=mail)
            fired = expected["fired"]
            t.check(f"{name}: the workload is not vacuous (rules fire, with different counts)",
                    len(set(fired.values())) >= 3, str(fired))
            if mail:
                check_mail_reference(t, name, rules, expected)
            if name == "W3":
                t.check("W3: timers are pending at once and some are cancelled",
                        expected["peak_pending"] > 10 and sum(fired.values()) < sum(
                            1 for line in open(path) if '"cart_add"' in line or '"checkout_start"' in line),
                        f"peak {expected['peak_pending']}")
            try:
                cpp.prepare(rules, os.path.join(tmp, name, "cpp"), mail=mail)
                run = cpp.run(path, n)
                diffs = agree(expected, run)
                t.check(f"{name}: hand-written C++ agrees with the reference", not diffs, "; ".join(diffs[:5]))
            except EngineError as e:
                t.check(f"{name}: hand-written C++", False, str(e))
            for eng in peers:
                label = f"{name}: {eng.label}"
                ok, why = eng.available
                if not ok:
                    short = "trig" if eng.key.startswith("trig") else eng.key
                    if short in required:
                        t.check(label, False, f"required but unavailable: {why}")
                    else:
                        t.skip(label, why)
                    continue
                ok, why = eng.supports(rules, mail)
                if not ok:
                    continue
                try:
                    eng.prepare(rules, os.path.join(tmp, name, eng.key), mail=mail)
                    run = eng.run(path, n)
                    diffs = agree(expected, run)
                    t.check(f"{label} agrees with the reference", not diffs, "; ".join(diffs[:5]))
                except EngineError as e:
                    t.check(label, False, str(e))
            if args.latency and not mail:
                check_latency(t, os.path.abspath(args.latency), name, rules, path, fired, tmp)
    print(f"{t.passed} passed, {t.failed} failed, {t.skipped} skipped")
    return 1 if t.failed else 0


def check_latency(t: Tally, binary: str, name: str, rules, path: str, fired: dict, tmp: str) -> None:
    rules_path = os.path.join(tmp, name, "latency.trig")
    os.makedirs(os.path.dirname(rules_path), exist_ok=True)
    with open(rules_path, "w", encoding="utf-8") as f:
        f.write(translate.to_trig(rules, "selftest"))
    env = dict(os.environ, TRIG_CACHE_DIR=os.path.join(tmp, "latency-cache"))
    for engine in ("jit", "interp"):
        label = f"{name}: trig_bench_latency --engine {engine}, paced, fires as the reference"
        # A fixed, modest rate and a short tick: the paced run then advances the clock between
        # events, so timers fire from the virtual clock rather than from the next event.
        r = subprocess.run([binary, rules_path, "--events", path, "--engine", engine, "--rate", "20000",
                            "--tick-us", "10", "--json"], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            t.check(label, False, f"exited {r.returncode}: {r.stderr.strip()[-300:]}")
            continue
        out = json.loads(r.stdout.strip().splitlines()[-1])
        diffs = compare(fired, out["fired"])
        if not out["agree"]:
            diffs.append("the paced run fired differently from the unpaced one")
        if name == "W3" and out["lateness_us"]["n"] == 0:
            diffs.append("no timer fell due within the paced stream")
        t.check(label, not diffs, "; ".join(diffs[:5]))


def agree(expected: dict, run) -> list[str]:
    """What differs between an engine's run and the reference: fired counts, and on a mail
    workload, instead, sent counts and the records' bytes (trig prints no firings then)."""
    if "sent" not in expected:
        return compare(expected["fired"], run.fired)
    diffs = [f"sent {d}" for d in compare(expected["sent"], run.sent or {})]
    if run.fired:  # the baseline reports firings too
        diffs += compare(expected["fired"], run.fired)
    path = run.extra.get("records_path")
    with open(path, encoding="utf-8") as f:
        got = f.read()
    if got != expected["records"]:
        a, b = expected["records"].splitlines(), got.splitlines()
        i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        diffs.append(f"records differ at line {i + 1}: expected {a[i] if i < len(a) else 'the end'!r}, "
                     f"got {b[i] if i < len(b) else 'the end'!r}")
    return diffs


def _facts(path: str, n: int) -> str:
    out = path + ".clp"
    if not os.path.exists(out):
        translate.jsonl_to_clips(path, out, limit=n)
    return out


if __name__ == "__main__":
    sys.exit(main())
