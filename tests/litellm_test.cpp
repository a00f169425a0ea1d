// Tests of the LiteLLM importer (lib/litellm.cpp): the whole real database
// (tests/data/litellm_model_prices.json, see tests/data/README.md), models
// priced exactly with the arithmetic written out, and hostile input.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tokenbook/money.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/rates.h"

namespace {

using tokenbook::CostOf;
using tokenbook::ExplainCost;
using tokenbook::MatchKind;
using tokenbook::Micros;
using tokenbook::MicrosPerMTok;
using tokenbook::ModelRates;
using tokenbook::ParseLiteLlmJson;
using tokenbook::PriceBreakdown;
using tokenbook::PriceRequest;
using tokenbook::RateTable;
using tokenbook::TokenKind;
using tokenbook::Tokens;

struct Usage {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t reasoning = 0;
};

PriceRequest Request(const Usage& u, absl::string_view service_tier = "", int64_t requests = 1) {
  PriceRequest req;
  req.tokens[TokenKind::kInput] = Tokens(u.input);
  req.tokens[TokenKind::kOutput] = Tokens(u.output);
  req.tokens[TokenKind::kCacheRead] = Tokens(u.cache_read);
  req.tokens[TokenKind::kCacheWrite5m] = Tokens(u.cache_write_5m);
  req.tokens[TokenKind::kCacheWrite1h] = Tokens(u.cache_write_1h);
  req.tokens[TokenKind::kReasoning] = Tokens(u.reasoning);
  req.service_tier = service_tier;
  req.requests = requests;
  return req;
}

// The whole real file, parsed once for every test case that needs it.
struct RealFile {
  absl::StatusOr<RateTable> table = absl::UnknownError("not loaded");
  std::vector<std::string> warnings;
};

const RealFile& Real() {
  static const RealFile* const loaded = [] {
    auto* out = new RealFile;
    std::ifstream in(std::string(TOKENBOOK_TEST_DATA_DIR) + "/litellm_model_prices.json",
                     std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    out->table = ParseLiteLlmJson(buffer.str(), "litellm_model_prices.json", &out->warnings);
    return out;
  }();
  return *loaded;
}

const ModelRates& RealModel(absl::string_view id) {
  const RealFile& real = Real();
  REQUIRE(real.table.ok());
  const ModelRates* model = real.table->FindById(id);
  REQUIRE_MESSAGE(model != nullptr, "no model ", std::string(id));
  return *model;
}

int64_t Cost(const ModelRates& model, const PriceRequest& req) {
  absl::StatusOr<Micros> cost = CostOf(model, req);
  REQUIRE_MESSAGE(cost.ok(), cost.status().ToString());
  return cost->value();
}

int64_t RealCost(absl::string_view id, const Usage& u, absl::string_view service_tier = "",
                 int64_t requests = 1) {
  return Cost(RealModel(id), Request(u, service_tier, requests));
}

size_t CountContaining(const std::vector<std::string>& lines, absl::string_view needle) {
  size_t n = 0;
  for (const std::string& line : lines) n += absl::StrContains(line, needle) ? 1 : 0;
  return n;
}

// Parses a snippet that must fail; returns its message.
std::string ErrorOf(absl::string_view json,
                    absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  absl::StatusOr<RateTable> table = ParseLiteLlmJson(json, "snippet.json");
  REQUIRE_FALSE(table.ok());
  CHECK(table.status().code() == code);
  return std::string(table.status().message());
}

// Parses a snippet that must succeed.
RateTable Parse(absl::string_view json, std::vector<std::string>* warnings = nullptr) {
  absl::StatusOr<RateTable> table = ParseLiteLlmJson(json, "snippet.json", warnings);
  REQUIRE_MESSAGE(table.ok(), table.status().ToString());
  return std::move(table).value();
}

}  // namespace

TEST_CASE("LiteLLM: the whole real database imports") {
  const RealFile& real = Real();
  REQUIRE_MESSAGE(real.table.ok(), real.table.status().ToString());
  // 2,984 keys: `sample_spec` (ignored), 2,539 entries with a per-token price
  // (18 of them only in `tiered_pricing`) and 444 skipped (priced per image,
  // second, character or query; `fallback_generalizations`).
  CHECK(real.table->size() == 2539);
  CHECK(real.table->as_of().empty());
  CHECK(real.table->FindById("sample_spec") == nullptr);
  CHECK(real.table->FindById("fallback_generalizations") == nullptr);
  CHECK(real.table->FindById("dall-e-3") == nullptr);

  // One summary line for the skipped entries, one line per rounded price
  // (31 float-noise prices, all databricks/*), nothing else.
  CHECK(real.warnings.size() == 32);
  CHECK(CountContaining(real.warnings, "skipped 444 entries without a per-token price") == 1);
  CHECK(CountContaining(real.warnings, "rounded half-even") == 31);
  CHECK(CountContaining(real.warnings, "model \"databricks/") == 31);
  for (const std::string& line : real.warnings) {
    CHECK(line.find('\n') == std::string::npos);
    CHECK(absl::StartsWith(line, "litellm_model_prices.json: "));
  }

  const ModelRates& sonnet = RealModel("claude-sonnet-4-5");
  CHECK(sonnet.provider == "anthropic");
  CHECK(sonnet.source == "litellm:litellm_model_prices.json");
  CHECK(sonnet.as_of.empty());
  CHECK(sonnet.aliases.empty());
  // Keys with and without a provider path are distinct models.
  CHECK(real.table->FindById("vertex_ai/claude-sonnet-4-5") != nullptr);
  CHECK(real.table->FindById("claude-sonnet-4-5-20250929") != nullptr);
  CHECK(real.table->FindById("vertex_ai/claude-sonnet-4-5")->provider ==
        "vertex_ai-anthropic_models");
}

TEST_CASE("LiteLLM: claude-sonnet-4-5 priced exactly, base rates and 1-hour cache writes") {
  const ModelRates& m = RealModel("claude-sonnet-4-5");
  const tokenbook::TokenRates& r = m.pricing.standard.rates;
  CHECK(r[TokenKind::kInput] == MicrosPerMTok(3'000'000));         // 3e-06 USD/token
  CHECK(r[TokenKind::kOutput] == MicrosPerMTok(15'000'000));       // 1.5e-05
  CHECK(r[TokenKind::kCacheRead] == MicrosPerMTok(300'000));       // 3e-07
  CHECK(r[TokenKind::kCacheWrite5m] == MicrosPerMTok(3'750'000));  // 3.75e-06
  CHECK(r[TokenKind::kCacheWrite1h] == MicrosPerMTok(6'000'000));  // 6e-06 (_above_1hr)
  CHECK_FALSE(r[TokenKind::kReasoning].has_value());

  // 12,000 in × 3,000,000 µ$/MTok      = 36,000 µ$
  //  4,500 out × 15,000,000            = 67,500 µ$
  //  8,000 cache read × 300,000        =  2,400 µ$
  //  3,000 cache write 5m × 3,750,000  = 11,250 µ$
  //                              total = 117,150 µ$ ($0.11715)
  const Usage u{.input = 12'000, .output = 4'500, .cache_read = 8'000, .cache_write_5m = 3'000};
  CHECK(RealCost("claude-sonnet-4-5", u) == 117'150);
  absl::StatusOr<PriceBreakdown> b = ExplainCost(m, Request(u));
  REQUIRE(b.ok());
  REQUIRE(b->lines.size() == 4);
  CHECK(b->lines[0].cost == Micros(36'000));
  CHECK(b->lines[1].cost == Micros(67'500));
  CHECK(b->lines[2].cost == Micros(2'400));
  CHECK(b->lines[3].cost == Micros(11'250));
  CHECK(b->tier == -1);
  CHECK(b->total == Micros(117'150));

  // 1-hour cache writes at cache_creation_input_token_cost_above_1hr:
  //  1,000 in × 3,000,000 = 3,000 µ$; 10,000 × 6,000,000 = 60,000 µ$ -> 63,000 µ$
  CHECK(RealCost("claude-sonnet-4-5", {.input = 1'000, .cache_write_1h = 10'000}) == 63'000);

  // claude-opus-4-1: 15 / 75 USD/MTok, 1-hour write 3e-05 = 30 USD/MTok.
  //  2,000 in × 15,000,000 = 30,000 µ$; 1,000 out × 75,000,000 = 75,000 µ$;
  //  5,000 cache write 1h × 30,000,000 = 150,000 µ$ -> 255,000 µ$
  const Usage opus{.input = 2'000, .output = 1'000, .cache_write_1h = 5'000};
  CHECK(RealCost("claude-opus-4-1", opus) == 255'000);
  absl::StatusOr<PriceBreakdown> ob = ExplainCost(RealModel("claude-opus-4-1"), Request(opus));
  REQUIRE(ob.ok());
  REQUIRE(ob->lines.size() == 3);
  CHECK(ob->lines[2].kind == TokenKind::kCacheWrite1h);
  CHECK(ob->lines[2].rate == MicrosPerMTok(30'000'000));
  CHECK_FALSE(ob->lines[2].borrowed_from.has_value());
}

TEST_CASE("LiteLLM: long-context tiers above 200k (Anthropic, Google)") {
  const ModelRates& m = RealModel("claude-sonnet-4-5");
  REQUIRE(m.pricing.standard.tiers.size() == 1);
  const tokenbook::ContextTier& t = m.pricing.standard.tiers[0];
  CHECK(t.above_tokens == 200'000);
  CHECK(t.rates[TokenKind::kInput] == MicrosPerMTok(6'000'000));
  CHECK(t.rates[TokenKind::kOutput] == MicrosPerMTok(22'500'000));
  CHECK(t.rates[TokenKind::kCacheRead] == MicrosPerMTok(600'000));
  CHECK(t.rates[TokenKind::kCacheWrite5m] == MicrosPerMTok(7'500'000));
  // cache_creation_input_token_cost_above_1hr_above_200k_tokens
  CHECK(t.rates[TokenKind::kCacheWrite1h] == MicrosPerMTok(12'000'000));

  // Counted: 150,000 in + 60,000 cache read + 1,000 cache write 1h = 211,000 > 200,000,
  // so the whole request is at the tier's rates:
  //  150,000 × 6,000,000 = 900,000 µ$;  60,000 × 600,000 = 36,000 µ$;
  //    2,000 × 22,500,000 = 45,000 µ$;   1,000 × 12,000,000 = 12,000 µ$  -> 993,000 µ$
  const Usage big{.input = 150'000, .output = 2'000, .cache_read = 60'000, .cache_write_1h = 1'000};
  CHECK(RealCost("claude-sonnet-4-5", big) == 993'000);
  absl::StatusOr<PriceBreakdown> b = ExplainCost(m, Request(big));
  REQUIRE(b.ok());
  CHECK(b->tier == 0);
  CHECK(b->tier_above_tokens == 200'000);
  CHECK(b->tier_counted_tokens == 211'000);
  // Strictly above: 200,000 in is base (× 3 USD/MTok = 600,000 µ$), 200,001 is
  // the tier (× 6 = 1,200,006 µ$).
  CHECK(RealCost("claude-sonnet-4-5", {.input = 200'000}) == 600'000);
  CHECK(RealCost("claude-sonnet-4-5", {.input = 200'001}) == 1'200'006);

  // gemini-2.5-pro: 1.25 / 10 USD/MTok, cache read 0.125; above 200k 2.5 / 15 / 0.25.
  //  Below: 100,000 × 1,250,000 = 125,000; 20,000 × 125,000 = 2,500; 5,000 × 10,000,000
  //         = 50,000 -> 177,500 µ$
  //  Above (190,000 + 20,000 = 210,000): 190,000 × 2,500,000 = 475,000;
  //         20,000 × 250,000 = 5,000; 5,000 × 15,000,000 = 75,000 -> 555,000 µ$
  CHECK(RealModel("gemini-2.5-pro").provider == "vertex_ai-language-models");
  CHECK(RealCost("gemini-2.5-pro", {.input = 100'000, .output = 5'000, .cache_read = 20'000}) ==
        177'500);
  CHECK(RealCost("gemini-2.5-pro", {.input = 190'000, .output = 5'000, .cache_read = 20'000}) ==
        555'000);
}

TEST_CASE("LiteLLM: service tiers flex, priority, batch and priority long context") {
  // gpt-5: standard 1.25 / 10 / cache read 0.125 USD/MTok; flex 0.625 / 5 / 0.0625;
  // priority 2.5 / 20 / 0.25. 20,000 output tokens of which 8,000 reasoning:
  // gpt-5 has no reasoning price, so reasoning is billed as output.
  const Usage u{.input = 100'000, .output = 20'000, .cache_read = 50'000, .reasoning = 8'000};
  // 100,000 × 1,250,000 = 125,000; 50,000 × 125,000 = 6,250; 20,000 × 10,000,000 = 200,000
  CHECK(RealCost("gpt-5", u) == 331'250);
  // 100,000 × 625,000 = 62,500; 50,000 × 62,500 = 3,125; 20,000 × 5,000,000 = 100,000
  CHECK(RealCost("gpt-5", u, "flex") == 165'625);
  // 100,000 × 2,500,000 = 250,000; 50,000 × 250,000 = 12,500; 20,000 × 20,000,000 = 400,000
  CHECK(RealCost("gpt-5", u, "priority") == 662'500);
  CHECK(RealCost("gpt-5", u, "default") == 331'250);
  // gpt-5 lists no batch prices: asking for them is an error, never a guess.
  absl::StatusOr<Micros> batch = CostOf(RealModel("gpt-5"), Request(u, "batch"));
  CHECK(batch.status().code() == absl::StatusCode::kInvalidArgument);

  // gpt-5.4 batch: 1.25 / 7.5 USD/MTok; no batch cache-read price, so the
  // standard one (0.25) applies.
  //  100,000 × 1,250,000 = 125,000; 10,000 × 250,000 = 2,500; 20,000 × 7,500,000
  //  = 150,000 -> 277,500 µ$
  CHECK(RealCost("gpt-5.4", {.input = 100'000, .output = 20'000, .cache_read = 10'000}, "batch") ==
        277'500);

  // azure_ai/gpt-5.5: standard 5 / 30, above 272k 10 / 45; priority 10 / 60,
  // priority above 272k (input_cost_per_token_above_272k_tokens_priority) 20 / 90.
  const Usage big{.input = 300'000, .output = 10'000};
  // 300,000 × 10,000,000 = 3,000,000; 10,000 × 45,000,000 = 450,000
  CHECK(RealCost("azure_ai/gpt-5.5", big) == 3'450'000);
  // 300,000 × 20,000,000 = 6,000,000; 10,000 × 90,000,000 = 900,000
  CHECK(RealCost("azure_ai/gpt-5.5", big, "priority") == 6'900'000);
  // Below 272k at priority: 100,000 × 10,000,000 = 1,000,000; 10,000 × 60,000,000 = 600,000
  CHECK(RealCost("azure_ai/gpt-5.5", {.input = 100'000, .output = 10'000}, "priority") ==
        1'600'000);
  const tokenbook::ServiceTier* priority =
      RealModel("azure_ai/gpt-5.5").pricing.FindServiceTier("priority");
  REQUIRE(priority != nullptr);
  CHECK(priority->multiplier.is_one());
  REQUIRE(priority->prices.has_value());
  REQUIRE(priority->prices->tiers.size() == 1);
  CHECK(priority->prices->tiers[0].above_tokens == 272'000);
  CHECK(priority->prices->tiers[0].rates[TokenKind::kCacheRead] == MicrosPerMTok(2'000'000));
}

TEST_CASE("LiteLLM: float noise is rounded half-even with one warning per field") {
  // databricks/databricks-claude-sonnet-4-5:
  //   input  2.9999900000000002e-06 USD/token = 2,999,990.0000000002 µ$/MTok -> 2,999,990
  //   output 1.5000020000000002e-05 USD/token = 15,000,020.000000002 µ$/MTok -> 15,000,020
  const ModelRates& m = RealModel("databricks/databricks-claude-sonnet-4-5");
  CHECK(m.pricing.standard.rates[TokenKind::kInput] == MicrosPerMTok(2'999'990));
  CHECK(m.pricing.standard.rates[TokenKind::kOutput] == MicrosPerMTok(15'000'020));
  // 1,000,000 × 2,999,990 p$ = 2,999,990 µ$; 100,000 × 15,000,020 p$ = 1,500,002 µ$
  CHECK(RealCost("databricks/databricks-claude-sonnet-4-5",
                 {.input = 1'000'000, .output = 100'000}) == 4'499'992);
  const std::vector<std::string>& w = Real().warnings;
  CHECK(CountContaining(w,
                        "model \"databricks/databricks-claude-sonnet-4-5\": input_cost_per_token: "
                        "2.9999900000000002e-06 USD per token") == 1);
  CHECK(CountContaining(w,
                        "model \"databricks/databricks-claude-sonnet-4-5\": output_cost_per_token: "
                        "1.5000020000000002e-05 USD per token") == 1);
  CHECK(CountContaining(w, "rounded half-even to 2.99999 USD per MTok") == 5);

  // Exact halves go to the even neighbour: 2.5 -> 2, 3.5 -> 4 µ$/MTok; a
  // per-request fee of 0.0000005 USD (0.5 µ$) -> 0, of 0.0000015 -> 2 µ$.
  std::vector<std::string> warnings;
  RateTable t = Parse(R"({"a": {"input_cost_per_token": 2.5e-12, "output_cost_per_token": 3.5e-12,
                               "input_cost_per_request": 0.0000005},
                          "b": {"input_cost_per_token": 0, "output_cost_per_token": 0,
                               "input_cost_per_request": 0.0000015}})",
                      &warnings);
  CHECK(t.FindById("a")->pricing.standard.rates[TokenKind::kInput] == MicrosPerMTok(2));
  CHECK(t.FindById("a")->pricing.standard.rates[TokenKind::kOutput] == MicrosPerMTok(4));
  CHECK(t.FindById("a")->pricing.standard.per_request == Micros(0));
  CHECK(t.FindById("b")->pricing.standard.per_request == Micros(2));
  CHECK(warnings.size() == 4);
  CHECK(CountContaining(warnings, "model \"a\": input_cost_per_request: 0.0000005 USD") == 1);
}

TEST_CASE("LiteLLM: per-request fees, reasoning prices and tiered_pricing bands") {
  // perplexity/pplx-70b-online: input 0, output 2.8 USD/MTok, 0.005 USD a request.
  //  1,000 out × 2,800,000 = 2,800 µ$; 2 requests × 5,000 µ$ = 10,000 µ$ -> 12,800 µ$
  CHECK(RealCost("perplexity/pplx-70b-online", {.input = 1'000, .output = 1'000}, "", 2) == 12'800);
  absl::StatusOr<PriceBreakdown> b =
      ExplainCost(RealModel("perplexity/pplx-70b-online"), Request({.output = 1'000}, "", 2));
  REQUIRE(b.ok());
  CHECK(b->request_fees == Micros(10'000));

  // perplexity/sonar-deep-research: 2 / 8 USD/MTok, reasoning 3 USD/MTok.
  //  10,000 in × 2,000,000 = 20,000; (6,000 - 4,000) out × 8,000,000 = 16,000;
  //  4,000 reasoning × 3,000,000 = 12,000 -> 48,000 µ$
  CHECK(RealCost("perplexity/sonar-deep-research",
                 {.input = 10'000, .output = 6'000, .reasoning = 4'000}) == 48'000);

  // dashscope/qwen3-coder-plus, bands from 0 / 32k / 128k / 256k tokens:
  //  1 / 5, 1.8 / 9, 3 / 15, 6 / 60 USD/MTok.
  //  20,000 × 1,000,000 = 20,000 + 1,000 × 5,000,000 = 5,000 -> 25,000 µ$
  //  40,000 × 1,800,000 = 72,000 + 1,000 × 9,000,000 = 9,000 -> 81,000 µ$
  //  130,000 × 3,000,000 = 390,000 + 1,000 × 15,000,000 = 15,000 -> 405,000 µ$
  const ModelRates& q = RealModel("dashscope/qwen3-coder-plus");
  CHECK(q.provider == "dashscope");
  REQUIRE(q.pricing.standard.tiers.size() == 3);
  CHECK(q.pricing.standard.tiers[0].above_tokens == 32'000);
  CHECK(q.pricing.standard.tiers[2].above_tokens == 256'000);
  CHECK(RealCost("dashscope/qwen3-coder-plus", {.input = 20'000, .output = 1'000}) == 25'000);
  CHECK(RealCost("dashscope/qwen3-coder-plus", {.input = 40'000, .output = 1'000}) == 81'000);
  CHECK(RealCost("dashscope/qwen3-coder-plus", {.input = 130'000, .output = 1'000}) == 405'000);
}

TEST_CASE("LiteLLM: DeepSeek's cache-hit price is the cache-read price") {
  // deepseek/deepseek-r1 lists only input_cost_per_token_cache_hit (1.4e-07):
  //  10,000 in × 550,000 = 5,500 µ$; 90,000 cache read × 140,000 = 12,600 µ$;
  //  2,000 out × 2,190,000 = 4,380 µ$ -> 22,480 µ$
  const ModelRates& r1 = RealModel("deepseek/deepseek-r1");
  CHECK(r1.pricing.standard.rates[TokenKind::kCacheRead] == MicrosPerMTok(140'000));
  CHECK(r1.pricing.standard.rates[TokenKind::kOutput] == MicrosPerMTok(2'190'000));
  CHECK(RealCost("deepseek/deepseek-r1",
                 {.input = 10'000, .output = 2'000, .cache_read = 90'000}) == 22'480);
  // Where both are given, cache_read_input_token_cost is the one read, silently.
  std::vector<std::string> warnings;
  RateTable t = Parse(R"({"d": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                                "input_cost_per_token_cache_hit": 1e-07,
                                "cache_read_input_token_cost": 2e-07}})",
                      &warnings);
  CHECK(t.FindById("d")->pricing.standard.rates[TokenKind::kCacheRead] == MicrosPerMTok(200'000));
  CHECK(warnings.empty());
  CHECK(ErrorOf(R"({"d": {"input_cost_per_token_cache_hit": "cheap"}})") ==
        "snippet.json: model \"d\": input_cost_per_token_cache_hit: not a decimal number: "
        "\"cheap\" (no digits)");
}

TEST_CASE("LiteLLM: name resolution over the imported table") {
  const RateTable& t = *Real().table;
  tokenbook::Resolution r = t.Resolve("claude-sonnet-4-5");
  REQUIRE(r.model != nullptr);
  CHECK(r.match == MatchKind::kExact);
  // Two dozen ids normalise to "claude-sonnet-4-5" (vertex_ai/, openrouter/,
  // github_copilot/, snowflake/...); the plain LiteLLM id must win.
  for (const char* name :
       {"claude-sonnet-4.5", "anthropic/claude-sonnet-4-5", "Claude-Sonnet-4-5"}) {
    CAPTURE(name);
    r = t.Resolve(name);
    REQUIRE(r.model != nullptr);
    CHECK(r.match == MatchKind::kNormalized);
    CHECK(r.model->id == "claude-sonnet-4-5");
  }
  r = t.Resolve("google/gemini-2.5-pro");
  REQUIRE(r.model != nullptr);
  CHECK(r.model->id == "gemini-2.5-pro");
  r = t.Resolve("openai/gpt-5");
  REQUIRE(r.model != nullptr);
  CHECK(r.model->id == "gpt-5");
  // Layered over another table, LiteLLM's models replace the same ids.
  RateTable base =
      Parse(R"({"gpt-5": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}})");
  base.MergeFrom(t);
  CHECK(base.FindById("gpt-5")->pricing.standard.rates[TokenKind::kInput] ==
        MicrosPerMTok(1'250'000));
  CHECK(base.Resolve("openai/gpt-5").model->id == "gpt-5");
  CHECK(base.Resolve("claude-sonnet-4.5").model->id == "claude-sonnet-4-5");
}

TEST_CASE("LiteLLM: field-name grammar and entry rules") {
  std::vector<std::string> warnings;
  RateTable t = Parse(R"({
    "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
    "m": {
      "litellm_provider": "acme",
      "input_cost_per_token": "3e-06",
      "output_cost_per_token": 1.5e-05,
      "input_cost_per_token_above_200k_tokens": 6e-06,
      "input_cost_per_token_above_128k_tokens": 4e-06,
      "input_cost_per_token_batches": 1.5e-06,
      "input_cost_per_token_priority_above_128k_tokens": 8e-06,
      "input_cost_per_request_above_128k_tokens": 0.01,
      "input_cost_per_audio_token": 1e-05,
      "input_cost_per_second": 0.1,
      "supports_vision": true,
      "max_tokens": 128000,
      "nested": {"deep": [[[[1.5]]]]},
      "cache_read_input_token_cost": null
    },
    "image-only": {"input_cost_per_image": 0.04, "litellm_provider": "acme"},
    "output-only": {"output_cost_per_token": 2e-06},
    "not-an-object": 5,
    "": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}
  })",
                      &warnings);
  CHECK(t.size() == 2);
  const ModelRates* m = t.FindById("m");
  REQUIRE(m != nullptr);
  CHECK(m->provider == "acme");
  // A JSON string price reads like a number; null is absent.
  CHECK(m->pricing.standard.rates[TokenKind::kInput] == MicrosPerMTok(3'000'000));
  CHECK_FALSE(m->pricing.standard.rates[TokenKind::kCacheRead].has_value());
  REQUIRE(m->pricing.standard.tiers.size() == 2);  // ascending
  CHECK(m->pricing.standard.tiers[0].above_tokens == 128'000);
  CHECK(m->pricing.standard.tiers[1].above_tokens == 200'000);
  REQUIRE(m->pricing.service_tiers.size() == 2);
  CHECK(m->pricing.service_tiers[0].name == "batch");
  CHECK(m->pricing.service_tiers[1].name == "priority");
  REQUIRE(m->pricing.service_tiers[1].prices.has_value());
  REQUIRE(m->pricing.service_tiers[1].prices->tiers.size() == 1);
  CHECK(m->pricing.service_tiers[1].prices->tiers[0].above_tokens == 128'000);
  CHECK(m->pricing.service_tiers[1].prices->tiers[0].rates[TokenKind::kInput] ==
        MicrosPerMTok(8'000'000));
  // Only an output price: imported; a request with input tokens is an error,
  // never $0.
  const ModelRates* out_only = t.FindById("output-only");
  REQUIRE(out_only != nullptr);
  CHECK(out_only->provider.empty());
  CHECK(Cost(*out_only, Request({.output = 1'000})) == 2'000);  // 1,000 × 2,000,000 p$
  CHECK(CostOf(*out_only, Request({.input = 1})).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK_FALSE(m->pricing.standard.per_request.has_value());
  // A per-request fee cannot depend on the context length: ignored, said so.
  // image-only, not-an-object and the empty key are skipped, in one line.
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] ==
        "snippet.json: model \"m\": input_cost_per_request_above_128k_tokens: ignored: a "
        "long-context tier has no per-request fee of its own");
  CHECK(absl::StrContains(warnings[1], "snippet.json: skipped 3 entries"));
  CHECK(absl::StrContains(warnings[1], "\"image-only\""));
}

TEST_CASE("LiteLLM: per-request fee kept by service tiers without their own") {
  RateTable t = Parse(R"({"p": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                                "input_cost_per_request": 0.005,
                                "input_cost_per_token_flex": 5e-07,
                                "input_cost_per_token_priority": 2e-06,
                                "input_cost_per_request_priority": 0.01}})");
  const ModelRates& p = *t.FindById("p");
  // flex: 1,000 × 500,000 = 500 µ$ + 5,000 µ$ fee; priority: 1,000 × 2,000,000 = 2,000 + 10,000
  CHECK(Cost(p, Request({.input = 1'000}, "flex")) == 5'500);
  CHECK(Cost(p, Request({.input = 1'000}, "priority")) == 12'000);
  CHECK(Cost(p, Request({.input = 1'000})) == 6'000);
}

TEST_CASE("LiteLLM: duplicate keys, the later entry wins with a warning") {
  std::vector<std::string> warnings;
  RateTable t = Parse(R"({"d": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
                          "e": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
                                "output_cost_per_token": 3e-06},
                          "d": {"input_cost_per_token": 2e-06, "output_cost_per_token": 2e-06}})",
                      &warnings);
  CHECK(t.size() == 2);
  CHECK(t.FindById("d")->pricing.standard.rates[TokenKind::kInput] == MicrosPerMTok(2'000'000));
  CHECK(t.FindById("e")->pricing.standard.rates[TokenKind::kOutput] == MicrosPerMTok(3'000'000));
  REQUIRE(warnings.size() == 2);
  CHECK(CountContaining(warnings, "model \"d\" appears more than once") == 1);
  CHECK(CountContaining(warnings, "model \"e\": output_cost_per_token: sets a price") == 1);
}

TEST_CASE("LiteLLM: malformed JSON is an error naming the source, line and byte") {
  std::string e = ErrorOf("");
  CHECK(absl::StrContains(e, "snippet.json:1:1: invalid JSON at byte 0"));
  CHECK(absl::StrContains(e, "empty"));

  e = ErrorOf("{\"gpt-x\": {\n  \"input_cost_per_token\": 1e-06,\n");
  CHECK(absl::StartsWith(e, "snippet.json:3:1: invalid JSON at byte 45: "));

  e = ErrorOf(R"({"a": {"input_cost_per_token": 1e-06,, "output_cost_per_token": 1}})");
  CHECK(absl::StrContains(e, "snippet.json:1:38: invalid JSON at byte 37"));

  e = ErrorOf("[]");
  CHECK(e == "snippet.json: expected a JSON object mapping model names to prices, found an array");
  CHECK(absl::StrContains(ErrorOf("\"text\""), "found a string"));
  CHECK(absl::StrContains(ErrorOf("3e-06"), "found a number"));
  CHECK(absl::StrContains(ErrorOf("null"), "found null"));

  // Invalid UTF-8 in a key.
  CHECK(absl::StrContains(ErrorOf("{\"bad\xff\": {}}"), "invalid JSON at byte"));
  // NaN and Infinity are not JSON.
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": NaN}})"), "invalid JSON"));
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": Infinity}})"), "invalid JSON"));

  // Empty object: an empty table, nothing to warn about.
  std::vector<std::string> warnings;
  CHECK(Parse("{}", &warnings).size() == 0);
  CHECK(warnings.empty());
}

TEST_CASE("LiteLLM: hostile input never crashes nor yields a wrong number") {
  // 100,000 nested arrays: parsed iteratively, no stack overflow.
  std::string deep(100'000, '[');
  CHECK(absl::StrContains(ErrorOf(deep), "invalid JSON at byte 100000"));
  deep += std::string(100'000, ']');
  CHECK(absl::StrContains(ErrorOf(deep), "found an array"));
  // ... nor inside an entry, where the field is simply not a price.
  std::string nested =
      R"({"n": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "x": )";
  nested += std::string(100'000, '[') + std::string(100'000, ']') + "}}";
  CHECK(Parse(nested).size() == 1);
  // ... nor as a price, which is then an error.
  std::string deep_price = R"({"n": {"input_cost_per_token": )";
  deep_price += std::string(50'000, '[') + std::string(50'000, ']') + "}}";
  CHECK(ErrorOf(deep_price) ==
        "snippet.json: model \"n\": input_cost_per_token: expected a price, "
        "found an array");

  // NUL bytes: never valid JSON, even where RapidJSON would stop reading.
  using namespace std::string_literals;
  const std::string good =
      R"({"a": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}})";
  CHECK(absl::StrContains(ErrorOf(good + "\0garbage"s), "byte 70: NUL byte"));
  CHECK(absl::StrContains(ErrorOf("{\"a\0\": {}}"s), "snippet.json:1:4: invalid JSON at byte 3"));
  CHECK(absl::StrContains(ErrorOf("\0"s), "byte 0"));
  // An escaped NUL is valid JSON: the key keeps it.
  CHECK(Parse(R"({"a\u0000b": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}})")
            .FindById(absl::string_view("a\0b", 3)) != nullptr);

  // Exponents beyond a double's range are a JSON error; as a string, the
  // price parser refuses them; a merely large price does not fit 64 bits.
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": 1e999999}})"),
                          "invalid JSON at byte 31: Number too big"));
  CHECK(ErrorOf(R"({"a": {"input_cost_per_token": "1e999999"}})") ==
        "snippet.json: model \"a\": input_cost_per_token: not a decimal number: \"1e999999\" "
        "(exponent out of range)");
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": "1e-999999"}})"),
                          "exponent out of range"));
  CHECK(ErrorOf(R"({"a": {"output_cost_per_token": 1e300}})", absl::StatusCode::kOutOfRange) ==
        "snippet.json: model \"a\": output_cost_per_token: decimal value does not fit in 64 bits");
  CHECK(absl::StrContains(
      ErrorOf(R"({"a": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
                                        "input_cost_per_request": 9300000000000}})",
              absl::StatusCode::kOutOfRange),
      "input_cost_per_request"));

  // Negative, non-numeric and wrongly typed prices name the model and field.
  CHECK(ErrorOf(R"({"gpt-x": {"input_cost_per_token": 1e-06, "output_cost_per_token": -2e-06}})") ==
        "snippet.json: model \"gpt-x\": output_cost_per_token: negative price \"-2e-06\"");
  CHECK(ErrorOf(R"({"a": {"cache_read_input_token_cost_above_200k_tokens_priority": "abc"}})") ==
        "snippet.json: model \"a\": cache_read_input_token_cost_above_200k_tokens_priority: "
        "not a decimal number: \"abc\" (no digits)");
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": " 3e-06"}})"),
                          "not a decimal number"));
  CHECK(
      absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": ""}})"), "not a decimal number"));
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": "0x10"}})"),
                          "not a decimal number"));
  CHECK(ErrorOf(R"({"a": {"input_cost_per_token": true}})") ==
        "snippet.json: model \"a\": input_cost_per_token: expected a price, found a boolean");
  CHECK(absl::StrContains(ErrorOf(R"({"a": {"input_cost_per_token": {}}})"), "found an object"));
  // Negative zero is zero.
  CHECK(Parse(R"({"z": {"input_cost_per_token": -0.0, "output_cost_per_token": 0}})")
            .FindById("z")
            ->pricing.standard.rates[TokenKind::kInput] == MicrosPerMTok(0));

  // Malformed tiered_pricing on an entry that needs it.
  CHECK(absl::StrContains(
      ErrorOf(R"({"t": {"tiered_pricing": [{"input_cost_per_token": 1e-06, "range": [10, 20]}]}})"),
      "tiered_pricing: no band starts at 0 tokens"));
  CHECK(absl::StrContains(
      ErrorOf(
          R"({"t": {"tiered_pricing": [{"input_cost_per_token": 1e-06, "range": [0.5, 20]}]}})"),
      "not a whole number of tokens"));
  CHECK(
      absl::StrContains(ErrorOf(R"({"t": {"tiered_pricing": [{"input_cost_per_token": 1e-06}]}})"),
                        "every band needs \"range\""));
  CHECK(absl::StrContains(
      ErrorOf(R"({"t": {"tiered_pricing": [{"input_cost_per_token": 1e-06, "range": [0, 9]},
                                           {"input_cost_per_token": -1, "range": [9, 20]}]}})"),
      "model \"t\": tiered_pricing.input_cost_per_token: negative price"));
  // Search prices tiered by result count are not token prices: skipped.
  std::vector<std::string> warnings;
  const RateTable search = Parse(R"({"s": {"tiered_pricing": [{"input_cost_per_query": 0.005,
                                                                "max_results_range": [0, 25]}]}})",
                                 &warnings);
  CHECK(search.size() == 0);
  CHECK(warnings.size() == 1);
}
