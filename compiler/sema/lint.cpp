// Lint (warnings) of every compile: templates nothing sends, events no rule uses, and `# trig:
// allow` comments that name no kind of warning. The lints that need a solver (rules that can
// never fire, overlapping and shadowed rules, redundant terms) belong to `trig check` alone:
// compiler/review/.
#include "compiler/sema/lint.h"

#include <algorithm>

#include "compiler/sema/context.h"

namespace trig::sema {

LintGate::LintGate(const ast::Program& program, const SourceManager& sources,
                   const DiagEngine& diags)
    : sources_(sources) {
  for (const auto& d : diags.all()) {
    if (d.severity != Severity::Error) continue;
    errors_.push_back(d.loc);
    for (const auto& n : d.notes) errors_.push_back(n.loc);
  }
  for (const auto& f : program.files)
    for (const auto& a : f.lintAllows) allows_.push_back({f.id, &a});
}

bool LintGate::open(DiagKind kind, Loc about, std::initializer_list<Loc> others) const {
  if (hasError(about)) return false;
  for (Loc o : others)
    if (hasError(o)) return false;
  return !allowed(kind, about);
}

bool LintGate::hasError(Loc decl) const {
  return std::any_of(errors_.begin(), errors_.end(), [&](Loc e) {
    return e.valid() && e.file == decl.file && e.begin >= decl.begin &&
           e.begin < std::max(decl.end, decl.begin + 1);
  });
}

// On the line before the declaration, or at the end of its first line.
bool LintGate::allowed(DiagKind kind, Loc decl) const {
  if (!decl.valid()) return false;
  uint32_t line = sources_.file(decl.file).lineCol(decl.begin).line;
  for (const auto& [file, a] : allows_) {
    if (file != decl.file || !(a->ownLine ? a->line + 1 == line : a->line == line)) continue;
    for (const auto& k : a->kinds)
      if (k.text == kindName(kind)) return true;
  }
  return false;
}

}  // namespace trig::sema

namespace trig::sema::detail {
namespace {

// Every kind an allow comment names is a lint kind.
void checkAllows(Context& c, const LintGate& gate) {
  std::vector<std::string> lints;
  for (DiagKind k : allDiagKinds())
    if (defaultSeverity(k) == Severity::Warning) lints.push_back(kindName(k));
  for (const auto& [file, a] : gate.allows())
    for (const auto& k : a->kinds) {
      if (std::find(lints.begin(), lints.end(), k.text) != lints.end()) continue;
      bool error = std::any_of(allDiagKinds().begin(), allDiagKinds().end(),
                               [&](DiagKind d) { return k.text == kindName(d); });
      auto b = c.diags.add(DiagKind::BadAllow, k.loc,
                           error ? "'" + k.text + "' is an error, and errors cannot be allowed"
                                 : "'" + k.text + "' is not a kind of warning");
      if (error)
        b.help("fix what the error says; `# trig: allow` silences warnings only");
      else if (auto hint = didYouMean(k.text, lints); !hint.empty())
        b.help(hint);
    }
}

void unusedDeclarations(Context& c, const LintGate& gate) {
  const Model& m = c.model;
  for (size_t i = 0; i < m.templates.size() && !c.unknownTemplateSeen; ++i) {
    const TemplateInfo& t = m.templates[i];
    if (t.decl == nullptr || (i < c.templateSent.size() && c.templateSent[i])) continue;
    if (!gate.open(DiagKind::UnusedTemplate, t.decl->loc)) continue;
    c.diags.report(DiagKind::UnusedTemplate, t.loc, "template '{}' is never sent", t.name)
        .help("send it from a rule, or remove it");
  }
  for (const auto& ev : m.events) {
    if (ev.stdlib || ev.usedByRules || c.unknownEventSeen) continue;
    if (!gate.open(DiagKind::UnusedEvent, ev.decl->loc)) continue;
    c.diags
        .report(DiagKind::UnusedEvent, ev.decl->name.loc, "event '{}' is not used by any rule",
                ev.name)
        .help("use it in a rule, or remove it");
  }
}

}  // namespace

void lint(Context& c) {
  // A declaration that did not parse is missing from the program: it may be what uses the
  // template or event, so "unused" would be a false alarm on top of the syntax error.
  bool dropped = std::any_of(c.diags.all().begin(), c.diags.all().end(), [](const Diagnostic& d) {
    return d.kind == DiagKind::SyntaxError || d.kind == DiagKind::UnterminatedString ||
           d.kind == DiagKind::NestingTooDeep || d.kind == DiagKind::BadDuration;
  });
  LintGate gate(c.program, c.sources, c.diags);
  checkAllows(c, gate);
  if (!dropped) unusedDeclarations(c, gate);
}

}  // namespace trig::sema::detail
