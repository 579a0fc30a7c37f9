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

enum class AggFn { Count, Sum, Min, Max, Avg, Median };

enum class TypeKind : uint8_t { Error, String, Int, Float, Money, Bool, Time, Duration, List };

// "No such index": an event type, field slot, rule or template id that is not there.
constexpr uint32_t kNone = 0xffffffff;

}  // namespace trig::core
