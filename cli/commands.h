#pragma once
// Each subcommand lives in its own file and registers itself on the CLI11 app: it adds its
// options and sets `action` to the function main runs when that subcommand is chosen.
#include <CLI/CLI.hpp>

#include <functional>

namespace trig::cli {

using Action = std::function<int()>;

void addCheckCommand(CLI::App& app, Action& action);
void addRunCommand(CLI::App& app, Action& action);
void addTestCommand(CLI::App& app, Action& action);
void addExplainCommand(CLI::App& app, Action& action);
void addDiffCommand(CLI::App& app, Action& action);
void addCompileCommand(CLI::App& app, Action& action);
void addServeCommand(CLI::App& app, Action& action);
void addLogCommand(CLI::App& app, Action& action);
void addReportCommand(CLI::App& app, Action& action);
void addFmtCommand(CLI::App& app, Action& action);
void addGraphCommand(CLI::App& app, Action& action);
void addLspCommand(CLI::App& app, Action& action);
void addPreviewCommand(CLI::App& app, Action& action);
void addCompletionCommand(CLI::App& app, Action& action);
// After every command is added: the example and exit codes that end each --help (help.cpp).
void addHelpEndings(CLI::App& app);

// `--color`: whether diagnostics on a stream are coloured (see color.cpp).
enum class ColorMode { Auto, Always, Never };
void setColorMode(ColorMode mode);
bool useColor(int fd);

// Exit codes of the CLI contract.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // rule errors, failing tests, --strict warnings
constexpr int kExitUsage = 2;   // usage or I/O errors

}  // namespace trig::cli
