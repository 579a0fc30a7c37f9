#!/usr/bin/env python3
"""Before/after equality of the rule review: two `trig` binaries must print the same bytes.

usage: same_review.py OLD_TRIG NEW_TRIG [--quick]

Runs `trig check --format json` and `trig check` (text) with both binaries on
- every .trig under tests/, examples/ and /work/shared/conformance*;
- bench/harness's generated rule sets (workload.make_rules) of 10, 100 and 1,000 rules, seeds 1-3,
  stateless and stateful (--quick: 10 and 100 rules, seed 1);
- bench/review_bench.py's rule sets of 200 and 1,000 rules, seeds 1-3 (--quick: 200, seed 1);
- bench/check_bench/gen_rules.py's sets of 300 and 1,000 rules (--quick: 300);
and fails, naming the file, when standard output, standard error or the exit code differ. When
the old build disagrees with itself (a build from before the work limits, whose time limits let
`review-unknown` come and go with the machine's load), the file is reported UNSTABLE and only its
JSON findings other than `review-unknown` are compared (the 100-warning cap can still let those differ). A
change to the review that should not change what it reports (a faster way to the same answers)
is checked with it against the build before the change (docs/review.md, "Limits").
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))

from harness import translate, workload  # noqa: E402
import review_bench  # noqa: E402


def outputs(trig, path, fmt):
    args = [trig, "check"] + (["--format", "json"] if fmt == "json" else []) + [path]
    p = subprocess.run(args, capture_output=True, timeout=600, cwd=REPO)
    return p.returncode, p.stdout, p.stderr


def decided(result):
    """The JSON diagnostics but review-unknown, and those pairs' rules' other findings."""
    try:
        diags = json.loads(result[1])["diagnostics"]
    except (ValueError, KeyError):
        return result
    return [d for d in diags if d["kind"] != "review-unknown"]


def generated(tmp, quick):
    sets = []
    sizes, seeds = ((10, 100), (1,)) if quick else ((10, 100, 1000), (1, 2, 3))
    for n in sizes:
        for seed in seeds:
            for stateful in (False, True):
                name = f"W{2 if stateful else 1}-{n}-s{seed}"
                text = translate.to_trig(workload.make_rules(n, seed, stateful), name)
                sets.append((name, text))
    for n in ((200,) if quick else (200, 1000)):
        for seed in ((1,) if quick else (1, 2, 3)):
            sets.append((f"review-bench-{n}-s{seed}", review_bench.generate(n, seed)))
    gen = os.path.join(REPO, "bench", "check_bench", "gen_rules.py")
    for n in ((300,) if quick else (300, 1000)):
        text = subprocess.run([sys.executable, gen, str(n)], capture_output=True, text=True,
                              check=True).stdout
        sets.append((f"check-bench-{n}", text))
    paths = []
    for name, text in sets:
        path = os.path.join(tmp, name + ".trig")
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    return paths


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    old, new = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    quick = "--quick" in sys.argv[3:]
    files = sorted(
        glob.glob(os.path.join(REPO, "tests", "**", "*.trig"), recursive=True) +
        glob.glob(os.path.join(REPO, "examples", "**", "*.trig"), recursive=True) +
        glob.glob("/work/shared/conformance*/**/*.trig", recursive=True))
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        files += generated(tmp, quick)
        unstable = 0
        for path in files:
            for fmt in ("json", "text"):
                a, b = outputs(old, path, fmt), outputs(new, path, fmt)
                if a == b:
                    continue
                if outputs(old, path, fmt) != a:
                    # A solver time limit hit on one run and not on another: the old build's
                    # output is not a function of its input, so only the rest is compared.
                    unstable += 1
                    print(f"UNSTABLE (the old build disagrees with itself, {fmt}): {path}")
                    if fmt == "json" and decided(a) != decided(b):
                        bad += 1
                        print(f"DIFFERENT (json, review-unknown aside): {path}")
                    continue
                bad += 1
                what = [k for k, x, y in zip(("exit code", "stdout", "stderr"), a, b) if x != y]
                print(f"DIFFERENT ({fmt}: {', '.join(what)}): {path}")
    print(f"{len(files)} rule files, 2 formats each: {bad} different, {unstable} unstable")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
