// Not a benchmark: prints what the decoder makes of every line, as text, so that two builds'
// decoders can be compared with `cmp` (issue 10: one decoder must behave exactly as the two it
// replaced). Per line: the ordering pass's look (Decoder::peekTime), the outcome, the reason, the
// fail-closed flag and every field of the Event handed out. One Event is reused across lines, as
// the reader does, so that a value left over from an earlier line shows.
//
//   trig_decoder_dump RULES.trig [--mutate N] EVENTS.jsonl...   the lines of the files
//   trig_decoder_dump --generated COUNT [--mutate N]            fast_path_test's generated lines
//
// --mutate N adds N byte-level mutations of each line (a byte replaced, erased or inserted, one
// to three times; seeded, so both builds see the same lines). Every seventh line is also decoded
// with a receive time (the live ingest's stand-in for a missing timestamp).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "compiler/driver/driver.h"
#include "compiler/plan/build.h"
#include "runtime/ingest/decoder.h"
#include "runtime/ingest/test_lines.h"
#include "runtime/ingest/test_model.h"

using namespace trig;

namespace {

void printValue(std::string& o, const Value& v) {
  char buf[64];
  switch (v.kind) {
    case Value::Kind::Absent: o += "absent"; return;
    case Value::Kind::String:
      o += "s:";
      o += v.s;
      o += '\x1f';
      return;
    case Value::Kind::Int: std::snprintf(buf, sizeof buf, "i:%" PRId64, v.i); break;
    case Value::Kind::Float: std::snprintf(buf, sizeof buf, "f:%.17g", v.f); break;
    case Value::Kind::Money: std::snprintf(buf, sizeof buf, "m:%" PRId64, v.m.units); break;
    case Value::Kind::Bool: std::snprintf(buf, sizeof buf, "b:%d", v.b ? 1 : 0); break;
    case Value::Kind::Time: std::snprintf(buf, sizeof buf, "t:%" PRId64, v.i); break;
    case Value::Kind::Duration: std::snprintf(buf, sizeof buf, "d:%" PRId64, v.i); break;
    case Value::Kind::List:
      o += "[";
      for (const auto& item : v.list) {
        printValue(o, item);
        o += ',';
      }
      o += "]";
      return;
  }
  o += buf;
}

struct Dumper {
  ingest::Decoder& decoder;
  Event event;
  std::string reason, out;
  uint64_t n = 0;

  void line(std::string_view text) {
    ++n;
    out.clear();
    TimeMs peeked = 0;
    const bool peekOk = decoder.peekTime(text, peeked);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%" PRIu64 " peek=%d:%" PRId64, n, peekOk ? 1 : 0,
                  peekOk ? peeked : 0);
    out += buf;
    std::optional<TimeMs> receivedAt;
    if (n % 7 == 0) receivedAt = 1'767'261'540'000;
    reason.clear();
    const bool ok = decoder.decode(text, event, reason, receivedAt);
    const bool closed = !ok && decoder.failedClosed();
    out += ok ? " ok" : closed ? " closed " : " rejected ";
    if (!ok) out += reason;
    if (ok || closed) {
      std::snprintf(buf, sizeof buf, " kind=%d type=%u identified=%d time=%" PRId64 " ",
                    static_cast<int>(event.kind), event.type, event.identified ? 1 : 0, event.time);
      out += buf;
      out += "name=" + event.name + '\x1f' + " customer=" + event.customer + '\x1f' +
             " anon=" + event.anonymousId + '\x1f' + " mid=" + event.messageId + '\x1f' +
             " fields=";
      // An identify's or alias's fields mean nothing; a track's are all of them.
      if (event.kind == Event::Kind::Track)
        for (const auto& v : event.fields) {
          printValue(out, v);
          out += ';';
        }
      out += " traits=";
      if (event.kind == Event::Kind::Identify)
        for (const auto& [k, v] : event.traits) {
          out += k + '=';
          printValue(out, v);
          out += ';';
        }
    }
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  }

  void withMutations(std::string_view text, int mutations, std::mt19937& rng) {
    line(text);
    static const std::string kBytes = "{}[]\",:\\ -.eE019tfnul\x01\xc3\xa9\xff\x80 a";
    for (int k = 0; k < mutations; ++k) {
      std::string s(text);
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 3) {
          case 0:
            if (pos < s.size()) s[pos] = kBytes[rng() % kBytes.size()];
            break;
          case 1:
            if (pos < s.size()) s.erase(pos, 1);
            break;
          default: s.insert(pos, 1, kBytes[rng() % kBytes.size()]); break;
        }
      }
      line(s);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: trig_decoder_dump RULES.trig [--mutate N] EVENTS.jsonl...\n"
                 "       trig_decoder_dump --generated COUNT [--mutate N]\n");
    return 2;
  }
  std::mt19937 rng{20261205};
  int mutations = 0;
  const auto mutateAt = [&](int at) {
    if (at + 1 < argc && std::string_view(argv[at]) == "--mutate") {
      mutations = std::atoi(argv[at + 1]);
      return at + 2;
    }
    return at;
  };
  if (std::string_view(argv[1]) == "--generated") {
    testing::TestModel tm;
    ingest::Decoder decoder(plan::buildIngestPlan(tm.model));
    Dumper d{decoder, {}, {}, {}, 0};
    const long count = std::atol(argv[2]);
    mutateAt(3);
    testing::LineGen gen{tm.model};
    for (long k = 0; k < count; ++k) d.withMutations(gen.line(), mutations, rng);
    return 0;
  }
  auto c = compile({argv[1]});
  if (!c->ok()) {
    std::fprintf(stderr, "%s does not check\n", argv[1]);
    return 2;
  }
  ingest::Decoder decoder(plan::buildIngestPlan(c->model));
  Dumper d{decoder, {}, {}, {}, 0};
  for (int at = mutateAt(2); at < argc; ++at) {
    std::ifstream in(argv[at], std::ios::binary);
    std::stringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    std::string_view rest = text;
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      d.withMutations(rest.substr(0, nl), mutations, rng);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
  }
  return 0;
}
