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
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "compiler/core/aggregate.h"
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
  llvm::Value* present = nullptr;          // i1; null: always present
  llvm::Value* v = nullptr;                // payload (see the file comment)
  llvm::Value* n = nullptr;                // string length
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

class Lowerer {
 public:
  Lowerer(const ast::Program& program, const sema::Model& model, llvm::LLVMContext& context,
          const LowerOptions& options)
      : program_(program),
        model_(model),
        options_(options),
        llctx_(context),
        b_(context),
        perRule_(options.granularity == Granularity::PerRule) {
    out_.module = std::make_unique<llvm::Module>(options.moduleName, context);
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
    uint32_t end = std::min<uint32_t>(options_.endRule, static_cast<uint32_t>(model_.rules.size()));
    for (uint32_t i = options_.firstRule; i < end; ++i) lowerRule(model_.rules[i]);
    out_.scratchSlots = scratch_;
    return std::move(out_);
  }

 private:
  // ---- rules ----

  void lowerRule(const sema::RuleInfo& ri) {
    rule_ = &ri;
    ruleIndex_ = static_cast<uint32_t>(&ri - model_.rules.data());
    prefix_ = "trig.rule." + ri.name + ".";
    filters_ = 0;
    ruleFn_ = nullptr;
    ruleSwitch_ = nullptr;
    nextCase_ = 0;
    const ast::Rule* r = ri.rule;
    if (r != nullptr)
      for (const ast::EventRef* ref : r->anchor.events) standaloneFilter(ref);
    for (size_t i = 0; i < ri.conditions.size(); ++i)
      predicate(ri.conditions[i], prefix_ + "when." + std::to_string(i));
    for (size_t i = 0; i < ri.unless.size(); ++i)
      predicate(ri.unless[i], prefix_ + "unless." + std::to_string(i));
    if (ri.priorityExpr != nullptr) valueFunction(ri.priorityExpr, prefix_ + "priority");
    if (r != nullptr) {
      if (r->goal) standaloneFilter(r->goal->event);
      lowerSteps(r->steps, 0, prefix_);
    }
    finishRuleFunction();
  }

  // Per rule: the dispatch on `which` becomes a binary tree of compares and branches (the fast
  // instruction selector handles those, not `switch`); a rule without entries has no function.
  void finishRuleFunction() {
    if (ruleFn_ == nullptr) return;
    if (ruleSwitch_->getNumCases() == 0) {
      ruleFn_->eraseFromParent();
      ruleFn_ = nullptr;
      return;
    }
    std::vector<std::pair<uint32_t, llvm::BasicBlock*>> cases;
    for (auto& c : ruleSwitch_->cases())
      cases.emplace_back(static_cast<uint32_t>(c.getCaseValue()->getZExtValue()),
                         c.getCaseSuccessor());
    std::sort(cases.begin(), cases.end());
    llvm::BasicBlock* none = ruleSwitch_->getDefaultDest();
    llvm::Value* which = ruleFn_->getArg(1);
    llvm::BasicBlock* entry = ruleSwitch_->getParent();
    ruleSwitch_->eraseFromParent();
    ruleSwitch_ = nullptr;
    // Branches to the case `which` names among cases[lo, hi), from the end of `from`.
    std::function<void(llvm::BasicBlock*, size_t, size_t)> tree = [&](llvm::BasicBlock* from,
                                                                      size_t lo, size_t hi) {
      llvm::IRBuilder<> tb(from);
      if (hi - lo == 1) {
        tb.CreateCondBr(tb.CreateICmpEQ(which, tb.getInt32(cases[lo].first)), cases[lo].second,
                        none);
        return;
      }
      size_t mid = lo + (hi - lo) / 2;
      auto* left = llvm::BasicBlock::Create(llctx_, "which.lo", ruleFn_);
      auto* right = llvm::BasicBlock::Create(llctx_, "which.hi", ruleFn_);
      tb.CreateCondBr(tb.CreateICmpULT(which, tb.getInt32(cases[mid].first)), left, right);
      tree(left, lo, mid);
      tree(right, mid, hi);
    };
    tree(entry, 0, cases.size());
    ruleFn_ = nullptr;
  }

  // Steps are numbered by their position in the flow, as the runtime counts them (a split is a
  // step; its variants' steps continue the count), under the names of the split and variant
  // they belong to: trig.rule.R.step.2.unless.0, trig.rule.R.delay.fast.step.2.unless.0.
  void lowerSteps(const std::vector<ast::Step>& steps, uint32_t position, const std::string& path) {
    for (const ast::Step& s : steps) {
      std::string stepPrefix = path + "step." + std::to_string(++position) + ".";
      for (size_t i = 0; i < s.unless.size(); ++i)
        predicate(s.unless[i], stepPrefix + "unless." + std::to_string(i));
      for (const ast::Binding& bnd : s.bindings)
        if (bnd.value != nullptr) valueFunction(bnd.value, stepPrefix + "with." + bnd.name.text);
      for (const ast::Variant& v : s.variants)
        lowerSteps(v.steps, position, path + s.splitName.text + "." + v.name.text + ".");
    }
  }

  // ---- functions ----
  //
  // Every entry (condition, binding, filter) has the signature
  //   i8 (ptr ctx, i32 which, ptr subject, ptr out, ptr outValue)
  // Per condition, it is a function of its own and `which` is 0; per rule, it is case `which` of
  // the rule's one dispatch function.

  struct FnState {
    llvm::Function* fn = nullptr;
    llvm::Value* ctx = nullptr;
    llvm::Value* subject = nullptr;      // filters: the tested event's fields
    std::vector<uint32_t> subjectReads;  // filters: the slots of `subject` the code reads
    llvm::Value* out = nullptr;          // values: the scalar result
    llvm::Value* outValue = nullptr;     // values: a Value to copy (lists)
    llvm::BasicBlock* entry = nullptr;
    std::vector<llvm::BasicBlock*> owned;  // blocks of the entry being built (dropped on failure)
  };

  struct EntryRef {
    llvm::Function* fn = nullptr;
    uint32_t which = 0;
  };

  llvm::FunctionType* entryType() {
    return llvm::FunctionType::get(i8_, {ptr_, i32_, ptr_, ptr_, ptr_}, false);
  }

  llvm::Function* newFunction(const std::string& name) {
    auto* fn = llvm::Function::Create(entryType(), llvm::GlobalValue::ExternalLinkage, name, m_);
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    return fn;
  }

  llvm::BasicBlock* newBlock(const char* name) {
    auto* bb = llvm::BasicBlock::Create(llctx_, name, fn_.fn);
    fn_.owned.push_back(bb);
    return bb;
  }

  // The rule's dispatch function (per-rule granularity), created with its first entry.
  llvm::Function* ruleFunction() {
    if (ruleFn_ != nullptr) return ruleFn_;
    ruleFn_ = newFunction(prefix_.substr(0, prefix_.size() - 1));
    auto* entry = llvm::BasicBlock::Create(llctx_, "entry", ruleFn_);
    auto* none = llvm::BasicBlock::Create(llctx_, "none", ruleFn_);
    llvm::IRBuilder<> eb(entry);
    ruleSwitch_ = eb.CreateSwitch(ruleFn_->getArg(1), none);
    eb.SetInsertPoint(none);
    eb.CreateRet(eb.getInt8(0));
    return ruleFn_;
  }

  // Builds one entry: `body` emits its code at the builder, ending in `ret`. On Unsupported the
  // entry is removed again and the exception passes on.
  EntryRef emitEntry(const std::string& name, const std::function<void()>& body) {
    FnState saved = std::move(fn_);
    auto savedIP = b_.saveIP();
    EntryRef ref;
    fn_ = FnState{};
    if (perRule_) {
      ref = {ruleFunction(), nextCase_++};
      fn_.fn = ref.fn;
      fn_.entry = &ref.fn->getEntryBlock();
    } else {
      ref = {newFunction(name), 0};
      fn_.fn = ref.fn;
      fn_.entry = llvm::BasicBlock::Create(llctx_, "entry", ref.fn);
    }
    fn_.ctx = ref.fn->getArg(0);
    fn_.subject = ref.fn->getArg(2);
    fn_.out = ref.fn->getArg(3);
    fn_.outValue = ref.fn->getArg(4);
    if (perRule_) {
      auto* start = newBlock("case");
      ruleSwitch_->addCase(b_.getInt32(ref.which), start);
      b_.SetInsertPoint(start);
    } else {
      b_.SetInsertPoint(fn_.entry);
    }
    try {
      body();
    } catch (...) {
      if (perRule_) {
        ruleSwitch_->removeCase(ruleSwitch_->findCaseValue(b_.getInt32(ref.which)));
        for (llvm::BasicBlock* bb : fn_.owned) bb->dropAllReferences();
        for (llvm::BasicBlock* bb : fn_.owned) bb->eraseFromParent();
      } else {
        ref.fn->eraseFromParent();
      }
      fn_ = std::move(saved);
      b_.restoreIP(savedIP);
      throw;
    }
    fn_ = std::move(saved);
    b_.restoreIP(savedIP);
    return ref;
  }

  std::string symbolOf(const EntryRef& r) const { return r.fn->getName().str(); }

  void predicate(const ast::Expr* e, const std::string& name) {
    if (e == nullptr) return;
    EntryRef ref;
    try {
      ref = emitEntry(name, [&] { b_.CreateRet(b_.CreateZExt(truth(lower(e)), i8_)); });
    } catch (const Unsupported& u) {
      out_.fallbacks.push_back({e->id, name, u.reason, u.loc});
      return;
    }
    out_.entries.push_back({e->id, name, symbolOf(ref), ref.which, EntryKind::Predicate,
                            Type::of(TypeKind::Bool), ruleIndex_});
  }

  void valueFunction(const ast::Expr* e, const std::string& name) {
    Type kind;
    EntryRef ref;
    try {
      ref = emitEntry(name, [&] {
        LV x = lower(e);
        kind = x.type;
        if (x.type.kind == TypeKind::List) {
          if (x.listLiteral != nullptr) throw Unsupported{"a list literal as a value", e->loc};
          store(x.v, fn_.outValue);
        } else {
          storeScalar(fn_.out, x);
        }
        b_.CreateRet(b_.CreateZExt(presentOf(x), i8_));
      });
    } catch (const Unsupported& u) {
      out_.fallbacks.push_back({e->id, name, u.reason, u.loc});
      return;
    }
    out_.entries.push_back(
        {e->id, name, symbolOf(ref), ref.which, EntryKind::Value, kind, ruleIndex_});
  }

  // An anchor's or goal's `E(filter)`: tested by the runtime against an incoming event.
  void standaloneFilter(const ast::EventRef* ref) {
    if (ref == nullptr || ref->filter == nullptr) return;
    std::string name = prefix_ + "filter." + std::to_string(filters_);
    try {
      filterFunction(ref, nullptr, refEvent(ref, nullptr));
    } catch (const Unsupported& u) {
      // filterFunction lists its own failures; an unresolved event is listed here.
      if (out_.fallbacks.empty() || out_.fallbacks.back().exprId != ref->filter->id)
        out_.fallbacks.push_back({ref->filter->id, name, u.reason, u.loc});
    }
  }

  // Builds the filter entry of `ref`. Inside an event term, aggregate or `last` (`owner`) it
  // tests the `same` list and then the filter, as the interpreter's match does; an anchor's or
  // goal's filter (owner null) is the filter expression alone, which is what the runtime asks.
  // `reads`, when given, receives the slots of the subject the code reads.
  EntryRef filterFunction(const ast::EventRef* ref, const ast::Expr* owner, uint32_t event,
                          std::vector<uint32_t>* reads = nullptr) {
    std::string name = prefix_ + "filter." + std::to_string(filters_++);
    const sema::EventInfo* info = event < model_.events.size() ? &model_.events[event] : nullptr;
    EntryRef entry;
    try {
      entry = emitEntry(name, [&] {
        const std::vector<sema::SameInfo>* same = owner != nullptr ? sameList(ref, owner) : nullptr;
        llvm::BasicBlock* rejectBB = nullptr;
        if (same != nullptr) {
          if (info == nullptr) throw Unsupported{"`same` on an unresolved event", ref->loc};
          rejectBB = newBlock("reject");
          for (const sema::SameInfo& s : *same) {
            Type t = s.eventField < info->fields.size() ? info->fields[s.eventField].type : Type{};
            if (t.isError()) throw Unsupported{"`same` on an unresolved field", ref->loc};
            fn_.subjectReads.push_back(s.eventField);
            LV mine = readValue(fieldAt(fn_.subject, s.eventField), t);
            LV theirs =
                anchorFieldByName(s.anchorField, anchorFieldType(s.anchorField, t), ref->loc);
            auto* next = newBlock("same.ok");
            b_.CreateCondBr(compare(ast::Op::Eq, mine, theirs, ref->loc), next, rejectBB);
            b_.SetInsertPoint(next);
          }
        }
        llvm::Value* ok = ref->filter != nullptr ? truth(lower(ref->filter)) : b_.getTrue();
        b_.CreateRet(b_.CreateZExt(ok, i8_));
        if (rejectBB != nullptr) {
          b_.SetInsertPoint(rejectBB);
          b_.CreateRet(b_.getInt8(0));
        }
        if (reads != nullptr) *reads = fn_.subjectReads;
      });
    } catch (const Unsupported& u) {
      if (ref->filter != nullptr)
        out_.fallbacks.push_back({ref->filter->id, name, u.reason, u.loc});
      throw;
    }
    if (ref->filter != nullptr && owner == nullptr)
      out_.entries.push_back({ref->filter->id, name, symbolOf(entry), entry.which,
                              EntryKind::Filter, Type::of(TypeKind::Bool), ruleIndex_, event});
    return entry;
  }

  // The declared type of the anchor's field `name` (the first alternative that has it).
  Type anchorFieldType(const std::string& name, Type otherwise) const {
    if (rule_ != nullptr)
      for (uint32_t ev : rule_->anchorEvents)
        if (ev < model_.events.size())
          if (uint32_t s = model_.events[ev].fieldIndex(name); s != sema::kNone)
            return model_.events[ev].fields[s].type;
    return otherwise;
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
    if (owner != nullptr && owner->id < model_.exprEvent.size() &&
        model_.exprEvent[owner->id] != sema::kNone)
      return model_.exprEvent[owner->id];
    auto it = model_.eventRefEvent.find(ref);
    if (it != model_.eventRefEvent.end()) return it->second;
    if (ref != nullptr)
      if (const sema::EventInfo* ev = model_.findEvent(ref->name.text)) return ev->index;
    throw Unsupported{"an event reference without its resolution",
                      ref != nullptr ? ref->loc : Loc{}};
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
      case ast::ExprKind::BoolLit:
        return {Type::of(TypeKind::Bool), nullptr, b_.getInt1(e->boolValue)};
      case ast::ExprKind::DurationLit:
        return {Type::of(TypeKind::Duration), nullptr, b_.getInt64(e->intValue)};
      case ast::ExprKind::TimeLit:
        return {Type::of(TypeKind::Time), nullptr, b_.getInt64(e->intValue)};
      case ast::ExprKind::List: {
        LV x;
        x.type = t.kind == TypeKind::List ? t : Type::listOf(TypeKind::Error);
        x.listLiteral = e;
        return x;
      }
      case ast::ExprKind::Name:
      case ast::ExprKind::Trait: return name(e, t);
      case ast::ExprKind::Unary: return unary(e);
      case ast::ExprKind::Binary: return binary(e, t);
      case ast::ExprKind::EventTerm: return eventTerm(e);
      case ast::ExprKind::Aggregate: return aggregate(e, t);
      case ast::ExprKind::Last: return last(e, t);
      case ast::ExprKind::Call: {
        if (e->callee.text != "exists" || e->items.size() != 1)
          throw Unsupported{"call of '" + e->callee.text + "'", e->loc};
        LV x = lower(e->items[0]);
        return {Type::of(TypeKind::Bool), nullptr,
                x.listLiteral != nullptr ? b_.getTrue() : presentOf(x)};
      }
      // The engine schedules `idle`; by the time a condition is evaluated the period has passed.
      case ast::ExprKind::Idle: return {Type::of(TypeKind::Bool), nullptr, b_.getTrue()};
      case ast::ExprKind::Error: break;
    }
    throw Unsupported{"an expression that did not check", e->loc};
  }

  // Literals take the type sema gave them, as the interpreter converts them: an int becomes
  // money or float, a decimal is money unless it is a float, a percentage is a fraction.
  LV numberLiteral(const ast::Expr* e, Type t) {
    if (e->kind == ast::ExprKind::IntLit) {
      if (t.kind == TypeKind::Float)
        return {Type::of(TypeKind::Float), nullptr,
                llvm::ConstantFP::get(f64_, static_cast<double>(e->intValue))};
      if (t.kind == TypeKind::Money) {
        int64_t units = 0;
        if (__builtin_mul_overflow(e->intValue, Decimal::kScale, &units))
          return absentOf(TypeKind::Money);
        return {Type::of(TypeKind::Money), nullptr, b_.getInt64(units)};
      }
      return {Type::of(TypeKind::Int), nullptr, b_.getInt64(e->intValue)};
    }
    bool percent = e->kind == ast::ExprKind::PercentLit;
    if (t.kind == TypeKind::Float) {
      double d = e->decimalValue.toDouble();
      if (percent) d /= 100;
      return {Type::of(TypeKind::Float), nullptr, llvm::ConstantFP::get(f64_, d)};
    }
    int64_t units = percent ? e->decimalValue.units / 100 : e->decimalValue.units;
    return {Type::of(TypeKind::Money), nullptr, b_.getInt64(units)};
  }

  LV absentOf(TypeKind k) {
    LV x{Type::of(k), b_.getFalse()};
    switch (k) {
      case TypeKind::Float: x.v = llvm::ConstantFP::get(f64_, 0.0); break;
      case TypeKind::Bool: x.v = b_.getFalse(); break;
      case TypeKind::String:
        x.v = llvm::ConstantPointerNull::get(ptr_);
        x.n = b_.getInt64(0);
        break;
      case TypeKind::List: x.v = absent_; break;
      default: x.v = b_.getInt64(0); break;
    }
    return x;
  }

  LV stringLiteral(const std::string& s) {
    auto it = strings_.find(s);
    llvm::Constant* g;
    if (it != strings_.end()) {
      g = it->second;
    } else {
      auto* init = llvm::ConstantDataArray::getString(llctx_, s, false);
      auto* gv = new llvm::GlobalVariable(*m_, init->getType(), true,
                                          llvm::GlobalValue::PrivateLinkage, init, "trig.str");
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
          return readValue(fieldAt(loadCtx(abi::kCtxAnchor, ptr_), ref->field), t);
        return anchorFieldByName(ref->name, t, e->loc);
      case sema::RefKind::EventField:
        if (fn_.subject == nullptr) throw Unsupported{"an event field outside its filter", e->loc};
        if (ref->field == sema::kNone) return absentOf(t.kind);
        fn_.subjectReads.push_back(ref->field);
        return readValue(fieldAt(fn_.subject, ref->field), t);
      case sema::RefKind::Trait:
        if (ref->field == sema::kNone) return absentOf(t.kind);
        return readValue(fieldAt(loadCtx(abi::kCtxTraits, ptr_), ref->field), t);
      case sema::RefKind::BareEvent: {
        // `unless purchased` in a step: some such event since the rule fired.
        if (ref->event == sema::kNone) return {Type::of(TypeKind::Bool), nullptr, b_.getFalse()};
        llvm::Value* none = llvm::ConstantPointerNull::get(ptr_);
        llvm::Value* found =
            call("trig_abi_exists", i8_, {ptr_, i32_, i64_, i64_, ptr_, i32_, ptr_, i32_},
                 {fn_.ctx, b_.getInt32(ref->event), loadCtx(abi::kCtxFiredAt, i64_),
                  loadCtx(abi::kCtxNow, i64_), none, b_.getInt32(0), none, b_.getInt32(1)});
        return {Type::of(TypeKind::Bool), nullptr, b_.CreateICmpNE(found, b_.getInt8(0))};
      }
      case sema::RefKind::Binding:
        throw Unsupported{"a `with` binding (known only when sending)", e->loc};
      case sema::RefKind::None: break;
    }
    throw Unsupported{"an unresolved name", e->loc};
  }

  // The anchor's field `name` looked up by name: its slot depends on which of the anchor's
  // alternatives `(A or B)` armed the rule. (The evaluator only calls compiled code for anchors
  // of the rule's own event types.)
  LV anchorFieldByName(const std::string& field, Type t, Loc loc) {
    if (rule_ == nullptr || rule_->anchorEvents.empty())
      throw Unsupported{"an anchor field without an anchor", loc};
    bool missing = false;
    llvm::Value* p = anchorFieldAddress(field, &missing);
    return missing ? absentOf(t.kind) : readValue(p, t);
  }

  // The address of the anchor's field `name` (see anchorFieldByName; the rule has an anchor):
  // the absent record where the armed alternative lacks it; `*missing` when every one does.
  llvm::Value* anchorFieldAddress(const std::string& field, bool* missing) {
    std::vector<std::pair<uint32_t, uint32_t>>
        slots;  // (event, slot), kNone where the event lacks it
    bool uniform = true;
    for (uint32_t ev : rule_->anchorEvents) {
      uint32_t s = ev < model_.events.size() ? model_.events[ev].fieldIndex(field) : sema::kNone;
      if (!slots.empty() && s != slots.front().second) uniform = false;
      slots.emplace_back(ev, s);
    }
    llvm::Value* anchor = loadCtx(abi::kCtxAnchor, ptr_);
    if (uniform) {
      *missing = slots.front().second == sema::kNone;
      return *missing ? static_cast<llvm::Value*>(absent_) : fieldAt(anchor, slots.front().second);
    }
    // One branch per alternative, joined by a phi of the field's address.
    llvm::Value* type = loadCtx(abi::kCtxAnchorType, i32_);
    auto* join = newBlock("anchor.field");
    std::vector<std::pair<llvm::Value*, llvm::BasicBlock*>> incoming;
    for (auto [ev, slot] : slots) {
      llvm::Value* p =
          slot == sema::kNone ? static_cast<llvm::Value*>(absent_) : fieldAt(anchor, slot);
      auto* next = newBlock("anchor.next");
      incoming.emplace_back(p, b_.GetInsertBlock());
      b_.CreateCondBr(b_.CreateICmpEQ(type, b_.getInt32(ev)), join, next);
      b_.SetInsertPoint(next);
    }
    incoming.emplace_back(absent_, b_.GetInsertBlock());
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    auto* phi = b_.CreatePHI(ptr_, static_cast<unsigned>(incoming.size()));
    for (auto [p, bb] : incoming) phi->addIncoming(p, bb);
    *missing = false;
    return phi;
  }

  LV unary(const ast::Expr* e) {
    if (e->lhs == nullptr) throw Unsupported{"an incomplete expression", e->loc};
    if (e->op == ast::Op::Not)
      return {Type::of(TypeKind::Bool), nullptr, b_.CreateNot(truth(lower(e->lhs)))};
    LV x = lower(e->lhs);
    switch (x.type.kind) {
      case TypeKind::Int:
      case TypeKind::Duration:
      case TypeKind::Money: {
        // -INT64_MIN does not exist: absent, like any overflow.
        LV y{x.type, conj(presentOf(x), b_.CreateICmpNE(x.v, b_.getInt64(INT64_MIN))),
             b_.CreateSub(b_.getInt64(0), x.v)};
        return y;
      }
      case TypeKind::Float: return {x.type, x.present, b_.CreateFNeg(x.v)};
      default: break;
    }
    return absentOf(x.type.kind == TypeKind::List ? TypeKind::Int : x.type.kind);
  }

  LV binary(const ast::Expr* e, Type t) {
    if (e->lhs == nullptr || e->rhs == nullptr)
      throw Unsupported{"an incomplete expression", e->loc};
    switch (core::opClass(e->op)) {
      case core::OpClass::Logical: return logical(e);
      case core::OpClass::Arithmetic: {
        LV l = lower(e->lhs);
        LV r = lower(e->rhs);
        return arithmetic(e->op, l, r, t.kind);
      }
      case core::OpClass::Comparison: {
        LV l = lower(e->lhs);
        LV r = lower(e->rhs);
        return {Type::of(TypeKind::Bool), nullptr, compare(e->op, l, r, e->loc)};
      }
      case core::OpClass::Unary: break;
    }
    throw Unsupported{"a unary operator in a binary expression", e->loc};
  }

  // `and` / `or` short-circuit: the right side may ask the history, which costs.
  LV logical(const ast::Expr* e) {
    bool isAnd = e->op == ast::Op::And;
    llvm::Value* l = truth(lower(e->lhs));
    llvm::BasicBlock* lhsEnd = b_.GetInsertBlock();
    auto* rhsBB = newBlock(isAnd ? "and.rhs" : "or.rhs");
    auto* join = newBlock(isAnd ? "and.end" : "or.end");
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

  struct Range {
    llvm::Value* from;
    llvm::Value* to;
    llvm::Value* sinceFiring;  // i32: skip the events stamped at the firing that preceded it
  };

  Range window(const ast::Expr* e) {
    llvm::Value* now = loadCtx(abi::kCtxNow, i64_);
    if (e->window) return {b_.CreateSub(now, b_.getInt64(e->window->ms)), now, b_.getInt32(0)};
    // No window: since the rule fired (steps); INT64_MIN at rule level, i.e. all history.
    llvm::Value* firedAt = loadCtx(abi::kCtxFiredAt, i64_);
    llvm::Value* since = b_.CreateZExt(b_.CreateICmpNE(firedAt, b_.getInt64(INT64_MIN)), i32_);
    return {firedAt, now, since};
  }

  // The filter of an event term, aggregate or `last` as the history helpers take it: the
  // function and case they call back, and the subject fields it reads (a constant array
  // {n, slot...}: the history builds only those per remembered event). Null function and
  // reads when every event of the type matches.
  struct FilterArgs {
    llvm::Value* fn;
    llvm::Value* which;
    llvm::Value* reads;
  };
  FilterArgs filterPointer(const ast::Expr* e, uint32_t event) {
    const ast::EventRef* ref = e->event;
    llvm::Value* null = llvm::ConstantPointerNull::get(ptr_);
    FilterArgs none{null, b_.getInt32(0), null};
    if (ref == nullptr) return none;
    const std::vector<sema::SameInfo>* same = sameList(ref, e);
    if (ref->filter == nullptr && (same == nullptr || same->empty())) return none;
    std::vector<uint32_t> reads;
    EntryRef f = filterFunction(ref, e, event, &reads);
    std::sort(reads.begin(), reads.end());
    reads.erase(std::unique(reads.begin(), reads.end()), reads.end());
    reads.insert(reads.begin(), static_cast<uint32_t>(reads.size()));
    auto* init = llvm::ConstantDataArray::get(llctx_, reads);
    auto* table = new llvm::GlobalVariable(*m_, init->getType(), true,
                                           llvm::GlobalValue::PrivateLinkage, init, "filter.reads");
    table->setAlignment(llvm::Align(alignof(uint32_t)));
    return {f.fn, b_.getInt32(f.which), table};
  }

  // `E(same f)` with `same f` as its whole filter, in an event term (`limit` 1) or a count: how
  // many events the history finds with field f equal to the anchor's (trig_abi_count_equal),
  // which compares its stored values instead of calling a filter on a row per event. Null for
  // any other shape (a filter, several `same`, an unresolved field: the filter function handles
  // and reports those).
  llvm::Value* sameOnlyCount(const ast::Expr* e, uint32_t event, int64_t limit) {
    const ast::EventRef* ref = e->event;
    if (!comparesSameInHistory(*e, model_) || rule_ == nullptr || rule_->anchorEvents.empty() ||
        event >= model_.events.size())
      return nullptr;
    const sema::SameInfo& same = sameList(ref, e)->front();
    const sema::EventInfo& info = model_.events[event];
    if (same.eventField >= info.fields.size() || info.fields[same.eventField].type.isError())
      return nullptr;
    bool missing = false;
    llvm::Value* theirs = anchorFieldAddress(same.anchorField, &missing);
    Range w = window(e);
    return call("trig_abi_count_equal", i64_, {ptr_, i32_, i64_, i64_, i32_, i32_, ptr_, i64_},
                {fn_.ctx, b_.getInt32(event), w.from, w.to, w.sinceFiring,
                 b_.getInt32(same.eventField), theirs, b_.getInt64(limit)});
  }

  LV eventTerm(const ast::Expr* e) {
    uint32_t event = refEvent(e->event, e);
    if (llvm::Value* n = sameOnlyCount(e, event, 1))
      return {Type::of(TypeKind::Bool), nullptr, b_.CreateICmpNE(n, b_.getInt64(0))};
    FilterArgs filter = filterPointer(e, event);
    Range w = window(e);
    llvm::Value* found =
        call("trig_abi_exists", i8_, {ptr_, i32_, i64_, i64_, ptr_, i32_, ptr_, i32_},
             {fn_.ctx, b_.getInt32(event), w.from, w.to, filter.fn, filter.which, filter.reads,
              w.sinceFiring});
    return {Type::of(TypeKind::Bool), nullptr, b_.CreateICmpNE(found, b_.getInt8(0))};
  }

  uint32_t fieldSlot(const ast::Expr* e, uint32_t event) const {
    if (e->id < model_.exprField.size() && model_.exprField[e->id] != sema::kNone)
      return model_.exprField[e->id];
    if (event < model_.events.size()) return model_.events[event].fieldIndex(e->field.text);
    return sema::kNone;
  }

  LV aggregate(const ast::Expr* e, Type t) {
    uint32_t event = refEvent(e->event, e);
    if (e->agg == ast::AggFn::Count)
      if (llvm::Value* n = sameOnlyCount(e, event, INT64_MAX))
        return {Type::of(TypeKind::Int), nullptr, n};
    FilterArgs filter = filterPointer(e, event);
    Range w = window(e);
    if (e->agg == ast::AggFn::Count) {
      llvm::Value* n =
          call("trig_abi_count", i64_, {ptr_, i32_, i64_, i64_, ptr_, i32_, ptr_, i32_},
               {fn_.ctx, b_.getInt32(event), w.from, w.to, filter.fn, filter.which, filter.reads,
                w.sinceFiring});
      return {Type::of(TypeKind::Int), nullptr, n};
    }
    uint32_t slot = fieldSlot(e, event);
    if (event >= model_.events.size() || slot >= model_.events[event].fields.size())
      throw Unsupported{"an aggregate over an unresolved field", e->loc};
    TypeKind field = model_.events[event].fields[slot].type.kind;
    if (!Type::of(field).isNumeric())
      throw Unsupported{"an aggregate over a " + sema::typeKindName(field) + " field", e->loc};
    llvm::Value* out = scalarSlot();
    llvm::Value* present =
        call("trig_abi_aggregate", i8_,
             {ptr_, i32_, i64_, i64_, ptr_, i32_, ptr_, i32_, i32_, i32_, i32_, ptr_},
             {fn_.ctx, b_.getInt32(event), w.from, w.to, filter.fn, filter.which, filter.reads,
              w.sinceFiring, b_.getInt32(slot), b_.getInt32(static_cast<uint32_t>(e->agg)),
              b_.getInt32(static_cast<uint32_t>(t.kind)), out});
    TypeKind k = core::aggregateResultKind(e->agg, field, t.kind);
    LV x{Type::of(k), b_.CreateICmpNE(present, b_.getInt8(0))};
    x.v = k == TypeKind::Float ? load(out, abi::kScalarFloat, f64_)
                               : load(out, abi::kScalarInt, i64_);
    return x;
  }

  LV last(const ast::Expr* e, Type t) {
    uint32_t event = refEvent(e->event, e);
    uint32_t slot = fieldSlot(e, event);
    if (event >= model_.events.size() || slot >= model_.events[event].fields.size())
      throw Unsupported{"`last` of an unresolved field", e->loc};
    FilterArgs filter = filterPointer(e, event);
    llvm::Value* v = call("trig_abi_last", ptr_, {ptr_, i32_, i64_, ptr_, i32_, ptr_, i32_, i32_},
                          {fn_.ctx, b_.getInt32(event), loadCtx(abi::kCtxNow, i64_), filter.fn,
                           filter.which, filter.reads, b_.getInt32(slot), b_.getInt32(scratch_++)});
    Type ft = model_.events[event].fields[slot].type;
    return readValue(v, ft.isError() ? t : ft);
  }

  // ---- comparisons (compiler/core/ops.cpp is the reference) ----

  static bool numeric(TypeKind k) {
    return k == TypeKind::Int || k == TypeKind::Float || k == TypeKind::Money;
  }

  // A numeric value as the interpreter's asDouble sees it.
  llvm::Value* asDouble(const LV& x) {
    switch (x.type.kind) {
      case TypeKind::Float: return x.v;
      case TypeKind::Int: return b_.CreateSIToFP(x.v, f64_);
      case TypeKind::Money:
        return b_.CreateFDiv(b_.CreateSIToFP(x.v, f64_),
                             llvm::ConstantFP::get(f64_, static_cast<double>(Decimal::kScale)));
      default: break;
    }
    return llvm::ConstantFP::get(f64_, 0.0);
  }

  // An int as money: i * 10^6 and whether that overflowed (money values never reach such a
  // magnitude, which is what exact comparisons and sums need to know).
  std::pair<llvm::Value*, llvm::Value*> scaleToMoney(llvm::Value* i) {
    llvm::Value* r = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smul_with_overflow, i,
                                              b_.getInt64(Decimal::kScale));
    return {b_.CreateExtractValue(r, 0), b_.CreateExtractValue(r, 1)};
  }

  // Compares an int or money with an int or money exactly, as the interpreter does in 128 bits:
  // an int whose millionths overflow 64 bits is beyond any money value, on the side of its sign,
  // so it then compares as its sign (+1 or -1) against a zero on the money side.
  llvm::Value* compareExact(ast::Op op, const LV& l, const LV& r) {
    bool intLeft = l.type.kind == TypeKind::Int;
    if (l.type.kind == r.type.kind) return intCompare(op, l.v, r.v, true);
    const LV& i = intLeft ? l : r;
    const LV& m = intLeft ? r : l;
    if (auto* k = llvm::dyn_cast<llvm::ConstantInt>(i.v)) {
      // A literal: scale it now.
      int64_t scaled = 0;
      bool over = __builtin_mul_overflow(k->getSExtValue(), Decimal::kScale, &scaled);
      llvm::Value* iSide = b_.getInt64(over ? (k->getSExtValue() > 0 ? 1 : -1) : scaled);
      llvm::Value* mSide = over ? b_.getInt64(0) : m.v;
      return intLeft ? intCompare(op, iSide, mSide, true) : intCompare(op, mSide, iSide, true);
    }
    auto [scaledInt, ov] = scaleToMoney(i.v);
    llvm::Value* sign =
        b_.CreateSelect(b_.CreateICmpSGT(i.v, b_.getInt64(0)), b_.getInt64(1), b_.getInt64(-1));
    llvm::Value* iSide = b_.CreateSelect(ov, sign, scaledInt);
    llvm::Value* mSide = b_.CreateSelect(ov, b_.getInt64(0), m.v);
    return intLeft ? intCompare(op, iSide, mSide, true) : intCompare(op, mSide, iSide, true);
  }

  // The i1 result of `l op r`; false when either side is absent or the kinds do not compare.
  llvm::Value* compare(ast::Op op, const LV& l, const LV& r, Loc loc) {
    if (op == ast::Op::In) {
      if (r.listLiteral != nullptr) return memberOfLiteral(l, r.listLiteral->items, loc);
      if (r.type.kind != TypeKind::List) return b_.getFalse();
      return listOp(op, r, l, loc);
    }
    if (op == ast::Op::Contains && l.type.kind == TypeKind::List) {
      if (l.listLiteral != nullptr) return memberOfLiteral(r, l.listLiteral->items, loc);
      return listOp(op, l, r, loc);
    }
    if (l.listLiteral != nullptr || r.listLiteral != nullptr)
      throw Unsupported{"a comparison with a list literal", loc};
    return conj(conj(presentOf(l), presentOf(r)), compareValues(op, l, r));
  }

  // A list literal with this many items or more is looked up in sorted tables of its constant
  // items, by a helper doing a binary search: an or-chain of compares, one per item, took LLVM
  // time quadratic in its length (1,000 strings 9 s, 5,000 strings 5 to 10 minutes).
  static constexpr size_t kTableMinItems = 16;

  // The constant items of a list literal as `x` meets them (core::compareValues == 0 is the
  // reference): `exact` in x's own unit (an int, millionths of money, a time, a bool as 0 or 1),
  // `inexact` as doubles (x or the item is a float), `strings` byte-wise. An item that can never
  // equal x (another kind, absent, NaN, an int past money's range) is in none of them.
  struct ConstantItems {
    std::vector<int64_t> exact;
    std::vector<double> inexact;
    std::vector<std::string> strings;
  };

  // Files the constant `item` (lowered from `e`) under `into`; false when it is not a constant.
  static bool addConstantItem(TypeKind xk, const ast::Expr* e, const LV& item,
                              ConstantItems& into) {
    if (item.listLiteral != nullptr) return false;
    if (item.present != nullptr) {
      auto* k = llvm::dyn_cast<llvm::ConstantInt>(item.present);
      if (k == nullptr) return false;
      if (k->isZero()) return true;  // absent: equal to nothing
    }
    TypeKind ik = item.type.kind;
    if (ik == TypeKind::String) {
      if (e->kind != ast::ExprKind::StringLit) return false;
      if (xk == TypeKind::String) into.strings.push_back(e->text);
      return true;
    }
    auto* ki = llvm::dyn_cast<llvm::ConstantInt>(item.v);
    auto* kf = llvm::dyn_cast<llvm::ConstantFP>(item.v);
    if (ki == nullptr && kf == nullptr) return false;
    if (numeric(xk) && numeric(ik)) {
      if (xk == TypeKind::Float || ik == TypeKind::Float) {
        double d = ik == TypeKind::Float   ? kf->getValueAPF().convertToDouble()
                   : ik == TypeKind::Money ? Decimal{ki->getSExtValue()}.toDouble()
                                           : static_cast<double>(ki->getSExtValue());
        if (!std::isnan(d)) into.inexact.push_back(d);
        return true;
      }
      int64_t v = ki->getSExtValue();
      if (xk == ik) {
        into.exact.push_back(v);
      } else if (xk == TypeKind::Int) {  // money against an int: equal only when whole
        if (v % Decimal::kScale == 0) into.exact.push_back(v / Decimal::kScale);
      } else {  // an int against money: in millionths, unless that is past money's range
        int64_t units = 0;
        if (!__builtin_mul_overflow(v, Decimal::kScale, &units)) into.exact.push_back(units);
      }
      return true;
    }
    if (xk == ik && ki != nullptr) {
      into.exact.push_back(ik == TypeKind::Bool ? static_cast<int64_t>(ki->getZExtValue())
                                                : ki->getSExtValue());
    }
    return true;
  }

  // `x in [items]` and `[items] contains x`: whether x equals one of the items.
  llvm::Value* memberOfLiteral(const LV& x, const std::vector<ast::Expr*>& items, Loc loc) {
    llvm::Value* any = b_.getFalse();
    TypeKind xk = x.type.kind;
    bool tables = items.size() >= kTableMinItems && xk != TypeKind::List && xk != TypeKind::Error;
    ConstantItems constants;
    for (const ast::Expr* e : items) {
      LV item = lower(e);
      if (tables && addConstantItem(xk, e, item, constants)) continue;
      // The items are usually literals and fold.
      any = b_.CreateOr(any, compare(ast::Op::Eq, x, item, loc));
    }
    if (!tables) return any;
    llvm::Value* found = b_.getFalse();
    auto either = [&](llvm::Value* v) {
      found = found == b_.getFalse() ? v : b_.CreateOr(found, v);
    };
    auto isTrue = [&](llvm::Value* byte) { return b_.CreateICmpNE(byte, b_.getInt8(0)); };
    if (auto& v = constants.exact; !v.empty()) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      llvm::Value* key = xk == TypeKind::Bool ? b_.CreateZExt(x.v, i64_) : x.v;
      either(isTrue(call("trig_abi_in_i64", i8_, {ptr_, i64_, i64_},
                         {constantTable(llvm::ConstantDataArray::get(
                              llctx_, llvm::ArrayRef<uint64_t>(
                                          reinterpret_cast<const uint64_t*>(v.data()), v.size()))),
                          b_.getInt64(v.size()), key})));
    }
    if (auto& v = constants.inexact; !v.empty()) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      either(isTrue(call("trig_abi_in_f64", i8_, {ptr_, i64_, f64_},
                         {constantTable(llvm::ConstantDataArray::get(llctx_, llvm::ArrayRef(v))),
                          b_.getInt64(v.size()), asDouble(x)})));
    }
    if (auto& v = constants.strings; !v.empty()) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      std::string bytes;
      std::vector<uint64_t> offsets{0};
      for (const auto& str : v) {
        bytes += str;
        offsets.push_back(bytes.size());
      }
      either(
          isTrue(call("trig_abi_in_str", i8_, {ptr_, ptr_, i64_, ptr_, i64_},
                      {constantTable(llvm::ConstantDataArray::getString(llctx_, bytes, false)),
                       constantTable(llvm::ConstantDataArray::get(llctx_, llvm::ArrayRef(offsets))),
                       b_.getInt64(v.size()), x.v, x.n})));
    }
    return b_.CreateOr(any, conj(presentOf(x), found));
  }

  // A private constant global holding `init`.
  llvm::Constant* constantTable(llvm::Constant* init) {
    auto* gv = new llvm::GlobalVariable(*m_, init->getType(), true,
                                        llvm::GlobalValue::PrivateLinkage, init, "trig.table");
    gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return gv;
  }

  // `x in list` / `list contains x` against a list Value (a field, `last`).
  llvm::Value* listOp(ast::Op op, const LV& list, const LV& x, Loc loc) {
    if (x.type.kind == TypeKind::List) throw Unsupported{"a list inside a list", loc};
    llvm::Value* s = scalarSlot();
    storeScalar(s, x);
    llvm::Value* has = call("trig_abi_list_op", i8_, {i32_, ptr_, ptr_},
                            {b_.getInt32(static_cast<uint32_t>(op)), list.v, s});
    return conj(conj(presentOf(list), presentOf(x)), b_.CreateICmpNE(has, b_.getInt8(0)));
  }

  llvm::Value* compareValues(ast::Op op, const LV& l, const LV& r) {
    TypeKind lk = l.type.kind, rk = r.type.kind;
    if (op == ast::Op::Contains || op == ast::Op::StartsWith) {
      if (lk != TypeKind::String || rk != TypeKind::String) return b_.getFalse();
      return compareStrings(op, l, r);
    }
    if (numeric(lk) && numeric(rk)) {
      if (lk == TypeKind::Float || rk == TypeKind::Float) {
        llvm::Value *x = asDouble(l), *y = asDouble(r);
        switch (op) {
          case ast::Op::Eq: return b_.CreateFCmpOEQ(x, y);
          case ast::Op::Ne: return b_.CreateFCmpONE(x, y);  // NaN compares with nothing
          case ast::Op::Lt: return b_.CreateFCmpOLT(x, y);
          case ast::Op::Le: return b_.CreateFCmpOLE(x, y);
          case ast::Op::Gt: return b_.CreateFCmpOGT(x, y);
          case ast::Op::Ge: return b_.CreateFCmpOGE(x, y);
          case ast::Op::Not:
          case ast::Op::Neg:
          case ast::Op::And:
          case ast::Op::Or:
          case ast::Op::In:
          case ast::Op::Contains:
          case ast::Op::StartsWith:
          case ast::Op::Add:
          case ast::Op::Sub:
          case ast::Op::Mul:
          case ast::Op::Div: break;
        }
        throw Unsupported{std::string("`") + ast::opSpelling(op) + "` as an ordering", Loc{}};
      }
      if (lk == TypeKind::Int && rk == TypeKind::Int) return intCompare(op, l.v, r.v, true);
      return compareExact(op, l, r);
    }
    if (lk != rk) return b_.getFalse();
    switch (lk) {
      case TypeKind::String: return compareStrings(op, l, r);
      case TypeKind::Bool: return intCompare(op, l.v, r.v, false);
      case TypeKind::Time:
      case TypeKind::Duration: return intCompare(op, l.v, r.v, true);
      case TypeKind::List:
        return b_.CreateICmpNE(call("trig_abi_value_cmp", i8_, {i32_, ptr_, ptr_},
                                    {b_.getInt32(static_cast<uint32_t>(op)), l.v, r.v}),
                               b_.getInt8(0));
      default: break;
    }
    return b_.getFalse();
  }

  llvm::Value* intCompare(ast::Op op, llvm::Value* x, llvm::Value* y, bool isSigned) {
    switch (op) {
      case ast::Op::Eq: return b_.CreateICmpEQ(x, y);
      case ast::Op::Ne: return b_.CreateICmpNE(x, y);
      case ast::Op::Lt: return isSigned ? b_.CreateICmpSLT(x, y) : b_.CreateICmpULT(x, y);
      case ast::Op::Le: return isSigned ? b_.CreateICmpSLE(x, y) : b_.CreateICmpULE(x, y);
      case ast::Op::Gt: return isSigned ? b_.CreateICmpSGT(x, y) : b_.CreateICmpUGT(x, y);
      case ast::Op::Ge: return isSigned ? b_.CreateICmpSGE(x, y) : b_.CreateICmpUGE(x, y);
      case ast::Op::Not:
      case ast::Op::Neg:
      case ast::Op::And:
      case ast::Op::Or:
      case ast::Op::In:
      case ast::Op::Contains:
      case ast::Op::StartsWith:
      case ast::Op::Add:
      case ast::Op::Sub:
      case ast::Op::Mul:
      case ast::Op::Div: break;
    }
    throw Unsupported{std::string("`") + ast::opSpelling(op) + "` as an ordering", Loc{}};
  }

  llvm::Value* compareStrings(ast::Op op, const LV& l, const LV& r) {
    auto flag = [&](const char* helper) {
      return b_.CreateICmpNE(call(helper, i8_, {ptr_, i64_, ptr_, i64_}, {l.v, l.n, r.v, r.n}),
                             b_.getInt8(0));
    };
    switch (op) {
      case ast::Op::Eq:
      case ast::Op::Ne: {
        // Lengths first, inline: most unequal strings never reach the bytes. The optimiser
        // expands memcmp against a short literal into a few loads and compares.
        llvm::Value* eq = prefixMatches(b_.CreateICmpEQ(l.n, r.n), l.v, r.v, r.n);
        return op == ast::Op::Eq ? eq : b_.CreateNot(eq);
      }
      case ast::Op::StartsWith: return prefixMatches(b_.CreateICmpUGE(l.n, r.n), l.v, r.v, r.n);
      case ast::Op::Contains: return flag("trig_abi_str_contains");
      default: break;
    }
    llvm::Value* c = call("trig_abi_str_cmp", i32_, {ptr_, i64_, ptr_, i64_}, {l.v, l.n, r.v, r.n});
    return intCompare(op, c, b_.getInt32(0), true);
  }

  // `lengthOk && the first n bytes of a and b agree`, comparing bytes only when lengthOk.
  llvm::Value* prefixMatches(llvm::Value* lengthOk, llvm::Value* a, llvm::Value* c,
                             llvm::Value* n) {
    if (auto* k = llvm::dyn_cast<llvm::ConstantInt>(n); k != nullptr && k->isZero())
      return lengthOk;
    llvm::BasicBlock* before = b_.GetInsertBlock();
    auto* bytes = newBlock("str.bytes");
    auto* join = newBlock("str.join");
    b_.CreateCondBr(lengthOk, bytes, join);
    b_.SetInsertPoint(bytes);
    llvm::Value* same =
        b_.CreateICmpEQ(call("memcmp", i32_, {ptr_, ptr_, i64_}, {a, c, n}), b_.getInt32(0));
    llvm::BasicBlock* bytesEnd = b_.GetInsertBlock();
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    auto* phi = b_.CreatePHI(i1_, 2);
    phi->addIncoming(b_.getFalse(), before);
    phi->addIncoming(same, bytesEnd);
    return phi;
  }

  // ---- arithmetic (core::arithmetic is the reference) ----

  // The kind `a op b` yields for operand kinds `a`, `b` and sema's type `hint` of the whole
  // expression; Error when the combination is always absent.
  static TypeKind arithmeticKind(ast::Op op, TypeKind a, TypeKind b, TypeKind hint) {
    using K = TypeKind;
    if (numeric(a) && numeric(b)) {
      if (a == K::Float || b == K::Float) return K::Float;
      if (a == K::Int && b == K::Int) {
        if (op != ast::Op::Div) return K::Int;
        return hint == K::Float ? K::Float : hint == K::Money ? K::Money : K::Int;
      }
      if (op != ast::Op::Div) return K::Money;
      if (hint == K::Float) return K::Float;
      if (a == K::Money && b == K::Money && hint == K::Int) return K::Int;
      return K::Money;
    }
    switch (op) {
      case ast::Op::Add:
        if ((a == K::Time && b == K::Duration) || (a == K::Duration && b == K::Time))
          return K::Time;
        if (a == K::Duration && b == K::Duration) return K::Duration;
        break;
      case ast::Op::Sub:
        if (a == K::Time && b == K::Duration) return K::Time;
        if (a == K::Time && b == K::Time) return K::Duration;
        if (a == K::Duration && b == K::Duration) return K::Duration;
        break;
      case ast::Op::Mul:
        if ((a == K::Duration && b == K::Int) || (a == K::Int && b == K::Duration))
          return K::Duration;
        break;
      case ast::Op::Div:
        if (a == K::Duration && b == K::Int) return K::Duration;
        if (a == K::Duration && b == K::Duration) return K::Float;
        break;
      default: break;
    }
    return K::Error;
  }

  LV arithmetic(ast::Op op, const LV& l, const LV& r, TypeKind hint) {
    if (l.listLiteral != nullptr || r.listLiteral != nullptr)
      return absentOf(hint == TypeKind::Error ? TypeKind::Int : hint);
    TypeKind lk = l.type.kind, rk = r.type.kind;
    TypeKind k = arithmeticKind(op, lk, rk, hint);
    if (k == TypeKind::Error)
      return absentOf(hint == TypeKind::Error || hint == TypeKind::List ? TypeKind::Int : hint);
    LV x{Type::of(k), conj(presentOf(l), presentOf(r))};
    if (numeric(lk) && numeric(rk)) {
      // A float side, or a quotient sema typed as float: in doubles.
      if (k == TypeKind::Float) return floatArithmetic(op, asDouble(l), asDouble(r), x);
      if (lk == TypeKind::Int && rk == TypeKind::Int) {
        if (op == ast::Op::Div && k == TypeKind::Money) return helperArithmetic(op, l, r, hint, x);
        return intArithmetic(op, l.v, r.v, x);
      }
      // Money with money or int.
      if (op == ast::Op::Add || op == ast::Op::Sub) return moneyAddSub(op, l, r, hint, x);
      if (op == ast::Op::Mul && (lk == TypeKind::Int || rk == TypeKind::Int)) {
        // An int factor multiplies the other side's millionths exactly: present iff it fits.
        return intArithmetic(op, l.v, r.v, x);
      }
      return helperArithmetic(op, l, r, hint, x);
    }
    // Times and durations.
    if (k == TypeKind::Float) {  // duration / duration
      llvm::Value* y = b_.CreateSIToFP(r.v, f64_);
      return floatArithmetic(op, b_.CreateSIToFP(l.v, f64_), y, x);
    }
    return intArithmetic(op, l.v, r.v, x);
  }

  // i64 + - * / with the interpreter's rules: overflow and division by zero are absent.
  LV intArithmetic(ast::Op op, llvm::Value* a, llvm::Value* c, LV x) {
    if (op == ast::Op::Div) {
      llvm::Value* zero = b_.CreateICmpEQ(c, b_.getInt64(0));
      // INT64_MIN / -1 does not fit (and would trap): absent.
      llvm::Value* wraps = b_.CreateAnd(b_.CreateICmpEQ(a, b_.getInt64(INT64_MIN)),
                                        b_.CreateICmpEQ(c, b_.getInt64(-1)));
      llvm::Value* bad = b_.CreateOr(zero, wraps);
      x.v = b_.CreateSDiv(a, b_.CreateSelect(bad, b_.getInt64(1), c));
      x.present = conj(x.present, b_.CreateNot(bad));
      return x;
    }
    llvm::Intrinsic::ID id = op == ast::Op::Add   ? llvm::Intrinsic::sadd_with_overflow
                             : op == ast::Op::Sub ? llvm::Intrinsic::ssub_with_overflow
                                                  : llvm::Intrinsic::smul_with_overflow;
    llvm::Value* res = b_.CreateBinaryIntrinsic(id, a, c);
    x.v = b_.CreateExtractValue(res, 0);
    x.present = conj(x.present, b_.CreateNot(b_.CreateExtractValue(res, 1)));
    return x;
  }

  // double + - * /: division by zero and non-finite results are absent.
  LV floatArithmetic(ast::Op op, llvm::Value* a, llvm::Value* c, LV x) {
    llvm::Value* ok = x.present;
    switch (op) {
      case ast::Op::Add: x.v = b_.CreateFAdd(a, c); break;
      case ast::Op::Sub: x.v = b_.CreateFSub(a, c); break;
      case ast::Op::Mul: x.v = b_.CreateFMul(a, c); break;
      case ast::Op::Div:
        x.v = b_.CreateFDiv(a, c);
        ok = conj(ok, b_.CreateFCmpUNE(c, llvm::ConstantFP::get(f64_, 0.0)));
        break;
      case ast::Op::Not:
      case ast::Op::Neg:
      case ast::Op::And:
      case ast::Op::Or:
      case ast::Op::Eq:
      case ast::Op::Ne:
      case ast::Op::Lt:
      case ast::Op::Le:
      case ast::Op::Gt:
      case ast::Op::Ge:
      case ast::Op::In:
      case ast::Op::Contains:
      case ast::Op::StartsWith:
        throw Unsupported{std::string("`") + ast::opSpelling(op) + "` as arithmetic", Loc{}};
    }
    llvm::Value* magnitude = b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x.v);
    llvm::Value* finite = b_.CreateFCmpOLT(magnitude, llvm::ConstantFP::getInfinity(f64_));
    x.present = conj(ok, finite);
    return x;
  }

  // money ± money|int in millionths. An int too large to scale (beyond any money value) takes
  // the interpreter's own operator, which sums in 128 bits: rare, so off the fast path.
  LV moneyAddSub(ast::Op op, const LV& l, const LV& r, TypeKind hint, LV x) {
    llvm::Value* overflow = b_.getFalse();
    auto money = [&](const LV& v) {
      if (v.type.kind == TypeKind::Money) return v.v;
      auto [m, ov] = scaleToMoney(v.v);
      overflow = b_.CreateOr(overflow, ov);
      return m;
    };
    llvm::Value* a = money(l);
    llvm::Value* c = money(r);
    LV fast = intArithmetic(op, a, c, x);
    if (l.type.kind == TypeKind::Money && r.type.kind == TypeKind::Money) return fast;
    llvm::BasicBlock* fastEnd = b_.GetInsertBlock();
    auto* slowBB = newBlock("money.wide");
    auto* join = newBlock("money.sum");
    b_.CreateCondBr(overflow, slowBB, join);
    b_.SetInsertPoint(slowBB);
    LV slow = helperArithmetic(op, l, r, hint, x);
    llvm::BasicBlock* slowEnd = b_.GetInsertBlock();
    b_.CreateBr(join);
    b_.SetInsertPoint(join);
    auto* v = b_.CreatePHI(i64_, 2);
    v->addIncoming(fast.v, fastEnd);
    v->addIncoming(slow.v, slowEnd);
    auto* p = b_.CreatePHI(i1_, 2);
    p->addIncoming(fast.present, fastEnd);
    p->addIncoming(slow.present, slowEnd);
    x.v = v;
    x.present = p;
    return x;
  }

  // Money products and quotients round half away from zero: the helper runs the interpreter's
  // own operator (rare in conditions, exact where it matters).
  LV helperArithmetic(ast::Op op, const LV& l, const LV& r, TypeKind hint, LV x) {
    llvm::Value* a = scalarSlot();
    llvm::Value* c = scalarSlot();
    llvm::Value* out = scalarSlot();
    storeScalar(a, l);
    storeScalar(c, r);
    llvm::Value* ok = call("trig_abi_arith", i8_, {i32_, ptr_, ptr_, i32_, ptr_},
                           {b_.getInt32(static_cast<uint32_t>(op)), a, c,
                            b_.getInt32(static_cast<uint32_t>(hint)), out});
    x.present = conj(x.present, b_.CreateICmpNE(ok, b_.getInt8(0)));
    x.v = x.type.kind == TypeKind::Float ? load(out, abi::kScalarFloat, f64_)
                                         : load(out, abi::kScalarInt, i64_);
    return x;
  }

  // ---- values in memory ----

  llvm::Value* presentOf(const LV& x) { return x.present != nullptr ? x.present : b_.getTrue(); }

  // A condition's truth: a present true bool.
  llvm::Value* truth(const LV& x) {
    if (x.type.kind != TypeKind::Bool || x.v == nullptr)
      throw Unsupported{"a condition that is not a bool", Loc{}};
    return x.present != nullptr ? conj(x.present, x.v) : x.v;
  }

  llvm::Value* load(llvm::Value* base, uint64_t offset, llvm::Type* t) {
    llvm::Value* p = offset == 0 ? base : b_.CreateConstGEP1_64(i8_, base, offset);
    return b_.CreateAlignedLoad(t, p, naturalAlign(t));
  }

  // a && b for i1 values, folding the constants the -O0 tier would otherwise compute at run time.
  llvm::Value* conj(llvm::Value* a, llvm::Value* c) {
    auto* ka = llvm::dyn_cast<llvm::ConstantInt>(a);
    auto* kc = llvm::dyn_cast<llvm::ConstantInt>(c);
    if (ka != nullptr) return ka->isOne() ? c : a;
    if (kc != nullptr) return kc->isOne() ? a : c;
    return b_.CreateAnd(a, c);
  }
  llvm::Value* loadCtx(uint64_t offset, llvm::Type* t) { return load(fn_.ctx, offset, t); }
  // Every field the generated code touches is naturally aligned (C++ layout of Value, Ctx, Scalar).
  static llvm::Align naturalAlign(llvm::Type* t) {
    if (t->isPointerTy()) return llvm::Align(alignof(void*));
    return llvm::Align(std::max<uint64_t>(1, t->getPrimitiveSizeInBits() / 8));
  }
  void store(llvm::Value* v, llvm::Value* p) {
    b_.CreateAlignedStore(v, p, naturalAlign(v->getType()));
  }

  // &fields[slot]. Rows are never shorter than their type's layout: the evaluator and the
  // helpers pad short ones before compiled code sees them.
  llvm::Value* fieldAt(llvm::Value* base, uint32_t slot) {
    return slot == 0 ? base : b_.CreateConstGEP1_64(i8_, base, uint64_t{slot} * abi::kValueSize);
  }

  LV readValue(llvm::Value* vp, Type t) {
    LV x{t, b_.CreateICmpNE(load(vp, abi::kValueKindOffset, i8_), b_.getInt8(0))};
    switch (t.kind) {
      case TypeKind::Int:
      case TypeKind::Time:
      case TypeKind::Duration: x.v = load(vp, abi::kValueIntOffset, i64_); break;
      case TypeKind::Float: x.v = load(vp, abi::kValueFloatOffset, f64_); break;
      case TypeKind::Money: x.v = load(vp, abi::kValueMoneyOffset, i64_); break;
      case TypeKind::Bool:
        x.v = b_.CreateICmpNE(load(vp, abi::kValueBoolOffset, i8_), b_.getInt8(0));
        break;
      case TypeKind::String: {
        if (options_.inlineStrings) {
          x.v = load(vp, abi::kValueStringOffset + options_.stringDataOffset, ptr_);
          x.n = load(vp, abi::kValueStringOffset + options_.stringSizeOffset, i64_);
          break;
        }
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
    store(b_.getInt8(static_cast<uint8_t>(k)), b_.CreateConstGEP1_64(i8_, out, abi::kScalarKind));
    auto at = [&](uint64_t off) { return b_.CreateConstGEP1_64(i8_, out, off); };
    switch (x.type.kind) {
      case TypeKind::Int:
      case TypeKind::Time:
      case TypeKind::Duration:
      case TypeKind::Money: store(x.v, at(abi::kScalarInt)); break;
      case TypeKind::Float: store(x.v, at(abi::kScalarFloat)); break;
      case TypeKind::Bool: store(b_.CreateZExt(x.v, i8_), at(abi::kScalarBool)); break;
      case TypeKind::String:
        store(x.v, at(abi::kScalarPtr));
        store(x.n, at(abi::kScalarLen));
        break;
      case TypeKind::List:
      case TypeKind::Error:
        throw Unsupported{"a " + sema::typeName(x.type) + " as a scalar", Loc{}};
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

  llvm::Value* call(const char* helper, llvm::Type* ret, std::initializer_list<llvm::Type*> params,
                    std::initializer_list<llvm::Value*> args) {
    auto it = helpers_.find(helper);
    if (it == helpers_.end()) {
      llvm::FunctionCallee f =
          m_->getOrInsertFunction(helper, llvm::FunctionType::get(ret, params, false));
      if (auto* decl = llvm::dyn_cast<llvm::Function>(f.getCallee()))
        decl->addFnAttr(llvm::Attribute::NoUnwind);
      it = helpers_.emplace(helper, f).first;
    }
    return b_.CreateCall(it->second, args);
  }

  const ast::Program& program_;
  const sema::Model& model_;
  LowerOptions options_;
  llvm::LLVMContext& llctx_;
  llvm::IRBuilder<> b_;
  LoweredRuleSet out_;
  llvm::Module* m_ = nullptr;
  llvm::Type *i1_, *i8_, *i32_, *i64_, *f64_;
  llvm::PointerType* ptr_;
  llvm::GlobalVariable* absent_ = nullptr;
  std::map<std::string, llvm::Constant*> strings_;
  std::map<std::string, llvm::FunctionCallee> helpers_;
  FnState fn_;
  const sema::RuleInfo* rule_ = nullptr;
  uint32_t ruleIndex_ = sema::kNone;
  bool perRule_ = false;
  llvm::Function* ruleFn_ = nullptr;  // per-rule granularity: the rule's dispatch function
  llvm::SwitchInst* ruleSwitch_ = nullptr;
  uint32_t nextCase_ = 0;
  std::string prefix_;
  uint32_t filters_ = 0;
  uint32_t scratch_ = 0;
};

}  // namespace

bool comparesSameInHistory(const ast::Expr& e, const sema::Model& model) {
  const bool counts = e.kind == ast::ExprKind::EventTerm ||
                      (e.kind == ast::ExprKind::Aggregate && e.agg == ast::AggFn::Count);
  if (!counts || e.event == nullptr || e.event->filter != nullptr) return false;
  // The `same` list as the filter function finds it (sameList): the term's own, else the ref's.
  const std::vector<sema::SameInfo>* same = nullptr;
  if (auto it = model.exprSame.find(e.id); it != model.exprSame.end())
    same = &it->second;
  else if (auto rit = model.eventRefSame.find(e.event); rit != model.eventRefSame.end())
    same = &rit->second;
  return same != nullptr && same->size() == 1;
}

LoweredRuleSet lowerToLLVM(const ast::Program& program, const sema::Model& model,
                           llvm::LLVMContext& context, const LowerOptions& options) {
  return Lowerer(program, model, context, options).run();
}

}  // namespace trig::lower
