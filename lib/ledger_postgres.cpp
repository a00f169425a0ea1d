// The PostgreSQL ledger (docs/backends.md).
//
// One row per entry in `entries`, keyed by the entry id. Every field has its
// column (BIGINT for tokens and micro-dollars), for indexes and for psql, and
// `line` keeps the entry's ledger line (docs/ledger-format.md) exactly as the
// JSONL ledger would hold it: Scan decodes that, so every backend hands the
// same entries to every report.
//
// Concurrency: writers serialise on a transaction-scoped advisory lock
// (pg_advisory_xact_lock) and insert a whole batch in one transaction, so
// `seq` (an identity column) follows commit order and a reader never sees a
// later row before an earlier one: seq works as a scan offset, as the SQLite
// backend's rowid does. Readers (Scan, ScanFrom, AddTotalsTo) use their own
// connection and one REPEATABLE READ snapshot. Threads of this process share
// one writing connection under a mutex; a fork()ed child opens its own
// (libpq connections must not cross fork(), and closing the parent's would
// end its session).
//
// Idempotence: `id` is the primary key and `source_key` is UNIQUE (NULL when
// absent); inserts are ON CONFLICT DO NOTHING, so pushing the same entries
// twice, from any host, adds nothing.
//
// Spool: when the server cannot be reached, appended entries go to
// `spool.jsonl` in the ledger directory (ledger lines, written whole under
// flock), with one warning on stderr per process; the next connection that
// works sends them (by id, so a line sent twice is stored once) and empties
// the spool under the same lock.
//
// Schema: versioned migrations, applied in order under an advisory lock and
// recorded in `tokenbook_schema`; a database of a newer version is refused.
#include "tokenbook/ledger_postgres.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include <cstdint>
#include <cstdlib>
#include <cstring>
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
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/libpq_api.h"
#include "tokenbook/quarter_totals.h"
#include "tokenbook/rollup.h"
#include "tokenbook/status.h"

// Each PQ function is the entry of the table tokenbook/libpq_api.h loads, so
// the code below reads as plain libpq.
#define PQclear (::tokenbook::libpq::Loaded().PQclear)
#define PQconnectdbParams (::tokenbook::libpq::Loaded().PQconnectdbParams)
#define PQconninfoFree (::tokenbook::libpq::Loaded().PQconninfoFree)
#define PQconninfoParse (::tokenbook::libpq::Loaded().PQconninfoParse)
#define PQenterPipelineMode (::tokenbook::libpq::Loaded().PQenterPipelineMode)
#define PQerrorMessage (::tokenbook::libpq::Loaded().PQerrorMessage)
#define PQexec (::tokenbook::libpq::Loaded().PQexec)
#define PQexecParams (::tokenbook::libpq::Loaded().PQexecParams)
#define PQexecPrepared (::tokenbook::libpq::Loaded().PQexecPrepared)
#define PQexitPipelineMode (::tokenbook::libpq::Loaded().PQexitPipelineMode)
#define PQfinish (::tokenbook::libpq::Loaded().PQfinish)
#define PQfreemem (::tokenbook::libpq::Loaded().PQfreemem)
#define PQgetResult (::tokenbook::libpq::Loaded().PQgetResult)
#define PQgetisnull (::tokenbook::libpq::Loaded().PQgetisnull)
#define PQgetlength (::tokenbook::libpq::Loaded().PQgetlength)
#define PQgetvalue (::tokenbook::libpq::Loaded().PQgetvalue)
#define PQntuples (::tokenbook::libpq::Loaded().PQntuples)
#define PQpipelineSync (::tokenbook::libpq::Loaded().PQpipelineSync)
#define PQprepare (::tokenbook::libpq::Loaded().PQprepare)
#define PQresultErrorField (::tokenbook::libpq::Loaded().PQresultErrorField)
#define PQresultErrorMessage (::tokenbook::libpq::Loaded().PQresultErrorMessage)
#define PQresultStatus (::tokenbook::libpq::Loaded().PQresultStatus)
#define PQsendQueryParams (::tokenbook::libpq::Loaded().PQsendQueryParams)
#define PQsendQueryPrepared (::tokenbook::libpq::Loaded().PQsendQueryPrepared)
#define PQsetClientEncoding (::tokenbook::libpq::Loaded().PQsetClientEncoding)
#define PQsetNoticeProcessor (::tokenbook::libpq::Loaded().PQsetNoticeProcessor)
#define PQsocket (::tokenbook::libpq::Loaded().PQsocket)
#define PQstatus (::tokenbook::libpq::Loaded().PQstatus)

namespace tokenbook {
inline namespace v1 {
namespace {

// The advisory locks' first key ("tkb1"); the second says what is locked.
constexpr int kLockClass = 0x746b6231;
constexpr int kLockSchema = 1;
constexpr int kLockWrites = 2;
constexpr int kLockAdmission = 3;

// How many rows a scan fetches at a time.
constexpr int kFetchRows = 10'000;

// Migration k takes a database from version k to k + 1.
constexpr const char* kMigrations[] = {
    // Version 1: entries, quarter-hour totals kept by a trigger, views.
    R"sql(
CREATE TABLE entries (
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,  -- commit order; the scan offset
  id TEXT PRIMARY KEY,                -- ULID
  ts_ms BIGINT NOT NULL,              -- Unix milliseconds, UTC
  ts TEXT NOT NULL,                   -- the same, "2026-11-22T05:49:04.123Z"
  model TEXT NOT NULL,
  provider TEXT,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_5m_tokens BIGINT NOT NULL,
  cache_write_1h_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  requests BIGINT NOT NULL,
  cost_micros BIGINT NOT NULL,        -- micro-dollars; 0 when unpriced
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
  duration_ms BIGINT,
  tags JSON,                          -- a JSON object, or NULL
  notes TEXT,
  source_kind TEXT,
  source_key TEXT UNIQUE,
  line TEXT NOT NULL                  -- the entry's ledger line (docs/ledger-format.md)
);
CREATE INDEX entries_ts ON entries (ts_ms);
CREATE INDEX entries_model_ts ON entries (model, ts_ms);
CREATE INDEX entries_session ON entries (session) WHERE session IS NOT NULL;
CREATE INDEX entries_project_ts ON entries (project, ts_ms) WHERE project IS NOT NULL;
CREATE INDEX entries_agent_ts ON entries (agent, ts_ms) WHERE agent IS NOT NULL;
CREATE INDEX entries_feature_ts ON entries (feature, ts_ms) WHERE feature IS NOT NULL;

-- Running totals per UTC quarter hour, model, provider and pricedness, kept
-- by the insert itself: reports that group and filter by nothing finer read
-- these instead of every entry.
CREATE TABLE quarter_totals (
  quarter BIGINT NOT NULL,            -- floor(ts_ms / 900000)
  model TEXT NOT NULL,
  provider TEXT NOT NULL,             -- '' when absent
  unpriced BOOLEAN NOT NULL,          -- cost_source = 'unpriced'
  entries BIGINT NOT NULL,
  requests BIGINT NOT NULL,
  cost_micros BIGINT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cache_read_tokens BIGINT NOT NULL,
  cache_write_5m_tokens BIGINT NOT NULL,
  cache_write_1h_tokens BIGINT NOT NULL,
  reasoning_tokens BIGINT NOT NULL,
  first_ts_ms BIGINT NOT NULL,
  last_ts_ms BIGINT NOT NULL,
  PRIMARY KEY (quarter, model, provider, unpriced)
);
CREATE FUNCTION tokenbook_count_quarter() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO quarter_totals AS t VALUES (
    (NEW.ts_ms - (((NEW.ts_ms % 900000) + 900000) % 900000)) / 900000,
    NEW.model, coalesce(NEW.provider, ''), NEW.cost_source = 'unpriced',
    1, NEW.requests, NEW.cost_micros, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
    NEW.cache_write_5m_tokens, NEW.cache_write_1h_tokens, NEW.reasoning_tokens, NEW.ts_ms, NEW.ts_ms)
  ON CONFLICT (quarter, model, provider, unpriced) DO UPDATE SET
    entries = t.entries + 1,
    requests = t.requests + excluded.requests,
    cost_micros = t.cost_micros + excluded.cost_micros,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cache_read_tokens = t.cache_read_tokens + excluded.cache_read_tokens,
    cache_write_5m_tokens = t.cache_write_5m_tokens + excluded.cache_write_5m_tokens,
    cache_write_1h_tokens = t.cache_write_1h_tokens + excluded.cache_write_1h_tokens,
    reasoning_tokens = t.reasoning_tokens + excluded.reasoning_tokens,
    first_ts_ms = least(t.first_ts_ms, excluded.first_ts_ms),
    last_ts_ms = greatest(t.last_ts_ms, excluded.last_ts_ms);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER entries_quarter_totals AFTER INSERT ON entries
  FOR EACH ROW EXECUTE FUNCTION tokenbook_count_quarter();

-- For psql. Days and months are UTC; `tokenbook report` uses the configured
-- time zone.
CREATE VIEW entries_usd AS
  SELECT *, CASE WHEN cost_micros < 0 THEN '-' ELSE '' END ||
            (abs(cost_micros) / 1000000) || '.' || lpad((abs(cost_micros) % 1000000)::text, 6, '0') AS cost_usd
  FROM entries;
CREATE VIEW daily_cost AS
  SELECT substr(ts, 1, 10) AS day, count(*) AS entries, sum(requests) AS requests,
         sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
         sum(cache_read_tokens) AS cache_read_tokens,
         sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_write_tokens,
         sum(cost_micros) AS cost_micros,
         count(*) FILTER (WHERE cost_source = 'unpriced') AS unpriced_entries
  FROM entries GROUP BY 1;
CREATE VIEW monthly_by_model AS
  SELECT substr(ts, 1, 7) AS month, model, count(*) AS entries, sum(requests) AS requests,
         sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
         sum(cache_read_tokens) AS cache_read_tokens,
         sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_write_tokens,
         sum(cost_micros) AS cost_micros,
         count(*) FILTER (WHERE cost_source = 'unpriced') AS unpriced_entries
  FROM entries GROUP BY 1, 2;
)sql",
    // Version 2: budget reservations shared by every host (docs/backends.md).
    R"sql(
CREATE TABLE reservations (
  id TEXT PRIMARY KEY,
  expires_ms BIGINT NOT NULL,         -- Unix milliseconds; dropped by the next admission after it
  line TEXT NOT NULL                  -- the reservation, as reservations.jsonl holds it
);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kPostgresSchemaVersion);

constexpr char kInsert[] =
    "INSERT INTO entries (id, ts_ms, ts, model, provider, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, requests, cost_micros, cost_source, "
    "rates_as_of, session, agent, category, action_type, action, feature, project, tool, task_type, "
    "service_tier, duration_ms, tags, notes, source_kind, source_key, line) VALUES "
    "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,"
    "$29,$30,$31) ON CONFLICT DO NOTHING RETURNING seq";
constexpr int kInsertParams = 31;
constexpr char kFindKey[] = "SELECT id FROM entries WHERE source_key = $1";

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;

struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultClearer>;

std::string Trimmed(const char* text) {
  return std::string(absl::StripAsciiWhitespace(text == nullptr ? "" : text));
}

// An error for a failed connection or statement, naming the database.
absl::Status PgError(PGconn* conn, const PGresult* result, absl::string_view what, const std::string& where) {
  std::string detail = Trimmed(result != nullptr ? PQresultErrorMessage(result) : nullptr);
  if (detail.empty() && conn != nullptr) detail = Trimmed(PQerrorMessage(conn));
  const std::string message = absl::StrCat(where, ": ", what, ": ", detail);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return absl::UnavailableError(message);
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const absl::string_view code = state == nullptr ? "" : state;
  if (absl::StartsWith(code, "08") || absl::StartsWith(code, "57P") || code == "40001" || code == "40P01") {
    return absl::UnavailableError(message);  // connection lost, server shutting down, retryable
  }
  if (code == "42501" || absl::StartsWith(code, "28")) return absl::PermissionDeniedError(message);
  if (absl::StartsWith(code, "53")) return absl::ResourceExhaustedError(message);
  if (absl::StartsWith(code, "23")) return absl::AlreadyExistsError(message);
  if (absl::StartsWith(code, "22")) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

// Runs `sql`, which must return rows or nothing.
absl::StatusOr<Result> Run(PGconn* conn, const std::string& sql, const std::string& where,
                           const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  Result r(params.empty() ? PQexec(conn, sql.c_str())
                          : PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                         nullptr, nullptr, 0));
  const ExecStatusType st = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return PgError(conn, r.get(), absl::StrCat("\"", absl::string_view(sql).substr(0, 48), "\" failed"), where);
  }
  return r;
}

absl::StatusOr<int64_t> RunInt(PGconn* conn, const std::string& sql, const std::string& where,
                               const std::vector<std::string>& params = {}) {
  TKB_ASSIGN_OR_RETURN(Result r, Run(conn, sql, where, params));
  if (PQntuples(r.get()) < 1 || PQgetisnull(r.get(), 0, 0)) return 0;
  int64_t v = 0;
  if (!absl::SimpleAtoi(PQgetvalue(r.get(), 0, 0), &v)) {
    return absl::DataLossError(absl::StrCat(where, ": \"", sql, "\" returned \"", PQgetvalue(r.get(), 0, 0),
                                            "\", not an integer"));
  }
  return v;
}

int64_t IntAt(const PGresult* r, int row, int col) {
  int64_t v = 0;
  if (!PQgetisnull(r, row, col)) (void)absl::SimpleAtoi(PQgetvalue(r, row, col), &v);
  return v;
}

// The value as an int64; false when it is NULL or is not one (a NUMERIC sum
// beyond 64 bits, say), where IntAt would say 0.
bool ExactIntAt(const PGresult* r, int row, int col, int64_t* v) {
  return !PQgetisnull(r, row, col) && absl::SimpleAtoi(PQgetvalue(r, row, col), v);
}

// quarter_totals' token columns, in order.
constexpr TokenKind kTotalsColumns[] = {TokenKind::kInput,        TokenKind::kOutput,       TokenKind::kCacheRead,
                                        TokenKind::kCacheWrite5m, TokenKind::kCacheWrite1h, TokenKind::kReasoning};

// Rows of quarter_totals (or of their sums) that reports have received, for
// PostgresTotalsRowsReceived().
std::atomic<int64_t> totals_rows_received{0};

void DiscardNotice(void*, const char*) {}

// Opens a connection: the URL's own settings win over our defaults (a
// connect timeout, UTF-8, an application name for pg_stat_activity).
absl::StatusOr<Conn> Connect(const std::string& url, const std::string& where) {
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "tokenbook", url.c_str(), nullptr};
  Conn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (conn == nullptr) return absl::ResourceExhaustedError(absl::StrCat(where, ": cannot allocate a connection"));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    const std::string detail = Trimmed(PQerrorMessage(conn.get()));
    const std::string message = absl::StrCat(where, ": cannot connect: ", detail);
    if (absl::StrContains(detail, "authentication failed") || absl::StrContains(detail, "permission denied") ||
        absl::StrContains(detail, "no pg_hba.conf entry")) {
      return absl::PermissionDeniedError(message);
    }
    if (absl::StrContains(detail, "does not exist")) return absl::NotFoundError(message);
    if (absl::StrContains(detail, "invalid") || absl::StrContains(detail, "missing")) {
      return absl::InvalidArgumentError(message);
    }
    return absl::UnavailableError(message);
  }
  PQsetNoticeProcessor(conn.get(), DiscardNotice, nullptr);
  if (PQsetClientEncoding(conn.get(), "UTF8") != 0) {
    return PgError(conn.get(), nullptr, "cannot use UTF-8", where);
  }
  return conn;
}

std::string LockSql(int what) { return absl::StrCat("SELECT pg_advisory_xact_lock(", kLockClass, ", ", what, ")"); }

// Brings the schema to kPostgresSchemaVersion (creating it when `create`),
// or explains why not.
absl::Status Migrate(PGconn* conn, bool create, const std::string& where) {
  // Most opens find the schema current: check without the lock first.
  auto version_of = [&]() -> absl::StatusOr<int64_t> {
    TKB_ASSIGN_OR_RETURN(Result r, Run(conn,
                                       "SELECT to_regclass('tokenbook_schema') IS NOT NULL, "
                                       "to_regclass('entries') IS NOT NULL",
                                       where));
    const bool has_schema = absl::string_view(PQgetvalue(r.get(), 0, 0)) == "t";
    const bool has_entries = absl::string_view(PQgetvalue(r.get(), 0, 1)) == "t";
    if (!has_schema) {
      if (has_entries) {
        return absl::FailedPreconditionError(absl::StrCat(
            where, ": the database has a table \"entries\" but no \"tokenbook_schema\": not a tokenbook ledger"));
      }
      return 0;
    }
    TKB_ASSIGN_OR_RETURN(int64_t v, RunInt(conn, "SELECT max(version) FROM tokenbook_schema", where));
    if (v > kPostgresSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(where, ": ledger schema version ", v,
                                                        " is newer than this tokenbook reads (",
                                                        kPostgresSchemaVersion, "); upgrade tokenbook"));
    }
    return v;
  };
  TKB_ASSIGN_OR_RETURN(int64_t version, version_of());
  if (version == kPostgresSchemaVersion) return absl::OkStatus();
  if (version == 0 && !create) return absl::NotFoundError(absl::StrCat("no tokenbook ledger in ", where));
  TKB_RETURN_IF_ERROR(Run(conn, "BEGIN", where).status());
  absl::Status s = [&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(Run(conn, LockSql(kLockSchema), where).status());
    TKB_ASSIGN_OR_RETURN(version, version_of());  // another process may have migrated meanwhile
    if (version == 0) {
      TKB_RETURN_IF_ERROR(Run(conn,
                              "CREATE TABLE tokenbook_schema (version INTEGER NOT NULL, "
                              "migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                              where)
                              .status());
    }
    for (int64_t v = version; v < kPostgresSchemaVersion; ++v) {
      TKB_RETURN_IF_ERROR(Run(conn, kMigrations[v], where).status());
      TKB_RETURN_IF_ERROR(
          Run(conn, absl::StrCat("INSERT INTO tokenbook_schema (version) VALUES (", v + 1, ")"), where).status());
    }
    return Run(conn, "COMMIT", where).status();
  }();
  if (!s.ok()) {
    (void)Run(conn, "ROLLBACK", where);
    return absl::Status(s.code(), absl::StrCat(s.message(), " (while creating or migrating the ledger schema)"));
  }
  return absl::OkStatus();
}

// Binds an entry's columns as text parameters.
struct InsertParams {
  std::string text[kInsertParams];
  bool null[kInsertParams] = {};
  const char* values[kInsertParams] = {};

  void Set(const Entry& e, const std::string& line) {
    int k = 0;
    auto put = [&](std::string v, bool null_when_empty = true) {
      null[k] = v.empty() && null_when_empty;
      text[k++] = std::move(v);
    };
    auto num = [&](int64_t v) { put(absl::StrCat(v), false); };
    put(e.id, false);
    num(absl::ToUnixMillis(e.timestamp));
    // The ledger line's "ts" value, without re-formatting the time.
    std::string ts;
    if (const size_t at = line.find("\"ts\":\""); at != std::string::npos) ts = line.substr(at + 6, 24);
    put(std::move(ts), false);
    put(e.model, false);
    put(e.provider);
    num(e.tokens.input().value());
    num(e.tokens.output().value());
    num(e.tokens.cache_read().value());
    num(e.tokens.cache_write_5m().value());
    num(e.tokens.cache_write_1h().value());
    num(e.tokens.reasoning().value());
    num(e.requests);
    num(e.cost.value());
    put(std::string(CostSourceName(e.cost_source)), false);
    put(e.rates_as_of);
    put(e.session);
    put(e.agent);
    put(e.category);
    put(e.action_type);
    put(e.action);
    put(e.feature);
    put(e.project);
    put(e.tool);
    put(e.task_type);
    put(e.service_tier);
    put(e.duration_ms.has_value() ? absl::StrCat(*e.duration_ms) : std::string());
    put(TagsJson(e));
    put(e.notes);
    put(e.source_kind);
    put(e.source_key);
    put(line, false);
    for (int i = 0; i < kInsertParams; ++i) values[i] = null[i] ? nullptr : text[i].c_str();
  }

  // The tags as a JSON object, "" when there are none.
  static std::string TagsJson(const Entry& e) {
    if (e.tags.empty()) return "";
    std::string out = "{";
    for (size_t i = 0; i < e.tags.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(JsonQuoted(e.tags[i].first)).push_back(':');
      out.append(JsonQuoted(e.tags[i].second));
    }
    out.push_back('}');
    return out;
  }

  static std::string JsonQuoted(absl::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(ch);
      } else if (c < 0x20) {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, sizeof(esc));
      } else {
        out.push_back(ch);
      }
    }
    out.push_back('"');
    return out;
  }
};

// A connection of one process, with our statements prepared on it.
struct Session {
  Conn conn;
  bool prepared = false;
  pid_t pid = 0;  // the process `conn` belongs to

  // In a fork()ed child the connection is the parent's: close our copy of
  // its socket without the goodbye PQfinish would send on the parent's
  // session.
  void AbandonIfForeign() {
    if (conn != nullptr && pid != ::getpid()) {
      const int fd = PQsocket(conn.get());
      if (fd >= 0) ::close(fd);
      (void)conn.release();
      prepared = false;
    }
  }
  // After an error: a broken connection is reopened next time.
  void DropIfBroken() {
    if (conn != nullptr && PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      prepared = false;
    }
  }
};

class PostgresLedger final : public Ledger {
 public:
  // `conn` is null when the server could not be reached: the schema is
  // checked, and the spool sent, at the first connection that works.
  PostgresLedger(std::string dir, std::string url, LedgerOptions options, Conn conn)
      : dir_(std::move(dir)),
        url_(std::move(url)),
        where_(RedactPostgresUrl(url_)),
        spool_path_(absl::StrCat(dir_, "/", kPostgresSpoolFile)),
        options_(std::move(options)) {
    migrated_ = conn != nullptr;
    writer_.conn = std::move(conn);
    writer_.pid = ::getpid();
  }

  // Sends what the spool holds, if the server answers.
  void TrySendSpool() const {
    std::lock_guard<std::mutex> lock(mu_);
    (void)EnsureWriterLocked();
  }

  ~PostgresLedger() override {
    writer_.AbandonIfForeign();
    admission_.AbandonIfForeign();
  }

  const std::string& dir() const override { return dir_; }
  std::string ledger_path() const override { return where_; }
  absl::string_view kind() const override { return "postgresql"; }

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
    std::vector<std::string> lines;
    TKB_RETURN_IF_ERROR(EncodeBatch(&entries, &lines, &results));
    std::lock_guard<std::mutex> lock(mu_);
    absl::Status s = EnsureWriterLocked();
    if (s.ok()) s = InsertTransactionLocked(entries, lines, options, &results);
    if (!s.ok() && absl::IsUnavailable(s)) {
      // The server is away: keep the entries for later. (A source key can
      // not be checked meanwhile: the server drops a duplicate when the
      // spool is sent.)
      TKB_RETURN_IF_ERROR(SpoolLocked(lines, s));
      for (AppendResult& r : results) r.appended = true;
      return results;
    }
    if (!s.ok()) return s;
    return results;
  }

  absl::Status Scan(const std::function<void(const Entry&)>& fn, std::vector<LedgerIssue>* issues) const override {
    return ScanRows(0, fn, issues).status();
  }

  absl::StatusOr<int64_t> ScanFrom(int64_t begin, const std::function<void(const Entry&)>& fn,
                                   std::vector<LedgerIssue>* issues) const override {
    if (begin < 0) return absl::OutOfRangeError(absl::StrCat("offset ", begin, " is negative (", where_, ")"));
    return ScanRows(begin, fn, issues);
  }

  absl::StatusOr<bool> AddTotalsTo(Rollup* rollup) const override {
    int64_t first_quarter = 0, end_quarter = 0;
    if (!QuarterTotals::Answers(rollup->query(), &first_quarter, &end_quarter)) return false;
    TrySendSpool();  // as ScanRows: the totals count what was spooled, once the server is back
    TKB_ASSIGN_OR_RETURN(Conn conn, Connect(url_, where_));
    PGconn* c = conn.get();
    // The quarters held and their sums, from one snapshot.
    TKB_RETURN_IF_ERROR(Run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", where_).status());
    TKB_ASSIGN_OR_RETURN(Result held, Run(c,
                                          "SELECT min(quarter), max(quarter) FROM quarter_totals "
                                          "WHERE quarter >= $1 AND quarter < $2",
                                          where_, {absl::StrCat(first_quarter), absl::StrCat(end_quarter)}));
    if (PQntuples(held.get()) != 1 || PQgetisnull(held.get(), 0, 0)) return true;  // nothing in the range
    int64_t lo = 0, hi = 0;
    std::vector<int64_t> starts;
    if (ExactIntAt(held.get(), 0, 0, &lo) && ExactIntAt(held.get(), 0, 1, &hi) && hi < end_quarter &&
        QuarterTotals::BucketStarts(rollup->query(), lo, hi + 1, &starts)) {
      return AddBucketSums(c, rollup, starts, hi + 1);
    }
    // A zone or a range the runs cannot follow: every quarter's row, which
    // QuarterTotals::AddTo checks one by one.
    TKB_ASSIGN_OR_RETURN(Result r,
                         Run(c,
                             "SELECT quarter, model, provider, unpriced, entries, requests, cost_micros, input_tokens, "
                             "output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
                             "reasoning_tokens, first_ts_ms, last_ts_ms FROM quarter_totals "
                             "WHERE quarter >= $1 AND quarter < $2",
                             where_, {absl::StrCat(first_quarter), absl::StrCat(end_quarter)}));
    QuarterTotals totals;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      Totals t;
      t.entries = IntAt(r.get(), i, 4);
      t.requests = IntAt(r.get(), i, 5);
      t.cost = Micros(IntAt(r.get(), i, 6));
      for (int k = 0; k < 6; ++k) t.tokens[kTotalsColumns[k]] = Tokens(IntAt(r.get(), i, 7 + k));
      if (absl::string_view(PQgetvalue(r.get(), i, 3)) == "t") {  // unpriced
        t.unpriced_entries = t.entries;
        t.unpriced_tokens = t.tokens;
      }
      t.first = absl::FromUnixMillis(IntAt(r.get(), i, 13));
      t.last = absl::FromUnixMillis(IntAt(r.get(), i, 14));
      totals.AddRow(IntAt(r.get(), i, 0), PQgetvalue(r.get(), i, 1), PQgetvalue(r.get(), i, 2), t);
    }
    totals_rows_received.fetch_add(n, std::memory_order_relaxed);
    return totals.AddTo(rollup);
  }

  absl::StatusOr<bool> HasSourceKey(absl::string_view key) const override {
    if (key.empty()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(EnsureSession(writer_));
    absl::StatusOr<std::string> id = IdOfKey(writer_.conn.get(), key);
    if (!id.ok()) writer_.DropIfBroken();
    if (!id.ok()) return id.status();
    return !id->empty();
  }

  absl::StatusOr<std::unique_ptr<AdmissionTransaction>> BeginAdmission() override {
    std::unique_lock<std::mutex> lock(admission_mu_);
    TKB_RETURN_IF_ERROR(EnsureSession(admission_));
    PGconn* conn = admission_.conn.get();
    absl::Status s = Run(conn, "BEGIN", where_).status();
    if (s.ok()) s = Run(conn, LockSql(kLockAdmission), where_).status();
    if (!s.ok()) {
      if (PQstatus(conn) == CONNECTION_OK) (void)Run(conn, "ROLLBACK", where_);
      admission_.DropIfBroken();
      return s;
    }
    return std::unique_ptr<AdmissionTransaction>(new Admission(this, std::move(lock)));
  }

 private:
  // One transaction holding the admission lock on the admission session
  // (see AdmissionTransaction in tokenbook/ledger.h).
  class Admission final : public AdmissionTransaction {
   public:
    Admission(const PostgresLedger* ledger, std::unique_lock<std::mutex> lock)
        : ledger_(ledger), lock_(std::move(lock)), conn_(ledger->admission_.conn.get()) {}
    ~Admission() override {
      if (open_) {
        if (PQstatus(conn_) == CONNECTION_OK) (void)Run(conn_, "ROLLBACK", ledger_->where_);
        ledger_->admission_.DropIfBroken();
      }
    }

    absl::StatusOr<std::string> ReadHolds() override {
      TKB_ASSIGN_OR_RETURN(Result r, Checked(Run(conn_, "SELECT line FROM reservations ORDER BY expires_ms, id",
                                                 ledger_->where_)));
      std::string text;
      for (int i = 0, n = PQntuples(r.get()); i < n; ++i) absl::StrAppend(&text, PQgetvalue(r.get(), i, 0), "\n");
      return text;
    }

    absl::Status WriteHolds(const std::vector<Hold>& holds) override {
      TKB_RETURN_IF_ERROR(Checked(Run(conn_, "DELETE FROM reservations", ledger_->where_)).status());
      for (const Hold& h : holds) {
        TKB_RETURN_IF_ERROR(Checked(Run(conn_, "INSERT INTO reservations (id, expires_ms, line) VALUES ($1, $2, $3)",
                                        ledger_->where_,
                                        {h.id, absl::StrCat(absl::ToUnixMillis(h.expires)), h.line}))
                                .status());
      }
      return absl::OkStatus();
    }

    absl::StatusOr<AppendResult> Append(Entry entry) override {
      std::vector<Entry> one;
      one.push_back(std::move(entry));
      std::vector<std::string> lines;
      std::vector<AppendResult> results(1);
      TKB_RETURN_IF_ERROR(ledger_->EncodeBatch(&one, &lines, &results));
      // The writers' lock too, so that seq still follows commit order.
      TKB_RETURN_IF_ERROR(Checked(Run(conn_, LockSql(kLockWrites), ledger_->where_)).status());
      TKB_RETURN_IF_ERROR(Checked(ledger_->InsertRows(conn_, one, lines, AppendOptions{}, &results)));
      return results[0];
    }

    absl::Status Commit() override {
      if (!open_) return absl::FailedPreconditionError("the admission transaction is over");
      open_ = false;
      absl::Status s = Run(conn_, "COMMIT", ledger_->where_).status();
      if (!s.ok()) ledger_->admission_.DropIfBroken();
      return s;
    }

   private:
    // An error ends the transaction: nothing more may run in it.
    template <typename T>
    T Checked(T result) {
      if (!result.ok() && open_) {
        open_ = false;
        if (PQstatus(conn_) == CONNECTION_OK) (void)Run(conn_, "ROLLBACK", ledger_->where_);
        ledger_->admission_.DropIfBroken();
      }
      return result;
    }

    const PostgresLedger* ledger_;
    std::unique_lock<std::mutex> lock_;
    PGconn* conn_;
    bool open_ = true;
  };

  // One transaction of inserts on the writer's connection: BEGIN, the
  // writers' lock, every insert, the lookups of source keys and COMMIT sent
  // at once in pipeline mode, so that an Append costs one round trip to the
  // server, not four.
  absl::Status InsertTransactionLocked(const std::vector<Entry>& entries, const std::vector<std::string>& lines,
                                       const AppendOptions& options, std::vector<AppendResult>* results) const {
    absl::Status s = PipelinedInsertTransaction(writer_.conn.get(), entries, lines, options, results);
    if (!s.ok()) {
      // (A connection left mid-pipeline is gone by now.)
      if (writer_.conn != nullptr && PQstatus(writer_.conn.get()) == CONNECTION_OK) {
        (void)Run(writer_.conn.get(), "ROLLBACK", where_);
      }
      writer_.DropIfBroken();
    }
    return s;
  }

  absl::Status PipelinedInsertTransaction(PGconn* conn, const std::vector<Entry>& entries,
                                          const std::vector<std::string>& lines, const AppendOptions& options,
                                          std::vector<AppendResult>* results) const {
    if (PQenterPipelineMode(conn) != 1) return PgError(conn, nullptr, "cannot enter pipeline mode", where_);
    struct ExitPipeline {
      PGconn* conn;
      bool on;
      ~ExitPipeline() {
        if (on) PQexitPipelineMode(conn);
      }
    } exit_pipeline{conn, true};
    // Sent in this order, and the results come back in it: BEGIN, the lock,
    // the inserts, the id stored under each source key (asked for every
    // entry with one, as which of them are duplicates is known only from
    // the inserts' results; inside the transaction, so that it sees them),
    // COMMIT.
    const std::string lock = LockSql(kLockWrites);
    auto send = [&](const char* sql) {
      return PQsendQueryParams(conn, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    };
    bool sent = send("BEGIN") && send(lock.c_str());
    InsertParams p;
    for (size_t i = 0; sent && i < entries.size(); ++i) {
      p.Set(entries[i], lines[i]);
      sent = PQsendQueryPrepared(conn, "tkb_insert", kInsertParams, p.values, nullptr, nullptr, 0) == 1;
    }
    std::vector<size_t> looked_up;  // the entries whose key is asked for, in order
    if (options.existing_ids) {
      for (size_t i = 0; sent && i < entries.size(); ++i) {
        if (entries[i].source_key.empty()) continue;
        const char* values[] = {entries[i].source_key.c_str()};
        sent = PQsendQueryPrepared(conn, "tkb_find_key", 1, values, nullptr, nullptr, 0) == 1;
        looked_up.push_back(i);
      }
    }
    sent = sent && send("COMMIT") && PQpipelineSync(conn) == 1;
    // A pipeline cut short cannot be taken back on this connection: it is
    // dropped, and the next write opens another.
    auto abandon = [&](absl::string_view what) {
      const absl::Status error = PgError(conn, nullptr, what, where_);
      exit_pipeline.on = false;
      writer_.conn.reset();
      writer_.prepared = false;
      return absl::UnavailableError(error.message());
    };
    if (!sent) return abandon("cannot send the transaction");
    // Once a statement fails, the server skips the rest
    // (PGRES_PIPELINE_ABORTED) up to the sync, and the transaction is left
    // for the caller's ROLLBACK.
    const size_t inserts_end = 2 + entries.size();
    const size_t lookups_end = inserts_end + looked_up.size();
    const size_t count = lookups_end + 1;
    std::vector<std::string> stored(looked_up.size());
    absl::Status failed;
    for (size_t k = 0; k < count; ++k) {
      Result r(PQgetResult(conn));
      if (r == nullptr) return abandon("the connection was lost during a transaction");
      while (PGresult* extra = PQgetResult(conn)) PQclear(extra);  // up to the statement's end
      if (!failed.ok()) continue;
      const bool insert = k >= 2 && k < inserts_end;
      const bool lookup = k >= inserts_end && k < lookups_end;
      const ExecStatusType want = insert || lookup || k == 1 ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
      if (PQresultStatus(r.get()) != want) {
        failed = PgError(conn, r.get(),
                         insert   ? absl::StrCat("cannot insert entry ", entries[k - 2].id)
                         : lookup ? std::string("cannot look up a source key")
                         : k == 0 ? std::string("cannot begin a transaction")
                         : k == 1 ? std::string("cannot take the writers' lock")
                                  : std::string("cannot commit"),
                         where_);
        continue;
      }
      if (insert) (*results)[k - 2].appended = PQntuples(r.get()) > 0;
      if (lookup && PQntuples(r.get()) > 0) stored[k - inserts_end] = PQgetvalue(r.get(), 0, 0);
    }
    for (;;) {  // up to the sync
      Result r(PQgetResult(conn));
      if (r == nullptr) {
        if (PQstatus(conn) != CONNECTION_OK) return abandon("the connection was lost during a transaction");
        continue;
      }
      if (PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
    }
    exit_pipeline.on = false;
    if (PQexitPipelineMode(conn) != 1) return abandon("cannot leave pipeline mode");
    TKB_RETURN_IF_ERROR(failed);
    // What FillExistingIds gives, from the lookups made above.
    for (size_t i = 0, j = 0; i < entries.size(); ++i) {
      const bool asked = j < looked_up.size() && looked_up[j] == i;
      AppendResult& out = (*results)[i];
      if (!out.appended) out.id = entries[i].source_key.empty() ? entries[i].id : asked ? stored[j] : std::string();
      if (asked) ++j;
    }
    return absl::OkStatus();
  }

  // The writer's connection, the schema checked, the spool sent.
  absl::Status EnsureWriterLocked() const {
    TKB_RETURN_IF_ERROR(EnsureSession(writer_));
    if (!migrated_) {
      TKB_RETURN_IF_ERROR(Migrate(writer_.conn.get(), options_.create, where_));
      migrated_ = true;
    }
    return SendSpoolLocked();
  }

  // Appends the lines to the spool, whole, under its lock.
  absl::Status SpoolLocked(const std::vector<std::string>& lines, const absl::Status& why) const {
    std::string text;
    for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
    const int fd = ::open(spool_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          static_cast<mode_t>(options_.file_mode));
    if (fd < 0) {
      return absl::UnavailableError(absl::StrCat(why.message(), "; and the spool ", spool_path_,
                                                 " cannot be opened: ", std::strerror(errno)));
    }
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }  // and the lock with it
    } closer{fd};
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return absl::UnavailableError(absl::StrCat(why.message(), "; cannot lock ", spool_path_));
    }
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::UnavailableError(absl::StrCat(why.message(), "; and writing the spool ", spool_path_,
                                                   " failed: ", std::strerror(errno)));
      }
      done += static_cast<size_t>(n);
    }
    if (options_.durability == Durability::kFsync) ::fsync(fd);
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      std::fprintf(stderr,
                   "tokenbook: warning: %s is unreachable (%s); entries are kept in %s and sent when it is "
                   "back\n",
                   where_.c_str(), std::string(why.message()).c_str(), spool_path_.c_str());
    }
    return absl::OkStatus();
  }

  // Sends the spool's entries in one transaction, then empties it, all
  // under its lock. Lines that are not entries (a torn last line) are
  // reported on stderr and dropped with the rest.
  absl::Status SendSpoolLocked() const {
    struct stat st;
    if (::stat(spool_path_.c_str(), &st) != 0 || st.st_size == 0) return absl::OkStatus();
    const int fd = ::open(spool_path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return absl::OkStatus();
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return absl::InternalError(absl::StrCat("cannot lock ", spool_path_));
    }
    std::string text;
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(text.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(absl::StrCat("cannot read ", spool_path_, ": ", std::strerror(errno)));
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    std::vector<Entry> entries;
    std::vector<std::string> lines;
    int64_t line_no = 0;
    for (absl::string_view rest = text; !rest.empty();) {
      const size_t nl = rest.find('\n');
      const absl::string_view line = rest.substr(0, nl);
      rest = nl == absl::string_view::npos ? absl::string_view() : rest.substr(nl + 1);
      ++line_no;
      if (line.empty()) continue;
      absl::StatusOr<Entry> e = DecodeEntryJson(line);
      if (!e.ok() || nl == absl::string_view::npos) {
        std::fprintf(stderr, "tokenbook: warning: %s:%lld: not sent: %s\n", spool_path_.c_str(),
                     static_cast<long long>(line_no), e.ok() ? "torn last line" : std::string(e.status().message()).c_str());
        continue;
      }
      entries.push_back(*std::move(e));
      lines.emplace_back(line);
    }
    if (!entries.empty()) {
      std::vector<AppendResult> results(entries.size());
      AppendOptions options;
      options.existing_ids = false;
      TKB_RETURN_IF_ERROR(InsertTransactionLocked(entries, lines, options, &results));
    }
    if (::ftruncate(fd, 0) != 0) {
      return absl::InternalError(absl::StrCat("cannot empty ", spool_path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  // Encodes (and so validates) every entry before the database is touched,
  // giving ids and timestamps to those without.
  absl::Status EncodeBatch(std::vector<Entry>* entries, std::vector<std::string>* lines,
                           std::vector<AppendResult>* results) const {
    const absl::Time now = absl::Now();
    lines->assign(entries->size(), std::string());
    for (size_t i = 0; i < entries->size(); ++i) {
      Entry& e = (*entries)[i];
      if (e.id.empty()) e.id = NewUlid();
      if (e.timestamp == absl::UnixEpoch()) e.timestamp = now;
      absl::Status s = EncodeEntryJson(e, &(*lines)[i]);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat("entry ", i + 1, " of ", entries->size(), ": ", s.message()));
      }
      (*results)[i].id = e.id;
    }
    return absl::OkStatus();
  }

  // Connects `session` (again, after fork() or a lost connection) and
  // prepares our statements on it.
  absl::Status EnsureSession(Session& session) const {
    session.AbandonIfForeign();
    session.pid = ::getpid();
    session.DropIfBroken();
    if (session.conn != nullptr && session.prepared) return absl::OkStatus();
    if (session.conn == nullptr) {
      TKB_ASSIGN_OR_RETURN(session.conn, Connect(url_, where_));
    }
    PGconn* conn = session.conn.get();
    for (const auto& [name, sql] : {std::pair<const char*, const char*>{"tkb_insert", kInsert},
                                    std::pair<const char*, const char*>{"tkb_find_key", kFindKey}}) {
      Result r(PQprepare(conn, name, sql, 0, nullptr));
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        absl::Status s = PgError(conn, r.get(), absl::StrCat("cannot prepare ", name), where_);
        session.conn.reset();
        return s;
      }
    }
    if (options_.durability == Durability::kFsync) {
      // kFlush leaves the server's synchronous_commit as configured; kFsync
      // insists on waiting for the commit record to reach disk.
      TKB_RETURN_IF_ERROR(Run(conn, "SET synchronous_commit = on", where_).status());
    }
    session.prepared = true;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> IdOfKey(PGconn* conn, absl::string_view key) const {
    const std::string k(key);
    const char* values[] = {k.c_str()};
    Result r(PQexecPrepared(conn, "tkb_find_key", 1, values, nullptr, nullptr, 0));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return PgError(conn, r.get(), "cannot look up a source key", where_);
    }
    return PQntuples(r.get()) > 0 ? std::string(PQgetvalue(r.get(), 0, 0)) : std::string();
  }

  // Inserts the entries in `conn`'s open transaction.
  absl::Status InsertRows(PGconn* conn, const std::vector<Entry>& entries, const std::vector<std::string>& lines,
                          const AppendOptions& options, std::vector<AppendResult>* results) const {
    // Several rows go in pipeline mode: every insert sent, then every result
    // read, one round trip for the batch instead of one per row.
    const bool pipeline = entries.size() > 1 && PQenterPipelineMode(conn) == 1;
    struct ExitPipeline {
      PGconn* conn;
      bool on;
      ~ExitPipeline() {
        if (on) PQexitPipelineMode(conn);
      }
    } exit_pipeline{conn, pipeline};
    InsertParams p;
    absl::Status failed;
    auto take = [&](size_t i, Result r) {
      if (!failed.ok()) return;
      if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
        failed = PgError(conn, r.get(), absl::StrCat("cannot insert entry ", entries[i].id), where_);
        return;
      }
      (*results)[i].appended = PQntuples(r.get()) > 0;
    };
    if (pipeline) {
      for (size_t i = 0; i < entries.size(); ++i) {
        p.Set(entries[i], lines[i]);
        if (PQsendQueryPrepared(conn, "tkb_insert", kInsertParams, p.values, nullptr, nullptr, 0) != 1) {
          return PgError(conn, nullptr, absl::StrCat("cannot send entry ", entries[i].id), where_);
        }
      }
      if (PQpipelineSync(conn) != 1) return PgError(conn, nullptr, "cannot send the batch", where_);
      for (size_t i = 0; i < entries.size(); ++i) {
        take(i, Result(PQgetResult(conn)));
        while (PGresult* extra = PQgetResult(conn)) PQclear(extra);  // up to the query's end
      }
      for (;;) {  // up to the sync
        Result r(PQgetResult(conn));
        if (r == nullptr) {
          if (PQstatus(conn) != CONNECTION_OK) {
            return PgError(conn, nullptr, "the connection was lost during a batch", where_);
          }
          continue;
        }
        if (PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
      }
      exit_pipeline.on = false;
      if (PQexitPipelineMode(conn) != 1) return PgError(conn, nullptr, "cannot leave pipeline mode", where_);
    } else {
      for (size_t i = 0; i < entries.size(); ++i) {
        p.Set(entries[i], lines[i]);
        take(i, Result(PQexecPrepared(conn, "tkb_insert", kInsertParams, p.values, nullptr, nullptr, 0)));
      }
    }
    TKB_RETURN_IF_ERROR(failed);
    return FillExistingIds(conn, entries, options, results);
  }

  // The id of each entry that was not appended: the stored one with its
  // source key (when asked for), or its own.
  absl::Status FillExistingIds(PGconn* conn, const std::vector<Entry>& entries, const AppendOptions& options,
                               std::vector<AppendResult>* results) const {
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      AppendResult& out = (*results)[i];
      if (out.appended) continue;
      // An entry with this source key (or this id) is there already.
      out.id.clear();
      if (!e.source_key.empty()) {
        if (options.existing_ids) {
          TKB_ASSIGN_OR_RETURN(out.id, IdOfKey(conn, e.source_key));
        }
      } else {
        out.id = e.id;
      }
    }
    return absl::OkStatus();
  }

  // Counts quarter_totals summed by the server per run of `starts`
  // (QuarterTotals::BucketStarts over [starts.front(), end)), model, provider
  // and pricedness: a few rows per bucket instead of one per quarter hour.
  // False, counting nothing, when a sum does not fit in 64 bits (PostgreSQL
  // sums BIGINTs as NUMERIC) or a row is not one the trigger keeps (its
  // times outside its quarter, as QuarterTotals::AddRow checks).
  absl::StatusOr<bool> AddBucketSums(PGconn* c, Rollup* rollup, const std::vector<int64_t>& starts, int64_t end) const {
    TKB_ASSIGN_OR_RETURN(
        Result r,
        Run(c,
            "SELECT width_bucket(quarter, $3::bigint[]), model, provider, unpriced, sum(entries), "
            "sum(requests), sum(cost_micros), sum(input_tokens), sum(output_tokens), "
            "sum(cache_read_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), "
            "sum(reasoning_tokens), min(first_ts_ms), max(last_ts_ms), "
            "bool_and(first_ts_ms <= last_ts_ms AND first_ts_ms >= quarter * 900000 AND "
            "last_ts_ms < quarter * 900000 + 900000) "
            "FROM quarter_totals WHERE quarter >= $1 AND quarter < $2 GROUP BY 1, 2, 3, 4",
            where_,
            {absl::StrCat(starts.front()), absl::StrCat(end), absl::StrCat("{", absl::StrJoin(starts, ","), "}")}));
    const int n = PQntuples(r.get());
    totals_rows_received.fetch_add(n, std::memory_order_relaxed);
    // Summed into a rollup of our own first, so that a refusal half-way
    // leaves the caller's untouched.
    TKB_ASSIGN_OR_RETURN(Rollup mine, Rollup::Create(rollup->query()));
    for (int i = 0; i < n; ++i) {
      int64_t v[15] = {};  // columns 0 and 4 to 14
      bool ok = absl::string_view(PQgetvalue(r.get(), i, 15)) == "t" && ExactIntAt(r.get(), i, 0, &v[0]);
      for (int col = 4; ok && col < 15; ++col) ok = ExactIntAt(r.get(), i, col, &v[col]);
      if (!ok || v[0] < 1 || v[0] > static_cast<int64_t>(starts.size())) return false;
      const size_t run = static_cast<size_t>(v[0] - 1);
      Totals t;
      t.entries = v[4];
      t.requests = v[5];
      t.cost = Micros(v[6]);
      for (int k = 0; k < 6; ++k) t.tokens[kTotalsColumns[k]] = Tokens(v[7 + k]);
      if (absl::string_view(PQgetvalue(r.get(), i, 3)) == "t") {  // unpriced
        t.unpriced_entries = t.entries;
        t.unpriced_tokens = t.tokens;
      }
      t.first = absl::FromUnixMillis(v[13]);
      t.last = absl::FromUnixMillis(v[14]);
      const int64_t next = run + 1 < starts.size() ? starts[run + 1] : end;
      if (!QuarterTotals::AddBucketRow(&mine, starts[run], next, PQgetvalue(r.get(), i, 1), PQgetvalue(r.get(), i, 2),
                                       t)) {
        return false;
      }
    }
    TKB_RETURN_IF_ERROR(rollup->Merge(mine));
    return true;
  }

  // Decodes the rows with seq > `after`, in order, in one read snapshot;
  // returns the last seq seen (`after` when none).
  absl::StatusOr<int64_t> ScanRows(int64_t after, const std::function<void(const Entry&)>& fn,
                                   std::vector<LedgerIssue>* issues) const {
    TrySendSpool();  // a report counts what was spooled, once the server is back
    TKB_ASSIGN_OR_RETURN(Conn conn, Connect(url_, where_));
    PGconn* c = conn.get();
    TKB_RETURN_IF_ERROR(Run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", where_).status());
    if (after > 0) {
      TKB_ASSIGN_OR_RETURN(int64_t last, RunInt(c, "SELECT coalesce(max(seq), 0) FROM entries", where_));
      if (after > last) {
        return absl::OutOfRangeError(
            absl::StrCat("offset ", after, " is beyond the end of ", where_, " (last row ", last, ")"));
      }
    }
    TKB_RETURN_IF_ERROR(Run(c, "DECLARE tkb_scan NO SCROLL CURSOR FOR SELECT seq, line FROM entries "
                               "WHERE seq > $1 ORDER BY seq",
                            where_, {absl::StrCat(after)})
                            .status());
    const std::string fetch = absl::StrCat("FETCH ", kFetchRows, " FROM tkb_scan");
    EntryDecoder decoder;
    Entry e;
    int64_t last = after;
    for (;;) {
      TKB_ASSIGN_OR_RETURN(Result r, Run(c, fetch, where_));
      const int n = PQntuples(r.get());
      for (int i = 0; i < n; ++i) {
        last = IntAt(r.get(), i, 0);
        const absl::string_view line(PQgetvalue(r.get(), i, 1), static_cast<size_t>(PQgetlength(r.get(), i, 1)));
        absl::Status d = decoder.Decode(line, &e);
        if (!d.ok()) {
          if (issues != nullptr) {
            issues->push_back(LedgerIssue{where_, last, absl::StrCat("row seq=", last, ": ", d.message())});
          }
          continue;
        }
        fn(e);
      }
      if (n < kFetchRows) break;
    }
    (void)Run(c, "COMMIT", where_);
    return last;
  }

  const std::string dir_;
  const std::string url_;
  const std::string where_;  // the URL without its password
  const std::string spool_path_;
  const LedgerOptions options_;

  mutable std::mutex mu_;  // writer_
  mutable Session writer_;
  mutable bool migrated_ = false;  // the schema was checked (writer_ under mu_)
  mutable std::mutex admission_mu_;  // admission_, held by an Admission for its life
  mutable Session admission_;
};

}  // namespace

int64_t PostgresTotalsRowsReceived() { return totals_rows_received.load(std::memory_order_relaxed); }

bool IsPostgresUrl(absl::string_view text) {
  return absl::StartsWith(text, "postgresql:") || absl::StartsWith(text, "postgres:");
}

std::string RedactPostgresUrl(absl::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    // As libpq reads it: user[:password]@ ends at the first '@' before any
    // '/' (a '?' or '#' in the password included).
    const size_t start = scheme + 3;
    const size_t at = out.find_first_of("@/", start);
    if (at != std::string::npos && out[at] == '@') {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // password=... among the parameters.
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
    const size_t v = p + 9;
    const size_t end = out.find('&', v);
    out.replace(v, end == std::string::npos ? std::string::npos : end - v, "***");
  }
  return out;
}

namespace {

struct UrlParts {
  std::string host = "localhost", port = "5432", dbname, user;
};

// What libpq makes of the URL; InvalidArgument naming it when nothing.
absl::StatusOr<UrlParts> ParseUrl(absl::string_view url) {
  TKB_RETURN_IF_ERROR(libpq::Load(absl::StrCat("ledger URL \"", RedactPostgresUrl(url), "\"")));
  char* err = nullptr;
  const std::string text(url);
  PQconninfoOption* opts = PQconninfoParse(text.c_str(), &err);
  if (opts == nullptr) {
    std::string detail = err != nullptr ? Trimmed(err) : "out of memory";
    PQfreemem(err);
    return absl::InvalidArgumentError(absl::StrCat("ledger URL \"", RedactPostgresUrl(url), "\": ", detail));
  }
  UrlParts parts;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || o->val[0] == '\0') continue;
    const absl::string_view k = o->keyword;
    if (k == "host") parts.host = o->val;
    if (k == "port") parts.port = o->val;
    if (k == "dbname") parts.dbname = o->val;
    if (k == "user") parts.user = o->val;
  }
  PQconninfoFree(opts);
  return parts;
}

}  // namespace

absl::StatusOr<std::string> PostgresDefaultDir(absl::string_view url) {
  TKB_ASSIGN_OR_RETURN(const UrlParts p, ParseUrl(url));
  std::string slug = absl::StrCat(p.host, "_", p.port, "_", p.dbname, "_", p.user);
  for (char& c : slug) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    if (!ok) c = '_';
  }
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    return absl::StrCat(xdg, "/tokenbook/postgresql/", slug);
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return absl::StrCat(home, "/.local/share/tokenbook/postgresql/", slug);
  }
  return absl::NotFoundError(absl::StrCat("ledger URL \"", RedactPostgresUrl(url),
                                          "\": no local directory for its config.toml: set HOME or XDG_DATA_HOME, "
                                          "or name the URL as `backend` in a ledger directory's config.toml"));
}

absl::StatusOr<std::unique_ptr<Ledger>> OpenPostgresLedger(const std::string& dir, const std::string& url,
                                                           const LedgerOptions& options) {
  const std::string where = RedactPostgresUrl(url);
  TKB_RETURN_IF_ERROR(ParseUrl(url).status());  // a URL libpq cannot parse
  absl::StatusOr<Conn> conn = Connect(url, where);
  if (!conn.ok()) {
    // An unreachable server still takes appends (into the spool) when the
    // ledger may be created; reads say it is unreachable.
    if (!absl::IsUnavailable(conn.status()) || !options.create) return conn.status();
    return std::unique_ptr<Ledger>(new PostgresLedger(dir, url, options, Conn()));
  }
  TKB_RETURN_IF_ERROR(Migrate(conn->get(), options.create, where));
  auto ledger = std::make_unique<PostgresLedger>(dir, url, options, *std::move(conn));
  ledger->TrySendSpool();
  return std::unique_ptr<Ledger>(std::move(ledger));
}

}  // namespace v1
}  // namespace tokenbook
