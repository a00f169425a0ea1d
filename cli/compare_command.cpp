// tokenbook compare: two approaches side by side, either as a what-if
// priced from the rate table (token counts given on the command line) or as
// two slices of the ledger (two sets of filters over one period).
//
// Every figure is an integer: costs are exact sums of micro-dollars, and the
// derived ones (a bare token count split by --input-share, cost per entry,
// cost per 1,000 tokens, per cent) are rounded once, half-even.
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "commands.h"

namespace tokenbook::cli {
namespace {

constexpr absl::string_view kDefaultModel = "claude-sonnet-4-5";
constexpr int64_t kDefaultInputSharePercent = 80;

struct ApproachFlags {
  std::string name;
  std::string model;
  std::optional<int64_t> tokens;
  std::optional<int64_t> input;
  std::optional<int64_t> output;
  std::optional<int64_t> cache_read;
};

struct CompareOptions {
  ApproachFlags approach[2];
  std::string model;
  int64_t input_share = kDefaultInputSharePercent;
  std::vector<std::string> a;
  std::vector<std::string> b;
  std::string period = "all";
  std::string since;
  std::string until;
  bool json = false;
  std::vector<CLI::Option*> what_if_options;  // given: the what-if form
  std::vector<CLI::Option*> ledger_options;   // given: the ledger form
};

// round_half_even(num / den), for den > 0.
int64_t RoundedQuotient(__int128 num, __int128 den) { return static_cast<int64_t>(DivRoundHalfEven(num, den)); }

// "-55.6" (relative change from `base` to `other`, per cent, one decimal,
// half-even); nullopt when `base` is not positive.
std::optional<std::string> PercentChange(int64_t base, int64_t other) {
  if (base <= 0) return std::nullopt;
  // Both are non-negative int64 here, so the difference fits.
  return Ratio{other - base, base}.Percent(1);
}

std::string Signed(int64_t n) { return n > 0 ? absl::StrCat("+", GroupThousands(n)) : GroupThousands(n); }

std::string SignedDollars(Micros amount) {
  return amount.value() > 0 ? absl::StrCat("+", FormatDollars(amount, 6)) : FormatDollars(amount, 6);
}

std::string SignedPercent(const std::optional<std::string>& p) {
  if (!p.has_value()) return "n/a";
  return (*p)[0] == '-' || *p == "0.0" ? absl::StrCat(*p, "%") : absl::StrCat("+", *p, "%");
}

void WriteOptionalMoney(JsonWriter& w, absl::string_view prefix, std::optional<Micros> amount) {
  if (amount.has_value()) {
    WriteMoney(w, prefix, *amount);
    return;
  }
  WriteKey(w, absl::StrCat(prefix, "_micros"));
  w.Null();
  WriteKey(w, absl::StrCat(prefix, "_usd"));
  w.Null();
}

void WriteOptionalString(JsonWriter& w, absl::string_view key, const std::optional<std::string>& s) {
  WriteKey(w, key);
  if (s.has_value()) {
    WriteString(w, *s);
  } else {
    w.Null();
  }
}

// ---------------------------------------------------------------------------
// What-if: token counts priced from the rate table.

struct PricedApproach {
  std::string name;
  std::string model;
  std::string rates_as_of;
  bool split = false;  // a bare --tokens-N split by --input-share
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  Micros cost;
};

int UnknownModel(const RateTable& rates, const std::string& model, absl::string_view flag) {
  const std::vector<std::string> closest = rates.Suggest(model, 3);
  return Fail(kExitUnknownModel,
              absl::StrCat(flag, ": unknown model \"", model, "\"", closest.empty() ? "" : "; closest known: ",
                           absl::StrJoin(closest, ", "), " (tokenbook rates list shows every model)"));
}

int RunWhatIf(const GlobalOptions& global, const CompareOptions& o) {
  if (o.input_share < 0 || o.input_share > 100) {
    return Fail(kExitUsage, absl::StrCat("--input-share: a whole per cent from 0 to 100 (got ", o.input_share, ")"));
  }
  for (int i = 0; i < 2; ++i) {
    const ApproachFlags& f = o.approach[i];
    const int n = i + 1;
    struct Count {
      const char* flag;
      const std::optional<int64_t>& value;
    };
    for (const Count& c : {Count{"--tokens-", f.tokens}, Count{"--input-", f.input}, Count{"--output-", f.output},
                           Count{"--cache-read-", f.cache_read}}) {
      if (c.value.has_value() && *c.value < 0) {
        return Fail(kExitUsage, absl::StrCat(c.flag, n, ": must not be negative (got ", *c.value, ")"));
      }
    }
    const bool precise = f.input.has_value() || f.output.has_value() || f.cache_read.has_value();
    if (f.tokens.has_value() && precise) {
      return Fail(kExitUsage, absl::StrCat("--tokens-", n, " is split by --input-share; give it or --input-", n,
                                           "/--output-", n, "/--cache-read-", n, ", not both"));
    }
    if (!f.tokens.has_value() && !precise) {
      return Fail(kExitUsage, absl::StrCat("approach ", n, " needs --tokens-", n, " N (or --input-", n,
                                           " and --output-", n, "), or compare the ledger with --a and --b"));
    }
  }
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> rates = LoadRates(global, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "tokenbook: warning: %s\n", w.c_str());
  if (!rates.ok()) return Fail(rates.status());

  const bool model_defaulted = o.model.empty() && (o.approach[0].model.empty() || o.approach[1].model.empty());
  PricedApproach side[2];
  for (int i = 0; i < 2; ++i) {
    const ApproachFlags& f = o.approach[i];
    PricedApproach& p = side[i];
    p.name = f.name.empty() ? absl::StrCat("approach ", i + 1) : f.name;
    const std::string model =
        !f.model.empty() ? f.model : (!o.model.empty() ? o.model : std::string(kDefaultModel));
    const Resolution r = rates->Resolve(model);
    if (r.model == nullptr) {
      return UnknownModel(*rates, model, !f.model.empty() ? absl::StrCat("--model-", i + 1) : "--model");
    }
    p.model = r.model->id;
    p.rates_as_of = r.model->as_of;
    if (f.tokens.has_value()) {
      p.split = true;
      p.input = RoundedQuotient(static_cast<__int128>(*f.tokens) * o.input_share, 100);
      p.output = *f.tokens - p.input;
    } else {
      p.input = f.input.value_or(0);
      p.output = f.output.value_or(0);
      p.cache_read = f.cache_read.value_or(0);
    }
    PriceRequest req;
    req.tokens[TokenKind::kInput] = Tokens(p.input);
    req.tokens[TokenKind::kOutput] = Tokens(p.output);
    req.tokens[TokenKind::kCacheRead] = Tokens(p.cache_read);
    absl::StatusOr<Micros> cost = CostOf(*r.model, req);
    if (!cost.ok()) return Fail(kExitUsage, absl::StrCat("approach ", i + 1, ": ", cost.status().message()));
    p.cost = *cost;
  }
  const Micros diff(side[1].cost.value() - side[0].cost.value());  // both in [0, 2^63)
  const std::optional<std::string> percent = PercentChange(side[0].cost.value(), side[1].cost.value());
  const int cheaper = diff.value() < 0 ? 1 : (diff.value() > 0 ? 0 : -1);
  const Micros savings(diff.value() < 0 ? -diff.value() : diff.value());
  // The savings as a share of the dearer approach's cost (> 0 whenever
  // one approach is cheaper).
  const std::string savings_percent =
      cheaper < 0 ? "0.0" : Ratio{savings.value(), side[1 - cheaper].cost.value()}.Percent(1);

  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "form");
    WriteString(w, "what-if");
    WriteKey(w, "default_model");
    WriteString(w, kDefaultModel);
    WriteKey(w, "model_defaulted");
    w.Bool(model_defaulted);
    WriteKey(w, "input_share_percent");
    w.Int64(o.input_share);
    WriteKey(w, "approaches");
    w.StartArray();
    for (const PricedApproach& p : side) {
      w.StartObject();
      WriteKey(w, "name");
      WriteString(w, p.name);
      WriteKey(w, "model");
      WriteString(w, p.model);
      WriteKey(w, "rates_as_of");
      WriteString(w, p.rates_as_of);
      WriteKey(w, "split_by_input_share");
      w.Bool(p.split);
      WriteKey(w, "tokens");
      w.StartObject();
      WriteKey(w, "input");
      w.Int64(p.input);
      WriteKey(w, "output");
      w.Int64(p.output);
      WriteKey(w, "cache_read");
      w.Int64(p.cache_read);
      WriteKey(w, "total");
      w.Int64(p.input + p.output + p.cache_read);
      w.EndObject();
      WriteMoney(w, "cost", p.cost);
      w.EndObject();
    }
    w.EndArray();
    WriteKey(w, "difference");
    w.StartObject();
    WriteMoney(w, "cost", diff);  // approach 2 - approach 1
    WriteOptionalString(w, "percent", percent);
    WriteKey(w, "cheaper");
    if (cheaper < 0) {
      w.Null();
    } else {
      WriteString(w, side[cheaper].name);
    }
    WriteMoney(w, "savings", savings);
    WriteKey(w, "savings_percent");
    WriteString(w, savings_percent);
    w.EndObject();
    w.EndObject();
    PrintJson(buffer);
    return kExitOk;
  }

  std::string header = "what-if at list prices";
  if (side[0].model == side[1].model) absl::StrAppend(&header, " on ", side[0].model);
  if (model_defaulted) {
    absl::StrAppend(&header, side[0].model == side[1].model
                                 ? " (the default model; --model M to change)"
                                 : absl::StrCat(" (", kDefaultModel, " is the default; --model M to change)"));
  }
  if (!side[0].rates_as_of.empty()) absl::StrAppend(&header, ", rates as of ", side[0].rates_as_of);
  std::printf("%s\n", header.c_str());
  if (side[0].split || side[1].split) {
    std::printf("a bare token count is split %lld%% input / %lld%% output (--input-share)\n",
                static_cast<long long>(o.input_share), static_cast<long long>(100 - o.input_share));
  }
  std::printf("  %-20s %-24s %12s %12s %12s %14s\n", "approach", "model", "input", "output", "cache read", "cost");
  for (const PricedApproach& p : side) {
    std::printf("  %-20s %-24s %12s %12s %12s %14s\n", p.name.c_str(), p.model.c_str(),
                GroupThousands(p.input).c_str(), GroupThousands(p.output).c_str(),
                GroupThousands(p.cache_read).c_str(), FormatDollars(p.cost, 6).c_str());
  }
  std::printf("difference (%s - %s): %s (%s)\n", side[1].name.c_str(), side[0].name.c_str(),
              SignedDollars(diff).c_str(), SignedPercent(percent).c_str());
  if (cheaper < 0) {
    std::printf("both cost the same\n");
  } else {
    std::printf("%s is cheaper: it saves %s (%s%% of %s's cost)\n", side[cheaper].name.c_str(),
                FormatDollars(savings, 6).c_str(), savings_percent.c_str(), side[1 - cheaper].name.c_str());
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// The ledger form: two filtered slices of one period.

struct Slice {
  std::string name;
  std::vector<std::string> filters;
  Totals total;
  int64_t tokens = 0;  // every kind but reasoning, which output already counts
  std::optional<Micros> per_entry;
  std::optional<Micros> per_1k_tokens;
};

int RunLedgerCompare(const GlobalOptions& global, const CompareOptions& o) {
  if (o.a.empty() || o.b.empty()) {
    return Fail(kExitUsage, "the ledger form needs both --a FILTER and --b FILTER (e.g. --a agent=reviewer "
                            "--b agent=writer)");
  }
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());

  Slice side[2] = {{"a", o.a, {}, 0, {}, {}}, {"b", o.b, {}, 0, {}, {}}};
  std::vector<LedgerIssue> issues;
  std::string period_label, time_zone;
  for (int i = 0; i < 2; ++i) {
    ReportSpec spec;
    spec.period = o.period;
    spec.since = o.since;
    spec.until = o.until;
    spec.filters = side[i].filters;
    spec.time_zone = global.tz;
    absl::StatusOr<RollupQuery> query = (*book)->MakeQuery(spec, *now);
    if (!query.ok()) return Fail(kExitUsage, absl::StrCat("--", side[i].name, ": ", query.status().message()));
    // Skipped lines are the same for both scans: report them once.
    absl::StatusOr<RollupReport> report = (*book)->Report(*std::move(query), i == 0 ? &issues : nullptr);
    if (!report.ok()) return Fail(report.status());
    period_label = report->range.label;
    time_zone = report->time_zone;
    Slice& s = side[i];
    s.total = report->total;
    __int128 tokens = 0;
    for (TokenKind k : kAllTokenKinds) {
      if (k != TokenKind::kReasoning) tokens += s.total.tokens[k].value();
    }
    if (tokens > std::numeric_limits<int64_t>::max()) return Fail(kExitDataError, "token total overflows 64 bits");
    s.tokens = static_cast<int64_t>(tokens);
    if (s.total.entries > 0) s.per_entry = Micros(RoundedQuotient(s.total.cost.value(), s.total.entries));
    if (s.tokens > 0) {
      s.per_1k_tokens = Micros(RoundedQuotient(static_cast<__int128>(s.total.cost.value()) * 1000, s.tokens));
    }
  }
  for (const LedgerIssue& issue : issues) {
    std::fprintf(stderr, "tokenbook: warning: %s:%lld: %s\n", issue.file.c_str(),
                 static_cast<long long>(issue.line), issue.message.c_str());
  }
  const Slice& a = side[0];
  const Slice& b = side[1];
  const Micros cost_diff(b.total.cost.value() - a.total.cost.value());
  const std::optional<std::string> cost_percent = PercentChange(a.total.cost.value(), b.total.cost.value());
  std::optional<Micros> per_entry_diff, per_1k_diff;
  std::optional<std::string> per_entry_percent, per_1k_percent;
  if (a.per_entry && b.per_entry) {
    per_entry_diff = Micros(b.per_entry->value() - a.per_entry->value());
    per_entry_percent = PercentChange(a.per_entry->value(), b.per_entry->value());
  }
  if (a.per_1k_tokens && b.per_1k_tokens) {
    per_1k_diff = Micros(b.per_1k_tokens->value() - a.per_1k_tokens->value());
    per_1k_percent = PercentChange(a.per_1k_tokens->value(), b.per_1k_tokens->value());
  }

  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "form");
    WriteString(w, "ledger");
    WriteKey(w, "period");
    WriteString(w, period_label);
    WriteKey(w, "time_zone");
    WriteString(w, time_zone);
    WriteKey(w, "sides");
    w.StartArray();
    for (const Slice& s : side) {
      w.StartObject();
      WriteKey(w, "name");
      WriteString(w, s.name);
      WriteKey(w, "filters");
      w.StartArray();
      for (const std::string& f : s.filters) WriteString(w, f);
      w.EndArray();
      WriteKey(w, "entries");
      w.Int64(s.total.entries);
      WriteKey(w, "requests");
      w.Int64(s.total.requests);
      WriteKey(w, "tokens");
      w.StartObject();
      for (TokenKind k : kAllTokenKinds) {
        WriteKey(w, TokenKindName(k));
        w.Int64(s.total.tokens[k].value());
      }
      WriteKey(w, "total");
      w.Int64(s.tokens);
      w.EndObject();
      WriteMoney(w, "cost", s.total.cost);
      WriteOptionalMoney(w, "cost_per_entry", s.per_entry);
      WriteOptionalMoney(w, "cost_per_1k_tokens", s.per_1k_tokens);
      WriteKey(w, "unpriced_entries");
      w.Int64(s.total.unpriced_entries);
      w.EndObject();
    }
    w.EndArray();
    WriteKey(w, "difference");  // b - a
    w.StartObject();
    WriteKey(w, "entries");
    w.Int64(b.total.entries - a.total.entries);
    WriteKey(w, "tokens");
    w.Int64(b.tokens - a.tokens);
    WriteMoney(w, "cost", cost_diff);
    WriteOptionalString(w, "cost_percent", cost_percent);
    WriteOptionalMoney(w, "cost_per_entry", per_entry_diff);
    WriteOptionalString(w, "cost_per_entry_percent", per_entry_percent);
    WriteOptionalMoney(w, "cost_per_1k_tokens", per_1k_diff);
    WriteOptionalString(w, "cost_per_1k_tokens_percent", per_1k_percent);
    w.EndObject();
    WriteKey(w, "skipped_lines");
    w.Int64(static_cast<int64_t>(issues.size()));
    w.EndObject();
    PrintJson(buffer);
    return kExitOk;
  }

  auto money = [](const std::optional<Micros>& m) { return m ? FormatDollars(*m, 6) : std::string("n/a"); };
  auto signed_money = [](const std::optional<Micros>& m) { return m ? SignedDollars(*m) : std::string("n/a"); };
  std::printf("compare, period %s (%s)\n", period_label.c_str(), time_zone.c_str());
  for (const Slice& s : side) std::printf("  %s: %s\n", s.name.c_str(), absl::StrJoin(s.filters, " and ").c_str());
  std::printf("  %-6s %10s %15s %15s %15s %15s\n", "", "entries", "tokens", "cost", "cost/entry", "cost/1k tok");
  for (const Slice& s : side) {
    std::printf("  %-6s %10s %15s %15s %15s %15s\n", s.name.c_str(), GroupThousands(s.total.entries).c_str(),
                GroupThousands(s.tokens).c_str(), FormatDollars(s.total.cost, 6).c_str(), money(s.per_entry).c_str(),
                money(s.per_1k_tokens).c_str());
  }
  std::printf("  %-6s %10s %15s %15s %15s %15s\n", "b - a", Signed(b.total.entries - a.total.entries).c_str(),
              Signed(b.tokens - a.tokens).c_str(), SignedDollars(cost_diff).c_str(),
              signed_money(per_entry_diff).c_str(), signed_money(per_1k_diff).c_str());
  std::printf("  %-6s %10s %15s %15s %15s %15s\n", "", "", "", SignedPercent(cost_percent).c_str(),
              SignedPercent(per_entry_percent).c_str(), SignedPercent(per_1k_percent).c_str());
  for (const Slice& s : side) {
    if (s.total.unpriced_entries > 0) {
      std::printf("UNPRICED: %s has %s with a model not in the rate table, counted at $0\n", s.name.c_str(),
                  absl::StrCat(GroupThousands(s.total.unpriced_entries),
                               s.total.unpriced_entries == 1 ? " entry" : " entries")
                      .c_str());
    }
  }
  return kExitOk;
}

int RunCompare(const GlobalOptions& global, const CompareOptions& o) {
  auto given = [](const std::vector<CLI::Option*>& options) {
    for (const CLI::Option* opt : options) {
      if (opt->count() > 0) return opt->get_name();
    }
    return std::string();
  };
  const std::string what_if = given(o.what_if_options);
  const std::string ledger = given(o.ledger_options);
  if (!what_if.empty() && !ledger.empty()) {
    return Fail(kExitUsage, absl::StrCat(ledger, " compares the ledger and ", what_if,
                                         " prices a what-if; give the flags of one form"));
  }
  if (!ledger.empty()) return RunLedgerCompare(global, o);
  return RunWhatIf(global, o);
}

}  // namespace

void RegisterCompareCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = root.add_subcommand(
      "compare", "Compare two approaches: a what-if priced from the rate table, or two slices of the ledger");
  std::vector<CLI::Option*>& w = o->what_if_options;
  for (int i = 0; i < 2; ++i) {
    ApproachFlags& f = o->approach[i];
    const std::string n = absl::StrCat(i + 1);
    const std::string group = absl::StrCat("What-if approach ", n);
    w.push_back(sub->add_option("--approach-" + n, f.name, "Its name")->group(group));
    w.push_back(sub->add_option("--tokens-" + n, f.tokens, "Tokens, split by --input-share")->group(group));
    w.push_back(sub->add_option("--input-" + n, f.input, "Uncached input tokens")->group(group));
    w.push_back(sub->add_option("--output-" + n, f.output, "Output tokens")->group(group));
    w.push_back(sub->add_option("--cache-read-" + n, f.cache_read, "Tokens read from the prompt cache")->group(group));
    w.push_back(sub->add_option("--model-" + n, f.model, "Its model (default: --model)")->group(group));
  }
  w.push_back(sub->add_option("--model,-m", o->model, absl::StrCat("Model of both approaches (default ",
                                                                   kDefaultModel, ")"))
                  ->group("What-if"));
  w.push_back(sub->add_option("--input-share", o->input_share,
                              "Per cent of a bare --tokens-N count priced as input, the rest as output (default 80)")
                  ->group("What-if"));
  std::vector<CLI::Option*>& l = o->ledger_options;
  l.push_back(sub->add_option("--a", o->a, "Side a: KEY=VALUE or tag:KEY=VALUE (repeatable, all must match)")
                  ->group("Ledger"));
  l.push_back(sub->add_option("--b", o->b, "Side b: KEY=VALUE or tag:KEY=VALUE (repeatable, all must match)")
                  ->group("Ledger"));
  CLI::Option* period = sub->add_option("--period", o->period, "all (default), month, last-30d, 2026-03 ...")
                            ->group("Ledger");
  CLI::Option* since = sub->add_option("--since", o->since, "From this date or instant on")->group("Ledger");
  CLI::Option* until = sub->add_option("--until", o->until, "Up to this date (included) or instant")->group("Ledger");
  period->excludes(since)->excludes(until);
  l.push_back(period);
  l.push_back(since);
  l.push_back(until);
  sub->add_flag("--json", o->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, o] { return RunCompare(global, *o); }});
}

}  // namespace tokenbook::cli
