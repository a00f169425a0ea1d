// Fuzzes the Claude Code transcript line parser (lib/ingest_parse.cpp). The
// input is split into lines as the ingester splits a file; every usage line
// must give an entry the ledger can hold, with a consistent token total, and
// the parser with its simdjson fast path must say exactly what the exact
// reader alone says (kind, reason, entry, total).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ingest.h"

namespace {

tokenbook::ClaudeCodeLineParser& ExactParser() {
  static tokenbook::ClaudeCodeLineParser* parser = [] {
    auto* p = new tokenbook::ClaudeCodeLineParser;
    p->set_exact_only(true);
    return p;
  }();
  return *parser;
}

std::string Encoded(const tokenbook::Entry& e) {
  std::string out;
  if (!tokenbook::EncodeEntryJson(e, &out).ok()) out = "(not encodable)";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tokenbook::ClaudeCodeLineParser parser;  // reused, as the ingester does
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  std::vector<char> buf;
  tokenbook::Entry entry;
  tokenbook::Entry exact_entry;
  std::string reason;
  std::string exact_reason;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const size_t len = static_cast<size_t>((nl == nullptr ? end : nl) - p);
    buf.assign(p, p + len);
    buf.push_back('\0');  // never an empty buffer: the parser is given a valid pointer
    int64_t total = -1;
    reason.clear();
    const tokenbook::LineKind k = parser.Parse(buf.data(), len, "folder-project", &entry, &total, &reason);
    int64_t exact_total = -1;
    exact_reason.clear();
    const tokenbook::LineKind exact_k =
        ExactParser().Parse(buf.data(), len, "folder-project", &exact_entry, &exact_total, &exact_reason);
    TKB_FUZZ_CHECK(k == exact_k, "fast path kind %d, exact reader %d", static_cast<int>(k), static_cast<int>(exact_k));
    TKB_FUZZ_CHECK(reason == exact_reason, "fast path reason \"%s\", exact reader \"%s\"", reason.c_str(),
                   exact_reason.c_str());
    if (k == tokenbook::LineKind::kUsage) {
      entry.id = exact_entry.id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
      TKB_FUZZ_CHECK(total == exact_total, "fast path total %lld, exact reader %lld", static_cast<long long>(total),
                     static_cast<long long>(exact_total));
      TKB_FUZZ_CHECK(Encoded(entry) == Encoded(exact_entry), "fast path entry %s, exact reader %s",
                     Encoded(entry).c_str(), Encoded(exact_entry).c_str());
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
