// Tests of the model router (lib/tokenbook/insights_router.h): rule
// matching, the decision at each budget level, which budgets count, rules
// that refuse the downgrade, unknown models, and routing through a book.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/config.h"
#include "tokenbook/insights_json.h"
#include "tokenbook/insights_router.h"
#include "tokenbook/rate_sources.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;

constexpr char kRouterConfig[] = R"toml(
[budgets]
monthly = 100

[[budgets.scoped]]
project = "acme"
period = "daily"
limit = 10

[router]
default = "claude-sonnet-4-5"

[router.tiers]
cheap = "claude-haiku-4-5"
mid = "claude-sonnet-4-5"
top = "claude-opus-4-6"

[[router.rules]]
name = "quick"
keywords = ["summarize", "tl;dr"]
tier = "cheap"

[[router.rules]]
name = "security"
task_types = ["security-review"]
model = "claude-opus-4-6"
downgrade = false

[[router.rules]]
name = "design"
pattern = "\\b(architect|design)"
tier = "top"
)toml";

struct RouterFixture {
  Config config;
  std::unique_ptr<Router> router;

  explicit RouterFixture(const std::string& text = kRouterConfig) {
    absl::StatusOr<Config> c = ParseConfig(text, "config.toml");
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    config = *std::move(c);
    absl::StatusOr<Router> r = Router::Create(config.router, BuiltinRates());
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    router = std::make_unique<Router>(*std::move(r));
  }

  // The decision with the monthly budget at `monthly` spent (plus
  // `reserved`) and the acme daily budget at `acme`.
  RouteDecision Route(const std::string& text, int64_t monthly, int64_t acme = 0, const std::string& task_type = "",
                      const std::string& project = "", int64_t reserved = 0) {
    // The first budget gets `monthly` (and `reserved`), the second `acme`.
    std::vector<RouteBudget> budgets;
    for (size_t i = 0; i < config.budgets.size(); ++i) {
      budgets.push_back(i == 0 ? RouteBudget{&config.budgets[i], Micros(monthly), Micros(reserved)}
                               : RouteBudget{&config.budgets[i], Micros(acme), Micros(0)});
    }
    RouteRequest req;
    req.text = text;
    req.task_type = task_type;
    req.project = project;
    return router->Route(req, budgets);
  }
};

TEST_CASE("Router: rules in order, then the default") {
  RouterFixture f;
  RouteDecision d = f.Route("Summarize the release notes", 0);
  CHECK(d.model == "claude-haiku-4-5");
  CHECK(d.tier == "cheap");
  CHECK(d.chosen_by == "rule");
  CHECK(d.rule == 0);
  CHECK(d.rule_name == "quick");
  CHECK(d.matched == "keyword \"summarize\"");
  CHECK(d.budget == "monthly");
  CHECK(d.budget_percent_bp == 0);
  CHECK(d.wanted_tier.empty());
  CHECK_FALSE(d.downgraded);

  d = f.Route("anything", 0, 0, "Security-Review");
  CHECK(d.model == "claude-opus-4-6");
  CHECK(d.rule_name == "security");
  CHECK(d.matched == "task_type \"security-review\"");

  d = f.Route("Re-architect the ledger", 0);
  CHECK(d.model == "claude-opus-4-6");
  CHECK(d.tier == "top");
  CHECK(d.matched == "pattern \"\\b(architect|design)\"");

  // "summarized" is not the word "summarize"; TL;DR matches in any case.
  d = f.Route("I summarized it", 0);
  CHECK(d.chosen_by == "default");
  CHECK(d.rule == -1);
  CHECK(d.model == "claude-sonnet-4-5");
  CHECK(d.tier == "mid");
  CHECK(f.Route("TL;DR please", 0).rule_name == "quick");
  // The first matching rule wins: both "summarize" and "design" occur.
  CHECK(f.Route("summarize the design", 0).rule_name == "quick");
}

TEST_CASE("Router: the downgrade at each budget level") {
  RouterFixture f;
  const std::string task = "design the schema";  // rule "design": the top tier
  struct Case {
    int64_t spent;
    const char* wanted;
    const char* model;
  } cases[] = {
      {0, "", "claude-opus-4-6"},
      {49'999'999, "", "claude-opus-4-6"},
      {50 * kDollar, "mid", "claude-sonnet-4-5"},  // exactly 50%: at or above
      {79'999'999, "mid", "claude-sonnet-4-5"},
      {80 * kDollar, "cheap", "claude-haiku-4-5"},
      {150 * kDollar, "cheap", "claude-haiku-4-5"},  // exceeded
  };
  for (const Case& c : cases) {
    CAPTURE(c.spent);
    const RouteDecision d = f.Route(task, c.spent);
    CHECK(d.budget_percent_bp == c.spent / 10'000);
    CHECK(d.wanted_tier == c.wanted);
    CHECK(d.model == c.model);
    CHECK(d.chosen_model == "claude-opus-4-6");
    CHECK(d.downgraded == (std::string(c.wanted) != ""));
  }
  // Reserved money counts: 79 spent + 1 reserved is 80%.
  const RouteDecision d = f.Route(task, 79 * kDollar, 0, "", "", kDollar);
  CHECK(d.budget_percent_bp == 8'000);
  CHECK(d.model == "claude-haiku-4-5");
}

TEST_CASE("Router: a downgrade never moves to a dearer model, and a pinned rule keeps its model") {
  RouterFixture f;
  // Haiku chosen by a rule; the budget wants the mid tier: Haiku is cheaper already.
  RouteDecision d = f.Route("summarize", 60 * kDollar);
  CHECK(d.wanted_tier == "mid");
  CHECK(d.model == "claude-haiku-4-5");
  CHECK_FALSE(d.downgraded);
  // The default (Sonnet, the mid tier) at 60%: already the mid tier.
  d = f.Route("write code", 60 * kDollar);
  CHECK(d.model == "claude-sonnet-4-5");
  CHECK_FALSE(d.downgraded);
  // ... and at 85%: the cheap tier.
  d = f.Route("write code", 85 * kDollar);
  CHECK(d.model == "claude-haiku-4-5");
  CHECK(d.downgraded);
  // A rule with downgrade = false at 95%.
  d = f.Route("audit", 95 * kDollar, 0, "security-review");
  CHECK(d.wanted_tier == "cheap");
  CHECK_FALSE(d.downgrade_allowed);
  CHECK_FALSE(d.downgraded);
  CHECK(d.model == "claude-opus-4-6");
}

TEST_CASE("Router: scoped budgets count only for requests they apply to") {
  RouterFixture f;
  // acme's daily budget at 90%, the monthly one at 10%.
  RouteDecision d = f.Route("design it", 10 * kDollar, 9 * kDollar, "", "acme");
  CHECK(d.budget == "project:acme:daily");
  CHECK(d.budget_percent_bp == 9'000);
  CHECK(d.model == "claude-haiku-4-5");
  d = f.Route("design it", 10 * kDollar, 9 * kDollar, "", "other");
  CHECK(d.budget == "monthly");
  CHECK(d.budget_percent_bp == 1'000);
  CHECK(d.model == "claude-opus-4-6");

  // router.budgets limits the budgets consulted.
  RouterFixture only_monthly(
      std::string(kRouterConfig)
          .replace(std::string(kRouterConfig).find("[router]\n"), 9, "[router]\nbudgets = [\"monthly\"]\n"));
  d = only_monthly.Route("design it", 10 * kDollar, 9 * kDollar, "", "acme");
  CHECK(d.budget == "monthly");
  CHECK(d.model == "claude-opus-4-6");
}

TEST_CASE("Router: configurable thresholds; no budget, no downgrade") {
  RouterFixture f(R"(
[budgets]
daily = 10
[router]
mid_above_percent = 20
cheap_above_percent = 30
)");
  RouteDecision d = f.Route("x", 1'999'999);
  CHECK(d.model == "claude-opus-4-6");  // no rule, no default: the top tier
  CHECK(d.tier == "top");
  d = f.Route("x", 2 * kDollar);
  CHECK(d.model == "claude-sonnet-4-6");  // the default mid tier
  d = f.Route("x", 3 * kDollar);
  CHECK(d.model == "claude-haiku-4-5");

  RouterFixture none("");
  RouteRequest req;
  req.text = "x";
  d = none.router->Route(req, {});
  CHECK(d.model == "claude-opus-4-6");
  CHECK(d.budget.empty());
  CHECK(d.wanted_tier.empty());
}

TEST_CASE("Router: an unknown model is an error naming its config line") {
  absl::StatusOr<Config> c = ParseConfig("[router.tiers]\ncheap = \"claude-haiku-9\"\n", "config.toml");
  REQUIRE(c.ok());
  absl::StatusOr<Router> r = Router::Create(c->router, BuiltinRates());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kNotFound);
  CHECK(
      absl::StartsWith(r.status().message(),
                       "config.toml:2:9: router.tiers.cheap: unknown model \"claude-haiku-9\" (not in the rate table"));

  c = ParseConfig("[[router.rules]]\nkeywords = [\"x\"]\nmodel = \"gpt-9000\"\n", "config.toml");
  REQUIRE(c.ok());
  r = Router::Create(c->router, BuiltinRates());
  REQUIRE_FALSE(r.ok());
  CHECK(absl::StartsWith(r.status().message(), "config.toml:3:9: router.rules[0].model: unknown model \"gpt-9000\""));
}

TEST_CASE("ContainsWord: whole words and phrases, ASCII case ignored") {
  CHECK(ContainsWord("Please summarize this", "summarize"));
  CHECK(ContainsWord("SUMMARIZE", "summarize"));
  CHECK(ContainsWord("write a commit message.", "commit message"));
  CHECK(ContainsWord("(tl;dr)", "tl;dr"));
  CHECK_FALSE(ContainsWord("summarized", "summarize"));
  CHECK_FALSE(ContainsWord("resummarize", "summarize"));
  CHECK_FALSE(ContainsWord("summarize_all", "summarize"));
  CHECK_FALSE(ContainsWord("café", "caf"));  // é is part of the word
  CHECK_FALSE(ContainsWord("", "x"));
  CHECK_FALSE(ContainsWord("x", ""));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-router-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("RouteWithBook: the budgets' usage from the ledger") {
  TempDir dir;
  std::ofstream(dir.path() + "/config.toml") << "[budgets]\nmonthly = 100\nsession = 2\n";
  absl::StatusOr<std::unique_ptr<Book>> book = Book::Open(dir.path());
  REQUIRE(book.ok());
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 4, 10, 12, 0, 0), absl::UTCTimeZone());
  Entry e;
  e.model = "claude-sonnet-4-5";
  e.cost = Micros(85 * kDollar);
  e.cost_source = CostSource::kOverride;
  e.timestamp = now - absl::Hours(1);
  e.session = "s1";
  REQUIRE((*book)->Log(e, now).ok());

  RouteRequest req;
  req.text = "refactor the parser";
  absl::StatusOr<RouteDecision> d = RouteWithBook(**book, req, now);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  CHECK(d->budget == "monthly");
  CHECK(d->budget_percent_bp == 8'500);
  CHECK(d->model == "claude-haiku-4-5");
  CHECK(RouteDecisionJson(*d, (*book)->config().router) ==
        R"({"model":"claude-haiku-4-5","tier":"cheap","chosen_model":"claude-opus-4-6","chosen_by":"default",)"
        R"("rule":null,"matched":null,"budget":{"name":"monthly","percent_bp":8500},"wanted_tier":"cheap",)"
        R"("downgraded":true,"downgrade_allowed":true,"mid_above_bp":5000,"cheap_above_bp":8000})");

  // The session budget ($85 of $2) applies only to a request in that session.
  req.session = "s1";
  d = RouteWithBook(**book, req, now);
  REQUIRE(d.ok());
  CHECK(d->budget == "session");
  CHECK(d->budget_percent_bp == 425'000);
  req.session = "s2";
  d = RouteWithBook(**book, req, now);
  REQUIRE(d.ok());
  CHECK(d->budget == "monthly");
}

}  // namespace
}  // namespace tokenbook
