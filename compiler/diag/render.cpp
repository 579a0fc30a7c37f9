#include "compiler/diag/render.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace trig {
namespace {

using nlohmann::json;

struct Position {
  std::string path;
  LineCol begin, end;
};

Position position(const SourceManager& sm, Loc loc) {
  if (!loc.valid()) return {"", {0, 0}, {0, 0}};
  const SourceFile& f = sm.file(loc.file);
  return {f.path(), f.lineCol(loc.begin), f.lineCol(loc.end)};
}

// Display width of a byte range of a line: UTF-8 continuation bytes take no column, tabs one.
size_t columns(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

void renderSnippet(std::ostream& out, const SourceManager& sm, Loc loc) {
  if (!loc.valid()) return;
  const SourceFile& f = sm.file(loc.file);
  LineCol b = f.lineCol(loc.begin);
  std::string_view line = f.lineText(b.line);
  if (line.size() > 300) return;  // minified junk: the location says enough
  std::string num = std::to_string(b.line);
  std::string pad(num.size(), ' ');
  std::string shown;
  // Control characters (binary junk) are shown as spaces, so a snippet never drives the terminal.
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    shown += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  out << "    " << num << " | " << shown << "\n";
  size_t startCol = b.column - 1;
  size_t endByte = loc.end > loc.begin ? loc.end : loc.begin + 1;
  LineCol e = f.lineCol(endByte);
  size_t endCol = e.line == b.line ? e.column - 1 : line.size();
  endCol = std::min(endCol, line.size());
  size_t width = endCol > startCol ? columns(line.substr(startCol, endCol - startCol)) : 1;
  out << "    " << pad << " | "
      << std::string(columns(line.substr(0, std::min(startCol, line.size()))), ' ') << "^"
      << std::string(width > 0 ? width - 1 : 0, '~') << "\n";
}

}  // namespace

void renderText(std::ostream& out, const std::vector<Diagnostic>& diags, const SourceManager& sm,
                bool color) {
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  for (const auto& d : diags) {
    Position p = position(sm, d.loc);
    const char* sevColor = !color                          ? ""
                           : d.severity == Severity::Error ? "\033[1;31m"
                                                           : "\033[1;35m";
    out << bold;
    if (d.loc.valid())
      out << p.path << ":" << p.begin.line << ":" << p.begin.column << ": ";
    else
      out << "trig: ";
    out << reset << sevColor << severityName(d.severity) << ":" << reset << bold << " " << d.message
        << reset << "\n";
    renderSnippet(out, sm, d.loc);
    for (const auto& n : d.notes) {
      Position np = position(sm, n.loc);
      if (n.loc.valid()) out << np.path << ":" << np.begin.line << ":" << np.begin.column << ": ";
      out << "note: " << n.message << "\n";
      renderSnippet(out, sm, n.loc);
    }
    if (!d.help.empty()) out << "      = help: " << d.help << "\n";
  }
}

void renderJson(std::ostream& out, const std::vector<Diagnostic>& diags, const SourceManager& sm) {
  json arr = json::array();
  size_t errors = 0, warnings = 0;
  for (const auto& d : diags) {
    Position p = position(sm, d.loc);
    json notes = json::array();
    for (const auto& n : d.notes) {
      Position np = position(sm, n.loc);
      notes.push_back({{"file", np.path},
                       {"line", np.begin.line},
                       {"column", np.begin.column},
                       {"message", n.message}});
    }
    arr.push_back({{"file", p.path},
                   {"line", p.begin.line},
                   {"column", p.begin.column},
                   {"end_line", p.end.line},
                   {"end_column", p.end.column},
                   {"severity", severityName(d.severity)},
                   {"kind", kindName(d.kind)},
                   {"message", d.message},
                   {"help", d.help},
                   {"notes", notes}});
    errors += d.severity == Severity::Error;
    warnings += d.severity == Severity::Warning;
  }
  json doc = {{"diagnostics", arr}, {"errors", errors}, {"warnings", warnings}};
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void renderSarif(std::ostream& out, const std::vector<Diagnostic>& diags, const SourceManager& sm) {
  std::set<std::string> used;
  for (const auto& d : diags) used.insert(kindName(d.kind));
  json rules = json::array();
  std::vector<std::string> ruleIds(used.begin(), used.end());
  for (const auto& id : ruleIds)
    rules.push_back({{"id", id}, {"name", id}, {"shortDescription", {{"text", id}}}});
  json results = json::array();
  for (const auto& d : diags) {
    Position p = position(sm, d.loc);
    std::string id = kindName(d.kind);
    auto idx = std::find(ruleIds.begin(), ruleIds.end(), id) - ruleIds.begin();
    std::string text = d.message + (d.help.empty() ? "" : " (help: " + d.help + ")");
    json r = {{"ruleId", id},
              {"ruleIndex", idx},
              {"level", d.severity == Severity::Error     ? "error"
                        : d.severity == Severity::Warning ? "warning"
                                                          : "note"},
              {"message", {{"text", text}}}};
    if (d.loc.valid()) {
      r["locations"] =
          json::array({{{"physicalLocation",
                         {{"artifactLocation", {{"uri", p.path}}},
                          {"region",
                           {{"startLine", p.begin.line},
                            {"startColumn", p.begin.column},
                            {"endLine", p.end.line},
                            {"endColumn", std::max(p.end.column, p.begin.column + 1)}}}}}}});
    }
    if (!d.notes.empty()) {
      json related = json::array();
      int k = 0;
      for (const auto& n : d.notes) {
        Position np = position(sm, n.loc);
        json rel = {{"id", k++}, {"message", {{"text", n.message}}}};
        if (n.loc.valid())
          rel["physicalLocation"] = {
              {"artifactLocation", {{"uri", np.path}}},
              {"region", {{"startLine", np.begin.line}, {"startColumn", np.begin.column}}}};
        related.push_back(rel);
      }
      r["relatedLocations"] = related;
    }
    results.push_back(r);
  }
  json doc = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       json::array(
           {{{"tool", {{"driver", {{"name", "trig"}, {"version", "0.1.0"}, {"rules", rules}}}}},
             {"results", results}}})}};
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace trig
