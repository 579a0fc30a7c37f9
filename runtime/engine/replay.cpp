#include "runtime/engine/replay.h"

#include <algorithm>

#include "runtime/ingest/reader.h"

namespace trig::engine {

ReplayResult replay(Engine& engine, const sema::Model& model, const ReplayOptions& options) {
  ReplayResult result;
  ingest::Decoder decoder(model);
  std::unique_ptr<ingest::DeadLetterWriter> dead;
  if (!options.deadLetter.empty()) {
    dead = std::make_unique<ingest::DeadLetterWriter>(options.deadLetter);
    if (!dead->ok()) {
      result.ioError = dead->error();
      return result;
    }
  }
  ingest::ReaderOptions ro;
  ro.diagnostics = options.diagnostics;
  ro.deadLetter = dead.get();
  ingest::EventReader reader(decoder, ro);
  std::vector<Event> events;
  for (const auto& path : options.eventFiles) {
    std::string error;
    bool ok = reader.readAll(path, [&](Event& e) { events.push_back(std::move(e)); }, error);
    if (!ok) {
      result.ioError = error;
      return result;
    }
  }
  if (dead) dead->flush();
  result.lines = reader.stats().lines;
  result.accepted = reader.stats().accepted;
  result.rejected = reader.stats().rejected;
  // Replay processes events in timestamp order, stable for equal stamps.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.time < b.time; });
  for (const auto& e : events) {
    if (options.until && e.time > *options.until) {
      ++result.afterUntil;
      continue;
    }
    if (e.kind == Event::Kind::Undeclared && result.undeclared.insert(e.name).second && options.diagnostics)
      *options.diagnostics << e.source << ": warning: event '" << e.name
                           << "' is not declared; it counts as activity and is otherwise ignored\n";
    engine.process(e);
  }
  engine.finish(options.until);
  return result;
}

}  // namespace trig::engine
