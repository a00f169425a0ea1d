// Fuzzes the TOML rate-table reader (lib/rate_sources.cpp): any text either
// fails with a status or gives a table that prices sanely.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rate_check.h"
#include "tokenbook/rate_sources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  absl::StatusOr<tokenbook::RateTable> table = tokenbook::ParseRateTableToml(text, "fuzz.toml", &warnings);
  if (!table.ok()) {
    TKB_FUZZ_CHECK(!table.status().message().empty(), "an error without a message");
    return 0;
  }
  tokenbook_fuzz::CheckRateTable(*table);
  return 0;
}
