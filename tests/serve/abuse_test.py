#!/usr/bin/env python3
"""`trig serve` against hostile HTTP clients (docs/serve.md; runtime/serve/http_server.h lists
the limits), through the real service on loopback, started by this script.

- Slowloris: clients that send half a request's headers and then a byte a second are cut off
  (the 10 s request timeout), and while they trickle everybody else gets answers at once.
- 2,000 idle connections (fewer when the fd limit is lower; said so): all accepted (the
  connection gauge of /metrics counts them), requests on other connections still answered
  quickly, and connections that never send a byte are closed by the server after the request
  timeout.
- A body of 10 MB: 413 before the body is read (Content-Length; with `Expect: 100-continue`
  no "100 Continue" first), or after the limit (chunked), within a second, the connection closed.
- 500 pipelined requests in one write: 500 answers in order.
- Invalid UTF-8 in a body: 400; unknown paths: 404; headers over 16 KB: 431; bytes that are not
  HTTP (a TLS hello, binary noise): 400 and the connection closed. The service stays up.
- After all that a valid event still gets 200 and `trig log export --data DIR` shows it; the
  service stops with exit 0 on SIGTERM.

usage: abuse_test.py TRIG
"""
import os, resource, select, socket, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# serve_test reads TRIG from sys.argv[1] as this file does: its Serve class, trig(), lines().
from serve_test import FAILURES, check, metric, WRITE, Serve, lines, trig  # noqa: E402

RULES = """
template thanks { subject "Thanks" body "Thank you" }
trigger thank_you:
  when purchased
  send thanks
"""
REQUEST_TIMEOUT = 10  # HttpServerOptions::requestTimeout, which serve does not change
IDLE = 2000


def connect(s, timeout=5):
    c = socket.create_connection(("127.0.0.1", s.port), timeout=timeout)
    return c


def read_answer(c, timeout=5):
    """Reads until the end of one answer's headers (and its body by Content-Length), or until
    the connection closes; the bytes read and whether the server closed the connection."""
    c.settimeout(timeout)
    data = b""
    deadline = time.time() + timeout
    closed = False
    while time.time() < deadline:
        try:
            chunk = c.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            if len(body) >= length:
                break
    return data, closed


def status_of(data):
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and data.startswith(b"HTTP/1.") and \
        parts[1].isdigit() else None


def closed_soon(c, timeout=3):
    """True when the server closes `c` within `timeout` (what it still sends is read and
    dropped)."""
    c.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if not c.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def raw(s, payload, timeout=5, wait_close=3):
    """Sends `payload` on a fresh connection; the answer's status and whether the server closed
    the connection (within `wait_close` seconds of the answer)."""
    c = connect(s)
    try:
        c.sendall(payload)
        data, closed = read_answer(c, timeout)
        return status_of(data), data, closed or (wait_close > 0 and closed_soon(c, wait_close))
    finally:
        c.close()


def quick(s, label, limit=1.0):
    """A /healthz and a valid track on fresh connections: 200 each, within `limit` seconds."""
    t = time.time()
    st1 = s.request("GET", "/healthz", key=None)[0]
    st2, body = s.post("/v1/track", {"event": "page_view", "userId": "ok",
                                      "properties": {"url": "/"}})
    dt = time.time() - t
    check(st1 == 200 and st2 == 200, f"{label}: healthz {st1}, track {st2} {body}")
    check(dt < limit, f"{label}: two requests took {dt:.2f} s")
    return dt


def slowloris_and_idle(s):
    """Slowloris clients and 2,000 idle connections at once, for one request timeout."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    idle_n = min(IDLE, soft - 200)
    if idle_n < IDLE:
        print(f"abuse_test: the fd limit is {soft}: {idle_n} idle connections, not {IDLE}")
    loris, idle = [], []
    cut = {}
    try:
        started = time.time()
        for i in range(20):
            c = connect(s)
            c.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ")
            loris.append(c)

        def trickle():
            while len(cut) < len(loris) and time.time() - started < REQUEST_TIMEOUT + 5:
                for i, c in enumerate(loris):
                    if i in cut:
                        continue
                    try:
                        c.sendall(b"A")
                        c.setblocking(False)
                        try:
                            if c.recv(4096) == b"":
                                cut[i] = time.time() - started
                        except BlockingIOError:
                            pass
                        finally:
                            c.setblocking(True)
                    except OSError:
                        cut[i] = time.time() - started
                time.sleep(1)

        th = threading.Thread(target=trickle, daemon=True)
        th.start()
        for i in range(idle_n):
            idle.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        opened = time.time() - started
        deadline = time.time() + 5
        gauge = None
        while time.time() < deadline:
            gauge = metric(s, "trig_http_connections")
            if gauge is not None and gauge >= idle_n + len(loris):
                break
            time.sleep(0.1)
        check(gauge is not None and gauge >= idle_n + len(loris),
              f"idle: the server holds every connection: trig_http_connections {gauge}, "
              f"{idle_n} idle + {len(loris)} slowloris opened")
        slowest = 0
        while th.is_alive() and time.time() - started < REQUEST_TIMEOUT - 1:
            slowest = max(slowest, quick(s, "while idle connections and slowloris wait"))
            time.sleep(0.2)
        th.join(REQUEST_TIMEOUT + 6)
        check(len(cut) == len(loris), f"slowloris: {len(cut)} of {len(loris)} cut off")
        if cut:
            first, last = min(cut.values()), max(cut.values())
            check(REQUEST_TIMEOUT - 1 <= first and last <= REQUEST_TIMEOUT + 3,
                  f"slowloris: cut off between {first:.1f} s and {last:.1f} s "
                  f"(the request timeout is {REQUEST_TIMEOUT} s)")
        # Idle connections opened at the same time are past the request timeout too: closed.
        time.sleep(max(0, started + opened + REQUEST_TIMEOUT + 1.5 - time.time()))
        still = 0
        for c in idle:
            c.setblocking(False)
            try:
                if c.recv(1) != b"":
                    still += 1
            except BlockingIOError:
                still += 1
            except OSError:
                pass
        check(still == 0, f"idle: {still} of {len(idle)} silent connections still open after "
                          f"the request timeout")
        quick(s, "after the slowloris and idle connections")
        print(f"abuse_test: {len(loris)} slowloris clients, {idle_n} idle connections opened in "
              f"{opened:.2f} s; slowest request meanwhile {slowest * 1000:.0f} ms")
    finally:
        for c in loris + idle:
            c.close()
    deadline = time.time() + 5
    gauge = None
    while time.time() < deadline:
        gauge = metric(s, "trig_http_connections")
        if gauge is not None and gauge <= 2:
            break
        time.sleep(0.1)
    check(gauge is not None and gauge <= 2, f"idle: connections after closing them all: {gauge}")


def auth():
    import base64
    return b"Authorization: Basic " + base64.b64encode((WRITE + ":").encode()) + b"\r\n"


def big_bodies(s):
    ten = 10 * 1024 * 1024
    # Content-Length says 10 MB: 413 before the body is read.
    c = connect(s)
    try:
        t = time.time()
        c.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n" + auth() +
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % ten +
                  b'{"batch":[' + b" " * 65536)
        data, closed = read_answer(c, 3)
        dt = time.time() - t
        check(status_of(data) == 413, f"10 MB by Content-Length: {data[:80]!r}")
        check(dt < 1.0, f"10 MB by Content-Length: answered in {dt:.2f} s")
        check(b"connection: close" in data.lower(), "10 MB: the answer says Connection: close")
        check(closed or closed_soon(c), "10 MB by Content-Length: the connection closed")
    finally:
        c.close()
    # Expect: 100-continue with 10 MB: 413 at once, never "100 Continue".
    st, data, closed = raw(s, b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n" + auth() +
                           b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % ten)
    check(st == 413 and closed, f"10 MB with Expect: 100-continue: {data[:80]!r}, closed {closed}")
    # Chunked, no length: 413 once past the limit, while the client is still sending.
    c = connect(s)
    try:
        t = time.time()
        c.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n" + auth() +
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
        sent, data = 0, b""
        c.setblocking(False)
        while sent < ten and time.time() - t < 5:
            r, w, _ = select.select([c], [c], [], 1)
            if r:
                break
            if w:
                try:
                    sent += c.send(chunk)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    break
        c.setblocking(True)
        data, closed = read_answer(c, 3)
        dt = time.time() - t
        check(status_of(data) == 413, f"10 MB chunked: {data[:80]!r} after {sent} bytes sent")
        check(sent < ten, f"10 MB chunked: answered before the whole body ({sent} bytes sent)")
        check(dt < 1.5, f"10 MB chunked: answered in {dt:.2f} s")
    finally:
        c.close()
    quick(s, "after 10 MB bodies")


def bad_requests(s):
    body = b'{"event":"cart_add","userId":"u\xff\xfe","properties":{"product_id":"p\xc3"}}'
    st, data = s.post("/v1/track", body)
    check(st == 400 and "UTF-8" in str(data), f"invalid UTF-8 body: {st} {data}")
    st, data = s.post("/v1/batch", b'{"batch":[{"type":"track","event":"cart_add",'
                                   b'"userId":"\xed\xa0\x80"}]}')  # a UTF-8-encoded surrogate
    check(st == 400, f"a surrogate in a batch: {st} {data}")
    st, data = s.post("/v1/track", b"\x00\x01\x02\xff" * 100)
    check(st == 400, f"a binary body: {st} {data}")
    for method, path in (("GET", "/nope"), ("POST", "/v1/nope"), ("GET", "/v1"),
                         ("GET", "/../../etc/passwd"), ("DELETE", "/metricsx"),
                         ("GET", "/v1/track/extra")):
        st = s.request(method, path)[0]
        check(st == 404, f"{method} {path}: {st}")
    st, data, closed = raw(s, b"GET /v1/track%00 HTTP/1.1\r\nHost: x\r\n\r\n", wait_close=0)
    check(st == 400, f"an encoded NUL in the path: {data[:80]!r}")
    st, data, closed = raw(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                           b"\r\n\r\n")
    check(st == 431 and closed, f"20 KB of headers: {data[:80]!r}, closed {closed}")
    garbage = [
        ("a TLS client hello", bytes.fromhex("160301020001000200fc0303") + os.urandom(500)),
        ("binary noise", bytes(range(256)) * 4 + b"\r\n\r\n"),
        ("text that is no request", b"HELLO THERE\r\n\r\n"),
        ("a bad version", b"GET / HTTP/9.9\r\n\r\n"),
        ("a request line of spaces", b"  \t  \r\n\r\n"),
        ("a bad chunk size", b"POST /v1/track HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                             b"\r\n\r\nzz\r\n"),
        ("two lengths", b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                        b"Content-Length: 2\r\n\r\nab"),
    ]
    for what, payload in garbage:
        st, data, closed = raw(s, payload)
        check(st == 400 and closed, f"{what}: {data[:60]!r}, closed {closed}")
    # 500 pipelined requests in one write: 500 answers, in order, on the one connection.
    c = connect(s)
    try:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 499 +
                  b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got, deadline = b"", time.time() + 5
        c.settimeout(5)
        while time.time() < deadline:
            chunk = c.recv(1 << 16)
            if not chunk:
                break
            got += chunk
        answers = got.count(b"HTTP/1.1 200 ")
        check(answers == 499 and got.count(b"HTTP/1.1 404 ") == 1 and
              got.rfind(b"HTTP/1.1 404 ") > got.rfind(b"HTTP/1.1 200 "),
              f"pipelined: {answers} of 499 answered 200, then the 404")
    finally:
        c.close()
    # The handler of a connection that vanishes mid-request is no trouble either.
    c = connect(s)
    c.sendall(b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    c.close()
    quick(s, "after the bad requests")


def main():
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.trig")
        with open(rules, "w") as f:
            f.write(RULES)
        data = os.path.join(tmp, "data")
        s = Serve([rules], data)
        try:
            for test in (bad_requests, big_bodies, slowloris_and_idle):
                t = time.time()
                try:
                    test(s)
                except Exception as e:  # a crash of the test is a failure, the others still run
                    check(False, f"{test.__name__}: {type(e).__name__}: {e}")
                check(s.proc.poll() is None, f"serve still running after {test.__name__}")
                print(f"abuse_test: {test.__name__} {time.time() - t:.1f} s", flush=True)
            st, body = s.post("/v1/identify", {"userId": "last", "messageId": "m-last",
                                                "traits": {"email": "last@example.com"}})
            check(st == 200, f"a valid event after all that: {st} {body}")
            code, out, err = trig("log", "export", "--data", data)
            check(code == 0, f"log export beside the service: exit {code} {err}")
            check(any(o.get("messageId") == "m-last" for o in lines(out)),
                  "log export shows the last event")
            check(not any("\ufffd" in str(o) or o.get("userId", "").startswith("u\udcff")
                          for o in lines(out)), "no invalid UTF-8 event in the log")
        finally:
            try:
                code = s.stop()
            except subprocess.TimeoutExpired:
                s.kill()
                code = None
            check(code == 0, f"graceful stop after the abuse: exit {code}")
    print(f"abuse_test: {time.time() - started:.1f} s in all")
    if FAILURES:
        print(f"abuse_test: {len(FAILURES)} failure(s)")
        return 1
    print("abuse_test: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
