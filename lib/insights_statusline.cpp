// The status line Claude Code shows (see lib/tokenbook/insights.h), and the
// quarter-hour cache that keeps it fast on a large ledger.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "tokenbook/binary_cache.h"
#include "tokenbook/insights.h"
#include "tokenbook/posix_io.h"
#include "tokenbook/quarter_totals.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

namespace {

const rapidjson::Value* Member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string StringAt(const rapidjson::Value& v, const char* name) {
  const rapidjson::Value* m = Member(v, name);
  if (m == nullptr || !m->IsString()) return "";
  return std::string(m->GetString(), m->GetStringLength());
}

// A USD amount: `typed` is the member in the document parsed as usual (it
// must be a number), `text` the same member parsed with numbers kept as
// their decimal text, which is read exactly and rounded half-even to the
// micro-dollar; nullopt unless a non-negative number.
std::optional<Micros> UsdAt(const rapidjson::Value* typed, const rapidjson::Value* text) {
  if (typed == nullptr || !typed->IsNumber() || text == nullptr || !text->IsString()) return std::nullopt;
  absl::StatusOr<Decimal> d = ParseDecimal(absl::string_view(text->GetString(), text->GetStringLength()));
  if (!d.ok() || d->negative) return std::nullopt;
  absl::StatusOr<Rounded> micros = ScaleHalfEven(*d, 6);
  if (!micros.ok()) return std::nullopt;
  return Micros(micros->value);
}


// ---------------------------------------------------------------------------
// The status-line cache (cache/statusline.bin).
//
// Claude Code runs the status line after every message, so it must not read
// the whole ledger each time. The cache holds what the line needs, summed
// per UTC quarter hour — every entry's cost, and the Claude usage of each
// model as Totals — plus each session's cost, for the ledger's bytes
// [0, covered). A call reads the cache, scans only the lines appended since
// (Ledger::ScanFrom) and, when there were any, writes the cache back.
//
// Exactness. Every figure is a sum over whole quarter hours, and every
// window the line uses starts and ends on one: days, weeks and months begin
// at local midnight, and time-zone offsets are multiples of 15 minutes (a
// window that is not — a historical zone — is computed from the ledger
// instead). Usage blocks begin and end on whole UTC hours, so a quarter
// hour's usage lies in one block and BlockBuilder::AddTotals gives the
// blocks a full scan gives. Entries may arrive in any time order.
//
// Validity. The cache names the ledger's device and inode and fingerprints
// its first and last 4 KiB before `covered` (LedgerFingerprint); a ledger
// replaced, truncated or rewritten near its end is read whole again.
// A checksum (FNV-1a) ends the file, so a damaged cache is rebuilt rather
// than believed. Deleting the cache is always safe. It is written to a
// temporary file and renamed, so concurrent status lines see one whole cache
// or another.

constexpr absl::string_view kCacheMagic("tkbslc01", 8);
struct ModelUsage {
  uint32_t model = 0;
  Totals totals;
};

struct Quarter {
  Micros cost;                     // every entry
  std::vector<ModelUsage> claude;  // IsClaudeUsage entries, per model
};

struct SessionUsage {
  Micros cost;
  int64_t entries = 0;
};

struct StatusCache {
  binary_cache::LedgerStamp stamp;
  absl::btree_map<int64_t, Quarter> quarters;
  std::vector<std::string> models;
  absl::flat_hash_map<std::string, uint32_t> model_index;
  absl::flat_hash_map<std::string, SessionUsage> sessions;
  bool overflow = false;

  void Add(const Entry& e) {
    Quarter& q = quarters[QuarterOf(e.timestamp)];
    overflow |= !CheckedAdd(&q.cost, e.cost);
    if (!e.session.empty()) {
      SessionUsage& u = sessions[e.session];
      overflow |= !CheckedAdd(&u.cost, e.cost);
      ++u.entries;
    }
    if (!IsClaudeUsage(e)) return;
    auto [it, inserted] = model_index.try_emplace(e.model, static_cast<uint32_t>(models.size()));
    if (inserted) models.push_back(e.model);
    for (ModelUsage& m : q.claude) {
      if (m.model == it->second) {
        overflow |= !m.totals.Add(e);
        return;
      }
    }
    q.claude.push_back(ModelUsage{it->second, Totals()});
    overflow |= !q.claude.back().totals.Add(e);
  }
};

void EncodeCache(const StatusCache& c, binary_cache::Writer* out) {
  binary_cache::Writer& w = *out;
  c.stamp.Write(&w);
  w.U64(c.models.size());
  for (const std::string& m : c.models) w.Str(m);
  w.U64(c.quarters.size());
  for (const auto& [key, q] : c.quarters) {
    w.I64(key);
    w.I64(q.cost.value());
    w.U64(q.claude.size());
    for (const ModelUsage& m : q.claude) {
      const Totals& t = m.totals;
      w.U64(m.model);
      w.I64(t.entries);
      w.I64(t.requests);
      w.I64(t.cost.value());
      w.Counts(t.tokens);
      w.I64(t.unpriced_entries);
      w.Counts(t.unpriced_tokens);
      w.Time(t.first);
      w.Time(t.last);
    }
  }
  w.U64(c.sessions.size());
  for (const auto& [id, u] : c.sessions) {
    w.Str(id);
    w.I64(u.cost.value());
    w.I64(u.entries);
  }
}

// False when `data` is not a whole cache of this version.
bool DecodeCache(absl::string_view data, StatusCache* c) {
  absl::string_view body;
  if (!binary_cache::Unseal(kCacheMagic, data, &body)) return false;
  binary_cache::Reader r(body);
  uint64_t n = 0;
  if (!c->stamp.Read(&r)) return false;
  if (!r.Count(&n, 8)) return false;
  c->models.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (!r.Str(&c->models[i]) || !c->model_index.try_emplace(c->models[i], i).second) return false;
  }
  if (!r.Count(&n, 24)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t key;
    Quarter q;
    uint64_t m;
    if (!r.I64(&key) || !r.Micro(&q.cost) || !r.Count(&m, 8 * 20)) return false;
    q.claude.resize(m);
    for (ModelUsage& u : q.claude) {
      uint64_t model;
      Totals& t = u.totals;
      if (!r.U64(&model) || model >= c->models.size() || !r.I64(&t.entries) || !r.I64(&t.requests) ||
          !r.Micro(&t.cost) || !r.Counts(&t.tokens) || !r.I64(&t.unpriced_entries) || !r.Counts(&t.unpriced_tokens) ||
          !r.Time(&t.first) || !r.Time(&t.last)) {
        return false;
      }
      u.model = static_cast<uint32_t>(model);
    }
    if (!c->quarters.try_emplace(key, std::move(q)).second) return false;
  }
  if (!r.Count(&n, 24)) return false;
  c->sessions.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string id;
    SessionUsage u;
    if (!r.Str(&id) || !r.Micro(&u.cost) || !r.I64(&u.entries)) return false;
    if (!c->sessions.try_emplace(std::move(id), u).second) return false;
  }
  return r.done();
}

std::string CachePath(const Ledger& ledger) { return absl::StrCat(ledger.dir(), "/cache/statusline.bin"); }

// The cache brought up to date with the ledger; nullopt when the ledger
// cannot be read incrementally (the caller scans it whole).
absl::StatusOr<std::optional<StatusCache>> UpToDateCache(const Ledger& ledger) {
  // The cache fingerprints ledger.jsonl's bytes; a database is scanned whole.
  if (ledger.kind() != "jsonl") return std::optional<StatusCache>();
  const std::string ledger_path = ledger.ledger_path();
  const int fd = ::open(ledger_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<StatusCache>(StatusCache());  // nothing logged yet
    return posix_io::PosixError(errno, "cannot open", ledger_path);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const std::string path = CachePath(ledger);
  StatusCache cache;
  std::string data;
  const bool valid = binary_cache::ReadWholeFile(path, &data) && DecodeCache(data, &cache) &&
                     binary_cache::StampMatches(cache.stamp, fd, ledger_path);
  if (!valid) cache = StatusCache();
  const int64_t begin = cache.stamp.covered;
  absl::StatusOr<int64_t> end = ledger.ScanFrom(begin, [&](const Entry& e) { cache.Add(e); });
  if (absl::IsUnimplemented(end.status())) return std::optional<StatusCache>();
  if (!end.ok()) return end.status();
  if (cache.overflow) return absl::OutOfRangeError("status line: a sum overflows 64 bits");
  if (*end != begin || !valid) {
    if (!binary_cache::StampLedger(fd, ledger_path, *end, &cache.stamp)) {
      return absl::DataLossError(absl::StrCat("cannot read ", ledger_path, " back to fingerprint it"));
    }
    // Sealed with a checksum: a damaged cache is rebuilt, never believed.
    binary_cache::WriteCacheFile(path, kCacheMagic, [&](binary_cache::Writer* w) { EncodeCache(cache, w); });
  }
  return std::optional<StatusCache>(std::move(cache));
}

// Micro-dollars of the quarters in [w.start, w.end), both on quarter hours.
absl::StatusOr<Micros> CostIn(const StatusCache& c, const BudgetWindow& w) {
  Micros sum;
  auto it = w.start == absl::InfinitePast() ? c.quarters.begin() : c.quarters.lower_bound(QuarterOf(w.start));
  const auto stop = w.end == absl::InfiniteFuture() ? c.quarters.end() : c.quarters.lower_bound(QuarterOf(w.end));
  for (; it != stop; ++it) {
    if (!CheckedAdd(&sum, it->second.cost)) return absl::OutOfRangeError("status line: a sum overflows 64 bits");
  }
  return sum;
}

}  // namespace

absl::StatusOr<StatusLineInput> ParseStatusLineInput(absl::string_view json) {
  // Parsed twice: as usual, for the types (a number is not a string), and
  // with numbers as text, for the cost's exact digits. The input is a few
  // hundred bytes. Iterative parsing keeps hostile nesting off the C stack.
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat("status-line input: not JSON (offset ", doc.GetErrorOffset(), ": ",
                                                   rapidjson::GetParseError_En(doc.GetParseError()), ")"));
  }
  if (!doc.IsObject()) return absl::InvalidArgumentError("status-line input: expected a JSON object");
  StatusLineInput in;
  in.session_id = StringAt(doc, "session_id");
  if (const rapidjson::Value* model = Member(doc, "model")) {
    in.model_id = StringAt(*model, "id");
    in.model_name = StringAt(*model, "display_name");
  }
  if (const rapidjson::Value* cost = Member(doc, "cost")) {
    rapidjson::Document exact;
    exact.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(json.data(), json.size());
    const rapidjson::Value* exact_cost = exact.HasParseError() ? nullptr : Member(exact, "cost");
    in.session_cost =
        UsdAt(Member(*cost, "total_cost_usd"), exact_cost == nullptr ? nullptr : Member(*exact_cost, "total_cost_usd"));
  }
  return in;
}

absl::StatusOr<StatusLine> ComputeStatusLine(const Ledger* ledger, const Config& config, const StatusLineInput& input,
                                             absl::Time now, bool use_cache) {
  StatusLine out;
  out.input = input;
  out.now = now;
  if (ledger == nullptr) return out;
  out.ledger_found = true;
  const BudgetCalendar cal = config.calendar();
  const BudgetWindow day = WindowFor(BudgetPeriod::kDaily, now, cal);

  // The unscoped budgets: calendar ones over their window at `now`, the
  // session one over this session.
  struct Tracked {
    const Budget* budget;
    BudgetWindow window;
    Micros spent;
  };
  std::vector<Tracked> tracked;
  for (const Budget& b : config.budgets) {
    if (b.scope.kind != ScopeKind::kAll) continue;
    if (b.period == BudgetPeriod::kSession && input.session_id.empty()) continue;
    tracked.push_back(Tracked{&b, WindowFor(b.period, now, cal, input.session_id), Micros(0)});
  }

  // From the cache, when every window lies on quarter hours.
  bool aligned = OnQuarter(day.start) && OnQuarter(day.end);
  for (const Tracked& t : tracked) aligned = aligned && OnQuarter(t.window.start) && OnQuarter(t.window.end);
  if (use_cache && aligned) {
    TKB_ASSIGN_OR_RETURN(std::optional<StatusCache> cache, UpToDateCache(*ledger));
    if (cache.has_value()) {
      const auto session = input.session_id.empty() ? cache->sessions.end() : cache->sessions.find(input.session_id);
      if (session != cache->sessions.end()) {
        out.ledger_session_cost = session->second.cost;
        out.session_entries = session->second.entries;
      }
      TKB_ASSIGN_OR_RETURN(out.today, CostIn(*cache, day));
      BlockBuilder blocks;
      for (const auto& [key, q] : cache->quarters) {
        for (const ModelUsage& m : q.claude) blocks.AddTotals(cache->models[m.model], m.totals);
      }
      TKB_ASSIGN_OR_RETURN(std::vector<UsageBlock> all, blocks.Finish(now));
      if (!all.empty() && all.back().active) out.block = std::move(all.back());
      for (Tracked& t : tracked) {
        if (t.budget->period == BudgetPeriod::kSession) {
          t.spent = session == cache->sessions.end() ? Micros(0) : session->second.cost;
        } else {
          TKB_ASSIGN_OR_RETURN(t.spent, CostIn(*cache, t.window));
        }
        BudgetStatus s = ComputeBudgetStatus(*t.budget, t.spent, std::move(t.window));
        if (!out.budget.has_value() || s.percent_bp > out.budget->percent_bp) out.budget = std::move(s);
      }
      return out;
    }
  }

  BlockBuilder blocks({}, /*claude_only=*/true);
  Micros session_cost;
  bool overflow = false;
  TKB_RETURN_IF_ERROR(ledger->Scan([&](const Entry& e) {
    const bool this_session = !input.session_id.empty() && e.session == input.session_id;
    if (this_session) {
      overflow |= !CheckedAdd(&session_cost, e.cost);
      ++out.session_entries;
    }
    if (day.Contains(e.timestamp)) overflow |= !CheckedAdd(&out.today, e.cost);
    for (Tracked& t : tracked) {
      const bool counts = t.budget->period == BudgetPeriod::kSession ? this_session : t.window.Contains(e.timestamp);
      if (counts) overflow |= !CheckedAdd(&t.spent, e.cost);
    }
    blocks.Add(e);
  }));
  if (overflow) return absl::OutOfRangeError("status line: a sum overflows 64 bits");
  if (out.session_entries > 0) out.ledger_session_cost = session_cost;
  TKB_ASSIGN_OR_RETURN(std::vector<UsageBlock> all, blocks.Finish(now));
  if (!all.empty() && all.back().active) out.block = std::move(all.back());
  for (Tracked& t : tracked) {
    BudgetStatus s = ComputeBudgetStatus(*t.budget, t.spent, std::move(t.window));
    if (!out.budget.has_value() || s.percent_bp > out.budget->percent_bp) out.budget = std::move(s);
  }
  return out;
}

std::string FormatStatusLine(const StatusLine& line) {
  std::vector<std::string> parts;
  const StatusLineInput& in = line.input;
  if (!in.model_name.empty()) {
    parts.push_back(in.model_name);
  } else if (!in.model_id.empty()) {
    parts.push_back(in.model_id);
  }
  if (line.ledger_session_cost.has_value()) {
    parts.push_back(absl::StrCat("session ", FormatMoney(*line.ledger_session_cost)));
  } else if (in.session_cost.has_value()) {
    parts.push_back(absl::StrCat("session ", FormatMoney(*in.session_cost)));
  }
  if (!line.ledger_found) {
    parts.push_back("no ledger");
    return absl::StrJoin(parts, " | ");
  }
  parts.push_back(absl::StrCat("today ", FormatMoney(line.today)));
  if (line.block.has_value()) {
    const UsageBlock& b = *line.block;
    parts.push_back(
        absl::StrCat("block ", FormatMoney(b.totals.cost), ", ", FormatHoursMinutes(b.end - line.now), " left"));
    if (b.burn.has_value()) parts.push_back(absl::StrCat(FormatMoney(b.burn->cost_per_hour), "/h"));
  } else {
    parts.push_back("no active block");
  }
  if (line.budget.has_value()) {
    parts.push_back(absl::StrCat(line.budget->budget.name, " ",
                                 FormatPercent(line.budget->spent, line.budget->budget.limit, 0), "%"));
  }
  return absl::StrJoin(parts, " | ");
}

}  // namespace v1
}  // namespace tokenbook
