// Shared by the libFuzzer targets: an invariant check that aborts with a
// message (libFuzzer then saves the input as a crash), whatever NDEBUG says.
#ifndef TOKENBOOK_FUZZ_FUZZ_CHECK_H_
#define TOKENBOOK_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"

#define TKB_FUZZ_CHECK(cond, ...)                                                   \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                       \
      std::fprintf(stderr, "\n");                                                   \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace tokenbook_fuzz {

// What must hold of any entry a parser hands on: no negative count, and
// reasoning tokens within output ones only where the parser promises it.
inline void CheckCounts(const tokenbook::Entry& e) {
  for (tokenbook::TokenKind k : tokenbook::kAllTokenKinds) {
    TKB_FUZZ_CHECK(e.tokens[k].value() >= 0, "tokens.%s = %lld", std::string(tokenbook::TokenKindName(k)).c_str(),
                   static_cast<long long>(e.tokens[k].value()));
  }
  TKB_FUZZ_CHECK(e.requests >= 0, "requests = %lld", static_cast<long long>(e.requests));
}

// An ingested entry must be something the ledger can hold: given an id, it
// encodes, and the line decodes back to the same counts and strings.
inline void CheckLedgerable(tokenbook::Entry e) {
  CheckCounts(e);
  TKB_FUZZ_CHECK(!e.model.empty(), "empty model");
  if (e.id.empty()) e.id = "01J0000000000000000000FUZZ";
  std::string line;
  const absl::Status s = tokenbook::EncodeEntryJson(e, &line);
  if (!s.ok()) {
    // A timestamp outside 0000..9999 is refused with a clear message; so is
    // a line over the size limit. Anything else is a parser bug.
    TKB_FUZZ_CHECK(s.message().find("\"ts\"") != absl::string_view::npos ||
                       s.message().find("bytes; a ledger line holds at most") != absl::string_view::npos,
                   "an ingested entry does not encode: %s", std::string(s.message()).c_str());
    return;
  }
  absl::StatusOr<tokenbook::Entry> back = tokenbook::DecodeEntryJson(line);
  TKB_FUZZ_CHECK(back.ok(), "its line does not decode: %s", std::string(back.status().message()).c_str());
  TKB_FUZZ_CHECK(back->model == e.model && back->session == e.session && back->source_key == e.source_key,
                 "strings changed in the round trip");
  for (tokenbook::TokenKind k : tokenbook::kAllTokenKinds) {
    TKB_FUZZ_CHECK(back->tokens[k] == e.tokens[k], "tokens changed in the round trip");
  }
}

}  // namespace tokenbook_fuzz

#endif  // TOKENBOOK_FUZZ_FUZZ_CHECK_H_
