/* An agent orchestrator in C on tokenbook's C ABI.
 *
 * Before each (simulated) model call it asks the ledger for admission with a
 * reservation, so that concurrent workers cannot together overrun a blocking
 * budget; after the call it commits the real usage, or releases the
 * reservation when the call failed. A denied call is retried once on a cheaper
 * model; a second denial stops the run.
 *
 * The ledger lives in a fresh temporary directory whose config.toml sets a
 * small blocking session budget, so the run shows every decision: allow,
 * warn, deny. Pass --keep to leave the directory for `tokenbook` to inspect.
 * Exits 0 when the run went as designed (at least one denial, and spend
 * within the budget), 1 otherwise, so CTest can run it. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenbook/tokenbook.h"

#define SESSION "demo-session"
#define BUDGET_MICROS 500000 /* $0.50, written into config.toml below */
#define FALLBACK_MODEL "claude-haiku-4-5"

typedef struct task {
  const char *agent;
  const char *model;
  int64_t estimated_input, estimated_output; /* estimate output generously */
  int64_t real_input, real_output;           /* what the provider reports */
  int fails;                                 /* the call errors out (no usage) */
} task;

static const task kTasks[] = {
    {"planner", "claude-sonnet-4-5", 20000, 4000, 18000, 2500, 0},
    {"coder", "claude-sonnet-4-5", 20000, 4000, 19000, 3000, 0},
    {"coder", "claude-sonnet-4-5", 20000, 4000, 0, 0, 1},
    {"reviewer", "claude-sonnet-4-5", 20000, 4000, 15000, 2000, 0},
    {"coder", "claude-sonnet-4-5", 20000, 4000, 20000, 3500, 0},
    {"tester", "claude-sonnet-4-5", 20000, 4000, 16000, 2200, 0},
    {"writer", "claude-sonnet-4-5", 20000, 4000, 17000, 2400, 0},
    {"writer", "claude-sonnet-4-5", 20000, 4000, 17000, 2400, 0},
    {"reviewer", "claude-sonnet-4-5", 20000, 4000, 15000, 2000, 0},
    {"planner", "claude-sonnet-4-5", 20000, 4000, 18000, 2500, 0},
};

static void print_usd(int64_t micros) {
  long long m = (long long)micros;
  printf("$%s%lld.%06lld", m < 0 ? "-" : "", (m < 0 ? -m : m) / 1000000, (m < 0 ? -m : m) % 1000000);
}

static const char *decision_name(int32_t decision) {
  switch (decision) {
    case TKB_ALLOW: return "allow";
    case TKB_WARN: return "warn";
    case TKB_DENY: return "deny";
    default: return "?";
  }
}

static int fail(const char *what, tkb_status status) {
  fprintf(stderr, "orchestrator: %s: %s: %s\n", what, tkb_status_name(status), tkb_last_error());
  return 1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int write_config(const char *dir) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/config.toml", dir);
  f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  fputs("# Written by examples/c/orchestrator.c\n"
        "[budgets]\n"
        "warning_percent = 60\n"
        "session = { limit = \"0.50\", action = \"block\" }\n",
        f);
  return fclose(f) == 0 ? 0 : 1;
}

/* Asks admission for `t` on `model`, runs the call and settles the
 * reservation. Returns the decision, or -1 on an API error. */
static int32_t run_call(tkb_ledger *ledger, int n, const task *t, const char *model, int64_t *spent) {
  tkb_entry e = TKB_ENTRY_INIT;
  tkb_admission admission = TKB_ADMISSION_INIT;
  tkb_log_result logged = TKB_LOG_RESULT_INIT;
  tkb_status status;

  e.model = model;
  e.session = SESSION;
  e.agent = t->agent;
  e.project = "example";
  e.tokens.input = t->estimated_input;
  e.tokens.output = t->estimated_output;
  status = tkb_ledger_admit(ledger, &e, 1, &admission);
  if (status != TKB_OK) {
    fail("admit", status);
    return -1;
  }

  printf("call %d  %-8s  %-17s  %-5s  estimate ", n, t->agent, model, decision_name(admission.decision));
  print_usd(admission.estimated_cost_micros);
  if (admission.decision == TKB_DENY) {
    printf("  -> not made (%s)\n", admission.reason);
    return TKB_DENY;
  }

  if (t->fails) {
    /* The provider call failed: nothing to log, give the budget back. */
    status = tkb_ledger_release(ledger, admission.reservation);
    if (status != TKB_OK) {
      fail("release", status);
      return -1;
    }
    printf("  -> call failed, reservation released\n");
    return admission.decision;
  }

  /* The call succeeded: log what it really used. */
  e.tokens.input = t->real_input;
  e.tokens.output = t->real_output;
  e.duration_ms = 1200;
  status = tkb_ledger_commit(ledger, admission.reservation, &e, &logged);
  if (status != TKB_OK) {
    fail("commit", status);
    return -1;
  }
  *spent += logged.cost_micros;
  printf("  -> logged ");
  print_usd(logged.cost_micros);
  if (admission.decision == TKB_WARN) printf(" (warning: %s)", admission.reason);
  printf("\n");
  return admission.decision;
}

int main(int argc, char **argv) {
  char dir[] = "/tmp/tokenbook-example-XXXXXX";
  int keep = argc > 1 && strcmp(argv[1], "--keep") == 0;
  tkb_ledger *ledger = NULL;
  tkb_status status;
  int64_t spent = 0;
  int denials = 0;
  int ok = 1;
  size_t i;

  if (tkb_abi_version() != TKB_ABI_VERSION) {
    fprintf(stderr, "orchestrator: library ABI %d, header ABI %d\n", tkb_abi_version(), TKB_ABI_VERSION);
    return 1;
  }
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  if (write_config(dir) != 0) return 1;
  status = tkb_ledger_open(&ledger, dir, NULL);
  if (status != TKB_OK) return fail("open", status);

  printf("tokenbook %s, ledger %s, session budget ", tkb_version_string(), dir);
  print_usd(BUDGET_MICROS);
  printf(" (blocking)\n");

  for (i = 0; i < sizeof kTasks / sizeof kTasks[0]; ++i) {
    const task *t = &kTasks[i];
    int32_t d = run_call(ledger, (int)i + 1, t, t->model, &spent);
    if (d < 0) {
      ok = 0;
      break;
    }
    if (d != TKB_DENY) continue;
    ++denials;
    /* Denied: the same work on a cheaper model, if the budget allows it. */
    d = run_call(ledger, (int)i + 1, t, FALLBACK_MODEL, &spent);
    if (d < 0) {
      ok = 0;
      break;
    }
    if (d == TKB_DENY) {
      ++denials;
      printf("budget exhausted, stopping\n");
      break;
    }
  }

  printf("spent ");
  print_usd(spent);
  printf(" of ");
  print_usd(BUDGET_MICROS);
  printf(" in session %s, %d denial(s)\n", SESSION, denials);

  if (ok) {
    /* The ledger's own report agrees with what the commits returned. */
    tkb_report_query q = TKB_REPORT_QUERY_INIT;
    char *json = NULL;
    char expected[64];
    q.period = "all";
    status = tkb_ledger_report(ledger, &q, &json);
    if (status != TKB_OK) {
      ok = !fail("report", status);
    } else {
      snprintf(expected, sizeof expected, "\"cost_micros\":%lld,", (long long)spent);
      ok = strstr(json, expected) != NULL;
      printf("ledger report %s: %s\n", ok ? "agrees" : "DISAGREES", expected);
    }
    tkb_free(json);
  }
  tkb_ledger_free(ledger);

  if (keep) {
    printf("ledger kept in %s\n", dir);
  } else if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    perror(dir);
  }

  if (ok && (denials == 0 || spent > BUDGET_MICROS)) {
    fprintf(stderr, "orchestrator: expected a denial and spend within the budget\n");
    ok = 0;
  }
  return ok ? 0 : 1;
}
