// AST + sema::Model -> LLVM IR. One pass over the rules in declaration order; each condition,
// binding and filter becomes one function (see lower.h for the names and signatures).
//
// Values are lowered as (present, payload) pairs: `present` is an i1 (null when the value can
// never be absent), the payload an i64 (int, time, duration, money in millionths), a double
// (float), an i1 (bool), a (pointer, length) pair (string) or a pointer to a trig::Value (list).
// Absent semantics follow the language: a comparison with an absent side is false, `not` of it
// is true, arithmetic with an absent side or a division by zero is absent.
#include "compiler/lower/lower.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <map>

#include "runtime/abi/abi.h"

namespace trig::lower {
namespace {

using sema::Type;
using sema::TypeKind;

// Thrown inside the lowering (never across JIT frames) when an expression uses a form this
// lowering does not handle; the function being built is dropped and listed as a fallback.
struct Unsupported {
  std::string reason;
  Loc loc;
};

struct LV {
  Type type;
  llvm::Value* present = nullptr;  // i1; null: always present
  llvm::Value* v = nullptr;        // payload (see the file comment)
  llvm::Value* n = nullptr;        // string length
  const ast::Expr* listLiteral = nullptr;  // `[a, b]`: items are lowered where they are used
};

Value::Kind valueKind(TypeKind k) {
  switch (k) {
    case TypeKind::String: return Value::Kind::String;
    case TypeKind::Int: return Value::Kind::Int;
    case TypeKind::Float: return Value::Kind::Float;
    case TypeKind::Money: return Value::Kind::Money;
    case TypeKind::Bool: return Value::Kind::Bool;
    case TypeKind::Time: return Value::Kind::Time;
    case TypeKind::Duration: return Value::Kind::Duration;
    case TypeKind::List: return Value::Kind::List;
    case TypeKind::Error: break;
  }
  return Value::Kind::Absent;
}

bool isIntLike(TypeKind k) { return k == TypeKind::Int || k == TypeKind::Time || k == TypeKind::Duration; }

class Lowerer {
 public:
  Lowerer(const ast::Program& program, const sema::Model& model, llvm::LLVMContext& context,
          const std::string& moduleName)
      : program_(program), model_(model), llctx_(context), b_(context) {
    out_.module = std::make_unique<llvm::Module>(moduleName, context);
    m_ = out_.module.get();
    i1_ = b_.getInt1Ty();
    i8_ = b_.getInt8Ty();
    i32_ = b_.getInt32Ty();
    i64_ = b_.getInt64Ty();
    f64_ = b_.getDoubleTy();
    ptr_ = b_.getPtrTy();
    // A zeroed record reads as an absent Value: field reads out of range point here.
    auto* absentTy = llvm::ArrayType::get(i8_, abi::kValueSize);
    absent_ = new llvm::GlobalVariable(*m_, absentTy, true, llvm::GlobalValue::PrivateLinkage,
                                       llvm::ConstantAggregateZero::get(absentTy), "trig.absent");
    absent_->setAlignment(llvm::Align(alignof(Value)));
  }

  LoweredRuleSet run() {
    for (const auto& rule : model_.rules) lowerRule(rule);
    out_.scratchSlots = scratch_;
    return std::move(out_);
  }

 private:
  // ---- rules ----

  void lowerRule(const sema::RuleInfo& ri) {
    rule_ = &ri;
    prefix_ = "trig.rule." + ri.name + ".";
    filters_ = 0;
    const ast::Rule* r = ri.rule;
    if (r != nullptr)
      for (const ast::EventRef* ref : r->anchor.events) standaloneFilter(ref);
    for (size_t i = 0; i < ri.conditions.size(); ++i)
      predicate(ri.conditions[i], prefix_ + "when." + std::to_string(i));
    for (size_t i = 0; i < ri.unless.size(); ++i)
      predicate(ri.unless[i], prefix_ + "unless." + std::to_string(i));
    if (r == nullptr) return;
    if (r->goal) standaloneFilter(r->goal->event);
    uint32_t step = 0;
    lowerSteps(r->steps, step);
  }

  void lowerSteps(const std::vector<ast::Step>& steps, uint32_t& number) {
    for (const ast::Step& s : steps) {
      std::string stepPrefix = prefix_ + "step." + std::to_string(++number) + ".";
      for (size_t i = 0; i < s.unless.size(); ++i)
        predicate(s.unless[i], stepPrefix + "unless." + std::to_string(i));
      for (const ast::Binding& bnd : s.bindings)
        if (bnd.value != nullptr) valueFunction(bnd.value, stepPrefix + "with." + bnd.name.text);
      for (const ast::Variant& v : s.variants) lowerSteps(v.steps, number);
    }
  }

  // ---- functions ----

  struct FnState {
    llvm::Function* fn = nullptr;
    llvm::Value* ctx = nullptr;
    llvm::Value* subject = nullptr;  // filters: the tested event's fields
    llvm::Value* subjectCount = nullptr;
    llvm::BasicBlock* entry = nullptr;
  };

  llvm::Function* newFunction(const std::string& name, llvm::FunctionType* ty, bool exported) {
    auto* fn = llvm::Function::Create(
        ty, exported ? llvm::GlobalValue::ExternalLinkage : llvm::GlobalValue::InternalLinkage, name, m_);
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    return fn;
  }

  // Runs `body` with the builder inside a fresh function state, restoring the outer one after
  // (filters are built while their enclosing function is half done).
  void withFunction(FnState st, const std::function<void()>& body) {
    FnState saved = fn_;
    auto savedIP = b_.saveIP();
    fn_ = st;
    fn_.entry = llvm::BasicBlock::Create(llctx_, "entry", st.fn);
    b_.SetInsertPoint(fn_.entry);
    try {
      body();
    } catch (...) {
      fn_ = saved;
      b_.restoreIP(savedIP);
      throw;
    }
    fn_ = saved;
    b_.restoreIP(savedIP);
  }

  void predicate(const ast::Expr* e, const std::string& symbol) {
    if (e == nullptr) return;
    auto* fn = newFunction(symbol, llvm::FunctionType::get(i8_, {ptr_}, false), true);
    try {
      withFunction({fn, fn->getArg(0)}, [&] {
        llvm::Value* t = truth(lower(e));
        b_.CreateRet(b_.CreateZExt(t, i8_));
      });
    } catch (const Unsupported& u) {
      fn->eraseFromParent();
      out_.fallbacks.push_back({e->id, symbol, u.reason, u.loc});
      return;
    }
    out_.entries.push_back({e->id, symbol, EntryKind::Predicate, typeOf(e)});
  }

  void valueFunction(const ast::Expr* e, const std::string& symbol) {
    auto* fn = newFunction(symbol, llvm::FunctionType::get(i8_, {ptr_, ptr_, ptr_}, false), true);
    try {
      withFunction({fn, fn->getArg(0)}, [&] {
        LV x = lower(e);
        llvm::Value* out = fn->getArg(1);
        if (x.type.kind == TypeKind::List) {
          if (x.listLiteral != nullptr) throw Unsupported{"a list literal as a value", e->loc};
          b_.CreateStore(x.v, fn->getArg(2));
        } else {
          storeScalar(out, x);
        }
        b_.CreateRet(b_.CreateZExt(presentOf(x), i8_));
      });
    } catch (const Unsupported& u) {
      fn->eraseFromParent();
      out_.fallbacks.push_back({e->id, symbol, u.reason, u.loc});
      return;
    }
    out_.entries.push_back({e->id, symbol, EntryKind::Value, typeOf(e)});
  }

  // An anchor's or goal's `E(filter)`: tested by the runtime against an incoming event.
  void standaloneFilter(const ast::EventRef* ref) {
    if (ref == nullptr || (ref->filter == nullptr && ref->same.empty())) return;
    uint32_t event = refEvent(ref, nullptr);
    try {
      filterFunction(ref, nullptr, event);
    } catch (const Unsupported&) {
      // Recorded as a fallback by filterFunction.
    }
  }

  // Builds the filter function of `ref` (an event reference with a filter or `same` list),
  // `owner` being the EventTerm/Aggregate/Last it belongs to (null for anchors and goals).
  llvm::Function* filterFunction(const ast::EventRef* ref, const ast::Expr* owner, uint32_t event) {
    std::string symbol = prefix_ + "filter." + std::to_string(filters_++);
    auto* fn = newFunction(symbol, llvm::FunctionType::get(i8_, {ptr_, ptr_, i64_}, false), true);
    const sema::EventInfo* info = event < model_.events.size() ? &model_.events[event] : nullptr;
    try {
      withFunction({fn, fn->getArg(0), fn->getArg(1), fn->getArg(2)}, [&] {
        llvm::Value* ok = b_.getTrue();
        if (ref->filter != nullptr) {
          ok = truth(lower(ref->filter));
        } else {
          const std::vector<sema::SameInfo>* same = sameList(ref, owner);
          if (same == nullptr || info == nullptr)
            throw Unsupported{"`same` without its resolution", ref->loc};
          for (const sema::SameInfo& s : *same) {
            if (s.eventField >= info->fields.size()) throw Unsupported{"`same` field out of range", ref->loc};
            Type t = info->fields[s.eventField].type;
            LV mine = readValue(fieldPtr(fn_.subject, fn_.subjectCount, b_.getInt64(s.eventField)), t);
            LV theirs = anchorFieldByName(s.anchorField, t, ref->loc);
            ok = b_.CreateAnd(ok, compare(ast::Op::Eq, mine, theirs, ref->loc));
          }
        }
        b_.CreateRet(b_.CreateZExt(ok, i8_));
      });
    } catch (const Unsupported& u) {
      fn->eraseFromParent();
      if (ref->filter != nullptr) out_.fallbacks.push_back({ref->filter->id, symbol, u.reason, u.loc});
      throw;
    }
    if (ref->filter != nullptr) out_.entries.push_back({ref->filter->id, symbol, EntryKind::Filter, typeOf(ref->filter)});
    return fn;
  }

  const std::vector<sema::SameInfo>* sameList(const ast::EventRef* ref, const ast::Expr* owner) {
    if (owner != nullptr) {
      auto it = model_.exprSame.find(owner->id);
      if (it != model_.exprSame.end()) return &it->second;
    }
    auto it = model_.eventRefSame.find(ref);
    return it == model_.eventRefSame.end() ? nullptr : &it->second;
  }

  uint32_t refEvent(const ast::EventRef* ref, const ast::Expr* owner) {
    if (owner != nullptr && owner->id < model_.exprEvent.size() && model_.exprEvent[owner->id] != sema::kNone)
      return model_.exprEvent[owner->id];
    auto it = model_.eventRefEvent.find(ref);
    if (it != model_.eventRefEvent.end()) return it->second;
    if (ref != nullptr)
      if (const sema::EventInfo* ev = model_.findEvent(ref->name.text)) return ev->index;
    throw Unsupported{"an event reference without its resolution", ref != nullptr ? ref->loc : Loc{}};
  }

  // ---- expressions ----

  Type typeOf(const ast::Expr* e) const {
    return e->id < model_.exprType.size() ? model_.exprType[e->id] : Type{};
  }

  LV lower(const ast::Expr* e) {
    Type t = typeOf(e);
    switch (e->kind) {
      case ast::ExprKind::IntLit:
      case ast::ExprKind::DecimalLit:
      case ast::ExprKind::PercentLit: return numberLiteral(e, t);
      case ast::ExprKind::StringLit: return stringLiteral(e->text);
      case ast::ExprKind::BoolLit: return {Type::of(TypeKind::Bool), nullptr, b_.getInt1(e->boolValue)};
      case ast::ExprKind::DurationLit: return {Type::of(TypeKind::Duration), nullptr, b_.getInt64(e->intValue)};
      case ast::ExprKind::TimeLit: return {Type::of(TypeKind::Time), nullptr, b_.getInt64(e->intValue)};
      case ast::ExprKind::List: {
        LV x;
        x.type = t.kind == TypeKind::List ? t : Type::listOf(TypeKind::Error);
        x.listLiteral = e;
        return x;
      }
      case ast::ExprKind::Name:
      case ast::ExprKind::Trait: return name(e, t);
      case ast::ExprKind::Unary: return unary(e, t);
      case ast::ExprKind::Binary: return binary(e, t);
      case ast::ExprKind::EventTerm: return eventTerm(e);
      case ast::ExprKind::Aggregate: return aggregate(e, t);
      case ast::ExprKind::Last: return last(e, t);
      case ast::ExprKind::Call: {
        if (e->callee.text != "exists" || e->items.size() != 1)
          throw Unsupported{"call of '" + e->callee.text + "'", e->loc};
        LV x = lower(e->items[0]);
        if (x.listLiteral != nullptr) return {Type::of(TypeKind::Bool), nullptr, b_.getTrue()};
        return {Type::of(TypeKind::Bool), nullptr, presentOf(x)};
      }
      case ast::ExprKind::Idle: throw Unsupported{"`idle` inside a condition (the runtime schedules it)", e->loc};
      case ast::ExprKind::Error: break;
    }
    throw Unsupported{"an expression that did not check", e->loc};
  }

  LV numberLiteral(const ast::Expr* e, Type t) {
    // IntLit carries decimalValue = intValue too; percentages are hundredths.
    int64_t units = e->decimalValue.units;
    if (e->kind == ast::ExprKind::IntLit) units = e->intValue * Decimal::kScale;
    bool percent = e->kind == ast::ExprKind::PercentLit;
    switch (t.kind) {
      case TypeKind::Int:
        if (e->kind == ast::ExprKind::IntLit) return {t, nullptr, b_.getInt64(e->intValue)};
        if (!percent && units % Decimal::kScale == 0) return {t, nullptr, b_.getInt64(units / Decimal::kScale)};
        break;
      case TypeKind::Float: {
        double d = e->kind == ast::ExprKind::IntLit ? static_cast<double>(e->intValue) : Decimal{units}.toDouble();
        if (percent) d /= 100;
        return {t, nullptr, llvm::ConstantFP::get(f64_, d)};
      }
      case TypeKind::Money:
        if (percent) {
          if (units % 100 != 0) break;
          units /= 100;
        }
        return {t, nullptr, b_.getInt64(units)};
      default: break;
    }
    throw Unsupported{"a number literal of type " + sema::typeName(t), e->loc};
  }

  LV stringLiteral(const std::string& s) {
    auto it = strings_.find(s);
    llvm::Constant* g;
    if (it != strings_.end()) {
      g = it->second;
    } else {
      auto* init = llvm::ConstantDataArray::getString(llctx_, s, false);
      auto* gv = new llvm::GlobalVariable(*m_, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, "trig.str");
      gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
      gv->setAlignment(llvm::Align(1));
      strings_.emplace(s, gv);
      g = gv;
    }
    return {Type::of(TypeKind::String), nullptr, g, b_.getInt64(s.size())};
  }

  LV name(const ast::Expr* e, Type t) {
    const sema::Ref* ref = e->id < model_.exprRef.size() ? &model_.exprRef[e->id] : nullptr;
    if (ref == nullptr) throw Unsupported{"an unresolved name", e->loc};
    switch (ref->kind) {
      case sema::RefKind::AnchorField:
        if (ref->event != sema::kNone && ref->field != sema::kNone)
          return readValue(fieldPtr(loadCtx(abi::kCtxAnchor, ptr_), loadCtx(abi::kCtxAnchorCount, i64_),
                                    b_.getInt64(ref->field)),
                           t);
        return anchorFieldByName(ref->name, t, e->loc);
      case sema::RefKind::EventField:
        if (fn_.subject == nullptr) throw Unsupported{"an event field outside its filter", e->loc};
        return readValue(fieldPtr(fn_.subject, fn_.subjectCount, b_.getInt64(ref->field)), t);
      case sema::RefKind::Trait:
        return readValue(fieldPtr(loadCtx(abi::kCtxTraits, ptr_), loadCtx(abi::kCtxTraitCount, i64_),
                                  b_.getInt64(ref->field)),
                         t);
      case sema::RefKind::BareEvent: {
        // `unless purchased` in a step: some such event since the rule fired.
        llvm::Value* found = call("trig_abi_exists", i8_, {ptr_, i32_, i64_, i64_, ptr_},
                                  {fn_.ctx, b_.getInt32(ref->event), loadCtx(abi::kCtxFiredAt, i64_),
                                   loadCtx(abi::kCtxNow, i64_), llvm::ConstantPointerNull::get(ptr_)});
        return {Type::of(TypeKind::Bool), nullptr, b_.CreateICmpNE(found, b_.getInt8(0))};
      }
      case sema::RefKind::Binding: throw Unsupported{"a `with` binding inside a condition", e->loc};
      case sema::RefKind::None: break;
    }
    throw Unsupported{"an unresolved name", e->loc};
  }

  // The anchor's field `name` when the anchor has alternatives `(A or B)`: its slot depends on
  // which event armed the rule.
  LV anchorFieldByName(const std::string& field, Type t, Loc loc) {
    if (rule_ == nullptr || rule_->anchorEvents.empty()) throw Unsupported{"an anchor field without an anchor", loc};
    llvm::Value* slot = b_.getInt64(sema::kNone);  // out of range: absent
    llvm::Value* type = rule_->anchorEvents.size() > 1 ? loadCtx(abi::kCtxAnchorType, i32_) : nullptr;
    for (uint32_t ev : rule_->anchorEvents) {
      if (ev >= model_.events.size()) continue;
      uint32_t s = model_.events[ev].fieldIndex(field);
      if (s == sema::kNone) continue;
      if (type == nullptr) {
        slot = b_.getInt64(s);
      } else {
        slot = b_.CreateSelect(b_.CreateICmpEQ(type, b_.getInt32(ev)), b_.getInt64(s), slot);
      }
    }
    return readValue(fieldPtr(loadCtx(abi::kCtxAnchor, ptr_), loadCtx(abi::kCtxAnchorCount, i64_), slot), t);
  }

  LV unary(const ast::Expr* e, Type t) {
    if (e->lhs == nullptr) throw Unsupported{"an incomplete expression", e->loc};
    if (e->op == ast::Op::Not) return {Type::of(TypeKind::Bool), nullptr, b_.CreateNot(truth(lower(e->lhs)))};
    LV x = lower(e->lhs);
    switch (x.type.kind) {
      case TypeKind::Int:
      case TypeKind::Duration:
      case TypeKind::Money: return {x.type, x.present, b_.CreateSub(b_.getInt64(0), x.v)};
      case TypeKind::Float: return {x.type, x.present, b_.CreateFNeg(x.v)};
      default: break;
    }
    throw Unsupported{"negation of " + sema::typeName(t), e->loc};
  }

  LV binary(const ast::Expr* e, Type t) {
    if (e->lhs == nullptr || e->rhs == nullptr) throw Unsupported{"an incomplete expression", e->loc};
    switch (e->op) {
      case ast::Op::And:
      case ast::Op::Or: return logical(e);
      case ast::Op::Add:
      case ast::Op::Sub:
      case ast::Op::Mul:
      case ast::Op::Div: return arithmetic(e->op, lower(e->lhs), lower(e->rhs), t, e->loc);
      default: break;
    }
    LV l = lower(e->lhs);
    LV r = lower(e->rhs);
    return {Type::of(TypeKind::Bool), nullptr, compare(e->op, l, r, e->loc)};
  }

  // `and` / `or` short-circuit: the right side may ask the history, which costs.
  LV logical(const ast::Expr* e) {
    bool isAnd = e->op == ast::Op::And;
    llvm::Value* l = truth(lower(e->lhs));
    llvm::BasicBlock* lhsEnd = b_.GetInsertBlock();
    auto* rhsBB = llvm::BasicBlock::Create(llctx_, isAnd ? "and.rhs" : "or.rhs", fn_.fn);
    auto* join = llvm::BasicBlock::Create(llctx_, isAnd ? "and.end" : "or.end", fn_.fn);
    if (isAnd)
      b_.CreateCondBr(l, rhsBB, join);
    else
      b_.CreateCondBr(l, join, rhsBB);
    b_.SetInsertPoint(rhsBB);
    llvm::Value* r = truth(lower(e->rhs));
    llvm::BasicBlock* rhsEnd = b_.GetInsertBlock();
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    auto* phi = b_.CreatePHI(i1_, 2);
    phi->addIncoming(b_.getInt1(!isAnd), lhsEnd);
    phi->addIncoming(r, rhsEnd);
    return {Type::of(TypeKind::Bool), nullptr, phi};
  }

  // ---- history ----

  std::pair<llvm::Value*, llvm::Value*> window(const ast::Expr* e) {
    llvm::Value* now = loadCtx(abi::kCtxNow, i64_);
    if (e->window) return {b_.CreateSub(now, b_.getInt64(e->window->ms)), now};
    // No window: since the rule fired (steps); INT64_MIN at rule level, i.e. all history.
    return {loadCtx(abi::kCtxFiredAt, i64_), now};
  }

  llvm::Value* filterPointer(const ast::Expr* e, uint32_t event) {
    const ast::EventRef* ref = e->event;
    if (ref == nullptr || (ref->filter == nullptr && ref->same.empty()))
      return llvm::ConstantPointerNull::get(ptr_);
    return filterFunction(ref, e, event);
  }

  LV eventTerm(const ast::Expr* e) {
    uint32_t event = refEvent(e->event, e);
    llvm::Value* filter = filterPointer(e, event);
    auto [from, to] = window(e);
    llvm::Value* found = call("trig_abi_exists", i8_, {ptr_, i32_, i64_, i64_, ptr_},
                              {fn_.ctx, b_.getInt32(event), from, to, filter});
    return {Type::of(TypeKind::Bool), nullptr, b_.CreateICmpNE(found, b_.getInt8(0))};
  }

  LV aggregate(const ast::Expr* e, Type t) {
    uint32_t event = refEvent(e->event, e);
    llvm::Value* filter = filterPointer(e, event);
    auto [from, to] = window(e);
    if (e->agg == ast::AggFn::Count) {
      llvm::Value* n = call("trig_abi_count", i64_, {ptr_, i32_, i64_, i64_, ptr_},
                            {fn_.ctx, b_.getInt32(event), from, to, filter});
      return {Type::of(TypeKind::Int), nullptr, n};
    }
    uint32_t slot = e->id < model_.exprField.size() ? model_.exprField[e->id] : sema::kNone;
    if (event >= model_.events.size() || slot >= model_.events[event].fields.size())
      throw Unsupported{"an aggregate over an unresolved field", e->loc};
    Type fieldType = model_.events[event].fields[slot].type;
    if (!fieldType.isNumeric() && !isIntLike(fieldType.kind))
      throw Unsupported{"an aggregate over a " + sema::typeName(fieldType) + " field", e->loc};
    if (!t.isNumeric() && !isIntLike(t.kind)) throw Unsupported{"an aggregate of type " + sema::typeName(t), e->loc};
    abi::AggOp op = e->agg == ast::AggFn::Sum   ? abi::AggOp::Sum
                    : e->agg == ast::AggFn::Min ? abi::AggOp::Min
                    : e->agg == ast::AggFn::Max ? abi::AggOp::Max
                                                : abi::AggOp::Avg;
    llvm::Value* out = scalarSlot();
    llvm::Value* present = call(
        "trig_abi_aggregate", i8_, {ptr_, i32_, i64_, i64_, ptr_, i32_, i32_, i32_, i32_, ptr_},
        {fn_.ctx, b_.getInt32(event), from, to, filter, b_.getInt32(slot), b_.getInt32(static_cast<uint32_t>(op)),
         b_.getInt32(static_cast<uint32_t>(valueKind(fieldType.kind))),
         b_.getInt32(static_cast<uint32_t>(valueKind(t.kind))), out});
    LV x{t, b_.CreateICmpNE(present, b_.getInt8(0))};
    x.v = t.kind == TypeKind::Float ? load(out, abi::kScalarFloat, f64_) : load(out, abi::kScalarInt, i64_);
    return x;
  }

  LV last(const ast::Expr* e, Type t) {
    uint32_t event = refEvent(e->event, e);
    uint32_t slot = e->id < model_.exprField.size() ? model_.exprField[e->id] : sema::kNone;
    if (event >= model_.events.size() || slot >= model_.events[event].fields.size())
      throw Unsupported{"`last` of an unresolved field", e->loc};
    llvm::Value* filter = filterPointer(e, event);
    llvm::Value* v = call("trig_abi_last", ptr_, {ptr_, i32_, i64_, ptr_, i32_, i32_},
                          {fn_.ctx, b_.getInt32(event), loadCtx(abi::kCtxNow, i64_), filter,
                           b_.getInt32(slot), b_.getInt32(scratch_++)});
    return readValue(v, t);
  }

  // ---- comparisons ----

  // The type two numeric operands are compared or combined in.
  static TypeKind commonNumeric(TypeKind a, TypeKind b) {
    if (a == b) return a;
    if ((a == TypeKind::Money && b == TypeKind::Int) || (a == TypeKind::Int && b == TypeKind::Money)) return TypeKind::Money;
    if ((a == TypeKind::Float && b == TypeKind::Int) || (a == TypeKind::Int && b == TypeKind::Float)) return TypeKind::Float;
    return TypeKind::Error;
  }

  LV convert(const LV& x, TypeKind to, Loc loc) {
    if (x.type.kind == to) return x;
    LV y = x;
    y.type = Type::of(to);
    if (x.type.kind == TypeKind::Int && to == TypeKind::Float) {
      y.v = b_.CreateSIToFP(x.v, f64_);
    } else if (x.type.kind == TypeKind::Int && to == TypeKind::Money) {
      y.v = b_.CreateMul(x.v, b_.getInt64(Decimal::kScale));
    } else if (x.type.kind == TypeKind::Money && to == TypeKind::Float) {
      y.v = b_.CreateFDiv(b_.CreateSIToFP(x.v, f64_), llvm::ConstantFP::get(f64_, static_cast<double>(Decimal::kScale)));
    } else {
      throw Unsupported{"a " + sema::typeName(x.type) + " used as " + sema::typeKindName(to), loc};
    }
    return y;
  }

  // The i1 result of `l op r`; false when either side is absent.
  llvm::Value* compare(ast::Op op, const LV& l, const LV& r, Loc loc) {
    if (op == ast::Op::In) {
      if (r.listLiteral != nullptr) {
        // An or-chain of equalities; the items are usually literals and fold.
        llvm::Value* any = b_.getFalse();
        for (const ast::Expr* item : r.listLiteral->items) any = b_.CreateOr(any, compare(ast::Op::Eq, l, lower(item), loc));
        return any;
      }
      return listHas(r, l, loc);
    }
    if (op == ast::Op::Contains && l.type.kind == TypeKind::List) return listHas(l, r, loc);
    llvm::Value* both = b_.CreateAnd(presentOf(l), presentOf(r));
    return b_.CreateAnd(both, compareValues(op, l, r, loc));
  }

  llvm::Value* listHas(const LV& list, const LV& x, Loc loc) {
    if (list.type.kind != TypeKind::List || list.listLiteral != nullptr)
      throw Unsupported{"membership in a " + sema::typeName(list.type), loc};
    if (x.type.kind == TypeKind::List) throw Unsupported{"a list inside a list", loc};
    llvm::Value* s = scalarSlot();
    storeScalar(s, x);
    llvm::Value* has = call("trig_abi_list_has", i8_, {ptr_, ptr_}, {list.v, s});
    return b_.CreateAnd(b_.CreateAnd(presentOf(list), presentOf(x)), b_.CreateICmpNE(has, b_.getInt8(0)));
  }

  llvm::Value* compareValues(ast::Op op, const LV& l, const LV& r, Loc loc) {
    TypeKind lk = l.type.kind, rk = r.type.kind;
    if (lk == TypeKind::String && rk == TypeKind::String) return compareStrings(op, l, r, loc);
    if (op == ast::Op::Contains || op == ast::Op::StartsWith)
      throw Unsupported{std::string("`") + ast::opSpelling(op) + "` on " + sema::typeName(l.type), loc};
    if (lk == TypeKind::List || rk == TypeKind::List) {
      if (lk != rk || l.listLiteral != nullptr || r.listLiteral != nullptr || (op != ast::Op::Eq && op != ast::Op::Ne))
        throw Unsupported{"this comparison of lists", loc};
      llvm::Value* eq = b_.CreateICmpNE(call("trig_abi_value_eq", i8_, {ptr_, ptr_}, {l.v, r.v}), b_.getInt8(0));
      return op == ast::Op::Eq ? eq : b_.CreateNot(eq);
    }
    if (lk == TypeKind::Bool && rk == TypeKind::Bool) {
      if (op == ast::Op::Eq) return b_.CreateICmpEQ(l.v, r.v);
      if (op == ast::Op::Ne) return b_.CreateICmpNE(l.v, r.v);
      throw Unsupported{"ordering of bools", loc};
    }
    TypeKind k = lk == rk ? lk : commonNumeric(lk, rk);
    if (k == TypeKind::Error || k == TypeKind::Bool || k == TypeKind::String)
      throw Unsupported{"comparison of " + sema::typeName(l.type) + " with " + sema::typeName(r.type), loc};
    LV a = convert(l, k, loc), c = convert(r, k, loc);
    if (k == TypeKind::Float) {
      switch (op) {
        case ast::Op::Eq: return b_.CreateFCmpOEQ(a.v, c.v);
        case ast::Op::Ne: return b_.CreateFCmpUNE(a.v, c.v);
        case ast::Op::Lt: return b_.CreateFCmpOLT(a.v, c.v);
        case ast::Op::Le: return b_.CreateFCmpOLE(a.v, c.v);
        case ast::Op::Gt: return b_.CreateFCmpOGT(a.v, c.v);
        case ast::Op::Ge: return b_.CreateFCmpOGE(a.v, c.v);
        default: break;
      }
    } else {
      switch (op) {
        case ast::Op::Eq: return b_.CreateICmpEQ(a.v, c.v);
        case ast::Op::Ne: return b_.CreateICmpNE(a.v, c.v);
        case ast::Op::Lt: return b_.CreateICmpSLT(a.v, c.v);
        case ast::Op::Le: return b_.CreateICmpSLE(a.v, c.v);
        case ast::Op::Gt: return b_.CreateICmpSGT(a.v, c.v);
        case ast::Op::Ge: return b_.CreateICmpSGE(a.v, c.v);
        default: break;
      }
    }
    throw Unsupported{std::string("`") + ast::opSpelling(op) + "` here", loc};
  }

  llvm::Value* compareStrings(ast::Op op, const LV& l, const LV& r, Loc loc) {
    std::vector<llvm::Type*> sig{ptr_, i64_, ptr_, i64_};
    std::vector<llvm::Value*> args{l.v, l.n, r.v, r.n};
    auto flag = [&](const char* helper) { return b_.CreateICmpNE(call(helper, i8_, sig, args), b_.getInt8(0)); };
    switch (op) {
      case ast::Op::Eq:
      case ast::Op::Ne: {
        // Lengths first, inline: most unequal strings never reach the byte comparison.
        llvm::Value* sameLen = b_.CreateICmpEQ(l.n, r.n);
        llvm::BasicBlock* before = b_.GetInsertBlock();
        auto* bytes = llvm::BasicBlock::Create(llctx_, "str.bytes", fn_.fn);
        auto* join = llvm::BasicBlock::Create(llctx_, "str.eq", fn_.fn);
        b_.CreateCondBr(sameLen, bytes, join);
        b_.SetInsertPoint(bytes);
        llvm::Value* eqBytes = flag("trig_abi_str_eq");
        llvm::BasicBlock* bytesEnd = b_.GetInsertBlock();
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
        auto* phi = b_.CreatePHI(i1_, 2);
        phi->addIncoming(b_.getFalse(), before);
        phi->addIncoming(eqBytes, bytesEnd);
        return op == ast::Op::Eq ? static_cast<llvm::Value*>(phi) : b_.CreateNot(phi);
      }
      case ast::Op::Contains: return flag("trig_abi_str_contains");
      case ast::Op::StartsWith: return flag("trig_abi_str_starts_with");
      default: break;
    }
    llvm::Value* c = call("trig_abi_str_cmp", i32_, sig, args);
    llvm::Value* zero = b_.getInt32(0);
    switch (op) {
      case ast::Op::Lt: return b_.CreateICmpSLT(c, zero);
      case ast::Op::Le: return b_.CreateICmpSLE(c, zero);
      case ast::Op::Gt: return b_.CreateICmpSGT(c, zero);
      case ast::Op::Ge: return b_.CreateICmpSGE(c, zero);
      default: break;
    }
    throw Unsupported{std::string("`") + ast::opSpelling(op) + "` on strings", loc};
  }

  // ---- arithmetic ----

  LV arithmetic(ast::Op op, const LV& l, const LV& r, Type t, Loc loc) {
    if (l.listLiteral != nullptr || r.listLiteral != nullptr) throw Unsupported{"arithmetic on lists", loc};
    LV x{t, b_.CreateAnd(presentOf(l), presentOf(r))};
    TypeKind lk = l.type.kind, rk = r.type.kind;
    switch (t.kind) {
      case TypeKind::Float: {
        LV a = convert(l, TypeKind::Float, loc), c = convert(r, TypeKind::Float, loc);
        switch (op) {
          case ast::Op::Add: x.v = b_.CreateFAdd(a.v, c.v); break;
          case ast::Op::Sub: x.v = b_.CreateFSub(a.v, c.v); break;
          case ast::Op::Mul: x.v = b_.CreateFMul(a.v, c.v); break;
          default:
            x.v = b_.CreateFDiv(a.v, c.v);
            x.present = b_.CreateAnd(x.present, b_.CreateFCmpUNE(c.v, llvm::ConstantFP::get(f64_, 0.0)));
            break;
        }
        return x;
      }
      case TypeKind::Money: {
        if (op == ast::Op::Add || op == ast::Op::Sub) {
          LV a = convert(l, TypeKind::Money, loc), c = convert(r, TypeKind::Money, loc);
          x.v = op == ast::Op::Add ? b_.CreateAdd(a.v, c.v) : b_.CreateSub(a.v, c.v);
          return x;
        }
        if (op == ast::Op::Mul && lk == TypeKind::Money && rk == TypeKind::Money)
          return moneyHelper("trig_abi_money_mul", x, l.v, r.v);
        if (op == ast::Op::Mul && (lk == TypeKind::Int || rk == TypeKind::Int)) {
          x.v = b_.CreateMul(l.v, r.v);
          return x;
        }
        if (op == ast::Op::Div && lk == TypeKind::Money && rk == TypeKind::Int) return intDivide(x, l.v, r.v);
        if (op == ast::Op::Div) {
          LV a = convert(l, TypeKind::Money, loc), c = convert(r, TypeKind::Money, loc);
          return moneyHelper("trig_abi_money_div", x, a.v, c.v);
        }
        break;
      }
      case TypeKind::Int:
      case TypeKind::Time:
      case TypeKind::Duration: {
        if (!isIntLike(lk) || !isIntLike(rk)) break;
        switch (op) {
          case ast::Op::Add: x.v = b_.CreateAdd(l.v, r.v); return x;
          case ast::Op::Sub: x.v = b_.CreateSub(l.v, r.v); return x;
          case ast::Op::Mul: x.v = b_.CreateMul(l.v, r.v); return x;
          default: return intDivide(x, l.v, r.v);
        }
      }
      default: break;
    }
    throw Unsupported{std::string("`") + ast::opSpelling(op) + "` of " + sema::typeName(l.type) + " and " +
                          sema::typeName(r.type),
                      loc};
  }

  // a / b truncating; absent when b is zero. INT64_MIN / -1 wraps instead of trapping.
  LV intDivide(LV x, llvm::Value* a, llvm::Value* c) {
    llvm::Value* zero = b_.CreateICmpEQ(c, b_.getInt64(0));
    llvm::Value* minusOne = b_.CreateICmpEQ(c, b_.getInt64(-1));
    llvm::Value* safe = b_.CreateSelect(b_.CreateOr(zero, minusOne), b_.getInt64(1), c);
    llvm::Value* q = b_.CreateSDiv(a, safe);
    x.v = b_.CreateSelect(minusOne, b_.CreateSub(b_.getInt64(0), a), q);
    x.present = b_.CreateAnd(x.present, b_.CreateNot(zero));
    return x;
  }

  LV moneyHelper(const char* helper, LV x, llvm::Value* a, llvm::Value* c) {
    llvm::Value* out = int64Slot();
    llvm::Value* ok = call(helper, i8_, {i64_, i64_, ptr_}, {a, c, out});
    x.v = b_.CreateLoad(i64_, out);
    x.present = b_.CreateAnd(x.present, b_.CreateICmpNE(ok, b_.getInt8(0)));
    return x;
  }

  // ---- values in memory ----

  llvm::Value* presentOf(const LV& x) { return x.present != nullptr ? x.present : b_.getTrue(); }

  // A condition's truth: a present true bool.
  llvm::Value* truth(const LV& x) {
    if (x.type.kind != TypeKind::Bool || x.v == nullptr) throw Unsupported{"a condition that is not a bool", Loc{}};
    return x.present != nullptr ? b_.CreateAnd(x.present, x.v) : x.v;
  }

  llvm::Value* load(llvm::Value* base, uint64_t offset, llvm::Type* t) {
    return b_.CreateLoad(t, b_.CreateConstGEP1_64(i8_, base, offset));
  }
  llvm::Value* loadCtx(uint64_t offset, llvm::Type* t) { return load(fn_.ctx, offset, t); }

  // &fields[slot], or the absent record when the slot is past the end.
  llvm::Value* fieldPtr(llvm::Value* base, llvm::Value* count, llvm::Value* slot) {
    llvm::Value* inRange = b_.CreateICmpULT(slot, count);
    llvm::Value* p = b_.CreateGEP(i8_, base, b_.CreateMul(slot, b_.getInt64(abi::kValueSize)));
    return b_.CreateSelect(inRange, p, absent_);
  }

  LV readValue(llvm::Value* vp, Type t) {
    LV x{t, b_.CreateICmpNE(load(vp, abi::kValueKindOffset, i8_), b_.getInt8(0))};
    switch (t.kind) {
      case TypeKind::Int:
      case TypeKind::Time:
      case TypeKind::Duration: x.v = load(vp, abi::kValueIntOffset, i64_); break;
      case TypeKind::Float: x.v = load(vp, abi::kValueFloatOffset, f64_); break;
      case TypeKind::Money: x.v = load(vp, abi::kValueMoneyOffset, i64_); break;
      case TypeKind::Bool: x.v = b_.CreateICmpNE(load(vp, abi::kValueBoolOffset, i8_), b_.getInt8(0)); break;
      case TypeKind::String: {
        llvm::Value* s = strSlot();
        call("trig_abi_str_view", b_.getVoidTy(), {ptr_, ptr_}, {vp, s});
        x.v = load(s, abi::kStrPtr, ptr_);
        x.n = load(s, abi::kStrLen, i64_);
        break;
      }
      case TypeKind::List: x.v = vp; break;
      case TypeKind::Error: throw Unsupported{"a value without a type", Loc{}};
    }
    return x;
  }

  void storeScalar(llvm::Value* out, const LV& x) {
    Value::Kind k = valueKind(x.type.kind);
    b_.CreateStore(b_.getInt8(static_cast<uint8_t>(k)), b_.CreateConstGEP1_64(i8_, out, abi::kScalarKind));
    auto at = [&](uint64_t off) { return b_.CreateConstGEP1_64(i8_, out, off); };
    switch (x.type.kind) {
      case TypeKind::Int:
      case TypeKind::Time:
      case TypeKind::Duration:
      case TypeKind::Money: b_.CreateStore(x.v, at(abi::kScalarInt)); break;
      case TypeKind::Float: b_.CreateStore(x.v, at(abi::kScalarFloat)); break;
      case TypeKind::Bool: b_.CreateStore(b_.CreateZExt(x.v, i8_), at(abi::kScalarBool)); break;
      case TypeKind::String:
        b_.CreateStore(x.v, at(abi::kScalarPtr));
        b_.CreateStore(x.n, at(abi::kScalarLen));
        break;
      case TypeKind::List:
      case TypeKind::Error: throw Unsupported{"a " + sema::typeName(x.type) + " as a scalar", Loc{}};
    }
  }

  // Stack slots live in the entry block so LLVM promotes or reuses them.
  llvm::Value* entryAlloca(uint64_t size, uint64_t align) {
    llvm::IRBuilder<> eb(fn_.entry, fn_.entry->begin());
    auto* a = eb.CreateAlloca(llvm::ArrayType::get(i8_, size));
    a->setAlignment(llvm::Align(align));
    return a;
  }
  llvm::Value* scalarSlot() { return entryAlloca(sizeof(abi::Scalar), alignof(abi::Scalar)); }
  llvm::Value* strSlot() { return entryAlloca(sizeof(abi::Str), alignof(abi::Str)); }
  llvm::Value* int64Slot() { return entryAlloca(8, 8); }

  llvm::Value* call(const char* helper, llvm::Type* ret, std::vector<llvm::Type*> params,
                    std::vector<llvm::Value*> args) {
    llvm::FunctionCallee f = m_->getOrInsertFunction(helper, llvm::FunctionType::get(ret, params, false));
    if (auto* decl = llvm::dyn_cast<llvm::Function>(f.getCallee())) decl->addFnAttr(llvm::Attribute::NoUnwind);
    return b_.CreateCall(f, args);
  }

  const ast::Program& program_;
  const sema::Model& model_;
  llvm::LLVMContext& llctx_;
  llvm::IRBuilder<> b_;
  LoweredRuleSet out_;
  llvm::Module* m_ = nullptr;
  llvm::Type *i1_, *i8_, *i32_, *i64_, *f64_;
  llvm::PointerType* ptr_;
  llvm::GlobalVariable* absent_ = nullptr;
  std::map<std::string, llvm::Constant*> strings_;
  FnState fn_;
  const sema::RuleInfo* rule_ = nullptr;
  std::string prefix_;
  uint32_t filters_ = 0;
  uint32_t scratch_ = 0;
};

}  // namespace

LoweredRuleSet lowerToLLVM(const ast::Program& program, const sema::Model& model, llvm::LLVMContext& context,
                           const std::string& moduleName) {
  return Lowerer(program, model, context, moduleName).run();
}

}  // namespace trig::lower
