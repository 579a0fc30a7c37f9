// Sends and template variables (section 7). Every `send X` must name a declared template or a
// `templates/X.txt|html` file beside the rule file. A template is checked against every send of
// it: each `{{ var }}` resolves to a `with` binding of that send, else a field of the rule's
// anchor (in every alternative), else `customer.x`; a variable that resolves to nothing, or may
// be absent without a `| default`, is an error at the variable with a note at the send.
// What each variable resolves to is recorded for the runtime (Model::sends).
#include <algorithm>

#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

struct Resolution {
  bool resolved = false;
  bool maybeAbsent = false;
  std::string why;  // why it may be absent
  VarSource source;
};

// Numbers a template's placeholders, subject first, then body (ast::Placeholder::index).
uint32_t numberPlaceholders(TemplateInfo& t) {
  uint32_t n = 0;
  for (auto* text : {t.subject ? &*t.subject : nullptr, t.body ? &*t.body : nullptr}) {
    if (text == nullptr) continue;
    for (auto& piece : text->pieces)
      if (piece.isPlaceholder) piece.placeholder.index = n++;
  }
  return n;
}

class TemplateCheck {
 public:
  TemplateCheck(Context& c, const RuleInfo& rule, bool anchorResolved)
      : c_(c), m_(c.model), rule_(rule), anchorResolved_(anchorResolved) {}

  void send(const ast::Step& st) {
    const ast::Ident& name = st.templateName;
    if (name.text.empty()) return;
    uint32_t idx = findTemplate(c_, name.text, name.loc);
    if (idx == kNone) {
      c_.unknownTemplateSeen = true;
      if (c_.unparsedTemplates.count(name.text) != 0) return;  // its declaration has a syntax error
      auto b =
          c_.diags.report(DiagKind::UnknownTemplate, name.loc, "unknown template '{}'", name.text);
      if (auto hint = didYouMean(name.text, c_.templateNames); !hint.empty())
        b.help(hint);
      else
        b.help(
            fmt::format("declare it (template {} {{ subject \"...\" body \"...\" }}) or create "
                        "templates/{}.txt beside this file, starting with a 'Subject: ...' line",
                        name.text, name.text));
      return;
    }
    if (c_.templateSent.size() < m_.templates.size())
      c_.templateSent.resize(m_.templates.size(), 0);
    c_.templateSent[idx] = 1;
    const TemplateInfo& t = m_.templates[idx];
    SendInfo& info = m_.sends[st.id];
    info.templateIndex = idx;
    // Templates files are read when first sent: number what is new.
    while (c_.placeholderCount.size() < m_.templates.size())
      c_.placeholderCount.push_back(numberPlaceholders(m_.templates[c_.placeholderCount.size()]));
    info.vars.assign(c_.placeholderCount[idx], VarSource{});
    if (t.subject) text(*t.subject, t, st, info);
    if (t.body) text(*t.body, t, st, info);
  }

 private:
  void text(const ast::TemplateText& tt, const TemplateInfo& t, const ast::Step& st,
            SendInfo& info) {
    for (const auto& piece : tt.pieces)
      if (piece.isPlaceholder)
        info.vars[piece.placeholder.index] = variable(piece.placeholder, t, st);
  }

  static std::string dotted(const ast::Placeholder& ph) {
    std::string s;
    for (size_t i = 0; i < ph.path.size(); ++i) s += (i ? "." : "") + ph.path[i].text;
    return s;
  }

  Resolution anchorField(const std::string& name) {
    Resolution r;
    size_t have = 0;
    std::string lacking;
    for (uint32_t ev : rule_.anchorEvents) {
      const EventInfo& info = m_.events[ev];
      uint32_t i = info.fieldIndex(name);
      if (i == kNone) {
        if (lacking.empty()) lacking = info.name;
        continue;
      }
      ++have;
      r.source.anchorSlots.emplace_back(ev, i);
      const FieldInfo& f = info.fields[i];
      if (f.optional && f.defaultValue == nullptr && r.why.empty())
        r.why = fmt::format("'{}' is an optional field of '{}'", name, info.name);
    }
    if (have == 0) return r;
    r.resolved = true;
    r.source.kind = VarSource::Kind::AnchorField;
    r.maybeAbsent = !r.why.empty();
    if (have < rule_.anchorEvents.size()) {
      r.maybeAbsent = true;
      r.why = fmt::format("'{}' has no field '{}'", lacking, name);
    }
    return r;
  }

  Resolution resolve(const ast::Placeholder& ph, const ast::Step& st) {
    Resolution r;
    const auto& path = ph.path;
    if (path.size() == 1) {
      for (uint32_t i = 0; i < st.bindings.size(); ++i) {
        const ast::Binding& b = st.bindings[i];
        if (b.name.text != path[0].text || b.value == nullptr) continue;
        r.resolved = true;
        r.source = {VarSource::Kind::Binding, i, {}};
        if (m_.exprType[b.value->id].isError()) return r;  // reported at the binding
        r.maybeAbsent = m_.exprMaybeAbsent[b.value->id] != 0;
        if (r.maybeAbsent)
          r.why = fmt::format("the value bound to '{}' may be absent", path[0].text);
        return r;
      }
      if (!anchorResolved_) return Resolution{true, false, {}, {}};
      return anchorField(path[0].text);
    }
    if (path.size() == 2 && path[0].text == "customer") {
      uint32_t i = m_.traitIndex(path[1].text);
      if (i == kNone) return r;
      const FieldInfo& f = m_.traits[i];
      r.resolved = true;
      r.source = {VarSource::Kind::Trait, i, {}};
      r.maybeAbsent = f.optional && f.defaultValue == nullptr;
      if (r.maybeAbsent)
        r.why = fmt::format("'{}' is an optional trait of the customer profile", f.name);
      return r;
    }
    if (path.size() == 2) {
      const ast::Rule& ar = *rule_.rule;
      bool anchorName = ar.anchor.alias && ar.anchor.alias->text == path[0].text;
      for (const auto* ref : ar.anchor.events)
        if (ref->name.text == path[0].text) anchorName = true;
      if (anchorName) {
        if (!anchorResolved_) return Resolution{true, false, {}, {}};
        return anchorField(path[1].text);
      }
    }
    return r;
  }

  std::vector<std::string> candidates(const ast::Step& st) {
    std::vector<std::string> out;
    for (const auto& b : st.bindings) out.push_back(b.name.text);
    for (uint32_t ev : rule_.anchorEvents)
      for (const auto& f : m_.events[ev].fields) out.push_back(f.name);
    for (const auto& t : m_.traits) out.push_back("customer." + t.name);
    return out;
  }

  // Checks one variable of a send; what it resolves to.
  VarSource variable(const ast::Placeholder& ph, const TemplateInfo& t, const ast::Step& st) {
    if (ph.path.empty()) return {};
    Loc where{ph.path.front().loc.file, ph.path.front().loc.begin, ph.path.back().loc.end};
    std::string var = dotted(ph);
    Resolution r = resolve(ph, st);
    if (!r.resolved) {
      auto b = c_.diags.report(DiagKind::TemplateVarUnresolved, where,
                               "'{}' in template '{}' is not defined when rule '{}' sends it", var,
                               t.name, rule_.name);
      b.note(st.templateName.loc, fmt::format("rule '{}' sends '{}' here", rule_.name, t.name));
      if (ph.path.size() == 1 && m_.traitIndex(var) != kNone)
        b.help(fmt::format("did you mean 'customer.{}'? traits are written with `customer.`", var));
      else if (auto hint = didYouMean(var, candidates(st)); !hint.empty())
        b.help(hint);
      else if (ph.path.size() == 1)
        b.help(fmt::format(
            "a template variable is a `with` binding of the send (send {} with {} = ...), "
            "a field of the rule's anchor event, or customer.<trait>",
            t.name, var));
      else
        b.help(
            "a dotted template variable is customer.<trait>, or the anchor's field through its "
            "alias "
            "or event name");
      return {};
    }
    if (r.maybeAbsent && !ph.defaultText) {
      c_.diags
          .report(DiagKind::TemplateVarMaybeAbsent, where,
                  "'{}' in template '{}' may be absent when rule '{}' sends it", var, t.name,
                  rule_.name)
          .note(st.templateName.loc,
                fmt::format("rule '{}' sends '{}' here; {}", rule_.name, t.name, r.why))
          .help(fmt::format("give it a default: {{{{ {} | default \"...\" }}}}", var));
    }
    return std::move(r.source);
  }

  Context& c_;
  Model& m_;
  const RuleInfo& rule_;
  bool anchorResolved_;
};

}  // namespace

void checkTemplates(Context& c) {
  c.templateSent.assign(c.model.templates.size(), 0);
  for (size_t i = 0; i < c.model.rules.size(); ++i) {
    const RuleInfo& ri = c.model.rules[i];
    TemplateCheck check(c, ri, c.anchorResolved[i] != 0);
    forEachStep(ri.rule->steps, [&](const ast::Step& st) {
      if (st.action == ast::ActionKind::Send) check.send(st);
    });
  }
  c.templateSent.resize(c.model.templates.size(), 0);
}

}  // namespace trig::sema::detail
