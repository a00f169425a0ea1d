// tokenbook feature-cost FEATURE: what one feature cost, in total, by agent,
// by category and over time.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/summary.h"

namespace tokenbook::cli {
namespace {

// Skipped ledger lines named one by one on stderr; the rest are counted.
constexpr size_t kMaxIssueLines = 10;

struct FeatureCostFlags {
  std::string feature;
  std::string period = "all";
  std::string since;
  std::string until;
  std::string bucket = "day";
  bool json = false;
};

// A ledger value made safe for a terminal: control characters become '?'.
std::string Printable(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

size_t Width(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

// The rows of the text table: a section heading (no figures) or a line.
struct Row {
  std::string label;
  std::optional<Totals> totals;
};

std::string GroupText(const Group& g) {
  if (g.other) return absl::StrCat("(", g.folded, g.folded == 1 ? " other)" : " others)");
  if (g.values.empty() || g.values.back().empty()) return std::string(kNoneLabel);
  return Printable(g.values.back());
}

void PrintText(const FeatureCostResult& r) {
  const FeatureCost& c = r.cost;
  const bool color = UseColor(stdout);
  const char* bold = color ? "\033[1m" : "";
  const char* reset = ColorReset(color);
  std::printf("%sFeature \"%s\"%s, %s (%s)\n\n", bold, Printable(c.feature).c_str(), reset, c.range.label.c_str(),
              r.time_zone.c_str());

  std::vector<Row> rows;
  rows.push_back({"total", c.total});
  auto section = [&](const std::string& title, const std::vector<Group>& groups) {
    rows.push_back({"", std::nullopt});
    rows.push_back({title, std::nullopt});
    for (const Group& g : groups) rows.push_back({"  " + GroupText(g), g.totals});
  };
  section("by agent", c.by_agent);
  section("by category", c.by_category);
  section(absl::StrCat("by ", TimeBucketName(r.bucket)), c.timeline);

  struct Cells {
    std::string entries, tokens, cost, share;
  };
  auto cells = [&](const Totals& t) {
    return Cells{GroupDigits(t.entries), GroupDigits(TotalTokens(t.tokens)), FormatMoney(t.cost),
                 CostShare(t.cost, c.total.cost)};
  };
  size_t w_label = 0, w_entries = 7, w_tokens = 6, w_cost = 4, w_share = 5;
  for (const Row& row : rows) {
    w_label = std::max(w_label, Width(row.label));
    if (!row.totals.has_value()) continue;
    const Cells x = cells(*row.totals);
    w_entries = std::max(w_entries, x.entries.size());
    w_tokens = std::max(w_tokens, x.tokens.size());
    w_cost = std::max(w_cost, x.cost.size());
    w_share = std::max(w_share, x.share.size());
  }
  auto line = [&](const std::string& label, const Cells& x) {
    std::string out = label + std::string(w_label - Width(label), ' ');
    absl::StrAppend(&out, "  ", std::string(w_entries - x.entries.size(), ' '), x.entries);
    absl::StrAppend(&out, "  ", std::string(w_tokens - x.tokens.size(), ' '), x.tokens);
    absl::StrAppend(&out, "  ", std::string(w_cost - x.cost.size(), ' '), x.cost);
    absl::StrAppend(&out, "  ", std::string(w_share - x.share.size(), ' '), x.share);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::printf("%s\n", out.c_str());
  };
  line("", Cells{"entries", "tokens", "cost", "share"});
  for (const Row& row : rows) {
    if (row.totals.has_value()) {
      line(row.label, cells(*row.totals));
    } else {
      std::printf("%s\n", row.label.c_str());
    }
  }
  if (c.total.unpriced_entries > 0) {
    std::printf("\nwarning: %s unpriced %s (%s tokens) counted as $0.00: %s not in the rate table\n",
                GroupDigits(c.total.unpriced_entries).c_str(), c.total.unpriced_entries == 1 ? "entry" : "entries",
                GroupDigits(TotalTokens(c.total.unpriced_tokens)).c_str(),
                c.total.unpriced_entries == 1 ? "its model is" : "their models are");
  }
}

int RunFeatureCost(const GlobalOptions& global, const FeatureCostFlags& flags) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  const std::optional<TimeBucket> bucket = ParseTimeBucket(flags.bucket);
  if (!bucket.has_value()) {
    return Fail(kExitUsage, absl::StrCat("--bucket: \"", flags.bucket, "\" is not one of hour, day, week, month"));
  }
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  ReportSpec spec;
  spec.period = flags.period;
  spec.since = flags.since;
  spec.until = flags.until;
  spec.time_zone = global.tz;
  // The flags are checked before the ledger is read, so a typo is a usage error.
  if (absl::StatusOr<RollupQuery> q = (*book)->MakeQuery(spec, *now); !q.ok()) {
    return Fail(kExitUsage, q.status().message());
  }
  absl::StatusOr<FeatureCostResult> result = ComputeFeatureCost(**book, flags.feature, spec, *bucket, *now);
  if (!result.ok()) return Fail(result.status());

  for (size_t i = 0; i < result->issues.size() && i < kMaxIssueLines; ++i) {
    const LedgerIssue& issue = result->issues[i];
    std::fprintf(stderr, "tokenbook: warning: %s:%lld: %s (line skipped)\n", issue.file.c_str(),
                 static_cast<long long>(issue.line), issue.message.c_str());
  }
  if (result->issues.size() > kMaxIssueLines) {
    std::fprintf(stderr, "tokenbook: warning: and %zu more ledger lines skipped\n",
                 result->issues.size() - kMaxIssueLines);
  }

  if (flags.json) {
    std::printf("%s\n", FeatureCostJson(*result).c_str());
    return kExitOk;
  }
  if (result->cost.total.entries == 0) {
    std::string message = absl::StrCat("no entries for feature \"", Printable(flags.feature), "\"");
    if (!result->cost.range.all()) absl::StrAppend(&message, " in ", result->cost.range.label);
    std::printf("%s\n", message.c_str());
    if (!result->features.empty()) {
      std::vector<std::string> names;
      for (const std::string& f : result->features) names.push_back(Printable(f));
      std::printf("features with entries%s: %s\n",
                  result->cost.range.all() ? "" : absl::StrCat(" in ", result->cost.range.label).c_str(),
                  absl::StrJoin(names, ", ").c_str());
    }
    return kExitOk;
  }
  PrintText(*result);
  return kExitOk;
}

}  // namespace

void RegisterFeatureCostCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto flags = std::make_shared<FeatureCostFlags>();
  CLI::App* sub = root.add_subcommand("feature-cost", "What one feature cost: total, by agent, by category, over time");
  sub->add_option("feature", flags->feature, "The feature (\"\" for entries without one)")->required();
  sub->add_option("--period", flags->period,
                  "today, yesterday, week, month, year, last-Nd, YYYY, YYYY-MM, YYYY-MM-DD or all (default all)");
  sub->add_option("--since", flags->since, "From this date or instant (inclusive); overrides --period");
  sub->add_option("--until", flags->until, "Up to this date (inclusive) or instant (exclusive); overrides --period");
  sub->add_option("--bucket", flags->bucket, "Timeline bucket: hour, day (default), week or month");
  sub->add_flag("--json", flags->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, flags] { return RunFeatureCost(global, *flags); }});
}

}  // namespace tokenbook::cli
