#pragma once
// Lowering: a checked program (AST + sema::Model) -> one LLVM module for the whole rule set.
//
// Every rule condition becomes an entry: code over the flat layout of runtime/abi/abi.h with a
// stable name:
//   trig.rule.R.when.N          the N-th `and` term of rule R (0-based, `idle` excluded)
//   trig.rule.R.unless.N        the N-th rule-level `unless` condition (the condition itself;
//                               the runtime negates it)
//   trig.rule.R.step.S.unless.N the N-th `unless` of the step at position S of the flow (1-based;
//                               a split is a step, its variants' steps continue the count and
//                               are named under the split and variant: R.delay.fast.step.2...)
//   trig.rule.R.step.S.with.B   the value of the `with B = ...` binding of step S
//   trig.rule.R.filter.N        the N-th `E(filter)` / `E(same f)` of rule R, in source order
//                               (but see comparesSameInHistory: those get no filter)
// Every entry has the signature of abi::EntryFn. With per-condition granularity (the default,
// what `--emit llvm` shows and the -O2 tier compiles) each entry is an extern "C" function of
// that name; with per-rule granularity (the fast tier: a fraction of the functions, so far less
// per-function code generation) each rule is one function `trig.rule.R` and its entries are the
// cases of a switch on the `which` argument.
//
// The lowering is total over what sema accepts; should an expression still use a form it cannot
// lower, that one function is left out and listed in `fallbacks` with the reason, so the JIT
// evaluator hands it to the interpreter and `trig compile` can say so.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/sema/model.h"

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace trig::lower {

enum class EntryKind : uint8_t { Predicate, Filter, Value };

// One compiled entry and the expression it stands for.
struct Entry {
  uint32_t exprId = 0;
  std::string name;    // trig.rule.R.when.0
  std::string symbol;  // the function that holds it (== name per condition; trig.rule.R per rule)
  uint32_t which = 0;  // its case in that function
  EntryKind kind = EntryKind::Predicate;
  sema::Type type;               // the expression's type (Value entries: the kind they return)
  uint32_t rule = sema::kNone;   // index in Model::rules
  uint32_t event = sema::kNone;  // Filter entries: the event type the filter tests
  uint32_t scratchBase = 0;      // where this entry's module's `last` slots start (set by the JIT)
};

// An expression left to the interpreter.
struct Fallback {
  uint32_t exprId = 0;
  std::string name;  // the entry it would have been
  std::string reason;
  Loc loc;
};

struct LoweredRuleSet {
  std::unique_ptr<llvm::Module> module;
  std::vector<Entry> entries;       // in source order of the rules
  std::vector<Fallback> fallbacks;  // in source order of the rules
  uint32_t scratchSlots = 0;        // Values the ctx must provide for `last(E).f` (from 0)
};

enum class Granularity : uint8_t { PerCondition, PerRule };

struct LowerOptions {
  Granularity granularity = Granularity::PerCondition;
  std::string moduleName = "trig.rules";
  // Read a String Value's bytes in place at these offsets inside its std::string (see
  // abi::stringLayout) instead of calling trig_abi_str_view.
  bool inlineStrings = false;
  uint64_t stringDataOffset = 0;
  uint64_t stringSizeOffset = 0;
  // Lower only Model::rules[firstRule, endRule) (the JIT compiles large rule sets in chunks).
  uint32_t firstRule = 0;
  uint32_t endRule = UINT32_MAX;
};

// Whether `e` is an event term or a count whose whole filter is one `same f` (`E(same f) within
// 7d`, `count(E(same f))`): lowered to trig_abi_count_equal, which lets the history compare its
// stored field with the anchor's, with no filter entry called per remembered event.
bool comparesSameInHistory(const ast::Expr& e, const sema::Model& model);

// Lowers every rule of `model` into one module in `context`. The module has no target triple or
// data layout yet: the JIT sets them for the machine it compiles for.
LoweredRuleSet lowerToLLVM(const ast::Program& program, const sema::Model& model,
                           llvm::LLVMContext& context, const LowerOptions& options = {});

}  // namespace trig::lower
