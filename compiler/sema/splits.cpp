// Splits (A/B tests): the variants' percentages sum to 100, variant names are unique within a
// split and split names within a rule (the bucket depends on the rule and split names).
#include <map>

#include "compiler/sema/context.h"

namespace trig::sema::detail {

void checkSplits(Context& c) {
  for (const auto& ri : c.model.rules) {
    std::map<std::string, Loc> splitNames;
    forEachStep(ri.rule->steps, [&](const ast::Step& st) {
      if (st.action != ast::ActionKind::Split) return;
      if (!st.splitName.text.empty()) {
        auto [it, fresh] = splitNames.emplace(st.splitName.text, st.splitName.loc);
        if (!fresh)
          c.diags
              .report(DiagKind::DuplicateDecl, st.splitName.loc,
                      "rule '{}' already has a split named '{}'", ri.name, st.splitName.text)
              .note(it->second, "previous split is here")
              .help(
                  "two splits of one rule with one name would put every customer in the same "
                  "variants");
      }
      Decimal sum;
      std::map<std::string, Loc> variants;
      for (const auto& v : st.variants) {
        sum.units += v.percent.units;
        if (v.name.text.empty()) continue;
        auto [it, fresh] = variants.emplace(v.name.text, v.name.loc);
        if (!fresh)
          c.diags
              .report(DiagKind::DuplicateDecl, v.name.loc,
                      "split '{}' already has a variant named '{}'", st.splitName.text, v.name.text)
              .note(it->second, "previous variant is here");
      }
      if (sum.units != Decimal::whole(100).units) {
        auto b = c.diags.report(DiagKind::SplitNotHundred, st.splitName.loc,
                                "the variants of split '{}' add up to {}%, not 100%",
                                st.splitName.text, sum.toString());
        b.help(st.variants.empty()
                   ? "give the split variants, e.g. { 50% a: send x  50% b: send y }"
                   : "adjust the percentages so that every customer gets exactly one variant");
      }
    });
  }
}

}  // namespace trig::sema::detail
