// tokenbook sync --to URL: pushes every entry of the current ledger into
// another one (a PostgreSQL or SQLite database, or a ledger directory),
// idempotently: entries are matched by id (and source key), so a second run
// adds nothing and an interrupted run is finished by the next.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "tokenbook/ledger.h"

namespace tokenbook::cli {
namespace {

// Entries sent per transaction.
constexpr size_t kSyncBatch = 5'000;

struct SyncOptions {
  std::string to;
  bool json = false;
};

int RunSync(const GlobalOptions& global, const SyncOptions& o) {
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  Ledger& source = (*book)->ledger();
  absl::StatusOr<std::unique_ptr<Ledger>> target = Ledger::Open(o.to);
  if (!target.ok()) return Fail(kExitCantCreate, absl::StrCat("--to ", o.to, ": ", target.status().message()));
  if ((*target)->kind() == source.kind() && (*target)->ledger_path() == source.ledger_path()) {
    return Fail(kExitUsage, absl::StrCat("--to names the ledger itself (", source.ledger_path(), ")"));
  }
  AppendOptions options;
  options.existing_ids = false;
  options.refresh_cache = false;
  int64_t seen = 0, added = 0;
  absl::Status status;
  std::vector<Entry> batch;
  auto send = [&] {
    if (batch.empty() || !status.ok()) return;
    absl::StatusOr<std::vector<AppendResult>> r = (*target)->AppendBatch(std::move(batch), options);
    batch.clear();
    if (!r.ok()) {
      status = r.status();
      return;
    }
    for (const AppendResult& one : *r) added += one.appended ? 1 : 0;
  };
  std::vector<LedgerIssue> issues;
  absl::Status scanned = source.Scan(
      [&](const Entry& e) {
        ++seen;
        batch.push_back(e);
        if (batch.size() >= kSyncBatch) send();
      },
      &issues);
  send();
  for (const LedgerIssue& issue : issues) {
    std::fprintf(stderr, "tokenbook: warning: %s:%lld: %s (not synced)\n", issue.file.c_str(),
                 static_cast<long long>(issue.line), issue.message.c_str());
  }
  if (!scanned.ok()) return Fail(scanned);
  if (status.ok()) status = (*target)->RefreshCache();
  if (!status.ok()) {
    return Fail(kExitCantCreate, absl::StrCat("sync to ", (*target)->ledger_path(), " stopped after ",
                                              added, " new entries (run it again to finish): ", status.message()));
  }
  const std::string where = (*target)->ledger_path();
  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "to");
    WriteString(w, where);
    WriteKey(w, "entries");
    w.Int64(seen);
    WriteKey(w, "added");
    w.Int64(added);
    WriteKey(w, "already_there");
    w.Int64(seen - added);
    WriteKey(w, "skipped_lines");
    w.Int64(static_cast<int64_t>(issues.size()));
    w.EndObject();
    PrintJson(buffer);
  } else {
    std::printf("synced %s %s to %s: %s added, %s already there\n", GroupThousands(seen).c_str(),
                seen == 1 ? "entry" : "entries", where.c_str(), GroupThousands(added).c_str(),
                GroupThousands(seen - added).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterSyncCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<SyncOptions>();
  CLI::App* sub = root.add_subcommand(
      "sync", "Push every entry of this ledger into another backend, idempotently (docs/backends.md)");
  sub->add_option("--to", o->to,
                  "The ledger to fill: postgresql://user@host/db, sqlite:///path/ledger.db or a directory")
      ->required();
  sub->add_flag("--json", o->json, "Print a JSON summary (entries seen, added, already there)");
  out.push_back(Command{sub, [&global, o] { return RunSync(global, *o); }});
}

}  // namespace tokenbook::cli
