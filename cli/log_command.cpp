// tokenbook log: record one usage entry and show what it did to the budgets.
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "commands.h"
#include "tokenbook/entry_json.h"

namespace tokenbook::cli {
namespace {

// CostOf's bound on one token count.
constexpr int64_t kMaxTokenCount = (int64_t{1} << 62) - 1;

struct LogOptions {
  std::string model;
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t reasoning = 0;
  int64_t requests = 1;
  std::string session;
  std::string agent;
  std::string category;
  std::string action_type;
  std::string action;
  std::string feature;
  std::string project;
  bool project_given = false;
  std::string tool;
  std::string task_type;
  std::string service_tier;
  std::optional<int64_t> duration_ms;
  std::vector<std::string> tags;
  std::string notes;
  std::string cost;
  std::string at;
  std::string source_key;
  bool allow_unpriced = false;
  bool json = false;
};

// The name of the git work tree around the current directory ("" outside
// one), found as git does, by looking for .git upward. No process is
// spawned: a log call stays cheap and never runs anything.
std::string GitTopLevelName() {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::current_path(ec);
  if (ec) return "";
  while (true) {
    if (std::filesystem::exists(dir / ".git", ec)) return dir.filename().string();
    if (!dir.has_parent_path() || dir.parent_path() == dir) return "";
    dir = dir.parent_path();
  }
}

void PrintImpact(const LogOutcome& outcome) {
  const bool color = UseColor(stdout);
  const std::string text = FormatLogImpact(outcome.impact);
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); ++i) {
    const char* on = "";
    if (i >= 1 && i <= outcome.impact.budgets.size()) on = LevelColor(outcome.impact.budgets[i - 1].level, color);
    if (i == 0 && !outcome.impact.priced && color) on = "\033[1;31m";
    std::printf("%s%.*s%s\n", on, static_cast<int>(lines[i].size()), lines[i].data(),
                *on != '\0' ? ColorReset(color) : "");
  }
  for (const BudgetAlert& a : outcome.impact.alerts) {
    std::fprintf(stderr, "tokenbook: budget %s is %s: %s of %s (%s%%)\n", a.budget.c_str(),
                 std::string(BudgetLevelName(a.level)).c_str(), FormatMoney(a.spent).c_str(),
                 FormatMoney(a.limit).c_str(), FormatPercent(a.spent, a.limit, 1).c_str());
  }
}

void PrintJsonOutcome(const LogOutcome& outcome) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteKey(w, "logged");
  w.Bool(outcome.append.appended);
  WriteKey(w, "id");
  WriteString(w, outcome.append.id);
  WriteKey(w, "model");
  WriteString(w, outcome.entry.model);
  WriteKey(w, "priced");
  w.Bool(outcome.entry.priced());
  WriteKey(w, "cost_source");
  WriteString(w, CostSourceName(outcome.entry.cost_source));
  WriteMoney(w, "cost", outcome.entry.cost);
  WriteKey(w, "budgets");
  w.StartArray();
  for (const BudgetStatus& s : outcome.impact.budgets) {
    w.StartObject();
    WriteKey(w, "name");
    WriteString(w, s.budget.name);
    WriteKey(w, "period");
    WriteString(w, s.window.label);
    WriteMoney(w, "spent", s.spent);
    WriteMoney(w, "limit", s.budget.limit);
    WriteKey(w, "percent_bp");
    w.Int64(s.percent_bp);
    WriteKey(w, "level");
    WriteString(w, BudgetLevelName(s.level));
    w.EndObject();
  }
  w.EndArray();
  WriteKey(w, "alerts");
  w.StartArray();
  for (const BudgetAlert& a : outcome.impact.alerts) {
    w.StartObject();
    WriteKey(w, "budget");
    WriteString(w, a.budget);
    WriteKey(w, "level");
    WriteString(w, BudgetLevelName(a.level));
    w.EndObject();
  }
  w.EndArray();
  WriteMoney(w, "month_spent", outcome.impact.month_spent);
  w.EndObject();
  PrintJson(buffer);
}

int RunLog(const GlobalOptions& global, LogOptions o) {
  struct Flag {
    const char* name;
    int64_t value;
  };
  for (const Flag& f : {Flag{"--input", o.input}, Flag{"--output", o.output},
                        Flag{"--cache-read", o.cache_read}, Flag{"--cache-write", o.cache_write},
                        Flag{"--cache-write-5m", o.cache_write_5m}, Flag{"--cache-write-1h", o.cache_write_1h},
                        Flag{"--reasoning", o.reasoning}, Flag{"--requests", o.requests}}) {
    if (f.value < 0) return Fail(kExitUsage, absl::StrCat(f.name, ": must not be negative (got ", f.value, ")"));
    if (f.value > kMaxTokenCount) {
      return Fail(kExitUsage, absl::StrCat(f.name, ": ", f.value, " is more than the largest count, 2^62 - 1"));
    }
  }
  if (o.duration_ms.has_value() && *o.duration_ms < 0) {
    return Fail(kExitUsage, absl::StrCat("--duration-ms: must not be negative (got ", *o.duration_ms, ")"));
  }
  if (o.cache_write != 0 && o.cache_write_5m != 0) {
    return Fail(kExitUsage, "--cache-write is --cache-write-5m; give one of them");
  }
  if (o.reasoning > o.output) {
    return Fail(kExitUsage, absl::StrCat("--reasoning (", o.reasoning, ") is counted within --output (", o.output,
                                         ") and cannot exceed it"));
  }
  if (!IsValidActionType(o.action_type)) {
    return Fail(kExitUsage,
                absl::StrCat("--action-type: \"", o.action_type, "\" is not one of skill, agent, manual, scheduled"));
  }

  Entry e;
  e.model = o.model;
  e.tokens[TokenKind::kInput] = Tokens(o.input);
  e.tokens[TokenKind::kOutput] = Tokens(o.output);
  e.tokens[TokenKind::kCacheRead] = Tokens(o.cache_read);
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(o.cache_write_5m + o.cache_write);
  e.tokens[TokenKind::kCacheWrite1h] = Tokens(o.cache_write_1h);
  e.tokens[TokenKind::kReasoning] = Tokens(o.reasoning);
  e.requests = o.requests;
  e.session = o.session;
  e.agent = o.agent;
  e.category = o.category;
  e.action_type = o.action_type;
  e.action = o.action;
  e.feature = o.feature;
  e.project = o.project_given ? o.project : GitTopLevelName();
  e.tool = o.tool;
  e.task_type = o.task_type;
  e.service_tier = o.service_tier;
  e.duration_ms = o.duration_ms;
  e.notes = o.notes;
  e.source_key = o.source_key;
  if (!o.source_key.empty()) e.source_kind = "manual";
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> tags = ParseTags(o.tags);
  if (!tags.ok()) return Fail(kExitUsage, absl::StrCat("--tag: ", tags.status().message()));
  e.tags = *std::move(tags);
  if (!o.cost.empty()) {
    absl::StatusOr<Rounded> cost = ParsePrice(o.cost, PriceUnit::kUsd);
    if (!cost.ok()) {
      return Fail(kExitUsage, absl::StrCat("--cost: \"", o.cost, "\" is not a non-negative amount of dollars"));
    }
    e.cost = Micros(cost->value);
    e.cost_source = CostSource::kOverride;
  }
  if (!o.at.empty()) {
    absl::StatusOr<absl::Time> at = ParseInstant("--at", o.at);
    if (!at.ok()) return Fail(kExitUsage, at.status().message());
    e.timestamp = *at;
  }
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());

  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/true);
  if (!book.ok()) return Fail(book.status());
  for (const std::string& w : (*book)->rate_warnings()) std::fprintf(stderr, "tokenbook: warning: %s\n", w.c_str());

  // An unknown model is refused unless asked for: an unpriced entry is a
  // hole in every total, so it must be a decision, not a typo.
  if (e.cost_source == CostSource::kComputed && !o.allow_unpriced) {
    const Resolution r = (*book)->rates().Resolve(e.model);
    if (r.model == nullptr) {
      const std::vector<std::string> closest = (*book)->rates().Suggest(e.model, 3);
      return Fail(kExitUnknownModel,
                  absl::StrCat("unknown model \"", e.model, "\"", closest.empty() ? "" : "; closest known: ",
                               absl::StrJoin(closest, ", "),
                               " (log it unpriced with --allow-unpriced, or price it with --cost)"));
    }
  }
  // Validate the line before anything is written.
  {
    Entry probe = e;
    probe.id = "00000000000000000000000000";
    if (probe.timestamp == absl::UnixEpoch()) probe.timestamp = *now;
    std::string line;
    if (absl::Status s = EncodeEntryJson(probe, &line); !s.ok()) return Fail(kExitUsage, s.message());
  }
  absl::StatusOr<LogOutcome> outcome = (*book)->Log(std::move(e), *now);
  if (!outcome.ok()) {
    const absl::Status& s = outcome.status();
    return Fail(s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : ExitCodeFor(s), s.message());
  }
  if (o.json) {
    PrintJsonOutcome(*outcome);
  } else if (!outcome->append.appended) {
    std::printf("Already logged: source key \"%s\" is entry %s; nothing added\n", o.source_key.c_str(),
                outcome->append.id.c_str());
  } else {
    PrintImpact(*outcome);
  }
  return kExitOk;
}

}  // namespace

void RegisterLogCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<LogOptions>();
  CLI::App* sub = root.add_subcommand("log", "Log one usage entry and show its cost and budget impact");
  sub->add_option("--model,-m", o->model, "Model id or any spelling of it")->required();
  sub->add_option("--input", o->input, "Uncached input tokens")->group("Tokens");
  sub->add_option("--output", o->output, "Output tokens (reasoning included)")->group("Tokens");
  sub->add_option("--cache-read", o->cache_read, "Tokens read from the prompt cache")->group("Tokens");
  sub->add_option("--cache-write", o->cache_write, "Tokens written to the 5-minute cache (= --cache-write-5m)")
      ->group("Tokens");
  sub->add_option("--cache-write-5m", o->cache_write_5m, "Tokens written to the 5-minute cache")->group("Tokens");
  sub->add_option("--cache-write-1h", o->cache_write_1h, "Tokens written to the 1-hour cache")->group("Tokens");
  sub->add_option("--reasoning", o->reasoning, "Reasoning tokens, counted within --output")->group("Tokens");
  sub->add_option("--requests", o->requests, "Requests this entry stands for (default 1)")->group("Tokens");
  sub->add_option("--session", o->session, "Session id")->group("Dimensions");
  sub->add_option("--agent", o->agent, "Agent name")->group("Dimensions");
  sub->add_option("--category", o->category, "Category (research, coding, review ...)")->group("Dimensions");
  sub->add_option("--action-type", o->action_type, "skill, agent, manual or scheduled")->group("Dimensions");
  sub->add_option("--action", o->action, "Name of the skill, agent or job")->group("Dimensions");
  sub->add_option("--feature", o->feature, "Product feature the work was for")->group("Dimensions");
  sub->add_option("--project", o->project, "Project (default: the name of the git work tree here)")
      ->group("Dimensions")
      ->each([o](const std::string&) { o->project_given = true; });
  sub->add_option("--tool", o->tool, "Tool that made the request (claude-code, codex ...)")->group("Dimensions");
  sub->add_option("--task-type", o->task_type, "Kind of task (planning, coding, review ...)")->group("Dimensions");
  sub->add_option("--service-tier", o->service_tier, "standard, batch, flex, priority, fast ...")
      ->group("Dimensions");
  sub->add_option("--duration-ms", o->duration_ms, "Wall time of the work, in milliseconds")->group("Dimensions");
  sub->add_option("--tag", o->tags, "KEY=VALUE (repeatable)")->group("Dimensions");
  sub->add_option("--notes", o->notes, "Free text (never a prompt: keep secrets out)")->group("Dimensions");
  sub->add_option("--cost", o->cost, "The cost in USD, as billed: recorded instead of the computed price");
  sub->add_option("--at", o->at, "When the usage happened (RFC 3339 or YYYY-MM-DD; default now)");
  sub->add_option("--source-key", o->source_key, "Idempotency key: an entry with this key is logged only once");
  sub->add_flag("--allow-unpriced", o->allow_unpriced, "Log a model that is not in the rate table, at $0");
  sub->add_flag("--json", o->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, o] { return RunLog(global, *o); }});
}

}  // namespace tokenbook::cli
