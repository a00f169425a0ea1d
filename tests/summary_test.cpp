// Unit tests for lib/tokenbook/summary.h: the Markdown dashboard of a small
// ledger byte for byte, breakdowns that sum exactly to their totals, an
// empty ledger, unpriced entries and skipped lines called out, today / week
// / month in a non-UTC zone, hostile names escaped, the JSON figures, the
// atomic file write, and one feature's cost.
#include "tokenbook/summary.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "tokenbook/book.h"
#include "tokenbook/entry.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-summary-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(File(name), std::ios::binary | std::ios::trunc) << text;
  }
  void Append(const std::string& name, const std::string& text) const {
    std::ofstream(File(name), std::ios::binary | std::ios::app) << text;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(File(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

absl::TimeZone Zone(const char* name) {
  absl::TimeZone tz;
  const bool loaded = absl::LoadTimeZone(name, &tz);
  REQUIRE_MESSAGE(loaded, "cannot load time zone " << name << " (is tzdata installed?)");
  return tz;
}

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  const bool ok = absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err);
  REQUIRE_MESSAGE(ok, rfc3339 << ": " << err);
  return t;
}

struct Dims {
  const char* agent = "";
  const char* category = "";
  const char* project = "";
  const char* session = "";
  const char* feature = "";
};

// An entry with an exact cost (or unpriced when cost_micros < 0).
Entry E(const char* ts, const char* model, int64_t cost_micros, Dims d = {}, int64_t input = 0, int64_t output = 0,
        int64_t cache_read = 0, int64_t cache_write_5m = 0) {
  static int serial = 0;
  Entry e;
  e.id = absl::StrCat("01TEST", 10000 + ++serial);
  e.timestamp = At(ts);
  e.model = model;
  e.provider = "test";
  if (cost_micros < 0) {
    e.cost = Micros(0);
    e.cost_source = CostSource::kUnpriced;
  } else {
    e.cost = Micros(cost_micros);
    e.cost_source = CostSource::kOverride;
  }
  e.agent = d.agent;
  e.category = d.category;
  e.project = d.project;
  e.session = d.session;
  e.feature = d.feature;
  e.tokens[TokenKind::kInput] = Tokens(input);
  e.tokens[TokenKind::kOutput] = Tokens(output);
  e.tokens[TokenKind::kCacheRead] = Tokens(cache_read);
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(cache_write_5m);
  return e;
}

std::unique_ptr<Book> OpenBook(const TempDir& dir, const std::string& config = "") {
  if (!config.empty()) dir.Write("config.toml", config);
  absl::StatusOr<std::unique_ptr<Book>> book = Book::Open(dir.path());
  REQUIRE_MESSAGE(book.ok(), book.status().ToString());
  return *std::move(book);
}

void AppendAll(Book& book, std::vector<Entry> entries) {
  absl::StatusOr<std::vector<AppendResult>> r = book.ledger().AppendBatch(std::move(entries));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
}

Summary Compute(Book& book, absl::Time now, const SummaryOptions& options = {}) {
  absl::StatusOr<Summary> s = ComputeSummary(book, now, options);
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  return *std::move(s);
}

// The groups of `r` add up to its total, field by field.
void CheckSums(const RollupReport& r) {
  Totals sum;
  for (const Group& g : r.groups) REQUIRE(sum.Merge(g.totals));
  CHECK(sum.entries == r.total.entries);
  CHECK(sum.requests == r.total.requests);
  CHECK(sum.cost == r.total.cost);
  CHECK(sum.tokens.by_kind == r.total.tokens.by_kind);
  CHECK(sum.unpriced_entries == r.total.unpriced_entries);
  CHECK(sum.unpriced_tokens.by_kind == r.total.unpriced_tokens.by_kind);
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_MESSAGE(!doc.HasParseError(), text);
  REQUIRE(doc.IsObject());
  return doc;
}

constexpr char kSmallConfig[] = R"(
time_zone = "UTC"
[budgets]
monthly = "10.00"
)";

// Five entries over March and April 2026 (one unpriced) and one broken line.
void FillSmallLedger(const TempDir& dir, Book& book) {
  AppendAll(book, {
                      E("2026-04-10T09:00:00Z", "claude-sonnet-4-5", 69'000,
                        {"planner", "build", "acme", "s1", "search"}, 10'000, 2'000, 30'000),
                      E("2026-04-08T10:30:00Z", "gpt-5", 500'000, {"coder", "test", "acme", "s2", "search"}, 5'000,
                        1'000, 0, 4'000),
                      E("2026-04-09T00:15:00Z", "mystery-model", -1, {"coder", "", "beta", "s2", "search"}, 700, 300),
                  });
  dir.Append("ledger.jsonl", "{\"v\":1,\"id\":\"broken\"\n");
  AppendAll(book, {
                      E("2026-03-15T09:00:00Z", "gpt-5", 4'000, {"reviewer", "review", "beta", "", "ledger"}, 1'000,
                        100),
                      E("2026-04-01T08:00:00Z", "claude-haiku-4-5", 4'500,
                        {"reviewer", "review", "acme", "s3", "ledger"}, 2'000, 500),
                  });
}

TEST_CASE("summary: the Markdown of a small ledger, exactly") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, kSmallConfig);
  FillSmallLedger(dir, *book);
  SummaryOptions options;
  options.top = 2;
  options.top_sessions = 2;
  const Summary s = Compute(*book, At("2026-04-10T12:00:00Z"), options);
  const std::string expected = R"(# Token spend

As of 2026-04-10T12:00:00+00:00 (UTC); weeks start on monday. Generated by `tokenbook summary` from `ledger.jsonl`.

> **Warning: 1 unpriced entry** counts as $0.00: see [Unpriced entries](#unpriced-entries).

> **Warning: 1 ledger line skipped**: see [Skipped ledger lines](#skipped-ledger-lines).

## Totals

| Period     | Dates                  | Entries | Tokens |  Cost |
| :--------- | :--------------------- | ------: | -----: | ----: |
| Today      | 2026-04-10             |       1 | 42,000 | $0.07 |
| This week  | 2026-04-06..2026-04-12 |       3 | 53,000 | $0.57 |
| This month | 2026-04                |       4 | 55,500 | $0.57 |
| All time   | 2026-03-15..2026-04-10 |       5 | 56,600 | $0.58 |

## Budgets

| Budget  | Scope | Period  | Spent |  Limit | Used | Level | Projected |
| :------ | :---- | :------ | ----: | -----: | ---: | :---- | --------: |
| monthly | all   | 2026-04 | $0.57 | $10.00 | 5.7% | ok    |     $1.72 |

Projected: the spend at the end of the period if its pace so far holds.

## By category (2026-04)

| Category   | Entries | Tokens |    Cost |  Share |
| :--------- | ------: | -----: | ------: | -----: |
| test       |       1 | 10,000 |   $0.50 |  87.2% |
| build      |       1 | 42,000 |   $0.07 |  12.0% |
| (2 others) |       2 |  3,500 | $0.0045 |   0.8% |
| **Total**  |       4 | 55,500 |   $0.57 | 100.0% |

## By model (2026-04)

| Model             | Entries | Tokens |    Cost |  Share | Cache hit |
| :---------------- | ------: | -----: | ------: | -----: | --------: |
| gpt-5             |       1 | 10,000 |   $0.50 |  87.2% |      0.0% |
| claude-sonnet-4-5 |       1 | 42,000 |   $0.07 |  12.0% |     75.0% |
| (2 others)        |       2 |  3,500 | $0.0045 |   0.8% |      0.0% |
| **Total**         |       4 | 55,500 |   $0.57 | 100.0% |     62.9% |

## By agent (2026-04)

| Agent     | Entries | Tokens |    Cost |  Share |
| :-------- | ------: | -----: | ------: | -----: |
| coder     |       2 | 11,000 |   $0.50 |  87.2% |
| planner   |       1 | 42,000 |   $0.07 |  12.0% |
| (1 other) |       1 |  2,500 | $0.0045 |   0.8% |
| **Total** |       4 | 55,500 |   $0.57 | 100.0% |

## By project (2026-04)

| Project   | Entries | Tokens |  Cost |  Share |
| :-------- | ------: | -----: | ----: | -----: |
| acme      |       3 | 54,500 | $0.57 | 100.0% |
| beta      |       1 |  1,000 | $0.00 |   0.0% |
| **Total** |       4 | 55,500 | $0.57 | 100.0% |

## Top sessions (2026-04)

| Session   | Entries | Tokens |    Cost |  Share | First            | Last             |
| :-------- | ------: | -----: | ------: | -----: | :--------------- | :--------------- |
| s2        |       2 | 11,000 |   $0.50 |  87.2% | 2026-04-08 10:30 | 2026-04-09 00:15 |
| s1        |       1 | 42,000 |   $0.07 |  12.0% | 2026-04-10 09:00 | 2026-04-10 09:00 |
| (1 other) |       1 |  2,500 | $0.0045 |   0.8% | 2026-04-01 08:00 | 2026-04-01 08:00 |
| **Total** |       4 | 55,500 |   $0.57 | 100.0% | 2026-04-01 08:00 | 2026-04-10 09:00 |

## Cache efficiency

| Period     |  Input | Cache read | Cache write | Prompt tokens | Cache hit |
| :--------- | -----: | ---------: | ----------: | ------------: | --------: |
| Today      | 10,000 |     30,000 |           0 |        40,000 |     75.0% |
| This week  | 15,700 |     30,000 |       4,000 |        45,700 |     65.6% |
| This month | 17,700 |     30,000 |       4,000 |        47,700 |     62.9% |
| All time   | 18,700 |     30,000 |       4,000 |        48,700 |     61.6% |

Cache hit: the share of prompt tokens read from the cache (cache read / prompt tokens).

## Unpriced entries

**1 entry (1,000 tokens) could not be priced: its model is not in the rate table, so it counts as $0.00 in every figure above.** Add the model to a rate table (`[rates] files` in `config.toml`, see docs/rates-format.md).

| Model         | Entries | Tokens | First            | Last             |
| :------------ | ------: | -----: | :--------------- | :--------------- |
| mystery-model |       1 |  1,000 | 2026-04-09 00:15 | 2026-04-09 00:15 |

## Skipped ledger lines

1 line of the ledger could not be read and is left out of every figure:

- ledger.jsonl:4: invalid JSON at column 21: Missing a comma or '}' after an object member.

---

5 entries read, 1 line skipped. Amounts are exact sums of micro-dollars, rounded only for display.
)";
  CHECK(SummaryMarkdown(s) == expected);
  // Regenerating from the same ledger at the same instant gives the same bytes.
  CHECK(SummaryMarkdown(Compute(*book, At("2026-04-10T12:00:00Z"), options)) == SummaryMarkdown(s));
}


TEST_CASE("summary: every breakdown sums exactly to its period's total") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  static const char* const kAgents[] = {"a1", "a2", "a3", "a4", "a5", "a6", ""};
  static const char* const kCategories[] = {"build", "test", "review", "docs", ""};
  static const char* const kModels[] = {"m1", "m2", "m3", "m4", "m5"};
  static const char* const kProjects[] = {"p1", "p2", "p3", "p4", "p5", "p6", "p7"};
  std::vector<Entry> entries;
  Totals expected_all;
  for (int k = 0; k < 600; ++k) {
    // Spread over February to April 2026; every eleventh entry unpriced.
    Entry e = E("2026-02-01T00:00:00Z", kModels[k % 5], k % 11 == 0 ? -1 : 1 + (k * 104'729) % 90'001,
                {kAgents[k % 7], kCategories[(k / 7) % 5], kProjects[(k / 3) % 7], "", ""}, k * 31 % 5'000,
                k * 17 % 2'000, k * 13 % 9'000, k % 3 == 0 ? 500 : 0);
    e.timestamp += absl::Minutes((k * 7919) % (89 * 24 * 60));
    e.session = k % 4 == 0 ? "" : absl::StrCat("s", k % 13);
    REQUIRE(expected_all.Add(e));
    entries.push_back(std::move(e));
  }
  AppendAll(*book, std::move(entries));
  SummaryOptions options;
  options.top = 3;
  options.top_sessions = 4;
  const Summary s = Compute(*book, At("2026-03-20T12:00:00Z"), options);
  REQUIRE(s.Period("all") != nullptr);
  CHECK(s.Period("all")->report.total == expected_all);
  CHECK(s.entries_read == 600);
  const Totals& month = s.Period("month")->report.total;
  CHECK(month.entries > 0);
  CHECK(month.entries < 600);
  REQUIRE(s.breakdowns.size() == 5);
  for (const SummaryBreakdown& b : s.breakdowns) {
    CAPTURE(DimensionName(b.dimension));
    CheckSums(b.report);
    CHECK(b.report.total == month);  // the breakdown period is the month
    const size_t keep = b.dimension == Dimension::kSession ? 4 : 3;
    REQUIRE(b.report.groups.size() == keep + 1);
    CHECK(b.report.groups.back().other);
    for (size_t i = 1; i + 1 < b.report.groups.size(); ++i) {
      CHECK(b.report.groups[i - 1].totals.cost >= b.report.groups[i].totals.cost);
    }
  }
  CheckSums(s.unpriced);
  CHECK(s.unpriced.total.entries == expected_all.unpriced_entries);
  CHECK(s.unpriced.total.entries == 55);
  // The Markdown's total rows carry the same exact figures.
  const std::string md = SummaryMarkdown(s);
  int total_rows = 0;
  for (absl::string_view line : absl::StrSplit(md, '\n')) {
    if (!absl::StartsWith(line, "| **Total**")) continue;
    ++total_rows;
    CHECK_MESSAGE(absl::StrContains(line, absl::StrCat(" ", GroupDigits(month.entries), " | ")), line);
    CHECK_MESSAGE(absl::StrContains(line, absl::StrCat(" ", FormatMoney(month.cost), " | 100.0% |")), line);
  }
  CHECK(total_rows == 5);
}

TEST_CASE("summary: an empty ledger") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  const Summary s = Compute(*book, At("2026-04-10T12:00:00Z"));
  CHECK(s.entries_read == 0);
  CHECK(SummaryMarkdown(s) == R"(# Token spend

As of 2026-04-10T12:00:00+00:00 (UTC); weeks start on monday. Generated by `tokenbook summary` from `ledger.jsonl`.

## Totals

| Period     | Dates                  | Entries | Tokens |  Cost |
| :--------- | :--------------------- | ------: | -----: | ----: |
| Today      | 2026-04-10             |       0 |      0 | $0.00 |
| This week  | 2026-04-06..2026-04-12 |       0 |      0 | $0.00 |
| This month | 2026-04                |       0 |      0 | $0.00 |
| All time   | -                      |       0 |      0 | $0.00 |

## Budgets

No budget is set. Spent this month: $0.00. Suggested monthly budget: $25.00 (stage idea, from this month's pace: $25.00 to $50.00). Set one in `config.toml` under `[budgets]`.

## By category (2026-04)

No entries in this period.

## By model (2026-04)

No entries in this period.

## By agent (2026-04)

No entries in this period.

## By project (2026-04)

No entries in this period.

## Top sessions (2026-04)

No entries in this period.

## Cache efficiency

| Period     | Input | Cache read | Cache write | Prompt tokens | Cache hit |
| :--------- | ----: | ---------: | ----------: | ------------: | --------: |
| Today      |     0 |          0 |           0 |             0 |         - |
| This week  |     0 |          0 |           0 |             0 |         - |
| This month |     0 |          0 |           0 |             0 |         - |
| All time   |     0 |          0 |           0 |             0 |         - |

Cache hit: the share of prompt tokens read from the cache (cache read / prompt tokens).

---

0 entries read, 0 lines skipped. Amounts are exact sums of micro-dollars, rounded only for display.
)");
  const rapidjson::Document doc = ParseJson(SummaryJson(s));
  CHECK(doc["entries_read"].GetInt64() == 0);
  CHECK(doc["periods"][3]["totals"]["cost_micros"].GetInt64() == 0);
  CHECK(doc["periods"][3]["totals"]["cache_hit_ratio"].IsNull());
  CHECK(doc["breakdowns"]["model"]["groups"].Size() == 0);
  CHECK(doc["unpriced"]["entries"].GetInt64() == 0);
}

TEST_CASE("summary: unpriced entries are called out, by model") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  AppendAll(*book, {
                       E("2026-04-02T10:00:00Z", "zeta-local", -1, {}, 100, 50),
                       E("2026-04-03T10:00:00Z", "beta-x", -1, {}, 1'000, 0),
                       E("2026-04-04T10:00:00Z", "zeta-local", -1, {}, 10, 5),
                       E("2026-04-05T10:00:00Z", "alpha-x", -1, {}, 7, 3),
                       E("2026-04-05T11:00:00Z", "gpt-5", 1'250'000, {}, 9, 9),
                   });
  const Summary s = Compute(*book, At("2026-04-10T12:00:00Z"));
  const std::string md = SummaryMarkdown(s);
  CHECK(absl::StrContains(
      md, "> **Warning: 4 unpriced entries** count as $0.00: see [Unpriced entries](#unpriced-entries).\n"));
  CHECK(absl::StrContains(md, "**4 entries (1,175 tokens) could not be priced: their models are not in the rate table, "
                              "so they count as $0.00 in every figure above.** Add the models to a rate table"));
  // Most entries first, then by name.
  CHECK(absl::StrContains(md, R"(| Model      | Entries | Tokens | First            | Last             |
| :--------- | ------: | -----: | :--------------- | :--------------- |
| zeta-local |       2 |    165 | 2026-04-02 10:00 | 2026-04-04 10:00 |
| alpha-x    |       1 |     10 | 2026-04-05 10:00 | 2026-04-05 10:00 |
| beta-x     |       1 |  1,000 | 2026-04-03 10:00 | 2026-04-03 10:00 |
)"));
  const rapidjson::Document doc = ParseJson(SummaryJson(s));
  CHECK(doc["unpriced"]["entries"].GetInt64() == 4);
  CHECK(doc["unpriced"]["tokens"].GetInt64() == 1'175);
  const auto& models = doc["unpriced"]["models"];
  REQUIRE(models.Size() == 3);
  CHECK(std::string(models[0]["key"]["model"].GetString()) == "zeta-local");
  CHECK(models[0]["entries"].GetInt64() == 2);
  CHECK(models[0]["unpriced_entries"].GetInt64() == 2);
  CHECK(doc["periods"][2]["totals"]["unpriced_entries"].GetInt64() == 4);
  CHECK(doc["periods"][2]["totals"]["cost_micros"].GetInt64() == 1'250'000);
}

TEST_CASE("summary: today, week and month follow the zone and the week start") {
  const absl::TimeZone ny = Zone("America/New_York");
  // 2026-03-01 22:00 in New York (EST, UTC-5), a Sunday.
  const absl::Time now = At("2026-03-02T03:00:00Z");
  const std::vector<Entry> entries = {
      E("2026-03-01T04:00:00Z", "m", 1),       // Feb 28 23:00 local: this week, not this month
      E("2026-03-01T06:00:00Z", "m", 10),      // Mar 1 01:00 local: today
      E("2026-02-23T04:59:00Z", "m", 100),     // Feb 22 23:59 local: last week
      E("2026-02-23T05:00:00Z", "m", 1'000),   // Feb 23 00:00 local: the week's first instant
      E("2026-03-02T05:00:00Z", "m", 10'000),  // Mar 2 00:00 local: tomorrow, next week, this month
  };
  auto periods = [&](absl::Weekday week_start) {
    absl::StatusOr<SummaryBuilder> b = SummaryBuilder::Create(now, ny, week_start);
    REQUIRE(b.ok());
    for (const Entry& e : entries) b->Add(e);
    absl::StatusOr<Summary> s = b->Finish(BudgetReport{}, {});
    REQUIRE(s.ok());
    return *std::move(s);
  };
  const Summary monday = periods(absl::Weekday::monday);
  CHECK(monday.time_zone == "America/New_York");
  CHECK(monday.Period("today")->report.range.label == "2026-03-01");
  CHECK(monday.Period("today")->report.total.cost == Micros(10));
  CHECK(monday.Period("week")->report.range.label == "2026-02-23..2026-03-01");
  CHECK(monday.Period("week")->report.total.cost == Micros(1'011));
  CHECK(monday.Period("month")->report.range.label == "2026-03");
  CHECK(monday.Period("month")->report.total.cost == Micros(10'010));
  CHECK(monday.Period("all")->report.total.cost == Micros(11'111));
  const std::string md = SummaryMarkdown(monday);
  CHECK(absl::StrContains(md, "As of 2026-03-01T22:00:00-05:00 (America/New_York); weeks start on monday."));
  CHECK(absl::StrContains(md, "| All time   | 2026-02-22..2026-03-02 |"));

  const Summary sunday = periods(absl::Weekday::sunday);
  CHECK(sunday.Period("week")->report.range.label == "2026-03-01..2026-03-07");
  CHECK(sunday.Period("week")->report.total.cost == Micros(10'010));
}

TEST_CASE("summary: the config's zone, and --tz over it") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, "time_zone = \"Asia/Tokyo\"\nweek_start = \"sunday\"\n");
  // 2026-03-31T16:00Z is April 1, 01:00 in Tokyo.
  AppendAll(*book, {E("2026-03-31T16:00:00Z", "m", 7), E("2026-03-31T14:00:00Z", "m", 70)});
  const Summary tokyo = Compute(*book, At("2026-03-31T18:00:00Z"));
  CHECK(tokyo.time_zone == "Asia/Tokyo");
  CHECK(tokyo.week_start == absl::Weekday::sunday);
  CHECK(tokyo.Period("today")->report.total.cost == Micros(7));
  CHECK(tokyo.Period("month")->report.range.label == "2026-04");
  SummaryOptions utc;
  utc.time_zone = "UTC";
  const Summary s = Compute(*book, At("2026-03-31T18:00:00Z"), utc);
  CHECK(s.Period("today")->report.total.cost == Micros(77));
  CHECK(s.Period("month")->report.range.label == "2026-03");

  SummaryOptions bad_zone;
  bad_zone.time_zone = "Mars/Olympus";
  absl::StatusOr<Summary> bad = ComputeSummary(*book, At("2026-03-31T18:00:00Z"), bad_zone);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "Mars/Olympus"));
  SummaryOptions bad_period;
  bad_period.period = "fortnight";
  bad = ComputeSummary(*book, At("2026-03-31T18:00:00Z"), bad_period);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "fortnight"));
}

TEST_CASE("summary: hostile names cannot break a table or inject markup") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  AppendAll(*book, {
                       E("2026-04-02T10:00:00Z", "m", 300, {"a|b\nc", "<script>x</script>", "*bold*", "`s`", ""}),
                       E("2026-04-02T11:00:00Z", "m", 200, {"code_reviewer", "_under_", "[x](http://e)", "$1$", ""}),
                   });
  const std::string md = SummaryMarkdown(Compute(*book, At("2026-04-10T12:00:00Z")));
  CHECK(absl::StrContains(md, "| a\\|b c        |"));
  CHECK(absl::StrContains(md, "| code_reviewer |"));
  CHECK(absl::StrContains(md, "| \\<script\\>x\\</script\\> |"));
  CHECK(absl::StrContains(md, "| \\_under\\_ "));
  CHECK(absl::StrContains(md, "| \\*bold\\* "));
  CHECK(absl::StrContains(md, "| \\[x\\](http://e) "));
  CHECK(absl::StrContains(md, "| \\`s\\` "));
  CHECK(absl::StrContains(md, "| \\$1\\$ "));
  CHECK(!absl::StrContains(md, "<script>"));
  // Every line of a table has as many unescaped pipes as its header.
  size_t pipes = 0;
  for (absl::string_view line : absl::StrSplit(md, '\n')) {
    if (!absl::StartsWith(line, "|")) {
      pipes = 0;
      continue;
    }
    size_t n = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
      } else if (line[i] == '|') {
        ++n;
      }
    }
    if (pipes == 0) pipes = n;
    CHECK_MESSAGE(n == pipes, line);
  }
}

TEST_CASE("summary: skipped lines are counted, and listed up to a limit") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  AppendAll(*book, {E("2026-04-02T10:00:00Z", "m", 5)});
  std::string junk;
  for (int i = 0; i < 25; ++i) junk += "{\"v\":1,\"model\":\"x|<y>\"}\n";
  dir.Append("ledger.jsonl", junk);
  const Summary s = Compute(*book, At("2026-04-10T12:00:00Z"));
  CHECK(s.entries_read == 1);
  REQUIRE(s.issues.size() == 25);
  CHECK(s.issues[0].line == 2);
  CHECK(s.issues[24].line == 26);
  const std::string md = SummaryMarkdown(s);
  CHECK(absl::StrContains(md, "> **Warning: 25 ledger lines skipped**: see [Skipped ledger lines]"));
  CHECK(absl::StrContains(md, "25 lines of the ledger could not be read and are left out of every figure:\n\n"
                              "- ledger.jsonl:2: "));
  CHECK(absl::StrContains(md, "- ledger.jsonl:21: "));
  CHECK(!absl::StrContains(md, "- ledger.jsonl:22: "));
  CHECK(absl::StrContains(md, "- and 5 more\n"));
  CHECK(absl::StrContains(md, "1 entry read, 25 lines skipped."));
  const rapidjson::Document doc = ParseJson(SummaryJson(s));
  CHECK(doc["skipped_lines"].GetInt64() == 25);
  CHECK(doc["issues"].Size() == 25);
  CHECK(std::string(doc["issues"][0]["file"].GetString()) == dir.File("ledger.jsonl"));
}

TEST_CASE("summary: JSON carries the same exact figures") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, kSmallConfig);
  FillSmallLedger(dir, *book);
  SummaryOptions options;
  options.top = 2;
  const Summary s = Compute(*book, At("2026-04-10T12:00:00Z"), options);
  const rapidjson::Document doc = ParseJson(SummaryJson(s));
  CHECK(std::string(doc["now"].GetString()) == "2026-04-10T12:00:00.000Z");
  CHECK(std::string(doc["time_zone"].GetString()) == "UTC");
  CHECK(doc["entries_read"].GetInt64() == 5);
  CHECK(doc["skipped_lines"].GetInt64() == 1);
  CHECK(doc["issues"][0]["line"].GetInt64() == 4);
  REQUIRE(doc["periods"].Size() == 4);
  const int64_t expected_cost[] = {69'000, 569'000, 573'500, 577'500};
  const char* const names[] = {"today", "week", "month", "all"};
  for (int i = 0; i < 4; ++i) {
    CHECK(std::string(doc["periods"][i]["name"].GetString()) == names[i]);
    CHECK(doc["periods"][i]["totals"]["cost_micros"].GetInt64() == expected_cost[i]);
  }
  CHECK(std::string(doc["periods"][2]["totals"]["cost_usd"].GetString()) == "0.573500");
  CHECK(doc["periods"][2]["totals"]["tokens"].GetInt64() == 55'500);
  CHECK(doc["periods"][2]["totals"]["cache_hit_ratio"]["numerator"].GetInt64() == 30'000);
  const auto& agents = doc["breakdowns"]["agent"];
  CHECK(agents["folded_groups"].GetInt64() == 1);
  REQUIRE(agents["groups"].Size() == 3);
  CHECK(std::string(agents["groups"][0]["key"]["agent"].GetString()) == "coder");
  CHECK(agents["groups"][0]["cost_micros"].GetInt64() == 500'000);
  CHECK(agents["groups"][2]["other"].GetBool());
  CHECK(agents["groups"][2]["cost_micros"].GetInt64() == 4'500);
  int64_t sum = 0;
  for (const auto& g : agents["groups"].GetArray()) sum += g["cost_micros"].GetInt64();
  CHECK(sum == agents["totals"]["cost_micros"].GetInt64());
  const auto& budget = doc["budgets"]["budgets"][0];
  CHECK(std::string(budget["name"].GetString()) == "monthly");
  CHECK(budget["spent_micros"].GetInt64() == 573'500);
  CHECK(budget["projected_micros"].GetInt64() == 1'720'500);
  CHECK(std::string(budget["level"].GetString()) == "ok");
}

TEST_CASE("summary: budget levels, projections and recommendations") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, R"(
[budgets]
daily = "1.00"
monthly = "100.00"
[[budgets.scoped]]
agent = "bot"
period = "weekly"
limit = "2"
)");
  AppendAll(*book, {E("2026-04-10T01:00:00Z", "m", 1'200'000, {"bot"}),
                    E("2026-04-07T01:00:00Z", "m", 650'000, {"bot"})});
  const std::string md = SummaryMarkdown(Compute(*book, At("2026-04-10T12:00:00Z")));
  CHECK(absl::StrContains(md, R"(| Budget           | Scope     | Period                 | Spent |   Limit |   Used | Level        | Projected |
| :--------------- | :-------- | :--------------------- | ----: | ------: | -----: | :----------- | --------: |
| daily            | all       | 2026-04-10             | $1.20 |   $1.00 | 120.0% | **exceeded** |     $2.22 |
| monthly          | all       | 2026-04                | $1.85 | $100.00 |   1.8% | ok           |     $5.55 |
| agent:bot:weekly | agent:bot | 2026-04-06..2026-04-12 | $1.85 |   $2.00 |  92.5% | **warning**  |     $2.59 |

Projected: the spend at the end of the period if its pace so far holds.

- daily: Increase the budget: it is already exceeded.
- agent:bot:weekly: Reduce usage: at this rate the budget runs out before the period ends.
)"));
}

TEST_CASE("summary: the file is replaced atomically and keeps its mode") {
  TempDir dir;
  const std::string path = dir.File("summary.md");
  REQUIRE(WriteFileAtomically(path, "first\n").ok());
  CHECK(dir.Read("summary.md") == "first\n");
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  CHECK((st.st_mode & 0777) == (0644 & ~mask));
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  REQUIRE(WriteFileAtomically(path, "second\n").ok());
  CHECK(dir.Read("summary.md") == "second\n");
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  // No temporary file is left behind.
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    (void)f;
    ++files;
  }
  CHECK(files == 1);

  // A path under a regular file cannot be written, whoever runs the test.
  const absl::Status under_file = WriteFileAtomically(dir.File("summary.md/x.md"), "x");
  CHECK(under_file.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(under_file.message(), dir.File("summary.md/x.md")));
  const absl::Status missing_dir = WriteFileAtomically(dir.File("no/such/dir/x.md"), "x");
  CHECK(missing_dir.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(missing_dir.message(), "no/such/dir/x.md"));
  const absl::Status a_directory = WriteFileAtomically(dir.path(), "x");
  CHECK(!a_directory.ok());
  CHECK(dir.Read("summary.md") == "second\n");
}

TEST_CASE("feature cost: totals, agents, categories and timeline from one scan") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, kSmallConfig);
  FillSmallLedger(dir, *book);
  ReportSpec spec;  // the period defaults to all
  spec.period = "";
  absl::StatusOr<FeatureCostResult> r =
      ComputeFeatureCost(*book, "search", spec, TimeBucket::kDay, At("2026-04-10T12:00:00Z"));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->cost.feature == "search");
  CHECK(r->cost.range.label == "all");
  CHECK(r->cost.total.entries == 3);
  CHECK(r->cost.total.cost == Micros(569'000));
  CHECK(r->cost.total.unpriced_entries == 1);
  CHECK(r->entries_read == 5);
  REQUIRE(r->issues.size() == 1);
  CHECK(r->issues[0].line == 4);
  REQUIRE(r->cost.by_agent.size() == 2);
  CHECK(r->cost.by_agent[0].values[0] == "coder");
  CHECK(r->cost.by_agent[0].totals.cost == Micros(500'000));
  CHECK(r->cost.by_agent[1].values[0] == "planner");
  REQUIRE(r->cost.timeline.size() == 3);
  CHECK(r->cost.timeline[0].values[0] == "2026-04-08");
  CHECK(r->cost.timeline[2].values[0] == "2026-04-10");
  CHECK(r->features == std::vector<std::string>{"search", "ledger"});

  const rapidjson::Document doc = ParseJson(FeatureCostJson(*r));
  CHECK(std::string(doc["feature"].GetString()) == "search");
  CHECK(doc["period"]["start"].IsNull());
  CHECK(std::string(doc["bucket"].GetString()) == "day");
  CHECK(doc["totals"]["cost_micros"].GetInt64() == 569'000);
  CHECK(std::string(doc["totals"]["cost_usd"].GetString()) == "0.569000");
  for (const char* part : {"by_agent", "by_category", "timeline", "phases"}) {
    CAPTURE(part);
    int64_t cost = 0, entries = 0;
    for (const auto& g : doc[part].GetArray()) {
      cost += g["cost_micros"].GetInt64();
      entries += g["entries"].GetInt64();
    }
    CHECK(cost == 569'000);
    CHECK(entries == 3);
  }
  CHECK(std::string(doc["timeline"][0]["key"]["day"].GetString()) == "2026-04-08");
  CHECK(std::string(doc["timeline"][0]["start"].GetString()) == "2026-04-08T00:00:00.000Z");
  CHECK(std::string(doc["phases"][0]["key"]["category"].GetString()) == "test");

  // A period narrows it; a feature without entries is an empty result.
  spec.period = "2026-04-09";
  r = ComputeFeatureCost(*book, "search", spec, TimeBucket::kDay, At("2026-04-10T12:00:00Z"));
  REQUIRE(r.ok());
  CHECK(r->cost.total.entries == 1);
  CHECK(r->cost.total.cost == Micros(0));
  CHECK(r->features == std::vector<std::string>{"search"});
  spec.period = "all";
  r = ComputeFeatureCost(*book, "nope", spec, TimeBucket::kWeek, At("2026-04-10T12:00:00Z"));
  REQUIRE(r.ok());
  CHECK(r->cost.total.entries == 0);
  CHECK(r->cost.by_agent.empty());
  CHECK(r->cost.timeline.empty());
  spec.period = "someday";
  r = ComputeFeatureCost(*book, "search", spec, TimeBucket::kDay, At("2026-04-10T12:00:00Z"));
  CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("display helpers") {
  CHECK(GroupDigits(0) == "0");
  CHECK(GroupDigits(999) == "999");
  CHECK(GroupDigits(1'000) == "1,000");
  CHECK(GroupDigits(-1'234'567) == "-1,234,567");
  CHECK(GroupDigits(static_cast<__int128>(INT64_MAX) * 4) == "36,893,488,147,419,103,228");
  TokenCounts t;
  t[TokenKind::kInput] = Tokens(INT64_MAX);
  t[TokenKind::kOutput] = Tokens(10);
  t[TokenKind::kReasoning] = Tokens(4);  // within output, not added again
  t[TokenKind::kCacheRead] = Tokens(INT64_MAX);
  CHECK(TotalTokens(t) == static_cast<__int128>(INT64_MAX) * 2 + 10);
  CHECK(CostShare(Micros(1), Micros(3)) == "33.3%");
  CHECK(CostShare(Micros(2), Micros(3)) == "66.7%");
  CHECK(CostShare(Micros(1), Micros(0)) == "-");
  CHECK(CostShare(Micros(1), Micros(-5)) == "-");
  CHECK(PercentText(Ratio{1, 8}) == "12.5%");
  CHECK(PercentText(Ratio{0, 0}) == "-");
}

}  // namespace
}  // namespace tokenbook
