// Loading rate tables: the built-in table embedded at build time, user TOML
// tables (docs/rates-format.md) and LiteLLM's JSON price database.
//
// Errors name the source and, where the format gives one, the line and column
// ("rates.toml:12:9: ..."). Warnings (a price finer than 1 µ$/MTok rounded
// half-even, a LiteLLM entry skipped) are appended to `warnings` when it is
// not null, one line each, naming the model and field.
#ifndef TOKENBOOK_LIB_RATE_SOURCES_H_
#define TOKENBOOK_LIB_RATE_SOURCES_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

// Parses a TOML rate table; `source_name` is used in messages and recorded
// as each model's `source`.
[[nodiscard]] absl::StatusOr<RateTable> ParseRateTableToml(absl::string_view text,
                                                           absl::string_view source_name,
                                                           std::vector<std::string>* warnings = nullptr);

// Parses LiteLLM's model_prices_and_context_window.json, whole. Numbers are
// read as their exact decimal text. Entries without any token price (image,
// audio-only, search...) are skipped with a warning count, not an error.
[[nodiscard]] absl::StatusOr<RateTable> ParseLiteLlmJson(absl::string_view text,
                                                         absl::string_view source_name,
                                                         std::vector<std::string>* warnings = nullptr);

// Reads a file and parses it: `.json` as LiteLLM's database, anything else
// as a TOML rate table.
[[nodiscard]] absl::StatusOr<RateTable> LoadRateFile(const std::string& path,
                                                     std::vector<std::string>* warnings = nullptr);

// The built-in table (data/builtin_rates.toml), parsed once on first use;
// thread-safe. Its failure to parse is a build defect caught by the tests.
const RateTable& BuiltinRates();

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_RATE_SOURCES_H_
