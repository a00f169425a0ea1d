// Tests of the running-totals cache of lib/tokenbook/budgets.h: a service
// that starts from cache/budget-totals.json reads only the ledger's tail and
// reaches the same totals as a full read, and any cache it cannot trust
// (corrupt, torn, for another configuration or another ledger) means a full
// read.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/budgets.h"
#include "tokenbook/config.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
namespace {

constexpr char kConfig[] = R"(
time_zone = "America/New_York"
week_start = "sunday"
[budgets]
monthly = "100000.00"
weekly = "50000.00"
daily = "10000.00"
session = "5000.00"
[[budgets.scoped]]
project = "acme"
period = "monthly"
limit = "20000"
[[budgets.scoped]]
project = "beta"
period = "daily"
limit = "900"
)";

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-budget-cache-test-XXXXXX";
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
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(File(name), std::ios::binary | std::ios::trunc) << text;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(File(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

const std::string kCacheFile = absl::StrCat(kBudgetCacheDirName, "/", kBudgetCacheFileName);

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

// Entry `k` of a deterministic series spread over March to May 2026, over
// a handful of sessions and projects, with varied costs.
Entry SeriesEntry(int64_t k, int salt = 0) {
  Entry e;
  e.model = "test-model";
  e.provider = "test";
  e.cost = Micros(1 + (k * 7919 + salt * 131) % 1'000'003);
  e.cost_source = CostSource::kOverride;
  e.timestamp = Utc(2026, 3, 1) + absl::Seconds((k * 104729 + salt * 17) % (92 * 86400));
  static const char* const kSessions[] = {"", "s1", "s2", "s3", "", "s4"};
  static const char* const kProjects[] = {"", "acme", "beta", "", "acme"};
  e.session = kSessions[(k + salt) % 6];
  e.project = kProjects[(k / 3 + salt) % 5];
  return e;
}

void AppendSeries(Ledger* ledger, int64_t first, int64_t count, int salt = 0) {
  constexpr int64_t kBatch = 10'000;
  for (int64_t done = 0; done < count; done += kBatch) {
    std::vector<Entry> batch;
    for (int64_t k = done; k < std::min(count, done + kBatch); ++k) batch.push_back(SeriesEntry(first + k, salt));
    absl::StatusOr<std::vector<AppendResult>> r = ledger->AppendBatch(std::move(batch));
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  }
}

// A ledger handle and a service over a directory, as one process has them.
struct Process {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<BudgetService> service;

  explicit Process(const TempDir& dir) {
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir.path());
    REQUIRE_MESSAGE(l.ok(), l.status().ToString());
    ledger = std::move(*l);
    absl::StatusOr<Config> config = LoadConfig(dir.path());
    REQUIRE_MESSAGE(config.ok(), config.status().ToString());
    absl::StatusOr<std::unique_ptr<BudgetService>> s = BudgetService::Open(ledger.get(), std::move(*config));
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    service = std::move(*s);
  }
};

// Every figure of the reports at several `now`s and sessions, as text.
std::string Figures(BudgetService* service) {
  std::string out;
  const absl::Time nows[] = {Utc(2026, 4, 10, 12), Utc(2026, 4, 10, 3), Utc(2026, 3, 31, 23),
                             Utc(2026, 5, 31, 12), Utc(2026, 6, 15)};
  for (const absl::Time now : nows) {
    for (const char* session : {"", "s1", "s3", "nobody"}) {
      absl::StatusOr<BudgetReport> r = service->Status(now, session);
      REQUIRE_MESSAGE(r.ok(), r.status().ToString());
      absl::StrAppend(&out, absl::FormatTime(now), " ", r->session, " month=", r->month_spent.value(), ":");
      for (const BudgetStatus& s : r->statuses) {
        absl::StrAppend(&out, " ", s.budget.name, "[", s.window.label, "]=", s.spent.value());
      }
      out.push_back('\n');
    }
  }
  return out;
}

// The same figures from a fresh process with no cache (a full read).
std::string FullScanFigures(const TempDir& dir) {
  const std::string saved = dir.Read(kCacheFile);
  std::filesystem::remove(dir.File(kCacheFile));
  Process p(dir);
  std::string out = Figures(p.service.get());
  if (!saved.empty()) dir.Write(kCacheFile, saved);
  return out;
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// Replaces the cache's trailer so that its hash matches the first two lines
// again (to test the checks behind the hash).
std::string Rehash(const std::string& text) {
  const size_t nl1 = text.find('\n');
  const size_t nl2 = text.find('\n', nl1 + 1);
  const std::string body = text.substr(0, nl2 + 1);
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(Fnv1a(body)));
  return absl::StrCat(body, "{\"end\":true,\"fnv1a64\":\"", hex, "\"}\n");
}

TEST_CASE("Budget cache: totals from a cached start equal a full read") {
  TempDir dir;
  dir.Write("config.toml", kConfig);
  {
    Process writer(dir);
    AppendSeries(writer.ledger.get(), 0, 3000);
    REQUIRE(writer.service->RefreshCache().ok());
    CHECK(writer.service->LinesDecodedByLastCatchUp() == 3000);
  }
  REQUIRE(std::filesystem::exists(dir.File(kCacheFile)));
  {
    Process more(dir);
    AppendSeries(more.ledger.get(), 3000, 100);
  }
  Process cached(dir);
  const std::string figures = Figures(cached.service.get());
  CHECK(figures.substr(0, figures.find('\n')).find("month=0:") == std::string::npos);  // April counts
  {
    // The first catch-up read only the 100 lines past the cache (less than
    // the 64 KiB after which the cache is rewritten).
    Process fresh(dir);
    REQUIRE(fresh.service->Status(Utc(2026, 4, 10)).ok());
    CHECK(fresh.service->LinesDecodedByLastCatchUp() == 100);
  }
  CHECK(figures == FullScanFigures(dir));

  // And it goes on counting appends past the cache.
  AppendSeries(cached.ledger.get(), 3100, 100, 1);
  CHECK(Figures(cached.service.get()) == FullScanFigures(dir));
}

TEST_CASE("Budget cache: a second service on a large ledger reads only the tail") {
  TempDir dir;
  dir.Write("config.toml", kConfig);
  constexpr int64_t kEntries = 200'000;
  Process first(dir);
  AppendSeries(first.ledger.get(), 0, kEntries);
  Entry e = SeriesEntry(kEntries);
  REQUIRE(first.ledger->Append(e).ok());
  absl::StatusOr<LogImpact> impact = first.service->AfterLog(e, Utc(2026, 4, 10));
  REQUIRE(impact.ok());
  CHECK(first.service->LinesDecodedByLastCatchUp() == kEntries + 1);
  REQUIRE(std::filesystem::exists(dir.File(kCacheFile)));  // written by itself after a large read

  Process second(dir);
  for (int k = 1; k <= 10; ++k) REQUIRE(second.ledger->Append(SeriesEntry(kEntries + k)).ok());
  e = SeriesEntry(kEntries + 11);
  REQUIRE(second.ledger->Append(e).ok());
  absl::StatusOr<LogImpact> second_impact = second.service->AfterLog(e, Utc(2026, 4, 10));
  REQUIRE(second_impact.ok());
  CHECK(second.service->LinesDecodedByLastCatchUp() == 11);

  impact = first.service->AfterLog(e, Utc(2026, 4, 10));
  REQUIRE(impact.ok());
  CHECK(first.service->LinesDecodedByLastCatchUp() == 11);
  REQUIRE(impact->budgets.size() == second_impact->budgets.size());
  for (size_t i = 0; i < impact->budgets.size(); ++i) {
    CHECK(impact->budgets[i].spent == second_impact->budgets[i].spent);
  }
  CHECK(impact->month_spent == second_impact->month_spent);
  CHECK(Figures(first.service.get()) == Figures(second.service.get()));
}

// A directory with 1600 entries, a cache covering 1500 of them (the other
// 100 are less than the 64 KiB that would have the cache rewritten), and the
// figures of a full read.
struct CachedDir {
  TempDir dir;
  std::string expected;

  CachedDir() {
    dir.Write("config.toml", kConfig);
    Process p(dir);
    AppendSeries(p.ledger.get(), 0, 1500);
    REQUIRE(p.service->RefreshCache().ok());
    AppendSeries(p.ledger.get(), 1500, 100);
    expected = Figures(p.service.get());
  }

  // Lines read by a new process's first catch-up, after checking its figures.
  int64_t FreshRead() {
    Process p(dir);
    REQUIRE(p.service->Status(Utc(2026, 4, 10)).ok());
    const int64_t lines = p.service->LinesDecodedByLastCatchUp();
    CHECK(Figures(p.service.get()) == expected);
    return lines;
  }
};

TEST_CASE("Budget cache: a corrupt or torn cache means a full read") {
  CachedDir c;
  const std::string good = c.dir.Read(kCacheFile);
  REQUIRE(!good.empty());
  CHECK(c.FreshRead() == 100);

  SUBCASE("a changed figure") {
    // Change a digit inside the totals line.
    std::string bad = good;
    const size_t at = bad.find_first_of("123456789", bad.find('\n') + 1);
    bad[at] = bad[at] == '9' ? '1' : static_cast<char>(bad[at] + 1);
    c.dir.Write(kCacheFile, bad);
    CHECK(c.FreshRead() == 1600);
  }
  SUBCASE("torn") {
    for (const size_t keep : {size_t{0}, size_t{10}, good.size() / 2, good.size() - 1}) {
      c.dir.Write(kCacheFile, good.substr(0, keep));
      CHECK(c.FreshRead() == 1600);
    }
  }
  SUBCASE("garbage") {
    c.dir.Write(kCacheFile, "not json\n{}\n[]\n");
    CHECK(c.FreshRead() == 1600);
  }
  SUBCASE("an offset beyond the ledger") {
    const std::string size = std::to_string(std::filesystem::file_size(c.dir.File("ledger.jsonl")));
    const size_t from = good.find("\"ledger_offset\":") + 16;
    const size_t to = good.find(',', from);
    c.dir.Write(kCacheFile, Rehash(absl::StrCat(good.substr(0, from), size, "0", good.substr(to))));
    CHECK(c.FreshRead() == 1600);
  }
  SUBCASE("another format version") {
    c.dir.Write(kCacheFile, Rehash(absl::StrReplaceAll(good, {{"{\"v\":1,", "{\"v\":99,"}})));
    CHECK(c.FreshRead() == 1600);
  }
}

TEST_CASE("Budget cache: a configuration change means a full read") {
  CachedDir c;
  SUBCASE("another budget") {
    c.dir.Write("config.toml", absl::StrCat(kConfig, "[[budgets.scoped]]\nproject = \"acme\"\nperiod = \"daily\"\n"
                                                     "limit = \"100\"\n"));
  }
  SUBCASE("another scope") {
    c.dir.Write("config.toml", absl::StrReplaceAll(kConfig, {{"project = \"beta\"", "project = \"gamma\""}}));
  }
  SUBCASE("another time zone") {
    c.dir.Write("config.toml", absl::StrReplaceAll(kConfig, {{"America/New_York", "Asia/Tokyo"}}));
  }
  SUBCASE("another week start") {
    c.dir.Write("config.toml", absl::StrReplaceAll(kConfig, {{"sunday", "monday"}}));
  }
  Process p(c.dir);
  REQUIRE(p.service->Status(Utc(2026, 4, 10)).ok());
  CHECK(p.service->LinesDecodedByLastCatchUp() == 1600);
  CHECK(Figures(p.service.get()) == FullScanFigures(c.dir));
}

TEST_CASE("Budget cache: a replaced ledger means a full read") {
  CachedDir c;
  // Another ledger, larger than the cache's offset, put in place by rename().
  TempDir other;
  other.Write("config.toml", kConfig);
  {
    Process p(other);
    AppendSeries(p.ledger.get(), 0, 2500, 3);
  }
  std::filesystem::rename(other.File("ledger.jsonl"), c.dir.File("ledger.jsonl"));
  REQUIRE(std::filesystem::file_size(c.dir.File("ledger.jsonl")) > 0);
  Process p(c.dir);
  REQUIRE(p.service->Status(Utc(2026, 4, 10)).ok());
  CHECK(p.service->LinesDecodedByLastCatchUp() == 2500);
  CHECK(Figures(p.service.get()) != c.expected);
  CHECK(Figures(p.service.get()) == FullScanFigures(c.dir));
}

TEST_CASE("Budget cache: deleting the cache costs one full read") {
  CachedDir c;
  std::filesystem::remove(c.dir.File(kCacheFile));
  CHECK(c.FreshRead() == 1600);
  {
    Process p(c.dir);
    REQUIRE(p.service->RefreshCache().ok());
  }
  REQUIRE(std::filesystem::exists(c.dir.File(kCacheFile)));
  CHECK(c.FreshRead() == 0);
}

}  // namespace
}  // namespace tokenbook
