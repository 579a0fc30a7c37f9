#include "compiler/lower/ast_dump.h"

#include <string>

#include "compiler/core/aggregate.h"
#include "compiler/lower/lower.h"

namespace trig::lower {
namespace {

class Dumper {
 public:
  Dumper(std::ostream& out, const sema::Model& model, const SourceManager& sources)
      : out_(out), model_(model), sources_(sources) {}

  // A duration as the rule wrote it (`1h30m`, `90m`), not as it renders.
  std::string written(const ast::Duration& d) const {
    if (!d.loc.valid() || d.loc.end <= d.loc.begin) return formatDuration(d.ms);
    return std::string(
        sources_.file(d.loc.file).text().substr(d.loc.begin, d.loc.end - d.loc.begin));
  }

  // The rule's `idle D` term as written.
  std::string idleWritten(const ast::Rule* r, DurationMs idle) const {
    if (r != nullptr)
      for (const ast::Expr* t : r->terms)
        if (t->kind == ast::ExprKind::Idle && t->window) return written(*t->window);
    return formatDuration(idle);
  }

  void events() {
    for (const sema::EventInfo& ev : model_.events) {
      if (ev.stdlib && !ev.usedByRules) continue;
      out_ << "event " << ev.name << " #" << ev.index << (ev.passive ? " passive" : "")
           << (ev.stdlib ? " (prelude)" : "") << "\n";
      for (const sema::FieldInfo& f : ev.fields)
        out_ << "  slot " << f.slot << ": " << f.name << (f.optional ? "?" : "") << " "
             << sema::typeName(f.type) << "\n";
    }
    out_ << "customer\n";
    for (const sema::FieldInfo& f : model_.traits)
      out_ << "  slot " << f.slot << ": " << f.name << (f.optional ? "?" : "") << " "
           << sema::typeName(f.type) << "\n";
  }

  void rule(const sema::RuleInfo& ri) {
    const ast::Rule* r = ri.rule;
    std::string prefix = "trig.rule." + ri.name + ".";
    out_ << "\nrule " << ri.name << " (" << where(r != nullptr ? r->loc : Loc{}) << ")\n";
    out_ << "  anchor:";
    for (uint32_t ev : ri.anchorEvents) out_ << " " << eventName(ev);
    if (r != nullptr && r->anchor.alias) out_ << " as " << r->anchor.alias->text;
    out_ << "\n";
    filters_ = 0;
    if (r != nullptr)
      for (const ast::EventRef* ref : r->anchor.events)
        if (ref->filter != nullptr)
          tree(prefix + "filter." + std::to_string(filters_++) + " (anchor " + ref->name.text + ")",
               ref->filter, 1);
    if (ri.idle) out_ << "  idle " << idleWritten(r, *ri.idle) << " (a timer, not compiled)\n";
    for (size_t i = 0; i < ri.conditions.size(); ++i)
      tree(prefix + "when." + std::to_string(i), ri.conditions[i], 1);
    for (size_t i = 0; i < ri.unless.size(); ++i)
      tree(prefix + "unless." + std::to_string(i), ri.unless[i], 1);
    if (ri.priorityExpr != nullptr)
      tree(prefix + "priority (evaluated when the rule fires)", ri.priorityExpr, 1);
    else
      out_ << "  priority " << ri.priority << "\n";
    if (r != nullptr && r->goal) {
      out_ << "  goal " << r->goal->event->name.text << " within " << written(r->goal->within)
           << "\n";
      if (r->goal->event->filter != nullptr)
        tree(prefix + "filter." + std::to_string(filters_++) + " (goal)", r->goal->event->filter,
             1);
    }
    if (r != nullptr) steps(r->steps, prefix, 0, 1);
  }

 private:
  // Numbered as the lowering names them (see lowerSteps in lower.cpp).
  void steps(const std::vector<ast::Step>& list, const std::string& path, uint32_t n, int depth) {
    for (const ast::Step& s : list) {
      std::string sp = path + "step." + std::to_string(++n) + ".";
      indent(depth);
      out_ << "step " << n << ":";
      if (s.after) out_ << " after " << written(*s.after);
      if (s.action == ast::ActionKind::Send)
        out_ << " send " << s.templateName.text;
      else
        out_ << " split " << s.splitName.text;
      out_ << "\n";
      for (size_t i = 0; i < s.unless.size(); ++i)
        tree(sp + "unless." + std::to_string(i), s.unless[i], depth + 1);
      for (const ast::Binding& b : s.bindings) tree(sp + "with." + b.name.text, b.value, depth + 1);
      for (const ast::Variant& v : s.variants) {
        indent(depth + 1);
        out_ << "variant " << v.name.text << " " << v.percent.toString() << "%"
             << (v.holdout ? " holdout" : "") << "\n";
        steps(v.steps, path + s.splitName.text + "." + v.name.text + ".", n, depth + 2);
      }
    }
  }

  void tree(const std::string& label, const ast::Expr* e, int depth) {
    indent(depth);
    out_ << label << "\n";
    expr(e, depth + 1);
  }

  void expr(const ast::Expr* e, int depth) {
    if (e == nullptr) return;
    indent(depth);
    switch (e->kind) {
      case ast::ExprKind::IntLit: out_ << "int " << e->intValue; break;
      case ast::ExprKind::DecimalLit: out_ << "decimal " << e->decimalValue.toString(); break;
      case ast::ExprKind::PercentLit:
        out_ << "percent " << e->decimalValue.toString() << "%";
        break;
      case ast::ExprKind::StringLit: out_ << "string " << quote(e->text); break;
      case ast::ExprKind::BoolLit: out_ << "bool " << (e->boolValue ? "true" : "false"); break;
      case ast::ExprKind::DurationLit:
        out_ << "duration " << (e->text.empty() ? formatDuration(e->intValue) : e->text);
        break;
      case ast::ExprKind::TimeLit: out_ << "time " << formatTimestamp(e->intValue); break;
      case ast::ExprKind::List: out_ << "list"; break;
      case ast::ExprKind::Name: {
        out_ << "name ";
        for (size_t i = 0; i < e->path.size(); ++i) out_ << (i ? "." : "") << e->path[i].text;
        out_ << " -> " << ref(e);
        break;
      }
      case ast::ExprKind::Trait:
        out_ << "trait customer." << e->field.text << " -> " << ref(e);
        break;
      case ast::ExprKind::Unary:
      case ast::ExprKind::Binary: out_ << ast::opSpelling(e->op); break;
      case ast::ExprKind::Idle: out_ << "idle " << (e->window ? written(*e->window) : "?"); break;
      case ast::ExprKind::EventTerm: out_ << "event " << eventRef(e) << window(e); break;
      case ast::ExprKind::Aggregate:
        out_ << core::aggName(e->agg) << "(" << eventRef(e)
             << (e->agg == ast::AggFn::Count ? "" : "." + field(e)) << ")" << window(e);
        break;
      case ast::ExprKind::Last: out_ << "last(" << eventRef(e) << ")." << field(e); break;
      case ast::ExprKind::Call: out_ << "call " << e->callee.text; break;
      case ast::ExprKind::Error: out_ << "<error>"; break;
    }
    out_ << " : " << type(e) << "  @" << where(e->loc) << "\n";
    if (e->kind == ast::ExprKind::EventTerm || e->kind == ast::ExprKind::Aggregate ||
        e->kind == ast::ExprKind::Last) {
      if (e->event != nullptr && e->event->filter != nullptr) {
        indent(depth + 1);
        out_ << "filter (compiled into filter." << filters_++ << ")\n";
        expr(e->event->filter, depth + 2);
      } else if (comparesSameInHistory(*e, model_)) {
        indent(depth + 1);
        out_ << "same (compared in the history, no filter)\n";
      } else if (e->event != nullptr && !e->event->same.empty()) {
        indent(depth + 1);
        out_ << "same (compiled into filter." << filters_++ << ")\n";
      }
    }
    for (const ast::Expr* item : e->items) expr(item, depth + 1);
    expr(e->lhs, depth + 1);
    expr(e->rhs, depth + 1);
  }

  std::string type(const ast::Expr* e) const {
    if (e->id >= model_.exprType.size()) return "<untyped>";
    std::string t = sema::typeName(model_.exprType[e->id]);
    if (e->id < model_.exprMaybeAbsent.size() && model_.exprMaybeAbsent[e->id]) t += "?";
    return t;
  }

  std::string ref(const ast::Expr* e) const {
    if (e->id >= model_.exprRef.size()) return "unresolved";
    const sema::Ref& r = model_.exprRef[e->id];
    std::string slot = r.field == sema::kNone ? "by name" : "slot " + std::to_string(r.field);
    switch (r.kind) {
      case sema::RefKind::AnchorField: return "anchor field " + r.name + " (" + slot + ")";
      case sema::RefKind::EventField:
        return eventName(r.event) + " field " + r.name + " (" + slot + ")";
      case sema::RefKind::Trait: return "trait " + r.name + " (" + slot + ")";
      case sema::RefKind::Binding: return "binding " + r.name;
      case sema::RefKind::BareEvent: return "event " + eventName(r.event) + " since the firing";
      case sema::RefKind::None: break;
    }
    return "unresolved";
  }

  std::string eventRef(const ast::Expr* e) const {
    if (e->event == nullptr) return "?";
    std::string s = e->event->name.text;
    uint32_t ev = e->id < model_.exprEvent.size() ? model_.exprEvent[e->id] : sema::kNone;
    if (ev != sema::kNone) s += " #" + std::to_string(ev);
    if (!e->event->same.empty()) {
      s += "(";
      for (size_t i = 0; i < e->event->same.size(); ++i)
        s += (i ? ", same " : "same ") + e->event->same[i].text;
      s += ")";
    } else if (e->event->filter != nullptr) {
      s += "(...)";
    }
    return s;
  }

  std::string field(const ast::Expr* e) const {
    std::string s = e->field.text;
    if (e->id < model_.exprField.size() && model_.exprField[e->id] != sema::kNone)
      s += " (slot " + std::to_string(model_.exprField[e->id]) + ")";
    return s;
  }

  std::string window(const ast::Expr* e) const {
    return e->window ? " within " + written(*e->window) : " since the firing";
  }

  std::string eventName(uint32_t ev) const {
    return ev < model_.events.size() ? model_.events[ev].name : "?";
  }

  std::string where(Loc loc) const {
    if (!loc.valid() || loc.file >= sources_.size()) return "?";
    const SourceFile& f = sources_.file(loc.file);
    LineCol lc = f.lineCol(loc.begin);
    return f.path() + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column);
  }

  static std::string quote(const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q += '\\';
      if (c == '\n') {
        q += "\\n";
        continue;
      }
      q += c;
    }
    return q + "\"";
  }

  void indent(int depth) {
    for (int i = 0; i < depth; ++i) out_ << "  ";
  }

  std::ostream& out_;
  const sema::Model& model_;
  const SourceManager& sources_;
  uint32_t filters_ = 0;
};

}  // namespace

void dumpAst(std::ostream& out, const ast::Program&, const sema::Model& model,
             const SourceManager& sources) {
  Dumper d(out, model, sources);
  d.events();
  for (const sema::RuleInfo& ri : model.rules) d.rule(ri);
}

}  // namespace trig::lower
