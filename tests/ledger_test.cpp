// The ledger directory: appends under threads and processes, torn and
// malformed lines, dedup by source key, the source-key cache, file modes and
// discovery. Every test works in a fresh directory under /tmp.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger.h"

namespace {

using tokenbook::AppendResult;
using tokenbook::CostSource;
using tokenbook::Durability;
using tokenbook::Entry;
using tokenbook::Ledger;
using tokenbook::LedgerIssue;
using tokenbook::LedgerOptions;
using tokenbook::Micros;
using tokenbook::TokenKind;
using tokenbook::Tokens;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook_ledger_test_XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Sets environment variables for a scope and puts the old values back.
class EnvGuard {
 public:
  explicit EnvGuard(std::vector<std::string> names) {
    for (std::string& name : names) {
      const char* v = std::getenv(name.c_str());
      saved_.emplace_back(std::move(name), v == nullptr ? std::nullopt : std::optional<std::string>(v));
    }
  }
  ~EnvGuard() {
    for (const auto& [name, value] : saved_) {
      if (value.has_value()) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void AppendRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

Entry MakeEntry(int i, std::string source_key = "") {
  Entry e;
  e.timestamp = absl::FromUnixMillis(1'795'000'000'000 + i);
  e.model = "claude-sonnet-4-5";
  e.provider = "anthropic";
  e.tokens[TokenKind::kInput] = Tokens(1000 + i);
  e.tokens[TokenKind::kOutput] = Tokens(200);
  e.cost = Micros(3000 + i);
  e.cost_source = CostSource::kComputed;
  e.rates_as_of = "2026-11-01";
  e.session = "s1";
  e.feature = "ledger";
  if (!source_key.empty()) {
    e.source_kind = "test";
    e.source_key = std::move(source_key);
  }
  return e;
}

std::unique_ptr<Ledger> OpenOrDie(const std::string& dir, const LedgerOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir, options);
  REQUIRE_MESSAGE(l.ok(), l.status());
  return std::move(*l);
}

struct ScanResult {
  std::vector<Entry> entries;
  std::vector<LedgerIssue> issues;
};

ScanResult ScanAll(const Ledger& ledger) {
  ScanResult r;
  absl::Status s = ledger.Scan([&](const Entry& e) { r.entries.push_back(e); }, &r.issues);
  REQUIRE_MESSAGE(s.ok(), s);
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out = absl::StrSplit(text, '\n');
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

// Forks `n` children running `body(i)`. Call it while no other thread of
// ours runs: a child inherits every mutex as it was at fork().
std::vector<pid_t> StartChildren(int n, const std::function<int(int)>& body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body(i));
    REQUIRE(pid > 0);
    pids.push_back(pid);
  }
  return pids;
}

// Waits for the children; returns how many failed.
int WaitChildren(const std::vector<pid_t>& pids) {
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed;
}

int RunChildren(int n, const std::function<int(int)>& body) { return WaitChildren(StartChildren(n, body)); }

TEST_CASE("Ledger: Open creates the directory 0700 and ledger.jsonl 0600") {
  TempDir tmp;
  const mode_t old_mask = ::umask(022);
  const std::string dir = tmp.Sub("project/.tokenbook");
  auto ledger = OpenOrDie(dir);
  ::umask(old_mask);
  CHECK(ledger->dir() == dir);
  CHECK(ledger->ledger_path() == dir + "/ledger.jsonl");
  struct stat st;
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat(ledger->ledger_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 0);

  SUBCASE("create = false refuses a missing ledger") {
    LedgerOptions no_create;
    no_create.create = false;
    absl::StatusOr<std::unique_ptr<Ledger>> missing = Ledger::Open(tmp.Sub("nowhere"), no_create);
    CHECK(missing.status().code() == absl::StatusCode::kNotFound);
    CHECK(Ledger::Open(dir, no_create).ok());
  }
  SUBCASE("a file where the directory should be") {
    WriteRaw(tmp.Sub("plain"), "x");
    CHECK(Ledger::Open(tmp.Sub("plain")).status().code() == absl::StatusCode::kFailedPrecondition);
  }
}

TEST_CASE("Ledger: appended entries read back in order, with ids and timestamps filled in") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  const absl::Time before = absl::Now() - absl::Milliseconds(1);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    Entry e = MakeEntry(i);
    if (i == 4) e.timestamp = absl::UnixEpoch();  // "now"
    absl::StatusOr<AppendResult> r = ledger->Append(e);
    REQUIRE_MESSAGE(r.ok(), r.status());
    CHECK(r->appended);
    CHECK(r->id.size() == 26);
    ids.push_back(r->id);
  }
  Entry given = MakeEntry(5);
  given.id = "my-own-id";
  REQUIRE(ledger->Append(given).ok());
  ScanResult all = ScanAll(*ledger);
  CHECK(all.issues.empty());
  REQUIRE(all.entries.size() == 6);
  for (int i = 0; i < 5; ++i) {
    CHECK(all.entries[static_cast<size_t>(i)].id == ids[static_cast<size_t>(i)]);
    if (i > 0) CHECK(ids[static_cast<size_t>(i - 1)] < ids[static_cast<size_t>(i)]);
  }
  CHECK(all.entries[0].tokens.input() == Tokens(1000));
  CHECK(all.entries[3].cost == Micros(3003));
  CHECK(all.entries[4].timestamp >= before);
  CHECK(all.entries[4].timestamp <= absl::Now());
  CHECK(all.entries[5].id == "my-own-id");
  CHECK(Lines(ReadFile(ledger->ledger_path())).size() == 6);

  SUBCASE("an invalid entry is refused and nothing is written") {
    Entry bad = MakeEntry(9);
    bad.tokens[TokenKind::kOutput] = Tokens(-5);
    absl::StatusOr<AppendResult> r = ledger->Append(bad);
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(r.status().message() == R"(field "tokens.output": must not be negative)");
    std::vector<Entry> batch = {MakeEntry(10), bad};
    absl::StatusOr<std::vector<AppendResult>> br = ledger->AppendBatch(batch);
    CHECK(br.status().message() == R"(entry 2 of 2: field "tokens.output": must not be negative)");
    CHECK(Lines(ReadFile(ledger->ledger_path())).size() == 6);
  }
}

TEST_CASE("Ledger: AppendBatch writes all lines and reports each result") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<Entry> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(MakeEntry(i));
  absl::StatusOr<std::vector<AppendResult>> r = ledger->AppendBatch(batch);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 100);
  for (const AppendResult& a : *r) CHECK(a.appended);
  CHECK(ledger->AppendBatch({})->empty());
  ScanResult all = ScanAll(*ledger);
  CHECK(all.entries.size() == 100);
  CHECK(all.issues.empty());
  CHECK(all.entries[99].id == (*r)[99].id);
}

TEST_CASE("Ledger: a torn last line is reported and skipped, and the next append starts a fresh line") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(ledger->Append(MakeEntry(1)).ok());
  REQUIRE(ledger->Append(MakeEntry(2)).ok());
  const std::string torn = R"({"v":1,"id":"01TORN","ts":"2026-11-22T05:4)";
  AppendRaw(ledger->ledger_path(), torn);  // a crash in the middle of a write
  const std::string before = ReadFile(ledger->ledger_path());

  ScanResult r = ScanAll(*ledger);
  CHECK(r.entries.size() == 2);
  REQUIRE(r.issues.size() == 1);
  CHECK(r.issues[0].file == ledger->ledger_path());
  CHECK(r.issues[0].line == 3);
  CHECK(r.issues[0].message ==
        absl::StrCat("torn last line (", torn.size(), " bytes without a newline; a crash during a write?); skipped"));

  bool keyed = false;
  SUBCASE("same Ledger object") {}
  SUBCASE("a Ledger opened after the crash") { ledger = OpenOrDie(tmp.path()); }
  SUBCASE("an append that carries a source key") { keyed = true; }

  absl::StatusOr<AppendResult> appended = ledger->Append(MakeEntry(3, keyed ? "k3" : ""));
  REQUIRE(appended.ok());
  const std::string after = ReadFile(ledger->ledger_path());
  REQUIRE(after.size() > before.size());
  CHECK(after.substr(0, before.size()) == before);  // nothing rewritten
  CHECK(after[before.size()] == '\n');               // the torn line is closed...
  const std::vector<std::string> lines = Lines(after);
  REQUIRE(lines.size() == 4);
  CHECK(lines[2] == torn);
  CHECK(lines[3].rfind(R"({"v":1,"id":")", 0) == 0);  // ...and the entry starts afresh

  ScanResult r2 = ScanAll(*ledger);
  REQUIRE(r2.entries.size() == 3);
  CHECK(r2.entries[2].id == appended->id);
  REQUIRE(r2.issues.size() == 1);
  CHECK(r2.issues[0].line == 3);
  CHECK(r2.issues[0].message == "invalid JSON at column 43: Missing a closing quotation mark in string.");
}

TEST_CASE("Ledger: a torn line is closed before an append that carries a source key") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(ledger->Append(MakeEntry(1, "k1")).ok());
  AppendRaw(ledger->ledger_path(), R"({"v":1,"source":{"key":"k2"})");
  absl::StatusOr<AppendResult> r = ledger->Append(MakeEntry(2, "k2"));
  REQUIRE(r.ok());
  CHECK(r->appended);  // the torn line does not count: readers skip it
  ScanResult all = ScanAll(*ledger);
  REQUIRE(all.entries.size() == 2);
  CHECK(all.entries[1].source_key == "k2");
  REQUIRE(all.issues.size() == 1);
  CHECK(all.issues[0].line == 2);
  CHECK(Lines(ReadFile(ledger->ledger_path())).size() == 3);
  CHECK(!ledger->Append(MakeEntry(3, "k2"))->appended);
}

TEST_CASE("Ledger: malformed lines in the middle are reported with file:line and skipped") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  auto line = [](int i) { return *tokenbook::EntryToJson([&] {
    Entry e = MakeEntry(i);
    e.id = absl::StrCat("ID", i);
    return e;
  }()); };
  std::string v2 = line(4);
  v2.replace(v2.find("\"v\":1"), 5, "\"v\":2");
  std::string bad_cost = line(6);
  bad_cost.replace(bad_cost.find("\"cost_micros\":3006"), 18, "\"cost_micros\":\"3006\"");
  WriteRaw(ledger->ledger_path(), absl::StrCat(line(1), "\n", "not json at all\n", line(3), "\n", v2, "\n", "\n",
                                               bad_cost, "\n", line(7), "\n"));
  ScanResult r = ScanAll(*ledger);
  REQUIRE(r.entries.size() == 3);
  CHECK(r.entries[0].id == "ID1");
  CHECK(r.entries[1].id == "ID3");
  CHECK(r.entries[2].id == "ID7");
  REQUIRE(r.issues.size() == 3);
  CHECK(r.issues[0].file == ledger->ledger_path());
  CHECK(r.issues[0].line == 2);
  CHECK(r.issues[0].message == "invalid JSON at column 2: Invalid value.");
  CHECK(r.issues[1].line == 4);
  CHECK(r.issues[1].message ==
        R"(field "v": schema version 2 is newer than this reader understands (1); upgrade tokenbook to read this line)");
  CHECK(r.issues[2].line == 6);  // the blank line 5 is no entry and no error
  CHECK(r.issues[2].message == R"(field "cost_micros": expected an integer, got a string)");

  SUBCASE("issues are optional") {
    int n = 0;
    CHECK(ledger->Scan([&](const Entry&) { ++n; }).ok());
    CHECK(n == 3);
  }
}

TEST_CASE("Ledger: a line longer than the limit is skipped without holding it in memory") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(ledger->Append(MakeEntry(1)).ok());
  AppendRaw(ledger->ledger_path(), std::string(5 * tokenbook::kMaxLedgerLineBytes, 'x') + "\n");
  REQUIRE(ledger->Append(MakeEntry(2)).ok());
  AppendRaw(ledger->ledger_path(), std::string(2 * tokenbook::kMaxLedgerLineBytes, 'y'));  // and torn
  ScanResult r = ScanAll(*ledger);
  CHECK(r.entries.size() == 2);
  REQUIRE(r.issues.size() == 2);
  CHECK(r.issues[0].line == 2);
  CHECK(r.issues[0].message == "line longer than 1048576 bytes; skipped");
  CHECK(r.issues[1].line == 4);
  CHECK(r.issues[1].message == absl::StrCat("torn last line (", 2 * tokenbook::kMaxLedgerLineBytes,
                                            " bytes without a newline; a crash during a write?); skipped"));
}

TEST_CASE("Ledger: a large ledger scans in order on two threads, issues at their lines") {
  // Past 8 MiB, Scan decodes chunks on a helper thread too; the callback must
  // still see every entry once, in file order, and issues keep their lines.
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::string text;
  std::vector<int64_t> bad_lines;
  int64_t line = 0;
  int next_id = 0;
  const std::string notes(400, 'n');
  while (text.size() < (size_t{12} << 20)) {
    ++line;
    if (line % 4999 == 0) {
      text += "{\"v\":1,\"broken\n";
      bad_lines.push_back(line);
      continue;
    }
    Entry e = MakeEntry(next_id);
    e.id = absl::StrCat("E", next_id++);
    e.notes = notes;
    text += *tokenbook::EntryToJson(e);
    text += '\n';
  }
  text += "{\"v\":1,\"torn";
  WriteRaw(ledger->ledger_path(), text);

  std::vector<std::string> ids;
  std::vector<LedgerIssue> issues;
  REQUIRE(ledger->Scan([&](const Entry& e) { ids.push_back(e.id); }, &issues).ok());
  REQUIRE(next_id > 9000);
  REQUIRE(ids.size() == static_cast<size_t>(next_id));
  bool in_order = true;
  for (int i = 0; i < next_id; ++i) in_order = in_order && ids[static_cast<size_t>(i)] == absl::StrCat("E", i);
  CHECK(in_order);
  REQUIRE(issues.size() == bad_lines.size() + 1);
  for (size_t k = 0; k < bad_lines.size(); ++k) {
    CHECK(issues[k].line == bad_lines[k]);
    CHECK(issues[k].message == "invalid JSON at column 15: Missing a closing quotation mark in string.");
  }
  CHECK(issues.back().line == line + 1);
  CHECK(issues.back().message == "torn last line (12 bytes without a newline; a crash during a write?); skipped");

  SUBCASE("a callback that throws stops the scan cleanly") {
    int seen = 0;
    CHECK_THROWS_AS(
        (void)ledger->Scan([&](const Entry&) {
          if (++seen == 9000) throw std::runtime_error("stop");
        }),
        std::runtime_error);
    CHECK(seen == 9000);
    int again = 0;
    REQUIRE(ledger->Scan([&](const Entry&) { ++again; }).ok());
    CHECK(again == next_id);
  }
}

TEST_CASE("Ledger: a source key already in the ledger is not appended again") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  CHECK(!*ledger->HasSourceKey("claude-code:s1:m1"));
  absl::StatusOr<AppendResult> first = ledger->Append(MakeEntry(1, "claude-code:s1:m1"));
  REQUIRE(first.ok());
  CHECK(first->appended);
  absl::StatusOr<AppendResult> second = ledger->Append(MakeEntry(2, "claude-code:s1:m1"));
  REQUIRE(second.ok());
  CHECK(!second->appended);
  CHECK(second->id == first->id);
  CHECK(Lines(ReadFile(ledger->ledger_path())).size() == 1);
  CHECK(*ledger->HasSourceKey("claude-code:s1:m1"));
  CHECK(!*ledger->HasSourceKey("claude-code:s1:m2"));
  CHECK(!*ledger->HasSourceKey(""));
  // Entries without a key are never deduplicated.
  REQUIRE(ledger->Append(MakeEntry(3))->appended);
  REQUIRE(ledger->Append(MakeEntry(3))->appended);

  SUBCASE("within one batch, and against the ledger") {
    std::vector<Entry> batch = {MakeEntry(10, "b1"), MakeEntry(11, "claude-code:s1:m1"), MakeEntry(12, "b1"),
                                MakeEntry(13), MakeEntry(14, "b2")};
    absl::StatusOr<std::vector<AppendResult>> r = ledger->AppendBatch(batch);
    REQUIRE(r.ok());
    CHECK((*r)[0].appended);
    CHECK(!(*r)[1].appended);
    CHECK((*r)[1].id == first->id);
    CHECK(!(*r)[2].appended);
    CHECK((*r)[2].id == (*r)[0].id);
    CHECK((*r)[3].appended);
    CHECK((*r)[4].appended);
    ScanResult all = ScanAll(*ledger);
    CHECK(all.entries.size() == 6);
    CHECK(all.issues.empty());
    absl::StatusOr<std::vector<AppendResult>> again = ledger->AppendBatch({MakeEntry(20, "b1"), MakeEntry(21, "b2")});
    REQUIRE(again.ok());
    CHECK(!(*again)[0].appended);
    CHECK(!(*again)[1].appended);
    CHECK(ScanAll(*ledger).entries.size() == 6);
  }
  SUBCASE("a fresh Ledger object reads the keys from the file") {
    auto reopened = OpenOrDie(tmp.path());
    CHECK(*reopened->HasSourceKey("claude-code:s1:m1"));
    absl::StatusOr<AppendResult> r = reopened->Append(MakeEntry(4, "claude-code:s1:m1"));
    CHECK(!r->appended);
    CHECK(r->id == first->id);
  }
}

TEST_CASE("Ledger: dedup holds across two Ledger objects on one directory") {
  TempDir tmp;
  auto a = OpenOrDie(tmp.path());
  auto b = OpenOrDie(tmp.path());
  // Both load their key sets before either writes.
  CHECK(!*a->HasSourceKey("k"));
  CHECK(!*b->HasSourceKey("k"));
  REQUIRE(a->Append(MakeEntry(1, "k"))->appended);
  absl::StatusOr<AppendResult> rb = b->Append(MakeEntry(2, "k"));
  REQUIRE(rb.ok());
  CHECK(!rb->appended);
  REQUIRE(b->Append(MakeEntry(3, "k2"))->appended);
  CHECK(*a->HasSourceKey("k2"));
  CHECK(!a->Append(MakeEntry(4, "k2"))->appended);
  CHECK(Lines(ReadFile(a->ledger_path())).size() == 2);
}

TEST_CASE("Ledger: dedup holds across processes appending the same keys at once") {
  TempDir tmp;
  constexpr int kChildren = 4;
  constexpr int kKeys = 60;
  const int failed = RunChildren(kChildren, [&](int child) {
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.path());
    if (!l.ok()) return 1;
    for (int k = 0; k < kKeys; ++k) {
      // Children walk the keys in different orders, singly and in pairs.
      const int key = (k * (child + 1) + child) % kKeys;
      if (child % 2 == 0) {
        if (!(*l)->Append(MakeEntry(key, absl::StrCat("key-", key))).ok()) return 2;
      } else {
        std::vector<Entry> pair = {MakeEntry(key, absl::StrCat("key-", key)),
                                   MakeEntry(key, absl::StrCat("key-", (key + 1) % kKeys))};
        if (!(*l)->AppendBatch(std::move(pair)).ok()) return 3;
      }
    }
    return 0;
  });
  CHECK(failed == 0);
  auto ledger = OpenOrDie(tmp.path());
  ScanResult all = ScanAll(*ledger);
  CHECK(all.issues.empty());
  CHECK(all.entries.size() == kKeys);
  std::set<std::string> keys;
  for (const Entry& e : all.entries) keys.insert(e.source_key);
  CHECK(keys.size() == kKeys);
}

void CheckExactLines(const Ledger& ledger, size_t expected) {
  const std::string text = ReadFile(ledger.ledger_path());
  CHECK(!text.empty());
  CHECK(text.back() == '\n');
  ScanResult all = ScanAll(ledger);
  CHECK(all.issues.empty());
  CHECK(all.entries.size() == expected);
  CHECK(Lines(text).size() == expected);
  std::set<std::string> ids;
  for (const Entry& e : all.entries) ids.insert(e.id);
  CHECK(ids.size() == expected);
}

TEST_CASE("Ledger: 8 threads x 500 appends on one Ledger give exactly 4000 whole lines") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        // Half the threads carry source keys, so catch-up and dedup run too.
        const std::string key = t % 2 == 0 ? absl::StrCat("t", t, "-", i) : "";
        absl::StatusOr<AppendResult> r = ledger->Append(MakeEntry(t * 1000 + i, key));
        if (!r.ok() || !r->appended) ++errors;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(errors.load() == 0);
  CheckExactLines(*ledger, 4000);
}

TEST_CASE("Ledger: threads on two Ledger objects of one directory give exactly 4000 whole lines") {
  TempDir tmp;
  auto a = OpenOrDie(tmp.path());
  auto b = OpenOrDie(tmp.path());
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 8; ++t) {
    Ledger* l = t % 2 == 0 ? a.get() : b.get();
    threads.emplace_back([&, l, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string key = t < 4 ? absl::StrCat("t", t, "-", i) : "";
        if (i % 50 == 0) {
          std::vector<Entry> batch = {MakeEntry(i, key), MakeEntry(i, key.empty() ? "" : key + "-b")};
          absl::StatusOr<std::vector<AppendResult>> r = l->AppendBatch(std::move(batch));
          if (!r.ok() || !(*r)[0].appended || !(*r)[1].appended) ++errors;
          ++i;  // the batch counts for two
          continue;
        }
        absl::StatusOr<AppendResult> r = l->Append(MakeEntry(i, key));
        if (!r.ok() || !r->appended) ++errors;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(errors.load() == 0);
  CheckExactLines(*a, 4000);
}

TEST_CASE("Ledger: fork()ed processes appending at once give an exact count") {
  TempDir tmp;
  auto parent = OpenOrDie(tmp.path());
  REQUIRE(parent->Append(MakeEntry(0)).ok());

  SUBCASE("each child opens its own Ledger") {
    const int failed = RunChildren(4, [&](int child) {
      absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.path());
      if (!l.ok()) return 1;
      for (int i = 0; i < 500; ++i) {
        if (!(*l)->Append(MakeEntry(child * 1000 + i)).ok()) return 2;
      }
      return 0;
    });
    CHECK(failed == 0);
    CheckExactLines(*parent, 2001);
  }
  SUBCASE("children keep using the Ledger they inherited, while the parent appends too") {
    const std::vector<pid_t> children = StartChildren(4, [&](int child) {
      for (int i = 0; i < 300; ++i) {
        const std::string key = child % 2 == 0 ? absl::StrCat("c", child, "-", i) : "";
        if (!parent->Append(MakeEntry(child * 1000 + i, key)).ok()) return 2;
      }
      return 0;
    });
    for (int i = 0; i < 300; ++i) CHECK(parent->Append(MakeEntry(i, absl::StrCat("p", i))).ok());
    CHECK(WaitChildren(children) == 0);
    CheckExactLines(*parent, 1501);
  }
}

TEST_CASE("Ledger: a Scan that meets a write in flight waits for it instead of calling it torn") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(ledger->Append(MakeEntry(1)).ok());
  const std::string line = *tokenbook::EntryToJson([] {
    Entry e = MakeEntry(2);
    e.id = "IN-FLIGHT";
    return e;
  }());
  // Play a writer: hold the lock and write half a line.
  const int fd = ::open(ledger->ledger_path().c_str(), O_WRONLY | O_APPEND);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  REQUIRE(::write(fd, line.data(), 40) == 40);
  ScanResult r;
  std::thread reader([&] { r = ScanAll(*ledger); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string rest = line.substr(40) + "\n";
  REQUIRE(::write(fd, rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()));
  ::flock(fd, LOCK_UN);
  ::close(fd);
  reader.join();
  CHECK(r.issues.empty());
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[1].id == "IN-FLIGHT");
}

TEST_CASE("Ledger: scans running beside appends never see a torn line") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.path());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 1500; ++i) CHECK(ledger->Append(MakeEntry(i)).ok());
    done = true;
  });
  size_t last = 0;
  int scans = 0;
  while (!done.load()) {
    ScanResult r = ScanAll(*ledger);
    CHECK(r.issues.empty());
    CHECK(r.entries.size() >= last);
    last = r.entries.size();
    ++scans;
  }
  writer.join();
  CHECK(scans > 0);
  CHECK(ScanAll(*ledger).entries.size() == 1500);
}

TEST_CASE("Ledger: fsync durability appends and reads back") {
  TempDir tmp;
  LedgerOptions options;
  options.durability = Durability::kFsync;
  auto ledger = OpenOrDie(tmp.path(), options);
  for (int i = 0; i < 20; ++i) REQUIRE(ledger->Append(MakeEntry(i, absl::StrCat("f", i))).ok());
  REQUIRE(ledger->AppendBatch({MakeEntry(30), MakeEntry(31)}).ok());
  CheckExactLines(*ledger, 22);
}

TEST_CASE("Ledger: a read-only ledger can be scanned but not appended to") {
  if (::geteuid() == 0) return;  // root writes anyway
  TempDir tmp;
  {
    auto ledger = OpenOrDie(tmp.path());
    REQUIRE(ledger->Append(MakeEntry(1, "k")).ok());
  }
  const std::string path = tmp.Sub("ledger.jsonl");
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  auto ledger = OpenOrDie(tmp.path());
  CHECK(ScanAll(*ledger).entries.size() == 1);
  CHECK(*ledger->HasSourceKey("k"));
  CHECK(ledger->Append(MakeEntry(2)).status().code() == absl::StatusCode::kPermissionDenied);
}

// ---------------------------------------------------------------------------
// The source-key cache.

std::string KeyedLedger(const TempDir& tmp, int n) {
  auto ledger = OpenOrDie(tmp.path());
  std::vector<Entry> batch;
  for (int i = 0; i < n; ++i) {
    Entry e = MakeEntry(i, absl::StrCat("key-", i));
    e.id = absl::StrCat("ID-", 100000 + i);
    e.notes = std::string(100, 'n');  // spread the lines over several KiB
    batch.push_back(std::move(e));
  }
  REQUIRE(ledger->AppendBatch(std::move(batch)).ok());
  return ledger->ledger_path();
}

TEST_CASE("Ledger: RefreshCache writes cache/source-keys.jsonl and a reader starts from it") {
  TempDir tmp;
  const std::string path = KeyedLedger(tmp, 200);
  const std::string cache = tmp.Sub("cache/source-keys.jsonl");
  {
    auto ledger = OpenOrDie(tmp.path());
    REQUIRE(ledger->RefreshCache().ok());
  }
  struct stat st;
  REQUIRE(::stat(cache.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::vector<std::string> cache_lines = Lines(ReadFile(cache));
  REQUIRE(cache_lines.size() == 202);
  CHECK(cache_lines[0].rfind(absl::StrCat(R"({"v":1,"kind":"source-keys","ledger_offset":)", ReadFile(path).size(), ","), 0) == 0);
  CHECK(cache_lines[201].rfind(R"({"end":true,"count":200,)", 0) == 0);

  // Spoil line 100 in place (same length, far from both ends of the file).
  // A reader that trusts the cache still knows key-100; only one that
  // rescans the ledger would drop it.
  std::string text = ReadFile(path);
  const size_t at = text.find(R"("key":"key-100")");
  REQUIRE(at != std::string::npos);
  const size_t cs = text.rfind(R"("cost_source":"computed")", at);
  text.replace(cs, 24, R"("cost_source":"computXd")");
  WriteRaw(path, text);

  SUBCASE("the valid cache is used: only the tail is read") {
    auto ledger = OpenOrDie(tmp.path());
    CHECK(*ledger->HasSourceKey("key-100"));
    CHECK(!ledger->Append(MakeEntry(1, "key-100"))->appended);
    // Lines appended after the cache was written are found in the tail.
    REQUIRE(ledger->Append(MakeEntry(1, "tail-key"))->appended);
    auto other = OpenOrDie(tmp.path());
    CHECK(*other->HasSourceKey("tail-key"));
    CHECK(*other->HasSourceKey("key-199"));
  }
  SUBCASE("deleting the cache costs one full read, and the ledger decides") {
    REQUIRE(::unlink(cache.c_str()) == 0);
    auto ledger = OpenOrDie(tmp.path());
    CHECK(!*ledger->HasSourceKey("key-100"));  // that line is now skipped by every reader
    CHECK(*ledger->HasSourceKey("key-99"));
    CHECK(*ledger->HasSourceKey("key-199"));
  }
  SUBCASE("a corrupt cache is ignored") {
    std::string c = ReadFile(cache);
    const size_t k = c.find("\"key-7\"");
    REQUIRE(k != std::string::npos);
    c.replace(k, 7, "\"key-X\"");
    WriteRaw(cache, c);
    auto ledger = OpenOrDie(tmp.path());
    CHECK(!*ledger->HasSourceKey("key-X"));
    CHECK(!*ledger->HasSourceKey("key-100"));
    CHECK(*ledger->HasSourceKey("key-7"));
  }
  SUBCASE("a cache cut short is ignored") {
    std::string c = ReadFile(cache);
    WriteRaw(cache, c.substr(0, c.size() / 2));
    auto ledger = OpenOrDie(tmp.path());
    CHECK(!*ledger->HasSourceKey("key-100"));
    CHECK(*ledger->HasSourceKey("key-150"));
  }
  SUBCASE("a ledger shorter than the cache covers is read afresh") {
    WriteRaw(path, absl::StrCat(*tokenbook::EntryToJson([] {
                                  Entry e = MakeEntry(1, "new-key");
                                  e.id = "NEW";
                                  return e;
                                }()),
                                "\n"));
    auto ledger = OpenOrDie(tmp.path());
    CHECK(!*ledger->HasSourceKey("key-5"));
    CHECK(*ledger->HasSourceKey("new-key"));
  }
  SUBCASE("a ledger replaced by another of the same length or longer is read afresh") {
    std::string other = ReadFile(path);
    const size_t k = other.find("\"key-0\"");
    other.replace(k, 7, "\"kez-0\"");  // within the first 4 KiB
    WriteRaw(path, other + other);
    auto ledger = OpenOrDie(tmp.path());
    CHECK(!*ledger->HasSourceKey("key-0"));
    CHECK(*ledger->HasSourceKey("kez-0"));
  }
  SUBCASE("a Ledger that already holds the keys catches up after the file shrinks") {
    auto ledger = OpenOrDie(tmp.path());
    CHECK(*ledger->HasSourceKey("key-5"));
    WriteRaw(path, "");
    CHECK(!*ledger->HasSourceKey("key-5"));
    REQUIRE(ledger->Append(MakeEntry(1, "key-5"))->appended);
  }
}

TEST_CASE("Ledger: the cache refreshes by itself once the ledger has outgrown it") {
  TempDir tmp;
  const std::string cache = tmp.Sub("cache/source-keys.jsonl");
  auto ledger = OpenOrDie(tmp.path());
  REQUIRE(ledger->Append(MakeEntry(0, "first"))->appended);
  struct stat st;
  CHECK(::stat(cache.c_str(), &st) != 0);  // small ledgers need no cache
  // Past 1 MiB of keyed entries the cache is written.
  for (int round = 0; round < 8; ++round) {
    std::vector<Entry> batch;
    for (int i = 0; i < 1000; ++i) {
      Entry e = MakeEntry(i, absl::StrCat("auto-", round, "-", i));
      e.notes = std::string(100, 'n');
      batch.push_back(std::move(e));
    }
    REQUIRE(ledger->AppendBatch(std::move(batch)).ok());
  }
  REQUIRE(::stat(cache.c_str(), &st) == 0);
  const std::string header = Lines(ReadFile(cache))[0];
  CHECK(header.rfind(R"({"v":1,"kind":"source-keys",)", 0) == 0);
  auto other = OpenOrDie(tmp.path());
  CHECK(*other->HasSourceKey("auto-7-999"));
  CHECK(*other->HasSourceKey("first"));
  CHECK(!*other->HasSourceKey("auto-8-0"));
}

// ---------------------------------------------------------------------------

TEST_CASE("Ledger: NewUlid gives increasing Crockford base-32 ids stamped with the time") {
  const int64_t before = absl::ToUnixMillis(absl::Now());
  std::string prev;
  for (int i = 0; i < 20000; ++i) {
    const std::string id = tokenbook::NewUlid();
    REQUIRE(id.size() == 26);
    CHECK(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ") == std::string::npos);
    if (!prev.empty()) REQUIRE(prev < id);
    prev = id;
  }
  const int64_t after = absl::ToUnixMillis(absl::Now());
  // The first 10 characters are the 48-bit time (the first one holds 3 bits).
  int64_t ms = 0;
  for (int k = 0; k < 10; ++k) {
    ms = ms * 32 + static_cast<int64_t>(std::string("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(prev[static_cast<size_t>(k)]));
  }
  CHECK(ms >= before);
  CHECK(ms <= after + 1);
}

TEST_CASE("Ledger: FindLedgerDir looks at the flag, TOKENBOOK_DIR, the nearest .tokenbook, then the XDG default") {
  TempDir tmp;
  EnvGuard env({"TOKENBOOK_DIR", "XDG_DATA_HOME", "HOME"});
  ::unsetenv("TOKENBOOK_DIR");
  ::setenv("XDG_DATA_HOME", "/xdg/data", 1);
  ::setenv("HOME", "/home/someone", 1);
  std::filesystem::create_directories(tmp.Sub("a/.tokenbook"));
  std::filesystem::create_directories(tmp.Sub("a/b/c"));
  const std::string cwd = tmp.Sub("a/b/c");

  CHECK(*tokenbook::FindLedgerDir("/elsewhere/book", cwd) == "/elsewhere/book");
  CHECK(*tokenbook::FindLedgerDir("book", cwd) == cwd + "/book");
  CHECK(*tokenbook::FindLedgerDir("", cwd) == tmp.Sub("a/.tokenbook"));
  std::filesystem::create_directories(tmp.Sub("a/b/.tokenbook"));
  CHECK(*tokenbook::FindLedgerDir("", cwd) == tmp.Sub("a/b/.tokenbook"));  // the nearest wins
  WriteRaw(tmp.Sub("a/b/c/.tokenbook"), "a file, not a ledger");
  CHECK(*tokenbook::FindLedgerDir("", cwd) == tmp.Sub("a/b/.tokenbook"));

  ::setenv("TOKENBOOK_DIR", "/from/env", 1);
  CHECK(*tokenbook::FindLedgerDir("", cwd) == "/from/env");
  CHECK(*tokenbook::FindLedgerDir("/from/flag", cwd) == "/from/flag");  // the flag beats the environment
  ::setenv("TOKENBOOK_DIR", "", 1);  // empty counts as unset
  CHECK(*tokenbook::FindLedgerDir("", cwd) == tmp.Sub("a/b/.tokenbook"));
  ::unsetenv("TOKENBOOK_DIR");

  // No .tokenbook above: the per-user default.
  std::filesystem::create_directories(tmp.Sub("lonely"));
  const std::string lonely = tmp.Sub("lonely");
  REQUIRE_MESSAGE(!std::filesystem::exists("/tmp/.tokenbook"), "a stray /tmp/.tokenbook spoils this test");
  REQUIRE_MESSAGE(!std::filesystem::exists("/.tokenbook"), "a stray /.tokenbook spoils this test");
  CHECK(*tokenbook::FindLedgerDir("", lonely) == "/xdg/data/tokenbook");
  ::setenv("XDG_DATA_HOME", "relative/xdg", 1);  // invalid by the spec: ignored
  CHECK(*tokenbook::FindLedgerDir("", lonely) == "/home/someone/.local/share/tokenbook");
  ::unsetenv("XDG_DATA_HOME");
  CHECK(*tokenbook::FindLedgerDir("", lonely) == "/home/someone/.local/share/tokenbook");
  ::unsetenv("HOME");
  CHECK(tokenbook::FindLedgerDir("", lonely).status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
