// Budgets: definitions, status, projections, recommendations, stage
// suggestions and the in-process admission check.
//
// Pure computation: no file, clock or environment access. Every function that
// depends on the time takes `now`; every calendar question (which day, week or
// month an instant falls in) takes a BudgetCalendar (IANA time zone and the
// first day of the week).
//
// Exactness. Money is integer micro-dollars (Micros). Thresholds are integer
// basis points of the limit (80% = 8000 bp). Levels are decided by exact
// 128-bit comparisons (spent × 10000 ≥ warning_bp × limit), never by a
// rounded percentage, so "exactly 80%" is a warning and 79.9999% is not.
// Rounding happens only where a figure is reported, and each says how:
//   percent_bp           floor(spent × 10000 / limit)
//   projected            round_half_even(spent × units_in_period / units_elapsed)
//   days_until_exhausted floor((limit − spent) × days_elapsed / spent)
//   FormatPercent        round_half_even, for display only
//
// Actions and the admission verdict (allow / warn / deny) for a request of
// estimated cost E on a budget with `spent` committed and `reserved` held by
// in-flight reservations:
//   warn   never denies; warns when spent + reserved + E reaches the warning
//          threshold or beyond.
//   pause  a stop *after* the limit is reached: denies once spent + reserved
//          is at or above the limit (the work pauses until the next period or
//          until someone raises the limit); a request that starts under the
//          limit goes ahead, with a warning, even if it takes the budget over.
//   block  a hard cap: denies any request for which spent + reserved + E would
//          exceed the limit, and reserves atomically, so concurrent callers can
//          never together overshoot it. (The guarantee is on estimates: a
//          commit whose actual cost exceeds its estimate is still recorded in
//          full — money spent is spent — so estimate with the maximum output.)
// A request is checked against every budget that applies to it; the verdict is
// the most severe one.
#ifndef TOKENBOOK_BUDGET_H_
#define TOKENBOOK_BUDGET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"
#include "tokenbook/period.h"

namespace tokenbook {
inline namespace v1 {

inline constexpr int64_t kBasisPointsPerWhole = 10'000;  // 100% = 10000 bp

// ---------------------------------------------------------------------------
// Vocabulary.

enum class BudgetPeriod {
  kDaily,    // a calendar day in the budget time zone
  kWeekly,   // seven days from the configured week start
  kMonthly,  // a calendar month
  kSession,  // one session (entries sharing a `session`), however long
};

inline absl::string_view BudgetPeriodName(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDaily: return "daily";
    case BudgetPeriod::kWeekly: return "weekly";
    case BudgetPeriod::kMonthly: return "monthly";
    case BudgetPeriod::kSession: return "session";
  }
  return "?";
}

inline std::optional<BudgetPeriod> ParseBudgetPeriod(absl::string_view s) {
  if (s == "daily") return BudgetPeriod::kDaily;
  if (s == "weekly") return BudgetPeriod::kWeekly;
  if (s == "monthly") return BudgetPeriod::kMonthly;
  if (s == "session") return BudgetPeriod::kSession;
  return std::nullopt;
}

// Which entries a budget counts.
enum class ScopeKind {
  kAll,      // every entry
  kProject,  // entries whose `project` equals the scope value
  kFeature,  // ... `feature`
  kAgent,    // ... `agent`
};

inline absl::string_view ScopeKindName(ScopeKind k) {
  switch (k) {
    case ScopeKind::kAll: return "all";
    case ScopeKind::kProject: return "project";
    case ScopeKind::kFeature: return "feature";
    case ScopeKind::kAgent: return "agent";
  }
  return "?";
}

enum class BudgetAction { kWarn, kPause, kBlock };

inline absl::string_view BudgetActionName(BudgetAction a) {
  switch (a) {
    case BudgetAction::kWarn: return "warn";
    case BudgetAction::kPause: return "pause";
    case BudgetAction::kBlock: return "block";
  }
  return "?";
}

inline std::optional<BudgetAction> ParseBudgetAction(absl::string_view s) {
  if (s == "warn") return BudgetAction::kWarn;
  if (s == "pause") return BudgetAction::kPause;
  if (s == "block") return BudgetAction::kBlock;
  return std::nullopt;
}

// Ordered: a higher level is more severe.
enum class BudgetLevel {
  kOk = 0,        // below the warning threshold
  kWarning = 1,   // at or above the warning threshold
  kCritical = 2,  // at or above the critical threshold, not above the limit
  kExceeded = 3,  // above the limit
};

inline absl::string_view BudgetLevelName(BudgetLevel l) {
  switch (l) {
    case BudgetLevel::kOk: return "ok";
    case BudgetLevel::kWarning: return "warning";
    case BudgetLevel::kCritical: return "critical";
    case BudgetLevel::kExceeded: return "exceeded";
  }
  return "?";
}

inline std::optional<BudgetLevel> ParseBudgetLevel(absl::string_view s) {
  if (s == "ok") return BudgetLevel::kOk;
  if (s == "warning") return BudgetLevel::kWarning;
  if (s == "critical") return BudgetLevel::kCritical;
  if (s == "exceeded") return BudgetLevel::kExceeded;
  return std::nullopt;
}

// The colour a renderer shows a level in: green, yellow or red.
inline absl::string_view BudgetLevelColor(BudgetLevel l) {
  switch (l) {
    case BudgetLevel::kOk: return "green";
    case BudgetLevel::kWarning: return "yellow";
    case BudgetLevel::kCritical: return "red";
    case BudgetLevel::kExceeded: return "red";
  }
  return "?";
}

enum class Recommendation {
  kStayTheCourse,   // on track to end the period within the limit
  kReduceUsage,     // on track to exceed the limit before the period ends
  kIncreaseBudget,  // already over the limit with the period still running
  kBudgetTooLarge,  // on track to use less than half of the limit
};

inline absl::string_view RecommendationName(Recommendation r) {
  switch (r) {
    case Recommendation::kStayTheCourse: return "stay_the_course";
    case Recommendation::kReduceUsage: return "reduce_usage";
    case Recommendation::kIncreaseBudget: return "increase_budget";
    case Recommendation::kBudgetTooLarge: return "budget_too_large";
  }
  return "?";
}

// A sentence for people.
inline absl::string_view RecommendationText(Recommendation r) {
  switch (r) {
    case Recommendation::kStayTheCourse: return "Stay the course: spending is on track for the budget.";
    case Recommendation::kReduceUsage: return "Reduce usage: at this rate the budget runs out before the period ends.";
    case Recommendation::kIncreaseBudget: return "Increase the budget: it is already exceeded.";
    case Recommendation::kBudgetTooLarge: return "The budget is larger than needed: spending is on track for less than half of it.";
  }
  return "?";
}

enum class Verdict { kAllow = 0, kWarn = 1, kDeny = 2 };  // ordered by severity

inline absl::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllow: return "allow";
    case Verdict::kWarn: return "warn";
    case Verdict::kDeny: return "deny";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Definitions.

// Thresholds in basis points of the limit: 0 < warning_bp ≤ critical_bp ≤ 10000.
struct Thresholds {
  int64_t warning_bp = 8'000;
  int64_t critical_bp = 9'500;

  friend bool operator==(const Thresholds& a, const Thresholds& b) {
    return a.warning_bp == b.warning_bp && a.critical_bp == b.critical_bp;
  }
};

struct BudgetScope {
  ScopeKind kind = ScopeKind::kAll;
  std::string value;  // the project, feature or agent; empty for kAll

  // "all", "project:acme", "agent:planner".
  std::string ToString() const {
    if (kind == ScopeKind::kAll) return "all";
    return absl::StrCat(ScopeKindName(kind), ":", value);
  }
  friend bool operator==(const BudgetScope& a, const BudgetScope& b) {
    return a.kind == b.kind && a.value == b.value;
  }
};

// The dimensions of a request or entry that budgets are scoped by. Views:
// the caller keeps the strings alive for the duration of the call.
struct BudgetTarget {
  absl::string_view session;
  absl::string_view project;
  absl::string_view feature;
  absl::string_view agent;
};

inline BudgetTarget TargetOf(const Entry& e) {
  return BudgetTarget{e.session, e.project, e.feature, e.agent};
}

inline bool ScopeMatches(const BudgetScope& scope, const BudgetTarget& t) {
  switch (scope.kind) {
    case ScopeKind::kAll: return true;
    case ScopeKind::kProject: return t.project == scope.value;
    case ScopeKind::kFeature: return t.feature == scope.value;
    case ScopeKind::kAgent: return t.agent == scope.value;
  }
  return false;
}

struct Budget {
  std::string name;  // unique among a ledger's budgets: "monthly", "project:acme:monthly"
  BudgetPeriod period = BudgetPeriod::kMonthly;
  BudgetScope scope;
  Micros limit;  // > 0
  Thresholds thresholds;
  BudgetAction action = BudgetAction::kWarn;

  // Whether an entry or request with these dimensions counts against this
  // budget. A session budget counts only entries that have a session.
  bool Applies(const BudgetTarget& t) const {
    if (period == BudgetPeriod::kSession && t.session.empty()) return false;
    return ScopeMatches(scope, t);
  }
};

// The default name of a budget: its period for an unscoped budget
// ("monthly"), else "<scope kind>:<value>:<period>" ("project:acme:monthly").
inline std::string DefaultBudgetName(BudgetPeriod period, const BudgetScope& scope) {
  if (scope.kind == ScopeKind::kAll) return std::string(BudgetPeriodName(period));
  return absl::StrCat(scope.ToString(), ":", BudgetPeriodName(period));
}

[[nodiscard]] inline absl::Status ValidateThresholds(const Thresholds& t) {
  if (t.warning_bp <= 0 || t.critical_bp > kBasisPointsPerWhole || t.warning_bp > t.critical_bp) {
    return absl::InvalidArgumentError(absl::StrCat(
        "thresholds must satisfy 0 < warning <= critical <= 100%, not warning ", t.warning_bp,
        " bp and critical ", t.critical_bp, " bp"));
  }
  return absl::OkStatus();
}

[[nodiscard]] inline absl::Status ValidateBudget(const Budget& b) {
  if (b.name.empty()) return absl::InvalidArgumentError("a budget needs a name");
  if (b.limit.value() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("budget \"", b.name, "\": the limit must be positive"));
  }
  if (b.scope.kind != ScopeKind::kAll && b.scope.value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("budget \"", b.name, "\": an empty ", ScopeKindName(b.scope.kind), " scope"));
  }
  absl::Status s = ValidateThresholds(b.thresholds);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("budget \"", b.name, "\": ", s.message()));
  return absl::OkStatus();
}

// Every budget valid, names unique.
[[nodiscard]] inline absl::Status ValidateBudgets(const std::vector<Budget>& budgets) {
  absl::flat_hash_set<absl::string_view> names;
  for (const Budget& b : budgets) {
    absl::Status s = ValidateBudget(b);
    if (!s.ok()) return s;
    if (!names.insert(b.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("two budgets are named \"", b.name, "\""));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Levels and percentages (exact).

// The level of `amount` against `limit` (> 0).
inline BudgetLevel LevelOfAmount(__int128 amount, Micros limit, const Thresholds& t) {
  const __int128 lim = limit.value();
  if (amount > lim) return BudgetLevel::kExceeded;
  const __int128 scaled = amount * kBasisPointsPerWhole;
  if (scaled >= lim * t.critical_bp) return BudgetLevel::kCritical;
  if (scaled >= lim * t.warning_bp) return BudgetLevel::kWarning;
  return BudgetLevel::kOk;
}

inline BudgetLevel LevelOf(Micros spent, Micros limit, const Thresholds& t) {
  return LevelOfAmount(spent.value(), limit, t);
}

// floor(spent × 10000 / limit): 13.82 of 100.00 is 1382 bp. Negative spend
// (refunds) floors towards −∞.
inline int64_t PercentBasisPoints(Micros spent, Micros limit) {
  if (limit.value() <= 0) return 0;
  __int128 num = static_cast<__int128>(spent.value()) * kBasisPointsPerWhole;
  __int128 q = num / limit.value();
  if (num % limit.value() < 0) q -= 1;
  return static_cast<int64_t>(q);
}

// spent / limit as a percentage with `decimals` places (0..6), rounded
// half-even, without the sign: FormatPercent($13.82, $100) == "13.8". For
// display only.
inline std::string FormatPercent(Micros spent, Micros limit, int decimals = 1) {
  if (limit.value() <= 0) return "-";
  if (decimals < 0) decimals = 0;
  if (decimals > 6) decimals = 6;
  __int128 scale = 100;
  for (int k = 0; k < decimals; ++k) scale *= 10;
  const __int128 v = DivRoundHalfEven(static_cast<__int128>(spent.value()) * scale, limit.value());
  const bool negative = v < 0;
  unsigned __int128 m = negative ? static_cast<unsigned __int128>(-v) : static_cast<unsigned __int128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  } while (m != 0);
  while (static_cast<int>(digits.size()) <= decimals) digits.insert(digits.begin(), '0');
  const size_t point = digits.size() - static_cast<size_t>(decimals);
  std::string out = negative ? "-" : "";
  out += digits.substr(0, point);
  if (decimals > 0) {
    out += '.';
    out += digits.substr(point);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Calendar windows (WeekStartOf, DayLabel and MonthLabel are period.h's).

struct BudgetCalendar {
  absl::TimeZone time_zone = absl::UTCTimeZone();
  absl::Weekday week_start = absl::Weekday::monday;
};

// The period of a calendar budget that contains an instant, and how far
// into it the instant is. Projections count in days, except for daily
// budgets, which count in hours (23, 24 or 25 of them on DST days).
struct BudgetWindow {
  absl::Time start = absl::InfinitePast();  // inclusive
  absl::Time end = absl::InfiniteFuture();  // exclusive
  // As period.h labels ranges: "2026-04-10" (daily), "2026-04-06..2026-04-12"
  // (weekly, inclusive dates), "2026-04" (monthly); "session:<id>" (session).
  std::string label;
  int64_t units_in_period = 0;  // days (hours for daily budgets); 0 for sessions
  int64_t units_elapsed = 0;    // the current unit counts as elapsed: 1..units_in_period
  int64_t days_in_period = 0;   // calendar days; 0 for sessions
  int64_t days_elapsed = 0;     // calendar days started so far, today included

  bool Contains(absl::Time t) const { return t >= start && t < end; }
};

// The window of a daily, weekly or monthly budget containing `now`. For a
// session budget: all time, labelled "session:<session>".
inline BudgetWindow WindowFor(BudgetPeriod period, absl::Time now, const BudgetCalendar& cal,
                              absl::string_view session = "") {
  BudgetWindow w;
  if (period == BudgetPeriod::kSession) {
    w.label = absl::StrCat("session:", session);
    return w;
  }
  const absl::CivilDay today = absl::ToCivilDay(now, cal.time_zone);
  absl::CivilDay first = today;
  absl::CivilDay after = today + 1;
  switch (period) {
    case BudgetPeriod::kDaily:
      w.label = DayLabel(today);
      break;
    case BudgetPeriod::kWeekly:
      first = WeekStartOf(today, cal.week_start);
      after = first + 7;
      w.label = absl::StrCat(DayLabel(first), "..", DayLabel(after - 1));
      break;
    case BudgetPeriod::kMonthly: {
      const absl::CivilMonth month(today);
      first = absl::CivilDay(month);
      after = absl::CivilDay(month + 1);
      w.label = MonthLabel(month);
      break;
    }
    case BudgetPeriod::kSession: break;
  }
  w.start = absl::FromCivil(first, cal.time_zone);
  w.end = absl::FromCivil(after, cal.time_zone);
  w.days_in_period = after - first;
  w.days_elapsed = today - first + 1;
  if (period == BudgetPeriod::kDaily) {
    w.units_in_period = (w.end - w.start) / absl::Hours(1);
    w.units_elapsed = (now - w.start) / absl::Hours(1) + 1;
    if (w.units_in_period < 1) w.units_in_period = 1;
    if (w.units_elapsed > w.units_in_period) w.units_elapsed = w.units_in_period;
    if (w.units_elapsed < 1) w.units_elapsed = 1;
  } else {
    w.units_in_period = w.days_in_period;
    w.units_elapsed = w.days_elapsed;
  }
  return w;
}

// ---------------------------------------------------------------------------
// Status.

struct BudgetStatus {
  Budget budget;
  BudgetWindow window;
  Micros spent;
  Micros remaining;        // limit − spent; negative once exceeded
  int64_t percent_bp = 0;  // floor(spent × 10000 / limit)
  BudgetLevel level = BudgetLevel::kOk;
  // Spend at the end of the period if the average per elapsed unit so far
  // holds: round_half_even(spent × units_in_period / units_elapsed). For a
  // monthly budget this is the month-end projection. Absent for sessions.
  std::optional<Micros> projected;
  // At the daily average so far, whole days until the limit is reached:
  // floor((limit − spent) × days_elapsed / spent); 0 once reached; absent
  // when nothing is spent yet (never, at this rate), and for daily and
  // session budgets.
  std::optional<int64_t> days_until_exhausted;
  Recommendation recommendation = Recommendation::kStayTheCourse;

  absl::string_view color() const { return BudgetLevelColor(level); }
};

// The recommendation, by these rules in order:
//   1. spent > limit                                   → increase the budget
//   2. projected > limit (session: level ≥ critical)   → reduce usage
//   3. at least half the period elapsed
//      (units_elapsed × 2 ≥ units_in_period) and
//      projected × 2 < limit                           → larger than needed
//   4. otherwise                                       → stay the course
inline Recommendation Recommend(const Budget& b, Micros spent, const std::optional<Micros>& projected,
                                const BudgetWindow& w) {
  if (spent > b.limit) return Recommendation::kIncreaseBudget;
  if (!projected.has_value()) {
    return LevelOf(spent, b.limit, b.thresholds) >= BudgetLevel::kCritical ? Recommendation::kReduceUsage
                                                                           : Recommendation::kStayTheCourse;
  }
  if (*projected > b.limit) return Recommendation::kReduceUsage;
  if (w.units_elapsed * 2 >= w.units_in_period &&
      static_cast<__int128>(projected->value()) * 2 < b.limit.value()) {
    return Recommendation::kBudgetTooLarge;
  }
  return Recommendation::kStayTheCourse;
}

// The status of `budget` with `spent` in `window` (from WindowFor at `now`).
inline BudgetStatus ComputeBudgetStatus(const Budget& budget, Micros spent, BudgetWindow window) {
  BudgetStatus s;
  s.budget = budget;
  s.spent = spent;
  s.remaining = Micros(budget.limit.value() - spent.value());
  s.percent_bp = PercentBasisPoints(spent, budget.limit);
  s.level = LevelOf(spent, budget.limit, budget.thresholds);
  if (budget.period != BudgetPeriod::kSession && window.units_elapsed > 0) {
    const __int128 p = DivRoundHalfEven(static_cast<__int128>(spent.value()) * window.units_in_period,
                                        window.units_elapsed);
    s.projected = Micros(static_cast<int64_t>(p));
  }
  if (budget.period == BudgetPeriod::kWeekly || budget.period == BudgetPeriod::kMonthly) {
    if (spent >= budget.limit) {
      s.days_until_exhausted = 0;
    } else if (spent.value() > 0) {
      s.days_until_exhausted = static_cast<int64_t>(
          static_cast<__int128>(budget.limit.value() - spent.value()) * window.days_elapsed / spent.value());
    }
  }
  s.recommendation = Recommend(budget, spent, s.projected, window);
  s.window = std::move(window);
  return s;
}

// Convenience: the window at `now`, then the status.
inline BudgetStatus StatusAt(const Budget& budget, Micros spent, absl::Time now, const BudgetCalendar& cal,
                             absl::string_view session = "") {
  return ComputeBudgetStatus(budget, spent, WindowFor(budget.period, now, cal, session));
}

// ---------------------------------------------------------------------------
// Stage suggestions, for ledgers without any budget.

enum class Stage {
  kIdea,    // $25–50 a month
  kMvp,     // $50–200
  kGrowth,  // $200–1000
  kScale,   // $1000 and more
};

inline absl::string_view StageName(Stage s) {
  switch (s) {
    case Stage::kIdea: return "idea";
    case Stage::kMvp: return "mvp";
    case Stage::kGrowth: return "growth";
    case Stage::kScale: return "scale";
  }
  return "?";
}

inline std::optional<Stage> ParseStage(absl::string_view s) {
  if (s == "idea") return Stage::kIdea;
  if (s == "mvp") return Stage::kMvp;
  if (s == "growth") return Stage::kGrowth;
  if (s == "scale") return Stage::kScale;
  return std::nullopt;
}

// A monthly budget range; `max` is absent for the open-ended top stage.
struct BudgetRange {
  Micros min;
  std::optional<Micros> max;
};

inline BudgetRange StageMonthlyRange(Stage s) {
  constexpr int64_t d = kMicrosPerDollar;
  switch (s) {
    case Stage::kIdea: return {Micros(25 * d), Micros(50 * d)};
    case Stage::kMvp: return {Micros(50 * d), Micros(200 * d)};
    case Stage::kGrowth: return {Micros(200 * d), Micros(1000 * d)};
    case Stage::kScale: return {Micros(1000 * d), std::nullopt};
  }
  return {};
}

// The stage whose range holds a monthly spend: below $50 idea, below $200
// mvp, below $1000 growth, else scale.
inline Stage StageForMonthlySpend(Micros monthly) {
  constexpr int64_t d = kMicrosPerDollar;
  if (monthly.value() < 50 * d) return Stage::kIdea;
  if (monthly.value() < 200 * d) return Stage::kMvp;
  if (monthly.value() < 1000 * d) return Stage::kGrowth;
  return Stage::kScale;
}

struct BudgetSuggestion {
  Stage stage = Stage::kIdea;
  bool stage_inferred = false;  // from the projected spend, not configured
  BudgetRange range;
  // A monthly limit to start from: the projected monthly spend plus a
  // quarter, rounded up to whole dollars, then clamped into the range.
  Micros monthly_limit;
};

// What to suggest when no budget is set: the configured stage's range, or
// (no stage) the range of the stage the projected monthly spend falls in.
inline BudgetSuggestion SuggestBudget(std::optional<Stage> stage, Micros projected_monthly) {
  BudgetSuggestion out;
  out.stage_inferred = !stage.has_value();
  out.stage = stage.has_value() ? *stage : StageForMonthlySpend(projected_monthly);
  out.range = StageMonthlyRange(out.stage);
  __int128 want = static_cast<__int128>(projected_monthly.value() < 0 ? 0 : projected_monthly.value()) * 5;
  want = (want + 3) / 4;  // ceil(× 5/4)
  want = (want + kMicrosPerDollar - 1) / kMicrosPerDollar * kMicrosPerDollar;
  if (want < out.range.min.value()) want = out.range.min.value();
  if (out.range.max.has_value() && want > out.range.max->value()) want = out.range.max->value();
  out.monthly_limit = Micros(static_cast<int64_t>(want));
  return out;
}

// ---------------------------------------------------------------------------
// Admission.

struct BudgetDecision {
  Verdict verdict = Verdict::kAllow;
  BudgetLevel level_after = BudgetLevel::kOk;  // with the request's estimate held
};

// The verdict of one budget on a request of `estimate` (≥ 0; negative counts
// as 0), given what is committed (`spent`) and held by reservations.
inline BudgetDecision DecideBudget(const Budget& b, Micros spent, Micros reserved, Micros estimate) {
  const __int128 est = estimate.value() > 0 ? estimate.value() : 0;
  const __int128 held = static_cast<__int128>(spent.value()) + reserved.value();
  BudgetDecision d;
  d.level_after = LevelOfAmount(held + est, b.limit, b.thresholds);
  const Verdict soft = d.level_after >= BudgetLevel::kWarning ? Verdict::kWarn : Verdict::kAllow;
  switch (b.action) {
    case BudgetAction::kWarn: d.verdict = soft; break;
    case BudgetAction::kPause: d.verdict = held >= b.limit.value() ? Verdict::kDeny : soft; break;
    case BudgetAction::kBlock: d.verdict = held + est > b.limit.value() ? Verdict::kDeny : soft; break;
  }
  return d;
}

struct AdmissionRequest {
  Micros estimate;     // e.g. from CostOf() on the expected tokens; ≥ 0
  BudgetTarget target;  // session, project, feature, agent of the request
  absl::Time now;
};

// The outcome of a check: the most severe verdict over the budgets that
// apply, and the figures of the budget that gave it (the first such budget,
// in configuration order, preferring the one left at the higher level).
struct AdmissionDecision {
  Verdict verdict = Verdict::kAllow;
  int budget = -1;  // index into the budgets; -1 when no budget applies
  BudgetLevel level_after = BudgetLevel::kOk;
  Micros spent;     // that budget's committed spend in its current period
  Micros reserved;  // held by outstanding reservations
  Micros limit;
  Micros estimate;

  bool allowed() const { return verdict != Verdict::kDeny; }
};

// Folds one budget's decision into the overall one.
inline void MergeDecision(AdmissionDecision* out, int index, const Budget& b, const BudgetDecision& d,
                          Micros spent, Micros reserved) {
  if (out->budget >= 0 &&
      (d.verdict < out->verdict || (d.verdict == out->verdict && d.level_after <= out->level_after))) {
    return;
  }
  out->verdict = d.verdict;
  out->budget = index;
  out->level_after = d.level_after;
  out->spent = spent;
  out->reserved = reserved;
  out->limit = b.limit;
}

// 0 is never a valid id.
using ReservationId = uint64_t;

struct Reservation {
  ReservationId id = 0;  // 0 when denied (nothing is held)
  AdmissionDecision decision;
  bool ok() const { return id != 0; }
};

// Committed and reserved amounts of one budget.
struct BudgetUsage {
  Micros spent;
  Micros reserved;
};

// In-memory admission: running totals per budget (per session for session
// budgets) in the current period, and reservations. Thread-safe: every
// method may be called from any thread at once. One mutex guards a small
// state; Check() allocates nothing, and Reserve() allocates only when it
// meets a new session or more reservations are outstanding than ever before.
//
// Periods roll lazily: a call whose `now` lies past a budget's period end
// starts the new period with nothing spent (reservations still held stay
// held: their cost lands in the period in which they are committed).
class AdmissionController {
 public:
  // `budgets` must be valid (ValidateBudgets); `now` fixes the first periods.
  AdmissionController(std::vector<Budget> budgets, BudgetCalendar calendar, absl::Time now)
      : budgets_(std::move(budgets)), calendar_(calendar) {
    states_.resize(budgets_.size());
    for (size_t i = 0; i < budgets_.size(); ++i) {
      if (budgets_[i].period != BudgetPeriod::kSession) {
        const BudgetWindow w = WindowFor(budgets_[i].period, now, calendar_);
        states_[i].start = w.start;
        states_[i].end = w.end;
      }
    }
  }

  AdmissionController(const AdmissionController&) = delete;
  AdmissionController& operator=(const AdmissionController&) = delete;

  const std::vector<Budget>& budgets() const { return budgets_; }
  const BudgetCalendar& calendar() const { return calendar_; }

  // Adds spend made outside the controller (seeding from a ledger, entries
  // logged without a reservation): counted by every budget that applies and
  // whose current period contains `at`. A later period than the current one
  // starts it; an earlier one is ignored.
  absl::Status Record(const BudgetTarget& target, absl::Time at, Micros cost) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < budgets_.size(); ++i) {
      const Budget& b = budgets_[i];
      if (!b.Applies(target)) continue;
      State& st = states_[i];
      Totals* t;
      if (b.period == BudgetPeriod::kSession) {
        t = SessionTotals(st, target.session);
      } else {
        Roll(i, at);
        if (at < st.start || at >= st.end) continue;
        t = &st.totals;
      }
      if (!CheckedAdd(&t->spent, cost)) {
        return absl::OutOfRangeError(absl::StrCat("budget \"", b.name, "\": spend overflows"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Record(const Entry& e) { return Record(TargetOf(e), e.timestamp, e.cost); }

  // Sets the committed spend of budget `index` in its period at `now` (for
  // a session budget: of `session`), e.g. from a ledger's running totals.
  void SetSpent(size_t index, Micros spent, absl::Time now, absl::string_view session = "") {
    std::lock_guard<std::mutex> lock(mu_);
    if (index >= budgets_.size()) return;
    State& st = states_[index];
    if (budgets_[index].period == BudgetPeriod::kSession) {
      SessionTotals(st, session)->spent = spent;
    } else {
      Roll(index, now);
      st.totals.spent = spent;
    }
  }

  // The verdict, without holding anything.
  AdmissionDecision Check(const AdmissionRequest& req) const {
    std::lock_guard<std::mutex> lock(mu_);
    return CheckLocked(req);
  }

  // The verdict and, unless denied, a reservation of the estimate on every
  // budget that applies, taken atomically with the check.
  Reservation Reserve(const AdmissionRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    Reservation out;
    out.decision = CheckLocked(req);
    if (!out.decision.allowed()) return out;
    const Micros est(req.estimate.value() > 0 ? req.estimate.value() : 0);
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& slot = slots_[index];
    slot.live = true;
    slot.amount = est;
    slot.charged.clear();
    for (size_t i = 0; i < budgets_.size(); ++i) {
      const Budget& b = budgets_[i];
      if (!b.Applies(req.target)) continue;
      State& st = states_[i];
      Totals* t;
      if (b.period == BudgetPeriod::kSession) {
        t = SessionTotals(st, req.target.session);
      } else {
        Roll(i, req.now);
        t = &st.totals;
      }
      t->reserved = Micros(t->reserved.value() + est.value());
      slot.charged.push_back(Charge{i, t});
    }
    ++outstanding_;
    out.id = (static_cast<uint64_t>(slot.generation) << 32) | index;
    return out;
  }

  // Turns a reservation into spend of `actual` (≥ 0; it may differ from the
  // estimate), counted in the period current at `now`. NotFound for an
  // unknown, committed or released id.
  absl::Status Commit(ReservationId id, Micros actual, absl::Time now) {
    if (actual.value() < 0) return absl::InvalidArgumentError("a negative actual cost");
    std::lock_guard<std::mutex> lock(mu_);
    Slot* slot = Find(id);
    if (slot == nullptr) return UnknownReservation(id);
    absl::Status status = absl::OkStatus();
    for (const Charge& c : slot->charged) {
      if (budgets_[c.budget].period != BudgetPeriod::kSession) Roll(c.budget, now);
      c.totals->reserved = Micros(c.totals->reserved.value() - slot->amount.value());
      if (!CheckedAdd(&c.totals->spent, actual)) {
        status = absl::OutOfRangeError(absl::StrCat("budget \"", budgets_[c.budget].name, "\": spend overflows"));
      }
    }
    Free(id);
    return status;
  }

  // Drops a reservation without spending. NotFound for an unknown,
  // committed or released id.
  absl::Status Release(ReservationId id) {
    std::lock_guard<std::mutex> lock(mu_);
    Slot* slot = Find(id);
    if (slot == nullptr) return UnknownReservation(id);
    for (const Charge& c : slot->charged) {
      c.totals->reserved = Micros(c.totals->reserved.value() - slot->amount.value());
    }
    Free(id);
    return absl::OkStatus();
  }

  // Committed and reserved amounts of budget `index` in its period at `now`
  // (for a session budget: of `session`).
  BudgetUsage Usage(size_t index, absl::Time now, absl::string_view session = "") const {
    std::lock_guard<std::mutex> lock(mu_);
    if (index >= budgets_.size()) return {};
    const Totals t = Current(index, now, session);
    return {t.spent, t.reserved};
  }

  // The status of budget `index` at `now` (committed spend only).
  BudgetStatus Status(size_t index, absl::Time now, absl::string_view session = "") const {
    const BudgetUsage u = Usage(index, now, session);
    return StatusAt(budgets_[index], u.spent, now, calendar_, session);
  }

  size_t outstanding() const {
    std::lock_guard<std::mutex> lock(mu_);
    return outstanding_;
  }

 private:
  struct Totals {
    Micros spent;
    Micros reserved;
  };
  struct State {
    absl::Time start = absl::InfinitePast();
    absl::Time end = absl::InfiniteFuture();
    Totals totals;  // calendar budgets
    absl::flat_hash_map<std::string, std::unique_ptr<Totals>> sessions;  // session budgets
  };
  struct Charge {
    size_t budget;
    Totals* totals;  // stable: a State member or a session's own allocation
  };
  struct Slot {
    uint32_t generation = 1;
    bool live = false;
    Micros amount;
    std::vector<Charge> charged;  // capacity kept across reuse
  };

  // Totals of budget `index` as they stand at `now`, without rolling.
  Totals Current(size_t index, absl::Time now, absl::string_view session) const
      {
    const State& st = states_[index];
    if (budgets_[index].period == BudgetPeriod::kSession) {
      auto it = st.sessions.find(session);
      return it == st.sessions.end() ? Totals{} : *it->second;
    }
    Totals t = st.totals;
    if (now >= st.end) t.spent = Micros(0);  // a new period has begun
    return t;
  }

  AdmissionDecision CheckLocked(const AdmissionRequest& req) const {
    AdmissionDecision out;
    out.estimate = req.estimate;
    for (size_t i = 0; i < budgets_.size(); ++i) {
      const Budget& b = budgets_[i];
      if (!b.Applies(req.target)) continue;
      const Totals t = Current(i, req.now, req.target.session);
      MergeDecision(&out, static_cast<int>(i), b, DecideBudget(b, t.spent, t.reserved, req.estimate), t.spent,
                    t.reserved);
    }
    return out;
  }

  void Roll(size_t index, absl::Time now) {
    State& st = states_[index];
    if (now < st.end) return;
    const BudgetWindow w = WindowFor(budgets_[index].period, now, calendar_);
    st.start = w.start;
    st.end = w.end;
    st.totals.spent = Micros(0);
  }

  Totals* SessionTotals(State& st, absl::string_view session) {
    auto it = st.sessions.find(session);
    if (it != st.sessions.end()) return it->second.get();
    return st.sessions.emplace(std::string(session), std::make_unique<Totals>()).first->second.get();
  }

  Slot* Find(ReservationId id) {
    const uint64_t index = id & 0xffffffffu;
    const uint32_t generation = static_cast<uint32_t>(id >> 32);
    if (index >= slots_.size()) return nullptr;
    Slot& s = slots_[index];
    if (!s.live || s.generation != generation) return nullptr;
    return &s;
  }

  void Free(ReservationId id) {
    const uint32_t index = static_cast<uint32_t>(id & 0xffffffffu);
    Slot& s = slots_[index];
    s.live = false;
    s.charged.clear();
    if (++s.generation == 0) s.generation = 1;  // keep ids non-zero
    free_.push_back(index);
    --outstanding_;
  }

  static absl::Status UnknownReservation(ReservationId id) {
    return absl::NotFoundError(absl::StrCat("no outstanding reservation ", id));
  }

  const std::vector<Budget> budgets_;
  const BudgetCalendar calendar_;
  // std::mutex, not absl::Mutex: Debian's Abseil is built without
  // ThreadSanitizer annotations, so TSan would not see absl::Mutex's
  // ordering and would report false races. Everything below is guarded by it.
  mutable std::mutex mu_;
  std::vector<State> states_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  size_t outstanding_ = 0;
};

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_BUDGET_H_
