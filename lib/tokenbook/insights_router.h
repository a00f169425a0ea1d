// The model router: which model should this task use, asked before the call.
//
// From config.toml's [router] (docs/config.md):
//   1. The rules, in file order: the first whose task types, keywords or
//      pattern match the task chooses its model (or tier). No match: the
//      `default` model, else the top tier.
//   2. The budget-aware downgrade: of the budgets that apply to the request
//      (its session, project, feature, agent; only those named in
//      router.budgets when that is set), the one most used — spent plus
//      reserved, floor(× 10000 / limit) basis points — decides: at or above
//      cheap_above_percent (80%) the cheap tier, else at or above
//      mid_above_percent (50%) the mid tier. The tier's model replaces the
//      chosen one only when it is cheaper — priced with CostOf on a reference
//      request of 1,000,000 input and 1,000,000 output tokens — so a
//      downgrade never moves up, and a rule with `downgrade = false` keeps
//      its model whatever the budgets say.
// Every model named is resolved in the rate table when the router is
// created; an unknown one is an error naming the config line.
//
// Thread safety: a Router is immutable once created; Route() may be called
// from any thread.
#ifndef TOKENBOOK_LIB_INSIGHTS_ROUTER_H_
#define TOKENBOOK_LIB_INSIGHTS_ROUTER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/budget.h"
#include "tokenbook/config.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

struct RouteRequest {
  std::string text;       // the task description
  std::string task_type;  // optional
  // The request's dimensions, for the budgets that apply to it (optional).
  std::string session;
  std::string project;
  std::string feature;
  std::string agent;
};

// A budget as the router sees it.
struct RouteBudget {
  const Budget* budget = nullptr;  // borrowed
  Micros spent;                    // in its current period
  Micros reserved;                 // held by outstanding reservations
};

struct RouteDecision {
  std::string model;         // the model to use (its id in the rate table)
  std::string tier;          // "cheap", "mid" or "top" when it is that tier's model, else ""
  std::string chosen_model;  // before the downgrade
  std::string chosen_by;     // "rule" or "default"
  int rule = -1;             // index into RouterConfig::rules, -1 for the default
  std::string rule_name;
  std::string matched;  // what matched: task_type "x", keyword "y", pattern "z"
  // The most used budget that applies (empty name when none applies).
  std::string budget;
  int64_t budget_percent_bp = 0;  // floor((spent + reserved) × 10000 / limit)
  std::string wanted_tier;        // "mid" or "cheap" when the budget asks for one, else ""
  bool downgraded = false;        // the model is the wanted tier's, not the chosen one
  bool downgrade_allowed = true;  // false: the rule has downgrade = false
};

class Router {
 public:
  // Resolves every model `config` names in `rates` (which must outlive the
  // router) and compiles the patterns.
  static absl::StatusOr<Router> Create(const RouterConfig& config, const RateTable& rates);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  const RouterConfig& config() const;

  // The decision for `request` given the budgets' usage (every configured
  // budget; those that do not apply to the request are ignored).
  RouteDecision Route(const RouteRequest& request, const std::vector<RouteBudget>& budgets) const;

  // The tier whose model `model_id` is ("cheap", "mid", "top"), else "".
  absl::string_view TierOf(absl::string_view model_id) const;

 private:
  struct Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether `keyword` occurs in `text` as a whole word or phrase, ignoring
// ASCII case: the characters around the occurrence are not letters or
// digits (bytes of multi-byte UTF-8 characters count as letters).
bool ContainsWord(absl::string_view text, absl::string_view keyword);

// Routes with the book's config, rate table and budget totals at `now`
// (the request's session selects the session budgets).
absl::StatusOr<RouteDecision> RouteWithBook(Book& book, const RouteRequest& request, absl::Time now);

// The same with a router already built from the book's config and rates (a
// long-lived caller builds it once: compiling the patterns costs more than
// routing).
absl::StatusOr<RouteDecision> RouteWithBook(Book& book, const Router& router, const RouteRequest& request,
                                            absl::Time now);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_INSIGHTS_ROUTER_H_
