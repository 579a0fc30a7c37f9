#!/usr/bin/env python3
"""The TextMate grammar's tests (editors/vscode/tests/*.trig) through vscode-tmgrammar-test.

usage: grammar_test.py EDITORS_VSCODE_DIR

The tool is an npm package pinned in editors/vscode/package-lock.json. When its node_modules
are not installed, this runs `npm ci --offline` (the npm cache only), then if need be `npm ci`
(the npm registry, the versions of the lock file); when npm is missing or both fail, the test
is skipped (exit 77) and says why. It also checks that the tool
does fail on a wrong assertion, so a passing run means something.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
root = os.path.abspath(sys.argv[1])
tool = os.path.join(root, "node_modules", ".bin", "vscode-tmgrammar-test")
grammar = os.path.join(root, "trig.tmLanguage.json")


def skip(why):
    print("SKIPPED: " + why)
    sys.exit(SKIP)


if not os.path.exists(tool):
    if shutil.which("npm") is None or shutil.which("node") is None:
        skip("node and npm are needed for the grammar tests (Node 20 or later)")
    for offline in (["--offline"], []):
        p = subprocess.run(["npm", "ci", *offline, "--no-audit", "--no-fund"], cwd=root,
                           capture_output=True, timeout=300)
        if p.returncode == 0 and os.path.exists(tool):
            break
    else:
        skip("editors/vscode/node_modules is not installed and `npm ci` could not install it "
             "(from the npm cache or the registry): " + p.stderr.decode(errors="replace")[-500:])
if shutil.which("node") is None:
    skip("node is needed for the grammar tests")

tests = sorted(os.path.join(root, "tests", f) for f in os.listdir(os.path.join(root, "tests"))
               if f.endswith(".trig"))
if not tests:
    print("FAIL: no grammar tests in editors/vscode/tests")
    sys.exit(1)
p = subprocess.run([tool, "-c", "-g", grammar] + tests, cwd=root, capture_output=True, text=True,
                   timeout=120)
print(p.stdout + p.stderr)
if p.returncode != 0:
    print("FAIL: the grammar tests failed")
    sys.exit(1)

# A wrong assertion must fail.
with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "bad.trig")
    with open(bad, "w") as f:
        f.write('# SYNTAX TEST "source.trig" "must fail"\n'
                "when cart_add\n"
                "# <---- comment.line.number-sign.trig\n")
    q = subprocess.run([tool, "-c", "-g", grammar, bad], capture_output=True, text=True,
                       timeout=120)
    if q.returncode == 0:
        print("FAIL: vscode-tmgrammar-test accepted a wrong assertion")
        sys.exit(1)
print("grammar: %d test files passed" % len(tests))
