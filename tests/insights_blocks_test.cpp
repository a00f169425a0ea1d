// Tests of the usage blocks in lib/tokenbook/insights.h: boundaries (hour
// rounding, the half-open end, gaps, unsorted input), sums, burn rate with
// its rounding, and the active block's projection.
#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_json.h"

namespace tokenbook {
namespace {

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

Entry At(absl::Time t, int64_t cost, int64_t input, const std::string& model = "claude-sonnet-4-5",
         const std::string& provider = "anthropic") {
  Entry e;
  e.timestamp = t;
  e.model = model;
  e.provider = provider;
  e.cost = Micros(cost);
  e.cost_source = CostSource::kOverride;
  e.tokens[TokenKind::kInput] = Tokens(input);
  return e;
}

std::vector<UsageBlock> Blocks(const std::vector<Entry>& entries, absl::Time now, bool claude_only = false) {
  BlockBuilder b({}, claude_only);
  for (const Entry& e : entries) b.Add(e);
  absl::StatusOr<std::vector<UsageBlock>> out = b.Finish(now);
  REQUIRE_MESSAGE(out.ok(), out.status().ToString());
  return *out;
}

TEST_CASE("Usage blocks start on the first entry's hour and end five hours later") {
  // 13:59:59.999 is inside the first block; 14:00:00.000 is its end, so it
  // starts the next; 20:30 comes after a pause and starts a third.
  const std::vector<Entry> entries = {
      At(Utc(2026, 4, 10, 9, 10), 1'000, 100),  At(Utc(2026, 4, 10, 9, 40), 2'000, 200),
      At(Utc(2026, 4, 10, 10, 30), 3'000, 300), At(Utc(2026, 4, 10, 13, 59, 59) + absl::Milliseconds(999), 4'000, 400),
      At(Utc(2026, 4, 10, 14, 0), 5'000, 500),  At(Utc(2026, 4, 10, 20, 30), 6'000, 600),
  };
  const std::vector<UsageBlock> blocks = Blocks(entries, Utc(2026, 4, 11, 12, 0));
  REQUIRE(blocks.size() == 3);
  CHECK(blocks[0].start == Utc(2026, 4, 10, 9, 0));
  CHECK(blocks[0].end == Utc(2026, 4, 10, 14, 0));
  CHECK(blocks[0].totals.entries == 4);
  CHECK(blocks[0].totals.cost == Micros(10'000));
  CHECK(blocks[0].tokens == 1'000);
  CHECK(blocks[0].gap_before == absl::ZeroDuration());
  CHECK(blocks[1].start == Utc(2026, 4, 10, 14, 0));
  CHECK(blocks[1].end == Utc(2026, 4, 10, 19, 0));
  CHECK(blocks[1].totals.entries == 1);
  CHECK(blocks[1].gap_before == absl::ZeroDuration());
  CHECK(blocks[2].start == Utc(2026, 4, 10, 20, 0));
  CHECK(blocks[2].end == Utc(2026, 4, 11, 1, 0));
  CHECK(blocks[2].gap_before == absl::Hours(1));
  for (const UsageBlock& b : blocks) CHECK_FALSE(b.active);

  // The ledger's order does not matter: ingestion may append out of order.
  std::vector<Entry> shuffled = entries;
  std::reverse(shuffled.begin(), shuffled.end());
  std::swap(shuffled[1], shuffled[4]);
  const std::vector<UsageBlock> again = Blocks(shuffled, Utc(2026, 4, 11, 12, 0));
  REQUIRE(again.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(again[i].start == blocks[i].start);
    CHECK(again[i].totals == blocks[i].totals);
  }
}

TEST_CASE("Usage blocks: the hour is rounded down in UTC, and a later block never overlaps an earlier one") {
  const std::vector<UsageBlock> blocks =
      Blocks({At(Utc(2026, 4, 10, 10, 55, 30), 1, 1), At(Utc(2026, 4, 10, 15, 10), 1, 1),
              At(Utc(2026, 4, 10, 19, 59), 1, 1), At(Utc(2026, 4, 10, 20, 0), 1, 1)},
             Utc(2026, 5, 1));
  REQUIRE(blocks.size() == 3);
  CHECK(blocks[0].start == Utc(2026, 4, 10, 10, 0));
  // 15:10 is past 15:00, the first block's end: its own hour, 15:00.
  CHECK(blocks[1].start == Utc(2026, 4, 10, 15, 0));
  CHECK(blocks[1].totals.entries == 2);  // 15:10 and 19:59
  CHECK(blocks[2].start == Utc(2026, 4, 10, 20, 0));
}

TEST_CASE("Usage blocks list the models used, sorted, and count unpriced entries") {
  Entry unpriced = At(Utc(2026, 4, 10, 9, 20), 0, 50, "mystery");
  unpriced.cost_source = CostSource::kUnpriced;
  const std::vector<UsageBlock> blocks =
      Blocks({At(Utc(2026, 4, 10, 9, 0), 10, 1, "claude-sonnet-4-5"), unpriced,
              At(Utc(2026, 4, 10, 9, 30), 10, 1, "claude-haiku-4-5"), At(Utc(2026, 4, 10, 9, 40), 10, 1)},
             Utc(2026, 5, 1));
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].models == std::vector<std::string>{"claude-haiku-4-5", "claude-sonnet-4-5", "mystery"});
  CHECK(blocks[0].totals.unpriced_entries == 1);
  CHECK(blocks[0].totals.cost == Micros(30));
}

TEST_CASE("Usage blocks: only what a Claude subscription meters, when asked") {
  // An entry logged with a cost given by hand has no provider: its model's name decides.
  Entry by_hand = At(Utc(2026, 4, 10, 9, 30), 5, 1, "Claude-Opus-4-6", "");
  Entry other_by_hand = At(Utc(2026, 4, 10, 9, 40), 7, 1, "gpt-5", "");
  const std::vector<Entry> entries = {At(Utc(2026, 4, 10, 9, 0), 10, 1), by_hand, other_by_hand,
                                      At(Utc(2026, 4, 10, 8, 0), 99, 1, "gpt-5", "openai"),
                                      At(Utc(2026, 4, 10, 8, 30), 99, 1, "claude-via-proxy", "openrouter")};
  std::vector<UsageBlock> blocks = Blocks(entries, Utc(2026, 5, 1), /*claude_only=*/true);
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].start == Utc(2026, 4, 10, 9, 0));
  CHECK(blocks[0].totals.cost == Micros(15));
  blocks = Blocks(entries, Utc(2026, 5, 1));
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].start == Utc(2026, 4, 10, 8, 0));
  CHECK(blocks[0].totals.cost == Micros(220));

  CHECK(IsClaudeUsage(At(Utc(2026, 4, 10), 1, 1, "anything", "anthropic")));
  CHECK_FALSE(IsClaudeUsage(At(Utc(2026, 4, 10), 1, 1, "claude-sonnet-4-5", "bedrock")));
}

TEST_CASE("Burn rate of a finished block: first to last entry, per hour, rounded half-even") {
  // 30 minutes between the first and the last entry: the rates are doubled.
  const std::vector<UsageBlock> blocks = Blocks(
      {At(Utc(2026, 4, 10, 9, 0), 1'000'000, 1'000), At(Utc(2026, 4, 10, 9, 30), 2'000'001, 2'001)}, Utc(2026, 4, 11));
  REQUIRE(blocks.size() == 1);
  REQUIRE(blocks[0].burn.has_value());
  CHECK(blocks[0].burn->window == absl::Minutes(30));
  CHECK(blocks[0].burn->cost_per_hour == Micros(6'000'002));
  CHECK(blocks[0].burn->tokens_per_hour == 6'002);
  CHECK_FALSE(blocks[0].projection.has_value());
}

TEST_CASE("BurnOver rounds half to even and needs a minute") {
  // 1 µ$ over 2 hours is 0.5 µ$/h -> 0; 3 µ$ is 1.5 -> 2; 5 µ$ is 2.5 -> 2.
  std::optional<BurnRate> r = BurnOver(1, Micros(1), absl::Hours(2));
  REQUIRE(r.has_value());
  CHECK(r->cost_per_hour == Micros(0));
  CHECK(r->tokens_per_hour == 0);
  r = BurnOver(3, Micros(3), absl::Hours(2));
  REQUIRE(r.has_value());
  CHECK(r->cost_per_hour == Micros(2));
  CHECK(r->tokens_per_hour == 2);
  r = BurnOver(5, Micros(5), absl::Hours(2));
  REQUIRE(r.has_value());
  CHECK(r->cost_per_hour == Micros(2));
  CHECK_FALSE(BurnOver(100, Micros(100), absl::Seconds(60) - absl::Milliseconds(1)).has_value());
  r = BurnOver(100, Micros(100), absl::Seconds(60));
  REQUIRE(r.has_value());
  CHECK(r->cost_per_hour == Micros(6'000));
  CHECK(r->tokens_per_hour == 6'000);
}

TEST_CASE("The active block: burn rate up to now and a projection to its end") {
  const std::vector<Entry> entries = {At(Utc(2026, 4, 10, 14, 0), 7, 1),  // an earlier block
                                      At(Utc(2026, 4, 10, 20, 5), 1'000'000, 10'000),
                                      At(Utc(2026, 4, 10, 20, 35), 500'000, 5'000)};
  const absl::Time now = Utc(2026, 4, 10, 21, 5);
  const std::vector<UsageBlock> blocks = Blocks(entries, now);
  REQUIRE(blocks.size() == 2);
  CHECK_FALSE(blocks[0].active);
  const UsageBlock& b = blocks[1];
  CHECK(b.active);
  CHECK(b.start == Utc(2026, 4, 10, 20, 0));
  REQUIRE(b.burn.has_value());
  CHECK(b.burn->window == absl::Hours(1));  // 20:05 -> 21:05
  CHECK(b.burn->cost_per_hour == Micros(1'500'000));
  CHECK(b.burn->tokens_per_hour == 15'000);
  REQUIRE(b.projection.has_value());
  CHECK(b.projection->remaining == absl::Hours(3) + absl::Minutes(55));
  // 1,500,000 × (1 h + 3 h 55 min) / 1 h
  CHECK(b.projection->cost == Micros(7'375'000));
  CHECK(b.projection->tokens == 73'750);
  CHECK(FormatHoursMinutes(b.projection->remaining) == "3h55m");
}

TEST_CASE("The active block's projection rounds once, half-even") {
  // 1 µ$ spent over 2 minutes (20:00 -> 20:02), 4 h 58 min left: 1 × 300 / 2 = 150 exactly;
  // 1 µ$ over 7 minutes, 4 h 53 min left: 300 / 7 = 42.857... -> 43.
  std::vector<UsageBlock> blocks = Blocks({At(Utc(2026, 4, 10, 20, 0), 1, 1)}, Utc(2026, 4, 10, 20, 2));
  REQUIRE(blocks[0].projection.has_value());
  CHECK(blocks[0].projection->cost == Micros(150));
  blocks = Blocks({At(Utc(2026, 4, 10, 20, 0), 1, 1)}, Utc(2026, 4, 10, 20, 7));
  REQUIRE(blocks[0].projection.has_value());
  CHECK(blocks[0].projection->cost == Micros(43));
}

TEST_CASE("An active block under a minute old has no burn rate or projection yet") {
  const std::vector<UsageBlock> blocks = Blocks({At(Utc(2026, 4, 10, 20, 30), 10, 10)}, Utc(2026, 4, 10, 20, 30, 59));
  REQUIRE(blocks.size() == 1);
  CHECK(blocks[0].active);
  CHECK_FALSE(blocks[0].burn.has_value());
  CHECK_FALSE(blocks[0].projection.has_value());
}

TEST_CASE("A block is active from its start up to, not including, its end") {
  const std::vector<Entry> entries = {At(Utc(2026, 4, 10, 9, 30), 10, 10)};
  CHECK(Blocks(entries, Utc(2026, 4, 10, 13, 59, 59))[0].active);
  CHECK_FALSE(Blocks(entries, Utc(2026, 4, 10, 14, 0))[0].active);
  // Rounded down to the millisecond like the timestamps: 09:00 minus half a millisecond is before the start.
  CHECK_FALSE(Blocks(entries, Utc(2026, 4, 10, 9, 0) - absl::Microseconds(500))[0].active);
}

TEST_CASE("No entries, no blocks") {
  CHECK(Blocks({}, Utc(2026, 4, 10)).empty());
  CHECK(BlocksJson({}, Utc(2026, 4, 10)) == R"({"now":"2026-04-10T00:00:00.000Z","block_hours":5,"blocks":[]})");
}

TEST_CASE("Usage block JSON") {
  const std::vector<UsageBlock> blocks =
      Blocks({At(Utc(2026, 4, 10, 20, 5), 1'000'000, 10'000), At(Utc(2026, 4, 10, 20, 35), 500'000, 5'000)},
             Utc(2026, 4, 10, 21, 5));
  CHECK(BlocksJson(blocks, Utc(2026, 4, 10, 21, 5)) ==
        R"({"now":"2026-04-10T21:05:00.000Z","block_hours":5,"blocks":[{"start":"2026-04-10T20:00:00.000Z",)"
        R"("end":"2026-04-11T01:00:00.000Z","active":true,"gap_before_ms":0,"first_entry":"2026-04-10T20:05:00.000Z",)"
        R"("last_entry":"2026-04-10T20:35:00.000Z","entries":2,"requests":2,"tokens":15000,"tokens_by_kind":)"
        R"({"input":15000,"output":0,"cache_read":0,"cache_write_5m":0,"cache_write_1h":0,"reasoning":0},)"
        R"("cost_micros":1500000,"cost_usd":"1.500000","unpriced_entries":0,"models":["claude-sonnet-4-5"],)"
        R"("burn_rate":{"window_ms":3600000,"tokens_per_hour":15000,"cost_per_hour_micros":1500000,)"
        R"("cost_per_hour_usd":"1.500000"},"projection":{"remaining_ms":14100000,"tokens":73750,)"
        R"("cost_micros":7375000,"cost_usd":"7.375000"}}]})");
}

TEST_CASE("FormatHoursMinutes") {
  CHECK(FormatHoursMinutes(absl::ZeroDuration()) == "0m");
  CHECK(FormatHoursMinutes(absl::Seconds(59)) == "0m");
  CHECK(FormatHoursMinutes(absl::Minutes(45)) == "45m");
  CHECK(FormatHoursMinutes(absl::Hours(2) + absl::Minutes(5)) == "2h05m");
  CHECK(FormatHoursMinutes(-absl::Minutes(3)) == "0m");
}

}  // namespace
}  // namespace tokenbook
