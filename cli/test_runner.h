#pragma once
// Tests in the language (spec section 10): each `test` block runs alone, on a fresh engine with
// the rules of its file; its events are replayed in time order and the clock runs on until every
// timer has fired; then its expectations are checked against the sends. A failed expectation says
// what was expected, what happened instead, and why (from the suppression records).
//
// It drives the engine from the command's side: the tests are read from the AST of the
// compilation (`ast::TestDecl`), which the runtime never sees.
#include <string>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/interp/eval.h"
#include "runtime/engine/engine.h"

namespace trig::engine {

struct TestFailure {
  Loc loc;              // the expectation (or the statement that could not be run)
  std::string message;  // expected vs what happened, and why
};

struct TestOutcome {
  const ast::TestDecl* test = nullptr;
  std::string name;
  std::vector<TestFailure> failures;
  bool passed() const { return failures.empty(); }
};

// Runs the given tests (normally the test blocks of the compilation's own file) against the
// compilation's rules. `coverage`, when given, accumulates what the tests exercised.
std::vector<TestOutcome> runTests(const Compilation& c,
                                  const std::vector<const ast::TestDecl*>& tests,
                                  Evaluator& evaluator, Coverage* coverage);

// The events of a test block as wire JSON lines (so they go through the same decoder as a real
// event stream), with their times resolved (`at +20m` relative to the previous `at`).
struct TestEvent {
  std::string json;
  TimeMs time = 0;
  Loc loc;
};
std::vector<TestEvent> testEvents(const ast::TestDecl& test);

}  // namespace trig::engine
