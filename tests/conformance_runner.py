#!/usr/bin/env python3
"""Run conformance cases (the contract's case format: see tests/conformance/README.md) against a
built `trig` binary.

The project's copy of the contract's runner (../shared/tools/conformance.py), so that the
project's own suite runs on a clone without ../shared; the shared cases are run by the shared
runner itself (tests/conformance_shared.py).

usage: conformance_runner.py TRIG_BINARY CASES_DIR [--engine interp]
Prints one line per case and a last line 'conformance: P/N cases pass'.
"""
import json, os, re, subprocess, sys
from datetime import datetime, timezone

def ts(s):
    s = s.replace("Z", "+00:00")
    return datetime.fromisoformat(s).astimezone(timezone.utc).timestamp()

def run(cmd, cwd):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    except OSError as e:
        return 127, "", str(e)

def sends(stdout):
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("decision") == "send":
            out.append(o)
    return out

def check_run(trig, d, extra):
    ex = os.path.join(d, "explain.json")
    espec = json.load(open(ex)) if os.path.exists(ex) else None
    if espec:
        extra = extra + espec.get("args", [])
    code, out, err = run([trig, "run", "rules.trig", "--events", "events.jsonl"] + extra, d)
    if code not in (0,) and not os.path.exists(os.path.join(d, "bad.json")):
        return f"exit {code}: {err.strip()[:160]}"
    got = sends(out)
    exp = [l.rstrip("\n").split("\t") for l in open(os.path.join(d, "expected.tsv")) if l.strip()]
    def key(t, c, r, tm): return (ts(t), c, r, tm)
    try:
        gk = sorted(key(o["time"], o["customer"], o["rule"], o["template"]) for o in got)
    except Exception as e:
        return f"send lines lack fields: {e}"
    ek = sorted(key(*e[:4]) for e in exp)
    if gk != ek:
        fmt = lambda ks: [f"{datetime.fromtimestamp(k[0], timezone.utc):%m-%dT%H:%M:%S} {k[1]} {k[2]} {k[3]}" for k in ks]
        missing = [x for x in fmt(ek) if x not in fmt(gk)]
        extra_ = [x for x in fmt(gk) if x not in fmt(ek)]
        return f"sends differ: missing {missing[:4]} unexpected {extra_[:4]}"
    for e in exp:
        match = [o for o in got if key(o["time"], o["customer"], o["rule"], o["template"]) == key(*e[:4])]
        if len(e) > 4 and e[4] != "-" and not any(o.get("variant") == e[4] for o in match):
            return f"variant for {e[1]} {e[2]}: want {e[4]}, got {[o.get('variant') for o in match]}"
        if len(e) > 5 and not any(o.get("subject") == e[5] for o in match):
            return f"subject for {e[1]}: want {e[5]!r}, got {[o.get('subject') for o in match]}"
    if espec:
        sup = []
        for line in out.splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("decision") == "suppressed":
                sup.append((o.get("customer"), o.get("rule"), o.get("reason")))
        for c, r, why in espec.get("suppressed", []):
            if (c, r, why) not in sup:
                return f"no suppression ({c}, {r}, {why}) in --explain output; got {sup[:4]}"
    bad = os.path.join(d, "bad.json")
    if os.path.exists(bad):
        for n in json.load(open(bad))["stderr_mentions_lines"]:
            if not re.search(rf"(:|line ){n}\b", err):
                return f"stderr does not name bad line {n}"
    return None

def check_check(trig, d):
    spec = json.load(open(os.path.join(d, "check.json")))
    code, out, err = run([trig, "check", "rules.trig"], d)
    if code != spec["exit"]:
        return f"exit {code}, want {spec['exit']}: {(out + err).strip()[:200]}"
    for s in spec.get("stdout_contains", []):
        if s not in out + err:
            return f"diagnostics do not mention {s!r}"
    if "strict_exit" in spec:
        code, out, err = run([trig, "check", "--strict", "rules.trig"], d)
        if code != spec["strict_exit"]:
            return f"check --strict exit {code}, want {spec['strict_exit']}"
    if "error_lines" in spec:
        code, out, err = run([trig, "check", "--format", "json", "rules.trig"], d)
        try:
            doc = json.loads(out)
        except ValueError:
            return "check --format json is not JSON"
        diags = doc.get("diagnostics", doc) if isinstance(doc, dict) else doc
        lines = {x.get("line") for x in diags if x.get("severity") == "error"}
        want = set(spec["error_lines"])
        if not want <= lines:
            return f"errors on lines {sorted(lines)}, want all of {sorted(want)}"
    return None

def check_test(trig, d):
    spec = json.load(open(os.path.join(d, "test.json")))
    files = [f for f in os.listdir(d) if f.endswith(".trig")]
    code, out, err = run([trig, "test"] + files, d)
    if code != spec["exit"]:
        return f"exit {code}, want {spec['exit']}"
    if not any(l.strip().endswith(spec["summary"]) for l in (out + err).splitlines()):
        return f"no line '{spec['summary']}'"
    return None

def main():
    trig, cases = os.path.abspath(sys.argv[1]), sys.argv[2]
    extra = sys.argv[3:]
    passed = total = 0
    for name in sorted(os.listdir(cases)):
        d = os.path.join(cases, name)
        if not os.path.isdir(d):
            continue
        total += 1
        if os.path.exists(os.path.join(d, "check.json")):
            why = check_check(trig, d)
        elif os.path.exists(os.path.join(d, "test.json")):
            why = check_test(trig, d)
        else:
            why = check_run(trig, d, extra)
        passed += why is None
        print(f"{name}: {'ok' if why is None else 'FAIL ' + why}")
    print(f"conformance: {passed}/{total} cases pass")
    sys.exit(0 if passed == total else 1)

main()
