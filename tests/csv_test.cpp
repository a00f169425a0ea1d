// CSV output: RFC 4180 quoting, the unambiguous tags cell, and one exact
// record per entry.
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/csv.h"
#include "tokenbook/entry.h"

namespace {

using tokenbook::AppendCsvField;
using tokenbook::AppendCsvRecord;
using tokenbook::AppendEntryCsv;
using tokenbook::AppendEntryCsvHeader;
using tokenbook::CostSource;
using tokenbook::EncodeCsvTags;
using tokenbook::Entry;
using tokenbook::EntryCsvColumns;
using tokenbook::Micros;
using tokenbook::TokenKind;
using tokenbook::Tokens;

std::string Field(absl::string_view s) {
  std::string out;
  AppendCsvField(s, &out);
  return out;
}

TEST_CASE("csv: a field is quoted only when it must be, with quotes doubled") {
  CHECK(Field("plain text") == "plain text");
  CHECK(Field("") == "");
  CHECK(Field("a,b") == "\"a,b\"");
  CHECK(Field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(Field("\"") == "\"\"\"\"");
  CHECK(Field("line 1\nline 2") == "\"line 1\nline 2\"");
  CHECK(Field("cr\r") == "\"cr\r\"");
  CHECK(Field("semi;colon=equals") == "semi;colon=equals");
  CHECK(Field("caf\xC3\xA9") == "caf\xC3\xA9");  // bytes pass through
}

TEST_CASE("csv: a record joins fields with commas and ends with CRLF") {
  std::string out;
  AppendCsvRecord({"a", "b,c", ""}, &out);
  AppendCsvRecord({""}, &out);
  CHECK(out == "a,\"b,c\",\r\n\r\n");
}

TEST_CASE("csv: tags escape exactly %, ; and = so that the cell splits back unambiguously") {
  CHECK(EncodeCsvTags({}) == "");
  CHECK(EncodeCsvTags({{"env", "ci"}, {"team", "core"}}) == "env=ci;team=core");
  CHECK(EncodeCsvTags({{"a=b", "c;d"}, {"pct", "100%"}}) == "a%3Db=c%3Bd;pct=100%25");
  CHECK(EncodeCsvTags({{"k", ""}}) == "k=");
  CHECK(EncodeCsvTags({{"k", "%3B"}}) == "k=%253B");  // an encoded-looking value stays itself
}

TEST_CASE("csv: the columns follow the token kinds and dimensions in order") {
  const std::vector<absl::string_view>& cols = EntryCsvColumns();
  REQUIRE(cols.size() == 30);
  for (int k = 0; k < tokenbook::kTokenKindCount; ++k) {
    CHECK(cols[static_cast<size_t>(4 + k)] ==
          absl::StrCat(tokenbook::TokenKindName(tokenbook::kAllTokenKinds[static_cast<size_t>(k)]), "_tokens"));
  }
  size_t i = 15;
  for (const auto& [dim, name] : tokenbook::kDimensionNames) {
    if (dim == tokenbook::Dimension::kModel || dim == tokenbook::Dimension::kProvider) continue;
    CHECK(cols[i++] == name);
  }
  CHECK(cols[i] == "duration_ms");
  std::string header;
  AppendEntryCsvHeader(&header);
  CHECK(header ==
        "id,timestamp,model,provider,input_tokens,output_tokens,cache_read_tokens,cache_write_5m_tokens,"
        "cache_write_1h_tokens,reasoning_tokens,requests,cost_micros,cost_usd,cost_source,rates_as_of,session,"
        "agent,category,action_type,action,feature,project,tool,task_type,service_tier,duration_ms,tags,notes,"
        "source_kind,source_key\r\n");
}

TEST_CASE("csv: an entry is one exact record") {
  Entry e;
  e.id = "01JD3Q5Z8X9K2M4N6P7R0S1T2V";
  e.timestamp = absl::FromCivil(absl::CivilSecond(2026, 11, 22, 5, 49, 4), absl::UTCTimeZone()) +
                absl::Microseconds(123999);  // written to the millisecond, rounded down
  e.model = "claude-sonnet-4-5";
  e.provider = "anthropic";
  e.tokens[TokenKind::kInput] = Tokens(12000);
  e.tokens[TokenKind::kOutput] = Tokens(4500);
  e.tokens[TokenKind::kCacheRead] = Tokens(30000);
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(2000);
  e.requests = 2;
  e.cost = Micros(117150);
  e.cost_source = CostSource::kComputed;
  e.rates_as_of = "2026-11-01";
  e.session = "s,1";
  e.agent = "planner";
  e.action_type = "skill";
  e.service_tier = "batch";
  e.duration_ms = 5300;
  e.tags = {{"env", "ci"}, {"team", "a;b"}};
  e.notes = "said \"ok\",\nthen left";
  e.source_kind = "migrate";
  e.source_key = "migrate:abc:1";
  std::string out;
  REQUIRE(AppendEntryCsv(e, &out).ok());
  CHECK(out ==
        "01JD3Q5Z8X9K2M4N6P7R0S1T2V,2026-11-22T05:49:04.123Z,claude-sonnet-4-5,anthropic,12000,4500,30000,2000,0,0,"
        "2,117150,0.117150,computed,2026-11-01,\"s,1\",planner,,skill,,,,,,batch,5300,env=ci;team=a%3Bb,"
        "\"said \"\"ok\"\",\nthen left\",migrate,migrate:abc:1\r\n");

  Entry bare;
  bare.id = "x";
  bare.timestamp = absl::FromUnixMillis(1);
  bare.model = "m";
  bare.cost_source = CostSource::kUnpriced;
  std::string row;
  REQUIRE(AppendEntryCsv(bare, &row).ok());
  CHECK(row == "x,1970-01-01T00:00:00.001Z,m,,0,0,0,0,0,0,1,0,0.000000,unpriced,,,,,,,,,,,,,,,,\r\n");
}

TEST_CASE("csv: a timestamp the ledger cannot hold is an error and appends nothing") {
  Entry e;
  e.id = "x";
  e.model = "m";
  e.timestamp = absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  std::string out = "kept";
  CHECK_FALSE(AppendEntryCsv(e, &out).ok());
  CHECK(out == "kept");
}

}  // namespace
