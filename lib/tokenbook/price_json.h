// The JSON document of a priced request (`tokenbook price --json`,
// tkb_price_explain): model, cost_micros / cost_usd, breakdown per token kind,
// long-context and service tier.
#ifndef TOKENBOOK_LIB_PRICE_JSON_H_
#define TOKENBOOK_LIB_PRICE_JSON_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

std::string PriceBreakdownJson(const PriceBreakdown& breakdown, absl::string_view requested_model,
                               MatchKind match, int64_t requests);

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_PRICE_JSON_H_
