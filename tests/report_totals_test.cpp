// The JSONL ledger's report totals cache (cache/report-totals.bin): kept as a
// bulk append goes, extended by the lines past it, rebuilt by a reader after
// many, never believed when stale or damaged, and never used when the ledger
// has a line a scan would report. Every report it answers is compared with
// the report a scan of the same ledger gives. Works on real files under /tmp.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
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
