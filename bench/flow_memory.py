#!/usr/bin/env python3
"""State per customer with a flow in flight (issue 17: under 1 KiB).

Every one of N customers adds to a cart once; the examples' cart abandonment rule (idle 15m, a
reminder, a follow-up a day later, a goal) fires for each, and the stream ends three hours later,
so at the end every customer has a flow waiting for its second step. Peak RSS of `trig run` over
that stream, minus the peak RSS over one event, divided by N: an upper bound of the state per
customer (input buffers and the JIT included). Two variants: customers without an address (the
first send is suppressed `no_email`, the flow goes on), and customers identified first with an
email and a first name (the profile's traits then count too). A third, W3's usual customer (issue
16), seen once: each adds to a cart once under W3's `cart_idle` rule (idle 15m, unless purchased
within 30d, one send), all within a minute, so that every wait is pending at once before it fires
(no address: the send ends `no_email`, no flow stays): the customer's table entry, its slot and id,
one idle wait with its kept anchor and timer.

usage: flow_memory.py [--trig build/trig] [--customers 1000000]
Not a test: it takes about a minute and 2 GB of memory at 1M customers.
"""
import argparse, datetime, os, shutil, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def stamp(base, seconds):
    return (base + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


W3_RULE = """template note { subject "Hello" body "A message from the benchmark." }
trigger cart_idle: when cart_add and idle 15m unless purchased within 30d send note
"""


def write_seen_once(path, n):
    base = datetime.datetime(2026, 3, 2, 8, 0, 0)
    span = 60.0 / max(n, 1)
    with open(path, "w") as f:
        for i in range(n):
            f.write('{"type":"track","event":"cart_add","userId":"c%d","timestamp":"%s",'
                    '"properties":{"product_id":"p%d","cart_value":120,"quantity":1}}\n'
                    % (i, stamp(base, i * span), i % 100))


def write_stream(path, n, identify):
    base = datetime.datetime(2026, 3, 2, 8, 0, 0)
    with open(path, "w") as f:
        if identify:
            for i in range(n):
                f.write('{"type":"identify","userId":"c%d","timestamp":"%s","traits":'
                        '{"email":"c%d@example.com","first_name":"C"}}\n' % (i, stamp(base, i * 1e-3), i))
        span = 3600.0 / max(n, 1)
        for i in range(n):
            f.write('{"type":"track","event":"cart_add","userId":"c%d","timestamp":"%s",'
                    '"properties":{"product_id":"p%d","product_name":"Lamp"}}\n'
                    % (i, stamp(base, 1000 + i * span), i % 100))
        # Three hours on: every reminder is decided, every follow-up still waits.
        f.write('{"type":"track","event":"page_view","userId":"zz","timestamp":"%s",'
                '"properties":{"url":"/"}}\n' % stamp(base, 3 * 3600))


def peak_kib(trig, rules, events):
    r = subprocess.run(["/usr/bin/time", "-f", "%M", trig, "run", rules, "--events", events],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"trig run failed ({r.returncode}): {r.stderr[-2000:]}")
    return int(r.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trig", default=os.path.join(root, "build", "trig"))
    ap.add_argument("--customers", type=int, default=1_000_000)
    a = ap.parse_args()
    if not shutil.which("/usr/bin/time"):
        sys.exit("needs /usr/bin/time (apt-get install time)")
    with tempfile.TemporaryDirectory() as tmp:
        example = os.path.join(root, "examples", "cart_abandonment")
        shutil.copytree(os.path.join(example, "templates"), os.path.join(tmp, "templates"))
        rules = os.path.join(tmp, "rules.trig")
        shutil.copy(os.path.join(example, "rules.trig"), rules)
        one = os.path.join(tmp, "one.jsonl")
        write_stream(one, 0, False)
        empty = peak_kib(a.trig, rules, one)
        print(f"{a.customers} customers, each with a flow in flight (examples/cart_abandonment)")
        for identify in (False, True):
            events = os.path.join(tmp, "events.jsonl")
            write_stream(events, a.customers, identify)
            peak = peak_kib(a.trig, rules, events)
            per = (peak - empty) * 1024 / a.customers
            what = "identified (email, first name)" if identify else "no address"
            print(f"  {what:32} peak RSS {peak / 1024:8.0f} MiB  (one event: {empty / 1024:.0f} MiB)"
                  f"  -> {per:6.0f} B per customer")
        w3 = os.path.join(tmp, "w3.trig")
        with open(w3, "w") as f:
            f.write(W3_RULE)
        w3_empty = peak_kib(a.trig, w3, one)
        events = os.path.join(tmp, "events.jsonl")
        write_seen_once(events, a.customers)
        peak = peak_kib(a.trig, w3, events)
        per = (peak - w3_empty) * 1024 / a.customers
        what = "seen once (W3: an idle wait)"
        print(f"  {what:32} peak RSS {peak / 1024:8.0f} MiB  (one event: {w3_empty / 1024:.0f} MiB)"
              f"  -> {per:6.0f} B per customer")


if __name__ == "__main__":
    main()
