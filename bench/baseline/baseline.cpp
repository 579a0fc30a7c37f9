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
// With a mail rule set (kMail, the mail workloads), customers get their address and first name
// from identify calls, and the winner of each event (the first rule that holds: the rules'
// priorities fall in declaration order) is sent as trig sends it: its template's subject rendered,
// its message id (FNV-1a-64 of "rule\x1fcustomer\x1fstep\x1ffiring time", spec and
// runtime/engine/engine.cpp), and the record trig prints (runtime/engine/record_json.cpp) written
// to --records in 64 KiB batches. The bytes must equal `trig run`'s on the same events.
//
// Usage: baseline EVENTS.jsonl [--records FILE]   prints one JSON object with the fired count of
// every rule (and, with a mail rule set, the sent count).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
  bool identify = false;  // an identify call: the traits below, no event type
  // An identify's traits: 0 not given, 1 set to `email` / `firstName`, 2 removed (null).
  uint8_t setEmail = 0, setFirstName = 0;
  std::string_view email, firstName;
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
std::vector<uint64_t> sent;
// The rule that won the event being processed (mail rule sets): the first that held.
int winner = -1;

[[maybe_unused]] inline void hit(int i) {
  ++fired[static_cast<size_t>(i)];
  if (winner < 0) winner = i;
}

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

// --- Sending (mail rule sets) ---------------------------------------------------------------

// What identify calls told of a customer, by customer index (grown only for mail rule sets).
struct Traits {
  std::string email;
  std::string firstName;
};
std::vector<Traits> traits;

// Records are written in batches of 64 KiB, as trig writes them; a write error is an error.
class RecordOut {
 public:
  bool open(const char* path) {
    fd_ = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    path_ = path;
    return fd_ >= 0;
  }
  bool isOpen() const { return fd_ >= 0; }
  // Room for `n` more bytes at the returned pointer; commit() what was written.
  char* reserve(size_t n) {
    if (buf_.size() - used_ < n) {
      flush();
      if (buf_.size() < n) buf_.resize(n);
    }
    return buf_.data() + used_;
  }
  void commit(char* end) { used_ = static_cast<size_t>(end - buf_.data()); }
  void flush() {
    size_t off = 0;
    while (off < used_) {
      ssize_t n = ::write(fd_, buf_.data() + off, used_ - off);
      if (n < 0) {
        std::perror(path_);
        std::exit(2);
      }
      off += static_cast<size_t>(n);
    }
    used_ = 0;
  }
  void close() {
    if (fd_ < 0) return;
    flush();
    if (::close(fd_) != 0) {
      std::perror(path_);
      std::exit(2);
    }
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  const char* path_ = "";
  std::vector<char> buf_ = std::vector<char>(64 << 10);
  size_t used_ = 0;
};
RecordOut records;

template <size_t N>
char* lit(char* p, const char (&text)[N]) {
  std::memcpy(p, text, N - 1);
  return p + N - 1;
}

// The text of a JSON string without its quotes, escaped as trig escapes it (bytes from 0x80 on
// are copied: the events were valid UTF-8). At most 6 bytes per input byte.
char* escaped(char* p, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
      *p++ = ch;
      continue;
    }
    *p++ = '\\';
    switch (c) {
      case '"': *p++ = '"'; break;
      case '\\': *p++ = '\\'; break;
      case '\n': *p++ = 'n'; break;
      case '\r': *p++ = 'r'; break;
      case '\t': *p++ = 't'; break;
      case '\b': *p++ = 'b'; break;
      case '\f': *p++ = 'f'; break;
      default:
        p = lit(p, "u00");
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 15];
    }
  }
  return p;
}

char* decimal(char* p, uint64_t v) {
  char buf[20];
  char* q = buf + sizeof buf;
  do {
    *--q = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  const auto n = static_cast<size_t>(buf + sizeof buf - q);
  std::memcpy(p, q, n);
  return p + n;
}

// Money as templates render it: two decimals, rounded half away from zero.
char* money(char* p, int64_t millionths) {
  const bool neg = millionths < 0;
  const uint64_t u =
      neg ? 0 - static_cast<uint64_t>(millionths) : static_cast<uint64_t>(millionths);
  const uint64_t cents = (u + 5000) / 10000;
  if (neg && cents != 0) *p++ = '-';
  p = decimal(p, cents / 100);
  *p++ = '.';
  *p++ = static_cast<char>('0' + cents % 100 / 10);
  *p++ = static_cast<char>('0' + cents % 10);
  return p;
}

// Liquid's `default`: absent, empty, or only white space.
bool blank(std::string_view v) {
  return v.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

// The subject of template `t` (the order of MAIL_TEMPLATES in bench/harness/translate.py), JSON-
// escaped. Every value is at most the line's length, so 6 bytes per byte of the line bound it.
char* renderSubject(char* p, int t, const Ev& e, const Traits& tr) {
  p = escaped(p, blank(tr.firstName) ? "Hi"sv : std::string_view(tr.firstName));
  switch (t) {
    case 0:  // mail_page
      p = lit(p, ", more on ");
      return escaped(p, e.str(F_URL));
    case 1:  // mail_product
      p = lit(p, ", still thinking about ");
      p = escaped(p, e.has(F_PRODUCT_NAME) && !blank(e.str(F_PRODUCT_NAME)) ? e.str(F_PRODUCT_NAME)
                                                                            : "it"sv);
      return lit(p, "?");
    case 2:  // mail_checkout
      p = lit(p, ", your cart of ");
      p = e.has(F_CART_VALUE) ? money(p, e.num(F_CART_VALUE)) : lit(p, "a few things");
      return lit(p, " is waiting");
    case 3:  // mail_order
      p = lit(p, ", thanks for order ");
      return escaped(p, e.str(F_ORDER_ID));
    case 4:  // mail_engaged
      p = lit(p, ", more about ");
      return escaped(p, e.has(F_RULE) && !blank(e.str(F_RULE)) ? e.str(F_RULE) : "our news"sv);
    default: return p;
  }
}

// Civil date from days since 1970-01-01 (Howard Hinnant's civil_from_days).
void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

// RFC 3339 in UTC, milliseconds only when not zero, the date of the last day kept (the events
// are in time order). Years 1970-9999, as the workloads have.
char* timestamp(char* p, int64_t t) {
  static int64_t lastDay = kNever;
  static char dayText[10];
  const int64_t day = t / kMsDay;
  if (day != lastDay) {
    int64_t y;
    unsigned m, d;
    civilFromDays(day, y, m, d);
    char text[32];
    std::snprintf(text, sizeof text, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    std::memcpy(dayText, text, sizeof dayText);
    lastDay = day;
  }
  const auto ms = static_cast<uint32_t>(t - day * kMsDay);
  const uint32_t h = ms / 3'600'000, mi = ms / 60'000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  std::memcpy(p, dayText, sizeof dayText);
  p += sizeof dayText;
  char two[] = {'T', static_cast<char>('0' + h / 10),  static_cast<char>('0' + h % 10),
                ':', static_cast<char>('0' + mi / 10), static_cast<char>('0' + mi % 10),
                ':', static_cast<char>('0' + s / 10),  static_cast<char>('0' + s % 10)};
  std::memcpy(p, two, sizeof two);
  p += sizeof two;
  if (frac != 0) {
    p[0] = '.';
    p[1] = static_cast<char>('0' + frac / 100);
    p[2] = static_cast<char>('0' + frac / 10 % 10);
    p[3] = static_cast<char>('0' + frac % 10);
    p += 4;
  }
  *p++ = 'Z';
  return p;
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
uint64_t fnv(uint64_t h, std::string_view bytes) {
  for (unsigned char ch : bytes) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}
// Per rule: FNV-1a of "rule\x1f", where every message id of the rule starts.
std::vector<uint64_t> idPrefix;

// The message id of step 1 of a firing of `rule` for `customer` at `t`, as trig makes it.
char* messageId(char* p, int rule, std::string_view customer, int64_t t) {
  uint64_t h = fnv(idPrefix[static_cast<size_t>(rule)], customer);
  constexpr char kStep1[] = {0x1f, '1', 0x1f};
  h = fnv(h, std::string_view(kStep1, sizeof kStep1));
  char digits[24];
  char* q = digits + sizeof digits;
  const bool neg = t < 0;
  auto u = neg ? 0 - static_cast<uint64_t>(t) : static_cast<uint64_t>(t);
  do {
    *--q = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (neg) *--q = '-';
  h = fnv(h, std::string_view(q, static_cast<size_t>(digits + sizeof digits - q)));
  p = lit(p, "trig-");
  for (int i = 15; i >= 0; --i) p[15 - i] = "0123456789abcdef"[(h >> (4 * i)) & 15];
  return p + 16;
}

// The send of `rule`'s first step to the customer of `e`, at the event's time.
void send(int rule, const Ev& e, const Traits& tr, size_t lineBytes) {
  if (tr.email.empty()) return;  // trig: suppressed (no_email), no record without --explain
  ++sent[static_cast<size_t>(rule)];
  const std::string_view ruleName = kRuleNames[rule];
  const std::string_view tmpl = kTemplateNames[kRuleTemplate[rule]];
  const size_t bound = 512 + 6 * (lineBytes + e.customer.size() + tr.email.size() +
                                  tr.firstName.size() + ruleName.size() + tmpl.size());
  char* p = records.reserve(bound);
  p = lit(p, "{\"decision\":\"send\",\"time\":\"");
  p = timestamp(p, e.time);
  p = lit(p, "\",\"customer\":\"");
  p = escaped(p, e.customer);
  p = lit(p, "\",\"rule\":\"");
  p = escaped(p, ruleName);
  p = lit(p, "\",\"step\":1,\"template\":\"");
  p = escaped(p, tmpl);
  p = lit(p, "\",\"variant\":null,\"to\":\"");
  p = escaped(p, tr.email);
  p = lit(p, "\",\"subject\":\"");
  p = renderSubject(p, kRuleTemplate[rule], e, tr);
  p = lit(p, "\",\"message_id\":\"");
  p = messageId(p, rule, e.customer, e.time);
  p = lit(p, "\"}\n");
  records.commit(p);
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

// An identify's traits object: the address and the first name (a string, or null to remove).
bool decodeTraits(Parser& Q, Ev& ev) {
  if (!Q.lit('{')) return false;
  if (Q.lit('}')) return true;
  do {
    std::string_view k;
    if (!Q.str(k) || !Q.lit(':')) return false;
    const bool email = k == "email", first = k == "first_name" || k == "firstName";
    if (!email && !first) {
      if (!Q.skip()) return false;
      continue;
    }
    Q.ws();
    uint8_t& set = email ? ev.setEmail : ev.setFirstName;
    if (Q.p < Q.end && Q.p[0] == 'n') {
      if (!Q.skip()) return false;
      set = 2;
      continue;
    }
    if (!Q.str(email ? ev.email : ev.firstName)) return false;  // not a string: invalid
    set = 1;
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
  const char* traitsBegin = nullptr;
  bool propsDone = false;
  int t = -1;
  ev.present = 0;
  ev.identify = false;
  ev.setEmail = ev.setFirstName = 0;
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
      } else if (k == "traits") {
        P.ws();
        traitsBegin = P.p;
        if (!P.skip()) return false;
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
  if (type == "identify" && kMail) {
    if (user.empty() || !parseTime(ts, ev.time)) return false;
    ev.identify = true;
    ev.customer = user;
    if (!traitsBegin) return true;
    Parser Q{traitsBegin, e, scratch};
    return decodeTraits(Q, ev);
  }
  if (type != "track") return false;  // the plain workloads send no identify calls
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
  if (argc != 2 && !(argc == 4 && std::strcmp(argv[2], "--records") == 0)) {
    std::fprintf(stderr, "usage: baseline EVENTS.jsonl [--records FILE]\n");
    return 2;
  }
  if (argc == 4 && !records.open(argv[3])) {
    std::perror(argv[3]);
    return 2;
  }
  if (kMail && !records.isOpen()) {
    std::fprintf(stderr, "baseline: a mail rule set needs --records FILE\n");
    return 2;
  }
  sent.assign(kRuleCount, 0);
  for (int i = 0; i < kRuleCount; ++i)
    idPrefix.push_back(fnv(fnv(kFnvOffset, kRuleNames[i]), "\x1f"sv));
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
      if (added) {
        custs.emplace_back();
        if constexpr (kMail) traits.emplace_back();
      }
      Cust& c = custs[ci];
      if constexpr (kMail) {
        if (ev.identify) {
          // Identify calls are not activity: they cancel nothing and anchor nothing.
          Traits& tr = traits[ci];
          if (ev.setEmail) tr.email.assign(ev.setEmail == 1 ? ev.email : ""sv);
          if (ev.setFirstName) tr.firstName.assign(ev.setFirstName == 1 ? ev.firstName : ""sv);
          continue;
        }
      }
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
      if constexpr (kMail) {
        if (winner >= 0) send(winner, ev, traits[ci], static_cast<size_t>(nl - b));
        winner = -1;
      }
    }
    size_t used = static_cast<size_t>(p - buf.data());
    std::memmove(buf.data(), p, have - used);
    have -= used;
    if (eof && have > 0) have = 0;
  }
  close(fd);
  fireDue(std::numeric_limits<int64_t>::max());
  records.close();
  std::printf(
      "{\"engine\":\"cpp\",\"events\":%llu,\"rejected\":%llu,\"customers\":%zu,\"peak_pending\":%"
      "llu,\"fired\":{",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(rejected),
      customers.size(), static_cast<unsigned long long>(peakPending));
  for (int i = 0; i < kRuleCount; ++i)
    std::printf("%s\"%s\":%llu", i ? "," : "", kRuleNames[i],
                static_cast<unsigned long long>(fired[i]));
  std::printf("}");
  if (kMail) {
    std::printf(",\"sent\":{");
    for (int i = 0; i < kRuleCount; ++i)
      std::printf("%s\"%s\":%llu", i ? "," : "", kRuleNames[i],
                  static_cast<unsigned long long>(sent[i]));
    std::printf("}");
  }
  std::printf("}\n");
  return rejected > 0 ? 1 : 0;
}
