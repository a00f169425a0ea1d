// JSON documents of reports and budget status, shared by the command's
// --json output and the C ABI (schemas: docs/report-json.md).
#ifndef TOKENBOOK_LIB_REPORT_JSON_H_
#define TOKENBOOK_LIB_REPORT_JSON_H_

#include <string>
#include <vector>

#include "tokenbook/budgets.h"
#include "tokenbook/ledger.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
inline namespace v1 {

// {"period": {...}, "group_by": [...], "totals": {...}, "groups": [...],
//  "issues": [...]}. `issues` are the ledger lines the reader skipped.
std::string RollupReportJson(const RollupReport& report, const std::vector<LedgerIssue>& issues = {});

// {"now": ..., "budgets": [...], "month_spent_micros": ..., "suggestion": ...}
std::string BudgetReportJson(const BudgetReport& report);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_REPORT_JSON_H_
