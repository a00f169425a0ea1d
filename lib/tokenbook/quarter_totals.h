// Running totals per UTC quarter hour, model, provider and pricedness, as the
// database ledgers keep them (docs/backends.md): which reports they answer
// exactly, and how one of their rows counts into a Rollup. Shared by the
// SQLite and PostgreSQL backends, which differ only in how they read rows.
#ifndef TOKENBOOK_LIB_QUARTER_TOTALS_H_
#define TOKENBOOK_LIB_QUARTER_TOTALS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

inline constexpr int64_t kQuarterMs = 900'000;

// The quarters [first_quarter, end_quarter) a query reads.
struct QuarterPlan {
  bool timed = false;  // the query groups by a time bucket
  int64_t first_quarter = 0;
  int64_t end_quarter = 0;
};

// The plan when quarter-hour totals answer `q` exactly: it groups and filters
// by model, provider and time buckets only, and its range starts and ends on
// quarter hours. nullopt otherwise (the caller scans).
std::optional<QuarterPlan> PlanQuarterTotals(const RollupQuery& q);

// One row of quarter_totals.
struct QuarterRow {
  int64_t quarter = 0;  // floor(ts_ms / kQuarterMs)
  std::string model;
  std::string provider;  // "" when absent
  bool unpriced = false;
  int64_t entries = 0;
  int64_t requests = 0;
  int64_t cost_micros = 0;
  int64_t tokens[6] = {};  // input, output, cache read, cache write 5m and 1h, reasoning
  int64_t first_ts_ms = 0;
  int64_t last_ts_ms = 0;
};

// Counts `row` into `rollup` (made from the planned query). False, adding
// nothing, when the quarter straddles two buckets of the query's time zone
// (an offset that is not a whole number of quarter hours, or a change of
// offset inside it): the caller then scans.
bool AddQuarterRow(const QuarterPlan& plan, const QuarterRow& row, Rollup* rollup);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_QUARTER_TOTALS_H_
