#include "runtime/ingest/dedup.h"

#include <doctest/doctest.h>

using namespace trig;
using trig::ingest::Deduplicator;
using V = Deduplicator::Verdict;

namespace {

Event track(std::string customer, TimeMs t, std::string messageId = {}, std::string url = "/") {
  Event e;
  e.kind = Event::Kind::Track;
  e.type = 0;
  e.name = "page_view";
  e.customer = std::move(customer);
  e.time = t;
  e.messageId = std::move(messageId);
  e.fields = {Value::str(std::move(url)), Value::absent()};
  return e;
}

}  // namespace

TEST_CASE("dedup: messageId drops repeats, globally, and never events without one") {
  Deduplicator d(0);
  CHECK(d.admit(track("c1", 1000, "m1")) == V::Accept);
  CHECK(d.admit(track("c1", 1000, "m1")) == V::DuplicateId);
  // Ids are global: another customer, another event, same id.
  CHECK(d.admit(track("c2", 5000, "m1", "/other")) == V::DuplicateId);
  CHECK(d.admit(track("c1", 1000, "m2")) == V::Accept);
  // No id: never dropped by id, and content dedup is off.
  CHECK(d.admit(track("c1", 1000)) == V::Accept);
  CHECK(d.admit(track("c1", 1000)) == V::Accept);
  CHECK(d.droppedById() == 2);
  CHECK(d.droppedByContent() == 0);
}

TEST_CASE("dedup: ids are remembered 24 hours of event time, then forgotten") {
  Deduplicator d(0);
  const TimeMs t0 = 1'000'000'000;
  CHECK(d.admit(track("c1", t0, "m1")) == V::Accept);
  // Exactly 24h later: still remembered.
  CHECK(d.admit(track("c1", t0 + kDay, "m1")) == V::DuplicateId);
  CHECK(d.rememberedIds() == 1);
  // Another event moves the clock past 24h: m1 is forgotten, memory is bounded.
  CHECK(d.admit(track("c1", t0 + kDay + 1, "m2")) == V::Accept);
  CHECK(d.rememberedIds() == 1);
  CHECK(d.admit(track("c1", t0 + kDay + 2, "m1")) == V::Accept);
  CHECK(d.rememberedIds() == 2);
}

TEST_CASE("dedup: a dropped duplicate does not refresh the id") {
  Deduplicator d(0, 10);
  CHECK(d.admit(track("c1", 0, "m")) == V::Accept);
  CHECK(d.admit(track("c1", 10, "m")) == V::DuplicateId);
  CHECK(d.admit(track("c1", 11, "m")) == V::Accept);
}

TEST_CASE("dedup: content within D before it, inclusive") {
  Deduplicator d(10 * kSecond);
  CHECK(d.admit(track("c1", 0)) == V::Accept);
  CHECK(d.admit(track("c1", 10 * kSecond)) == V::DuplicateContent);      // exactly D: inclusive
  CHECK(d.admit(track("c1", 10 * kSecond + 1)) == V::Accept);            // D after the accepted one
  CHECK(d.admit(track("c1", 10 * kSecond + 1)) == V::DuplicateContent);  // same instant
  // Different customer, different properties, different type: not duplicates.
  CHECK(d.admit(track("c2", 10 * kSecond + 2)) == V::Accept);
  CHECK(d.admit(track("c1", 10 * kSecond + 2, {}, "/x")) == V::Accept);
  Event other = track("c1", 10 * kSecond + 2);
  other.type = 1;
  CHECK(d.admit(other) == V::Accept);
  // Absent vs present optional field differ.
  Event withTitle = track("c1", 10 * kSecond + 3);
  withTitle.fields[1] = Value::str("");
  CHECK(d.admit(withTitle) == V::Accept);
  CHECK(d.droppedByContent() == 2);
}

TEST_CASE("dedup: content dedup ignores messageId but id dedup comes first") {
  Deduplicator d(kMinute);
  CHECK(d.admit(track("c1", 0, "a")) == V::Accept);
  CHECK(d.admit(track("c1", 1, "b")) == V::DuplicateContent);
  CHECK(d.admit(track("c1", 2, "a")) == V::DuplicateId);
  // The content duplicate was not accepted, so its id is free.
  CHECK(d.admit(track("c1", 2 * kMinute, "b")) == V::Accept);
}

TEST_CASE("dedup: identify and undeclared events") {
  Deduplicator d(kMinute);
  Event id;
  id.kind = Event::Kind::Identify;
  id.type = core::kNone;
  id.customer = "c1";
  id.time = 0;
  id.traits = {{"email", Value::str("a@x")}};
  CHECK(d.admit(id) == V::Accept);
  CHECK(d.admit(id) == V::DuplicateContent);
  id.traits = {{"email", Value::str("b@x")}};
  CHECK(d.admit(id) == V::Accept);
  Event u;
  u.kind = Event::Kind::Undeclared;
  u.type = core::kNone;
  u.name = "Video Played";
  u.customer = "c1";
  CHECK(d.admit(u) == V::Accept);
  CHECK(d.admit(u) == V::DuplicateContent);
  u.name = "Video Paused";
  CHECK(d.admit(u) == V::Accept);
}

TEST_CASE("dedup: field boundaries are unambiguous") {
  Deduplicator d(kMinute);
  Event a = track("c1", 0);
  a.fields = {Value::str("ab"), Value::str("c")};
  Event b = track("c1", 0);
  b.fields = {Value::str("a"), Value::str("bc")};
  CHECK(d.admit(a) == V::Accept);
  CHECK(d.admit(b) == V::Accept);
  Event c = track("c1", 0);
  c.fields = {Value::integer(1), Value::absent()};
  Event m = track("c1", 0);
  m.fields = {Value::money(Decimal{1}), Value::absent()};
  CHECK(d.admit(c) == V::Accept);
  CHECK(d.admit(m) == V::Accept);
}

TEST_CASE("dedup: content memory is bounded and out-of-order stamps are handled") {
  Deduplicator d(10);
  for (int k = 0; k < 1000; ++k)
    CHECK(d.admit(track("c" + std::to_string(k), k * 100)) == V::Accept);
  // Everything older than the window of the latest stamp is forgotten.
  CHECK(d.rememberedContents() == 1);
  // Out of order: an accepted stamp after t is not "before" t.
  Deduplicator o(10);
  CHECK(o.admit(track("c1", 100)) == V::Accept);
  CHECK(o.admit(track("c1", 95)) == V::Accept);
  CHECK(o.admit(track("c1", 96)) == V::DuplicateContent);   // 95 is in [86, 96]
  CHECK(o.admit(track("c1", 104)) == V::DuplicateContent);  // 100 is in [94, 104]
}
