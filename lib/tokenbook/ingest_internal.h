// Pieces of the ingesters shared between lib/ingest*.cpp and their tests.
#ifndef TOKENBOOK_LIB_INGEST_INTERNAL_H_
#define TOKENBOOK_LIB_INGEST_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "tokenbook/entry.h"
#include "tokenbook/ingest.h"

namespace tokenbook {
inline namespace v1 {
namespace ingest_internal {

bool IsValidUtf8(absl::string_view s);

// "2025-09-05T16:07:10.429Z", or any RFC 3339 time.
absl::StatusOr<absl::Time> ParseLogTime(absl::string_view text);

// The last component of a working directory: "/home/dev/work/proj-0" -> "proj-0".
std::string ProjectFromCwd(absl::string_view cwd);

// What a Codex rollout has said so far; kept between runs in the
// incremental state, because a line is read in the light of earlier ones.
struct CodexContext {
  std::string model;    // from the last turn_context
  std::string session;  // session_meta's id
  std::string project;  // session_meta's cwd, last component
  bool subagent = false;
  bool have_prev = false;
  int64_t prev[4] = {0, 0, 0, 0};  // last cumulative input, cached, output, reasoning
  // Set by the reader for each line.
  std::string file_key;    // the file's path, for keys of lines without ids
  int64_t line_offset = 0;
  absl::Time file_mtime;
};

enum class CodexLineKind { kOther, kUsage, kUnusable };

// The `size` bytes at `line` copied into `buf` (grown as needed), followed
// by ClaudeCodeLineParser::kLinePadding zero bytes (a NUL, then what SIMD
// scanning may read past the end of a text). Returns buf->data().
char* PaddedCopy(const char* line, size_t size, std::vector<char>* buf);

// Parses one rollout line (in a padded copy; `line` itself is not changed).
CodexLineKind ParseCodexLine(char* line, size_t size, CodexContext* ctx, rapidjson::Document* doc, Entry* entry,
                             std::string* reason);

}  // namespace ingest_internal
}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_INGEST_INTERNAL_H_
