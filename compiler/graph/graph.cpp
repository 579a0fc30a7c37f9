// `trig graph`: a rule's flow as a Graphviz flowchart (docs/graph.md). The DOT is written by hand
// (deterministic: declaration order, std::map counts, no addresses); Graphviz's library only lays
// it out in render().
#include "compiler/graph/graph.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/support/utf8.h"

namespace trig::graph {

namespace {

// Graphviz's default ID discipline names an object by the address of its interned name, and
// keeps subgraphs in ID order: the clusters' order, and so the layout, followed the heap (the
// same DOT text drew another SVG when only the input path's length changed). This discipline
// numbers names in the order the reader meets them, so the same text draws the same picture.
// Named objects get even IDs, anonymous ones odd IDs, as in the default.
struct SequentialIds {
  std::unordered_map<std::string, IDTYPE> ids;
  std::deque<std::string> names;  // names[id / 2 - 1]: stable addresses for `print`
  IDTYPE anonymous = 1;
};

void* idOpen(Agraph_t* /*g*/, Agdisc_t* /*disc*/) {
  return new SequentialIds;
}

long idMap(void* state, int /*objtype*/, char* str, IDTYPE* id, int createflag) {
  auto& s = *static_cast<SequentialIds*>(state);
  if (str == nullptr) {
    *id = s.anonymous;
    s.anonymous += 2;
    return 1;
  }
  auto it = s.ids.find(str);
  if (it != s.ids.end()) {
    *id = it->second;
    return 1;
  }
  if (createflag == 0) {
    *id = 0;  // as the default: no object has this name
    return 1;
  }
  s.names.emplace_back(str);
  *id = static_cast<IDTYPE>(2 * s.names.size());
  s.ids.emplace(s.names.back(), *id);
  return 1;
}

long idAlloc(void* /*state*/, int /*objtype*/, IDTYPE /*request*/) {
  return 0;
}
void idFree(void* /*state*/, int /*objtype*/, IDTYPE /*id*/) {}

char* idPrint(void* state, int /*objtype*/, IDTYPE id) {
  auto& s = *static_cast<SequentialIds*>(state);
  if (id % 2 != 0 || id == 0 || id / 2 > s.names.size()) return nullptr;
  return s.names[id / 2 - 1].data();
}

void idClose(void* state) {
  delete static_cast<SequentialIds*>(state);
}
void idRegister(void* /*state*/, int /*objtype*/, void* /*obj*/) {}

Agiddisc_t sequentialIdDisc = {idOpen, idMap, idAlloc, idFree, idPrint, idClose, idRegister};

// agmemread's reader, with the discipline above.
struct TextChannel {
  const std::string* text;
  size_t at = 0;
};

int readText(void* chan, char* buf, int bufsize) {
  auto& c = *static_cast<TextChannel*>(chan);
  if (bufsize <= 0 || c.at >= c.text->size()) return 0;
  // One line at a time, as Graphviz's own memory reader does (its lexer counts lines).
  size_t end = c.text->find('\n', c.at);
  end = end == std::string::npos ? c.text->size() : end + 1;
  size_t n = std::min(end - c.at, static_cast<size_t>(bufsize));
  std::memcpy(buf, c.text->data() + c.at, n);
  c.at += n;
  return static_cast<int>(n);
}

Agraph_t* readGraph(const std::string& text) {
  static Agiodisc_t io = {readText, AgIoDisc.putstr, AgIoDisc.flush};
  Agdisc_t disc = {&AgMemDisc, &sequentialIdDisc, &io};
  TextChannel chan{&text};
  return agread(&chan, &disc);
}

}  // namespace

namespace {

// The state of a flow instance arriving somewhere: the steps it has taken (its step number so
// far, as decision records count them) and the variant it is in ("" outside a split). The key
// of a step's counts is (taken + 1, variant).
using State = std::pair<uint32_t, std::string>;
using States = std::set<State>;

// The source text at `loc`, one line: comments dropped, runs of white space made one space.
std::string sourceText(const SourceManager& sources, Loc loc) {
  if (!loc.valid() || loc.file >= sources.size()) return "";
  std::string_view text = sources.file(loc.file).text();
  size_t end = std::min<size_t>(loc.end, text.size());
  size_t begin = std::min<size_t>(loc.begin, end);
  std::string out;
  bool inString = false, space = false;
  for (size_t i = begin; i < end; ++i) {
    char c = text[i];
    if (!inString && c == '#') {
      while (i + 1 < end && text[i + 1] != '\n') ++i;
      space = true;
      continue;
    }
    if (!inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
    if (inString && c == '\\' && i + 1 < end) {
      out += text[++i];
      continue;
    }
    if (c == '"') inString = !inString;
  }
  return out;
}

// Text from the start of `a` to the end of `b` (same file).
std::string sourceSpan(const SourceManager& sources, Loc a, Loc b) {
  if (a.file != b.file || b.end < a.begin) return sourceText(sources, a);
  return sourceText(sources, Loc{a.file, a.begin, b.end});
}

// One line of a label inside a DOT double-quoted string: quotes and backslashes escaped (a
// backslash would otherwise start one of Graphviz's escapes, \N, \G, \l), `&` as `&amp;`,
// control characters made spaces, bytes that are not UTF-8 replaced by U+FFFD.
std::string escapeLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '&') {
        // Graphviz reads `&name;` in any label as an HTML entity: a literal `&` is `&amp;`.
        out += "&amp;";
      } else if (c < 0x20 || c == 0x7f) {
        out += ' ';
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    size_t n = utf8::sequenceLength(s, i);
    if (n == 0) {
      utf8::append(out, 0xFFFD);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// A quoted DOT string of lines (centred; "\n" between them).
std::string quote(const std::vector<std::string>& lines) {
  std::string out = "\"";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\\n";
    out += escapeLine(lines[i]);
  }
  out += '"';
  return out;
}

// A dangling edge: from a node, with its label, carrying the instances in `states`.
struct Tail {
  std::string from;
  std::vector<std::string> label;
  States states;
  // The number to draw on the edge when it is known beforehand (the rule's firings).
  std::optional<uint64_t> count;
};

class RuleWriter {
 public:
  RuleWriter(const SourceManager& sources, const sema::RuleInfo& ri, size_t index,
             const RuleCounts* counts, std::string& out)
      : sources_(sources),
        ri_(ri),
        rule_(*ri.rule),
        prefix_("r" + std::to_string(index) + "_"),
        counts_(counts),
        out_(out) {}

  void write() {
    out_ += "  subgraph \"cluster_" + prefix_ + "\" {\n";
    std::vector<std::string> title = {"trigger " + ri_.name};
    if (rule_.title) title.push_back(rule_.title->value);
    std::string options;
    if (rule_.priority || rule_.priorityExpr) options = sourceText(sources_, rule_.priorityLoc);
    if (rule_.limit) {
      if (!options.empty()) options += " · ";
      options += sourceText(sources_, rule_.limit->loc);
    }
    if (!options.empty()) title.push_back(options);
    out_ += "    label=" + quote(title) + ";\n";
    out_ += "    style=rounded; color=\"#9aa5b1\";\n";

    collectSharedVariantNames(rule_.steps);
    collectKeys(rule_.steps, {State{0, ""}});

    // The trigger: the anchor, its filters and the `and` conditions (idle apart).
    std::vector<std::string> trigger = {"when " + sourceText(sources_, rule_.anchor.loc)};
    for (const ast::Expr* c : ri_.conditions) trigger.push_back("and " + exprText(c));
    std::string from =
        node("trigger", trigger, "shape=box, style=\"rounded,filled\", fillcolor=\"#dbeafe\"");
    std::vector<Tail> tails = {Tail{from, {}, {}, std::nullopt}};

    for (const ast::Expr* t : rule_.terms) {
      if (t == nullptr || t->kind != ast::ExprKind::Idle) continue;
      std::string idle = node("idle", {"wait: " + exprText(t), "(activity cancels)"},
                              "shape=ellipse, style=dashed");
      connect(tails, idle, {});
      tails = {Tail{idle, {"no activity"}, {}, std::nullopt}};
    }

    if (!rule_.unless.empty()) {
      std::string notFired = node("not_fired", {"not fired"}, "shape=box, style=dashed");
      for (const ast::Expr* u : rule_.unless) {
        std::string d = node("unless", {"unless " + exprText(u)}, "shape=diamond");
        connect(tails, d, {});
        edge(d, notFired, {"holds"}, "style=dashed");
        tails = {Tail{d, {"no"}, {}, std::nullopt}};
      }
    }

    for (auto& t : tails) {
      t.label.emplace_back("fires");
      t.states = {State{0, ""}};
      if (counts_) t.count = counts_->fired;
    }

    if (rule_.goal) {
      std::vector<std::string> g = {sourceText(sources_, rule_.goal->loc)};
      if (counts_) g.push_back(number(counts_->converted) + " converted");
      goal_ = node("goal", g, "shape=doubleoctagon, style=filled, fillcolor=\"#dcfce7\"");
    }

    tails = steps(rule_.steps, std::move(tails));
    if (!tails.empty()) {
      std::string end = node("end", {"end"}, "shape=circle, width=0.3, fontsize=9");
      connect(tails, end, {});
    }
    out_ += "  }\n";
  }

 private:
  static std::string number(uint64_t n) { return std::to_string(n); }

  std::string exprText(const ast::Expr* e) const {
    return e == nullptr ? std::string() : sourceText(sources_, e->loc);
  }

  std::string node(const std::string& kind, const std::vector<std::string>& label,
                   const std::string& attrs) {
    std::string id = prefix_ + kind + "_" + std::to_string(nodes_++);
    out_ += "    \"" + id + "\" [label=" + quote(label) + ", " + attrs + "];\n";
    return id;
  }

  void edge(const std::string& from, const std::string& to, const std::vector<std::string>& label,
            const std::string& attrs) {
    out_ += "    \"" + from + "\" -> \"" + to + "\"";
    std::string a;
    if (!label.empty()) a = "label=" + quote(label);
    if (!attrs.empty()) a += (a.empty() ? "" : ", ") + attrs;
    if (!a.empty()) out_ += " [" + a + "]";
    out_ += ";\n";
  }

  // Edges from every tail to `to`; with counts, each carries the instances that reached the
  // step `key` (sent or suppressed there) from that tail, when that is known.
  void connect(const std::vector<Tail>& tails, const std::string& to,
               const std::function<std::optional<uint64_t>(const States&)>& reached) {
    bool overlapping = false;
    States seen;
    for (const auto& t : tails)
      for (const auto& s : t.states)
        if (!seen.insert(s).second) overlapping = true;
    for (const auto& t : tails) {
      std::vector<std::string> label = t.label;
      std::optional<uint64_t> n = t.count;
      if (!n && counts_ && reached && !overlapping) n = reached(t.states);
      if (n) label.push_back(number(*n));
      edge(t.from, to, label, "");
    }
  }

  const StepCounts* stepCounts(uint32_t step, const std::string& variant) const {
    if (!counts_) return nullptr;
    auto it = counts_->steps.find({step, variant});
    return it == counts_->steps.end() ? nullptr : &it->second;
  }

  // Which steps (sends, holdout points) record under each (step, variant) key: the engine's
  // step numbers and variant names can give two steps of one rule the same key (nested splits
  // that reuse variant names), and then their counts cannot be told apart. The walk is the
  // drawing's own, without drawing.
  States collectKeys(const std::vector<ast::Step>& list, States in) {
    for (const ast::Step& s : list) {
      States out;
      for (const auto& [taken, variant] : in) {
        if (s.action == ast::ActionKind::Send) {
          owners_[State{taken + 1, variant}].insert(&s);
          out.insert(State{taken + 1, variant});
          continue;
        }
        for (const ast::Variant& v : s.variants) {
          State arm{taken + 1, v.name.text};
          if (v.holdout) {
            owners_[arm].insert(&v);
            continue;
          }
          States armOut = collectKeys(v.steps, {arm});
          out.insert(armOut.begin(), armOut.end());
        }
      }
      if (!s.unless.empty() && s.action == ast::ActionKind::Split) out.insert(in.begin(), in.end());
      in = std::move(out);
    }
    return in;
  }

  // Whether the counts under `keys` belong to one step each.
  bool separable(const States& keys) const {
    for (const auto& k : keys)
      if (auto it = owners_.find(k); it != owners_.end() && it->second.size() > 1) return false;
    return true;
  }

  static States next(const States& states) {
    States out;
    for (const auto& [taken, variant] : states) out.insert(State{taken + 1, variant});
    return out;
  }

  // Instances that reached the step after `states` (sent or suppressed there).
  std::optional<uint64_t> reachedStep(const States& states) const {
    if (!separable(next(states))) return std::nullopt;
    uint64_t n = 0;
    for (const auto& [taken, variant] : states)
      if (const StepCounts* c = stepCounts(taken + 1, variant)) {
        n += c->sent;
        for (const auto& [reason, k] : c->suppressed) n += k;
      }
    return n;
  }

  // Variant names that two splits of the rule share: their `entered` counts (kept by variant
  // name) cannot be told apart, so they are not drawn.
  void collectSharedVariantNames(const std::vector<ast::Step>& list) {
    for (const auto& s : list) {
      for (const auto& v : s.variants) {
        if (!variantNames_.insert(v.name.text).second) sharedVariantNames_.insert(v.name.text);
        collectSharedVariantNames(v.steps);
      }
    }
  }

  std::optional<uint64_t> entered(const std::string& variant) const {
    if (!counts_ || sharedVariantNames_.count(variant)) return std::nullopt;
    auto it = counts_->entered.find(variant);
    return it == counts_->entered.end() ? 0 : it->second;
  }

  static std::string stepNumbers(const States& states) {
    std::set<uint32_t> numbers;
    for (const auto& s : states) numbers.insert(s.first + 1);
    std::string out = "step ";
    bool first = true;
    for (uint32_t n : numbers) {
      if (!first) out += "/";
      out += std::to_string(n);
      first = false;
    }
    return out;
  }

  std::vector<Tail> steps(const std::vector<ast::Step>& list, std::vector<Tail> tails) {
    for (const ast::Step& s : list) {
      if (tails.empty()) break;
      tails = s.action == ast::ActionKind::Send ? send(s, std::move(tails))
                                                : split(s, std::move(tails));
    }
    return tails;
  }

  // The wait and the step's own `unless` conditions in front of its action: the tails into the
  // action, and the edges that skip it (a held condition suppresses the step; the flow goes on).
  using Reached = std::function<std::optional<uint64_t>(const States&)>;
  std::vector<Tail> approach(const ast::Step& s, std::vector<Tail> tails, const States& states,
                             std::vector<Tail>& skips, const Reached& reached) {
    if (s.after) {
      std::string w = node("wait", {"after " + sourceText(sources_, s.after->loc)},
                           "shape=ellipse, style=dashed");
      connect(tails, w, reached);
      tails = {Tail{w, {}, states, std::nullopt}};
    }
    for (const ast::Expr* u : s.unless) {
      std::string d = node("step_unless", {"unless " + exprText(u)}, "shape=diamond");
      connect(tails, d, reached);
      std::optional<uint64_t> held;
      if (counts_ && s.unless.size() == 1 && separable(next(states))) {
        uint64_t n = 0;
        for (const auto& [taken, variant] : states)
          if (const StepCounts* c = stepCounts(taken + 1, variant))
            if (auto it = c->suppressed.find("condition"); it != c->suppressed.end())
              n += it->second;
        held = n;
      }
      skips.push_back(Tail{d, {"holds: skipped"}, states, held});
      tails = {Tail{d, {"no"}, states, std::nullopt}};
    }
    return tails;
  }

  std::vector<Tail> send(const ast::Step& s, std::vector<Tail> tails) {
    States in;
    for (const auto& t : tails) in.insert(t.states.begin(), t.states.end());
    std::vector<Tail> skips;
    bool direct = !s.after && s.unless.empty();
    Reached reached = [this](const States& st) -> std::optional<uint64_t> {
      return reachedStep(st);
    };
    tails = approach(s, std::move(tails), in, skips, reached);

    States out;
    for (const auto& [taken, variant] : in) out.insert(State{taken + 1, variant});
    std::vector<std::string> label = {stepNumbers(in) + ": send " + s.templateName.text};
    for (const auto& b : s.bindings)
      label.push_back("with " + sourceSpan(sources_, b.name.loc,
                                           b.value != nullptr ? b.value->loc : b.name.loc));
    uint64_t converted = 0;
    bool known = separable(out);
    if (counts_ && !known) label.emplace_back("(counts shared with another step: trig report)");
    if (counts_ && known) {
      uint64_t sent = 0;
      std::map<std::string, uint64_t> suppressed;
      for (const auto& [taken, variant] : out)
        if (const StepCounts* c = stepCounts(taken, variant)) {
          sent += c->sent;
          converted += c->converted;
          for (const auto& [reason, k] : c->suppressed) suppressed[reason] += k;
        }
      label.push_back(number(sent) + " sent");
      for (const auto& [reason, k] : suppressed)
        label.push_back(number(k) + " suppressed: " + reason);
    }
    std::string n =
        node("send", label, "shape=box, style=\"rounded,filled\", fillcolor=\"#fef9c3\"");
    connect(tails, n, direct ? reached : Reached());
    if (!goal_.empty()) {
      std::vector<std::string> g;
      if (counts_ && known) g.push_back(number(converted) + " converted");
      edge(n, goal_, g, "style=dashed, color=\"#16a34a\"");
    }
    if (skips.empty()) return {Tail{n, {}, out, std::nullopt}};
    // A skipped step still counts as a step taken: both ways meet again before the next one.
    std::string join = node("join", {""}, "shape=point, width=0.08");
    edge(n, join, {}, "");
    for (const auto& t : skips) {
      std::vector<std::string> l = t.label;
      if (t.count) l.push_back(number(*t.count));
      edge(t.from, join, l, "style=dashed");
    }
    return {Tail{join, {}, out, std::nullopt}};
  }

  std::vector<Tail> split(const ast::Step& s, std::vector<Tail> tails) {
    States in;
    for (const auto& t : tails) in.insert(t.states.begin(), t.states.end());
    // The instances the split received, when one edge leads to it: what it sent to its variants.
    bool single = tails.size() == 1;
    Reached reached = [this, &s, &single](const States&) -> std::optional<uint64_t> {
      if (!single) return std::nullopt;
      uint64_t total = 0;
      for (const auto& v : s.variants) {
        auto e = entered(v.name.text);
        if (!e) return std::nullopt;
        total += *e;
      }
      return total;
    };
    std::vector<Tail> skips;
    tails = approach(s, std::move(tails), in, skips, reached);
    bool direct = !s.after && s.unless.empty();
    std::string n = node("split", {stepNumbers(in) + ": split " + s.splitName.text},
                         "shape=diamond, style=filled, fillcolor=\"#ede9fe\"");
    single = tails.size() == 1;
    connect(tails, n, direct ? reached : Reached());
    std::vector<Tail> out = std::move(skips);
    for (const ast::Variant& v : s.variants) {
      States arm;
      for (const auto& st : in) arm.insert(State{st.first + 1, v.name.text});
      std::vector<std::string> label = {sourceText(sources_, v.percentLoc) + " " + v.name.text};
      std::optional<uint64_t> count = entered(v.name.text);
      if (v.holdout) {
        std::vector<std::string> h = {"holdout: no message from here"};
        uint64_t converted = 0;
        bool known = separable(arm);
        if (counts_ && known) {
          uint64_t held = 0;
          for (const auto& [taken, variant] : arm)
            if (const StepCounts* c = stepCounts(taken, variant)) {
              converted += c->converted;
              if (auto it = c->suppressed.find("holdout"); it != c->suppressed.end())
                held += it->second;
            }
          h.push_back(number(held) + " held out");
        }
        std::string hn = node("holdout", h, "shape=box, style=\"rounded,dashed\"");
        if (count) label.push_back(number(*count));
        edge(n, hn, label, "");
        if (!goal_.empty()) {
          std::vector<std::string> g;
          if (counts_ && known) g.push_back(number(converted) + " converted");
          edge(hn, goal_, g, "style=dashed, color=\"#16a34a\"");
        }
        continue;
      }
      std::vector<Tail> armTails = steps(v.steps, {Tail{n, label, arm, count}});
      for (auto& t : armTails) out.push_back(std::move(t));
    }
    return out;
  }

  const SourceManager& sources_;
  const sema::RuleInfo& ri_;
  const ast::Rule& rule_;
  std::string prefix_;
  const RuleCounts* counts_;
  std::string& out_;
  std::string goal_;
  uint32_t nodes_ = 0;
  std::set<std::string> variantNames_, sharedVariantNames_;
  std::map<State, std::set<const void*>> owners_;
};

}  // namespace

std::string toDot(const sema::Model& model, const SourceManager& sources,
                  const GraphOptions& options) {
  std::string out =
      "digraph trig {\n"
      "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, nodesep=0.35, ranksep=0.4];\n"
      "  node [fontname=\"Helvetica\", fontsize=11];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  bool any = false;
  for (size_t i = 0; i < model.rules.size(); ++i) {
    const sema::RuleInfo& ri = model.rules[i];
    if (ri.rule == nullptr) continue;
    if (!options.rule.empty() && ri.name != options.rule) continue;
    const RuleCounts* counts = nullptr;
    static const RuleCounts kNoCounts;
    if (options.counts) {
      auto it = options.counts->find(ri.name);
      counts = it == options.counts->end() ? &kNoCounts : &it->second;
    }
    RuleWriter(sources, ri, i, counts, out).write();
    any = true;
  }
  if (!any && !options.rule.empty()) return "";
  out += "}\n";
  return out;
}

namespace {

// Graphviz's context and its error callback are process-wide and not thread-safe: one mutex
// guards every use. The context is made once and kept for the life of the process: Graphviz
// 2.43's text layout plugin keeps a font cache past gvFreeContext and reads freed memory when
// a second context lays out text (AddressSanitizer shows it), and loading the plugins once is
// cheaper anyway.
std::mutex gvMutex;
GVC_t* gvc = nullptr;
std::string* gvErrors = nullptr;

int collectError(char* message) {
  if (gvErrors != nullptr && message != nullptr) *gvErrors += message;
  return 0;
}

}  // namespace

std::optional<std::string> render(std::string_view dot, std::string_view format,
                                  std::string& error) {
  if (format != "svg" && format != "png") {
    error = "unknown graph format '" + std::string(format) + "' (svg or png)";
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(gvMutex);
  std::string messages;
  gvErrors = &messages;
  agseterrf(collectError);
  agseterr(AGERR);
  struct Restore {
    ~Restore() {
      agseterrf(nullptr);
      gvErrors = nullptr;
    }
  } restore;
  auto trimmed = [&] {
    while (!messages.empty() && (messages.back() == '\n' || messages.back() == ' '))
      messages.pop_back();
    return messages;
  };

  if (gvc == nullptr) gvc = gvContext();
  if (gvc == nullptr) {
    error = "cannot start Graphviz";
    return std::nullopt;
  }
  std::string text(dot);
  Agraph_t* g = readGraph(text);
  if (g == nullptr) {
    error = "Graphviz cannot read the graph: " + trimmed();
    return std::nullopt;
  }
  std::optional<std::string> result;
  if (gvLayout(gvc, g, "dot") != 0) {
    error = "Graphviz cannot lay out the graph: " + trimmed();
  } else {
    char* data = nullptr;
    unsigned int length = 0;
    std::string fmt(format);
    if (gvRenderData(gvc, g, fmt.c_str(), &data, &length) != 0 || data == nullptr) {
      error = "Graphviz cannot render " + fmt + ": " + trimmed();
    } else {
      result = std::string(data, length);
    }
    if (data != nullptr) gvFreeRenderData(data);
    gvFreeLayout(gvc, g);
  }
  agclose(g);
  return result;
}

}  // namespace trig::graph

#if defined(__SANITIZE_ADDRESS__)
#define TRIG_GRAPH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRIG_GRAPH_ASAN 1
#endif
#endif
#ifdef TRIG_GRAPH_ASAN
// Under the sanitizers: what Graphviz and the font libraries under it keep for the life of the
// process (fontconfig's caches, the plugins' tables) is theirs, not a leak of trig's.
extern "C" const char* __lsan_default_suppressions();   // NOLINT(bugprone-reserved-identifier)
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:libgvc.so\nleak:libcgraph.so\nleak:libcdt.so\nleak:libgvplugin_\n"
         "leak:libfontconfig.so\nleak:libpango\nleak:libcairo.so\nleak:libglib-2.0.so\n"
         "leak:libgobject-2.0.so\nleak:libharfbuzz.so\nleak:libfreetype.so\n";
}
#endif
