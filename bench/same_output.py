#!/usr/bin/env python3
"""Do two trig binaries print the same thing on the benchmark workloads? For refactorings that
must not change behaviour (a redesign of the runtime, a new JSON reader):

    python3 bench/same_output.py OLD_TRIG NEW_TRIG [--events 300000] [--engines jit,interp]

Generates the seeded benchmark streams and rule sets (W1 stateless, W2 stateful, W3 idle timers;
the same generator as bench/run.py, smaller by default), runs `trig run --explain` with each binary
and each engine, and compares standard output byte for byte and the summary on standard error.
Prints one line per run and `N same, N different`; exit status 1 when anything differs.
No timing: this is a behaviour check, and may run on a loaded machine.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from harness import translate, workload  # noqa: E402
from harness.workload import MS_DAY, MS_MINUTE, StreamSpec  # noqa: E402


def digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def run(binary: str, rules: str, stream: str, engine: str, out: str, cache: str) -> tuple[int, str]:
    env = dict(os.environ, TRIG_CACHE_DIR=cache)
    with open(out, "wb") as f:
        r = subprocess.run([binary, "run", rules, "--events", stream, "--explain", "--engine", engine],
                           stdout=f, stderr=subprocess.PIPE, env=env)
    return r.returncode, r.stderr.decode(errors="replace")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--engines", default="jit,interp")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default=os.path.join(BENCH_DIR, "out", "same-output"))
    args = ap.parse_args()
    args.old, args.new = os.path.abspath(args.old), os.path.abspath(args.new)
    os.makedirs(args.work, exist_ok=True)

    n = args.events
    specs = {
        "c10k": StreamSpec("c10k", events=n, customers=10_000, seed=args.seed, span_ms=60 * MS_DAY),
        "c1m": StreamSpec("c1m", events=n, customers=n, seed=args.seed, span_ms=60 * MS_DAY),
        "timers": StreamSpec("timers", events=n, customers=n, seed=args.seed, span_ms=15 * MS_MINUTE, zipf_s=0.0),
    }
    workloads = [(f"W1-{k}", workload.make_rules(k, args.seed, stateful=False), "c10k") for k in (10, 100, 1000)]
    workloads += [(f"W2-100-{s}", workload.make_rules(100, args.seed, stateful=True), s) for s in ("c10k", "c1m")]
    workloads.append(("W3", workload.timer_rules(), "timers"))

    streams = {}
    for name, spec in specs.items():
        path = os.path.join(args.work, spec.key() + ".jsonl")
        if not os.path.exists(path):
            print(f"generating {name} ({n} events)", flush=True)
            workload.write_stream(spec, path)
        streams[name] = path

    same = different = 0
    with tempfile.TemporaryDirectory() as tmp:
        for wid, rules, stream in workloads:
            rules_path = os.path.join(tmp, f"{wid}.trig")
            with open(rules_path, "w", encoding="utf-8") as f:
                f.write(translate.to_trig(rules, wid))
            for engine in args.engines.split(","):
                outs = []
                for tag, binary in (("old", args.old), ("new", args.new)):
                    out = os.path.join(tmp, f"{wid}-{engine}-{tag}.out")
                    rc, err = run(binary, rules_path, streams[stream], engine, out, os.path.join(tmp, f"cache-{tag}"))
                    summary = "\n".join(l for l in err.splitlines() if not l.startswith("trig: note:"))
                    outs.append((rc, digest(out), os.path.getsize(out), summary))
                ok = outs[0] == outs[1]
                same += ok
                different += not ok
                o, w = outs
                print(f"{'same' if ok else 'DIFFERENT':9} {wid:14} {engine:6} "
                      f"{w[2]} bytes {w[1]}" + ("" if ok else f" (old: rc {o[0]}, {o[2]} bytes {o[1]}; new: rc {w[0]})"),
                      flush=True)
                if not ok and o[3] != w[3]:
                    print(f"  stderr old:\n{o[3][-800:]}\n  stderr new:\n{w[3][-800:]}")
    print(f"{same} same, {different} different")
    return 0 if different == 0 and same > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
