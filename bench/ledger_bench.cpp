// The ledger on disk: appending entries and reading a large ledger back.
//
//   BM_LedgerAppend            one entry per Append, flush durability, one
//                              thread (target: at least 300,000 a second)
//   BM_LedgerAppendSourceKey   the same with a unique source key each, so the
//                              dedup check and its catch-up run every time
//   BM_LedgerAppendBatch       100 entries per AppendBatch
//   BM_LedgerDecodeLine        EntryDecoder on one typical line
//   BM_LedgerScan1M            Scan of a 1,000,000-entry ledger, summing cost
//   BM_LedgerScan1MMonthByModel  the same, rolled up by UTC month and model
//
// The 1,000,000-entry ledger is generated once into
// /tmp/tokenbook_bench_ledger_1m/ (about 300 MB) and reused by later runs;
// delete the directory to regenerate it. Appends go to a fresh directory
// under /tmp, removed afterwards.
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger.h"
#include "tokenbook/money.h"

namespace {

using tokenbook::CostSource;
using tokenbook::Entry;
using tokenbook::Ledger;
using tokenbook::Micros;
using tokenbook::TokenKind;
using tokenbook::Tokens;

constexpr int64_t kScanEntries = 1'000'000;
constexpr char kScanDir[] = "/tmp/tokenbook_bench_ledger_1m";

constexpr std::array<const char*, 8> kModels = {
    "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5",
    "gpt-5-mini",        "gemini-2.5-pro",  "gemini-2.5-flash", "llama3.1:8b"};
constexpr std::array<const char*, 6> kFeatures = {"search", "checkout", "ledger", "onboarding", "reports", "sync"};
constexpr std::array<const char*, 4> kAgents = {"planner", "coder", "reviewer", "tester"};

// A realistic entry: a resolved model, five token kinds, a handful of
// dimensions, now and then tags and a source key.
Entry MakeEntry(int64_t i) {
  Entry e;
  e.timestamp = absl::FromUnixMillis(1'767'225'600'000 + i * 31'536'000 / kScanEntries * 1000 + i % 1000);
  e.model = kModels[static_cast<size_t>(i % 8)];
  e.provider = i % 8 < 3 ? "anthropic" : i % 8 < 5 ? "openai" : i % 8 < 7 ? "google" : "local";
  e.tokens[TokenKind::kInput] = Tokens(1000 + i % 50'000);
  e.tokens[TokenKind::kOutput] = Tokens(200 + i % 8000);
  e.tokens[TokenKind::kCacheRead] = Tokens(i % 3 == 0 ? 0 : 20'000 + i % 100'000);
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(i % 5 == 0 ? 4000 : 0);
  e.requests = 1;
  e.cost = Micros(1000 + (i * 7919) % 250'000);
  e.cost_source = i % 97 == 0 ? CostSource::kUnpriced : CostSource::kComputed;
  e.rates_as_of = "2026-11-01";
  e.session = absl::StrCat("sess-", i / 40);
  e.agent = kAgents[static_cast<size_t>(i % 4)];
  e.feature = kFeatures[static_cast<size_t>(i % 6)];
  e.project = "acme-web";
  e.tool = "claude-code";
  e.duration_ms = 500 + i % 20'000;
  if (i % 10 == 0) e.tags = {{"env", "ci"}, {"team", "core"}};
  if (i % 3 == 0) {
    e.source_kind = "claude-code";
    e.source_key = absl::StrCat("cc:", i / 40, ":msg_", i);
  }
  return e;
}

std::string FreshDir() {
  char tmpl[] = "/tmp/tokenbook_bench_XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  return d == nullptr ? std::string() : std::string(d);
}

std::unique_ptr<Ledger> OpenLedger(benchmark::State& state, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir);
  if (!l.ok()) {
    state.SkipWithError(std::string(l.status().message()).c_str());
    return nullptr;
  }
  return std::move(*l);
}

void BM_LedgerAppend(benchmark::State& state) {
  const std::string dir = FreshDir();
  {
    std::unique_ptr<Ledger> ledger = OpenLedger(state, dir);
    if (ledger == nullptr) return;
    // Entries are built ahead, outside the timing, and moved in: what is
    // measured is the append (id, encoding, lock, write), not building them.
    constexpr size_t kAhead = 4096;
    std::vector<Entry> ahead;
    auto refill = [&] {
      ahead.clear();
      for (size_t i = 0; i < kAhead; ++i) {
        Entry e = MakeEntry(static_cast<int64_t>(i));
        e.source_kind.clear();
        e.source_key.clear();
        ahead.push_back(std::move(e));
      }
    };
    refill();
    size_t k = 0;
    for (auto _ : state) {
      if (k == kAhead) {
        state.PauseTiming();
        refill();
        k = 0;
        state.ResumeTiming();
      }
      absl::StatusOr<tokenbook::AppendResult> r = ledger->Append(std::move(ahead[k++]));
      if (!r.ok()) {
        state.SkipWithError(std::string(r.status().message()).c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LedgerAppend)->MinTime(1.0);

void BM_LedgerAppendSourceKey(benchmark::State& state) {
  const std::string dir = FreshDir();
  {
    std::unique_ptr<Ledger> ledger = OpenLedger(state, dir);
    if (ledger == nullptr) return;
    Entry base = MakeEntry(3);
    int64_t n = 0;
    for (auto _ : state) {
      Entry e = base;
      e.source_key = absl::StrCat("cc:bench:", n++);
      absl::StatusOr<tokenbook::AppendResult> r = ledger->Append(std::move(e));
      if (!r.ok()) {
        state.SkipWithError(std::string(r.status().message()).c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LedgerAppendSourceKey)->MinTime(1.0);

void BM_LedgerAppendBatch(benchmark::State& state) {
  const std::string dir = FreshDir();
  {
    std::unique_ptr<Ledger> ledger = OpenLedger(state, dir);
    if (ledger == nullptr) return;
    std::vector<Entry> batch;
    for (int i = 0; i < 100; ++i) {
      Entry e = MakeEntry(i);
      e.source_kind.clear();
      e.source_key.clear();
      batch.push_back(std::move(e));
    }
    for (auto _ : state) {
      absl::StatusOr<std::vector<tokenbook::AppendResult>> r = ledger->AppendBatch(batch);
      if (!r.ok()) {
        state.SkipWithError(std::string(r.status().message()).c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * 100);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LedgerAppendBatch);

// Arg 0: the simdjson fast path (what reads use); 1: the exact reader alone.
void BM_LedgerDecodeLine(benchmark::State& state) {
  const std::string line = *tokenbook::EntryToJson([] {
    Entry e = MakeEntry(30);
    e.id = "01JD3Q5Z8X9K2M4N6P7R0S1T2V";
    return e;
  }());
  tokenbook::EntryDecoder decoder;
  decoder.set_exact_only(state.range(0) == 1);
  state.SetLabel(state.range(0) == 1 ? "exact reader" : "fast path");
  Entry e;
  for (auto _ : state) {
    absl::Status s = decoder.Decode(line, &e);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(e.cost);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(line.size()));
}
BENCHMARK(BM_LedgerDecodeLine)->Arg(0)->Arg(1);

// The ledger of kScanEntries entries, generated on first use.
const std::string* ScanLedgerDir(benchmark::State& state) {
  static const std::string* const dir = [&]() -> const std::string* {
    const std::string done = absl::StrCat(kScanDir, "/complete");
    struct stat st;
    if (::stat(done.c_str(), &st) != 0) {
      std::filesystem::remove_all(kScanDir);
      absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(kScanDir);
      if (!l.ok()) return nullptr;
      for (int64_t i = 0; i < kScanEntries; i += 10'000) {
        std::vector<Entry> batch;
        batch.reserve(10'000);
        for (int64_t k = i; k < i + 10'000; ++k) batch.push_back(MakeEntry(k));
        if (!(*l)->AppendBatch(std::move(batch)).ok()) return nullptr;
      }
      std::filesystem::remove_all(absl::StrCat(kScanDir, "/cache"));
      if (FILE* f = std::fopen(done.c_str(), "w")) std::fclose(f);
    }
    return new std::string(kScanDir);
  }();
  if (dir == nullptr) state.SkipWithError("cannot generate the 1M-entry ledger");
  return dir;
}

void BM_LedgerScan1M(benchmark::State& state) {
  const std::string* dir = ScanLedgerDir(state);
  if (dir == nullptr) return;
  std::unique_ptr<Ledger> ledger = OpenLedger(state, *dir);
  if (ledger == nullptr) return;
  for (auto _ : state) {
    int64_t entries = 0;
    Micros total;
    int64_t input = 0;
    std::vector<tokenbook::LedgerIssue> issues;
    absl::Status s = ledger->Scan(
        [&](const Entry& e) {
          ++entries;
          total = Micros(total.value() + e.cost.value());
          input += e.tokens.input().value();
        },
        &issues);
    if (!s.ok() || entries != kScanEntries || !issues.empty()) {
      state.SkipWithError("scan failed or miscounted");
      break;
    }
    benchmark::DoNotOptimize(total);
    benchmark::DoNotOptimize(input);
  }
  state.SetItemsProcessed(state.iterations() * kScanEntries);
  state.counters["entries"] = static_cast<double>(kScanEntries);
}
BENCHMARK(BM_LedgerScan1M)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

struct Totals {
  int64_t entries = 0;
  int64_t cost_micros = 0;
  int64_t input = 0;
  int64_t output = 0;
};

void BM_LedgerScan1MMonthByModel(benchmark::State& state) {
  const std::string* dir = ScanLedgerDir(state);
  if (dir == nullptr) return;
  std::unique_ptr<Ledger> ledger = OpenLedger(state, *dir);
  if (ledger == nullptr) return;
  const absl::TimeZone utc = absl::UTCTimeZone();
  size_t groups = 0;
  for (auto _ : state) {
    // model -> (year * 12 + month - 1) -> totals; memory grows with groups only.
    absl::flat_hash_map<std::string, absl::flat_hash_map<int64_t, Totals>> by_model;
    absl::Status s = ledger->Scan([&](const Entry& e) {
      auto it = by_model.find(absl::string_view(e.model));
      if (it == by_model.end()) it = by_model.try_emplace(e.model).first;
      const absl::CivilMonth m = absl::ToCivilMonth(e.timestamp, utc);
      Totals& t = it->second[m.year() * 12 + m.month() - 1];
      ++t.entries;
      t.cost_micros += e.cost.value();
      t.input += e.tokens.input().value();
      t.output += e.tokens.output().value();
    });
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    groups = 0;
    for (const auto& [model, months] : by_model) groups += months.size();
    benchmark::DoNotOptimize(groups);
  }
  state.SetItemsProcessed(state.iterations() * kScanEntries);
  state.counters["groups"] = static_cast<double>(groups);
}
BENCHMARK(BM_LedgerScan1MMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace
