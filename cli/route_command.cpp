// tokenbook route: which model a task should use, from config.toml's
// [router] rules and the budgets' usage, asked before the call.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/insights_json.h"
#include "tokenbook/insights_router.h"

namespace tokenbook::cli {
namespace {

struct RouteFlags {
  RouteRequest request;
  bool json = false;
};

std::string Explain(const RouteDecision& d, const RouterConfig& config) {
  std::string why = d.chosen_by == "rule"
                        ? absl::StrCat("rule \"", d.rule_name, "\" (", d.matched, ") chose ", d.chosen_model)
                        : absl::StrCat("no rule matched; default ", d.chosen_model);
  if (!d.budget.empty()) {
    absl::StrAppend(&why, "; budget \"", d.budget, "\" at ",
                    FormatPercent(Micros(d.budget_percent_bp), Micros(10'000), 2), "%");
    if (!d.wanted_tier.empty()) {
      const int64_t bp = d.wanted_tier == "cheap" ? config.cheap_above_bp : config.mid_above_bp;
      absl::StrAppend(&why, " (at or above ", FormatPercent(Micros(bp), Micros(10'000), 0), "%: ", d.wanted_tier,
                      " tier)");
      if (d.downgraded) {
        absl::StrAppend(&why, ", downgraded to ", d.model);
      } else if (!d.downgrade_allowed) {
        absl::StrAppend(&why, ", kept: the rule has downgrade = false");
      } else {
        absl::StrAppend(&why, ", kept: already no dearer than the ", d.wanted_tier, " tier");
      }
    }
  }
  return why;
}

int RunRoute(const GlobalOptions& global, const RouteFlags& flags) {
  if (flags.request.text.empty() && flags.request.task_type.empty()) {
    return Fail(kExitUsage, "give a task description, or --task-type (see `tokenbook route --help`)");
  }
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  absl::StatusOr<RouteDecision> d = RouteWithBook(**book, flags.request, *now);
  if (!d.ok()) return Fail(d.status());
  if (flags.json) {
    std::printf("%s\n", RouteDecisionJson(*d, (*book)->config().router).c_str());
  } else {
    // The model alone on the first line, for `model=$(tokenbook route ... | head -1)`.
    std::printf("%s\n  %s\n", d->model.c_str(), Explain(*d, (*book)->config().router).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterRouteCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<RouteFlags>();
  CLI::App* sub = root.add_subcommand(
      "route", "Which model a task should use: config.toml's [router] rules, downgraded as budgets fill");
  sub->add_option("task", flags->request.text, "The task description the rules' keywords and patterns look at");
  sub->add_option("--task-type", flags->request.task_type, "The kind of task (matched against rules' task_types)");
  sub->add_option("--session", flags->request.session, "Session of the request (for session budgets)");
  sub->add_option("--project", flags->request.project, "Project of the request (for project budgets)");
  sub->add_option("--feature", flags->request.feature, "Feature of the request (for feature budgets)");
  sub->add_option("--agent", flags->request.agent, "Agent making the request (for agent budgets)");
  sub->add_flag("--json", flags->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, flags] { return RunRoute(global, *flags); }});
}

}  // namespace tokenbook::cli
