#pragma once
// What semantic analysis knows about a program: the declared events (with a flat field layout),
// customer traits, templates, settings and rules, plus side tables indexed by ast::Expr::id with
// each expression's type and what each name refers to. The AST is never mutated; everything the
// later phases (interpreter, lowering, runtime) need to know about names and types is here.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/core/kinds.h"

namespace trig::sema {

using TypeKind = core::TypeKind;

struct Type {
  TypeKind kind = TypeKind::Error;
  TypeKind elem = TypeKind::Error;  // element type when kind == List

  static Type of(TypeKind k) { return Type{k, TypeKind::Error}; }
  static Type listOf(TypeKind k) { return Type{TypeKind::List, k}; }
  bool isError() const { return kind == TypeKind::Error; }
  bool isNumeric() const {
    return kind == TypeKind::Int || kind == TypeKind::Float || kind == TypeKind::Money;
  }
  friend bool operator==(const Type&, const Type&) = default;
};
// "string", "money", "[int]", "<error>".
std::string typeName(Type t);
std::string typeKindName(TypeKind k);

constexpr uint32_t kNone = core::kNone;

struct FieldInfo {
  std::string name;
  Type type;
  bool optional = false;  // `?`: may be absent
  const ast::Expr* defaultValue = nullptr;
  std::vector<std::string> aliases;  // `from "name"`: keys that fill it, after its own name
  uint32_t slot = 0;                 // index in the event's (or profile's) flat layout
  Loc loc;
};

struct EventInfo {
  uint32_t index = 0;  // dense, in declaration order (prelude first)
  std::string name;
  bool passive = false;
  bool stdlib = false;
  std::vector<std::string> aliases;  // `from "External Name"`
  std::vector<FieldInfo> fields;     // slot == position
  const ast::EventDecl* decl = nullptr;
  // Whether any rule mentions it (anchors, terms, goals; the unused-event lint). What the
  // runtime keeps of it is the rule plan's retention (compiler/plan/plan.h).
  bool usedByRules = false;

  uint32_t fieldIndex(std::string_view n) const {
    for (uint32_t i = 0; i < fields.size(); ++i)
      if (fields[i].name == n) return i;
    return kNone;
  }
};

struct TemplateInfo {
  std::string name;
  std::optional<ast::TemplateText> subject;
  std::optional<ast::TemplateText> body;
  bool html = false;                        // body came from a .html file: values are HTML-escaped
  const ast::TemplateDecl* decl = nullptr;  // null for templates/NAME.txt|html files
  std::string path;                         // the file the template came from, if any
  Loc loc;
};

// What a template variable resolves to at one `send` (section 7), decided once by sema so that the
// runtime renders without looking anything up by name.
struct VarSource {
  enum class Kind : uint8_t { None, Binding, AnchorField, Trait };
  Kind kind = Kind::None;
  uint32_t index = kNone;  // Binding: the send's binding; Trait: the trait's slot
  // AnchorField: (anchor event type, its slot of the field) for each alternative of the anchor
  // that has the field.
  std::vector<std::pair<uint32_t, uint32_t>> anchorSlots;
};
struct SendInfo {
  uint32_t templateIndex = kNone;
  std::vector<VarSource> vars;  // by ast::Placeholder::index of the template's placeholders
};

struct Settings {
  DurationMs arbitration = 0;
  struct Cap {
    int64_t count;
    DurationMs per;
  };
  std::optional<Cap> cap;
  struct Quiet {
    int startMinute;  // minutes after midnight, local time
    int endMinute;    // start > end crosses midnight
  };
  std::optional<Quiet> quietHours;
  DurationMs dedup = 0;                // 0: content dedup off
  std::optional<DurationMs> cooldown;  // `cooldown D`: no repeat of a template within D
  // `undeclared_events ignore`: an event of an undeclared name is as if it never arrived
  // (`activity`, the default: it counts as activity and cancels `idle` waits).
  bool ignoreUndeclared = false;
  DurationMs awaitEmail = 0;  // `await_email D`: a send due without an address waits up to D
};

// What a name (ExprKind::Name or Trait) in an expression refers to.
enum class RefKind : uint8_t {
  None,         // unresolved (an error was reported)
  AnchorField,  // a field of the rule's anchor event (bare, via alias or event name)
  EventField,   // inside `E(filter)`: a field of the E being filtered
  Trait,        // `customer.x`
  Binding,      // a `with` binding name (templates only)
  BareEvent,    // a bare event name used as a condition (`unless purchased`, steps only)
};

struct Ref {
  RefKind kind = RefKind::None;
  uint32_t event = kNone;  // EventField, BareEvent: the event; AnchorField: kNone when the
                           // anchor has alternatives (look the field up by name)
  uint32_t field = kNone;  // the field's slot (trait slot for Trait)
  std::string name;        // the field or trait name
};

// `same f` inside E(...): E's field `eventField` equals the anchor's field `anchorField`.
struct SameInfo {
  uint32_t eventField;
  std::string anchorField;
};

struct RuleInfo {
  const ast::Rule* rule = nullptr;
  std::string name;
  uint32_t order = 0;                  // declaration order: prelude, imports depth-first, files
  std::vector<uint32_t> anchorEvents;  // event indices of the anchor (alternatives)
  std::optional<DurationMs> idle;      // `idle D` term, if any
  std::vector<const ast::Expr*> conditions;  // the `and` terms other than `idle`
  std::vector<const ast::Expr*> unless;      // rule-level `unless` conditions (each negated)
  int64_t priority = 0;                      // `priority N` (0 when absent)
  const ast::Expr* priorityExpr = nullptr;   // `priority EXPR`, evaluated at each firing
  std::optional<uint32_t> goalEvent;
  DurationMs goalWithin = 0;
};

struct Model {
  std::vector<EventInfo> events;
  std::unordered_map<std::string, uint32_t> eventByName;   // declared names
  std::unordered_map<std::string, uint32_t> eventByAlias;  // `from` aliases
  std::vector<FieldInfo> traits;                           // customer profile layout
  std::vector<TemplateInfo> templates;
  std::unordered_map<std::string, uint32_t> templateByName;
  Settings settings;
  std::vector<RuleInfo> rules;  // in declaration order
  std::vector<const ast::TestDecl*> tests;
  std::vector<SendInfo> sends;  // by ast::Step::id; filled for the sends of templates that exist

  // Side tables indexed by ast::Expr::id (sized to the arena's expression count).
  std::vector<Type> exprType;
  std::vector<uint8_t> exprMaybeAbsent;  // 1 when the value may be absent at run time
  std::vector<Ref> exprRef;              // Name, Trait
  std::vector<uint32_t> exprEvent;       // EventTerm, Aggregate, Last: the event index
  std::vector<uint32_t> exprField;       // Aggregate (not Count), Last: the field slot
  std::unordered_map<uint32_t, std::vector<SameInfo>> exprSame;      // EventTerm/Aggregate/Last ids
  std::unordered_map<const ast::EventRef*, uint32_t> eventRefEvent;  // anchors, goals, terms
  std::unordered_map<const ast::EventRef*, std::vector<SameInfo>> eventRefSame;

  uint32_t traitIndex(std::string_view n) const {
    for (uint32_t i = 0; i < traits.size(); ++i)
      if (traits[i].name == n) return i;
    return kNone;
  }
  const EventInfo* findEvent(std::string_view nameOrAlias) const;
};

}  // namespace trig::sema
