// `trig preview RULES... --template T [--customer ID --events FILE] [--set NAME=VALUE]...
// [--rule R] [--at TIME] [--html FILE]`: the email of template T as it would go out to one
// customer — subject and body, rendered by the runtime's renderer (runtime/deliver/render.h) with
// each variable what sema decided it is at that send (sema::Model::sends), as the engine does.
//
// Where the values come from:
// - the send: the first step, in declaration order, that sends T (or the one of `--rule R`); its
//   `with` bindings are evaluated by the reference interpreter, as the engine evaluates them;
// - the customer's profile: the `identify` traits of that customer's events (`--events`), in
//   time order, up to `--at`;
// - the anchor: the customer's latest event of the rule's anchor type up to `--at`, and the
//   customer's earlier events are the history the bindings see;
// - `--set customer.TRAIT=VALUE`, `--set EVENT.FIELD=VALUE` (EVENT the anchor's event name or
//   its `as` alias) and `--set FIELD=VALUE` (a field of the anchor) override or supply values.
//   VALUE is read as the wire format reads a JSON value (spec section 8): text for a string,
//   `19.99` for money, `true`, `["a","b"]`, `null` for none; a VALUE that is not JSON is a string
//   (so `2026-01-01T10:00:00Z` and `15m` need no quotes).
// A variable without a value and without a default is shown as the suppression the runtime
// records (`missing_data`, naming it), never as a blank; the exit code is then 1.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/printable.h"
#include "cli/run_common.h"
#include "compiler/diag/diagnostic.h"
#include "compiler/plan/build.h"
#include "compiler/plan/plan.h"
#include "runtime/deliver/render.h"
#include "runtime/engine/record_json.h"
#include "runtime/ingest/decoder.h"
#include "runtime/ingest/reader.h"

namespace trig::cli {
namespace {

struct PreviewOptions {
  std::vector<std::string> files;
  std::string templateName;
  std::string rule;
  std::string customer;
  std::string events;
  std::vector<std::string> sets;
  std::string html;
  std::string at;
};

// A usage error: the message on standard error, exit 2.
int usage(const std::string& message) {
  std::cerr << "trig preview: " << printable(message) << "\n";
  return kExitUsage;
}

std::string didYouMean(const std::string& word, const std::vector<std::string>& names) {
  std::string best = closestMatch(word, names);
  return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

// The step of a rule that sends the template, with its position in the flow (spec section 9:
// a split is a step of its own, a variant's first step is the split's step + 1).
struct Sender {
  uint32_t rule = sema::kNone;
  const ast::Step* step = nullptr;
  uint32_t stepNumber = 0;
  std::string variant;
};

bool findSend(const std::vector<ast::Step>& steps, uint32_t before, const std::string& variant,
              const std::string& tmpl, Sender& out) {
  uint32_t n = before;
  for (const auto& s : steps) {
    ++n;
    if (s.action == ast::ActionKind::Send && s.templateName.text == tmpl) {
      out.step = &s;
      out.stepNumber = n;
      out.variant = variant;
      return true;
    }
    if (s.action == ast::ActionKind::Split)
      for (const auto& v : s.variants)
        if (findSend(v.steps, n, v.name.text, tmpl, out)) return true;
  }
  return false;
}

// A customer's past, for the `with` bindings (the events of one customer, in time order).
class EventList final : public History {
 public:
  std::vector<Event> events;
  void forEach(uint32_t type, TimeMs from, TimeMs to,
               const std::function<bool(const Event&)>& f) const override {
    for (const auto& e : events)
      if (e.type == type && e.time >= from && e.time <= to && !f(e)) return;
  }
};

// A JSON value for VALUE as `--set` reads it: the text itself for a string, else VALUE when it
// is JSON, else VALUE as a string (a time, a duration, or a wrong value the decoder names).
std::string jsonOf(const std::string& text, sema::Type type) {
  std::string out;
  if (type.kind == sema::TypeKind::String || !nlohmann::json::accept(text))
    deliver::appendJsonString(out, text);
  else
    out = text;
  return out;
}

// A valid value of `type` for a required field no `--set` gave: the decoder needs one to accept
// the line, and preview then forgets it (the field stays without a value).
const char* placeholderJson(sema::Type type) {
  switch (type.kind) {
    case sema::TypeKind::String: return "\"\"";
    case sema::TypeKind::Bool: return "false";
    case sema::TypeKind::Time: return "\"1970-01-01T00:00:00Z\"";
    case sema::TypeKind::List: return "[]";
    default: return "0";
  }
}

struct Assignment {
  std::string text;  // as given, for messages
  std::string name;  // trait or field
  std::string value;
};

class Preview {
 public:
  Preview(const PreviewOptions& o, const Compilation& c) : o_(o), c_(c), m_(c.model) {}

  int run() {
    auto t = m_.templateByName.find(o_.templateName);
    if (t == m_.templateByName.end()) {
      std::vector<std::string> names;
      for (const auto& ti : m_.templates) names.push_back(ti.name);
      std::sort(names.begin(), names.end());
      return usage(fmt::format("unknown template '{}'{}", o_.templateName,
                               didYouMean(o_.templateName, names)));
    }
    tmpl_ = &m_.templates[t->second];
    if (int rc = findSender(); rc != kExitOk) return rc;
    if (int rc = readTime(); rc != kExitOk) return rc;
    profile_.resize(m_.traits.size());
    for (uint32_t i = 0; i < m_.traits.size(); ++i)
      if (m_.traits[i].defaultValue)
        if (auto v = plan::literalValue(*m_.traits[i].defaultValue, m_.traits[i].type))
          profile_[i] = *v;
    if (int rc = readEvents(); rc != kExitOk) return rc;
    if (int rc = chooseAnchor(); rc != kExitOk) return rc;
    if (int rc = applySets(); rc != kExitOk) return rc;
    return render();
  }

 private:
  int findSender() {
    if (!o_.rule.empty()) {
      std::vector<std::string> names;
      for (const auto& r : m_.rules) names.push_back(r.name);
      auto it = std::find(names.begin(), names.end(), o_.rule);
      if (it == names.end())
        return usage(fmt::format("unknown rule '{}'{}", o_.rule, didYouMean(o_.rule, names)));
      auto ri = static_cast<uint32_t>(it - names.begin());
      if (!m_.rules[ri].rule || !findSend(m_.rules[ri].rule->steps, 0, "", tmpl_->name, sender_))
        return usage(fmt::format("rule '{}' does not send '{}'", o_.rule, tmpl_->name));
      sender_.rule = ri;
      return kExitOk;
    }
    for (uint32_t ri = 0; ri < m_.rules.size(); ++ri)
      if (m_.rules[ri].rule && findSend(m_.rules[ri].rule->steps, 0, "", tmpl_->name, sender_)) {
        sender_.rule = ri;
        return kExitOk;
      }
    // What a variable means is decided per send (a binding, the anchor's field): a template no
    // rule sends is never rendered.
    return usage(
        fmt::format("template '{}' is sent by no rule: the runtime never renders it", tmpl_->name));
  }

  int readTime() {
    if (o_.at.empty()) return kExitOk;
    at_ = parseTimestamp(o_.at);
    if (!at_) return usage(fmt::format("--at '{}' is not an RFC 3339 timestamp", o_.at));
    return kExitOk;
  }

  // The customer's events up to --at: identify traits into the profile, the rest into the
  // history, in time order (input order for equal stamps).
  int readEvents() {
    if (o_.events.empty()) return kExitOk;
    ingest::Decoder decoder(plan::buildIngestPlan(m_));
    PrintableBuf printableErr(std::cerr);
    std::ostream diagnostics(&printableErr);
    ingest::ReaderOptions ro;
    ro.diagnostics = &diagnostics;
    ingest::EventReader reader(decoder, ro);
    std::vector<Event> mine;
    std::string error;
    bool ok = reader.readAll(
        o_.events,
        [&](Event& e) {
          if (e.customer != o_.customer) return;
          if (at_ && e.time > *at_) return;
          mine.push_back(std::move(e));
        },
        error);
    if (!ok) return usage(error);
    std::stable_sort(mine.begin(), mine.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    for (auto& e : mine) {
      lastTime_ = e.time;
      ++customerEvents_;
      if (e.kind == Event::Kind::Identify) {
        for (auto& [name, value] : e.traits) {
          uint32_t slot = m_.traitIndex(name);
          // Undeclared traits: no template can name one (sema), so they are not kept.
          if (slot != sema::kNone && !(name == "subscribed" && value.isAbsent()))
            profile_[slot] = value;
        }
      } else if (e.kind == Event::Kind::Track) {
        history_.events.push_back(std::move(e));
      }
    }
    return kExitOk;
  }

  const sema::RuleInfo* rule() const {
    return sender_.rule < m_.rules.size() ? &m_.rules[sender_.rule] : nullptr;
  }

  // The anchor: the customer's latest event of the rule's anchor types, else one without
  // values (of the first anchor type) that `--set` may fill.
  int chooseAnchor() {
    const auto* ri = rule();
    if (!ri || ri->anchorEvents.empty()) return kExitOk;
    for (auto it = history_.events.rbegin(); it != history_.events.rend(); ++it)
      if (std::find(ri->anchorEvents.begin(), ri->anchorEvents.end(), it->type) !=
          ri->anchorEvents.end()) {
        anchor_ = *it;
        anchorFrom_ = it->source.str();
        return kExitOk;
      }
    anchor_ = emptyEvent(ri->anchorEvents.front());
    return kExitOk;
  }

  Event emptyEvent(uint32_t type) const {
    Event e;
    e.type = type;
    e.name = m_.events[type].name;
    e.customer = o_.customer;
    e.time = now();
    const auto& fields = m_.events[type].fields;
    e.fields.resize(fields.size());
    for (size_t i = 0; i < fields.size(); ++i)
      if (fields[i].defaultValue)
        if (auto v = plan::literalValue(*fields[i].defaultValue, fields[i].type)) e.fields[i] = *v;
    return e;
  }

  TimeMs now() const { return at_ ? *at_ : lastTime_; }

  // Decodes `line` (one synthetic wire event) for `--set` values; false with the message printed.
  bool decode(ingest::Decoder& decoder, const std::string& line, const std::string& what,
              Event& out) {
    std::string reason;
    if (decoder.decode(line, out, reason)) return true;
    std::cerr << "trig preview: --set " << printable(what) << ": " << printable(reason) << "\n";
    return false;
  }

  int applySets() {
    std::vector<Assignment> traits;
    std::map<std::string, std::vector<Assignment>> fields;  // by event name
    const auto* ri = rule();
    std::string alias =
        ri && ri->rule && ri->rule->anchor.alias ? ri->rule->anchor.alias->text : "";
    for (const auto& s : o_.sets) {
      size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 0)
        return usage(fmt::format("--set '{}' is not NAME=VALUE", s));
      Assignment a{s, s.substr(0, eq), s.substr(eq + 1)};
      size_t dot = a.name.find('.');
      if (dot == std::string::npos) {
        if (sender_.step)
          for (const auto& b : sender_.step->bindings)
            if (b.name.text == a.name)
              return usage(fmt::format(
                  "--set {}: '{}' is a `with` binding of the send, computed when the step is due; "
                  "set what it is computed from instead",
                  a.name, a.name));
        if (!anchor_)
          return usage(
              fmt::format("--set {}: template '{}' is sent by no rule, so it has no "
                          "anchor event; name the event: --set EVENT.{}=VALUE",
                          a.name, tmpl_->name, a.name));
        fields[m_.events[anchor_->type].name].push_back(std::move(a));
        continue;
      }
      std::string head = a.name.substr(0, dot);
      a.name = a.name.substr(dot + 1);
      if (head == "customer") {
        traits.push_back(std::move(a));
        continue;
      }
      if (!alias.empty() && head == alias) {
        if (!anchor_) return usage("--set " + s + ": the rule has no anchor");
        head = m_.events[anchor_->type].name;
      }
      const sema::EventInfo* ev = m_.findEvent(head);
      if (!ev) {
        std::vector<std::string> names{"customer"};
        if (!alias.empty()) names.push_back(alias);
        for (const auto& e : m_.events) names.push_back(e.name);
        return usage(fmt::format("--set {}: unknown event '{}'{}", s.substr(0, s.find('=')), head,
                                 didYouMean(head, names)));
      }
      if (ri && std::find(ri->anchorEvents.begin(), ri->anchorEvents.end(), ev->index) ==
                    ri->anchorEvents.end()) {
        std::string anchors;
        for (uint32_t e : ri->anchorEvents)
          anchors += (anchors.empty() ? "" : " or ") + m_.events[e].name;
        return usage(
            fmt::format("--set {}: '{}' is not the anchor of rule '{}' (its anchor: {}); "
                        "a template's variables come from the anchor",
                        s.substr(0, s.find('=')), ev->name, ri->name, anchors));
      }
      fields[ev->name].push_back(std::move(a));
    }
    ingest::Decoder decoder(plan::buildIngestPlan(m_));
    std::string stamp = formatTimestamp(now());
    std::string id;
    deliver::appendJsonString(id, o_.customer.empty() ? std::string("preview") : o_.customer);
    for (const auto& a : traits) {
      uint32_t slot = m_.traitIndex(a.name);
      if (slot == sema::kNone) {
        std::vector<std::string> names;
        for (const auto& tr : m_.traits) names.push_back(tr.name);
        return usage(fmt::format("--set customer.{}: the customer has no trait '{}'{}", a.name,
                                 a.name, didYouMean(a.name, names)));
      }
      std::string line =
          R"({"type":"identify","userId":)" + id + R"(,"timestamp":")" + stamp + R"(","traits":{)";
      deliver::appendJsonString(line, a.name);
      line += ":" + jsonOf(a.value, m_.traits[slot].type) + "}}";
      Event e;
      if (!decode(decoder, line, a.text, e)) return kExitUsage;
      for (auto& [name, value] : e.traits)
        if (name == a.name) profile_[slot] = value;
    }
    for (const auto& [eventName, list] : fields) {
      const sema::EventInfo& ev = *m_.findEvent(eventName);
      if (!anchor_ || anchor_->type != ev.index) {
        anchor_ = emptyEvent(ev.index);
        anchorFrom_.clear();
      }
      std::vector<bool> given(ev.fields.size());
      for (const auto& a : list) {
        uint32_t slot = ev.fieldIndex(a.name);
        if (slot == sema::kNone) {
          std::vector<std::string> names;
          for (const auto& f : ev.fields) names.push_back(f.name);
          return usage(fmt::format("--set {}: event '{}' has no field '{}'{}",
                                   a.text.substr(0, a.text.find('=')), ev.name, a.name,
                                   didYouMean(a.name, names)));
        }
        given[slot] = true;
      }
      std::string line = R"({"type":"track","event":)";
      deliver::appendJsonString(line, ev.name);
      line += R"(,"userId":)" + id + R"(,"timestamp":")" + stamp + R"(","properties":{)";
      bool first = true;
      auto member = [&](const std::string& name, const std::string& json) {
        if (!first) line += ',';
        first = false;
        deliver::appendJsonString(line, name);
        line += ':' + json;
      };
      for (const auto& a : list)
        member(a.name, jsonOf(a.value, ev.fields[ev.fieldIndex(a.name)].type));
      for (size_t i = 0; i < ev.fields.size(); ++i)
        if (!given[i] && !ev.fields[i].optional && !ev.fields[i].defaultValue)
          member(ev.fields[i].name, placeholderJson(ev.fields[i].type));
      line += "}}";
      Event e;
      std::string what = list.size() == 1 ? list.front().text : eventName + ".*";
      if (!decode(decoder, line, what, e)) return kExitUsage;
      for (size_t i = 0; i < ev.fields.size() && i < e.fields.size(); ++i)
        if (given[i]) anchor_->fields[i] = e.fields[i];
      setByFlags_ = true;
    }
    return kExitOk;
  }

  int render() {
    const auto& sources = c_.sources;
    std::string note, error;
    std::vector<std::pair<std::string, Value>> bindings;
    if (sender_.step && !sender_.step->bindings.empty()) {
      auto evaluator = cli::makeEvaluator("interp", c_, note, error);
      if (!evaluator) return usage(error);
      EvalEnv env;
      env.anchor = anchor_ ? &*anchor_ : nullptr;
      env.traits = &profile_;
      env.history = &history_;
      env.now = now();
      if (anchor_) {
        env.firedAt = anchor_->time;
        env.firedAfterSeq = static_cast<int64_t>(anchor_->seq);
      }
      for (const auto& b : sender_.step->bindings)
        bindings.emplace_back(b.name.text, evaluator->value(b.value->id, env));
    }
    // What each variable is was decided by sema for this send (sema::SendInfo), as the engine
    // renders it: a binding, a trait's slot, the anchor's slot by anchor type.
    static const Value kAbsent;
    const sema::SendInfo* send =
        sender_.step && sender_.step->id < m_.sends.size() ? &m_.sends[sender_.step->id] : nullptr;
    deliver::Lookup lookup = [&](const plan::Placeholder& p) -> const Value* {
      if (!send || p.index >= send->vars.size()) return nullptr;
      const sema::VarSource& v = send->vars[p.index];
      switch (v.kind) {
        case sema::VarSource::Kind::Binding:
          return v.index < bindings.size() ? &bindings[v.index].second : nullptr;
        case sema::VarSource::Kind::Trait:
          return v.index < profile_.size() ? &profile_[v.index] : nullptr;
        case sema::VarSource::Kind::AnchorField:
          if (anchor_)
            for (const auto& [type, slot] : v.anchorSlots)
              if (type == anchor_->type)
                return slot < anchor_->fields.size() ? &anchor_->fields[slot] : &kAbsent;
          return &kAbsent;
        case sema::VarSource::Kind::None: break;
      }
      return nullptr;
    };
    deliver::RenderedTemplate out;
    deliver::RenderError gap;
    bool rendered = deliver::renderTemplate(plan::templateOf(*tmpl_), lookup, out, gap);

    PrintableBuf printableOut(std::cout);
    std::ostream show(&printableOut);
    auto loc = [&](Loc l) { return plan::formatLoc(l, sources); };
    std::string tmplAt = tmpl_->decl ? loc(tmpl_->loc) : tmpl_->path;
    show << "template  " << tmpl_->name << (tmplAt.empty() ? "" : " (" + tmplAt + ")") << "\n";
    if (const auto* ri = rule()) {
      show << "rule      " << ri->name << ", step " << sender_.stepNumber;
      if (!sender_.variant.empty()) show << ", variant " << sender_.variant;
      show << " (" << loc(sender_.step->loc) << ")\n";
    } else {
      show << "rule      none: no rule sends this template\n";
    }
    show << "customer  " << (o_.customer.empty() ? "(none given)" : o_.customer);
    if (!o_.events.empty()) show << ", " << customerEvents_ << " event(s) in " << o_.events;
    show << "\n";
    show << "at        ";
    if (at_)
      show << formatTimestamp(*at_) << "\n";
    else if (customerEvents_ > 0)
      show << formatTimestamp(lastTime_) << " (the customer's last event)\n";
    else
      show << "not given (--at TIME)\n";
    if (anchor_) {
      show << "anchor    " << m_.events[anchor_->type].name;
      if (!anchorFrom_.empty())
        show << " at " << formatTimestamp(anchor_->time) << " (" << anchorFrom_ << ")";
      else if (setByFlags_)
        show << " from --set";
      else
        show << " without values (" << (o_.events.empty() ? "" : "none in the events; ")
             << "give them with --set)";
      show << "\n";
    }
    for (const auto& [name, value] : bindings)
      show << "with      " << name << " = "
           << (value.isAbsent() ? std::string("(no value)") : deliver::formatValue(value)) << "\n";
    uint32_t email = m_.traitIndex("email");
    const Value* to = email != sema::kNone ? &profile_[email] : nullptr;
    show << "to        "
         << (to && !to->isAbsent() ? deliver::formatValue(*to)
                                   : std::string("(no email: the runtime would wait for one or "
                                                 "suppress the send as no_email)"))
         << "\n";
    uint32_t subscribed = m_.traitIndex("subscribed");
    if (subscribed != sema::kNone && profile_[subscribed].kind == Value::Kind::Bool &&
        !profile_[subscribed].b)
      show << "note      the customer is unsubscribed: the runtime would suppress the send "
              "(opted_out)\n";
    if (!rendered) {
      show << "\nsuppressed  missing_data: template variable '" << gap.variable
           << "' has no value and no default";
      if (gap.loc.valid()) show << " (" << loc(gap.loc) << ")";
      show << "\n";
      show.flush();
      return kExitFailed;
    }
    show << "\nSubject: " << out.subject << "\n";
    show << "Content-Type: text/" << (tmpl_->html ? "html" : "plain") << "; charset=utf-8\n\n";
    show << out.body;
    if (!out.body.empty() && out.body.back() != '\n') show << "\n";
    show.flush();
    if (!o_.html.empty()) return writeHtml(out);
    return kExitOk;
  }

  // The HTML body as it goes out; a text template as the text in a page (a browser shows it as
  // a mail client shows a text/plain part).
  int writeHtml(const deliver::RenderedTemplate& out) {
    std::string page;
    if (tmpl_->html) {
      page = out.body;
    } else {
      page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>";
      deliver::appendHtmlEscaped(page, out.subject);
      page += "</title></head>\n<body><pre style=\"white-space: pre-wrap\">";
      deliver::appendHtmlEscaped(page, out.body);
      page += "</pre></body></html>\n";
    }
    std::ofstream f(o_.html, std::ios::binary | std::ios::trunc);
    if (f) f << page;
    if (f) f.close();
    if (!f) return usage(fmt::format("cannot write {}", o_.html));
    return kExitOk;
  }

  const PreviewOptions& o_;
  const Compilation& c_;
  const sema::Model& m_;
  const sema::TemplateInfo* tmpl_ = nullptr;
  Sender sender_;
  std::optional<TimeMs> at_;
  TimeMs lastTime_ = 0;
  uint64_t customerEvents_ = 0;
  std::vector<Value> profile_;
  EventList history_;
  std::optional<Event> anchor_;
  std::string anchorFrom_;
  bool setByFlags_ = false;
};

int runPreview(const PreviewOptions& o) {
  if (!o.events.empty() && o.customer.empty())
    return usage("--events needs --customer: whose events to preview with");
  auto c = compile(o.files);
  if (int rc = refuseIfBroken(*c, "preview"); rc != kExitOk) return rc;
  return Preview(o, *c).run();
}

}  // namespace

void addPreviewCommand(CLI::App& app, Action& action) {
  auto o = std::make_shared<PreviewOptions>();
  auto* cmd = app.add_subcommand(
      "preview", "Show the email a template renders to for one customer, as it would go out");
  cmd->add_option("files", o->files, "The .trig files (imports are followed)")->required();
  cmd->add_option("--template", o->templateName, "The template to render")->required();
  cmd->add_option("--rule", o->rule,
                  "The rule whose send to render (default: the first rule that sends it)");
  cmd->add_option("--customer", o->customer, "The customer id (userId) whose events to use");
  cmd->add_option("--events", o->events,
                  "Events as JSON lines: the customer's traits, anchor event and history");
  cmd->add_option("--set", o->sets,
                  "A value: customer.TRAIT=V, EVENT.FIELD=V or FIELD=V (a field of the anchor); "
                  "V as in an event's JSON, text for strings (repeatable)");
  cmd->add_option("--at", o->at,
                  "Preview at this RFC 3339 time: events after it are not used (default: the "
                  "customer's last event)");
  cmd->add_option("--html", o->html,
                  "Also write the HTML body to this file (open it in a browser)");
  cmd->callback([o, &action] { action = [o] { return runPreview(*o); }; });
}

}  // namespace trig::cli
