// The review's analyses over the encoded rules (encode.h): which queries are asked, how an
// unsat core or a model becomes a diagnostic, and the witness `test` blocks.
#include "compiler/review/review.h"

#include <z3++.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/review/encode.h"
#include "compiler/sema/lint.h"
#include "compiler/sema/pins.h"
#include "compiler/support/time.h"

namespace trig::review {
namespace {

constexpr size_t kModelsKept = 8;  // per rule and anchor
enum class Answer { Sat, Unsat, Unknown };

// 2026-01-05T10:00:00Z: the witness' anchor time (a Monday, ten in the morning UTC).
constexpr TimeMs kWitnessTime = 1767607200000;

// Where a diagnostic about a rule points: its name, or its `trigger` keyword when anonymous.
Loc ruleLoc(const ast::Rule& r) {
  if (!r.anonymous && r.name.loc.valid()) return r.name.loc;
  return Loc{r.loc.file, r.loc.begin, r.loc.begin + 4};
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

class Reviewer {
 public:
  Reviewer(Compilation& c, const Options& o)
      : c_(c), o_(o), enc_(z_, c), gate_(c.program, c.sources, c.diags) {
    configure(solver_);
    configure(stringSolver_);
    workAtStart_ = workDone();
  }

  // Set once per solver: setting a solver's parameters at each query costs more than most
  // queries.
  void configure(z3::solver& s) {
    z3::params p(z_);
    p.set("rlimit", static_cast<unsigned>(std::min<uint64_t>(o_.queryWork, UINT32_MAX)));
    p.set("timeout", o_.queryTimeoutMs);
    s.set(p);
  }

  Stats run() {
    const sema::Model& m = c_.model;
    encoded_.resize(m.rules.size());
    fires_.resize(m.rules.size());
    models_.resize(m.rules.size());
    for (uint32_t i = 0; i < m.rules.size(); ++i) neverFires(i);
    for (uint32_t i = 0; i < m.rules.size(); ++i) redundant(i);
    pairs();
    return stats_;
  }

 private:
  bool reviewable(const sema::RuleInfo& ri) const {
    return ri.rule != nullptr && !ri.anchorEvents.empty();
  }

  // `strings`: whether the query uses Z3's string theory; such queries have a solver of their
  // own, since the theory, once loaded, slows every later query of its solver.
  Answer check(bool strings, const std::vector<z3::expr>& hard,
               const std::vector<z3::expr>& assumed, z3::model* model = nullptr,
               std::vector<size_t>* core = nullptr) {
    if (stats_.queries % kBudgetEvery == 0) spent_ = workDone();
    if (spent_ >= o_.budgetWork) {
      ++stats_.unknown;
      return Answer::Unknown;
    }
    ++stats_.queries;
    // One solver, a scope per query: a fresh solver sets its theories up again (milliseconds).
    z3::solver& s = strings ? stringSolver_ : solver_;
    // A query stopped by its time limit leaves the solver so that popping its scope can crash
    // inside Z3 (seen with string terms on a loaded machine): that solver is dropped instead.
    struct Scope {
      Reviewer& r;
      z3::solver& s;
      bool stopped = false;
      Scope(Reviewer& rv, z3::solver& x) : r(rv), s(x) { s.push(); }
      ~Scope() {
        if (!stopped) {
          s.pop();
          return;
        }
        s = z3::solver(r.z_);
        r.configure(s);
      }
    } scope(*this, s);
    for (const auto& h : hard) s.add(h);
    z3::expr_vector lits(z_);
    for (size_t i = 0; i < assumed.size(); ++i) {
      z3::expr lit = z_.bool_const(("p." + std::to_string(i)).c_str());
      s.add(z3::implies(lit, assumed[i]));
      lits.push_back(lit);
    }
    z3::check_result r = s.check(lits);
    if (r == z3::unknown) {
      ++stats_.unknown;
      scope.stopped = true;
      return Answer::Unknown;
    }
    if (r == z3::sat) {
      if (model != nullptr) *model = s.get_model();
      return Answer::Sat;
    }
    if (core != nullptr) {
      core->clear();
      z3::expr_vector uc = s.unsat_core();
      for (unsigned k = 0; k < uc.size(); ++k) {
        std::string name = uc[k].to_string();  // p.N
        core->push_back(std::strtoul(name.c_str() + 2, nullptr, 10));
      }
      std::sort(core->begin(), core->end());
    }
    return Answer::Unsat;
  }

  // Z3's resource units spent by this review so far (the context's count, over both solvers).
  // Reading the statistics costs about 30 µs, so the budget is looked at every kBudgetEvery
  // queries: still the same queries on every machine.
  uint64_t workDone() {
    z3::stats st = solver_.statistics();
    for (unsigned k = 0; k < st.size(); ++k)
      if (st.key(k) == "rlimit count" && st.is_uint(k)) return st.uint_value(k) - workAtStart_;
    return 0;
  }

  // The smallest core: drop each term in turn while the rest stays unsatisfiable.
  std::vector<size_t> minimize(bool strings, const std::vector<z3::expr>& hard,
                               const std::vector<z3::expr>& terms, std::vector<size_t> core) {
    for (size_t k = 0; k < core.size();) {
      std::vector<z3::expr> rest;
      for (size_t j = 0; j < core.size(); ++j)
        if (j != k) rest.push_back(terms[core[j]]);
      if (check(strings, hard, rest) == Answer::Unsat) {
        core.erase(core.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        ++k;
      }
    }
    return core;
  }

  std::string termText(const Term& t) const {
    if (!t.loc.valid()) return "";
    std::string_view s = c_.sources.file(t.loc.file).text();
    if (t.loc.end > s.size() || t.loc.begin >= t.loc.end) return "";
    return std::string(s.substr(t.loc.begin, t.loc.end - t.loc.begin));
  }

  // --- can-never-fire -------------------------------------------------------------------------

  void neverFires(uint32_t index) {
    const sema::RuleInfo& ri = c_.model.rules[index];
    if (!reviewable(ri)) return;
    bool any = false, unknown = false;
    std::vector<size_t> firstCore;
    for (uint32_t ev : ri.anchorEvents) {
      encoded_[index].push_back(enc_.encode(ri, ev));
      const Encoded& e = encoded_[index].back();
      std::vector<z3::expr> terms;
      for (const auto& t : e.terms) terms.push_back(t.holds);
      std::vector<size_t> core;
      z3::model model(z_);
      Answer a = check(e.strings, enc_.axioms({&e}), terms, &model, &core);
      models_[index].push_back({});
      if (a == Answer::Sat) models_[index].back().push_back(model);
      fires_[index].push_back(a == Answer::Sat);  // unknown: no further question about it
      if (a == Answer::Sat) any = true;
      if (a == Answer::Unknown) unknown = true;
      if (a == Answer::Unsat && encoded_[index].size() == 1)
        firstCore = minimize(e.strings, enc_.axioms({&e}), terms, core);
    }
    if (any) return;
    if (unknown) {
      if (gate_.open(DiagKind::ReviewUnknown, ri.rule->loc))
        c_.diags
            .report(DiagKind::ReviewUnknown, ruleLoc(*ri.rule),
                    "could not decide whether rule '{}' can fire: the solver gave up", ri.name)
            .help("simplify its condition, or silence this with `# trig: allow review-unknown`");
      return;
    }
    if (!gate_.open(DiagKind::CanNeverFire, ri.rule->loc)) return;
    const Encoded& e = encoded_[index].front();
    std::vector<const Term*> core;
    bool self = false;
    for (size_t k : firstCore) {
      if (e.terms[k].kind == Term::Kind::Self)
        self = true;
      else
        core.push_back(&e.terms[k]);
    }
    if (core.empty()) return;  // not reached: the anchor alone always fits its own history
    std::string arms =
        ri.anchorEvents.size() == 1
            ? "the '" + c_.model.events[ri.anchorEvents.front()].name + "' that arms it"
            : "every event that arms it";
    std::string msg;
    if (self && core.size() == 1 && core.front()->kind == Term::Kind::Unless)
      msg =
          "rule '" + ri.name + "' can never fire: " + arms + " always counts for its own 'unless'";
    else if (core.size() == 1)
      msg = "rule '" + ri.name + "' can never fire: '" + termText(*core.front()) + "' never holds" +
            (self ? " (its anchor counts in its own history)" : "");
    else
      msg = "rule '" + ri.name + "' can never fire: its terms '" + termText(*core.front()) +
            "' and '" + termText(*core[1]) + "'" + (core.size() > 2 ? " (and more)" : "") +
            " contradict each other";
    auto b = c_.diags.add(DiagKind::CanNeverFire, core.front()->loc, msg);
    for (size_t k = 1; k < core.size(); ++k) b.note(core[k]->loc, "contradicts this term");
    if (self) b.note(ri.rule->anchor.loc, "the anchor is here; it counts in its own history");
    b.help(self && core.size() == 1
               ? "narrow the condition with a filter or `same f` (only other events then count), "
                 "or remove it"
               : "fix or remove one of the contradicting terms, or remove the rule");
  }

  // Whether term `i` of a rule that can fire is surely not implied by its other terms, without a
  // query: it pins a string field of the anchor (it fails for a value outside the pin, or an
  // absent field) and no other term reads that field, so the others hold with it failing.
  bool surelyFree(const Encoded& e, size_t i) {
    const Term& t = e.terms[i];
    if (t.kind != Term::Kind::Filter || !t.exact) return false;
    auto pins = sema::pinsOf(c_.model, e.anchorEvent, t.expr);
    if (pins.size() != 1 || !pins.front().strings || pins.front().values.empty()) return false;
    std::set<unsigned> mine, seen;
    constants(t.holds, mine, seen);
    std::set<unsigned> others;
    seen.clear();
    for (size_t j = 0; j < e.terms.size(); ++j)
      if (j != i) constants(e.terms[j].holds, others, seen);
    for (unsigned c : mine)
      if (others.count(c)) return false;
    return true;
  }

  // The uninterpreted constants of `e` (by declaration id).
  static void constants(const z3::expr& e, std::set<unsigned>& out, std::set<unsigned>& seen) {
    if (!seen.insert(e.id()).second || !e.is_app()) return;
    if (e.is_const() && e.decl().decl_kind() == Z3_OP_UNINTERPRETED) {
      out.insert(e.decl().id());
      return;
    }
    for (unsigned k = 0; k < e.num_args(); ++k) constants(e.arg(k), out, seen);
  }

  // --- redundant-term -------------------------------------------------------------------------

  void redundant(uint32_t index) {
    const sema::RuleInfo& ri = c_.model.rules[index];
    if (!reviewable(ri) || encoded_[index].size() != 1 || fires_[index].empty() ||
        !fires_[index].front())
      return;
    if (!gate_.open(DiagKind::RedundantTerm, ri.rule->loc)) return;
    const Encoded& e = encoded_[index].front();
    std::vector<z3::expr> axioms = enc_.axioms({&e});
    std::vector<uint8_t> active(e.terms.size(), 1);
    for (size_t i = 0; i < e.terms.size(); ++i) {
      const Term& t = e.terms[i];
      if ((t.kind != Term::Kind::Filter && t.kind != Term::Kind::When) || t.expr == nullptr)
        continue;
      if (surelyFree(e, i)) {
        ++stats_.termsByPins;
        continue;
      }
      std::vector<z3::expr> hard = axioms;
      hard.push_back(!t.holds);
      std::vector<z3::expr> others;
      std::vector<size_t> which;
      for (size_t j = 0; j < e.terms.size(); ++j)
        if (j != i && active[j]) {
          others.push_back(e.terms[j].holds);
          which.push_back(j);
        }
      std::vector<size_t> core;
      if (check(e.strings, hard, others, nullptr, &core) != Answer::Unsat) continue;
      core = minimize(e.strings, hard, others, core);
      active[i] = 0;
      std::string text = termText(t);
      auto b = c_.diags.add(
          DiagKind::RedundantTerm, t.loc,
          core.empty() ? "'" + text + "' always holds in rule '" + ri.name + "'"
                       : "'" + text + "' is implied by the other terms of rule '" + ri.name + "'");
      for (size_t k : core) {
        const Term& o = e.terms[which[k]];
        if (o.kind == Term::Kind::Self)
          b.note(o.loc, "implied by the anchor, which counts in its own history");
        else
          b.note(o.loc, "implied by this term");
      }
      b.help("delete '" + text + "'");
    }
  }

  // --- overlap and shadowed -------------------------------------------------------------------

  static DurationMs firstDelay(const sema::RuleInfo& ri) {
    DurationMs d = ri.idle.value_or(0);
    if (!ri.rule->steps.empty() && ri.rule->steps.front().after)
      d += ri.rule->steps.front().after->ms;
    return d;
  }

  static const ast::Step* firstSend(const sema::RuleInfo& ri) {
    if (ri.rule->steps.empty()) return nullptr;
    const ast::Step& s = ri.rule->steps.front();
    return s.action == ast::ActionKind::Send ? &s : nullptr;
  }

  const Encoded* encodedFor(uint32_t index, uint32_t ev) const {
    const sema::RuleInfo& ri = c_.model.rules[index];
    for (size_t k = 0; k < ri.anchorEvents.size() && k < encoded_[index].size(); ++k)
      if (ri.anchorEvents[k] == ev) return fires_[index][k] ? &encoded_[index][k] : nullptr;
    return nullptr;
  }

  std::vector<z3::model>* modelsFor(const Encoded& e) {
    const sema::RuleInfo& ri = *e.rule;
    uint32_t index = static_cast<uint32_t>(&ri - c_.model.rules.data());
    for (size_t k = 0; k < ri.anchorEvents.size() && k < models_[index].size(); ++k)
      if (ri.anchorEvents[k] == e.anchorEvent) return &models_[index][k];
    return nullptr;
  }

  // What is known of one kept model: which expressions hold in it, and the values it gives the
  // anchor's fields (by slot).
  struct FieldValue {
    bool known = false;    // false: cannot be told here (the full evaluation decides)
    bool present = false;  // an optional field can be absent
    std::string text;      // as a pin value
  };
  struct Memo {
    std::unordered_map<unsigned, bool> holds;  // by expression id
    std::unordered_map<uint32_t, FieldValue> fields;
  };

  // Whether one of the models satisfies `escape` (hi does not fire; when given) and every one
  // of `rest()` (built only when needed), completed with defaults for what they leave open,
  // consistently (a completed constant keeps its value in the model): a proof of satisfiability
  // without a query. A conjunction holds in a model exactly when each conjunct does, so each
  // conjunct is evaluated once per model and remembered; most pairs of rules then cost a few
  // look-ups. Whether hi does not fire is first read off the pins of hi and the model's values.
  bool anyModel(const std::vector<z3::model>* models, const Encoded* escape,
                const std::function<std::vector<z3::expr>()>& rest) {
    if (models == nullptr) return false;
    std::optional<std::vector<z3::expr>> more;
    for (const auto& m : *models) {
      Memo& memo = memo_[static_cast<Z3_model>(m)];
      auto holds = [&](const z3::expr& e) {
        auto [it, fresh] = memo.holds.try_emplace(e.id(), false);
        if (fresh) {
          it->second = m.eval(e, true).is_true();
          held_.push_back(e);  // keeps its id its own
        }
        return it->second;
      };
      if (escape != nullptr && !outsidePins(m, memo, *escape) && !holds(parts(*escape).escape))
        continue;
      if (!more) more = rest();
      if (std::all_of(more->begin(), more->end(), holds)) return true;
    }
    return false;
  }

  // Whether the model gives a field that `e` pins a value outside the pin (or leaves it absent):
  // then the pinning term is false in it, and so is e's condition. False when it cannot be told.
  bool outsidePins(const z3::model& m, Memo& memo, const Encoded& e) {
    for (const core::Pin& pin : e.pins) {
      auto [it, fresh] = memo.fields.try_emplace(pin.slot);
      if (fresh) it->second = fieldValue(m, e.anchorEvent, pin);
      const FieldValue& v = it->second;
      if (!v.known) continue;
      bool in = v.present && std::any_of(pin.values.begin(), pin.values.end(), [&](auto& p) {
                  return pin.prefix ? v.text.starts_with(p) : v.text == p;
                });
      // Absent: every comparison with it is false.
      if (!in) {
        ++stats_.modelsByPins;
        return true;
      }
    }
    return false;
  }

  FieldValue fieldValue(const z3::model& m, uint32_t ev, const core::Pin& pin) {
    const sema::FieldInfo& f = c_.model.events[ev].fields[pin.slot];
    std::string n = enc_.anchorVar(ev, f.name);
    if (!enc_.has(n)) return {};
    if (f.optional && f.defaultValue == nullptr) {
      z3::expr present = m.eval(enc_.presence(n, true), true);
      if (present.is_false()) return {true, false, ""};
      if (!present.is_true()) return {};
    }
    if (!pin.strings) {
      z3::expr v = m.eval(enc_.var(n, core::TypeKind::Bool), true);
      if (!v.is_true() && !v.is_false()) return {};
      return {true, true, v.is_true() ? "true" : "false"};
    }
    bool theory = enc_.theoryString(f.name);
    z3::expr v = m.eval(enc_.var(n, theory ? core::TypeKind::String : core::TypeKind::Int), true);
    if (theory ? !v.is_string_value() : !v.is_numeral()) return {};
    int64_t code = 0;
    if (!theory && !v.is_numeral_i64(code)) return {};  // a code past 64 bits: no literal's
    std::optional<std::string> text = enc_.decode(v);
    // Z3 escapes some characters of string values: the full evaluation decides those.
    if (!text || (theory && text->find('\\') != std::string::npos)) return {};
    return {true, true, *text};
  }

  // What a rule contributes to the pairs it is in, built once: its history axioms and terms as
  // conjuncts, and (for a higher rule) "it does not fire" and its Self terms.
  struct Parts {
    std::vector<z3::expr> axioms, terms, self;
    z3::expr escape;
    std::set<std::string> families;
  };

  const Parts& parts(const Encoded& e) {
    auto it = parts_.find(&e);
    if (it != parts_.end()) return it->second;
    Parts p{enc_.axioms({&e}), {}, {}, z_.bool_val(true), {}};
    z3::expr fires = z_.bool_val(true);
    for (const auto& t : e.terms) {
      p.terms.push_back(t.holds);
      if (t.kind == Term::Kind::Self)
        p.self.push_back(t.holds);
      else
        fires = fires && t.holds;
    }
    p.escape = !fires;
    for (const auto& h : e.history)
      if (h.isCount) p.families.insert(h.family);
    return parts_.emplace(&e, std::move(p)).first->second;
  }

  // The conjuncts of both rules firing (`both`), or of `lo` firing beside hi's Self terms (hi's
  // escape aside), as sets: the axioms of the two rules are each rule's own unless they share a
  // family of history counts, whose windows then nest across the rules.
  std::vector<z3::expr> conjuncts(const Encoded& x, const Encoded& y, bool both) {
    const Parts& px = parts(x);
    const Parts& py = parts(y);
    bool shared = false;
    for (const auto& f : px.families) shared = shared || py.families.count(f) != 0;
    std::vector<z3::expr> out = shared ? enc_.axioms({&x, &y}) : px.axioms;
    if (!shared) out.insert(out.end(), py.axioms.begin(), py.axioms.end());
    out.insert(out.end(), py.terms.begin(), py.terms.end());
    const auto& fromX = both ? px.terms : px.self;
    out.insert(out.end(), fromX.begin(), fromX.end());
    return out;
  }

  void pairs() {
    const sema::Model& m = c_.model;
    // Anchor event -> the rules it arms with a constant priority, in declaration order.
    std::map<uint32_t, std::vector<uint32_t>> byAnchor;
    for (uint32_t i = 0; i < m.rules.size(); ++i) {
      const sema::RuleInfo& ri = m.rules[i];
      if (!reviewable(ri) || ri.priorityExpr != nullptr) continue;
      for (uint32_t ev : ri.anchorEvents) {
        auto& v = byAnchor[ev];
        if (v.empty() || v.back() != i) v.push_back(i);
      }
    }
    std::vector<uint8_t> overlapSeen(m.rules.size(), 0), shadowSeen(m.rules.size(), 0),
        unknownSeen(m.rules.size(), 0);
    DurationMs window = m.settings.arbitration;
    for (const auto& [ev, rules] : byAnchor)
      for (size_t j = 0; j < rules.size(); ++j)
        for (size_t i = 0; i < j; ++i) {
          uint32_t a = rules[i], b = rules[j];
          const sema::RuleInfo& ra = m.rules[a];
          const sema::RuleInfo& rb = m.rules[b];
          if (std::llabs(firstDelay(ra) - firstDelay(rb)) > window) continue;
          const Encoded* ea = encodedFor(a, ev);
          const Encoded* eb = encodedFor(b, ev);
          if (ea == nullptr || eb == nullptr) continue;
          ++stats_.pairs;
          Answer got = Answer::Sat;
          if (ra.priority == rb.priority) {
            if (!overlapSeen[b]) got = overlap(ev, *ea, *eb, overlapSeen[b]);
          } else {
            bool aHigh = ra.priority > rb.priority;
            uint32_t lo = aHigh ? b : a;
            if (!shadowSeen[lo])
              got = shadowed(ev, aHigh ? *ea : *eb, aHigh ? *eb : *ea, shadowSeen[lo]);
          }
          if (got == Answer::Unknown && !unknownSeen[b]) {
            unknownSeen[b] = 1;
            if (gate_.open(DiagKind::ReviewUnknown, rb.rule->loc, {ra.rule->loc}))
              c_.diags
                  .report(DiagKind::ReviewUnknown, ruleLoc(*rb.rule),
                          "could not decide whether rules '{}' and '{}' overlap: the solver gave "
                          "up",
                          ra.name, rb.name)
                  .note(ruleLoc(*ra.rule), fmt::format("'{}' is declared here", ra.name))
                  .help(
                      "simplify their conditions, or silence this with `# trig: allow "
                      "review-unknown`");
          }
        }
  }

  std::vector<z3::expr> both(const Encoded& x, const Encoded& y) const {
    std::vector<z3::expr> out = enc_.axioms({&x, &y});
    for (const auto& t : x.terms) out.push_back(t.holds);
    for (const auto& t : y.terms) out.push_back(t.holds);
    return out;
  }

  // The witness' constraints: the history holds only the anchor; the customer can be mailed;
  // money in whole cents.
  void witnessOnly(std::vector<z3::expr>& hard, const std::vector<const Encoded*>& rules) {
    for (const auto* r : rules)
      for (const auto& h : r->history)
        if (h.isCount) hard.push_back(h.var == h.onlyAnchor);
    // A trait the rules read must still let the mail go out; one they do not read gets a
    // value that does (props()).
    const sema::Model& m = c_.model;
    for (const auto& t : m.traits) {
      std::string n = enc_.traitVar(t.name);
      if (!enc_.has(n)) continue;
      if (t.name == "email" && t.type.kind == core::TypeKind::String) {
        hard.push_back(enc_.presence(n, t.optional && !t.defaultValue));
        if (enc_.theoryString(t.name)) hard.push_back(enc_.var(n, t.type.kind).length() > 0);
      }
      if (t.name == "subscribed" && t.type.kind == core::TypeKind::Bool)
        hard.push_back(enc_.var(n, t.type.kind));
    }
  }

  Answer overlap(uint32_t ev, const Encoded& a, const Encoded& b, uint8_t& seen) {
    const sema::RuleInfo& ra = *a.rule;
    const sema::RuleInfo& rb = *b.rule;
    if (!gate_.open(DiagKind::Overlap, rb.rule->loc, {ra.rule->loc})) return Answer::Sat;
    auto rest = [&] { return conjuncts(a, b, true); };
    bool known = anyModel(modelsFor(a), nullptr, rest) || anyModel(modelsFor(b), nullptr, rest);
    std::vector<z3::expr> hard = both(a, b);
    Answer got = known ? Answer::Sat : check(a.strings || b.strings, hard, {});
    if (got != Answer::Sat) return got;
    seen = 1;
    std::string witness = witnessFor(ev, hard, {&a, &b}, a, b);
    std::string help = "give one of them a different priority";
    if (!witness.empty())
      help += "; a customer and event on which both fire, as a test to paste:\n" + witness;
    else
      help +=
          "; no witness: they overlap only for customers with a history beyond the anchor, or "
          "a first step is a split, or a term is not modelled exactly";
    c_.diags
        .report(DiagKind::Overlap, ruleLoc(*rb.rule),
                "rules '{}' and '{}' can both fire on one '{}' with priority {}: which one sends "
                "falls to declaration order",
                ra.name, rb.name, c_.model.events[ev].name, rb.priority)
        .note(ruleLoc(*ra.rule), fmt::format("'{}' is declared here", ra.name))
        .help(help);
    return got;
  }

  // `lo` never sends: whenever it fires on an event, `hi` fires on it too and wins.
  Answer shadowed(uint32_t ev, const Encoded& hi, const Encoded& lo, uint8_t& seen) {
    const sema::RuleInfo& rh = *hi.rule;
    const sema::RuleInfo& rl = *lo.rule;
    // hi must surely send at that moment: no limit, no goal, a plain first send, and a condition
    // the encoding models exactly (its negation is asked).
    const ast::Step* send = firstSend(rh);
    if (!hi.exact || rh.rule->limit || rh.goalEvent || send == nullptr || !send->unless.empty())
      return Answer::Sat;
    if (!gate_.open(DiagKind::Shadowed, rl.rule->loc, {rh.rule->loc})) return Answer::Sat;
    std::vector<z3::model>* loModels = modelsFor(lo);
    // Most pairs end here: a model of lo in which hi does not fire, found without building the
    // query (the conjuncts of the query below, in another order).
    if (anyModel(loModels, &hi, [&] { return conjuncts(hi, lo, false); })) return Answer::Sat;
    std::vector<z3::expr> hard = enc_.axioms({&hi, &lo});
    for (const auto& t : lo.terms) hard.push_back(t.holds);
    z3::expr hiFires = z_.bool_val(true);
    for (const auto& t : hi.terms) {
      if (t.kind == Term::Kind::Self)
        hard.push_back(t.holds);  // a fact about every history, not a choice
      else
        hiFires = hiFires && t.holds;
    }
    std::vector<z3::expr> escape = hard;
    escape.push_back(!hiFires);
    z3::model counter(z_);
    Answer got = check(hi.strings || lo.strings, escape, {}, &counter);
    if (got == Answer::Sat && loModels != nullptr && loModels->size() < kModelsKept)
      loModels->push_back(counter);  // lo fires without hi: may refute other rules too
    if (got != Answer::Unsat) return got == Answer::Unknown ? got : Answer::Sat;
    seen = 1;
    std::string witness = witnessFor(ev, hard, {&hi, &lo}, hi, lo);
    std::string help = "give it a priority above '" + rh.name + "', narrow '" + rh.name +
                       "', or remove '" + rl.name + "'";
    if (!witness.empty())
      help += "; a customer and event that show it, as a test to paste:\n" + witness;
    c_.diags
        .report(DiagKind::Shadowed, ruleLoc(*rl.rule),
                "rule '{}' never sends on '{}': whenever it fires, '{}' fires too and wins with "
                "priority {} over {}",
                rl.name, c_.model.events[ev].name, rh.name, rh.priority, rl.priority)
        .note(ruleLoc(*rh.rule), fmt::format("'{}' is declared here", rh.name))
        .help(help);
    return Answer::Unsat;
  }

  // --- witnesses ------------------------------------------------------------------------------

  // A value of the model as a property literal; empty when it cannot be written.
  std::string literal(const z3::expr& v, core::TypeKind kind) const {
    switch (kind) {
      case core::TypeKind::String: {
        auto text = enc_.decode(v);
        return text ? quote(*text) : "";
      }
      case core::TypeKind::Bool: return v.is_true() ? "true" : v.is_false() ? "false" : "";
      case core::TypeKind::Int: return v.is_numeral() ? std::to_string(v.get_numeral_int64()) : "";
      case core::TypeKind::Float:
      case core::TypeKind::Money: {
        if (!v.is_numeral()) return "";
        int64_t num = v.numerator().get_numeral_int64();
        int64_t den = v.denominator().get_numeral_int64();
        if (den <= 0 || 100 % den != 0) return "";
        int64_t cents = num * (100 / den);
        std::string sign = cents < 0 ? "-" : "";
        int64_t a = std::llabs(cents);
        return sign + std::to_string(a / 100) + "." + (a % 100 < 10 ? "0" : "") +
               std::to_string(a % 100);
      }
      case core::TypeKind::Time:
      case core::TypeKind::Duration:
      case core::TypeKind::List:
      case core::TypeKind::Error: return "";
    }
    return "";
  }

  // `name: value` pairs for a record: the fields the rules read, from the model; the required
  // fields they do not read, with a plain value.
  bool props(const z3::model& model, const std::vector<sema::FieldInfo>& fields,
             const std::function<std::string(const std::string&)>& name, std::string& out) {
    std::vector<std::string> parts;
    for (const auto& f : fields) {
      bool optional = f.optional && f.defaultValue == nullptr;
      std::string n = name(f.name);
      std::string lit;
      if (enc_.has(n)) {
        if (optional && !model.eval(enc_.presence(n, true), true).is_true()) continue;
        core::TypeKind sort = f.type.kind == core::TypeKind::String && !enc_.theoryString(f.name)
                                  ? core::TypeKind::Int
                                  : f.type.kind;
        lit = literal(model.eval(enc_.var(n, sort), true), f.type.kind);
        if (lit.empty()) return false;
      } else if (f.name == "email" && f.type.kind == core::TypeKind::String) {
        lit = quote("c1@example.com");
      } else if (optional || f.defaultValue != nullptr) {
        continue;
      } else {
        switch (f.type.kind) {
          case core::TypeKind::String: lit = quote(f.name == "product_id" ? "p1" : "x"); break;
          case core::TypeKind::Int: lit = "1"; break;
          case core::TypeKind::Float:
          case core::TypeKind::Money: lit = "1.00"; break;
          case core::TypeKind::Bool: lit = "true"; break;
          case core::TypeKind::Time:
          case core::TypeKind::Duration:
          case core::TypeKind::List:
          case core::TypeKind::Error: return false;
        }
      }
      parts.push_back(f.name + ": " + lit);
    }
    out = "{ ";
    for (size_t k = 0; k < parts.size(); ++k) out += (k ? ", " : "") + parts[k];
    out += parts.empty() ? "}" : " }";
    return true;
  }

  // A `test` block in which one event fires both rules; `first` wins the arbitration. Empty when
  // no such customer exists with a history of only the anchor, or a term is not modelled exactly.
  std::string witnessFor(uint32_t ev, std::vector<z3::expr> hard,
                         const std::vector<const Encoded*>& rules, const Encoded& first,
                         const Encoded& second) {
    for (const auto* r : rules)
      if (!r->exact) return "";
    const ast::Step* s1 = firstSend(*first.rule);
    const ast::Step* s2 = firstSend(*second.rule);
    if (s1 == nullptr || s2 == nullptr) return "";
    witnessOnly(hard, rules);
    for (const auto& f : c_.model.events[ev].fields)
      if (f.type.kind == core::TypeKind::Money && enc_.has(enc_.anchorVar(ev, f.name)))
        hard.push_back(z3::is_int(enc_.var(enc_.anchorVar(ev, f.name), f.type.kind) * 100));
    for (const auto& t : c_.model.traits)
      if (t.type.kind == core::TypeKind::Money && enc_.has(enc_.traitVar(t.name)))
        hard.push_back(z3::is_int(enc_.var(enc_.traitVar(t.name), t.type.kind) * 100));
    z3::model model(z_);
    bool strings = false;
    for (const auto* r : rules) strings = strings || r->strings;
    strings = strings || enc_.theoryString("email");
    if (check(strings, hard, {}, &model) != Answer::Sat) return "";
    std::string customer, event;
    const sema::EventInfo& info = c_.model.events[ev];
    if (!props(
            model, c_.model.traits, [&](const std::string& n) { return enc_.traitVar(n); },
            customer) ||
        !props(
            model, info.fields, [&](const std::string& n) { return enc_.anchorVar(ev, n); }, event))
      return "";
    const std::string& n1 = first.rule->name;
    const std::string& n2 = second.rule->name;
    std::string out = "test " + quote(n1 + " and " + n2 + " on one " + info.name) + " {\n";
    out += "  customer \"c1\" " + customer + "\n";
    out += "  at " + formatTimestamp(kWitnessTime) + " " + info.name + " \"c1\" " + event + "\n";
    out += "  expect send " + s1->templateName.text + " to \"c1\" from " + n1 + "\n";
    out += "  expect suppressed " + s2->templateName.text + " to \"c1\" from " + n2 +
           " because outranked\n";
    out += "}";
    return out;
  }

  Compilation& c_;
  Options o_;
  z3::context z_;
  z3::solver solver_{z_};
  z3::solver stringSolver_{z_};
  Encoder enc_;
  sema::LintGate gate_;
  uint64_t workAtStart_ = 0;  // the context's units before the first query
  uint64_t spent_ = 0;        // units spent, as last read (every kBudgetEvery queries)
  static constexpr size_t kBudgetEvery = 8;
  Stats stats_;
  std::vector<std::vector<Encoded>> encoded_;  // by rule: one per anchor event type
  std::vector<std::vector<uint8_t>> fires_;    // by rule and anchor: proven satisfiable
  // By rule and anchor: models in which it fires (its own, and counterexamples of shadowing),
  // to answer "can it fire without that other rule" without asking the solver.
  std::vector<std::vector<std::vector<z3::model>>> models_;
  // By model and expression id: whether it holds in the model (anyModel). The expressions are
  // held, so that an id is never reused for another expression while it is remembered.
  std::unordered_map<Z3_model, Memo> memo_;
  std::map<const Encoded*, Parts> parts_;
  std::vector<z3::expr> held_;
};

}  // namespace

Stats review(Compilation& c, const Options& options) {
  Reviewer r(c, options);
  return r.run();
}

}  // namespace trig::review
