// Ingestion: turning what agents already record into ledger entries.
//
// Sources: Claude Code transcripts (`projects/**/*.jsonl`), Codex rollouts
// (`sessions/**/rollout-*.jsonl`, saved `codex exec --json` output), the
// result object of `claude -p --output-format json`, and raw Anthropic /
// OpenAI response bodies. The rules (dedup of streaming copies, replays,
// cumulative counters, cache-write split) are in docs/cli.md, `tokenbook
// ingest`.
//
// Guarantees:
// - Idempotent: every entry carries a source key (source.key in the ledger);
//   ingesting the same logs again adds nothing.
// - Incremental: per file, the size, mtime, inode and the offset after the
//   last complete line are kept in `<ledger>/cache/ingest-<source>.jsonl`, so
//   a re-run reads only bytes appended since. A last line without its
//   newline (a writer in the middle of it) is left for the next run.
// - Nothing silently dropped: a line that carries usage but cannot be used
//   is counted and reported as file:line and why.
// - Prompts and responses are never stored: only token counts, model, ids
//   and the dimensions below reach the ledger. Paths found inside logs are
//   never opened.
// - Streaming: files are read in chunks by a small pool of threads and
//   appended in batches, so memory stays bounded whatever the logs' size.
#ifndef TOKENBOOK_LIB_INGEST_H_
#define TOKENBOOK_LIB_INGEST_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

enum class IngestSource {
  kClaudeCode,         // ~/.claude/projects/**/*.jsonl
  kCodex,              // ~/.codex/sessions/**/rollout-*.jsonl, archived_sessions/, `codex exec --json` output
  kClaudeJson,         // the result object of `claude -p --output-format json`
  kAnthropicResponse,  // a Messages API response body
  kOpenAiResponse,     // a Chat Completions or Responses API response body
};

absl::string_view IngestSourceName(IngestSource source);
std::optional<IngestSource> ParseIngestSource(absl::string_view name);

// True for the sources that are one JSON document (a response body), not a
// directory of logs.
bool IsDocumentSource(IngestSource source);

// A line that looked like usage but could not be used.
struct IngestIssue {
  std::string file;
  int64_t line = 0;  // 1-based; 0 when the issue is about the whole file
  std::string reason;
};

struct IngestProgress {
  int64_t bytes_done = 0;
  int64_t bytes_total = 0;
  int64_t files_done = 0;
  int64_t files_total = 0;
};

struct IngestOptions {
  // Files or directories to read; empty: the source's default locations
  // (CLAUDE_CONFIG_DIR, comma-separated, else ~/.config/claude and
  // ~/.claude; CODEX_HOME else ~/.codex).
  std::vector<std::string> paths;
  // Entries before this instant are skipped (counted in before_since). A run
  // with `since` does not advance the incremental state.
  std::optional<absl::Time> since;
  bool dry_run = false;        // parse and count, append nothing, keep no state
  int threads = 0;             // parsing threads; 0: one per core, at most 4
  size_t max_issues = 100;     // issues kept with file:line (all are counted)
  bool incremental = true;     // false: read every file from its start
  // Called from the calling thread as files complete.
  std::function<void(const IngestProgress&)> progress;
};

struct IngestResult {
  std::string source;
  int64_t files = 0;            // log files found
  int64_t files_read = 0;       // of them, with bytes not read before
  int64_t bytes_read = 0;       // bytes read this run (a re-run with nothing new reads 0)
  int64_t lines = 0;            // complete lines read
  int64_t usage_lines = 0;      // lines that carry usage
  int64_t copies_merged = 0;    // further copies of one response in a file (streaming), folded into one entry
  int64_t duplicates = 0;       // responses already in the ledger, or seen earlier in this run (replays)
  int64_t before_since = 0;     // entries older than --since
  int64_t entries = 0;          // entries added (with dry_run: that would be added)
  int64_t unpriced = 0;         // of them, unpriced (unknown model)
  int64_t unusable = 0;         // usage lines that could not be used (each in issues, up to max_issues)
  int64_t pending_bytes = 0;    // bytes of incomplete last lines, left for the next run
  Micros cost;                  // of the entries added
  TokenCounts tokens;           // of the entries added
  std::vector<std::string> unpriced_models;  // distinct, sorted
  // The first max_issues, in file order: unusable lines, and entries
  // recorded unpriced for a reason other than an unknown model (a tier the
  // model does not have).
  std::vector<IngestIssue> issues;
};

// Reads the logs of `source` (not a document source) into `book`.
absl::StatusOr<IngestResult> Ingest(Book& book, IngestSource source, const IngestOptions& options);

// The result as the JSON object `tokenbook ingest --json` prints and the C
// ABI returns: the counts above, cost_micros / cost_usd, tokens by kind,
// unpriced_models and issues [{file, line, reason}].
std::string IngestResultJson(const IngestResult& result, bool dry_run);

// Where `source` looks when no path is given (existing directories only).
std::vector<std::string> DefaultIngestRoots(IngestSource source);

// --- One document: a response body or a claude-json result. ---

// Dimensions a caller adds to entries parsed from one document.
struct DocumentContext {
  absl::Time now;            // the timestamp when the document has none
  std::string source_key;    // overrides the key derived from the response id
};

// The entries in one document of a document source: one for an API
// response, one per model for a claude-json result (its modelUsage). Tokens
// follow the contract in rates.h (OpenAI's prompt tokens minus cached ones
// as input, cached ones as cache_read, reasoning within output). Entries are
// not priced. InvalidArgument names the field that is wrong.
absl::StatusOr<std::vector<Entry>> ParseUsageDocument(IngestSource source, absl::string_view json,
                                                      const DocumentContext& context);

// --- Line parsers, exposed for tests and benchmarks. ---

// What one line of a log gave.
enum class LineKind { kOther, kUsage, kUnusable };

// Parses one Claude Code transcript line (no newline). kUsage fills `entry` (not priced) and
// `total` (the token total, to pick among copies); kUnusable sets `reason`.
class ClaudeCodeLineParser {
 public:
  ClaudeCodeLineParser();
  ~ClaudeCodeLineParser();
  ClaudeCodeLineParser(const ClaudeCodeLineParser&) = delete;
  ClaudeCodeLineParser& operator=(const ClaudeCodeLineParser&) = delete;

  // `folder_project`: the project when the line names no cwd (the
  // transcript's folder name). `padded`: the caller's buffer has
  // kLinePadding bytes of slack after the line (line[size] may be written,
  // the bytes after it read), so it is parsed where it is; else in a padded
  // copy and `line` is left as it was.
  LineKind Parse(char* line, size_t size, absl::string_view folder_project, Entry* entry, int64_t* total,
                 std::string* reason, bool padded = false);

  // Bytes a padded line must have readable after it: the NUL the exact
  // reader writes, then what SIMD scanning may read past the end (64 for
  // simdjson, 16 for RapidJSON's SSE2 scanning).
  static constexpr size_t kLinePadding = 1 + 64;

  // Tests and the fuzz target: read every line with the exact reader alone,
  // to compare the two paths.
  void set_exact_only(bool exact_only) { exact_only_ = exact_only; }
  // How many lines the fast path has read (the rest went to the exact reader).
  int64_t fast_reads() const { return fast_reads_; }

 private:
  bool exact_only_ = false;
  int64_t fast_reads_ = 0;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_INGEST_H_
