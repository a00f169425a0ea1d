// C ABI: ledgers, logging, reports, budgets and admission — thin shims over
// tokenbook::Book.
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "capi_internal.h"
#include "capi_types.h"
#include "tokenbook/book.h"
#include "tokenbook/insights_json.h"
#include "tokenbook/insights_router.h"
#include "tokenbook/report_json.h"

struct tkb_ledger {
  std::unique_ptr<tokenbook::Book> book;
  std::mutex mu;  // std:: so that ThreadSanitizer understands it (Debian's Abseil is not annotated)
  // The C ABI hands out integers for the service's reservation ids.
  absl::flat_hash_map<uint64_t, std::string> reservations;
  uint64_t next_reservation = 1;
  // Built by the first tkb_ledger_route, under `mu`; immutable afterwards.
  std::unique_ptr<tokenbook::Router> router;
};

namespace tokenbook::capi {
namespace {

absl::string_view Opt(const char* s) { return s == nullptr ? absl::string_view() : absl::string_view(s); }

// The first published layout of tkb_entry ends at source_key.
constexpr size_t kEntryV1Size = sizeof(tkb_entry);

absl::StatusOr<Entry> ToEntry(const tkb_entry* in, const char* what) {
  TKB_RETURN_IF_ERROR(NotNull(in, what));
  TKB_RETURN_IF_ERROR(CheckStructSize(in->struct_size, kEntryV1Size, sizeof(tkb_entry), "tkb_entry"));
  if (in->model == nullptr || in->model[0] == '\0') {
    return absl::InvalidArgumentError(absl::StrCat(what, "->model is NULL or empty"));
  }
  Entry e;
  e.model = in->model;
  CopyTokens(in->tokens, &e.tokens);
  for (TokenKind k : kAllTokenKinds) {
    if (e.tokens[k].value() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, "->tokens.", TokenKindName(k), " is negative: ", e.tokens[k].value()));
    }
  }
  if (in->requests < 0) return absl::InvalidArgumentError(absl::StrCat(what, "->requests is negative"));
  e.requests = in->requests == 0 ? 1 : in->requests;
  if (in->timestamp_unix_ms != 0) e.timestamp = absl::FromUnixMillis(in->timestamp_unix_ms);
  if (in->has_cost_override != 0) {
    if (in->cost_override_micros < 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, "->cost_override_micros is negative"));
    }
    e.cost = Micros(in->cost_override_micros);
    e.cost_source = CostSource::kOverride;
  }
  e.session = std::string(Opt(in->session));
  e.agent = std::string(Opt(in->agent));
  e.category = std::string(Opt(in->category));
  e.action_type = std::string(Opt(in->action_type));
  e.action = std::string(Opt(in->action));
  e.feature = std::string(Opt(in->feature));
  e.project = std::string(Opt(in->project));
  e.tool = std::string(Opt(in->tool));
  e.task_type = std::string(Opt(in->task_type));
  e.service_tier = std::string(Opt(in->service_tier));
  if (in->duration_ms >= 0) e.duration_ms = in->duration_ms;
  if (in->tags != nullptr && in->tags[0] != '\0') {
    std::vector<std::string> pairs = absl::StrSplit(in->tags, '\n', absl::SkipEmpty());
    TKB_ASSIGN_OR_RETURN(e.tags, ParseTags(pairs));
  }
  e.notes = std::string(Opt(in->notes));
  e.source_kind = std::string(Opt(in->source_kind));
  e.source_key = std::string(Opt(in->source_key));
  return e;
}

absl::Status CheckResult(const tkb_log_result* r) {
  if (r == nullptr) return absl::OkStatus();
  return CheckStructSize(r->struct_size, sizeof(tkb_log_result), sizeof(tkb_log_result), "tkb_log_result");
}

void FillResult(const LogOutcome& o, tkb_log_result* r) {
  if (r == nullptr) return;
  r->cost_micros = o.entry.cost.value();
  r->appended = o.append.appended ? 1 : 0;
  r->priced = o.entry.priced() ? 1 : 0;
  CopyOut(o.append.id, r->id, sizeof(r->id));
}

absl::StatusOr<ReportSpec> ToSpec(const tkb_report_query* q) {
  ReportSpec spec;
  if (q == nullptr) return spec;
  TKB_RETURN_IF_ERROR(
      CheckStructSize(q->struct_size, sizeof(tkb_report_query), sizeof(tkb_report_query), "tkb_report_query"));
  if (q->period != nullptr) spec.period = q->period;
  spec.since = std::string(Opt(q->since));
  spec.until = std::string(Opt(q->until));
  spec.group_by = std::string(Opt(q->group_by));
  if (q->filters != nullptr) spec.filters = absl::StrSplit(q->filters, '\n', absl::SkipEmpty());
  if (q->top < 0) return absl::InvalidArgumentError("tkb_report_query.top is negative");
  spec.top = static_cast<size_t>(q->top);
  spec.time_zone = std::string(Opt(q->time_zone));
  return spec;
}

absl::StatusOr<std::string> ReportJson(tkb_ledger* ledger, const tkb_report_query* query) {
  TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
  TKB_ASSIGN_OR_RETURN(ReportSpec spec, ToSpec(query));
  const absl::Time now = absl::Now();
  TKB_ASSIGN_OR_RETURN(RollupQuery q, ledger->book->MakeQuery(spec, now));
  std::vector<LedgerIssue> issues;
  TKB_ASSIGN_OR_RETURN(RollupReport report, ledger->book->Report(std::move(q), &issues));
  return RollupReportJson(report, issues);
}

}  // namespace
}  // namespace tokenbook::capi

using namespace tokenbook;
using namespace tokenbook::capi;

extern "C" {

tkb_status tkb_ledger_open(tkb_ledger** out, const char* dir, const tkb_open_options* options) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    BookOptions o;
    if (options != nullptr) {
      TKB_RETURN_IF_ERROR(CheckStructSize(options->struct_size, sizeof(tkb_open_options),
                                          sizeof(tkb_open_options), "tkb_open_options"));
      o.create = options->create != 0;
      if (options->durability == TKB_DURABILITY_FLUSH) o.durability = Durability::kFlush;
      if (options->durability == TKB_DURABILITY_FSYNC) o.durability = Durability::kFsync;
      if (options->durability > TKB_DURABILITY_FSYNC || options->durability < -1) {
        return absl::InvalidArgumentError(absl::StrCat("unknown durability ", options->durability));
      }
      if (options->rates != nullptr) o.rates = &options->rates->table;
      o.strict_models = options->strict_models != 0;
    }
    std::string path;
    if (dir != nullptr) {
      path = dir;
    } else {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) == nullptr) return absl::InternalError("cannot read the working directory");
      TKB_ASSIGN_OR_RETURN(path, FindLedgerDir("", cwd));
    }
    auto ledger = std::make_unique<tkb_ledger>();
    TKB_ASSIGN_OR_RETURN(ledger->book, Book::Open(path, o));
    *out = ledger.release();
    return absl::OkStatus();
  });
}

void tkb_ledger_free(tkb_ledger* ledger) { delete ledger; }

tkb_status tkb_ledger_log(tkb_ledger* ledger, const tkb_entry* entry, tkb_log_result* result) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(CheckResult(result));
    TKB_ASSIGN_OR_RETURN(Entry e, ToEntry(entry, "entry"));
    TKB_ASSIGN_OR_RETURN(LogOutcome o, ledger->book->Log(std::move(e), absl::Now()));
    FillResult(o, result);
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_log_batch(tkb_ledger* ledger, const tkb_entry* entries, size_t count,
                                tkb_log_result* results) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    if (count == 0) return absl::OkStatus();
    TKB_RETURN_IF_ERROR(NotNull(entries, "entries"));
    std::vector<Entry> batch;
    batch.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (results != nullptr) TKB_RETURN_IF_ERROR(CheckResult(&results[i]));
      const std::string what = absl::StrCat("entries[", i, "]");
      TKB_ASSIGN_OR_RETURN(Entry e, ToEntry(&entries[i], what.c_str()));
      batch.push_back(std::move(e));
    }
    TKB_ASSIGN_OR_RETURN(std::vector<LogOutcome> outcomes, ledger->book->LogBatch(std::move(batch), absl::Now()));
    if (results != nullptr) {
      for (size_t i = 0; i < count; ++i) FillResult(outcomes[i], &results[i]);
    }
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_price(tkb_ledger* ledger, const tkb_price_request* request, int64_t* cost_micros_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(NotNull(cost_micros_out, "cost_micros_out"));
    PriceRequest req;
    TKB_RETURN_IF_ERROR(ToPriceRequest(request, &req));
    TKB_ASSIGN_OR_RETURN(const ModelRates* m, ResolveOrNotFound(ledger->book->rates(), request->model));
    TKB_ASSIGN_OR_RETURN(Micros cost, CostOf(*m, req));
    *cost_micros_out = cost.value();
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_report_json(tkb_ledger* ledger, const tkb_report_query* query, char* buf, size_t cap,
                                  size_t* needed) {
  return Guard([&]() -> absl::Status {
    if (buf == nullptr && cap != 0) return absl::InvalidArgumentError("buf is NULL but cap is not 0");
    TKB_ASSIGN_OR_RETURN(std::string json, ReportJson(ledger, query));
    const size_t n = CopyOut(json, buf, cap);
    if (needed != nullptr) *needed = n;
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_report(tkb_ledger* ledger, const tkb_report_query* query, char** json_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(json_out, "json_out"));
    TKB_ASSIGN_OR_RETURN(std::string json, ReportJson(ledger, query));
    *json_out = AllocString(json);
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_budget(tkb_ledger* ledger, char** json_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(NotNull(json_out, "json_out"));
    TKB_ASSIGN_OR_RETURN(BudgetReport report, ledger->book->budgets().Status(absl::Now()));
    *json_out = AllocString(BudgetReportJson(report));
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_admit(tkb_ledger* ledger, const tkb_entry* estimate, int32_t reserve, tkb_admission* out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    TKB_RETURN_IF_ERROR(
        CheckStructSize(out->struct_size, sizeof(tkb_admission), sizeof(tkb_admission), "tkb_admission"));
    TKB_ASSIGN_OR_RETURN(Entry e, ToEntry(estimate, "estimate"));
    const absl::Time now = absl::Now();
    if (e.timestamp == absl::UnixEpoch()) e.timestamp = now;
    TKB_RETURN_IF_ERROR(PriceEntry(ledger->book->rates(), &e, /*strict=*/true));
    SharedAdmissionRequest req;
    req.estimate = e.cost;
    req.session = e.session;
    req.project = e.project;
    req.feature = e.feature;
    req.agent = e.agent;
    req.now = now;
    AdmissionDecision decision;
    uint64_t handle = 0;
    if (reserve != 0) {
      TKB_ASSIGN_OR_RETURN(SharedReservation r, ledger->book->budgets().Reserve(req));
      decision = r.decision;
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(ledger->mu);
        handle = ledger->next_reservation++;
        ledger->reservations[handle] = r.id;
      }
    } else {
      TKB_ASSIGN_OR_RETURN(decision, ledger->book->budgets().Check(req));
    }
    out->decision = static_cast<int32_t>(decision.verdict);
    out->estimated_cost_micros = e.cost.value();
    out->reservation = handle;
    std::string reason;
    const auto& budgets = ledger->book->config().budgets;
    if (decision.verdict != Verdict::kAllow && decision.budget >= 0 &&
        static_cast<size_t>(decision.budget) < budgets.size()) {
      reason = absl::StrCat(budgets[static_cast<size_t>(decision.budget)].name, ": ",
                            FormatDollars(decision.spent), " spent + ", FormatDollars(decision.reserved),
                            " reserved + ", FormatDollars(decision.estimate, 4), " estimated of ",
                            FormatDollars(decision.limit), " (", BudgetLevelName(decision.level_after), ")");
    }
    CopyOut(reason, out->reason, sizeof(out->reason));
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_commit(tkb_ledger* ledger, uint64_t reservation, const tkb_entry* entry,
                             tkb_log_result* result) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(CheckResult(result));
    TKB_ASSIGN_OR_RETURN(Entry e, ToEntry(entry, "entry"));
    const absl::Time now = absl::Now();
    if (e.timestamp == absl::UnixEpoch()) e.timestamp = now;
    TKB_RETURN_IF_ERROR(PriceEntry(ledger->book->rates(), &e));
    std::string id;
    {
      std::lock_guard<std::mutex> lock(ledger->mu);
      auto it = ledger->reservations.find(reservation);
      if (it != ledger->reservations.end()) {
        id = it->second;
        ledger->reservations.erase(it);
      }
    }
    LogOutcome o;
    if (id.empty()) {
      // Unknown or already ended: the money is spent all the same, so log it.
      TKB_ASSIGN_OR_RETURN(o, ledger->book->Log(std::move(e), now));
    } else {
      TKB_ASSIGN_OR_RETURN(CommitResult c, ledger->book->budgets().Commit(id, e, now));
      o.append = c.append;
      e.id = c.append.id;
      o.entry = std::move(e);
    }
    FillResult(o, result);
    return absl::OkStatus();
  });
}

tkb_status tkb_ledger_release(tkb_ledger* ledger, uint64_t reservation) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    std::string id;
    {
      std::lock_guard<std::mutex> lock(ledger->mu);
      auto it = ledger->reservations.find(reservation);
      if (it == ledger->reservations.end()) return absl::OkStatus();
      id = it->second;
      ledger->reservations.erase(it);
    }
    absl::Status s = ledger->book->budgets().Release(id, absl::Now());
    if (absl::IsNotFound(s)) return absl::OkStatus();  // expired meanwhile
    return s;
  });
}

tkb_status tkb_ledger_route(tkb_ledger* ledger, const tkb_route_request* request, char* model_buf, size_t cap,
                            size_t* needed, char** json_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(NotNull(request, "request"));
    TKB_RETURN_IF_ERROR(CheckStructSize(request->struct_size, sizeof(tkb_route_request), sizeof(tkb_route_request),
                                        "tkb_route_request"));
    if (model_buf == nullptr && cap != 0) return absl::InvalidArgumentError("model_buf is NULL but cap is not 0");
    RouteRequest req;
    req.text = std::string(Opt(request->task));
    req.task_type = std::string(Opt(request->task_type));
    req.session = std::string(Opt(request->session));
    req.project = std::string(Opt(request->project));
    req.feature = std::string(Opt(request->feature));
    req.agent = std::string(Opt(request->agent));
    const Router* router = nullptr;
    {
      std::lock_guard<std::mutex> lock(ledger->mu);
      if (ledger->router == nullptr) {
        TKB_ASSIGN_OR_RETURN(Router built, Router::Create(ledger->book->config().router, ledger->book->rates()));
        ledger->router = std::make_unique<Router>(std::move(built));
      }
      router = ledger->router.get();
    }
    TKB_ASSIGN_OR_RETURN(RouteDecision d, RouteWithBook(*ledger->book, *router, req, absl::Now()));
    const size_t n = CopyOut(d.model, model_buf, cap);
    if (needed != nullptr) *needed = n;
    if (json_out != nullptr) *json_out = AllocString(RouteDecisionJson(d, router->config()));
    return absl::OkStatus();
  });
}

}  // extern "C"
