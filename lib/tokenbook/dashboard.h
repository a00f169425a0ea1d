// The HTML dashboard of a ledger (`tokenbook dashboard`): one self-contained
// file with SVG charts drawn here — spend per day, this month against the
// monthly budget with the month-end projection, share by model, top features
// and agents, and the cache-hit ratio per day — beside the totals, budgets,
// unpriced entries and skipped lines of `tokenbook summary`.
//
// One pass. A DashboardBuilder holds a SummaryBuilder and the few rollups
// the charts add (the period by day, this month by day, features); one
// Ledger::Scan feeds each entry to all of them (ComputeDashboard), and the
// budget figures come from the BudgetService, so the dashboard shows the
// numbers `summary`, `report` and `budget` show.
//
// Exactness. Every figure is an integer (micro-dollars, tokens, entries);
// chart geometry is integer too: a bar of value v on an axis topped at m is
// v × height / m user units (floor), so no float or double is involved.
// Money is rounded only for display; every table cell that shows money also
// carries the exact amount (`data-micros`), and every ratio its integers
// (`data-num`, `data-den`), for tests and scripts.
//
// Self-contained and safe. The page has no script, loads nothing (a
// Content-Security-Policy forbids every fetch), and escapes every value
// from the ledger, so a model or agent called `<script>` is only text.
// Light and dark themes follow `prefers-color-scheme`; each chart is an
// <svg role="img"> with a <title>, followed by a table of its numbers.
//
// Determinism. The HTML is a function of the ledger, the config and `now`
// alone, like summary.md.
#ifndef TOKENBOOK_LIB_DASHBOARD_H_
#define TOKENBOOK_LIB_DASHBOARD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/budget.h"
#include "tokenbook/rollup.h"
#include "tokenbook/summary.h"

namespace tokenbook {
inline namespace v1 {

// The generated dashboard's default file name, in the ledger directory.
inline constexpr absl::string_view kDashboardFileName = "dashboard.html";

struct DashboardOptions {
  std::string time_zone;         // IANA name; empty: the config's
  std::string period = "month";  // of the daily charts and the breakdowns (see ResolvePeriod)
  size_t top = 8;                // groups per chart before "(N others)"; 0 keeps all
};

struct Dashboard {
  // Totals, budgets, breakdowns (models and agents among them, top N kept),
  // unpriced entries and skipped lines.
  Summary summary;
  // The breakdown period by local day, every day present (empty days are
  // zero rows) from the period's first day (or the first entry's, for an
  // unbounded period) to its last (or the last entry's).
  RollupReport daily;
  // This calendar month by local day, every day present.
  RollupReport month_daily;
  TimeRange month;
  // The breakdown period by feature, top N kept.
  RollupReport features;
  // The first all-scope monthly budget, if any: the budget line of the
  // month chart, and its month-end projection.
  std::optional<BudgetStatus> monthly_budget;
  // The first all-scope daily budget, if any: the budget line of the
  // spend-per-day chart.
  std::optional<BudgetStatus> daily_budget;
  // The month's spend at its end if the daily average so far holds, as the
  // budget service projects it: round_half_even(spent × days in month /
  // days elapsed).
  Micros month_projected;
};

// The rollups of one dashboard, fed one entry at a time. Not thread-safe.
class DashboardBuilder {
 public:
  // InvalidArgument for a bad period.
  [[nodiscard]] static absl::StatusOr<DashboardBuilder> Create(absl::Time now, absl::TimeZone tz,
                                                               absl::Weekday week_start,
                                                               const DashboardOptions& options = {});

  void Add(const Entry& e);

  // The figures so far. OutOfRange when a sum overflowed 64 bits.
  [[nodiscard]] absl::StatusOr<Dashboard> Finish(BudgetReport budgets, std::vector<LedgerIssue> issues) const;

 private:
  explicit DashboardBuilder(SummaryBuilder summary) : summary_(std::move(summary)) {}

  SummaryBuilder summary_;
  std::optional<Rollup> daily_;
  std::optional<Rollup> month_daily_;
  std::optional<Rollup> features_;
  TimeRange month_;
  absl::Time now_;
  absl::TimeZone tz_;
  absl::Weekday week_start_ = absl::Weekday::monday;
};

// Scans the book's ledger once through a DashboardBuilder and asks its
// budget service for the status at `now`. The zone is options.time_zone,
// else the config's; weeks start as the config says.
[[nodiscard]] absl::StatusOr<Dashboard> ComputeDashboard(Book& book, absl::Time now,
                                                         const DashboardOptions& options = {});

// The dashboard as one HTML document (UTF-8, no script, no external
// resource).
std::string DashboardHtml(const Dashboard& dashboard);

// `s` safe as HTML text or a quoted attribute value: & < > " ' as
// character references, control characters as spaces.
std::string HtmlEscape(absl::string_view s);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_DASHBOARD_H_
