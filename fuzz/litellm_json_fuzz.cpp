// Fuzzes the LiteLLM price-database importer (lib/litellm.cpp).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rate_check.h"
#include "tokenbook/rate_sources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  absl::StatusOr<tokenbook::RateTable> table = tokenbook::ParseLiteLlmJson(text, "fuzz.json", &warnings);
  if (!table.ok()) {
    TKB_FUZZ_CHECK(!table.status().message().empty(), "an error without a message");
    return 0;
  }
  tokenbook_fuzz::CheckRateTable(*table);
  return 0;
}
