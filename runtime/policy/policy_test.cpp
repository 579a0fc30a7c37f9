// The delivery policies one by one, and the chain's order, without an engine.
#include "runtime/policy/policy.h"

#include <doctest/doctest.h>

#include "runtime/policy/frequency_cap.h"
#include "runtime/policy/missing_data.h"
#include "runtime/policy/opt_out.h"
#include "runtime/policy/policy_test_support.h"
#include "runtime/policy/priority.h"
#include "runtime/policy/quiet_hours.h"
#include "runtime/policy/rule_limit.h"

using namespace trig;
using namespace trig::policy;
using namespace trig::policy::testing;

namespace {

// A policy that answers `v` at every moment and counts the questions.
struct Fixed final : Policy {
  Verdict v;
  int asked = 0, sends = 0;
  explicit Fixed(Verdict answer) : v(std::move(answer)) {}
  Verdict check(const Send&, Context&) override {
    ++asked;
    return v;
  }
  void sent(const Send&, Context&) override { ++sends; }
};

}  // namespace

TEST_CASE("Chain: the first answer that is not a pass decides; every policy hears of a send") {
  Chain chain;
  auto* first = new Fixed(Verdict::pass());
  auto* second = new Fixed(Verdict::suppress(Reason::FrequencyCap, "second"));
  auto* third = new Fixed(Verdict::suppress(Reason::Cooldown, "third"));
  chain.add(std::unique_ptr<Policy>(first));
  chain.add(std::unique_ptr<Policy>(second));
  chain.add(std::unique_ptr<Policy>(third));
  FakeCustomer c;
  Chain::Answer a = chain.check(send(Moment::Due, 0), c);
  CHECK(a.by == 1);
  CHECK(a.verdict.reason == Reason::FrequencyCap);
  CHECK(first->asked == 1);
  CHECK(third->asked == 0);
  chain.sent(send(Moment::Decision, 0), c);
  CHECK((first->sends == 1 && second->sends == 1 && third->sends == 1));
}

TEST_CASE("Chain: a policy that does not hear of sends is not told; asked only at its moments") {
  struct Deaf final : Policy {
    int sends = 0;
    Verdict check(const Send&, Context&) override { return Verdict::pass(); }
    void sent(const Send&, Context&) override { ++sends; }
    bool hearsSends() const override { return false; }
  };
  Chain chain;
  auto* deaf = new Deaf;
  auto* hears = new Fixed(Verdict::pass());
  chain.add(std::unique_ptr<Policy>(deaf));
  chain.add(std::unique_ptr<Policy>(hears));
  FakeCustomer c;
  chain.sent(send(Moment::Decision, 0), c);
  CHECK(deaf->sends == 0);
  CHECK(hears->sends == 1);
  CHECK_FALSE(RuleLimit({std::nullopt, std::nullopt}).hearsSends());
  CHECK(RuleLimit({std::nullopt, RuleLimit::Limit{1, 86'400'000, nullptr}}).hearsSends());
  CHECK_FALSE(OptOut(0).hearsSends());
  // A chain asks at a moment only when one of its policies answers then.
  CHECK(chain.asksAt(Moment::Firing));
  Chain dueOnly;
  dueOnly.add(std::make_unique<MissingData>());
  CHECK_FALSE(dueOnly.asksAt(Moment::Firing));
  CHECK(dueOnly.asksAt(Moment::Due));
  CHECK_FALSE(dueOnly.asksAt(Moment::Decision));
  CHECK_FALSE(MissingData().hearsSends());
}

TEST_CASE("Chain: a policy is asked only at the moments it answers at") {
  struct DueOnly final : Policy {
    int asked = 0;
    Verdict check(const Send&, Context&) override {
      ++asked;
      return Verdict::suppress(Reason::Cooldown, "due");
    }
    bool answersAt(Moment m) const override { return m == Moment::Due; }
  };
  Chain chain;
  auto* due = new DueOnly;
  auto* last = new Fixed(Verdict::suppress(Reason::FrequencyCap, "last"));
  chain.add(std::unique_ptr<Policy>(due));
  chain.add(std::unique_ptr<Policy>(last));
  FakeCustomer c;
  Chain::Answer a = chain.check(send(Moment::Firing, 0), c);
  CHECK(a.by == 1);  // the slot is the place in the chain, whoever was skipped
  CHECK(a.verdict.reason == Reason::FrequencyCap);
  CHECK(due->asked == 0);
  a = chain.check(send(Moment::Due, 0), c);
  CHECK(a.by == 0);
  CHECK(a.verdict.reason == Reason::Cooldown);
  CHECK(due->asked == 1);
  CHECK(last->asked == 1);
}

TEST_CASE("Policies pass, whatever the customer, at the moments they say they do not answer at") {
  std::vector<std::unique_ptr<Policy>> policies;
  policies.push_back(std::make_unique<OptOut>(0));
  policies.push_back(std::make_unique<OptOut>(kHour));
  policies.push_back(std::make_unique<MissingData>());
  policies.push_back(std::make_unique<RuleLimit>(
      std::vector<std::optional<RuleLimit::Limit>>{RuleLimit::Limit{1, kHour, nullptr}}));
  policies.push_back(
      std::make_unique<RuleLimit>(std::vector<std::optional<RuleLimit::Limit>>{std::nullopt}));
  policies.push_back(std::make_unique<Arbitration>(0));
  int skipped = 0;
  for (auto& p : policies)
    for (const Moment m : {Moment::Firing, Moment::Due, Moment::Decision}) {
      if (p->answersAt(m)) continue;
      ++skipped;
      FakeCustomer c;
      c.isUnsubscribed = true;
      c.email = false;
      c.isBounced = true;
      c.gap = RenderGap{false, "x", nullptr};
      // The rule limit's memory is full: one first send went out just now.
      p->sent(send(Moment::Decision, 0), c);
      CHECK(p->check(send(m, 0), c).passes());
    }
  CHECK(skipped == 11);
}

TEST_CASE("OptOut: unsubscribed first, then no email (or a wait for one), then bounced") {
  Chain chain;
  chain.add(std::make_unique<OptOut>(0));
  FakeCustomer c;
  CHECK(ask(chain, Moment::Due, 0, c).passes());
  c.isBounced = true;
  CHECK(ask(chain, Moment::Decision, 0, c).reason == Reason::Bounced);
  c.email = false;
  CHECK(ask(chain, Moment::Decision, 0, c).reason == Reason::NoEmail);
  c.isUnsubscribed = true;
  CHECK(ask(chain, Moment::Due, 0, c).reason == Reason::OptedOut);
  CHECK(ask(chain, Moment::Firing, 0, c).passes());  // a firing is not a send

  Chain waits;
  waits.add(std::make_unique<OptOut>(kHour));
  FakeCustomer d;
  d.email = false;
  Verdict v = ask(waits, Moment::Due, 10, d);
  CHECK(v.kind == Verdict::Kind::Await);
  CHECK(v.until == 10 + kHour);
  CHECK_FALSE(waits.at(0).ready(d));
  d.email = true;
  CHECK(waits.at(0).ready(d));
  Verdict out = waits.at(0).expired(send(Moment::Due, 10 + kHour), d);
  CHECK(out.reason == Reason::NoEmail);
  CHECK(out.detail == "the customer had no email address within 1h (await_email)");
  d.email = false;  // the winner never waits: it is suppressed
  CHECK(ask(waits, Moment::Decision, 10, d).reason == Reason::NoEmail);
  d.isUnsubscribed = true;  // an unsubscribed customer is not waited for
  CHECK(ask(waits, Moment::Due, 10, d).reason == Reason::OptedOut);
}

TEST_CASE("MissingData: rendered when due, suppressed on a gap") {
  Chain chain;
  chain.add(std::make_unique<MissingData>());
  FakeCustomer c;
  CHECK(ask(chain, Moment::Due, 0, c).passes());
  CHECK(ask(chain, Moment::Decision, 0, c).passes());
  CHECK(c.renders == 1);
  c.gap = RenderGap{false, "customer.first_name", nullptr};
  Verdict v = ask(chain, Moment::Due, 0, c);
  CHECK(v.reason == Reason::MissingData);
  CHECK(v.detail == "template variable 'customer.first_name' has no value and no default");
  c.gap = RenderGap{true, "", nullptr};
  CHECK(ask(chain, Moment::Due, 0, c).detail == "template 't0' does not exist");
}

TEST_CASE("RuleLimit: counts first sends of the rule, stops firings") {
  std::vector<std::optional<RuleLimit::Limit>> limits(2);
  limits[0] = RuleLimit::Limit{1, kDay, nullptr};
  Chain chain;
  chain.add(std::make_unique<RuleLimit>(limits));
  FakeCustomer c;
  CHECK(ask(chain, Moment::Firing, 0, c).passes());
  chain.sent(send(Moment::Decision, 0, 0, 2), c);  // a later step does not count
  CHECK(ask(chain, Moment::Firing, 0, c).passes());
  chain.sent(send(Moment::Decision, 0, 0, 1), c);
  CHECK(ask(chain, Moment::Due, kHour, c).passes());  // asked at the firing only
  Verdict v = ask(chain, Moment::Firing, kHour, c);
  CHECK(v.reason == Reason::RuleLimit);
  CHECK(v.detail == "the rule already sent 1 first message(s) to this customer within 1d");
  CHECK(ask(chain, Moment::Firing, kDay, c).passes());
  Send afterSplit = send(Moment::Decision, kDay, 0, 2);
  afterSplit.first = true;  // step 2, but the first send of a flow that starts with a split
  chain.sent(afterSplit, c);
  CHECK(ask(chain, Moment::Firing, kDay + kHour, c).reason == Reason::RuleLimit);
  Send other = send(Moment::Firing, kHour);
  other.rule = 1;  // no limit
  CHECK(chain.check(other, c).verdict.passes());
}

TEST_CASE("Arbitration: a due send competes; the winner's order; preemption") {
  Chain chain;
  chain.add(std::make_unique<Arbitration>(kHour));
  FakeCustomer c;
  Verdict v = ask(chain, Moment::Due, 5, c);
  CHECK(v.kind == Verdict::Kind::Compete);
  CHECK(v.until == 5 + kHour);
  CHECK(ask(chain, Moment::Decision, 5, c).passes());
  Value two = Value::integer(2), one = Value::integer(1);
  using C = Arbitration::Contender;
  CHECK(Arbitration::outranks(C{&two, 0, 5, 1, 9}, C{&one, 9, 0, 1, 0}));  // priority first
  CHECK(Arbitration::outranks(C{&one, 9, 5, 1, 9}, C{&one, 0, 0, 1, 0}));  // newer anchor
  CHECK(Arbitration::outranks(C{&one, 0, 0, 2, 9}, C{&one, 0, 5, 1, 0}));  // rule declared first
  CHECK(Arbitration::outranks(C{&one, 0, 0, 1, 9}, C{&one, 0, 0, 2, 0}));  // earlier step
  CHECK_FALSE(Arbitration::outranks(C{&one, 0, 0, 1, 0}, C{&one, 0, 0, 1, 0}));
  CHECK(Arbitration::preempts(two, one));
  CHECK_FALSE(Arbitration::preempts(one, one));
}

TEST_CASE("FrequencyCap: sends that went out count, in a rolling window") {
  Chain chain;
  chain.add(std::make_unique<FrequencyCap>(2, kDay));
  FakeCustomer c;
  CHECK(ask(chain, Moment::Decision, 0, c).passes());
  chain.sent(send(Moment::Decision, 0), c);
  CHECK(ask(chain, Moment::Decision, 1, c).passes());
  chain.sent(send(Moment::Decision, 1), c);
  Verdict v = ask(chain, Moment::Decision, 2, c);
  CHECK(v.reason == Reason::FrequencyCap);
  CHECK(v.detail == "the customer already got 2 message(s) within 1d");
  CHECK(ask(chain, Moment::Due, 2, c).passes());
  CHECK(ask(chain, Moment::Decision, kDay + 1, c).passes());
}

TEST_CASE("QuietHours: the winner is deferred to the end of the period, in its time zone") {
  Chain chain;
  chain.add(std::make_unique<QuietHours>(plan::QuietHours{22 * 60, 8 * 60}, nullptr));
  FakeCustomer c;
  TimeMs eleven = *parseTimestamp("2026-01-01T23:00:00Z");
  CHECK(ask(chain, Moment::Due, eleven, c).passes());
  Verdict v = ask(chain, Moment::Decision, eleven, c);
  CHECK(v.kind == Verdict::Kind::Defer);
  CHECK(v.until == *parseTimestamp("2026-01-02T08:00:00Z"));
  CHECK(v.detail == "quiet hours: deferred until 2026-01-02T08:00:00Z");
  c.zone = "America/New_York";  // 18:00 there
  CHECK(ask(chain, Moment::Decision, eleven, c).passes());
}
