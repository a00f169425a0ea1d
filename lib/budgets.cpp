// Budgets over a ledger directory (see lib/tokenbook/budgets.h for the
// design: running totals read from the ledger's tail, alerts deduplicated
// under flock on alerts.jsonl, reservations shared through
// reservations.jsonl under flock on budget.lock).
#include "tokenbook/budgets.h"
#include "tokenbook/posix_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/money.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {
namespace {

using posix_io::Fnv1a;
using posix_io::kFnvOffset;
using posix_io::Hex64;
using posix_io::PosixError;
using posix_io::PreadAll;
using posix_io::WriteAll;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens (creating) `path` and holds flock(LOCK_EX) on it until destroyed.
absl::Status LockExclusive(const std::string& path, int open_flags, std::unique_ptr<Fd>* out) {
  const int fd = ::open(path.c_str(), open_flags | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return PosixError(errno, "cannot open", path);
  auto holder = std::make_unique<Fd>(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return PosixError(errno, "cannot lock", path);
  }
  *out = std::move(holder);  // closing the descriptor releases the lock
  return absl::OkStatus();
}

// The whole file; empty when it does not exist.
absl::StatusOr<std::string> ReadFileOrEmpty(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError(errno, "cannot stat", path);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  TKB_ASSIGN_OR_RETURN(const size_t got, PreadAll(fd, text.data(), text.size(), 0, path));
  text.resize(got);
  return text;
}

absl::StatusOr<std::string> ReadPathOrEmpty(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return PosixError(errno, "cannot open", path);
  }
  Fd holder(fd);
  return ReadFileOrEmpty(fd, path);
}

// --- The running-totals cache -------------------------------------------------

// Bumped whenever what the cache holds, or how ledger lines are counted,
// changes meaning: an older file is then ignored and rebuilt.
constexpr int64_t kBudgetCacheVersion = 1;
// The cache is rewritten once the totals cover this many bytes past it, so
// a new process reads at most about this much of the ledger (a few hundred
// lines) before answering, and writing the cache stays rare next to logging.
constexpr int64_t kBudgetCacheMinGap = int64_t{64} << 10;
// Bytes of the ledger hashed at each end of the covered range, to notice a
// ledger that was replaced or truncated behind the cache's back.
constexpr int64_t kFingerprintBytes = 4096;

absl::StatusOr<std::pair<uint64_t, uint64_t>> LedgerFingerprint(int fd, const std::string& path, int64_t offset) {
  return posix_io::LedgerFingerprint(fd, path, offset, kFingerprintBytes);
}

// Spend per local day of the budget calendar, keyed by days since 1970-01-01.
using DayTotals = absl::flat_hash_map<int64_t, Micros>;

int64_t DayKey(absl::CivilDay d) { return static_cast<int64_t>(d - absl::CivilDay(1970, 1, 1)); }

// Calls `fn` on every non-empty line of `text`.
template <typename Fn>
void ForEachLine(absl::string_view text, Fn fn) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const absl::string_view line = text.substr(0, nl);
    if (!line.empty()) fn(line);
    if (nl == absl::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::string NewReservationId() {
  unsigned char bytes[16];
  ssize_t got = 0;
  while (got < static_cast<ssize_t>(sizeof(bytes))) {
    const ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - static_cast<size_t>(got), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    got += n;
  }
  if (got < static_cast<ssize_t>(sizeof(bytes))) {
    // No entropy source: time, pid and a counter are still unique.
    static std::atomic<uint64_t> counter{0};
    const uint64_t a = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    const uint64_t b = (static_cast<uint64_t>(::getpid()) << 32) ^ counter.fetch_add(1);
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<unsigned char>(a >> (8 * i));
      bytes[8 + i] = static_cast<unsigned char>(b >> (8 * i));
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "r-";
  for (unsigned char c : bytes) {
    id.push_back(kHex[c >> 4]);
    id.push_back(kHex[c & 15]);
  }
  return id;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, absl::string_view key) { w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size())); }
void Str(JsonWriter& w, absl::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

std::string TimeText(absl::Time t) {
  absl::StatusOr<std::string> s = FormatLedgerTime(t);
  return s.ok() ? *s : std::string("0000-01-01T00:00:00.000Z");
}

absl::string_view StringField(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return absl::string_view(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> IntField(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

// A line of reservations.jsonl.
struct SharedHold {
  std::string id;
  absl::Time created;
  absl::Time expires;
  int64_t pid = 0;
  Micros estimate;
  std::vector<std::string> budgets;  // names of the budgets it holds
  std::string session;

  bool Holds(const Budget& b, absl::string_view for_session) const {
    if (b.period == BudgetPeriod::kSession && session != for_session) return false;
    return std::find(budgets.begin(), budgets.end(), b.name) != budgets.end();
  }
};

std::string EncodeHold(const SharedHold& h) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Key(w, "v");
  w.Int(1);
  Key(w, "id");
  Str(w, h.id);
  Key(w, "created");
  Str(w, TimeText(h.created));
  Key(w, "expires");
  Str(w, TimeText(h.expires));
  Key(w, "pid");
  w.Int64(h.pid);
  Key(w, "estimate_micros");
  w.Int64(h.estimate.value());
  Key(w, "budgets");
  w.StartArray();
  for (const std::string& b : h.budgets) Str(w, b);
  w.EndArray();
  Key(w, "session");
  Str(w, h.session);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::optional<SharedHold> DecodeHold(absl::string_view line) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  SharedHold h;
  h.id = std::string(StringField(doc, "id"));
  absl::StatusOr<absl::Time> created = ParseLedgerTime(StringField(doc, "created"));
  absl::StatusOr<absl::Time> expires = ParseLedgerTime(StringField(doc, "expires"));
  const std::optional<int64_t> estimate = IntField(doc, "estimate_micros");
  auto budgets = doc.FindMember("budgets");
  if (h.id.empty() || !expires.ok() || !estimate.has_value() || *estimate < 0 || budgets == doc.MemberEnd() ||
      !budgets->value.IsArray()) {
    return std::nullopt;
  }
  h.created = created.ok() ? *created : *expires;
  h.expires = *expires;
  h.pid = IntField(doc, "pid").value_or(0);
  h.estimate = Micros(*estimate);
  for (const rapidjson::Value& b : budgets->value.GetArray()) {
    if (b.IsString()) h.budgets.emplace_back(b.GetString(), b.GetStringLength());
  }
  h.session = std::string(StringField(doc, "session"));
  return h;
}

std::string EncodeAlert(const BudgetAlert& a) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  Key(w, "v");
  w.Int(1);
  Key(w, "ts");
  Str(w, TimeText(a.time));
  Key(w, "budget");
  Str(w, a.budget);
  Key(w, "scope");
  Str(w, a.scope);
  Key(w, "period");
  Str(w, a.period);
  Key(w, "level");
  Str(w, BudgetLevelName(a.level));
  Key(w, "color");
  Str(w, BudgetLevelColor(a.level));
  Key(w, "spent_micros");
  w.Int64(a.spent.value());
  Key(w, "limit_micros");
  w.Int64(a.limit.value());
  Key(w, "percent_bp");
  w.Int64(a.percent_bp);
  Key(w, "spent_usd");
  Str(w, FormatUsd(a.spent, 6));
  Key(w, "limit_usd");
  Str(w, FormatUsd(a.limit, 6));
  Key(w, "action");
  Str(w, BudgetActionName(a.action));
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::optional<BudgetAlert> DecodeAlert(absl::string_view line) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  BudgetAlert a;
  a.budget = std::string(StringField(doc, "budget"));
  a.period = std::string(StringField(doc, "period"));
  const std::optional<BudgetLevel> level = ParseBudgetLevel(StringField(doc, "level"));
  if (a.budget.empty() || a.period.empty() || !level.has_value()) return std::nullopt;
  a.level = *level;
  a.scope = std::string(StringField(doc, "scope"));
  absl::StatusOr<absl::Time> t = ParseLedgerTime(StringField(doc, "ts"));
  a.time = t.ok() ? *t : absl::UnixEpoch();
  a.spent = Micros(IntField(doc, "spent_micros").value_or(0));
  a.limit = Micros(IntField(doc, "limit_micros").value_or(0));
  a.percent_bp = IntField(doc, "percent_bp").value_or(0);
  a.action = ParseBudgetAction(StringField(doc, "action")).value_or(BudgetAction::kWarn);
  return a;
}

// "$0.09"; amounts under a cent keep four decimals ("$0.0012").
std::string Dollars(Micros m) { return FormatMoney(m); }

// round_half_even(spent × days_in_month / days_elapsed), the month-end figure.
Micros ProjectMonth(Micros spent, const BudgetWindow& month) {
  if (month.days_elapsed <= 0) return spent;
  return Micros(static_cast<int64_t>(
      DivRoundHalfEven(static_cast<__int128>(spent.value()) * month.days_in_period, month.days_elapsed)));
}

}  // namespace

// ---------------------------------------------------------------------------

class BudgetService::Impl {
 public:
  Impl(Ledger* ledger, Config config)
      : ledger_(ledger),
        config_(std::move(config)),
        dir_(ledger->dir()),
        ledger_path_(ledger->ledger_path()),
        jsonl_(ledger->kind() == "jsonl"),
        alerts_path_(absl::StrCat(dir_, "/", kAlertsFileName)),
        holds_path_(absl::StrCat(dir_, "/", kReservationsFileName)),
        lock_path_(absl::StrCat(dir_, "/", kBudgetLockFileName)),
        cache_dir_(absl::StrCat(dir_, "/", kBudgetCacheDirName)),
        cache_path_(absl::StrCat(cache_dir_, "/", kBudgetCacheFileName)) {}

  const Config& config() const { return config_; }

  absl::Status RefreshCache() {
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(UpdateLocked(absl::Now()));
    if (!jsonl_) return absl::OkStatus();  // no cache file for a database ledger
    if (totals_.covered <= 0 || totals_.covered == cache_offset_) return absl::OkStatus();
    const int fd = ::open(ledger_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(errno, "cannot open", ledger_path_);
    Fd holder(fd);
    PersistCacheLocked(fd);
    return absl::OkStatus();
  }

  int64_t LinesDecoded() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_decoded_;
  }

  absl::StatusOr<BudgetReport> Status(absl::Time now, absl::string_view session) {
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(UpdateLocked(now));
    std::vector<SharedHold> holds;
    {
      Admission a;
      TKB_RETURN_IF_ERROR(LockAdmission(&a));
      TKB_ASSIGN_OR_RETURN(holds, LoadHoldsLocked(now, nullptr, &a));
    }
    BudgetReport report;
    report.now = now;
    report.session = session.empty() ? totals_.last_session : std::string(session);
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      const Budget& b = config_.budgets[i];
      if (b.period == BudgetPeriod::kSession && report.session.empty()) continue;
      report.statuses.push_back(StatusOfLocked(i, now, report.session));
      report.reserved.push_back(ReservedFor(b, report.session, holds));
    }
    FillMonthLocked(&report.month_spent, &report.suggestion);
    return report;
  }

  absl::StatusOr<LogImpact> AfterLog(const Entry& logged, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(UpdateLocked(now));
    return ImpactLocked(logged, now);
  }

  absl::StatusOr<std::vector<BudgetAlert>> CheckAlerts(absl::Time now, absl::string_view session) {
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(UpdateLocked(now));
    const std::string s = session.empty() ? totals_.last_session : std::string(session);
    std::vector<BudgetStatus> statuses;
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      if (config_.budgets[i].period == BudgetPeriod::kSession && s.empty()) continue;
      statuses.push_back(StatusOfLocked(i, now, s));
    }
    return RecordAlerts(statuses, now);
  }

  absl::StatusOr<std::vector<BudgetAlert>> ReadAlerts() const {
    TKB_ASSIGN_OR_RETURN(std::string text, ReadPathOrEmpty(alerts_path_));
    std::vector<BudgetAlert> out;
    ForEachLine(text, [&](absl::string_view line) {
      if (std::optional<BudgetAlert> a = DecodeAlert(line)) out.push_back(std::move(*a));
    });
    return out;
  }

  absl::StatusOr<AdmissionDecision> Check(const SharedAdmissionRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    Admission a;
    TKB_RETURN_IF_ERROR(LockAdmission(&a));
    TKB_RETURN_IF_ERROR(UpdateLocked(req.now));
    TKB_ASSIGN_OR_RETURN(std::vector<SharedHold> holds, LoadHoldsLocked(req.now, nullptr, &a));
    return DecideLocked(req, holds);
  }

  absl::StatusOr<SharedReservation> Reserve(const SharedAdmissionRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    Admission a;
    TKB_RETURN_IF_ERROR(LockAdmission(&a));
    TKB_RETURN_IF_ERROR(UpdateLocked(req.now));
    bool dropped = false;
    TKB_ASSIGN_OR_RETURN(std::vector<SharedHold> holds, LoadHoldsLocked(req.now, &dropped, &a));
    SharedReservation out;
    out.decision = DecideLocked(req, holds);
    if (!out.decision.allowed()) {
      if (dropped) TKB_RETURN_IF_ERROR(WriteHoldsLocked(holds, a));
      TKB_RETURN_IF_ERROR(FinishAdmission(&a));
      return out;
    }
    SharedHold h;
    h.id = NewReservationId();
    h.created = req.now;
    h.expires = req.now + config_.reservation_ttl;
    h.pid = ::getpid();
    h.estimate = Micros(req.estimate.value() > 0 ? req.estimate.value() : 0);
    h.session = req.session;
    const BudgetTarget target = req.target();
    for (const Budget& b : config_.budgets) {
      if (b.Applies(target)) h.budgets.push_back(b.name);
    }
    out.id = h.id;
    out.expires = h.expires;
    holds.push_back(std::move(h));
    TKB_RETURN_IF_ERROR(WriteHoldsLocked(holds, a));
    TKB_RETURN_IF_ERROR(FinishAdmission(&a));
    return out;
  }

  absl::StatusOr<CommitResult> Commit(absl::string_view id, Entry entry, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    Admission a;
    TKB_RETURN_IF_ERROR(LockAdmission(&a));
    bool dropped = false;
    TKB_ASSIGN_OR_RETURN(std::vector<SharedHold> holds, LoadHoldsLocked(now, &dropped, &a));
    CommitResult result;
    auto it = std::find_if(holds.begin(), holds.end(), [&](const SharedHold& h) { return h.id == id; });
    result.reservation_found = it != holds.end();
    if (entry.timestamp == absl::UnixEpoch()) entry.timestamp = now;
    // In a database's admission transaction, the entry and the dropped
    // reservation commit together.
    if (a.txn != nullptr) {
      TKB_ASSIGN_OR_RETURN(result.append, a.txn->Append(entry));
    } else {
      TKB_ASSIGN_OR_RETURN(result.append, ledger_->Append(entry));
    }
    if (result.append.appended) entry.id = result.append.id;
    if (result.reservation_found) holds.erase(it);
    if (result.reservation_found || dropped) TKB_RETURN_IF_ERROR(WriteHoldsLocked(holds, a));
    TKB_RETURN_IF_ERROR(FinishAdmission(&a));  // the ledger has the entry: others may go on
    TKB_RETURN_IF_ERROR(UpdateLocked(now));
    TKB_ASSIGN_OR_RETURN(result.impact, ImpactLocked(entry, now));
    return result;
  }

  absl::Status Release(absl::string_view id, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    Admission a;
    TKB_RETURN_IF_ERROR(LockAdmission(&a));
    bool dropped = false;
    TKB_ASSIGN_OR_RETURN(std::vector<SharedHold> holds, LoadHoldsLocked(now, &dropped, &a));
    auto it = std::find_if(holds.begin(), holds.end(), [&](const SharedHold& h) { return h.id == id; });
    const bool found = it != holds.end();
    if (found) holds.erase(it);
    if (found || dropped) TKB_RETURN_IF_ERROR(WriteHoldsLocked(holds, a));
    TKB_RETURN_IF_ERROR(FinishAdmission(&a));
    if (!found) {
      return absl::NotFoundError(absl::StrCat("reservation \"", id,
                                              "\" is not outstanding (expired, committed or released)"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Outstanding(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    Admission a;
    TKB_RETURN_IF_ERROR(LockAdmission(&a));
    TKB_ASSIGN_OR_RETURN(std::vector<SharedHold> holds, LoadHoldsLocked(now, nullptr, &a));
    return holds.size();
  }

  absl::StatusOr<std::unique_ptr<AdmissionController>> MakeController(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(UpdateLocked(now));
    auto c = std::make_unique<AdmissionController>(config_.budgets, config_.calendar(), now);
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      if (config_.budgets[i].period == BudgetPeriod::kSession) {
        for (const auto& [session, spent] : totals_.sessions[i]) c->SetSpent(i, spent, now, session);
      } else {
        c->SetSpent(i, totals_.spent[i], now);
      }
    }
    return c;
  }

 private:
  // What the ledger holds up to `covered`. Spend is kept per local day of
  // the calendar (per budget, and in total for the month figure), so a `now`
  // in another period only sums other days; `spent`, `month_spent` and
  // `windows` are derived from the day totals for the periods at `now`.
  struct Totals {
    bool valid = false;
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t covered = 0;
    std::vector<DayTotals> days;                                     // per calendar budget
    std::vector<absl::flat_hash_map<std::string, Micros>> sessions;  // per session budget
    DayTotals all_days;                                              // every entry
    std::string last_session;
    absl::Time last_session_time = absl::InfinitePast();

    std::vector<BudgetWindow> windows;  // per budget (sessions: unused)
    std::vector<Micros> spent;          // per calendar budget, in windows[i]
    BudgetWindow month;
    Micros month_spent;
    bool sums_valid = false;  // spent and month_spent match the day totals
  };

  void ResetTotalsLocked(const struct stat& st) {
    totals_ = Totals{};
    totals_.days.assign(config_.budgets.size(), {});
    totals_.sessions.assign(config_.budgets.size(), {});
    totals_.dev = st.st_dev;
    totals_.ino = st.st_ino;
    totals_.valid = true;
  }

  // Brings totals_ up to the ledger's current end for the periods at `now`.
  absl::Status UpdateLocked(absl::Time now) {
    if (jsonl_) {
      TKB_RETURN_IF_ERROR(ReadFileLocked());
    } else {
      TKB_RETURN_IF_ERROR(ReadDatabaseLocked());
    }
    return SumWindowsLocked(now);
  }

  // A database ledger: the rows past `covered` (a row number), through
  // Ledger::ScanFrom. Totals are kept in memory only, so the first update
  // of a process reads the whole ledger.
  absl::Status ReadDatabaseLocked() {
    lines_decoded_ = 0;
    if (!totals_.valid) {
      struct stat none {};
      ResetTotalsLocked(none);
    }
    absl::Status counted;
    auto count = [&](const Entry& e) {
      ++lines_decoded_;
      if (counted.ok()) counted = CountEntryLocked(e);
    };
    absl::StatusOr<int64_t> end = ledger_->ScanFrom(totals_.covered, count);
    if (absl::IsOutOfRange(end.status())) {  // a different database now: start over
      struct stat none {};
      ResetTotalsLocked(none);
      end = ledger_->ScanFrom(0, count);
    }
    if (end.ok() && !counted.ok()) end = counted;
    if (!end.ok()) {
      totals_.valid = false;
      return end.status();
    }
    totals_.covered = *end;
    return absl::OkStatus();
  }

  // ledger.jsonl: the bytes past `covered`, with the cache file's help.
  absl::Status ReadFileLocked() {
    const int fd = ::open(ledger_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) return PosixError(errno, "cannot open", ledger_path_);
    Fd holder(fd);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) != 0) return PosixError(errno, "cannot stat", ledger_path_);
    const int64_t size = fd >= 0 ? static_cast<int64_t>(st.st_size) : 0;

    lines_decoded_ = 0;
    if (!totals_.valid || st.st_dev != totals_.dev || st.st_ino != totals_.ino || size < totals_.covered) {
      ResetTotalsLocked(st);
      cache_offset_ = 0;
      if (fd >= 0 && size > 0) LoadCacheLocked(fd, size);  // else: a full read
    }
    if (fd >= 0 && size > totals_.covered) {
      absl::Status s = ReadTailLocked(fd, size);
      if (!s.ok()) {
        totals_.valid = false;
        return s;
      }
      if (totals_.covered - cache_offset_ >= kBudgetCacheMinGap) PersistCacheLocked(fd);
    }
    return absl::OkStatus();
  }

  // Derives the sums for the periods at `now` from the day totals.
  absl::Status SumWindowsLocked(absl::Time now) {
    const BudgetCalendar cal = config_.calendar();
    std::vector<BudgetWindow> windows;
    windows.reserve(config_.budgets.size());
    bool same_periods = totals_.sums_valid && totals_.windows.size() == config_.budgets.size();
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      const BudgetPeriod p = config_.budgets[i].period;
      windows.push_back(p == BudgetPeriod::kSession ? BudgetWindow{} : WindowFor(p, now, cal));
      if (same_periods && (windows[i].start != totals_.windows[i].start || windows[i].end != totals_.windows[i].end)) {
        same_periods = false;
      }
    }
    BudgetWindow month = WindowFor(BudgetPeriod::kMonthly, now, cal);
    if (same_periods && month.start != totals_.month.start) same_periods = false;
    totals_.windows = std::move(windows);
    totals_.month = std::move(month);
    if (same_periods) return absl::OkStatus();

    totals_.sums_valid = false;
    totals_.spent.assign(config_.budgets.size(), Micros(0));
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      if (config_.budgets[i].period == BudgetPeriod::kSession) continue;
      if (!SumDays(totals_.days[i], totals_.windows[i], cal.time_zone, &totals_.spent[i])) {
        return absl::OutOfRangeError(
            absl::StrCat("budget \"", config_.budgets[i].name, "\": spend overflows 64 bits"));
      }
    }
    if (!SumDays(totals_.all_days, totals_.month, cal.time_zone, &totals_.month_spent)) {
      return absl::OutOfRangeError("this month's spend overflows 64 bits");
    }
    totals_.sums_valid = true;
    return absl::OkStatus();
  }

  // The spend of the local days [start, end) of `w`.
  static bool SumDays(const DayTotals& days, const BudgetWindow& w, const absl::TimeZone& tz, Micros* out) {
    *out = Micros(0);
    if (days.empty()) return true;
    const absl::CivilDay first = absl::ToCivilDay(w.start, tz);
    const absl::CivilDay after = absl::ToCivilDay(w.end, tz);
    for (absl::CivilDay d = first; d < after; ++d) {
      auto it = days.find(DayKey(d));
      if (it != days.end() && !CheckedAdd(out, it->second)) return false;
    }
    return true;
  }

  // Counts every complete line in [covered, size).
  absl::Status ReadTailLocked(int fd, int64_t size) {
    constexpr size_t kChunk = size_t{1} << 20;
    std::string buf;
    int64_t base = totals_.covered;  // file offset of buf[0]
    int64_t next = base;             // file offset of the next byte to read
    bool skipping = false;           // inside a line too long to hold
    while (next < size) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(kChunk), size - next));
      const size_t old = buf.size();
      buf.resize(old + want);
      TKB_ASSIGN_OR_RETURN(const size_t got, PreadAll(fd, buf.data() + old, want, next, ledger_path_));
      buf.resize(old + got);
      if (got == 0) break;
      next += static_cast<int64_t>(got);
      size_t start = 0;
      for (;;) {
        const size_t nl = buf.find('\n', start);
        if (nl == std::string::npos) break;
        if (!skipping && nl > start) TKB_RETURN_IF_ERROR(CountLineLocked(absl::string_view(buf).substr(start, nl - start)));
        skipping = false;
        start = nl + 1;
      }
      buf.erase(0, start);
      base += static_cast<int64_t>(start);
      if (buf.size() > kMaxLedgerLineBytes) {
        skipping = true;
        base += static_cast<int64_t>(buf.size());
        buf.clear();
      }
    }
    // A partial last line (a write in flight, or a crash) is read next time.
    totals_.covered = base;
    return absl::OkStatus();
  }

  absl::Status CountLineLocked(absl::string_view line) {
    ++lines_decoded_;
    // Lines the ledger's readers skip (malformed, torn) count for nothing.
    if (!decoder_.Decode(line, &scratch_).ok()) return absl::OkStatus();
    return CountEntryLocked(scratch_);
  }

  absl::Status CountEntryLocked(const Entry& e) {
    if (!e.session.empty() && e.timestamp >= totals_.last_session_time) {
      totals_.last_session = e.session;
      totals_.last_session_time = e.timestamp;
    }
    if (e.cost.value() == 0) return absl::OkStatus();
    const int64_t day = DayKey(absl::ToCivilDay(e.timestamp, config_.time_zone));
    const BudgetTarget target = TargetOf(e);
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      const Budget& b = config_.budgets[i];
      if (!b.Applies(target)) continue;
      bool ok;
      if (b.period == BudgetPeriod::kSession) {
        ok = CheckedAdd(&totals_.sessions[i][e.session], e.cost);
      } else {
        ok = CheckedAdd(&totals_.days[i][day], e.cost);
        // Keep the sums for the current periods in step (else: recomputed).
        if (ok && totals_.sums_valid && totals_.windows[i].Contains(e.timestamp)) {
          ok = CheckedAdd(&totals_.spent[i], e.cost);
        }
      }
      if (!ok) return absl::OutOfRangeError(absl::StrCat("budget \"", b.name, "\": spend overflows 64 bits"));
    }
    bool ok = CheckedAdd(&totals_.all_days[day], e.cost);
    if (ok && totals_.sums_valid && totals_.month.Contains(e.timestamp)) ok = CheckedAdd(&totals_.month_spent, e.cost);
    if (!ok) return absl::OutOfRangeError("this month's spend overflows 64 bits");
    return absl::OkStatus();
  }

  // --- The cache file (see budgets.h) ---------------------------------------

  // Identifies what the day totals depend on: the calendar and each budget's
  // period and scope (and name, to keep the list's order meaningful).
  std::string ConfigFingerprint() const {
    std::string text = absl::StrCat("tz=", config_.time_zone.name(), "\x1f", config_.time_zone_name,
                                    "\x1fweek=", static_cast<int>(config_.week_start), "\x1e");
    for (const Budget& b : config_.budgets) {
      absl::StrAppend(&text, b.name, "\x1f", BudgetPeriodName(b.period), "\x1f", b.scope.ToString(), "\x1e");
    }
    return Hex64(Fnv1a(text));
  }

  // Loads the cache file into the (freshly reset) totals if it is whole,
  // of this format and configuration, and matches the ledger's first `size`
  // bytes. Anything else leaves the totals empty: a full read follows.
  void LoadCacheLocked(int fd, int64_t size) {
    absl::StatusOr<std::string> text = ReadPathOrEmpty(cache_path_);
    if (!text.ok() || text->empty()) return;
    // Three lines: header, body, trailer with the hash of the first two.
    const size_t nl1 = text->find('\n');
    if (nl1 == std::string::npos) return;
    const size_t nl2 = text->find('\n', nl1 + 1);
    if (nl2 == std::string::npos) return;
    const size_t nl3 = text->find('\n', nl2 + 1);
    if (nl3 == std::string::npos || nl3 + 1 != text->size()) return;
    const absl::string_view all(*text);
    rapidjson::Document trailer;
    const absl::string_view trailer_line = all.substr(nl2 + 1, nl3 - nl2 - 1);
    trailer.Parse<rapidjson::kParseIterativeFlag>(trailer_line.data(), trailer_line.size());
    if (trailer.HasParseError() || !trailer.IsObject() ||
        StringField(trailer, "fnv1a64") != Hex64(Fnv1a(all.substr(0, nl2 + 1)))) {
      return;
    }
    rapidjson::Document header;
    header.Parse<rapidjson::kParseIterativeFlag>(all.data(), nl1);
    if (header.HasParseError() || !header.IsObject()) return;
    const std::optional<int64_t> version = IntField(header, "v");
    const std::optional<int64_t> offset = IntField(header, "ledger_offset");
    if (version != kBudgetCacheVersion || StringField(header, "kind") != "budget-totals" || !offset.has_value() ||
        *offset <= 0 || *offset > size || StringField(header, "config_fnv1a64") != ConfigFingerprint()) {
      return;
    }
    absl::StatusOr<std::pair<uint64_t, uint64_t>> fp = LedgerFingerprint(fd, ledger_path_, *offset);
    if (!fp.ok() || StringField(header, "head_fnv1a64") != Hex64(fp->first) ||
        StringField(header, "tail_fnv1a64") != Hex64(fp->second)) {
      return;
    }
    rapidjson::Document body;
    const absl::string_view body_line = all.substr(nl1 + 1, nl2 - nl1 - 1);
    body.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(body_line.data(),
                                                                                        body_line.size());
    if (body.HasParseError() || !body.IsObject()) return;

    Totals t;
    t.days.assign(config_.budgets.size(), {});
    t.sessions.assign(config_.budgets.size(), {});
    auto read_days = [](const rapidjson::Value* v, DayTotals* out) {
      if (v == nullptr || !v->IsArray() || v->Size() % 2 != 0) return false;
      for (rapidjson::SizeType k = 0; k < v->Size(); k += 2) {
        const rapidjson::Value& d = (*v)[k];
        const rapidjson::Value& m = (*v)[k + 1];
        if (!d.IsInt64() || !m.IsInt64()) return false;
        if (!out->try_emplace(d.GetInt64(), Micros(m.GetInt64())).second) return false;
      }
      return true;
    };
    auto member = [](const rapidjson::Value& obj, const char* name) -> const rapidjson::Value* {
      auto it = obj.FindMember(name);
      return it == obj.MemberEnd() ? nullptr : &it->value;
    };
    if (!read_days(member(body, "all"), &t.all_days)) return;
    const rapidjson::Value* budgets = member(body, "budgets");
    if (budgets == nullptr || !budgets->IsArray() || budgets->Size() != config_.budgets.size()) return;
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      const rapidjson::Value& v = (*budgets)[static_cast<rapidjson::SizeType>(i)];
      if (config_.budgets[i].period != BudgetPeriod::kSession) {
        if (!read_days(&v, &t.days[i])) return;
        continue;
      }
      if (!v.IsObject()) return;
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        if (!it->value.IsInt64()) return;
        t.sessions[i].try_emplace(std::string(it->name.GetString(), it->name.GetStringLength()),
                                  Micros(it->value.GetInt64()));
      }
    }
    const rapidjson::Value* last = member(body, "last_session");
    if (last == nullptr || !last->IsString()) return;
    t.last_session.assign(last->GetString(), last->GetStringLength());
    if (!t.last_session.empty()) {
      const std::optional<int64_t> us = IntField(body, "last_session_us");
      if (!us.has_value()) return;
      t.last_session_time = absl::FromUnixMicros(*us);
    }
    t.valid = true;
    t.dev = totals_.dev;
    t.ino = totals_.ino;
    t.covered = *offset;
    totals_ = std::move(t);
    cache_offset_ = *offset;
  }

  // Writes the totals to the cache file: a temporary file in cache/, then
  // rename(), so readers see a whole old file or a whole new one. Best
  // effort: a failure (read-only directory, full disk) only means later
  // readers start further back; it is retried after another gap.
  void PersistCacheLocked(int fd) {
    cache_offset_ = totals_.covered;
    if (totals_.covered <= 0) return;
    if (::mkdir(cache_dir_.c_str(), 0700) != 0 && errno != EEXIST) return;
    absl::StatusOr<std::pair<uint64_t, uint64_t>> fp = LedgerFingerprint(fd, ledger_path_, totals_.covered);
    if (!fp.ok()) return;
    std::string text = absl::StrCat("{\"v\":", kBudgetCacheVersion, ",\"kind\":\"budget-totals\",\"ledger_offset\":",
                                    totals_.covered, ",\"head_fnv1a64\":\"", Hex64(fp->first),
                                    "\",\"tail_fnv1a64\":\"", Hex64(fp->second), "\",\"config_fnv1a64\":\"",
                                    ConfigFingerprint(), "\"}\n");
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    auto write_days = [&w](const DayTotals& days) {
      std::vector<std::pair<int64_t, int64_t>> sorted;
      sorted.reserve(days.size());
      for (const auto& [d, m] : days) sorted.emplace_back(d, m.value());
      std::sort(sorted.begin(), sorted.end());
      w.StartArray();
      for (const auto& [d, m] : sorted) {
        w.Int64(d);
        w.Int64(m);
      }
      w.EndArray();
    };
    w.StartObject();
    Key(w, "last_session");
    Str(w, totals_.last_session);
    if (!totals_.last_session.empty()) {
      Key(w, "last_session_us");
      w.Int64(absl::ToUnixMicros(totals_.last_session_time));
    }
    Key(w, "all");
    write_days(totals_.all_days);
    Key(w, "budgets");
    w.StartArray();
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      if (config_.budgets[i].period != BudgetPeriod::kSession) {
        write_days(totals_.days[i]);
        continue;
      }
      w.StartObject();
      for (const auto& [session, m] : totals_.sessions[i]) {
        Key(w, session);
        w.Int64(m.value());
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    text.append(sb.GetString(), sb.GetSize());
    text.push_back('\n');
    absl::StrAppend(&text, "{\"end\":true,\"fnv1a64\":\"", Hex64(Fnv1a(text)), "\"}\n");

    static std::atomic<uint64_t> counter{0};
    const std::string tmp = absl::StrCat(cache_path_, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
    const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return;
    absl::Status s;
    {
      Fd holder(out);
      s = WriteAll(out, text.data(), text.size(), tmp);
    }
    if (!s.ok() || ::rename(tmp.c_str(), cache_path_.c_str()) != 0) ::unlink(tmp.c_str());
  }
  Micros SpentLocked(size_t i, absl::string_view session) const {
    if (config_.budgets[i].period != BudgetPeriod::kSession) return totals_.spent[i];
    auto it = totals_.sessions[i].find(session);
    return it == totals_.sessions[i].end() ? Micros(0) : it->second;
  }

  BudgetStatus StatusOfLocked(size_t i, absl::Time now, absl::string_view session) const {
    const Budget& b = config_.budgets[i];
    return StatusAt(b, SpentLocked(i, session), now, config_.calendar(), session);
  }

  void FillMonthLocked(Micros* month_spent, std::optional<BudgetSuggestion>* suggestion) const {
    *month_spent = totals_.month_spent;
    if (config_.budgets.empty()) {
      *suggestion = SuggestBudget(config_.stage, ProjectMonth(totals_.month_spent, totals_.month));
    }
  }

  absl::StatusOr<LogImpact> ImpactLocked(const Entry& logged, absl::Time now) {
    LogImpact impact;
    impact.cost = logged.cost;
    impact.priced = logged.priced();
    impact.model = logged.model;
    const BudgetTarget target = TargetOf(logged);
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      if (!config_.budgets[i].Applies(target)) continue;
      impact.budgets.push_back(StatusOfLocked(i, now, logged.session));
    }
    FillMonthLocked(&impact.month_spent, &impact.suggestion);
    TKB_ASSIGN_OR_RETURN(impact.alerts, RecordAlerts(impact.budgets, now));
    return impact;
  }

  // Appends an alert for each status at warning or above whose budget and
  // period have no alert at that level or higher yet.
  absl::StatusOr<std::vector<BudgetAlert>> RecordAlerts(const std::vector<BudgetStatus>& statuses,
                                                        absl::Time now) const {
    std::vector<BudgetAlert> out;
    bool any = false;
    for (const BudgetStatus& s : statuses) any = any || s.level >= BudgetLevel::kWarning;
    if (!any) return out;  // the common case touches no file

    std::unique_ptr<Fd> file;
    TKB_RETURN_IF_ERROR(LockExclusive(alerts_path_, O_RDWR | O_APPEND, &file));
    TKB_ASSIGN_OR_RETURN(std::string text, ReadFileOrEmpty(file->get(), alerts_path_));
    absl::flat_hash_map<std::pair<std::string, std::string>, BudgetLevel> recorded;
    ForEachLine(text, [&](absl::string_view line) {
      std::optional<BudgetAlert> a = DecodeAlert(line);
      if (!a.has_value()) return;
      BudgetLevel& level = recorded.try_emplace(std::make_pair(a->budget, a->period), a->level).first->second;
      if (a->level > level) level = a->level;
    });
    std::string lines;
    if (!text.empty() && text.back() != '\n') lines.push_back('\n');  // close a torn line
    for (const BudgetStatus& s : statuses) {
      if (s.level < BudgetLevel::kWarning) continue;
      auto [it, inserted] = recorded.try_emplace(std::make_pair(s.budget.name, s.window.label), s.level);
      if (!inserted) {
        if (it->second >= s.level) continue;
        it->second = s.level;
      }
      BudgetAlert a;
      a.time = now;
      a.budget = s.budget.name;
      a.scope = s.budget.scope.ToString();
      a.period = s.window.label;
      a.level = s.level;
      a.spent = s.spent;
      a.limit = s.budget.limit;
      a.percent_bp = s.percent_bp;
      a.action = s.budget.action;
      lines += EncodeAlert(a);
      lines.push_back('\n');
      out.push_back(std::move(a));
    }
    if (out.empty()) return out;
    TKB_RETURN_IF_ERROR(WriteAll(file->get(), lines.data(), lines.size(), alerts_path_));
    return out;
  }

  static std::vector<SharedHold> ParseHolds(absl::string_view text, absl::Time now, bool* dropped) {
    std::vector<SharedHold> holds;
    ForEachLine(text, [&](absl::string_view line) {
      std::optional<SharedHold> h = DecodeHold(line);
      if (h.has_value() && h->expires > now) {
        holds.push_back(std::move(*h));
      } else if (dropped != nullptr) {
        *dropped = true;
      }
    });
    return holds;
  }

  // reservations.jsonl, open for one locked operation.
  struct HoldsFile {
    std::unique_ptr<Fd> fd;
    size_t size = 0;  // bytes read
  };
  // The admission lock and the reservations under it: flock() on
  // budget.lock and reservations.jsonl in the ledger directory, or a
  // transaction of a database ledger that keeps them itself (shared by
  // every host).
  struct Admission {
    std::unique_ptr<Fd> file_lock;
    std::unique_ptr<AdmissionTransaction> txn;
    HoldsFile file;
  };
  absl::Status LockAdmission(Admission* a) const {
    TKB_ASSIGN_OR_RETURN(a->txn, ledger_->BeginAdmission());
    if (a->txn != nullptr) return absl::OkStatus();
    return LockExclusive(lock_path_, O_RDWR, &a->file_lock);
  }
  // Makes what the admission wrote durable and lets others go on.
  static absl::Status FinishAdmission(Admission* a) {
    absl::Status s = a->txn != nullptr ? a->txn->Commit() : absl::OkStatus();
    a->txn.reset();
    a->file.fd.reset();
    a->file_lock.reset();
    return s;
  }

  // Call with budget.lock held.
  absl::StatusOr<std::vector<SharedHold>> LoadHoldsLocked(absl::Time now, bool* dropped, Admission* a) const {
    if (a->txn != nullptr) {
      TKB_ASSIGN_OR_RETURN(std::string text, a->txn->ReadHolds());
      return ParseHolds(text, now, dropped);
    }
    HoldsFile* file = &a->file;
    const int fd = ::open(holds_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return PosixError(errno, "cannot open", holds_path_);
    file->fd = std::make_unique<Fd>(fd);
    TKB_ASSIGN_OR_RETURN(std::string text, ReadFileOrEmpty(fd, holds_path_));
    file->size = text.size();
    return ParseHolds(text, now, dropped);
  }

  // Rewrites the file in place, under budget.lock: one pwrite() of the whole
  // content, then ftruncate() to its length. (Replacing it by rename() costs
  // a forced writeback on ext4, about half a millisecond; every reader holds
  // the lock, so in place is safe.) A process that dies cannot tear the one
  // write; at worst, dying between the two calls leaves lines of finished
  // reservations behind the new content, which hold budget until they expire:
  // conservative, never an overshoot.
  absl::Status WriteHoldsLocked(const std::vector<SharedHold>& holds, const Admission& a) const {
    if (a.txn != nullptr) {
      std::vector<AdmissionTransaction::Hold> rows;
      rows.reserve(holds.size());
      for (const SharedHold& h : holds) rows.push_back({h.id, h.expires, EncodeHold(h)});
      return a.txn->WriteHolds(rows);
    }
    const HoldsFile& file = a.file;
    std::string text;
    for (const SharedHold& h : holds) {
      text += EncodeHold(h);
      text.push_back('\n');
    }
    const int fd = file.fd->get();
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(errno, "cannot write", holds_path_);
      }
      done += static_cast<size_t>(n);
    }
    if (text.size() < file.size && ::ftruncate(fd, static_cast<off_t>(text.size())) != 0) {
      return PosixError(errno, "cannot truncate", holds_path_);
    }
    return absl::OkStatus();
  }

  static Micros ReservedFor(const Budget& b, absl::string_view session, const std::vector<SharedHold>& holds) {
    int64_t sum = 0;
    for (const SharedHold& h : holds) {
      if (h.Holds(b, session)) sum += h.estimate.value();
    }
    return Micros(sum);
  }

  AdmissionDecision DecideLocked(const SharedAdmissionRequest& req, const std::vector<SharedHold>& holds) const {
    AdmissionDecision out;
    out.estimate = req.estimate;
    const BudgetTarget target = req.target();
    for (size_t i = 0; i < config_.budgets.size(); ++i) {
      const Budget& b = config_.budgets[i];
      if (!b.Applies(target)) continue;
      const Micros spent = SpentLocked(i, req.session);
      const Micros reserved = ReservedFor(b, req.session, holds);
      MergeDecision(&out, static_cast<int>(i), b, DecideBudget(b, spent, reserved, req.estimate), spent, reserved);
    }
    return out;
  }

  Ledger* const ledger_;
  const Config config_;
  const std::string dir_;
  const std::string ledger_path_;
  const bool jsonl_;  // ledger.jsonl, read by byte offset; else a database, read through ScanFrom
  const std::string alerts_path_;
  const std::string holds_path_;
  const std::string lock_path_;
  const std::string cache_dir_;
  const std::string cache_path_;

  // std::mutex rather than absl::Mutex so that ThreadSanitizer sees it
  // (Debian's Abseil is built without TSan annotations). Guards everything
  // below, and serialises this process's threads around the file locks.
  std::mutex mu_;
  Totals totals_;
  EntryDecoder decoder_;
  Entry scratch_;
  int64_t cache_offset_ = 0;   // what the cache file covers, as last read or written here
  int64_t lines_decoded_ = 0;  // by the last catch-up
};

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<BudgetService>> BudgetService::Open(Ledger* ledger, Config config) {
  if (ledger == nullptr) return absl::InvalidArgumentError("BudgetService needs a ledger");
  TKB_RETURN_IF_ERROR(ValidateBudgets(config.budgets));
  if (config.reservation_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the reservation TTL must be positive");
  }
  return std::unique_ptr<BudgetService>(new BudgetService(std::make_unique<Impl>(ledger, std::move(config))));
}

BudgetService::BudgetService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BudgetService::~BudgetService() = default;

const Config& BudgetService::config() const { return impl_->config(); }

absl::StatusOr<BudgetReport> BudgetService::Status(absl::Time now, absl::string_view session) {
  return impl_->Status(now, session);
}

absl::StatusOr<LogImpact> BudgetService::AfterLog(const Entry& logged, absl::Time now) {
  return impl_->AfterLog(logged, now);
}

absl::StatusOr<std::vector<BudgetAlert>> BudgetService::CheckAlerts(absl::Time now, absl::string_view session) {
  return impl_->CheckAlerts(now, session);
}

absl::StatusOr<std::vector<BudgetAlert>> BudgetService::ReadAlerts() const { return impl_->ReadAlerts(); }

absl::StatusOr<AdmissionDecision> BudgetService::Check(const SharedAdmissionRequest& request) {
  return impl_->Check(request);
}

absl::StatusOr<SharedReservation> BudgetService::Reserve(const SharedAdmissionRequest& request) {
  return impl_->Reserve(request);
}

absl::StatusOr<CommitResult> BudgetService::Commit(absl::string_view reservation_id, Entry entry, absl::Time now) {
  return impl_->Commit(reservation_id, std::move(entry), now);
}

absl::Status BudgetService::Release(absl::string_view reservation_id, absl::Time now) {
  return impl_->Release(reservation_id, now);
}

absl::StatusOr<size_t> BudgetService::OutstandingReservations(absl::Time now) { return impl_->Outstanding(now); }

absl::StatusOr<std::unique_ptr<AdmissionController>> BudgetService::MakeController(absl::Time now) {
  return impl_->MakeController(now);
}

absl::Status BudgetService::RefreshCache() { return impl_->RefreshCache(); }

int64_t BudgetService::LinesDecodedByLastCatchUp() { return impl_->LinesDecoded(); }

// ---------------------------------------------------------------------------

std::string FormatLogImpact(const LogImpact& impact) {
  std::string out;
  if (impact.priced) {
    absl::StrAppend(&out, "Entry logged: ", Dollars(impact.cost), "\n");
  } else {
    absl::StrAppend(&out, "Entry logged: unpriced (model \"", impact.model,
                    "\" is not in the rate table; it counts as $0.00 until priced)\n");
  }
  const bool several = impact.budgets.size() > 1;
  for (const BudgetStatus& s : impact.budgets) {
    absl::StrAppend(&out, "Budget", several ? absl::StrCat(" (", s.budget.name, ")") : std::string(), ": ",
                    Dollars(s.spent), " / ", Dollars(s.budget.limit), " (",
                    FormatPercent(s.spent, s.budget.limit, 1), "%)");
    if (s.level != BudgetLevel::kOk) absl::StrAppend(&out, " [", BudgetLevelName(s.level), "]");
    out.push_back('\n');
  }
  if (impact.budgets.empty() && impact.suggestion.has_value()) {
    const BudgetSuggestion& g = *impact.suggestion;
    absl::StrAppend(&out, "Budget: none set; this month ", Dollars(impact.month_spent),
                    ". Suggested monthly budget: ", Dollars(g.monthly_limit), " (stage ", StageName(g.stage),
                    g.stage_inferred ? ", from this month's pace" : "", ": ", Dollars(g.range.min),
                    g.range.max.has_value() ? absl::StrCat(" to ", Dollars(*g.range.max)) : std::string(" or more"),
                    ")\n");
  }
  return out;
}

}  // namespace v1
}  // namespace tokenbook
