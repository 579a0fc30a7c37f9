// Templates that live in files: `body file "path"` and, for an undeclared `send X`,
// `templates/X.txt` or `templates/X.html` beside the rule file, whose first line is
// `Subject: ...`. Files are added to the SourceManager so diagnostics can point into them.
#include <cctype>
#include <filesystem>

#include "compiler/parse/parse.h"
#include "compiler/sema/context.h"
#include "compiler/source/source.h"

namespace trig::sema::detail {
namespace {

namespace fs = std::filesystem;

fs::path besidePath(const Context& c, FileId nearFile, const std::string& relative) {
  fs::path dir = fs::path(c.sources.file(nearFile).path()).parent_path();
  return (dir / relative).lexically_normal();
}

// Reads a template file: `Subject: ...` on the first line, then the body. A blank line right
// after the subject separates it from the body, as in an e-mail, and is not part of the body.
TemplateInfo readTemplateFile(Context& c, const std::string& name, FileId f) {
  const SourceFile& sf = c.sources.file(f);
  std::string_view text = sf.text();
  TemplateInfo info;
  info.name = name;
  info.path = sf.path();
  info.html = fs::path(sf.path()).extension() == ".html";
  info.loc = Loc{f, 0, 0};

  size_t eol = text.find('\n');
  size_t lineEnd = eol == std::string_view::npos ? text.size() : eol;
  size_t contentEnd = lineEnd > 0 && text[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
  std::string_view first = text.substr(0, contentEnd);
  constexpr std::string_view kSubject = "Subject:";
  bool hasSubject = first.size() >= kSubject.size();
  for (size_t i = 0; hasSubject && i < kSubject.size(); ++i)
    hasSubject = std::tolower(static_cast<unsigned char>(first[i])) ==
                 std::tolower(static_cast<unsigned char>(kSubject[i]));
  size_t bodyBegin = 0;
  if (hasSubject) {
    size_t s = kSubject.size();
    while (s < first.size() && (first[s] == ' ' || first[s] == '\t')) ++s;
    info.subject =
        parse::parseTemplate(first.substr(s), f, static_cast<uint32_t>(s), false, c.diags);
    bodyBegin = eol == std::string_view::npos ? text.size() : eol + 1;
    if (text.substr(bodyBegin, 1) == "\n")
      bodyBegin += 1;
    else if (text.substr(bodyBegin, 2) == "\r\n")
      bodyBegin += 2;
  } else {
    c.diags
        .report(DiagKind::BadTemplateDecl, Loc{f, 0, static_cast<uint32_t>(contentEnd)},
                "template file '{}' does not start with a 'Subject: ...' line", sf.path())
        .help(
            "write the subject on the first line, e.g. 'Subject: Your cart is waiting', then the "
            "body");
  }
  info.body = parse::parseTemplate(text.substr(bodyBegin), f, static_cast<uint32_t>(bodyBegin),
                                   false, c.diags);
  return info;
}

}  // namespace

FileId loadBeside(Context& c, FileId nearFile, const std::string& relative, bool& tooLarge) {
  tooLarge = false;
  fs::path p = besidePath(c, nearFile, relative);
  std::string key = p.string();
  if (FileId known = c.sources.find(key); known != kNoFile) return known;
  if (!sourceFileExists(key)) return kNoFile;
  std::string text, reason;
  ReadStatus status = readSourceFile(key, text, reason);
  if (status == ReadStatus::Ok) return c.sources.add(key, std::move(text));
  tooLarge = status == ReadStatus::TooLarge;
  return kNoFile;
}

uint32_t findTemplate(Context& c, const std::string& name, Loc usedAt) {
  Model& m = c.model;
  if (auto it = m.templateByName.find(name); it != m.templateByName.end()) return it->second;
  if (name.empty() || !usedAt.valid()) return kNone;
  for (const char* ext : {".txt", ".html"}) {
    std::string relative = "templates/" + name + ext;
    bool tooLarge = false;
    FileId f = loadBeside(c, usedAt.file, relative, tooLarge);
    if (tooLarge) {
      c.diags.report(DiagKind::BadTemplateDecl, usedAt,
                     "cannot read the template file '{}': it is {}", relative, tooLargeText());
      c.unparsedTemplates.insert(name);  // reported: not also an unknown template
      return kNone;
    }
    if (f == kNoFile) continue;
    uint32_t index = static_cast<uint32_t>(m.templates.size());
    m.templates.push_back(readTemplateFile(c, name, f));
    m.templateByName.emplace(name, index);
    c.templateDeclLoc.push_back(Loc{f, 0, 0});
    return index;
  }
  return kNone;
}

}  // namespace trig::sema::detail
