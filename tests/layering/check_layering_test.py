#!/usr/bin/env python3
"""scripts/check-layering.py on small trees made here: a clean one passes, and each kind of break
(a transitive reach into the front end, the plan's builder, a test-support header used outside
the tests, a folder cycle) fails with its include chain named.

usage: tests/layering/check_layering_test.py
"""
import os, subprocess, sys, tempfile

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "check-layering.py")

# A tree shaped like the project's: the front end (ast, sema), the plan's data and its builder,
# a runtime that reaches the plan's data only, and tests that may reach anything.
CLEAN = {
    "compiler/ast/ast.h": '#pragma once\n#include "compiler/source/source.h"\n',
    "compiler/source/source.h": "#pragma once\n",
    "compiler/sema/model.h": '#pragma once\n#include "compiler/ast/ast.h"\n',
    "compiler/core/value.h": "#pragma once\n",
    "compiler/plan/plan.h": ('#pragma once\n#include "compiler/core/value.h"\n'
                             '#include "compiler/source/source.h"\n'),
    "compiler/plan/build.h": ('#pragma once\n#include "compiler/plan/plan.h"\n'
                              '#include "compiler/sema/model.h"\n'),
    "compiler/plan/plan.cpp": '#include "compiler/plan/build.h"\n',
    "runtime/engine/engine.h": '#pragma once\n#include <vector>\n#include "compiler/plan/plan.h"\n',
    "runtime/engine/engine.cpp": '#include "runtime/engine/engine.h"\n',
    "runtime/serve/core.cpp": '#include "runtime/engine/engine.h"\n',
    "runtime/ingest/test_model.h": '#pragma once\n#include "compiler/sema/model.h"\n',
    "runtime/engine/engine_test.cpp": ('#include "compiler/plan/build.h"\n'
                                       '#include "runtime/ingest/test_model.h"\n'),
    "cli/run.cpp": '#include "compiler/plan/build.h"\n#include "runtime/engine/engine.h"\n',
}


def run(tree):
    with tempfile.TemporaryDirectory(prefix="trig-layering-") as root:
        for path, text in tree.items():
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        p = subprocess.run([sys.executable, SCRIPT, "--root", root], capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr


failures = []


def expect(name, tree, code, *needles):
    rc, out = run(tree)
    if rc != code:
        failures.append(f"{name}: exit {rc}, expected {code}:\n{out}")
        return
    for n in needles:
        if n not in out:
            failures.append(f"{name}: {n!r} not in the output:\n{out}")


expect("clean", CLEAN, 0, "no folder cycle")

# The plan's data includes the AST: every runtime file reaches it through the plan.
broken = dict(CLEAN)
broken["compiler/plan/plan.h"] = ('#pragma once\n#include "compiler/core/value.h"\n'
                                  '#include "compiler/sema/model.h"\n')
expect("transitive", broken, 1,
       "runtime/engine/engine.h:3: the runtime reaches compiler/sema/model.h",
       "runtime/engine/engine.h:3 -> compiler/plan/plan.h:3 -> compiler/sema/model.h",
       "(and 2 runtime file(s) through it)")

# A runtime file that includes the builder: allowed folder, forbidden reach.
broken = dict(CLEAN)
broken["runtime/serve/core.cpp"] = '#include "compiler/plan/build.h"\n'
expect("builder", broken, 1,
       "runtime/serve/core.cpp:1 -> compiler/plan/build.h:3 -> compiler/sema/model.h")

# A test-support header is exempt as a test, not when the runtime's own code includes it.
broken = dict(CLEAN)
broken["runtime/serve/core.cpp"] = '#include "runtime/ingest/test_model.h"\n'
expect("test support", broken, 1,
       "runtime/serve/core.cpp:1 -> runtime/ingest/test_model.h:2 -> compiler/sema/model.h")

# A direct include of the front end, deeper in a chain of three.
broken = dict(CLEAN)
broken["compiler/core/value.h"] = '#pragma once\n#include "compiler/core/ops.h"\n'
broken["compiler/core/ops.h"] = '#pragma once\n\n#include "compiler/ast/ast.h"\n'
expect("deep", broken, 1,
       "runtime/engine/engine.h:3 -> compiler/plan/plan.h:2 -> compiler/core/value.h:2 -> "
       "compiler/core/ops.h:3 -> compiler/ast/ast.h")

# A folder cycle.
broken = dict(CLEAN)
broken["compiler/core/value.h"] = '#pragma once\n#include "runtime/engine/engine.h"\n'
expect("cycle", broken, 1, "closing the folder cycle")

# And the repository itself is clean (the `layering` test says so too; here, that the script
# still reads it without --root).
p = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=120)
if p.returncode != 0:
    failures.append(f"the repository: exit {p.returncode}:\n{p.stdout}{p.stderr}")

for f in failures:
    print(f"FAIL {f}")
print(f"check_layering_test: {len(failures)} failure(s)" if failures else
      "check_layering_test: 7 trees checked as expected")
sys.exit(1 if failures else 0)
