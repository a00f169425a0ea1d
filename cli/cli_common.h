// Shared pieces of the tokenbook command: global options, exit codes, rate
// loading, colour and number formatting, JSON output.
#ifndef TOKENBOOK_CLI_CLI_COMMON_H_
#define TOKENBOOK_CLI_CLI_COMMON_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
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
};

struct GlobalOptions {
  std::vector<std::string> rates_files;  // layered over the built-in table, in order
  bool json = false;
};

// The built-in table with every --rates file layered over it. Warnings
// (rounded prices, skipped LiteLLM entries) go to `warnings`.
absl::StatusOr<RateTable> LoadRates(const GlobalOptions& options, std::vector<std::string>* warnings);

// The exit code for a failed status (NotFound -> 66, InvalidArgument -> 65 ...).
int ExitCodeFor(const absl::Status& status);

// Prints "tokenbook: <message>" to stderr and returns the exit code.
int Fail(const absl::Status& status);
int Fail(int code, absl::string_view message);

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
