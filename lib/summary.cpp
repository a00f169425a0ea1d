#include "tokenbook/summary.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tokenbook/report_json.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

// ---------------------------------------------------------------------------
// Display helpers.

__int128 TotalTokens(const TokenCounts& tokens) {
  __int128 sum = 0;
  for (TokenKind k : kAllTokenKinds) {
    if (k != TokenKind::kReasoning) sum += tokens[k].value();
  }
  return sum;
}

std::string GroupDigits(__int128 n) {
  const bool negative = n < 0;
  unsigned __int128 m = negative ? static_cast<unsigned __int128>(-n) : static_cast<unsigned __int128>(n);
  std::string digits;
  int count = 0;
  do {
    if (count > 0 && count % 3 == 0) digits.push_back(',');
    digits.push_back(static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
    ++count;
  } while (m != 0);
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string PercentText(const Ratio& ratio) {
  return ratio.defined() ? absl::StrCat(ratio.Percent(1), "%") : "-";
}

std::string CostShare(Micros part, Micros whole) { return PercentText(Ratio{part.value(), whole.value()}); }

namespace {

constexpr size_t kFeatureSuggestions = 5;

// The name of a ledger file relative to its directory ("ledger.jsonl"), so
// the committed dashboard does not carry a machine's absolute paths.
std::string FileName(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  return name.empty() ? path : name;
}

// ---------------------------------------------------------------------------
// Markdown.

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// A ledger value made safe inside a table cell or a line of prose: control
// characters become spaces, and every character Markdown (or GitHub's
// extensions: tables, strikethrough, math, autolinks, HTML) could read as
// syntax is backslash-escaped. Underscores inside a word ("code_reviewer")
// cannot start emphasis and stay as they are, so common names read cleanly.
std::string MdEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.push_back(' ');
      continue;
    }
    if (c == '_') {
      size_t begin = i, end = i;
      while (begin > 0 && s[begin - 1] == '_') --begin;
      while (end + 1 < s.size() && s[end + 1] == '_') ++end;
      const bool inside = begin > 0 && IsAlnum(s[begin - 1]) && end + 1 < s.size() && IsAlnum(s[end + 1]);
      if (!inside) out.push_back('\\');
      out.push_back(c);
      continue;
    }
    switch (c) {
      case '\\': case '|': case '*': case '`': case '<': case '>': case '[': case ']':
      case '&': case '~': case '$': case '#': case '!':
        out.push_back('\\');
        break;
      default: break;
    }
    out.push_back(c);
  }
  return out;
}

// A group's first value as a cell: "(none)" for an absent value, "(3
// others)" for a top-N remainder.
std::string GroupLabel(const Group& g) {
  if (g.other) return absl::StrCat("(", g.folded, g.folded == 1 ? " other)" : " others)");
  if (g.values.empty() || g.values[0].empty()) return std::string(kNoneLabel);
  return MdEscape(g.values[0]);
}

// Display width: UTF-8 code points, which is what a monospace viewer shows
// for the names a ledger holds.
size_t Width(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

// A GitHub-flavoured table, padded so that the raw file reads aligned too.
class MdTable {
 public:
  // `align`: 'l' or 'r' per column.
  MdTable(std::vector<std::string> header, std::string align)
      : header_(std::move(header)), align_(std::move(align)) {}

  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

  std::string Render() const {
    std::vector<size_t> width(header_.size(), 3);
    auto widen = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size() && i < width.size(); ++i) width[i] = std::max(width[i], Width(cells[i]));
    };
    widen(header_);
    for (const auto& r : rows_) widen(r);
    auto cell = [&](const std::string& text, size_t i) {
      const std::string pad(width[i] - Width(text), ' ');
      return align_[i] == 'r' ? pad + text : text + pad;
    };
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
      out.append("|");
      for (size_t i = 0; i < width.size(); ++i) {
        absl::StrAppend(&out, " ", cell(i < cells.size() ? cells[i] : std::string(), i), " |");
      }
      out.append("\n");
    };
    line(header_);
    out.append("|");
    for (size_t i = 0; i < width.size(); ++i) {
      if (align_[i] == 'r') {
        absl::StrAppend(&out, " ", std::string(width[i] - 1, '-'), ": |");
      } else {
        absl::StrAppend(&out, " :", std::string(width[i] - 1, '-'), " |");
      }
    }
    out.append("\n");
    for (const auto& r : rows_) line(r);
    return out;
  }

 private:
  std::vector<std::string> header_;
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

std::string LocalMinute(absl::Time t, const absl::TimeZone& tz) {
  return absl::FormatTime("%Y-%m-%d %H:%M", t, tz);
}

// The dates an all-time total spans, "2026-03-01..2026-04-10", or "-".
std::string SpanLabel(const Totals& t, const absl::TimeZone& tz) {
  if (t.entries == 0) return "-";
  const std::string first = DayLabel(DayOf(t.first, tz));
  const std::string last = DayLabel(DayOf(t.last, tz));
  return first == last ? first : absl::StrCat(first, "..", last);
}

std::string DimensionTitle(Dimension d) {
  std::string name(DimensionName(d));
  for (char& c : name) {
    if (c == '_') c = ' ';
  }
  if (!name.empty()) name[0] = absl::ascii_toupper(static_cast<unsigned char>(name[0]));
  return name;
}

std::string PeriodTitle(absl::string_view name) {
  if (name == "today") return "Today";
  if (name == "week") return "This week";
  if (name == "month") return "This month";
  if (name == "all") return "All time";
  return std::string(name);
}

void AppendBudgets(const Summary& s, std::string* out) {
  out->append("## Budgets\n\n");
  const BudgetReport& b = s.budgets;
  if (b.statuses.empty()) {
    if (b.suggestion.has_value()) {
      const BudgetSuggestion& g = *b.suggestion;
      absl::StrAppend(out, "No budget is set. Spent this month: ", FormatMoney(b.month_spent),
                      ". Suggested monthly budget: ", FormatMoney(g.monthly_limit), " (stage ", StageName(g.stage),
                      g.stage_inferred ? ", from this month's pace" : "", ": ", FormatMoney(g.range.min),
                      g.range.max.has_value() ? absl::StrCat(" to ", FormatMoney(*g.range.max)) : " or more",
                      "). Set one in `config.toml` under `[budgets]`.\n\n");
    } else {
      out->append("No budget is set. Set one in `config.toml` under `[budgets]`.\n\n");
    }
    return;
  }
  MdTable t({"Budget", "Scope", "Period", "Spent", "Limit", "Used", "Level", "Projected"}, "lllrrrlr");
  for (const BudgetStatus& st : b.statuses) {
    const std::string level(BudgetLevelName(st.level));
    t.Row({MdEscape(st.budget.name), MdEscape(st.budget.scope.ToString()), MdEscape(st.window.label),
           FormatMoney(st.spent), FormatMoney(st.budget.limit),
           absl::StrCat(FormatPercent(st.spent, st.budget.limit, 1), "%"),
           st.level == BudgetLevel::kOk ? level : absl::StrCat("**", level, "**"),
           st.projected.has_value() ? FormatMoney(*st.projected) : "-"});
  }
  out->append(t.Render());
  out->append("\nProjected: the spend at the end of the period if its pace so far holds.\n");
  bool any = false;
  for (const BudgetStatus& st : b.statuses) {
    if (st.recommendation == Recommendation::kStayTheCourse) continue;
    if (!any) out->append("\n");
    any = true;
    absl::StrAppend(out, "- ", MdEscape(st.budget.name), ": ", RecommendationText(st.recommendation), "\n");
  }
  out->append("\n");
}

void AppendBreakdown(const Summary& s, const SummaryBreakdown& b, const absl::TimeZone& tz, std::string* out) {
  const RollupReport& r = b.report;
  const bool sessions = b.dimension == Dimension::kSession;
  const bool models = b.dimension == Dimension::kModel;
  if (sessions) {
    absl::StrAppend(out, "## Top sessions (", MdEscape(s.breakdown_range.label), ")\n\n");
  } else {
    absl::StrAppend(out, "## By ", absl::AsciiStrToLower(DimensionTitle(b.dimension)), " (",
                    MdEscape(s.breakdown_range.label), ")\n\n");
  }
  if (r.total.entries == 0) {
    out->append("No entries in this period.\n\n");
    return;
  }
  std::vector<std::string> header = {DimensionTitle(b.dimension), "Entries", "Tokens", "Cost", "Share"};
  std::string align = "lrrrr";
  if (models) {
    header.push_back("Cache hit");
    align += "r";
  }
  if (sessions) {
    header.push_back("First");
    header.push_back("Last");
    align += "ll";
  }
  MdTable t(std::move(header), align);
  auto row = [&](std::string label, const Totals& g) {
    std::vector<std::string> cells = {std::move(label), GroupDigits(g.entries), GroupDigits(TotalTokens(g.tokens)),
                                      FormatMoney(g.cost), CostShare(g.cost, r.total.cost)};
    if (models) cells.push_back(PercentText(g.cache_hit()));
    if (sessions) {
      cells.push_back(g.entries > 0 ? LocalMinute(g.first, tz) : "-");
      cells.push_back(g.entries > 0 ? LocalMinute(g.last, tz) : "-");
    }
    t.Row(std::move(cells));
  };
  for (const Group& g : r.groups) row(GroupLabel(g), g.totals);
  row("**Total**", r.total);
  out->append(t.Render());
  out->append("\n");
}

void AppendCache(const Summary& s, std::string* out) {
  out->append("## Cache efficiency\n\n");
  MdTable t({"Period", "Input", "Cache read", "Cache write", "Prompt tokens", "Cache hit"}, "lrrrrr");
  for (const SummaryPeriod& p : s.periods) {
    const Totals& x = p.report.total;
    const Ratio hit = x.cache_hit();
    t.Row({PeriodTitle(p.name), GroupDigits(x.tokens.input().value()), GroupDigits(x.tokens.cache_read().value()),
           GroupDigits(static_cast<__int128>(x.tokens.cache_write_5m().value()) + x.tokens.cache_write_1h().value()),
           GroupDigits(hit.den), PercentText(hit)});
  }
  out->append(t.Render());
  out->append("\nCache hit: the share of prompt tokens read from the cache (cache read / prompt tokens).\n\n");
}

void AppendUnpriced(const Summary& s, const absl::TimeZone& tz, std::string* out) {
  const Totals& u = s.unpriced.total;
  if (u.entries == 0) return;
  out->append("## Unpriced entries\n\n");
  const bool one = u.entries == 1;
  absl::StrAppend(out, "**", GroupDigits(u.entries), one ? " entry" : " entries", " (",
                  GroupDigits(TotalTokens(u.tokens)), " tokens) could not be priced: ",
                  one ? "its model is not in the rate table, so it counts"
                      : "their models are not in the rate table, so they count",
                  " as $0.00 in every figure above.** Add ", s.unpriced.groups.size() == 1 ? "the model" : "the models",
                  " to a rate table (`[rates] files` in `config.toml`, see docs/rates-format.md).\n\n");
  MdTable t({"Model", "Entries", "Tokens", "First", "Last"}, "lrrll");
  for (const Group& g : s.unpriced.groups) {
    t.Row({GroupLabel(g), GroupDigits(g.totals.entries), GroupDigits(TotalTokens(g.totals.tokens)),
           LocalMinute(g.totals.first, tz), LocalMinute(g.totals.last, tz)});
  }
  out->append(t.Render());
  out->append("\n");
}

void AppendIssues(const Summary& s, std::string* out) {
  if (s.issues.empty()) return;
  out->append("## Skipped ledger lines\n\n");
  absl::StrAppend(out, GroupDigits(static_cast<int64_t>(s.issues.size())),
                  s.issues.size() == 1 ? " line of the ledger could not be read and is"
                                       : " lines of the ledger could not be read and are",
                  " left out of every figure:\n\n");
  const size_t shown = std::min(s.issues.size(), s.max_issues);
  for (size_t i = 0; i < shown; ++i) {
    const LedgerIssue& issue = s.issues[i];
    absl::StrAppend(out, "- ", MdEscape(FileName(issue.file)), ":", issue.line, ": ", MdEscape(issue.message), "\n");
  }
  if (shown < s.issues.size()) absl::StrAppend(out, "- and ", s.issues.size() - shown, " more\n");
  out->append("\n");
}

// ---------------------------------------------------------------------------
// JSON.

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& w, absl::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void Str(Writer& w, absl::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void Money(Writer& w, absl::string_view prefix, Micros amount) {
  Key(w, absl::StrCat(prefix, "_micros"));
  w.Int64(amount.value());
  Key(w, absl::StrCat(prefix, "_usd"));
  Str(w, FormatUsd(amount, 6));
}
void Instant(Writer& w, absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    w.Null();
    return;
  }
  Str(w, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
}
// A token count that fits int64 as a number, else (never in practice) as text.
void Count(Writer& w, __int128 n) {
  if (n >= INT64_MIN && n <= INT64_MAX) {
    w.Int64(static_cast<int64_t>(n));
  } else {
    Str(w, GroupDigits(n));
  }
}

// The members of a Totals, with the keys of report JSON (report_json.cpp)
// plus "tokens", the total counted once.
void TotalsMembers(Writer& w, const Totals& t) {
  Key(w, "entries");
  w.Int64(t.entries);
  Key(w, "requests");
  w.Int64(t.requests);
  Money(w, "cost", t.cost);
  Key(w, "tokens");
  Count(w, TotalTokens(t.tokens));
  Key(w, "input_tokens");
  w.Int64(t.tokens.input().value());
  Key(w, "output_tokens");
  w.Int64(t.tokens.output().value());
  Key(w, "cache_read_tokens");
  w.Int64(t.tokens.cache_read().value());
  Key(w, "cache_write_tokens");
  Count(w, static_cast<__int128>(t.tokens.cache_write_5m().value()) + t.tokens.cache_write_1h().value());
  Key(w, "cache_write_5m_tokens");
  w.Int64(t.tokens.cache_write_5m().value());
  Key(w, "cache_write_1h_tokens");
  w.Int64(t.tokens.cache_write_1h().value());
  Key(w, "reasoning_tokens");
  w.Int64(t.tokens.reasoning().value());
  Key(w, "unpriced_entries");
  w.Int64(t.unpriced_entries);
  Key(w, "unpriced_tokens");
  Count(w, TotalTokens(t.unpriced_tokens));
  const Ratio hit = t.cache_hit();
  Key(w, "cache_hit_ratio");
  if (hit.defined()) {
    w.StartObject();
    Key(w, "numerator");
    w.Int64(hit.num);
    Key(w, "denominator");
    w.Int64(hit.den);
    Key(w, "percent");
    Str(w, hit.Percent(1));
    w.EndObject();
  } else {
    w.Null();
  }
  Key(w, "first");
  Instant(w, t.entries > 0 ? t.first : absl::InfinitePast());
  Key(w, "last");
  Instant(w, t.entries > 0 ? t.last : absl::InfinitePast());
}

void TotalsObject(Writer& w, const Totals& t) {
  w.StartObject();
  TotalsMembers(w, t);
  w.EndObject();
}

void Range(Writer& w, const TimeRange& r) {
  Key(w, "label");
  Str(w, r.label);
  Key(w, "start");
  Instant(w, r.start);
  Key(w, "end");
  Instant(w, r.end);
}

// [{"key": {"agent": "planner"}, ["other": true, "folded_groups": n,]
//   ["start", "end" for a time bucket,] totals...}, ...]
void Groups(Writer& w, const std::vector<std::string>& key_names, const std::vector<Group>& groups,
            bool with_bucket_range) {
  w.StartArray();
  for (const Group& g : groups) {
    w.StartObject();
    Key(w, "key");
    w.StartObject();
    for (size_t i = 0; i < key_names.size() && i < g.values.size(); ++i) {
      Key(w, key_names[i]);
      Str(w, g.values[i]);
    }
    w.EndObject();
    if (g.other) {
      Key(w, "other");
      w.Bool(true);
      Key(w, "folded_groups");
      w.Int64(g.folded);
    }
    if (with_bucket_range) {
      Key(w, "start");
      Instant(w, g.start);
      Key(w, "end");
      Instant(w, g.end);
    }
    TotalsMembers(w, g.totals);
    w.EndObject();
  }
  w.EndArray();
}

void Issues(Writer& w, const std::vector<LedgerIssue>& issues) {
  w.StartArray();
  for (const LedgerIssue& issue : issues) {
    w.StartObject();
    Key(w, "file");
    Str(w, issue.file);
    Key(w, "line");
    w.Int64(issue.line);
    Key(w, "message");
    Str(w, issue.message);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

// ---------------------------------------------------------------------------
// Summary.

const SummaryPeriod* Summary::Period(absl::string_view name) const {
  for (const SummaryPeriod& p : periods) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const SummaryBreakdown* Summary::Breakdown(Dimension d) const {
  for (const SummaryBreakdown& b : breakdowns) {
    if (b.dimension == d) return &b;
  }
  return nullptr;
}

absl::StatusOr<SummaryBuilder> SummaryBuilder::Create(absl::Time now, absl::TimeZone tz, absl::Weekday week_start,
                                                      const SummaryOptions& options) {
  SummaryBuilder b;
  b.now_ = now;
  b.tz_ = tz;
  b.week_start_ = week_start;
  b.max_issues_ = options.max_issues;
  auto query = [&](TimeRange range) {
    RollupQuery q;
    q.range = std::move(range);
    q.tz = tz;
    q.week_start = week_start;
    return q;
  };
  for (const char* name : {"today", "week", "month", "all"}) {
    TKB_ASSIGN_OR_RETURN(TimeRange range, ResolvePeriod(name, now, tz, week_start));
    TKB_ASSIGN_OR_RETURN(Rollup r, Rollup::Create(query(std::move(range))));
    b.period_names_.emplace_back(name);
    b.periods_.push_back(std::move(r));
  }
  TKB_ASSIGN_OR_RETURN(b.breakdown_range_, ResolvePeriod(options.period, now, tz, week_start));
  for (Dimension d : {Dimension::kCategory, Dimension::kModel, Dimension::kAgent, Dimension::kProject,
                      Dimension::kSession}) {
    RollupQuery q = query(b.breakdown_range_);
    q.group_by = {GroupKey::Of(d)};
    q.top_n = d == Dimension::kSession ? options.top_sessions : options.top;
    q.order = SortOrder::kCost;
    TKB_ASSIGN_OR_RETURN(Rollup r, Rollup::Create(std::move(q)));
    b.dimensions_.push_back(d);
    b.breakdowns_.push_back(std::move(r));
  }
  RollupQuery unpriced = query(TimeRange{});
  unpriced.group_by = {GroupKey::Of(Dimension::kModel)};
  unpriced.order = SortOrder::kEntries;
  TKB_ASSIGN_OR_RETURN(Rollup u, Rollup::Create(std::move(unpriced)));
  b.unpriced_.emplace(std::move(u));
  return b;
}

void SummaryBuilder::Add(const Entry& e) {
  ++entries_;
  for (Rollup& r : periods_) r.Add(e);
  if (breakdown_range_.Contains(e.timestamp)) {
    for (Rollup& r : breakdowns_) r.Add(e);
  }
  if (!e.priced()) unpriced_->Add(e);
}

absl::StatusOr<Summary> SummaryBuilder::Finish(BudgetReport budgets, std::vector<LedgerIssue> issues) const {
  Summary s;
  s.now = now_;
  s.tz = tz_;
  s.time_zone = tz_.name();
  s.week_start = week_start_;
  s.breakdown_range = breakdown_range_;
  s.max_issues = max_issues_;
  for (size_t i = 0; i < periods_.size(); ++i) {
    TKB_ASSIGN_OR_RETURN(RollupReport r, periods_[i].Finish());
    s.periods.push_back(SummaryPeriod{period_names_[i], std::move(r)});
  }
  for (size_t i = 0; i < breakdowns_.size(); ++i) {
    TKB_ASSIGN_OR_RETURN(RollupReport r, breakdowns_[i].Finish());
    s.breakdowns.push_back(SummaryBreakdown{dimensions_[i], std::move(r)});
  }
  TKB_ASSIGN_OR_RETURN(s.unpriced, unpriced_->Finish());
  s.budgets = std::move(budgets);
  s.issues = std::move(issues);
  s.entries_read = entries_;
  return s;
}

absl::StatusOr<Summary> ComputeSummary(Book& book, absl::Time now, const SummaryOptions& options) {
  absl::TimeZone tz = book.config().time_zone;
  if (!options.time_zone.empty() && !absl::LoadTimeZone(options.time_zone, &tz)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone \"", options.time_zone, "\""));
  }
  TKB_ASSIGN_OR_RETURN(SummaryBuilder builder,
                       SummaryBuilder::Create(now, tz, book.config().week_start, options));
  std::vector<LedgerIssue> issues;
  TKB_RETURN_IF_ERROR(book.ledger().Scan([&](const Entry& e) { builder.Add(e); }, &issues));
  TKB_ASSIGN_OR_RETURN(BudgetReport budgets, book.budgets().Status(now));
  TKB_ASSIGN_OR_RETURN(Summary s, builder.Finish(std::move(budgets), std::move(issues)));
  s.ledger_name = FileName(book.ledger().ledger_path());
  return s;
}

std::string SummaryMarkdown(const Summary& s) {
  const absl::TimeZone& tz = s.tz;
  std::string out = "# Token spend\n\n";
  absl::StrAppend(&out, "As of ", absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", s.now, tz), " (", MdEscape(s.time_zone),
                  "); weeks start on ", WeekdayName(s.week_start), ". Generated by `tokenbook summary` from `",
                  MdEscape(s.ledger_name), "`.\n\n");
  if (s.unpriced.total.entries > 0) {
    absl::StrAppend(&out, "> **Warning: ", GroupDigits(s.unpriced.total.entries),
                    s.unpriced.total.entries == 1 ? " unpriced entry** counts" : " unpriced entries** count",
                    " as $0.00: see [Unpriced entries](#unpriced-entries).\n\n");
  }
  if (!s.issues.empty()) {
    absl::StrAppend(&out, "> **Warning: ", GroupDigits(static_cast<int64_t>(s.issues.size())),
                    s.issues.size() == 1 ? " ledger line" : " ledger lines",
                    " skipped**: see [Skipped ledger lines](#skipped-ledger-lines).\n\n");
  }

  out.append("## Totals\n\n");
  MdTable totals({"Period", "Dates", "Entries", "Tokens", "Cost"}, "llrrr");
  for (const SummaryPeriod& p : s.periods) {
    const Totals& t = p.report.total;
    totals.Row({PeriodTitle(p.name), p.name == "all" ? SpanLabel(t, tz) : MdEscape(p.report.range.label),
                GroupDigits(t.entries), GroupDigits(TotalTokens(t.tokens)), FormatMoney(t.cost)});
  }
  out.append(totals.Render());
  out.append("\n");

  AppendBudgets(s, &out);
  for (const SummaryBreakdown& b : s.breakdowns) AppendBreakdown(s, b, tz, &out);
  AppendCache(s, &out);
  AppendUnpriced(s, tz, &out);
  AppendIssues(s, &out);

  out.append("---\n\n");
  absl::StrAppend(&out, GroupDigits(s.entries_read), s.entries_read == 1 ? " entry" : " entries", " read, ",
                  GroupDigits(static_cast<int64_t>(s.issues.size())), s.issues.size() == 1 ? " line" : " lines",
                  " skipped. Amounts are exact sums of micro-dollars, rounded only for display.\n");
  return out;
}

std::string SummaryJson(const Summary& s) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "now");
  Instant(w, s.now);
  Key(w, "time_zone");
  Str(w, s.time_zone);
  Key(w, "week_start");
  Str(w, WeekdayName(s.week_start));
  Key(w, "ledger");
  Str(w, s.ledger_name);
  Key(w, "entries_read");
  w.Int64(s.entries_read);
  Key(w, "skipped_lines");
  w.Int64(static_cast<int64_t>(s.issues.size()));
  Key(w, "periods");
  w.StartArray();
  for (const SummaryPeriod& p : s.periods) {
    w.StartObject();
    Key(w, "name");
    Str(w, p.name);
    Range(w, p.report.range);
    Key(w, "totals");
    TotalsObject(w, p.report.total);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "breakdown_period");
  w.StartObject();
  Range(w, s.breakdown_range);
  w.EndObject();
  Key(w, "breakdowns");
  w.StartObject();
  for (const SummaryBreakdown& b : s.breakdowns) {
    Key(w, DimensionName(b.dimension));
    w.StartObject();
    Key(w, "totals");
    TotalsObject(w, b.report.total);
    Key(w, "folded_groups");
    w.Int64(b.report.folded_groups);
    Key(w, "groups");
    Groups(w, {std::string(DimensionName(b.dimension))}, b.report.groups, false);
    w.EndObject();
  }
  w.EndObject();
  Key(w, "unpriced");
  w.StartObject();
  Key(w, "entries");
  w.Int64(s.unpriced.total.entries);
  Key(w, "tokens");
  Count(w, TotalTokens(s.unpriced.total.tokens));
  Key(w, "models");
  Groups(w, {"model"}, s.unpriced.groups, false);
  w.EndObject();
  Key(w, "budgets");
  const std::string budgets = BudgetReportJson(s.budgets);
  w.RawValue(budgets.data(), budgets.size(), rapidjson::kObjectType);
  Key(w, "issues");
  Issues(w, s.issues);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string name = target.filename().string();
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": not a file name"));
  }
  auto fail = [&](int err) { return absl::ErrnoToStatus(err, absl::StrCat("cannot write ", path)); };
  struct stat st;
  std::optional<mode_t> keep_mode;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fail(EISDIR);
    keep_mode = st.st_mode & 07777;
  }
  // A hidden name beside the target: rename() is atomic only within one file
  // system, and a crash leaves at most this file behind. open() with 0644
  // lets the umask apply as to any new file (mkstemp() would force 0600).
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = (target.parent_path() / absl::StrCat(".", name, ".tmp.", ::getpid(), ".", counter.fetch_add(1)))
              .string();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && (errno != EEXIST || attempt == 100)) return fail(errno);
  }
  auto abandon = [&](int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(err);
  };
  if (keep_mode.has_value() && ::fchmod(fd, *keep_mode) != 0) return abandon(errno);
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon(errno);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon(errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail(err);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Feature cost.

absl::StatusOr<FeatureCostResult> ComputeFeatureCost(Book& book, const std::string& feature, const ReportSpec& spec,
                                                     TimeBucket bucket, absl::Time now) {
  ReportSpec range_spec;
  range_spec.period = spec.period.empty() ? "all" : spec.period;
  range_spec.since = spec.since;
  range_spec.until = spec.until;
  range_spec.time_zone = spec.time_zone;
  TKB_ASSIGN_OR_RETURN(RollupQuery q, book.MakeQuery(range_spec, now));
  TKB_ASSIGN_OR_RETURN(FeatureCostRollup rollup,
                       FeatureCostRollup::Create(feature, q.range, q.tz, bucket, q.week_start));
  // Every feature's cost in the same pass, to suggest one when `feature`
  // has no entries.
  RollupQuery features = q;
  features.group_by = {GroupKey::Of(Dimension::kFeature)};
  features.order = SortOrder::kCost;
  TKB_ASSIGN_OR_RETURN(Rollup by_feature, Rollup::Create(std::move(features)));
  FeatureCostResult out;
  TKB_RETURN_IF_ERROR(book.ledger().Scan(
      [&](const Entry& e) {
        ++out.entries_read;
        rollup.Add(e);
        by_feature.Add(e);
      },
      &out.issues));
  TKB_ASSIGN_OR_RETURN(out.cost, rollup.Finish());
  TKB_ASSIGN_OR_RETURN(RollupReport all, by_feature.Finish());
  for (const Group& g : all.groups) {
    if (out.features.size() == kFeatureSuggestions) break;
    if (!g.values.empty() && !g.values[0].empty()) out.features.push_back(g.values[0]);
  }
  out.time_zone = q.tz.name();
  out.bucket = bucket;
  return out;
}

std::string FeatureCostJson(const FeatureCostResult& r) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  const std::string bucket(TimeBucketName(r.bucket));
  w.StartObject();
  Key(w, "feature");
  Str(w, r.cost.feature);
  Key(w, "period");
  w.StartObject();
  Range(w, r.cost.range);
  Key(w, "tz");
  Str(w, r.time_zone);
  w.EndObject();
  Key(w, "bucket");
  Str(w, bucket);
  Key(w, "totals");
  TotalsObject(w, r.cost.total);
  Key(w, "by_agent");
  Groups(w, {"agent"}, r.cost.by_agent, false);
  Key(w, "by_category");
  Groups(w, {"category"}, r.cost.by_category, false);
  Key(w, "timeline");
  Groups(w, {bucket}, r.cost.timeline, true);
  Key(w, "phases");
  Groups(w, {bucket, "category"}, r.cost.phases, true);
  Key(w, "issues");
  Issues(w, r.issues);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace v1
}  // namespace tokenbook
