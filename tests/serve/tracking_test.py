#!/usr/bin/env python3
"""`trig serve` engagement tracking end to end (docs/serve.md, "Engagement tracking"), on loopback.

- An HTML template with links: the outbox's html has the open pixel and every link rewritten
  through /c/ (the tracking URLs on the port serve listens on, the default public URL); the
  message has List-Unsubscribe and List-Unsubscribe-Post headers; a text body's URL is
  rewritten, and it gets no pixel.
- GET the pixel: a GIF, no-store; GET a click: 302 to the original URL with the UTM parameters
  (an existing utm_source kept); the export of the log then has email_open and email_click with
  the message id. An altered token: the pixel still a GIF, the click 400 without a Location;
  both counted in trig_tracking_invalid_total; nothing recorded for them.
- GET /u/TOKEN: a page with a POST form, and nothing changes (a later send goes out); POST
  /u/TOKEN: an `unsubscribe` event, and the next send is suppressed `opted_out`.
- --public-url: the links and headers use it; SMTP carries List-Unsubscribe.
- SMTP 550: an email_bounce {message_id, kind: "hard"} in the export, and the next send to that
  customer is suppressed `bounced`.

usage: tracking_test.py TRIG
"""
import http.client, json, os, re, sys, tempfile, time, email, email.policy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import serve_test  # noqa: E402
from serve_test import check, metric, run_tests, Serve, lines, outbox, trig, ADMIN  # noqa: E402
from delivery_test import Sink  # noqa: E402

RULES = """
trigger cart_nudge:
  when cart_add
  send nudge
trigger thank_you:
  when purchased
  send thanks
template thanks {
  subject "Thanks for {{ order_id }}"
  body "Follow it at https://shop.example.com/orders/{{ order_id }}. Bye"
}
"""
NUDGE = """Subject: Your cart

<html><body><p>Hi, <a href="https://shop.example.com/cart?ref=mail&amp;x=1">see your cart</a>
or <a href='https://shop.example.com/?utm_source=news'>home</a>, or
<a href="mailto:help@example.com">write</a>.</p></body></html>
"""
T = ["2026-03-02T10:00:%02dZ" % i for i in range(60)]


def write_rules(tmp):
    return serve_test.write_rule_files(tmp, RULES, {"nudge.html": NUDGE})


def get(s, path, method="GET", body=None):
    """A request without any key: status, headers (lower-case names), body bytes."""
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    c.request(method, path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
              if body is not None else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def event(s, user, name, at, **props):
    st, body = s.post("/v1/track", {"event": name, "userId": user, "properties": props})
    check(st == 200, f"track {name} for {user}: {st} {body}")


def identify(s, user):
    st, body = s.post("/v1/identify", {"userId": user, "traits": {"email": user + "@example.com"}})
    check(st == 200, f"identify {user}: {st} {body}")


def alter(token):
    """The token with one character in the middle changed."""
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


def tracked_and_unsubscribe(tmp):
    rules = write_rules(tmp)
    data = os.path.join(tmp, "data")
    s = Serve([rules], data)
    done = False
    try:
        base = f"http://127.0.0.1:{s.port}"
        check(s.clock(T[0])[0] == 200, "clock")
        identify(s, "c1")
        event(s, "c1", "cart_add", T[0], product_id="p1")
        identify(s, "c9")  # c1's purchase at the same instant would be outranked
        event(s, "c9", "purchased", T[0], order_id="o1")
        s.clock(T[1])
        check(s.drain()[0] == 200, "drain")
        sent = outbox(data)
        nudge = [o for o in sent if o.get("rule") == "cart_nudge"]
        thanks = [o for o in sent if o.get("rule") == "thank_you"]
        if not (check(len(nudge) == 1 and len(thanks) == 1, f"two sends: {sent}")):
            return
        o = nudge[0]
        mid = o["message_id"]
        html = o.get("html", "")
        pix = re.findall(r'<img src="' + re.escape(base) +
                         r'/o/([A-Za-z0-9_-]+)\.gif" width="1" height="1" alt="">', html)
        check(len(pix) == 1 and html.index("<img") < html.index("</body>"),
              f"html: one open pixel before </body>: {html}")
        links = re.findall(r"""href=["']""" + re.escape(base) + r"/c/([A-Za-z0-9_-]+)[\"']", html)
        check(len(links) == 2, f"html: both http links rewritten: {html}")
        check("shop.example.com" not in html, "html: no original URL left in the clear")
        check('href="mailto:help@example.com"' in html, "html: a mailto link left alone")
        h = o.get("headers", {})
        unsub = re.fullmatch("<" + re.escape(base) + r"/u/([A-Za-z0-9_-]+)>",
                             h.get("List-Unsubscribe", ""))
        check(unsub is not None, f"List-Unsubscribe header: {h}")
        check(h.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click",
              f"List-Unsubscribe-Post header: {h}")
        text = thanks[0].get("text", "")
        check(re.fullmatch(r"Follow it at " + re.escape(base) + r"/c/[A-Za-z0-9_-]+\. Bye", text)
              is not None, f"text: the URL rewritten, no pixel: {text!r}")
        check("List-Unsubscribe" in thanks[0].get("headers", {}), "text message: List-Unsubscribe")
        if not (pix and len(links) == 2 and unsub):
            return

        # The pixel and the clicks.
        st, hd, body = get(s, f"/o/{pix[0]}.gif")
        check(st == 200 and hd.get("content-type") == "image/gif" and body.startswith(b"GIF89a")
              and hd.get("cache-control") == "no-store", f"pixel: a GIF, no-store: {st} {hd}")
        st, hd, _ = get(s, f"/c/{links[0]}")
        want0 = "https://shop.example.com/cart?ref=mail&x=1&utm_source=trig&utm_campaign=cart_nudge"
        check(st == 302 and hd.get("location") == want0, f"click 1: 302 to {want0}: {st} {hd}")
        st, hd, _ = get(s, f"/c/{links[1]}")
        want1 = "https://shop.example.com/?utm_source=news&utm_campaign=cart_nudge"
        check(st == 302 and hd.get("location") == want1, f"click 2: 302 to {want1}: {st} {hd}")
        # Altered tokens: a GIF all the same, and a 400 never redirecting; counted.
        st, hd, body = get(s, f"/o/{alter(pix[0])}.gif")
        check(st == 200 and body.startswith(b"GIF89a"), f"altered pixel: still a GIF: {st}")
        for bad in (alter(links[0]), links[0][:-1], links[0] + "A", "x"):
            st, hd, _ = get(s, f"/c/{bad}")
            check(st == 400 and "location" not in hd, f"altered click: 400, no redirect: {st} {hd}")
        check(metric(s, "trig_tracking_invalid_total", kind="open") == 1, "metric: 1 invalid open")
        check(metric(s, "trig_tracking_invalid_total", kind="click") == 4,
              "metric: 4 invalid clicks")
        check(metric(s, "trig_opens_total", rule="cart_nudge", variant="") == 1, "metric: 1 open")
        check(metric(s, "trig_clicks_total", rule="cart_nudge", variant="") == 2, "metric: 2 clicks")
        # A click token is not an unsubscribe token, nor a pixel.
        st, _, _ = get(s, f"/u/{links[0]}", "POST", b"List-Unsubscribe=One-Click")
        check(st == 400, f"a click token cannot unsubscribe: {st}")

        # GET /u/ changes nothing: the next purchase is mailed.
        st, hd, body = get(s, f"/u/{unsub.group(1)}")
        check(st == 200 and b'method="post"' in body and "text/html" in hd.get("content-type", ""),
              f"GET /u/: a page with a POST form: {st} {body[:200]}")
        s.clock(T[2])
        event(s, "c1", "purchased", T[2], order_id="o2")
        s.clock(T[3])
        # POST /u/: unsubscribed; the next purchase is suppressed.
        st, hd, body = get(s, f"/u/{unsub.group(1)}", "POST", b"List-Unsubscribe=One-Click")
        check(st == 200 and b"unsubscribed" in body, f"POST /u/: 200: {st} {body[:200]}")
        check(metric(s, "trig_unsubscribes_total", rule="cart_nudge", variant="") == 1,
              "metric: 1 unsubscribe")
        s.clock(T[4])
        event(s, "c1", "purchased", T[4], order_id="o3")
        s.clock(T[5])
        s.drain()
        done = True
    finally:
        check(s.stop() == 0, "graceful stop")
    if not done:
        return

    code, exported, err = trig("log", "export", "--data", data)
    check(code == 0, f"log export: {err}")
    evs = lines(exported)
    opens = [e for e in evs if e.get("event") == "email_open"]
    clicks = [e for e in evs if e.get("event") == "email_click"]
    unsubs = [e for e in evs if e.get("event") == "unsubscribe"]
    check(len(opens) == 1 and opens[0].get("userId") == "c1"
          and opens[0].get("properties", {}).get("message_id") == mid
          and opens[0]["properties"].get("rule") == "cart_nudge",
          f"export: one email_open of c1 with the message id: {opens}")
    check(sorted(c.get("properties", {}).get("url") for c in clicks) == sorted([want0, want1])
          and all(c["properties"].get("message_id") == mid for c in clicks),
          f"export: two email_click with url and message id: {clicks}")
    check(len(unsubs) == 1 and unsubs[0].get("userId") == "c1", f"export: one unsubscribe: {unsubs}")
    code, out, err = trig("log", "decisions", "--data", data)
    check(code == 0, f"log decisions: {err}")
    ty = [(d.get("decision"), d.get("reason")) for d in lines(out)
          if d.get("rule") == "thank_you" and d.get("customer") == "c1"]
    check(len(ty) == 2 and ty[0][0] == "send" and ty[1] == ("suppressed", "opted_out"),
          f"decisions: sent, sent after GET /u/, suppressed opted_out after POST: {ty}")


def smtp(tmp):
    """--public-url, List-Unsubscribe over SMTP, and a 550 as a bounce."""
    rules = write_rules(tmp)
    ok, bad = Sink("smtp_sink.py", "ok", tmp), Sink("smtp_sink.py", "permfail", tmp)
    s = None
    try:
        data = os.path.join(tmp, "ok")
        s = Serve([rules], data, extra=["--deliver", f"smtp://127.0.0.1:{ok.port}",
                                        "--public-url", "https://t.example.com/"])
        s.clock(T[0])
        identify(s, "c1")
        identify(s, "c9")  # c1's purchase at the same instant would be outranked
        event(s, "c9", "purchased", T[0], order_id="o1")
        s.clock(T[1])
        check(s.drain()[0] == 200, "smtp: drain")
        eml = ok.wait("eml", 1, 20)
        if check(len(eml) == 1, f"smtp: one message received: {eml}"):
            msg = email.message_from_string(ok.read(eml[0]), policy=email.policy.default)
            lu = str(msg.get("List-Unsubscribe", ""))
            check(re.fullmatch(r"<https://t\.example\.com/u/[A-Za-z0-9_-]+>", lu) is not None,
                  f"smtp: List-Unsubscribe with the public URL: {lu!r}")
            check(str(msg.get("List-Unsubscribe-Post", "")) == "List-Unsubscribe=One-Click",
                  "smtp: List-Unsubscribe-Post")
            check("https://t.example.com/c/" in msg.get_body().get_content(),
                  "smtp: the body's link through the public URL")
        check(s.stop() == 0, "smtp: graceful stop")
        s = None

        data = os.path.join(tmp, "bad")
        s = Serve([rules], data, extra=["--deliver", f"smtp://127.0.0.1:{bad.port}"])
        s.clock(T[0])
        identify(s, "c2")
        event(s, "c2", "purchased", T[0], order_id="o1")
        s.clock(T[1])
        check(s.drain()[0] == 200, "bounce: drain")
        deadline = time.time() + 20
        while time.time() < deadline and metric(s, "trig_bounces_total", rule="thank_you",
                                                variant="") < 1:
            time.sleep(0.05)
        check(metric(s, "trig_bounces_total", rule="thank_you", variant="") == 1,
              "bounce: metric")
        # The bounce is submitted after the metric: wait until it is in the log.
        while time.time() < deadline and metric(s, "trig_events_accepted_total", type="track") < 2:
            time.sleep(0.05)
        s.clock(T[2])
        event(s, "c2", "purchased", T[2], order_id="o2")
        s.clock(T[3])
        s.drain()
        check(s.stop() == 0, "bounce: graceful stop")
        s = None
        code, exported, err = trig("log", "export", "--data", data)
        bounces = [e for e in lines(exported) if e.get("event") == "email_bounce"]
        code, out, err = trig("log", "decisions", "--data", data)
        ds = [d for d in lines(out) if d.get("rule") == "thank_you"]
        ty = [(d.get("decision"), d.get("reason")) for d in ds]
        check(len(ty) == 2 and ty[0][0] == "send" and ty[1] == ("suppressed", "bounced"),
              f"bounce: the next send is suppressed bounced: {ty}")
        check(len(bounces) == 1 and bounces[0].get("userId") == "c2"
              and bounces[0].get("properties", {}).get("kind") == "hard"
              and bool(ds) and bounces[0]["properties"].get("message_id") == ds[0]["message_id"],
              f"bounce: one email_bounce of c2, kind hard, the message id: {bounces}")
    finally:
        if s:
            s.kill()
        ok.stop()
        bad.stop()


CLICK_RULES = RULES + """
template followup { subject "Glad you looked" body "Here is more" }
trigger clicked:
  when email_click(rule == "cart_nudge")
  send followup
"""


def click_rule(tmp):
    """A click is an event rules can use: `when email_click(rule == "cart_nudge")` fires on it."""
    rules = write_rules(tmp)
    with open(rules, "w") as f:
        f.write(CLICK_RULES)
    data = os.path.join(tmp, "data")
    s = Serve([rules], data)
    try:
        base = f"http://127.0.0.1:{s.port}"
        s.clock(T[0])
        identify(s, "k1")
        event(s, "k1", "cart_add", T[0], product_id="p1")
        s.clock(T[1])
        s.drain()
        nudge = [o for o in outbox(data) if o.get("rule") == "cart_nudge"]
        links = re.findall(r"""href=["']""" + re.escape(base) + r"/c/([A-Za-z0-9_-]+)[\"']",
                           nudge[0].get("html", "") if nudge else "")
        if not check(len(links) == 2, f"click rule: the nudge has two tracked links: {nudge}"):
            return
        st, hd, _ = get(s, f"/c/{links[0]}")
        check(st == 302, f"click rule: the click redirects: {st}")
        s.clock(T[2])
        s.drain()
    finally:
        s.stop()
    got = [(o["customer"], o["rule"], o["template"]) for o in outbox(data)
           if o.get("rule") == "clicked"]
    check(got == [("k1", "clicked", "followup")], f"click rule: the click fired the rule: {got}")


def main():
    return run_tests("tracking_test", (tracked_and_unsubscribe, smtp, click_rule))


if __name__ == "__main__":
    sys.exit(main())
