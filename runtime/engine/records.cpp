// Records: every decision becomes one, counted in the stats, traced for `trig explain`, and
// handed to the sink in output order when the instant ends.
#include "runtime/engine/engine_impl.h"

#include <algorithm>

namespace trig::engine {

const char* decisionName(Decision d) {
  switch (d) {
    case Decision::Send: return "send";
    case Decision::Suppressed: return "suppressed";
    case Decision::Deferred: return "deferred";
    case Decision::Dropped: return "dropped";
  }
  return "?";
}

// The records of the instant that ended go to the sink in output order. They are sorted by
// pointer (a Record is a few hundred bytes), and most instants hold one record.
void Engine::Impl::flush() {
  if (kept == 0) return;
  ordered.clear();
  for (size_t i = 0; i < kept; ++i) ordered.push_back(&buffer[i]);
  if (ordered.size() > 1)
    std::sort(ordered.begin(), ordered.end(), [this](const Record* a, const Record* b) {
      if (a->time != b->time) return a->time < b->time;
      if (a->customer != b->customer) return a->customer < b->customer;
      uint64_t ra = a->rule == core::kNone ? 0 : rulePlan.rules[a->rule].order + 1ull;
      uint64_t rb = b->rule == core::kNone ? 0 : rulePlan.rules[b->rule].order + 1ull;
      if (ra != rb) return ra < rb;
      if (a->step != b->step) return a->step < b->step;
      return a->order < b->order;  // unique: the sort is total, so stable
    });
  if (opt.sink)
    for (const Record* r : ordered) opt.sink(*r);
  kept = 0;
  // An instant with many records (a replay's end) leaves no more than a few slots behind.
  constexpr size_t kSlotsKept = 64;
  if (buffer.size() > kSlotsKept) buffer.resize(kSlotsKept);
}

Record& Engine::Impl::draft() {
  if (kept == buffer.size()) return buffer.emplace_back();
  Record& r = buffer[kept];
  // Every member of Record, as a new one has it (the strings keep their room).
  r.decision = Decision::Send;
  r.time = 0;
  r.customer.clear();
  r.rule = core::kNone;
  r.step = 0;
  r.templateName.clear();
  r.variant.clear();
  r.to.clear();
  r.subject.clear();
  r.body.clear();
  r.messageId.clear();
  r.reason = Reason::None;
  r.until = 0;
  r.loc = Loc{};
  r.detail.clear();
  r.event.clear();
  r.source.clear();
  r.order = 0;
  return r;
}

void Engine::Impl::emit(Record&& r) {
  Record& slot = draft();
  slot = std::move(r);
  emit(slot);
}

void Engine::Impl::emit(Record& r) {
  r.order = nextOrder++;
  r.time = now;
  switch (r.decision) {
    case Decision::Send: ++stats.sends; break;
    case Decision::Deferred: ++stats.deferred; break;
    case Decision::Suppressed: {
      // The map's nodes stay put: each reason is looked up by name once.
      uint64_t*& count = suppressedCount[static_cast<size_t>(r.reason)];
      if (count == nullptr) count = &stats.suppressed[reasonName(r.reason)];
      ++*count;
      break;
    }
    case Decision::Dropped: break;
  }
  if (tracing(TraceEntry::Kind::Decision, r.customer)) {
    TraceEntry t;
    t.kind = TraceEntry::Kind::Decision;
    t.time = now;
    t.customer = r.customer;
    t.rule = r.rule;
    t.loc = r.loc;
    t.text = r.detail;
    t.record = &r;
    opt.trace(t);
  }
  // Kept for the instant's end, or the slot is free again (a record only traced).
  if (r.decision == Decision::Send || opt.explain) ++kept;
}

Record& Engine::Impl::sendRecord(const PendingSend& ps, Decision d, Reason reason) {
  Flow& f = *ps.flow;
  Record& r = draft();
  r.decision = d;
  r.reason = reason;
  r.customer.assign(f.customer->id);
  r.rule = f.rule;
  r.step = ps.step;
  r.templateName.assign(ps.send->templateName);
  r.variant.assign(ps.variantName());
  r.messageId.assign(ps.messageId.view());
  r.loc = ps.send->loc;
  return r;
}

void Engine::Impl::suppress(const PendingSend& ps, Reason reason, std::string detail, Loc loc) {
  Record& r = sendRecord(ps, Decision::Suppressed, reason);
  r.detail = std::move(detail);
  if (loc.valid()) r.loc = loc;
  emit(r);
}

}  // namespace trig::engine
