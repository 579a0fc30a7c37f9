#include "compiler/source/source.h"

#include <doctest/doctest.h>

#include "compiler/support/byte_order_mark.h"

using namespace trig;

TEST_CASE("SourceFile: a UTF-8 byte order mark at the start is not part of the text") {
  SourceFile f("rules.trig", std::string(kUtf8Bom) + "event a { }\nevent b { }\n");
  CHECK(f.text() == "event a { }\nevent b { }\n");
  CHECK(f.lineText(1) == "event a { }");
  CHECK(f.lineCol(6).line == 1);
  CHECK(f.lineCol(6).column == 7);
  CHECK(f.lineCol(12).line == 2);
  // Only at the very start.
  SourceFile g("rules.trig", "# x\n" + std::string(kUtf8Bom));
  CHECK(g.text().size() == 7);
}
