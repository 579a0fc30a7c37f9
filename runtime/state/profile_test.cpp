#include "runtime/state/profile.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace trig::state {

TEST_CASE("Profile: defaults until an identify, out of line, bounces and undeclared traits") {
  static_assert(sizeof(Profile) <= 2 * sizeof(void*));
  plan::Traits layout;
  layout.names = {"email", "subscribed"};
  layout.defaults = {Value{}, Value::boolean(true)};
  const std::vector<Value>& defaults = layout.defaults;

  Profile p;
  CHECK_FALSE(p.ownsTraits());
  CHECK(p.traits().empty());
  CHECK(p.extra().empty());
  CHECK(p.extraTrait("plan") == nullptr);

  // The first change copies the defaults, then applies the trait.
  p.ownTraits(defaults);
  p.apply(layout, defaults, "email", Value::str("a@example.com"));
  REQUIRE(p.ownsTraits());
  REQUIRE(p.traits().size() == 2);
  CHECK(p.traits()[0] == Value::str("a@example.com"));
  CHECK(p.traits()[1] == Value::boolean(true));

  // A bounce ends when another address arrives, not when the same one does.
  p.bounced = true;
  p.apply(layout, defaults, "email", Value::str("a@example.com"));
  CHECK(p.bounced);
  p.apply(layout, defaults, "email", Value::str("b@example.com"));
  CHECK_FALSE(p.bounced);

  // Removing a trait puts its default back.
  p.apply(layout, defaults, "subscribed", Value::boolean(false));
  CHECK(p.traits()[1] == Value::boolean(false));
  p.apply(layout, defaults, "subscribed", Value{});
  CHECK(p.traits()[1] == Value::boolean(true));

  // Undeclared traits: added in order, replaced, removed.
  p.apply(layout, defaults, "plan", Value::str("pro"));
  p.addExtra("tier", Value::integer(2));
  REQUIRE(p.extra().size() == 2);
  CHECK(p.extra()[0].first == "plan");
  REQUIRE(p.extraTrait("plan") != nullptr);
  p.apply(layout, defaults, "plan", Value::str("free"));
  CHECK(*p.extraTrait("plan") == Value::str("free"));
  p.apply(layout, defaults, "plan", Value{});
  CHECK(p.extraTrait("plan") == nullptr);
  CHECK(p.extra().size() == 1);
}

TEST_CASE("Profile: an undeclared trait alone leaves the declared ones at their defaults") {
  plan::Traits layout;
  layout.names = {"email"};
  layout.defaults = {Value{}};
  Profile p;
  p.addExtra("plan", Value::str("pro"));
  CHECK_FALSE(p.ownsTraits());
  CHECK(p.extraTrait("plan") != nullptr);
}

}  // namespace trig::state
