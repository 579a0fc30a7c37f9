#pragma once
// Test fixtures for the JIT's unit tests: compile .trig text, build events, an in-memory History.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"
#include "compiler/interp/eval.h"
#include "compiler/jit/history_test_support.h"

namespace trig::jit::testing {

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "trig-jit-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Compiles `source` as a rule file; requires it to check without errors.
inline std::unique_ptr<Compilation> compileText(const std::string& source) {
  TempDir dir;
  auto file = dir.path / "rules.trig";
  std::ofstream(file) << source;
  auto c = compile({file.string()});
  if (!c->ok()) {
    std::vector<Diagnostic> errors;
    for (const auto& d : c->diags.sorted(c->sources))
      if (d.severity == Severity::Error) errors.push_back(d);
    std::ostringstream out;
    renderText(out, errors, c->sources, false);
    for (const auto& d : errors)
      if (d.loc.valid()) {
        const SourceFile& f = c->sources.file(d.loc.file);
        out << "in: " << f.lineText(f.lineCol(d.loc.begin).line) << "\n";
      }
    MESSAGE(out.str());
  }
  REQUIRE(c->ok());
  return c;
}

inline Event event(const Compilation& c, const std::string& name, TimeMs t,
                   std::vector<std::pair<std::string, Value>> fields, uint64_t seq = 0) {
  const sema::EventInfo* info = c.model.findEvent(name);
  REQUIRE(info != nullptr);
  Event e;
  e.type = info->index;
  e.name = name;
  e.customer = "c1";
  e.time = t;
  e.seq = seq;
  e.fields.resize(info->fields.size());
  for (auto& [field, v] : fields) {
    uint32_t slot = info->fieldIndex(field);
    REQUIRE(slot != sema::kNone);
    e.fields[slot] = std::move(v);
  }
  return e;
}

inline const sema::RuleInfo& rule(const Compilation& c, const std::string& name) {
  for (const auto& r : c.model.rules)
    if (r.name == name) return r;
  FAIL("no rule " << name);
  return c.model.rules.front();
}

}  // namespace trig::jit::testing
