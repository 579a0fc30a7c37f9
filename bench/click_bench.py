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
   connection GETs them in turn and waits before each request (wrk's `delay`) a time drawn from
   an exponential distribution of mean DELAY = conns x 1000 / rate: `--conns` independent
   clickers whose requests arrive together as a Poisson process at `--rate` per second.
   `--arrivals step` waits exactly DELAY instead: the connections then start together and stay
   in step, sending bursts of `--conns` requests at once (a harsher load than the rate says: at
   50 connections, the last of a burst waits behind 49 others). wrk is Debian's (no -R option;
   the delay paces it). Its latency is from a request's write to the last byte of the answer.
3. A warm-up run (2 s), then the measured run; prints the achieved rate, the latency
   percentiles and the status counts, and checks every answer was a 302 (wrk counts any status
   over 399 as an error) and that serve recorded one `email_click` per answer
   (`trig_clicks_total` in /metrics).
4. Unless --no-peer, in the same run with the same pacing: the same links with a broken token
   (serve answers 400 and records nothing: the HTTP and HMAC part of a click alone), then nginx
   answering every link with a 302 (one worker process, NGINX_CONF below): the floor of a
   redirect over loopback with this client on this machine as busy as it is; the ratio of
   trig's p99 to nginx's is printed.

Each recorded click is an `email_click` event queued for the next group commit before the 302 is
sent; the 302 does not wait for the synced write (docs/serve.md, "Engagement tracking"). The
per-thread CPU and the time each serve thread waited runnable for a CPU
(/proc/PID/task/*/schedstat) are printed for the measured run. Never run by `make test`:
timings are not tests.
"""
import argparse, http.client, json, os, re, shutil, signal, subprocess, sys, tempfile
import time

LUA = r"""
local requests = {}
local n = 0
local i = 0
local delay_ms = 0
local poisson = true
local thread_no = 0

function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  delay_ms = tonumber(args[2]) or 0
  poisson = args[3] ~= "step"
  math.randomseed(12345 + (thread_no or 0))
  for line in io.lines(args[1]) do
    if #line > 0 then
      n = n + 1
      requests[n] = wrk.format("GET", line)
    end
  end
  i = ((thread_no or 0) * 7919) % n
  if delay_ms > 0 then
    -- wrk calls delay() before every request, the first included. "step": every connection
    -- waits DELAY ms, so all of them start together and stay in step (bursts of --conns requests
    -- at once). Otherwise each wait is drawn from an exponential distribution of mean DELAY
    -- (rounded to wrk's whole milliseconds): independent clickers, whose requests together
    -- arrive as a Poisson process of the asked rate.
    function delay()
      if not poisson then return delay_ms end
      return math.floor(-math.log(1 - math.random()) * delay_ms + 0.5)
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.serve_process import ADMIN, WRITE, ServeProcess  # noqa: E402

# The peer: nginx answering every click URL with the same 302, one worker process (serve has one
# HTTP I/O thread), in the same run with the same wrk pacing: the floor of a redirect over
# loopback with this client on this machine while it is as busy as it is.
NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path @DIR@/body;
  proxy_temp_path @DIR@/proxy;
  fastcgi_temp_path @DIR@/fastcgi;
  uwsgi_temp_path @DIR@/uwsgi;
  scgi_temp_path @DIR@/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:@PORT@;
    location / {
      add_header Cache-Control no-store;
      return 302 https://shop.example.com/cart?utm_source=trig&utm_campaign=cart_nudge;
    }
  }
}
"""


class Nginx:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        import socket
        with socket.socket() as so:
            so.bind(("127.0.0.1", 0))
            self.port = so.getsockname()[1]
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(NGINX_CONF.replace("@DIR@", self.dir).replace("@PORT@", str(self.port)))
        self.proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", path, "-p",
                                      self.dir, "-e", os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/")
                c.getresponse().read()
                c.close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def thread_stats(pid):
    """name, CPU ns, ns waited runnable for a CPU, per thread (/proc/PID/task/*/schedstat)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                cpu, wait, _ = (int(x) for x in f.read().split())
            out[tid] = (name, cpu, wait)
        except OSError:
            pass
    return out


def thread_report(before, after, seconds, requests):
    rows = []
    for tid, (name, cpu, wait) in after.items():
        b = before.get(tid, (name, 0, 0))
        dcpu, dwait = (cpu - b[1]) / 1e9, (wait - b[2]) / 1e9
        if dcpu > 0.005 or dwait > 0.005:
            rows.append(f"{name}/{tid} {dcpu / seconds:.2f} cores, "
                        f"{dcpu / max(1, requests) * 1e6:.1f} us per request "
                        f"(waited for a CPU {dwait:.2f} s)")
    return "; ".join(rows)


class Serve(ServeProcess):
    def request(self, method, path, body=None, key=WRITE):
        return self.http(method, path, body, key)


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


def run_wrk(port, urls, duration, conns, delay_ms, lua, arrivals):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-s", lua, f"http://127.0.0.1:{port}", "--", urls, str(delay_ms), arrivals]
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
    ap.add_argument("--arrivals", choices=["poisson", "step"], default="poisson",
                    help="poisson: each connection waits a random (exponential) time of mean "
                    "DELAY between requests; step: exactly DELAY, so the connections send in "
                    "bursts of --conns at once")
    ap.add_argument("--no-peer", action="store_true", help="skip the nginx and invalid-token runs")
    ap.add_argument("--during", help="a shell command run beside the measured run, {pid} being "
                    "serve's (for instance 'perf sched record -o sched.data -- sleep 5')")
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

        run_wrk(s.port, urls, 2, args.conns, delay_ms, lua, args.arrivals)  # warm-up
        before = metric(s, "trig_clicks_total")
        cpu_before = cpu_seconds(s.proc.pid)
        threads_before = thread_stats(s.proc.pid)
        during = (subprocess.Popen(args.during.replace("{pid}", str(s.proc.pid)), shell=True)
                  if args.during else None)
        r, raw = run_wrk(s.port, urls, args.duration, args.conns, delay_ms, lua, args.arrivals)
        if during:
            during.wait()
        threads = thread_report(threads_before, thread_stats(s.proc.pid), args.duration,
                                r["requests"])
        time.sleep(0.5)
        cpu = cpu_seconds(s.proc.pid) - cpu_before
        recorded = metric(s, "trig_clicks_total") - before
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        rate = r["requests"] / (r["duration_us"] / 1e6)
        lat = r["latency_us"]
        errors = sum(r["errors"].values())
        spacing = ("exactly" if args.arrivals == "step" else "on average (exponential)")
        print(f"click redirect: {args.conns} connections, {delay_ms} ms between a connection's "
              f"requests {spacing} (target {args.rate}/s), {args.duration} s")
        print(f"  achieved {rate:,.0f} req/s, {r['requests']:,} requests, {errors} errors")
        print(f"  latency us: mean {lat['mean']:.0f}, p50 {lat['p50']}, p90 {lat['p90']}, "
              f"p99 {lat['p99']}, p99.9 {lat['p999']}, max {lat['max']}")
        print(f"  serve's CPU: {cpu:.2f} s in all threads, {cpu / max(1, r['requests']) * 1e6:.0f} us "
              f"per click (the redirect, the event's decode, log write and engine); load "
              f"average {load} at the end")
        print(f"  clicks recorded by serve in the run: {recorded:,.0f} "
              f"({'= answers' if abs(recorded - r['requests']) <= args.conns else 'MISMATCH'})")
        print(f"  serve's threads: {threads}")
        print(f"  serve's log lines during the whole bench: {s.log_lines}")
        verdict = "PASS" if lat["p99"] < 1000 and errors == 0 else "FAIL"
        print(f"  target p99 < 1 ms: {verdict}")
        result = {"rate": round(rate), "latency_us": lat, "errors": r["errors"],
                  "recorded": recorded, "serve_cpu_s": round(cpu, 3), "load": load}
        if not args.no_peer:
            # The same pacing on links whose token does not verify: 400, nothing recorded (the
            # HTTP and HMAC part of a click alone); then nginx's 302.
            bad = os.path.join(tmp, "bad.txt")
            with open(bad, "w") as f:
                f.write("\n".join(p[:-3] + ("AAA" if p[-3:] != "AAA" else "BBB")
                                   for p in paths) + "\n")
            bad_before = thread_stats(s.proc.pid)
            rb, _ = run_wrk(s.port, bad, args.duration, args.conns, delay_ms, lua, args.arrivals)
            bad_threads = thread_report(bad_before, thread_stats(s.proc.pid), args.duration,
                                        rb["requests"])
            ng = Nginx(tmp)
            try:
                run_wrk(ng.port, urls, 2, args.conns, delay_ms, lua, args.arrivals)
                rn, _ = run_wrk(ng.port, urls, args.duration, args.conns, delay_ms, lua, args.arrivals)
            finally:
                ng.stop()
            for name, x in (("trig, invalid tokens (400, nothing recorded)", rb),
                            ("nginx 302 (the peer)", rn)):
                xl = x["latency_us"]
                print(f"  {name}: {x['requests'] / (x['duration_us'] / 1e6):,.0f} req/s, latency us "
                      f"p50 {xl['p50']}, p90 {xl['p90']}, p99 {xl['p99']}, p99.9 {xl['p999']}, "
                      f"max {xl['max']}")
            print(f"  serve's threads with broken tokens: {bad_threads}")
            print(f"  trig's p99 / nginx's p99: {lat['p99'] / max(1, rn['latency_us']['p99']):.2f}")
            result["invalid_latency_us"] = rb["latency_us"]
            result["nginx_latency_us"] = rn["latency_us"]
            result["nginx_rate"] = round(rn["requests"] / (rn["duration_us"] / 1e6))
        print(json.dumps(result))
        return 0 if verdict == "PASS" else 1
    finally:
        if s:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
