#include "runtime/ingest/decoder.h"
#include "compiler/plan/build.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "runtime/ingest/test_model.h"

using namespace trig;
using trig::ingest::Decoder;

namespace {

struct Fixture {
  testing::TestModel tm;
  Decoder decoder{plan::buildIngestPlan(tm.model)};
  Event e;
  std::string reason;

  bool decode(std::string_view line) {
    reason.clear();
    return decoder.decode(line, e, reason);
  }
  // Decodes a line that must fail and returns the reason.
  std::string reject(std::string_view line) {
    bool ok = decode(line);
    CHECK_MESSAGE(!ok, line);
    CHECK_FALSE(reason.empty());
    return reason;
  }
  const Value& field(const std::string& name) {
    REQUIRE(e.kind == Event::Kind::Track);
    uint32_t slot = tm.model.events[e.type].fieldIndex(name);
    REQUIRE(slot != sema::kNone);
    return e.fields.at(slot);
  }
  const Value* trait(const std::string& name) {
    for (const auto& [n, v] : e.traits)
      if (n == name) return &v;
    return nullptr;
  }
};

const char* kCartAdd =
    R"({"type":"track","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
    R"("messageId":"m-1","properties":{"product_id":"p1","cart_value":49.99}})";

}  // namespace

TEST_CASE("decoder: the spec's track example") {
  Fixture f;
  REQUIRE_MESSAGE(f.decode(kCartAdd), f.reason);
  CHECK(f.e.kind == Event::Kind::Track);
  CHECK(f.e.type == f.tm.eventIndex("cart_add"));
  CHECK(f.e.name == "cart_add");
  CHECK(f.e.customer == "c1");
  CHECK(f.e.time == *parseTimestamp("2026-01-01T10:00:00Z"));
  CHECK(f.e.messageId == "m-1");
  CHECK(f.e.fields.size() == 6);
  CHECK(f.field("product_id") == Value::str("p1"));
  CHECK(f.field("cart_value") == Value::money(*Decimal::parse("49.99")));
  CHECK(f.field("cart_value").m.units == 49'990'000);
  CHECK(f.field("product_name").isAbsent());
  CHECK(f.field("price").isAbsent());
  CHECK(f.field("quantity").isAbsent());
}

TEST_CASE("decoder: type defaults to track, keys in any order") {
  Fixture f;
  REQUIRE_MESSAGE(f.decode(R"({"properties":{"url":"/"},"userId":"c2","event":"page_view",)"
                           R"("timestamp":"2026-01-01T10:00:00.250+01:00"})"),
                  f.reason);
  CHECK(f.e.kind == Event::Kind::Track);
  CHECK(f.e.name == "page_view");
  CHECK(f.e.time == *parseTimestamp("2026-01-01T09:00:00.250Z"));
  CHECK(f.e.messageId.empty());
  CHECK(f.field("url") == Value::str("/"));
}

TEST_CASE("decoder: the spec's identify example, null removes, undeclared traits kept") {
  Fixture f;
  REQUIRE_MESSAGE(
      f.decode(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",)"
               R"("traits":{"email":"ann@example.com","firstName":"Ann","vip":null,)"
               R"("subscribed":false,"score":4.5,"lifetimeValue":1200,"tags":["a","b"],)"
               R"("plan":"gold","age":42,"ratio":0.25,"beta":true,"nums":[1,2],)"
               R"("address":{"city":"Paris"},"mixed":[1,"a"],"gone":null}})"),
      f.reason);
  CHECK(f.e.kind == Event::Kind::Identify);
  CHECK(f.e.type == sema::kNone);
  CHECK(f.e.customer == "c1");
  CHECK(f.e.fields.empty());
  REQUIRE(f.trait("email"));
  CHECK(*f.trait("email") == Value::str("ann@example.com"));
  // camelCase matched to the declared snake_case trait, stored under the declared name.
  REQUIRE(f.trait("first_name"));
  CHECK(*f.trait("first_name") == Value::str("Ann"));
  CHECK(f.trait("firstName") == nullptr);
  REQUIRE(f.trait("vip"));
  CHECK(f.trait("vip")->isAbsent());
  CHECK(*f.trait("subscribed") == Value::boolean(false));
  CHECK(*f.trait("score") == Value::flt(4.5));
  CHECK(*f.trait("lifetime_value") == Value::money(Decimal::whole(1200)));
  REQUIRE(f.trait("tags"));
  CHECK(f.trait("tags")->list.size() == 2);
  // Undeclared: typed by their JSON value; objects and mixed lists are not kept; null removes.
  CHECK(*f.trait("plan") == Value::str("gold"));
  CHECK(*f.trait("age") == Value::integer(42));
  CHECK(*f.trait("ratio") == Value::flt(0.25));
  CHECK(*f.trait("beta") == Value::boolean(true));
  CHECK(f.trait("nums")->list == std::vector<Value>{Value::integer(1), Value::integer(2)});
  CHECK(f.trait("address") == nullptr);
  CHECK(f.trait("mixed") == nullptr);
  REQUIRE(f.trait("gone"));
  CHECK(f.trait("gone")->isAbsent());
  // In the order sent, so a repeated trait's last value wins when applied in order.
  CHECK(f.e.traits.front().first == "email");
}

TEST_CASE("decoder: identify without traits, and trait type errors") {
  Fixture f;
  REQUIRE(f.decode(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z"})"));
  CHECK(f.e.traits.empty());
  CHECK(f.reject(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",)"
                 R"("traits":{"vip":"yes"}})") == "trait 'vip' must be bool, got string \"yes\"");
  CHECK_FALSE(f.decoder.failedClosed());
  CHECK(f.reject(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",)"
                 R"("traits":[1]})") == "traits must be an object, got list");
}

TEST_CASE("decoder: event names match declared names and from aliases") {
  Fixture f;
  const std::string tail =
      R"(,"userId":"c1","timestamp":"2026-01-01T10:00:00Z","properties":{"total":10,"items":[]}})";
  REQUIRE_MESSAGE(f.decode(R"({"event":"Order Completed")" + tail), f.reason);
  CHECK(f.e.type == f.tm.eventIndex("order_placed"));
  CHECK(f.e.name == "Order Completed");
  REQUIRE(f.decode(R"({"event":"Checkout Done")" + tail));
  CHECK(f.e.type == f.tm.eventIndex("order_placed"));
  REQUIRE(f.decode(R"({"event":"order_placed")" + tail));
  CHECK(f.e.type == f.tm.eventIndex("order_placed"));
  // Names are case-sensitive.
  REQUIRE(f.decode(R"({"event":"order completed")" + tail));
  CHECK(f.e.kind == Event::Kind::Undeclared);
}

TEST_CASE("decoder: undeclared event names are not errors, and not checked") {
  Fixture f;
  REQUIRE(f.decode(R"({"event":"Video Played","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                   R"("messageId":"v1","properties":{"anything":{"goes":[1,2]}}})"));
  CHECK(f.e.kind == Event::Kind::Undeclared);
  CHECK(f.e.type == sema::kNone);
  CHECK(f.e.name == "Video Played");
  CHECK(f.e.messageId == "v1");
  CHECK(f.e.fields.empty());
  // Still malformed JSON inside is an error.
  CHECK(f.reject(R"({"event":"Video Played","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                 R"("properties":{"a":[1,}})")
            .starts_with("malformed JSON"));
}

TEST_CASE("decoder: camelCase property keys map to snake_case fields; extras ignored") {
  Fixture f;
  REQUIRE_MESSAGE(
      f.decode(R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
               R"("properties":{"productId":"p9","productName":"Lamp","cartValue":"ignored?",)"
               R"("unknownThing":{"x":1},"extra":[1,2,3]}})") == false,
      "a wrong-typed known property must fail");
  CHECK(f.reason ==
        "property 'cart_value' of event 'cart_add' must be money, got string "
        "\"ignored?\"");
  REQUIRE_MESSAGE(
      f.decode(R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
               R"("properties":{"productId":"p9","productName":"Lamp","HTMLUrl":"x",)"
               R"("unknownThing":{"x":1},"extra":[1,2,3]}})"),
      f.reason);
  CHECK(f.field("product_id") == Value::str("p9"));
  CHECK(f.field("product_name") == Value::str("Lamp"));
}

TEST_CASE("decoder: snakeCase") {
  using ingest::snakeCase;
  CHECK(snakeCase("productId") == "product_id");
  CHECK(snakeCase("product_id") == "product_id");
  CHECK(snakeCase("URL") == "url");
  CHECK(snakeCase("htmlURL") == "html_url");
  CHECK(snakeCase("HTMLUrl") == "html_url");
  CHECK(snakeCase("cartValue2") == "cart_value2");
  CHECK(snakeCase("item2Name") == "item2_name");
  CHECK(snakeCase("already_Snake") == "already_snake");
  CHECK(snakeCase("") == "");
}

TEST_CASE("decoder: numbers are exact and typed") {
  Fixture f;
  auto order = [&](const std::string& props) {
    return f.decode(
        R"({"event":"order_placed","userId":"c1","timestamp":"2026-01-01T10:00:00Z","properties":)" +
        props + "}");
  };
  SUBCASE("money") {
    REQUIRE(order(R"({"total":49.99,"items":[]})"));
    CHECK(f.field("total").kind == Value::Kind::Money);
    CHECK(f.field("total").m.units == 49'990'000);
    REQUIRE(order(R"({"total":150,"items":[]})"));
    CHECK(f.field("total").m == Decimal::whole(150));
    REQUIRE(order(R"({"total":-0.000001,"items":[]})"));
    CHECK(f.field("total").m.units == -1);
    REQUIRE(order(R"({"total":4.999e1,"items":[]})"));
    CHECK(f.field("total").m.units == 49'990'000);
    REQUIRE(order(R"({"total":1.50000000000,"items":[]})"));
    CHECK(f.field("total").m.units == 1'500'000);
    REQUIRE(order(R"({"total":12E-2,"items":[]})"));
    CHECK(f.field("total").m.units == 120'000);
    REQUIRE(order(R"({"total":0e999999999,"items":[]})"));
    CHECK(f.field("total").m.units == 0);
    REQUIRE(order(R"({"total":0.1,"items":[]})"));
    CHECK(f.field("total").m.units == 100'000);
    REQUIRE(order(R"({"total":9223372036854.775807,"items":[]})"));
    CHECK(f.field("total").m.units == INT64_MAX);
    CHECK_FALSE(order(R"({"total":0.0000001,"items":[]})"));
    CHECK(f.reason ==
          "property 'total' of event 'order_placed' must be money with at most 6 "
          "decimal places, got 0.0000001");
    CHECK_FALSE(order(R"({"total":9223372036855,"items":[]})"));
    CHECK(f.reason.find("out of the range of money") != std::string::npos);
    CHECK_FALSE(order(R"({"total":1e30,"items":[]})"));
    // A string of plain decimal text is read exactly as the number would be.
    REQUIRE(order(R"({"total":"49.99","items":[]})"));
    CHECK(f.field("total").m.units == 49'990'000);
    REQUIRE(order(R"({"total":"12.00","items":[]})"));
    CHECK(f.field("total").m.units == 12'000'000);
    REQUIRE(order(R"({"total":"-0.5","items":[]})"));
    CHECK(f.field("total").m.units == -500'000);
    CHECK_FALSE(order(R"({"total":"0.0000001","items":[]})"));
    CHECK(f.reason ==
          "property 'total' of event 'order_placed' must be money with at most 6 "
          "decimal places, got 0.0000001");
    for (const char* bad : {"1e3", " 3", "3 ", "+3", ".5", "5.", "", "-", "1,5", "12.00 EUR",
                            "0x10", "NaN", "Infinity"}) {
      CHECK_FALSE(order(std::string(R"({"total":")") + bad + R"(","items":[]})"));
      CHECK_MESSAGE(f.reason.starts_with("property 'total' of event 'order_placed' must be money, "
                                         "got string"),
                    bad);
    }
    CHECK(f.reason ==
          "property 'total' of event 'order_placed' must be money, got string "
          "\"Infinity\"");
    // JSON escapes are decoded first: "\u0031\u0032" is "12".
    REQUIRE(order(R"({"total":"\u0031\u0032","items":[]})"));
    CHECK(f.field("total").m.units == 12'000'000);
    CHECK_FALSE(order(R"({"total":true,"items":[]})"));
    CHECK(f.reason == "property 'total' of event 'order_placed' must be money, got bool");
  }
  SUBCASE("int") {
    REQUIRE(order(R"({"total":1,"items":[],"count":-42})"));
    CHECK(f.field("count") == Value::integer(-42));
    REQUIRE(order(R"({"total":1,"items":[],"count":9223372036854775807})"));
    CHECK(f.field("count").i == INT64_MAX);
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":9223372036854775808})"));
    CHECK(f.reason.find("out of the range of int") != std::string::npos);
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":1.5})"));
    CHECK(f.reason == "property 'count' of event 'order_placed' must be int, got 1.5");
    // Integral values only, as numbers or plain decimal strings.
    REQUIRE(order(R"({"total":1,"items":[],"count":2.0})"));
    CHECK(f.field("count") == Value::integer(2));
    REQUIRE(order(R"({"total":1,"items":[],"count":"3"})"));
    CHECK(f.field("count") == Value::integer(3));
    REQUIRE(order(R"({"total":1,"items":[],"count":"-2.00"})"));
    CHECK(f.field("count") == Value::integer(-2));
    REQUIRE(order(R"({"total":1,"items":[],"count":"9223372036854775807.0"})"));
    CHECK(f.field("count").i == INT64_MAX);
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":"9223372036854775808"})"));
    CHECK(f.reason.find("out of the range of int") != std::string::npos);
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":"2.5"})"));
    CHECK(f.reason == "property 'count' of event 'order_placed' must be int, got string \"2.5\"");
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":2.05})"));
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":1e2})"));
    CHECK(f.reason == "property 'count' of event 'order_placed' must be int, got 1e2");
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":"1e3"})"));
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":"+3"})"));
    CHECK_FALSE(order(R"({"total":1,"items":[],"count":" 3"})"));
    REQUIRE(order(R"({"total":1,"items":[],"scores":[1,"2",3.0]})"));
    CHECK(f.field("scores").list ==
          std::vector<Value>{Value::integer(1), Value::integer(2), Value::integer(3)});
  }
  SUBCASE("float") {
    REQUIRE(order(R"({"total":1,"items":[],"rating":0.1})"));
    CHECK(f.field("rating") == Value::flt(0.1));
    REQUIRE(order(R"({"total":1,"items":[],"rating":3})"));
    CHECK(f.field("rating") == Value::flt(3.0));
    REQUIRE(order(R"({"total":1,"items":[],"rating":-2.5E-3})"));
    CHECK(f.field("rating") == Value::flt(-0.0025));
    CHECK_FALSE(order(R"({"total":1,"items":[],"rating":1e999})"));
    CHECK(f.reason.find("out of the range of float") != std::string::npos);
    REQUIRE(order(R"({"total":1,"items":[],"rating":"0.1"})"));
    CHECK(f.field("rating") == Value::flt(0.1));
    CHECK_FALSE(order(R"({"total":1,"items":[],"rating":"1e-3"})"));
    CHECK(f.reason ==
          "property 'rating' of event 'order_placed' must be float, got string \"1e-3\"");
  }
}

TEST_CASE("decoder: strings, bools, times, durations, lists, defaults") {
  Fixture f;
  auto order = [&](const std::string& props) {
    return f.decode(
        R"({"event":"order_placed","userId":"c1","timestamp":"2026-01-01T10:00:00Z","properties":)" +
        props + "}");
  };
  REQUIRE_MESSAGE(order(R"({"total":1,"items":["a\"b","\u00e9\ud83d\ude00",""],)"
                        R"("placedAt":"2026-01-01T09:59:00Z","gift":true,"wait":"1h30m",)"
                        R"("scores":[1,-2,3]})"),
                  f.reason);
  const Value& items = f.field("items");
  REQUIRE(items.kind == Value::Kind::List);
  REQUIRE(items.list.size() == 3);
  CHECK(items.list[0] == Value::str("a\"b"));
  CHECK(items.list[1] == Value::str("\xc3\xa9\xf0\x9f\x98\x80"));
  CHECK(items.list[2] == Value::str(""));
  CHECK(f.field("placed_at") == Value::time(*parseTimestamp("2026-01-01T09:59:00Z")));
  CHECK(f.field("gift") == Value::boolean(true));
  CHECK(f.field("wait") == Value::duration(90 * kMinute));
  CHECK(f.field("scores").list ==
        std::vector<Value>{Value::integer(1), Value::integer(-2), Value::integer(3)});
  // Defaults when absent (or null); optional absent otherwise.
  REQUIRE(order(R"({"total":1,"items":[],"gift":null})"));
  CHECK(f.field("gift") == Value::boolean(false));
  CHECK(f.field("count") == Value::integer(1));
  CHECK(f.field("discount") == Value::money(*Decimal::parse("5.5")));
  CHECK(f.field("placed_at").isAbsent());
  CHECK(f.field("rating").isAbsent());
  CHECK(f.field("scores").isAbsent());
  // Failures.
  CHECK_FALSE(order(R"({"total":1,"items":["a",false]})"));
  CHECK(f.reason == "item 2 of property 'items' of event 'order_placed' must be string, got bool");
  CHECK_FALSE(order(R"({"total":1,"items":["a",null]})"));
  CHECK(f.reason == "item 2 of property 'items' of event 'order_placed' is null");
  CHECK_FALSE(order(R"({"total":1,"items":"a"})"));
  CHECK(f.reason == "property 'items' of event 'order_placed' must be [string], got string \"a\"");
  CHECK_FALSE(order(R"({"total":1,"items":[],"placedAt":"yesterday"})"));
  CHECK(f.reason ==
        "property 'placed_at' of event 'order_placed' must be an RFC 3339 time, got "
        "\"yesterday\"");
  CHECK_FALSE(order(R"({"total":1,"items":[],"placedAt":1767261540000})"));
  CHECK_FALSE(order(R"({"total":1,"items":[],"wait":"soon"})"));
  // A duration may be a number of seconds, exact to the millisecond.
  REQUIRE(order(R"({"total":1,"items":[],"wait":90})"));
  CHECK(f.field("wait") == Value::duration(90 * 1000));
  REQUIRE(order(R"({"total":1,"items":[],"wait":1.5})"));
  CHECK(f.field("wait") == Value::duration(1500));
  for (const char* bad : {"-1", "0.0001", "1e30"}) {
    CHECK_FALSE(order(std::string(R"({"total":1,"items":[],"wait":)") + bad + "}"));
    CHECK(f.reason ==
          "property 'wait' of event 'order_placed' must be a duration such as \"15m\" "
          "or a number of seconds (at most 3 decimals, not negative), got " +
              std::string(bad));
  }
  CHECK(f.reason.find("must be a duration") != std::string::npos);
  // "true" and "false" are read as bools (spec version 2), no other text.
  REQUIRE(order(R"({"total":1,"items":[],"gift":"true"})"));
  CHECK(f.field("gift") == Value::boolean(true));
  CHECK_FALSE(order(R"({"total":1,"items":[],"gift":"yes"})"));
  CHECK(f.reason == "property 'gift' of event 'order_placed' must be bool, got string \"yes\"");
  CHECK_FALSE(order(R"({"total":1,"items":[],"gift":1})"));
  CHECK_FALSE(order(R"({"total":1,"items":[{"a":1}]})"));
}

TEST_CASE("decoder: required properties") {
  Fixture f;
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})") ==
        "missing required property 'product_id' of event 'cart_add'");
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                 R"("properties":{"product_id":null}})") ==
        "missing required property 'product_id' of event 'cart_add'");
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                 R"("properties":{"product_id":{}}})") ==
        "property 'product_id' of event 'cart_add' must be string, got object");
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                 R"("properties":"p1"})") == "properties must be an object, got string");
  // An event without fields needs no properties.
  REQUIRE(f.decode(R"({"event":"unsubscribe","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})"));
  CHECK(f.e.fields.empty());
  // null properties count as none.
  REQUIRE(f.decode(R"({"event":"unsubscribe","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                   R"("properties":null})"));
}

TEST_CASE("decoder: anonymous visitors and alias calls") {
  Fixture f;
  // Without a userId, the anonymousId names the visitor `anon:<id>`.
  REQUIRE(f.decode(R"({"event":"cart_add","anonymousId":"v1","userId":null,)"
                   R"("timestamp":"2026-01-01T10:00:00Z","properties":{"product_id":"p1"}})"));
  CHECK(f.e.kind == Event::Kind::Track);
  CHECK(f.e.customer == "anon:v1");
  CHECK(f.e.anonymousId == "v1");
  CHECK_FALSE(f.e.identified);
  // Both ids: the user's event, carrying the id to merge. The fast path leaves such lines to
  // the general one, whichever order the keys come in.
  for (
      const char* line :
      {R"({"event":"cart_add","userId":"c1","anonymousId":"v1","timestamp":"2026-01-01T10:00:00Z","properties":{"product_id":"p1"}})",
       R"({"anonymousId":"v1","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z","properties":{"product_id":"p1"}})"}) {
    REQUIRE(f.decode(line));
    CHECK(f.e.customer == "c1");
    CHECK(f.e.anonymousId == "v1");
    CHECK(f.e.identified);
  }
  // A line without anonymousId (fast path) clears what the previous line left.
  REQUIRE(f.decode(R"({"event":"cart_add","userId":"c2","timestamp":"2026-01-01T10:00:00Z",)"
                   R"("properties":{"product_id":"p1"}})"));
  CHECK(f.e.anonymousId.empty());
  CHECK(f.e.identified);
  // An anonymous identify.
  REQUIRE(f.decode(R"({"type":"identify","anonymousId":"v2","timestamp":"2026-01-01T10:00:00Z",)"
                   R"("traits":{"first_name":"Ann"}})"));
  CHECK(f.e.kind == Event::Kind::Identify);
  CHECK(f.e.customer == "anon:v2");
  // Empty or null anonymousId counts as not sent.
  CHECK(f.reject(R"({"event":"cart_add","anonymousId":"","timestamp":"2026-01-01T10:00:00Z"})") ==
        "missing userId");
  CHECK(f.reject(R"({"event":"cart_add","anonymousId":null,"timestamp":"2026-01-01T10:00:00Z"})") ==
        "missing userId");
  REQUIRE(f.decode(R"({"event":"unsubscribe","userId":"c1","anonymousId":"",)"
                   R"("timestamp":"2026-01-01T10:00:00Z"})"));
  CHECK(f.e.anonymousId.empty());
  CHECK(f.reject(R"({"event":"cart_add","anonymousId":7,"timestamp":"2026-01-01T10:00:00Z"})") ==
        "anonymousId must be a string, got number");
  CHECK(f.reject(R"({"event":"cart_add","anonymousId":"v1","anonymousId":"v2",)"
                 R"("timestamp":"2026-01-01T10:00:00Z"})") == "key 'anonymousId' is sent twice");
  // alias: previousId (an anonymous id) to userId, nothing else.
  REQUIRE(
      f.decode(R"({"type":"alias","previousId":"v3","userId":"c3","anonymousId":"x",)"
               R"("timestamp":"2026-01-01T10:00:00Z","messageId":"m-9","properties":{"a":1}})"));
  CHECK(f.e.kind == Event::Kind::Alias);
  CHECK(f.e.name == "alias");
  CHECK(f.e.customer == "c3");
  CHECK(f.e.anonymousId == "v3");
  CHECK(f.e.identified);
  CHECK(f.e.messageId == "m-9");
  CHECK(f.e.fields.empty());
  CHECK(f.reject(R"({"type":"alias","userId":"c3","timestamp":"2026-01-01T10:00:00Z"})") ==
        "an alias call needs a previousId");
  CHECK(f.reject(R"({"type":"alias","previousId":"v3","timestamp":"2026-01-01T10:00:00Z"})") ==
        "missing userId");
  CHECK(f.reject(R"({"type":"alias","previousId":"v3","anonymousId":"v3",)"
                 R"("timestamp":"2026-01-01T10:00:00Z"})") == "missing userId");
  CHECK(f.reject(R"({"type":"alias","previousId":3,"userId":"c3",)"
                 R"("timestamp":"2026-01-01T10:00:00Z"})") ==
        "previousId must be a string, got number");
}

TEST_CASE("decoder: envelope errors") {
  Fixture f;
  CHECK(f.reject(R"({"event":"cart_add","timestamp":"2026-01-01T10:00:00Z"})") == "missing userId");
  CHECK(f.reject(R"({"event":"cart_add","userId":null,"timestamp":"2026-01-01T10:00:00Z"})") ==
        "missing userId");
  CHECK(f.reject(R"({"event":"cart_add","userId":12,"timestamp":"2026-01-01T10:00:00Z"})") ==
        "userId must be a string, got number");
  CHECK(f.reject(R"({"event":"cart_add","userId":"","timestamp":"2026-01-01T10:00:00Z"})") ==
        "userId is empty");
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1"})") == "missing timestamp");
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1","timestamp":"2026-13-01T10:00:00Z"})")
            .starts_with("unparsable timestamp \"2026-13-01T10:00:00Z\""));
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1","timestamp":1767261600})") ==
        "timestamp must be a string, got number");
  CHECK(f.reject(R"({"userId":"c1","timestamp":"2026-01-01T10:00:00Z"})") ==
        "missing event name (\"event\")");
  CHECK(f.reject(R"({"event":"","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})") ==
        "event name is empty");
  CHECK(f.reject(R"({"event":["x"],"userId":"c1","timestamp":"2026-01-01T10:00:00Z"})") ==
        "event must be a string, got list");
  CHECK(f.reject(R"({"type":"screen","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})") ==
        "unsupported type 'screen' (expected \"track\", \"identify\", \"page\" or \"alias\")");
  CHECK(f.reject(R"({"type":1,"userId":"c1","timestamp":"2026-01-01T10:00:00Z"})") ==
        "type must be a string, got number");
  CHECK(f.reject(R"({"event":"unsubscribe","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                 R"("messageId":5})") == "messageId must be a string, got number");
  CHECK(f.reject("[1,2]") == "expected a JSON object, got list");
  CHECK(f.reject("\"x\"") == "expected a JSON object, got string");
  CHECK(f.reject("") == "empty line");
}

TEST_CASE("decoder: receivedAt stands in for a missing timestamp") {
  Fixture f;
  std::string reason;
  REQUIRE(f.decoder.decode(R"({"event":"unsubscribe","userId":"c1"})", f.e, reason, 1234));
  CHECK(f.e.time == 1234);
  // An explicit timestamp wins.
  REQUIRE(f.decoder.decode(
      R"({"event":"unsubscribe","userId":"c1","timestamp":"1970-01-01T00:00:01Z"})", f.e, reason,
      1234));
  CHECK(f.e.time == 1000);
}

TEST_CASE("decoder: malformed JSON gives a position and a reason") {
  Fixture f;
  CHECK(f.reject("{") ==
        "malformed JSON at column 2: unexpected end of input, expected a property name");
  CHECK(f.reject(R"({"userId":"c1",})") ==
        "malformed JSON at column 16: unexpected '}', expected a property name");
  CHECK(f.reject(R"({"userId" "c1"})") ==
        "malformed JSON at column 11: unexpected '\"', expected ':'");
  CHECK(
      f.reject(R"({"userId":"c1"} x)") ==
      "malformed JSON at column 17: unexpected 'x', expected the end of the line after the object");
  CHECK(f.reject(R"({"userId":"c1)") == "malformed JSON at column 11: unterminated string");
  CHECK(f.reject(R"({"a":01})").starts_with("malformed JSON at column 7: unexpected '1'"));
  CHECK(f.reject(R"({"a":1.})") == "malformed JSON at column 6: malformed number");
  CHECK(f.reject(R"({"a":-})") == "malformed JSON at column 6: malformed number");
  CHECK(f.reject(R"({"a":tru})").starts_with("malformed JSON at column 6: unexpected 't'"));
  CHECK(f.reject(R"({"a":"\x"})") == "malformed JSON at column 7: invalid escape in a string");
  CHECK(f.reject(R"({"a":"\ud800"})") ==
        "malformed JSON at column 7: unpaired surrogate in \\u escape");
  CHECK(f.reject(R"({"a":"\udc00"})") ==
        "malformed JSON at column 7: unpaired surrogate in \\u escape");
  CHECK(f.reject(R"({"a":"\u12G4"})") == "malformed JSON at column 9: malformed \\u escape");
  CHECK(f.reject("{\"a\":\"tab\there\"}") ==
        "malformed JSON at column 10: control character in a string (escape it)");
  CHECK(f.reject("{\"a\":\"\xff\"}") == "malformed JSON at column 7: invalid UTF-8 in a string");
  CHECK(f.reject("{\"a\":\"\xc0\xaf\"}") ==
        "malformed JSON at column 7: invalid UTF-8 in a string");
  CHECK(f.reject("{\"a\":\"\xed\xa0\x80\"}") ==
        "malformed JSON at column 7: invalid UTF-8 in a string");
  CHECK(f.reject("\xef\xbb\xbf{}") ==
        "malformed JSON at column 1: unexpected byte 0xef, expected a value");
  CHECK(f.reject(std::string(300, '[') + std::string(300, ']')) ==
        "malformed JSON at column 257: nesting too deep");
  CHECK(f.reject("[1,2] x") ==
        "malformed JSON at column 7: unexpected 'x', expected the end of the line");
  std::string deep = R"({"event":"x","userId":"c","timestamp":"2026-01-01T10:00:00Z","p":)" +
                     std::string(300, '[') + std::string(300, ']') + "}";
  CHECK(f.reject(deep).find("nesting too deep") != std::string::npos);
}

TEST_CASE("decoder: escaped keys and a reused Event leave no stale data") {
  Fixture f;
  REQUIRE(f.decode(
      R"({"\u0065vent":"cart_add","user\u0049d":"c1","timestamp":"2026-01-01T10:00:00Z",)"
      R"("messageId":"m1","properties":{"product\u005fid":"p1","price":2,"quantity":3}})"));
  CHECK(f.e.customer == "c1");
  CHECK(f.field("product_id") == Value::str("p1"));
  CHECK(f.field("quantity") == Value::integer(3));
  // Same Event object again: absent fields must be exactly absent, messageId cleared.
  REQUIRE(f.decode(R"({"event":"cart_add","userId":"c2","timestamp":"2026-01-01T10:00:00Z",)"
                   R"("properties":{"product_id":"p2"}})"));
  CHECK(f.e.messageId.empty());
  CHECK(f.field("quantity") == Value::absent());
  CHECK(f.field("price") == Value::absent());
  // Switching between events of different widths and kinds.
  REQUIRE(f.decode(R"({"event":"unsubscribe","userId":"c1","timestamp":"2026-01-01T10:00:00Z"})"));
  CHECK(f.e.fields.empty());
  REQUIRE(f.decode(
      R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T10:00:00Z","traits":{"vip":true}})"));
  CHECK(f.e.fields.empty());
  REQUIRE(f.decode(kCartAdd));
  CHECK(f.e.traits.empty());
  CHECK(f.e.kind == Event::Kind::Track);
}

TEST_CASE("decoder: a key sent twice, or a field filled twice with different values, is invalid") {
  Fixture f;
  const std::string head =
      R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)";
  // The same key twice, at any level the decoder reads, whatever the values.
  CHECK(f.reject(
            R"({"event":"cart_add","userId":"c1","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
            R"("properties":{"product_id":"p1"}})") == "key 'userId' is sent twice");
  CHECK(f.reject(head + R"("context":{},"properties":{"product_id":"p1"},"context":{}})") ==
        "key 'context' is sent twice");
  CHECK(f.reject(head + R"("properties":{"product_id":"p1","product_id":"p1"}})") ==
        "key 'product_id' is sent twice in the properties of event 'cart_add'");
  CHECK(f.reject(head + R"("properties":{"product_id":"p1","note":1,"note":1}})") ==
        "key 'note' is sent twice in the properties of event 'cart_add'");
  CHECK(f.reject(head + R"("properties":{"product_id":"p1","title":null,"title":null}})") ==
        "key 'title' is sent twice in the properties of event 'cart_add'");
  // A wide object: the repeat is found at the end, and the next line is read as usual.
  std::string wide = head + R"("properties":{"product_id":"p1")";
  for (int k = 0; k < 5000; ++k) wide += ",\"k" + std::to_string(k) + "\":1";
  CHECK(f.reject(wide + R"(,"k7":2}})") ==
        "key 'k7' is sent twice in the properties of event 'cart_add'");
  REQUIRE(f.decode(head + R"("properties":{"product_id":"p1","k7":1}})"));
  // Escapes are decoded before keys are compared.
  CHECK(f.reject(head + R"("properties":{"product_id":"p1","product_id":"p1"}})") ==
        "key 'product_id' is sent twice in the properties of event 'cart_add'");
  // Two keys of one field: different values are invalid, the same value is fine, null is not a
  // value (it neither fills nor empties the field).
  CHECK(f.reject(head + R"("properties":{"product_id":"p1","productId":"p2"}})") ==
        "property 'product_id' of event 'cart_add' is filled twice with different values (the "
        "second time from 'productId')");
  CHECK(f.reject(head + R"("properties":{"product_id":"p1","price":2,"Price":2.5}})") ==
        "property 'price' of event 'cart_add' is filled twice with different values (the second "
        "time from 'Price')");
  REQUIRE_MESSAGE(
      f.decode(head +
               R"("properties":{"productId":"p1","product_id":"p1","price":2,"Price":2.00}})"),
      f.reason);
  CHECK(f.field("product_id") == Value::str("p1"));
  CHECK(f.field("price").m.units == 2'000'000);
  REQUIRE_MESSAGE(f.decode(head + R"("properties":{"productId":"p1","product_id":null}})"),
                  f.reason);
  CHECK(f.field("product_id") == Value::str("p1"));
  REQUIRE_MESSAGE(f.decode(head + R"("properties":{"productId":null,"product_id":"p1"}})"),
                  f.reason);
  CHECK(f.field("product_id") == Value::str("p1"));
  // Traits alike; there a null removes, so it counts as a value.
  const std::string identify =
      R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)";
  CHECK(f.reject(identify + R"("traits":{"plan":"a","plan":"a"}})") ==
        "key 'plan' is sent twice in the traits");
  CHECK(f.reject(identify + R"("traits":{"first_name":"A","firstName":"B"}})") ==
        "trait 'first_name' is filled twice with different values (the second time from "
        "'firstName')");
  CHECK(f.reject(identify + R"("traits":{"first_name":"A","firstName":null}})") ==
        "trait 'first_name' is filled twice with different values (the second time from "
        "'firstName')");
  REQUIRE_MESSAGE(f.decode(identify + R"("traits":{"first_name":"A","firstName":"A"}})"), f.reason);
  REQUIRE(f.e.traits.size() == 1);
  CHECK(f.e.traits[0].second == Value::str("A"));
  // Two subscribed values that disagree: invalid, and an opt-out (fails closed).
  CHECK(f.reject(identify + R"("traits":{"subscribed":true,"subscribed":false}})") ==
        "key 'subscribed' is sent twice in the traits");
  CHECK(f.decoder.failedClosed());
  CHECK(f.reject(identify + R"("traits":{"subscribed":true,"Subscribed":"maybe"}})") ==
        "trait 'subscribed' must be bool, got string \"maybe\"");
  CHECK(f.decoder.failedClosed());
}

TEST_CASE("literalValue converts declaration defaults") {
  testing::TestModel tm;
  using sema::Type;
  using sema::TypeKind;
  CHECK(*plan::literalValue(*tm.intLit(5), Type::of(TypeKind::Money)) ==
        Value::money(Decimal::whole(5)));
  CHECK(*plan::literalValue(*tm.intLit(5), Type::of(TypeKind::Float)) == Value::flt(5));
  CHECK(*plan::literalValue(*tm.decimalLit("0.1"), Type::of(TypeKind::Float)) == Value::flt(0.1));
  CHECK(*plan::literalValue(*tm.strLit("x"), Type::of(TypeKind::String)) == Value::str("x"));
  CHECK_FALSE(plan::literalValue(*tm.strLit("x"), Type::of(TypeKind::Int)));
  CHECK_FALSE(plan::literalValue(*tm.decimalLit("1.5"), Type::of(TypeKind::Int)));
  ast::Expr* neg = tm.arena.newExpr(ast::ExprKind::Unary, {});
  neg->op = ast::Op::Neg;
  neg->lhs = const_cast<ast::Expr*>(tm.decimalLit("2.25"));
  CHECK(plan::literalValue(*neg, Type::of(TypeKind::Money))->m.units == -2'250'000);
  ast::Expr* list = tm.arena.newExpr(ast::ExprKind::List, {});
  list->items = {const_cast<ast::Expr*>(tm.strLit("a")), const_cast<ast::Expr*>(tm.strLit("b"))};
  CHECK(plan::literalValue(*list, Type::listOf(TypeKind::String))->list.size() == 2);
  CHECK_FALSE(plan::literalValue(*list, Type::listOf(TypeKind::Int)));
}

TEST_CASE("decoder: fuzzed lines never crash, and malformed JSON is always reported as such") {
  Fixture f;
  const std::vector<std::string> seeds = {
      kCartAdd,
      R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":{"email":"a@b","firstName":"A","tags":["x"],"subscribed":true,"score":1.5,"x":{"y":[1]}}})",
      R"({"event":"Order Completed","userId":"c1","timestamp":"2026-01-01T10:00:00Z","properties":{"total":12.5,"items":["a","b"],"placedAt":"2026-01-01T09:00:00Z","rating":2e1,"gift":false,"wait":"15m","scores":[1,2]}})",
  };
  std::mt19937 rng(777);
  const std::string alphabet = "{}[]\",:\\ -.eE019tfnul\x01\xc3\xa9\xff";
  int accepted = 0, rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 2);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(pos, 1); break;
        case 2: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 3: s.resize(pos); break;
      }
    }
    const bool valid = nlohmann::json::accept(s.begin(), s.end());
    const bool ok = f.decoder.decode(s, f.e, f.reason);
    if (ok) {
      ++accepted;
      if (!valid) FAIL_CHECK("decoded malformed JSON: " << s);
    } else {
      ++rejected;
      if (!valid && !s.starts_with("\xef\xbb\xbf") && !s.empty() &&
          !f.reason.starts_with("malformed JSON"))
        FAIL_CHECK("malformed JSON not reported as such: " << s << " -> " << f.reason);
      if (f.reason.empty()) FAIL_CHECK("no reason for: " << s);
    }
  }
  // The mutations must exercise both outcomes.
  CHECK(accepted > 100);
  CHECK(rejected > 100);
}

TEST_CASE("decoder: member order does not change the outcome") {
  Fixture f;
  const std::string ts = R"("timestamp":"2026-01-01T10:00:00Z")";
  // Properties decoded in the first pass, then the event name repeated: invalid, whatever the
  // properties said.
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1",)" + ts +
                 R"(,"properties":{"url":"/x"},"event":"page_view"})") ==
        "key 'event' is sent twice");
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1",)" + ts +
                 R"(,"properties":{"product_id":true,"url":"/y"},"event":"page_view"})") ==
        "key 'event' is sent twice");
  // A type error in the properties is reported when the event stays.
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1",)" + ts +
                 R"(,"properties":{"product_id":true},"messageId":"m"})") ==
        "property 'product_id' of event 'cart_add' must be string, got bool");
  // A later "type":"identify" makes the properties irrelevant.
  REQUIRE_MESSAGE(
      f.decode(R"({"event":"cart_add","userId":"c1",)" + ts +
               R"(,"properties":{"product_id":true},"type":"identify","traits":{"vip":true}})"),
      f.reason);
  CHECK(f.e.kind == Event::Kind::Identify);
  CHECK(f.e.traits.size() == 1);
  // A repeated "properties" is invalid.
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1",)" + ts +
                 R"(,"properties":{"product_id":true},"properties":{"product_id":"p"}})") ==
        "key 'properties' is sent twice");
  // Malformed JSON after a type error is still malformed JSON.
  CHECK(f.reject(R"({"event":"cart_add","userId":"c1",)" + ts +
                 R"(,"properties":{"product_id":true,"x":[}})")
            .starts_with("malformed JSON"));
  // Properties first, event after: the same result as the usual order.
  REQUIRE(
      f.decode(R"({"properties":{"productId":"p1","price":1.5},"event":"cart_add","userId":"c1",)" +
               ts + "}"));
  CHECK(f.field("product_id") == Value::str("p1"));
  CHECK(f.field("price").m.units == 1'500'000);
}

namespace {
const char* kIdentifyHead =
    R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","messageId":"m-9",)";
}  // namespace

TEST_CASE("decoder: subscribed is read from bools and the strings \"true\" and \"false\"") {
  Fixture f;
  for (const auto& [text, want] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"false", false}, {R"("true")", true}, {R"("false")", false}}) {
    REQUIRE_MESSAGE(f.decode(kIdentifyHead + (R"("traits":{"subscribed":)" + text + "}}")),
                    f.reason);
    REQUIRE(f.trait("subscribed"));
    CHECK(*f.trait("subscribed") == Value::boolean(want));
    CHECK_FALSE(f.decoder.failedClosed());
  }
  // Any bool: other traits and event properties alike.
  REQUIRE(f.decode(kIdentifyHead + std::string(R"("traits":{"vip":"false"}})")));
  CHECK(*f.trait("vip") == Value::boolean(false));
  // null leaves subscribed as it is (only a true resubscribes); it still removes other traits.
  REQUIRE(f.decode(kIdentifyHead + std::string(R"("traits":{"subscribed":null,"vip":null}})")));
  CHECK(f.trait("subscribed") == nullptr);
  REQUIRE(f.trait("vip"));
  CHECK(f.trait("vip")->isAbsent());
}

TEST_CASE("decoder: an unreadable subscribed rejects the identify and fails closed") {
  Fixture f;
  auto failsClosed = [&](const std::string& traits) {
    CHECK_FALSE(f.decode(kIdentifyHead + (R"("traits":)" + traits + "}")));
    REQUIRE_MESSAGE(f.decoder.failedClosed(), traits);
    // The change to apply: this customer, this time, subscribed false and nothing else; no
    // messageId, so that a rejected line never takes the id of a later valid one.
    CHECK(f.e.kind == Event::Kind::Identify);
    CHECK(f.e.customer == "c1");
    CHECK(f.e.time == *parseTimestamp("2026-01-01T09:00:00Z"));
    CHECK(f.e.messageId.empty());
    REQUIRE(f.e.traits.size() == 1);
    CHECK(f.e.traits[0].first == "subscribed");
    CHECK(f.e.traits[0].second == Value::boolean(false));
    return f.reason;
  };
  CHECK(failsClosed(R"({"email":"a@b.c","subscribed":"maybe"})") ==
        "trait 'subscribed' must be bool, got string \"maybe\"");
  CHECK(failsClosed(R"({"subscribed":1})") == "trait 'subscribed' must be bool, got number");
  CHECK(failsClosed(R"({"subscribed":"TRUE"})") ==
        "trait 'subscribed' must be bool, got string \"TRUE\"");
  CHECK(failsClosed(R"({"subscribed":["true"]})") == "trait 'subscribed' must be bool, got list");
  // Seen after an earlier error, which gives the reason.
  CHECK(failsClosed(R"({"score":"high","subscribed":{}})") ==
        "trait 'score' must be float, got string \"high\"");
  // A valid false in an identify invalid for another reason is an opt-out all the same.
  CHECK(failsClosed(R"({"subscribed":false,"tags":[true]})") ==
        "item 1 of trait 'tags' must be string, got bool");
  CHECK(failsClosed(R"({"tags":"x","subscribed":"false"})") ==
        "trait 'tags' must be [string], got string \"x\"");
  // An invalid messageId is the reason; the opt-out still holds.
  CHECK_FALSE(f.decode(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",)"
                       R"("messageId":7,"traits":{"subscribed":"no"}})"));
  CHECK(f.reason == "messageId must be a string, got number");
  CHECK(f.decoder.failedClosed());

  // Nothing to apply: a true (or no subscribed) in an invalid identify, no customer, no time,
  // malformed JSON, a track call.
  for (
      const char* line : {
          R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":{"subscribed":true,"vip":2}})",
          R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":{"vip":2}})",
          R"({"type":"identify","timestamp":"2026-01-01T09:00:00Z","traits":{"subscribed":"maybe"}})",
          R"({"type":"identify","userId":"c1","traits":{"subscribed":"maybe"}})",
          R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":{"subscribed":"maybe"})",
          R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":[{"subscribed":"x"}]})",
          R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T09:00:00Z","traits":{"subscribed":"x"}})",
      }) {
    CHECK_FALSE(f.decode(line));
    CHECK_MESSAGE(!f.decoder.failedClosed(), line);
  }
  // A later valid line clears it.
  REQUIRE(f.decode(kIdentifyHead + std::string(R"("traits":{"subscribed":true}})")));
  CHECK_FALSE(f.decoder.failedClosed());
}

TEST_CASE("decoder: a number for a string field is its text as written") {
  Fixture f;
  const std::string head =
      R"({"event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)";
  for (const char* text : {"123", "-0", "1.50", "1e3", "12345678901234567890123"}) {
    REQUIRE_MESSAGE(f.decode(head + R"("properties":{"product_id":)" + text + "}}"), f.reason);
    CHECK(f.field("product_id") == Value::str(text));
  }
  // Other kinds are still wrong types.
  CHECK(f.reject(head + R"("properties":{"product_id":true}})") ==
        "property 'product_id' of event 'cart_add' must be string, got bool");
  CHECK(f.reject(head + R"("properties":{"product_id":["p"]}})") ==
        "property 'product_id' of event 'cart_add' must be string, got list");
  // A trait alike; a time or a duration is not a string.
  REQUIRE(f.decode(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
                   R"("traits":{"firstName":42}})"));
  CHECK(*f.trait("first_name") == Value::str("42"));
  CHECK_FALSE(
      f.decode(R"({"event":"order_placed","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
               R"("properties":{"total":1,"items":[],"placedAt":1767261540000}})"));
}
