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
  // Keeps the first kMaxKept diagnostics of each severity; later ones are counted, not kept
  // (one broken line repeated a million times must not print, or hold, millions of findings).
  Builder add(DiagKind kind, Loc loc, std::string message);
  static constexpr size_t kMaxKept = 100;

  const std::vector<Diagnostic>& all() const { return diags_; }
  // Every error and warning reported, the omitted ones included.
  size_t errorCount() const { return kept_[2] + omitted_[2]; }
  size_t warningCount() const { return kept_[1] + omitted_[1]; }
  // How many were reported beyond kMaxKept and not kept.
  size_t omitted() const { return omitted_[0] + omitted_[1] + omitted_[2]; }
  // Sorted by file, offset, then report order; exact duplicates removed. Deterministic.
  std::vector<Diagnostic> sorted(const SourceManager& sm) const;

 private:
  std::vector<Diagnostic> diags_;
  size_t kept_[3] = {0, 0, 0};     // by Severity
  size_t omitted_[3] = {0, 0, 0};  // by Severity
  Diagnostic omittedScratch_;      // what a Builder of an omitted one fills
};

// "N more errors (or warnings) not shown": empty when nothing was omitted.
std::string omittedLine(const DiagEngine& diags);

// "Did you mean": the closest candidate by edit distance, if close enough to be a likely typo.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace trig
