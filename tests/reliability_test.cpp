// The ledger's promises under load and under a full disk, in one process:
// threads logging, batching, reserving against a blocking budget and
// ingesting the same logs at once (the test ThreadSanitizer runs in CI), and
// appends cut short by a file-size limit. The many-process and SIGKILL
// versions are tests/stress/ledger_stress.cpp; docs/reliability.md says which
// test proves what.
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tokenbook/book.h"
#include "tokenbook/budgets.h"
#include "tokenbook/ingest.h"
#include "tokenbook/ledger.h"

namespace tokenbook {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tokenbook-reliability-test-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    path_ = d;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What the crafted Claude Code logs add to an empty ledger
// (tests/data/ingest/README.md).
constexpr int64_t kFixtureEntries = 8;
constexpr int64_t kFixtureMicros = 25518;
constexpr int64_t kGuardedCost = 1000;  // µ$ per guarded request
constexpr int64_t kGuardedLimit = 60;   // requests the blocking budget holds

Entry PlainEntry(int t, int n, int k = 0) {
  Entry e;
  e.model = "claude-sonnet-4-5";
  e.tokens[TokenKind::kInput] = Tokens(1000 + 37 * n + k);
  e.tokens[TokenKind::kOutput] = Tokens(200 + t);
  e.session = absl::StrCat("t", t);
  e.project = "plain";
  e.tags = {{"seq", absl::StrCat(n, ".", k)}, {"thread", absl::StrCat(t)}};
  return e;
}

TEST_CASE("Reliability: threads logging, reserving and ingesting concurrently lose nothing") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/ledger";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.toml") << "[budgets]\naction = \"warn\"\n\n[[budgets.scoped]]\nproject = \"guarded\"\n"
                                         "period = \"monthly\"\nlimit = \"0.06\"\naction = \"block\"\n";
  const std::string logs = std::string(TOKENBOOK_TEST_DATA_DIR) + "/ingest/claude";
  // Two books on one directory: threads of one handle serialise on its
  // mutex, the two handles on the file locks.
  absl::StatusOr<std::unique_ptr<Book>> a = Book::Open(dir);
  absl::StatusOr<std::unique_ptr<Book>> b = Book::Open(dir);
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  REQUIRE_MESSAGE(b.ok(), b.status().ToString());
  Book* books[2] = {a->get(), b->get()};

  constexpr int kThreads = 6;
  constexpr int kRounds = 40;
  struct Done {
    std::map<std::string, int64_t> acked;  // id -> cost
    int64_t ingested = 0;
    int64_t ingested_micros = 0;
    int64_t denied = 0;
    std::vector<std::string> errors;
  };
  std::vector<Done> done(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Book& book = *books[t % 2];
      Done& d = done[static_cast<size_t>(t)];
      auto fail = [&](const absl::Status& s) { d.errors.push_back(std::string(s.ToString())); };
      for (int n = 0; n < kRounds; ++n) {
        const absl::Time now = absl::Now();
        if (t < 2 && n % 10 == 0) {  // two threads ingest the same logs, again and again
          IngestOptions o;
          o.paths = {logs};
          o.threads = 1;
          absl::StatusOr<IngestResult> r = Ingest(book, IngestSource::kClaudeCode, o);
          if (!r.ok()) {
            fail(r.status());
            continue;
          }
          d.ingested += r->entries;
          d.ingested_micros += r->cost.value();
          continue;
        }
        switch (n % 4) {
          case 0: {
            absl::StatusOr<LogOutcome> r = book.Log(PlainEntry(t, n), now);
            if (!r.ok()) {
              fail(r.status());
            } else {
              d.acked[r->append.id] = r->entry.cost.value();
            }
            break;
          }
          case 1: {
            std::vector<Entry> batch;
            for (int k = 0; k < 3; ++k) batch.push_back(PlainEntry(t, n, k));
            absl::StatusOr<std::vector<LogOutcome>> r = book.LogBatch(std::move(batch), now);
            if (!r.ok()) {
              fail(r.status());
            } else {
              for (const LogOutcome& o : *r) d.acked[o.append.id] = o.entry.cost.value();
            }
            break;
          }
          default: {
            absl::StatusOr<SharedReservation> r = book.budgets().Reserve(
                SharedAdmissionRequest{Micros(kGuardedCost), absl::StrCat("t", t), "guarded", "", "", now});
            if (!r.ok()) {
              fail(r.status());
              break;
            }
            if (!r->ok()) {
              ++d.denied;
              break;
            }
            Entry e;
            e.model = "claude-sonnet-4-5";
            e.cost = Micros(kGuardedCost);
            e.cost_source = CostSource::kOverride;
            e.project = "guarded";
            e.session = absl::StrCat("t", t);
            absl::StatusOr<CommitResult> c = book.budgets().Commit(r->id, std::move(e), now);
            if (!c.ok()) {
              fail(c.status());
            } else {
              d.acked[c->append.id] = kGuardedCost;
            }
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  std::map<std::string, int64_t> acked;
  int64_t ingested_reported = 0;
  int64_t ingested_reported_micros = 0;
  int64_t denied = 0;
  for (const Done& d : done) {
    for (const std::string& e : d.errors) FAIL_CHECK("a call failed: ", e);
    for (const auto& [id, cost] : d.acked) CHECK_MESSAGE(acked.emplace(id, cost).second, "id acknowledged twice: ", id);
    ingested_reported += d.ingested;
    ingested_reported_micros += d.ingested_micros;
    denied += d.denied;
  }

  // Every line whole; every acknowledged id once, at its cost; the
  // ingested entries once each, whichever thread added them.
  const std::string text = ReadAll(dir + "/ledger.jsonl");
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  absl::StatusOr<std::unique_ptr<Ledger>> reader = Ledger::Open(dir);
  REQUIRE(reader.ok());
  std::map<std::string, int> seen;
  std::set<std::string> keys;
  int64_t total = 0, guarded = 0, ingested = 0, ingested_micros = 0;
  std::vector<LedgerIssue> issues;
  REQUIRE((*reader)
              ->Scan(
                  [&](const Entry& e) {
                    ++seen[e.id];
                    total += e.cost.value();
                    if (e.project == "guarded") guarded += e.cost.value();
                    if (e.source_kind == "claude-code") {
                      ++ingested;
                      ingested_micros += e.cost.value();
                      CHECK_MESSAGE(keys.insert(e.source_key).second, "source key twice: ", e.source_key);
                    } else {
                      auto it = acked.find(e.id);
                      CHECK_MESSAGE(it != acked.end(), "an entry nobody was told of: ", e.id);
                      if (it != acked.end()) CHECK(it->second == e.cost.value());
                    }
                  },
                  &issues)
              .ok());
  CHECK(issues.empty());
  int64_t acked_total = 0;
  for (const auto& [id, cost] : acked) {
    CHECK_MESSAGE(seen[id] == 1, "acknowledged id not in the ledger exactly once: ", id);
    acked_total += cost;
  }
  CHECK(static_cast<int64_t>(std::count(text.begin(), text.end(), '\n')) ==
        static_cast<int64_t>(acked.size()) + kFixtureEntries);
  CHECK(ingested == kFixtureEntries);
  CHECK(ingested_micros == kFixtureMicros);
  CHECK(ingested_reported == kFixtureEntries);  // the runs together added each entry once
  CHECK(ingested_reported_micros == kFixtureMicros);
  CHECK(total == acked_total + kFixtureMicros);
  CHECK(guarded <= kGuardedLimit * kGuardedCost);  // never overshot
  CHECK(guarded == kGuardedLimit * kGuardedCost);  // 4 threads x 20 attempts want more than it holds
  CHECK(denied > 0);
}

// Runs `fn` in a child process whose files may not grow past `limit` bytes
// (SIGXFSZ ignored, so write() fails with EFBIG as on a full disk); returns
// what it printed.
template <typename Fn>
std::string UnderFileSizeLimit(rlim_t limit, Fn fn) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(2);
    const std::string out = fn();
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
      const ssize_t w = ::write(fds[1], p, left);
      if (w <= 0) ::_exit(3);
      p += w;
      left -= static_cast<size_t>(w);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(r));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}

TEST_CASE("Reliability: an append cut short by a full disk leaves nothing, and the next append is whole") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/ledger";
  {
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir);
    REQUIRE(l.ok());
    Entry e = PlainEntry(0, 0);
    REQUIRE((*l)->Append(e).ok());
  }
  const std::string path = dir + "/ledger.jsonl";
  const auto before = static_cast<rlim_t>(std::filesystem::file_size(path));
  const rlim_t limit = before + 5000;
  // The child appends entries of ~1.5 KB one by one until the limit stops
  // it, then tries a batch; it prints "ok <id>" per acknowledged entry and
  // "error <message>" per failure.
  const std::string out = UnderFileSizeLimit(limit, [&] {
    std::string report;
    absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir);
    if (!l.ok()) return std::string("error open ") + std::string(l.status().message()) + "\n";
    for (int n = 1; n < 20; ++n) {
      Entry e = PlainEntry(0, n);
      e.notes = std::string(1500, 'n');
      absl::StatusOr<AppendResult> r = (*l)->Append(std::move(e));
      if (r.ok()) {
        absl::StrAppend(&report, "ok ", r->id, "\n");
      } else {
        absl::StrAppend(&report, "error ", r.status().message(), "\n");
        break;
      }
    }
    std::vector<Entry> batch;
    for (int k = 0; k < 4; ++k) {  // 6 KB: more than the whole allowance
      batch.push_back(PlainEntry(1, k));
      batch.back().notes = std::string(1500, 'b');
    }
    absl::StatusOr<std::vector<AppendResult>> r = (*l)->AppendBatch(std::move(batch));
    absl::StrAppend(&report, r.ok() ? "ok batch" : absl::StrCat("error ", r.status().message()), "\n");
    return report;
  });
  std::vector<std::string> ids;
  std::vector<std::string> errors;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (absl::StartsWith(line, "ok ")) ids.push_back(line.substr(3));
    if (absl::StartsWith(line, "error ")) errors.push_back(line.substr(6));
  }
  REQUIRE(errors.size() == 2);
  for (const std::string& e : errors) {
    INFO(e);
    CHECK(absl::StrContains(e, "cannot write"));
    CHECK(absl::StrContains(e, "File too large"));
    CHECK(absl::StrContains(e, "nothing was appended"));
  }
  CHECK(!ids.empty());  // a few ~1.8 KB entries fit in 5000 bytes, then one does not

  // The file holds the first entry and the acknowledged ones, whole; no
  // partial line and no line of the failed batch.
  std::string text = ReadAll(path);
  CHECK(text.size() <= limit);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  CHECK(std::count(text.begin(), text.end(), '\n') == 1 + static_cast<int64_t>(ids.size()));
  for (const std::string& id : ids) CHECK(absl::StrContains(text, id));

  // With room again, the next append goes on a line of its own and the
  // ledger reads back without an issue.
  absl::StatusOr<std::unique_ptr<Ledger>> l = Ledger::Open(dir);
  REQUIRE(l.ok());
  REQUIRE((*l)->Append(PlainEntry(2, 0)).ok());
  std::vector<LedgerIssue> issues;
  int64_t entries = 0;
  REQUIRE((*l)->Scan([&](const Entry&) { ++entries; }, &issues).ok());
  CHECK(issues.empty());
  CHECK(entries == 2 + static_cast<int64_t>(ids.size()));
}

}  // namespace
}  // namespace tokenbook
