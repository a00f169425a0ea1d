// tokenbook suggest: advice that saves money, each with its saving over the
// period, computed by re-pricing the ledger's entries.
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

struct SuggestFlags {
  std::string period = "last-30d";
  std::string min_saving = "0.10";
  bool json = false;
};

int RunSuggest(const GlobalOptions& global, const SuggestFlags& flags) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  AdviceOptions options;
  {
    absl::StatusOr<Decimal> d = ParseDecimal(flags.min_saving);
    absl::StatusOr<Rounded> m = d.ok() ? ScaleHalfEven(*d, 6) : absl::StatusOr<Rounded>(d.status());
    if (!d.ok() || d->negative || !m.ok() || m->inexact) {
      return Fail(kExitUsage, absl::StrCat("--min-saving: \"", flags.min_saving,
                                           "\" is not an amount in USD with at most 6 decimals (0.10)"));
    }
    options.min_saving = Micros(m->value);
  }
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  for (const std::string& w : (*book)->rate_warnings()) std::fprintf(stderr, "tokenbook: warning: %s\n", w.c_str());
  const Config& config = (*book)->config();
  absl::TimeZone tz = config.time_zone;
  if (!global.tz.empty() && !absl::LoadTimeZone(global.tz, &tz)) {
    return Fail(kExitUsage, absl::StrCat("--tz: unknown time zone \"", global.tz, "\""));
  }
  absl::StatusOr<TimeRange> range = ResolvePeriod(flags.period, *now, tz, config.week_start);
  if (!range.ok()) return Fail(kExitUsage, absl::StrCat("--period: ", range.status().message()));

  Adviser adviser((*book)->rates(), config, *range, *now, options);
  std::vector<LedgerIssue> issues;
  absl::Status scanned = (*book)->ledger().Scan([&](const Entry& e) { adviser.Add(e); }, &issues);
  if (!scanned.ok()) return Fail(scanned);
  absl::StatusOr<Advice> advice = adviser.Finish();
  if (!advice.ok()) return Fail(advice.status());

  if (flags.json) {
    std::printf("%s\n", AdviceJson(*advice, options).c_str());
  } else {
    const bool color = UseColor(stdout);
    const char* bold = color ? "\033[1m" : "";
    const char* reset = ColorReset(color);
    std::printf("%sAdvice over %s: %zu %s, saving %s of %s spent%s\n", bold, advice->range.label.c_str(),
                advice->suggestions.size(), advice->suggestions.size() == 1 ? "suggestion" : "suggestions",
                FormatMoney(advice->total_saving).c_str(), FormatMoney(advice->total.cost).c_str(), reset);
    if (advice->suggestions.empty()) {
      std::printf("Nothing to suggest: no saving of %s or more found.\n", FormatMoney(options.min_saving).c_str());
    }
    for (size_t i = 0; i < advice->suggestions.size(); ++i) {
      const Suggestion& s = advice->suggestions[i];
      std::printf("%zu. [%s] save %s: %s\n", i + 1, std::string(SuggestionKindName(s.kind)).c_str(),
                  FormatMoney(s.saving).c_str(), s.title.c_str());
    }
  }
  if (advice->reprice_failures > 0) {
    std::fprintf(stderr, "tokenbook: warning: %lld %s could not be re-priced and %s left out of the savings\n",
                 static_cast<long long>(advice->reprice_failures), advice->reprice_failures == 1 ? "entry" : "entries",
                 advice->reprice_failures == 1 ? "is" : "are");
  }
  if (advice->total.unpriced_entries > 0) {
    std::fprintf(stderr, "tokenbook: warning: %lld unpriced %s (models not in the rate table) cannot be advised on\n",
                 static_cast<long long>(advice->total.unpriced_entries),
                 advice->total.unpriced_entries == 1 ? "entry" : "entries");
  }
  if (!issues.empty()) {
    std::fprintf(stderr, "tokenbook: warning: %zu ledger %s skipped (first: %s:%lld: %s)\n", issues.size(),
                 issues.size() == 1 ? "line" : "lines", issues[0].file.c_str(), static_cast<long long>(issues[0].line),
                 issues[0].message.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterSuggestCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<SuggestFlags>();
  CLI::App* sub = root.add_subcommand(
      "suggest", "Advice that saves money, each with its saving over the period, from re-pricing the ledger");
  sub->add_option("--period", flags->period,
                  "Period advised on (default last-30d): week, month, last-7d, YYYY-MM, all, ...");
  sub->add_option("--min-saving", flags->min_saving,
                  "List only suggestions saving at least this many USD (default 0.10)");
  sub->add_flag("--json", flags->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, flags] { return RunSuggest(global, *flags); }});
}

}  // namespace tokenbook::cli
