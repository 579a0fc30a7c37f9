#include "runtime/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "compiler/support/time.h"

namespace trig::report {

void Funnel::add(const Funnel& o) {
  sent += o.sent;
  opened += o.opened;
  clicked += o.clicked;
  unsubscribed += o.unsubscribed;
  bounced += o.bounced;
  converted += o.converted;
  for (const auto& [k, v] : o.suppressed) suppressed[k] += v;
}

namespace {

// The declared event type of that name (core::kNone: none).
uint32_t eventType(const plan::IngestPlan& p, std::string_view name) {
  for (uint32_t t = 0; t < p.events.size(); ++t)
    if (p.events[t].name == name) return t;
  return core::kNone;
}

// The slot of an event type's field of that name (core::kNone: none).
uint32_t fieldSlot(const plan::IngestPlan& p, uint32_t type, std::string_view field) {
  if (type >= p.events.size()) return core::kNone;
  for (const plan::IngestField& f : p.events[type].fields)
    if (f.name == field) return f.slot;
  return core::kNone;
}

// Every split of the steps, depth first in declaration order.
void forEachSplit(const plan::Plan& plan, plan::StepRange steps,
                  const std::function<void(const plan::Step&)>& f) {
  for (uint32_t i = steps.first; i < steps.end; ++i) {
    const plan::Step& s = plan.steps[i];
    if (s.kind != plan::Step::Kind::Split) continue;
    f(s);
    for (const auto& v : s.variants) forEachSplit(plan, v.steps, f);
  }
}

double rate(uint64_t x, uint64_t n) {
  return n == 0 ? 0.0 : static_cast<double>(x) / static_cast<double>(n);
}

std::string pct(double r) {
  return fmt::format("{:.1f}%", r * 100);
}

std::string formatP(double p) {
  if (p < 0.001) return "p < 0.001";
  if (p >= 0.1) return fmt::format("p = {:.2f}", p);
  return fmt::format("p = {:.3f}", p);
}

}  // namespace

Collector::Collector(const plan::Program& program) : plan_(program.plan) {
  const plan::IngestPlan& events = program.ingest;
  open_ = eventType(events, "email_open");
  click_ = eventType(events, "email_click");
  bounce_ = eventType(events, "email_bounce");
  unsub_ = eventType(events, "unsubscribe");
  openSlot_ = fieldSlot(events, open_, "message_id");
  clickSlot_ = fieldSlot(events, click_, "message_id");
  bounceSlot_ = fieldSlot(events, bounce_, "message_id");
  unsubSlot_ = fieldSlot(events, unsub_, "message_id");
  rows_.resize(plan_.rules.size());
}

uint32_t Collector::rowFor(uint32_t rule, uint32_t step, const std::string& templ,
                           const std::string& variant) {
  auto& rows = rows_[rule];
  for (uint32_t i = 0; i < rows.size(); ++i)
    if (rows[i].step == step && rows[i].variant == variant && rows[i].templateName == templ)
      return i;
  rows.push_back(StepRow{step, templ, variant, {}});
  return static_cast<uint32_t>(rows.size() - 1);
}

void Collector::add(const engine::Record& r) {
  if (r.rule == core::kNone || r.rule >= rows_.size()) return;
  const bool counted = !since_ || r.time >= *since_;
  if (r.decision == engine::Decision::Send) {
    uint32_t row = rowFor(r.rule, r.step, r.templateName, r.variant);
    if (counted) ++rows_[r.rule][row].funnel.sent;
    auto idx = static_cast<uint32_t>(messages_.size());
    Message& m = messages_.emplace_back();
    m.rule = r.rule;
    m.row = row;
    m.time = r.time;
    m.counted = counted;
    m.customer = r.customer;
    if (!r.messageId.empty()) {
      MessageKey k = keyOf(r.messageId);
      if (k.text.empty())
        byNumber_.emplace(k.number, idx);
      else
        byText_.emplace(std::move(k.text), idx);
    }
  } else if (r.decision == engine::Decision::Suppressed && counted) {
    uint32_t row = rowFor(r.rule, r.step, r.templateName, r.variant);
    ++rows_[r.rule][row].funnel.suppressed[engine::reasonName(r.reason)];
  }
}

void Collector::trace(const engine::TraceEntry& t) {
  using Kind = engine::TraceEntry::Kind;
  traced_ = true;
  if (t.rule == core::kNone) return;
  if (t.kind != Kind::Fired && t.kind != Kind::Conversion &&
      !(t.kind == Kind::Decision && t.record != nullptr))
    return;
  std::string key = t.customer;
  key += '\0';
  key += std::to_string(t.rule);
  switch (t.kind) {
    case Kind::Fired: lastSend_[key] = MessageKey{}; break;  // a new instance: nothing sent yet
    case Kind::Decision:
      if (t.record->decision == engine::Decision::Send)
        lastSend_[key] = keyOf(t.record->messageId);
      else if (t.record->decision == engine::Decision::Suppressed &&
               t.record->reason == engine::Reason::Holdout)
        lastSend_[key] = MessageKey{};
      break;
    case Kind::Conversion:
      if (since_ && t.time < *since_) break;  // before the report's window
      if (auto it = lastSend_.find(key); it != lastSend_.end() && it->second.set)
        convertedMessages_.push_back(it->second);
      break;
    default: break;
  }
}

Collector::MessageKey Collector::keyOf(std::string_view id) {
  MessageKey k;
  k.set = !id.empty();
  constexpr std::string_view kPrefix = "trig-";
  bool number = id.size() == kPrefix.size() + 16 && id.starts_with(kPrefix);
  for (size_t i = kPrefix.size(); number && i < id.size(); ++i) {
    const char c = id[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) number = false;
    k.number = k.number << 4 | static_cast<uint64_t>(digit);
  }
  if (!number) k.number = 0, k.text = id;
  return k;
}

uint32_t Collector::indexOf(const MessageKey& k) const {
  if (!k.set) return kNoMessage;
  if (k.text.empty()) {
    auto it = byNumber_.find(k.number);
    return it == byNumber_.end() ? kNoMessage : it->second;
  }
  auto it = byText_.find(k.text);
  return it == byText_.end() ? kNoMessage : it->second;
}

Collector::Engaged Collector::classify(const Event& e) const {
  Engaged p;
  if (e.kind != Event::Kind::Track || e.type == core::kNone) return p;
  uint32_t slot = core::kNone;
  if (e.type == open_) {
    p.kind = Engagement::Open;
    slot = openSlot_;
  } else if (e.type == click_) {
    p.kind = Engagement::Click;
    slot = clickSlot_;
  } else if (e.type == bounce_) {
    p.kind = Engagement::Bounce;
    slot = bounceSlot_;
  } else if (e.type == unsub_) {
    p.kind = Engagement::Unsubscribe;
    slot = unsubSlot_;
  } else {
    return p;
  }
  p.time = e.time;
  if (slot != core::kNone && slot < e.fields.size() && e.fields[slot].kind == Value::Kind::String)
    p.key = e.fields[slot].s;
  else if (p.kind == Engagement::Unsubscribe)
    p.byCustomer = true, p.key = e.customer;  // attributed to the customer's latest send
  return p;
}

void Collector::apply(const Engaged& p) {
  if (p.kind == Engagement::None) return;
  // With --since: the engagement from then on (that of earlier sends is not attributed).
  if (since_ && p.time < *since_) return;
  Message* m = nullptr;
  if (!p.byCustomer) {
    m = find(p.key);
  } else {
    for (; indexed_ < messages_.size(); ++indexed_)
      byCustomer_[messages_[indexed_].customer].emplace_back(messages_[indexed_].time,
                                                             static_cast<uint32_t>(indexed_));
  }
  if (auto it = p.byCustomer ? byCustomer_.find(std::string(p.key)) : byCustomer_.end();
      it != byCustomer_.end()) {
    // No message id: the customer's latest message at or before the unsubscribe.
    auto& v = it->second;
    if (!std::is_sorted(v.begin(), v.end()))
      std::stable_sort(v.begin(), v.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    auto up = std::upper_bound(v.begin(), v.end(), p.time,
                               [](TimeMs t, const auto& q) { return t < q.first; });
    if (up != v.begin()) m = &messages_[std::prev(up)->second];
  }
  switch (p.kind) {
    case Engagement::Open:
      ++engagement_.opens;
      if (m) m->opened = true;
      break;
    case Engagement::Click:
      ++engagement_.clicks;
      if (m) m->clicked = true;
      break;
    case Engagement::Bounce:
      ++engagement_.bounces;
      if (m) m->bounced = true;
      break;
    case Engagement::Unsubscribe:
      ++engagement_.unsubscribes;
      if (m) m->unsubscribed = true;
      break;
    case Engagement::None: break;
  }
  if (!m) ++engagement_.unmatched;
}

void Collector::addEvent(const Event& e) {
  apply(classify(e));
}

void Collector::addEventNow(const Event& e) {
  Engaged p = classify(e);
  if (p.kind == Engagement::None) return;
  // A send is recorded once the clock passed its instant, so an open of it comes later; what is
  // not known yet (and every unsubscribe matched by customer) waits for the end.
  if (!p.byCustomer && find(p.key)) return apply(p);
  deferred_.push_back(Pending{p.kind, p.byCustomer, p.time, std::string(p.key)});
}

void Collector::applyDeferred() {
  for (const Pending& p : deferred_) apply(Engaged{p.kind, p.byCustomer, p.time, p.key});
  deferred_.clear();
  deferred_.shrink_to_fit();
}

Report Collector::build(const engine::Stats& stats, const engine::Coverage& coverage,
                        const ReportOptions& options) const {
  Report out;
  out.engagement = engagement_;
  out.events = stats.events;
  out.detectDiff = options.detectDiff;
  out.since = since_;
  // The time buckets: the smallest of an hour, a day and a week that keeps the series short.
  TimeMs lo = std::numeric_limits<TimeMs>::max(), hi = std::numeric_limits<TimeMs>::min();
  for (const Message& m : messages_)
    if (m.counted) lo = std::min(lo, m.time), hi = std::max(hi, m.time);
  if (lo <= hi) {
    const TimeMs span = hi - lo;
    constexpr DurationMs kHour = 3'600'000;
    out.bucket = span <= 200 * kHour        ? kHour
                 : span <= 200 * 24 * kHour ? 24 * kHour
                                            : 7 * 24 * kHour;
  }
  auto bucketOf = [&](TimeMs t) {
    TimeMs b = t / out.bucket * out.bucket;
    return b > t ? b - out.bucket : b;  // floor for times before 1970
  };
  std::vector<std::map<TimeMs, uint64_t>> perRule(plan_.rules.size());
  for (const auto& m : messages_)
    if (m.counted) ++perRule[m.rule][bucketOf(m.time)];
  // Engagement onto the rows.
  auto rows = rows_;
  // Conversions onto the messages they followed, checked against the engine's count per rule.
  std::vector<uint64_t> attributed(plan_.rules.size());
  out.stepConversions = traced_;
  for (const auto& id : convertedMessages_) {
    const uint32_t i = indexOf(id);
    if (i == kNoMessage) {
      out.stepConversions = false;
      break;
    }
    const Message& m = messages_[i];
    if (m.counted) ++rows[m.rule][m.row].funnel.converted;
    ++attributed[m.rule];
  }
  for (const auto& m : messages_) {
    if (!m.counted) continue;
    Funnel& f = rows[m.rule][m.row].funnel;
    f.opened += m.opened ? 1 : 0;
    f.clicked += m.clicked ? 1 : 0;
    f.bounced += m.bounced ? 1 : 0;
    f.unsubscribed += m.unsubscribed ? 1 : 0;
  }
  for (uint32_t ri = 0; ri < plan_.rules.size(); ++ri) {
    const plan::Rule& info = plan_.rules[ri];
    RuleReport rr;
    rr.name = info.name;
    if (info.title) rr.title = *info.title;
    if (info.goalEvent < plan_.eventNames.size()) {
      rr.goalEvent = plan_.eventNames[info.goalEvent].name;
      rr.goalWithin = formatDuration(info.goalWithin);
    }
    const engine::Stats::PerRule* ps = ri < stats.rules.size() ? &stats.rules[ri] : nullptr;
    if (ps) {
      rr.fired = ps->fired;
      rr.converted = ps->conversions;
      rr.convertedWithoutMessage = ps->conversionsWithoutMessage;
    }
    // Variants in declaration order, to order the rows.
    std::map<std::string, size_t> variantOrder;
    std::set<std::string> holdouts;
    forEachSplit(plan_, info.steps, [&](const plan::Step& s) {
      for (const auto& v : s.variants) {
        variantOrder.emplace(v.name, variantOrder.size() + 1);
        if (v.holdout) holdouts.insert(v.name);
      }
    });
    if (ps)
      for (const auto& [name, pv] : ps->variants)
        if (!holdouts.contains(name)) rr.convertedAfterMessage += pv.conversions;
    if (attributed[ri] != rr.convertedAfterMessage) out.stepConversions = false;
    auto order = [&](const std::string& v) {
      auto it = variantOrder.find(v);
      return it == variantOrder.end() ? (v.empty() ? 0 : variantOrder.size() + 1) : it->second;
    };
    rr.steps = rows[ri];
    std::stable_sort(rr.steps.begin(), rr.steps.end(), [&](const StepRow& a, const StepRow& b) {
      if (a.step != b.step) return a.step < b.step;
      if (order(a.variant) != order(b.variant)) return order(a.variant) < order(b.variant);
      if (a.variant != b.variant) return a.variant < b.variant;
      return a.templateName < b.templateName;
    });
    for (const auto& s : rr.steps) rr.funnel.add(s.funnel);
    forEachSplit(plan_, info.steps, [&](const plan::Step& s) {
      SplitResult sr;
      sr.name = s.arms.name;
      for (size_t vi = 0; vi < s.variants.size(); ++vi) {
        const plan::Variant& v = s.variants[vi];
        VariantResult vr;
        vr.name = v.name;
        vr.percent = s.arms.percents[vi].toString();
        vr.holdout = v.holdout;
        if (auto it = coverage.variants.find(engine::Coverage::variantKey(s.id, vi));
            it != coverage.variants.end())
          vr.entered = it->second;
        if (ps)
          if (auto it = ps->variants.find(vr.name); it != ps->variants.end())
            vr.converted = it->second.conversions;
        for (const auto& row : rr.steps)
          if (row.variant == vr.name) vr.funnel.add(row.funnel);
        vr.conversionCi = wilson(vr.converted, vr.entered);
        vr.clickCi = wilson(vr.funnel.clicked, vr.funnel.sent);
        sr.variants.push_back(std::move(vr));
      }
      for (size_t i = 1; i < sr.variants.size(); ++i) {
        const auto& a = sr.variants[0];
        auto& b = sr.variants[i];
        VariantResult::Versus vs;
        vs.conversionDiff = rate(b.converted, b.entered) - rate(a.converted, a.entered);
        vs.conversion = twoProportionZTest(a.converted, a.entered, b.converted, b.entered);
        vs.clickDiff =
            rate(b.funnel.clicked, b.funnel.sent) - rate(a.funnel.clicked, a.funnel.sent);
        vs.click =
            twoProportionZTest(a.funnel.clicked, a.funnel.sent, b.funnel.clicked, b.funnel.sent);
        b.versus = vs;
        std::string v = verdict(a, b, options.detectDiff);
        if (sr.variants.size() > 2) v = b.name + " vs " + a.name + ": " + v;
        sr.verdicts.push_back(std::move(v));
      }
      rr.splits.push_back(std::move(sr));
    });
    if (!perRule[ri].empty()) {
      const TimeMs first = perRule[ri].begin()->first, last = perRule[ri].rbegin()->first;
      for (TimeMs t = first; t <= last; t += out.bucket) {
        auto it = perRule[ri].find(t);
        rr.sendsOverTime.emplace_back(t, it == perRule[ri].end() ? 0 : it->second);
      }
    }
    out.rules.push_back(std::move(rr));
  }
  return out;
}

std::string verdict(const VariantResult& a, const VariantResult& b, double detectDiff) {
  if (a.entered == 0 || b.entered == 0)
    return fmt::format("not enough data yet: no customers in {}", a.entered == 0 && b.entered == 0
                                                                      ? "either variant"
                                                                  : a.entered == 0 ? a.name
                                                                                   : b.name);
  const double ra = rate(a.converted, a.entered), rb = rate(b.converted, b.entered);
  const ZTest t = twoProportionZTest(a.converted, a.entered, b.converted, b.entered);
  if (t.valid && t.p < kAlpha) {
    const bool bWins = rb > ra;
    const auto& w = bWins ? b : a;
    const auto& l = bWins ? a : b;
    return fmt::format("{} converts better than {}: {} vs {}, {}", w.name, l.name,
                       pct(bWins ? rb : ra), pct(bWins ? ra : rb), formatP(t.p));
  }
  const uint64_t need = sampleSizePerGroup(ra, detectDiff);
  const uint64_t have = std::min(a.entered, b.entered);
  const std::string points = fmt::format("{:g}-point", detectDiff * 100);
  if (need > have)
    return fmt::format(
        "no significant difference yet ({}); about {} more customers per variant are needed to "
        "detect a {} difference",
        formatP(t.p), need - have, points);
  return fmt::format(
      "no significant difference ({}), with enough customers to detect a {} "
      "difference",
      formatP(t.p), points);
}

// ---------------------------------------------------------------------------------------------
// Text

namespace {

// Columns are left-aligned when `left` says so, right-aligned otherwise.
std::string table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& left,
                  const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) line += "  ";
      const bool l = i < left.size() && left[i];
      std::string pad(width[i] - r[i].size(), ' ');
      line += l ? r[i] + pad : pad + r[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string suppressedText(const std::map<std::string, uint64_t>& s) {
  std::string out;
  for (const auto& [k, v] : s) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", k, v);
  return out.empty() ? "-" : out;
}

std::string rateText(uint64_t x, uint64_t n) {
  return n == 0 ? "-" : pct(rate(x, n));
}

// The funnel table of a rule, a row per step and one for all: the text and the html report's.
std::vector<std::vector<std::string>> funnelRows(const Report& r, const RuleReport& rule,
                                                 const char* unsubscribedHeader) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"step", "template", "variant", "sent", "delivered", "opened", "open%", "clicked",
                  "click%", "converted", unsubscribedHeader, "bounced", "suppressed"});
  auto add = [&](const std::string& step, const std::string& templ, const std::string& variant,
                 const Funnel& f) {
    rows.push_back(
        {step, templ.empty() ? "-" : templ, variant.empty() ? "-" : variant, std::to_string(f.sent),
         std::to_string(f.sent), std::to_string(f.opened), rateText(f.opened, f.sent),
         std::to_string(f.clicked), rateText(f.clicked, f.sent),
         r.stepConversions ? std::to_string(f.converted) : "-", std::to_string(f.unsubscribed),
         std::to_string(f.bounced), suppressedText(f.suppressed)});
  };
  for (const auto& s : rule.steps) add(std::to_string(s.step), s.templateName, s.variant, s.funnel);
  add("all", "", "", rule.funnel);
  return rows;
}

std::string ciText(const Interval& i, uint64_t n) {
  return n == 0 ? "-" : fmt::format("[{:.1f}, {:.1f}]", i.low * 100, i.high * 100);
}

std::string diffText(double d) {
  return fmt::format("{:+.1f} pt", d * 100);
}

std::string pText(const ZTest& t) {
  if (!t.valid) return "-";
  return t.p < 0.0001 ? "<0.0001" : fmt::format("{:.4f}", t.p);
}

// "goal purchased within 1d: 2 converted (50.0% of fired; 1 after a send, 1 after a holdout
// point, 0 before any send)"
std::string goalText(const RuleReport& rule) {
  if (rule.goalEvent.empty()) return "no goal";
  const uint64_t holdout =
      rule.converted - rule.convertedAfterMessage - rule.convertedWithoutMessage;
  return fmt::format(
      "goal {} within {}: {} converted ({} of fired; {} after a send, {} after a holdout point, {} "
      "before any send)",
      rule.goalEvent, rule.goalWithin, rule.converted, rateText(rule.converted, rule.fired),
      rule.convertedAfterMessage, holdout, rule.convertedWithoutMessage);
}

}  // namespace

std::string renderText(const Report& r) {
  std::string out;
  out += fmt::format(
      "trig report: {} events; engagement events: {} opens, {} clicks, {} unsubscribes, {} "
      "bounces ({} not matched to a send)\n",
      r.events, r.engagement.opens, r.engagement.clicks, r.engagement.unsubscribes,
      r.engagement.bounces, r.engagement.unmatched);
  if (r.since)
    out += "counted from " + formatTimestamp(*r.since) + " on (the events before it replayed)\n";
  for (const auto& rule : r.rules) {
    out += "\n";
    out +=
        fmt::format("rule {}{}\n", rule.name, rule.title.empty() ? "" : " \"" + rule.title + "\"");
    std::string goal = goalText(rule);
    out += fmt::format("  fired {}, sent {}; {}\n", rule.fired, rule.funnel.sent, goal);
    std::vector<std::vector<std::string>> rows = funnelRows(r, rule, "unsub");
    out += table(
        rows,
        {true, true, true, false, false, false, false, false, false, false, false, false, true},
        "  ");
    for (const auto& sp : rule.splits) {
      out += fmt::format("  split {}\n", sp.name);
      std::vector<std::vector<std::string>> t;
      t.push_back({"variant", "share", "entered", "converted", "conv%", "95% CI", "diff", "p",
                   "sent", "clicked", "click%", "95% CI", "diff", "p"});
      for (const auto& v : sp.variants) {
        std::vector<std::string> row = {v.name + (v.holdout ? " (holdout)" : ""),
                                        v.percent + "%",
                                        std::to_string(v.entered),
                                        std::to_string(v.converted),
                                        rateText(v.converted, v.entered),
                                        ciText(v.conversionCi, v.entered),
                                        v.versus ? diffText(v.versus->conversionDiff) : "-",
                                        v.versus ? pText(v.versus->conversion) : "-",
                                        std::to_string(v.funnel.sent),
                                        std::to_string(v.funnel.clicked),
                                        rateText(v.funnel.clicked, v.funnel.sent),
                                        ciText(v.clickCi, v.funnel.sent),
                                        v.versus && v.funnel.sent && sp.variants[0].funnel.sent
                                            ? diffText(v.versus->clickDiff)
                                            : "-",
                                        v.versus ? pText(v.versus->click) : "-"};
        t.push_back(std::move(row));
      }
      out += table(t,
                   {true, false, false, false, false, false, false, false, false, false, false,
                    false, false, false},
                   "    ");
      for (const auto& v : sp.verdicts) out += "    verdict: " + v + "\n";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

std::string jstr(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(double d) {
  return fmt::format("{:.6f}", d);
}

std::string jrate(uint64_t x, uint64_t n) {
  return n == 0 ? "null" : num(rate(x, n));
}

std::string jci(const Interval& i, uint64_t n) {
  return n == 0 ? "null" : "[" + num(i.low) + "," + num(i.high) + "]";
}

std::string jtest(const ZTest& t) {
  return t.valid ? fmt::format("{{\"z\":{},\"p\":{}}}", num(t.z), num(t.p)) : "null";
}

std::string jfunnel(const Funnel& f, bool conversions) {
  std::string sup = "{";
  for (const auto& [k, v] : f.suppressed)
    sup += fmt::format("{}{}:{}", sup.size() > 1 ? "," : "", jstr(k), v);
  sup += "}";
  return fmt::format(
      "\"sent\":{},\"delivered\":{},\"opened\":{},\"clicked\":{},\"unsubscribed\":{},"
      "\"bounced\":{},\"suppressed\":{},\"open_rate\":{},\"click_rate\":{},"
      "\"converted_messages\":{}",
      f.sent, f.sent, f.opened, f.clicked, f.unsubscribed, f.bounced, sup, jrate(f.opened, f.sent),
      jrate(f.clicked, f.sent), conversions ? std::to_string(f.converted) : std::string("null"));
}

}  // namespace

std::string renderJson(const Report& r) {
  std::string out = "{";
  out += fmt::format(
      "\"events\":{},\"engagement\":{{\"opens\":{},\"clicks\":{},\"unsubscribes\":{},"
      "\"bounces\":{},\"unmatched\":{}}},\"detect_difference\":{},\"bucket\":{},\"rules\":[",
      r.events, r.engagement.opens, r.engagement.clicks, r.engagement.unsubscribes,
      r.engagement.bounces, r.engagement.unmatched, num(r.detectDiff),
      r.bucket ? jstr(formatDuration(r.bucket)) : std::string("null"));
  // Only with --since, so that a report of everything stays as it was.
  if (r.since)
    out.insert(out.size() - std::string_view("\"rules\":[").size(),
               "\"since\":" + jstr(formatTimestamp(*r.since)) + ",");
  bool firstRule = true;
  for (const auto& rule : r.rules) {
    if (!firstRule) out += ",";
    firstRule = false;
    out += fmt::format(
        "{{\"name\":{},\"title\":{},\"goal\":{},\"fired\":{},\"converted\":{},"
        "\"converted_without_message\":{},\"conversion_rate\":{},",
        jstr(rule.name), rule.title.empty() ? "null" : jstr(rule.title),
        rule.goalEvent.empty() ? std::string("null")
                               : fmt::format("{{\"event\":{},\"within\":{}}}", jstr(rule.goalEvent),
                                             jstr(rule.goalWithin)),
        rule.fired, rule.converted, rule.convertedWithoutMessage,
        rule.goalEvent.empty() ? std::string("null") : jrate(rule.converted, rule.fired));
    out += jfunnel(rule.funnel, r.stepConversions) + ",\"sends_over_time\":[";
    for (size_t i = 0; i < rule.sendsOverTime.size(); ++i)
      out +=
          fmt::format("{}[{},{}]", i ? "," : "", jstr(formatTimestamp(rule.sendsOverTime[i].first)),
                      rule.sendsOverTime[i].second);
    out += "],\"steps\":[";
    for (size_t i = 0; i < rule.steps.size(); ++i) {
      const auto& s = rule.steps[i];
      out += fmt::format("{}{{\"step\":{},\"template\":{},\"variant\":{},{}}}", i ? "," : "",
                         s.step, s.templateName.empty() ? "null" : jstr(s.templateName),
                         s.variant.empty() ? "null" : jstr(s.variant),
                         jfunnel(s.funnel, r.stepConversions));
    }
    out += "],\"splits\":[";
    for (size_t i = 0; i < rule.splits.size(); ++i) {
      const auto& sp = rule.splits[i];
      out += fmt::format("{}{{\"name\":{},\"variants\":[", i ? "," : "", jstr(sp.name));
      for (size_t j = 0; j < sp.variants.size(); ++j) {
        const auto& v = sp.variants[j];
        std::string vs = "null";
        if (v.versus)
          vs = fmt::format(
              "{{\"conversion_difference\":{},\"conversion_test\":{},\"click_difference\":{},"
              "\"click_test\":{}}}",
              num(v.versus->conversionDiff), jtest(v.versus->conversion), num(v.versus->clickDiff),
              jtest(v.versus->click));
        out += fmt::format(
            "{}{{\"name\":{},\"percent\":{},\"holdout\":{},\"entered\":{},\"converted\":{},"
            "\"conversion_rate\":{},\"conversion_ci\":{},\"click_ci\":{},{},\"vs_first\":{}}}",
            j ? "," : "", jstr(v.name), v.percent, v.holdout ? "true" : "false", v.entered,
            v.converted, jrate(v.converted, v.entered), jci(v.conversionCi, v.entered),
            jci(v.clickCi, v.funnel.sent), jfunnel(v.funnel, r.stepConversions), vs);
      }
      out += "],\"verdicts\":[";
      for (size_t j = 0; j < sp.verdicts.size(); ++j) out += (j ? "," : "") + jstr(sp.verdicts[j]);
      out += "]}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTML: one page, inline CSS and SVG, no script, no external resource.

namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A horizontal bar chart: one bar per (label, value), scaled to the largest value.
std::string funnelSvg(const std::vector<std::pair<std::string, uint64_t>>& bars) {
  const int rowH = 26, labelW = 90, barW = 360, valueW = 80;
  uint64_t max = 1;
  for (const auto& b : bars) max = std::max(max, b.second);
  const int h = rowH * static_cast<int>(bars.size()) + 4;
  std::string out = fmt::format(
      "<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\""
      "><title>funnel</title>",
      labelW + barW + valueW, h, labelW + barW + valueW, h);
  for (size_t i = 0; i < bars.size(); ++i) {
    const int y = static_cast<int>(i) * rowH + 2;
    const double w =
        static_cast<double>(barW) * static_cast<double>(bars[i].second) / static_cast<double>(max);
    out += fmt::format(
        "<text x=\"0\" y=\"{}\" class=\"l\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" "
        "height=\"{}\" class=\"b{}\"/><text x=\"{:.1f}\" y=\"{}\" class=\"v\">{}</text>",
        y + 16, esc(bars[i].first), labelW, y + 2, w, rowH - 6, i, labelW + w + 6, y + 16,
        bars[i].second);
  }
  return out + "</svg>";
}

// Rates with their 95% interval as whiskers, on a 0-100% axis scaled to the largest upper end.
struct RateBar {
  std::string label;
  bool known = false;
  double rate = 0;
  Interval ci;
};

std::string rateSvg(const std::string& title, const std::vector<RateBar>& bars) {
  const int rowH = 30, labelW = 140, barW = 340, valueW = 150;
  double max = 0.01;
  for (const auto& b : bars)
    if (b.known) max = std::max(max, b.ci.high);
  max = std::min(1.0, max * 1.05);
  const int h = rowH * static_cast<int>(bars.size()) + 24;
  auto x = [&](double r) { return labelW + static_cast<double>(barW) * r / max; };
  std::string out = fmt::format(
      "<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\""
      "><title>{}</title>",
      labelW + barW + valueW, h, labelW + barW + valueW, h, esc(title));
  out += fmt::format("<text x=\"0\" y=\"14\" class=\"h\">{}</text>", esc(title));
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const int y = 20 + static_cast<int>(i) * rowH;
    out += fmt::format("<text x=\"0\" y=\"{}\" class=\"l\">{}</text>", y + 17, esc(b.label));
    if (!b.known) {
      out += fmt::format("<text x=\"{}\" y=\"{}\" class=\"v\">no data</text>", labelW, y + 17);
      continue;
    }
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" class=\"b{}\"/>"
        "<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" class=\"w\"/>"
        "<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" class=\"w\"/>"
        "<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" class=\"w\"/>"
        "<text x=\"{}\" y=\"{}\" class=\"v\">{:.1f}% [{:.1f}, {:.1f}]</text>",
        labelW, y + 4, x(b.rate) - labelW, rowH - 8, i % 4, x(b.ci.low), y + rowH / 2, x(b.ci.high),
        y + rowH / 2, x(b.ci.low), y + 8, x(b.ci.low), y + rowH - 8, x(b.ci.high), y + 8,
        x(b.ci.high), y + rowH - 8, labelW + barW + 6, y + 17, b.rate * 100, b.ci.low * 100,
        b.ci.high * 100);
  }
  return out + "</svg>";
}

// Sends per bucket as columns, with the first and last bucket's time under the axis.
std::string timeSvg(const std::vector<std::pair<TimeMs, uint64_t>>& series) {
  const int w = 600, h = 120, base = 96;
  uint64_t max = 1;
  for (const auto& p : series) max = std::max(max, p.second);
  const double colW = static_cast<double>(w) / static_cast<double>(series.size());
  std::string out = fmt::format(
      "<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">"
      "<title>sends over time</title><text x=\"0\" y=\"12\" class=\"h\">sends over time "
      "(max {} per bucket)</text>",
      w + 10, h, w + 10, h, max);
  for (size_t i = 0; i < series.size(); ++i) {
    const double bh = 70.0 * static_cast<double>(series[i].second) / static_cast<double>(max);
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
        "class=\"b0\"><title>{}: "
        "{}</title></rect>",
        static_cast<double>(i) * colW, base - bh, std::max(1.0, colW - 1), bh,
        formatTimestamp(series[i].first), series[i].second);
  }
  out += fmt::format("<line x1=\"0\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"w\"/>", base, w, base);
  out += fmt::format("<text x=\"0\" y=\"{}\">{}</text>", base + 16,
                     formatTimestamp(series.front().first));
  if (series.size() > 1)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", w, base + 16,
                       formatTimestamp(series.back().first));
  return out + "</svg>";
}

// `rowAttrs`, when given, holds per row the data attributes its cells get (row 0, the header,
// gets none); each cell then also says its column (`data-col`, the header's text).
std::string htmlTable(const std::vector<std::vector<std::string>>& rows,
                      const std::vector<std::string>& rowAttrs = {}) {
  std::string out = "<table>";
  for (size_t i = 0; i < rows.size(); ++i) {
    out += "<tr>";
    for (size_t j = 0; j < rows[i].size(); ++j) {
      std::string attrs;
      if (i > 0 && i < rowAttrs.size())
        attrs = fmt::format(" {} data-col=\"{}\"", rowAttrs[i], esc(rows[0][j]));
      out += fmt::format("<{0}{1}>{2}</{0}>", i == 0 ? "th" : "td", attrs, esc(rows[i][j]));
    }
    out += "</tr>";
  }
  return out + "</table>";
}

std::string dataAttrs(std::initializer_list<std::pair<const char*, std::string>> attrs) {
  std::string out;
  for (const auto& [k, v] : attrs)
    out += fmt::format("{}data-{}=\"{}\"", out.empty() ? "" : " ", k, esc(v));
  return out;
}

}  // namespace

std::string htmlEscape(std::string_view s) {
  return esc(s);
}

const char* htmlStyle() {
  return "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}"
         "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 8px;"
         "text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
         ".verdict{font-weight:600;margin:.3em 0}.chart text{font-size:12px;fill:#222}"
         ".chart .h{font-weight:600}.chart .w{stroke:#000;stroke-width:1.5}"
         ".b0{fill:#4e79a7}.b1{fill:#f28e2b}.b2{fill:#59a14f}.b3{fill:#e15759}";
}

std::string renderRuleHtml(const Report& r, const RuleReport& rule, bool dataAttributes) {
  std::string out;
  out += fmt::format("<p>fired {}, sent {}; {}</p>\n", rule.fired, rule.funnel.sent,
                     esc(goalText(rule)));
  out += funnelSvg({{"sent", rule.funnel.sent},
                    {"opened", rule.funnel.opened},
                    {"clicked", rule.funnel.clicked},
                    {"converted", rule.convertedAfterMessage}}) +
         "\n";
  if (!rule.sendsOverTime.empty()) out += timeSvg(rule.sendsOverTime) + "\n";
  std::vector<std::vector<std::string>> rows = funnelRows(r, rule, "unsubscribed");
  std::vector<std::string> attrs;
  if (dataAttributes) {
    attrs.emplace_back();
    for (const auto& s : rule.steps)
      attrs.push_back(dataAttrs(
          {{"rule", rule.name}, {"step", std::to_string(s.step)}, {"variant", s.variant}}));
    attrs.push_back(dataAttrs({{"rule", rule.name}, {"step", "all"}, {"variant", ""}}));
  }
  out += htmlTable(rows, attrs) + "\n";
  for (const auto& sp : rule.splits) {
    out += fmt::format("<h3>split {}</h3>\n", esc(sp.name));
    for (size_t i = 0; i < sp.verdicts.size(); ++i) {
      std::string a;
      if (dataAttributes && i + 1 < sp.variants.size())
        a = " " +
            dataAttrs(
                {{"rule", rule.name}, {"split", sp.name}, {"variant", sp.variants[i + 1].name}});
      out += "<p class=\"verdict\"" + a + ">" + esc(sp.verdicts[i]) + "</p>\n";
    }
    std::vector<RateBar> conv, click;
    std::vector<std::vector<std::string>> t;
    std::vector<std::string> tattrs;
    if (dataAttributes) tattrs.emplace_back();
    t.push_back({"variant", "share", "entered", "converted", "conv%", "95% CI", "diff", "p", "sent",
                 "clicked", "click%", "95% CI", "diff", "p"});
    for (const auto& v : sp.variants) {
      std::string label = v.name + (v.holdout ? " (holdout)" : "");
      conv.push_back({label, v.entered > 0, rate(v.converted, v.entered), v.conversionCi});
      click.push_back({label, v.funnel.sent > 0, rate(v.funnel.clicked, v.funnel.sent), v.clickCi});
      t.push_back({label, v.percent + "%", std::to_string(v.entered), std::to_string(v.converted),
                   rateText(v.converted, v.entered), ciText(v.conversionCi, v.entered),
                   v.versus ? diffText(v.versus->conversionDiff) : "-",
                   v.versus ? pText(v.versus->conversion) : "-", std::to_string(v.funnel.sent),
                   std::to_string(v.funnel.clicked), rateText(v.funnel.clicked, v.funnel.sent),
                   ciText(v.clickCi, v.funnel.sent),
                   v.versus && v.funnel.sent && sp.variants[0].funnel.sent
                       ? diffText(v.versus->clickDiff)
                       : "-",
                   v.versus ? pText(v.versus->click) : "-"});
      if (dataAttributes)
        tattrs.push_back(dataAttrs({{"rule", rule.name}, {"split", sp.name}, {"variant", v.name}}));
    }
    out += rateSvg("conversion rate (95% CI)", conv) + "\n";
    out += rateSvg("click rate (95% CI)", click) + "\n";
    out += htmlTable(t, tattrs) + "\n";
  }
  return out;
}

std::string renderHtml(const Report& r) {
  std::string out = std::string(
                        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<title>trig report</title><style>") +
                    htmlStyle() + "</style></head><body>\n<h1>trig report</h1>\n";
  out += fmt::format(
      "<p>{} events; engagement events: {} opens, {} clicks, {} unsubscribes, {} bounces ({} not "
      "matched to a send).</p>\n",
      r.events, r.engagement.opens, r.engagement.clicks, r.engagement.unsubscribes,
      r.engagement.bounces, r.engagement.unmatched);
  if (r.since)
    out += "<p>Counted from " + esc(formatTimestamp(*r.since)) +
           " on (the events before it replayed).</p>\n";
  for (const auto& rule : r.rules) {
    out += fmt::format("<section><h2>{}{}</h2>\n", esc(rule.name),
                       rule.title.empty() ? "" : " &mdash; " + esc(rule.title));
    out += renderRuleHtml(r, rule, false);
    out += "</section>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace trig::report
