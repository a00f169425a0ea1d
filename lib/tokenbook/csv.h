// CSV output (RFC 4180): fields quoted only when they must be, quotes
// doubled inside quoted fields, records ended by CRLF. And the CSV form of
// an Entry, one record per entry with every field, used by
// `tokenbook export --format csv` (docs/cli.md lists the columns).
//
// The tags cell is `key=value;key=value`, keys in the entry's (sorted) order.
// A key or value may itself hold ';', '=' or '%', so those three characters
// (and nothing else) are percent-encoded inside it: '%' -> "%25",
// ';' -> "%3B", '=' -> "%3D". Splitting the cell on ';', each pair on its
// first '=', then percent-decoding both halves (Python's
// urllib.parse.unquote) gives back the tags exactly.
#ifndef TOKENBOOK_LIB_CSV_H_
#define TOKENBOOK_LIB_CSV_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tokenbook/entry.h"

namespace tokenbook {
inline namespace v1 {

// Appends `field` to `*out`, in double quotes when it holds a comma, a
// double quote, CR or LF (quotes inside doubled); otherwise as it is.
void AppendCsvField(absl::string_view field, std::string* out);

// Appends the fields separated by commas, then "\r\n".
void AppendCsvRecord(const std::vector<absl::string_view>& fields, std::string* out);

// "env=ci;team=core", with '%', ';' and '=' percent-encoded in keys and
// values; "" for no tags.
std::string EncodeCsvTags(const std::vector<std::pair<std::string, std::string>>& tags);

// The column names of an entry record, in order: id, timestamp, model,
// provider, input_tokens, output_tokens, cache_read_tokens,
// cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, requests,
// cost_micros, cost_usd, cost_source, rates_as_of, the dimensions session
// ... service_tier (in kDimensionNames order), duration_ms, tags, notes,
// source_kind, source_key.
const std::vector<absl::string_view>& EntryCsvColumns();

// Appends the header record.
void AppendEntryCsvHeader(std::string* out);

// Appends `entry` as one record. The timestamp is RFC 3339 UTC to the
// millisecond ("2026-11-22T05:49:04.123Z"); absent values (an empty
// dimension, no duration) are empty cells; token counts are always written.
// Fails, leaving `*out` as it was, only for a timestamp the ledger could not
// hold (outside years 0000..9999).
[[nodiscard]] absl::Status AppendEntryCsv(const Entry& entry, std::string* out);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_CSV_H_
