// Helpers shared by the tests of the database ledgers (SQLite in
// tests/ledger_sqlite_test.cpp, PostgreSQL in tests/pg/): sample entries,
// scanning a ledger to its lines, and fork()ed children.
#ifndef TOKENBOOK_TESTS_LEDGER_TEST_SUPPORT_H_
#define TOKENBOOK_TESTS_LEDGER_TEST_SUPPORT_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/budgets.h"
#include "tokenbook/config.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger.h"
#include "tokenbook/report_json.h"
#include "tokenbook/rollup.h"

namespace tokenbook {
namespace test_support {

inline Entry MakeEntry(int i, std::string source_key = "") {
  Entry e;
  e.timestamp = absl::FromUnixMillis(1'795'000'000'000 + int64_t{i} * 3'600'000);
  e.model = i % 3 == 0 ? "claude-sonnet-4-5" : i % 3 == 1 ? "gpt-5" : "gemini-2.5-pro";
  e.provider = i % 3 == 0 ? "anthropic" : i % 3 == 1 ? "openai" : "google";
  e.tokens[TokenKind::kInput] = Tokens(1000 + i);
  e.tokens[TokenKind::kOutput] = Tokens(200);
  e.cost = Micros(3000 + i);
  e.cost_source = CostSource::kComputed;
  e.rates_as_of = "2026-11-01";
  e.session = absl::StrCat("s", i % 4);
  e.agent = i % 2 == 0 ? "reviewer" : "";
  e.feature = "ledger";
  if (!source_key.empty()) {
    e.source_kind = "test";
    e.source_key = std::move(source_key);
  }
  return e;
}

// An entry with every field set, strings that need escaping included.
inline Entry FullEntry() {
  Entry e;
  e.id = "01KAQ3ZJ3E6X9V4W2Y8T5R7N1M";
  e.timestamp = absl::FromUnixMillis(1'795'000'123'456);
  e.model = "claude-opus-4-1";
  e.provider = "anthropic";
  e.tokens[TokenKind::kInput] = Tokens(12'000);
  e.tokens[TokenKind::kOutput] = Tokens(4'500);
  e.tokens[TokenKind::kCacheRead] = Tokens(90'000);
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(1'000);
  e.tokens[TokenKind::kCacheWrite1h] = Tokens(2'000);
  e.tokens[TokenKind::kReasoning] = Tokens(700);
  e.requests = 3;
  e.cost = Micros(987'654'321);
  e.cost_source = CostSource::kOverride;
  e.rates_as_of = "2026-11-01";
  e.session = "sess \"quoted\"";
  e.agent = "agent\\back";
  e.category = "coding";
  e.action_type = "skill";
  e.action = "review-pr";
  e.feature = "billing ünïcode ✓";
  e.project = "tokenbook";
  e.tool = "Edit";
  e.task_type = "refactor";
  e.service_tier = "priority";
  e.duration_ms = 12'345;
  e.tags = {{"env", "prod"}, {"team", "a\nb"}};
  e.notes = "line one\nline two\t\x01";
  e.source_kind = "claude-code";
  e.source_key = "claude-code:abc:123";
  return e;
}

inline std::unique_ptr<Ledger> OpenOrDie(const std::string& where, const LedgerOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(where, options);
  REQUIRE_MESSAGE(l.ok(), l.status());
  return std::move(*l);
}

inline std::vector<std::string> ScanLines(const Ledger& ledger, std::vector<LedgerIssue>* issues = nullptr) {
  std::vector<std::string> out;
  absl::Status s = ledger.Scan(
      [&](const Entry& e) {
        absl::StatusOr<std::string> line = EntryToJson(e);
        REQUIRE(line.ok());
        out.push_back(*line);
      },
      issues);
  REQUIRE_MESSAGE(s.ok(), s);
  return out;
}

inline int WaitChildren(const std::vector<pid_t>& pids, std::vector<int>* codes = nullptr) {
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status)) {
      ++failed;
      continue;
    }
    if (codes != nullptr) codes->push_back(WEXITSTATUS(status));
    if (codes == nullptr && WEXITSTATUS(status) != 0) ++failed;
  }
  return failed;
}

inline std::vector<pid_t> StartChildren(int n, const std::function<int(int)>& body) {
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(body(i));
    REQUIRE(pid > 0);
    pids.push_back(pid);
  }
  return pids;
}

inline std::string ReportOf(const Ledger& ledger, const RollupQuery& q, bool totals, bool* summed = nullptr) {
  absl::StatusOr<Rollup> rollup = Rollup::Create(q);
  REQUIRE_MESSAGE(rollup.ok(), rollup.status());
  if (totals) {
    absl::StatusOr<bool> used = ledger.AddTotalsTo(&*rollup);
    REQUIRE_MESSAGE(used.ok(), used.status());
    if (summed != nullptr) *summed = *used;
    if (!*used) return "";
  } else {
    REQUIRE(ledger.Scan([&](const Entry& e) { rollup->Add(e); }).ok());
  }
  absl::StatusOr<RollupReport> report = rollup->Finish();
  REQUIRE_MESSAGE(report.ok(), report.status());
  return RollupReportJson(*report);
}


// Reserves then commits `attempts` times against the budgets of the
// directory, whose config.toml names a database ledger of `kind`; every fifth
// reservation is released instead. Returns how many were committed, -1 on
// an error.
inline int ReserveAndCommit(const std::string& dir, absl::string_view kind, int attempts, int64_t cost, int tag) {
  absl::StatusOr<Config> config = LoadConfig(dir);
  if (!config.ok()) return -1;
  LedgerOptions options;
  options.backend = config->backend;
  absl::StatusOr<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir, options);
  if (!ledger.ok() || (*ledger)->kind() != kind) return -1;
  absl::StatusOr<std::unique_ptr<BudgetService>> service = BudgetService::Open(ledger->get(), std::move(*config));
  if (!service.ok()) return -1;
  const absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 4, 10, 12, 0, 0), absl::UTCTimeZone());
  int committed = 0;
  for (int i = 0; i < attempts; ++i) {
    absl::StatusOr<SharedReservation> r =
        (*service)->Reserve(SharedAdmissionRequest{Micros(cost), absl::StrCat("p", tag), "", "", "", now});
    if (!r.ok()) return -1;
    if (!r->ok()) continue;
    if (i % 5 == 4) {
      if (!(*service)->Release(r->id, now).ok()) return -1;
      continue;
    }
    Entry e;
    e.model = "test-model";
    e.provider = "test";
    e.cost = Micros(cost);
    e.cost_source = CostSource::kOverride;
    e.timestamp = now;
    e.session = absl::StrCat("p", tag);
    absl::StatusOr<CommitResult> c = (*service)->Commit(r->id, e, now);
    if (!c.ok() || !c->reservation_found || !c->append.appended) return -1;
    ++committed;
  }
  return committed;
}
}  // namespace test_support
}  // namespace tokenbook

#endif  // TOKENBOOK_TESTS_LEDGER_TEST_SUPPORT_H_
