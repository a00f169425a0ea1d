// tokenbook — the command-line front of the tokenbook library.
#include <cstdio>
#include <memory>
#include <string>
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
  RegisterInitCommand(app, global, commands);
  RegisterLogCommand(app, global, commands);
  RegisterReportCommand(app, global, commands);
  RegisterBudgetCommand(app, global, commands);
  RegisterPriceCommand(app, global, commands);
  RegisterRatesCommands(app, global, commands);
  RegisterExportCommand(app, global, commands);
  RegisterSyncCommand(app, global, commands);
  RegisterFeatureCostCommand(app, global, commands);
  RegisterSummaryCommand(app, global, commands);
  RegisterMigrateCommand(app, global, commands);
  RegisterCompareCommand(app, global, commands);
  RegisterIngestCommand(app, global, commands);
  RegisterBlocksCommand(app, global, commands);
  RegisterAnomaliesCommand(app, global, commands);
  RegisterSuggestCommand(app, global, commands);
  RegisterRouteCommand(app, global, commands);
  RegisterStatusLineCommand(app, global, commands);
  RegisterDashboardCommand(app, global, commands);
  // More Register* calls go above this line.

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line a script can show as it is: what was wrong, and where help is.
    std::string command = "tokenbook";
    for (const CLI::App* sub : app.get_subcommands()) command = "tokenbook " + sub->get_name();
    return Fail(kExitUsage, std::string(e.what()) + " (see `" + command + " --help`)");
  }
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  std::fputs(app.help().c_str(), stderr);
  return kExitUsage;
}
