#!/usr/bin/env python3
"""End-to-end checks of `trig preview` (docs/cli.md, "trig preview").

- The preview of a send equals what `trig run` sends: for every send of the repository's
  examples, the preview of that template for that customer at the send's time, from the same
  events, has the subject the run recorded.
- Values from the events file (traits, the anchor, the history a `with` binding counts), cut at
  `--at`; values from `--set`, typed as the wire format types them; HTML escaping in .html
  bodies only; `--html FILE`.
- Missing data is the `missing_data` suppression naming the variable (exit 1), never a blank.
- Usage errors exit 2 with a clear message: unknown template or rule (did you mean), bad
  `--set`, an unwritable `--html` file.

usage: preview_test.py TRIG
"""
import html.parser, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

trig = os.path.abspath(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
rules = os.path.join(here, "rules.trig")
events = os.path.join(here, "events.jsonl")




def run(args):
    return subprocess.run([trig] + args, capture_output=True, text=True, timeout=120)


def preview(*args):
    return run(["preview"] + list(args))


def field(out, name):
    """The value of a header line of the preview ("Subject: x", "to        x")."""
    for line in out.splitlines():
        if line.startswith(name):
            return line[len(name):].strip()
    return None


def body(out):
    """What follows the blank line after Content-Type."""
    lines = out.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("Content-Type:"):
            return "\n".join(lines[i + 2:])
    return None


# 1. The preview of each send of the examples is what `trig run` sent.
examples = os.path.join(root, "examples")
compared = 0
for name in sorted(os.listdir(examples)):
    d = os.path.join(examples, name)
    rule_file, ev = os.path.join(d, "rules.trig"), os.path.join(d, "events.jsonl")
    if not (os.path.isfile(rule_file) and os.path.isfile(ev)):
        continue
    r = run(["run", rule_file, "--events", ev, "--engine", "interp"])
    check(f"run {name}", r.returncode == 0, r.stderr)
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("decision") != "send":
            continue
        p = preview(rule_file, "--template", rec["template"], "--rule", rec["rule"],
                    "--customer", rec["customer"], "--events", ev, "--at", rec["time"])
        tag = f"{name}: {rec['template']} to {rec['customer']} at {rec['time']}"
        check(f"preview = run: {tag}", p.returncode == 0 and field(p.stdout, "Subject:") ==
              rec["subject"] and field(p.stdout, "to") == rec["to"],
              f"run: {rec}\npreview rc {p.returncode}:\n{p.stdout}{p.stderr}")
        compared += 1
check("the examples have sends to compare", compared >= 5, compared)

# 2. Values from the events: traits, the anchor, the history, up to --at.
p = preview(rules, "--template", "price_drop", "--customer", "zoe", "--events", events,
            "--at", "2026-04-01T10:20:00Z")
check("events: exit 0", p.returncode == 0, p.stdout + p.stderr)
check("events: subject from the anchor, money as money",
      field(p.stdout, "Subject:") == "Mug is now 12.50", p.stdout)
check("events: the body with the trait and the binding over the history",
      body(p.stdout) == "Hi Zoë, mug-1 costs 12.50; you viewed it 2 times.\n", p.stdout)
check("events: the address", field(p.stdout, "to") == "zoe@example.com", p.stdout)
check("events: where the anchor came from",
      "cart_add at 2026-04-01T09:20:00Z" in p.stdout and "events.jsonl:5" in p.stdout, p.stdout)
p2 = preview(rules, "--template", "price_drop", "--customer", "zoe", "--events", events)
check("events: without --at, the last anchor and the later trait",
      p2.returncode == 0 and body(p2.stdout) ==
      "Hi Zoe Later, pen-2 costs 3.00; you viewed it 1 times.\n", p2.stdout + p2.stderr)
check("deterministic", preview(rules, "--template", "price_drop", "--customer", "zoe",
                               "--events", events).stdout == p2.stdout)
p = preview(rules, "--template", "price_drop", "--customer", "yan", "--events", events)
check("an optional value without one takes the template's default",
      p.returncode == 0 and field(p.stdout, "Subject:") == "Mug is now cheaper" and
      "Hi there," in p.stdout, p.stdout + p.stderr)
check("no email: said, not blank", "no_email" in (field(p.stdout, "to") or ""), p.stdout)

# 3. --set: values typed as the wire format types them; they override the events.
p = preview(rules, "--template", "price_drop", "--set", "customer.first_name=Ann",
            "--set", "cart_add.product_id=lamp-1", "--set", "price=19.9",
            "--set", "c.product_name=Lamp <XL> & co")
check("--set: exit 0", p.returncode == 0, p.stdout + p.stderr)
check("--set: the subject", field(p.stdout, "Subject:") == "Lamp <XL> & co is now 19.90", p.stdout)
check("--set: text bodies are not escaped",
      body(p.stdout) == "Hi Ann, lamp-1 costs 19.90; you viewed it 0 times.\n", p.stdout)
p = preview(rules, "--template", "price_drop", "--customer", "zoe", "--events", events,
            "--set", "customer.first_name=Bea", "--set", "product_id=x-9")
check("--set overrides the events",
      p.returncode == 0 and body(p.stdout) == "Hi Bea, x-9 costs 3.00; you viewed it 0 times.\n",
      p.stdout + p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "cart_add.product_id=p",
            "--set", "cart_add.price=null")
check("--set FIELD=null is no value (the default shows)",
      p.returncode == 0 and "costs less" in p.stdout, p.stdout + p.stderr)

p = preview(rules, "--template", "price_drop", "--set", "customer.subscribed=false",
            "--set", "product_id=p")
check("an unsubscribed customer: the opt-out is said", p.returncode == 0 and
      "would suppress the send (opted_out)" in p.stdout and "Subject:" in p.stdout, p.stdout)
p = preview(rules, "--template", "price_drop", "--set", "customer.subscribed=maybe")
check("--set: a bool that is not one", p.returncode == 2 and "subscribed" in p.stderr, p.stderr)

# 4. Missing data: the suppression the runtime records, exit 1, no blank body.
p = preview(rules, "--template", "price_drop", "--set", "customer.first_name=Ann")
check("missing data: exit 1", p.returncode == 1, p.stdout + p.stderr)
check("missing data: the suppression naming the variable",
      "suppressed  missing_data: template variable 'product_id' has no value and no default"
      in p.stdout and "rules.trig:5:" in p.stdout, p.stdout)
check("missing data: no rendered subject or body", "Subject:" not in p.stdout, p.stdout)
p = preview(rules, "--template", "unused_note")
check("a template no rule sends: nothing renders it (exit 2)",
      p.returncode == 2 and "sent by no rule" in p.stderr, p.stdout + p.stderr)

# 5. HTML: values escaped in .html bodies; --html writes the body a browser opens.
cart = os.path.join(examples, "cart_abandonment", "rules.trig")
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "followup.html")
    p = preview(cart, "--template", "cart_followup", "--set", "customer.first_name=<Ann & Bo>",
                "--set", "cart_add.product_id=p1", "--html", out)
    check("html: exit 0", p.returncode == 0, p.stdout + p.stderr)
    check("html: the content type", "Content-Type: text/html; charset=utf-8" in p.stdout, p.stdout)
    check("html: values escaped in the body, not in the subject",
          "<p>Hi &lt;Ann &amp; Bo&gt;,</p>" in p.stdout and
          field(p.stdout, "Subject:") == "More ideas for you, <Ann & Bo>", p.stdout)
    written = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
    check("--html: the file is the body", written != "" and written == body(p.stdout), written)
    txt = os.path.join(tmp, "reminder.html")
    p = preview(cart, "--template", "cart_reminder", "--set", "product_name=<Lamp>",
                "--set", "cart_add.product_id=p1", "--html", txt)
    page = open(txt, encoding="utf-8").read() if os.path.exists(txt) else ""

    class Texts(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.text = ""

        def handle_data(self, data):
            self.text += data

    t = Texts()
    t.feed(page)
    check("--html of a text template: a page showing the text as sent",
          p.returncode == 0 and "You left <Lamp> in your cart." in t.text and
          "&lt;Lamp&gt;" in page, page)
    p = preview(cart, "--template", "cart_reminder", "--html", os.path.join(tmp, "no", "x.html"),
                "--set", "cart_add.product_id=p1")
    check("--html: a write error is an error (exit 2)",
          p.returncode == 2 and "cannot write" in p.stderr, p.stdout + p.stderr)

# 6. Usage errors.
p = preview(cart, "--template", "cart_remindr")
check("unknown template: exit 2 with did-you-mean",
      p.returncode == 2 and "unknown template 'cart_remindr'" in p.stderr and
      "did you mean 'cart_reminder'" in p.stderr, p.stderr)
p = preview(cart, "--template", "cart_reminder", "--rule", "cart_abandn")
check("unknown rule: did you mean", p.returncode == 2 and "'cart_abandon'" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "cart_add.price=cheap")
check("--set: a value of the wrong type names the field",
      p.returncode == 2 and "price" in p.stderr and "money" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "cart_add.prise=1")
check("--set: unknown field, did you mean",
      p.returncode == 2 and "did you mean 'price'" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "customer.frist_name=A")
check("--set: unknown trait, did you mean",
      p.returncode == 2 and "did you mean 'first_name'" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "purchased.order_id=o1")
check("--set: an event that is not the anchor",
      p.returncode == 2 and "not the anchor" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "views=3")
check("--set: a binding is computed, not set", p.returncode == 2 and "binding" in p.stderr,
      p.stderr)
p = preview(rules, "--template", "price_drop", "--set", "oops")
check("--set without '='", p.returncode == 2 and "NAME=VALUE" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--events", events)
check("--events without --customer", p.returncode == 2 and "--customer" in p.stderr, p.stderr)
p = preview(rules, "--template", "price_drop", "--customer", "zoe", "--events",
            os.path.join(here, "missing.jsonl"))
check("an events file that cannot be read: exit 2", p.returncode == 2, p.stderr)
p = preview(rules, "--template", "price_drop", "--at", "yesterday")
check("--at that is not a time", p.returncode == 2 and "RFC 3339" in p.stderr, p.stderr)
with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "bad.trig")
    with open(bad, "w") as f:
        f.write("trigger x:\n  when cart_ad and idle 1h\n  send y\n")
    p = preview(bad, "--template", "y")
    check("rules with errors: exit 1 with the diagnostics",
          p.returncode == 1 and "error" in p.stderr, p.stdout + p.stderr)

sys.exit(finish())
