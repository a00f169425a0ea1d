// Unit tests for the pricing half of include/tokenbook/rates.h: CostOf and
// ExplainCost on hand-built ModelRates. Costs are checked as exact integers of
// micro-dollars; a breakdown's lines must add up to its total exactly.
#include "tokenbook/rates.h"

#include <cstdint>
#include <limits>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tokenbook {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t k2To62 = int64_t{1} << 62;

constexpr TokenKind kIn = TokenKind::kInput;
constexpr TokenKind kOut = TokenKind::kOutput;
constexpr TokenKind kCr = TokenKind::kCacheRead;
constexpr TokenKind kCw5 = TokenKind::kCacheWrite5m;
constexpr TokenKind kCw1 = TokenKind::kCacheWrite1h;
constexpr TokenKind kRsn = TokenKind::kReasoning;

// Rates are written in µ$/MTok: $3.00/MTok is 3'000'000.
TokenRates Rates(std::optional<int64_t> input, std::optional<int64_t> output,
                 std::optional<int64_t> cache_read = std::nullopt,
                 std::optional<int64_t> cache_write_5m = std::nullopt,
                 std::optional<int64_t> cache_write_1h = std::nullopt,
                 std::optional<int64_t> reasoning = std::nullopt) {
  TokenRates r;
  auto set = [&](TokenKind k, std::optional<int64_t> v) {
    if (v.has_value()) r[k] = MicrosPerMTok(*v);
  };
  set(kIn, input);
  set(kOut, output);
  set(kCr, cache_read);
  set(kCw5, cache_write_5m);
  set(kCw1, cache_write_1h);
  set(kRsn, reasoning);
  return r;
}

ModelRates Model(std::string id, TokenRates rates) {
  ModelRates m;
  m.id = std::move(id);
  m.provider = "testco";
  m.as_of = "2026-11-01";
  m.source = "test";
  m.pricing.standard.rates = rates;
  return m;
}

// claude-sonnet-4-5 as Anthropic lists it, with its 200k long-context tier.
ModelRates Sonnet() {
  ModelRates m = Model("claude-sonnet-4-5", Rates(3'000'000, 15'000'000, 300'000, 3'750'000, 6'000'000));
  m.provider = "anthropic";
  ContextTier tier;
  tier.above_tokens = 200'000;
  tier.rates = Rates(6'000'000, 22'500'000, 600'000, 7'500'000, 12'000'000);
  m.pricing.standard.tiers.push_back(tier);
  return m;
}

PriceRequest Req(int64_t input, int64_t output = 0, int64_t cache_read = 0, int64_t cache_write_5m = 0,
                 int64_t cache_write_1h = 0, int64_t reasoning = 0) {
  PriceRequest r;
  r.tokens[kIn] = Tokens(input);
  r.tokens[kOut] = Tokens(output);
  r.tokens[kCr] = Tokens(cache_read);
  r.tokens[kCw5] = Tokens(cache_write_5m);
  r.tokens[kCw1] = Tokens(cache_write_1h);
  r.tokens[kRsn] = Tokens(reasoning);
  return r;
}

PriceRequest One(TokenKind kind, int64_t n) {
  PriceRequest r;
  r.tokens[kind] = Tokens(n);
  if (kind == kRsn) r.tokens[kOut] = Tokens(n);
  return r;
}

int64_t Cost(const ModelRates& m, const PriceRequest& r) {
  auto c = CostOf(m, r);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return c->value();
}

absl::Status CostStatus(const ModelRates& m, const PriceRequest& r) { return CostOf(m, r).status(); }

// ExplainCost, with the invariants every breakdown must keep checked.
PriceBreakdown Explain(const ModelRates& m, const PriceRequest& r) {
  auto b = ExplainCost(m, r);
  REQUIRE_MESSAGE(b.ok(), b.status().ToString());
  auto c = CostOf(m, r);
  REQUIRE(c.ok());
  CHECK(b->total == *c);
  int64_t sum = b->request_fees.value();
  int last = -1;
  for (const KindCost& line : b->lines) {
    sum += line.cost.value();
    CHECK(static_cast<int>(line.kind) > last);  // TokenKind order, no repeats
    last = static_cast<int>(line.kind);
    CHECK(line.tokens.value() > 0);
  }
  CHECK(sum == b->total.value());
  return *b;
}

const KindCost* Line(const PriceBreakdown& b, TokenKind kind) {
  for (const KindCost& line : b.lines) {
    if (line.kind == kind) return &line;
  }
  return nullptr;
}

bool Mentions(const absl::Status& s, absl::string_view text) {
  return s.message().find(text) != absl::string_view::npos;
}

Rational Ratio(int64_t num, int64_t den) {
  Rational r;
  r.num = num;
  r.den = den;
  return r;
}

ServiceTier MultiplierTier(std::string name, int64_t num, int64_t den) {
  ServiceTier t;
  t.name = std::move(name);
  t.multiplier = Ratio(num, den);
  return t;
}

absl::Time Day(int y, int m, int d) { return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone()); }

// ---------------------------------------------------------------------------

TEST_CASE("each token kind is priced at its own rate") {
  const ModelRates m = Sonnet();
  // (100k tokens: below the 200k long-context threshold.)
  CHECK(Cost(m, One(kIn, 100'000)) == 300'000);
  CHECK(Cost(m, One(kOut, 1'000'000)) == 15'000'000);  // output does not count
  CHECK(Cost(m, One(kCr, 100'000)) == 30'000);
  CHECK(Cost(m, One(kCw5, 100'000)) == 375'000);
  CHECK(Cost(m, One(kCw1, 100'000)) == 600'000);
  // One token of each: 3 + 15 + 0.3 + 3.75 + 6 = 28.05 µ$, rounded once.
  CHECK(Cost(m, Req(1, 1, 1, 1, 1)) == 28);
  CHECK(Cost(m, Req(12'000, 4'500)) == 36'000 + 67'500);
  CHECK(Cost(m, Req(0)) == 0);
  // Rounding happens once on the sum, not per kind: 3 × 0.3 µ$ = 0.9 µ$ -> 1,
  // but five cache-read tokens alone are 1.5 µ$ -> 2 and 2.5 µ$ -> 2.
  CHECK(Cost(m, One(kCr, 1)) == 0);
  CHECK(Cost(m, One(kCr, 3)) == 1);
  CHECK(Cost(m, One(kCr, 5)) == 2);
  CHECK(Cost(m, One(kCr, 15)) == 4);  // 4.5 -> 4
  CHECK(Cost(m, One(kCr, 25)) == 8);  // 7.5 -> 8
  CHECK(Cost(m, Req(0, 0, 5, 0, 0)) == 2);
}

TEST_CASE("absent rates borrow from their fallback and the breakdown says so") {
  const ModelRates bare = Model("bare", Rates(2'000'000, 8'000'000));
  SUBCASE("cache read borrows input") {
    CHECK(Cost(bare, One(kCr, 1'000'000)) == 2'000'000);
    const PriceBreakdown b = Explain(bare, One(kCr, 1'000'000));
    REQUIRE(b.lines.size() == 1);
    CHECK(b.lines[0].kind == kCr);
    CHECK(b.lines[0].rate.value() == 2'000'000);
    CHECK(b.lines[0].borrowed_from == kIn);
  }
  SUBCASE("5-minute cache write borrows input") {
    const PriceBreakdown b = Explain(bare, One(kCw5, 1'000'000));
    REQUIRE(b.lines.size() == 1);
    CHECK(b.lines[0].rate.value() == 2'000'000);
    CHECK(b.lines[0].borrowed_from == kIn);
    CHECK(b.total.value() == 2'000'000);
  }
  SUBCASE("1-hour cache write borrows the 5-minute write, then input") {
    ModelRates with5m = Model("with5m", Rates(2'000'000, 8'000'000, std::nullopt, 2'500'000));
    PriceBreakdown b = Explain(with5m, One(kCw1, 1'000'000));
    REQUIRE(b.lines.size() == 1);
    CHECK(b.lines[0].rate.value() == 2'500'000);
    CHECK(b.lines[0].borrowed_from == kCw5);
    CHECK(b.total.value() == 2'500'000);
    b = Explain(bare, One(kCw1, 1'000'000));
    REQUIRE(b.lines.size() == 1);
    CHECK(b.lines[0].rate.value() == 2'000'000);
    CHECK(b.lines[0].borrowed_from == kIn);
  }
  SUBCASE("reasoning without its own rate is billed inside output") {
    const PriceBreakdown b = Explain(bare, Req(0, 1'000, 0, 0, 0, 400));
    REQUIRE(b.lines.size() == 1);
    CHECK(b.lines[0].kind == kOut);
    CHECK(b.lines[0].tokens.value() == 1'000);
    CHECK(b.lines[0].rate.value() == 8'000'000);
    CHECK(!b.lines[0].borrowed_from.has_value());
    CHECK(b.total.value() == 8'000);
    CHECK(Line(b, kRsn) == nullptr);
  }
  SUBCASE("a rate of its own is never marked borrowed") {
    const PriceBreakdown b = Explain(Sonnet(), Req(1'000, 1'000, 1'000, 1'000, 1'000));
    REQUIRE(b.lines.size() == 5);
    for (const KindCost& line : b.lines) CHECK(!line.borrowed_from.has_value());
    CHECK(b.total.value() == 3'000 + 15'000 + 300 + 3'750 + 6'000);
  }
  SUBCASE("a zero rate is a rate, not an absence") {
    ModelRates free_cache = Model("free-cache", Rates(2'000'000, 8'000'000, 0));
    const PriceBreakdown b = Explain(free_cache, One(kCr, 1'000'000));
    REQUIRE(b.lines.size() == 1);
    CHECK(b.total.value() == 0);
    CHECK(!b.lines[0].borrowed_from.has_value());
  }
}

TEST_CASE("a missing rate with tokens to bill is an error, never $0") {
  ModelRates no_input = Model("no-input", Rates(std::nullopt, 8'000'000));
  CHECK(Cost(no_input, One(kOut, 10)) == 80);
  absl::Status s = CostStatus(no_input, One(kIn, 10));
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Mentions(s, "no-input"));
  CHECK(Mentions(s, "input"));
  s = CostStatus(no_input, One(kCr, 10));  // nothing to borrow from
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Mentions(s, "cache_read"));
  s = CostStatus(no_input, One(kCw1, 10));
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Mentions(s, "cache_write_1h"));

  ModelRates no_output = Model("no-output", Rates(1'000'000, std::nullopt));
  s = CostStatus(no_output, One(kOut, 10));
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Mentions(s, "output"));
  CHECK(Cost(no_output, One(kIn, 10)) == 10);

  ModelRates empty = Model("empty", TokenRates{});
  CHECK(Cost(empty, Req(0)) == 0);  // nothing to bill, nothing missing
  CHECK(!CostOf(empty, One(kIn, 1)).ok());
}

TEST_CASE("reasoning at its own rate is split out of output") {
  ModelRates m = Model("thinker", Rates(1'000'000, 15'000'000, std::nullopt, std::nullopt, std::nullopt,
                                        10'000'000));
  // 600 visible output tokens at $15 and 400 reasoning tokens at $10.
  const PriceBreakdown b = Explain(m, Req(0, 1'000, 0, 0, 0, 400));
  CHECK(b.total.value() == 9'000 + 4'000);
  const KindCost* out = Line(b, kOut);
  const KindCost* rsn = Line(b, kRsn);
  REQUIRE(out != nullptr);
  REQUIRE(rsn != nullptr);
  CHECK(out->tokens.value() == 600);
  CHECK(out->cost.value() == 9'000);
  CHECK(rsn->tokens.value() == 400);
  CHECK(rsn->rate.value() == 10'000'000);
  CHECK(rsn->cost.value() == 4'000);
  CHECK(!rsn->borrowed_from.has_value());
  // All output spent reasoning: no output line at all.
  const PriceBreakdown all = Explain(m, Req(0, 500, 0, 0, 0, 500));
  REQUIRE(all.lines.size() == 1);
  CHECK(all.lines[0].kind == kRsn);
  CHECK(all.total.value() == 5'000);
  // Without a reasoning rate the same request costs output price throughout.
  CHECK(Cost(Model("plain", Rates(1'000'000, 15'000'000)), Req(0, 1'000, 0, 0, 0, 400)) == 15'000);
}

TEST_CASE("reasoning beyond output is rejected") {
  const ModelRates m = Sonnet();
  absl::Status s = CostStatus(m, Req(0, 10, 0, 0, 0, 11));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Mentions(s, "reasoning"));
  CHECK(Mentions(s, "11"));
  CHECK(ExplainCost(m, Req(0, 10, 0, 0, 0, 11)).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CostStatus(m, Req(0, 0, 0, 0, 0, 1)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(Cost(m, Req(0, 10, 0, 0, 0, 10)) == 150);
}

TEST_CASE("negative counts are rejected naming the field") {
  const ModelRates m = Sonnet();
  for (TokenKind k : kAllTokenKinds) {
    CAPTURE(std::string(TokenKindName(k)));
    PriceRequest r = Req(10, 10);
    r.tokens[k] = Tokens(-1);
    for (const absl::Status& s : {CostOf(m, r).status(), ExplainCost(m, r).status()}) {
      CHECK(s.code() == absl::StatusCode::kInvalidArgument);
      CHECK(Mentions(s, TokenKindName(k)));
      CHECK(Mentions(s, "negative"));
    }
    r.tokens[k] = Tokens(std::numeric_limits<int64_t>::min());
    CHECK(CostStatus(m, r).code() == absl::StatusCode::kInvalidArgument);
  }
  PriceRequest r = Req(10);
  r.requests = -1;
  CHECK(CostStatus(m, r).code() == absl::StatusCode::kInvalidArgument);
  CHECK(Mentions(CostStatus(m, r), "request"));
}

TEST_CASE("negative or malformed prices in a hand-built table are rejected") {
  ModelRates m = Model("bad", Rates(-1'000'000, 1'000'000));
  absl::Status s = CostStatus(m, One(kIn, 1'000));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Mentions(s, "input"));
  CHECK(ExplainCost(m, One(kIn, 1'000)).status().code() == absl::StatusCode::kInvalidArgument);
  // A negative rate that is never used does not matter.
  CHECK(Cost(m, One(kOut, 1'000)) == 1'000);

  ModelRates fee = Model("bad-fee", Rates(1'000'000, 1'000'000));
  fee.pricing.standard.per_request = Micros(-1);
  CHECK(CostStatus(fee, One(kIn, 1)).code() == absl::StatusCode::kInvalidArgument);

  ModelRates zero_den = Model("zero-den", Rates(1'000'000, 1'000'000));
  zero_den.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 0));
  PriceRequest r = One(kIn, 1'000);
  r.service_tier = "batch";
  CHECK(CostStatus(zero_den, r).code() == absl::StatusCode::kInvalidArgument);
  ModelRates neg_mult = Model("neg-mult", Rates(1'000'000, 1'000'000));
  neg_mult.pricing.service_tiers.push_back(MultiplierTier("batch", -1, 2));
  CHECK(CostStatus(neg_mult, r).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("long-context tiers apply strictly above the threshold") {
  const ModelRates m = Sonnet();
  // Exactly at the threshold: base rates.
  PriceBreakdown b = Explain(m, Req(200'000, 1'000));
  CHECK(b.tier == -1);
  CHECK(b.total.value() == 600'000 + 15'000);
  // One more: the whole request at the tier's rates.
  b = Explain(m, Req(200'001, 1'000));
  CHECK(b.tier == 0);
  CHECK(b.tier_above_tokens == 200'000);
  CHECK(b.tier_counted_tokens == 200'001);
  CHECK(b.total.value() == 1'200'006 + 22'500);
  REQUIRE(Line(b, kIn) != nullptr);
  CHECK(Line(b, kIn)->rate.value() == 6'000'000);
  CHECK(Line(b, kOut)->rate.value() == 22'500'000);
  // Every input kind counts (Anthropic's rule); output does not.
  CHECK(Explain(m, Req(50'000, 0, 50'000, 50'000, 50'000)).tier == -1);
  b = Explain(m, Req(50'000, 0, 50'000, 50'000, 50'001));
  CHECK(b.tier == 0);
  CHECK(b.tier_counted_tokens == 200'001);
  CHECK(b.total.value() == 300'000 + 30'000 + 375'000 + 600'012);
  CHECK(Explain(m, Req(0, 0, 200'001)).tier == 0);
  CHECK(Explain(m, Req(200'000, 5'000'000)).tier == -1);
  CHECK(Explain(m, Req(1, 5'000'000, 0, 0, 0, 5'000'000)).tier == -1);
}

TEST_CASE("a tier counts only the kinds it names and keeps base rates it omits") {
  ModelRates m = Model("gem", Rates(1'250'000, 10'000'000, 125'000));
  ContextTier tier;
  tier.above_tokens = 200'000;
  tier.counted_kinds = KindBit(kIn);
  tier.rates = Rates(2'500'000, std::nullopt);  // only input changes
  m.pricing.standard.tiers.push_back(tier);
  CHECK(Explain(m, Req(100'000, 0, 500'000)).tier == -1);  // cache reads not counted
  const PriceBreakdown b = Explain(m, Req(200'001, 1'000'000, 1'000'000));
  CHECK(b.tier == 0);
  CHECK(Line(b, kIn)->rate.value() == 2'500'000);
  CHECK(Line(b, kOut)->rate.value() == 10'000'000);  // base
  CHECK(Line(b, kCr)->rate.value() == 125'000);      // base, own
  CHECK(b.total.value() == 10'625'002);  // 500,002.5 + 10,000,000 + 125,000: the tie goes to even

  // A tier may count output too, if the data says so.
  ModelRates all = Model("all", Rates(1'000'000, 2'000'000));
  ContextTier everything;
  everything.above_tokens = 10;
  everything.counted_kinds = kPromptKinds | KindBit(kOut);
  everything.rates = Rates(10'000'000, 20'000'000);
  all.pricing.standard.tiers.push_back(everything);
  CHECK(Explain(all, Req(5, 5)).tier == -1);
  CHECK(Explain(all, Req(5, 6)).tier == 0);
  CHECK(Cost(all, Req(5, 6)) == 50 + 120);
}

TEST_CASE("a borrowed rate follows the tier's own rate of the kind it borrows from") {
  ModelRates m = Model("borrow", Rates(1'000'000, 2'000'000));
  ContextTier tier;
  tier.above_tokens = 100;
  tier.rates = Rates(4'000'000, std::nullopt);
  m.pricing.standard.tiers.push_back(tier);
  const PriceBreakdown b = Explain(m, Req(0, 0, 101));
  CHECK(b.tier == 0);
  CHECK(Line(b, kCr)->rate.value() == 4'000'000);
  CHECK(Line(b, kCr)->borrowed_from == kIn);
}

TEST_CASE("the highest exceeded tier wins") {
  ModelRates m = Model("tiered", Rates(1'000'000, 2'000'000));
  for (int64_t above : {128'000, 200'000, 1'000'000}) {
    ContextTier t;
    t.above_tokens = above;
    t.rates = Rates(above * 10, std::nullopt);
    m.pricing.standard.tiers.push_back(t);
  }
  CHECK(Explain(m, One(kIn, 128'000)).tier == -1);
  CHECK(Explain(m, One(kIn, 128'001)).tier == 0);
  CHECK(Explain(m, One(kIn, 200'000)).tier == 0);
  CHECK(Explain(m, One(kIn, 200'001)).tier == 1);
  CHECK(Explain(m, One(kIn, 1'000'000)).tier == 1);
  const PriceBreakdown b = Explain(m, One(kIn, 1'000'001));
  CHECK(b.tier == 2);
  CHECK(b.tier_above_tokens == 1'000'000);
  CHECK(b.total.value() == 10'000'010);
  CHECK(Cost(m, One(kIn, 200'001)) == 400'002);

  // Out of order (a table built by hand or merged carelessly): still the
  // highest exceeded threshold, never a lower tier that comes later.
  ModelRates shuffled = Model("shuffled", Rates(1'000'000, 2'000'000));
  for (int64_t above : {1'000'000, 128'000, 200'000}) {
    ContextTier t;
    t.above_tokens = above;
    t.rates = Rates(above * 10, std::nullopt);
    shuffled.pricing.standard.tiers.push_back(t);
  }
  CHECK(Explain(shuffled, One(kIn, 128'000)).tier == -1);
  CHECK(Explain(shuffled, One(kIn, 150'000)).tier == 1);
  CHECK(Explain(shuffled, One(kIn, 250'000)).tier == 2);
  const PriceBreakdown top = Explain(shuffled, One(kIn, 2'000'000));
  CHECK(top.tier == 0);
  CHECK(top.tier_above_tokens == 1'000'000);
  CHECK(top.total.value() == 20'000'000);
}

TEST_CASE("multiplier-only service tiers scale the whole request exactly") {
  ModelRates m = Sonnet();
  m.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  m.pricing.service_tiers.push_back(MultiplierTier("regional", 11, 10));
  m.pricing.service_tiers.push_back(MultiplierTier("fast", 6, 1));
  m.pricing.standard.per_request = Micros(10'000);
  auto with = [](PriceRequest r, absl::string_view tier) {
    r.service_tier = tier;
    return r;
  };
  const PriceRequest base = Req(100'000, 100'000);  // $0.30 + $1.50 + $0.01 fee
  CHECK(Cost(m, base) == 1'810'000);
  CHECK(Cost(m, with(base, "batch")) == 905'000);
  CHECK(Cost(m, with(base, "regional")) == 1'991'000);
  CHECK(Cost(m, with(base, "fast")) == 10'860'000);
  const PriceBreakdown b = Explain(m, with(base, "batch"));
  CHECK(b.service_tier == "batch");
  CHECK(b.multiplier == Ratio(1, 2));
  CHECK(b.request_fees.value() == 5'000);  // the fee is scaled too
  CHECK(Line(b, kIn)->cost.value() == 150'000);
  CHECK(Line(b, kOut)->cost.value() == 750'000);
  // Long-context tiers still apply under a multiplier-only tier.
  CHECK(Explain(m, with(Req(200'001), "batch")).tier == 0);
  CHECK(Cost(m, with(Req(200'001), "batch")) == 600'003 + 5'000);
}

TEST_CASE("the multiplier is applied before the single half-even rounding") {
  ModelRates m = Model("one-dollar", Rates(1'000'000, 1'000'000));
  m.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  m.pricing.service_tiers.push_back(MultiplierTier("regional", 11, 10));
  m.pricing.service_tiers.push_back(MultiplierTier("third", 1, 3));
  auto cost = [&](int64_t input, absl::string_view tier) {
    PriceRequest r = One(kIn, input);
    r.service_tier = tier;
    return Explain(m, r).total.value();
  };
  CHECK(cost(5, "batch") == 2);      // 2.5 -> 2
  CHECK(cost(7, "batch") == 4);      // 3.5 -> 4
  CHECK(cost(1, "batch") == 0);      // 0.5 -> 0
  CHECK(cost(3, "batch") == 2);      // 1.5 -> 2
  CHECK(cost(5, "regional") == 6);   // 5.5 -> 6
  CHECK(cost(15, "regional") == 16); // 16.5 -> 16
  CHECK(cost(25, "regional") == 28); // 27.5 -> 28
  CHECK(cost(35, "regional") == 38); // 38.5 -> 38
  CHECK(cost(4, "regional") == 4);   // 4.4 -> 4
  CHECK(cost(6, "regional") == 7);   // 6.6 -> 7
  CHECK(cost(1, "third") == 0);
  CHECK(cost(2, "third") == 1);
  // Two kinds whose scaled parts are both x.5 still round once.
  PriceRequest two = Req(5, 5);
  two.service_tier = "regional";
  const PriceBreakdown b = Explain(m, two);
  CHECK(b.total.value() == 11);  // 5.5 + 5.5
  CHECK(Line(b, kIn)->cost.value() + Line(b, kOut)->cost.value() == 11);
  const PriceBreakdown half = Explain(m, Req(1, 1, 1));
  CHECK(half.total.value() == 3);
  PriceRequest three = Req(1, 1, 1);
  three.service_tier = "batch";
  const PriceBreakdown h = Explain(m, three);  // 1.5 -> 2, spread over three 0.5s
  CHECK(h.total.value() == 2);
}

TEST_CASE("service tiers with their own prices") {
  ModelRates m = Sonnet();
  m.pricing.standard.per_request = Micros(1'000);
  ServiceTier priority;
  priority.name = "priority";
  priority.prices = PriceSet{};
  priority.prices->rates = Rates(5'000'000, 25'000'000);  // no cache rates of its own
  m.pricing.service_tiers.push_back(priority);

  ServiceTier flex;
  flex.name = "flex";
  flex.multiplier = Ratio(1, 2);
  flex.prices = PriceSet{};
  flex.prices->rates = Rates(2'000'000, std::nullopt);
  ContextTier own;
  own.above_tokens = 100'000;
  own.rates = Rates(4'000'000, std::nullopt);
  flex.prices->tiers.push_back(own);
  flex.prices->per_request = Micros(500);
  m.pricing.service_tiers.push_back(flex);

  auto with = [](PriceRequest r, absl::string_view tier) {
    r.service_tier = tier;
    return r;
  };
  SUBCASE("named rates replace, others keep the standard rate") {
    const PriceBreakdown b = Explain(m, with(Req(1'000'000, 1'000'000, 1'000'000), "priority"));
    CHECK(b.service_tier == "priority");
    CHECK(b.multiplier.is_one());
    CHECK(Line(b, kIn)->rate.value() == 5'000'000);
    CHECK(Line(b, kOut)->rate.value() == 25'000'000);
    CHECK(Line(b, kCr)->rate.value() == 300'000);  // standard's own cache-read rate
    CHECK(!Line(b, kCr)->borrowed_from.has_value());
    CHECK(b.request_fees.value() == 1'000);  // no fee of its own: the standard fee
    CHECK(b.total.value() == 5'000'000 + 25'000'000 + 300'000 + 1'000);
  }
  SUBCASE("without tiers of its own, no long-context tier applies") {
    const PriceBreakdown b = Explain(m, with(Req(500'000), "priority"));
    CHECK(b.tier == -1);
    CHECK(b.total.value() == 2'500'000 + 1'000);
  }
  SUBCASE("its own tiers replace the standard ones") {
    PriceBreakdown b = Explain(m, with(Req(100'000, 0, 0), "flex"));
    CHECK(b.tier == -1);
    CHECK(b.total.value() == (200'000 + 500) / 2);
    b = Explain(m, with(Req(100'001, 1'000), "flex"));
    CHECK(b.tier == 0);
    CHECK(b.tier_above_tokens == 100'000);
    // input at the flex tier's 4.00, output at the standard 15.00, fee 500, all halved.
    CHECK(b.total.value() == (400'004 + 15'000 + 500) / 2);
    CHECK(b.request_fees.value() == 250);
  }
}

TEST_CASE("an unknown service tier is an error naming the known ones") {
  ModelRates m = Sonnet();
  m.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  m.pricing.service_tiers.push_back(MultiplierTier("priority", 2, 1));
  PriceRequest r = Req(10);
  r.service_tier = "turbo";
  const absl::Status s = CostStatus(m, r);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Mentions(s, "\"turbo\""));
  CHECK(Mentions(s, "claude-sonnet-4-5"));
  CHECK(Mentions(s, "standard, batch, priority"));
  r.service_tier = "Batch";  // tier names are exact
  CHECK(CostStatus(m, r).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("standard, default, auto and on_demand are the list prices") {
  ModelRates m = Sonnet();
  m.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  const int64_t list = Cost(m, Req(1'000, 1'000));
  for (const char* name : {"", "standard", "default", "auto", "on_demand"}) {
    CAPTURE(std::string(name));
    PriceRequest r = Req(1'000, 1'000);
    r.service_tier = name;
    const PriceBreakdown b = Explain(m, r);
    CHECK(b.total.value() == list);
    CHECK(b.service_tier == "standard");
    CHECK(b.multiplier.is_one());
  }
}

TEST_CASE("per-request fees are charged per request") {
  ModelRates m = Model("fee", Rates(1'000'000, 1'000'000));
  m.pricing.standard.per_request = Micros(10'000);
  PriceRequest r = Req(100);
  CHECK(Cost(m, r) == 10'100);
  r.requests = 3;
  PriceBreakdown b = Explain(m, r);
  CHECK(b.request_fees.value() == 30'000);
  CHECK(b.total.value() == 30'100);
  r.requests = 0;
  b = Explain(m, r);
  CHECK(b.request_fees.value() == 0);
  CHECK(b.total.value() == 100);
  // A fee alone, with no tokens at all.
  PriceRequest only_fee;
  only_fee.requests = 7;
  b = Explain(m, only_fee);
  CHECK(b.lines.empty());
  CHECK(b.total.value() == 70'000);
  CHECK(b.request_fees.value() == 70'000);
}

TEST_CASE("history prices a request at the rates in force at its timestamp") {
  ModelRates m = Sonnet();
  HistoricalPricing first;
  first.before = Day(2025, 5, 1);
  first.pricing.standard.rates = Rates(5'000'000, 25'000'000);
  HistoricalPricing second;
  second.before = Day(2025, 8, 1);
  second.pricing.standard.rates = Rates(4'000'000, 16'000'000);
  second.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  m.history = {first, second};
  m.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 4));

  auto at = [](absl::Time t) {
    PriceRequest r = Req(100'000);
    r.at = t;
    return r;
  };
  PriceBreakdown b = Explain(m, at(Day(2025, 5, 1) - absl::Nanoseconds(1)));
  CHECK(b.historical);
  CHECK(b.total.value() == 500'000);
  b = Explain(m, at(Day(2025, 5, 1)));  // the boundary belongs to the next period
  CHECK(b.historical);
  CHECK(b.total.value() == 400'000);
  b = Explain(m, at(Day(2025, 8, 1) - absl::Milliseconds(1)));
  CHECK(b.total.value() == 400'000);
  b = Explain(m, at(Day(2025, 8, 1)));
  CHECK(!b.historical);
  CHECK(b.total.value() == 300'000);
  b = Explain(m, at(Day(2030, 1, 1)));
  CHECK(!b.historical);
  CHECK(Explain(m, at(absl::InfinitePast())).total.value() == 500'000);
  CHECK(!Explain(m, Req(100'000)).historical);  // no timestamp: current prices
  CHECK(Cost(m, Req(100'000)) == 300'000);
  // A historical period uses its own service tiers.
  PriceRequest batch = at(Day(2025, 6, 1));
  batch.service_tier = "batch";
  CHECK(Cost(m, batch) == 200'000);
  batch.at = Day(2026, 1, 1);
  CHECK(Cost(m, batch) == 75'000);
  batch.at = Day(2025, 1, 1);
  CHECK(CostStatus(m, batch).code() == absl::StatusCode::kInvalidArgument);
  // The old prices had no long-context tier.
  PriceRequest big = at(Day(2025, 6, 1));
  big.tokens[kIn] = Tokens(300'000);
  CHECK(Explain(m, big).tier == -1);
}

TEST_CASE("overflow is an error, never a wrapped number") {
  const ModelRates max_rate = Model("max", Rates(kMax, kMax, kMax, kMax, kMax, kMax));
  // Exactly the largest amount: 10^6 tokens at INT64_MAX µ$/MTok.
  CHECK(Cost(max_rate, One(kIn, 1'000'000)) == kMax);
  CHECK(CostStatus(max_rate, One(kIn, 1'000'001)).code() == absl::StatusCode::kOutOfRange);
  // One token at INT64_MAX µ$/MTok is 9223372036854.775807 µ$, rounded up.
  CHECK(Cost(max_rate, One(kIn, 1)) == 9'223'372'036'855);
  // Each part fits, the sum does not.
  CHECK(CostStatus(max_rate, Req(1'000'000, 1)).code() == absl::StatusCode::kOutOfRange);
  // The largest token counts with the largest rates overflow even 128 bits.
  const PriceRequest huge = Req(k2To62 - 1, k2To62 - 1, k2To62 - 1, k2To62 - 1, k2To62 - 1, 0);
  CHECK(CostStatus(max_rate, huge).code() == absl::StatusCode::kOutOfRange);
  CHECK(ExplainCost(max_rate, huge).status().code() == absl::StatusCode::kOutOfRange);
  // Token counts of 2^62 and beyond are refused before any arithmetic.
  for (TokenKind k : kAllTokenKinds) {
    CAPTURE(std::string(TokenKindName(k)));
    PriceRequest r;
    r.tokens[k] = Tokens(k2To62);
    r.tokens[kOut] = Tokens(k2To62);
    CHECK(CostStatus(max_rate, r).code() == absl::StatusCode::kOutOfRange);
    CHECK(ExplainCost(max_rate, r).status().code() == absl::StatusCode::kOutOfRange);
    r.tokens[k] = Tokens(kMax);
    r.tokens[kOut] = Tokens(kMax);
    CHECK(CostStatus(max_rate, r).code() == absl::StatusCode::kOutOfRange);
  }
  // 2^62 - 1 tokens fit when the cost does: at $2/MTok it is INT64_MAX - 1 µ$.
  const ModelRates two = Model("two", Rates(2'000'000, 3'000'000));
  CHECK(Cost(two, One(kIn, k2To62 - 1)) == kMax - 1);
  CHECK(CostStatus(two, One(kOut, k2To62 - 1)).code() == absl::StatusCode::kOutOfRange);
  const ModelRates one = Model("one", Rates(1, 1));
  CHECK(Cost(one, One(kIn, k2To62 - 1)) == 4'611'686'018'427);  // (2^62 - 1) / 10^6
  // A multiplier can push a fitting sum out of range, or back into it.
  ModelRates scaled = Model("scaled", Rates(kMax, kMax));
  scaled.pricing.service_tiers.push_back(MultiplierTier("regional", 11, 10));
  scaled.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  scaled.pricing.service_tiers.push_back(MultiplierTier("huge", kMax, 1));
  PriceRequest r = One(kIn, 1'000'000);
  r.service_tier = "regional";
  CHECK(CostStatus(scaled, r).code() == absl::StatusCode::kOutOfRange);
  r = One(kIn, 2'000'000);
  r.service_tier = "batch";
  CHECK(Cost(scaled, r) == kMax);
  r = huge;
  r.service_tier = "huge";
  CHECK(CostStatus(scaled, r).code() == absl::StatusCode::kOutOfRange);
  r = One(kIn, k2To62 - 1);
  r.service_tier = "huge";
  CHECK(CostStatus(scaled, r).code() == absl::StatusCode::kOutOfRange);
  CHECK(ExplainCost(scaled, r).status().code() == absl::StatusCode::kOutOfRange);
  // Per-request fees: the fee times the request count is checked too.
  ModelRates fee = Model("fee", Rates(1, 1));
  fee.pricing.standard.per_request = Micros(kMax);
  PriceRequest many;
  many.requests = 1;
  CHECK(Cost(fee, many) == kMax);
  many.requests = 2;
  CHECK(CostStatus(fee, many).code() == absl::StatusCode::kOutOfRange);
  many.requests = kMax;
  CHECK(CostStatus(fee, many).code() == absl::StatusCode::kOutOfRange);
  CHECK(ExplainCost(fee, many).status().code() == absl::StatusCode::kOutOfRange);
  fee.pricing.standard.per_request = Micros(1);
  CHECK(Cost(fee, many) == kMax);
}

// ---------------------------------------------------------------------------
// Property: lines + fees == total, and total == an independent computation.

struct Rng {
  uint64_t state;
  uint64_t Next() {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  bool Chance(int percent) { return Below(100) < percent; }
};

// A rate in µ$/MTok with odd digits, so products leave remainders.
std::optional<int64_t> RandomRate(Rng& rng, int absent_percent) {
  if (rng.Chance(absent_percent)) return std::nullopt;
  switch (rng.Below(4)) {
    case 0: return rng.Below(1'000);
    case 1: return rng.Below(100'000'000);
    case 2: return 1'000'000 * rng.Below(100) + rng.Below(7);
    default: return rng.Below(3) * 333'333;
  }
}

TokenRates RandomRates(Rng& rng, int absent_percent) {
  TokenRates r;
  for (TokenKind k : kAllTokenKinds) {
    if (auto v = RandomRate(rng, absent_percent)) r[k] = MicrosPerMTok(*v);
  }
  return r;
}

// The rules of docs/rates-format.md, written out plainly.
__int128 ReferenceCost(const ModelRates& m, const PriceRequest& req, const Rational& mult) {
  TokenRates rates = m.pricing.standard.rates;
  const PriceSet* set = &m.pricing.standard;
  if (const ServiceTier* t = m.pricing.FindServiceTier(req.service_tier); t && t->prices) {
    set = &*t->prices;
    rates.OverlayWith(t->prices->rates);
  }
  int64_t best_above = -1;
  const TokenRates* best = nullptr;
  for (const ContextTier& t : set->tiers) {
    int64_t counted = 0;
    for (TokenKind k : kAllTokenKinds) {
      if (t.counted_kinds & KindBit(k)) counted += req.tokens[k].value();
    }
    if (counted > t.above_tokens && t.above_tokens > best_above) {
      best_above = t.above_tokens;
      best = &t.rates;
    }
  }
  if (best != nullptr) rates.OverlayWith(*best);
  auto rate_of = [&](TokenKind k) -> int64_t {
    if (rates[k]) return rates[k]->value();
    if (k == kCw1) {
      if (rates[kCw5]) return rates[kCw5]->value();
      return rates[kIn]->value();
    }
    if (k == kCr || k == kCw5) return rates[kIn]->value();
    return rates[kOut]->value();
  };
  __int128 pico = 0;
  for (TokenKind k : {kIn, kCr, kCw5, kCw1}) {
    if (req.tokens[k].value() > 0) pico += static_cast<__int128>(req.tokens[k].value()) * rate_of(k);
  }
  const int64_t out = req.tokens.output().value();
  const int64_t rsn = req.tokens.reasoning().value();
  if (rates[kRsn]) {
    pico += static_cast<__int128>(out - rsn) * rate_of(kOut) + static_cast<__int128>(rsn) * rates[kRsn]->value();
  } else if (out > 0) {
    pico += static_cast<__int128>(out) * rate_of(kOut);
  }
  std::optional<Micros> fee = set->per_request ? set->per_request : m.pricing.standard.per_request;
  if (fee) pico += static_cast<__int128>(fee->value()) * req.requests * kPicosPerMicro;
  return DivRoundHalfEven(pico * mult.num, static_cast<__int128>(mult.den) * kPicosPerMicro);
}

TEST_CASE("breakdown lines always sum exactly to the total (property)") {
  Rng rng{20261101};
  const Rational multipliers[] = {Ratio(1, 1),  Ratio(1, 2),  Ratio(11, 10), Ratio(1, 3), Ratio(7, 9),
                                  Ratio(6, 1),  Ratio(2, 3),  Ratio(0, 1),   Ratio(999, 1000),
                                  Ratio(13, 7), Ratio(1, 1'000'000'007)};
  int tiered = 0;
  int multiplied = 0;
  int with_fees = 0;
  int with_remainder = 0;
  for (int iter = 0; iter < 20'000; ++iter) {
    CAPTURE(iter);
    ModelRates m = Model("prop", RandomRates(rng, 30));
    // Always something to fall back to.
    if (!m.pricing.standard.rates[kIn]) m.pricing.standard.rates[kIn] = MicrosPerMTok(rng.Below(5'000'000));
    if (!m.pricing.standard.rates[kOut]) m.pricing.standard.rates[kOut] = MicrosPerMTok(rng.Below(5'000'000));
    if (rng.Chance(30)) m.pricing.standard.per_request = Micros(rng.Below(50'000));
    int64_t above = rng.Below(1'000);
    for (int t = static_cast<int>(rng.Below(3)); t > 0; --t) {
      ContextTier tier;
      above += 1 + rng.Below(2'000);
      tier.above_tokens = above;
      if (rng.Chance(30)) tier.counted_kinds = KindBit(kIn) | KindBit(kOut);
      tier.rates = RandomRates(rng, 50);
      m.pricing.standard.tiers.push_back(tier);
    }
    const Rational mult = multipliers[rng.Below(std::size(multipliers))];
    ServiceTier st;
    st.name = "svc";
    st.multiplier = mult;
    if (rng.Chance(30)) {
      st.prices = PriceSet{};
      st.prices->rates = RandomRates(rng, 60);
      if (rng.Chance(50)) st.prices->per_request = Micros(rng.Below(10'000));
      if (rng.Chance(50)) {
        ContextTier tier;
        tier.above_tokens = rng.Below(3'000);
        tier.rates = RandomRates(rng, 50);
        st.prices->tiers.push_back(tier);
      }
    }
    m.pricing.service_tiers.push_back(st);

    PriceRequest r;
    for (TokenKind k : kAllTokenKinds) {
      if (rng.Chance(40)) continue;
      r.tokens[k] = Tokens(rng.Chance(10) ? rng.Below(int64_t{1} << 40) : rng.Below(5'000));
    }
    if (r.tokens[kRsn] > r.tokens[kOut]) r.tokens[kRsn] = Tokens(rng.Below(r.tokens[kOut].value() + 1));
    r.requests = rng.Below(4);
    const bool use_tier = rng.Chance(60);
    if (use_tier) r.service_tier = "svc";

    const PriceBreakdown b = Explain(m, r);  // checks the sum and CostOf agreement
    const Rational applied = use_tier ? mult : Ratio(1, 1);
    const __int128 reference = ReferenceCost(m, r, applied);
    REQUIRE(reference <= kMax);
    CHECK(b.total.value() == static_cast<int64_t>(reference));
    // Each line is within one micro-dollar of its exact share.
    const __int128 den = static_cast<__int128>(applied.den) * kPicosPerMicro;
    for (const KindCost& line : b.lines) {
      const __int128 exact = static_cast<__int128>(line.tokens.value()) * line.rate.value() * applied.num;
      const __int128 floor = exact / den;
      CHECK(line.cost.value() >= floor);
      CHECK(line.cost.value() <= floor + 1);
      if (exact % den == 0) CHECK(line.cost.value() == floor);
      if (exact % den != 0) ++with_remainder;
    }
    if (b.tier >= 0) ++tiered;
    if (!b.multiplier.is_one()) ++multiplied;
    if (b.request_fees.value() != 0) ++with_fees;
  }
  // The generator really exercised what the property is about.
  CHECK(tiered > 1'000);
  CHECK(multiplied > 5'000);
  CHECK(with_fees > 1'000);
  CHECK(with_remainder > 10'000);
}

TEST_CASE("ExplainCost reports the model and the pricing it used") {
  ModelRates m = Sonnet();
  m.pricing.service_tiers.push_back(MultiplierTier("batch", 1, 2));
  PriceRequest r = Req(300'000, 2'000, 1'000);
  r.service_tier = "batch";
  const PriceBreakdown b = Explain(m, r);
  CHECK(b.model == "claude-sonnet-4-5");
  CHECK(b.provider == "anthropic");
  CHECK(b.as_of == "2026-11-01");
  CHECK(b.service_tier == "batch");
  CHECK(b.multiplier == Ratio(1, 2));
  CHECK(!b.historical);
  CHECK(b.tier == 0);
  CHECK(b.tier_counted_tokens == 301'000);
  REQUIRE(b.lines.size() == 3);
  CHECK(b.lines[0].kind == kIn);
  CHECK(b.lines[1].kind == kOut);
  CHECK(b.lines[2].kind == kCr);
  CHECK(b.lines[0].cost.value() == 900'000);
  CHECK(b.lines[1].cost.value() == 22'500);
  CHECK(b.lines[2].cost.value() == 300);
  CHECK(b.total.value() == 922'800);
}

TEST_CASE("TokenRates and Pricing helpers") {
  TokenRates base = Rates(1, 2, 3);
  CHECK(!base.empty());
  CHECK(TokenRates{}.empty());
  base.OverlayWith(Rates(std::nullopt, 20, std::nullopt, 40));
  CHECK(base[kIn]->value() == 1);
  CHECK(base[kOut]->value() == 20);
  CHECK(base[kCr]->value() == 3);
  CHECK(base[kCw5]->value() == 40);
  CHECK(!base[kCw1].has_value());
  CHECK(FallbackKind(kCr) == kIn);
  CHECK(FallbackKind(kCw5) == kIn);
  CHECK(FallbackKind(kCw1) == kCw5);
  CHECK(FallbackKind(kRsn) == kOut);
  CHECK(!FallbackKind(kIn).has_value());
  CHECK(!FallbackKind(kOut).has_value());
  CHECK(TokenKindName(kCw1) == "cache_write_1h");
  CHECK(IsStandardTier(""));
  CHECK(IsStandardTier("on_demand"));
  CHECK(!IsStandardTier("batch"));
  CHECK(!IsStandardTier("Standard"));
}

}  // namespace
}  // namespace tokenbook
