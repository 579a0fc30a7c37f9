#include "runtime/engine/id_table.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace trig::engine {
namespace {

// What the table holds: a value and the id the table sets.
struct Item {
  TableId id;
  int value = 0;
};

}  // namespace

TEST_CASE("TableId is 8 bytes and reads as the id") {
  static_assert(sizeof(TableId) == 8);
  CHECK(TableId().view().empty());
  IdTable<Item> table;
  const std::string id("c\0\xff 42", 6);
  auto& item = table.findOrAdd(id);
  CHECK(item.id.view() == id);
  CHECK(item.id.view().size() == 6);
  CHECK(item.id == std::string_view(id));
  CHECK(std::string(item.id) == id);
  CHECK(fmt::format("<{}>", table.findOrAdd("c7").id) == "<c7>");
}

TEST_CASE("ids of up to 7 bytes are held in the entry, longer ones in the table's storage") {
  IdTable<Item> table;
  for (size_t n = 0; n <= 12; ++n) {
    std::string id(n, 'x');
    if (n > 0) id[n - 1] = static_cast<char>('0' + n);
    if (n > 1) id[0] = '\0';
    auto& item = table.findOrAdd(id);
    INFO("length " << n);
    CHECK(item.id.view() == id);
    const char* data = item.id.view().data();
    const auto* self = reinterpret_cast<const char*>(&item.id);
    const bool inside = data >= self && data < self + sizeof(TableId);
    CHECK(inside == (n >= 1 && n <= TableId::kInlineMax));
    CHECK(table.find(id) == &item);
  }
  CHECK(table.size() == 13);
  CHECK(table.find("xxxxxx7") == nullptr);  // a short id differing only in its first byte
}

TEST_CASE("IdTable finds what it added, keeps values in place, and agrees with a map") {
  IdTable<Item> table;
  std::unordered_map<std::string, int*> seen;  // id -> where its value was first put
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    // Ids of every length from 1 to 40 bytes (the hash reads 8 bytes at a time, then the tail),
    // some repeated often, with NULs and high bytes.
    uint64_t pick = rng() % (i % 3 == 0 ? 50 : 100000);
    std::string id = std::to_string(pick);
    for (size_t k = 0, extra = pick % 34; k < extra; ++k)
      id.push_back(static_cast<char>((pick * 131 + k * 7) % 256));
    bool added = false;
    auto& entry = table.findOrAdd(id, &added);
    CHECK(entry.id.view() == id);
    auto it = seen.find(id);
    if (it == seen.end()) {
      REQUIRE(added);
      CHECK(entry.value == 0);
      entry.value = static_cast<int>(seen.size()) + 1;
      seen.emplace(id, &entry.value);
    } else {
      REQUIRE_FALSE(added);
      CHECK(&entry.value == it->second);  // never moved, however much the table grew
      CHECK(*it->second != 0);
    }
  }
  CHECK(table.size() == seen.size());
  CHECK(seen.size() > 50000);
}

TEST_CASE("IdTable::find adds nothing") {
  IdTable<Item> table;
  CHECK(table.find("c1") == nullptr);
  for (int i = 0; i < 1000; ++i) table.findOrAdd("c" + std::to_string(i)).value = i;
  for (int i = 0; i < 1000; ++i) {
    auto* e = table.find("c" + std::to_string(i));
    REQUIRE(e != nullptr);
    CHECK(e->value == i);
  }
  CHECK(table.find("c1000") == nullptr);
  CHECK(table.find("") == nullptr);
  CHECK(table.size() == 1000);
}

TEST_CASE("IdTable keeps ids of any length, the empty one and ones longer than its id blocks") {
  IdTable<Item> table;
  const std::string huge(200 * 1024, 'x');  // more than one block of kept id bytes
  std::vector<std::string> ids = {"", "a", huge, "b", huge + "y", std::string(65536, 'z')};
  for (size_t i = 0; i < ids.size(); ++i) table.findOrAdd(ids[i]).value = static_cast<int>(i) + 1;
  // Many short ones after them, so that later ids fill fresh blocks.
  for (int i = 0; i < 20000; ++i) table.findOrAdd("c" + std::to_string(i)).value = -i;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto* e = table.find(ids[i]);
    REQUIRE(e != nullptr);
    CHECK(e->id.view() == ids[i]);
    CHECK(e->value == static_cast<int>(i) + 1);
  }
  CHECK(table.find(huge + "z") == nullptr);
  size_t visited = 0;
  table.forEach([&](const IdTable<Item>::Entry& e) {
    if (visited < ids.size()) CHECK(e.id.view() == ids[visited]);  // in the order added
    ++visited;
  });
  CHECK(visited == table.size());
  CHECK(table.size() == ids.size() + 20000);
}

TEST_CASE("hashId depends on every byte and on the length") {
  CHECK(hashId("c1") != hashId("c2"));
  CHECK(hashId(std::string_view("ab\0", 3)) != hashId("ab"));
  CHECK(hashId("customer-000000001") != hashId("customer-000000002"));
  CHECK(hashId("12345678x") != hashId("12345678y"));
  CHECK(hashId("") == hashId(""));
  // Every byte counts, at every length (the tail is read in overlapping pieces).
  for (size_t len = 1; len <= 24; ++len) {
    std::string base(len, 'a');
    for (size_t i = 0; i < len; ++i) {
      std::string other = base;
      other[i] = 'b';
      CAPTURE(len);
      CAPTURE(i);
      CHECK(hashId(other) != hashId(base));
    }
  }
}

}  // namespace trig::engine
