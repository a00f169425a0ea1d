// The SQLite ledger backend (docs/backends.md): the same Ledger interface
// over a SQLite database file in WAL mode, one row per entry. Reached
// through Ledger::Open with a "sqlite:" URL; declared here for ledger.cpp
// and the tests.
#ifndef TOKENBOOK_LIB_LEDGER_SQLITE_H_
#define TOKENBOOK_LIB_LEDGER_SQLITE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
inline namespace v1 {

// The schema version this library writes, and the newest it reads
// (PRAGMA user_version of the database).
inline constexpr int kSqliteSchemaVersion = 1;

// PRAGMA application_id of a tokenbook database ("tkb1"), so that another
// program's SQLite file is refused rather than written into.
inline constexpr int kSqliteApplicationId = 0x746b6231;

// Opens (with options.create, creating) the database at `db_path`; `dir`
// holds the ledger's other files. Errors name the file: not a database, a
// newer schema, another program's database, not writable. A non-empty
// `not_writable` opens it read-only, appends failing with that message.
absl::StatusOr<std::unique_ptr<Ledger>> OpenSqliteLedger(const std::string& dir, const std::string& db_path,
                                                         const LedgerOptions& options,
                                                         std::string not_writable = "");

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_LEDGER_SQLITE_H_
