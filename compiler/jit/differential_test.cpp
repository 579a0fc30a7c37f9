// Differential test: random well-typed conditions over random events and histories with edge
// values (the generator is compiler/jit/differential_test_support.h, which the fuzz target
// tests/fuzz/fuzz_differential.cpp shares). The JIT and the reference interpreter must agree on
// every one.
//   TRIG_DIFF_ITERATIONS  conditions to generate (default 2000)
//   TRIG_DIFF_SEED        the random seed (default fixed, so CI is deterministic)
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "compiler/interp/interp.h"
#include "compiler/jit/differential_test_support.h"
#include "compiler/jit/jit_evaluator.h"
#include "compiler/jit/jit_test_support.h"

using namespace trig;
using namespace trig::jit::testing;
using namespace trig::jit::differential;

namespace {

uint64_t envNumber(const char* name, uint64_t otherwise) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return otherwise;
  return std::strtoull(v, nullptr, 10);
}

using SeededGenerator = Generator<std::mt19937_64>;

}  // namespace

TEST_CASE("differential: the JIT and the interpreter agree on random conditions") {
  const uint64_t iterations = envNumber("TRIG_DIFF_ITERATIONS", 2000);
  const uint64_t seed = envNumber("TRIG_DIFF_SEED", 20260101);
  constexpr int kRulesPerBatch = 120;
  constexpr int kEnvironments = 40;
  MESSAGE("TRIG_DIFF_SEED=" << seed << " TRIG_DIFF_ITERATIONS=" << iterations);
  SeededGenerator g{std::mt19937_64(seed)};
  uint64_t generated = 0, evaluations = 0, trueCount = 0, batch = 0;

  while (generated < iterations) {
    std::string text = ruleSet(g, kRulesPerBatch, generated, iterations);
    ++batch;
    CAPTURE(batch);
    auto c = compileText(text);

    jit::JitOptions options;
    options.useCache = false;
    options.verify = true;
    // Both code generator levels and both granularities (the fast tier is -O0 per rule).
    options.optLevel = batch % 3 == 0 ? 0 : 2;
    options.granularity =
        batch % 2 == 0 ? lower::Granularity::PerRule : lower::Granularity::PerCondition;
    options.chunkRules =
        batch % 4 == 1 ? 7 : 0;  // several modules, each numbering its own `last` slots
    jit::JitEvaluator jit(*c, options, std::make_unique<interp::Interpreter>(c->model));
    interp::Interpreter interp(c->model);
    CHECK(jit.code().fallbacks().empty());
    for (const auto& f : jit.code().fallbacks()) MESSAGE(f.name << ": " << f.reason);

    std::vector<Case> cases = casesOf(*c);
    for (const Case& k : cases) {
      CAPTURE(sourceOf(*c, *k.expr));
      REQUIRE(jit.compiled(k.expr->id));
    }
    for (int round = 0; round < kEnvironments; ++round) {
      Environment env = environment(g, *c);
      for (const Case& k : cases) {
        ++evaluations;
        std::string why = compareOne(g, *c, env, k, jit, interp, trueCount);
        if (!why.empty()) FAIL_CHECK(why);
      }
    }
  }
  MESSAGE(generated << " conditions, " << evaluations << " evaluations, " << trueCount << " held");
  // The generator must exercise both outcomes, or agreement would mean little.
  CHECK(trueCount > evaluations / 20);
  CHECK(trueCount < evaluations - evaluations / 20);
}

TEST_CASE("differential: long list literals (table lookups) agree with the interpreter") {
  // Lists of 16 items or more are compiled as sorted tables of their constant items (runtime/abi
  // trig_abi_in_*): every kind of item against every kind of value, edge values, absent values,
  // items that are not constants, and `contains`.
  const std::vector<std::string> lists{
      "s in [\"\", \"a\", \"ab\", \"abc\", \"b\", \"shoe\", \"Shoes\", \"\xc3\xa9\", \"a\\\"b\", "
      "\"z1\", "
      "\"z2\", \"z3\", \"z4\", \"z5\", \"z6\", \"a\"]",
      "s2 in [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\", \"k\", \"l\", "
      "\"m\", "
      "\"n\", \"o\", \"shoe\", s]",
      "customer.tier in [\"a\", \"ab\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", "
      "\"j\", "
      "\"k\", \"l\", \"m\", \"n\", \"Shoes\"]",
      "[\"\", \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\", \"k\", \"l\", "
      "\"m\", "
      "\"n\", \"xshoey\"] contains s",
      "i in [0, 1, -1, 3, 7, -2, 1000000, 1000000000000, 1000000000000000000, "
      "-1000000000000000000, 42, 11, 12, 13, 14, 15, 1, -50]",
      "i in [1.0, 3.0, 0.5, 49.99, -2, 7, 1000000, 8, 9, 10, 11, 12, 13, 14, 15, 16, -1.000001]",
      "i in [0.5, 3, -2.25, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 1000000000000]",
      "i2 in [i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -i]",
      "-i in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, -3]",
      "m in [49.99, 0.5, 3, 0, -5.5, 1000000000000, 1000000000000000000, 0.000001, 1, 2, 4, 5, "
      "6, 7, 8, 9, 12.5, -25]",
      "m2 in [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4]",
      "customer.ltv in [0.25, 0.5, 49.99, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 0, -5.5, "
      "3.75, 4]",
      "f in [0.5, 3, -2.25, 0, 49.99, 7, 0.1, 1, 2, 4, 5, 6, 8, 9, 10, 11, -0.0, 1000000]",
      "f2 in [49.99, 3, 0, -2, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, f]",
      "customer.score in [0.5, 3, -2.25, 0, 49.99, 7, 0.1, 1, 2, 4, 5, 6, 8, 9, 10, 11]",
      "customer.age in [0, 1, 3, 7, -2, 42, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]",
      "(i + 1) in [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 0, 43]",
      "t in [2026-01-10T00:00:00Z, 2026-01-11T00:00:00Z, 2026-01-05T12:30:00Z, "
      "2026-01-01T00:00:00Z, 2026-01-02T00:00:00Z, 2026-01-03T00:00:00Z, 2026-01-04T00:00:00Z, "
      "2026-01-06T00:00:00Z, 2026-01-07T00:00:00Z, 2026-01-08T00:00:00Z, 2026-01-09T00:00:00Z, "
      "2026-01-12T00:00:00Z, 2026-01-13T00:00:00Z, 2026-01-14T00:00:00Z, 2026-01-15T00:00:00Z, "
      "1970-01-01T00:00:00Z]",
      "d in [1h, 30m, 2d, 1s, 2h, 3h, 4h, 5h, 6h, 7h, 8h, 9h, 10h, 11h, 12h, 13h, 1m]",
      "b in [true, true, true, true, true, true, true, true, true, true, true, true, true, true, "
      "true, true]",
      "b in [false, false, false, false, false, false, false, false, false, false, false, false, "
      "false, false, false, false, true]",
      "customer.vip in [false, false, false, false, false, false, false, false, false, false, "
      "false, false, false, false, false, false]",
      "not (s in [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\", \"k\", "
      "\"l\", "
      "\"m\", \"n\", \"o\", \"p\"])",
  };
  std::string text = kSchema;
  for (size_t k = 0; k < lists.size(); ++k)
    text += "trigger r" + std::to_string(k) + ": when ev as v and " + lists[k] + " send t\n";
  auto c = compileText(text);
  interp::Interpreter interp(c->model);
  SeededGenerator g{std::mt19937_64(7)};
  uint64_t held = 0, evaluations = 0;
  for (int variant = 0; variant < 4; ++variant) {
    jit::JitOptions options;
    options.useCache = false;
    options.verify = true;
    options.optLevel = variant % 2 == 0 ? 0 : 2;
    options.granularity =
        variant < 2 ? lower::Granularity::PerRule : lower::Granularity::PerCondition;
    jit::JitEvaluator jit(*c, options, std::make_unique<interp::Interpreter>(c->model));
    REQUIRE(jit.code().fallbacks().empty());
    for (int round = 0; round < 300; ++round) {
      VectorHistory h;
      Event anchor = g.event(*c, "ev", kNow, 1);
      std::vector<Value> traits;
      for (const auto& tr : c->model.traits)
        traits.push_back(tr.optional && g.chance(30) ? Value::absent() : g.valueOfType(tr.type));
      EvalEnv env;
      env.history = &h;
      env.traits = &traits;
      env.now = kNow;
      env.anchor = &anchor;
      for (const auto& ri : c->model.rules) {
        const ast::Expr* e = ri.conditions.back();
        bool a = jit.test(e->id, env), b = interp.test(*e, env);
        ++evaluations;
        held += b ? 1 : 0;
        if (a != b) {
          std::string tr;
          for (size_t j = 0; j < traits.size(); ++j)
            tr += " " + c->model.traits[j].name + "=" + show(traits[j]);
          FAIL_CHECK("JIT says " << a << ", interpreter " << b << ": " << sourceOf(*c, *e)
                                 << "\n anchor=" << show(*c, anchor) << "\n traits:" << tr);
        }
      }
    }
  }
  CHECK(held > evaluations / 10);
  CHECK(held < evaluations - evaluations / 10);
}
