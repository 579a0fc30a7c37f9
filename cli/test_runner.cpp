#include "cli/test_runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

#include "compiler/plan/build.h"
#include "runtime/deliver/render.h"
#include "runtime/ingest/decoder.h"

namespace trig::engine {
namespace {

// A property value written in a test (a literal) as JSON.
void appendLiteralJson(std::string& out, const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::IntLit: out += std::to_string(e.intValue); break;
    case ast::ExprKind::DecimalLit: out += e.decimalValue.toString(); break;
    case ast::ExprKind::StringLit: deliver::appendJsonString(out, e.text); break;
    case ast::ExprKind::BoolLit: out += e.boolValue ? "true" : "false"; break;
    case ast::ExprKind::TimeLit: deliver::appendJsonString(out, formatTimestamp(e.intValue)); break;
    case ast::ExprKind::DurationLit:
      deliver::appendJsonString(out, formatDuration(e.intValue));
      break;
    case ast::ExprKind::PercentLit: out += e.decimalValue.toString(); break;
    case ast::ExprKind::List: {
      out += '[';
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i) out += ',';
        appendLiteralJson(out, *e.items[i]);
      }
      out += ']';
      break;
    }
    case ast::ExprKind::Unary:
      if (e.op == ast::Op::Neg && e.lhs) {
        out += '-';
        appendLiteralJson(out, *e.lhs);
        break;
      }
      out += "null";
      break;
    case ast::ExprKind::Name:
      // `null` is not a literal of the language; a bare `null` name removes a trait.
      if (e.path.size() == 1 && e.path[0].text == "null") {
        out += "null";
        break;
      }
      [[fallthrough]];
    default: out += "null"; break;
  }
}

void appendProps(std::string& out, const std::vector<ast::Prop>& props) {
  out += '{';
  for (size_t i = 0; i < props.size(); ++i) {
    if (i) out += ',';
    deliver::appendJsonString(out, props[i].name.text);
    out += ':';
    if (props[i].value)
      appendLiteralJson(out, *props[i].value);
    else
      out += "null";
  }
  out += '}';
}

std::string when(TimeMs t) {
  return formatTimestamp(t);
}

}  // namespace

std::vector<TestEvent> testEvents(const ast::TestDecl& test) {
  std::vector<TestEvent> out;
  // Profile statements before the first `at` apply at the first event's time (first of all).
  TimeMs first = 0;
  for (const auto& s : test.stmts)
    if (s.kind == ast::TestStmtKind::Event && s.atAbsolute) {
      first = *s.atAbsolute;
      break;
    }
  TimeMs clock = first;
  for (const auto& s : test.stmts) {
    TestEvent te;
    te.loc = s.loc;
    if (s.kind == ast::TestStmtKind::Customer) {
      te.time = clock;
      te.json = R"({"type":"identify","userId":)";
      deliver::appendJsonString(te.json, s.customer.value);
      te.json += R"(,"timestamp":")" + when(te.time) + R"(","traits":)";
      appendProps(te.json, s.props);
      te.json += '}';
    } else if (s.kind == ast::TestStmtKind::Event) {
      if (s.atAbsolute)
        clock = *s.atAbsolute;
      else if (s.atRelative)
        clock += s.atRelative->ms;
      te.time = clock;
      bool identify = s.event.text == "identify";
      te.json = identify ? R"({"type":"identify","userId":)" : R"({"type":"track","event":)";
      if (!identify) {
        deliver::appendJsonString(te.json, s.event.text);
        te.json += R"(,"userId":)";
      }
      deliver::appendJsonString(te.json, s.customer.value);
      te.json += R"(,"timestamp":")" + when(te.time) +
                 (identify ? R"(","traits":)" : R"(","properties":)");
      appendProps(te.json, s.props);
      te.json += '}';
    } else {
      continue;
    }
    out.push_back(std::move(te));
  }
  return out;
}

namespace {

bool sameRecordTarget(const Record& r, const ast::TestStmt& s, const sema::Model& model) {
  if (r.templateName != s.templateName.text) return false;
  if (s.hasCustomer && r.customer != s.customer.value) return false;
  if (s.fromRule && (r.rule >= model.rules.size() || model.rules[r.rule].name != s.fromRule->text))
    return false;
  return true;
}

// Whether a send record has what an `expect send` asks beyond its target: time, variant, subject.
bool sendMatches(const Record& r, const ast::TestStmt& s) {
  if (s.expectAt && r.time != *s.expectAt) return false;
  if (s.variant && r.variant != s.variant->text) return false;
  if (s.subject && r.subject != s.subject->value) return false;
  return true;
}

std::string describeTarget(const ast::TestStmt& s) {
  std::string t = s.templateName.text;
  if (s.hasCustomer) t += fmt::format(" to \"{}\"", s.customer.value);
  if (s.fromRule) t += " from " + s.fromRule->text;
  return t;
}

std::string describeSendExpectation(const ast::TestStmt& s) {
  std::string t = describeTarget(s);
  if (s.expectAt) t += " at " + when(*s.expectAt);
  if (s.variant) t += " in variant " + s.variant->text;
  if (s.subject) t += fmt::format(" with the subject \"{}\"", s.subject->value);
  return t;
}

std::string describeRecord(const Record& r, const sema::Model& model) {
  std::string rule = r.rule < model.rules.size() ? model.rules[r.rule].name : "?";
  switch (r.decision) {
    case Decision::Send:
      return fmt::format("sent to \"{}\" at {} by {} (step {}{}), subject \"{}\"", r.customer,
                         when(r.time), rule, r.step,
                         r.variant.empty() ? "" : ", variant " + r.variant, r.subject);
    case Decision::Suppressed:
      return fmt::format("suppressed for \"{}\" at {} by {} (step {}): {} — {}", r.customer,
                         when(r.time), rule, r.step, reasonName(r.reason), r.detail);
    case Decision::Deferred:
      return fmt::format("deferred for \"{}\" at {} by {} until {} (quiet hours)", r.customer,
                         when(r.time), rule, when(r.until));
    case Decision::Dropped: return fmt::format("dropped event at {}", when(r.time));
  }
  return "";
}

void templatesOf(const std::vector<ast::Step>& steps, std::vector<std::string>& out) {
  for (const auto& s : steps) {
    if (s.action == ast::ActionKind::Send) out.push_back(s.templateName.text);
    for (const auto& v : s.variants) templatesOf(v.steps, out);
  }
}

// Whether rule `r` has a step that sends template `t`.
bool sends(const sema::RuleInfo& r, const std::string& t) {
  if (r.rule == nullptr) return false;
  std::vector<std::string> ts;
  templatesOf(r.rule->steps, ts);
  return std::find(ts.begin(), ts.end(), t) != ts.end();
}

// The suppression reason named `name` (the names of `run --explain`), if any.
std::optional<Reason> reasonNamed(const std::string& name, std::vector<std::string>& all) {
  std::optional<Reason> found;
  for (auto i = static_cast<uint8_t>(Reason::OptedOut);
       i <= static_cast<uint8_t>(Reason::DuplicateContent); ++i) {
    auto r = static_cast<Reason>(i);
    all.push_back(reasonName(r));
    if (name == reasonName(r)) found = r;
  }
  return found;
}

// What one test produced, and the checks of its expectations against it.
class Verdicts {
 public:
  Verdicts(const Compilation& c, const std::vector<Record>& records,
           const std::vector<TraceEntry>& misses, TestOutcome& out)
      : c_(c), records_(records), misses_(misses), out_(out) {}

  void expectSend(const ast::TestStmt& s) {
    size_t n = 0;
    for (const auto& r : records_)
      if (r.decision == Decision::Send && sameRecordTarget(r, s, c_.model) && sendMatches(r, s))
        ++n;
    if (s.count ? n == static_cast<size_t>(*s.count) : n > 0) return;
    std::string msg = s.count ? fmt::format("expected {} send(s) of {}, but there were {}",
                                            *s.count, describeSendExpectation(s), n)
                              : "expected a send of " + describeSendExpectation(s);
    std::vector<std::string> happened = about(s, false);
    if (happened.empty()) {
      if (!s.count) msg += ", but no rule sent or tried to send it";
      msg += whyNotFired(s);
      std::vector<std::string> others;
      for (const auto& r : records_)
        if (r.decision == Decision::Send && (!s.hasCustomer || r.customer == s.customer.value))
          others.push_back(r.templateName + " " + describeRecord(r, c_.model));
      if (!others.empty()) msg += "; what was sent:" + lines(others);
    } else {
      msg += (s.count ? "; what happened:" : ", but it was:") + lines(happened);
    }
    out_.failures.push_back({s.loc, msg});
  }

  void expectNoSend(const ast::TestStmt& s) {
    std::vector<std::string> sent = about(s, true);
    if (sent.empty()) return;
    out_.failures.push_back(
        {s.loc, "expected no send of " + describeTarget(s) + ", but it was:" + lines(sent)});
  }

  void expectSuppressed(const ast::TestStmt& s) {
    std::vector<std::string> reasons;
    std::optional<Reason> reason = reasonNamed(s.reason.text, reasons);
    if (!reason) {
      std::string msg = fmt::format("'{}' is not a suppression reason", s.reason.text);
      if (std::string best = closestMatch(s.reason.text, reasons); !best.empty())
        msg += "; did you mean '" + best + "'?";
      else
        msg += fmt::format(" (they are {})", fmt::join(reasons, ", "));
      out_.failures.push_back({s.reason.loc, msg});
      return;
    }
    for (const auto& r : records_)
      if (r.decision == Decision::Suppressed && r.reason == *reason &&
          sameRecordTarget(r, s, c_.model))
        return;
    std::string msg =
        fmt::format("expected {} to be suppressed because {}", describeTarget(s), s.reason.text);
    std::vector<std::string> happened = about(s, false);
    if (happened.empty())
      msg += ", but no rule sent or tried to send it" + whyNotFired(s);
    else
      msg += ", but it was:" + lines(happened);
    out_.failures.push_back({s.loc, msg});
  }

 private:
  static std::string lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += "\n    " + i;
    return out;
  }

  // The records of the expectation's target (sends only, or every decision).
  std::vector<std::string> about(const ast::TestStmt& s, bool sendsOnly) const {
    std::vector<std::string> out;
    for (const auto& r : records_)
      if (sameRecordTarget(r, s, c_.model) && r.decision != Decision::Dropped &&
          (!sendsOnly || r.decision == Decision::Send))
        out.push_back(describeRecord(r, c_.model));
    return out;
  }

  // Why the rules that send the template did not fire for the customer.
  std::string whyNotFired(const ast::TestStmt& s) const {
    std::string msg;
    for (const auto& t : misses_) {
      if (t.rule >= c_.model.rules.size() || !sends(c_.model.rules[t.rule], s.templateName.text))
        continue;
      if (s.hasCustomer && t.customer != s.customer.value) continue;
      msg += fmt::format("\n    {} at {} for \"{}\": {}", c_.model.rules[t.rule].name, when(t.time),
                         t.customer, t.text);
      if (t.loc.valid()) {
        const SourceFile& f = c_.sources.file(t.loc.file);
        LineCol lc = f.lineCol(t.loc.begin);
        msg += fmt::format(" ({}:{}:{})", f.path(), lc.line, lc.column);
      }
    }
    return msg;
  }

  const Compilation& c_;
  const std::vector<Record>& records_;
  const std::vector<TraceEntry>& misses_;
  TestOutcome& out_;
};

}  // namespace

std::vector<TestOutcome> runTests(const Compilation& c,
                                  const std::vector<const ast::TestDecl*>& tests,
                                  Evaluator& evaluator, Coverage* coverage) {
  std::vector<TestOutcome> outcomes;
  for (const auto* test : tests) {
    TestOutcome out;
    out.test = test;
    out.name = test->name.value;
    std::vector<Record> records;
    // Why rules did not fire, to explain a missing send.
    std::vector<TraceEntry> misses;
    EngineOptions eo;
    eo.trace = [&](const TraceEntry& t) {
      using K = TraceEntry::Kind;
      if (t.kind == K::Cancelled || t.kind == K::NotHeld || t.kind == K::UnlessHeld ||
          t.kind == K::AnchorFilter || t.kind == K::Replaced)
        misses.push_back(t);
    };
    eo.explain = true;
    eo.coverage = coverage;
    eo.sink = [&](const Record& r) { records.push_back(r); };
    for (const auto& s : test->stmts)
      if (s.kind == ast::TestStmtKind::Pin && s.fromRule && s.variant)
        eo.pins[std::make_tuple(s.customer.value, s.fromRule->text, s.split.text)] =
            s.variant->text;
    Engine engine(plan::buildPlan(c.model), evaluator, eo);
    ingest::Decoder decoder(plan::buildIngestPlan(c.model));
    std::vector<Event> events;
    uint64_t seq = 0;
    for (const auto& te : testEvents(*test)) {
      Event e;
      std::string reason;
      if (!decoder.decode(te.json, e, reason)) {
        out.failures.push_back({te.loc, "this event is invalid: " + reason});
        if (!decoder.failedClosed()) continue;
      }
      e.seq = seq++;
      e.source = EventSource::named("test");
      events.push_back(std::move(e));
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    for (const auto& e : events) engine.process(e);
    engine.finish();

    Verdicts verdicts(c, records, misses, out);
    for (const auto& s : test->stmts) {
      switch (s.kind) {
        case ast::TestStmtKind::ExpectSend: verdicts.expectSend(s); break;
        case ast::TestStmtKind::ExpectNoSend: verdicts.expectNoSend(s); break;
        case ast::TestStmtKind::ExpectSuppressed: verdicts.expectSuppressed(s); break;
        case ast::TestStmtKind::Customer:
        case ast::TestStmtKind::Event:
        case ast::TestStmtKind::Pin: break;
      }
    }
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

}  // namespace trig::engine
