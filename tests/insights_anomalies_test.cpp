// Tests of the spend anomalies in lib/tokenbook/insights.h: exact medians
// and MADs, each rule of the decision (points, score, ratio, excess, MAD of
// zero), hours in a time zone, sessions, and recording once in
// anomalies.jsonl, also from threads at once.
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_json.h"

namespace tokenbook {
namespace {

constexpr int64_t kDollar = kMicrosPerDollar;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-anomalies-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Read(const std::string& name) const {
    std::ifstream in(path_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void Write(const std::string& name, const std::string& text) const { std::ofstream(path_ + "/" + name) << text; }

 private:
  std::string path_;
};

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

Entry Spend(absl::Time t, int64_t cost, const std::string& session = "") {
  Entry e;
  e.timestamp = t;
  e.model = "claude-sonnet-4-5";
  e.provider = "anthropic";
  e.cost = Micros(cost);
  e.cost_source = CostSource::kOverride;
  e.session = session;
  return e;
}

std::vector<int64_t> Dollars(std::initializer_list<int64_t> d) {
  std::vector<int64_t> out;
  for (int64_t x : d) out.push_back(x * kDollar);
  return out;
}

TEST_CASE("Anomaly baselines: exact median and MAD for odd and even counts") {
  AnomalyBaseline b = BaselineOf({1, 2, 3, 4, 100});
  CHECK(b.points == 5);
  CHECK(b.median_x2 == 6);  // median 3
  CHECK(b.mad_x4 == 4);     // |x − 3| = 2 1 0 1 97: MAD 1
  CHECK(b.median() == Micros(3));
  CHECK(b.mad() == Micros(1));

  b = BaselineOf({4, 1, 3, 2});
  CHECK(b.median_x2 == 5);         // median 2.5, kept exact
  CHECK(b.mad_x4 == 4);            // |x − 2.5| = 1.5 .5 .5 1.5: MAD 1
  CHECK(b.median() == Micros(2));  // 2.5 rounded half-even for display

  b = BaselineOf({});
  CHECK(b.points == 0);
  CHECK(b.median_x2 == 0);
}

TEST_CASE("Anomaly rule: the modified z-score above 3.5") {
  const AnomalyOptions options;
  // $1..$8 and $40: median $5, MAD $2.
  const AnomalyBaseline b = BaselineOf(Dollars({1, 2, 3, 4, 5, 6, 7, 8, 40}));
  CHECK(b.median() == Micros(5 * kDollar));
  CHECK(b.mad() == Micros(2 * kDollar));
  std::optional<int64_t> score;
  CHECK(IsAnomalous(Micros(40 * kDollar), b, options, &score));
  REQUIRE(score.has_value());
  CHECK(*score == 11'803);  // 0.6745 × 35 / 2 = 11.80375
  CHECK_FALSE(IsAnomalous(Micros(8 * kDollar), b, options, &score));
  REQUIRE(score.has_value());
  CHECK(*score == 1'011);
}

TEST_CASE("Anomaly rule: a score exactly at the threshold is not above it") {
  AnomalyOptions options;
  options.min_excess = Micros(0);
  AnomalyBaseline b;
  b.points = 8;
  b.median_x2 = 0;
  b.mad_x4 = 1'349;
  std::optional<int64_t> score;
  // 1349 × (2 × 1750) == 3500 × 1349: exactly 3.5.
  CHECK_FALSE(IsAnomalous(Micros(1'750), b, options, &score));
  CHECK(*score == 3'500);
  CHECK(IsAnomalous(Micros(1'751), b, options, &score));
  CHECK(*score == 3'502);
}

TEST_CASE("Anomaly rule: fewer points than min_points is no baseline") {
  const AnomalyOptions options;
  std::optional<int64_t> score;
  const AnomalyBaseline seven = BaselineOf(Dollars({1, 1, 1, 1, 1, 1, 100}));
  CHECK_FALSE(IsAnomalous(Micros(100 * kDollar), seven, options, &score));
  const AnomalyBaseline eight = BaselineOf(Dollars({1, 1, 1, 1, 1, 1, 1, 100}));
  CHECK(IsAnomalous(Micros(100 * kDollar), eight, options, &score));
  CHECK_FALSE(score.has_value());  // MAD 0
}

TEST_CASE("Anomaly rule: with a MAD of zero, above the median (and the other guards) is far") {
  const AnomalyOptions options;
  std::optional<int64_t> score;
  const AnomalyBaseline b =
      BaselineOf({kDollar, kDollar, kDollar, kDollar, kDollar, kDollar, kDollar, 1'200'000, 10 * kDollar});
  CHECK(b.mad_x4 == 0);
  CHECK(IsAnomalous(Micros(10 * kDollar), b, options, &score));
  CHECK_FALSE(score.has_value());
  CHECK_FALSE(IsAnomalous(Micros(1'200'000), b, options, &score));  // 1.2 × the median
  CHECK_FALSE(IsAnomalous(Micros(kDollar), b, options, &score));
}

TEST_CASE("Anomaly rule: at least min_ratio times the median") {
  const AnomalyOptions options;
  std::optional<int64_t> score;
  // A tight baseline around $1.00-$1.01 (MAD $0.01): $2.50 scores 100 but is only 2.5 × the median.
  const AnomalyBaseline b =
      BaselineOf({1'000'000, 1'000'000, 1'000'000, 1'000'000, 1'010'000, 1'010'000, 1'010'000, 1'010'000, 2'500'000});
  CHECK(b.median() == Micros(1'010'000));
  CHECK(b.mad() == Micros(10'000));
  CHECK_FALSE(IsAnomalous(Micros(2'500'000), b, options, &score));
  CHECK(*score == 100'500);
  CHECK(IsAnomalous(Micros(3'030'000), b, options, &score));  // exactly 3 × the median
}

TEST_CASE("Anomaly rule: at least min_excess above the median") {
  const AnomalyOptions options;
  std::optional<int64_t> score;
  // Cents: $0.20 against $0.01 is 20 times the usual, but only $0.19 more.
  const AnomalyBaseline b = BaselineOf({10'000, 10'000, 10'000, 10'000, 10'000, 10'000, 10'000, 10'000, 200'000});
  CHECK_FALSE(IsAnomalous(Micros(200'000), b, options, &score));
  CHECK_FALSE(IsAnomalous(Micros(509'999), b, options, &score));
  CHECK(IsAnomalous(Micros(510'000), b, options, &score));  // $0.50 above
}

TEST_CASE("Anomalies: hours in the report's time zone") {
  const absl::TimeZone berlin = [] {
    absl::TimeZone tz;
    REQUIRE(absl::LoadTimeZone("Europe/Berlin", &tz));
    return tz;
  }();
  TimeRange range{Utc(2026, 4, 1), Utc(2026, 5, 1), "2026-04"};
  absl::StatusOr<AnomalyDetector> d = AnomalyDetector::Create(range, berlin);
  REQUIRE(d.ok());
  // Nine hours of $1, one of them with a $19 loop on top (four entries).
  for (int h = 8; h <= 16; ++h) d->Add(Spend(Utc(2026, 4, 10, h, 10), kDollar));
  for (int i = 0; i < 4; ++i) d->Add(Spend(Utc(2026, 4, 10, 12, 20 + i), 4'750'000));
  d->Add(Spend(Utc(2026, 3, 31, 12, 0), 500 * kDollar));  // outside the period
  absl::StatusOr<AnomalyReport> r = d->Finish();
  REQUIRE(r.ok());
  CHECK(r->hours.points == 9);
  CHECK(r->hours.median() == Micros(kDollar));
  CHECK(r->sessions.points == 0);
  REQUIRE(r->anomalies.size() == 1);
  const Anomaly& a = r->anomalies[0];
  CHECK(a.kind == AnomalyKind::kHour);
  CHECK(a.key == "2026-04-10T14");  // 12:00 UTC is 14:00 in Berlin (CEST)
  CHECK(a.start == Utc(2026, 4, 10, 12, 0));
  CHECK(a.end == Utc(2026, 4, 10, 13, 0));
  CHECK(a.totals.cost == Micros(20 * kDollar));
  CHECK(a.totals.entries == 5);
  CHECK(a.median == Micros(kDollar));
  CHECK_FALSE(a.score_milli.has_value());
}

TEST_CASE("Anomalies: sessions against the other sessions") {
  absl::StatusOr<AnomalyDetector> d = AnomalyDetector::Create(TimeRange{}, absl::UTCTimeZone());
  REQUIRE(d.ok());
  // Eight sessions of $2..$3 spread over one hour, and one of $30; entries
  // without a session are not a session.
  const int64_t usual[] = {2'000'000, 2'100'000, 2'200'000, 2'300'000, 2'400'000, 2'500'000, 2'600'000, 3'000'000};
  for (int i = 0; i < 8; ++i) d->Add(Spend(Utc(2026, 4, 10, 9, i), usual[i], "s" + std::to_string(i)));
  d->Add(Spend(Utc(2026, 4, 10, 9, 30), 10 * kDollar, "loop"));
  d->Add(Spend(Utc(2026, 4, 10, 9, 40), 20 * kDollar, "loop"));
  d->Add(Spend(Utc(2026, 4, 10, 9, 50), 100 * kDollar));
  absl::StatusOr<AnomalyReport> r = d->Finish();
  REQUIRE(r.ok());
  CHECK(r->hours.points == 1);  // one hour: no hourly baseline
  CHECK(r->sessions.points == 9);
  CHECK(r->sessions.median() == Micros(2'400'000));
  CHECK(r->sessions.mad() == Micros(200'000));
  REQUIRE(r->anomalies.size() == 1);
  const Anomaly& a = r->anomalies[0];
  CHECK(a.kind == AnomalyKind::kSession);
  CHECK(a.key == "loop");
  CHECK(a.start == Utc(2026, 4, 10, 9, 30));
  CHECK(a.end == Utc(2026, 4, 10, 9, 40));
  CHECK(a.totals.cost == Micros(30 * kDollar));
  REQUIRE(a.score_milli.has_value());
  CHECK(*a.score_milli == 93'081);  // 0.6745 × (30 − 2.4) / 0.2 = 93.081
}

TEST_CASE("Anomalies are recorded once per kind and key") {
  TempDir dir;
  std::vector<Anomaly> found(2);
  found[0].kind = AnomalyKind::kHour;
  found[0].key = "2026-04-10T14";
  found[0].start = Utc(2026, 4, 10, 12);
  found[0].end = Utc(2026, 4, 10, 13);
  found[0].totals.entries = 5;
  found[0].totals.cost = Micros(20 * kDollar);
  found[0].median = Micros(kDollar);
  found[1].kind = AnomalyKind::kSession;
  found[1].key = "loop";
  found[1].start = Utc(2026, 4, 10, 9, 30);
  found[1].end = Utc(2026, 4, 10, 9, 40);
  found[1].totals.entries = 2;
  found[1].totals.cost = Micros(30 * kDollar);
  found[1].median = Micros(2'400'000);
  found[1].score_milli = 62'051;

  absl::StatusOr<size_t> n = RecordAnomalies(dir.path(), &found, Utc(2026, 4, 10, 21));
  REQUIRE(n.ok());
  CHECK(*n == 2);
  CHECK(found[0].recorded);
  CHECK(found[1].recorded);
  CHECK(
      dir.Read("anomalies.jsonl") ==
      R"({"v":1,"ts":"2026-04-10T21:00:00.000Z","kind":"hour","key":"2026-04-10T14","start":"2026-04-10T12:00:00.000Z",)"
      R"("end":"2026-04-10T13:00:00.000Z","entries":5,"spent_micros":20000000,"spent_usd":"20.000000",)"
      R"("median_micros":1000000,"score_milli":null})"
      "\n"
      R"({"v":1,"ts":"2026-04-10T21:00:00.000Z","kind":"session","key":"loop","start":"2026-04-10T09:30:00.000Z",)"
      R"("end":"2026-04-10T09:40:00.000Z","entries":2,"spent_micros":30000000,"spent_usd":"30.000000",)"
      R"("median_micros":2400000,"score_milli":62051})"
      "\n");

  // Again (a later run, the session grown): nothing new.
  found[0].recorded = found[1].recorded = false;
  found[1].totals.cost = Micros(31 * kDollar);
  n = RecordAnomalies(dir.path(), &found, Utc(2026, 4, 10, 22));
  REQUIRE(n.ok());
  CHECK(*n == 0);
  CHECK_FALSE(found[0].recorded);
  CHECK_FALSE(found[1].recorded);
  CHECK(std::vector<std::string>(absl::StrSplit(dir.Read("anomalies.jsonl"), '\n', absl::SkipEmpty())).size() == 2);
}

TEST_CASE("Recording anomalies closes a torn last line and skips foreign lines") {
  TempDir dir;
  dir.Write("anomalies.jsonl", "not json\n{\"v\":1,\"kind\":\"hour\",\"key\":\"2026-04-10T1");
  std::vector<Anomaly> found(1);
  found[0].kind = AnomalyKind::kHour;
  found[0].key = "2026-04-10T14";
  absl::StatusOr<size_t> n = RecordAnomalies(dir.path(), &found, Utc(2026, 4, 10, 21));
  REQUIRE(n.ok());
  CHECK(*n == 1);
  const std::vector<std::string> lines = absl::StrSplit(dir.Read("anomalies.jsonl"), '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 3);
  CHECK(lines[1] == "{\"v\":1,\"kind\":\"hour\",\"key\":\"2026-04-10T1");
  CHECK(lines[2].rfind("{\"v\":1,", 0) == 0);
}

TEST_CASE("Anomalies recorded from many threads at once are written once") {
  TempDir dir;
  std::atomic<size_t> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::vector<Anomaly> found(1);
      found[0].kind = AnomalyKind::kSession;
      found[0].key = "loop";
      absl::StatusOr<size_t> n = RecordAnomalies(dir.path(), &found, Utc(2026, 4, 10, 21));
      if (n.ok()) total += *n;
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(total == 1);
  CHECK(std::vector<std::string>(absl::StrSplit(dir.Read("anomalies.jsonl"), '\n', absl::SkipEmpty())).size() == 1);
}

TEST_CASE("No anomalies touches no file") {
  TempDir dir;
  std::vector<Anomaly> none;
  absl::StatusOr<size_t> n = RecordAnomalies(dir.path(), &none, Utc(2026, 4, 10));
  REQUIRE(n.ok());
  CHECK(*n == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/anomalies.jsonl"));
}

}  // namespace
}  // namespace tokenbook
