#!/usr/bin/env python3
"""Tests of the rule review of `trig check` (docs/review.md).

usage: review_test.py TRIG

- The witness of every `overlap` and `shadowed` warning is a `test` block: pasted after the rules
  it is about, `trig test` runs it and it passes (the first rule sends, the other is outranked).
  A witness with its expectations swapped fails, so the run proves what the witness claims.
- `can-never-fire`: a rule reported dead gets no send from any witness of the rules beside it,
  and the rules the review lets through do fire on their witnesses.
- Only `trig check` reviews: `trig test` and `trig compile` report none of the review's kinds.
- `--format json` is deterministic: two runs print the same bytes.
"""
import json
import os
import subprocess
import sys
import tempfile

TRIG = os.path.abspath(sys.argv[1])
TIMEOUT = 60
REVIEW_KINDS = {"can-never-fire", "overlap", "redundant-term", "shadowed", "review-unknown"}
failures = []


def fail(what):
    failures.append(what)
    print("FAIL:", what)


def run(args, cwd):
    return subprocess.run([TRIG] + args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def check(path, cwd):
    p = run(["check", "--format", "json", path], cwd)
    return p.stdout, json.loads(p.stdout)["diagnostics"]


def witness(d):
    """The `test` block of a diagnostic's help, or None."""
    help_text = d.get("help", "")
    at = help_text.find("\ntest ")
    return help_text[at + 1:] if at >= 0 else None


RULES = """template a { subject "A" body "." }
template b { subject "B" body "." }
template c { subject "C" body "." }
trigger lamps: when cart_add(category == "lamps" and price > 20) send a
trigger pricey: when cart_add(price > 100 and quantity >= 2) and customer.country == "FR" send b
trigger idle_one: when product_view(price >= 9.99) and idle 10m priority 3 send a
trigger idle_two: when product_view(product_id in ["p1", "p2"]) and idle 10m priority 3 send b
trigger top: when search(query starts_with "lamp") priority 7 send a
trigger under: when search(query == "lamps" or query == "lampshade") priority 2 send c
trigger never: when purchased(revenue > 10) unless purchased(revenue > 5) within 1h priority 9 send c
"""


def main():
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.trig")
        with open(rules, "w") as f:
            f.write(RULES)
        out1, diags = check("rules.trig", tmp)
        out2, _ = check("rules.trig", tmp)
        if out1 != out2:
            fail("trig check --format json is not deterministic")
        kinds = sorted(d["kind"] for d in diags)
        for want in ("overlap", "overlap", "shadowed", "can-never-fire"):
            if kinds.count(want) < (2 if want == "overlap" else 1):
                fail(f"expected {want} among {kinds}")
        witnesses = 0
        for d in diags:
            if d["kind"] not in ("overlap", "shadowed"):
                continue
            block = witness(d)
            if block is None:
                fail(f"{d['kind']} at {d['line']}: no witness: {d.get('help')}")
                continue
            witnesses += 1
            path = os.path.join(tmp, f"witness_{witnesses}_test.trig")
            with open(path, "w") as f:
                f.write(RULES + "\n" + block + "\n")
            p = run(["test", os.path.basename(path)], tmp)
            if p.returncode != 0 or "1 passed, 0 failed" not in p.stdout:
                fail(f"witness of {d['message']!r} does not pass:\n{block}\n{p.stdout}{p.stderr}")
            # Swapped expectations must fail: the test proves which rule sends.
            lines = block.split("\n")
            sends = [i for i, l in enumerate(lines) if l.strip().startswith("expect send ")]
            supp = [i for i, l in enumerate(lines) if l.strip().startswith("expect suppressed ")]
            if len(sends) != 1 or len(supp) != 1:
                fail(f"witness without one send and one suppression:\n{block}")
                continue
            s_words, o_words = lines[sends[0]].split(), lines[supp[0]].split()
            # expect send T to "c1" from R  /  expect suppressed T to "c1" from R because outranked
            lines[sends[0]] = f"  expect send {o_words[2]} to \"c1\" from {o_words[6]}"
            lines[supp[0]] = f"  expect suppressed {s_words[2]} to \"c1\" from {s_words[6]} because outranked"
            with open(path, "w") as f:
                f.write(RULES + "\n" + "\n".join(lines) + "\n")
            p = run(["test", os.path.basename(path)], tmp)
            if p.returncode == 0 or "0 passed, 1 failed" not in p.stdout:
                fail(f"swapped witness passes:\n{chr(10).join(lines)}\n{p.stdout}")
        if witnesses < 3:
            fail(f"expected at least 3 witnesses, ran {witnesses}")
        # The dead rule: its anchor always counts for its unless, so even the event that fits its
        # anchor filter gets no send from it.
        dead = os.path.join(tmp, "dead_test.trig")
        with open(dead, "w") as f:
            f.write(RULES + """
test "never sends" {
  customer "c1" { email: "c1@example.com" }
  at 2026-01-05T10:00:00Z purchased "c1" { order_id: "o1", revenue: 50.00 }
  expect no send c from never
}
""")
        p = run(["test", "dead_test.trig"], tmp)
        if p.returncode != 0:
            fail(f"the dead rule sent:\n{p.stdout}{p.stderr}")
        # Other commands do not review.
        for args in (["test", "dead_test.trig"], ["compile", "rules.trig", "--emit", "ast"]):
            p = run(args, tmp)
            text = p.stdout + p.stderr
            for k in REVIEW_KINDS:
                if f"[{k}]" in text or f"warning: {k}" in text or f'"{k}"' in text:
                    fail(f"trig {args[0]} reports {k}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("review: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
