// C ABI: rate tables and pricing.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "capi_internal.h"
#include "capi_types.h"
#include "tokenbook/price_json.h"
#include "tokenbook/rate_sources.h"

using tokenbook::capi::CheckStructSize;
using tokenbook::capi::Guard;
using tokenbook::capi::NotNull;

namespace tokenbook::capi {

absl::Status ToPriceRequest(const tkb_price_request* in, PriceRequest* out) {
  TKB_RETURN_IF_ERROR(NotNull(in, "request"));
  TKB_RETURN_IF_ERROR(CheckStructSize(in->struct_size, sizeof(tkb_price_request), sizeof(tkb_price_request),
                                      "tkb_price_request"));
  TKB_RETURN_IF_ERROR(NotNull(in->model, "request->model"));
  CopyTokens(in->tokens, &out->tokens);
  out->requests = in->requests == 0 ? 1 : in->requests;
  out->service_tier = in->service_tier == nullptr ? absl::string_view() : absl::string_view(in->service_tier);
  if (in->at_unix_ms != 0) out->at = absl::FromUnixMillis(in->at_unix_ms);
  return absl::OkStatus();
}

absl::StatusOr<const ModelRates*> ResolveOrNotFound(const RateTable& table, absl::string_view model) {
  const Resolution r = table.Resolve(model);
  if (r.model == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown model \"", model, "\"; closest known: ",
                                            absl::StrJoin(table.Suggest(model, 3), ", ")));
  }
  return r.model;
}

}  // namespace tokenbook::capi

using namespace tokenbook;
using namespace tokenbook::capi;

extern "C" {

tkb_status tkb_rates_builtin(tkb_rates** out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    auto rates = std::make_unique<tkb_rates>();
    rates->table.MergeFrom(BuiltinRates());
    *out = rates.release();
    return absl::OkStatus();
  });
}

tkb_status tkb_rates_load(tkb_rates** out, const char* path) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    TKB_RETURN_IF_ERROR(NotNull(path, "path"));
    auto rates = std::make_unique<tkb_rates>();
    TKB_ASSIGN_OR_RETURN(rates->table, LoadRateFile(path, &rates->warnings));
    *out = rates.release();
    return absl::OkStatus();
  });
}

tkb_status tkb_rates_parse(tkb_rates** out, const char* text, size_t len, const char* format,
                           const char* source_name) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    TKB_RETURN_IF_ERROR(NotNull(text, "text"));
    TKB_RETURN_IF_ERROR(NotNull(format, "format"));
    const absl::string_view name = source_name == nullptr ? "<memory>" : source_name;
    const absl::string_view fmt = format;
    auto rates = std::make_unique<tkb_rates>();
    if (fmt == "toml") {
      TKB_ASSIGN_OR_RETURN(rates->table, ParseRateTableToml(absl::string_view(text, len), name, &rates->warnings));
    } else if (fmt == "litellm") {
      TKB_ASSIGN_OR_RETURN(rates->table, ParseLiteLlmJson(absl::string_view(text, len), name, &rates->warnings));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("format \"", fmt, "\" is neither \"toml\" nor \"litellm\""));
    }
    *out = rates.release();
    return absl::OkStatus();
  });
}

tkb_status tkb_rates_layer(tkb_rates** out, const tkb_rates* base, const tkb_rates* top) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    TKB_RETURN_IF_ERROR(NotNull(base, "base"));
    TKB_RETURN_IF_ERROR(NotNull(top, "top"));
    auto rates = std::make_unique<tkb_rates>();
    rates->table.MergeFrom(base->table);
    rates->table.MergeFrom(top->table);
    *out = rates.release();
    return absl::OkStatus();
  });
}

tkb_status tkb_rates_count(const tkb_rates* rates, size_t* out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(rates, "rates"));
    TKB_RETURN_IF_ERROR(NotNull(out, "out"));
    *out = rates->table.size();
    return absl::OkStatus();
  });
}

tkb_status tkb_rates_resolve(const tkb_rates* rates, const char* model, char* buf, size_t cap, size_t* needed) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(rates, "rates"));
    TKB_RETURN_IF_ERROR(NotNull(model, "model"));
    if (buf == nullptr && cap != 0) return absl::InvalidArgumentError("buf is NULL but cap is not 0");
    TKB_ASSIGN_OR_RETURN(const ModelRates* m, ResolveOrNotFound(rates->table, model));
    const size_t n = CopyOut(m->id, buf, cap);
    if (needed != nullptr) *needed = n;
    return absl::OkStatus();
  });
}

void tkb_rates_free(tkb_rates* rates) { delete rates; }

tkb_status tkb_price(const tkb_rates* rates, const tkb_price_request* request, int64_t* cost_micros_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(rates, "rates"));
    TKB_RETURN_IF_ERROR(NotNull(cost_micros_out, "cost_micros_out"));
    PriceRequest req;
    TKB_RETURN_IF_ERROR(ToPriceRequest(request, &req));
    TKB_ASSIGN_OR_RETURN(const ModelRates* m, ResolveOrNotFound(rates->table, request->model));
    TKB_ASSIGN_OR_RETURN(Micros cost, CostOf(*m, req));
    *cost_micros_out = cost.value();
    return absl::OkStatus();
  });
}

tkb_status tkb_price_explain(const tkb_rates* rates, const tkb_price_request* request, char** json_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(rates, "rates"));
    TKB_RETURN_IF_ERROR(NotNull(json_out, "json_out"));
    PriceRequest req;
    TKB_RETURN_IF_ERROR(ToPriceRequest(request, &req));
    const Resolution r = rates->table.Resolve(request->model);
    TKB_ASSIGN_OR_RETURN(const ModelRates* m, ResolveOrNotFound(rates->table, request->model));
    TKB_ASSIGN_OR_RETURN(PriceBreakdown b, ExplainCost(*m, req));
    *json_out = AllocString(PriceBreakdownJson(b, request->model, r.match, req.requests));
    return absl::OkStatus();
  });
}

}  // extern "C"
