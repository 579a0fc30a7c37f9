#!/usr/bin/env python3
"""`trig serve` delivery end to end (docs/serve.md, "Durability and delivery"): the real service
delivering to the real sinks of tests/serve (smtp_sink.py on aiosmtpd, webhook_sink.py), all on
loopback, started by this script.

- SMTP: the message as received (Message-ID `<ID@example.com>` with the decision's message id,
  Date, From, To, the Subject as the template renders it, RFC 2047 for a name that is not ASCII,
  MIME, the body), and the envelope (MAIL FROM, RCPT TO).
- Event data that tries to add headers or recipients or end the DATA early (line breaks in a
  subject, a lone ".", "=?", an address with CRLF): one message to the one real address, no
  extra header, the body intact, lines within 998.
- SMTP 451 then ok: delivered after one retry; SMTP 550: failed after one attempt, in the log and
  in `trig_deliveries_total{result="failed"}`, nothing received.
- A mail server that dies (the sink killed) or never answers never holds up ingest: every
  /v1/track and /v1/admin/clock keeps answering 200 quickly while delivery fails.
- Webhook: the POSTed JSON is the outbox line (message_id, to, subject, text), `Idempotency-Key`
  is the message id; 503 then ok: delivered by the retry with the same key and body; 400:
  failed, never retried.
- SIGTERM while a send hangs on a mail server that never answers: exit 0, promptly; the send
  stays pending in the durable outbox and a restart delivers it, once, with the same Message-ID.
- SIGTERM while a mail server sits on a message's DATA and never answers: exit 0 when the send
  times out (the transport's 30 s: the one slow test; serve has no option for a shorter one),
  not 120 s later; a restart delivers the message once.

usage: delivery_test.py TRIG
"""
import email, email.policy, email.utils, json, os, re, select, signal, socket, subprocess, sys
import tempfile, threading, time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# serve_test reads TRIG from sys.argv[1] as this file does: its Serve class, trig(), lines().
from serve_test import check, metric, run_tests, Serve, lines, trig  # noqa: E402

FROM = "Shop <shop@example.com>"
RULES = """
template thanks {
  subject "Thanks for order {{ order_id }}, {{ customer.first_name | default "friend" }}"
  body "Hi {{ customer.first_name | default "there" }}, order {{ order_id }} is on its way."
}
trigger thank_you:
  when purchased
  send thanks
"""
T0 = "2026-03-02T10:00:00Z"


class Sink:
    """smtp_sink.py or webhook_sink.py in MODE, saving into its own directory."""

    def __init__(self, script, mode, tmp):
        self.dir = tempfile.mkdtemp(dir=tmp, prefix="sink-")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), mode, self.dir],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"{script} {mode} did not start: {line!r}")
        self.port = int(line)

    def files(self, ext):
        return sorted(f for f in os.listdir(self.dir) if f.endswith("." + ext))

    def wait(self, ext, n, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.files(ext)) < n:
            time.sleep(0.05)
        return self.files(ext)

    def read(self, name, mode="r"):
        with open(os.path.join(self.dir, name), mode) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            f.close()


class BlackHole:
    """A TCP server that accepts connections and never says a word (a hung mail server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []

    def accepted(self, timeout):
        """Accepts what is waiting (for up to `timeout`); the number of connections so far."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            ready, _, _ = select.select([self.sock], [], [], max(left, 0))
            if ready:
                self.conns.append(self.sock.accept()[0])
            if self.conns or left <= 0:
                return len(self.conns)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


class Stall:
    """An SMTP server that takes a message's DATA and then never answers it (a server that
    hangs scanning it): the send fails by the transport's 30 s timeout, after the DATA."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stalled = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            f = c.makefile("rb")
            c.sendall(b"220 stall.test ESMTP\r\n")
            in_data = False
            for line in f:
                if in_data:
                    if line == b".\r\n":
                        self.stalled.set()  # and never a word again
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    c.sendall(b"250-stall.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 go on\r\n")
                    in_data = True
                elif verb == b"QUIT":
                    return  # a hung server does not say goodbye either
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def free_port():
    """A port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(tmp, deliver, data=None):
    path = os.path.join(tmp, "rules.trig")
    with open(path, "w") as f:
        f.write(RULES)
    data = data or os.path.join(tmp, "data")
    return Serve([path], data, extra=["--deliver", deliver, "--from", FROM]), data


def purchase(s, user, order, name=None, at=T0):
    """Identifies `user` (with `name` as first name), buys `order` at `at`: one send decided."""
    check(s.clock(at)[0] == 200, f"clock to {at}")
    traits = {"email": user + "@example.com"}
    if name:
        traits["first_name"] = name
    st, body = s.post("/v1/identify", {"userId": user, "traits": traits})
    check(st == 200, f"identify {user}: {st} {body}")
    st, body = s.post("/v1/track", {"event": "purchased", "userId": user,
                                     "properties": {"order_id": order}})
    check(st == 200, f"purchased {user}: {st} {body}")
    # The decisions of the instant the clock stands at are made when it moves on.
    after = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() + 1
    check(s.clock(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(after)))[0] == 200,
          "clock past the purchase")


def sends(data):
    """The send decisions serve recorded (read beside the running service or after it)."""
    code, out, err = trig("log", "decisions", "--data", data)
    check(code == 0, f"log decisions exit {code}: {err}")
    return [o for o in lines(out) if o.get("decision") == "send"]


def log_has(s, pattern, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(re.search(pattern, line) for line in list(s.log)):
            return True
        time.sleep(0.05)
    return False


def stop(s, label, within=10):
    t = time.time()
    s.proc.send_signal(signal.SIGTERM)
    try:
        code = s.proc.wait(timeout=within)
    except subprocess.TimeoutExpired:
        check(False, f"{label}: serve still running {within} s after SIGTERM")
        s.kill()
        return
    check(code == 0, f"{label}: exit {code} after SIGTERM")
    return time.time() - t


def smtp_ok(tmp):
    sink = Sink("smtp_sink.py", "ok", tmp)
    s = None
    try:
        s, data = start(tmp, f"smtp://127.0.0.1:{sink.port}")
        purchase(s, "c1", "o-1", name="Zoë")
        check(s.drain()[0] == 200, "smtp: drain")
        got = sink.wait("eml", 1, 5)
        check(len(got) == 1, f"smtp: one message received: {got}")
        check(metric(s, "trig_deliveries_total", result="sent") == 1, "smtp: sent metric is 1")
        recorded = sends(data)
        check(len(recorded) == 1, f"smtp: one send decided: {recorded}")
        if not got or not recorded:
            return
        send = recorded[0]
        raw = sink.read(got[0], "rb")
        envelope = json.loads(sink.read(got[0].replace(".eml", ".json")))
        check(envelope == {"mail_from": "shop@example.com", "rcpt_tos": ["c1@example.com"]},
              f"smtp: envelope {envelope}")
        head = raw.split(b"\r\n\r\n", 1)[0]
        check(b"\n" not in raw.replace(b"\r\n", b""), "smtp: every line ends in CRLF")
        check(all(len(l) <= 998 for l in raw.split(b"\r\n")), "smtp: lines within 998")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        mid = send["message_id"]
        check(msg["Message-ID"] == f"<{mid}@example.com>",
              f"smtp: Message-ID {msg['Message-ID']!r}, decision {mid!r}")
        stamp = datetime.fromisoformat(send["time"].replace("Z", "+00:00"))
        check(msg["Date"] == email.utils.format_datetime(stamp).replace("-0000", "+0000"),
              f"smtp: Date {msg['Date']!r} for {send['time']}")
        check(send["time"] == T0, f"smtp: decided at {send['time']}")
        check(msg["From"] == FROM, f"smtp: From {msg['From']!r}")
        check(msg["To"] == "c1@example.com", f"smtp: To {msg['To']!r}")
        check(msg["Subject"] == "Thanks for order o-1, Zoë" == send["subject"],
              f"smtp: Subject {msg['Subject']!r}, decision {send['subject']!r}")
        check(b"Subject: =?UTF-8?B?" in head, f"smtp: the subject is RFC 2047 encoded: {head!r}")
        check(msg["MIME-Version"] == "1.0", "smtp: MIME-Version")
        check(msg.get_content_type() == "text/plain" and msg.get_param("charset") == "utf-8",
              f"smtp: Content-Type {msg['Content-Type']!r}")
        check(msg["Content-Transfer-Encoding"] == "quoted-printable", "smtp: quoted-printable")
        body = msg.get_content()
        check(body.rstrip("\r\n") == "Hi Zoë, order o-1 is on its way.", f"smtp: body {body!r}")
        check(len(msg.get_all("Message-ID")) == 1 and len(msg.get_all("Date")) == 1,
              "smtp: one Message-ID, one Date")
    finally:
        if s:
            check(s.stop() == 0, "smtp: graceful stop")
        sink.stop()


def smtp_tempfail(tmp):
    sink = Sink("smtp_sink.py", "tempfail-then-ok", tmp)
    s = None
    try:
        s, data = start(tmp, f"smtp://127.0.0.1:{sink.port}")
        purchase(s, "c2", "o-2")
        got = sink.wait("eml", 1, 8)  # the first retry is within 1 s (retryBase, full jitter)
        check(len(got) == 1, f"tempfail: delivered after a retry: {got}")
        check(s.drain()[0] == 200, "tempfail: drain")
        check(metric(s, "trig_deliveries_total", result="retry") == 1, "tempfail: one retry")
        check(metric(s, "trig_deliveries_total", result="sent") == 1, "tempfail: one sent")
        check(metric(s, "trig_deliveries_total", result="failed") == 0, "tempfail: none failed")
        check(log_has(s, r"delivery of \S+ will be retried \(attempt 1\): 451 4\.3\.0 Try again"),
              "tempfail: the log says it will be retried, with the server's reply")
        if got:
            msg = email.message_from_bytes(sink.read(got[0], "rb"), policy=email.policy.default)
            mid = sends(data)[0]["message_id"]
            check(msg["Message-ID"] == f"<{mid}@example.com>", "tempfail: the same Message-ID")
    finally:
        if s:
            check(s.stop() == 0, "tempfail: graceful stop")
        sink.stop()


def smtp_permfail(tmp):
    sink = Sink("smtp_sink.py", "permfail", tmp)
    s = None
    try:
        s, data = start(tmp, f"smtp://127.0.0.1:{sink.port}")
        purchase(s, "c3", "o-3")
        check(s.drain()[0] == 200, "permfail: drain (a failed send is not pending)")
        check(metric(s, "trig_deliveries_total", result="failed") == 1, "permfail: failed is 1")
        check(metric(s, "trig_deliveries_total", result="retry") == 0, "permfail: no retry")
        check(metric(s, "trig_deliveries_total", result="sent") == 0, "permfail: none sent")
        mid = sends(data)[0]["message_id"]
        check(log_has(s, re.escape(f"delivery of {mid} failed after 1 attempt(s): ") +
                      r"550 5\.1\.1 No such user"),
              "permfail: the log names the message and the server's reply")
        time.sleep(0.5)
        check(sink.files("eml") == [], "permfail: nothing received")
    finally:
        if s:
            check(s.stop() == 0, "permfail: graceful stop")
        sink.stop()


HOSTILE_RULES = """
event purchased { note?: string = "none" }
template echo { subject "Re: {{ note }}" body "{{ note }}" }
trigger echo: when purchased send echo
"""
NOTE = ("x\r\nBcc: victim@example.com\r\n.\r\nMAIL FROM:<evil@example.com>\r\n\r\n.\n"
        "From the start\n" + "é" * 30 + " " + "y" * 1200 + "\n=?UTF-8?B?QUJD?= end.")


def smtp_hostile_content(tmp):
    """Event data that tries to add headers, end DATA early, or add recipients."""
    sink = Sink("smtp_sink.py", "ok", tmp)
    s = None
    try:
        path = os.path.join(tmp, "rules.trig")
        with open(path, "w") as f:
            f.write(HOSTILE_RULES)
        data = os.path.join(tmp, "data")
        s = Serve([path], data, extra=["--deliver", f"smtp://127.0.0.1:{sink.port}",
                                       "--from", FROM])
        check(s.clock(T0)[0] == 200, "hostile: clock")
        for user, addr in (("h1", "h1@example.com"),
                           ("h2", "h2@example.com\r\nRCPT TO:<evil@example.com>"),
                           ("h3", "h3@example.com>\r\nRCPT TO:<evil@example.com")):
            st, body = s.post("/v1/identify", {"userId": user, "traits": {"email": addr}})
            check(st in (200, 400), f"hostile: identify {user}: {st} {body}")
            st, body = s.post("/v1/track", {"event": "purchased", "userId": user,
                                             "properties": {"order_id": "o", "note": NOTE}})
            check(st == 200, f"hostile: purchased {user}: {st} {body}")
        check(s.clock("2026-03-02T10:00:01Z")[0] == 200, "hostile: clock on")
        check(s.drain()[0] == 200, "hostile: drain")
        got = sink.wait("eml", 1, 5)
        time.sleep(0.3)
        got = sink.files("eml")
        envelopes = [json.loads(sink.read(g.replace(".eml", ".json"))) for g in got]
        check([e["rcpt_tos"] for e in envelopes] == [["h1@example.com"]],
              f"hostile: only h1 received a message: {envelopes}")
        decided = len(sends(data))
        print(f"delivery_test: hostile: {decided} sends decided")
        failed = metric(s, "trig_deliveries_total", result="failed")
        check(failed == decided - 1, f"hostile: {decided} sends decided, {failed} failed: the "
                                     "addresses with line breaks are refused")
        if not got:
            return
        raw = sink.read(got[0], "rb")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        check(msg["Bcc"] is None and b"\r\nBcc:" not in raw.split(b"\r\n\r\n")[0],
              "hostile: no Bcc header")
        check(msg["Subject"].startswith("Re: x Bcc: victim@example.com . MAIL FROM:"
                                        "<evil@example.com> . From the start é"),
              f"hostile: the subject on one line: {msg['Subject'][:120]!r}")
        check("y" * 1200 in msg["Subject"].replace(" ", ""), "hostile: the long word kept")
        check(all(len(l) <= 998 for l in raw.split(b"\r\n")), "hostile: lines within 998")
        body = msg.get_content().replace("\r\n", "\n").rstrip("\n")
        want = NOTE.replace("\r\n", "\n")
        check(body == want, f"hostile: the body survives dot-stuffing and folding: "
                            f"{body[:80]!r}... vs {want[:80]!r}...")
    finally:
        if s:
            check(s.stop() == 0, "hostile: graceful stop")
        sink.stop()


def timed(fn):
    t = time.time()
    r = fn()
    return r, time.time() - t


def ingest_not_blocked(s, label, n=20):
    """n requests each of /v1/track and /v1/admin/clock: all 200, none slow."""
    slowest = 0
    for i in range(n):
        (st, body), dt = timed(lambda: s.post("/v1/track", {
            "event": "purchased", "userId": f"d{i}", "properties": {"order_id": f"od-{i}"}}))
        check(st == 200, f"{label}: track {i}: {st} {body}")
        slowest = max(slowest, dt)
        (st, body), dt = timed(lambda: s.clock(f"2026-03-02T11:{i:02}:00Z"))
        check(st == 200, f"{label}: clock {i}: {st} {body}")
        slowest = max(slowest, dt)
    check(slowest < 1.0, f"{label}: the slowest request took {slowest:.2f} s")
    return slowest


def smtp_dies(tmp):
    """The mail server dies after the first message: ingest goes on, sends are retried."""
    sink = Sink("smtp_sink.py", "ok", tmp)
    s = None
    try:
        s, data = start(tmp, f"smtp://127.0.0.1:{sink.port}")
        purchase(s, "e1", "oe-1")
        check(len(sink.wait("eml", 1, 5)) == 1, "dies: the first message before the kill")
        sink.proc.kill()
        sink.proc.wait()
        for i in range(20):  # each customer's email, so every purchase below is a send
            check(s.post("/v1/identify", {"userId": f"d{i}",
                                          "traits": {"email": f"d{i}@example.com"}})[0] == 200,
                  f"dies: identify d{i}")
        slowest = ingest_not_blocked(s, "dies")
        check(log_has(s, r"will be retried \(attempt 1\): .*(refused|connect)", 5),
              "dies: the refused connection is logged as a retry")
        check(metric(s, "trig_deliveries_total", result="retry") >= 1, "dies: retries counted")
        check(metric(s, "trig_outbox_backlog") >= 1, "dies: the backlog is visible")
        dt = stop(s, "dies")
        s = None
        print(f"delivery_test: dead SMTP: slowest ingest {slowest * 1000:.0f} ms, "
              f"stopped in {dt or 0:.2f} s")
    finally:
        if s:
            s.kill()
        sink.stop()


def smtp_hangs(tmp):
    """A mail server that accepts and never answers: ingest goes on; SIGTERM during the send
    exits 0 promptly; a restart with a working server delivers the pending send once."""
    hole = BlackHole()
    sink = None
    s = None
    try:
        s, data = start(tmp, f"smtp://127.0.0.1:{hole.port}")
        purchase(s, "h1", "oh-1")
        check(hole.accepted(5) >= 1, "hangs: the delivery thread connected")
        ingest_not_blocked(s, "hangs", n=10)
        check(s.request("GET", "/healthz", key=None)[0] == 200, "hangs: healthz")
        dt = stop(s, "hangs: SIGTERM during a send", within=15)
        s = None
        check(dt is not None and dt < 8,
              f"hangs: stopped {dt} s after SIGTERM (a hung send should not hold the stop)")
        print(f"delivery_test: hung SMTP: stopped {dt or 0:.2f} s after SIGTERM")
        mids = [o["message_id"] for o in sends(data)]
        sink = Sink("smtp_sink.py", "ok", tmp)
        s, _ = start(tmp, f"smtp://127.0.0.1:{sink.port}", data=data)
        check(s.drain()[0] == 200, "hangs: drain after the restart")
        got = sink.wait("eml", len(mids), 5)
        time.sleep(0.3)
        got = sink.files("eml")
        ids = sorted(email.message_from_bytes(sink.read(g, "rb"))["Message-ID"] for g in got)
        want = sorted(f"<{m}@example.com>" for m in mids if m)
        check(ids == want, f"hangs: after the restart each pending send delivered once: "
                           f"{len(ids)} received, {len(want)} decided")
    finally:
        if s:
            check(s.stop() == 0, "hangs: graceful stop after the restart")
        if sink:
            sink.stop()
        hole.close()


def smtp_stalls_after_data(tmp):
    """SIGTERM while the server sits on a message's DATA: exit 0 once the send times out (30 s,
    the transport's timeout), not when libcurl's QUIT to the hung server gives up (120 s
    more); a restart delivers the send."""
    stall = Stall()
    sink = None
    s = None
    try:
        s, data = start(tmp, f"smtp://127.0.0.1:{stall.port}")
        purchase(s, "s1", "os-1")
        check(stall.stalled.wait(5), "stall: the message's DATA reached the server")
        ingest_not_blocked(s, "stall", n=5)
        dt = stop(s, "stall: SIGTERM while the server sits on the DATA", within=45)
        s = None
        check(dt is not None and dt < 35, f"stall: stopped {dt} s after SIGTERM (the transport's "
                                          "timeout is 30 s)")
        if dt is not None:
            print(f"delivery_test: stalled SMTP: stopped {dt:.1f} s after SIGTERM")
        mids = [o["message_id"] for o in sends(data)]
        sink = Sink("smtp_sink.py", "ok", tmp)
        s, _ = start(tmp, f"smtp://127.0.0.1:{sink.port}", data=data)
        check(s.drain()[0] == 200, "stall: drain after the restart")
        sink.wait("eml", 1, 5)
        time.sleep(0.3)
        ids = [email.message_from_bytes(sink.read(g, "rb"))["Message-ID"]
               for g in sink.files("eml")]
        check(ids == [f"<{m}@example.com>" for m in mids],
              f"stall: the send delivered once after the restart: {ids} for {mids}")
    finally:
        if s:
            check(s.stop() == 0, "stall: graceful stop after the restart")
        if sink:
            sink.stop()
        stall.close()


def webhook_request(sink, name):
    rec = json.loads(sink.read(name))
    try:
        body = json.loads(rec["body"])
    except ValueError:
        body = None
    return rec, body


def webhook_ok(tmp):
    sink = Sink("webhook_sink.py", "ok", tmp)
    s = None
    try:
        s, data = start(tmp, f"http://127.0.0.1:{sink.port}/send?via=trig")
        purchase(s, "w1", "ow-1", name="Wim")
        check(s.drain()[0] == 200, "webhook: drain")
        got = sink.wait("json", 1, 5)
        check(len(got) == 1, f"webhook: one request: {got}")
        recorded = sends(data)
        if not got or not recorded:
            return
        rec, body = webhook_request(sink, got[0])
        send = recorded[0]
        check(rec["method"] == "POST" and rec["path"] == "/send?via=trig",
              f"webhook: {rec['method']} {rec['path']}")
        check(rec["headers"].get("content-type") == "application/json",
              f"webhook: content type {rec['headers'].get('content-type')}")
        check(rec["headers"].get("idempotency-key") == send["message_id"],
              f"webhook: Idempotency-Key {rec['headers'].get('idempotency-key')!r}, "
              f"message id {send['message_id']!r}")
        if not check(isinstance(body, dict), f"webhook: the body is a JSON object: {rec['body']!r}"):
            return
        check(body.get("message_id") == send["message_id"], "webhook: message_id")
        check(body.get("to") == "w1@example.com", f"webhook: to {body.get('to')!r}")
        check(body.get("subject") == "Thanks for order ow-1, Wim",
              f"webhook: subject {body.get('subject')!r}")
        check(body.get("text") == "Hi Wim, order ow-1 is on its way.",
              f"webhook: text {body.get('text')!r}")
        check(body.get("from") == FROM, f"webhook: from {body.get('from')!r}")
        for k in ("decision", "time", "customer", "rule", "template"):
            check(body.get(k) == send.get(k), f"webhook: {k} {body.get(k)!r} vs {send.get(k)!r}")
        check(metric(s, "trig_deliveries_total", result="sent") == 1, "webhook: sent is 1")
    finally:
        if s:
            check(s.stop() == 0, "webhook: graceful stop")
        sink.stop()


def webhook_retry(tmp):
    sink = Sink("webhook_sink.py", "fail-then-ok", tmp)
    s = None
    try:
        s, data = start(tmp, f"http://127.0.0.1:{sink.port}/send")
        purchase(s, "w2", "ow-2")
        got = sink.wait("json", 2, 8)
        check(s.drain()[0] == 200, "webhook retry: drain")
        got = sink.files("json")
        check(len(got) == 2, f"webhook retry: a 503 then the retry: {got}")
        check(metric(s, "trig_deliveries_total", result="retry") == 1, "webhook retry: 1 retry")
        check(metric(s, "trig_deliveries_total", result="sent") == 1, "webhook retry: 1 sent")
        check(log_has(s, r"will be retried \(attempt 1\): HTTP 503: busy, try later"),
              "webhook retry: the log has the 503")
        if len(got) == 2:
            (a, ba), (b, bb) = webhook_request(sink, got[0]), webhook_request(sink, got[1])
            check(a["headers"].get("idempotency-key") == b["headers"].get("idempotency-key")
                  == sends(data)[0]["message_id"], "webhook retry: the same Idempotency-Key")
            check(a["body"] == b["body"], "webhook retry: the same body")
    finally:
        if s:
            check(s.stop() == 0, "webhook retry: graceful stop")
        sink.stop()


def webhook_reject(tmp):
    sink = Sink("webhook_sink.py", "reject", tmp)
    s = None
    try:
        s, data = start(tmp, f"http://127.0.0.1:{sink.port}/send")
        purchase(s, "w3", "ow-3")
        check(s.drain()[0] == 200, "webhook reject: drain (failed is not pending)")
        time.sleep(1.5)  # longer than a first retry could wait
        check(len(sink.files("json")) == 1, f"webhook reject: one request, no retry: "
                                            f"{sink.files('json')}")
        check(metric(s, "trig_deliveries_total", result="failed") == 1, "webhook reject: failed")
        check(metric(s, "trig_deliveries_total", result="retry") == 0, "webhook reject: no retry")
        mid = sends(data)[0]["message_id"]
        check(log_has(s, re.escape(f"delivery of {mid} failed after 1 attempt(s): HTTP 400: "
                                   "bad payload: ") + "x{100,200}$"),
              "webhook reject: the log has the status and the start of the answer")
        check(all(len(l) < 1000 for l in s.log), "webhook reject: log lines stay short")
    finally:
        if s:
            check(s.stop() == 0, "webhook reject: graceful stop")
        sink.stop()


def main():
    return run_tests("delivery_test", (
        smtp_ok, smtp_hostile_content, smtp_tempfail, smtp_permfail, smtp_dies, smtp_hangs,
        smtp_stalls_after_data, webhook_ok, webhook_retry, webhook_reject))


if __name__ == "__main__":
    sys.exit(main())
