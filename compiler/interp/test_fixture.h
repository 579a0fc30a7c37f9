#pragma once
// For unit tests of the interpreter and the engine: a program checked from memory (prelude +
// one file, as the driver does), events built by field name, and a plain History.
#include <doctest/doctest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "compiler/diag/render.h"
#include "compiler/interp/eval.h"
#include "compiler/parse/parse.h"
#include "compiler/plan/build.h"
#include "compiler/sema/sema.h"
#include "stdlib/stdlib.h"

namespace trig::testing {

struct CheckedProgram {
  SourceManager sources;
  ast::Program program;
  DiagEngine diags;
  sema::Model model;

  // `allowErrors`: keep going with a program that fails `check` (to test the runtime's safety
  // nets).
  explicit CheckedProgram(const std::string& text, bool allowErrors = false) {
    for (const auto& f : stdlib::files()) {
      FileId id = sources.add(std::string(f.path), std::string(f.text));
      ast::File file = parse::parseFile(sources.file(id), id, program.arena, diags);
      file.isStdlib = true;
      program.files.push_back(std::move(file));
    }
    FileId id = sources.add("unit.trig", text);
    program.files.push_back(parse::parseFile(sources.file(id), id, program.arena, diags));
    model = sema::analyze(program, sources, diags);
    if (diags.errorCount() > 0 && !allowErrors) {
      std::ostringstream out;
      renderText(out, diags.sorted(sources), sources);
      FAIL_CHECK("the test program does not check:\n" << out.str());
    }
  }

  const sema::RuleInfo& rule(const std::string& name) const {
    for (const auto& r : model.rules)
      if (r.name == name) return r;
    FAIL("no rule " << name);
    return model.rules.front();
  }

  // The first expression of the file whose source text is exactly `text`.
  const ast::Expr& expr(const std::string& text) const {
    const SourceFile& f = sources.file(program.files.back().id);
    for (uint32_t i = 0; i < program.arena.exprCount(); ++i) {
      const ast::Expr* e = const_cast<ast::AstArena&>(program.arena).expr(i);
      if (e->loc.file != program.files.back().id) continue;
      if (f.text().substr(e->loc.begin, e->loc.end - e->loc.begin) == text) return *e;
    }
    FAIL("no expression " << text);
    return *const_cast<ast::AstArena&>(program.arena).expr(0);
  }

  // A track event with fields given by name (the others absent).
  Event event(const std::string& name, TimeMs t,
              std::initializer_list<std::pair<const char*, Value>> fields, uint64_t seq = 0,
              const std::string& customer = "c1") const {
    Event e;
    const sema::EventInfo* info = model.findEvent(name);
    REQUIRE(info != nullptr);
    e.type = info->index;
    e.name = name;
    e.customer = customer;
    e.time = t;
    e.seq = seq;
    e.fields.resize(info->fields.size());
    for (const auto& [n, v] : fields) {
      uint32_t idx = info->fieldIndex(n);
      REQUIRE(idx != sema::kNone);
      e.fields[idx] = v;
    }
    return e;
  }

  std::vector<Value> traits(std::initializer_list<std::pair<const char*, Value>> values) const {
    std::vector<Value> out(model.traits.size());
    uint32_t sub = model.traitIndex("subscribed");
    if (sub != sema::kNone) out[sub] = Value::boolean(true);
    for (const auto& [n, v] : values) {
      uint32_t idx = model.traitIndex(n);
      REQUIRE(idx != sema::kNone);
      out[idx] = v;
    }
    return out;
  }
};

// Every event given, in order (events must be added in time order).
class VectorHistory final : public History {
 public:
  void add(Event e) { events_.push_back(std::move(e)); }
  void forEach(uint32_t type, TimeMs from, TimeMs to,
               const std::function<bool(const Event&)>& f) const override {
    for (const auto& e : events_)
      if (e.type == type && e.time >= from && e.time <= to && !f(e)) return;
  }

 private:
  std::vector<Event> events_;
};

inline Value money(const char* text) {
  return Value::money(*Decimal::parse(text));
}
inline TimeMs at(const char* rfc3339) {
  return *parseTimestamp(rfc3339);
}

}  // namespace trig::testing
