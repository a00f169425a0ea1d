// A ledger's `config.toml`: budgets, thresholds, the budget action, the
// project stage, the time zone and week start, durability, admission
// settings, rate-table overrides and the model router. Every key is documented, with an
// example file, in docs/config.md.
//
// Reading is strict: an unknown key, a wrong type, a value out of range or an
// unknown time zone is an InvalidArgument error that names the file, line and
// column and the key ("config.toml:7:11: budgets.monthly: ..."), so a typo
// never silently changes what a budget does. A missing file is not an error:
// it means every default.
//
// Rate overrides are files only (`[rates] files = [...]`, each a TOML rate
// table in the format of docs/rates-format.md or a LiteLLM JSON database),
// layered over the built-in table in the order listed. Inline rate tables are
// not accepted in config.toml: a rate table keeps its own file, so that its
// messages name its own lines and it can be shared between ledgers.
#ifndef TOKENBOOK_LIB_CONFIG_H_
#define TOKENBOOK_LIB_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/budget.h"
#include "tokenbook/ledger.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

inline constexpr absl::string_view kConfigFileName = "config.toml";

// A rate file named in config.toml.
struct RateFileRef {
  std::string path;   // resolved: relative paths are taken from the config file's directory
  std::string where;  // "config.toml:21:10", for messages about this file
};

// A model named in config.toml, with where it was named.
struct ModelRef {
  std::string model;  // an id, alias or any spelling RateTable::Resolve accepts
  std::string where;  // "config.toml:12:7: router.tiers.cheap", for messages; empty for a default
};

// A [[router.rules]] table: which model a task goes to. The rule matches a
// task when any of its conditions holds (see docs/config.md).
struct RouterRule {
  std::string name;                     // default "rule N" (1-based, file order)
  std::vector<std::string> task_types;  // the task's type equals one of these (ASCII case-insensitive)
  std::vector<std::string> keywords;    // one occurs in the task text as a whole word (case-insensitive)
  std::string pattern;                  // ECMAScript regular expression searched in the text, case-insensitive
  ModelRef model;                       // the model, or
  std::string tier;                     // a tier: "cheap", "mid" or "top" (exactly one of the two is set)
  bool downgrade = true;                // the budget-aware downgrade may replace it
  std::string where;                    // "config.toml:31:1" (the rule's table)
};

// [router]: model tiers, rules and the budget-aware downgrade.
struct RouterConfig {
  ModelRef cheap{"claude-haiku-4-5", ""};
  ModelRef mid{"claude-sonnet-4-6", ""};
  ModelRef top{"claude-opus-4-6", ""};
  ModelRef default_model;  // when no rule matches; empty: the top tier
  // At or above these percentages of a budget that applies (spent plus
  // reserved, in basis points), the mid and the cheap tier are used.
  int64_t mid_above_bp = 5'000;
  int64_t cheap_above_bp = 8'000;
  std::vector<std::string> budgets;  // budgets consulted by name; empty: every budget that applies
  std::vector<RouterRule> rules;     // in file order; the first that matches wins
};

struct Config {
  std::string path;    // the file read; empty for ParseConfig on text
  bool found = false;  // false: no config.toml, every value is a default

  // Budgets in file order: daily, weekly, monthly, session, then
  // [[budgets.scoped]] in order. Each carries its resolved thresholds and
  // action (its own, else the [budgets] defaults). Valid (ValidateBudgets).
  std::vector<Budget> budgets;
  Thresholds thresholds;                      // [budgets] warning_percent / critical_percent
  BudgetAction action = BudgetAction::kWarn;  // [budgets] action
  std::optional<Stage> stage;                 // for suggestions when no budget is set

  std::string time_zone_name = "UTC";
  absl::TimeZone time_zone = absl::UTCTimeZone();
  absl::Weekday week_start = absl::Weekday::monday;
  Durability durability = Durability::kFlush;
  // `backend`: where the entries live, as a database URL (docs/backends.md);
  // a relative sqlite: path is made absolute against the config's
  // directory. Empty: ledger.jsonl beside config.toml.
  std::string backend;

  absl::Duration reservation_ttl = absl::Minutes(10);  // [admission] reservation_ttl_seconds

  std::vector<RateFileRef> rate_files;  // [rates] files, lowest layer first

  RouterConfig router;  // [router]; the defaults when absent

  BudgetCalendar calendar() const { return BudgetCalendar{time_zone, week_start}; }
};

// Parses config text. `source_name` is used in messages; relative rate-file
// paths are resolved against `base_dir` (unchanged when it is empty).
[[nodiscard]] absl::StatusOr<Config> ParseConfig(absl::string_view text, absl::string_view source_name,
                                                 absl::string_view base_dir = "");

// Reads `path`. NotFound when it does not exist.
[[nodiscard]] absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Reads `<ledger_dir>/config.toml`; the defaults when there is none.
[[nodiscard]] absl::StatusOr<Config> LoadConfig(const std::string& ledger_dir);

// The built-in rate table with the config's rate files layered over it, in
// order. A file that fails to load is an error naming the file and the
// config line that lists it. Warnings of the rate readers are appended to
// `warnings` when it is not null.
[[nodiscard]] absl::StatusOr<RateTable> LoadConfiguredRates(const Config& config,
                                                            std::vector<std::string>* warnings = nullptr);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_CONFIG_H_
