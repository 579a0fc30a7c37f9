#include "compiler/ast/ast.h"

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

}  // namespace trig::ast
