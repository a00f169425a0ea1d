// Unit tests for lib/tokenbook/dashboard.h: the HTML dashboard of a small
// ledger is well-formed, self-contained and holds every chart; its figures
// are the summary's and the budget service's, to the micro-dollar; chart
// geometry is exact integer arithmetic; hostile names stay text; an empty
// ledger renders; the output is the same bytes for the same inputs.
#include "tokenbook/dashboard.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/entry.h"
#include "tokenbook/ledger.h"
#include "tokenbook/summary.h"

namespace tokenbook {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-dashboard-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name, std::ios::binary | std::ios::trunc) << text;
  }
  void Append(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name, std::ios::binary | std::ios::app) << text;
  }

 private:
  std::string path_;
};

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  const bool ok = absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err);
  REQUIRE_MESSAGE(ok, rfc3339 << ": " << err);
  return t;
}

struct Dims {
  const char* agent = "";
  const char* feature = "";
};

// An entry with an exact cost (or unpriced when cost_micros < 0).
Entry E(const char* ts, const char* model, int64_t cost_micros, Dims d = {}, int64_t input = 0,
        int64_t cache_read = 0) {
  static int serial = 0;
  Entry e;
  e.id = absl::StrCat("01DASH", 10000 + ++serial);
  e.timestamp = At(ts);
  e.model = model;
  e.provider = "test";
  if (cost_micros < 0) {
    e.cost = Micros(0);
    e.cost_source = CostSource::kUnpriced;
  } else {
    e.cost = Micros(cost_micros);
    e.cost_source = CostSource::kOverride;
  }
  e.agent = d.agent;
  e.feature = d.feature;
  e.tokens[TokenKind::kInput] = Tokens(input);
  e.tokens[TokenKind::kCacheRead] = Tokens(cache_read);
  return e;
}

std::unique_ptr<Book> OpenBook(const TempDir& dir, const std::string& config = "") {
  if (!config.empty()) dir.Write("config.toml", config);
  absl::StatusOr<std::unique_ptr<Book>> book = Book::Open(dir.path());
  REQUIRE_MESSAGE(book.ok(), book.status().ToString());
  return *std::move(book);
}

void AppendAll(Book& book, std::vector<Entry> entries) {
  absl::StatusOr<std::vector<AppendResult>> r = book.ledger().AppendBatch(std::move(entries));
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
}

Dashboard Compute(Book& book, absl::Time now, const DashboardOptions& options = {}) {
  absl::StatusOr<Dashboard> d = ComputeDashboard(book, now, options);
  REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  return *std::move(d);
}

// Checks that every element of `html` is closed in order (void elements and
// self-closed SVG elements aside) and that no markup hides in text: returns
// "" when well-formed, else what is wrong.
std::string CheckTagBalance(const std::string& html) {
  static const char* const kVoid[] = {"meta", "br", "hr", "img", "link", "input", "wbr"};
  std::vector<std::string> open;
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    const size_t end = html.find('>', i);
    if (end == std::string::npos) return absl::StrCat("unterminated tag at ", i);
    std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (absl::StartsWith(tag, "!")) continue;  // <!DOCTYPE html>
    const bool closing = absl::StartsWith(tag, "/");
    const bool self_closed = absl::EndsWith(tag, "/");
    size_t n = closing ? 1 : 0;
    std::string name;
    while (n < tag.size() && (absl::ascii_isalnum(static_cast<unsigned char>(tag[n])) || tag[n] == '-')) {
      name.push_back(tag[n++]);
    }
    if (name.empty()) return absl::StrCat("bad tag <", tag, ">");
    if (closing) {
      if (open.empty() || open.back() != name) {
        return absl::StrCat("</", name, "> closes <", open.empty() ? "nothing" : open.back(), ">");
      }
      open.pop_back();
      continue;
    }
    bool is_void = self_closed;
    for (const char* v : kVoid) is_void |= name == v;
    if (!is_void) open.push_back(name);
  }
  if (!open.empty()) return absl::StrCat("<", open.back(), "> is never closed");
  return "";
}

// The table row (<tr ...>...) holding `marker`.
std::string Row(const std::string& html, const std::string& marker) {
  const size_t at = html.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = html.rfind("<tr", at);
  const size_t end = html.find("</tr>", at);
  return html.substr(start, end - start);
}

constexpr char kConfig[] = R"(
time_zone = "UTC"
[budgets]
daily = "0.50"
monthly = "10.00"
)";

void FillLedger(const TempDir& dir, Book& book) {
  AppendAll(book, {
                      E("2026-04-10T09:00:00Z", "claude-sonnet-4-5", 69'000, {"planner", "search"}, 10'000, 30'000),
                      E("2026-04-08T10:30:00Z", "gpt-5", 500'000, {"coder", "search"}, 5'000),
                      E("2026-04-09T00:15:00Z", "mystery-model", -1, {"coder", "search"}, 700),
                      E("2026-03-15T09:00:00Z", "gpt-5", 4'000, {"reviewer", "ledger"}, 1'000),
                      E("2026-04-01T08:00:00Z", "claude-haiku-4-5", 4'500, {"reviewer", "ledger"}, 2'000),
                  });
  dir.Append("ledger.jsonl", "{\"v\":1,\"id\":\"broken\"\n");
}

TEST_CASE("dashboard: a small ledger gives a well-formed, self-contained page with every chart") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, kConfig);
  FillLedger(dir, *book);
  const absl::Time now = At("2026-04-10T12:00:00Z");
  const Dashboard d = Compute(*book, now);
  const std::string html = DashboardHtml(d);

  CHECK(CheckTagBalance(html) == "");
  CHECK(absl::StartsWith(html, "<!DOCTYPE html>\n<html lang=\"en\">"));
  CHECK(absl::StrContains(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                                "style-src 'unsafe-inline'; img-src data:\">"));
  CHECK(absl::StrContains(html, "@media (prefers-color-scheme:dark)"));
  // Nothing to run, nothing to fetch.
  CHECK(!absl::StrContains(html, "<script"));
  CHECK(!absl::StrContains(html, "http:"));
  CHECK(!absl::StrContains(html, "https:"));
  CHECK(!absl::StrContains(html, "url("));
  CHECK(!absl::StrContains(html, "@import"));
  for (const char* id : {"chart-budget", "chart-daily", "chart-models", "chart-features", "chart-agents",
                         "chart-cache"}) {
    CAPTURE(id);
    CHECK(absl::StrContains(html, absl::StrCat("<svg id=\"", id, "\" role=\"img\" aria-labelledby=\"", id,
                                               "-title\"")));
    CHECK(absl::StrContains(html, absl::StrCat("<title id=\"", id, "-title\">")));
  }
  for (const char* id : {"table-totals", "table-budgets", "table-budget", "table-daily", "table-models",
                         "table-features", "table-agents", "table-cache", "table-unpriced"}) {
    CAPTURE(id);
    CHECK(absl::StrContains(html, absl::StrCat("<table id=\"", id, "\">")));
  }
  // The warnings of summary.md.
  CHECK(absl::StrContains(html, "Warning: 1 unpriced entry</strong> counts as $0.00"));
  CHECK(absl::StrContains(html, "Warning: 1 ledger line skipped</strong>"));
  CHECK(absl::StrContains(html, "<li>ledger.jsonl:6: "));
  // Deterministic.
  CHECK(DashboardHtml(Compute(*book, now)) == html);
}

TEST_CASE("dashboard: figures are the summary's and the budget service's, exactly") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, kConfig);
  FillLedger(dir, *book);
  const absl::Time now = At("2026-04-10T12:00:00Z");
  const Dashboard d = Compute(*book, now);
  absl::StatusOr<Summary> summary = ComputeSummary(*book, now, SummaryOptions{"", "month", 8, 8, 20});
  REQUIRE(summary.ok());
  const Micros month = summary->Period("month")->report.total.cost;
  CHECK(month == Micros(573'500));
  CHECK(d.summary.Period("month")->report.total.cost == month);
  CHECK(d.daily.total.cost == month);
  CHECK(d.month_daily.total.cost == month);
  CHECK(d.features.total.cost == month);
  CHECK(d.daily.groups.size() == 30);  // every day of April, empty ones too
  CHECK(d.daily.groups[7].values[0] == "2026-04-08");
  CHECK(d.daily.groups[7].totals.cost == Micros(500'000));
  // The budget lines and the projection are the budget service's.
  absl::StatusOr<BudgetReport> budgets = book->budgets().Status(now);
  REQUIRE(budgets.ok());
  REQUIRE(d.monthly_budget.has_value());
  REQUIRE(d.daily_budget.has_value());
  CHECK(d.monthly_budget->budget.limit == Micros(10'000'000));
  CHECK(d.daily_budget->budget.limit == Micros(500'000));
  REQUIRE(budgets->statuses.size() == 2);
  CHECK(d.month_projected == *budgets->statuses[1].projected);
  CHECK(d.month_projected == Micros(1'720'500));  // 573500 × 30 / 10

  const std::string html = DashboardHtml(d);
  CHECK(absl::StrContains(Row(html, "data-period=\"month\""), "<td class=\"n\" data-micros=\"573500\">$0.57</td>"));
  CHECK(absl::StrContains(Row(html, "data-period=\"all\""), "data-micros=\"577500\""));
  CHECK(absl::StrContains(Row(html, "data-row=\"projected\""), "data-micros=\"1720500\""));
  CHECK(absl::StrContains(Row(html, "data-row=\"budget\""), "data-micros=\"10000000\""));
  CHECK(absl::StrContains(html, "<tr><td>2026-04-10</td><td class=\"n\" data-micros=\"69000\">$0.07</td>"
                                "<td class=\"n\" data-micros=\"573500\">$0.57</td></tr>"));
  // Models: gpt-5 first, its share as exact integers.
  CHECK(absl::StrContains(html, "<tr><td>gpt-5</td><td class=\"n\">1</td><td class=\"n\">5,000</td>"
                                "<td class=\"n\" data-micros=\"500000\">$0.50</td>"
                                "<td class=\"n\" data-num=\"500000\" data-den=\"573500\">87.2%</td>"));
  // Cache hit per day: 30000 of 40000 prompt tokens on the 10th.
  CHECK(absl::StrContains(html, "<tr><td>2026-04-10</td><td class=\"n\">10,000</td><td class=\"n\">30,000</td>"
                                "<td class=\"n\">40,000</td><td class=\"n\" data-num=\"30000\" data-den=\"40000\">"
                                "75.0%</td></tr>"));
  // Features: search, then ledger (April's entry only).
  CHECK(absl::StrContains(html, "<tr><td>search</td><td class=\"n\">3</td>"));
  CHECK(absl::StrContains(html, "<tr><td>ledger</td><td class=\"n\">1</td>"));
}

TEST_CASE("dashboard: chart geometry is exact integer arithmetic") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, "time_zone = \"UTC\"\n[budgets]\nmonthly = \"3.00\"\n");
  AppendAll(*book, {
                       E("2026-04-01T09:00:00Z", "m", 1'000'000, {"a", "f"}, 100, 300),
                       E("2026-04-02T09:00:00Z", "m", 250'000, {"b", "f"}, 100),
                   });
  const Dashboard d = Compute(*book, At("2026-04-02T12:00:00Z"));
  const std::string html = DashboardHtml(d);
  CHECK(CheckTagBalance(html) == "");
  // Spend per day: the axis tops at $1.00, 30 days of 24 units from x = 76;
  // $1.00 is the whole 200-unit height, $0.25 is 50.
  CHECK(absl::StrContains(html, "<rect class=\"col\" x=\"78\" y=\"14\" width=\"20\" height=\"200\">"
                                "<title>2026-04-01: $1.00</title></rect>"));
  CHECK(absl::StrContains(html, "<rect class=\"col\" x=\"102\" y=\"164\" width=\"20\" height=\"50\">"));
  CHECK(absl::StrContains(html, ">$0.50</text>"));  // the half-way tick
  // This month: spent $1.25 by day 2, projected 1.25 × 30 / 2 = $18.75, so
  // the axis tops at $20.00; the budget line sits at $3.00: y = 214 - 30.
  CHECK(d.month_projected == Micros(18'750'000));
  CHECK(absl::StrContains(html, "<polyline class=\"spend\" points=\"76,214 100,204 124,202\">"));
  CHECK(absl::StrContains(html, "<line class=\"budget\" x1=\"76\" y1=\"184\" x2=\"796\" y2=\"184\"/>"));
  CHECK(absl::StrContains(html, "<line class=\"proj\" x1=\"124\" y1=\"202\" x2=\"796\" y2=\"27\">"));
  // Bars: the share of the total over 400 units (4/5 and 1/5).
  CHECK(absl::StrContains(html, "<rect class=\"bar\" x=\"190\" y=\"6\" width=\"320\" height=\"20\"/>"));
  CHECK(absl::StrContains(html, "<rect class=\"bar\" x=\"190\" y=\"34\" width=\"80\" height=\"20\"/>"));
  // Cache hit: 300 / 400 on the 1st is 150 of 200 units; 0 / 100 on the 2nd
  // is an empty bar.
  CHECK(absl::StrContains(html, "<rect class=\"cache\" x=\"78\" y=\"64\" width=\"20\" height=\"150\">"
                                "<title>2026-04-01: 75.0%</title></rect>"));
  CHECK(absl::StrContains(html, "<rect class=\"cache\" x=\"102\" y=\"214\" width=\"20\" height=\"0\">"));
}

TEST_CASE("dashboard: hostile names stay text") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  AppendAll(*book, {
                       E("2026-04-02T10:00:00Z", "<script>alert(1)</script>", 300,
                         {"\"><img src=x onerror=alert(1)>", "a&b'c\nd"}),
                       E("2026-04-02T11:00:00Z", "</svg><svg onload=alert(1)>", 200, {"</title>", "<style>"}),
                   });
  const std::string html = DashboardHtml(Compute(*book, At("2026-04-10T12:00:00Z")));
  CHECK(CheckTagBalance(html) == "");
  CHECK(!absl::StrContains(html, "<script"));
  CHECK(!absl::StrContains(html, "<img"));
  CHECK(!absl::StrContains(html, "<svg onload"));
  CHECK(absl::StrContains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(absl::StrContains(html, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
  CHECK(absl::StrContains(html, "a&amp;b&#39;c d"));
  CHECK(absl::StrContains(html, "<tr><td>&lt;/title&gt;</td>"));
  CHECK(HtmlEscape("<a href=\"x\">&'</a>\x01") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; ");
}

TEST_CASE("dashboard: long names are cut in the charts and whole in the tables") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  const std::string name = "an-agent-with-a-rather-long-name-\xC3\xA9\xC3\xA9\xC3\xA9";
  AppendAll(*book, {E("2026-04-02T10:00:00Z", "m", 300, {name.c_str(), ""})});
  const std::string html = DashboardHtml(Compute(*book, At("2026-04-10T12:00:00Z")));
  CHECK(absl::StrContains(html, ">an-agent-with-a-rather-lon\xE2\x80\xA6</text>"));
  CHECK(absl::StrContains(html, absl::StrCat("<tr><td>", name, "</td>")));
}

TEST_CASE("dashboard: an empty ledger renders every section") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir);
  const Dashboard d = Compute(*book, At("2026-04-10T12:00:00Z"));
  CHECK(!d.monthly_budget.has_value());
  CHECK(d.month_projected == Micros(0));
  const std::string html = DashboardHtml(d);
  CHECK(CheckTagBalance(html) == "");
  for (const char* id : {"chart-budget", "chart-daily", "chart-models", "chart-features", "chart-agents",
                         "chart-cache"}) {
    CAPTURE(id);
    CHECK(absl::StrContains(html, absl::StrCat("<svg id=\"", id, "\"")));
  }
  CHECK(absl::StrContains(html, "No budget is set."));
  CHECK(absl::StrContains(html, "(no monthly budget is set)"));
  CHECK(absl::StrContains(html, "0 entries read, 0 lines skipped."));
}

TEST_CASE("dashboard: --period all spans the ledger's days; a bad period is an error") {
  TempDir dir;
  std::unique_ptr<Book> book = OpenBook(dir, "time_zone = \"UTC\"\n");
  AppendAll(*book, {
                       E("2026-03-30T10:00:00Z", "m", 300),
                       E("2026-04-02T10:00:00Z", "m", 200),
                   });
  DashboardOptions options;
  options.period = "all";
  const Dashboard d = Compute(*book, At("2026-04-10T12:00:00Z"), options);
  REQUIRE(d.daily.groups.size() == 4);
  CHECK(d.daily.groups.front().values[0] == "2026-03-30");
  CHECK(d.daily.groups.back().values[0] == "2026-04-02");
  CHECK(d.daily.total.cost == Micros(500));
  // Without a monthly budget the projection uses the same rule: 200 × 30 / 10.
  CHECK(d.month_projected == Micros(600));
  options.period = "fortnight";
  CHECK(ComputeDashboard(*book, At("2026-04-10T12:00:00Z"), options).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokenbook
