// Shared pieces of the tokenbook command: global options, exit codes, rate
// loading, colour and number formatting, JSON output.
#ifndef TOKENBOOK_CLI_CLI_COMMON_H_
#define TOKENBOOK_CLI_CLI_COMMON_H_

#include <cstdio>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "CLI/CLI.hpp"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tokenbook/book.h"
#include "tokenbook/budget.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook::cli {

// Exit codes scripts can test (docs/cli.md). Budget commands add their own
// 1 (warning) and 2 (critical or exceeded).
enum ExitCode : int {
  kExitOk = 0,
  kExitUnknownModel = 3,
  kExitUsage = 64,     // EX_USAGE: bad flags or values
  kExitDataError = 65, // EX_DATAERR: a file that cannot be parsed
  kExitNoInput = 66,   // EX_NOINPUT: a file that cannot be read
  kExitSoftware = 70,  // EX_SOFTWARE: an internal error
  kExitCantCreate = 73,  // EX_CANTCREAT: an output file that cannot be written
};

struct GlobalOptions {
  std::vector<std::string> rates_files;  // --rates: layered over the built-in table, in order
  std::string ledger;                    // --ledger DIR (else TOKENBOOK_DIR, .tokenbook/ upward, XDG)
  std::string config;                    // --config FILE (else <ledger>/config.toml)
  std::string tz;                        // --tz ZONE for reports (else config.toml's)
};

// Adds --ledger, --config, --tz and --rates to `app` (the root).
void AddGlobalOptions(CLI::App& app, GlobalOptions& global);

// True when the ledger directory, or the database file a URL names, exists.
bool LedgerExists(const std::string& dir_or_url);

// The ledger directory the options name (see FindLedgerDir).
absl::StatusOr<std::string> LedgerDir(const GlobalOptions& global);

// Opens the book. With `create` false a missing ledger directory is a
// NotFound error that says how to create one.
absl::StatusOr<std::unique_ptr<Book>> OpenBook(const GlobalOptions& global, bool create);

// The current time, or $TOKENBOOK_NOW (RFC 3339) when set, so that scripts
// and tests can pin "today".
absl::StatusOr<absl::Time> Now();

// RFC 3339 ("2025-09-30T12:00:00Z", offsets allowed) or a date
// ("2025-09-30", midnight in `tz`). `flag` names the option in messages.
absl::StatusOr<absl::Time> ParseInstant(absl::string_view flag, const std::string& text,
                                        absl::TimeZone tz = absl::UTCTimeZone());

// The dimension filters every reading command takes: --model M, --agent A
// ... each repeatable (values OR-ed), and --tag KEY=VALUE.
struct FilterFlags {
  std::vector<std::pair<std::string, std::vector<std::string>>> values;  // dimension -> values
  std::vector<std::string> tags;

  // "agent=a,b" specs for ReportSpec::filters.
  absl::StatusOr<std::vector<std::string>> Specs() const;
};
void AddFilterOptions(CLI::App* sub, FilterFlags& flags);

// "\033[33m" for a level when `color`, else "".
const char* LevelColor(BudgetLevel level, bool color);
inline const char* ColorReset(bool color) { return color ? "\033[0m" : ""; }

// The built-in table with every --rates file layered over it. Warnings
// (rounded prices, skipped LiteLLM entries) go to `warnings`.
absl::StatusOr<RateTable> LoadRates(const GlobalOptions& options, std::vector<std::string>* warnings);

// The exit code for a failed status (NotFound -> 66, InvalidArgument -> 65 ...).
int ExitCodeFor(const absl::Status& status);

// Prints "tokenbook: <message>" to stderr and returns the exit code.
int Fail(const absl::Status& status);
int Fail(int code, absl::string_view message);

// Writes a generated document: to standard output when `path` is "-",
// else atomically to `path` (WriteFileAtomically) and says "Wrote PATH".
// Returns kExitOk, or kExitCantCreate after the error naming `what`.
int WriteOutput(const std::string& path, absl::string_view text, absl::string_view what);

// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
bool UseColor(FILE* stream);

// 12345678 -> "12,345,678".
std::string GroupThousands(int64_t n);

// "3.75" for $3.75/MTok.
inline std::string RateText(MicrosPerMTok rate) { return FormatRate(rate); }

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes "<prefix>_micros": n and "<prefix>_usd": "d.dddddd".
void WriteMoney(JsonWriter& w, absl::string_view prefix, Micros amount);
void WriteKey(JsonWriter& w, absl::string_view key);
void WriteString(JsonWriter& w, absl::string_view value);

// Prints the buffer and a newline to stdout.
void PrintJson(const rapidjson::StringBuffer& buffer);

}  // namespace tokenbook::cli

#endif  // TOKENBOOK_CLI_CLI_COMMON_H_
