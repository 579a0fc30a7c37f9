#!/usr/bin/env python3
"""The JSON Schemas of docs/schema/ describe what trig prints (docs/language.md links them):

    python3 tests/schema/schema_test.py build/trig

Every line of `trig run --explain` on every project conformance case (both engines) must be valid
against docs/schema/run-record.schema.json, and `trig check --format json` on every golden file
against docs/schema/check.schema.json. Every suppression reason the runtime can name
(runtime/policy/reason.cpp) must be in the run-record schema, so a new reason cannot go
undocumented. Uses Debian's python3-jsonschema (scripts/install-deps.sh).
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
trig = os.path.abspath(sys.argv[1])




def schema(name):
    with open(os.path.join(ROOT, "docs", "schema", name)) as f:
        s = json.load(f)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


run_schema = schema("run-record.schema.json")
check_schema = schema("check.schema.json")

# Every reason the runtime can write is in the schema's enums.
reasons = set()
for sub in run_schema.schema["oneOf"]:
    reasons |= set(sub["properties"].get("reason", {}).get("enum", []))
with open(os.path.join(ROOT, "runtime", "policy", "reason.cpp")) as f:
    written = set(re.findall(r'return "([a-z_]+)";', f.read())) - {"none"}
check("every suppression reason is in the run-record schema", written <= reasons, sorted(written - reasons))

decisions = set()
with tempfile.TemporaryDirectory() as cache:
    env = dict(os.environ, TRIG_CACHE_DIR=cache)
    for case in sorted(glob.glob(os.path.join(ROOT, "tests", "conformance", "*", "events.jsonl"))):
        folder = os.path.dirname(case)
        for engine in ("jit", "interp"):
            p = subprocess.run([trig, "run", "rules.trig", "--events", "events.jsonl", "--explain",
                                "--engine", engine], cwd=folder, capture_output=True, text=True, env=env)
            bad = []
            for line in p.stdout.splitlines():
                if not line.startswith("{"):
                    continue
                record = json.loads(line)
                decisions.add(record.get("decision"))
                errors = list(run_schema.iter_errors(record))
                if errors:
                    bad.append(f"{line[:160]}: {errors[0].message[:200]}")
            check(f"run records of {os.path.basename(folder)} ({engine})", not bad, bad[:2])
    for golden in sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "*.trig"))):
        p = subprocess.run([trig, "check", "--format", "json", golden], capture_output=True, text=True, env=env)
        try:
            doc = json.loads(p.stdout)
            errors = [e.message[:200] for e in check_schema.iter_errors(doc)]
        except json.JSONDecodeError as e:
            errors = [f"not JSON: {e}"]
        check(f"check --format json of {os.path.basename(golden)}", not errors, errors[:2])
# The cases must exercise the schema's main branches, or the test proves little.
check("the cases print send, suppressed and dropped records", {"send", "suppressed", "dropped"} <= decisions,
      sorted(d for d in decisions if d))

sys.exit(finish("schemas: "))
