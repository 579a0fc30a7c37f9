"""The spec's split bucket (LANGUAGE.md section 5), computed independently of trig, for the
report tests' rules (tests/report/rules.trig: rule `checkout`, split `delay`, 50% fast / 50% slow)."""


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def variant_of(customer):
    return "fast" if fnv1a64(f"{customer}/checkout/delay".encode()) % 100 < 50 else "slow"
