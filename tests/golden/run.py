#!/usr/bin/env python3
"""Golden diagnostics: every tests/golden/*.trig ends with its expected diagnostics.

Each expectation is a comment line at the end of the file:
    # EXPECT: 3:10 error unknown-event: unknown event 'purchasd'
A file whose expectations include detail lines also compares each diagnostic's notes and help,
written indented under it:
    # EXPECT: 3:10 error unknown-event: unknown event 'purchasd'
    # EXPECT:   help: did you mean 'purchased'?
    # EXPECT:   note 1:7: previous declaration is here
A help of several lines (the witness `test` block of overlap and shadowed) continues on lines
    # EXPECT:   | test "a and b on one cart_add" {
The runner runs `trig check --format json FILE` and compares. A line `# ARGS: --bounds ...` adds
options to that run, and then the text output of `trig check ARGS FILE` is compared too, with
the lines written as
    # OUTPUT: any day: 3 emails (tight: the schedule below reaches it) TRIG_REGEN=1 rewrites the
expectations from the actual output (with details where the file had them, or everywhere with
TRIG_DETAILS=1). The suite also fails when a diagnostic kind listed in
compiler/diag/kinds.def has no golden case (a kind is covered when some EXPECT line names it).

usage: run.py TRIG GOLDEN_DIR
"""
import json, os, re, subprocess, sys

MARK = "# EXPECT: "
OUTPUT = "# OUTPUT: "
ARGS = "# ARGS: "
# Kinds that cannot come from a single file and are covered by CLI tests instead.
EXEMPT = {"io-error"}


def where(d, path, line, column):
    w = f"{line}:{column}"
    return w if d["file"] == os.path.basename(path) else f"{d['file']}:{w}"


def text_output(trig, path, args):
    p = subprocess.run([trig, "check", *args, os.path.basename(path)],
                       cwd=os.path.dirname(path), capture_output=True, text=True, timeout=60)
    return p.stdout.rstrip("\n").split("\n") if p.stdout.strip() else []


def actual(trig, path, details, args=()):
    p = subprocess.run([trig, "check", "--format", "json", *args, os.path.basename(path)],
                       cwd=os.path.dirname(path), capture_output=True, text=True, timeout=60)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        return None, f"not JSON (exit {p.returncode}): {p.stdout[:200]} {p.stderr[:200]}"
    lines = []
    for d in doc["diagnostics"]:
        lines.append(f"{where(d, path, d['line'], d['column'])} {d['severity']} {d['kind']}: {d['message']}")
        if not details:
            continue
        for n in d.get("notes", []):
            lines.append(f"  note {where(n, path, n['line'], n['column'])}: {n['message']}")
        if d.get("help"):
            # A multi-line help (a witness `test` block) is one line here, then `  | ` lines.
            first, *rest = d["help"].split("\n")
            lines.append(f"  help: {first}")
            lines.extend(f"  | {l}" for l in rest)
    return lines, None


def main():
    trig, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    regen = os.environ.get("TRIG_REGEN") == "1"
    kinds_def = os.path.join(os.path.dirname(__file__), "..", "..", "compiler", "diag", "kinds.def")
    kinds = re.findall(r'^DIAG\(\w+, \w+, "([^"]+)"\)', open(kinds_def).read(), re.M)
    covered = set()
    failures = 0
    files = sorted(f for f in os.listdir(root) if f.endswith(".trig"))
    for name in files:
        path = os.path.join(root, name)
        text = open(path, encoding="utf-8", errors="surrogateescape").read()
        body = [l for l in text.split("\n") if not l.startswith(MARK) and not l.startswith(OUTPUT)]
        args = [a for l in text.split("\n") if l.startswith(ARGS) for a in l[len(ARGS):].split()]
        outputs = [l[len(OUTPUT):] for l in text.split("\n") if l.startswith(OUTPUT)]
        while body and body[-1] == "":
            body.pop()
        expected = [l[len(MARK):] for l in text.split("\n") if l.startswith(MARK)]
        details = any(l.startswith("  ") for l in expected) or (regen and os.environ.get("TRIG_DETAILS") == "1")
        got, err = actual(trig, path, details, args)
        if err:
            print(f"FAIL {name}: {err}")
            failures += 1
            continue
        for line in got:
            m = re.match(r"^(?:\S+:)?\d+:\d+ \w+ ([\w-]+):", line)
            if m:
                covered.add(m.group(1))
        if regen:
            out = text_output(trig, path, args) if args else []
            with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("\n".join(body) + "\n\n" + "".join(MARK + l + "\n" for l in got))
                f.write("".join(OUTPUT + l + "\n" for l in out))
            continue
        if args and text_output(trig, path, args) != outputs:
            failures += 1
            print(f"FAIL {name}: the text output of trig check {' '.join(args)}")
            for l in text_output(trig, path, args):
                print(f"  got: {l}")
            continue
        if got != expected:
            failures += 1
            print(f"FAIL {name}")
            for l in expected:
                if l not in got:
                    print(f"   missing: {l}")
            for l in got:
                if l not in expected:
                    print(f"  unexpected: {l}")
        else:
            print(f"ok   {name}")
    missing = [k for k in kinds if k not in covered and k not in EXEMPT]
    if missing:
        failures += 1
        print("FAIL diagnostic kinds without a golden case: " + ", ".join(missing))
    print(f"golden: {len(files) - min(failures, len(files))} passed, {failures} failed")
    sys.exit(1 if failures else 0)


main()
