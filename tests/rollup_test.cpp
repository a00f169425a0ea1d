// Unit tests for include/tokenbook/rollup.h: grouping, filters, top-N with
// "other", time series across daylight-saving changes and month boundaries in
// real zones, unpriced entries, cache-hit ratios, per-feature cost, and a
// property test that every report's groups sum exactly to its total.
#include "tokenbook/rollup.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"
#include "tokenbook/period.h"

namespace tokenbook {
namespace {

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  const bool loaded = absl::LoadTimeZone(name, &tz);
  REQUIRE_MESSAGE(loaded, "cannot load time zone " << name << " (is tzdata installed?)");
  return tz;
}

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  const bool ok = absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err);
  REQUIRE_MESSAGE(ok, rfc3339 << ": " << err);
  return t;
}

std::string Utc(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

// An entry with the fields these tests look at.
Entry E(const char* ts, absl::string_view model, int64_t cost_micros, int64_t input = 0, int64_t output = 0,
        int64_t cache_read = 0) {
  static int serial = 0;
  Entry e;
  e.id = absl::StrCat("e", ++serial);
  e.timestamp = At(ts);
  e.model = std::string(model);
  e.provider = "anthropic";
  e.cost = Micros(cost_micros);
  e.tokens[TokenKind::kInput] = Tokens(input);
  e.tokens[TokenKind::kOutput] = Tokens(output);
  e.tokens[TokenKind::kCacheRead] = Tokens(cache_read);
  return e;
}

RollupReport Run(RollupQuery q, const std::vector<Entry>& entries) {
  absl::StatusOr<Rollup> r = Rollup::Create(std::move(q));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  for (const Entry& e : entries) r->Add(e);
  absl::StatusOr<RollupReport> report = r->Finish();
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  return *std::move(report);
}

RollupQuery By(absl::string_view group_by, absl::TimeZone tz = absl::UTCTimeZone()) {
  RollupQuery q;
  auto keys = ParseGroupBy(group_by);
  REQUIRE_MESSAGE(keys.ok(), keys.status().ToString());
  q.group_by = *keys;
  q.tz = tz;
  return q;
}

// "value|value: cost/entries" for each group, in report order.
std::vector<std::string> Lines(const RollupReport& r) {
  std::vector<std::string> out;
  for (const Group& g : r.groups) {
    out.push_back(
        absl::StrCat(absl::StrJoin(g.values, "|"), ": ", g.totals.cost.value(), "/", g.totals.entries));
  }
  return out;
}

using Lns = std::vector<std::string>;

TEST_CASE("Rollup: month buckets in New York versus UTC across the month boundary") {
  const absl::TimeZone ny = Zone("America/New_York");
  const std::vector<Entry> entries = {
      E("2026-03-31T23:30:00-04:00", "sonnet", 100),  // March in New York, April in UTC
      E("2026-03-15T12:00:00Z", "sonnet", 200),
      E("2026-04-01T05:00:00Z", "opus", 400),       // 01:00 EDT on April 1
      E("2026-02-28T23:59:59-05:00", "opus", 800),  // February in New York, March in UTC
  };
  CHECK(Lines(Run(By("month", ny), entries)) == Lns{"2026-02: 800/1", "2026-03: 300/2", "2026-04: 400/1"});
  CHECK(Lines(Run(By("month"), entries)) == Lns{"2026-03: 1000/2", "2026-04: 500/2"});

  RollupQuery q = By("month,model", ny);
  q.range = *ResolvePeriod("month", At("2026-03-31T23:59:00-04:00"), ny);
  const RollupReport r = Run(q, entries);
  CHECK(Lines(r) == Lns{"2026-03|sonnet: 300/2"});
  CHECK(r.total.cost == Micros(300));
  CHECK(r.scanned == 4);
  CHECK(r.time_zone == "America/New_York");
  CHECK(Utc(r.groups[0].start) == "2026-03-01T05:00:00Z");
  CHECK(Utc(r.groups[0].end) == "2026-04-01T04:00:00Z");
}

TEST_CASE("Rollup: day and hour buckets across the US spring-forward and fall-back") {
  const absl::TimeZone ny = Zone("America/New_York");
  const std::vector<Entry> spring = {
      E("2026-03-08T04:59:59Z", "m", 1),   // 2026-03-07 23:59:59 EST
      E("2026-03-08T05:00:00Z", "m", 2),   // 2026-03-08 00:00 EST
      E("2026-03-08T06:59:59Z", "m", 4),   // 01:59:59 EST
      E("2026-03-08T07:00:00Z", "m", 8),   // 03:00 EDT
      E("2026-03-09T03:59:59Z", "m", 16),  // 2026-03-08 23:59:59 EDT
      E("2026-03-09T04:00:00Z", "m", 32),  // 2026-03-09 00:00 EDT
  };
  const RollupReport days = Run(By("day", ny), spring);
  CHECK(Lines(days) == Lns{"2026-03-07: 1/1", "2026-03-08: 30/4", "2026-03-09: 32/1"});
  CHECK(days.groups[1].end - days.groups[1].start == absl::Hours(23));
  // In UTC the same instants fall on other days.
  CHECK(Lines(Run(By("day"), spring)) == Lns{"2026-03-08: 15/4", "2026-03-09: 48/2"});

  const RollupReport hours = Run(By("hour", ny), spring);
  CHECK(Lines(hours) == Lns{"2026-03-07T23: 1/1", "2026-03-08T00: 2/1", "2026-03-08T01: 4/1",
                            "2026-03-08T03: 8/1", "2026-03-08T23: 16/1", "2026-03-09T00: 32/1"});

  // Filling the spring-forward day's hours: 23 rows, no 02.
  RollupQuery fill = By("hour", ny);
  fill.range = *ResolvePeriod("2026-03-08", At("2026-03-10T00:00:00Z"), ny);
  fill.fill_empty_buckets = true;
  const RollupReport filled = Run(fill, spring);
  REQUIRE(filled.groups.size() == 23);
  CHECK(filled.filled_groups == 19);
  CHECK(filled.groups[0].values[0] == "2026-03-08T00");
  CHECK(filled.groups[1].values[0] == "2026-03-08T01");
  CHECK(filled.groups[2].values[0] == "2026-03-08T03");
  CHECK(filled.groups[22].values[0] == "2026-03-08T23");
  CHECK(filled.groups[3].totals.empty());
  CHECK(filled.total.cost == Micros(30));

  // Fall back: 01:30 EDT and 01:30 EST share hour 01; the day has 25 hours.
  const std::vector<Entry> autumn = {
      E("2026-11-01T05:30:00Z", "m", 1),  // 01:30 EDT
      E("2026-11-01T06:30:00Z", "m", 2),  // 01:30 EST
      E("2026-11-02T04:59:59Z", "m", 4),  // 2026-11-01 23:59:59 EST
      E("2026-11-01T03:59:59Z", "m", 8),  // 2026-10-31 23:59:59 EDT
  };
  const RollupReport autumn_hours = Run(By("hour", ny), autumn);
  CHECK(Lines(autumn_hours) == Lns{"2026-10-31T23: 8/1", "2026-11-01T01: 3/2", "2026-11-01T23: 4/1"});
  CHECK(autumn_hours.groups[1].end - autumn_hours.groups[1].start == absl::Hours(2));
  const RollupReport autumn_days = Run(By("day", ny), autumn);
  CHECK(Lines(autumn_days) == Lns{"2026-10-31: 8/1", "2026-11-01: 7/3"});
  CHECK(autumn_days.groups[1].end - autumn_days.groups[1].start == absl::Hours(25));

  RollupQuery fill_autumn = By("hour", ny);
  fill_autumn.range = *ResolvePeriod("2026-11-01", At("2026-11-05T00:00:00Z"), ny);
  fill_autumn.fill_empty_buckets = true;
  const RollupReport autumn_filled = Run(fill_autumn, autumn);
  CHECK(autumn_filled.groups.size() == 24);  // 25 hours, 24 civil hours
  CHECK(autumn_filled.total.cost == Micros(7));
}

TEST_CASE("Rollup: Europe/London daylight-saving days") {
  const absl::TimeZone london = Zone("Europe/London");
  const std::vector<Entry> entries = {
      E("2026-03-29T00:30:00Z", "m", 1),   // 00:30 GMT
      E("2026-03-29T01:30:00Z", "m", 2),   // 02:30 BST
      E("2026-03-29T22:59:59Z", "m", 4),   // 23:59:59 BST
      E("2026-03-29T23:00:00Z", "m", 8),   // 2026-03-30 00:00 BST
      E("2026-10-24T23:30:00Z", "m", 16),  // 2026-10-25 00:30 BST
      E("2026-10-25T23:30:00Z", "m", 32),  // 2026-10-25 23:30 GMT
  };
  CHECK(Lines(Run(By("day", london), entries)) ==
        Lns{"2026-03-29: 7/3", "2026-03-30: 8/1", "2026-10-25: 48/2"});
  CHECK(Lines(Run(By("day"), entries)) == Lns{"2026-03-29: 15/4", "2026-10-24: 16/1", "2026-10-25: 32/1"});
  CHECK(Lines(Run(By("hour", london), entries))[1] == "2026-03-29T02: 2/1");
}

TEST_CASE("Rollup: week buckets starting monday versus sunday") {
  const absl::TimeZone ny = Zone("America/New_York");
  const std::vector<Entry> entries = {
      E("2026-03-07T12:00:00-05:00", "m", 1),  // Saturday
      E("2026-03-08T12:00:00-04:00", "m", 2),  // Sunday
      E("2026-03-09T12:00:00-04:00", "m", 4),  // Monday
      E("2026-03-08T00:30:00-05:00", "m", 8),  // Sunday 00:30 EST
      E("2026-03-08T02:30:00Z", "m", 16),      // Saturday 21:30 EST, Sunday in UTC
  };
  RollupQuery monday = By("week", ny);
  CHECK(Lines(Run(monday, entries)) == Lns{"2026-03-02: 27/4", "2026-03-09: 4/1"});
  RollupQuery sunday = By("week", ny);
  sunday.week_start = absl::Weekday::sunday;
  const RollupReport r = Run(sunday, entries);
  CHECK(Lines(r) == Lns{"2026-03-01: 17/2", "2026-03-08: 14/3"});
  CHECK(r.week_start == absl::Weekday::sunday);
  CHECK(r.groups[1].end - r.groups[1].start == absl::Hours(7 * 24 - 1));
  RollupQuery utc_sunday = By("week");
  utc_sunday.week_start = absl::Weekday::sunday;
  CHECK(Lines(Run(utc_sunday, entries)) == Lns{"2026-03-01: 1/1", "2026-03-08: 30/4"});
}

TEST_CASE("Rollup: last-7d, YYYY and since/until ranges select exactly") {
  const absl::TimeZone ny = Zone("America/New_York");
  const std::vector<Entry> entries = {
      E("2026-03-04T04:59:59Z", "m", 1),       // 2026-03-03 23:59:59 EST: before
      E("2026-03-04T05:00:00Z", "m", 2),       // 2026-03-04 00:00 EST: first instant
      E("2026-03-10T10:00:00-04:00", "m", 4),  // now
      E("2026-03-10T23:59:59-04:00", "m", 8),  // later today: counted
      E("2026-03-11T04:00:00Z", "m", 16),      // tomorrow: not
  };
  RollupQuery q = By("", ny);
  q.range = *ResolvePeriod("last-7d", At("2026-03-10T10:00:00-04:00"), ny);
  RollupReport r = Run(q, entries);
  CHECK(r.total.cost == Micros(14));
  CHECK(r.total.entries == 3);
  CHECK(Utc(r.total.first) == "2026-03-04T05:00:00Z");
  CHECK(Utc(r.total.last) == "2026-03-11T03:59:59Z");
  CHECK(r.range.label == "2026-03-04..2026-03-10");
  REQUIRE(r.groups.size() == 1);
  CHECK(r.groups[0].values.empty());

  const std::vector<Entry> years = {
      E("2026-01-01T03:00:00Z", "m", 1),  // 2025-12-31 22:00 EST
      E("2025-01-01T04:59:59Z", "m", 2),  // 2024-12-31 23:59:59 EST
      E("2025-06-01T00:00:00Z", "m", 4),
  };
  RollupQuery y = By("model", ny);
  y.range = *ResolvePeriod("2025", At("2030-01-01T00:00:00Z"), ny);
  CHECK(Run(y, years).total.cost == Micros(5));
  y.tz = absl::UTCTimeZone();
  y.range = *ResolvePeriod("2025", At("2030-01-01T00:00:00Z"), absl::UTCTimeZone());
  CHECK(Run(y, years).total.cost == Micros(6));

  const std::vector<Entry> march = {
      E("2026-03-01T00:00:00-05:00", "m", 1),
      E("2026-03-31T23:30:00-04:00", "m", 2),
      E("2026-04-01T00:00:00-04:00", "m", 4),
      E("2026-02-28T23:59:59-05:00", "m", 8),
  };
  RollupQuery s = By("", ny);
  s.range = *ResolveRange("2026-03-01", "2026-03-31", At("2026-05-01T00:00:00Z"), ny);
  CHECK(Run(s, march).total.cost == Micros(3));
  s.range = *ResolveRange("2026-03-31T23:30:00-04:00", "", At("2026-05-01T00:00:00Z"), ny);
  CHECK(Run(s, march).total.cost == Micros(6));
  s.range = *ResolveRange("", "2026-03-31T23:30:00-04:00", At("2026-05-01T00:00:00Z"), ny);
  CHECK(Run(s, march).total.cost == Micros(9));  // the until instant is excluded
}

TEST_CASE("Rollup: top-N folds the rest into other and still sums to the total") {
  const std::vector<Entry> entries = {
      E("2026-03-01T10:00:00Z", "a", 500), E("2026-03-01T11:00:00Z", "b", 300),
      E("2026-03-02T10:00:00Z", "c", 200), E("2026-03-02T11:00:00Z", "c", 100),
      E("2026-03-02T12:00:00Z", "d", 100), E("2026-03-03T10:00:00Z", "e", 50),
  };
  RollupQuery q = By("model");
  q.top_n = 2;
  RollupReport r = Run(q, entries);
  // b and c tie at 300: the key breaks the tie.
  CHECK(Lines(r) == Lns{"a: 500/1", "b: 300/1", "(other): 450/4"});
  CHECK(r.groups[2].other);
  CHECK(r.groups[2].folded == 3);
  CHECK(r.folded_groups == 3);
  CHECK(r.total.cost == Micros(1250));
  CHECK(r.total.entries == 6);

  q.top_n = 5;  // nothing to fold
  CHECK(Lines(Run(q, entries)) == Lns{"a: 500/1", "b: 300/1", "c: 300/2", "d: 100/1", "e: 50/1"});
  q.top_n = 1;
  q.order = SortOrder::kKey;
  CHECK(Lines(Run(q, entries)) == Lns{"a: 500/1", "(other): 750/5"});

  // With a time key the ranking is of models over the whole range, and the
  // rest folds per day.
  RollupQuery ts = By("model,day");
  ts.top_n = 2;
  const RollupReport series = Run(ts, entries);
  CHECK(Lines(series) == Lns{"a|2026-03-01: 500/1", "b|2026-03-01: 300/1", "(other)|2026-03-02: 400/3",
                             "(other)|2026-03-03: 50/1"});
  CHECK(series.folded_groups == 3);
  RollupQuery ts2 = By("day,model");
  ts2.top_n = 1;
  CHECK(Lines(Run(ts2, entries)) == Lns{"2026-03-01|a: 500/1", "2026-03-01|(other): 300/1",
                                        "2026-03-02|(other): 400/3", "2026-03-03|(other): 50/1"});
  // Top days, time buckets alone.
  RollupQuery days = By("day");
  days.top_n = 1;
  days.order = SortOrder::kCost;
  const RollupReport top_day = Run(days, entries);
  CHECK(Lines(top_day) == Lns{"2026-03-01: 800/2", "(other): 450/4"});
  CHECK(top_day.groups[1].values == std::vector<std::string>{"(other)"});
  CHECK(top_day.groups[1].start == absl::InfinitePast());
}

TEST_CASE("Rollup: orders by cost, entries and key, deterministically") {
  const std::vector<Entry> entries = {
      E("2026-03-01T10:00:00Z", "b", 100),
      E("2026-03-01T11:00:00Z", "a", 100),
      E("2026-03-01T12:00:00Z", "c", 50),
      E("2026-03-01T13:00:00Z", "c", 10),
  };
  RollupQuery q = By("model");
  CHECK(Lines(Run(q, entries)) == Lns{"a: 100/1", "b: 100/1", "c: 60/2"});
  q.order = SortOrder::kEntries;
  CHECK(Lines(Run(q, entries)) == Lns{"c: 60/2", "a: 100/1", "b: 100/1"});
  q.order = SortOrder::kKey;
  CHECK(Lines(Run(q, entries)) == Lns{"a: 100/1", "b: 100/1", "c: 60/2"});
  RollupQuery days = By("day");
  days.order = SortOrder::kCost;
  CHECK(Lines(Run(days, entries)) == Lns{"2026-03-01: 260/4"});
}

TEST_CASE("Rollup: tag grouping and filters") {
  std::vector<Entry> entries = {
      E("2026-03-01T10:00:00Z", "a", 1),  E("2026-03-01T11:00:00Z", "a", 2),
      E("2026-03-01T12:00:00Z", "b", 4),  E("2026-03-01T13:00:00Z", "b", 8),
      E("2026-03-01T14:00:00Z", "c", 16),
  };
  entries[0].tags = {{"env", "prod"}, {"team", "infra"}};
  entries[1].tags = {{"team", "web"}};
  entries[2].tags = {{"team", "infra"}};
  entries[0].agent = "reviewer";
  entries[1].agent = "writer";
  entries[2].agent = "reviewer";
  entries[3].agent = "planner";
  entries[0].project = entries[1].project = "p1";
  CHECK(Lines(Run(By("tag:team"), entries)) == Lns{": 24/2", "infra: 5/2", "web: 2/1"});
  CHECK(Lines(Run(By("tag:team,tag:env"), entries)) ==
        Lns{"|: 24/2", "infra|: 4/1", "web|: 2/1", "infra|prod: 1/1"});

  RollupQuery q = By("agent");
  REQUIRE(q.AddFilter("agent=reviewer").ok());
  CHECK(Lines(Run(q, entries)) == Lns{"reviewer: 5/2"});
  REQUIRE(q.AddFilter("agent = writer").ok());  // same key: either value
  CHECK(Lines(Run(q, entries)) == Lns{"reviewer: 5/2", "writer: 2/1"});
  REQUIRE(q.AddFilter("model=a").ok());  // another key: both must hold
  CHECK(Lines(Run(q, entries)) == Lns{"writer: 2/1", "reviewer: 1/1"});
  REQUIRE(q.filters.size() == 2);
  CHECK(q.filters[0].values == std::vector<std::string>{"reviewer", "writer"});

  RollupQuery none = By("model");
  REQUIRE(none.AddFilter("agent=").ok());  // entries without an agent
  CHECK(Lines(Run(none, entries)) == Lns{"c: 16/1"});
  RollupQuery tagged = By("model");
  REQUIRE(tagged.AddFilter("tag:team=infra,web").ok());
  REQUIRE(tagged.AddFilter("project=p1").ok());
  CHECK(Lines(Run(tagged, entries)) == Lns{"a: 3/2"});
  RollupQuery untagged = By("model");
  REQUIRE(untagged.AddFilter("tag:team=").ok());
  CHECK(Lines(Run(untagged, entries)) == Lns{"c: 16/1", "b: 8/1"});
}

TEST_CASE("Rollup: parse errors name the input and list the accepted forms") {
  auto keys = ParseGroupBy(" model , day,tag:team ");
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 3);
  CHECK((*keys)[0] == GroupKey::Of(Dimension::kModel));
  CHECK((*keys)[1] == GroupKey::Time(TimeBucket::kDay));
  CHECK((*keys)[2] == GroupKey::Tag("team"));
  CHECK((*keys)[2].Name() == "tag:team");
  CHECK(ParseGroupBy("")->empty());
  for (const char* name :
       {"model", "provider", "agent", "category", "action_type", "action", "feature", "project", "session",
        "tool", "task_type", "service_tier", "hour", "day", "week", "month"}) {
    CAPTURE(name);
    auto k = ParseGroupKey(name);
    REQUIRE(k.ok());
    CHECK(k->Name() == name);
  }

  auto unknown = ParseGroupBy("model,colour");
  REQUIRE_FALSE(unknown.ok());
  CHECK(absl::StrContains(unknown.status().message(), "\"colour\""));
  CHECK(absl::StrContains(unknown.status().message(), "tag:KEY"));
  CHECK(absl::StrContains(unknown.status().message(), "service_tier"));
  CHECK_FALSE(ParseGroupBy("model,,day").ok());
  CHECK(absl::StrContains(ParseGroupBy("model,model").status().message(), "twice"));
  CHECK(absl::StrContains(ParseGroupBy("tag:").status().message(), "tag:KEY"));

  auto f = ParseFilter("tag:team=infra,web");
  REQUIRE(f.ok());
  CHECK(f->key == GroupKey::Tag("team"));
  CHECK(f->values == std::vector<std::string>{"infra", "web"});
  auto no_eq = ParseFilter("agent");
  REQUIRE_FALSE(no_eq.ok());
  CHECK(absl::StrContains(no_eq.status().message(), "\"agent\""));
  CHECK(absl::StrContains(no_eq.status().message(), "KEY=VALUE"));
  auto bad_key = ParseFilter("colour=red");
  REQUIRE_FALSE(bad_key.ok());
  CHECK(absl::StrContains(bad_key.status().message(), "\"colour=red\""));
  auto time_key = ParseFilter("day=2026-03-01");
  REQUIRE_FALSE(time_key.ok());
  CHECK(absl::StrContains(time_key.status().message(), "period"));

  RollupQuery q = By("model");
  q.fill_empty_buckets = true;
  CHECK_FALSE(Rollup::Create(q).ok());
  RollupQuery top_fill = By("day");
  top_fill.fill_empty_buckets = true;
  top_fill.top_n = 3;
  CHECK_FALSE(Rollup::Create(top_fill).ok());
  RollupQuery dup;
  dup.group_by = {GroupKey::Of(Dimension::kAgent), GroupKey::Of(Dimension::kAgent)};
  CHECK_FALSE(Rollup::Create(dup).ok());
  RollupQuery time_filter;
  time_filter.filters.push_back(Filter{GroupKey::Time(TimeBucket::kDay), {"2026-03-01"}});
  CHECK_FALSE(Rollup::Create(time_filter).ok());
}

TEST_CASE("Rollup: unpriced entries are counted with their tokens") {
  std::vector<Entry> entries = {
      E("2026-03-01T10:00:00Z", "known", 700, 1000, 200, 0),
      E("2026-03-01T11:00:00Z", "mystery", 0, 300, 50, 10),
      E("2026-03-01T12:00:00Z", "mystery", 0, 5, 6, 7),
  };
  entries[1].cost_source = CostSource::kUnpriced;
  entries[2].cost_source = CostSource::kUnpriced;
  entries[1].requests = 3;
  entries[1].tokens[TokenKind::kCacheWrite5m] = Tokens(11);
  entries[1].tokens[TokenKind::kCacheWrite1h] = Tokens(12);
  entries[1].tokens[TokenKind::kReasoning] = Tokens(13);
  const RollupReport r = Run(By("model"), entries);
  CHECK(r.total.unpriced_entries == 2);
  CHECK(r.total.unpriced_tokens.input() == Tokens(305));
  CHECK(r.total.unpriced_tokens.output() == Tokens(56));
  CHECK(r.total.unpriced_tokens.cache_read() == Tokens(17));
  CHECK(r.total.unpriced_tokens.cache_write_5m() == Tokens(11));
  CHECK(r.total.unpriced_tokens.cache_write_1h() == Tokens(12));
  CHECK(r.total.unpriced_tokens.reasoning() == Tokens(13));
  CHECK(r.total.tokens.input() == Tokens(1305));
  CHECK(r.total.requests == 5);
  CHECK(r.total.cost == Micros(700));
  REQUIRE(r.groups.size() == 2);
  CHECK(r.groups[0].values[0] == "known");
  CHECK(r.groups[0].totals.unpriced_entries == 0);
  CHECK(r.groups[1].values[0] == "mystery");
  CHECK(r.groups[1].totals.unpriced_entries == 2);
  CHECK(r.groups[1].totals.cost == Micros(0));
  CHECK(r.groups[1].totals.requests == 4);
}

TEST_CASE("Rollup: cache-hit ratio as exact integers") {
  const std::vector<Entry> entries = {
      E("2026-03-01T10:00:00Z", "a", 1, 200, 0, 500),
      E("2026-03-01T11:00:00Z", "a", 1, 100, 0, 200),
      E("2026-03-01T12:00:00Z", "b", 1, 0, 10, 0),
      E("2026-03-01T13:00:00Z", "c", 1, 2, 0, 1),
  };
  const RollupReport r = Run(By("model"), entries);
  const Ratio a = r.groups[0].totals.cache_hit();
  CHECK(a.num == 700);
  CHECK(a.den == 1000);
  CHECK(a.Percent() == "70.0");
  CHECK(a.Percent(0) == "70");
  const Ratio b = r.groups[1].totals.cache_hit();
  CHECK_FALSE(b.defined());
  CHECK(b.Percent() == "n/a");
  const Ratio c = r.groups[2].totals.cache_hit();
  CHECK(c == Ratio{1, 3});
  CHECK(c.Percent(1) == "33.3");
  CHECK(c.Percent(2) == "33.33");
  CHECK(r.total.cache_hit() == Ratio{701, 1003});
  CHECK(r.total.cache_hit().Percent(3) == "69.890");
  CHECK(Ratio{2, 3}.Percent() == "66.7");
  CHECK(Ratio{1, 8}.Percent(0) == "12");  // 12.5 half-even
  CHECK(Ratio{3, 8}.Percent(0) == "38");  // 37.5 half-even
  CHECK(Ratio{1, 200000}.Percent(6) == "0.000500");
}

TEST_CASE("Rollup: fill empty buckets for every combination of the other keys") {
  const std::vector<Entry> entries = {
      E("2026-03-02T10:00:00Z", "a", 1),
      E("2026-03-04T10:00:00Z", "b", 2),
  };
  RollupQuery q = By("model,day");
  q.range = *ResolvePeriod("2026-03-01", At("2026-03-10T00:00:00Z"), absl::UTCTimeZone());
  q.range.end = At("2026-03-05T00:00:00Z");  // four days
  q.fill_empty_buckets = true;
  const RollupReport r = Run(q, entries);
  CHECK(Lines(r) == Lns{"a|2026-03-01: 0/0", "a|2026-03-02: 1/1", "a|2026-03-03: 0/0", "a|2026-03-04: 0/0",
                        "b|2026-03-01: 0/0", "b|2026-03-02: 0/0", "b|2026-03-03: 0/0", "b|2026-03-04: 2/1"});
  CHECK(r.filled_groups == 6);

  // Unbounded range: from the first entry's bucket to the last's.
  RollupQuery open = By("day");
  open.fill_empty_buckets = true;
  CHECK(Lines(Run(open, entries)) == Lns{"2026-03-02: 1/1", "2026-03-03: 0/0", "2026-03-04: 2/1"});
  // No entries in a bounded range: zero rows all the same.
  RollupQuery empty = By("month");
  empty.fill_empty_buckets = true;
  empty.range = *ResolvePeriod("2025", At("2026-03-10T00:00:00Z"), absl::UTCTimeZone());
  const RollupReport e = Run(empty, entries);
  CHECK(e.groups.size() == 12);
  CHECK(e.groups[11].values[0] == "2025-12");
  CHECK(e.total.entries == 0);
  // Weeks, with the range's start mid-week.
  RollupQuery weeks = By("week");
  weeks.fill_empty_buckets = true;
  weeks.range = *ResolveRange("2026-03-04", "2026-03-20", At("2026-03-10T00:00:00Z"), absl::UTCTimeZone());
  // The entry of 2026-03-02 is before the range; the first week is clipped.
  const RollupReport w = Run(weeks, entries);
  CHECK(Lines(w) == Lns{"2026-03-02: 2/1", "2026-03-09: 0/0", "2026-03-16: 0/0"});
  CHECK(Utc(w.groups[0].start) == "2026-03-04T00:00:00Z");
  CHECK(Utc(w.groups[2].end) == "2026-03-21T00:00:00Z");
  // Too many rows is an error, not a runaway.
  RollupQuery huge = By("hour");
  huge.fill_empty_buckets = true;
  huge.range = *ResolveRange("1900-01-01", "2026-01-01", At("2026-03-10T00:00:00Z"), absl::UTCTimeZone());
  absl::StatusOr<Rollup> h = Rollup::Create(huge);
  REQUIRE(h.ok());
  CHECK(h->Finish().status().code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("Rollup: no group-by, no entries, and overflow") {
  RollupQuery q;
  const RollupReport empty = Run(q, {});
  CHECK(empty.groups.empty());
  CHECK(empty.total.entries == 0);
  CHECK(empty.total.cost == Micros(0));

  absl::StatusOr<Rollup> r = Rollup::Create(q);
  REQUIRE(r.ok());
  r->Add(E("2026-03-01T10:00:00Z", "a", std::numeric_limits<int64_t>::max() - 1));
  CHECK(r->status().ok());
  r->Add(E("2026-03-01T11:00:00Z", "a", 2));
  CHECK(r->status().code() == absl::StatusCode::kOutOfRange);
  CHECK(r->Finish().status().code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("Rollup: merging rollups fed separately equals one rollup fed everything") {
  const absl::TimeZone ny = Zone("America/New_York");
  std::vector<Entry> entries;
  for (int i = 0; i < 200; ++i) {
    entries.push_back(E(i % 2 == 0 ? "2026-03-08T06:30:00Z" : "2026-03-09T12:00:00Z", i % 3 == 0 ? "a" : "b",
                        i, i, 2 * i, 3 * i));
  }
  const RollupQuery q = By("model,day", ny);
  const RollupReport whole = Run(q, entries);
  absl::StatusOr<Rollup> first = Rollup::Create(q);
  absl::StatusOr<Rollup> second = Rollup::Create(q);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  for (size_t i = 0; i < entries.size(); ++i) (i < 77 ? *first : *second).Add(entries[i]);
  REQUIRE(first->Merge(*second).ok());
  absl::StatusOr<RollupReport> merged = first->Finish();
  REQUIRE(merged.ok());
  CHECK(Lines(*merged) == Lines(whole));
  CHECK(merged->total == whole.total);
  CHECK(merged->scanned == 200);
  absl::StatusOr<Rollup> other = Rollup::Create(By("model", ny));
  REQUIRE(other.ok());
  CHECK(first->Merge(*other).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Rollup: per-feature cost by agent, by category and over time") {
  const absl::TimeZone ny = Zone("America/New_York");
  std::vector<Entry> entries = {
      E("2026-03-07T23:30:00-05:00", "a", 100),  // Saturday late, EST
      E("2026-03-08T09:00:00-04:00", "a", 200), E("2026-03-08T10:00:00-04:00", "b", 400),
      E("2026-03-09T10:00:00-04:00", "b", 800), E("2026-03-09T11:00:00-04:00", "b", 1600),  // another feature
  };
  for (Entry& e : entries) e.feature = "checkout";
  entries[4].feature = "search";
  entries[0].agent = "planner";
  entries[0].category = "design";
  entries[1].agent = "coder";
  entries[1].category = "build";
  entries[2].agent = "coder";
  entries[2].category = "build";
  entries[3].agent = "reviewer";
  entries[3].category = "review";
  auto builder = FeatureCostRollup::Create("checkout", TimeRange{}, ny);
  REQUIRE(builder.ok());
  for (const Entry& e : entries) builder->Add(e);
  auto fc = builder->Finish();
  REQUIRE(fc.ok());
  CHECK(fc->feature == "checkout");
  CHECK(fc->total.cost == Micros(1500));
  CHECK(fc->total.entries == 4);
  auto lines = [](const std::vector<Group>& gs) {
    Lns out;
    for (const Group& g : gs)
      out.push_back(absl::StrCat(absl::StrJoin(g.values, "|"), ": ", g.totals.cost.value()));
    return out;
  };
  CHECK(lines(fc->by_agent) == Lns{"reviewer: 800", "coder: 600", "planner: 100"});
  CHECK(lines(fc->by_category) == Lns{"review: 800", "build: 600", "design: 100"});
  CHECK(lines(fc->timeline) == Lns{"2026-03-07: 100", "2026-03-08: 600", "2026-03-09: 800"});
  CHECK(lines(fc->phases) ==
        Lns{"2026-03-07|design: 100", "2026-03-08|build: 600", "2026-03-09|review: 800"});

  auto filled =
      FeatureCostRollup::Create("checkout", *ResolvePeriod("2026-03", At("2026-04-01T00:00:00Z"), ny), ny,
                                TimeBucket::kDay, absl::Weekday::monday, true);
  REQUIRE(filled.ok());
  for (const Entry& e : entries) filled->Add(e);
  CHECK(filled->Finish()->timeline.size() == 31);
}

// ---------------------------------------------------------------------------
// Property: for many pseudo-random entries and queries, the groups sum
// exactly to the total, the total equals a brute-force sum of the matching
// entries, and (without top-N) every group equals a brute-force group.

struct Sums {
  int64_t entries = 0, requests = 0, cost = 0, unpriced = 0;
  int64_t tokens[kTokenKindCount] = {};
  int64_t unpriced_tokens[kTokenKindCount] = {};
  void Add(const Entry& e) {
    ++entries;
    requests += e.requests;
    cost += e.cost.value();
    for (int k = 0; k < kTokenKindCount; ++k) tokens[k] += e.tokens.by_kind[k].value();
    if (e.cost_source == CostSource::kUnpriced) {
      ++unpriced;
      for (int k = 0; k < kTokenKindCount; ++k) unpriced_tokens[k] += e.tokens.by_kind[k].value();
    }
  }
  void Add(const Totals& t) {
    entries += t.entries;
    requests += t.requests;
    cost += t.cost.value();
    unpriced += t.unpriced_entries;
    for (int k = 0; k < kTokenKindCount; ++k) {
      tokens[k] += t.tokens.by_kind[k].value();
      unpriced_tokens[k] += t.unpriced_tokens.by_kind[k].value();
    }
  }
};

void CheckEqual(const Sums& s, const Totals& t) {
  CHECK(s.entries == t.entries);
  CHECK(s.requests == t.requests);
  CHECK(s.cost == t.cost.value());
  CHECK(s.unpriced == t.unpriced_entries);
  for (int k = 0; k < kTokenKindCount; ++k) {
    CHECK(s.tokens[k] == t.tokens.by_kind[k].value());
    CHECK(s.unpriced_tokens[k] == t.unpriced_tokens.by_kind[k].value());
  }
}

void CheckEqual(const Sums& a, const Sums& b) {
  CHECK(a.entries == b.entries);
  CHECK(a.requests == b.requests);
  CHECK(a.cost == b.cost);
  CHECK(a.unpriced == b.unpriced);
  for (int k = 0; k < kTokenKindCount; ++k) {
    CHECK(a.tokens[k] == b.tokens[k]);
    CHECK(a.unpriced_tokens[k] == b.unpriced_tokens[k]);
  }
}

// The test's own reading of a key, independent of rollup.h's encoding.
std::string ValueOf(const Entry& e, absl::string_view key, const absl::TimeZone& tz, absl::Weekday ws) {
  const absl::CivilSecond cs = absl::ToCivilSecond(e.timestamp, tz);
  if (key == "hour") return absl::FormatCivilTime(absl::CivilHour(cs)).substr(0, 13);
  if (key == "day") return absl::FormatCivilTime(absl::CivilDay(cs));
  if (key == "week") return absl::FormatCivilTime(absl::PrevWeekday(absl::CivilDay(cs) + 1, ws));
  if (key == "month") return absl::FormatCivilTime(absl::CivilMonth(cs));
  if (absl::StartsWith(key, "tag:")) {
    for (const auto& [k, v] : e.tags) {
      if (k == key.substr(4)) return v;
    }
    return "";
  }
  if (key == "model") return e.model;
  if (key == "provider") return e.provider;
  if (key == "agent") return e.agent;
  if (key == "category") return e.category;
  if (key == "project") return e.project;
  if (key == "session") return e.session;
  if (key == "feature") return e.feature;
  FAIL("unexpected key " << key);
  return "";
}

TEST_CASE("Rollup: property - groups sum exactly to totals over random entries") {
  std::mt19937_64 rng(20260308);
  auto pick = [&](const std::vector<std::string>& pool) { return pool[rng() % pool.size()]; };
  const std::vector<std::string> models = {"opus", "sonnet", "haiku", "gpt-5", "mystery", "local"};
  const std::vector<std::string> agents = {"", "planner", "coder", "reviewer"};
  const std::vector<std::string> categories = {"", "design", "build", "review", "fix"};
  const std::vector<std::string> projects = {"", "p1", "p2"};
  const std::vector<std::string> teams = {"infra", "web", "data"};
  const absl::Time base = At("2025-12-20T00:00:00Z");
  std::vector<Entry> entries;
  for (int i = 0; i < 12000; ++i) {
    Entry e;
    e.id = absl::StrCat("p", i);
    // Random order over ~120 days, through month ends and the spring change.
    e.timestamp = base + absl::Seconds(static_cast<int64_t>(rng() % (120 * 86400)));
    e.model = pick(models);
    e.provider = e.model == "gpt-5" ? "openai" : "anthropic";
    e.agent = pick(agents);
    e.category = pick(categories);
    e.project = pick(projects);
    e.session = absl::StrCat("s", rng() % 40);
    e.feature = rng() % 3 == 0 ? "" : absl::StrCat("f", rng() % 5);
    if (rng() % 2 == 0) e.tags.emplace_back("env", rng() % 2 ? "prod" : "dev");
    if (rng() % 3 != 0) e.tags.emplace_back("team", pick(teams));
    for (int k = 0; k < kTokenKindCount; ++k)
      e.tokens.by_kind[k] = Tokens(static_cast<int64_t>(rng() % 200000));
    e.requests = 1 + static_cast<int64_t>(rng() % 3);
    if (e.model == "mystery") {
      e.cost_source = CostSource::kUnpriced;
    } else {
      e.cost = Micros(static_cast<int64_t>(rng() % 5'000'000));
    }
    entries.push_back(std::move(e));
  }

  const absl::TimeZone ny = Zone("America/New_York");
  const absl::TimeZone london = Zone("Europe/London");
  struct Case {
    const char* group_by;
    std::vector<const char*> filters;
    size_t top_n;
    const absl::TimeZone* tz;
    const char* period;
    absl::Weekday week_start;
  };
  const std::vector<Case> cases = {
      {"model", {}, 0, &ny, "all", absl::Weekday::monday},
      {"", {}, 0, &ny, "2026-03", absl::Weekday::monday},
      {"model,day", {}, 0, &ny, "2026-03", absl::Weekday::monday},
      {"day,model", {"agent=coder,reviewer"}, 0, &london, "all", absl::Weekday::monday},
      {"agent,tag:team", {"tag:env=prod"}, 0, &ny, "2026", absl::Weekday::monday},
      {"provider,category,week", {}, 0, &ny, "all", absl::Weekday::sunday},
      {"hour", {"model=opus", "project=p1"}, 0, &ny, "2026-03-08", absl::Weekday::monday},
      {"tag:env,month,project", {"agent="}, 0, &london, "all", absl::Weekday::monday},
      {"session", {}, 5, &ny, "all", absl::Weekday::monday},
      {"model,month", {}, 2, &ny, "all", absl::Weekday::monday},
      {"feature,agent,day", {"tag:team=infra,web"}, 3, &london, "2026-02", absl::Weekday::monday},
      {"week", {}, 4, &ny, "all", absl::Weekday::wednesday},
  };
  const absl::Time now = At("2026-03-15T12:00:00Z");
  for (const Case& c : cases) {
    CAPTURE(c.group_by);
    CAPTURE(c.period);
    CAPTURE(c.top_n);
    RollupQuery q = By(c.group_by, *c.tz);
    q.week_start = c.week_start;
    q.range = *ResolvePeriod(c.period, now, *c.tz, c.week_start);
    for (const char* f : c.filters) REQUIRE(q.AddFilter(f).ok());
    q.top_n = c.top_n;
    // Feed in two halves with a Finish() in between: Finish leaves the rollup intact.
    absl::StatusOr<Rollup> rollup = Rollup::Create(q);
    REQUIRE(rollup.ok());
    for (size_t i = 0; i < entries.size() / 2; ++i) rollup->Add(entries[i]);
    REQUIRE(rollup->Finish().ok());
    for (size_t i = entries.size() / 2; i < entries.size(); ++i) rollup->Add(entries[i]);
    absl::StatusOr<RollupReport> report = rollup->Finish();
    REQUIRE(report.ok());
    CHECK(report->scanned == static_cast<int64_t>(entries.size()));

    // Brute force.
    std::vector<std::string> keys;
    for (const GroupKey& k : q.group_by) keys.push_back(k.Name());
    Sums expected_total;
    std::map<std::vector<std::string>, Sums> expected_groups;
    absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
    for (const Entry& e : entries) {
      if (e.timestamp < q.range.start || e.timestamp >= q.range.end) continue;
      bool pass = true;
      for (const Filter& f : q.filters) {
        const std::string v = ValueOf(e, f.key.Name(), *c.tz, c.week_start);
        pass = pass && std::find(f.values.begin(), f.values.end(), v) != f.values.end();
      }
      if (!pass) continue;
      expected_total.Add(e);
      first = std::min(first, e.timestamp);
      last = std::max(last, e.timestamp);
      std::vector<std::string> values;
      for (const std::string& k : keys) values.push_back(ValueOf(e, k, *c.tz, c.week_start));
      expected_groups[values].Add(e);
    }
    REQUIRE(expected_total.entries > 0);
    CheckEqual(expected_total, report->total);
    CHECK(report->total.first == first);
    CHECK(report->total.last == last);

    Sums group_sum;
    for (const Group& g : report->groups) group_sum.Add(g.totals);
    CheckEqual(group_sum, report->total);
    CheckEqual(expected_total, group_sum);

    if (c.top_n == 0) {
      REQUIRE(report->groups.size() == expected_groups.size());
      for (const Group& g : report->groups) {
        auto it = expected_groups.find(g.values);
        REQUIRE(it != expected_groups.end());
        CheckEqual(it->second, g.totals);
        CHECK_FALSE(g.other);
      }
    } else {
      // Kept groups are exact; other groups hold the rest; at most N kept
      // combinations of the ranked keys.
      std::set<std::vector<std::string>> kept;
      int64_t folded = 0;
      for (const Group& g : report->groups) {
        if (g.other) {
          folded += g.folded;
          continue;
        }
        auto it = expected_groups.find(g.values);
        REQUIRE(it != expected_groups.end());
        CheckEqual(it->second, g.totals);
        std::vector<std::string> ranked;
        for (size_t i = 0; i < keys.size(); ++i) {
          const bool time = keys[i] == "hour" || keys[i] == "day" || keys[i] == "week" || keys[i] == "month";
          if (!time || keys.size() == 1) ranked.push_back(g.values[i]);
        }
        kept.insert(ranked);
      }
      CHECK(kept.size() == c.top_n);
      CHECK(folded == report->folded_groups);
      CHECK(folded + static_cast<int64_t>(report->groups.size()) -
                static_cast<int64_t>(std::count_if(report->groups.begin(), report->groups.end(),
                                                   [](const Group& g) { return g.other; })) ==
            static_cast<int64_t>(expected_groups.size()));
    }

    // Time series come out chronologically; others by cost descending.
    for (size_t i = 1; i < report->groups.size(); ++i) {
      const Group& a = report->groups[i - 1];
      const Group& b = report->groups[i];
      if (q.order == SortOrder::kAuto && !absl::StrContains(c.group_by, "day") &&
          !absl::StrContains(c.group_by, "hour") && !absl::StrContains(c.group_by, "week") &&
          !absl::StrContains(c.group_by, "month") && !a.other && !b.other) {
        CHECK(a.totals.cost >= b.totals.cost);
      }
    }
  }
}

}  // namespace
}  // namespace tokenbook
