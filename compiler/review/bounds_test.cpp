// `trig check --bounds`: the search over one rule path's firing times, and the rule set's bound
// (the goldens, tests/golden/bound*.trig, pin the text; tests/review/bounds_test.py replays the
// schedules with `trig run`).
#include "compiler/review/bounds.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace trig::review {
namespace {

constexpr DurationMs kWeekMs = 7 * kDay;

std::pair<int64_t, DurationMs> per(int64_t n, DurationMs d) {
  return {n, d};
}

// Counts the sends of a schedule in [0, length) and checks its own constraints: every kept
// send is due before the next firing, firings are `idle` apart, and the limit holds at each
// firing over the first sends that went out. Returns -1 when a constraint is broken.
int64_t replay(const PathResult& r, const std::vector<DurationMs>& o, DurationMs idle,
               std::optional<std::pair<int64_t, DurationMs>> limit, DurationMs length) {
  int64_t n = 0;
  std::vector<DurationMs> firstSends;
  for (size_t i = 0; i < r.firings.size(); ++i) {
    DurationMs f = r.firings[i];
    if (i > 0 && f - r.firings[i - 1] < idle) return -1;
    if (limit) {
      int64_t inWindow = 0;
      for (DurationMs s : firstSends) inWindow += s > f - limit->second && s <= f;
      if (inWindow >= limit->first) return -1;
    }
    for (size_t k = 0; k < r.stepsOut[i]; ++k) {
      DurationMs t = f + o[k];
      if (i + 1 < r.firings.size() && t >= r.firings[i + 1]) return -1;
      if (k == 0) firstSends.push_back(t);
      n += t >= 0 && t < length;
    }
  }
  return n;
}

void checkPath(const std::vector<DurationMs>& o, DurationMs idle,
               std::optional<std::pair<int64_t, DurationMs>> limit, DurationMs length,
               int64_t expected) {
  PathResult r = worstPath(o, idle, limit, length);
  CHECK(r.exact);
  CHECK(r.count == expected);
  CHECK(r.reached == expected);
  CHECK(replay(r, o, idle, limit, length) == expected);  // the schedule is real
}

TEST_CASE("one path: limit, idle, delays and restarts") {
  // limit 1 per 1d, one send at once: one a day, seven a week.
  checkPath({0}, 0, per(1, kDay), kDay, 1);
  checkPath({0}, 0, per(1, kDay), kWeekMs, 7);
  checkPath({0}, 0, per(2, kDay), kWeekMs, 14);
  // idle 15m and no limit: a firing every 15 minutes (an event in the wait cancels it).
  checkPath({0}, 15 * kMinute, std::nullopt, kDay, 96);
  // `after 1h send`, no limit: a new firing restarts the flow, so one per 1h + 1 ms.
  checkPath({kHour}, 0, std::nullopt, kDay, 24);
  // The window argument: limit 1 per 1d with steps at +0 and +2d. A firing 2 days before the
  // week puts its second send at the week's start; then a firing each day: 8, not 7.
  checkPath({0, 2 * kDay}, 0, per(1, kDay), kWeekMs, 8);
  // Its day: the second send of a firing two days earlier, and a first send.
  checkPath({0, 2 * kDay}, 0, per(1, kDay), kDay, 2);
  // limit 1 per 7d with three steps a day apart: one firing's three sends in a week.
  checkPath({0, kDay, 2 * kDay}, 0, per(1, 7 * kDay), kWeekMs, 3);
  // ... and a day holds the last send of one firing and the first of the next? No: the next
  // firing comes 7 days after the first (limit), so one send a day.
  checkPath({0, kDay, 2 * kDay}, 0, per(1, 7 * kDay), kDay, 1);
}

TEST_CASE("one path: a search that gives up gives a sound loose bound") {
  PathResult full = worstPath({0, 2 * kDay}, 0, per(1, kDay), kWeekMs);
  PathResult cut = worstPath({0, 2 * kDay}, 0, per(1, kDay), kWeekMs, 3);
  CHECK(full.exact);
  CHECK_FALSE(cut.exact);
  CHECK(cut.count >= full.count);
  CHECK(cut.reached <= full.count);
}

// The bounds of a rule set.
Bounds of(const std::string& rules, const BoundsOptions& o = {},
          std::vector<std::string>* kinds = nullptr) {  // kinds: the errors reported
  namespace fs = std::filesystem;
  fs::path file =
      fs::temp_directory_path() / ("trig-bounds-" + std::to_string(::getpid()) + ".trig");
  std::ofstream(file) << "template t { subject \"T\" body \".\" }\n"
                      << "template u { subject \"U\" body \".\" }\n"
                      << rules;
  auto c = compile({file.string()});
  Bounds b = bounds(*c, o);
  if (kinds != nullptr)
    for (const auto& d : c->diags.sorted(c->sources))
      if (d.severity == Severity::Error) kinds->push_back(kindName(d.kind));
  fs::remove(file);
  return b;
}

TEST_CASE("rule sets: sums, unbounded, cap, cooldown, splits") {
  Bounds b =
      of("trigger a: when cart_add limit 1 per 1d send t\n"
         "trigger b: when search limit 2 per 1d send u\n");
  REQUIRE(b.computed);
  CHECK(b.day.count == 3);
  CHECK(b.week.count == 21);
  CHECK(b.day.tight);
  CHECK(b.day.reached == 3);
  // No limit, no idle: every cart_add sends.
  b = of("trigger a: when cart_add send t\n");
  CHECK(b.day.unbounded);
  CHECK(b.week.unbounded);
  // ... unless a cap holds it.
  b = of("settings { cap 3 per 1d }\ntrigger a: when cart_add send t\n");
  CHECK_FALSE(b.day.unbounded);
  CHECK(b.day.count == 3);
  CHECK(b.week.count == 21);
  // A cap above what the rules can send does not change the bound.
  b = of("settings { cap 10 per 1d }\ntrigger a: when cart_add limit 1 per 1d send t\n");
  CHECK(b.day.count == 1);
  // Cooldown: one send of each template per 1d.
  b = of("settings { cooldown 1d }\ntrigger a: when cart_add and idle 1h send t\n");
  CHECK(b.day.count == 1);
  CHECK(b.week.count == 7);
  // A split counts its arm with the most sends; a holdout none.
  b =
      of("trigger a: when cart_add limit 1 per 7d send t then after 1d split s {\n"
         "  50% x: send u then after 1d send u\n  40% y: send u\n  10% z: holdout }\n");
  CHECK(b.week.count == 3);
  CHECK(b.day.count == 1);
  CHECK_FALSE(b.week.tight);  // no variantOf: no customer is searched for, so not claimed
  CHECK(b.week.customer.empty());
  // A flow that starts with a split: its first send is its variant's first, and the limit
  // counts it (runtime/policy/rule_limit.cpp).
  b = of("trigger a: when cart_add limit 1 per 7d split s { 50% x: send t  50% y: send u }\n");
  CHECK_FALSE(b.day.unbounded);
  CHECK(b.week.count == 1);
}

TEST_CASE("--max-per-day and --max-per-week are errors when exceeded") {
  BoundsOptions o;
  o.maxPerWeek = 7;
  std::vector<std::string> kinds;
  of("trigger a: when cart_add limit 1 per 1d send t\n", o, &kinds);
  CHECK(kinds.empty());
  o.maxPerWeek = 6;
  kinds.clear();
  of("trigger a: when cart_add limit 1 per 1d send t\n", o, &kinds);
  CHECK(kinds == std::vector<std::string>{"bound-exceeded"});
  BoundsOptions d;
  d.maxPerDay = 100;
  kinds.clear();
  of("trigger a: when cart_add send t\n", d, &kinds);  // unbounded
  CHECK(kinds == std::vector<std::string>{"bound-exceeded"});
}

}  // namespace
}  // namespace trig::review
