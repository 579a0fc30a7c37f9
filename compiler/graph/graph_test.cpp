#include "compiler/graph/graph.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "compiler/interp/test_fixture.h"

namespace trig::graph {
namespace {

// The nodes and edges of the DOT toDot writes, read back (labels unescaped, lines joined by
// '\n'): the tests look at the structure, not at the bytes.
struct Dot {
  std::map<std::string, std::string> labels;  // node id -> label
  struct Edge {
    std::string from, to, label, attrs;
  };
  std::vector<Edge> edges;
  std::vector<std::string> clusters;  // cluster labels

  // The id of the node whose label's first line is `first` (or contains it, with `contains`).
  std::string node(const std::string& text) const {
    std::string found;
    for (const auto& [id, label] : labels)
      if (label.find(text) != std::string::npos) {
        CHECK_MESSAGE(found.empty(), "two nodes match " << text);
        found = id;
      }
    CHECK_MESSAGE(!found.empty(), "no node labelled " << text);
    return found;
  }
  std::string exact(const std::string& label) const {
    for (const auto& [id, l] : labels)
      if (l == label) return id;
    FAIL_CHECK("no node labelled exactly " << label);
    return "";
  }
  const Edge* edge(const std::string& from, const std::string& to) const {
    for (const auto& e : edges)
      if (e.from == from && e.to == to) return &e;
    return nullptr;
  }
  std::vector<const Edge*> from(const std::string& id) const {
    std::vector<const Edge*> out;
    for (const auto& e : edges)
      if (e.from == id) out.push_back(&e);
    return out;
  }
};

// A quoted DOT string at s[i] ('"'), unescaped (Graphviz's escapes and `&amp;`); i moves past it.
std::string unquote(const std::string& s, size_t& i) {
  REQUIRE(s[i] == '"');
  std::string out;
  for (++i; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      REQUIRE_MESSAGE(s[i] != '\n', "a raw line break inside a DOT string");
      out += s[i];
    }
  }
  REQUIRE(i < s.size());
  ++i;
  for (size_t at = 0; (at = out.find("&amp;", at)) != std::string::npos; ++at)
    out.replace(at, 5, "&");
  return out;
}

// The value of attribute `name` in an attribute list "[a=..., b=...]" starting at s[i].
std::string attribute(const std::string& s, size_t i, const std::string& name) {
  size_t at = s.find(name + "=", i);
  size_t end = s.find("];", i);
  if (at == std::string::npos || at > end) return "";
  size_t j = at + name.size() + 1;
  if (s[j] == '"') return unquote(s, j);
  size_t k = s.find_first_of(",]", j);
  return s.substr(j, k - j);
}

Dot parseDot(const std::string& text) {
  Dot d;
  size_t lineStart = 0;
  while (lineStart < text.size()) {
    size_t lineEnd = text.find('\n', lineStart);
    if (lineEnd == std::string::npos) lineEnd = text.size();
    std::string line = text.substr(lineStart, lineEnd - lineStart);
    lineStart = lineEnd + 1;
    size_t i = line.find_first_not_of(' ');
    if (i == std::string::npos) continue;
    if (line.compare(i, 6, "label=") == 0) {
      size_t j = i + 6;
      d.clusters.push_back(unquote(line, j));
      continue;
    }
    if (line[i] != '"') continue;
    std::string a = unquote(line, i);
    if (line.compare(i, 4, " -> ") == 0) {
      i += 4;
      std::string b = unquote(line, i);
      d.edges.push_back({a, b, attribute(line, i, "label"), line.substr(i)});
    } else {
      d.labels[a] = attribute(line, i, "label");
    }
  }
  return d;
}

std::string dotOf(const testing::CheckedProgram& p, const GraphOptions& o = {}) {
  return toDot(p.model, p.sources, o);
}

const char* kCart = R"(
template cart_reminder { subject "s" body "b" }
template cart_followup { subject "s" body "{{ last_viewed_category | default "x" }}" }
trigger cart_abandon "Cart abandonment":
  when cart_add and idle 15m and price > 10
  unless purchased within 30d
  priority 2
  goal purchased within 3d
  send cart_reminder
  then after 24h unless purchased send cart_followup
    with last_viewed_category = last(product_view).category
)";

const char* kSplit = R"(
template nudge { subject "s" body "b" }
template reminder { subject "s" body "b" }
template last_call { subject "s" body "b" }
trigger timing:
  when checkout_start
  goal purchased within 1d
  split delay { 45% fast: after 1h send nudge  45% slow: after 3h send reminder then send nudge
                10% control: holdout }
  then after 2d send last_call
)";

TEST_CASE(
    "graph: a flow's trigger, idle wait, exclusion, steps and goal, labelled from the source") {
  testing::CheckedProgram p(kCart);
  Dot d = parseDot(dotOf(p));
  REQUIRE(d.clusters.size() == 1);
  CHECK(d.clusters[0] == "trigger cart_abandon\nCart abandonment\npriority 2");

  std::string trigger = d.node("when cart_add");
  CHECK(d.labels[trigger] == "when cart_add\nand price > 10");
  std::string idle = d.node("idle 15m");
  std::string unless = d.node("unless purchased within 30d");
  std::string notFired = d.node("not fired");
  std::string first = d.node("send cart_reminder");
  CHECK(d.labels[first] == "step 1: send cart_reminder");
  std::string wait = d.node("after 24h");
  std::string second = d.node("send cart_followup");
  CHECK(d.labels[second] ==
        "step 2: send cart_followup\nwith last_viewed_category = last(product_view).category");
  std::string goal = d.node("goal purchased within 3d");

  CHECK(d.edge(trigger, idle));
  CHECK(d.edge(idle, unless));
  REQUIRE(d.edge(unless, notFired));
  CHECK(d.edge(unless, notFired)->label == "holds");
  REQUIRE(d.edge(unless, first));
  CHECK(d.edge(unless, first)->label == "no\nfires");
  CHECK(d.edge(first, wait));
  CHECK(d.edge(first, goal));
  CHECK(d.edge(second, goal));
  // The step's own `unless`: held, the send is skipped and the flow goes on.
  std::string diamond;
  for (const auto* e : d.from(wait)) diamond = e->to;
  REQUIRE(d.labels[diamond] == "unless purchased");
  CHECK(d.edge(diamond, second));
  bool skip = false;
  for (const auto* e : d.from(diamond)) skip |= e->label == "holds: skipped";
  CHECK(skip);
  // No internal ids in labels.
  for (const auto& [id, label] : d.labels) CHECK(label.find("r0_") == std::string::npos);
}

TEST_CASE("graph: split arms with percentages, a holdout, and the steps after the split") {
  testing::CheckedProgram p(kSplit);
  Dot d = parseDot(dotOf(p));
  std::string split = d.node("split delay");
  CHECK(d.labels[split] == "step 1: split delay");
  std::vector<std::string> arms;
  for (const auto* e : d.from(split)) arms.push_back(e->label);
  std::sort(arms.begin(), arms.end());
  CHECK(arms == std::vector<std::string>{"10% control", "45% fast", "45% slow"});
  std::string holdout = d.node("holdout");
  CHECK(d.edge(split, holdout));
  CHECK(d.edge(holdout, d.node("goal purchased within 1d")));
  // The variants' steps continue the count: 2 in both arms, 3 for slow's second send; the step
  // after the split is 3 (fast) or 4 (slow), drawn once.
  CHECK(d.edge(d.node("step 2: send reminder"), d.node("step 3: send nudge")));
  CHECK(d.edge(d.node("after 1h"), d.node("step 2: send nudge")));
  std::string lastCall = d.node("send last_call");
  CHECK(d.labels[lastCall] == "step 3/4: send last_call");
  std::string wait2d = d.node("after 2d");
  int into = 0;
  for (const auto& e : d.edges) into += e.to == wait2d;
  CHECK(into == 2);  // from the fast and the slow arm, not from the holdout
}

TEST_CASE("graph: counts on the edges and nodes") {
  testing::CheckedProgram p(kSplit);
  Counts counts;
  RuleCounts& rc = counts["timing"];
  rc.fired = 100;
  rc.converted = 9;
  rc.entered = {{"fast", 44}, {"slow", 46}, {"control", 10}};
  rc.steps[{2, "fast"}] = StepCounts{40, 3, {{"frequency_cap", 4}}};
  rc.steps[{2, "slow"}] = StepCounts{46, 2, {}};
  rc.steps[{3, "slow"}] = StepCounts{45, 1, {{"converted", 1}}};
  rc.steps[{3, "fast"}] = StepCounts{30, 0, {}};
  rc.steps[{4, "slow"}] = StepCounts{20, 0, {}};
  rc.steps[{1, "control"}] = StepCounts{0, 2, {{"holdout", 10}}};
  GraphOptions o;
  o.counts = &counts;
  Dot d = parseDot(dotOf(p, o));
  std::string split = d.node("split delay");
  std::map<std::string, std::string> arms;
  for (const auto* e : d.from(split)) arms[e->label.substr(0, e->label.find('\n'))] = e->label;
  CHECK(arms["45% fast"] == "45% fast\n44");
  CHECK(arms["45% slow"] == "45% slow\n46");
  CHECK(arms["10% control"] == "10% control\n10");
  std::string trigger = d.node("when checkout_start");
  REQUIRE(d.edge(trigger, split));
  CHECK(d.edge(trigger, split)->label == "fires\n100");
  std::string goal = d.node("goal purchased within 1d");
  CHECK(d.labels[goal] == "goal purchased within 1d\n9 converted");
  std::string nudge = d.node("step 2: send nudge");
  CHECK(d.labels[nudge] == "step 2: send nudge\n40 sent\n4 suppressed: frequency_cap");
  CHECK(d.edge(nudge, goal)->label == "3 converted");
  std::string second = d.node("step 3: send nudge");
  CHECK(d.labels[second] == "step 3: send nudge\n45 sent\n1 suppressed: converted");
  // Into the step after `send reminder`: what reached step 3 of the slow arm.
  CHECK(d.edge(d.node("send reminder"), second)->label == "46");
  std::string holdout = d.node("holdout");
  CHECK(d.labels[holdout] == "holdout: no message from here\n10 held out");
  CHECK(d.edge(holdout, goal)->label == "2 converted");
  std::string lastCall = d.node("send last_call");
  CHECK(d.labels[lastCall] == "step 3/4: send last_call\n50 sent");
  // Into the 2d wait: 30 from the fast arm (step 3), 20 from the slow one (step 4).
  std::vector<std::string> into;
  for (const auto& e : d.edges)
    if (e.to == d.node("after 2d")) into.push_back(e.label);
  std::sort(into.begin(), into.end());
  CHECK(into == std::vector<std::string>{"20", "30"});
}

TEST_CASE("graph: any label text is escaped, and Graphviz reads it back") {
  testing::CheckedProgram p(R"(
template t { subject "s" body "b" }
trigger odd:
  when product_view(product_name == "say \"hi\" \\ <b>&amp; café\n") # a comment
    and category != "x"
  send t
)");
  std::string dot = dotOf(p);
  Dot d = parseDot(dot);
  std::string trigger =
      d.node(R"(when product_view(product_name == "say \"hi\" \\ <b>&amp; café\n"))");
  CHECK(d.labels[trigger].find("# a comment") == std::string::npos);
  CHECK(d.labels[trigger].find("\nand category != \"x\"") != std::string::npos);
  std::string error;
  auto svg = render(dot, "svg", error);
  REQUIRE_MESSAGE(svg, error);
  CHECK(svg->find(R"(say \&quot;hi\&quot; \\ &lt;b&gt;&amp;amp; café\n&quot;)") !=
        std::string::npos);
}

TEST_CASE("graph: the same program gives the same bytes; --rule picks one rule") {
  std::string both = std::string(kCart) + kSplit;
  testing::CheckedProgram a(both), b(both);
  std::string dot = dotOf(a);
  CHECK(dot == dotOf(a));
  CHECK(dot == dotOf(b));
  GraphOptions o;
  o.rule = "timing";
  Dot one = parseDot(dotOf(a, o));
  REQUIRE(one.clusters.size() == 1);
  CHECK(one.clusters[0] == "trigger timing");
  o.rule = "no_such_rule";
  CHECK(dotOf(a, o).empty());
}

TEST_CASE("graph: priority expressions, limits, nested splits and a step's skip count") {
  testing::CheckedProgram p(R"(
template a { subject "s" body "b" }
template b { subject "s" body "b" }
trigger nested:
  when cart_add
  priority 1 + price / 100
  limit 2 per 7d
  split outer { 50% x: split inner { 50% x: send a  50% y: send b }  50% y: send b }
  then after 1h unless purchased send a
)");
  Counts counts;
  RuleCounts& rc = counts["nested"];
  rc.fired = 10;
  rc.entered = {{"x", 7}, {"y", 3}};
  rc.steps[{3, "x"}] = StepCounts{2, 0, {}};
  rc.steps[{3, "y"}] = StepCounts{1, 0, {}};
  rc.steps[{2, "y"}] = StepCounts{3, 0, {}};
  rc.steps[{4, "x"}] = StepCounts{1, 0, {{"condition", 1}}};
  rc.steps[{4, "y"}] = StepCounts{0, 0, {{"condition", 1}}};
  rc.steps[{3, "y"}].suppressed["condition"] = 2;
  GraphOptions o;
  o.counts = &counts;
  Dot d = parseDot(dotOf(p, o));
  REQUIRE(d.clusters.size() == 1);
  CHECK(d.clusters[0] == "trigger nested\npriority 1 + price / 100 · limit 2 per 7d");
  // Both splits name their variants x and y: the report counts variants by name, so the arms
  // carry no `entered` number rather than a wrong one; an arm straight into a send carries what
  // reached that send.
  std::string outer = d.node("step 1: split outer");
  std::string inner = d.node("step 2: split inner");
  REQUIRE(d.edge(outer, inner));
  CHECK(d.edge(outer, inner)->label == "50% x");
  std::string innerA = d.node("step 3: send a");
  REQUIRE(d.edge(inner, innerA));
  CHECK(d.edge(inner, innerA)->label == "50% x\n2");
  CHECK(d.labels[innerA] == "step 3: send a\n2 sent");
  REQUIRE(d.edge(outer, d.node("step 2: send b")));
  CHECK(d.edge(outer, d.node("step 2: send b"))->label == "50% y\n3");
  // (3, y) is both inner y's `send b` and, after outer y, the last `send a`: neither shows
  // numbers that may be the other's.
  std::string innerB = d.node("step 3: send b");
  CHECK(d.labels[innerB] == "step 3: send b\n(counts shared with another step: trig report)");
  CHECK(d.edge(inner, innerB)->label == "50% y");
  std::string last = d.node("step 3/4: send a");
  CHECK(d.labels[last] == "step 3/4: send a\n(counts shared with another step: trig report)");
  std::string diamond = d.node("unless purchased");
  bool skip = false;
  for (const auto* e : d.from(diamond))
    if (e->label.rfind("holds: skipped", 0) == 0) {
      skip = true;
      CHECK(e->label == "holds: skipped");
    }
  CHECK(skip);
}

TEST_CASE("graph: a step's own unless carries its skips") {
  testing::CheckedProgram p(kCart);
  Counts counts;
  counts["cart_abandon"].steps[{2, ""}] = StepCounts{5, 1, {{"condition", 3}}};
  GraphOptions o;
  o.counts = &counts;
  Dot d = parseDot(dotOf(p, o));
  std::string diamond = d.exact("unless purchased");
  bool skip = false;
  for (const auto* e : d.from(diamond))
    if (e->label.rfind("holds: skipped", 0) == 0) {
      skip = true;
      CHECK(e->label == "holds: skipped\n3");
    }
  CHECK(skip);
  REQUIRE(d.edge(d.node("step 1: send cart_reminder"), d.node("after 24h")));
  CHECK(d.edge(d.node("step 1: send cart_reminder"), d.node("after 24h"))->label == "8");
}

TEST_CASE("graph: render lays DOT out as SVG and PNG, and reports what it cannot") {
  testing::CheckedProgram p(kCart);
  std::string error;
  auto svg = render(dotOf(p), "svg", error);
  REQUIRE_MESSAGE(svg, error);
  CHECK(svg->find("<svg") != std::string::npos);
  CHECK(svg->find("send cart_reminder") != std::string::npos);
  auto png = render(dotOf(p), "png", error);
  REQUIRE_MESSAGE(png, error);
  CHECK(png->substr(0, 8) == "\x89PNG\r\n\x1a\n");
  CHECK_FALSE(render("digraph { a -> ", "svg", error));
  CHECK_FALSE(error.empty());
  error.clear();
  CHECK_FALSE(render("digraph { a }", "gif", error));
  CHECK(error.find("gif") != std::string::npos);
}

}  // namespace
}  // namespace trig::graph
