// `test` blocks (section 10): the events, traits, templates, rules, splits and variants a test
// names exist (suppression reasons are the runtime's and checked when the test runs);
// properties are declared fields (or traits, for `customer` and `identify`) holding constants of
// the declared type; required properties are given; the first event has an absolute time.
#include <algorithm>
#include <map>

#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

class TestCheck {
 public:
  explicit TestCheck(Context& c) : c_(c), m_(c.model) {
    for (const auto& r : m_.rules) ruleNames_.push_back(r.name);
    for (const auto& t : m_.traits) traitNames_.push_back(t.name);
    for (const auto& r : m_.rules)
      if (r.rule != nullptr)
        forEachStep(r.rule->steps, [&](const ast::Step& s) {
          for (const auto& v : s.variants) variantNames_.push_back(v.name.text);
        });
  }

  void test(const ast::TestDecl& t) {
    bool firstEvent = true;
    for (const auto& st : t.stmts) {
      switch (st.kind) {
        case ast::TestStmtKind::Customer: traitProps(st.props); break;
        case ast::TestStmtKind::Event:
          event(st, firstEvent);
          firstEvent = false;
          break;
        case ast::TestStmtKind::ExpectSend:
        case ast::TestStmtKind::ExpectSuppressed: expectation(st); break;
        case ast::TestStmtKind::ExpectNoSend:
          expectation(st);
          if (st.atLoc.valid())
            c_.diags.report(DiagKind::BadTest, st.atLoc, "`expect no send` takes no `at`")
                .help(
                    "it means no such send at any time; to expect a send at one time, write "
                    "`expect send ... at`");
          break;
        case ast::TestStmtKind::Pin: pin(st); break;
      }
    }
  }

 private:
  void event(const ast::TestStmt& st, bool first) {
    if (first && !st.atAbsolute) {
      c_.diags.report(DiagKind::BadTest, st.loc, "the first event of a test needs an absolute time")
          .help(
              "for example: at 2026-01-01T10:00:00Z cart_add \"c1\" { ... }; later events may use "
              "at +20m");
    }
    if (st.atRelative && nonPositiveAsWritten(c_, *st.atRelative)) {
      c_.diags
          .report(DiagKind::NonPositiveDuration, st.atRelative->loc,
                  "a relative time must be later than +0s")
          .help("to stamp two events at one instant, give both the same absolute time");
    }
    if (st.event.text == "identify") {
      traitProps(st.props);
      return;
    }
    auto it = m_.eventByName.find(st.event.text);
    if (it == m_.eventByName.end()) {
      if (c_.unparsedEvents.count(st.event.text) != 0) return;
      auto b = c_.diags.report(DiagKind::UnknownEvent, st.event.loc, "unknown event '{}'",
                               st.event.text);
      if (auto hint = didYouMean(st.event.text, c_.eventNames); !hint.empty())
        b.help(hint);
      else
        b.help("a test event is a declared event, or identify to set traits");
      return;
    }
    const EventInfo& ev = m_.events[it->second];
    std::map<std::string, Loc> given;
    for (const auto& p : st.props) {
      uint32_t i = ev.fieldIndex(p.name.text);
      if (i == kNone) {
        std::vector<std::string> names;
        for (const auto& f : ev.fields) names.push_back(f.name);
        auto b = c_.diags.report(DiagKind::UnknownField, p.name.loc, "event '{}' has no field '{}'",
                                 ev.name, p.name.text);
        if (auto hint = didYouMean(p.name.text, names); !hint.empty()) b.help(hint);
        continue;
      }
      if (!unique(given, p)) continue;
      value(p, ev.fields[i], fmt::format("field '{}' of '{}'", p.name.text, ev.name));
    }
    for (const auto& f : ev.fields) {
      if (f.optional || f.defaultValue != nullptr || given.count(f.name) != 0) continue;
      c_.diags
          .report(DiagKind::BadTest, st.event.loc, "this '{}' lacks its required property '{}'",
                  ev.name, f.name)
          .help(fmt::format("add it: {{ {}: ... }} (the runtime would reject the event)", f.name));
    }
  }

  void traitProps(const std::vector<ast::Prop>& props) {
    std::map<std::string, Loc> given;
    for (const auto& p : props) {
      uint32_t i = m_.traitIndex(p.name.text);
      if (i == kNone) {
        auto b = c_.diags.report(DiagKind::UnknownTrait, p.name.loc,
                                 "the customer profile has no trait '{}'", p.name.text);
        if (auto hint = didYouMean(p.name.text, traitNames_); !hint.empty())
          b.help(hint);
        else
          b.help(fmt::format("declare it: customer {{ {}: {} }}", p.name.text,
                             declarableType(p.value)));
        continue;
      }
      if (!unique(given, p)) continue;
      value(p, m_.traits[i], fmt::format("trait '{}'", p.name.text));
    }
  }

  // The type to declare for an undeclared trait given `value` in a test: the value's own type.
  std::string declarableType(const ast::Expr* value) {
    if (value == nullptr || !isConstant(*value)) return "string";
    Typed t = checkExpr(c_, *value, Scope{});
    if (t.type.isError() || (t.type.kind == TypeKind::List && t.type.elem == TypeKind::Error))
      return "string";
    return typeName(t.type);
  }

  bool unique(std::map<std::string, Loc>& given, const ast::Prop& p) {
    auto [it, fresh] = given.emplace(p.name.text, p.name.loc);
    if (!fresh)
      c_.diags.report(DiagKind::DuplicateDecl, p.name.loc, "'{}' is already given", p.name.text)
          .note(it->second, "previously given here");
    return fresh;
  }

  // `what`: "field 'price' of 'cart_add'" or "trait 'email'".
  void value(const ast::Prop& p, const FieldInfo& f, const std::string& what) {
    if (p.value == nullptr) return;
    if (!isConstant(*p.value)) {
      c_.diags.report(DiagKind::BadTest, p.value->loc, "a test value must be a constant")
          .help("write a value such as \"p1\", 49.99, 3, true or 1h");
      return;
    }
    Typed t = checkExpr(c_, *p.value, Scope{});
    if (t.type.isError() || f.type.isError()) return;
    if (!assignable(t.type, t.flexible, f.type)) {
      c_.diags.report(DiagKind::BadTest, p.value->loc, "{} is {}, but this value is {}", what,
                      typeName(f.type), typeName(t.type));
      return;
    }
    settleFlexible(c_, *p.value, f.type);
  }

  // `pin "ID" R.SPLIT VARIANT`: the rule, its split and the split's variant exist.
  void pin(const ast::TestStmt& st) {
    if (!st.fromRule || !st.variant || !knownRule(*st.fromRule)) return;
    auto rule = std::find_if(m_.rules.begin(), m_.rules.end(),
                             [&](const RuleInfo& r) { return r.name == st.fromRule->text; });
    if (rule == m_.rules.end() || rule->rule == nullptr) return;
    const ast::Step* split = nullptr;
    std::vector<std::string> splits;
    forEachStep(rule->rule->steps, [&](const ast::Step& s) {
      if (s.action != ast::ActionKind::Split) return;
      splits.push_back(s.splitName.text);
      if (s.splitName.text == st.split.text) split = &s;
    });
    if (split == nullptr) {
      auto b = c_.diags.report(DiagKind::BadTest, st.split.loc, "rule '{}' has no split '{}'",
                               rule->name, st.split.text);
      if (auto hint = didYouMean(st.split.text, splits); !hint.empty())
        b.help(hint);
      else if (splits.empty())
        b.help(fmt::format("rule '{}' has no split at all", rule->name));
      return;
    }
    std::vector<std::string> variants;
    for (const auto& v : split->variants) variants.push_back(v.name.text);
    if (std::find(variants.begin(), variants.end(), st.variant->text) != variants.end()) return;
    auto b = c_.diags.report(DiagKind::BadTest, st.variant->loc,
                             "split '{}' of rule '{}' has no variant '{}'", st.split.text,
                             rule->name, st.variant->text);
    if (auto hint = didYouMean(st.variant->text, variants); !hint.empty()) b.help(hint);
  }

  // Whether rule `r` exists; reports it when not.
  bool knownRule(const ast::Ident& r) {
    if (std::find(ruleNames_.begin(), ruleNames_.end(), r.text) != ruleNames_.end()) return true;
    if (c_.unparsedRules.count(r.text) != 0) return false;
    auto b = c_.diags.report(DiagKind::UnknownRule, r.loc, "unknown rule '{}'", r.text);
    if (auto hint = didYouMean(r.text, ruleNames_); !hint.empty())
      b.help(hint);
    else
      b.help("a rule is named by `trigger NAME:`, or after its first template when it has no name");
    return false;
  }

  void expectation(const ast::TestStmt& st) {
    const ast::Ident& name = st.templateName;
    if (!name.text.empty() && findTemplate(c_, name.text, name.loc) == kNone &&
        c_.unparsedTemplates.count(name.text) == 0) {
      auto b =
          c_.diags.report(DiagKind::UnknownTemplate, name.loc, "unknown template '{}'", name.text);
      if (auto hint = didYouMean(name.text, c_.templateNames); !hint.empty()) b.help(hint);
    }
    if (st.fromRule) knownRule(*st.fromRule);
    if (st.count && *st.count < 0)
      c_.diags.report(DiagKind::BadTest, st.loc, "`count` must be 0 or more");
    if (st.variant && std::find(variantNames_.begin(), variantNames_.end(), st.variant->text) ==
                          variantNames_.end()) {
      auto b = c_.diags.report(DiagKind::BadTest, st.variant->loc, "no split has a variant '{}'",
                               st.variant->text);
      if (auto hint = didYouMean(st.variant->text, variantNames_); !hint.empty()) b.help(hint);
    }
  }

  Context& c_;
  Model& m_;
  std::vector<std::string> ruleNames_;
  std::vector<std::string> traitNames_;
  std::vector<std::string> variantNames_;
};

}  // namespace

void checkTests(Context& c) {
  TestCheck check(c);
  std::map<std::string, Loc> names;
  for (const auto& file : c.program.files) {
    for (const ast::TestDecl* t : file.tests) {
      c.model.tests.push_back(t);
      auto [it, fresh] = names.emplace(t->name.value, t->name.loc);
      if (!fresh)
        c.diags
            .report(DiagKind::DuplicateDecl, t->name.loc, "a test named \"{}\" is already declared",
                    t->name.value)
            .note(it->second, "previous declaration is here");
      check.test(*t);
    }
  }
}

}  // namespace trig::sema::detail
