#pragma once
// The allocator's settings for the trig executable (cli/allocator.cpp).

namespace trig::cli {

// No transparent huge pages for this process from now on, whatever the allocator asks for:
// for the commands that grow their state from nothing while someone waits (`trig report`,
// `trig graph`, `trig serve`). A failure only leaves them on.
void disableHugePages();

}  // namespace trig::cli
