#pragma once
// The delivery policy (docs/language.md, "The delivery policy") as a chain of small objects, one
// per policy, asked in the order the language gives them. The engine owns the sends, the timers and
// the records; a policy only answers: pass, suppress (with a reason), or defer (until a time).
//
// Three places in the life of a send ask the chain (Moment): when a rule fires (the rule limit
// stops firings, not sends), when a send becomes due, and when it has won its arbitration window
// and is about to go out. Each policy answers at the moments it cares about and passes at the
// others; the first answer that is not a pass decides. After a send went out, every policy hears
// of it (sent()), so that those that count sends can remember it.
//
// Two answers go beyond pass/suppress/defer, because two policies are not about one send alone:
// - Compete: arbitration is a decision among the customer's sends due within a window. The
//   arbitration policy answers Compete when a send becomes due; the engine keeps the window and
//   its timer and, when the window closes, ranks the members and preempts pending steps by the
//   language's order (Arbitration::outranks and preempts, priority.h). The winner is asked again
//   at Moment::Decision. A send every policy passes when due competes at its instant alone.
// - Await: `await_email D` parks a send, silently, until the customer's profile changes so that
//   the policy is ready() (then the send becomes due again) or D runs out (then expired() says
//   what becomes of it). A Defer, by contrast, is recorded and always ends at its time.
//
// Policies see a send as plain data (Send) and its customer through a narrow interface
// (Context): a few facts, the rendering of the template, and a memory slot of their own in the
// customer's state. Nothing else of the engine.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/support/time.h"
#include "runtime/policy/reason.h"

namespace trig {
// A source location (compiler/source/source.h). Policies point at the locations of the rules
// they were built from; they never read one.
struct Loc;
}  // namespace trig

namespace trig::policy {

enum class Moment : uint8_t {
  Firing,    // a rule fires, before its flow starts
  Due,       // a send becomes due (again, after a deferral or a wait)
  Decision,  // a send won its arbitration window and is about to go out
};

// What the chain is asked about: a send, or at Moment::Firing the firing of a rule (its first
// step). A firing is stopped or not: at Moment::Firing a policy passes or suppresses.
struct Send {
  static constexpr uint32_t kNoTemplate = UINT32_MAX;
  Moment moment = Moment::Due;
  TimeMs now = 0;
  uint32_t rule = 0;  // the rule's index in declaration order
  uint32_t step = 1;  // the 1-based step of the flow instance
  // The flow's first send (what `limit N per D` counts, spec section 4 rule 5): step 1, or, when
  // the flow starts with a split, the first send of the variant it chose.
  bool first = true;
  uint32_t templ = kNoTemplate;   // the template's index; none at a firing or when undeclared
  std::string_view templateName;  // as the step names it; empty at a firing
};

struct Verdict {
  enum class Kind : uint8_t {
    Pass,      // this policy lets the send go on
    Suppress,  // the send does not go out: `reason`, `detail`, at `loc` (null: the step)
    Defer,     // the send is deferred (recorded, with `detail`) and becomes due again at `until`
    Await,     // the send waits unrecorded (`detail` says why, for the trace): see above
    Compete,   // the send joins the customer's arbitration window, or opens one closing at `until`
  };
  Kind kind = Kind::Pass;
  Reason reason = Reason::None;
  TimeMs until = 0;
  std::string detail;
  const Loc* loc = nullptr;  // lives as long as the rules, or until the verdict is applied

  bool passes() const { return kind == Kind::Pass; }
  static Verdict pass() { return {}; }
  static Verdict suppress(Reason reason, std::string detail, const Loc* loc = nullptr) {
    return {Kind::Suppress, reason, 0, std::move(detail), loc};
  }
  static Verdict defer(TimeMs until, std::string detail) {
    return {Kind::Defer, Reason::None, until, std::move(detail), nullptr};
  }
  static Verdict await(TimeMs until, std::string detail) {
    return {Kind::Await, Reason::None, until, std::move(detail), nullptr};
  }
  static Verdict compete(TimeMs closes) {
    return {Kind::Compete, Reason::None, closes, {}, nullptr};
  }
};

// What a policy remembers of one customer (the sends it saw go out, say). The engine keeps it
// with the customer's state; a customer who never needed it has none.
class CustomerMemory {
 public:
  virtual ~CustomerMemory() = default;
};

// A template variable with no value (or a template that does not exist).
struct RenderGap {
  bool templateMissing = false;
  std::string variable;      // "product_name", "customer.first_name"
  const Loc* loc = nullptr;  // the placeholder (null: the step)
};

// What a policy may ask about the send in hand and its customer. The engine implements it.
class Context {
 public:
  virtual bool unsubscribed() const = 0;          // the `subscribed` trait is false
  virtual bool hasEmail() const = 0;              // a non-empty `email` trait
  virtual bool bounced() const = 0;               // the address hard bounced
  virtual std::string_view timezone() const = 0;  // the `timezone` trait; empty: none
  // The three facts above at once, which the opt-out policy asks at every moment (an engine may
  // answer them in one look at the customer's traits).
  struct Reach {
    bool unsubscribed = false, hasEmail = false, bounced = false;
  };
  virtual Reach reach() const { return {unsubscribed(), hasEmail(), bounced()}; }
  // Renders the send's template unless it is rendered already: the gap when a variable had no
  // value (the rendering is then discarded).
  virtual std::optional<RenderGap> render() = 0;
  // The customer's memory in `slot` (the policy's place in the chain): null until kept.
  virtual CustomerMemory* memory(size_t slot) = 0;
  virtual CustomerMemory& keep(size_t slot, std::unique_ptr<CustomerMemory> m) = 0;

 protected:
  ~Context() = default;
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Verdict check(const Send& s, Context& c) = 0;
  // Whether check() may answer anything but a pass at `m`. The chain asks a policy only at the
  // moments it answers at (three questions per send, most of them passes, were a cost of every
  // send); check() still passes at the others for whoever asks anyway.
  virtual bool answersAt(Moment) const { return true; }
  // `s` went out (at Moment::Decision).
  virtual void sent(const Send&, Context&) {}
  // Whether sent() does anything: the chain tells only those that hear of sends (every policy
  // told of every send was a cost of each).
  virtual bool hearsSends() const { return true; }
  // After an Await of this policy, when the customer's profile changed: whether the wait is over
  // (the send becomes due again).
  virtual bool ready(Context&) const { return true; }
  // After an Await of this policy, when its time ran out: a Suppress, or a pass (the send
  // becomes due again).
  virtual Verdict expired(const Send&, Context&) const { return Verdict::pass(); }

 protected:
  // This policy's memory of the customer: null (memory) or made on first use (memoryFor).
  template <typename M>
  M* memory(Context& c) const {
    return static_cast<M*>(c.memory(slot_));
  }
  template <typename M>
  M& memoryFor(Context& c) const {
    if (M* m = memory<M>(c)) return *m;
    return static_cast<M&>(c.keep(slot_, std::make_unique<M>()));
  }

 private:
  friend class Chain;
  size_t slot_ = 0;
};

// The policies in the language's order. Built once per engine (runtime/engine/policies.cpp is
// the one list).
class Chain {
 public:
  // Appends `p`; its memory slot is its place in the chain.
  void add(std::unique_ptr<Policy> p);

  struct Answer {
    Verdict verdict;
    size_t by = 0;  // the policy that gave it (its slot)
  };
  // The first answer that is not a pass, in order (a pass when every policy passes).
  Answer check(const Send& s, Context& c) const;
  // Whether any policy answers at `m` (else check() passes at once, and need not be asked).
  bool asksAt(Moment m) const { return !askedAt_[static_cast<size_t>(m)].empty(); }
  void sent(const Send& s, Context& c) const;
  // Whether any policy hears of sends (else sent() does nothing).
  bool hearsSends() const { return !hearSends_.empty(); }

  Policy& at(size_t slot) const { return *policies_[slot]; }
  size_t size() const { return policies_.size(); }

 private:
  std::vector<std::unique_ptr<Policy>> policies_;
  // By Moment: the slots of the policies that answer at it (Policy::answersAt), in order.
  std::array<std::vector<uint32_t>, 3> askedAt_;
  std::vector<uint32_t> hearSends_;  // the slots of the policies that hear of sends
};

}  // namespace trig::policy
