#include "runtime/engine/filter_index.h"

#include <algorithm>
#include <map>
#include <set>

namespace trig::engine {

FilterIndex FilterIndex::build(std::span<const std::vector<core::Pin>> filterPins) {
  // Each filter's keys; a filter is filed under the (field, kind) most filters of the type key
  // on (the fewer of them, the fewer look-ups per event). Keys are the filters' string pins
  // (`f == "x"`, `f in [...]`, `f starts_with "x"`, `or`s of equalities): an absent f makes
  // each of them false.
  using Key = core::Pin;
  const size_t n = filterPins.size();
  std::vector<std::vector<Key>> keys(n);
  std::map<std::pair<uint32_t, bool>, size_t> popularity;
  for (size_t i = 0; i < n; ++i) {
    for (const Key& k : filterPins[i])
      if (k.strings) keys[i].push_back(k);
    std::set<std::pair<uint32_t, bool>> kinds;
    for (const Key& k : keys[i]) kinds.insert({k.slot, k.prefix});
    for (const auto& kind : kinds) ++popularity[kind];
  }
  std::vector<const Key*> chosen(n, nullptr);
  std::map<uint32_t, uint32_t> shortest;  // by field: the shortest prefix filed under it
  for (size_t i = 0; i < n; ++i) {
    for (const Key& k : keys[i])
      if (chosen[i] == nullptr ||
          popularity[{k.slot, k.prefix}] > popularity[{chosen[i]->slot, chosen[i]->prefix}])
        chosen[i] = &k;
    if (chosen[i] != nullptr && chosen[i]->prefix) {
      uint32_t& len = shortest.try_emplace(chosen[i]->slot, UINT32_MAX).first->second;
      for (const std::string& v : chosen[i]->values)
        len = std::min(len, static_cast<uint32_t>(v.size()));
    }
  }
  FilterIndex index;
  for (uint32_t i = 0; i < n; ++i) {
    const Key* k = chosen[i];
    if (k == nullptr) {
      index.always_.push_back(i);
      continue;
    }
    uint32_t prefix = k->prefix ? shortest[k->slot] : 0;
    auto it = std::find_if(index.keyed_.begin(), index.keyed_.end(),
                           [&](const Keyed& x) { return x.slot == k->slot && x.prefix == prefix; });
    if (it == index.keyed_.end()) {
      it = index.keyed_.insert(index.keyed_.end(), Keyed{});
      it->slot = k->slot;
      it->prefix = prefix;
    }
    // A prefix filter is filed under its first `prefix` bytes; values that share them share a
    // bucket (the filter runs and checks the rest).
    std::set<std::string> filed;
    for (const std::string& v : k->values) filed.insert(prefix == 0 ? v : v.substr(0, prefix));
    for (const std::string& v : filed) it->add(v, i);
    ++index.indexed_;
  }
  return index;
}

// The bucket of `key` (hash `h`), or the free bucket where it would go.
size_t FilterIndex::Keyed::probe(std::string_view key, uint64_t h) const {
  const size_t mask = table.size() - 1;
  size_t i = h & mask;
  while (!table[i].filters.empty() && !(table[i].hash == h && table[i].key == key))
    i = (i + 1) & mask;
  return i;
}

const FilterIndex::Bucket* FilterIndex::Keyed::find(std::string_view key) const {
  if (table.empty()) return nullptr;
  const Bucket& b = table[probe(key, hashId(key))];
  return b.filters.empty() ? nullptr : &b;
}

void FilterIndex::Keyed::add(const std::string& key, uint32_t filter) {
  if ((used + 1) * 2 > table.size()) {  // at most half full: short probes, always a free bucket
    std::vector<Bucket> old = std::move(table);
    table.assign(std::max<size_t>(8, old.size() * 2), Bucket{});
    for (Bucket& b : old)
      if (!b.filters.empty()) table[probe(b.key, b.hash)] = std::move(b);
  }
  const uint64_t h = hashId(key);
  Bucket& b = table[probe(key, h)];
  if (b.filters.empty()) {
    b.hash = h;
    b.key = key;
    ++used;
  }
  b.filters.push_back(filter);
}

void FilterIndex::candidates(const Event& e, std::vector<uint32_t>& out) const {
  out.assign(always_.begin(), always_.end());
  for (const Keyed& k : keyed_) {
    if (k.slot >= e.fields.size() || e.fields[k.slot].kind != Value::Kind::String) continue;
    std::string_view v = e.fields[k.slot].s;
    if (k.prefix != 0) {
      if (v.size() < k.prefix) continue;  // shorter than every prefix filed here
      v = v.substr(0, k.prefix);
    }
    if (const Bucket* b = k.find(v)) out.insert(out.end(), b->filters.begin(), b->filters.end());
  }
}

}  // namespace trig::engine
