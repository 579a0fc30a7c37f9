// The core thread of `trig serve`: group commit, stamping, the engine and its clock, rule-set
// versions (core.h).
#include "runtime/serve/core.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <unordered_set>

#include <pthread.h>

#include "runtime/deliver/render.h"
#include "runtime/serve/ingest_api.h"
#include "runtime/serve/message.h"
#include "runtime/serve/tracking.h"

namespace trig::serve {
namespace {

TimeMs wallNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The wall clock in microseconds: lateness is measured finer than the engine's milliseconds.
int64_t wallNowUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// A customer at an instant, as one number: the decisions an event makes are its customer's, at
// its stamp; every other decision is a timer's.
uint64_t instantKey(std::string_view customer, TimeMs t) {
  return std::hash<std::string_view>{}(customer) ^
         (static_cast<uint64_t>(t) * 0x9E3779B97F4A7C15ull);
}

// How often the wall clock runs the engine on when nothing arrives: the decisions of an instant
// are made once the clock has passed it, so this bounds timer lateness and event-to-decision
// latency (a wake-up that finds nothing due costs two heap peeks).
constexpr auto kTick = std::chrono::milliseconds(1);

std::string metaKey(const std::string& version) {
  return "rules/" + version;
}

void putBytes(std::string& out, std::string_view s) {
  uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  out.append(s);
}

bool getBytes(std::string_view& in, std::string& out) {
  if (in.size() < 8) return false;
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  in.remove_prefix(8);
  if (n > in.size()) return false;
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

using Steady = std::chrono::steady_clock;

int64_t usSince(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
}

// The core thread's timeline, for finding what holds up an answer (docs/performance.md, "Live
// ingest"): with TRIG_SERVE_TRACE=FILE set, one line per cycle that did anything, with the
// microseconds each phase took (see the header line). Off (no file, no clock reads beyond the
// cycle's two) otherwise.
struct Trace {
  std::FILE* f = nullptr;
  Steady::time_point start = Steady::now();
  Trace() {
    if (const char* path = std::getenv("TRIG_SERVE_TRACE"); path && *path) {
      f = std::fopen(path, "w");
      if (f)
        std::fputs(
            "t_us submissions events oldest_wait_us stamp_us append_us answer_us engine_us "
            "publish_us dead_us wallclock_us\n",
            f);
    }
  }
  ~Trace() {
    if (f) std::fclose(f);
  }
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;
};

}  // namespace

std::string encodeRuleFiles(const RuleSet& r) {
  std::string out;
  putBytes(out, std::to_string(r.paths.size()));
  for (const std::string& p : r.paths) putBytes(out, p);
  putBytes(out, std::to_string(r.files.size()));
  for (const auto& [path, text] : r.files) {
    putBytes(out, path);
    putBytes(out, text);
  }
  return out;
}

bool decodeRuleFiles(std::string_view in, RuleSet& out) {
  std::string count;
  if (!getBytes(in, count)) return false;
  out.paths.assign(std::strtoull(count.c_str(), nullptr, 10), "");
  for (std::string& p : out.paths)
    if (!getBytes(in, p)) return false;
  if (!getBytes(in, count)) return false;
  out.files.assign(std::strtoull(count.c_str(), nullptr, 10), {});
  for (auto& [path, text] : out.files)
    if (!getBytes(in, path) || !getBytes(in, text)) return false;
  return in.empty();
}

struct Core::Impl {
  Store& store;
  std::shared_ptr<const RuleSet> disk;   // the rule set on disk at start
  std::shared_ptr<const RuleSet> rules;  // the one in force
  // Rule sets compiled in this process, by version (the disk's, reloads').
  std::map<std::string, std::shared_ptr<const RuleSet>> known;
  RuleLoader loader;
  CoreOptions opt;
  Metrics& metrics;
  std::function<void(OutboxEntry)> onSend;
  std::function<void(std::shared_ptr<const RuleSet>)> onRules;
  std::function<void(const std::string&)> log;

  // The queue between the request threads and the core.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Submission> queue;
  size_t queuedEvents = 0;
  bool stopping = false;
  TimeMs requestedClock = 0;  // manual: the latest clock move queued (for the 409)

  // The core thread's own.
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<ingest::Decoder> decoder;
  std::unique_ptr<engine::RecordWriter> writer;
  // The rules' templates whose body is HTML (the message's part is `html`, not `text`).
  std::unordered_set<std::string> htmlTemplates;
  std::vector<engine::Record> records;  // produced since the last publish()
  bool silent = false;                  // rebuilding an engine: its records are not decisions
  uint64_t recordNo = 0;                // decision records numbered from 1, log order
  bool recovering = false;
  Event event;
  std::vector<DeadLetter> undecodable;  // accepted once, not events of the rules in force now
  std::atomic<TimeMs> clockNow{0};
  TimeMs lastStamp = INT64_MIN;
  std::atomic<uint64_t> logged{0};
  // (customer, stamp) of the events processed whose instant may still have records to come: a
  // record of a customer at such an instant is the event's, any other a timer's (metrics).
  std::unordered_set<uint64_t> eventInstants;
  Trace trace;
  std::vector<int64_t> traceLine;  // the current cycle's (Trace)

  Impl(Store& s, std::shared_ptr<const RuleSet> r, RuleLoader l, CoreOptions o, Metrics& m,
       std::function<void(OutboxEntry)> send,
       std::function<void(std::shared_ptr<const RuleSet>)> onR,
       std::function<void(const std::string&)> lg)
      : store(s),
        disk(r),
        rules(std::move(r)),
        loader(std::move(l)),
        opt(std::move(o)),
        metrics(m),
        onSend(std::move(send)),
        onRules(std::move(onR)),
        log(std::move(lg)) {
    known[disk->version] = disk;
    use(rules);
  }

  // A fresh engine (and decoder, record writer) over `r`.
  void use(std::shared_ptr<const RuleSet> r) {
    rules = std::move(r);
    engine::EngineOptions eo;
    eo.explain = true;                  // every decision is recorded, not only sends
    eo.customersInArrivalOrder = true;  // endRemovedFlows' records, in the order they always were
    eo.sink = [this](const engine::Record& rec) {
      if (!silent) records.push_back(rec);
    };
    eo.warn = [this](const std::string& w) { log("warning: " + w); };
    const plan::Program& program = *rules->program;
    engine = std::make_unique<engine::Engine>(program.plan, *rules->evaluator, eo);
    decoder = std::make_unique<ingest::Decoder>(program.ingest);
    writer = std::make_unique<engine::RecordWriter>(program.plan.ruleNames, program.sources);
    htmlTemplates.clear();
    for (const plan::Template& t : program.plan.templates)
      if (t.html) htmlTemplates.insert(t.name);
    metrics.set("trig_jit_compile_seconds", rules->compileSeconds);
  }

  TimeMs nextStamp() {
    TimeMs t = opt.manualClock ? clockNow.load() : std::max(wallNow(), clockNow.load());
    return std::max(t, lastStamp);
  }

  void apply(const LogEntry& e);
  bool switchRules(const std::string& version, uint64_t seq, std::string& error);
  void endRemovedFlows(const RuleSet& next);
  void publish();
  void publishRecords();
  void publishSend(const engine::Record& r, const std::string& json);
  void commit(std::deque<Submission>& batch);
  bool storeRules(const RuleSet& r, std::string& error);
  void runWallClock();
  void flushTrace();
};

// One log entry into the engine: an event at its stamp, a clock move, or a rule set.
void Core::Impl::apply(const LogEntry& e) {
  if (e.kind == LogEntry::Kind::Rules) {
    if (silent || e.data == rules->version) return;  // a rebuild replays under the new rules
    std::string error;
    if (!switchRules(e.data, e.seq, error))
      log("log entry " + std::to_string(e.seq) + ": " + error);
    return;
  }
  lastStamp = std::max(lastStamp, e.stamp);
  if (e.kind == LogEntry::Kind::Clock) {
    engine->advanceTo(e.stamp, false);
    if (!silent) clockNow = std::max(clockNow.load(), e.stamp);
    return;
  }
  std::string reason;
  bool ok = decoder->decode(e.data, event, reason, e.stamp);
  if (!ok && !decoder->failedClosed()) {
    // Accepted under other rules (a reload came between); never dropped silently.
    if (!silent && !recovering)
      undecodable.push_back(
          {0, e.stamp, "accepted, then not an event of rules " + rules->version + ": " + reason,
           e.data});
    return;
  }
  event.seq = e.seq;
  event.source = EventSource::named("log", e.seq);
  if (!silent && !recovering && !opt.manualClock)
    eventInstants.insert(instantKey(event.customer, e.stamp));
  engine->process(event);
}

// The records of flows that `next` has no rule for: they end here.
void Core::Impl::endRemovedFlows(const RuleSet& next) {
  const plan::Plan& p = rules->program->plan;
  engine->forEachFlow([&](std::string_view customer, uint32_t rule, uint32_t step) {
    const std::string& name = p.rules[rule].name;
    for (const auto& r : next.program->plan.rules)
      if (r.name == name) return;
    engine::Record rec;
    rec.decision = engine::Decision::Suppressed;
    rec.time = engine->now();
    rec.customer = std::string(customer);
    rec.rule = rule;
    rec.step = step;
    rec.reason = engine::Reason::RuleRemoved;
    rec.loc = p.rules[rule].loc;
    rec.detail = "the rule was removed by the rules " + next.version;
    records.push_back(std::move(rec));
  });
}

// Brings the rule set `version` into force after log entry `seq - 1`: the engine rebuilt by a
// silent replay of the log so far, run on to the old engine's time.
bool Core::Impl::switchRules(const std::string& version, uint64_t seq, std::string& error) {
  std::shared_ptr<const RuleSet> next;
  if (auto it = known.find(version); it != known.end()) {
    next = it->second;
  } else {
    auto bytes = store.getMeta(metaKey(version));
    RuleSet stored;
    if (!bytes || !decodeRuleFiles(*bytes, stored)) {
      error = "the files of rules " + version + " are missing from the store";
      return false;
    }
    std::string diagnostics;
    next = loader(&stored, diagnostics);
    if (!next) {
      error = "the stored rules " + version + " no longer compile: " + diagnostics;
      return false;
    }
    known[version] = next;
  }
  endRemovedFlows(*next);
  publish();
  const TimeMs until = engine->now();
  const TimeMs stamp = lastStamp;
  use(next);
  silent = true;
  bool ok = store.scanLog(
      1,
      [&](const LogEntry& e) {
        if (e.seq >= seq) return false;
        apply(e);
        return true;
      },
      error);
  if (until > engine->now()) engine->advanceTo(until, false);
  silent = false;
  lastStamp = stamp;
  if (!recovering) log("rules " + version + " in force");
  onRules(rules);
  return ok;
}

void Core::Impl::publishSend(const engine::Record& r, const std::string& json) {
  // Decided before (a restart's replay, a rebuilt engine running on): handed over once.
  if (store.getOutbox(r.messageId)) return;
  OutboxEntry o;
  o.messageId = r.messageId;
  o.payload = json.substr(0, json.size() - 1);
  o.payload += ",\"from\":";
  deliver::appendJsonString(o.payload, opt.from);
  const plan::Plan& p = rules->program->plan;
  const bool html = htmlTemplates.contains(r.templateName);
  o.payload += html ? ",\"html\":" : ",\"text\":";
  // Engagement tracking: links through /c/, the open pixel, the unsubscribe link.
  std::string unsubscribe;
  if (opt.publicUrl.empty()) {
    deliver::appendJsonString(o.payload, r.body);
  } else {
    TrackingTarget target;
    target.messageId = r.messageId;
    target.customer = r.customer;
    target.rule = p.rules[r.rule].name;
    target.step = r.step;
    target.variant = r.variant;
    auto url = [&](TrackingTarget::Kind kind, char path, std::string_view suffix) {
      target.kind = kind;
      return opt.publicUrl + "/" + path + "/" + sealToken(target, opt.trackingSecret) +
             std::string(suffix);
    };
    LinkRewriter link = [&](const std::string& u) {
      target.url = addUtm(u, target.rule, target.variant);
      std::string tracked = url(TrackingTarget::Kind::Click, 'c', "");
      target.url.clear();
      return tracked;
    };
    std::string body;
    if (html) {
      std::string pixel = "<img src=\"" + url(TrackingTarget::Kind::Open, 'o', ".gif") +
                          "\" width=\"1\" height=\"1\" alt=\"\">";
      body = rewriteHtml(r.body, link, pixel);
    } else {
      body = rewriteText(r.body, link);
    }
    deliver::appendJsonString(o.payload, body);
    unsubscribe = "<" + url(TrackingTarget::Kind::Unsubscribe, 'u', "") + ">";
  }
  // The headers the message goes out with (the transport adds Date and MIME's own).
  Message m;
  m.messageId = r.messageId;
  m.from = opt.from;
  o.payload += ",\"headers\":{\"Message-ID\":";
  deliver::appendJsonString(o.payload, messageIdHeader(m));
  o.payload += ",\"From\":";
  deliver::appendJsonString(o.payload, opt.from);
  o.payload += ",\"To\":";
  deliver::appendJsonString(o.payload, r.to);
  o.payload += ",\"Subject\":";
  deliver::appendJsonString(o.payload, r.subject);
  if (!unsubscribe.empty()) {
    // RFC 8058 one-click unsubscribe: a POST to the URL unsubscribes.
    o.payload += ",\"List-Unsubscribe\":";
    deliver::appendJsonString(o.payload, unsubscribe);
    o.payload += ",\"List-Unsubscribe-Post\":\"List-Unsubscribe=One-Click\"";
  }
  o.payload += "}}";
  std::string error;
  if (!store.putOutbox(o, false, error)) {
    log("cannot store a send in the outbox (it will be decided again at restart): " + error);
    return;
  }
  onSend(std::move(o));
}

// The records the engine produced: decision records, metrics, and the outbox.
void Core::Impl::publish() {
  if (!records.empty()) publishRecords();
  // Every record of the instants before the engine's time is out: forget their events. Also when
  // there were no records: else a long stretch of events without decisions (a load of a million
  // `idle` anchors) piles up in the set until the first decision, which then pays for freeing
  // it all (a 0.5-1 s stall of the first timers, docs/performance.md, "Timer lateness").
  if (engine->now() > lastStamp && !eventInstants.empty()) {
    if (eventInstants.bucket_count() > 65536)
      std::unordered_set<uint64_t>().swap(eventInstants);  // give a burst's buckets back
    else
      eventInstants.clear();
  }
}

void Core::Impl::publishRecords() {
  std::vector<std::pair<uint64_t, std::string>> decisions;
  decisions.reserve(records.size());
  std::string json;
  const int64_t publishedUs = opt.manualClock || recovering ? 0 : wallNowUs();
  const plan::Plan& p = rules->program->plan;
  for (const engine::Record& r : records) {
    // From when the decision was due (its event's stamp or its timer's time) to now: timers'
    // lateness and the event-to-decision latency, on the wall clock; timers' alone too.
    if (publishedUs != 0) {
      const double late =
          static_cast<double>(std::max<int64_t>(0, publishedUs - r.time * 1000)) / 1e6;
      metrics.observe("trig_decision_lateness_seconds", late);
      if (r.reason != engine::Reason::RuleRemoved &&
          !eventInstants.contains(instantKey(r.customer, r.time)))
        metrics.observe("trig_timer_lateness_seconds", late);
    }
    json.clear();
    writer->append(json, r);
    json.pop_back();
    json += ",\"rules_version\":\"" + rules->version + "\"}";
    decisions.emplace_back(++recordNo, json);
    const bool ruled = r.decision != engine::Decision::Dropped;
    metrics.add("trig_decisions_total",
                {{"rule", ruled ? p.rules[r.rule].name : ""},
                 {"step", std::to_string(r.step)},
                 {"variant", r.variant},
                 {"decision", engine::decisionName(r.decision)},
                 {"reason", r.reason == engine::Reason::None ? "" : engine::reasonName(r.reason)}});
    if (r.decision == engine::Decision::Dropped)
      metrics.add("trig_events_deduplicated_total", {{"reason", engine::reasonName(r.reason)}});
    if (r.decision == engine::Decision::Send) publishSend(r, json);
  }
  std::string error;
  if (!store.putDecisions(decisions, error)) log("cannot store decision records: " + error);
  records.clear();
}

// The files of a rule set, under its version, before the log names it.
bool Core::Impl::storeRules(const RuleSet& r, std::string& error) {
  if (store.getMeta(metaKey(r.version))) return true;
  return store.putMeta(metaKey(r.version), encodeRuleFiles(r), error);
}

// Stamps and appends one batch of submissions with one synced write, answers them, and runs
// the entries through the engine.
void Core::Impl::commit(std::deque<Submission>& batch) {
  const Steady::time_point t0 = trace.f ? Steady::now() : Steady::time_point{};
  std::vector<LogEntry> entries;
  std::vector<DeadLetter> dead;
  TimeMs manual = clockNow.load();
  std::string error;
  for (Submission& s : batch) {
    if (s.clock) {
      manual = std::max(manual, *s.clock);
      entries.push_back({0, LogEntry::Kind::Clock, manual, ""});
    }
    if (s.rules) {
      known[s.rules->version] = s.rules;
      if (!storeRules(*s.rules, error)) break;
      entries.push_back({0, LogEntry::Kind::Rules, lastStamp, s.rules->version});
    }
    for (const std::string& ev : s.events) {
      TimeMs stamp = opt.manualClock ? manual : nextStamp();
      lastStamp = std::max(lastStamp, stamp);
      entries.push_back({0, LogEntry::Kind::Event, stamp, withStamp(ev, stamp)});
    }
    for (DeadLetter& d : s.dead) dead.push_back(std::move(d));
  }
  const Steady::time_point t1 = trace.f ? Steady::now() : t0;
  if (!error.empty() || !store.append(entries, dead, error)) {
    log("cannot write the event log: " + error);
    for (Submission& s : batch) s.done(error);
    return;
  }
  logged = store.lastSeq();
  const Steady::time_point t2 = trace.f ? Steady::now() : t0;
  for (Submission& s : batch) {
    for (const std::string& type : s.types)
      metrics.add("trig_events_accepted_total", {{"type", type}});
    if (!s.clock && !s.rules) s.done("");
  }
  const Steady::time_point t3 = trace.f ? Steady::now() : t0;
  for (const LogEntry& e : entries) apply(e);
  const Steady::time_point t4 = trace.f ? Steady::now() : t0;
  publish();
  const Steady::time_point t5 = trace.f ? Steady::now() : t0;
  if (!undecodable.empty()) {
    std::vector<LogEntry> none;
    if (!store.append(none, undecodable, error)) log("cannot write the dead letter: " + error);
    undecodable.clear();
  }
  for (Submission& s : batch)
    if (s.clock || s.rules) s.done("");
  if (trace.f) {
    const Steady::time_point t6 = Steady::now();
    Steady::time_point oldest = t0;
    for (const Submission& s : batch) oldest = std::min(oldest, s.queued);
    traceLine = {usSince(trace.start, t0),
                 static_cast<int64_t>(batch.size()),
                 static_cast<int64_t>(entries.size()),
                 usSince(oldest, t0),
                 usSince(t0, t1),
                 usSince(t1, t2),
                 usSince(t2, t3),
                 usSince(t3, t4),
                 usSince(t4, t5),
                 usSince(t5, t6)};
  }
}

// Runs the engine on to the wall clock: every timer due by now fires.
void Core::Impl::runWallClock() {
  TimeMs now = std::max(wallNow(), lastStamp);
  if (now <= clockNow.load()) return;
  const Steady::time_point t0 = trace.f ? Steady::now() : Steady::time_point{};
  engine->advanceTo(now, false);
  clockNow = now;
  publish();
  if (trace.f) {
    if (traceLine.empty()) traceLine = {usSince(trace.start, t0), 0, 0, 0, 0, 0, 0, 0, 0, 0};
    traceLine.push_back(usSince(t0, Steady::now()));
  }
}

// The trace's line of the cycle that just ended, if it did anything.
void Core::Impl::flushTrace() {
  if (!trace.f || traceLine.empty()) return;
  if (traceLine.size() < 11) traceLine.push_back(0);
  for (size_t i = 0; i < traceLine.size(); ++i)
    std::fprintf(trace.f, i ? " %lld" : "%lld", static_cast<long long>(traceLine[i]));
  std::fputc('\n', trace.f);
  traceLine.clear();
}

Core::Core(Store& store, std::shared_ptr<const RuleSet> rules, RuleLoader loader,
           CoreOptions options, Metrics& metrics, std::function<void(OutboxEntry)> onSend,
           std::function<void(std::shared_ptr<const RuleSet>)> onRules,
           std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>(store, std::move(rules), std::move(loader), std::move(options),
                                   metrics, std::move(onSend), std::move(onRules),
                                   std::move(log))) {}

Core::~Core() = default;

bool Core::recover(std::string& error) {
  Impl& m = *impl_;
  m.recovering = true;
  uint64_t n = 0;
  bool ok = m.store.scanLog(
      1,
      [&](const LogEntry& e) {
        m.apply(e);
        if (++n % 4096 == 0) m.publish();
        return true;
      },
      error);
  m.publish();
  m.recovering = false;
  m.logged = m.store.lastSeq();
  if (!ok) return false;
  if (n > 0) m.log("replayed " + std::to_string(n) + " log entries");
  // The rules on disk come into force now (at a first start: are recorded as the first entry).
  if (n == 0 || m.rules->version != m.disk->version) {
    if (!m.storeRules(*m.disk, error)) return false;
    std::vector<LogEntry> entry{{0, LogEntry::Kind::Rules, m.lastStamp, m.disk->version}};
    std::vector<DeadLetter> none;
    if (!m.store.append(entry, none, error)) return false;
    m.logged = m.store.lastSeq();
    if (m.rules->version != m.disk->version && !m.switchRules(m.disk->version, entry[0].seq, error))
      return false;
  }
  if (!m.opt.manualClock) m.runWallClock();
  m.flushTrace();  // the start's own line: a cycle's wall-clock run would add a 12th column to it
  {
    std::lock_guard lock(m.mu);
    m.requestedClock = m.clockNow.load();
  }
  return true;
}

Core::Accept Core::submit(Submission s) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (s.clock) {
      if (*s.clock < m.requestedClock) return Accept::Backwards;
      m.requestedClock = *s.clock;
    } else if (m.queuedEvents + s.events.size() > m.opt.maxQueuedEvents) {
      return Accept::Busy;
    }
    m.queuedEvents += s.events.size();
    if (m.trace.f) s.queued = Steady::now();
    m.queue.push_back(std::move(s));
  }
  m.cv.notify_one();
  return Accept::Queued;
}

void Core::run() {
  Impl& m = *impl_;
  // Named for top, perf and the benchmarks (bench/timer_lateness.py finds it by name).
  pthread_setname_np(pthread_self(), "trig-core");
  for (;;) {
    m.metrics.set("trig_timers_pending", static_cast<double>(m.engine->pendingTimers()));
    m.metrics.set("trig_log_entries", static_cast<double>(m.logged.load()));
    publishConversions(m.metrics, m.rules->program->plan, m.engine->stats());
    std::deque<Submission> batch;
    {
      std::unique_lock lock(m.mu);
      auto ready = [&] { return m.stopping || !m.queue.empty(); };
      if (m.opt.manualClock) {
        m.cv.wait(lock, ready);
      } else {
        m.cv.wait_for(lock, kTick, ready);
      }
      if (m.queue.empty() && m.stopping) break;
      batch.swap(m.queue);
      m.queuedEvents = 0;
    }
    if (!batch.empty()) m.commit(batch);
    if (!m.opt.manualClock) m.runWallClock();
    m.flushTrace();
  }
}

void Core::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

TimeMs Core::clock() const {
  return impl_->clockNow.load();
}

uint64_t Core::logged() const {
  return impl_->logged.load();
}

}  // namespace trig::serve
