// Loading rate tables: the TOML format described in docs/rates-format.md,
// rate files on disk, and the built-in table embedded at build time.
//
// Every price goes from text to integer µ$/MTok through ParsePrice: TOML
// strings as written, integers exactly, floats through their shortest
// round-trip text. Every error names the source, line and column.
#include "tokenbook/rate_sources.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"
#include "tokenbook/status.h"
#include "toml_support.h"

namespace tokenbook::internal {
// Generated from data/builtin_rates.toml by cmake/embed_text.cmake.
extern const std::string_view kBuiltinRatesToml;
}  // namespace tokenbook::internal

namespace tokenbook {
inline namespace v1 {
namespace {

namespace ts = toml_support;

constexpr absl::string_view kBuiltinFileName = "builtin_rates.toml";  // in messages
constexpr absl::string_view kBuiltinLabel = "builtin";                // ModelRates::source

constexpr absl::string_view kKindList =
    "input, output, cache_read, cache_write_5m, cache_write_1h, reasoning";

std::string Quoted(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string FormatInstant(absl::Time t) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  if (absl::FromCivil(absl::ToCivilDay(t, utc), utc) == t) {
    return absl::FormatTime("%Y-%m-%d", t, utc);
  }
  return absl::FormatTime(absl::RFC3339_full, t, utc);
}

std::optional<TokenKind> KindNamed(absl::string_view name) {
  for (TokenKind k : kAllTokenKinds) {
    if (TokenKindName(k) == name) return k;
  }
  return std::nullopt;
}

// Where a model's id or alias was written, to name both places on a clash.
struct NameClaim {
  std::string model_id;
  bool is_alias = false;
  std::string where;
};

struct ParsedModel {
  ModelRates model;
  toml::source_region id_region;
  std::vector<std::pair<std::string, toml::source_region>> aliases;
};

using ProviderTiers = absl::flat_hash_map<std::string, std::vector<ServiceTier>>;

class TomlRateReader {
 public:
  TomlRateReader(absl::string_view source, std::vector<std::string>* warnings)
      : source_(source), warnings_(warnings) {}

  absl::StatusOr<RateTable> Read(absl::string_view text, absl::string_view label) {
    TKB_ASSIGN_OR_RETURN(toml::table doc, ts::ParseDocument(text, source_));
    TKB_RETURN_IF_ERROR(ReadHeader(doc));
    TKB_RETURN_IF_ERROR(
        ts::CheckKeys(doc, {"schema", "as_of", "unit", "providers", "models", "notes"}, source_, ""));

    ProviderTiers providers;
    if (const toml::node* node = doc.get("providers")) {
      TKB_RETURN_IF_ERROR(ReadProviders(*node, &providers));
    }

    std::vector<ParsedModel> parsed;
    if (const toml::node* node = doc.get("models")) {
      const toml::array* models = node->as_array();
      if (models == nullptr) {
        return Error(*node, "", absl::StrCat("\"models\" must be an array of tables ([[models]]), not ",
                                             ts::TypeName(*node)));
      }
      for (size_t i = 0; i < models->size(); ++i) {
        const toml::node& element = *models->get(i);
        const toml::table* t = element.as_table();
        if (t == nullptr) {
          return Error(element, absl::StrCat("models[", i, "]"),
                       absl::StrCat("expected a table, not ", ts::TypeName(element)));
        }
        TKB_ASSIGN_OR_RETURN(ParsedModel m, ReadModel(*t, i, providers));
        parsed.push_back(std::move(m));
      }
    }
    TKB_RETURN_IF_ERROR(CheckNames(parsed));

    RateTable table;
    table.set_as_of(as_of_);
    for (ParsedModel& p : parsed) {
      p.model.as_of = as_of_;
      p.model.source = std::string(label);
      TKB_RETURN_IF_ERROR(table.Add(std::move(p.model)));
    }
    return table;
  }

 private:
  absl::Status Error(const toml::node& node, absl::string_view context, absl::string_view message) const {
    return ts::ErrorAt(source_, node.source(), context, message);
  }

  static std::string FieldContext(absl::string_view context, absl::string_view field) {
    if (context.empty()) return absl::StrCat("field ", Quoted(field));
    return absl::StrCat(context, ": field ", Quoted(field));
  }

  void Warn(const toml::node& node, absl::string_view context, absl::string_view message) {
    if (warnings_ != nullptr) warnings_->push_back(ts::Message(source_, node.source(), context, message));
  }

  // schema, as_of and unit: read before anything else, since a table of
  // another schema may use keys this version does not know.
  absl::Status ReadHeader(const toml::table& doc) {
    const toml::node* schema = doc.get("schema");
    if (schema == nullptr) {
      return Error(doc, "", "missing required key \"schema\" (this version reads schema = 1)");
    }
    if (const auto* i = schema->as_integer(); i == nullptr || i->get() != 1) {
      std::string seen(ts::TypeName(*schema));
      if (i != nullptr) seen = absl::StrCat(i->get());
      if (const auto* s = schema->as_string()) seen = Quoted(s->get());
      return Error(*schema, FieldContext("", "schema"),
                   absl::StrCat("unsupported schema ", seen, " (this version reads schema = 1)"));
    }

    const toml::node* as_of = doc.get("as_of");
    if (as_of == nullptr) {
      return Error(doc, "", "missing required key \"as_of\" (the date the prices were read, \"YYYY-MM-DD\")");
    }
    if (const auto* s = as_of->as_string()) {
      std::optional<absl::CivilDay> day = ts::ParseIsoDate(s->get());
      if (!day.has_value()) {
        return Error(*as_of, FieldContext("", "as_of"),
                     absl::StrCat("expected a date \"YYYY-MM-DD\", not ", Quoted(s->get())));
      }
      as_of_ = absl::FormatCivilTime(*day);
    } else if (const auto* d = as_of->as_date()) {
      const toml::date& v = d->get();
      const absl::CivilDay day(v.year, v.month, v.day);
      as_of_ = absl::FormatCivilTime(day);
    } else {
      return Error(*as_of, FieldContext("", "as_of"),
                   absl::StrCat("expected a date \"YYYY-MM-DD\", not ", ts::TypeName(*as_of)));
    }

    if (const toml::node* unit = doc.get("unit")) {
      const auto* s = unit->as_string();
      if (s != nullptr && s->get() == "per_mtok") {
        unit_ = PriceUnit::kPerMTok;
      } else if (s != nullptr && s->get() == "per_token") {
        unit_ = PriceUnit::kPerToken;
      } else {
        return Error(*unit, FieldContext("", "unit"),
                     absl::StrCat("expected \"per_mtok\" or \"per_token\", not ",
                                  s != nullptr ? Quoted(s->get()) : std::string(ts::TypeName(*unit))));
      }
    }
    return absl::OkStatus();
  }

  // A price in `unit` (µ$/MTok for token rates, µ$ for kUsd).
  absl::StatusOr<int64_t> ReadPrice(const toml::node& node, absl::string_view context,
                                    absl::string_view field, PriceUnit unit) {
    const std::string where = FieldContext(context, field);
    absl::StatusOr<std::string> text =
        ts::DecimalText(node, "a price (a string such as \"3.00\", or a number)");
    if (!text.ok()) return Error(node, where, text.status().message());
    absl::StatusOr<Rounded> price = ParsePrice(*text, unit);
    if (!price.ok()) {
      if (absl::IsOutOfRange(price.status())) {
        return Error(node, where, absl::StrCat("price ", Quoted(*text), " is too large"));
      }
      return Error(node, where, price.status().message());
    }
    if (price->inexact) {
      const absl::string_view unit_name = unit == PriceUnit::kUsd ? "µ$" : "µ$/MTok";
      Warn(node, where,
           absl::StrCat("price ", Quoted(*text), " is finer than 1 ", unit_name,
                        "; rounded half-even to ", price->value, " ", unit_name));
    }
    return price->value;
  }

  absl::Status ReadRates(const toml::table& t, absl::string_view context, TokenRates* out) {
    for (TokenKind k : kAllTokenKinds) {
      if (const toml::node* node = t.get(ts::ToStd(TokenKindName(k)))) {
        TKB_ASSIGN_OR_RETURN(int64_t rate, ReadPrice(*node, context, TokenKindName(k), unit_));
        (*out)[k] = MicrosPerMTok(rate);
      }
    }
    return absl::OkStatus();
  }

  // Long-context tiers: an array of tables, ascending by threshold.
  absl::Status ReadContextTiers(const toml::node& node, absl::string_view context,
                                std::vector<ContextTier>* out) {
    const toml::array* tiers = node.as_array();
    if (tiers == nullptr) {
      return Error(node, FieldContext(context, "tiers"),
                   absl::StrCat("expected an array of tables ([[...tiers]]), not ", ts::TypeName(node)));
    }
    for (size_t i = 0; i < tiers->size(); ++i) {
      const toml::node& element = *tiers->get(i);
      const std::string here = absl::StrCat(context, ": tiers[", i, "]");
      const toml::table* t = element.as_table();
      if (t == nullptr) return Error(element, here, absl::StrCat("expected a table, not ", ts::TypeName(element)));
      TKB_RETURN_IF_ERROR(ts::CheckKeys(*t,
                                        {"above_input_tokens", "counts", "input", "output", "cache_read",
                                         "cache_write_5m", "cache_write_1h", "reasoning", "notes"},
                                        source_, here));
      ContextTier tier;
      const toml::node* above = t->get("above_input_tokens");
      if (above == nullptr) return Error(element, here, "missing required key \"above_input_tokens\"");
      const auto* above_int = above->as_integer();
      if (above_int == nullptr) {
        return Error(*above, FieldContext(here, "above_input_tokens"),
                     absl::StrCat("expected an integer token count, not ", ts::TypeName(*above)));
      }
      if (above_int->get() < 0) {
        return Error(*above, FieldContext(here, "above_input_tokens"),
                     absl::StrCat("negative token count ", above_int->get()));
      }
      tier.above_tokens = above_int->get();
      if (!out->empty() && tier.above_tokens <= out->back().above_tokens) {
        return Error(*above, FieldContext(here, "above_input_tokens"),
                     absl::StrCat("threshold ", tier.above_tokens, " is not above the previous tier's ",
                                  out->back().above_tokens, "; tiers must be in ascending order"));
      }
      if (const toml::node* counts = t->get("counts")) {
        const toml::array* kinds = counts->as_array();
        if (kinds == nullptr || kinds->empty()) {
          return Error(*counts, FieldContext(here, "counts"),
                       absl::StrCat("expected a non-empty array of token kinds (", kKindList, ")"));
        }
        tier.counted_kinds = 0;
        for (const toml::node& kind_node : *kinds) {
          const auto* name = kind_node.as_string();
          std::optional<TokenKind> kind;
          if (name != nullptr) kind = KindNamed(name->get());
          if (!kind.has_value()) {
            return Error(kind_node, FieldContext(here, "counts"),
                         absl::StrCat("unknown token kind ",
                                      name != nullptr ? Quoted(name->get()) : std::string(ts::TypeName(kind_node)),
                                      " (known: ", kKindList, ")"));
          }
          tier.counted_kinds |= KindBit(*kind);
        }
      }
      TKB_RETURN_IF_ERROR(ReadRates(*t, here, &tier.rates));
      if (tier.rates.empty()) return Error(element, here, "the tier sets no rate");
      out->push_back(std::move(tier));
    }
    return absl::OkStatus();
  }

  // Rates, per-request fee and long-context tiers of a model, a service tier
  // or a history entry.
  absl::Status ReadPriceSet(const toml::table& t, absl::string_view context, PriceSet* out) {
    TKB_RETURN_IF_ERROR(ReadRates(t, context, &out->rates));
    if (const toml::node* fee = t.get("per_request")) {
      TKB_ASSIGN_OR_RETURN(int64_t micros, ReadPrice(*fee, context, "per_request", PriceUnit::kUsd));
      out->per_request = Micros(micros);
    }
    if (const toml::node* tiers = t.get("tiers")) {
      TKB_RETURN_IF_ERROR(ReadContextTiers(*tiers, context, &out->tiers));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Rational> ReadMultiplier(const toml::node& node, absl::string_view context) {
    const std::string where = FieldContext(context, "multiplier");
    absl::StatusOr<std::string> text = ts::DecimalText(node, "a multiplier such as \"0.5\", \"1/2\" or 6");
    if (!text.ok()) return Error(node, where, text.status().message());
    absl::StatusOr<Rational> r = ParseRational(*text);
    if (!r.ok()) return Error(node, where, r.status().message());
    return *r;
  }

  // service_tiers.NAME tables. Provider-wide tiers carry only a multiplier:
  // rates there would give every model of the provider the same price.
  // A priced tier keeps the standard per-request fee unless it sets its own.
  absl::Status ReadServiceTiers(const toml::node& node, absl::string_view context, bool provider_wide,
                                const std::optional<Micros>& standard_fee, std::vector<ServiceTier>* out) {
    const toml::table* tiers = node.as_table();
    if (tiers == nullptr) {
      return Error(node, FieldContext(context, "service_tiers"),
                   absl::StrCat("expected a table of service tiers, not ", ts::TypeName(node)));
    }
    for (auto&& [key, value] : *tiers) {
      const absl::string_view name = ts::ToAbsl(key.str());
      if (name == "notes" && !value.is_table()) continue;  // notes are allowed anywhere
      const std::string here = context.empty() ? absl::StrCat("service tier ", Quoted(name))
                                               : absl::StrCat(context, ": service tier ", Quoted(name));
      if (IsStandardTier(name)) {
        return ts::ErrorAt(source_, key.source(), here,
                           "this name means the list prices; set them on the model itself");
      }
      const toml::table* t = value.as_table();
      if (t == nullptr) return Error(value, here, absl::StrCat("expected a table, not ", ts::TypeName(value)));
      if (provider_wide) {
        for (auto&& [k, v] : *t) {
          const absl::string_view field = ts::ToAbsl(k.str());
          if (field != "multiplier" && field != "notes" &&
              (KindNamed(field).has_value() || field == "per_request" || field == "tiers")) {
            return ts::ErrorAt(source_, k.source(), here,
                               absl::StrCat("a provider-wide service tier takes only a multiplier, not \"",
                                            field, "\"; give the rates on each model"));
          }
        }
        TKB_RETURN_IF_ERROR(ts::CheckKeys(*t, {"multiplier", "notes"}, source_, here));
      } else {
        TKB_RETURN_IF_ERROR(ts::CheckKeys(*t,
                                          {"multiplier", "input", "output", "cache_read", "cache_write_5m",
                                           "cache_write_1h", "reasoning", "per_request", "tiers", "notes"},
                                          source_, here));
      }
      ServiceTier tier;
      tier.name = std::string(name);
      const toml::node* multiplier = t->get("multiplier");
      if (multiplier != nullptr) {
        TKB_ASSIGN_OR_RETURN(tier.multiplier, ReadMultiplier(*multiplier, here));
      }
      PriceSet prices;
      TKB_RETURN_IF_ERROR(ReadPriceSet(*t, here, &prices));
      const bool priced = !prices.rates.empty() || prices.per_request.has_value() || t->contains("tiers");
      if (priced) {
        if (!prices.per_request.has_value()) prices.per_request = standard_fee;
        tier.prices = std::move(prices);
      } else if (multiplier == nullptr) {
        return Error(value, here, "the service tier sets neither a multiplier nor any price");
      }
      out->push_back(std::move(tier));
    }
    return absl::OkStatus();
  }

  absl::Status ReadProviders(const toml::node& node, ProviderTiers* out) {
    const toml::table* providers = node.as_table();
    if (providers == nullptr) {
      return Error(node, FieldContext("", "providers"),
                   absl::StrCat("expected a table of providers, not ", ts::TypeName(node)));
    }
    for (auto&& [key, value] : *providers) {
      if (key.str() == "notes" && !value.is_table()) continue;  // notes are allowed anywhere
      const std::string here = absl::StrCat("provider ", Quoted(ts::ToAbsl(key.str())));
      const toml::table* t = value.as_table();
      if (t == nullptr) return Error(value, here, absl::StrCat("expected a table, not ", ts::TypeName(value)));
      TKB_RETURN_IF_ERROR(ts::CheckKeys(*t, {"service_tiers", "notes"}, source_, here));
      std::vector<ServiceTier>& tiers = (*out)[std::string(key.str())];
      if (const toml::node* st = t->get("service_tiers")) {
        TKB_RETURN_IF_ERROR(ReadServiceTiers(*st, here, /*provider_wide=*/true, std::nullopt, &tiers));
      }
    }
    return absl::OkStatus();
  }

  // Appends the tiers of `inherited` whose names `tiers` does not declare
  // (a model's own tier wins over its provider's of the same name).
  static void Inherit(const std::vector<ServiceTier>& inherited, bool multiplier_only,
                      std::vector<ServiceTier>* tiers) {
    const size_t own = tiers->size();
    for (const ServiceTier& t : inherited) {
      if (multiplier_only && t.prices.has_value()) continue;
      bool declared = false;
      for (size_t i = 0; i < own; ++i) declared = declared || (*tiers)[i].name == t.name;
      if (!declared) tiers->push_back(t);
    }
  }

  absl::StatusOr<std::string> ReadRequiredString(const toml::table& t, absl::string_view key,
                                                 absl::string_view context) {
    const toml::node* node = t.get(ts::ToStd(key));
    if (node == nullptr) return Error(t, context, absl::StrCat("missing required key ", Quoted(key)));
    const auto* s = node->as_string();
    if (s == nullptr) {
      return Error(*node, FieldContext(context, key), absl::StrCat("expected a string, not ", ts::TypeName(*node)));
    }
    if (s->get().empty()) return Error(*node, FieldContext(context, key), "must not be empty");
    return s->get();
  }

  absl::StatusOr<ParsedModel> ReadModel(const toml::table& t, size_t index, const ProviderTiers& providers) {
    ParsedModel out;
    ModelRates& model = out.model;
    TKB_ASSIGN_OR_RETURN(model.id, ReadRequiredString(t, "id", absl::StrCat("models[", index, "]")));
    out.id_region = t.get("id")->source();
    const std::string here = absl::StrCat("model ", Quoted(model.id));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(t,
                                      {"id", "provider", "aliases", "input", "output", "cache_read",
                                       "cache_write_5m", "cache_write_1h", "reasoning", "per_request", "tiers",
                                       "service_tiers", "history", "notes"},
                                      source_, here));
    TKB_ASSIGN_OR_RETURN(model.provider, ReadRequiredString(t, "provider", here));

    if (const toml::node* aliases = t.get("aliases")) {
      const toml::array* list = aliases->as_array();
      if (list == nullptr) {
        return Error(*aliases, FieldContext(here, "aliases"),
                     absl::StrCat("expected an array of strings, not ", ts::TypeName(*aliases)));
      }
      for (const toml::node& a : *list) {
        const auto* s = a.as_string();
        if (s == nullptr || s->get().empty()) {
          return Error(a, FieldContext(here, "aliases"),
                       s == nullptr ? absl::StrCat("expected a string, not ", ts::TypeName(a))
                                    : std::string("an alias must not be empty"));
        }
        if (s->get() == model.id) continue;
        bool seen = false;
        for (const std::string& previous : model.aliases) seen = seen || previous == s->get();
        if (seen) continue;
        model.aliases.push_back(s->get());
        out.aliases.emplace_back(s->get(), a.source());
      }
    }

    TKB_RETURN_IF_ERROR(ReadPriceSet(t, here, &model.pricing.standard));
    if (model.pricing.standard.rates.empty() && !model.pricing.standard.per_request.has_value()) {
      return Error(t, here, "the model sets no price (input, output, ... or per_request)");
    }
    if (const toml::node* st = t.get("service_tiers")) {
      TKB_RETURN_IF_ERROR(ReadServiceTiers(*st, here, /*provider_wide=*/false,
                                           model.pricing.standard.per_request, &model.pricing.service_tiers));
    }
    if (auto it = providers.find(model.provider); it != providers.end()) {
      Inherit(it->second, /*multiplier_only=*/false, &model.pricing.service_tiers);
    }

    if (const toml::node* history = t.get("history")) {
      const toml::array* entries = history->as_array();
      if (entries == nullptr) {
        return Error(*history, FieldContext(here, "history"),
                     absl::StrCat("expected an array of tables ([[models.history]]), not ",
                                  ts::TypeName(*history)));
      }
      for (size_t i = 0; i < entries->size(); ++i) {
        const toml::node& element = *entries->get(i);
        const std::string entry_here = absl::StrCat(here, ": history[", i, "]");
        const toml::table* e = element.as_table();
        if (e == nullptr) {
          return Error(element, entry_here, absl::StrCat("expected a table, not ", ts::TypeName(element)));
        }
        TKB_RETURN_IF_ERROR(ts::CheckKeys(*e,
                                          {"before", "input", "output", "cache_read", "cache_write_5m",
                                           "cache_write_1h", "reasoning", "per_request", "tiers",
                                           "service_tiers", "notes"},
                                          source_, entry_here));
        const toml::node* before = e->get("before");
        if (before == nullptr) return Error(element, entry_here, "missing required key \"before\"");
        absl::StatusOr<absl::Time> at = ts::ReadInstant(*before);
        if (!at.ok()) return Error(*before, FieldContext(entry_here, "before"), at.status().message());
        if (!model.history.empty() && *at <= model.history.back().before) {
          return Error(*before, FieldContext(entry_here, "before"),
                       absl::StrCat(FormatInstant(*at), " is not after history[", i - 1, "]'s ",
                                    FormatInstant(model.history.back().before),
                                    "; history entries must be in ascending order, oldest first"));
        }
        HistoricalPricing h;
        h.before = *at;
        // An entry is a whole price set of its own: rates it omits fall back
        // as the format's rules say, not to today's prices.
        TKB_RETURN_IF_ERROR(ReadPriceSet(*e, entry_here, &h.pricing.standard));
        if (h.pricing.standard.rates.empty() && !h.pricing.standard.per_request.has_value()) {
          return Error(element, entry_here, "the history entry sets no price");
        }
        if (const toml::node* st = e->get("service_tiers")) {
          TKB_RETURN_IF_ERROR(ReadServiceTiers(*st, entry_here, /*provider_wide=*/false,
                                               h.pricing.standard.per_request, &h.pricing.service_tiers));
        }
        Inherit(model.pricing.service_tiers, /*multiplier_only=*/true, &h.pricing.service_tiers);
        model.history.push_back(std::move(h));
      }
    }
    return out;
  }

  // Ids and aliases are unique across the file; a clash names both places.
  absl::Status CheckNames(const std::vector<ParsedModel>& parsed) const {
    absl::flat_hash_map<std::string, NameClaim> claims;
    for (const ParsedModel& p : parsed) {
      const std::string& id = p.model.id;
      const std::string id_where = ts::Where(source_, p.id_region);
      if (auto it = claims.find(id); it != claims.end()) {
        const NameClaim& c = it->second;
        std::string message =
            c.is_alias
                ? absl::StrCat("model id ", Quoted(id), " is already an alias of model ", Quoted(c.model_id),
                               " (", c.where, ")")
                : absl::StrCat("duplicate model id ", Quoted(id), " (first defined at ", c.where, ")");
        return absl::AlreadyExistsError(absl::StrCat(id_where, ": ", message));
      }
      claims.emplace(id, NameClaim{id, false, id_where});
      for (const auto& [alias, region] : p.aliases) {
        const std::string where = ts::Where(source_, region);
        auto [it, inserted] = claims.emplace(alias, NameClaim{id, true, where});
        if (inserted) continue;
        const NameClaim& c = it->second;
        return absl::AlreadyExistsError(absl::StrCat(
            where, ": model ", Quoted(id), ": alias ", Quoted(alias), " is already ",
            c.is_alias ? "an alias" : "the id", " of model ", Quoted(c.model_id), " (", c.where, ")"));
      }
    }
    return absl::OkStatus();
  }

  std::string source_;
  std::vector<std::string>* warnings_;
  std::string as_of_;
  PriceUnit unit_ = PriceUnit::kPerMTok;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  auto failure = [&](int err) {
    const std::string message = absl::StrCat("cannot read rate file \"", path, "\": ",
                                             std::generic_category().message(err));
    switch (err) {
      case ENOENT:
      case ENOTDIR: return absl::NotFoundError(message);
      case EACCES:
      case EPERM: return absl::PermissionDeniedError(message);
      default: return absl::InvalidArgumentError(message);
    }
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return failure(errno);
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return failure(err != 0 ? err : EIO);
  return text;
}

}  // namespace

absl::StatusOr<RateTable> ParseRateTableToml(absl::string_view text, absl::string_view source_name,
                                             std::vector<std::string>* warnings) {
  return TomlRateReader(source_name, warnings).Read(text, source_name);
}

absl::StatusOr<RateTable> LoadRateFile(const std::string& path, std::vector<std::string>* warnings) {
  TKB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  if (absl::EndsWithIgnoreCase(path, ".json")) return ParseLiteLlmJson(text, path, warnings);
  return ParseRateTableToml(text, path, warnings);
}

const RateTable& BuiltinRates() {
  // Built once, on first use (a thread-safe static), and never destroyed, so
  // that it outlives every user during shutdown.
  static const RateTable* const table = [] {
    absl::StatusOr<RateTable> parsed = TomlRateReader(kBuiltinFileName, nullptr)
                                           .Read(ts::ToAbsl(internal::kBuiltinRatesToml), kBuiltinLabel);
    if (!parsed.ok()) {
      const std::string message = parsed.status().ToString();
      std::fprintf(stderr,
                   "tokenbook: the built-in rate table (data/builtin_rates.toml) does not load: %s\n"
                   "tokenbook: this is a defect in this build of the library; aborting\n",
                   message.c_str());
      std::abort();
    }
    return new RateTable(std::move(*parsed));
  }();
  return *table;
}

}  // namespace v1
}  // namespace tokenbook
