// The decoder against a Model built by the real pipeline (prelude + a rule file), so the
// contract between sema (slots, defaults, aliases, traits) and ingest stays honest.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "compiler/driver/driver.h"
#include "compiler/plan/build.h"
#include "runtime/ingest/decoder.h"

using namespace trig;

namespace {

std::unique_ptr<Compilation> compileText(const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path path =
      fs::temp_directory_path() / ("trig_decoder_sema_" + std::to_string(::getpid()) + ".trig");
  std::ofstream(path) << text;
  auto c = compile({path.string()});
  fs::remove(path);
  return c;
}

// A decoder for `rules` (with the prelude), which must check cleanly.
struct Compiled {
  std::unique_ptr<Compilation> c;
  std::unique_ptr<ingest::Decoder> decoder;
  Event e;
  std::string reason;
  explicit Compiled(const std::string& rules) : c(compileText(rules)) {
    REQUIRE(c);
    REQUIRE(c->ok());
    decoder = std::make_unique<ingest::Decoder>(plan::buildIngestPlan(c->model));
  }
  auto parts() { return std::tie(c->model, *decoder, e, reason); }
};

}  // namespace

TEST_CASE("decoder with a sema-built model: prelude events, aliases, defaults, traits") {
  Compiled compiled(R"(
event signup from "Signed Up" { plan: string, seats: int = 1, price?: money, tags?: [string] }
template hello { subject "Hi {{ customer.first_name | default "there" }}" body "x" }
when signup send hello
)");
  auto [m, decoder, e, reason] = compiled.parts();

  REQUIRE_MESSAGE(
      decoder.decode(
          R"({"type":"track","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",)"
          R"("messageId":"m-1","properties":{"productId":"p1","cart_value":49.99}})",
          e, reason),
      reason);
  const sema::EventInfo* cartAdd = m.findEvent("cart_add");
  REQUIRE(cartAdd);
  CHECK(e.type == cartAdd->index);
  CHECK(e.fields.size() == cartAdd->fields.size());
  CHECK(e.fields[cartAdd->fields[cartAdd->fieldIndex("product_id")].slot] == Value::str("p1"));
  CHECK(e.fields[cartAdd->fields[cartAdd->fieldIndex("cart_value")].slot].m.units == 49'990'000);

  REQUIRE_MESSAGE(
      decoder.decode(R"({"event":"Signed Up","userId":"c2","timestamp":"2026-01-01T10:00:00Z",)"
                     R"("properties":{"plan":"pro","tags":["a"]}})",
                     e, reason),
      reason);
  const sema::EventInfo* signup = m.findEvent("signup");
  REQUIRE(signup);
  CHECK(e.type == signup->index);
  CHECK(e.fields[signup->fields[signup->fieldIndex("seats")].slot] == Value::integer(1));
  CHECK(e.fields[signup->fields[signup->fieldIndex("price")].slot].isAbsent());

  CHECK_FALSE(
      decoder.decode(R"({"event":"signup","userId":"c2","timestamp":"2026-01-01T10:00:00Z",)"
                     R"("properties":{"plan":"pro","seats":"2.5"}})",
                     e, reason));
  CHECK(reason == "property 'seats' of event 'signup' must be int, got string \"2.5\"");

  REQUIRE_MESSAGE(
      decoder.decode(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",)"
                     R"("traits":{"email":"ann@example.com","firstName":"Ann","subscribed":true}})",
                     e, reason),
      reason);
  REQUIRE(e.traits.size() == 3);
  CHECK(e.traits[1].first == "first_name");
  CHECK(e.traits[2].second == Value::boolean(true));
  CHECK_FALSE(
      decoder.decode(R"({"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",)"
                     R"("traits":{"subscribed":"no"}})",
                     e, reason));

  // The prelude's own trait default converts.
  const uint32_t subscribed = m.traitIndex("subscribed");
  REQUIRE(subscribed != sema::kNone);
  REQUIRE(m.traits[subscribed].defaultValue);
  CHECK(*plan::literalValue(*m.traits[subscribed].defaultValue, m.traits[subscribed].type) ==
        Value::boolean(true));
}

TEST_CASE("decoder with the prelude: Segment names, `from` names on fields, page calls") {
  Compiled compiled(R"(
event signup from "Signed Up" { plan: string from "planName", seats?: int }
template hello { subject "Hi" body "x" }
when signup send hello
)");
  auto [m, decoder, e, reason] = compiled.parts();
  auto field = [&](const char* event, const char* name) -> const Value& {
    const sema::EventInfo* info = m.findEvent(event);
    REQUIRE(info);
    REQUIRE(e.type == info->index);
    return e.fields[info->fields[info->fieldIndex(name)].slot];
  };
  const std::string head = R"("userId":"c1","timestamp":"2026-01-01T10:00:00Z",)";
  auto decode = [&](const std::string& rest) {
    return decoder.decode("{" + head + rest + "}", e, reason);
  };

  REQUIRE_MESSAGE(
      decode(
          R"("event":"Product Added","properties":{"product_id":"p1","name":"Lamp","price":"19.90"})"),
      reason);
  CHECK(field("cart_add", "product_name") == Value::str("Lamp"));
  CHECK(field("cart_add", "price").m.units == 19'900'000);
  REQUIRE_MESSAGE(
      decode(R"("event":"Product Viewed","properties":{"productId":"p1","name":"Lamp"})"), reason);
  CHECK(field("product_view", "product_name") == Value::str("Lamp"));
  REQUIRE_MESSAGE(
      decode(R"("event":"Order Completed","properties":{"order_id":"o1","revenue":"50.00"})"),
      reason);
  CHECK(field("purchased", "revenue").m.units == 50'000'000);
  REQUIRE_MESSAGE(decode(R"("event":"Checkout Started","properties":{"value":12})"), reason);
  CHECK(field("checkout_start", "cart_value").m.units == 12'000'000);
  REQUIRE_MESSAGE(decode(R"("event":"Email Opened","properties":{"email_id":"m1"})"), reason);
  CHECK(field("email_open", "message_id") == Value::str("m1"));
  REQUIRE_MESSAGE(
      decode(R"("event":"Email Link Clicked","properties":{"email_id":"m1","url":"/"})"), reason);
  CHECK(field("email_click", "message_id") == Value::str("m1"));
  for (const char* name : {"Product Removed", "Products Searched", "Unsubscribed", "Email Bounced"})
    CHECK_MESSAGE(m.findEvent(name) != nullptr, name);
  REQUIRE_MESSAGE(decode(R"("event":"Signed Up","properties":{"planName":"pro"})"), reason);
  CHECK(field("signup", "plan") == Value::str("pro"));
  // Aliases match exactly: no camelCase mapping of an alias.
  CHECK_FALSE(decode(R"("event":"Signed Up","properties":{"plan_name":"pro"})"));
  CHECK(reason == "missing required property 'plan' of event 'signup'");

  // A field filled by its name and an alias: the same value is fine, different ones are not.
  REQUIRE_MESSAGE(
      decode(
          R"("event":"cart_add","properties":{"product_id":"p1","name":"Lamp","productName":"Lamp"})"),
      reason);
  CHECK_FALSE(decode(
      R"("event":"cart_add","properties":{"product_id":"p1","product_name":"Lamp","name":"Mug"})"));
  CHECK(reason ==
        "property 'product_name' of event 'cart_add' is filled twice with different values (the "
        "second time from 'name')");

  // A Segment page call is a page_view, its fields from its properties.
  REQUIRE_MESSAGE(
      decode(R"("type":"page","name":"Desks","properties":{"url":"/desks","title":"Desks"})"),
      reason);
  CHECK(e.kind == Event::Kind::Track);
  CHECK(e.name == "page_view");
  CHECK(field("page_view", "url") == Value::str("/desks"));
  CHECK(field("page_view", "title") == Value::str("Desks"));
  REQUIRE_MESSAGE(decode(R"("properties":{"url":"/x"},"event":"cart_add","type":"page")"), reason);
  CHECK(field("page_view", "url") == Value::str("/x"));
  CHECK_FALSE(decode(R"("type":"page","properties":{"title":"T"})"));
  CHECK(reason == "missing required property 'url' of event 'page_view'");
}
