/*
 * tokenbook.h — the stable C ABI of tokenbook, bookkeeping for AI tokens.
 *
 * tokenbook logs usage entries, prices them exactly in integer micro-dollars
 * (µ$, 1 USD = 1,000,000 µ$), rolls them up into reports, checks budgets, and
 * answers an admission check before a request is made. This header is the
 * whole public contract; it compiles as C99 and as C++.
 *
 * Conventions
 *  - Every function returns a tkb_status: TKB_OK (0) or a code whose value
 *    equals the corresponding absl::StatusCode. On failure a message is
 *    available from tkb_last_error() in the same thread.
 *  - Out-parameters come first after the handle and are named `out`; they are
 *    written only on success.
 *  - Input structs carry `struct_size` first; initialise them with their
 *    _INIT macro so that later versions of the library can append fields and
 *    still read what an older caller passes. A struct_size smaller than the
 *    first version of a struct, or larger than the library knows, is
 *    TKB_INVALID_ARGUMENT.
 *  - Strings are NUL-terminated UTF-8. NULL string fields mean "absent".
 *  - Money is int64_t micro-dollars; token counts are int64_t.
 *  - Documents (reports, budget status, price breakdowns) are JSON text
 *    (schemas in docs/capi-json.md), returned either into a caller buffer —
 *    the function returns the size needed including the terminating NUL, like
 *    snprintf, and writes at most `cap` bytes — or as a string the library
 *    allocates, freed with tkb_free(). Never free library memory with free().
 *  - Every _free function accepts NULL.
 *  - No function throws or aborts on bad input: every entry point catches
 *    every exception and turns it into a status.
 *
 * Thread safety
 *  - A tkb_rates is immutable once built and may be shared by threads.
 *  - A tkb_ledger may be shared by threads: every function taking one is safe
 *    to call concurrently. Processes may share a ledger directory: appends
 *    are atomic lines under a file lock.
 *  - tkb_last_error() is per thread.
 */
#ifndef TOKENBOOK_TOKENBOOK_H_
#define TOKENBOOK_TOKENBOOK_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Export and version                                                       */

#if defined(_WIN32)
#  if defined(TOKENBOOK_BUILDING_LIBRARY)
#    define TKB_API __declspec(dllexport)
#  else
#    define TKB_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define TKB_API __attribute__((visibility("default")))
#else
#  define TKB_API
#endif

#define TKB_VERSION_MAJOR 0
#define TKB_VERSION_MINOR 1
#define TKB_VERSION_PATCH 0
#define TKB_VERSION_NUMBER (TKB_VERSION_MAJOR * 10000 + TKB_VERSION_MINOR * 100 + TKB_VERSION_PATCH)
#define TKB_VERSION_STRING "0.1.0"
/* Bumped on any incompatible change of this header; the SONAME carries it. */
#define TKB_ABI_VERSION 1

/* The library's version as TKB_VERSION_NUMBER computes it, and its ABI
 * version. Compare them with the macros to detect a header/library mismatch. */
TKB_API int tkb_version_number(void);
TKB_API const char *tkb_version_string(void);
TKB_API int tkb_abi_version(void);

/* ------------------------------------------------------------------------ */
/* Status                                                                   */

typedef int32_t tkb_status;
#define TKB_OK 0
#define TKB_CANCELLED 1
#define TKB_UNKNOWN 2
#define TKB_INVALID_ARGUMENT 3
#define TKB_DEADLINE_EXCEEDED 4
#define TKB_NOT_FOUND 5          /* e.g. unknown model in strict mode */
#define TKB_ALREADY_EXISTS 6
#define TKB_PERMISSION_DENIED 7
#define TKB_RESOURCE_EXHAUSTED 8 /* e.g. out of memory (a denied admission is TKB_OK with TKB_DENY) */
#define TKB_FAILED_PRECONDITION 9
#define TKB_ABORTED 10
#define TKB_OUT_OF_RANGE 11      /* e.g. a cost that would overflow int64 µ$ */
#define TKB_UNIMPLEMENTED 12
#define TKB_INTERNAL 13
#define TKB_UNAVAILABLE 14
#define TKB_DATA_LOSS 15
#define TKB_UNAUTHENTICATED 16

/* The message of the last failed call in this thread ("" when none). Never
 * NULL; valid until the next tokenbook call in this thread. */
TKB_API const char *tkb_last_error(void);

/* The name of a status code ("INVALID_ARGUMENT"); never NULL. */
TKB_API const char *tkb_status_name(tkb_status status);

/* Frees memory the library allocated (strings returned through char **).
 * NULL is a no-op. */
TKB_API void tkb_free(void *p);

/* ------------------------------------------------------------------------ */
/* Rate tables                                                              */

typedef struct tkb_rates tkb_rates;

/* The built-in table (list prices embedded at build time). */
TKB_API tkb_status tkb_rates_builtin(tkb_rates **out);

/* Loads a rate table file: `.json` as LiteLLM's price database, anything
 * else as a TOML rate table (docs/rates-format.md). Errors name file, line
 * and column. */
TKB_API tkb_status tkb_rates_load(tkb_rates **out, const char *path);

/* Parses a TOML rate table (format "toml") or LiteLLM JSON ("litellm") from
 * memory. `source_name` is used in messages; NULL means "<memory>". */
TKB_API tkb_status tkb_rates_parse(tkb_rates **out, const char *text, size_t len, const char *format,
                                   const char *source_name);

/* A new table: `base` with `top` layered over it (top's models win by id).
 * Neither input is changed. */
TKB_API tkb_status tkb_rates_layer(tkb_rates **out, const tkb_rates *base, const tkb_rates *top);

/* Number of models in the table. */
TKB_API tkb_status tkb_rates_count(const tkb_rates *rates, size_t *out);

/* Resolves any spelling of a model name to its id, written into `buf` like
 * snprintf (returns the size needed through *needed, which may be NULL).
 * TKB_NOT_FOUND when the name is unknown; the message names the closest ids. */
TKB_API tkb_status tkb_rates_resolve(const tkb_rates *rates, const char *model, char *buf, size_t cap,
                                     size_t *needed);

TKB_API void tkb_rates_free(tkb_rates *rates);

/* ------------------------------------------------------------------------ */
/* Pricing                                                                  */

typedef struct tkb_tokens {
  int64_t input;          /* uncached input */
  int64_t output;         /* all output, reasoning included */
  int64_t cache_read;
  int64_t cache_write_5m;
  int64_t cache_write_1h;
  int64_t reasoning;      /* part of output */
} tkb_tokens;

typedef struct tkb_price_request {
  uint32_t struct_size;   /* = sizeof(tkb_price_request), set by TKB_PRICE_REQUEST_INIT */
  const char *model;
  tkb_tokens tokens;
  int64_t requests;       /* 0 means 1 */
  const char *service_tier;  /* NULL or "standard" for list prices; "batch", "flex", "priority", "fast" */
  int64_t at_unix_ms;     /* 0: current prices; else the prices in force at that instant */
} tkb_price_request;
#define TKB_PRICE_REQUEST_INIT {sizeof(tkb_price_request), NULL, {0, 0, 0, 0, 0, 0}, 0, NULL, 0}

/* The exact cost of one request, in µ$. TKB_NOT_FOUND for an unknown model. */
TKB_API tkb_status tkb_price(const tkb_rates *rates, const tkb_price_request *request, int64_t *cost_micros_out);

/* The cost with its breakdown, as a JSON document (the shape of
 * `tokenbook price --json`), allocated; free with tkb_free. */
TKB_API tkb_status tkb_price_explain(const tkb_rates *rates, const tkb_price_request *request, char **json_out);

/* ------------------------------------------------------------------------ */
/* Ledgers                                                                  */

typedef struct tkb_ledger tkb_ledger;

#define TKB_DURABILITY_FLUSH 0  /* write() per entry: survives a process crash */
#define TKB_DURABILITY_FSYNC 1  /* write() + fsync() per entry: survives a power cut */

typedef struct tkb_open_options {
  uint32_t struct_size;      /* set by TKB_OPEN_OPTIONS_INIT */
  int32_t create;            /* nonzero: create the directory when missing (default 1) */
  int32_t durability;        /* TKB_DURABILITY_*; default from config.toml, else FLUSH */
  const tkb_rates *rates;    /* NULL: built-in table plus config.toml's rate files; else this
                                table, which must outlive the ledger */
  int32_t strict_models;     /* nonzero: logging an unknown model fails instead of recording it unpriced */
} tkb_open_options;
#define TKB_OPEN_OPTIONS_INIT {sizeof(tkb_open_options), 1, -1, NULL, 0}

/* Opens the ledger in `dir` (a `.tokenbook` directory, or a database URL
 * such as "sqlite:///abs/path/ledger.db": see docs/backends.md; config.toml
 * and budget state are then in the database file's directory; a
 * "postgresql://" URL fails with TKB_UNIMPLEMENTED). NULL `dir` finds it
 * like git finds .git: $TOKENBOOK_DIR, then the nearest .tokenbook/ upward
 * from the working directory, then the per-user default. `options` may be
 * NULL for the defaults. A directory owned by another user than the
 * effective one is opened read-only, and appends to it fail with
 * TKB_PERMISSION_DENIED, unless TOKENBOOK_ALLOW_OTHER_OWNER=1 is set. */
TKB_API tkb_status tkb_ledger_open(tkb_ledger **out, const char *dir, const tkb_open_options *options);

/* Closes the ledger; NULL is a no-op. */
TKB_API void tkb_ledger_free(tkb_ledger *ledger);

/* One usage entry. NULL strings are absent dimensions. */
typedef struct tkb_entry {
  uint32_t struct_size;      /* set by TKB_ENTRY_INIT */
  const char *model;         /* required */
  tkb_tokens tokens;
  int64_t requests;          /* 0 means 1 */
  int64_t timestamp_unix_ms; /* 0: now */
  int64_t cost_override_micros; /* used only when has_cost_override is nonzero */
  int32_t has_cost_override;
  const char *session;
  const char *agent;
  const char *category;
  const char *action_type;   /* "skill" | "agent" | "manual" | "scheduled" */
  const char *action;
  const char *feature;
  const char *project;
  const char *tool;
  const char *task_type;
  const char *service_tier;
  int64_t duration_ms;       /* negative: absent */
  const char *tags;          /* "key=value" pairs separated by '\n', or NULL */
  const char *notes;
  const char *source_kind;   /* for ingested entries: "claude-code", ... */
  const char *source_key;    /* unique in the ledger: logging it again is a no-op */
} tkb_entry;
#define TKB_ENTRY_INIT                                                                        \
  {sizeof(tkb_entry), NULL, {0, 0, 0, 0, 0, 0}, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, \
   NULL, NULL, NULL, NULL, -1, NULL, NULL, NULL, NULL}

/* What a log call did. */
typedef struct tkb_log_result {
  uint32_t struct_size;   /* set by TKB_LOG_RESULT_INIT */
  int64_t cost_micros;    /* the entry's cost (0 when unpriced) */
  int32_t appended;       /* 0: an entry with the same source_key already exists */
  int32_t priced;         /* 0: the model is unknown; the entry is recorded unpriced */
  char id[32];            /* the entry's id (a ULID), NUL-terminated */
} tkb_log_result;
#define TKB_LOG_RESULT_INIT {sizeof(tkb_log_result), 0, 0, 0, {0}}

/* Prices and appends one entry. `result` may be NULL. */
TKB_API tkb_status tkb_ledger_log(tkb_ledger *ledger, const tkb_entry *entry, tkb_log_result *result);

/* The exact cost of one request priced with the ledger's own rate table (the
 * built-in table, config.toml's rate files, or the table given at open), in
 * µ$. TKB_NOT_FOUND for an unknown model. */
TKB_API tkb_status tkb_ledger_price(tkb_ledger *ledger, const tkb_price_request *request, int64_t *cost_micros_out);

/* Appends `count` entries with one write under one lock. `results` may be
 * NULL, else it has `count` elements (each initialised with
 * TKB_LOG_RESULT_INIT). All or nothing: on failure nothing is appended. */
TKB_API tkb_status tkb_ledger_log_batch(tkb_ledger *ledger, const tkb_entry *entries, size_t count,
                                        tkb_log_result *results);

/* ------------------------------------------------------------------------ */
/* Reports and budgets                                                      */

typedef struct tkb_report_query {
  uint32_t struct_size;   /* set by TKB_REPORT_QUERY_INIT */
  const char *period;     /* "today", "yesterday", "week", "month", "year", "last-7d", "YYYY",
                             "YYYY-MM", "YYYY-MM-DD", "all"; NULL = "month" */
  const char *since;      /* YYYY-MM-DD or RFC 3339, overrides period; NULL = unbounded */
  const char *until;
  const char *group_by;   /* comma-separated: model, provider, agent, ..., tag:KEY, day, week, month */
  const char *filters;    /* "key=value" pairs separated by '\n' (same key twice = OR) */
  int32_t top;            /* 0: every group */
  const char *time_zone;  /* IANA name; NULL = the ledger's config, else UTC */
} tkb_report_query;
#define TKB_REPORT_QUERY_INIT {sizeof(tkb_report_query), NULL, NULL, NULL, NULL, NULL, 0, NULL}

/* The report as JSON (docs/capi-json.md: totals, groups, period, issues)
 * into `buf` (at most `cap` bytes); *needed receives the size needed
 * including the NUL. Call with cap 0 to learn the size. */
TKB_API tkb_status tkb_ledger_report_json(tkb_ledger *ledger, const tkb_report_query *query, char *buf,
                                          size_t cap, size_t *needed);

/* The same, allocated; free with tkb_free. */
TKB_API tkb_status tkb_ledger_report(tkb_ledger *ledger, const tkb_report_query *query, char **json_out);

/* Every budget's status (spent, limit, percent, level, projection,
 * recommendation) as JSON, allocated; free with tkb_free. */
TKB_API tkb_status tkb_ledger_budget(tkb_ledger *ledger, char **json_out);

/* ------------------------------------------------------------------------ */
/* Admission: may this request go ahead?                                    */

#define TKB_ALLOW 0  /* within every budget */
#define TKB_WARN 1   /* allowed, but a budget is at warning or critical level (or exceeded with action "warn") */
#define TKB_DENY 2   /* a budget with action "pause" or "block" would be exceeded */

typedef struct tkb_admission {
  uint32_t struct_size;          /* set by TKB_ADMISSION_INIT */
  int32_t decision;              /* TKB_ALLOW, TKB_WARN or TKB_DENY */
  int64_t estimated_cost_micros;
  uint64_t reservation;          /* nonzero when a reservation was taken */
  char reason[256];              /* the budget that decided, NUL-terminated ("" when allowed) */
} tkb_admission;
#define TKB_ADMISSION_INIT {sizeof(tkb_admission), 0, 0, 0, {0}}

/* Decides whether a request may go ahead, from the running totals of every
 * budget that applies to it. `estimate` describes the request as it would be
 * logged: its model and expected tokens (estimate the output generously), or
 * a cost given through has_cost_override, and the dimensions scoped budgets
 * look at (session, project, feature, agent). With `reserve` nonzero and a
 * decision other than TKB_DENY, the estimated cost is reserved atomically:
 * concurrent callers, in this process and in others sharing the ledger
 * directory, cannot together exceed a blocking budget. A reservation ends
 * with tkb_ledger_commit (the real usage is logged) or tkb_ledger_release;
 * an abandoned one expires after config.toml's reservation TTL. */
TKB_API tkb_status tkb_ledger_admit(tkb_ledger *ledger, const tkb_entry *estimate, int32_t reserve,
                                    tkb_admission *out);

/* Logs `entry` and ends the reservation. */
TKB_API tkb_status tkb_ledger_commit(tkb_ledger *ledger, uint64_t reservation, const tkb_entry *entry,
                                     tkb_log_result *result);

/* Drops a reservation without logging. Unknown or expired ids are a no-op. */
TKB_API tkb_status tkb_ledger_release(tkb_ledger *ledger, uint64_t reservation);

/* ------------------------------------------------------------------------ */
/* Ingestion: what agents and API clients already record                     */

#define TKB_RESPONSE_ANTHROPIC 1    /* a Messages API response body */
#define TKB_RESPONSE_OPENAI 2       /* a Chat Completions or Responses API response body */
#define TKB_RESPONSE_CLAUDE_JSON 3  /* the result object of `claude -p --output-format json` */

/* Logs the usage that one raw response body reports, the in-process path for
 * orchestrators: hand over the body as received (`len` bytes of `json`, no
 * NUL needed). The model comes from its "model", the tokens from its "usage"
 * object: Anthropic's input, output, cache reads and 5-minute / 1-hour cache
 * writes; OpenAI's prompt (or input) tokens minus the cached ones as input,
 * the cached ones at the cache-read rate
 * (prompt_tokens_details.cached_tokens, input_tokens_details.cached_tokens),
 * reasoning (completion_tokens_details.reasoning_tokens,
 * output_tokens_details.reasoning_tokens) counted within output. The source
 * key is derived from the response's "id" ("anthropic:msg_...",
 * "openai:chatcmpl-..."), so logging the same response twice adds nothing.
 * Nothing of the content is stored.
 *
 * `dims` may be NULL. Otherwise it is a tkb_entry whose model, tokens,
 * requests and cost override are ignored; its dimensions (session, agent,
 * ..., tags, notes) are recorded, a non-NULL source_key replaces the derived
 * one, and a nonzero timestamp_unix_ms replaces the response's own time
 * (OpenAI's "created"; else now).
 *
 * A claude-json result names one or more models under "modelUsage": one
 * entry is logged per model, and `result` (may be NULL) then holds the id of
 * the first, cost_micros their total, appended nonzero if any was appended
 * and priced zero if any is unpriced. TKB_INVALID_ARGUMENT names the field of
 * the body that is wrong. */
TKB_API tkb_status tkb_ledger_log_response(tkb_ledger *ledger, int32_t kind, const char *json, size_t len,
                                           const tkb_entry *dims, tkb_log_result *result);

/* Reads an agent's own logs into the ledger in `ledger_dir` (NULL: found like
 * tkb_ledger_open finds it): `source` is "claude-code" or "codex"; `path` a
 * log file or directory, NULL for the source's usual place. Incremental and
 * idempotent, like `tokenbook ingest` (docs/cli.md); with `dry_run` nonzero
 * nothing is written. The summary (the document `tokenbook ingest --json`
 * prints: counts, cost, tokens, unusable lines as file:line and why) is
 * returned allocated; free it with tkb_free. A tkb_ledger open on the same
 * directory sees the new entries. */
TKB_API tkb_status tkb_ingest(const char *ledger_dir, const char *source, const char *path, int32_t dry_run,
                              char **json_out);

/* ---- The model router ------------------------------------------------- */

typedef struct tkb_route_request {
  uint32_t struct_size;   /* set by TKB_ROUTE_REQUEST_INIT */
  const char *task;       /* the task description (NULL: none) */
  const char *task_type;  /* NULL: none */
  /* The request's dimensions: the budgets that apply to it (NULL: none). */
  const char *session;
  const char *project;
  const char *feature;
  const char *agent;
} tkb_route_request;
#define TKB_ROUTE_REQUEST_INIT {sizeof(tkb_route_request), NULL, NULL, NULL, NULL, NULL, NULL}

/* Which model should this task use, asked before the call: config.toml's
 * [router] rules choose a model (the first rule whose task types, keywords or
 * pattern match; else the default), then the budget-aware downgrade applies
 * (of the budgets that apply to the request, the most used — spent plus
 * reserved — at or above mid_above_percent asks for the mid tier, at or above
 * cheap_above_percent for the cheap tier; a tier replaces the chosen model
 * only when it is cheaper). docs/config.md describes the rules.
 *
 * The model id is written into `model_buf` like snprintf (the size needed
 * through *needed, which may be NULL). When `json_out` is not NULL the whole
 * decision (the document `tokenbook route --json` prints: model, tier, chosen
 * model, rule, what matched, budget and its use in basis points, whether it
 * was downgraded) is returned allocated; free it with tkb_free. The router is
 * built once per tkb_ledger and then shared by every thread. */
TKB_API tkb_status tkb_ledger_route(tkb_ledger *ledger, const tkb_route_request *request, char *model_buf,
                                    size_t cap, size_t *needed, char **json_out);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TOKENBOOK_TOKENBOOK_H_ */
