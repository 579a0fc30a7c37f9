#pragma once
// The one "which values does a filter pin a field to" analysis (core::Pin), used through the rule
// plan by the runtime's anchor index.
#include <cstdint>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/core/pin.h"
#include "compiler/sema/model.h"

namespace trig::sema {

// The pins of `filter`, a filter of event type `event`: one per term of its top-level `and`
// chain that is `f == lit`, `lit == f`, `f in [lits]`, `f starts_with "s"` (s not empty) or an
// `or` of such terms on the same field (their union), where f is a field of that event and the
// literals are strings or booleans. Other terms pin nothing (the safe side: "may hold"). In
// the order of the terms; a field may be pinned by several.
std::vector<core::Pin> pinsOf(const Model& model, uint32_t event, const ast::Expr* filter);

}  // namespace trig::sema
