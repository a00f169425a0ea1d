// tokenbook summary: regenerates the Markdown dashboard beside the ledger
// (summary.md), or prints it, or its figures as JSON.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/period.h"
#include "tokenbook/summary.h"

namespace tokenbook::cli {
namespace {

struct SummaryFlags {
  std::string output;  // empty: <ledger>/summary.md (Markdown) or stdout (JSON); "-": stdout
  std::string period = "month";
  int top = 5;
  bool json = false;
};

int RunSummary(const GlobalOptions& global, const SummaryFlags& flags) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  if (!global.tz.empty()) {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(global.tz, &tz)) {
      return Fail(kExitUsage, absl::StrCat("--tz: unknown time zone \"", global.tz, "\""));
    }
  }
  // Checked before the ledger is read, so a typo is a usage error.
  absl::StatusOr<TimeRange> period = ResolvePeriod(flags.period, *now, absl::UTCTimeZone());
  if (!period.ok()) return Fail(kExitUsage, absl::StrCat("--period: ", period.status().message()));

  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  SummaryOptions options;
  options.time_zone = global.tz;
  options.period = flags.period;
  options.top = static_cast<size_t>(flags.top);
  options.top_sessions = static_cast<size_t>(flags.top);
  absl::StatusOr<Summary> summary = ComputeSummary(**book, *now, options);
  if (!summary.ok()) return Fail(summary.status());

  const std::string text = flags.json ? SummaryJson(*summary) + "\n" : SummaryMarkdown(*summary);
  std::string path = flags.output;
  if (path.empty() && !flags.json) path = absl::StrCat((*book)->ledger().dir(), "/", kSummaryFileName);
  if (path.empty()) path = "-";
  if (const int code = WriteOutput(path, text, "summary"); code != kExitOk) return code;

  const int64_t unpriced = summary->unpriced.total.entries;
  if (unpriced > 0) {
    std::fprintf(stderr, "tokenbook: warning: %lld unpriced %s counted as $0.00 (models not in the rate table)\n",
                 static_cast<long long>(unpriced), unpriced == 1 ? "entry is" : "entries are");
  }
  if (!summary->issues.empty()) {
    std::fprintf(stderr, "tokenbook: warning: %zu ledger %s skipped; the summary lists %s\n", summary->issues.size(),
                 summary->issues.size() == 1 ? "line" : "lines", summary->issues.size() == 1 ? "it" : "them");
  }
  return kExitOk;
}

}  // namespace

void RegisterSummaryCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<SummaryFlags>();
  CLI::App* sub = root.add_subcommand(
      "summary", "Regenerate the Markdown dashboard (summary.md in the ledger directory): spend, budgets, breakdowns");
  sub->add_option("--output,-o", flags->output,
                  "Write here instead of <ledger>/summary.md; - for standard output (with --json: default stdout)");
  sub->add_option("--period", flags->period,
                  "Period of the breakdowns and top sessions (default month): today, week, month, YYYY-MM, all, ...");
  sub->add_option("--top", flags->top,
                  "Groups kept per breakdown before the rest fold into \"others\" (default 5; 0: all)")
      ->check(CLI::Range(0, 1'000'000));
  sub->add_flag("--json", flags->json, "Print the same figures as JSON instead of Markdown");
  out.push_back(Command{sub, [&global, flags] { return RunSummary(global, *flags); }});
}

}  // namespace tokenbook::cli
