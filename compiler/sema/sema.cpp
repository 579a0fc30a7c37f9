// Skeleton: declarations only. Name resolution, type checking, templates and lint are to come.
#include "compiler/sema/sema.h"

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

Model analyze(const ast::Program& program, SourceManager&, DiagEngine&) {
  Model m;
  m.exprType.resize(program.arena.exprCount());
  m.exprMaybeAbsent.resize(program.arena.exprCount());
  m.exprRef.resize(program.arena.exprCount());
  m.exprEvent.assign(program.arena.exprCount(), kNone);
  m.exprField.assign(program.arena.exprCount(), kNone);
  uint32_t order = 0;
  for (const auto& f : program.files) {
    for (const auto* r : f.rules) {
      RuleInfo ri;
      ri.rule = r;
      ri.name = r->name.text;
      ri.order = order++;
      m.rules.push_back(ri);
    }
  }
  return m;
}

}  // namespace trig::sema
