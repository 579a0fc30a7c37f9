// trig: compiler and runtime for behavioural email triggers.
#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "compiler/diag/diagnostic.h"

namespace {

using namespace trig::cli;

// `trig chek`: the first word that is not an option, when it names no subcommand, with the
// closest subcommand. False when the command line has no such word.
bool reportUnknownSubcommand(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--color") {
      ++i;  // its value
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    if (std::find(names.begin(), names.end(), arg) != names.end()) return false;
    std::cerr << "trig: '" << arg << "' is not a trig command";
    if (std::string best = trig::closestMatch(arg, names); !best.empty())
      std::cerr << "; did you mean '" << best << "'?";
    std::cerr << "\nRun 'trig --help' for the list of commands.\n";
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trig: compile, check, test and run behavioural email trigger rules"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "trig 0.1.0");
  std::string color = "auto";
  app.add_option(
         "--color", color,
         "Colour the diagnostics: auto (a terminal, unless NO_COLOR is set), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  Action action;
  addCheckCommand(app, action);
  addRunCommand(app, action);
  addTestCommand(app, action);
  addExplainCommand(app, action);
  addDiffCommand(app, action);
  addCompileCommand(app, action);
  addServeCommand(app, action);
  addLogCommand(app, action);
  addReportCommand(app, action);
  addFmtCommand(app, action);
  addGraphCommand(app, action);
  addLspCommand(app, action);
  addPreviewCommand(app, action);
  addCompletionCommand(app, action);
  addHelpEndings(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty() && reportUnknownSubcommand(app, argc, argv))
      return kExitUsage;
    app.exit(e);
    return kExitUsage;
  }
  setColorMode(color == "always"  ? ColorMode::Always
               : color == "never" ? ColorMode::Never
                                  : ColorMode::Auto);
  try {
    return action ? action() : kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "trig: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
}
