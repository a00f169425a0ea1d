// The model router (see lib/tokenbook/insights_router.h).
#include "tokenbook/insights_router.h"

#include <algorithm>
#include <cstdint>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tokenbook/budgets.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

namespace {

bool IsWordByte(unsigned char c) { return absl::ascii_isalnum(c) || c >= 0x80 || c == '_'; }

// The reference request models are compared on.
PriceRequest ReferenceRequest() {
  PriceRequest req;
  req.tokens[TokenKind::kInput] = Tokens(1'000'000);
  req.tokens[TokenKind::kOutput] = Tokens(1'000'000);
  return req;
}

}  // namespace

bool ContainsWord(absl::string_view text, absl::string_view keyword) {
  if (keyword.empty() || keyword.size() > text.size()) return false;
  for (size_t i = 0; i + keyword.size() <= text.size(); ++i) {
    if (!absl::EqualsIgnoreCase(text.substr(i, keyword.size()), keyword)) continue;
    const bool starts = i == 0 || !IsWordByte(static_cast<unsigned char>(text[i - 1])) ||
                        !IsWordByte(static_cast<unsigned char>(keyword.front()));
    const size_t after = i + keyword.size();
    const bool ends = after == text.size() || !IsWordByte(static_cast<unsigned char>(text[after])) ||
                      !IsWordByte(static_cast<unsigned char>(keyword.back()));
    if (starts && ends) return true;
  }
  return false;
}

struct Router::Impl {
  RouterConfig config;
  std::string cheap, mid, top, fallback;  // resolved ids
  std::vector<std::string> rule_models;   // resolved id per rule
  std::vector<std::optional<std::regex>> patterns;
  absl::flat_hash_map<std::string, Micros> reference_cost;  // id -> cost of the reference request
};

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

const RouterConfig& Router::config() const { return impl_->config; }

absl::StatusOr<Router> Router::Create(const RouterConfig& config, const RateTable& rates) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto resolve = [&](const ModelRef& ref, absl::string_view what) -> absl::StatusOr<std::string> {
    const Resolution r = rates.Resolve(ref.model);
    if (r.model == nullptr) {
      const std::string where = ref.where.empty() ? std::string(what) : ref.where;
      return absl::NotFoundError(absl::StrCat(
          where, ": unknown model \"", ref.model,
          "\" (not in the rate table; closest known: ", absl::StrJoin(rates.Suggest(ref.model, 3), ", "), ")"));
    }
    absl::StatusOr<Micros> cost = CostOf(*r.model, ReferenceRequest());
    if (!cost.ok()) {
      return absl::Status(cost.status().code(), absl::StrCat(ref.where.empty() ? std::string(what) : ref.where, ": ",
                                                             cost.status().message()));
    }
    impl->reference_cost.try_emplace(r.model->id, *cost);
    return r.model->id;
  };
  TKB_ASSIGN_OR_RETURN(impl->cheap, resolve(config.cheap, "router tier cheap"));
  TKB_ASSIGN_OR_RETURN(impl->mid, resolve(config.mid, "router tier mid"));
  TKB_ASSIGN_OR_RETURN(impl->top, resolve(config.top, "router tier top"));
  impl->fallback = impl->top;
  if (!config.default_model.model.empty()) {
    TKB_ASSIGN_OR_RETURN(impl->fallback, resolve(config.default_model, "router default"));
  }
  for (const RouterRule& rule : config.rules) {
    std::string id;
    if (!rule.model.model.empty()) {
      TKB_ASSIGN_OR_RETURN(id, resolve(rule.model, rule.name));
    } else {
      id = rule.tier == "cheap" ? impl->cheap : rule.tier == "mid" ? impl->mid : impl->top;
    }
    impl->rule_models.push_back(std::move(id));
    if (rule.pattern.empty()) {
      impl->patterns.emplace_back();
      continue;
    }
    try {
      impl->patterns.emplace_back(std::regex(rule.pattern, std::regex::ECMAScript | std::regex::icase));
    } catch (const std::regex_error& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(rule.where, ": ", rule.name, ": pattern is not a valid regular expression: ", e.what()));
    }
  }
  return Router(std::move(impl));
}

absl::string_view Router::TierOf(absl::string_view model_id) const {
  if (model_id == impl_->cheap) return "cheap";
  if (model_id == impl_->mid) return "mid";
  if (model_id == impl_->top) return "top";
  return "";
}

RouteDecision Router::Route(const RouteRequest& request, const std::vector<RouteBudget>& budgets) const {
  const RouterConfig& c = impl_->config;
  RouteDecision d;
  d.chosen_by = "default";
  d.chosen_model = impl_->fallback;
  for (size_t i = 0; i < c.rules.size() && d.rule < 0; ++i) {
    const RouterRule& rule = c.rules[i];
    std::string matched;
    if (!request.task_type.empty()) {
      for (const std::string& t : rule.task_types) {
        if (absl::EqualsIgnoreCase(t, request.task_type)) {
          matched = absl::StrCat("task_type \"", t, "\"");
          break;
        }
      }
    }
    if (matched.empty()) {
      for (const std::string& k : rule.keywords) {
        if (ContainsWord(request.text, k)) {
          matched = absl::StrCat("keyword \"", k, "\"");
          break;
        }
      }
    }
    if (matched.empty() && impl_->patterns[i].has_value() && std::regex_search(request.text, *impl_->patterns[i])) {
      matched = absl::StrCat("pattern \"", rule.pattern, "\"");
    }
    if (matched.empty()) continue;
    d.rule = static_cast<int>(i);
    d.rule_name = rule.name;
    d.matched = std::move(matched);
    d.chosen_by = "rule";
    d.chosen_model = impl_->rule_models[i];
    d.downgrade_allowed = rule.downgrade;
  }
  d.model = d.chosen_model;

  const BudgetTarget target{request.session, request.project, request.feature, request.agent};
  bool any = false;
  for (const RouteBudget& rb : budgets) {
    if (rb.budget == nullptr || !rb.budget->Applies(target)) continue;
    if (!c.budgets.empty() && std::find(c.budgets.begin(), c.budgets.end(), rb.budget->name) == c.budgets.end()) {
      continue;
    }
    int64_t used;
    if (__builtin_add_overflow(rb.spent.value(), rb.reserved.value(), &used)) used = INT64_MAX;
    const int64_t bp = PercentBasisPoints(Micros(used), rb.budget->limit);
    if (!any || bp > d.budget_percent_bp) {
      d.budget = rb.budget->name;
      d.budget_percent_bp = bp;
      any = true;
    }
  }
  if (any) {
    if (d.budget_percent_bp >= c.cheap_above_bp) {
      d.wanted_tier = "cheap";
    } else if (d.budget_percent_bp >= c.mid_above_bp) {
      d.wanted_tier = "mid";
    }
  }
  if (!d.wanted_tier.empty() && d.downgrade_allowed) {
    const std::string& want = d.wanted_tier == "cheap" ? impl_->cheap : impl_->mid;
    const Micros want_cost = impl_->reference_cost.at(want);
    const Micros have_cost = impl_->reference_cost.at(d.chosen_model);
    if (want_cost < have_cost) {
      d.model = want;
      d.downgraded = true;
    }
  }
  d.tier = std::string(TierOf(d.model));
  return d;
}

absl::StatusOr<RouteDecision> RouteWithBook(Book& book, const RouteRequest& request, absl::Time now) {
  TKB_ASSIGN_OR_RETURN(Router router, Router::Create(book.config().router, book.rates()));
  return RouteWithBook(book, router, request, now);
}

absl::StatusOr<RouteDecision> RouteWithBook(Book& book, const Router& router, const RouteRequest& request,
                                            absl::Time now) {
  TKB_ASSIGN_OR_RETURN(BudgetReport report, book.budgets().Status(now, request.session));
  std::vector<RouteBudget> budgets;
  for (size_t i = 0; i < report.statuses.size(); ++i) {
    const BudgetStatus& s = report.statuses[i];
    // Session budgets are reported for the latest session when the request
    // names none; they describe another session then.
    if (s.budget.period == BudgetPeriod::kSession && request.session.empty()) continue;
    budgets.push_back(RouteBudget{&s.budget, s.spent, i < report.reserved.size() ? report.reserved[i] : Micros(0)});
  }
  return router.Route(request, budgets);
}

}  // namespace v1
}  // namespace tokenbook
