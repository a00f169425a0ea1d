// The SQLite ledger (docs/backends.md): every field round-trips, source keys
// are idempotent, both backends hand reports the same entries, processes
// append and reserve budget at once without loss or overshoot, and hostile
// files give errors that name them. Every test works on real files in a
// fresh directory under /tmp.
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/budgets.h"
#include "tokenbook/config.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger.h"
#include "tokenbook/ledger_sqlite.h"
#include "tokenbook/period.h"
#include "tokenbook/report_json.h"
#include "tokenbook/rollup.h"
#include "ledger_test_support.h"

namespace tokenbook {
namespace {

using test_support::FullEntry;
using test_support::MakeEntry;
using test_support::OpenOrDie;
using test_support::ReserveAndCommit;
using test_support::ReportOf;
using test_support::ScanLines;
using test_support::StartChildren;
using test_support::WaitChildren;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook_sqlite_test_XXXXXX";
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
  std::string Url(const std::string& name = "ledger.db") const { return "sqlite://" + Sub(name); }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(Sub(name)) << text; }

 private:
  std::string path_;
};

int64_t Query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

void Exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err == nullptr ? "" : err;
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, message);
}

TEST_CASE("SQLite ledger: URLs resolve to a database and the directory beside it") {
  absl::StatusOr<LedgerLocation> a = ResolveLedgerLocation("sqlite:///var/tb/ledger.db");
  REQUIRE(a.ok());
  CHECK(a->dir == "/var/tb");
  CHECK(a->backend == "sqlite:///var/tb/ledger.db");
  absl::StatusOr<LedgerLocation> b = ResolveLedgerLocation("sqlite:data/ledger.db", "/home/u");
  REQUIRE(b.ok());
  CHECK(b->dir == "/home/u/data");
  CHECK(b->backend == "sqlite:///home/u/data/ledger.db");
  absl::StatusOr<LedgerLocation> d = ResolveLedgerLocation(".tokenbook");
  REQUIRE(d.ok());
  CHECK(d->dir == ".tokenbook");
  CHECK(d->backend.empty());
  CHECK(ResolveLedgerLocation("postgresql://db.example/tokens")->backend == "postgresql://db.example/tokens");
  CHECK(absl::IsInvalidArgument(ResolveLedgerLocation("postgresql:tokens").status()));
  CHECK(absl::IsInvalidArgument(ResolveLedgerLocation("mysql://db.example/tokens").status()));
  CHECK(absl::IsInvalidArgument(ResolveLedgerLocation("sqlite://host/ledger.db").status()));
  CHECK(absl::IsInvalidArgument(ResolveLedgerLocation("sqlite:///var/tb/").status()));
  CHECK(absl::IsInvalidArgument(ResolveLedgerLocation("sqlite:///x.db?mode=ro").status()));
  CHECK_FALSE(IsLedgerUrl("/home/u/.tokenbook"));
  CHECK_FALSE(IsLedgerUrl("dir:with:colons"));
}

TEST_CASE("SQLite ledger: every field round-trips, byte for byte as the JSONL line") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Url());
  CHECK(ledger->kind() == "sqlite");
  CHECK(ledger->dir() == tmp.path());
  CHECK(ledger->ledger_path() == tmp.Sub("ledger.db"));
  const Entry full = FullEntry();
  absl::StatusOr<AppendResult> r = ledger->Append(full);
  REQUIRE_MESSAGE(r.ok(), r.status());
  CHECK(r->appended);
  CHECK(r->id == full.id);
  absl::StatusOr<std::string> want = EntryToJson(full);
  REQUIRE(want.ok());
  const std::vector<std::string> got = ScanLines(*ledger);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == *want);
  // The columns hold the same values, for the sqlite3 shell.
  const std::string db = tmp.Sub("ledger.db");
  CHECK(Query(db, "SELECT cost_micros FROM entries") == 987'654'321);
  CHECK(Query(db, "SELECT ts_ms FROM entries") == 1'795'000'123'456);
  CHECK(Query(db, "SELECT cache_write_1h_tokens + reasoning_tokens FROM entries") == 2'700);
  CHECK(Query(db, "SELECT count(*) FROM entries WHERE tags = '{\"env\":\"prod\",\"team\":\"a\\nb\"}'") == 1);
  CHECK(Query(db, "SELECT count(*) FROM entries WHERE json_extract(tags, '$.team') = 'a' || char(10) || 'b'") == 1);
  CHECK(Query(db, "SELECT count(*) FROM entries WHERE ts = '2026-11-18T11:08:43.456Z'") == 1);
  CHECK(Query(db, "SELECT duration_ms FROM entries") == 12'345);
  CHECK(Query(db, "PRAGMA user_version") == kSqliteSchemaVersion);
  CHECK(Query(db, "PRAGMA application_id") == kSqliteApplicationId);
  // Absent dimensions are NULL, not ''.
  Entry bare = MakeEntry(1);
  REQUIRE(ledger->Append(bare).ok());
  CHECK(Query(db, "SELECT count(*) FROM entries WHERE agent IS NULL AND tags IS NULL AND source_key IS NULL") == 1);
}

TEST_CASE("SQLite ledger: ids and timestamps are filled in, and the file is 0600 in WAL mode") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Url("sub/dir/l.db"));
  Entry e = MakeEntry(0);
  e.timestamp = absl::UnixEpoch();
  absl::StatusOr<AppendResult> r = ledger->Append(e);
  REQUIRE(r.ok());
  CHECK(r->id.size() == 26);
  std::vector<Entry> read;
  REQUIRE(ledger->Scan([&](const Entry& x) { read.push_back(x); }).ok());
  REQUIRE(read.size() == 1);
  CHECK(read[0].id == r->id);
  CHECK(read[0].timestamp > absl::FromUnixSeconds(1'700'000'000));
  struct stat st;
  REQUIRE(::stat(tmp.Sub("sub/dir/l.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Query(tmp.Sub("sub/dir/l.db"), "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
}

TEST_CASE("SQLite ledger: a source key is appended once, in a batch and across objects") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Url());
  absl::StatusOr<AppendResult> first = ledger->Append(MakeEntry(0, "k0"));
  REQUIRE(first.ok());
  CHECK(first->appended);
  absl::StatusOr<AppendResult> again = ledger->Append(MakeEntry(1, "k0"));
  REQUIRE(again.ok());
  CHECK_FALSE(again->appended);
  CHECK(again->id == first->id);

  std::vector<Entry> batch = {MakeEntry(2, "k1"), MakeEntry(3, "k1"), MakeEntry(4, "k0"), MakeEntry(5)};
  absl::StatusOr<std::vector<AppendResult>> results = ledger->AppendBatch(batch);
  REQUIRE(results.ok());
  CHECK((*results)[0].appended);
  CHECK_FALSE((*results)[1].appended);
  CHECK((*results)[1].id == (*results)[0].id);
  CHECK_FALSE((*results)[2].appended);
  CHECK((*results)[2].id == first->id);
  CHECK((*results)[3].appended);

  AppendOptions no_ids;
  no_ids.existing_ids = false;
  results = ledger->AppendBatch({MakeEntry(6, "k1")}, no_ids);
  REQUIRE(results.ok());
  CHECK_FALSE((*results)[0].appended);

  auto other = OpenOrDie(tmp.Url());
  CHECK(*other->HasSourceKey("k0"));
  CHECK(*other->HasSourceKey("k1"));
  CHECK_FALSE(*other->HasSourceKey("k2"));
  CHECK_FALSE(*other->HasSourceKey(""));
  absl::StatusOr<AppendResult> from_other = other->Append(MakeEntry(7, "k1"));
  REQUIRE(from_other.ok());
  CHECK_FALSE(from_other->appended);
  CHECK(ScanLines(*ledger).size() == 3);

  // Inserting an entry whose id is there already is a no-op too (an export
  // run twice).
  Entry copy = MakeEntry(8);
  copy.id = first->id;
  absl::StatusOr<AppendResult> dup = ledger->Append(copy);
  REQUIRE(dup.ok());
  CHECK_FALSE(dup->appended);
  CHECK(ScanLines(*ledger).size() == 3);
}

TEST_CASE("SQLite ledger: an invalid entry in a batch leaves nothing") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Url());
  Entry bad = MakeEntry(1);
  bad.model.clear();
  absl::StatusOr<std::vector<AppendResult>> r = ledger->AppendBatch({MakeEntry(0), bad});
  CHECK_FALSE(r.ok());
  CHECK(ScanLines(*ledger).empty());
}

TEST_CASE("SQLite ledger: holds the same entries as a JSONL ledger given the same appends") {
  TempDir tmp;
  auto jsonl = OpenOrDie(tmp.Sub("jsonl"));
  auto sqlite = OpenOrDie(tmp.Url());
  for (int round = 0; round < 3; ++round) {
    std::vector<Entry> batch;
    for (int i = 0; i < 200; ++i) {
      Entry e = MakeEntry(round * 200 + i, i % 7 == 0 ? absl::StrCat("key", i % 50) : "");
      e.id = NewUlid();
      batch.push_back(e);
    }
    absl::StatusOr<std::vector<AppendResult>> a = jsonl->AppendBatch(batch);
    absl::StatusOr<std::vector<AppendResult>> b = sqlite->AppendBatch(batch);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    for (size_t i = 0; i < batch.size(); ++i) {
      CHECK((*a)[i].appended == (*b)[i].appended);
      CHECK((*a)[i].id == (*b)[i].id);
    }
  }
  const std::vector<std::string> x = ScanLines(*jsonl);
  const std::vector<std::string> y = ScanLines(*sqlite);
  CHECK(x.size() > 500);
  CHECK(x == y);
}

TEST_CASE("SQLite ledger: ScanFrom continues after the last row it returned") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Url());
  int seen = 0;
  absl::StatusOr<int64_t> end = ledger->ScanFrom(0, [&](const Entry&) { ++seen; });
  REQUIRE(end.ok());
  CHECK(*end == 0);
  for (int i = 0; i < 5; ++i) REQUIRE(ledger->Append(MakeEntry(i)).ok());
  end = ledger->ScanFrom(0, [&](const Entry&) { ++seen; });
  REQUIRE(end.ok());
  CHECK(seen == 5);
  const int64_t mark = *end;
  REQUIRE(ledger->AppendBatch({MakeEntry(5), MakeEntry(6)}).ok());
  std::vector<int64_t> inputs;
  end = ledger->ScanFrom(mark, [&](const Entry& e) { inputs.push_back(e.tokens.input().value()); });
  REQUIRE(end.ok());
  CHECK(inputs == std::vector<int64_t>{1005, 1006});
  CHECK(*end > mark);
  CHECK(absl::IsOutOfRange(ledger->ScanFrom(*end + 1, [](const Entry&) {}).status()));
}

TEST_CASE("SQLite ledger: fork()ed processes appending at once lose and duplicate nothing") {
  TempDir tmp;
  auto parent = OpenOrDie(tmp.Url());
  REQUIRE(parent->Append(MakeEntry(0)).ok());
  const std::vector<pid_t> children = StartChildren(4, [&](int child) {
    // Half the children open their own ledger; the others keep using the
    // inherited one (which must open a connection of its own).
    std::unique_ptr<Ledger> own;
    Ledger* l = parent.get();
    if (child % 2 == 0) {
      absl::StatusOr<std::unique_ptr<Ledger>> opened = Ledger::Open(tmp.Url());
      if (!opened.ok()) return 1;
      own = std::move(*opened);
      l = own.get();
    }
    for (int i = 0; i < 150; ++i) {
      // Every child also tries the same 50 shared keys.
      const std::string key = i < 50 ? absl::StrCat("shared", i) : absl::StrCat("c", child, "-", i);
      if (!l->Append(MakeEntry(child * 1000 + i, key)).ok()) return 2;
      if (i % 10 == 0 && !l->AppendBatch({MakeEntry(i), MakeEntry(i + 1)}).ok()) return 3;
    }
    return 0;
  });
  for (int i = 0; i < 100; ++i) REQUIRE(parent->Append(MakeEntry(i)).ok());
  CHECK(WaitChildren(children) == 0);
  // 1 + 100 (parent) + 50 shared keys + 4 x 100 own keys + 4 x 15 x 2 batched.
  const std::vector<std::string> lines = ScanLines(*parent);
  CHECK(lines.size() == 1 + 100 + 50 + 400 + 120);
  std::set<std::string> unique(lines.begin(), lines.end());
  CHECK(unique.size() == lines.size());
  CHECK(Query(tmp.Sub("ledger.db"), "SELECT count(DISTINCT source_key) FROM entries") == 450);
}


TEST_CASE("SQLite ledger: fork()ed processes reserving against one blocking budget never overshoot") {
  TempDir tmp;
  tmp.Write("config.toml",
            "backend = \"sqlite:ledger.db\"\n[budgets]\nmonthly = { limit = \"1.00\", action = \"block\" }\n");
  constexpr int64_t kCent = 10'000;
  const std::vector<pid_t> children =
      StartChildren(4, [&](int p) { return std::max(0, std::min(254, ReserveAndCommit(tmp.path(), "sqlite", 50, kCent, p))); });
  std::vector<int> codes;
  REQUIRE(WaitChildren(children, &codes) == 0);
  int committed = 0;
  for (int c : codes) committed += c;
  CHECK(committed == 100);
  const std::string db = tmp.Sub("ledger.db");
  CHECK(Query(db, "SELECT count(*) FROM entries") == 100);
  CHECK(Query(db, "SELECT sum(cost_micros) FROM entries") == 1'000'000);  // exactly the limit
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("ledger.jsonl")));
}

TEST_CASE("SQLite ledger: a Book opened on a directory whose config.toml names a database uses it") {
  TempDir tmp;
  tmp.Write("config.toml", "backend = \"sqlite:data/book.db\"\n");
  absl::StatusOr<std::unique_ptr<Book>> book = Book::Open(tmp.path());
  REQUIRE_MESSAGE(book.ok(), book.status());
  CHECK((*book)->ledger().kind() == "sqlite");
  CHECK((*book)->ledger().ledger_path() == tmp.Sub("data/book.db"));
  CHECK((*book)->ledger().dir() == tmp.path());
  Entry e = MakeEntry(0);
  absl::StatusOr<LogOutcome> out = (*book)->Log(e, absl::Now());
  REQUIRE_MESSAGE(out.ok(), out.status());
  CHECK(Query(tmp.Sub("data/book.db"), "SELECT count(*) FROM entries") == 1);

  // A PostgreSQL server that is not there: the error names it.
  tmp.Write("config.toml", "backend = \"postgresql://u:secret@127.0.0.1:1/tokens\"\n");
  absl::StatusOr<std::unique_ptr<Book>> pg = Book::Open(tmp.path());
  REQUIRE_MESSAGE(pg.ok(), pg.status());  // appends would wait in the spool
  const absl::Status scanned = (*pg)->ledger().Scan([](const Entry&) {});
  CHECK(absl::IsUnavailable(scanned));
  CHECK(absl::StrContains(scanned.message(), "postgresql://u@127.0.0.1:1/tokens"));
  CHECK_FALSE(absl::StrContains(scanned.message(), "secret"));
  tmp.Write("config.toml", "backend = \"ledger.db\"\n");
  CHECK_FALSE(Book::Open(tmp.path()).ok());
}

// The report of `ledger` for the query, by Scan or from kept totals (`summed`
// says whether they answered it).

TEST_CASE("SQLite and JSONL ledgers: reports from the kept quarter-hour totals equal reports from a scan") {
  TempDir tmp;
  auto ledger = OpenOrDie(tmp.Url());
  auto jsonl = OpenOrDie(tmp.Sub("jsonl"));
  std::vector<Entry> batch;
  // Three months around the end of European summer time, every 37 minutes
  // and 13 seconds, with unpriced entries and an absent provider.
  const absl::Time begin = absl::FromCivil(absl::CivilSecond(2026, 9, 1, 0, 0, 0), absl::UTCTimeZone());
  for (int i = 0; i < 4000; ++i) {
    Entry e = MakeEntry(i);
    e.id = NewUlid();
    e.timestamp = begin + absl::Seconds(int64_t{i} * (37 * 60 + 13)) + absl::Milliseconds(i % 1000);
    if (i % 11 == 0) {
      e.cost_source = CostSource::kUnpriced;
      e.cost = Micros(0);
      e.provider.clear();
      e.model = "unknown-model";
    }
    e.tokens[TokenKind::kCacheRead] = Tokens(i % 5 * 1000);
    e.tokens[TokenKind::kReasoning] = Tokens(i % 3);
    e.requests = 1 + i % 3;
    batch.push_back(e);
  }
  REQUIRE(ledger->AppendBatch(batch).ok());
  REQUIRE(jsonl->AppendBatch(batch).ok());
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 10, 20, 10, 0, 0), absl::UTCTimeZone());

  struct Case {
    const char* group_by;
    const char* tz;
    const char* period;
    const char* filter;
    size_t top;
    bool fill;
    bool summed;  // the totals answer it
  };
  const Case cases[] = {
      {"month,model", "UTC", "all", nullptr, 0, false, true},
      {"model", "UTC", "all", nullptr, 0, false, true},
      {"", "UTC", "2026-10", nullptr, 0, false, true},
      {"day,provider", "Europe/Berlin", "2026-10", nullptr, 0, true, true},
      {"hour", "Asia/Kathmandu", "week", nullptr, 0, false, true},
      {"day,model", "Australia/Eucla", "month", "model=gpt-5,unknown-model", 2, false, true},
      {"week,model", "America/St_Johns", "all", "provider=", 0, false, true},
      {"month", "Pacific/Chatham", "last-30d", nullptr, 0, true, true},
      {"model", "America/New_York", "yesterday", "provider=openai", 0, false, true},
      {"agent", "UTC", "all", nullptr, 0, false, false},
      {"model", "UTC", "all", "agent=reviewer", 0, false, false},
      {"tag:env", "UTC", "all", nullptr, 0, false, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.group_by);
    CAPTURE(c.tz);
    CAPTURE(c.period);
    RollupQuery q;
    REQUIRE(absl::LoadTimeZone(c.tz, &q.tz));
    absl::StatusOr<TimeRange> range = ResolvePeriod(c.period, now, q.tz);
    REQUIRE(range.ok());
    q.range = *range;
    if (*c.group_by != '\0') q.group_by = *ParseGroupBy(c.group_by);
    if (c.filter != nullptr) REQUIRE(q.AddFilter(c.filter).ok());
    q.top_n = c.top;
    q.fill_empty_buckets = c.fill;
    const std::string scanned = ReportOf(*ledger, q, false);
    CHECK(scanned == ReportOf(*jsonl, q, false));
    for (const Ledger* l : {ledger.get(), jsonl.get()}) {
      CAPTURE(l->kind());
      bool summed = false;
      const std::string fast = ReportOf(*l, q, true, &summed);
      CHECK(summed == c.summed);
      if (summed) CHECK(fast == scanned);
    }
  }

  SUBCASE("a range that does not start on a quarter hour is scanned") {
    RollupQuery q;
    absl::StatusOr<TimeRange> range = ResolveRange("2026-10-01T10:07:00Z", "", now, q.tz);
    REQUIRE(range.ok());
    q.range = *range;
    bool summed = true;
    ReportOf(*ledger, q, true, &summed);
    CHECK_FALSE(summed);
  }
  SUBCASE("a zone whose offset is not whole quarter hours is scanned") {
    // Amsterdam kept local mean time, UTC+0:19:32, until 1937.
    Entry old = MakeEntry(0);
    old.timestamp = absl::FromCivil(absl::CivilSecond(1930, 5, 1, 12, 0, 0), absl::UTCTimeZone());
    REQUIRE(ledger->Append(old).ok());
    RollupQuery q;
    REQUIRE(absl::LoadTimeZone("Europe/Amsterdam", &q.tz));
    q.group_by = *ParseGroupBy("day");
    bool summed = true;
    ReportOf(*ledger, q, true, &summed);
    CHECK_FALSE(summed);
    q.group_by = *ParseGroupBy("model");  // no time key: any zone will do
    const std::string fast = ReportOf(*ledger, q, true, &summed);
    CHECK(summed);
    CHECK(fast == ReportOf(*ledger, q, false));
  }
}

TEST_CASE("SQLite ledger: hostile files give errors that name them") {
  TempDir tmp;
  SUBCASE("a file that is not a database") {
    tmp.Write("junk.db", std::string(8192, 'x'));
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.Url("junk.db"));
    REQUIRE_FALSE(l.ok());
    CHECK(absl::StrContains(l.status().message(), tmp.Sub("junk.db")));
    CHECK(absl::StrContains(l.status().message(), "not a SQLite database"));
  }
  SUBCASE("a JSONL ledger at the URL") {
    tmp.Write("ledger.jsonl", "{\"v\":1}\n");
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.Url("ledger.jsonl"));
    REQUIRE_FALSE(l.ok());
    CHECK(absl::StrContains(l.status().message(), "not a SQLite database"));
  }
  SUBCASE("a schema from a newer version") {
    { auto l = OpenOrDie(tmp.Url()); }
    Exec(tmp.Sub("ledger.db"), "PRAGMA user_version = 2");
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.Url());
    REQUIRE_FALSE(l.ok());
    CHECK(absl::IsFailedPrecondition(l.status()));
    CHECK(absl::StrContains(l.status().message(), tmp.Sub("ledger.db")));
    CHECK(absl::StrContains(l.status().message(), "schema version 2 is newer"));
  }
  SUBCASE("another program's database") {
    Exec(tmp.Sub("other.db"), "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.Url("other.db"));
    REQUIRE_FALSE(l.ok());
    CHECK(absl::StrContains(l.status().message(), "not a tokenbook ledger"));
    CHECK(Query(tmp.Sub("other.db"), "SELECT count(*) FROM sqlite_schema") == 1);  // untouched
  }
  SUBCASE("a directory at the URL") {
    std::filesystem::create_directory(tmp.Sub("d.db"));
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.Url("d.db"));
    REQUIRE_FALSE(l.ok());
    CHECK(absl::StrContains(l.status().message(), "is a directory"));
  }
  SUBCASE("a missing database without create") {
    LedgerOptions o;
    o.create = false;
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(tmp.Url("none.db"), o);
    REQUIRE_FALSE(l.ok());
    CHECK(absl::IsNotFound(l.status()));
    CHECK_FALSE(std::filesystem::exists(tmp.Sub("none.db")));
  }
  SUBCASE("a directory another user owns is read, not written") {
    { auto l = OpenOrDie(tmp.Url()); }
    if (::chown(tmp.path().c_str(), ::geteuid() + 1, static_cast<gid_t>(-1)) != 0) return;  // needs root
    ::unsetenv("TOKENBOOK_ALLOW_OTHER_OWNER");
    auto l = OpenOrDie(tmp.Url());
    CHECK(ScanLines(*l).empty());
    absl::StatusOr<AppendResult> r = l->Append(MakeEntry(1));
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsPermissionDenied(r.status()));
    CHECK(absl::StrContains(r.status().message(), "TOKENBOOK_ALLOW_OTHER_OWNER"));
    REQUIRE(::chown(tmp.path().c_str(), ::geteuid(), static_cast<gid_t>(-1)) == 0);
  }
  SUBCASE("a read-only database is read, not written") {
    {
      auto l = OpenOrDie(tmp.Url());
      REQUIRE(l->Append(MakeEntry(0)).ok());
    }
    REQUIRE(::chmod(tmp.Sub("ledger.db").c_str(), 0400) == 0);
    if (::geteuid() == 0) return;  // root writes anyway
    auto l = OpenOrDie(tmp.Url());
    CHECK(ScanLines(*l).size() == 1);
    absl::StatusOr<AppendResult> r = l->Append(MakeEntry(1));
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsPermissionDenied(r.status()));
    CHECK(absl::StrContains(r.status().message(), tmp.Sub("ledger.db")));
  }
}

}  // namespace
}  // namespace tokenbook
