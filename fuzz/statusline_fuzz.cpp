// Fuzzes the status-line input reader (ParseStatusLineInput,
// lib/insights_statusline.cpp): what Claude Code pipes to a status-line
// command. Any bytes: a status or a value, never a crash.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "tokenbook/insights.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<tokenbook::StatusLineInput> in = tokenbook::ParseStatusLineInput(json);
  if (!in.ok()) {
    TKB_FUZZ_CHECK(!in.status().message().empty(), "an error without a message");
  }
  return 0;
}
