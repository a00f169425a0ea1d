// Unit tests for include/tokenbook/period.h: periods, since/until ranges and
// time buckets in real IANA zones, across daylight-saving changes and month
// boundaries. Every expectation is an exact instant or label.
#include "tokenbook/period.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tokenbook {
namespace {

// Loads an IANA zone; a missing zone fails the test (tzdata is required).
absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  const bool loaded = absl::LoadTimeZone(name, &tz);
  REQUIRE_MESSAGE(loaded, "cannot load time zone " << name << " (is tzdata installed?)");
  return tz;
}

// An RFC 3339 instant; the text must parse.
absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  const bool ok = absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err);
  REQUIRE_MESSAGE(ok, rfc3339 << ": " << err);
  return t;
}

std::string Utc(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

TimeRange Period(absl::string_view spec, const char* now, const absl::TimeZone& tz,
                 absl::Weekday week_start = absl::Weekday::monday) {
  auto r = ResolvePeriod(spec, At(now), tz, week_start);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

TEST_CASE("Period: today across the US spring-forward day is 23 hours") {
  const absl::TimeZone ny = Zone("America/New_York");
  const TimeRange r = Period("today", "2026-03-08T12:00:00-04:00", ny);
  CHECK(Utc(r.start) == "2026-03-08T05:00:00Z");
  CHECK(Utc(r.end) == "2026-03-09T04:00:00Z");
  CHECK(r.end - r.start == absl::Hours(23));
  CHECK(r.label == "2026-03-08");
  CHECK(r.bounded());
  CHECK(r.Contains(At("2026-03-08T05:00:00Z")));
  CHECK_FALSE(r.Contains(At("2026-03-09T04:00:00Z")));
  CHECK_FALSE(r.Contains(At("2026-03-08T04:59:59Z")));
}

TEST_CASE("Period: the US fall-back day is 25 hours; yesterday") {
  const absl::TimeZone ny = Zone("America/New_York");
  const TimeRange today = Period("today", "2026-11-01T23:59:59-05:00", ny);
  CHECK(Utc(today.start) == "2026-11-01T04:00:00Z");
  CHECK(Utc(today.end) == "2026-11-02T05:00:00Z");
  CHECK(today.end - today.start == absl::Hours(25));
  const TimeRange yesterday = Period("yesterday", "2026-11-02T00:30:00-05:00", ny);
  CHECK(yesterday.label == "2026-11-01");
  CHECK(yesterday.start == today.start);
  CHECK(yesterday.end == today.end);
}

TEST_CASE("Period: Europe/London daylight-saving days") {
  const absl::TimeZone london = Zone("Europe/London");
  const TimeRange spring = Period("today", "2026-03-29T12:00:00Z", london);
  CHECK(Utc(spring.start) == "2026-03-29T00:00:00Z");
  CHECK(Utc(spring.end) == "2026-03-29T23:00:00Z");
  CHECK(spring.end - spring.start == absl::Hours(23));
  const TimeRange autumn = Period("2026-10-25", "2026-01-01T00:00:00Z", london);
  CHECK(Utc(autumn.start) == "2026-10-24T23:00:00Z");
  CHECK(Utc(autumn.end) == "2026-10-26T00:00:00Z");
  CHECK(autumn.end - autumn.start == absl::Hours(25));
}

TEST_CASE("Period: a day whose midnight is skipped starts at the transition") {
  // Brazil started DST at midnight on 2018-11-04: 00:00 jumped to 01:00.
  const absl::TimeZone sp = Zone("America/Sao_Paulo");
  const TimeRange r = Period("2018-11-04", "2026-01-01T00:00:00Z", sp);
  CHECK(Utc(r.start) == "2018-11-04T03:00:00Z");
  CHECK(Utc(r.end) == "2018-11-05T02:00:00Z");
  CHECK(r.end - r.start == absl::Hours(23));
}

TEST_CASE("Period: month and year in New York versus UTC across the month boundary") {
  const absl::TimeZone ny = Zone("America/New_York");
  // 2026-03-31T23:30 in New York is already April in UTC.
  const char* now = "2026-03-31T23:30:00-04:00";
  const TimeRange ny_month = Period("month", now, ny);
  CHECK(ny_month.label == "2026-03");
  CHECK(Utc(ny_month.start) == "2026-03-01T05:00:00Z");
  CHECK(Utc(ny_month.end) == "2026-04-01T04:00:00Z");
  CHECK(ny_month.end - ny_month.start == absl::Hours(31 * 24 - 1));
  const TimeRange utc_month = Period("month", now, absl::UTCTimeZone());
  CHECK(utc_month.label == "2026-04");
  CHECK(Utc(utc_month.start) == "2026-04-01T00:00:00Z");
  CHECK(Utc(utc_month.end) == "2026-05-01T00:00:00Z");

  const TimeRange year = Period("year", now, ny);
  CHECK(year.label == "2026");
  CHECK(Utc(year.start) == "2026-01-01T05:00:00Z");
  CHECK(Utc(year.end) == "2027-01-01T05:00:00Z");
  // The New Year's Eve boundary: 2026-12-31T22:00-05:00 is 2027 in UTC.
  CHECK(Period("year", "2026-12-31T22:00:00-05:00", ny).label == "2026");
  CHECK(Period("year", "2026-12-31T22:00:00-05:00", absl::UTCTimeZone()).label == "2027");
}

TEST_CASE("Period: explicit YYYY, YYYY-MM, YYYY-MM-DD") {
  const absl::TimeZone ny = Zone("America/New_York");
  const char* now = "2030-06-15T12:00:00Z";  // irrelevant for explicit dates
  const TimeRange y = Period("2025", now, ny);
  CHECK(Utc(y.start) == "2025-01-01T05:00:00Z");
  CHECK(Utc(y.end) == "2026-01-01T05:00:00Z");
  CHECK(y.label == "2025");
  const TimeRange feb = Period("2024-02", now, ny);  // leap year
  CHECK(Utc(feb.start) == "2024-02-01T05:00:00Z");
  CHECK(Utc(feb.end) == "2024-03-01T05:00:00Z");
  CHECK(feb.end - feb.start == absl::Hours(29 * 24));
  CHECK(feb.label == "2024-02");
  const TimeRange dec = Period("2026-12", now, absl::UTCTimeZone());
  CHECK(Utc(dec.end) == "2027-01-01T00:00:00Z");
  const TimeRange day = Period("2026-03-08", now, ny);
  CHECK(day.end - day.start == absl::Hours(23));
  CHECK(day.label == "2026-03-08");
  CHECK(Period("  2026-03-08 ", now, ny).label == "2026-03-08");
}

TEST_CASE("Period: week starting monday versus sunday") {
  const absl::TimeZone ny = Zone("America/New_York");
  // Wednesday 2026-03-11.
  const TimeRange mon = Period("week", "2026-03-11T09:00:00-04:00", ny, absl::Weekday::monday);
  CHECK(mon.label == "2026-03-09..2026-03-15");
  CHECK(Utc(mon.start) == "2026-03-09T04:00:00Z");
  CHECK(Utc(mon.end) == "2026-03-16T04:00:00Z");
  const TimeRange sun = Period("week", "2026-03-11T09:00:00-04:00", ny, absl::Weekday::sunday);
  CHECK(sun.label == "2026-03-08..2026-03-14");
  CHECK(Utc(sun.start) == "2026-03-08T05:00:00Z");  // midnight EST, before the change
  CHECK(Utc(sun.end) == "2026-03-15T04:00:00Z");
  CHECK(sun.end - sun.start == absl::Hours(7 * 24 - 1));
  // On Sunday 2026-03-08 itself: the last day of a monday week, the first of a sunday one.
  CHECK(Period("week", "2026-03-08T12:00:00-04:00", ny, absl::Weekday::monday).label ==
        "2026-03-02..2026-03-08");
  CHECK(Period("week", "2026-03-08T12:00:00-04:00", ny, absl::Weekday::sunday).label ==
        "2026-03-08..2026-03-14");
  // A week spanning a month and year boundary.
  CHECK(Period("week", "2027-01-01T12:00:00Z", absl::UTCTimeZone()).label == "2026-12-28..2027-01-03");
}

TEST_CASE("Period: last-7d is today and the six days before, in the zone") {
  const absl::TimeZone ny = Zone("America/New_York");
  const TimeRange r = Period("last-7d", "2026-03-10T10:00:00-04:00", ny);
  CHECK(r.label == "2026-03-04..2026-03-10");
  CHECK(Utc(r.start) == "2026-03-04T05:00:00Z");
  CHECK(Utc(r.end) == "2026-03-11T04:00:00Z");
  CHECK(r.end - r.start == absl::Hours(7 * 24 - 1));  // spans the spring-forward day
  const TimeRange one = Period("last-1d", "2026-03-10T10:00:00-04:00", ny);
  const TimeRange today = Period("today", "2026-03-10T10:00:00-04:00", ny);
  CHECK(one.start == today.start);
  CHECK(one.end == today.end);
  CHECK(one.label == "2026-03-10");
  const TimeRange thirty = Period("last-30-days", "2026-03-10T10:00:00-04:00", ny);
  CHECK(thirty.label == "2026-02-09..2026-03-10");
  // Late evening in New York is the next day in UTC: the zone decides "today".
  CHECK(Period("last-7d", "2026-03-10T23:30:00-04:00", ny).label == "2026-03-04..2026-03-10");
  CHECK(Period("last-7d", "2026-03-10T23:30:00-04:00", absl::UTCTimeZone()).label ==
        "2026-03-05..2026-03-11");
}

TEST_CASE("Period: all, and errors naming the spec and the accepted forms") {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const TimeRange all = Period("all", "2026-03-10T10:00:00Z", utc);
  CHECK(all.all());
  CHECK_FALSE(all.bounded());
  CHECK(all.label == "all");
  CHECK(all.Contains(At("1970-01-01T00:00:00Z")));
  for (const char* bad : {"bogus", "2026-02-30", "2026-13", "2026-3", "26", "last-0d", "last-d", "last-7",
                          "Today", "2026-03-08x", "last-1000000d", ""}) {
    CAPTURE(bad);
    auto r = ResolvePeriod(bad, At("2026-03-10T10:00:00Z"), utc);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(r.status().message(), absl::StrCat("\"", bad, "\"")));
    CHECK(absl::StrContains(r.status().message(), "last-7d"));
    CHECK(absl::StrContains(r.status().message(), "YYYY-MM-DD"));
  }
}

TEST_CASE("Period: since/until with inclusive dates and RFC 3339 instants") {
  const absl::TimeZone ny = Zone("America/New_York");
  const absl::Time now = At("2026-03-10T10:00:00-04:00");
  auto march = ResolveRange("2026-03-01", "2026-03-31", now, ny);
  REQUIRE(march.ok());
  CHECK(Utc(march->start) == "2026-03-01T05:00:00Z");
  CHECK(Utc(march->end) == "2026-04-01T04:00:00Z");
  CHECK(march->label == "2026-03-01..2026-03-31");

  auto one_day = ResolveRange("2026-03-08", "2026-03-08", now, ny);
  REQUIRE(one_day.ok());
  CHECK(one_day->end - one_day->start == absl::Hours(23));
  CHECK(one_day->label == "2026-03-08");

  auto open_end = ResolveRange("2026-03-08T12:00:00Z", "", now, ny);
  REQUIRE(open_end.ok());
  CHECK(Utc(open_end->start) == "2026-03-08T12:00:00Z");
  CHECK(open_end->end == absl::InfiniteFuture());
  CHECK(open_end->label == "2026-03-08T12:00:00Z..");

  auto open_start = ResolveRange("", "2026-02", now, ny);
  REQUIRE(open_start.ok());
  CHECK(open_start->start == absl::InfinitePast());
  CHECK(Utc(open_start->end) == "2026-03-01T05:00:00Z");
  CHECK(open_start->label == "..2026-02-28");

  auto offsets = ResolveRange("2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", now, ny);
  REQUIRE(offsets.ok());
  CHECK(offsets->end - offsets->start == absl::Hours(1));

  auto local = ResolveRange("2026-03-08T12:00", "now", now, ny);
  REQUIRE(local.ok());
  CHECK(Utc(local->start) == "2026-03-08T16:00:00Z");
  CHECK(local->end == now);

  auto relative = ResolveRange("yesterday", "today", now, ny);
  REQUIRE(relative.ok());
  CHECK(relative->label == "2026-03-09..2026-03-10");
  CHECK(Utc(relative->end) == "2026-03-11T04:00:00Z");

  auto all = ResolveRange("", " ", now, ny);
  REQUIRE(all.ok());
  CHECK(all->all());

  auto backwards = ResolveRange("2026-03-10", "2026-03-09", now, ny);
  REQUIRE_FALSE(backwards.ok());
  CHECK(absl::StrContains(backwards.status().message(), "before"));

  auto bad = ResolveRange("2026-03-32", "", now, ny);
  REQUIRE_FALSE(bad.ok());
  CHECK(absl::StrContains(bad.status().message(), "\"2026-03-32\""));
  CHECK(absl::StrContains(bad.status().message(), "RFC 3339"));
  auto bad_until = ResolveRange("", "tomorrow", now, ny);
  REQUIRE_FALSE(bad_until.ok());
  CHECK(absl::StrContains(bad_until.status().message(), "until \"tomorrow\""));
}

TEST_CASE("Period: weekday parsing") {
  CHECK(*ParseWeekday("monday") == absl::Weekday::monday);
  CHECK(*ParseWeekday("Sun") == absl::Weekday::sunday);
  CHECK(*ParseWeekday("SATURDAY") == absl::Weekday::saturday);
  CHECK_FALSE(ParseWeekday("mo").ok());
  CHECK(WeekdayName(absl::Weekday::thursday) == "thursday");
}

TEST_CASE("Period: hour buckets across spring-forward and fall-back in New York") {
  const absl::TimeZone ny = Zone("America/New_York");
  Bucketer hours(TimeBucket::kHour, ny);
  const int64_t k1 = hours.KeyOf(At("2026-03-08T06:59:59Z"));  // 01:59:59 EST
  CHECK(hours.Label(k1) == "2026-03-08T01");
  const int64_t k3 = hours.KeyOf(At("2026-03-08T07:00:00Z"));  // 03:00:00 EDT
  CHECK(hours.Label(k3) == "2026-03-08T03");
  CHECK(k3 == k1 + 2);
  // The skipped hour 02 has a key but no instants.
  const TimeRange skipped = hours.RangeOf(k1 + 1);
  CHECK(skipped.label == "2026-03-08T02");
  CHECK(skipped.start == skipped.end);
  CHECK(Utc(hours.RangeOf(k1).end) == "2026-03-08T07:00:00Z");

  // Fall back: 01:30 EDT and 01:30 EST share the civil hour 01, two hours long.
  const int64_t a = hours.KeyOf(At("2026-11-01T05:30:00Z"));
  const int64_t b = hours.KeyOf(At("2026-11-01T06:30:00Z"));
  CHECK(a == b);
  CHECK(hours.Label(a) == "2026-11-01T01");
  const TimeRange repeated = hours.RangeOf(a);
  CHECK(Utc(repeated.start) == "2026-11-01T05:00:00Z");
  CHECK(Utc(repeated.end) == "2026-11-01T07:00:00Z");
  CHECK(hours.Label(hours.KeyOf(At("2026-11-01T07:00:00Z"))) == "2026-11-01T02");
}

TEST_CASE("Period: day, week and month buckets in a non-UTC zone") {
  const absl::TimeZone ny = Zone("America/New_York");
  const absl::Time t = At("2026-03-31T23:30:00-04:00");
  CHECK(DayLabel(DayOf(t, ny)) == "2026-03-31");
  CHECK(BucketLabel(TimeBucket::kDay, t, ny) == "2026-03-31");
  CHECK(BucketLabel(TimeBucket::kDay, t, absl::UTCTimeZone()) == "2026-04-01");
  CHECK(BucketLabel(TimeBucket::kMonth, t, ny) == "2026-03");
  CHECK(BucketLabel(TimeBucket::kMonth, t, absl::UTCTimeZone()) == "2026-04");
  CHECK(BucketLabel(TimeBucket::kHour, t, ny) == "2026-03-31T23");
  // Sunday 2026-03-08.
  const absl::Time sunday = At("2026-03-08T12:00:00-04:00");
  CHECK(BucketLabel(TimeBucket::kWeek, sunday, ny, absl::Weekday::monday) == "2026-03-02");
  CHECK(BucketLabel(TimeBucket::kWeek, sunday, ny, absl::Weekday::sunday) == "2026-03-08");
  CHECK(BucketLabel(TimeBucket::kWeek, At("2026-03-07T23:59:59-05:00"), ny, absl::Weekday::sunday) ==
        "2026-03-01");

  Bucketer days(TimeBucket::kDay, ny);
  const TimeRange spring = days.RangeOf(days.KeyOf(sunday));
  CHECK(spring.label == "2026-03-08");
  CHECK(spring.end - spring.start == absl::Hours(23));
  Bucketer weeks(TimeBucket::kWeek, ny, absl::Weekday::sunday);
  const int64_t w = weeks.KeyOf(sunday);
  CHECK(weeks.RangeOf(w).end - weeks.RangeOf(w).start == absl::Hours(7 * 24 - 1));
  CHECK(weeks.Label(weeks.Next(w)) == "2026-03-15");
  Bucketer months(TimeBucket::kMonth, ny);
  const int64_t m = months.KeyOf(t);
  CHECK(months.Label(months.Next(m)) == "2026-04");
  CHECK(Utc(months.RangeOf(m).end) == "2026-04-01T04:00:00Z");
  CHECK(months.Label(months.KeyOf(At("1969-12-31T23:00:00Z"))) == "1969-12");
  CHECK(months.Label(months.KeyOf(At("1969-01-01T06:00:00Z"))) == "1969-01");
  CHECK(days.Label(days.KeyOf(At("1969-12-31T12:00:00Z"))) == "1969-12-31");
  // Infinite instants are clamped, not overflowed.
  CHECK(days.KeyOf(absl::InfiniteFuture()) > days.KeyOf(At("9999-12-31T00:00:00Z")));
  CHECK(days.KeyOf(absl::InfinitePast()) < days.KeyOf(At("0001-01-01T00:00:00Z")));
  CHECK(days.Label(days.KeyOf(At("2026-03-08T12:00:00Z"))) == "2026-03-08");
}

TEST_CASE("Period: a skipped calendar day has an empty bucket") {
  // Samoa skipped 2011-12-30 when it moved across the date line.
  const absl::TimeZone apia = Zone("Pacific/Apia");
  Bucketer days(TimeBucket::kDay, apia);
  const int64_t dec31 = days.KeyOf(At("2011-12-31T12:00:00+14:00"));
  CHECK(days.Label(dec31) == "2011-12-31");
  CHECK(days.Label(days.KeyOf(At("2011-12-29T23:59:59-10:00"))) == "2011-12-29");
  const TimeRange skipped = days.RangeOf(dec31 - 1);
  CHECK(skipped.label == "2011-12-30");
  CHECK(skipped.start == skipped.end);
}

// The cached fast path agrees with Abseil's zone lookup for every instant,
// in chronological and in random order, in zones with odd offsets and rules.
TEST_CASE("Period: bucketer agrees with absl::ToCivil over many instants") {
  const absl::Time lo = At("2010-01-01T00:00:00Z");
  const int64_t span_s = int64_t{20} * 366 * 86400;  // to 2030
  for (const char* name : {"UTC", "America/New_York", "Europe/London", "Asia/Kathmandu",
                           "Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Apia", "Asia/Kolkata"}) {
    CAPTURE(name);
    const absl::TimeZone tz = Zone(name);
    for (absl::Weekday ws : {absl::Weekday::monday, absl::Weekday::sunday, absl::Weekday::wednesday}) {
      Bucketer hour(TimeBucket::kHour, tz, ws), day(TimeBucket::kDay, tz, ws),
          week(TimeBucket::kWeek, tz, ws), month(TimeBucket::kMonth, tz, ws);
      std::mt19937_64 rng(42);
      std::vector<absl::Time> times;
      for (int i = 0; i < 4000; ++i) {
        times.push_back(lo + absl::Seconds(static_cast<int64_t>(rng() % static_cast<uint64_t>(span_s))) +
                        absl::Milliseconds(static_cast<int64_t>(rng() % 1000)));
      }
      // Chronological runs with steps of about an hour, through transitions.
      absl::Time t = At("2026-03-01T00:00:00Z");
      for (int i = 0; i < 3000; ++i, t += absl::Minutes(59)) times.push_back(t);
      for (absl::Time x : times) {
        const absl::CivilSecond cs = absl::ToCivilSecond(x, tz);
        const absl::CivilDay d(cs);
        const std::string week_label = DayLabel(WeekStartOf(d, ws));
        const int64_t hk = hour.KeyOf(x), dk = day.KeyOf(x), wk = week.KeyOf(x), mk = month.KeyOf(x);
        REQUIRE(hour.Label(hk) == HourLabel(absl::CivilHour(cs)));
        REQUIRE(day.Label(dk) == DayLabel(d));
        REQUIRE(week.Label(wk) == week_label);
        REQUIRE(month.Label(mk) == MonthLabel(absl::CivilMonth(cs)));
        REQUIRE(hour.RangeOf(hk).Contains(x));
        REQUIRE(day.RangeOf(dk).Contains(x));
        REQUIRE(week.RangeOf(wk).Contains(x));
        REQUIRE(month.RangeOf(mk).Contains(x));
      }
    }
  }
}

}  // namespace
}  // namespace tokenbook
