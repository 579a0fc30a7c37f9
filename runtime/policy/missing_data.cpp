#include "runtime/policy/missing_data.h"

#include <fmt/format.h>

namespace trig::policy {

Verdict MissingData::check(const Send& s, Context& c) {
  if (s.moment != Moment::Due) return Verdict::pass();
  std::optional<RenderGap> gap = c.render();
  if (!gap) return Verdict::pass();
  if (gap->templateMissing)
    return Verdict::suppress(Reason::MissingData,
                             fmt::format("template '{}' does not exist", s.templateName));
  return Verdict::suppress(
      Reason::MissingData,
      fmt::format("template variable '{}' has no value and no default", gap->variable), gap->loc);
}

}  // namespace trig::policy
