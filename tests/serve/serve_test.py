#!/usr/bin/env python3
"""`trig serve` end to end (docs/serve.md): real processes on loopback, started by this script.

- Every run case of the conformance suites goes through serve with the manual clock (each event
  posted at its timestamp after the clock is moved there, then the clock moved far on): the
  outbox must hold exactly the sends `trig run` prints, message ids included; and `trig run` over
  `trig log export` must print exactly serve's decision records (replay equivalence).
- The ingest API's errors: auth, malformed JSON, partial batches, size limits, unknown paths; the
  dead letter keeps every rejected event.
- Durability: kill -9 while batches are being posted, restart on the same data directory: every
  acknowledged event is in the log, the decisions equal a replay of it, no message is in the
  outbox twice; timers pending at the kill fire after the restart; kill -9 at several points of a
  reload changes nothing.
- Reload: new rules between two events, removed rules' flows ended, a broken set refused, SIGHUP,
  a restart with other rules on disk sending nothing for the past.
- A second serve on the same directory is refused; the wall clock fires a rule on its own.

usage: serve_test.py TRIG [SHARED_DIR]   (the shared cases are skipped, with a note, without it)
"""
import base64, http.client, json, os, random, re, shutil, signal, subprocess, sys, tempfile
import threading, time

TRIG = os.path.abspath(sys.argv[1])
SHARED = sys.argv[2] if len(sys.argv) > 2 else None
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WRITE, ADMIN = "wk-test", "ak-test"
ENV = dict(os.environ, TRIG_WRITE_KEY=WRITE, TRIG_ADMIN_KEY=ADMIN, TRIG_TRACKING_SECRET="ts")
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    return cond


def metric(s, name, **labels):
    """The value of the /metrics sample `name` with exactly these labels (0 when absent)."""
    st, text = s.request("GET", "/metrics", key=None)
    text = text.decode() if isinstance(text, bytes) else str(text)
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        if m and m.group(1) == name and (m.group(2) or "") == want:
            return float(m.group(3))
    return 0.0


def write_rule_files(tmp, rules, templates=None):
    """rules.trig in `tmp` with `templates` ({"nudge.html": text}) in tmp/templates; its path."""
    os.makedirs(os.path.join(tmp, "templates"), exist_ok=True)
    for name, text in (templates or {}).items():
        with open(os.path.join(tmp, "templates", name), "w") as f:
            f.write(text)
    path = os.path.join(tmp, "rules.trig")
    with open(path, "w") as f:
        f.write(rules)
    return path


def run_tests(suite, tests):
    """Runs each test(tmp) in a fresh temporary directory, timed; a test that raises is a failure
    and the others still run. The exit code: 1 when anything failed (FAILURES), else 0."""
    started = time.time()
    for test in tests:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.time()
            try:
                test(tmp)
            except Exception as e:  # a crash of the test is a failure, the others still run
                check(False, f"{test.__name__}: {type(e).__name__}: {e}")
            print(f"{suite}: {test.__name__} {time.time() - t:.1f} s", flush=True)
    print(f"{suite}: {time.time() - started:.1f} s in all")
    if FAILURES:
        print(f"{suite}: {len(FAILURES)} failure(s)")
        return 1
    print(f"{suite}: all passed")
    return 0


class Serve:
    """One `trig serve` process on a port it picks."""

    def __init__(self, rules, data, manual=True, extra=()):
        cmd = [TRIG, "serve", *rules, "--data", data, "--listen", "127.0.0.1:0"]
        if manual:
            cmd += ["--clock", "manual"]
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=ENV)
        self.log = []
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("serve did not start: " + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def request(self, method, path, body=None, key=WRITE, bearer=False, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = ("Bearer " + key if bearer else
                                  "Basic " + base64.b64encode((key + ":").encode()).decode())
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def clock(self, t):
        return self.request("POST", "/v1/admin/clock", {"now": t}, key=ADMIN, bearer=True)

    def drain(self):
        return self.request("POST", "/v1/admin/drain", b"", key=ADMIN, bearer=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=30)


def trig(*args, cwd=None):
    p = subprocess.run([TRIG, *args], capture_output=True, text=True, cwd=cwd, env=ENV,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def outbox(data):
    path = os.path.join(data, "outbox.jsonl")
    return lines(open(path).read()) if os.path.exists(path) else []


SEND_KEYS = ("decision", "time", "customer", "rule", "step", "template", "variant", "to",
             "subject", "message_id")


def send_view(o):
    return tuple(str(o.get(k)) for k in SEND_KEYS)


def decision_view(o):
    o = dict(o)
    o.pop("rules_version", None)
    o.pop("source", None)  # a dropped event's input name: "log:N" live, the file in a replay
    return json.dumps(o, sort_keys=True)


def replay_equivalent(rules, data, tmp, label):
    """`trig run` over the exported log prints exactly serve's decision records."""
    code, exported, err = trig("log", "export", "--data", data)
    if not check(code == 0, f"{label}: log export exit {code}: {err}"):
        return
    path = os.path.join(tmp, "export.jsonl")
    open(path, "w").write(exported)
    code, ran, err = trig("run", *rules, "--events", path, "--explain")
    check(code == 0, f"{label}: run over the export exit {code}: {err[:300]}")
    code, decided, err = trig("log", "decisions", "--data", data)
    check(code == 0, f"{label}: log decisions exit {code}: {err}")
    a = sorted(decision_view(o) for o in lines(ran))
    b = sorted(decision_view(o) for o in lines(decided))
    if not check(a == b, f"{label}: serve's decisions differ from a replay of its log"):
        for x in sorted(set(a) ^ set(b))[:6]:
            print("   ", "replay only:" if x in a else "serve only: ", x)


def parse_time(s):
    from datetime import datetime
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError, TypeError):
        return None


def run_case(case, tmp):
    """One conformance case through serve; returns False when the case was skipped."""
    ex = os.path.join(case, "explain.json")
    if os.path.exists(ex) and "--until" in json.load(open(ex)).get("args", []):
        return False
    rules = [os.path.join(case, "rules.trig")]
    events = []
    # utf-8-sig: a file's byte order mark is the reader's business, not an event's.
    for n, line in enumerate(open(os.path.join(case, "events.jsonl"), encoding="utf-8-sig",
                                  errors="surrogateescape")):
        if not line.strip():
            continue
        try:
            t = parse_time(json.loads(line).get("timestamp"))
        except (ValueError, AttributeError):
            t = None
        if t is None:
            continue  # `run` rejects it; live, a missing timestamp is the server's clock
        events.append((t, n, line.strip(), json.loads(line)["timestamp"]))
    events.sort(key=lambda e: (e[0], e[1]))
    data = os.path.join(tmp, "data")
    s = Serve(rules, data)
    label = os.path.basename(case)
    try:
        now = None
        for t, _, line, stamp in events:
            if now is None or t > now:
                status, _ = s.clock(stamp)
                check(status == 200, f"{label}: clock to {stamp}: {status}")
                now = t
            s.post("/v1/batch", '{"batch":[' + line + "]}")
        s.clock("9000-01-01T00:00:00Z")
        check(s.drain()[0] == 200, f"{label}: drain")
    finally:
        check(s.stop() == 0, f"{label}: serve exit status")
    code, ran, err = trig("run", *rules, "--events", os.path.join(case, "events.jsonl"))
    want = sorted(send_view(o) for o in lines(ran) if o["decision"] == "send")
    got = sorted(send_view(o) for o in outbox(data))
    if not check(want == got, f"{label}: the outbox differs from `trig run`'s sends"):
        print("    run:  ", want[:3], "\n    serve:", got[:3])
    replay_equivalent(rules, data, tmp, label)
    return True


def conformance():
    dirs = [os.path.join(ROOT, "tests", "conformance")]
    if SHARED and os.path.isdir(SHARED):
        dirs += [os.path.join(SHARED, "conformance"), os.path.join(SHARED, "conformance-v2")]
    else:
        print("serve_test: ../shared not found: the contract's own cases are skipped")
    ran = skipped = 0
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            case = os.path.join(d, name)
            if not os.path.exists(os.path.join(case, "expected.tsv")):
                continue
            with tempfile.TemporaryDirectory() as tmp:
                if run_case(case, tmp):
                    ran += 1
                else:
                    skipped += 1
    print(f"serve_test: {ran} conformance cases through serve ({skipped} with --until skipped)")
    check(ran >= 10, "fewer than 10 conformance cases ran")


RULES = """
template reminder { subject "Your cart" body "Come back" }
template thanks { subject "Thanks" body "Thank you" }
trigger cart_abandon:
  when cart_add and idle 15m
  unless purchased within 30d
  send reminder
trigger thank_you:
  when purchased
  send thanks
"""


def write_rules(tmp):
    path = os.path.join(tmp, "rules.trig")
    open(path, "w").write(RULES)
    return [path]


def ident(user):
    return {"type": "identify", "userId": user, "traits": {"email": user + "@example.com"}}


def api_errors(tmp):
    rules = write_rules(tmp)
    data = os.path.join(tmp, "data")
    s = Serve(rules, data)
    try:
        check(s.request("GET", "/healthz", key=None)[0] == 200, "healthz")
        check(s.request("GET", "/readyz", key=None)[0] == 200, "readyz")
        st, body = s.post("/v1/track", {"event": "cart_add", "userId": "u"}, key="wrong")
        check(st == 401 and body["success"] is False, f"wrong write key: {st} {body}")
        check(s.post("/v1/track", {"event": "cart_add", "userId": "u"}, key=None)[0] == 401,
              "no write key")
        st, body = s.post("/v1/track", '{"event": "cart_add", "userId": ')
        check(st == 400 and "malformed JSON" in body["errors"][0]["reason"],
              f"malformed JSON: {st} {body}")
        st, body = s.post("/v1/track", b'{"event":"cart_add","userId":"\xff"}')
        check(st == 400 and "UTF-8" in body["errors"][0]["reason"], f"invalid UTF-8: {st} {body}")
        st, body = s.post("/v1/identify", ident("u1"))
        check(st == 200 and body == {"success": True}, f"identify: {st} {body}")
        st, body = s.post("/v1/track", {"event": "cart_add", "userId": "u1",
                                         "properties": {"product_id": "p"}})
        check(st == 200, f"track: {st} {body}")
        st, body = s.post("/v1/track", {"type": "identify", "userId": "u1"})
        check(st == 400 and "/v1/track" in body["errors"][0]["reason"], f"type mismatch: {body}")
        batch = {"batch": [
            {"type": "track", "event": "cart_add", "userId": "u2",
             "properties": {"product_id": "p"}},
            {"type": "track", "event": "cart_add", "userId": "u2", "properties": {"product_id": 1.5e300}},
            {"type": "track", "event": "cart_add", "properties": {"product_id": "p"}},
            "not an object"]}
        st, body = s.post("/v1/batch", batch)
        idx = sorted(e["index"] for e in body.get("errors", []))
        check(st == 400 and idx == [2, 3], f"partial batch: {st} {body}")
        st, body = s.post("/v1/track", {"event": "cart_add", "userId": "u3",
                                         "properties": {"product_id": "x" * 40000}})
        check(st == 413, f"an event over 32 KB: {st}")
        big = {"batch": [{"type": "track", "event": "cart_add", "userId": "u4",
                          "properties": {"product_id": "x" * 30000}}] * 20}
        check(s.post("/v1/batch", big)[0] == 413, "a batch over 500 KB")
        check(s.request("GET", "/nowhere", key=None)[0] == 404, "unknown path")
        check(s.request("GET", "/v1/track")[0] == 405, "GET on /v1/track")
        check(s.request("GET", "/v1/admin/rules", key=WRITE)[0] == 401, "admin with write key")
        st, body = s.request("GET", "/v1/admin/rules", key=ADMIN, bearer=True)
        check(st == 200 and body["rules"] == ["cart_abandon", "thank_you"], f"rules: {body}")
        st, body = s.request("GET", f"/v1/pixel.gif?k={WRITE}&e=purchased&u=u1&order_id=o9",
                             key=None)
        check(st == 200 and isinstance(body, bytes) and body[:4] == b"GIF8", f"pixel: {st}")
        check(s.clock("2000-01-01T00:00:00Z")[0] == 200, "clock forward")
        check(s.clock("1999-01-01T00:00:00Z")[0] == 409, "clock backwards is 409")
        st, metrics = s.request("GET", "/metrics", key=None)
        text = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
        check('trig_events_accepted_total{type="track"}' in text, "metrics: accepted by type")
    finally:
        check(s.stop() == 0, "api: graceful stop exits 0")
    code, out, err = trig("log", "dead-letter", "--data", data)
    reasons = [o["reason"] for o in lines(out)]
    check(code == 0 and len(reasons) == 5, f"dead letter has the 5 rejected events: {reasons}")
    code, out, err = trig("log", "export", "--data", data)
    names = [o.get("event", o.get("type")) for o in lines(out)]
    check(names == ["identify", "cart_add", "cart_add", "cart_add", "purchased"], f"export: {names}")


def second_process(tmp):
    rules = write_rules(tmp)
    data = os.path.join(tmp, "data")
    s = Serve(rules, data)
    try:
        p = subprocess.run([TRIG, "serve", *rules, "--data", data, "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, env=ENV, timeout=60)
        check(p.returncode == 2 and "in use" in p.stderr,
              f"a second serve on the same dir: {p.returncode} {p.stderr.strip()}")
    finally:
        s.stop()


def timers_survive_kill(tmp):
    rules = write_rules(tmp)
    data = os.path.join(tmp, "data")
    s = Serve(rules, data)
    s.clock("2026-01-01T10:00:00Z")
    s.post("/v1/identify", ident("k1"))
    s.post("/v1/track", {"event": "cart_add", "userId": "k1", "properties": {"product_id": "p"}})
    s.clock("2026-01-01T10:05:00Z")
    s.kill()
    s = Serve(rules, data)
    try:
        check(s.request("GET", "/v1/admin/clock", key=ADMIN, bearer=True)[1]["now"]
              == "2026-01-01T10:05:00Z", "the manual clock survives a restart")
        s.clock("2026-01-01T11:00:00Z")
        s.drain()
    finally:
        s.stop()
    got = [(o["customer"], o["rule"], o["time"]) for o in outbox(data)]
    check(got == [("k1", "cart_abandon", "2026-01-01T10:15:00Z")],
          f"the idle timer fires once after a kill -9: {got}")


def crash_under_load(tmp, rounds=3):
    """kill -9 while a client posts batches with messageIds; restart; prove nothing was lost."""
    rules = write_rules(tmp)
    data = os.path.join(tmp, "data")
    acked, sent = set(), []
    rng = random.Random(7)
    clock = [1767261600]  # 2026-01-01T10:00:00Z

    def stamp():
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock[0]))

    for r in range(rounds):
        s = Serve(rules, data)
        stop = threading.Event()

        def load():
            n = 0
            while not stop.is_set() and n < 400:
                batch = []
                for _ in range(25):
                    user = f"c{rng.randrange(200)}"
                    mid = f"r{r}-{len(sent)}"
                    sent.append(mid)
                    if rng.random() < 0.2:
                        item = dict(ident(user), messageId=mid)
                    else:
                        item = {"type": "track", "userId": user, "messageId": mid,
                                "event": rng.choice(["cart_add", "purchased"]),
                                "properties": {"product_id": "p", "order_id": mid}}
                    batch.append(item)
                try:
                    st, _ = s.post("/v1/batch", {"batch": batch})
                except (OSError, http.client.HTTPException):
                    return
                if st == 200:
                    acked.update(i["messageId"] for i in batch)
                n += 1
                if n % 10 == 0:
                    clock[0] += 300
                    try:
                        s.clock(stamp())
                    except (OSError, http.client.HTTPException):
                        return

        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.4 + 0.3 * r)
        s.kill()
        stop.set()
        t.join()
    s = Serve(rules, data)
    try:
        clock[0] += 86400
        s.clock(stamp())
        s.drain()
    finally:
        check(s.stop() == 0, "crash: graceful stop")
    code, out, _ = trig("log", "export", "--data", data)
    logged = [o.get("messageId") for o in lines(out)]
    missing = acked - set(logged)
    check(len(acked) > 100 and not missing,
          f"crash: {len(acked)} acknowledged events, {len(missing)} not in the log")
    # Only a message in flight at a kill may be handed over again (one per delivery thread,
    # two by default), and then as the same message.
    box = outbox(data)
    ids = [o["message_id"] for o in box]
    twice = len(ids) - len(set(ids))
    check(twice <= 2 * rounds, f"crash: {twice} messages handed over twice")
    by_id = {}
    for o in box:
        check(by_id.setdefault(o["message_id"], o) == o,
              f"crash: {o['message_id']} handed over twice with different contents")
    replay_equivalent(rules, data, tmp, "crash")
    print(f"serve_test: crash: {len(acked)} acknowledged events over {rounds} kills, "
          f"{len(ids)} sends")


STREAM_RULES = RULES + """
template browse { subject "Still looking at {{ product_id }}?" body "It is waiting" }
template big { subject "Big spender" body "Thanks" }
template second { subject "Second look" body "Again" }
trigger browse_abandon:
  when product_view and idle 1h
  unless cart_add within 1d
  priority 1
  send browse
  then after 1d unless purchased send second
trigger big_order:
  when purchased and count(purchased) within 30d >= 2
  priority 3
  send big
"""


def generated_stream(tmp, n=100_000):
    """A generated stream of `n` events through serve in batches, the clock moving between
    them: the outbox equals `trig run`'s sends and a replay of the log gives serve's decisions."""
    rules = os.path.join(tmp, "rules.trig")
    open(rules, "w").write(STREAM_RULES)
    data = os.path.join(tmp, "data")
    rng = random.Random(11)
    t = 1767261600  # 2026-01-01T10:00:00Z
    s = Serve([rules], data)
    events = []
    try:
        posted = 0
        while posted < n:
            s.clock(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))
            batch = []
            for _ in range(min(500, n - posted)):
                user = f"g{rng.randrange(3000)}"
                r = rng.random()
                if r < 0.1:
                    item = {"type": "identify", "userId": user,
                            "traits": {"email": user + "@example.com"}}
                elif r < 0.5:
                    item = {"type": "track", "event": "product_view", "userId": user,
                            "properties": {"product_id": f"p{rng.randrange(50)}"}}
                elif r < 0.8:
                    item = {"type": "track", "event": "cart_add", "userId": user,
                            "properties": {"product_id": f"p{rng.randrange(50)}"}}
                else:
                    item = {"type": "track", "event": "purchased", "userId": user,
                            "properties": {"order_id": f"o{posted}"}}
                if rng.random() < 0.01 and events:  # a client retrying: the same messageId
                    item = dict(events[rng.randrange(len(events))])
                else:
                    item["messageId"] = f"m{posted}"
                batch.append(item)
                events.append(item)
                posted += 1
            st, body = s.post("/v1/batch", {"batch": batch})
            if not check(st == 200, f"stream: batch answered {st} {body}"):
                return
            t += rng.randrange(60, 900)
        s.clock("2027-06-01T00:00:00Z")
        s.drain()
    finally:
        check(s.stop() == 0, "stream: graceful stop")
    code, exported, err = trig("log", "export", "--data", data)
    path = os.path.join(tmp, "export.jsonl")
    open(path, "w").write(exported)
    code, ran, err = trig("run", rules, "--events", path)
    want = sorted(send_view(o) for o in lines(ran))
    got = sorted(send_view(o) for o in outbox(data))
    check(len(want) > 1000 and want == got,
          f"stream: outbox ({len(got)}) differs from `trig run` over the export ({len(want)})")
    replay_equivalent([rules], data, tmp, "stream")
    live = trig("report", rules, "--data", data, "--format", "json")
    replayed = trig("report", rules, "--events", path, "--format", "json")
    check(live[0] == 0 and live[1] == replayed[1] and '"rules"' in live[1],
          f"stream: trig report --data differs from the report of the export: {live[2][:200]}")
    print(f"serve_test: stream: {n} events, {len(got)} sends")


RELOAD_V1 = """
template reminder { subject "Your cart" body "Come back" }
template thanks { subject "Thanks" body "Thank you" }
template thanks2 { subject "Thanks again" body "Thank you again" }
trigger cart_abandon:
  when cart_add and idle 15m
  send reminder
trigger thank_you:
  when purchased
  send thanks
  then after 1d send thanks2
"""
RELOAD_V2 = """
template reminder2 { subject "New cart" body "Come back soon" }
template browse { subject "Browsing" body "Look" }
trigger cart_abandon:
  when cart_add and idle 30m
  send reminder2
trigger browse:
  when product_view
  send browse
"""


def reload(tmp):
    """A reload puts new rules in force between two events: running flows go on under the new
    definition, flows of removed rules end (rule_removed), a broken set is refused, SIGHUP works,
    and a restart replays each part of the log under the rules it was decided with."""
    rules = os.path.join(tmp, "rules.trig")
    open(rules, "w").write(RELOAD_V1)
    data = os.path.join(tmp, "data")
    s = Serve([rules], data)
    admin = dict(key=ADMIN, bearer=True)
    try:
        v1 = s.request("GET", "/v1/admin/rules", **admin)[1]["version"]
        s.clock("2026-01-01T10:00:00Z")
        for u in ("k1", "k2"):
            s.post("/v1/identify", ident(u))
        s.post("/v1/track", {"event": "cart_add", "userId": "k1", "properties": {"product_id": "p"}})
        s.post("/v1/track", {"event": "purchased", "userId": "k2", "properties": {"order_id": "o"}})
        s.clock("2026-01-01T10:05:00Z")
        open(rules, "w").write("trigger broken:\n  when nothing_at_all\n  send nobody\n")
        st, body = s.post("/v1/admin/reload", b"", **admin)
        check(st == 400 and "nothing_at_all" in body["errors"][0]["reason"],
              f"reload: a broken rule set is refused with its diagnostics: {st} {body}")
        check(s.request("GET", "/v1/admin/rules", **admin)[1]["version"] == v1,
              "reload: the old rules keep running after a refused reload")
        open(rules, "w").write(RELOAD_V2)
        st, body = s.post("/v1/admin/reload", b"", **admin)
        check(st == 200 and body.get("version") not in (None, v1), f"reload: {st} {body}")
        st, info = s.request("GET", "/v1/admin/rules", **admin)
        check(info["rules"] == ["cart_abandon", "browse"], f"reload: rules in force {info}")
        s.post("/v1/identify", ident("k3"))  # k1's activity would end its idle wait
        s.post("/v1/track", {"event": "product_view", "userId": "k3",
                             "properties": {"product_id": "p"}})
        s.clock("2026-01-03T00:00:00Z")
        open(rules, "w").write(RELOAD_V1)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while time.time() < deadline and \
                s.request("GET", "/v1/admin/rules", **admin)[1]["version"] != v1:
            time.sleep(0.1)
        check(s.request("GET", "/v1/admin/rules", **admin)[1]["version"] == v1,
              "reload: SIGHUP brought the first rules back")
        s.drain()
    finally:
        check(s.stop() == 0, "reload: graceful stop")
    got = sorted((o["customer"], o["rule"], o["template"], o["time"]) for o in outbox(data))
    want = [("k1", "cart_abandon", "reminder2", "2026-01-01T10:30:00Z"),
            ("k2", "thank_you", "thanks", "2026-01-01T10:00:00Z"),
            ("k3", "browse", "browse", "2026-01-01T10:05:00Z")]
    check(got == want, f"reload: the sends under each rule set: {got}")
    code, out, _ = trig("log", "decisions", "--data", data)
    removed = [(o["customer"], o["rule"]) for o in lines(out) if o.get("reason") == "rule_removed"]
    check(removed == [("k2", "thank_you")], f"reload: the removed rule's flow ended: {removed}")
    versions = {o["rules_version"] for o in lines(out)}
    check(len(versions) == 2, f"reload: decisions carry the version they were made with: {versions}")
    # A restart with other rules on disk: the log is replayed under the rules of each part, the
    # files on disk come into force after it, and no past event sends again.
    open(rules, "w").write(RELOAD_V2.replace("30m", "45m"))
    s = Serve([rules], data)
    try:
        s.clock("2026-01-05T00:00:00Z")
        s.drain()
    finally:
        s.stop()
    again = sorted((o["customer"], o["rule"], o["template"], o["time"]) for o in outbox(data))
    check(again == want, f"reload: a restart with new rules sends nothing for the past: {again}")


def kill_during_reload(tmp):
    """kill -9 at several points of a reload: every restart comes up, no send is handed over
    twice, and the sends are those of a run that was never killed."""
    rules = os.path.join(tmp, "rules.trig")
    sends = None
    for delay in (None, 0.0, 0.02, 0.1):
        open(rules, "w").write(RELOAD_V1)
        data = os.path.join(tmp, f"data-{delay}")
        s = Serve([rules], data)
        s.clock("2026-01-01T10:00:00Z")
        for i in range(30):
            s.post("/v1/identify", ident(f"r{i}"))
            s.post("/v1/track", {"event": "cart_add", "userId": f"r{i}",
                                 "properties": {"product_id": "p"}})
        s.clock("2026-01-01T10:01:00Z")
        open(rules, "w").write(RELOAD_V2)
        if delay is None:  # the reference: no kill
            s.post("/v1/admin/reload", b"", key=ADMIN, bearer=True)
            s.stop()
        else:
            s.proc.send_signal(signal.SIGHUP)
            time.sleep(delay)
            s.kill()
        s = Serve([rules], data)  # the rules on disk are V2 either way
        try:
            s.clock("2026-01-02T00:00:00Z")
            s.drain()
        finally:
            check(s.stop() == 0, f"kill during reload ({delay}): graceful stop")
        ids = [o["message_id"] for o in outbox(data)]
        check(len(ids) == len(set(ids)), f"kill during reload ({delay}): a send handed over twice")
        got = sorted((o["customer"], o["rule"], o["template"], o["time"]) for o in outbox(data))
        if sends is None:
            sends = got
            check(len(got) == 30, f"kill during reload: 30 reminders under V2, got {len(got)}")
        else:
            check(got == sends, f"kill during reload ({delay}): sends differ: {got[:3]}")


def wall_clock(tmp):
    rules = write_rules(tmp)
    data = os.path.join(tmp, "data")
    s = Serve(rules, data, manual=False)
    try:
        s.post("/v1/identify", ident("w1"))
        s.post("/v1/track", {"event": "purchased", "userId": "w1", "properties": {"order_id": "o1"}})
        deadline = time.time() + 10
        while time.time() < deadline and not outbox(data):
            time.sleep(0.05)
    finally:
        s.stop()
    got = [(o["customer"], o["rule"]) for o in outbox(data)]
    check(got == [("w1", "thank_you")], f"wall clock: the rule fired live: {got}")


def main():
    for test in (reload, kill_during_reload, api_errors, second_process, timers_survive_kill,
                 wall_clock, crash_under_load, generated_stream):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"serve_test: {test.__name__}", flush=True)
            test(tmp)
    conformance()
    if FAILURES:
        print(f"serve_test: {len(FAILURES)} failure(s)")
        return 1
    print("serve_test: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
