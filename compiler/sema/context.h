#pragma once
// What the passes of semantic analysis share (internal to compiler/sema). Each pass is one free
// function in its own file; `analyze` (sema.cpp) runs them in order over one Context:
//
//   declare -> settings -> resolveRules -> checkForms -> checkSplits -> checkTemplates
//           -> checkTests -> computeRetention -> lint
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/sema/model.h"
#include "compiler/source/source.h"

namespace trig::sema::detail {

struct Context {
  Context(const ast::Program& p, SourceManager& s, DiagEngine& d, Model& m)
      : program(p), sources(s), diags(d), model(m) {}

  const ast::Program& program;
  SourceManager& sources;
  DiagEngine& diags;
  Model& model;

  // Filled by declare.
  std::vector<std::string> eventNames;     // declared event names, declaration order (did-you-mean)
  std::vector<std::string> templateNames;  // declared template names
  std::vector<Loc> templateDeclLoc;        // by template index (invalid for template files)
  // Names of declarations that did not parse: their uses are not reported as unknown.
  std::set<std::string> unparsedEvents, unparsedTemplates, unparsedRules;
  // Whether some event or template reference did not resolve: the "unused" lints stay quiet
  // then, since the misspelt reference was probably meant for the "unused" declaration.
  bool unknownEventSeen = false;
  bool unknownTemplateSeen = false;
  // Filled by resolveRules: whether every event of a rule's anchor resolved (by rule index).
  // When it did not, names that would be anchor fields are left unresolved without a cascade.
  std::vector<uint8_t> anchorResolved;
  // Filled by checkTemplates: templates some `send` names (by template index).
  std::vector<uint8_t> templateSent;
  std::vector<uint32_t> placeholderCount;  // by template index, once numbered (checkTemplates)
};

// The scope a name is resolved in.
struct RuleScope {
  const RuleInfo* rule = nullptr;
  bool anchorResolved = false;
  const ast::Ident* alias = nullptr;  // `as v`
};

struct Scope {
  const RuleScope* rule = nullptr;  // null: no names at all (defaults, test values)
  uint32_t filterEvent = kNone;     // inside `E(filter)`: bare names are E's fields
};

// An expression's type as the checker sees it. `flexible`: a constant built from decimal or
// percent literals (`49.99`, `10.5 + 2`) whose type follows the other side of an operator.
struct Typed {
  Type type;
  bool maybeAbsent = false;
  bool flexible = false;
};

// ---- expr_types.cpp: names and types of one expression, recorded in the model's side tables.
Typed checkExpr(Context& c, const ast::Expr& e, const Scope& scope);
// Resolves an event reference (its name, filter and `same` list) and records it in
// eventRefEvent/eventRefSame (and exprSame for `owner`, when given). kNone when unknown.
uint32_t checkEventRef(Context& c, const ast::EventRef& ref, const Scope& scope,
                       const ast::Expr* owner);
// Gives a flexible constant the numeric type its context wants (money for a money field).
void settleFlexible(Context& c, const ast::Expr& e, Type target);
// Whether a value of type `have` may be stored where `want` is declared (`int` into `money`).
bool assignable(Type have, bool flexible, Type want);
// Whether `e` is built only from literals (defaults and test values must be).
bool isConstant(const ast::Expr& e);
// The type named by a declaration (`money`, `[string]`); reports unknown types.
Type resolveTypeRef(Context& c, const ast::TypeRef& t);

// ---- template_files.cpp: the template `name` as declared, or loaded from
// `templates/NAME.txt|.html` beside the file of `usedAt`. kNone when it is neither, or when that
// file is too large (reported at `usedAt`; `name` is then in unparsedTemplates).
uint32_t findTemplate(Context& c, const std::string& name, Loc usedAt);
// Reads a file relative to the directory of `nearFile` into the SourceManager. Returns kNoFile
// when it cannot be read; `tooLarge` says whether that is because it holds more than
// kMaxSourceBytes.
FileId loadBeside(Context& c, FileId nearFile, const std::string& relative, bool& tooLarge);

// ---- the passes, in the order analyze runs them.
void declare(Context& c);          // declare.cpp: events, traits, templates, rule table
void declareSettings(Context& c);  // settings.cpp
void resolveRules(Context& c);     // resolve_rules.cpp: anchors, conditions, steps, RuleInfo
void checkForms(Context& c);       // forms.cpp: windows, idle, durations, limit
void checkSplits(Context& c);      // splits.cpp: percentages, variant names
void checkTemplates(Context& c);   // templates.cpp: sends and template variables
void checkTests(Context& c);       // test_blocks.cpp
void markUses(Context& c);         // uses.cpp: usedByRules
void lint(Context& c);             // lint.cpp: warnings

// ---- small shared helpers (sema.cpp)
// "did you mean 'x'?" for the closest candidate, or an empty string.
std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates);
// Whether a duration not longer than 0s was written so (`0s`): the parser leaves a duration it
// reported (beyond 100 years) at 0, and that one must not be reported again.
bool nonPositiveAsWritten(const Context& c, const ast::Duration& d);
// Where to point at a rule: its name when it has one, else its `when`.
Loc ruleLoc(const ast::Rule& r);
// Calls f(step) for every step of a rule, including the steps inside split variants.
template <typename F>
void forEachStep(const std::vector<ast::Step>& steps, F&& f) {
  for (const auto& s : steps) {
    f(s);
    for (const auto& v : s.variants) forEachStep(v.steps, f);
  }
}

}  // namespace trig::sema::detail
