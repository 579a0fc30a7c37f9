// `trig diff OLD.trig NEW.trig --events EVENTS.jsonl`: replays one event log through two versions
// of a rule set and prints the sends that were added, removed or changed — the review a rule
// change gets in CI.
//
// Sends are matched by (customer, rule, step, occurrence): the k-th send of step s of rule r to
// customer c in the old run is compared with the k-th in the new run. A matched pair whose time,
// template, variant, recipient or subject differ is "changed"; unmatched sends are "removed"
// (old only) or "added" (new only). Output: one JSON object per line, in the order of `run`.
//
// `--static` compares the two rule sets without events (docs/review.md, "trig diff --static"):
// pairs of rules the review (compiler/review) reports as overlapping in the new version and not
// in the old, and rules whose worst-case bound (compiler/review/bounds.h) became unbounded or
// grew, per day and per week, and the same for the whole rule set.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "cli/commands.h"
#include "cli/run_common.h"
#include "compiler/plan/build.h"
#include "compiler/review/bounds.h"
#include "compiler/review/review.h"
#include "runtime/engine/record_json.h"

namespace trig::cli {
namespace {

struct DiffOptions {
  std::string oldFile, newFile;
  std::vector<std::string> events;
  std::vector<std::string>
      eventNames;  // what messages call them (copies of pipes keep their names)
  std::string engine = cli::kDefaultEngine;
  bool failOnChange = false;
  bool staticOnly = false;  // --static
};

// What `--static` compares of one version.
struct StaticFacts {
  std::set<std::pair<std::string, std::string>> overlaps;  // (earlier rule, later rule)
  // window name -> rule name (empty: the whole rule set) -> bound (-1: unbounded)
  std::map<std::string, std::map<std::string, int64_t>> bounds;
};

bool staticFacts(const std::string& file, StaticFacts& out, int& rc) {
  auto c = compile({file});
  rc = refuseIfBroken(*c, "diff");
  if (rc != kExitOk) return false;
  review::review(*c);
  const sema::Model& m = c->model;
  // The overlap warnings point at the later rule's name (or its `trigger` keyword when it is
  // anonymous) with a note at the earlier one.
  auto ruleAt = [&](Loc l) -> const sema::RuleInfo* {
    for (const auto& ri : m.rules) {
      if (ri.rule == nullptr) continue;
      if ((ri.rule->name.loc.file == l.file && ri.rule->name.loc.begin == l.begin &&
           ri.rule->name.loc.valid()) ||
          (ri.rule->loc.file == l.file && ri.rule->loc.begin == l.begin))
        return &ri;
    }
    return nullptr;
  };
  for (const auto& d : c->diags.all()) {
    if (d.kind != DiagKind::Overlap || d.notes.empty()) continue;
    const sema::RuleInfo* later = ruleAt(d.loc);
    const sema::RuleInfo* earlier = ruleAt(d.notes.front().loc);
    if (later != nullptr && earlier != nullptr) out.overlaps.insert({earlier->name, later->name});
  }
  review::Bounds b = review::bounds(*c, {});
  for (const auto* w : {&b.day, &b.week}) {
    auto& into = out.bounds[w == &b.day ? "day" : "week"];
    into[""] = w->unbounded ? -1 : w->count;
    for (const auto& [rule, n] : w->perRule) into[m.rules[rule].name] = n;
  }
  return true;
}

int runStatic(const DiffOptions& o) {
  StaticFacts before, after;
  int rc = kExitOk;
  if (!staticFacts(o.oldFile, before, rc) || !staticFacts(o.newFile, after, rc)) return rc;
  size_t overlaps = 0, bounds = 0;
  for (const auto& pair : after.overlaps) {
    if (before.overlaps.count(pair)) continue;
    nlohmann::ordered_json j;
    j["change"] = "overlap";
    j["rules"] = {pair.first, pair.second};
    std::cout << j.dump() << "\n";
    ++overlaps;
  }
  for (const auto& [window, rules] : after.bounds)
    for (const auto& [rule, n] : rules) {
      const auto& old = before.bounds[window];
      auto it = old.find(rule);
      bool had = it != old.end();
      int64_t was = had ? it->second : 0;
      bool grew = n == -1 ? (!had || was != -1) : (had && was != -1 && n > was) || (!had && n > 0);
      if (!grew) continue;
      nlohmann::ordered_json j;
      j["change"] = n == -1 ? "unbounded" : "bound";
      j["rule"] = rule.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(rule);
      j["window"] = window;
      j["old"] = !had        ? nlohmann::ordered_json(nullptr)
                 : was == -1 ? nlohmann::ordered_json("unbounded")
                             : nlohmann::ordered_json(was);
      j["new"] = n == -1 ? nlohmann::ordered_json("unbounded") : nlohmann::ordered_json(n);
      std::cout << j.dump() << "\n";
      ++bounds;
    }
  std::cerr << "trig diff: " << overlaps << " newly overlapping pair" << (overlaps == 1 ? "" : "s")
            << ", " << bounds << " bound" << (bounds == 1 ? "" : "s") << " grown or unbounded\n";
  return o.failOnChange && overlaps + bounds > 0 ? kExitFailed : kExitOk;
}

struct Send {
  engine::Record record;
  std::string json;  // as `trig run` prints it
  std::string rule;
};

using Key = std::tuple<std::string, std::string, uint32_t, uint32_t>;  // customer, rule, step, k

// Replays the events through one rule set; returns false (with the exit code) when it cannot.
bool sendsOf(const std::string& file, const DiffOptions& o, bool reportInvalid,
             std::map<Key, Send>& out, int& rc) {
  auto c = compile({file});
  rc = refuseIfBroken(*c, "diff");
  if (rc != kExitOk) return false;
  std::string note, error;
  auto evaluator = cli::makeEvaluator(o.engine, *c, note, error);
  if (!evaluator) {
    std::cerr << "trig diff: " << error << "\n";
    rc = kExitUsage;
    return false;
  }
  std::vector<Send> sends;
  engine::RecordWriter writer(plan::ruleNames(c->model), plan::SourceMap::of(c->sources));
  engine::EngineOptions eo;
  eo.sink = [&](const engine::Record& r) {
    if (r.decision != engine::Decision::Send) return;
    sends.push_back({r, engine::recordJson(r, writer), c->model.rules[r.rule].name});
  };
  engine::Engine eng(plan::buildPlan(c->model), *evaluator, eo);
  engine::ReplayOptions ro;
  ro.eventFiles = o.events;
  ro.eventNames = o.eventNames;
  std::ostringstream quiet;  // invalid lines are reported once, by the first replay
  ro.diagnostics = reportInvalid ? &std::cerr : &quiet;
  ingest::Decoder decoder(plan::buildIngestPlan(c->model));
  engine::ReplayResult rr = engine::replay(eng, decoder, ro);
  if (!rr.ioError.empty()) {
    std::cerr << "trig diff: " << rr.ioError << "\n";
    rc = kExitUsage;
    return false;
  }
  std::map<std::tuple<std::string, std::string, uint32_t>, uint32_t> seen;
  for (auto& s : sends) {
    uint32_t k = seen[{s.record.customer, s.rule, s.record.step}]++;
    out.emplace(Key{s.record.customer, s.rule, s.record.step, k}, std::move(s));
  }
  return true;
}

bool same(const engine::Record& a, const engine::Record& b) {
  return a.time == b.time && a.templateName == b.templateName && a.variant == b.variant &&
         a.to == b.to && a.subject == b.subject;
}

int runDiff(DiffOptions o) {
  if (o.staticOnly) return runStatic(o);
  if (o.events.empty()) {
    std::cerr << "trig diff: --events is required (or --static)\n";
    return kExitUsage;
  }
  // Both replays read the events, so standard input and pipes (`<(zcat log.gz)`), which can be
  // read only once, are saved to temporary files first; messages still name them as given.
  std::vector<std::string> copies;
  for (auto& f : o.events) {
    std::string error, readable = engine::readableTwice(f, error);
    if (readable.empty()) {
      std::cerr << "trig diff: " << error << "\n";
      for (const auto& c : copies) std::remove(c.c_str());
      return kExitUsage;
    }
    o.eventNames.push_back(f == "-" ? "<stdin>" : f);
    if (readable != f) copies.push_back(readable);
    f = readable;
  }
  std::map<Key, Send> before, after;
  int rc = kExitOk;
  bool ok = sendsOf(o.oldFile, o, true, before, rc) && sendsOf(o.newFile, o, false, after, rc);
  for (const auto& c : copies) std::remove(c.c_str());
  if (!ok) return rc;

  struct Line {
    TimeMs time;
    std::string customer;
    std::string text;
  };
  std::vector<Line> lines;
  size_t added = 0, removed = 0, changed = 0, unchanged = 0;
  auto emit = [&](const char* change, const Send& s, const Send* old) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(s.json);
    nlohmann::ordered_json o2;
    o2["change"] = change;
    for (auto& [k, v] : j.items()) o2[k] = v;
    if (old != nullptr) o2["old"] = nlohmann::ordered_json::parse(old->json);
    lines.push_back({s.record.time, s.record.customer, o2.dump()});
  };
  for (const auto& [key, s] : before) {
    auto it = after.find(key);
    if (it == after.end()) {
      emit("removed", s, nullptr);
      ++removed;
    } else if (!same(s.record, it->second.record)) {
      emit("changed", it->second, &s);
      ++changed;
    } else {
      ++unchanged;
    }
  }
  for (const auto& [key, s] : after)
    if (!before.count(key)) {
      emit("added", s, nullptr);
      ++added;
    }
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return std::tie(a.time, a.customer) < std::tie(b.time, b.customer);
  });
  for (const auto& l : lines) std::cout << l.text << "\n";
  std::cerr << "trig diff: " << added << " added, " << removed << " removed, " << changed
            << " changed, " << unchanged << " unchanged\n";
  return o.failOnChange && added + removed + changed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

void addDiffCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<DiffOptions>();
  auto* cmd = app.add_subcommand(
      "diff", "Replay one event log through two rule sets and print the sends that differ");
  cmd->add_option("old", o->oldFile, "The rule set before the change")->required();
  cmd->add_option("new", o->newFile, "The rule set after the change")->required();
  cmd->add_option("--events", o->events,
                  "Events as JSON lines; - for standard input (required without --static)");
  cmd->add_option("--engine", o->engine, "Condition evaluator: jit or interp")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_flag("--fail-on-change", o->failOnChange,
                "Exit 1 when any send was added, removed or changed (with --static: any "
                "finding)");
  cmd->add_flag("--static", o->staticOnly,
                "Compare without events: rule pairs that newly overlap, and bounds on the mails "
                "per customer that grew or became unbounded (docs/review.md)");
  cmd->callback([o, &action] { action = [o] { return runDiff(*o); }; });
}

}  // namespace trig::cli
