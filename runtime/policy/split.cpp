#include "runtime/policy/split.h"

namespace trig::policy {

uint64_t fnvAppend(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t fnv1a64(std::string_view bytes) {
  return fnvAppend(kFnvOffset, bytes);
}

uint32_t splitBucket(std::string_view customer, std::string_view rule, std::string_view split) {
  // Hashing the pieces in sequence equals hashing their concatenation, without building it.
  uint64_t h = fnvAppend(kFnvOffset, customer);
  h = fnvAppend(h, "/");
  h = fnvAppend(h, rule);
  h = fnvAppend(h, "/");
  h = fnvAppend(h, split);
  return static_cast<uint32_t>(h % 100);
}

size_t chooseVariant(uint32_t bucket, std::span<const Decimal> percents) {
  const Decimal b = Decimal::whole(static_cast<int32_t>(bucket));
  Decimal upper;
  for (size_t i = 0; i < percents.size(); ++i) {
    upper.units += percents[i].units;
    if (b < upper) return i;
  }
  return percents.empty() ? 0 : percents.size() - 1;
}

size_t variantFor(const VariantPins& pins, std::string_view customer, std::string_view rule,
                  std::string_view split, std::span<const std::string> variants,
                  std::span<const Decimal> percents, uint32_t bucket) {
  if (!pins.empty()) {
    auto it =
        pins.find(std::make_tuple(std::string(customer), std::string(rule), std::string(split)));
    if (it != pins.end())
      for (size_t i = 0; i < variants.size(); ++i)
        if (variants[i] == it->second) return i;
  }
  return chooseVariant(bucket, percents);
}

}  // namespace trig::policy
