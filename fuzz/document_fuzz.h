// One body for the three document targets (claude -p JSON, Anthropic and
// OpenAI response bodies): parse with ParseUsageDocument and check what
// comes back.
#ifndef TOKENBOOK_FUZZ_DOCUMENT_FUZZ_H_
#define TOKENBOOK_FUZZ_DOCUMENT_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.h"
#include "tokenbook/ingest.h"

namespace tokenbook_fuzz {

inline int FuzzDocument(tokenbook::IngestSource source, const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  tokenbook::DocumentContext context;
  context.now = absl::FromUnixSeconds(1'780'000'000);
  absl::StatusOr<std::vector<tokenbook::Entry>> entries = tokenbook::ParseUsageDocument(source, json, context);
  if (!entries.ok()) {
    TKB_FUZZ_CHECK(!entries.status().message().empty(), "an error without a message");
    return 0;
  }
  TKB_FUZZ_CHECK(!entries->empty(), "a document accepted with no entry");
  for (const tokenbook::Entry& e : *entries) CheckLedgerable(e);
  return 0;
}

}  // namespace tokenbook_fuzz

#endif  // TOKENBOOK_FUZZ_DOCUMENT_FUZZ_H_
