#!/usr/bin/env python3
"""Times `trig check` on a generated rule set (default 10,000 rules).

usage: run.py TRIG [RULES] [RUNS]

Generates the rules with gen_rules.py into a temporary directory, checks that they check
clean, then runs `trig check` RUNS times (default 5) and prints the best and median wall-clock
and CPU (user + system) times. The best run is the figure least disturbed by other load.
"""
import os, resource, statistics, subprocess, sys, tempfile, time

trig = os.path.abspath(sys.argv[1])
rules = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
here = os.path.dirname(os.path.abspath(__file__))

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "rules.trig")
    with open(path, "w") as f:
        subprocess.run([sys.executable, os.path.join(here, "gen_rules.py"), str(rules)], stdout=f, check=True)
    size = os.path.getsize(path)
    first = subprocess.run([trig, "check", path], capture_output=True, text=True)
    if first.returncode != 0 or first.stdout.strip():
        sys.exit("the generated rules do not check clean:\n" + first.stdout[:2000])
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([trig, "check", path], stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    print(f"trig check: {rules} rules, {size / 1e6:.1f} MB, {runs} runs")
    print(f"  wall: best {min(walls):.3f} s, median {statistics.median(walls):.3f} s")
    print(f"  cpu:  best {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s")
