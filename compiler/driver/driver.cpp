#include "compiler/driver/driver.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>

#include "compiler/parse/parse.h"
#include "compiler/sema/sema.h"
#include "stdlib/stdlib.h"

namespace trig {
namespace {

namespace fs = std::filesystem;

class Loader {
 public:
  explicit Loader(Compilation& c) : c_(c) {}

  void loadStdlib() {
    for (const auto& f : stdlib::files()) {
      FileId id = c_.sources.add(std::string(f.path), std::string(f.text));
      ast::File file = parse::parseFile(c_.sources.file(id), id, c_.program.arena, c_.diags);
      file.isStdlib = true;
      c_.program.files.push_back(std::move(file));
    }
  }

  // Loads `path` after its imports (depth-first); each file once. Iterative, with the chain of
  // files being loaded kept on the heap: a chain of imports thousands of files deep is a valid
  // program and must not exhaust the stack (5,100 files did).
  void load(const std::string& path, Loc importedFrom) {
    open(path, importedFrom);
    while (!loading_.empty()) {
      Pending& top = loading_.back();
      if (top.nextImport == top.file.imports.size()) {
        // The file is appended after its imports, so declaration order is imports first.
        inProgress_.erase(top.key);
        c_.program.files.push_back(std::move(top.file));
        loading_.pop_back();
        continue;
      }
      const ast::ImportDecl& imp = top.file.imports[top.nextImport++];
      fs::path target = top.dir / imp.path.value;
      Loc at = imp.path.loc;
      if (inProgress_.count(canonical(target.string())) != 0) {  // before `loaded_`: a cycle
        c_.diags.report(DiagKind::ImportCycle, imp.loc,
                        "import cycle: '{}' is already being loaded", imp.path.value);
        continue;
      }
      open(target.string(), at);  // may move `top`
    }
  }

 private:
  // A file whose imports are being loaded: they come before it in the program.
  struct Pending {
    std::string key;
    ast::File file;
    fs::path dir;
    size_t nextImport = 0;
  };

  // Reads and parses `path` and pushes it onto `loading_`; nothing when it was loaded already,
  // a diagnostic when it cannot be read.
  void open(const std::string& path, Loc importedFrom) {
    std::string key = canonical(path);
    if (!loaded_.insert(key).second) return;  // each file once
    std::string text, reason;
    switch (readSourceFile(path, text, reason)) {
      case ReadStatus::Ok: break;
      case ReadStatus::Failed:
        if (importedFrom.valid())
          c_.diags.report(DiagKind::ImportNotFound, importedFrom,
                          "cannot find imported file '{}': {}", path, reason);
        else
          c_.diags.report(DiagKind::IoError, Loc{}, "cannot open '{}': {}", path, reason);
        return;
      case ReadStatus::TooLarge:
        c_.diags
            .report(DiagKind::IoError, importedFrom, "cannot read '{}': it is {}", path,
                    tooLargeText())
            .help("split the rules into several files that import each other");
        return;
    }
    FileId id = c_.sources.add(displayPath(path), std::move(text));
    ast::File file = parse::parseFile(c_.sources.file(id), id, c_.program.arena, c_.diags);
    inProgress_.insert(key);
    loading_.push_back({key, std::move(file), fs::path(path).parent_path()});
  }

  static std::string canonical(const std::string& p) {
    std::error_code ec;
    fs::path c = fs::weakly_canonical(p, ec);
    return ec ? p : c.string();
  }
  static std::string displayPath(const std::string& p) {
    fs::path n = fs::path(p).lexically_normal();
    return n.string();
  }

  Compilation& c_;
  std::vector<Pending> loading_;      // the chain of imports being loaded, outermost first
  std::set<std::string> inProgress_;  // their keys
  std::set<std::string> loaded_;
};

}  // namespace

std::vector<std::string> expandTrigPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(p, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file() && it->path().extension() == ".trig")
        found.push_back(it->path().lexically_normal().string());
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::unique_ptr<Compilation> compile(const std::vector<std::string>& paths) {
  auto c = std::make_unique<Compilation>();
  Loader loader(*c);
  loader.loadStdlib();
  for (const auto& p : expandTrigPaths(paths)) loader.load(p, Loc{});
  c->model = sema::analyze(c->program, c->sources, c->diags);
  return c;
}

}  // namespace trig
