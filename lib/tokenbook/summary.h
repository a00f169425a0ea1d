// Dashboards over a ledger: the figures of `tokenbook summary` (spend today,
// this week and this month, budget health, breakdowns, top sessions, cache
// efficiency, unpriced entries, skipped lines) and of `tokenbook
// feature-cost`, with their Markdown and JSON renderings. The command, the C
// ABI and any other front end share these, so every dashboard shows the same
// numbers.
//
// One pass. A SummaryBuilder holds every rollup a dashboard needs; one
// Ledger::Scan feeds each entry to all of them (ComputeSummary), and the
// budget figures come from the BudgetService's running totals, so a summary
// costs one read of the ledger however many tables it shows.
//
// Exactness. Every figure is an integer sum (micro-dollars, tokens, entries)
// from Rollup; a breakdown keeps its top N groups and folds the rest into one
// "(other)" group, so its groups always sum exactly to its total. Percentages
// and ratios are computed from integers (Ratio, FormatPercent); money is
// rounded only for display ($X.XX, four decimals under a cent).
//
// Determinism. The Markdown is a function of the ledger, the config and
// `now` alone: no other clock reading, groups ordered by cost with ties
// broken by key, paths shown relative to the ledger directory. It is meant
// to be committed beside the ledger, and regenerating it from the same
// ledger at the same `now` gives the same bytes.
#ifndef TOKENBOOK_LIB_SUMMARY_H_
#define TOKENBOOK_LIB_SUMMARY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/budgets.h"
#include "tokenbook/ledger.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

// The generated dashboard's default file name, in the ledger directory.
inline constexpr absl::string_view kSummaryFileName = "summary.md";

// Display helpers shared by the dashboards and the command's text output
// (money itself is shown with FormatMoney, money.h).

// Every token counted once: input + output + cache read + both cache writes
// (reasoning tokens are part of output). 128 bits, so it cannot overflow.
__int128 TotalTokens(const TokenCounts& tokens);

// 12345678 -> "12,345,678".
std::string GroupDigits(__int128 n);

// A ratio as a percentage with one decimal and a percent sign, "42.9%", or "-"
// when it is undefined (a denominator that is not positive).
std::string PercentText(const Ratio& ratio);

// part / whole of a cost: PercentText({part, whole}).
std::string CostShare(Micros part, Micros whole);

// ---------------------------------------------------------------------------
// The summary.

struct SummaryOptions {
  std::string time_zone;         // IANA name; empty: the config's
  std::string period = "month";  // the breakdowns' period (see ResolvePeriod)
  size_t top = 5;                // groups kept per breakdown before "(other)"; 0 keeps all
  size_t top_sessions = 5;       // sessions kept before "(other)"; 0 keeps all
  size_t max_issues = 20;        // skipped lines listed in the Markdown (all are counted)
};

// Spend over one calendar period: "today", "week", "month" or "all".
struct SummaryPeriod {
  std::string name;
  RollupReport report;  // no group-by: report.total holds the figures
};

// Spend over the breakdown period grouped by one dimension, top N kept.
struct SummaryBreakdown {
  Dimension dimension = Dimension::kModel;
  RollupReport report;  // groups sum exactly to report.total
};

struct Summary {
  absl::Time now;
  absl::TimeZone tz;      // of every period, bucket and local time shown
  std::string time_zone;  // its IANA name
  absl::Weekday week_start = absl::Weekday::monday;
  std::string ledger_name = "ledger.jsonl";  // the ledger file, relative to its directory
  std::vector<SummaryPeriod> periods;        // today, week, month, all (in that order)
  TimeRange breakdown_range;
  // category, model, agent, project, then session (the top sessions).
  std::vector<SummaryBreakdown> breakdowns;
  // The unpriced entries of the whole ledger, by model (model ascending
  // among equal counts; every model kept).
  RollupReport unpriced;
  BudgetReport budgets;
  std::vector<LedgerIssue> issues;  // skipped ledger lines, in file order
  int64_t entries_read = 0;         // valid entries the scan delivered
  size_t max_issues = 20;

  const SummaryPeriod* Period(absl::string_view name) const;
  const SummaryBreakdown* Breakdown(Dimension d) const;
};

// The rollups of one summary, fed one entry at a time. Not thread-safe.
class SummaryBuilder {
 public:
  // InvalidArgument for a bad period; the zone and week start are the
  // calendar of every period and breakdown.
  [[nodiscard]] static absl::StatusOr<SummaryBuilder> Create(absl::Time now, absl::TimeZone tz,
                                                             absl::Weekday week_start,
                                                             const SummaryOptions& options = {});

  void Add(const Entry& e);

  // The figures so far, with the budget report and skipped lines given.
  // OutOfRange when a sum overflowed 64 bits.
  [[nodiscard]] absl::StatusOr<Summary> Finish(BudgetReport budgets, std::vector<LedgerIssue> issues) const;

 private:
  SummaryBuilder() = default;

  absl::Time now_;
  absl::TimeZone tz_;
  absl::Weekday week_start_ = absl::Weekday::monday;
  size_t max_issues_ = 20;
  std::vector<std::string> period_names_;
  std::vector<Rollup> periods_;
  std::vector<Dimension> dimensions_;
  std::vector<Rollup> breakdowns_;
  std::optional<Rollup> unpriced_;  // unpriced entries by model, all time
  TimeRange breakdown_range_;
  int64_t entries_ = 0;
};

// Scans the book's ledger once through a SummaryBuilder and asks its budget
// service for the status at `now`. The zone is options.time_zone, else the
// config's; weeks start as the config says.
[[nodiscard]] absl::StatusOr<Summary> ComputeSummary(Book& book, absl::Time now,
                                                     const SummaryOptions& options = {});

// The dashboard as Markdown (GitHub-flavoured tables). Every value from the
// ledger is escaped, so a hostile agent or model name cannot break a table
// or inject markup.
std::string SummaryMarkdown(const Summary& summary);

// The same figures as one JSON document (docs/cli.md, `tokenbook summary`):
// money as "*_micros" integers with "*_usd" strings, ratios as integers.
std::string SummaryJson(const Summary& summary);

// Replaces `path` with `content` atomically: a temporary file in the same
// directory, written whole and flushed to disk, then rename()d over it, so
// a reader (or git) sees the old file or the new one, never a mix. An
// existing file's permission bits are kept; a new file gets 0644 less the
// umask. The error names `path`.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path, absl::string_view content);

// ---------------------------------------------------------------------------
// One feature's cost.

struct FeatureCostResult {
  FeatureCost cost;       // see FeatureCostRollup
  std::string time_zone;  // IANA name
  TimeBucket bucket = TimeBucket::kDay;
  // The features that have entries in the range, most expensive first (ties
  // by name), at most five: what to suggest when `cost` is empty.
  std::vector<std::string> features;
  std::vector<LedgerIssue> issues;
  int64_t entries_read = 0;
};

// Scans the ledger once for `feature` (empty: entries without one) over the
// range `spec` names (period, or since/until; spec.time_zone or the
// config's), with a timeline per `bucket`. Only the period, since, until and
// time_zone of `spec` are used.
[[nodiscard]] absl::StatusOr<FeatureCostResult> ComputeFeatureCost(Book& book, const std::string& feature,
                                                                   const ReportSpec& spec, TimeBucket bucket,
                                                                   absl::Time now);

// {"feature", "period", "bucket", "totals", "by_agent", "by_category",
//  "timeline", "phases", "issues"}; groups as in report JSON
// ({"key": {...}, totals...}).
std::string FeatureCostJson(const FeatureCostResult& result);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_SUMMARY_H_
