// The ledger line format: exact encoding, lossless round trips, and strict
// decoding whose errors name the field.
#include <string>
#include <utility>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"

namespace {

using tokenbook::CostSource;
using tokenbook::DecodeEntryJson;
using tokenbook::Entry;
using tokenbook::EntryDecoder;
using tokenbook::EntryToJson;
using tokenbook::Micros;
using tokenbook::TokenKind;
using tokenbook::Tokens;

absl::Time At(int y, int mo, int d, int h, int mi, int s, int ms = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()) + absl::Milliseconds(ms);
}

Entry FullEntry() {
  Entry e;
  e.id = "01JD3Q5Z8X9K2M4N6P7R0S1T2V";
  e.timestamp = At(2026, 11, 22, 5, 49, 4, 123);
  e.model = "claude-sonnet-4-5";
  e.provider = "anthropic";
  e.tokens[TokenKind::kInput] = Tokens(12000);
  e.tokens[TokenKind::kOutput] = Tokens(4500);
  e.tokens[TokenKind::kCacheRead] = Tokens(30000);
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(2000);
  e.tokens[TokenKind::kCacheWrite1h] = Tokens(1000);
  e.tokens[TokenKind::kReasoning] = Tokens(800);
  e.requests = 1;
  e.cost = Micros(117150);
  e.cost_source = CostSource::kComputed;
  e.rates_as_of = "2026-11-01";
  e.session = "sess-42";
  e.agent = "planner";
  e.category = "build";
  e.action_type = "skill";
  e.action = "write-tests";
  e.feature = "ledger";
  e.project = "tokenbook";
  e.tool = "claude-code";
  e.task_type = "coding";
  e.service_tier = "batch";
  e.duration_ms = 5300;
  e.tags = {{"team", "core"}, {"env", "ci"}};  // written sorted by key
  e.notes = "first \"line\"\nsecond \xE2\x9C\x93 \\ \x01";
  e.source_kind = "claude-code";
  e.source_key = "cc:abc:1";
  return e;
}

constexpr char kFullLine[] =
    R"({"v":1,"id":"01JD3Q5Z8X9K2M4N6P7R0S1T2V","ts":"2026-11-22T05:49:04.123Z",)"
    R"("model":"claude-sonnet-4-5","provider":"anthropic","tokens":{"input":12000,"output":4500,)"
    R"("cache_read":30000,"cache_write_5m":2000,"cache_write_1h":1000,"reasoning":800},)"
    R"("requests":1,"cost_micros":117150,"cost_usd":"0.117150","cost_source":"computed",)"
    R"("rates_as_of":"2026-11-01","session":"sess-42","agent":"planner","category":"build",)"
    R"("action_type":"skill","action":"write-tests","feature":"ledger","project":"tokenbook",)"
    R"("tool":"claude-code","task_type":"coding","service_tier":"batch","duration_ms":5300,)"
    R"("tags":{"env":"ci","team":"core"},"notes":"first \"line\"\nsecond )"
    "\xE2\x9C\x93"
    R"( \\ \u0001","source":{"kind":"claude-code","key":"cc:abc:1"}})";

// A minimal valid line with `extra` spliced in before the closing brace.
std::string MinimalLine(const std::string& extra = "") {
  return absl::StrCat(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05.006Z","model":"m",)",
                      R"("tokens":{"input":1},"cost_micros":0,"cost_source":"unpriced")", extra, "}");
}

std::string DecodeError(const std::string& line) {
  absl::StatusOr<Entry> e = DecodeEntryJson(line);
  if (e.ok()) return "ok";
  return std::string(e.status().message());
}

void CheckSame(const Entry& a, const Entry& b) {
  CHECK(a.id == b.id);
  CHECK(a.timestamp == b.timestamp);
  CHECK(a.model == b.model);
  CHECK(a.provider == b.provider);
  for (TokenKind k : tokenbook::kAllTokenKinds) CHECK(a.tokens[k] == b.tokens[k]);
  CHECK(a.requests == b.requests);
  CHECK(a.cost == b.cost);
  CHECK(a.cost_source == b.cost_source);
  CHECK(a.rates_as_of == b.rates_as_of);
  for (const auto& [dim, name] : tokenbook::kDimensionNames) CHECK(a.Get(dim) == b.Get(dim));
  CHECK(a.duration_ms == b.duration_ms);
  CHECK(a.tags == b.tags);
  CHECK(a.notes == b.notes);
  CHECK(a.source_kind == b.source_kind);
  CHECK(a.source_key == b.source_key);
}

TEST_CASE("EntryJson: an entry with every field encodes to the documented line") {
  absl::StatusOr<std::string> line = EntryToJson(FullEntry());
  REQUIRE(line.ok());
  CHECK(*line == kFullLine);
}

TEST_CASE("EntryJson: every field survives a round trip") {
  Entry in = FullEntry();
  absl::StatusOr<std::string> line = EntryToJson(in);
  REQUIRE(line.ok());
  absl::StatusOr<Entry> out = DecodeEntryJson(*line);
  REQUIRE_MESSAGE(out.ok(), out.status());
  in.tags = {{"env", "ci"}, {"team", "core"}};
  CheckSame(in, *out);

  SUBCASE("cost sources and signs") {
    for (CostSource cs : {CostSource::kComputed, CostSource::kOverride, CostSource::kReported,
                          CostSource::kUnpriced}) {
      for (int64_t cost : {int64_t{0}, int64_t{1}, int64_t{-2500001}, int64_t{9'223'372'036'854'775'807},
                           int64_t{-9'223'372'036'854'775'807} - 1}) {
        Entry e = FullEntry();
        e.cost_source = cs;
        e.cost = Micros(cost);
        absl::StatusOr<std::string> l = EntryToJson(e);
        REQUIRE(l.ok());
        absl::StatusOr<Entry> back = DecodeEntryJson(*l);
        REQUIRE_MESSAGE(back.ok(), back.status());
        CHECK(back->cost == Micros(cost));
        CHECK(back->cost_source == cs);
      }
    }
  }
}

TEST_CASE("EntryJson: absent dimensions and zero token kinds are left out, and read back either way") {
  Entry e;
  e.id = "X";
  e.timestamp = At(2026, 1, 2, 3, 4, 5, 6);
  e.model = "m";
  e.tokens[TokenKind::kInput] = Tokens(1);
  e.cost_source = CostSource::kUnpriced;
  absl::StatusOr<std::string> line = EntryToJson(e);
  REQUIRE(line.ok());
  CHECK(*line ==
        R"({"v":1,"id":"X","ts":"2026-01-02T03:04:05.006Z","model":"m","tokens":{"input":1},"requests":1,)"
        R"("cost_micros":0,"cost_usd":"0.000000","cost_source":"unpriced"})");
  absl::StatusOr<Entry> explicit_zeros = DecodeEntryJson(
      R"({"v":1,"id":"X","ts":"2026-01-02T03:04:05.006Z","model":"m","tokens":{"input":1,"output":0,)"
      R"("cache_read":0,"cache_write_5m":0,"cache_write_1h":0,"reasoning":0},"requests":1,"cost_micros":0,)"
      R"("cost_source":"unpriced"})");
  REQUIRE(explicit_zeros.ok());
  CheckSame(e, *explicit_zeros);
  // tokens and requests may be absent: zero tokens, one request.
  absl::StatusOr<Entry> bare =
      DecodeEntryJson(R"({"v":1,"id":"X","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":5,"cost_source":"override"})");
  REQUIRE(bare.ok());
  CHECK(bare->requests == 1);
  CHECK(bare->tokens.input() == Tokens(0));
  CHECK(bare->timestamp == At(2026, 1, 2, 3, 4, 5));
}

TEST_CASE("EntryJson: decoding errors name the field") {
  CHECK(DecodeError(MinimalLine()) == "ok");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":1.5,"cost_source":"computed"})") ==
        R"(field "cost_micros": expected an integer, got 1.5)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":"12","cost_source":"computed"})") ==
        R"(field "cost_micros": expected an integer, got a string)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":1e3,"cost_source":"computed"})") ==
        R"(field "cost_micros": expected an integer, got 1e3)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":9223372036854775808,"cost_source":"computed"})") ==
        R"(field "cost_micros": integer 9223372036854775808 is out of range (beyond 64 bits))");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":-9223372036854775808,"cost_source":"computed"})") ==
        "ok");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":-9223372036854775809,"cost_source":"computed"})") ==
        R"(field "cost_micros": integer -9223372036854775809 is out of range (beyond 64 bits))");
  CHECK(DecodeError(MinimalLine(R"(,"tokens":{"input":-1})")) == R"(field "tokens": appears twice)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","tokens":{"input":-1},"cost_micros":0,"cost_source":"computed"})") ==
        R"(field "tokens.input": must not be negative, got -1)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","tokens":{"cache_read":2.5},"cost_micros":0,"cost_source":"computed"})") ==
        R"(field "tokens.cache_read": expected an integer, got 2.5)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","tokens":{"output":99999999999999999999},"cost_micros":0,"cost_source":"computed"})") ==
        R"(field "tokens.output": integer 99999999999999999999 is out of range (beyond 64 bits))");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","tokens":[1],"cost_micros":0,"cost_source":"computed"})") ==
        R"(field "tokens": expected an object, got an array)");
  CHECK(DecodeError(MinimalLine(R"(,"requests":-3)")) == R"(field "requests": must not be negative, got -3)");
  CHECK(DecodeError(MinimalLine(R"(,"duration_ms":-1)")) == R"(field "duration_ms": must not be negative, got -1)");
  CHECK(DecodeError(MinimalLine(R"(,"session":7)")) == R"(field "session": expected a string, got a number)");
  CHECK(DecodeError(MinimalLine(R"(,"agent":null)")) == R"(field "agent": expected a string, got null)");
  CHECK(DecodeError(MinimalLine(R"(,"project":{"a":1})")) == R"(field "project": expected a string, got an object)");
  CHECK(DecodeError(MinimalLine(R"(,"tags":{"team":1})")) == R"(field "tags.team": expected a string, got a number)");
  CHECK(DecodeError(MinimalLine(R"(,"tags":{"a":"x","a":"y"})")) == R"(field "tags": key "a" appears twice)");
  CHECK(DecodeError(MinimalLine(R"(,"source":{"key":true})")) == R"(field "source.key": expected a string, got a boolean)");
  CHECK(DecodeError(MinimalLine(R"(,"model":"again")")) == R"(field "model": appears twice)");
  CHECK(DecodeError(MinimalLine(R"(,"cost_usd":"0.000001")")) ==
        R"(field "cost_usd": "0.000001" does not match cost_micros 0 (expected "0.000000"))");
  CHECK(DecodeError(MinimalLine(R"(,"cost_usd":"0.0")")) == "ok");  // the same amount, written shorter
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":0,"cost_source":"free"})") ==
        R"(field "cost_source": unknown value "free" (expected computed, override, reported or unpriced))");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-02-30T03:04:05Z","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "ts": expected a UTC time like "2026-11-22T05:49:04.123Z", got "2026-02-30T03:04:05Z")");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05+01:00","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "ts": expected a UTC time like "2026-11-22T05:49:04.123Z", got "2026-01-02T03:04:05+01:00")");
  CHECK(DecodeError(R"({"v":1,"id":"","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "id": must not be empty)");
  CHECK(DecodeError(R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "model": missing)");
  CHECK(DecodeError(R"({"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "v": missing)");
}

TEST_CASE("EntryJson: schema versions other than 1 are refused clearly") {
  CHECK(DecodeError(R"({"v":2,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "v": schema version 2 is newer than this reader understands (1); upgrade tokenbook to read this line)");
  // Even when the rest of a newer line means something else to us.
  CHECK(DecodeError(R"({"v":3,"cost":{"amount":"1.00"},"tokens":7})") ==
        R"(field "v": schema version 3 is newer than this reader understands (1); upgrade tokenbook to read this line)");
  CHECK(DecodeError(R"({"v":0,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "v": unknown schema version 0)");
  CHECK(DecodeError(R"({"v":"1","id":"A","ts":"2026-01-02T03:04:05Z","model":"m","cost_micros":0,"cost_source":"computed"})") ==
        R"(field "v": expected an integer, got a string)");
}

TEST_CASE("EntryJson: unknown fields are accepted, at any depth, for forward compatibility") {
  absl::StatusOr<Entry> e = DecodeEntryJson(MinimalLine(
      R"(,"region":"eu","meta":{"a":[1,2,{"b":null}],"c":{}},"tokens_v2":[],)"
      R"("source":{"kind":"codex","key":"k1","line":12},"flag":true,"n":1.5)"));
  REQUIRE_MESSAGE(e.ok(), e.status());
  CHECK(e->source_kind == "codex");
  CHECK(e->source_key == "k1");
  // Unknown token kinds are ignored too.
  absl::StatusOr<Entry> t = DecodeEntryJson(
      R"({"v":1,"id":"A","ts":"2026-01-02T03:04:05Z","model":"m","tokens":{"input":5,"audio_input":{"x":1}},"cost_micros":0,"cost_source":"computed"})");
  REQUIRE_MESSAGE(t.ok(), t.status());
  CHECK(t->tokens.input() == Tokens(5));
}

TEST_CASE("EntryJson: malformed JSON, invalid UTF-8 and hostile nesting are errors, not crashes") {
  CHECK(DecodeError("") == "invalid JSON at column 1: The document is empty.");
  CHECK(DecodeError(R"({"v":1,"id":"A")") == "invalid JSON at column 16: Missing a comma or '}' after an object member.");
  CHECK(DecodeError("[1,2]") == "expected a JSON object");
  CHECK(DecodeError("42") == "expected a JSON object");
  CHECK(DecodeError(MinimalLine() + " {}") == absl::StrCat("invalid JSON at column ", MinimalLine().size() + 2,
                                                           ": The document root must not be followed by other values."));
  CHECK(DecodeError(MinimalLine() + "  \r") == "ok");
  std::string nul = MinimalLine();
  nul.push_back('\0');
  nul += "junk";
  CHECK(DecodeError(nul) == absl::StrCat("invalid JSON at column ", MinimalLine().size() + 1, ": a NUL byte"));
  CHECK(DecodeError(MinimalLine(",\"notes\":\"bad \xC3\x28 byte\"")).rfind("invalid JSON at column ", 0) == 0);
  CHECK(DecodeError(MinimalLine(",\"notes\":\"surrogate \xED\xA0\x80\"")).rfind("invalid JSON at column ", 0) == 0);
  CHECK(DecodeError(MinimalLine(R"(,"notes":"lone \ud800")")).rfind("invalid JSON at column ", 0) == 0);
  // 100,000 levels: the iterative parser keeps them off the C stack.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(DecodeError(MinimalLine(absl::StrCat(",\"x\":", deep))) == "ok");
  CHECK(DecodeError(deep) == "expected a JSON object");
  CHECK(DecodeError(std::string(100000, '[')).rfind("invalid JSON at column 100001", 0) == 0);
}

TEST_CASE("EntryJson: a reused decoder clears what the previous line set") {
  EntryDecoder decoder;
  Entry e;
  absl::StatusOr<std::string> full = EntryToJson(FullEntry());
  REQUIRE(full.ok());
  REQUIRE(decoder.Decode(*full, &e).ok());
  CHECK(e.tags.size() == 2);
  REQUIRE(decoder.Decode(MinimalLine(), &e).ok());
  CHECK(e.id == "A");
  CHECK(e.provider.empty());
  CHECK(e.session.empty());
  CHECK(e.notes.empty());
  CHECK(e.tags.empty());
  CHECK(!e.duration_ms.has_value());
  CHECK(e.source_key.empty());
  CHECK(e.tokens.output() == Tokens(0));
  CHECK(e.requests == 1);
  CHECK(e.cost_source == CostSource::kUnpriced);
  CHECK(!decoder.Decode("{", &e).ok());
  REQUIRE(decoder.Decode(*full, &e).ok());
  CHECK(e.source_key == "cc:abc:1");
}

TEST_CASE("EntryJson: the encoder refuses entries that could not be read back") {
  auto error = [](Entry e) {
    absl::StatusOr<std::string> line = EntryToJson(e);
    return line.ok() ? std::string("ok") : std::string(line.status().message());
  };
  Entry e = FullEntry();
  CHECK(error(e) == "ok");
  e.id.clear();
  CHECK(error(e) == R"(field "id": must not be empty)");
  e = FullEntry();
  e.model.clear();
  CHECK(error(e) == R"(field "model": must not be empty)");
  e = FullEntry();
  e.tokens[TokenKind::kCacheRead] = Tokens(-1);
  CHECK(error(e) == R"(field "tokens.cache_read": must not be negative)");
  e = FullEntry();
  e.requests = -1;
  CHECK(error(e) == R"(field "requests": must not be negative)");
  e = FullEntry();
  e.action_type = "robot";
  CHECK(error(e) == R"(field "action_type": "robot" is not one of skill, agent, manual, scheduled)");
  e = FullEntry();
  e.tags = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  CHECK(error(e) == R"(field "tags": key "a" appears twice)");
  e = FullEntry();
  e.tags = {{"", "1"}};
  CHECK(error(e) == R"(field "tags": a tag key is empty)");
  e = FullEntry();
  e.agent = "bad \xC3\x28";
  CHECK(error(e) == R"(field "agent": not valid UTF-8)");
  e = FullEntry();
  e.source_key = "\xED\xA0\x80";
  CHECK(error(e) == R"(field "source": not valid UTF-8)");
  e = FullEntry();
  e.tags = {{"k", "\xFF"}};
  CHECK(error(e) == R"(field "tags": not valid UTF-8)");
  e = FullEntry();
  e.timestamp = At(10000, 1, 1, 0, 0, 0);
  CHECK(error(e) == R"(field "ts": outside years 0000..9999)");
  e = FullEntry();
  e.notes = std::string(tokenbook::kMaxLedgerLineBytes, 'x');
  CHECK(error(e).rfind(R"(field "notes": the entry would take )", 0) == 0);

  std::string out = "keep";
  e = FullEntry();
  e.model.clear();
  CHECK(!tokenbook::EncodeEntryJson(e, &out).ok());
  CHECK(out == "keep");  // untouched on failure
}

TEST_CASE("EntryJson: ledger timestamps") {
  CHECK(*tokenbook::FormatLedgerTime(At(2026, 11, 22, 5, 49, 4, 123)) == "2026-11-22T05:49:04.123Z");
  CHECK(*tokenbook::FormatLedgerTime(At(1969, 12, 31, 23, 59, 59, 999)) == "1969-12-31T23:59:59.999Z");
  CHECK(*tokenbook::FormatLedgerTime(At(2024, 2, 29, 0, 0, 0)) == "2024-02-29T00:00:00.000Z");
  CHECK(*tokenbook::FormatLedgerTime(At(0, 1, 1, 0, 0, 0)) == "0000-01-01T00:00:00.000Z");
  CHECK(*tokenbook::FormatLedgerTime(At(9999, 12, 31, 23, 59, 59, 999)) == "9999-12-31T23:59:59.999Z");
  // Rounded down to the millisecond, also before 1970.
  CHECK(*tokenbook::FormatLedgerTime(At(2026, 1, 1, 0, 0, 0) + absl::Microseconds(999)) == "2026-01-01T00:00:00.000Z");
  CHECK(*tokenbook::FormatLedgerTime(absl::UnixEpoch() - absl::Microseconds(1)) == "1969-12-31T23:59:59.999Z");
  CHECK(!tokenbook::FormatLedgerTime(absl::InfiniteFuture()).ok());

  CHECK(*tokenbook::ParseLedgerTime("2024-02-29T12:00:00Z") == At(2024, 2, 29, 12, 0, 0));
  CHECK(*tokenbook::ParseLedgerTime("2026-11-22T05:49:04.1Z") == At(2026, 11, 22, 5, 49, 4, 100));
  CHECK(*tokenbook::ParseLedgerTime("2026-11-22T05:49:04.123456789Z") ==
        At(2026, 11, 22, 5, 49, 4) + absl::Nanoseconds(123456789));
  for (const char* bad : {"2023-02-29T12:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
                          "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",
                          "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00.Z",
                          "2026-01-01T00:00:00.1234567890Z", "2026-1-01T00:00:00Z", "2026-01-01T00:00:00z",
                          "2026-01-01T00:00:00Zx", ""}) {
    CHECK_MESSAGE(!tokenbook::ParseLedgerTime(bad).ok(), bad);
  }
  // Every day of a leap-year cycle survives format then parse.
  for (absl::Time t = At(2000, 1, 1, 0, 0, 0); t < At(2004, 1, 1, 0, 0, 0); t += absl::Hours(23) + absl::Milliseconds(7)) {
    absl::StatusOr<std::string> s = tokenbook::FormatLedgerTime(t);
    REQUIRE(s.ok());
    CHECK(*tokenbook::ParseLedgerTime(*s) == t);
    CHECK(*s == absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
  }
}

}  // namespace

TEST_CASE("EntryJson: the simdjson fast path decodes exactly as the exact reader does") {
  EntryDecoder fast;
  EntryDecoder exact;
  exact.set_exact_only(true);
  std::vector<std::string> lines;
  Entry full = FullEntry();
  std::string encoded;
  REQUIRE(EncodeEntryJson(full, &encoded).ok());
  lines.push_back(encoded);
  lines.push_back(MinimalLine());
  for (const char* extra : {
           R"(,"session":7)", R"(,"agent":null)", R"(,"project":{"a":1})", R"(,"tags":{"team":1})",
           R"(,"tags":{"a":"x","a":"y"})", R"(,"source":{"key":true})", R"(,"model":"again")",
           R"(,"cost_usd":"0.000001")", R"(,"cost_usd":"0.0")", R"(,"cost_usd":0)", R"(,"requests":-3)",
           R"(,"requests":-0)", R"(,"cost_usd":-0)", R"(,"cost_usd":0)", R"(,"requests":1.0)", R"(,"requests":1e2)", R"(,"requests":9223372036854775807)",
           R"(,"requests":9223372036854775808)", R"(,"requests":18446744073709551615)",
           R"(,"requests":18446744073709551616)", R"(,"requests":-9223372036854775808)",
           R"(,"duration_ms":12)", R"(,"notes":"a\u0000b")", R"(,"notes":"\ud83d\ude00 \u00e9")",
           R"(,"notes":"lone \udc00")", R"(,"tags":{"\udc00":"x"})", R"(,"meta":{"a":[1,2,{"b":null}],"c":{}})",
           R"(,"flag":true,"n":1.5)", R"(,"tokens_v2":[])", R"(,"m\u006fdel":"escaped key")",
           ",\"notes\":\"bad \xC3\x28 byte\"", ",\"notes\":\"\x01\"", R"(,"v":2)", R"(,"v":"1")"}) {
    lines.push_back(MinimalLine(extra));
    // The same with a cost: a zero is left to the exact reader (it may be
    // written "-0"), so these are the lines that take the fast path.
    std::string priced = MinimalLine(extra);
    priced.replace(priced.find("\"cost_micros\":0"), 15, "\"cost_micros\":7");
    lines.push_back(priced);
  }
  lines.push_back(MinimalLine() + "  \r");
  lines.push_back(" \t" + MinimalLine());
  lines.push_back("\xEF\xBB\xBF" + MinimalLine());
  lines.push_back(MinimalLine() + " {}");
  lines.push_back(MinimalLine() + "x");
  lines.push_back("[1,2]");
  lines.push_back("42");
  lines.push_back("");
  lines.push_back(std::string(3000, '[') + std::string(3000, ']'));
  lines.push_back(MinimalLine(absl::StrCat(",\"x\":", std::string(3000, '['), std::string(3000, ']'))));
  std::string nul = MinimalLine();
  nul.push_back('\0');
  lines.push_back(nul);
  for (const std::string& line : lines) {
    CAPTURE(line);
    Entry a;
    Entry b;
    const absl::Status fast_status = fast.Decode(line, &a);
    const absl::Status exact_status = exact.Decode(line, &b);
    CHECK(fast_status == exact_status);
    if (fast_status.ok() && exact_status.ok()) CheckSame(a, b);
  }
  CHECK(exact.fast_reads() == 0);
  CHECK(fast.fast_reads() >= 15);  // the usual lines took the fast path
}
