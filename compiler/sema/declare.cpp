// Declarations: the tables of events (with their flat field layout), customer traits, templates
// and rules, in declaration order (prelude first, then imports depth-first, then the files).
// Reports duplicates with a note at the previous declaration.
#include <algorithm>
#include <filesystem>

#include "compiler/parse/parse.h"
#include "compiler/sema/context.h"

namespace trig::sema::detail {
namespace {

// Lays out `decls` as fields (slot = position), skipping duplicates. `what` names the owner
// in messages ("event 'cart_add'", "the customer profile").
void declareFields(Context& c, const std::vector<ast::FieldDecl>& decls,
                   std::vector<FieldInfo>& out, const std::string& what, bool traits) {
  std::vector<std::pair<const ast::StringLit*, size_t>> aliases;  // `from` names, by field
  for (const auto& fd : decls) {
    if (fd.name.text.empty()) continue;
    bool dup = false;
    for (const auto& prev : out) {
      if (prev.name != fd.name.text) continue;
      auto b = c.diags.report(DiagKind::DuplicateDecl, fd.name.loc, "{} already has a {} '{}'",
                              what, traits ? "trait" : "field", fd.name.text);
      if (prev.loc.valid()) b.note(prev.loc, "previous declaration is here");
      dup = true;
      break;
    }
    if (dup) continue;
    FieldInfo f;
    f.name = fd.name.text;
    f.type = resolveTypeRef(c, fd.type);
    f.optional = fd.optional;
    f.defaultValue = fd.defaultValue;
    f.slot = static_cast<uint32_t>(out.size());
    f.loc = fd.name.loc;
    for (const auto& alias : fd.aliases) aliases.emplace_back(&alias, out.size());
    if (fd.defaultValue != nullptr) {
      const ast::Expr& d = *fd.defaultValue;
      if (!isConstant(d)) {
        c.diags
            .report(DiagKind::BadDefault, d.loc, "the default of '{}' must be a constant", f.name)
            .help("write a value such as 0, 9.99, \"none\", true or 1h");
      } else {
        Typed t = checkExpr(c, d, Scope{});
        if (!t.type.isError() && !f.type.isError()) {
          if (!assignable(t.type, t.flexible, f.type))
            c.diags.report(DiagKind::BadDefault, d.loc,
                           "the default of '{}' is {} {}, but '{}' is declared as {}", f.name,
                           t.type.kind == TypeKind::Int ? "an" : "a", typeName(t.type), f.name,
                           typeName(f.type));
          else if (f.type.kind == TypeKind::Money && d.kind == ast::ExprKind::IntLit &&
                   !Decimal::fromInt(d.intValue))
            c.diags
                .report(DiagKind::BadDefault, d.loc, "the default of '{}' is too large for money",
                        f.name)
                .help(fmt::format("money goes up to {}", Decimal::kMaxText));
          else
            settleFlexible(c, d, f.type);
        }
      }
    }
    out.push_back(std::move(f));
  }
  // A key fills one field only: an alias is neither a field's name nor another field's alias.
  for (const auto& [alias, field] : aliases) {
    const FieldInfo* owner = nullptr;
    for (const auto& other : out)
      if (other.name == alias->value || std::find(other.aliases.begin(), other.aliases.end(),
                                                  alias->value) != other.aliases.end())
        owner = &other;
    if (owner != nullptr) {
      c.diags
          .report(DiagKind::DuplicateDecl, alias->loc, "'{}' {} the {} '{}' of {}", alias->value,
                  owner->name == alias->value ? "is already the name of" : "already fills",
                  traits ? "trait" : "field", owner->name, what)
          .note(owner->loc, "'" + owner->name + "' is declared here");
      continue;
    }
    out[field].aliases.push_back(alias->value);
  }
}

// `event cart_add from "Add To Cart" { gift_wrap?: bool }` in a project: the standard event gets
// the aliases and the optional fields (after its own, so the standard slots stay). A required
// field, `passive`, or a field it already has is an error.
void extendStdEvent(Context& c, EventInfo& info, const ast::EventDecl& ev) {
  if (ev.passive && !info.passive)
    c.diags
        .report(DiagKind::RedeclaredStdEvent, ev.name.loc,
                "an extension of the standard event '{}' cannot make it passive", info.name)
        .note(info.decl->name.loc, "the standard declaration is here");
  std::vector<ast::FieldDecl> added;
  for (const auto& fd : ev.fields) {
    if (fd.optional || fd.defaultValue != nullptr || fd.name.text.empty()) {
      added.push_back(fd);
      continue;
    }
    c.diags
        .report(DiagKind::RedeclaredStdEvent, fd.name.loc,
                "an extension of the standard event '{}' can only add optional fields, but '{}' "
                "is required",
                info.name, fd.name.text)
        .note(info.decl->name.loc, "the standard declaration is here")
        .help(fmt::format("write '{}?: ...' (absent when not sent) or give it a default",
                          fd.name.text));
  }
  declareFields(c, added, info.fields, "event '" + info.name + "'", false);
}

void declareEvents(Context& c) {
  Model& m = c.model;
  std::vector<std::pair<uint32_t, const ast::EventDecl*>> declared;  // with extensions
  for (const auto& file : c.program.files) {
    for (const ast::EventDecl* ev : file.events) {
      const std::string& name = ev->name.text;
      if (name.empty()) continue;
      if (auto it = m.eventByName.find(name); it != m.eventByName.end()) {
        EventInfo& prev = m.events[it->second];
        if (prev.stdlib && !file.isStdlib) {
          extendStdEvent(c, prev, *ev);
          declared.emplace_back(prev.index, ev);
        } else {
          c.diags
              .report(DiagKind::DuplicateDecl, ev->name.loc, "event '{}' is already declared", name)
              .note(prev.decl->name.loc, "previous declaration is here");
        }
        continue;
      }
      EventInfo info;
      info.index = static_cast<uint32_t>(m.events.size());
      info.name = name;
      info.passive = ev->passive;
      info.stdlib = file.isStdlib;
      info.decl = ev;
      declareFields(c, ev->fields, info.fields, "event '" + name + "'", false);
      m.eventByName.emplace(name, info.index);
      c.eventNames.push_back(name);
      declared.emplace_back(info.index, ev);
      m.events.push_back(std::move(info));
    }
  }
  // `from` aliases are the names events arrive under: each must lead to one event only.
  for (auto [index, decl] : declared) {
    EventInfo& info = m.events[index];
    for (const auto& alias : decl->aliases) {
      const std::string& a = alias.value;
      if (auto it = m.eventByName.find(a); it != m.eventByName.end() && it->second != info.index) {
        c.diags
            .report(DiagKind::DuplicateDecl, alias.loc, "'{}' is already the name of event '{}'", a,
                    a)
            .note(m.events[it->second].decl->name.loc, "event '" + a + "' is declared here");
        continue;
      }
      auto [it, fresh] = m.eventByAlias.emplace(a, info.index);
      if (!fresh && it->second != info.index) {
        c.diags
            .report(DiagKind::DuplicateDecl, alias.loc, "'{}' is already an alias of event '{}'", a,
                    m.events[it->second].name)
            .note(m.events[it->second].decl->name.loc,
                  "event '" + m.events[it->second].name + "' is declared here");
        continue;
      }
      if (fresh) info.aliases.push_back(a);
    }
  }
}

void declareTraits(Context& c) {
  for (const auto& file : c.program.files)
    for (const ast::CustomerDecl* cu : file.customers)
      declareFields(c, cu->fields, c.model.traits, "the customer profile", true);
}

void declareTemplates(Context& c) {
  Model& m = c.model;
  for (const auto& file : c.program.files) {
    for (const ast::TemplateDecl* t : file.templates) {
      const std::string& name = t->name.text;
      if (name.empty()) continue;
      if (auto it = m.templateByName.find(name); it != m.templateByName.end()) {
        c.diags
            .report(DiagKind::DuplicateDecl, t->name.loc, "template '{}' is already declared", name)
            .note(c.templateDeclLoc[it->second], "previous declaration is here");
        continue;
      }
      TemplateInfo info;
      info.name = name;
      info.subject = t->subject;
      info.body = t->body;
      info.decl = t;
      info.loc = t->name.loc;
      if (!t->subject)
        c.diags.report(DiagKind::BadTemplateDecl, t->name.loc, "template '{}' has no subject", name)
            .help("add a subject line: subject \"Your cart is waiting\"");
      if (t->bodyFile) {
        bool tooLarge = false;
        FileId f = loadBeside(c, t->loc.file, t->bodyFile->value, tooLarge);
        if (f == kNoFile && tooLarge) {
          c.diags.report(DiagKind::BadTemplateDecl, t->bodyFile->loc,
                         "cannot read the body file '{}': it is {}", t->bodyFile->value,
                         tooLargeText());
        } else if (f == kNoFile) {
          c.diags
              .report(DiagKind::BadTemplateDecl, t->bodyFile->loc, "cannot read the body file '{}'",
                      t->bodyFile->value)
              .help("the path is relative to the directory of this .trig file");
        } else {
          const SourceFile& sf = c.sources.file(f);
          info.body = parse::parseTemplate(sf.text(), f, 0, false, c.diags);
          info.path = sf.path();
          info.html = std::filesystem::path(sf.path()).extension() == ".html";
        }
      } else if (!t->body) {
        c.diags.report(DiagKind::BadTemplateDecl, t->name.loc, "template '{}' has no body", name)
            .help("add body \"...\" or body file \"emails/" + name + ".html\"");
      }
      m.templateByName.emplace(name, static_cast<uint32_t>(m.templates.size()));
      m.templates.push_back(std::move(info));
      c.templateNames.push_back(name);
      c.templateDeclLoc.push_back(t->name.loc);
    }
  }
}

// The rule table: names (explicit, or the first template sent) and declaration order.
void declareRules(Context& c) {
  Model& m = c.model;
  std::unordered_map<std::string, uint32_t> byName;
  for (const auto& file : c.program.files) {
    for (const ast::Rule* r : file.rules) {
      RuleInfo info;
      info.rule = r;
      info.name = r->name.text;
      info.order = static_cast<uint32_t>(m.rules.size());
      info.priority = r->priority.value_or(0);
      info.priorityExpr = r->priorityExpr;
      if (!info.name.empty()) {
        auto [it, fresh] = byName.emplace(info.name, info.order);
        if (!fresh) {
          const ast::Rule& prev = *m.rules[it->second].rule;
          auto b = c.diags.report(DiagKind::DuplicateDecl, ruleLoc(*r),
                                  "a rule named '{}' is already declared", info.name);
          b.note(ruleLoc(prev), "previous declaration is here");
          if (r->anonymous || prev.anonymous)
            b.help(
                "a rule without a name is named after its first template; name one of them with "
                "`trigger NAME: ...`");
        }
      }
      m.rules.push_back(std::move(info));
    }
  }
}

}  // namespace

void declare(Context& c) {
  for (const auto& file : c.program.files) {
    for (const auto& u : file.unparsed) {
      if (u.keyword == "event")
        c.unparsedEvents.insert(u.name);
      else if (u.keyword == "template")
        c.unparsedTemplates.insert(u.name);
      else if (u.keyword == "trigger")
        c.unparsedRules.insert(u.name);
    }
  }
  declareTraits(c);
  declareEvents(c);
  declareTemplates(c);
  declareRules(c);
}

}  // namespace trig::sema::detail
