// Fuzz target: the differential test driven by the fuzz input. The bytes choose a small rule set
// (random well-typed conditions, filters, step conditions and bindings over every type, from the
// generator of compiler/jit/differential_test.cpp), the JIT's options, and the histories, anchors
// and profiles they are evaluated in. The JIT and the reference interpreter must agree on every
// one: a disagreement prints both answers, the expression and the environment, and aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/interp/interp.h"
#include "compiler/jit/differential_test_support.h"
#include "compiler/jit/jit_evaluator.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace trig;
using namespace trig::jit::differential;

// A UniformRandomBitGenerator reading the fuzz input, one byte a draw (spread over 32 bits), so
// that mutating a byte changes one choice; past the end it goes on with a sequence seeded by the
// input (splitmix64), so every input makes a whole program and a draw never blocks.
class InputBits {
 public:
  using result_type = uint32_t;
  InputBits(const uint8_t* data, size_t size) : data_(data), size_(size) {
    for (size_t i = 0; i < size; ++i) state_ = (state_ ^ data[i]) * 0x100000001b3;
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return UINT32_MAX; }
  result_type operator()() {
    if (pos_ < size_) return data_[pos_++] * 0x01010101u;
    uint64_t z = state_ += 0x9e3779b97f4a7c15;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return static_cast<result_type>(z ^ (z >> 31));
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t state_ = 0xcbf29ce484222325;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Generator<InputBits> g{InputBits(data, size)};
  // A few rules a run: each input compiles its own rule set with LLVM, which dominates the time.
  uint64_t generated = 0;
  const int rules = 1 + g.pick(4);
  auto c = fuzz::compileOnce(ruleSet(g, rules, generated, UINT64_MAX));

  jit::JitOptions options;
  options.useCache = false;
  options.verify = true;
  options.optLevel = g.chance(50) ? 0 : 2;
  options.granularity =
      g.chance(50) ? lower::Granularity::PerRule : lower::Granularity::PerCondition;
  jit::JitEvaluator jit(*c, options, std::make_unique<interp::Interpreter>(c->model));
  interp::Interpreter interp(c->model);
  std::vector<Case> cases = casesOf(*c);
  for (const Case& k : cases)
    if (!jit.compiled(k.expr->id)) {
      std::fprintf(stderr, "fuzz_differential: not compiled: %s\n", sourceOf(*c, *k.expr).c_str());
      std::abort();
    }

  uint64_t held = 0;
  const int rounds = 1 + g.pick(8);
  for (int round = 0; round < rounds; ++round) {
    Environment env = environment(g, *c);
    for (const Case& k : cases) {
      std::string why = compareOne(g, *c, env, k, jit, interp, held);
      if (!why.empty()) {
        std::fprintf(stderr, "fuzz_differential: %s\n", why.c_str());
        std::abort();
      }
    }
  }
  return 0;
}
