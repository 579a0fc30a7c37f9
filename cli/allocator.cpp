// The allocator's settings, for the trig executable only. When jemalloc is linked in (CMake
// option TRIG_JEMALLOC, on by default outside sanitizer builds), it reads `malloc_conf` at start.
//
// Transparent huge pages for the heap: the runtime reads its state (the customer table, the
// histories) at random, one customer per event, and with 4 KiB pages every event pays TLB
// misses and growth pays a page fault per page. W2 at 1M customers (1M events, 100 rules):
// page faults 24,900 -> 2,500 and about 15% less CPU time (glibc's own `glibc.malloc.hugetlb=1`
// tunable does the same, but only from the environment).
#ifdef TRIG_JEMALLOC
extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
#endif
