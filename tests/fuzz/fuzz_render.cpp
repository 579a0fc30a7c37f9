// Fuzz target: template text (as a template file holds it) parsed and rendered, plain and
// HTML-escaped, with values of every kind behind its placeholders. Any text must parse to
// pieces or diagnostics and render or report a missing variable, never crash.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/parse/parse.h"
#include "compiler/plan/build.h"
#include "compiler/plan/plan.h"
#include "runtime/deliver/render.h"

using namespace trig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Value> values = {Value::str("<b>Ann & \"Bob\"</b>"),
                                            Value::str(""),
                                            Value::str("  "),
                                            Value::money(Decimal{-49990000}),
                                            Value::integer(INT64_MIN),
                                            Value::flt(-0.0),
                                            Value::time(-62135596800000),
                                            Value::duration(INT64_MAX),
                                            Value::absent(),
                                            Value::listOf({Value::str("a"), Value::str("<&>")}),
                                            Value::listOf({})};
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  DiagEngine diags;
  // As the runtime renders it: the parsed text converted to the plan's form.
  sema::TemplateInfo info;
  info.subject = parse::parseTemplate(raw, FileId{0}, 0, /*decodeEscapes=*/size % 2 == 0, diags);
  const plan::TemplateText text = *plan::templateOf(info).subject;
  size_t next = 0;
  deliver::Lookup lookup = [&](const plan::Placeholder& p) -> const Value* {
    size_t h = p.name.size() + (p.defaultText ? 7 : 0) + next++;
    return h % (values.size() + 1) == values.size() ? nullptr : &values[h % (values.size() + 1)];
  };
  for (deliver::Escape e : {deliver::Escape::None, deliver::Escape::Html}) {
    std::string out;
    deliver::RenderError error;
    deliver::render(text, lookup, e, out, error);
  }
  return 0;
}
