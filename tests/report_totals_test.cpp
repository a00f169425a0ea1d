// The JSONL ledger's report totals cache (cache/report-totals.bin): kept as a
// bulk append goes, extended by the lines past it, rebuilt by a reader after
// many, never believed when stale or damaged, and never used when the ledger
// has a line a scan would report. Every report it answers is compared with
// the report a scan of the same ledger gives. Works on real files under /tmp.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/entry.h"
#include "tokenbook/ledger.h"
#include "tokenbook/period.h"
#include "tokenbook/quarter_totals.h"
#include "tokenbook/report_json.h"
#include "tokenbook/rollup.h"
#include "ledger_test_support.h"

namespace tokenbook {
namespace {

using test_support::OpenOrDie;
using test_support::ReportOf;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook_totals_test_XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void AppendRaw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Entry i: every 7 minutes 41 seconds and a few microseconds (the ledger
// keeps milliseconds), four models, one without a provider, some unpriced.
Entry MakeEntry(int i) {
  const absl::Time begin = absl::FromCivil(absl::CivilSecond(2026, 10, 20, 0, 0, 0), absl::UTCTimeZone());
  Entry e;
  e.timestamp = begin + absl::Seconds(int64_t{i} * 461) + absl::Microseconds(i % 997 * 1001);
  static const char* const kModels[] = {"claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro", "local-llm"};
  e.model = kModels[i % 4];
  e.provider = i % 4 == 0 ? "anthropic" : i % 4 == 1 ? "openai" : i % 4 == 2 ? "google" : "";
  e.tokens[TokenKind::kInput] = Tokens(1000 + i);
  e.tokens[TokenKind::kOutput] = Tokens(200 + i % 7);
  e.tokens[TokenKind::kCacheRead] = Tokens(i % 5 * 1000);
  e.tokens[TokenKind::kCacheWrite1h] = Tokens(i % 3 * 10);
  e.requests = 1 + i % 2;
  e.cost = Micros(3000 + i);
  e.cost_source = i % 4 == 3 ? CostSource::kUnpriced : CostSource::kComputed;
  if (i % 4 == 3) e.cost = Micros(0);
  e.session = absl::StrCat("s", i % 5);
  e.source_kind = "test";
  e.source_key = absl::StrCat("key-", i);
  return e;
}

RollupQuery ByDayAndModel(const char* tz = "UTC") {
  RollupQuery q;
  REQUIRE(absl::LoadTimeZone(tz, &q.tz));
  q.group_by = *ParseGroupBy("day,model");
  return q;
}

// Both ways, and they agree; false when the totals did not answer.
bool SummedAndEqual(const Ledger& ledger, const RollupQuery& q) {
  bool summed = false;
  const std::string fast = ReportOf(ledger, q, true, &summed);
  if (summed) CHECK(fast == ReportOf(ledger, q, false));
  return summed;
}

// Appends entries [from, to) as ingestion does: encoded batches with the
// cache refresh off, then an empty batch that ends the bulk append.
void BulkAppend(Ledger& ledger, int from, int to, int per_batch, const std::function<void()>& between = {}) {
  AppendOptions bulk;
  bulk.existing_ids = false;
  bulk.refresh_cache = false;
  for (int i = from; i < to;) {
    EncodedEntries enc;
    for (int k = 0; k < per_batch && i < to; ++k, ++i) {
      Entry e = MakeEntry(i);
      REQUIRE(enc.Add(e).ok());
    }
    std::vector<bool> appended;
    REQUIRE(ledger.AppendEncoded(enc, bulk, &appended).ok());
    if (between) between();
  }
  std::vector<bool> appended;
  AppendOptions last = bulk;
  last.refresh_cache = true;
  REQUIRE(ledger.AppendEncoded(EncodedEntries(), last, &appended).ok());
}

TEST_CASE("Report totals: QuarterTotals counts entries as a rollup does") {
  QuarterTotals totals;
  std::vector<Entry> entries;
  for (int i = 0; i < 500; ++i) entries.push_back(MakeEntry(i));
  for (const Entry& e : entries) totals.Add(e);
  CHECK(totals.usable());
  CHECK(totals.entries() == 500);
  for (const char* tz : {"UTC", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns"}) {
    for (const char* group_by : {"day,model", "hour", "week,provider", "month", ""}) {
      CAPTURE(tz);
      CAPTURE(group_by);
      RollupQuery q;
      REQUIRE(absl::LoadTimeZone(tz, &q.tz));
      if (*group_by != '\0') q.group_by = *ParseGroupBy(group_by);
      absl::StatusOr<Rollup> from_totals = Rollup::Create(q);
      absl::StatusOr<Rollup> from_entries = Rollup::Create(q);
      REQUIRE(from_totals.ok());
      REQUIRE(from_entries.ok());
      absl::StatusOr<bool> used = totals.AddTo(&*from_totals);
      REQUIRE(used.ok());
      REQUIRE(*used);
      for (const Entry& e : entries) from_entries->Add(e);
      CHECK(RollupReportJson(*from_totals->Finish()) == RollupReportJson(*from_entries->Finish()));
    }
  }

  SUBCASE("what the totals cannot tell apart is refused") {
    RollupQuery q;
    q.group_by = *ParseGroupBy("session");
    absl::StatusOr<Rollup> r = Rollup::Create(q);
    CHECK_FALSE(*totals.AddTo(&*r));
    RollupQuery f;
    REQUIRE(f.AddFilter("agent=reviewer").ok());
    r = Rollup::Create(f);
    CHECK_FALSE(*totals.AddTo(&*r));
    RollupQuery off;  // a range off the quarter hours
    off.range.start = absl::FromCivil(absl::CivilSecond(2026, 10, 20, 1, 7, 0), absl::UTCTimeZone());
    r = Rollup::Create(off);
    CHECK_FALSE(*totals.AddTo(&*r));
  }
  SUBCASE("a timestamp the cache cannot hold exactly makes the totals unusable") {
    Entry far = MakeEntry(0);
    far.timestamp = absl::FromCivil(absl::CivilSecond(2500, 1, 1, 0, 0, 0), absl::UTCTimeZone());
    totals.Add(far);
    CHECK_FALSE(totals.usable());
    RollupQuery q;
    absl::StatusOr<Rollup> r = Rollup::Create(q);
    CHECK_FALSE(*totals.AddTo(&*r));
  }
  SUBCASE("written and read back whole; cut short, it is refused") {
    binary_cache::Writer w;
    totals.Write(&w);
    QuarterTotals back;
    binary_cache::Reader r(w.out());
    REQUIRE(back.Read(&r));
    CHECK(r.done());
    CHECK(back.size() == totals.size());
    CHECK(back.entries() == 500);
    RollupQuery q = ByDayAndModel();
    absl::StatusOr<Rollup> a = Rollup::Create(q);
    absl::StatusOr<Rollup> b = Rollup::Create(q);
    REQUIRE(*totals.AddTo(&*a));
    REQUIRE(*back.AddTo(&*b));
    CHECK(RollupReportJson(*a->Finish()) == RollupReportJson(*b->Finish()));
    binary_cache::Reader cut(absl::string_view(w.out()).substr(0, w.out().size() - 9));
    CHECK_FALSE(back.Read(&cut));
    CHECK(back.size() == 0);
  }
}

// The quarter hour that begins at this civil time in UTC.
int64_t Quarter(int y, int mo, int d, int h, int mi) {
  const absl::Time t = absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
  REQUIRE(OnQuarter(t));
  return QuarterOf(t);
}

RollupQuery Grouped(const char* tz, const char* group_by) {
  RollupQuery q;
  REQUIRE(absl::LoadTimeZone(tz, &q.tz));
  if (*group_by != '\0') q.group_by = *ParseGroupBy(group_by);
  return q;
}

TEST_CASE("Report totals: the runs of quarter hours that lie in one time bucket each") {
  std::vector<int64_t> starts;
  SUBCASE("UTC days, and no time key at all") {
    const int64_t first = Quarter(2026, 10, 20, 0, 0);
    REQUIRE(QuarterTotals::BucketStarts(Grouped("UTC", "day,model"), first, first + 3 * 96, &starts));
    CHECK(starts == std::vector<int64_t>{first, first + 96, first + 192});
    // A range that begins mid-day still begins a run.
    REQUIRE(QuarterTotals::BucketStarts(Grouped("UTC", "day"), first + 5, first + 97, &starts));
    CHECK(starts == std::vector<int64_t>{first + 5, first + 96});
    REQUIRE(QuarterTotals::BucketStarts(Grouped("Europe/Amsterdam", "model,provider"), first, first + 10'000, &starts));
    CHECK(starts == std::vector<int64_t>{first});
  }
  SUBCASE("Kathmandu's days begin at 18:15 UTC") {
    const int64_t first = Quarter(2026, 10, 20, 0, 0);
    REQUIRE(QuarterTotals::BucketStarts(Grouped("Asia/Kathmandu", "day"), first, first + 2 * 96, &starts));
    CHECK(starts == std::vector<int64_t>{first, Quarter(2026, 10, 20, 18, 15), Quarter(2026, 10, 21, 18, 15)});
  }
  SUBCASE("New York's hours and days across its changes of offset") {
    // 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST; hour 01 lasts two.
    REQUIRE(QuarterTotals::BucketStarts(Grouped("America/New_York", "hour"), Quarter(2026, 11, 1, 4, 0),
                                        Quarter(2026, 11, 1, 8, 0), &starts));
    CHECK(starts ==
          std::vector<int64_t>{Quarter(2026, 11, 1, 4, 0), Quarter(2026, 11, 1, 5, 0), Quarter(2026, 11, 1, 7, 0)});
    // 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT; that day is 23 hours.
    REQUIRE(QuarterTotals::BucketStarts(Grouped("America/New_York", "day"), Quarter(2026, 3, 7, 5, 0),
                                        Quarter(2026, 3, 9, 12, 0), &starts));
    CHECK(starts ==
          std::vector<int64_t>{Quarter(2026, 3, 7, 5, 0), Quarter(2026, 3, 8, 5, 0), Quarter(2026, 3, 9, 4, 0)});
    // Weeks (starting Sunday) and months together.
    RollupQuery q = Grouped("America/New_York", "month,week");
    q.week_start = absl::Weekday::sunday;
    REQUIRE(QuarterTotals::BucketStarts(q, Quarter(2026, 10, 20, 0, 0), Quarter(2026, 11, 10, 0, 0), &starts));
    CHECK(starts == std::vector<int64_t>{Quarter(2026, 10, 20, 0, 0), Quarter(2026, 10, 25, 4, 0),
                                         Quarter(2026, 11, 1, 4, 0), Quarter(2026, 11, 8, 5, 0)});
  }
  SUBCASE("Lord Howe: +11 to +10:30, half an hour back") {
    // 2026-04-04 15:00 UTC (April 5th there): 02:00 +11 becomes 01:30
    // +10:30; hours then begin at half past in UTC, and hour 01 lasts
    // ninety minutes.
    REQUIRE(QuarterTotals::BucketStarts(Grouped("Australia/Lord_Howe", "hour"), Quarter(2026, 4, 4, 13, 0),
                                        Quarter(2026, 4, 4, 17, 0), &starts));
    CHECK(starts == std::vector<int64_t>{Quarter(2026, 4, 4, 13, 0), Quarter(2026, 4, 4, 14, 0),
                                         Quarter(2026, 4, 4, 15, 30), Quarter(2026, 4, 4, 16, 30)});
  }
  SUBCASE("an offset off the quarter hours, or too many runs, cannot") {
    // Amsterdam kept +0:19:32 until 1937.
    const int64_t first = Quarter(1930, 3, 1, 0, 0);
    CHECK_FALSE(QuarterTotals::BucketStarts(Grouped("Europe/Amsterdam", "day"), first, first + 96 * 30, &starts));
    CHECK_FALSE(QuarterTotals::BucketStarts(Grouped("Europe/Amsterdam", "month"), first, first + 96 * 30, &starts));
    CHECK_FALSE(QuarterTotals::BucketStarts(Grouped("Europe/Amsterdam", "hour"), first, first + 4, &starts));
    // The same zone today is whole quarter hours.
    CHECK(QuarterTotals::BucketStarts(Grouped("Europe/Amsterdam", "day"), Quarter(2026, 1, 1, 0, 0),
                                      Quarter(2027, 1, 1, 0, 0), &starts));
    CHECK(starts.size() == 366);
    // Hours over two centuries; a range the times cannot hold.
    CHECK_FALSE(QuarterTotals::BucketStarts(Grouped("UTC", "hour"), Quarter(1900, 1, 1, 0, 0),
                                            Quarter(2100, 1, 1, 0, 0), &starts));
    CHECK(QuarterTotals::BucketStarts(Grouped("UTC", "hour"), Quarter(1990, 1, 1, 0, 0), Quarter(2090, 1, 1, 0, 0),
                                      &starts));
    CHECK(starts.size() == 36'525 * 24);
    CHECK_FALSE(QuarterTotals::BucketStarts(Grouped("UTC", "day"), std::numeric_limits<int64_t>::min(),
                                            Quarter(2026, 1, 1, 0, 0), &starts));
    CHECK_FALSE(QuarterTotals::BucketStarts(Grouped("UTC", ""), 5, 5, &starts));
  }
}

TEST_CASE("Report totals: sums per run of quarter hours give the report entries give") {
  // A year of entries, across every change of offset of the zones below.
  std::vector<Entry> entries;
  for (int i = 0; i < 4000; ++i) {
    Entry e = MakeEntry(i);
    e.timestamp = absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), absl::UTCTimeZone()) +
                  absl::Seconds(int64_t{i} * 7919) + absl::Milliseconds(i % 1000);
    entries.push_back(e);
  }
  const int64_t first = QuarterOf(entries.front().timestamp);
  const int64_t end = QuarterOf(entries.back().timestamp) + 1;
  for (const char* tz : {"UTC", "Asia/Kathmandu", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"}) {
    for (const char* group_by : {"hour", "day,model", "week,provider", "month", "model", ""}) {
      CAPTURE(std::string(tz));
      CAPTURE(std::string(group_by));
      const RollupQuery q = Grouped(tz, group_by);
      std::vector<int64_t> starts;
      REQUIRE(QuarterTotals::BucketStarts(q, first, end, &starts));
      // What the server sums: per run, model, provider and pricedness.
      std::map<std::tuple<size_t, std::string, std::string, bool>, Totals> sums;
      for (const Entry& e : entries) {
        const auto after = std::upper_bound(starts.begin(), starts.end(), QuarterOf(e.timestamp));
        const size_t run = static_cast<size_t>(after - starts.begin()) - 1;
        REQUIRE(sums[{run, e.model, e.provider, !e.priced()}].Add(e));
      }
      absl::StatusOr<Rollup> from_sums = Rollup::Create(q);
      absl::StatusOr<Rollup> from_entries = Rollup::Create(q);
      REQUIRE(from_sums.ok());
      REQUIRE(from_entries.ok());
      for (const auto& [key, t] : sums) {
        const size_t run = std::get<0>(key);
        REQUIRE(QuarterTotals::AddBucketRow(&*from_sums, starts[run], run + 1 < starts.size() ? starts[run + 1] : end,
                                            std::get<1>(key), std::get<2>(key), t));
      }
      for (const Entry& e : entries) from_entries->Add(e);
      CHECK(RollupReportJson(*from_sums->Finish()) == RollupReportJson(*from_entries->Finish()));
      // Each entry has a quarter hour of its own; by month, the year's
      // entries come in 14 months at most (December 2025 in New York), 4
      // models each.
      if (std::string(group_by) == "month") CHECK(sums.size() <= 14 * 4);
    }
  }

  SUBCASE("a sum whose times lie outside its run is refused") {
    absl::StatusOr<Rollup> r = Rollup::Create(Grouped("UTC", "day"));
    Totals t;
    REQUIRE(t.Add(entries[10]));
    const int64_t q = QuarterOf(entries[10].timestamp);
    CHECK(QuarterTotals::AddBucketRow(&*r, q, q + 1, "m", "p", t));
    CHECK_FALSE(QuarterTotals::AddBucketRow(&*r, q + 1, q + 2, "m", "p", t));
    CHECK_FALSE(QuarterTotals::AddBucketRow(&*r, q - 1, q, "m", "p", t));
    Totals mixed = t;
    REQUIRE(mixed.Add(entries[3]));  // unpriced
    CHECK_FALSE(QuarterTotals::AddBucketRow(&*r, q - 100, q + 100, "m", "p", mixed));
    CHECK(r->total().entries == 1);
  }
}

TEST_CASE(
    "Report totals: a bulk append keeps them, with another writer's "
    "lines between batches") {
  TempDir tmp;
  const std::string dir = tmp.Sub("l");
  const std::string cache = dir + "/cache/report-totals.bin";
  auto ledger = OpenOrDie(dir);
  auto other = OpenOrDie(dir);
  int others = 0;
  BulkAppend(*ledger, 0, 3000, 700, [&] {
    Entry e = MakeEntry(100'000 + others++);
    REQUIRE(other->Append(e).ok());
  });
  REQUIRE(Exists(cache));
  CHECK(SummedAndEqual(*ledger, ByDayAndModel()));
  CHECK(SummedAndEqual(*ledger, ByDayAndModel("Asia/Kathmandu")));

  // The cache answers without reading the lines it covers: an edit in the
  // middle of the ledger, where the fingerprint does not look (and which a
  // scan reports, cost_micros no longer matching cost_usd), shows it.
  const std::string path = dir + "/ledger.jsonl";
  std::string text = ReadFile(path);
  REQUIRE(text.size() > 100'000);
  const size_t at = text.find("\"cost_micros\":4", text.size() / 2);
  REQUIRE(at != std::string::npos);
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(at + 14));
    f.put('5');
  }
  bool summed = false;
  const RollupQuery q = ByDayAndModel();
  const std::string fast = ReportOf(*ledger, q, true, &summed);
  REQUIRE(summed);
  CHECK(fast != ReportOf(*ledger, q, false));
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(at + 14));
    f.put('4');
  }
  CHECK(ReportOf(*ledger, q, true) == ReportOf(*ledger, q, false));
  // Deleting the cache is always safe: the totals come from the ledger again.
  REQUIRE(std::filesystem::remove(cache));
  CHECK(SummedAndEqual(*ledger, q));

  SUBCASE("lines appended after it are read on top of it") {
    auto fresh = OpenOrDie(dir);
    for (int i = 0; i < 5; ++i) REQUIRE(fresh->Append(MakeEntry(200'000 + i)).ok());
    CHECK(SummedAndEqual(*fresh, ByDayAndModel()));
  }
}

TEST_CASE(
    "Report totals: a reader builds the cache after many lines, and "
    "never believes a stale or damaged one") {
  TempDir tmp;
  const std::string dir = tmp.Sub("l");
  const std::string path = dir + "/ledger.jsonl";
  const std::string cache = dir + "/cache/report-totals.bin";
  auto ledger = OpenOrDie(dir);
  std::vector<Entry> batch;
  for (int i = 0; i < 4000; ++i) batch.push_back(MakeEntry(i));
  REQUIRE(ledger->AppendBatch(batch).ok());
  REQUIRE(!Exists(cache));  // plain appends keep none
  REQUIRE(std::filesystem::file_size(path) > (size_t{1} << 20));
  CHECK(SummedAndEqual(*ledger, ByDayAndModel()));
  REQUIRE(Exists(cache));  // over a MiB read: the reader kept it
  CHECK(SummedAndEqual(*ledger, ByDayAndModel("America/St_Johns")));

  SUBCASE("a damaged cache is not believed") {
    std::string bytes = ReadFile(cache);
    bytes[bytes.size() / 2] ^= 0x20;
    std::ofstream(cache, std::ios::binary | std::ios::trunc) << bytes;
    CHECK(SummedAndEqual(*ledger, ByDayAndModel()));
  }
  SUBCASE(
      "a ledger rewritten with other entries is not described by the old "
      "cache") {
    std::vector<Entry> fewer(batch.begin(), batch.begin() + 3000);
    for (Entry& e : fewer) e.cost = Micros(e.cost.value() + 1);
    {
      std::ofstream(path, std::ios::trunc);  // same file (inode), other content
    }
    auto rewritten = OpenOrDie(dir);
    REQUIRE(rewritten->AppendBatch(fewer).ok());
    CHECK(SummedAndEqual(*rewritten, ByDayAndModel()));
  }
  SUBCASE("a line a scan would report leaves the report to the scan") {
    AppendRaw(path, "{\"v\":1,\"id\":\"broken\"\n");
    bool summed = true;
    ReportOf(*ledger, ByDayAndModel(), true, &summed);
    CHECK_FALSE(summed);
    REQUIRE(ledger->Append(MakeEntry(9000)).ok());
    ReportOf(*ledger, ByDayAndModel(), true, &summed);
    CHECK_FALSE(summed);
  }
  SUBCASE("so does a torn last line") {
    AppendRaw(path, "{\"v\":1,\"id\":\"01KAQ3ZJ3E6X9V4W2Y8T5R7N1M\",\"ts\":\"2026-");
    bool summed = true;
    ReportOf(*ledger, ByDayAndModel(), true, &summed);
    CHECK_FALSE(summed);
  }
}

TEST_CASE(
    "Report totals: a bulk append into a ledger without a cache keeps "
    "none, and the next report builds it") {
  TempDir tmp;
  const std::string dir = tmp.Sub("l");
  const std::string cache = dir + "/cache/report-totals.bin";
  auto ledger = OpenOrDie(dir);
  std::vector<Entry> first;
  for (int i = 0; i < 3000; ++i) first.push_back(MakeEntry(i));
  REQUIRE(ledger->AppendBatch(first).ok());
  BulkAppend(*ledger, 3000, 6000, 1000);
  CHECK(!Exists(cache));
  CHECK(SummedAndEqual(*ledger, ByDayAndModel()));
  CHECK(Exists(cache));
  // Re-ingesting the same entries appends none of them and keeps the cache
  // right.
  BulkAppend(*ledger, 2000, 7000, 900);
  CHECK(SummedAndEqual(*ledger, ByDayAndModel("Asia/Kathmandu")));
  std::vector<LedgerIssue> issues;
  int64_t n = 0;
  REQUIRE(ledger->Scan([&](const Entry&) { ++n; }, &issues).ok());
  CHECK(n == 7000);
  CHECK(issues.empty());
}

}  // namespace
}  // namespace tokenbook
