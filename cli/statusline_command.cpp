// tokenbook statusline: the one line Claude Code shows under its prompt.
//
// Claude Code runs the command configured as `statusLine` in settings.json
// with its status JSON on stdin, as often as every 300 ms, and shows the
// first line printed. So the command reads the ledger once (no rate table,
// no budget cache), never waits on a terminal, and prints a line even when
// the input is not what it expected.
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_json.h"

namespace tokenbook::cli {
namespace {

// Claude Code's input is a few hundred bytes; anything past this is not it.
constexpr size_t kMaxInputBytes = size_t{1} << 20;

struct StatusLineFlags {
  bool json = false;
};

// All of stdin (nothing when it is a terminal: nobody is typing JSON);
// `*too_large` when it exceeds kMaxInputBytes.
std::string ReadInput(bool* too_large) {
  *too_large = false;
  std::string text;
  if (isatty(STDIN_FILENO)) return text;
  char buffer[1 << 14];
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, buffer, sizeof buffer)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (text.size() + static_cast<size_t>(n) > kMaxInputBytes) {
      *too_large = true;
      return std::string();
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

int RunStatusLine(const GlobalOptions& global, const StatusLineFlags& flags) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  bool too_large = false;
  const std::string text = ReadInput(&too_large);
  StatusLineInput input;
  if (too_large) {
    std::fprintf(stderr, "tokenbook: warning: status-line input is over %zu bytes; ignored\n", kMaxInputBytes);
  } else if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
    absl::StatusOr<StatusLineInput> parsed = ParseStatusLineInput(text);
    if (parsed.ok()) {
      input = *std::move(parsed);
    } else {
      std::fprintf(stderr, "tokenbook: warning: %s; showing the ledger's figures only\n",
                   std::string(parsed.status().message()).c_str());
    }
  }

  // The ledger and its config, without the rate table or budget cache that
  // Book::Open would load: the line only sums stored costs.
  absl::StatusOr<std::string> dir = LedgerDir(global);
  if (!dir.ok()) return Fail(dir.status());
  absl::StatusOr<LedgerLocation> where = ResolveLedgerLocation(*dir);
  if (!where.ok()) return Fail(where.status());
  absl::StatusOr<Config> config = global.config.empty() ? LoadConfig(where->dir) : LoadConfigFile(global.config);
  if (!config.ok()) return Fail(config.status());
  if (!global.tz.empty()) {
    if (!absl::LoadTimeZone(global.tz, &config->time_zone)) {
      return Fail(kExitUsage, absl::StrCat("--tz: unknown time zone \"", global.tz, "\""));
    }
    config->time_zone_name = global.tz;
  }
  LedgerOptions options;
  options.create = false;
  options.backend = where->backend.empty() ? config->backend : where->backend;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(where->dir, options);
  if (!ledger.ok() && !absl::IsNotFound(ledger.status())) return Fail(ledger.status());
  absl::StatusOr<StatusLine> line = ComputeStatusLine(ledger.ok() ? ledger->get() : nullptr, *config, input, *now);
  if (!line.ok()) return Fail(line.status());
  if (flags.json) {
    std::printf("%s\n", StatusLineJson(*line).c_str());
  } else {
    std::printf("%s\n", FormatStatusLine(*line).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterStatusLineCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<StatusLineFlags>();
  CLI::App* sub = root.add_subcommand(
      "statusline",
      "One status line for Claude Code (reads its status JSON on stdin): model, session, today, block, burn, budget");
  sub->add_flag("--json", flags->json, "Print the figures as a JSON object");
  out.push_back(Command{sub, [&global, flags] { return RunStatusLine(global, *flags); }});
}

}  // namespace tokenbook::cli
