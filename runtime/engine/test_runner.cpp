#include "runtime/engine/test_runner.h"

#include <fmt/format.h>

#include <algorithm>

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

struct Expectation {
  const ast::TestStmt* stmt;
};

bool sameRecordTarget(const Record& r, const ast::TestStmt& s, const sema::Model& model) {
  if (r.templateName != s.templateName.text) return false;
  if (s.hasCustomer && r.customer != s.customer.value) return false;
  if (s.fromRule && (r.rule >= model.rules.size() || model.rules[r.rule].name != s.fromRule->text))
    return false;
  return true;
}

std::string describeTarget(const ast::TestStmt& s) {
  std::string t = s.templateName.text;
  if (s.hasCustomer) t += fmt::format(" to \"{}\"", s.customer.value);
  if (s.fromRule) t += " from " + s.fromRule->text;
  return t;
}

std::string describeRecord(const Record& r, const sema::Model& model) {
  std::string rule = r.rule < model.rules.size() ? model.rules[r.rule].name : "?";
  switch (r.decision) {
    case Decision::Send:
      return fmt::format("sent to \"{}\" at {} by {} (step {}{})", r.customer, when(r.time), rule,
                         r.step, r.variant.empty() ? "" : ", variant " + r.variant);
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
    Engine engine(c.model, evaluator, eo);
    ingest::Decoder decoder(c.model);
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

    for (const auto& s : test->stmts) {
      if (s.kind == ast::TestStmtKind::ExpectSend) {
        bool found = false;
        for (const auto& r : records)
          if (r.decision == Decision::Send && sameRecordTarget(r, s, c.model) &&
              (!s.expectAt || r.time == *s.expectAt))
            found = true;
        if (found) continue;
        std::string msg = "expected a send of " + describeTarget(s);
        if (s.expectAt) msg += " at " + when(*s.expectAt);
        std::vector<std::string> happened;
        for (const auto& r : records)
          if (sameRecordTarget(r, s, c.model) && r.decision != Decision::Dropped)
            happened.push_back(describeRecord(r, c.model));
        if (happened.empty()) {
          msg += ", but no rule sent or tried to send it";
          for (const auto& t : misses) {
            if (t.rule >= c.model.rules.size() ||
                !sends(c.model.rules[t.rule], s.templateName.text))
              continue;
            if (s.hasCustomer && t.customer != s.customer.value) continue;
            msg += fmt::format("\n    {} at {} for \"{}\": {}", c.model.rules[t.rule].name,
                               when(t.time), t.customer, t.text);
            if (t.loc.valid()) {
              const SourceFile& f = c.sources.file(t.loc.file);
              LineCol lc = f.lineCol(t.loc.begin);
              msg += fmt::format(" ({}:{}:{})", f.path(), lc.line, lc.column);
            }
          }
          std::vector<std::string> others;
          for (const auto& r : records)
            if (r.decision == Decision::Send && (!s.hasCustomer || r.customer == s.customer.value))
              others.push_back(r.templateName + " " + describeRecord(r, c.model));
          if (!others.empty()) {
            msg += "; what was sent:";
            for (const auto& o : others) msg += "\n    " + o;
          }
        } else {
          msg += ", but it was:";
          for (const auto& h : happened) msg += "\n    " + h;
        }
        out.failures.push_back({s.loc, msg});
      } else if (s.kind == ast::TestStmtKind::ExpectNoSend) {
        std::vector<std::string> sent;
        for (const auto& r : records)
          if (r.decision == Decision::Send && sameRecordTarget(r, s, c.model))
            sent.push_back(describeRecord(r, c.model));
        if (sent.empty()) continue;
        std::string msg = "expected no send of " + describeTarget(s) + ", but it was:";
        for (const auto& h : sent) msg += "\n    " + h;
        out.failures.push_back({s.loc, msg});
      }
    }
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

}  // namespace trig::engine
