// Tests of lib/tokenbook/config.h: defaults, the example of docs/config.md,
// budget resolution, rate files, and errors that name file:line:column and
// the key.
#include "tokenbook/config.h"
#include "tokenbook/insights_router.h"
#include "tokenbook/rate_sources.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-config-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first ```toml block of docs/config.md.
std::string DocExample() {
  const std::string doc = ReadFile(std::string(TOKENBOOK_SOURCE_DIR) + "/docs/config.md");
  const std::string open = "```toml\n";
  const size_t begin = doc.find(open);
  REQUIRE(begin != std::string::npos);
  const size_t end = doc.find("\n```", begin + open.size());
  REQUIRE(end != std::string::npos);
  return doc.substr(begin + open.size(), end + 1 - begin - open.size());
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Config> c = ParseConfig(text, "config.toml");
  REQUIRE_MESSAGE(!c.ok(), "expected an error for:\n", text);
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

const Budget* Find(const Config& c, absl::string_view name) {
  for (const Budget& b : c.budgets) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

TEST_CASE("Config defaults without a file") {
  TempDir dir;
  absl::StatusOr<Config> c = LoadConfig(dir.path());
  REQUIRE(c.ok());
  CHECK_FALSE(c->found);
  CHECK(c->path == dir.path() + "/config.toml");
  CHECK(c->budgets.empty());
  CHECK(c->thresholds.warning_bp == 8000);
  CHECK(c->thresholds.critical_bp == 9500);
  CHECK(c->action == BudgetAction::kWarn);
  CHECK_FALSE(c->stage.has_value());
  CHECK(c->time_zone_name == "UTC");
  CHECK(c->week_start == absl::Weekday::monday);
  CHECK(c->durability == Durability::kFlush);
  CHECK(c->reservation_ttl == absl::Minutes(10));
  CHECK(c->rate_files.empty());

  // An empty file is the defaults too.
  absl::StatusOr<Config> empty = ParseConfig("", "config.toml");
  REQUIRE(empty.ok());
  CHECK(empty->budgets.empty());
}

TEST_CASE("Config example in docs/config.md") {
  TempDir dir;
  dir.Write("config.toml", DocExample());
  absl::StatusOr<Config> c = LoadConfig(dir.path());
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->found);
  CHECK(c->time_zone_name == "Europe/Berlin");
  CHECK(c->time_zone.name() == "Europe/Berlin");
  CHECK(c->week_start == absl::Weekday::monday);
  CHECK(c->durability == Durability::kFlush);
  REQUIRE(c->stage.has_value());
  CHECK(*c->stage == Stage::kMvp);
  CHECK(c->reservation_ttl == absl::Seconds(600));
  REQUIRE(c->rate_files.size() == 1);
  CHECK(c->rate_files[0].path == dir.path() + "/team-rates.toml");
  CHECK(absl::StrContains(c->rate_files[0].where, "config.toml:"));

  REQUIRE(c->budgets.size() == 7);
  CHECK(c->budgets[0].name == "daily");
  CHECK(c->budgets[1].name == "weekly");
  CHECK(c->budgets[2].name == "monthly");
  CHECK(c->budgets[3].name == "session");
  CHECK(c->budgets[4].name == "project:acme-web:monthly");
  CHECK(c->budgets[5].name == "agent:planner:daily");
  CHECK(c->budgets[6].name == "search-feature");

  const Budget& daily = c->budgets[0];
  CHECK(daily.period == BudgetPeriod::kDaily);
  CHECK(daily.limit == Micros(10 * kDollar));
  CHECK(daily.action == BudgetAction::kWarn);
  CHECK(daily.thresholds == Thresholds{8000, 9500});
  CHECK(daily.scope.kind == ScopeKind::kAll);
  CHECK(c->budgets[1].limit == Micros(50 * kDollar));
  CHECK(c->budgets[2].limit == Micros(200 * kDollar));
  CHECK(c->budgets[2].action == BudgetAction::kBlock);
  CHECK(c->budgets[3].period == BudgetPeriod::kSession);
  CHECK(c->budgets[3].thresholds == Thresholds{5000, 9500});
  const Budget& acme = c->budgets[4];
  CHECK(acme.scope.kind == ScopeKind::kProject);
  CHECK(acme.scope.value == "acme-web");
  CHECK(acme.limit == Micros(80 * kDollar));
  CHECK(acme.action == BudgetAction::kBlock);
  const Budget& planner = c->budgets[5];
  CHECK(planner.scope.kind == ScopeKind::kAgent);
  CHECK(planner.period == BudgetPeriod::kDaily);
  CHECK(planner.limit == Micros(2'500'000));
  CHECK(planner.thresholds == Thresholds{8000, 9000});
  const Budget& search = c->budgets[6];
  CHECK(search.scope.kind == ScopeKind::kFeature);
  CHECK(search.scope.value == "search");
  CHECK(search.period == BudgetPeriod::kWeekly);
  CHECK(search.limit == Micros(15 * kDollar));
}

TEST_CASE("Config budget values and defaults") {
  absl::StatusOr<Config> c = ParseConfig(R"(
week_start = "Sun"
durability = "fsync"
[budgets]
warning_percent = "70.5"
critical_percent = 90
action = "pause"
monthly = 12.5
daily = { limit = 1, action = "block", critical_percent = 99.99 }
session = "0.000001"
)",
                                         "config.toml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->week_start == absl::Weekday::sunday);
  CHECK(c->durability == Durability::kFsync);
  CHECK(c->thresholds == Thresholds{7050, 9000});
  CHECK(c->action == BudgetAction::kPause);
  const Budget* monthly = Find(*c, "monthly");
  REQUIRE(monthly != nullptr);
  CHECK(monthly->limit == Micros(12'500'000));
  CHECK(monthly->action == BudgetAction::kPause);
  CHECK(monthly->thresholds == Thresholds{7050, 9000});
  const Budget* daily = Find(*c, "daily");
  REQUIRE(daily != nullptr);
  CHECK(daily->limit == Micros(kDollar));
  CHECK(daily->action == BudgetAction::kBlock);
  CHECK(daily->thresholds == Thresholds{7050, 9999});
  const Budget* session = Find(*c, "session");
  REQUIRE(session != nullptr);
  CHECK(session->limit == Micros(1));
  // File order is fixed: daily, weekly, monthly, session.
  CHECK(c->budgets[0].name == "daily");
  CHECK(c->budgets[1].name == "monthly");
  CHECK(c->calendar().week_start == absl::Weekday::sunday);
}

TEST_CASE("Config errors name file, line, column and key") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"time_zon = \"UTC\"\n", "config.toml:1:1: unknown key \"time_zon\" (did you mean \"time_zone\"?)"},
      {"time_zone = \"Mars/Olympus\"\n", "config.toml:1:13: time_zone: unknown time zone \"Mars/Olympus\""},
      {"time_zone = 1\n", "config.toml:1:13: time_zone: expected a string, not an integer"},
      {"\nweek_start = \"someday\"\n", "config.toml:2:14: week_start: not a weekday: \"someday\""},
      {"durability = \"sync\"\n", "config.toml:1:14: durability: \"sync\" is not one of \"flush\", \"fsync\""},
      {"stage = \"seed\"\n", "config.toml:1:9: stage: \"seed\" is not one of"},
      {"[budgets]\nmonthly = -5\n", "config.toml:2:11: budgets.monthly: a budget must be a positive amount, not -5"},
      {"[budgets]\nmonthly = 0\n", "config.toml:2:11: budgets.monthly: a budget must be a positive amount, not 0"},
      {"[budgets]\nmonthly = \"1.0000001\"\n",
       "config.toml:2:11: budgets.monthly: 1.0000001 is finer than a micro-dollar"},
      {"[budgets]\nmonthly = \"ten\"\n", "config.toml:2:11: budgets.monthly: not a decimal number: \"ten\""},
      {"[budgets]\nmonthly = true\n", "config.toml:2:11: budgets.monthly: expected an amount in USD"},
      {"[budgets]\nmonthly = nan\n", "config.toml:2:11: budgets.monthly: not a number (nan)"},
      {"[budgets]\nmonthy = 5\n", "config.toml:2:1: budgets: unknown key \"monthy\" (did you mean \"monthly\"?)"},
      {"[budgets]\nmonthly = { limt = 5 }\n",
       "config.toml:2:13: budgets.monthly: unknown key \"limt\" (did you mean \"limit\"?)"},
      {"[budgets]\nmonthly = { action = \"block\" }\n", "config.toml:2:11: budgets.monthly: missing key \"limit\""},
      {"[budgets]\nwarning_percent = 96\n",
       "config.toml:2:19: budgets: the warning threshold (96%) is above the critical threshold (95%)"},
      {"[budgets]\ncritical_percent = 101\n", "config.toml:2:20: budgets.critical_percent: 101 is not a percentage"},
      {"[budgets]\nwarning_percent = 80.001\n", "config.toml:2:19: budgets.warning_percent: 80.001 is not a percentage"},
      {"[budgets]\nwarning_percent = 0\n", "config.toml:2:19: budgets.warning_percent: 0 is not a percentage"},
      {"[budgets]\naction = \"stop\"\n",
       "config.toml:2:10: budgets.action: \"stop\" is not one of \"warn\", \"pause\", \"block\""},
      {"[budgets]\ndaily = { limit = 5, warning_percent = 99 }\n",
       "config.toml:2:9: budgets.daily: the warning threshold (99%) is above the critical threshold (95%)"},
      {"[budgets]\nscoped = 5\n", "config.toml:2:10: budgets.scoped: expected an array of tables"},
      {"[[budgets.scoped]]\nproject = \"a\"\nlimit = 5\n",
       "config.toml:1:1: budgets.scoped[0]: missing key \"period\""},
      {"[[budgets.scoped]]\nproject = \"a\"\nperiod = \"monthly\"\n",
       "config.toml:1:1: budgets.scoped[0]: missing key \"limit\""},
      {"[[budgets.scoped]]\nperiod = \"monthly\"\nlimit = 5\n",
       "config.toml:1:1: budgets.scoped[0]: a scoped budget needs one of \"project\", \"feature\", \"agent\""},
      {"[[budgets.scoped]]\nproject = \"a\"\nagent = \"b\"\nperiod = \"daily\"\nlimit = 5\n",
       "config.toml:3:9: budgets.scoped[0]: a scoped budget has exactly one of"},
      {"[[budgets.scoped]]\nproject = \"a\"\nperiod = \"yearly\"\nlimit = 5\n",
       "config.toml:3:10: budgets.scoped[0].period: \"yearly\" is not one of"},
      {"[[budgets.scoped]]\nproject = \"\"\nperiod = \"daily\"\nlimit = 5\n",
       "config.toml:2:11: budgets.scoped[0].project: must not be empty"},
      {"[[budgets.scoped]]\nproject = \"a\"\nperiod = \"daily\"\nlimit = 5\nprojet = \"b\"\n",
       "config.toml:5:1: budgets.scoped[0]: unknown key \"projet\" (did you mean \"project\"?)"},
      {"[[budgets.scoped]]\nproject = \"a\"\nperiod = \"daily\"\nlimit = 5\n"
       "[[budgets.scoped]]\nproject = \"a\"\nperiod = \"daily\"\nlimit = 6\n",
       "config.toml:5:1: budgets.scoped[1]: another budget is already named \"project:a:daily\"; give this one a "
       "\"name\""},
      {"[budgets]\ndaily = 5\n[[budgets.scoped]]\nname = \"daily\"\nagent = \"x\"\nperiod = \"daily\"\nlimit = 1\n",
       "config.toml:4:8: budgets.scoped[0]: another budget is already named \"daily\""},
      {"[admission]\nreservation_ttl_seconds = 0\n",
       "config.toml:2:27: admission.reservation_ttl_seconds: expected a whole number of seconds"},
      {"[admission]\nreservation_ttl = 60\n", "config.toml:2:1: admission: unknown key \"reservation_ttl\""},
      {"[rates]\nfiles = \"team.toml\"\n", "config.toml:2:9: rates.files: expected an array of paths, not a string"},
      {"[rates]\nfiles = [\"a.toml\", 3]\n", "config.toml:2:20: rates.files[1]: expected a string, not an integer"},
      {"[rates]\nas_of = \"2026-01-01\"\n[[rates.models]]\nid = \"x\"\n",
       "config.toml:3:1: rates: inline rate tables are not supported in config.toml"},
      {"[budgets]\nmonthly = \n", "config.toml:2:11: invalid TOML:"},
  };
  for (const Case& c : cases) {
    const std::string message = ErrorOf(c.text);
    CHECK_MESSAGE(absl::StartsWith(message, c.message), "text:\n", c.text, "\ngot:      ", message,
                  "\nexpected: ", c.message);
  }
}

TEST_CASE("Config errors from a file name its path") {
  TempDir dir;
  dir.Write("config.toml", "# budgets\n[budgets]\nmonthly = -1\n");
  absl::StatusOr<Config> c = LoadConfig(dir.path());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(c.status().message(), dir.path() + "/config.toml:3:11: budgets.monthly: "));
  CHECK(LoadConfigFile(dir.path() + "/nope.toml").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Config rate files layer over the built-in table") {
  TempDir dir;
  dir.Write("team-rates.toml", R"(schema = 1
as_of = "2026-04-01"

[[models]]
id = "house-model"
provider = "house"
input = "1.25"
output = 5
)");
  dir.Write("config.toml", "[rates]\nfiles = [\"team-rates.toml\"]\n");
  absl::StatusOr<Config> c = LoadConfig(dir.path());
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  std::vector<std::string> warnings;
  absl::StatusOr<RateTable> rates = LoadConfiguredRates(*c, &warnings);
  REQUIRE_MESSAGE(rates.ok(), rates.status().ToString());
  const Resolution house = rates->Resolve("house-model");
  REQUIRE(house.model != nullptr);
  CHECK(house.model->pricing.standard.rates[TokenKind::kInput]->value() == 1'250'000);
  CHECK(rates->size() > 1);  // the built-in models are still there
  CHECK(rates->size() == BuiltinRates().size() + 1);

  // A missing file names the file and the config line listing it.
  dir.Write("config.toml", "[rates]\nfiles = [\"team-rates.toml\", \"missing.toml\"]\n");
  c = LoadConfig(dir.path());
  REQUIRE(c.ok());
  rates = LoadConfiguredRates(*c);
  REQUIRE_FALSE(rates.ok());
  CHECK(rates.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StartsWith(rates.status().message(),
                         dir.path() + "/config.toml:2:29: rates.files[1]: cannot read rate file \"" + dir.path() +
                             "/missing.toml\""));

  // A broken rate file: its own position comes through.
  dir.Write("bad.toml", "schema = 1\nas_of = \"2026-04-01\"\n[[models]]\nid = \"x\"\nprovider = \"p\"\ninptu = 1\n");
  dir.Write("config.toml", "[rates]\nfiles = [\"bad.toml\"]\n");
  c = LoadConfig(dir.path());
  REQUIRE(c.ok());
  rates = LoadConfiguredRates(*c);
  REQUIRE_FALSE(rates.ok());
  CHECK(absl::StrContains(rates.status().message(), dir.path() + "/bad.toml:6:1:"));
}

TEST_CASE("Config router from the example in docs/config.md") {
  TempDir dir;
  dir.Write("config.toml", DocExample());
  absl::StatusOr<Config> c = LoadConfig(dir.path());
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const RouterConfig& r = c->router;
  CHECK(r.default_model.model == "claude-sonnet-4-6");
  CHECK(absl::StartsWith(r.default_model.where, dir.path() + "/config.toml:"));
  CHECK(absl::EndsWith(r.default_model.where, ": router.default"));
  CHECK(r.mid_above_bp == 5'000);
  CHECK(r.cheap_above_bp == 8'000);
  CHECK(r.budgets == std::vector<std::string>{"monthly", "daily"});
  CHECK(r.cheap.model == "claude-haiku-4-5");
  CHECK(r.mid.model == "claude-sonnet-4-6");
  CHECK(r.top.model == "claude-opus-4-6");
  REQUIRE(r.rules.size() == 3);
  CHECK(r.rules[0].name == "quick");
  CHECK(r.rules[0].keywords == std::vector<std::string>{"summarize", "tl;dr", "commit message"});
  CHECK(r.rules[0].task_types == std::vector<std::string>{"summarize", "classify"});
  CHECK(r.rules[0].tier == "cheap");
  CHECK(r.rules[0].model.model.empty());
  CHECK(r.rules[0].downgrade);
  CHECK(r.rules[1].name == "security");
  CHECK(r.rules[1].model.model == "claude-opus-4-6");
  CHECK_FALSE(r.rules[1].downgrade);
  CHECK(r.rules[2].pattern == "\\b(architect|design)");
  CHECK(r.rules[2].tier == "top");
  CHECK(absl::StartsWith(r.rules[2].where, dir.path() + "/config.toml:"));
  // Every model it names is in the built-in table.
  CHECK(Router::Create(r, BuiltinRates()).ok());
}

TEST_CASE("Config router defaults, and rule names by position") {
  absl::StatusOr<Config> c = ParseConfig("", "config.toml");
  REQUIRE(c.ok());
  CHECK(c->router.cheap.model == "claude-haiku-4-5");
  CHECK(c->router.mid.model == "claude-sonnet-4-6");
  CHECK(c->router.top.model == "claude-opus-4-6");
  CHECK(c->router.default_model.model.empty());
  CHECK(c->router.mid_above_bp == 5'000);
  CHECK(c->router.cheap_above_bp == 8'000);
  CHECK(c->router.rules.empty());
  c = ParseConfig("[[router.rules]]\nkeywords = [\"a\"]\ntier = \"mid\"\n[[router.rules]]\ntask_types = [\"b\"]\n"
                  "model = \"gpt-5\"\n",
                  "config.toml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  REQUIRE(c->router.rules.size() == 2);
  CHECK(c->router.rules[0].name == "rule 1");
  CHECK(c->router.rules[0].where == "config.toml:1:1");
  CHECK(c->router.rules[1].name == "rule 2");
  CHECK(c->router.rules[1].model.where == "config.toml:6:9: router.rules[1].model");
}

TEST_CASE("Config router errors name file, line, column and key") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"[router]\ndefalt = \"x\"\n", "config.toml:2:1: router: unknown key \"defalt\" (did you mean \"default\"?)"},
      {"[router]\ndefault = \"\"\n", "config.toml:2:11: router.default: an empty model name"},
      {"[router]\ndefault = 5\n", "config.toml:2:11: router.default: expected a string, not an integer"},
      {"[router]\ntiers = \"cheap\"\n", "config.toml:2:9: router.tiers: expected a table, not a string"},
      {"[router.tiers]\ncheep = \"x\"\n",
       "config.toml:2:1: router.tiers: unknown key \"cheep\" (did you mean \"cheap\"?)"},
      {"[router]\nmid_above_percent = 90\n",
       "config.toml:2:21: router: mid_above_percent (90%) is above cheap_above_percent (80%)"},
      {"[router]\ncheap_above_percent = 101\n",
       "config.toml:2:23: router.cheap_above_percent: 101 is not a percentage"},
      {"[router]\nbudgets = [\"monthly\"]\n",
       "config.toml:2:12: router.budgets[0]: no budget is named \"monthly\" (budgets: none)"},
      {"[budgets]\ndaily = 5\n[router]\nbudgets = [\"daily\", \"weekly\"]\n",
       "config.toml:4:21: router.budgets[1]: no budget is named \"weekly\" (budgets: \"daily\")"},
      {"[router]\nrules = 5\n",
       "config.toml:2:9: router.rules: expected an array of tables ([[router.rules]]), not an integer"},
      {"[[router.rules]]\nmodel = \"x\"\n",
       "config.toml:1:1: router.rules[0]: a rule needs at least one of \"task_types\", \"keywords\", \"pattern\""},
      {"[[router.rules]]\nkeywords = [\"x\"]\n",
       "config.toml:1:1: router.rules[0]: a rule needs exactly one of \"model\", \"tier\""},
      {"[[router.rules]]\nkeywords = [\"x\"]\nmodel = \"a\"\ntier = \"cheap\"\n",
       "config.toml:3:9: router.rules[0]: a rule needs exactly one of \"model\", \"tier\""},
      {"[[router.rules]]\nkeywords = [\"x\"]\ntier = \"free\"\n",
       "config.toml:3:8: router.rules[0].tier: \"free\" is not one of \"cheap\", \"mid\", \"top\""},
      {"[[router.rules]]\npattern = \"(unclosed\"\ntier = \"cheap\"\n",
       "config.toml:2:11: router.rules[0].pattern: not a valid regular expression (ECMAScript): "},
      {"[[router.rules]]\nkeywords = [\"\"]\ntier = \"cheap\"\n",
       "config.toml:2:13: router.rules[0].keywords[0]: must not be empty"},
      {"[[router.rules]]\ntask_types = \"lint\"\ntier = \"cheap\"\n",
       "config.toml:2:14: router.rules[0].task_types: expected an array of strings, not a string"},
      {"[[router.rules]]\nkeywords = [\"x\"]\ntier = \"cheap\"\ndowngrade = \"no\"\n",
       "config.toml:4:13: router.rules[0].downgrade: expected a boolean, not a string"},
      {"[[router.rules]]\nkeyword = [\"x\"]\ntier = \"cheap\"\n",
       "config.toml:2:1: router.rules[0]: unknown key \"keyword\" (did you mean \"keywords\"?)"},
      {"[[router.rules]]\nname = \"\"\nkeywords = [\"x\"]\ntier = \"cheap\"\n",
       "config.toml:2:8: router.rules[0].name: must not be empty"},
  };
  for (const Case& c : cases) {
    const std::string message = ErrorOf(c.text);
    CHECK_MESSAGE(absl::StartsWith(message, c.message), "text:\n", c.text, "\ngot:      ", message,
                  "\nexpected: ", c.message);
  }
}

}  // namespace
}  // namespace tokenbook
