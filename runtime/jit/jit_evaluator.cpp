#include "runtime/jit/jit_evaluator.h"

#include <exception>

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
    : code_(compileRuleSet(program, model, options)), fallback_(std::move(fallback)) {
  slots_.resize(program.arena.exprCount());
  for (const lower::Entry& e : code_->entries()) {
    if (e.exprId >= slots_.size()) continue;
    slots_[e.exprId] = {code_->address(e.symbol), e.kind, e.type};
  }
  scratch_.resize(code_->scratchSlots());
}

JitEvaluator::~JitEvaluator() = default;

bool JitEvaluator::compiled(const ast::Expr& e) const { return e.id < slots_.size() && slots_[e.id].fn != nullptr; }

Evaluator& JitEvaluator::fallback(const ast::Expr& e) {
  if (!fallback_)
    throw JitError("no native code for the expression at offset " + std::to_string(e.loc.begin) +
                   " and no interpreter to fall back on");
  ++fallbackCalls_;
  return *fallback_;
}

bool JitEvaluator::test(const ast::Expr& cond, const EvalEnv& env) {
  if (!compiled(cond)) return fallback(cond).test(cond, env);
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
  if (!compiled(e)) return fallback(e).value(e, env);
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
