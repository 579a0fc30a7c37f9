#pragma once
// A rule's firing condition as Z3 terms (docs/review.md, "The encoding"). Values shared by two
// rules on one event for one customer have one name: the anchor's fields (`a.<event>.<field>`),
// the customer's traits (`customer.<trait>`), and a history term of the same text evaluated at
// the same delay after the anchor. History terms are unknowns with the constraints that hold for
// every history: counts are >= 0, a wider window counts at least as many, and the anchor itself
// counts in a window that reaches back to it when it matches the term's event and filter.
#include <z3++.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/core/pin.h"
#include "compiler/driver/driver.h"

namespace trig::review {

// One conjunct of a rule's firing condition, tracked so that an unsat core can name it.
struct Term {
  enum class Kind { Filter, When, Unless, Self };
  Kind kind;
  z3::expr holds;  // the conjunct (for Unless: the negation of the `unless` condition)
  Loc loc;
  const ast::Expr* expr = nullptr;  // null for Self
  bool exact = true;                // no part of it was over-approximated (an unknown value)
};

// A history unknown: a count (or another aggregate's value) of one event/filter/window.
struct HistoryVar {
  std::string family;  // what it counts, apart from the window
  DurationMs window = 0;
  z3::expr var;
  bool isCount = true;
  // Its value when the history holds only the anchor (the witness' history): 1 or 0 for a count.
  z3::expr onlyAnchor;
};

// The firing condition of one rule for one of its anchor event types.
struct Encoded {
  const sema::RuleInfo* rule = nullptr;
  uint32_t anchorEvent = 0;
  std::vector<Term> terms;  // in source order: anchor filter, `and` terms, `unless`s, Self last
  std::vector<HistoryVar> history;
  bool exact = true;     // false when some term was over-approximated (an unknown value)
  bool strings = false;  // uses Z3's string theory (asked of a solver of its own)
  // What the anchor filter's exactly encoded terms pin the anchor's fields to (sema::pinsOf):
  // the encoding implies each, so two rules with disjoint pins on one field never fire together.
  std::vector<core::Pin> pins;
};

class Encoder {
 public:
  // Looks through the rules for the fields and traits that meet `starts_with` or `contains`:
  // only those are Z3 strings (its string theory costs a millisecond a query); the other strings
  // are compared for equality alone, and are integers: one code per distinct literal.
  Encoder(z3::context& z, const Compilation& c);

  Encoded encode(const sema::RuleInfo& ri, uint32_t anchorEvent);

  // The constraints every history satisfies, over the union of the given rules' unknowns.
  std::vector<z3::expr> axioms(const std::vector<const Encoded*>& rules) const;

  // Names of the anchor's field and presence variables, of traits (for reading a model).
  std::string anchorVar(uint32_t event, const std::string& field) const;
  std::string traitVar(const std::string& trait) const { return "customer." + trait; }
  z3::expr var(const std::string& name, core::TypeKind kind);
  // A string field or trait of that name: a Z3 string, or an integer code.
  bool theoryString(const std::string& field) const { return theory_.count(field) != 0; }
  // A string variable's value in a model, as text; empty optional when it cannot be told.
  std::optional<std::string> decode(const z3::expr& value) const;
  z3::expr presence(const std::string& name, bool optional);
  // Whether a rule read the variable of that name.
  bool has(const std::string& name) const { return vars_.count(name) != 0; }

 private:
  struct Val {
    z3::expr present;
    z3::expr v;
    bool coded = false;  // a string as an integer code
  };
  struct Scope {
    const sema::RuleInfo* rule;
    uint32_t anchorEvent;
    bool subjectIsAnchor;  // inside a filter evaluated on the anchor itself
    Encoded* out;
  };

  z3::expr cond(const ast::Expr& e, const Scope& s);
  Val value(const ast::Expr& e, const Scope& s);
  Val fresh(const ast::Expr& e, const Scope& s);
  Val field(const sema::FieldInfo& f, const std::string& name);
  z3::expr code(const std::string& text);
  // Both sides of an (in)equality in one sort: a literal beside a coded string becomes its code.
  bool harmonize(Val& a, Val& b, const ast::Expr* aExpr, const ast::Expr* bExpr);
  void markTheory(const ast::Expr* e);
  Val history(const ast::Expr& e, const Scope& s);
  z3::expr filterOnAnchor(const ast::EventRef& ref, const Scope& s);
  std::string text(Loc loc) const;

  z3::context& z_;
  const Compilation& c_;
  std::map<std::string, z3::expr> vars_;
  std::set<std::string> theory_;              // field and trait names that need Z3 strings
  std::map<std::string, int64_t> codes_;      // string literal -> its code
  std::map<int64_t, std::string> literalOf_;  // and back
};

// Splits a condition into the terms of its top-level `and` chain.
void conjuncts(const ast::Expr& e, std::vector<const ast::Expr*>& out);

}  // namespace trig::review
