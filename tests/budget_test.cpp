// Unit tests for include/tokenbook/budget.h: levels at each threshold,
// exact percentages, calendar windows, projections, recommendations, stage
// suggestions, admission verdicts and the thread-safe AdmissionController.
#include "tokenbook/budget.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;

Micros Usd(int64_t dollars, int64_t micros = 0) { return Micros(dollars * kDollar + micros); }

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}

Budget MakeBudget(BudgetPeriod period, Micros limit, BudgetAction action = BudgetAction::kWarn,
                  BudgetScope scope = {}) {
  Budget b;
  b.period = period;
  b.scope = std::move(scope);
  b.limit = limit;
  b.action = action;
  b.name = DefaultBudgetName(period, b.scope);
  return b;
}

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  REQUIRE_MESSAGE(absl::LoadTimeZone(name, &tz), name);
  return tz;
}

TEST_CASE("Budget levels at each threshold") {
  const Thresholds t;  // 80% and 95%
  const Micros limit = Usd(100);
  CHECK(LevelOf(Micros(0), limit, t) == BudgetLevel::kOk);
  CHECK(LevelOf(Usd(79, 999'999), limit, t) == BudgetLevel::kOk);
  CHECK(LevelOf(Usd(80), limit, t) == BudgetLevel::kWarning);  // exactly 80%
  CHECK(LevelOf(Usd(94, 999'999), limit, t) == BudgetLevel::kWarning);
  CHECK(LevelOf(Usd(95), limit, t) == BudgetLevel::kCritical);  // exactly 95%
  CHECK(LevelOf(Usd(100), limit, t) == BudgetLevel::kCritical);  // at the limit, not above
  CHECK(LevelOf(Usd(100, 1), limit, t) == BudgetLevel::kExceeded);

  // A limit that 80% does not divide evenly: 80% of 7 µ$ is 5.6 µ$.
  CHECK(LevelOf(Micros(5), Micros(7), t) == BudgetLevel::kOk);
  CHECK(LevelOf(Micros(6), Micros(7), t) == BudgetLevel::kWarning);
  CHECK(LevelOf(Micros(7), Micros(7), t) == BudgetLevel::kCritical);

  CHECK(BudgetLevelName(BudgetLevel::kWarning) == "warning");
  CHECK(BudgetLevelColor(BudgetLevel::kOk) == "green");
  CHECK(BudgetLevelColor(BudgetLevel::kWarning) == "yellow");
  CHECK(BudgetLevelColor(BudgetLevel::kCritical) == "red");
  CHECK(BudgetLevelColor(BudgetLevel::kExceeded) == "red");

  const Thresholds custom{5'000, 7'500};
  CHECK(LevelOf(Usd(49, 999'999), limit, custom) == BudgetLevel::kOk);
  CHECK(LevelOf(Usd(50), limit, custom) == BudgetLevel::kWarning);
  CHECK(LevelOf(Usd(75), limit, custom) == BudgetLevel::kCritical);
}

TEST_CASE("Budget percent is exact and displays half-even") {
  CHECK(PercentBasisPoints(Usd(13, 820'000), Usd(100)) == 1382);
  CHECK(PercentBasisPoints(Usd(79, 999'999), Usd(100)) == 7999);  // floor, never 80%
  CHECK(PercentBasisPoints(Usd(150), Usd(100)) == 15000);
  CHECK(PercentBasisPoints(Micros(-1), Usd(100)) == -1);
  CHECK(FormatPercent(Usd(13, 820'000), Usd(100)) == "13.8");
  CHECK(FormatPercent(Usd(13, 850'000), Usd(100)) == "13.8");  // 13.85 -> even
  CHECK(FormatPercent(Usd(13, 750'000), Usd(100)) == "13.8");  // 13.75 -> even
  CHECK(FormatPercent(Micros(15), Micros(10'000)) == "0.2");  // 0.15 -> 0.2
  CHECK(FormatPercent(Micros(25), Micros(10'000)) == "0.2");  // 0.25 -> 0.2
  CHECK(FormatPercent(Usd(1), Usd(3), 2) == "33.33");
  CHECK(FormatPercent(Usd(2), Usd(3), 0) == "67");
  CHECK(FormatPercent(Usd(250), Usd(100)) == "250.0");
}

TEST_CASE("Budget windows for days, weeks and months") {
  const BudgetCalendar utc;
  const absl::Time now = Utc(2026, 4, 10, 12);  // a Friday

  BudgetWindow month = WindowFor(BudgetPeriod::kMonthly, now, utc);
  CHECK(month.label == "2026-04");
  CHECK(month.start == Utc(2026, 4, 1));
  CHECK(month.end == Utc(2026, 5, 1));
  CHECK(month.days_in_period == 30);
  CHECK(month.days_elapsed == 10);
  CHECK(month.units_in_period == 30);
  CHECK(month.units_elapsed == 10);

  BudgetWindow week = WindowFor(BudgetPeriod::kWeekly, now, utc);
  CHECK(week.label == "2026-04-06..2026-04-12");
  CHECK(week.start == Utc(2026, 4, 6));
  CHECK(week.end == Utc(2026, 4, 13));
  CHECK(week.days_elapsed == 5);

  BudgetCalendar sunday;
  sunday.week_start = absl::Weekday::sunday;
  week = WindowFor(BudgetPeriod::kWeekly, now, sunday);
  CHECK(week.label == "2026-04-05..2026-04-11");
  CHECK(week.days_elapsed == 6);

  BudgetWindow day = WindowFor(BudgetPeriod::kDaily, now, utc);
  CHECK(day.label == "2026-04-10");
  CHECK(day.units_in_period == 24);
  CHECK(day.units_elapsed == 13);  // 12:00 is in the 13th hour

  BudgetWindow session = WindowFor(BudgetPeriod::kSession, now, utc, "s-42");
  CHECK(session.label == "session:s-42");
  CHECK(session.Contains(Utc(1999, 1, 1)));

  // Months and days follow the configured zone, including a 23-hour DST day.
  BudgetCalendar berlin;
  berlin.time_zone = Zone("Europe/Berlin");
  month = WindowFor(BudgetPeriod::kMonthly, Utc(2026, 3, 31, 22, 30), berlin);  // 00:30 on 1 April
  CHECK(month.label == "2026-04");
  CHECK(month.start == Utc(2026, 3, 31, 22));
  day = WindowFor(BudgetPeriod::kDaily, Utc(2026, 3, 29, 12), berlin);
  CHECK(day.label == "2026-03-29");
  CHECK(day.units_in_period == 23);
  CHECK(day.start == Utc(2026, 3, 28, 23));
  CHECK(day.end == Utc(2026, 3, 29, 22));
}

TEST_CASE("Budget status projection and days until exhausted") {
  const BudgetCalendar utc;
  const Budget monthly = MakeBudget(BudgetPeriod::kMonthly, Usd(100));
  const absl::Time now = Utc(2026, 4, 10, 12);  // day 10 of 30

  BudgetStatus s = StatusAt(monthly, Usd(40), now, utc);
  CHECK(s.spent == Usd(40));
  CHECK(s.remaining == Usd(60));
  CHECK(s.percent_bp == 4000);
  CHECK(s.level == BudgetLevel::kOk);
  CHECK(s.color() == "green");
  REQUIRE(s.projected.has_value());
  CHECK(*s.projected == Usd(120));  // $4.00 a day × 30 days
  REQUIRE(s.days_until_exhausted.has_value());
  CHECK(*s.days_until_exhausted == 15);  // $60 left at $4.00 a day
  CHECK(s.recommendation == Recommendation::kReduceUsage);

  // Projection rounds half-even to the micro-dollar; days floor.
  const absl::Time day4 = Utc(2026, 4, 4, 1);
  CHECK(*StatusAt(monthly, Micros(1), day4, utc).projected == Micros(8));   // 7.5 -> 8
  CHECK(*StatusAt(monthly, Micros(3), day4, utc).projected == Micros(22));  // 22.5 -> 22
  CHECK(*StatusAt(monthly, Micros(5), day4, utc).projected == Micros(38));  // 37.5 -> 38
  const absl::Time day7 = Utc(2026, 4, 7, 23, 59);
  s = StatusAt(monthly, Usd(30), day7, utc);
  CHECK(*s.projected == Micros(128'571'429));  // 30 × 30 / 7 = 128.5714285...
  CHECK(*s.days_until_exhausted == 16);        // 70 × 7 / 30 = 16.33
  CHECK(*StatusAt(monthly, Usd(10, 1), day7, utc).projected == Micros(42'857'147));

  // Nothing spent: no exhaustion date; at or over the limit: 0 days.
  s = StatusAt(monthly, Micros(0), now, utc);
  CHECK(*s.projected == Micros(0));
  CHECK_FALSE(s.days_until_exhausted.has_value());
  CHECK(*StatusAt(monthly, Usd(100), now, utc).days_until_exhausted == 0);
  CHECK(*StatusAt(monthly, Usd(130), now, utc).days_until_exhausted == 0);

  // Daily budgets project by the hour; no days-until-exhausted.
  const Budget daily = MakeBudget(BudgetPeriod::kDaily, Usd(10));
  s = StatusAt(daily, Usd(1, 400'000), Utc(2026, 4, 10, 6, 30), utc);  // 7th hour of 24
  CHECK(*s.projected == Usd(4, 800'000));
  CHECK_FALSE(s.days_until_exhausted.has_value());

  // Sessions have neither.
  const Budget session = MakeBudget(BudgetPeriod::kSession, Usd(5));
  s = StatusAt(session, Usd(4, 500'000), now, utc, "s1");
  CHECK_FALSE(s.projected.has_value());
  CHECK_FALSE(s.days_until_exhausted.has_value());
  CHECK(s.level == BudgetLevel::kWarning);
  CHECK(s.window.label == "session:s1");
}

TEST_CASE("Budget status at each level") {
  const BudgetCalendar utc;
  const Budget monthly = MakeBudget(BudgetPeriod::kMonthly, Usd(100));
  const absl::Time now = Utc(2026, 4, 29, 12);
  CHECK(StatusAt(monthly, Usd(79), now, utc).level == BudgetLevel::kOk);
  CHECK(StatusAt(monthly, Usd(80), now, utc).level == BudgetLevel::kWarning);
  CHECK(StatusAt(monthly, Usd(80), now, utc).color() == "yellow");
  CHECK(StatusAt(monthly, Usd(95), now, utc).level == BudgetLevel::kCritical);
  CHECK(StatusAt(monthly, Usd(95), now, utc).color() == "red");
  BudgetStatus over = StatusAt(monthly, Usd(100, 1), now, utc);
  CHECK(over.level == BudgetLevel::kExceeded);
  CHECK(over.remaining == Micros(-1));
  CHECK(over.percent_bp == 10000);
}

TEST_CASE("Budget recommendations") {
  const BudgetCalendar utc;
  const Budget monthly = MakeBudget(BudgetPeriod::kMonthly, Usd(100));
  // Over the limit mid-month.
  CHECK(StatusAt(monthly, Usd(101), Utc(2026, 4, 20), utc).recommendation == Recommendation::kIncreaseBudget);
  // On track to exceed: $40 by day 10 projects to $120.
  CHECK(StatusAt(monthly, Usd(40), Utc(2026, 4, 10), utc).recommendation == Recommendation::kReduceUsage);
  // Little spent, but too early to say the budget is too large.
  CHECK(StatusAt(monthly, Usd(13, 820'000), Utc(2026, 4, 10), utc).recommendation ==
        Recommendation::kStayTheCourse);
  // Half the month gone, projecting $20.73 of $100.
  BudgetStatus s = StatusAt(monthly, Usd(13, 820'000), Utc(2026, 4, 20), utc);
  CHECK(*s.projected == Usd(20, 730'000));
  CHECK(s.recommendation == Recommendation::kBudgetTooLarge);
  // Exactly half projected is not "less than half".
  CHECK(StatusAt(monthly, Usd(25), Utc(2026, 4, 15), utc).recommendation == Recommendation::kStayTheCourse);
  CHECK(StatusAt(monthly, Usd(24), Utc(2026, 4, 15), utc).recommendation == Recommendation::kBudgetTooLarge);
  // On track: $60 by day 20 projects to $90.
  CHECK(StatusAt(monthly, Usd(60), Utc(2026, 4, 20), utc).recommendation == Recommendation::kStayTheCourse);
  // Projecting exactly the limit is on track.
  CHECK(StatusAt(monthly, Usd(50), Utc(2026, 4, 15), utc).recommendation == Recommendation::kStayTheCourse);
  // Sessions: by level.
  const Budget session = MakeBudget(BudgetPeriod::kSession, Usd(10));
  CHECK(StatusAt(session, Usd(9), Utc(2026, 4, 1), utc, "s").recommendation == Recommendation::kStayTheCourse);
  CHECK(StatusAt(session, Usd(9, 500'000), Utc(2026, 4, 1), utc, "s").recommendation ==
        Recommendation::kReduceUsage);
  CHECK(StatusAt(session, Usd(11), Utc(2026, 4, 1), utc, "s").recommendation ==
        Recommendation::kIncreaseBudget);
  CHECK(RecommendationName(Recommendation::kBudgetTooLarge) == "budget_too_large");
}

TEST_CASE("Budget stage suggestions") {
  CHECK(StageMonthlyRange(Stage::kIdea).min == Usd(25));
  CHECK(*StageMonthlyRange(Stage::kIdea).max == Usd(50));
  CHECK(StageMonthlyRange(Stage::kMvp).min == Usd(50));
  CHECK(*StageMonthlyRange(Stage::kMvp).max == Usd(200));
  CHECK(StageMonthlyRange(Stage::kGrowth).min == Usd(200));
  CHECK(*StageMonthlyRange(Stage::kGrowth).max == Usd(1000));
  CHECK(StageMonthlyRange(Stage::kScale).min == Usd(1000));
  CHECK_FALSE(StageMonthlyRange(Stage::kScale).max.has_value());

  CHECK(StageForMonthlySpend(Usd(49, 999'999)) == Stage::kIdea);
  CHECK(StageForMonthlySpend(Usd(50)) == Stage::kMvp);
  CHECK(StageForMonthlySpend(Usd(999)) == Stage::kGrowth);
  CHECK(StageForMonthlySpend(Usd(1000)) == Stage::kScale);

  BudgetSuggestion s = SuggestBudget(std::nullopt, Usd(30));
  CHECK(s.stage == Stage::kIdea);
  CHECK(s.stage_inferred);
  CHECK(s.monthly_limit == Usd(38));  // 30 × 5/4 = 37.5, up to whole dollars
  s = SuggestBudget(Stage::kMvp, Micros(0));
  CHECK(s.stage == Stage::kMvp);
  CHECK_FALSE(s.stage_inferred);
  CHECK(s.monthly_limit == Usd(50));  // clamped up to the range
  s = SuggestBudget(Stage::kIdea, Usd(100));
  CHECK(s.monthly_limit == Usd(50));  // clamped down to the range
  s = SuggestBudget(std::nullopt, Usd(2000));
  CHECK(s.stage == Stage::kScale);
  CHECK(s.monthly_limit == Usd(2500));
  CHECK(ParseStage("growth") == Stage::kGrowth);
  CHECK_FALSE(ParseStage("Growth").has_value());
}

TEST_CASE("Budget validation and scopes") {
  Budget b = MakeBudget(BudgetPeriod::kMonthly, Usd(10));
  CHECK(ValidateBudget(b).ok());
  b.limit = Micros(0);
  CHECK(ValidateBudget(b).code() == absl::StatusCode::kInvalidArgument);
  b.limit = Usd(10);
  b.thresholds = {9'000, 8'000};
  CHECK_FALSE(ValidateBudget(b).ok());
  b.thresholds = {0, 8'000};
  CHECK_FALSE(ValidateBudget(b).ok());
  b.thresholds = {8'000, 10'001};
  CHECK_FALSE(ValidateBudget(b).ok());
  b.thresholds = {10'000, 10'000};
  CHECK(ValidateBudget(b).ok());
  b.scope = {ScopeKind::kProject, ""};
  CHECK_FALSE(ValidateBudget(b).ok());

  const Budget project = MakeBudget(BudgetPeriod::kMonthly, Usd(10), BudgetAction::kWarn,
                                    {ScopeKind::kProject, "acme"});
  CHECK(project.name == "project:acme:monthly");
  CHECK(project.Applies(BudgetTarget{"", "acme", "", ""}));
  CHECK_FALSE(project.Applies(BudgetTarget{"", "other", "", ""}));
  const Budget agent = MakeBudget(BudgetPeriod::kDaily, Usd(10), BudgetAction::kWarn, {ScopeKind::kAgent, "planner"});
  CHECK(agent.Applies(BudgetTarget{"", "", "", "planner"}));
  CHECK_FALSE(agent.Applies(BudgetTarget{"", "planner", "", ""}));
  const Budget session = MakeBudget(BudgetPeriod::kSession, Usd(10));
  CHECK_FALSE(session.Applies(BudgetTarget{}));
  CHECK(session.Applies(BudgetTarget{"s1", "", "", ""}));

  std::vector<Budget> two = {MakeBudget(BudgetPeriod::kDaily, Usd(1)), MakeBudget(BudgetPeriod::kDaily, Usd(2))};
  CHECK(ValidateBudgets(two).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Admission verdicts by action") {
  const Budget warn = MakeBudget(BudgetPeriod::kMonthly, Usd(100), BudgetAction::kWarn);
  const Budget pause = MakeBudget(BudgetPeriod::kMonthly, Usd(100), BudgetAction::kPause);
  const Budget block = MakeBudget(BudgetPeriod::kMonthly, Usd(100), BudgetAction::kBlock);

  // Below the warning threshold after the request: allow.
  for (const Budget* b : {&warn, &pause, &block}) {
    BudgetDecision d = DecideBudget(*b, Usd(70), Usd(0), Usd(9, 999'999));
    CHECK(d.verdict == Verdict::kAllow);
    CHECK(d.level_after == BudgetLevel::kOk);
    d = DecideBudget(*b, Usd(70), Usd(0), Usd(10));  // reaches exactly 80%
    CHECK(d.verdict == Verdict::kWarn);
    CHECK(d.level_after == BudgetLevel::kWarning);
  }
  // Reserved amounts count like spend.
  CHECK(DecideBudget(block, Usd(50), Usd(30), Usd(0)).verdict == Verdict::kWarn);

  // Over the limit after the request.
  CHECK(DecideBudget(warn, Usd(99), Usd(0), Usd(5)).verdict == Verdict::kWarn);
  CHECK(DecideBudget(pause, Usd(99), Usd(0), Usd(5)).verdict == Verdict::kWarn);  // starts under the limit
  CHECK(DecideBudget(block, Usd(99), Usd(0), Usd(5)).verdict == Verdict::kDeny);
  CHECK(DecideBudget(block, Usd(95), Usd(0), Usd(5)).verdict == Verdict::kWarn);  // lands exactly on the limit
  CHECK(DecideBudget(block, Usd(95), Usd(0), Usd(5, 1)).verdict == Verdict::kDeny);

  // Limit reached.
  CHECK(DecideBudget(warn, Usd(100), Usd(0), Usd(1)).verdict == Verdict::kWarn);
  CHECK(DecideBudget(pause, Usd(100), Usd(0), Micros(0)).verdict == Verdict::kDeny);
  CHECK(DecideBudget(pause, Usd(60), Usd(40), Micros(1)).verdict == Verdict::kDeny);
  CHECK(DecideBudget(block, Usd(100), Usd(0), Micros(1)).verdict == Verdict::kDeny);
  CHECK(DecideBudget(block, Usd(100), Usd(0), Micros(0)).verdict == Verdict::kWarn);
  CHECK(DecideBudget(block, Usd(100), Usd(0), Micros(-5)).verdict == Verdict::kWarn);  // negative counts as 0
}

TEST_CASE("Admission controller reserves, commits and releases") {
  const absl::Time now = Utc(2026, 4, 10, 12);
  std::vector<Budget> budgets = {
      MakeBudget(BudgetPeriod::kMonthly, Usd(10), BudgetAction::kBlock),
      MakeBudget(BudgetPeriod::kDaily, Usd(30), BudgetAction::kWarn),
      MakeBudget(BudgetPeriod::kMonthly, Usd(1), BudgetAction::kBlock, {ScopeKind::kProject, "acme"}),
  };
  REQUIRE(ValidateBudgets(budgets).ok());
  AdmissionController c(budgets, BudgetCalendar{}, now);

  // Seeded spend: this month's entries count, last month's do not.
  REQUIRE(c.Record(BudgetTarget{}, Utc(2026, 4, 2), Usd(6)).ok());
  REQUIRE(c.Record(BudgetTarget{}, Utc(2026, 3, 31, 23), Usd(50)).ok());
  CHECK(c.Usage(0, now).spent == Usd(6));
  CHECK(c.Usage(1, now).spent == Usd(0));  // not today

  AdmissionDecision d = c.Check(AdmissionRequest{Usd(1, 999'999), BudgetTarget{}, now});
  CHECK(d.verdict == Verdict::kAllow);  // 79.99999% of the month
  CHECK(d.budget == 0);
  AdmissionRequest req{Usd(2), BudgetTarget{}, now};
  d = c.Check(req);
  CHECK(d.verdict == Verdict::kWarn);  // exactly 80%
  CHECK(d.budget == 0);
  CHECK(d.level_after == BudgetLevel::kWarning);

  Reservation r1 = c.Reserve(req);
  REQUIRE(r1.ok());
  CHECK(c.Usage(0, now).reserved == Usd(2));
  CHECK(c.Usage(1, now).reserved == Usd(2));
  CHECK(c.outstanding() == 1);

  // 6 spent + 2 held + 2 more = 10: fits exactly, at critical.
  Reservation r2 = c.Reserve(req);
  REQUIRE(r2.ok());
  CHECK(r2.decision.verdict == Verdict::kWarn);
  CHECK(r2.decision.budget == 0);
  CHECK(r2.decision.level_after == BudgetLevel::kCritical);

  // Nothing more fits.
  Reservation r3 = c.Reserve(AdmissionRequest{Micros(1), BudgetTarget{}, now});
  CHECK_FALSE(r3.ok());
  CHECK(r3.decision.verdict == Verdict::kDeny);
  CHECK(r3.decision.budget == 0);
  CHECK(r3.decision.spent == Usd(6));
  CHECK(r3.decision.reserved == Usd(4));
  CHECK(r3.decision.limit == Usd(10));

  // Release gives the room back; commit spends the actual cost.
  REQUIRE(c.Release(r2.id).ok());
  CHECK(c.Release(r2.id).code() == absl::StatusCode::kNotFound);
  REQUIRE(c.Commit(r1.id, Usd(1, 500'000), now).ok());
  CHECK(c.Commit(r1.id, Usd(1), now).code() == absl::StatusCode::kNotFound);
  CHECK(c.Commit(0, Usd(1), now).code() == absl::StatusCode::kNotFound);
  CHECK(c.Usage(0, now).spent == Usd(7, 500'000));
  CHECK(c.Usage(0, now).reserved == Micros(0));
  CHECK(c.Usage(1, now).spent == Usd(1, 500'000));
  CHECK(c.outstanding() == 0);

  // A scoped blocking budget denies what the global one would allow.
  d = c.Check(AdmissionRequest{Usd(1, 1), BudgetTarget{"", "acme", "", ""}, now});
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.budget == 2);
  d = c.Check(AdmissionRequest{Usd(1, 1), BudgetTarget{"", "other", "", ""}, now});
  CHECK(d.verdict == Verdict::kWarn);  // 7.5 + 1.000001 of the month's 10 is 85%
  CHECK(d.budget == 0);
  d = c.Check(AdmissionRequest{Usd(20), BudgetTarget{"", "other", "", ""}, now});
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.budget == 0);  // the monthly cap denies; the daily budget would allow

  // The status sees committed spend.
  BudgetStatus s = c.Status(0, now);
  CHECK(s.spent == Usd(7, 500'000));
  CHECK(s.level == BudgetLevel::kOk);
}

TEST_CASE("Admission controller rolls into a new period") {
  std::vector<Budget> budgets = {MakeBudget(BudgetPeriod::kDaily, Usd(1), BudgetAction::kBlock)};
  AdmissionController c(budgets, BudgetCalendar{}, Utc(2026, 4, 10, 12));
  Reservation r = c.Reserve(AdmissionRequest{Usd(1), BudgetTarget{}, Utc(2026, 4, 10, 12)});
  REQUIRE(r.ok());
  REQUIRE(c.Commit(r.id, Usd(1), Utc(2026, 4, 10, 13)).ok());
  CHECK_FALSE(c.Check(AdmissionRequest{Micros(1), BudgetTarget{}, Utc(2026, 4, 10, 23, 59)}).allowed());
  // Midnight: a fresh day.
  CHECK(c.Check(AdmissionRequest{Usd(1), BudgetTarget{}, Utc(2026, 4, 11)}).allowed());
  CHECK(c.Usage(0, Utc(2026, 4, 11)).spent == Micros(0));
  // A reservation taken before midnight is spent in the day it is committed.
  r = c.Reserve(AdmissionRequest{Usd(1), BudgetTarget{}, Utc(2026, 4, 11, 23, 59)});
  REQUIRE(r.ok());
  REQUIRE(c.Commit(r.id, Usd(1), Utc(2026, 4, 12, 0, 1)).ok());
  CHECK(c.Usage(0, Utc(2026, 4, 12, 1)).spent == Usd(1));
  CHECK(c.Usage(0, Utc(2026, 4, 12, 1)).reserved == Micros(0));
}

TEST_CASE("Admission session budgets count each session apart") {
  std::vector<Budget> budgets = {MakeBudget(BudgetPeriod::kSession, Usd(2), BudgetAction::kBlock)};
  const absl::Time now = Utc(2026, 4, 10);
  AdmissionController c(budgets, BudgetCalendar{}, now);
  REQUIRE(c.Record(BudgetTarget{"a", "", "", ""}, Utc(2020, 1, 1), Usd(2)).ok());  // any age counts
  CHECK_FALSE(c.Check(AdmissionRequest{Micros(1), BudgetTarget{"a", "", "", ""}, now}).allowed());
  CHECK(c.Check(AdmissionRequest{Usd(2), BudgetTarget{"b", "", "", ""}, now}).allowed());
  // No session: the session budget does not apply.
  AdmissionDecision d = c.Check(AdmissionRequest{Usd(100), BudgetTarget{}, now});
  CHECK(d.allowed());
  CHECK(d.budget == -1);
  CHECK(c.Usage(0, now, "a").spent == Usd(2));
  CHECK(c.Usage(0, now, "zzz").spent == Micros(0));
}

TEST_CASE("Admission under many threads never overshoots a blocking budget") {
  constexpr int kThreads = 16;
  constexpr int kAttempts = 1000;
  constexpr int64_t kCost = 1'000;           // $0.001 a request
  const Micros limit(5'000 * kCost);         // room for exactly 5000 requests
  const absl::Time now = Utc(2026, 4, 10, 12);
  std::vector<Budget> budgets = {
      MakeBudget(BudgetPeriod::kMonthly, limit, BudgetAction::kBlock),
      MakeBudget(BudgetPeriod::kDaily, Usd(1000), BudgetAction::kWarn),
      MakeBudget(BudgetPeriod::kSession, Micros(200 * kCost), BudgetAction::kBlock),
  };
  AdmissionController c(budgets, BudgetCalendar{}, now);

  std::atomic<int64_t> committed{0};
  std::atomic<int64_t> denied{0};
  std::atomic<int64_t> released{0};
  std::atomic<bool> overshoot{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Sessions s0..s31: two per thread, 200 requests each at most.
      const std::string sessions[2] = {"s" + std::to_string(2 * t), "s" + std::to_string(2 * t + 1)};
      for (int i = 0; i < kAttempts; ++i) {
        const BudgetTarget target{sessions[i % 2], "", "", ""};
        Reservation r = c.Reserve(AdmissionRequest{Micros(kCost), target, now});
        if (!r.ok()) {
          denied.fetch_add(1);
          continue;
        }
        const BudgetUsage u = c.Usage(0, now);
        if (u.spent.value() + u.reserved.value() > limit.value()) overshoot.store(true);
        if (i % 7 == 3) {
          CHECK(c.Release(r.id).ok());
          released.fetch_add(1);
        } else {
          CHECK(c.Commit(r.id, Micros(kCost), now).ok());
          committed.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  CHECK_FALSE(overshoot.load());
  // Each session admits 200; 32 sessions could take 6400, the month only 5000.
  CHECK(committed.load() == 5000);
  CHECK(c.Usage(0, now).spent == limit);
  CHECK(c.Usage(0, now).reserved == Micros(0));
  CHECK(c.Usage(1, now).spent == limit);
  CHECK(c.outstanding() == 0);
  CHECK(committed.load() + released.load() + denied.load() == kThreads * kAttempts);
  int64_t session_total = 0;
  for (int s = 0; s < 2 * kThreads; ++s) {
    const Micros spent = c.Usage(2, now, "s" + std::to_string(s)).spent;
    CHECK(spent.value() <= 200 * kCost);
    session_total += spent.value();
  }
  CHECK(session_total == limit.value());
}

}  // namespace
}  // namespace tokenbook
