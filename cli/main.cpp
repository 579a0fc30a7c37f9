// trig: compiler and runtime for behavioural email triggers.
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace trig::cli;
  CLI::App app{"trig: compile, check, test and run behavioural email trigger rules"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "trig 0.1.0");
  Action action;
  addCheckCommand(app, action);
  addRunCommand(app, action);
  addTestCommand(app, action);
  addExplainCommand(app, action);
  addDiffCommand(app, action);
  addCompileCommand(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  try {
    return action ? action() : kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "trig: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
}
