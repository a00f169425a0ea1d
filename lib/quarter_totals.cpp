#include "tokenbook/quarter_totals.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "tokenbook/period.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

int64_t QuarterOf(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);  // rounds toward negative infinity
  return s >= 0 ? s / kQuarterSeconds : -((-s + kQuarterSeconds - 1) / kQuarterSeconds);
}

bool OnQuarter(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return true;
  return absl::FromUnixSeconds(QuarterOf(t) * kQuarterSeconds) == t;
}

uint32_t QuarterTotals::Intern(absl::string_view name) {
  if (last_name_ < names_.size() && names_[last_name_] == name) return last_name_;
  auto it = name_ids_.find(name);
  if (it == name_ids_.end()) {
    it = name_ids_.emplace(std::string(name), static_cast<uint32_t>(names_.size())).first;
    names_.emplace_back(name);
  }
  last_name_ = it->second;
  return it->second;
}

QuarterTotals::Row& QuarterTotals::RowOf(int64_t quarter, uint32_t model, uint32_t provider, bool unpriced) {
  const Key key{quarter, model, unpriced ? provider | kUnpricedBit : provider};
  auto [it, inserted] = index_.try_emplace(key, nullptr);
  if (inserted) {
    if (chunks_.empty() || chunks_.back().size() == chunks_.back().capacity()) {
      const size_t last = chunks_.empty() ? 32 : chunks_.back().capacity();
      chunks_.emplace_back().reserve(std::min<size_t>(2 * last, 4096));
    }
    it->second = &chunks_.back().emplace_back();
    it->second->key = key;
  }
  return *it->second;
}

void QuarterTotals::MergeRow(Row& into, const Row& from) {
  bool ok = !__builtin_add_overflow(into.entries, from.entries, &into.entries);
  ok &= !__builtin_add_overflow(into.requests, from.requests, &into.requests);
  ok &= !__builtin_add_overflow(into.cost, from.cost, &into.cost);
  for (int k = 0; k < kTokenKindCount; ++k)
    ok &= !__builtin_add_overflow(into.tokens[k], from.tokens[k], &into.tokens[k]);
  into.first_ns = std::min(into.first_ns, from.first_ns);
  into.last_ns = std::max(into.last_ns, from.last_ns);
  ok &= !__builtin_add_overflow(entries_, from.entries, &entries_);
  usable_ &= ok;
}

Totals QuarterTotals::TotalsOf(const Row& row) const {
  Totals t;
  t.entries = row.entries;
  t.requests = row.requests;
  t.cost = Micros(row.cost);
  for (int k = 0; k < kTokenKindCount; ++k) t.tokens.by_kind[k] = Tokens(row.tokens[k]);
  if ((row.key.provider & kUnpricedBit) != 0) {
    t.unpriced_entries = t.entries;
    t.unpriced_tokens = t.tokens;
  }
  t.first = absl::FromUnixNanos(row.first_ns);
  t.last = absl::FromUnixNanos(row.last_ns);
  return t;
}

void QuarterTotals::Add(const Entry& e) {
  if (!usable_) return;
  if (!binary_cache::Representable(e.timestamp) || e.timestamp == absl::InfinitePast() ||
      e.timestamp == absl::InfiniteFuture()) {
    usable_ = false;
    return;
  }
  Row one;
  one.entries = 1;
  one.requests = e.requests;
  one.cost = e.cost.value();
  for (int k = 0; k < kTokenKindCount; ++k) one.tokens[k] = e.tokens.by_kind[k].value();
  one.first_ns = one.last_ns = absl::ToUnixNanos(e.timestamp);
  const uint32_t model = Intern(e.model);
  MergeRow(RowOf(QuarterOf(e.timestamp), model, Intern(e.provider), !e.priced()), one);
}

void QuarterTotals::AddRow(int64_t quarter, absl::string_view model, absl::string_view provider, const Totals& t) {
  if (!usable_ || t.entries == 0) return;
  const bool unpriced = t.unpriced_entries != 0;
  if ((unpriced && (t.unpriced_entries != t.entries || t.unpriced_tokens.by_kind != t.tokens.by_kind)) ||
      !binary_cache::Representable(t.first) || !binary_cache::Representable(t.last) ||
      t.first == absl::InfinitePast() || t.last == absl::InfiniteFuture() || t.first > t.last ||
      QuarterOf(t.first) != quarter || QuarterOf(t.last) != quarter) {
    usable_ = false;
    return;
  }
  Row from;
  from.entries = t.entries;
  from.requests = t.requests;
  from.cost = t.cost.value();
  for (int k = 0; k < kTokenKindCount; ++k) from.tokens[k] = t.tokens.by_kind[k].value();
  from.first_ns = absl::ToUnixNanos(t.first);
  from.last_ns = absl::ToUnixNanos(t.last);
  const uint32_t m = Intern(model);
  MergeRow(RowOf(quarter, m, Intern(provider), unpriced), from);
}

void QuarterTotals::Merge(const QuarterTotals& other) {
  if (!other.usable_) usable_ = false;
  if (!usable_) return;
  std::vector<uint32_t> ids(other.names_.size());
  for (size_t k = 0; k < ids.size(); ++k) ids[k] = Intern(other.names_[k]);
  for (const std::vector<Row>& chunk : other.chunks_) {
    for (const Row& row : chunk) {
      const uint32_t provider = row.key.provider & ~kUnpricedBit;
      MergeRow(RowOf(row.key.quarter, ids[row.key.model], ids[provider], (row.key.provider & kUnpricedBit) != 0), row);
    }
  }
}

void QuarterTotals::Clear() {
  names_.clear();
  name_ids_.clear();
  index_.clear();
  chunks_.clear();
  last_name_ = 0;
  entries_ = 0;
  usable_ = true;
}

bool QuarterTotals::Answers(const RollupQuery& q, int64_t* first, int64_t* end) {
  for (const GroupKey& k : q.group_by) {
    if (!k.is_time() && (k.kind != GroupKey::Kind::kDimension ||
                         (k.dimension != Dimension::kModel && k.dimension != Dimension::kProvider))) {
      return false;
    }
  }
  for (const Filter& f : q.filters) {
    if (f.key.kind != GroupKey::Kind::kDimension ||
        (f.key.dimension != Dimension::kModel && f.key.dimension != Dimension::kProvider)) {
      return false;
    }
  }
  if (!OnQuarter(q.range.start) || !OnQuarter(q.range.end)) return false;
  *first = q.range.start == absl::InfinitePast() ? std::numeric_limits<int64_t>::min() : QuarterOf(q.range.start);
  *end = q.range.end == absl::InfiniteFuture() ? std::numeric_limits<int64_t>::max() : QuarterOf(q.range.end);
  return true;
}

absl::StatusOr<bool> QuarterTotals::AddTo(Rollup* rollup) const {
  const RollupQuery& q = rollup->query();
  int64_t first = 0, end = 0;
  if (!usable_ || !Answers(q, &first, &end)) return false;
  bool timed = false;
  for (const GroupKey& k : q.group_by) timed |= k.is_time();
  // Summed into a rollup of our own first, so that a quarter found to
  // straddle a bucket half-way leaves the caller's untouched.
  TKB_ASSIGN_OR_RETURN(Rollup mine, Rollup::Create(q));
  Entry like;
  for (const std::vector<Row>& chunk : chunks_) {
    for (const Row& row : chunk) {
      const int64_t quarter = row.key.quarter;
      if (quarter < first || quarter >= end) continue;
      like.timestamp = absl::FromUnixSeconds(quarter * kQuarterSeconds);
      if (timed) {
        // One bucket: the zone's offset a whole number of quarter hours, the
        // same at both ends of the quarter.
        const absl::TimeZone::CivilInfo a = q.tz.At(like.timestamp);
        const absl::TimeZone::CivilInfo b =
            q.tz.At(like.timestamp + absl::Seconds(kQuarterSeconds) - absl::Nanoseconds(1));
        if (a.offset != b.offset || a.offset % kQuarterSeconds != 0) return false;
      }
      like.model = names_[row.key.model];
      like.provider = names_[row.key.provider & ~kUnpricedBit];
      like.cost_source = (row.key.provider & kUnpricedBit) != 0 ? CostSource::kUnpriced : CostSource::kComputed;
      mine.AddTotals(like, TotalsOf(row));
    }
  }
  TKB_RETURN_IF_ERROR(rollup->Merge(mine));
  return true;
}

namespace {

// Whether quarter `q` begins at an instant the report totals can hold
// (binary_cache::Representable): its seconds, and its milliseconds, then fit
// in 64 bits.
bool QuarterInReach(int64_t q) {
  int64_t seconds = 0;
  return !__builtin_mul_overflow(q, kQuarterSeconds, &seconds) &&
         binary_cache::Representable(absl::FromUnixSeconds(seconds));
}

}  // namespace

bool QuarterTotals::BucketStarts(const RollupQuery& q, int64_t first, int64_t end, std::vector<int64_t>* starts) {
  starts->clear();
  if (first >= end || !QuarterInReach(first) || !QuarterInReach(end)) return false;
  // Rollup's own bucketers, so that a run holds what Rollup::Add would put
  // in one group.
  std::vector<Bucketer> bucketers;
  for (const GroupKey& k : q.group_by) {
    if (k.is_time()) bucketers.emplace_back(k.bucket, q.tz, q.week_start);
  }
  starts->push_back(first);
  if (bucketers.empty()) return true;
  const auto at = [](int64_t seconds) { return absl::FromUnixSeconds(seconds); };
  const auto add_start = [&](int64_t seconds) {
    if (seconds % kQuarterSeconds != 0 || starts->size() >= kMaxBucketRuns) return false;
    starts->push_back(seconds / kQuarterSeconds);
    return true;
  };
  const absl::CivilSecond epoch(1970, 1, 1);
  const int64_t stop = end * kQuarterSeconds;
  for (int64_t t = first * kQuarterSeconds; t < stop;) {
    // [t, span_end): one UTC offset, a whole number of quarter hours. The
    // zone's transitions say where it ends; as their enumeration is only
    // informational in Abseil, the offset is checked at both ends too (as
    // Bucketer does).
    const int64_t offset = q.tz.At(at(t)).offset;
    if (offset % kQuarterSeconds != 0) return false;
    int64_t span_end = stop;
    absl::TimeZone::CivilTransition tr;
    if (q.tz.NextTransition(at(t), &tr)) {
      const int64_t change = (tr.from - epoch) - offset;  // `from` is civil time in this offset
      if (change <= t) return false;
      span_end = std::min(span_end, change);
    }
    if (span_end % kQuarterSeconds != 0 || q.tz.At(at(span_end - 1)).offset != offset) return false;
    // Inside the span, civil time is UTC plus the offset: the next bucket of
    // any time key begins where civil time reaches its first second.
    for (int64_t s = t;;) {
      const absl::CivilSecond civil = epoch + (s + offset);
      int64_t next = span_end;
      for (Bucketer& b : bucketers) {
        const absl::CivilSecond begins = b.CivilStart(b.Next(b.KeyOf(at(s))));
        next = std::min(next, s + (begins - civil));
      }
      if (next <= s) return false;  // the bucketer sees another offset: not ours to second-guess
      if (next >= span_end) break;
      if (!add_start(next)) return false;
      s = next;
    }
    // Where the offset changes, the buckets may too (forward, or back to
    // one seen before: its entries then come in two runs).
    if (span_end < stop) {
      bool same = true;
      for (Bucketer& b : bucketers) same &= b.KeyOf(at(span_end - 1)) == b.KeyOf(at(span_end));
      if (!same && !add_start(span_end)) return false;
    }
    t = span_end;
  }
  return true;
}

bool QuarterTotals::AddBucketRow(Rollup* rollup, int64_t start, int64_t next, absl::string_view model,
                                 absl::string_view provider, const Totals& t) {
  if (t.entries == 0) return true;
  if (start >= next || !QuarterInReach(start) || !QuarterInReach(next)) return false;
  const absl::Time begin = absl::FromUnixSeconds(start * kQuarterSeconds);
  const absl::Time end = absl::FromUnixSeconds(next * kQuarterSeconds);
  const bool unpriced = t.unpriced_entries != 0;
  if ((unpriced && (t.unpriced_entries != t.entries || t.unpriced_tokens.by_kind != t.tokens.by_kind)) ||
      t.first < begin || t.last >= end || t.first > t.last) {
    return false;
  }
  Entry like;
  like.timestamp = begin;
  like.model = std::string(model);
  like.provider = std::string(provider);
  like.cost_source = unpriced ? CostSource::kUnpriced : CostSource::kComputed;
  rollup->AddTotals(like, t);
  return true;
}

void QuarterTotals::Write(binary_cache::Writer* w) const {
  w->I64(entries_);
  w->U64(names_.size());
  for (const std::string& name : names_) w->Str(name);
  w->U64(size());
  for (const std::vector<Row>& chunk : chunks_) {
    for (const Row& row : chunk) {
      w->I64(row.key.quarter);
      w->U64(row.key.model);
      w->U64(row.key.provider);
      w->I64(row.entries);
      w->I64(row.requests);
      w->I64(row.cost);
      for (int64_t t : row.tokens) w->I64(t);
      w->I64(row.first_ns);
      w->I64(row.last_ns);
    }
  }
}

bool QuarterTotals::Read(binary_cache::Reader* r) {
  Clear();
  int64_t entries = 0;
  uint64_t n = 0;
  bool ok = r->I64(&entries) && r->Count(&n, 8);
  for (uint64_t i = 0; ok && i < n; ++i) {
    std::string name;
    ok = r->Str(&name) && name_ids_.try_emplace(name, static_cast<uint32_t>(names_.size())).second;
    if (ok) names_.push_back(std::move(name));
  }
  constexpr size_t kRowBytes = 8 * (8 + kTokenKindCount);
  ok = ok && r->Count(&n, kRowBytes);
  int64_t counted = 0;
  for (uint64_t i = 0; ok && i < n; ++i) {
    Row row;
    uint64_t model = 0, provider = 0;
    ok = r->I64(&row.key.quarter) && r->U64(&model) && r->U64(&provider) && model < names_.size() &&
         (provider & ~uint64_t{kUnpricedBit}) < names_.size() && r->I64(&row.entries) && r->I64(&row.requests) &&
         r->I64(&row.cost) && row.entries > 0;
    for (int k = 0; ok && k < kTokenKindCount; ++k) ok = r->I64(&row.tokens[k]);
    // Both times inside the row's quarter: that also keeps the quarter's
    // seconds within int64.
    ok = ok && r->I64(&row.first_ns) && r->I64(&row.last_ns) && row.first_ns <= row.last_ns &&
         QuarterOf(absl::FromUnixNanos(row.first_ns)) == row.key.quarter &&
         QuarterOf(absl::FromUnixNanos(row.last_ns)) == row.key.quarter &&
         !__builtin_add_overflow(counted, row.entries, &counted);
    if (!ok) break;
    row.key.model = static_cast<uint32_t>(model);
    row.key.provider = static_cast<uint32_t>(provider);
    Row& kept =
        RowOf(row.key.quarter, row.key.model, row.key.provider & ~kUnpricedBit, (row.key.provider & kUnpricedBit) != 0);
    ok = kept.entries == 0;  // each key once
    kept = row;
  }
  if (!ok || counted != entries) {
    Clear();
    return false;
  }
  entries_ = entries;
  return true;
}

namespace {
constexpr absl::string_view kReportTotalsMagic("tkbrqt01", 8);
}  // namespace

bool LoadQuarterTotalsCache(const std::string& path, int fd, const std::string& ledger_path, QuarterTotals* totals,
                            binary_cache::LedgerStamp* stamp) {
  std::string data;
  absl::string_view body;
  if (!binary_cache::ReadWholeFile(path, &data) || !binary_cache::Unseal(kReportTotalsMagic, data, &body)) return false;
  binary_cache::Reader r(body);
  if (!stamp->Read(&r) || !totals->Read(&r) || !r.done() || !binary_cache::StampMatches(*stamp, fd, ledger_path)) {
    totals->Clear();
    return false;
  }
  return true;
}

void StoreQuarterTotalsCache(const std::string& path, int fd, const std::string& ledger_path, int64_t covered,
                             const QuarterTotals& totals, uint32_t file_mode, uint32_t dir_mode) {
  if (!totals.usable()) return;
  binary_cache::LedgerStamp stamp;
  if (!binary_cache::StampLedger(fd, ledger_path, covered, &stamp)) return;
  binary_cache::WriteCacheFile(
      path, kReportTotalsMagic,
      [&](binary_cache::Writer* w) {
        stamp.Write(w);
        totals.Write(w);
      },
      file_mode, dir_mode);
}

}  // namespace v1
}  // namespace tokenbook
