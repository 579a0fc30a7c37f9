#pragma once
// Lowering: a checked program (AST + sema::Model) -> one LLVM module for the whole rule set.
//
// Every rule condition becomes an extern "C" function over the flat layout of runtime/abi/abi.h,
// with a stable symbol name:
//   trig.rule.R.when.N          the N-th `and` term of rule R (0-based, `idle` excluded)
//   trig.rule.R.unless.N        the N-th rule-level `unless` condition (the condition itself;
//                               the runtime negates it)
//   trig.rule.R.step.S.unless.N the N-th `unless` of step S (1-based, steps numbered in source
//                               order, a split's variant steps included)
//   trig.rule.R.step.S.with.B   the value of the `with B = ...` binding of step S
//   trig.rule.R.filter.N        the N-th `E(filter)` / `E(same f)` of rule R, in source order
// Predicates are `uint8_t (abi::Ctx*)`, filters `uint8_t (abi::Ctx*, const Value*, uint64_t)`,
// values `uint8_t (abi::Ctx*, abi::Scalar*, const Value**)` (see abi.h).
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

// One compiled function and the expression it stands for.
struct Entry {
  uint32_t exprId = 0;
  std::string symbol;
  EntryKind kind = EntryKind::Predicate;
  sema::Type type;              // the expression's type (Value entries: the kind they return)
  uint32_t rule = sema::kNone;  // index in Model::rules
  uint32_t event = sema::kNone; // Filter entries: the event type the filter tests
};

// An expression left to the interpreter.
struct Fallback {
  uint32_t exprId = 0;
  std::string symbol;
  std::string reason;
  Loc loc;
};

struct LoweredRuleSet {
  std::unique_ptr<llvm::Module> module;
  std::vector<Entry> entries;       // in source order of the rules
  std::vector<Fallback> fallbacks;  // in source order of the rules
  uint32_t scratchSlots = 0;        // Values the ctx must provide for `last(E).f`
};

// Lowers every rule of `model` into a module named `moduleName` in `context`. The module has no
// target triple or data layout yet: the JIT sets them for the machine it compiles for.
LoweredRuleSet lowerToLLVM(const ast::Program& program, const sema::Model& model,
                           llvm::LLVMContext& context, const std::string& moduleName = "trig.rules");

}  // namespace trig::lower
