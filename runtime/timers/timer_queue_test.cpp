#include "runtime/timers/timer_queue.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <vector>

using trig::TimeMs;
using trig::timers::TimerHandle;
using trig::timers::TimerQueue;

TEST_CASE("timers pop in time order, ties in scheduling order") {
  TimerQueue<int> q;
  q.schedule(30, 1);
  q.schedule(10, 2);
  q.schedule(20, 3);
  q.schedule(10, 4);
  CHECK(q.size() == 4);
  CHECK(q.nextTime() == 10);
  TimeMs at = 0;
  CHECK(q.pop(&at) == 2);
  CHECK(at == 10);
  CHECK(q.pop() == 4);
  CHECK(q.pop() == 3);
  CHECK(q.pop(&at) == 1);
  CHECK(at == 30);
  CHECK(q.empty());
  CHECK(q.nextTime() == std::numeric_limits<TimeMs>::max());
}

TEST_CASE("a cancelled timer never fires and its stale handle stays harmless") {
  TimerQueue<int> q;
  TimerHandle a = q.schedule(10, 1);
  TimerHandle b = q.schedule(20, 2);
  TimerHandle stale = a;
  CHECK(q.cancel(a));
  CHECK_FALSE(a.valid());
  CHECK_FALSE(q.cancel(stale));
  // The slot is reused by a new timer: the old handle must not cancel it.
  TimerHandle c = q.schedule(5, 3);
  CHECK_FALSE(q.cancel(stale));
  CHECK(q.isPending(c));
  CHECK(q.isPending(b));
  CHECK(q.dueTime(b) == 20);
  CHECK(q.pop() == 3);
  CHECK_FALSE(q.isPending(c));
  CHECK(q.pop() == 2);
  CHECK(q.empty());
}

TEST_CASE("random schedules and cancellations agree with a reference ordering") {
  std::mt19937_64 rng(42);
  TimerQueue<uint64_t> q;
  std::map<std::pair<TimeMs, uint64_t>, TimerHandle> ref;  // (time, id) -> handle
  uint64_t id = 0;
  for (int round = 0; round < 20000; ++round) {
    int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      TimeMs at = static_cast<TimeMs>(rng() % 1000);
      ref[{at, id}] = q.schedule(at, id);
      ++id;
    } else if (op < 8 && !ref.empty()) {
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % ref.size()));
      CHECK(q.cancel(it->second));
      ref.erase(it);
    } else if (!ref.empty()) {
      TimeMs at = 0;
      uint64_t got = q.pop(&at);
      auto first = ref.begin();
      REQUIRE(at == first->first.first);
      // Ties come out in scheduling order, and ids grow with scheduling order.
      REQUIRE(got == first->first.second);
      ref.erase(first);
    }
    REQUIRE(q.size() == ref.size());
    if (round % 1000 == 0)
      for (const auto& [key, h] : ref) REQUIRE(q.isPending(h));
  }
}

TEST_CASE("a timer's slot is pending from schedule to pop or cancel, whatever moves in the heap") {
  TimerQueue<int> q;
  std::vector<TimerHandle> hs;
  for (int i = 0; i < 64; ++i) hs.push_back(q.schedule(100 - i, i));
  // The last scheduled is due first; popping it moves others through the heap.
  CHECK(q.pop() == 63);
  CHECK_FALSE(q.isPending(hs[63]));
  for (int i = 0; i < 63; ++i) CHECK(q.isPending(hs[static_cast<size_t>(i)]));
  TimerHandle first = hs[0];
  CHECK(q.cancel(hs[0]));
  CHECK_FALSE(q.isPending(first));
  CHECK(q.dueTime(hs[1]) == 99);
  CHECK(q.size() == 62);
}
