// The admission check: may this estimated request go ahead?
//
// In process (AdmissionController, tokenbook/budget.h): Check(), and a
// Reserve() followed by Commit() or Release(), against a realistic set of
// budgets — a blocking monthly budget, a daily warning one, a per-session one
// and two scoped ones — on one thread and on several at once (one mutex
// guards the state, so threads contend). Target: under 1 µs a check.
//
// Across processes (BudgetService, lib/tokenbook/budgets.h): the same
// reserve + commit through a ledger directory, under flock, with the entry
// appended to ledger.jsonl. This path does file I/O by design; its figure is
// for comparison, not held to the 1 µs target.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tokenbook/budget.h"
#include "tokenbook/budgets.h"
#include "tokenbook/config.h"
#include "tokenbook/ledger.h"

namespace {

using tokenbook::AdmissionController;
using tokenbook::AdmissionRequest;
using tokenbook::Budget;
using tokenbook::BudgetAction;
using tokenbook::BudgetCalendar;
using tokenbook::BudgetPeriod;
using tokenbook::BudgetScope;
using tokenbook::BudgetTarget;
using tokenbook::Micros;
using tokenbook::Reservation;
using tokenbook::ScopeKind;

constexpr int64_t kDollar = tokenbook::kMicrosPerDollar;

absl::Time Now() { return absl::FromCivil(absl::CivilSecond(2026, 4, 10, 12, 0, 0), absl::UTCTimeZone()); }

Budget Make(std::string name, BudgetPeriod period, int64_t limit, BudgetAction action, BudgetScope scope = {}) {
  Budget b;
  b.name = std::move(name);
  b.period = period;
  b.limit = Micros(limit);
  b.action = action;
  b.scope = std::move(scope);
  return b;
}

std::vector<Budget> Budgets() {
  // Limits far above what a run spends, so every request is admitted and
  // the figures measure the check, not the deny path.
  return {
      Make("monthly", BudgetPeriod::kMonthly, int64_t{1} << 60, BudgetAction::kBlock),
      Make("daily", BudgetPeriod::kDaily, int64_t{1} << 59, BudgetAction::kWarn),
      Make("session", BudgetPeriod::kSession, int64_t{1} << 59, BudgetAction::kBlock),
      Make("project:acme:monthly", BudgetPeriod::kMonthly, int64_t{1} << 58, BudgetAction::kBlock,
           {ScopeKind::kProject, "acme"}),
      Make("agent:planner:daily", BudgetPeriod::kDaily, int64_t{1} << 58, BudgetAction::kPause,
           {ScopeKind::kAgent, "planner"}),
  };
}

AdmissionController& Shared() {
  static AdmissionController* const c = new AdmissionController(Budgets(), BudgetCalendar{}, Now());
  return *c;
}

AdmissionRequest Request() {
  // Matches every budget: the most work a check can do here.
  return AdmissionRequest{Micros(90'000), BudgetTarget{"session-17", "acme", "search", "planner"}, Now()};
}

void BM_AdmissionCheck(benchmark::State& state) {
  AdmissionController& c = Shared();
  const AdmissionRequest req = Request();
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.Check(req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmissionCheck)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_AdmissionReserveCommit(benchmark::State& state) {
  AdmissionController& c = Shared();
  const AdmissionRequest req = Request();
  for (auto _ : state) {
    const Reservation r = c.Reserve(req);
    if (!r.ok() || !c.Commit(r.id, Micros(85'000), req.now).ok()) {
      state.SkipWithError("admission failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmissionReserveCommit)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_AdmissionReserveRelease(benchmark::State& state) {
  AdmissionController& c = Shared();
  const AdmissionRequest req = Request();
  for (auto _ : state) {
    const Reservation r = c.Reserve(req);
    if (!r.ok() || !c.Release(r.id).ok()) {
      state.SkipWithError("admission failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmissionReserveRelease)->Threads(1)->UseRealTime();

// A check with a single unscoped budget: the floor of the mechanism.
void BM_AdmissionCheckOneBudget(benchmark::State& state) {
  AdmissionController c({Make("monthly", BudgetPeriod::kMonthly, 100 * kDollar, BudgetAction::kBlock)},
                        BudgetCalendar{}, Now());
  const AdmissionRequest req{Micros(90'000), BudgetTarget{}, Now()};
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.Check(req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmissionCheckOneBudget);

// Reserve + commit across processes, through a ledger directory.
void BM_SharedReserveCommit(benchmark::State& state) {
  char tmpl[] = "/tmp/tokenbook-budget-bench-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (dir == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  std::ofstream(std::string(dir) + "/config.toml")
      << "[budgets]\nmonthly = { limit = \"1000000000\", action = \"block\" }\ndaily = 1000000000\n";
  auto ledger = tokenbook::Ledger::Open(dir);
  auto config = tokenbook::LoadConfig(dir);
  if (!ledger.ok() || !config.ok()) {
    state.SkipWithError("cannot open the ledger");
    return;
  }
  auto service = tokenbook::BudgetService::Open(ledger->get(), std::move(*config));
  if (!service.ok()) {
    state.SkipWithError("cannot open the budget service");
    return;
  }
  const tokenbook::SharedAdmissionRequest req{Micros(90'000), "session-17", "acme", "", "", Now()};
  for (auto _ : state) {
    auto r = (*service)->Reserve(req);
    tokenbook::Entry e;
    e.model = "bench-model";
    e.cost = Micros(85'000);
    e.cost_source = tokenbook::CostSource::kOverride;
    e.timestamp = Now();
    if (!r.ok() || !r->ok() || !(*service)->Commit(r->id, std::move(e), Now()).ok()) {
      state.SkipWithError("admission failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_SharedReserveCommit)->UseRealTime();

}  // namespace
