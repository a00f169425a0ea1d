// Fuzzes the ledger line decoder (lib/entry_json.cpp). A line the decoder
// accepts must survive the round trip: it encodes (when its action_type is
// one the writer accepts), the encoded line decodes to the same entry (the
// timestamp cut to the millisecond), and encoding that gives the same bytes.
// The decoder with its simdjson fast path must say exactly what the exact
// reader alone says: the same error, or the same entry.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"

namespace {

bool SameEntry(const tokenbook::Entry& a, const tokenbook::Entry& b) {
  return a.id == b.id && a.timestamp == b.timestamp && a.model == b.model && a.provider == b.provider &&
         a.tokens.by_kind == b.tokens.by_kind && a.requests == b.requests && a.cost == b.cost &&
         a.cost_source == b.cost_source && a.rates_as_of == b.rates_as_of && a.session == b.session &&
         a.agent == b.agent && a.category == b.category && a.action_type == b.action_type && a.action == b.action &&
         a.feature == b.feature && a.project == b.project && a.tool == b.tool && a.task_type == b.task_type &&
         a.service_tier == b.service_tier && a.duration_ms == b.duration_ms && a.tags == b.tags &&
         a.notes == b.notes && a.source_kind == b.source_kind && a.source_key == b.source_key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  static tokenbook::EntryDecoder decoder;  // reused, as the ledger reader does
  static tokenbook::EntryDecoder* exact = [] {
    auto* d = new tokenbook::EntryDecoder;
    d->set_exact_only(true);
    return d;
  }();
  tokenbook::Entry e;
  const absl::Status status = decoder.Decode(line, &e);
  tokenbook::Entry exact_e;
  const absl::Status exact_status = exact->Decode(line, &exact_e);
  TKB_FUZZ_CHECK(status == exact_status, "fast path: %s; exact reader: %s", status.ToString().c_str(),
                 exact_status.ToString().c_str());
  if (!status.ok()) return 0;
  TKB_FUZZ_CHECK(SameEntry(e, exact_e), "the fast path and the exact reader decode different entries");

  tokenbook_fuzz::CheckCounts(e);
  TKB_FUZZ_CHECK(!e.id.empty() && !e.model.empty(), "required strings empty");
  if (!tokenbook::IsValidActionType(e.action_type)) return 0;  // read leniently, never written

  std::string once;
  const absl::Status s = tokenbook::EncodeEntryJson(e, &once);
  TKB_FUZZ_CHECK(s.ok(), "a decoded entry does not encode: %s", std::string(s.message()).c_str());
  tokenbook::Entry back;
  const absl::Status d = decoder.Decode(once, &back);
  TKB_FUZZ_CHECK(d.ok(), "an encoded entry does not decode: %s", std::string(d.message()).c_str());
  tokenbook::Entry expected = e;
  expected.timestamp = absl::FromUnixMillis(absl::ToUnixMillis(e.timestamp));
  TKB_FUZZ_CHECK(SameEntry(back, expected), "the round trip changed the entry: %s", once.c_str());
  std::string twice;
  TKB_FUZZ_CHECK(tokenbook::EncodeEntryJson(back, &twice).ok() && twice == once, "encoding is not stable");
  return 0;
}
