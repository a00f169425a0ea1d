// Importer for LiteLLM's price database (model_prices_and_context_window.json):
// every entry priced per token becomes a ModelRates, each price read digit for
// digit from the JSON text (RapidJSON's kParseNumbersAsStringsFlag), never
// through a double.
//
// Field names are read by a small grammar rather than a fixed list, so that
// every combination LiteLLM writes is understood the same way:
//
//   <kind>[_above_<N>k_tokens][_batches | _flex | _priority]
//
// where <kind> is one of kKindFields below, `_above_<N>k_tokens` makes the
// price part of a long-context tier strictly above N×1000 prompt tokens, and
// the last suffix puts it in a service tier ("batch", "flex", "priority").
// `input_cost_per_token_cache_hit` (DeepSeek) is the cache-read price when
// `cache_read_input_token_cost` is absent. Any other field (per image, per
// second, audio, search...) is not a token price and is ignored.
//
// Decisions documented here because the file format does not fix them:
// - An entry is imported when it has `input_cost_per_token` or
//   `output_cost_per_token` (or token prices in `tiered_pricing`); a missing
//   one of the two is then an error when a request needs it, never $0.
//   Other entries are skipped and counted in one summary warning.
// - A key that appears twice at the top level: the later entry wins (as
//   Python's json module, which LiteLLM itself uses, reads it), with a
//   warning. A price field set twice in one entry: the later wins, with a
//   warning.
// - `null` in a price field means absent. A price written as a JSON string
//   ("3e-06") is read like a number. Any other non-numeric, negative or
//   out-of-range price is an error naming the model and the field.
// - `tiered_pricing` (DashScope, Volcengine: `range: [lo, hi]` per band) is
//   read only for entries without flat token prices: the band starting at 0
//   gives the base rates, every other band a long-context tier above `lo`.
// - A service tier keeps the model's per-request fee unless it has its own;
//   it gets long-context tiers only from its own `_above_..._<tier>` fields.
// - Several ids can normalise to the same name ("claude-sonnet-4-5",
//   "vertex_ai/claude-sonnet-4-5", "openrouter/anthropic/claude-sonnet-4.5").
//   Where RateTable lets the model added later claim the normalised name,
//   models are added in an order that lets the plainest id win: ids with a
//   provider path first, then region or vendor prefixed ids, then ids with a
//   date or revision suffix, then ids that are their normalised name but for
//   case and "4.5" / "4-5"; JSON order within each group.
#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "tokenbook/model_names.h"
#include "tokenbook/money.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/rates.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {
namespace {

// Iterative parsing keeps hostile nesting ("[[[[...") off the C stack;
// numbers stay text; invalid UTF-8 is an error rather than garbage in ids.
constexpr unsigned kJsonFlags = rapidjson::kParseIterativeFlag |
                                rapidjson::kParseNumbersAsStringsFlag |
                                rapidjson::kParseValidateEncodingFlag;

using Json = rapidjson::Value;

absl::string_view StringOf(const Json& v) {
  return absl::string_view(v.GetString(), v.GetStringLength());
}

absl::string_view JsonTypeName(const Json& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return "a number";
  }
  return "a value";
}

// What a price field prices: a token kind (USD per token), or with no kind
// the per-request fee (USD).
struct KindField {
  absl::string_view name;
  std::optional<TokenKind> token;
};

constexpr KindField kKindFields[] = {
    {"input_cost_per_token", TokenKind::kInput},
    {"output_cost_per_token", TokenKind::kOutput},
    {"cache_read_input_token_cost", TokenKind::kCacheRead},
    {"cache_creation_input_token_cost", TokenKind::kCacheWrite5m},
    {"cache_creation_input_token_cost_above_1hr", TokenKind::kCacheWrite1h},
    {"output_cost_per_reasoning_token", TokenKind::kReasoning},
    {"input_cost_per_request", std::nullopt},
};

// DeepSeek's entries name their cache-read price this way, some of them
// only this way; read as `cache_read_input_token_cost` when that is absent.
constexpr absl::string_view kCacheHitField = "input_cost_per_token_cache_hit";

struct ServiceSuffix {
  absl::string_view suffix;
  absl::string_view tier;
};

// Index + 1 is the service number used below; 0 is the standard tier.
constexpr ServiceSuffix kServiceSuffixes[] = {
    {"_batches", "batch"},
    {"_flex", "flex"},
    {"_priority", "priority"},
};
constexpr int kServiceCount = 1 + static_cast<int>(std::size(kServiceSuffixes));

// Where one price goes: (service tier, long-context threshold or none).
struct Cell {
  int service = 0;
  std::optional<int64_t> above;  // nullopt: the base rates

  friend bool operator<(const Cell& a, const Cell& b) {
    if (a.service != b.service) return a.service < b.service;
    return a.above < b.above;  // nullopt (base) sorts first
  }
};

struct Target {
  Cell cell;
  std::optional<TokenKind> token;  // nullopt: the per-request fee
};

// Strips a trailing service-tier suffix; returns its service number or 0.
int StripService(absl::string_view* name) {
  for (size_t i = 0; i < std::size(kServiceSuffixes); ++i) {
    if (absl::ConsumeSuffix(name, kServiceSuffixes[i].suffix)) return static_cast<int>(i) + 1;
  }
  return 0;
}

// Strips a trailing "_above_<N>k_tokens"; returns N×1000.
std::optional<int64_t> StripThreshold(absl::string_view* name) {
  const size_t at = name->rfind("_above_");
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view rest = name->substr(at + 7);
  if (!absl::ConsumeSuffix(&rest, "k_tokens")) return std::nullopt;
  if (rest.empty() || rest.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  *name = name->substr(0, at);
  return n * 1000;
}

// Reads a LiteLLM field name by the grammar in the file comment; nullopt
// for fields that are not token prices. The service suffix is accepted on
// either side of the threshold.
std::optional<Target> ClassifyField(absl::string_view name) {
  int service = StripService(&name);
  std::optional<int64_t> above = StripThreshold(&name);
  if (service == 0 && above.has_value()) service = StripService(&name);
  for (const KindField& f : kKindFields) {
    if (name == f.name) return Target{Cell{service, above}, f.token};
  }
  return std::nullopt;
}

// The prices of one entry, cell by cell.
struct CellPrices {
  TokenRates rates;
  std::optional<Micros> per_request;
};

// Reads one LiteLLM entry. Errors and warnings name the source, the model
// and the field.
class EntryReader {
 public:
  EntryReader(absl::string_view source, absl::string_view model, std::vector<std::string>* warnings)
      : source_(source), model_(model), warnings_(warnings) {}

  // Reads `value` as the price of `target`; `field` is the JSON field name.
  absl::Status SetPrice(absl::string_view field, const Target& target, const Json& value) {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsString()) {  // numbers are strings too (kParseNumbersAsStringsFlag)
      return Error(field, absl::StrCat("expected a price, found ", JsonTypeName(value)));
    }
    const absl::string_view text = StringOf(value);
    const PriceUnit unit = target.token.has_value() ? PriceUnit::kPerToken : PriceUnit::kUsd;
    absl::StatusOr<Rounded> price = ParsePrice(text, unit);
    if (!price.ok()) return Error(field, price.status().message(), price.status().code());
    if (!target.token.has_value() && target.cell.above.has_value()) {
      Warn(field, "ignored: a long-context tier has no per-request fee of its own");
      return absl::OkStatus();
    }
    CellPrices& cell = cells_[target.cell];
    bool already = false;
    if (target.token.has_value()) {
      std::optional<MicrosPerMTok>& slot = cell.rates[*target.token];
      already = slot.has_value();
      slot = MicrosPerMTok(price->value);
      if (price->inexact) {
        Warn(field, absl::StrCat(text,
                                 " USD per token is finer than 1 micro-dollar per MTok; "
                                 "rounded half-even to ",
                                 FormatRate(MicrosPerMTok(price->value)), " USD per MTok"));
      }
    } else {
      already = cell.per_request.has_value();
      cell.per_request = Micros(price->value);
      if (price->inexact) {
        Warn(field, absl::StrCat(text, " USD is finer than 1 micro-dollar; rounded half-even to ",
                                 FormatUsd(Micros(price->value), 6), " USD"));
      }
    }
    if (already) Warn(field, "sets a price an earlier field already set; the later one is used");
    return absl::OkStatus();
  }

  // Reads `tiered_pricing`: an array of bands {range: [lo, hi], <kind>: price}.
  // Reads nothing when no band has a token price (LiteLLM also tiers search
  // prices by result count this way).
  absl::Status ReadTieredPricing(const Json& value) {
    constexpr absl::string_view kField = "tiered_pricing";
    if (!value.IsArray()) return absl::OkStatus();
    bool any_token_price = false;
    for (const Json& band : value.GetArray()) {
      if (!band.IsObject()) continue;
      for (const auto& m : band.GetObject()) {
        std::optional<Target> t = ClassifyField(StringOf(m.name));
        if (t.has_value() && t->token.has_value() && !m.value.IsNull()) any_token_price = true;
      }
    }
    if (!any_token_price) return absl::OkStatus();
    std::vector<std::pair<int64_t, const Json*>> bands;
    for (const Json& band : value.GetArray()) {
      if (!band.IsObject()) return Error(kField, "expected an object for every band");
      auto range = band.FindMember("range");
      if (range == band.MemberEnd() || !range->value.IsArray() || range->value.Size() < 1 ||
          !range->value[rapidjson::SizeType{0}].IsString()) {
        return Error(kField, "every band needs \"range\": [from, to]");
      }
      const absl::string_view lo_text = StringOf(range->value[rapidjson::SizeType{0}]);
      absl::StatusOr<Decimal> lo = ParseDecimal(lo_text);
      absl::StatusOr<Rounded> lo_int =
          lo.ok() ? ScaleHalfEven(*lo, 0) : absl::StatusOr<Rounded>(lo.status());
      if (!lo_int.ok() || lo_int->inexact || lo_int->value < 0) {
        return Error(kField, absl::StrCat("a band starts at \"", lo_text,
                                          "\", not a whole number of tokens"));
      }
      bands.emplace_back(lo_int->value, &band);
    }
    std::sort(bands.begin(), bands.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    if (bands.front().first != 0) return Error(kField, "no band starts at 0 tokens");
    for (size_t i = 1; i < bands.size(); ++i) {
      if (bands[i].first == bands[i - 1].first) {
        return Error(kField, absl::StrCat("two bands start at ", bands[i].first, " tokens"));
      }
    }
    for (const auto& [lo, band] : bands) {
      const Cell cell{0, lo == 0 ? std::nullopt : std::optional<int64_t>(lo)};
      for (const auto& m : band->GetObject()) {
        const absl::string_view name = StringOf(m.name);
        std::optional<Target> t = ClassifyField(name);
        // Only plain per-token kinds make sense inside a band.
        if (!t.has_value() || t->cell.service != 0 || t->cell.above.has_value() ||
            !t->token.has_value()) {
          continue;
        }
        TKB_RETURN_IF_ERROR(
            SetPrice(absl::StrCat(kField, ".", name), Target{cell, t->token}, m.value));
      }
    }
    return absl::OkStatus();
  }

  bool HasBaseRate(TokenKind kind) const {
    auto it = cells_.find(Cell{});
    return it != cells_.end() && it->second.rates[kind].has_value();
  }

  bool HasBaseTokenPrice() const {
    return HasBaseRate(TokenKind::kInput) || HasBaseRate(TokenKind::kOutput);
  }

  // The cells gathered so far as a Pricing.
  Pricing Build() const {
    Pricing pricing;
    std::array<std::optional<PriceSet>, kServiceCount> sets;
    for (const auto& [cell, prices] : cells_) {
      std::optional<PriceSet>& set = sets[static_cast<size_t>(cell.service)];
      if (!set.has_value()) set.emplace();
      if (!cell.above.has_value()) {
        set->rates = prices.rates;
        set->per_request = prices.per_request;
        continue;
      }
      ContextTier tier;
      tier.above_tokens = *cell.above;
      tier.rates = prices.rates;
      set->tiers.push_back(std::move(tier));  // ascending: cells_ is ordered
    }
    if (sets[0].has_value()) pricing.standard = std::move(*sets[0]);
    for (int s = 1; s < kServiceCount; ++s) {
      std::optional<PriceSet>& set = sets[static_cast<size_t>(s)];
      if (!set.has_value()) continue;
      if (!set->per_request.has_value()) set->per_request = pricing.standard.per_request;
      ServiceTier tier;
      tier.name = std::string(kServiceSuffixes[s - 1].tier);
      tier.prices = std::move(*set);
      pricing.service_tiers.push_back(std::move(tier));
    }
    return pricing;
  }

 private:
  absl::Status Error(absl::string_view field, absl::string_view why,
                     absl::StatusCode code = absl::StatusCode::kInvalidArgument) const {
    return absl::Status(code,
                        absl::StrCat(source_, ": model \"", model_, "\": ", field, ": ", why));
  }

  void Warn(absl::string_view field, absl::string_view what) {
    if (warnings_ != nullptr) {
      warnings_->push_back(absl::StrCat(source_, ": model \"", model_, "\": ", field, ": ", what));
    }
  }

  absl::string_view source_;
  absl::string_view model_;
  std::vector<std::string>* warnings_;
  std::map<Cell, CellPrices> cells_;
};

// 1-based line and column of a byte offset, for error messages.
std::pair<size_t, size_t> LineAndColumn(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, offset - line_start + 1};
}

// Models are added by ascending rank, so that of several ids with the same
// normalised name the plainest one claims it (see the file comment).
int ClaimRank(absl::string_view id) {
  const std::string key = NormalizeModelName(id);
  std::string plain = absl::AsciiStrToLower(id);
  std::replace(plain.begin(), plain.end(), '.', '-');
  if (plain == key) return 3;                             // "gemini-2.5-pro", "gpt-5"
  if (absl::StartsWith(plain, key)) return 2;             // plus a date: "claude-3-haiku-20240307"
  if (id.find('/') == absl::string_view::npos) return 1;  // "us.anthropic.claude-..."
  return 0;                                               // "vertex_ai/...", "openrouter/..."
}

}  // namespace

absl::StatusOr<RateTable> ParseLiteLlmJson(absl::string_view text, absl::string_view source_name,
                                           std::vector<std::string>* warnings) {
  // A raw NUL byte is never valid JSON, and RapidJSON's streams read it as
  // the end of the text: reject it before it can cut the document short.
  if (const size_t nul = text.find('\0'); nul != absl::string_view::npos) {
    const auto [line, column] = LineAndColumn(text, nul);
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", line, ":", column,
                                                   ": invalid JSON at byte ", nul,
                                                   ": NUL byte in the text"));
  }
  rapidjson::Document doc;
  doc.Parse<kJsonFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    const size_t offset = doc.GetErrorOffset();
    const auto [line, column] = LineAndColumn(text, offset);
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", line, ":", column, ": invalid JSON at byte ", offset, ": ",
                     rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) {
    // Numbers were kept as strings: tell them apart by the text.
    const size_t first = text.find_first_not_of(" \t\r\n");
    const bool number = doc.IsString() && first != absl::string_view::npos && text[first] != '"';
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": expected a JSON object mapping model names to prices, found ",
                     number ? "a number" : JsonTypeName(doc)));
  }

  // The last occurrence of every key is the one read.
  absl::flat_hash_map<absl::string_view, size_t> last;
  {
    size_t i = 0;
    for (const auto& m : doc.GetObject()) last[StringOf(m.name)] = i++;
  }

  const std::string source = absl::StrCat("litellm:", source_name);
  std::vector<ModelRates> models;
  models.reserve(last.size());
  size_t skipped = 0;
  std::vector<std::string> skipped_examples;
  size_t index = 0;
  for (const auto& member : doc.GetObject()) {
    const size_t this_index = index++;
    const absl::string_view id = StringOf(member.name);
    if (last[id] != this_index) {
      if (warnings != nullptr) {
        warnings->push_back(absl::StrCat(source_name, ": model \"", id,
                                         "\" appears more than once; the last entry is used"));
      }
      continue;
    }
    if (id == "sample_spec") continue;  // LiteLLM's schema description, not a model
    const Json& entry = member.value;
    auto skip = [&] {
      ++skipped;
      if (skipped_examples.size() < 3) skipped_examples.push_back(absl::StrCat("\"", id, "\""));
    };
    if (id.empty() || !entry.IsObject()) {
      skip();
      continue;
    }
    EntryReader reader(source_name, id, warnings);
    std::string provider;
    const Json* tiered = nullptr;
    const Json* cache_hit = nullptr;
    for (const auto& field : entry.GetObject()) {
      const absl::string_view name = StringOf(field.name);
      if (name == "litellm_provider") {
        if (field.value.IsString()) provider = std::string(StringOf(field.value));
        continue;
      }
      if (name == "tiered_pricing") {
        tiered = &field.value;
        continue;
      }
      if (name == kCacheHitField) {
        cache_hit = &field.value;
        continue;
      }
      std::optional<Target> target = ClassifyField(name);
      if (!target.has_value()) continue;
      TKB_RETURN_IF_ERROR(reader.SetPrice(name, *target, field.value));
    }
    if (cache_hit != nullptr && !reader.HasBaseRate(TokenKind::kCacheRead)) {
      TKB_RETURN_IF_ERROR(
          reader.SetPrice(kCacheHitField, Target{Cell{}, TokenKind::kCacheRead}, *cache_hit));
    }
    if (!reader.HasBaseTokenPrice() && tiered != nullptr) {
      TKB_RETURN_IF_ERROR(reader.ReadTieredPricing(*tiered));
    }
    if (!reader.HasBaseTokenPrice()) {
      skip();
      continue;
    }
    ModelRates model;
    model.id = std::string(id);
    model.provider = std::move(provider);
    model.pricing = reader.Build();
    model.source = source;
    models.push_back(std::move(model));
  }

  std::vector<int> rank(models.size());
  std::vector<size_t> order(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    rank[i] = ClaimRank(models[i].id);
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank[a] < rank[b]; });
  RateTable table;
  for (size_t i : order) TKB_RETURN_IF_ERROR(table.Add(std::move(models[i])));

  if (skipped > 0 && warnings != nullptr) {
    warnings->push_back(absl::StrCat(
        source_name, ": skipped ", skipped, skipped == 1 ? " entry" : " entries",
        " without a per-token price (priced per image, second, character, query... or not at all),"
        " e.g. ",
        absl::StrJoin(skipped_examples, ", ")));
  }
  return table;
}

}  // namespace v1
}  // namespace tokenbook
