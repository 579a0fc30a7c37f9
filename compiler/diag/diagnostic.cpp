#include "compiler/diag/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace trig {

Severity defaultSeverity(DiagKind k) {
  switch (k) {
#define DIAG(name, sev, str) \
  case DiagKind::name:       \
    return Severity::sev;
#include "compiler/diag/kinds.def"
#undef DIAG
  }
  return Severity::Error;
}

const char* kindName(DiagKind k) {
  switch (k) {
#define DIAG(name, sev, str) \
  case DiagKind::name:       \
    return str;
#include "compiler/diag/kinds.def"
#undef DIAG
  }
  return "unknown";
}

const char* severityName(Severity s) {
  switch (s) {
    case Severity::Note: return "note";
    case Severity::Warning: return "warning";
    case Severity::Error: return "error";
  }
  return "error";
}

const std::vector<DiagKind>& allDiagKinds() {
  static const std::vector<DiagKind> kinds = {
#define DIAG(name, sev, str) DiagKind::name,
#include "compiler/diag/kinds.def"
#undef DIAG
  };
  return kinds;
}

DiagEngine::Builder DiagEngine::add(DiagKind kind, Loc loc, std::string message) {
  diags_.push_back(Diagnostic{kind, defaultSeverity(kind), loc, std::move(message), {}, {}});
  return Builder(diags_.back());
}

size_t DiagEngine::errorCount() const {
  return std::count_if(diags_.begin(), diags_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

size_t DiagEngine::warningCount() const {
  return std::count_if(diags_.begin(), diags_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Warning; });
}

std::vector<Diagnostic> DiagEngine::sorted(const SourceManager& sm) const {
  std::vector<size_t> order(diags_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) {
    const Diagnostic& d = diags_[i];
    std::string path = d.loc.valid() ? sm.file(d.loc.file).path() : std::string();
    return std::make_tuple(path, d.loc.begin, d.loc.end, i);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<Diagnostic> out;
  for (size_t i : order) {
    const Diagnostic& d = diags_[i];
    bool dup = std::any_of(out.begin(), out.end(), [&](const Diagnostic& o) {
      return o.kind == d.kind && o.loc.file == d.loc.file && o.loc.begin == d.loc.begin &&
             o.message == d.message;
    });
    if (!dup) out.push_back(d);
  }
  return out;
}

// Optimal string alignment distance: insert, delete, substitute, swap of neighbours.
static size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t bestDist = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDist || (d == bestDist && c < best)) {
      bestDist = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, (word.size() + 2) / 3));
  return bestDist <= limit ? best : std::string();
}

}  // namespace trig
