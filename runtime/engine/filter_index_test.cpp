#include "runtime/engine/filter_index.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"
#include "compiler/plan/build.h"

namespace trig::engine {

// The index may only leave out filters that cannot hold: every filter that holds on a random
// event must be among its candidates. Filters of every shape: keyed by ==, by `in`, by the
// literal on the left, on two fields, with `or` and `not` (not keyed), on an optional field.
TEST_CASE("FilterIndex: a filter that holds is always a candidate, and most others are not") {
  testing::CheckedProgram p(R"(
event visit { page: string, tag?: string, score?: int }
template t { subject "s" body "b" }
trigger k1: when visit(page == "/a") send t
trigger k2: when visit(page in ["/a", "/b", "/b"] and score > 2) send t
trigger k3: when visit("/c" == page and tag == "x") send t
trigger k4: when visit(tag == "y") send t
trigger k5: when visit(tag in ["x", "z"] and page == "/b") send t
trigger a1: when visit(page == "/a" or tag == "x") send t
trigger a2: when visit(not (page == "/a")) send t
trigger a3: when visit(page != "/a") send t
trigger a4: when visit(page starts_with "/") send t
trigger a5: when visit(score >= 1) send t
trigger p1: when visit(page starts_with "/shop/" and score > 1) send t
trigger p2: when visit(tag starts_with "xy") send t
trigger p3: when visit(tag starts_with "x" and tag != "xyz") send t
trigger a6: when visit(page starts_with "") send t
)");
  const auto& info = *p.model.findEvent("visit");
  plan::Plan rulePlan = plan::buildPlan(p.model);
  const plan::EventPlan& visits = rulePlan.events[info.index];
  const std::vector<ExprId>& filters = visits.filters;
  REQUIRE(filters.size() == 14);
  FilterIndex index = FilterIndex::build(visits.filterPins);
  // k1-k5 by value, a4, p1-p3 by prefix; a1-a3, a5 and a6 (the empty prefix) always run.
  CHECK(index.indexed() == 9);

  interp::Interpreter interp(p.model);
  std::vector<Value> traits(p.model.traits.size());
  testing::VectorHistory none;
  std::mt19937 rng(11);
  const char* pages[] = {"/a", "/b", "/c", "/d", "", "/shop/x", "/shop/", "/sho", "/"};
  const char* tags[] = {"x", "y", "z", "w", "xy", "xyz", "xyzw", ""};
  size_t skipped = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::pair<const char*, Value>> f = {{"page", Value::str(pages[rng() % 9])}};
    if (rng() % 3 != 0) f.emplace_back("tag", Value::str(tags[rng() % 8]));
    if (rng() % 2 != 0) f.emplace_back("score", Value::integer(static_cast<int64_t>(rng() % 5)));
    Event e = p.event("visit", 1000, {});
    for (const auto& [n, v] : f) e.fields[info.fieldIndex(n)] = v;
    std::vector<uint32_t> cand;
    index.candidates(e, cand);
    std::sort(cand.begin(), cand.end());
    CHECK(std::adjacent_find(cand.begin(), cand.end()) == cand.end());  // each once
    EvalEnv env;
    env.anchor = &e;
    env.subject = &e;
    env.traits = &traits;
    env.history = &none;
    env.now = 1000;
    for (uint32_t i = 0; i < filters.size(); ++i) {
      bool candidate = std::binary_search(cand.begin(), cand.end(), i);
      if (interp.test(filters[i], env)) {
        CAPTURE(round);
        CAPTURE(i);
        CHECK(candidate);
      }
      if (!candidate) ++skipped;
    }
  }
  // Not vacuous: the keyed filters are mostly skipped.
  CHECK(skipped > 2000 * 3);
}

}  // namespace trig::engine
