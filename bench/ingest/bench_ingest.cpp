// Benchmark of event ingest (not a test: numbers depend on the machine): reads a JSONL file with
// the EventReader and Decoder of a compiled rule file, N times, and prints events per second of
// CPU time; before that, replay's ordering pass (each line's stamp by Decoder::peekTime), timed
// apart. Nothing else runs, so `valgrind --tool=callgrind` on it measures ingest alone.
//
//   trig_bench_ingest RULES.trig EVENTS.jsonl [REPEAT]
#include <fcntl.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "compiler/driver/driver.h"
#include "compiler/plan/build.h"
#include "runtime/ingest/decoder.h"
#include "runtime/ingest/reader.h"

using namespace trig;

namespace {

// CPU time of this process: on a shared machine wall time mostly measures the neighbours.
double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: trig_bench_ingest RULES.trig EVENTS.jsonl [REPEAT]\n");
    return 2;
  }
  const int repeat = argc > 3 ? std::atoi(argv[3]) : 1;
  auto c = compile({argv[1]});
  if (!c->ok()) {
    std::fprintf(stderr, "%s does not check (%zu errors)\n", argv[1], c->diags.errorCount());
    return 2;
  }
  ingest::Decoder decoder(plan::buildIngestPlan(c->model));

  // The ordering pass as replay runs it: every line's stamp, checked for order.
  uint64_t looked = 0, stamped = 0, inOrder = 0;
  const double lookStart = cpuSeconds();
  for (int r = 0; r < repeat; ++r) {
    const int fd = ::open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr, "cannot open %s\n", argv[2]);
      return 1;
    }
    ingest::LineReader lines(fd, true);
    std::string_view line;
    bool truncated = false;
    TimeMs last = INT64_MIN;
    while (lines.next(line, truncated, ingest::ReaderOptions{}.maxLineBytes)) {
      ++looked;
      TimeMs t = 0;
      if (!decoder.peekTime(line, t)) continue;
      ++stamped;
      inOrder += t >= last ? 1 : 0;
      last = t;
    }
  }
  const double lookSecs = cpuSeconds() - lookStart;
  std::printf(
      "ordering pass: %llu lines (%llu stamped, %llu in order) in %.3f s CPU: %.0f lines/s\n",
      static_cast<unsigned long long>(looked), static_cast<unsigned long long>(stamped),
      static_cast<unsigned long long>(inOrder), lookSecs,
      lookSecs > 0 ? static_cast<double>(looked) / lookSecs : 0.0);

  uint64_t events = 0, fieldsSeen = 0;
  const double start = cpuSeconds();
  for (int r = 0; r < repeat; ++r) {
    ingest::EventReader reader(decoder, {});
    std::string error;
    // Touch what was decoded so nothing can be optimised away.
    bool ok = reader.readAll(
        argv[2], [&](Event& e) { fieldsSeen += e.fields.size() + e.traits.size(); }, error);
    if (!ok) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    events += reader.stats().accepted;
    if (reader.stats().rejected > 0)
      std::fprintf(stderr, "warning: %llu lines rejected\n",
                   static_cast<unsigned long long>(reader.stats().rejected));
  }
  const double secs = cpuSeconds() - start;
  std::printf(
      "ingest: %llu events (%llu fields; %llu lines read by the compact reader, %llu by the "
      "general one) in %.3f s CPU: %.0f events/s\n",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(fieldsSeen),
      static_cast<unsigned long long>(decoder.stats().fast),
      static_cast<unsigned long long>(decoder.stats().general), secs,
      secs > 0 ? static_cast<double>(events) / secs : 0.0);
  return 0;
}
