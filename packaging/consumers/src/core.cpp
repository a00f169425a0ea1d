// A C++20 program using tokenbook::core alone (header-only, on Abseil):
// prices a request with tokenbook::CostOf on a hand-built rate. Links nothing
// of tokenbook's. Prints one line and exits 0 when the cost is exact.
#include <iostream>

#include <tokenbook/money.h>
#include <tokenbook/rates.h>

int main() {
  tokenbook::ModelRates model;
  model.id = "example-model";
  model.pricing.standard.rates[tokenbook::TokenKind::kInput] = tokenbook::MicrosPerMTok(3'000'000);    // $3/MTok
  model.pricing.standard.rates[tokenbook::TokenKind::kOutput] = tokenbook::MicrosPerMTok(15'000'000);  // $15/MTok

  tokenbook::PriceRequest request;
  request.tokens[tokenbook::TokenKind::kInput] = tokenbook::Tokens(12'000);
  request.tokens[tokenbook::TokenKind::kOutput] = tokenbook::Tokens(4'500);
  request.tokens[tokenbook::TokenKind::kCacheRead] = tokenbook::Tokens(8'000);  // at the input rate

  const absl::StatusOr<tokenbook::Micros> cost = tokenbook::CostOf(model, request);
  if (!cost.ok()) {
    std::cerr << "core consumer: " << cost.status() << "\n";
    return 1;
  }
  // 20,000 × $3 + 4,500 × $15 per MTok = $0.06 + $0.0675.
  if (cost->value() != 127'500) {
    std::cerr << "core consumer: expected 127500 µ$, got " << cost->value() << "\n";
    return 1;
  }
  std::cout << "core consumer: CostOf = " << tokenbook::FormatDollars(*cost, 6) << ": ok\n";
  return 0;
}
