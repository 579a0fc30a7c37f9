#include "compiler/ast/ast.h"

#include <string_view>

namespace trig::ast {

const char* opSpelling(Op op) {
  switch (op) {
    case Op::Not: return "not";
    case Op::Neg: return "-";
    case Op::And: return "and";
    case Op::Or: return "or";
    case Op::Eq: return "==";
    case Op::Ne: return "!=";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
    case Op::In: return "in";
    case Op::Contains: return "contains";
    case Op::StartsWith: return "starts_with";
    case Op::Add: return "+";
    case Op::Sub: return "-";
    case Op::Mul: return "*";
    case Op::Div: return "/";
  }
  return "?";
}

const char* aggSpelling(AggFn fn) {
  switch (fn) {
    case AggFn::Count: return "count";
    case AggFn::Sum: return "sum";
    case AggFn::Min: return "min";
    case AggFn::Max: return "max";
    case AggFn::Avg: return "avg";
    case AggFn::Median: return "median";
  }
  return "?";
}

std::optional<AggFn> aggNamed(std::string_view name) {
  // Every AggFn has a spelling; the first value past the last one spells "?".
  for (int i = 0; std::string_view(aggSpelling(static_cast<AggFn>(i))) != "?"; ++i)
    if (name == aggSpelling(static_cast<AggFn>(i))) return static_cast<AggFn>(i);
  return std::nullopt;
}

}  // namespace trig::ast
