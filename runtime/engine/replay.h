#pragma once
// Replay: read event files (JSONL, "-" for standard input), order the events by timestamp
// (stable: input order for equal stamps), feed them to an engine and run its clock on. Files
// already in order stream through in bounded memory; standard input and pipes are first copied
// to a temporary file ($TMPDIR) so that they can be checked for order too. Shared by
// `trig run`, `trig explain` and `trig diff`. Invalid lines are reported on `diagnostics` with
// file and line, written to the dead-letter file when configured, counted, and skipped; an event
// of an undeclared name is reported once per name.
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "runtime/engine/engine.h"
#include "runtime/ingest/decoder.h"

namespace trig::engine {

struct ReplayOptions {
  std::vector<std::string> eventFiles;  // "-" is standard input
  std::vector<std::string> eventNames;  // what messages call each file ("" or none: its path)
  std::optional<TimeMs> until;          // stop the clock here (events after it are not processed)
  std::string deadLetter;               // "" for none
  std::ostream* diagnostics = nullptr;  // invalid lines and warnings
  // Called every `progressEvery` events with (events processed, events in all; 0 while
  // unknown), and once at the end with both equal.
  std::function<void(uint64_t done, uint64_t total)> progress;
  uint64_t progressEvery = 1 << 16;
};

struct ReplayResult {
  uint64_t lines = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t afterUntil = 0;  // events stamped after --until, not processed
  std::set<std::string> undeclared;
  std::string ioError;  // set when a file could not be opened or read (exit 2)
};

// `path` itself when it is a regular file; otherwise (standard input "-", a pipe, a device) a
// new temporary file holding what it had, which the caller deletes: a path that can be read
// twice. Empty, with `error` set, when the copy cannot be made.
std::string readableTwice(const std::string& path, std::string& error);

// Reads every event file, decoding its lines with `decoder` (of the engine's program), then
// replays them through `engine` and finishes it.
ReplayResult replay(Engine& engine, ingest::Decoder& decoder, const ReplayOptions& options);

}  // namespace trig::engine
