// The PostgreSQL ledger (docs/backends.md), against a real server: the
// throwaway cluster tests/pg/cluster.sh starts (TOKENBOOK_TEST_PG_URL names
// it; tests/pg/run.sh skips these tests when there is none). Every test
// works in a database of its own.
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger.h"
#include "tokenbook/ledger_postgres.h"
#include "tokenbook/period.h"
#include "tokenbook/rollup.h"
#include "../ledger_test_support.h"

namespace tokenbook {
namespace {

using test_support::FullEntry;
using test_support::MakeEntry;
using test_support::OpenOrDie;
using test_support::ReportOf;
using test_support::ReserveAndCommit;
using test_support::ScanLines;
using test_support::StartChildren;
using test_support::WaitChildren;

std::string ServerUrl() {
  const char* url = std::getenv("TOKENBOOK_TEST_PG_URL");
  REQUIRE_MESSAGE(url != nullptr, "TOKENBOOK_TEST_PG_URL is not set (run through tests/pg/run.sh)");
  return url;
}

// Runs SQL on the server's database `db` and returns the first value.
std::string Sql(const std::string& db, const std::string& sql) {
  const std::string url = absl::StrCat(ServerUrl(), "/", db);
  PGconn* c = PQconnectdb(url.c_str());
  REQUIRE_MESSAGE(PQstatus(c) == CONNECTION_OK, PQerrorMessage(c));
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  const std::string error = PQresultErrorMessage(r);
  std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  REQUIRE_MESSAGE((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK), sql, ": ", error);
  return out;
}

// A fresh, empty database on the test server, dropped at the end; and a
// local directory for the ledger's files.
class TempDb {
 public:
  TempDb() {
    static int counter = 0;
    name_ = absl::StrCat("tkb_test_", ::getpid(), "_", counter++);
    Sql("postgres", absl::StrCat("CREATE DATABASE ", name_));
    char tmpl[] = "/tmp/tokenbook_pg_test_XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    dir_ = made;
  }
  ~TempDb() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    const std::string url = absl::StrCat(ServerUrl(), "/postgres");
    PGconn* c = PQconnectdb(url.c_str());
    PQclear(PQexec(c, absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)").c_str()));
    PQfinish(c);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  std::string Url() const { return absl::StrCat(ServerUrl(), "/", name_); }
  std::string Query(const std::string& sql) const { return Sql(name_, sql); }
  const std::string& dir() const { return dir_; }
  // The ledger, opened with its local files in dir().
  std::unique_ptr<Ledger> Open() const {
    LedgerOptions o;
    o.backend = Url();
    return OpenOrDie(dir_, o);
  }

 private:
  std::string name_;
  std::string dir_;
};

TEST_CASE("PostgreSQL ledger: URLs resolve, and messages never show the password") {
  ::setenv("XDG_DATA_HOME", "/var/xdg", 1);
  absl::StatusOr<LedgerLocation> a = ResolveLedgerLocation("postgresql://ann:pw@db.example:6543/tokens");
  REQUIRE(a.ok());
  CHECK(a->backend == "postgresql://ann:pw@db.example:6543/tokens");
  CHECK(a->dir == "/var/xdg/tokenbook/postgresql/db.example_6543_tokens_ann");
  CHECK(ResolveLedgerLocation("postgres://db.example/tokens").ok());
  CHECK(absl::IsInvalidArgument(ResolveLedgerLocation("postgresql:tokens").status()));
  absl::StatusOr<LedgerLocation> bad = ResolveLedgerLocation("postgresql://ann:pw@db.example:notaport:1/x?nope=1");
  REQUIRE_FALSE(bad.ok());
  CHECK(absl::IsInvalidArgument(bad.status()));
  CHECK_FALSE(absl::StrContains(bad.status().message(), "pw"));
  CHECK(RedactPostgresUrl("postgresql://ann:pw@h/db") == "postgresql://ann@h/db");
  // libpq takes everything up to the first '@' before a '/' as user and
  // password, a '?' or '#' in the password included.
  CHECK(RedactPostgresUrl("postgresql://ann:p?w#d@h:5/db?x=1") == "postgresql://ann@h:5/db?x=1");
  CHECK(RedactPostgresUrl("postgresql://ann@h/db?application_name=a@b") == "postgresql://ann@h/db?application_name=a@b");
  CHECK(RedactPostgresUrl("postgresql://h/db?sslmode=require&password=pw") ==
        "postgresql://h/db?sslmode=require&password=***");
  CHECK(RedactPostgresUrl("postgresql://h/db") == "postgresql://h/db");
  ::unsetenv("XDG_DATA_HOME");
}

TEST_CASE("PostgreSQL ledger: every field round-trips, byte for byte as the JSONL line") {
  TempDb db;
  auto ledger = db.Open();
  CHECK(ledger->kind() == "postgresql");
  CHECK(ledger->dir() == db.dir());
  CHECK(ledger->ledger_path() == db.Url());
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
  CHECK(db.Query("SELECT line FROM entries") == *want);
  // The columns hold the same values, as integers, for psql.
  CHECK(db.Query("SELECT cost_micros FROM entries") == "987654321");
  CHECK(db.Query("SELECT pg_typeof(cost_micros)::text FROM entries") == "bigint");
  CHECK(db.Query("SELECT ts_ms FROM entries") == "1795000123456");
  CHECK(db.Query("SELECT cache_write_1h_tokens + reasoning_tokens FROM entries") == "2700");
  CHECK(db.Query("SELECT tags->>'team' FROM entries") == "a\nb");
  CHECK(db.Query("SELECT ts FROM entries") == "2026-11-18T11:08:43.456Z");
  CHECK(db.Query("SELECT duration_ms FROM entries") == "12345");
  CHECK(db.Query("SELECT feature FROM entries") == "billing ünïcode ✓");
  CHECK(db.Query("SELECT cost_usd FROM entries_usd") == "987.654321");
  CHECK(db.Query("SELECT max(version) FROM tokenbook_schema") == absl::StrCat(kPostgresSchemaVersion));
  // Absent dimensions are NULL, not ''.
  REQUIRE(ledger->Append(MakeEntry(1)).ok());
  CHECK(db.Query("SELECT count(*) FROM entries WHERE agent IS NULL AND tags IS NULL AND source_key IS NULL") == "1");
  // Reopening finds the schema current.
  auto again = db.Open();
  CHECK(ScanLines(*again).size() == 2);
  CHECK(db.Query("SELECT count(*) FROM tokenbook_schema") == absl::StrCat(kPostgresSchemaVersion));
}

TEST_CASE("PostgreSQL ledger: ids and source keys are idempotent, in a batch and across objects") {
  TempDb db;
  auto a = db.Open();
  auto b = db.Open();
  absl::StatusOr<AppendResult> first = a->Append(MakeEntry(0, "k1"));
  REQUIRE(first.ok());
  CHECK(first->appended);
  // The same key again, from another object: not appended, the first's id.
  absl::StatusOr<AppendResult> dup = b->Append(MakeEntry(1, "k1"));
  REQUIRE(dup.ok());
  CHECK_FALSE(dup->appended);
  CHECK(dup->id == first->id);
  CHECK(*b->HasSourceKey("k1"));
  CHECK_FALSE(*b->HasSourceKey("k2"));
  // The same id again (an export pushed twice).
  Entry same = MakeEntry(2);
  same.id = NewUlid();
  REQUIRE(a->Append(same)->appended);
  absl::StatusOr<AppendResult> again = b->Append(same);
  REQUIRE(again.ok());
  CHECK_FALSE(again->appended);
  CHECK(again->id == same.id);
  // In one batch: the second with a key is dropped.
  absl::StatusOr<std::vector<AppendResult>> batch =
      a->AppendBatch({MakeEntry(3, "k2"), MakeEntry(4, "k2"), MakeEntry(5, "k1"), MakeEntry(6)});
  REQUIRE(batch.ok());
  CHECK((*batch)[0].appended);
  CHECK_FALSE((*batch)[1].appended);
  CHECK((*batch)[1].id == (*batch)[0].id);
  CHECK_FALSE((*batch)[2].appended);
  CHECK((*batch)[2].id == first->id);
  CHECK((*batch)[3].appended);
  CHECK(db.Query("SELECT count(*) FROM entries") == "4");
  // An invalid entry in a batch leaves nothing.
  Entry bad = MakeEntry(7);
  bad.model.clear();
  CHECK_FALSE(a->AppendBatch({MakeEntry(8), bad}).ok());
  CHECK(db.Query("SELECT count(*) FROM entries") == "4");
}

TEST_CASE("PostgreSQL ledger: a statement the server refuses mid-transaction leaves nothing, and the next append works") {
  // An append is one pipelined round trip (BEGIN, lock, inserts, COMMIT):
  // the server's refusal of one insert must abort the whole transaction,
  // name the entry, spool nothing, and leave the connection usable.
  TempDb db;
  auto ledger = db.Open();
  REQUIRE(ledger->Append(MakeEntry(0)).ok());  // creates the schema
  db.Query(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.session = 'refused' THEN RAISE EXCEPTION 'refused by policy'; END IF; RETURN NEW; END $$");
  db.Query("CREATE TRIGGER refuse BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION refuse()");
  Entry refused = MakeEntry(2);
  refused.session = "refused";
  for (int round = 0; round < 3; ++round) {
    absl::StatusOr<std::vector<AppendResult>> batch = ledger->AppendBatch({MakeEntry(1), refused, MakeEntry(3)});
    REQUIRE_FALSE(batch.ok());
    CHECK_FALSE(absl::IsUnavailable(batch.status()));  // not taken for an outage: nothing spooled
    CHECK(absl::StrContains(batch.status().message(), refused.id));
    CHECK(absl::StrContains(batch.status().message(), "refused by policy"));
    absl::StatusOr<AppendResult> alone = ledger->Append(refused);
    REQUIRE_FALSE(alone.ok());
    CHECK(db.Query("SELECT count(*) FROM entries") == "1");
    CHECK(db.Query("SELECT count(*) FROM quarter_totals") == "1");
  }
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(db.dir()) / "spool.jsonl"));
  // The same connection goes on: a single append, a batch, a duplicate key.
  absl::StatusOr<AppendResult> next = ledger->Append(MakeEntry(4, "k"));
  REQUIRE(next.ok());
  CHECK(next->appended);
  absl::StatusOr<std::vector<AppendResult>> more = ledger->AppendBatch({MakeEntry(5), MakeEntry(6, "k")});
  REQUIRE(more.ok());
  CHECK((*more)[0].appended);
  CHECK_FALSE((*more)[1].appended);
  CHECK((*more)[1].id == next->id);
  CHECK(db.Query("SELECT count(*) FROM entries") == "3");
  CHECK(db.Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                 "state = 'idle in transaction (aborted)'") == "0");
}

TEST_CASE("PostgreSQL ledger: a refusal at COMMIT leaves nothing, and the next append works") {
  TempDb db;
  auto ledger = db.Open();
  REQUIRE(ledger->Append(MakeEntry(0)).ok());
  // A deferred constraint trigger: the inserts pass, COMMIT fails.
  db.Query(
      "CREATE FUNCTION refuse_late() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.session = 'late' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NULL; END $$");
  db.Query(
      "CREATE CONSTRAINT TRIGGER refuse_late AFTER INSERT ON entries DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION refuse_late()");
  Entry late = MakeEntry(1, "late-key");
  late.session = "late";
  absl::StatusOr<std::vector<AppendResult>> batch = ledger->AppendBatch({MakeEntry(2), late});
  REQUIRE_FALSE(batch.ok());
  CHECK_FALSE(absl::IsUnavailable(batch.status()));
  CHECK(absl::StrContains(batch.status().message(), "cannot commit"));
  CHECK(absl::StrContains(batch.status().message(), "refused at commit"));
  CHECK(db.Query("SELECT count(*) FROM entries") == "1");
  CHECK_FALSE(*ledger->HasSourceKey("late-key"));
  absl::StatusOr<AppendResult> next = ledger->Append(MakeEntry(3));
  REQUIRE(next.ok());
  CHECK(next->appended);
  CHECK(db.Query("SELECT count(*) FROM entries") == "2");
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(db.dir()) / "spool.jsonl"));
}

// The lines of a file (none when it is absent).
std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_CASE("PostgreSQL ledger: a connection lost mid-transaction spools the entry, and it arrives once") {
  TempDb db;
  auto ledger = db.Open();
  REQUIRE(ledger->Append(MakeEntry(0)).ok());
  // Hold the writers' lock from another session, so that the next append
  // waits inside its pipeline; then end that append's server process.
  PGconn* holder = PQconnectdb(db.Url().c_str());
  REQUIRE(PQstatus(holder) == CONNECTION_OK);
  PQclear(PQexec(holder, "SELECT pg_advisory_lock(1953194545, 2)"));
  const Entry waiting = MakeEntry(1, "waiting-key");
  absl::StatusOr<AppendResult> result = absl::UnknownError("not run");
  std::thread writer([&] { result = ledger->Append(waiting); });
  bool ended = false;
  for (int i = 0; i < 500 && !ended; ++i) {
    ended = db.Query(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'tokenbook' AND wait_event_type = 'Lock'") == "1";
    if (!ended) ::usleep(20'000);
  }
  writer.join();
  PQclear(PQexec(holder, "SELECT pg_advisory_unlock(1953194545, 2)"));
  PQfinish(holder);
  REQUIRE(ended);
  // The server went away mid-transaction: nothing of it was committed, and
  // the entry waits in the spool.
  REQUIRE(result.ok());
  CHECK(result->appended);
  CHECK(db.Query("SELECT count(*) FROM entries") == "1");
  CHECK(std::filesystem::exists(std::filesystem::path(db.dir()) / "spool.jsonl"));
  // A report from the kept totals sends the spool first, as a scan does.
  RollupQuery q;
  q.group_by = *ParseGroupBy("month,model");
  bool summed = false;
  const std::string from_totals = ReportOf(*ledger, q, true, &summed);
  CHECK(summed);
  CHECK(Lines(db.dir() + "/" + kPostgresSpoolFile).empty());
  CHECK(db.Query("SELECT count(*) FROM entries") == "2");
  CHECK(from_totals == ReportOf(*ledger, q, false));
  // The next append opens another connection.
  REQUIRE(ledger->Append(MakeEntry(2)).ok());
  CHECK(db.Query("SELECT count(*) FROM entries") == "3");
  CHECK(db.Query(absl::StrCat("SELECT count(*) FROM entries WHERE id = '", result->id, "'")) == "1");
  CHECK(*ledger->HasSourceKey("waiting-key"));
}

TEST_CASE("PostgreSQL ledger: holds the same entries as a JSONL ledger given the same appends") {
  TempDb db;
  auto jsonl = OpenOrDie(db.dir() + "/jsonl");
  auto pg = db.Open();
  for (int round = 0; round < 3; ++round) {
    std::vector<Entry> batch;
    for (int i = 0; i < 200; ++i) {
      Entry e = MakeEntry(round * 200 + i, i % 7 == 0 ? absl::StrCat("key", i % 50) : "");
      e.id = NewUlid();
      batch.push_back(e);
    }
    absl::StatusOr<std::vector<AppendResult>> x = jsonl->AppendBatch(batch);
    absl::StatusOr<std::vector<AppendResult>> y = pg->AppendBatch(batch);
    REQUIRE(x.ok());
    REQUIRE_MESSAGE(y.ok(), y.status());
    for (size_t i = 0; i < batch.size(); ++i) {
      CHECK((*x)[i].appended == (*y)[i].appended);
      CHECK((*x)[i].id == (*y)[i].id);
    }
  }
  const std::vector<std::string> x = ScanLines(*jsonl);
  CHECK(x.size() > 500);
  CHECK(x == ScanLines(*pg));
}

TEST_CASE("PostgreSQL ledger: ScanFrom continues after the last row it returned") {
  TempDb db;
  auto ledger = db.Open();
  REQUIRE(ledger->AppendBatch({MakeEntry(0), MakeEntry(1), MakeEntry(2)}).ok());
  int seen = 0;
  absl::StatusOr<int64_t> end = ledger->ScanFrom(0, [&](const Entry&) { ++seen; });
  REQUIRE(end.ok());
  CHECK(seen == 3);
  REQUIRE(ledger->Append(MakeEntry(3)).ok());
  std::vector<std::string> models;
  absl::StatusOr<int64_t> next = ledger->ScanFrom(*end, [&](const Entry& e) { models.push_back(e.model); });
  REQUIRE(next.ok());
  CHECK(models == std::vector<std::string>{MakeEntry(3).model});
  CHECK(*next > *end);
  CHECK(*ledger->ScanFrom(*next, [&](const Entry&) { FAIL("nothing new"); }) == *next);
  CHECK(absl::IsOutOfRange(ledger->ScanFrom(*next + 1000, [](const Entry&) {}).status()));
}

TEST_CASE("PostgreSQL ledger: fork()ed processes appending at once lose and duplicate nothing") {
  TempDb db;
  auto parent = db.Open();
  REQUIRE(parent->Append(MakeEntry(0)).ok());
  const std::vector<pid_t> children = StartChildren(4, [&](int child) {
    // Half the children open their own ledger; the others keep using the
    // inherited one (which must open a connection of its own).
    std::unique_ptr<Ledger> own;
    Ledger* l = parent.get();
    if (child % 2 == 0) {
      LedgerOptions o;
      o.backend = db.Url();
      absl::StatusOr<std::unique_ptr<Ledger>> opened = Ledger::Open(db.dir(), o);
      if (!opened.ok()) return 1;
      own = std::move(*opened);
      l = own.get();
    }
    for (int i = 0; i < 60; ++i) {
      const std::string key = i < 20 ? absl::StrCat("shared", i) : absl::StrCat("c", child, "-", i);
      if (!l->Append(MakeEntry(child * 1000 + i, key)).ok()) return 2;
      if (i % 10 == 0 && !l->AppendBatch({MakeEntry(i), MakeEntry(i + 1)}).ok()) return 3;
    }
    return 0;
  });
  for (int i = 0; i < 50; ++i) REQUIRE(parent->Append(MakeEntry(i)).ok());
  CHECK(WaitChildren(children) == 0);
  // 1 + 50 (parent) + 20 shared keys + 4 x 40 own keys + 4 x 6 x 2 batched.
  const std::vector<std::string> lines = ScanLines(*parent);
  CHECK(lines.size() == 1 + 50 + 20 + 160 + 48);
  std::set<std::string> unique(lines.begin(), lines.end());
  CHECK(unique.size() == lines.size());
  CHECK(db.Query("SELECT count(DISTINCT source_key) FROM entries") == "180");
}

TEST_CASE("PostgreSQL ledger: processes of different hosts reserving against one blocking budget never overshoot") {
  TempDb db;
  db.Open();
  // Each process has a local directory of its own, as hosts would: only the
  // database is shared, so only it can keep them from overshooting.
  constexpr int kProcesses = 4;
  for (int p = 0; p < kProcesses; ++p) {
    std::filesystem::create_directories(absl::StrCat(db.dir(), "/host", p));
    std::ofstream(absl::StrCat(db.dir(), "/host", p, "/config.toml"))
        << "backend = \"" << db.Url() << "\"\n[budgets]\nmonthly = { limit = \"1.00\", action = \"block\" }\n";
  }
  constexpr int64_t kCent = 10'000;
  const std::vector<pid_t> children = StartChildren(kProcesses, [&](int p) {
    return std::max(0, std::min(254, ReserveAndCommit(absl::StrCat(db.dir(), "/host", p), "postgresql", 50, kCent, p)));
  });
  std::vector<int> codes;
  REQUIRE(WaitChildren(children, &codes) == 0);
  int committed = 0;
  for (int c : codes) committed += c;
  CHECK(committed == 100);
  CHECK(db.Query("SELECT count(*) FROM entries") == "100");
  CHECK(db.Query("SELECT sum(cost_micros) FROM entries") == "1000000");  // exactly the limit
  CHECK(db.Query("SELECT count(*) FROM reservations") == "0");
  for (int p = 0; p < kProcesses; ++p) {
    CHECK_FALSE(std::filesystem::exists(absl::StrCat(db.dir(), "/host", p, "/reservations.jsonl")));
  }
}

TEST_CASE("PostgreSQL ledger: reports from the kept quarter-hour totals equal reports from a scan") {
  TempDb db;
  auto ledger = db.Open();
  auto jsonl = OpenOrDie(db.dir() + "/jsonl");
  std::vector<Entry> batch;
  const absl::Time begin = absl::FromCivil(absl::CivilSecond(2026, 9, 1, 0, 0, 0), absl::UTCTimeZone());
  for (int i = 0; i < 2000; ++i) {
    Entry e = MakeEntry(i);
    e.id = NewUlid();
    e.timestamp = begin + absl::Seconds(int64_t{i} * (71 * 60 + 13)) + absl::Milliseconds(i % 1000);
    if (i % 11 == 0) {
      e.cost_source = CostSource::kUnpriced;
      e.cost = Micros(0);
      e.provider.clear();
      e.model = "unknown-model";
    }
    e.tokens[TokenKind::kCacheRead] = Tokens(i % 5 * 1000);
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
    bool summed;
  };
  const Case cases[] = {
      {"month,model", "UTC", "all", true},
      {"day,provider", "Europe/Berlin", "2026-10", true},
      {"hour", "Asia/Kathmandu", "week", true},
      {"", "UTC", "2026-10", true},
      {"agent", "UTC", "all", false},
      // Across New York's and Lord Howe's changes of offset (2026-11-01,
      // 2026-10-04), Kathmandu's +5:45.
      {"hour", "America/New_York", "all", true},
      {"day,model", "America/New_York", "2026-11", true},
      {"week,provider", "Australia/Lord_Howe", "all", true},
      {"hour,model", "Australia/Lord_Howe", "2026-10", true},
      {"month", "Asia/Kathmandu", "all", true},
      {"day", "Asia/Kathmandu", "2026-10-05", true},
      {"model,provider", "Europe/Amsterdam", "all", true},
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
    bool summed = false;
    const std::string fast = ReportOf(*ledger, q, true, &summed);
    CHECK(summed == c.summed);
    const std::string scanned = ReportOf(*ledger, q, false);
    CHECK(scanned == ReportOf(*jsonl, q, false));
    if (summed) CHECK(fast == scanned);
  }

  SUBCASE("the server sums per bucket: the client receives a row per bucket, model, provider and pricedness") {
    const int64_t quarters = std::stoll(db.Query("SELECT count(*) FROM quarter_totals"));
    const int64_t months = std::stoll(
        db.Query("SELECT count(*) FROM (SELECT DISTINCT date_trunc('month', to_timestamp(quarter * 900) AT TIME ZONE "
                 "'UTC'), model, provider, unpriced FROM quarter_totals) m"));
    REQUIRE(months * 10 < quarters);
    RollupQuery q;
    q.group_by = *ParseGroupBy("month,model");
    const int64_t before = PostgresTotalsRowsReceived();
    bool summed = false;
    const std::string fast = ReportOf(*ledger, q, true, &summed);
    REQUIRE(summed);
    CHECK(PostgresTotalsRowsReceived() - before == months);
    CHECK(fast == ReportOf(*jsonl, q, false));
    // A query with no time key: one bucket.
    q.group_by = *ParseGroupBy("provider");
    const int64_t again = PostgresTotalsRowsReceived();
    CHECK(ReportOf(*ledger, q, true) == ReportOf(*jsonl, q, false));
    CHECK(
        PostgresTotalsRowsReceived() - again ==
        std::stoll(db.Query("SELECT count(*) FROM (SELECT DISTINCT model, provider, unpriced FROM quarter_totals) d")));
  }
}

TEST_CASE("PostgreSQL ledger: a zone the buckets cannot follow in quarter hours falls back, and stays exact") {
  TempDb db;
  auto ledger = db.Open();
  auto jsonl = OpenOrDie(db.dir() + "/jsonl");
  std::vector<Entry> batch;
  // Amsterdam kept +0:19:32 (+1:19:32 in summer, from 1930-05-15) until
  // 1937: a hundred days from 1930-04-01, and from 2026-10-01.
  for (const absl::CivilSecond from :
       {absl::CivilSecond(1930, 4, 1, 0, 0, 0), absl::CivilSecond(2026, 10, 1, 0, 0, 0)}) {
    for (int i = 0; i < 1500; ++i) {
      Entry e = MakeEntry(i);
      e.id = NewUlid();
      e.timestamp = absl::FromCivil(from, absl::UTCTimeZone()) + absl::Seconds(int64_t{i} * 97 * 60 + 7) +
                    absl::Milliseconds(i % 1000);
      batch.push_back(e);
    }
  }
  REQUIRE(ledger->AppendBatch(batch).ok());
  REQUIRE(jsonl->AppendBatch(batch).ok());
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 10, 20, 10, 0, 0), absl::UTCTimeZone());
  struct Case {
    const char* group_by;
    const char* tz;
    const char* period;
    bool summed;
  };
  const Case cases[] = {
      {"day", "Europe/Amsterdam", "all", false},  // per quarter, which AddTo refuses: a scan
      {"month,model", "Europe/Amsterdam", "all", false},
      {"day", "Europe/Amsterdam", "2026-10", true},  // today's offsets are whole quarter hours
      {"model", "Europe/Amsterdam", "all", true},    // no time key
      {"week,provider", "UTC", "all", true},
      {"hour", "Asia/Kathmandu", "all", true},
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
    q.group_by = *ParseGroupBy(c.group_by);
    bool summed = false;
    const std::string fast = ReportOf(*ledger, q, true, &summed);
    CHECK(summed == c.summed);
    const std::string scanned = ReportOf(*ledger, q, false);
    CHECK(scanned == ReportOf(*jsonl, q, false));
    if (summed) CHECK(fast == scanned);
  }
}

TEST_CASE("PostgreSQL ledger: sums the totals cannot hold, or rows not as the trigger keeps them, are left to a scan") {
  TempDb db;
  auto ledger = db.Open();
  const absl::Time day = absl::FromCivil(absl::CivilSecond(2026, 10, 5, 0, 0, 0), absl::UTCTimeZone());
  std::vector<Entry> batch;
  for (int i = 0; i < 2; ++i) {
    Entry e = MakeEntry(0);
    e.id = NewUlid();
    e.timestamp = day + absl::Hours(i);
    batch.push_back(e);
  }
  REQUIRE(ledger->AppendBatch(batch).ok());
  RollupQuery q;
  q.group_by = *ParseGroupBy("day");
  bool summed = false;
  ReportOf(*ledger, q, true, &summed);
  REQUIRE(summed);
  SUBCASE("a day's cost beyond 64 bits") {
    db.Query("UPDATE quarter_totals SET cost_micros = 5000000000000000000");
    ReportOf(*ledger, q, true, &summed);
    CHECK_FALSE(summed);
  }
  SUBCASE("a row whose last time lies past its quarter") {
    db.Query(
        "UPDATE quarter_totals SET last_ts_ms = last_ts_ms + 900000 WHERE first_ts_ms = (SELECT min(first_ts_ms) "
        "FROM quarter_totals)");
    ReportOf(*ledger, q, true, &summed);
    CHECK_FALSE(summed);
  }
}

TEST_CASE("PostgreSQL ledger: a Book opened on a directory whose config.toml names the database uses it") {
  TempDb db;
  std::ofstream(db.dir() + "/config.toml") << "backend = \"" << db.Url() << "\"\n";
  absl::StatusOr<std::unique_ptr<Book>> book = Book::Open(db.dir());
  REQUIRE_MESSAGE(book.ok(), book.status());
  CHECK((*book)->ledger().kind() == "postgresql");
  CHECK((*book)->ledger().dir() == db.dir());
  absl::StatusOr<LogOutcome> out = (*book)->Log(MakeEntry(0), absl::Now());
  REQUIRE_MESSAGE(out.ok(), out.status());
  CHECK(db.Query("SELECT count(*) FROM entries") == "1");
}

// Stops or starts the test server (tests/pg/cluster.sh pause|resume).
void Cluster(const char* what) {
  const char* cluster = std::getenv("TOKENBOOK_TEST_PG_CLUSTER");
  const char* state = std::getenv("TOKENBOOK_TEST_PG_STATE");
  REQUIRE((cluster != nullptr && state != nullptr));
  const std::string command = absl::StrCat("sh '", cluster, "' ", what, " '", state, "'");
  REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
}

TEST_CASE("PostgreSQL ledger: entries appended while the server is down wait in the spool, then arrive once") {
  TempDb db;
  auto ledger = db.Open();
  const std::string spool = db.dir() + "/" + kPostgresSpoolFile;
  std::vector<std::string> ids;
  auto append = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      absl::StatusOr<AppendResult> r = ledger->Append(MakeEntry(i, i % 10 == 0 ? absl::StrCat("k", i) : ""));
      REQUIRE_MESSAGE(r.ok(), r.status());
      CHECK(r->appended);
      ids.push_back(r->id);
    }
  };
  append(0, 40);
  Cluster("pause");
  append(40, 80);  // spooled (one warning on stderr)
  CHECK(Lines(spool).size() == 40);
  // A ledger opened meanwhile, in another process, spools too.
  const std::vector<pid_t> child = StartChildren(1, [&](int) {
    LedgerOptions o;
    o.backend = db.Url();
    absl::StatusOr<std::unique_ptr<Ledger>> other = Ledger::Open(db.dir(), o);
    if (!other.ok()) return 1;
    for (int i = 80; i < 90; ++i) {
      if (!(*other)->Append(MakeEntry(i)).ok()) return 2;
    }
    return 0;
  });
  CHECK(WaitChildren(child) == 0);
  CHECK(Lines(spool).size() == 50);
  CHECK(absl::IsUnavailable(ledger->Scan([](const Entry&) {})));
  Cluster("resume");
  append(90, 100);  // reconnects, sends the spool first
  CHECK(Lines(spool).empty());
  const std::vector<std::string> lines = ScanLines(*ledger);
  CHECK(lines.size() == 100);
  CHECK(std::set<std::string>(lines.begin(), lines.end()).size() == 100);
  CHECK(db.Query("SELECT count(DISTINCT id) FROM entries") == "100");
  for (const std::string& id : ids) CHECK(db.Query("SELECT count(*) FROM entries WHERE id = '" + id + "'") == "1");
  // A spool sent twice (a crash between the insert and emptying it) adds nothing.
  {
    std::ofstream out(spool);
    for (size_t i = 40; i < 50; ++i) out << lines[i] << "\n";
  }
  CHECK(db.Open()->Scan([](const Entry&) {}).ok());
  CHECK(Lines(spool).empty());
  CHECK(db.Query("SELECT count(*) FROM entries") == "100");
}

TEST_CASE("PostgreSQL ledger: hostile servers and databases give errors that name them") {
  SUBCASE("no server") {
    TempDb db;
    LedgerOptions o;
    o.backend = "postgresql://ann:secret@127.0.0.1:1/tokens?connect_timeout=2";
    // It opens (appends would wait in the spool); reads say why they cannot.
    auto l = OpenOrDie(db.dir(), o);
    const absl::Status s = l->Scan([](const Entry&) {});
    CHECK(absl::IsUnavailable(s));
    CHECK(absl::StrContains(s.message(), "postgresql://ann@127.0.0.1:1/tokens"));
    CHECK(absl::StrContains(s.message(), "cannot connect"));
    CHECK_FALSE(absl::StrContains(s.message(), "secret"));
    o.create = false;
    absl::StatusOr<std::unique_ptr<Ledger>> strict = Ledger::Open(db.dir(), o);
    REQUIRE_FALSE(strict.ok());
    CHECK(absl::IsUnavailable(strict.status()));
    CHECK_FALSE(absl::StrContains(strict.status().message(), "secret"));
  }
  SUBCASE("no such database") {
    LedgerOptions o;
    o.backend = absl::StrCat(ServerUrl(), "/tkb_no_such_database");
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open("/tmp", o);
    REQUIRE_FALSE(l.ok());
    CHECK(absl::IsNotFound(l.status()));
    CHECK(absl::StrContains(l.status().message(), "tkb_no_such_database"));
  }
  SUBCASE("a newer schema") {
    TempDb db;
    db.Open();
    db.Query(absl::StrCat("INSERT INTO tokenbook_schema (version) VALUES (", kPostgresSchemaVersion + 1, ")"));
    LedgerOptions o;
    o.backend = db.Url();
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(db.dir(), o);
    REQUIRE_FALSE(l.ok());
    CHECK(absl::IsFailedPrecondition(l.status()));
    CHECK(absl::StrContains(l.status().message(), "newer than this tokenbook reads"));
    CHECK(absl::StrContains(l.status().message(), db.Url()));
  }
  SUBCASE("another program's table") {
    TempDb db;
    db.Query("CREATE TABLE entries (x int)");
    LedgerOptions o;
    o.backend = db.Url();
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(db.dir(), o);
    REQUIRE_FALSE(l.ok());
    CHECK(absl::IsFailedPrecondition(l.status()));
    CHECK(absl::StrContains(l.status().message(), "not a tokenbook ledger"));
  }
  SUBCASE("not creating") {
    TempDb db;
    LedgerOptions o;
    o.backend = db.Url();
    o.create = false;
    CHECK(absl::IsNotFound(Ledger::Open(db.dir(), o).status()));
  }
}

}  // namespace
}  // namespace tokenbook
