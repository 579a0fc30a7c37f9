// The allocator's settings, for the trig executable only. When jemalloc is linked in (CMake
// option TRIG_JEMALLOC, on by default outside sanitizer builds), it reads `malloc_conf` at start.
//
// Transparent huge pages for the heap: the runtime reads its state (the customer table, the
// histories) at random, one customer per event, and with 4 KiB pages every event pays TLB
// misses and growth pays a page fault per page. W2 at 1M customers (1M events, 100 rules):
// page faults 24,900 -> 2,500 and about 15% less CPU time (glibc's own `glibc.malloc.hugetlb=1`
// tunable does the same, but only from the environment).
//
// Commands that grow their state from nothing while someone waits turn huge pages off for their
// own process (disableHugePages): on this project's VM a fresh huge page's first touch stalls the
// thread for about 6 ms (zeroing 2 MiB, the host backing the guest's memory as it goes).
// - `trig report` and `trig graph` build every customer's state once: with huge pages, zeroing
//   took 8.6 s of a 21 s report of 10M events (docs/performance.md, "Report").
// - `trig serve`: those stalls were its `/v1/track` p99 (10 ms with huge pages, 1.5 ms without,
//   on a quiet machine; docs/performance.md, "Live ingest").
#include "cli/allocator.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace trig::cli {

void disableHugePages() {
#ifdef __linux__
  ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
#endif
}

}  // namespace trig::cli

#ifdef TRIG_JEMALLOC
extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
#endif
