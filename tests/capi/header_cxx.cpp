// Compiles the C header as C++ with every _INIT macro, as C++ callers use it.
#include "tokenbook/tokenbook.h"

namespace {
[[maybe_unused]] void UseEveryInitializer() {
  tkb_price_request price = TKB_PRICE_REQUEST_INIT;
  tkb_open_options open = TKB_OPEN_OPTIONS_INIT;
  tkb_entry entry = TKB_ENTRY_INIT;
  tkb_log_result result = TKB_LOG_RESULT_INIT;
  tkb_report_query query = TKB_REPORT_QUERY_INIT;
  tkb_admission admission = TKB_ADMISSION_INIT;
  (void)price;
  (void)open;
  (void)entry;
  (void)result;
  (void)query;
  (void)admission;
}
}  // namespace
