// tokenbook anomalies: hours and sessions whose spend is far above the usual
// level (median and MAD), recorded once each in anomalies.jsonl.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_json.h"
#include "tokenbook/period.h"

namespace tokenbook::cli {
namespace {

struct AnomaliesFlags {
  std::string period = "last-30d";
  bool json = false;
  bool no_record = false;
  FilterFlags filters;
};

// 67234 -> "67.2" (rounded down to a tenth, as the score is compared).
std::string ScoreText(const std::optional<int64_t>& milli) {
  if (!milli.has_value()) return "-";
  const int64_t tenths = *milli >= 0 ? *milli / 100 : -((-*milli + 99) / 100);
  return absl::StrCat(tenths / 10, ".", (tenths < 0 ? -tenths : tenths) % 10);
}

void PrintText(const AnomalyReport& report, const std::string& tz_name) {
  const bool color = UseColor(stdout);
  const char* bold = color ? "\033[1m" : "";
  const char* reset = ColorReset(color);
  std::printf("%sSpend anomalies over %s (%s)%s\n", bold, report.range.label.c_str(), tz_name.c_str(), reset);
  std::printf("Usual level: %zu %s with spend, median %s, MAD %s; %zu %s, median %s, MAD %s\n", report.hours.points,
              report.hours.points == 1 ? "hour" : "hours", FormatMoney(report.hours.median()).c_str(),
              FormatMoney(report.hours.mad()).c_str(), report.sessions.points,
              report.sessions.points == 1 ? "session" : "sessions", FormatMoney(report.sessions.median()).c_str(),
              FormatMoney(report.sessions.mad()).c_str());
  if (report.anomalies.empty()) {
    std::printf("No anomalies.\n");
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"kind", "key", "spent", "median", "score", "entries", ""});
  for (const Anomaly& a : report.anomalies) {
    rows.push_back({std::string(AnomalyKindName(a.kind)), a.key, FormatMoney(a.totals.cost), FormatMoney(a.median),
                    ScoreText(a.score_milli), GroupThousands(a.totals.entries), a.recorded ? "new" : ""});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  const std::vector<bool> right = {false, false, true, true, true, true, false};
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      if (i > 0) line += "  ";
      const size_t pad = width[i] - rows[r][i].size();
      if (right[i]) line.append(pad, ' ');
      line += rows[r][i];
      if (!right[i] && i + 1 < rows[r].size()) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s%s%s\n", r == 0 ? bold : "", line.c_str(), r == 0 ? reset : "");
  }
}

int RunAnomalies(const GlobalOptions& global, const AnomaliesFlags& flags) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  absl::StatusOr<std::vector<std::string>> specs = flags.filters.Specs();
  if (!specs.ok()) return Fail(kExitUsage, specs.status().message());
  std::vector<Filter> filters;
  for (const std::string& spec : *specs) {
    absl::StatusOr<Filter> f = ParseFilter(spec);
    if (!f.ok()) return Fail(kExitUsage, f.status().message());
    filters.push_back(*std::move(f));
  }
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  const Config& config = (*book)->config();
  absl::TimeZone tz = config.time_zone;
  std::string tz_name = config.time_zone_name;
  if (!global.tz.empty()) {
    if (!absl::LoadTimeZone(global.tz, &tz)) {
      return Fail(kExitUsage, absl::StrCat("--tz: unknown time zone \"", global.tz, "\""));
    }
    tz_name = global.tz;
  }
  absl::StatusOr<TimeRange> range = ResolvePeriod(flags.period, *now, tz, config.week_start);
  if (!range.ok()) return Fail(kExitUsage, absl::StrCat("--period: ", range.status().message()));

  const AnomalyOptions options;
  absl::StatusOr<AnomalyDetector> detector = AnomalyDetector::Create(*range, tz, options);
  if (!detector.ok()) return Fail(detector.status());
  std::vector<LedgerIssue> issues;
  absl::Status scanned = (*book)->ledger().Scan(
      [&](const Entry& e) {
        for (const Filter& f : filters) {
          if (!f.Matches(e)) return;
        }
        detector->Add(e);
      },
      &issues);
  if (!scanned.ok()) return Fail(scanned);
  absl::StatusOr<AnomalyReport> report = detector->Finish();
  if (!report.ok()) return Fail(report.status());
  size_t recorded = 0;
  if (!flags.no_record) {
    absl::StatusOr<size_t> n = RecordAnomalies((*book)->ledger().dir(), &report->anomalies, *now);
    if (!n.ok()) return Fail(n.status());
    recorded = *n;
  }
  if (flags.json) {
    std::printf("%s\n", AnomaliesJson(*report, options, recorded).c_str());
  } else {
    PrintText(*report, tz_name);
  }
  if (!issues.empty()) {
    std::fprintf(stderr, "tokenbook: warning: %zu ledger %s skipped (first: %s:%lld: %s)\n", issues.size(),
                 issues.size() == 1 ? "line" : "lines", issues[0].file.c_str(), static_cast<long long>(issues[0].line),
                 issues[0].message.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterAnomaliesCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<AnomaliesFlags>();
  CLI::App* sub = root.add_subcommand(
      "anomalies", "Hours and sessions whose spend is far above the usual level (median and MAD); recorded once each");
  sub->add_option("--period", flags->period,
                  "Period judged (default last-30d): today, week, month, last-7d, YYYY-MM, all, ...");
  sub->add_flag("--no-record", flags->no_record, "Do not append new anomalies to anomalies.jsonl");
  AddFilterOptions(sub, flags->filters);
  sub->add_flag("--json", flags->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, flags] { return RunAnomalies(global, *flags); }});
}

}  // namespace tokenbook::cli
