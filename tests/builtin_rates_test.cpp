// The built-in rate table (data/builtin_rates.toml, embedded at build time):
// it loads cleanly, holds the list prices it claims, and every spelling of a
// model name that agents and gateways write resolves to the right model.
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tokenbook/model_names.h"
#include "tokenbook/money.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/rates.h"

namespace tokenbook::internal {
extern const std::string_view kBuiltinRatesToml;
}  // namespace tokenbook::internal

namespace {

using namespace tokenbook;

struct Usage {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t reasoning = 0;
};

PriceRequest Request(const Usage& u, absl::string_view tier = "") {
  PriceRequest req;
  req.tokens[TokenKind::kInput] = Tokens(u.input);
  req.tokens[TokenKind::kOutput] = Tokens(u.output);
  req.tokens[TokenKind::kCacheRead] = Tokens(u.cache_read);
  req.tokens[TokenKind::kCacheWrite5m] = Tokens(u.cache_write_5m);
  req.tokens[TokenKind::kCacheWrite1h] = Tokens(u.cache_write_1h);
  req.tokens[TokenKind::kReasoning] = Tokens(u.reasoning);
  req.service_tier = tier;
  return req;
}

const ModelRates& Builtin(absl::string_view id) {
  const ModelRates* m = BuiltinRates().FindById(id);
  REQUIRE_MESSAGE(m != nullptr, std::string(id));
  return *m;
}

// The cost of `u` on the model `name` resolves to in the built-in table.
int64_t Cost(absl::string_view name, const Usage& u, absl::string_view tier = "") {
  Resolution r = BuiltinRates().Resolve(name);
  REQUIRE_MESSAGE(r.model != nullptr, std::string(name));
  absl::StatusOr<Micros> cost = CostOf(*r.model, Request(u, tier));
  REQUIRE_MESSAGE(cost.ok(), cost.status().ToString());
  return cost->value();
}

absl::Status CostError(absl::string_view id, const Usage& u, absl::string_view tier) {
  absl::StatusOr<Micros> cost = CostOf(Builtin(id), Request(u, tier));
  REQUIRE_FALSE(cost.ok());
  return cost.status();
}

int64_t RateOf(const ModelRates& m, TokenKind k) {
  const std::optional<MicrosPerMTok>& r = m.pricing.standard.rates[k];
  REQUIRE_MESSAGE(r.has_value(), absl::StrCat(m.id, " has no ", TokenKindName(k), " rate"));
  return r->value();
}

}  // namespace

TEST_CASE("builtin rates: the embedded table loads without a warning") {
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> table =
      ParseRateTableToml(absl::string_view(internal::kBuiltinRatesToml.data(), internal::kBuiltinRatesToml.size()),
                         "builtin_rates.toml", &warnings);
  REQUIRE_MESSAGE(table.ok(), table.status().ToString());
  CHECK(warnings.empty());
  CHECK(table->size() == BuiltinRates().size());

  const RateTable& builtin = BuiltinRates();
  CHECK(builtin.as_of() == "2026-11-01");
  CHECK(builtin.size() >= 28);
  for (const ModelRates* m : builtin.Models()) {
    CAPTURE(m->id);
    CHECK(m->as_of == "2026-11-01");
    CHECK(m->source == "builtin");
    CHECK(m->pricing.standard.rates[TokenKind::kInput].has_value());
    CHECK(m->pricing.standard.rates[TokenKind::kOutput].has_value());
  }
}

TEST_CASE("builtin rates: one table, built once, shared by every thread") {
  std::vector<const RateTable*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] { seen[i] = &BuiltinRates(); });
  }
  for (std::thread& t : threads) t.join();
  for (const RateTable* t : seen) CHECK(t == &BuiltinRates());
}

TEST_CASE("builtin rates: the models it promises") {
  for (absl::string_view id :
       {"claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4-6",
        "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5", "claude-3-5-haiku", "gpt-5", "gpt-5-mini",
        "gpt-4.1", "gpt-4o", "o3", "o4-mini", "gemini-2.5-pro", "gemini-2.5-flash", "llama3.1", "llama3.2",
        "qwen2.5-coder", "gemma3", "mistral", "deepseek-r1", "gpt-oss"}) {
    CAPTURE(std::string(id));
    CHECK(BuiltinRates().FindById(id) != nullptr);
  }
}

TEST_CASE("builtin rates: list prices in µ$/MTok") {
  struct Expected {
    absl::string_view id;
    int64_t input, cache_write_5m, cache_write_1h, cache_read, output;
  };
  for (const Expected& e : std::vector<Expected>{
           {"claude-opus-4-6", 5'000'000, 6'250'000, 10'000'000, 500'000, 25'000'000},
           {"claude-opus-4-5", 5'000'000, 6'250'000, 10'000'000, 500'000, 25'000'000},
           {"claude-opus-4-1", 15'000'000, 18'750'000, 30'000'000, 1'500'000, 75'000'000},
           {"claude-opus-4", 15'000'000, 18'750'000, 30'000'000, 1'500'000, 75'000'000},
           {"claude-sonnet-4-6", 3'000'000, 3'750'000, 6'000'000, 300'000, 15'000'000},
           {"claude-sonnet-4-5", 3'000'000, 3'750'000, 6'000'000, 300'000, 15'000'000},
           {"claude-sonnet-4", 3'000'000, 3'750'000, 6'000'000, 300'000, 15'000'000},
           {"claude-haiku-4-5", 1'000'000, 1'250'000, 2'000'000, 100'000, 5'000'000},
           {"claude-3-5-haiku", 800'000, 1'000'000, 1'600'000, 80'000, 4'000'000},
       }) {
    CAPTURE(std::string(e.id));
    const ModelRates& m = Builtin(e.id);
    CHECK(m.provider == "anthropic");
    CHECK(RateOf(m, TokenKind::kInput) == e.input);
    CHECK(RateOf(m, TokenKind::kCacheWrite5m) == e.cache_write_5m);
    CHECK(RateOf(m, TokenKind::kCacheWrite1h) == e.cache_write_1h);
    CHECK(RateOf(m, TokenKind::kCacheRead) == e.cache_read);
    CHECK(RateOf(m, TokenKind::kOutput) == e.output);
  }
  struct Plain {
    absl::string_view id, provider;
    int64_t input, cache_read, output;
  };
  for (const Plain& e : std::vector<Plain>{
           {"gpt-5", "openai", 1'250'000, 125'000, 10'000'000},
           {"gpt-5-mini", "openai", 250'000, 25'000, 2'000'000},
           {"gpt-4.1", "openai", 2'000'000, 500'000, 8'000'000},
           {"gpt-4o", "openai", 2'500'000, 1'250'000, 10'000'000},
           {"o3", "openai", 2'000'000, 500'000, 8'000'000},
           {"o4-mini", "openai", 1'100'000, 275'000, 4'400'000},
           {"gemini-2.5-pro", "google", 1'250'000, 125'000, 10'000'000},
           {"gemini-2.5-flash", "google", 300'000, 30'000, 2'500'000},
       }) {
    CAPTURE(std::string(e.id));
    const ModelRates& m = Builtin(e.id);
    CHECK(m.provider == e.provider);
    CHECK(RateOf(m, TokenKind::kInput) == e.input);
    CHECK(RateOf(m, TokenKind::kCacheRead) == e.cache_read);
    CHECK(RateOf(m, TokenKind::kOutput) == e.output);
    // Cache writes are not charged apart from input: they borrow the input rate.
    CHECK_FALSE(m.pricing.standard.rates[TokenKind::kCacheWrite5m].has_value());
    CHECK_FALSE(m.pricing.standard.rates[TokenKind::kCacheWrite1h].has_value());
  }
}

TEST_CASE("builtin rates: Anthropic's cache multipliers hold for every Claude model") {
  for (const ModelRates* m : BuiltinRates().Models()) {
    if (m->provider != "anthropic") continue;
    CAPTURE(m->id);
    const int64_t input = RateOf(*m, TokenKind::kInput);
    CHECK(RateOf(*m, TokenKind::kCacheWrite5m) * 4 == input * 5);  // 1.25x
    CHECK(RateOf(*m, TokenKind::kCacheWrite1h) == input * 2);      // 2x
    CHECK(RateOf(*m, TokenKind::kCacheRead) * 10 == input);        // 0.1x
  }
}

TEST_CASE("builtin rates: every paid model has a 50% batch tier; local models are free") {
  for (const ModelRates* m : BuiltinRates().Models()) {
    CAPTURE(m->id);
    if (m->provider == "local") {
      CHECK(RateOf(*m, TokenKind::kInput) == 0);
      CHECK(RateOf(*m, TokenKind::kOutput) == 0);
      continue;
    }
    CHECK((m->provider == "anthropic" || m->provider == "openai" || m->provider == "google"));
    CHECK(RateOf(*m, TokenKind::kInput) > 0);
    CHECK(RateOf(*m, TokenKind::kOutput) > 0);
    const ServiceTier* batch = m->pricing.FindServiceTier("batch");
    REQUIRE(batch != nullptr);
    CHECK(batch->multiplier == Rational{1, 2});
    CHECK_FALSE(batch->prices.has_value());
  }
}

// ---------------------------------------------------------------------------
// Exact costs.

TEST_CASE("builtin rates: exact request costs") {
  // 12,000 in × 3 + 4,500 out × 15 + 8,000 cache read × 0.30 + 3,000 5m write × 3.75.
  const Usage mixed{.input = 12'000, .output = 4'500, .cache_read = 8'000, .cache_write_5m = 3'000};
  CHECK(Cost("claude-sonnet-4", mixed) == 117'150);
  CHECK(Cost("claude-sonnet-4-5", mixed) == 117'150);
  CHECK(Cost("claude-opus-4", mixed) == 585'750);
  CHECK(Cost("claude-opus-4-1", mixed) == 585'750);
  CHECK(Cost("claude-opus-4-5", mixed) == 195'250);
  CHECK(Cost("claude-haiku-4-5", mixed) == 39'050);
  CHECK(Cost("claude-sonnet-4", {.input = 120'000, .output = 35'000}) == 885'000);

  CHECK(Cost("gpt-4o", {.input = 1'000'000, .output = 1'000'000, .cache_read = 1'000'000}) == 13'750'000);
  CHECK(Cost("o3", {.input = 1'000'000, .output = 1'000'000, .cache_read = 1'000'000}) == 10'500'000);
  CHECK(Cost("o4-mini", {.input = 1'000'000, .output = 1'000'000, .cache_read = 1'000'000}) == 5'775'000);
  CHECK(Cost("gpt-5-mini", {.input = 1'000'000, .output = 1'000'000, .cache_read = 1'000'000}) == 2'275'000);
  CHECK(Cost("gemini-2.5-flash", {.input = 1'000'000, .output = 1'000'000, .cache_read = 1'000'000}) ==
        2'830'000);
  // Reasoning is billed within output at the output rate.
  CHECK(Cost("gpt-5", {.output = 10'000, .reasoning = 8'000}) == 100'000);
  // The first GPT-4o snapshot keeps its own price.
  CHECK(Cost("gpt-4o-2024-05-13", {.input = 1'000'000, .output = 1'000'000}) == 20'000'000);
  // Local models are free, and priced (not unknown).
  CHECK(Cost("llama3.1:8b", {.input = 1'000'000, .output = 1'000'000}) == 0);
}

TEST_CASE("builtin rates: a 1-hour cache write is priced at its own rate") {
  CHECK(Cost("claude-sonnet-4-5", {.cache_write_5m = 10'000}) == 37'500);
  CHECK(Cost("claude-sonnet-4-5", {.cache_write_1h = 10'000}) == 60'000);
  CHECK(Cost("claude-opus-4-6", {.cache_write_1h = 1'000'000}) == 10'000'000);
  CHECK(Cost("claude-3-5-haiku", {.cache_write_1h = 1'000'000}) == 1'600'000);
  absl::StatusOr<PriceBreakdown> b = ExplainCost(Builtin("claude-haiku-4-5"), Request({.cache_write_1h = 1000}));
  REQUIRE(b.ok());
  REQUIRE(b->lines.size() == 1);
  CHECK(b->lines[0].rate == MicrosPerMTok(2'000'000));
  CHECK_FALSE(b->lines[0].borrowed_from.has_value());
  // On OpenAI and Google models a cache write is billed as input.
  absl::StatusOr<PriceBreakdown> g = ExplainCost(Builtin("gemini-2.5-pro"), Request({.cache_write_5m = 1000}));
  REQUIRE(g.ok());
  CHECK(g->total == Micros(1'250));
  REQUIRE(g->lines.size() == 1);
  CHECK(g->lines[0].borrowed_from == TokenKind::kInput);
}

TEST_CASE("builtin rates: Sonnet 4.5's long-context tier at the 200K boundary") {
  // 150,000 + 40,000 + 10,000 = 200,000 counted tokens: base rates.
  CHECK(Cost("claude-sonnet-4-5",
             {.input = 150'000, .output = 2'000, .cache_read = 40'000, .cache_write_5m = 10'000}) == 529'500);
  // 200,001: the whole request at 6 / 22.50 / 0.60 / 7.50.
  const Usage over{.input = 150'001, .output = 2'000, .cache_read = 40'000, .cache_write_5m = 10'000};
  CHECK(Cost("claude-sonnet-4-5", over) == 1'044'006);
  absl::StatusOr<PriceBreakdown> b = ExplainCost(Builtin("claude-sonnet-4-5"), Request(over));
  REQUIRE(b.ok());
  CHECK(b->tier == 0);
  CHECK(b->tier_above_tokens == 200'000);
  CHECK(b->tier_counted_tokens == 200'001);
  CHECK(b->total == Micros(1'044'006));
  // 1-hour writes count too, and are priced at the tier's 12.
  CHECK(Cost("claude-sonnet-4-5", {.input = 199'999, .cache_write_1h = 1}) == 600'003);
  CHECK(Cost("claude-sonnet-4-5", {.input = 199'999, .cache_write_1h = 2}) == 1'200'018);
  // Output does not count.
  CHECK(Cost("claude-sonnet-4-5", {.input = 200'000, .output = 500'000}) == 8'100'000);
  // Sonnet 4 has the same tier; Sonnet 4.6 has none.
  CHECK(Cost("claude-sonnet-4", {.input = 200'001}) == 1'200'006);
  CHECK(Cost("claude-sonnet-4-6", {.input = 200'001}) == 600'003);
}

TEST_CASE("builtin rates: Gemini 2.5 Pro above 200K prompt tokens, rounded once") {
  CHECK(Cost("gemini-2.5-pro", {.input = 200'000, .output = 1'000}) == 260'000);
  // 200,001 × 2.50 = 500,002.5 µ$, + 1,000 × 15: 515,002.5, half-even to 515,002.
  CHECK(Cost("gemini-2.5-pro", {.input = 200'001, .output = 1'000}) == 515'002);
  // Cached prompt tokens count towards the threshold.
  CHECK(Cost("gemini-2.5-pro", {.input = 100'000, .cache_read = 100'001}) == 275'000);
}

TEST_CASE("builtin rates: batch is half price, rounded once") {
  CHECK(Cost("claude-sonnet-4-5", {.input = 120'000, .output = 35'000}, "batch") == 442'500);
  CHECK(Cost("claude-sonnet-4-5",
             {.input = 150'001, .output = 2'000, .cache_read = 40'000, .cache_write_5m = 10'000},
             "batch") == 522'003);
  CHECK(Cost("claude-3-5-haiku", {.input = 1'000'000, .output = 1'000'000}, "batch") == 2'400'000);
  CHECK(Cost("claude-haiku-4-5", {.input = 1}, "batch") == 0);  // 0.5 µ$ -> 0
  CHECK(Cost("claude-haiku-4-5", {.input = 3}, "batch") == 2);  // 1.5 µ$ -> 2
  CHECK(Cost("gpt-4.1", {.input = 1'000'000, .output = 1'000'000}) == 10'000'000);
  CHECK(Cost("gpt-4.1", {.input = 1'000'000, .output = 1'000'000}, "batch") == 5'000'000);
  CHECK(Cost("gemini-2.5-flash", {.input = 1'000'000}, "batch") == 150'000);
}

TEST_CASE("builtin rates: GPT-5 flex and priority") {
  const Usage u{.input = 100'000, .output = 20'000, .cache_read = 50'000};
  CHECK(Cost("gpt-5", u) == 331'250);
  CHECK(Cost("gpt-5", u, "default") == 331'250);
  CHECK(Cost("gpt-5", u, "flex") == 165'625);
  CHECK(Cost("gpt-5", u, "priority") == 662'500);
  CHECK(Cost("gpt-5", u, "batch") == 165'625);
  CHECK(absl::IsInvalidArgument(CostError("gpt-5-mini", u, "flex")));
}

TEST_CASE("builtin rates: Opus 4.6 fast mode is six times the price") {
  CHECK(Cost("claude-opus-4-6", {.input = 10'000, .output = 2'000}) == 100'000);
  CHECK(Cost("claude-opus-4-6", {.input = 10'000, .output = 2'000}, "fast") == 600'000);
  CHECK(Cost("claude-opus-4-6", {.input = 10'000, .output = 2'000, .cache_write_1h = 1'000}, "fast") == 660'000);
  CHECK(Cost("claude-opus-4-6", {.input = 10'000, .output = 2'000}, "batch") == 50'000);
  absl::Status s = CostError("claude-opus-4-5", {.input = 1}, "fast");
  CHECK(absl::IsInvalidArgument(s));
}

// ---------------------------------------------------------------------------
// Names.

TEST_CASE("builtin rates: every spelling of a model name resolves") {
  struct Case {
    absl::string_view name;
    absl::string_view id;
    MatchKind match;
  };
  for (const Case& c : std::vector<Case>{
           {"claude-sonnet-4-5", "claude-sonnet-4-5", MatchKind::kExact},
           {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5", MatchKind::kAlias},
           {"anthropic/claude-sonnet-4-5", "claude-sonnet-4-5", MatchKind::kNormalized},
           {"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", MatchKind::kNormalized},
           {"vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5", MatchKind::kNormalized},
           {"claude-sonnet-4.5", "claude-sonnet-4-5", MatchKind::kNormalized},
           {"openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5", MatchKind::kNormalized},
           {"Claude-Sonnet-4-5", "claude-sonnet-4-5", MatchKind::kNormalized},
           {"claude-sonnet-4-5-thinking", "claude-sonnet-4-5", MatchKind::kFamily},
           {"claude-sonnet-4-20250514", "claude-sonnet-4", MatchKind::kAlias},
           {"claude-sonnet-4-0", "claude-sonnet-4", MatchKind::kAlias},
           {"anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4", MatchKind::kNormalized},
           {"claude-opus-4-1-20250805", "claude-opus-4-1", MatchKind::kAlias},
           {"us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1", MatchKind::kNormalized},
           {"claude-opus-4-20250514", "claude-opus-4", MatchKind::kAlias},
           {"claude-opus-4-5-20251101", "claude-opus-4-5", MatchKind::kAlias},
           {"claude-opus-4.6", "claude-opus-4-6", MatchKind::kNormalized},
           {"claude-haiku-4-5-20251001", "claude-haiku-4-5", MatchKind::kAlias},
           {"claude-3-5-haiku-20241022", "claude-3-5-haiku", MatchKind::kAlias},
           {"claude-haiku-3-5", "claude-3-5-haiku", MatchKind::kAlias},
           {"us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku", MatchKind::kNormalized},
           {"gpt-4.1-2025-04-14", "gpt-4.1", MatchKind::kAlias},
           {"openai/gpt-4.1", "gpt-4.1", MatchKind::kNormalized},
           {"gpt-5-2025-08-07", "gpt-5", MatchKind::kAlias},
           {"openai/gpt-5-mini-2025-08-07", "gpt-5-mini", MatchKind::kNormalized},
           {"gpt-4o", "gpt-4o", MatchKind::kExact},
           {"openai/gpt-4o", "gpt-4o", MatchKind::kNormalized},
           {"gpt-4o-2024-08-06", "gpt-4o", MatchKind::kAlias},
           {"gpt-4o-2024-05-13", "gpt-4o-2024-05-13", MatchKind::kExact},
           {"o3-2025-04-16", "o3", MatchKind::kAlias},
           {"o4-mini-2025-04-16", "o4-mini", MatchKind::kAlias},
           {"gemini/gemini-2.5-pro", "gemini-2.5-pro", MatchKind::kNormalized},
           {"vertex_ai/gemini-2.5-flash", "gemini-2.5-flash", MatchKind::kNormalized},
           {"llama3.1:8b", "llama3.1", MatchKind::kNormalized},
           {"qwen2.5-coder:7b", "qwen2.5-coder", MatchKind::kNormalized},
           {"ollama/gemma3:27b", "gemma3", MatchKind::kNormalized},
           {"gpt-oss:20b", "gpt-oss", MatchKind::kNormalized},
       }) {
    CAPTURE(std::string(c.name));
    Resolution r = BuiltinRates().Resolve(c.name);
    REQUIRE(r.model != nullptr);
    CHECK(r.model->id == c.id);
    CHECK(MatchKindName(r.match) == MatchKindName(c.match));
  }
}

TEST_CASE("builtin rates: a family never prices a different model") {
  for (absl::string_view name :
       {"gpt-5.4-mini", "gpt-5.4", "gpt-5-nano", "gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-nano", "o3-mini",
        "o3-pro", "claude-opus-4-7", "claude-sonnet-5", "gemini-2.5-flash-lite",
        "gemini-2.5-pro-2", "gpt-oss-120b"}) {
    CAPTURE(std::string(name));
    Resolution r = BuiltinRates().Resolve(name);
    const std::string resolved_to = r.model != nullptr ? r.model->id : "";
    CAPTURE(resolved_to);
    CHECK(r.model == nullptr);
  }
  // In particular: gpt-5.4-mini is not gpt-5, nor gpt-4o-mini gpt-4o.
  CHECK(BuiltinRates().Resolve("gpt-5.4-mini").model != BuiltinRates().FindById("gpt-5"));
  CHECK(BuiltinRates().Resolve("gpt-4o-mini").model != BuiltinRates().FindById("gpt-4o"));
}

TEST_CASE("builtin rates: every id and alias resolves to its own model") {
  for (const ModelRates* m : BuiltinRates().Models()) {
    CAPTURE(m->id);
    Resolution r = BuiltinRates().Resolve(m->id);
    CHECK(r.model == m);
    CHECK(MatchKindName(r.match) == "exact");
    for (const std::string& alias : m->aliases) {
      CAPTURE(alias);
      Resolution a = BuiltinRates().Resolve(alias);
      CHECK(a.model == m);
      CHECK(MatchKindName(a.match) == "alias");
    }
    // Its normalised id reaches it too, but for the one snapshot kept apart on purpose.
    if (m->id != "gpt-4o-2024-05-13") CHECK(BuiltinRates().Resolve(NormalizeModelName(m->id)).model == m);
  }
}

TEST_CASE("builtin rates: a user table layered on top wins model by model") {
  absl::StatusOr<RateTable> user = ParseRateTableToml(R"(schema = 1
as_of = "2026-12-01"
[[models]]
id = "claude-sonnet-4-5"
provider = "anthropic"
input = "2"
output = "10"
)",
                                                      "mine.toml");
  REQUIRE(user.ok());
  RateTable layered;
  layered.MergeFrom(BuiltinRates());
  layered.MergeFrom(*user);
  CHECK(layered.as_of() == "2026-12-01");
  Resolution r = layered.Resolve("anthropic/claude-sonnet-4-5");
  REQUIRE(r.model != nullptr);
  CHECK(r.model->source == "mine.toml");
  CHECK(CostOf(*r.model, Request({.input = 1'000'000})).value() == Micros(2'000'000));
  // The user's model replaced the built-in one whole: no batch tier, no long-context tier.
  CHECK(r.model->pricing.FindServiceTier("batch") == nullptr);
  CHECK(layered.Resolve("claude-opus-4-6").model->source == "builtin");
}

TEST_CASE("Builtin local models never price a hosted model that shares their name") {
  const tokenbook::RateTable& rates = tokenbook::BuiltinRates();
  // A local runner's spellings reach the free model...
  for (const char* name : {"deepseek-r1", "ollama/deepseek-r1", "ollama/deepseek-r1:14b", "deepseek-r1:7b",
                           "lmstudio/mistral", "qwen2.5-coder:7b"}) {
    CAPTURE(name);
    const tokenbook::Resolution r = rates.Resolve(name);
    REQUIRE(r.model != nullptr);
    CHECK(r.model->provider == "local");
  }
  // ...but a hosted provider's path or a longer family name does not.
  for (const char* name : {"deepseek/deepseek-r1", "openrouter/deepseek/deepseek-r1", "mistral-saba-latest",
                           "mistral-tiny", "mistral-embed", "together_ai/meta-llama/llama3.1"}) {
    CAPTURE(name);
    const tokenbook::Resolution r = rates.Resolve(name);
    CHECK(r.model == nullptr);
  }
}
