#include "runtime/jit/jit_evaluator.h"

#include <exception>

#include "compiler/interp/interp.h"
#include "runtime/abi/abi.h"

namespace trig::jit {
namespace {

abi::Ctx makeCtx(const EvalEnv& env, std::vector<Value>& scratch, std::exception_ptr* error) {
  abi::Ctx ctx{};
  if (env.anchor != nullptr) {
    ctx.anchor = env.anchor->fields.data();
    ctx.anchorCount = env.anchor->fields.size();
    ctx.anchorType = env.anchor->type;
  }
  if (env.traits != nullptr) {
    ctx.traits = env.traits->data();
    ctx.traitCount = env.traits->size();
  }
  ctx.now = env.now;
  ctx.firedAt = env.firedAt;
  ctx.firedAfterSeq = env.firedAfterSeq;
  ctx.history = env.history;
  ctx.scratch = scratch.data();
  ctx.error = error;
  return ctx;
}

Value fromScalar(const abi::Scalar& s) {
  using K = Value::Kind;
  switch (static_cast<K>(s.kind)) {
    case K::String: return Value::str(std::string(s.p, s.n));
    case K::Int: return Value::integer(s.i);
    case K::Float: return Value::flt(s.f);
    case K::Money: return Value::money(Decimal{s.i});
    case K::Bool: return Value::boolean(s.b != 0);
    case K::Time: return Value::time(s.i);
    case K::Duration: return Value::duration(s.i);
    case K::List:
    case K::Absent: break;
  }
  return Value::absent();
}

}  // namespace

JitEvaluator::JitEvaluator(const ast::Program& program, const sema::Model& model, const JitOptions& options,
                           std::unique_ptr<Evaluator> fallback)
    : code_(compileRuleSet(program, model, options)),
      fallback_(fallback ? std::move(fallback) : std::make_unique<interp::Interpreter>(model)) {
  slots_.resize(program.arena.exprCount());
  for (const lower::Entry& e : code_->entries()) {
    if (e.exprId >= slots_.size()) continue;
    Slot& s = slots_[e.exprId];
    s.fn = code_->address(e.symbol);
    s.kind = e.kind;
    s.type = e.type;
    s.event = e.event;
    if (e.rule < model.rules.size()) s.anchorEvents = &model.rules[e.rule].anchorEvents;
  }
  scratch_.resize(code_->scratchSlots());
}

JitEvaluator::~JitEvaluator() = default;

bool JitEvaluator::compiled(const ast::Expr& e) const { return e.id < slots_.size() && slots_[e.id].fn != nullptr; }

Evaluator& JitEvaluator::fallback(const ast::Expr&) {
  ++fallbackCalls_;
  return *fallback_;
}

// The compiled code reads the anchor's fields at the slots of the rule's own anchor events and a
// filter's subject at the slots of its event; the interpreter also copes with other events (by
// field name), so those rare calls go to it.
bool JitEvaluator::native(const Slot& s, const EvalEnv& env) const {
  if (s.fn == nullptr) return false;
  if (env.anchor != nullptr && env.anchor->kind == Event::Kind::Track && s.anchorEvents != nullptr) {
    bool ours = false;
    for (uint32_t ev : *s.anchorEvents) ours = ours || ev == env.anchor->type;
    if (!ours) return false;
  }
  if (s.kind == lower::EntryKind::Filter && env.subject != nullptr && env.subject->type != s.event) return false;
  return true;
}

bool JitEvaluator::test(const ast::Expr& cond, const EvalEnv& env) {
  if (cond.id >= slots_.size() || !native(slots_[cond.id], env)) return fallback(cond).test(cond, env);
  const Slot& s = slots_[cond.id];
  std::exception_ptr error;
  abi::Ctx ctx = makeCtx(env, scratch_, &error);
  uint8_t r = 0;
  switch (s.kind) {
    case lower::EntryKind::Predicate: r = reinterpret_cast<abi::PredicateFn>(s.fn)(&ctx); break;
    case lower::EntryKind::Filter: {
      const Event* subject = env.subject;
      r = reinterpret_cast<abi::FilterFn>(s.fn)(&ctx, subject != nullptr ? subject->fields.data() : nullptr,
                                                 subject != nullptr ? subject->fields.size() : 0);
      break;
    }
    case lower::EntryKind::Value: {
      abi::Scalar out{};
      const Value* v = nullptr;
      r = reinterpret_cast<abi::ValueFn>(s.fn)(&ctx, &out, &v) != 0 && s.type.kind == sema::TypeKind::Bool && out.b != 0;
      break;
    }
  }
  if (ctx.failed) std::rethrow_exception(error);
  return r != 0;
}

Value JitEvaluator::value(const ast::Expr& e, const EvalEnv& env) {
  if (e.id >= slots_.size() || !native(slots_[e.id], env)) return fallback(e).value(e, env);
  const Slot& s = slots_[e.id];
  if (s.kind != lower::EntryKind::Value) return Value::boolean(test(e, env));
  std::exception_ptr error;
  abi::Ctx ctx = makeCtx(env, scratch_, &error);
  abi::Scalar out{};
  const Value* v = nullptr;
  uint8_t present = reinterpret_cast<abi::ValueFn>(s.fn)(&ctx, &out, &v);
  if (ctx.failed) std::rethrow_exception(error);
  if (present == 0) return Value::absent();
  if (s.type.kind == sema::TypeKind::List) return v != nullptr ? *v : Value::absent();
  return fromScalar(out);
}

std::unique_ptr<Evaluator> makeJitEvaluator(const ast::Program& program, const sema::Model& model,
                                            const JitOptions& options, std::unique_ptr<Evaluator> fallback) {
  return std::make_unique<JitEvaluator>(program, model, options, std::move(fallback));
}

}  // namespace trig::jit
