// The status line Claude Code shows (see lib/tokenbook/insights.h).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "tokenbook/insights.h"
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
                                             absl::Time now) {
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
