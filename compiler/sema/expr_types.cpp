// Names and types of expressions (section 4 of the design). Every expression gets a type and a
// "may be absent" bit in the model's side tables; names get a Ref; event terms, aggregates and
// `last` get their event and field. An expression whose parts already failed has the Error type
// and reports nothing more, so one mistake gives one diagnostic.
#include <algorithm>

#include "compiler/core/aggregate.h"
#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

const char* article(TypeKind k) {
  return k == TypeKind::Int ? "an" : "a";
}

std::string describe(Type t) {
  if (t.kind == TypeKind::List) return "a list " + typeName(t);
  return std::string(article(t.kind)) + " " + typeName(t) + " value";
}

std::string fieldList(const EventInfo& ev) {
  if (ev.fields.empty()) return "'" + ev.name + "' has no fields";
  std::string s = "the fields of '" + ev.name + "' are ";
  for (size_t i = 0; i < ev.fields.size(); ++i) {
    if (i > 0) s += ", ";
    s += ev.fields[i].name;
  }
  return s;
}

std::vector<std::string> fieldNames(const EventInfo& ev) {
  std::vector<std::string> out;
  for (const auto& f : ev.fields) out.push_back(f.name);
  return out;
}

bool absentable(const FieldInfo& f) {
  return f.optional && f.defaultValue == nullptr;
}

class Checker {
 public:
  explicit Checker(Context& c) : c_(c), m_(c.model) {}

  Typed check(const ast::Expr& e, const Scope& s) {
    Typed t = compute(e, s);
    m_.exprType[e.id] = t.type;
    m_.exprMaybeAbsent[e.id] = t.maybeAbsent ? 1 : 0;
    return t;
  }

  uint32_t eventRef(const ast::EventRef& ref, const Scope& s, const ast::Expr* owner) {
    auto it = m_.eventByName.find(ref.name.text);
    if (it == m_.eventByName.end()) {
      reportUnknownEvent(ref.name);
      return kNone;
    }
    uint32_t ev = it->second;
    m_.eventRefEvent[&ref] = ev;
    if (ref.filter != nullptr) {
      Scope inner = s;
      inner.filterEvent = ev;
      Typed t = check(*ref.filter, inner);
      requireBool(*ref.filter, t, "a filter");
    }
    if (!ref.same.empty()) sameList(ref, ev, s, owner);
    return ev;
  }

 private:
  // ---- diagnostics helpers ----

  void reportUnknownEvent(const ast::Ident& name) {
    c_.unknownEventSeen = true;
    if (c_.unparsedEvents.count(name.text) != 0) return;  // its declaration has a syntax error
    auto b = c_.diags.report(DiagKind::UnknownEvent, name.loc, "unknown event '{}'", name.text);
    if (auto a = m_.eventByAlias.find(name.text); a != m_.eventByAlias.end()) {
      b.help(fmt::format("'{}' is a name events arrive under; rules use the declared name '{}'",
                         name.text, m_.events[a->second].name));
    } else if (auto hint = didYouMean(name.text, c_.eventNames); !hint.empty()) {
      b.help(hint);
    } else {
      b.help(fmt::format("declare it: event {} {{ ... }}", name.text));
    }
  }

  const FieldInfo* fieldOf(uint32_t ev, const ast::Ident& f) {
    const EventInfo& info = m_.events[ev];
    uint32_t i = info.fieldIndex(f.text);
    if (i != kNone) return &info.fields[i];
    auto b = c_.diags.report(DiagKind::UnknownField, f.loc, "event '{}' has no field '{}'",
                             info.name, f.text);
    if (auto hint = didYouMean(f.text, fieldNames(info)); !hint.empty())
      b.help(hint);
    else
      b.help(fieldList(info));
    return nullptr;
  }

  void requireBool(const ast::Expr& e, const Typed& t, const char* what) {
    if (t.type.isError() || t.type.kind == TypeKind::Bool) return;
    c_.diags
        .report(DiagKind::NotBoolean, e.loc,
                "{} must be a condition (true or false), but this is {}", what, describe(t.type))
        .help("compare it with something, e.g. `price > 10` or `category == \"shoes\"`");
  }

  // ---- the anchor's fields ----

  struct AnchorField {
    const FieldInfo* first = nullptr;  // in the first alternative
    bool inAll = true;
    bool sameType = true;
    bool maybeAbsent = false;
    std::string lacking;   // an alternative without the field
    std::string conflict;  // an alternative where its type differs
    Type conflictType;
  };

  AnchorField anchorField(const RuleInfo& r, std::string_view name) {
    AnchorField out;
    for (uint32_t ev : r.anchorEvents) {
      const EventInfo& info = m_.events[ev];
      uint32_t i = info.fieldIndex(name);
      if (i == kNone) {
        out.inAll = false;
        if (out.lacking.empty()) out.lacking = info.name;
        continue;
      }
      const FieldInfo& f = info.fields[i];
      if (out.first == nullptr) {
        out.first = &f;
      } else if (!(f.type == out.first->type)) {
        out.sameType = false;
        if (out.conflict.empty()) {
          out.conflict = info.name;
          out.conflictType = f.type;
        }
      }
      if (absentable(f)) out.maybeAbsent = true;
    }
    return out;
  }

  // Resolves `name` (a field of the anchor) for `e`; reports when it does not resolve to one
  // field of one type. `quiet` leaves "not found anywhere" to the caller.
  Typed anchorFieldRef(const ast::Expr& e, const RuleInfo& r, const ast::Ident& name, bool quiet) {
    AnchorField af = anchorField(r, name.text);
    if (af.first == nullptr) {
      if (!quiet) {
        const EventInfo& info = m_.events[r.anchorEvents.front()];
        auto b = c_.diags.report(DiagKind::UnknownField, name.loc, "event '{}' has no field '{}'",
                                 info.name, name.text);
        if (auto hint = didYouMean(name.text, fieldNames(info)); !hint.empty())
          b.help(hint);
        else
          b.help(fieldList(info));
      }
      return {};
    }
    if (!af.inAll) {
      c_.diags
          .report(DiagKind::UnknownField, name.loc,
                  "'{}' is not a field of every event of the anchor: '{}' has no field '{}'",
                  name.text, af.lacking, name.text)
          .help("a rule with `(A or B)` can only use the fields that A and B share");
      return {};
    }
    if (!af.sameType) {
      c_.diags.report(
          DiagKind::TypeMismatch, name.loc,
          "field '{}' has different types in the anchor's events: {} in '{}' but {} in '{}'",
          name.text, typeName(af.first->type), m_.events[r.anchorEvents.front()].name,
          typeName(af.conflictType), af.conflict);
      return {};
    }
    Ref ref;
    ref.kind = RefKind::AnchorField;
    ref.name = name.text;
    if (r.anchorEvents.size() == 1) {
      ref.event = r.anchorEvents.front();
      ref.field = af.first->slot;
    }
    m_.exprRef[e.id] = ref;
    return {af.first->type, af.maybeAbsent, false};
  }

  Typed eventFieldRef(const ast::Expr& e, uint32_t ev, const ast::Ident& name) {
    const FieldInfo* f = fieldOf(ev, name);
    if (f == nullptr) return {};
    Ref ref;
    ref.kind = RefKind::EventField;
    ref.event = ev;
    ref.field = f->slot;
    ref.name = f->name;
    m_.exprRef[e.id] = ref;
    return {f->type, absentable(*f), false};
  }

  // ---- names ----

  Typed name(const ast::Expr& e, const Scope& s) {
    const auto& path = e.path;
    if (path.empty()) return {};
    std::string dotted;
    for (size_t i = 0; i < path.size(); ++i) dotted += (i ? "." : "") + path[i].text;
    if (s.rule == nullptr) {
      c_.diags.report(DiagKind::UnknownName, e.loc, "'{}' is not a constant", dotted)
          .help("only constants such as 0, 9.99, \"text\", true or 1h can be used here");
      return {};
    }
    const RuleScope& rs = *s.rule;
    if (path.size() > 2) {
      c_.diags.report(DiagKind::UnknownName, e.loc, "'{}' is not a name", dotted)
          .help(
              "write a field (price), the anchor's field (v.price) or a trait (customer.country)");
      return {};
    }
    if (path.size() == 1) return bareName(e, s, rs, path[0]);

    const ast::Ident& head = path[0];
    const ast::Ident& field = path[1];
    bool isAlias = rs.alias != nullptr && rs.alias->text == head.text;
    // Inside E(filter) the innermost scope wins: `E.f` is the filtered E's field.
    if (!isAlias && s.filterEvent != kNone && m_.events[s.filterEvent].name == head.text)
      return eventFieldRef(e, s.filterEvent, field);
    bool isAnchorEvent = false;
    if (rs.rule != nullptr)
      for (uint32_t ev : rs.rule->anchorEvents)
        if (m_.events[ev].name == head.text) isAnchorEvent = true;
    if (isAlias || isAnchorEvent) {
      if (!rs.anchorResolved) return {};
      return anchorFieldRef(e, *rs.rule, field, false);
    }
    if (!rs.anchorResolved && rs.rule != nullptr) {
      // The anchor did not resolve: `head` may well have been meant as it.
      for (const auto* ref : rs.rule->rule->anchor.events)
        if (ref->name.text == head.text) return {};
    }
    if (m_.eventByName.count(head.text) != 0) {
      c_.diags
          .report(DiagKind::UnknownName, head.loc, "'{}' is not this rule's anchor event",
                  head.text)
          .help(fmt::format(
              "use last({}).{} for the latest '{}', or a condition such as {}({} == ...) within 7d",
              head.text, field.text, head.text, head.text, field.text));
      return {};
    }
    std::vector<std::string> heads = c_.eventNames;
    if (rs.alias != nullptr) heads.push_back(rs.alias->text);
    auto b = c_.diags.report(DiagKind::UnknownName, head.loc, "unknown name '{}'", head.text);
    if (auto hint = didYouMean(head.text, heads); !hint.empty())
      b.help(hint);
    else
      b.help("before the dot comes the anchor's alias (`as v`) or its event name");
    return {};
  }

  Typed bareName(const ast::Expr& e, const Scope& s, const RuleScope& rs, const ast::Ident& n) {
    if (s.filterEvent != kNone) return eventFieldRef(e, s.filterEvent, n);
    if (!rs.anchorResolved) return {};
    const RuleInfo& r = *rs.rule;
    AnchorField af = anchorField(r, n.text);
    if (af.first != nullptr) return anchorFieldRef(e, r, n, false);
    if (auto it = m_.eventByName.find(n.text); it != m_.eventByName.end()) {
      Ref ref;
      ref.kind = RefKind::BareEvent;
      ref.event = it->second;
      ref.name = n.text;
      m_.exprRef[e.id] = ref;
      m_.exprEvent[e.id] = it->second;
      return {Type::of(TypeKind::Bool), false, false};
    }
    std::vector<std::string> fields;
    for (uint32_t ev : r.anchorEvents)
      for (const auto& f : m_.events[ev].fields)
        if (std::find(fields.begin(), fields.end(), f.name) == fields.end())
          fields.push_back(f.name);
    const EventInfo& anchor = m_.events[r.anchorEvents.front()];
    if (auto hint = didYouMean(n.text, fields); !hint.empty()) {
      c_.diags
          .report(DiagKind::UnknownField, n.loc, "event '{}' has no field '{}'", anchor.name,
                  n.text)
          .help(hint);
    } else if (auto evHint = didYouMean(n.text, c_.eventNames); !evHint.empty()) {
      c_.diags.report(DiagKind::UnknownEvent, n.loc, "unknown event '{}'", n.text).help(evHint);
    } else {
      c_.diags.report(DiagKind::UnknownName, n.loc, "unknown name '{}'", n.text)
          .help(
              fmt::format("in a rule, bare names are fields of its anchor ({}); profile traits are "
                          "written customer.{}",
                          fieldList(anchor), n.text));
    }
    return {};
  }

  Typed trait(const ast::Expr& e, const Scope& s) {
    if (s.rule == nullptr) {
      c_.diags.report(DiagKind::UnknownName, e.loc, "a trait is not a constant")
          .help("only constants such as 0, 9.99, \"text\", true or 1h can be used here");
      return {};
    }
    uint32_t i = m_.traitIndex(e.field.text);
    if (i == kNone) {
      std::vector<std::string> names;
      for (const auto& t : m_.traits) names.push_back(t.name);
      auto b = c_.diags.report(DiagKind::UnknownTrait, e.field.loc,
                               "the customer profile has no trait '{}'", e.field.text);
      if (auto hint = didYouMean(e.field.text, names); !hint.empty())
        b.help(hint);
      else
        b.help(fmt::format("declare it: customer {{ {}: string }}", e.field.text));
      return {};
    }
    const FieldInfo& t = m_.traits[i];
    Ref ref;
    ref.kind = RefKind::Trait;
    ref.field = t.slot;
    ref.name = t.name;
    m_.exprRef[e.id] = ref;
    return {t.type, absentable(t), false};
  }

  // ---- `same f` ----

  void sameList(const ast::EventRef& ref, uint32_t ev, const Scope& s, const ast::Expr* owner) {
    const RuleScope* rs = s.rule;
    if (rs == nullptr || rs->rule == nullptr) return;
    const auto& anchors = rs->rule->rule->anchor.events;
    if (std::find(anchors.begin(), anchors.end(), &ref) != anchors.end()) {
      c_.diags
          .report(DiagKind::SameMismatch, ref.same.front().loc,
                  "the anchor cannot use 'same': it compares another event with the anchor")
          .help("filter the anchor with a condition instead, e.g. cart_add(quantity > 1)");
      return;
    }
    std::vector<SameInfo> list;
    bool ok = true;
    for (const auto& f : ref.same) {
      const FieldInfo* mine = fieldOf(ev, f);
      if (mine == nullptr) {
        ok = false;
        continue;
      }
      if (!rs->anchorResolved) {
        ok = false;
        continue;
      }
      AnchorField af = anchorField(*rs->rule, f.text);
      const std::string anchorName = m_.events[rs->rule->anchorEvents.front()].name;
      if (af.first == nullptr || !af.inAll) {
        c_.diags
            .report(DiagKind::SameMismatch, f.loc,
                    "'same {}' compares with the anchor, but '{}' has no field '{}'", f.text,
                    af.first == nullptr ? anchorName : af.lacking, f.text)
            .help("`same f` needs the field f in both events");
        ok = false;
        continue;
      }
      bool typeOk = af.sameType && af.first->type == mine->type;
      if (!typeOk) {
        c_.diags
            .report(DiagKind::SameMismatch, f.loc,
                    "'same {}': '{}' is {} in '{}' but {} in the anchor '{}'", f.text, f.text,
                    typeName(mine->type), m_.events[ev].name,
                    af.sameType ? typeName(af.first->type) : "of different types", anchorName)
            .help("`same f` needs the field f with the same type in both events");
        ok = false;
        continue;
      }
      list.push_back(SameInfo{mine->slot, f.text});
    }
    if (!ok) return;
    if (owner != nullptr) m_.exprSame[owner->id] = list;
    m_.eventRefSame[&ref] = std::move(list);
  }

  // ---- operators ----

  // The numeric type two numeric operands combine to, settling flexible constants to the other
  // side's type. Error (reported) for money with float.
  Type numericJoin(const ast::Expr& e, const ast::Expr& le, Typed& l, const ast::Expr& re, Typed& r,
                   const char* what) {
    bool lf = l.flexible, rf = r.flexible;
    if (lf && !rf) {
      Type t = r.type.kind == TypeKind::Money ? r.type : Type::of(TypeKind::Float);
      settleFlexible(c_, le, t);
      l.type = t;
    } else if (rf && !lf) {
      Type t = l.type.kind == TypeKind::Money ? l.type : Type::of(TypeKind::Float);
      settleFlexible(c_, re, t);
      r.type = t;
    }
    TypeKind a = l.type.kind, b = r.type.kind;
    if ((a == TypeKind::Money && b == TypeKind::Float) ||
        (a == TypeKind::Float && b == TypeKind::Money)) {
      c_.diags
          .report(DiagKind::MoneyFloatMix, e.loc,
                  "cannot {} money and float: money is exact, float is not", what)
          .help(
              "write the number as a decimal literal such as 49.99, or declare the field as money");
      return {};
    }
    if (a == TypeKind::Money || b == TypeKind::Money) return Type::of(TypeKind::Money);
    if (a == TypeKind::Float || b == TypeKind::Float) return Type::of(TypeKind::Float);
    return Type::of(TypeKind::Int);
  }

  Typed comparison(const ast::Expr& e, Typed l, Typed r) {
    const Typed boolean{Type::of(TypeKind::Bool), false, false};
    if (l.type.isError() || r.type.isError()) return boolean;
    const char* op = ast::opSpelling(e.op);
    const ast::Expr& le = *e.lhs;
    const ast::Expr& re = *e.rhs;
    auto mismatch = [&](std::string help) {
      auto b =
          c_.diags.report(DiagKind::TypeMismatch, e.loc, "cannot compare {} with {} using '{}'",
                          describe(l.type), describe(r.type), op);
      if (!help.empty()) b.help(std::move(help));
      return Typed{};
    };
    switch (e.op) {
      case ast::Op::In: {
        if (r.type.kind != TypeKind::List) {
          c_.diags
              .report(DiagKind::TypeMismatch, re.loc,
                      "'in' needs a list on its right, but this is {}", describe(r.type))
              .help("write a list such as [\"shoes\", \"bags\"]");
          return {};
        }
        Type elem = Type::of(r.type.elem);
        if (elem.isError()) return boolean;  // `[]`: nothing is in it
        if (l.type.kind == TypeKind::List) return mismatch("'in' tests one value against a list");
        Typed item{elem, false, r.flexible};
        if (l.type.isNumeric() && elem.isNumeric()) {
          if (numericJoin(e, le, l, re, item, "compare").isError()) return {};
          if (r.flexible && !l.flexible) settleFlexible(c_, re, Type::listOf(item.type.kind));
          return boolean;
        }
        if (l.type == elem) return boolean;
        c_.diags.report(DiagKind::TypeMismatch, e.loc,
                        "'in' needs a list of {} values, but this list is {}", typeName(l.type),
                        typeName(r.type));
        return {};
      }
      case ast::Op::Contains:
        if (l.type.kind == TypeKind::List) {
          Type elem = Type::of(l.type.elem);
          if (elem.isError() || elem == r.type || (elem.isNumeric() && r.type.isNumeric()))
            return boolean;
          return mismatch("");
        }
        [[fallthrough]];
      case ast::Op::StartsWith:
        if (l.type.kind == TypeKind::String && r.type.kind == TypeKind::String) return boolean;
        return mismatch(fmt::format("'{}' works on text: both sides must be strings", op));
      default: break;
    }
    if (l.type.isNumeric() && r.type.isNumeric()) {
      if (numericJoin(e, le, l, re, r, "compare").isError()) return {};
      return boolean;
    }
    if (l.type == r.type) {
      switch (l.type.kind) {
        case TypeKind::String:
        case TypeKind::Time:
        case TypeKind::Duration: return boolean;
        case TypeKind::Bool:
          if (e.op == ast::Op::Eq || e.op == ast::Op::Ne) return boolean;
          c_.diags.report(DiagKind::TypeMismatch, e.loc,
                          "true/false values can only be compared with == or !=");
          return {};
        default: return mismatch("lists can be tested with 'in' and 'contains'");
      }
    }
    std::string help;
    if ((l.type.kind == TypeKind::String && r.type.isNumeric()) ||
        (r.type.kind == TypeKind::String && l.type.isNumeric()))
      help =
          "numbers and text never compare equal: quote the number if the field is text, or drop "
          "the quotes";
    return mismatch(help);
  }

  Typed arithmetic(const ast::Expr& e, Typed l, Typed r) {
    if (l.type.isError() || r.type.isError()) return {};
    bool absent = l.maybeAbsent || r.maybeAbsent;
    if (e.op == ast::Op::Div) {
      // Division by zero is absent, unless the divisor is a non-zero literal.
      const ast::Expr& d = *e.rhs;
      bool literalNonZero = (d.kind == ast::ExprKind::IntLit && d.intValue != 0) ||
                            (d.kind == ast::ExprKind::DecimalLit && d.decimalValue.units != 0);
      if (!literalNonZero) absent = true;
    }
    const char* verb = e.op == ast::Op::Add   ? "add"
                       : e.op == ast::Op::Sub ? "subtract"
                       : e.op == ast::Op::Mul ? "multiply"
                                              : "divide";
    TypeKind a = l.type.kind, b = r.type.kind;
    if (l.type.isNumeric() && r.type.isNumeric()) {
      bool constant = (l.flexible || a == TypeKind::Int) && (r.flexible || b == TypeKind::Int) &&
                      isConstant(*e.lhs) && isConstant(*e.rhs);
      Type t = numericJoin(e, *e.lhs, l, *e.rhs, r, "combine");
      if (t.isError()) return {};
      // Whole numbers divide to a fraction: 7 / 2 is 3.5.
      if (e.op == ast::Op::Div && t.kind == TypeKind::Int) t = Type::of(TypeKind::Float);
      return {t, absent, constant && t.kind == TypeKind::Float};
    }
    auto is = [](TypeKind k, TypeKind want) { return k == want; };
    using K = TypeKind;
    switch (e.op) {
      case ast::Op::Add:
        if ((is(a, K::Time) && is(b, K::Duration)) || (is(a, K::Duration) && is(b, K::Time)))
          return {Type::of(K::Time), absent, false};
        if (is(a, K::Duration) && is(b, K::Duration)) return {Type::of(K::Duration), absent, false};
        break;
      case ast::Op::Sub:
        if (is(a, K::Time) && is(b, K::Duration)) return {Type::of(K::Time), absent, false};
        if (is(a, K::Time) && is(b, K::Time)) return {Type::of(K::Duration), absent, false};
        if (is(a, K::Duration) && is(b, K::Duration)) return {Type::of(K::Duration), absent, false};
        break;
      case ast::Op::Mul:
        if ((is(a, K::Duration) && is(b, K::Int)) || (is(a, K::Int) && is(b, K::Duration)))
          return {Type::of(K::Duration), absent, false};
        break;
      case ast::Op::Div:
        if (is(a, K::Duration) && is(b, K::Int)) return {Type::of(K::Duration), absent, false};
        if (is(a, K::Duration) && is(b, K::Duration)) return {Type::of(K::Float), absent, false};
        break;
      default: break;
    }
    c_.diags
        .report(DiagKind::TypeMismatch, e.loc, "cannot {} {} and {}", verb, describe(l.type),
                describe(r.type))
        .help("arithmetic works on numbers, and on a time plus or minus a duration");
    return {};
  }

  Typed list(const ast::Expr& e, const Scope& s) {
    std::vector<Typed> items;
    for (const auto* item : e.items) items.push_back(check(*item, s));
    Type elem;
    bool allConstant = true;
    const Typed* firstTyped = nullptr;
    for (size_t i = 0; i < items.size(); ++i) {
      const Typed& t = items[i];
      if (t.type.isError()) return {};
      if (t.type.kind == TypeKind::List) {
        c_.diags.report(DiagKind::TypeMismatch, e.items[i]->loc, "a list cannot contain lists");
        return {};
      }
      if (!isConstant(*e.items[i])) allConstant = false;
      if (firstTyped == nullptr) {
        firstTyped = &t;
        elem = t.type;
        continue;
      }
      if (elem.isNumeric() && t.type.isNumeric()) {
        bool mix =
            (elem.kind == TypeKind::Money && t.type.kind == TypeKind::Float && !t.flexible) ||
            (elem.kind == TypeKind::Float && t.type.kind == TypeKind::Money &&
             !firstTyped->flexible);
        if (mix) {
          c_.diags.report(DiagKind::MoneyFloatMix, e.items[i]->loc,
                          "a list cannot mix money and float values");
          return {};
        }
        if (t.type.kind == TypeKind::Money ||
            (elem.kind == TypeKind::Int && t.type.kind == TypeKind::Float))
          elem = t.type;
        continue;
      }
      if (!(t.type == elem)) {
        c_.diags.report(DiagKind::TypeMismatch, e.items[i]->loc,
                        "list items must all have one type: this is {}, the first is {}",
                        describe(t.type), describe(elem));
        return {};
      }
    }
    if (items.empty()) return {Type::listOf(TypeKind::Error), false, false};
    Type listType = Type::listOf(elem.kind);
    bool flexible = allConstant && elem.kind == TypeKind::Float;
    if (elem.isNumeric() && !flexible)
      for (size_t i = 0; i < items.size(); ++i)
        if (items[i].flexible) settleFlexible(c_, *e.items[i], elem);
    return {listType, false, flexible};
  }

  Typed aggregate(const ast::Expr& e, const Scope& s) {
    uint32_t ev = eventRef(*e.event, s, &e);
    m_.exprEvent[e.id] = ev;
    if (e.agg == ast::AggFn::Count) return {Type::of(TypeKind::Int), false, false};
    if (ev == kNone) return {};
    const FieldInfo* f = fieldOf(ev, e.field);
    if (f == nullptr) return {};
    m_.exprField[e.id] = f->slot;
    if (!f->type.isNumeric()) {
      c_.diags
          .report(DiagKind::TypeMismatch, e.field.loc, "{} needs a numeric field, but '{}' is {}",
                  core::aggName(e.agg), f->name, describe(f->type))
          .help(
              "sum, min, max, avg and median work on int, float and money fields; count(E) counts "
              "events");
      return {};
    }
    Type t = Type::of(core::aggregateType(e.agg, f->type.kind));
    // Over no events the result is absent.
    return {t, true, false};
  }

  Typed compute(const ast::Expr& e, const Scope& s) {
    using K = ast::ExprKind;
    switch (e.kind) {
      case K::IntLit: return {Type::of(TypeKind::Int), false, false};
      case K::DecimalLit:
      case K::PercentLit: return {Type::of(TypeKind::Float), false, true};
      case K::StringLit: return {Type::of(TypeKind::String), false, false};
      case K::BoolLit: return {Type::of(TypeKind::Bool), false, false};
      case K::DurationLit: return {Type::of(TypeKind::Duration), false, false};
      case K::TimeLit: return {Type::of(TypeKind::Time), false, false};
      case K::List: return list(e, s);
      case K::Name: return name(e, s);
      case K::Trait: return trait(e, s);
      case K::Unary: {
        Typed t = check(*e.lhs, s);
        if (e.op == ast::Op::Not) {
          requireBool(*e.lhs, t, "the operand of 'not'");
          return {Type::of(TypeKind::Bool), false, false};
        }
        if (t.type.isError()) return {};
        if (t.type.isNumeric() || t.type.kind == TypeKind::Duration) return t;
        c_.diags.report(DiagKind::TypeMismatch, e.loc, "cannot negate {}", describe(t.type));
        return {};
      }
      case K::Binary: {
        Typed l = check(*e.lhs, s);
        Typed r = check(*e.rhs, s);
        if (e.op == ast::Op::And || e.op == ast::Op::Or) {
          const char* what = e.op == ast::Op::And ? "each side of 'and'" : "each side of 'or'";
          requireBool(*e.lhs, l, what);
          requireBool(*e.rhs, r, what);
          return {Type::of(TypeKind::Bool), false, false};
        }
        if (core::isComparison(e.op)) return comparison(e, l, r);
        return arithmetic(e, l, r);
      }
      case K::Idle: return {Type::of(TypeKind::Bool), false, false};
      case K::EventTerm: {
        if (s.rule == nullptr) break;
        uint32_t ev = eventRef(*e.event, s, &e);
        m_.exprEvent[e.id] = ev;
        return {Type::of(TypeKind::Bool), false, false};
      }
      case K::Aggregate:
        if (s.rule == nullptr) break;
        return aggregate(e, s);
      case K::Last: {
        if (s.rule == nullptr) break;
        uint32_t ev = eventRef(*e.event, s, &e);
        m_.exprEvent[e.id] = ev;
        if (ev == kNone) return {};
        const FieldInfo* f = fieldOf(ev, e.field);
        if (f == nullptr) return {};
        m_.exprField[e.id] = f->slot;
        // Absent when there was no such event yet.
        return {f->type, true, false};
      }
      case K::Call: {
        if (e.callee.text != "exists") {
          c_.diags.report(DiagKind::UnknownName, e.callee.loc, "unknown function '{}'",
                          e.callee.text);
          return {};
        }
        if (e.items.size() != 1) {
          c_.diags.report(DiagKind::TypeMismatch, e.loc, "exists takes one value")
              .help("for example: exists(price) or exists(customer.first_name)");
          return {};
        }
        check(*e.items[0], s);
        return {Type::of(TypeKind::Bool), false, false};
      }
      case K::Error: return {};
    }
    c_.diags.report(DiagKind::UnknownName, e.loc, "an event condition is not a constant")
        .help("only constants such as 0, 9.99, \"text\", true or 1h can be used here");
    return {};
  }

  Context& c_;
  Model& m_;
};

}  // namespace

Typed checkExpr(Context& c, const ast::Expr& e, const Scope& scope) {
  return Checker(c).check(e, scope);
}

uint32_t checkEventRef(Context& c, const ast::EventRef& ref, const Scope& scope,
                       const ast::Expr* owner) {
  return Checker(c).eventRef(ref, scope, owner);
}

void settleFlexible(Context& c, const ast::Expr& e, Type target) {
  Model& m = c.model;
  if (target.kind == TypeKind::List) {
    if (e.kind != ast::ExprKind::List) return;
    for (const auto* item : e.items) settleFlexible(c, *item, Type::of(target.elem));
    if (m.exprType[e.id].kind == TypeKind::List && m.exprType[e.id].elem == TypeKind::Float)
      m.exprType[e.id] = target;
    return;
  }
  if (target.kind != TypeKind::Money && target.kind != TypeKind::Float) return;
  // Only the parts typed float are flexible; whole numbers inside stay int.
  if (m.exprType[e.id].kind != TypeKind::Float) return;
  switch (e.kind) {
    case ast::ExprKind::Unary: settleFlexible(c, *e.lhs, target); break;
    case ast::ExprKind::Binary:
      settleFlexible(c, *e.lhs, target);
      settleFlexible(c, *e.rhs, target);
      break;
    default: break;
  }
  m.exprType[e.id] = target;
}

bool assignable(Type have, bool flexible, Type want) {
  if (have == want) return true;
  auto scalar = [](TypeKind h, bool flex, TypeKind w) {
    if (h == w) return true;
    if (w == TypeKind::Money) return h == TypeKind::Int || (h == TypeKind::Float && flex);
    if (w == TypeKind::Float) return h == TypeKind::Int;
    return false;
  };
  if (want.kind == TypeKind::List) {
    if (have.kind != TypeKind::List) return false;
    return have.elem == TypeKind::Error || scalar(have.elem, flexible, want.elem);
  }
  return scalar(have.kind, flexible, want.kind);
}

bool isConstant(const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::IntLit:
    case ast::ExprKind::DecimalLit:
    case ast::ExprKind::StringLit:
    case ast::ExprKind::BoolLit:
    case ast::ExprKind::DurationLit:
    case ast::ExprKind::PercentLit:
    case ast::ExprKind::TimeLit: return true;
    case ast::ExprKind::List:
      return std::all_of(e.items.begin(), e.items.end(),
                         [](const ast::Expr* i) { return isConstant(*i); });
    case ast::ExprKind::Unary: return e.op == ast::Op::Neg && isConstant(*e.lhs);
    case ast::ExprKind::Binary:
      return core::isArithmetic(e.op) && isConstant(*e.lhs) && isConstant(*e.rhs);
    default: return false;
  }
}

Type resolveTypeRef(Context& c, const ast::TypeRef& t) {
  static const std::vector<std::pair<std::string, TypeKind>> kTypes = {
      {"string", TypeKind::String},    {"int", TypeKind::Int},   {"float", TypeKind::Float},
      {"money", TypeKind::Money},      {"bool", TypeKind::Bool}, {"time", TypeKind::Time},
      {"duration", TypeKind::Duration}};
  // Names people reach for from other languages.
  static const std::vector<std::pair<std::string, std::string>> kSynonyms = {
      {"text", "string"},   {"str", "string"},    {"integer", "int"},  {"number", "int or float"},
      {"double", "float"},  {"decimal", "money"}, {"boolean", "bool"}, {"timestamp", "time"},
      {"datetime", "time"}, {"date", "time"}};
  if (t.name.empty()) return {};
  for (const auto& [n, k] : kTypes)
    if (n == t.name) return t.isList ? Type::listOf(k) : Type::of(k);
  std::vector<std::string> names;
  for (const auto& [n, k] : kTypes) names.push_back(n);
  auto b = c.diags.report(DiagKind::UnknownType, t.loc, "unknown type '{}'", t.name);
  std::string hint = didYouMean(t.name, names);
  for (const auto& [word, meant] : kSynonyms)
    if (word == t.name) hint = "did you mean '" + meant + "'?";
  b.help(hint.empty()
             ? "the types are string, int, float, money, bool, time, duration and [T] for a list"
             : hint);
  return {};
}

}  // namespace trig::sema::detail
