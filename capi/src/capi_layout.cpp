// The layout of every public struct, pinned: a change that would break
// callers compiled against an earlier header fails the build here instead.
// Fields may only ever be appended (struct_size tells the library how many a
// caller knows); then the new size and offsets are added below.
#include <cstddef>

#include "tokenbook/tokenbook.h"

#if defined(__x86_64__) || defined(__aarch64__)
static_assert(sizeof(tkb_tokens) == 48, "tkb_tokens layout changed");
static_assert(offsetof(tkb_tokens, reasoning) == 40, "tkb_tokens layout changed");

static_assert(sizeof(tkb_price_request) == 88, "tkb_price_request layout changed");
static_assert(offsetof(tkb_price_request, model) == 8, "tkb_price_request layout changed");
static_assert(offsetof(tkb_price_request, tokens) == 16, "tkb_price_request layout changed");
static_assert(offsetof(tkb_price_request, requests) == 64, "tkb_price_request layout changed");
static_assert(offsetof(tkb_price_request, service_tier) == 72, "tkb_price_request layout changed");
static_assert(offsetof(tkb_price_request, at_unix_ms) == 80, "tkb_price_request layout changed");

static_assert(sizeof(tkb_open_options) == 32, "tkb_open_options layout changed");
static_assert(offsetof(tkb_open_options, create) == 4, "tkb_open_options layout changed");
static_assert(offsetof(tkb_open_options, durability) == 8, "tkb_open_options layout changed");
static_assert(offsetof(tkb_open_options, rates) == 16, "tkb_open_options layout changed");
static_assert(offsetof(tkb_open_options, strict_models) == 24, "tkb_open_options layout changed");

static_assert(sizeof(tkb_entry) == 216, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, model) == 8, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, tokens) == 16, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, requests) == 64, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, timestamp_unix_ms) == 72, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, cost_override_micros) == 80, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, has_cost_override) == 88, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, session) == 96, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, service_tier) == 168, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, duration_ms) == 176, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, tags) == 184, "tkb_entry layout changed");
static_assert(offsetof(tkb_entry, source_key) == 208, "tkb_entry layout changed");

static_assert(sizeof(tkb_log_result) == 56, "tkb_log_result layout changed");
static_assert(offsetof(tkb_log_result, cost_micros) == 8, "tkb_log_result layout changed");
static_assert(offsetof(tkb_log_result, appended) == 16, "tkb_log_result layout changed");
static_assert(offsetof(tkb_log_result, priced) == 20, "tkb_log_result layout changed");
static_assert(offsetof(tkb_log_result, id) == 24, "tkb_log_result layout changed");

static_assert(sizeof(tkb_report_query) == 64, "tkb_report_query layout changed");
static_assert(offsetof(tkb_report_query, period) == 8, "tkb_report_query layout changed");
static_assert(offsetof(tkb_report_query, top) == 48, "tkb_report_query layout changed");
static_assert(offsetof(tkb_report_query, time_zone) == 56, "tkb_report_query layout changed");

static_assert(sizeof(tkb_admission) == 280, "tkb_admission layout changed");
static_assert(offsetof(tkb_admission, decision) == 4, "tkb_admission layout changed");
static_assert(offsetof(tkb_admission, estimated_cost_micros) == 8, "tkb_admission layout changed");
static_assert(offsetof(tkb_admission, reservation) == 16, "tkb_admission layout changed");
static_assert(offsetof(tkb_admission, reason) == 24, "tkb_admission layout changed");

static_assert(sizeof(tkb_route_request) == 56, "tkb_route_request layout changed");
static_assert(offsetof(tkb_route_request, task) == 8, "tkb_route_request layout changed");
static_assert(offsetof(tkb_route_request, agent) == 48, "tkb_route_request layout changed");
#endif
