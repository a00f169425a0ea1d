/* Tests of the C ABI, written in C99 against the installed header only:
 * every exported function, its NULL and bad-argument paths, and a
 * multi-threaded logging and reservation run (built under ThreadSanitizer
 * by the tsan preset). Prints "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokenbook/tokenbook.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (cond) {                                                           \
      ++passed;                                                           \
    } else {                                                              \
      ++failed;                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              tkb_last_error());                                          \
    }                                                                     \
  } while (0)

#define CHECK_EQ_I64(a, b)                                                                   \
  do {                                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                                      \
    if (a_ == b_) {                                                                          \
      ++passed;                                                                              \
    } else {                                                                                 \
      ++failed;                                                                              \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld (last error: %s)\n", __FILE__, __LINE__, \
              #a, #b, a_, b_, tkb_last_error());                                             \
    }                                                                                        \
  } while (0)

static char *make_temp_dir(void) {
  char *path = malloc(64);
  strcpy(path, "/tmp/tkb-capi-XXXXXX");
  if (mkdtemp(path) == NULL) {
    perror("mkdtemp");
    exit(2);
  }
  return path;
}

static void remove_tree(const char *dir) {
  char cmd[512];
  /* Test cleanup only; the library itself never spawns a shell. */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[512];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

static void test_version(void) {
  CHECK_EQ_I64(tkb_version_number(), TKB_VERSION_NUMBER);
  CHECK_EQ_I64(tkb_abi_version(), TKB_ABI_VERSION);
  CHECK(strcmp(tkb_version_string(), TKB_VERSION_STRING) == 0);
  CHECK(tkb_last_error() != NULL);
  CHECK(strcmp(tkb_status_name(TKB_NOT_FOUND), "NOT_FOUND") == 0);
  CHECK(strcmp(tkb_status_name(999), "UNKNOWN_STATUS") == 0);
  tkb_free(NULL);
  tkb_rates_free(NULL);
  tkb_ledger_free(NULL);
}

static void test_pricing(void) {
  tkb_rates *rates = NULL;
  tkb_price_request req = TKB_PRICE_REQUEST_INIT;
  int64_t cost = -1;
  char *json = NULL;
  char id[64];
  size_t needed = 0;
  size_t count = 0;

  CHECK_EQ_I64(tkb_rates_builtin(NULL), TKB_INVALID_ARGUMENT);
  CHECK(strstr(tkb_last_error(), "out") != NULL);
  CHECK_EQ_I64(tkb_rates_builtin(&rates), TKB_OK);
  CHECK_EQ_I64(tkb_rates_count(rates, &count), TKB_OK);
  CHECK(count >= 20);

  /* Sonnet 4: 12,000 in / 4,500 out / 8,000 cache read / 3,000 cache write 5m = 117,150 µ$. */
  req.model = "claude-sonnet-4";
  req.tokens.input = 12000;
  req.tokens.output = 4500;
  req.tokens.cache_read = 8000;
  req.tokens.cache_write_5m = 3000;
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_OK);
  CHECK_EQ_I64(cost, 117150);
  req.model = "claude-opus-4";
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_OK);
  CHECK_EQ_I64(cost, 585750);

  req.model = "anthropic/claude-sonnet-4.5";
  CHECK_EQ_I64(tkb_price_explain(rates, &req, &json), TKB_OK);
  CHECK(json != NULL && strstr(json, "\"cost_micros\":117150") != NULL);
  CHECK(json != NULL && strstr(json, "\"model\":\"claude-sonnet-4-5\"") != NULL);
  tkb_free(json);

  CHECK_EQ_I64(tkb_rates_resolve(rates, "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", id, sizeof id,
                                 &needed),
               TKB_OK);
  CHECK(strcmp(id, "claude-sonnet-4-5") == 0);
  CHECK_EQ_I64(needed, strlen("claude-sonnet-4-5") + 1);
  /* Too small a buffer: truncated, NUL-terminated, size needed reported. */
  CHECK_EQ_I64(tkb_rates_resolve(rates, "claude-sonnet-4-5", id, 4, &needed), TKB_OK);
  CHECK(strcmp(id, "cla") == 0);
  CHECK_EQ_I64(needed, 18);
  CHECK_EQ_I64(tkb_rates_resolve(rates, "claude-sonnet-4-5", NULL, 8, &needed), TKB_INVALID_ARGUMENT);

  /* Unknown model: NOT_FOUND naming the closest ids. */
  req.model = "gpt-5.4-mini";
  cost = -1;
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_NOT_FOUND);
  CHECK(strstr(tkb_last_error(), "closest") != NULL);
  CHECK_EQ_I64(cost, -1); /* out-parameters untouched on failure */

  /* Bad arguments. */
  req.model = "gpt-5";
  req.tokens.input = -1;
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_INVALID_ARGUMENT);
  CHECK(strstr(tkb_last_error(), "input") != NULL);
  req.tokens.input = 10;
  req.struct_size = 3;
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_INVALID_ARGUMENT);
  CHECK(strstr(tkb_last_error(), "struct_size") != NULL);
  req.struct_size = sizeof req;
  req.model = NULL;
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_INVALID_ARGUMENT);
  CHECK_EQ_I64(tkb_price(NULL, &req, &cost), TKB_INVALID_ARGUMENT);
  CHECK_EQ_I64(tkb_price(rates, NULL, &cost), TKB_INVALID_ARGUMENT);
  req.model = "gpt-5";
  req.service_tier = "turbo";
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_INVALID_ARGUMENT);
  req.service_tier = "flex";
  memset(&req.tokens, 0, sizeof req.tokens);
  req.tokens.input = 1000000;
  CHECK_EQ_I64(tkb_price(rates, &req, &cost), TKB_OK);
  CHECK_EQ_I64(cost, 625000);

  /* A TOML table from memory layered over the built-in one. */
  {
    const char *toml = "schema = 1\nas_of = \"2026-11-20\"\n[[models]]\nid = \"my-model\"\nprovider = \"acme\"\n"
                       "input = \"1.5\"\noutput = \"2\"\n";
    tkb_rates *mine = NULL;
    tkb_rates *layered = NULL;
    tkb_price_request r2 = TKB_PRICE_REQUEST_INIT;
    CHECK_EQ_I64(tkb_rates_parse(&mine, toml, strlen(toml), "toml", "mine.toml"), TKB_OK);
    CHECK_EQ_I64(tkb_rates_layer(&layered, rates, mine), TKB_OK);
    r2.model = "my-model";
    r2.tokens.input = 2000000;
    CHECK_EQ_I64(tkb_price(layered, &r2, &cost), TKB_OK);
    CHECK_EQ_I64(cost, 3000000);
    r2.model = "gpt-5";
    CHECK_EQ_I64(tkb_price(mine, &r2, &cost), TKB_NOT_FOUND);
    tkb_rates_free(mine);
    tkb_rates_free(layered);
  }
  {
    const char *bad = "schema = 1\nas_of = \"2026-11-20\"\n[[models]]\nid = \"x\"\ninput = = 3\n";
    tkb_rates *r = NULL;
    CHECK(tkb_rates_parse(&r, bad, strlen(bad), "toml", "bad.toml") != TKB_OK);
    CHECK(strstr(tkb_last_error(), "bad.toml:5") != NULL);
    CHECK(r == NULL);
    CHECK_EQ_I64(tkb_rates_parse(&r, bad, strlen(bad), "yaml", NULL), TKB_INVALID_ARGUMENT);
    CHECK(tkb_rates_load(&r, "/nonexistent/rates.toml") != TKB_OK);
    CHECK(strstr(tkb_last_error(), "/nonexistent/rates.toml") != NULL);
  }
  tkb_rates_free(rates);
}

static void test_ledger(void) {
  char *dir = make_temp_dir();
  tkb_ledger *ledger = NULL;
  tkb_entry e = TKB_ENTRY_INIT;
  tkb_log_result r = TKB_LOG_RESULT_INIT;
  tkb_report_query q = TKB_REPORT_QUERY_INIT;
  char *json = NULL;
  char small[8];
  size_t needed = 0;
  tkb_open_options opts = TKB_OPEN_OPTIONS_INIT;

  CHECK_EQ_I64(tkb_ledger_open(NULL, dir, NULL), TKB_INVALID_ARGUMENT);
  opts.struct_size = 1;
  CHECK_EQ_I64(tkb_ledger_open(&ledger, dir, &opts), TKB_INVALID_ARGUMENT);
  CHECK(ledger == NULL);
  CHECK_EQ_I64(tkb_ledger_open(&ledger, dir, NULL), TKB_OK);

  e.model = "claude-sonnet-4";
  e.tokens.input = 12000;
  e.tokens.output = 4500;
  e.tokens.cache_read = 8000;
  e.tokens.cache_write_5m = 3000;
  e.session = "s1";
  e.agent = "reviewer";
  e.feature = "search";
  e.tags = "team=core\nticket=T-1";
  e.timestamp_unix_ms = 1795000000000LL; /* 2026-11-18 */
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_OK);
  CHECK_EQ_I64(r.cost_micros, 117150);
  CHECK_EQ_I64(r.appended, 1);
  CHECK_EQ_I64(r.priced, 1);
  CHECK_EQ_I64(strlen(r.id), 26);

  /* A source key is logged once. */
  e.source_kind = "test";
  e.source_key = "k-1";
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_OK);
  CHECK_EQ_I64(r.appended, 1);
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_OK);
  CHECK_EQ_I64(r.appended, 0);
  e.source_kind = NULL;
  e.source_key = NULL;

  /* Unknown model: recorded unpriced, never $0 silently. */
  e.model = "my-private-model";
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_OK);
  CHECK_EQ_I64(r.priced, 0);
  CHECK_EQ_I64(r.cost_micros, 0);

  /* Errors. */
  e.model = NULL;
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_INVALID_ARGUMENT);
  e.model = "gpt-5";
  e.tokens.input = -5;
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_INVALID_ARGUMENT);
  e.tokens.input = 5;
  e.action_type = "sometimes";
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_INVALID_ARGUMENT);
  e.action_type = NULL;
  e.tags = "novalue";
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_INVALID_ARGUMENT);
  e.tags = NULL;
  CHECK_EQ_I64(tkb_ledger_log(NULL, &e, &r), TKB_INVALID_ARGUMENT);
  r.struct_size = 0;
  CHECK_EQ_I64(tkb_ledger_log(ledger, &e, &r), TKB_INVALID_ARGUMENT);
  r.struct_size = sizeof r;

  /* A batch. */
  {
    tkb_entry batch[3];
    tkb_log_result results[3];
    int i;
    for (i = 0; i < 3; ++i) {
      tkb_entry init = TKB_ENTRY_INIT;
      tkb_log_result rinit = TKB_LOG_RESULT_INIT;
      batch[i] = init;
      results[i] = rinit;
      batch[i].model = "claude-sonnet-4";
      batch[i].tokens.input = 120000;
      batch[i].tokens.output = 35000;
      batch[i].timestamp_unix_ms = 1795000000000LL;
      batch[i].agent = "writer";
    }
    CHECK_EQ_I64(tkb_ledger_log_batch(ledger, batch, 3, results), TKB_OK);
    for (i = 0; i < 3; ++i) CHECK_EQ_I64(results[i].cost_micros, 885000);
    CHECK_EQ_I64(tkb_ledger_log_batch(ledger, NULL, 0, NULL), TKB_OK);
  }

  /* Report: 2 + 3 priced entries, 1 unpriced, grouped by agent. */
  q.period = "all";
  q.group_by = "agent";
  CHECK_EQ_I64(tkb_ledger_report(ledger, &q, &json), TKB_OK);
  CHECK(json != NULL && strstr(json, "\"cost_micros\":2889300") != NULL); /* 2×117150 + 3×885000 */
  CHECK(json != NULL && strstr(json, "\"unpriced_entries\":1") != NULL);
  CHECK(json != NULL && strstr(json, "\"agent\":\"writer\"") != NULL);
  tkb_free(json);
  CHECK_EQ_I64(tkb_ledger_report_json(ledger, &q, NULL, 0, &needed), TKB_OK);
  CHECK(needed > 100);
  {
    char *buf = malloc(needed);
    size_t again = 0;
    CHECK_EQ_I64(tkb_ledger_report_json(ledger, &q, buf, needed, &again), TKB_OK);
    CHECK_EQ_I64(again, needed);
    CHECK_EQ_I64(strlen(buf) + 1, needed);
    free(buf);
  }
  CHECK_EQ_I64(tkb_ledger_report_json(ledger, &q, small, sizeof small, &needed), TKB_OK);
  CHECK_EQ_I64(strlen(small), 7);
  q.group_by = "colour";
  CHECK_EQ_I64(tkb_ledger_report(ledger, &q, &json), TKB_INVALID_ARGUMENT);
  CHECK(strstr(tkb_last_error(), "colour") != NULL);
  q.group_by = NULL;
  q.period = "fortnight";
  CHECK_EQ_I64(tkb_ledger_report(ledger, &q, &json), TKB_INVALID_ARGUMENT);

  /* Pricing with the ledger's own table. */
  {
    tkb_price_request pr = TKB_PRICE_REQUEST_INIT;
    int64_t c = 0;
    pr.model = "claude-sonnet-4";
    pr.tokens.input = 120000;
    pr.tokens.output = 35000;
    CHECK_EQ_I64(tkb_ledger_price(ledger, &pr, &c), TKB_OK);
    CHECK_EQ_I64(c, 885000);
    pr.model = "no-such-model";
    CHECK_EQ_I64(tkb_ledger_price(ledger, &pr, &c), TKB_NOT_FOUND);
    CHECK_EQ_I64(tkb_ledger_price(NULL, &pr, &c), TKB_INVALID_ARGUMENT);
  }
  /* A bad entry in a batch is named by its index. */
  {
    tkb_entry two[2];
    tkb_entry init = TKB_ENTRY_INIT;
    two[0] = init;
    two[1] = init;
    two[0].model = "gpt-5";
    CHECK_EQ_I64(tkb_ledger_log_batch(ledger, two, 2, NULL), TKB_INVALID_ARGUMENT);
    CHECK(strstr(tkb_last_error(), "entries[1]") != NULL);
  }

  /* Budget with no budget configured: a suggestion. */
  CHECK_EQ_I64(tkb_ledger_budget(ledger, &json), TKB_OK);
  CHECK(json != NULL && strstr(json, "\"suggestion\":{") != NULL);
  tkb_free(json);
  tkb_ledger_free(ledger);

  /* A ledger that may not be created. */
  {
    tkb_open_options no_create = TKB_OPEN_OPTIONS_INIT;
    char missing[600];
    no_create.create = 0;
    snprintf(missing, sizeof missing, "%s/missing/.tokenbook", dir);
    CHECK(tkb_ledger_open(&ledger, missing, &no_create) != TKB_OK);
  }
  remove_tree(dir);
  free(dir);
}

/* Many threads reserve against one blocking budget; spend never passes it. */
enum { kThreads = 8, kAttempts = 40 };
static tkb_ledger *shared_ledger;

static void *reserve_worker(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < kAttempts; ++i) {
    tkb_entry e = TKB_ENTRY_INIT;
    tkb_admission a = TKB_ADMISSION_INIT;
    tkb_log_result r = TKB_LOG_RESULT_INIT;
    e.model = "claude-sonnet-4";
    e.has_cost_override = 1;
    e.cost_override_micros = 100000; /* $0.10 */
    e.project = "p";
    if (tkb_ledger_admit(shared_ledger, &e, 1, &a) != TKB_OK) {
      fprintf(stderr, "admit: %s\n", tkb_last_error());
      continue;
    }
    if (a.decision == TKB_DENY) continue;
    if (i % 5 == 0) {
      tkb_ledger_release(shared_ledger, a.reservation);
    } else if (tkb_ledger_commit(shared_ledger, a.reservation, &e, &r) != TKB_OK) {
      fprintf(stderr, "commit: %s\n", tkb_last_error());
    }
  }
  return NULL;
}

static void test_admission_threads(void) {
  char *dir = make_temp_dir();
  pthread_t threads[kThreads];
  char *json = NULL;
  tkb_report_query q = TKB_REPORT_QUERY_INIT;
  int i;
  /* $5.00 daily budget, blocking: at most 50 entries of $0.10. */
  write_file(dir, "config.toml", "[budgets]\ndaily = \"5.00\"\naction = \"block\"\n");
  CHECK_EQ_I64(tkb_ledger_open(&shared_ledger, dir, NULL), TKB_OK);
  for (i = 0; i < kThreads; ++i) pthread_create(&threads[i], NULL, reserve_worker, NULL);
  for (i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  q.period = "today";
  CHECK_EQ_I64(tkb_ledger_report(shared_ledger, &q, &json), TKB_OK);
  CHECK(json != NULL && strstr(json, "\"entries\":50,") != NULL);
  CHECK(json != NULL && strstr(json, "\"cost_micros\":5000000") != NULL);
  if (json != NULL && strstr(json, "\"cost_micros\":5000000") == NULL) fprintf(stderr, "%s\n", json);
  tkb_free(json);
  {
    tkb_entry e = TKB_ENTRY_INIT;
    tkb_admission a = TKB_ADMISSION_INIT;
    e.model = "gpt-5";
    e.tokens.input = 1000;
    CHECK_EQ_I64(tkb_ledger_admit(shared_ledger, &e, 0, &a), TKB_OK);
    CHECK_EQ_I64(a.decision, TKB_DENY);
    CHECK(strstr(a.reason, "daily") != NULL);
    CHECK_EQ_I64(a.reservation, 0);
    CHECK_EQ_I64(tkb_ledger_release(shared_ledger, 12345), TKB_OK);
    a.struct_size = 0;
    CHECK_EQ_I64(tkb_ledger_admit(shared_ledger, &e, 0, &a), TKB_INVALID_ARGUMENT);
  }
  tkb_ledger_free(shared_ledger);
  remove_tree(dir);
  free(dir);
}

static void test_ingest(void) {
  char *dir = make_temp_dir();
  tkb_ledger *ledger = NULL;
  tkb_log_result r = TKB_LOG_RESULT_INIT;
  tkb_entry dims = TKB_ENTRY_INIT;
  char *json = NULL;
  char logs[512];
  const char *chat =
      "{\"id\":\"chatcmpl-1\",\"created\":1767225600,\"model\":\"gpt-5\",\"choices\":[{\"message\":"
      "{\"content\":\"SECRET-ANSWER\"}}],\"usage\":{\"prompt_tokens\":2000,\"completion_tokens\":500,"
      "\"prompt_tokens_details\":{\"cached_tokens\":800},\"completion_tokens_details\":{\"reasoning_tokens\":200}}}";
  const char *anthropic =
      "{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5-20250929\",\"usage\":{\"input_tokens\":1200,"
      "\"output_tokens\":300,\"cache_read_input_tokens\":10000,\"cache_creation_input_tokens\":2000,"
      "\"cache_creation\":{\"ephemeral_5m_input_tokens\":500,\"ephemeral_1h_input_tokens\":1500}}}";
  CHECK(tkb_ledger_open(&ledger, dir, NULL) == TKB_OK);
  dims.agent = "planner";
  dims.session = "s-9";
  /* gpt-5: 1200 uncached x $1.25 + 800 cached x $0.125 + 500 out x $10 per MTok */
  CHECK(tkb_ledger_log_response(ledger, TKB_RESPONSE_OPENAI, chat, strlen(chat), &dims, &r) == TKB_OK);
  CHECK_EQ_I64(r.cost_micros, 1500 + 100 + 5000);
  CHECK(r.appended == 1 && r.priced == 1 && strlen(r.id) == 26);
  CHECK(tkb_ledger_log_response(ledger, TKB_RESPONSE_OPENAI, chat, strlen(chat), NULL, &r) == TKB_OK);
  CHECK(r.appended == 0); /* the same response id */
  /* sonnet 4.5: 1200 x $3 + 300 x $15 + 10000 x $0.30 + 500 x $3.75 + 1500 x $6 */
  CHECK(tkb_ledger_log_response(ledger, TKB_RESPONSE_ANTHROPIC, anthropic, strlen(anthropic), NULL, &r) == TKB_OK);
  CHECK_EQ_I64(r.cost_micros, 3600 + 4500 + 3000 + 1875 + 9000);
  CHECK(tkb_ledger_report(ledger, NULL, &json) == TKB_OK);
  tkb_free(json);
  json = NULL;
  CHECK(tkb_ledger_log_response(ledger, TKB_RESPONSE_OPENAI, "{\"model\":\"gpt-5\"}", 17, NULL, &r) ==
        TKB_INVALID_ARGUMENT);
  CHECK(strstr(tkb_last_error(), "usage") != NULL);
  CHECK(tkb_ledger_log_response(ledger, 42, chat, strlen(chat), NULL, &r) == TKB_INVALID_ARGUMENT);
  CHECK(tkb_ledger_log_response(NULL, TKB_RESPONSE_OPENAI, chat, strlen(chat), NULL, &r) == TKB_INVALID_ARGUMENT);

  /* A Claude Code log directory. */
  snprintf(logs, sizeof logs, "%s/projects", dir);
  mkdir(logs, 0700);
  snprintf(logs, sizeof logs, "%s/projects/p", dir);
  mkdir(logs, 0700);
  write_file(logs, "s.jsonl",
             "{\"type\":\"assistant\",\"sessionId\":\"s\",\"timestamp\":\"2026-03-01T10:00:00Z\",\"requestId\":\"r1\","
             "\"message\":{\"id\":\"m1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":100,"
             "\"output_tokens\":10}}}\n");
  snprintf(logs, sizeof logs, "%s/projects", dir);
  CHECK(tkb_ingest(dir, "claude-code", logs, 0, &json) == TKB_OK);
  CHECK(json != NULL && strstr(json, "\"entries\":1,") != NULL);
  CHECK(json != NULL && strstr(json, "\"cost_micros\":450,") != NULL);
  tkb_free(json);
  json = NULL;
  CHECK(tkb_ingest(dir, "claude-code", logs, 0, &json) == TKB_OK);
  CHECK(json != NULL && strstr(json, "\"bytes_read\":0,") != NULL);
  tkb_free(json);
  json = NULL;
  CHECK(tkb_ingest(dir, "anthropic-response", logs, 0, &json) == TKB_INVALID_ARGUMENT);
  CHECK(json == NULL);
  tkb_ledger_free(ledger);
  remove_tree(dir);
  free(dir);
}

static tkb_ledger *route_ledger;

static void *route_worker(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < 50; ++i) {
    tkb_route_request q = TKB_ROUTE_REQUEST_INIT;
    char model[64];
    q.task = "please summarize this thread";
    if (tkb_ledger_route(route_ledger, &q, model, sizeof model, NULL, NULL) != TKB_OK ||
        strcmp(model, "claude-haiku-4-5") != 0) {
      return (void *)1;
    }
  }
  return NULL;
}

static void test_route(void) {
  char *dir = make_temp_dir();
  tkb_ledger *ledger = NULL;
  tkb_route_request q = TKB_ROUTE_REQUEST_INIT;
  tkb_entry e = TKB_ENTRY_INIT;
  tkb_log_result r = TKB_LOG_RESULT_INIT;
  char model[64];
  char tiny[4];
  size_t needed = 0;
  char *json = NULL;
  pthread_t threads[4];
  int i;
  int thread_failures = 0;
  write_file(dir, "config.toml",
             "[budgets]\nmonthly = 1\n\n[router]\n[[router.rules]]\nname = \"quick\"\nkeywords = [\"summarize\"]\n"
             "tier = \"cheap\"\n\n[[router.rules]]\nname = \"security\"\ntask_types = [\"security-review\"]\n"
             "model = \"claude-opus-4-6\"\ndowngrade = false\n");
  CHECK(tkb_ledger_open(&ledger, dir, NULL) == TKB_OK);

  /* No rule matches: the default, the top tier; nothing spent yet. */
  q.task = "refactor the parser";
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, &needed, &json) == TKB_OK);
  CHECK(strcmp(model, "claude-opus-4-6") == 0);
  CHECK_EQ_I64(needed, strlen("claude-opus-4-6") + 1);
  CHECK(json != NULL && strstr(json, "\"chosen_by\":\"default\"") != NULL);
  CHECK(json != NULL && strstr(json, "\"downgraded\":false") != NULL);
  tkb_free(json);
  json = NULL;
  q.task = "please summarize this";
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, NULL, NULL) == TKB_OK);
  CHECK(strcmp(model, "claude-haiku-4-5") == 0);
  /* Too small a buffer: truncated like snprintf, the size needed reported. */
  CHECK(tkb_ledger_route(ledger, &q, tiny, sizeof tiny, &needed, NULL) == TKB_OK);
  CHECK(strcmp(tiny, "cla") == 0);
  CHECK_EQ_I64(needed, strlen("claude-haiku-4-5") + 1);

  /* 60% of the monthly budget spent: the mid tier. */
  e.model = "claude-sonnet-4-5";
  e.has_cost_override = 1;
  e.cost_override_micros = 600000;
  CHECK(tkb_ledger_log(ledger, &e, &r) == TKB_OK);
  q.task = "refactor the parser";
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, NULL, &json) == TKB_OK);
  CHECK(strcmp(model, "claude-sonnet-4-6") == 0);
  CHECK(json != NULL && strstr(json, "\"percent_bp\":6000") != NULL);
  tkb_free(json);
  json = NULL;
  /* 85%: the cheap tier, except for a rule that forbids the downgrade. */
  e.cost_override_micros = 250000;
  CHECK(tkb_ledger_log(ledger, &e, &r) == TKB_OK);
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, NULL, NULL) == TKB_OK);
  CHECK(strcmp(model, "claude-haiku-4-5") == 0);
  q.task = "look at this";
  q.task_type = "security-review";
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, NULL, NULL) == TKB_OK);
  CHECK(strcmp(model, "claude-opus-4-6") == 0);

  /* Several threads share the router. */
  route_ledger = ledger;
  for (i = 0; i < 4; ++i) pthread_create(&threads[i], NULL, route_worker, NULL);
  for (i = 0; i < 4; ++i) {
    void *rc = NULL;
    pthread_join(threads[i], &rc);
    if (rc != NULL) ++thread_failures;
  }
  CHECK_EQ_I64(thread_failures, 0);

  CHECK(tkb_ledger_route(NULL, &q, model, sizeof model, NULL, NULL) == TKB_INVALID_ARGUMENT);
  CHECK(tkb_ledger_route(ledger, NULL, model, sizeof model, NULL, NULL) == TKB_INVALID_ARGUMENT);
  CHECK(tkb_ledger_route(ledger, &q, NULL, 8, NULL, NULL) == TKB_INVALID_ARGUMENT);
  q.struct_size = 4;
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, NULL, NULL) == TKB_INVALID_ARGUMENT);
  tkb_ledger_free(ledger);

  /* A router naming an unknown model: an error naming it, at the first route. */
  write_file(dir, "config.toml", "[router]\ndefault = \"no-such-model-xyz\"\n");
  CHECK(tkb_ledger_open(&ledger, dir, NULL) == TKB_OK);
  q.struct_size = sizeof q;
  CHECK(tkb_ledger_route(ledger, &q, model, sizeof model, NULL, NULL) != TKB_OK);
  CHECK(strstr(tkb_last_error(), "no-such-model-xyz") != NULL);
  tkb_ledger_free(ledger);
  remove_tree(dir);
  free(dir);
}

int main(void) {
  test_version();
  test_pricing();
  test_ledger();
  test_admission_threads();
  test_ingest();
  test_route();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
