// The lowering on its own: every example rule set lowers to a module the LLVM verifier accepts,
// in both granularities, with no expression left to the interpreter; the entry names are stable;
// the AST dump shows types and resolutions.
#include "compiler/lower/lower.h"

#include <doctest/doctest.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/driver/driver.h"
#include "compiler/lower/ast_dump.h"

using namespace trig;

namespace {

std::unique_ptr<Compilation> compileFile(const std::filesystem::path& p) {
  auto c = compile({p.string()});
  REQUIRE(c->ok());
  return c;
}

void requireValid(const llvm::Module& m) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  bool broken = llvm::verifyModule(m, &os);
  INFO(msg);
  REQUIRE_FALSE(broken);
}

const char* kSeed = R"(
trigger cart_abandon "Cart abandonment":
  when cart_add and idle 15m
  unless purchased within 30d
  priority 2
  goal purchased(revenue > 0) within 3d
  send cart_reminder
  then after 24h unless purchased send cart_followup
    with last_viewed_category = last(product_view).category

trigger browse_abandon:
  when product_view as v and count(product_view(same product_id)) within 7d >= 3
  unless cart_add(same product_id) within 7d
  unless purchased(product_id == v.product_id) within 30d
  priority 1
  send browse_reminder

trigger reminder_timing:
  when checkout_start(cart_value > 20) and idle 30m
  split delay { 50% fast: after 1h unless purchased send checkout_nudge  50% slow: after 3h send checkout_nudge }

template cart_reminder { subject "s" body "b" }
template cart_followup { subject "s" body "{{ last_viewed_category | default "x" }}" }
template browse_reminder { subject "s" body "b" }
template checkout_nudge { subject "s" body "b" }
)";

std::unique_ptr<Compilation> compileSeed(const std::filesystem::path& dir) {
  auto file = dir / "seed.trig";
  std::ofstream(file) << kSeed;
  return compileFile(file);
}

struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "trig-lower-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("lower: the seed scenarios' entries have stable names, in source order") {
  ScratchDir dir;
  auto c = compileSeed(dir.path);
  llvm::LLVMContext ctx;
  auto set = lower::lowerToLLVM(c->program, c->model, ctx);
  requireValid(*set.module);
  CHECK(set.fallbacks.empty());
  std::vector<std::string> names;
  for (const auto& e : set.entries) {
    names.push_back(e.name);
    CHECK(e.symbol == e.name);
    CHECK(set.module->getFunction(e.symbol) != nullptr);
  }
  CHECK(names == std::vector<std::string>{
                     "trig.rule.cart_abandon.unless.0",
                     "trig.rule.cart_abandon.filter.0",  // the goal's filter
                     "trig.rule.cart_abandon.step.2.unless.0",
                     "trig.rule.cart_abandon.step.2.with.last_viewed_category",
                     "trig.rule.browse_abandon.when.0",
                     "trig.rule.browse_abandon.unless.0",
                     "trig.rule.browse_abandon.unless.1",
                     "trig.rule.reminder_timing.filter.0",  // the anchor's filter
                     "trig.rule.reminder_timing.delay.fast.step.2.unless.0",
                 });
  // The nested filters are functions too (the history helpers call them back), but for those
  // whose whole filter is one `same`: the history compares that field itself.
  CHECK(set.module->getFunction("trig.rule.browse_abandon.filter.0") != nullptr);  // purchased(...)
  CHECK(set.module->getFunction("trig.rule.browse_abandon.filter.1") == nullptr);
  const llvm::Function* countEqual = set.module->getFunction("trig_abi_count_equal");
  REQUIRE(countEqual != nullptr);
  CHECK(countEqual->getNumUses() ==
        2);  // count(product_view(same product_id)), cart_add(same product_id)
  CHECK(set.scratchSlots == 1);
}

TEST_CASE("lower: one dispatch function per rule holds the same entries") {
  ScratchDir dir;
  auto c = compileSeed(dir.path);
  llvm::LLVMContext ctx;
  lower::LowerOptions o;
  o.granularity = lower::Granularity::PerRule;
  auto set = lower::lowerToLLVM(c->program, c->model, ctx, o);
  requireValid(*set.module);
  std::set<std::string> functions;
  for (const auto& f : *set.module)
    if (!f.isDeclaration()) functions.insert(f.getName().str());
  CHECK(functions == std::set<std::string>{"trig.rule.cart_abandon", "trig.rule.browse_abandon",
                                           "trig.rule.reminder_timing"});
  std::set<std::pair<std::string, uint32_t>> cases;
  for (const auto& e : set.entries)
    CHECK(cases.insert({e.symbol, e.which}).second);  // distinct cases
  CHECK(set.entries.size() == 9);
}

TEST_CASE(
    "lower: every example rule set verifies, in both granularities, with nothing left to the "
    "interpreter") {
  std::filesystem::path examples = std::filesystem::path(TRIG_SOURCE_DIR) / "examples";
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(examples)) {
    if (entry.path().filename() != "rules.trig") continue;
    CAPTURE(entry.path().string());
    auto c = compileFile(entry.path());
    for (auto g : {lower::Granularity::PerCondition, lower::Granularity::PerRule}) {
      llvm::LLVMContext ctx;
      lower::LowerOptions o;
      o.granularity = g;
      auto set = lower::lowerToLLVM(c->program, c->model, ctx, o);
      requireValid(*set.module);
      CHECK(set.fallbacks.empty());
      size_t conditions = 0;
      for (const auto& r : c->model.rules) conditions += r.conditions.size() + r.unless.size();
      CHECK(set.entries.size() >= conditions);
    }
    ++files;
  }
  CHECK(files >= 3);
}

TEST_CASE("lower: an expression the lowering cannot take is listed as a fallback, not dropped") {
  ScratchDir dir;
  auto c = compileSeed(dir.path);
  // A `with` binding name inside a rule condition has no value when conditions are evaluated;
  // sema never produces it, so fake the resolution to reach the lowering's refusal.
  const ast::Expr* cond = c->model.rules[1].conditions[0];
  c->model.exprRef[cond->lhs->id].kind = sema::RefKind::Binding;
  c->model.exprRef[cond->lhs->id].name = "x";
  c->program.arena.expr(cond->lhs->id)->kind = ast::ExprKind::Name;
  for (auto g : {lower::Granularity::PerCondition, lower::Granularity::PerRule}) {
    llvm::LLVMContext ctx;
    lower::LowerOptions o;
    o.granularity = g;
    auto set = lower::lowerToLLVM(c->program, c->model, ctx, o);
    requireValid(*set.module);
    REQUIRE(set.fallbacks.size() == 1);
    CHECK(set.fallbacks[0].name == "trig.rule.browse_abandon.when.0");
    CHECK(set.fallbacks[0].exprId == cond->id);
    CHECK(set.fallbacks[0].reason.find("binding") != std::string::npos);
    for (const auto& e : set.entries) CHECK(e.exprId != cond->id);
  }
}

TEST_CASE("lower: a long list literal is one table lookup, its code the same size at any length") {
  // An or-chain of one compare per item made LLVM's passes quadratic in the list's length.
  ScratchDir dir;
  auto instructions = [&](int n) {
    std::string strings, ints;
    for (int i = 0; i < n; ++i) {
      strings += (i ? ", \"p" : "\"p") + std::to_string(i) + "\"";
      ints += (i ? ", " : "") + std::to_string(i * 7);
    }
    auto file = dir.path / "long.trig";
    std::ofstream(file) << "event big { n: int }\ntemplate t { subject \"s\" body \"b\" }\n"
                        << "trigger a: when cart_add and product_id in [" << strings << "] send t\n"
                        << "trigger b: when big and n in [" << ints << "] send t\n";
    auto c = compileFile(file);
    llvm::LLVMContext ctx;
    auto set = lower::lowerToLLVM(c->program, c->model, ctx);
    requireValid(*set.module);
    CHECK(set.fallbacks.empty());
    for (const char* helper : {"trig_abi_in_str", "trig_abi_in_i64"}) {
      const llvm::Function* f = set.module->getFunction(helper);
      REQUIRE(f != nullptr);
      CHECK(f->getNumUses() == 1);
    }
    size_t count = 0;
    for (const llvm::Function& f : *set.module) count += f.getInstructionCount();
    return count;
  };
  CHECK(instructions(5000) == instructions(16));
}

TEST_CASE("lower: the AST dump shows layouts, types, resolutions and entry names") {
  ScratchDir dir;
  auto c = compileSeed(dir.path);
  std::ostringstream out;
  lower::dumpAst(out, c->program, c->model, c->sources);
  std::string d = out.str();
  CHECK(d.find("event cart_add #") != std::string::npos);
  CHECK(d.find("  slot 0: product_id string") != std::string::npos);
  CHECK(d.find("rule browse_abandon (") != std::string::npos);
  CHECK(d.find("trig.rule.browse_abandon.when.0") != std::string::npos);
  CHECK(d.find("count(product_view #") != std::string::npos);
  CHECK(d.find("same (compared in the history, no filter)") != std::string::npos);
  CHECK(d.find("name v.product_id -> anchor field product_id (slot 0) : string") !=
        std::string::npos);
  CHECK(d.find("name purchased -> event purchased since the firing : bool") != std::string::npos);
  CHECK(d.find("last(product_view #") != std::string::npos);
  CHECK(d.find(": string?") != std::string::npos);  // may be absent
  CHECK(d.find("idle 15m (a timer, not compiled)") != std::string::npos);
}
