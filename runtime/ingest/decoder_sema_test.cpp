// The decoder against a Model built by the real pipeline (prelude + a rule file), so the
// contract between sema (slots, defaults, aliases, traits) and ingest stays honest.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "compiler/driver/driver.h"
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

}  // namespace

TEST_CASE("decoder with a sema-built model: prelude events, aliases, defaults, traits") {
  auto c = compileText(R"(
event signup from "Signed Up" { plan: string, seats: int = 1, price?: money, tags?: [string] }
template hello { subject "Hi {{ customer.first_name | default "there" }}" body "x" }
when signup send hello
)");
  REQUIRE(c);
  REQUIRE(c->ok());
  const sema::Model& m = c->model;
  ingest::Decoder decoder(m);
  Event e;
  std::string reason;

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
  CHECK(*ingest::literalValue(*m.traits[subscribed].defaultValue, m.traits[subscribed].type) ==
        Value::boolean(true));
}
