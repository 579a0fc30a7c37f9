// The `trig serve` dashboard's pages (dashboard.h).
#include "runtime/serve/dashboard.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "runtime/serve/ingest_api.h"

namespace trig::serve {
namespace {

using report::htmlEscape;

// Removes a temporary file when it goes out of scope.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

// A path segment with everything but [A-Za-z0-9_.-] percent-encoded.
std::string percentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string navigation() {
  return "<nav><a href=\"/\">Rules</a> · <a href=\"/customers\">Customer lookup</a> · <a "
         "href=\"/dead-letter\">Dead letter</a></nav>\n";
}

DashboardPage shell(int status, const std::string& title, const std::string& body) {
  DashboardPage p;
  p.status = status;
  p.html = std::string(
               "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width\">"
               "<link rel=\"icon\" href=\"data:,\"><title>") +
           htmlEscape(title) + " · trig</title><style>" + report::htmlStyle() +
           "nav{margin-bottom:1em}pre{background:#f7f7f7;padding:1em;overflow-x:auto}"
           ".note{color:#a33}.flow svg{max-width:100%;height:auto}td.data{text-align:left;"
           "font-family:monospace;word-break:break-all}</style></head><body>\n" +
           navigation() + "<h1>" + htmlEscape(title) + "</h1>\n" + body + "</body></html>\n";
  return p;
}

std::string noteHtml(const std::string& note) {
  return note.empty() ? "" : "<p class=\"note\" id=\"note\">" + htmlEscape(note) + "</p>\n";
}

// The templates a rule's steps send, in source order, each once.
void templatesOf(const plan::Plan& plan, plan::StepRange steps, std::vector<std::string>& out) {
  for (uint32_t i = steps.first; i < steps.end; ++i) {
    const plan::Step& s = plan.steps[i];
    if (s.kind == plan::Step::Kind::Send) {
      if (std::find(out.begin(), out.end(), s.templateName) == out.end())
        out.push_back(s.templateName);
      continue;
    }
    for (const auto& v : s.variants) templatesOf(plan, v.steps, out);
  }
}

const report::RuleReport* findRule(const report::Report* rep, const std::string& name) {
  if (rep == nullptr) return nullptr;
  for (const auto& r : rep->rules)
    if (r.name == name) return &r;
  return nullptr;
}

std::string cell(const std::string& rule, const char* col, const std::string& value) {
  return fmt::format("<td data-rule=\"{}\" data-col=\"{}\">{}</td>", htmlEscape(rule), col,
                     htmlEscape(value));
}

// The value of `key` in a query string ("" when absent or badly encoded).
std::string queryValue(std::string_view query, std::string_view key) {
  for (size_t at = 0; at <= query.size();) {
    size_t amp = query.find('&', at);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(at, amp - at);
    if (pair.size() > key.size() && pair.starts_with(key) && pair[key.size()] == '=') {
      std::string out;
      return percentDecode(pair.substr(key.size() + 1), out) ? out : "";
    }
    at = amp + 1;
  }
  return "";
}

// The report over the store's log, or null with `note` saying why not.
std::optional<report::Report> liveReport(const RuleSet& rules, const Store& store,
                                         const DashboardHooks& hooks, std::string& note) {
  if (!hooks.evaluator) {
    note = "no evaluator is wired for the dashboard: numbers are not available";
    return std::nullopt;
  }
  std::unique_ptr<Evaluator> evaluator = hooks.evaluator(rules);
  if (!evaluator) {
    note = "cannot build an evaluator for the rules in force";
    return std::nullopt;
  }
  std::string error;
  std::optional<report::Report> rep = report::logReport(*rules.program, *evaluator, logInput(store),
                                                        report::ReportOptions{}, error);
  if (!rep) note = "cannot replay the log: " + error;
  return rep;
}

}  // namespace

report::LogInput logInput(const Store& store) {
  report::LogInput in;
  in.scan = [&store](const auto& f, std::string& error) {
    return store.scanLog(
        1,
        [&f](const LogEntry& entry) {
          return entry.kind != LogEntry::Kind::Event || f(entry.seq, entry.stamp, entry.data);
        },
        error);
  };
  in.entries = store.lastSeq();
  return in;
}

std::string exportLog(const Store& store, std::string& error) {
  std::string path = (std::filesystem::temp_directory_path() / "trig-log-XXXXXX").string();
  int fd = mkstemp(path.data());
  if (fd < 0) {
    error = "cannot create a temporary file: " + std::string(std::strerror(errno));
    return "";
  }
  FILE* out = fdopen(fd, "w");
  if (out == nullptr) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    ::close(fd);
    std::remove(path.c_str());
    return "";
  }
  bool written = true;
  bool ok = store.scanLog(
      1,
      [&](const LogEntry& e) {
        if (e.kind != LogEntry::Kind::Event) return true;
        written = std::fwrite(e.data.data(), 1, e.data.size(), out) == e.data.size() &&
                  std::fputc('\n', out) != EOF;
        return written;
      },
      error);
  if (std::fclose(out) != 0 || !written) {
    ok = false;
    error = "cannot write " + path + ": " + std::strerror(errno);
  }
  if (!ok) {
    if (error.empty()) error = "cannot write " + path;
    std::remove(path.c_str());
    return "";
  }
  return path;
}

DashboardPage homePage(const RuleSet& rules, const report::Report* rep, const std::string& note) {
  const plan::Plan& m = rules.program->plan;
  std::string body = fmt::format("<p>Rule set <code id=\"version\">{}</code>: {} rule(s)",
                                 htmlEscape(rules.version), m.rules.size());
  if (rep) body += fmt::format(", <span id=\"events\">{}</span> events in the log", rep->events);
  body += ".</p>\n" + noteHtml(note);
  body +=
      "<h2>Rules</h2>\n<table id=\"rules\"><tr><th>rule</th><th>priority</th><th>goal</th>"
      "<th>templates</th><th>fired</th><th>sent</th><th>opened</th><th>clicked</th>"
      "<th>converted</th></tr>\n";
  for (const plan::Rule& ri : m.rules) {
    std::vector<std::string> templates;
    std::string priority = std::to_string(ri.priority), goal = "-";
    templatesOf(m, ri.steps, templates);
    if (ri.priorityExpr != core::kNone) priority = "expression";
    if (ri.goalEvent < m.eventNames.size())
      goal = m.eventNames[ri.goalEvent].name + " within " + formatDuration(ri.goalWithin);
    std::string list;
    for (const auto& t : templates) list += (list.empty() ? "" : ", ") + t;
    body += fmt::format(
        "<tr><td data-rule=\"{0}\" data-col=\"rule\"><a href=\"/rules/{1}\">{0}</a>"
        "</td>{2}{3}{4}",
        htmlEscape(ri.name), htmlEscape(percentEncode(ri.name)),
        cell(ri.name, "priority", priority), cell(ri.name, "goal", goal),
        cell(ri.name, "templates", list.empty() ? "-" : list));
    const report::RuleReport* rr = findRule(rep, ri.name);
    auto n = [&](uint64_t v) { return rr ? std::to_string(v) : std::string("-"); };
    body += cell(ri.name, "fired", n(rr ? rr->fired : 0)) +
            cell(ri.name, "sent", n(rr ? rr->funnel.sent : 0)) +
            cell(ri.name, "opened", n(rr ? rr->funnel.opened : 0)) +
            cell(ri.name, "clicked", n(rr ? rr->funnel.clicked : 0)) +
            cell(ri.name, "converted", n(rr ? rr->converted : 0)) + "</tr>\n";
  }
  body += "</table>\n<h2>Templates</h2>\n<ul id=\"templates\">";
  for (const plan::Template& t : m.templates)
    body += "<li data-template=\"" + htmlEscape(t.name) + "\">" + htmlEscape(t.name) +
            (t.path.empty() ? "" : " <small>(" + htmlEscape(t.path) + ")</small>") + "</li>";
  body +=
      "</ul>\n<h2>Customer lookup</h2>\n<form method=\"get\" action=\"/customers\"><input "
      "name=\"id\" placeholder=\"customer id\"> <button type=\"submit\">Explain</button>"
      "</form>\n";
  return shell(200, "trig dashboard", body);
}

DashboardPage rulePage(const RuleSet& rules, const report::Report* rep, const std::string& rule,
                       const std::string& svg, const std::string& note) {
  const plan::Rule* info = nullptr;
  for (const auto& ri : rules.program->plan.rules)
    if (ri.name == rule) info = &ri;
  if (info == nullptr)
    return shell(
        404, "No such rule",
        "<p>The rules in force have no rule named <code>" + htmlEscape(rule) + "</code>.</p>\n");
  std::string body = noteHtml(note);
  if (info->title) body += "<p><em>" + htmlEscape(*info->title) + "</em></p>\n";
  body += fmt::format(
      "<p>priority <span id=\"priority\">{}</span>, rule set <code>{}</code></p>\n",
      info->priorityExpr != core::kNone ? "an expression" : std::to_string(info->priority),
      htmlEscape(rules.version));
  if (!svg.empty())
    body += "<h2>Flowchart</h2>\n<div class=\"flow\" id=\"flowchart\">" + svg + "</div>\n";
  if (const report::RuleReport* rr = findRule(rep, rule)) {
    body += "<h2>Funnel</h2>\n";
    body += report::renderRuleHtml(*rep, *rr, true);
  } else if (rep) {
    body += "<p>No numbers for this rule.</p>\n";
  }
  return shell(200, "Rule " + rule, body);
}

DashboardPage customerPage(const std::string& customer, const std::string* timeline,
                           const std::string& note) {
  std::string body = "<form method=\"get\" action=\"/customers\"><input name=\"id\" value=\"" +
                     htmlEscape(customer) +
                     "\" placeholder=\"customer id\"> <button type=\"submit\">Explain</button>"
                     "</form>\n" +
                     noteHtml(note);
  if (timeline)
    body += "<h2>Timeline of <span id=\"customer\">" + htmlEscape(customer) +
            "</span></h2>\n<pre id=\"timeline\">" + htmlEscape(*timeline) + "</pre>\n";
  return shell(200, "Customer lookup", body);
}

DashboardPage deadLetterPage(const std::vector<DeadLetter>& newestFirst, uint64_t total) {
  std::string body = fmt::format("<p><span id=\"dead-total\">{}</span> rejected event(s)", total);
  if (newestFirst.size() < total) body += fmt::format("; the newest {} shown", newestFirst.size());
  body +=
      ".</p>\n<table id=\"dead-letter\"><tr><th>#</th><th>received</th><th>reason</th>"
      "<th>event as received</th></tr>\n";
  for (const DeadLetter& d : newestFirst) {
    std::string data = d.data.size() > 500 ? d.data.substr(0, 500) + "…" : d.data;
    body += fmt::format(
        "<tr data-seq=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td "
        "class=\"data\">{}</td></tr>\n",
        d.seq, d.seq, formatTimestamp(d.receivedAt), htmlEscape(d.reason), htmlEscape(data));
  }
  return shell(200, "Dead letter", body + "</table>\n");
}

bool isDashboardPath(const std::string& path) {
  return path == "/" || path == "/customers" || path == "/dead-letter" ||
         (path.starts_with("/rules/") && path.size() > 7);
}

DashboardPage dashboardPage(const std::string& path, const std::string& query, const RuleSet& rules,
                            const Store& store, const DashboardHooks& hooks) {
  std::string note;
  if (path == "/") {
    std::optional<report::Report> rep = liveReport(rules, store, hooks, note);
    return homePage(rules, rep ? &*rep : nullptr, note);
  }
  if (path.starts_with("/rules/")) {
    const std::string rule = path.substr(7);  // the request's path is percent-decoded
    std::optional<report::Report> rep = liveReport(rules, store, hooks, note);
    std::string svg = hooks.drawRule ? hooks.drawRule(rules, rule, rep ? &*rep : nullptr) : "";
    return rulePage(rules, rep ? &*rep : nullptr, rule, svg, note);
  }
  if (path == "/customers") {
    const std::string id = queryValue(query, "id");
    if (id.empty()) return customerPage("", nullptr, "");
    if (!hooks.explain) return customerPage(id, nullptr, "no explain is wired for the dashboard");
    std::string error;
    TempFile log{exportLog(store, error)};
    if (log.path.empty()) return customerPage(id, nullptr, "cannot read the log: " + error);
    std::string timeline = hooks.explain(rules, log.path, id);
    return customerPage(id, &timeline, "");
  }
  // /dead-letter: the newest 200.
  constexpr size_t kShown = 200;
  std::vector<DeadLetter> all;
  std::string error;
  uint64_t total = 0;
  bool ok = store.scanDeadLetter(
      [&](const DeadLetter& d) {
        ++total;
        all.push_back(d);
        if (all.size() > 2 * kShown) all.erase(all.begin(), all.begin() + kShown);
        return true;
      },
      error);
  if (!ok) return shell(500, "Dead letter", noteHtml("cannot read the dead letter: " + error));
  std::vector<DeadLetter> newest(all.rbegin(), all.rbegin() + std::min(all.size(), kShown));
  return deadLetterPage(newest, total);
}

}  // namespace trig::serve
