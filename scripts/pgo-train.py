#!/usr/bin/env python3
"""The training run of the profile-guided release build (scripts/release-build.sh).

Runs an instrumented `trig` (built with -DTRIG_PGO=generate) over replay work of the shapes trig
serves: stateless and stateful rule sets with and without addresses, idle timers, both engines,
with and without --explain, and the checks of the examples. GCC writes the profile as the
binary exits; the release build then lays out and optimises the code by it (-DTRIG_PGO=use).

The rule sets and streams are the benchmark's generators (bench/harness) with a seed of their
own and sizes of their own (seed 7, 50 rules, 100,000 events), not the streams bench/run.py
measures (seed 1, 10/100/1000 rules, 1,000,000 events): the profile says which code is hot, and
that must not come from the measured runs themselves.

    python3 scripts/pgo-train.py TRIG WORKDIR [--events N]

(--events makes the streams shorter: tests/CMakeLists.txt runs this with build/trig and a few
thousand events, so that the training keeps working as the command line changes.)
"""
from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))

from harness import translate, workload  # noqa: E402

SEED = 7
EVENTS = 100_000
MS_DAY = workload.MS_DAY
MS_MINUTE = workload.MS_MINUTE


def run(cmd: list[str], env: dict, ok=(0,)) -> None:
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    if r.returncode not in ok:
        sys.exit(f"pgo-train: {' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-500:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description="The training run of the profile-guided release build.")
    ap.add_argument("trig", help="the instrumented trig binary")
    ap.add_argument("workdir", help="where the rule sets, streams and JIT cache go")
    ap.add_argument("--events", type=int, default=EVENTS, help=f"events per stream (default {EVENTS:,})")
    args = ap.parse_args()
    trig, work, events = os.path.abspath(args.trig), os.path.abspath(args.workdir), args.events
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, TRIG_CACHE_DIR=os.path.join(work, "jit-cache"))

    rules = {
        "stateless": (workload.make_rules(50, SEED, stateful=False), False),
        "stateful": (workload.make_rules(50, SEED, stateful=True), False),
        "stateless-mail": (workload.make_rules(50, SEED, stateful=False), True),
        "stateful-mail": (workload.make_rules(50, SEED, stateful=True), True),
        "timers": (workload.timer_rules(), False),
    }
    streams = {
        "few": workload.StreamSpec("few", events, 5_000, seed=SEED, span_ms=30 * MS_DAY),
        "many": workload.StreamSpec("many", events, 100_000, seed=SEED, span_ms=30 * MS_DAY),
        "few-mail": workload.StreamSpec("few", events, 5_000, seed=SEED, span_ms=30 * MS_DAY, mail=True),
        "timers": workload.StreamSpec("timers", events, events, seed=SEED, span_ms=15 * MS_MINUTE, zipf_s=0.0),
    }
    paths = {}
    for name, spec in streams.items():
        paths[name] = os.path.join(work, f"{name}-{events}.jsonl")
        if not os.path.exists(paths[name]):
            workload.write_stream(spec, paths[name])
    runs = [("stateless", "few"), ("stateless", "many"), ("stateful", "few"), ("stateful", "many"),
            ("stateless-mail", "few-mail"), ("stateful-mail", "few-mail"), ("timers", "timers")]
    started = time.monotonic()
    for name, (rs, mail) in rules.items():
        path = os.path.join(work, f"{name}.trig")
        with open(path, "w", encoding="utf-8") as f:
            f.write(translate.to_trig(rs, f"training: {name}", mail=mail))
        run([trig, "compile", path], env)
    for name, stream in runs:
        path = os.path.join(work, f"{name}.trig")
        for engine in ("jit", "interp"):
            run([trig, "run", path, "--events", paths[stream], "--engine", engine], env)
        run([trig, "run", path, "--events", paths[stream], "--engine", "jit", "--explain"], env)
        print(f"pgo-train: {name} over {stream}", flush=True)
    for rules_file in sorted(glob.glob(os.path.join(REPO, "examples", "*", "rules.trig"))):
        run([trig, "check", rules_file], env, ok=(0, 1))
    for test_file in sorted(glob.glob(os.path.join(REPO, "examples", "*", "*_test.trig"))):
        run([trig, "test", test_file], env, ok=(0, 1))
    print(f"pgo-train: done in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
