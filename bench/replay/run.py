#!/usr/bin/env python3
"""Replay throughput and state size of `trig run` (issue 4's benchmark).

A seeded stream of realistic sessions (page and product views, carts, checkouts, purchases, email
engagement; Zipf customers) through the 100 stateful rules of the side-by-side benchmark (W2):
events per CPU second on one core, peak memory, and bytes of state per customer.

    python3 bench/replay/run.py                    # 10M events, 100k customers (about 2 GB of JSON)
    python3 bench/replay/run.py --events 2000000   # a quicker look

Method: `trig run RULES --events STREAM --explain --engine jit`, pinned to core 0 (`taskset`),
under /usr/bin/time; the same command on no events gives the start-up (compiling or loading the
rules), which is subtracted from the CPU time. Bytes of state per customer: the growth of peak
RSS over the run on no events (the binary, the JIT, the model) divided by the distinct customers:
an upper bound, as it also holds the allocator's slack and the reader's buffers. Correctness:
the JIT's records must equal the interpreter's on the first 200k events.

Not a test: numbers move with the machine's load (it is shared); record them in
docs/performance.md with the command.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from harness import engines, translate, workload  # noqa: E402

MS_DAY = 86_400_000


def run_timed(cmd: list[str], out_path: str, env: dict) -> tuple[float, int]:
    """CPU seconds (user + system, all threads) and peak RSS (KiB) of cmd, pinned to core 0."""
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    timing = tempfile.NamedTemporaryFile(delete=False, suffix=".time")
    timing.close()
    with open(out_path, "wb") as out:
        rc = subprocess.call(pin + ["/usr/bin/time", "-f", "%U %S %M", "-o", timing.name] + cmd,
                             stdout=out, stderr=subprocess.DEVNULL, env=env)
    with open(timing.name) as f:
        fields = f.read().split()[-3:]
    os.unlink(timing.name)
    if rc != 0:
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
    user, system, rss = float(fields[0]), float(fields[1]), int(fields[2])
    return user + system, rss


def head(src: str, dst: str, n: int) -> int:
    """The first n lines of src into dst; the number of distinct customers in them."""
    seen = set()
    with open(src) as fin, open(dst, "w") as fout:
        for i, line in enumerate(fin):
            if i >= n:
                break
            fout.write(line)
            start = line.index('"userId":"') + 10
            seen.add(line[start:line.index('"', start)])
    return len(seen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trig", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "trig"))
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(HERE, "..", "out", "replay"))
    args = ap.parse_args()
    if not os.path.exists(args.trig):
        raise SystemExit(f"no trig binary at {args.trig} (make build)")
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("needs /usr/bin/time for peak memory (apt-get install time)")
    os.makedirs(args.work, exist_ok=True)

    spec = workload.StreamSpec("replay", events=args.events, customers=args.customers, seed=args.seed,
                               span_ms=60 * MS_DAY, zipf_s=1.0)
    stream = os.path.join(args.work, spec.key() + ".jsonl")
    info_path = stream + ".info.json"
    if not (os.path.exists(stream) and os.path.exists(info_path)):
        print(f"generating {args.events:,} events over {args.customers:,} customers (seed {args.seed}) ...",
              flush=True)
        info = workload.write_stream(spec, stream)
        with open(info_path, "w") as f:
            json.dump(info, f)
    with open(info_path) as f:
        info = json.load(f)
    rules = os.path.join(args.work, f"rules-{args.rules}.trig")
    model = workload.make_rules(args.rules, args.seed, stateful=True)
    with open(rules, "w") as f:
        f.write(translate.to_trig(model, f"{args.rules} benchmark rules (W2)"))
    empty = os.path.join(args.work, "empty.jsonl")
    open(empty, "w").close()
    check = os.path.join(args.work, "check.jsonl")
    head(stream, check, min(200_000, args.events))

    env = dict(os.environ, TRIG_CACHE_DIR=os.path.join(args.work, "jit-cache"))
    out = os.path.join(args.work, "out.jsonl")
    # Correctness first: the JIT answers as the reference interpreter does.
    run_timed([args.trig, "run", rules, "--events", check, "--explain", "--engine", "jit"], out, env)
    with open(out, "rb") as f:
        jit_records = f.read()
    run_timed([args.trig, "run", rules, "--events", check, "--explain", "--engine", "interp"], out, env)
    with open(out, "rb") as f:
        if f.read() != jit_records:
            raise SystemExit("the JIT's records differ from the interpreter's: no figures")
    # Fill the object cache with the optimised code (a `run` builds it in the background and
    # stops when the run does; `compile` builds it to the end).
    run_timed([args.trig, "compile", rules], out, env)

    cmd = [args.trig, "run", rules, "--explain", "--engine", "jit", "--events"]
    cpu0, rss0 = run_timed(cmd + [empty], out, env)
    cpu, rss = run_timed(cmd + [stream], out, env)
    with open(out, "rb") as f:
        records = sum(1 for _ in f)
    trig_fired = engines.count_trig_records(out)
    customers = info["distinct_customers"]
    rate = args.events / max(cpu - cpu0, 1e-9)
    per_customer = (rss - rss0) * 1024 / max(customers, 1)

    # The hand-written C++ program of the side-by-side benchmark on the same stream, in the same
    # invocation: the practical upper bound, and the ratio that counts on a shared machine. It
    # must fire every rule as often as trig did.
    cpp = engines.CppBaseline(os.path.join(args.work, "cpp-bin"))
    base = None
    if cpp.available[0]:
        cpp.prepare(model, os.path.join(args.work, "cpp"))
        base = cpp.run(stream, args.events)
        fired = {k: v for k, v in base.fired.items() if v}
        if fired != trig_fired:
            bad = sorted(set(fired) ^ set(trig_fired) | {k for k in fired if trig_fired.get(k) != fired[k]})[:5]
            raise SystemExit("trig and the C++ baseline fire differently (" +
                             ", ".join(f"{k}: C++ {fired.get(k, 0)}, trig {trig_fired.get(k, 0)}" for k in bad) +
                             "): no figures")

    print(f"\ntrig replay: {args.events:,} events, {customers:,} customers, {args.rules} rules (W2), seed {args.seed}")
    print(f"  events/s on one core  {rate:,.0f}   (CPU {cpu:.2f} s, start-up {cpu0:.2f} s)")
    print(f"  records               {records:,} ({records / args.events:.3f} per event)")
    print(f"  peak RSS              {rss / 1024:,.0f} MiB (no events: {rss0 / 1024:,.0f} MiB)")
    print(f"  state per customer    at most {per_customer:,.0f} bytes (RSS growth over customers)")
    if base is not None:
        base_rate = args.events / max(base.cpu_s, 1e-9)
        print(f"  hand-written C++      {base_rate:,.0f} events/s on one core, peak RSS "
              f"{base.maxrss_kb / 1024:,.0f} MiB; trig / C++ = {rate / base_rate:.2f}x (same fired counts)")
    else:
        print(f"  hand-written C++      not run: {cpp.available[1]}")
    print(f"  targets: >= 2,000,000 events/s: {'met' if rate >= 2e6 else 'MISSED'}; "
          f"< 1 KiB per customer: {'met' if per_customer < 1024 else 'MISSED'}")


if __name__ == "__main__":
    main()
