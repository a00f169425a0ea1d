// The ledger line format: one Entry as one compact JSON object
// (docs/ledger-format.md), encoded by hand (fixed key order, a few memcpy
// calls) and decoded with RapidJSON's SAX reader, in situ in a reused
// buffer, straight into an Entry whose strings keep their capacity, so that
// reading a large ledger allocates next to nothing per line.
//
// Decoding is strict where a wrong value would change a number (integers are
// exact int64, token counts non-negative, the schema version known) and
// lenient where a newer writer may add things (unknown fields are ignored).
// Every error names the field: `field "cost_micros": expected an integer, got 1.5`.
#ifndef TOKENBOOK_LIB_ENTRY_JSON_H_
#define TOKENBOOK_LIB_ENTRY_JSON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"

namespace tokenbook {
inline namespace v1 {

// The schema version this library writes, and the newest it reads.
inline constexpr int kLedgerSchemaVersion = 1;

// No ledger line may be longer than this (the newline excluded): the encoder
// refuses such an entry, and readers skip such a line, so a reader's memory
// stays bounded whatever the file holds.
inline constexpr size_t kMaxLedgerLineBytes = size_t{1} << 20;

// Appends `entry` to `*out` as one JSON object, without a newline. Fails
// (and leaves `*out` as it was) when the entry could not be read back: an
// empty id or model, a negative token count, request count or duration, a
// timestamp outside years 0000..9999, invalid UTF-8 in a string, an
// action_type other than skill | agent | manual | scheduled, an empty or
// repeated tag key, or a line longer than kMaxLedgerLineBytes. The
// timestamp is written to the millisecond (rounded down).
[[nodiscard]] absl::Status EncodeEntryJson(const Entry& entry, std::string* out);

// The line for `entry`, without a newline.
[[nodiscard]] absl::StatusOr<std::string> EntryToJson(const Entry& entry);

// Reads ledger lines into Entry values, reusing its buffers from line to
// line. Not thread-safe: use one decoder per thread.
class EntryDecoder {
 public:
  EntryDecoder();
  ~EntryDecoder();
  EntryDecoder(const EntryDecoder&) = delete;
  EntryDecoder& operator=(const EntryDecoder&) = delete;

  // Decodes one line (surrounding JSON whitespace allowed, no newline
  // needed) into `*out`, overwriting every field; `*out`'s string capacity is
  // reused. On error `*out` holds unspecified values and the status
  // (InvalidArgument) says what is wrong and in which field.
  [[nodiscard]] absl::Status Decode(absl::string_view line, Entry* out);

  // Tests and the fuzz target: decode with the exact reader (RapidJSON)
  // alone, skipping the simdjson fast path, to compare the two.
  void set_exact_only(bool exact_only) { exact_only_ = exact_only; }
  // How many lines the fast path has decoded (the rest went to the exact reader).
  int64_t fast_reads() const { return fast_reads_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool exact_only_ = false;
  int64_t fast_reads_ = 0;
};

// One-off decoding (a fresh decoder each call).
[[nodiscard]] absl::StatusOr<Entry> DecodeEntryJson(absl::string_view line);

// The timestamp format of the `ts` field: "2026-11-22T05:49:04.123Z" (UTC,
// milliseconds, rounded down). Fails outside years 0000..9999.
[[nodiscard]] absl::StatusOr<std::string> FormatLedgerTime(absl::Time t);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (UTC only, 1 to 9 fraction digits).
[[nodiscard]] absl::StatusOr<absl::Time> ParseLedgerTime(absl::string_view text);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_ENTRY_JSON_H_
