#pragma once
// The language's vocabulary shared by both halves: the operators, the aggregates and the kinds of
// type. The compiler's AST and sema name them as ast::Op, ast::AggFn and sema::TypeKind; the
// runtime and the value core use them without seeing the AST. Switches over these enums have no
// `default`, so that a new operator or aggregate fails to compile wherever it must be handled.
#include <cstdint>

namespace trig::core {

enum class Op {
  Not,
  Neg,
  And,
  Or,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  In,
  Contains,
  StartsWith,
  Add,
  Sub,
  Mul,
  Div,
};

// What an operator does, for the phases that treat a class of operators alike (type checking,
// constant folding, lowering): one answer, so that a new operator is classed once.
enum class OpClass : uint8_t { Unary, Logical, Comparison, Arithmetic };

constexpr OpClass opClass(Op op) {
  switch (op) {
    case Op::Not:
    case Op::Neg: return OpClass::Unary;
    case Op::And:
    case Op::Or: return OpClass::Logical;
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
    case Op::In:
    case Op::Contains:
    case Op::StartsWith: return OpClass::Comparison;
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div: return OpClass::Arithmetic;
  }
  return OpClass::Unary;  // not reached: every operator is classed above
}
constexpr bool isComparison(Op op) {
  return opClass(op) == OpClass::Comparison;
}
constexpr bool isArithmetic(Op op) {
  return opClass(op) == OpClass::Arithmetic;
}

enum class AggFn { Count, Sum, Min, Max, Avg, Median };

enum class TypeKind : uint8_t { Error, String, Int, Float, Money, Bool, Time, Duration, List };

// "No such index": an event type, field slot, rule or template id that is not there.
constexpr uint32_t kNone = 0xffffffff;

}  // namespace trig::core
