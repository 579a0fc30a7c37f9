// The review's verdicts on small rule sets (the goldens, tests/golden/{can-never-fire,overlap,
// redundant-term,shadowed}*.trig, pin the messages; tests/review runs the witnesses).
#include "compiler/review/review.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace trig::review {
namespace {

// The review's findings on `rules`: "kind@rule-line" per warning, sorted by position.
std::string findings(const std::string& rules, Stats* stats = nullptr) {
  namespace fs = std::filesystem;
  fs::path file =
      fs::temp_directory_path() / ("trig-review-" + std::to_string(::getpid()) + ".trig");
  std::ofstream(file) << "template t { subject \"T\" body \".\" }\n" << rules;
  auto c = compile({file.string()});
  Stats s = review(*c);
  if (stats != nullptr) *stats = s;
  fs::remove(file);
  std::string out;
  for (const auto& d : c->diags.sorted(c->sources)) {
    if (d.severity != Severity::Warning) continue;
    uint32_t line = c->sources.file(d.loc.file).lineCol(d.loc.begin).line;
    out += (out.empty() ? "" : " ") + std::string(kindName(d.kind)) + "@" + std::to_string(line);
  }
  return out;
}

TEST_CASE("can-never-fire: contradictions, the anchor in its own history, and what can fire") {
  CHECK(findings("trigger a: when purchased unless purchased within 1d send t\n") ==
        "can-never-fire@2");
  CHECK(findings("trigger a: when cart_add(price > 100 and price < 50) send t\n") ==
        "can-never-fire@2");
  CHECK(findings("trigger a: when cart_add(price > 100 or price < 50) send t\n") == "");
  // Money is exact: 10.005 <= p < 10.01 and p <= 10.004 is empty, p <= 10.006 is not.
  CHECK(findings("trigger a: when cart_add(price >= 10.005 and price <= 10.004) send t\n") ==
        "can-never-fire@2");
  CHECK(findings("trigger a: when cart_add(price >= 10.005 and price <= 10.006) send t\n") == "");
  CHECK(findings("trigger a: when page_view(url starts_with \"/a\" and url == \"/b\") send t\n") ==
        "can-never-fire@2");
  CHECK(findings("trigger a: when page_view(url starts_with \"/a\" and url != \"/ab\") send t\n") ==
        "");
  // Nested windows: 3 in a day cannot be fewer than 2 in a week; the other way round can be.
  CHECK(findings("trigger a: when purchased and count(cart_add) within 1d >= 3 and "
                 "count(cart_add) within 7d < 2 send t\n") == "can-never-fire@2");
  CHECK(findings("trigger a: when purchased and count(cart_add) within 7d >= 3 and "
                 "count(cart_add) within 1d < 2 send t\n") == "");
  // The idle period outlasts the window: the anchor is outside it.
  CHECK(findings("trigger a: when search and idle 1h unless search within 30m send t\n") == "");
  CHECK(findings("trigger a: when search and idle 1h unless search within 2h send t\n") ==
        "can-never-fire@2");
  // An absent optional field fails every comparison: `not (x > 1)` holds when x is absent.
  CHECK(findings("trigger a: when cart_add(not (quantity > 1) and not (quantity <= 1)) send t\n") ==
        "");
}

TEST_CASE("overlap and shadowed compare rules on one anchor event only") {
  CHECK(findings("trigger a: when cart_add(price > 10) send t\n"
                 "trigger b: when cart_add(price < 20) send t\n") == "overlap@3");
  CHECK(findings("trigger a: when cart_add(price > 10) send t\n"
                 "trigger b: when cart_add(price < 5) send t\n") == "");
  CHECK(findings("trigger a: when cart_add(price > 10) send t\n"
                 "trigger b: when product_view(price > 10) send t\n") == "");
  // A computed priority never ties by declaration.
  CHECK(findings("trigger a: when cart_add priority 1 + cart_value / 100 send t\n"
                 "trigger b: when cart_add priority 1 + 0 send t\n") == "");
  CHECK(findings("trigger a: when cart_add(price > 10) priority 2 send t\n"
                 "trigger b: when cart_add(price > 20) priority 1 send t\n") == "shadowed@3");
  CHECK(findings("trigger a: when cart_add(price > 10) priority 2 limit 1 per 1d send t\n"
                 "trigger b: when cart_add(price > 20) priority 1 send t\n") == "");
  CHECK(findings("trigger a: when cart_add(price > 30) priority 2 send t\n"
                 "trigger b: when cart_add(price > 20) priority 1 send t\n") == "");
}

TEST_CASE("pins: a kept model whose field is outside the higher rule's pin refutes shadowing") {
  Stats s;
  CHECK(findings("trigger a: when cart_add(category == \"lamps\") priority 2 send t\n"
                 "trigger b: when cart_add(category in [\"books\", \"bags\"]) priority 1 "
                 "send t\n",
                 &s) == "");
  CHECK(s.pairs == 1);
  CHECK(s.modelsByPins >= 1);
  // The lower rule's models meet the pin: only the full evaluation (or a query) can tell.
  CHECK(findings("trigger a: when cart_add(category in [\"books\", \"lamps\"]) priority 2 send t\n"
                 "trigger b: when cart_add(category == \"lamps\") priority 1 send t\n",
                 &s) == "shadowed@3");
  CHECK(s.modelsByPins == 0);
  CHECK(findings("trigger a: when cart_add(category == \"lamps\") priority 2 send t\n"
                 "trigger b: when cart_add(category in [\"books\", \"lamps\"]) priority 1 "
                 "send t\n") == "");
  // Prefixes: "/sale" and "/sales/x" meet, "/sale" and "/shop" do not.
  CHECK(findings("trigger a: when page_view(url starts_with \"/sale\") priority 2 send t\n"
                 "trigger b: when page_view(url == \"/sales/x\") priority 1 send t\n") ==
        "shadowed@3");
  CHECK(findings("trigger a: when page_view(url starts_with \"/sale\") priority 2 send t\n"
                 "trigger b: when page_view(url == \"/shop\") priority 1 send t\n",
                 &s) == "");
  CHECK(s.modelsByPins >= 1);
  // An optional field the lower rule does not read may be absent: the pin then fails.
  CHECK(findings("trigger a: when cart_add(category == \"lamps\") priority 2 send t\n"
                 "trigger b: when cart_add(price > 5) priority 1 send t\n") == "");
  CHECK(findings("trigger a: when cart_add(category == \"lamps\") send t\n"
                 "trigger b: when cart_add(category in [\"books\", \"lamps\"]) send t\n") ==
        "overlap@3");
}

TEST_CASE("redundant-term: a pin on a field no other term reads is never implied (no query)") {
  Stats s;
  CHECK(findings("trigger a: when cart_add(category == \"lamps\" and price > 5) send t\n", &s) ==
        "");
  CHECK(s.termsByPins == 1);
  // Another term reads the field: asked, and found implied.
  CHECK(findings("trigger a: when cart_add(category in [\"lamps\", \"books\"] and "
                 "category == \"lamps\") send t\n",
                 &s) == "redundant-term@2");
  CHECK(s.termsByPins == 0);
  CHECK(findings("trigger a: when page_view(url starts_with \"/a\" and url == \"/ab\") "
                 "send t\n") == "redundant-term@2");
}

TEST_CASE("redundant-term names the implied term") {
  CHECK(findings("trigger a: when cart_add(price > 100 and price > 50) send t\n") ==
        "redundant-term@2");
  CHECK(findings("trigger a: when cart_add(price > 100 and price < 500) send t\n") == "");
}

TEST_CASE("a budget spent answers unknown, never a guess") {
  namespace fs = std::filesystem;
  fs::path file =
      fs::temp_directory_path() / ("trig-review-b-" + std::to_string(::getpid()) + ".trig");
  std::ofstream(file) << "template t { subject \"T\" body \".\" }\n"
                         "trigger a: when purchased unless purchased within 1d send t\n";
  auto c = compile({file.string()});
  Options o;
  o.budgetWork = 0;
  Stats s = review(*c, o);
  fs::remove(file);
  CHECK(s.queries == 0);
  CHECK(s.unknown >= 1);
  bool unknown = false, dead = false;
  for (const auto& d : c->diags.all()) {
    unknown = unknown || d.kind == DiagKind::ReviewUnknown;
    dead = dead || d.kind == DiagKind::CanNeverFire;
  }
  CHECK(unknown);
  CHECK(!dead);
}

TEST_CASE("queries stopped by their work limit: unknown, and the review goes on") {
  namespace fs = std::filesystem;
  fs::path file =
      fs::temp_directory_path() / ("trig-review-t-" + std::to_string(::getpid()) + ".trig");
  std::ofstream out(file);
  out << "template t { subject \"T\" body \".\" }\n";
  for (int i = 0; i < 12; ++i)
    out << "trigger r" << i << ": when product_view(product_name contains \"S" << i % 3
        << "\" and category != \"c" << i << "\") and count(product_view(same product_id)) within "
        << (i % 2 ? "7d" : "1d") << " >= " << 1 + i % 3 << " priority " << i << " send t\n";
  out << "trigger dead: when cart_add(price > 100 and price < 50) send t\n";
  out.close();
  auto c = compile({file.string()});
  Options o;
  o.queryWork = 2000;  // some queries stop; each stopped one drops its solver (check())
  Stats s = review(*c, o);
  fs::remove(file);
  CHECK(s.queries > 0);
  CHECK(s.queries + s.unknown > 12);
  CHECK(s.unknown > 0);
}

}  // namespace
}  // namespace trig::review
