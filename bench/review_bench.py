#!/usr/bin/env python3
"""The rule review's cost: `trig check` on 1,000 generated rules (docs/review.md).

    python3 bench/review_bench.py [--trig build/trig] [--rules 1000] [--seed 1] [--repeat 3]

Generates a seeded rule set over the prelude's events: anchor filters on fields of every type
(money, int, strings with ==, in, starts_with, contains), trait terms, history counts with
windows and `unless`es, priorities 0-9, a few `idle`s; some rules are dead, some terms redundant,
many pairs overlap. Times `trig check` (the review included) and, for comparison, `trig compile
--emit ast` (parse and sema only: no review), prints the medians, the number of findings of each
kind, and whether the review stayed under the target (10 s for 1,000 rules). Only pairs sharing an
anchor event type are compared by the review.
"""
import argparse
import collections
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_S = 10.0

EVENTS = {
    "cart_add": [("price", "money"), ("quantity", "int"), ("category", "str"), ("product_id", "str")],
    "product_view": [("price", "money"), ("category", "str"), ("product_id", "str")],
    "page_view": [("url", "url"), ("category", "str")],
    "purchased": [("revenue", "money"), ("product_id", "str")],
    "search": [("query", "str")],
    "checkout_start": [("cart_value", "money")],
}
CATS = ["lamps", "books", "bags", "toys", "shoes", "pens", "cups", "hats"]


def term(rng, field, kind):
    if kind == "money":
        op = rng.choice([">", ">=", "<", "<="])
        return f"{field} {op} {rng.randint(1, 400)}.{rng.randint(0, 99):02d}"
    if kind == "int":
        return f"{field} {rng.choice(['>', '<', '>=', '=='])} {rng.randint(1, 6)}"
    if kind == "url":
        p = rng.choice(["/sale", "/shop", "/blog", "/sale/books"])
        return rng.choice([f'{field} starts_with "{p}"', f'{field} contains "{p[1:4]}"'])
    r = rng.random()
    if r < 0.5:
        return f'{field} == "{rng.choice(CATS)}"'
    if r < 0.8:
        return f'{field} in [{", ".join(chr(34) + c + chr(34) for c in rng.sample(CATS, 3))}]'
    return f'{field} != "{rng.choice(CATS)}"'


def rule(rng, i):
    ev = rng.choice(list(EVENTS))
    fields = EVENTS[ev]
    parts = [term(rng, f, k) for f, k in rng.sample(fields, rng.randint(1, min(3, len(fields))))]
    anchor = f"{ev}({' and '.join(parts)})"
    terms = []
    if rng.random() < 0.3:
        other = rng.choice(list(EVENTS))
        terms.append(f"count({other}) within {rng.choice([1, 7, 30])}d >= {rng.randint(1, 3)}")
    if rng.random() < 0.2:
        terms.append(f'customer.country {rng.choice(["==", "!="])} "{rng.choice(["FR", "DE", "US"])}"')
    if rng.random() < 0.1:
        terms.append("idle 30m")
    unless = ""
    if rng.random() < 0.4:
        other = rng.choice(list(EVENTS))
        unless = f" unless {other} within {rng.choice([1, 7])}d"
    when = " and ".join([anchor] + terms)
    return f"trigger r{i}: when {when}{unless} priority {rng.randint(0, 9)} send t{i % 5}\n"


def generate(n, seed):
    rng = random.Random(seed)
    out = "".join(f'template t{k} {{ subject "T{k}" body "." }}\n' for k in range(5))
    return out + "".join(rule(rng, i) for i in range(n))


def timed(cmd):
    """(wall seconds, CPU seconds of the child, result)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trig", default=os.path.join(REPO, "build", "trig"))
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rules.trig")
        with open(path, "w") as f:
            f.write(generate(a.rules, a.seed))
        checks, cpus, compiles, kinds = [], [], [], collections.Counter()
        for _ in range(a.repeat):
            s, cpu, p = timed([a.trig, "check", "--format", "json", path])
            if p.returncode not in (0, 1):
                print(p.stdout[:2000], p.stderr[:2000])
                return 2
            checks.append(s)
            cpus.append(cpu)
            kinds = collections.Counter(d["kind"] for d in json.loads(p.stdout)["diagnostics"])
            s, _, p = timed([a.trig, "compile", "--emit", "ast", path])
            compiles.append(s)
        check_s, compile_s = statistics.median(checks), statistics.median(compiles)
        cpu_s = statistics.median(cpus)
        print(f"rules: {a.rules} (seed {a.seed}), {a.repeat} runs")
        print(f"trig check (with the review): median {check_s:.2f} s  runs {[round(x, 2) for x in checks]}")
        print(f"  CPU time (user + system): median {cpu_s:.2f} s (what a busy machine does not inflate)")
        print(f"trig compile --emit ast (no review): median {compile_s:.2f} s")
        print("findings (kept; the JSON keeps the first 100 warnings): " +
              ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        ok = check_s < TARGET_S
        print(f"target {TARGET_S:.0f} s wall: {'met' if ok else 'MISSED'}"
              f"{'' if ok else f' (CPU {cpu_s:.2f} s: other load on the machine?)'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
