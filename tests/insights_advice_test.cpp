// Tests of the advice in lib/tokenbook/insights.h: each kind of suggestion
// on crafted entries priced from the built-in table, with its saving in µ$
// worked out by hand, and the thresholds that keep a suggestion out.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/config.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_json.h"
#include "tokenbook/rate_sources.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

const absl::Time kNow = Utc(2026, 4, 15, 12);
const TimeRange kApril{Utc(2026, 4, 1), Utc(2026, 5, 1), "2026-04"};

// An entry's dimensions, set by name: Dims().Task("lint").Tier("fast").
struct Dims {
  std::string task_type, category, session, feature, action_type, tier;
  Dims& Task(std::string v) { return Set(&task_type, std::move(v)); }
  Dims& Category(std::string v) { return Set(&category, std::move(v)); }
  Dims& Session(std::string v) { return Set(&session, std::move(v)); }
  Dims& Feature(std::string v) { return Set(&feature, std::move(v)); }
  Dims& Action(std::string v) { return Set(&action_type, std::move(v)); }
  Dims& Tier(std::string v) { return Set(&tier, std::move(v)); }

 private:
  Dims& Set(std::string* field, std::string v) {
    *field = std::move(v);
    return *this;
  }
};

// An entry priced from the built-in table, as `tokenbook log` would store it.
Entry Priced(const std::string& model, absl::Time at, int64_t input, int64_t output, const Dims& d = {},
             int64_t cache_read = 0) {
  Entry e;
  e.model = model;
  e.timestamp = at;
  e.tokens[TokenKind::kInput] = Tokens(input);
  e.tokens[TokenKind::kOutput] = Tokens(output);
  e.tokens[TokenKind::kCacheRead] = Tokens(cache_read);
  e.task_type = d.task_type;
  e.category = d.category;
  e.session = d.session;
  e.feature = d.feature;
  e.action_type = d.action_type;
  e.service_tier = d.tier;
  const absl::Status s = PriceEntry(BuiltinRates(), &e);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  REQUIRE(e.priced());
  return e;
}

// An entry with a given cost.
Entry Costing(int64_t cost, absl::Time at, const Dims& d = {}) {
  Entry e;
  e.model = "claude-sonnet-4-5";
  e.provider = "anthropic";
  e.timestamp = at;
  e.cost = Micros(cost);
  e.cost_source = CostSource::kOverride;
  e.task_type = d.task_type;
  e.category = d.category;
  e.feature = d.feature;
  return e;
}

Config ConfigOf(const std::string& text) {
  absl::StatusOr<Config> c = ParseConfig(text, "config.toml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return *c;
}

Advice Advise(const std::vector<Entry>& entries, const Config& config = Config{}, AdviceOptions options = {},
              TimeRange range = kApril) {
  Adviser adviser(BuiltinRates(), config, range, kNow, std::move(options));
  for (const Entry& e : entries) adviser.Add(e);
  absl::StatusOr<Advice> a = adviser.Finish();
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  return *a;
}

std::vector<Entry> SummariesOnEveryModel(int haiku_entries) {
  std::vector<Entry> out;
  const Dims summarize = Dims().Task("summarize");
  for (int i = 0; i < haiku_entries; ++i) {
    out.push_back(Priced("claude-haiku-4-5", Utc(2026, 4, 2, 9, i), 1'000, 100, summarize));
  }
  // Opus: 100k × $5 + 10k × $25 = $0.75 each; on Haiku 100k × $1 + 10k × $5 = $0.15.
  out.push_back(Priced("claude-opus-4-6", Utc(2026, 4, 3, 9), 100'000, 10'000, summarize));
  out.push_back(Priced("claude-opus-4-6", Utc(2026, 4, 4, 9), 100'000, 10'000, summarize));
  // Sonnet: 10k × $3 + 1k × $15 = $0.045 each; on Haiku $0.015: $0.09 saved, under $0.10.
  for (int i = 0; i < 3; ++i)
    out.push_back(Priced("claude-sonnet-4-5", Utc(2026, 4, 5, 9, i), 10'000, 1'000, summarize));
  return out;
}

TEST_CASE("Advice: a cheaper model that handles the task type, re-priced entry by entry") {
  const Advice a = Advise(SummariesOnEveryModel(5));
  CHECK(a.total.entries == 10);
  CHECK(a.total.cost == Micros(5 * 1'500 + 2 * 750'000 + 3 * 45'000));
  REQUIRE(a.suggestions.size() == 1);
  const Suggestion& s = a.suggestions[0];
  CHECK(s.kind == SuggestionKind::kCheaperModel);
  CHECK(s.model == "claude-opus-4-6");
  CHECK(s.to_model == "claude-haiku-4-5");
  CHECK(s.dimension == "task_type");
  CHECK(s.value == "summarize");
  CHECK(s.entries == 2);
  CHECK(s.current == Micros(1'500'000));
  CHECK(s.alternative == Micros(300'000));
  CHECK(s.saving == Micros(1'200'000));
  CHECK(s.evidence == "it ran 5 entries of task_type \"summarize\" in the period");
  CHECK(s.title ==
        "task_type \"summarize\" on claude-opus-4-6: 2 entries cost $1.50; on claude-haiku-4-5 (it ran 5 entries of "
        "task_type \"summarize\" in the period) they would cost $0.30");
  CHECK(a.total_saving == Micros(1'200'000));
  CHECK(a.reprice_failures == 0);

  // A lower threshold lists the Sonnet saving too, after the larger one.
  AdviceOptions low;
  low.min_saving = Micros(90'000);
  const Advice b = Advise(SummariesOnEveryModel(5), Config{}, low);
  REQUIRE(b.suggestions.size() == 2);
  CHECK(b.suggestions[1].model == "claude-sonnet-4-5");
  CHECK(b.suggestions[1].current == Micros(135'000));
  CHECK(b.suggestions[1].alternative == Micros(45'000));
  CHECK(b.suggestions[1].saving == Micros(90'000));
  CHECK(b.total_saving == Micros(1'290'000));
}

TEST_CASE("Advice: four entries are not evidence that a model handles a task type") {
  CHECK(Advise(SummariesOnEveryModel(4)).suggestions.empty());
}

TEST_CASE("Advice: a [router] rule names the cheaper model; without a task type, the category counts") {
  const Config config = ConfigOf(R"(
[router]
[[router.rules]]
task_types = ["lint"]
tier = "cheap"
)");
  std::vector<Entry> entries;
  // Sonnet 4.6, 1M input: $3.00; on Haiku $1.00.
  entries.push_back(Priced("claude-sonnet-4-6", Utc(2026, 4, 2, 9), 1'000'000, 0, Dims().Task("lint")));
  // Category "review" (no task type) on Opus: 100k input, $0.50; Haiku ran five reviews: $0.10.
  entries.push_back(Priced("claude-opus-4-6", Utc(2026, 4, 2, 10), 100'000, 0, Dims().Category("review")));
  for (int i = 0; i < 5; ++i)
    entries.push_back(Priced("claude-haiku-4-5", Utc(2026, 4, 2, 11, i), 10, 10, Dims().Category("review")));
  const Advice a = Advise(entries, config);
  REQUIRE(a.suggestions.size() == 2);
  CHECK(a.suggestions[0].dimension == "task_type");
  CHECK(a.suggestions[0].value == "lint");
  CHECK(a.suggestions[0].to_model == "claude-haiku-4-5");
  CHECK(a.suggestions[0].saving == Micros(2'000'000));
  CHECK(a.suggestions[0].evidence == "[router] rule \"rule 1\" sends task_type \"lint\" to it");
  CHECK(a.suggestions[1].dimension == "category");
  CHECK(a.suggestions[1].value == "review");
  CHECK(a.suggestions[1].current == Micros(500'000));
  CHECK(a.suggestions[1].alternative == Micros(100'000));
  CHECK(a.suggestions[1].saving == Micros(400'000));
}

TEST_CASE("Advice: an entry the cheaper model cannot price is left out and counted") {
  std::vector<Entry> entries;
  for (int i = 0; i < 5; ++i)
    entries.push_back(Priced("claude-haiku-4-5", Utc(2026, 4, 2, 9, i), 10, 10, Dims().Task("summarize")));
  entries.push_back(Priced("claude-opus-4-6", Utc(2026, 4, 3, 9), 100'000, 10'000, Dims().Task("summarize")));
  // Opus fast mode (×6); Haiku has no "fast" tier.
  entries.push_back(
      Priced("claude-opus-4-6", Utc(2026, 4, 3, 10), 100'000, 10'000, Dims().Task("summarize").Tier("fast")));
  CHECK(entries.back().cost == Micros(4'500'000));
  const Advice a = Advise(entries);
  REQUIRE(a.suggestions.size() == 1);
  CHECK(a.suggestions[0].entries == 1);
  CHECK(a.suggestions[0].current == Micros(750'000));
  CHECK(a.suggestions[0].alternative == Micros(150'000));
  CHECK(a.suggestions[0].saving == Micros(600'000));
  CHECK(a.reprice_failures == 1);
}

TEST_CASE("Advice: caching a session's repeated input") {
  std::vector<Entry> entries;
  // Four requests of 100k uncached input on Sonnet ($0.30 each). Cached: a
  // write at $3.75/MTok for the first and for the one after a 16-minute
  // pause ($0.375), reads at $0.30/MTok for the two within 5 minutes ($0.03).
  for (int minute : {0, 2, 4, 20}) {
    entries.push_back(Priced("claude-sonnet-4-5", Utc(2026, 4, 2, 10, minute), 100'000, 0, Dims().Session("s-cache")));
  }
  // Not suggested: a session already reading 90% from the cache, one of two
  // requests, one whose input is too small to cache, and entries without a session.
  for (int i = 0; i < 4; ++i) {
    entries.push_back(Priced("claude-sonnet-4-5", Utc(2026, 4, 3, 10, i), 10'000, 0, Dims().Session("s-warm"), 90'000));
  }
  for (int i = 0; i < 2; ++i)
    entries.push_back(Priced("claude-sonnet-4-5", Utc(2026, 4, 4, 10, i), 100'000, 0, Dims().Session("s-two")));
  for (int i = 0; i < 3; ++i)
    entries.push_back(Priced("claude-sonnet-4-5", Utc(2026, 4, 5, 10, i), 1'023, 0, Dims().Session("s-small")));
  for (int i = 0; i < 4; ++i) entries.push_back(Priced("claude-sonnet-4-5", Utc(2026, 4, 6, 10, i), 100'000, 0));
  const Advice a = Advise(entries);
  REQUIRE(a.suggestions.size() == 1);
  const Suggestion& s = a.suggestions[0];
  CHECK(s.kind == SuggestionKind::kCaching);
  CHECK(s.model == "claude-sonnet-4-5");
  CHECK(s.sessions == 1);
  CHECK(s.entries == 4);
  CHECK(s.current == Micros(1'200'000));
  CHECK(s.saving == Micros(390'000));
  CHECK(s.alternative == Micros(810'000));
  CHECK(s.cache_hit == Ratio{0, 400'000});
  CHECK(s.prefix_tokens == 400'000);
  CHECK(s.title ==
        "claude-sonnet-4-5: 1 session sends the same input uncached (0.0% cache reads over 4 entries); caching the "
        "repeated prefix would have saved $0.39");
}

TEST_CASE("Advice: research spending more than shipping, per feature") {
  const std::vector<Entry> entries = {
      Costing(3 * kDollar, Utc(2026, 4, 2), Dims().Category("research").Feature("search")),
      Costing(2 * kDollar, Utc(2026, 4, 3), Dims().Category("Research").Feature("search")),
      Costing(1 * kDollar, Utc(2026, 4, 4), Dims().Category("coding").Feature("search")),
      Costing(1 * kDollar, Utc(2026, 4, 2), Dims().Category("research").Feature("ok")),
      Costing(2 * kDollar, Utc(2026, 4, 3), Dims().Category("review").Feature("ok")),
      Costing(500'000, Utc(2026, 4, 5), Dims().Task("planning")),         // task type as the phase
      Costing(9 * kDollar, Utc(2026, 4, 5), Dims().Category("meeting")),  // neither
  };
  const Advice a = Advise(entries);
  REQUIRE(a.suggestions.size() == 2);
  CHECK(a.suggestions[0].kind == SuggestionKind::kResearchOverShipping);
  CHECK(a.suggestions[0].value == "search");
  CHECK(a.suggestions[0].current == Micros(5 * kDollar));
  CHECK(a.suggestions[0].alternative == Micros(1 * kDollar));
  CHECK(a.suggestions[0].saving == Micros(4 * kDollar));
  CHECK(a.suggestions[0].entries == 2);
  CHECK(a.suggestions[0].title ==
        "feature \"search\": research cost $5.00 and shipping $1.00; holding research to the shipping spend would "
        "have saved $4.00");
  CHECK(a.suggestions[1].value == "");
  CHECK(a.suggestions[1].saving == Micros(500'000));
  CHECK(a.suggestions[1].title ==
        "work without a feature: research cost $0.50 and shipping $0.00; holding research to the shipping spend "
        "would have saved $0.50");
}

TEST_CASE("Advice: a budget under half used in each of the last complete periods") {
  const Config config = ConfigOf("[budgets]\nmonthly = 100\n");
  auto entries = [](absl::Time first, int64_t january) {
    return std::vector<Entry>{Costing(january, first), Costing(10 * kDollar, Utc(2026, 2, 10)),
                              Costing(40 * kDollar, Utc(2026, 3, 10)),
                              Costing(70 * kDollar, Utc(2026, 4, 2))};  // this month: not judged
  };
  const Advice a = Advise(entries(Utc(2026, 1, 1, 8), 49'990'000), config);
  REQUIRE(a.suggestions.size() == 1);
  const Suggestion& s = a.suggestions[0];
  CHECK(s.kind == SuggestionKind::kBudgetTooLarge);
  CHECK(s.budget == "monthly");
  CHECK(s.periods == 3);
  CHECK(s.limit == Micros(100 * kDollar));
  CHECK(s.largest_period_spend == Micros(49'990'000));
  CHECK(s.suggested_limit == Micros(63 * kDollar));  // 49.99 × 1.25 = 62.4875, up to $63
  CHECK(s.saving == Micros(0));
  CHECK(s.title ==
        "budget \"monthly\" stayed under half used in each of the last 3 monthly periods (at most $49.99 of "
        "$100.00); a limit of $63.00 would catch a runaway sooner (no money saved directly)");
  // Exactly half is not under half; a ledger started after the first day has no full record.
  CHECK(Advise(entries(Utc(2026, 1, 1, 8), 50 * kDollar), config).suggestions.empty());
  CHECK(Advise(entries(Utc(2026, 1, 2, 8), 49'990'000), config).suggestions.empty());
}

TEST_CASE("Advice: scheduled work at standard rates could use the batch tier") {
  const std::vector<Entry> entries = {
      Priced("claude-sonnet-4-6", Utc(2026, 4, 2), 1'000'000, 0, Dims().Action("scheduled")),
      Priced("claude-sonnet-4-6", Utc(2026, 4, 3), 1'000'000, 0, Dims().Action("scheduled").Tier("batch")),
      Priced("claude-sonnet-4-6", Utc(2026, 4, 4), 1'000'000, 0, Dims().Action("manual")),
      Priced("llama3.1", Utc(2026, 4, 5), 1'000'000, 0, Dims().Action("scheduled")),
  };
  const Advice a = Advise(entries);
  REQUIRE(a.suggestions.size() == 1);
  const Suggestion& s = a.suggestions[0];
  CHECK(s.kind == SuggestionKind::kBatch);
  CHECK(s.model == "claude-sonnet-4-6");
  CHECK(s.entries == 1);
  CHECK(s.current == Micros(3 * kDollar));
  CHECK(s.alternative == Micros(1'500'000));
  CHECK(s.saving == Micros(1'500'000));
  CHECK(s.title ==
        "claude-sonnet-4-6: 1 scheduled entry at standard rates cost $3.00; at the batch tier they would cost $1.50");
  CHECK(AdviceJson(a, AdviceOptions{}) ==
        R"({"period":{"label":"2026-04","start":"2026-04-01T00:00:00.000Z","end":"2026-05-01T00:00:00.000Z"},)"
        R"("entries":4,"total_cost_micros":7500000,"total_cost_usd":"7.500000","total_saving_micros":1500000,)"
        R"("total_saving_usd":"1.500000","min_saving_micros":100000,"min_saving_usd":"0.100000","reprice_failures":0,)"
        R"("suggestions":[{"kind":"batch","title":"claude-sonnet-4-6: 1 scheduled entry at standard rates cost )"
        R"($3.00; at the batch tier they would cost $1.50","entries":1,"current_micros":3000000,"current_usd":)"
        R"("3.000000","alternative_micros":1500000,"alternative_usd":"1.500000","saving_micros":1500000,)"
        R"("saving_usd":"1.500000","model":"claude-sonnet-4-6","service_tier":"batch"}]})");

  AdviceOptions high;
  high.min_saving = Micros(1'500'001);
  CHECK(Advise(entries, Config{}, high).suggestions.empty());
}

TEST_CASE("Advice: entries outside the period and unpriced entries are not advised on") {
  std::vector<Entry> entries = SummariesOnEveryModel(5);
  for (Entry& e : entries) e.timestamp -= absl::Hours(24 * 30);  // into March
  Entry unpriced;
  unpriced.model = "mystery";
  unpriced.timestamp = Utc(2026, 4, 2);
  unpriced.cost_source = CostSource::kUnpriced;
  unpriced.task_type = "summarize";
  entries.push_back(unpriced);
  const Advice a = Advise(entries);
  CHECK(a.total.entries == 1);
  CHECK(a.total.unpriced_entries == 1);
  CHECK(a.suggestions.empty());
}

}  // namespace
}  // namespace tokenbook
