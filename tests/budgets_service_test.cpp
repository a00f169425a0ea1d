// Tests of lib/tokenbook/budgets.h: budget status from a ledger directory,
// the impact printed after a log, one alert per crossing, and admission
// shared by threads and fork()ed processes through the ledger directory.
#include "tokenbook/budgets.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/config.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;
constexpr int64_t kCent = kDollar / 100;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-budgets-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(File(name)) << text; }
  void Append(const std::string& name, const std::string& text) const {
    std::ofstream(File(name), std::ios::app) << text;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(File(name));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

Entry MakeEntry(int64_t cost_micros, absl::Time at, const std::string& session = "",
                const std::string& project = "") {
  Entry e;
  e.model = "test-model";
  e.provider = "test";
  e.cost = Micros(cost_micros);
  e.cost_source = CostSource::kOverride;
  e.timestamp = at;
  e.session = session;
  e.project = project;
  return e;
}

// A ledger directory with a config.toml, and a service over it.
struct Fixture {
  TempDir dir;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<BudgetService> service;

  explicit Fixture(const std::string& config_text) {
    dir.Write("config.toml", config_text);
    Open();
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir.path());
    REQUIRE_MESSAGE(l.ok(), l.status().ToString());
    ledger = std::move(*l);
    absl::StatusOr<Config> config = LoadConfig(dir.path());
    REQUIRE_MESSAGE(config.ok(), config.status().ToString());
    absl::StatusOr<std::unique_ptr<BudgetService>> s = BudgetService::Open(ledger.get(), std::move(*config));
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    service = std::move(*s);
  }

  void Log(int64_t cost_micros, absl::Time at, const std::string& session = "", const std::string& project = "") {
    absl::StatusOr<AppendResult> r = ledger->Append(MakeEntry(cost_micros, at, session, project));
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  }

  // Logs and returns the impact, as a caller of `log` would.
  LogImpact LogWithImpact(int64_t cost_micros, absl::Time at, const std::string& session = "",
                          const std::string& project = "") {
    Entry e = MakeEntry(cost_micros, at, session, project);
    absl::StatusOr<AppendResult> r = ledger->Append(e);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    absl::StatusOr<LogImpact> impact = service->AfterLog(e, at);
    REQUIRE_MESSAGE(impact.ok(), impact.status().ToString());
    return *impact;
  }

  const BudgetStatus& StatusOf(const BudgetReport& report, absl::string_view name) {
    for (const BudgetStatus& s : report.statuses) {
      if (s.budget.name == name) return s;
    }
    FAIL("no budget named ", name);
    return report.statuses.front();
  }
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) out.emplace_back(line);
  return out;
}

TEST_CASE("Budget status from a ledger") {
  Fixture f(R"(
[budgets]
monthly = "100.00"
daily = "10.00"
session = "5.00"
[[budgets.scoped]]
project = "acme"
period = "monthly"
limit = "20"
)");
  f.Log(50 * kDollar, Utc(2026, 3, 31, 23, 59, 59));  // last month: not counted
  f.Log(30 * kDollar, Utc(2026, 4, 1), "s1");
  f.Log(4 * kDollar, Utc(2026, 4, 9, 12), "s1", "acme");
  f.Log(6 * kDollar, Utc(2026, 4, 10, 8), "s2", "acme");
  f.Log(7 * kDollar, Utc(2026, 5, 1), "s2");  // in the future at `now`: not counted

  const absl::Time now = Utc(2026, 4, 10, 12);
  absl::StatusOr<BudgetReport> report = f.service->Status(now);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->session == "s2");  // the latest entry's session
  REQUIRE(report->statuses.size() == 4);

  const BudgetStatus& monthly = f.StatusOf(*report, "monthly");
  CHECK(monthly.spent == Micros(40 * kDollar));
  CHECK(monthly.percent_bp == 4000);
  CHECK(monthly.level == BudgetLevel::kOk);
  CHECK(*monthly.projected == Micros(120 * kDollar));
  CHECK(*monthly.days_until_exhausted == 15);
  CHECK(monthly.recommendation == Recommendation::kReduceUsage);
  CHECK(monthly.window.label == "2026-04");

  const BudgetStatus& daily = f.StatusOf(*report, "daily");
  CHECK(daily.spent == Micros(6 * kDollar));
  CHECK(daily.window.label == "2026-04-10");

  const BudgetStatus& session = f.StatusOf(*report, "session");
  CHECK(session.spent == Micros(13 * kDollar));  // s2 counts every entry of the session, any date
  CHECK(session.level == BudgetLevel::kExceeded);
  CHECK(session.window.label == "session:s2");

  const BudgetStatus& acme = f.StatusOf(*report, "project:acme:monthly");
  CHECK(acme.spent == Micros(10 * kDollar));
  CHECK(acme.level == BudgetLevel::kOk);
  CHECK(report->month_spent == Micros(40 * kDollar));
  CHECK_FALSE(report->suggestion.has_value());

  // Another session on request.
  report = f.service->Status(now, "s1");
  REQUIRE(report.ok());
  CHECK(f.StatusOf(*report, "session").spent == Micros(34 * kDollar));

  // A later `now` in May starts the month afresh.
  report = f.service->Status(Utc(2026, 5, 2));
  REQUIRE(report.ok());
  CHECK(f.StatusOf(*report, "monthly").spent == Micros(7 * kDollar));
}

TEST_CASE("Budget status at each level from a ledger") {
  Fixture f("[budgets]\nmonthly = 100\n");
  const absl::Time now = Utc(2026, 4, 29, 12);
  struct Step {
    int64_t add;
    BudgetLevel level;
  };
  const Step steps[] = {
      {79 * kDollar + 999'999, BudgetLevel::kOk},
      {1, BudgetLevel::kWarning},  // exactly 80%
      {14 * kDollar + 999'999, BudgetLevel::kWarning},
      {1, BudgetLevel::kCritical},  // exactly 95%
      {5 * kDollar, BudgetLevel::kCritical},  // exactly 100%
      {1, BudgetLevel::kExceeded},
  };
  for (const Step& s : steps) {
    f.Log(s.add, Utc(2026, 4, 2));
    absl::StatusOr<BudgetReport> report = f.service->Status(now);
    REQUIRE(report.ok());
    CHECK(report->statuses[0].level == s.level);
  }
}

TEST_CASE("Budget status reads only complete, valid lines") {
  Fixture f("[budgets]\nmonthly = 100\n");
  const absl::Time now = Utc(2026, 4, 10);
  f.Log(10 * kDollar, Utc(2026, 4, 2));
  REQUIRE(f.service->Status(now).ok());
  // Entries appended through another handle (as another process would) are
  // read from the tail; a malformed line is skipped.
  absl::StatusOr<std::unique_ptr<Ledger>> other = Ledger::Open(f.dir.path());
  REQUIRE(other.ok());
  REQUIRE((*other)->Append(MakeEntry(5 * kDollar, Utc(2026, 4, 3))).ok());
  f.dir.Append("ledger.jsonl", "{\"v\":1,\"this is\":\"not an entry\"}\n");
  REQUIRE((*other)->Append(MakeEntry(1 * kDollar, Utc(2026, 4, 4))).ok());
  absl::StatusOr<BudgetReport> report = f.service->Status(now);
  REQUIRE(report.ok());
  CHECK(report->statuses[0].spent == Micros(16 * kDollar));
  // A torn last line (no newline yet) is not counted until it is whole.
  f.dir.Append("ledger.jsonl", "{\"v\":1,\"id\":\"01J");
  report = f.service->Status(now);
  REQUIRE(report.ok());
  CHECK(report->statuses[0].spent == Micros(16 * kDollar));
  REQUIRE((*other)->Append(MakeEntry(2 * kDollar, Utc(2026, 4, 5))).ok());  // starts a fresh line
  report = f.service->Status(now);
  REQUIRE(report.ok());
  CHECK(report->statuses[0].spent == Micros(18 * kDollar));
  // A fresh service rebuilds the same totals from scratch.
  f.Open();
  report = f.service->Status(now);
  REQUIRE(report.ok());
  CHECK(report->statuses[0].spent == Micros(18 * kDollar));
}

TEST_CASE("Budget impact after a log") {
  Fixture f("[budgets]\nmonthly = \"100.00\"\n");
  const absl::Time now = Utc(2026, 4, 10, 12);
  f.Log(13 * kDollar + 730'000, Utc(2026, 4, 2));
  LogImpact impact = f.LogWithImpact(90'000, now);
  CHECK(impact.cost == Micros(90'000));
  REQUIRE(impact.budgets.size() == 1);
  CHECK(impact.budgets[0].spent == Micros(13'820'000));
  CHECK(impact.alerts.empty());
  CHECK(FormatLogImpact(impact) == "Entry logged: $0.09\nBudget: $13.82 / $100.00 (13.8%)\n");

  // Under a cent shows four decimals; a level other than ok is named.
  f.Log(70 * kDollar, Utc(2026, 4, 3));
  impact = f.LogWithImpact(1'200, now);
  CHECK(FormatLogImpact(impact) == "Entry logged: $0.0012\nBudget: $83.82 / $100.00 (83.8%) [warning]\n");
  CHECK(impact.alerts.size() == 1);

  // Several budgets name themselves; unpriced entries say so.
  Fixture g("[budgets]\nmonthly = 100\ndaily = 10\n[[budgets.scoped]]\nproject = \"acme\"\nperiod = \"weekly\"\nlimit = 2\n");
  impact = g.LogWithImpact(1'500'000, now, "", "acme");
  CHECK(FormatLogImpact(impact) ==
        "Entry logged: $1.50\n"
        "Budget (daily): $1.50 / $10.00 (15.0%)\n"
        "Budget (monthly): $1.50 / $100.00 (1.5%)\n"
        "Budget (project:acme:weekly): $1.50 / $2.00 (75.0%)\n");
  Entry unpriced = MakeEntry(0, now);
  unpriced.model = "mystery-model";
  unpriced.cost_source = CostSource::kUnpriced;
  absl::StatusOr<LogImpact> u = g.service->AfterLog(unpriced, now);
  REQUIRE(u.ok());
  CHECK(absl::StartsWith(FormatLogImpact(*u), "Entry logged: unpriced (model \"mystery-model\" is not in the rate table"));

  // No budget: this month's spend and a suggestion.
  Fixture none("stage = \"idea\"\n");
  impact = none.LogWithImpact(3 * kDollar, now);
  CHECK(impact.budgets.empty());
  REQUIRE(impact.suggestion.has_value());
  CHECK(impact.suggestion->stage == Stage::kIdea);
  CHECK(FormatLogImpact(impact) ==
        "Entry logged: $3.00\n"
        "Budget: none set; this month $3.00. Suggested monthly budget: $25.00 (stage idea: $25.00 to $50.00)\n");
  Fixture inferred("");
  inferred.Log(100 * kDollar, Utc(2026, 4, 1));
  impact = inferred.LogWithImpact(0, now);  // $100 by day 10 projects to $300 a month
  REQUIRE(impact.suggestion.has_value());
  CHECK(impact.suggestion->stage == Stage::kGrowth);
  CHECK(impact.suggestion->stage_inferred);
  CHECK(impact.suggestion->monthly_limit == Micros(375 * kDollar));
}

TEST_CASE("Budget alerts once per budget, period and level") {
  Fixture f("[budgets]\nmonthly = 100\n");
  int alerts = 0;
  // $1 entries: the 80th reaches exactly 80%, the 95th 95%, the 101st exceeds.
  for (int i = 1; i <= 110; ++i) {
    const LogImpact impact = f.LogWithImpact(kDollar, Utc(2026, 4, 10, 12, 0, i));
    alerts += static_cast<int>(impact.alerts.size());
    if (i == 80 || i == 95 || i == 101) {
      REQUIRE(impact.alerts.size() == 1);
      CHECK(impact.alerts[0].level == (i == 80    ? BudgetLevel::kWarning
                                       : i == 95 ? BudgetLevel::kCritical
                                                 : BudgetLevel::kExceeded));
    } else {
      CHECK(impact.alerts.empty());
    }
  }
  CHECK(alerts == 3);
  std::vector<std::string> lines = Lines(f.dir.Read("alerts.jsonl"));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "{\"v\":1,\"ts\":\"2026-04-10T12:01:20.000Z\",\"budget\":\"monthly\",\"scope\":\"all\",\"period\":\"2026-04\","
        "\"level\":\"warning\",\"color\":\"yellow\",\"spent_micros\":80000000,\"limit_micros\":100000000,"
        "\"percent_bp\":8000,\"spent_usd\":\"80.000000\",\"limit_usd\":\"100.000000\",\"action\":\"warn\"}");
  CHECK(absl::StrContains(lines[1], "\"level\":\"critical\""));
  CHECK(absl::StrContains(lines[1], "\"spent_micros\":95000000"));
  CHECK(absl::StrContains(lines[2], "\"level\":\"exceeded\""));

  // A restarted process does not alert again for the same period.
  f.Open();
  CHECK(f.LogWithImpact(kDollar, Utc(2026, 4, 11)).alerts.empty());
  absl::StatusOr<std::vector<BudgetAlert>> checked = f.service->CheckAlerts(Utc(2026, 4, 11));
  REQUIRE(checked.ok());
  CHECK(checked->empty());

  // A new month can alert again; jumping past two thresholds records the higher.
  for (int i = 0; i < 79; ++i) CHECK(f.LogWithImpact(kDollar, Utc(2026, 5, 1, 0, 0, i)).alerts.empty());
  LogImpact jump = f.LogWithImpact(16 * kDollar, Utc(2026, 5, 2));
  REQUIRE(jump.alerts.size() == 1);
  CHECK(jump.alerts[0].level == BudgetLevel::kCritical);
  CHECK(jump.alerts[0].period == "2026-05");
  absl::StatusOr<std::vector<BudgetAlert>> all = f.service->ReadAlerts();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 4);
  CHECK((*all)[3].budget == "monthly");
  CHECK((*all)[3].spent == Micros(95 * kDollar));
  CHECK((*all)[3].percent_bp == 9500);
}

TEST_CASE("Budget alerts are written once by concurrent services") {
  Fixture f("[budgets]\ndaily = 10\n");
  f.Log(9 * kDollar, Utc(2026, 4, 10, 1));
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Ledger>> ledgers;
  std::vector<std::unique_ptr<BudgetService>> services;
  for (int t = 0; t < kThreads; ++t) {
    ledgers.push_back(std::move(*Ledger::Open(f.dir.path())));
    absl::StatusOr<Config> config = LoadConfig(f.dir.path());
    REQUIRE(config.ok());
    services.push_back(std::move(*BudgetService::Open(ledgers.back().get(), std::move(*config))));
  }
  std::atomic<int> recorded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        absl::StatusOr<std::vector<BudgetAlert>> a = services[t]->CheckAlerts(Utc(2026, 4, 10, 2));
        if (a.ok()) recorded.fetch_add(static_cast<int>(a->size()));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(recorded.load() == 1);
  CHECK(Lines(f.dir.Read("alerts.jsonl")).size() == 1);
}

TEST_CASE("Admission reservations are released and expire") {
  Fixture f("[budgets]\nmonthly = { limit = 10, action = \"block\" }\n[admission]\nreservation_ttl_seconds = 600\n");
  const absl::Time now = Utc(2026, 4, 10, 12);
  f.Log(5 * kDollar, Utc(2026, 4, 1));
  SharedAdmissionRequest req{Micros(4 * kDollar), "", "", "", "", now};

  absl::StatusOr<SharedReservation> r1 = f.service->Reserve(req);
  REQUIRE(r1.ok());
  REQUIRE(r1->ok());
  CHECK(r1->decision.verdict == Verdict::kWarn);  // 9 of 10 after it
  CHECK(r1->expires == now + absl::Minutes(10));
  CHECK(absl::StartsWith(r1->id, "r-"));
  CHECK(*f.service->OutstandingReservations(now) == 1);

  // Another handle (another process, in effect) sees the reservation.
  absl::StatusOr<std::unique_ptr<Ledger>> other_ledger = Ledger::Open(f.dir.path());
  REQUIRE(other_ledger.ok());
  absl::StatusOr<std::unique_ptr<BudgetService>> other =
      BudgetService::Open(other_ledger->get(), *LoadConfig(f.dir.path()));
  REQUIRE(other.ok());
  absl::StatusOr<SharedReservation> r2 = (*other)->Reserve(SharedAdmissionRequest{Micros(2 * kDollar), "", "", "", "", now});
  REQUIRE(r2.ok());
  CHECK_FALSE(r2->ok());
  CHECK(r2->decision.verdict == Verdict::kDeny);
  CHECK(r2->decision.spent == Micros(5 * kDollar));
  CHECK(r2->decision.reserved == Micros(4 * kDollar));
  CHECK(r2->decision.budget == 0);

  // Released: the room is back.
  REQUIRE(f.service->Release(r1->id, now).ok());
  CHECK(f.service->Release(r1->id, now).code() == absl::StatusCode::kNotFound);
  absl::StatusOr<AdmissionDecision> d = (*other)->Check(SharedAdmissionRequest{Micros(5 * kDollar), "", "", "", "", now});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kWarn);  // exactly the limit fits
  CHECK(*f.service->OutstandingReservations(now) == 0);

  // A holder that never finishes: its reservation lapses after the TTL.
  r1 = f.service->Reserve(req);
  REQUIRE(r1.ok());
  REQUIRE(r1->ok());
  d = (*other)->Check(SharedAdmissionRequest{Micros(2 * kDollar), "", "", "", "", now + absl::Minutes(9)});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kDeny);
  d = (*other)->Check(SharedAdmissionRequest{Micros(2 * kDollar), "", "", "", "", now + absl::Minutes(10)});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kAllow);  // 7 of 10
  CHECK(*f.service->OutstandingReservations(now + absl::Minutes(10)) == 0);

  // Committing after expiry still logs the entry, and says so.
  absl::StatusOr<CommitResult> c =
      f.service->Commit(r1->id, MakeEntry(3 * kDollar, absl::UnixEpoch()), now + absl::Minutes(11));
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK_FALSE(c->reservation_found);
  CHECK(c->append.appended);
  REQUIRE(c->impact.budgets.size() == 1);
  CHECK(c->impact.budgets[0].spent == Micros(8 * kDollar));
  CHECK(c->impact.budgets[0].level == BudgetLevel::kWarning);
  CHECK(c->impact.alerts.size() == 1);

  // A normal commit: the entry is spent, the reservation gone.
  absl::StatusOr<SharedReservation> r3 =
      f.service->Reserve(SharedAdmissionRequest{Micros(2 * kDollar), "", "", "", "", now + absl::Minutes(12)});
  REQUIRE(r3.ok());
  REQUIRE(r3->ok());
  c = f.service->Commit(r3->id, MakeEntry(1'500'000, absl::UnixEpoch()), now + absl::Minutes(12));
  REQUIRE(c.ok());
  CHECK(c->reservation_found);
  CHECK(c->impact.budgets[0].spent == Micros(9'500'000));
  CHECK(*f.service->OutstandingReservations(now + absl::Minutes(12)) == 0);
  // The unused half dollar is available again.
  d = (*other)->Check(SharedAdmissionRequest{Micros(500'000), "", "", "", "", now + absl::Minutes(12)});
  REQUIRE(d.ok());
  CHECK(d->allowed());
  d = (*other)->Check(SharedAdmissionRequest{Micros(500'001), "", "", "", "", now + absl::Minutes(12)});
  REQUIRE(d.ok());
  CHECK_FALSE(d->allowed());
}

TEST_CASE("Admission through the ledger directory counts sessions and scopes") {
  Fixture f(R"(
[budgets]
action = "block"
session = 1
[[budgets.scoped]]
agent = "planner"
period = "daily"
limit = "0.50"
)");
  const absl::Time now = Utc(2026, 4, 10, 12);
  f.Log(90 * kCent, Utc(2026, 4, 1), "s1");
  absl::StatusOr<AdmissionDecision> d = f.service->Check(SharedAdmissionRequest{Micros(20 * kCent), "s1", "", "", "", now});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kDeny);
  CHECK(d->budget == 0);
  d = f.service->Check(SharedAdmissionRequest{Micros(20 * kCent), "s2", "", "", "", now});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kAllow);
  d = f.service->Check(SharedAdmissionRequest{Micros(60 * kCent), "", "", "", "planner", now});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kDeny);
  CHECK(d->budget == 1);
  d = f.service->Check(SharedAdmissionRequest{Micros(60 * kCent), "", "", "", "coder", now});
  REQUIRE(d.ok());
  CHECK(d->verdict == Verdict::kAllow);
  CHECK(d->budget == -1);
}

TEST_CASE("Admission controller seeded from the ledger") {
  Fixture f("[budgets]\nmonthly = { limit = 10, action = \"block\" }\nsession = 3\n");
  const absl::Time now = Utc(2026, 4, 10, 12);
  f.Log(6 * kDollar, Utc(2026, 4, 2), "a");
  f.Log(2 * kDollar, Utc(2026, 3, 2), "a");
  absl::StatusOr<std::unique_ptr<AdmissionController>> c = f.service->MakeController(now);
  REQUIRE(c.ok());
  CHECK((*c)->Usage(0, now).spent == Micros(6 * kDollar));
  CHECK((*c)->Usage(1, now, "a").spent == Micros(8 * kDollar));
  CHECK((*c)->Check(AdmissionRequest{Micros(4 * kDollar), BudgetTarget{}, now}).allowed());
  CHECK_FALSE((*c)->Check(AdmissionRequest{Micros(4 * kDollar + 1), BudgetTarget{}, now}).allowed());
}

// One process's (or thread's) share of the admission stress: `attempts`
// reserve/commit rounds of `cost` each through its own ledger handle.
// Returns the number committed, or -1 on an error.
int ReserveAndCommit(const std::string& dir, int attempts, int64_t cost, int tag) {
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir);
  if (!ledger.ok()) return -1;
  absl::StatusOr<Config> config = LoadConfig(dir);
  if (!config.ok()) return -1;
  absl::StatusOr<std::unique_ptr<BudgetService>> service = BudgetService::Open(ledger->get(), std::move(*config));
  if (!service.ok()) return -1;
  const absl::Time now = Utc(2026, 4, 10, 12);
  int committed = 0;
  for (int i = 0; i < attempts; ++i) {
    absl::StatusOr<SharedReservation> r =
        (*service)->Reserve(SharedAdmissionRequest{Micros(cost), absl::StrCat("p", tag), "", "", "", now});
    if (!r.ok()) return -1;
    if (!r->ok()) continue;
    if (i % 5 == 4) {  // some callers give up
      if (!(*service)->Release(r->id, now).ok()) return -1;
      continue;
    }
    absl::StatusOr<CommitResult> c = (*service)->Commit(r->id, MakeEntry(cost, now, absl::StrCat("p", tag)), now);
    if (!c.ok() || !c->reservation_found || !c->append.appended) return -1;
    ++committed;
  }
  return committed;
}

// The ledger's entries and their total.
void LedgerTotals(const std::string& dir, int64_t* count, int64_t* total) {
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir);
  REQUIRE(ledger.ok());
  *count = 0;
  *total = 0;
  REQUIRE((*ledger)->Scan([&](const Entry& e) {
                     ++*count;
                     *total += e.cost.value();
                   }).ok());
}

TEST_CASE("Admission across threads with separate ledger handles never overshoots") {
  TempDir dir;
  dir.Write("config.toml", "[budgets]\nmonthly = { limit = \"0.50\", action = \"block\" }\n");
  constexpr int kThreads = 4;
  constexpr int kAttempts = 40;
  std::atomic<int> committed{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const int n = ReserveAndCommit(dir.path(), kAttempts, kCent, t);
      if (n < 0) failed.store(true);
      committed.fetch_add(n < 0 ? 0 : n);
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK_FALSE(failed.load());
  CHECK(committed.load() == 50);  // $0.50 in cents, exactly
  int64_t count = 0;
  int64_t total = 0;
  LedgerTotals(dir.path(), &count, &total);
  CHECK(count == 50);
  CHECK(total == 50 * kCent);
  CHECK(Lines(dir.Read("reservations.jsonl")).empty());
}

TEST_CASE("Admission across fork()ed processes never overshoots a blocking budget") {
  TempDir dir;
  dir.Write("config.toml", "[budgets]\nmonthly = { limit = \"1.00\", action = \"block\" }\n");
  constexpr int kProcesses = 4;
  constexpr int kAttempts = 50;  // 200 attempts, 160 of them would commit; 100 fit
  std::vector<pid_t> children;
  std::fflush(nullptr);  // children must not write out the parent's buffered output
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int n = ReserveAndCommit(dir.path(), kAttempts, kCent, p);
      ::_exit(n < 0 ? 255 : n);
    }
    children.push_back(pid);
  }
  int committed = 0;
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) != 255);
    committed += WEXITSTATUS(status);
  }
  CHECK(committed == 100);
  int64_t count = 0;
  int64_t total = 0;
  LedgerTotals(dir.path(), &count, &total);
  CHECK(count == 100);
  CHECK(total == kDollar);  // spent exactly up to the limit, never past it
  CHECK(Lines(dir.Read("reservations.jsonl")).empty());
}

}  // namespace
}  // namespace tokenbook
