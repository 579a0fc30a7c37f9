#include "runtime/timers/timer_queue.h"

#include <doctest/doctest.h>

#include <algorithm>
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
  CHECK(q.size() == 62);
  TimeMs at = 0;
  CHECK(q.pop(&at) == 62);
  CHECK(at == 38);
}

TEST_CASE("lanes: timers in due order wait in their lane and come out as the heap's would") {
  TimerQueue<int> q;
  using trig::timers::kNoLane;
  q.schedule(10, 1, 0);
  q.schedule(15, 2, 0);
  TimerHandle three = q.schedule(15, 3, 1);
  q.schedule(12, 4, 1);  // before its lane's last: the heap takes it
  q.schedule(15, 5, kNoLane);
  TimerHandle six = q.schedule(20, 6, 0);
  q.schedule(20, 7, 0);
  CHECK(q.size() == 7);
  CHECK(q.cancel(six));  // behind its lane's first: dead in the lane
  CHECK_FALSE(q.isPending(six));
  CHECK(q.size() == 6);
  CHECK(q.nextTime() == 10);
  std::vector<std::pair<TimeMs, int>> out;
  while (!q.empty()) {
    TimeMs at = 0;
    int v = q.pop(&at);
    out.emplace_back(at, v);
    if (v == 4) CHECK(q.cancel(three));  // the first of lane 1, in the heap
  }
  CHECK(out == std::vector<std::pair<TimeMs, int>>{{10, 1}, {12, 4}, {15, 2}, {15, 5}, {20, 7}});
  CHECK(q.size() == 0);
}

TEST_CASE("lanes: random schedules, cancellations and pops agree with a reference ordering") {
  std::mt19937_64 rng(7);
  TimerQueue<uint64_t> q;
  std::map<std::pair<TimeMs, uint64_t>, TimerHandle> ref;  // (time, id) -> handle
  std::vector<TimeMs> clock(3, 0);                         // each lane's due times mostly rise
  uint64_t id = 0;
  for (int round = 0; round < 30000; ++round) {
    int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      const auto lane = static_cast<uint32_t>(rng() % 4);  // 3: no lane
      TimeMs at = static_cast<TimeMs>(rng() % 1000);
      if (lane < 3) {
        // One in eight goes back in time (the heap's); the others move on by 0 to 4.
        at = rng() % 8 == 0 ? clock[lane] - static_cast<TimeMs>(rng() % 50)
                            : clock[lane] + static_cast<TimeMs>(rng() % 5);
        clock[lane] = std::max(clock[lane], at);
      }
      ref[{at, id}] = q.schedule(at, id, lane < 3 ? lane : trig::timers::kNoLane);
      ++id;
    } else if (op < 8 && !ref.empty()) {
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % ref.size()));
      TimerHandle h = it->second;
      CHECK(q.cancel(it->second));
      CHECK_FALSE(q.cancel(h));
      ref.erase(it);
    } else if (!ref.empty()) {
      TimeMs at = 0;
      REQUIRE(q.nextTime() == ref.begin()->first.first);
      uint64_t got = q.pop(&at);
      auto first = ref.begin();
      REQUIRE(at == first->first.first);
      REQUIRE(got == first->first.second);
      CHECK_FALSE(q.isPending(first->second));
      ref.erase(first);
    }
    REQUIRE(q.size() == ref.size());
    REQUIRE(q.empty() == ref.empty());
    if (round % 1000 == 0)
      for (const auto& [key, h] : ref) REQUIRE(q.isPending(h));
  }
  while (!ref.empty()) {
    REQUIRE(q.pop() == ref.begin()->first.second);
    ref.erase(ref.begin());
  }
  CHECK(q.empty());
}

TEST_CASE("lanes: pop says the lane, and lookAhead sees a lane's pending timers in order") {
  TimerQueue<int> q;
  std::vector<TimerHandle> hs;
  for (int i = 0; i < 6; ++i) hs.push_back(q.schedule(10 * i, i, 2));
  q.schedule(25, 100);  // no lane
  std::vector<int> seen;
  auto note = [&](const int& v) { seen.push_back(v); };
  q.lookAhead(2, 5, 2, note);
  q.lookAhead(2, 0, 9, note);  // past the lane's end: nothing
  q.lookAhead(7, 0, 0, note);  // no such lane: nothing
  CHECK(seen == std::vector<int>{2});
  CHECK(q.cancel(hs[3]));
  uint32_t lane = 0;
  CHECK(q.pop(nullptr, &lane) == 0);
  CHECK(lane == 2);
  q.lookAhead(2, 0, 2, note);  // the cancelled timer, dead in its lane: not seen
  q.lookAhead(2, 0, 1, note);  // lane now 1 (first), 2, 3 (dead), 4, 5
  CHECK(seen == std::vector<int>{2, 2});
  CHECK(q.pop(nullptr, &lane) == 1);
  CHECK(q.pop(nullptr, &lane) == 2);
  CHECK(lane == 2);
  CHECK(q.pop(nullptr, &lane) == 100);
  CHECK(lane == trig::timers::kNoLane);
  CHECK(q.pop(nullptr, &lane) == 4);
  CHECK(q.size() == 1);
}
