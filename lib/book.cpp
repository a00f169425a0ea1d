#include "tokenbook/book.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

struct Book::State {
  std::unique_ptr<Ledger> ledger;
  Config config;
  RateTable owned_rates;
  const RateTable* rates = nullptr;
  std::vector<std::string> rate_warnings;
  std::unique_ptr<BudgetService> budgets;
  bool strict_models = false;
};

Book::Book(std::unique_ptr<State> state) : state_(std::move(state)) {}
Book::~Book() = default;

absl::StatusOr<std::unique_ptr<Book>> Book::Open(const std::string& dir, const BookOptions& options) {
  auto state = std::make_unique<State>();
  // A database URL keeps its config.toml (and budgets, alerts) in the
  // database file's directory.
  TKB_ASSIGN_OR_RETURN(const LedgerLocation where, ResolveLedgerLocation(dir));
  if (options.config_file.empty()) {
    TKB_ASSIGN_OR_RETURN(state->config, LoadConfig(where.dir));
  } else {
    TKB_ASSIGN_OR_RETURN(state->config, LoadConfigFile(options.config_file));
  }
  LedgerOptions ledger_options;
  ledger_options.create = options.create;
  ledger_options.durability = options.durability.value_or(state->config.durability);
  // The URL given wins over config.toml's `backend`.
  ledger_options.backend = where.backend.empty() ? state->config.backend : where.backend;
  TKB_ASSIGN_OR_RETURN(state->ledger, Ledger::Open(where.dir, ledger_options));
  if (options.rates != nullptr) {
    state->rates = options.rates;
  } else {
    TKB_ASSIGN_OR_RETURN(state->owned_rates, LoadConfiguredRates(state->config, &state->rate_warnings));
    for (const std::string& path : options.extra_rate_files) {
      TKB_ASSIGN_OR_RETURN(RateTable layer, LoadRateFile(path, &state->rate_warnings));
      state->owned_rates.MergeFrom(layer);
    }
    state->rates = &state->owned_rates;
  }
  TKB_ASSIGN_OR_RETURN(state->budgets, BudgetService::Open(state->ledger.get(), state->config));
  state->strict_models = options.strict_models;
  return std::unique_ptr<Book>(new Book(std::move(state)));
}

Ledger& Book::ledger() { return *state_->ledger; }
const Config& Book::config() const { return state_->config; }
const RateTable& Book::rates() const { return *state_->rates; }
BudgetService& Book::budgets() { return *state_->budgets; }
const std::vector<std::string>& Book::rate_warnings() const { return state_->rate_warnings; }

namespace {

absl::Status Prepare(const RateTable& rates, bool strict, absl::Time now, Entry* e) {
  if (e->model.empty()) return absl::InvalidArgumentError("an entry needs a model");
  if (!IsValidActionType(e->action_type)) {
    return absl::InvalidArgumentError(absl::StrCat("action_type \"", e->action_type,
                                                   "\" is not one of skill, agent, manual, scheduled"));
  }
  if (e->requests < 0) return absl::InvalidArgumentError("requests must not be negative");
  if (e->timestamp == absl::UnixEpoch()) e->timestamp = now;
  return PriceEntry(rates, e, strict);
}

}  // namespace

absl::StatusOr<LogOutcome> Book::Log(Entry entry, absl::Time now) {
  TKB_RETURN_IF_ERROR(Prepare(*state_->rates, state_->strict_models, now, &entry));
  LogOutcome out;
  TKB_ASSIGN_OR_RETURN(out.append, state_->ledger->Append(entry));
  entry.id = out.append.id;
  out.entry = std::move(entry);
  out.impact.cost = out.entry.cost;
  out.impact.priced = out.entry.priced();
  out.impact.model = out.entry.model;
  if (out.append.appended) {
    absl::StatusOr<LogImpact> impact = state_->budgets->AfterLog(out.entry, now);
    if (impact.ok()) {
      out.impact = *std::move(impact);
    } else if (!absl::IsUnavailable(impact.status()) || state_->ledger->kind() != "postgresql") {
      return impact.status();
    }
    // Else a database that cannot be reached kept the entry in its spool
    // (docs/backends.md): logged, with no budget impact to tell.
  }
  return out;
}

absl::StatusOr<std::vector<LogOutcome>> Book::LogBatch(std::vector<Entry> entries, absl::Time now) {
  for (Entry& e : entries) TKB_RETURN_IF_ERROR(Prepare(*state_->rates, state_->strict_models, now, &e));
  std::vector<Entry> copy = entries;
  TKB_ASSIGN_OR_RETURN(std::vector<AppendResult> results, state_->ledger->AppendBatch(std::move(copy)));
  std::vector<LogOutcome> out(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    out[i].append = results[i];
    entries[i].id = results[i].id;
    out[i].entry = std::move(entries[i]);
    out[i].impact.cost = out[i].entry.cost;
    out[i].impact.priced = out[i].entry.priced();
    out[i].impact.model = out[i].entry.model;
  }
  return out;
}

absl::StatusOr<RollupQuery> Book::MakeQuery(const ReportSpec& spec, absl::Time now) const {
  RollupQuery q;
  q.week_start = state_->config.week_start;
  q.tz = state_->config.time_zone;
  std::string tz_name = state_->config.time_zone_name;
  if (!spec.time_zone.empty()) {
    if (!absl::LoadTimeZone(spec.time_zone, &q.tz)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown time zone \"", spec.time_zone, "\""));
    }
  }
  if (!spec.since.empty() || !spec.until.empty()) {
    TKB_ASSIGN_OR_RETURN(q.range, ResolveRange(spec.since, spec.until, now, q.tz));
  } else {
    TKB_ASSIGN_OR_RETURN(q.range, ResolvePeriod(spec.period.empty() ? "month" : spec.period, now, q.tz,
                                                q.week_start));
  }
  if (!spec.group_by.empty()) {
    TKB_ASSIGN_OR_RETURN(q.group_by, ParseGroupBy(spec.group_by));
  }
  for (const std::string& f : spec.filters) TKB_RETURN_IF_ERROR(q.AddFilter(f));
  q.top_n = spec.top;
  q.fill_empty_buckets = spec.fill_empty_buckets;
  return q;
}

absl::StatusOr<RollupReport> Book::Report(RollupQuery query, std::vector<LedgerIssue>* issues, bool reprice) {
  TKB_ASSIGN_OR_RETURN(Rollup rollup, Rollup::Create(std::move(query)));
  if (!reprice) {
    TKB_ASSIGN_OR_RETURN(const bool summed, state_->ledger->AddTotalsTo(&rollup));
    if (!summed) TKB_RETURN_IF_ERROR(state_->ledger->Scan([&](const Entry& e) { rollup.Add(e); }, issues));
    return rollup.Finish();
  }
  absl::Status failed;
  Entry copy;
  TKB_RETURN_IF_ERROR(state_->ledger->Scan(
      [&](const Entry& e) {
        if (!failed.ok()) return;
        if (e.cost_source != CostSource::kComputed && e.cost_source != CostSource::kUnpriced) {
          rollup.Add(e);
          return;
        }
        copy = e;
        copy.cost_source = CostSource::kComputed;
        if (absl::Status s = PriceEntry(*state_->rates, &copy); !s.ok()) {
          failed = absl::Status(s.code(), absl::StrCat("repricing entry ", e.id, ": ", s.message()));
          return;
        }
        rollup.Add(copy);
      },
      issues));
  TKB_RETURN_IF_ERROR(failed);
  return rollup.Finish();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(
    const std::vector<std::string>& pairs) {
  std::vector<std::pair<std::string, std::string>> tags;
  for (const std::string& p : pairs) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("tag \"", p, "\" is not KEY=VALUE"));
    }
    std::string key = p.substr(0, eq);
    std::string value = p.substr(eq + 1);
    auto it = std::find_if(tags.begin(), tags.end(), [&](const auto& kv) { return kv.first == key; });
    if (it != tags.end()) {
      return absl::InvalidArgumentError(absl::StrCat("tag \"", key, "\" given twice"));
    }
    tags.emplace_back(std::move(key), std::move(value));
  }
  std::sort(tags.begin(), tags.end());
  return tags;
}

}  // namespace v1
}  // namespace tokenbook
