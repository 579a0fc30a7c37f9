// The semantic analysis pipeline: one Context, one pass per file, in a fixed order.
#include "compiler/sema/sema.h"

#include "compiler/sema/context.h"

namespace trig::sema {

std::string typeKindName(TypeKind k) {
  switch (k) {
    case TypeKind::Error: return "<error>";
    case TypeKind::String: return "string";
    case TypeKind::Int: return "int";
    case TypeKind::Float: return "float";
    case TypeKind::Money: return "money";
    case TypeKind::Bool: return "bool";
    case TypeKind::Time: return "time";
    case TypeKind::Duration: return "duration";
    case TypeKind::List: return "list";
  }
  return "?";
}

std::string typeName(Type t) {
  if (t.kind == TypeKind::List) return "[" + typeKindName(t.elem) + "]";
  return typeKindName(t.kind);
}

const EventInfo* Model::findEvent(std::string_view n) const {
  std::string key(n);
  if (auto it = eventByName.find(key); it != eventByName.end()) return &events[it->second];
  if (auto it = eventByAlias.find(key); it != eventByAlias.end()) return &events[it->second];
  return nullptr;
}

namespace detail {

std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best = closestMatch(word, candidates);
  return best.empty() ? std::string() : "did you mean '" + best + "'?";
}

bool nonPositiveAsWritten(const Context& c, const ast::Duration& d) {
  if (d.ms > 0 || !d.loc.valid()) return false;
  std::string_view text =
      c.sources.file(d.loc.file).text().substr(d.loc.begin, d.loc.end - d.loc.begin);
  return durationLimitError(text).empty();
}

Loc ruleLoc(const ast::Rule& r) {
  if (!r.anonymous && r.name.loc.valid()) return r.name.loc;
  return Loc{r.loc.file, r.loc.begin, r.loc.begin + 4};
}

}  // namespace detail

Model analyze(const ast::Program& program, SourceManager& sources, DiagEngine& diags) {
  Model m;
  size_t n = program.arena.exprCount();
  m.exprType.assign(n, Type{});
  m.exprMaybeAbsent.assign(n, 0);
  m.exprRef.assign(n, Ref{});
  m.exprEvent.assign(n, kNone);
  m.exprField.assign(n, kNone);
  m.sends.assign(program.arena.stepCount(), SendInfo{});

  detail::Context c(program, sources, diags, m);
  detail::declare(c);
  detail::declareSettings(c);
  detail::resolveRules(c);
  detail::checkForms(c);
  detail::checkSplits(c);
  detail::checkTemplates(c);
  detail::checkTests(c);
  detail::markUses(c);
  detail::lint(c);
  return m;
}

}  // namespace trig::sema
