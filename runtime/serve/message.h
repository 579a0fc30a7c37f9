#pragma once
// An email as it goes out (RFC 5322, MIME): the headers `trig serve` puts on every message and
// the text and HTML parts. Pure formatting, no I/O.
#include <string>
#include <utility>
#include <vector>

#include "compiler/support/time.h"

namespace trig::serve {

struct Message {
  std::string messageId;  // trig's message id; the header is `Message-ID: <ID@DOMAIN>`
  std::string domain;     // for the Message-ID header (the From address's domain)
  std::string from;       // "Shop <shop@example.com>" or "shop@example.com"
  std::string to;         // an address
  std::string subject;    // UTF-8; encoded (RFC 2047) when not plain ASCII
  TimeMs date = 0;        // the `Date:` header (RFC 5322 date-time, UTC)
  std::string text;       // text/plain part ("" for none)
  std::string html;       // text/html part ("" for none); both: multipart/alternative
  std::vector<std::pair<std::string, std::string>> headers;  // more, e.g. List-Unsubscribe
};

// The whole message, CRLF line ends, every line at most 998 bytes (quoted-printable bodies,
// UTF-8), ready for SMTP's DATA (without dot-stuffing, which the transport does).
std::string formatMessage(const Message& m);

// "<ID@DOMAIN>" as it appears in the Message-ID header.
std::string messageIdHeader(const Message& m);

}  // namespace trig::serve
