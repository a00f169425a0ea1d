// The SQLite ledger (docs/backends.md).
//
// One row per entry in `entries`, in insertion order (`seq`, the rowid).
// Every field has its column, for indexes and for the sqlite3 shell, and
// `line` keeps the entry's ledger line (docs/ledger-format.md) exactly as the
// JSONL ledger would hold it: Scan decodes that, so both backends hand the
// same entries to every report, and an export from one to the other is
// exact.
//
// Concurrency: the database is in WAL mode. Writers take the write lock
// with BEGIN IMMEDIATE (waiting up to busy_timeout) and insert a whole batch
// in one transaction, so rowids follow commit order and a reader never sees
// a later row before an earlier one: seq works as a scan offset. Readers
// (Scan, ScanFrom) open their own connection and read one snapshot, without
// blocking writers. Threads of this process share one writing connection
// under a mutex. A fork()ed child opens a fresh connection (SQLite's
// connections must not cross fork()).
//
// Source keys: `source_key` is UNIQUE (NULL when absent), so the database
// itself drops a second entry with a key, across processes, with no index
// kept in memory; `id` is UNIQUE too, which makes inserting an export twice a
// no-op.
#include "tokenbook/ledger_sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger_postgres.h"
#include "tokenbook/quarter_totals.h"
#include "tokenbook/rollup.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {
namespace {

// How long a writer waits for another process's transaction before giving
// up with an error (SQLITE_BUSY).
constexpr int kBusyTimeoutMs = 60'000;

// The schema, version 1. Dimensions absent from an entry are NULL, not ''.
constexpr char kSchema[] = R"sql(
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY,            -- insertion order; the scan offset
  id TEXT NOT NULL UNIQUE,            -- ULID
  ts_ms INTEGER NOT NULL,             -- Unix milliseconds, UTC
  ts TEXT NOT NULL,                   -- the same, "2026-11-22T05:49:04.123Z"
  model TEXT NOT NULL,
  provider TEXT,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_5m_tokens INTEGER NOT NULL,
  cache_write_1h_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL,       -- micro-dollars; 0 when unpriced
  cost_source TEXT NOT NULL,          -- computed | override | reported | unpriced
  rates_as_of TEXT,
  session TEXT,
  agent TEXT,
  category TEXT,
  action_type TEXT,
  action TEXT,
  feature TEXT,
  project TEXT,
  tool TEXT,
  task_type TEXT,
  service_tier TEXT,
  duration_ms INTEGER,
  tags TEXT,                          -- a JSON object, or NULL
  notes TEXT,
  source_kind TEXT,
  source_key TEXT UNIQUE,
  line TEXT NOT NULL                  -- the entry's ledger line (docs/ledger-format.md)
);
CREATE INDEX entries_ts ON entries (ts_ms);
CREATE INDEX entries_session ON entries (session) WHERE session IS NOT NULL;

-- Running totals per UTC quarter hour, model, provider and pricedness, kept
-- by the insert itself: reports that group and filter by nothing finer
-- (time buckets, model, provider) read these instead of every entry.
CREATE TABLE quarter_totals (
  quarter INTEGER NOT NULL,           -- floor(ts_ms / 900000)
  model TEXT NOT NULL,
  provider TEXT NOT NULL,             -- '' when absent
  unpriced INTEGER NOT NULL,          -- 1: cost_source = 'unpriced'
  entries INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  cost_micros INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_5m_tokens INTEGER NOT NULL,
  cache_write_1h_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  first_ts_ms INTEGER NOT NULL,
  last_ts_ms INTEGER NOT NULL,
  PRIMARY KEY (quarter, model, provider, unpriced)
) WITHOUT ROWID;
CREATE TRIGGER entries_quarter_totals AFTER INSERT ON entries BEGIN
  INSERT INTO quarter_totals VALUES (
    (NEW.ts_ms - (((NEW.ts_ms % 900000) + 900000) % 900000)) / 900000,
    NEW.model, coalesce(NEW.provider, ''), NEW.cost_source = 'unpriced',
    1, NEW.requests, NEW.cost_micros, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
    NEW.cache_write_5m_tokens, NEW.cache_write_1h_tokens, NEW.reasoning_tokens, NEW.ts_ms, NEW.ts_ms)
  ON CONFLICT DO UPDATE SET
    entries = entries + 1,
    requests = requests + excluded.requests,
    cost_micros = cost_micros + excluded.cost_micros,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_5m_tokens = cache_write_5m_tokens + excluded.cache_write_5m_tokens,
    cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
    first_ts_ms = min(first_ts_ms, excluded.first_ts_ms),
    last_ts_ms = max(last_ts_ms, excluded.last_ts_ms);
END;

-- For the sqlite3 shell. Days and months are UTC; `tokenbook report` uses
-- the configured time zone.
CREATE VIEW entries_usd AS
  SELECT *, CASE WHEN cost_micros < 0 THEN '-' ELSE '' END ||
                 (abs(cost_micros) / 1000000) || '.' || printf('%06d', abs(cost_micros) % 1000000) AS cost_usd
  FROM entries;
CREATE VIEW daily_cost AS
  SELECT substr(ts, 1, 10) AS day, count(*) AS entries, sum(requests) AS requests,
         sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
         sum(cache_read_tokens) AS cache_read_tokens,
         sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_write_tokens,
         sum(cost_micros) AS cost_micros,
         sum(cost_source = 'unpriced') AS unpriced_entries
  FROM entries GROUP BY day;
CREATE VIEW monthly_by_model AS
  SELECT substr(ts, 1, 7) AS month, model, count(*) AS entries, sum(requests) AS requests,
         sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
         sum(cache_read_tokens) AS cache_read_tokens,
         sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_write_tokens,
         sum(cost_micros) AS cost_micros,
         sum(cost_source = 'unpriced') AS unpriced_entries
  FROM entries GROUP BY month, model;
)sql";

constexpr char kInsert[] =
    "INSERT INTO entries (id, ts_ms, ts, model, provider, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, requests, cost_micros, cost_source, "
    "rates_as_of, session, agent, category, action_type, action, feature, project, tool, task_type, "
    "service_tier, duration_ms, tags, notes, source_kind, source_key, line) VALUES "
    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// An error status for a SQLite result code, naming the file.
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what, const std::string& path) {
  const int primary = rc & 0xff;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (detail.empty()) detail = sqlite3_errstr(rc);
  std::string message = absl::StrCat(path, ": ", what, ": ", detail);
  switch (primary) {
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(absl::StrCat(path, ": not a SQLite database (", detail, ")"));
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(path, ": the database is corrupt (", detail, ")"));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    case SQLITE_CANTOPEN:
      return absl::NotFoundError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status Exec(sqlite3* db, const char* sql, const std::string& path) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string what = absl::StrCat("\"", absl::string_view(sql).substr(0, 40), "\"");
  sqlite3_free(err);
  return SqliteError(db, rc, what, path);
}

absl::StatusOr<Stmt> Prepare(sqlite3* db, const char* sql, const std::string& path) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "cannot prepare a statement", path);
  return Stmt(s);
}

absl::StatusOr<int64_t> PragmaInt(sqlite3* db, const char* pragma, const std::string& path) {
  TKB_ASSIGN_OR_RETURN(Stmt s, Prepare(db, pragma, path));
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(s.get(), 0);
  if (rc == SQLITE_DONE) return 0;
  return SqliteError(db, rc, absl::StrCat("cannot read ", pragma), path);
}

// Binds text, or NULL for an empty string.
int BindText(sqlite3_stmt* s, int i, absl::string_view text, bool null_when_empty = true) {
  if (text.empty() && null_when_empty) return sqlite3_bind_null(s, i);
  return sqlite3_bind_text64(s, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void AppendJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c < 0x20) {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(esc, sizeof(esc));
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

std::string TagsJson(const Entry& e) {
  std::string out = "{";
  for (size_t i = 0; i < e.tags.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(e.tags[i].first, &out);
    out.push_back(':');
    AppendJsonString(e.tags[i].second, &out);
  }
  out.push_back('}');
  return out;
}

// Opens a connection with the settings every connection needs.
absl::StatusOr<Db> Connect(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_CANTOPEN && (flags & SQLITE_OPEN_CREATE) == 0) {
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        return absl::NotFoundError(absl::StrCat("no ledger database at ", path));
      }
    }
    return SqliteError(db.get(), rc, "cannot open", path);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  return db;
}

class SqliteLedger final : public Ledger {
 public:
  SqliteLedger(std::string dir, std::string path, LedgerOptions options, Db db, std::string not_writable)
      : dir_(std::move(dir)),
        path_(std::move(path)),
        options_(std::move(options)),
        not_writable_(std::move(not_writable)),
        pid_(::getpid()),
        db_(std::move(db)) {}

  ~SqliteLedger() override {
    insert_.reset();
    find_key_.reset();
    if (pid_ != ::getpid()) {
      (void)db_.release();  // the parent's connection: closing it here could drop the parent's locks
    }
  }

  // Checks the schema (creating it in an empty database when writable).
  absl::Status Init() {
    sqlite3* db = db_.get();
    // Reading the schema is the first access: a file that is not a database
    // fails here.
    absl::StatusOr<int64_t> app = PragmaInt(db, "PRAGMA application_id", path_);
    if (!app.ok()) return app.status();
    TKB_ASSIGN_OR_RETURN(int64_t version, PragmaInt(db, "PRAGMA user_version", path_));
    TKB_RETURN_IF_ERROR(CheckVersion(*app, version));
    if (version == 0) {
      if (!not_writable_.empty()) {
        TKB_ASSIGN_OR_RETURN(int64_t tables, PragmaInt(db, "SELECT count(*) FROM sqlite_schema", path_));
        if (tables == 0) return absl::FailedPreconditionError(absl::StrCat(path_, ": an empty database, and ", not_writable_));
      }
      if (not_writable_.empty()) {
        // Two processes may create the ledger at once: the write lock
        // decides, and the loser finds the schema made.
        TKB_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", path_));
        absl::Status s = CreateSchemaLocked(&version);
        if (!s.ok()) {
          Exec(db, "ROLLBACK", path_).IgnoreError();
          return s;
        }
        TKB_RETURN_IF_ERROR(Exec(db, "COMMIT", path_));
      }
    }
    if (not_writable_.empty()) {
      TKB_ASSIGN_OR_RETURN(Stmt wal, Prepare(db, "PRAGMA journal_mode=WAL", path_));
      const int rc = sqlite3_step(wal.get());
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "cannot enable WAL mode", path_);
      TKB_RETURN_IF_ERROR(Exec(db,
                               options_.durability == Durability::kFsync ? "PRAGMA synchronous=FULL"
                                                                         : "PRAGMA synchronous=NORMAL",
                               path_));
    }
    return absl::OkStatus();
  }

  const std::string& dir() const override { return dir_; }
  std::string ledger_path() const override { return path_; }
  absl::string_view kind() const override { return "sqlite"; }

  absl::StatusOr<AppendResult> Append(Entry entry) override {
    std::vector<Entry> one;
    one.push_back(std::move(entry));
    TKB_ASSIGN_OR_RETURN(std::vector<AppendResult> r, AppendBatch(std::move(one), AppendOptions{}));
    return r[0];
  }

  absl::StatusOr<std::vector<AppendResult>> AppendBatch(std::vector<Entry> entries) override {
    return AppendBatch(std::move(entries), AppendOptions{});
  }

  absl::StatusOr<std::vector<AppendResult>> AppendBatch(std::vector<Entry> entries,
                                                        const AppendOptions& options) override {
    std::vector<AppendResult> results(entries.size());
    if (entries.empty()) return results;
    if (!not_writable_.empty()) return absl::PermissionDeniedError(not_writable_);
    // Encode (and so validate) everything before touching the database.
    const absl::Time now = absl::Now();
    std::vector<std::string> lines(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      Entry& e = entries[i];
      if (e.id.empty()) e.id = NewUlid();
      if (e.timestamp == absl::UnixEpoch()) e.timestamp = now;
      absl::Status s = EncodeEntryJson(e, &lines[i]);
      if (!s.ok()) return absl::Status(s.code(), absl::StrCat("entry ", i + 1, " of ", entries.size(), ": ", s.message()));
      results[i].id = e.id;
    }
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(EnsureConnectionLocked());
    sqlite3* db = db_.get();
    TKB_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", path_));
    absl::Status s = InsertLocked(entries, lines, options, &results);
    if (s.ok()) s = Exec(db, "COMMIT", path_);
    if (!s.ok()) {
      Exec(db, "ROLLBACK", path_).IgnoreError();
      for (AppendResult& r : results) r = AppendResult{};
      return s;
    }
    return results;
  }

  absl::Status Scan(const std::function<void(const Entry&)>& fn, std::vector<LedgerIssue>* issues) const override {
    return ScanRows(0, fn, issues).status();
  }

  absl::StatusOr<int64_t> ScanFrom(int64_t begin, const std::function<void(const Entry&)>& fn,
                                   std::vector<LedgerIssue>* issues) const override {
    if (begin < 0) return absl::OutOfRangeError(absl::StrCat("offset ", begin, " is negative (", path_, ")"));
    return ScanRows(begin, fn, issues);
  }

  absl::StatusOr<bool> AddTotalsTo(Rollup* rollup) const override {
    int64_t first_quarter = 0, end_quarter = 0;
    if (!QuarterTotals::Answers(rollup->query(), &first_quarter, &end_quarter)) return false;
    TKB_ASSIGN_OR_RETURN(Db db, Connect(path_, SQLITE_OPEN_READONLY));
    TKB_ASSIGN_OR_RETURN(const int64_t kept,
                         PragmaInt(db.get(), "SELECT count(*) FROM sqlite_schema WHERE name = 'quarter_totals'", path_));
    if (kept == 0) return false;  // made without it: scan
    TKB_ASSIGN_OR_RETURN(
        Stmt s, Prepare(db.get(),
                        "SELECT quarter, model, provider, unpriced, entries, requests, cost_micros, input_tokens, "
                        "output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
                        "reasoning_tokens, first_ts_ms, last_ts_ms FROM quarter_totals "
                        "WHERE quarter >= ? AND quarter < ?",
                        path_));
    sqlite3_bind_int64(s.get(), 1, first_quarter);
    sqlite3_bind_int64(s.get(), 2, end_quarter);
    static constexpr TokenKind kColumns[] = {TokenKind::kInput,        TokenKind::kOutput,
                                             TokenKind::kCacheRead,    TokenKind::kCacheWrite5m,
                                             TokenKind::kCacheWrite1h, TokenKind::kReasoning};
    QuarterTotals totals;
    for (;;) {
      const int rc = sqlite3_step(s.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db.get(), rc, "cannot read quarter_totals", path_);
      const auto text = [&](int col) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), col));
        return t == nullptr ? absl::string_view()
                            : absl::string_view(t, static_cast<size_t>(sqlite3_column_bytes(s.get(), col)));
      };
      Totals t;
      t.entries = sqlite3_column_int64(s.get(), 4);
      t.requests = sqlite3_column_int64(s.get(), 5);
      t.cost = Micros(sqlite3_column_int64(s.get(), 6));
      for (int k = 0; k < 6; ++k) t.tokens[kColumns[k]] = Tokens(sqlite3_column_int64(s.get(), 7 + k));
      if (sqlite3_column_int64(s.get(), 3) != 0) {  // unpriced
        t.unpriced_entries = t.entries;
        t.unpriced_tokens = t.tokens;
      }
      t.first = absl::FromUnixMillis(sqlite3_column_int64(s.get(), 13));
      t.last = absl::FromUnixMillis(sqlite3_column_int64(s.get(), 14));
      totals.AddRow(sqlite3_column_int64(s.get(), 0), text(1), text(2), t);
    }
    return totals.AddTo(rollup);
  }

  absl::StatusOr<bool> HasSourceKey(absl::string_view key) const override {
    if (key.empty()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(EnsureConnectionLocked());
    TKB_ASSIGN_OR_RETURN(std::string id, IdOfKeyLocked(key));
    return !id.empty();
  }

 private:
  absl::Status CheckVersion(int64_t app, int64_t version) const {
    if (version > kSqliteSchemaVersion && app == kSqliteApplicationId) {
      return absl::FailedPreconditionError(absl::StrCat(path_, ": ledger schema version ", version,
                                                        " is newer than this tokenbook reads (", kSqliteSchemaVersion,
                                                        "); upgrade tokenbook"));
    }
    if (app != kSqliteApplicationId && (app != 0 || version != 0)) {
      return absl::FailedPreconditionError(absl::StrCat(path_, ": a SQLite database, but not a tokenbook ledger (application_id ",
                                                        app, ", user_version ", version, ")"));
    }
    return absl::OkStatus();
  }

  // Under BEGIN IMMEDIATE.
  absl::Status CreateSchemaLocked(int64_t* version) {
    sqlite3* db = db_.get();
    TKB_ASSIGN_OR_RETURN(int64_t app, PragmaInt(db, "PRAGMA application_id", path_));
    TKB_ASSIGN_OR_RETURN(*version, PragmaInt(db, "PRAGMA user_version", path_));
    TKB_RETURN_IF_ERROR(CheckVersion(app, *version));
    if (*version != 0) return absl::OkStatus();  // another process made it meanwhile
    TKB_ASSIGN_OR_RETURN(int64_t tables, PragmaInt(db, "SELECT count(*) FROM sqlite_schema", path_));
    if (tables != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": a SQLite database with other tables, not a tokenbook ledger"));
    }
    TKB_RETURN_IF_ERROR(Exec(db, kSchema, path_));
    TKB_RETURN_IF_ERROR(Exec(db, absl::StrCat("PRAGMA application_id=", kSqliteApplicationId).c_str(), path_));
    TKB_RETURN_IF_ERROR(Exec(db, absl::StrCat("PRAGMA user_version=", kSqliteSchemaVersion).c_str(), path_));
    *version = kSqliteSchemaVersion;
    return absl::OkStatus();
  }

  // A fork()ed child gets a connection of its own.
  absl::Status EnsureConnectionLocked() const {
    if (pid_ == ::getpid() && db_ != nullptr) return absl::OkStatus();
    insert_.reset();
    find_key_.reset();
    (void)db_.release();  // the parent's: see the destructor
    TKB_ASSIGN_OR_RETURN(db_, Connect(path_, not_writable_.empty() ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY));
    pid_ = ::getpid();
    if (not_writable_.empty()) {
      TKB_RETURN_IF_ERROR(Exec(db_.get(),
                               options_.durability == Durability::kFsync ? "PRAGMA synchronous=FULL"
                                                                         : "PRAGMA synchronous=NORMAL",
                               path_));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> IdOfKeyLocked(absl::string_view key) const {
    if (find_key_ == nullptr) {
      TKB_ASSIGN_OR_RETURN(find_key_, Prepare(db_.get(), "SELECT id FROM entries WHERE source_key = ?", path_));
    }
    return QueryId(find_key_.get(), key);
  }

  absl::StatusOr<std::string> QueryId(sqlite3_stmt* s, absl::string_view value) const {
    sqlite3_reset(s);
    BindText(s, 1, value, false);
    const int rc = sqlite3_step(s);
    std::string id;
    if (rc == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      if (text != nullptr) id.assign(text, static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    } else if (rc != SQLITE_DONE) {
      sqlite3_reset(s);
      return SqliteError(db_.get(), rc, "cannot look up an entry", path_);
    }
    sqlite3_reset(s);
    return id;
  }

  absl::Status InsertLocked(const std::vector<Entry>& entries, const std::vector<std::string>& lines,
                            const AppendOptions& options, std::vector<AppendResult>* results) const {
    sqlite3* db = db_.get();
    if (insert_ == nullptr) {
      TKB_ASSIGN_OR_RETURN(insert_, Prepare(db, kInsert, path_));
    }
    sqlite3_stmt* s = insert_.get();
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      int k = 1;
      BindText(s, k++, e.id);
      sqlite3_bind_int64(s, k++, absl::ToUnixMillis(e.timestamp));
      // The ledger line's "ts" value, without re-formatting the time.
      absl::string_view ts;
      if (const size_t at = lines[i].find("\"ts\":\""); at != std::string::npos) {
        ts = absl::string_view(lines[i]).substr(at + 6, 24);
      }
      BindText(s, k++, ts, false);
      BindText(s, k++, e.model, false);
      BindText(s, k++, e.provider);
      sqlite3_bind_int64(s, k++, e.tokens.input().value());
      sqlite3_bind_int64(s, k++, e.tokens.output().value());
      sqlite3_bind_int64(s, k++, e.tokens.cache_read().value());
      sqlite3_bind_int64(s, k++, e.tokens.cache_write_5m().value());
      sqlite3_bind_int64(s, k++, e.tokens.cache_write_1h().value());
      sqlite3_bind_int64(s, k++, e.tokens.reasoning().value());
      sqlite3_bind_int64(s, k++, e.requests);
      sqlite3_bind_int64(s, k++, e.cost.value());
      BindText(s, k++, CostSourceName(e.cost_source), false);
      BindText(s, k++, e.rates_as_of);
      BindText(s, k++, e.session);
      BindText(s, k++, e.agent);
      BindText(s, k++, e.category);
      BindText(s, k++, e.action_type);
      BindText(s, k++, e.action);
      BindText(s, k++, e.feature);
      BindText(s, k++, e.project);
      BindText(s, k++, e.tool);
      BindText(s, k++, e.task_type);
      BindText(s, k++, e.service_tier);
      if (e.duration_ms.has_value()) {
        sqlite3_bind_int64(s, k++, *e.duration_ms);
      } else {
        sqlite3_bind_null(s, k++);
      }
      if (e.tags.empty()) {
        sqlite3_bind_null(s, k++);
      } else {
        BindText(s, k++, TagsJson(e));
      }
      BindText(s, k++, e.notes);
      BindText(s, k++, e.source_kind);
      BindText(s, k++, e.source_key);
      BindText(s, k++, lines[i], false);
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) {
        sqlite3_reset(s);
        return SqliteError(db, rc, absl::StrCat("cannot insert entry ", e.id), path_);
      }
      AppendResult& r = (*results)[i];
      r.appended = sqlite3_changes(db) > 0;
      if (!r.appended) {
        // An entry with this source key (or this id) is there already.
        r.id.clear();
        if (!e.source_key.empty()) {
          if (options.existing_ids) {
            TKB_ASSIGN_OR_RETURN(r.id, IdOfKeyLocked(e.source_key));
          }
        } else {
          r.id = e.id;
        }
      }
    }
    sqlite3_reset(s);
    return absl::OkStatus();
  }

  // Decodes the rows with seq > `after`, in order, in one read snapshot;
  // returns the last seq seen (`after` when none).
  absl::StatusOr<int64_t> ScanRows(int64_t after, const std::function<void(const Entry&)>& fn,
                                   std::vector<LedgerIssue>* issues) const {
    TKB_ASSIGN_OR_RETURN(Db db, Connect(path_, SQLITE_OPEN_READONLY));
    TKB_RETURN_IF_ERROR(Exec(db.get(), "BEGIN", path_));  // one snapshot for both statements
    struct EndRead {
      sqlite3* db;
      ~EndRead() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
    } end_read{db.get()};
    if (after > 0) {
      TKB_ASSIGN_OR_RETURN(int64_t last, PragmaInt(db.get(), "SELECT coalesce(max(seq), 0) FROM entries", path_));
      if (after > last) {
        return absl::OutOfRangeError(
            absl::StrCat("offset ", after, " is beyond the end of ", path_, " (last row ", last, ")"));
      }
    }
    TKB_ASSIGN_OR_RETURN(Stmt s, Prepare(db.get(), "SELECT seq, line FROM entries WHERE seq > ? ORDER BY seq", path_));
    sqlite3_bind_int64(s.get(), 1, after);
    EntryDecoder decoder;
    Entry e;
    int64_t last = after;
    for (;;) {
      const int rc = sqlite3_step(s.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db.get(), rc, "cannot read the entries", path_);
      last = sqlite3_column_int64(s.get(), 0);
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1));
      const absl::string_view line(text == nullptr ? "" : text, static_cast<size_t>(sqlite3_column_bytes(s.get(), 1)));
      absl::Status d = decoder.Decode(line, &e);
      if (!d.ok()) {
        if (issues != nullptr) issues->push_back(LedgerIssue{path_, last, absl::StrCat("row seq=", last, ": ", d.message())});
        continue;
      }
      fn(e);
    }
    return last;
  }

  const std::string dir_;
  const std::string path_;
  const LedgerOptions options_;
  const std::string not_writable_;

  mutable std::mutex mu_;
  mutable pid_t pid_;  // the process db_ belongs to
  mutable Db db_;
  mutable Stmt insert_;
  mutable Stmt find_key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& dir, const std::string& db_path,
                                                         const LedgerOptions& options, std::string not_writable) {
  static const bool initialised = [] {
    // Our connections are each used under a mutex or by one thread.
    return sqlite3_initialize() == SQLITE_OK;
  }();
  if (!initialised) return absl::InternalError("cannot initialise SQLite");
  struct stat st;
  const bool exists = ::stat(db_path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(db_path, " is a directory, not a SQLite database"));
  }
  if (!exists && !options.create) return absl::NotFoundError(absl::StrCat("no ledger database at ", db_path));
  if (!exists && !not_writable.empty()) return absl::PermissionDeniedError(not_writable);
  if (not_writable.empty() && exists && ::access(db_path.c_str(), W_OK) != 0) {
    not_writable = absl::StrCat("the ledger database ", db_path, " is not writable");
  }
  absl::StatusOr<Db> db = Connect(db_path, not_writable.empty() ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                                : SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  if (not_writable.empty() && sqlite3_db_readonly(db->get(), "main") == 1) {
    not_writable = absl::StrCat("the ledger database ", db_path, " is not writable");
  }
  if (!exists) ::chmod(db_path.c_str(), static_cast<mode_t>(options.file_mode));
  auto ledger = std::make_unique<SqliteLedger>(dir, db_path, options, *std::move(db), std::move(not_writable));
  TKB_RETURN_IF_ERROR(ledger->Init());
  return std::unique_ptr<Ledger>(std::move(ledger));
}

bool IsLedgerUrl(absl::string_view text) {
  if (absl::StartsWith(text, "sqlite:") || absl::StartsWith(text, "postgresql:") ||
      absl::StartsWith(text, "postgres:")) {
    return true;
  }
  const size_t colon = text.find("://");
  if (colon == absl::string_view::npos || colon == 0) return false;
  for (char c : text.substr(0, colon)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<std::string> SqlitePathOfUrl(absl::string_view url, absl::string_view base) {
  if (!absl::ConsumePrefix(&url, "sqlite:")) {
    return absl::InvalidArgumentError(absl::StrCat("\"", url, "\" is not a sqlite: URL"));
  }
  std::string path;
  if (absl::StartsWith(url, "//")) {
    // sqlite:///abs/path: an empty host, then the absolute path.
    if (!absl::StartsWith(url, "///")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"sqlite:", url, "\": a SQLite ledger is a local file: sqlite:///absolute/path.db or sqlite:relative/path.db"));
    }
    path = std::string(url.substr(2));
  } else {
    path = std::string(url);
  }
  if (path.empty() || path.back() == '/') {
    return absl::InvalidArgumentError(absl::StrCat("\"sqlite:", url, "\" names no database file"));
  }
  if (path.find_first_of("?#") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"sqlite:", url, "\": query strings and fragments are not supported in a ledger URL"));
  }
  if (path.front() != '/' && !base.empty()) {
    path = absl::StrCat(base, base.back() == '/' ? "" : "/", path);
  }
  return path;
}

absl::StatusOr<LedgerLocation> ResolveLedgerLocation(absl::string_view dir_or_url, absl::string_view base) {
  LedgerLocation out;
  if (!IsLedgerUrl(dir_or_url)) {
    out.dir = std::string(dir_or_url);
    return out;
  }
  if (IsPostgresUrl(dir_or_url)) {
    // The local files of a database named by its URL alone live in a
    // per-user directory of that database (a ledger directory whose
    // config.toml names the URL keeps them itself: see Ledger::Open).
    if (!absl::StartsWith(dir_or_url, "postgresql://") && !absl::StartsWith(dir_or_url, "postgres://")) {
      return absl::InvalidArgumentError(absl::StrCat("ledger URL \"", RedactPostgresUrl(dir_or_url),
                                                     "\": expected postgresql://user@host:port/database"));
    }
    TKB_ASSIGN_OR_RETURN(out.dir, PostgresDefaultDir(dir_or_url));
    out.backend = std::string(dir_or_url);
    return out;
  }
  if (!absl::StartsWith(dir_or_url, "sqlite:")) {
    return absl::InvalidArgumentError(absl::StrCat("ledger URL \"", dir_or_url,
                                                   "\": unknown backend (expected sqlite:///path/ledger.db or postgresql://host/database)"));
  }
  TKB_ASSIGN_OR_RETURN(std::string path, SqlitePathOfUrl(dir_or_url, base));
  const size_t slash = path.find_last_of('/');
  out.dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  out.backend = path.front() == '/' ? absl::StrCat("sqlite://", path) : absl::StrCat("sqlite:", path);
  return out;
}

}  // namespace v1
}  // namespace tokenbook
