// Benchmarks of the JIT (not tests: numbers depend on the machine). Prints one line per figure.
//
//   trig_bench_jit [--quick] [--only evaluations|compile]
//
// 1. Predicate evaluations per second, JIT vs the reference interpreter, on the same conditions
//    over the same events: attribute-heavy conditions, and single comparisons.
// 2. Compile time of rule sets of 10, 100 and 1,000 rules: cold (no cache) for the fast tier
//    (-O0, one function per rule) and for -O2 (per rule and per condition), and a cached start
//    (object code loaded from the on-disk cache).
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/interp/interp.h"
#include "compiler/jit/jit.h"
#include "compiler/jit/jit_evaluator.h"

using namespace trig;

namespace {

// CPU time of this process: on a shared machine wall time mostly measures the neighbours.
double cpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::filesystem::path tempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "trig-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(2);
  }
  return tmpl;
}

std::unique_ptr<Compilation> compileText(const std::filesystem::path& dir, const std::string& name,
                                         const std::string& text) {
  auto file = dir / name;
  std::ofstream(file) << text;
  auto c = compile({file.string()});
  if (!c->ok()) {
    std::fprintf(stderr, "bench rules do not check (%zu errors)\n", c->diags.errorCount());
    std::exit(2);
  }
  return c;
}

// ---- 1. evaluations per second ----

const char* kPrelude = R"(
customer { vip?: bool, ltv?: money, segment?: string }
template t { subject "s" body "b" }
)";

// Attribute-heavy conditions: each one condition testing five to eight attributes of the event
// and the profile (string, money, int, list membership, arithmetic), as a marketer's rule filter
// reads.
const char* kHeavyRules = R"(
trigger h1: when cart_add and (price > 10 and quantity >= 2 and category == "shoes" and product_name starts_with "Lamp" and cart_value >= 49.99) send t
trigger h2: when cart_add and (not (category in ["books", "music", "films"]) and price * quantity > 100 and exists(product_name) and customer.country in ["DE", "FR", "NL"]) send t
trigger h3: when cart_add and ((customer.vip or customer.ltv > 500) and customer.segment != "churned" and quantity * 2 + 1 < 20 and cart_value - price > 5 and price <= 999.99) send t
trigger h4: when cart_add and (product_name contains "deluxe" or (category == "lamps" and price > 20) or (category == "garden" and quantity > 3 and cart_value > 100)) send t
trigger h5: when cart_add and (category != "books" and category != "music" and price >= 5 and price < 500 and cart_value > price and quantity != 0 and customer.segment in ["active", "new"]) send t
)";

// The same kind of tests as separate `and` terms: one comparison per call, so the per-call
// overhead of each engine dominates.
const char* kSingleRules = R"(
trigger a1: when cart_add and price > 10 and quantity >= 2 and category == "shoes" send t
trigger a2: when cart_add and cart_value >= 49.99 and not (category in ["books", "music", "films"]) send t
trigger a3: when cart_add and product_name starts_with "Lamp" and price * quantity > 100 send t
trigger a4: when cart_add and (customer.vip or customer.ltv > 500) and customer.country in ["DE", "FR", "NL"] send t
trigger a5: when cart_add and exists(product_name) and product_name contains "deluxe" and price <= 999.99 send t
trigger a6: when cart_add and customer.segment != "churned" and quantity * 2 + 1 < 20 and cart_value - price > 5 send t
)";

void evaluationsPerSecond(const std::filesystem::path& dir, const char* label, const char* rules,
                          bool quick) {
  auto c = compileText(dir, std::string(label) + ".trig", std::string(kPrelude) + rules);
  jit::JitOptions o;
  o.useCache = false;
  jit::JitEvaluator jitEval(*c, o, std::make_unique<interp::Interpreter>(c->model));
  interp::Interpreter interp(c->model);

  std::vector<const ast::Expr*> conds;
  for (const auto& r : c->model.rules)
    for (const auto* e : r.conditions) conds.push_back(e);

  const sema::EventInfo* cartAdd = c->model.findEvent("cart_add");
  static const char* categories[] = {"shoes", "books", "lamps", "garden"};
  static const char* names[] = {"Lamp deluxe", "Lamp", "Chair deluxe edition", "Book"};
  std::vector<Event> events;
  for (int i = 0; i < 64; ++i) {
    Event e;
    e.type = cartAdd->index;
    e.fields.resize(cartAdd->fields.size());
    e.fields[cartAdd->fieldIndex("product_id")] = Value::str("p" + std::to_string(i));
    if (i % 5 != 0) e.fields[cartAdd->fieldIndex("product_name")] = Value::str(names[i % 4]);
    e.fields[cartAdd->fieldIndex("category")] = Value::str(categories[i % 4]);
    e.fields[cartAdd->fieldIndex("price")] = Value::money(Decimal{(i * 7 % 40) * 1'250'000});
    if (i % 3 != 0) e.fields[cartAdd->fieldIndex("quantity")] = Value::integer(i % 6);
    e.fields[cartAdd->fieldIndex("cart_value")] = Value::money(Decimal{(i * 13 % 90) * 1'000'000});
    events.push_back(std::move(e));
  }
  std::vector<Value> traits(c->model.traits.size());
  traits[c->model.traitIndex("country")] = Value::str("FR");
  traits[c->model.traitIndex("ltv")] = Value::money(Decimal::whole(750));
  traits[c->model.traitIndex("segment")] = Value::str("active");

  const int64_t rounds = quick ? 20'000 : 200'000;
  auto run = [&](Evaluator& ev, uint64_t& held) {
    EvalEnv env;
    env.traits = &traits;
    double t0 = cpuMs();
    for (int64_t r = 0; r < rounds; ++r) {
      env.anchor = &events[static_cast<size_t>(r) & 63];
      for (const auto* cond : conds) held += ev.test(cond->id, env) ? 1 : 0;
    }
    return cpuMs() - t0;
  };
  uint64_t heldJit = 0, heldInterp = 0;
  run(jitEval, heldJit);  // warm-up (caches, branch predictors), not measured
  heldJit = 0;
  double jitMs = run(jitEval, heldJit);
  double interpMs = run(interp, heldInterp);
  if (heldJit != heldInterp) {
    std::fprintf(stderr, "JIT and interpreter disagree (%llu vs %llu)\n",
                 static_cast<unsigned long long>(heldJit),
                 static_cast<unsigned long long>(heldInterp));
    std::exit(1);
  }
  double n = static_cast<double>(rounds) * static_cast<double>(conds.size());
  std::printf("evaluations, %s: %zu conditions x %lld events (CPU time)\n", label, conds.size(),
              static_cast<long long>(rounds));
  std::printf("  interpreter  %11.0f evaluations/s  (%.1f ns each)\n", n / interpMs * 1000,
              interpMs * 1e6 / n);
  std::printf("  jit          %11.0f evaluations/s  (%.1f ns each)\n", n / jitMs * 1000,
              jitMs * 1e6 / n);
  std::printf("  speed-up     %11.1fx  (%llu of %.0f held, both engines)\n", interpMs / jitMs,
              static_cast<unsigned long long>(heldJit), n);
}

// ---- 2. compile time ----

// A rule set of `n` varied rules: attribute terms, history terms with filters and `same`,
// aggregates, `last`, step conditions, about three compiled functions per rule.
std::string ruleSet(int n) {
  std::string text = "template t { subject \"s\" body \"b\" }\n";
  static const char* cats[] = {"shoes", "books", "lamps", "garden", "toys"};
  for (int i = 0; i < n; ++i) {
    std::string r = "trigger r" + std::to_string(i) + ": when cart_add as v and price > " +
                    std::to_string(i % 50) + " and category == \"" + cats[i % 5] + "\"";
    switch (i % 4) {
      case 0:
        r += " and count(product_view(same product_id)) within 7d >= " + std::to_string(1 + i % 3);
        break;
      case 1: r += " and sum(cart_add.price) within 30d > " + std::to_string(100 + i); break;
      case 2:
        r += " and last(product_view).category == \"" + std::string(cats[(i + 1) % 5]) + "\"";
        break;
      default: r += " and quantity * 2 >= " + std::to_string(i % 7); break;
    }
    r += " unless purchased(product_id == v.product_id) within " + std::to_string(1 + i % 30) + "d";
    r += " send t";
    if (i % 3 == 0) r += " then after 1d unless purchased send t";
    text += r + "\n";
  }
  return text;
}

void compileTimes(const std::filesystem::path& dir, bool quick) {
  std::printf(
      "compile: CPU ms of the compiling process (wall ms in brackets); every figure without a "
      "cache except 'cached'\n");
  std::printf("  %5s %7s  %-20s %-20s %-20s %-16s %s\n", "rules", "entries", "fast tier",
              "O2 per rule", "O2 per condition", "cached start", "parse+check");
  std::vector<int> sizes = quick ? std::vector<int>{10, 100} : std::vector<int>{10, 100, 1000};
  auto timed = [](const Compilation& c, const jit::JitOptions& o, double& cpu) {
    double t = cpuMs();
    auto code = jit::compileRuleSet(c, o);
    cpu = cpuMs() - t;
    return code;
  };
  auto cell = [](double cpu, double wall) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f (%.0f)", cpu, wall);
    return std::string(buf);
  };
  for (int n : sizes) {
    double c0 = cpuMs();
    auto c = compileText(dir, "rules" + std::to_string(n) + ".trig", ruleSet(n));
    double frontMs = cpuMs() - c0;
    jit::JitOptions cold;
    cold.useCache = false;
    jit::JitOptions fast = cold;  // what a tiered evaluator starts on
    fast.optLevel = 0;
    fast.granularity = lower::Granularity::PerRule;
    fast.chunkRules = 0;
    jit::JitOptions o2rule = cold;
    o2rule.granularity = lower::Granularity::PerRule;
    double fastCpu = 0, ruleCpu = 0, condCpu = 0, hitCpu = 0;
    auto f = timed(*c, fast, fastCpu);
    auto r = timed(*c, o2rule, ruleCpu);
    auto o2 = timed(*c, cold, condCpu);
    jit::JitOptions cached;
    cached.cacheDir = (dir / ("cache" + std::to_string(n))).string();
    timed(*c, cached, hitCpu);  // fills the cache
    auto hit = timed(*c, cached, hitCpu);
    if (!hit->stats().cacheHit)
      std::printf("  (cache miss on the second load: %s)\n", hit->stats().cacheError.c_str());
    std::printf("  %5d %7zu  %-20s %-20s %-20s %-16s %.1f\n", n, o2->stats().entries,
                cell(fastCpu, f->stats().wallMs).c_str(), cell(ruleCpu, r->stats().wallMs).c_str(),
                cell(condCpu, o2->stats().wallMs).c_str(),
                cell(hitCpu, hit->stats().wallMs).c_str(), frontMs);
    const auto& s = o2->stats();
    double total = s.lowerMs + s.optimizeMs + s.codegenMs + s.linkMs;
    std::printf(
        "        O2 per condition, %zu functions in %zu modules: lower %.0f%%, optimise %.0f%%, "
        "codegen %.0f%%, link %.0f%%\n",
        s.functions, s.chunks, 100 * s.lowerMs / total, 100 * s.optimizeMs / total,
        100 * s.codegenMs / total, 100 * s.linkMs / total);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr, "usage: trig_bench_jit [--quick] [--only evaluations|compile]\n");
      return 2;
    }
  }
  auto dir = tempDir();
  if (only.empty() || only == "evaluations") {
    evaluationsPerSecond(dir, "attribute-heavy", kHeavyRules, quick);
    evaluationsPerSecond(dir, "single comparisons", kSingleRules, quick);
  }
  if (only.empty() || only == "compile") compileTimes(dir, quick);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
