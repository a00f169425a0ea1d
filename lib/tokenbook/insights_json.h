// JSON documents of the insights (blocks, anomalies, advice, routing, status
// line), shared by the command's --json output and the C ABI. Money is an
// integer "<name>_micros" with an exact decimal "<name>_usd" string beside
// it; times are RFC 3339 UTC with milliseconds ("2026-04-10T12:00:00.000Z"),
// null for an unbounded end; durations are integer milliseconds ("_ms").
// The schemas are in docs/cli.md under each command.
#ifndef TOKENBOOK_LIB_INSIGHTS_JSON_H_
#define TOKENBOOK_LIB_INSIGHTS_JSON_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tokenbook/insights.h"
#include "tokenbook/insights_router.h"

namespace tokenbook {
inline namespace v1 {

// {"now", "block_hours": 5, "blocks": [{"start", "end", "active", ...}]}
std::string BlocksJson(const std::vector<UsageBlock>& blocks, absl::Time now);

// {"period", "rule", "baselines", "anomalies": [...], "recorded"}
std::string AnomaliesJson(const AnomalyReport& report, const AnomalyOptions& options, size_t recorded);

// {"period", "total_cost_*", "total_saving_*", "reprice_failures", "suggestions": [...]}
std::string AdviceJson(const Advice& advice, const AdviceOptions& options);

// {"model", "tier", "chosen_model", "chosen_by", "rule", "matched", "budget", ...}
std::string RouteDecisionJson(const RouteDecision& d, const RouterConfig& config);

// {"line", "model", "session_cost_*", "today_*", "block", "budget"}
std::string StatusLineJson(const StatusLine& line);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_INSIGHTS_JSON_H_
