#pragma once
// The rule plan's builder: the plan (plan.h), the ingest plan (ingest.h) and the retention of a
// checked program, computed after sema (docs/architecture.md, "Layers"). The plan's headers are
// data the runtime reads; this one reads the AST and the sema model, so only the compiler's side
// (cli/, compiler/, bench/) and tests include it: a command compiles, builds the plan here and
// hands the runtime the result (scripts/check-layering.py keeps runtime/ from reaching it).
#include <optional>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/core/value.h"
#include "compiler/plan/ingest.h"
#include "compiler/plan/plan.h"
#include "compiler/sema/model.h"
#include "compiler/source/source.h"

namespace trig::plan {

// The plan of a checked program (after sema, with no errors).
Plan buildPlan(const sema::Model& model);

// What the decoder needs of it (plan/ingest.cpp).
IngestPlan buildIngestPlan(const sema::Model& model);

// What each event type's history must keep (plan/retention.cpp).
RetentionPlan buildRetention(const sema::Model& model);

// All the runtime takes of it: the plan, the ingest plan and the sources' line tables.
Program buildProgram(const sema::Model& model, const SourceManager& sources);

// A template of the checked program as the plan holds it (`trig preview` renders one this way).
Template templateOf(const sema::TemplateInfo& info);

// The rules' names by rule index.
std::vector<std::string> ruleNames(const sema::Model& model);

// The value of a default written in a declaration (`subscribed: bool = true`), converted to the
// field's type (an int literal for a money or float field becomes money or float). nullopt when
// the expression is not a literal of a compatible type (sema reports that case).
std::optional<Value> literalValue(const ast::Expr& expr, sema::Type type);

}  // namespace trig::plan
