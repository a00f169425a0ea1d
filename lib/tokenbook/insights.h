// Insights over a ledger: the decisions the figures support.
//
//   Usage blocks  5-hour billing windows as Claude subscriptions count them,
//                 with burn rate and a projection for the active block.
//   Anomalies     hours and sessions whose spend is far above the usual
//                 level, by a robust rule (median and MAD), recorded once in
//                 anomalies.jsonl.
//   Advice        suggestions that save money, each with its saving over the
//                 period computed by re-pricing the ledger's entries.
//   Status line   the one line Claude Code shows under its prompt.
// The model router lives in tokenbook/insights_router.h.
//
// Each analysis is a builder fed one entry at a time (so that one
// Ledger::Scan can feed several of them) and finished into plain structs;
// JSON renderings are in tokenbook/insights_json.h.
//
// Exactness. Money is integer micro-dollars, tokens are integers, and every
// rate, median or score is computed from integers with the rounding named
// where it is declared (half-even unless said otherwise). No float or double
// takes part.
#ifndef TOKENBOOK_LIB_INSIGHTS_H_
#define TOKENBOOK_LIB_INSIGHTS_H_

#include <cstddef>
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
#include "tokenbook/money.h"
#include "tokenbook/period.h"
#include "tokenbook/rates.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

// Every token counted once: input + output + cache read + both cache writes
// (reasoning tokens are part of output). 128 bits: a sum cannot overflow.
__int128 CountedTokens(const TokenCounts& tokens);

// "2h13m", "45m", "0m": a duration for people, whole minutes rounded down.
std::string FormatHoursMinutes(absl::Duration d);

// ===========================================================================
// Usage blocks.
//
// Claude subscriptions meter usage in 5-hour windows that begin with the
// first message sent outside a window. The rule, over the entries sorted by
// timestamp (ties in ledger order):
//   - a block starts at its first entry's time rounded down to the hour, in
//     UTC (so a block's start is the same wherever it is displayed), and
//     ends 5 hours later: it holds the entries in [start, end);
//   - the next block starts at the first entry at or after the previous
//     block's end (again rounded down to the hour, which can never fall
//     before that end, since ends lie on whole hours).
// A pause of 5 hours or more between two entries therefore always starts a
// new block; `gap_before` says how long no block ran before each one. (The
// rule is ccusage's, with one boundary made precise: an entry exactly at a
// block's end belongs to the next block, as the window is half-open.)
//
// Burn rate and projection. A block's burn window runs from its first entry
// to `now` while the block is active (start <= now < end), else to its last
// entry. With w the window in whole milliseconds (now truncated to the
// millisecond):
//   tokens_per_hour  round_half_even(tokens × 3,600,000 / w)
//   cost_per_hour    round_half_even(cost_µ$ × 3,600,000 / w)
// A window shorter than one minute gives no rate (a single request is no
// pace). The active block's projection, with r = end − now in milliseconds:
//   projected_tokens round_half_even(tokens × (w + r) / w)
//   projected_cost   round_half_even(cost_µ$ × (w + r) / w)
// i.e. what is spent so far plus the same pace until the block ends.

inline constexpr absl::Duration kUsageBlockLength = absl::Hours(5);
inline constexpr absl::Duration kMinBurnWindow = absl::Minutes(1);

struct BurnRate {
  absl::Duration window;  // whole milliseconds
  int64_t tokens_per_hour = 0;
  Micros cost_per_hour;
};

struct BlockProjection {
  absl::Duration remaining;  // end − now
  int64_t tokens = 0;        // at the end of the block, at the current pace
  Micros cost;
};

struct UsageBlock {
  absl::Time start;                 // on a whole UTC hour
  absl::Time end;                   // start + 5 hours
  absl::Duration gap_before;        // since the previous block's end; zero for the first block
  Totals totals;                    // the block's entries
  int64_t tokens = 0;               // CountedTokens(totals.tokens)
  std::vector<std::string> models;  // the models used, sorted
  bool active = false;
  std::optional<BurnRate> burn;
  std::optional<BlockProjection> projection;  // the active block only
};

// Whether an entry is usage a Claude subscription meters: its provider is
// "anthropic", or no provider is recorded (a cost given by hand skips the
// rate table) and its model's name contains "claude", in any case.
bool IsClaudeUsage(const Entry& e);

// Collects entries (those matching every filter and, with `claude_only`,
// IsClaudeUsage) and cuts them into blocks. Memory: about 80 bytes an entry
// kept.
class BlockBuilder {
 public:
  explicit BlockBuilder(std::vector<Filter> filters = {}, bool claude_only = false);
  ~BlockBuilder();
  BlockBuilder(BlockBuilder&&) noexcept;
  BlockBuilder& operator=(BlockBuilder&&) noexcept;

  void Add(const Entry& e);

  // Adds a group of entries of one model at once, as if each had been
  // added (the caller has applied the filters): `totals` is their sum, with
  // first and last their earliest and latest times. The group must lie
  // within one UTC clock hour (e.g. a quarter hour's usage), so that no
  // block boundary can fall inside it.
  void AddTotals(absl::string_view model, const Totals& totals);

  // The blocks in chronological order, the active one (if any) flagged and
  // projected at `now`. OutOfRange if a sum overflows 64 bits.
  absl::StatusOr<std::vector<UsageBlock>> Finish(absl::Time now) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The burn rate of `tokens` and `cost` over `window` (nullopt under a minute).
std::optional<BurnRate> BurnOver(int64_t tokens, Micros cost, absl::Duration window);

// ===========================================================================
// Anomalies: spend far above its usual level.
//
// Two kinds of points are judged, over a period:
//   hour     each clock hour (in the report's time zone) with spend in it;
//   session  each session's spend in the period (entries without a session
//            are not a session).
// Each point is judged against the points of its kind: their median m and
// median absolute deviation MAD (both exact: a median of an even count is
// the mean of the middle two, held as a doubled integer). A point x is an
// anomaly when all of these hold:
//   1. its kind has at least `min_points` points (fewer is no baseline);
//   2. its modified z-score 0.6745 × (x − m) / MAD exceeds
//      `score_threshold_milli` / 1000 (3.5 by default, Iglewicz and
//      Hoaglin's cut-off; 0.6745 is taken as the exact rational
//      6745/10000) — or, when MAD is 0 (most points equal), x > m;
//   3. x ≥ `min_ratio` × m (3 by default), so a spread-out baseline with a
//      tiny MAD does not flag ordinary variation;
//   4. x − m ≥ `min_excess` ($0.50 by default), so cents are never news.
// The decision compares integers: with m2 = 2m and mad4 = 4·MAD,
// (2) is 1349 × (2x − m2) > score_threshold_milli × mad4. The score shown
// is floor(1349 × (2x − m2) / mad4), the modified z-score × 1000.
//
// Recording. RecordAnomalies appends each anomaly not yet recorded to
// `anomalies.jsonl` in the ledger directory, once per kind and key (the
// hour's label or the session id), decided while holding flock(LOCK_EX) on
// that file, so concurrent runs record it once. The file is separate from
// alerts.jsonl, whose every line is a budget alert (docs/config.md): readers
// of budget alerts are untouched. Format: docs/config.md.

inline constexpr absl::string_view kAnomaliesFileName = "anomalies.jsonl";

enum class AnomalyKind { kHour, kSession };
absl::string_view AnomalyKindName(AnomalyKind k);  // "hour", "session"

struct AnomalyOptions {
  size_t min_points = 8;
  int64_t score_threshold_milli = 3500;
  int64_t min_ratio = 3;
  Micros min_excess = Micros(500'000);
};

// The usual level of one kind of point.
struct AnomalyBaseline {
  size_t points = 0;
  int64_t median_x2 = 0;  // 2 × median, exact
  int64_t mad_x4 = 0;     // 4 × MAD, exact
  Micros median() const;  // round_half_even(median_x2 / 2)
  Micros mad() const;     // round_half_even(mad_x4 / 4)
};

struct Anomaly {
  AnomalyKind kind = AnomalyKind::kHour;
  std::string key;   // hour: its label in the time zone ("2026-04-10T14"); session: the id
  absl::Time start;  // hour: its start; session: its first entry in the period
  absl::Time end;    // hour: its end; session: its last entry
  Totals totals;
  Micros median;                       // of its kind (rounded half-even)
  std::optional<int64_t> score_milli;  // absent when MAD is 0
  bool recorded = false;               // appended to anomalies.jsonl by this run
};

struct AnomalyReport {
  TimeRange range;
  AnomalyBaseline hours;
  AnomalyBaseline sessions;
  std::vector<Anomaly> anomalies;  // hours first, then sessions; each by start, then key
};

class AnomalyDetector {
 public:
  // Entries outside `range` are ignored; hours are clock hours in `tz`.
  static absl::StatusOr<AnomalyDetector> Create(TimeRange range, absl::TimeZone tz, AnomalyOptions options = {});
  ~AnomalyDetector();
  AnomalyDetector(AnomalyDetector&&) noexcept;
  AnomalyDetector& operator=(AnomalyDetector&&) noexcept;

  void Add(const Entry& e);
  absl::StatusOr<AnomalyReport> Finish() const;

 private:
  struct Impl;
  explicit AnomalyDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The baseline of `values` (any order).
AnomalyBaseline BaselineOf(std::vector<int64_t> values);

// Whether `x` is an anomaly against `b` (rules 1–4 above); sets `*score_milli`
// when MAD is not 0.
bool IsAnomalous(Micros x, const AnomalyBaseline& b, const AnomalyOptions& options,
                 std::optional<int64_t>* score_milli);

// Appends the anomalies not yet in `<ledger_dir>/anomalies.jsonl` (by kind
// and key), marking them `recorded`; returns how many were appended.
absl::StatusOr<size_t> RecordAnomalies(const std::string& ledger_dir, std::vector<Anomaly>* anomalies, absl::Time now);

// ===========================================================================
// Advice: suggestions with the money they would save.
//
// Over a period, each kind of suggestion and its saving (µ$, exact):
//   cheaper_model  Entries of one task type (or, without one, category) on
//                  a model, when a cheaper model handles that task type: a
//                  [router] rule sends that task type to it, or it ran at
//                  least `min_evidence_entries` entries of that task type in
//                  the period (same provider). The entries are re-priced on
//                  that model with CostOf (same tokens, requests, service
//                  tier and time); saving = their cost − the re-priced cost.
//                  The candidate saving most is kept.
//   caching        A session's entries on one model (at least
//                  `caching_min_requests`) whose cache-read share,
//                  cache_read / (input + cache_read), is below
//                  `caching_max_hit_bp`, while every one of them sends at
//                  least `caching_min_prefix_tokens` uncached input tokens:
//                  the input repeats. The smallest input of the group, P, is
//                  taken as the repeated prefix; each entry is re-priced with
//                  P tokens moved from input to a cache write (the first
//                  entry, and any entry more than `cache_ttl` after the
//                  previous one) or to a cache read (the others). Saving =
//                  CostOf(as logged) − CostOf(with caching), summed; one
//                  suggestion per model.
//   research_over_shipping
//                  Per feature, research (category, else task type, in
//                  `research_phases`) costing more than shipping (in
//                  `shipping_phases`): saving = research − shipping, what
//                  holding research to the shipping spend would have saved.
//   budget_too_large
//                  A daily, weekly or monthly budget whose spend stayed under
//                  half its limit (spend × 2 < limit) in each of the last
//                  complete periods (7 days, 4 weeks, 3 months), with the
//                  ledger in use since the first day of the earliest one. No
//                  money is spent by a large budget, so the saving is 0; the
//                  suggested limit is the largest period spend plus a quarter,
//                  rounded up to whole dollars (at least $1).
//   batch          Entries with action_type "scheduled" (nobody waits for
//                  them) at the standard tier on a model that has a "batch"
//                  service tier: re-priced at that tier; saving = their cost
//                  − the batch cost. One suggestion per model.
// Only suggestions saving at least `min_saving` ($0.10) are listed (budget
// suggestions always are). Unpriced entries are never re-priced. An entry
// whose re-pricing fails (the cheaper model lacks its service tier, say) is
// left out of that suggestion and counted in `reprice_failures`.
// Suggestions are ordered by saving, largest first (ties: kind, then key).

enum class SuggestionKind { kCheaperModel, kCaching, kResearchOverShipping, kBudgetTooLarge, kBatch };
absl::string_view SuggestionKindName(SuggestionKind k);

struct AdviceOptions {
  Micros min_saving = Micros(100'000);
  int64_t min_evidence_entries = 5;
  int64_t caching_min_requests = 3;
  int64_t caching_max_hit_bp = 2'000;
  int64_t caching_min_prefix_tokens = 1'024;
  absl::Duration cache_ttl = absl::Minutes(5);
  std::vector<std::string> research_phases = {"research", "exploration", "investigation", "spike", "planning"};
  std::vector<std::string> shipping_phases = {"coding", "implementation", "build",  "fix",     "bugfix",  "testing",
                                              "test",   "review",         "deploy", "release", "shipping"};
  int daily_lookback = 7;
  int weekly_lookback = 4;
  int monthly_lookback = 3;
  std::string batch_tier = "batch";
};

struct Suggestion {
  SuggestionKind kind = SuggestionKind::kCheaperModel;
  std::string title;   // one sentence for people
  Micros current;      // what the entries concerned cost
  Micros alternative;  // what they would have cost
  Micros saving;       // current − alternative
  int64_t entries = 0;

  // What it is about; empty or zero where the kind has no such thing.
  std::string model;          // cheaper_model, caching, batch: the model used
  std::string to_model;       // cheaper_model: the cheaper model
  std::string dimension;      // cheaper_model: "task_type" or "category"; research_over_shipping: "feature"
  std::string value;          // the task type, category or feature ("" = none)
  std::string evidence;       // cheaper_model: why the cheaper model handles it
  int64_t sessions = 0;       // caching: sessions concerned
  Ratio cache_hit;            // caching: their cache-read share
  int64_t prefix_tokens = 0;  // caching: input tokens that would move to the cache (Σ P × entries)
  std::string budget;         // budget_too_large: its name
  Micros limit;               // budget_too_large
  Micros suggested_limit;
  Micros largest_period_spend;
  int64_t periods = 0;  // budget_too_large: complete periods looked at
};

struct Advice {
  TimeRange range;
  Totals total;  // every entry in the period
  std::vector<Suggestion> suggestions;
  Micros total_saving;  // Σ saving
  int64_t reprice_failures = 0;
};

class Adviser {
 public:
  // `rates` and `config` must outlive the Adviser. Entries outside `range`
  // count only towards the budget look-back (which has its own periods,
  // before the one holding `now`).
  Adviser(const RateTable& rates, const Config& config, TimeRange range, absl::Time now, AdviceOptions options = {});
  ~Adviser();
  Adviser(Adviser&&) noexcept;
  Adviser& operator=(Adviser&&) noexcept;

  void Add(const Entry& e);
  absl::StatusOr<Advice> Finish() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ===========================================================================
// Status line: what Claude Code's `statusLine` command prints.
//
// Input: the JSON Claude Code writes on the command's stdin
// (session_id, model.id, model.display_name, cost.total_cost_usd, ...).
// Every field is optional and a field of the wrong type is ignored; only
// text that is not a JSON object is an error. cost.total_cost_usd is read
// from its decimal text, exactly, and rounded half-even to the micro-dollar.
//
// Figures, from one pass over the ledger:
//   session  the ledger's entries with this session id, when it has any;
//            else Claude Code's own cost.total_cost_usd (the ledger catches
//            up when the session's logs are ingested);
//   today    every entry of the current day in the config's time zone;
//   block    the active usage block (IsClaudeUsage), its time left and
//            burn rate;
//   budget   the unscoped daily, weekly or monthly budget (or the session
//            budget for this session) with the highest percentage used.
// Line: "Opus | session $1.23 | today $4.56 | block $3.21, 2h13m left |
// $1.20/h | monthly 45%"; parts without data are left out.

struct StatusLineInput {
  std::string session_id;
  std::string model_id;
  std::string model_name;              // display_name
  std::optional<Micros> session_cost;  // cost.total_cost_usd
};

// InvalidArgument ("status-line input: ...") when `json` is not a JSON object.
absl::StatusOr<StatusLineInput> ParseStatusLineInput(absl::string_view json);

struct StatusLine {
  StatusLineInput input;
  absl::Time now;
  bool ledger_found = false;
  std::optional<Micros> ledger_session_cost;  // entries with the input's session id
  int64_t session_entries = 0;
  Micros today;
  std::optional<UsageBlock> block;     // the active block
  std::optional<BudgetStatus> budget;  // the most used budget
};

// Computes the figures (`ledger` null: no ledger; only the input's figures
// are shown). With `use_cache`, from cache/statusline.bin beside the ledger:
// per-quarter-hour sums brought up to date by reading only the lines
// appended since the last call, so the cost does not grow with the ledger
// (the first call, or one after the ledger was replaced, reads it whole and
// writes the cache). Without, or when a window does not lie on quarter
// hours, from one Scan of the whole ledger. Both give the same figures.
absl::StatusOr<StatusLine> ComputeStatusLine(const Ledger* ledger, const Config& config, const StatusLineInput& input,
                                             absl::Time now, bool use_cache = true);

// The one line, without a newline.
std::string FormatStatusLine(const StatusLine& line);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_INSIGHTS_H_
