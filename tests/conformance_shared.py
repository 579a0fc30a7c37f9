#!/usr/bin/env python3
"""Runs the conformance suites against build/trig, with both engines where the engine flag exists:
the project's own cases (tests/conformance), the examples (examples/*/rules.trig + events.jsonl +
expected.tsv), and, when the contract's folder ../shared is beside the clone, its cases of version 1
(shared/conformance) and version 2 (shared/conformance-v2). A clone without ../shared (anyone who
clones the public repository) skips those two suites and says so; the run still has to pass.

Known failures are listed, with the reason, in tests/conformance/KNOWN_FAILURES; a listed case
that passes, or an unlisted case that fails, fails this test, so the list can only shrink honestly.

usage: conformance_shared.py TRIG SHARED_DIR
"""
import os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
trig, shared = sys.argv[1], sys.argv[2]
own_runner = os.path.join(here, "conformance_runner.py")
shared_runner = os.path.join(shared, "tools", "conformance.py")
known = set()
kf = os.path.join(here, "conformance", "KNOWN_FAILURES")
if os.path.exists(kf):
    for line in open(kf):
        line = line.split("#")[0].strip()
        if line:
            known.add(line)

# (label, cases folder, runner). The shared cases go through the shared runner itself.
suites = [("own", os.path.join(here, "conformance"), own_runner),
          ("examples", os.path.join(here, "..", "examples"), own_runner)]
if os.path.isfile(shared_runner):
    suites += [("shared", os.path.join(shared, "conformance"), shared_runner),
               ("shared-v2", os.path.join(shared, "conformance-v2"), shared_runner)]
else:
    print(f"skipped shared, shared-v2: the contract's cases are not here ({shared_runner} not found;"
          " they come with the steering repo's shared/ folder beside the clone)")
# Every suite runs once with the default engine and once more with each other engine `trig run`
# offers, so the JIT and the reference interpreter are held to the same contract.
run_help = subprocess.run([trig, "run", "--help"], capture_output=True, text=True).stdout
passes = [("", [])]
if "--engine" in run_help:
    passes.append(("+interp", ["--engine", "interp"]))
bad = 0
total = 0
for (label, d, runner), (suffix, extra) in [(s, p) for p in passes for s in suites]:
    label += suffix
    if not os.path.isdir(d):
        print(f"skipped {label}: {d} not found")
        continue
    p = subprocess.run([sys.executable, runner, trig, d] + extra, capture_output=True, text=True, timeout=1200)
    for line in p.stdout.splitlines():
        if ":" not in line or line.startswith("conformance:"):
            continue
        name, verdict = line.split(":", 1)
        key = f"{label}/{name}"
        total += 1
        ok = verdict.strip() == "ok"
        if ok and key in known:
            print(f"FAIL {key}: passes now; remove it from KNOWN_FAILURES")
            bad += 1
        elif not ok and key not in known:
            print(f"FAIL {key}:{verdict}")
            bad += 1
        else:
            print(f"{'ok  ' if ok else 'known'} {key}")
print(f"conformance: {total - bad} passed, {bad} failed")
sys.exit(1 if bad or total == 0 else 0)
