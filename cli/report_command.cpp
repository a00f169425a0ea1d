// tokenbook report: roll the ledger up by period and dimension.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "commands.h"
#include "tokenbook/report_json.h"

namespace tokenbook::cli {
namespace {

struct ReportOptions {
  std::string period = "month";
  std::string since;
  std::string until;
  std::string by;
  FilterFlags filters;
  int64_t top = 0;
  bool fill = false;
  bool reprice = false;
  std::string format = "text";
  bool json = false;
};

std::string CacheWrite(const Totals& t) {
  return GroupThousands(t.tokens.cache_write_5m().value() + t.tokens.cache_write_1h().value());
}

// "2026-11 (2026-11-01 00:00 to 2026-12-01 00:00 UTC)".
std::string PeriodLine(const RollupReport& r) {
  if (r.range.all()) return absl::StrCat("all time (", r.time_zone, ")");
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(r.time_zone, &tz)) tz = absl::UTCTimeZone();
  auto fmt = [&](absl::Time t) {
    if (t == absl::InfinitePast()) return std::string("the beginning");
    if (t == absl::InfiniteFuture()) return std::string("now");
    return absl::FormatTime("%Y-%m-%d %H:%M", t, tz);
  };
  return absl::StrCat(r.range.label, " (", fmt(r.range.start), " to ", fmt(r.range.end), " ", r.time_zone, ")");
}

std::vector<std::string> KeyCells(const RollupReport& r, const Group& g) {
  std::vector<std::string> cells;
  for (size_t i = 0; i < r.group_by.size(); ++i) {
    const std::string& v = i < g.values.size() ? g.values[i] : std::string();
    cells.push_back(v.empty() ? std::string(kNoneLabel) : v);
  }
  return cells;
}

std::vector<std::string> FigureCells(const Totals& t) {
  return {GroupThousands(t.entries), GroupThousands(t.tokens.input().value()),
          GroupThousands(t.tokens.output().value()), GroupThousands(t.tokens.cache_read().value()),
          CacheWrite(t), FormatMoney(t.cost)};
}

const std::vector<std::string>& FigureHeaders() {
  static const auto* headers =
      new std::vector<std::string>{"entries", "input", "output", "cache read", "cache write", "cost"};
  return *headers;
}

void PrintNotes(const RollupReport& r, const std::string& prefix) {
  const Ratio hit = r.total.cache_hit();
  if (hit.defined()) {
    std::printf("%sCache hit: %s%% of input tokens were read from the cache\n", prefix.c_str(),
                hit.Percent(1).c_str());
  }
  if (r.total.unpriced_entries > 0) {
    std::printf("%sUnpriced: %s entries of models missing from the rate table are not in the cost "
                "(add them with --rates, or see `tokenbook report --by model --model NAME`)\n",
                prefix.c_str(), GroupThousands(r.total.unpriced_entries).c_str());
  }
}

void PrintText(const RollupReport& r) {
  const bool color = UseColor(stdout);
  const char* bold = color ? "\033[1m" : "";
  const char* reset = ColorReset(color);
  std::printf("%sPeriod:%s %s\n", bold, reset, PeriodLine(r).c_str());
  if (r.total.empty()) {
    std::printf("No entries in this period.\n");
    return;
  }
  std::vector<std::string> header;
  for (const GroupKey& k : r.group_by) header.push_back(k.Name());
  if (header.empty()) header.push_back("");
  const size_t keys = header.size();
  for (const std::string& h : FigureHeaders()) header.push_back(h);

  std::vector<std::vector<std::string>> rows;
  if (!r.group_by.empty()) {
    for (const Group& g : r.groups) {
      std::vector<std::string> row = KeyCells(r, g);
      for (std::string& c : FigureCells(g.totals)) row.push_back(std::move(c));
      rows.push_back(std::move(row));
    }
  }
  std::vector<std::string> total(keys, "");
  total[0] = "total";
  for (std::string& c : FigureCells(r.total)) total.push_back(std::move(c));

  std::vector<size_t> width(header.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  widen(header);
  for (const auto& row : rows) widen(row);
  widen(total);
  auto print_row = [&](const std::vector<std::string>& row, const char* on) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      const size_t pad = width[i] - row[i].size();
      if (i < keys) {
        line += row[i];
        if (i + 1 < row.size()) line.append(pad, ' ');
      } else {
        line.append(pad, ' ');
        line += row[i];
      }
    }
    std::printf("%s%s%s\n", on, line.c_str(), *on != '\0' ? reset : "");
  };
  std::printf("\n");
  print_row(header, bold);
  for (const auto& row : rows) print_row(row, "");
  if (!rows.empty()) {
    size_t all = 0;
    for (size_t w : width) all += w;
    all += 2 * (width.size() - 1);
    std::printf("%s\n", std::string(all, '-').c_str());
  }
  print_row(total, bold);
  std::printf("\n");
  PrintNotes(r, "");
}

// RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes.
std::string CsvField(absl::string_view s) {
  if (s.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void PrintCsv(const RollupReport& r) {
  std::vector<std::string> header;
  for (const GroupKey& k : r.group_by) header.push_back(CsvField(k.Name()));
  for (const char* h : {"entries", "requests", "input_tokens", "output_tokens", "cache_read_tokens",
                        "cache_write_tokens", "reasoning_tokens", "cost_micros", "cost_usd", "unpriced_entries"}) {
    header.emplace_back(h);
  }
  std::string out = absl::StrJoin(header, ",") + "\r\n";
  auto row = [&](std::vector<std::string> cells, const Totals& t) {
    for (std::string& c : cells) c = CsvField(c);
    cells.push_back(absl::StrCat(t.entries));
    cells.push_back(absl::StrCat(t.requests));
    cells.push_back(absl::StrCat(t.tokens.input().value()));
    cells.push_back(absl::StrCat(t.tokens.output().value()));
    cells.push_back(absl::StrCat(t.tokens.cache_read().value()));
    cells.push_back(absl::StrCat(t.tokens.cache_write_5m().value() + t.tokens.cache_write_1h().value()));
    cells.push_back(absl::StrCat(t.tokens.reasoning().value()));
    cells.push_back(absl::StrCat(t.cost.value()));
    cells.push_back(FormatUsd(t.cost, 6));
    cells.push_back(absl::StrCat(t.unpriced_entries));
    absl::StrAppend(&out, absl::StrJoin(cells, ","), "\r\n");
  };
  if (r.group_by.empty()) {
    row({}, r.total);
  } else {
    for (const Group& g : r.groups) {
      std::vector<std::string> cells;
      for (size_t i = 0; i < r.group_by.size(); ++i) cells.push_back(i < g.values.size() ? g.values[i] : "");
      row(std::move(cells), g.totals);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

// Markdown: "|" and backslashes in values are escaped so a cell stays a cell.
std::string MdCell(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

void PrintMarkdown(const RollupReport& r) {
  std::printf("**Period:** %s\n\n", MdCell(PeriodLine(r)).c_str());
  std::vector<std::string> header;
  for (const GroupKey& k : r.group_by) header.push_back(MdCell(k.Name()));
  if (header.empty()) header.emplace_back("");
  const size_t keys = header.size();
  for (const std::string& h : FigureHeaders()) header.push_back(h);
  std::string out = "| " + absl::StrJoin(header, " | ") + " |\n|";
  for (size_t i = 0; i < header.size(); ++i) out += i < keys ? " --- |" : " ---: |";
  out += "\n";
  if (!r.group_by.empty()) {
    for (const Group& g : r.groups) {
      std::vector<std::string> cells = KeyCells(r, g);
      for (std::string& c : cells) c = MdCell(c);
      for (std::string& c : FigureCells(g.totals)) cells.push_back(std::move(c));
      absl::StrAppend(&out, "| ", absl::StrJoin(cells, " | "), " |\n");
    }
  }
  std::vector<std::string> total(keys, "");
  total[0] = "**total**";
  for (std::string& c : FigureCells(r.total)) total.push_back(absl::StrCat("**", c, "**"));
  absl::StrAppend(&out, "| ", absl::StrJoin(total, " | "), " |\n");
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::printf("\n");
  PrintNotes(r, "- ");
}

int RunReport(const GlobalOptions& global, ReportOptions& o) {
  if (o.json) o.format = "json";
  if (o.format != "text" && o.format != "json" && o.format != "csv" && o.format != "md") {
    return Fail(kExitUsage, absl::StrCat("--format: \"", o.format, "\" is not one of text, json, csv, md"));
  }
  if (o.top < 0) return Fail(kExitUsage, absl::StrCat("--top: must not be negative (got ", o.top, ")"));
  absl::StatusOr<std::vector<std::string>> filters = o.filters.Specs();
  if (!filters.ok()) return Fail(kExitUsage, filters.status().message());
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());

  ReportSpec spec;
  spec.period = o.period;
  spec.since = o.since;
  spec.until = o.until;
  spec.group_by = o.by;
  spec.filters = *std::move(filters);
  spec.top = static_cast<size_t>(o.top);
  spec.time_zone = global.tz;
  spec.fill_empty_buckets = o.fill;
  absl::StatusOr<RollupQuery> query = (*book)->MakeQuery(spec, *now);
  if (!query.ok()) return Fail(kExitUsage, query.status().message());
  std::vector<LedgerIssue> issues;
  absl::StatusOr<RollupReport> report = (*book)->Report(*std::move(query), &issues, o.reprice);
  if (!report.ok()) {
    const absl::Status& s = report.status();
    return Fail(s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : ExitCodeFor(s), s.message());
  }
  // Skipped lines never stop a report, and are never silent.
  if (o.format != "json") {
    constexpr size_t kShown = 10;
    for (size_t i = 0; i < issues.size() && i < kShown; ++i) {
      std::fprintf(stderr, "tokenbook: warning: %s:%lld: %s (line skipped)\n", issues[i].file.c_str(),
                   static_cast<long long>(issues[i].line), issues[i].message.c_str());
    }
    if (issues.size() > kShown) {
      std::fprintf(stderr, "tokenbook: warning: %zu more ledger lines skipped\n", issues.size() - kShown);
    }
  }
  if (o.format == "json") {
    std::printf("%s\n", RollupReportJson(*report, issues).c_str());
  } else if (o.format == "csv") {
    PrintCsv(*report);
  } else if (o.format == "md") {
    PrintMarkdown(*report);
  } else {
    PrintText(*report);
  }
  return kExitOk;
}

}  // namespace

void RegisterReportCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* sub = root.add_subcommand("report", "Roll the ledger up by period and by any dimension");
  sub->add_option("--period,-p", o->period, absl::StrCat(kPeriodForms, " (default month)"));
  sub->add_option("--since", o->since, "Start: a date (YYYY-MM-DD, YYYY-MM, YYYY, today) or an RFC 3339 instant; replaces --period");
  sub->add_option("--until", o->until, "End: a date, included whole, or an RFC 3339 instant, excluded; replaces --period");
  sub->add_option("--by,-b", o->by,
                  "Group by: model, provider, session, agent, category, action_type, action, feature, project, "
                  "tool, task_type, service_tier, tag:KEY, hour, day, week, month; comma-separated");
  AddFilterOptions(sub, o->filters);
  sub->add_option("--top", o->top, "Keep the N costliest groups and fold the rest into \"(other)\"");
  sub->add_flag("--fill", o->fill, "With one time key in --by, show empty buckets as zero rows");
  sub->add_flag("--reprice", o->reprice, "Price computed entries again with today's rate table");
  sub->add_option("--format,-f", o->format, "text, json, csv or md (default text)");
  sub->add_flag("--json", o->json, "Same as --format json");
  out.push_back(Command{sub, [&global, o] { return RunReport(global, *o); }});
}

}  // namespace tokenbook::cli
