// tokenbook rates list / rates show: what the layered rate table holds.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "commands.h"

namespace tokenbook::cli {
namespace {

std::string RateCell(const TokenRates& rates, TokenKind kind) {
  const auto& r = rates[kind];
  return r.has_value() ? RateText(*r) : "-";
}

void WriteRates(JsonWriter& w, const TokenRates& rates) {
  w.StartObject();
  for (TokenKind k : kAllTokenKinds) {
    if (!rates[k].has_value()) continue;
    WriteKey(w, TokenKindName(k));
    w.StartObject();
    WriteKey(w, "micros_per_mtok");
    w.Int64(rates[k]->value());
    WriteKey(w, "usd_per_mtok");
    WriteString(w, RateText(*rates[k]));
    w.EndObject();
  }
  w.EndObject();
}

void WritePriceSet(JsonWriter& w, const PriceSet& set) {
  WriteKey(w, "rates");
  WriteRates(w, set.rates);
  if (set.per_request.has_value()) WriteMoney(w, "per_request", *set.per_request);
  WriteKey(w, "tiers");
  w.StartArray();
  for (const ContextTier& tier : set.tiers) {
    w.StartObject();
    WriteKey(w, "above_tokens");
    w.Int64(tier.above_tokens);
    WriteKey(w, "counts");
    w.StartArray();
    for (TokenKind k : kAllTokenKinds) {
      if (tier.counted_kinds & KindBit(k)) WriteString(w, TokenKindName(k));
    }
    w.EndArray();
    WriteKey(w, "rates");
    WriteRates(w, tier.rates);
    w.EndObject();
  }
  w.EndArray();
}

void WritePricing(JsonWriter& w, const Pricing& pricing) {
  WritePriceSet(w, pricing.standard);
  WriteKey(w, "service_tiers");
  w.StartObject();
  for (const ServiceTier& t : pricing.service_tiers) {
    WriteKey(w, t.name);
    w.StartObject();
    WriteKey(w, "multiplier");
    WriteString(w, ToString(t.multiplier));
    if (t.prices.has_value()) WritePriceSet(w, *t.prices);
    w.EndObject();
  }
  w.EndObject();
}

void WriteModel(JsonWriter& w, const ModelRates& m, bool full) {
  w.StartObject();
  WriteKey(w, "id");
  WriteString(w, m.id);
  WriteKey(w, "provider");
  WriteString(w, m.provider);
  WriteKey(w, "as_of");
  WriteString(w, m.as_of);
  WriteKey(w, "source");
  WriteString(w, m.source);
  WriteKey(w, "aliases");
  w.StartArray();
  for (const std::string& a : m.aliases) WriteString(w, a);
  w.EndArray();
  if (full) {
    WritePricing(w, m.pricing);
    WriteKey(w, "history");
    w.StartArray();
    for (const HistoricalPricing& h : m.history) {
      w.StartObject();
      WriteKey(w, "before");
      WriteString(w, absl::FormatTime(absl::RFC3339_sec, h.before, absl::UTCTimeZone()));
      WritePricing(w, h.pricing);
      w.EndObject();
    }
    w.EndArray();
  } else {
    WriteKey(w, "rates");
    WriteRates(w, m.pricing.standard.rates);
  }
  w.EndObject();
}

struct ListOptions {
  std::string provider;
  bool json = false;
};

int RunList(const GlobalOptions& global, const ListOptions& o) {
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> rates = LoadRates(global, &warnings);
  if (!rates.ok()) return Fail(rates.status());
  std::vector<const ModelRates*> models;
  for (const ModelRates* m : rates->Models()) {
    if (o.provider.empty() || m->provider == o.provider) models.push_back(m);
  }
  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "as_of");
    WriteString(w, rates->as_of());
    WriteKey(w, "count");
    w.Uint64(models.size());
    WriteKey(w, "models");
    w.StartArray();
    for (const ModelRates* m : models) WriteModel(w, *m, /*full=*/false);
    w.EndArray();
    w.EndObject();
    PrintJson(buffer);
    return kExitOk;
  }
  std::printf("%-40s %-12s %9s %9s %9s %9s %9s   (USD per MTok)\n", "model", "provider", "input", "output",
              "cache rd", "write 5m", "write 1h");
  for (const ModelRates* m : models) {
    const TokenRates& r = m->pricing.standard.rates;
    std::printf("%-40s %-12s %9s %9s %9s %9s %9s\n", m->id.c_str(), m->provider.c_str(),
                RateCell(r, TokenKind::kInput).c_str(), RateCell(r, TokenKind::kOutput).c_str(),
                RateCell(r, TokenKind::kCacheRead).c_str(), RateCell(r, TokenKind::kCacheWrite5m).c_str(),
                RateCell(r, TokenKind::kCacheWrite1h).c_str());
  }
  std::printf("%zu models; rates as of %s\n", models.size(), rates->as_of().c_str());
  return kExitOk;
}

struct ShowOptions {
  std::string model;
  bool json = false;
};

void PrintTextPriceSet(const PriceSet& set, const std::string& indent) {
  for (TokenKind k : kAllTokenKinds) {
    if (set.rates[k].has_value()) {
      std::printf("%s%-15s $%s/MTok\n", indent.c_str(), std::string(TokenKindName(k)).c_str(),
                  RateText(*set.rates[k]).c_str());
    }
  }
  if (set.per_request.has_value()) {
    std::printf("%s%-15s %s\n", indent.c_str(), "per request", FormatDollars(*set.per_request, 6).c_str());
  }
  for (const ContextTier& tier : set.tiers) {
    std::printf("%sabove %s tokens (whole request):\n", indent.c_str(), GroupThousands(tier.above_tokens).c_str());
    PrintTextPriceSet(PriceSet{tier.rates, {}, std::nullopt}, indent + "  ");
  }
}

int RunShow(const GlobalOptions& global, const ShowOptions& o) {
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> rates = LoadRates(global, &warnings);
  if (!rates.ok()) return Fail(rates.status());
  const Resolution r = rates->Resolve(o.model);
  if (r.model == nullptr) {
    return Fail(kExitUnknownModel, absl::StrCat("unknown model \"", o.model, "\"; closest known: ",
                                                absl::StrJoin(rates->Suggest(o.model, 3), ", ")));
  }
  const ModelRates& m = *r.model;
  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    WriteModel(w, m, /*full=*/true);
    PrintJson(buffer);
    return kExitOk;
  }
  std::printf("%s (%s)", m.id.c_str(), m.provider.c_str());
  if (r.match != MatchKind::kExact) {
    std::printf("  from \"%s\" (%s match)", o.model.c_str(), std::string(MatchKindName(r.match)).c_str());
  }
  std::printf("\n  source: %s%s%s\n", m.source.c_str(), m.as_of.empty() ? "" : ", as of ", m.as_of.c_str());
  if (!m.aliases.empty()) std::printf("  aliases: %s\n", absl::StrJoin(m.aliases, ", ").c_str());
  PrintTextPriceSet(m.pricing.standard, "  ");
  for (const ServiceTier& t : m.pricing.service_tiers) {
    std::printf("  service tier %s: multiplier %s\n", t.name.c_str(), ToString(t.multiplier).c_str());
    if (t.prices.has_value()) PrintTextPriceSet(*t.prices, "    ");
  }
  for (const HistoricalPricing& h : m.history) {
    std::printf("  before %s:\n", absl::FormatTime(absl::RFC3339_sec, h.before, absl::UTCTimeZone()).c_str());
    PrintTextPriceSet(h.pricing.standard, "    ");
  }
  return kExitOk;
}

}  // namespace

void RegisterRatesCommands(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  CLI::App* rates = root.add_subcommand("rates", "Show the rate table (built-in plus --rates files)");
  rates->require_subcommand(1);

  auto list = std::make_shared<ListOptions>();
  CLI::App* list_cmd = rates->add_subcommand("list", "List every model and its list prices");
  list_cmd->add_option("--provider", list->provider, "Only this provider's models");
  list_cmd->add_flag("--json", list->json, "Print a JSON object");
  out.push_back(Command{list_cmd, [&global, list] { return RunList(global, *list); }});

  auto show = std::make_shared<ShowOptions>();
  CLI::App* show_cmd = rates->add_subcommand("show", "Show one model's prices, tiers and history");
  show_cmd->add_option("model", show->model, "Model id or any spelling of it")->required();
  show_cmd->add_flag("--json", show->json, "Print a JSON object");
  out.push_back(Command{show_cmd, [&global, show] { return RunShow(global, *show); }});
}

}  // namespace tokenbook::cli
