#!/usr/bin/env python3
"""`trig report --data DIR [--since T]` on a live store (docs/report.md, SERVE.md section 7).

A `trig serve --clock manual` with tests/report/rules.trig (the `checkout` split of two delays,
goal `purchased within 1d`) gets two cohorts, each through the ingest API: period A (customers
a*, from T0) and period B (customers b*, from T1 = T0 + 2 days), both with purchases of chosen
customers and opens and clicks of chosen messages (their ids read from the outbox); in period B
also an open of an A message. Then, with serve stopped:

- `report --data` equals, byte for byte, `report --events` of `trig log export --data` (the
  one-pass report of the log and the replay of its export are one meaning);
- `report --data --since T1`: fired, sent, entered and converted per variant, opens and clicks
  of period B alone, computed here from the variant the spec's bucket gives each customer; the
  A message's open in period B is not attributed; the JSON says `"since"`;
- `--since 10h` (a duration before the log's last event, which is T1 + 10h) gives the same bytes;
- without `--since` everything is counted (both cohorts);
- usage errors: a bad `--since`, `--since` with `--events`: exit 2 with a message.

usage: data_test.py TRIG
"""
import datetime, json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from splits import variant_of  # noqa: E402

trig = os.path.abspath(sys.argv[1])
rules = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules.trig")
T0 = datetime.datetime(2026, 3, 1, 8, tzinfo=datetime.timezone.utc)
T1 = T0 + datetime.timedelta(days=2)


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args):
    return subprocess.run([trig] + args, capture_output=True, text=True, timeout=120)


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "serve"))
import serve_test  # noqa: E402  (how the tests start serve: its keys, its log drained)


class Serve(serve_test.Serve):
    def __init__(self, data):
        super().__init__([rules], data)

    def batch(self, items):
        st, body = self.post("/v1/batch", {"batch": items})
        check(f"batch of {len(items)} accepted", st == 200, str(body)[:300])

    def clock(self, t):
        st, body = super().clock(ts(t))
        check(f"clock to {ts(t)}", st == 200, body)

    def drain(self):
        st, body = super().drain()
        check("drain", st == 200, body)


def sends_in(data):
    """customer -> message id, from the outbox."""
    out = {}
    path = os.path.join(data, "outbox.jsonl")
    if os.path.exists(path):
        for line in open(path):
            rec = json.loads(line)
            out[rec["customer"]] = rec["message_id"]
    return out


def cohort(s, data, prefix, n, start, buyers_every, open_every, click_every):
    """n customers checking out at `start`; returns (customers, buyers, opened, clicked)."""
    ids = [f"{prefix}{i:03d}" for i in range(n)]
    s.clock(start)
    s.batch([{"type": "identify", "userId": c, "traits": {"email": c + "@example.com"}}
             for c in ids] +
            [{"type": "track", "event": "checkout_start", "userId": c, "properties": {}}
             for c in ids])
    s.clock(start + datetime.timedelta(hours=4))  # both delays (1h, 3h) have sent
    s.drain()
    mids = sends_in(data)
    buyers = set(ids[::buyers_every])
    s.clock(start + datetime.timedelta(hours=5))
    s.batch([{"type": "track", "event": "purchased", "userId": c,
              "properties": {"order_id": "o-" + c}} for c in sorted(buyers)])
    opened = {mids[c] for c in ids[::open_every] if c in mids}
    clicked = {mids[c] for c in ids[::click_every] if c in mids}
    s.clock(start + datetime.timedelta(hours=6))
    s.batch([{"type": "track", "event": "email_open", "userId": c,
              "properties": {"message_id": mids[c]}} for c in ids if mids.get(c) in opened] +
            [{"type": "track", "event": "email_click", "userId": c,
              "properties": {"message_id": mids[c], "url": "https://shop.example/cart"}}
             for c in ids if mids.get(c) in clicked])
    return ids, buyers, opened, clicked, mids


tmp = tempfile.mkdtemp(prefix="trig-report-data-")
data = os.path.join(tmp, "data")
s = Serve(data)
check("serve started", s.port is not None)
if s.port is None:
    sys.exit(finish())
try:
    a_ids, a_buyers, a_opened, a_clicked, mids = cohort(s, data, "a", 80, T0, 3, 2, 5)
    b_ids, b_buyers, b_opened, b_clicked, mids = cohort(s, data, "b", 60, T1, 4, 3, 4)
    check("every customer was sent a nudge", all(c in mids for c in a_ids + b_ids), len(mids))
    # Period B, later still: an open of a period-A message (not counted from T1 on).
    s.clock(T1 + datetime.timedelta(hours=10))
    s.batch([{"type": "track", "event": "email_open", "userId": a_ids[1],
              "properties": {"message_id": mids[a_ids[1]]}}])
    s.clock(T1 + datetime.timedelta(days=2))
finally:
    s.stop()

p = run(["log", "export", "--data", data])
check("log export exit 0", p.returncode == 0, p.stderr)
export = os.path.join(tmp, "export.jsonl")
with open(export, "w") as f:
    f.write(p.stdout)
whole = run(["report", rules, "--data", data, "--format", "json"])
check("report --data exit 0", whole.returncode == 0, whole.stderr)
replayed = run(["report", rules, "--events", export, "--format", "json"])
check("report --data = report --events of the log's export, byte for byte",
      whole.stdout == replayed.stdout and replayed.returncode == 0,
      (whole.stdout[:600], replayed.stdout[:600]))
for fmt in ("text", "html"):
    a = run(["report", rules, "--data", data, "--format", fmt])
    b = run(["report", rules, "--events", export, "--format", fmt])
    check(f"the same in --format {fmt}", a.returncode == 0 and a.stdout == b.stdout, a.stderr)

rep = json.loads(whole.stdout) if whole.returncode == 0 else {"rules": [{}]}
rule = rep["rules"][0]
check("without --since: both cohorts fired and were sent",
      (rule.get("fired"), rule.get("sent")) == (140, 140), (rule.get("fired"), rule.get("sent")))
check("without --since: no \"since\" key", "since" not in rep, list(rep))
check("without --since: every message opened counted (the late open of an A message too)",
      rule.get("opened") == len(a_opened) + len(b_opened) + 1, rule.get("opened"))

since = run(["report", rules, "--data", data, "--since", ts(T1), "--format", "json"])
check("--since exit 0", since.returncode == 0, since.stderr)
rep = json.loads(since.stdout) if since.returncode == 0 else {"rules": [{"splits": [{}]}]}
rule = rep["rules"][0]
check("--since: the window in the JSON", rep.get("since") == ts(T1), rep.get("since"))
check("--since: fired and sent are period B's", (rule.get("fired"), rule.get("sent"))
      == (len(b_ids), len(b_ids)), (rule.get("fired"), rule.get("sent")))
check("--since: converted is period B's buyers", rule.get("converted") == len(b_buyers),
      (rule.get("converted"), len(b_buyers)))
check("--since: opens and clicks of period B's messages only",
      (rule.get("opened"), rule.get("clicked")) == (len(b_opened), len(b_clicked)),
      (rule.get("opened"), rule.get("clicked"), len(b_opened), len(b_clicked)))
check("--since: engagement events from T1 on (the A message's open read, not attributed)",
      rep.get("engagement") == {"opens": len(b_opened) + 1, "clicks": len(b_clicked),
                                "unsubscribes": 0, "bounces": 0, "unmatched": 0},
      rep.get("engagement"))
variants = {v["name"]: v for v in rule.get("splits", [{}])[0].get("variants", [])}
for name in ("fast", "slow"):
    cs = [c for c in b_ids if variant_of(c) == name]
    v = variants.get(name, {})
    check(f"--since: {name} entered and converted are period B's",
          (v.get("entered"), v.get("converted"), v.get("sent"))
          == (len(cs), len([c for c in cs if c in b_buyers]), len(cs)), v)
check("--since: sends over time start at T1",
      bool(rule.get("sends_over_time")) and rule["sends_over_time"][0][0] >= ts(T1),
      rule.get("sends_over_time"))
check("--since: step conversions attributed", all(
    st.get("converted_messages") is not None for st in rule.get("steps", [])), rule.get("steps"))

dur = run(["report", rules, "--data", data, "--since", "10h", "--format", "json"])
check("--since 10h (before the last event, T1 + 10h) = --since T1",
      dur.returncode == 0 and dur.stdout == since.stdout, dur.stderr or dur.stdout[:300])
text = run(["report", rules, "--data", data, "--since", ts(T1)])
check("--since in text says so", text.returncode == 0 and
      f"counted from {ts(T1)} on" in text.stdout, text.stdout[:300])

p = run(["report", rules, "--data", data, "--since", "last tuesday"])
check("a bad --since: exit 2 with a message", p.returncode == 2 and "--since" in p.stderr,
      (p.returncode, p.stderr))
p = run(["report", rules, "--events", export, "--since", ts(T1)])
check("--since with --events: exit 2", p.returncode == 2 and "--since needs --data" in p.stderr,
      (p.returncode, p.stderr))

shutil.rmtree(tmp, ignore_errors=True)
sys.exit(finish())
