// The structs behind the C ABI's opaque handles, and conversions from the
// public structs.
#ifndef TOKENBOOK_CAPI_TYPES_H_
#define TOKENBOOK_CAPI_TYPES_H_

#include <string>
#include <vector>

#include "tokenbook/rates.h"
#include "tokenbook/status.h"
#include "tokenbook/tokenbook.h"

struct tkb_rates {
  tokenbook::RateTable table;
  std::vector<std::string> warnings;
};

namespace tokenbook::capi {

inline void CopyTokens(const tkb_tokens& in, TokenCounts* out) {
  (*out)[TokenKind::kInput] = Tokens(in.input);
  (*out)[TokenKind::kOutput] = Tokens(in.output);
  (*out)[TokenKind::kCacheRead] = Tokens(in.cache_read);
  (*out)[TokenKind::kCacheWrite5m] = Tokens(in.cache_write_5m);
  (*out)[TokenKind::kCacheWrite1h] = Tokens(in.cache_write_1h);
  (*out)[TokenKind::kReasoning] = Tokens(in.reasoning);
}

absl::Status ToPriceRequest(const tkb_price_request* in, PriceRequest* out);
absl::StatusOr<const ModelRates*> ResolveOrNotFound(const RateTable& table, absl::string_view model);

}  // namespace tokenbook::capi

#endif  // TOKENBOOK_CAPI_TYPES_H_
