// Rate tables and exact pricing.
//
// A RateTable maps model names to ModelRates: base rates per token kind,
// long-context tiers, service tiers (batch, flex, priority, fast), per-request
// fees and effective-dated history. CostOf() prices one request exactly:
// Σ tokens × rate in pico-dollars (128-bit, checked), times the service tier's
// rational multiplier, rounded once, half-even, to whole micro-dollars.
//
// Token-count contract (what every caller and ingester must hand in):
//   input           uncached input tokens (Anthropic's meaning; OpenAI's
//                   prompt_tokens minus cached tokens)
//   cache_read      input tokens served from the prompt cache
//   cache_write_5m  tokens written to the 5-minute cache
//   cache_write_1h  tokens written to the 1-hour cache
//   output          all output tokens, reasoning included
//   reasoning       the part of output spent on reasoning (never more than
//                   output); billed at the reasoning rate when the model has
//                   one, else as ordinary output
#ifndef TOKENBOOK_RATES_H_
#define TOKENBOOK_RATES_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tokenbook/model_names.h"
#include "tokenbook/money.h"

namespace tokenbook {
inline namespace v1 {

enum class TokenKind : int {
  kInput = 0,
  kOutput = 1,
  kCacheRead = 2,
  kCacheWrite5m = 3,
  kCacheWrite1h = 4,
  kReasoning = 5,
};
inline constexpr int kTokenKindCount = 6;
inline constexpr std::array<TokenKind, kTokenKindCount> kAllTokenKinds = {
    TokenKind::kInput,        TokenKind::kOutput,       TokenKind::kCacheRead,
    TokenKind::kCacheWrite5m, TokenKind::kCacheWrite1h, TokenKind::kReasoning};

inline absl::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kInput: return "input";
    case TokenKind::kOutput: return "output";
    case TokenKind::kCacheRead: return "cache_read";
    case TokenKind::kCacheWrite5m: return "cache_write_5m";
    case TokenKind::kCacheWrite1h: return "cache_write_1h";
    case TokenKind::kReasoning: return "reasoning";
  }
  return "?";
}

// Token counts of one request (or a sum of them).
struct TokenCounts {
  std::array<Tokens, kTokenKindCount> by_kind{};

  Tokens& operator[](TokenKind k) { return by_kind[static_cast<int>(k)]; }
  Tokens operator[](TokenKind k) const { return by_kind[static_cast<int>(k)]; }

  Tokens input() const { return (*this)[TokenKind::kInput]; }
  Tokens output() const { return (*this)[TokenKind::kOutput]; }
  Tokens cache_read() const { return (*this)[TokenKind::kCacheRead]; }
  Tokens cache_write_5m() const { return (*this)[TokenKind::kCacheWrite5m]; }
  Tokens cache_write_1h() const { return (*this)[TokenKind::kCacheWrite1h]; }
  Tokens reasoning() const { return (*this)[TokenKind::kReasoning]; }
};

// Rates per token kind; an absent rate falls back as FallbackKind() says.
struct TokenRates {
  std::array<std::optional<MicrosPerMTok>, kTokenKindCount> by_kind{};

  std::optional<MicrosPerMTok>& operator[](TokenKind k) { return by_kind[static_cast<int>(k)]; }
  const std::optional<MicrosPerMTok>& operator[](TokenKind k) const {
    return by_kind[static_cast<int>(k)];
  }
  bool empty() const {
    for (const auto& r : by_kind) {
      if (r.has_value()) return false;
    }
    return true;
  }
  // Fields set in `top` replace ours.
  void OverlayWith(const TokenRates& top) {
    for (int k = 0; k < kTokenKindCount; ++k) {
      if (top.by_kind[k].has_value()) by_kind[k] = top.by_kind[k];
    }
  }
};

// Where an absent rate is borrowed from: cache read and 5-minute write from
// input, 1-hour write from 5-minute write, reasoning from output.
inline std::optional<TokenKind> FallbackKind(TokenKind kind) {
  switch (kind) {
    case TokenKind::kCacheRead: return TokenKind::kInput;
    case TokenKind::kCacheWrite5m: return TokenKind::kInput;
    case TokenKind::kCacheWrite1h: return TokenKind::kCacheWrite5m;
    case TokenKind::kReasoning: return TokenKind::kOutput;
    default: return std::nullopt;
  }
}

// Token kinds counted against a long-context threshold, as a bit mask.
inline constexpr uint32_t KindBit(TokenKind k) { return 1u << static_cast<int>(k); }
inline constexpr uint32_t kPromptKinds = KindBit(TokenKind::kInput) | KindBit(TokenKind::kCacheRead) |
                                         KindBit(TokenKind::kCacheWrite5m) |
                                         KindBit(TokenKind::kCacheWrite1h);

// When the request's counted tokens exceed `above_tokens`, the whole request
// is billed at `rates` (fields absent here keep the base rate).
struct ContextTier {
  int64_t above_tokens = 0;
  uint32_t counted_kinds = kPromptKinds;
  TokenRates rates;
};

struct PriceSet {
  TokenRates rates;
  std::vector<ContextTier> tiers;  // ascending by above_tokens
  std::optional<Micros> per_request;
};

// A named service tier. With `prices`, those rates replace the standard ones
// (absent fields keep the standard rate; its own tiers, if any, replace the
// standard tiers, else no long-context tier applies); without, the standard
// prices apply. The multiplier then scales the whole request.
struct ServiceTier {
  std::string name;
  Rational multiplier;
  std::optional<PriceSet> prices;
};

struct Pricing {
  PriceSet standard;
  std::vector<ServiceTier> service_tiers;

  const ServiceTier* FindServiceTier(absl::string_view name) const {
    for (const ServiceTier& t : service_tiers) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

// Prices that applied before `before` (and after the previous entry's).
struct HistoricalPricing {
  absl::Time before;
  Pricing pricing;
};

struct ModelRates {
  std::string id;
  std::string provider;
  std::vector<std::string> aliases;
  Pricing pricing;
  std::vector<HistoricalPricing> history;  // ascending by `before`
  std::string as_of;                       // date the prices were read, "2026-11-01"
  std::string source;                      // "builtin", a file path, "litellm:<path>"

  // The prices in force at `at` (the current ones when absent).
  const Pricing& PricingAt(std::optional<absl::Time> at) const {
    if (at.has_value()) {
      for (const HistoricalPricing& h : history) {
        if (*at < h.before) return h.pricing;
      }
    }
    return pricing;
  }
};

// Service-tier names that mean "no special tier".
inline bool IsStandardTier(absl::string_view name) {
  return name.empty() || name == "standard" || name == "default" || name == "auto" ||
         name == "on_demand";
}

struct PriceRequest {
  TokenCounts tokens;
  int64_t requests = 1;
  absl::string_view service_tier;       // "" or "standard" for list prices
  std::optional<absl::Time> at;        // price at the rate in force then
};

// One line of a price breakdown.
struct KindCost {
  TokenKind kind = TokenKind::kInput;
  Tokens tokens;
  MicrosPerMTok rate;
  Micros cost;                            // lines sum exactly to the total
  std::optional<TokenKind> borrowed_from;  // rate taken from another kind
};

struct PriceBreakdown {
  std::string model;
  std::string provider;
  std::string as_of;
  std::vector<KindCost> lines;  // kinds with tokens, in TokenKind order
  Micros request_fees;          // per-request fees (after the multiplier)
  int tier = -1;                // index of the long-context tier, -1 for base
  int64_t tier_above_tokens = 0;
  int64_t tier_counted_tokens = 0;
  std::string service_tier = "standard";
  Rational multiplier;
  bool historical = false;      // priced from a history entry
  Micros total;
};

namespace rates_internal {

struct Computation {
  std::array<__int128, kTokenKindCount> pico{};  // per kind, before multiplier
  std::array<MicrosPerMTok, kTokenKindCount> rate{};
  std::array<Tokens, kTokenKindCount> billed{};
  std::array<std::optional<TokenKind>, kTokenKindCount> borrowed{};
  __int128 fee_pico = 0;
  Rational multiplier;
  int tier = -1;
  int64_t tier_above = 0;
  int64_t counted = 0;
  const ServiceTier* service = nullptr;
  bool historical = false;
  Micros total;
};

inline absl::Status Compute(const ModelRates& model, const PriceRequest& req, Computation* c) {
  for (TokenKind k : kAllTokenKinds) {
    if (req.tokens[k].value() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative token count for ", TokenKindName(k), ": ", req.tokens[k].value()));
    }
  }
  if (req.requests < 0) {
    return absl::InvalidArgumentError(absl::StrCat("negative request count: ", req.requests));
  }
  if (req.tokens.reasoning() > req.tokens.output()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reasoning tokens (", req.tokens.reasoning().value(), ") exceed output tokens (",
        req.tokens.output().value(), "); reasoning is counted within output"));
  }
  const Pricing& pricing = model.PricingAt(req.at);
  c->historical = &pricing != &model.pricing;
  const PriceSet* set = &pricing.standard;
  TokenRates rates = pricing.standard.rates;
  if (!IsStandardTier(req.service_tier)) {
    const ServiceTier* tier = pricing.FindServiceTier(req.service_tier);
    if (tier == nullptr) {
      std::vector<absl::string_view> known = {"standard"};
      for (const ServiceTier& t : pricing.service_tiers) known.push_back(t.name);
      return absl::InvalidArgumentError(absl::StrCat("model ", model.id, " has no service tier \"",
                                                     req.service_tier, "\" (known: ",
                                                     absl::StrJoin(known, ", "), ")"));
    }
    c->service = tier;
    c->multiplier = tier->multiplier;
    // A hand-built table may hold what ParseRational would have refused; a
    // zero denominator would divide by zero below, a negative one flip signs.
    if (c->multiplier.num < 0 || c->multiplier.den <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("model ", model.id, " service tier \"", tier->name,
                                                     "\" has an invalid multiplier ", c->multiplier.num,
                                                     "/", c->multiplier.den));
    }
    if (tier->prices.has_value()) {
      set = &*tier->prices;
      rates.OverlayWith(tier->prices->rates);
    }
  }
  // The highest exceeded threshold wins. Tiers should be ascending, but the
  // choice does not depend on it: a table built out of order still bills the
  // highest tier, never a lower one that happens to come later.
  for (size_t t = 0; t < set->tiers.size(); ++t) {
    const ContextTier& tier = set->tiers[t];
    __int128 counted = 0;
    for (TokenKind k : kAllTokenKinds) {
      if (tier.counted_kinds & KindBit(k)) counted += req.tokens[k].value();
    }
    if (counted > tier.above_tokens && (c->tier < 0 || tier.above_tokens >= c->tier_above)) {
      c->tier = static_cast<int>(t);
      c->tier_above = tier.above_tokens;
      c->counted = counted > std::numeric_limits<int64_t>::max()
                       ? std::numeric_limits<int64_t>::max()
                       : static_cast<int64_t>(counted);
    }
  }
  if (c->tier >= 0) rates.OverlayWith(set->tiers[static_cast<size_t>(c->tier)].rates);
  TokenCounts billed = req.tokens;
  const bool separate_reasoning = rates[TokenKind::kReasoning].has_value();
  if (separate_reasoning) {
    billed[TokenKind::kOutput] = Tokens(req.tokens.output().value() - req.tokens.reasoning().value());
  } else {
    billed[TokenKind::kReasoning] = Tokens(0);  // billed inside output
  }
  __int128 sum = 0;
  for (TokenKind k : kAllTokenKinds) {
    const int i = static_cast<int>(k);
    c->billed[i] = billed[k];
    if (billed[k].value() == 0) continue;
    std::optional<MicrosPerMTok> rate = rates[k];
    std::optional<TokenKind> from = k;
    while (!rate.has_value() && from.has_value()) {
      from = FallbackKind(*from);
      if (from.has_value()) rate = rates[*from];
    }
    if (!rate.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", model.id, " has no ", TokenKindName(k), " rate"));
    }
    if (rate->value() < 0) {
      return absl::InvalidArgumentError(absl::StrCat("model ", model.id, " has a negative ",
                                                     TokenKindName(*from), " rate"));
    }
    if (*from != k) c->borrowed[i] = from;
    c->rate[i] = *rate;
    c->pico[i] = static_cast<__int128>(billed[k].value()) * rate->value();  // < 2^126
    if (__builtin_add_overflow(sum, c->pico[i], &sum)) {
      return absl::OutOfRangeError(absl::StrCat("cost of the request on ", model.id, " overflows"));
    }
  }
  // A service tier's prices replace the standard fee only when they name one
  // (absent fields keep the standard price, like the rates above).
  const std::optional<Micros>& per_request =
      set->per_request.has_value() ? set->per_request : pricing.standard.per_request;
  if (per_request.has_value() && req.requests > 0) {
    if (per_request->value() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("model ", model.id, " has a negative per-request fee"));
    }
    // fee × requests × 10^6 can exceed 128 bits (both factors up to 2^63).
    if (__builtin_mul_overflow(static_cast<__int128>(per_request->value()),
                               static_cast<__int128>(req.requests) * kPicosPerMicro, &c->fee_pico) ||
        __builtin_add_overflow(sum, c->fee_pico, &sum)) {
      return absl::OutOfRangeError(absl::StrCat("cost of the request on ", model.id, " overflows"));
    }
  }
  __int128 scaled;
  if (__builtin_mul_overflow(sum, static_cast<__int128>(c->multiplier.num), &scaled)) {
    return absl::OutOfRangeError(absl::StrCat("cost of the request on ", model.id, " overflows"));
  }
  const __int128 micros =
      DivRoundHalfEven(scaled, static_cast<__int128>(c->multiplier.den) * kPicosPerMicro);
  if (micros > std::numeric_limits<int64_t>::max()) {
    return absl::OutOfRangeError(
        absl::StrCat("cost of the request on ", model.id, " exceeds the 64-bit micro-dollar range"));
  }
  c->total = Micros(static_cast<int64_t>(micros));
  return absl::OkStatus();
}

}  // namespace rates_internal

// The exact cost of a request on `model`, rounded once, half-even, to µ$.
// Token counts are non-negative (InvalidArgument otherwise) and below 2^62
// each (OutOfRange otherwise); a cost beyond the int64 µ$ range is
// OutOfRange, never a wrap. Negative rates or fees and a multiplier that is
// negative or has no positive denominator are InvalidArgument.
[[nodiscard]] inline absl::StatusOr<Micros> CostOf(const ModelRates& model, const PriceRequest& req) {
  for (const Tokens& t : req.tokens.by_kind) {
    if (t.value() >= (int64_t{1} << 62)) {
      return absl::OutOfRangeError("token count too large (at most 2^62 - 1)");
    }
  }
  rates_internal::Computation c;
  absl::Status s = rates_internal::Compute(model, req, &c);
  if (!s.ok()) return s;
  return c.total;
}

// CostOf() with every line explained. The lines' costs are the exact
// per-kind amounts, apportioned by largest remainder so that they (and the
// request fees) add up to the total to the micro-dollar.
[[nodiscard]] inline absl::StatusOr<PriceBreakdown> ExplainCost(const ModelRates& model,
                                                                const PriceRequest& req) {
  for (const Tokens& t : req.tokens.by_kind) {
    if (t.value() >= (int64_t{1} << 62)) {
      return absl::OutOfRangeError("token count too large (at most 2^62 - 1)");
    }
  }
  rates_internal::Computation c;
  absl::Status s = rates_internal::Compute(model, req, &c);
  if (!s.ok()) return s;
  PriceBreakdown out;
  out.model = model.id;
  out.provider = model.provider;
  out.as_of = model.as_of;
  out.tier = c.tier;
  out.tier_above_tokens = c.tier_above;
  out.tier_counted_tokens = c.counted;
  if (c.service != nullptr) out.service_tier = c.service->name;
  out.multiplier = c.multiplier;
  out.historical = c.historical;
  out.total = c.total;

  // Largest-remainder apportionment of the rounded total.
  const __int128 den = static_cast<__int128>(c.multiplier.den) * kPicosPerMicro;
  struct Part {
    int index;  // kind index, or kTokenKindCount for fees
    __int128 floor;
    __int128 remainder;
  };
  std::vector<Part> parts;
  __int128 floors = 0;
  auto add_part = [&](int index, __int128 pico) {
    const __int128 scaled = pico * c.multiplier.num;  // no overflow: the sum did not
    parts.push_back(Part{index, scaled / den, scaled % den});
    floors += scaled / den;
  };
  for (int i = 0; i < kTokenKindCount; ++i) {
    if (c.billed[i].value() != 0) add_part(i, c.pico[i]);
  }
  if (c.fee_pico != 0) add_part(kTokenKindCount, c.fee_pico);
  __int128 extra = static_cast<__int128>(c.total.value()) - floors;
  std::vector<size_t> order(parts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return parts[a].remainder > parts[b].remainder;
  });
  for (size_t i = 0; i < order.size() && extra > 0; ++i) {
    if (parts[order[i]].remainder == 0) break;
    parts[order[i]].floor += 1;
    --extra;
  }
  for (const Part& p : parts) {
    if (p.index == kTokenKindCount) {
      out.request_fees = Micros(static_cast<int64_t>(p.floor));
      continue;
    }
    KindCost line;
    line.kind = static_cast<TokenKind>(p.index);
    line.tokens = c.billed[p.index];
    line.rate = c.rate[p.index];
    line.cost = Micros(static_cast<int64_t>(p.floor));
    line.borrowed_from = c.borrowed[p.index];
    out.lines.push_back(line);
  }
  return out;
}

// How a name was matched to a model.
enum class MatchKind {
  kExact,       // the model's id
  kAlias,       // one of its aliases
  kNormalized,  // after NormalizeModelName on both sides
  kFamily,      // longest family prefix (e.g. "claude-sonnet-4-5-thinking")
  kUnknown,
};

inline absl::string_view MatchKindName(MatchKind m) {
  switch (m) {
    case MatchKind::kExact: return "exact";
    case MatchKind::kAlias: return "alias";
    case MatchKind::kNormalized: return "normalized";
    case MatchKind::kFamily: return "family";
    case MatchKind::kUnknown: return "unknown";
  }
  return "?";
}

struct Resolution {
  const ModelRates* model = nullptr;  // null when unknown
  MatchKind match = MatchKind::kUnknown;
};

// A set of models with their rates. Building (Add, MergeFrom) is not
// thread-safe; once built, Resolve and Find may be called from any thread.
class RateTable {
 public:
  RateTable() : cache_(std::make_unique<Cache>()) {}
  RateTable(RateTable&&) = default;
  RateTable& operator=(RateTable&&) = default;

  // Table-wide metadata.
  const std::string& as_of() const { return as_of_; }
  void set_as_of(std::string as_of) { as_of_ = std::move(as_of); }

  // Adds a model. AlreadyExists for a duplicate id, or an alias that is
  // already another model's id or alias.
  absl::Status Add(ModelRates model) {
    if (id_index_.contains(model.id)) {
      return absl::AlreadyExistsError(absl::StrCat("duplicate model id \"", model.id, "\""));
    }
    if (alias_index_.contains(model.id)) {
      return absl::AlreadyExistsError(
          absl::StrCat("model id \"", model.id, "\" is already an alias of \"",
                       models_[alias_index_.at(model.id)]->id, "\""));
    }
    for (const std::string& alias : model.aliases) {
      if (alias == model.id) continue;
      auto id_hit = id_index_.find(alias);
      if (id_hit != id_index_.end()) {
        return absl::AlreadyExistsError(absl::StrCat("alias \"", alias, "\" of \"", model.id,
                                                     "\" is already the id of another model"));
      }
      auto alias_hit = alias_index_.find(alias);
      if (alias_hit != alias_index_.end()) {
        return absl::AlreadyExistsError(absl::StrCat("alias \"", alias, "\" of \"", model.id,
                                                     "\" is already an alias of \"",
                                                     models_[alias_hit->second]->id, "\""));
      }
    }
    Insert(std::make_shared<const ModelRates>(std::move(model)), /*replace=*/false);
    return absl::OkStatus();
  }

  // Layers `top` over this table: its models replace ours with the same id,
  // its aliases win over ours. Models are shared, not copied.
  void MergeFrom(const RateTable& top) {
    for (const auto& model : top.models_) Insert(model, /*replace=*/true);
    if (!top.as_of_.empty() && top.as_of_ > as_of_) as_of_ = top.as_of_;
  }

  // Exact id, then alias, then normalised name, then longest family prefix
  // with a version guard. Results are cached.
  Resolution Resolve(absl::string_view name) const {
    {
      std::shared_lock<std::shared_mutex> lock(cache_->mu);
      auto hit = cache_->map.find(name);
      if (hit != cache_->map.end()) return hit->second;
    }
    Resolution r = ResolveUncached(name);
    std::unique_lock<std::shared_mutex> lock(cache_->mu);
    if (cache_->map.size() >= kMaxCacheEntries) cache_->map.clear();
    cache_->map.emplace(std::string(name), r);
    return r;
  }

  Resolution ResolveUncached(absl::string_view name) const {
    if (auto it = id_index_.find(name); it != id_index_.end()) {
      return {models_[it->second].get(), MatchKind::kExact};
    }
    if (auto it = alias_index_.find(name); it != alias_index_.end()) {
      return {models_[it->second].get(), MatchKind::kAlias};
    }
    const std::string key = NormalizeModelName(name);
    if (auto it = normalized_index_.find(key); it != normalized_index_.end()) {
      const ModelRates* m = models_[it->second].get();
      if (LocalMatchAllowed(*m, name)) return {m, MatchKind::kNormalized};
      return {};
    }
    for (size_t cut = key.rfind('-'); cut != std::string::npos && cut > 0;
         cut = key.rfind('-', cut - 1)) {
      auto it = normalized_index_.find(absl::string_view(key).substr(0, cut));
      if (it != normalized_index_.end() && IsFamilySuffix(absl::string_view(key).substr(cut))) {
        const ModelRates* m = models_[it->second].get();
        if (m->provider != kLocalProvider) return {m, MatchKind::kFamily};
      }
      if (cut == 0) break;
    }
    return {};
  }

  // Free local models must never price a hosted model that shares their name
  // ("deepseek/deepseek-r1" is DeepSeek's paid API, not a local deepseek-r1):
  // a local model matches beyond its id and aliases only as a local runner
  // spells it — an "ollama/", "lmstudio/", "llamacpp/" or "local/" path and a
  // ":tag" — never through another provider's path or a family prefix.
  static constexpr absl::string_view kLocalProvider = "local";
  static bool LocalMatchAllowed(const ModelRates& m, absl::string_view name) {
    if (m.provider != kLocalProvider) return true;
    std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
    for (absl::string_view runner : {"ollama/", "lmstudio/", "llamacpp/", "local/"}) {
      if (absl::StartsWith(s, runner)) {
        s.erase(0, runner.size());
        break;
      }
    }
    if (s.find('/') != std::string::npos) return false;
    const size_t colon = s.find(':');
    if (colon != std::string::npos) s.resize(colon);
    const std::string key = NormalizeModelName(s);
    if (key == NormalizeModelName(m.id)) return true;
    for (const std::string& alias : m.aliases) {
      if (key == NormalizeModelName(alias)) return true;
    }
    return false;
  }

  // The model with exactly this id, or null.
  const ModelRates* FindById(absl::string_view id) const {
    auto it = id_index_.find(id);
    return it == id_index_.end() ? nullptr : models_[it->second].get();
  }

  // Up to `n` known ids closest to `name` (edit distance on normalised names).
  std::vector<std::string> Suggest(absl::string_view name, size_t n = 3) const;

  size_t size() const { return live_.size(); }

  // Every model, ordered by id.
  std::vector<const ModelRates*> Models() const {
    std::vector<const ModelRates*> out;
    out.reserve(live_.size());
    for (size_t i : live_) out.push_back(models_[i].get());
    std::sort(out.begin(), out.end(),
              [](const ModelRates* a, const ModelRates* b) { return a->id < b->id; });
    return out;
  }

 private:
  static constexpr size_t kMaxCacheEntries = 1 << 16;

  struct Cache {
    // std:: rather than absl::Mutex: Debian's Abseil lacks ThreadSanitizer
    // annotations, so TSan would report false races through absl::Mutex.
    std::shared_mutex mu;
    absl::flat_hash_map<std::string, Resolution> map;
  };

  // True when `id` differs from its normalised `key` only by case and by
  // dots written as dashes: no provider path, date or revision around it.
  static bool IsPlainSpelling(absl::string_view id, absl::string_view key) {
    if (id.size() != key.size()) return false;
    for (size_t i = 0; i < id.size(); ++i) {
      const char c = absl::ascii_tolower(static_cast<unsigned char>(id[i]));
      if (c != key[i] && !(c == '.' && key[i] == '-')) return false;
    }
    return true;
  }

  void Insert(std::shared_ptr<const ModelRates> model, bool replace) {
    size_t index;
    auto existing = id_index_.find(model->id);
    if (replace && existing != id_index_.end()) {
      index = existing->second;
      models_[index] = model;
    } else {
      index = models_.size();
      models_.push_back(model);
      id_index_[model->id] = index;
      live_.push_back(index);
    }
    // An overlay's id shadows an alias of the same spelling below it.
    alias_index_.erase(model->id);
    for (const std::string& alias : model->aliases) {
      if (alias != model->id && !id_index_.contains(alias)) alias_index_[alias] = index;
    }
    // Normalised keys. A model whose id is a plain spelling of the key
    // ("claude-sonnet-4-5", "gpt-4.1") holds it against every decorated
    // spelling ("bedrock/...-v1:0", "vertex_ai/...@20250929", "azure/gpt-4.1"),
    // whatever order they were added in, so that "Claude-Sonnet-4.5" is priced
    // at the plain model's rates. Otherwise the latest id claims the key. An
    // alias only claims a key nobody holds, except that an overlay's alias
    // (MergeFrom) wins over a key held through an alias below it, as the
    // alias itself does.
    const std::string own = NormalizeModelName(model->id);
    auto held_by_id = [&](const std::string& key, size_t holder) {
      return NormalizeModelName(models_[holder]->id) == key;
    };
    if (auto it = normalized_index_.find(own); it == normalized_index_.end()) {
      normalized_index_.emplace(own, index);
    } else if (IsPlainSpelling(model->id, own) || !IsPlainSpelling(models_[it->second]->id, own)) {
      it->second = index;
    }
    for (const std::string& alias : model->aliases) {
      const std::string key = NormalizeModelName(alias);
      auto it = normalized_index_.find(key);
      if (it == normalized_index_.end()) {
        normalized_index_.emplace(key, index);
      } else if (replace && it->second != index && !held_by_id(key, it->second)) {
        it->second = index;
      }
    }
    std::unique_lock<std::shared_mutex> lock(cache_->mu);
    cache_->map.clear();
  }

  std::string as_of_;
  std::vector<std::shared_ptr<const ModelRates>> models_;
  std::vector<size_t> live_;
  absl::flat_hash_map<std::string, size_t> id_index_;
  absl::flat_hash_map<std::string, size_t> alias_index_;
  absl::flat_hash_map<std::string, size_t> normalized_index_;
  std::unique_ptr<Cache> cache_;
};

inline size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

inline std::vector<std::string> RateTable::Suggest(absl::string_view name, size_t n) const {
  const std::string key = NormalizeModelName(name);
  std::vector<std::pair<size_t, std::string>> scored;
  for (size_t i : live_) {
    const ModelRates& m = *models_[i];
    scored.emplace_back(EditDistance(key, NormalizeModelName(m.id)), m.id);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && out.size() < n; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_RATES_H_
