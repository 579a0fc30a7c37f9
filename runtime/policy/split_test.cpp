#include "runtime/policy/split.h"

#include <doctest/doctest.h>

#include <array>

using namespace trig;
using namespace trig::policy;

namespace {
Decimal pct(const char* text) {
  return *Decimal::parse(text);
}
}  // namespace

TEST_CASE("fnv1a64: reference vectors") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("splitBucket: the spec's test vector and the concatenation it hashes") {
  CHECK(splitBucket("c4", "checkout", "delay") == 23);
  CHECK(fnv1a64("c4/checkout/delay") % 100 == 23);
  for (const char* c : {"c1", "c2", "anna@example.com", "", "\xc3\xa9"})
    CHECK(splitBucket(c, "rule", "split") == fnv1a64(std::string(c) + "/rule/split") % 100);
}

TEST_CASE("splitBucket: buckets spread over 0-99") {
  std::array<int, 100> hits{};
  for (int k = 0; k < 10000; ++k) {
    uint32_t b = splitBucket("c" + std::to_string(k), "r", "s");
    REQUIRE(b < 100);
    ++hits[b];
  }
  for (int h : hits) CHECK(h > 50);  // about 100 each
}

TEST_CASE("chooseVariant: consecutive ranges in declared order") {
  std::vector<Decimal> half = {pct("50"), pct("50")};
  CHECK(chooseVariant(0, half) == 0);
  CHECK(chooseVariant(49, half) == 0);
  CHECK(chooseVariant(50, half) == 1);
  CHECK(chooseVariant(99, half) == 1);

  std::vector<Decimal> three = {pct("10"), pct("0"), pct("90")};
  CHECK(chooseVariant(9, three) == 0);
  CHECK(chooseVariant(10, three) == 2);  // a 0% variant never wins

  // Decimal percentages: 33.3 / 33.3 / 33.4 -> [0, 33.3) [33.3, 66.6) [66.6, 100).
  std::vector<Decimal> thirds = {pct("33.3"), pct("33.3"), pct("33.4")};
  CHECK(chooseVariant(33, thirds) == 0);
  CHECK(chooseVariant(34, thirds) == 1);
  CHECK(chooseVariant(66, thirds) == 1);
  CHECK(chooseVariant(67, thirds) == 2);
  CHECK(chooseVariant(99, thirds) == 2);

  // Percentages that sum below 100 (sema rejects them): the rest goes to the last variant.
  std::vector<Decimal> short_ = {pct("20"), pct("30")};
  CHECK(chooseVariant(95, short_) == 1);
  CHECK(chooseVariant(0, std::vector<Decimal>{pct("100")}) == 0);
}

TEST_CASE("chooseVariant: the spec's vector") {
  // c4 in rule checkout, split delay, 50/50 -> bucket 23 -> the first.
  const std::vector<Decimal> half{pct("50"), pct("50")};
  CHECK(chooseVariant(splitBucket("c4", "checkout", "delay"), half) == 0);
}

TEST_CASE("variantFor: a pin wins over the bucket, for its own customer, rule and split only") {
  const std::vector<std::string> names{"fast", "slow"};
  const std::vector<Decimal> percents{pct("50"), pct("50")};
  auto variant = [&](const VariantPins& pins, const char* customer, const char* rule,
                     uint32_t bucket) {
    return variantFor(pins, customer, rule, "delay", names, percents, bucket);
  };
  VariantPins pins;
  CHECK(variant(pins, "c4", "checkout", 23) == 0);
  pins[{"c4", "checkout", "delay"}] = "slow";
  CHECK(variant(pins, "c4", "checkout", 23) == 1);
  CHECK(variant(pins, "c5", "checkout", 23) == 0);
  CHECK(variant(pins, "c4", "other", 23) == 0);
  // A pin of another split of the rule does not apply.
  CHECK(variantFor(pins, "c4", "checkout", "other", names, percents, 23) == 0);
  // A pin naming no variant of the split (the checker rejects it) leaves the bucket's choice.
  pins[{"c4", "checkout", "delay"}] = "medium";
  CHECK(variant(pins, "c4", "checkout", 60) == 1);
}
