#pragma once
// The results of `trig test` and their formats: text (as the tests run), JSON and JUnit XML
// (for CI dashboards). With JSON and JUnit the summary line goes to standard error.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace trig::cli {

struct Place {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
};

struct TestResult {
  std::string file;  // the .trig file the test is in
  std::string name;  // its description; empty for a file that does not compile
  Place where;       // the test block
  bool passed = false;
  size_t notRun = 0;  // a file that does not compile: how many of its tests did not run
  struct Failure {
    Place where;
    std::string message;
  };
  std::vector<Failure> failures;
};

enum class TestFormat { Text, Json, Junit };

// Text: one line per test as it finishes (PASS/FAIL, then each failure, indented).
void printTextResult(std::ostream& out, const TestResult& r);
// JSON: {"tests":[{file,name,line,column,passed,failures:[{file,line,column,message}]}],
//        "passed":N,"failed":N}
void printJsonResults(std::ostream& out, const std::vector<TestResult>& results, size_t passed, size_t failed);
// JUnit XML: one <testsuite> per file, one <testcase> per test, <failure> with the messages.
void printJunitResults(std::ostream& out, const std::vector<TestResult>& results, size_t passed, size_t failed);

}  // namespace trig::cli
