import json, os
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance")
def T(s):
    # "d1 10:00" or "d1 10:00:05" -> 2026-03-01 + (n-1) days
    d, hm = s.split()
    day = int(d[1:])
    if hm.count(":") == 1: hm += ":00"
    import datetime
    base = datetime.date(2026, 3, 1) + datetime.timedelta(days=day - 1)
    return f"{base.isoformat()}T{hm}Z"
def ident(t, user, **traits):
    return {"type": "identify", "userId": user, "timestamp": T(t), "traits": traits}
def ev(t, name, user, mid=None, **props):
    o = {"type": "track", "event": name, "userId": user, "timestamp": T(t), "properties": props}
    if mid: o["messageId"] = mid
    return o
def emails(t, *users, **extra):
    return [ident(t, u, email=f"{u}@example.com", **extra) for u in users]
def case(name, rules, events, expected, explain=None, bad=None, raw_lines=None):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "rules.trig"), "w").write(rules.strip() + "\n")
    lines = [l if isinstance(l, str) else json.dumps(l, separators=(",", ":")) for l in events]
    open(os.path.join(d, "events.jsonl"), "w").write("\n".join(lines) + "\n")
    rows = []
    for e in expected:
        t, c, r, tm = e[:4]
        row = [T(t), c, r, tm] + list(e[4:])
        rows.append("\t".join(row))
    open(os.path.join(d, "expected.tsv"), "w").write("".join(r + "\n" for r in rows))
    if explain is not None:
        json.dump(explain, open(os.path.join(d, "explain.json"), "w"))
        open(os.path.join(d, "explain.json"), "a").write("\n")
    if bad is not None:
        json.dump({"stderr_mentions_lines": bad}, open(os.path.join(d, "bad.json"), "w"))
        open(os.path.join(d, "bad.json"), "a").write("\n")
def explain(*sup, args=None):
    return {"args": ["--explain"] + (args or []), "suppressed": [list(s) for s in sup]}
