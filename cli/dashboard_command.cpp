// tokenbook dashboard: writes the HTML dashboard (dashboard.html in the
// ledger directory, or --output): one self-contained page with SVG charts.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/dashboard.h"
#include "tokenbook/period.h"
#include "tokenbook/summary.h"

namespace tokenbook::cli {
namespace {

struct DashboardFlags {
  std::string output;  // empty: <ledger>/dashboard.html; "-": stdout
  std::string period = "month";
  int top = 8;
};

int RunDashboard(const GlobalOptions& global, const DashboardFlags& flags) {
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
  DashboardOptions options;
  options.time_zone = global.tz;
  options.period = flags.period;
  options.top = static_cast<size_t>(flags.top);
  absl::StatusOr<Dashboard> dashboard = ComputeDashboard(**book, *now, options);
  if (!dashboard.ok()) return Fail(dashboard.status());

  const std::string html = DashboardHtml(*dashboard);
  std::string path = flags.output;
  if (path.empty()) path = absl::StrCat((*book)->ledger().dir(), "/", kDashboardFileName);
  if (const int code = WriteOutput(path, html, "dashboard"); code != kExitOk) return code;

  const Summary& summary = dashboard->summary;
  const int64_t unpriced = summary.unpriced.total.entries;
  if (unpriced > 0) {
    std::fprintf(stderr, "tokenbook: warning: %lld unpriced %s counted as $0.00 (models not in the rate table)\n",
                 static_cast<long long>(unpriced), unpriced == 1 ? "entry is" : "entries are");
  }
  if (!summary.issues.empty()) {
    std::fprintf(stderr, "tokenbook: warning: %zu ledger %s skipped; the dashboard lists %s\n",
                 summary.issues.size(), summary.issues.size() == 1 ? "line" : "lines",
                 summary.issues.size() == 1 ? "it" : "them");
  }
  return kExitOk;
}

}  // namespace

void RegisterDashboardCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<DashboardFlags>();
  CLI::App* sub = root.add_subcommand(
      "dashboard",
      "Write the HTML dashboard (dashboard.html in the ledger directory): one self-contained page with SVG charts");
  sub->add_option("--output,-o", flags->output, "Write here instead of <ledger>/dashboard.html; - for standard output");
  sub->add_option("--period", flags->period,
                  "Period of the daily charts and breakdowns (default month): today, week, month, YYYY-MM, all, ...");
  sub->add_option("--top", flags->top,
                  "Groups kept per chart before the rest fold into \"others\" (default 8; 0: all)")
      ->check(CLI::Range(0, 1'000'000));
  out.push_back(Command{sub, [&global, flags] { return RunDashboard(global, *flags); }});
}

}  // namespace tokenbook::cli
