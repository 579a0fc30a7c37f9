#!/usr/bin/env python3
"""The `trig serve` dashboard in a real browser (docs/serve.md, "Dashboard").

`trig serve` on a free port with a temporary data directory and the manual clock gets a
generated stream: customers who start a checkout (a rule with a 1h/3h split and a goal) and add
to a cart (a rule with an HTML message); some messages are opened and clicked through the tracking
endpoints (/o/, /c/), some customers buy, one event is rejected. Then Debian's headless Chromium,
driven over the Chrome DevTools Protocol (python3-websocket), loads every dashboard page with the
admin key as the HTTP Basic password, and the test checks:

- every number the pages show (cells carry data-rule, data-step, data-variant, data-split and
  data-col) equals `trig report RULES --data DIR --format json` over a read-only open of the same
  store, and the verdicts are the report's;
- the customer lookup shows exactly what `trig explain` prints over `trig log export`;
- the dead letter shows the rejected event; no request without the key gets a page (401 with
  WWW-Authenticate, so a browser asks);
- no console error, no exception, no failed load on any page; a screenshot of each page is saved
  in OUTPUT_DIR (default: ./dashboard-screenshots).

Skipped (exit 77) when /usr/bin/chromium is absent.

usage: dashboard_test.py TRIG [OUTPUT_DIR]
"""
import base64, http.client, json, os, re, shutil, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import serve_test  # noqa: E402
from serve_test import Serve, outbox, trig, ADMIN  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
OUT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "dashboard-screenshots")
FAILURES = []

RULES = """
template nudge { subject "Your cart" body "Come back" }
trigger checkout "Checkout <reminder>":
  when checkout_start
  goal purchased within 2d
  priority 2
  split delay {
    50% fast: after 1h send reminder
    50% slow: after 3h send reminder
  }
trigger cart_nudge:
  when cart_add
  send nudge
"""
REMINDER = """Subject: Finish your order

<html><body><p>Hi, <a href="https://shop.example.com/checkout">finish it here</a>.</p></body></html>
"""
CUSTOMERS = 40


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    return cond


def at(hours, minutes=0):
    return "2026-03-02T%02d:%02d:00Z" % (8 + hours, minutes)


def write_rules(tmp):
    return serve_test.write_rule_files(tmp, RULES, {"reminder.html": REMINDER})


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def generate(s, port):
    """Posts the stream; returns how many opens and clicks went through the tracking links."""
    check(s.clock(at(0))[0] == 200, "clock to the start")
    batch = []
    for i in range(CUSTOMERS):
        c = "c%02d" % i
        batch.append({"type": "identify", "userId": c, "traits": {"email": c + "@example.com"}})
        batch.append({"type": "track", "event": "checkout_start", "userId": c})
        if i % 4 == 0:
            batch.append({"type": "track", "event": "cart_add", "userId": c,
                          "properties": {"product_id": "p%d" % i}})
    st, body = s.post("/v1/batch", {"batch": batch})
    check(st == 200, f"the batch: {st} {body}")
    # One event the rules reject: the dead letter.
    st, body = s.post("/v1/track", {"event": "cart_add", "userId": "bad<1>",
                                    "properties": {"product_id": "p1", "price": "<cheap>"}})
    check(st == 400, f"a rejected event: {st} {body}")
    check(s.clock(at(4))[0] == 200, "clock past both delays")
    check(s.drain()[0] == 200, "drain")
    base = f"http://127.0.0.1:{port}"
    opens = clicks = 0
    for n, o in enumerate(m for m in outbox(s.data) if m.get("rule") == "checkout"):
        html = o.get("html", "")
        pixel = re.search(re.escape(base) + r"(/o/[A-Za-z0-9_-]+\.gif)", html)
        link = re.search(re.escape(base) + r"(/c/[A-Za-z0-9_-]+)", html)
        if not check(pixel and link, f"tracking links in {o.get('message_id')}"):
            continue
        if n % 3 != 2:  # two thirds open, twice (unique opens count it once)
            for _ in range(2):
                st, _, _ = get(port, pixel.group(1))
                check(st == 200, "the open pixel answers")
            opens += 1
        if n % 3 == 0:
            st, h, _ = get(port, link.group(1))
            check(st == 302 and h.get("location", "").startswith("https://shop.example.com/"),
                  f"the click redirects: {st} {h}")
            clicks += 1
    for i in range(0, CUSTOMERS, 3):
        st, body = s.post("/v1/track", {"event": "purchased", "userId": "c%02d" % i,
                                        "properties": {"order_id": "o%d" % i}})
        check(st == 200, f"purchase: {st} {body}")
    check(s.clock(at(6))[0] == 200, "clock on")
    check(s.drain()[0] == 200, "drain")
    return opens, clicks


def check_metrics(s, rep, opens, clicks):
    """/metrics: opens and clicks are requests; conversions the engine's, as the report's."""
    st, text = s.request("GET", "/metrics", key=None)
    series = {}
    for line in (text.decode() if isinstance(text, bytes) else str(text)).splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
            series[(m.group(1), labels)] = float(m.group(3))

    def total(name, **want):
        return sum(v for (n, labels), v in series.items() if n == name and
                   all((k, w) in labels for k, w in want.items()))
    check(total("trig_opens_total", rule="checkout") == 2 * opens,
          f"trig_opens_total counts every pixel request: {total('trig_opens_total')} vs {2 * opens}")
    check(total("trig_clicks_total", rule="checkout") == clicks,
          f"trig_clicks_total: {total('trig_clicks_total')} vs {clicks}")
    for r in rep["rules"]:
        for sp in r["splits"]:
            for v in sp["variants"]:
                got = total("trig_conversions_total", rule=r["name"], variant=v["name"])
                check(got == v["converted"], f"trig_conversions_total {r['name']}/{v['name']}: "
                                             f"{got}, report {v['converted']}")
        got = total("trig_conversions_without_message_total", rule=r["name"])
        check(got == r["converted_without_message"],
              f"trig_conversions_without_message_total {r['name']}: {got}, "
              f"report {r['converted_without_message']}")
    check(total("trig_conversions_total") > 0, "some conversions in /metrics")


class Browser:
    """Headless Chromium and one page target, over the DevTools Protocol."""

    def __init__(self, tmp):
        import websocket  # Debian's python3-websocket
        self.profile = tempfile.mkdtemp(dir=tmp, prefix="chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--window-size=1200,900",
             "--user-data-dir=" + self.profile, "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while time.time() < deadline and not os.path.exists(port_file):
            time.sleep(0.1)
        time.sleep(0.2)
        with open(port_file) as f:
            port = int(f.readline())
        page = None
        while time.time() < deadline and page is None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/json/list")
            targets = json.loads(c.getresponse().read())
            c.close()
            page = next((t for t in targets if t.get("type") == "page"), None)
            if page is None:
                time.sleep(0.2)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.errors = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.observe(msg)

    def observe(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + json.dumps(p.get("args")))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.errors.append(f"log: {e.get('text')} {e.get('url', '')}")
        elif m == "Runtime.exceptionThrown":
            self.errors.append("exception: " + json.dumps(p.get("exceptionDetails")))
        elif m == "Network.loadingFailed":
            self.errors.append("load failed: " + json.dumps(p))
        self.events.append(m)

    def load(self, url):
        """Navigates and waits for the load event; returns the main document's HTTP status."""
        self.events = []
        status = []
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": "Page.navigate", "params": {"url": url}}))
        loaded = answered = False
        deadline = time.time() + 60
        while not (loaded and answered) and time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                answered = True
                if msg.get("result", {}).get("errorText"):
                    self.errors.append(f"navigate {url}: {msg['result']['errorText']}")
                    loaded = True
                continue
            self.observe(msg)
            if msg.get("method") == "Network.responseReceived" and \
                    msg["params"].get("type") == "Document":
                status.append(msg["params"]["response"]["status"])
            if msg.get("method") == "Page.loadEventFired":
                loaded = True
        return status[0] if status else None

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate {expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, name):
        os.makedirs(OUT, exist_ok=True)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait(timeout=30)


CELLS = """JSON.stringify([...document.querySelectorAll('td[data-col]')].map(td => ({
  rule: td.dataset.rule || '', step: td.dataset.step || '', variant: td.dataset.variant || '',
  split: td.dataset.split || '', col: td.dataset.col, text: td.textContent})))"""


def cells(browser):
    return json.loads(browser.js(CELLS))


def number(cell_list, what, **key):
    found = [c for c in cell_list if all(c[k] == v for k, v in key.items())]
    if not check(len(found) == 1, f"{what}: one cell for {key}, found {len(found)}"):
        return None
    return found[0]["text"]


def check_home(b, rep, base, rules_text_version):
    status = b.load(base + "/")
    check(status == 200, f"/: status {status}")
    b.screenshot("home")
    got = cells(b)
    check(b.js("document.getElementById('version').textContent") == rules_text_version,
          "the rule set's version on the home page is /v1/admin/rules's")
    check(b.js("document.getElementById('events').textContent") == str(rep["events"]),
          "the number of events")
    for r in rep["rules"]:
        for col, want in (("fired", r["fired"]), ("sent", r["sent"]), ("opened", r["opened"]),
                          ("clicked", r["clicked"]), ("converted", r["converted"])):
            shown = number(got, "home", rule=r["name"], col=col)
            check(shown == str(want), f"home: {r['name']} {col}: shown {shown}, report {want}")
    check(number(got, "home", rule="checkout", col="priority") == "2", "home: the priority")
    check(number(got, "home", rule="checkout", col="templates") == "reminder",
          "home: the templates")
    templates = b.js("[...document.querySelectorAll('li[data-template]')]"
                     ".map(li => li.dataset.template).sort().join(',')")
    check(templates == "nudge,reminder", f"home: the templates listed: {templates}")


def svg_texts(svg):
    """The texts of an SVG's <text> elements, in document order."""
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def check_rule(b, rep, base, r, rules, data):
    status = b.load(base + "/rules/" + r["name"])
    check(status == 200, f"/rules/{r['name']}: status {status}")
    b.screenshot("rule-" + r["name"])
    got = cells(b)
    for s in r["steps"]:
        key = dict(rule=r["name"], step=str(s["step"]), variant=s["variant"] or "")
        for col, field in (("sent", "sent"), ("delivered", "delivered"), ("opened", "opened"),
                           ("clicked", "clicked"), ("unsubscribed", "unsubscribed"),
                           ("bounced", "bounced")):
            shown = number(got, r["name"], col=col, **key)
            check(shown == str(s[field]), f"{key} {col}: shown {shown}, report {s[field]}")
        conv = s["converted_messages"]
        shown = number(got, r["name"], col="converted", **key)
        check(shown == ("-" if conv is None else str(conv)),
              f"{key} converted: shown {shown}, report {conv}")
    shown = number(got, r["name"], rule=r["name"], step="all", col="sent")
    check(shown == str(r["sent"]), f"{r['name']} all sent: shown {shown}, report {r['sent']}")
    for sp in r["splits"]:
        for v in sp["variants"]:
            key = dict(rule=r["name"], split=sp["name"], variant=v["name"])
            for col, want in (("entered", v["entered"]), ("converted", v["converted"]),
                              ("sent", v["sent"]), ("clicked", v["clicked"])):
                shown = number(got, r["name"], col=col, **key)
                check(shown == str(want), f"{key} {col}: shown {shown}, report {want}")
        shown = b.js(f"[...document.querySelectorAll('p.verdict[data-split=\"{sp['name']}\"]')]"
                     ".map(p => p.textContent)")
        check(shown == sp["verdicts"], f"verdicts of {sp['name']}: shown {shown}, "
                                       f"report {sp['verdicts']}")
    svgs = b.js("document.querySelectorAll('svg.chart').length")
    check(svgs >= 1, f"{r['name']}: the charts are there ({svgs})")
    # The flowchart: what `trig graph --data` draws of the same store, numbers included.
    rc, want, err = trig("graph", rules, "--data", data, "--rule", r["name"], "--format", "svg")
    if check(rc == 0, f"trig graph --rule {r['name']}: {rc} {err}"):
        shown = b.js("[...document.querySelectorAll('#flowchart svg text')].map(t => t.textContent)")
        check(shown == svg_texts(want) and len(shown) > 3,
              f"{r['name']}: the flowchart shown is trig graph's: {shown} vs {svg_texts(want)}")


def main():
    trig_path = os.path.abspath(sys.argv[1])
    if not os.path.exists(CHROMIUM):
        print(f"dashboard_test: SKIPPED: {CHROMIUM} is absent (scripts/install-deps installs "
              "Debian's chromium)")
        return 77
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="trig-dashboard-")
    s = browser = None
    try:
        rules = write_rules(tmp)
        data = os.path.join(tmp, "data")
        s = Serve([rules], data)
        s.data = data
        base = f"http://127.0.0.1:{s.port}"
        opens, clicks = generate(s, s.port)
        check(opens > 0 and clicks > 0, f"the stream has opens ({opens}) and clicks ({clicks})")

        # What the report says, over a read-only open of the store the service still holds.
        rc, out, err = trig("report", rules, "--data", data, "--format", "json")
        if not check(rc == 0, f"trig report: {rc} {err}"):
            return 1
        rep = json.loads(out)
        check(rep["engagement"]["opens"] == 2 * opens and rep["engagement"]["clicks"] == clicks,
              f"the report read the opens and clicks posted: {rep['engagement']}")
        check_metrics(s, rep, opens, clicks)
        st, info = s.request("GET", "/v1/admin/rules", key=ADMIN, bearer=True)
        check(st == 200, f"/v1/admin/rules: {st}")

        # No key, a wrong key: 401 and the browser's prompt.
        for headers in ({}, {"Authorization": "Basic " +
                             base64.b64encode(b"x:not-the-key").decode()}):
            st, h, body = get(s.port, "/", headers)
            check(st == 401 and h.get("www-authenticate", "").startswith("Basic "),
                  f"/ without the key: {st} {h}")
            check(b"<td" not in body, "no page without the key")
        st, _, _ = get(s.port, "/dead-letter", {"Authorization": "Bearer " + ADMIN})
        check(st == 200, f"a Bearer admin key: {st}")

        browser = Browser(tmp)
        auth = "Basic " + base64.b64encode((":" + ADMIN).encode()).decode()
        browser.call("Network.setExtraHTTPHeaders", headers={"Authorization": auth})
        check_home(browser, rep, base, info["version"])
        for r in rep["rules"]:
            check_rule(browser, rep, base, r, rules, data)

        # The customer lookup: what `trig explain` prints over the exported log.
        rc, log, err = trig("log", "export", "--data", data)
        check(rc == 0, f"trig log export: {rc} {err}")
        events = os.path.join(tmp, "events.jsonl")
        with open(events, "w") as f:
            f.write(log)
        rc, want, err = trig("explain", rules, "--events", events, "--customer", "c03",
                             "--engine", "interp")
        check(rc == 0, f"trig explain: {rc} {err}")
        # The dashboard names the events by their line in `trig log export`.
        want = want.replace("(" + events + ":", "(log export:")
        status = browser.load(base + "/customers")
        check(status == 200, f"/customers: status {status}")
        browser.js("document.querySelector('input[name=id]').value = 'c03'")
        browser.events = []
        browser.js("document.querySelector('form').submit()")
        deadline = time.time() + 30
        while time.time() < deadline and not browser.js(
                "!!document.getElementById('timeline')"):
            time.sleep(0.1)
        browser.screenshot("customer")
        shown = browser.js("document.getElementById('timeline') && "
                           "document.getElementById('timeline').textContent")
        check(shown == want, f"the timeline is trig explain's:\n{shown}\n---\n{want}")
        check("SENT" in (shown or ""), "c03 was sent something")

        status = browser.load(base + "/dead-letter")
        check(status == 200, f"/dead-letter: status {status}")
        browser.screenshot("dead-letter")
        check(browser.js("document.getElementById('dead-total').textContent") == "1",
              "one rejected event")
        cell = browser.js("document.querySelector('#dead-letter td.data').textContent")
        check('"bad<1>"' in (cell or ""), f"the rejected event as received: {cell}")

        status = browser.load(base + "/rules/no-such-rule")
        check(status == 404, f"an unknown rule: {status}")
        browser.errors = [e for e in browser.errors if "no-such-rule" not in e]
        check(not browser.errors, "no console error: " + "\n".join(browser.errors))
    finally:
        if browser:
            browser.close()
        if s:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"dashboard_test: {time.time() - started:.1f} s; screenshots in {OUT}")
    if FAILURES:
        print(f"dashboard_test: {len(FAILURES)} failure(s)")
        return 1
    print("dashboard_test: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
