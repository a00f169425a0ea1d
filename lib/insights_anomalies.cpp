// Spend anomalies: hours and sessions far above their usual level, by median
// and MAD in integer arithmetic, recorded once in anomalies.jsonl (see
// lib/tokenbook/insights.h for the rule).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/insights.h"
#include "tokenbook/posix_io.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

absl::string_view AnomalyKindName(AnomalyKind k) {
  switch (k) {
    case AnomalyKind::kHour:
      return "hour";
    case AnomalyKind::kSession:
      return "session";
  }
  return "?";
}

Micros AnomalyBaseline::median() const { return Micros(static_cast<int64_t>(DivRoundHalfEven(median_x2, 2))); }
Micros AnomalyBaseline::mad() const { return Micros(static_cast<int64_t>(DivRoundHalfEven(mad_x4, 4))); }

namespace {

// 2 × the median of `v` (sorted in place): exact for an even count too.
__int128 DoubledMedian(std::vector<__int128>* v) {
  std::sort(v->begin(), v->end());
  const size_t n = v->size();
  if (n == 0) return 0;
  if (n % 2 == 1) return (*v)[n / 2] * 2;
  return (*v)[n / 2 - 1] + (*v)[n / 2];
}

// The modified z-score × 1000 is 1349 × (2x − m2) / mad4: 0.6745 × (x − m) /
// MAD with m = m2 / 2 and MAD = mad4 / 4.
constexpr int64_t kScoreFactor = 1349;

}  // namespace

AnomalyBaseline BaselineOf(std::vector<int64_t> values) {
  AnomalyBaseline b;
  b.points = values.size();
  if (values.empty()) return b;
  std::vector<__int128> v(values.begin(), values.end());
  const __int128 m2 = DoubledMedian(&v);
  // |2x − m2| = 2 |x − m|, so the doubled median of these is 4 × MAD.
  for (__int128& x : v) {
    x = x * 2 - m2;
    if (x < 0) x = -x;
  }
  const __int128 mad4 = DoubledMedian(&v);
  // Spend values are int64 µ$: m2 and mad4 are at most 2^65, kept in 128
  // bits during the computation and stored clamped (a ledger of such sums
  // has overflowed long before).
  auto clamp = [](__int128 x) {
    if (x > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
    if (x < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(x);
  };
  b.median_x2 = clamp(m2);
  b.mad_x4 = clamp(mad4);
  return b;
}

bool IsAnomalous(Micros x, const AnomalyBaseline& b, const AnomalyOptions& options,
                 std::optional<int64_t>* score_milli) {
  score_milli->reset();
  const __int128 dev = static_cast<__int128>(x.value()) * 2 - b.median_x2;  // 2 (x − m)
  if (b.mad_x4 > 0) {
    // floor division (dev may be negative)
    __int128 num = dev * kScoreFactor;
    __int128 q = num / b.mad_x4;
    if (num % b.mad_x4 < 0) q -= 1;
    *score_milli = static_cast<int64_t>(q);
  }
  if (b.points < options.min_points || b.points == 0) return false;
  if (b.mad_x4 > 0) {
    if (!(dev * kScoreFactor > static_cast<__int128>(options.score_threshold_milli) * b.mad_x4)) return false;
  } else if (dev <= 0) {
    return false;
  }
  // x ≥ min_ratio × m  ⇔  2x ≥ min_ratio × m2
  if (static_cast<__int128>(x.value()) * 2 < static_cast<__int128>(options.min_ratio) * b.median_x2) return false;
  // x − m ≥ min_excess  ⇔  2x − m2 ≥ 2 × min_excess
  if (dev < static_cast<__int128>(options.min_excess.value()) * 2) return false;
  return true;
}

struct AnomalyDetector::Impl {
  TimeRange range;
  AnomalyOptions options;
  Rollup hours;
  Rollup sessions;
};

AnomalyDetector::AnomalyDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AnomalyDetector::~AnomalyDetector() = default;
AnomalyDetector::AnomalyDetector(AnomalyDetector&&) noexcept = default;
AnomalyDetector& AnomalyDetector::operator=(AnomalyDetector&&) noexcept = default;

absl::StatusOr<AnomalyDetector> AnomalyDetector::Create(TimeRange range, absl::TimeZone tz, AnomalyOptions options) {
  RollupQuery hq;
  hq.range = range;
  hq.tz = tz;
  hq.group_by = {GroupKey::Time(TimeBucket::kHour)};
  TKB_ASSIGN_OR_RETURN(Rollup hours, Rollup::Create(std::move(hq)));
  RollupQuery sq;
  sq.range = range;
  sq.tz = tz;
  sq.group_by = {GroupKey::Of(Dimension::kSession)};
  TKB_ASSIGN_OR_RETURN(Rollup sessions, Rollup::Create(std::move(sq)));
  auto impl = std::unique_ptr<Impl>(new Impl{range, options, std::move(hours), std::move(sessions)});
  return AnomalyDetector(std::move(impl));
}

void AnomalyDetector::Add(const Entry& e) {
  impl_->hours.Add(e);
  if (!e.session.empty()) impl_->sessions.Add(e);
}

absl::StatusOr<AnomalyReport> AnomalyDetector::Finish() const {
  AnomalyReport out;
  out.range = impl_->range;
  auto judge = [&](const RollupReport& report, AnomalyKind kind, AnomalyBaseline* baseline) {
    std::vector<int64_t> values;
    values.reserve(report.groups.size());
    for (const Group& g : report.groups) values.push_back(g.totals.cost.value());
    *baseline = BaselineOf(std::move(values));
    std::vector<Anomaly> found;
    for (const Group& g : report.groups) {
      Anomaly a;
      if (!IsAnomalous(g.totals.cost, *baseline, impl_->options, &a.score_milli)) continue;
      a.kind = kind;
      a.key = g.values.empty() ? std::string() : g.values[0];
      if (kind == AnomalyKind::kHour) {
        a.start = g.start;
        a.end = g.end;
      } else {
        a.start = g.totals.first;
        a.end = g.totals.last;
      }
      a.totals = g.totals;
      a.median = baseline->median();
      found.push_back(std::move(a));
    }
    std::sort(found.begin(), found.end(), [](const Anomaly& x, const Anomaly& y) {
      if (x.start != y.start) return x.start < y.start;
      return x.key < y.key;
    });
    for (Anomaly& a : found) out.anomalies.push_back(std::move(a));
  };
  TKB_ASSIGN_OR_RETURN(RollupReport hours, impl_->hours.Finish());
  judge(hours, AnomalyKind::kHour, &out.hours);
  TKB_ASSIGN_OR_RETURN(RollupReport sessions, impl_->sessions.Finish());
  judge(sessions, AnomalyKind::kSession, &out.sessions);
  return out;
}

// ---------------------------------------------------------------------------
// anomalies.jsonl

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, absl::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void Str(JsonWriter& w, absl::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

std::string TimeText(absl::Time t) {
  absl::StatusOr<std::string> s = FormatLedgerTime(t);
  return s.ok() ? *s : std::string("0000-01-01T00:00:00.000Z");
}

std::string EncodeAnomaly(const Anomaly& a, absl::Time now) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Key(w, "v");
  w.Int(1);
  Key(w, "ts");
  Str(w, TimeText(now));
  Key(w, "kind");
  Str(w, AnomalyKindName(a.kind));
  Key(w, "key");
  Str(w, a.key);
  Key(w, "start");
  Str(w, TimeText(a.start));
  Key(w, "end");
  Str(w, TimeText(a.end));
  Key(w, "entries");
  w.Int64(a.totals.entries);
  Key(w, "spent_micros");
  w.Int64(a.totals.cost.value());
  Key(w, "spent_usd");
  Str(w, FormatUsd(a.totals.cost, 6));
  Key(w, "median_micros");
  w.Int64(a.median.value());
  Key(w, "score_milli");
  if (a.score_milli.has_value()) {
    w.Int64(*a.score_milli);
  } else {
    w.Null();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<size_t> RecordAnomalies(const std::string& ledger_dir, std::vector<Anomaly>* anomalies, absl::Time now) {
  if (anomalies->empty()) return 0;  // touches no file
  const std::string path = absl::StrCat(ledger_dir.empty() ? "." : ledger_dir, "/", kAnomaliesFileName);
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return posix_io::PosixError(errno, "cannot open", path);
  Fd holder(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return posix_io::PosixError(errno, "cannot lock", path);
  }
  TKB_ASSIGN_OR_RETURN(const int64_t size, posix_io::FileSize(fd, path));
  std::string text(static_cast<size_t>(size), '\0');
  TKB_ASSIGN_OR_RETURN(const size_t got, posix_io::PreadAll(fd, text.data(), text.size(), 0, path));
  text.resize(got);

  absl::flat_hash_set<std::pair<std::string, std::string>> recorded;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) continue;  // a torn or foreign line
    auto kind = doc.FindMember("kind");
    auto key = doc.FindMember("key");
    if (kind == doc.MemberEnd() || key == doc.MemberEnd() || !kind->value.IsString() || !key->value.IsString()) {
      continue;
    }
    recorded.emplace(std::string(kind->value.GetString(), kind->value.GetStringLength()),
                     std::string(key->value.GetString(), key->value.GetStringLength()));
  }
  std::string lines;
  if (!text.empty() && text.back() != '\n') lines.push_back('\n');  // close a torn line
  size_t appended = 0;
  for (Anomaly& a : *anomalies) {
    if (!recorded.emplace(std::string(AnomalyKindName(a.kind)), a.key).second) continue;
    lines += EncodeAnomaly(a, now);
    lines.push_back('\n');
    a.recorded = true;
    ++appended;
  }
  if (appended == 0) return 0;
  TKB_RETURN_IF_ERROR(posix_io::WriteAll(fd, lines.data(), lines.size(), path));
  return appended;
}

}  // namespace v1
}  // namespace tokenbook
