// Hostile input to every parser of outside data: invalid UTF-8, NUL bytes,
// numbers beyond 64 bits, 100,000 levels of nesting. Each must give a clear
// error that names the field (or the line), never a crash. The regressions of
// what fuzz/ found are here too (fuzz/README.md, "Crashes found and fixed").
// The end-to-end half (300 MB lines, symlinks, ownership) is
// tests/cli/test_hostile_cli.py.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tokenbook/config.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ingest.h"
#include "tokenbook/insights.h"
#include "tokenbook/rate_sources.h"

namespace {

using tokenbook::DecodeEntryJson;
using tokenbook::Entry;

constexpr char kGood[] =
    R"({"v":1,"id":"01JD3Q5Z8X9K2M4N6P7R0S1T2V","ts":"2026-11-22T05:49:04.123Z","model":"claude-sonnet-4-5",)"
    R"("tokens":{"input":12000,"output":4500},"requests":1,"cost_micros":103500,"cost_source":"computed"})";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

std::string Nested(int levels, const char* open, const char* close) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += open;
  for (int i = 0; i < levels; ++i) s += close;
  return s;
}

void ExpectError(const absl::Status& s, const std::string& needle) {
  CHECK_FALSE(s.ok());
  CHECK_MESSAGE(absl::StrContains(s.message(), needle), s.message());
}

}  // namespace

TEST_CASE("Hostile ledger lines: each is refused naming the field") {
  REQUIRE(DecodeEntryJson(kGood).ok());
  const std::string good = kGood;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Replace(good, "claude-sonnet", "claude-\xff"), "invalid UTF-8"},
      {Replace(good, "claude-sonnet", "claude-\xed\xa0\x80"), "invalid UTF-8"},  // an encoded surrogate
      {Replace(good, "claude-sonnet", std::string("claude\0sonnet", 13)), "column 89: a NUL byte"},
      {Replace(good, "12000", "18446744073709551616"), "field \"tokens.input\": integer 18446744073709551616 is out"},
      {Replace(good, "12000", "1e400"), "Number too big"},  // RapidJSON's own check: a column, not a field
      {Replace(good, "12000", "-1"), "field \"tokens.input\": must not be negative"},
      {Replace(good, "103500", "9223372036854775808"), "field \"cost_micros\""},
      {Replace(good, "\"requests\":1", "\"requests\":" + Nested(100'000, "[", "]")), "field \"requests\""},
      {Replace(good, "\"requests\":1", "\"x\":" + Nested(100'000, "[", "]") + ",\"requests\":1"), ""},
      {"{\"v\":1,\"x\":" + std::string(100'000, '['), "invalid JSON"},
  };
  for (const auto& [line, needle] : cases) {
    CAPTURE(needle);
    absl::StatusOr<Entry> e = DecodeEntryJson(line);
    if (needle.empty()) {
      CHECK(e.ok());  // deep nesting in an unknown field is skipped, iteratively
    } else {
      ExpectError(e.status(), needle);
    }
  }
}

TEST_CASE("Hostile ledger lines: a \\u escape of a lone low surrogate is not UTF-8 (found by fuzz_ledger_line)") {
  // RapidJSON 1.1 decodes "\udc00" to the bytes ED B0 80; the encoder then
  // refused to write the entry the decoder had accepted.
  const std::string good = kGood;
  ExpectError(DecodeEntryJson(Replace(good, "claude-sonnet", "claude\\udc00")).status(),
              "field \"model\": a \\u escape stands for a lone UTF-16 surrogate");
  ExpectError(DecodeEntryJson(Replace(good, "\"requests\":1", "\"tags\":{\"k\\udfff\":\"v\"},\"requests\":1")).status(),
              "field \"tags\"");
  // A real pair, and a lone surrogate in a field this reader ignores, are fine.
  absl::StatusOr<Entry> pair = DecodeEntryJson(Replace(good, "claude-sonnet", "claude\\ud83d\\ude00"));
  REQUIRE(pair.ok());
  CHECK(pair->model == "claude\xf0\x9f\x98\x80-4-5");
  CHECK(DecodeEntryJson(Replace(good, "\"requests\":1", "\"later\":\"\\udc00\",\"requests\":1")).ok());
}

TEST_CASE("Hostile status-line input: 100,000 levels of nesting do not overflow the stack") {
  // The reader was recursive: this input crashed `tokenbook statusline`.
  CHECK_FALSE(tokenbook::ParseStatusLineInput(Nested(100'000, "[", "]")).ok());
  CHECK(tokenbook::ParseStatusLineInput("{\"x\":" + Nested(100'000, "[", "]") + "}").ok());
  std::string cost = "{\"cost\":";
  for (int i = 0; i < 100'000; ++i) cost += "{\"a\":";
  cost += "1" + std::string(100'000, '}') + "}";
  CHECK(tokenbook::ParseStatusLineInput(cost).ok());
  CHECK_FALSE(tokenbook::ParseStatusLineInput(std::string(100'000, '{')).ok());
}

TEST_CASE("Hostile config and rate tables: errors name the line") {
  const std::vector<std::pair<std::string, std::string>> config_cases = {
      {"time_zone = \"Europe/\xff\"\n", "config.toml:1"},
      {std::string("[budgets]\nmonthly = \"1\0\"\n", 23), "config.toml:2"},
      {"[budgets]\nmonthly = 18446744073709551616\n", "config.toml:2"},
      {"[budgets]\nmonthly = 1e400\n", "config.toml:2"},
      {"[budgets]\nmonthly = -1\n", "config.toml:2"},
      {"[budgets]\nmonthly = " + std::string(100'000, '[') + "\n", "config.toml:2"},
      // toml++ 3.3 reached __builtin_unreachable() on these (found by fuzz_config_toml).
      {"[caf\xc3\xa9]\n", "config.toml:1:5: invalid TOML: a character beyond ASCII"},
      {"[budgets]\nmonthly = 0000000000\"\xd0\xb2\"\n", "config.toml:2:22"},
      {"[budgets]\nmonthly =  1mon1[\"r\xc2\xbc" "C\"\n", "config.toml:2:"},
      {"[budgets]\nmonthly = [}]\n", "config.toml:2"},
      // libstdc++'s regex compiler overflowed a long on this (found by fuzz_config_toml).
      {"[[router.rules]]\npattern = \"a{99999999999999999999}\"\ntier = \"top\"\n", "config.toml:2:11"},
      {"[[router.rules]]\npattern = \"(a)\\\\99999999999999999999\"\ntier = \"top\"\n", "beyond 999999"},
  };
  for (const auto& [text, needle] : config_cases) {
    CAPTURE(needle);
    ExpectError(tokenbook::ParseConfig(text, "config.toml").status(), needle);
  }
  // Valid TOML with such characters in strings, quoted keys and comments still reads.
  CHECK(tokenbook::ParseConfig("# caf\xc3\xa9\ntime_zone = \"UTC\" # \xc3\xbc\n", "config.toml").ok());
  const std::string head = "schema = 1\nas_of = \"2026-01-01\"\n[[models]]\nid = \"m\"\nprovider = \"p\"\n";
  for (const std::string& bad : {std::string("input = 1e400\n"), std::string("input = 18446744073709551616\n"),
                                 std::string("input = -1\n"), std::string("input = \"3\xff\"\n")}) {
    CAPTURE(bad);
    ExpectError(tokenbook::ParseRateTableToml(head + bad, "rates.toml").status(), "rates.toml:6");
  }
  ExpectError(tokenbook::ParseRateTableToml("schema = " + std::string(100'000, '['), "rates.toml").status(),
              "rates.toml:1");
}

TEST_CASE("Hostile LiteLLM databases: refused, not crashed") {
  CHECK_FALSE(tokenbook::ParseLiteLlmJson(std::string(100'000, '['), "x.json").ok());
  CHECK_FALSE(tokenbook::ParseLiteLlmJson("{\"m\xff\":{\"input_cost_per_token\":1e-6}}", "x.json").ok());
  CHECK_FALSE(tokenbook::ParseLiteLlmJson(std::string("{\"m\":{\"input_cost_per_token\":1\0}}", 33), "x.json").ok());
  absl::StatusOr<tokenbook::RateTable> huge =
      tokenbook::ParseLiteLlmJson(R"({"m":{"input_cost_per_token":1e400,"output_cost_per_token":1e-6}})", "x.json");
  if (huge.ok()) CHECK(huge->size() == 0);  // skipped with a warning, or refused: never priced
}

TEST_CASE("Hostile ingest lines and documents: unusable with a reason, never a crash") {
  tokenbook::ClaudeCodeLineParser parser;
  Entry e;
  int64_t total = 0;
  std::string reason;
  auto parse = [&](std::string line) {
    reason.clear();
    line.push_back('\0');
    return parser.Parse(line.data(), line.size() - 1, "folder", &e, &total, &reason);
  };
  const std::string cc =
      R"({"type":"assistant","timestamp":"2026-05-01T10:00:00.000Z","sessionId":"s1","message":{"id":"msg_1",)"
      R"("model":"claude-sonnet-4-5","usage":{"input_tokens":100,"output_tokens":10}}})";
  REQUIRE(parse(cc) == tokenbook::LineKind::kUsage);
  CHECK(parse(Replace(cc, "100", "18446744073709551616")) == tokenbook::LineKind::kUnusable);
  CHECK(parse(Replace(cc, "100", "1e400")) == tokenbook::LineKind::kUnusable);
  CHECK(parse(Replace(cc, "100", "-1")) == tokenbook::LineKind::kUnusable);
  CHECK(parse(Replace(cc, "claude-sonnet", "claude\\udc00")) == tokenbook::LineKind::kUnusable);
  CHECK(parse(Replace(cc, "claude-sonnet", "claude-\xff")) == tokenbook::LineKind::kUnusable);
  CHECK(parse("{\"usage\":" + Nested(100'000, "[", "]") + "}") != tokenbook::LineKind::kUsage);
  // A count given as an array or an object is an error, not a silent zero.
  CHECK(parse(Replace(cc, "100", Nested(100'000, "[", "]"))) == tokenbook::LineKind::kUnusable);
  CHECK(reason == "field \"message.usage.input_tokens\": an array");
  CHECK(parse(Replace(cc, "100", "{\"n\":100}")) == tokenbook::LineKind::kUnusable);
  CHECK(reason == "field \"message.usage.input_tokens\": an object");
  CHECK(parse("{\"message\":{\"usage\":" + std::string(100'000, '{')) == tokenbook::LineKind::kUnusable);

  tokenbook::DocumentContext ctx;
  ctx.now = absl::FromUnixSeconds(1'780'000'000);
  using tokenbook::IngestSource;
  ExpectError(tokenbook::ParseUsageDocument(IngestSource::kAnthropicResponse,
                                            R"({"model":"claude\udc00","usage":{"input_tokens":1}})", ctx)
                  .status(),
              "field \"model\": not valid UTF-8");
  ExpectError(tokenbook::ParseUsageDocument(IngestSource::kOpenAiResponse,
                                            R"({"model":"gpt-5","usage":{"prompt_tokens":18446744073709551616}})", ctx)
                  .status(),
              "usage.prompt_tokens");
  CHECK_FALSE(tokenbook::ParseUsageDocument(IngestSource::kClaudeJson, Nested(100'000, "[", "]"), ctx).ok());
}
