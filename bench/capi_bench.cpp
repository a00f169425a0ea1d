// The C ABI next to the C++ it wraps: pricing, logging and the admission
// check, each through tkb_* and directly (target: the C ABI within 1.5×).
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "tokenbook/book.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/tokenbook.h"

namespace {

std::string TempLedger(const char* tag) {
  char path[] = "/tmp/tkb-capi-bench-XXXXXX";
  if (mkdtemp(path) == nullptr) std::abort();
  const std::string dir = std::string(path) + "/" + tag;
  return dir;
}

void RemoveTree(const std::string& dir) {
  const std::string cmd = "rm -rf '" + dir.substr(0, dir.rfind('/')) + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
}

void WriteBudget(const std::string& dir) {
  const std::string mk = "mkdir -p '" + dir + "'";
  if (std::system(mk.c_str()) != 0) std::abort();
  FILE* f = std::fopen((dir + "/config.toml").c_str(), "w");
  std::fputs("[budgets]\nmonthly = \"1000000\"\naction = \"block\"\n", f);
  std::fclose(f);
}

void BM_PriceCpp(benchmark::State& state) {
  const tokenbook::RateTable& rates = tokenbook::BuiltinRates();
  tokenbook::PriceRequest req;
  req.tokens[tokenbook::TokenKind::kInput] = tokenbook::Tokens(12000);
  req.tokens[tokenbook::TokenKind::kOutput] = tokenbook::Tokens(4500);
  for (auto _ : state) {
    const tokenbook::Resolution r = rates.Resolve("claude-sonnet-4-5");
    benchmark::DoNotOptimize(tokenbook::CostOf(*r.model, req));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PriceCpp);

void BM_PriceCapi(benchmark::State& state) {
  tkb_rates* rates = nullptr;
  if (tkb_rates_builtin(&rates) != TKB_OK) std::abort();
  tkb_price_request req = TKB_PRICE_REQUEST_INIT;
  req.model = "claude-sonnet-4-5";
  req.tokens.input = 12000;
  req.tokens.output = 4500;
  int64_t cost = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tkb_price(rates, &req, &cost));
  }
  tkb_rates_free(rates);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PriceCapi);

void BM_LogCpp(benchmark::State& state) {
  const std::string dir = TempLedger("cpp");
  WriteBudget(dir);
  auto book = tokenbook::Book::Open(dir);
  if (!book.ok()) std::abort();
  for (auto _ : state) {
    tokenbook::Entry e;
    e.model = "claude-sonnet-4-5";
    e.tokens[tokenbook::TokenKind::kInput] = tokenbook::Tokens(12000);
    e.tokens[tokenbook::TokenKind::kOutput] = tokenbook::Tokens(4500);
    e.session = "s1";
    benchmark::DoNotOptimize((*book)->Log(std::move(e), absl::Now()));
  }
  state.SetItemsProcessed(state.iterations());
  book->reset();
  RemoveTree(dir);
}
BENCHMARK(BM_LogCpp)->MinTime(1.0);

void BM_LogCapi(benchmark::State& state) {
  const std::string dir = TempLedger("capi");
  WriteBudget(dir);
  tkb_ledger* ledger = nullptr;
  if (tkb_ledger_open(&ledger, dir.c_str(), nullptr) != TKB_OK) std::abort();
  tkb_entry e = TKB_ENTRY_INIT;
  e.model = "claude-sonnet-4-5";
  e.tokens.input = 12000;
  e.tokens.output = 4500;
  e.session = "s1";
  tkb_log_result r = TKB_LOG_RESULT_INIT;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tkb_ledger_log(ledger, &e, &r));
  }
  state.SetItemsProcessed(state.iterations());
  tkb_ledger_free(ledger);
  RemoveTree(dir);
}
BENCHMARK(BM_LogCapi)->MinTime(1.0);

void BM_AdmitCpp(benchmark::State& state) {
  const std::string dir = TempLedger("cpp-admit");
  WriteBudget(dir);
  auto book = tokenbook::Book::Open(dir);
  if (!book.ok()) std::abort();
  tokenbook::SharedAdmissionRequest req;
  req.session = "s1";
  for (auto _ : state) {
    tokenbook::Entry e;
    e.model = "claude-sonnet-4-5";
    e.tokens[tokenbook::TokenKind::kInput] = tokenbook::Tokens(12000);
    e.tokens[tokenbook::TokenKind::kOutput] = tokenbook::Tokens(4500);
    if (!tokenbook::PriceEntry((*book)->rates(), &e, true).ok()) std::abort();
    req.estimate = e.cost;
    req.now = absl::Now();
    benchmark::DoNotOptimize((*book)->budgets().Check(req));
  }
  state.SetItemsProcessed(state.iterations());
  book->reset();
  RemoveTree(dir);
}
BENCHMARK(BM_AdmitCpp);

void BM_AdmitCapi(benchmark::State& state) {
  const std::string dir = TempLedger("capi-admit");
  WriteBudget(dir);
  tkb_ledger* ledger = nullptr;
  if (tkb_ledger_open(&ledger, dir.c_str(), nullptr) != TKB_OK) std::abort();
  tkb_entry e = TKB_ENTRY_INIT;
  e.model = "claude-sonnet-4-5";
  e.tokens.input = 12000;
  e.tokens.output = 4500;
  e.session = "s1";
  tkb_admission a = TKB_ADMISSION_INIT;
  for (auto _ : state) {
    benchmark::DoNotOptimize(tkb_ledger_admit(ledger, &e, 0, &a));
  }
  state.SetItemsProcessed(state.iterations());
  tkb_ledger_free(ledger);
  RemoveTree(dir);
}
BENCHMARK(BM_AdmitCapi);

}  // namespace
