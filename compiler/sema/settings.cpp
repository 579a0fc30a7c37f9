// `settings { ... }`: arbitration D, cap N per D, cooldown D, quiet_hours HH:MM-HH:MM, dedup D,
// undeclared_events activity|ignore, await_email D.
// Each setting is validated and stored in Model::settings; a setting given twice is an error.
#include <algorithm>
#include <map>
#include <stdexcept>

#include "compiler/sema/context.h"

namespace trig::sema {

const std::vector<std::string>& settingNames() {
  static const std::vector<std::string> names = {
      "arbitration", "await_email", "cap", "cooldown", "dedup", "quiet_hours", "undeclared_events"};
  return names;
}

namespace detail {
namespace {

using Kind = ast::SettingArgKind;

bool shapeIs(const ast::SettingDecl& s, std::initializer_list<Kind> kinds) {
  if (s.args.size() != kinds.size()) return false;
  size_t i = 0;
  for (Kind k : kinds)
    if (s.args[i++].kind != k) return false;
  return true;
}

Loc argsLoc(const ast::SettingDecl& s) {
  if (s.args.empty()) return s.name.loc;
  return Loc{s.loc.file, s.args.front().loc.begin, s.args.back().loc.end};
}

// Whether a duration argument is at most 100 years (reported when not).
bool withinLimit(Context& c, const ast::SettingArg& a) {
  std::string error = durationLimitError(a.text);
  if (error.empty()) return true;
  c.diags.add(DiagKind::BadSetting, a.loc, error)
      .help("the longest duration is 36525d (100 years)");
  return false;
}

// A duration argument that may be 0s (arbitration, dedup, await_email): nullopt after reporting.
std::optional<DurationMs> durationArg(Context& c, const ast::SettingDecl& s, const char* example) {
  if (s.args.size() == 1 && s.args[0].kind == Kind::Bad) {
    c.diags.report(DiagKind::BadSetting, s.args[0].loc, "'{}' is not a duration", s.args[0].text)
        .help("durations are whole numbers with a unit s, m, h, d or w, such as 10s, 5m or 1h");
    return std::nullopt;
  }
  if (!shapeIs(s, {Kind::Duration})) {
    c.diags.report(DiagKind::BadSetting, argsLoc(s), "'{}' takes one duration", s.name.text)
        .help(fmt::format("for example: {}", example));
    return std::nullopt;
  }
  if (!withinLimit(c, s.args[0])) return std::nullopt;
  return parseDuration(s.args[0].text);
}

// "did you mean '1d'?" for a unit written as a word (`per day`, `per 2 hours`), else empty.
std::string unitWordHint(std::string_view count, std::string_view word) {
  char unit = durationUnitForWord(word);
  if (unit == '\0') return {};
  return fmt::format("did you mean '{}{}'?", count, unit);
}

void cap(Context& c, const ast::SettingDecl& s) {
  if (shapeIs(s, {Kind::Int, Kind::Per, Kind::Bad})) {
    const ast::SettingArg& period = s.args[2];
    auto b = c.diags.report(DiagKind::BadSetting, period.loc,
                            "'{}' is not a duration: the period of a cap is a duration such as 1d",
                            period.text);
    if (auto hint = unitWordHint("1", period.text); !hint.empty())
      b.help(hint);
    else
      b.help("for example: cap 3 per 1d (at most 3 sends per customer in any 24 hours)");
    return;
  }
  if (!shapeIs(s, {Kind::Int, Kind::Per, Kind::Duration})) {
    c.diags.report(DiagKind::BadSetting, argsLoc(s), "'cap' takes a count and a period")
        .help("for example: cap 3 per 1d (at most 3 sends per customer in any 24 hours)");
    return;
  }
  const auto& countText = s.args[0].text;
  int64_t n = countText.size() > 9 ? INT64_MAX : std::stoll(countText);
  bool periodOk = withinLimit(c, s.args[2]);
  DurationMs d = periodOk ? parseDuration(s.args[2].text).value_or(0) : 0;
  if (n < 1) {
    c.diags
        .report(DiagKind::BadSetting, s.args[0].loc, "a cap of {} sends would never send anything",
                n)
        .help("the count of 'cap N per D' must be at least 1");
  }
  if (periodOk && d <= 0) {
    c.diags.report(DiagKind::NonPositiveDuration, s.args[2].loc,
                   "the period of a cap must be longer than 0s");
    periodOk = false;
  }
  if (n >= 1 && periodOk) c.model.settings.cap = Settings::Cap{n, d};
}

// `22h-8h` as the time range it means ("22:00-08:00"), or empty when it is not two hours.
std::string hoursAsRange(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return {};
  std::string out;
  for (std::string_view part : {text.substr(0, dash), text.substr(dash + 1)}) {
    auto d = parseDuration(part);
    if (!d || *d % kMinute != 0 || *d >= kDay) return {};
    if (!out.empty()) out += '-';
    out += fmt::format("{:02}:{:02}", *d / kHour, *d % kHour / kMinute);
  }
  return out;
}

void undeclaredEvents(Context& c, const ast::SettingDecl& s) {
  if (!shapeIs(s, {Kind::Word})) {
    c.diags
        .report(DiagKind::BadSetting, argsLoc(s),
                "'undeclared_events' takes 'activity' or 'ignore'")
        .help(
            "activity (the default): an event nobody declared cancels idle waits; ignore: it is "
            "dropped as if it never arrived");
    return;
  }
  c.model.settings.ignoreUndeclared = s.args[0].text == "ignore";
}

void quietHours(Context& c, const ast::SettingDecl& s) {
  if (shapeIs(s, {Kind::Bad})) {
    std::string range = hoursAsRange(s.args[0].text);
    auto b = c.diags.report(DiagKind::BadSetting, s.args[0].loc,
                            "quiet hours are times of day such as 22:00-08:00, not durations");
    if (!range.empty())
      b.help(fmt::format("did you mean '{}'?", range));
    else
      b.help("for example: quiet_hours 22:00-08:00 (a start after the end crosses midnight)");
    return;
  }
  if (!shapeIs(s, {Kind::TimeRange})) {
    c.diags.report(DiagKind::BadSetting, argsLoc(s), "'quiet_hours' takes a time range")
        .help("for example: quiet_hours 22:00-08:00 (a start after the end crosses midnight)");
    return;
  }
  const std::string& t = s.args[0].text;
  auto start = parseTimeOfDay(std::string_view(t).substr(0, 5));
  auto end = parseTimeOfDay(std::string_view(t).substr(6, 5));
  if (!start || !end) {
    c.diags.report(DiagKind::BadSetting, s.args[0].loc, "'{}' is not a valid time range", t)
        .help("hours go from 00 to 23 and minutes from 00 to 59");
    return;
  }
  if (*start == *end) {
    c.diags
        .report(DiagKind::BadSetting, s.args[0].loc,
                "quiet hours '{}' start and end at the same time", t)
        .help("remove the setting to send at any hour");
    return;
  }
  c.model.settings.quietHours = Settings::Quiet{*start, *end};
}

}  // namespace

void declareSettings(Context& c) {
  std::map<std::string, Loc> seen;
  for (const auto& file : c.program.files) {
    for (const ast::SettingsDecl* block : file.settings) {
      for (const ast::SettingDecl& s : block->settings) {
        const std::string& name = s.name.text;
        bool known =
            std::find(settingNames().begin(), settingNames().end(), name) != settingNames().end();
        if (!known) {
          auto b =
              c.diags.report(DiagKind::UnknownSetting, s.name.loc, "unknown setting '{}'", name);
          if (auto hint = didYouMean(name, settingNames()); !hint.empty())
            b.help(hint);
          else
            b.help(
                "the settings are arbitration, cap, cooldown, quiet_hours, dedup, "
                "undeclared_events and await_email");
          continue;
        }
        if (auto it = seen.find(name); it != seen.end()) {
          c.diags.report(DiagKind::DuplicateDecl, s.name.loc, "setting '{}' is already set", name)
              .note(it->second, "previously set here");
          continue;
        }
        seen.emplace(name, s.name.loc);
        if (name == "arbitration") {
          if (auto d = durationArg(
                  c, s, "arbitration 5m (0s: only sends due at the same instant compete)"))
            c.model.settings.arbitration = *d;
        } else if (name == "dedup") {
          if (auto d = durationArg(
                  c, s, "dedup 10s (drop repeats of an event within 10 seconds; 0s: off)"))
            c.model.settings.dedup = *d;
        } else if (name == "cooldown") {
          if (auto d = durationArg(
                  c, s, "cooldown 3d (no template sent twice to a customer within 3 days)")) {
            if (*d <= 0)
              c.diags
                  .report(DiagKind::NonPositiveDuration, s.args[0].loc,
                          "a cooldown must be longer than 0s")
                  .help("remove the setting to allow a template to be sent again at any time");
            else
              c.model.settings.cooldown = d;
          }
        } else if (name == "await_email") {
          if (auto d = durationArg(c, s,
                                   "await_email 5m (a send due before the identify with the "
                                   "address waits 5 minutes)"))
            c.model.settings.awaitEmail = *d;
        } else if (name == "undeclared_events") {
          undeclaredEvents(c, s);
        } else if (name == "cap") {
          cap(c, s);
        } else if (name == "quiet_hours") {
          quietHours(c, s);
        } else {
          // A name in settingNames() without its meaning here: a bug of this file, not of input.
          throw std::logic_error("setting '" + name + "' has no meaning in settings.cpp");
        }
      }
    }
  }
}

}  // namespace detail
}  // namespace trig::sema
