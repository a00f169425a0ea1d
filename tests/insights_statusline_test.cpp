// Tests of the status line (lib/tokenbook/insights.h): Claude Code's input
// read field by field with every field optional, hostile input, and the
// line's figures from one pass over a crafted ledger.
#include <stdlib.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/config.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_json.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;

// The shape Claude Code writes (shared/data/formats/claude-code-statusline-input.json).
constexpr char kSample[] = R"({
  "session_id": "6513270e-269e-4d37-b2a7-4de452e6b438",
  "transcript_path": "/home/dev/.claude/projects/-home-dev-work-proj-0/6513270e.jsonl",
  "cwd": "/home/dev/work/proj-0",
  "version": "2.1.9",
  "model": { "id": "claude-opus-4-6", "display_name": "Opus" },
  "workspace": { "current_dir": "/home/dev/work/proj-0", "project_dir": "/home/dev/work/proj-0" },
  "output_style": { "name": "default" },
  "exceeds_200k_tokens": false,
  "cost": { "total_cost_usd": 1.2345, "total_duration_ms": 600000, "total_api_duration_ms": 200000,
            "total_lines_added": 120, "total_lines_removed": 30 }
})";

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

TEST_CASE("Status-line input: Claude Code's fields, the cost exact") {
  absl::StatusOr<StatusLineInput> in = ParseStatusLineInput(kSample);
  REQUIRE_MESSAGE(in.ok(), in.status().ToString());
  CHECK(in->session_id == "6513270e-269e-4d37-b2a7-4de452e6b438");
  CHECK(in->model_id == "claude-opus-4-6");
  CHECK(in->model_name == "Opus");
  REQUIRE(in->session_cost.has_value());
  CHECK(*in->session_cost == Micros(1'234'500));
}

TEST_CASE("Status-line input: every field optional, wrong types ignored") {
  absl::StatusOr<StatusLineInput> in = ParseStatusLineInput("{}");
  REQUIRE(in.ok());
  CHECK(in->session_id.empty());
  CHECK(in->model_name.empty());
  CHECK_FALSE(in->session_cost.has_value());

  in = ParseStatusLineInput(R"({"session_id": 7, "model": "Opus", "cost": {"total_cost_usd": "abc"}})");
  REQUIRE(in.ok());
  CHECK(in->session_id.empty());
  CHECK(in->model_name.empty());
  CHECK_FALSE(in->session_cost.has_value());

  in = ParseStatusLineInput(R"({"model": {"id": null, "display_name": ["x"]}, "cost": 3})");
  REQUIRE(in.ok());
  CHECK(in->model_id.empty());
  CHECK_FALSE(in->session_cost.has_value());

  CHECK_FALSE(ParseStatusLineInput(R"({"cost": {"total_cost_usd": -1}})")->session_cost.has_value());
  CHECK_FALSE(ParseStatusLineInput(R"({"cost": {"total_cost_usd": 1e30}})")->session_cost.has_value());
  // Rounded half-even to the micro-dollar, from the decimal text.
  CHECK(*ParseStatusLineInput(R"({"cost": {"total_cost_usd": 0.1234565}})")->session_cost == Micros(123'456));
  CHECK(*ParseStatusLineInput(R"({"cost": {"total_cost_usd": 0.1234575}})")->session_cost == Micros(123'458));
  CHECK(*ParseStatusLineInput(R"({"cost": {"total_cost_usd": 3e-6}})")->session_cost == Micros(3));
}

TEST_CASE("Status-line input: not a JSON object is an error") {
  for (const char* bad : {"[]", "\"text\"", "{", "{\"a\":}", "null"}) {
    CAPTURE(bad);
    absl::StatusOr<StatusLineInput> in = ParseStatusLineInput(bad);
    REQUIRE_FALSE(in.ok());
    CHECK(in.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StartsWith(in.status().message(), "status-line input: "));
  }
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-statusline-test-XXXXXX";
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

Entry Spend(absl::Time t, int64_t cost, const std::string& session, const std::string& provider = "anthropic") {
  Entry e;
  e.timestamp = t;
  e.model = provider == "anthropic" ? "claude-opus-4-6" : "gpt-5";
  e.provider = provider;
  e.cost = Micros(cost);
  e.cost_source = CostSource::kOverride;
  e.session = session;
  return e;
}

TEST_CASE("Status line: session, today, the active block, burn rate and the most used budget") {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir.path());
  REQUIRE(ledger.ok());
  for (const Entry& e : {Spend(Utc(2026, 4, 9, 12), 5 * kDollar, ""),     // yesterday
                         Spend(Utc(2026, 4, 10, 8), kDollar, "s-other"),  // today, an earlier block
                         Spend(Utc(2026, 4, 10, 20, 5), kDollar, "S"),    // the active block
                         Spend(Utc(2026, 4, 10, 20, 35), 500'000, "S"),
                         Spend(Utc(2026, 4, 10, 20, 40), 300'000, "", "openai")}) {  // today, not a Claude block
    REQUIRE((*ledger)->Append(e).ok());
  }
  absl::StatusOr<Config> config = ParseConfig("[budgets]\ndaily = 10\nmonthly = 100\nsession = 5\n", "config.toml");
  REQUIRE(config.ok());
  const absl::Time now = Utc(2026, 4, 10, 21, 5);

  absl::StatusOr<StatusLineInput> in = ParseStatusLineInput(kSample);
  REQUIRE(in.ok());
  in->session_id = "S";
  absl::StatusOr<StatusLine> line = ComputeStatusLine(ledger->get(), *config, *in, now);
  REQUIRE_MESSAGE(line.ok(), line.status().ToString());
  CHECK(line->today == Micros(2'800'000));
  REQUIRE(line->ledger_session_cost.has_value());
  CHECK(*line->ledger_session_cost == Micros(1'500'000));
  REQUIRE(line->block.has_value());
  CHECK(line->block->totals.cost == Micros(1'500'000));
  REQUIRE(line->budget.has_value());
  CHECK(line->budget->budget.name == "session");
  CHECK(line->budget->percent_bp == 3'000);
  CHECK(FormatStatusLine(*line) ==
        "Opus | session $1.50 | today $2.80 | block $1.50, 3h55m left | $1.50/h | session 30%");

  // A session the ledger has not seen yet: Claude Code's own figure; the
  // session budget is then at 0% and the daily one is the most used.
  in->session_id = "new";
  line = ComputeStatusLine(ledger->get(), *config, *in, now);
  REQUIRE(line.ok());
  CHECK_FALSE(line->ledger_session_cost.has_value());
  CHECK(FormatStatusLine(*line) ==
        "Opus | session $1.23 | today $2.80 | block $1.50, 3h55m left | $1.50/h | daily 28%");

  // No input at all, after the block has ended.
  line = ComputeStatusLine(ledger->get(), *config, StatusLineInput{}, Utc(2026, 4, 11, 1, 0));
  REQUIRE(line.ok());
  CHECK(FormatStatusLine(*line) == "today $0.00 | no active block | monthly 8%");
}

// The line from the quarter-hour cache must equal the line from a full scan,
// whatever the zone, the order of the timestamps and the moment of the call.
void ExpectCachedEqualsScan(const Ledger* ledger, const Config& config, const StatusLineInput& in, absl::Time now) {
  absl::StatusOr<StatusLine> cached = ComputeStatusLine(ledger, config, in, now, /*use_cache=*/true);
  absl::StatusOr<StatusLine> scanned = ComputeStatusLine(ledger, config, in, now, /*use_cache=*/false);
  REQUIRE_MESSAGE(cached.ok(), cached.status().ToString());
  REQUIRE_MESSAGE(scanned.ok(), scanned.status().ToString());
  CHECK(StatusLineJson(*cached) == StatusLineJson(*scanned));
  CHECK(cached->session_entries == scanned->session_entries);
  CHECK(cached->block.has_value() == scanned->block.has_value());
  if (cached->block.has_value() && scanned->block.has_value()) {
    CHECK(cached->block->totals == scanned->block->totals);
    CHECK(cached->block->models == scanned->block->models);
    CHECK(cached->block->start == scanned->block->start);
  }
}

TEST_CASE("Status line: the cache gives the figures of a full scan, read incrementally") {
  for (const char* zone : {"UTC", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"}) {
    CAPTURE(zone);
    TempDir dir;
    absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir.path());
    REQUIRE(ledger.ok());
    absl::StatusOr<Config> config = ParseConfig(
        absl::StrCat("time_zone = \"", zone, "\"\n[budgets]\ndaily = 10\nweekly = 40\nmonthly = 100\nsession = 5\n"),
        "config.toml");
    REQUIRE(config.ok());
    StatusLineInput in;
    in.session_id = "s-3";
    std::mt19937_64 rng(42);
    const absl::Time base = Utc(2026, 4, 1);
    const absl::Time now = Utc(2026, 4, 20, 21, 7, 13);
    const char* models[] = {"claude-opus-4-6", "claude-sonnet-4-5", "gpt-5"};
    for (int round = 0; round < 6; ++round) {
      // Out of time order on purpose: each round spreads over three weeks.
      std::vector<Entry> batch;
      for (int i = 0; i < 150; ++i) {
        Entry e = Spend(base + absl::Seconds(static_cast<int64_t>(rng() % (20 * 86400 + 80000))),
                        static_cast<int64_t>(rng() % 400'000), absl::StrCat("s-", rng() % 7));
        const char* model = models[rng() % 3];
        e.model = model;
        e.provider = absl::StartsWith(model, "claude") ? "anthropic" : "openai";
        e.tokens.by_kind[0] = Tokens(static_cast<int64_t>(rng() % 5000));
        e.tokens.by_kind[1] = Tokens(static_cast<int64_t>(rng() % 900));
        batch.push_back(std::move(e));
      }
      // A burst just before `now`, so a block is active.
      batch.push_back(Spend(now - absl::Minutes(70 + round), 120'000, "s-3"));
      REQUIRE((*ledger)->AppendBatch(std::move(batch)).ok());
      ExpectCachedEqualsScan(ledger->get(), *config, in, now);
      ExpectCachedEqualsScan(ledger->get(), *config, in, now + absl::Hours(round * 7));
    }
    struct stat st;
    CHECK(::stat((dir.path() + "/cache/statusline.bin").c_str(), &st) == 0);
  }
}

TEST_CASE("Status line: the cache notices a torn line, a replaced ledger and a damaged cache") {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir.path());
  REQUIRE(ledger.ok());
  absl::StatusOr<Config> config = ParseConfig("[budgets]\ndaily = 10\n", "config.toml");
  REQUIRE(config.ok());
  StatusLineInput in;
  in.session_id = "S";
  const absl::Time now = Utc(2026, 4, 10, 21, 5);
  REQUIRE((*ledger)->Append(Spend(Utc(2026, 4, 10, 20), kDollar, "S")).ok());
  absl::StatusOr<StatusLine> line = ComputeStatusLine(ledger->get(), *config, in, now);
  REQUIRE(line.ok());
  CHECK(line->today == Micros(kDollar));

  // A write in progress (no newline yet) is left for the next call.
  const std::string path = (*ledger)->ledger_path();
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"v":1,"id":"01KAAAAAAAAAAAAAAAAAAAAAAA","ts":"2026-04-10T20:30:00.000Z","mod)";
  }
  line = ComputeStatusLine(ledger->get(), *config, in, now);
  REQUIRE(line.ok());
  CHECK(line->today == Micros(kDollar));
  // The next append closes the torn line (skipped) and adds its own.
  REQUIRE((*ledger)->Append(Spend(Utc(2026, 4, 10, 20, 40), 250'000, "S")).ok());
  ExpectCachedEqualsScan(ledger->get(), *config, in, now);
  line = ComputeStatusLine(ledger->get(), *config, in, now);
  REQUIRE(line.ok());
  CHECK(line->today == Micros(1'250'000));
  CHECK(line->session_entries == 2);

  // The ledger replaced by another file (a checkout, a restore): read whole again.
  ledger->reset();
  std::filesystem::remove(path);
  ledger = Ledger::Open(dir.path());
  REQUIRE(ledger.ok());
  REQUIRE((*ledger)->Append(Spend(Utc(2026, 4, 10, 9), 3 * kDollar, "T")).ok());
  line = ComputeStatusLine(ledger->get(), *config, in, now);
  REQUIRE(line.ok());
  CHECK(line->today == Micros(3 * kDollar));
  CHECK_FALSE(line->ledger_session_cost.has_value());

  // A damaged cache is rebuilt, never trusted.
  const std::string cache = dir.path() + "/cache/statusline.bin";
  for (size_t keep : {size_t{0}, size_t{7}, size_t{60}}) {
    std::filesystem::resize_file(cache, keep);
    ExpectCachedEqualsScan(ledger->get(), *config, in, now);
  }
  {
    std::fstream f(cache, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-9, std::ios::end);
    f.put('\x7f');
  }
  ExpectCachedEqualsScan(ledger->get(), *config, in, now);
}

TEST_CASE("Status line without a ledger shows the input's figures") {
  absl::StatusOr<StatusLineInput> in = ParseStatusLineInput(kSample);
  REQUIRE(in.ok());
  absl::StatusOr<StatusLine> line = ComputeStatusLine(nullptr, Config{}, *in, Utc(2026, 4, 10));
  REQUIRE(line.ok());
  CHECK(FormatStatusLine(*line) == "Opus | session $1.23 | no ledger");
  CHECK(StatusLineJson(*line) ==
        R"({"line":"Opus | session $1.23 | no ledger","model":"Opus","session_id":)"
        R"("6513270e-269e-4d37-b2a7-4de452e6b438","session_source":"input","session_cost_micros":1234500,)"
        R"("session_cost_usd":"1.234500","ledger_found":false,"today_micros":0,"today_usd":"0.000000",)"
        R"("block":null,"budget":null})");
}

}  // namespace
}  // namespace tokenbook
