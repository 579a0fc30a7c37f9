#pragma once
// Generated event lines for the ingest tests and bench/ingest/decoder_dump.cpp: timestamps of
// every shape, and lines of every shape the decoder meets (mostly the usual one, with every kind
// of departure from it mixed in). Deterministic: the same seed gives the same lines.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "compiler/sema/model.h"

namespace trig::testing {

inline std::string twoDigits(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

// A timestamp from parts, each drawn from valid values and values just outside them.
inline std::string randomStamp(std::mt19937& rng) {
  static const int kYears[] = {0,    1,    4,    100,  400,  1600, 1700, 1900, 1969,
                               1970, 1999, 2000, 2023, 2024, 2026, 2100, 2400, 9999};
  static const int kDays[] = {0, 1, 9, 10, 15, 28, 29, 30, 31, 32};
  static const char* kFractions[] = {
      "",          "",           "",      ".",           ".1",      ".12",
      ".123",      ".184",       ".1234", ".12345",      ".123456", ".1234567",
      ".12345678", ".123456789", ".999",  ".0000000001", ".1a3",    ".000"};
  static const char* kEnds[] = {"Z",      "Z",      "Z",      "Z", "Z",  "Z", "z",
                                "+00:00", "-01:30", "+14:00", "",  "ZZ", " "};
  static const char kSeparators[] = {'T', 'T', 'T', 'T', 'T', 'T', 't', ' ', '_'};
  auto pick = [&](auto& options) { return options[rng() % std::size(options)]; };
  // Each part is mostly in range, sometimes at or past its limits.
  auto part = [&](int inRange, int all, int offset) {
    return twoDigits(offset + static_cast<int>(rng() % (rng() % 8 != 0 ? inRange : all)));
  };
  std::string year = std::to_string(pick(kYears));
  while (year.size() < 4) year = "0" + year;
  const std::string day = rng() % 8 != 0 ? part(28, 28, 1) : twoDigits(pick(kDays));
  std::string s = year + "-" + part(12, 14, rng() % 8 != 0 ? 1 : 0) + "-" + day +
                  pick(kSeparators) + part(24, 25, 0) + ":" + part(60, 61, 0) + ":" +
                  part(60, 62, 0) + pick(kFractions) + pick(kEnds);
  if (rng() % 8 == 0) {
    // Any byte anywhere.
    static const std::string kBytes = "0123456789-:TtZz.+ /a\xc3";
    s[rng() % s.size()] = kBytes[rng() % kBytes.size()];
  }
  if (rng() % 16 == 0) s.resize(rng() % s.size());
  return s;
}

inline std::string quoted(const std::string& s) {
  return '"' + s + '"';
}

inline std::string camel(const std::string& snake) {
  std::string out;
  bool up = false;
  for (char c : snake) {
    if (c == '_') {
      up = true;
    } else {
      out.push_back(up && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
      up = false;
    }
  }
  return out;
}

// Lines of every shape the decoder meets: mostly the canonical one, with every kind of
// departure from it (escapes, whitespace, nulls, repeated keys, other orders, wrong types,
// malformed JSON) mixed in.
struct LineGen {
  const sema::Model& model;
  std::mt19937 rng{424242};

  bool chance(int percent) { return static_cast<int>(rng() % 100) < percent; }
  // Mostly the usual shape, valid; sometimes anything.
  std::string stamp() {
    if (chance(15)) return randomStamp(rng);
    return "2026-0" + std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10) + "T" +
           twoDigits(static_cast<int>(rng() % 24)) + ":" + twoDigits(static_cast<int>(rng() % 60)) +
           ":" + twoDigits(static_cast<int>(rng() % 60)) +
           (chance(50) ? "." + std::to_string(100 + rng() % 900) : "") + "Z";
  }
  template <typename T>
  const T& pick(const std::vector<T>& options) {
    return options[rng() % options.size()];
  }

  std::string value(sema::TypeKind t) {
    using sema::TypeKind;
    switch (t) {
      case TypeKind::String:
        return chance(90) ? pick<std::string>({R"("p1")", R"("Blue Table 1165")", R"("/p/p1096")",
                                               R"("")", R"("a longer product name of forty ch")",
                                               "\"caf\xc3\xa9 \xe2\x82\xac\""})
                          : pick<std::string>({R"("a\"b")", R"("\u00e9")", "\"x\x01\"", "\"\xff\"",
                                               "5", "null", "true", R"(["a"])", R"("unterminated)",
                                               "\"\xed\xa0\x80\""});
      case TypeKind::Money:
        return chance(85) ? pick<std::string>({"49.99", "150", "0", "126.89", "0.5", "-12.25",
                                               "123456789012.123456", "-0.000001"})
                          : pick<std::string>({"-0", "0.1234567", "1e2", "4.999e1", "01", "1.", "-",
                                               "9223372036855", "1234567890123", "\"49.99\"",
                                               "null", "1.50000000000", "0e999999999", "1E-2"});
      case TypeKind::Int:
        return chance(85)
                   ? pick<std::string>({"1", "3", "-42", "0", "123456789012"})
                   : pick<std::string>({"2.0", "1e2", "9223372036854775807", "9223372036854775808",
                                        "1234567890123", "\"3\"", "null", "-0", "00", "-", "1.5"});
      case TypeKind::Float:
        return pick<std::string>({"0.1", "3", "-2.5E-3", "1e999", "\"0.1\"", "null", "1e-400"});
      case TypeKind::Bool:
        return pick<std::string>({"true", "false", "true", "null", "1", "\"true\"", "tru"});
      case TypeKind::Time: return quoted(stamp());
      case TypeKind::Duration:
        return pick<std::string>({R"("15m")", R"("1h30m")", R"("soon")", R"("")", "null", "15"});
      default: return "null";
    }
  }

  std::string typed(sema::Type t) {
    if (t.kind != sema::TypeKind::List) return value(t.kind);
    if (chance(10)) return pick<std::string>({"null", R"("a")", "[1,]", "[null]", "[", "{}"});
    std::string s = "[";
    const int n = static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) s += (k ? "," : "") + value(t.elem);
    return s + "]";
  }

  std::string properties(const sema::EventInfo* info) {
    if (chance(3)) return pick<std::string>({"null", R"("p")", "[]", "{", R"({"a":})"});
    std::vector<std::string> members;
    if (info) {
      for (const auto& f : info->fields) {
        // Required fields are nearly always there.
        if (!chance(f.optional || f.defaultValue ? 55 : 97)) continue;
        std::string key = f.name;
        if (chance(10)) key = camel(f.name);
        if (!f.aliases.empty() && chance(20)) key = pick(f.aliases);
        if (chance(3) && !key.empty())
          key = "\\u00" + std::string(key[0] == 'p' ? "70" : "61") + key.substr(1);
        members.push_back(quoted(key) + ":" + (chance(3) ? "null" : typed(f.type)));
        if (chance(3)) members.push_back(quoted(key) + ":" + typed(f.type));  // repeated
      }
    }
    if (chance(15))
      members.push_back(pick<std::string>({R"("extra":[1,2,{"y":null}])",
                                           R"("unknownThing":{"x":1})", R"("HTMLUrl":"x")",
                                           R"("note":"hi")", R"("n":12)", R"("bad":{"a":})"}));
    if (chance(30)) std::shuffle(members.begin(), members.end(), rng);
    std::string s = "{";
    for (size_t k = 0; k < members.size(); ++k) s += (k ? "," : "") + members[k];
    return s + "}";
  }

  // An identify call's traits: declared ones (some camelCase, null, repeated, of the wrong type),
  // sometimes undeclared ones or no object at all.
  std::string traitsObject() {
    if (chance(3)) return pick<std::string>({"null", "[1]", "{", R"({"a":})", R"("x")"});
    std::vector<std::string> members;
    for (const auto& f : model.traits) {
      if (!chance(50)) continue;
      const std::string key = chance(15) ? camel(f.name) : f.name;
      members.push_back(quoted(key) + ":" + (chance(5) ? "null" : typed(f.type)));
      if (chance(3)) members.push_back(quoted(key) + ":" + typed(f.type));  // repeated
    }
    if (chance(10))
      members.push_back(
          pick<std::string>({R"("plan":"gold")", R"("age":41)", R"("address":{"city":"x"})",
                             R"("tags2":["a","b"])", R"("gone":null)", R"("firstName":"Ann")"}));
    if (chance(20)) std::shuffle(members.begin(), members.end(), rng);
    std::string s = "{";
    for (size_t k = 0; k < members.size(); ++k) s += (k ? "," : "") + members[k];
    return s + "}";
  }

  std::string line() {
    // Identify calls now and then, in the shape producers send them.
    const bool identify = chance(15);
    // The event first, as its properties depend on it.
    static const std::vector<std::string> kUndeclared = {"Video Played", "", "cart\\u005fadd",
                                                         "order completed"};
    std::string eventName;
    const sema::EventInfo* info = nullptr;
    if (chance(85)) {
      info = &model.events[rng() % model.events.size()];
      eventName = info->name;
      if (!info->aliases.empty() && chance(30)) eventName = pick(info->aliases);
      if (eventName.find('\\') != std::string::npos) info = nullptr;
    } else {
      eventName = pick(kUndeclared);
    }
    std::vector<std::pair<std::string, std::string>> members;  // key, value text
    if (identify)
      members.emplace_back("type", R"("identify")");
    else if (chance(60))
      members.emplace_back("type", chance(85)
                                       ? R"("track")"
                                       : pick<std::string>({R"("identify")", R"("Track")", "null",
                                                            R"("tr\u0061ck")", "5"}));
    if (identify ? chance(10) : chance(97))
      members.emplace_back(
          "event", chance(95) ? quoted(eventName) : pick<std::string>({"null", "7", R"("")"}));
    if (chance(97))
      members.emplace_back(
          "userId", chance(95) ? pick<std::string>({R"("c1")", R"("c53")"})
                               : pick<std::string>({R"("")", "null", "5", R"("user-\u00e9")"}));
    if (chance(95))
      members.emplace_back(
          "timestamp", chance(95) ? quoted(stamp()) : pick<std::string>({"null", "1767261540000"}));
    if (chance(40))
      members.emplace_back("messageId",
                           chance(90) ? R"("m-1")" : pick<std::string>({"null", "3", R"("m\n")"}));
    if (identify ? chance(5) : chance(90)) members.emplace_back("properties", properties(info));
    if (identify ? chance(95) : chance(5))
      members.emplace_back("traits", identify ? traitsObject()
                                              : pick<std::string>({R"({"email":"a@b"})", "[1]",
                                                                   R"({"vip":true,"x":{"y":1}})"}));
    if (chance(10))
      members.emplace_back(pick<std::string>({"context", "anonymousId", "sentAt", "us\\u0065rId"}),
                           pick<std::string>({R"({"ip":"1.2.3.4","library":{"name":"x"}})",
                                              R"("a1")", "null", R"("c9")"}));
    if (chance(4) && !members.empty()) members.push_back(members[rng() % members.size()]);
    if (chance(10)) std::shuffle(members.begin(), members.end(), rng);

    std::string s = "{";
    for (size_t k = 0; k < members.size(); ++k) {
      if (k) s += chance(2) ? ", " : ",";
      s += quoted(members[k].first) + (chance(2) ? ": " : ":") + members[k].second;
    }
    s += "}";
    if (chance(2)) s = " " + s;
    if (chance(2)) s += "\t";
    if (chance(3)) {
      // A stray byte anywhere.
      static const std::string kBytes = "{}[]\",:\\ -.eE019tfnul\x01\xc3\xa9\xff";
      const size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[pos] = kBytes[rng() % kBytes.size()]; break;
        case 1: s.erase(pos, 1); break;
        case 2: s.insert(pos, 1, kBytes[rng() % kBytes.size()]); break;
      }
    }
    return s;
  }
};

}  // namespace trig::testing
