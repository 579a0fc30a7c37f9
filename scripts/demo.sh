#!/usr/bin/env bash
# `make demo`: run the seed scenarios (examples/priorities: cart abandonment, browse abandonment
# and the A/B reminder timing, with priorities between them) and show what was sent, and why.
# usage: scripts/demo.sh path/to/trig
set -euo pipefail
trig="$(cd "$(dirname "${1:?usage: scripts/demo.sh TRIG}")" && pwd)/$(basename "$1")"
cd "$(dirname "$0")/.."
ex=examples/priorities

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "== The rules: $ex/rules.trig"
sed -n '/^trigger/,$p' "$ex/rules.trig"

say "== trig check"
"$trig" check "$ex/rules.trig" && echo "no problems"

say "== trig run --explain: every decision, in time order"
show_records=$(cat <<'PY'
import json, sys
print("%-21s %-8s %-16s %4s  %-10s %-16s %s" % ("time", "customer", "rule", "step", "decision", "template", "detail"))
for line in sys.stdin:
    r = json.loads(line)
    if r["decision"] == "dropped":
        print("%-21s %-8s %-16s %4s  %-10s %-16s %s" % (r["time"], r["customer"], "", "", "dropped", r["event"], r["detail"]))
        continue
    if r["decision"] == "send":
        detail = 'to %s: "%s"' % (r["to"], r["subject"]) + (" (variant %s)" % r["variant"] if r["variant"] else "")
    elif r["decision"] == "deferred":
        detail = "until %s" % r["until"]
    else:
        detail = "%s: %s" % (r["reason"], r["detail"])
    print("%-21s %-8s %-16s %4s  %-10s %-16s %s" % (r["time"], r["customer"], r["rule"], r["step"], r["decision"], r["template"] or "-", detail))
PY
)
"$trig" run "$ex/rules.trig" --events "$ex/events.jsonl" --explain 2>/tmp/trig-demo-summary.$$ | python3 -c "$show_records"
cat /tmp/trig-demo-summary.$$ && rm -f /tmp/trig-demo-summary.$$

say "== trig explain --customer ivy: why the checkout nudge never went out"
"$trig" explain "$ex/rules.trig" --events "$ex/events.jsonl" --customer ivy

say "== trig test examples: every example is also a test"
"$trig" test examples
