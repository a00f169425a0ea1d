// Quarter-hour totals of the database ledgers (tokenbook/quarter_totals.h).
#include "tokenbook/quarter_totals.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

std::optional<QuarterPlan> PlanQuarterTotals(const RollupQuery& q) {
  QuarterPlan plan;
  for (const GroupKey& k : q.group_by) {
    if (k.is_time()) {
      plan.timed = true;
    } else if (k.kind != GroupKey::Kind::kDimension ||
               (k.dimension != Dimension::kModel && k.dimension != Dimension::kProvider)) {
      return std::nullopt;
    }
  }
  for (const Filter& f : q.filters) {
    if (f.key.kind != GroupKey::Kind::kDimension ||
        (f.key.dimension != Dimension::kModel && f.key.dimension != Dimension::kProvider)) {
      return std::nullopt;
    }
  }
  auto floor_div = [](int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0) ? 1 : 0); };
  plan.first_quarter = std::numeric_limits<int64_t>::min();
  plan.end_quarter = std::numeric_limits<int64_t>::max();
  if (q.range.start != absl::InfinitePast()) {
    const int64_t ms = absl::ToUnixMillis(q.range.start);
    if (absl::FromUnixMillis(ms) != q.range.start || floor_div(ms, kQuarterMs) * kQuarterMs != ms) return std::nullopt;
    plan.first_quarter = ms / kQuarterMs;
  }
  if (q.range.end != absl::InfiniteFuture()) {
    const int64_t ms = absl::ToUnixMillis(q.range.end);
    if (absl::FromUnixMillis(ms) != q.range.end || floor_div(ms, kQuarterMs) * kQuarterMs != ms) return std::nullopt;
    plan.end_quarter = ms / kQuarterMs;
  }
  return plan;
}

bool AddQuarterRow(const QuarterPlan& plan, const QuarterRow& row, Rollup* rollup) {
  static constexpr TokenKind kColumns[] = {TokenKind::kInput,        TokenKind::kOutput,
                                           TokenKind::kCacheRead,    TokenKind::kCacheWrite5m,
                                           TokenKind::kCacheWrite1h, TokenKind::kReasoning};
  Entry like;
  like.timestamp = absl::FromUnixMillis(row.quarter * kQuarterMs);
  if (plan.timed) {
    // A quarter hour must fall inside one bucket of the report's zone: its
    // UTC offset a whole number of quarter hours, the same at both ends.
    const absl::TimeZone& tz = rollup->query().tz;
    const absl::TimeZone::CivilInfo a = tz.At(like.timestamp);
    const absl::TimeZone::CivilInfo b = tz.At(like.timestamp + absl::Milliseconds(kQuarterMs - 1));
    if (a.offset != b.offset || a.offset % 900 != 0) return false;
  }
  like.model = row.model;
  like.provider = row.provider;
  like.cost_source = row.unpriced ? CostSource::kUnpriced : CostSource::kComputed;
  Totals t;
  t.entries = row.entries;
  t.requests = row.requests;
  t.cost = Micros(row.cost_micros);
  for (int k = 0; k < 6; ++k) t.tokens[kColumns[k]] = Tokens(row.tokens[k]);
  if (row.unpriced) {
    t.unpriced_entries = t.entries;
    t.unpriced_tokens = t.tokens;
  }
  t.first = absl::FromUnixMillis(row.first_ts_ms);
  t.last = absl::FromUnixMillis(row.last_ts_ms);
  rollup->AddTotals(like, t);
  return true;
}

}  // namespace v1
}  // namespace tokenbook
