// Reading config.toml (see lib/tokenbook/config.h and docs/config.md).
#include "tokenbook/config.h"

#include <cerrno>
#include <cstdio>
#include <regex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "tokenbook/money.h"
#include "tokenbook/period.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/status.h"
#include "toml_support.h"

namespace tokenbook {
inline namespace v1 {
namespace {

namespace ts = toml_support;

std::string Quoted(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string Join(absl::string_view context, absl::string_view key) {
  if (context.empty()) return std::string(key);
  return absl::StrCat(context, ".", key);
}

// Overrides a budget may carry; absent fields take the [budgets] defaults.
struct BudgetOverrides {
  std::optional<int64_t> warning_bp;
  std::optional<int64_t> critical_bp;
  std::optional<BudgetAction> action;
};

class ConfigReader {
 public:
  ConfigReader(absl::string_view source, absl::string_view base_dir) : source_(source), base_dir_(base_dir) {}

  absl::StatusOr<Config> Read(absl::string_view text) {
    TKB_ASSIGN_OR_RETURN(toml::table doc, ts::ParseDocument(text, source_));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(
        doc, {"time_zone", "week_start", "durability", "backend", "stage", "budgets", "admission", "rates", "router"}, source_,
        ""));
    Config config;
    if (const toml::node* n = doc.get("time_zone")) {
      TKB_ASSIGN_OR_RETURN(std::string name, String(*n, "time_zone"));
      absl::TimeZone tz;
      if (name.empty() || !absl::LoadTimeZone(name, &tz)) {
        return Error(*n, "time_zone",
                     absl::StrCat("unknown time zone ", Quoted(name),
                                  " (expected an IANA name such as \"Europe/Berlin\" or \"UTC\")"));
      }
      config.time_zone_name = name;
      config.time_zone = tz;
    }
    if (const toml::node* n = doc.get("week_start")) {
      TKB_ASSIGN_OR_RETURN(std::string name, String(*n, "week_start"));
      absl::StatusOr<absl::Weekday> day = ParseWeekday(name);
      if (!day.ok()) return Error(*n, "week_start", day.status().message());
      config.week_start = *day;
    }
    if (const toml::node* n = doc.get("durability")) {
      TKB_ASSIGN_OR_RETURN(std::string name, String(*n, "durability"));
      if (name == "flush") {
        config.durability = Durability::kFlush;
      } else if (name == "fsync") {
        config.durability = Durability::kFsync;
      } else {
        return Error(*n, "durability", absl::StrCat(Quoted(name), " is not one of \"flush\", \"fsync\""));
      }
    }
    if (const toml::node* n = doc.get("backend")) {
      TKB_ASSIGN_OR_RETURN(std::string url, String(*n, "backend"));
      if (!IsLedgerUrl(url)) {
        return Error(*n, "backend",
                     absl::StrCat(Quoted(url), " is not a database URL (expected \"sqlite:///path/ledger.db\")"));
      }
      absl::StatusOr<LedgerLocation> where = ResolveLedgerLocation(url, base_dir_);
      if (!where.ok()) return Error(*n, "backend", where.status().message());
      config.backend = where->backend;
    }
    if (const toml::node* n = doc.get("stage")) {
      TKB_ASSIGN_OR_RETURN(std::string name, String(*n, "stage"));
      config.stage = ParseStage(name);
      if (!config.stage.has_value()) {
        return Error(*n, "stage",
                     absl::StrCat(Quoted(name), " is not one of \"idea\", \"mvp\", \"growth\", \"scale\""));
      }
    }
    if (const toml::node* n = doc.get("budgets")) TKB_RETURN_IF_ERROR(ReadBudgets(*n, &config));
    if (const toml::node* n = doc.get("admission")) TKB_RETURN_IF_ERROR(ReadAdmission(*n, &config));
    if (const toml::node* n = doc.get("rates")) TKB_RETURN_IF_ERROR(ReadRates(*n, &config));
    // After [budgets]: the router names budgets.
    if (const toml::node* n = doc.get("router")) TKB_RETURN_IF_ERROR(ReadRouter(*n, &config));
    return config;
  }

 private:
  absl::Status Error(const toml::node& node, absl::string_view context, absl::string_view message) const {
    return ts::ErrorAt(source_, node.source(), context, message);
  }

  absl::StatusOr<const toml::table*> Table(const toml::node& node, absl::string_view context) const {
    const toml::table* t = node.as_table();
    if (t == nullptr) return Error(node, context, absl::StrCat("expected a table, not ", ts::TypeName(node)));
    return t;
  }

  absl::StatusOr<std::string> String(const toml::node& node, absl::string_view context) const {
    const auto* s = node.as_string();
    if (s == nullptr) return Error(node, context, absl::StrCat("expected a string, not ", ts::TypeName(node)));
    return s->get();
  }

  // A positive amount of USD, exact to the micro-dollar: "100.00", 100, 12.5.
  absl::StatusOr<Micros> Money(const toml::node& node, absl::string_view context) const {
    absl::StatusOr<std::string> text = ts::DecimalText(node, "an amount in USD (\"100.00\")");
    if (!text.ok()) return Error(node, context, text.status().message());
    absl::StatusOr<Decimal> d = ParseDecimal(*text);
    if (!d.ok()) return Error(node, context, d.status().message());
    if (d->negative || d->is_zero()) {
      return Error(node, context, absl::StrCat("a budget must be a positive amount, not ", *text));
    }
    absl::StatusOr<Rounded> micros = ScaleHalfEven(*d, 6);
    if (!micros.ok()) return Error(node, context, absl::StrCat(*text, " is too large"));
    if (micros->inexact) {
      return Error(node, context, absl::StrCat(*text, " is finer than a micro-dollar (at most 6 decimals)"));
    }
    return Micros(micros->value);
  }

  // A percentage with at most two decimals, 0 < p <= 100, as basis points.
  absl::StatusOr<int64_t> Percent(const toml::node& node, absl::string_view context) const {
    absl::StatusOr<std::string> text = ts::DecimalText(node, "a percentage (80)");
    if (!text.ok()) return Error(node, context, text.status().message());
    absl::StatusOr<Decimal> d = ParseDecimal(*text);
    if (!d.ok()) return Error(node, context, d.status().message());
    absl::StatusOr<Rounded> bp = ScaleHalfEven(*d, 2);
    if (!bp.ok() || bp->inexact || bp->value <= 0 || bp->value > kBasisPointsPerWhole) {
      return Error(node, context,
                   absl::StrCat(*text, " is not a percentage above 0 and at most 100, with at most 2 decimals"));
    }
    return bp->value;
  }

  absl::StatusOr<BudgetAction> Action(const toml::node& node, absl::string_view context) const {
    TKB_ASSIGN_OR_RETURN(std::string name, String(node, context));
    std::optional<BudgetAction> a = ParseBudgetAction(name);
    if (!a.has_value()) {
      return Error(node, context, absl::StrCat(Quoted(name), " is not one of \"warn\", \"pause\", \"block\""));
    }
    return *a;
  }

  absl::Status ReadOverrides(const toml::table& t, absl::string_view context, BudgetOverrides* out) const {
    if (const toml::node* n = t.get("warning_percent")) {
      TKB_ASSIGN_OR_RETURN(out->warning_bp, Percent(*n, Join(context, "warning_percent")));
    }
    if (const toml::node* n = t.get("critical_percent")) {
      TKB_ASSIGN_OR_RETURN(out->critical_bp, Percent(*n, Join(context, "critical_percent")));
    }
    if (const toml::node* n = t.get("action")) {
      TKB_ASSIGN_OR_RETURN(out->action, Action(*n, Join(context, "action")));
    }
    return absl::OkStatus();
  }

  absl::Status CheckThresholds(const Thresholds& t, const toml::node& node, absl::string_view context) const {
    if (t.warning_bp > t.critical_bp) {
      return Error(node, context,
                   absl::StrCat("the warning threshold (", FormatBp(t.warning_bp),
                                "%) is above the critical threshold (", FormatBp(t.critical_bp), "%)"));
    }
    return absl::OkStatus();
  }

  static std::string FormatBp(int64_t bp) {
    if (bp % 100 == 0) return absl::StrCat(bp / 100);
    return absl::StrCat(bp / 100, ".", bp % 100 < 10 ? "0" : "", bp % 100);
  }

  Budget Resolve(const Config& config, BudgetPeriod period, BudgetScope scope, Micros limit,
                 const BudgetOverrides& o) const {
    Budget b;
    b.period = period;
    b.scope = std::move(scope);
    b.limit = limit;
    b.thresholds = config.thresholds;
    if (o.warning_bp.has_value()) b.thresholds.warning_bp = *o.warning_bp;
    if (o.critical_bp.has_value()) b.thresholds.critical_bp = *o.critical_bp;
    b.action = o.action.value_or(config.action);
    b.name = DefaultBudgetName(period, b.scope);
    return b;
  }

  absl::Status ReadBudgets(const toml::node& node, Config* config) {
    TKB_ASSIGN_OR_RETURN(const toml::table* t, Table(node, "budgets"));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(*t,
                                      {"daily", "weekly", "monthly", "session", "warning_percent",
                                       "critical_percent", "action", "scoped"},
                                      source_, "budgets"));
    BudgetOverrides defaults;
    TKB_RETURN_IF_ERROR(ReadOverrides(*t, "budgets", &defaults));
    if (defaults.warning_bp.has_value()) config->thresholds.warning_bp = *defaults.warning_bp;
    if (defaults.critical_bp.has_value()) config->thresholds.critical_bp = *defaults.critical_bp;
    if (defaults.action.has_value()) config->action = *defaults.action;
    {
      const toml::node* at = t->get("critical_percent");
      if (at == nullptr) at = t->get("warning_percent");
      if (at != nullptr) TKB_RETURN_IF_ERROR(CheckThresholds(config->thresholds, *at, "budgets"));
    }

    for (BudgetPeriod period :
         {BudgetPeriod::kDaily, BudgetPeriod::kWeekly, BudgetPeriod::kMonthly, BudgetPeriod::kSession}) {
      const absl::string_view key = BudgetPeriodName(period);
      const toml::node* n = t->get(ts::ToStd(key));
      if (n == nullptr) continue;
      const std::string context = Join("budgets", key);
      Micros limit;
      BudgetOverrides o;
      if (const toml::table* bt = n->as_table()) {
        TKB_RETURN_IF_ERROR(
            ts::CheckKeys(*bt, {"limit", "warning_percent", "critical_percent", "action"}, source_, context));
        const toml::node* l = bt->get("limit");
        if (l == nullptr) return Error(*n, context, "missing key \"limit\"");
        TKB_ASSIGN_OR_RETURN(limit, Money(*l, Join(context, "limit")));
        TKB_RETURN_IF_ERROR(ReadOverrides(*bt, context, &o));
      } else {
        TKB_ASSIGN_OR_RETURN(limit, Money(*n, context));
      }
      Budget b = Resolve(*config, period, BudgetScope{}, limit, o);
      TKB_RETURN_IF_ERROR(CheckThresholds(b.thresholds, *n, context));
      config->budgets.push_back(std::move(b));
    }

    if (const toml::node* n = t->get("scoped")) {
      const toml::array* list = n->as_array();
      if (list == nullptr) {
        return Error(*n, "budgets.scoped",
                     absl::StrCat("expected an array of tables ([[budgets.scoped]]), not ", ts::TypeName(*n)));
      }
      for (size_t i = 0; i < list->size(); ++i) {
        TKB_RETURN_IF_ERROR(ReadScoped(*list->get(i), absl::StrCat("budgets.scoped[", i, "]"), config));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadScoped(const toml::node& node, const std::string& context, Config* config) {
    TKB_ASSIGN_OR_RETURN(const toml::table* t, Table(node, context));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(*t,
                                      {"name", "project", "feature", "agent", "period", "limit",
                                       "warning_percent", "critical_percent", "action"},
                                      source_, context));
    BudgetScope scope;
    const toml::node* scope_node = nullptr;
    for (auto [kind, key] : {std::pair{ScopeKind::kProject, "project"}, std::pair{ScopeKind::kFeature, "feature"},
                             std::pair{ScopeKind::kAgent, "agent"}}) {
      const toml::node* v = t->get(key);
      if (v == nullptr) continue;
      if (scope_node != nullptr) {
        return Error(*v, context,
                     absl::StrCat("a scoped budget has exactly one of \"project\", \"feature\", \"agent\"; this "
                                  "one also has ",
                                  Quoted(ScopeKindName(scope.kind))));
      }
      scope_node = v;
      scope.kind = kind;
      TKB_ASSIGN_OR_RETURN(scope.value, String(*v, Join(context, key)));
      if (scope.value.empty()) return Error(*v, Join(context, key), "must not be empty");
    }
    if (scope_node == nullptr) {
      return Error(node, context, "a scoped budget needs one of \"project\", \"feature\", \"agent\"");
    }
    const toml::node* p = t->get("period");
    if (p == nullptr) return Error(node, context, "missing key \"period\" (daily, weekly, monthly or session)");
    TKB_ASSIGN_OR_RETURN(std::string period_name, String(*p, Join(context, "period")));
    std::optional<BudgetPeriod> period = ParseBudgetPeriod(period_name);
    if (!period.has_value()) {
      return Error(*p, Join(context, "period"),
                   absl::StrCat(Quoted(period_name),
                                " is not one of \"daily\", \"weekly\", \"monthly\", \"session\""));
    }
    const toml::node* l = t->get("limit");
    if (l == nullptr) return Error(node, context, "missing key \"limit\"");
    TKB_ASSIGN_OR_RETURN(Micros limit, Money(*l, Join(context, "limit")));
    BudgetOverrides o;
    TKB_RETURN_IF_ERROR(ReadOverrides(*t, context, &o));
    Budget b = Resolve(*config, *period, std::move(scope), limit, o);
    TKB_RETURN_IF_ERROR(CheckThresholds(b.thresholds, node, context));
    const toml::node* name_node = t->get("name");
    if (name_node != nullptr) {
      TKB_ASSIGN_OR_RETURN(b.name, String(*name_node, Join(context, "name")));
      if (b.name.empty()) return Error(*name_node, Join(context, "name"), "must not be empty");
    }
    for (const Budget& other : config->budgets) {
      if (other.name == b.name) {
        return Error(name_node != nullptr ? *name_node : node, context,
                     absl::StrCat("another budget is already named ", Quoted(b.name),
                                  name_node != nullptr ? "" : "; give this one a \"name\""));
      }
    }
    config->budgets.push_back(std::move(b));
    return absl::OkStatus();
  }

  absl::Status ReadAdmission(const toml::node& node, Config* config) {
    TKB_ASSIGN_OR_RETURN(const toml::table* t, Table(node, "admission"));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(*t, {"reservation_ttl_seconds"}, source_, "admission"));
    if (const toml::node* n = t->get("reservation_ttl_seconds")) {
      const auto* i = n->as_integer();
      if (i == nullptr || i->get() <= 0 || i->get() > 7 * 24 * 3600) {
        return Error(*n, "admission.reservation_ttl_seconds",
                     absl::StrCat("expected a whole number of seconds from 1 to 604800, not ",
                                  i == nullptr ? std::string(ts::TypeName(*n)) : absl::StrCat(i->get())));
      }
      config->reservation_ttl = absl::Seconds(i->get());
    }
    return absl::OkStatus();
  }

  absl::Status ReadRates(const toml::node& node, Config* config) {
    TKB_ASSIGN_OR_RETURN(const toml::table* t, Table(node, "rates"));
    if (t->get("models") != nullptr || t->get("as_of") != nullptr || t->get("schema") != nullptr) {
      const toml::node* n = t->get("models");
      if (n == nullptr) n = t->get("as_of");
      if (n == nullptr) n = t->get("schema");
      return Error(*n, "rates",
                   "inline rate tables are not supported in config.toml; put the table in its own file "
                   "(docs/rates-format.md) and list it in [rates] files");
    }
    TKB_RETURN_IF_ERROR(ts::CheckKeys(*t, {"files"}, source_, "rates"));
    if (const toml::node* n = t->get("files")) {
      const toml::array* files = n->as_array();
      if (files == nullptr) {
        return Error(*n, "rates.files", absl::StrCat("expected an array of paths, not ", ts::TypeName(*n)));
      }
      for (size_t i = 0; i < files->size(); ++i) {
        const toml::node& f = *files->get(i);
        const std::string context = absl::StrCat("rates.files[", i, "]");
        TKB_ASSIGN_OR_RETURN(std::string path, String(f, context));
        if (path.empty()) return Error(f, context, "an empty path");
        if (path[0] != '/' && !base_dir_.empty()) path = absl::StrCat(base_dir_, "/", path);
        config->rate_files.push_back(RateFileRef{std::move(path), absl::StrCat(ts::Where(source_, f.source()),
                                                                                ": ", context)});
      }
    }
    return absl::OkStatus();
  }

  // A model name: a non-empty string, remembered with its position.
  absl::StatusOr<ModelRef> Model(const toml::node& node, const std::string& context) const {
    TKB_ASSIGN_OR_RETURN(std::string name, String(node, context));
    if (name.empty()) return Error(node, context, "an empty model name");
    return ModelRef{std::move(name), absl::StrCat(ts::Where(source_, node.source()), ": ", context)};
  }

  // An array of non-empty strings.
  absl::StatusOr<std::vector<std::string>> Strings(const toml::node& node, const std::string& context) const {
    const toml::array* list = node.as_array();
    if (list == nullptr) {
      return Error(node, context, absl::StrCat("expected an array of strings, not ", ts::TypeName(node)));
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string item = absl::StrCat(context, "[", i, "]");
      TKB_ASSIGN_OR_RETURN(std::string s, String(*list->get(i), item));
      if (s.empty()) return Error(*list->get(i), item, "must not be empty");
      out.push_back(std::move(s));
    }
    return out;
  }

  absl::Status ReadRouter(const toml::node& node, Config* config) {
    TKB_ASSIGN_OR_RETURN(const toml::table* t, Table(node, "router"));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(
        *t, {"default", "tiers", "mid_above_percent", "cheap_above_percent", "budgets", "rules"}, source_, "router"));
    RouterConfig& r = config->router;
    if (const toml::node* n = t->get("default")) {
      TKB_ASSIGN_OR_RETURN(r.default_model, Model(*n, "router.default"));
    }
    if (const toml::node* n = t->get("tiers")) {
      TKB_ASSIGN_OR_RETURN(const toml::table* tiers, Table(*n, "router.tiers"));
      TKB_RETURN_IF_ERROR(ts::CheckKeys(*tiers, {"cheap", "mid", "top"}, source_, "router.tiers"));
      if (const toml::node* m = tiers->get("cheap")) {
        TKB_ASSIGN_OR_RETURN(r.cheap, Model(*m, "router.tiers.cheap"));
      }
      if (const toml::node* m = tiers->get("mid")) {
        TKB_ASSIGN_OR_RETURN(r.mid, Model(*m, "router.tiers.mid"));
      }
      if (const toml::node* m = tiers->get("top")) {
        TKB_ASSIGN_OR_RETURN(r.top, Model(*m, "router.tiers.top"));
      }
    }
    if (const toml::node* n = t->get("mid_above_percent")) {
      TKB_ASSIGN_OR_RETURN(r.mid_above_bp, Percent(*n, "router.mid_above_percent"));
    }
    if (const toml::node* n = t->get("cheap_above_percent")) {
      TKB_ASSIGN_OR_RETURN(r.cheap_above_bp, Percent(*n, "router.cheap_above_percent"));
    }
    if (r.mid_above_bp > r.cheap_above_bp) {
      const toml::node* at = t->get("cheap_above_percent");
      if (at == nullptr) at = t->get("mid_above_percent");
      return Error(*at, "router",
                   absl::StrCat("mid_above_percent (", FormatBp(r.mid_above_bp), "%) is above cheap_above_percent (",
                                FormatBp(r.cheap_above_bp), "%): the cheap tier must come at a higher percentage"));
    }
    if (const toml::node* n = t->get("budgets")) {
      TKB_ASSIGN_OR_RETURN(r.budgets, Strings(*n, "router.budgets"));
      const toml::array& list = *n->as_array();
      for (size_t i = 0; i < r.budgets.size(); ++i) {
        bool known = false;
        for (const Budget& b : config->budgets) known = known || b.name == r.budgets[i];
        if (!known) {
          std::vector<std::string> names;
          for (const Budget& b : config->budgets) names.push_back(Quoted(b.name));
          return Error(*list.get(i), absl::StrCat("router.budgets[", i, "]"),
                       absl::StrCat("no budget is named ", Quoted(r.budgets[i]), " (budgets: ",
                                    names.empty() ? std::string("none") : absl::StrJoin(names, ", "), ")"));
        }
      }
    }
    if (const toml::node* n = t->get("rules")) {
      const toml::array* list = n->as_array();
      if (list == nullptr) {
        return Error(*n, "router.rules",
                     absl::StrCat("expected an array of tables ([[router.rules]]), not ", ts::TypeName(*n)));
      }
      for (size_t i = 0; i < list->size(); ++i) {
        TKB_RETURN_IF_ERROR(ReadRouterRule(*list->get(i), absl::StrCat("router.rules[", i, "]"), i, &r));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadRouterRule(const toml::node& node, const std::string& context, size_t index, RouterConfig* r) {
    TKB_ASSIGN_OR_RETURN(const toml::table* t, Table(node, context));
    TKB_RETURN_IF_ERROR(ts::CheckKeys(
        *t, {"name", "task_types", "keywords", "pattern", "model", "tier", "downgrade"}, source_, context));
    RouterRule rule;
    rule.where = ts::Where(source_, node.source());
    rule.name = absl::StrCat("rule ", index + 1);
    if (const toml::node* n = t->get("name")) {
      TKB_ASSIGN_OR_RETURN(rule.name, String(*n, Join(context, "name")));
      if (rule.name.empty()) return Error(*n, Join(context, "name"), "must not be empty");
    }
    if (const toml::node* n = t->get("task_types")) {
      TKB_ASSIGN_OR_RETURN(rule.task_types, Strings(*n, Join(context, "task_types")));
    }
    if (const toml::node* n = t->get("keywords")) {
      TKB_ASSIGN_OR_RETURN(rule.keywords, Strings(*n, Join(context, "keywords")));
    }
    if (const toml::node* n = t->get("pattern")) {
      TKB_ASSIGN_OR_RETURN(rule.pattern, String(*n, Join(context, "pattern")));
      if (rule.pattern.empty()) return Error(*n, Join(context, "pattern"), "must not be empty");
      // libstdc++'s regex compiler reads a repetition count or a
      // back-reference number into a long without checking for overflow
      // (undefined behaviour, found by fuzz_config_toml): a number of more
      // than six digits after `{`, `,` in braces, or `\` is refused first.
      for (size_t i = 0, digits = 0; i < rule.pattern.size(); ++i) {
        const char c = rule.pattern[i];
        const bool counted = i > 0 && (digits > 0 || rule.pattern[i - 1] == '{' || rule.pattern[i - 1] == ',' ||
                                       rule.pattern[i - 1] == '\\');
        digits = c >= '0' && c <= '9' && counted ? digits + 1 : 0;
        if (digits > 6) {
          return Error(*n, Join(context, "pattern"), "a repetition count or back-reference beyond 999999");
        }
      }
      // Checked here so that the message names the line; the router
      // compiles it again.
      try {
        std::regex re(rule.pattern, std::regex::ECMAScript | std::regex::icase);
      } catch (const std::regex_error& e) {
        return Error(*n, Join(context, "pattern"),
                     absl::StrCat("not a valid regular expression (ECMAScript): ", e.what()));
      }
    }
    if (rule.task_types.empty() && rule.keywords.empty() && rule.pattern.empty()) {
      return Error(node, context, "a rule needs at least one of \"task_types\", \"keywords\", \"pattern\"");
    }
    const toml::node* model = t->get("model");
    const toml::node* tier = t->get("tier");
    if ((model == nullptr) == (tier == nullptr)) {
      return Error(model != nullptr ? *model : node, context, "a rule needs exactly one of \"model\", \"tier\"");
    }
    if (model != nullptr) {
      TKB_ASSIGN_OR_RETURN(rule.model, Model(*model, Join(context, "model")));
    }
    if (tier != nullptr) {
      TKB_ASSIGN_OR_RETURN(rule.tier, String(*tier, Join(context, "tier")));
      if (rule.tier != "cheap" && rule.tier != "mid" && rule.tier != "top") {
        return Error(*tier, Join(context, "tier"),
                     absl::StrCat(Quoted(rule.tier), " is not one of \"cheap\", \"mid\", \"top\""));
      }
    }
    if (const toml::node* n = t->get("downgrade")) {
      const auto* b = n->as_boolean();
      if (b == nullptr) {
        return Error(*n, Join(context, "downgrade"), absl::StrCat("expected a boolean, not ", ts::TypeName(*n)));
      }
      rule.downgrade = b->get();
    }
    r->rules.push_back(std::move(rule));
    return absl::OkStatus();
  }

  std::string source_;
  std::string base_dir_;
};

absl::Status ReadFailure(const std::string& path, int err) {
  const std::string message =
      absl::StrCat("cannot read ", Quoted(path), ": ", std::generic_category().message(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR: return absl::NotFoundError(message);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(message);
    default: return absl::InternalError(message);
  }
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ReadFailure(path, errno);
  std::string text;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return ReadFailure(path, err != 0 ? err : EIO);
  return text;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view text, absl::string_view source_name,
                                   absl::string_view base_dir) {
  absl::StatusOr<Config> config = ConfigReader(source_name, base_dir).Read(text);
  if (config.ok()) {
    // The reader's checks imply this; kept as the contract Config promises.
    TKB_RETURN_IF_ERROR(ValidateBudgets(config->budgets));
  }
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  TKB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  TKB_ASSIGN_OR_RETURN(Config config, ParseConfig(text, path, DirName(path)));
  config.path = path;
  config.found = true;
  return config;
}

absl::StatusOr<Config> LoadConfig(const std::string& ledger_dir) {
  const std::string path = absl::StrCat(ledger_dir.empty() ? "." : ledger_dir, "/", kConfigFileName);
  absl::StatusOr<Config> config = LoadConfigFile(path);
  if (config.ok() || !absl::IsNotFound(config.status())) return config;
  // Only a missing file means defaults; a missing directory is also fine
  // (the ledger creates it), anything else was reported above.
  Config defaults;
  defaults.path = path;
  return defaults;
}

absl::StatusOr<RateTable> LoadConfiguredRates(const Config& config, std::vector<std::string>* warnings) {
  RateTable table;
  table.MergeFrom(BuiltinRates());
  for (const RateFileRef& ref : config.rate_files) {
    absl::StatusOr<RateTable> layer = LoadRateFile(ref.path, warnings);
    if (!layer.ok()) {
      return absl::Status(layer.status().code(), absl::StrCat(ref.where, ": ", layer.status().message()));
    }
    table.MergeFrom(*layer);
  }
  return table;
}

}  // namespace v1
}  // namespace tokenbook
