// `trig diff OLD.trig NEW.trig --events EVENTS.jsonl`: replays one event log through two versions
// of a rule set and prints the sends that were added, removed or changed — the review a rule
// change gets in CI.
//
// Sends are matched by (customer, rule, step, occurrence): the k-th send of step s of rule r to
// customer c in the old run is compared with the k-th in the new run. A matched pair whose time,
// template, variant, recipient or subject differ is "changed"; unmatched sends are "removed"
// (old only) or "added" (new only). Output: one JSON object per line, in the order of `run`.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "cli/commands.h"
#include "cli/run_common.h"
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
};

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
  engine::Engine eng(c->model, *evaluator, eo);
  engine::ReplayOptions ro;
  ro.eventFiles = o.events;
  ro.eventNames = o.eventNames;
  std::ostringstream quiet;  // invalid lines are reported once, by the first replay
  ro.diagnostics = reportInvalid ? &std::cerr : &quiet;
  ingest::Decoder decoder(c->model);
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
  cmd->add_option("--events", o->events, "Events as JSON lines; - for standard input")->required();
  cmd->add_option("--engine", o->engine, "Condition evaluator: jit or interp")
      ->check(CLI::IsMember({"jit", "interp"}));
  cmd->add_flag("--fail-on-change", o->failOnChange,
                "Exit 1 when any send was added, removed or changed");
  cmd->callback([o, &action] { action = [o] { return runDiff(*o); }; });
}

}  // namespace trig::cli
