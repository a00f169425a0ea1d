// The entries the database benchmarks insert (sqlite_bench.cpp,
// postgres_bench.cpp): a year of usage, eight models, a few dimensions, now
// and then tags and a source key, as in ledger_bench.cpp.
#ifndef TOKENBOOK_BENCH_BENCH_ENTRIES_H_
#define TOKENBOOK_BENCH_BENCH_ENTRIES_H_

#include <array>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"

namespace tokenbook::bench {

constexpr std::array<const char*, 8> kModels = {
    "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5",
    "gpt-5-mini",        "gemini-2.5-pro",  "gemini-2.5-flash", "llama3.1:8b"};
constexpr std::array<const char*, 6> kFeatures = {"search", "checkout", "ledger", "onboarding", "reports", "sync"};
constexpr std::array<const char*, 4> kAgents = {"planner", "coder", "reviewer", "tester"};

// Entry i of n spread over 2026.
inline Entry MakeEntry(int64_t i, int64_t n) {
  Entry e;
  e.timestamp = absl::FromUnixMillis(1'767'225'600'000 + i * (31'536'000'000 / n) + i % 1000);
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

}  // namespace tokenbook::bench

#endif  // TOKENBOOK_BENCH_BENCH_ENTRIES_H_
