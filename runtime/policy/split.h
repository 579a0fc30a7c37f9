#pragma once
// A/B splits (spec section 5): the bucket of a customer in a rule's split, and the variant that
// bucket selects.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "compiler/support/decimal.h"

namespace trig::policy {

// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
uint64_t fnv1a64(std::string_view bytes);
// Continues a hash `h` over `bytes`: hashing pieces in sequence equals hashing their
// concatenation, without building it.
uint64_t fnvAppend(uint64_t h, std::string_view bytes);
// FNV-1a-64 of `customer + "/" + rule + "/" + split`, modulo 100 ("c4/checkout/delay" -> 23).
uint32_t splitBucket(std::string_view customer, std::string_view rule, std::string_view split);
// Variants take consecutive bucket ranges in declared order: variant i holds the buckets b with
// sum(p[0..i)) <= b < sum(p[0..i]) (percentages, exact decimals: 50/50 gives 0-49 and 50-99).
// A bucket beyond the sum (the percentages sum below 100, which sema rejects) goes to the last
// variant. `percents` must not be empty.
size_t chooseVariant(uint32_t bucket, std::span<const Decimal> percents);

// Variants fixed by a test (`pin "ID" R.SPLIT VARIANT`): (customer, rule, split) -> variant.
using VariantPins = std::map<std::tuple<std::string, std::string, std::string>, std::string>;
// The variant of the split named `split` (its variants' names and percentages in declared order,
// as the rule plan holds them: plan::SplitArms) for `customer` in `rule`: the pinned one when
// there is one, else the one `bucket` selects.
size_t variantFor(const VariantPins& pins, std::string_view customer, std::string_view rule,
                  std::string_view split, std::span<const std::string> variants,
                  std::span<const Decimal> percents, uint32_t bucket);

}  // namespace trig::policy
