#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "tokenbook/rate_sources.h"

namespace tokenbook::cli {

absl::StatusOr<RateTable> LoadRates(const GlobalOptions& options, std::vector<std::string>* warnings) {
  RateTable table;
  table.MergeFrom(BuiltinRates());
  for (const std::string& path : options.rates_files) {
    absl::StatusOr<RateTable> layer = LoadRateFile(path, warnings);
    if (!layer.ok()) return layer.status();
    table.MergeFrom(*layer);
  }
  return table;
}

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return kExitOk;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied: return kExitNoInput;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kDataLoss: return kExitDataError;
    default: return kExitSoftware;
  }
}

int Fail(const absl::Status& status) { return Fail(ExitCodeFor(status), status.message()); }

int Fail(int code, absl::string_view message) {
  std::fprintf(stderr, "tokenbook: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

bool UseColor(FILE* stream) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return isatty(fileno(stream)) != 0;
}

std::string GroupThousands(int64_t n) {
  std::string digits = absl::StrCat(n);
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.erase(0, 1);
  std::string out;
  const size_t len = digits.size();
  for (size_t i = 0; i < len; ++i) {
    if (i > 0 && (len - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return negative ? "-" + out : out;
}

void WriteKey(JsonWriter& w, absl::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void WriteString(JsonWriter& w, absl::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void WriteMoney(JsonWriter& w, absl::string_view prefix, Micros amount) {
  WriteKey(w, absl::StrCat(prefix, "_micros"));
  w.Int64(amount.value());
  WriteKey(w, absl::StrCat(prefix, "_usd"));
  WriteString(w, FormatUsd(amount, 6));
}

void PrintJson(const rapidjson::StringBuffer& buffer) {
  std::fwrite(buffer.GetString(), 1, buffer.GetSize(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace tokenbook::cli
