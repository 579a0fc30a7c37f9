#include "runtime/deliver/variables.h"

#include <doctest/doctest.h>

#include <map>

using namespace trig;
using namespace trig::deliver;

namespace {

std::vector<std::string_view> ph(std::vector<std::string_view> path) {
  return path;
}

std::string str(const Value* v) {
  if (v == nullptr) return "<none>";
  if (v->isAbsent()) return "<absent>";
  return v->s;
}

}  // namespace

TEST_CASE("resolveVariable: a binding, then the anchor's field; traits; the anchor by name") {
  std::vector<std::pair<std::string, Value>> bindings{{"product_name", Value::str("bound")}};
  std::map<std::string, Value> anchor{{"product_name", Value::str("Lamp")},
                                      {"category", Value::str("lighting")}};
  std::map<std::string, Value> traits{{"first_name", Value::str("Ann")}};
  VariableSources s;
  s.anchorField = [&](const std::string& f) {
    auto it = anchor.find(f);
    return it == anchor.end() ? Value::absent() : it->second;
  };
  s.trait = [&](const std::string& t) -> const Value* {
    auto it = traits.find(t);
    return it == traits.end() ? nullptr : &it->second;
  };
  Value scratch;
  CHECK(str(resolveVariable(ph({"product_name"}), s, scratch)) == "Lamp");
  s.bindings = &bindings;
  CHECK(str(resolveVariable(ph({"product_name"}), s, scratch)) == "bound");
  CHECK(str(resolveVariable(ph({"category"}), s, scratch)) == "lighting");
  CHECK(str(resolveVariable(ph({"price"}), s, scratch)) == "<absent>");
  CHECK(str(resolveVariable(ph({"customer", "first_name"}), s, scratch)) == "Ann");
  CHECK(str(resolveVariable(ph({"customer", "last_name"}), s, scratch)) == "<none>");
  CHECK(str(resolveVariable(ph({"v", "category"}), s, scratch)) == "lighting");
  CHECK(str(resolveVariable(ph({"a", "b", "c"}), s, scratch)) == "<none>");
  VariableSources none;
  CHECK(str(resolveVariable(ph({"product_name"}), none, scratch)) == "<none>");
  CHECK(str(resolveVariable(ph({"customer", "first_name"}), none, scratch)) == "<none>");
}
