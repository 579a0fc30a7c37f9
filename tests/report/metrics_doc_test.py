#!/usr/bin/env python3
"""docs/metrics.md's worked example is what trig prints.

Every block of docs/metrics.md that follows a line `<!-- output: trig ARGS -->` (a fenced or an
indented block up to the next blank line after it) must be, byte for byte, what `trig ARGS`
prints, run from the repository's root. With --update, the blocks are rewritten from trig's
output instead (then review the prose around them). And every metric `trig serve` has a help
text for (runtime/serve/metrics.cpp) is named in docs/metrics.md or docs/serve.md.

usage: metrics_doc_test.py TRIG [--update]
"""
import os, re, shlex, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "metrics.md")
MARK = re.compile(r"^<!-- output: trig (.*) -->$")
METRICS_CPP = os.path.join(ROOT, "runtime", "serve", "metrics.cpp")
SERVE_DOC = os.path.join(ROOT, "docs", "serve.md")


def undocumented_metrics():
    """The metric names of Metrics::help's table that neither docs/metrics.md nor docs/serve.md
    names (as `name` or `name{labels}`)."""
    names = re.findall(r'\{"(trig_\w+)",', open(METRICS_CPP).read())
    if not names:
        raise SystemExit(f"metrics_doc_test: no metric names found in {METRICS_CPP}")
    docs = open(DOC).read() + open(SERVE_DOC).read()
    return [n for n in names if not re.search(r"`" + n + r"[`{]", docs)]


def run(trig, args):
    p = subprocess.run([trig, *shlex.split(args)], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"metrics_doc_test: trig {args}: exit {p.returncode}: {p.stderr}")
    return p.stdout


def main():
    trig = os.path.abspath(sys.argv[1])
    update = "--update" in sys.argv[2:]
    lines = open(DOC).read().split("\n")
    out, i, checked, failures = [], 0, 0, 0
    while i < len(lines):
        out.append(lines[i])
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        # The block: a fence ``` ... ``` right after the marker.
        if i >= len(lines) or lines[i] != "```":
            raise SystemExit(f"metrics_doc_test: docs/metrics.md:{i}: no ``` block after the marker")
        end = lines.index("```", i + 1)
        shown = "\n".join(lines[i + 1:end]) + "\n"
        want = run(trig, m.group(1))
        checked += 1
        if shown != want:
            if not update:
                failures += 1
                print(f"FAIL: docs/metrics.md:{i + 1}: the block is not what `trig {m.group(1)}` "
                      f"prints now:\n{want}")
        out.append("```")
        out.extend(want.rstrip("\n").split("\n") if update else lines[i + 1:end])
        out.append("```")
        i = end + 1
    if update:
        open(DOC, "w").write("\n".join(out))
        print(f"metrics_doc_test: {checked} block(s) rewritten")
        return 0
    if checked == 0:
        print("FAIL: no `<!-- output: trig ... -->` block in docs/metrics.md")
        return 1
    for name in undocumented_metrics():
        failures += 1
        print(f"FAIL: the metric {name} (runtime/serve/metrics.cpp) is in neither docs/metrics.md "
              f"nor docs/serve.md")
    if failures:
        return 1
    print(f"metrics_doc_test: {checked} block(s) match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
