// tokenbook price: the cost of one request, with its breakdown.
#include <cstdio>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/price_json.h"

namespace tokenbook::cli {
namespace {

struct PriceOptions {
  std::string model;
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t reasoning = 0;
  int64_t requests = 1;
  std::string service_tier = "standard";
  std::string at;
  bool json = false;
};

std::string KindLabel(TokenKind kind) {
  switch (kind) {
    case TokenKind::kInput: return "input";
    case TokenKind::kOutput: return "output";
    case TokenKind::kCacheRead: return "cache read";
    case TokenKind::kCacheWrite5m: return "cache write 5m";
    case TokenKind::kCacheWrite1h: return "cache write 1h";
    case TokenKind::kReasoning: return "reasoning";
  }
  return "?";
}

int UnknownModel(const RateTable& rates, const PriceOptions& o) {
  const std::vector<std::string> closest = rates.Suggest(o.model, 3);
  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "error");
    WriteString(w, "unknown_model");
    WriteKey(w, "model");
    WriteString(w, o.model);
    WriteKey(w, "closest");
    w.StartArray();
    for (const std::string& id : closest) WriteString(w, id);
    w.EndArray();
    w.EndObject();
    PrintJson(buffer);
  }
  return Fail(kExitUnknownModel,
              absl::StrCat("unknown model \"", o.model, "\"; closest known: ", absl::StrJoin(closest, ", "),
                           " (tokenbook rates list shows every model; --rates FILE adds your own)"));
}

void PrintTextBreakdown(const PriceOptions& o, const Resolution& r, const PriceBreakdown& b) {
  const bool color = UseColor(stdout);
  const char* bold = color ? "\033[1m" : "";
  const char* dim = color ? "\033[2m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::string header = absl::StrCat(bold, b.model, reset, " (", b.provider);
  if (!b.as_of.empty()) absl::StrAppend(&header, ", rates as of ", b.as_of);
  absl::StrAppend(&header, ")");
  if (r.match != MatchKind::kExact) {
    absl::StrAppend(&header, dim, "  from \"", o.model, "\" (", MatchKindName(r.match), " match)", reset);
  }
  std::printf("%s\n", header.c_str());
  for (const KindCost& line : b.lines) {
    std::string rate = absl::StrCat("$", RateText(line.rate), "/MTok");
    if (line.borrowed_from.has_value()) {
      absl::StrAppend(&rate, " (", TokenKindName(*line.borrowed_from), " rate)");
    }
    std::printf("  %-15s %14s tok × %-22s %14s\n", KindLabel(line.kind).c_str(),
                GroupThousands(line.tokens.value()).c_str(), rate.c_str(),
                FormatDollars(line.cost, 6).c_str());
  }
  if (b.request_fees.value() != 0) {
    std::printf("  %-15s %14s req %-26s %14s\n", "requests", GroupThousands(o.requests).c_str(), "",
                FormatDollars(b.request_fees, 6).c_str());
  }
  if (b.tier >= 0) {
    std::printf("  %slong-context tier: %s counted tokens > %s, whole request at tier rates%s\n", dim,
                GroupThousands(b.tier_counted_tokens).c_str(), GroupThousands(b.tier_above_tokens).c_str(),
                reset);
  }
  if (b.service_tier != "standard" || !b.multiplier.is_one()) {
    std::printf("  %sservice tier: %s, multiplier %s%s\n", dim, b.service_tier.c_str(),
                ToString(b.multiplier).c_str(), reset);
  }
  if (b.historical) std::printf("  %spriced at the rates in force at %s%s\n", dim, o.at.c_str(), reset);
  std::printf("  %-59s %s%14s%s\n", "total", bold, FormatDollars(b.total, 6).c_str(), reset);
}

int RunPrice(const GlobalOptions& global, const PriceOptions& o) {
  struct Flag {
    const char* name;
    int64_t value;
  };
  for (const Flag& f : {Flag{"--input", o.input}, Flag{"--output", o.output},
                        Flag{"--cache-read", o.cache_read}, Flag{"--cache-write", o.cache_write},
                        Flag{"--cache-write-5m", o.cache_write_5m}, Flag{"--cache-write-1h", o.cache_write_1h},
                        Flag{"--reasoning", o.reasoning}, Flag{"--requests", o.requests}}) {
    if (f.value < 0) return Fail(kExitUsage, absl::StrCat(f.name, ": must not be negative (got ", f.value, ")"));
  }
  if (o.cache_write != 0 && o.cache_write_5m != 0) {
    return Fail(kExitUsage, "--cache-write is --cache-write-5m; give one of them");
  }
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> rates = LoadRates(global, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "tokenbook: warning: %s\n", w.c_str());
  if (!rates.ok()) return Fail(rates.status());

  const Resolution r = rates->Resolve(o.model);
  if (r.model == nullptr) return UnknownModel(*rates, o);

  PriceRequest req;
  req.tokens[TokenKind::kInput] = Tokens(o.input);
  req.tokens[TokenKind::kOutput] = Tokens(o.output);
  req.tokens[TokenKind::kCacheRead] = Tokens(o.cache_read);
  req.tokens[TokenKind::kCacheWrite5m] = Tokens(o.cache_write_5m + o.cache_write);
  req.tokens[TokenKind::kCacheWrite1h] = Tokens(o.cache_write_1h);
  req.tokens[TokenKind::kReasoning] = Tokens(o.reasoning);
  req.requests = o.requests;
  req.service_tier = o.service_tier;
  if (!o.at.empty()) {
    absl::StatusOr<absl::Time> at = ParseInstant("--at", o.at);
    if (!at.ok()) return Fail(kExitUsage, at.status().message());
    req.at = *at;
  }
  absl::StatusOr<PriceBreakdown> b = ExplainCost(*r.model, req);
  if (!b.ok()) {
    return Fail(b.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : ExitCodeFor(b.status()),
                b.status().message());
  }
  if (o.json) {
    std::printf("%s\n", PriceBreakdownJson(*b, o.model, r.match, o.requests).c_str());
  } else {
    PrintTextBreakdown(o, r, *b);
  }
  return kExitOk;
}

}  // namespace

void RegisterPriceCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<PriceOptions>();
  CLI::App* sub = root.add_subcommand("price", "Price one request exactly, with its breakdown");
  sub->add_option("--model,-m", o->model, "Model id or any spelling of it")->required();
  sub->add_option("--input", o->input, "Uncached input tokens");
  sub->add_option("--output", o->output, "Output tokens (reasoning included)");
  sub->add_option("--cache-read", o->cache_read, "Tokens read from the prompt cache");
  sub->add_option("--cache-write", o->cache_write, "Tokens written to the 5-minute cache (= --cache-write-5m)");
  sub->add_option("--cache-write-5m", o->cache_write_5m, "Tokens written to the 5-minute cache");
  sub->add_option("--cache-write-1h", o->cache_write_1h, "Tokens written to the 1-hour cache");
  sub->add_option("--reasoning", o->reasoning, "Reasoning tokens, counted within --output");
  sub->add_option("--requests", o->requests, "Requests, for per-request fees (default 1)");
  sub->add_option("--service-tier", o->service_tier, "standard, batch, flex, priority, fast ...");
  sub->add_option("--at", o->at, "Price at the rates in force then (RFC 3339 or YYYY-MM-DD)");
  sub->add_flag("--json", o->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, o] { return RunPrice(global, *o); }});
}

}  // namespace tokenbook::cli
