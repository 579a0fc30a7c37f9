#pragma once
// `trig serve` (docs/serve.md): the HTTP routes of the ingest, admin and health APIs over the
// core (core.h), the delivery threads (delivery.h), the store and the keys, and the process's
// life: start (replay of the log), signals, graceful stop.
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "runtime/serve/core.h"
#include "runtime/serve/dashboard.h"

namespace trig::report {
struct Report;
}

namespace trig::serve {

struct ServiceOptions {
  std::string dataDir;
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks one (printed at start)
  bool manualClock = false;
  std::string deliver = "outbox";  // outbox | smtp://... | http(s)://...
  std::string from = "trig <trig@localhost>";
  // The base URL of the tracking links (open pixel, clicks, unsubscribe); "" for
  // http://HOST:PORT of the address listened on.
  std::string publicUrl;
  bool logJson = false;
  bool printKeys = false;  // print the keys and exit
  unsigned deliveryThreads = 2;
  // The dashboard's helpers from the CLI (each may be empty: the page then says what it cannot
  // show).
  DashboardHooks dashboard;
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts later:
// runService waits for them in a thread of its own. Call it before starting any thread.
void blockServiceSignals();

// Runs the service until SIGTERM or SIGINT. Exit codes as the CLI's: 0 after a graceful stop,
// 2 when it cannot start (the data directory in use, the port taken, a bad --deliver).
// `rules` is the rule set on disk; `loader` compiles it again at a reload (SIGHUP, POST
// /v1/admin/reload) and compiles the stored rule sets a log was decided with.
int runService(const ServiceOptions& options, std::shared_ptr<const RuleSet> rules,
               RuleLoader loader, std::ostream& err);

}  // namespace trig::serve
