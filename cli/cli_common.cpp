#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tokenbook/entry.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/summary.h"

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

void AddGlobalOptions(CLI::App& app, GlobalOptions& global) {
  app.add_option("--rates", global.rates_files,
                 "Rate table layered over the built-in one (TOML, or LiteLLM's .json); repeatable")
      ->check(CLI::ExistingFile);
  app.add_option("--ledger", global.ledger,
                 "Ledger directory, or a database URL such as sqlite:///path/ledger.db (default: "
                 "$TOKENBOOK_DIR, the nearest .tokenbook/ upward, else ~/.local/share/tokenbook)");
  app.add_option("--config", global.config, "Config file to use instead of <ledger>/config.toml");
  app.add_option("--tz", global.tz, "IANA time zone for periods and buckets (default: config.toml's, else UTC)");
}

absl::StatusOr<std::string> LedgerDir(const GlobalOptions& global) {
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  return FindLedgerDir(global.ledger, ec ? std::string(".") : cwd.string());
}

bool LedgerExists(const std::string& dir_or_url) {
  std::error_code ec;
  if (!IsLedgerUrl(dir_or_url)) return std::filesystem::exists(dir_or_url, ec);
  absl::StatusOr<std::string> path = SqlitePathOfUrl(dir_or_url);
  // An unusable URL "exists": opening it reports what is wrong with it.
  return !path.ok() || std::filesystem::exists(*path, ec);
}

absl::StatusOr<std::unique_ptr<Book>> OpenBook(const GlobalOptions& global, bool create) {
  absl::StatusOr<std::string> dir = LedgerDir(global);
  if (!dir.ok()) return dir.status();
  if (!create) {
    if (!LedgerExists(*dir)) {
      return absl::NotFoundError(
          absl::StrCat("no ledger at ", *dir, " (create one with `tokenbook init`, or name it with --ledger)"));
    }
  }
  BookOptions options;
  options.create = create;
  options.extra_rate_files = global.rates_files;
  options.config_file = global.config;
  return Book::Open(*dir, options);
}

absl::StatusOr<absl::Time> Now() {
  const char* fixed = std::getenv("TOKENBOOK_NOW");
  if (fixed == nullptr || fixed[0] == '\0') return absl::Now();
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, fixed, &t, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("TOKENBOOK_NOW: \"", fixed, "\" is not RFC 3339: ", err));
  }
  return t;
}

absl::StatusOr<absl::Time> ParseInstant(absl::string_view flag, const std::string& text, absl::TimeZone tz) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  if (absl::ParseTime("%Y-%m-%d", text, tz, &t, &err)) return t;
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": \"", text, "\" is neither RFC 3339 (2025-09-30T12:00:00Z) nor a date (2025-09-30)"));
}

absl::StatusOr<std::vector<std::string>> FilterFlags::Specs() const {
  std::vector<std::string> out;
  for (const auto& [dim, list] : values) {
    if (!list.empty()) out.push_back(absl::StrCat(dim, "=", absl::StrJoin(list, ",")));
  }
  for (const std::string& tag : tags) {
    const size_t eq = tag.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--tag: \"", tag, "\" is not KEY=VALUE"));
    }
    out.push_back(absl::StrCat("tag:", tag));
  }
  return out;
}

void AddFilterOptions(CLI::App* sub, FilterFlags& flags) {
  flags.values.clear();
  flags.values.reserve(kDimensionNames.size());
  for (const auto& [dim, name] : kDimensionNames) flags.values.emplace_back(std::string(name), std::vector<std::string>{});
  for (auto& [name, list] : flags.values) {
    std::string flag = "--" + name;
    for (char& c : flag) {
      if (c == '_') c = '-';
    }
    sub->add_option(flag, list, absl::StrCat("Only entries whose ", name, " is this (repeatable)"))
        ->group("Filters");
  }
  sub->add_option("--tag", flags.tags, "Only entries with tag KEY=VALUE (repeatable)")->group("Filters");
}

const char* LevelColor(BudgetLevel level, bool color) {
  if (!color) return "";
  switch (level) {
    case BudgetLevel::kOk: return "\033[32m";
    case BudgetLevel::kWarning: return "\033[33m";
    case BudgetLevel::kCritical: return "\033[31m";
    case BudgetLevel::kExceeded: return "\033[1;31m";
  }
  return "";
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

int WriteOutput(const std::string& path, absl::string_view text, absl::string_view what) {
  if (path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
      return Fail(kExitCantCreate, absl::StrCat("cannot write the ", what, " to standard output"));
    }
    return kExitOk;
  }
  absl::Status written = WriteFileAtomically(path, text);
  if (!written.ok()) return Fail(kExitCantCreate, written.message());
  std::printf("Wrote %s\n", path.c_str());
  return kExitOk;
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
