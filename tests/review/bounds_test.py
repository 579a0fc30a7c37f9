#!/usr/bin/env python3
"""`trig check --bounds` against the runtime (docs/review.md, "Bounds").

usage: bounds_test.py TRIG

For small rule sets generated from fixed seeds (anchors no other rule uses, limits, `idle`,
multi-step flows with delays, splits with holdouts, sometimes a `cap` or a `cooldown`):

- the printed schedule of each window (day, week) is replayed with `trig run`: the anchors at the
  offsets it names, for the customer it names. The most sends that customer gets in any sliding
  window of that length is never above the bound, and equals it when the bound is claimed tight;
- dense random streams of the rules' anchors for one customer (bursts, steady trickles, events a
  few seconds apart) never get above the bound in any sliding day or week;
- `--max-per-week` below the bound exits 1 with `bound-exceeded`, at the bound exits 0;
- the output is deterministic (two runs, the same bytes).
"""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

TRIG = os.path.abspath(sys.argv[1])
DAY = 86400000
WINDOWS = {"day": DAY, "week": 7 * DAY}
BASE = 1767571200000  # 2026-01-05T00:00:00Z; the schedules' offsets are from here
# The anchors the rules use (one rule each) and the properties their events need.
ANCHORS = {
    "page_view": {"url": "/"},
    "search": {"query": "lamp"},
    "cart_remove": {"product_id": "p1"},
    "checkout_start": {},
    "cart_add": {"product_id": "p1"},
}


def stamp(ms):
    import datetime
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def generate(seed):
    """A small rule set: 1 to 3 rules on distinct anchors, every rule bounded by itself or a cap."""
    rnd = random.Random(seed)
    names = rnd.sample(sorted(ANCHORS), rnd.randint(1, 3))
    lines = []
    templates = set()
    settings = []
    if rnd.random() < 0.25:
        settings.append(f"cap {rnd.randint(2, 4)} per {rnd.choice(['1d', '12h'])}")
    if rnd.random() < 0.15:
        settings.append("cooldown 1d")
    if settings:
        lines.append("settings { " + "  ".join(settings) + " }")
    for k, ev in enumerate(names):
        idle = rnd.choice(["", "", " and idle 15m", " and idle 2h"])
        limit = rnd.choice(["", f" limit {rnd.randint(1, 2)} per {rnd.choice(['12h', '1d', '2d'])}"])
        if not limit and not idle:
            limit = " limit 1 per 1d"
        steps = []
        for s in range(rnd.randint(1, 3)):
            after = rnd.choice(["", "after 1h ", "after 1d ", "after 2d "]) if s else rnd.choice(["", "", "after 30m "])
            t = f"t{k}_{s}"
            templates.add(t)
            steps.append(f"{after}send {t}")
        if rnd.random() < 0.3:
            t = f"t{k}_x"
            templates.add(t)
            steps.append("after 1d split s { 50% a: send " + t + " then after 1d send " + t +
                         "  30% b: send " + t + "  20% c: holdout }")
        unless = " unless purchased within 7d" if rnd.random() < 0.3 else ""
        lines.append(f"trigger r{k}: when {ev}{idle}{unless}{limit} " + " then ".join(steps))
    for t in sorted(templates):
        lines.insert(0, f'template {t} {{ subject "{t}" body "." }}')
    return "\n".join(lines) + "\n", names


def trig(args, cwd, **kw):
    return subprocess.run([TRIG] + args, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def sends_of(cwd, events, customer):
    with open(os.path.join(cwd, "events.jsonl"), "w") as f:
        f.write(f'{{"type":"identify","userId":"{customer}","timestamp":"{stamp(BASE - 30 * DAY)}",'
                f'"traits":{{"email":"{customer}@example.com"}}}}\n')
        for ms, ev in sorted(events):
            props = json.dumps(ANCHORS[ev])
            f.write(f'{{"event":"{ev}","userId":"{customer}","timestamp":"{stamp(BASE + ms)}",'
                    f'"properties":{props}}}\n')
    p = trig(["run", "rules.trig", "--events", "events.jsonl", "--engine", "interp"], cwd)
    if p.returncode != 0:
        return None, p.stderr
    times = []
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r.get("decision") == "send" and r.get("customer") == customer:
            times.append(r["time"])
    return sorted(times), ""


def parse_ms(t):
    import datetime
    frac = 0
    if "." in t:
        main, rest = t[:-1].split(".")
        frac = int(rest.ljust(3, "0")[:3])
        t = main + "Z"
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000) + frac


def most_in_window(times, length):
    ms = sorted(parse_ms(t) for t in times)
    best, i = 0, 0
    for j in range(len(ms)):
        while ms[j] - ms[i] >= length:
            i += 1
        best = max(best, j - i + 1)
    return best


def main():
    seeds = range(1, 11)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            rules, anchors = generate(seed)
            with open(os.path.join(tmp, "rules.trig"), "w") as f:
                f.write(rules)
            p = trig(["check", "--bounds", "--format", "json", "rules.trig"], tmp)
            q = trig(["check", "--bounds", "--format", "json", "rules.trig"], tmp)
            if not check(f"seed {seed}: check --bounds runs", p.returncode == 0 and p.stdout == q.stdout,
                         rules + p.stdout[-2000:] + p.stderr):
                continue
            b = json.loads(p.stdout)["bounds"]
            for name, length in WINDOWS.items():
                w = b[name]
                if not check(f"seed {seed} {name}: bounded", not w["unbounded"], rules + json.dumps(w)):
                    continue
                customer = w["customer"] or "c1"
                events = [(f["anchor_ms"], f["event"]) for f in w["firings"]]
                times, err = sends_of(tmp, events, customer)
                if not check(f"seed {seed} {name}: the schedule replays", times is not None, err):
                    continue
                got = most_in_window(times, length)
                check(f"seed {seed} {name}: the schedule's {got} in a {name} <= bound {w['count']}",
                      got <= w["count"], rules + json.dumps(w))
                if w["tight"]:
                    check(f"seed {seed} {name}: tight, and the schedule reaches {w['count']}",
                          got == w["count"], f"{rules}\ngot {got}: {times}\n{json.dumps(w)}")
            # Dense random streams for one customer, over ten days.
            rnd = random.Random(seed * 7919)
            for trial in range(2):
                events = []
                t = 0
                while t < 10 * DAY and len(events) < 400:
                    t += rnd.choice([1000, 5000, 60000, 15 * 60000 + 1, 3600000, 2 * 3600000 + 1,
                                     DAY // 2, DAY + 1, rnd.randint(1, 3 * DAY)])
                    events.append((t, rnd.choice(anchors)))
                times, err = sends_of(tmp, events, "c1")
                if not check(f"seed {seed} random stream {trial}: replays", times is not None, err):
                    continue
                for name, length in WINDOWS.items():
                    if b[name]["unbounded"]:
                        continue
                    got = most_in_window(times, length)
                    check(f"seed {seed} random stream {trial}: {got} in a {name} <= {b[name]['count']}",
                          got <= b[name]["count"], rules)
            # --max-per-week at the bound passes, below it fails with bound-exceeded.
            if b["week"]["unbounded"]:
                continue
            n = b["week"]["count"]
            ok = trig(["check", "--bounds", "--max-per-week", str(n), "rules.trig"], tmp)
            bad = trig(["check", "--format", "json", "--max-per-week", str(n - 1), "rules.trig"], tmp)
            kinds = [d["kind"] for d in json.loads(bad.stdout)["diagnostics"]] if bad.stdout else []
            check(f"seed {seed}: --max-per-week {n} passes, {n - 1} fails",
                  ok.returncode == 0 and bad.returncode == 1 and kinds == ["bound-exceeded"],
                  ok.stdout + bad.stdout)
        static_diff(tmp)
        schema_valid(tmp)
    return finish("review_bounds: ")


def static_diff(tmp):
    """`trig diff --static`: new overlapping pairs (the review's), bounds that grew or became
    unbounded; nothing between a rule set and itself."""
    common = 'template t { subject "T" body "." }\ntemplate u { subject "U" body "." }\n'
    old = common + "trigger a: when cart_add limit 1 per 1d send t\ntrigger b: when search limit 1 per 1d send u\n"
    new = common + ("trigger a: when cart_add limit 2 per 1d send t\ntrigger b: when search limit 1 per 1d send u\n"
                    "trigger c: when cart_add(price > 10) send u\n")
    for name, text in (("old.trig", old), ("new.trig", new)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    p = trig(["diff", "--static", "old.trig", "new.trig"], tmp)
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    got = {(l["change"], tuple(l["rules"]) if "rules" in l else (l["rule"], l["window"], l["old"], l["new"]))
           for l in lines}
    want = {("overlap", ("a", "c")),
            ("bound", ("a", "day", 1, 2)), ("bound", ("a", "week", 7, 14)),
            ("unbounded", ("c", "day", None, "unbounded")), ("unbounded", ("c", "week", None, "unbounded")),
            ("unbounded", (None, "day", 2, "unbounded")), ("unbounded", (None, "week", 14, "unbounded"))}
    check("diff --static: the new overlap, the grown bounds, the unbounded rule", p.returncode == 0 and got == want,
          f"{p.returncode} {p.stdout} {p.stderr} missing {want - got} extra {got - want}")
    p = trig(["diff", "--static", "--fail-on-change", "old.trig", "new.trig"], tmp)
    check("diff --static --fail-on-change exits 1 on findings", p.returncode == 1, p.stderr)
    p = trig(["diff", "--static", "--fail-on-change", "new.trig", "new.trig"], tmp)
    check("diff --static of a rule set with itself finds nothing", p.returncode == 0 and p.stdout == "",
          p.stdout + p.stderr)
    p = trig(["diff", "--static", "new.trig", "old.trig"], tmp)
    check("diff --static the other way: no overlap is new, no bound grew", p.returncode == 0 and p.stdout == "",
          p.stdout + p.stderr)
    p = trig(["diff", "old.trig", "new.trig"], tmp)
    check("diff without --events or --static is a usage error", p.returncode == 2, p.stderr)


def schema_valid(tmp):
    """The `bounds` member of --format json is what docs/schema/check.schema.json says."""
    try:
        import jsonschema
    except ImportError:
        print("skip: python3-jsonschema is not installed")
        return
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "schema", "check.schema.json")) as f:
        schema = json.load(f)
    for rules in ("trigger a: when cart_add limit 1 per 1d send t then after 1d send t\n",
                  "trigger a: when cart_add send t\n"):
        with open(os.path.join(tmp, "s.trig"), "w") as f:
            f.write('template t { subject "T" body "." }\n' + rules)
        p = trig(["check", "--bounds", "--format", "json", "s.trig"], tmp)
        errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(json.loads(p.stdout))]
        check(f"check --bounds --format json matches the schema ({rules.strip()})", not errors, errors[:2])


sys.exit(main())
