// Pricing one request on an already resolved model: CostOf() and ExplainCost().
//
// The model is Claude Sonnet 4.5 as Anthropic bills it: base rates, a
// long-context tier above 200K prompt tokens and a batch tier at half price.
// Requests come from a precomputed ring of varied token counts, so the
// compiler can fold nothing and the branch predictor sees realistic data.
// Target: at least 20 million priced requests per second on one core.
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace {

using tokenbook::ContextTier;
using tokenbook::MicrosPerMTok;
using tokenbook::ModelRates;
using tokenbook::PriceRequest;
using tokenbook::Rational;
using tokenbook::ServiceTier;
using tokenbook::TokenKind;
using tokenbook::TokenRates;
using tokenbook::Tokens;

// Rates are written in µ$/MTok: $3/MTok is 3'000'000.
TokenRates AnthropicRates(int64_t input, int64_t output, int64_t cache_read, int64_t write_5m,
                          int64_t write_1h) {
  TokenRates r;
  r[TokenKind::kInput] = MicrosPerMTok(input);
  r[TokenKind::kOutput] = MicrosPerMTok(output);
  r[TokenKind::kCacheRead] = MicrosPerMTok(cache_read);
  r[TokenKind::kCacheWrite5m] = MicrosPerMTok(write_5m);
  r[TokenKind::kCacheWrite1h] = MicrosPerMTok(write_1h);
  return r;
}

ModelRates SonnetFourFive() {
  ModelRates m;
  m.id = "claude-sonnet-4-5";
  m.provider = "anthropic";
  m.aliases = {"claude-sonnet-4-5-20250929"};
  m.as_of = "2026-11-01";
  m.source = "bench";
  m.pricing.standard.rates = AnthropicRates(3'000'000, 15'000'000, 300'000, 3'750'000, 6'000'000);
  ContextTier long_context;
  long_context.above_tokens = 200'000;
  long_context.rates = AnthropicRates(6'000'000, 22'500'000, 600'000, 7'500'000, 12'000'000);
  m.pricing.standard.tiers.push_back(std::move(long_context));
  m.pricing.service_tiers.push_back(ServiceTier{"batch", Rational{1, 2}, std::nullopt});
  return m;
}

const ModelRates& Sonnet() {
  static const ModelRates* const model = new ModelRates(SonnetFourFive());
  return *model;
}

enum class Shape {
  kPlain,        // standard tier, prompt below 200K
  kLongContext,  // standard tier, prompt above 200K
  kBatch,        // batch tier, prompt below 200K
};

constexpr size_t kRing = 1024;  // a power of two: the index is masked, not divided

// A small deterministic generator: the same requests on every run.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  // Uniform enough in [lo, hi).
  int64_t Next(int64_t lo, int64_t hi) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<int64_t>((state_ >> 33) % static_cast<uint64_t>(hi - lo));
  }

 private:
  uint64_t state_;
};

// Requests shaped like agent turns: a cached prefix, some fresh input, a cache
// write now and then, output of a few hundred to a few thousand tokens.
const std::array<PriceRequest, kRing>& Requests(Shape shape) {
  auto build = [](Shape s) {
    auto* ring = new std::array<PriceRequest, kRing>();
    Lcg rng(0x70b3'b00c + static_cast<uint64_t>(s));
    for (PriceRequest& req : *ring) {
      const bool long_context = s == Shape::kLongContext;
      req.tokens[TokenKind::kInput] = Tokens(rng.Next(1, long_context ? 60'000 : 20'000));
      req.tokens[TokenKind::kCacheRead] =
          Tokens(long_context ? rng.Next(200'000, 900'000) : rng.Next(0, 150'000));
      req.tokens[TokenKind::kCacheWrite5m] = Tokens(rng.Next(0, 4) == 0 ? rng.Next(1, 30'000) : 0);
      req.tokens[TokenKind::kCacheWrite1h] = Tokens(rng.Next(0, 16) == 0 ? rng.Next(1, 30'000) : 0);
      req.tokens[TokenKind::kOutput] = Tokens(rng.Next(1, 8'000));
      req.tokens[TokenKind::kReasoning] = Tokens(rng.Next(0, req.tokens.output().value() + 1));
      req.service_tier = s == Shape::kBatch ? "batch" : "";
    }
    return ring;
  };
  static const auto* const plain = build(Shape::kPlain);
  static const auto* const long_context = build(Shape::kLongContext);
  static const auto* const batch = build(Shape::kBatch);
  switch (shape) {
    case Shape::kPlain: return *plain;
    case Shape::kLongContext: return *long_context;
    case Shape::kBatch: return *batch;
  }
  return *plain;
}

// Known answers, checked before timing so a fast wrong answer never reports.
bool CheckKnownCosts(benchmark::State& state) {
  struct Case {
    int64_t input, output;
    absl::string_view tier;
    int64_t expected_micros;
  };
  static constexpr Case kCases[] = {
      {100'000, 10'000, "", 450'000},         // 0.30 + 0.15
      {300'000, 10'000, "", 2'025'000},       // above 200K: 1.80 + 0.225
      {100'000, 10'000, "batch", 225'000},    // half of the first
      {1, 0, "", 3},                          // $3e-6 exactly
      {1, 0, "batch", 2},                     // 1.5 µ$ rounds half-even to 2
  };
  for (const Case& c : kCases) {
    PriceRequest req;
    req.tokens[TokenKind::kInput] = Tokens(c.input);
    req.tokens[TokenKind::kOutput] = Tokens(c.output);
    req.service_tier = c.tier;
    auto cost = tokenbook::CostOf(Sonnet(), req);
    if (!cost.ok() || cost->value() != c.expected_micros) {
      state.SkipWithError(
          absl::StrCat("wrong cost for ", c.input, " in + ", c.output, " out [", c.tier, "]: ",
                       cost.ok() ? absl::StrCat(cost->value()) : cost.status().ToString())
              .c_str());
      return false;
    }
  }
  return true;
}

void BM_CostOf(benchmark::State& state, Shape shape) {
  if (!CheckKnownCosts(state)) return;
  const ModelRates& model = Sonnet();
  const auto& ring = Requests(shape);
  for (const PriceRequest& req : ring) {
    if (!tokenbook::CostOf(model, req).ok()) {
      state.SkipWithError("a benchmark request failed to price");
      return;
    }
  }
  size_t i = 0;
  for (auto _ : state) {
    auto cost = tokenbook::CostOf(model, ring[i++ & (kRing - 1)]);
    benchmark::DoNotOptimize(cost);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_CostOf, plain, Shape::kPlain);
BENCHMARK_CAPTURE(BM_CostOf, above_200k_tier, Shape::kLongContext);
BENCHMARK_CAPTURE(BM_CostOf, batch_tier, Shape::kBatch);

// All three shapes interleaved, so the branch on tier and service tier is
// not perfectly predicted.
void BM_CostOfMixed(benchmark::State& state) {
  if (!CheckKnownCosts(state)) return;
  const ModelRates& model = Sonnet();
  const std::array<const std::array<PriceRequest, kRing>*, 3> rings = {
      &Requests(Shape::kPlain), &Requests(Shape::kLongContext), &Requests(Shape::kBatch)};
  std::array<uint8_t, kRing> pick{};
  Lcg rng(42);
  for (uint8_t& p : pick) p = static_cast<uint8_t>(rng.Next(0, 3));
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & (kRing - 1);
    auto cost = tokenbook::CostOf(model, (*rings[pick[k]])[k]);
    benchmark::DoNotOptimize(cost);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CostOfMixed);

void BM_ExplainCost(benchmark::State& state, Shape shape) {
  if (!CheckKnownCosts(state)) return;
  const ModelRates& model = Sonnet();
  const auto& ring = Requests(shape);
  size_t i = 0;
  for (auto _ : state) {
    auto breakdown = tokenbook::ExplainCost(model, ring[i++ & (kRing - 1)]);
    benchmark::DoNotOptimize(breakdown);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_ExplainCost, plain, Shape::kPlain);
BENCHMARK_CAPTURE(BM_ExplainCost, above_200k_tier, Shape::kLongContext);
BENCHMARK_CAPTURE(BM_ExplainCost, batch_tier, Shape::kBatch);

}  // namespace
