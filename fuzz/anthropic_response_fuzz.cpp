// Fuzzes ParseUsageDocument for IngestSource::kAnthropicResponse (lib/ingest_parse.cpp).
#include "document_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return tokenbook_fuzz::FuzzDocument(tokenbook::IngestSource::kAnthropicResponse, data, size);
}
