#pragma once
// Rendering template texts (spec section 7). `{{ path }}` placeholders are resolved through a
// lookup callback (the engine resolves `with` bindings, anchor fields and `customer.x` traits);
// values are formatted the one way the language shows them:
//   money  two decimals, half away from zero ("49.90")
//   float  shortest form that reads back exactly (std::to_chars: "0.1", "1e+21")
//   int    as is; bool true/false; time RFC 3339 UTC; duration canonical ("1h30m")
//   list   items formatted the same way, joined by ", "
// `{{ x | default "text" }}` applies when x is absent, never when it is an empty string. An
// absent variable without a default makes rendering fail, naming the variable: the engine then
// suppresses the send as `missing_data` instead of sending an empty hole.
// HTML bodies escape values (`& < > " '`); subjects and text bodies never do. Literal template
// text and default texts are written as authored.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "compiler/core/value.h"
#include "compiler/plan/plan.h"

namespace trig::deliver {

// Returns the value of a placeholder, or nullptr (or a pointer to an Absent value) when it has
// none. The pointer must stay valid until the callback is called again.
using Lookup = std::function<const Value*(const plan::Placeholder&)>;

// A lookup as rendering calls it: a reference to a callable that outlives the call (a lambda
// passed in place, or a Lookup), with no std::function on the engine's path (a send is rendered
// at every firing). An empty Lookup, or nullptr, has no values.
class LookupRef {
 public:
  LookupRef(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): a lookup of nothing
  LookupRef(const Lookup& f)    // NOLINT(google-explicit-constructor)
      : target_(f ? &f : nullptr), call_(&callLookup) {}
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, Lookup> &&
             !std::is_same_v<std::remove_cvref_t<F>, LookupRef> &&
             std::is_invocable_r_v<const Value*, const F&, const plan::Placeholder&>)
  LookupRef(const F& f)  // NOLINT(google-explicit-constructor)
      : target_(&f), call_([](const void* t, const plan::Placeholder& p) -> const Value* {
          return (*static_cast<const F*>(t))(p);
        }) {}
  const Value* operator()(const plan::Placeholder& p) const {
    return target_ != nullptr ? call_(target_, p) : nullptr;
  }

 private:
  static const Value* callLookup(const void* t, const plan::Placeholder& p) {
    return (*static_cast<const Lookup*>(t))(p);
  }
  const void* target_ = nullptr;
  const Value* (*call_)(const void*, const plan::Placeholder&) = nullptr;
};

enum class Escape : uint8_t { None, Html };

struct RenderError {
  std::string variable;  // "product_name", "customer.first_name"
  Loc loc;               // the placeholder
};

// Appends the rendered text to `out`. On a missing variable returns false with `error` set;
// `out` then holds a partial rendering the caller must discard. With `out` null, only checks
// that every variable has a value or a default (the same answer, nothing written).
bool render(const plan::TemplateText& text, LookupRef lookup, Escape escape, std::string* out,
            RenderError& error);
inline bool render(const plan::TemplateText& text, LookupRef lookup, Escape escape,
                   std::string& out, RenderError& error) {
  return render(text, lookup, escape, &out, error);
}

struct RenderedTemplate {
  std::string subject;  // empty when the template has none
  std::string body;
};
// Renders a template's subject (never escaped) and body (HTML-escaped when info.html). With
// Body::Check the body is only checked (a missing variable fails the same way) and `out.body`
// stays empty: for callers that never show it (`trig run` prints no body).
enum class Body : uint8_t { Render, Check };
bool renderTemplate(const plan::Template& info, LookupRef lookup, RenderedTemplate& out,
                    RenderError& error, Body body = Body::Render);

// A value as templates show it (see above); Absent renders as "".
std::string formatValue(const Value& v);
void appendValue(std::string& out, const Value& v);

void appendHtmlEscaped(std::string& out, std::string_view text);
// A JSON string literal (quotes included) of UTF-8 text: `"` `\` and control characters escaped;
// bytes that are not valid UTF-8 become U+FFFD so the output is always valid JSON.
void appendJsonString(std::string& out, std::string_view text);
// The same bytes written at `p`, which has room for jsonStringBound(text.size()) of them (every
// byte escaped, and the quotes); returns the end of what was written.
char* writeJsonString(char* p, std::string_view text);
constexpr size_t jsonStringBound(size_t bytes) {
  return 6 * bytes + 2;
}
// A value as JSON: strings/time quoted, numbers as their exact text (money "49.9" -> 49.9),
// bools, lists as arrays, Absent as null.
void appendJsonValue(std::string& out, const Value& v);

}  // namespace trig::deliver
