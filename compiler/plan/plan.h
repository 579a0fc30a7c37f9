#pragma once
// The rule plan: what the runtime needs of a checked program, computed once after sema
// (docs/architecture.md, "The rule plan"). The runtime includes the plan, the value core and the
// ABI, never the AST or sema: this header is data and functions over data, and reaches nothing of
// the front end; the plan is built from a checked program by compiler/plan/build.h, which only
// the compiler's side (cli/, compiler/, bench/) and tests include.
//
// It holds what each event type's history must keep (retention), how an event finds the rules it
// anchors (with the filters' index keys) and the goals it converts, every `same` list resolved to
// slots, and per rule its conditions by expression id and its steps as one flat array with their
// templates and placeholders resolved: the engine walks nothing of the AST and looks up no name
// while it processes events.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/core/evaluator.h"
#include "compiler/core/pin.h"
#include "compiler/core/value.h"
#include "compiler/plan/ingest.h"
#include "compiler/source/source.h"
#include "compiler/support/decimal.h"
#include "compiler/support/time.h"

namespace trig::plan {

// How much of one event type's history the rules can ever ask about: the longest window over it
// (`within`, `count/sum/...`, a goal), whether `last(E)` needs the newest one at any age (or all
// of them when `last` has a filter, since the newest match can be arbitrarily old), and whether
// a condition without a window asks "since the rule fired". Event types nothing looks back at are
// not stored at all, and of the stored ones only the fields some expression reads.
struct Retention {
  DurationMs window = 0;     // keep events stamped in [now - window, now]
  bool keepLast = false;     // and the newest one, at any age
  bool keepAll = false;      // and every one (`last(E(filter))`)
  bool sinceFiring = false;  // and those since the oldest firing of an active flow
  // The field slots anything can read of a remembered event of this type (filters, `same`,
  // `sum(E.f)`, `last(E).f`), ascending; the others are not kept. `fields` is the type's row
  // length, for rebuilding an Event with the others absent.
  std::vector<uint32_t> slots;
  uint32_t fields = 0;
  bool stored() const { return window > 0 || keepLast || keepAll || sinceFiring; }
};

// Built from a checked program by plan::buildRetention (build.h).
class RetentionPlan {
 public:
  const Retention& of(uint32_t type) const {
    static const Retention kNothing;
    return type < types_.size() ? types_[type] : kNothing;
  }
  bool anySinceFiring() const { return anySinceFiring_; }
  // A plan of the given retentions (their slots sorted and made unique): the builder's result,
  // and tests of the history.
  static RetentionPlan of(std::vector<Retention> types);

 private:
  std::vector<Retention> types_;
  bool anySinceFiring_ = false;
};

// How events of one type find their rules, resolved once (the hot path of every event does no
// look-up by name or by pointer). A rule's references to the type are its AnchorRefs; a ref's
// `filter` indexes `filters` (all of the type's anchor filters, tested at once by
// Evaluator::testSome on those the runtime's FilterIndex lets through), kPasses when the ref has
// neither a filter nor a `same` list, kGeneral when it needs the engine's general match.
constexpr int32_t kPasses = -1, kGeneral = -2;
constexpr int32_t kSeveral = -3;           // AnchorRule::only of a rule with several refs
constexpr uint32_t kNoOwner = 0xffffffff;  // EventPlan::filterOwner of a shared filter
// How to tell whether an event matches an event reference with `same` fields and a filter, for a
// given anchor: each `same f` as the matched event's slot and the anchor's slot, by the anchor's
// event type (a rule anchored on `A or B` finds f in either), so that nothing is looked up by name
// while events are processed.
struct SamePair {
  uint32_t eventSlot = core::kNone;
  std::vector<std::pair<uint32_t, uint32_t>> anchorSlots;  // (anchor event type, its slot of f)
};
struct RefMatch {
  ExprId filter = core::kNone;  // the ref's filter (kNone: none), for Evaluator::test
  std::vector<SamePair> same;
};
struct AnchorRef {
  Loc filterLoc;  // the ref's filter, for the trace of one that did not hold (invalid: none)
  int32_t filter;
  RefMatch match;  // for kGeneral: the anchor is the event itself
};
struct AnchorRule {
  uint32_t rule;
  int32_t only;  // the filter of the rule's one ref to the type, or kSeveral: see refs
  std::vector<AnchorRef> refs;
};
struct EventPlan {
  std::vector<AnchorRule> anchors;                 // the rules it anchors, in declaration order
  std::vector<ExprId> filters;                     // their anchor filters
  std::vector<std::vector<core::Pin>> filterPins;  // by filter: its index keys (sema::pinsOf)
  // By filter: the position in `anchors` of the rule whose one ref has it (kNoOwner for filters
  // of rules with several refs); and the positions of the rules that are anchors whatever the
  // filters say or that need the general match. An event visits only these and the owners of
  // the filters that held.
  std::vector<uint32_t> filterOwner;
  std::vector<uint32_t> unfiltered;
  std::vector<uint32_t> goalRules;  // the rules whose goal it is, in declaration order
  // Whether an anchor filter of the type may read the customer (a trait, or the history: an
  // event term, an aggregate, `last`): the engine looks the customer up before testing them only
  // then (Engine::Impl::needsCustomer). True when in doubt.
  bool filtersReadCustomer = false;
};

// ---- What the delivery policy and the customer state read of the program, as values ----------
// (the runtime's policies and profile read no sema::Settings, sema::TraitInfo or ast::Variant)

// `quiet_hours HH:MM-HH:MM`: minutes after midnight, local time; start > end crosses midnight,
// start == end is empty.
struct QuietHours {
  int startMinute = 0;
  int endMinute = 0;
};

// The declared traits of a profile, by slot (sema's trait slots).
struct Traits {
  std::vector<std::string> names;
  std::vector<Value> defaults;  // by slot: the declared default (`subscribed: bool = true`)
  // The slot of a declared trait, core::kNone for an undeclared name (an identify may send any).
  uint32_t slot(std::string_view name) const {
    for (uint32_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    return core::kNone;
  }
  size_t size() const { return names.size(); }
};

// A split step's arms in declared order: its name, and each variant's name and percentage.
struct SplitArms {
  std::string name;
  std::vector<std::string> variants;
  std::vector<Decimal> percents;
};

// ---- Templates as the runtime renders them ------------------------------------------------------

// A `{{ path }}` placeholder: which variable of its send it is (sema::SendInfo::vars is indexed by
// `index`, subject first, then body), its name as written for messages, its default text.
struct Placeholder {
  uint32_t index = 0;
  std::string name;  // "product_name", "customer.first_name"
  std::optional<std::string> defaultText;
  Loc loc;  // the whole `{{ ... }}`
};
struct TemplatePiece {
  bool isPlaceholder = false;
  std::string text;  // literal text when !isPlaceholder
  Placeholder placeholder;
};
struct TemplateText {
  std::vector<TemplatePiece> pieces;
};
struct Template {
  std::string name;
  std::string path;  // the file it was read from ("" for one written in a .trig file)
  std::optional<TemplateText> subject;
  std::optional<TemplateText> body;
  bool html = false;  // the body came from a .html file: values are HTML-escaped
};

// ---- What records print of the program ---------------------------------------------------------

// Source locations as records print them ("rules.trig:12:5"): each file's path and line starts,
// copied from the compilation's sources, so that a record writer needs nothing of them.
struct SourceMap {
  std::vector<std::string> paths;                 // by FileId
  std::vector<std::vector<uint32_t>> lineStarts;  // by FileId: the offset each line starts at
  std::vector<uint32_t> sizes;                    // by FileId: the text's length
  static SourceMap of(const SourceManager& sources);
  // "rules.trig:12:5" (line and byte column, 1-based, as SourceFile::lineCol counts them), or ""
  // for an invalid location.
  std::string format(Loc loc) const;
};
// The same text straight from the sources (`trig explain`, `trig test --coverage`).
std::string formatLoc(Loc loc, const SourceManager& sources);

// ---- Rules and their steps, by index -----------------------------------------------------------

// A condition of a rule or a step: its expression, where it is, and for `trig explain`'s "left
// side ..., right side ..." the sides of a comparison (kNone for any other condition).
struct Condition {
  ExprId id = core::kNone;
  Loc loc;
  ExprId lhs = core::kNone;
  ExprId rhs = core::kNone;
};

// Where the value of a send's template variable comes from (sema decided it: nothing is looked
// up by name when the template is rendered). By Placeholder::index.
struct SendVar {
  enum class Kind : uint8_t { None, Binding, AnchorField, Trait };
  Kind kind = Kind::None;
  uint32_t index = core::kNone;  // Binding: the send's binding; Trait: the trait's slot
  // AnchorField: (anchor event type, its slot of the field) for each alternative of the anchor
  // that has the field.
  std::vector<std::pair<uint32_t, uint32_t>> anchorSlots;
};

// A list of steps: [first, end) of Plan::steps (a rule's steps, or a split variant's).
struct StepRange {
  uint32_t first = 0;
  uint32_t end = 0;
  bool empty() const { return first >= end; }
  uint32_t size() const { return end - first; }
};

struct Variant {
  std::string name;
  Loc loc;
  bool holdout = false;  // a control group: sent nothing from here
  StepRange steps;
};

// One step of a flow: a send (its template resolved, its bindings by expression id and its
// template's variables resolved) or a split (its arms and its variants' steps).
struct Step {
  enum class Kind : uint8_t { Send, Split };
  Kind kind = Kind::Send;
  std::optional<DurationMs> after;
  std::vector<Condition> unless;
  Loc loc;
  uint32_t id = 0;  // the step's ast::Step::id: `trig test --coverage` and reports key steps by it
  // Send
  std::string templateName;              // as written
  uint32_t templateIndex = core::kNone;  // Plan::templates (kNone: no such template)
  std::vector<ExprId> bindings;          // `with` values, in order
  std::vector<SendVar> vars;             // by Placeholder::index of its template
  // Split
  SplitArms arms;                 // its name, and each variant's name and percentage
  std::vector<Variant> variants;  // in declared order
};

struct Rule {
  std::string name;
  std::optional<std::string> title;  // `title "..."`
  Loc loc;
  uint32_t order = 0;  // declaration order: prelude, imports depth-first, files
  std::optional<DurationMs> idle;
  std::vector<Condition> conditions;  // the `and` terms other than `idle`
  std::vector<Condition> unless;      // rule-level `unless` conditions
  int64_t priority = 0;               // `priority N`
  ExprId priorityExpr = core::kNone;  // `priority EXPR`, evaluated at each firing
  bool hasGoal = false;
  uint32_t goalEvent = core::kNone;  // the goal's event type
  DurationMs goalWithin = 0;
  Loc goalLoc;
  struct Limit {
    int64_t count = 0;
    DurationMs per = 0;
    Loc loc;
  };
  std::optional<Limit> limit;  // `limit N per D`
  StepRange steps;
};

// The settings as the engine and its policies read them.
struct Settings {
  DurationMs arbitration = 0;
  struct Cap {
    int64_t count = 0;
    DurationMs per = 0;
  };
  std::optional<Cap> cap;
  DurationMs dedup = 0;
  std::optional<DurationMs> cooldown;
  bool ignoreUndeclared = false;
  DurationMs awaitEmail = 0;
};

// What traces and records say of an event type, and the event types and traits the engine gives
// a meaning of its own (kNone: not declared).
struct EventName {
  std::string name;
  bool passive = false;
};
struct WellKnown {
  uint32_t traitEmail = core::kNone;
  uint32_t traitSubscribed = core::kNone;
  uint32_t traitTimezone = core::kNone;
  uint32_t unsubscribeEvent = core::kNone;
  uint32_t bounceEvent = core::kNone;
  uint32_t bounceKindSlot = core::kNone;  // `email_bounce`'s `kind` field
};

struct Plan {
  RetentionPlan retention;
  std::vector<EventPlan> events;  // by event type
  std::vector<RefMatch> goals;    // by rule: how its goal event matches (empty for no goal)
  // The delivery policy's and the profile's data (see above).
  std::optional<QuietHours> quietHours;
  Traits traits;
  std::vector<std::string> ruleNames;  // by rule index
  std::vector<Template> templates;     // by template index (sema::SendInfo::templateIndex)
  std::vector<Rule> rules;             // by rule index
  std::vector<Step> steps;             // every rule's steps, each list contiguous (StepRange)
  Settings settings;
  std::vector<EventName> eventNames;  // by event type
  WellKnown known;
};

// A checked program as the runtime takes it from the command that compiled it (`trig serve`,
// `trig report`): the rule plan, the ingest plan (the decoder's) and the source map (the record
// writer's), built once by plan::buildProgram (build.h). The evaluator comes beside it.
struct Program {
  Plan plan;
  IngestPlan ingest;
  SourceMap sources;
};

}  // namespace trig::plan
