// Fuzzes the Codex rollout line parser (lib/ingest_parse.cpp). The input is
// read as one rollout file, line by line with one context, so that the
// cumulative counters (total_token_usage) are exercised across lines.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "rapidjson/document.h"
#include "tokenbook/ingest_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tokenbook::ingest_internal::CodexLineKind;
  tokenbook::ingest_internal::CodexContext ctx;
  ctx.file_key = "/fuzz/rollout.jsonl";
  ctx.file_mtime = absl::FromUnixSeconds(1'780'000'000);
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  std::vector<char> buf;
  rapidjson::Document doc;
  tokenbook::Entry entry;
  std::string reason;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl == nullptr ? end : nl) - p);
    buf.assign(p, p + len);
    buf.push_back('\0');
    ctx.line_offset = p - reinterpret_cast<const char*>(data);
    entry = tokenbook::Entry();
    reason.clear();
    const CodexLineKind k = tokenbook::ingest_internal::ParseCodexLine(buf.data(), len, &ctx, &doc, &entry, &reason);
    if (k == CodexLineKind::kUsage) {
      TKB_FUZZ_CHECK(entry.tokens[tokenbook::TokenKind::kReasoning].value() <=
                         entry.tokens[tokenbook::TokenKind::kOutput].value(),
                     "reasoning beyond output");
      tokenbook_fuzz::CheckLedgerable(entry);
    } else if (k == CodexLineKind::kUnusable) {
      TKB_FUZZ_CHECK(!reason.empty(), "an unusable line without a reason");
    }
    p += len + 1;
  }
  return 0;
}
