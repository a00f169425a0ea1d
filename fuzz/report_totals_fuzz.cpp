// Fuzzes the reader of the report totals cache (QuarterTotals::Read,
// lib/quarter_totals.cpp): the body of cache/report-totals.bin, which a
// damaged or hand-made file can make anything. Any bytes: refused, or
// totals that write back to exactly the bytes read and sum into a report
// (or an overflow error) without a crash.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.h"
#include "tokenbook/binary_cache.h"
#include "tokenbook/quarter_totals.h"
#include "tokenbook/rollup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  tokenbook::binary_cache::Reader reader(bytes);
  tokenbook::QuarterTotals totals;
  if (!totals.Read(&reader)) {
    TKB_FUZZ_CHECK(totals.size() == 0, "refused totals left %zu rows behind", totals.size());
    return 0;
  }
  if (reader.done()) {
    tokenbook::binary_cache::Writer writer;
    totals.Write(&writer);
    TKB_FUZZ_CHECK(writer.out() == bytes, "totals read back write %zu bytes, not the %zu read", writer.out().size(),
                   size);
  }
  for (const char* by : {"day,model", "month,provider"}) {
    tokenbook::RollupQuery q;
    q.group_by = *tokenbook::ParseGroupBy(by);
    absl::StatusOr<tokenbook::Rollup> rollup = tokenbook::Rollup::Create(q);
    TKB_FUZZ_CHECK(rollup.ok(), "a plain query refused");
    absl::StatusOr<bool> used = totals.AddTo(&*rollup);
    if (!used.ok() || !*used) continue;
    absl::StatusOr<tokenbook::RollupReport> report = rollup->Finish();
    if (!report.ok()) TKB_FUZZ_CHECK(!report.status().message().empty(), "an error without a message");
  }
  return 0;
}
