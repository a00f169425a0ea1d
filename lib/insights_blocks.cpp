// Usage blocks: 5-hour billing windows, burn rate and projection (see
// lib/tokenbook/insights.h for the rules).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tokenbook/insights.h"

namespace tokenbook {
inline namespace v1 {

__int128 CountedTokens(const TokenCounts& tokens) {
  __int128 sum = 0;
  for (TokenKind k : kAllTokenKinds) {
    if (k != TokenKind::kReasoning) sum += tokens[k].value();
  }
  return sum;
}

std::string FormatHoursMinutes(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes < 60) return absl::StrCat(minutes, "m");
  return absl::StrCat(minutes / 60, "h", minutes % 60 < 10 ? "0" : "", minutes % 60, "m");
}

bool IsClaudeUsage(const Entry& e) {
  if (!e.provider.empty()) return e.provider == "anthropic";
  return absl::StrContains(absl::AsciiStrToLower(e.model), "claude");
}

namespace {

constexpr int64_t kMillisPerHour = 3'600'000;

// round_half_even(value × num / den) as int64; nullopt when it does not fit.
std::optional<int64_t> ScaleHalfEven(__int128 value, __int128 num, __int128 den) {
  const __int128 q = DivRoundHalfEven(value * num, den);
  if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min()) return std::nullopt;
  return static_cast<int64_t>(q);
}

absl::Time FloorToUtcHour(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);  // floors
  int64_t h = s / 3600;
  if (s % 3600 < 0) h -= 1;
  return absl::FromUnixSeconds(h * 3600);
}

}  // namespace

std::optional<BurnRate> BurnOver(int64_t tokens, Micros cost, absl::Duration window) {
  const int64_t ms = absl::ToInt64Milliseconds(window);
  if (ms < absl::ToInt64Milliseconds(kMinBurnWindow)) return std::nullopt;
  std::optional<int64_t> t = ScaleHalfEven(tokens, kMillisPerHour, ms);
  std::optional<int64_t> c = ScaleHalfEven(cost.value(), kMillisPerHour, ms);
  if (!t.has_value() || !c.has_value()) return std::nullopt;
  return BurnRate{absl::Milliseconds(ms), *t, Micros(*c)};
}

struct BlockBuilder::Impl {
  // What a block needs of an entry: 80-odd bytes instead of an Entry.
  struct Rec {
    absl::Time t;
    TokenCounts tokens;
    int64_t requests;
    Micros cost;
    uint32_t model;
    bool priced;
  };
  std::vector<Filter> filters;
  bool claude_only = false;
  std::vector<Rec> recs;
  // Groups added whole (AddTotals), ordered among the entries by their first time.
  struct Group {
    uint32_t model;
    Totals totals;
  };
  std::vector<Group> groups;
  absl::flat_hash_map<std::string, uint32_t> model_index;
  std::vector<std::string> models;

  uint32_t ModelIndex(absl::string_view model) {
    auto [it, inserted] = model_index.try_emplace(model, static_cast<uint32_t>(models.size()));
    if (inserted) models.emplace_back(model);
    return it->second;
  }
};

BlockBuilder::BlockBuilder(std::vector<Filter> filters, bool claude_only) : impl_(std::make_unique<Impl>()) {
  impl_->filters = std::move(filters);
  impl_->claude_only = claude_only;
}
BlockBuilder::~BlockBuilder() = default;
BlockBuilder::BlockBuilder(BlockBuilder&&) noexcept = default;
BlockBuilder& BlockBuilder::operator=(BlockBuilder&&) noexcept = default;

void BlockBuilder::Add(const Entry& e) {
  if (impl_->claude_only && !IsClaudeUsage(e)) return;
  for (const Filter& f : impl_->filters) {
    if (!f.Matches(e)) return;
  }
  const uint32_t model = impl_->ModelIndex(e.model);
  impl_->recs.push_back(Impl::Rec{e.timestamp, e.tokens, e.requests, e.cost, model, e.priced()});
}

void BlockBuilder::AddTotals(absl::string_view model, const Totals& totals) {
  if (totals.empty()) return;
  impl_->groups.push_back(Impl::Group{impl_->ModelIndex(model), totals});
}

absl::StatusOr<std::vector<UsageBlock>> BlockBuilder::Finish(absl::Time now) const {
  // Entries first, then groups (index recs.size() + g), sorted by time.
  const size_t n_recs = impl_->recs.size();
  auto time_of = [&](size_t i) { return i < n_recs ? impl_->recs[i].t : impl_->groups[i - n_recs].totals.first; };
  std::vector<size_t> order(n_recs + impl_->groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return time_of(a) < time_of(b); });
  // `now` to the millisecond, like the timestamps it is compared with.
  const absl::Time now_ms = absl::FromUnixMillis(absl::ToUnixMillis(now));

  std::vector<UsageBlock> blocks;
  std::vector<bool> used(impl_->models.size());
  Entry scratch;  // Totals::Add reads only the numbers, time and cost source
  auto close = [&](UsageBlock& b) -> absl::Status {
    for (size_t m = 0; m < used.size(); ++m) {
      if (used[m]) b.models.push_back(impl_->models[m]);
      used[m] = false;
    }
    std::sort(b.models.begin(), b.models.end());
    const __int128 tokens = CountedTokens(b.totals.tokens);
    if (tokens > std::numeric_limits<int64_t>::max()) {
      return absl::OutOfRangeError("usage block token count overflows 64 bits");
    }
    b.tokens = static_cast<int64_t>(tokens);
    b.active = b.start <= now_ms && now_ms < b.end;
    const absl::Time until = b.active ? std::max(now_ms, b.totals.last) : b.totals.last;
    b.burn = BurnOver(b.tokens, b.totals.cost, until - b.totals.first);
    if (b.active && b.burn.has_value()) {
      const int64_t w = absl::ToInt64Milliseconds(b.burn->window);
      const int64_t r = absl::ToInt64Milliseconds(b.end - now_ms);
      std::optional<int64_t> t = ScaleHalfEven(b.tokens, static_cast<__int128>(w) + r, w);
      std::optional<int64_t> c = ScaleHalfEven(b.totals.cost.value(), static_cast<__int128>(w) + r, w);
      if (!t.has_value() || !c.has_value()) return absl::OutOfRangeError("usage block projection overflows 64 bits");
      b.projection = BlockProjection{b.end - now_ms, *t, Micros(*c)};
    }
    return absl::OkStatus();
  };

  for (size_t i : order) {
    const absl::Time t = time_of(i);
    if (blocks.empty() || t >= blocks.back().end) {
      if (!blocks.empty()) {
        absl::Status s = close(blocks.back());
        if (!s.ok()) return s;
      }
      UsageBlock b;
      b.start = FloorToUtcHour(t);
      b.end = b.start + kUsageBlockLength;
      b.gap_before = blocks.empty() ? absl::ZeroDuration() : b.start - blocks.back().end;
      blocks.push_back(std::move(b));
    }
    if (i >= n_recs) {
      const Impl::Group& g = impl_->groups[i - n_recs];
      if (!blocks.back().totals.Merge(g.totals)) return absl::OutOfRangeError("usage block sum overflows 64 bits");
      used[g.model] = true;
      continue;
    }
    const Impl::Rec& r = impl_->recs[i];
    scratch.timestamp = r.t;
    scratch.tokens = r.tokens;
    scratch.requests = r.requests;
    scratch.cost = r.cost;
    scratch.cost_source = r.priced ? CostSource::kComputed : CostSource::kUnpriced;
    if (!blocks.back().totals.Add(scratch)) return absl::OutOfRangeError("usage block sum overflows 64 bits");
    used[r.model] = true;
  }
  if (!blocks.empty()) {
    absl::Status s = close(blocks.back());
    if (!s.ok()) return s;
  }
  return blocks;
}

}  // namespace v1
}  // namespace tokenbook
