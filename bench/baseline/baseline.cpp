// The hand-written C++ peer of the benchmark: the same rules as the trig rule set, implemented
// directly, as an engineer would write them for this one rule set (the practical upper bound).
//
// The runtime below is written by hand: a JSON-lines reader specialised for Segment track calls,
// exact money (millionths), per-customer state holding only what the rules need (the last
// purchase; the last K view times per product; one pending timer per idle rule), and one FIFO
// per idle rule (timers of one rule are armed in time order, so the queue is sorted). The rule
// predicates themselves come from `rules.inc`, which the harness generates from the rule model
// (bench/harness/to_cpp.py) and compiles in ahead of time.
//
// Usage: baseline EVENTS.jsonl   prints one JSON object with the fired count of every rule.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace std::literals;

namespace {

constexpr int64_t kMsDay = 86'400'000;
constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;

enum EventType : uint8_t {
  T_PAGE_VIEW,
  T_PRODUCT_VIEW,
  T_CART_ADD,
  T_CHECKOUT_START,
  T_PURCHASED,
  T_EMAIL_OPEN,
  T_EMAIL_CLICK,
  T_COUNT
};

// Every field the workloads' events have; strings first, then numbers.
enum Field : uint8_t {
  F_URL,
  F_TITLE,
  F_CATEGORY,
  F_PRODUCT_ID,
  F_PRODUCT_NAME,
  F_ORDER_ID,
  F_MESSAGE_ID,
  F_RULE,
  F_STRING_END,
  F_PRICE = F_STRING_END,
  F_CART_VALUE,
  F_REVENUE,
  F_QUANTITY,
  F_END,
  F_UNKNOWN = 255
};
constexpr int kNumFields = F_END - F_STRING_END;

struct Ev {
  EventType type = T_COUNT;
  std::string_view customer;
  int64_t time = 0;
  uint32_t present = 0;  // bit per Field
  std::string_view s[F_STRING_END];
  int64_t n[kNumFields];  // money in millionths, int as is
  uint32_t product = 0;   // interned product_id, when a rule counts views
  bool has(Field f) const { return (present >> f) & 1u; }
  std::string_view str(Field f) const { return s[f]; }
  int64_t num(Field f) const { return n[f - F_STRING_END]; }
};

// --- The declared layout of the standard events (stdlib/prelude.trig) --------------------------

struct FieldSpec {
  Field field;
  bool required;
};
struct TypeSpec {
  std::string_view name;
  bool passive;
  std::vector<FieldSpec> fields;
};

const TypeSpec kTypes[T_COUNT] = {
    {"page_view", false, {{F_URL, true}, {F_TITLE, false}, {F_CATEGORY, false}}},
    {"product_view",
     false,
     {{F_PRODUCT_ID, true}, {F_PRODUCT_NAME, false}, {F_CATEGORY, false}, {F_PRICE, false}}},
    {"cart_add",
     false,
     {{F_PRODUCT_ID, true},
      {F_PRODUCT_NAME, false},
      {F_CATEGORY, false},
      {F_PRICE, false},
      {F_QUANTITY, false},
      {F_CART_VALUE, false}}},
    {"checkout_start", false, {{F_CART_VALUE, false}}},
    {"purchased", false, {{F_ORDER_ID, true}, {F_PRODUCT_ID, false}, {F_REVENUE, false}}},
    {"email_open", true, {{F_MESSAGE_ID, true}, {F_RULE, false}}},
    {"email_click", true, {{F_MESSAGE_ID, true}, {F_URL, true}, {F_RULE, false}}},
};

Field fieldByName(std::string_view k) {
  switch (k.size()) {
    case 3: return k == "url" ? F_URL : F_UNKNOWN;
    case 4: return k == "rule" ? F_RULE : F_UNKNOWN;
    case 5: return k == "title" ? F_TITLE : k == "price" ? F_PRICE : F_UNKNOWN;
    case 7: return k == "revenue" ? F_REVENUE : F_UNKNOWN;
    case 8:
      return k == "category"   ? F_CATEGORY
             : k == "order_id" ? F_ORDER_ID
             : k == "quantity" ? F_QUANTITY
                               : F_UNKNOWN;
    case 10:
      return k == "product_id"   ? F_PRODUCT_ID
             : k == "message_id" ? F_MESSAGE_ID
             : k == "cart_value" ? F_CART_VALUE
                                 : F_UNKNOWN;
    case 12: return k == "product_name" ? F_PRODUCT_NAME : F_UNKNOWN;
    default: return F_UNKNOWN;
  }
}

int typeByName(std::string_view k) {
  switch (k.size()) {
    case 8: return k == "cart_add" ? T_CART_ADD : -1;
    case 9: return k == "page_view" ? T_PAGE_VIEW : k == "purchased" ? T_PURCHASED : -1;
    case 10: return k == "email_open" ? T_EMAIL_OPEN : -1;
    case 11: return k == "email_click" ? T_EMAIL_CLICK : -1;
    case 12: return k == "product_view" ? T_PRODUCT_VIEW : -1;
    case 14: return k == "checkout_start" ? T_CHECKOUT_START : -1;
    default: return -1;
  }
}

// --- Customers -----------------------------------------------------------------------------

struct ViewHist {
  uint32_t product;
  uint32_t count;    // views recorded, capped at the ring size
  int64_t times[4];  // the most recent views, newest at (count - 1) % 4
};

struct Cust {
  int64_t lastPurchase = kNever;
  std::vector<ViewHist> views;
  uint32_t armed = 0;    // bit per idle rule
  uint32_t gen[8] = {};  // per idle rule: bumped when a pending evaluation is cancelled or replaced
};

// Open addressing, linear probing: string -> dense index. A slot is 8 bytes (the high half of
// the key's hash as a tag, and the index), so that the table of a million customers stays small.
class Interner {
 public:
  uint32_t intern(std::string_view key, bool& added) {
    if ((keys_.size() + 1) * 2 > slots_.size()) grow();
    const uint64_t h = hash(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.index == kEmpty) {
        s = Slot{tag, static_cast<uint32_t>(keys_.size())};
        keys_.emplace_back(key);
        added = true;
        return s.index;
      }
      if (s.tag == tag && keys_[s.index] == key) {
        added = false;
        return s.index;
      }
    }
  }
  size_t size() const { return keys_.size(); }

 private:
  static constexpr uint32_t kEmpty = 0xffffffffu;
  struct Slot {
    uint32_t tag = 0;
    uint32_t index = kEmpty;
  };
  static uint64_t hash(std::string_view k) {
    // FNV-1a over the bytes, then murmur's finaliser: the low bits index the table, and ids
    // such as "c123" and "c124" must not land next to each other (linear probing clusters).
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char ch : k) h = (h ^ ch) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
  }
  void grow() {
    slots_.assign(slots_.empty() ? 1024 : slots_.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (uint32_t idx = 0; idx < keys_.size(); ++idx) {
      const uint64_t h = hash(keys_[idx]);
      size_t i = h & mask;
      while (slots_[i].index != kEmpty) i = (i + 1) & mask;
      slots_[i] = Slot{static_cast<uint32_t>(h >> 32), idx};
    }
  }
  std::vector<Slot> slots_;
  std::vector<std::string> keys_;
};

Interner customers;
Interner products;
std::vector<Cust> custs;

// The ring of the last four view times of (customer, product).
void recordView(Cust& c, uint32_t product, int64_t t, int64_t window) {
  constexpr size_t kNone = ~size_t{0};
  size_t hit = kNone;
  for (size_t i = 0; i < c.views.size();) {
    ViewHist& v = c.views[i];
    if (v.product != product && v.times[(v.count - 1) % 4] < t - window) {
      // Nothing of that product is inside any window any more: drop it (the back element moves
      // here and is examined next).
      v = c.views.back();
      c.views.pop_back();
      continue;
    }
    if (v.product == product) hit = i;
    ++i;
  }
  if (hit == kNone) {
    hit = c.views.size();
    c.views.push_back(ViewHist{product, 0, {}});
  }
  ViewHist& h = c.views[hit];
  h.times[h.count % 4] = t;
  ++h.count;
}

// The number of views of `product` in [t - window, t], counted up to the ring size.
[[maybe_unused]] int viewsWithin(const Cust& c, uint32_t product, int64_t t, int64_t window) {
  for (const ViewHist& v : c.views) {
    if (v.product != product) continue;
    int n = 0;
    uint32_t have = std::min<uint32_t>(v.count, 4);
    for (uint32_t k = 0; k < have; ++k)
      if (v.times[k] >= t - window && v.times[k] <= t) ++n;
    return n;
  }
  return 0;
}

[[maybe_unused]] bool purchasedWithin(const Cust& c, int64_t t, int64_t window) {
  return c.lastPurchase >= t - window && c.lastPurchase <= t;
}

struct Timer {
  int64_t due;
  uint32_t cust;
  uint32_t gen;
};

struct IdleRule {
  int rule;  // index into the fired counts
  int64_t delay;
};

std::vector<uint64_t> fired;

}  // namespace

// The generated part: kRuleNames, kNeedViews, kViewWindow, kNeedPurchases, kIdleRules,
// onEvent(e, c) for the rules evaluated at their anchor, idleArms(i, e) and idleHolds(i, c, t).
#include "rules.inc"

namespace {

std::deque<Timer> timers[kIdleCount > 0 ? kIdleCount : 1];
uint64_t pending = 0;
uint64_t peakPending = 0;

void fireDue(int64_t now) {
  for (int i = 0; i < kIdleCount; ++i) {
    auto& q = timers[i];
    while (!q.empty() && q.front().due <= now) {
      Timer tm = q.front();
      q.pop_front();
      Cust& c = custs[tm.cust];
      if (!((c.armed >> i) & 1u) || c.gen[i] != tm.gen) continue;
      c.armed &= ~(1u << i);
      --pending;
      if (idleHolds(i, c, tm.due)) ++fired[kIdle[i].rule];
    }
  }
}

// --- Reading -------------------------------------------------------------------------------

struct Parser {
  const char* p;
  const char* end;
  std::string* scratch;  // decoded strings with escapes

  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) ++p;
  }
  bool lit(char c) {
    ws();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  bool str(std::string_view& out) {
    ws();
    if (p >= end || *p != '"') return false;
    const char* s = ++p;
    const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (q && !std::memchr(p, '\\', static_cast<size_t>(q - p))) {
      p = q;
      out = {s, static_cast<size_t>(p - s)};
      ++p;
      return true;
    }
    while (p < end && *p != '"' && *p != '\\') ++p;
    if (p < end && *p == '"') {
      out = {s, static_cast<size_t>(p - s)};
      ++p;
      return true;
    }
    // Escapes: decode into the scratch buffer (kept alive until the line is processed).
    std::string& buf = scratch[0];
    size_t start = buf.size();
    buf.append(s, p);
    while (p < end && *p != '"') {
      if (*p == '\\') {
        if (++p >= end) return false;
        switch (*p) {
          case 'n': buf += '\n'; break;
          case 't': buf += '\t'; break;
          case 'r': buf += '\r'; break;
          case 'b': buf += '\b'; break;
          case 'f': buf += '\f'; break;
          case 'u': {
            if (end - p < 5) return false;
            unsigned cp = 0;
            for (int k = 1; k <= 4; ++k) {
              char h = p[k];
              cp = cp * 16 + (h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
            }
            p += 4;
            if (cp < 0x80) {
              buf += static_cast<char>(cp);
            } else if (cp < 0x800) {
              buf += static_cast<char>(0xc0 | (cp >> 6));
              buf += static_cast<char>(0x80 | (cp & 0x3f));
            } else {
              buf += static_cast<char>(0xe0 | (cp >> 12));
              buf += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
              buf += static_cast<char>(0x80 | (cp & 0x3f));
            }
            break;
          }
          default: buf += *p;
        }
        ++p;
      } else {
        buf += *p++;
      }
    }
    if (p >= end) return false;
    ++p;
    out = std::string_view(buf).substr(start);
    return true;
  }
  // A JSON number as exact millionths; `integral` tells whether it had no fraction.
  bool number(int64_t& millionths, int64_t& whole, bool& integral) {
    ws();
    bool neg = false;
    if (p < end && *p == '-') {
      neg = true;
      ++p;
    }
    if (p >= end || *p < '0' || *p > '9') return false;
    int64_t w = 0;
    while (p < end && *p >= '0' && *p <= '9') w = w * 10 + (*p++ - '0');
    int64_t frac = 0;
    int digits = 0;
    integral = true;
    if (p < end && *p == '.') {
      ++p;
      integral = false;
      while (p < end && *p >= '0' && *p <= '9') {
        if (digits < 6) {
          frac = frac * 10 + (*p - '0');
          ++digits;
        }
        ++p;
      }
      if (digits == 0) return false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) return false;  // not generated; rejected
    while (digits < 6) {
      frac *= 10;
      ++digits;
    }
    millionths = w * 1'000'000 + frac;
    whole = w;
    if (neg) {
      millionths = -millionths;
      whole = -whole;
    }
    return true;
  }
  // Skips any value (objects and arrays of properties the rules do not declare).
  bool skip() {
    ws();
    if (p >= end) return false;
    if (*p == '"') {
      std::string_view s;
      return str(s);
    }
    if (*p == '{' || *p == '[') {
      char open = *p, close = open == '{' ? '}' : ']';
      ++p;
      if (lit(close)) return true;
      do {
        if (open == '{') {
          std::string_view k;
          if (!str(k) || !lit(':')) return false;
        }
        if (!skip()) return false;
      } while (lit(','));
      return lit(close);
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ') ++p;
    return true;
  }
};

// Days from 1970-01-01 (Howard Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool parseTime(std::string_view s, int64_t& out) {
  auto dig = [&](size_t i, size_t n, int64_t& v) {
    if (i + n > s.size()) return false;
    v = 0;
    for (size_t k = i; k < i + n; ++k) {
      if (s[k] < '0' || s[k] > '9') return false;
      v = v * 10 + (s[k] - '0');
    }
    return true;
  };
  int64_t Y, M, D, h, m, sec;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return false;
  if (!dig(0, 4, Y) || !dig(5, 2, M) || !dig(8, 2, D) || !dig(11, 2, h) || !dig(14, 2, m) ||
      !dig(17, 2, sec))
    return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return false;
  size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 3) ms = ms * 10 + (s[i] - '0');
      ++n;
      ++i;
    }
    if (n == 0) return false;
    for (; n < 3; ++n) ms *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int64_t oh, om;
    if (!dig(i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !dig(i + 4, 2, om))
      return false;
    offset = (oh * 60 + om) * 60'000 * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  out = ((daysFromCivil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D)) * 24 + h) * 60 + m) *
            60'000 +
        sec * 1000 + ms - offset;
  return true;
}

// camelCase property keys match snake_case fields (spec section 8).
Field propertyField(std::string_view k, std::string& tmp) {
  bool upper = false;
  for (char ch : k) upper |= (ch >= 'A' && ch <= 'Z');
  if (!upper) return fieldByName(k);
  tmp.clear();
  for (char ch : k) {
    if (ch >= 'A' && ch <= 'Z') {
      tmp += '_';
      tmp += static_cast<char>(ch | 32);
    } else {
      tmp += ch;
    }
  }
  return fieldByName(tmp);
}

// The properties object of an event of type `t`, into `ev`. False when it is malformed or a
// declared field has the wrong type (the event is then invalid).
bool decodeProperties(Parser& Q, int t, Ev& ev) {
  uint32_t declared = 0;
  for (const auto& f : kTypes[t].fields) declared |= 1u << f.field;
  if (!Q.lit('{')) return false;
  if (Q.lit('}')) return true;
  std::string tmp;
  do {
    std::string_view k;
    if (!Q.str(k) || !Q.lit(':')) return false;
    Field f = propertyField(k, tmp);
    if (f == F_UNKNOWN || !((declared >> f) & 1u)) {
      if (!Q.skip()) return false;
      continue;
    }
    Q.ws();
    if (Q.p < Q.end && Q.p[0] == 'n') {  // null: absent
      if (!Q.skip()) return false;
      continue;
    }
    if (f < F_STRING_END) {
      if (!Q.str(ev.s[f])) return false;  // a number where a string is declared: invalid
    } else {
      int64_t milli, whole;
      bool integral;
      if (!Q.number(milli, whole, integral)) return false;
      if (f == F_QUANTITY) {
        if (!integral) return false;
        ev.n[f - F_STRING_END] = whole;
      } else {
        ev.n[f - F_STRING_END] = milli;
      }
    }
    ev.present |= 1u << f;
  } while (Q.lit(','));
  return Q.lit('}');
}

// Decodes one line into `ev`. Returns false for an invalid event (counted, never processed).
bool decode(const char* b, const char* e, Ev& ev, std::string* scratch) {
  Parser P{b, e, scratch};
  scratch[0].clear();
  // Decoded strings are never longer than the line: no reallocation moves a decoded view.
  scratch[0].reserve(static_cast<size_t>(e - b));
  std::string_view type = "track", event, user, ts;
  const char* propsBegin = nullptr;  // properties seen before the event name: decoded after
  bool propsDone = false;
  int t = -1;
  ev.present = 0;
  if (!P.lit('{')) return false;
  if (!P.lit('}')) {
    do {
      std::string_view k;
      if (!P.str(k) || !P.lit(':')) return false;
      if (k == "properties") {
        P.ws();
        if (t >= 0) {
          if (!decodeProperties(P, t, ev)) return false;
          propsDone = true;
        } else {
          propsBegin = P.p;
          if (!P.skip()) return false;
        }
      } else if (k == "event") {
        if (!P.str(event)) return false;
        t = typeByName(event);
      } else if (k == "type" || k == "userId" || k == "timestamp") {
        std::string_view v;
        if (!P.str(v)) return false;
        (k == "type" ? type : k == "userId" ? user : ts) = v;
      } else if (!P.skip()) {
        return false;
      }
    } while (P.lit(','));
    if (!P.lit('}')) return false;
  }
  if (type != "track") return false;  // the workloads send no identify calls
  if (t < 0 || user.empty() || !parseTime(ts, ev.time)) return false;
  ev.type = static_cast<EventType>(t);
  ev.customer = user;
  if (!propsDone && propsBegin) {
    Parser Q{propsBegin, e, scratch};
    if (!decodeProperties(Q, t, ev)) return false;
  }
  for (const auto& f : kTypes[t].fields)
    if (f.required && !ev.has(f.field)) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: baseline EVENTS.jsonl\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    std::perror(argv[1]);
    return 2;
  }
  fired.assign(kRuleCount, 0);
  std::vector<char> buf(4 << 20);
  size_t have = 0;
  uint64_t events = 0, rejected = 0, lineNo = 0;
  int64_t clock = kNever;
  std::string scratch[1];
  Ev ev;
  bool eof = false;
  while (!eof || have > 0) {
    if (!eof) {
      if (have == buf.size()) buf.resize(buf.size() * 2);
      ssize_t n = read(fd, buf.data() + have, buf.size() - have);
      if (n < 0) {
        std::perror("read");
        return 2;
      }
      if (n == 0) eof = true;
      have += static_cast<size_t>(n);
    }
    const char* p = buf.data();
    const char* end = p + have;
    while (true) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      if (!nl) {
        if (!eof) break;
        if (p == end) break;
        nl = end;  // last line without a newline
      }
      ++lineNo;
      const char* b = p;
      p = nl < end ? nl + 1 : end;
      while (b < nl && (*b == ' ' || *b == '\r')) ++b;
      if (b == nl) continue;
      if (!decode(b, nl, ev, scratch)) {
        ++rejected;
        continue;
      }
      if (ev.time < clock) {
        // trig replays in timestamp order; this program relies on the generator's order.
        std::fprintf(stderr, "%s:%llu: events out of time order\n", argv[1],
                     static_cast<unsigned long long>(lineNo));
        return 2;
      }
      clock = ev.time;
      ++events;
      fireDue(ev.time);
      bool added = false;
      uint32_t ci = customers.intern(ev.customer, added);
      if (added) custs.emplace_back();
      Cust& c = custs[ci];
      if constexpr (kNeedPurchases) {
        if (ev.type == T_PURCHASED) c.lastPurchase = ev.time;
      }
      if constexpr (kNeedViews) {
        if (ev.has(F_PRODUCT_ID)) ev.product = products.intern(ev.str(F_PRODUCT_ID), added);
        if (ev.type == T_PRODUCT_VIEW) recordView(c, ev.product, ev.time, kViewWindow);
      }
      if constexpr (kIdleCount > 0) {
        if (!kTypes[ev.type].passive && c.armed) {
          for (int i = 0; i < kIdleCount; ++i) {
            if ((c.armed >> i) & 1u) {
              ++c.gen[i];
              --pending;
            }
          }
          c.armed = 0;
        }
        for (int i = 0; i < kIdleCount; ++i) {
          if (idleArms(i, ev)) {
            ++c.gen[i];
            c.armed |= 1u << i;
            ++pending;
            timers[i].push_back(Timer{ev.time + kIdle[i].delay, ci, c.gen[i]});
          }
        }
        peakPending = std::max(peakPending, pending);
      }
      onEvent(ev, c);
    }
    size_t used = static_cast<size_t>(p - buf.data());
    std::memmove(buf.data(), p, have - used);
    have -= used;
    if (eof && have > 0) have = 0;
  }
  close(fd);
  fireDue(std::numeric_limits<int64_t>::max());
  std::printf(
      "{\"engine\":\"cpp\",\"events\":%llu,\"rejected\":%llu,\"customers\":%zu,\"peak_pending\":%"
      "llu,\"fired\":{",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(rejected),
      customers.size(), static_cast<unsigned long long>(peakPending));
  for (int i = 0; i < kRuleCount; ++i)
    std::printf("%s\"%s\":%llu", i ? "," : "", kRuleNames[i],
                static_cast<unsigned long long>(fired[i]));
  std::printf("}}\n");
  return rejected > 0 ? 1 : 0;
}
