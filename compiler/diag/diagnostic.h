#pragma once
// Diagnostics are values: a kind (listed once in kinds.def), a severity, a range, a message,
// notes at other ranges and an optional help line. Passes report through a DiagEngine:
//
//   diags.report(DiagKind::DuplicateDecl, loc, "duplicate template '{}'", name)
//        .note(prev, "previous declaration is here");
#include <fmt/format.h>

#include <string>
#include <vector>

#include "compiler/source/source.h"

namespace trig {

enum class Severity { Note, Warning, Error };

enum class DiagKind {
#define DIAG(name, sev, str) name,
#include "compiler/diag/kinds.def"
#undef DIAG
};

Severity defaultSeverity(DiagKind k);
const char* kindName(DiagKind k);
const char* severityName(Severity s);
// Every kind, in kinds.def order (the golden suite checks each has a case).
const std::vector<DiagKind>& allDiagKinds();

struct DiagNote {
  Loc loc;
  std::string message;
};

struct Diagnostic {
  DiagKind kind;
  Severity severity;
  Loc loc;
  std::string message;
  std::vector<DiagNote> notes;
  std::string help;
};

class DiagEngine {
 public:
  class Builder {
   public:
    Builder(Diagnostic& d) : d_(d) {}
    Builder& note(Loc loc, std::string message) {
      d_.notes.push_back({loc, std::move(message)});
      return *this;
    }
    Builder& help(std::string text) {
      d_.help = std::move(text);
      return *this;
    }

   private:
    Diagnostic& d_;
  };

  template <typename... Args>
  Builder report(DiagKind kind, Loc loc, fmt::format_string<Args...> f, Args&&... args) {
    return add(kind, loc, fmt::format(f, std::forward<Args>(args)...));
  }
  Builder add(DiagKind kind, Loc loc, std::string message);

  const std::vector<Diagnostic>& all() const { return diags_; }
  size_t errorCount() const;
  size_t warningCount() const;
  // Sorted by file, offset, then report order; exact duplicates removed. Deterministic.
  std::vector<Diagnostic> sorted(const SourceManager& sm) const;

 private:
  std::vector<Diagnostic> diags_;
};

// "Did you mean": the closest candidate by edit distance, if close enough to be a likely typo.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace trig
