// The PostgreSQL ledger backend (docs/backends.md): inserts and reading a
// large database back, against a server named by TOKENBOOK_BENCH_PG_URL (a
// URL without a database, e.g. postgresql://tokenbook@127.0.0.1:5432; the
// benchmarks create their databases there). Skipped when it is not set.
//
//   BM_PgAppend                 one entry per Append (one transaction each)
//   BM_PgAppendBatch/N          N entries per AppendBatch (one transaction)
//   BM_PgScanMonthByModel       Ledger::Scan of the large database into a
//                               month-by-model Rollup (reports the kept
//                               totals cannot answer)
//   BM_PgTotalsMonthByModel     the same report from quarter_totals
//                               (Ledger::AddTotalsTo): what `tokenbook report
//                               --by month,model` does on it
//   BM_PgSqlMonthByModel        the same totals as one SQL GROUP BY (the
//                               monthly_by_model view), for comparison
//
// The large database holds TOKENBOOK_BENCH_PG_ENTRIES entries (default
// 1,000,000), generated once into the database tkb_bench_<N> by AppendBatch
// of 10,000 (the rate is printed) and reused by later runs; drop it to
// regenerate it.
#include <libpq-fe.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
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
#include "tokenbook/rollup.h"
#include "bench_entries.h"

namespace {

using tokenbook::Entry;
using tokenbook::Ledger;
using tokenbook::bench::MakeEntry;

int64_t LargeEntries() {
  const char* n = std::getenv("TOKENBOOK_BENCH_PG_ENTRIES");
  return n != nullptr && std::atoll(n) > 0 ? std::atoll(n) : 1'000'000;
}

// The server's URL, or empty (and the benchmark skipped).
std::string Server(benchmark::State& state) {
  const char* url = std::getenv("TOKENBOOK_BENCH_PG_URL");
  if (url == nullptr || *url == '\0') {
    state.SkipWithError("TOKENBOOK_BENCH_PG_URL is not set (a PostgreSQL server URL without a database)");
    return "";
  }
  return url;
}

// Runs SQL in the server's maintenance database; false on an error.
bool Admin(const std::string& server, const std::string& sql) {
  const std::string url = absl::StrCat(server, "/postgres");
  PGconn* c = PQconnectdb(url.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

std::unique_ptr<Ledger> OpenUrl(benchmark::State& state, const std::string& url) {
  absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(url);
  if (!l.ok()) {
    state.SkipWithError(std::string(l.status().message()).c_str());
    return nullptr;
  }
  return std::move(*l);
}

// A fresh database for the insert benchmarks.
std::string FreshDatabase(benchmark::State& state, const std::string& server) {
  if (!Admin(server, "DROP DATABASE IF EXISTS tkb_bench_inserts WITH (FORCE)") ||
      !Admin(server, "CREATE DATABASE tkb_bench_inserts")) {
    state.SkipWithError("cannot create the database tkb_bench_inserts");
    return "";
  }
  return absl::StrCat(server, "/tkb_bench_inserts");
}

void BM_PgAppend(benchmark::State& state) {
  const std::string server = Server(state);
  if (server.empty()) return;
  const std::string url = FreshDatabase(state, server);
  if (url.empty()) return;
  std::unique_ptr<Ledger> ledger = OpenUrl(state, url);
  if (ledger == nullptr) return;
  int64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Entry e = MakeEntry(n++, 1'000'000);
    state.ResumeTiming();
    absl::StatusOr<tokenbook::AppendResult> r = ledger->Append(std::move(e));
    if (!r.ok() || !r->appended) {
      state.SkipWithError(r.ok() ? "not appended" : std::string(r.status().message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PgAppend)->UseRealTime()->MinTime(1.0);

void BM_PgAppendBatch(benchmark::State& state) {
  const std::string server = Server(state);
  if (server.empty()) return;
  const std::string url = FreshDatabase(state, server);
  if (url.empty()) return;
  std::unique_ptr<Ledger> ledger = OpenUrl(state, url);
  if (ledger == nullptr) return;
  const int64_t size = state.range(0);
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
BENCHMARK(BM_PgAppendBatch)->Arg(100)->Arg(10'000)->UseRealTime()->MinTime(1.0);

// The large database's URL, generated on first use.
const std::string* LargeDatabase(benchmark::State& state) {
  const std::string server = Server(state);
  if (server.empty()) return nullptr;
  static const std::string* const url = [&]() -> const std::string* {
    const int64_t n = LargeEntries();
    const std::string name = absl::StrCat("tkb_bench_", n);
    const std::string u = absl::StrCat(server, "/", name);
    // A database whose generation finished has the table bench_complete.
    {
      PGconn* c = PQconnectdb(u.c_str());
      bool complete = false;
      if (PQstatus(c) == CONNECTION_OK) {
        PGresult* r = PQexec(c, "SELECT to_regclass('bench_complete') IS NOT NULL");
        complete = PQresultStatus(r) == PGRES_TUPLES_OK && absl::string_view(PQgetvalue(r, 0, 0)) == "t";
        PQclear(r);
      }
      PQfinish(c);
      if (complete) return new std::string(u);
    }
    if (!Admin(server, absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)")) ||
        !Admin(server, absl::StrCat("CREATE DATABASE ", name))) {
      return nullptr;
    }
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(u);
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
    PGconn* c = PQconnectdb(u.c_str());
    PQclear(PQexec(c, "VACUUM ANALYZE"));
    PQclear(PQexec(c, "CREATE TABLE bench_complete ()"));
    PQfinish(c);
    return new std::string(u);
  }();
  if (url == nullptr) state.SkipWithError("cannot generate the large database");
  return url;
}

void RunMonthByModel(benchmark::State& state, bool totals) {
  const std::string* url = LargeDatabase(state);
  if (url == nullptr) return;
  std::unique_ptr<Ledger> ledger = OpenUrl(state, *url);
  if (ledger == nullptr) return;
  for (auto _ : state) {
    tokenbook::RollupQuery q;
    q.group_by = *tokenbook::ParseGroupBy("month,model");
    absl::StatusOr<tokenbook::Rollup> rollup = tokenbook::Rollup::Create(std::move(q));
    if (!rollup.ok()) std::abort();
    bool ok = true;
    if (totals) {
      absl::StatusOr<bool> summed = ledger->AddTotalsTo(&*rollup);
      ok = summed.ok() && *summed;
    } else {
      ok = ledger->Scan([&](const Entry& e) { rollup->Add(e); }).ok();
    }
    absl::StatusOr<tokenbook::RollupReport> report = rollup->Finish();
    if (!ok || !report.ok() || report->total.entries != LargeEntries()) {
      state.SkipWithError("the report failed");
      break;
    }
    benchmark::DoNotOptimize(report->total.cost);
    state.counters["groups"] = static_cast<double>(report->groups.size());
  }
  state.SetItemsProcessed(state.iterations() * LargeEntries());
}

void BM_PgScanMonthByModel(benchmark::State& state) { RunMonthByModel(state, false); }
BENCHMARK(BM_PgScanMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
void BM_PgTotalsMonthByModel(benchmark::State& state) { RunMonthByModel(state, true); }
BENCHMARK(BM_PgTotalsMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

void BM_PgSqlMonthByModel(benchmark::State& state) {
  const std::string* url = LargeDatabase(state);
  if (url == nullptr) return;
  PGconn* c = PQconnectdb(url->c_str());
  for (auto _ : state) {
    PGresult* r = PQexec(c, "SELECT month, model, entries, cost_micros FROM monthly_by_model");
    int64_t total = 0;
    for (int i = 0; i < PQntuples(r); ++i) total += std::atoll(PQgetvalue(r, i, 3));
    state.counters["groups"] = PQntuples(r);
    PQclear(r);
    benchmark::DoNotOptimize(total);
  }
  PQfinish(c);
  state.SetItemsProcessed(state.iterations() * LargeEntries());
}
BENCHMARK(BM_PgSqlMonthByModel)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace
