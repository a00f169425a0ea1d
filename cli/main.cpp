// tokenbook — the command-line front of the tokenbook library.
#include <cstdio>
#include <memory>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli_common.h"
#include "commands.h"

int main(int argc, char** argv) {
  using namespace tokenbook::cli;
  CLI::App app{"tokenbook — bookkeeping for AI tokens: exact costs, budgets, reports", "tokenbook"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command
  app.set_version_flag("--version", "tokenbook 0.1.0");
  GlobalOptions global;
  AddGlobalOptions(app, global);

  std::vector<Command> commands;
  RegisterPriceCommand(app, global, commands);
  RegisterRatesCommands(app, global, commands);
  // More Register* calls go above this line.

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  std::fputs(app.help().c_str(), stderr);
  return kExitUsage;
}
