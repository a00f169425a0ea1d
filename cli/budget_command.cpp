// tokenbook budget: every budget's status, with an exit code hooks can act on.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/report_json.h"

namespace tokenbook::cli {
namespace {

// Exit codes of `tokenbook budget`, for hooks: the worst level wins.
constexpr int kExitBudgetWarning = 1;
constexpr int kExitBudgetCritical = 2;

struct BudgetOptions {
  std::string session;
  bool json = false;
};

int ExitFor(const BudgetReport& report) {
  int code = kExitOk;
  for (const BudgetStatus& s : report.statuses) {
    if (s.level == BudgetLevel::kWarning) code = std::max(code, kExitBudgetWarning);
    if (s.level == BudgetLevel::kCritical || s.level == BudgetLevel::kExceeded) code = kExitBudgetCritical;
  }
  return code;
}

void PrintText(const BudgetReport& report, const Config& config) {
  const bool color = UseColor(stdout);
  const char* bold = color ? "\033[1m" : "";
  const char* reset = ColorReset(color);
  std::printf("%sBudgets at %s %s%s\n", bold,
              absl::FormatTime("%Y-%m-%d %H:%M", report.now, config.time_zone).c_str(),
              config.time_zone_name.c_str(), reset);
  if (report.statuses.empty()) {
    std::printf("No budget set. This month so far: %s.\n", FormatMoney(report.month_spent).c_str());
    if (report.suggestion.has_value()) {
      const BudgetSuggestion& g = *report.suggestion;
      std::printf("Suggested monthly budget: %s (stage %s%s: %s to %s). Set one with\n"
                  "  tokenbook init --budget-monthly %s   (new ledger), or in config.toml: [budgets] monthly = \"%s\"\n",
                  FormatMoney(g.monthly_limit).c_str(), std::string(StageName(g.stage)).c_str(),
                  g.stage_inferred ? ", from this month's pace" : "", FormatMoney(g.range.min).c_str(),
                  g.range.max.has_value() ? FormatMoney(*g.range.max).c_str() : "more",
                  FormatUsd(g.monthly_limit, 2).c_str(), FormatUsd(g.monthly_limit, 2).c_str());
    }
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"budget", "period", "spent", "limit", "used", "level", "projected", "advice"});
  for (size_t i = 0; i < report.statuses.size(); ++i) {
    const BudgetStatus& s = report.statuses[i];
    std::string spent = FormatMoney(s.spent);
    if (i < report.reserved.size() && report.reserved[i].value() > 0) {
      absl::StrAppend(&spent, " (+", FormatMoney(report.reserved[i]), " reserved)");
    }
    rows.push_back({s.budget.name, s.window.label, spent, FormatMoney(s.budget.limit),
                    absl::StrCat(FormatPercent(s.spent, s.budget.limit, 1), "%"),
                    std::string(BudgetLevelName(s.level)),
                    s.projected.has_value() ? FormatMoney(*s.projected) : std::string("-"),
                    std::string(RecommendationText(s.recommendation))});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  const std::vector<bool> right = {false, false, true, true, true, false, true, false};
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      if (i > 0) line += "  ";
      const size_t pad = width[i] - rows[r][i].size();
      if (right[i]) line.append(pad, ' ');
      line += rows[r][i];
      if (!right[i] && i + 1 < rows[r].size()) line.append(pad, ' ');
    }
    const char* on = r == 0 ? bold : LevelColor(report.statuses[r - 1].level, color);
    std::printf("%s%s%s\n", on, line.c_str(), *on != '\0' ? reset : "");
  }
}

int RunBudget(const GlobalOptions& global, const BudgetOptions& o) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  absl::StatusOr<BudgetReport> report = (*book)->budgets().Status(*now, o.session);
  if (!report.ok()) return Fail(report.status());
  if (o.json) {
    std::printf("%s\n", BudgetReportJson(*report).c_str());
  } else {
    PrintText(*report, (*book)->config());
  }
  return ExitFor(*report);
}

}  // namespace

void RegisterBudgetCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<BudgetOptions>();
  CLI::App* sub = root.add_subcommand(
      "budget", "Every budget's status; exit code 0 ok, 1 warning, 2 critical or exceeded");
  sub->add_option("--session", o->session, "Session for session budgets (default: the latest entry's)");
  sub->add_flag("--json", o->json, "Print a JSON object (the exit code is the same)");
  out.push_back(Command{sub, [&global, o] { return RunBudget(global, *o); }});
}

}  // namespace tokenbook::cli
