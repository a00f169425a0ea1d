// Fuzzes the config.toml reader (lib/config.cpp). An accepted config holds
// valid budgets, thresholds in order and router percentages in range.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "tokenbook/budget.h"
#include "tokenbook/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<tokenbook::Config> config = tokenbook::ParseConfig(text, "config.toml", "/nonexistent");
  if (!config.ok()) {
    TKB_FUZZ_CHECK(!config.status().message().empty(), "an error without a message");
    return 0;
  }
  const absl::Status v = tokenbook::ValidateBudgets(config->budgets);
  TKB_FUZZ_CHECK(v.ok(), "an accepted config holds invalid budgets: %s", std::string(v.message()).c_str());
  for (const tokenbook::Budget& b : config->budgets) {
    TKB_FUZZ_CHECK(b.limit.value() >= 0, "a negative budget limit");
  }
  return 0;
}
