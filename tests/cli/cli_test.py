#!/usr/bin/env python3
"""End-to-end checks of subcommands that have no conformance format: `trig diff`, exit codes.

usage: cli_test.py TRIG
"""
import json, os, subprocess, sys

trig = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def run(args, cwd, stdin=None):
    return subprocess.run([trig] + args, cwd=cwd, capture_output=True, text=True, input=stdin, timeout=60)


d = os.path.join(here, "diff")
p = run(["diff", "old.trig", "new.trig", "--events", "events.jsonl"], d)
lines = [json.loads(l) for l in p.stdout.splitlines()]
changes = sorted((l["change"], l["rule"], l["time"]) for l in lines)
check("diff exit 0", p.returncode == 0, p.stderr)
check("diff finds the changed, removed and added sends", changes == [
    ("added", "browse", "2026-03-01T11:00:00Z"),
    ("changed", "cart_abandon", "2026-03-01T09:20:00Z"),
    ("removed", "checkout", "2026-03-01T10:30:00Z"),
], changes)
changed = [l for l in lines if l["change"] == "changed"]
check("diff shows the old send of a change", changed and changed[0]["old"]["time"] == "2026-03-01T09:15:00Z", changed)
ordered = [list(json.loads(l, object_pairs_hook=lambda kv: kv))[:5] for l in p.stdout.splitlines()]
check("diff output keeps run's key order",
      all([k for k, _ in o] == ["change", "decision", "time", "customer", "rule"] for o in ordered), ordered)
p = run(["diff", "old.trig", "new.trig", "--events", "events.jsonl", "--fail-on-change"], d)
check("diff --fail-on-change exits 1", p.returncode == 1)
p = run(["diff", "old.trig", "old.trig", "--events", "-"], d, stdin=open(os.path.join(d, "events.jsonl")).read())
check("diff of a rule set with itself (events on stdin) is empty", p.returncode == 0 and p.stdout == "", p.stdout + p.stderr)
p = run(["diff", "old.trig", "missing.trig", "--events", "events.jsonl"], d)
check("diff with a missing file exits 2", p.returncode == 2, p.returncode)
p = run(["check", "no-such-file.trig"], d)
check("check of a missing file exits 2 (io-error)", p.returncode == 2 and "no-such-file.trig" in p.stdout + p.stderr, p.stdout)
p = run(["frobnicate"], d)
check("an unknown subcommand exits 2", p.returncode == 2)
print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
