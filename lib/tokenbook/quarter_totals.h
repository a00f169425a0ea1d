// Totals per UTC quarter hour, model and provider: everything a report that
// groups and filters by time, model and provider only needs, summed ahead of
// time so that such a report (`tokenbook report`, by day, month or model)
// reads a few thousand rows instead of every entry.
//
// Exactness. A quarter hour lies inside one hour, day, week and month bucket
// of a time zone whose UTC offset is a whole number of quarter hours, the
// same at both of its ends; every zone in use today qualifies (India's +5:30,
// Nepal's +5:45, Chatham's +12:45), and a quarter that does not (a
// historical zone, such as Amsterdam's +0:19:32 before 1937) makes AddTo()
// refuse, so that the caller scans. A range must begin and end on quarter
// hours. The row's Totals are those Rollup would have summed entry by entry,
// first and last timestamps included.
//
// The SQLite ledger keeps these in its quarter_totals table, the JSONL ledger
// in cache/report-totals.bin (docs/ledger-format.md). The PostgreSQL ledger
// keeps the same table and has the server sum it per report bucket
// (BucketStarts, AddBucketRow).
#ifndef TOKENBOOK_LIB_QUARTER_TOTALS_H_
#define TOKENBOOK_LIB_QUARTER_TOTALS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/binary_cache.h"
#include "tokenbook/entry.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

inline constexpr int64_t kQuarterSeconds = 900;

// The UTC quarter hour holding `t` (floor(unix seconds / 900)).
int64_t QuarterOf(absl::Time t);
// True when `t` begins a quarter hour, or is infinite.
bool OnQuarter(absl::Time t);

class QuarterTotals {
 public:
  // Counts `e` as Rollup::Add would. An entry whose timestamp the cache
  // cannot hold exactly (binary_cache::Representable) or a sum that
  // overflows makes the totals unusable: AddTo() then refuses.
  void Add(const Entry& e);
  // Counts totals summed elsewhere (a database's rows).
  void AddRow(int64_t quarter, absl::string_view model, absl::string_view provider, const Totals& t);
  void Merge(const QuarterTotals& other);
  void Clear();

  bool usable() const { return usable_; }
  size_t size() const { return index_.size(); }
  int64_t entries() const { return entries_; }

  // True when totals like these answer `q` exactly as far as the query
  // itself tells (group keys and filters on time, model and provider only,
  // a range on quarter hours); [*first, *end) are then the quarters it
  // covers. AddTo() still checks the zone against each quarter.
  static bool Answers(const RollupQuery& q, int64_t* first, int64_t* end);

  // Counts every row into `rollup` (Rollup::AddTotals) and returns true when
  // that gives exactly what adding the entries one by one would; otherwise
  // adds nothing and returns false.
  absl::StatusOr<bool> AddTo(Rollup* rollup) const;

  // For a database that sums rows itself, one sum per time bucket of `q`
  // instead of one row per quarter: the quarters [first, end) cut into runs
  // that each lie inside one bucket of every time key of `q` (in q.tz, with
  // q.week_start). On true, `starts` holds the first quarter of each run,
  // ascending, starts[0] == first; a run ends where the next begins, the last
  // at `end`. A bucket that clocks going back make recur (back across its
  // start) takes a run each time. Without a time key, one run. False
  // ("cannot": sum per quarter and let AddTo() decide) when a bucket begins
  // off a quarter hour, the zone's offset is not a whole number of quarter
  // hours somewhere in the range or changes off one, the range is not finite
  // (within the times binary_cache::Representable holds), or there would be
  // more than kMaxBucketRuns runs.
  static constexpr size_t kMaxBucketRuns = 1'000'000;
  static bool BucketStarts(const RollupQuery& q, int64_t first, int64_t end, std::vector<int64_t>* starts);

  // Counts totals summed over the quarters [start, next), one run of
  // BucketStarts(rollup->query(), ...), into `rollup` (Rollup::AddTotals, the
  // run's first instant standing for its entries) and returns true; or adds
  // nothing and returns false when they cannot be right: first or last time
  // outside the run, or unpriced entries mixed with priced ones.
  static bool AddBucketRow(Rollup* rollup, int64_t start, int64_t next, absl::string_view model,
                           absl::string_view provider, const Totals& t);

  void Write(binary_cache::Writer* w) const;
  bool Read(binary_cache::Reader* r);  // false: not whole (the totals are then cleared)

 private:
  // Compact, as a long ledger has tens of thousands of rows and ingestion
  // keeps a set per file being read: model and provider names are interned,
  // priced and unpriced entries are kept apart (so that a row needs no
  // second set of token counts), times are Unix nanoseconds, and rows sit
  // in chunks that are never moved (so growing holds no second copy),
  // indexed by their key.
  struct Key {
    int64_t quarter = 0;
    uint32_t model = 0;
    uint32_t provider = 0;  // the top bit: the row's entries are unpriced

    friend bool operator==(const Key& a, const Key& b) {
      return a.quarter == b.quarter && a.model == b.model && a.provider == b.provider;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.quarter, k.model, k.provider);
    }
  };
  static constexpr uint32_t kUnpricedBit = uint32_t{1} << 31;
  struct Row {
    Key key;
    int64_t entries = 0;
    int64_t requests = 0;
    int64_t cost = 0;
    int64_t tokens[kTokenKindCount] = {};
    int64_t first_ns = INT64_MAX;
    int64_t last_ns = INT64_MIN;
  };

  uint32_t Intern(absl::string_view name);
  Row& RowOf(int64_t quarter, uint32_t model, uint32_t provider, bool unpriced);
  void MergeRow(Row& into, const Row& from);
  Totals TotalsOf(const Row& row) const;

  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, uint32_t> name_ids_;
  absl::flat_hash_map<Key, Row*> index_;  // into chunks_
  std::vector<std::vector<Row>> chunks_;  // each reserved once: 64 rows, then twice the last, up to 4096

  uint32_t last_name_ = 0;  // the name interned last: entries in a row mostly share theirs
  int64_t entries_ = 0;
  bool usable_ = true;
};

// The report totals cache of a JSONL ledger (cache/report-totals.bin): the
// totals of its bytes [0, stamp.covered), every line of which is a valid
// entry (a range with a skipped line is never cached). Load returns false
// when the file is missing, damaged, or stale for the open ledger `fd`.
bool LoadQuarterTotalsCache(const std::string& path, int fd, const std::string& ledger_path, QuarterTotals* totals,
                            binary_cache::LedgerStamp* stamp);
// Best effort, atomically (binary_cache::WriteCacheFile).
void StoreQuarterTotalsCache(const std::string& path, int fd, const std::string& ledger_path, int64_t covered,
                             const QuarterTotals& totals, uint32_t file_mode, uint32_t dir_mode);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_QUARTER_TOTALS_H_
