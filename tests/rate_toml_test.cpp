// The TOML rate-table format (docs/rates-format.md): exact prices, fallbacks,
// service tiers, history, and every kind of bad input rejected with a message
// that names the source, line and column.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/money.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/rates.h"

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

PriceRequest Request(const Usage& u, absl::string_view tier = "", std::optional<absl::Time> at = std::nullopt) {
  PriceRequest req;
  req.tokens[TokenKind::kInput] = Tokens(u.input);
  req.tokens[TokenKind::kOutput] = Tokens(u.output);
  req.tokens[TokenKind::kCacheRead] = Tokens(u.cache_read);
  req.tokens[TokenKind::kCacheWrite5m] = Tokens(u.cache_write_5m);
  req.tokens[TokenKind::kCacheWrite1h] = Tokens(u.cache_write_1h);
  req.tokens[TokenKind::kReasoning] = Tokens(u.reasoning);
  req.service_tier = tier;
  req.at = at;
  return req;
}

RateTable MustParse(absl::string_view text, std::vector<std::string>* warnings = nullptr) {
  absl::StatusOr<RateTable> table = ParseRateTableToml(text, "rates.toml", warnings);
  REQUIRE_MESSAGE(table.ok(), table.status().ToString());
  return std::move(*table);
}

const ModelRates& Model(const RateTable& table, absl::string_view id) {
  const ModelRates* m = table.FindById(id);
  REQUIRE_MESSAGE(m != nullptr, std::string(id));
  return *m;
}

int64_t Cost(const RateTable& table, absl::string_view id, const Usage& u, absl::string_view tier = "",
             std::optional<absl::Time> at = std::nullopt) {
  absl::StatusOr<Micros> cost = CostOf(Model(table, id), Request(u, tier, at));
  REQUIRE_MESSAGE(cost.ok(), cost.status().ToString());
  return cost->value();
}

std::optional<int64_t> Rate(const ModelRates& m, TokenKind k) {
  const auto& r = m.pricing.standard.rates[k];
  if (!r.has_value()) return std::nullopt;
  return r->value();
}

// The error a document must be rejected with.
absl::Status ParseError(absl::string_view text) {
  absl::StatusOr<RateTable> table = ParseRateTableToml(text, "rates.toml");
  REQUIRE_FALSE(table.ok());
  return table.status();
}

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// A one-model document; `fields` follows the model's provider line (line 6).
std::string OneModel(absl::string_view fields) {
  return absl::StrCat("schema = 1\nas_of = \"2026-01-01\"\n\n[[models]]\nid = \"x\"\nprovider = \"p\"\n", fields);
}

}  // namespace

TEST_CASE("rate toml: prices from strings, integers and floats are exact") {
  std::vector<std::string> warnings;
  RateTable table = MustParse(OneModel(R"(input = "0.275"
output = 4.40
cache_read = 0.1
cache_write_5m = 3
cache_write_1h = "1.1e1"
reasoning = 0
per_request = "0.01"
notes = "anything"
)"),
                              &warnings);
  CHECK(warnings.empty());
  CHECK(table.as_of() == "2026-01-01");
  CHECK(table.size() == 1);
  const ModelRates& m = Model(table, "x");
  CHECK(m.provider == "p");
  CHECK(m.as_of == "2026-01-01");
  CHECK(m.source == "rates.toml");
  CHECK(Rate(m, TokenKind::kInput) == 275'000);
  CHECK(Rate(m, TokenKind::kOutput) == 4'400'000);
  CHECK(Rate(m, TokenKind::kCacheRead) == 100'000);
  CHECK(Rate(m, TokenKind::kCacheWrite5m) == 3'000'000);
  CHECK(Rate(m, TokenKind::kCacheWrite1h) == 11'000'000);
  CHECK(Rate(m, TokenKind::kReasoning) == 0);
  REQUIRE(m.pricing.standard.per_request.has_value());
  CHECK(m.pricing.standard.per_request->value() == 10'000);  // USD per request, not per MTok
}

TEST_CASE("rate toml: floats go through their shortest round-trip text") {
  // 0.1 + 0.2 written out: the digits as written, not the nearest double's expansion.
  RateTable table = MustParse(OneModel("input = 0.30000000000000004\noutput = 1e-6\n"));
  const ModelRates& m = Model(table, "x");
  CHECK(Rate(m, TokenKind::kInput) == 300'000);  // 300000.00000000004 rounds to 300000
  CHECK(Rate(m, TokenKind::kOutput) == 1);
}

TEST_CASE("rate toml: unit per_token") {
  std::vector<std::string> warnings;
  RateTable table = MustParse(R"(schema = 1
as_of = 2026-01-01
unit = "per_token"
[[models]]
id = "x"
provider = "p"
input = 3e-06
output = "1.5e-05"
cache_read = "2.9999900000000002e-06"
per_request = "0.02"
)",
                              &warnings);
  CHECK(table.as_of() == "2026-01-01");
  const ModelRates& m = Model(table, "x");
  CHECK(Rate(m, TokenKind::kInput) == 3'000'000);
  CHECK(Rate(m, TokenKind::kOutput) == 15'000'000);
  CHECK(Rate(m, TokenKind::kCacheRead) == 2'999'990);
  CHECK(m.pricing.standard.per_request->value() == 20'000);  // per_request is always USD
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] ==
        "rates.toml:9:14: model \"x\": field \"cache_read\": price \"2.9999900000000002e-06\" is finer "
        "than 1 µ$/MTok; rounded half-even to 2999990 µ$/MTok");
}

TEST_CASE("rate toml: a price finer than 1 µ$/MTok is rounded half-even with a warning") {
  std::vector<std::string> warnings;
  RateTable table = MustParse(OneModel(R"(input = "3.0000005"
output = "3.0000015"
per_request = "0.0000005"
)"),
                              &warnings);
  const ModelRates& m = Model(table, "x");
  CHECK(Rate(m, TokenKind::kInput) == 3'000'000);   // .5 to even
  CHECK(Rate(m, TokenKind::kOutput) == 3'000'002);  // .5 to even
  CHECK(m.pricing.standard.per_request->value() == 0);
  REQUIRE(warnings.size() == 3);
  CHECK(warnings[0] ==
        "rates.toml:7:9: model \"x\": field \"input\": price \"3.0000005\" is finer than 1 µ$/MTok; "
        "rounded half-even to 3000000 µ$/MTok");
  CHECK(warnings[1] ==
        "rates.toml:8:10: model \"x\": field \"output\": price \"3.0000015\" is finer than 1 µ$/MTok; "
        "rounded half-even to 3000002 µ$/MTok");
  CHECK(warnings[2] ==
        "rates.toml:9:15: model \"x\": field \"per_request\": price \"0.0000005\" is finer than 1 µ$; "
        "rounded half-even to 0 µ$");
  // Without a warnings sink the table still loads.
  CHECK(ParseRateTableToml(OneModel("input = \"3.0000005\"\n"), "rates.toml").ok());
}

TEST_CASE("rate toml: absent rates fall back as the format says") {
  RateTable table = MustParse(OneModel(R"(input = "2"
output = "8"
cache_write_5m = "2.5"
)"));
  const ModelRates& m = Model(table, "x");
  CHECK_FALSE(Rate(m, TokenKind::kCacheRead).has_value());
  CHECK_FALSE(Rate(m, TokenKind::kCacheWrite1h).has_value());
  // cache_read from input, 1h write from the 5m write, reasoning within output.
  CHECK(Cost(table, "x", {.cache_read = 1'000'000}) == 2'000'000);
  CHECK(Cost(table, "x", {.cache_write_1h = 1'000'000}) == 2'500'000);
  CHECK(Cost(table, "x", {.output = 1'000'000, .reasoning = 400'000}) == 8'000'000);
  absl::StatusOr<PriceBreakdown> b = ExplainCost(m, Request({.cache_write_1h = 10}));
  REQUIRE(b.ok());
  REQUIRE(b->lines.size() == 1);
  CHECK(b->lines[0].borrowed_from == TokenKind::kCacheWrite5m);
}

TEST_CASE("rate toml: a separate reasoning rate") {
  RateTable table = MustParse(OneModel("input = 1\noutput = 4\nreasoning = 10\n"));
  // 600,000 plain output at 4 + 400,000 reasoning at 10.
  CHECK(Cost(table, "x", {.output = 1'000'000, .reasoning = 400'000}) == 6'400'000);
}

TEST_CASE("rate toml: a model with only an input rate cannot price output") {
  RateTable table = MustParse(OneModel("input = 1\n"));
  CHECK(Cost(table, "x", {.input = 1000}) == 1000);
  absl::StatusOr<Micros> cost = CostOf(Model(table, "x"), Request({.output = 1}));
  CHECK(absl::IsFailedPrecondition(cost.status()));
}

TEST_CASE("rate toml: long-context tiers, thresholds and counted kinds") {
  RateTable table = MustParse(OneModel(R"(input = "1"
output = "2"
  [[models.tiers]]
  above_input_tokens = 100
  input = "10"
  [[models.tiers]]
  above_input_tokens = 1000
  counts = ["input"]
  input = "100"
  output = "200"
)"));
  const ModelRates& m = Model(table, "x");
  REQUIRE(m.pricing.standard.tiers.size() == 2);
  CHECK(m.pricing.standard.tiers[0].counted_kinds == kPromptKinds);
  CHECK(m.pricing.standard.tiers[1].counted_kinds == KindBit(TokenKind::kInput));
  // 100 counted tokens: base. 101: the whole request at tier 0 (output keeps its base rate).
  CHECK(Cost(table, "x", {.input = 100, .output = 1'000'000}) == 2'000'100);
  CHECK(Cost(table, "x", {.input = 60, .output = 1'000'000, .cache_read = 41}) == 2'001'010);
  // 2000 cache-read tokens are not counted by tier 1, but are by tier 0.
  CHECK(Cost(table, "x", {.input = 10, .cache_read = 2000}) == 20'100);  // 2010 tokens at 10 µ$
  // 1001 input tokens: tier 1.
  CHECK(Cost(table, "x", {.input = 1001, .output = 1000}) == 100'100 + 200'000);
}

TEST_CASE("rate toml: provider service tiers, model tiers and multipliers") {
  RateTable table = MustParse(R"(schema = 1
as_of = "2026-01-01"

[providers.acme.service_tiers.batch]
multiplier = "1/2"

[providers.acme.service_tiers.regional]
multiplier = "11/10"

[[models]]
id = "a"
provider = "acme"
input = "3"
output = "15"
per_request = "0.01"

  [models.service_tiers.batch]
  multiplier = 0.25

  [models.service_tiers.fast]
  multiplier = 6

  [models.service_tiers.priority]
  input = "6"

[[models]]
id = "b"
provider = "acme"
input = "3"
output = "15"

[[models]]
id = "c"
provider = "other"
input = "3"
)");
  const Usage u{.input = 1'000'000, .output = 100'000};  // 3,000,000 + 1,500,000
  CHECK(Cost(table, "a", u) == 4'510'000);
  CHECK(Cost(table, "a", u, "standard") == 4'510'000);
  CHECK(Cost(table, "a", u, "default") == 4'510'000);
  CHECK(Cost(table, "a", u, "batch") == 1'127'500);  // the model's own tier wins: ×1/4
  CHECK(Cost(table, "a", u, "regional") == 4'961'000);
  CHECK(Cost(table, "a", u, "fast") == 27'060'000);
  // A priced tier replaces the rates it names and keeps the per-request fee.
  CHECK(Cost(table, "a", u, "priority") == 7'510'000);
  CHECK(Cost(table, "b", u, "batch") == 2'250'000);
  CHECK(Cost(table, "b", u, "regional") == 4'950'000);
  absl::StatusOr<Micros> none = CostOf(Model(table, "c"), Request(u, "batch"));
  CHECK(absl::IsInvalidArgument(none.status()));
  // The multiplier applies before the single rounding: 3 µ$ a token, halved.
  CHECK(Cost(table, "b", {.input = 1}, "batch") == 2);  // 1.5 µ$ -> 2 (half-even)
  CHECK(Cost(table, "b", {.input = 5}, "batch") == 8);  // 7.5 µ$ -> 8
  CHECK(Cost(table, "b", {.input = 3}, "batch") == 4);  // 4.5 µ$ -> 4
}

TEST_CASE("rate toml: history prices a timestamp at the rate then in force") {
  const std::string text = R"(schema = 1
as_of = "2026-01-01"

[providers.p.service_tiers.batch]
multiplier = "0.5"

[[models]]
id = "m"
provider = "p"
aliases = ["m-latest"]
input = "3"
output = "15"
per_request = "0.001"

  [models.service_tiers.priority]
  input = "6"

  [[models.history]]
  before = "2025-08-01"
  input = "4"
  output = "16"

  [[models.history]]
  before = 2025-10-01T12:00:00Z
  input = "3.5"
  output = "15.5"
  notes = "a mid-day change"

  [[models.history]]
  before = "2025-12-01T00:00:00+01:00"
  input = 3.25
  output = 15
)";
  RateTable table = MustParse(text);
  const ModelRates& m = Model(table, "m");
  REQUIRE(m.history.size() == 3);
  CHECK(m.history[0].before == Utc(2025, 8, 1));
  CHECK(m.history[1].before == Utc(2025, 10, 1, 12));
  CHECK(m.history[2].before == Utc(2025, 11, 30, 23));
  const Usage u{.input = 1'000'000, .output = 1'000'000};
  CHECK(Cost(table, "m", u, "", Utc(2024, 1, 1)) == 20'000'000);
  CHECK(Cost(table, "m", u, "", Utc(2025, 7, 31, 23, 59, 59)) == 20'000'000);
  CHECK(Cost(table, "m", u, "", Utc(2025, 8, 1)) == 19'000'000);
  CHECK(Cost(table, "m", u, "", Utc(2025, 10, 1, 11, 59, 59)) == 19'000'000);
  CHECK(Cost(table, "m", u, "", Utc(2025, 10, 1, 12)) == 18'250'000);
  CHECK(Cost(table, "m", u, "", Utc(2025, 11, 30, 23)) == 18'001'000);  // current, with the fee
  CHECK(Cost(table, "m", u, "", Utc(2026, 6, 1)) == 18'001'000);
  CHECK(Cost(table, "m", u) == 18'001'000);
  // History entries inherit the multiplier-only tiers, not the priced ones.
  CHECK(Cost(table, "m", u, "batch", Utc(2025, 1, 1)) == 10'000'000);
  CHECK(absl::IsInvalidArgument(CostOf(m, Request(u, "priority", Utc(2025, 1, 1))).status()));
  CHECK(Cost(table, "m", u, "priority") == 21'001'000);
  absl::StatusOr<PriceBreakdown> b = ExplainCost(m, Request(u, "", Utc(2025, 1, 1)));
  REQUIRE(b.ok());
  CHECK(b->historical);
}

TEST_CASE("rate toml: history instants as dates, RFC 3339 strings and TOML date-times") {
  RateTable table = MustParse(R"(schema = 1
as_of = "2026-01-01"
notes = "notes are allowed anywhere"
[providers]
notes = "even here"
[providers.p.service_tiers]
notes = "and here"
[[models]]
id = "m"
provider = "p"
input = 1
[[models.history]]
before = 2025-01-01
input = 2
[[models.history]]
before = "2025-02-01T06:30:00Z"
input = 3
[[models.history]]
before = "2025-03-01T00:00:00.5-02:00"
input = 4
[[models.history]]
before = 2025-04-01T00:00:00+05:30
input = 5
)");
  const ModelRates& m = Model(table, "m");
  REQUIRE(m.history.size() == 4);
  CHECK(m.history[0].before == Utc(2025, 1, 1));
  CHECK(m.history[1].before == Utc(2025, 2, 1, 6, 30));
  CHECK(m.history[2].before == Utc(2025, 3, 1, 2) + absl::Milliseconds(500));
  CHECK(m.history[3].before == Utc(2025, 3, 31, 18, 30));
  CHECK(Cost(table, "m", {.input = 1'000'000}, "", Utc(2025, 3, 1, 2)) == 4'000'000);
  CHECK(Cost(table, "m", {.input = 1'000'000}, "", Utc(2025, 3, 1, 2) + absl::Milliseconds(500)) == 5'000'000);
}

TEST_CASE("rate toml: empty tables and provider-only tables load") {
  RateTable empty = MustParse("schema = 1\nas_of = \"2026-01-01\"\n");
  CHECK(empty.size() == 0);
  RateTable providers =
      MustParse("schema = 1\nas_of = \"2026-01-01\"\n[providers.x.service_tiers.batch]\nmultiplier = 0.5\n");
  CHECK(providers.size() == 0);
}

TEST_CASE("rate toml: aliases resolve exactly; an alias equal to the id is harmless") {
  RateTable table = MustParse(OneModel("aliases = [\"x\", \"x-2025\", \"x-2025\"]\ninput = 1\n"));
  CHECK(Model(table, "x").aliases == std::vector<std::string>{"x-2025"});
  Resolution r = table.Resolve("x-2025");
  REQUIRE(r.model != nullptr);
  CHECK(r.model->id == "x");
  CHECK(r.match == MatchKind::kAlias);
}

// ---------------------------------------------------------------------------
// Bad input: each is an error naming the source, line and column.

TEST_CASE("rate toml errors: malformed TOML") {
  absl::Status s = ParseError(OneModel("input = [1,\n"));
  CHECK(absl::IsInvalidArgument(s));
  CHECK_MESSAGE(absl::StartsWith(s.message(), "rates.toml:"), s.message());
  CHECK_MESSAGE(absl::StrContains(s.message(), "invalid TOML: "), s.message());

  s = ParseError("schema = 1\nas_of = \"2026-01-01\"\nschema = 1\n");  // a key defined twice
  CHECK_MESSAGE(absl::StartsWith(s.message(), "rates.toml:3:"), s.message());
  CHECK_MESSAGE(absl::StrContains(s.message(), "invalid TOML"), s.message());

  s = ParseError("schema = 1\nas_of = \"2026-01-01\"\ninput = 1e400\n");  // out of a double's range
  CHECK_MESSAGE(absl::StartsWith(s.message(), "rates.toml:3:"), s.message());

  s = ParseError("");
  CHECK(s.message() == "rates.toml:1:1: missing required key \"schema\" (this version reads schema = 1)");
}

TEST_CASE("rate toml errors: negative price") {
  absl::Status s = ParseError(OneModel("input = -1\n"));
  CHECK(absl::IsInvalidArgument(s));
  CHECK(s.message() == "rates.toml:7:9: model \"x\": field \"input\": negative price \"-1\"");
  s = ParseError(OneModel("input = 1\noutput = \"-0.5\"\n"));
  CHECK(s.message() == "rates.toml:8:10: model \"x\": field \"output\": negative price \"-0.5\"");
  s = ParseError(OneModel("input = 1\ncache_read = -0.25\n"));
  CHECK(s.message() == "rates.toml:8:14: model \"x\": field \"cache_read\": negative price \"-0.25\"");
}

TEST_CASE("rate toml errors: non-numeric price") {
  absl::Status s = ParseError(OneModel("input = \"abc\"\n"));
  CHECK(absl::IsInvalidArgument(s));
  CHECK(s.message() == "rates.toml:7:9: model \"x\": field \"input\": not a decimal number: \"abc\" (no digits)");
  s = ParseError(OneModel("input = \"3 USD\"\n"));
  CHECK(s.message() ==
        "rates.toml:7:9: model \"x\": field \"input\": not a decimal number: \"3 USD\" (unexpected character)");
  s = ParseError(OneModel("input = true\n"));
  CHECK(s.message() ==
        "rates.toml:7:9: model \"x\": field \"input\": expected a price (a string such as \"3.00\", or a "
        "number), not a boolean");
  s = ParseError(OneModel("input = \"nan\"\n"));
  CHECK_MESSAGE(absl::StartsWith(s.message(), "rates.toml:7:9: model \"x\": field \"input\": not a decimal number"),
                s.message());
  s = ParseError(OneModel("input = \"99999999999999\"\n"));
  CHECK(s.message() == "rates.toml:7:9: model \"x\": field \"input\": price \"99999999999999\" is too large");
}

TEST_CASE("rate toml errors: NaN and infinite floats") {
  CHECK(ParseError(OneModel("input = nan\n")).message() ==
        "rates.toml:7:9: model \"x\": field \"input\": not a number (nan)");
  CHECK(ParseError(OneModel("input = 1\noutput = inf\n")).message() ==
        "rates.toml:8:10: model \"x\": field \"output\": not a finite number (inf)");
  CHECK(ParseError(OneModel("input = -inf\n")).message() ==
        "rates.toml:7:9: model \"x\": field \"input\": not a finite number (-inf)");
  CHECK(ParseError(OneModel("input = 1\n[models.service_tiers.batch]\nmultiplier = nan\n")).message() ==
        "rates.toml:9:14: model \"x\": service tier \"batch\": field \"multiplier\": not a number (nan)");
}

TEST_CASE("rate toml errors: duplicate model ids name both lines") {
  absl::Status s = ParseError(R"(schema = 1
as_of = "2026-01-01"
[[models]]
id = "x"
provider = "p"
input = 1
[[models]]
id = "y"
provider = "p"
input = 1
[[models]]
id = "x"
provider = "q"
input = 2
)");
  CHECK(absl::IsAlreadyExists(s));
  CHECK(s.message() == "rates.toml:12:6: duplicate model id \"x\" (first defined at rates.toml:4:6)");
}

TEST_CASE("rate toml errors: alias collisions name both places") {
  absl::Status s = ParseError(R"(schema = 1
as_of = "2026-01-01"
[[models]]
id = "a"
provider = "p"
aliases = ["shared"]
input = 1
[[models]]
id = "b"
provider = "p"
aliases = ["b-1", "shared"]
input = 1
)");
  CHECK(absl::IsAlreadyExists(s));
  CHECK(s.message() ==
        "rates.toml:11:19: model \"b\": alias \"shared\" is already an alias of model \"a\" (rates.toml:6:12)");

  s = ParseError(R"(schema = 1
as_of = "2026-01-01"
[[models]]
id = "a"
provider = "p"
input = 1
[[models]]
id = "b"
provider = "p"
aliases = ["a"]
input = 1
)");
  CHECK(absl::IsAlreadyExists(s));
  CHECK(s.message() == "rates.toml:10:12: model \"b\": alias \"a\" is already the id of model \"a\" (rates.toml:4:6)");

  s = ParseError(R"(schema = 1
as_of = "2026-01-01"
[[models]]
id = "a"
provider = "p"
aliases = ["b"]
input = 1
[[models]]
id = "b"
provider = "p"
input = 1
)");
  CHECK(absl::IsAlreadyExists(s));
  CHECK(s.message() == "rates.toml:9:6: model id \"b\" is already an alias of model \"a\" (rates.toml:6:12)");
}

TEST_CASE("rate toml errors: unknown keys, with a suggestion for typos") {
  absl::Status s = ParseError(OneModel("input = 3\ncache_raed = 0.3\n"));
  CHECK(absl::IsInvalidArgument(s));
  CHECK(s.message() == "rates.toml:8:1: model \"x\": unknown key \"cache_raed\" (did you mean \"cache_read\"?)");
  s = ParseError(OneModel("input = 3\ncontext_window = 200000\n"));
  CHECK(s.message() == "rates.toml:8:1: model \"x\": unknown key \"context_window\"");
  s = ParseError("schema = 1\nas_of = \"2026-01-01\"\nmodel = []\n");
  CHECK(s.message() == "rates.toml:3:1: unknown key \"model\" (did you mean \"models\"?)");
  s = ParseError(OneModel("input = 3\n  [[models.tiers]]\n  above_input_tokens = 10\n  ouput = 1\n"));
  CHECK(s.message() == "rates.toml:10:3: model \"x\": tiers[0]: unknown key \"ouput\" (did you mean \"output\"?)");
  s = ParseError(OneModel("input = 3\n[models.service_tiers.batch]\nmultiplyer = \"0.5\"\n"));
  CHECK(s.message() ==
        "rates.toml:9:1: model \"x\": service tier \"batch\": unknown key \"multiplyer\" (did you mean "
        "\"multiplier\"?)");
  s = ParseError(OneModel("input = 3\n[[models.history]]\nbefore = \"2025-01-01\"\ninptu = 1\n"));
  CHECK(s.message() == "rates.toml:10:1: model \"x\": history[0]: unknown key \"inptu\" (did you mean \"input\"?)");
  s = ParseError("schema = 1\nas_of = \"2026-01-01\"\n[providers.p]\nservice_tier = {}\n");
  CHECK(s.message() ==
        "rates.toml:4:1: provider \"p\": unknown key \"service_tier\" (did you mean \"service_tiers\"?)");
}

TEST_CASE("rate toml errors: missing or empty id and provider") {
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[[models]]\nprovider = \"p\"\ninput = 1\n").message() ==
        "rates.toml:3:1: models[0]: missing required key \"id\"");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[[models]]\nid = \"x\"\ninput = 1\n").message() ==
        "rates.toml:3:1: model \"x\": missing required key \"provider\"");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[[models]]\nid = \"\"\nprovider = \"p\"\n").message() ==
        "rates.toml:4:6: models[0]: field \"id\": must not be empty");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[[models]]\nid = 7\nprovider = \"p\"\n").message() ==
        "rates.toml:4:6: models[0]: field \"id\": expected a string, not an integer");
  CHECK(ParseError(OneModel("")).message() ==
        "rates.toml:4:1: model \"x\": the model sets no price (input, output, ... or per_request)");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[models]\nid = \"x\"\n").message() ==
        "rates.toml:3:1: \"models\" must be an array of tables ([[models]]), not a table");
}

TEST_CASE("rate toml errors: schema, as_of and unit") {
  CHECK(ParseError("schema = 2\nas_of = \"2026-01-01\"\n").message() ==
        "rates.toml:1:10: field \"schema\": unsupported schema 2 (this version reads schema = 1)");
  CHECK(ParseError("schema = \"1\"\nas_of = \"2026-01-01\"\n").message() ==
        "rates.toml:1:10: field \"schema\": unsupported schema \"1\" (this version reads schema = 1)");
  // A newer schema is reported before keys this version does not know.
  CHECK(ParseError("schema = 2\nas_of = \"2026-01-01\"\nnew_thing = 1\n").message() ==
        "rates.toml:1:10: field \"schema\": unsupported schema 2 (this version reads schema = 1)");
  CHECK(ParseError("schema = 1\n").message() ==
        "rates.toml:1:1: missing required key \"as_of\" (the date the prices were read, \"YYYY-MM-DD\")");
  CHECK(ParseError("schema = 1\nas_of = \"2026-13-01\"\n").message() ==
        "rates.toml:2:9: field \"as_of\": expected a date \"YYYY-MM-DD\", not \"2026-13-01\"");
  CHECK(ParseError("schema = 1\nas_of = \"2025-02-29\"\n").message() ==
        "rates.toml:2:9: field \"as_of\": expected a date \"YYYY-MM-DD\", not \"2025-02-29\"");
  CHECK(ParseError("schema = 1\nas_of = \"2026-1-1\"\n").message() ==
        "rates.toml:2:9: field \"as_of\": expected a date \"YYYY-MM-DD\", not \"2026-1-1\"");
  CHECK(ParseError("schema = 1\nas_of = 20260101\n").message() ==
        "rates.toml:2:9: field \"as_of\": expected a date \"YYYY-MM-DD\", not an integer");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\nunit = \"per_1k\"\n").message() ==
        "rates.toml:3:8: field \"unit\": expected \"per_mtok\" or \"per_token\", not \"per_1k\"");
}

TEST_CASE("rate toml errors: bad multipliers and service tiers") {
  auto tier = [](absl::string_view body) {
    return std::string(ParseError(OneModel(absl::StrCat("input = 1\n[models.service_tiers.batch]\n", body))).message());
  };
  CHECK(tier("multiplier = \"abc\"\n") ==
        "rates.toml:9:14: model \"x\": service tier \"batch\": field \"multiplier\": not a multiplier: \"abc\" "
        "(expected a decimal or a fraction)");
  CHECK(tier("multiplier = \"1/0\"\n") ==
        "rates.toml:9:14: model \"x\": service tier \"batch\": field \"multiplier\": not a multiplier: \"1/0\" "
        "(zero denominator)");
  CHECK(tier("multiplier = -0.5\n") ==
        "rates.toml:9:14: model \"x\": service tier \"batch\": field \"multiplier\": not a multiplier: \"-0.5\" "
        "(negative)");
  CHECK(tier("multiplier = \"1.5/2\"\n") ==
        "rates.toml:9:14: model \"x\": service tier \"batch\": field \"multiplier\": not a multiplier: \"1.5/2\" "
        "(expected INTEGER/INTEGER)");
  CHECK(tier("multiplier = [0.5]\n") ==
        "rates.toml:9:14: model \"x\": service tier \"batch\": field \"multiplier\": expected a multiplier such "
        "as \"0.5\", \"1/2\" or 6, not an array");
  CHECK(tier("notes = \"empty\"\n") ==
        "rates.toml:8:1: model \"x\": service tier \"batch\": the service tier sets neither a multiplier nor any "
        "price");
  CHECK(ParseError(OneModel("input = 1\n[models.service_tiers.standard]\nmultiplier = 2\n")).message() ==
        "rates.toml:8:23: model \"x\": service tier \"standard\": this name means the list prices; set them on "
        "the model itself");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[providers.p.service_tiers.batch]\ninput = 1\n")
            .message() ==
        "rates.toml:4:1: provider \"p\": service tier \"batch\": a provider-wide service tier takes only a "
        "multiplier, not \"input\"; give the rates on each model");
  CHECK(ParseError("schema = 1\nas_of = \"2026-01-01\"\n[providers.p.service_tiers.batch]\nmultiplier = \"x\"\n")
            .message() ==
        "rates.toml:4:14: provider \"p\": service tier \"batch\": field \"multiplier\": not a multiplier: \"x\" "
        "(expected a decimal or a fraction)");
}

TEST_CASE("rate toml errors: long-context tiers") {
  auto tiers = [](absl::string_view body) {
    return std::string(ParseError(OneModel(absl::StrCat("input = 1\n", body))).message());
  };
  CHECK(tiers("[[models.tiers]]\ninput = 2\n") == "rates.toml:8:1: model \"x\": tiers[0]: missing required key "
                                                  "\"above_input_tokens\"");
  CHECK(tiers("[[models.tiers]]\nabove_input_tokens = -1\ninput = 2\n") ==
        "rates.toml:9:22: model \"x\": tiers[0]: field \"above_input_tokens\": negative token count -1");
  CHECK(tiers("[[models.tiers]]\nabove_input_tokens = 2e5\ninput = 2\n") ==
        "rates.toml:9:22: model \"x\": tiers[0]: field \"above_input_tokens\": expected an integer token count, "
        "not a floating-point number");
  CHECK(tiers("[[models.tiers]]\nabove_input_tokens = 10\n") == "rates.toml:8:1: model \"x\": tiers[0]: the tier "
                                                                  "sets no rate");
  CHECK(tiers("[[models.tiers]]\nabove_input_tokens = 10\ninput = 2\n"
              "[[models.tiers]]\nabove_input_tokens = 10\ninput = 3\n") ==
        "rates.toml:12:22: model \"x\": tiers[1]: field \"above_input_tokens\": threshold 10 is not above the "
        "previous tier's 10; tiers must be in ascending order");
  CHECK(tiers("[[models.tiers]]\nabove_input_tokens = 10\ncounts = [\"input\", \"imput\"]\ninput = 2\n") ==
        "rates.toml:10:20: model \"x\": tiers[0]: field \"counts\": unknown token kind \"imput\" (known: input, "
        "output, cache_read, cache_write_5m, cache_write_1h, reasoning)");
  CHECK(tiers("tiers = 5\n") ==
        "rates.toml:8:9: model \"x\": field \"tiers\": expected an array of tables ([[...tiers]]), not an integer");
}

TEST_CASE("rate toml errors: history") {
  auto history = [](absl::string_view body) {
    return std::string(ParseError(OneModel(absl::StrCat("input = 1\n", body))).message());
  };
  CHECK(history("[[models.history]]\nbefore = \"2025-08-01\"\ninput = 2\n"
                "[[models.history]]\nbefore = \"2025-06-01\"\ninput = 3\n") ==
        "rates.toml:12:10: model \"x\": history[1]: field \"before\": 2025-06-01 is not after history[0]'s "
        "2025-08-01; history entries must be in ascending order, oldest first");
  CHECK(history("[[models.history]]\nbefore = 2025-08-01T10:00:00Z\ninput = 2\n"
                "[[models.history]]\nbefore = 2025-08-01T10:00:00Z\ninput = 3\n") ==
        "rates.toml:12:10: model \"x\": history[1]: field \"before\": 2025-08-01T10:00:00+00:00 is not after "
        "history[0]'s 2025-08-01T10:00:00+00:00; history entries must be in ascending order, oldest first");
  CHECK(history("[[models.history]]\ninput = 2\n") ==
        "rates.toml:8:1: model \"x\": history[0]: missing required key \"before\"");
  CHECK(history("[[models.history]]\nbefore = \"August 2025\"\ninput = 2\n") ==
        "rates.toml:9:10: model \"x\": history[0]: field \"before\": \"August 2025\" is neither a date "
        "(YYYY-MM-DD) nor an RFC 3339 date-time with an offset");
  CHECK(history("[[models.history]]\nbefore = 2025-08-01T10:00:00\ninput = 2\n") ==
        "rates.toml:9:10: model \"x\": history[0]: field \"before\": a date-time needs an offset (Z or +hh:mm) "
        "to name an instant");
  CHECK(history("[[models.history]]\nbefore = \"2025-08-01\"\n") ==
        "rates.toml:8:1: model \"x\": history[0]: the history entry sets no price");
  CHECK(history("[[models.history]]\nbefore = \"2025-08-01\"\ninput = -2\n") ==
        "rates.toml:10:9: model \"x\": history[0]: field \"input\": negative price \"-2\"");
}

TEST_CASE("rate toml errors: aliases") {
  CHECK(ParseError(OneModel("aliases = \"x-1\"\ninput = 1\n")).message() ==
        "rates.toml:7:11: model \"x\": field \"aliases\": expected an array of strings, not a string");
  CHECK(ParseError(OneModel("aliases = [\"x-1\", 2]\ninput = 1\n")).message() ==
        "rates.toml:7:19: model \"x\": field \"aliases\": expected a string, not an integer");
  CHECK(ParseError(OneModel("aliases = [\"\"]\ninput = 1\n")).message() ==
        "rates.toml:7:12: model \"x\": field \"aliases\": an alias must not be empty");
}

// ---------------------------------------------------------------------------
// Files.

namespace {

std::string TempDir() {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  return ec ? std::string("/tmp") : dir.string();
}

std::string WriteTemp(absl::string_view name, absl::string_view text) {
  const std::string path = absl::StrCat(TempDir(), "/", name);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  std::fclose(f);
  return path;
}

}  // namespace

TEST_CASE("rate files: TOML by default, errors name the path") {
  const std::string path = WriteTemp("tokenbook_rate_toml_test.toml", OneModel("input = \"2.5\"\n"));
  absl::StatusOr<RateTable> table = LoadRateFile(path);
  REQUIRE_MESSAGE(table.ok(), table.status().ToString());
  const ModelRates* m = table->FindById("x");
  REQUIRE(m != nullptr);
  CHECK(m->source == path);
  CHECK(m->pricing.standard.rates[TokenKind::kInput]->value() == 2'500'000);

  const std::string bad = WriteTemp("tokenbook_rate_toml_test_bad.rates", OneModel("input = -2.5\n"));
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> rejected = LoadRateFile(bad, &warnings);
  REQUIRE_FALSE(rejected.ok());
  CHECK(rejected.status().message() ==
        absl::StrCat(bad, ":7:9: model \"x\": field \"input\": negative price \"-2.5\""));
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("rate files: .json goes to the LiteLLM importer, not the TOML reader") {
  // A valid TOML table is not valid JSON: the importer must reject it.
  const std::string path = WriteTemp("tokenbook_rate_toml_test.JSON", OneModel("input = 1\n"));
  absl::StatusOr<RateTable> table = LoadRateFile(path);
  CHECK_FALSE(table.ok());
  std::remove(path.c_str());
}

TEST_CASE("rate files: a missing file is NotFound") {
  absl::StatusOr<RateTable> table = LoadRateFile("/nonexistent/dir/rates.toml");
  REQUIRE_FALSE(table.ok());
  CHECK(absl::IsNotFound(table.status()));
  CHECK(table.status().message() ==
        "cannot read rate file \"/nonexistent/dir/rates.toml\": No such file or directory");
  absl::StatusOr<RateTable> dir = LoadRateFile(TempDir());
  CHECK_FALSE(dir.ok());
}
