// tokenbook ingest SOURCE: turn what agents already record into entries.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "tokenbook/ingest.h"

namespace tokenbook::cli {
namespace {

struct IngestFlags {
  std::string source;
  std::vector<std::string> paths;
  std::string since;
  std::string key;
  bool dry_run = false;
  bool json = false;
  bool full = false;
  bool no_progress = false;
  int threads = 0;
  int max_issues = 20;
};

std::string Mb(int64_t bytes) { return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / 1e6); }

// A one-line bar on stderr, redrawn at most ten times a second.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar() { Clear(); }
  void Update(const IngestProgress& p) {
    if (!enabled_ || p.bytes_total < (int64_t{16} << 20)) return;  // small jobs finish before a bar helps
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && p.files_done != p.files_total) return;
    last_ = now;
    const int width = 30;
    const int fill = p.bytes_total > 0 ? static_cast<int>(width * p.bytes_done / p.bytes_total) : width;
    std::fprintf(stderr, "\r[%s%s] %3d%%  %s / %s  %lld/%lld files", std::string(static_cast<size_t>(fill), '#').c_str(),
                 std::string(static_cast<size_t>(width - fill), ' ').c_str(),
                 p.bytes_total > 0 ? static_cast<int>(100 * p.bytes_done / p.bytes_total) : 100,
                 Mb(p.bytes_done).c_str(), Mb(p.bytes_total).c_str(), static_cast<long long>(p.files_done),
                 static_cast<long long>(p.files_total));
    std::fflush(stderr);
    drawn_ = true;
  }
  void Clear() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

void WriteTokens(JsonWriter& w, const TokenCounts& t) {
  WriteKey(w, "tokens");
  w.StartObject();
  for (TokenKind k : kAllTokenKinds) {
    WriteKey(w, TokenKindName(k));
    w.Int64(t[k].value());
  }
  w.EndObject();
}

std::string TokensText(const TokenCounts& t) {
  std::vector<std::string> parts;
  for (TokenKind k : kAllTokenKinds) {
    if (t[k].value() != 0) parts.push_back(absl::StrCat(TokenKindName(k), " ", GroupThousands(t[k].value())));
  }
  return parts.empty() ? "no tokens" : absl::StrJoin(parts, ", ");
}

int RunDocument(const GlobalOptions& global, IngestSource source, const IngestFlags& f) {
  std::string text;
  std::string name = "<stdin>";
  if (f.paths.size() > 1) return Fail(kExitUsage, "a document source takes one --path (or standard input)");
  if (f.paths.empty() || f.paths[0] == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    name = f.paths[0];
    std::ifstream in(name, std::ios::binary);
    if (!in) return Fail(kExitNoInput, absl::StrCat("--path ", name, ": cannot read"));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  DocumentContext ctx;
  ctx.now = *now;
  ctx.source_key = f.key;
  absl::StatusOr<std::vector<Entry>> entries = ParseUsageDocument(source, text, ctx);
  if (!entries.ok()) return Fail(kExitDataError, absl::StrCat(name, ": ", entries.status().message()));
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/true);
  if (!book.ok()) return Fail(book.status());
  std::vector<LogOutcome> outcomes;
  if (f.dry_run) {
    for (Entry& e : *entries) {
      LogOutcome o;
      if (absl::Status s = PriceEntry((*book)->rates(), &e); !s.ok()) return Fail(kExitDataError, s.message());
      absl::StatusOr<bool> has = e.source_key.empty() ? false : (*book)->ledger().HasSourceKey(e.source_key);
      if (!has.ok()) return Fail(has.status());
      o.append.appended = !*has;
      o.entry = e;
      outcomes.push_back(std::move(o));
    }
  } else {
    absl::StatusOr<std::vector<LogOutcome>> logged = (*book)->LogBatch(*entries, *now);
    if (!logged.ok()) return Fail(logged.status());
    outcomes = std::move(*logged);
  }
  if (f.json) {
    rapidjson::StringBuffer buffer;
    JsonWriter w(buffer);
    w.StartObject();
    WriteKey(w, "source");
    WriteString(w, IngestSourceName(source));
    WriteKey(w, "dry_run");
    w.Bool(f.dry_run);
    WriteKey(w, "entries");
    w.StartArray();
    for (const LogOutcome& o : outcomes) {
      w.StartObject();
      WriteKey(w, "added");
      w.Bool(o.append.appended);
      WriteKey(w, "id");
      WriteString(w, o.append.id);
      WriteKey(w, "model");
      WriteString(w, o.entry.model);
      WriteKey(w, "cost_source");
      WriteString(w, CostSourceName(o.entry.cost_source));
      WriteMoney(w, "cost", o.entry.cost);
      WriteTokens(w, o.entry.tokens);
      WriteKey(w, "source_key");
      WriteString(w, o.entry.source_key);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    PrintJson(buffer);
  } else {
    for (const LogOutcome& o : outcomes) {
      std::printf("%s %s: %s, %s%s\n", o.append.appended ? (f.dry_run ? "would add" : "added") : "already in the ledger",
                  o.entry.model.c_str(), o.entry.priced() ? FormatDollars(o.entry.cost, 6).c_str() : "unpriced",
                  TokensText(o.entry.tokens).c_str(), o.entry.source_key.empty() ? "" : absl::StrCat(" (", o.entry.source_key, ")").c_str());
    }
  }
  for (const LogOutcome& o : outcomes) {
    if (!o.entry.priced()) {
      std::fprintf(stderr, "tokenbook: warning: unknown model \"%s\": recorded unpriced\n", o.entry.model.c_str());
    }
  }
  return kExitOk;
}

int RunIngest(const GlobalOptions& global, const IngestFlags& f) {
  const std::optional<IngestSource> source = ParseIngestSource(f.source);
  if (!source.has_value()) {
    return Fail(kExitUsage, absl::StrCat("unknown source \"", f.source,
                                         "\" (claude-code, codex, claude-json, anthropic-response, openai-response)"));
  }
  if (IsDocumentSource(*source)) return RunDocument(global, *source, f);

  IngestOptions options;
  options.paths = f.paths;
  options.dry_run = f.dry_run;
  options.incremental = !f.full;
  options.threads = f.threads;
  options.max_issues = static_cast<size_t>(std::max(0, f.max_issues));
  if (!f.since.empty()) {
    absl::StatusOr<absl::Time> since = ParseInstant("--since", f.since);
    if (!since.ok()) return Fail(kExitUsage, since.status().message());
    options.since = *since;
  }
  absl::StatusOr<std::unique_ptr<Book>> book = OpenBook(global, /*create=*/true);
  if (!book.ok()) return Fail(book.status());
  ProgressBar bar(!f.no_progress && isatty(fileno(stderr)) != 0);
  options.progress = [&bar](const IngestProgress& p) { bar.Update(p); };
  absl::StatusOr<IngestResult> r = Ingest(**book, *source, options);
  bar.Clear();
  if (!r.ok()) return Fail(r.status());

  if (f.json) {
    std::printf("%s\n", IngestResultJson(*r, f.dry_run).c_str());
    return kExitOk;
  }

  std::printf("%s: %s file%s (%s read, %s unchanged), %s, %s lines\n", r->source.c_str(),
              GroupThousands(r->files).c_str(), r->files == 1 ? "" : "s", GroupThousands(r->files_read).c_str(),
              GroupThousands(r->files - r->files_read).c_str(), Mb(r->bytes_read).c_str(),
              GroupThousands(r->lines).c_str());
  std::printf("  %s %s entr%s, %s (%s)\n", f.dry_run ? "would add" : "added", GroupThousands(r->entries).c_str(),
              r->entries == 1 ? "y" : "ies", FormatDollars(r->cost, 6).c_str(), TokensText(r->tokens).c_str());
  if (r->copies_merged > 0 || r->duplicates > 0) {
    std::printf("  %s streaming cop%s folded into one entry each; %s already in the ledger or replayed\n",
                GroupThousands(r->copies_merged).c_str(), r->copies_merged == 1 ? "y" : "ies",
                GroupThousands(r->duplicates).c_str());
  }
  if (r->before_since > 0) std::printf("  %s before --since, skipped\n", GroupThousands(r->before_since).c_str());
  if (r->pending_bytes > 0) {
    std::printf("  %s byte%s of unfinished last lines left for the next run\n", GroupThousands(r->pending_bytes).c_str(),
                r->pending_bytes == 1 ? "" : "s");
  }
  if (r->files == 0) {
    std::fprintf(stderr, "tokenbook: no %s logs found (%s)\n", r->source.c_str(),
                 f.paths.empty() ? "looked in the default places; name them with --path" : "nothing under --path");
  }
  if (r->unpriced > 0) {
    std::fprintf(stderr, "tokenbook: warning: %s entr%s UNPRICED (unknown model: %s); add rates with --rates FILE\n",
                 GroupThousands(r->unpriced).c_str(), r->unpriced == 1 ? "y is" : "ies are",
                 absl::StrJoin(r->unpriced_models, ", ").c_str());
  }
  if (r->unusable > 0) {
    std::fprintf(stderr, "tokenbook: %s usage line%s could not be used:\n", GroupThousands(r->unusable).c_str(),
                 r->unusable == 1 ? "" : "s");
  } else if (!r->issues.empty()) {
    std::fprintf(stderr, "tokenbook: notes:\n");
  }
  if (!r->issues.empty()) {
    for (const IngestIssue& i : r->issues) {
      std::fprintf(stderr, "  %s:%lld: %s\n", i.file.c_str(), static_cast<long long>(i.line), i.reason.c_str());
    }
    if (static_cast<int64_t>(r->issues.size()) < r->unusable) {
      std::fprintf(stderr, "  ... and %s more (--max-issues N shows more)\n",
                   GroupThousands(r->unusable - static_cast<int64_t>(r->issues.size())).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterIngestCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto f = std::make_shared<IngestFlags>();
  CLI::App* sub = root.add_subcommand("ingest", "Turn agents' own logs (Claude Code, Codex, API responses) into entries");
  sub->add_option("source", f->source, "claude-code, codex, claude-json, anthropic-response or openai-response")
      ->required();
  sub->add_option("--path", f->paths,
                  "Log file or directory (repeatable; default: the source's usual place). "
                  "Document sources: a file, or - for standard input");
  sub->add_option("--since", f->since, "Skip entries before this instant (RFC 3339 or YYYY-MM-DD, UTC)");
  sub->add_flag("--dry-run", f->dry_run, "Parse and count; append nothing, keep no state");
  sub->add_flag("--full", f->full, "Read every file from its start (the source keys still prevent doubles)");
  sub->add_flag("--no-progress", f->no_progress, "No progress bar, even on a terminal");
  sub->add_option("--threads", f->threads, "Parsing threads (default: one per core, at most 4)");
  sub->add_option("--max-issues", f->max_issues, "Unusable lines listed with file:line (default 20; all are counted)");
  sub->add_option("--key", f->key, "Document sources: the source key (default: derived from the response id)");
  sub->add_flag("--json", f->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, f] { return RunIngest(global, *f); }});
}

}  // namespace tokenbook::cli
