/* A C99 program using the installed C ABI: prices a request with the
 * built-in table, logs it into a fresh ledger and reads it back in a report.
 * Built by every consumer project of tools/check-consumers; prints one line
 * and exits 0 when everything checks. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenbook/tokenbook.h>

static int failures = 0;

#define EXPECT(cond)                                                                      \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      ++failures;                                                                         \
      fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              tkb_last_error());                                                          \
    }                                                                                     \
  } while (0)

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(void) {
  char dir[] = "/tmp/tokenbook-consumer-XXXXXX";
  tkb_rates *rates = NULL;
  tkb_ledger *ledger = NULL;
  tkb_price_request req = TKB_PRICE_REQUEST_INIT;
  tkb_entry e = TKB_ENTRY_INIT;
  tkb_log_result r = TKB_LOG_RESULT_INIT;
  tkb_report_query q = TKB_REPORT_QUERY_INIT;
  char *json = NULL;
  int64_t cost = -1;

  EXPECT(tkb_version_number() == TKB_VERSION_NUMBER);
  EXPECT(tkb_abi_version() == TKB_ABI_VERSION);

  /* 12,000 in / 4,500 out / 8,000 cache read / 3,000 cache write on Sonnet 4.5: 117,150 µ$. */
  EXPECT(tkb_rates_builtin(&rates) == TKB_OK);
  req.model = "claude-sonnet-4-5";
  req.tokens.input = 12000;
  req.tokens.output = 4500;
  req.tokens.cache_read = 8000;
  req.tokens.cache_write_5m = 3000;
  EXPECT(tkb_price(rates, &req, &cost) == TKB_OK);
  EXPECT(cost == 117150);
  tkb_rates_free(rates);

  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  EXPECT(tkb_ledger_open(&ledger, dir, NULL) == TKB_OK);
  e.model = "claude-sonnet-4-5";
  e.tokens = req.tokens;
  e.session = "consumer";
  EXPECT(tkb_ledger_log(ledger, &e, &r) == TKB_OK);
  EXPECT(r.cost_micros == 117150);
  q.period = "all";
  EXPECT(tkb_ledger_report(ledger, &q, &json) == TKB_OK);
  EXPECT(json != NULL && strstr(json, "\"cost_micros\":117150") != NULL);
  tkb_free(json);
  tkb_ledger_free(ledger);
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

  if (failures != 0) return 1;
  printf("C consumer: tokenbook %s, ABI %d: ok\n", tkb_version_string(), tkb_abi_version());
  return 0;
}
