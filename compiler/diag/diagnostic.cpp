#include "compiler/diag/diagnostic.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace trig {

Severity defaultSeverity(DiagKind k) {
  switch (k) {
#define DIAG(name, sev, str) \
  case DiagKind::name: return Severity::sev;
#include "compiler/diag/kinds.def"
#undef DIAG
  }
  return Severity::Error;
}

const char* kindName(DiagKind k) {
  switch (k) {
#define DIAG(name, sev, str) \
  case DiagKind::name: return str;
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
  const Severity severity = defaultSeverity(kind);
  const auto s = static_cast<size_t>(severity);
  if (kept_[s] >= kMaxKept) {
    ++omitted_[s];
    omittedScratch_ = Diagnostic{kind, severity, loc, {}, {}, {}};
    return Builder(omittedScratch_);
  }
  ++kept_[s];
  diags_.push_back(Diagnostic{kind, severity, loc, std::move(message), {}, {}});
  return Builder(diags_.back());
}

std::string omittedLine(const DiagEngine& diags) {
  if (diags.omitted() == 0) return {};
  return fmt::format("{} more problems not shown (only the first {} errors and {} warnings are)",
                     diags.omitted(), DiagEngine::kMaxKept, DiagEngine::kMaxKept);
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
  // Exact duplicates (kind, place, message) are dropped; a set keeps this O(n log n), since a
  // broken rule set can produce tens of thousands of findings.
  std::vector<Diagnostic> out;
  std::set<std::tuple<int, FileId, uint32_t, std::string_view>> seen;
  for (size_t i : order) {
    const Diagnostic& d = diags_[i];
    if (seen.emplace(static_cast<int>(d.kind), d.loc.file, d.loc.begin, d.message).second)
      out.push_back(d);
  }
  return out;
}

// Optimal string alignment distance: insert, delete, substitute, swap of neighbours. Three
// rolling rows; the caller skips candidates whose length alone puts them out of reach.
static size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, (word.size() + 2) / 3));
  std::string best;
  size_t bestDist = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t gap = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (gap > limit || gap > bestDist) continue;
    size_t d = editDistance(word, c);
    if (d < bestDist || (d == bestDist && c < best)) {
      bestDist = d;
      best = c;
    }
  }
  return bestDist <= limit ? best : std::string();
}

}  // namespace trig
