// Rollup throughput: 1,000,000 entries already in memory fed to a Rollup
// (month-by-model, day-by-model and others, in America/New_York) one Add() at
// a time, as a ledger reader does after parsing. Items are entries; parsing
// and I/O are excluded. The plain figures stream the entries from memory
// (~700 bytes each); the *Hot ones feed entries that are in cache, as a
// reader's freshly parsed entry is.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"
#include "tokenbook/period.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
namespace {

constexpr int kEntries = 1'000'000;

// A ledger's worth of entries in append (chronological) order over 90 days,
// with realistic model names, agents, projects and a tag.
const std::vector<Entry>& Entries() {
  static const std::vector<Entry>* entries = [] {
    auto* out = new std::vector<Entry>();
    out->reserve(kEntries);
    std::mt19937_64 rng(7);
    const char* models[] = {"claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-5",
                            "gpt-5-mini",      "gemini-2.5-pro",    "gemini-2.5-flash", "qwen3-coder-local"};
    const char* agents[] = {"planner", "coder", "reviewer", "tester", ""};
    const char* projects[] = {"checkout", "search", "billing"};
    const absl::Time start = absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone());
    const int64_t step_ms = int64_t{90} * 86400 * 1000 / kEntries;
    for (int i = 0; i < kEntries; ++i) {
      Entry e;
      e.id = absl::StrCat("01JQ", i);
      e.timestamp = start + absl::Milliseconds(step_ms * i + static_cast<int64_t>(rng() % 1000));
      e.model = models[rng() % 8];
      e.provider = e.model[0] == 'c'                        ? "anthropic"
                   : e.model[0] == 'g' && e.model[1] == 'p' ? "openai"
                                                            : "google";
      e.agent = agents[rng() % 5];
      e.project = projects[rng() % 3];
      e.session = absl::StrCat("session-", i / 500);
      e.tokens[TokenKind::kInput] = Tokens(static_cast<int64_t>(rng() % 20000));
      e.tokens[TokenKind::kOutput] = Tokens(static_cast<int64_t>(rng() % 4000));
      e.tokens[TokenKind::kCacheRead] = Tokens(static_cast<int64_t>(rng() % 100000));
      e.cost = Micros(static_cast<int64_t>(rng() % 200000));
      if (rng() % 4 == 0) e.tags.emplace_back("team", "infra");
      out->push_back(std::move(e));
    }
    return out;
  }();
  return *entries;
}

absl::TimeZone NewYork() {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone("America/New_York", &tz)) std::abort();
  return tz;
}

// Feeds every entry one Add() at a time, as a ledger reader does.
void RunRollup(benchmark::State& state, const char* group_by, const char* filter) {
  const std::vector<Entry>& entries = Entries();
  for (auto _ : state) {
    RollupQuery q;
    q.tz = NewYork();
    q.group_by = *ParseGroupBy(group_by);
    if (filter != nullptr && !q.AddFilter(filter).ok()) std::abort();
    absl::StatusOr<Rollup> rollup = Rollup::Create(std::move(q));
    if (!rollup.ok()) std::abort();
    for (const Entry& e : entries) rollup->Add(e);
    absl::StatusOr<RollupReport> report = rollup->Finish();
    if (!report.ok()) std::abort();
    benchmark::DoNotOptimize(report->total.cost);
    state.counters["groups"] = static_cast<double>(report->groups.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(entries.size()));
}

void BM_RollupMonthByModel(benchmark::State& state) { RunRollup(state, "month,model", nullptr); }
void BM_RollupDayByModel(benchmark::State& state) { RunRollup(state, "day,model", nullptr); }
void BM_RollupHourByAgentProject(benchmark::State& state) { RunRollup(state, "hour,agent,project", nullptr); }
void BM_RollupFilteredTagByModel(benchmark::State& state) {
  RunRollup(state, "model,tag:team", "agent=coder,reviewer");
}
void BM_RollupSession(benchmark::State& state) { RunRollup(state, "session", nullptr); }

// The rollup's own cost, without the DRAM traffic of streaming 1,000,000
// pre-built entries (about 0.7 GB): a ledger reader parses each line into an
// entry that is still in cache when it is added. Here 1,000,000 entries are
// added from a cache-resident pool of 1,024 whose timestamps advance as in
// the ledger above.
void RunHot(benchmark::State& state, const char* group_by) {
  const std::vector<Entry>& all = Entries();
  std::vector<Entry> pool(all.begin(), all.begin() + 1024);
  for (auto _ : state) {
    RollupQuery q;
    q.tz = NewYork();
    q.group_by = *ParseGroupBy(group_by);
    absl::StatusOr<Rollup> rollup = Rollup::Create(std::move(q));
    if (!rollup.ok()) std::abort();
    for (int i = 0; i < kEntries; ++i) {
      Entry& e = pool[static_cast<size_t>(i) & 1023];
      e.timestamp = all[static_cast<size_t>(i)].timestamp;  // sequential: the prefetcher keeps up
      rollup->Add(e);
    }
    absl::StatusOr<RollupReport> report = rollup->Finish();
    if (!report.ok()) std::abort();
    benchmark::DoNotOptimize(report->total.cost);
    state.counters["groups"] = static_cast<double>(report->groups.size());
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}

void BM_RollupMonthByModelHot(benchmark::State& state) { RunHot(state, "month,model"); }
void BM_RollupDayByModelHot(benchmark::State& state) { RunHot(state, "day,model"); }
void BM_RollupHourByAgentProjectHot(benchmark::State& state) { RunHot(state, "hour,agent,project"); }

// The same entries with their timestamps shuffled (memory layout unchanged):
// the zone cache sees entries out of time order on both sides of the DST
// change, and consecutive entries fall in unrelated groups.
void BM_RollupDayByModelTimeShuffled(benchmark::State& state) {
  static const std::vector<Entry>* shuffled = [] {
    auto* out = new std::vector<Entry>(Entries());
    std::vector<absl::Time> times;
    times.reserve(out->size());
    for (const Entry& e : *out) times.push_back(e.timestamp);
    std::shuffle(times.begin(), times.end(), std::mt19937_64(11));
    for (size_t i = 0; i < out->size(); ++i) (*out)[i].timestamp = times[i];
    return out;
  }();
  for (auto _ : state) {
    RollupQuery q;
    q.tz = NewYork();
    q.group_by = *ParseGroupBy("day,model");
    absl::StatusOr<Rollup> rollup = Rollup::Create(std::move(q));
    if (!rollup.ok()) std::abort();
    for (const Entry& e : *shuffled) rollup->Add(e);
    absl::StatusOr<RollupReport> report = rollup->Finish();
    if (!report.ok()) std::abort();
    benchmark::DoNotOptimize(report->total.cost);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(shuffled->size()));
}

BENCHMARK(BM_RollupMonthByModel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupDayByModel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupHourByAgentProject)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupFilteredTagByModel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupSession)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupMonthByModelHot)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupDayByModelHot)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupHourByAgentProjectHot)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RollupDayByModelTimeShuffled)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tokenbook
