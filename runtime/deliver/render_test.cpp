#include "runtime/deliver/render.h"

#include <doctest/doctest.h>

#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/support/utf8.h"

using namespace trig;
using namespace trig::deliver;

namespace {

plan::TemplatePiece lit(std::string text) {
  plan::TemplatePiece p;
  p.text = std::move(text);
  return p;
}
plan::TemplatePiece var(std::vector<std::string> path, std::optional<std::string> def = {}) {
  plan::TemplatePiece p;
  p.isPlaceholder = true;
  for (size_t k = 0; k < path.size(); ++k) p.placeholder.name += (k ? "." : "") + path[k];
  p.placeholder.defaultText = std::move(def);
  p.placeholder.loc = Loc{0, 10, 20};
  return p;
}
plan::TemplateText text(std::vector<plan::TemplatePiece> pieces) {
  plan::TemplateText t;
  t.pieces = std::move(pieces);
  return t;
}

// Variables by dotted name.
struct Vars {
  std::map<std::string, Value> values;
  Lookup lookup() {
    return [this](const plan::Placeholder& p) -> const Value* {
      auto it = values.find(p.name);
      return it == values.end() ? nullptr : &it->second;
    };
  }
};

}  // namespace

TEST_CASE("formatValue: each kind renders the one way templates show it") {
  CHECK(formatValue(Value::money(*Decimal::parse("49.9"))) == "49.90");
  CHECK(formatValue(Value::money(*Decimal::parse("49.99"))) == "49.99");
  CHECK(formatValue(Value::money(Decimal::whole(150))) == "150.00");
  CHECK(formatValue(Value::money(*Decimal::parse("0.005"))) == "0.01");
  CHECK(formatValue(Value::money(*Decimal::parse("-1.005"))) == "-1.01");
  CHECK(formatValue(Value::flt(0.1)) == "0.1");
  CHECK(formatValue(Value::flt(2.5)) == "2.5");
  CHECK(formatValue(Value::flt(100.0)) == "100");
  CHECK(formatValue(Value::flt(1.0 / 3)) == "0.3333333333333333");
  CHECK(formatValue(Value::flt(1e21)) == "1e+21");
  CHECK(formatValue(Value::integer(-42)) == "-42");
  CHECK(formatValue(Value::integer(std::numeric_limits<int64_t>::min())) == "-9223372036854775808");
  CHECK(formatValue(Value::boolean(true)) == "true");
  CHECK(formatValue(Value::boolean(false)) == "false");
  CHECK(formatValue(Value::time(*parseTimestamp("2026-01-01T10:15:00Z"))) ==
        "2026-01-01T10:15:00Z");
  CHECK(formatValue(Value::duration(90 * kMinute)) == "1h30m");
  // Never weeks; zero units left out.
  CHECK(formatValue(Value::duration(30 * kDay)) == "30d");
  CHECK(formatValue(Value::duration(kDay + 30 * kMinute)) == "1d30m");
  CHECK(formatValue(Value::duration(kWeek + kDay)) == "8d");
  CHECK(formatValue(Value::str("Lamp")) == "Lamp");
  CHECK(formatValue(Value::listOf({Value::str("a"), Value::str("b"), Value::str("c")})) ==
        "a, b, c");
  CHECK(formatValue(Value::listOf({Value::money(Decimal::whole(1)),
                                   Value::money(*Decimal::parse("2.5"))})) == "1.00, 2.50");
  CHECK(formatValue(Value::listOf({})) == "");
  CHECK(formatValue(Value::absent()) == "");
}

TEST_CASE("render: placeholders, defaults, missing variables") {
  Vars vars;
  vars.values["product_name"] = Value::str("Lamp");
  vars.values["customer.first_name"] = Value::str("");
  vars.values["price"] = Value::money(*Decimal::parse("49.9"));
  vars.values["gone"] = Value::absent();
  RenderError err;
  std::string out;
  auto t = text({lit("Still thinking about "), var({"product_name"}), lit("? Only "),
                 var({"price"}), lit(", "), var({"customer", "first_name"}, "friend"), lit("!")});
  REQUIRE(render(t, vars.lookup(), Escape::None, out, err));
  // The default applies to an empty string as to an absent value (Liquid's `default`).
  CHECK(out == "Still thinking about Lamp? Only 49.90, friend!");

  // ... and to a string of white space and an empty list; not to other values. Without a
  // default an empty string renders as it is.
  vars.values["blank"] = Value::str(" \t ");
  vars.values["none"] = Value::listOf({});
  vars.values["zero"] = Value::integer(0);
  vars.values["spaced"] = Value::str(" a ");
  out.clear();
  REQUIRE(
      render(text({var({"blank"}, "b"), lit("|"), var({"none"}, "n"), lit("|"), var({"zero"}, "z"),
                   lit("|"), var({"spaced"}, "s"), lit("|"), var({"customer", "first_name"})}),
             vars.lookup(), Escape::None, out, err));
  CHECK(out == "b|n|0| a |");

  out.clear();
  REQUIRE(render(text({var({"missing"}, "something"), lit("/"), var({"gone"}, "x")}), vars.lookup(),
                 Escape::None, out, err));
  CHECK(out == "something/x");

  out.clear();
  CHECK_FALSE(render(text({lit("Hi "), var({"customer", "last_name"})}), vars.lookup(),
                     Escape::None, out, err));
  CHECK(err.variable == "customer.last_name");
  CHECK(err.loc.begin == 10);
  CHECK_FALSE(render(text({var({"gone"})}), vars.lookup(), Escape::None, out, err));
  CHECK(err.variable == "gone");
  // No lookup at all: every placeholder is missing.
  CHECK_FALSE(render(text({var({"x"})}), Lookup{}, Escape::None, out, err));
  out.clear();
  CHECK(render(text({}), vars.lookup(), Escape::None, out, err));
  CHECK(out.empty());
}

TEST_CASE("render: texts of any length, in pieces around render()'s buffer, appended in order") {
  // render() gathers a text's pieces in a buffer of its own and appends it whole; pieces and
  // values longer than it, or that fill it part way, and values that are not strings (appended
  // directly) must come out in order, after what `out` held.
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    Vars vars;
    std::vector<plan::TemplatePiece> pieces;
    std::string want = "before|";
    const int n = static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      const size_t len = rng() % 4 == 0 ? rng() % 700 : rng() % 40;
      std::string t(len, static_cast<char>('a' + k));
      switch (rng() % 3) {
        case 0:
          pieces.push_back(lit(t));
          want += t;
          break;
        case 1: {
          const std::string name = "v" + std::to_string(k);
          vars.values[name] = Value::str(t);
          pieces.push_back(var({name}));
          want += t;
          break;
        }
        default: {
          const std::string name = "n" + std::to_string(k);
          vars.values[name] = Value::integer(static_cast<int64_t>(len));
          pieces.push_back(var({name}));
          want += std::to_string(len);
          break;
        }
      }
    }
    std::string out = "before|";
    RenderError err;
    REQUIRE(render(text(std::move(pieces)), vars.lookup(), Escape::None, out, err));
    CHECK(out == want);
  }
  // White space that takes a default is any of " \t\n\v\f\r"; anything else does not.
  for (const char* blank : {" ", "\t", "\n", "\v", "\f", "\r", " \t\n\v\f\r"}) {
    Vars vars;
    vars.values["x"] = Value::str(blank);
    std::string out;
    RenderError err;
    REQUIRE(render(text({var({"x"}, "d")}), vars.lookup(), Escape::None, out, err));
    CHECK(out == "d");
  }
  for (const char* word : {"\x08", "\x0e", "\x1f", "a", " a", "\t\x0e"}) {
    Vars vars;
    vars.values["x"] = Value::str(word);
    std::string out;
    RenderError err;
    REQUIRE(render(text({var({"x"}, "d")}), vars.lookup(), Escape::None, out, err));
    CHECK(out == word);
  }
}

TEST_CASE("render: HTML escaping applies to values in HTML bodies only") {
  Vars vars;
  vars.values["name"] = Value::str("<b>Tom & \"Jerry's\"</b>");
  vars.values["tags"] = Value::listOf({Value::str("a<b"), Value::str("c&d")});
  plan::Template info;
  info.subject = text({lit("For "), var({"name"})});
  info.body = text({lit("<p>"), var({"name"}), lit("</p><i>"), var({"tags"}), lit("</i>"),
                    var({"nope"}, "<em>default</em>")});
  RenderedTemplate out;
  RenderError err;
  info.html = true;
  REQUIRE(renderTemplate(info, vars.lookup(), out, err));
  CHECK(out.subject == "For <b>Tom & \"Jerry's\"</b>");
  CHECK(out.body ==
        "<p>&lt;b&gt;Tom &amp; &quot;Jerry&#39;s&quot;&lt;/b&gt;</p><i>a&lt;b, c&amp;d</i>"
        "<em>default</em>");
  info.html = false;
  REQUIRE(renderTemplate(info, vars.lookup(), out, err));
  CHECK(out.body == "<p><b>Tom & \"Jerry's\"</b></p><i>a<b, c&d</i><em>default</em>");
  // A missing variable in the body fails the whole template.
  info.body = text({var({"nope"})});
  CHECK_FALSE(renderTemplate(info, vars.lookup(), out, err));
  CHECK(err.variable == "nope");
  // A template without a subject renders an empty one.
  info.subject.reset();
  info.body = text({lit("x")});
  REQUIRE(renderTemplate(info, vars.lookup(), out, err));
  CHECK(out.subject.empty());
  CHECK(out.body == "x");
}

TEST_CASE("renderTemplate: Body::Check renders the subject, checks the body, writes no body") {
  Vars vars;
  vars.values["name"] = Value::str("Ann");
  plan::Template info;
  info.subject = text({lit("Hi "), var({"name"})});
  info.body = text({lit("<p>"), var({"name"}), lit("</p>"), var({"nope"}, "d")});
  RenderedTemplate out;
  out.body = "left over";
  RenderError err;
  REQUIRE(renderTemplate(info, vars.lookup(), out, err, Body::Check));
  CHECK(out.subject == "Hi Ann");
  CHECK(out.body.empty());
  // A variable the body misses fails as a full rendering does, naming it.
  info.body = text({lit("x "), var({"customer", "last_name"})});
  CHECK_FALSE(renderTemplate(info, vars.lookup(), out, err, Body::Check));
  CHECK(err.variable == "customer.last_name");
  RenderError full;
  CHECK_FALSE(renderTemplate(info, vars.lookup(), out, full));
  CHECK(full.variable == err.variable);
}

TEST_CASE("render: a lambda is called in place, as a Lookup is") {
  const Value name = Value::str("Bo");
  int calls = 0;
  auto lookup = [&](const plan::Placeholder& p) -> const Value* {
    ++calls;
    return p.name == "name" ? &name : nullptr;
  };
  std::string out;
  RenderError err;
  REQUIRE(render(text({lit("["), var({"name"}), lit("|"), var({"x"}, "none"), lit("]")}), lookup,
                 Escape::None, out, err));
  CHECK(out == "[Bo|none]");
  CHECK(calls == 2);
  out.clear();
  CHECK_FALSE(render(text({var({"name"}), var({"x"})}), nullptr, Escape::None, out, err));
  CHECK(err.variable == "name");
}

TEST_CASE("appendHtmlEscaped") {
  std::string out;
  appendHtmlEscaped(out, "a&b<c>d\"e'f");
  CHECK(out == "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  out.clear();
  appendHtmlEscaped(out, "");
  CHECK(out.empty());
}

TEST_CASE("JSON output helpers produce valid JSON") {
  std::string s;
  appendJsonString(s, "q\"b\\n\n\t\x01\x7f caf\xc3\xa9 \xff!");
  auto parsed = nlohmann::json::parse(s);
  CHECK(parsed == "q\"b\\n\n\t\x01\x7f caf\xc3\xa9 \xef\xbf\xbd!");
  s.clear();
  Value v =
      Value::listOf({Value::money(*Decimal::parse("49.9")), Value::flt(0.1), Value::integer(-3),
                     Value::boolean(true), Value::absent(), Value::str("x"), Value::time(0),
                     Value::duration(kHour), Value::flt(std::numeric_limits<double>::infinity())});
  appendJsonValue(s, v);
  CHECK(s == R"([49.9,0.1,-3,true,null,"x","1970-01-01T00:00:00Z","1h",null])");
  CHECK(nlohmann::json::parse(s).size() == 9);
}

// The reference JSON string: every byte looked at on its own, as the writer did before it copied
// runs.
static std::string referenceJson(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t n = utf8::sequenceLength(text, i);
      out += n == 0 ? std::string("\\ufffd") : std::string(text.substr(i, n));
      i += n == 0 ? 1 : n;
      continue;
    }
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\b')
      out += "\\b";
    else if (c == '\f')
      out += "\\f";
    else if (c < 0x20 || c == 0x7f)
      out += std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xF];
    else
      out += static_cast<char>(c);
    ++i;
  }
  return out + "\"";
}

TEST_CASE("appendJsonString: the same bytes as escaping one character at a time") {
  std::mt19937 rng(11);
  // Mostly plain text, so that runs cross the 16-byte blocks, with every kind of special byte.
  const std::string specials[] = {"\"",       "\\",           "\n",
                                  "\x01",     "\x1f",         "\x7f",
                                  "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                  "\xff",     "\xc3",         "\xed\xa0\x80"};
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const size_t pieces = rng() % 8;
    for (size_t k = 0; k < pieces; ++k) {
      text += std::string(rng() % 40, static_cast<char>('a' + rng() % 26));
      if (rng() % 2) text += specials[rng() % std::size(specials)];
    }
    if (rng() % 5 == 0) text += specials[rng() % std::size(specials)];
    CAPTURE(text);
    std::string got = "prefix";
    appendJsonString(got, text);
    REQUIRE(got == "prefix" + referenceJson(text));
  }
}

TEST_CASE(
    "writeJsonString: every length, plain or with one special byte anywhere, within its bound") {
  // The plain path copies whole blocks that overlap at the end: each length from empty to past
  // four blocks, a special byte at each position, and nothing written past jsonStringBound.
  const std::string specials[] = {"\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xff"};
  for (size_t n = 0; n <= 70; ++n) {
    std::string plain;
    static constexpr std::string_view kPlain = "abcdefghijklmnopqrstuvwxyz0123456789 -_./:@,";
    for (size_t i = 0; i < n; ++i) plain += kPlain[i * 7 % kPlain.size()];
    std::vector<std::string> texts = {plain};
    for (size_t at = 0; at < n; ++at)
      for (const std::string& sp : specials)
        texts.push_back(plain.substr(0, at) + sp + plain.substr(at));
    for (const std::string& text : texts) {
      CAPTURE(text);
      const size_t bound = jsonStringBound(text.size());
      std::string buf(bound + 16, '#');
      char* end = writeJsonString(buf.data(), text);
      REQUIRE(end <= buf.data() + bound);
      REQUIRE(std::string(buf.data(), end) == referenceJson(text));
      REQUIRE(buf.substr(bound) == std::string(16, '#'));
    }
  }
}
