#include "runtime/ingest/reader.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "runtime/ingest/test_model.h"

using namespace trig;
using namespace trig::ingest;
namespace fs = std::filesystem;

namespace {

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("trig_reader_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string& name, const std::string& content) {
    fs::path p = path / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

std::string pageView(const std::string& customer, const std::string& url,
                     const std::string& ts = "2026-01-01T10:00:00Z") {
  return R"({"event":"page_view","userId":")" + customer + R"(","timestamp":")" + ts +
         R"(","properties":{"url":")" + url + R"("}})";
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One file read whole, with diagnostics and a dead-letter file.
struct ReadRun {
  TempDir dir;
  testing::TestModel tm;
  Decoder decoder{plan::buildIngestPlan(tm.model)};
  std::string events, deadPath;
  std::ostringstream diags;
  std::vector<Event> got;
  ReadStats stats;

  explicit ReadRun(const std::string& content) {
    events = dir.write("events.jsonl", content);
    deadPath = (dir.path / "dead.jsonl").string();
    DeadLetterWriter dead(deadPath);
    REQUIRE(dead.ok());
    EventReader reader(decoder, {&diags, &dead});
    std::string error;
    REQUIRE(reader.readAll(events, [&](Event& e) { got.push_back(e); }, error));
    REQUIRE(dead.flush());
    stats = reader.stats();
  }
};

}  // namespace

TEST_CASE("reader: valid, invalid and blank lines; seq, source, diagnostics, dead letters") {
  ReadRun run(pageView("c1", "/a") + "\n" +    // 1 ok
              "\n" +                           // 2 blank
              "  \t \r\n" +                    // 3 blank
              "{not json\n" +                  // 4 bad
              pageView("c2", "/b") + "\r\n" +  // 5 ok (CRLF)
              R"({"event":"page_view","userId":"c3","timestamp":"2026-01-01T10:00:00Z"})" +
              "\n" +                     // 6 missing url
              "[\"bad \xff utf8\"]\n" +  // 7 invalid UTF-8
              pageView("c3", "/c"));     // 8 ok, no final newline
  const auto& [events, deadPath, diags, got, st] =
      std::tie(run.events, run.deadPath, run.diags, run.got, run.stats);

  REQUIRE(got.size() == 3);
  CHECK(got[0].customer == "c1");
  CHECK(got[0].seq == 0);
  CHECK(got[0].source.str() == events + ":1");
  CHECK(got[1].customer == "c2");
  CHECK(got[1].seq == 1);
  CHECK(got[1].source.str() == events + ":5");
  CHECK(got[1].fields[0] == Value::str("/b"));
  CHECK(got[2].seq == 2);
  CHECK(got[2].source.str() == events + ":8");

  CHECK(st.lines == 8);
  CHECK(st.blank == 2);
  CHECK(st.accepted == 3);
  CHECK(st.rejected == 3);

  auto diagLines = lines(diags.str());
  REQUIRE(diagLines.size() == 3);
  CHECK(diagLines[0].starts_with(events + ":4: error: malformed JSON at column 2"));
  CHECK(diagLines[1] == events + ":6: error: missing required property 'url' of event 'page_view'");
  CHECK(diagLines[2] ==
        events + ":7: error: malformed JSON at column 7: invalid UTF-8 in a string");

  auto deadLines = lines(slurp(deadPath));
  REQUIRE(deadLines.size() == 3);
  auto d0 = nlohmann::json::parse(deadLines[0]);
  CHECK(d0["file"] == events);
  CHECK(d0["line"] == 4);
  CHECK(d0["event"] == "{not json");
  CHECK(d0["reason"].get<std::string>().starts_with("malformed JSON"));
  auto d1 = nlohmann::json::parse(deadLines[1]);
  CHECK(d1["line"] == 6);
  CHECK(d1["reason"] == "missing required property 'url' of event 'page_view'");
  // The invalid UTF-8 line is kept byte for byte, base64-encoded.
  auto d2 = nlohmann::json::parse(deadLines[2]);
  CHECK(d2["line"] == 7);
  CHECK_FALSE(d2.contains("event"));
  CHECK(d2["event_base64"] == "WyJiYWQg/yB1dGY4Il0=");
}

TEST_CASE("reader: seq continues across files; missing files and directories are errors") {
  TempDir dir;
  testing::TestModel tm;
  Decoder decoder(plan::buildIngestPlan(tm.model));
  EventReader reader(decoder, {});
  const std::string a =
      dir.write("a.jsonl", pageView("c1", "/1") + "\n" + pageView("c1", "/2") + "\n");
  const std::string b = dir.write("b.jsonl", pageView("c2", "/3") + "\n");
  std::vector<uint64_t> seqs;
  std::vector<std::string> sources;
  std::string error;
  for (const auto& p : {a, b})
    REQUIRE(reader.readAll(
        p,
        [&](Event& e) {
          seqs.push_back(e.seq);
          sources.push_back(e.source.str());
        },
        error));
  CHECK(seqs == std::vector<uint64_t>{0, 1, 2});
  CHECK(sources == std::vector<std::string>{a + ":1", a + ":2", b + ":1"});

  CHECK_FALSE(reader.open((dir.path / "missing.jsonl").string(), error));
  CHECK(error.find("cannot open") != std::string::npos);
  CHECK(error.find("No such file") != std::string::npos);

  error.clear();
  CHECK_FALSE(reader.readAll(dir.path.string(), [](Event&) {}, error));
  CHECK(error.find("cannot read") != std::string::npos);
}

TEST_CASE("reader: lines longer than the limit are rejected, kept truncated, and skipped") {
  TempDir dir;
  testing::TestModel tm;
  Decoder decoder(plan::buildIngestPlan(tm.model));
  const std::string longLine = pageView("c1", std::string(5000, 'x'));
  const std::string path =
      dir.write("long.jsonl", longLine + "\n" + pageView("c2", "/ok") + "\n" + longLine);
  const std::string deadPath = (dir.path / "dead.jsonl").string();
  DeadLetterWriter dead(deadPath);
  std::ostringstream diags;
  ReaderOptions opts{&diags, &dead, 1000};
  EventReader reader(decoder, opts);
  std::vector<std::string> customers;
  std::string error;
  REQUIRE(reader.readAll(path, [&](Event& e) { customers.push_back(e.customer); }, error));
  dead.flush();
  CHECK(customers == std::vector<std::string>{"c2"});
  CHECK(reader.stats().rejected == 2);
  CHECK(diags.str() == path + ":1: error: line longer than 1000 bytes\n" + path +
                           ":3: error: line longer than 1000 bytes\n");
  auto deadLines = lines(slurp(deadPath));
  REQUIRE(deadLines.size() == 2);
  auto d = nlohmann::json::parse(deadLines[0]);
  CHECK(d["truncated"] == true);
  CHECK(d["event"].get<std::string>() == longLine.substr(0, 1000));
}

TEST_CASE("reader: lines spanning read chunks, and many lines") {
  TempDir dir;
  testing::TestModel tm;
  Decoder decoder(plan::buildIngestPlan(tm.model));
  // Lines of varied lengths around and above the 1 MiB chunk, then many small ones.
  std::string content;
  std::vector<size_t> urlLengths = {10, (1u << 20) - 90, 3u << 20, 5, (1u << 20) + 7, 1};
  for (size_t k = 0; k < urlLengths.size(); ++k)
    content += pageView("big" + std::to_string(k), std::string(urlLengths[k], 'u')) + "\n";
  const int small = 50000;
  for (int k = 0; k < small; ++k) content += pageView("c" + std::to_string(k), "/") + "\n";
  const std::string path = dir.write("big.jsonl", content);
  EventReader reader(decoder, {});
  std::string error;
  REQUIRE(reader.open(path, error));
  Event e;
  size_t k = 0;
  for (; k < urlLengths.size(); ++k) {
    REQUIRE(reader.next(e));
    CHECK(e.customer == "big" + std::to_string(k));
    CHECK(e.fields[0].s.size() == urlLengths[k]);
  }
  int count = 0;
  bool inOrder = true, sourcesRight = true;
  while (reader.next(e)) {
    inOrder = inOrder && e.customer == "c" + std::to_string(count);
    // The line number counts up through 9 -> 10, 99 -> 100, ... 9999 -> 10000.
    sourcesRight = sourcesRight && e.source.str() == path + ":" + std::to_string(count + 7);
    ++count;
  }
  CHECK(inOrder);
  CHECK(sourcesRight);
  CHECK(e.source.str() == path + ":" + std::to_string(small + 6));
  CHECK(count == small);
  CHECK(reader.readError().empty());
  CHECK(reader.stats().accepted == urlLengths.size() + small);
}

TEST_CASE("reader: standard input is '-'") {
  TempDir dir;
  testing::TestModel tm;
  Decoder decoder(plan::buildIngestPlan(tm.model));
  const std::string path = dir.write("stdin.jsonl", pageView("c1", "/") + "\nbad\n");
  const int saved = ::dup(STDIN_FILENO);
  REQUIRE(saved >= 0);
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::dup2(fd, STDIN_FILENO) == STDIN_FILENO);
  ::close(fd);
  std::ostringstream diags;
  EventReader reader(decoder, {&diags, nullptr});
  std::vector<std::string> sources;
  std::string error;
  const bool ok = reader.readAll("-", [&](Event& e) { sources.push_back(e.source.str()); }, error);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  REQUIRE(ok);
  CHECK(sources == std::vector<std::string>{"<stdin>:1"});
  CHECK(diags.str().starts_with("<stdin>:2: error: malformed JSON"));
}

TEST_CASE("dead-letter records are valid JSON for any text") {
  std::string rec =
      DeadLetterWriter::record("f.jsonl", 3, "bad \"quote\"\n", "line\twith \x01 control");
  auto j = nlohmann::json::parse(rec);
  CHECK(j["reason"] == "bad \"quote\"\n");
  CHECK(j["event"] == "line\twith \x01 control");
  CHECK_FALSE(j.contains("truncated"));
  for (std::string bytes :
       {std::string("\xff"), std::string("ab\xc3"), std::string("abc\x80\x80")}) {
    auto k = nlohmann::json::parse(DeadLetterWriter::record("f", 1, "r", bytes));
    CHECK(k.contains("event_base64"));
  }
  CHECK(nlohmann::json::parse(DeadLetterWriter::record("f", 1, "r", "a\xff"))["event_base64"] ==
        "Yf8=");
  CHECK(nlohmann::json::parse(DeadLetterWriter::record("f", 1, "r", "ab\xff"))["event_base64"] ==
        "YWL/");
  DeadLetterWriter bad("/nonexistent-dir/dead.jsonl");
  CHECK_FALSE(bad.ok());
  CHECK(bad.error().find("cannot open dead-letter file") != std::string::npos);
  CHECK_FALSE(bad.write("f", 1, "r", "x"));
}

TEST_CASE("reader: source is FILE:LINE whatever the Event held before") {
  TempDir dir;
  testing::TestModel tm;
  Decoder decoder(plan::buildIngestPlan(tm.model));
  const std::string a =
      dir.write("a.jsonl", pageView("c1", "/") + "\n\n" + pageView("c2", "/") + "\n");
  // A name that starts with the other's "FILE:".
  const std::string b = dir.write("a.jsonl:1", pageView("c3", "/") + "\n");
  EventReader reader(decoder, {});
  std::string error;
  Event e;
  REQUIRE(reader.open(a, error));
  REQUIRE(reader.next(e));
  CHECK(e.source.str() == a + ":1");
  // Changed by the caller in between: still right, not patched.
  e.source = EventSource::named(a, 999999);
  REQUIRE(reader.next(e));
  CHECK(e.source.str() == a + ":3");
  e.source = EventSource::named("x");
  REQUIRE(reader.open(b, error));
  REQUIRE(reader.next(e));
  CHECK(e.source.str() == b + ":1");
  REQUIRE(reader.open(a, error));
  e.source = EventSource::named(b, 5);
  REQUIRE(reader.next(e));
  CHECK(e.source.str() == a + ":1");
}

TEST_CASE("EventSource: FILE:LINE formatted on demand, names interned") {
  const EventSource a = EventSource::named("events.jsonl", 12);
  CHECK(a.str() == "events.jsonl:12");
  CHECK(EventSource::named("events.jsonl").input == a.input);
  CHECK(EventSource::named("other.jsonl").input != a.input);
  CHECK(EventSource::named("test").str() == "test");
  CHECK(EventSource{}.str().empty());
  CHECK(EventSource{}.empty());
  std::ostringstream os;
  os << a << '|' << EventSource::named("x") << '|' << EventSource{};
  CHECK(os.str() == "events.jsonl:12|x|");
}

TEST_CASE("reader: a rejected identify that fails closed is reported, counted and handed out") {
  ReadRun run(
      R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":{"subscribed":"maybe"}})"
      "\n" +
      pageView("c1", "/a") + "\n");
  REQUIRE(run.got.size() == 2);
  CHECK(run.got[0].kind == Event::Kind::Identify);
  CHECK(run.got[0].seq == 0);
  CHECK(run.got[0].source.str() == run.events + ":1");
  REQUIRE(run.got[0].traits.size() == 1);
  CHECK(run.got[0].traits[0].second == Value::boolean(false));
  CHECK(run.got[1].seq == 1);
  CHECK(run.stats.accepted == 1);
  CHECK(run.stats.rejected == 1);
  CHECK(run.diags.str() ==
        run.events + ":1: error: trait 'subscribed' must be bool, got string \"maybe\"\n");
  CHECK(lines(slurp(run.deadPath)).size() == 1);
}

TEST_CASE("reader: a UTF-8 byte order mark at the start of the input is skipped, nowhere else") {
  const std::string bom = "\xEF\xBB\xBF";
  ReadRun run(bom + pageView("c1", "/a") + "\n" + bom + pageView("c2", "/b") + "\n");
  REQUIRE(run.got.size() == 1);
  CHECK(run.got[0].customer == "c1");
  CHECK(run.stats.rejected == 1);
  CHECK(run.diags.str().starts_with(run.events + ":2: error: malformed JSON at column 1"));
  // A file that is only a byte order mark is empty.
  ReadRun empty(bom);
  CHECK(empty.got.empty());
  CHECK(empty.stats.rejected == 0);
}
