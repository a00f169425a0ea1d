// Ingestion: the crafted logs in tests/data/ingest/ (one rule each), the
// incremental state, idempotency, hostile input, and the compact source-key
// index of the ledger that ingestion relies on.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "doctest/doctest.h"
#include "tokenbook/book.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ingest.h"
#include "tokenbook/ledger.h"

namespace {

using tokenbook::Book;
using tokenbook::CostSource;
using tokenbook::Entry;
using tokenbook::IngestOptions;
using tokenbook::IngestResult;
using tokenbook::IngestSource;
using tokenbook::TokenKind;

const std::string kData = std::string(TOKENBOOK_TEST_DATA_DIR) + "/ingest";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook_ingest_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text, bool append = false) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << text;
}

std::unique_ptr<Book> OpenBook(const TempDir& tmp) {
  absl::StatusOr<std::unique_ptr<Book>> book = Book::Open(tmp.Sub("ledger"));
  REQUIRE(book.ok());
  return std::move(*book);
}

IngestResult Run(Book& book, IngestSource source, const std::vector<std::string>& paths, bool incremental = true) {
  IngestOptions o;
  o.paths = paths;
  o.incremental = incremental;
  absl::StatusOr<IngestResult> r = tokenbook::Ingest(book, source, o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

std::map<std::string, Entry> ByKey(Book& book) {
  std::map<std::string, Entry> out;
  REQUIRE(book.ledger().Scan([&](const Entry& e) { out[e.source_key] = e; }).ok());
  return out;
}

// A Claude Code assistant line.
std::string CcLine(const std::string& id, int64_t input, int64_t output, const std::string& model = "claude-sonnet-4-5",
                   const std::string& ts = "2026-03-01T10:00:00.000Z") {
  return absl::StrCat(R"({"type":"assistant","sessionId":"s","cwd":"/w/p","timestamp":")", ts,
                      R"(","requestId":"r-)", id, R"(","message":{"id":")", id, R"(","model":")", model,
                      R"(","content":[{"type":"text","text":"hello"}],"usage":{"input_tokens":)", input,
                      R"(,"output_tokens":)", output, "}}}");
}

TEST_CASE("Ingest claude-code: every rule of the crafted transcript, to the micro-dollar") {
  TempDir tmp;
  auto book = OpenBook(tmp);
  const IngestResult r = Run(*book, IngestSource::kClaudeCode, {kData + "/claude"});
  CHECK(r.files == 2);
  CHECK(r.lines == 16);
  CHECK(r.usage_lines == 14);
  CHECK(r.entries == 8);
  CHECK(r.copies_merged == 2);  // msg_m1's other two copies
  CHECK(r.duplicates == 1);     // msg_m2 replayed in the sub-agent's sidechain file
  CHECK(r.unpriced == 1);
  CHECK(r.unpriced_models == std::vector<std::string>{"acme-frontier-9"});
  CHECK(r.unusable == 3);
  CHECK(r.pending_bytes == 0);
  // 1950 (m1) + 330 (m2) + 30 (m3) + 0 (<synthetic>) + 5190 (m6) + 18000 (m7, fast x6) + 18 (m8)
  CHECK(r.cost.value() == 25518);
  CHECK(r.tokens[TokenKind::kCacheWrite5m].value() == 600);
  CHECK(r.tokens[TokenKind::kCacheWrite1h].value() == 600);

  REQUIRE(r.issues.size() == 3);
  const std::string file = kData + "/claude/projects/-home-dev-work-app/sess-1.jsonl";
  CHECK(r.issues[0].file == file);
  CHECK(r.issues[0].line == 11);
  CHECK(r.issues[0].reason.rfind("invalid JSON at column ", 0) == 0);
  CHECK(r.issues[1].line == 12);
  CHECK(r.issues[1].reason == "field \"message.usage.input_tokens\": a negative count");
  CHECK(r.issues[2].line == 13);
  CHECK(r.issues[2].reason == "field \"message.usage.output_tokens\": not an integer (or beyond 64 bits)");

  std::map<std::string, Entry> e = ByKey(*book);
  REQUIRE(e.size() == 8);
  const Entry& m1 = e["cc:msg_m1:req_m1"];
  CHECK(m1.model == "claude-sonnet-4-5");
  CHECK(m1.tokens.output().value() == 40);  // the largest copy, not the first or the last
  CHECK(m1.tokens.input().value() == 100);
  CHECK(m1.tokens.cache_read().value() == 1000);
  CHECK(m1.tokens.cache_write_5m().value() == 200);
  CHECK(m1.cost.value() == 1950);
  CHECK(m1.session == "sess-1");
  CHECK(m1.project == "app");
  CHECK(m1.tool == "claude-code");
  CHECK(m1.source_kind == "claude-code");
  CHECK(absl::FormatTime(absl::RFC3339_sec, m1.timestamp, absl::UTCTimeZone()) == "2026-03-01T10:00:01+00:00");
  CHECK(e["cc:msg_m2:req_m2"].cost.value() == 330);  // spacing and key order do not matter
  const Entry& m3 = e["cc:msg_m3:req_m3"];          // nested in a progress line
  CHECK(m3.model == "claude-haiku-4-5");
  CHECK(m3.cost.value() == 30);
  CHECK(absl::FormatTime(absl::RFC3339_sec, m3.timestamp, absl::UTCTimeZone()) == "2026-03-02T06:00:01+00:00");
  const Entry& synthetic = e["cc:msg_m4:req_m4"];
  CHECK(synthetic.model == "<synthetic>");
  CHECK(synthetic.cost.value() == 0);
  CHECK(synthetic.cost_source == CostSource::kComputed);
  const Entry& unknown = e["cc:msg_m5:req_m5"];
  CHECK(unknown.cost_source == CostSource::kUnpriced);
  CHECK(unknown.tokens.input().value() == 1000);
  const Entry& split = e["cc:msg_m6:req_m6"];
  CHECK(split.tokens.cache_write_5m().value() == 400);
  CHECK(split.tokens.cache_write_1h().value() == 600);  // priced at the 1-hour rate ($6), not the 5-minute one
  CHECK(split.cost.value() == 5190);
  const Entry& fast = e["cc:msg_m7:req_m7"];
  CHECK(fast.service_tier == "fast");
  CHECK(fast.cost.value() == 18000);
  CHECK(e["cc:msg_m8:req_m8"].cost.value() == 18);

  // Prompts and responses never reach the ledger.
  const std::string ledger = ReadFile(book->ledger().ledger_path());
  CHECK(ledger.find("SECRET-PROMPT-7731") == std::string::npos);
  CHECK(ledger.find("SECRET-RESPONSE-4471") == std::string::npos);
  CHECK(ledger.find("shadow") == std::string::npos);
}

TEST_CASE("Ingest claude-code: ingesting again adds nothing, and a re-run reads no byte") {
  TempDir tmp;
  auto book = OpenBook(tmp);
  Run(*book, IngestSource::kClaudeCode, {kData + "/claude"});
  const std::string before = ReadFile(book->ledger().ledger_path());
  const IngestResult again = Run(*book, IngestSource::kClaudeCode, {kData + "/claude"});
  CHECK(again.bytes_read == 0);
  CHECK(again.files_read == 0);
  CHECK(again.entries == 0);
  // Without the state, every file is read again; the source keys keep the
  // ledger as it was.
  const IngestResult full = Run(*book, IngestSource::kClaudeCode, {kData + "/claude"}, /*incremental=*/false);
  CHECK(full.bytes_read == 5522);
  CHECK(full.entries == 0);
  CHECK(full.duplicates == 9);
  // A fresh process (new Book) over the same ledger.
  auto reopened = OpenBook(tmp);
  CHECK(Run(*reopened, IngestSource::kClaudeCode, {kData + "/claude"}, false).entries == 0);
  CHECK(ReadFile(book->ledger().ledger_path()) == before);
}

TEST_CASE("Ingest claude-code: the state goes with its ledger; a ledger emptied since gets everything again") {
  TempDir tmp;
  {
    auto book = OpenBook(tmp);
    CHECK(Run(*book, IngestSource::kClaudeCode, {kData + "/claude"}).entries == 8);
  }
  // The ledger is replaced (say restored from an older copy) but cache/ is
  // kept: the state no longer describes it, and is not trusted.
  WriteFile(tmp.Sub("ledger/ledger.jsonl"), "");
  auto book = OpenBook(tmp);
  const IngestResult r = Run(*book, IngestSource::kClaudeCode, {kData + "/claude"});
  CHECK(r.files_read == 2);
  CHECK(r.entries == 8);
  CHECK(ByKey(*book).size() == 8);
}

TEST_CASE("Ingest claude-code: a truncated last line is not consumed, and is read once completed") {
  TempDir tmp;
  auto book = OpenBook(tmp);
  const std::string log = tmp.Sub("home/projects/p/s.jsonl");
  const std::string l1 = CcLine("a1", 10, 1) + "\n";
  const std::string l2 = CcLine("a2", 20, 2) + "\n";
  const std::string l3 = CcLine("a3", 30, 3);
  WriteFile(log, l1 + l2 + l3.substr(0, 40));
  IngestResult r = Run(*book, IngestSource::kClaudeCode, {tmp.Sub("home")});
  CHECK(r.entries == 2);
  CHECK(r.lines == 2);
  CHECK(r.pending_bytes == 40);
  CHECK(r.bytes_read == static_cast<int64_t>(l1.size() + l2.size() + 40));

  // The writer finishes the line and adds another: only the bytes from the
  // start of the unfinished line on are read.
  const std::string l4 = CcLine("a4", 40, 4) + "\n";
  WriteFile(log, l3.substr(40) + "\n" + l4, /*append=*/true);
  r = Run(*book, IngestSource::kClaudeCode, {tmp.Sub("home")});
  CHECK(r.bytes_read == static_cast<int64_t>(l3.size() + 1 + l4.size()));
  CHECK(r.entries == 2);
  CHECK(r.lines == 2);
  CHECK(r.pending_bytes == 0);
  CHECK(ByKey(*book).count("cc:a3:r-a3") == 1);

  // Appending more lines: a re-run reads exactly them.
  const std::string l5 = CcLine("a5", 50, 5) + "\n";
  WriteFile(log, l5, true);
  r = Run(*book, IngestSource::kClaudeCode, {tmp.Sub("home")});
  CHECK(r.bytes_read == static_cast<int64_t>(l5.size()));
  CHECK(r.entries == 1);
  r = Run(*book, IngestSource::kClaudeCode, {tmp.Sub("home")});
  CHECK(r.bytes_read == 0);
  CHECK(ByKey(*book).size() == 5);

  // A line number in a report counts the lines of earlier runs.
  WriteFile(log, "{\"message\":{\"usage\":{\"input_tokens\":1}}}\n", true);
  r = Run(*book, IngestSource::kClaudeCode, {tmp.Sub("home")});
  REQUIRE(r.issues.size() == 1);
  CHECK(r.issues[0].line == 6);
  CHECK(r.issues[0].reason == "usage without a model (message.model)");
}

TEST_CASE("Ingest claude-code: hostile input is reported, never a crash") {
  TempDir tmp;
  auto book = OpenBook(tmp);
  const std::string log = tmp.Sub("home/projects/p/s.jsonl");
  std::string text;
  text += R"({"message":{"id":"n","model":"claude-sonnet-4-5","usage":{"input_tokens":1)";
  text.push_back('\0');  // a NUL byte inside the line
  text += ",\"output_tokens\":2}}}\n";
  text += CcLine("bad-utf8", 1, 1, "claude-\xff\xfe") + "\n";
  text += std::string(200000, '[') + "\"usage\"" + std::string(200000, ']') + "\n";
  text += "{\"usage\":" + std::string(9u << 20, ' ') + "{}}\n";  // longer than any line a reader holds
  text += CcLine("ok", 3, 4) + "\n";
  text += std::string("\xef\xbb\xbf\x01\x02 usage ") + '\0' + " garbage\n";
  WriteFile(log, text);
  const IngestResult r = Run(*book, IngestSource::kClaudeCode, {tmp.Sub("home")});
  CHECK(r.entries == 1);
  CHECK(r.lines == 6);
  // Line 3 (200,000 levels of nesting) is valid JSON without a usage
  // object, line 6 is not JSON and names no "usage" key: neither is usage.
  CHECK(r.unusable == 3);
  REQUIRE(r.issues.size() == 3);
  CHECK(r.issues[0].line == 1);
  CHECK(r.issues[0].reason.rfind("invalid JSON at column 75", 0) == 0);
  CHECK(r.issues[1].line == 2);
  CHECK(r.issues[1].reason == "invalid UTF-8 in a string field");
  CHECK(r.issues[2].line == 4);
  CHECK(r.issues[2].reason.find("line longer than 8388608 bytes") == 0);
  CHECK(ByKey(*book).count("cc:ok:r-ok") == 1);
}

TEST_CASE("Ingest codex: last_token_usage, differences of cumulative totals, a sub-agent's replay") {
  TempDir tmp;
  auto book = OpenBook(tmp);
  const IngestResult r = Run(*book, IngestSource::kCodex, {kData + "/codex"});
  CHECK(r.files == 2);
  CHECK(r.entries == 3);
  CHECK(r.duplicates == 2);  // the child's replay of its parent's two events
  CHECK(r.unusable == 0);
  // 2219 (1000 in of which 250 cached, 125 out) + 5562 (the difference:
  // 2500 in of which 500 cached, 300 out) + 225 (the child's own turn)
  CHECK(r.cost.value() == 8006);
  CHECK(r.tokens[TokenKind::kInput].value() == 750 + 2000 + 100);
  CHECK(r.tokens[TokenKind::kCacheRead].value() == 750);
  CHECK(r.tokens[TokenKind::kOutput].value() == 435);
  CHECK(r.tokens[TokenKind::kReasoning].value() == 275);  // within output
  std::vector<Entry> entries;
  REQUIRE(book->ledger().Scan([&](const Entry& e) { entries.push_back(e); }).ok());
  REQUIRE(entries.size() == 3);
  // Files are read in path order: the parent's, then the child's.
  CHECK(entries[0].session == "parent-xyz");
  CHECK(entries[0].tokens.input().value() == 750);
  CHECK(entries[0].cost.value() == 2219);
  CHECK(entries[1].tokens.input().value() == 2000);
  CHECK(entries[1].tokens.reasoning().value() == 200);
  CHECK(entries[1].cost.value() == 5562);  // 5562.5 µ$, rounded half to even
  CHECK(entries[1].project == "cx");
  CHECK(entries[1].tool == "codex");
  CHECK(entries[2].session == "child-abc");
  CHECK(entries[2].cost.value() == 225);
  CHECK(Run(*book, IngestSource::kCodex, {kData + "/codex"}, false).entries == 0);
}

TEST_CASE("Ingest codex: saved `codex exec --json` output, and counters carried from one run to the next") {
  TempDir tmp;
  auto book = OpenBook(tmp);
  const IngestResult exec = Run(*book, IngestSource::kCodex, {kData + "/codex-exec/exec-output.jsonl"});
  CHECK(exec.entries == 2);
  // turn.completed: 100 uncached x $1.25 + 20 cached x $0.125 + 30 out x $10 per MTok = 427.5 -> 428 (half even);
  // result: 45 x $1.25 + 5 x $0.125 + 12 x $10 = 176.875 -> 177
  CHECK(exec.cost.value() == 428 + 177);
  CHECK(ReadFile(book->ledger().ledger_path()).find("SECRET") == std::string::npos);

  // A rollout read in two runs: the second run's cumulative totals are
  // diffed against the last ones of the first (kept in the state).
  const std::string log = tmp.Sub("codex/sessions/rollout-x.jsonl");
  auto event = [](const std::string& ts, int64_t in, int64_t cached, int64_t out) {
    return absl::StrCat(R"({"timestamp":")", ts, R"(","type":"event_msg","payload":{"type":"token_count","info":{)",
                        R"("total_token_usage":{"input_tokens":)", in, R"(,"cached_input_tokens":)", cached,
                        R"(,"output_tokens":)", out, R"(,"reasoning_output_tokens":0,"total_tokens":)", in + out,
                        "}}}}\n");
  };
  WriteFile(log, absl::StrCat(R"({"type":"session_meta","payload":{"id":"sx","cwd":"/w/cx"}})", "\n",
                              R"({"type":"turn_context","payload":{"model":"gpt-5"}})", "\n",
                              event("2026-05-01T10:00:00Z", 1000, 0, 100)));
  IngestResult r = Run(*book, IngestSource::kCodex, {tmp.Sub("codex")});
  CHECK(r.entries == 1);
  CHECK(r.cost.value() == 1250 + 1000);
  WriteFile(log, event("2026-05-01T10:05:00Z", 3000, 1000, 300), /*append=*/true);
  r = Run(*book, IngestSource::kCodex, {tmp.Sub("codex")});
  CHECK(r.entries == 1);
  CHECK(r.lines == 1);
  // 2000 more input of which 1000 cached, 200 more output, still gpt-5.
  CHECK(r.tokens[TokenKind::kInput].value() == 1000);
  CHECK(r.tokens[TokenKind::kCacheRead].value() == 1000);
  CHECK(r.tokens[TokenKind::kOutput].value() == 200);
  CHECK(r.cost.value() == 1250 + 125 + 2000);
}

TEST_CASE("ParseUsageDocument: Anthropic, OpenAI chat and responses, claude -p json") {
  tokenbook::DocumentContext ctx;
  ctx.now = absl::FromUnixSeconds(1767225600);
  auto parse = [&](IngestSource s, const std::string& file) {
    absl::StatusOr<std::vector<Entry>> r = tokenbook::ParseUsageDocument(s, ReadFile(kData + "/" + file), ctx);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return *r;
  };
  std::vector<Entry> a = parse(IngestSource::kAnthropicResponse, "anthropic-response.json");
  REQUIRE(a.size() == 1);
  CHECK(a[0].tokens.input().value() == 1200);
  CHECK(a[0].tokens.cache_write_5m().value() == 500);
  CHECK(a[0].tokens.cache_write_1h().value() == 1500);
  CHECK(a[0].tokens.cache_read().value() == 10000);
  CHECK(a[0].source_key == "anthropic:msg_01XYZ");
  std::vector<Entry> chat = parse(IngestSource::kOpenAiResponse, "openai-chat-response.json");
  REQUIRE(chat.size() == 1);
  CHECK(chat[0].tokens.input().value() == 1200);  // prompt_tokens minus cached_tokens
  CHECK(chat[0].tokens.cache_read().value() == 800);
  CHECK(chat[0].tokens.output().value() == 500);
  CHECK(chat[0].tokens.reasoning().value() == 200);
  CHECK(chat[0].source_key == "openai:chatcmpl-abc");
  std::vector<Entry> resp = parse(IngestSource::kOpenAiResponse, "openai-responses-response.json");
  REQUIRE(resp.size() == 1);
  CHECK(resp[0].tokens.input().value() == 2000);
  CHECK(resp[0].tokens.cache_read().value() == 1000);
  CHECK(resp[0].tokens.output().value() == 700);
  CHECK(resp[0].tokens.reasoning().value() == 400);
  std::vector<Entry> cj = parse(IngestSource::kClaudeJson, "claude-json-result.json");
  REQUIRE(cj.size() == 2);
  CHECK(cj[0].model == "claude-sonnet-4-5-20250929");
  CHECK(cj[0].tokens.cache_read().value() == 1000);
  CHECK(cj[0].session == "sess-cj");
  CHECK(cj[1].model == "claude-haiku-4-5-20251001");

  // Priced through the book: exact micro-dollars.
  TempDir tmp;
  auto book = OpenBook(tmp);
  absl::StatusOr<std::vector<tokenbook::LogOutcome>> logged = book->LogBatch(resp, ctx.now);
  REQUIRE(logged.ok());
  // gpt-5: 2000 x $1.25 + 1000 x $0.125 + 700 x $10 per MTok = 2500 + 125 + 7000 µ$
  CHECK((*logged)[0].entry.cost.value() == 9625);
  CHECK(!book->LogBatch(resp, ctx.now).value()[0].append.appended);  // the same response id again

  auto bad = tokenbook::ParseUsageDocument(IngestSource::kOpenAiResponse,
                                           R"({"model":"gpt-5","usage":{"prompt_tokens":5,"completion_tokens":1.5}})", ctx);
  CHECK(bad.status().message() == "field \"usage.completion_tokens\": not an integer (or beyond 64 bits)");
  auto cached = tokenbook::ParseUsageDocument(
      IngestSource::kOpenAiResponse,
      R"({"model":"gpt-5","usage":{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":9}}})", ctx);
  CHECK(cached.status().message() == "cached input tokens (9) exceed input tokens (5)");
}

TEST_CASE("Ledger key index: a duplicate's existing id is found through the cache and through the ledger") {
  TempDir tmp;
  std::string first_id;
  {
    absl::StatusOr<std::unique_ptr<tokenbook::Ledger>> l = tokenbook::Ledger::Open(tmp.Sub("l"));
    REQUIRE(l.ok());
    std::vector<Entry> batch;
    for (int i = 0; i < 300; ++i) {
      Entry e;
      e.model = "m";
      e.timestamp = absl::FromUnixSeconds(1767225600 + i);
      e.source_kind = "test";
      e.source_key = absl::StrCat("key-", i);
      e.id = absl::StrCat("ID-", i);
      batch.push_back(e);
    }
    REQUIRE((*l)->AppendBatch(batch).ok());
    REQUIRE((*l)->RefreshCache().ok());  // keys 0..299 now come from the cache
    Entry tail;
    tail.model = "m";
    tail.source_key = "tail-key";
    tail.id = "ID-TAIL";
    REQUIRE((*l)->Append(tail)->appended);
  }
  absl::StatusOr<std::unique_ptr<tokenbook::Ledger>> l = tokenbook::Ledger::Open(tmp.Sub("l"));
  REQUIRE(l.ok());
  Entry dup;
  dup.model = "m";
  dup.source_key = "key-123";
  absl::StatusOr<tokenbook::AppendResult> r = (*l)->Append(dup);
  REQUIRE(r.ok());
  CHECK(!r->appended);
  CHECK(r->id == "ID-123");  // read from the cache line
  dup.source_key = "tail-key";
  r = (*l)->Append(dup);
  CHECK(!r->appended);
  CHECK(r->id == "ID-TAIL");  // read from the ledger line
  tokenbook::AppendOptions quiet;
  quiet.existing_ids = false;
  absl::StatusOr<std::vector<tokenbook::AppendResult>> rs = (*l)->AppendBatch({dup}, quiet);
  REQUIRE(rs.ok());
  CHECK(!(*rs)[0].appended);
  CHECK((*rs)[0].id.empty());
}

}  // namespace

namespace {

// What a parser says of a line, in one comparable string.
std::string Verdict(tokenbook::ClaudeCodeLineParser& parser, std::string line) {
  Entry e;
  int64_t total = -1;
  std::string reason;
  const tokenbook::LineKind k = parser.Parse(line.data(), line.size(), "folder", &e, &total, &reason);
  std::string out = absl::StrCat(static_cast<int>(k), "|", reason, "|", total);
  if (k == tokenbook::LineKind::kUsage) {
    e.id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    std::string json;
    REQUIRE(tokenbook::EncodeEntryJson(e, &json).ok());
    absl::StrAppend(&out, "|", json);
  }
  return out;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("Claude Code lines: the simdjson fast path says exactly what the exact reader says") {
  tokenbook::ClaudeCodeLineParser fast;
  tokenbook::ClaudeCodeLineParser exact;
  exact.set_exact_only(true);
  std::vector<std::string> lines;
  // Every transcript line of the test data and of the shared samples.
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::recursive_directory_iterator(kData + "/claude")) {
    if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
  }
  for (const std::string& path : files) {
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  REQUIRE(lines.size() >= 10);
  // Variants the fast path must hand to the exact reader, or read the same.
  const std::string cc = CcLine("msg_1", 100, 10);
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"100", "-0"},                    // an integer zero to both
      {"\"s\",", "\"s\",\"x\":0e309,"},      // a zero to simdjson, too big for RapidJSON
      {"\"s\",", "\"s\",\"x\":-0.0E999,"},
      {"\"s\",", "\"s\",\"x\":1.5,"},        // a fraction elsewhere: the exact reader decides
      {"100", "1.0"},                   // not an integer
      {"100", "null"},                  // absent
      {"100", "\"100\""},               // a string
      {"100", "true"},                  // a boolean
      {"100", "9223372036854775807"},   // beyond 2^62
      {"100", "9223372036854775808"},   // beyond int64
      {"100", "123456789012345678901234567890"},
      {"\"sessionId\":\"s\"", "\"sessionId\":7"},
      {"\"sessionId\":\"s\"", "\"sessionId\":null"},
      {"\"model\":", "\"model\":\"first\",\"model\":"},  // a repeated key: the last counts
      {"\"usage\":{", "\"usage\":{\"input_tokens\":5},\"usage\":{"},
      {"{\"input_tokens\":100", "{\"input_tokens\":100,\"input_tokens\":7"},
      {"\"message\":{", "\"isSidechain\":\"yes\",\"message\":{"},
      {"\"message\":{", "\"data\":{\"message\":{\"message\":{\"usage\":{\"input_tokens\":3}}}},\"message\":{"},
      {"\"message\":{", "\"data\":[1],\"message\":{"},
      {"\"usage\":{", "\"usage\":{\"cache_creation\":{\"ephemeral_1h_input_tokens\":4},"},
      {"\"usage\":{", "\"usage\":{\"cache_creation\":7,"},
      {"\"usage\":{", "\"usage\":{\"server_tool_use\":{\"web_search_requests\":1},"},
      {"\"model\"", "\"mod\\u0065l\""},  // an escaped key
      {"claude-sonnet-4-5", "claude-sonnet-4-5\\u0000"},
      {"claude-sonnet-4-5", "claude\\udc00"},
      {"claude-sonnet-4-5", "claude-\xff"},
      {"hello", "h\x01llo"},
      {"hello", "\\ud83d\\ude00"},
      {"{\"type\"", "\xef\xbb\xbf{\"type\""},  // a byte-order mark
      {"{\"type\"", " \t{\"type\""},
      {"}}}", "}}} \t\r"},
      {"}}}", "}}}x"},
      {"}}}", "}}}{}"},
      {"}}}", "}}"},
      {"\"message\":{", "\"message\":\"text\",\"message\":{"},
      {"\"usage\":{", "\"usage\":[],\"usage\":{"},
  };
  for (const auto& [from, to] : edits) lines.push_back(Replace(cc, from, to));
  lines.push_back("[" + cc + "]");
  lines.push_back(cc + "\n");  // a newline after the document (never in a line ingestion reads)
  lines.push_back(cc + " \r\n\t");
  lines.push_back("");
  lines.push_back("{\"usage\":1}");
  for (const std::string& line : lines) {
    CAPTURE(line);
    CHECK(Verdict(fast, line) == Verdict(exact, line));
  }
  CHECK(exact.fast_reads() == 0);
  // The usual lines took the fast path (else the comparison proves little).
  const int64_t before = fast.fast_reads();
  CHECK(Verdict(fast, cc) == Verdict(exact, cc));
  CHECK(fast.fast_reads() == before + 1);
  CHECK(before >= 10);
}

TEST_CASE("Ledger key index: a cache written as bulk batches go, with another writer's lines between them") {
  TempDir tmp;
  auto make = [](const std::string& key, const std::string& id) {
    Entry e;
    e.model = "m";
    e.timestamp = absl::FromUnixSeconds(1767225600);
    e.source_kind = "test";
    e.source_key = key;
    e.id = id;
    return e;
  };
  tokenbook::AppendOptions bulk;
  bulk.existing_ids = false;
  bulk.refresh_cache = false;
  {
    absl::StatusOr<std::unique_ptr<tokenbook::Ledger>> l = tokenbook::Ledger::Open(tmp.Sub("l"));
    absl::StatusOr<std::unique_ptr<tokenbook::Ledger>> other = tokenbook::Ledger::Open(tmp.Sub("l"));
    REQUIRE(l.ok());
    REQUIRE(other.ok());
    int n = 0;
    for (int batch = 0; batch < 4; ++batch) {
      tokenbook::EncodedEntries enc;
      for (int i = 0; i < 1500; ++i, ++n) {
        Entry e = make(absl::StrCat("key-", n), absl::StrCat("ID-", n));
        REQUIRE(enc.Add(e).ok());
      }
      Entry again = make("key-0", "ID-AGAIN");  // in the ledger already (after the first batch)
      REQUIRE(enc.Add(again).ok());
      std::vector<bool> appended;
      tokenbook::AppendOptions o = bulk;
      o.refresh_cache = batch == 3;  // the last batch, as ingestion does
      REQUIRE((*l)->AppendEncoded(enc, o, &appended).ok());
      CHECK(appended.size() == 1501);
      CHECK(!appended.back());  // key-0: earlier in the first batch, in the ledger for the others
      // Another writer (think of another process) appends between batches.
      if (batch < 3) REQUIRE((*other)->Append(make(absl::StrCat("other-", batch), absl::StrCat("OID-", batch)))->appended);
    }
  }
  const std::string cache = ReadFile(tmp.Sub("l/cache/source-keys.jsonl"));
  REQUIRE(!cache.empty());
  CHECK(cache.find("\"ledger_offset\":") != std::string::npos);
  CHECK(cache.find('\n') == 511);  // written as the batches went: the header in its padded room
  CHECK(cache.find("{\"end\":true,\"count\":6003,") != std::string::npos);  // 6,000 + 3 of the other writer
  // A new reader loads the cache (it holds every key) and finds each id there.
  absl::StatusOr<std::unique_ptr<tokenbook::Ledger>> l = tokenbook::Ledger::Open(tmp.Sub("l"));
  REQUIRE(l.ok());
  for (const auto& [key, id] : std::vector<std::pair<std::string, std::string>>{
           {"key-0", "ID-0"}, {"key-2999", "ID-2999"}, {"key-5999", "ID-5999"}, {"other-1", "OID-1"}}) {
    CAPTURE(key);
    absl::StatusOr<tokenbook::AppendResult> r = (*l)->Append(make(key, "NEW"));
    REQUIRE(r.ok());
    CHECK(!r->appended);
    CHECK(r->id == id);
  }
  CHECK((*l)->HasSourceKey("key-4321").value_or(false));
  CHECK(!(*l)->HasSourceKey("key-6000").value_or(true));
}
