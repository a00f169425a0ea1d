// tokenbook blocks: 5-hour usage blocks as Claude subscriptions count them,
// with burn rate and the active block's projection.
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

struct BlocksFlags {
  bool active = false;
  bool json = false;
  bool all_providers = false;
  std::string period = "all";
  FilterFlags filters;
};

// "2026-04-10 09:00".
std::string Clock(absl::Time t, const absl::TimeZone& tz) { return absl::FormatTime("%Y-%m-%d %H:%M", t, tz); }

std::string Span(const UsageBlock& b, const absl::TimeZone& tz) {
  return absl::StrCat(Clock(b.start, tz), "-", absl::FormatTime("%H:%M", b.end, tz));
}

std::string BurnText(const UsageBlock& b) {
  if (!b.burn.has_value()) return "-";
  return absl::StrCat(FormatMoney(b.burn->cost_per_hour), "/h");
}

void PrintText(const std::vector<UsageBlock>& blocks, const BlocksFlags& flags, const absl::TimeZone& tz,
               const std::string& tz_name, absl::Time now) {
  const bool color = UseColor(stdout);
  const char* bold = color ? "\033[1m" : "";
  const char* reset = ColorReset(color);
  if (blocks.empty()) {
    std::printf("%s\n", flags.active ? "No active usage block." : "No usage blocks.");
    return;
  }
  std::printf("%sUsage blocks: 5-hour windows from the first entry's UTC hour (times in %s)%s\n", bold, tz_name.c_str(),
              reset);
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"block", "entries", "tokens", "cost", "burn", "note"});
  for (const UsageBlock& b : blocks) {
    std::string note;
    if (b.active) note = absl::StrCat("active, ", FormatHoursMinutes(b.end - now), " left");
    if (b.totals.unpriced_entries > 0) {
      absl::StrAppend(&note, note.empty() ? "" : "; ", b.totals.unpriced_entries, " unpriced");
    }
    rows.push_back({Span(b, tz), GroupThousands(b.totals.entries), GroupThousands(b.tokens), FormatMoney(b.totals.cost),
                    BurnText(b), note});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  const std::vector<bool> right = {false, true, true, true, true, false};
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
    const bool is_active = r > 0 && blocks[r - 1].active;
    std::printf("%s%s%s\n", r == 0 || is_active ? bold : "", line.c_str(), r == 0 || is_active ? reset : "");
  }
  for (const UsageBlock& b : blocks) {
    if (!b.active) continue;
    if (b.burn.has_value() && b.projection.has_value()) {
      std::printf("Active block: %s so far at %s (%s tokens/h); projected %s and %s tokens by %s.\n",
                  FormatMoney(b.totals.cost).c_str(), BurnText(b).c_str(),
                  GroupThousands(b.burn->tokens_per_hour).c_str(), FormatMoney(b.projection->cost).c_str(),
                  GroupThousands(b.projection->tokens).c_str(), absl::FormatTime("%H:%M", b.end, tz).c_str());
    } else {
      std::printf("Active block: %s so far; too early for a burn rate (under a minute since its first entry).\n",
                  FormatMoney(b.totals.cost).c_str());
    }
  }
}

int RunBlocks(const GlobalOptions& global, const BlocksFlags& flags) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  std::vector<Filter> filters;
  absl::StatusOr<std::vector<std::string>> specs = flags.filters.Specs();
  if (!specs.ok()) return Fail(kExitUsage, specs.status().message());
  for (const std::string& spec : *specs) {
    absl::StatusOr<Filter> f = ParseFilter(spec);
    if (!f.ok()) return Fail(kExitUsage, f.status().message());
    filters.push_back(*std::move(f));
  }
  // Without a filter, what a Claude subscription meters; a filter says
  // itself what to count.
  const bool claude_only = filters.empty() && !flags.all_providers;

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

  BlockBuilder builder(std::move(filters), claude_only);
  std::vector<LedgerIssue> issues;
  absl::Status scanned = (*book)->ledger().Scan([&](const Entry& e) { builder.Add(e); }, &issues);
  if (!scanned.ok()) return Fail(scanned);
  absl::StatusOr<std::vector<UsageBlock>> all = builder.Finish(*now);
  if (!all.ok()) return Fail(all.status());
  std::vector<UsageBlock> shown;
  for (UsageBlock& b : *all) {
    if (flags.active && !b.active) continue;
    if (b.end <= range->start || b.start >= range->end) continue;
    shown.push_back(std::move(b));
  }
  if (flags.json) {
    std::printf("%s\n", BlocksJson(shown, *now).c_str());
  } else {
    PrintText(shown, flags, tz, tz_name, *now);
  }
  if (!issues.empty()) {
    std::fprintf(stderr, "tokenbook: warning: %zu ledger %s skipped (first: %s:%lld: %s)\n", issues.size(),
                 issues.size() == 1 ? "line" : "lines", issues[0].file.c_str(), static_cast<long long>(issues[0].line),
                 issues[0].message.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterBlocksCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<BlocksFlags>();
  CLI::App* sub = root.add_subcommand(
      "blocks", "5-hour usage blocks as Claude subscriptions count them, with burn rate and projection");
  sub->add_flag("--active", flags->active, "Only the block running now");
  sub->add_option("--period", flags->period,
                  "Only blocks overlapping this period (default all): today, week, month, last-7d, YYYY-MM, ...");
  sub->add_flag("--all-providers", flags->all_providers,
                "Count every provider's entries (default: Claude usage only, unless a filter is given)");
  AddFilterOptions(sub, flags->filters);
  sub->add_flag("--json", flags->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, flags] { return RunBlocks(global, *flags); }});
}

}  // namespace tokenbook::cli
