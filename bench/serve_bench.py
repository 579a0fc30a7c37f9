#!/usr/bin/env python3
"""HTTP ingest of `trig serve` beside nginx, in one run (issue 11).

    python3 bench/serve_bench.py --trig build/trig            # 10 s per wrk run, ~3 minutes
    python3 bench/serve_bench.py --trig build/trig --quick    # 3 s per wrk run, ~1 minute
    python3 bench/serve_bench.py --trig build/trig --profile  # also perf record the batch run
    python3 bench/serve_bench.py ... --update-docs            # the tables into docs/performance.md

What it does, on 127.0.0.1 ports the servers pick:

1. A rule set of 100 rules: the first 99 of W1 (bench/harness/workload.py, stateless filters over
   the prelude's events, as bench/run.py's W1-100) and `probe`, a rule without `idle` on an event
   of its own, whose sends the latency measurement watches. Its JIT code is compiled into a
   cache first (`trig compile`), so that no background compile competes with the measurement.
2. 100,000 events of W1's stream (10k customers, Zipf), as bodies for `wrk`: 1,000 `/v1/batch`
   bodies of 100 events, 100,000 `/v1/track` bodies of one. The stream's customers have no
   e-mail address, so every firing is a decision record (`no_email`) and nothing is delivered
   (as in bench/run.py); each request's events are fsync'd (group commit) before its 200.
3. For each of the two workloads: a fresh data directory and `trig serve`, a warm-up wrk run, the
   measured wrk run (bench/serve/post.lua, `wrk --latency`); then the same against nginx
   (bench/serve/nginx.conf.in: one worker answering `return 200 '{"success":true}'`), the limit
   of HTTP with this client on this machine. trig/nginx is the ratio of the rates.
4. Correctness of the measurement: the events serve counted as accepted during the measured run
   (`/metrics`) against wrk's 2xx count x events per request (wrk stops with up to one request
   per connection in flight, which the server may still accept: the difference must lie in
   [0, connections x events per request]); and after the stop, `trig log export | wc -l` must
   equal every event serve accepted (warm-up and profile runs included).
5. Event -> send latency: a fresh service; probe customers identified first; then probe events
   posted to /v1/track at a fixed rate from this script (one keep-alive connection, each due at
   t0 + i / rate), first on an idle service, then beside a wrk load of /v1/track paced (wrk's
   `delay`) to about half of the maximum track rate measured in step 3. A thread tails
   DIR/outbox.jsonl; latency = when the probe's line appeared there - when the probe was due
   (so a late send counts). That is event -> durable append -> engine -> decision -> outbox
   store -> delivery thread -> line written: the whole path a send takes, not the decision alone.
   *ack* is due -> the 200 (the durable append).
6. Peak RSS of serve (VmHWM), CPU seconds of each of its threads during the measured runs, and
   with --profile a `perf record -g` (cpu-clock) of serve during an extra batch run.

Everything it starts is stopped in finally blocks. Never run by `make test`: timings are not tests.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from harness import translate, workload  # noqa: E402

LUA = os.path.join(BENCH_DIR, "serve", "post.lua")
NGINX_CONF = os.path.join(BENCH_DIR, "serve", "nginx.conf.in")
DOCS_BEGIN = "<!-- bench:serve:begin -->"
DOCS_END = "<!-- bench:serve:end -->"

WRITE_KEY = "bench-write-key"
ADMIN_KEY = "bench-admin-key"
AUTH = "Basic " + base64.b64encode((WRITE_KEY + ":").encode()).decode()

MODES = {
    "full": dict(duration=10, warmup=2, probe_s=10),
    "quick": dict(duration=3, warmup=1, probe_s=3),
}

TARGETS = {"batch_events_per_s": 200_000, "track_requests_per_s": 30_000, "track_p99_ms": 5.0}

PROBE_RULES = """
# The latency probe: a rule without idle on an event of its own, every firing a send.
event bench_probe from "Bench Probe" { n?: int }
template probe_note { subject "Probe" body "A probe of the benchmark." }
trigger probe: when bench_probe priority 1000 send probe_note
"""


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def cpu_ticks(pid: int) -> dict[int, tuple[str, int, int]]:
    """tid -> (comm, utime + stime in clock ticks, ns spent runnable but waiting for a CPU) of
    every thread of a process."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                wait_ns = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            wait_ns = 0
        out[int(tid)] = (comm, int(fields[11]) + int(fields[12]), wait_ns)
    return out


def cpu_diff(pid: int, before: dict, after: dict, wall_s: float) -> list[dict]:
    hz = os.sysconf("SC_CLK_TCK")
    rows = []
    for tid, (comm, t, wait) in after.items():
        b = before.get(tid, (comm, 0, 0))
        d = (t - b[1]) / hz
        if d > 0:
            name = "main (HTTP I/O)" if tid == pid else f"{comm}/{tid}"
            rows.append({"tid": tid, "thread": name, "cpu_s": round(d, 2), "cores": round(d / wall_s, 2),
                         "waited_cpu_s": round((wait - b[2]) / 1e9, 2)})
    rows.sort(key=lambda r: -r["cpu_s"])
    return rows


def proc_hwm_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ------------------------------------------------------------------------------------- servers

class Serve:
    """One `trig serve` on a port it picks (127.0.0.1:0), wall clock, outbox delivery."""

    def __init__(self, trig: str, rules: str, data: str, env: dict) -> None:
        self.data = data
        self.log_lines: list[str] = []
        cmd = [trig, "serve", rules, "--data", data, "--listen", "127.0.0.1:0"]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log_lines.append(line)
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise RuntimeError("trig serve did not start: " + "".join(self.log_lines)[-2000:])
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.log_lines.append(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=30) as r:
            return r.read().decode()

    def accepted(self) -> int:
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("trig_events_accepted_total"):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def settled_accepted(self, quiet_s: float = 0.5, timeout: float = 30) -> int:
        """The accepted count once it stopped moving (requests in flight when wrk stopped)."""
        last, since = self.accepted(), time.time()
        deadline = time.time() + timeout
        while time.time() < deadline:
            time.sleep(0.1)
            now = self.accepted()
            if now != last:
                last, since = now, time.time()
            elif time.time() - since >= quiet_s:
                break
        return last

    def post(self, path: str, body: bytes) -> int:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method="POST",
                                     headers={"Authorization": AUTH, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode


class Nginx:
    """nginx in the foreground, one process, everything it writes in its own temp dir."""

    def __init__(self, binary: str, tmp: str) -> None:
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        with open(NGINX_CONF) as f:
            conf = f.read().replace("@DIR@", self.dir).replace("@PORT@", str(self.port))
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        # -e: the error log before the config is read (else the compiled-in /var/log/nginx).
        self.proc = subprocess.Popen([binary, "-c", path, "-p", self.dir, "-e", os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_port(self.port)
        except RuntimeError:
            self.stop()
            raise RuntimeError("nginx did not start: " + (self.proc.stderr.read() or "")[-1000:])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# ------------------------------------------------------------------------------------------ wrk

def run_wrk(port: int, bodies: str, route: str, duration: float, conns: int, threads: int,
            delay_ms: int = 0) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s",
           "-s", LUA, f"http://127.0.0.1:{port}", "--", bodies, route, AUTH, str(delay_ms)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    m = re.search(r"^WRKJSON (.*)$", out, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({p.returncode}): {err.strip()[-500:]} {out[-500:]}")
    r = json.loads(m.group(1))
    r["ok"] = r["requests"] - r["errors"]["status"]
    secs = r["duration_us"] / 1e6
    r["rps"] = r["ok"] / secs
    r["connections"], r["threads"] = conns, threads
    r["text"] = out[:m.start()].rstrip()
    return r


def children_cpu() -> float:
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# ----------------------------------------------------------------------------------- latency

class OutboxTail(threading.Thread):
    """Notes when each customer's first outbox line appears (polling every 0.2 ms)."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.seen: dict[str, float] = {}
        self.stopping = False
        self.lines = 0

    def run(self) -> None:
        while not os.path.exists(self.path) and not self.stopping:
            time.sleep(0.001)
        fd = os.open(self.path, os.O_RDONLY)
        off, buf = 0, b""
        try:
            while not self.stopping:
                chunk = os.pread(fd, 1 << 20, off)
                if not chunk:
                    time.sleep(0.0002)
                    continue
                now = time.monotonic()
                off += len(chunk)
                buf += chunk
                *done, buf = buf.split(b"\n")
                for line in done:
                    if not line.strip():
                        continue
                    self.lines += 1
                    c = json.loads(line).get("customer")
                    self.seen.setdefault(c, now)
        finally:
            os.close(fd)


def probe_run(serve: Serve, tail: OutboxTail, tag: str, rate: float, seconds: float) -> dict:
    """Probe events to /v1/track at `rate` per second, each for a customer of its own (identified
    before); latency from each probe's due time to its 200 (ack) and to its outbox line."""
    import http.client
    n = max(1, int(rate * seconds))
    conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=30)
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    due: dict[str, float] = {}
    acks = []
    t0 = time.monotonic() + 0.05
    for i in range(n):
        user = f"probe-{tag}-{i}"
        d = t0 + i / rate
        while True:
            left = d - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.002) if left > 0.0005 else 0)
        body = json.dumps({"type": "track", "event": "bench_probe", "userId": user, "properties": {"n": i}})
        due[user] = d
        conn.request("POST", "/v1/track", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        acks.append(time.monotonic() - d)
        if r.status != 200:
            raise RuntimeError(f"probe got {r.status}")
    conn.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(u not in tail.seen for u in due):
        time.sleep(0.01)
    lat = sorted(tail.seen[u] - d for u, d in due.items() if u in tail.seen)
    acks.sort()
    return {"probes": n, "rate": rate, "seen": len(lat), "missing": n - len(lat),
            "send_ms": pct(lat), "ack_ms": pct(acks)}


def fsync_floor(directory: str, rounds: int) -> list[dict]:
    """What one durable append costs on the data directories' file system, below RocksDB: write
    N bytes at the end of a preallocated file (as RocksDB's WAL is) and fdatasync, `rounds`
    times. No 200 of trig can come sooner than this; a group commit pays it once per group."""
    rows = []
    for size in (200, 20_000, 640_000):
        path = os.path.join(directory, f"fsync-{size}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, size * (rounds + 1))
            os.fsync(fd)
            buf = b"x" * size
            times = []
            for i in range(rounds):
                t = time.monotonic()
                os.pwrite(fd, buf, i * size)
                os.fdatasync(fd)
                times.append(time.monotonic() - t)
        finally:
            os.close(fd)
            os.unlink(path)
        times.sort()
        rows.append({"bytes": size, **pct(times)})
    return rows


# Where a sample's time goes: page faults first (wherever they happen), then RocksDB's own
# background threads, then the first frame, from the leaf up, that one of these patterns owns.
PAGE_FAULT = re.compile(r"asm_exc_page_fault")
CATEGORIES = [
    ("fsync (WAL sync)", re.compile(r"fdatasync|fsync|SyncWAL|file_write_and_wait|jbd2")),
    ("WAL write() into the page cache", re.compile(r"PosixWritableFile::Append|WritableFileWriter|"
                                                    r"EmitPhysicalRecord|log::Writer::AddRecord|WriteToWAL")),
    ("RocksDB memtable insert", re.compile(r"MemTable|InlineSkipList")),
    ("RocksDB write batch, other", re.compile(r"rocksdb::")),
    ("JSON parse, decode, validate, stamp", re.compile(r"trig::ingest|parseBody|Decoder|withStamp|nlohmann")),
    ("engine (incl. JIT code)", re.compile(r"trig::engine|Core::Impl::apply|trig::jit|JitEvaluator")),
    ("decision records, outbox, metrics", re.compile(r"RecordWriter|Core::Impl::publish|Metrics|putDecisions")),
    ("HTTP (Beast, Asio, sockets)", re.compile(r"boost::|HttpServer|tcp_|sock_|epoll|__libc_recv|__libc_send|"
                                                r"writev|readv|sendmsg|recvmsg|Service::handle|credential")),
    ("core queue, locks, wake-ups", re.compile(r"futex|Core::submit|Core::run|condition_variable|pthread_cond|"
                                               r"schedule|try_to_wake_up")),
    ("allocator", re.compile(r"malloc|free|operator new|operator delete|_int_")),
]


def categorize(script: str) -> dict:
    """Shares of `perf script` samples (comm, tid, then one frame per line) by category; page
    faults also by what faulted (the first trig or RocksDB frame above the fault)."""
    counts: dict[str, int] = {}
    faulting: dict[str, int] = {}
    total = 0
    for block in script.split("\n\n"):
        lines = [l for l in block.splitlines() if l.strip()]
        if not lines:
            continue
        head, frames = lines[0].split(), lines[1:]
        comm = head[0] if head else "?"
        cat = "other"
        if any(PAGE_FAULT.search(fr) for fr in frames):
            cat = "page faults (fresh memory zeroed)"
            who = next((fr.split(None, 1)[-1].strip()[:80] for fr in frames
                        if re.search(r"rocksdb::|trig::", fr)), "?")
            faulting[who] = faulting.get(who, 0) + 1
        elif comm.startswith("rocksdb"):
            cat = "RocksDB background (flush: SST build, compression, write)"
        else:
            for fr in frames:
                hit = next((name for name, rx in CATEGORIES if rx.search(fr)), None)
                if hit:
                    cat = hit
                    break
        total += 1
        counts[cat] = counts.get(cat, 0) + 1
    shares = {k: v / total for k, v in sorted(counts.items(), key=lambda kv: -kv[1])} if total else {}
    top_faults = dict(sorted(faulting.items(), key=lambda kv: -kv[1])[:5])
    return {"samples": total, "shares": shares, "page_faults_in": top_faults}


def pct(xs: list[float]) -> dict:
    if not xs:
        return {}
    def q(p):
        return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000
    return {"p50": round(q(0.50), 2), "p90": round(q(0.90), 2), "p99": round(q(0.99), 2),
            "max": round(xs[-1] * 1000, 2)}


# --------------------------------------------------------------------------------------- bench

class Bench:
    def __init__(self, args) -> None:
        self.args = args
        self.mode = dict(MODES["quick" if args.quick else "full"])
        if args.duration:
            self.mode["duration"] = args.duration
        self.tmp = tempfile.mkdtemp(prefix="trig-serve-bench-", dir=args.tmp)
        self.env = dict(os.environ, TRIG_WRITE_KEY=WRITE_KEY, TRIG_ADMIN_KEY=ADMIN_KEY,
                        TRIG_TRACKING_SECRET="bench-tracking-secret",
                        TRIG_CACHE_DIR=os.path.join(self.tmp, "jit-cache"))
        self.results: dict = {"workloads": {}, "checks": []}

    # ---------------------------------------------------------------------------- inputs
    def prepare(self) -> None:
        rules = workload.make_rules(99, self.args.seed, stateful=False)
        text = translate.to_trig(rules, "trig serve benchmark: W1's first 99 rules and a probe") + PROBE_RULES
        self.rules = os.path.join(self.tmp, "rules.trig")
        with open(self.rules, "w") as f:
            f.write(text)
        r = subprocess.run([self.args.trig, "check", self.rules], capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"trig check failed: {r.stdout}{r.stderr}")
        r = subprocess.run([self.args.trig, "compile", self.rules], capture_output=True, text=True, env=self.env)
        self.results["compile"] = (r.stdout + r.stderr).strip().splitlines()[-1:] if r.returncode == 0 else []
        spec = workload.StreamSpec("serve", events=self.args.events, customers=10_000, seed=self.args.seed,
                                   span_ms=60 * workload.MS_DAY, zipf_s=1.0)
        fmt = workload._TsFormatter()
        lines = [workload.segment_line(et, u, fmt(ts), p) for et, u, ts, p in workload.generate(spec)]
        per = self.args.batch_size
        self.bodies = {"track": os.path.join(self.tmp, "track.bodies"),
                       "batch": os.path.join(self.tmp, "batch.bodies")}
        with open(self.bodies["track"], "w") as f:
            for line in lines:
                f.write(line + "\n")
        with open(self.bodies["batch"], "w") as f:
            for i in range(0, len(lines) - per + 1, per):
                f.write('{"batch":[' + ",".join(lines[i:i + per]) + "]}\n")
        size = os.path.getsize(self.bodies["batch"]) / (len(lines) // per)
        self.results["inputs"] = {"rules": len(rules) + 1, "events": len(lines), "customers": spec.customers,
                                  "batch_size": per, "batch_body_bytes": round(size),
                                  "track_body_bytes": round(os.path.getsize(self.bodies["track"]) / len(lines))}
        log(f"inputs: {len(rules) + 1} rules, {len(lines):,} events of W1's stream, "
            f"batch bodies of {per} events ({size / 1024:.1f} KiB)")

    # --------------------------------------------------------------------------- workloads
    def workloads(self) -> list[dict]:
        a = self.args
        return [
            dict(id="batch", bodies="batch", route="/v1/batch", per=a.batch_size, conns=a.batch_connections,
                 title=f"`/v1/batch`, {a.batch_size} events per request"),
            dict(id="track", bodies="track", route="/v1/track", per=1, conns=a.track_connections,
                 title="`/v1/track`, one event per request"),
            # Group commit pays one fsync per group: more requests in flight, bigger groups.
            dict(id="track-wide", bodies="track", route="/v1/track", per=1, conns=a.wide_connections,
                 title="`/v1/track`, one event per request"),
        ]

    def measure_nginx(self, w: dict) -> dict:
        ng = Nginx(self.args.nginx, self.tmp)
        try:
            run_wrk(ng.port, self.bodies[w["bodies"]], w["route"], self.mode["warmup"], w["conns"], self.args.threads)
            c0, t0 = children_cpu(), cpu_ticks(ng.pid)
            r = run_wrk(ng.port, self.bodies[w["bodies"]], w["route"], self.mode["duration"], w["conns"], self.args.threads)
            r["server_cpu"] = cpu_diff(ng.pid, t0, cpu_ticks(ng.pid), r["duration_us"] / 1e6)
            r["wrk_cpu_s"] = round(children_cpu() - c0, 2)
            r["hwm_kb"] = proc_hwm_kb(ng.pid)
        finally:
            ng.stop()
        return r

    def measure_trig(self, w: dict) -> dict:
        data = os.path.join(self.tmp, f"data-{w['id']}")
        s = Serve(self.args.trig, self.rules, data, self.env)
        profile = None
        try:
            run_wrk(s.port, self.bodies[w["bodies"]], w["route"], self.mode["warmup"], w["conns"], self.args.threads)
            a0 = s.settled_accepted()
            c0, t0 = children_cpu(), cpu_ticks(s.pid)
            r = run_wrk(s.port, self.bodies[w["bodies"]], w["route"], self.mode["duration"], w["conns"], self.args.threads)
            r["server_cpu"] = cpu_diff(s.pid, t0, cpu_ticks(s.pid), r["duration_us"] / 1e6)
            r["wrk_cpu_s"] = round(children_cpu() - c0, 2)
            a1 = s.settled_accepted()
            r["accepted_events"] = a1 - a0
            r["wrk_events"] = r["ok"] * w["per"]
            if self.args.profile and w["id"] == "batch":
                profile = self.profile(s, w)
            total = s.settled_accepted()
            r["hwm_kb"] = proc_hwm_kb(s.pid)
        finally:
            rc = s.stop()
        if rc != 0:
            raise RuntimeError(f"trig serve exited {rc}: {''.join(s.log_lines)[-1000:]}")
        r["exported_events"] = self.export_count(data)
        r["accepted_total"] = total
        slack = w["conns"] * w["per"]
        in_flight = r["accepted_events"] - r["wrk_events"]
        ok1 = 0 <= in_flight <= slack
        ok2 = r["exported_events"] == total
        r["check"] = {"in_flight_events": in_flight, "slack": slack, "window_ok": ok1, "log_ok": ok2}
        self.results["checks"].append(
            f"{w['id']}: serve accepted {r['accepted_events']:,} events in the measured run, wrk counted "
            f"{r['ok']:,} 2xx x {w['per']} = {r['wrk_events']:,} (difference {in_flight:,}, allowed 0..{slack:,} "
            f"in flight when wrk stopped): {'ok' if ok1 else 'MISMATCH'}; `trig log export` after the stop: "
            f"{r['exported_events']:,} events = {total:,} accepted in all: {'ok' if ok2 else 'MISMATCH'}")
        log("  check: " + self.results["checks"][-1])
        if profile:
            self.results["profile"] = profile
        shutil.rmtree(data, ignore_errors=True)
        return r

    def export_count(self, data: str) -> int:
        p = subprocess.Popen([self.args.trig, "log", "export", "--data", data], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env)
        n = 0
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            n += chunk.count(b"\n")
        err = p.stderr.read().decode()
        if p.wait() != 0:
            raise RuntimeError(f"trig log export failed: {err[-500:]}")
        return n

    def profile(self, s: Serve, w: dict) -> dict | None:
        """perf record (cpu-clock: this VM has no hardware counters; DWARF call graphs: trig is
        built without frame pointers) of serve during an extra batch run of the same length."""
        perf = shutil.which("perf")
        if not perf:
            return {"status": "no perf"}
        out = os.path.join(self.args.out, "perf-batch.data")
        secs = max(1, self.mode["duration"] - 1)
        p = subprocess.Popen([perf, "record", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384",
                              "-p", str(s.pid), "-o", out, "--", "sleep", str(secs)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3)
        r = run_wrk(s.port, self.bodies[w["bodies"]], w["route"], self.mode["duration"], w["conns"], self.args.threads)
        p.wait()
        res = {"status": "ok", "data": out, "rate_during_profile": round(r["rps"] * w["per"])}
        for sort, name in (("sym", "symbols"), ("dso", "dsos"), ("pid", "threads")):
            q = subprocess.run([perf, "report", "-i", out, "--no-children", "--sort", sort, "--stdio", "-g", "none",
                                "--percent-limit", "0.5"], capture_output=True, text=True)
            text = "\n".join(l.rstrip() for l in q.stdout.splitlines() if l.strip() and not l.startswith("#"))
            with open(os.path.join(self.args.out, f"perf-batch-{name}.txt"), "w") as f:
                f.write(text + "\n")
            res[name] = text[:4000]
        q = subprocess.run([perf, "script", "-i", out, "-F", "comm,tid,ip,sym"], capture_output=True, text=True)
        res["categories"] = categorize(q.stdout)
        log(f"  profile ({res['rate_during_profile']:,} events/s meanwhile): " + ", ".join(
            f"{c} {v:.0%}" for c, v in res["categories"]["shares"].items()))
        return res

    # ---------------------------------------------------------------------------- latency
    def latency(self, max_track_rps: float) -> dict:
        data = os.path.join(self.tmp, "data-latency")
        s = Serve(self.args.trig, self.rules, data, self.env)
        tail = OutboxTail(os.path.join(data, "outbox.jsonl"))
        rate = self.args.probe_rate
        n = int(rate * self.mode["probe_s"]) + 1
        res: dict = {"probe_rate": rate}
        try:
            for tag in ("idle", "load"):
                for i in range(0, n, 1000):
                    items = [{"type": "identify", "userId": f"probe-{tag}-{j}",
                              "traits": {"email": f"probe-{tag}-{j}@example.com"}} for j in range(i, min(n, i + 1000))]
                    s.post("/v1/batch", json.dumps({"batch": items}).encode())
            tail.start()
            log(f"  probes alone, {rate:g}/s for {self.mode['probe_s']} s")
            res["idle"] = probe_run(s, tail, "idle", rate, self.mode["probe_s"])
            # The background load: /v1/track paced by wrk's delay to about half the maximum.
            target = max_track_rps / 2
            delay = self.args.load_delay_ms
            conns = max(1, round(target * (delay + 0.3) / 1000))
            cal = run_wrk(s.port, self.bodies["track"], "/v1/track", 1, conns, 1, delay)
            conns = max(1, min(2000, round(conns * target / max(1.0, cal["rps"]))))
            log(f"  probes beside /v1/track at about {target:,.0f} req/s ({conns} connections, {delay} ms apart)")
            box: dict = {}
            th = threading.Thread(target=lambda: box.update(
                wrk=run_wrk(s.port, self.bodies["track"], "/v1/track", self.mode["probe_s"] + 2, conns, 1, delay)))
            th.start()
            time.sleep(1)
            res["load"] = probe_run(s, tail, "load", rate, self.mode["probe_s"])
            th.join()
            load = box["wrk"]
            res["load"]["background_rps"] = round(load["rps"])
            res["load"]["background_target"] = round(target)
            res["load"]["background_p99_ms"] = load["latency_us"]["p99"] / 1000
            res["load"]["background_connections"] = conns
        finally:
            tail.stopping = True
            s.stop()
        res["status"] = "ok"
        for tag in ("idle", "load"):
            x = res[tag]
            log(f"  {tag}: {x['seen']}/{x['probes']} sends seen; due -> outbox line p50 {x['send_ms'].get('p50')} "
                f"p99 {x['send_ms'].get('p99')} ms; due -> 200 p50 {x['ack_ms']['p50']} p99 {x['ack_ms']['p99']} ms"
                + (f"; background {x['background_rps']:,}/s" if tag == "load" else ""))
        return res

    # ------------------------------------------------------------------------------- main
    def main(self) -> int:
        started = time.time()
        os.makedirs(self.args.out, exist_ok=True)
        meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "mode": "quick" if self.args.quick else "full", "duration_s": self.mode["duration"],
                "machine": machine_info(), "trig_version": trig_version(self.args.trig),
                "nginx": subprocess.run([self.args.nginx, "-v"], capture_output=True, text=True).stderr.strip(),
                "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0].strip(),
                "threads": self.args.threads, "load_before": os.getloadavg(), "cpu_pressure_before": cpu_pressure()}
        self.results["meta"] = meta
        only = set(self.args.only.split(",")) if self.args.only else None
        try:
            self.prepare()
            self.results["fsync"] = fsync_floor(self.tmp, 30 if self.args.quick else 100)
            log("fdatasync on this file system: " + "; ".join(
                f"{r['bytes']:,} B p50 {r['p50']} p99 {r['p99']} ms" for r in self.results["fsync"]))
            for w in self.workloads():
                if only and w["id"] not in only:
                    continue
                log(f"{w['id']}: {w['title']}, wrk -t{self.args.threads} -c{w['conns']} -d{self.mode['duration']}s")
                row = {"title": w["title"], "per": w["per"]}
                row["nginx"] = self.measure_nginx(w)
                log(f"  nginx {row['nginx']['rps']:>12,.0f} req/s  p50 {row['nginx']['latency_us']['p50'] / 1000:.2f} "
                    f"p99 {row['nginx']['latency_us']['p99'] / 1000:.2f} ms")
                row["trig"] = self.measure_trig(w)
                log(f"  trig  {row['trig']['rps']:>12,.0f} req/s  p50 {row['trig']['latency_us']['p50'] / 1000:.2f} "
                    f"p99 {row['trig']['latency_us']['p99'] / 1000:.2f} ms  ({row['trig']['rps'] * w['per']:,.0f} "
                    f"events/s; non-2xx {row['trig']['errors']['status']}; peak RSS "
                    f"{(row['trig']['hwm_kb'] or 0) / 1024:.0f} MiB)")
                log("  trig threads: " + ", ".join(f"{t['thread']} {t['cores']:.2f}" for t in row["trig"]["server_cpu"][:6])
                    + f"; wrk {row['trig']['wrk_cpu_s'] / self.mode['duration']:.2f} cores")
                self.results["workloads"][w["id"]] = row
            tracks = [w["trig"]["rps"] for k, w in self.results["workloads"].items() if k.startswith("track")]
            if (not only or "latency" in only) and tracks:
                log("latency:")
                self.results["latency"] = self.latency(max(tracks))
        finally:
            if not self.args.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)
        meta["load_after"] = os.getloadavg()
        meta["cpu_pressure_after"] = cpu_pressure()
        meta["elapsed_s"] = round(time.time() - started, 1)
        md = render(self.results, self.args)
        with open(os.path.join(self.args.out, "serve.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        with open(os.path.join(self.args.out, "serve.md"), "w") as f:
            f.write(md)
        if self.args.update_docs:
            update_docs(os.path.join(REPO, "docs", "performance.md"), md)
        print()
        print(md)
        bad = [c for c in self.results["checks"] if "MISMATCH" in c]
        return 1 if bad else 0


# -------------------------------------------------------------------------------------- report

def cpu_pressure() -> float | None:
    """/proc/pressure/cpu `some avg60`: the share of the last minute in which some task waited
    for a CPU (other people's work on a shared machine shows here)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return float(re.search(r"avg60=([0-9.]+)", f.readline()).group(1))
    except (OSError, AttributeError):
        return None


def machine_info() -> dict:
    """The machine, as bench/run.py records it (one definition)."""
    from run import machine_info as run_machine_info  # bench/ is this script's folder
    return run_machine_info()


def trig_version(binary: str) -> str:
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    v = (r.stdout or r.stderr).strip().splitlines()
    return f"{v[0] if v else '?'} (commit {rev.stdout.strip() or '?'})"


def fmt_n(x: float) -> str:
    return f"{x:,.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "—"


def render(res: dict, args) -> str:
    meta = res["meta"]
    m = meta["machine"]
    out = [f"**{meta['mode'].capitalize()} run, {meta['date']}**: {m['cpu']}, {m['cores']} cores, "
           f"{m['memory_gib']} GiB, Linux {m['kernel']}; {meta['trig_version']}; {meta['nginx']}; "
           f"{meta['wrk']}. Load average before: {meta['load_before'][0]:.1f}, after: "
           f"{meta.get('load_after', [0])[0]:.1f}; CPU pressure (some, avg60) before/after: "
           f"{meta.get('cpu_pressure_before')}% / {meta.get('cpu_pressure_after')}%.", ""]
    inp = res.get("inputs", {})
    out.append(f"`python3 bench/serve_bench.py{' --quick' if meta['mode'] == 'quick' else ''}`: loopback, "
               f"{inp.get('rules')} rules, W1's stream ({inp.get('events', 0):,} events over "
               f"{inp.get('customers', 0):,} customers, {inp.get('batch_body_bytes', 0):,} bytes per batch body, "
               f"{inp.get('track_body_bytes', 0)} per track body), `wrk -t{meta['threads']} -d{meta['duration_s']}s "
               f"--latency` after a warm-up run; a fresh data directory per workload; every 200 of trig's means "
               f"the request's events are fsync'd.")
    out.append("")
    out.append("| workload | trig | nginx (`return 200`) | trig / nginx |")
    out.append("|---|---:|---:|---:|")
    ws = res["workloads"]
    for wid, w in ws.items():
        t, n = w["trig"], w["nginx"]
        per = w["per"]
        c = t["connections"]
        if per > 1:
            out.append(f"| {w['title']}, {c} connections: **events/s** | **{fmt_n(t['rps'] * per)}** | "
                       f"{fmt_n(n['rps'] * per)} | {ratio(t['rps'], n['rps'])} |")
        out.append(f"| {w['title']}, {c} connections: requests/s | {fmt_n(t['rps'])} | {fmt_n(n['rps'])} | "
                   f"{ratio(t['rps'], n['rps'])} |")
        for p in ("p50", "p99"):
            out.append(f"| {w['title']}: latency {p} | {t['latency_us'][p] / 1000:.2f} ms | "
                       f"{n['latency_us'][p] / 1000:.2f} ms | {ratio(t['latency_us'][p], n['latency_us'][p])} |")
        out.append(f"| {w['title']}: server CPU (cores) | {sum(x['cores'] for x in t['server_cpu']):.2f} | "
                   f"{sum(x['cores'] for x in n['server_cpu']):.2f} | |")
        out.append(f"| {w['title']}: wrk CPU (cores) | {t['wrk_cpu_s'] / (t['duration_us'] / 1e6):.2f} | "
                   f"{n['wrk_cpu_s'] / (n['duration_us'] / 1e6):.2f} | |")
        out.append(f"| {w['title']}: peak RSS | {(t['hwm_kb'] or 0) / 1024:.0f} MiB | "
                   f"{(n['hwm_kb'] or 0) / 1024:.0f} MiB | |")
    out.append("")
    rows = []
    if "batch" in ws:
        v = ws["batch"]["trig"]["rps"] * ws["batch"]["per"]
        rows.append(("`/v1/batch`: ≥ 200,000 events/s", f"{fmt_n(v)}/s", v >= TARGETS["batch_events_per_s"],
                     v / TARGETS["batch_events_per_s"]))
    for wid in ("track", "track-wide"):
        if wid not in ws:
            continue
        c = ws[wid]["trig"]["connections"]
        v = ws[wid]["trig"]["rps"]
        rows.append((f"`/v1/track` ({c} connections): ≥ 30,000 requests/s", f"{fmt_n(v)}/s",
                     v >= TARGETS["track_requests_per_s"], v / TARGETS["track_requests_per_s"]))
        p99 = ws[wid]["trig"]["latency_us"]["p99"] / 1000
        rows.append((f"`/v1/track` ({c} connections): p99 < 5 ms", f"{p99:.2f} ms", p99 < TARGETS["track_p99_ms"],
                     TARGETS["track_p99_ms"] / p99 if p99 else 0))
    if rows:
        out.append("| target | measured | verdict |")
        out.append("|---|---:|---|")
        for name, val, ok, frac in rows:
            out.append(f"| {name} | {val} | {'met' if ok else f'**missed** ({frac:.2f} of the target)'} |")
        out.append("")
    lat = res.get("latency")
    if lat and lat.get("status") == "ok":
        out.append(f"Event → send (the `probe` rule, no `idle`; outbox delivery): {lat['probe_rate']:g} probe events "
                   f"per second posted to `/v1/track`, each due at a fixed time and for a customer identified "
                   f"before; *send* is when the probe's line appeared in `DIR/outbox.jsonl` (a thread polling "
                   f"every 0.2 ms) minus when the probe was due; *ack* is its 200 minus when it was due.")
        out.append("")
        out.append("| condition | probes (seen) | send p50 | send p90 | send p99 | send max | ack p50 | ack p99 |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for tag in ("idle", "load"):
            x = lat[tag]
            cond = ("probes alone" if tag == "idle" else
                    f"beside `/v1/track` at {fmt_n(x['background_rps'])} req/s (target {fmt_n(x['background_target'])},"
                    f" half the best track rate above; {x['background_connections']} connections; its own p99 "
                    f"{x['background_p99_ms']:.2f} ms)")
            s, a = x["send_ms"], x["ack_ms"]
            out.append(f"| {cond} | {x['probes']} ({x['seen']}) | {s.get('p50', '—')} ms | {s.get('p90', '—')} ms | "
                       f"{s.get('p99', '—')} ms | {s.get('max', '—')} ms | {a['p50']} ms | {a['p99']} ms |")
        out.append("")
    if ws:
        out.append("Where serve's CPU went during the measured runs (`/proc/PID/task/*/stat`, cores = CPU seconds "
                   "per wall second; *waited*: runnable but not on a CPU, `/proc/PID/task/*/schedstat`):")
        out.append("")
        for wid, w in ws.items():
            th = ", ".join(f"{t['thread']} {t['cores']:.2f} (waited for a CPU {t['waited_cpu_s']:.1f} s)"
                           for t in w["trig"]["server_cpu"] if t["cores"] >= 0.01)
            out.append(f"- {wid}: {th}")
        out.append("")
    if res.get("fsync"):
        out.append("The floor under every durable 200 (`fsync_floor`: write N bytes into a preallocated file on "
                   "the data directories' file system, then fdatasync): "
                   + "; ".join(f"{r['bytes']:,} B p50 {r['p50']} ms, p99 {r['p99']} ms" for r in res["fsync"]) + ".")
        out.append("")
    if res["checks"]:
        out.append("Checks of the measurement:")
        out.append("")
        for c in res["checks"]:
            out.append(f"- {c}")
        out.append("")
    prof = res.get("profile")
    if prof and prof.get("status") == "ok":
        out.append(f"Profile of serve during an extra batch run ({fmt_n(prof['rate_during_profile'])} events/s "
                   f"meanwhile; `perf record -e cpu-clock --call-graph dwarf`, {prof['categories']['samples']:,} "
                   "samples; each sample goes to the first frame from the leaf up that a category owns, "
                   "`CATEGORIES` in the script):")
        out.append("")
        out.append("| category | share of serve's CPU samples |")
        out.append("|---|---:|")
        for c, v in prof["categories"]["shares"].items():
            out.append(f"| {c} | {v:.1%} |")
        out.append("")
        if prof["categories"].get("page_faults_in"):
            out.append("Page-fault samples by the first trig or RocksDB frame above the fault: " + "; ".join(
                f"`{k}` {v}" for k, v in prof["categories"]["page_faults_in"].items()) + ".")
            out.append("")
    return "\n".join(out)


def update_docs(path: str, md: str, begin: str = DOCS_BEGIN, end: str = DOCS_END) -> None:
    """Replaces what stands between the markers `begin` and `end` in `path` with `md`."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    a, b = text.find(begin), text.find(end)
    if a < 0 or b < a:
        log(f"{path}: no {begin} ... {end} markers; not updated")
        return
    text = text[:a + len(begin)] + "\n" + md + text[b:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    log(f"updated {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trig", default=os.path.join(REPO, "build", "trig"), help="the trig binary (default build/trig)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--quick", action="store_true", help="3 s per wrk run instead of 10")
    ap.add_argument("--duration", type=int, help="seconds per measured wrk run (overrides the mode)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the machine has 2 cores)")
    ap.add_argument("--batch-connections", type=int, default=32)
    ap.add_argument("--track-connections", type=int, default=32)
    ap.add_argument("--wide-connections", type=int, default=256,
                    help="connections of the second /v1/track run (group commit's scaling)")
    ap.add_argument("--batch-size", type=int, default=100, help="events per /v1/batch request")
    ap.add_argument("--events", type=int, default=100_000, help="distinct events the bodies are made of")
    ap.add_argument("--probe-rate", type=float, default=200.0, help="latency probes per second")
    ap.add_argument("--load-delay-ms", type=int, default=2, help="wrk delay between a connection's requests "
                                                                 "in the latency run's background load")
    ap.add_argument("--only", help="comma-separated: batch, track, track-wide, latency (latency needs a track run)")
    ap.add_argument("--profile", action="store_true", help="perf record serve during an extra batch run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "out"))
    ap.add_argument("--tmp", default=None, help="where the data directories go (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("--update-docs", action="store_true",
                    help="copy the tables into docs/performance.md (between its bench:serve markers)")
    args = ap.parse_args()
    args.trig = os.path.abspath(args.trig)
    args.out = os.path.abspath(args.out)
    for tool in ("wrk", args.nginx, args.trig):
        if not shutil.which(tool) and not os.path.exists(tool):
            log(f"{tool} not found")
            return 2
    return Bench(args).main()


if __name__ == "__main__":
    sys.exit(main())
