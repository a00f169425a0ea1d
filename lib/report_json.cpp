#include "tokenbook/report_json.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace tokenbook {
inline namespace v1 {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& w, absl::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void Str(Writer& w, absl::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void Money(Writer& w, absl::string_view prefix, Micros amount) {
  Key(w, absl::StrCat(prefix, "_micros"));
  w.Int64(amount.value());
  Key(w, absl::StrCat(prefix, "_usd"));
  Str(w, FormatUsd(amount, 6));
}

// An instant as RFC 3339 UTC with milliseconds, or null when unbounded.
void Instant(Writer& w, absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    w.Null();
    return;
  }
  Str(w, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
}

void WriteTotals(Writer& w, const Totals& t) {
  Key(w, "entries");
  w.Int64(t.entries);
  Key(w, "requests");
  w.Int64(t.requests);
  Money(w, "cost", t.cost);
  Key(w, "input_tokens");
  w.Int64(t.tokens.input().value());
  Key(w, "output_tokens");
  w.Int64(t.tokens.output().value());
  Key(w, "cache_read_tokens");
  w.Int64(t.tokens.cache_read().value());
  Key(w, "cache_write_tokens");
  w.Int64(t.tokens.cache_write_5m().value() + t.tokens.cache_write_1h().value());
  Key(w, "cache_write_5m_tokens");
  w.Int64(t.tokens.cache_write_5m().value());
  Key(w, "cache_write_1h_tokens");
  w.Int64(t.tokens.cache_write_1h().value());
  Key(w, "reasoning_tokens");
  w.Int64(t.tokens.reasoning().value());
  Key(w, "unpriced_entries");
  w.Int64(t.unpriced_entries);
  Key(w, "unpriced_tokens");
  // Reasoning tokens are counted within output: not added twice.
  int64_t unpriced = 0;
  for (TokenKind kind : {TokenKind::kInput, TokenKind::kOutput, TokenKind::kCacheRead, TokenKind::kCacheWrite5m,
                         TokenKind::kCacheWrite1h}) {
    unpriced += t.unpriced_tokens[kind].value();
  }
  w.Int64(unpriced);
  const Ratio hit = t.cache_hit();
  Key(w, "cache_hit_ratio");
  if (hit.defined()) {
    w.StartObject();
    Key(w, "numerator");
    w.Int64(hit.num);
    Key(w, "denominator");
    w.Int64(hit.den);
    Key(w, "percent");
    Str(w, hit.Percent(1));
    w.EndObject();
  } else {
    w.Null();
  }
  Key(w, "first");
  Instant(w, t.entries > 0 ? t.first : absl::InfinitePast());
  Key(w, "last");
  Instant(w, t.entries > 0 ? t.last : absl::InfinitePast());
}

}  // namespace

std::string RollupReportJson(const RollupReport& report, const std::vector<LedgerIssue>& issues) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "period");
  w.StartObject();
  Key(w, "label");
  Str(w, report.range.label);
  Key(w, "start");
  Instant(w, report.range.start);
  Key(w, "end");
  Instant(w, report.range.end);
  Key(w, "tz");
  Str(w, report.time_zone);
  w.EndObject();
  Key(w, "group_by");
  w.StartArray();
  for (const GroupKey& k : report.group_by) Str(w, k.Name());
  w.EndArray();
  Key(w, "totals");
  w.StartObject();
  WriteTotals(w, report.total);
  w.EndObject();
  Key(w, "groups");
  w.StartArray();
  for (const Group& g : report.groups) {
    w.StartObject();
    Key(w, "key");
    w.StartObject();
    for (size_t i = 0; i < report.group_by.size() && i < g.values.size(); ++i) {
      Key(w, report.group_by[i].Name());
      Str(w, g.values[i]);
    }
    w.EndObject();
    if (g.other) {
      Key(w, "other");
      w.Bool(true);
      Key(w, "folded_groups");
      w.Int64(g.folded);
    }
    WriteTotals(w, g.totals);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "issues");
  w.StartArray();
  for (const LedgerIssue& issue : issues) {
    w.StartObject();
    Key(w, "file");
    Str(w, issue.file);
    Key(w, "line");
    w.Int64(issue.line);
    Key(w, "message");
    Str(w, issue.message);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string BudgetReportJson(const BudgetReport& report) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "now");
  Instant(w, report.now);
  Money(w, "month_spent", report.month_spent);
  Key(w, "budgets");
  w.StartArray();
  for (size_t i = 0; i < report.statuses.size(); ++i) {
    const BudgetStatus& s = report.statuses[i];
    w.StartObject();
    Key(w, "name");
    Str(w, s.budget.name);
    Key(w, "period");
    Str(w, BudgetPeriodName(s.budget.period));
    Key(w, "scope");
    Str(w, s.budget.scope.ToString());
    Key(w, "window");
    w.StartObject();
    Key(w, "label");
    Str(w, s.window.label);
    Key(w, "start");
    Instant(w, s.window.start);
    Key(w, "end");
    Instant(w, s.window.end);
    w.EndObject();
    Money(w, "spent", s.spent);
    Money(w, "limit", s.budget.limit);
    Money(w, "remaining", s.remaining);
    if (i < report.reserved.size()) Money(w, "reserved", report.reserved[i]);
    Key(w, "percent_bp");
    w.Int64(s.percent_bp);
    Key(w, "percent");
    Str(w, FormatPercent(s.spent, s.budget.limit, 1));
    Key(w, "level");
    Str(w, BudgetLevelName(s.level));
    Key(w, "color");
    Str(w, s.color());
    Key(w, "action");
    Str(w, BudgetActionName(s.budget.action));
    Key(w, "warning_bp");
    w.Int64(s.budget.thresholds.warning_bp);
    Key(w, "critical_bp");
    w.Int64(s.budget.thresholds.critical_bp);
    if (s.projected.has_value()) {
      Money(w, "projected", *s.projected);
    }
    Key(w, "days_until_exhausted");
    if (s.days_until_exhausted.has_value()) {
      w.Int64(*s.days_until_exhausted);
    } else {
      w.Null();
    }
    Key(w, "recommendation");
    Str(w, RecommendationName(s.recommendation));
    Key(w, "recommendation_text");
    Str(w, RecommendationText(s.recommendation));
    w.EndObject();
  }
  w.EndArray();
  Key(w, "suggestion");
  if (report.suggestion.has_value()) {
    const BudgetSuggestion& s = *report.suggestion;
    w.StartObject();
    Key(w, "stage");
    Str(w, StageName(s.stage));
    Key(w, "stage_inferred");
    w.Bool(s.stage_inferred);
    Money(w, "range_min", s.range.min);
    if (s.range.max.has_value()) Money(w, "range_max", *s.range.max);
    Money(w, "monthly_limit", s.monthly_limit);
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace v1
}  // namespace tokenbook
