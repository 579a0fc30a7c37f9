#include "cli/test_report.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

namespace trig::cli {
namespace {

std::string placeText(const Place& p) { return fmt::format("{}:{}:{}", p.file, p.line, p.column); }

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += ch; break;
    }
  }
  return out;
}

std::string failureText(const TestResult& r) {
  std::string text;
  for (const auto& f : r.failures) text += placeText(f.where) + ": " + f.message + "\n";
  return text;
}

}  // namespace

void printTextResult(std::ostream& out, const TestResult& r) {
  if (r.name.empty()) {
    out << "FAIL " << r.file << ": does not compile; " << r.notRun << (r.notRun == 1 ? " test" : " tests")
        << " not run\n";
    return;
  }
  if (r.passed) {
    out << "PASS " << r.file << ": " << r.name << "\n";
    return;
  }
  out << "FAIL " << placeText(r.where) << ": " << r.name << "\n";
  for (const auto& f : r.failures) out << "  " << placeText(f.where) << ": " << f.message << "\n";
}

void printJsonResults(std::ostream& out, const std::vector<TestResult>& results, size_t passed, size_t failed) {
  using nlohmann::json;
  json tests = json::array();
  for (const auto& r : results) {
    json failures = json::array();
    for (const auto& f : r.failures)
      failures.push_back({{"file", f.where.file}, {"line", f.where.line}, {"column", f.where.column},
                          {"message", f.message}});
    json t = {{"file", r.file}, {"passed", r.passed}, {"failures", failures}};
    if (r.name.empty()) {
      t["name"] = nullptr;
      t["not_run"] = r.notRun;
    } else {
      t["name"] = r.name;
      t["line"] = r.where.line;
      t["column"] = r.where.column;
    }
    tests.push_back(std::move(t));
  }
  out << json{{"tests", tests}, {"passed", passed}, {"failed", failed}}.dump() << "\n";
}

void printJunitResults(std::ostream& out, const std::vector<TestResult>& results, size_t passed, size_t failed) {
  std::map<std::string, std::vector<const TestResult*>> byFile;
  std::vector<std::string> order;
  for (const auto& r : results) {
    if (byFile.find(r.file) == byFile.end()) order.push_back(r.file);
    byFile[r.file].push_back(&r);
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << fmt::format("<testsuites name=\"trig test\" tests=\"{}\" failures=\"{}\">\n", passed + failed, failed);
  for (const auto& file : order) {
    size_t tests = 0, failures = 0;
    for (const auto* r : byFile[file]) {
      size_t n = r->name.empty() ? r->notRun : 1;
      tests += n;
      failures += r->passed ? 0 : n;
    }
    out << fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n", xmlEscape(file), tests, failures);
    for (const auto* r : byFile[file]) {
      std::string name = r->name.empty() ? "(does not compile)" : r->name;
      out << fmt::format("    <testcase classname=\"{}\" name=\"{}\"", xmlEscape(file), xmlEscape(name));
      if (r->passed) {
        out << "/>\n";
        continue;
      }
      std::string message = r->name.empty() ? fmt::format("does not compile; {} test(s) not run", r->notRun)
                                             : r->failures.empty() ? "failed" : r->failures.front().message;
      out << fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                         xmlEscape(message.substr(0, message.find('\n'))), xmlEscape(failureText(*r)));
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

}  // namespace trig::cli
