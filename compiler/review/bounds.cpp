// `trig check --bounds` (bounds.h; the argument is in docs/review.md, "Bounds").
#include "compiler/review/bounds.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "compiler/sema/lint.h"

namespace trig::review {

// ---- One rule path: the exact search over firing times -----------------------------------------

namespace {

constexpr size_t kMaxDepth = 4000;  // firings in one window the search follows (its recursion)
constexpr size_t kMaxPaths = 64;    // paths through one rule's splits

class PathSearch {
 public:
  PathSearch(const std::vector<DurationMs>& o, DurationMs idle,
             std::optional<std::pair<int64_t, DurationMs>> limit, DurationMs length, size_t budget)
      : o_(o), idle_(idle), limit_(limit), length_(length), budget_(budget) {}

  PathResult run() {
    PathResult r;
    r.count = loose();
    if (o_.empty()) {
      r.count = 0;
      return r;
    }
    // The earliest send in the window belongs to the first firing and lies, after shifting
    // everything earlier, at the window's start: the first firing is at -o[j] for some j.
    int64_t best = -1;
    DurationMs start = 0;
    std::set<DurationMs> starts;
    for (DurationMs x : o_) starts.insert(-x);
    for (DurationMs s : starts) {
      int64_t v = solve(s, {}, 0);
      if (gaveUp_) break;
      if (v > best) {
        best = v;
        start = s;
      }
    }
    if (gaveUp_ || best < 0) {
      r.exact = false;
      // The schedule: firings as early as allowed, every send going out.
      rebuildGreedy(r);
      return r;
    }
    r.count = best;
    r.reached = best;
    // Rebuild the schedule from the memo.
    DurationMs f = start;
    std::vector<DurationMs> prev;
    for (size_t guard = 0; guard < kMaxDepth + 1; ++guard) {
      auto it = memo_.find(key(f, prev));
      if (it == memo_.end()) break;
      const Best& b = it->second;
      r.firings.push_back(f);
      r.stepsOut.push_back(b.choice == 0 ? static_cast<uint32_t>(o_.size()) : b.choice);
      if (b.choice == 0) break;
      prev = nextPrev(f, prev);
      f = b.next;
    }
    return r;
  }

 private:
  struct Best {
    int64_t value = 0;
    uint32_t choice = 0;  // 0: the last firing (all its sends go out); K: K sends, then `next`
    DurationMs next = 0;
  };
  using Key = std::pair<DurationMs, std::vector<DurationMs>>;

  int64_t inWindow(DurationMs f, size_t k) const {
    int64_t n = 0;
    for (size_t i = 0; i < k && i < o_.size(); ++i)
      if (f + o_[i] >= 0 && f + o_[i] < length_) ++n;
    return n;
  }

  // The firings before `f` that can still hold a later one back (the limit's N-1 newest).
  Key key(DurationMs f, const std::vector<DurationMs>& prev) const {
    std::vector<DurationMs> p;
    if (limit_)
      for (DurationMs x : prev)
        if (x + limit_->second + o_.front() > f) p.push_back(x);
    return {f, p};
  }
  std::vector<DurationMs> nextPrev(DurationMs f, const std::vector<DurationMs>& prev) const {
    if (!limit_ || limit_->first <= 1) return {};
    std::vector<DurationMs> p = key(f, prev).second;
    p.push_back(f);
    while (static_cast<int64_t>(p.size()) > limit_->first - 1) p.erase(p.begin());
    return p;
  }

  int64_t solve(DurationMs f, const std::vector<DurationMs>& prevIn, size_t depth) {
    Key k = key(f, prevIn);
    if (auto it = memo_.find(k); it != memo_.end()) return it->second.value;
    if (++visits_ > budget_ || depth > kMaxDepth) {
      gaveUp_ = true;
      return 0;
    }
    const std::vector<DurationMs>& prev = k.second;
    Best b{inWindow(f, o_.size()), 0, 0};
    std::vector<DurationMs> np = nextPrev(f, prev);
    for (size_t K = 1; K <= o_.size() && !gaveUp_; ++K) {
      // The K-th send goes out only if the next firing (which restarts the flow) comes after
      // the instant it is decided; an `idle` rule's next firing is an idle period later.
      DurationMs next = std::max(idle_, o_[K - 1] + 1) + f;
      if (limit_) {
        std::vector<DurationMs> w = prev;
        w.push_back(f);
        auto n = static_cast<size_t>(limit_->first);
        if (w.size() >= n) next = std::max(next, w[w.size() - n] + limit_->second + o_.front());
      }
      if (next + o_.front() >= length_) continue;  // no send of it in the window: stop instead
      std::set<DurationMs> cands{next};
      for (DurationMs x : o_)
        if (-x > next) cands.insert(-x);
      int64_t here = inWindow(f, K);
      for (DurationMs c : cands) {
        int64_t v = here + solve(c, np, depth + 1);
        if (gaveUp_) break;
        if (v > b.value) b = {v, static_cast<uint32_t>(K), c};
      }
    }
    if (!gaveUp_) memo_[k] = b;
    return b.value;
  }

  // A sound bound without the search: the firings with a send in the window lie in
  // [-o_last, length); consecutive ones are at least max(idle, o_1 + 1) apart, and with
  // `limit N per D` at most N of them lie in any D + o_1.
  int64_t loose() const {
    if (o_.empty()) return 0;
    DurationMs span = length_ + o_.back();
    DurationMs gap = std::max(idle_, o_.front() + 1);
    int64_t firings = (span - 1) / gap + 1;
    if (limit_) {
      DurationMs per = limit_->second + o_.front();
      firings = std::min(firings, limit_->first * ((span + per - 1) / per));
    }
    return firings * static_cast<int64_t>(o_.size());
  }

  void rebuildGreedy(PathResult& r) const {
    DurationMs f = -o_.front();
    std::vector<DurationMs> fs;
    int64_t reached = 0;
    while (f + o_.front() < length_ && fs.size() < kMaxDepth) {
      fs.push_back(f);
      DurationMs next = std::max(idle_, o_.back() + 1) + f;
      if (limit_ && static_cast<int64_t>(fs.size()) >= limit_->first)
        next = std::max(
            next, fs[fs.size() - static_cast<size_t>(limit_->first)] + limit_->second + o_.front());
      f = next;
    }
    for (DurationMs x : fs) {
      reached += inWindow(x, o_.size());
      r.firings.push_back(x);
      r.stepsOut.push_back(static_cast<uint32_t>(o_.size()));
    }
    r.reached = reached;
  }

  const std::vector<DurationMs>& o_;
  DurationMs idle_;
  std::optional<std::pair<int64_t, DurationMs>> limit_;
  DurationMs length_;
  size_t budget_;
  size_t visits_ = 0;
  bool gaveUp_ = false;
  std::map<Key, Best> memo_;
};

// ---- Paths through a rule's flow -----------------------------------------------------------

struct PathSend {
  DurationMs offset = 0;
  uint32_t step = 0;
  const ast::Step* s = nullptr;
  std::string variant;
};
struct Choice {
  const ast::Step* split = nullptr;
  size_t variant = 0;
};
struct Path {
  std::vector<PathSend> sends;
  std::vector<Choice> choices;
};

// Walks steps[i..] (then the frames below, as the runtime's stack of positions does).
void walk(const std::vector<std::pair<const std::vector<ast::Step>*, size_t>>& stack, DurationMs t,
          uint32_t step, const std::string& variant, Path cur, std::vector<Path>& out) {
  if (out.size() > kMaxPaths) return;
  auto frames = stack;
  while (!frames.empty() && frames.back().second >= frames.back().first->size()) frames.pop_back();
  if (frames.empty()) {
    out.push_back(std::move(cur));
    return;
  }
  const ast::Step& s = (*frames.back().first)[frames.back().second];
  ++frames.back().second;
  DurationMs at = t + (s.after ? s.after->ms : 0);
  if (s.action == ast::ActionKind::Send) {
    cur.sends.push_back({at, step, &s, variant});
    walk(frames, at, step + 1, variant, std::move(cur), out);
    return;
  }
  for (size_t v = 0; v < s.variants.size(); ++v) {
    Path p = cur;
    p.choices.push_back({&s, v});
    if (s.variants[v].holdout) {
      out.push_back(std::move(p));  // nothing from here on, not even the steps after the split
      continue;
    }
    auto inner = frames;
    inner.emplace_back(&s.variants[v].steps, 0);
    walk(inner, at, step + 1, s.variants[v].name.text, std::move(p), out);
  }
}

std::vector<Path> paths(const ast::Rule& r) {
  std::vector<Path> out;
  walk({{&r.steps, 0}}, 0, 1, "", Path{}, out);
  return out;
}

// ---- The rule set ----------------------------------------------------------------------------

// What one rule contributes to one window.
struct RuleBound {
  bool unbounded = false;
  std::string why;
  int64_t upper = 0;  // the proven bound
  bool exact = true;  // the search finished
  bool bypass = false;
  // The schedule (with the limit honoured), its path and what it reaches.
  const Path* path = nullptr;
  PathResult witness;
};

std::string evName(const sema::Model& m, uint32_t e) {
  return e < m.events.size() ? m.events[e].name : "?";
}

// An `unless` that is false when none of the given events happened: event terms (`E within D`,
// `E` in a step), joined by `or` and `and`.
bool falseWithout(const sema::Model& m, const ast::Expr* e, const std::set<uint32_t>& anchors) {
  if (e == nullptr) return false;
  if (e->kind == ast::ExprKind::EventTerm)
    return e->id < m.exprEvent.size() && anchors.count(m.exprEvent[e->id]) == 0;
  if (e->kind == ast::ExprKind::Binary && (e->op == ast::Op::Or || e->op == ast::Op::And))
    return e->op == ast::Op::Or
               ? falseWithout(m, e->lhs, anchors) && falseWithout(m, e->rhs, anchors)
               : falseWithout(m, e->lhs, anchors) || falseWithout(m, e->rhs, anchors);
  return false;
}

std::string ruleWhere(const Compilation& c, const sema::RuleInfo& ri) {
  Loc l = ri.rule->anonymous || !ri.rule->name.loc.valid() ? ri.rule->loc : ri.rule->name.loc;
  if (!l.valid()) return "";
  const SourceFile& f = c.sources.file(l.file);
  LineCol lc = f.lineCol(l.begin);
  return fmt::format("{}:{}:{}", f.path(), lc.line, lc.column);
}

Loc ruleLoc(const ast::Rule& r) {
  if (!r.anonymous && r.name.loc.valid()) return r.name.loc;
  return Loc{r.loc.file, r.loc.begin, r.loc.begin + 4};
}

class BoundsComputer {
 public:
  BoundsComputer(const Compilation& c, const BoundsOptions& o) : m_(c.model), o_(o) {
    for (uint32_t i = 0; i < m_.rules.size(); ++i) {
      const sema::RuleInfo& ri = m_.rules[i];
      if (ri.rule == nullptr || ri.anchorEvents.empty()) continue;
      rules_.push_back(i);
      paths_[i] = paths(*ri.rule);
      for (uint32_t e : ri.anchorEvents) ++anchorRules_[e];
    }
    for (const auto& [e, n] : anchorRules_) anchors_.insert(e);
  }

  WindowBound window(DurationMs length) {
    WindowBound w;
    w.length = length;
    const sema::Settings& st = m_.settings;
    // Settings that move a send later than its step's due time: the window of the search is
    // widened by the most they can add up to along a flow (docs/review.md).
    DurationMs quiet = 0;
    if (st.quietHours) {
      int len = (st.quietHours->endMinute - st.quietHours->startMinute + 24 * 60) % (24 * 60);
      quiet = static_cast<DurationMs>(len) * kMinute;
    }
    DurationMs perStep = st.arbitration + quiet + st.awaitEmail;
    std::vector<std::string> reasons;
    if (st.arbitration > 0) reasons.push_back("the arbitration window delays sends");
    if (st.quietHours) reasons.push_back("quiet hours defer sends");
    if (st.awaitEmail > 0) reasons.push_back("await_email delays sends");

    int64_t sum = 0;
    std::map<uint32_t, RuleBound> per;
    for (uint32_t i : rules_) {
      RuleBound rb = rule(i, length, perStep);
      if (rb.unbounded && !w.unbounded) {
        w.unbounded = true;
        w.unboundedRule = i;
        w.unboundedWhy = rb.why;
      }
      sum += rb.upper;
      w.perRule.emplace_back(i, rb.unbounded ? -1 : rb.upper);
      per[i] = std::move(rb);
    }
    // The frequency cap holds every send: at most N in each of ceil(L / D) consecutive
    // windows of D. The cooldown holds each template to one send per D.
    std::optional<int64_t> capBound, coolBound;
    if (st.cap) capBound = st.cap->count * ((length + st.cap->per - 1) / st.cap->per);
    if (st.cooldown && *st.cooldown > 0) {
      std::set<std::string> templates;
      for (uint32_t i : rules_)
        for (const auto& p : paths_[i])
          for (const auto& s : p.sends) templates.insert(s.s->templateName.text);
      coolBound =
          static_cast<int64_t>(templates.size()) * ((length + *st.cooldown - 1) / *st.cooldown);
    }
    bool someUnbounded = w.unbounded;
    if (w.unbounded && !capBound && !coolBound) {
      w.tight = false;
      schedule(w, per, st, reasons);  // what one can see of it
      w.count = 0;
      return w;
    }
    w.unbounded = false;  // a rule without end, held by the cap or the cooldown
    w.count = someUnbounded ? INT64_MAX : sum;
    if (capBound && *capBound < w.count) w.count = *capBound;
    if (coolBound && *coolBound < w.count) w.count = *coolBound;
    for (const auto& [i, rb] : per) {
      if (!rb.exact)
        reasons.push_back(
            fmt::format("the search over firing times of rule '{}' gave up", m_.rules[i].name));
      if (rb.bypass && rb.upper > rb.witness.reached)
        reasons.push_back(fmt::format(
            "rule '{}' may fire beyond its limit when its first send is suppressed (cap, "
            "cooldown, a step `unless`)",
            m_.rules[i].name));
    }
    schedule(w, per, st, reasons);
    if (w.reached != w.count)
      reasons.push_back(fmt::format("the schedule found reaches {}", w.reached));
    std::sort(reasons.begin(), reasons.end());
    reasons.erase(std::unique(reasons.begin(), reasons.end()), reasons.end());
    w.notTight = reasons;
    w.tight = reasons.empty();
    return w;
  }

 private:
  // Whether the rule's limit counts a send of this path: it counts each flow's first send that
  // goes out (step 1, or a split's variant's first step: runtime/policy/rule_limit.cpp).
  static bool limitCounts(const Path& p) { return !p.sends.empty(); }

  RuleBound rule(uint32_t i, DurationMs length, DurationMs perStep) {
    const sema::RuleInfo& ri = m_.rules[i];
    const sema::Settings& st = m_.settings;
    RuleBound rb;
    DurationMs idle = ri.idle.value_or(0);
    for (const Path& p : paths_[i]) {
      if (p.sends.empty()) continue;
      std::vector<DurationMs> offsets;
      for (const auto& s : p.sends) offsets.push_back(s.offset);
      std::optional<std::pair<int64_t, DurationMs>> limit;
      if (ri.rule->limit) limit = std::pair{ri.rule->limit->count, ri.rule->limit->per.ms};
      bool counts = limit && limitCounts(p);
      // A first send suppressed by a policy that does not end the flow is not counted, and the
      // rest of the flow still goes out: the limit then bounds nothing for the later steps.
      bool bypass = counts && p.sends.size() > 1 &&
                    (st.cap || st.cooldown || !p.sends.front().s->unless.empty());
      std::optional<std::pair<int64_t, DurationMs>> proven =
          counts && !bypass ? limit : std::nullopt;
      if (!proven && idle == 0 && offsets.front() == 0) {
        rb.unbounded = true;
        rb.why = !limit ? fmt::format("has no `limit` and sends at once on every {}", anchors(ri))
                        : fmt::format(
                              "sends at once on every {} whose first send is suppressed "
                              "(its `limit` counts only the first sends that go out)",
                              anchors(ri));
        if (rb.path == nullptr) {
          // Its schedule: firings 1 s apart, as many as the cap lets out in each of its windows
          // (without a cap the bound is "unbounded" and no schedule is printed).
          rb.path = &p;
          int64_t n = st.cap ? std::min<int64_t>(st.cap->count, 1000) : 10;
          DurationMs every = st.cap ? st.cap->per : length;
          for (DurationMs start = 0; start < length && rb.witness.firings.size() < 10000;
               start += every)
            for (int64_t k = 0; k < n && k * kSecond < every; ++k) {
              rb.witness.firings.push_back(start + k * kSecond);
              rb.witness.stepsOut.push_back(1);
            }
          rb.witness.reached = static_cast<int64_t>(rb.witness.firings.size());
        }
        continue;
      }
      DurationMs widened = length + perStep * static_cast<DurationMs>(offsets.size());
      PathResult up = PathSearch(offsets, idle, proven, widened, 2000000).run();
      PathResult wit =
          perStep == 0 && !bypass && counts == static_cast<bool>(proven)
              ? up
              : PathSearch(offsets, idle, counts ? limit : std::nullopt, length, 2000000).run();
      if (!rb.unbounded) {
        rb.exact = rb.exact && up.exact;
        rb.bypass = rb.bypass || bypass;
      }
      if (up.count > rb.upper) rb.upper = up.count;
      if (rb.path == nullptr || wit.reached > rb.witness.reached) {
        rb.path = &p;
        rb.witness = wit;
      }
    }
    if (rb.unbounded) rb.upper = 0;
    return rb;
  }

  std::string anchors(const sema::RuleInfo& ri) const {
    std::string s;
    for (size_t k = 0; k < ri.anchorEvents.size(); ++k)
      s += (k ? " or '" : "'") + evName(m_, ri.anchorEvents[k]) + "'";
    return s;
  }

  // Why a rule's part of the schedule may not happen as planned (empty: it does).
  std::string unrealizable(uint32_t i, const Path& p) const {
    const sema::RuleInfo& ri = m_.rules[i];
    const ast::Rule& r = *ri.rule;
    for (const auto* ref : r.anchor.events)
      if (ref->filter != nullptr || !ref->same.empty())
        return fmt::format("rule '{}' filters its anchor", ri.name);
    if (!ri.conditions.empty()) return fmt::format("rule '{}' has conditions", ri.name);
    if (ri.priorityExpr != nullptr) return fmt::format("rule '{}' computes its priority", ri.name);
    for (const auto* u : ri.unless)
      if (!falseWithout(m_, u, anchors_))
        return fmt::format("rule '{}' has an `unless` other than events no rule is armed by",
                           ri.name);
    for (const auto& s : p.sends)
      for (const auto* u : s.s->unless)
        if (!falseWithout(m_, u, anchors_))
          return fmt::format(
              "a step of rule '{}' has an `unless` other than events no rule is "
              "armed by",
              ri.name);
    if (ri.goalEvent && anchors_.count(*ri.goalEvent))
      return fmt::format("rule '{}' has a goal that another rule's anchor reaches", ri.name);
    for (uint32_t e : ri.anchorEvents)
      if (anchorRules_.at(e) > 1) return fmt::format("rules share the anchor '{}'", evName(m_, e));
    return "";
  }

  void schedule(WindowBound& w, const std::map<uint32_t, RuleBound>& per, const sema::Settings& st,
                std::vector<std::string>& reasons) {
    struct Item {
      DurationMs at;
      uint32_t rule;
      uint32_t step;
      size_t order;
      const PathSend* send;
      DurationMs firing;
    };
    std::vector<Item> items;
    std::vector<Choice> choices;
    DurationMs shift = 0;  // each rule's schedule 1 ms after the previous one's: no two at once
    for (const auto& [i, rb] : per) {
      if (rb.path == nullptr || rb.witness.reached == 0) continue;
      if (std::string why = unrealizable(i, *rb.path); !why.empty()) reasons.push_back(why);
      const sema::RuleInfo& ri = m_.rules[i];
      DurationMs idle = ri.idle.value_or(0);
      const PathResult& pr = rb.witness;
      // Shift only while the last send in the window stays in it.
      DurationMs last = 0;
      for (size_t k = 0; k < pr.firings.size(); ++k)
        for (size_t s = 0; s < pr.stepsOut[k]; ++s) {
          DurationMs t = pr.firings[k] + rb.path->sends[s].offset;
          if (t < w.length) last = std::max(last, t);
        }
      DurationMs d = last + shift < w.length ? shift : 0;
      for (size_t k = 0; k < pr.firings.size(); ++k) {
        DurationMs f = pr.firings[k] + d;
        w.firings.push_back({i, ri.anchorEvents.front(), f - idle, f});
        for (size_t s = 0; s < pr.stepsOut[k]; ++s) {
          const PathSend& ps = rb.path->sends[s];
          items.push_back({f + ps.offset, i, ps.step, items.size(), &ps, f});
        }
      }
      for (const auto& ch : rb.path->choices) choices.push_back(ch);
      shift += 1;
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      return std::tie(a.at, a.rule, a.step, a.order) < std::tie(b.at, b.rule, b.step, b.order);
    });
    std::sort(w.firings.begin(), w.firings.end(), [](const auto& a, const auto& b) {
      return std::tie(a.anchor, a.rule) < std::tie(b.anchor, b.rule);
    });
    // Interactions the per-rule search leaves out, checked on the merged schedule.
    for (size_t k = 1; k < items.size(); ++k)
      if (items[k].at == items[k - 1].at && items[k].rule != items[k - 1].rule)
        reasons.emplace_back("sends of two rules fall on one instant (arbitration)");
    // An anchor inside an `idle` wait cancels it (firings are sorted by anchor time).
    for (size_t k = 0; k < w.firings.size(); ++k) {
      const ScheduledFiring& f = w.firings[k];
      if (f.firing == f.anchor) continue;
      bool cancelled = false;
      for (size_t j = k + 1; j < w.firings.size() && w.firings[j].anchor < f.firing; ++j)
        cancelled = cancelled || (w.firings[j].anchor > f.anchor &&
                                  !m_.events[w.firings[j].anchorEvent].passive);
      if (cancelled) {
        reasons.push_back(fmt::format("another anchor falls in an `idle` wait of rule '{}'",
                                      m_.rules[f.rule].name));
        break;
      }
    }
    // Preemption: a send of priority p cancels pending steps of flows of lower priority.
    std::set<int64_t> priorities;
    for (const auto& [i, rb] : per)
      if (rb.path != nullptr && rb.witness.reached > 0) priorities.insert(m_.rules[i].priority);
    if (priorities.size() > 1) {
      bool found = false;
      for (size_t x = 0; x < items.size() && !found; ++x)
        for (size_t y = 0; y < items.size() && !found; ++y) {
          const Item& a = items[x];
          const Item& b = items[y];
          if (b.firing <= a.at && b.at > a.at && b.rule != a.rule &&
              m_.rules[b.rule].priority < m_.rules[a.rule].priority) {
            found = true;
            reasons.push_back(fmt::format("a send of rule '{}' preempts a pending step of '{}'",
                                          m_.rules[a.rule].name, m_.rules[b.rule].name));
          }
        }
    }
    // The cooldown and the cap, in the order of the policy, on the sends in time order.
    std::vector<Item> out;
    std::map<std::string, std::vector<DurationMs>> byTemplate;
    std::vector<DurationMs> sent;
    for (const auto& it : items) {
      const std::string& t = it.send->s->templateName.text;
      if (st.cooldown) {
        bool cooling = false;
        for (DurationMs x : byTemplate[t]) cooling = cooling || x > it.at - *st.cooldown;
        if (cooling) continue;
      }
      if (st.cap) {
        int64_t n = 0;
        for (DurationMs x : sent) n += x > it.at - st.cap->per;
        if (n >= st.cap->count) continue;
      }
      byTemplate[t].push_back(it.at);
      sent.push_back(it.at);
      out.push_back(it);
    }
    for (const auto& it : out) {
      if (it.at < 0 || it.at >= w.length) continue;
      w.sends.push_back({it.rule, it.step, it.send->s->templateName.text, it.send->variant, it.at});
    }
    w.reached = static_cast<int64_t>(w.sends.size());
    // A customer whose split variants are those of the schedule.
    if (choices.empty()) {
      w.customer = "c1";
      return;
    }
    if (!o_.variantOf) {
      reasons.emplace_back("no customer id was searched for the split variants");
      return;
    }
    for (int n = 1; n <= 100000 && w.customer.empty(); ++n) {
      std::string id = "c" + std::to_string(n);
      bool all = true;
      for (const auto& ch : choices) {
        const sema::RuleInfo* owner = nullptr;
        for (uint32_t i : rules_)
          for (const auto& p : paths_[i])
            for (const auto& c2 : p.choices)
              if (c2.split == ch.split) owner = &m_.rules[i];
        if (owner == nullptr || o_.variantOf(id, owner->name, *ch.split) != ch.variant) {
          all = false;
          break;
        }
      }
      if (all) w.customer = id;
    }
    if (w.customer.empty())
      reasons.emplace_back("no customer id among c1..c100000 gets the schedule's variants");
  }

  const sema::Model& m_;
  const BoundsOptions& o_;
  std::vector<uint32_t> rules_;
  std::map<uint32_t, std::vector<Path>> paths_;
  std::map<uint32_t, int> anchorRules_;  // anchor event -> how many rules it arms
  std::set<uint32_t> anchors_;
};

std::string offset(DurationMs d) {
  return d < 0 ? "-" + formatDuration(-d) : "+" + formatDuration(d);
}

}  // namespace

PathResult worstPath(const std::vector<DurationMs>& offsets, DurationMs idle,
                     std::optional<std::pair<int64_t, DurationMs>> limit, DurationMs length,
                     size_t budget) {
  return PathSearch(offsets, idle, limit, length, budget).run();
}

Bounds bounds(Compilation& c, const BoundsOptions& options) {
  Bounds b;
  if (!c.ok()) return b;
  b.computed = true;
  BoundsComputer bc(c, options);
  b.day = bc.window(kDay);
  b.week = bc.window(7 * kDay);
  auto check = [&](const WindowBound& w, const std::optional<int64_t>& max, const char* flag,
                   const char* what) {
    if (!max) return;
    if (!w.unbounded && w.count <= *max) return;
    const sema::RuleInfo* blame = nullptr;
    if (w.unbounded) {
      blame = &c.model.rules[w.unboundedRule];
    } else {
      // The rule with the most sends in the schedule.
      std::map<uint32_t, int> n;
      for (const auto& s : w.sends) ++n[s.rule];
      int most = -1;
      for (const auto& [r, k] : n)
        if (k > most) {
          most = k;
          blame = &c.model.rules[r];
        }
    }
    if (blame == nullptr || blame->rule == nullptr) return;
    std::string msg = w.unbounded
                          ? fmt::format(
                                "one customer can get unboundedly many emails in {}: rule '{}' {}, "
                                "over {} {}",
                                what, blame->name, w.unboundedWhy, flag, *max)
                          : fmt::format("one customer can get {} {} emails in {}, over {} {}",
                                        w.tight ? "exactly" : "up to", w.count, what, flag, *max);
    auto d = c.diags.add(DiagKind::BoundExceeded, ruleLoc(*blame->rule), msg);
    if (!w.unbounded) {
      std::set<uint32_t> others;
      for (const auto& s : w.sends)
        if (&c.model.rules[s.rule] != blame) others.insert(s.rule);
      for (uint32_t r : others)
        if (c.model.rules[r].rule != nullptr)
          d.note(ruleLoc(*c.model.rules[r].rule),
                 fmt::format("'{}' sends in that schedule too", c.model.rules[r].name));
    }
    d.help(w.unbounded ? "give the rule a `limit N per D`, an `idle` wait, or set a `cap`"
                       : "lower a rule's `limit`, or set a `cap` (`trig check --bounds` prints "
                         "the schedule)");
  };
  check(b.day, options.maxPerDay, "--max-per-day", "one day");
  check(b.week, options.maxPerWeek, "--max-per-week", "one week");
  return b;
}

std::string boundsText(const Bounds& b, const Compilation& c) {
  if (!b.computed) return "bounds: not computed: the rules have errors\n";
  std::string out;
  const sema::Model& m = c.model;
  for (const auto* w : {&b.day, &b.week}) {
    const char* name = w == &b.day ? "any day" : "any week";
    if (w->unbounded) {
      const sema::RuleInfo& ri = m.rules[w->unboundedRule];
      out += fmt::format("{}: unbounded: rule '{}' ({}) {}, and no `cap` or `cooldown` is set\n",
                         name, ri.name, ruleWhere(c, ri), w->unboundedWhy);
      continue;
    }
    if (w->tight)
      out += fmt::format("{}: {} {} (tight: the schedule below reaches it)\n", name, w->count,
                         w->count == 1 ? "email" : "emails");
    else {
      std::string why;
      for (size_t k = 0; k < w->notTight.size(); ++k) why += (k ? "; " : "") + w->notTight[k];
      out += fmt::format("{}: at most {} {} (not tight: {})\n", name, w->count,
                         w->count == 1 ? "email" : "emails", why);
    }
    if (w->sends.empty()) continue;
    out += fmt::format("  schedule for customer \"{}\", from the start of the window:\n",
                       w->customer.empty() ? "?" : w->customer);
    for (const auto& f : w->firings) {
      const sema::RuleInfo& ri = m.rules[f.rule];
      bool sends = false;
      for (const auto& s : w->sends) sends = sends || s.rule == f.rule;
      if (!sends) continue;
      if (f.anchor == f.firing)
        out += fmt::format("    {:<12} {} fires '{}'\n", offset(f.anchor), evName(m, f.anchorEvent),
                           ri.name);
      else
        out += fmt::format("    {:<12} {} arms '{}' (fires at {})\n", offset(f.anchor),
                           evName(m, f.anchorEvent), ri.name, offset(f.firing));
    }
    for (const auto& s : w->sends)
      out += fmt::format("    {:<12} send {} ('{}', step {}{})\n", offset(s.at), s.templateName,
                         m.rules[s.rule].name, s.step,
                         s.variant.empty() ? "" : ", variant " + s.variant);
  }
  return out;
}

std::string boundsJson(const Bounds& b, const Compilation& c) {
  using json = nlohmann::ordered_json;
  json j;
  j["computed"] = b.computed;
  const sema::Model& m = c.model;
  for (const auto* w : {&b.day, &b.week}) {
    json o;
    o["window_ms"] = w->length;
    if (!b.computed) {
      o["unbounded"] = false;
    } else if (w->unbounded) {
      o["unbounded"] = true;
      o["rule"] = m.rules[w->unboundedRule].name;
      o["why"] = w->unboundedWhy;
    } else {
      o["unbounded"] = false;
      o["count"] = w->count;
      o["tight"] = w->tight;
      o["not_tight"] = w->notTight;
      o["reached"] = w->reached;
      o["customer"] = w->customer;
      json fs = json::array();
      for (const auto& f : w->firings)
        fs.push_back({{"rule", m.rules[f.rule].name},
                      {"event", evName(m, f.anchorEvent)},
                      {"anchor_ms", f.anchor},
                      {"firing_ms", f.firing}});
      o["firings"] = fs;
      json ss = json::array();
      for (const auto& s : w->sends)
        ss.push_back({{"rule", m.rules[s.rule].name},
                      {"step", s.step},
                      {"template", s.templateName},
                      {"variant", s.variant.empty() ? json(nullptr) : json(s.variant)},
                      {"at_ms", s.at}});
      o["sends"] = ss;
    }
    j[w == &b.day ? "day" : "week"] = o;
  }
  return j.dump();
}

}  // namespace trig::review
