#pragma once
// Decoding one wire event (a JSON object in the shape of the Segment tracking spec, spec section 8)
// into a trig::Event, validated against the program's declared events and customer traits.
//
//   {"type":"track","event":"cart_add","userId":"c1","timestamp":"2026-01-01T10:00:00Z",
//    "messageId":"m-1","properties":{"productId":"p1","cart_value":49.99}}
//   {"type":"identify","userId":"c1","timestamp":"2026-01-01T09:00:00Z",
//    "traits":{"email":"ann@example.com","first_name":"Ann","nickname":null}}
//
// Rules (the contract the reader, the HTTP ingest and the engine rely on):
// - `type` defaults to "track"; "identify" carries `traits`; "page" (a Segment page call) is a
//   track of `page_view` with the call's `properties`, whatever its `event`; "alias" is below;
//   any other type is invalid.
// - `userId` must be a non-empty string; `timestamp` an RFC 3339 string; `messageId`, when
//   present, a string (kept in Event::messageId; empty when not sent).
// - Anonymous visitors: `anonymousId`, when present, must be a string (kept in
//   Event::anonymousId; empty or `null` counts as not sent). Without a `userId` the event is the
//   customer `anon:<anonymousId>` (Event::identified false); with neither, "missing userId".
//   `"type":"alias"` (Segment's alias call) needs a `userId` and a `previousId`, the anonymous id
//   it merges into that user (in Event::anonymousId); it decodes to Event::Kind::Alias with
//   nothing else (its anonymousId, properties and traits mean nothing). The merge itself is
//   the engine's.
// - `event` is looked up among declared names, then `from` aliases. An unknown name decodes
//   to Event::Kind::Undeclared (not an error; its properties are not checked).
// - Property keys match fields by exact name, else by their snake_case spelling (`productId`
//   -> `product_id`), else by the field's `from` names, exactly. Extra properties are ignored.
//   `null` counts as not sent.
// - Values must have the declared type, read leniently as collectors send them (spec section 8)
//   and no further: a number field also takes a string whose whole text is a plain decimal
//   (`-?DIGITS[.DIGITS]`: "12.00", not "1e3", " 3" or "+3"); a string field takes a number, as
//   its text as written (123 is "123"); a bool is `true`/`false` or "true"/"false". Numbers are
//   read exactly from their decimal text: money accepts any number with at most 6 decimals
//   (49.99 is exactly 49.99, 150 is 150.00); int accepts integral values only (2 and 2.0, not
//   2.5, nor an exponent such as 1e2); float accepts any number (correctly rounded). `time` is
//   an RFC 3339 string; `duration` a duration string ("15m") or a number of seconds (90, 1.5);
//   `[T]` an array whose items are T.
// - An absent field takes its declared default; otherwise an optional field is
//   Value::absent() and a required one makes the event invalid.
// - identify: each trait is matched against the declared customer traits the same way
//   (camelCase mapped) and must have the declared type; `null` removes the trait (an Absent
//   value in Event::traits), except `subscribed`, which `null` leaves as it is (see
//   failedClosed() for a `subscribed` that cannot be read). Undeclared traits are kept under their
//   name as sent, typed by their JSON value (string, bool, int for integer text that fits, float
//   for other numbers, lists of one such type); values with no trig type (objects such as Segment's
//   `address`, nested or mixed lists) are ignored like extra properties, and `null` removes. No
//   rule or template can name an undeclared trait, so they only reach the profile (and
//   `--explain`). Traits appear in the order sent.
// - Never a silent choice: a key sent twice in the call, its properties or its traits makes the
//   event invalid ("key 'userId' is sent twice"), whatever the values; so does a field or trait
//   filled by two keys (`order_id`, `orderId`) with different values; the same value twice is
//   fine. In properties `null` fills nothing; in traits it removes, so it counts as a value.
//   (Objects the decoder skips, such as `context`, are only checked to be JSON.)
// - The line must be exactly one JSON object (RFC 8259, valid UTF-8); anything else, including
//   a byte order mark, is "malformed JSON at column N: ..." (the reader drops one at the start
//   of a file before the line gets here).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/core/event.h"
#include "compiler/core/value.h"
#include "compiler/plan/ingest.h"

namespace trig::ingest {

// Keeps scratch buffers between calls: one decoder per thread.
class Decoder {
 public:
  // Decodes against the declarations of `plan` (a checked program's, built by the command:
  // `Decoder decoder(plan::buildIngestPlan(model))`), which the decoder copies.
  explicit Decoder(plan::IngestPlan plan);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one line into `out`, reusing its buffers (call it with the same Event object to
  // avoid allocations). Sets kind, type, name, customer, time, messageId, fields or traits; leaves
  // `seq` and `source` to the caller. On failure returns false and sets `reason` to a sentence
  // naming the offending property ("property 'price' of event 'cart_add' must be money, got
  // string"); `out` is then unspecified.
  // `receivedAt`, when given, stands in for a missing `timestamp` (live ingest); without it a
  // missing timestamp is an error.
  bool decode(std::string_view line, Event& out, std::string& reason,
              std::optional<TimeMs> receivedAt = std::nullopt);

  // The time decode() gives `line` whenever it hands the line out (accepted, or failed closed),
  // read by the same reader but only up to the top-level `timestamp`: replay's ordering pass,
  // which so parses only the bytes before the stamp a second time. False when no top-level
  // timestamp can be read before the end or before anything malformed (decode() then rejects the
  // line). On a line decode() rejects, a stamp means nothing (of a key sent twice, the first).
  bool peekTime(std::string_view line, TimeMs& out);

  // After decode() returned false: whether the rejected line must still be applied, with the
  // change it carries in `out`. Opt-out fails closed (spec section 6): an identify whose
  // `subscribed` cannot be read as a bool, or that is invalid for another reason while saying
  // `subscribed: false`, leaves `out` an Identify of its customer and time (no messageId) whose
  // only trait change is `subscribed` = false. The line is still reported and counted as invalid.
  bool failedClosed() const;

  // One decoder reads every line (what each member means, each type's conversion and error,
  // defaults, keys sent twice, opt-out failing closed: written once), through one of two JSON
  // readers that know shapes only. The compact reader takes the line as producers send it (no
  // whitespace, no escapes) and gives up at anything else, valid or not; the general reader
  // (json::Scanner) then reads it again from the start, and words the column-exact "malformed
  // JSON" message. Off: the general reader alone (for tests that compare the two, and
  // benchmarks).
  void setFastPath(bool on);

  // Lines read to their end by each reader (accepted or rejected): the compact reader's, and the
  // general reader's (every line the compact one gave up on, malformed ones included).
  struct Stats {
    uint64_t fast = 0;
    uint64_t general = 0;
  };
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `productId` -> `product_id`, `URL` -> `url`, `cartValue2` -> `cart_value2`; already
// snake_case names are returned unchanged.
std::string snakeCase(std::string_view key);

}  // namespace trig::ingest
