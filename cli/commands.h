// The tokenbook subcommands. Each Register* function adds its subcommand to
// the root app and returns the action to run when that subcommand is chosen.
#ifndef TOKENBOOK_CLI_COMMANDS_H_
#define TOKENBOOK_CLI_COMMANDS_H_

#include <functional>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli_common.h"

namespace tokenbook::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

void RegisterPriceCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterRatesCommands(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterInitCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterLogCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterReportCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterBudgetCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterExportCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterFeatureCostCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterSummaryCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterMigrateCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterCompareCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterIngestCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterBlocksCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterAnomaliesCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterSuggestCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterRouteCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterStatusLineCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterDashboardCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
void RegisterSyncCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out);
// More Register* declarations go above this line.

}  // namespace tokenbook::cli

#endif  // TOKENBOOK_CLI_COMMANDS_H_
