// The SQLite ledger backend (docs/backends.md): inserts and reading a large
// database back.
//
//   BM_SqliteAppend                 one entry per Append (one transaction each),
//                                   synchronous=NORMAL in WAL mode, one thread
//   BM_SqliteAppendSourceKey        the same with a unique source key each
//   BM_SqliteAppendBatch/N          N entries per AppendBatch (one transaction)
//   BM_SqliteScanMonthByModel       Ledger::Scan of the large database into a
//                                   month-by-model Rollup (the path of reports
//                                   the kept totals cannot answer)
//   BM_SqliteTotalsMonthByModel     the same report from quarter_totals
//                                   (Ledger::AddTotalsTo): what `tokenbook
//                                   report --by month,model` does on it
//   BM_SqliteSqlMonthByModel        the same totals as one SQL GROUP BY (the
//                                   monthly_by_model view), for comparison
//
// The large database holds TOKENBOOK_BENCH_SQLITE_ENTRIES entries (default
// 1,000,000), generated once into /tmp/tokenbook_bench_sqlite_<N>/ledger.db
// by AppendBatch of 10,000 (the rate is printed) and reused by later runs;
// delete the directory to regenerate it.
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tokenbook/entry.h"
#include "tokenbook/ledger.h"
#include "tokenbook/money.h"
#include "tokenbook/rollup.h"
#include "bench_entries.h"

namespace {

using tokenbook::CostSource;
using tokenbook::Entry;
using tokenbook::Ledger;
using tokenbook::Micros;
using tokenbook::TokenKind;
using tokenbook::Tokens;
using tokenbook::bench::MakeEntry;

int64_t LargeEntries() {
  const char* n = std::getenv("TOKENBOOK_BENCH_SQLITE_ENTRIES");
  return n != nullptr && std::atoll(n) > 0 ? std::atoll(n) : 1'000'000;
}

std::string FreshDir() {
  char tmpl[] = "/tmp/tokenbook_bench_XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  return d == nullptr ? std::string() : std::string(d);
}

std::unique_ptr<Ledger> OpenUrl(benchmark::State& state, const std::string& url) {
  absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(url);
  if (!l.ok()) {
    state.SkipWithError(std::string(l.status().message()).c_str());
    return nullptr;
  }
  return std::move(*l);
}

void RunAppend(benchmark::State& state, bool keys) {
  const std::string dir = FreshDir();
  {
    std::unique_ptr<Ledger> ledger = OpenUrl(state, absl::StrCat("sqlite://", dir, "/ledger.db"));
    if (ledger == nullptr) return;
    int64_t n = 0;
    for (auto _ : state) {
      state.PauseTiming();
      Entry e = MakeEntry(n, 1'000'000);
      e.source_kind = keys ? "bench" : "";
      e.source_key = keys ? absl::StrCat("bench:", n) : "";
      ++n;
      state.ResumeTiming();
      absl::StatusOr<tokenbook::AppendResult> r = ledger->Append(std::move(e));
      if (!r.ok() || !r->appended) {
        state.SkipWithError(r.ok() ? "not appended" : std::string(r.status().message()).c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}

void BM_SqliteAppend(benchmark::State& state) { RunAppend(state, false); }
BENCHMARK(BM_SqliteAppend)->MinTime(1.0);
void BM_SqliteAppendSourceKey(benchmark::State& state) { RunAppend(state, true); }
BENCHMARK(BM_SqliteAppendSourceKey)->MinTime(1.0);

void BM_SqliteAppendBatch(benchmark::State& state) {
  const std::string dir = FreshDir();
  const int64_t size = state.range(0);
  {
    std::unique_ptr<Ledger> ledger = OpenUrl(state, absl::StrCat("sqlite://", dir, "/ledger.db"));
    if (ledger == nullptr) return;
    int64_t n = 0;
    for (auto _ : state) {
      state.PauseTiming();
      std::vector<Entry> batch;
      batch.reserve(static_cast<size_t>(size));
      for (int64_t k = 0; k < size; ++k) batch.push_back(MakeEntry(n++, 1'000'000));
      state.ResumeTiming();
      absl::StatusOr<std::vector<tokenbook::AppendResult>> r = ledger->AppendBatch(std::move(batch));
      if (!r.ok()) {
        state.SkipWithError(std::string(r.status().message()).c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * size);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteAppendBatch)->Arg(100)->Arg(10'000)->MinTime(1.0);

// The large database, generated on first use.
const std::string* LargeDatabase(benchmark::State& state) {
  static const std::string* const path = [&]() -> const std::string* {
    const int64_t n = LargeEntries();
    const std::string dir = absl::StrCat("/tmp/tokenbook_bench_sqlite_", n);
    const std::string db = absl::StrCat(dir, "/ledger.db");
    const std::string done = absl::StrCat(dir, "/complete");
    struct stat st;
    if (::stat(done.c_str(), &st) != 0) {
      std::filesystem::remove_all(dir);
      absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(absl::StrCat("sqlite://", db));
      if (!l.ok()) return nullptr;
      tokenbook::AppendOptions options;
      options.existing_ids = false;
      absl::Duration inserting;
      for (int64_t i = 0; i < n; i += 10'000) {
        std::vector<Entry> batch;
        batch.reserve(10'000);
        for (int64_t k = i; k < i + 10'000 && k < n; ++k) batch.push_back(MakeEntry(k, n));
        const absl::Time start = absl::Now();
        if (!(*l)->AppendBatch(std::move(batch), options).ok()) return nullptr;
        inserting += absl::Now() - start;
      }
      std::fprintf(stderr, "generated %lld entries in %s of AppendBatch(10,000): %.0f entries/s\n",
                   static_cast<long long>(n), absl::FormatDuration(inserting).c_str(),
                   static_cast<double>(n) / absl::ToDoubleSeconds(inserting));
      l->reset();
      if (FILE* f = std::fopen(done.c_str(), "w")) std::fclose(f);
    }
    return new std::string(db);
  }();
  if (path == nullptr) state.SkipWithError("cannot generate the large database");
  return path;
}

void BM_SqliteScanMonthByModel(benchmark::State& state) {
  const std::string* db = LargeDatabase(state);
  if (db == nullptr) return;
  std::unique_ptr<Ledger> ledger = OpenUrl(state, absl::StrCat("sqlite://", *db));
  if (ledger == nullptr) return;
  for (auto _ : state) {
    tokenbook::RollupQuery q;
    q.group_by = *tokenbook::ParseGroupBy("month,model");
    absl::StatusOr<tokenbook::Rollup> rollup = tokenbook::Rollup::Create(std::move(q));
    if (!rollup.ok()) std::abort();
    absl::Status s = ledger->Scan([&](const Entry& e) { rollup->Add(e); });
    absl::StatusOr<tokenbook::RollupReport> report = rollup->Finish();
    if (!s.ok() || !report.ok()) {
      state.SkipWithError("scan failed");
      break;
    }
    benchmark::DoNotOptimize(report->total.cost);
    state.counters["groups"] = static_cast<double>(report->groups.size());
  }
  state.SetItemsProcessed(state.iterations() * LargeEntries());
}
BENCHMARK(BM_SqliteScanMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_SqliteTotalsMonthByModel(benchmark::State& state) {
  const std::string* db = LargeDatabase(state);
  if (db == nullptr) return;
  std::unique_ptr<Ledger> ledger = OpenUrl(state, absl::StrCat("sqlite://", *db));
  if (ledger == nullptr) return;
  for (auto _ : state) {
    tokenbook::RollupQuery q;
    q.group_by = *tokenbook::ParseGroupBy("month,model");
    absl::StatusOr<tokenbook::Rollup> rollup = tokenbook::Rollup::Create(std::move(q));
    if (!rollup.ok()) std::abort();
    absl::StatusOr<bool> summed = ledger->AddTotalsTo(&*rollup);
    absl::StatusOr<tokenbook::RollupReport> report = rollup->Finish();
    if (!summed.ok() || !*summed || !report.ok() || report->total.entries != LargeEntries()) {
      state.SkipWithError("totals failed");
      break;
    }
    benchmark::DoNotOptimize(report->total.cost);
    state.counters["groups"] = static_cast<double>(report->groups.size());
  }
  state.SetItemsProcessed(state.iterations() * LargeEntries());
}
BENCHMARK(BM_SqliteTotalsMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

void BM_SqliteSqlMonthByModel(benchmark::State& state) {
  const std::string* db = LargeDatabase(state);
  if (db == nullptr) return;
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db->c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    state.SkipWithError("cannot open the database");
    return;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> con(raw, sqlite3_close);
  for (auto _ : state) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(con.get(), "SELECT month, model, entries, cost_micros FROM monthly_by_model", -1, &s, nullptr);
    int64_t total = 0;
    int groups = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
      total += sqlite3_column_int64(s, 3);
      ++groups;
    }
    sqlite3_finalize(s);
    benchmark::DoNotOptimize(total);
    state.counters["groups"] = groups;
  }
  state.SetItemsProcessed(state.iterations() * LargeEntries());
}
BENCHMARK(BM_SqliteSqlMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace
