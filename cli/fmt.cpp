// `trig fmt [--check] [-w] PATH...`: the canonical layout of .trig files (docs/language.md,
// "Formatting"). Without flags it prints each file formatted; --check prints a unified diff for
// each file not in the canonical layout and exits 1; -w rewrites those files. A file with syntax
// errors is refused with its diagnostics (exit 1) and never changed.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"
#include "compiler/format/format.h"

namespace trig::cli {
namespace {

struct FmtOptions {
  std::vector<std::string> paths;
  bool check = false;
  bool write = false;
};

bool readText(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

// Writes through a temporary file renamed over `path`, so a failed write leaves it as it was.
bool writeText(const std::string& path, const std::string& text) {
  std::string tmp = path + ".trigfmt.tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::permissions(tmp, std::filesystem::status(path, ec).permissions(), ec);
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

int runFmt(const FmtOptions& o) {
  int rc = kExitOk;
  for (const auto& path : expandTrigPaths(o.paths)) {
    std::string text;
    if (!readText(path, text)) {
      std::cerr << "trig fmt: cannot read " << path << "\n";
      rc = kExitUsage;
      continue;
    }
    SourceManager sources;
    FileId id = sources.add(path, text);
    DiagEngine diags;
    auto formatted = format::formatFile(sources.file(id), id, diags);
    if (!formatted) {
      std::vector<Diagnostic> errors;
      for (const auto& d : diags.sorted(sources))
        if (d.severity == Severity::Error) errors.push_back(d);
      renderText(std::cerr, errors, sources, useColor(STDERR_FILENO));
      if (std::string more = omittedLine(diags); !more.empty()) std::cerr << more << "\n";
      std::cerr << "trig fmt: " << path << " has syntax errors; it was not formatted\n";
      if (rc == kExitOk) rc = kExitFailed;
      continue;
    }
    if (o.check) {
      if (*formatted != text) {
        std::cout << format::unifiedDiff(text, *formatted, "a/" + path, "b/" + path);
        if (rc == kExitOk) rc = kExitFailed;
      }
    } else if (o.write) {
      if (*formatted != text && !writeText(path, *formatted)) {
        std::cerr << "trig fmt: cannot write " << path << "\n";
        rc = kExitUsage;
      }
    } else {
      std::cout << *formatted;
    }
  }
  std::cout.flush();
  return rc;
}

}  // namespace

void addFmtCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<FmtOptions>();
  auto* cmd =
      app.add_subcommand("fmt", "Print, check or rewrite .trig files in the canonical layout");
  cmd->add_option("paths", o->paths,
                  "The .trig files, or directories (every .trig file under them)")
      ->required();
  auto* check =
      cmd->add_flag("--check", o->check,
                    "Print a unified diff for each file not in the canonical layout; exit "
                    "1 if there is one");
  cmd->add_flag("-w,--write", o->write, "Rewrite the files in the canonical layout")
      ->excludes(check);
  cmd->callback([o, &action] { action = [o] { return runFmt(*o); }; });
}

}  // namespace trig::cli
