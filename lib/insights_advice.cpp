// Advice: suggestions with their saving, computed by re-pricing the ledger's
// entries (see lib/tokenbook/insights.h for each rule).
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "tokenbook/insights.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

absl::string_view SuggestionKindName(SuggestionKind k) {
  switch (k) {
    case SuggestionKind::kCheaperModel:
      return "cheaper_model";
    case SuggestionKind::kCaching:
      return "caching";
    case SuggestionKind::kResearchOverShipping:
      return "research_over_shipping";
    case SuggestionKind::kBudgetTooLarge:
      return "budget_too_large";
    case SuggestionKind::kBatch:
      return "batch";
  }
  return "?";
}

namespace {

enum TaskDim : uint8_t { kNoTask = 0, kTaskType = 1, kCategory = 2 };

absl::string_view TaskDimName(uint8_t d) { return d == kTaskType ? "task_type" : "category"; }

bool InList(const std::vector<std::string>& list, absl::string_view v) {
  for (const std::string& s : list) {
    if (absl::EqualsIgnoreCase(s, v)) return true;
  }
  return false;
}

// Strings seen in the ledger, numbered; 0 is always "".
class Interner {
 public:
  Interner() { Intern(""); }
  uint32_t Intern(absl::string_view s) {
    auto [it, inserted] = index_.try_emplace(s, static_cast<uint32_t>(strings_.size()));
    if (inserted) strings_.emplace_back(s);
    return it->second;
  }
  const std::string& operator[](uint32_t i) const { return strings_[i]; }

 private:
  absl::flat_hash_map<std::string, uint32_t> index_;
  std::vector<std::string> strings_;
};

absl::Status Overflow() { return absl::OutOfRangeError("advice: a sum overflows 64 bits"); }

// The ceiling of `m` × 5/4 in whole dollars, at least $1.
Micros QuarterMoreInDollars(Micros m) {
  __int128 want = static_cast<__int128>(m.value() < 0 ? 0 : m.value()) * 5;
  want = (want + 3) / 4;
  want = (want + kMicrosPerDollar - 1) / kMicrosPerDollar * kMicrosPerDollar;
  if (want < kMicrosPerDollar) want = kMicrosPerDollar;
  return Micros(static_cast<int64_t>(want));
}

}  // namespace

struct Adviser::Impl {
  // What the suggestions need of a priced entry in the period.
  struct Rec {
    absl::Time t;
    TokenCounts tokens;
    int64_t requests;
    Micros cost;
    uint32_t model, provider, tier, session, task, feature, phase;
    uint8_t task_dim;
    bool scheduled;
  };
  struct BudgetLookback {
    const Budget* budget;
    std::vector<BudgetWindow> windows;  // most recent first
    std::vector<Micros> spent;
  };

  const RateTable* rates;
  const Config* config;
  TimeRange range;
  absl::Time now;
  AdviceOptions options;
  Interner strings;
  std::vector<Rec> recs;
  Totals total;
  bool total_overflow = false;
  absl::Time first_entry = absl::InfiniteFuture();
  std::vector<BudgetLookback> lookbacks;

  PriceRequest RequestOf(const Rec& r, absl::string_view tier) const {
    PriceRequest req;
    req.tokens = r.tokens;
    req.requests = r.requests;
    req.service_tier = tier;
    req.at = r.t;
    return req;
  }

  absl::Status CheaperModel(Advice* out) const;
  absl::Status Caching(Advice* out) const;
  absl::Status ResearchOverShipping(Advice* out) const;
  absl::Status BudgetTooLarge(Advice* out) const;
  absl::Status Batch(Advice* out) const;
};

Adviser::Adviser(const RateTable& rates, const Config& config, TimeRange range, absl::Time now, AdviceOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->rates = &rates;
  impl_->config = &config;
  impl_->range = std::move(range);
  impl_->now = now;
  impl_->options = std::move(options);
  const BudgetCalendar cal = config.calendar();
  for (const Budget& b : config.budgets) {
    int n = 0;
    switch (b.period) {
      case BudgetPeriod::kDaily:
        n = impl_->options.daily_lookback;
        break;
      case BudgetPeriod::kWeekly:
        n = impl_->options.weekly_lookback;
        break;
      case BudgetPeriod::kMonthly:
        n = impl_->options.monthly_lookback;
        break;
      case BudgetPeriod::kSession:
        n = 0;
        break;
    }
    if (n <= 0) continue;
    Impl::BudgetLookback lb{&b, {}, std::vector<Micros>(static_cast<size_t>(n))};
    absl::Time before = WindowFor(b.period, now, cal).start;
    for (int i = 0; i < n; ++i) {
      lb.windows.push_back(WindowFor(b.period, before - absl::Nanoseconds(1), cal));
      before = lb.windows.back().start;
    }
    impl_->lookbacks.push_back(std::move(lb));
  }
}
Adviser::~Adviser() = default;
Adviser::Adviser(Adviser&&) noexcept = default;
Adviser& Adviser::operator=(Adviser&&) noexcept = default;

void Adviser::Add(const Entry& e) {
  Impl& m = *impl_;
  if (e.timestamp < m.first_entry) m.first_entry = e.timestamp;
  const BudgetTarget target = TargetOf(e);
  for (Impl::BudgetLookback& lb : m.lookbacks) {
    if (!lb.budget->Applies(target)) continue;
    for (size_t i = 0; i < lb.windows.size(); ++i) {
      if (lb.windows[i].Contains(e.timestamp)) {
        if (!CheckedAdd(&lb.spent[i], e.cost)) m.total_overflow = true;
        break;
      }
    }
  }
  if (!m.range.Contains(e.timestamp)) return;
  if (!m.total.Add(e)) m.total_overflow = true;
  if (!e.priced()) return;
  Impl::Rec r;
  r.t = e.timestamp;
  r.tokens = e.tokens;
  r.requests = e.requests;
  r.cost = e.cost;
  r.model = m.strings.Intern(e.model);
  r.provider = m.strings.Intern(e.provider);
  r.tier = m.strings.Intern(e.service_tier);
  r.session = m.strings.Intern(e.session);
  if (!e.task_type.empty()) {
    r.task_dim = kTaskType;
    r.task = m.strings.Intern(e.task_type);
  } else if (!e.category.empty()) {
    r.task_dim = kCategory;
    r.task = m.strings.Intern(e.category);
  } else {
    r.task_dim = kNoTask;
    r.task = 0;
  }
  r.feature = m.strings.Intern(e.feature);
  r.phase = m.strings.Intern(!e.category.empty() ? e.category : e.task_type);
  r.scheduled = e.action_type == "scheduled";
  m.recs.push_back(r);
}

// cheaper_model -------------------------------------------------------------
absl::Status Adviser::Impl::CheaperModel(Advice* out) const {
  // (task dim, task, model) -> entries
  std::map<std::tuple<uint8_t, uint32_t, uint32_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < recs.size(); ++i) {
    if (recs[i].task_dim == kNoTask) continue;
    groups[{recs[i].task_dim, recs[i].task, recs[i].model}].push_back(i);
  }
  struct Candidate {
    const ModelRates* model;
    std::string evidence;
  };
  const RouterConfig& router = config->router;
  for (const auto& [key, members] : groups) {
    const auto& [dim, task, model] = key;
    const std::string& task_name = strings[task];
    std::vector<Candidate> candidates;
    if (dim == kTaskType) {
      for (const RouterRule& rule : router.rules) {
        if (!InList(rule.task_types, task_name)) continue;
        const std::string& name = !rule.model.model.empty() ? rule.model.model
                                  : rule.tier == "cheap"    ? router.cheap.model
                                  : rule.tier == "mid"      ? router.mid.model
                                                            : router.top.model;
        const Resolution res = rates->Resolve(name);
        if (res.model != nullptr) {
          candidates.push_back(Candidate{
              res.model, absl::StrCat("[router] rule \"", rule.name, "\" sends task_type \"", task_name, "\" to it")});
        }
        break;  // the first matching rule is the one the router applies
      }
    }
    for (const auto& [other_key, other] : groups) {
      const auto& [odim, otask, omodel] = other_key;
      if (odim != dim || otask != task || omodel == model) continue;
      if (static_cast<int64_t>(other.size()) < options.min_evidence_entries) continue;
      if (recs[other.front()].provider != recs[members.front()].provider) continue;
      const Resolution res = rates->Resolve(strings[omodel]);
      if (res.model == nullptr) continue;
      candidates.push_back(Candidate{res.model, absl::StrCat("it ran ", other.size(), " entries of ", TaskDimName(dim),
                                                             " \"", task_name, "\" in the period")});
    }
    std::optional<Suggestion> best;
    int64_t best_failures = 0;
    for (const Candidate& c : candidates) {
      if (c.model->id == strings[model]) continue;
      Micros current, alternative;
      int64_t n = 0, failures = 0;
      for (size_t i : members) {
        const Rec& r = recs[i];
        absl::StatusOr<Micros> cost = CostOf(*c.model, RequestOf(r, strings[r.tier]));
        if (!cost.ok()) {
          ++failures;
          continue;
        }
        if (!CheckedAdd(&alternative, *cost) || !CheckedAdd(&current, r.cost)) return Overflow();
        ++n;
      }
      const Micros saving(current.value() - alternative.value());
      if (n == 0 || saving.value() <= 0) continue;
      if (best.has_value() && (saving < best->saving || (saving == best->saving && c.model->id >= best->to_model))) {
        continue;
      }
      Suggestion s;
      s.kind = SuggestionKind::kCheaperModel;
      s.current = current;
      s.alternative = alternative;
      s.saving = saving;
      s.entries = n;
      s.model = strings[model];
      s.to_model = c.model->id;
      s.dimension = std::string(TaskDimName(dim));
      s.value = task_name;
      s.evidence = c.evidence;
      s.title = absl::StrCat(s.dimension, " \"", s.value, "\" on ", s.model, ": ", n, n == 1 ? " entry" : " entries",
                             " cost ", FormatMoney(current), "; on ", s.to_model, " (", s.evidence,
                             ") they would cost ", FormatMoney(alternative));
      best = std::move(s);
      best_failures = failures;
    }
    if (best.has_value() && best->saving >= options.min_saving) {
      out->suggestions.push_back(*std::move(best));
      out->reprice_failures += best_failures;
    }
  }
  return absl::OkStatus();
}

// caching -------------------------------------------------------------------
absl::Status Adviser::Impl::Caching(Advice* out) const {
  std::map<std::pair<uint32_t, uint32_t>, std::vector<size_t>> groups;  // (model, session) -> entries
  for (size_t i = 0; i < recs.size(); ++i) {
    if (recs[i].session != 0) groups[{recs[i].model, recs[i].session}].push_back(i);
  }
  struct PerModel {
    Suggestion s;
    int64_t failures = 0;
    int64_t cache_read = 0, prompt = 0;
  };
  std::map<uint32_t, PerModel> by_model;
  for (auto& [key, members] : groups) {
    const auto& [model, session] = key;
    if (static_cast<int64_t>(members.size()) < options.caching_min_requests) continue;
    __int128 cache_read = 0, prompt = 0;
    int64_t prefix = INT64_MAX;
    for (size_t i : members) {
      cache_read += recs[i].tokens.cache_read().value();
      prompt += recs[i].tokens.input().value() + recs[i].tokens.cache_read().value();
      prefix = std::min(prefix, recs[i].tokens.input().value());
    }
    if (prompt == 0 ||
        cache_read * kBasisPointsPerWhole >= static_cast<__int128>(options.caching_max_hit_bp) * prompt) {
      continue;
    }
    if (prefix < options.caching_min_prefix_tokens) continue;
    const Resolution res = rates->Resolve(strings[model]);
    if (res.model == nullptr) continue;
    std::vector<size_t> order = members;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return recs[a].t < recs[b].t; });
    Micros current, saving;
    int64_t n = 0, failures = 0;
    absl::Time previous = absl::InfinitePast();
    for (size_t i : order) {
      const Rec& r = recs[i];
      const bool write = previous == absl::InfinitePast() || r.t - previous > options.cache_ttl;
      previous = r.t;
      PriceRequest as_logged = RequestOf(r, strings[r.tier]);
      PriceRequest cached = as_logged;
      cached.tokens[TokenKind::kInput] = Tokens(r.tokens.input().value() - prefix);
      TokenKind to = write ? TokenKind::kCacheWrite5m : TokenKind::kCacheRead;
      cached.tokens[to] = Tokens(cached.tokens[to].value() + prefix);
      absl::StatusOr<Micros> a = CostOf(*res.model, as_logged);
      absl::StatusOr<Micros> b = CostOf(*res.model, cached);
      if (!a.ok() || !b.ok()) {
        ++failures;
        continue;
      }
      if (!CheckedAdd(&saving, Micros(a->value() - b->value())) || !CheckedAdd(&current, r.cost)) return Overflow();
      ++n;
    }
    if (n == 0 || saving.value() <= 0) continue;
    PerModel& pm = by_model[model];
    pm.s.kind = SuggestionKind::kCaching;
    pm.s.model = strings[model];
    pm.s.sessions += 1;
    pm.s.entries += n;
    pm.s.prefix_tokens += prefix * n;
    if (!CheckedAdd(&pm.s.current, current) || !CheckedAdd(&pm.s.saving, saving)) return Overflow();
    pm.cache_read += static_cast<int64_t>(cache_read);
    pm.prompt += static_cast<int64_t>(prompt);
    pm.failures += failures;
  }
  for (auto& [model, pm] : by_model) {
    Suggestion& s = pm.s;
    if (s.saving < options.min_saving) continue;
    s.alternative = Micros(s.current.value() - s.saving.value());
    s.cache_hit = Ratio{pm.cache_read, pm.prompt};
    s.title = absl::StrCat(s.model, ": ", s.sessions, s.sessions == 1 ? " session sends" : " sessions send",
                           " the same input uncached (", s.cache_hit.Percent(1), "% cache reads over ", s.entries,
                           " entries); caching the repeated prefix would have saved ", FormatMoney(s.saving));
    out->reprice_failures += pm.failures;
    out->suggestions.push_back(std::move(s));
  }
  return absl::OkStatus();
}

// research_over_shipping ------------------------------------------------------
absl::Status Adviser::Impl::ResearchOverShipping(Advice* out) const {
  struct Phases {
    Micros research, shipping;
    int64_t research_entries = 0;
  };
  std::map<std::string, Phases> by_feature;
  for (const Rec& r : recs) {
    const std::string& phase = strings[r.phase];
    if (phase.empty()) continue;
    const bool research = InList(options.research_phases, phase);
    const bool shipping = !research && InList(options.shipping_phases, phase);
    if (!research && !shipping) continue;
    Phases& p = by_feature[strings[r.feature]];
    if (research) {
      if (!CheckedAdd(&p.research, r.cost)) return Overflow();
      ++p.research_entries;
    } else {
      if (!CheckedAdd(&p.shipping, r.cost)) return Overflow();
    }
  }
  for (const auto& [feature, p] : by_feature) {
    if (p.research <= p.shipping) continue;
    Suggestion s;
    s.kind = SuggestionKind::kResearchOverShipping;
    s.dimension = "feature";
    s.value = feature;
    s.current = p.research;
    s.alternative = p.shipping;
    s.saving = Micros(p.research.value() - p.shipping.value());
    s.entries = p.research_entries;
    if (s.saving < options.min_saving) continue;
    s.title = absl::StrCat(
        feature.empty() ? std::string("work without a feature") : absl::StrCat("feature \"", feature, "\""),
        ": research cost ", FormatMoney(p.research), " and shipping ", FormatMoney(p.shipping),
        "; holding research to the shipping spend would have saved ", FormatMoney(s.saving));
    out->suggestions.push_back(std::move(s));
  }
  return absl::OkStatus();
}

// budget_too_large ------------------------------------------------------------
absl::Status Adviser::Impl::BudgetTooLarge(Advice* out) const {
  const absl::TimeZone& tz = config->time_zone;
  for (const BudgetLookback& lb : lookbacks) {
    if (lb.windows.empty()) continue;
    const BudgetWindow& earliest = lb.windows.back();
    // The ledger must have been in use since the earliest period's first day.
    if (!(first_entry < absl::FromCivil(absl::ToCivilDay(earliest.start, tz) + 1, tz))) continue;
    Micros largest;
    bool under_half = true;
    for (const Micros& spent : lb.spent) {
      if (static_cast<__int128>(spent.value()) * 2 >= lb.budget->limit.value()) under_half = false;
      largest = std::max(largest, spent);
    }
    if (!under_half) continue;
    const Micros suggested = QuarterMoreInDollars(largest);
    if (suggested >= lb.budget->limit) continue;
    Suggestion s;
    s.kind = SuggestionKind::kBudgetTooLarge;
    s.budget = lb.budget->name;
    s.limit = lb.budget->limit;
    s.suggested_limit = suggested;
    s.largest_period_spend = largest;
    s.periods = static_cast<int64_t>(lb.windows.size());
    s.title = absl::StrCat("budget \"", s.budget, "\" stayed under half used in each of the last ", s.periods, " ",
                           BudgetPeriodName(lb.budget->period), " periods (at most ", FormatMoney(largest), " of ",
                           FormatMoney(s.limit), "); a limit of ", FormatMoney(suggested),
                           " would catch a runaway sooner (no money saved directly)");
    out->suggestions.push_back(std::move(s));
  }
  return absl::OkStatus();
}

// batch -------------------------------------------------------------------------
absl::Status Adviser::Impl::Batch(Advice* out) const {
  struct PerModel {
    Suggestion s;
    int64_t failures = 0;
  };
  std::map<uint32_t, PerModel> by_model;
  for (const Rec& r : recs) {
    if (!r.scheduled || !IsStandardTier(strings[r.tier])) continue;
    const Resolution res = rates->Resolve(strings[r.model]);
    if (res.model == nullptr || res.model->PricingAt(r.t).FindServiceTier(options.batch_tier) == nullptr) continue;
    PerModel& pm = by_model[r.model];
    absl::StatusOr<Micros> cost = CostOf(*res.model, RequestOf(r, options.batch_tier));
    if (!cost.ok()) {
      ++pm.failures;
      continue;
    }
    if (!CheckedAdd(&pm.s.alternative, *cost) || !CheckedAdd(&pm.s.current, r.cost)) return Overflow();
    ++pm.s.entries;
  }
  for (auto& [model, pm] : by_model) {
    Suggestion& s = pm.s;
    s.kind = SuggestionKind::kBatch;
    s.model = strings[model];
    s.saving = Micros(s.current.value() - s.alternative.value());
    if (s.entries == 0 || s.saving < options.min_saving) continue;
    s.title = absl::StrCat(s.model, ": ", s.entries, s.entries == 1 ? " scheduled entry" : " scheduled entries",
                           " at standard rates cost ", FormatMoney(s.current), "; at the ", options.batch_tier,
                           " tier they would cost ", FormatMoney(s.alternative));
    out->reprice_failures += pm.failures;
    out->suggestions.push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::StatusOr<Advice> Adviser::Finish() const {
  const Impl& m = *impl_;
  if (m.total_overflow) return absl::OutOfRangeError("advice: a sum overflows 64 bits");
  Advice out;
  out.range = m.range;
  out.total = m.total;
  TKB_RETURN_IF_ERROR(m.CheaperModel(&out));
  TKB_RETURN_IF_ERROR(m.Caching(&out));
  TKB_RETURN_IF_ERROR(m.ResearchOverShipping(&out));
  TKB_RETURN_IF_ERROR(m.BudgetTooLarge(&out));
  TKB_RETURN_IF_ERROR(m.Batch(&out));
  std::stable_sort(out.suggestions.begin(), out.suggestions.end(), [](const Suggestion& a, const Suggestion& b) {
    if (a.saving != b.saving) return a.saving > b.saving;
    if (a.kind != b.kind) return a.kind < b.kind;
    return std::tie(a.dimension, a.value, a.model, a.budget) < std::tie(b.dimension, b.value, b.model, b.budget);
  });
  for (const Suggestion& s : out.suggestions) {
    if (!CheckedAdd(&out.total_saving, s.saving)) return absl::OutOfRangeError("advice: savings overflow 64 bits");
  }
  return out;
}

}  // namespace v1
}  // namespace tokenbook
