// `trig explain FILE... --events EVENTS.jsonl --customer ID`: a readable timeline of what the
// engine did for one customer, and for each rule why it did or did not send (including the
// rule-level conditions that did not hold, which `run --explain` does not print).
#include "cli/explain.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <map>
#include <streambuf>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "compiler/plan/build.h"
#include "runtime/engine/record_json.h"

namespace trig::cli {
namespace {

struct ExplainOptions {
  std::vector<std::string> files;
  std::vector<std::string> events;
  std::string customer;
  std::string until;
  std::string engine = cli::kDefaultEngine;
};

struct RuleStory {
  uint64_t armed = 0;
  uint64_t fired = 0;
  std::vector<std::string> sends;
  std::vector<std::string> suppressed;
  std::string lastMiss;  // the last reason it did not fire
};

std::string snippet(const SourceManager& sm, Loc loc) {
  if (!loc.valid() || loc.file >= sm.size()) return "";
  std::string_view t = sm.file(loc.file).text().substr(loc.begin, loc.end - loc.begin);
  std::string s(t.substr(0, 100));
  for (auto& ch : s)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  return s;
}

}  // namespace

int explainCustomer(const sema::Model& model, const SourceManager& sources, Evaluator& evaluator,
                    const engine::ReplayOptions& ro, const std::string& customer, std::ostream& out,
                    std::ostream& err) {
  // One line of the explanation.
  auto say = [&out](std::string_view line) { out << printable(line) << "\n"; };
  std::vector<RuleStory> stories(model.rules.size());
  uint64_t entries = 0;
  TimeMs lastTime = INT64_MIN;
  auto ruleLabel = [&](uint32_t r) {
    return r < model.rules.size() ? model.rules[r].name : std::string();
  };

  engine::EngineOptions eo;
  eo.explain = true;
  eo.traceCustomer = customer;
  eo.warn = [&err](const std::string& w) { err << "trig: warning: " << printable(w) << "\n"; };
  eo.trace = [&](const engine::TraceEntry& t) {
    using K = engine::TraceEntry::Kind;
    ++entries;
    std::string stamp = t.time != lastTime ? formatTimestamp(t.time) : std::string();
    lastTime = t.time;
    std::string who = t.rule == sema::kNone ? "" : ruleLabel(t.rule) + ": ";
    std::string text = t.text;
    if (t.record != nullptr) {
      const auto& r = *t.record;
      std::string what = r.templateName.empty()
                             ? "step " + std::to_string(r.step)
                             : fmt::format("{} (step {})", r.templateName, r.step);
      if (!r.variant.empty()) what += ", variant " + r.variant;
      switch (r.decision) {
        case engine::Decision::Send:
          text = fmt::format("SENT {} to {}: \"{}\"", what, r.to, r.subject);
          if (t.rule < stories.size())
            stories[t.rule].sends.push_back(
                fmt::format("{} at {}", r.templateName, formatTimestamp(r.time)));
          break;
        case engine::Decision::Suppressed:
          text =
              fmt::format("SUPPRESSED {}: {} — {}", what, engine::reasonName(r.reason), r.detail);
          if (t.rule < stories.size())
            stories[t.rule].suppressed.push_back(fmt::format(
                "{} at {}: {}", what, formatTimestamp(r.time), engine::reasonName(r.reason)));
          break;
        case engine::Decision::Deferred:
          text = fmt::format("DEFERRED {}: {}", what, r.detail);
          break;
        case engine::Decision::Dropped:
          text = fmt::format("DROPPED {} ({}): {}", r.event, r.source, r.detail);
          break;
      }
    }
    if (t.rule < stories.size()) {
      auto& s = stories[t.rule];
      if (t.kind == K::Armed) ++s.armed;
      if (t.kind == K::Fired) {
        ++s.fired;
        if (!model.rules[t.rule].idle) ++s.armed;
      }
      if (t.kind == K::NotHeld || t.kind == K::UnlessHeld) {
        if (!model.rules[t.rule].idle) ++s.armed;
        s.lastMiss = fmt::format("{} at {}: `{}` ({})", t.text, formatTimestamp(t.time),
                                 snippet(sources, t.loc), plan::formatLoc(t.loc, sources));
      }
      if (t.kind == K::Cancelled) s.lastMiss = t.text + " at " + formatTimestamp(t.time);
    }
    say(fmt::format("{:<22}{}{}", stamp, who, text));
    if ((t.kind == K::NotHeld || t.kind == K::UnlessHeld || t.kind == K::AnchorFilter) &&
        t.loc.valid())
      say(fmt::format("{:<22}    {}  {}", "", plan::formatLoc(t.loc, sources),
                      snippet(sources, t.loc)));
  };
  say("Customer \"" + customer + "\"");
  say("");
  engine::Engine eng(plan::buildPlan(model), evaluator, eo);
  ingest::Decoder decoder(plan::buildIngestPlan(model));
  auto rr = engine::replay(eng, decoder, ro);
  if (!rr.ioError.empty()) {
    err << "trig explain: " << printable(rr.ioError) << "\n";
    return kExitUsage;
  }
  if (entries == 0) say("(no event of this customer)");

  say("");
  say("Why each rule did or did not send to \"" + customer + "\":");
  for (size_t i = 0; i < model.rules.size(); ++i) {
    const auto& ri = model.rules[i];
    const auto& s = stories[i];
    std::string head =
        fmt::format("  {} ({})", ri.name, plan::formatLoc(ri.rule ? ri.rule->loc : Loc{}, sources));
    if (!s.sends.empty()) {
      say(fmt::format("{}: sent {}: {}", head, s.sends.size(), fmt::join(s.sends, ", ")));
    } else if (s.fired > 0) {
      say(fmt::format("{}: fired {} time(s) but sent nothing", head, s.fired));
    } else if (s.armed > 0) {
      say(head + ": never fired; " +
          (s.lastMiss.empty() ? "its conditions did not hold" : s.lastMiss));
    } else {
      std::string anchors;
      for (uint32_t ev : ri.anchorEvents)
        anchors += (anchors.empty() ? "" : " or ") +
                   (ev < model.events.size() ? model.events[ev].name : "?");
      say(head + ": never armed: no " + (anchors.empty() ? "anchor" : anchors) +
          " from this customer passed the anchor");
    }
    for (const auto& sup : s.suppressed) say("      suppressed " + sup);
  }
  return kExitOk;
}

namespace {

int runExplain(const ExplainOptions& o) {
  // No event has an empty userId (the decoder rejects it), and the engine takes an empty trace
  // filter as everyone: an empty id would print every customer's story under an empty name.
  if (o.customer.empty()) {
    std::cerr << "trig explain: --customer is empty: name the customer's id (userId); no event has "
                 "an empty one\n";
    return kExitUsage;
  }
  std::optional<TimeMs> until;
  if (!o.until.empty()) {
    until = parseTimestamp(o.until);
    if (!until) {
      std::cerr << "trig explain: --until '" << printable(o.until)
                << "' is not an RFC 3339 timestamp\n";
      return kExitUsage;
    }
  }
  auto c = compile(o.files);
  if (int rc = refuseIfBroken(*c, "explain"); rc != kExitOk) return rc;
  std::string note, error;
  auto evaluator = cli::makeEvaluator(o.engine, *c, note, error);
  if (!evaluator) {
    std::cerr << "trig explain: " << error << "\n";
    return kExitUsage;
  }
  if (!note.empty()) std::cerr << "trig: note: " << note << "\n";
  engine::ReplayOptions ro;
  ro.eventFiles = o.events;
  ro.until = until;
  PrintableBuf printableErr(std::cerr);
  std::ostream diagnostics(&printableErr);
  ro.diagnostics = &diagnostics;
  return explainCustomer(c->model, c->sources, *evaluator, ro, o.customer, std::cout, std::cerr);
}

}  // namespace

void addExplainCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<ExplainOptions>();
  auto* cmd = app.add_subcommand(
      "explain", "Tell, step by step, why each rule did or did not send to one customer");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)")->required();
  cmd->add_option("--events", o->events, "Events as JSON lines; - for standard input")->required();
  cmd->add_option("--customer", o->customer, "The customer id (userId)")->required();
  cmd->add_option("--until", o->until, "Stop the clock at this RFC 3339 time");
  cmd->add_option("--engine", o->engine,
                  "Condition evaluator: jit (native code, the default) or interp (the reference "
                  "interpreter)")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->callback([o, &action] { action = [o] { return runExplain(*o); }; });
}

}  // namespace trig::cli
