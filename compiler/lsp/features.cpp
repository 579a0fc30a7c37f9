// Hover, go to definition, completion and document symbols: what the last analysis of a
// document (its AST and sema model) says about the name under the cursor.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "compiler/lsp/document.h"
#include "compiler/lsp/server.h"
#include "compiler/sema/sema.h"
#include "compiler/support/time.h"

namespace trig::lsp {
namespace {

using sema::kNone;

// ---- What each name of the document is ----------------------------------------------------------

enum class OccKind { Expr, Event, Field, Trait, Template, Rule, Import, Setting };

struct Occurrence {
  Occurrence(Loc l, OccKind k, uint32_t ev = kNone, uint32_t idx = kNone,
             const ast::Expr* e = nullptr, std::string t = {})
      : loc(l), kind(k), event(ev), index(idx), expr(e), text(std::move(t)) {}
  Loc loc;
  OccKind kind = OccKind::Expr;
  uint32_t event = kNone;  // Event, Field
  uint32_t index = kNone;  // Field: slot; Trait: slot; Template: index; Rule: index
  const ast::Expr* expr = nullptr;
  std::string text;  // Import: the path as written; Template: the name; Setting: the name
};

class Collector {
 public:
  Collector(const Compilation& c, FileId file) : c_(c), m_(c.model), file_(file) {}

  std::vector<Occurrence> run() {
    for (const auto& f : c_.program.files) {
      if (f.id != file_) continue;
      for (const auto& imp : f.imports)
        add({imp.path.loc, OccKind::Import, kNone, kNone, nullptr, imp.path.value});
      for (const auto* e : f.events) eventDecl(*e);
      for (const auto* cu : f.customers)
        for (const auto& fd : cu->fields) {
          add({fd.name.loc, OccKind::Trait, kNone, m_.traitIndex(fd.name.text)});
          if (fd.defaultValue != nullptr) expr(fd.defaultValue, {});
        }
      for (const auto* t : f.templates) templateName(t->name);
      for (const auto* s : f.settings)
        for (const auto& sd : s->settings)
          add({sd.name.loc, OccKind::Setting, kNone, kNone, nullptr, sd.name.text});
      for (const auto* r : f.rules) rule(*r);
      for (const auto* t : f.tests) test(*t);
    }
    return std::move(out_);
  }

 private:
  void add(Occurrence o) {
    if (o.loc.valid() && o.loc.file == file_) out_.push_back(std::move(o));
  }

  uint32_t eventIndex(const std::string& name) const {
    auto it = m_.eventByName.find(name);
    return it == m_.eventByName.end() ? kNone : it->second;
  }
  uint32_t fieldOf(uint32_t event, const std::string& name) const {
    if (event == kNone || event >= m_.events.size()) return kNone;
    return m_.events[event].fieldIndex(name);
  }

  void eventDecl(const ast::EventDecl& e) {
    uint32_t idx = eventIndex(e.name.text);
    add({e.name.loc, OccKind::Event, idx});
    for (const auto& fd : e.fields) {
      add({fd.name.loc, OccKind::Field, idx, fieldOf(idx, fd.name.text)});
      if (fd.defaultValue != nullptr) expr(fd.defaultValue, {});
    }
  }

  void templateName(const ast::Ident& name) {
    auto it = m_.templateByName.find(name.text);
    add({name.loc, OccKind::Template, kNone, it == m_.templateByName.end() ? kNone : it->second,
         nullptr, name.text});
  }

  void ruleName(const ast::Ident& name) {
    for (uint32_t i = 0; i < m_.rules.size(); ++i)
      if (m_.rules[i].name == name.text) {
        add({name.loc, OccKind::Rule, kNone, i});
        return;
      }
  }

  uint32_t eventRef(const ast::EventRef* r) {
    if (r == nullptr) return kNone;
    uint32_t idx = kNone;
    if (auto it = m_.eventRefEvent.find(r); it != m_.eventRefEvent.end())
      idx = it->second;
    else
      idx = eventIndex(r->name.text);
    add({r->name.loc, OccKind::Event, idx});
    for (const auto& s : r->same) add({s.loc, OccKind::Field, idx, fieldOf(idx, s.text)});
    if (r->filter != nullptr) expr(r->filter, anchors_);
    return idx;
  }

  void expr(const ast::Expr* e, const std::vector<uint32_t>& anchors) {
    if (e == nullptr) return;
    add({e->loc, OccKind::Expr, kNone, kNone, e});
    const sema::Ref* ref = e->id < m_.exprRef.size() ? &m_.exprRef[e->id] : nullptr;
    switch (e->kind) {
      case ast::ExprKind::Name: {
        if (e->path.empty() || ref == nullptr) break;
        if (ref->kind == sema::RefKind::BareEvent) {
          add({e->path[0].loc, OccKind::Event, ref->event});
          break;
        }
        if (ref->kind == sema::RefKind::AnchorField || ref->kind == sema::RefKind::EventField) {
          uint32_t ev = ref->event;
          if (ev == kNone)  // alternatives: the first anchor with the field
            for (uint32_t a : anchors)
              if (fieldOf(a, ref->name) != kNone) {
                ev = a;
                break;
              }
          const ast::Ident& last = e->path.back();
          add({last.loc, OccKind::Field, ev, fieldOf(ev, last.text)});
          if (e->path.size() > 1 && eventIndex(e->path[0].text) != kNone)
            add({e->path[0].loc, OccKind::Event, eventIndex(e->path[0].text)});
        }
        break;
      }
      case ast::ExprKind::Trait:
        add({e->field.loc, OccKind::Trait, kNone, m_.traitIndex(e->field.text)});
        break;
      case ast::ExprKind::Unary:
      case ast::ExprKind::Binary:
        expr(e->lhs, anchors);
        expr(e->rhs, anchors);
        break;
      case ast::ExprKind::List:
      case ast::ExprKind::Call:
        for (const auto* item : e->items) expr(item, anchors);
        break;
      case ast::ExprKind::EventTerm:
      case ast::ExprKind::Aggregate:
      case ast::ExprKind::Last: {
        uint32_t ev = eventRef(e->event);
        if (e->id < m_.exprEvent.size() && m_.exprEvent[e->id] != kNone) ev = m_.exprEvent[e->id];
        if (e->kind != ast::ExprKind::EventTerm && !e->field.text.empty())
          add({e->field.loc, OccKind::Field, ev, fieldOf(ev, e->field.text)});
        break;
      }
      default: break;
    }
  }

  void steps(const std::vector<ast::Step>& list) {
    for (const auto& st : list) {
      for (const auto* u : st.unless) expr(u, anchors_);
      if (st.action == ast::ActionKind::Send) {
        templateName(st.templateName);
        for (const auto& b : st.bindings) expr(b.value, anchors_);
      } else {
        for (const auto& v : st.variants) steps(v.steps);
      }
    }
  }

  void rule(const ast::Rule& r) {
    anchors_.clear();
    for (const auto* ref : r.anchor.events) anchors_.push_back(eventRef(ref));
    if (!r.anonymous) ruleName(r.name);
    for (const auto* t : r.terms) expr(t, anchors_);
    for (const auto* u : r.unless) expr(u, anchors_);
    if (r.priorityExpr != nullptr) expr(r.priorityExpr, anchors_);
    if (r.goal) eventRef(r.goal->event);
    steps(r.steps);
  }

  void test(const ast::TestDecl& t) {
    for (const auto& st : t.stmts) {
      if (st.kind == ast::TestStmtKind::Event)
        add({st.event.loc, OccKind::Event, eventIndex(st.event.text)});
      if (!st.templateName.text.empty()) templateName(st.templateName);
      if (st.fromRule) ruleName(*st.fromRule);
    }
  }

  const Compilation& c_;
  const sema::Model& m_;
  FileId file_;
  std::vector<uint32_t> anchors_;
  std::vector<Occurrence> out_;
};

// The innermost occurrence at `offset` (a cursor just after a name is on it); names before the
// expressions that hold them.
std::optional<Occurrence> occurrenceAt(const Server::Document& d, uint32_t offset) {
  if (!d.comp || d.file == kNoFile) return std::nullopt;
  std::optional<Occurrence> best;
  for (auto& o : Collector(*d.comp, d.file).run()) {
    if (offset < o.loc.begin || offset > o.loc.end) continue;
    uint32_t len = o.loc.end - o.loc.begin;
    if (!best) {
      best = o;
      continue;
    }
    uint32_t bestLen = best->loc.end - best->loc.begin;
    if (len < bestLen || (len == bestLen && best->kind == OccKind::Expr)) best = o;
  }
  return best;
}

std::string fieldLine(const sema::FieldInfo& f) {
  return f.name + (f.optional ? "?" : "") + ": " + sema::typeName(f.type);
}

std::string eventMarkdown(const sema::EventInfo& e) {
  std::string s = "```trig\nevent " + e.name + (e.passive ? " passive" : "") + " {\n";
  for (const auto& f : e.fields) s += "  " + fieldLine(f) + "\n";
  s += "}\n```";
  if (e.stdlib) s += "\n\nDeclared in the prelude.";
  return s;
}

std::string fence(std::string_view text) {
  return "```\n" + std::string(text) + "\n```";
}

json markdown(std::string text) {
  return {{"kind", "markdown"}, {"value", std::move(text)}};
}

}  // namespace

json Server::hover(Document& d, const json& params) {
  auto o = occurrenceAt(d, d.offsetAt(params.at("position")));
  if (!o) return nullptr;
  const sema::Model& m = d.comp->model;
  const SourceManager& sm = d.comp->sources;
  std::string text;
  switch (o->kind) {
    case OccKind::Event:
      if (o->event == kNone || o->event >= m.events.size()) return nullptr;
      text = eventMarkdown(m.events[o->event]);
      break;
    case OccKind::Field: {
      if (o->event == kNone || o->event >= m.events.size()) return nullptr;
      const auto& e = m.events[o->event];
      if (o->index == kNone || o->index >= e.fields.size()) return nullptr;
      const auto& f = e.fields[o->index];
      text = "```trig\n" + e.name + "." + fieldLine(f) + "\n```\nField of event `" + e.name + "`" +
             (f.optional ? ", may be absent." : ".");
      break;
    }
    case OccKind::Trait: {
      if (o->index == kNone || o->index >= m.traits.size()) return nullptr;
      const auto& f = m.traits[o->index];
      text = "```trig\ncustomer." + fieldLine(f) + "\n```\nCustomer trait" +
             (f.optional ? ", may be absent." : ".");
      break;
    }
    case OccKind::Template: {
      if (o->index == kNone || o->index >= m.templates.size()) return nullptr;
      const auto& t = m.templates[o->index];
      text = "template `" + t.name + "`";
      if (!t.path.empty()) text += " (" + t.path + ")";
      if (t.subject) text += "\n\n**Subject:** " + std::string(textOf(sm, t.subject->loc));
      if (t.body) text += "\n\n" + fence(textOf(sm, t.body->loc));
      break;
    }
    case OccKind::Rule: {
      if (o->index >= m.rules.size()) return nullptr;
      const auto& r = m.rules[o->index];
      text = "rule `" + r.name + "`";
      if (r.rule != nullptr && r.rule->title) text += ": " + r.rule->title->value;
      std::vector<std::string> anchors;
      for (uint32_t a : r.anchorEvents)
        if (a < m.events.size()) anchors.push_back("`" + m.events[a].name + "`");
      if (!anchors.empty()) {
        text += "\n\nAnchored on ";
        for (size_t i = 0; i < anchors.size(); ++i)
          text += (i == 0 ? "" : i + 1 == anchors.size() ? " or " : ", ") + anchors[i];
        text += ".";
      }
      if (r.priority != 0) text += " Priority " + std::to_string(r.priority) + ".";
      break;
    }
    case OccKind::Import: {
      namespace fs = std::filesystem;
      fs::path p = (fs::path(d.path).parent_path() / o->text).lexically_normal();
      text = "import `" + p.string() + "`";
      break;
    }
    case OccKind::Setting: text = "setting `" + o->text + "`"; break;
    case OccKind::Expr: {
      const ast::Expr* e = o->expr;
      if (e == nullptr || e->id >= m.exprType.size() || m.exprType[e->id].isError()) return nullptr;
      bool absent = e->id < m.exprMaybeAbsent.size() && m.exprMaybeAbsent[e->id] != 0;
      std::string_view src = textOf(sm, e->loc);
      if (src.size() > 200 || src.find('\n') != std::string_view::npos) src = "expression";
      text = "```trig\n" + std::string(src) + ": " + sema::typeName(m.exprType[e->id]) +
             (absent ? "?" : "") + "\n```";
      if (absent) text += "\nMay be absent.";
      break;
    }
  }
  return {{"contents", markdown(text)}, {"range", rangeOf(sm, o->loc)}};
}

json Server::definition(Document& d, const json& params) {
  auto o = occurrenceAt(d, d.offsetAt(params.at("position")));
  if (!o) return nullptr;
  const sema::Model& m = d.comp->model;
  const SourceManager& sm = d.comp->sources;
  switch (o->kind) {
    case OccKind::Event:
      if (o->event < m.events.size() && m.events[o->event].decl != nullptr)
        return locationOf(sm, m.events[o->event].decl->name.loc);
      return nullptr;
    case OccKind::Field:
      if (o->event < m.events.size() && o->index < m.events[o->event].fields.size())
        return locationOf(sm, m.events[o->event].fields[o->index].loc);
      return nullptr;
    case OccKind::Trait:
      if (o->index < m.traits.size()) return locationOf(sm, m.traits[o->index].loc);
      return nullptr;
    case OccKind::Template: {
      if (o->index >= m.templates.size()) return nullptr;
      const auto& t = m.templates[o->index];
      if (t.decl != nullptr) return locationOf(sm, t.decl->name.loc);
      if (!t.path.empty()) {
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::path p = fs::absolute(t.path, ec);
        return {{"uri", pathToUri(p.string())},
                {"range",
                 {{"start", {{"line", 0}, {"character", 0}}},
                  {"end", {{"line", 0}, {"character", 0}}}}}};
      }
      return locationOf(sm, t.loc);
    }
    case OccKind::Rule:
      if (o->index < m.rules.size() && m.rules[o->index].rule != nullptr)
        return locationOf(sm, m.rules[o->index].rule->name.loc);
      return nullptr;
    case OccKind::Import: {
      namespace fs = std::filesystem;
      fs::path p = (fs::path(d.path).parent_path() / o->text).lexically_normal();
      return {
          {"uri", pathToUri(p.string())},
          {"range",
           {{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", 0}, {"character", 0}}}}}};
    }
    case OccKind::Setting:
    case OccKind::Expr: return nullptr;
  }
  return nullptr;
}

// ---- Completion ---------------------------------------------------------------------------------

namespace {

// LSP CompletionItemKind values.
constexpr int kKindFunction = 3;
constexpr int kKindField = 5;
constexpr int kKindModule = 9;
constexpr int kKindProperty = 10;
constexpr int kKindUnit = 11;
constexpr int kKindKeyword = 14;
constexpr int kKindEvent = 23;

const std::vector<std::string>& keywords() {
  static const std::vector<std::string> k = {
      "when",     "and",         "or",      "not",  "unless",     "within",   "idle",
      "after",    "then",        "send",    "with", "split",      "priority", "limit",
      "per",      "goal",        "same",    "as",   "trigger",    "event",    "template",
      "settings", "customer",    "import",  "test", "true",       "false",    "in",
      "contains", "starts_with", "subject", "body", "file",       "passive",  "from",
      "at",       "expect",      "no",      "to",   "suppressed", "because",  "pin",
      "variant",  "holdout"};
  return k;
}
// Aggregates and `last`, completed where an expression may start.
const std::vector<std::string>& functions() {
  static const std::vector<std::string> f = {"count", "sum",    "min",  "max",
                                             "avg",   "median", "last", "exists"};
  return f;
}
bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// The word that ends at `end` in `s`.
std::string_view wordBefore(std::string_view s, size_t end) {
  size_t b = end;
  while (b > 0 && isWordChar(s[b - 1])) --b;
  return s.substr(b, end - b);
}

// The offset of the innermost `(` still open at `end` (strings and comments skipped roughly: a
// statement rarely spans more than a few lines), or npos.
size_t openParen(std::string_view s, size_t end) {
  int depth = 0;
  size_t stop = end > 4096 ? end - 4096 : 0;
  for (size_t i = end; i > stop; --i) {
    char c = s[i - 1];
    if (c == ')') ++depth;
    if (c == '(') {
      if (depth == 0) return i - 1;
      --depth;
    }
    if (c == '\n') {
      // A line that starts a declaration ends the search.
      std::string_view next = s.substr(i);
      for (const char* kw : {"trigger ", "when ", "event ", "template ", "test ", "settings"})
        if (next.substr(0, std::string_view(kw).size()) == kw) return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

size_t skipSpaceBack(std::string_view s, size_t i) {
  while (i > 0 && std::isspace(static_cast<unsigned char>(s[i - 1])) != 0) --i;
  return i;
}

// The event of the alias `name` (`when cart_add(...) as name`) last declared before `end`.
const sema::EventInfo* aliasEvent(const sema::Model& m, std::string_view s, size_t end,
                                  const std::string& name) {
  size_t at = end;
  while (at > 0) {
    at = s.rfind(name, at - 1);
    if (at == std::string_view::npos) return nullptr;
    size_t after = at + name.size();
    if ((at > 0 && isWordChar(s[at - 1])) || (after < s.size() && isWordChar(s[after]))) continue;
    size_t i = skipSpaceBack(s, at);
    if (i == at || wordBefore(s, i) != "as") continue;
    i = skipSpaceBack(s, i - 2);
    if (i > 0 && s[i - 1] == ')') {  // the anchor's filter
      int depth = 0;
      while (i > 0) {
        char c = s[--i];
        if (c == ')') ++depth;
        if (c == '(' && --depth == 0) break;
      }
      i = skipSpaceBack(s, i);
    }
    if (const auto* e = m.findEvent(wordBefore(s, i))) return e;
  }
  return nullptr;
}

// Whether `end` is inside a `settings { ... }` block.
bool inSettings(std::string_view s, size_t end) {
  size_t at = s.rfind("settings", end);
  if (at == std::string_view::npos) return false;
  size_t brace = s.find('{', at);
  if (brace == std::string_view::npos || brace >= end) return false;
  return s.substr(brace, end - brace).find('}') == std::string_view::npos;
}

}  // namespace

json Server::completion(Document& d, const json& params) {
  json items = json::array();
  std::set<std::string> seen;
  auto item = [&](const std::string& label, int kind, const std::string& detail) {
    if (!seen.insert(label).second) return;
    json it = {{"label", label}, {"kind", kind}};
    if (!detail.empty()) it["detail"] = detail;
    items.push_back(std::move(it));
  };
  const sema::Model* m = d.comp ? &d.comp->model : nullptr;
  auto fieldsOf = [&](const sema::EventInfo& e) {
    for (const auto& f : e.fields)
      item(f.name, kKindField, sema::typeName(f.type) + (f.optional ? "?" : ""));
  };
  auto events = [&] {
    if (m == nullptr) return;
    std::vector<const sema::EventInfo*> sorted;
    for (const auto& e : m->events) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const auto* e : sorted) item(e->name, kKindEvent, e->passive ? "passive event" : "event");
  };
  auto result = [&] { return json{{"isIncomplete", false}, {"items", items}}; };

  uint32_t end = d.textOffset(params.at("position"));
  std::string_view text(d.text);
  std::string_view word = wordBefore(text, end);
  size_t wordStart = end - word.size();
  char before = wordStart > 0 ? text[wordStart - 1] : '\n';
  // The text of the line before the word, for the keyword before it.
  size_t lineStart = text.rfind('\n', wordStart == 0 ? 0 : wordStart - 1);
  lineStart = lineStart == std::string_view::npos || wordStart == 0 ? 0 : lineStart + 1;
  lineStart = std::max(lineStart, wordStart > 200 ? wordStart - 200 : size_t{0});
  std::string linePrefix(text.substr(lineStart, wordStart - lineStart));

  static const std::regex afterSend(R"((^|\W)(send|expect\s+suppressed)\s+$)");
  static const std::regex lastDot(R"(last\s*\(\s*(\w+)[^()]*\)\s*$)");

  // Duration units after a number: `15` -> 15m, 15h, ...
  if (!word.empty() &&
      std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    static const std::pair<const char*, const char*> units[] = {
        {"s", "seconds"}, {"m", "minutes"}, {"h", "hours"}, {"d", "days"}, {"w", "weeks"}};
    for (const auto& [u, name] : units) item(std::string(word) + u, kKindUnit, name);
    return result();
  }
  if (m == nullptr) return result();

  if (before == '.') {
    std::string_view owner = wordBefore(text, wordStart - 1);
    if (owner == "customer") {
      for (const auto& t : m->traits)
        item(t.name, kKindProperty, sema::typeName(t.type) + (t.optional ? "?" : ""));
      return result();
    }
    std::string ownerName(owner);
    if (ownerName.empty()) {  // `last(E).`
      std::string upto(text.substr(lineStart, wordStart - 1 - lineStart));
      std::smatch sm;
      if (std::regex_search(upto, sm, lastDot)) ownerName = sm[1].str();
    }
    if (ownerName.empty()) return result();
    if (const auto* e = m->findEvent(ownerName)) {
      fieldsOf(*e);
      return result();
    }
    // An alias: `when cart_add as c` earlier in the text.
    const sema::EventInfo* found = aliasEvent(*m, text, wordStart, ownerName);
    if (found != nullptr) fieldsOf(*found);
    return result();
  }
  if (std::regex_search(linePrefix, afterSend)) {
    std::vector<std::string> names;
    for (const auto& t : m->templates) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) item(n, kKindModule, "template");
    return result();
  }
  if (inSettings(text, wordStart)) {
    for (const auto& s : sema::settingNames()) item(s, kKindProperty, "setting");
    return result();
  }
  if (size_t open = openParen(text, wordStart); open != std::string_view::npos) {
    std::string_view callee = wordBefore(text, open);
    if (const auto* e = m->findEvent(callee)) {
      fieldsOf(*e);
      item("same", kKindKeyword, "");
      for (const auto& k : {"and", "or", "not", "in", "contains", "starts_with"})
        item(k, kKindKeyword, "");
      return result();
    }
    if (callee == "count" || callee == "last" || callee == "sum" || callee == "min" ||
        callee == "max" || callee == "avg" || callee == "median") {
      events();
      return result();
    }
  }
  events();
  for (const auto& f : functions()) item(f, kKindFunction, "");
  for (const auto& k : keywords()) item(k, kKindKeyword, "");
  return result();
}

// ---- Document symbols ---------------------------------------------------------------------------

json Server::symbols(Document& d) {
  json out = json::array();
  if (!d.comp || d.file == kNoFile) return out;
  const SourceManager& sm = d.comp->sources;
  // LSP SymbolKind values.
  constexpr int kFile = 1, kModule = 2, kNamespace = 3, kClass = 5, kMethod = 6, kField = 8,
                kFunction = 12, kConstant = 14, kString = 15, kStruct = 23, kEventKind = 24;
  auto symbol = [&](const std::string& name, int kind, Loc range, Loc selection) {
    if (!range.valid()) range = selection;
    if (!selection.valid() || selection.begin < range.begin || selection.end > range.end)
      selection = range;
    return json{{"name", name.empty() ? std::string("(unnamed)") : name},
                {"kind", kind},
                {"range", rangeOf(sm, range)},
                {"selectionRange", rangeOf(sm, selection)}};
  };
  (void)kFile;
  (void)kStruct;
  for (const auto& f : d.comp->program.files) {
    if (f.id != d.file) continue;
    struct Entry {
      uint32_t begin;
      json sym;
    };
    std::vector<Entry> entries;
    for (const auto& imp : f.imports)
      entries.push_back({imp.loc.begin, symbol(imp.path.value, kModule, imp.loc, imp.path.loc)});
    for (const auto* e : f.events) {
      json s = symbol(e->name.text, kEventKind, e->loc, e->name.loc);
      s["detail"] = "event";
      s["children"] = json::array();
      for (const auto& fd : e->fields) {
        json c = symbol(fd.name.text, kField, fd.loc, fd.name.loc);
        c["detail"] = (fd.optional ? "optional " : "") + fd.type.name;
        s["children"].push_back(std::move(c));
      }
      entries.push_back({e->loc.begin, std::move(s)});
    }
    for (const auto* cu : f.customers) {
      json s = symbol("customer", kClass, cu->loc, cu->loc);
      s["children"] = json::array();
      for (const auto& fd : cu->fields)
        s["children"].push_back(symbol(fd.name.text, kField, fd.loc, fd.name.loc));
      entries.push_back({cu->loc.begin, std::move(s)});
    }
    for (const auto* t : f.templates) {
      json s = symbol(t->name.text, kString, t->loc, t->name.loc);
      s["detail"] = "template";
      entries.push_back({t->loc.begin, std::move(s)});
    }
    for (const auto* st : f.settings) {
      json s = symbol("settings", kNamespace, st->loc, st->loc);
      s["children"] = json::array();
      for (const auto& sd : st->settings)
        s["children"].push_back(symbol(sd.name.text, kConstant, sd.loc, sd.name.loc));
      entries.push_back({st->loc.begin, std::move(s)});
    }
    for (const auto* r : f.rules) {
      json s = symbol(r->name.text, kFunction, r->loc, r->name.loc);
      s["detail"] = r->title ? r->title->value : std::string(r->anonymous ? "rule" : "trigger");
      entries.push_back({r->loc.begin, std::move(s)});
    }
    for (const auto* t : f.tests)
      entries.push_back({t->loc.begin, symbol(t->name.value, kMethod, t->loc, t->name.loc)});
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
    for (auto& e : entries) out.push_back(std::move(e.sym));
  }
  return out;
}

}  // namespace trig::lsp
