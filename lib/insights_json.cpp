// JSON documents of the insights (see lib/tokenbook/insights_json.h).
#include "tokenbook/insights_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tokenbook/entry_json.h"

namespace tokenbook {
inline namespace v1 {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, absl::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void Str(JsonWriter& w, absl::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void Money(JsonWriter& w, absl::string_view prefix, Micros m) {
  Key(w, absl::StrCat(prefix, "_micros"));
  w.Int64(m.value());
  Key(w, absl::StrCat(prefix, "_usd"));
  Str(w, FormatUsd(m, 6));
}

void TimeField(JsonWriter& w, absl::string_view key, absl::Time t) {
  Key(w, key);
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    w.Null();
    return;
  }
  absl::StatusOr<std::string> s = FormatLedgerTime(t);
  if (s.ok()) {
    Str(w, *s);
  } else {
    w.Null();
  }
}

void Millis(JsonWriter& w, absl::string_view key, absl::Duration d) {
  Key(w, key);
  w.Int64(absl::ToInt64Milliseconds(d));
}

void Period(JsonWriter& w, const TimeRange& r) {
  Key(w, "period");
  w.StartObject();
  Key(w, "label");
  Str(w, r.label);
  TimeField(w, "start", r.start);
  TimeField(w, "end", r.end);
  w.EndObject();
}

void TokensObject(JsonWriter& w, const TokenCounts& t) {
  Key(w, "tokens_by_kind");
  w.StartObject();
  for (TokenKind k : kAllTokenKinds) {
    Key(w, TokenKindName(k));
    w.Int64(t[k].value());
  }
  w.EndObject();
}

void Block(JsonWriter& w, const UsageBlock& b) {
  w.StartObject();
  TimeField(w, "start", b.start);
  TimeField(w, "end", b.end);
  Key(w, "active");
  w.Bool(b.active);
  Millis(w, "gap_before_ms", b.gap_before);
  TimeField(w, "first_entry", b.totals.first);
  TimeField(w, "last_entry", b.totals.last);
  Key(w, "entries");
  w.Int64(b.totals.entries);
  Key(w, "requests");
  w.Int64(b.totals.requests);
  Key(w, "tokens");
  w.Int64(b.tokens);
  TokensObject(w, b.totals.tokens);
  Money(w, "cost", b.totals.cost);
  Key(w, "unpriced_entries");
  w.Int64(b.totals.unpriced_entries);
  Key(w, "models");
  w.StartArray();
  for (const std::string& m : b.models) Str(w, m);
  w.EndArray();
  Key(w, "burn_rate");
  if (b.burn.has_value()) {
    w.StartObject();
    Millis(w, "window_ms", b.burn->window);
    Key(w, "tokens_per_hour");
    w.Int64(b.burn->tokens_per_hour);
    Money(w, "cost_per_hour", b.burn->cost_per_hour);
    w.EndObject();
  } else {
    w.Null();
  }
  Key(w, "projection");
  if (b.projection.has_value()) {
    w.StartObject();
    Millis(w, "remaining_ms", b.projection->remaining);
    Key(w, "tokens");
    w.Int64(b.projection->tokens);
    Money(w, "cost", b.projection->cost);
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
}

std::string Done(const rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

}  // namespace

std::string BlocksJson(const std::vector<UsageBlock>& blocks, absl::Time now) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  TimeField(w, "now", now);
  Key(w, "block_hours");
  w.Int64(absl::ToInt64Hours(kUsageBlockLength));
  Key(w, "blocks");
  w.StartArray();
  for (const UsageBlock& b : blocks) Block(w, b);
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string AnomaliesJson(const AnomalyReport& report, const AnomalyOptions& options, size_t recorded) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Period(w, report.range);
  Key(w, "rule");
  w.StartObject();
  Key(w, "min_points");
  w.Uint64(options.min_points);
  Key(w, "score_threshold_milli");
  w.Int64(options.score_threshold_milli);
  Key(w, "min_ratio");
  w.Int64(options.min_ratio);
  Money(w, "min_excess", options.min_excess);
  w.EndObject();
  Key(w, "baselines");
  w.StartObject();
  for (const auto& [name, b] : {std::pair<const char*, const AnomalyBaseline*>{"hour", &report.hours},
                                std::pair<const char*, const AnomalyBaseline*>{"session", &report.sessions}}) {
    Key(w, name);
    w.StartObject();
    Key(w, "points");
    w.Uint64(b->points);
    Money(w, "median", b->median());
    Money(w, "mad", b->mad());
    w.EndObject();
  }
  w.EndObject();
  Key(w, "anomalies");
  w.StartArray();
  for (const Anomaly& a : report.anomalies) {
    w.StartObject();
    Key(w, "kind");
    Str(w, AnomalyKindName(a.kind));
    Key(w, "key");
    Str(w, a.key);
    TimeField(w, "start", a.start);
    TimeField(w, "end", a.end);
    Key(w, "entries");
    w.Int64(a.totals.entries);
    Money(w, "spent", a.totals.cost);
    Money(w, "median", a.median);
    Key(w, "score_milli");
    if (a.score_milli.has_value()) {
      w.Int64(*a.score_milli);
    } else {
      w.Null();
    }
    Key(w, "recorded");
    w.Bool(a.recorded);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "recorded");
  w.Uint64(recorded);
  w.EndObject();
  return Done(sb);
}

std::string AdviceJson(const Advice& advice, const AdviceOptions& options) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Period(w, advice.range);
  Key(w, "entries");
  w.Int64(advice.total.entries);
  Money(w, "total_cost", advice.total.cost);
  Money(w, "total_saving", advice.total_saving);
  Money(w, "min_saving", options.min_saving);
  Key(w, "reprice_failures");
  w.Int64(advice.reprice_failures);
  Key(w, "suggestions");
  w.StartArray();
  for (const Suggestion& s : advice.suggestions) {
    w.StartObject();
    Key(w, "kind");
    Str(w, SuggestionKindName(s.kind));
    Key(w, "title");
    Str(w, s.title);
    Key(w, "entries");
    w.Int64(s.entries);
    Money(w, "current", s.current);
    Money(w, "alternative", s.alternative);
    Money(w, "saving", s.saving);
    switch (s.kind) {
      case SuggestionKind::kCheaperModel:
        Key(w, "model");
        Str(w, s.model);
        Key(w, "to_model");
        Str(w, s.to_model);
        Key(w, "dimension");
        Str(w, s.dimension);
        Key(w, "value");
        Str(w, s.value);
        Key(w, "evidence");
        Str(w, s.evidence);
        break;
      case SuggestionKind::kCaching:
        Key(w, "model");
        Str(w, s.model);
        Key(w, "sessions");
        w.Int64(s.sessions);
        Key(w, "cache_read_tokens");
        w.Int64(s.cache_hit.num);
        Key(w, "prompt_tokens");
        w.Int64(s.cache_hit.den);
        Key(w, "cached_prefix_tokens");
        w.Int64(s.prefix_tokens);
        break;
      case SuggestionKind::kResearchOverShipping:
        Key(w, "feature");
        Str(w, s.value);
        Money(w, "research", s.current);
        Money(w, "shipping", s.alternative);
        break;
      case SuggestionKind::kBudgetTooLarge:
        Key(w, "budget");
        Str(w, s.budget);
        Key(w, "periods");
        w.Int64(s.periods);
        Money(w, "limit", s.limit);
        Money(w, "largest_period_spend", s.largest_period_spend);
        Money(w, "suggested_limit", s.suggested_limit);
        break;
      case SuggestionKind::kBatch:
        Key(w, "model");
        Str(w, s.model);
        Key(w, "service_tier");
        Str(w, options.batch_tier);
        break;
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Done(sb);
}

std::string RouteDecisionJson(const RouteDecision& d, const RouterConfig& config) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Key(w, "model");
  Str(w, d.model);
  Key(w, "tier");
  if (d.tier.empty()) {
    w.Null();
  } else {
    Str(w, d.tier);
  }
  Key(w, "chosen_model");
  Str(w, d.chosen_model);
  Key(w, "chosen_by");
  Str(w, d.chosen_by);
  Key(w, "rule");
  if (d.rule >= 0) {
    Str(w, d.rule_name);
  } else {
    w.Null();
  }
  Key(w, "matched");
  if (d.matched.empty()) {
    w.Null();
  } else {
    Str(w, d.matched);
  }
  Key(w, "budget");
  if (d.budget.empty()) {
    w.Null();
  } else {
    w.StartObject();
    Key(w, "name");
    Str(w, d.budget);
    Key(w, "percent_bp");
    w.Int64(d.budget_percent_bp);
    w.EndObject();
  }
  Key(w, "wanted_tier");
  if (d.wanted_tier.empty()) {
    w.Null();
  } else {
    Str(w, d.wanted_tier);
  }
  Key(w, "downgraded");
  w.Bool(d.downgraded);
  Key(w, "downgrade_allowed");
  w.Bool(d.downgrade_allowed);
  Key(w, "mid_above_bp");
  w.Int64(config.mid_above_bp);
  Key(w, "cheap_above_bp");
  w.Int64(config.cheap_above_bp);
  w.EndObject();
  return Done(sb);
}

std::string StatusLineJson(const StatusLine& line) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Key(w, "line");
  Str(w, FormatStatusLine(line));
  Key(w, "model");
  Str(w, !line.input.model_name.empty() ? line.input.model_name : line.input.model_id);
  Key(w, "session_id");
  Str(w, line.input.session_id);
  Key(w, "session_source");
  if (line.ledger_session_cost.has_value()) {
    Str(w, "ledger");
    Money(w, "session_cost", *line.ledger_session_cost);
  } else if (line.input.session_cost.has_value()) {
    Str(w, "input");
    Money(w, "session_cost", *line.input.session_cost);
  } else {
    w.Null();
  }
  Key(w, "ledger_found");
  w.Bool(line.ledger_found);
  Money(w, "today", line.today);
  Key(w, "block");
  if (line.block.has_value()) {
    Block(w, *line.block);
  } else {
    w.Null();
  }
  Key(w, "budget");
  if (line.budget.has_value()) {
    w.StartObject();
    Key(w, "name");
    Str(w, line.budget->budget.name);
    Key(w, "period");
    Str(w, line.budget->window.label);
    Money(w, "spent", line.budget->spent);
    Money(w, "limit", line.budget->budget.limit);
    Key(w, "percent_bp");
    w.Int64(line.budget->percent_bp);
    Key(w, "level");
    Str(w, BudgetLevelName(line.budget->level));
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return Done(sb);
}

}  // namespace v1
}  // namespace tokenbook
