#pragma once
// trig's own AST. The parser (compiler/parse/) builds it from the ANTLR parse tree, which never
// leaves that folder. Nodes are plain structs owned by an AstArena (stable addresses); every
// expression has a dense id so later passes keep their results in side tables indexed by it
// (sema's types and resolutions, the lowering's symbols) instead of mutating the tree.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/core/kinds.h"
#include "compiler/source/source.h"
#include "compiler/support/decimal.h"
#include "compiler/support/time.h"

namespace trig::ast {

struct Ident {
  std::string text;
  Loc loc;
};

// A string literal; `value` has escapes decoded.
struct StringLit {
  std::string value;
  Loc loc;
};

// A template text: literal pieces and `{{ path | default "text" }}` placeholders.
struct Placeholder {
  std::vector<Ident> path;  // `product_name`, or `customer` `first_name`
  std::optional<std::string> defaultText;
  Loc loc;  // the whole `{{ ... }}`
  // Its position among its template's placeholders, subject first, then body (numbered by sema:
  // sema::SendInfo::vars is indexed by it).
  uint32_t index = 0;
};
struct TemplatePiece {
  bool isPlaceholder = false;
  std::string text;  // literal text when !isPlaceholder
  Placeholder placeholder;
};
struct TemplateText {
  std::vector<TemplatePiece> pieces;
  Loc loc;
};

struct Duration {
  DurationMs ms = 0;
  Loc loc;
};

// ---- Types as written -------------------------------------------------------------------------

struct TypeRef {
  std::string name;  // "string", "int", ... (sema resolves; unknown names are diagnosed there)
  bool isList = false;
  Loc loc;
};

// ---- Expressions ------------------------------------------------------------------------------

enum class ExprKind {
  IntLit,       // intValue
  DecimalLit,   // decimalValue (text in `text`)
  StringLit,    // text (decoded)
  BoolLit,      // boolValue
  DurationLit,  // intValue = ms
  PercentLit,   // decimalValue
  TimeLit,      // intValue = TimeMs
  List,         // items
  Name,         // path: `product_id`, `v.product_id`, `cart_add.price`, or a bare event name
  Trait,        // field = `customer.<field>`
  Unary,        // op (Not, Neg), lhs
  Binary,       // op, lhs, rhs
  Idle,         // window = idle duration
  EventTerm,    // event (with optional filter), window (absent = "since the rule fired")
  Aggregate,    // agg, event, field (not for Count), window
  Last,         // event, field
  Call,         // callee(args): `exists(x)`; sema rejects other callees
  Error,        // a placeholder where the parser recovered; sema skips it silently
};

using Op = core::Op;
const char* opSpelling(Op op);

using AggFn = core::AggFn;

struct Expr;

// `E`, `E(filter)` or `E(same a, same b)`.
struct EventRef {
  Ident name;
  std::vector<Ident> same;  // `same f` list (empty when a filter expression is used)
  Expr* filter = nullptr;   // bare names inside are E's fields
  Loc loc;
};

struct Expr {
  uint32_t id = 0;  // dense, unique within an AstArena
  ExprKind kind = ExprKind::Error;
  Loc loc;

  int64_t intValue = 0;
  bool boolValue = false;
  Decimal decimalValue;
  std::string text;

  std::vector<Ident> path;   // Name
  Ident field;               // Trait, Aggregate, Last
  Ident callee;              // Call
  std::vector<Expr*> items;  // List, Call arguments

  Op op = Op::Not;
  Expr* lhs = nullptr;
  Expr* rhs = nullptr;

  AggFn agg = AggFn::Count;
  EventRef* event = nullptr;
  std::optional<Duration> window;
};

// ---- Declarations -----------------------------------------------------------------------------

struct FieldDecl {
  Ident name;
  bool optional = false;
  TypeRef type;
  Expr* defaultValue = nullptr;
  std::vector<StringLit> aliases;  // `from "name"`: other property keys that fill the field
  Loc loc;
};

struct EventDecl {
  Ident name;
  bool passive = false;
  std::vector<StringLit> aliases;  // `from "External Name"`
  std::vector<FieldDecl> fields;
  Loc loc;
};

struct CustomerDecl {
  std::vector<FieldDecl> fields;
  Loc loc;
};

struct TemplateDecl {
  Ident name;
  std::optional<TemplateText> subject;
  std::optional<TemplateText> body;
  std::optional<StringLit> bodyFile;  // `body file "path"` (sema loads and parses it)
  Loc loc;
};

enum class SettingArgKind { Int, Decimal, Duration, TimeRange, TimeOfDay, Per, String, Word, Bad };
struct SettingArg {
  SettingArgKind kind;
  std::string text;  // the token as written
  Loc loc;
};
struct SettingDecl {
  Ident name;
  std::vector<SettingArg> args;
  Loc loc;
};
struct SettingsDecl {
  std::vector<SettingDecl> settings;
  Loc loc;
};

struct Binding {
  Ident name;
  Expr* value = nullptr;
};

struct Step;
struct Variant {
  Decimal percent;
  Loc percentLoc;
  Ident name;
  bool holdout = false;  // `holdout`: a control group, sent nothing from here (no steps)
  std::vector<Step> steps;
  Loc loc;
};

enum class ActionKind { Send, Split };
struct Step {
  std::optional<Duration> after;
  std::vector<Expr*> unless;
  ActionKind action = ActionKind::Send;
  Ident templateName;             // Send
  std::vector<Binding> bindings;  // Send
  Ident splitName;                // Split
  std::vector<Variant> variants;  // Split
  Loc loc;
  uint32_t id = 0;  // dense, unique within an AstArena (sema::Model::sends is indexed by it)
};

struct Anchor {
  std::vector<EventRef*> events;  // one, or the alternatives of `(A or B)`
  std::optional<Ident> alias;     // `as v`
  Loc loc;
};

struct Rule {
  Ident name;  // explicit, or the first template sent in source order
  bool anonymous = false;
  std::optional<StringLit> title;
  Anchor anchor;
  std::vector<Expr*> terms;         // `and` terms (idle among them)
  std::vector<Expr*> unless;        // rule-level `unless` conditions
  std::optional<int64_t> priority;  // `priority N`: a whole number written as such
  Expr* priorityExpr = nullptr;     // `priority EXPR` when it is not (`1 + cart_value / 100`)
  Loc priorityLoc;
  struct Limit {
    int64_t count;
    Duration per;
    Loc loc;
  };
  std::optional<Limit> limit;
  struct Goal {
    EventRef* event;
    Duration within;
    Loc loc;
  };
  std::optional<Goal> goal;
  std::vector<Step> steps;
  Loc loc;
};

// ---- Tests ------------------------------------------------------------------------------------

struct Prop {
  Ident name;
  Expr* value = nullptr;
};

enum class TestStmtKind { Customer, Event, ExpectSend, ExpectNoSend, ExpectSuppressed, Pin };
struct TestStmt {
  TestStmtKind kind;
  StringLit customer;        // Customer, Event, Pin, and `to` of expectations (may be empty)
  bool hasCustomer = false;  // expectations: whether `to` was given
  Ident event;               // Event: event name (or `identify`)
  std::optional<TimeMs> atAbsolute;    // Event: `at 2026-...`
  std::optional<Duration> atRelative;  // Event: `at +20m`
  std::vector<Prop> props;             // Customer traits, Event properties
  Ident templateName;                  // expectations
  std::optional<Ident> fromRule;       // expectations: `from R`; Pin: the rule
  std::optional<TimeMs> expectAt;      // ExpectSend: `at T`
  Loc atLoc;                           // ExpectSend, ExpectNoSend: the `at` keyword, when given
  std::optional<Ident> variant;        // ExpectSend: `variant V`; Pin: the variant
  std::optional<StringLit> subject;    // ExpectSend: `subject "S"`
  std::optional<int64_t> count;        // ExpectSend: `count N` (exactly N such sends)
  Ident reason;                        // ExpectSuppressed: `because REASON`
  Ident split;                         // Pin: the split of `R.SPLIT`
  Loc loc;
};

struct TestDecl {
  StringLit name;
  std::vector<TestStmt> stmts;
  Loc loc;
};

struct ImportDecl {
  StringLit path;
  Loc loc;
};

// One parsed file. Declarations keep their kinds apart but `order` records the source order.
struct File {
  FileId id = kNoFile;
  bool isStdlib = false;
  std::vector<ImportDecl> imports;
  std::vector<EventDecl*> events;
  std::vector<CustomerDecl*> customers;
  std::vector<TemplateDecl*> templates;
  std::vector<SettingsDecl*> settings;
  std::vector<Rule*> rules;
  std::vector<TestDecl*> tests;
  // Declarations that did not parse (an error was reported): their keyword (`event`, `template`,
  // `trigger`) and name, so that later passes stay silent about uses of those names instead of
  // calling them unknown.
  struct Unparsed {
    std::string keyword;
    std::string name;
  };
  std::vector<Unparsed> unparsed;
  // `# trig: allow KIND[, KIND]` comments: on their own line they silence those lint kinds for
  // the declaration on the next line; after code, for the declaration that line starts.
  struct LintAllow {
    uint32_t line = 0;  // 1-based
    bool ownLine = false;
    std::vector<Ident> kinds;
  };
  std::vector<LintAllow> lintAllows;
};

// Owns every node of a program (all its files). Addresses are stable.
class AstArena {
 public:
  Expr* newExpr(ExprKind kind, Loc loc) {
    Expr& e = exprs_.emplace_back();
    e.id = static_cast<uint32_t>(exprs_.size() - 1);
    e.kind = kind;
    e.loc = loc;
    return &e;
  }
  template <typename T>
  T* make() {
    return &storage<T>().emplace_back();
  }
  size_t exprCount() const { return exprs_.size(); }
  uint32_t newStepId() { return steps_++; }
  uint32_t stepCount() const { return steps_; }
  Expr* expr(uint32_t id) { return &exprs_[id]; }

 private:
  template <typename T>
  std::deque<T>& storage();

  std::deque<Expr> exprs_;
  uint32_t steps_ = 0;
  std::deque<EventRef> eventRefs_;
  std::deque<EventDecl> events_;
  std::deque<CustomerDecl> customers_;
  std::deque<TemplateDecl> templates_;
  std::deque<SettingsDecl> settings_;
  std::deque<Rule> rules_;
  std::deque<TestDecl> tests_;
};

template <>
inline std::deque<EventRef>& AstArena::storage() {
  return eventRefs_;
}
template <>
inline std::deque<EventDecl>& AstArena::storage() {
  return events_;
}
template <>
inline std::deque<CustomerDecl>& AstArena::storage() {
  return customers_;
}
template <>
inline std::deque<TemplateDecl>& AstArena::storage() {
  return templates_;
}
template <>
inline std::deque<SettingsDecl>& AstArena::storage() {
  return settings_;
}
template <>
inline std::deque<Rule>& AstArena::storage() {
  return rules_;
}
template <>
inline std::deque<TestDecl>& AstArena::storage() {
  return tests_;
}

// A whole program: the prelude first, then imports depth-first, then the named files, each once.
// That order is the declaration order the runtime's tie-breaks use.
struct Program {
  AstArena arena;
  std::vector<File> files;
};

}  // namespace trig::ast
