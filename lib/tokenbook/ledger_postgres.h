// The PostgreSQL ledger backend (docs/backends.md): the Ledger interface over
// a PostgreSQL database reached with libpq, one row per entry, for a team or
// a fleet of hosts sharing one ledger. Reached through Ledger::Open with a
// "postgresql://" (or "postgres://") URL; declared here for ledger.cpp and
// the tests.
#ifndef TOKENBOOK_LIB_LEDGER_POSTGRES_H_
#define TOKENBOOK_LIB_LEDGER_POSTGRES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
inline namespace v1 {

// The schema version this library migrates a database to, and the newest it
// reads (the largest `version` in the table `tokenbook_schema`).
inline constexpr int kPostgresSchemaVersion = 2;

// Where entries wait, in the ledger directory, while the server cannot be
// reached (ledger lines; docs/backends.md).
inline constexpr char kPostgresSpoolFile[] = "spool.jsonl";

// How many rows of quarter-hour totals (or of their sums per report bucket)
// reports have received from PostgreSQL servers in this process, for tests
// that check how much the server summed.
int64_t PostgresTotalsRowsReceived();

// True for "postgresql:..." and "postgres:..." text.
bool IsPostgresUrl(absl::string_view text);

// `url` without its password (in the user part or a password= parameter),
// for messages.
std::string RedactPostgresUrl(absl::string_view url);

// The local directory (config.toml, alerts, caches) of a PostgreSQL ledger
// named by its URL alone: $XDG_DATA_HOME/tokenbook/postgresql/<host>_<port>_
// <database>_<user> (else under ~/.local/share). InvalidArgument, naming the
// URL, when libpq cannot parse it.
absl::StatusOr<std::string> PostgresDefaultDir(absl::string_view url);

// Connects to the database `url` names (a libpq connection URL), creating or
// migrating the schema (with options.create), checks it is a tokenbook ledger
// of a version this library reads; `dir` holds the ledger's local files.
// Errors name the URL without its password. A server that cannot be reached
// (with options.create) still opens: appends go to the spool in `dir`, reads
// fail naming the server.
absl::StatusOr<std::unique_ptr<Ledger>> OpenPostgresLedger(const std::string& dir, const std::string& url,
                                                           const LedgerOptions& options);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_LEDGER_POSTGRES_H_
