// Budgets over a ledger: status from running totals, the budget impact a
// caller prints after logging, alerts recorded once per crossing, and
// admission shared by every process that uses the ledger directory.
//
// Running totals. A BudgetService keeps, in memory, each budget's spend per
// local day of the budget calendar (per session for session budgets), the
// total spend per day (for this month's figure), the latest session, and the
// ledger offset those totals cover. Before answering, it reads only the
// ledger past that offset (complete lines, decoded with EntryDecoder), so a
// call costs O(new entries) however large the ledger grows, and sees what
// other processes appended; a `now` in another period only sums other days.
// A ledger that shrank or was replaced means one full rescan. The ledger
// file stays the single source of truth.
//
// The totals cache. So that a new process (every `tokenbook log`) need not
// read the whole ledger either, the totals are kept in
// `cache/budget-totals.json` in the ledger directory, three lines: a header
// {"v", "kind":"budget-totals", "ledger_offset", "head_fnv1a64",
// "tail_fnv1a64", "config_fnv1a64"}, the totals, and a trailer holding the
// FNV-1a hash of the first two lines. The ledger hashes are of the first and
// last 4 KiB before ledger_offset; the config hash covers the time zone, the
// week start and every budget's name, period and scope. On first use (and
// after the ledger was replaced) a service loads the file when its hash,
// version, config hash and ledger hashes all match and ledger_offset is
// within the ledger, then reads the ledger's tail from there; anything else
// — a missing, torn, corrupt or foreign file — means a full read, never
// wrong totals. The file is rewritten (a temporary file in cache/, then
// rename(), so it is always whole, whichever process writes last) once the
// totals cover 64 KiB of ledger past it (a few hundred entries, so that a
// new process decodes at most that many lines). Deleting it costs one full
// read.
////
// Alerts. When a budget's level is warning, critical or exceeded, one line
// goes to `alerts.jsonl` in the ledger directory — once per budget, period
// and level: a line is appended only when no line for the same budget and
// period has that level or a higher one, decided while holding flock(LOCK_EX)
// on alerts.jsonl, so that concurrent loggers in any process write it once.
// Logging many entries past 80% writes one warning; passing 95% one critical;
// a new period may alert again. (A jump straight past several thresholds
// records only the highest level reached.) Format: docs/config.md.
//
// Cross-process admission. Processes sharing a ledger must not together
// overshoot a blocking budget, so check + reserve, commit and release run
// under flock(LOCK_EX) on `budget.lock` in the ledger directory (and a mutex
// for this process's threads, since flock() locks belong to an open file
// description). Outstanding reservations live in `reservations.jsonl`: one
// JSON object a line with an id, the estimate, the budgets it holds and an
// expiry (now + the configured TTL, 10 minutes by default). Every operation
// reads it under the lock, drops expired lines and, when anything changed,
// rewrites it in place (one pwrite() of the whole content, then ftruncate()),
// so the file stays small and a crashed holder's reservation simply expires.
// Under the lock:
//   Reserve  bring totals up to date, sum the live reservations, decide per
//            budget (DecideBudget), and unless denied add the reservation.
//   Commit   append the entry to the ledger, drop the reservation, bring the
//            totals up to date (which reads the new line back), then record
//            alerts.
//   Release  drop the reservation.
// A database ledger that keeps reservations itself (PostgreSQL:
// Ledger::BeginAdmission) replaces the lock and the file with one database
// transaction per operation, so that hosts share them, and Commit appends the
// entry in that same transaction (docs/backends.md).
// Spend that bypasses admission (a plain log, ingestion) is still counted,
// from the ledger, at the next locked operation. The in-process
// AdmissionController (tokenbook/budget.h) touches no file and answers in
// well under a microsecond; MakeController() seeds one from these totals.
//
// Thread safety: a BudgetService may be shared by threads. The Ledger it is
// given must outlive it.
#ifndef TOKENBOOK_LIB_BUDGETS_H_
#define TOKENBOOK_LIB_BUDGETS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/budget.h"
#include "tokenbook/config.h"
#include "tokenbook/entry.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
inline namespace v1 {

inline constexpr absl::string_view kAlertsFileName = "alerts.jsonl";
inline constexpr absl::string_view kReservationsFileName = "reservations.jsonl";
inline constexpr absl::string_view kBudgetLockFileName = "budget.lock";
inline constexpr absl::string_view kBudgetCacheDirName = "cache";
inline constexpr absl::string_view kBudgetCacheFileName = "budget-totals.json";

// One line of alerts.jsonl.
struct BudgetAlert {
  absl::Time time;     // when it was recorded
  std::string budget;  // the budget's name
  std::string scope;   // "all", "project:acme", ...
  std::string period;  // BudgetWindow::label: "2026-04", "session:s1", ...
  BudgetLevel level = BudgetLevel::kWarning;
  Micros spent;
  Micros limit;
  int64_t percent_bp = 0;
  BudgetAction action = BudgetAction::kWarn;
};

// Every budget at `now`.
struct BudgetReport {
  absl::Time now;
  std::vector<BudgetStatus> statuses;  // configuration order; session budgets for `session` only
  std::vector<Micros> reserved;        // per status: held by outstanding reservations
  Micros month_spent;                  // everything spent this calendar month
  std::optional<BudgetSuggestion> suggestion;  // only when no budget is configured
  std::string session;                 // the session the session budgets describe ("" = none)
};

// What to tell the user after logging an entry.
struct LogImpact {
  Micros cost;
  bool priced = true;
  std::string model;
  std::vector<BudgetStatus> budgets;  // the budgets the entry counts against, after it
  std::vector<BudgetAlert> alerts;    // alerts this call recorded
  Micros month_spent;
  std::optional<BudgetSuggestion> suggestion;  // only when no budget is configured
};

// "Entry logged: $0.09" then one line per budget:
// "Budget: $13.82 / $100.00 (13.8%)" when one budget applies, else
// "Budget (daily): $1.20 / $10.00 (12.0%)"; a level other than ok is added
// in brackets ("... (85.0%) [warning]"). Amounts under a cent show four
// decimals. With no budget set, the month's spend and the stage suggestion.
std::string FormatLogImpact(const LogImpact& impact);

// A request for cross-process admission (owning its strings).
struct SharedAdmissionRequest {
  Micros estimate;  // ≥ 0
  std::string session;
  std::string project;
  std::string feature;
  std::string agent;
  absl::Time now;

  BudgetTarget target() const { return BudgetTarget{session, project, feature, agent}; }
};

struct SharedReservation {
  std::string id;  // empty when denied
  AdmissionDecision decision;
  absl::Time expires;
  bool ok() const { return !id.empty(); }
};

struct CommitResult {
  AppendResult append;
  // False when the reservation was no longer outstanding (it expired, or was
  // already committed or released): the entry was logged all the same,
  // since the money is spent, but it was not covered by a reservation.
  bool reservation_found = true;
  LogImpact impact;
};

class BudgetService {
 public:
  // `ledger` must outlive the service. `config` gives the budgets, the
  // calendar and the reservation TTL.
  static absl::StatusOr<std::unique_ptr<BudgetService>> Open(Ledger* ledger, Config config);
  ~BudgetService();
  BudgetService(const BudgetService&) = delete;
  BudgetService& operator=(const BudgetService&) = delete;

  const Config& config() const;

  // Every budget's status at `now`. Session budgets are reported for
  // `session`, or when it is empty for the session of the latest entry that
  // has one (none: they are left out).
  absl::StatusOr<BudgetReport> Status(absl::Time now, absl::string_view session = "");

  // The impact of an entry just logged: the status of every budget it counts
  // against at `now`, and the alerts that crossing thresholds recorded.
  absl::StatusOr<LogImpact> AfterLog(const Entry& logged, absl::Time now);

  // Records alerts for every budget at `now` (session budgets as Status()
  // picks the session); returns the alerts appended.
  absl::StatusOr<std::vector<BudgetAlert>> CheckAlerts(absl::Time now, absl::string_view session = "");

  // Every line of alerts.jsonl (malformed lines skipped).
  absl::StatusOr<std::vector<BudgetAlert>> ReadAlerts() const;

  // The verdict for a request, counting every process's reservations,
  // without reserving.
  absl::StatusOr<AdmissionDecision> Check(const SharedAdmissionRequest& request);

  // The verdict and, unless denied, a reservation that other processes see
  // until it is committed, released or expires (at request.now + TTL).
  absl::StatusOr<SharedReservation> Reserve(const SharedAdmissionRequest& request);

  // Appends `entry` (priced by the caller; a zero timestamp becomes `now`)
  // and drops the reservation, under the lock; then records alerts.
  absl::StatusOr<CommitResult> Commit(absl::string_view reservation_id, Entry entry, absl::Time now);

  // Drops a reservation. NotFound when it is not outstanding.
  absl::Status Release(absl::string_view reservation_id, absl::Time now);

  // How many reservations are outstanding (not expired) at `now`.
  absl::StatusOr<size_t> OutstandingReservations(absl::Time now);

  // An in-process controller over the configured budgets, seeded with the
  // ledger's totals at `now` (session budgets: for every session seen).
  absl::StatusOr<std::unique_ptr<AdmissionController>> MakeController(absl::Time now);

  // Brings the totals up to date and writes them to the cache file now
  // (the service also does so by itself once enough new lines have
  // accumulated past it); for tools and tests.
  absl::Status RefreshCache();

  // How many ledger lines the last catch-up decoded (0 when nothing was
  // new): the whole ledger after a full read, only the tail from a cache.
  int64_t LinesDecodedByLastCatchUp();

 private:
  class Impl;
  explicit BudgetService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_BUDGETS_H_
