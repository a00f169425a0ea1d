// A Book is an open ledger directory with everything needed to use it: the
// ledger file, its config.toml, the layered rate table and the budget
// service. It is the one entry point the C ABI and the command share, so no
// behaviour lives only in either.
//
// Thread safety: a Book may be shared by threads.
#ifndef TOKENBOOK_LIB_BOOK_H_
#define TOKENBOOK_LIB_BOOK_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/budgets.h"
#include "tokenbook/config.h"
#include "tokenbook/ledger.h"
#include "tokenbook/rates.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

struct BookOptions {
  bool create = true;
  std::optional<Durability> durability;  // default: config.toml's, else flush
  const RateTable* rates = nullptr;      // borrowed, must outlive the Book; default: built-in + config's files
  std::vector<std::string> extra_rate_files;  // layered over the default table, in order (ignored with `rates`)
  std::string config_file;               // read instead of <dir>/config.toml when not empty
  bool strict_models = false;            // unknown model: error instead of an unpriced entry
};

// What logging one entry did.
struct LogOutcome {
  Entry entry;          // as stored (priced, id and timestamp set)
  AppendResult append;  // appended = false: its source key was already there
  LogImpact impact;     // the budgets it counts against, after it
};

// What a report asks for, in the words of the command line.
struct ReportSpec {
  std::string period = "month";  // see ResolvePeriod; ignored when since or until is set
  std::string since;
  std::string until;
  std::string group_by;               // "model,day"
  std::vector<std::string> filters;   // "agent=reviewer"
  size_t top = 0;
  std::string time_zone;              // empty: config.toml's
  bool fill_empty_buckets = false;
};

class Book {
 public:
  static absl::StatusOr<std::unique_ptr<Book>> Open(const std::string& dir, const BookOptions& options = {});
  ~Book();
  Book(const Book&) = delete;
  Book& operator=(const Book&) = delete;

  Ledger& ledger();
  const Config& config() const;
  const RateTable& rates() const;
  BudgetService& budgets();
  const std::vector<std::string>& rate_warnings() const;

  // Prices (unless the cost was given), appends, and reports the budget
  // impact at `now`.
  absl::StatusOr<LogOutcome> Log(Entry entry, absl::Time now);

  // The same for several entries, appended with one write.
  absl::StatusOr<std::vector<LogOutcome>> LogBatch(std::vector<Entry> entries, absl::Time now);

  // Turns a spec into a query in the book's time zone and week start.
  absl::StatusOr<RollupQuery> MakeQuery(const ReportSpec& spec, absl::Time now) const;

  // Streams the ledger through a rollup. Skipped lines go to `issues`. With
  // `reprice`, every entry whose cost was computed (or that was unpriced) is
  // priced again from the book's current rate table; a cost given by the
  // caller or reported by the source tool is kept, since it is what was billed.
  absl::StatusOr<RollupReport> Report(RollupQuery query, std::vector<LedgerIssue>* issues = nullptr,
                                      bool reprice = false);

 private:
  struct State;
  explicit Book(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Parses "key=value" lines (or a single "k=v") into sorted, unique tags;
// InvalidArgument names the bad pair.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(
    const std::vector<std::string>& pairs);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_BOOK_H_
