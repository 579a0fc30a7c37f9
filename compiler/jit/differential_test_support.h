#pragma once
// The differential test's generator, shared by compiler/jit/differential_test.cpp and the fuzz
// target tests/fuzz/fuzz_differential.cpp: random well-typed conditions (every operator and type,
// optional fields present and absent, history terms with filters and `same`, aggregates, `last`,
// step conditions since the firing, `with` bindings) over random events and histories with edge
// values, and the comparison of the JIT's answer with the reference interpreter's.
//
// The rule sets are generated as .trig text and go through the real parser and sema, so the
// Model the JIT lowers is the one production code sees.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/interp/eval.h"
#include "compiler/jit/history_test_support.h"

namespace trig::jit::differential {

using testing::VectorHistory;

inline constexpr TimeMs kNow = 1767225600000 + 10 * kDay;  // 2026-01-11T00:00:00Z

inline constexpr const char* kSchema = R"(
event ev { s: string, s2?: string, i: int, i2?: int, f: float, f2?: float, m: money, m2?: money,
           b?: bool, t?: time, d?: duration, tags?: [string], nums?: [int] }
event other { s?: string, i?: int, f?: float, m?: money, b?: bool, t?: time, d?: duration, tags?: [string] }
customer { vip?: bool, age?: int, score?: float, ltv?: money, tier?: string, joined?: time }
template t { subject "s" body "b" }
)";

enum class K { Int, Float, Money, String, Bool, Time, Duration };

// Where an expression is written: a rule's own condition (bare names are the anchor `ev as v`),
// an `other(...)` filter (bare names are other's fields), a step condition (event terms may omit
// the window), or a rule anchored on `(ev or other)` (bare names are the fields both have; it
// has no alias, nor have the filters inside it).
enum class Where { Rule, Filter, Step, Alt, AltFilter };

// Random choices come from `Rng` (a UniformRandomBitGenerator): a seeded std::mt19937_64 in the
// unit test, the fuzz input's bytes in tests/fuzz/fuzz_differential.cpp.
template <class Rng>
class Generator {
 public:
  explicit Generator(Rng rng) : rng_(std::move(rng)) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }
  template <typename T>
  const T& oneOf(const std::vector<T>& v) {
    return v[static_cast<size_t>(pick(static_cast<int>(v.size())))];
  }

  std::string cond(int depth, Where w) {
    if (depth <= 0) return atomCond(w);
    switch (pick(8)) {
      case 0: return "(" + cond(depth - 1, w) + " and " + cond(depth - 1, w) + ")";
      case 1: return "(" + cond(depth - 1, w) + " or " + cond(depth - 1, w) + ")";
      case 2: return "not (" + cond(depth - 1, w) + ")";
      default: return atomCond(w);
    }
  }

  std::string atomCond(Where w) {
    static const std::vector<std::string> cmp{"==", "!=", "<", "<=", ">", ">="};
    switch (pick(15)) {
      case 0:
      case 1: {
        // Numbers of compatible kinds (money never meets float).
        K a = numKind();
        K b = a == K::Int ? numKind() : (chance(50) ? a : K::Int);
        return num(a, 2, w) + " " + oneOf(cmp) + " " + num(b, 2, w);
      }
      case 2:
        return str(w) + " " +
               oneOf(std::vector<std::string>{"==", "!=", "<", ">=", "contains", "starts_with"}) +
               " " + str(w);
      case 3: {
        std::string l = str(w);
        return l + " in [" + strLit() + ", " + strLit() + (chance(50) ? ", " + strLit() : "") + "]";
      }
      case 4: {
        if (w == Where::Alt || w == Where::AltFilter) return "tags contains " + str(w);
        std::string list = w == Where::Filter ? oneOf(std::vector<std::string>{"tags", "v.tags"})
                                              : oneOf(std::vector<std::string>{"tags", "v.tags"});
        if (chance(50)) return list + " contains " + str(w);
        return str(w) + " in " + list;
      }
      case 5: {
        if (w == Where::Alt || w == Where::AltFilter) return num(K::Int, 1, w) + " in [1, 3, -2]";
        std::string nums = w == Where::Filter ? "v.nums" : "nums";
        switch (pick(3)) {
          case 0: return num(K::Int, 1, w) + " in " + nums;
          case 1: return nums + " contains " + num(K::Int, 1, w);
          default: return num(K::Int, 1, w) + " in [0, 3, " + intLit() + "]";
        }
      }
      case 6: {
        K k = numKind();
        if (k == K::Money) return num(k, 1, w) + " in [49.99, 0.5, 3]";
        if (k == K::Float) return num(k, 1, w) + " in [0.5, 3, -2.25]";
        return num(k, 1, w) + " in [1, 3, -2]";
      }
      case 7: {
        std::string b = boolean(w);
        if (chance(50)) return b;
        return b + " " + oneOf(std::vector<std::string>{"==", "!="}) + " " +
               (chance(50) ? boolean(w) : oneOf(std::vector<std::string>{"true", "false"}));
      }
      case 8: return time(w) + " " + oneOf(cmp) + " " + time(w);
      case 9: return duration(w) + " " + oneOf(cmp) + " " + duration(w);
      case 10: return "exists(" + anyValue(w) + ")";
      case 11:
      case 12: return eventTerm(w);
      case 13: return longList(w);
      default:
        return "count(" + eventRef(w) + ")" + window(w, true) + " " + oneOf(cmp) + " " +
               oneOf(std::vector<std::string>{"0", "1", "2", "3"});
    }
  }

  // `x in [...]` or `[...] contains x` with 16 to 23 items, which the JIT looks up in sorted
  // tables of the constant items: strings, ints, or ints and decimals mixed; a list of strings or
  // of ints only may hold an item that is not a constant (a field), which a list of decimals may
  // not (it would mix money and float).
  std::string longList(Where w) {
    bool strings = chance(40);
    K k = strings ? K::String : numKind();
    bool ints = !strings && k == K::Int && chance(50);
    std::string items;
    for (int j = 0, n = 16 + pick(8); j < n; ++j) {
      std::string item = strings      ? (chance(6) ? str(w) : strLit())
                         : ints       ? (chance(6) ? num(K::Int, 0, w) : intLit())
                         : chance(50) ? intLit()
                                      : decimalLit();
      items += (j ? ", " : "") + item;
    }
    std::string x = strings ? str(w) : num(k, 1, w);
    return chance(25) ? "[" + items + "] contains " + x : x + " in [" + items + "]";
  }

  K numKind() { return static_cast<K>(pick(3)); }

  std::string num(K k, int depth, Where w) {
    if (depth > 0 && chance(35)) {
      switch (k) {
        case K::Int:
          return "(" + num(K::Int, depth - 1, w) + " " +
                 oneOf(std::vector<std::string>{"+", "-", "*"}) + " " + num(K::Int, depth - 1, w) +
                 ")";
        case K::Float:
          if (chance(25))
            return "(" + num(K::Int, depth - 1, w) + " / " + num(K::Int, depth - 1, w) + ")";
          return "(" + num(K::Float, depth - 1, w) + " " +
                 oneOf(std::vector<std::string>{"+", "-", "*", "/"}) + " " +
                 num(chance(70) ? K::Float : K::Int, depth - 1, w) + ")";
        default:
          if (chance(50))
            return "(" + num(K::Money, depth - 1, w) + " " +
                   oneOf(std::vector<std::string>{"+", "-", "*", "/"}) + " " +
                   num(K::Money, depth - 1, w) + ")";
          // A decimal literal joined with an int is a float, so the money side is no literal.
          return "(" + moneyValue(w) + " " + oneOf(std::vector<std::string>{"+", "-", "*", "/"}) +
                 " " + num(K::Int, depth - 1, w) + ")";
      }
    }
    if (depth > 0 && chance(8)) return "-" + num(k, 0, w);
    switch (pick(5)) {
      case 0: return k == K::Int ? intLit() : decimalLit();
      case 1: return aggregate(k, w);
      case 2: return "last(" + historyRef(w, false) + ")." + fieldOf(k);
      default: return field(k, w);
    }
  }

  std::string moneyValue(Where w) {
    switch (pick(3)) {
      case 0: return aggregate(K::Money, w);
      case 1: return "last(" + historyRef(w, false) + ").m";
      default: return field(K::Money, w);
    }
  }

  std::string aggregate(K k, Where w) {
    std::string ref = historyRef(w, true);
    std::string win = window(w, true);
    switch (k) {
      case K::Int:
        if (chance(50)) return "count(" + eventRef(w) + ")" + win;
        return oneOf(std::vector<std::string>{"sum", "min", "max", "median"}) + "(" + ref + ".i)" +
               win;
      case K::Float:
        if (chance(50)) return "avg(" + ref + ".i)" + win;
        return oneOf(std::vector<std::string>{"sum", "min", "max", "avg", "median"}) + "(" + ref +
               ".f)" + win;
      default:
        return oneOf(std::vector<std::string>{"sum", "min", "max", "avg", "median"}) + "(" + ref +
               ".m)" + win;
    }
  }

  static std::string fieldOf(K k) {
    switch (k) {
      case K::Int: return "i";
      case K::Float: return "f";
      case K::Money: return "m";
      case K::String: return "s";
      case K::Bool: return "b";
      case K::Time: return "t";
      case K::Duration: return "d";
    }
    return "i";
  }

  std::string field(K k, Where w) {
    switch (w) {
      case Where::Alt:
        if (chance(25) && k != K::Duration) return trait(k);
        return fieldOf(k);
      case Where::AltFilter:
        if (chance(15) && k != K::Duration) return trait(k);
        return fieldOf(k);
      case Where::Filter:
        if (chance(30)) return "v." + evField(k);
        if (chance(15) && k != K::Duration) return trait(k);
        return fieldOf(k);
      default:
        if (chance(20) && k != K::Duration) return trait(k);
        return (chance(25) ? "v." : "") + evField(k);
    }
  }

  std::string evField(K k) {
    switch (k) {
      case K::Int: return oneOf(std::vector<std::string>{"i", "i2"});
      case K::Float: return oneOf(std::vector<std::string>{"f", "f2"});
      case K::Money: return oneOf(std::vector<std::string>{"m", "m2"});
      case K::String: return oneOf(std::vector<std::string>{"s", "s2"});
      default: return fieldOf(k);
    }
  }

  static std::string trait(K k) {
    switch (k) {
      case K::Int: return "customer.age";
      case K::Float: return "customer.score";
      case K::Money: return "customer.ltv";
      case K::String: return "customer.tier";
      case K::Bool: return "customer.vip";
      case K::Time: return "customer.joined";
      default: return "customer.age";
    }
  }

  std::string str(Where w) {
    switch (pick(5)) {
      case 0: return strLit();
      case 1: return "last(" + historyRef(w, false) + ").s";
      default: return field(K::String, w);
    }
  }

  std::string boolean(Where w) {
    if (chance(20)) return "last(" + historyRef(w, false) + ").b";
    return field(K::Bool, w);
  }

  std::string time(Where w) {
    switch (pick(6)) {
      case 0:
        return oneOf(std::vector<std::string>{"2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z",
                                              "2026-01-05T12:30:00Z"});
      case 1:
        return "(" + field(K::Time, w) + " " + oneOf(std::vector<std::string>{"+", "-"}) + " " +
               duration(w) + ")";
      case 2: return "last(" + historyRef(w, false) + ").t";
      default: return field(K::Time, w);
    }
  }

  std::string duration(Where w) {
    switch (pick(7)) {
      case 0: return oneOf(std::vector<std::string>{"1h", "30m", "2d", "1s"});
      case 1:
        return "(" + field(K::Duration, w) + " * " +
               oneOf(std::vector<std::string>{"2", "-1", "0", "i"}) + ")";
      case 2:
        return "(" + field(K::Duration, w) + " / " +
               oneOf(std::vector<std::string>{"2", "0", "3"}) + ")";
      case 3: return "(" + time(w) + " - " + time(w) + ")";
      case 4: return "(" + field(K::Duration, w) + " + " + duration(w) + ")";
      default: return field(K::Duration, w);
    }
  }

  std::string anyValue(Where w) {
    K k = static_cast<K>(pick(7));
    if (chance(20)) return "last(" + historyRef(w, false) + ")." + fieldOf(k);
    return field(k, w);
  }

  // An event reference of a history term: other or ev, with an optional filter or `same` list.
  std::string eventRef(Where w) { return historyRef(w, true); }

  std::string historyRef(Where w, bool allowSame) {
    bool inFilter = w == Where::Filter || w == Where::AltFilter;
    int r = pick(10);
    if (r < 4) return chance(75) ? "other" : "ev";
    if (r < 8 && !inFilter)
      return "other(" + cond(1, w == Where::Alt ? Where::AltFilter : Where::Filter) + ")";
    if (allowSame && !inFilter) {
      switch (pick(3)) {
        case 0: return "other(same s)";
        case 1: return "ev(same i)";
        default: return "other(same s, same i)";
      }
    }
    return "other";
  }

  // Steps may omit the window (since the firing); rule conditions and filters may not.
  std::string window(Where w, bool optional) {
    if (optional && w == Where::Step && chance(40)) return "";
    return " within " + oneOf(std::vector<std::string>{"1d", "2d", "3d", "5d", "36h", "10m"});
  }

  std::string eventTerm(Where w) {
    std::string ref = historyRef(w, true);
    if (w == Where::Step && chance(30) && ref.find('(') == std::string::npos)
      return ref;  // bare: since the firing
    std::string win = window(w, true);
    return win.empty() && ref.find('(') == std::string::npos ? ref + "(i >= 0)" : ref + win;
  }

  std::string intLit() {
    return oneOf(std::vector<std::string>{"0", "1", "3", "-2", "7", "1000000", "1000000000000",
                                          "-1000000000000"});
  }
  std::string decimalLit() {
    return oneOf(std::vector<std::string>{"0.5", "49.99", "1.25", "0.0", "100.0", "3.0", "-2.5"});
  }
  std::string strLit() {
    return oneOf(std::vector<std::string>{"\"\"", "\"a\"", "\"ab\"", "\"abc\"", "\"b\"", "\"shoe\"",
                                          "\"Shoes\"", "\"\xc3\xa9\"", "\"a\\\"b\""});
  }

  // ---- values ----

  Value value(K k) {
    switch (k) {
      case K::Int: {
        static const std::vector<int64_t> v{
            0, 1, -1, 3, 7, -2, 1000000, 1'000'000'000'000, INT64_MAX, INT64_MIN, 42};
        return Value::integer(chance(70) ? oneOf(v)
                                         : std::uniform_int_distribution<int64_t>(-50, 50)(rng_));
      }
      case K::Float: {
        static const std::vector<double> v{0.0,   -0.0,   0.5,    -2.25, 3.0, 49.99,
                                           1e300, -1e300, 1e-300, 7.0,   0.1};
        return Value::flt(chance(70) ? oneOf(v)
                                     : std::uniform_int_distribution<int>(-400, 400)(rng_) / 8.0);
      }
      case K::Money: {
        static const std::vector<int64_t> v{0,         49'990'000, -5'500'000,
                                            1,         500'000,    3'000'000,
                                            INT64_MAX, INT64_MIN,  1'000'000'000'000'000,
                                            -1'000'000};
        return Value::money(Decimal{
            chance(70) ? oneOf(v)
                       : std::uniform_int_distribution<int64_t>(-100, 100)(rng_) * 250'000});
      }
      case K::String: {
        static const std::vector<std::string> v{"",     "a",     "ab",       "abc",  "b",
                                                "shoe", "Shoes", "\xc3\xa9", "a\"b", "xshoey"};
        return Value::str(oneOf(v));
      }
      case K::Bool: return Value::boolean(chance(50));
      case K::Time: {
        static const std::vector<TimeMs> v{
            kNow, kNow - kDay, kNow - 5 * kDay - 12 * kHour + 30 * kMinute, 0, kNow + kHour};
        return Value::time(
            chance(60) ? oneOf(v)
                       : kNow - std::uniform_int_distribution<int64_t>(0, 200)(rng_) * kHour);
      }
      case K::Duration: {
        static const std::vector<DurationMs> v{0,      kHour,   30 * kMinute, 2 * kDay,
                                               -kHour, kSecond, INT64_MAX};
        return Value::duration(oneOf(v));
      }
    }
    return Value::absent();
  }

  Value stringList() {
    Value l;
    l.kind = Value::Kind::List;
    int n = pick(4);
    for (int j = 0; j < n; ++j) l.list.push_back(value(K::String));
    return l;
  }
  Value intList() {
    Value l;
    l.kind = Value::Kind::List;
    int n = pick(4);
    for (int j = 0; j < n; ++j) l.list.push_back(value(K::Int));
    return l;
  }

  // A random event of `name` (ev or other: kSchema declares both), optional fields absent half of
  // the time.
  Event event(const Compilation& c, const std::string& name, TimeMs t, uint64_t seq) {
    const sema::EventInfo* info = c.model.findEvent(name);
    Event e;
    e.type = info->index;
    e.name = name;
    e.customer = "c1";
    e.time = t;
    e.seq = seq;
    for (const sema::FieldInfo& f : info->fields) {
      if (f.optional && chance(45)) {
        e.fields.push_back(Value::absent());
        continue;
      }
      e.fields.push_back(valueOfType(f.type));
    }
    return e;
  }

  Value valueOfType(sema::Type t) {
    switch (t.kind) {
      case sema::TypeKind::Int: return value(K::Int);
      case sema::TypeKind::Float: return value(K::Float);
      case sema::TypeKind::Money: return value(K::Money);
      case sema::TypeKind::String: return value(K::String);
      case sema::TypeKind::Bool: return value(K::Bool);
      case sema::TypeKind::Time: return value(K::Time);
      case sema::TypeKind::Duration: return value(K::Duration);
      case sema::TypeKind::List: return t.elem == sema::TypeKind::Int ? intList() : stringList();
      default: return Value::absent();
    }
  }

  Rng& rng() { return rng_; }

 private:
  Rng rng_;
};

// One thing both evaluators evaluate: a rule's condition, an anchor filter, a step's condition or
// a binding.
struct Case {
  const ast::Expr* expr;
  bool step;     // evaluated with a firing time
  bool subject;  // an anchor filter, tested against a subject event
  bool binding;  // compare value(), not test()
};

inline std::string show(const Value& v) {
  std::ostringstream o;
  switch (v.kind) {
    case Value::Kind::Absent: return "absent";
    case Value::Kind::String: return "\"" + v.s + "\"";
    case Value::Kind::Int: o << v.i << "i"; break;
    case Value::Kind::Float: o << v.f << "f"; break;
    case Value::Kind::Money: return v.m.toString() + "m";
    case Value::Kind::Bool: return v.b ? "true" : "false";
    case Value::Kind::Time: return formatTimestamp(v.i);
    case Value::Kind::Duration: o << v.i << "ms"; break;
    case Value::Kind::List: {
      o << "[";
      for (size_t i = 0; i < v.list.size(); ++i) o << (i ? ", " : "") << show(v.list[i]);
      o << "]";
      break;
    }
  }
  return o.str();
}

inline std::string show(const Compilation& c, const Event& e) {
  std::string s =
      e.name + "@" + std::to_string(e.time - kNow) + "ms#" + std::to_string(e.seq) + "{";
  const auto& info = c.model.events[e.type];
  for (size_t i = 0; i < e.fields.size(); ++i)
    s += (i ? ", " : "") + info.fields[i].name + "=" + show(e.fields[i]);
  return s + "}";
}

inline std::string sourceOf(const Compilation& c, const ast::Expr& e) {
  const SourceFile& f = c.sources.file(e.loc.file);
  return std::string(f.text().substr(e.loc.begin, e.loc.end - e.loc.begin));
}

inline bool sameValue(const Value& a, const Value& b) {
  if (a.kind == Value::Kind::Float && b.kind == Value::Kind::Float)
    return a.f == b.f || (std::isnan(a.f) && std::isnan(b.f));
  return a == b;
}

// Rules of kSchema's types (up to `rules` of them) with random conditions, `unless` lists, step
// conditions and bindings, appended to kSchema; stops early when `generated` (the conditions made
// so far, counted up) reaches `limit`.
template <class Rng>
std::string ruleSet(Generator<Rng>& g, int rules, uint64_t& generated, uint64_t limit) {
  std::string text = kSchema;
  for (int r = 0; r < rules && generated < limit; ++r) {
    std::string name = "r" + std::to_string(r);
    bool alt = g.chance(12);
    Where w = alt ? Where::Alt : Where::Rule;
    std::string rule = "trigger " + name + ": when ";
    if (alt) {
      rule += "(ev or other)";
    } else if (g.chance(15)) {
      // An anchor filter: bare names are ev's own fields (those of the `Alt` vocabulary).
      rule += "ev(" + g.cond(1, Where::Alt) + ") as v";
    } else {
      rule += "ev as v";
    }
    int terms = 1 + g.pick(2);
    for (int k = 0; k < terms; ++k) rule += " and " + g.cond(2, w);
    ++generated;
    if (g.chance(50)) {
      rule += " unless " + g.cond(2, w);
      ++generated;
    }
    rule += " send t";
    if (!alt && g.chance(50)) {
      rule += " then after 1h unless " + g.cond(2, Where::Step) + " send t";
      if (g.chance(60)) rule += " with x = " + g.num(g.numKind(), 2, Where::Step);
      ++generated;
    }
    text += rule + "\n";
  }
  return text;
}

// Everything of a rule set both evaluators are asked about.
inline std::vector<Case> casesOf(const Compilation& c) {
  std::vector<Case> cases;
  for (const auto& ri : c.model.rules) {
    for (const ast::EventRef* ref : ri.rule->anchor.events)
      if (ref->filter != nullptr) cases.push_back({ref->filter, false, true, false});
    for (const auto* e : ri.conditions) cases.push_back({e, false, false, false});
    for (const auto* e : ri.unless) cases.push_back({e, false, false, false});
    for (const auto& st : ri.rule->steps) {
      for (const auto* e : st.unless) cases.push_back({e, true, false, false});
      for (const auto& b : st.bindings) cases.push_back({b.value, true, false, true});
    }
  }
  return cases;
}

// What the cases are evaluated in: a history, an anchor of each type, a profile.
struct Environment {
  VectorHistory history;
  Event anchor, otherAnchor;
  std::vector<Value> traits;
  int before = 0;  // events in the history before the anchor
};

template <class Rng>
Environment environment(Generator<Rng>& g, const Compilation& c) {
  Environment env;
  int n = env.before = g.pick(12);
  std::vector<TimeMs> times;
  for (int k = 0; k < n; ++k) {
    static const std::vector<TimeMs> edges{kNow,
                                           kNow - kDay,
                                           kNow - 2 * kDay,
                                           kNow - 36 * kHour,
                                           kNow - 10 * kMinute,
                                           kNow - 5 * kDay,
                                           kNow - 3 * kDay - 1};
    times.push_back(g.chance(40)
                        ? g.oneOf(edges)
                        : kNow - std::uniform_int_distribution<int64_t>(0, 7 * kDay)(g.rng()));
  }
  std::sort(times.begin(), times.end());
  for (int k = 0; k < n; ++k)
    env.history.events.push_back(
        g.event(c, g.chance(65) ? "other" : "ev", times[k], static_cast<uint64_t>(k + 1)));
  env.anchor = g.event(c, "ev", kNow, static_cast<uint64_t>(n + 1));
  if (g.chance(70)) env.history.events.push_back(env.anchor);
  env.otherAnchor = g.event(c, "other", kNow, static_cast<uint64_t>(n + 2));
  for (const auto& tr : c.model.traits)
    env.traits.push_back(tr.optional && g.chance(40) ? Value::absent() : g.valueOfType(tr.type));
  return env;
}

// Evaluates case `k` in `e` (with a time, a firing and an anchor `g` chooses) by both evaluators:
// empty when they agree, else what differs, the expression and the environment. `held` counts
// the conditions the interpreter found true.
template <class Rng>
std::string compareOne(Generator<Rng>& g, const Compilation& c, const Environment& e, const Case& k,
                       Evaluator& jit, Evaluator& interp, uint64_t& held) {
  const VectorHistory& h = e.history;
  EvalEnv env;
  env.history = &h;
  env.traits = &e.traits;
  env.now = kNow + (g.chance(20) ? kHour : 0);
  env.anchor = &e.anchor;
  if (k.step) {
    env.firedAt =
        h.events.empty() || g.chance(30)
            ? kNow - g.pick(3) * kDay
            : h.events[static_cast<size_t>(g.pick(static_cast<int>(h.events.size())))].time;
    env.firedAfterSeq = g.pick(e.before + 3) - 1;
  }
  if (k.subject) env.subject = &e.anchor;
  // Rules anchored on `(ev or other)` see either; for the others this exercises the evaluator's
  // hand-over of foreign anchors to the interpreter.
  if (g.chance(30)) env.anchor = &e.otherAnchor;
  std::ostringstream why;
  auto history = [&] {
    std::string out;
    for (const auto& ev : h.events) out += "\n  " + show(c, ev);
    return out;
  };
  if (k.binding) {
    Value a = jit.value(k.expr->id, env);
    Value b = interp.value(k.expr->id, env);
    if (!sameValue(a, b))
      why << "value differs: " << sourceOf(c, *k.expr) << "\n jit=" << show(a)
          << " interp=" << show(b) << "\n anchor=" << show(c, *env.anchor)
          << " firedAt=" << env.firedAt - kNow << " afterSeq=" << env.firedAfterSeq
          << "\n history:" << history();
    return why.str();
  }
  bool a = jit.test(k.expr->id, env);
  bool b = interp.test(k.expr->id, env);
  held += b ? 1 : 0;
  if (a != b) {
    std::string tr;
    for (size_t j = 0; j < e.traits.size(); ++j)
      tr += " " + c.model.traits[j].name + "=" + show(e.traits[j]);
    why << "JIT says " << a << ", interpreter " << b << ": " << sourceOf(c, *k.expr)
        << "\n anchor=" << show(c, *env.anchor) << "\n traits:" << tr << "\n now=" << env.now - kNow
        << " firedAt="
        << (env.firedAt == INT64_MIN ? std::string("-") : std::to_string(env.firedAt - kNow))
        << " afterSeq=" << env.firedAfterSeq << "\n history:" << history();
  }
  return why.str();
}

}  // namespace trig::jit::differential
