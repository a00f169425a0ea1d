// tokenbook export: every entry of a period (and filters) as CSV or as
// ledger JSON lines, to stdout or atomically to a file, or as a SQLite
// ledger database (atomically, to a file).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "tokenbook/csv.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger_sqlite.h"
#include "tokenbook/posix_io.h"

namespace tokenbook::cli {
namespace {

struct ExportOptions {
  std::string format = "csv";
  std::string output;
  std::string period = "all";
  std::string since;
  std::string until;
  FilterFlags filters;
  bool json = false;
};

// Where the rows go: stdout, or a temporary file beside --output that is
// renamed over it only once every byte is written and synced, so that a
// failed export never leaves a partial file (nor touches an existing one).
class Sink {
 public:
  ~Sink() { Abandon(); }

  absl::Status OpenStdout() {
    fd_ = STDOUT_FILENO;
    name_ = "standard output";
    return absl::OkStatus();
  }

  absl::Status OpenFile(const std::string& path) {
    const std::filesystem::path target(path);
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    temp_ = (dir / absl::StrCat(".", target.filename().string(), ".tmp-XXXXXX")).string();
    fd_ = ::mkstemp(temp_.data());
    if (fd_ < 0) {
      const int err = errno;
      temp_.clear();
      return posix_io::PosixError(err, "cannot create a file in", dir.string());
    }
    // mkstemp makes the file 0600; give it the mode a shell redirection would.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd_, 0666 & ~mask);
    path_ = path;
    name_ = path;
    return absl::OkStatus();
  }

  // Buffers `data`, writing when a megabyte has gathered.
  absl::Status Write(const std::string& data) {
    buffer_.append(data);
    return buffer_.size() >= (size_t{1} << 20) ? Flush() : absl::OkStatus();
  }

  // Writes what is buffered; for a file, syncs it and renames it into place.
  absl::Status Commit() {
    absl::Status s = Flush();
    if (!s.ok() || temp_.empty()) return s;
    if (::fsync(fd_) != 0) return posix_io::PosixError(errno, "cannot sync", temp_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      return posix_io::PosixError(errno, "cannot write", temp_);
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), path_.c_str()) != 0) {
      return posix_io::PosixError(errno, absl::StrCat("cannot rename ", temp_, " to"), path_);
    }
    temp_.clear();
    return absl::OkStatus();
  }

  // Removes the temporary file of an export that did not complete.
  void Abandon() {
    if (!temp_.empty()) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      ::unlink(temp_.c_str());
      temp_.clear();
    }
  }

 private:
  absl::Status Flush() {
    absl::Status s = posix_io::WriteAll(fd_, buffer_.data(), buffer_.size(), name_);
    buffer_.clear();
    return s;
  }

  int fd_ = -1;
  std::string temp_;  // non-empty while the temporary file exists
  std::string path_;
  std::string name_;
  std::string buffer_;
};

int Report(const ExportOptions& o, const std::string& period_label, int64_t written,
           const std::vector<LedgerIssue>& issues);

void WriteIssues(JsonWriter& w, const std::vector<LedgerIssue>& issues) {
  WriteKey(w, "skipped_lines");
  w.StartArray();
  for (const LedgerIssue& issue : issues) {
    w.StartObject();
    WriteKey(w, "file");
    WriteString(w, issue.file);
    WriteKey(w, "line");
    w.Int64(issue.line);
    WriteKey(w, "message");
    WriteString(w, issue.message);
    w.EndObject();
  }
  w.EndArray();
}

// A SQLite database of the entries the matcher takes: built in a temporary
// file beside `output` through the SQLite ledger itself (same schema, same
// views as a sqlite: ledger), then renamed over it once complete.
absl::StatusOr<int64_t> ExportSqlite(Ledger& source, const Rollup& matcher, const std::string& output,
                                     std::vector<LedgerIssue>* issues) {
  const std::filesystem::path target = std::filesystem::absolute(output);
  std::string temp = (target.parent_path() / absl::StrCat(".", target.filename().string(), ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return posix_io::PosixError(errno, "cannot create a file in", target.parent_path().string());
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  ::close(fd);
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      if (path.empty()) return;
      for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink(absl::StrCat(path, suffix).c_str());
    }
  } cleanup{temp};
  int64_t written = 0;
  {
    // Opened by path, not by URL: any file name will do.
    absl::StatusOr<std::unique_ptr<Ledger>> db =
        OpenSqliteLedger(target.parent_path().string(), temp, LedgerOptions{});
    if (!db.ok()) return db.status();
    AppendOptions options;
    options.existing_ids = false;
    options.refresh_cache = false;
    std::vector<Entry> batch;
    absl::Status status;
    auto flush = [&] {
      if (batch.empty() || !status.ok()) return;
      absl::StatusOr<std::vector<AppendResult>> r = (*db)->AppendBatch(std::move(batch), options);
      batch.clear();
      if (!r.ok()) {
        status = r.status();
        return;
      }
      for (const AppendResult& a : *r) written += a.appended ? 1 : 0;
    };
    absl::Status scanned = source.Scan(
        [&](const Entry& e) {
          if (!status.ok() || !matcher.Matches(e)) return;
          batch.push_back(e);
          if (batch.size() >= 10'000) flush();
        },
        issues);
    flush();
    if (!scanned.ok()) return scanned;
    if (!status.ok()) return status;
  }  // closed: the WAL is checkpointed into the file and removed
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    return posix_io::PosixError(errno, absl::StrCat("cannot rename ", temp, " to"), target.string());
  }
  cleanup.path.clear();
  return written;
}

int RunExport(const GlobalOptions& global, const ExportOptions& o) {
  const bool csv = o.format == "csv";
  const bool sqlite = o.format == "sqlite";
  if (sqlite && o.output.empty()) {
    return Fail(kExitUsage, "--format sqlite writes a database file: name it with --output FILE");
  }
  if (o.json && o.output.empty()) {
    return Fail(kExitUsage, "--json describes the file written by --output FILE; without --output the export "
                            "itself goes to standard output (--format jsonl for JSON lines)");
  }
  absl::StatusOr<std::vector<std::string>> filters = o.filters.Specs();
  if (!filters.ok()) return Fail(kExitUsage, filters.status().message());
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());

  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/false);
  if (!book.ok()) return Fail(book.status());
  ReportSpec spec;
  spec.period = o.period;
  spec.since = o.since;
  spec.until = o.until;
  spec.filters = *filters;
  spec.time_zone = global.tz;
  absl::StatusOr<RollupQuery> query = (*book)->MakeQuery(spec, *now);
  if (!query.ok()) return Fail(kExitUsage, query.status().message());
  const std::string period_label = query->range.label;
  // The rollup is used only for its Matches(): the same range and filter
  // rules as every report.
  absl::StatusOr<Rollup> matcher = Rollup::Create(*std::move(query));
  if (!matcher.ok()) return Fail(kExitUsage, matcher.status().message());

  // Renaming an export over the ledger would replace its only copy.
  std::error_code ec;
  if (!o.output.empty() && std::filesystem::equivalent(o.output, (*book)->ledger().ledger_path(), ec)) {
    return Fail(kExitUsage, absl::StrCat("--output: ", o.output, " is the ledger itself; export to another file"));
  }

  if (sqlite) {
    std::vector<LedgerIssue> sqlite_issues;
    absl::StatusOr<int64_t> n = ExportSqlite((*book)->ledger(), *matcher, o.output, &sqlite_issues);
    for (const LedgerIssue& issue : sqlite_issues) {
      std::fprintf(stderr, "tokenbook: warning: %s:%lld: %s\n", issue.file.c_str(),
                   static_cast<long long>(issue.line), issue.message.c_str());
    }
    if (!n.ok()) return Fail(absl::IsFailedPrecondition(n.status()) ? kExitDataError : kExitCantCreate,
                             n.status().message());
    return Report(o, period_label, *n, sqlite_issues);
  }
  Sink sink;
  absl::Status status = o.output.empty() ? sink.OpenStdout() : sink.OpenFile(o.output);
  if (!status.ok()) return Fail(kExitCantCreate, status.message());

  std::string chunk;
  if (csv) AppendEntryCsvHeader(&chunk);
  int64_t written = 0;
  std::vector<LedgerIssue> issues;
  absl::Status encoded;  // an entry that could not be written out
  absl::Status scanned = (*book)->ledger().Scan(
      [&](const Entry& e) {
        if (!status.ok() || !encoded.ok() || !matcher->Matches(e)) return;
        absl::Status s = csv ? AppendEntryCsv(e, &chunk) : EncodeEntryJson(e, &chunk);
        if (!s.ok()) {
          encoded = absl::Status(s.code(), absl::StrCat("entry ", e.id, ": ", s.message()));
          return;
        }
        if (!csv) chunk.push_back('\n');
        ++written;
        if (chunk.size() >= (size_t{1} << 16)) {
          status = sink.Write(chunk);
          chunk.clear();
        }
      },
      &issues);
  for (const LedgerIssue& issue : issues) {
    std::fprintf(stderr, "tokenbook: warning: %s:%lld: %s\n", issue.file.c_str(),
                 static_cast<long long>(issue.line), issue.message.c_str());
  }
  if (!scanned.ok() || !encoded.ok()) {
    sink.Abandon();
    return Fail(!scanned.ok() ? scanned : encoded);
  }
  if (status.ok()) status = sink.Write(chunk);
  if (status.ok()) status = sink.Commit();
  if (!status.ok()) {
    sink.Abandon();
    return Fail(kExitCantCreate, status.message());
  }
  if (o.output.empty()) return kExitOk;
  return Report(o, period_label, written, issues);
}

// What was written where (--output only).
int Report(const ExportOptions& o, const std::string& period_label, int64_t written,
           const std::vector<LedgerIssue>& issues) {
  if (o.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "format");
    WriteString(w, o.format);
    WriteKey(w, "path");
    WriteString(w, o.output);
    WriteKey(w, "period");
    WriteString(w, period_label);
    WriteKey(w, "entries");
    w.Int64(written);
    WriteIssues(w, issues);
    w.EndObject();
    PrintJson(buffer);
  } else {
    std::printf("exported %s %s to %s (%s, period %s)\n", GroupThousands(written).c_str(),
                written == 1 ? "entry" : "entries", o.output.c_str(), o.format.c_str(), period_label.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterExportCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* sub = root.add_subcommand("export", "Export entries as CSV, ledger JSON lines or a SQLite database");
  sub->add_option("--format,-f", o->format,
                  "csv (a header row, one record per entry), jsonl (ledger lines) or sqlite (a database file, "
                  "with --output; docs/backends.md)")
      ->check(CLI::IsMember({"csv", "jsonl", "sqlite"}))
      ->capture_default_str();
  sub->add_option("--output,-o", o->output,
                  "Write to FILE (atomically: a temporary file renamed into place) instead of standard output");
  CLI::Option* period = sub->add_option("--period", o->period, "all (default), today, month, last-7d, 2026-03 ...");
  CLI::Option* since = sub->add_option("--since", o->since, "From this date or RFC 3339 instant on");
  CLI::Option* until = sub->add_option("--until", o->until, "Up to this date (included) or instant (excluded)");
  period->excludes(since)->excludes(until);
  AddFilterOptions(sub, o->filters);
  sub->add_flag("--json", o->json, "With --output: print a JSON summary (entries written, path)");
  out.push_back(Command{sub, [&global, o] { return RunExport(global, *o); }});
}

}  // namespace tokenbook::cli
