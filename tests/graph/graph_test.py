#!/usr/bin/env python3
"""End-to-end checks of `trig graph` (docs/graph.md).

The DOT of every example is read back structurally (nodes, edges, labels; not compared as a
snapshot) and checked for the flow it must show; the SVG is well-formed XML carrying the rules'
labels; the counts drawn with --events are those of `trig report --format json` on the same
events; an unknown --rule is an error with a suggestion; two runs give the same bytes; the
flowcharts committed under docs/graphs/ are the ones the current build draws.

usage: graph_test.py TRIG [--update-docs]   (--update-docs rewrites docs/graphs/)
"""
import datetime, json, os, re, subprocess, sys, tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

trig = os.path.abspath(sys.argv[1])
update = "--update-docs" in sys.argv[2:]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
examples = os.path.join(root, "examples")
docs_graphs = os.path.join(root, "docs", "graphs")




def run(args, binary=False, stdin=None):
    return subprocess.run([trig] + args, capture_output=True, text=not binary, timeout=120,
                          input=stdin)


# ---- reading DOT back -----------------------------------------------------------------------

QUOTED = r'"((?:[^"\\]|\\.)*)"'


def unescape(s):
    """A DOT string's text: Graphviz's backslash escapes, and `&amp;` (trig writes a literal `&`
    so, since Graphviz reads `&name;` in labels as an HTML entity)."""
    s = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s)
    return s.replace("&amp;", "&")


def attr(rest, name):
    m = re.search(r"\b" + name + "=" + QUOTED, rest)
    return unescape(m.group(1)) if m else None


class Dot:
    def __init__(self, text):
        self.clusters, self.labels, self.edges = [], {}, []
        for line in text.splitlines():
            s = line.strip()
            if s.startswith("label="):
                self.clusters.append(unescape(re.match("label=" + QUOTED, s).group(1)))
                continue
            m = re.match(QUOTED + " -> " + QUOTED + "(.*)$", s)
            if m:
                self.edges.append((m.group(1), m.group(2), attr(m.group(3), "label") or ""))
                continue
            m = re.match(QUOTED + r" \[(.*)\];$", s)
            if m:
                self.labels[m.group(1)] = attr(m.group(2), "label")

    def node(self, first_line):
        """The one node whose label's first line is `first_line`."""
        ids = [i for i, l in self.labels.items() if l.split("\n")[0] == first_line]
        if len(ids) != 1:
            raise AssertionError(f"{len(ids)} nodes labelled {first_line!r}: {self.labels}")
        return ids[0]

    def edge(self, a, b):
        return [label for x, y, label in self.edges if x == a and y == b]

    def out(self, a):
        return [(y, label) for x, y, label in self.edges if x == a]


def dot_of(args):
    r = run(["graph"] + args)
    if r.returncode != 0:
        raise AssertionError(f"trig graph {args}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def rules_of(name):
    return os.path.join(examples, name, "rules.trig")


# ---- the examples' flows --------------------------------------------------------------------

def test_cart():
    d = Dot(dot_of([rules_of("cart_abandonment")]))
    check("cart: one cluster, the rule's name, title and priority",
          d.clusters == ["trigger cart_abandon\nCart abandonment\npriority 2"], d.clusters)
    try:
        trigger = d.node("when cart_add")
        idle = d.node("wait: idle 15m")
        unless = d.node("unless purchased within 30d")
        first = d.node("step 1: send cart_reminder")
        wait = d.node("after 24h")
        step_unless = d.node("unless purchased")
        second = d.node("step 2: send cart_followup")
        goal = d.node("goal purchased within 3d")
        not_fired = d.node("not fired")
    except AssertionError as e:
        check("cart: the nodes", False, e)
        return
    check("cart: the binding under its send",
          d.labels[second].split("\n")[1] == "with last_viewed_category = last(product_view).category",
          d.labels[second])
    check("cart: trigger -> idle wait -> exclusion", d.edge(trigger, idle) and d.edge(idle, unless))
    check("cart: the exclusion's exit", d.edge(unless, not_fired) == ["holds"], d.edges)
    check("cart: the exclusion's way on fires the flow", d.edge(unless, first) == ["no\nfires"],
          d.edge(unless, first))
    check("cart: step 1 -> 24h wait -> the step's unless -> step 2",
          d.edge(first, wait) and d.edge(wait, step_unless) and d.edge(step_unless, second),
          d.edges)
    check("cart: the step's unless skips the send",
          any(label == "holds: skipped" for _, label in d.out(step_unless)), d.out(step_unless))
    check("cart: both sends lead to the goal", d.edge(first, goal) and d.edge(second, goal))


def test_browse():
    d = Dot(dot_of([rules_of("browse_abandonment")]))
    try:
        trigger = d.node("when product_view as v")
        u1 = d.node("unless cart_add(same product_id) within 7d")
        u2 = d.node("unless purchased(product_id == v.product_id) within 30d")
        send = d.node("step 1: send browse_reminder")
    except AssertionError as e:
        check("browse: the nodes", False, e)
        return
    check("browse: the anchor's condition on the trigger",
          d.labels[trigger] == "when product_view as v\nand count(product_view(same product_id)) within 7d >= 3",
          d.labels[trigger])
    check("browse: exclusions in source order", d.edge(trigger, u1) and d.edge(u1, u2)
          and d.edge(u2, send) == ["no\nfires"], d.edges)
    check("browse: priority in the cluster label", d.clusters == ["trigger browse_abandon\npriority 1"],
          d.clusters)


def test_timing():
    d = Dot(dot_of([rules_of("reminder_timing")]))
    try:
        trigger = d.node("when checkout_start")
        idle = d.node("wait: idle 30m")
        split = d.node("step 1: split delay")
        fast = d.node("after 1h")
        slow = d.node("after 3h")
    except AssertionError as e:
        check("timing: the nodes", False, e)
        return
    check("timing: trigger -> idle -> split", d.edge(trigger, idle) and d.edge(idle, split) == ["no activity\nfires"],
          d.edges)
    check("timing: the arms with their percentages",
          d.edge(split, fast) == ["50% fast"] and d.edge(split, slow) == ["50% slow"], d.out(split))
    sends = [y for y, _ in d.out(fast) + d.out(slow)]
    check("timing: each arm sends the nudge as step 2",
          len(sends) == 2 and all(d.labels[s] == "step 2: send checkout_nudge" for s in sends),
          [d.labels.get(s) for s in sends])


def test_priorities():
    d = Dot(dot_of([rules_of("priorities")]))
    check("priorities: the three rules in declaration order",
          [c.split("\n")[0] for c in d.clusters] ==
          ["trigger cart_abandon", "trigger browse_abandon", "trigger reminder_timing"], d.clusters)
    one = Dot(dot_of([rules_of("priorities"), "--rule", "browse_abandon"]))
    check("--rule draws one rule", one.clusters == ["trigger browse_abandon\npriority 1"],
          one.clusters)


def test_errors_and_determinism():
    r = run(["graph", rules_of("priorities"), "--rule", "cart_abandn"])
    check("unknown --rule: exit 2", r.returncode == 2, r.returncode)
    check("unknown --rule: did you mean",
          "no rule named 'cart_abandn'; did you mean 'cart_abandon'?" in r.stderr, r.stderr)
    check("unknown --rule: nothing on stdout", r.stdout == "", r.stdout)
    r = run(["graph", rules_of("priorities"), "--data", os.path.join(here, "no-such-store")])
    check("a missing store: exit 2 with a message", r.returncode == 2 and "trig graph:" in r.stderr,
          r.stderr)
    r = run(["graph", rules_of("priorities"), "--events", os.path.join(here, "no-such-events.jsonl")])
    check("missing events: exit 2 with the file named",
          r.returncode == 2 and "no-such-events.jsonl" in r.stderr and r.stdout == "", r.stderr)
    r = run(["graph", rules_of("priorities"), "--events", "x.jsonl", "--data", "d"])
    check("--events and --data: exit 2", r.returncode == 2 and "not both" in r.stderr, r.stderr)
    events = os.path.join(examples, "priorities", "events.jsonl")
    with open(events) as f:
        piped = run(["graph", rules_of("priorities"), "--events", "-"], stdin=f.read())
    check("--events - reads standard input",
          piped.returncode == 0 and piped.stdout == run(["graph", rules_of("priorities"), "--events", events]).stdout
          and "sent" in piped.stdout, piped.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.trig")
        with open(bad, "w") as f:
            f.write("trigger x:\n  when cart_add\n  send nowhere\n")
        r = run(["graph", bad])
        check("broken rules: exit 1 with the diagnostics",
              r.returncode == 1 and "bad.trig:3" in r.stderr and r.stdout == "", r.stderr)
        out = os.path.join(tmp, "x.svg")
        r = run(["graph", rules_of("cart_abandonment"), "--format", "svg", "-o", out])
        check("-o writes the file", r.returncode == 0 and os.path.getsize(out) > 0, r.stderr)
        r = run(["graph", rules_of("cart_abandonment"), "-o", os.path.join(tmp, "none", "x.dot")])
        check("a write error is an error", r.returncode == 2 and "cannot write" in r.stderr,
              r.stderr)
    counted = ["--events", os.path.join(examples, "priorities", "events.jsonl")]
    for fmt in ("dot", "svg", "png"):
        a = run(["graph", rules_of("priorities"), "--format", fmt] + counted, binary=True)
        b = run(["graph", rules_of("priorities"), "--format", fmt] + counted, binary=True)
        check(f"{fmt}: two runs, the same bytes", a.returncode == 0 and a.stdout == b.stdout
              and len(a.stdout) > 0, a.stderr)
    png = run(["graph", rules_of("cart_abandonment"), "--format", "png"], binary=True)
    check("png: a PNG", png.stdout[:8] == b"\x89PNG\r\n\x1a\n", png.stdout[:8])


def svg_texts(svg):
    root_el = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root_el.iter("{http://www.w3.org/2000/svg}text")]


def test_svg():
    r = run(["graph", rules_of("cart_abandonment"), "--format", "svg"])
    try:
        texts = svg_texts(r.stdout)
    except ET.ParseError as e:
        check("svg: well-formed XML", False, e)
        return
    check("svg: well-formed XML", True)
    for label in ("when cart_add", "step 1: send cart_reminder", "after 24h",
                  "unless purchased within 30d", "goal purchased within 3d",
                  "with last_viewed_category = last(product_view).category"):
        check(f"svg: carries {label!r}", label in texts, texts)


# ---- counts against `trig report` -----------------------------------------------------------

def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_events(path):
    """Customers for all three rules of examples/priorities: both arms of the split, cart
    reminders some of which convert (their follow-up then suppressed `converted`), customers
    without an address (`no_email`), and product views for the browse reminder."""
    base = 1772438400  # 2026-03-02T08:00:00Z
    lines = []

    def track(c, event, t, **props):
        lines.append({"type": "track", "userId": c, "event": event, "timestamp": ts(t), "properties": props})

    for i in range(60):
        c = f"g{i}"
        t = base + i * 600
        if i % 7 != 0:
            lines.append({"type": "identify", "userId": c, "timestamp": ts(t),
                          "traits": {"email": f"{c}@example.com", "first_name": "Kim"}})
        track(c, "checkout_start", t + 1, cart_value=20)
        if i % 4 == 0:
            start = t + 9 * 3600
            track(c, "cart_add", start, product_id="p1", product_name="Lamp", price=30)
            if i % 8 == 0:
                track(c, "purchased", start + 20 * 3600, order_id=f"o{i}", revenue=30)
        if i % 5 == 0:
            for k in range(3):
                track(c, "product_view", t + 2 * 86400 + k * 60, product_id="p9", product_name="Chair",
                      category="home", price=80)
    lines.sort(key=lambda e: e["timestamp"])
    with open(path, "w") as f:
        for e in lines:
            f.write(json.dumps(e) + "\n")


def first_number(label, suffix):
    for line in label.split("\n"):
        m = re.fullmatch(r"(\d+) " + suffix, line)
        if m:
            return int(m.group(1))
    return None


def test_counts(rules, events, name):
    rep = run(["report", rules, "--events", events, "--format", "json"])
    g = run(["graph", rules, "--events", events])
    if rep.returncode != 0 or g.returncode != 0:
        check(f"counts {name}: report and graph run", False, rep.stderr + g.stderr)
        return
    report = json.loads(rep.stdout)
    d = Dot(g.stdout)
    clusters = [c.split("\n")[0] for c in d.clusters]
    for rule in report["rules"]:
        rn = rule["name"]
        prefix = f"r{clusters.index('trigger ' + rn)}_"
        nodes = {i: l for i, l in d.labels.items() if i.startswith(prefix)}
        edges = [e for e in d.edges if e[0].startswith(prefix)]
        fires = [l for _, _, l in edges if l.split("\n")[-2:-1] == ["fires"]]
        check(f"counts {name}/{rn}: the firings on the edge into the flow",
              fires and all(l.split("\n")[-1] == str(rule["fired"]) for l in fires), (fires, rule["fired"]))
        sends = {i: l for i, l in nodes.items() if re.match(r"step [\d/]+: send ", l)}
        sent = sum(first_number(l, "sent") or 0 for l in sends.values())
        check(f"counts {name}/{rn}: sends", sent == rule["sent"], (sent, rule["sent"]))
        suppressed = {}
        for l in sends.values():
            for line in l.split("\n"):
                m = re.fullmatch(r"(\d+) suppressed: (\w+)", line)
                if m:
                    suppressed[m.group(2)] = suppressed.get(m.group(2), 0) + int(m.group(1))
        expected = {k: v for k, v in rule["suppressed"].items() if k != "holdout"}
        check(f"counts {name}/{rn}: suppressions by reason", suppressed == expected, (suppressed, expected))
        # Per step: each send node against the report's rows of its template and step numbers.
        for i, l in sends.items():
            m = re.match(r"step ([\d/]+): send (\w+)", l)
            steps = {int(s) for s in m.group(1).split("/")}
            rows = [s for s in rule["steps"] if s["template"] == m.group(2) and s["step"] in steps]
            # Two sends of one template at one step number (a split's arms) share the report's
            # rows: only nodes that are alone with their rows are compared one by one.
            twins = [j for j, k in sends.items() if k.split("\n")[0] == l.split("\n")[0]]
            if len(twins) == 1:
                want = sum(s["sent"] for s in rows)
                check(f"counts {name}/{rn}: {l.split(chr(10))[0]} sent", first_number(l, "sent") == want,
                      (l, want))
        if rule["goal"]:
            goal = [l for l in nodes.values() if l.startswith("goal ")]
            check(f"counts {name}/{rn}: conversions on the goal",
                  len(goal) == 1 and first_number(goal[0], "converted") == rule["converted"], (goal, rule["converted"]))
            goal_id = [i for i, l in nodes.items() if l.startswith("goal ")][0]
            attributed = sum(first_number(l, "converted") or 0 for _, b, l in edges if b == goal_id)
            want = sum(s["converted_messages"] or 0 for s in rule["steps"] if s["template"])
            want += sum(v["converted"] for sp in rule["splits"] for v in sp["variants"] if v["holdout"])
            check(f"counts {name}/{rn}: conversions on the edges into the goal", attributed == want,
                  (attributed, want))
        for split in rule["splits"]:
            sid = [i for i, l in nodes.items() if re.fullmatch(r"step [\d/]+: split " + split["name"], l)]
            arms = {}
            for a, b, label in edges:
                if sid and a == sid[0]:
                    arms[label.split("\n")[0].split(" ", 1)[1]] = label
            for v in split["variants"]:
                check(f"counts {name}/{rn}: variant {v['name']} entered",
                      arms.get(v["name"], "").split("\n")[-1] == str(v["entered"]), (arms, v))


def test_data(events):
    """--data: a live store's log gives the counts its events give with --events, read while
    the service runs."""
    import base64, http.client, signal, time
    rules = rules_of("priorities")
    env = dict(os.environ, TRIG_WRITE_KEY="wk", TRIG_ADMIN_KEY="ak", TRIG_TRACKING_SECRET="ts")
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen([trig, "serve", rules, "--data", data, "--listen", "127.0.0.1:0",
                                 "--clock", "manual"], stderr=subprocess.PIPE, text=True, env=env)
        try:
            port = None
            deadline = time.time() + 60
            while time.time() < deadline and port is None:
                line = proc.stderr.readline()
                if not line:
                    break
                m = re.search(r"listening on http://[^:]+:(\d+)", line)
                port = int(m.group(1)) if m else None
            if port is None:
                check("--data: trig serve starts", False)
                return
            # The service stamps events with its clock: it is set to each event's time first.
            def post(path, body, auth):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", path, body=body.encode(), headers={"Authorization": auth})
                r = c.getresponse()
                r.read()
                return r.status

            write = "Basic " + base64.b64encode(b"wk:").decode()
            statuses = set()
            with open(events) as f:
                for line in f:
                    if not line.strip():
                        continue
                    stamp = json.loads(line)["timestamp"]
                    statuses.add(post("/v1/admin/clock", json.dumps({"now": stamp}), "Bearer ak"))
                    statuses.add(post("/v1/batch", '{"batch":[' + line.strip() + "]}", write))
            check("--data: the events accepted", statuses == {200}, statuses)
            live = run(["graph", rules, "--data", data])
            replay = run(["graph", rules, "--events", events])
            check("--data: the live store's counts are the replay's",
                  live.returncode == 0 and live.stdout == replay.stdout and "sent" in live.stdout,
                  live.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_docs_graphs():
    """docs/graphs/<example>.dot and .svg are what this build draws (--update-docs rewrites)."""
    names = sorted(n for n in os.listdir(examples) if os.path.isfile(rules_of(n)))
    for n in names:
        dot = run(["graph", rules_of(n)])
        svg = run(["graph", rules_of(n), "--format", "svg"])
        for ext, out in (("dot", dot.stdout), ("svg", svg.stdout)):
            path = os.path.join(docs_graphs, f"{n}.{ext}")
            if update:
                with open(path, "w") as f:
                    f.write(out)
                print(f"wrote {path}")
                continue
            try:
                with open(path) as f:
                    committed = f.read()
            except OSError as e:
                check(f"docs/graphs/{n}.{ext} exists", False, e)
                continue
            if ext == "svg":
                version = lambda s: (re.search(r"Generated by graphviz version ([^\s]+)", s) or [None, None])[1]
                if version(committed) != version(out):
                    print(f"skip docs/graphs/{n}.svg: drawn by Graphviz {version(committed)}, "
                          f"this build has {version(out)} (the .dot is still compared)")
                    continue
            check(f"docs/graphs/{n}.{ext} is current (tests/graph/graph_test.py TRIG --update-docs)",
                  committed == out)


def test_svg_independent_of_the_path():
    """Graphviz keeps clusters in the order of their IDs, which by default are the addresses of
    their names: the same rules given by another path (so another heap) drew another SVG."""
    import shutil
    here_svg = run(["graph", rules_of("priorities"), "--format", "svg"]).stdout
    differ = []
    with tempfile.TemporaryDirectory() as tmp:
        for depth in range(1, 9):
            deep = os.path.join(tmp, *(["d" * depth] * depth), "priorities")
            shutil.copytree(os.path.join(examples, "priorities"), deep)
            there = run(["graph", os.path.join(deep, "rules.trig"), "--format", "svg"]).stdout
            if there != here_svg:
                differ.append(deep)
    check("svg: the same picture whatever path names the rules",
          here_svg != "" and not differ, differ)


def main():
    test_cart()
    test_browse()
    test_timing()
    test_priorities()
    test_errors_and_determinism()
    test_svg()
    test_svg_independent_of_the_path()
    for n in ("cart_abandonment", "browse_abandonment", "reminder_timing", "priorities"):
        test_counts(rules_of(n), os.path.join(examples, n, "events.jsonl"), n)
    with tempfile.TemporaryDirectory() as tmp:
        events = os.path.join(tmp, "events.jsonl")
        generated_events(events)
        test_counts(rules_of("priorities"), events, "generated")
        test_data(events)
    test_docs_graphs()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
