// Report periods and time buckets, in an IANA time zone.
//
// Everything here is pure computation: the caller passes the time zone
// (absl::LoadTimeZone) and "now", so every rule is testable at any instant.
// Calendar boundaries are computed with civil-time arithmetic and
// absl::FromCivil, never by adding 24 hours, so a day is 23 or 25 hours long
// on a daylight-saving change (America/New_York, 2026-03-08 is 23 hours) and
// a zone whose midnight is skipped starts its day at the transition.
//
//   ResolvePeriod("month", now, tz)            the calendar month containing now
//   ResolveRange("2026-03-01", "", now, tz)    from March 1 on, unbounded
//   Bucketer(TimeBucket::kDay, tz)             the day an instant falls on, fast
//
// Every range is half-open, [start, end). An unbounded side is
// absl::InfinitePast() / absl::InfiniteFuture().
#ifndef TOKENBOOK_PERIOD_H_
#define TOKENBOOK_PERIOD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tokenbook {
inline namespace v1 {

// An interval of time, [start, end), with a label for display:
// "2026-03-08" (a day), "2026-03" (a month), "2026" (a year),
// "2026-03-02..2026-03-08" (inclusive dates: a week, last-N-days, since/until),
// "2026-03-01.." or "..2026-03-31" (one side unbounded), "all".
struct TimeRange {
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfiniteFuture();
  std::string label = "all";

  bool Contains(absl::Time t) const { return t >= start && t < end; }
  bool bounded() const { return start != absl::InfinitePast() && end != absl::InfiniteFuture(); }
  bool all() const { return start == absl::InfinitePast() && end == absl::InfiniteFuture(); }
};

// The accepted period specifications, for help text and error messages.
inline constexpr absl::string_view kPeriodForms =
    "today, yesterday, week, month, year, last-Nd (e.g. last-7d), YYYY, YYYY-MM, YYYY-MM-DD, all";

// ---------------------------------------------------------------------------
// Civil-day helpers.

// The calendar day on which `t` falls in `tz`.
inline absl::CivilDay DayOf(absl::Time t, const absl::TimeZone& tz) { return absl::ToCivilDay(t, tz); }

// The first instant of civil second `cs` in `tz`: for a skipped local time
// (e.g. a midnight that does not exist) the transition instant, for a
// repeated one the earlier instant. Order-preserving.
inline absl::Time StartOf(absl::CivilSecond cs, const absl::TimeZone& tz) { return absl::FromCivil(cs, tz); }

// The first day of the week holding `day`, for weeks starting on `week_start`.
inline absl::CivilDay WeekStartOf(absl::CivilDay day, absl::Weekday week_start) {
  return absl::PrevWeekday(day + 1, week_start);
}

// "2026-03-08".
inline std::string DayLabel(absl::CivilDay d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}
inline std::string MonthLabel(absl::CivilMonth m) {
  return absl::StrFormat("%04d-%02d", m.year(), m.month());
}
inline std::string YearLabel(absl::CivilYear y) { return absl::StrFormat("%04d", y.year()); }
inline std::string HourLabel(absl::CivilHour h) {
  return absl::StrFormat("%04d-%02d-%02dT%02d", h.year(), h.month(), h.day(), h.hour());
}

inline absl::string_view WeekdayName(absl::Weekday w) {
  switch (w) {
    case absl::Weekday::monday: return "monday";
    case absl::Weekday::tuesday: return "tuesday";
    case absl::Weekday::wednesday: return "wednesday";
    case absl::Weekday::thursday: return "thursday";
    case absl::Weekday::friday: return "friday";
    case absl::Weekday::saturday: return "saturday";
    case absl::Weekday::sunday: return "sunday";
  }
  return "?";
}

// "monday" / "mon" (any case) and so on.
[[nodiscard]] inline absl::StatusOr<absl::Weekday> ParseWeekday(absl::string_view text) {
  const std::string s = absl::AsciiStrToLower(text);
  for (absl::Weekday w :
       {absl::Weekday::monday, absl::Weekday::tuesday, absl::Weekday::wednesday, absl::Weekday::thursday,
        absl::Weekday::friday, absl::Weekday::saturday, absl::Weekday::sunday}) {
    const absl::string_view name = WeekdayName(w);
    if (s == name || s == name.substr(0, 3)) return w;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a weekday: \"", text, "\" (expected monday..sunday or mon..sun)"));
}

namespace period_internal {

// A calendar date written YYYY, YYYY-MM or YYYY-MM-DD, strictly (zero-padded,
// month 01-12, a day that exists in that month).
struct CalendarSpec {
  enum Kind { kYear, kMonth, kDay } kind = kDay;
  absl::CivilDay first;  // the first day of the year, month or day
  absl::CivilDay next;   // the first day after it
};

inline bool ParseDigits(absl::string_view s, size_t n, int* out) {
  if (s.size() != n) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

inline std::optional<CalendarSpec> ParseCalendar(absl::string_view s) {
  int y = 0, m = 1, d = 1;
  CalendarSpec out;
  if (s.size() == 4) {
    if (!ParseDigits(s, 4, &y)) return std::nullopt;
    out.kind = CalendarSpec::kYear;
  } else if (s.size() == 7 && s[4] == '-') {
    if (!ParseDigits(s.substr(0, 4), 4, &y) || !ParseDigits(s.substr(5, 2), 2, &m)) return std::nullopt;
    out.kind = CalendarSpec::kMonth;
  } else if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    if (!ParseDigits(s.substr(0, 4), 4, &y) || !ParseDigits(s.substr(5, 2), 2, &m) ||
        !ParseDigits(s.substr(8, 2), 2, &d)) {
      return std::nullopt;
    }
    out.kind = CalendarSpec::kDay;
  } else {
    return std::nullopt;
  }
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const absl::CivilDay day(y, m, d);
  if (day.month() != m || day.day() != d) return std::nullopt;  // e.g. 2026-02-30
  out.first = day;
  switch (out.kind) {
    case CalendarSpec::kYear: out.next = absl::CivilDay(absl::CivilYear(y) + 1); break;
    case CalendarSpec::kMonth: out.next = absl::CivilDay(absl::CivilMonth(y, m) + 1); break;
    case CalendarSpec::kDay: out.next = day + 1; break;
  }
  return out;
}

// "last-7d" or "last-7-days": N in 1..100000.
inline std::optional<int> ParseLastDays(absl::string_view s) {
  if (!absl::ConsumePrefix(&s, "last-")) return std::nullopt;
  if (!absl::ConsumeSuffix(&s, "-days") && !absl::ConsumeSuffix(&s, "d")) return std::nullopt;
  if (s.empty() || s.size() > 6) return std::nullopt;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 100000) return std::nullopt;
  return n;
}

// [first, next) as instants in tz.
inline TimeRange DaysRange(absl::CivilDay first, absl::CivilDay next, const absl::TimeZone& tz,
                           std::string label) {
  return TimeRange{StartOf(first, tz), StartOf(next, tz), std::move(label)};
}

inline std::string InclusiveDaysLabel(absl::CivilDay first, absl::CivilDay next) {
  if (next - first == 1) return DayLabel(first);
  return absl::StrCat(DayLabel(first), "..", DayLabel(next - 1));
}

}  // namespace period_internal

// The period `spec` names, relative to `now` in `tz`:
//   today, yesterday          the calendar day
//   week                      the current week, starting on `week_start`
//   month, year               the current calendar month / year
//   last-Nd (or last-N-days)  today and the N-1 days before it; it ends where
//                             "today" ends, so entries logged later today count
//   YYYY, YYYY-MM, YYYY-MM-DD that calendar year, month or day
//   all                       everything (both sides unbounded)
// Specs are case-sensitive and trimmed of surrounding spaces. An unknown spec
// is InvalidArgument naming it and listing the accepted forms.
[[nodiscard]] inline absl::StatusOr<TimeRange> ResolvePeriod(
    absl::string_view spec, absl::Time now, const absl::TimeZone& tz,
    absl::Weekday week_start = absl::Weekday::monday) {
  using period_internal::DaysRange;
  using period_internal::InclusiveDaysLabel;
  const absl::string_view s = absl::StripAsciiWhitespace(spec);
  const absl::CivilDay today = DayOf(now, tz);
  if (s == "all") return TimeRange{};
  if (s == "today") return DaysRange(today, today + 1, tz, DayLabel(today));
  if (s == "yesterday") return DaysRange(today - 1, today, tz, DayLabel(today - 1));
  if (s == "week") {
    const absl::CivilDay first = WeekStartOf(today, week_start);
    return DaysRange(first, first + 7, tz, InclusiveDaysLabel(first, first + 7));
  }
  if (s == "month") {
    const absl::CivilMonth m(today);
    return DaysRange(absl::CivilDay(m), absl::CivilDay(m + 1), tz, MonthLabel(m));
  }
  if (s == "year") {
    const absl::CivilYear y(today);
    return DaysRange(absl::CivilDay(y), absl::CivilDay(y + 1), tz, YearLabel(y));
  }
  if (std::optional<int> n = period_internal::ParseLastDays(s)) {
    const absl::CivilDay first = today - (*n - 1);
    return DaysRange(first, today + 1, tz, InclusiveDaysLabel(first, today + 1));
  }
  if (auto cal = period_internal::ParseCalendar(s)) {
    return DaysRange(cal->first, cal->next, tz, std::string(s));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown period \"", spec, "\"; expected one of: ", kPeriodForms));
}

namespace period_internal {

// One side of a since/until range: the instant it names, and its label.
struct Bound {
  absl::Time at;
  std::string label;
};

// `text` as a since (is_until false: the start of what it names) or an until
// (the end of what it names: dates are inclusive, instants exclusive).
inline absl::StatusOr<Bound> ResolveBound(absl::string_view text, bool is_until, absl::Time now,
                                          const absl::TimeZone& tz) {
  const absl::string_view s = absl::StripAsciiWhitespace(text);
  if (auto cal = ParseCalendar(s)) {
    if (is_until) return Bound{StartOf(cal->next, tz), DayLabel(cal->next - 1)};
    return Bound{StartOf(cal->first, tz), DayLabel(cal->first)};
  }
  if (s == "today" || s == "yesterday") {
    const absl::CivilDay day = DayOf(now, tz) - (s == "yesterday" ? 1 : 0);
    if (is_until) return Bound{StartOf(day + 1, tz), DayLabel(day)};
    return Bound{StartOf(day, tz), DayLabel(day)};
  }
  if (s == "now") return Bound{now, absl::FormatTime(absl::RFC3339_sec, now, tz)};
  std::string err;
  absl::Time t;
  // An instant with an offset ("2026-03-08T12:00:00Z", "...-04:00").
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return Bound{t, std::string(s)};
  // A local date-time, read in tz ("2026-03-08T12:00", "2026-03-08T12:00:30").
  for (const char* fmt : {"%Y-%m-%d%ET%H:%M:%E*S", "%Y-%m-%d%ET%H:%M"}) {
    absl::Time local;
    std::string ignored;
    if (absl::ParseTime(fmt, s, tz, &local, &ignored)) return Bound{local, std::string(s)};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad ", is_until ? "until" : "since", " \"", text,
                   "\"; expected a date YYYY-MM-DD (inclusive, in the report's time zone), YYYY-MM, YYYY, "
                   "today, yesterday, now, an RFC 3339 instant such as 2026-03-08T12:00:00Z, or a local "
                   "time 2026-03-08T12:00"));
}

}  // namespace period_internal

// The range from `since` to `until`, either of which may be empty (unbounded):
//   YYYY-MM-DD, YYYY-MM, YYYY   dates in tz, inclusive on both sides
//                               ("until 2026-03-31" includes all of March 31)
//   today, yesterday            likewise, relative to now
//   now                         the instant `now`
//   2026-03-08T12:00:00Z        an RFC 3339 instant (offset required)
//   2026-03-08T12:00[:SS]       a local time in tz
// Instants are half-open like every range: an until instant is excluded.
// InvalidArgument when a side cannot be read or the range is empty (until
// at or before since).
[[nodiscard]] inline absl::StatusOr<TimeRange> ResolveRange(absl::string_view since, absl::string_view until,
                                                            absl::Time now, const absl::TimeZone& tz) {
  TimeRange out;
  std::string since_label, until_label;
  if (!absl::StripAsciiWhitespace(since).empty()) {
    auto b = period_internal::ResolveBound(since, false, now, tz);
    if (!b.ok()) return b.status();
    out.start = b->at;
    since_label = std::move(b->label);
  }
  if (!absl::StripAsciiWhitespace(until).empty()) {
    auto b = period_internal::ResolveBound(until, true, now, tz);
    if (!b.ok()) return b.status();
    out.end = b->at;
    until_label = std::move(b->label);
  }
  if (out.end <= out.start) {
    return absl::InvalidArgumentError(
        absl::StrCat("until \"", until, "\" comes before since \"", since, "\": the range is empty"));
  }
  if (since_label.empty() && until_label.empty()) {
    out.label = "all";
  } else if (since_label == until_label) {
    out.label = since_label;  // one day
  } else {
    out.label = absl::StrCat(since_label, "..", until_label);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Time buckets.

enum class TimeBucket { kHour, kDay, kWeek, kMonth };

inline absl::string_view TimeBucketName(TimeBucket b) {
  switch (b) {
    case TimeBucket::kHour: return "hour";
    case TimeBucket::kDay: return "day";
    case TimeBucket::kWeek: return "week";
    case TimeBucket::kMonth: return "month";
  }
  return "?";
}

inline std::optional<TimeBucket> ParseTimeBucket(absl::string_view name) {
  if (name == "hour") return TimeBucket::kHour;
  if (name == "day") return TimeBucket::kDay;
  if (name == "week") return TimeBucket::kWeek;
  if (name == "month") return TimeBucket::kMonth;
  return std::nullopt;
}

// Maps instants to civil buckets of one kind in one zone, and back.
//
// A bucket is identified by an int64 key that orders chronologically:
//   hour   civil hours since 1970-01-01T00 (local)
//   day    civil days since 1970-01-01
//   week   the day key of the week's first day (per week_start)
//   month  year × 12 + (month − 1)
// Labels: hour "2026-03-08T02", day "2026-03-08", week "2026-03-02" (its first
// day), month "2026-03". Buckets are civil: on a fall-back night the repeated
// hour "2026-11-01T01" holds two hours of instants; a skipped hour (spring
// forward, "2026-03-08T02" in New York) holds none and its range is empty.
//
// KeyOf() is the hot path of every time-series rollup: it remembers the last
// few spans of instants over which the zone's UTC offset is constant (one
// span lasts months in a DST zone, forever in UTC), so that for most entries
// it is integer arithmetic, not a zone lookup. Not thread-safe (the cache);
// use one Bucketer per thread.
class Bucketer {
 public:
  explicit Bucketer(TimeBucket bucket, absl::TimeZone tz = absl::UTCTimeZone(),
                    absl::Weekday week_start = absl::Weekday::monday)
      : bucket_(bucket), tz_(tz), week_start_(week_start) {
    // Day key of the first week start on or after 1970-01-01.
    week_anchor_ = absl::NextWeekday(kEpochDay - 1, week_start) - kEpochDay;
  }

  TimeBucket bucket() const { return bucket_; }
  const absl::TimeZone& tz() const { return tz_; }
  absl::Weekday week_start() const { return week_start_; }

  // The key of the bucket holding `t`. Instants more than ~30,000 years from
  // 1970 (including the infinite ones) are clamped to that limit.
  int64_t KeyOf(absl::Time t) {
    if (!(t >= seg_lo_ && t < seg_hi_)) Refresh(t);
    const int64_t local = ClampedUnixSeconds(t) + offset_;
    switch (bucket_) {
      case TimeBucket::kHour: return FloorDiv(local, 3600);
      case TimeBucket::kDay: return FloorDiv(local, 86400);
      case TimeBucket::kWeek: {
        const int64_t day = FloorDiv(local, 86400);
        return day - FloorMod(day - week_anchor_, 7);
      }
      case TimeBucket::kMonth: {
        const int64_t day = FloorDiv(local, 86400);
        if (day != month_day_) {
          const absl::CivilDay d = kEpochDay + day;
          month_day_ = day;
          month_key_ = static_cast<int64_t>(d.year()) * 12 + (d.month() - 1);
        }
        return month_key_;
      }
    }
    return 0;
  }

  // The civil time at which bucket `key` begins.
  absl::CivilSecond CivilStart(int64_t key) const {
    switch (bucket_) {
      case TimeBucket::kHour: return absl::CivilSecond(absl::CivilHour(kEpochDay) + key);
      case TimeBucket::kDay:
      case TimeBucket::kWeek: return absl::CivilSecond(kEpochDay + key);
      case TimeBucket::kMonth:
        return absl::CivilSecond(
            absl::CivilMonth(FloorDiv(key, 12), static_cast<int>(FloorMod(key, 12)) + 1));
    }
    return absl::CivilSecond();
  }

  // The key of the bucket after `key`.
  int64_t Next(int64_t key) const { return bucket_ == TimeBucket::kWeek ? key + 7 : key + 1; }

  // The instants bucket `key` covers, [start, end), labelled; empty when
  // the zone skips the whole bucket.
  TimeRange RangeOf(int64_t key) const {
    return TimeRange{StartOf(CivilStart(key), tz_), StartOf(CivilStart(Next(key)), tz_), Label(key)};
  }

  std::string Label(int64_t key) const {
    const absl::CivilSecond cs = CivilStart(key);
    switch (bucket_) {
      case TimeBucket::kHour: return HourLabel(absl::CivilHour(cs));
      case TimeBucket::kDay:
      case TimeBucket::kWeek: return DayLabel(absl::CivilDay(cs));
      case TimeBucket::kMonth: return MonthLabel(absl::CivilMonth(cs));
    }
    return "";
  }

 private:
  static constexpr int64_t kLimitSeconds = int64_t{1'000'000'000'000};  // ~31,700 years
  static constexpr absl::CivilDay kEpochDay{1970, 1, 1};

  static int64_t FloorDiv(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
  }
  static int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

  static int64_t ClampedUnixSeconds(absl::Time t) {
    const int64_t s = absl::ToUnixSeconds(t);  // floors; saturates for infinite times
    if (s > kLimitSeconds) return kLimitSeconds;
    if (s < -kLimitSeconds) return -kLimitSeconds;
    return s;
  }

  // Makes the span holding `t` current: one remembered earlier, or a new
  // one from the zone (which then replaces the oldest remembered span).
  void Refresh(absl::Time t) {
    spans_[current_] = Span{seg_lo_, seg_hi_, offset_};
    for (size_t i = 0; i < kSpans; ++i) {
      const Span& s = spans_[i];
      if (t >= s.lo && t < s.hi) {
        current_ = i;
        seg_lo_ = s.lo;
        seg_hi_ = s.hi;
        offset_ = s.offset;
        return;
      }
    }
    Lookup(t);
    current_ = oldest_;
    oldest_ = (oldest_ + 1) % kSpans;
    spans_[current_] = Span{seg_lo_, seg_hi_, offset_};
  }

  // Finds the UTC offset at `t` and the span around it over which it holds.
  void Lookup(absl::Time t) {
    const absl::Time lo_limit = absl::FromUnixSeconds(-kLimitSeconds);
    const absl::Time hi_limit = absl::FromUnixSeconds(kLimitSeconds);
    if (t < lo_limit) t = lo_limit;
    if (t >= hi_limit) t = hi_limit - absl::Seconds(1);
    const absl::TimeZone::CivilInfo info = tz_.At(t);
    offset_ = info.offset;
    const absl::CivilSecond epoch(1970, 1, 1);
    absl::TimeZone::CivilTransition tr;
    // The transition at or before t: its `to` is civil time in our offset.
    seg_lo_ = lo_limit;
    if (tz_.PrevTransition(t + absl::Nanoseconds(1), &tr)) {
      const absl::Time at = absl::FromUnixSeconds((tr.to - epoch) - offset_);
      if (at <= t && at > seg_lo_) seg_lo_ = at;
    }
    // The next transition: its `from` is civil time in our offset.
    seg_hi_ = hi_limit;
    if (tz_.NextTransition(t, &tr)) {
      const absl::Time at = absl::FromUnixSeconds((tr.from - epoch) - offset_);
      if (at > t && at < seg_hi_) seg_hi_ = at;
    }
    // Transition enumeration is informational in Abseil and unspecified far
    // from the present: check the span's ends, and fall back to one second.
    if (!(t >= seg_lo_ && t < seg_hi_) || tz_.At(seg_lo_).offset != offset_ ||
        tz_.At(seg_hi_ - absl::Seconds(1)).offset != offset_) {
      seg_lo_ = absl::FromUnixSeconds(absl::ToUnixSeconds(t));
      seg_hi_ = seg_lo_ + absl::Seconds(1);
    }
  }

  TimeBucket bucket_;
  absl::TimeZone tz_;
  absl::Weekday week_start_;
  int64_t week_anchor_ = 0;
  // The current span [seg_lo_, seg_hi_) with constant UTC offset offset_,
  // and a few remembered ones (entries out of order around a DST change).
  struct Span {
    absl::Time lo = absl::InfiniteFuture();
    absl::Time hi = absl::InfinitePast();
    int64_t offset = 0;
  };
  static constexpr size_t kSpans = 8;
  absl::Time seg_lo_ = absl::InfiniteFuture();
  absl::Time seg_hi_ = absl::InfinitePast();
  int64_t offset_ = 0;
  std::array<Span, kSpans> spans_{};
  size_t current_ = 0;
  size_t oldest_ = 0;
  // The last day key converted to a month.
  int64_t month_day_ = std::numeric_limits<int64_t>::min();
  int64_t month_key_ = 0;
};

// The label of the bucket holding `t` ("2026-03-08T02", "2026-03-08",
// "2026-03-02" for a week, "2026-03"). For one-off use; a rollup keeps a
// Bucketer.
inline std::string BucketLabel(TimeBucket bucket, absl::Time t, const absl::TimeZone& tz,
                               absl::Weekday week_start = absl::Weekday::monday) {
  Bucketer b(bucket, tz, week_start);
  return b.Label(b.KeyOf(t));
}

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_PERIOD_H_
