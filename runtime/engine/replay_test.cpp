// Replay's ordering pass: the decoder's look at a line's timestamp alone (Decoder::peekTime),
// which decides whether files stream in order. A wrong answer on a line the decoder hands out
// would replay events out of order, so it is checked on the shapes that trip naive scanners
// (escaped quotes and backslashes, nested "timestamp" keys, escaped keys) and on random lines
// against the decoder's own Event::time.
#include "runtime/engine/replay.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <unistd.h>

#include "compiler/interp/interp.h"
#include "compiler/interp/test_fixture.h"
#include "runtime/ingest/decoder.h"

namespace trig::engine {
namespace {

const char* const kCartRule = R"(
trigger cart: when cart_add send t
template t { subject "s" body "b" }
)";

// Decoder::peekTime with a decoder of a one-rule program.
bool scanTimestamp(std::string_view line, TimeMs& out) {
  static testing::CheckedProgram p(kCartRule);
  static ingest::Decoder decoder(plan::buildIngestPlan(p.model));
  return decoder.peekTime(line, out);
}

TimeMs stamp(const char* text) {
  auto t = parseTimestamp(text);
  REQUIRE(t);
  return *t;
}

std::string jsonString(const std::string& raw) {
  std::string out = "\"";
  for (char c : raw) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

TEST_CASE("replay ordering pass: the top-level timestamp, past strings and nested objects") {
  TimeMs t = 0;
  CHECK(scanTimestamp(
      R"({"type":"track","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})",
      t));
  CHECK(t == stamp("2026-01-01T10:00:00Z"));

  // An escaped quote does not end the string; the "timestamp" inside it is not a key.
  CHECK(scanTimestamp(
      R"({"userId":"a\",\"timestamp\":\"2030-01-01T00:00:00Z","timestamp":"2026-01-02T00:00:00Z"})",
      t));
  CHECK(t == stamp("2026-01-02T00:00:00Z"));

  // An escaped backslash before the closing quote: the string ends there.
  CHECK(scanTimestamp(R"({"userId":"a\\","timestamp":"2026-01-03T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-03T00:00:00Z"));
  CHECK(scanTimestamp(R"({"userId":"a\\\"b\\\\","timestamp":"2026-01-04T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-04T00:00:00Z"));

  // A nested "timestamp" is a property, not the event's time.
  CHECK(scanTimestamp(
      R"({"timestamp":"2026-01-05T00:00:00Z","properties":{"timestamp":"2031-01-01T00:00:00Z","l":[{"timestamp":1}]}})",
      t));
  CHECK(t == stamp("2026-01-05T00:00:00Z"));

  // A key spelled with an escape is "timestamp" to the decoder, and so to the look.
  CHECK(scanTimestamp(R"({"userId":"c1","time\u0073tamp":"2026-01-08T00:00:00Z"})", t));
  CHECK(t == stamp("2026-01-08T00:00:00Z"));
  // An escaped stamp is read as the decoder reads it.
  CHECK(scanTimestamp(R"({"timestamp":"2026-01-09T00:00:00\u005a"})", t));
  CHECK(t == stamp("2026-01-09T00:00:00Z"));
  // Whitespace anywhere JSON allows it.
  CHECK(scanTimestamp(" { \"userId\" : \"c1\" ,\t\"timestamp\" : \"2026-01-10T00:00:00Z\" } ", t));
  CHECK(t == stamp("2026-01-10T00:00:00Z"));

  // The look stops at the stamp: what follows is the decoder's (a line with a key sent twice,
  // or malformed after the stamp, is rejected by the decoder whatever the look said).
  CHECK(scanTimestamp(R"({"timestamp":"2026-01-06T00:00:00Z","timestamp":"2026-01-07T00:00:00Z"})",
                      t));
  CHECK(t == stamp("2026-01-06T00:00:00Z"));

  // Lines without a readable top-level stamp: the decoder rejects them, and the caller sorts.
  CHECK_FALSE(scanTimestamp(R"({"userId":"c1"})", t));
  CHECK_FALSE(scanTimestamp(R"({"properties":{"timestamp":"2026-01-01T10:00:00Z"}})", t));
  CHECK_FALSE(scanTimestamp(R"({"event":"timestamp","x":"2026-01-01T10:00:00Z"})", t));
  CHECK_FALSE(scanTimestamp(R"({"l":["timestamp","2026-01-01T10:00:00Z"]})", t));
  CHECK_FALSE(scanTimestamp(R"({"userId":"c1,"timestamp":"2026-01-01T10:00:00Z"})", t));
  CHECK_FALSE(scanTimestamp(R"({"userId":c1,"timestamp":"2026-01-01T10:00:00Z"})", t));
  CHECK_FALSE(scanTimestamp(R"({"userId":"unterminated\"})", t));
  CHECK_FALSE(scanTimestamp(R"({"timestamp":"not a time"})", t));
  CHECK_FALSE(scanTimestamp(R"({"timestamp":1767225600})", t));
  CHECK_FALSE(scanTimestamp(R"([1,2])", t));
  CHECK_FALSE(scanTimestamp("{}", t));
  CHECK_FALSE(scanTimestamp("", t));
}

TEST_CASE("replay ordering pass: random lines with quotes and backslashes in every string") {
  std::mt19937 rng(20261129);
  const char alphabet[] = {'a', 'b', '"', '\\', ' ', ':', ',', '{', '}', '[', ']', 't'};
  auto randomRaw = [&] {
    std::string s;
    size_t n = rng() % 12;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % sizeof alphabet];
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    TimeMs expected = stamp("2026-01-01T00:00:00Z") + static_cast<TimeMs>(rng() % 1'000'000) * 1000;
    std::string line = "{";
    int keys = 1 + static_cast<int>(rng() % 4);
    int stampAt = static_cast<int>(rng() % keys);
    for (int k = 0; k < keys; ++k) {
      if (k > 0) line += ",";
      if (k == stampAt) {
        line += "\"timestamp\":\"" + formatTimestamp(expected) + "\"";
        continue;
      }
      line += "\"k" + std::to_string(k) + "\":";  // keys with escapes make the scan give up
      switch (rng() % 3) {
        case 0: line += jsonString(randomRaw()); break;
        case 1:
          line += "{\"timestamp\":" + jsonString(randomRaw()) + ",\"x\":[" +
                  jsonString(randomRaw()) + "]}";
          break;
        default: line += std::to_string(rng() % 1000); break;
      }
    }
    line += "}";
    CAPTURE(line);
    TimeMs got = 0;
    REQUIRE(scanTimestamp(line, got));
    CHECK(got == expected);
  }
}

// Random event lines in many shapes: the usual compact track call, whitespace, escapes in
// strings and keys, a nested or repeated "timestamp", stamps in every RFC 3339 spelling and some
// that are none. Consecutive lines often share a day (the decoder's parser keeps the last one).
std::string randomEventLine(std::mt19937& rng, TimeMs& base) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  base += pick(4) == 0 ? pick(100'000'000) : pick(5000);
  auto stampText = [&](TimeMs t) -> std::string {
    std::string text = formatTimestamp(t);  // "YYYY-MM-DDTHH:MM:SS[.fff]Z"
    switch (pick(10)) {
      case 0: return text.substr(0, 19) + "." + std::to_string(100000 + pick(900000)) + "Z";
      case 1: return text.substr(0, 19) + "+02:00";
      case 2: text[10] = 't'; return text;
      case 3: text.back() = 'z'; return text;
      case 4: text[10] = ' '; return text;
      case 5: return text.substr(0, 19) + ".5Z";
      case 6: return text.substr(0, 13) + ":61:00Z";  // no such minute
      case 7: return "2026-02-30T00:00:00Z";          // no such day
      case 8: return text.substr(0, 19) + ".1234567891Z";
      default: return text;
    }
  };
  auto plain = [&] {
    static const char* kWords[] = {
        "c1",  "timestamp",           "t", "track", "\\\"", "a\\\\", "x y", "\\u0074imestamp", "{",
        "[1]", "2026-01-01T00:00:00Z"};
    return std::string(kWords[pick(11)]);
  };
  const char* sp = pick(5) == 0 ? " " : "";
  std::vector<std::string> members;
  members.push_back(std::string("\"type\":") + sp + "\"track\"");
  members.push_back(std::string("\"event\":") + sp + "\"cart_add\"");
  members.push_back(std::string("\"userId\":") + sp + "\"" + plain() + "\"");
  members.push_back(std::string("\"timestamp\":") + sp + "\"" + stampText(base) + "\"");
  members.push_back(std::string("\"properties\":") + sp + "{\"product_id\":\"" + plain() + "\"" +
                    (pick(3) == 0 ? ",\"timestamp\":\"2031-01-01T00:00:00Z\"" : "") + "}");
  switch (pick(8)) {
    case 0: members.push_back("\"timestamp\":\"" + stampText(base + 1000) + "\""); break;
    case 1: members.push_back("\"time\\u0073tamp\":\"" + stampText(base - 1000) + "\""); break;
    case 2:
      members.push_back("\"context\":{\"timestamp\":\"2020-01-01T00:00:00Z\",\"l\":[1,{}]}");
      break;
    case 3: members.push_back("\"messageId\":\"" + plain() + "\""); break;
    case 4: members.insert(members.begin(), "\"context\":{\"a\":[\"" + plain() + "\"]}"); break;
    default: break;
  }
  std::shuffle(members.begin() + (pick(4) == 0 ? 0 : 3), members.end(), rng);
  std::string line = pick(10) == 0 ? " {" : "{";
  for (size_t k = 0; k < members.size(); ++k) line += (k ? std::string(",") + sp : "") + members[k];
  line += pick(10) == 0 ? "} " : "}";
  return line;
}

TEST_CASE("replay ordering pass: the look's stamp is the decoder's, on random lines") {
  testing::CheckedProgram p(kCartRule);
  ingest::Decoder decoder(plan::buildIngestPlan(p.model));
  std::mt19937 rng(7);
  TimeMs base = stamp("2026-01-01T00:00:00Z");
  int decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    const std::string line = randomEventLine(rng, base);
    CAPTURE(line);
    TimeMs peeked = 0;
    const bool byLook = decoder.peekTime(line, peeked);
    Event e;
    std::string reason;
    if (!decoder.decode(line, e, reason) && !decoder.failedClosed()) continue;
    ++decoded;
    // Every line the decoder hands out has its stamp found by the look, and the same one.
    REQUIRE(byLook);
    REQUIRE(peeked == e.time);
  }
  // The shapes above are mostly valid.
  CHECK(decoded > 10000);
}

// Replays `lines` (one file) through a fresh engine with rule `cart` and returns the times of
// its firings in output order, and the progress calls.
struct Replayed {
  std::vector<TimeMs> sends;
  std::vector<std::pair<uint64_t, uint64_t>> progress;
};

Replayed replayLines(const std::vector<std::string>& lines) {
  testing::CheckedProgram p(R"(
trigger cart: when cart_add send t
template t { subject "s" body "b" }
)");
  interp::Interpreter interp(p.model);
  Replayed out;
  EngineOptions eo;
  eo.explain = true;  // nobody has an email: each firing is a `no_email` record
  eo.sink = [&](const Record& r) { out.sends.push_back(r.time); };
  Engine engine(plan::buildPlan(p.model), interp, eo);
  auto path = std::filesystem::temp_directory_path() /
              ("trig-replay-test-" + std::to_string(std::random_device{}()) + ".jsonl");
  {
    std::ofstream f(path);
    for (const auto& l : lines) f << l << "\n";
  }
  ReplayOptions ro;
  ro.eventFiles = {path.string()};
  ro.progressEvery = 2;
  ro.progress = [&](uint64_t done, uint64_t total) { out.progress.emplace_back(done, total); };
  ingest::Decoder decoder(plan::buildIngestPlan(p.model));
  replay(engine, decoder, ro);
  std::filesystem::remove(path);
  return out;
}

std::string cartAdd(const std::string& customer, const char* time) {
  return R"({"event":"cart_add","userId":")" + customer + R"(","timestamp":")" + time +
         R"(","properties":{"product_id":"p"}})";
}

TEST_CASE("replay: sorted files stream, unsorted ones are sorted first; progress is reported") {
  // In order: streamed, the total known from the pre-pass.
  auto sorted =
      replayLines({cartAdd("a", "2026-01-01T10:00:00Z"), cartAdd("b", "2026-01-01T10:01:00Z"),
                   cartAdd("c", "2026-01-01T10:02:00Z")});
  CHECK(sorted.sends == std::vector<TimeMs>{stamp("2026-01-01T10:00:00Z"),
                                            stamp("2026-01-01T10:01:00Z"),
                                            stamp("2026-01-01T10:02:00Z")});
  CHECK(sorted.progress == std::vector<std::pair<uint64_t, uint64_t>>{{2, 3}, {3, 3}});

  // Out of order (and one line the pre-pass cannot vouch for): read whole, stable-sorted.
  auto unsorted =
      replayLines({cartAdd("a", "2026-01-01T10:02:00Z"), cartAdd("b\\\\", "2026-01-01T10:00:00Z"),
                   cartAdd("c", "2026-01-01T10:01:00Z"), cartAdd("d", "2026-01-01T10:00:00Z")});
  CHECK(unsorted.sends ==
        std::vector<TimeMs>{stamp("2026-01-01T10:00:00Z"), stamp("2026-01-01T10:00:00Z"),
                            stamp("2026-01-01T10:01:00Z"), stamp("2026-01-01T10:02:00Z")});
  CHECK(unsorted.progress == std::vector<std::pair<uint64_t, uint64_t>>{{2, 4}, {4, 4}, {4, 4}});
}

TEST_CASE("replay: a pipe is read once, not drained by the ordering pre-pass") {
  // `trig run --events <(zcat events.gz)` names a pipe: looking at it twice would lose it all.
  testing::CheckedProgram p(R"(
trigger cart: when cart_add send t
template t { subject "s" body "b" }
)");
  interp::Interpreter interp(p.model);
  std::vector<TimeMs> firings;
  EngineOptions eo;
  eo.explain = true;
  eo.sink = [&](const Record& r) { firings.push_back(r.time); };
  Engine engine(plan::buildPlan(p.model), interp, eo);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::string text = cartAdd("a", "2026-01-01T10:00:00Z") + "\n" +
                     cartAdd("b", "2026-01-01T10:01:00Z") + "\n{\"broken\n";
  REQUIRE(write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fds[1]);  // the whole stream is in the pipe: a second reader would find it empty
  ReplayOptions ro;
  const std::string path = "/dev/fd/" + std::to_string(fds[0]);
  ro.eventFiles = {path};
  std::ostringstream diagnostics;
  ro.diagnostics = &diagnostics;
  ingest::Decoder decoder(plan::buildIngestPlan(p.model));
  ReplayResult rr = replay(engine, decoder, ro);
  close(fds[0]);
  // Read through a temporary copy, but reported under the name it was given.
  CHECK(diagnostics.str().find(path + ":3: error: malformed JSON") != std::string::npos);
  CHECK(rr.rejected == 1);
  CHECK(rr.accepted == 2);
  CHECK(firings ==
        std::vector<TimeMs>{stamp("2026-01-01T10:00:00Z"), stamp("2026-01-01T10:01:00Z")});
}

}  // namespace
}  // namespace trig::engine
