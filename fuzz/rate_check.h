// Invariants of a parsed rate table, shared by the TOML and LiteLLM targets.
#ifndef TOKENBOOK_FUZZ_RATE_CHECK_H_
#define TOKENBOOK_FUZZ_RATE_CHECK_H_

#include "fuzz_check.h"
#include "tokenbook/rates.h"

namespace tokenbook_fuzz {

// Every model resolves to itself by its id, and a modest request is priced
// at a non-negative cost whose breakdown adds up to the total (or is refused
// with an error: overflow is an error, never a wrap).
inline void CheckRateTable(const tokenbook::RateTable& table) {
  using namespace tokenbook;
  for (const ModelRates* m : table.Models()) {
    TKB_FUZZ_CHECK(!m->id.empty(), "a model without an id");
    const Resolution r = table.Resolve(m->id);
    TKB_FUZZ_CHECK(r.model == m, "model \"%s\" does not resolve to itself", m->id.c_str());
    PriceRequest req;
    req.tokens[TokenKind::kInput] = Tokens(250'000);
    req.tokens[TokenKind::kOutput] = Tokens(12'345);
    req.tokens[TokenKind::kCacheRead] = Tokens(99'999);
    req.tokens[TokenKind::kCacheWrite5m] = Tokens(7);
    req.tokens[TokenKind::kCacheWrite1h] = Tokens(1'000'001);
    req.tokens[TokenKind::kReasoning] = Tokens(345);
    for (const absl::string_view tier : {absl::string_view(""), absl::string_view("batch"),
                                         absl::string_view("priority"), absl::string_view("fast")}) {
      req.service_tier = tier;
      absl::StatusOr<PriceBreakdown> b = ExplainCost(*m, req);
      absl::StatusOr<Micros> c = CostOf(*m, req);
      TKB_FUZZ_CHECK(b.ok() == c.ok(), "ExplainCost and CostOf disagree for \"%s\"", m->id.c_str());
      if (!c.ok()) continue;
      TKB_FUZZ_CHECK(c->value() >= 0, "negative cost %lld for \"%s\"", static_cast<long long>(c->value()),
                     m->id.c_str());
      TKB_FUZZ_CHECK(b->total == *c, "breakdown total differs for \"%s\"", m->id.c_str());
      int64_t sum = b->request_fees.value();
      for (const KindCost& line : b->lines) sum += line.cost.value();
      TKB_FUZZ_CHECK(sum == c->value(), "breakdown lines do not add up for \"%s\"", m->id.c_str());
    }
  }
}

}  // namespace tokenbook_fuzz

#endif  // TOKENBOOK_FUZZ_RATE_CHECK_H_
