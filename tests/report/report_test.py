#!/usr/bin/env python3
"""End-to-end checks of `trig report` from a replay (docs/report.md).

A seeded generator makes customers for the `checkout` rule of rules.trig (a `split` of two
delays and a goal), decides exactly which customers of each variant buy (the variant is the
spec's FNV-1a bucket, computed here), replays once with `trig run` to learn the message ids,
adds email_open / email_click / email_bounce / unsubscribe events for chosen messages, and then
checks `trig report --format json` against counts and statistics computed here, the verdict
text for a clearly significant and a non-significant case, the text table, and that the html
page is well-formed and self-contained.

usage: report_test.py TRIG
"""
import datetime, html.parser, json, math, os, random, subprocess, sys, tempfile
from statistics import NormalDist

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from splits import variant_of  # noqa: E402

trig = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
rules = os.path.join(here, "rules.trig")
Z = 1.959963984540054
ZB = 0.8416212335729143




def run(args, stdin=None):
    return subprocess.run([trig] + args, capture_output=True, text=True, input=stdin, timeout=120)


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wilson(x, n):
    p = x / n
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z / d * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, c - h), min(1.0, c + h)


def ztest(x1, n1, x2, n2):
    pp = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2))
    z = (x2 / n2 - x1 / n1) / se
    return z, 2 * (1 - NormalDist().cdf(abs(z)))


def sample_size(p, d):
    p1, p2 = p, p + d
    if p2 > 1:
        p2 = p - d
    b = (p1 + p2) / 2
    n = (Z * math.sqrt(2 * b * (1 - b)) + ZB * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / d ** 2
    return math.ceil(n - 1e-9)


def fmt_p(p):
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.1 else f"p = {p:.3f}"


def scenario(tag, seed, customers, buy_share):
    """Events for `customers` customers; buy_share[variant] of each variant's customers buy."""
    rng = random.Random(seed)
    t0 = int(datetime.datetime(2026, 3, 1, 8, tzinfo=datetime.timezone.utc).timestamp())
    ids = [f"{tag}{i:04d}" for i in range(customers)]
    by_variant = {"fast": [], "slow": []}
    for c in ids:
        by_variant[variant_of(c)].append(c)
    buyers = set()
    for v, cs in by_variant.items():
        buyers.update(rng.sample(cs, round(len(cs) * buy_share[v])))
    lines = []
    for i, c in enumerate(ids):
        lines.append({"type": "identify", "userId": c, "timestamp": ts(t0),
                      "traits": {"email": f"{c}@example.com"}})
    for i, c in enumerate(ids):
        start = t0 + 60 + i
        lines.append({"type": "track", "event": "checkout_start", "userId": c,
                      "timestamp": ts(start), "properties": {}})
        if c in buyers:  # after both delays, within the goal's day
            lines.append({"type": "track", "event": "purchased", "userId": c,
                          "timestamp": ts(start + 5 * 3600), "properties": {"order_id": f"o-{c}"}})
    lines.sort(key=lambda l: l["timestamp"])  # stable: identify before track at equal stamps
    return ids, by_variant, buyers, lines, t0


def write(path, lines):
    with open(path, "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")


tmp = tempfile.mkdtemp(prefix="trig-report-test-")

# --- Scenario 1: fast clearly converts better (40% vs 10%), with engagement events -------------
ids, by_variant, buyers, lines, t0 = scenario("s", 1, 400, {"fast": 0.40, "slow": 0.10})
ev1 = os.path.join(tmp, "events1.jsonl")
write(ev1, lines)
p = run(["run", rules, "--events", ev1])
check("trig run exit 0", p.returncode == 0, p.stderr)
sends = [json.loads(l) for l in p.stdout.splitlines()]
check("every customer got one nudge", len(sends) == len(ids), len(sends))
check("the sends carry the variant the spec's bucket gives",
      all(s["variant"] == variant_of(s["customer"]) for s in sends))

rng = random.Random(7)
t_eng = t0 + 12 * 3600
engagement = []
opened, clicked, bounced, unsub = set(), set(), set(), set()
for s in sends:
    mid, c = s["message_id"], s["customer"]
    if rng.random() < 0.6:
        opened.add(mid)
        for _ in range(rng.randint(1, 3)):  # repeated opens count once
            engagement.append({"type": "track", "event": "email_open", "userId": c,
                               "timestamp": ts(t_eng), "properties": {"message_id": mid}})
        if rng.random() < 0.5:
            clicked.add(mid)
            engagement.append({"type": "track", "event": "email_click", "userId": c,
                               "timestamp": ts(t_eng + 1),
                               "properties": {"message_id": mid, "url": "https://shop.example/cart"}})
    elif rng.random() < 0.05:
        bounced.add(mid)
        engagement.append({"type": "track", "event": "email_bounce", "userId": c,
                           "timestamp": ts(t_eng), "properties": {"message_id": mid, "kind": "hard"}})
    elif rng.random() < 0.05:
        unsub.add(mid)  # no message id: the customer's latest send takes it
        engagement.append({"type": "track", "event": "unsubscribe", "userId": c,
                           "timestamp": ts(t_eng), "properties": {}})
# An open of a message this replay never sent.
engagement.append({"type": "track", "event": "email_open", "userId": "nobody",
                   "timestamp": ts(t_eng), "properties": {"message_id": "no-such-message"}})
ev2 = os.path.join(tmp, "events2.jsonl")
write(ev2, sorted(lines + engagement, key=lambda l: l["timestamp"]))

p = run(["report", rules, "--events", ev2, "--format", "json", "--engine", "interp"])
check("report json exit 0", p.returncode == 0, p.stderr)
rep = json.loads(p.stdout)
check("one rule", [r["name"] for r in rep["rules"]] == ["checkout"], rep["rules"])
rule = rep["rules"][0]
variant_of_mid = {s["message_id"]: s["variant"] for s in sends}
n = {v: len(cs) for v, cs in by_variant.items()}
conv = {v: len([c for c in cs if c in buyers]) for v, cs in by_variant.items()}
check("fired", rule["fired"] == len(ids), rule["fired"])
check("converted", rule["converted"] == len(buyers), (rule["converted"], len(buyers)))
check("sent = delivered", rule["sent"] == len(sends) and rule["delivered"] == len(sends))
check("unique opens", rule["opened"] == len(opened), (rule["opened"], len(opened)))
check("unique clicks", rule["clicked"] == len(clicked), (rule["clicked"], len(clicked)))
check("bounces", rule["bounced"] == len(bounced), (rule["bounced"], len(bounced)))
check("unsubscribes", rule["unsubscribed"] == len(unsub), (rule["unsubscribed"], len(unsub)))
check("open rate", abs(rule["open_rate"] - len(opened) / len(sends)) < 1e-6, rule["open_rate"])
check("engagement events counted",
      rep["engagement"] == {"opens": sum(1 for e in engagement if e["event"] == "email_open"),
                            "clicks": len(clicked), "unsubscribes": len(unsub),
                            "bounces": len(bounced), "unmatched": 1}, rep["engagement"])
hours = {}
for s in sends:
    h = s["time"][:13] + ":00:00Z"
    hours[h] = hours.get(h, 0) + 1
series = rule["sends_over_time"]
check("sends over time: hourly buckets", rep["bucket"] == "1h", rep["bucket"])
check("sends over time: counts per hour, empty hours included",
      {t: n for t, n in series if n} == hours and len(series) == len(set(t for t, _ in series))
      and series[0][0] == min(hours) and series[-1][0] == max(hours), (series, hours))
steps = [(s["step"], s["variant"], s["template"]) for s in rule["steps"]]
check("step rows: step 2 of each variant, declaration order",
      steps == [(2, "fast", "nudge"), (2, "slow", "nudge")], steps)
for s in rule["steps"]:
    v = s["variant"]
    mids = {m for m, vv in variant_of_mid.items() if vv == v}
    check(f"step row {v}: conversions of its sends", s["converted_messages"] == conv[v], (s, conv))
    check(f"step row {v}: sent/opened/clicked",
          (s["sent"], s["opened"], s["clicked"]) == (n[v], len(opened & mids), len(clicked & mids)), s)
split = rule["splits"][0]
check("split name and variants", split["name"] == "delay"
      and [v["name"] for v in split["variants"]] == ["fast", "slow"], split)
fast, slow = split["variants"]
for v in (fast, slow):
    name = v["name"]
    check(f"{name}: entered and converted", (v["entered"], v["converted"]) == (n[name], conv[name]), v)
    check(f"{name}: conversion rate", abs(v["conversion_rate"] - conv[name] / n[name]) < 1e-6, v)
    lo, hi = wilson(conv[name], n[name])
    check(f"{name}: Wilson interval", abs(v["conversion_ci"][0] - lo) < 1e-6
          and abs(v["conversion_ci"][1] - hi) < 1e-6, (v["conversion_ci"], lo, hi))
z, pv = ztest(conv["fast"], n["fast"], conv["slow"], n["slow"])
t = slow["vs_first"]["conversion_test"]
check("z-test against the first variant", abs(t["z"] - z) < 1e-5 and abs(t["p"] - pv) < 1e-6, (t, z, pv))
check("first variant has no comparison", fast["vs_first"] is None, fast["vs_first"])
rf, rs = conv["fast"] / n["fast"], conv["slow"] / n["slow"]
check("scenario 1 is significant (precondition)", pv < 0.05, pv)
want = f"fast converts better than slow: {rf * 100:.1f}% vs {rs * 100:.1f}%, {fmt_p(pv)}"
check("significant verdict", split["verdicts"] == [want], (split["verdicts"], want))

p2 = run(["report", rules, "--events", ev2, "--format", "json"])
check("jit and interp agree, byte for byte", p2.returncode == 0 and p2.stdout == p.stdout, p2.stderr)

p = run(["report", rules, "--events", ev2])
check("text exit 0", p.returncode == 0, p.stderr)
check("text has the verdict line", f"    verdict: {want}\n" in p.stdout, p.stdout)
check("text has the rule header", 'rule checkout "Checkout nudge"\n' in p.stdout, p.stdout)
header = [l for l in p.stdout.splitlines() if l.strip().startswith("step")]
check("text step table header", bool(header) and header[0].split()[:5] == ["step", "template", "variant", "sent", "delivered"], header)

# --- HTML: well-formed and self-contained ------------------------------------------------------
out_html = os.path.join(tmp, "report.html")
p = run(["report", rules, "--events", ev2, "--format", "html", "--output", out_html])
check("html exit 0 and nothing on stdout", p.returncode == 0 and p.stdout == "", p.stderr)
page = open(out_html).read() if os.path.exists(out_html) else ""
VOID = {"meta", "br", "img", "hr", "input", "link", "rect", "line", "circle", "path"}


class Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags, self.external = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action") and v and ("//" in v or v.startswith("http")):
                self.external.append((tag, k, v))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href", "xlink:href") and v:
                self.external.append((tag, k, v))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


ch = Checker()
ch.feed(page)
ch.close()
check("html is well-formed", page.startswith("<!DOCTYPE html>") and not ch.errors and not ch.stack,
      (ch.errors[:5], ch.stack))
check("html draws svg charts", "svg" in ch.tags and "rect" in ch.tags, ch.tags)
check("html has no script, no external resource",
      "script" not in ch.tags and "link" not in ch.tags and not ch.external
      and "http://" not in page and "@import" not in page, ch.external)
check("html shows the verdict", html.escape(want) in page, want)

# --- Scenario 2: the same rate in both variants: no significant difference --------------------
ids, by_variant, buyers, lines, t0 = scenario("n", 2, 200, {"fast": 0.10, "slow": 0.10})
ev3 = os.path.join(tmp, "events3.jsonl")
write(ev3, lines)
p = run(["report", rules, "--events", "-", "--format", "json"], stdin=open(ev3).read())
check("report from standard input exit 0", p.returncode == 0, p.stderr)
rep = json.loads(p.stdout) if p.returncode == 0 else {"rules": [{"splits": [{"verdicts": []}]}]}
n = {v: len(cs) for v, cs in by_variant.items()}
conv = {v: len([c for c in cs if c in buyers]) for v, cs in by_variant.items()}
z, pv = ztest(conv["fast"], n["fast"], conv["slow"], n["slow"])
check("scenario 2 is not significant (precondition)", pv >= 0.05, pv)
more = sample_size(conv["fast"] / n["fast"], 0.02) - min(n.values())
want2 = (f"no significant difference yet ({fmt_p(pv)}); about {more} more customers per variant "
         f"are needed to detect a 2-point difference")
check("non-significant verdict with the sample size still needed",
      rep["rules"][0]["splits"][0]["verdicts"] == [want2], (rep["rules"][0]["splits"][0]["verdicts"], want2))

# --- Usage errors -----------------------------------------------------------------------------
p = run(["report", "--data", tmp])
check("--data without the rules: exit 2", p.returncode == 2 and "give the rules" in p.stderr,
      p.stderr)
p = run(["report", rules, "--events", os.path.join(tmp, "missing.jsonl")])
check("missing events file: exit 2", p.returncode == 2, (p.returncode, p.stderr))

sys.exit(finish())
