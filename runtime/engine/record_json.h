#pragma once
// The JSON line of a Record (spec section 9): one object per line with the keys decision, time,
// customer, rule, step, template, variant, to, subject, message_id for sends; suppressed and
// deferred records carry reason/until, the source location and a sentence for people.
#include <string>

#include "compiler/sema/model.h"
#include "compiler/source/source.h"
#include "runtime/engine/engine.h"

namespace trig::engine {

std::string recordJson(const Record& r, const sema::Model& model, const SourceManager& sources);
// "rules.trig:12:5", or "" for an invalid location.
std::string formatLoc(Loc loc, const SourceManager& sources);

}  // namespace trig::engine
