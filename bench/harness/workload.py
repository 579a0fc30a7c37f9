"""Workloads of the side-by-side benchmark: a rule model every engine is translated from, and a
seeded generator of Segment-shaped events (spec section 8) that every engine reads.

One rule model, many renderings: `to_trig`, `to_clips`, `to_jre` and `to_cpp` translate the same
`Rule` objects, and `reference` evaluates them directly (the oracle of the self-test). The rule
forms are deliberately few so that their meaning is the same in every engine:

    when E(c1 and c2 ...) [and count(product_view(same product_id)) within 7d >= K]
                          [and idle D] [unless purchased within 30d] send note

In the plain workloads customers never get an email (no identify events), so every firing of
trig ends as one `no_email` suppression: the fired count is the number of decisions before
policy, with no arbitration, cap or quiet hours in play. The *mail* workloads (StreamSpec.mail)
are the same events with an identify call before each customer's first event, giving an email
address (and most customers a first name): trig's firings then become sends, rendered and
written, one per customer and instant (the others are outranked: every rule has its own
priority, the rule declared first the highest).
"""
from __future__ import annotations

import bisect
import decimal
import hashlib
import itertools
import json
import os
import random
from dataclasses import dataclass
from typing import Iterator

MS_SECOND = 1000
MS_MINUTE = 60 * MS_SECOND
MS_HOUR = 60 * MS_MINUTE
MS_DAY = 24 * MS_HOUR

# 2026-01-01T00:00:00Z in ms since the epoch.
EPOCH_2026 = 1767225600000

# The standard events the workloads use (stdlib/prelude.trig): field -> (type, optional).
# Types: "string", "int", "money".
EVENT_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "page_view": {"url": ("string", False), "title": ("string", True), "category": ("string", True)},
    "product_view": {"product_id": ("string", False), "product_name": ("string", True),
                     "category": ("string", True), "price": ("money", True)},
    "cart_add": {"product_id": ("string", False), "product_name": ("string", True),
                 "category": ("string", True), "price": ("money", True), "quantity": ("int", True),
                 "cart_value": ("money", True)},
    "checkout_start": {"cart_value": ("money", True)},
    "purchased": {"order_id": ("string", False), "product_id": ("string", True), "revenue": ("money", True)},
    "email_open": {"message_id": ("string", False), "rule": ("string", True)},
    "email_click": {"message_id": ("string", False), "url": ("string", False), "rule": ("string", True)},
}
EVENT_TYPES = list(EVENT_FIELDS)
PASSIVE = {"email_open", "email_click"}
# Every field name across the event types, in a fixed order (flat layouts of the peers).
ALL_FIELDS = sorted({f for fs in EVENT_FIELDS.values() for f in fs})
FIELD_TYPE = {f: t for fs in EVENT_FIELDS.values() for f, (t, _) in fs.items()}

# The event mix of the issue: ~60% page/product views, 20% cart adds, 10% email engagement,
# 5% checkouts, 5% purchases.
EVENT_MIX = [("page_view", 25), ("product_view", 35), ("cart_add", 20), ("email_open", 6),
             ("email_click", 4), ("checkout_start", 5), ("purchased", 5)]

CATEGORIES = ["shoes", "bags", "lamps", "chairs", "tables", "books", "toys", "garden", "kitchen",
              "audio", "phones", "beauty"]
CAMPAIGNS = ["welcome", "cart_abandon", "browse", "winback", "promo_spring", "promo_summer",
             "newsletter", "vip"]
NOUNS = {"shoes": "Shoe", "bags": "Bag", "lamps": "Lamp", "chairs": "Chair", "tables": "Table",
         "books": "Book", "toys": "Toy", "garden": "Hose", "kitchen": "Pan", "audio": "Speaker",
         "phones": "Phone", "beauty": "Cream"}
N_PRODUCTS = 2000
TITLE_WORDS = ["Home", "Sale", "New arrivals", "Blog", "Help", "Gift ideas", "Deals"]
FIRST_NAMES = ["Ann", "Bob", "Chloé", "Dev", "Eve", "Femi", "Gus", "Hana", "Ivo", "June", "Kai", "Lena"]


# ---------------------------------------------------------------------------------------------
# Values

@dataclass(frozen=True)
class Money:
    """An exact amount in cents (every generated amount has at most two decimals)."""
    cents: int

    def text(self) -> str:
        # Whole amounts are written as integers ("150"): the spec requires integer text to be a
        # valid money, so the stream exercises both forms.
        if self.cents % 100 == 0:
            return str(self.cents // 100)
        return f"{self.cents // 100}.{self.cents % 100:02d}"


def product(pid: int) -> tuple[str, str, str, Money]:
    """The catalogue is a pure function of the index: id, name, category, price."""
    h = int.from_bytes(hashlib.blake2b(pid.to_bytes(4, "little"), digest_size=8).digest(), "little")
    category = CATEGORIES[h % len(CATEGORIES)]
    name = f"{['Red', 'Blue', 'Oak', 'Steel', 'Soft', 'Tiny'][(h >> 8) % 6]} {NOUNS[category]} {pid}"
    # Prices from 2.00 to 499.99, a third of them whole.
    cents = 200 + (h >> 16) % 49800
    if (h >> 40) % 3 == 0:
        cents -= cents % 100
    return f"p{pid}", name, category, Money(cents)


# ---------------------------------------------------------------------------------------------
# Rules

OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "contains", "starts_with")


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: object  # str, int, Money, or a tuple of str for `in`


@dataclass(frozen=True)
class Rule:
    name: str
    anchor: str
    filters: tuple[Cmp, ...] = ()
    # count(product_view(same product_id)) within `count_days` >= count_min
    count_min: int = 0
    count_days: int = 7
    idle_ms: int = 0
    unless_purchased_days: int = 0

    @property
    def stateful(self) -> bool:
        return bool(self.count_min or self.idle_ms or self.unless_purchased_days)


def _cmp_for(rng: random.Random, anchor: str, fname: str) -> Cmp:
    t = FIELD_TYPE[fname]
    if fname == "category":
        op = rng.choice(["==", "==", "==", "in", "!="])
        if op == "in":
            return Cmp(fname, op, tuple(sorted(rng.sample(CATEGORIES, rng.randint(2, 4)))))
        return Cmp(fname, op, rng.choice(CATEGORIES))
    if fname == "product_id":
        if rng.random() < 0.5:
            return Cmp(fname, "in", tuple(f"p{rng.randrange(40)}" for _ in range(rng.randint(2, 6))))
        return Cmp(fname, "==", f"p{rng.randrange(60)}")
    if fname == "product_name":
        return Cmp(fname, "contains", rng.choice(["Red", "Blue", "Oak", "Steel", "Soft", "Tiny", "Lamp", "Chair"]))
    if fname == "title":
        return Cmp(fname, rng.choice(["==", "contains"]), rng.choice(TITLE_WORDS))
    if fname == "url":
        if anchor == "email_click":
            return Cmp(fname, rng.choice(["contains", "starts_with"]),
                       rng.choice(["/promo", "/p/p1", "/c/", "/unsub"]))
        cat = rng.choice(CATEGORIES)
        return Cmp(fname, rng.choice(["starts_with", "starts_with", "contains", "=="]),
                   rng.choice([f"/sale/{cat}", f"/c/{cat}", f"/p/p{rng.randrange(30)}", "/blog/1", "/",
                               f"/search?q={cat}", "/sale", "/c/"]))
    if fname == "rule":
        return Cmp(fname, "==", rng.choice(CAMPAIGNS))
    if fname in ("message_id", "order_id"):
        prefix = "m-" if fname == "message_id" else "o-"
        return Cmp(fname, "starts_with", f"{prefix}{rng.randint(1, 9)}")
    if t == "int":
        op = rng.choice(["==", ">=", "<", ">"])
        return Cmp(fname, op, rng.randint(1, 4))
    if t == "money":
        op = rng.choice(["<", "<=", ">", ">="])
        cents = rng.choice([1000, 2500, 4999, 9999, 15000, 20000, 30000, 45000, 60000, 100000])
        if fname in ("cart_value", "revenue"):
            cents *= 2
        return Cmp(fname, op, Money(cents))
    raise AssertionError(fname)


ANCHOR_WEIGHTS = [("product_view", 30), ("page_view", 20), ("cart_add", 25), ("checkout_start", 8),
                  ("purchased", 7), ("email_click", 5), ("email_open", 5)]

# The comparison that makes a rule target a segment (a category, a product, a page, a campaign,
# a band of amounts): every rule starts with one of these, so that a thousand rules fire about
# once per event in all, as a real rule set would, rather than every rule on every event.
def _narrow(rng: random.Random, anchor: str) -> list[Cmp]:
    cat = rng.choice(CATEGORIES)
    if anchor in ("product_view", "cart_add"):
        r = rng.random()
        if r < 0.6:
            return [Cmp("category", "==", cat)]
        if r < 0.8:
            return [Cmp("product_id", "in", tuple(f"p{rng.randrange(200)}" for _ in range(rng.randint(2, 8))))]
        return [Cmp("product_name", "contains", f"{rng.choice(['Red', 'Blue', 'Oak', 'Steel', 'Soft', 'Tiny'])} "
                                                f"{NOUNS[cat]}")]
    if anchor == "page_view":
        return [rng.choice([Cmp("url", "starts_with", f"/sale/{cat}"), Cmp("url", "==", f"/c/{cat}"),
                            Cmp("url", "starts_with", f"/p/p{rng.randrange(1, 20)}"),
                            Cmp("category", "==", cat)])]
    if anchor in ("checkout_start", "purchased"):
        fname = "cart_value" if anchor == "checkout_start" else "revenue"
        lo = rng.randrange(10, 600) * 100
        return [Cmp(fname, ">=", Money(lo)), Cmp(fname, "<", Money(lo + rng.choice([1000, 2500, 5000])))]
    if anchor == "email_open":
        return [Cmp("rule", "==", rng.choice(CAMPAIGNS)), Cmp("message_id", "starts_with", f"m-{rng.randint(1, 9)}")]
    if anchor == "email_click":
        return [Cmp("rule", "==", rng.choice(CAMPAIGNS))]
    raise AssertionError(anchor)


def make_rules(n: int, seed: int, stateful: bool) -> list[Rule]:
    """`n` rules `when E(filters) send note`. The first n rules of a larger set are the smaller
    set, and the stateful set (W2) is the stateless one (W1) plus, on about half the rules,
    `unless purchased within 30d`, and on about half of those anchored on a product,
    `count(product_view(same product_id)) within 7d >= K`."""
    rng = random.Random(f"rules/{seed}")
    extra = random.Random(f"rules/{seed}/stateful")
    anchors, weights = zip(*ANCHOR_WEIGHTS)
    rules = []
    for i in range(n):
        anchor = rng.choices(anchors, weights)[0]
        filters = _narrow(rng, anchor)
        # One or two more comparisons, on fields not compared yet.
        free = [f for f in EVENT_FIELDS[anchor] if f not in {c.field for c in filters}]
        for f in rng.sample(free, min(len(free), rng.choice([1, 1, 2]))):
            filters.append(_cmp_for(rng, anchor, f))
        count_min = 0
        unless_days = 0
        # Drawn whether or not they are used, so that W1 and W2 share their filters.
        u, c, k = extra.random(), extra.random(), extra.randint(2, 4)
        if stateful:
            if anchor != "purchased" and u < 0.5:
                unless_days = 30
            if anchor in ("product_view", "cart_add") and c < 0.5:
                count_min = k
        rules.append(Rule(f"r{i + 1:04d}", anchor, tuple(filters), count_min=count_min,
                          unless_purchased_days=unless_days))
    return rules


def timer_rules() -> list[Rule]:
    """W3: idle timers armed by cart adds (and one by checkouts), cancelled by later activity."""
    return [
        # The canonical one-liner of the spec, less the priority (no arbitration in play).
        Rule("cart_idle", "cart_add", (), idle_ms=15 * MS_MINUTE, unless_purchased_days=30),
        Rule("big_cart_idle", "cart_add", (Cmp("cart_value", ">=", Money(20000)),), idle_ms=15 * MS_MINUTE),
        Rule("multi_item_idle", "cart_add", (Cmp("quantity", ">=", 2),), idle_ms=1 * MS_HOUR),
        Rule("checkout_idle", "checkout_start", (), idle_ms=30 * MS_MINUTE),
    ]


# ---------------------------------------------------------------------------------------------
# Events

@dataclass
class StreamSpec:
    """What the generator makes. Same spec and seed: byte-identical output."""
    name: str
    events: int
    customers: int
    seed: int
    span_ms: int           # event time from the first to the last event
    zipf_s: float = 1.0    # customer popularity; 0 = uniform
    start_ms: int = EPOCH_2026
    # An identify (email, usually a first name) before each customer's first event: the same
    # events, plus one line per customer.
    mail: bool = False

    def events_key(self) -> str:
        """What the events are drawn from (a mail stream's events are the plain stream's)."""
        return (f"{self.name}-n{self.events}-c{self.customers}-s{self.seed}-span{self.span_ms}"
                f"-z{self.zipf_s}-v3")

    def key(self) -> str:
        return self.events_key() + ("-mail1" if self.mail else "")


def format_ts(ms: int) -> str:
    """RFC 3339 in UTC, milliseconds only when not zero (what trig prints too)."""
    import datetime
    secs, milli = divmod(ms, 1000)
    dt = datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{milli:03d}Z" if milli else f"{base}Z"


class _TsFormatter:
    """format_ts with the date part cached (the stream is in time order)."""

    def __init__(self) -> None:
        self.day = None
        self.prefix = ""

    def __call__(self, ms: int) -> str:
        d, rest = divmod(ms, MS_DAY)
        if d != self.day:
            self.day = d
            self.prefix = format_ts(d * MS_DAY)[:11]  # "YYYY-MM-DDT"
        h, rest = divmod(rest, MS_HOUR)
        m, rest = divmod(rest, MS_MINUTE)
        s, milli = divmod(rest, 1000)
        if milli:
            return f"{self.prefix}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"
        return f"{self.prefix}{h:02d}:{m:02d}:{s:02d}Z"


def _zipf_cum(n: int, s: float) -> list[float]:
    if s == 0:
        return list(itertools.accumulate(itertools.repeat(1.0, n)))
    return list(itertools.accumulate(1.0 / (k ** s) for k in range(1, n + 1)))


def generate(spec: StreamSpec) -> Iterator[tuple[str, str, int, dict]]:
    """Yields (event, userId, time ms, properties) in time order. Time is spread evenly over the
    span; two events of one customer never share a stamp, so no engine has to break a tie
    between them (stable order would decide, but that is not what this benchmark measures)."""
    rng = random.Random(f"events/{spec.events_key()}")
    types, type_w = zip(*EVENT_MIX)
    n = spec.events
    cust_cum = _zipf_cum(spec.customers, spec.zipf_s)
    cust_total = cust_cum[-1]
    prod_cum = _zipf_cum(N_PRODUCTS, 1.1)
    prod_total = prod_cum[-1]
    catalogue = [product(i) for i in range(N_PRODUCTS)]
    # Each customer's three favourite products (what repeat views are made of).
    last_ts: dict[int, int] = {}
    cart_count: dict[int, int] = {}
    rand = rng.random
    order_no = 0
    msg_no = 0
    type_draws: list[str] = []
    for i in range(n):
        ts = spec.start_ms + (i * spec.span_ms) // max(1, n - 1)
        while True:
            c = bisect.bisect_left(cust_cum, rand() * cust_total)
            if c >= spec.customers:
                c = spec.customers - 1
            if last_ts.get(c) != ts:
                break
        last_ts[c] = ts
        if not type_draws:
            type_draws = rng.choices(types, type_w, k=min(65536, n - i))
            type_draws.reverse()
        et = type_draws.pop()
        props: dict = {}
        if et in ("product_view", "cart_add", "purchased"):
            if rand() < 0.6:
                pid = (c * 7919 + rng.randrange(3) * 104729) % N_PRODUCTS
            else:
                pid = min(N_PRODUCTS - 1, bisect.bisect_left(prod_cum, rand() * prod_total))
            p_id, p_name, p_cat, p_price = catalogue[pid]
        if et == "page_view":
            r = rand()
            cat = CATEGORIES[int(rand() * len(CATEGORIES))]
            if r < 0.2:
                url = "/"
            elif r < 0.4:
                url = f"/c/{cat}"
            elif r < 0.55:
                url = f"/sale/{cat}"
            elif r < 0.75:
                url = f"/p/p{int(rand() * N_PRODUCTS)}"
            elif r < 0.9:
                url = f"/blog/{int(rand() * 500)}"
            else:
                url = f"/search?q={cat}"
            props["url"] = url
            if rand() < 0.7:
                props["title"] = TITLE_WORDS[int(rand() * len(TITLE_WORDS))]
            if rand() < 0.6:
                props["category"] = cat
        elif et == "product_view":
            props["product_id"] = p_id
            if rand() < 0.8:
                props["product_name"] = p_name
            if rand() < 0.9:
                props["category"] = p_cat
            if rand() < 0.9:
                props["price"] = p_price
        elif et == "cart_add":
            props["product_id"] = p_id
            if rand() < 0.8:
                props["product_name"] = p_name
            if rand() < 0.9:
                props["category"] = p_cat
            if rand() < 0.9:
                props["price"] = p_price
            q = 1 + int(rand() * rand() * 5)
            if rand() < 0.8:
                props["quantity"] = q
            items = cart_count.get(c, 0) + 1
            cart_count[c] = items
            if rand() < 0.85:
                props["cart_value"] = Money(p_price.cents * q + (items - 1) * 1500)
        elif et == "checkout_start":
            if rand() < 0.9:
                props["cart_value"] = Money(1000 + int(rand() * 60000))
        elif et == "purchased":
            order_no += 1
            props["order_id"] = f"o-{order_no}"
            if rand() < 0.7:
                props["product_id"] = p_id
            if rand() < 0.95:
                props["revenue"] = Money(1000 + int(rand() * 80000))
            cart_count.pop(c, None)
        else:  # email_open, email_click
            msg_no += 1
            props["message_id"] = f"m-{msg_no}"
            if et == "email_click":
                props["url"] = rng.choice(["/promo/spring", "/p/p1", "/p/p17", "/c/shoes", "/unsubscribe",
                                           "/promo/vip", "/cart"])
            if rand() < 0.6:
                props["rule"] = CAMPAIGNS[int(rand() * len(CAMPAIGNS))]
        yield et, f"c{c}", ts, props


def segment_line(et: str, user: str, ts_text: str, props: dict) -> str:
    """One Segment track call (spec section 8). Keys are written in a fixed order; money as its
    exact decimal text. Generated strings never need escaping (checked by the self-test)."""
    parts = []
    for k, v in props.items():
        if v.__class__ is Money:
            parts.append(f'"{k}":{v.text()}')
        elif v.__class__ is int:
            parts.append(f'"{k}":{v}')
        else:
            parts.append(f'"{k}":"{v}"')
    return (f'{{"type":"track","event":"{et}","userId":"{user}","timestamp":"{ts_text}",'
            f'"properties":{{{",".join(parts)}}}}}')


def identify_line(user: str, ts_text: str, traits: dict) -> str:
    """One Segment identify call (spec section 8), keys in a fixed order."""
    body = ",".join(f'"{k}":"{v}"' for k, v in traits.items())
    return f'{{"type":"identify","userId":"{user}","timestamp":"{ts_text}","traits":{{{body}}}}}'


def customer_traits(rng: random.Random, user: str) -> dict:
    """A mail stream's traits of one customer: an address, and a first name for 80% of them."""
    first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
    traits = {"email": f"{user}@example.com"}
    if rng.random() < 0.8:
        traits["first_name"] = first
    return traits


def write_stream(spec: StreamSpec, path: str) -> dict:
    """Writes the stream as JSON lines; returns facts about it (lines, distinct customers, mix).
    A mail stream has an identify line, stamped as the event, before each customer's first
    event; its traits come from a generator of their own, so the events are the plain stream's."""
    tmp = path + ".tmp"
    fmt_ts = _TsFormatter()
    counts: dict[str, int] = {}
    customers: set[str] = set()
    traits_rng = random.Random(f"traits/{spec.key()}")
    lines = 0
    with open(tmp, "w", encoding="utf-8", buffering=1 << 20) as out:
        for et, user, ts, props in generate(spec):
            ts_text = fmt_ts(ts)
            if spec.mail and user not in customers:
                out.write(identify_line(user, ts_text, customer_traits(traits_rng, user)))
                out.write("\n")
                lines += 1
                counts["identify"] = counts.get("identify", 0) + 1
            out.write(segment_line(et, user, ts_text, props))
            out.write("\n")
            lines += 1
            counts[et] = counts.get(et, 0) + 1
            customers.add(user)
    os.replace(tmp, path)
    # `events` is the number of lines, identify calls included: what every engine reads.
    return {"events": lines, "track_events": spec.events, "distinct_customers": len(customers),
            "mix": counts}


def parse_line(line: str) -> tuple[str, str, int, dict]:
    """The inverse of segment_line (and identify_line, as the event "identify" with the traits as
    its properties) for the peers' converters and the reference model: money comes back as Money
    (exact), ints as int."""
    obj = json.loads(line, parse_float=decimal.Decimal)
    if obj.get("type") == "identify":
        return "identify", obj["userId"], parse_ts(obj["timestamp"]), dict(obj.get("traits", {}))
    et = obj["event"]
    fields = EVENT_FIELDS[et]
    props = {}
    for k, v in obj.get("properties", {}).items():
        k = _snake(k)
        if k not in fields or v is None:
            continue
        t = fields[k][0]
        if t == "money":
            props[k] = Money(_cents(v))
        else:
            props[k] = v
    return et, obj["userId"], parse_ts(obj["timestamp"]), props


def _snake(key: str) -> str:
    """camelCase property keys match snake_case fields (spec section 8)."""
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in key)


def _cents(v) -> int:
    cents = decimal.Decimal(v) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"amount {v} has more than two decimals")
    return int(cents)


def parse_ts(text: str) -> int:
    """RFC 3339 -> ms since the epoch."""
    import datetime
    dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return (dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)
