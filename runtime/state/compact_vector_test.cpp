#include "runtime/state/compact_vector.h"

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace trig::state {

TEST_CASE("CompactVector is one pointer and owns nothing while empty") {
  static_assert(sizeof(CompactVector<std::string>) == sizeof(void*));
  static_assert(sizeof(CompactVector<int, const void*>) == sizeof(void*));
  CompactVector<std::string> v;
  CHECK(v.empty());
  CHECK(v.heapBytes() == 0);
  CHECK(v.begin() == v.end());
  v.push_back("a");
  CHECK(v.size() == 1);
  CHECK(v.capacity() == 1);
  CHECK(v.heapBytes() > 0);
  v.clear();
  CHECK(v.empty());
  CHECK(v.heapBytes() == 0);
}

TEST_CASE("CompactVector grows by one while small, then doubles, and gives room back") {
  CompactVector<int> v;
  std::vector<size_t> capacities;
  for (int i = 0; i < 20; ++i) {
    v.push_back(i);
    capacities.push_back(v.capacity());
  }
  CHECK(capacities[0] == 1);
  CHECK(capacities[1] == 2);
  CHECK(capacities[2] == 3);
  CHECK(capacities[3] == 4);
  CHECK(capacities[4] == 8);
  CHECK(capacities[8] == 16);
  CHECK(capacities[16] == 32);
  for (int i = 0; i < 20; ++i) CHECK(v[static_cast<size_t>(i)] == i);
  CHECK(v.eraseIf([](int x) { return x >= 3; }) == 17);
  CHECK(v.size() == 3);
  CHECK(v.capacity() == 32);
  v.shrink_to_fit();
  CHECK(v.capacity() == 3);
  CHECK(v[0] == 0);
  CHECK(v[2] == 2);
  // Erasing the last element gives the room back.
  v.erase(v.begin() + 1);
  CHECK(v.size() == 2);
  CHECK(v[1] == 2);
  v.erase(v.begin());
  v.erase(v.begin());
  CHECK(v.empty());
  CHECK(v.heapBytes() == 0);
  CHECK(v.eraseIf([](int) { return true; }) == 0);
}

TEST_CASE("CompactVector agrees with std::vector under random edits, owning elements") {
  std::mt19937 rng(11);
  CompactVector<std::shared_ptr<int>> v;
  std::vector<std::shared_ptr<int>> ref;
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 5) {
      auto p = std::make_shared<int>(step);
      v.push_back(p);
      ref.push_back(p);
    } else if (op < 7 && !ref.empty()) {
      const size_t i = rng() % ref.size();
      v.erase(v.begin() + i);
      ref.erase(ref.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (op < 8) {
      const int mod = static_cast<int>(rng() % 5) + 2;
      const auto pred = [&](const std::shared_ptr<int>& p) { return *p % mod == 0; };
      CHECK(v.eraseIf(pred) == std::erase_if(ref, pred));
    } else if (op < 9) {
      v.shrink_to_fit();
    } else if (rng() % 50 == 0) {
      v.clear();
      ref.clear();
    }
    REQUIRE(v.size() == ref.size());
    for (size_t i = 0; i < ref.size(); ++i) REQUIRE(v[i] == ref[i]);
  }
  // Every element still held once by each list: none leaked, none destroyed twice.
  for (const auto& p : ref) CHECK(p.use_count() == 2);
  CompactVector<std::shared_ptr<int>> moved(std::move(v));
  CHECK(v.empty());  // NOLINT(bugprone-use-after-move): a moved-from list is empty
  CHECK(moved.size() == ref.size());
  moved.clear();
  for (const auto& p : ref) CHECK(p.use_count() == 1);
}

TEST_CASE("CompactVector keeps its prefix while it holds elements") {
  CompactVector<int, int> v;
  CHECK(v.prefix() == nullptr);
  v.push_back(1);
  REQUIRE(v.prefix() != nullptr);
  CHECK(*v.prefix() == 0);
  *v.prefix() = 42;
  for (int i = 0; i < 10; ++i) v.push_back(i);  // reallocates
  CHECK(*v.prefix() == 42);
  v.shrink_to_fit();
  CHECK(*v.prefix() == 42);
  v.clear();
  CHECK(v.prefix() == nullptr);
}

TEST_CASE("CompactVector::emplace_back of one of its own elements survives the move") {
  CompactVector<std::string> v;
  v.push_back(std::string(40, 'x'));  // longer than a short string: a move takes the buffer
  for (int i = 0; i < 6; ++i) v.push_back(v[0]);
  CHECK(v.size() == 7);
  for (const auto& s : v) CHECK(s == std::string(40, 'x'));
}

}  // namespace trig::state
