"""The oracle: the workload rules evaluated directly in Python, written for clarity, not speed.
The self-test checks every engine's fired counts against it on a small stream.

Semantics (spec section 4, "Temporal semantics"), for the rule forms of workload.Rule:
- Events are processed in stream order (the generator writes them in time order).
- Timers due at or before an event's stamp fire before that event is processed; at the end of
  the stream every pending timer fires.
- A processed event enters its customer's history before the rules anchored on it are evaluated,
  so `count(product_view(same product_id)) within 7d` counts the anchor itself.
- Windows are [t - D, t], inclusive.
- Any non-passive event of a customer cancels that customer's pending idle evaluations; an
  anchor of an idle rule then arms a new one (one pending per rule and customer).
- A comparison with an absent field is false, whatever the operator.

Mail workloads (`mail=True`, rules without idle): identify calls give customers traits; of the
rules that fire on one event the first declared (the highest priority) is sent, the others are
outranked (spec section 6, arbitration with W = 0), and the send's record is the JSON line trig
prints (spec section 9): subject rendered from the template of translate.MAIL_TEMPLATES, message id
FNV-1a-64 of "rule\x1fcustomer\x1fstep\x1ffiring time".
"""
from __future__ import annotations

import heapq
from typing import Iterable

import json
import re

from .translate import MAIL_TEMPLATES, mail_template
from .workload import MS_DAY, PASSIVE, Cmp, Money, Rule, format_ts, parse_line


def compare(c: Cmp, props: dict) -> bool:
    if c.field not in props:
        return False
    v = props[c.field]
    want = c.value
    if isinstance(v, Money):
        v = v.cents
        want = want.cents if isinstance(want, Money) else want * 100
    op = c.op
    if op == "==":
        return v == want
    if op == "!=":
        return v != want
    if op == "<":
        return v < want
    if op == "<=":
        return v <= want
    if op == ">":
        return v > want
    if op == ">=":
        return v >= want
    if op == "in":
        return v in want
    if op == "contains":
        return want in v
    if op == "starts_with":
        return v.startswith(want)
    raise AssertionError(op)


def fnv1a64(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def message_id(rule: str, customer: str, step: int, fired_at: int) -> str:
    key = "\x1f".join([rule, customer, str(step), str(fired_at)])
    return f"trig-{fnv1a64(key.encode()):016x}"


def _money_text(m: Money) -> str:
    return f"{m.cents // 100}.{m.cents % 100:02d}"


def render_subject(template: str, props: dict, traits: dict) -> str:
    """A MAIL_TEMPLATES subject, rendered as the spec says: a variable is a trait (`customer.x`)
    or the anchor's field; `default` replaces absent, empty or blank values; money has two
    decimals."""
    def value(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        v = traits.get(name[len("customer."):]) if name.startswith("customer.") else props.get(name)
        if isinstance(v, Money):
            return _money_text(v)
        if v is None or (isinstance(v, str) and not v.strip(" \t\r\n\f\v")):
            if default is None:
                raise ValueError(f"{name} has no value and no default")
            return default
        return str(v)
    return re.sub(r'\{\{ ([a-z_.]+)(?: \| default "([^"]*)")? \}\}', value, template)


class Reference:
    def __init__(self, rules: list[Rule], mail: bool = False):
        self.rules = rules
        self.mail = mail
        if mail and any(r.idle_ms for r in rules):
            raise ValueError("the mail workloads have no idle rules")
        self.fired = {r.name: 0 for r in rules}
        self.sent = {r.name: 0 for r in rules}
        self.traits: dict[str, dict] = {}
        self.records: list[str] = []
        self.last_purchase: dict[str, int] = {}
        self.views: dict[tuple[str, str], list[int]] = {}
        self.generation: dict[tuple[int, str], int] = {}
        self.pending: set[tuple[int, str]] = set()
        self.timers: list[tuple[int, int, int, str, int]] = []
        self.seq = 0
        self.peak_pending = 0
        self.events = 0

    def _conditions_hold(self, r: Rule, cust: str, t: int, props: dict) -> bool:
        if r.count_min:
            if "product_id" not in props:
                return False
            times = self.views.get((cust, props["product_id"]), [])
            lo = t - r.count_days * MS_DAY
            if sum(1 for x in times if lo <= x <= t) < r.count_min:
                return False
        if r.unless_purchased_days:
            lp = self.last_purchase.get(cust)
            if lp is not None and t - r.unless_purchased_days * MS_DAY <= lp <= t:
                return False
        return True

    def _fire_due(self, now: int | None) -> None:
        while self.timers and (now is None or self.timers[0][0] <= now):
            due, _, ri, cust, gen = heapq.heappop(self.timers)
            key = (ri, cust)
            if self.generation.get(key) != gen or key not in self.pending:
                continue
            self.pending.discard(key)
            r = self.rules[ri]
            if self._conditions_hold(r, cust, due, {}):
                self.fired[r.name] += 1

    def process(self, et: str, cust: str, t: int, props: dict) -> None:
        self.events += 1
        self._fire_due(t)
        if et == "identify":
            if not self.mail:
                raise ValueError("identify calls are in the mail workloads only")
            tr = self.traits.setdefault(cust, {})
            for k, v in props.items():
                if v is None:
                    tr.pop(k, None)
                else:
                    tr[k] = v
            return
        winner = None
        if et == "purchased":
            self.last_purchase[cust] = t
        elif et == "product_view":
            self.views.setdefault((cust, props["product_id"]), []).append(t)
        if et not in PASSIVE:
            for ri, r in enumerate(self.rules):
                if r.idle_ms and (ri, cust) in self.pending:
                    self.pending.discard((ri, cust))
                    self.generation[(ri, cust)] = self.generation.get((ri, cust), 0) + 1
        for ri, r in enumerate(self.rules):
            if r.anchor != et or not all(compare(c, props) for c in r.filters):
                continue
            if r.idle_ms:
                key = (ri, cust)
                gen = self.generation.get(key, 0) + 1
                self.generation[key] = gen
                self.pending.add(key)
                self.seq += 1
                heapq.heappush(self.timers, (t + r.idle_ms, self.seq, ri, cust, gen))
            elif self._conditions_hold(r, cust, t, props):
                self.fired[r.name] += 1
                if winner is None:
                    winner = r
        self.peak_pending = max(self.peak_pending, len(self.pending))
        if self.mail and winner is not None:
            self._send(winner, cust, t, props)

    def _send(self, r: Rule, cust: str, t: int, props: dict) -> None:
        traits = self.traits.get(cust, {})
        if not traits.get("email"):
            return  # no_email: suppressed, not printed without --explain
        self.sent[r.name] += 1
        name, _, subject = MAIL_TEMPLATES[mail_template(r.anchor)]
        rec = {"decision": "send", "time": format_ts(t), "customer": cust, "rule": r.name, "step": 1,
               "template": name, "variant": None, "to": traits["email"],
               "subject": render_subject(subject, props, traits), "message_id": message_id(r.name, cust, 1, t)}
        self.records.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))

    def finish(self) -> dict:
        self._fire_due(None)
        out = {"fired": self.fired, "events": self.events, "peak_pending": self.peak_pending}
        if self.mail:
            out["sent"] = self.sent
            out["records"] = "".join(line + "\n" for line in self.records)
        return out


def run_reference(rules: list[Rule], lines: Iterable[str], mail: bool = False) -> dict:
    ref = Reference(rules, mail)
    for line in lines:
        if line.strip():
            ref.process(*parse_line(line))
    return ref.finish()
