// tokenbook init: create a ledger directory with its config.toml.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "tokenbook/config.h"
#include "tokenbook/ledger.h"

namespace tokenbook::cli {
namespace {

struct InitOptions {
  std::string budget_monthly;
  std::string stage;
  bool json = false;
};

// What git should not track: state any process rebuilds or holds briefly.
constexpr absl::string_view kGitignore =
    "# Derived state, rebuilt from ledger.jsonl when missing; not worth tracking.\n"
    "cache/\n"
    "budget.lock\n"
    "reservations.jsonl\n";

// Writes `content` to `path` only when it does not exist yet (O_EXCL), mode 0600.
absl::Status WriteNewFile(const std::string& path, absl::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", path));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return absl::ErrnoToStatus(err, absl::StrCat("cannot write ", path));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string ConfigText(const InitOptions& o, absl::string_view limit_text) {
  std::string out =
      "# tokenbook configuration: every key is described in docs/config.md.\n"
      "time_zone = \"UTC\"\n";
  if (!o.stage.empty()) absl::StrAppend(&out, "stage = \"", o.stage, "\"\n");
  if (!limit_text.empty()) {
    absl::StrAppend(&out, "\n[budgets]\nwarning_percent = 80\ncritical_percent = 95\nmonthly = \"", limit_text,
                    "\"\n");
  }
  return out;
}

int RunInit(const GlobalOptions& global, const InitOptions& o) {
  // Validate everything before touching the disk.
  std::string limit_text;
  Micros limit_micros;
  if (!o.budget_monthly.empty()) {
    absl::StatusOr<Rounded> limit = ParsePrice(o.budget_monthly, PriceUnit::kUsd);
    if (!limit.ok() || limit->value <= 0) {
      return Fail(kExitUsage, absl::StrCat("--budget-monthly: \"", o.budget_monthly,
                                           "\" is not a positive amount of dollars (e.g. 100 or 49.50)"));
    }
    limit_micros = Micros(limit->value);
    limit_text = FormatUsd(limit_micros, 6);
    while (limit_text.back() == '0') limit_text.pop_back();
    if (limit_text.back() == '.') limit_text += "00";
  }
  if (!o.stage.empty() && !ParseStage(o.stage).has_value()) {
    return Fail(kExitUsage, absl::StrCat("--stage: \"", o.stage, "\" is not one of idea, mvp, growth, scale"));
  }

  // Like `git init`: here, unless --ledger or TOKENBOOK_DIR names the place.
  std::string dir = global.ledger;
  if (dir.empty()) {
    const char* env = std::getenv("TOKENBOOK_DIR");
    dir = env != nullptr && env[0] != '\0' ? std::string(env) : std::string(".tokenbook");
  }
  std::error_code ec;
  // A database URL: the database, with config.toml in its directory.
  const std::string given = dir;
  {
    const std::filesystem::path cwd = std::filesystem::current_path(ec);
    absl::StatusOr<LedgerLocation> where = ResolveLedgerLocation(given, ec ? "" : cwd.string());
    if (!where.ok()) return Fail(kExitUsage, where.status().message());
    dir = where->dir;
  }
  const std::string config_path = absl::StrCat(dir, "/", kConfigFileName);
  const bool had_config = std::filesystem::exists(config_path, ec);
  const bool wants_config = !limit_text.empty() || !o.stage.empty();
  if (had_config && wants_config) {
    return Fail(kExitDataError, absl::StrCat(config_path, " already exists; edit it to change budgets or stage"));
  }
  LedgerOptions ledger_options;
  if (had_config && !IsLedgerUrl(given)) {
    // An existing config.toml may name the database.
    absl::StatusOr<Config> existing = LoadConfig(dir);
    if (!existing.ok()) return Fail(existing.status());
    ledger_options.backend = existing->backend;
  }
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(IsLedgerUrl(given) ? given : dir, ledger_options);
  if (!ledger.ok()) return Fail(ledger.status());
  if (!had_config) {
    if (absl::Status s = WriteNewFile(config_path, ConfigText(o, limit_text)); !s.ok()) return Fail(s);
  }
  const std::string gitignore = absl::StrCat(dir, "/.gitignore");
  if (!std::filesystem::exists(gitignore, ec)) {
    if (absl::Status s = WriteNewFile(gitignore, kGitignore); !s.ok()) return Fail(s);
  }
  // The configuration just written must load: a check, not a formality,
  // since the next command will read it.
  if (absl::StatusOr<Config> config = LoadConfig(dir); !config.ok()) return Fail(config.status());

  const std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
  const std::string shown = ec ? dir : absolute.lexically_normal().string();
  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "ledger_dir");
    WriteString(w, shown);
    WriteKey(w, "created");
    w.Bool(!had_config);
    WriteKey(w, "config");
    WriteString(w, config_path);
    w.EndObject();
    PrintJson(buffer);
    return kExitOk;
  }
  if (had_config) {
    std::printf("Ledger already initialised at %s\n", shown.c_str());
  } else {
    std::printf("Initialised an empty ledger at %s\n", shown.c_str());
    if (!limit_text.empty()) {
      std::printf("Monthly budget: %s (warning at 80%%, critical at 95%%)\n", FormatMoney(limit_micros).c_str());
    }
    if (!o.stage.empty()) std::printf("Stage: %s\n", o.stage.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterInitCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<InitOptions>();
  CLI::App* sub = root.add_subcommand(
      "init", "Create a ledger (.tokenbook/ here, or --ledger DIR) with its config.toml and .gitignore");
  sub->add_option("--budget-monthly", o->budget_monthly, "A monthly budget in USD (e.g. 100)");
  sub->add_option("--stage", o->stage, "Project stage for budget suggestions: idea, mvp, growth, scale");
  sub->add_flag("--json", o->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, o] { return RunInit(global, *o); }});
}

}  // namespace tokenbook::cli
