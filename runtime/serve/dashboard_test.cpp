// The dashboard's pages over a store built in the test: numbers from runtime/report, every text
// escaped, the dead letter newest first.
#include "runtime/serve/dashboard.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"

namespace trig::serve {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/trig-dashboard-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

const char* kRules = R"(
template nudge { subject "N" body "." }
trigger checkout "Checkout <b>&amp;</b>":
  when checkout_start
  goal purchased within 1d
  priority 3
  split delay {
    50% fast: after 1h send nudge
    50% slow: after 3h send nudge
  }
)";

std::string stamp(int minutes) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-03-01T%02d:%02d:00Z", 8 + minutes / 60, minutes % 60);
  return buf;
}

// `customers` customers start a checkout; the first `buyers` buy five hours later.
std::vector<std::string> events(int customers, int buyers) {
  std::vector<std::string> out;
  for (int i = 0; i < customers; ++i)
    out.push_back(R"({"type":"identify","userId":"c)" + std::to_string(i) +
                  R"(","traits":{"email":"c)" + std::to_string(i) +
                  R"(@example.com"},"timestamp":")" + stamp(0) + "\"}");
  for (int i = 0; i < customers; ++i)
    out.push_back(R"({"type":"track","event":"checkout_start","userId":"c)" + std::to_string(i) +
                  R"(","timestamp":")" + stamp(1) + "\"}");
  for (int i = 0; i < buyers; ++i)
    out.push_back(R"({"type":"track","event":"purchased","userId":"c)" + std::to_string(i) +
                  R"(","properties":{"order_id":"o)" + std::to_string(i) + R"("},"timestamp":")" +
                  stamp(300) + "\"}");
  return out;
}

struct Fixture {
  TempDir dir;
  testing::CheckedProgram p{kRules};
  plan::Program program = plan::buildProgram(p.model, p.sources);
  RuleSet rules;
  std::unique_ptr<Store> store;
  DashboardHooks hooks;

  Fixture() {
    rules.program = &program;
    rules.version = "0123456789abcdef";
    std::string error;
    store = Store::open(dir.path, error);
    REQUIRE_MESSAGE(store, error);
    std::vector<LogEntry> log;
    for (const auto& e : events(20, 6)) log.push_back({0, LogEntry::Kind::Event, 0, e});
    log.push_back({0, LogEntry::Kind::Clock, 0, ""});
    std::vector<DeadLetter> dead = {{0, 1000, "first", "{}"},
                                    {0, 2000, "bad <price>", "{\"price\":\"<script>\"}"}};
    REQUIRE(store->append(log, dead, error));
    hooks.evaluator = [this](const RuleSet&) -> std::unique_ptr<Evaluator> {
      return std::make_unique<interp::Interpreter>(p.model);
    };
  }

  // The report as `trig report` makes it, over the exported log.
  report::Report expected() {
    std::string error;
    std::string path = exportLog(*store, error);
    REQUIRE_MESSAGE(!path.empty(), error);
    interp::Interpreter interp(p.model);
    report::ReplayInput in;
    in.paths = {path};
    auto rep = report::replayReport(program, interp, in, {}, error);
    std::remove(path.c_str());
    REQUIRE_MESSAGE(rep, error);
    return *rep;
  }
};

std::string cell(const std::string& attrs, uint64_t v) {
  return attrs + ">" + std::to_string(v) + "</td>";
}

TEST_CASE("dashboard: the log is exported as its event lines, in order") {
  Fixture f;
  std::string error;
  std::string path = exportLog(*f.store, error);
  REQUIRE_MESSAGE(!path.empty(), error);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::remove(path.c_str());
  CHECK(lines == events(20, 6));
}

TEST_CASE("dashboard: the home page shows the rules and report's numbers") {
  Fixture f;
  report::Report rep = f.expected();
  REQUIRE(rep.rules.size() == 1);
  const report::RuleReport& r = rep.rules[0];
  CHECK(r.funnel.sent == 20);
  CHECK(r.converted == 6);
  DashboardPage page = dashboardPage("/", "", f.rules, *f.store, f.hooks);
  CHECK(page.status == 200);
  CHECK(page.html.find("0123456789abcdef") != std::string::npos);
  CHECK(page.html.find(cell(R"(data-rule="checkout" data-col="sent")", r.funnel.sent)) !=
        std::string::npos);
  CHECK(page.html.find(cell(R"(data-rule="checkout" data-col="converted")", r.converted)) !=
        std::string::npos);
  CHECK(page.html.find(R"(data-rule="checkout" data-col="priority">3<)") != std::string::npos);
  CHECK(page.html.find(R"(data-col="templates">nudge<)") != std::string::npos);
  CHECK(page.html.find("<li data-template=\"nudge\">") != std::string::npos);

  // Without an evaluator: the rules, no numbers, and a note saying why.
  f.hooks.evaluator = nullptr;
  page = dashboardPage("/", "", f.rules, *f.store, f.hooks);
  CHECK(page.html.find(R"(data-rule="checkout" data-col="sent">-<)") != std::string::npos);
  CHECK(page.html.find("id=\"note\"") != std::string::npos);
}

TEST_CASE("dashboard: a rule's page has its funnel per step and variant and its verdicts") {
  Fixture f;
  report::Report rep = f.expected();
  const report::RuleReport& r = rep.rules[0];
  std::string seen;
  f.hooks.drawRule = [&](const RuleSet&, const std::string& rule, const report::Report* rp) {
    seen = rule;
    return std::string(rp ? "<svg id=\"drawn\"></svg>" : "");
  };
  DashboardPage page = dashboardPage("/rules/checkout", "", f.rules, *f.store, f.hooks);
  CHECK(page.status == 200);
  CHECK(seen == "checkout");
  CHECK(page.html.find("<svg id=\"drawn\"></svg>") != std::string::npos);
  // The title is escaped, not markup.
  CHECK(page.html.find("Checkout &lt;b&gt;&amp;amp;&lt;/b&gt;") != std::string::npos);
  CHECK(page.html.find("<b>") == std::string::npos);
  for (const auto& s : r.steps)
    CHECK(page.html.find(cell("data-rule=\"checkout\" data-step=\"" + std::to_string(s.step) +
                                  "\" data-variant=\"" + s.variant + "\" data-col=\"sent\"",
                              s.funnel.sent)) != std::string::npos);
  REQUIRE(r.splits.size() == 1);
  for (const auto& v : r.splits[0].variants)
    CHECK(page.html.find(cell("data-rule=\"checkout\" data-split=\"delay\" data-variant=\"" +
                                  v.name + "\" data-col=\"entered\"",
                              v.entered)) != std::string::npos);
  REQUIRE(r.splits[0].verdicts.size() == 1);
  CHECK(page.html.find(report::htmlEscape(r.splits[0].verdicts[0])) != std::string::npos);

  CHECK(dashboardPage("/rules/nope%3Cx%3E", "", f.rules, *f.store, f.hooks).status == 404);
  CHECK(dashboardPage("/rules/<x>", "", f.rules, *f.store, f.hooks).html.find("<x>") ==
        std::string::npos);
}

TEST_CASE("dashboard: the customer lookup shows explain's text, escaped") {
  Fixture f;
  std::string asked;
  f.hooks.explain = [&](const RuleSet&, const std::string& file, const std::string& customer) {
    asked = customer;
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    return "timeline of <" + customer + ">\n" + first;
  };
  DashboardPage page = dashboardPage("/customers", "x=1&id=c%3C1%3E+b", f.rules, *f.store, f.hooks);
  CHECK(asked == "c<1> b");
  CHECK(page.html.find("timeline of &lt;c&lt;1&gt; b&gt;") != std::string::npos);
  CHECK(page.html.find(report::htmlEscape(events(20, 6)[0])) != std::string::npos);
  // No id: the form alone, nothing explained.
  asked.clear();
  page = dashboardPage("/customers", "", f.rules, *f.store, f.hooks);
  CHECK(asked.empty());
  CHECK(page.html.find("id=\"timeline\"") == std::string::npos);
}

TEST_CASE("dashboard: the dead letter, newest first, escaped") {
  Fixture f;
  DashboardPage page = dashboardPage("/dead-letter", "", f.rules, *f.store, f.hooks);
  CHECK(page.status == 200);
  CHECK(page.html.find("<span id=\"dead-total\">2</span>") != std::string::npos);
  size_t second = page.html.find("bad &lt;price&gt;"), first = page.html.find(">first<");
  REQUIRE(second != std::string::npos);
  REQUIRE(first != std::string::npos);
  CHECK(second < first);
  CHECK(page.html.find("<script>") == std::string::npos);
  CHECK(isDashboardPath("/"));
  CHECK(isDashboardPath("/rules/x"));
  CHECK_FALSE(isDashboardPath("/rules/"));
  CHECK_FALSE(isDashboardPath("/v1/admin/rules"));
}

}  // namespace
}  // namespace trig::serve
