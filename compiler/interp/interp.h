#pragma once
// The reference evaluator: walks the AST with sema's side tables (types, name resolutions, event
// and field indices) and computes what a condition or expression means for one customer at one
// instant. It is the executable meaning of section 4 of the language; the JIT must agree with it.
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "compiler/interp/eval.h"

namespace trig::interp {

class Interpreter final : public AstEvaluator {
 public:
  // The model must outlive the interpreter.
  explicit Interpreter(const sema::Model& model) : model_(model) {}

  bool test(const ast::Expr& cond, const EvalEnv& env) override;
  Value value(const ast::Expr& e, const EvalEnv& env) override;
  // By id: any expression of the model's rules (an id of no rule's expression holds nothing and
  // has no value).
  bool test(ExprId cond, const EvalEnv& env) override;
  Value value(ExprId e, const EvalEnv& env) override;

 private:
  // Whether `ev` (an event of the term's type) passes the term's `same` list and filter.
  bool matches(const ast::Expr& term, const Event& ev, const EvalEnv& env);
  // The [from, to] range an event term, aggregate or last() looks at.
  static void range(const ast::Expr& e, const EvalEnv& env, TimeMs& from, TimeMs& to);
  // Calls `f` for each event the term selects (type, window, `same`, filter), oldest first.
  void forEachMatch(const ast::Expr& e, const EvalEnv& env,
                    const std::function<bool(const Event&)>& f);
  bool anyMatch(const ast::Expr& e, const EvalEnv& env);
  Value aggregate(const ast::Expr& e, const EvalEnv& env);
  Value last(const ast::Expr& e, const EvalEnv& env);
  Value name(const ast::Expr& e, const EvalEnv& env);
  Value literal(const ast::Expr& e);
  uint32_t eventOf(const ast::Expr& e) const;
  uint32_t fieldOf(const ast::Expr& e, uint32_t event) const;
  sema::TypeKind typeOf(const ast::Expr& e) const;
  // A list literal of literals, built once (by expression id), with a set of its strings when
  // it is long; null for any other list.
  struct ConstantList {
    Value value;
    bool indexed = false;
    std::unordered_set<std::string> strings;
  };
  const ConstantList* constantList(const ast::Expr& e);

  const ast::Expr* expr(ExprId id);

  const sema::Model& model_;
  std::unordered_map<uint32_t, ConstantList> constantLists_;
  std::vector<const ast::Expr*> byId_;  // every expression of the rules, by id (on first use)
};

// A field of the anchor by name (rules whose anchor has alternatives look fields up by name).
Value anchorField(const sema::Model& model, const Event* anchor, uint32_t event, uint32_t slot,
                  const std::string& name);

}  // namespace trig::interp
