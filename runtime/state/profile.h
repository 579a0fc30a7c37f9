#pragma once
// One customer's profile: the declared traits by sema slot (defaults applied), plus traits an
// identify call sent that no declaration names (kept for `--explain`, unreachable from rules).
//
// Most customers of an event stream are never identified: their profile is the declared defaults,
// shared, and costs them 16 bytes (the traits and the undeclared ones live out of line, allocated
// by the first identify that sets one; inline they were 56 bytes of every customer).
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/core/value.h"
#include "compiler/plan/plan.h"

namespace trig::state {

class Profile {
 public:
  using Extra = std::vector<std::pair<std::string, Value>>;

  // The address hard bounced (spec section 6): no mail until an identify sets another `email`.
  bool bounced = false;

  // Whether the customer has traits of its own (else it reads the declared defaults).
  bool ownsTraits() const { return data_ != nullptr && !data_->traits.empty(); }
  // The customer's own traits, by sema trait slot (empty when it has none: see ownsTraits).
  const std::vector<Value>& traits() const { return data_ != nullptr ? data_->traits : kNone; }
  // The customer's own traits, a copy of `defaults` made the first time.
  std::vector<Value>& ownTraits(const std::vector<Value>& defaults);

  // Undeclared traits, in the order first sent (rare, and no rule reads them).
  const Extra& extra() const { return data_ != nullptr ? data_->extra : kNoExtra; }
  const Value* extraTrait(std::string_view name) const;
  void addExtra(const std::string& name, const Value& v);

  // Merges one identify change: an absent value removes the trait (back to its default in
  // `defaults`, by slot); an `email` other than the one held ends a bounce.
  void apply(const plan::Traits& layout, const std::vector<Value>& defaults,
             const std::string& name, const Value& v);

 private:
  struct Data {
    std::vector<Value> traits;  // by sema trait slot; empty: the declared defaults
    Extra extra;
  };
  Data& data();
  static const std::vector<Value> kNone;
  static const Extra kNoExtra;
  std::unique_ptr<Data> data_;
};

}  // namespace trig::state
