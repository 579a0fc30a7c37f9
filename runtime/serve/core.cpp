// The core thread of `trig serve`: group commit, stamping, the engine and its clock (core.h).
#include "runtime/serve/core.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "runtime/deliver/render.h"
#include "runtime/serve/ingest_api.h"
#include "runtime/serve/message.h"

namespace trig::serve {
namespace {

TimeMs wallNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// How often the wall clock runs the engine on when nothing arrives: the decisions of an instant
// are made once the clock has passed it, so this bounds timer lateness and event-to-decision
// latency (a wake-up that finds nothing due costs two heap peeks).
constexpr auto kTick = std::chrono::milliseconds(1);

}  // namespace

struct Core::Impl {
  Store& store;
  const RuleSet& rules;
  CoreOptions opt;
  Metrics& metrics;
  std::function<void(OutboxEntry)> onSend;
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
  ingest::Decoder decoder;
  engine::RecordWriter writer;
  std::vector<engine::Record> records;  // produced since the last publish()
  uint64_t recordNo = 0;                // decision records numbered from 1, log order
  bool recovering = false;
  Event event;
  std::atomic<TimeMs> clockNow{0};
  TimeMs lastStamp = INT64_MIN;
  std::atomic<uint64_t> logged{0};

  Impl(Store& s, const RuleSet& r, CoreOptions o, Metrics& m, std::function<void(OutboxEntry)> send,
       std::function<void(const std::string&)> l)
      : store(s),
        rules(r),
        opt(std::move(o)),
        metrics(m),
        onSend(std::move(send)),
        log(std::move(l)),
        decoder(*r.model),
        writer(*r.model, *r.sources) {
    newEngine();
  }

  void newEngine() {
    engine::EngineOptions eo;
    eo.explain = true;  // every decision is recorded, not only sends
    eo.sink = [this](const engine::Record& r) { records.push_back(r); };
    eo.warn = [this](const std::string& w) { log("warning: " + w); };
    engine = std::make_unique<engine::Engine>(*rules.model, *rules.evaluator, eo);
  }

  TimeMs nextStamp() {
    TimeMs t = opt.manualClock ? clockNow.load() : std::max(wallNow(), clockNow.load());
    return std::max(t, lastStamp);
  }

  void apply(const LogEntry& e);
  void publish();
  void publishSend(const engine::Record& r, const std::string& json);
  void commit(std::deque<Submission>& batch);
  void runWallClock();
};

// One log entry into the engine: an event at its stamp, or a clock move.
void Core::Impl::apply(const LogEntry& e) {
  lastStamp = std::max(lastStamp, e.stamp);
  if (e.kind == LogEntry::Kind::Clock) {
    engine->advanceTo(e.stamp, false);
    clockNow = std::max(clockNow.load(), e.stamp);
    return;
  }
  std::string reason;
  bool ok = decoder.decode(e.data, event, reason, e.stamp);
  if (!ok && !decoder.failedClosed()) {
    // Accepted once, so only a changed rule set gets here; say so rather than drop silently.
    log("log entry " + std::to_string(e.seq) + " is not an event of this rule set: " + reason);
    return;
  }
  event.seq = e.seq;
  event.source = EventSource::named("log", e.seq);
  engine->process(event);
}

void Core::Impl::publishSend(const engine::Record& r, const std::string& json) {
  if (recovering && store.getOutbox(r.messageId)) return;  // decided before the restart
  OutboxEntry o;
  o.messageId = r.messageId;
  o.payload = json.substr(0, json.size() - 1);
  o.payload += ",\"from\":";
  deliver::appendJsonString(o.payload, opt.from);
  auto t = rules.model->templateByName.find(r.templateName);
  bool html = t != rules.model->templateByName.end() && rules.model->templates[t->second].html;
  o.payload += html ? ",\"html\":" : ",\"text\":";
  deliver::appendJsonString(o.payload, r.body);
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
  if (records.empty()) return;
  std::vector<std::pair<uint64_t, std::string>> decisions;
  decisions.reserve(records.size());
  std::string json;
  const TimeMs published = opt.manualClock || recovering ? 0 : wallNow();
  for (const engine::Record& r : records) {
    // From when the decision was due (its event's stamp or its timer's time) to now: timers'
    // lateness and the event-to-decision latency, on the wall clock.
    if (published != 0)
      metrics.observe("trig_decision_lateness_seconds",
                      static_cast<double>(std::max<TimeMs>(0, published - r.time)) / 1000.0);
    json.clear();
    writer.append(json, r);
    json.pop_back();
    json += ",\"rules_version\":\"" + rules.version + "\"}";
    decisions.emplace_back(++recordNo, json);
    const bool ruled = r.decision != engine::Decision::Dropped;
    metrics.add("trig_decisions_total",
                {{"rule", ruled ? rules.model->rules[r.rule].name : ""},
                 {"step", std::to_string(r.step)},
                 {"variant", r.variant},
                 {"decision", engine::decisionName(r.decision)},
                 {"reason", r.reason == engine::Reason::None ? "" : engine::reasonName(r.reason)}});
    if (r.decision == engine::Decision::Send) publishSend(r, json);
  }
  std::string error;
  if (!store.putDecisions(decisions, error)) log("cannot store decision records: " + error);
  records.clear();
}

// Stamps and appends one batch of submissions with one synced write, answers them, and runs
// the entries through the engine.
void Core::Impl::commit(std::deque<Submission>& batch) {
  std::vector<LogEntry> entries;
  std::vector<DeadLetter> dead;
  TimeMs manual = clockNow.load();
  for (Submission& s : batch) {
    if (s.clock) {
      manual = std::max(manual, *s.clock);
      entries.push_back({0, LogEntry::Kind::Clock, manual, ""});
    }
    for (const std::string& ev : s.events) {
      TimeMs stamp = opt.manualClock ? manual : nextStamp();
      lastStamp = std::max(lastStamp, stamp);
      entries.push_back({0, LogEntry::Kind::Event, stamp, withStamp(ev, stamp)});
    }
    for (DeadLetter& d : s.dead) dead.push_back(std::move(d));
  }
  std::string error;
  if (!store.append(entries, dead, error)) {
    log("cannot write the event log: " + error);
    for (Submission& s : batch) s.done(error);
    return;
  }
  logged = store.lastSeq();
  for (Submission& s : batch) {
    for (const std::string& type : s.types)
      metrics.add("trig_events_accepted_total", {{"type", type}});
    if (!s.clock) s.done("");
  }
  for (const LogEntry& e : entries) apply(e);
  publish();
  for (Submission& s : batch)
    if (s.clock) s.done("");
}

// Runs the engine on to the wall clock: every timer due by now fires.
void Core::Impl::runWallClock() {
  TimeMs now = std::max(wallNow(), lastStamp);
  if (now <= clockNow.load()) return;
  engine->advanceTo(now, false);
  clockNow = now;
  publish();
}

Core::Core(Store& store, const RuleSet& rules, CoreOptions options, Metrics& metrics,
           std::function<void(OutboxEntry)> onSend, std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>(store, rules, std::move(options), metrics, std::move(onSend),
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
  if (!m.opt.manualClock) m.runWallClock();
  {
    std::lock_guard lock(m.mu);
    m.requestedClock = m.clockNow.load();
  }
  if (n > 0) m.log("replayed " + std::to_string(n) + " log entries");
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
    m.queue.push_back(std::move(s));
  }
  m.cv.notify_one();
  return Accept::Queued;
}

void Core::run() {
  Impl& m = *impl_;
  for (;;) {
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
    m.metrics.set("trig_timers_pending", static_cast<double>(m.engine->pendingTimers()));
    m.metrics.set("trig_log_entries", static_cast<double>(m.logged.load()));
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
