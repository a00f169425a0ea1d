#include "tokenbook/dashboard.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/period.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

std::string HtmlEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\'': out.append("&#39;"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out.push_back(' ');
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------
// Chart geometry, in integer SVG user units.

constexpr int64_t kPlotHeight = 200;   // the value axis of the column charts
constexpr int64_t kPlotTop = 14;
constexpr int64_t kAxisLeft = 76;      // room for "$1,234.56"
constexpr int64_t kAxisBottom = 34;    // room for the date labels
constexpr int64_t kPlotRight = 128;    // room for a line's label ("projected $1,234.56")
constexpr int64_t kPlotWidth = 720;    // the column charts' target width
constexpr int64_t kBarRow = 28;        // one group of a bar chart
constexpr int64_t kBarLabel = 190;     // its name
constexpr int64_t kBarWidth = 400;     // its bar at 100%
constexpr int64_t kBarValue = 150;     // its amount and share
constexpr size_t kLabelChars = 26;     // longer names are cut (whole in the tooltip and table)
constexpr size_t kSeriesColors = 8;

// A round axis maximum at or above `v`: 1, 2 or 4 × 10^k (so that half of
// it is a round amount too), at least 2.
int64_t NiceCeil(int64_t v) {
  if (v <= 2) return 2;
  for (__int128 p = 1; p <= INT64_MAX; p *= 10) {
    for (int m : {1, 2, 4}) {
      if (p * m >= v && p * m <= INT64_MAX) return static_cast<int64_t>(p * m);
    }
  }
  return v;
}

// The part `value` takes of `length` units when `whole` fills it, floored
// and clamped to [0, length].
int64_t Scale(int64_t value, int64_t whole, int64_t length) {
  if (whole <= 0 || value <= 0) return 0;
  const __int128 s = static_cast<__int128>(value) * length / whole;
  return s > length ? length : static_cast<int64_t>(s);
}

// The y coordinate of `value` on a column chart whose axis tops at `max`.
int64_t ColumnY(int64_t value, int64_t max) { return kPlotTop + kPlotHeight - Scale(value, max, kPlotHeight); }

// The first `n` code points of `s`, with an ellipsis when cut.
std::string Truncate(absl::string_view s, size_t n) {
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (points == n) return absl::StrCat(s.substr(0, i), "\xE2\x80\xA6");
    ++points;
  }
  return std::string(s);
}

// The raw (unescaped) label of a group: its value, "(none)", or "(N others)".
std::string RawLabel(const Group& g) {
  if (g.other) return absl::StrCat("(", g.folded, g.folded == 1 ? " other)" : " others)");
  if (g.values.empty() || g.values[0].empty()) return std::string(kNoneLabel);
  return g.values[0];
}

std::string Micro(Micros m) { return absl::StrCat(" data-micros=\"", m.value(), "\""); }

// A money cell: the display amount, the exact micro-dollars in data-micros.
std::string MoneyCell(Micros m) { return absl::StrCat("<td class=\"n\"", Micro(m), ">", FormatMoney(m), "</td>"); }

std::string CountCell(__int128 n) { return absl::StrCat("<td class=\"n\">", GroupDigits(n), "</td>"); }

// A ratio cell: the percentage, the exact integers in data-num / data-den.
std::string RatioCell(const Ratio& r) {
  return absl::StrCat("<td class=\"n\" data-num=\"", r.num, "\" data-den=\"", r.den, "\">", PercentText(r),
                      "</td>");
}

std::string ShareCell(Micros part, Micros whole) { return RatioCell(Ratio{part.value(), whole.value()}); }

// "2026-04-10" -> "04-10", for the date axis.
std::string ShortDay(absl::string_view label) {
  return label.size() == 10 ? std::string(label.substr(5)) : std::string(label);
}

// The day of a day-bucket group, as a label ("2026-04-10").
std::string DayOfGroup(const Group& g) { return g.values.empty() ? std::string() : g.values[0]; }

// Opens an accessible chart: <svg id=... role="img"> with its <title>.
std::string SvgOpen(absl::string_view id, int64_t width, int64_t height, absl::string_view title) {
  return absl::StrCat("<svg id=\"", id, "\" role=\"img\" aria-labelledby=\"",
                      id, "-title\" viewBox=\"0 0 ", width, " ", height, "\" width=\"", width, "\" height=\"",
                      height, "\">\n<title id=\"", id, "-title\">", title, "</title>\n");
}

// Horizontal grid lines and money labels at 0, half and the top of a column
// chart `width` wide, whose axis tops at `max`.
void MoneyAxis(int64_t max, int64_t width, std::string* out) {
  for (int64_t tick : {int64_t{0}, max / 2, max}) {
    const int64_t y = ColumnY(tick, max);
    absl::StrAppend(out, "<line class=\"grid\" x1=\"", kAxisLeft, "\" y1=\"", y, "\" x2=\"", width - kPlotRight,
                    "\" y2=\"", y, "\"/><text class=\"tick\" x=\"", kAxisLeft - 6, "\" y=\"", y + 4,
                    "\" text-anchor=\"end\">", FormatMoney(Micros(tick)), "</text>\n");
  }
}

// Date labels under the columns, at most about ten of them.
void DayAxis(const std::vector<std::string>& days, int64_t step, std::string* out) {
  const size_t n = days.size();
  const size_t every = std::max<size_t>(1, (n + 9) / 10);
  const int64_t y = kPlotTop + kPlotHeight + 18;
  for (size_t i = 0; i < n; i += every) {
    const int64_t x = kAxisLeft + static_cast<int64_t>(i) * step + step / 2;
    absl::StrAppend(out, "<text class=\"tick\" x=\"", x, "\" y=\"", y, "\" text-anchor=\"middle\">",
                    HtmlEscape(ShortDay(days[i])), "</text>\n");
  }
}

// The width of one day's column, so that the plot is about kPlotWidth wide.
int64_t ColumnStep(size_t days) {
  if (days == 0) return kPlotWidth;
  return std::max<int64_t>(4, kPlotWidth / static_cast<int64_t>(days));
}

// A labelled horizontal line across a column chart (a budget, a projection).
void ValueLine(absl::string_view cls, int64_t y, int64_t width, absl::string_view label, std::string* out) {
  absl::StrAppend(out, "<line class=\"", cls, "\" x1=\"", kAxisLeft, "\" y1=\"", y, "\" x2=\"", width - kPlotRight,
                  "\" y2=\"", y, "\"/><text class=\"", cls, "-label\" x=\"", width - kPlotRight + 4, "\" y=\"", y + 4,
                  "\">", label, "</text>\n");
}

// ---------------------------------------------------------------------------
// The page's parts.

constexpr char kStyle[] = R"css(
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--grid:#d1d9e0;--panel:#f6f8fa;
--bar:#0969da;--line:#8250df;--budget:#cf222e;--proj:#9a6700;--cache:#1a7f37;--other:#8c959f;
--c1:#0969da;--c2:#1a7f37;--c3:#9a6700;--c4:#8250df;--c5:#bf3989;--c6:#0a7a8a;--c7:#bc4c00;--c8:#57606a}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--grid:#3d444d;--panel:#151b23;
--bar:#4493f8;--line:#ab7df8;--budget:#f85149;--proj:#d29922;--cache:#3fb950;--other:#6e7681;
--c1:#4493f8;--c2:#3fb950;--c3:#d29922;--c4:#ab7df8;--c5:#db61a2;--c6:#39c5cf;--c7:#f0883e;--c8:#b7bdc8}}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:980px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:1.6em;margin:.4em 0}h2{font-size:1.2em;margin:1.6em 0 .5em}
.meta,.note,figcaption{color:var(--muted)}
.warning{border-left:4px solid var(--budget);background:var(--panel);padding:8px 12px;margin:8px 0}
figure{margin:0;background:var(--panel);border:1px solid var(--grid);border-radius:6px;padding:12px}
svg{display:block;max-width:100%;height:auto}
svg text{fill:var(--muted);font-size:11px;font-family:inherit}
svg .name{fill:var(--fg)}
.grid{stroke:var(--grid);stroke-width:1}
.col,.bar{fill:var(--bar)}.cache{fill:var(--cache)}.other{fill:var(--other)}
.s1{fill:var(--c1)}.s2{fill:var(--c2)}.s3{fill:var(--c3)}.s4{fill:var(--c4)}
.s5{fill:var(--c5)}.s6{fill:var(--c6)}.s7{fill:var(--c7)}.s8{fill:var(--c8)}
.spend{fill:none;stroke:var(--line);stroke-width:2.5;stroke-linejoin:round}
.budget{stroke:var(--budget);stroke-width:2}.budget-label{fill:var(--budget)}
.proj{stroke:var(--proj);stroke-width:2;stroke-dasharray:6 4}.proj-label{fill:var(--proj)}
.avg{stroke:var(--fg);stroke-width:1;stroke-dasharray:3 3}.avg-label{fill:var(--fg)}
.key{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin:0 .3em 0 1em;vertical-align:-.05em}
.key.col{background:var(--bar)}.key.spend{background:var(--line)}.key.budget{background:var(--budget)}
.key.proj{background:var(--proj)}.key.cache{background:var(--cache)}.key.avg{background:var(--fg)}
table{border-collapse:collapse;width:100%;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--grid);text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}.n{text-align:right}tfoot td{font-weight:600}
details{margin:6px 0}summary{cursor:pointer;color:var(--muted)}
.level-warning{color:var(--proj);font-weight:600}.level-critical,.level-exceeded{color:var(--budget);font-weight:700}
footer{margin-top:2em;color:var(--muted);font-size:.9em}
)css";

std::string PeriodTitle(absl::string_view name) {
  if (name == "today") return "Today";
  if (name == "week") return "This week";
  if (name == "month") return "This month";
  if (name == "all") return "All time";
  return std::string(name);
}

// The dates an all-time total spans, "2026-03-01..2026-04-10", or "-".
std::string SpanLabel(const Totals& t, const absl::TimeZone& tz) {
  if (t.entries == 0) return "-";
  const std::string first = DayLabel(DayOf(t.first, tz));
  const std::string last = DayLabel(DayOf(t.last, tz));
  return first == last ? first : absl::StrCat(first, "..", last);
}

void AppendTotals(const Summary& s, std::string* out) {
  out->append("<section id=\"totals\">\n<h2>Totals</h2>\n<table id=\"table-totals\">\n<thead><tr><th>Period</th>"
              "<th>Dates</th><th class=\"n\">Entries</th><th class=\"n\">Tokens</th><th class=\"n\">Cost</th>"
              "</tr></thead>\n<tbody>\n");
  for (const SummaryPeriod& p : s.periods) {
    const Totals& t = p.report.total;
    absl::StrAppend(out, "<tr data-period=\"", HtmlEscape(p.name), "\"><td>", PeriodTitle(p.name), "</td><td>",
                    HtmlEscape(p.name == "all" ? SpanLabel(t, s.tz) : p.report.range.label), "</td>",
                    CountCell(t.entries), CountCell(TotalTokens(t.tokens)), MoneyCell(t.cost), "</tr>\n");
  }
  out->append("</tbody>\n</table>\n</section>\n");
}

void AppendBudgets(const Summary& s, std::string* out) {
  out->append("<section id=\"budgets\">\n<h2>Budgets</h2>\n");
  const BudgetReport& b = s.budgets;
  if (b.statuses.empty()) {
    absl::StrAppend(out, "<p>No budget is set. Spent this month: ", FormatMoney(b.month_spent), ".");
    if (b.suggestion.has_value()) {
      const BudgetSuggestion& g = *b.suggestion;
      absl::StrAppend(out, " Suggested monthly budget: ", FormatMoney(g.monthly_limit), " (stage ",
                      StageName(g.stage), g.stage_inferred ? ", from this month's pace" : "", ").");
    }
    out->append(" Set one in <code>config.toml</code> under <code>[budgets]</code>.</p>\n</section>\n");
    return;
  }
  out->append("<table id=\"table-budgets\">\n<thead><tr><th>Budget</th><th>Scope</th><th>Period</th>"
              "<th class=\"n\">Spent</th><th class=\"n\">Limit</th><th class=\"n\">Used</th><th>Level</th>"
              "<th class=\"n\">Projected</th></tr></thead>\n<tbody>\n");
  for (const BudgetStatus& st : b.statuses) {
    const std::string level(BudgetLevelName(st.level));
    absl::StrAppend(out, "<tr><td>", HtmlEscape(st.budget.name), "</td><td>", HtmlEscape(st.budget.scope.ToString()),
                    "</td><td>", HtmlEscape(st.window.label), "</td>", MoneyCell(st.spent),
                    MoneyCell(st.budget.limit), "<td class=\"n\">", FormatPercent(st.spent, st.budget.limit, 1),
                    "%</td><td class=\"level-", level, "\">", level, "</td>",
                    st.projected.has_value() ? MoneyCell(*st.projected) : "<td class=\"n\">-</td>", "</tr>\n");
  }
  out->append("</tbody>\n</table>\n<p class=\"note\">Projected: the spend at the end of the period if its pace so "
              "far holds.</p>\n");
  bool any = false;
  for (const BudgetStatus& st : b.statuses) {
    if (st.recommendation == Recommendation::kStayTheCourse) continue;
    if (!any) out->append("<ul>\n");
    any = true;
    absl::StrAppend(out, "<li>", HtmlEscape(st.budget.name), ": ", HtmlEscape(RecommendationText(st.recommendation)),
                    "</li>\n");
  }
  if (any) out->append("</ul>\n");
  out->append("</section>\n");
}

// A chart's section: heading, figure (the SVG and its legend) and the table
// of its numbers, collapsed when it is long.
void AppendChart(absl::string_view section, absl::string_view heading, const std::string& svg,
                 const std::string& legend, const std::string& table, bool collapse, std::string* out) {
  absl::StrAppend(out, "<section id=\"", section, "\" class=\"chart\">\n<h2>", heading, "</h2>\n<figure>\n", svg);
  if (!legend.empty()) absl::StrAppend(out, "<figcaption>", legend, "</figcaption>\n");
  out->append("</figure>\n");
  if (collapse) {
    absl::StrAppend(out, "<details>\n<summary>The numbers</summary>\n", table, "</details>\n");
  } else {
    out->append(table);
  }
  out->append("</section>\n");
}

// Spend per day over the breakdown period, with the daily budget's line.
void AppendDailyChart(const Dashboard& d, std::string* out) {
  const Summary& s = d.summary;
  const std::string period = HtmlEscape(s.breakdown_range.label);
  const std::vector<Group>& days = d.daily.groups;
  const std::string heading = absl::StrCat("Spend per day (", period, ")");
  if (days.empty()) {
    absl::StrAppend(out, "<section id=\"daily\" class=\"chart\">\n<h2>", heading, "</h2>\n",
                    SvgOpen("chart-daily", kPlotWidth, 40, absl::StrCat("Spend per day, ", period, ": no entries")),
                    "<text x=\"", kPlotWidth / 2, "\" y=\"24\" text-anchor=\"middle\">No entries in this period."
                    "</text>\n</svg>\n</section>\n");
    return;
  }
  int64_t top = 0;
  for (const Group& g : days) top = std::max(top, g.totals.cost.value());
  if (d.daily_budget.has_value()) top = std::max(top, d.daily_budget->budget.limit.value());
  const int64_t max = NiceCeil(top);
  const int64_t step = ColumnStep(days.size());
  const int64_t gap = std::max<int64_t>(1, step / 5);
  const int64_t width = kAxisLeft + static_cast<int64_t>(days.size()) * step + kPlotRight;
  const int64_t height = kPlotTop + kPlotHeight + kAxisBottom;
  std::vector<std::string> labels;
  for (const Group& g : days) labels.push_back(DayOfGroup(g));
  std::string svg = SvgOpen("chart-daily", width, height,
                            absl::StrCat("Spend per day, ", period, ": ", FormatMoney(d.daily.total.cost), " over ",
                                         days.size(), days.size() == 1 ? " day" : " days"));
  MoneyAxis(max, width, &svg);
  for (size_t i = 0; i < days.size(); ++i) {
    const Totals& t = days[i].totals;
    const int64_t y = ColumnY(t.cost.value(), max);
    absl::StrAppend(&svg, "<rect class=\"col\" x=\"", kAxisLeft + static_cast<int64_t>(i) * step + gap / 2,
                    "\" y=\"", y, "\" width=\"", step - gap, "\" height=\"", kPlotTop + kPlotHeight - y,
                    "\"><title>", HtmlEscape(labels[i]), ": ", FormatMoney(t.cost), "</title></rect>\n");
  }
  DayAxis(labels, step, &svg);
  std::string legend = "<span class=\"key col\"></span>spend per day";
  if (d.daily_budget.has_value()) {
    const std::string limit = FormatMoney(d.daily_budget->budget.limit);
    ValueLine("budget", ColumnY(d.daily_budget->budget.limit.value(), max), width, absl::StrCat("budget ", limit),
              &svg);
    absl::StrAppend(&legend, "<span class=\"key budget\"></span>daily budget ", limit);
  }
  svg.append("</svg>\n");

  std::string table =
      "<table id=\"table-daily\">\n<thead><tr><th>Day</th><th class=\"n\">Entries</th><th class=\"n\">Tokens</th>"
      "<th class=\"n\">Cost</th></tr></thead>\n<tbody>\n";
  for (const Group& g : days) {
    absl::StrAppend(&table, "<tr><td>", HtmlEscape(DayOfGroup(g)), "</td>", CountCell(g.totals.entries),
                    CountCell(TotalTokens(g.totals.tokens)), MoneyCell(g.totals.cost), "</tr>\n");
  }
  absl::StrAppend(&table, "</tbody>\n<tfoot><tr><td>Total</td>", CountCell(d.daily.total.entries),
                  CountCell(TotalTokens(d.daily.total.tokens)), MoneyCell(d.daily.total.cost),
                  "</tr></tfoot>\n</table>\n");
  AppendChart("daily", heading, svg, legend, table, days.size() > 7, out);
}

// This month's cumulative spend against the monthly budget, and the
// month-end projection.
void AppendMonthChart(const Dashboard& d, std::string* out) {
  const Summary& s = d.summary;
  const std::vector<Group>& days = d.month_daily.groups;
  const std::string month = HtmlEscape(d.month.label);
  const std::string heading = absl::StrCat("This month against the budget (", month, ")");
  // The days drawn: through today, or through the last day with entries if
  // some were logged ahead of now.
  const absl::CivilDay today = DayOf(s.now, s.tz);
  const absl::CivilDay first = DayOf(d.month.start, s.tz);
  int64_t last = today - first;
  for (size_t i = 0; i < days.size(); ++i) {
    if (days[i].totals.entries > 0) last = std::max(last, static_cast<int64_t>(i));
  }
  last = std::min(last, static_cast<int64_t>(days.size()) - 1);
  std::vector<int64_t> cumulative;
  int64_t sum = 0;
  for (int64_t i = 0; i <= last; ++i) {
    sum += days[static_cast<size_t>(i)].totals.cost.value();  // cannot overflow: month_daily.total did not
    cumulative.push_back(sum);
  }
  const Micros projected = d.month_projected;
  int64_t top = std::max(sum, projected.value());
  if (d.monthly_budget.has_value()) top = std::max(top, d.monthly_budget->budget.limit.value());
  const int64_t max = NiceCeil(top);
  const int64_t step = ColumnStep(days.size());
  const int64_t width = kAxisLeft + static_cast<int64_t>(days.size()) * step + kPlotRight;
  const int64_t height = kPlotTop + kPlotHeight + kAxisBottom;
  std::vector<std::string> labels;
  for (const Group& g : days) labels.push_back(DayOfGroup(g));

  std::string title = absl::StrCat("This month, ", month, ": ", FormatMoney(Micros(sum)), " spent, ",
                                   FormatMoney(projected), " projected at month end");
  if (d.monthly_budget.has_value()) {
    absl::StrAppend(&title, ", against a budget of ", FormatMoney(d.monthly_budget->budget.limit));
  }
  std::string svg = SvgOpen("chart-budget", width, height, title);
  MoneyAxis(max, width, &svg);
  // Cumulative spend at the end of each day, from zero at the month's start.
  absl::StrAppend(&svg, "<polyline class=\"spend\" points=\"", kAxisLeft, ",", ColumnY(0, max));
  for (size_t i = 0; i < cumulative.size(); ++i) {
    absl::StrAppend(&svg, " ", kAxisLeft + static_cast<int64_t>(i + 1) * step, ",", ColumnY(cumulative[i], max));
  }
  absl::StrAppend(&svg, "\"><title>Spent by ", HtmlEscape(last >= 0 ? labels[static_cast<size_t>(last)] : ""),
                  ": ", FormatMoney(Micros(sum)), "</title></polyline>\n");
  // The projection: from today's cumulative spend to the month's end.
  const int64_t x0 = kAxisLeft + (last + 1) * step;
  const int64_t x1 = kAxisLeft + static_cast<int64_t>(days.size()) * step;
  const int64_t y1 = ColumnY(projected.value(), max);
  if (x1 > x0) {
    absl::StrAppend(&svg, "<line class=\"proj\" x1=\"", x0, "\" y1=\"", ColumnY(sum, max), "\" x2=\"", x1, "\" y2=\"",
                    y1, "\"><title>Projected at month end: ", FormatMoney(projected), "</title></line>\n");
  }
  absl::StrAppend(&svg, "<text class=\"proj-label\" x=\"", x1 + 4, "\" y=\"", y1 + 4, "\">projected ",
                  FormatMoney(projected), "</text>\n");
  std::string legend = absl::StrCat("<span class=\"key spend\"></span>spent so far ", FormatMoney(Micros(sum)),
                                    "<span class=\"key proj\"></span>projected at month end ",
                                    FormatMoney(projected));
  if (d.monthly_budget.has_value()) {
    const std::string limit = FormatMoney(d.monthly_budget->budget.limit);
    const int64_t y = ColumnY(d.monthly_budget->budget.limit.value(), max);
    // The label sits left of the line's end, so it does not collide with
    // the projection's.
    absl::StrAppend(&svg, "<line class=\"budget\" x1=\"", kAxisLeft, "\" y1=\"", y, "\" x2=\"", x1, "\" y2=\"", y,
                    "\"/><text class=\"budget-label\" x=\"", kAxisLeft + 4, "\" y=\"", y - 5, "\">budget ", limit,
                    "</text>\n");
    absl::StrAppend(&legend, "<span class=\"key budget\"></span>monthly budget ", limit);
  } else {
    absl::StrAppend(&legend, " (no monthly budget is set)");
  }
  DayAxis(labels, step, &svg);
  svg.append("</svg>\n");

  std::string table =
      "<table id=\"table-budget\">\n<thead><tr><th>Day</th><th class=\"n\">Cost</th><th class=\"n\">Spent so far"
      "</th></tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < cumulative.size(); ++i) {
    absl::StrAppend(&table, "<tr><td>", HtmlEscape(labels[i]), "</td>", MoneyCell(days[i].totals.cost),
                    MoneyCell(Micros(cumulative[i])), "</tr>\n");
  }
  absl::StrAppend(&table, "</tbody>\n<tfoot>\n<tr data-row=\"projected\"><td>Projected at month end</td><td></td>",
                  MoneyCell(projected), "</tr>\n");
  if (d.monthly_budget.has_value()) {
    absl::StrAppend(&table, "<tr data-row=\"budget\"><td>Monthly budget</td><td></td>",
                    MoneyCell(d.monthly_budget->budget.limit), "</tr>\n");
  }
  table.append("</tfoot>\n</table>\n");
  AppendChart("month", heading, svg, legend, table, true, out);
}

// A horizontal bar per group, its length its share of the total.
void AppendBarChart(absl::string_view key, absl::string_view heading, absl::string_view column,
                    const RollupReport& r, const absl::string_view range_label, bool colors, bool cache_hit,
                    std::string* out) {
  const std::string id = absl::StrCat("chart-", key);
  const std::string section = std::string(key);
  const std::string label = HtmlEscape(range_label);
  const std::string full_heading = absl::StrCat(heading, " (", label, ")");
  if (r.total.entries == 0) {
    absl::StrAppend(out, "<section id=\"", section, "\" class=\"chart\">\n<h2>", full_heading, "</h2>\n",
                    SvgOpen(id, kBarLabel + kBarWidth + kBarValue, 40,
                            absl::StrCat(heading, ", ", label, ": no entries")),
                    "<text x=\"", (kBarLabel + kBarWidth + kBarValue) / 2,
                    "\" y=\"24\" text-anchor=\"middle\">No entries in this period.</text>\n</svg>\n</section>\n");
    return;
  }
  const Micros total = r.total.cost;
  const int64_t width = kBarLabel + kBarWidth + kBarValue;
  const int64_t height = static_cast<int64_t>(r.groups.size()) * kBarRow + 8;
  std::string svg =
      SvgOpen(id, width, height, absl::StrCat(heading, ", ", label, ": ", FormatMoney(total), " in ", r.groups.size(),
                                              r.groups.size() == 1 ? " group" : " groups"));
  for (size_t i = 0; i < r.groups.size(); ++i) {
    const Group& g = r.groups[i];
    const std::string name = RawLabel(g);
    const int64_t y = 4 + static_cast<int64_t>(i) * kBarRow;
    const int64_t length = Scale(g.totals.cost.value(), total.value(), kBarWidth);
    const std::string cls = g.other ? "other" : colors ? absl::StrCat("s", i % kSeriesColors + 1) : "bar";
    const std::string share = CostShare(g.totals.cost, total);
    absl::StrAppend(&svg, "<g><title>", HtmlEscape(name), ": ", FormatMoney(g.totals.cost), " (", share,
                    ")</title><text class=\"name\" x=\"", kBarLabel - 8, "\" y=\"", y + 15, "\" text-anchor=\"end\">",
                    HtmlEscape(Truncate(name, kLabelChars)), "</text><rect class=\"", cls, "\" x=\"", kBarLabel, "\" y=\"", y + 2, "\" width=\"",
                    length, "\" height=\"", kBarRow - 8, "\"/><text x=\"", kBarLabel + length + 6, "\" y=\"", y + 15,
                    "\">", FormatMoney(g.totals.cost), " \xC2\xB7 ", share, "</text></g>\n");
  }
  svg.append("</svg>\n");

  std::string table = absl::StrCat("<table id=\"table-", key, "\">\n<thead><tr><th>", column,
                                   "</th><th class=\"n\">Entries</th><th class=\"n\">Tokens</th><th class=\"n\">Cost"
                                   "</th><th class=\"n\">Share</th>",
                                   cache_hit ? "<th class=\"n\">Cache hit</th>" : "", "</tr></thead>\n<tbody>\n");
  auto row = [&](const std::string& cells_attr, const std::string& name, const Totals& t) {
    absl::StrAppend(&table, "<tr", cells_attr, "><td>", HtmlEscape(name), "</td>", CountCell(t.entries),
                    CountCell(TotalTokens(t.tokens)), MoneyCell(t.cost), ShareCell(t.cost, total),
                    cache_hit ? RatioCell(t.cache_hit()) : "", "</tr>\n");
  };
  for (const Group& g : r.groups) row(g.other ? " data-other=\"true\"" : "", RawLabel(g), g.totals);
  table.append("</tbody>\n<tfoot>\n");
  row("", "Total", r.total);
  table.append("</tfoot>\n</table>\n");
  AppendChart(section, full_heading, svg, "", table, false, out);
}

// The cache-hit ratio per day, with the period's ratio as a line.
void AppendCacheChart(const Dashboard& d, std::string* out) {
  const Summary& s = d.summary;
  const std::string period = HtmlEscape(s.breakdown_range.label);
  const std::vector<Group>& days = d.daily.groups;
  const std::string heading = absl::StrCat("Cache-hit ratio per day (", period, ")");
  const Ratio overall = d.daily.total.cache_hit();
  if (days.empty()) {
    absl::StrAppend(out, "<section id=\"cache\" class=\"chart\">\n<h2>", heading, "</h2>\n",
                    SvgOpen("chart-cache", kPlotWidth, 40,
                            absl::StrCat("Cache-hit ratio per day, ", period, ": no entries")),
                    "<text x=\"", kPlotWidth / 2, "\" y=\"24\" text-anchor=\"middle\">No entries in this period."
                    "</text>\n</svg>\n</section>\n");
    return;
  }
  const int64_t step = ColumnStep(days.size());
  const int64_t gap = std::max<int64_t>(1, step / 5);
  const int64_t width = kAxisLeft + static_cast<int64_t>(days.size()) * step + kPlotRight;
  const int64_t height = kPlotTop + kPlotHeight + kAxisBottom;
  std::vector<std::string> labels;
  for (const Group& g : days) labels.push_back(DayOfGroup(g));
  std::string svg = SvgOpen("chart-cache", width, height,
                            absl::StrCat("Cache-hit ratio per day, ", period, ": ", PercentText(overall),
                                         " of prompt tokens read from the cache over the period"));
  for (int64_t pct : {0, 50, 100}) {
    const int64_t y = ColumnY(pct, 100);
    absl::StrAppend(&svg, "<line class=\"grid\" x1=\"", kAxisLeft, "\" y1=\"", y, "\" x2=\"", width - kPlotRight,
                    "\" y2=\"", y, "\"/><text class=\"tick\" x=\"", kAxisLeft - 6, "\" y=\"", y + 4,
                    "\" text-anchor=\"end\">", pct, "%</text>\n");
  }
  for (size_t i = 0; i < days.size(); ++i) {
    const Ratio hit = days[i].totals.cache_hit();
    if (!hit.defined()) continue;
    const int64_t y = kPlotTop + kPlotHeight - Scale(hit.num, hit.den, kPlotHeight);
    absl::StrAppend(&svg, "<rect class=\"cache\" x=\"", kAxisLeft + static_cast<int64_t>(i) * step + gap / 2,
                    "\" y=\"", y, "\" width=\"", step - gap, "\" height=\"", kPlotTop + kPlotHeight - y,
                    "\"><title>", HtmlEscape(labels[i]), ": ", PercentText(hit), "</title></rect>\n");
  }
  std::string legend = "<span class=\"key cache\"></span>cache read / prompt tokens, per day";
  if (overall.defined()) {
    const int64_t y = kPlotTop + kPlotHeight - Scale(overall.num, overall.den, kPlotHeight);
    ValueLine("avg", y, width, absl::StrCat("period ", PercentText(overall)), &svg);
    absl::StrAppend(&legend, "<span class=\"key avg\"></span>over the period ", PercentText(overall));
  }
  DayAxis(labels, step, &svg);
  svg.append("</svg>\n");

  std::string table =
      "<table id=\"table-cache\">\n<thead><tr><th>Day</th><th class=\"n\">Input</th><th class=\"n\">Cache read</th>"
      "<th class=\"n\">Prompt tokens</th><th class=\"n\">Cache hit</th></tr></thead>\n<tbody>\n";
  auto row = [&](const std::string& name, const Totals& t) {
    const Ratio hit = t.cache_hit();
    absl::StrAppend(&table, "<tr><td>", HtmlEscape(name), "</td>", CountCell(t.tokens.input().value()),
                    CountCell(t.tokens.cache_read().value()), CountCell(hit.den), RatioCell(hit), "</tr>\n");
  };
  for (const Group& g : days) row(DayOfGroup(g), g.totals);
  table.append("</tbody>\n<tfoot>\n");
  row("Total", d.daily.total);
  table.append("</tfoot>\n</table>\n");
  AppendChart("cache", heading, svg, legend, table, days.size() > 7, out);
}

void AppendUnpriced(const Summary& s, std::string* out) {
  const Totals& u = s.unpriced.total;
  if (u.entries == 0) return;
  const bool one = u.entries == 1;
  absl::StrAppend(out, "<section id=\"unpriced\">\n<h2>Unpriced entries</h2>\n<p><strong>", GroupDigits(u.entries),
                  one ? " entry" : " entries", " (", GroupDigits(TotalTokens(u.tokens)),
                  " tokens) could not be priced: ",
                  one ? "its model is not in the rate table, so it counts"
                      : "their models are not in the rate table, so they count",
                  " as $0.00 in every figure above.</strong> Add ",
                  s.unpriced.groups.size() == 1 ? "the model" : "the models",
                  " to a rate table (<code>[rates] files</code> in <code>config.toml</code>).</p>\n"
                  "<table id=\"table-unpriced\">\n<thead><tr><th>Model</th><th class=\"n\">Entries</th>"
                  "<th class=\"n\">Tokens</th><th>First</th><th>Last</th></tr></thead>\n<tbody>\n");
  for (const Group& g : s.unpriced.groups) {
    absl::StrAppend(out, "<tr><td>", HtmlEscape(RawLabel(g)), "</td>", CountCell(g.totals.entries),
                    CountCell(TotalTokens(g.totals.tokens)), "<td>",
                    absl::FormatTime("%Y-%m-%d %H:%M", g.totals.first, s.tz), "</td><td>",
                    absl::FormatTime("%Y-%m-%d %H:%M", g.totals.last, s.tz), "</td></tr>\n");
  }
  out->append("</tbody>\n</table>\n</section>\n");
}

void AppendIssues(const Summary& s, std::string* out) {
  if (s.issues.empty()) return;
  absl::StrAppend(out, "<section id=\"issues\">\n<h2>Skipped ledger lines</h2>\n<p>",
                  GroupDigits(static_cast<int64_t>(s.issues.size())),
                  s.issues.size() == 1 ? " line of the ledger could not be read and is"
                                       : " lines of the ledger could not be read and are",
                  " left out of every figure:</p>\n<ul>\n");
  const size_t shown = std::min(s.issues.size(), s.max_issues);
  for (size_t i = 0; i < shown; ++i) {
    const LedgerIssue& issue = s.issues[i];
    const std::string file = std::filesystem::path(issue.file).filename().string();
    absl::StrAppend(out, "<li>", HtmlEscape(file.empty() ? issue.file : file), ":", issue.line, ": ",
                    HtmlEscape(issue.message), "</li>\n");
  }
  if (shown < s.issues.size()) absl::StrAppend(out, "<li>and ", s.issues.size() - shown, " more</li>\n");
  out->append("</ul>\n</section>\n");
}

// The first budget over every entry with this period.
std::optional<BudgetStatus> AllScope(const BudgetReport& b, BudgetPeriod period) {
  for (const BudgetStatus& st : b.statuses) {
    if (st.budget.scope.kind == ScopeKind::kAll && st.budget.period == period) return st;
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------
// Builder.

absl::StatusOr<DashboardBuilder> DashboardBuilder::Create(absl::Time now, absl::TimeZone tz,
                                                          absl::Weekday week_start,
                                                          const DashboardOptions& options) {
  SummaryOptions so;
  so.time_zone = options.time_zone;
  so.period = options.period;
  so.top = options.top;
  so.top_sessions = options.top;
  TKB_ASSIGN_OR_RETURN(SummaryBuilder summary, SummaryBuilder::Create(now, tz, week_start, so));
  DashboardBuilder b(std::move(summary));
  b.now_ = now;
  b.tz_ = tz;
  b.week_start_ = week_start;
  TKB_ASSIGN_OR_RETURN(TimeRange range, ResolvePeriod(options.period, now, tz, week_start));
  TKB_ASSIGN_OR_RETURN(b.month_, ResolvePeriod("month", now, tz, week_start));
  auto by_day = [&](TimeRange r) {
    RollupQuery q;
    q.range = std::move(r);
    q.tz = tz;
    q.week_start = week_start;
    q.group_by = {GroupKey::Time(TimeBucket::kDay)};
    q.fill_empty_buckets = true;
    return q;
  };
  TKB_ASSIGN_OR_RETURN(Rollup daily, Rollup::Create(by_day(range)));
  TKB_ASSIGN_OR_RETURN(Rollup month_daily, Rollup::Create(by_day(b.month_)));
  RollupQuery features;
  features.range = range;
  features.tz = tz;
  features.week_start = week_start;
  features.group_by = {GroupKey::Of(Dimension::kFeature)};
  features.top_n = options.top;
  features.order = SortOrder::kCost;
  TKB_ASSIGN_OR_RETURN(Rollup by_feature, Rollup::Create(std::move(features)));
  b.daily_.emplace(std::move(daily));
  b.month_daily_.emplace(std::move(month_daily));
  b.features_.emplace(std::move(by_feature));
  return b;
}

void DashboardBuilder::Add(const Entry& e) {
  summary_.Add(e);
  daily_->Add(e);
  month_daily_->Add(e);
  features_->Add(e);
}

absl::StatusOr<Dashboard> DashboardBuilder::Finish(BudgetReport budgets, std::vector<LedgerIssue> issues) const {
  Dashboard d;
  d.monthly_budget = AllScope(budgets, BudgetPeriod::kMonthly);
  d.daily_budget = AllScope(budgets, BudgetPeriod::kDaily);
  TKB_ASSIGN_OR_RETURN(d.summary, summary_.Finish(std::move(budgets), std::move(issues)));
  TKB_ASSIGN_OR_RETURN(d.daily, daily_->Finish());
  TKB_ASSIGN_OR_RETURN(d.month_daily, month_daily_->Finish());
  TKB_ASSIGN_OR_RETURN(d.features, features_->Finish());
  d.month = month_;
  if (d.monthly_budget.has_value() && d.monthly_budget->projected.has_value()) {
    d.month_projected = *d.monthly_budget->projected;
  } else {
    // The budget service's projection for a monthly budget, over this
    // month's spend.
    const BudgetWindow w = WindowFor(BudgetPeriod::kMonthly, now_, BudgetCalendar{tz_, week_start_});
    const __int128 p =
        w.units_elapsed > 0
            ? DivRoundHalfEven(static_cast<__int128>(d.month_daily.total.cost.value()) * w.units_in_period,
                               w.units_elapsed)
            : 0;
    if (p > INT64_MAX || p < INT64_MIN) return absl::OutOfRangeError("month-end projection overflows 64 bits");
    d.month_projected = Micros(static_cast<int64_t>(p));
  }
  return d;
}

absl::StatusOr<Dashboard> ComputeDashboard(Book& book, absl::Time now, const DashboardOptions& options) {
  absl::TimeZone tz = book.config().time_zone;
  if (!options.time_zone.empty() && !absl::LoadTimeZone(options.time_zone, &tz)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown time zone \"", options.time_zone, "\""));
  }
  TKB_ASSIGN_OR_RETURN(DashboardBuilder builder,
                       DashboardBuilder::Create(now, tz, book.config().week_start, options));
  std::vector<LedgerIssue> issues;
  TKB_RETURN_IF_ERROR(book.ledger().Scan([&](const Entry& e) { builder.Add(e); }, &issues));
  TKB_ASSIGN_OR_RETURN(BudgetReport budgets, book.budgets().Status(now));
  TKB_ASSIGN_OR_RETURN(Dashboard d, builder.Finish(std::move(budgets), std::move(issues)));
  const std::string name = std::filesystem::path(book.ledger().ledger_path()).filename().string();
  d.summary.ledger_name = name.empty() ? book.ledger().ledger_path() : name;
  return d;
}

// ---------------------------------------------------------------------------
// The page.

std::string DashboardHtml(const Dashboard& d) {
  const Summary& s = d.summary;
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n";
  absl::StrAppend(&out, "<title>Token spend, ", HtmlEscape(s.breakdown_range.label), "</title>\n<style>", kStyle,
                  "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>Token spend</h1>\n<p class=\"meta\">As of ",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", s.now, s.tz), " (", HtmlEscape(s.time_zone),
                  "); weeks start on ", WeekdayName(s.week_start),
                  ". Generated by <code>tokenbook dashboard</code> from <code>", HtmlEscape(s.ledger_name),
                  "</code>.</p>\n</header>\n");
  if (s.unpriced.total.entries > 0) {
    absl::StrAppend(&out, "<p class=\"warning\" id=\"warning-unpriced\"><strong>Warning: ",
                    GroupDigits(s.unpriced.total.entries),
                    s.unpriced.total.entries == 1 ? " unpriced entry</strong> counts"
                                                  : " unpriced entries</strong> count",
                    " as $0.00: see <a href=\"#unpriced\">Unpriced entries</a>.</p>\n");
  }
  if (!s.issues.empty()) {
    absl::StrAppend(&out, "<p class=\"warning\" id=\"warning-issues\"><strong>Warning: ",
                    GroupDigits(static_cast<int64_t>(s.issues.size())),
                    s.issues.size() == 1 ? " ledger line" : " ledger lines",
                    " skipped</strong>: see <a href=\"#issues\">Skipped ledger lines</a>.</p>\n");
  }
  AppendTotals(s, &out);
  AppendBudgets(s, &out);
  AppendMonthChart(d, &out);
  AppendDailyChart(d, &out);
  static const RollupReport kEmpty;
  const SummaryBreakdown* models = s.Breakdown(Dimension::kModel);
  const SummaryBreakdown* agents = s.Breakdown(Dimension::kAgent);
  AppendBarChart("models", "Share by model", "Model", models != nullptr ? models->report : kEmpty,
                 s.breakdown_range.label, /*colors=*/true, /*cache_hit=*/true, &out);
  AppendBarChart("features", "Top features", "Feature", d.features, s.breakdown_range.label, false, false, &out);
  AppendBarChart("agents", "Top agents", "Agent", agents != nullptr ? agents->report : kEmpty,
                 s.breakdown_range.label, false, false, &out);
  AppendCacheChart(d, &out);
  AppendUnpriced(s, &out);
  AppendIssues(s, &out);
  absl::StrAppend(&out, "<footer>\n<p>", GroupDigits(s.entries_read), s.entries_read == 1 ? " entry" : " entries",
                  " read, ", GroupDigits(static_cast<int64_t>(s.issues.size())),
                  s.issues.size() == 1 ? " line" : " lines",
                  " skipped. Amounts are exact sums of micro-dollars, rounded only for display.</p>\n</footer>\n"
                  "</main>\n</body>\n</html>\n");
  return out;
}

}  // namespace v1
}  // namespace tokenbook
