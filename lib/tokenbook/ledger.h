// The ledger: a directory (normally `.tokenbook/`) holding `ledger.jsonl`,
// an append-only file of entries, one JSON object a line
// (docs/ledger-format.md), plus `config.toml`, `alerts.jsonl` and a
// rebuildable cache of derived state.
//
// Writes are one write() of whole lines under an exclusive flock() on the
// ledger file, so any number of threads and processes may append at once
// without torn or lost lines. A crash can leave one partial last line: readers
// report it (file:line) and skip it, and the next writer starts a fresh line.
// Nothing ever rewrites or deletes an appended entry. An append that fails
// (a full disk, a file-size limit) returns an error and leaves nothing: the
// bytes of a write cut short are truncated off again under the lock.
//
// Thread safety: a Ledger may be shared by threads; every method is safe to
// call concurrently.
#ifndef TOKENBOOK_LIB_LEDGER_H_
#define TOKENBOOK_LIB_LEDGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/quarter_totals.h"

namespace tokenbook {
inline namespace v1 {

class Rollup;

enum class Durability {
  kFlush,  // write() per append: survives a process crash (default)
  kFsync,  // write() then fsync() per append: survives a power cut
};

struct LedgerOptions {
  Durability durability = Durability::kFlush;
  bool create = true;           // create the directory and files when missing
  uint32_t file_mode = 0600;    // for files the ledger creates
  uint32_t dir_mode = 0700;     // for the directory
  // A database URL (docs/backends.md): "sqlite:///abs/ledger.db", or
  // "sqlite:rel/ledger.db" relative to the ledger directory, or
  // "postgresql://user@host:port/database" (docs/backends.md). The entries
  // then live in that database, and the directory keeps the rest
  // (config.toml, alerts, budget reservations, caches). Empty: ledger.jsonl
  // in the directory.
  std::string backend;
};

// A line of the ledger that was skipped, and why.
struct LedgerIssue {
  std::string file;
  int64_t line = 0;   // 1-based
  std::string message;  // "torn last line (crash during a write?)", "field \"cost_micros\": not an integer"
};

struct AppendResult {
  bool appended = false;  // false: an entry with the same source key exists
  std::string id;         // the new entry's id (or the existing one's, unless AppendOptions say not to look it up)
};

struct AppendOptions {
  // Fill AppendResult::id for an entry dropped because its source key is in
  // the ledger. The index holds only hashes of the keys, so that costs one
  // read of the line that has the key; bulk callers that do not need the id
  // (ingestion) turn it off.
  bool existing_ids = true;
  // Rewrite cache/source-keys.jsonl when the ledger has outgrown it. Bulk
  // callers turn it off for their batches and let a later append (or
  // RefreshCache) do it once.
  bool refresh_cache = true;
};

// Entries encoded for the ledger ahead of their append, possibly on other
// threads than the one that appends them (ingestion encodes on its reading
// threads): each entry's line as EncodeEntryJson writes it, with its source
// key and id beside it.
struct EncodedEntries {
  // A newline, then the lines, each with its '\n'. The leading newline lets
  // a writer close a torn last line in the same write().
  std::string text = std::string(1, '\n');
  std::vector<size_t> ends;  // where each line ends in `text` (after its '\n')
  std::string keys_and_ids;  // each entry's source key, then its id
  std::vector<size_t> key_ends, id_ends;
  // The entries' report totals, as their lines read back (timestamps to
  // the millisecond): the JSONL ledger adds them to its report totals cache
  // when every entry was appended.
  QuarterTotals sums;

  // Encodes `entry`, first giving it a fresh id when it has none. Its
  // timestamp must be set. On error nothing is added.
  absl::Status Add(Entry& entry);
  size_t size() const { return ends.size(); }
  bool empty() const { return ends.empty(); }
  void Clear();
  absl::string_view line(size_t k) const {  // without its '\n'
    const size_t begin = k == 0 ? 1 : ends[k - 1];
    return absl::string_view(text).substr(begin, ends[k] - begin - 1);
  }
  absl::string_view key(size_t k) const {
    const size_t begin = k == 0 ? 0 : id_ends[k - 1];
    return absl::string_view(keys_and_ids).substr(begin, key_ends[k] - begin);
  }
  absl::string_view id(size_t k) const {
    return absl::string_view(keys_and_ids).substr(key_ends[k], id_ends[k] - key_ends[k]);
  }
};

// Budget admission on a database ledger that keeps the reservations itself
// (PostgreSQL; docs/backends.md), so that processes on different hosts share
// them: one database transaction, holding the ledger's admission lock from
// Begin to Commit, in which the outstanding reservations are read and
// rewritten and a committed request's entry is appended. Destroying it
// without Commit() rolls everything back. Used by one thread at a time.
class AdmissionTransaction {
 public:
  struct Hold {
    std::string id;
    absl::Time expires;
    std::string line;  // as reservations.jsonl holds it, without '\n'
  };
  virtual ~AdmissionTransaction() = default;
  // The outstanding reservations' lines, each with its '\n'.
  virtual absl::StatusOr<std::string> ReadHolds() = 0;
  // Replaces every reservation with `holds`.
  virtual absl::Status WriteHolds(const std::vector<Hold>& holds) = 0;
  // Appends the entry as Ledger::Append does, in this transaction.
  virtual absl::StatusOr<AppendResult> Append(Entry entry) = 0;
  virtual absl::Status Commit() = 0;
};

class Ledger {
 public:
  // Opens (and by default creates) the ledger in `dir`: ledger.jsonl there,
  // or the database options.backend names. `dir` may itself be a database
  // URL (see ResolveLedgerLocation): the directory is then the database
  // file's.
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(const std::string& dir,
                                                      const LedgerOptions& options = {});
  virtual ~Ledger() = default;

  // The directory of config.toml, alerts, budget state and caches.
  virtual const std::string& dir() const = 0;
  // The file that holds the entries (ledger.jsonl, or the database file).
  virtual std::string ledger_path() const = 0;
  // "jsonl", or the database's kind ("sqlite", "postgresql"). Derived-state caches
  // that fingerprint ledger.jsonl's bytes apply to "jsonl" only.
  virtual absl::string_view kind() const { return "jsonl"; }

  // Appends one entry. An empty id gets a fresh ULID; a zero timestamp
  // (absl::UnixEpoch()) gets the current time. An entry whose non-empty
  // source key is already in the ledger is not appended (appended = false).
  virtual absl::StatusOr<AppendResult> Append(Entry entry) = 0;

  // Appends several entries with one write() under one lock.
  virtual absl::StatusOr<std::vector<AppendResult>> AppendBatch(std::vector<Entry> entries) = 0;
  virtual absl::StatusOr<std::vector<AppendResult>> AppendBatch(std::vector<Entry> entries,
                                                                const AppendOptions& options) {
    (void)options;
    return AppendBatch(std::move(entries));
  }

  // Appends entries encoded beforehand (ids and timestamps set), as
  // AppendBatch does, and sets (*appended)[k] to whether entry k was
  // appended (false: its source key is in the ledger, or earlier in
  // `entries`). Empty `entries` with refresh_cache ends a bulk append (the
  // cache under the usual rule) and appends nothing. The default decodes the
  // lines and calls AppendBatch.
  virtual absl::Status AppendEncoded(const EncodedEntries& entries, const AppendOptions& options,
                                     std::vector<bool>* appended);

  // Calls `fn` for every valid entry, in file order. Skipped lines are
  // appended to `issues` when it is not null.
  virtual absl::Status Scan(const std::function<void(const Entry&)>& fn,
                            std::vector<LedgerIssue>* issues = nullptr) const = 0;

  // Calls `fn` for every valid entry of the lines that start at byte
  // `begin` (0, or the end of an earlier scan's last line) and are complete
  // now, in file order, and returns the offset just after the last of them:
  // where the next incremental scan starts. A last line without its newline
  // (a write in progress, or a tear that the next append will close) is left
  // for that next scan. Line numbers in `issues` count from `begin`.
  // OutOfRange when `begin` lies beyond the end of the ledger.
  virtual absl::StatusOr<int64_t> ScanFrom(int64_t begin, const std::function<void(const Entry&)>& fn,
                                           std::vector<LedgerIssue>* issues = nullptr) const {
    (void)begin;
    (void)fn;
    (void)issues;
    return absl::UnimplementedError("this ledger cannot be scanned from an offset");
  }

  // Counts every entry of the ledger into `rollup` from totals the ledger
  // keeps, and returns true, when those totals answer the rollup's query
  // exactly (its range, filters, group keys and time zone); otherwise adds
  // nothing and returns false, and the caller scans. Lines that Scan would
  // skip are not reported this way. The SQLite ledger keeps totals per model,
  // provider and quarter hour (docs/backends.md); the JSONL ledger none.
  virtual absl::StatusOr<bool> AddTotalsTo(Rollup* rollup) const {
    (void)rollup;
    return false;
  }

  // True when an entry with this source key is in the ledger.
  //
  // The index behind it holds, per key, a 64-bit hash and where the line
  // carrying the key is (16 bytes a key, whatever the key's length); a hash
  // that matches is confirmed by reading that one line, so two keys that
  // share a hash are still told apart.
  virtual absl::StatusOr<bool> HasSourceKey(absl::string_view key) const = 0;

  // Brings the derived-state cache beside the ledger (`cache/source-keys.jsonl`)
  // up to date now. The ledger also refreshes it by itself once enough new
  // lines have accumulated past it; this is for tools and tests. Deleting the
  // cache is always safe: it costs one full read of the ledger.
  virtual absl::Status RefreshCache() { return absl::OkStatus(); }

  // Begins an admission transaction when the ledger keeps budget
  // reservations itself (PostgreSQL); null when it does not, and the budget
  // service keeps them in budget.lock and reservations.jsonl in dir().
  virtual absl::StatusOr<std::unique_ptr<AdmissionTransaction>> BeginAdmission() {
    return std::unique_ptr<AdmissionTransaction>();
  }
};

// Where a --ledger argument (or $TOKENBOOK_DIR) points.
struct LedgerLocation {
  std::string dir;      // config.toml, alerts, budgets, caches
  std::string backend;  // a database URL; empty: ledger.jsonl in `dir`
};

// True for "scheme:..." text naming a database rather than a directory:
// sqlite:, postgresql:, postgres:, or any "scheme://".
bool IsLedgerUrl(absl::string_view text);

// A directory stands for itself. "sqlite:///abs/ledger.db" (or
// "sqlite:path/ledger.db", relative to `base`) is that database, with the
// database file's directory for the rest. "postgresql://..." (or
// "postgres://...") is that database, with a per-user directory for the rest
// (PostgresDefaultDir in tokenbook/ledger_postgres.h); other schemes are
// InvalidArgument.
absl::StatusOr<LedgerLocation> ResolveLedgerLocation(absl::string_view dir_or_url, absl::string_view base = "");

// The file a "sqlite:" URL names, made absolute against `base` when
// relative (and `base` is not empty).
absl::StatusOr<std::string> SqlitePathOfUrl(absl::string_view url, absl::string_view base = "");

// A fresh ULID: 48 bits of Unix milliseconds then 80 random bits, in
// Crockford base 32 (26 characters). Strictly increasing within a process
// (the random part counts up within a millisecond); after fork() the child
// draws new random bits, so parent and child never share an id.
std::string NewUlid();

// Where the ledger is, like git finds .git: `flag` (--ledger) when not
// empty, then $TOKENBOOK_DIR, then the nearest `.tokenbook/` from `cwd`
// upward, then the per-user default ($XDG_DATA_HOME/tokenbook, else
// ~/.local/share/tokenbook). A database URL in the flag or the variable is
// returned as a URL (a relative sqlite: path made absolute against `cwd`).
absl::StatusOr<std::string> FindLedgerDir(absl::string_view flag, absl::string_view cwd);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_LEDGER_H_
