#!/usr/bin/env python3
"""The click redirect of `trig serve` under a paced load (issue 12, "Metrics and speed").

    python3 bench/click_bench.py --trig build/trig                 # 5,000 req/s for 10 s
    python3 bench/click_bench.py --trig build/trig --rate 5000 --duration 30 --conns 50

Target: GET /c/TOKEN answers in under 1 ms at the 99th percentile at 5,000 requests per second
on loopback (docs/performance.md, "Click redirect").

What it does, on 127.0.0.1 ports the server picks:

1. `trig serve` (manual clock, outbox delivery) with one rule and an HTML template holding one
   link; `--customers` customers (default 500) each get one message, so the outbox holds that
   many distinct click tokens.
2. The click URLs go to a wrk script (the LUA text below, written into a temporary file): every
   connection GETs them in turn and waits DELAY ms before each request (wrk's `delay`), with
   DELAY = conns x 1000 / rate: `--conns` connections at `--rate` requests per second in all.
   wrk is Debian's (no -R option; the delay paces it). Its latency is from a request's write to
   the last byte of the answer.
3. A warm-up run (2 s), then the measured run; prints the achieved rate, the latency
   percentiles and the status counts, and checks every answer was a 302 (wrk counts any status
   over 399 as an error) and that serve recorded one `email_click` per answer
   (`trig_clicks_total` in /metrics).

Each recorded click is an `email_click` event made durable (RocksDB, fsync'd in a group commit)
before the 302 goes out: the measurement includes that write. Never run by `make test`: timings
are not tests.
"""
import argparse, base64, http.client, json, os, re, shutil, signal, subprocess, sys, tempfile
import time

LUA = r"""
local requests = {}
local n = 0
local i = 0
local delay_ms = 0
local thread_no = 0

function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  delay_ms = tonumber(args[2]) or 0
  for line in io.lines(args[1]) do
    if #line > 0 then
      n = n + 1
      requests[n] = wrk.format("GET", line)
    end
  end
  i = ((thread_no or 0) * 7919) % n
  if delay_ms > 0 then
    function delay()
      return delay_ms
    end
  end
end

function request()
  i = i % n + 1
  return requests[i]
end

function done(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"""

RULES = """
trigger cart_nudge:
  when cart_add
  send nudge
"""
NUDGE = """Subject: Your cart

<html><body><p><a href="https://shop.example.com/cart">See your cart</a></p></body></html>
"""
WRITE, ADMIN = "wk-bench", "ak-bench"


class Serve:
    def __init__(self, trig, rules, data):
        env = dict(os.environ, TRIG_WRITE_KEY=WRITE, TRIG_ADMIN_KEY=ADMIN,
                   TRIG_TRACKING_SECRET="bench-secret")
        self.proc = subprocess.Popen([trig, "serve", rules, "--data", data, "--listen",
                                      "127.0.0.1:0", "--clock", "manual"],
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("serve did not start")

    def request(self, method, path, body=None, key=WRITE):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Authorization": "Basic " + base64.b64encode((key + ":").encode()).decode()}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def metric(s, name):
    st, text = s.request("GET", "/metrics")
    total = 0.0
    for line in text.decode().splitlines():
        m = re.match(r"^(\w+)(?:\{.*\})? (\S+)$", line)
        if m and m.group(1) == name:
            total += float(m.group(2))
    return total


def cpu_seconds(pid):
    """User + system CPU seconds of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(port, urls, duration, conns, delay_ms, lua):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-s", lua, f"http://127.0.0.1:{port}", "--", urls, str(delay_ms)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed: {p.stderr[-500:]}")
    line = next(l for l in p.stdout.splitlines() if l.startswith("WRKJSON "))
    return json.loads(line[8:]), p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trig", required=True)
    ap.add_argument("--rate", type=int, default=5000, help="requests per second in all")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--duration", type=int, default=10, help="seconds of the measured run")
    ap.add_argument("--customers", type=int, default=500)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("click_bench: wrk is not installed (apt-get install wrk)")
        return 2
    delay_ms = max(1, round(args.conns * 1000 / args.rate))
    tmp = tempfile.mkdtemp(prefix="trig-click-bench-")
    s = None
    try:
        os.makedirs(os.path.join(tmp, "templates"))
        with open(os.path.join(tmp, "templates", "nudge.html"), "w") as f:
            f.write(NUDGE)
        rules = os.path.join(tmp, "rules.trig")
        with open(rules, "w") as f:
            f.write(RULES)
        data = os.path.join(tmp, "data")
        s = Serve(os.path.abspath(args.trig), rules, data)
        s.request("POST", "/v1/admin/clock", {"now": "2026-03-02T10:00:00Z"}, key=ADMIN)
        batch = []
        for i in range(args.customers):
            c = f"c{i}"
            batch.append({"type": "identify", "userId": c, "traits": {"email": c + "@example.com"}})
            batch.append({"type": "track", "event": "cart_add", "userId": c,
                          "properties": {"product_id": "p1"}})
        for k in range(0, len(batch), 400):
            st, body = s.request("POST", "/v1/batch", {"batch": batch[k:k + 400]})
            if st != 200:
                raise RuntimeError(f"batch: {st} {body[:300]}")
        s.request("POST", "/v1/admin/clock", {"now": "2026-03-02T10:01:00Z"}, key=ADMIN)
        st, _ = s.request("POST", "/v1/admin/drain", b"", key=ADMIN)
        paths = []
        with open(os.path.join(data, "outbox.jsonl")) as f:
            for line in f:
                m = re.search(r"https?://[^/\"]+(/c/[A-Za-z0-9_-]+)", json.loads(line).get("html", ""))
                if m:
                    paths.append(m.group(1))
        if len(paths) != args.customers:
            raise RuntimeError(f"{len(paths)} click links in the outbox, {args.customers} expected")
        urls = os.path.join(tmp, "urls.txt")
        with open(urls, "w") as f:
            f.write("\n".join(paths) + "\n")
        lua = os.path.join(tmp, "click.lua")
        with open(lua, "w") as f:
            f.write(LUA)

        run_wrk(s.port, urls, 2, args.conns, delay_ms, lua)  # warm-up
        before = metric(s, "trig_clicks_total")
        cpu_before = cpu_seconds(s.proc.pid)
        r, raw = run_wrk(s.port, urls, args.duration, args.conns, delay_ms, lua)
        time.sleep(0.5)
        cpu = cpu_seconds(s.proc.pid) - cpu_before
        recorded = metric(s, "trig_clicks_total") - before
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        rate = r["requests"] / (r["duration_us"] / 1e6)
        lat = r["latency_us"]
        errors = sum(r["errors"].values())
        print(f"click redirect: {args.conns} connections, {delay_ms} ms between a connection's "
              f"requests (target {args.rate}/s), {args.duration} s")
        print(f"  achieved {rate:,.0f} req/s, {r['requests']:,} requests, {errors} errors")
        print(f"  latency us: mean {lat['mean']:.0f}, p50 {lat['p50']}, p90 {lat['p90']}, "
              f"p99 {lat['p99']}, p99.9 {lat['p999']}, max {lat['max']}")
        print(f"  serve's CPU: {cpu:.2f} s in all threads, {cpu / max(1, r['requests']) * 1e6:.0f} us "
              f"per click (the redirect, the event's decode, log write and engine); load "
              f"average {load} at the end")
        print(f"  clicks recorded by serve in the run: {recorded:,.0f} "
              f"({'= answers' if abs(recorded - r['requests']) <= args.conns else 'MISMATCH'})")
        verdict = "PASS" if lat["p99"] < 1000 and errors == 0 else "FAIL"
        print(f"  target p99 < 1 ms: {verdict}")
        print(json.dumps({"rate": round(rate), "latency_us": lat, "errors": r["errors"],
                          "recorded": recorded, "serve_cpu_s": round(cpu, 3), "load": load}))
        return 0 if verdict == "PASS" else 1
    finally:
        if s:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
