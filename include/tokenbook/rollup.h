// Rollups: streaming aggregation of entries into grouped totals.
//
// A reader feeds entries one at a time to a Rollup built from a RollupQuery
// (time range, group-by keys, filters, top-N, order); Finish() gives plain
// structs that a renderer turns into text, JSON, CSV or Markdown. No I/O.
//
//   auto query = RollupQuery{};
//   query.range = *ResolvePeriod("month", now, tz);
//   query.tz = tz;
//   query.group_by = *ParseGroupBy("model,day");
//   TKB_RETURN_IF_ERROR(query.AddFilter("agent=reviewer,writer"));
//   TKB_ASSIGN_OR_RETURN(Rollup rollup, Rollup::Create(std::move(query)));
//   for (const Entry& e : entries) rollup.Add(e);
//   TKB_ASSIGN_OR_RETURN(RollupReport report, rollup.Finish());
//
// Exactness: every figure is an integer sum (costs in micro-dollars, token
// counts, entry and request counts), each addition checked for overflow —
// an overflow makes Finish() an OutOfRange error, never a wrapped number.
// The groups of a report always sum exactly to its total, field by field;
// top-N keeps that true by folding the groups it drops into "other" groups.
//
// Cost: Add() is a range check, the filters, one hash lookup of a key built
// in a reused buffer (no allocation unless the group is new) and two Totals
// updates; memory grows with the number of groups, never with entries.
#ifndef TOKENBOOK_ROLLUP_H_
#define TOKENBOOK_ROLLUP_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"
#include "tokenbook/period.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

// ---------------------------------------------------------------------------
// Group-by keys and filters.

// One key to group (or filter) by: a dimension, a tag, or a time bucket.
struct GroupKey {
  enum class Kind : uint8_t { kDimension, kTag, kTime };
  Kind kind = Kind::kDimension;
  Dimension dimension = Dimension::kModel;  // kDimension
  std::string tag;                          // kTag: the tag's key
  TimeBucket bucket = TimeBucket::kDay;     // kTime

  static GroupKey Of(Dimension d) { return GroupKey{Kind::kDimension, d, {}, TimeBucket::kDay}; }
  static GroupKey Tag(std::string key) {
    return GroupKey{Kind::kTag, Dimension::kModel, std::move(key), TimeBucket::kDay};
  }
  static GroupKey Time(TimeBucket b) { return GroupKey{Kind::kTime, Dimension::kModel, {}, b}; }

  bool is_time() const { return kind == Kind::kTime; }

  // "model", "tag:team", "day": the text ParseGroupKey() reads.
  std::string Name() const {
    switch (kind) {
      case Kind::kDimension: return std::string(DimensionName(dimension));
      case Kind::kTag: return absl::StrCat("tag:", tag);
      case Kind::kTime: return std::string(TimeBucketName(bucket));
    }
    return "?";
  }

  friend bool operator==(const GroupKey& a, const GroupKey& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
      case Kind::kDimension: return a.dimension == b.dimension;
      case Kind::kTag: return a.tag == b.tag;
      case Kind::kTime: return a.bucket == b.bucket;
    }
    return false;
  }
  friend bool operator!=(const GroupKey& a, const GroupKey& b) { return !(a == b); }
};

inline constexpr absl::string_view kGroupByForms =
    "model, provider, agent, category, action_type, action, feature, project, session, tool, "
    "task_type, service_tier, tag:KEY, hour, day, week, month";
inline constexpr absl::string_view kFilterForms =
    "KEY=VALUE or KEY=V1,V2 (any of), where KEY is model, provider, agent, category, action_type, "
    "action, feature, project, session, tool, task_type, service_tier or tag:KEY; an empty VALUE "
    "matches entries without one";

// "model", "tag:team", "day", ... (surrounding spaces ignored).
[[nodiscard]] inline absl::StatusOr<GroupKey> ParseGroupKey(absl::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(text);
  if (std::optional<Dimension> d = ParseDimension(s)) return GroupKey::Of(*d);
  if (std::optional<TimeBucket> b = ParseTimeBucket(s)) return GroupKey::Time(*b);
  absl::string_view tag = s;
  if (absl::ConsumePrefix(&tag, "tag:")) {
    tag = absl::StripAsciiWhitespace(tag);
    if (!tag.empty()) return GroupKey::Tag(std::string(tag));
    return absl::InvalidArgumentError(absl::StrCat("empty tag key in \"", text, "\" (write tag:KEY)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown group-by key \"", text, "\"; expected one of: ", kGroupByForms));
}

// A comma-separated list of keys, in order: "model,day", "agent, tag:team".
// An empty spec is no grouping (one group holding everything). A key given
// twice, or an empty item, is an error.
[[nodiscard]] inline absl::StatusOr<std::vector<GroupKey>> ParseGroupBy(absl::string_view spec) {
  std::vector<GroupKey> out;
  if (absl::StripAsciiWhitespace(spec).empty()) return out;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    if (absl::StripAsciiWhitespace(item).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty key in group-by \"", spec, "\""));
    }
    absl::StatusOr<GroupKey> key = ParseGroupKey(item);
    if (!key.ok()) return key.status();
    if (std::find(out.begin(), out.end(), *key) != out.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("group-by key \"", key->Name(), "\" given twice in \"", spec, "\""));
    }
    out.push_back(*std::move(key));
  }
  return out;
}

// Equality on a dimension or tag: matches when the entry's value is one of
// `values` ("" = the entry has no such value). Several filters on one key are
// merged (any value); filters on different keys must all match.
struct Filter {
  GroupKey key;
  std::vector<std::string> values;

  bool Matches(const Entry& e) const {
    absl::string_view v;
    if (key.kind == GroupKey::Kind::kDimension) {
      v = e.Get(key.dimension);
    } else {
      const std::string* t = e.Tag(key.tag);
      if (t != nullptr) v = *t;
    }
    for (const std::string& x : values) {
      if (x == v) return true;
    }
    return false;
  }
};

// "agent=reviewer", "model=a,b" (either), "tag:team=infra", "feature=" (no
// feature). Spaces around the key and each value are ignored.
[[nodiscard]] inline absl::StatusOr<Filter> ParseFilter(absl::string_view spec) {
  const size_t eq = spec.find('=');
  if (eq == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("bad filter \"", spec, "\"; expected ", kFilterForms));
  }
  absl::StatusOr<GroupKey> key = ParseGroupKey(spec.substr(0, eq));
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad filter \"", spec, "\": ", key.status().message(), " (time buckets excluded)"));
  }
  if (key->is_time()) {
    return absl::InvalidArgumentError(absl::StrCat("bad filter \"", spec,
                                                   "\": filter on time with a period or ",
                                                   "since/until, not ", key->Name(), "="));
  }
  Filter f;
  f.key = *std::move(key);
  for (absl::string_view v : absl::StrSplit(spec.substr(eq + 1), ',')) {
    f.values.emplace_back(absl::StripAsciiWhitespace(v));
  }
  return f;
}

// ---------------------------------------------------------------------------
// Totals.

// num / den as exact integers; undefined when den is 0. Not money.
struct Ratio {
  int64_t num = 0;
  int64_t den = 0;

  bool defined() const { return den > 0; }

  // The percentage rounded half-even to `decimals` places (0..6), without a
  // sign: {3, 7} -> "42.9"; "n/a" when undefined. Exact: integers only.
  std::string Percent(int decimals = 1) const {
    if (!defined()) return "n/a";
    decimals = std::clamp(decimals, 0, 6);
    __int128 scale = 100;
    for (int k = 0; k < decimals; ++k) scale *= 10;
    const __int128 v = DivRoundHalfEven(static_cast<__int128>(num) * scale, den);
    unsigned __int128 m = v < 0 ? static_cast<unsigned __int128>(-v) : static_cast<unsigned __int128>(v);
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
      m /= 10;
    } while (m != 0);
    while (static_cast<int>(digits.size()) <= decimals) digits.insert(digits.begin(), '0');
    if (decimals > 0) digits.insert(digits.size() - static_cast<size_t>(decimals), ".");
    return v < 0 ? "-" + digits : digits;
  }

  friend bool operator==(const Ratio& a, const Ratio& b) { return a.num == b.num && a.den == b.den; }
};

// What a group (or a whole report) adds up to.
struct Totals {
  int64_t entries = 0;
  int64_t requests = 0;
  Micros cost;         // exact sum of the entries' stored costs
  TokenCounts tokens;  // every kind, priced or not
  int64_t unpriced_entries = 0;
  TokenCounts unpriced_tokens;                // the part of `tokens` from unpriced entries
  absl::Time first = absl::InfiniteFuture();  // earliest timestamp (when entries > 0)
  absl::Time last = absl::InfinitePast();     // latest timestamp

  bool empty() const { return entries == 0; }

  // cache_read / (input + cache_read): the share of prompt tokens served
  // from the cache. Add() guarantees the denominator fits.
  Ratio cache_hit() const {
    return Ratio{tokens.cache_read().value(), tokens.input().value() + tokens.cache_read().value()};
  }

  // Adds one entry; false on overflow (this is then left unspecified).
  [[nodiscard]] bool Add(const Entry& e) {
    bool ok = !__builtin_add_overflow(entries, int64_t{1}, &entries);
    ok &= !__builtin_add_overflow(requests, e.requests, &requests);
    ok &= CheckedAdd(&cost, e.cost);
    for (int k = 0; k < kTokenKindCount; ++k) ok &= CheckedAdd(&tokens.by_kind[k], e.tokens.by_kind[k]);
    if (!e.priced()) {
      ok &= !__builtin_add_overflow(unpriced_entries, int64_t{1}, &unpriced_entries);
      for (int k = 0; k < kTokenKindCount; ++k) {
        ok &= CheckedAdd(&unpriced_tokens.by_kind[k], e.tokens.by_kind[k]);
      }
    }
    if (e.timestamp < first) first = e.timestamp;
    if (e.timestamp > last) last = e.timestamp;
    int64_t prompt;
    ok &= !__builtin_add_overflow(tokens.input().value(), tokens.cache_read().value(), &prompt);
    return ok;
  }

  // Adds another total; false on overflow.
  [[nodiscard]] bool Merge(const Totals& o) {
    bool ok = !__builtin_add_overflow(entries, o.entries, &entries);
    ok &= !__builtin_add_overflow(requests, o.requests, &requests);
    ok &= CheckedAdd(&cost, o.cost);
    ok &= !__builtin_add_overflow(unpriced_entries, o.unpriced_entries, &unpriced_entries);
    for (int k = 0; k < kTokenKindCount; ++k) {
      ok &= CheckedAdd(&tokens.by_kind[k], o.tokens.by_kind[k]);
      ok &= CheckedAdd(&unpriced_tokens.by_kind[k], o.unpriced_tokens.by_kind[k]);
    }
    first = std::min(first, o.first);
    last = std::max(last, o.last);
    int64_t prompt;
    ok &= !__builtin_add_overflow(tokens.input().value(), tokens.cache_read().value(), &prompt);
    return ok;
  }

  friend bool operator==(const Totals& a, const Totals& b) {
    return a.entries == b.entries && a.requests == b.requests && a.cost == b.cost &&
           a.tokens.by_kind == b.tokens.by_kind && a.unpriced_entries == b.unpriced_entries &&
           a.unpriced_tokens.by_kind == b.unpriced_tokens.by_kind && a.first == b.first && a.last == b.last;
  }
  friend bool operator!=(const Totals& a, const Totals& b) { return !(a == b); }
};

// ---------------------------------------------------------------------------
// Query and report.

// How the groups of a report are ordered. Ties are always broken by the
// group's key (values in group-by order: text bytewise, time buckets
// chronologically), so the order is fully deterministic. "Other" groups
// (see RollupQuery::top_n) come after the groups they sit beside.
enum class SortOrder {
  kAuto,     // kKey when grouping by a time bucket (a time series), else kCost
  kCost,     // cost descending
  kEntries,  // entry count descending
  kKey,      // key ascending: chronological for time buckets
};

struct RollupQuery {
  TimeRange range;                          // only entries in [start, end) count; default: all
  absl::TimeZone tz = absl::UTCTimeZone();  // for hour/day/week/month buckets
  absl::Weekday week_start = absl::Weekday::monday;
  std::vector<GroupKey> group_by;  // empty: one group holding everything
  std::vector<Filter> filters;

  // Keep the N groups that cost most (ties: key ascending) and fold the rest
  // into "other", so the groups still sum exactly to the total. When the
  // group-by mixes time buckets and other keys ("model,day"), the ranking is
  // of the non-time combinations by their cost over the whole range (the top
  // N models), and the rest fold into one "other" group per time bucket.
  // 0 keeps every group.
  size_t top_n = 0;
  SortOrder order = SortOrder::kAuto;

  // With exactly one time bucket in group_by: add zero rows for buckets
  // without entries, for every combination of the other keys present, from
  // the range's start (or the first entry's bucket when unbounded) to its end
  // (or the last entry's bucket). Buckets the zone skips entirely (a skipped
  // DST hour) are not added.
  bool fill_empty_buckets = false;

  // Parses `spec` (see ParseFilter) and adds it, merging with a filter on
  // the same key (the values then match any of them).
  [[nodiscard]] absl::Status AddFilter(absl::string_view spec) {
    absl::StatusOr<Filter> f = ParseFilter(spec);
    if (!f.ok()) return f.status();
    AddFilter(*std::move(f));
    return absl::OkStatus();
  }
  void AddFilter(Filter f) {
    for (Filter& existing : filters) {
      if (existing.key == f.key) {
        for (std::string& v : f.values) existing.values.push_back(std::move(v));
        return;
      }
    }
    filters.push_back(std::move(f));
  }
};

// The value an "other" group shows for the keys it folds.
inline constexpr absl::string_view kOtherLabel = "(other)";
// What a renderer may show for an absent value (a group's value is "").
inline constexpr absl::string_view kNoneLabel = "(none)";

struct Group {
  // One value per group-by key, in the query's order: the entry's value ("" if
  // it had none), or a time bucket's label ("2026-03-08", see Bucketer).
  std::vector<std::string> values;
  // A top-N remainder: its non-time values read kOtherLabel and `folded`
  // says how many groups it holds.
  bool other = false;
  int64_t folded = 0;
  // The group's time bucket (the first time key in group_by), clipped to
  // the report's range; the report's range when there is no time key or the
  // bucket is folded.
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfiniteFuture();
  Totals totals;
};

struct RollupReport {
  TimeRange range;
  std::string time_zone;  // IANA name
  absl::Weekday week_start = absl::Weekday::monday;
  std::vector<GroupKey> group_by;
  std::vector<Filter> filters;
  std::vector<Group> groups;  // ordered per the query's SortOrder
  Totals total;               // == the exact sum of `groups`
  int64_t scanned = 0;        // entries fed to Add(), matching or not
  int64_t folded_groups = 0;  // groups folded into "other" rows by top-N
  int64_t filled_groups = 0;  // zero rows added by fill_empty_buckets
};

// ---------------------------------------------------------------------------
// The aggregator.

// Not thread-safe: feed one Rollup per thread and Merge() them.
class Rollup {
 public:
  // Checks the query: filters are on dimensions or tags, group-by keys are
  // distinct, fill_empty_buckets has exactly one time key (and no top-N when
  // that is the only key), the range is not inverted.
  [[nodiscard]] static absl::StatusOr<Rollup> Create(RollupQuery query) {
    if (query.range.end < query.range.start) {
      return absl::InvalidArgumentError(
          absl::StrCat("inverted time range \"", query.range.label, "\" (end before start)"));
    }
    RollupQuery merged = query;
    merged.filters.clear();
    for (Filter& f : query.filters) {
      if (f.key.is_time()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot filter on ", f.key.Name(), ": use a period or since/until"));
      }
      if (f.key.kind == GroupKey::Kind::kTag && f.key.tag.empty()) {
        return absl::InvalidArgumentError("filter on an empty tag key");
      }
      merged.AddFilter(std::move(f));
    }
    int time_keys = 0;
    for (size_t i = 0; i < merged.group_by.size(); ++i) {
      const GroupKey& k = merged.group_by[i];
      if (k.is_time()) ++time_keys;
      if (k.kind == GroupKey::Kind::kTag && k.tag.empty()) {
        return absl::InvalidArgumentError("group by an empty tag key");
      }
      for (size_t j = 0; j < i; ++j) {
        if (merged.group_by[j] == k) {
          return absl::InvalidArgumentError(absl::StrCat("group-by key \"", k.Name(), "\" given twice"));
        }
      }
    }
    if (merged.fill_empty_buckets && time_keys != 1) {
      return absl::InvalidArgumentError(
          "filling empty buckets needs exactly one time key (hour, day, week or month) in the group-by");
    }
    if (merged.fill_empty_buckets && merged.top_n > 0 && merged.group_by.size() == 1) {
      // Top-N would fold whole buckets into "other"; zero rows for them would lie.
      return absl::InvalidArgumentError(
          "top-N over time buckets alone cannot be combined with filling empty buckets");
    }
    return Rollup(std::move(merged));
  }

  const RollupQuery& query() const { return query_; }

  // Whether `e` is in the range and passes every filter.
  bool Matches(const Entry& e) const {
    if (!query_.range.Contains(e.timestamp)) return false;
    for (const Filter& f : query_.filters) {
      if (!f.Matches(e)) return false;
    }
    return true;
  }

  // Counts `e` if it matches. An overflow is recorded and reported by
  // status() and Finish(); entries added after it are ignored.
  void Add(const Entry& e) {
    ++scanned_;
    if (!Matches(e) || !status_.ok()) return;
    BuildKey(e);
    auto it = groups_.find(absl::string_view(key_));
    if (it == groups_.end()) it = groups_.emplace(key_, Totals{}).first;
    if (!it->second.Add(e) || !total_.Add(e)) {
      status_ = absl::OutOfRangeError(absl::StrCat("rollup total overflows 64 bits at entry ", e.id));
    }
  }

  // Counts `t`, the totals of entries summed ahead of time (a ledger that
  // keeps them), as Add() would have counted those entries. `like` stands for
  // all of them for the range, the filters and the group keys: the caller
  // guarantees that they agree with it on every dimension the query filters
  // or groups by, and lie in the same time buckets as its timestamp.
  void AddTotals(const Entry& like, const Totals& t) {
    scanned_ += t.entries;
    if (t.entries == 0 || !Matches(like) || !status_.ok()) return;
    BuildKey(like);
    auto it = groups_.find(absl::string_view(key_));
    if (it == groups_.end()) it = groups_.emplace(key_, Totals{}).first;
    if (!it->second.Merge(t) || !total_.Merge(t)) {
      status_ = absl::OutOfRangeError("rollup total overflows 64 bits");
    }
  }

  // Adds what `other` has counted, so that parts of a ledger can be rolled
  // up on several threads and combined. `other` must come from an equal
  // query (same group-by, zone and week start); otherwise InvalidArgument.
  [[nodiscard]] absl::Status Merge(const Rollup& other) {
    if (other.query_.group_by != query_.group_by || other.query_.tz != query_.tz ||
        other.query_.week_start != query_.week_start) {
      return absl::InvalidArgumentError("cannot merge rollups of different queries");
    }
    if (!other.status_.ok() && status_.ok()) status_ = other.status_;
    if (!status_.ok()) return status_;
    scanned_ += other.scanned_;
    bool ok = total_.Merge(other.total_);
    for (const auto& [key, totals] : other.groups_) ok &= groups_[key].Merge(totals);
    if (!ok) status_ = absl::OutOfRangeError("rollup total overflows 64 bits while merging");
    return status_;
  }

  const absl::Status& status() const { return status_; }
  int64_t scanned() const { return scanned_; }
  size_t group_count() const { return groups_.size(); }
  const Totals& total() const { return total_; }

  // The report: groups (top-N folded, buckets filled, sorted) and the total.
  // The Rollup is left as it was; more entries may be added and Finish()
  // called again.
  [[nodiscard]] absl::StatusOr<RollupReport> Finish() const {
    if (!status_.ok()) return status_;
    std::vector<Row> rows;
    rows.reserve(groups_.size());
    for (const auto& [key, totals] : groups_) rows.push_back(Row{Decode(key), totals, 0});
    RollupReport out;
    out.range = query_.range;
    out.time_zone = query_.tz.name();
    out.week_start = query_.week_start;
    out.group_by = query_.group_by;
    out.filters = query_.filters;
    out.total = total_;
    out.scanned = scanned_;
    if (query_.top_n > 0) {
      absl::StatusOr<int64_t> folded = FoldTopN(&rows);
      if (!folded.ok()) return folded.status();
      out.folded_groups = *folded;
    }
    if (query_.fill_empty_buckets) {
      absl::StatusOr<int64_t> filled = Fill(&rows);
      if (!filled.ok()) return filled.status();
      out.filled_groups = *filled;
    }
    // The invariant every report promises; a failure here is a bug.
    Totals sum;
    for (const Row& r : rows) {
      if (!sum.Merge(r.totals)) return absl::OutOfRangeError("rollup group sum overflows 64 bits");
    }
    if (sum != total_) return absl::InternalError("rollup groups do not sum to the total");
    out.groups.reserve(rows.size());
    std::vector<BucketMemo> memo(parts_.size());
    for (size_t i : SortedOrder(rows)) out.groups.push_back(ToGroup(std::move(rows[i]), &memo));
    return out;
  }

 private:
  struct Part {
    GroupKey::Kind kind;
    Dimension dimension;
    std::string tag;
    int bucketer;  // index into bucketers_, for kTime
  };
  // One decoded key value.
  struct Cell {
    std::string text;    // dimension or tag value
    int64_t bucket = 0;  // time bucket key
    bool other = false;  // folded by top-N
    friend bool operator==(const Cell& a, const Cell& b) {
      return a.text == b.text && a.bucket == b.bucket && a.other == b.other;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Cell& c) {
      return H::combine(std::move(h), c.text, c.bucket, c.other);
    }
  };
  struct Row {
    std::vector<Cell> cells;
    Totals totals;
    int64_t folded = 0;
  };

  explicit Rollup(RollupQuery query) : query_(std::move(query)) {
    for (const GroupKey& k : query_.group_by) {
      Part p{k.kind, k.dimension, k.tag, -1};
      if (k.is_time()) {
        p.bucketer = static_cast<int>(bucketers_.size());
        bucketers_.emplace_back(k.bucket, query_.tz, query_.week_start);
      }
      parts_.push_back(std::move(p));
    }
  }

  // Sets key_ to the group key of `e`.
  void BuildKey(const Entry& e) {
    key_.clear();
    for (Part& p : parts_) {
      switch (p.kind) {
        case GroupKey::Kind::kDimension: AppendText(e.Get(p.dimension)); break;
        case GroupKey::Kind::kTag: {
          const std::string* v = e.Tag(p.tag);
          AppendText(v != nullptr ? absl::string_view(*v) : absl::string_view());
          break;
        }
        case GroupKey::Kind::kTime: AppendBucket(bucketers_[p.bucketer].KeyOf(e.timestamp)); break;
      }
    }
  }

  // Key encoding: per part, text as a 4-byte length and its bytes, a time
  // bucket as its 8 bytes. Positions fix the types, so it is unambiguous.
  void AppendText(absl::string_view s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    key_.append(reinterpret_cast<const char*>(&n), sizeof n);
    key_.append(s.data(), s.size());
  }
  void AppendBucket(int64_t b) { key_.append(reinterpret_cast<const char*>(&b), sizeof b); }

  std::vector<Cell> Decode(absl::string_view key) const {
    std::vector<Cell> cells(parts_.size());
    size_t pos = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (parts_[i].kind == GroupKey::Kind::kTime) {
        std::memcpy(&cells[i].bucket, key.data() + pos, sizeof(int64_t));
        pos += sizeof(int64_t);
      } else {
        uint32_t n;
        std::memcpy(&n, key.data() + pos, sizeof n);
        pos += sizeof n;
        cells[i].text.assign(key.data() + pos, n);
        pos += n;
      }
    }
    return cells;
  }

  // Key order: text bytewise, buckets chronologically, folded values last.
  static int CompareCells(const std::vector<Cell>& a, const std::vector<Cell>& b) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].other != b[i].other) return a[i].other ? 1 : -1;
      if (a[i].bucket != b[i].bucket) return a[i].bucket < b[i].bucket ? -1 : 1;
      const int c = a[i].text.compare(b[i].text);
      if (c != 0) return c < 0 ? -1 : 1;
    }
    return 0;
  }

  static bool IsOtherRow(const Row& r) {
    for (const Cell& c : r.cells) {
      if (c.other) return true;
    }
    return false;
  }

  // Folds every row outside the top N (see RollupQuery::top_n); returns how
  // many rows were folded.
  absl::StatusOr<int64_t> FoldTopN(std::vector<Row>* rows) const {
    bool any_time = false, any_other = false;
    for (const Part& p : parts_) (p.kind == GroupKey::Kind::kTime ? any_time : any_other) = true;
    // The cells that are ranked: the non-time ones when mixed, else all.
    std::vector<bool> ranked(parts_.size());
    for (size_t i = 0; i < parts_.size(); ++i) {
      ranked[i] = !(any_time && any_other) || parts_[i].kind != GroupKey::Kind::kTime;
    }
    auto rank_key = [&](const Row& r) {
      std::vector<Cell> k;
      for (size_t i = 0; i < r.cells.size(); ++i) {
        if (ranked[i]) k.push_back(r.cells[i]);
      }
      return k;
    };
    absl::flat_hash_map<std::vector<Cell>, Micros> cost_of;
    for (const Row& r : *rows) {
      if (!CheckedAdd(&cost_of[rank_key(r)], r.totals.cost)) {
        return absl::OutOfRangeError("rollup group cost overflows 64 bits");
      }
    }
    if (cost_of.size() <= query_.top_n) return 0;
    std::vector<std::pair<std::vector<Cell>, Micros>> ranking(cost_of.begin(), cost_of.end());
    std::sort(ranking.begin(), ranking.end(), [](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      return CompareCells(a.first, b.first) < 0;
    });
    absl::flat_hash_set<std::vector<Cell>> kept;
    for (size_t i = 0; i < query_.top_n; ++i) kept.insert(ranking[i].first);
    std::vector<Row> out;
    absl::flat_hash_map<std::vector<Cell>, size_t> other_rows;  // folded key -> index in out
    int64_t folded = 0;
    for (Row& r : *rows) {
      if (kept.contains(rank_key(r))) {
        out.push_back(std::move(r));
        continue;
      }
      ++folded;
      std::vector<Cell> cells = r.cells;
      for (size_t i = 0; i < cells.size(); ++i) {
        if (ranked[i]) cells[i] = Cell{std::string(kOtherLabel), 0, true};
      }
      auto [it, inserted] = other_rows.try_emplace(cells, out.size());
      if (inserted) out.push_back(Row{std::move(cells), Totals{}, 0});
      Row& o = out[it->second];
      if (!o.totals.Merge(r.totals)) return absl::OutOfRangeError("rollup group sum overflows 64 bits");
      ++o.folded;
    }
    *rows = std::move(out);
    return folded;
  }

  // Adds zero rows for empty buckets (see RollupQuery::fill_empty_buckets);
  // returns how many.
  absl::StatusOr<int64_t> Fill(std::vector<Row>* rows) const {
    static constexpr int64_t kMaxFilledRows = 1'000'000;
    size_t t = 0;
    while (parts_[t].kind != GroupKey::Kind::kTime) ++t;
    Bucketer bucketer = bucketers_[static_cast<size_t>(parts_[t].bucketer)];
    std::optional<int64_t> lo, hi;
    if (query_.range.start != absl::InfinitePast()) lo = bucketer.KeyOf(query_.range.start);
    if (query_.range.end != absl::InfiniteFuture()) {
      hi = bucketer.KeyOf(query_.range.end - absl::Nanoseconds(1));
    }
    // Existing rows by their cells, and the combinations of the other cells.
    absl::flat_hash_set<std::vector<Cell>> present;
    std::vector<std::vector<Cell>> combos;
    absl::flat_hash_set<std::vector<Cell>> combo_set;
    int64_t min_b = 0, max_b = 0;
    bool any_bucket = false;
    for (const Row& r : *rows) {
      present.insert(r.cells);
      const Cell& c = r.cells[t];
      if (!c.other) {
        min_b = any_bucket ? std::min(min_b, c.bucket) : c.bucket;
        max_b = any_bucket ? std::max(max_b, c.bucket) : c.bucket;
        any_bucket = true;
      }
      std::vector<Cell> combo = r.cells;
      combo[t] = Cell{};
      if (combo_set.insert(combo).second) combos.push_back(std::move(combo));
    }
    if (combos.empty() && parts_.size() == 1) combos.push_back(std::vector<Cell>(1));
    if (!lo.has_value() && any_bucket) lo = min_b;
    if (!hi.has_value() && any_bucket) hi = max_b;
    if (!lo.has_value() || !hi.has_value() || combos.empty()) return 0;
    const int64_t step = bucketer.Next(0);
    const int64_t buckets = (*hi - *lo) / step + 1;
    if (buckets > kMaxFilledRows || buckets * static_cast<int64_t>(combos.size()) > kMaxFilledRows) {
      return absl::OutOfRangeError(absl::StrCat("filling empty ", TimeBucketName(bucketer.bucket()),
                                                " buckets would add more than ", kMaxFilledRows,
                                                " rows; use a coarser bucket or a shorter range"));
    }
    int64_t filled = 0;
    for (int64_t b = *lo; b <= *hi; b = bucketer.Next(b)) {
      const TimeRange r = bucketer.RangeOf(b);
      if (r.start >= r.end) continue;  // the zone skips this bucket
      for (const std::vector<Cell>& combo : combos) {
        std::vector<Cell> cells = combo;
        cells[t].bucket = b;
        if (present.contains(cells)) continue;
        rows->push_back(Row{std::move(cells), Totals{}, 0});
        ++filled;
      }
    }
    return filled;
  }

  // The report order of `rows`, as indices (rows are large to move).
  std::vector<size_t> SortedOrder(const std::vector<Row>& rows) const {
    SortOrder order = query_.order;
    if (order == SortOrder::kAuto) {
      order = SortOrder::kCost;
      for (const Part& p : parts_) {
        if (p.kind == GroupKey::Kind::kTime) order = SortOrder::kKey;
      }
    }
    std::vector<bool> other(rows.size());
    std::vector<size_t> index(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      index[i] = i;
      other[i] = IsOtherRow(rows[i]);
    }
    std::sort(index.begin(), index.end(), [&](size_t i, size_t j) {
      const Row& a = rows[i];
      const Row& b = rows[j];
      if (order != SortOrder::kKey) {
        if (other[i] != other[j]) return static_cast<bool>(other[j]);
        if (order == SortOrder::kCost && a.totals.cost != b.totals.cost) return a.totals.cost > b.totals.cost;
        if (order == SortOrder::kEntries && a.totals.entries != b.totals.entries) {
          return a.totals.entries > b.totals.entries;
        }
      }
      return CompareCells(a.cells, b.cells) < 0;
    });
    return index;
  }

  // The last bucket converted, per group-by part: consecutive groups of a
  // time series share buckets, and a bucket's range costs zone lookups.
  struct BucketMemo {
    bool valid = false;
    int64_t bucket = 0;
    TimeRange range;
  };

  Group ToGroup(Row r, std::vector<BucketMemo>* memo) const {
    Group g;
    g.totals = r.totals;
    g.folded = r.folded;
    g.other = IsOtherRow(r);
    g.start = query_.range.start;
    g.end = query_.range.end;
    bool first_time = true;
    g.values.reserve(r.cells.size());
    for (size_t i = 0; i < r.cells.size(); ++i) {
      Cell& c = r.cells[i];
      if (parts_[i].kind != GroupKey::Kind::kTime) {
        g.values.push_back(std::move(c.text));
        continue;
      }
      if (c.other) {
        g.values.emplace_back(kOtherLabel);
        continue;
      }
      BucketMemo& m = (*memo)[i];
      if (!m.valid || m.bucket != c.bucket) {
        m = BucketMemo{true, c.bucket, bucketers_[static_cast<size_t>(parts_[i].bucketer)].RangeOf(c.bucket)};
      }
      if (first_time) {
        g.start = std::max(m.range.start, query_.range.start);
        g.end = std::min(m.range.end, query_.range.end);
        first_time = false;
      }
      g.values.push_back(m.range.label);
    }
    return g;
  }

  RollupQuery query_;
  std::vector<Part> parts_;
  std::vector<Bucketer> bucketers_;
  absl::flat_hash_map<std::string, Totals> groups_;  // encoded key -> totals
  Totals total_;
  std::string key_;  // reused for every entry's key
  int64_t scanned_ = 0;
  absl::Status status_;
};

// ---------------------------------------------------------------------------
// Per-feature cost.

// What one feature cost: its total, split by agent and by category (the
// phase of the work), and a chronological timeline of per-bucket totals
// (per day by default; only buckets with entries unless filling was asked).
// `phases` is the timeline split by category: (bucket, category) rows in
// chronological order, showing which phase ran when.
struct FeatureCost {
  std::string feature;
  TimeRange range;
  Totals total;
  std::vector<Group> by_agent;     // values = {agent}; cost descending
  std::vector<Group> by_category;  // values = {category}; cost descending
  std::vector<Group> timeline;     // values = {bucket label}; chronological
  std::vector<Group> phases;       // values = {bucket label, category}; chronological
};

// Feeds entries to the rollups behind a FeatureCost. An empty `feature`
// selects entries without one.
class FeatureCostRollup {
 public:
  [[nodiscard]] static absl::StatusOr<FeatureCostRollup> Create(
      std::string feature, TimeRange range = TimeRange{}, absl::TimeZone tz = absl::UTCTimeZone(),
      TimeBucket timeline_bucket = TimeBucket::kDay, absl::Weekday week_start = absl::Weekday::monday,
      bool fill_timeline = false) {
    auto make = [&](std::vector<GroupKey> by, bool fill) {
      RollupQuery q;
      q.range = range;
      q.tz = tz;
      q.week_start = week_start;
      q.group_by = std::move(by);
      q.filters.push_back(Filter{GroupKey::Of(Dimension::kFeature), {feature}});
      q.fill_empty_buckets = fill;
      return Rollup::Create(std::move(q));
    };
    absl::StatusOr<Rollup> by_agent = make({GroupKey::Of(Dimension::kAgent)}, false);
    if (!by_agent.ok()) return by_agent.status();
    absl::StatusOr<Rollup> by_category = make({GroupKey::Of(Dimension::kCategory)}, false);
    if (!by_category.ok()) return by_category.status();
    absl::StatusOr<Rollup> timeline = make({GroupKey::Time(timeline_bucket)}, fill_timeline);
    if (!timeline.ok()) return timeline.status();
    absl::StatusOr<Rollup> phases =
        make({GroupKey::Time(timeline_bucket), GroupKey::Of(Dimension::kCategory)}, false);
    if (!phases.ok()) return phases.status();
    return FeatureCostRollup(std::move(feature), *std::move(by_agent), *std::move(by_category),
                             *std::move(timeline), *std::move(phases));
  }

  void Add(const Entry& e) {
    if (!by_agent_.Matches(e)) return;
    by_agent_.Add(e);
    by_category_.Add(e);
    timeline_.Add(e);
    phases_.Add(e);
  }

  [[nodiscard]] absl::StatusOr<FeatureCost> Finish() const {
    FeatureCost out;
    out.feature = feature_;
    out.range = by_agent_.query().range;
    absl::StatusOr<RollupReport> agent = by_agent_.Finish();
    if (!agent.ok()) return agent.status();
    absl::StatusOr<RollupReport> category = by_category_.Finish();
    if (!category.ok()) return category.status();
    absl::StatusOr<RollupReport> timeline = timeline_.Finish();
    if (!timeline.ok()) return timeline.status();
    absl::StatusOr<RollupReport> phases = phases_.Finish();
    if (!phases.ok()) return phases.status();
    out.total = agent->total;
    out.by_agent = std::move(agent->groups);
    out.by_category = std::move(category->groups);
    out.timeline = std::move(timeline->groups);
    out.phases = std::move(phases->groups);
    return out;
  }

 private:
  FeatureCostRollup(std::string feature, Rollup by_agent, Rollup by_category, Rollup timeline, Rollup phases)
      : feature_(std::move(feature)),
        by_agent_(std::move(by_agent)),
        by_category_(std::move(by_category)),
        timeline_(std::move(timeline)),
        phases_(std::move(phases)) {}

  std::string feature_;
  Rollup by_agent_, by_category_, timeline_, phases_;
};

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_ROLLUP_H_
