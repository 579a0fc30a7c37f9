// Latency benchmark (not a test: its numbers depend on the machine). Issue 5's latency figures:
// event -> decision at a fraction of the maximum rate, measured from each event's scheduled
// arrival so that queueing shows; and how late timers fire while events keep arriving.
//
//   trig_bench_latency RULES.trig... --events EVENTS.jsonl [--engine jit|interp]
//       [--rate-fraction 0.5 | --rate EVENTS_PER_S] [--max-events N] [--tick-us 100] [--json]
//
// Everything runs on one thread, in process, against the same engine `trig run` uses (no JSON
// output, no I/O in the measured loops):
//
// 0. The rules are compiled, the evaluator made as `--engine` makes it (for the JIT: waiting for
//    the optimised tier, so that the measured code is the code a long run settles on), and every
//    event is decoded and sorted by time. None of this is timed.
// 1. Maximum rate: a fresh engine processes every event back to back; rate = events / CPU
//    seconds of this thread.
// 2. Paced: another fresh engine. Event i is due at start + i / rate, rate = fraction x maximum
//    (evenly spaced in wall time). The loop spins until the event is due, then calls
//    Engine::process; its latency is the time process returns minus the time it was due. An
//    engine that falls behind starts later than due, so the queueing is in the figures.
//    Event time is the events' own stamps; wall time maps onto it by a virtual clock through the
//    points (stamp_i, due_i), linear in between. While it waits, the loop moves the engine's
//    clock to the virtual clock's time every `tick` microseconds (Engine::advanceTo), so timers
//    run as wall time passes them, as a server's would.
//    Every record reaches a sink that notes the wall time; a record's lateness is that time
//    minus the wall time at which its instant came on the virtual clock. For a record made by an
//    event that is the event's due time (so it adds to the event's latency the wait for the
//    engine to release it: records come out once their instant is over); for a timer's record it
//    is the timer's due time: timer lateness. Records of instants after the last event (timers
//    that run after the paced stream, in Engine::finish) are not paced and not counted.
// 3. The paced engine must fire every rule as often as the unpaced one (exit 1 otherwise).
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/evaluators.h"
#include "compiler/diag/render.h"
#include "compiler/driver/driver.h"
#include "compiler/jit/jit_evaluator.h"
#include "compiler/plan/build.h"
#include "runtime/engine/engine.h"
#include "runtime/ingest/decoder.h"
#include "runtime/ingest/reader.h"

using namespace trig;

namespace {

int64_t wallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Involuntary context switches of this thread: each one is a time the machine took the core away.
long involuntarySwitches() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nivcsw;
}

double threadCpuS() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Options {
  std::vector<std::string> rules;
  std::string events;
  std::string engine = cli::kDefaultEngine;
  double rateFraction = 0.5;
  double rate = 0;  // events/s; 0: rateFraction x the measured maximum
  uint64_t maxEvents = UINT64_MAX;
  double tickUs = 100;
  bool json = false;
  std::string dump;  // per event, one "index stamp_ms latency_ns service_ns" line each
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "trig_bench_latency: %s\n"
      "usage: trig_bench_latency RULES.trig... --events EVENTS.jsonl [--engine jit|interp]\n"
      "         [--rate-fraction F | --rate EVENTS_PER_S] [--max-events N] [--tick-us US] "
      "[--json]\n"
      "         [--dump FILE]  (per event: index, stamp ms, latency ns, service ns)\n",
      why.c_str());
  std::exit(2);
}

double positiveNumber(const std::string& flag, const char* text) {
  char* end = nullptr;
  double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v > 0) || !std::isfinite(v))
    usage(flag + " wants a positive number, got '" + text + "'");
  return v;
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--events") {
      o.events = value();
    } else if (a == "--engine") {
      o.engine = value();
      if (o.engine != "jit" && o.engine != "interp")
        usage("--engine is jit or interp, got '" + o.engine + "'");
    } else if (a == "--rate-fraction") {
      o.rateFraction = positiveNumber(a, value());
    } else if (a == "--rate") {
      o.rate = positiveNumber(a, value());
    } else if (a == "--max-events") {
      o.maxEvents = static_cast<uint64_t>(positiveNumber(a, value()));
    } else if (a == "--tick-us") {
      o.tickUs = positiveNumber(a, value());
    } else if (a == "--dump") {
      o.dump = value();
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "-h" || a == "--help") {
      usage("measures event -> decision latency and timer lateness");
    } else if (a.size() > 1 && a[0] == '-') {
      usage("unknown option " + a);
    } else {
      o.rules.push_back(a);
    }
  }
  if (o.rules.empty()) usage("no rules file");
  if (o.events.empty()) usage("no --events file");
  return o;
}

struct Percentiles {
  size_t n = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0, min = 0, mean = 0;  // microseconds
};

// Nearest-rank percentiles of nanosecond samples, in microseconds.
Percentiles percentiles(std::vector<int64_t> ns) {
  Percentiles p;
  p.n = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
    return static_cast<double>(ns[std::clamp<size_t>(rank, 1, ns.size()) - 1]) / 1e3;
  };
  p.p50 = at(0.5);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(ns.back()) / 1e3;
  p.min = static_cast<double>(ns.front()) / 1e3;
  double sum = 0;
  for (int64_t v : ns) sum += static_cast<double>(v);
  p.mean = sum / static_cast<double>(ns.size()) / 1e3;
  return p;
}

std::string percentilesJson(const Percentiles& p) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "{\"n\":%zu,\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"min\":%.2f,\"mean\":%.2f}",
      p.n, p.p50, p.p99, p.p999, p.max, p.min, p.mean);
  return buf;
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The paced schedule and its virtual clock: event i is due at start + i * gap (ns), and wall
// time maps to event time linearly between consecutive (due_i, stamp_i) points.
struct Schedule {
  const std::vector<Event>* events = nullptr;
  int64_t start = 0;
  double gapNs = 0;

  int64_t due(size_t i) const {
    return start + static_cast<int64_t>(std::llround(static_cast<double>(i) * gapNs));
  }
  TimeMs stamp(size_t i) const { return (*events)[i].time; }

  // Event time at wall time `w`, while event `next` (>= 1) is the next one to process: never
  // its stamp or later (the events stamped T come before the decisions that close T).
  TimeMs eventTimeAt(int64_t w, size_t next) const {
    TimeMs t0 = stamp(next - 1), t1 = stamp(next);
    if (t1 <= t0) return t0;
    int64_t a0 = due(next - 1), a1 = due(next);
    double frac = std::clamp(static_cast<double>(w - a0) / static_cast<double>(a1 - a0), 0.0, 1.0);
    TimeMs v = t0 + static_cast<TimeMs>(std::floor(frac * static_cast<double>(t1 - t0)));
    return std::min(v, t1 - 1);
  }

  // Wall time at which instant `t` (within the stream's span) comes on the virtual clock: the
  // due time of the first event stamped t, else interpolated between the events around it.
  double wallAt(TimeMs t) const {
    const auto& ev = *events;
    auto it = std::lower_bound(ev.begin(), ev.end(), t,
                               [](const Event& e, TimeMs v) { return e.time < v; });
    size_t j = static_cast<size_t>(it - ev.begin());
    if (j == 0) return static_cast<double>(due(0));
    if (j < ev.size() && ev[j].time == t) return static_cast<double>(due(j));
    TimeMs t0 = stamp(j - 1), t1 = stamp(j);
    return static_cast<double>(due(j - 1)) +
           static_cast<double>(t - t0) / static_cast<double>(t1 - t0) * gapNs;
  }
};

std::vector<uint64_t> firedByRule(const engine::Engine& eng) {
  std::vector<uint64_t> out;
  for (const auto& r : eng.stats().rules) out.push_back(r.fired);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseArgs(argc, argv);

  // ---- 0. set-up, not timed ----
  auto c = compile(o.rules);
  if (!c->ok()) {
    auto diags = c->diags.sorted(c->sources);
    std::vector<Diagnostic> errors;
    std::copy_if(diags.begin(), diags.end(), std::back_inserter(errors),
                 [](const Diagnostic& d) { return d.severity == Severity::Error; });
    renderText(std::cerr, errors, c->sources, false);
    std::fprintf(stderr, "trig_bench_latency: the rules have %zu error(s)\n", errors.size());
    return 2;
  }
  std::string note, error;
  auto evaluator = cli::makeEvaluator(o.engine, *c, note, error);
  if (!evaluator) {
    std::fprintf(stderr, "trig_bench_latency: %s\n", error.c_str());
    return 2;
  }
  std::string tier = "reference interpreter";
  if (auto* jitEval = dynamic_cast<jit::JitEvaluator*>(evaluator.get())) {
    const jit::RuleSetCode* first = &jitEval->code();
    bool pending = jitEval->tierPending();
    double t0 = static_cast<double>(wallNs());
    jitEval->waitForTier();
    double waitedS = (static_cast<double>(wallNs()) - t0) / 1e9;
    const auto& st = jitEval->code().stats();
    char buf[200];
    if (pending && &jitEval->code() == first)
      std::snprintf(buf, sizeof buf, "fast tier (-O0): the optimised tier failed to build");
    else if (pending)
      std::snprintf(buf, sizeof buf, "optimised (-O2), built in the background (waited %.1f s)",
                    waitedS);
    else
      std::snprintf(buf, sizeof buf, "optimised (-O2), %s",
                    st.cacheHit ? "from the compiled-code cache" : "compiled at start");
    tier = buf;
    if (jitEval->code().fallbacks().size() > 0) tier += "; " + note;
  }

  std::vector<Event> events;
  {
    ingest::Decoder decoder(plan::buildIngestPlan(c->model));
    ingest::ReaderOptions ro;
    ro.diagnostics = &std::cerr;
    ingest::EventReader reader(decoder, ro);
    std::string openError;
    if (!reader.open(o.events, openError)) {
      std::fprintf(stderr, "trig_bench_latency: %s\n", openError.c_str());
      return 2;
    }
    Event e;
    while (events.size() < o.maxEvents && reader.next(e)) events.push_back(std::move(e));
    if (!reader.readError().empty()) {
      std::fprintf(stderr, "trig_bench_latency: %s\n", reader.readError().c_str());
      return 2;
    }
    if (reader.stats().rejected > 0) {
      std::fprintf(stderr,
                   "trig_bench_latency: %" PRIu64
                   " invalid event line(s); the benchmark wants a clean stream\n",
                   reader.stats().rejected);
      return 2;
    }
  }
  if (events.size() < 2) {
    std::fprintf(stderr, "trig_bench_latency: %zu event(s): need at least 2\n", events.size());
    return 2;
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });
  const size_t n = events.size();
  auto quiet = [](const std::string&) {};

  // ---- 1. maximum rate ----
  uint64_t recordsMax = 0;
  std::vector<uint64_t> firedMax;
  double maxCpuS = 0;
  {
    engine::EngineOptions eo;
    eo.explain = true;
    eo.sink = [&](const engine::Record&) { ++recordsMax; };
    eo.warn = quiet;
    engine::Engine eng(plan::buildPlan(c->model), *evaluator, eo);
    double t0 = threadCpuS();
    for (const auto& e : events) eng.process(e);
    maxCpuS = threadCpuS() - t0;
    eng.finish();
    firedMax = firedByRule(eng);
  }
  const double maxRate = static_cast<double>(n) / maxCpuS;
  const double pacedRate = o.rate > 0 ? o.rate : o.rateFraction * maxRate;

  // ---- 2. paced ----
  struct Seen {
    int64_t wall;
    TimeMs instant;
  };
  std::vector<Seen> seen;
  seen.reserve(recordsMax + 16);
  std::vector<int64_t> latency(n), service(n);
  std::vector<uint64_t> firedPaced;
  uint64_t advances = 0, behind = 0;
  int64_t end = 0;
  double pacedCpuS = 0;
  long preempted = 0;
  Schedule sched;
  sched.events = &events;
  sched.gapNs = 1e9 / pacedRate;
  {
    engine::EngineOptions eo;
    eo.explain = true;
    eo.sink = [&](const engine::Record& r) { seen.push_back({wallNs(), r.time}); };
    eo.warn = quiet;
    engine::Engine eng(plan::buildPlan(c->model), *evaluator, eo);
    const auto tickNs = static_cast<int64_t>(o.tickUs * 1e3);
    sched.start = wallNs() + 1'000'000;
    const double cpu0 = threadCpuS();
    const long switches0 = involuntarySwitches();
    int64_t lastTick = sched.start;
    TimeMs advancedTo = INT64_MIN;
    for (size_t i = 0; i < n; ++i) {
      const int64_t due = sched.due(i);
      int64_t now = wallNs();
      if (now > due) ++behind;
      while (now < due) {
        if (i > 0 && now - lastTick >= tickNs) {
          lastTick = now;
          TimeMs v = sched.eventTimeAt(now, i);
          if (v > advancedTo) {
            eng.advanceTo(v);
            advancedTo = v;
            ++advances;
          }
        }
        now = wallNs();
      }
      eng.process(events[i]);
      const int64_t done = wallNs();
      latency[i] = done - due;
      service[i] = done - now;
      advancedTo = std::max(advancedTo, events[i].time);
    }
    end = wallNs();
    pacedCpuS = threadCpuS() - cpu0;
    preempted = involuntarySwitches() - switches0;
    eng.finish();
    firedPaced = firedByRule(eng);
  }
  const double pacedWallS = static_cast<double>(end - sched.start) / 1e9;
  const double achievedRate = static_cast<double>(n) / pacedWallS;
  // The loop never sleeps, so its thread is always runnable: the share of the wall time it got a
  // core is what the rest of the machine left it. Below ~0.95 the figures measure the neighbours.
  const double cpuShare = pacedCpuS / (pacedWallS + 1e-3);

  // ---- 3. agreement and figures ----
  const TimeMs lastStamp = events.back().time;
  std::vector<int64_t> lateness;
  for (const auto& s : seen)
    if (s.instant <= lastStamp)
      lateness.push_back(static_cast<int64_t>(
          std::llround(static_cast<double>(s.wall) - sched.wallAt(s.instant))));
  if (!o.dump.empty()) {
    std::FILE* f = std::fopen(o.dump.c_str(), "w");
    if (f == nullptr) {
      std::perror(o.dump.c_str());
      return 2;
    }
    for (size_t i = 0; i < n; ++i)
      std::fprintf(f, "%zu %" PRId64 " %" PRId64 " %" PRId64 "\n", i,
                   static_cast<int64_t>(events[i].time), latency[i], service[i]);
    std::fclose(f);
  }
  Percentiles lat = percentiles(latency);
  Percentiles late = percentiles(lateness);
  bool agree = firedPaced == firedMax && seen.size() == recordsMax;
  uint64_t firedTotal = 0;
  for (uint64_t f : firedMax) firedTotal += f;
  // Event time per wall time in the paced run (x real time).
  double speed = static_cast<double>(lastStamp - events.front().time) /
                 (static_cast<double>(n - 1) * sched.gapNs / 1e6);

  char fraction[64];
  std::snprintf(fraction, sizeof fraction, "%g of the maximum", o.rateFraction);
  char fractionJson[32];
  std::snprintf(fractionJson, sizeof fractionJson, "%g", o.rateFraction);
  if (o.json) {
    std::string fired = "{";
    for (size_t r = 0; r < firedMax.size(); ++r) {
      if (r > 0) fired += ",";
      fired += jsonString(c->model.rules[r].name) + ":" + std::to_string(firedMax[r]);
    }
    fired += "}";
    std::printf(
        "{\"engine\":%s,\"tier\":%s,\"events\":%zu,\"rules\":%zu,\"max_cpu_s\":%.4f,\"max_rate\":%."
        "1f,"
        "\"rate_fraction\":%s,\"paced_rate_target\":%.1f,\"paced_rate\":%.1f,\"tick_us\":%.1f,"
        "\"event_time_speed\":%.2f,\"cpu_share\":%.3f,\"preempted\":%ld,\"behind\":%" PRIu64
        ",\"advances\":%" PRIu64 ",\"latency_us\":%s,\"records\":%" PRIu64
        ",\"lateness_us\":%s,\"fired_total\":%" PRIu64 ",\"fired\":%s,\"agree\":%s}\n",
        jsonString(o.engine).c_str(), jsonString(tier).c_str(), n, c->model.rules.size(), maxCpuS,
        maxRate, o.rate > 0 ? "null" : fractionJson, pacedRate, achievedRate, o.tickUs, speed,
        cpuShare, preempted, behind, advances, percentilesJson(lat).c_str(), recordsMax,
        percentilesJson(late).c_str(), firedTotal, fired.c_str(), agree ? "true" : "false");
  } else {
    std::printf("engine %s: %s\n", o.engine.c_str(), tier.c_str());
    std::printf("%zu events, %zu rules, %" PRIu64 " firings, %" PRIu64 " records\n", n,
                c->model.rules.size(), firedTotal, recordsMax);
    std::printf("maximum rate   %12.0f events/s (%.3f s CPU, one thread)\n", maxRate, maxCpuS);
    std::printf(
        "paced at       %12.0f events/s (%s), achieved %.0f/s; event time ran %.1fx real time\n",
        pacedRate, o.rate > 0 ? "--rate" : fraction, achievedRate, speed);
    std::printf("latency, us    p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (%" PRIu64
                " events started late)\n",
                lat.p50, lat.p99, lat.p999, lat.max, behind);
    std::printf("record lateness, us  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (%zu of %" PRIu64
                " records within the stream's span; tick %.0f us, %" PRIu64 " clock advances)\n",
                late.p50, late.p99, late.p999, late.max, late.n, recordsMax, o.tickUs, advances);
    std::printf(
        "the paced loop had a core %.0f%% of its wall time (%ld involuntary context switches)%s\n",
        cpuShare * 100, preempted,
        cpuShare < 0.95 ? ": the machine is busy, the figures measure it too" : "");
    std::printf("paced firings %s the unpaced run's\n", agree ? "equal" : "DIFFER FROM");
  }
  if (!agree) {
    std::fprintf(stderr,
                 "trig_bench_latency: the paced run fired differently from the unpaced one\n");
    for (size_t r = 0; r < firedMax.size(); ++r)
      if (firedMax[r] != firedPaced[r])
        std::fprintf(stderr, "  rule %s: unpaced %" PRIu64 ", paced %" PRIu64 "\n",
                     c->model.rules[r].name.c_str(), firedMax[r], firedPaced[r]);
    return 1;
  }
  return 0;
}
