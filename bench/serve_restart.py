#!/usr/bin/env python3
"""Restart time of `trig serve` (issue 11: under 5 s to ready with 1M customers and 1M pending
timers in DIR): post N events of N distinct customers, each arming a one-day `idle` wait (the
manual clock keeps them pending), stop the service, start it again on the same DIR and time
until /readyz answers 200. A benchmark, not a test: it prints figures.

usage: bench/serve_restart.py --trig build/trig [--customers 1000000] [--batch 500]
"""
import argparse, base64, http.client, json, os, re, subprocess, tempfile, time

RULES = """
template reminder { subject "Your cart" body "Come back" }
trigger cart_abandon:
  when cart_add and idle 1d
  send reminder
"""
ENV = dict(os.environ, TRIG_WRITE_KEY="wk", TRIG_ADMIN_KEY="ak", TRIG_TRACKING_SECRET="ts")
AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}


def start(trig, rules, data, clock="manual"):
    t0 = time.monotonic()
    p = subprocess.Popen([trig, "serve", rules, "--data", data, "--listen", "127.0.0.1:0",
                          "--clock", clock], stderr=subprocess.PIPE, text=True, env=ENV)
    for line in p.stderr:
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if m:
            return p, int(m.group(1)), time.monotonic() - t0
    raise RuntimeError("serve did not start")


def events(first, count, event="cart_add", prefix="c", properties=None):
    """One event of each customer prefix+first .. prefix+(first+count-1): with the rules above,
    one pending `idle` wait each (bench/timer_lateness.py uses it too)."""
    props = {"product_id": "p"} if properties is None else properties
    return [{"type": "track", "event": event, "userId": f"{prefix}{i}", "properties": props}
            for i in range(first, first + count)]


def batch_bodies(first, count, batch, **kw):
    """`events(first, count, **kw)` as /v1/batch bodies of `batch` events (bytes), one by one."""
    for i in range(first, first + count, batch):
        yield json.dumps({"batch": events(i, min(batch, first + count - i), **kw)}).encode()


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trig", required=True)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules.trig")
        open(rules, "w").write(RULES)
        data = os.path.join(tmp, "data")
        p, port, _ = start(a.trig, rules, data)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/v1/admin/clock", json.dumps({"now": "2026-01-01T10:00:00Z"}),
                  {"Authorization": "Bearer ak"})
        c.getresponse().read()
        t0 = time.monotonic()
        for body in batch_bodies(0, a.customers, a.batch):
            c.request("POST", "/v1/batch", body, AUTH)
            r = c.getresponse()
            r.read()
            assert r.status == 200, r.status
        posted = time.monotonic() - t0
        rss = rss_mib(p.pid)
        p.terminate()
        p.wait()
        p, port, ready = start(a.trig, rules, data)
        rss2 = rss_mib(p.pid)
        pending = None
        for _ in range(50):  # the core publishes its gauges as it starts its loop
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("GET", "/metrics")
            pending = re.search(r"^trig_timers_pending (\S+)", c.getresponse().read().decode(),
                                re.M)
            if pending:
                break
            time.sleep(0.02)
        p.terminate()
        p.wait()
        print(f"serve_restart: {a.customers} customers posted in {posted:.1f} s "
              f"({a.customers / posted:,.0f} events/s, peak RSS {rss:.0f} MiB)")
        print(f"serve_restart: restart to ready in {ready:.2f} s with "
              f"{pending.group(1) if pending else '?'} timers pending (peak RSS {rss2:.0f} MiB)")


if __name__ == "__main__":
    main()
