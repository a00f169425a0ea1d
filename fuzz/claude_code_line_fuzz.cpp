// Fuzzes the Claude Code transcript line parser (lib/ingest_parse.cpp). The
// input is split into lines as the ingester splits a file; every usage line
// must give an entry the ledger can hold, with a consistent token total.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "tokenbook/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tokenbook::ClaudeCodeLineParser parser;  // reused, as the ingester does
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  std::vector<char> buf;
  tokenbook::Entry entry;
  std::string reason;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl == nullptr ? end : nl) - p);
    buf.assign(p, p + len);
    buf.push_back('\0');  // the parser writes a terminator at line[size]
    int64_t total = -1;
    reason.clear();
    const tokenbook::LineKind k = parser.Parse(buf.data(), len, "folder-project", &entry, &total, &reason);
    if (k == tokenbook::LineKind::kUsage) {
      TKB_FUZZ_CHECK(total >= 0, "negative token total %lld", static_cast<long long>(total));
      __int128 sum = 0;  // wide: the check must not overflow itself
      for (tokenbook::TokenKind kind : tokenbook::kAllTokenKinds) sum += entry.tokens[kind].value();
      TKB_FUZZ_CHECK(total >= sum,
                     "the total %lld is less than the entry's tokens", static_cast<long long>(total));
      TKB_FUZZ_CHECK(!entry.source_key.empty(), "a usage entry without a source key");
      tokenbook_fuzz::CheckLedgerable(entry);
    } else if (k == tokenbook::LineKind::kUnusable) {
      TKB_FUZZ_CHECK(!reason.empty(), "an unusable line without a reason");
    }
    p += len + 1;
  }
  return 0;
}
