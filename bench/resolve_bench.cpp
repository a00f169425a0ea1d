// Model-name resolution: RateTable::Resolve() with its cache warm (target:
// under 100 ns), ResolveUncached() (the lookup the cache saves), and Resolve()
// on names it has never seen (a miss that also fills the cache).
//
// Three tables: a few dozen models built here in code, the built-in table and
// LiteLLM's database (about 3,000 entries). Five name forms: the exact id, a
// dated id (an alias where the table has one), a Bedrock inference-profile
// path, a family name ("-thinking") and an unknown name. Each result's label
// says how the name matched, so a form that resolves differently in one table
// is visible in the output.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/rates.h"

namespace {

using tokenbook::ContextTier;
using tokenbook::MatchKind;
using tokenbook::MicrosPerMTok;
using tokenbook::ModelRates;
using tokenbook::RateTable;
using tokenbook::Rational;
using tokenbook::Resolution;
using tokenbook::ServiceTier;
using tokenbook::TokenKind;
using tokenbook::TokenRates;

// ---------------------------------------------------------------------------
// The small table: real models and list prices, in µ$/MTok (-1: no such rate).

struct Spec {
  const char* id;
  const char* provider;
  std::vector<const char*> aliases;
  int64_t input, output, cache_read, write_5m, write_1h;
  // Long-context tier: prompt tokens above which `long_*` apply (0: none).
  int64_t long_above = 0;
  int64_t long_input = -1, long_output = -1;
};

TokenRates Rates(int64_t input, int64_t output, int64_t cache_read, int64_t write_5m,
                 int64_t write_1h) {
  TokenRates r;
  auto set = [&](TokenKind k, int64_t v) {
    if (v >= 0) r[k] = MicrosPerMTok(v);
  };
  set(TokenKind::kInput, input);
  set(TokenKind::kOutput, output);
  set(TokenKind::kCacheRead, cache_read);
  set(TokenKind::kCacheWrite5m, write_5m);
  set(TokenKind::kCacheWrite1h, write_1h);
  return r;
}

const std::vector<Spec>& SmallSpecs() {
  static const auto* const specs = new std::vector<Spec>{
      // Anthropic
      {"claude-opus-4-5", "anthropic", {"claude-opus-4-5-20251101"}, 5'000'000, 25'000'000, 500'000, 6'250'000, 10'000'000},
      {"claude-opus-4-1", "anthropic", {"claude-opus-4-1-20250805"}, 15'000'000, 75'000'000, 1'500'000, 18'750'000, 30'000'000},
      {"claude-opus-4", "anthropic", {"claude-opus-4-20250514"}, 15'000'000, 75'000'000, 1'500'000, 18'750'000, 30'000'000},
      {"claude-sonnet-4-5", "anthropic", {"claude-sonnet-4-5-20250929"}, 3'000'000, 15'000'000, 300'000, 3'750'000, 6'000'000, 200'000, 6'000'000, 22'500'000},
      {"claude-sonnet-4", "anthropic", {"claude-sonnet-4-20250514"}, 3'000'000, 15'000'000, 300'000, 3'750'000, 6'000'000, 200'000, 6'000'000, 22'500'000},
      {"claude-3-7-sonnet", "anthropic", {"claude-3-7-sonnet-20250219"}, 3'000'000, 15'000'000, 300'000, 3'750'000, 6'000'000},
      {"claude-haiku-4-5", "anthropic", {"claude-haiku-4-5-20251001"}, 1'000'000, 5'000'000, 100'000, 1'250'000, 2'000'000},
      {"claude-3-5-haiku", "anthropic", {"claude-3-5-haiku-20241022"}, 800'000, 4'000'000, 80'000, 1'000'000, 1'600'000},
      {"claude-3-haiku", "anthropic", {"claude-3-haiku-20240307"}, 250'000, 1'250'000, 30'000, 300'000, 500'000},
      {"claude-3-opus", "anthropic", {"claude-3-opus-20240229"}, 15'000'000, 75'000'000, 1'500'000, 18'750'000, 30'000'000},
      // OpenAI
      {"gpt-5", "openai", {"gpt-5-2025-08-07"}, 1'250'000, 10'000'000, 125'000, -1, -1},
      {"gpt-5-mini", "openai", {"gpt-5-mini-2025-08-07"}, 250'000, 2'000'000, 25'000, -1, -1},
      {"gpt-5-nano", "openai", {"gpt-5-nano-2025-08-07"}, 50'000, 400'000, 5'000, -1, -1},
      {"gpt-4.1", "openai", {"gpt-4.1-2025-04-14"}, 2'000'000, 8'000'000, 500'000, -1, -1},
      {"gpt-4.1-mini", "openai", {"gpt-4.1-mini-2025-04-14"}, 400'000, 1'600'000, 100'000, -1, -1},
      {"gpt-4.1-nano", "openai", {"gpt-4.1-nano-2025-04-14"}, 100'000, 400'000, 25'000, -1, -1},
      {"gpt-4o", "openai", {"gpt-4o-2024-08-06"}, 2'500'000, 10'000'000, 1'250'000, -1, -1},
      {"gpt-4o-mini", "openai", {"gpt-4o-mini-2024-07-18"}, 150'000, 600'000, 75'000, -1, -1},
      {"o3", "openai", {"o3-2025-04-16"}, 2'000'000, 8'000'000, 500'000, -1, -1},
      {"o3-mini", "openai", {"o3-mini-2025-01-31"}, 1'100'000, 4'400'000, 550'000, -1, -1},
      {"o4-mini", "openai", {"o4-mini-2025-04-16"}, 1'100'000, 4'400'000, 275'000, -1, -1},
      {"o1", "openai", {"o1-2024-12-17"}, 15'000'000, 60'000'000, 7'500'000, -1, -1},
      {"gpt-5-codex", "openai", {}, 1'250'000, 10'000'000, 125'000, -1, -1},
      // Google
      {"gemini-2.5-pro", "google", {}, 1'250'000, 10'000'000, 125'000, -1, -1, 200'000, 2'500'000, 15'000'000},
      {"gemini-2.5-flash", "google", {}, 300'000, 2'500'000, 30'000, -1, -1},
      {"gemini-2.5-flash-lite", "google", {}, 100'000, 400'000, 10'000, -1, -1},
      {"gemini-2.0-flash", "google", {"gemini-2.0-flash-001"}, 100'000, 400'000, 25'000, -1, -1},
      // Others
      {"deepseek-chat", "deepseek", {}, 280'000, 420'000, 28'000, -1, -1},
      {"deepseek-reasoner", "deepseek", {}, 280'000, 420'000, 28'000, -1, -1},
      {"mistral-large-latest", "mistral", {"mistral-large-2411"}, 2'000'000, 6'000'000, -1, -1, -1},
      {"mistral-small-latest", "mistral", {"mistral-small-2503"}, 100'000, 300'000, -1, -1, -1},
      {"codestral-latest", "mistral", {"codestral-2508"}, 300'000, 900'000, -1, -1, -1},
      {"grok-4", "xai", {"grok-4-0709"}, 3'000'000, 15'000'000, 750'000, -1, -1},
      {"grok-3-mini", "xai", {}, 300'000, 500'000, 75'000, -1, -1},
      {"command-r-plus", "cohere", {"command-r-plus-08-2024"}, 2'500'000, 10'000'000, -1, -1, -1},
      {"command-r", "cohere", {"command-r-08-2024"}, 150'000, 600'000, -1, -1, -1},
  };
  return *specs;
}

RateTable BuildSmallTable() {
  RateTable table;
  table.set_as_of("2026-11-01");
  for (const Spec& s : SmallSpecs()) {
    ModelRates m;
    m.id = s.id;
    m.provider = s.provider;
    for (const char* alias : s.aliases) m.aliases.emplace_back(alias);
    m.as_of = "2026-11-01";
    m.source = "bench";
    m.pricing.standard.rates = Rates(s.input, s.output, s.cache_read, s.write_5m, s.write_1h);
    if (s.long_above > 0) {
      ContextTier tier;
      tier.above_tokens = s.long_above;
      tier.rates = Rates(s.long_input, s.long_output, -1, -1, -1);
      m.pricing.standard.tiers.push_back(std::move(tier));
    }
    m.pricing.service_tiers.push_back(ServiceTier{"batch", Rational{1, 2}, std::nullopt});
    // Add() only fails on a duplicate, which would be a defect in the list above.
    if (!table.Add(std::move(m)).ok()) return RateTable();
  }
  return table;
}

// ---------------------------------------------------------------------------
// The tables, each built once on first use, outside any timed region.

enum class Table { kSmall, kBuiltin, kLiteLlm };

absl::string_view TableName(Table t) {
  switch (t) {
    case Table::kSmall: return "small";
    case Table::kBuiltin: return "builtin";
    case Table::kLiteLlm: return "litellm";
  }
  return "?";
}

// The table, or null with `*error` set when it could not be had.
const RateTable* GetTable(Table t, std::string* error) {
  switch (t) {
    case Table::kSmall: {
      static const RateTable* const small = new RateTable(BuildSmallTable());
      if (small->size() == 0) *error = "the in-code table failed to build";
      return small->size() == 0 ? nullptr : small;
    }
    case Table::kBuiltin: {
      const RateTable& builtin = tokenbook::BuiltinRates();
      if (builtin.size() == 0) *error = "the built-in table is empty";
      return builtin.size() == 0 ? nullptr : &builtin;
    }
    case Table::kLiteLlm: {
      static const auto* const litellm = new absl::StatusOr<RateTable>(
          tokenbook::LoadRateFile(TOKENBOOK_SOURCE_DIR "/tests/data/litellm_model_prices.json"));
      if (!litellm->ok()) {
        *error = litellm->status().ToString();
        return nullptr;
      }
      if ((*litellm)->size() == 0) {
        *error = "the LiteLLM table is empty";
        return nullptr;
      }
      return &**litellm;
    }
  }
  return nullptr;
}

const RateTable* TableOrSkip(benchmark::State& state, Table t) {
  std::string error;
  const RateTable* table = GetTable(t, &error);
  if (table == nullptr) state.SkipWithError(absl::StrCat(TableName(t), ": ", error).c_str());
  return table;
}

std::string Describe(const Resolution& r) {
  if (r.model == nullptr) return std::string(tokenbook::MatchKindName(r.match));
  return absl::StrCat(tokenbook::MatchKindName(r.match), " -> ", r.model->id);
}

// ---------------------------------------------------------------------------
// Name forms.

struct NameForm {
  const char* label;
  const char* name;
};

constexpr std::array<NameForm, 5> kForms = {{
    {"exact", "claude-sonnet-4-5"},
    {"dated", "claude-sonnet-4-5-20250929"},
    {"bedrock", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
    {"family", "claude-sonnet-4-5-thinking"},
    {"unknown", "acme-frontier-9-preview"},
}};

// Resolve() with the answer already cached: the per-request path of a ledger.
void BM_ResolveCached(benchmark::State& state, Table t, NameForm form) {
  const RateTable* table = TableOrSkip(state, t);
  if (table == nullptr) return;
  // The caller's name is usually a view of a string it just parsed; a copy
  // here keeps the hash from seeing a pointer to a literal.
  const std::string name = form.name;
  const Resolution first = table->Resolve(name);
  for (auto _ : state) {
    Resolution r = table->Resolve(name);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) state.SetLabel(Describe(first));
}

// The full lookup with no cache: id, alias, normalised name, family prefix.
void BM_ResolveUncached(benchmark::State& state, Table t, NameForm form) {
  const RateTable* table = TableOrSkip(state, t);
  if (table == nullptr) return;
  const std::string name = form.name;
  for (auto _ : state) {
    Resolution r = table->ResolveUncached(name);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Describe(table->ResolveUncached(name)));
}

// Resolve() on names never seen before: a cache miss, the uncached lookup,
// the write lock and an insertion (with, every 65,536 insertions, the cache
// being cleared). kFresh names exceed the cache's capacity, so a name comes
// round again only after the cache has been cleared since it was inserted.
constexpr size_t kFresh = size_t{1} << 17;

enum class FreshKind {
  kKnownVariant,  // "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:<n>"
  kUnknown,       // "acme-model-<n>-preview"
};

const std::vector<std::string>& FreshNames(FreshKind kind) {
  auto build = [](FreshKind k) {
    auto* names = new std::vector<std::string>();
    names->reserve(kFresh);
    for (size_t n = 0; n < kFresh; ++n) {
      names->push_back(k == FreshKind::kKnownVariant
                           ? absl::StrCat("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:", n)
                           : absl::StrCat("acme-model-", n, "-preview"));
    }
    return names;
  };
  static const auto* const known = build(FreshKind::kKnownVariant);
  static const auto* const unknown = build(FreshKind::kUnknown);
  return kind == FreshKind::kKnownVariant ? *known : *unknown;
}

void BM_ResolveFresh(benchmark::State& state, Table t, FreshKind kind) {
  const RateTable* table = TableOrSkip(state, t);
  if (table == nullptr) return;
  const std::vector<std::string>& names = FreshNames(kind);
  // One cursor per table and kind that survives the runner's repeated calls,
  // so no name is reused while it could still be cached.
  static std::array<size_t, 6> cursors{};
  size_t& cursor = cursors[static_cast<size_t>(t) * 2 + static_cast<size_t>(kind)];
  for (auto _ : state) {
    Resolution r = table->Resolve(names[cursor++ & (kFresh - 1)]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(Describe(table->ResolveUncached(names[0])));
}

// Registered in a loop so that every table meets every name form.
const bool kRegistered = [] {
  for (Table t : {Table::kSmall, Table::kBuiltin, Table::kLiteLlm}) {
    const std::string table = std::string(TableName(t));
    for (const NameForm& form : kForms) {
      benchmark::RegisterBenchmark(absl::StrCat("BM_ResolveCached/", table, "/", form.label).c_str(),
                                   BM_ResolveCached, t, form);
    }
    // Two threads on one table: the cache's reader lock is shared state.
    benchmark::RegisterBenchmark(absl::StrCat("BM_ResolveCached/", table, "/exact").c_str(),
                                 BM_ResolveCached, t, kForms[0])
        ->Threads(2)
        ->UseRealTime();
    for (const NameForm& form : kForms) {
      benchmark::RegisterBenchmark(
          absl::StrCat("BM_ResolveUncached/", table, "/", form.label).c_str(), BM_ResolveUncached,
          t, form);
    }
    benchmark::RegisterBenchmark(absl::StrCat("BM_ResolveFresh/", table, "/bedrock_variant").c_str(),
                                 BM_ResolveFresh, t, FreshKind::kKnownVariant);
    benchmark::RegisterBenchmark(absl::StrCat("BM_ResolveFresh/", table, "/unknown").c_str(),
                                 BM_ResolveFresh, t, FreshKind::kUnknown);
  }
  return true;
}();

// Resolution then pricing, as a ledger does for each logged request.
void BM_ResolveAndCost(benchmark::State& state, Table t) {
  const RateTable* table = TableOrSkip(state, t);
  if (table == nullptr) return;
  const std::array<std::string, 4> names = {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929",
                                            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                                            "claude-haiku-4-5"};
  for (const std::string& n : names) {
    if (table->Resolve(n).model == nullptr) {
      state.SkipWithError(absl::StrCat("unresolved: ", n).c_str());
      return;
    }
  }
  tokenbook::PriceRequest req;
  size_t i = 0;
  for (auto _ : state) {
    const Resolution r = table->Resolve(names[i & 3]);
    req.tokens[TokenKind::kInput] = tokenbook::Tokens(static_cast<int64_t>(1000 + (i & 1023)));
    req.tokens[TokenKind::kOutput] = tokenbook::Tokens(static_cast<int64_t>(200 + (i & 511)));
    auto cost = tokenbook::CostOf(*r.model, req);
    benchmark::DoNotOptimize(cost);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_ResolveAndCost, small, Table::kSmall);
BENCHMARK_CAPTURE(BM_ResolveAndCost, builtin, Table::kBuiltin);
BENCHMARK_CAPTURE(BM_ResolveAndCost, litellm, Table::kLiteLlm);

}  // namespace
