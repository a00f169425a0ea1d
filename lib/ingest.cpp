// Ingestion of log directories (lib/tokenbook/ingest.h): finding the files,
// the incremental state, the reading threads and the batched appends.
//
// Threads: up to `threads` workers each take the next file, read its new
// bytes in chunks and parse them into entries (priced, deduplicated within
// the file); the calling thread takes the files' results strictly in file
// order (so a run is deterministic), appends them in batches with one write
// each, and reports progress. At most a few files' results are in flight,
// so memory is bounded by the chunk size and the largest file's entries,
// never by the whole history.
#include "tokenbook/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ingest_internal.h"
#include "tokenbook/posix_io.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {
namespace {

namespace fs = std::filesystem;
using ingest_internal::CodexContext;
using ingest_internal::CodexLineKind;
using posix_io::PosixError;
using posix_io::PreadAll;
using posix_io::WriteAll;

// A line longer than this is skipped (and reported): it bounds a reader's
// memory whatever a file holds. Real transcripts stay far below it.
constexpr size_t kMaxLineBytes = size_t{8} << 20;
constexpr size_t kReadChunk = size_t{1} << 20;
// About this many entries are appended (a write per file) before their files' state is committed.
constexpr size_t kBatchEntries = 4096;

struct FileInfo {
  std::string path;
  std::string folder;  // the project folder name (Claude Code), for entries without a cwd
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ino = 0;
};

// What the state file remembers of a file.
struct FileState {
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ino = 0;
  int64_t offset = 0;  // after the last complete line read
  int64_t lines = 0;   // complete lines before offset
  CodexContext codex;  // Codex only
};

// --- Finding the files. -----------------------------------------------------

std::string HomeDir() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? std::string(home) : std::string();
}

bool IsDir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool WantFile(IngestSource source, const fs::path& p, bool given) {
  const std::string name = p.filename().string();
  if (!absl::EndsWith(name, ".jsonl")) return given && source == IngestSource::kCodex && absl::EndsWith(name, ".json");
  if (source == IngestSource::kCodex && !given) return absl::StartsWith(name, "rollout-");
  return true;
}

absl::Status Walk(IngestSource source, const std::string& root, std::vector<FileInfo>* out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read directory ", root, ": ", ec.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& de = *it;
    std::error_code fec;
    if (!de.is_regular_file(fec) || !WantFile(source, de.path(), false)) continue;
    FileInfo f;
    f.path = de.path().string();
    // projects/<folder>/<session>.jsonl, or deeper for sub-agents.
    const fs::path rel = de.path().lexically_relative(root);
    if (!rel.empty()) f.folder = rel.begin()->string();
    out->push_back(std::move(f));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> DefaultIngestRoots(IngestSource source) {
  std::vector<std::string> roots;
  const std::string home = HomeDir();
  if (source == IngestSource::kClaudeCode) {
    const char* env = std::getenv("CLAUDE_CONFIG_DIR");
    std::vector<std::string> bases;
    if (env != nullptr && *env != '\0') {
      for (absl::string_view part : absl::StrSplit(env, ',', absl::SkipWhitespace())) {
        bases.emplace_back(absl::StripAsciiWhitespace(part));
      }
    } else if (!home.empty()) {
      bases = {home + "/.config/claude", home + "/.claude"};
    }
    for (const std::string& b : bases) {
      // A config directory holds projects/; the projects/ directory itself is accepted too.
      if (IsDir(b + "/projects")) {
        roots.push_back(b + "/projects");
      } else if (absl::EndsWith(b, "/projects") && IsDir(b)) {
        roots.push_back(b);
      }
    }
  } else if (source == IngestSource::kCodex) {
    const char* env = std::getenv("CODEX_HOME");
    const std::string base = env != nullptr && *env != '\0' ? std::string(env) : home + "/.codex";
    for (const char* sub : {"/sessions", "/archived_sessions"}) {
      if (IsDir(base + sub)) roots.push_back(base + sub);
    }
  }
  return roots;
}

namespace {

absl::StatusOr<std::vector<FileInfo>> FindFiles(IngestSource source, const std::vector<std::string>& paths) {
  std::vector<FileInfo> files;
  if (paths.empty()) {
    for (const std::string& root : DefaultIngestRoots(source)) TKB_RETURN_IF_ERROR(Walk(source, root, &files));
  } else {
    for (const std::string& p : paths) {
      std::error_code ec;
      const fs::file_status st = fs::status(p, ec);
      if (ec || !fs::exists(st)) return absl::NotFoundError(absl::StrCat("--path ", p, ": no such file or directory"));
      if (fs::is_directory(st)) {
        // A Claude Code config directory, or its projects/ directory, or any directory of logs.
        const std::string root = source == IngestSource::kClaudeCode && IsDir(p + "/projects") ? p + "/projects" : p;
        TKB_RETURN_IF_ERROR(Walk(source, root, &files));
      } else {
        FileInfo f;
        f.path = p;
        f.folder = fs::path(p).parent_path().filename().string();
        files.push_back(std::move(f));
      }
    }
  }
  // One spelling per file, whichever way it was named, so that the state
  // written by a run over a directory serves a hook naming one file.
  for (FileInfo& f : files) {
    std::error_code ec;
    const fs::path abs = fs::absolute(f.path, ec);
    if (!ec) f.path = abs.lexically_normal().string();
  }
  std::sort(files.begin(), files.end(), [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
  files.erase(std::unique(files.begin(), files.end(), [](const FileInfo& a, const FileInfo& b) { return a.path == b.path; }),
              files.end());
  for (FileInfo& f : files) {
    struct stat st;
    if (::stat(f.path.c_str(), &st) != 0) continue;  // vanished: size 0, nothing to read
    f.size = st.st_size;
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.ino = static_cast<int64_t>(st.st_ino);
  }
  return files;
}

// --- The state file. ---------------------------------------------------------
//
// cache/ingest-<source>.jsonl: a header line (with the mark of the ledger it
// goes with), then one object per file:
// {"path":...,"size":...,"mtime_ns":...,"ino":...,"offset":...,"lines":...}
// plus "codex":{...} for Codex. Derived state like the rest of cache/:
// deleting it costs one full read of the logs, and the source keys keep
// that read from adding anything twice.

// The ledger's size and the hashes of its first and last 4 KiB: the state
// is only valid for the ledger it was written beside. A ledger that was
// replaced or cut short since (its entries gone) must be refilled, so the
// state is then ignored and every file read again.
struct LedgerMark {
  int64_t size = 0;
  std::string head;
  std::string tail;
};

absl::StatusOr<LedgerMark> MarkLedger(const std::string& ledger_path, int64_t size) {
  LedgerMark m;
  m.size = size;
  if (size == 0) return m;
  const int fd = ::open(ledger_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "cannot open", ledger_path);
  absl::StatusOr<std::pair<uint64_t, uint64_t>> fp = posix_io::LedgerFingerprint(fd, ledger_path, size);
  ::close(fd);
  if (!fp.ok()) return fp.status();
  m.head = posix_io::Hex64(fp->first);
  m.tail = posix_io::Hex64(fp->second);
  return m;
}

int64_t CurrentSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

std::string StatePath(const std::string& ledger_dir, IngestSource source) {
  return absl::StrCat(ledger_dir, "/cache/ingest-", IngestSourceName(source), ".jsonl");
}

std::map<std::string, FileState> LoadState(const std::string& path, const std::string& ledger_path) {
  std::map<std::string, FileState> out;
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec || size == 0 || size > (uintmax_t{1} << 30)) return out;
  std::string text(static_cast<size_t>(size), '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  absl::StatusOr<size_t> got = PreadAll(fd, text.data(), text.size(), 0, path);
  ::close(fd);
  if (!got.ok() || *got != text.size()) return out;
  auto i64 = [](const rapidjson::Value& o, const char* name) -> int64_t {
    auto it = o.FindMember(name);
    return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : -1;
  };
  auto str = [](const rapidjson::Value& o, const char* name) -> std::string {
    auto it = o.FindMember(name);
    return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                       : std::string();
  };
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
    if (d.HasParseError() || !d.IsObject()) return {};  // a damaged state: read everything again
    if (header) {
      header = false;
      if (i64(d, "v") != 1 || str(d, "kind") != "ingest-state") return {};
      const int64_t ledger_size = i64(d, "ledger_size");
      if (ledger_size < 0 || CurrentSize(ledger_path) < ledger_size) return {};
      absl::StatusOr<LedgerMark> mark = MarkLedger(ledger_path, ledger_size);
      if (!mark.ok() || mark->head != str(d, "ledger_head_fnv1a64") || mark->tail != str(d, "ledger_tail_fnv1a64")) {
        return {};
      }
      continue;
    }
    FileState s;
    s.size = i64(d, "size");
    s.mtime_ns = i64(d, "mtime_ns");
    s.ino = i64(d, "ino");
    s.offset = i64(d, "offset");
    s.lines = i64(d, "lines");
    // size -1: the file ended with an unfinished line (see commit_files).
    if (s.size < -1 || s.offset < 0 || (s.size >= 0 && s.offset > s.size) || s.lines < 0) return {};
    if (auto c = d.FindMember("codex"); c != d.MemberEnd() && c->value.IsObject()) {
      const rapidjson::Value& o = c->value;
      s.codex.model = str(o, "model");
      s.codex.session = str(o, "session");
      s.codex.project = str(o, "project");
      s.codex.subagent = i64(o, "subagent") == 1;
      if (auto p = o.FindMember("prev"); p != o.MemberEnd() && p->value.IsArray() && p->value.Size() == 4) {
        s.codex.have_prev = true;
        for (rapidjson::SizeType k = 0; k < 4; ++k) {
          s.codex.prev[k] = p->value[k].IsInt64() ? p->value[k].GetInt64() : 0;
        }
      }
    }
    out[str(d, "path")] = std::move(s);
  }
  return out;
}

absl::Status SaveState(const std::string& path, IngestSource source, const std::map<std::string, FileState>& state,
                       const std::string& ledger_path) {
  // cache/ in the ledger directory, private like the rest of it (0700, as
  // the ledger and the budget service create it; not the umask's 0755).
  const std::string cache_dir = fs::path(path).parent_path().string();
  if (::mkdir(cache_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return PosixError(errno, "cannot create directory", cache_dir);
  }
  TKB_ASSIGN_OR_RETURN(const LedgerMark mark, MarkLedger(ledger_path, CurrentSize(ledger_path)));
  rapidjson::StringBuffer buf;
  {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("v");
    w.Int(1);
    w.Key("kind");
    w.String("ingest-state");
    w.Key("source");
    const absl::string_view name = IngestSourceName(source);
    w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.Key("ledger_size");
    w.Int64(mark.size);
    w.Key("ledger_head_fnv1a64");
    w.String(mark.head.c_str());
    w.Key("ledger_tail_fnv1a64");
    w.String(mark.tail.c_str());
    w.EndObject();
  }
  buf.Put('\n');
  for (const auto& [file, s] : state) {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("path");
    w.String(file.data(), static_cast<rapidjson::SizeType>(file.size()));
    w.Key("size");
    w.Int64(s.size);
    w.Key("mtime_ns");
    w.Int64(s.mtime_ns);
    w.Key("ino");
    w.Int64(s.ino);
    w.Key("offset");
    w.Int64(s.offset);
    w.Key("lines");
    w.Int64(s.lines);
    if (source == IngestSource::kCodex) {
      w.Key("codex");
      w.StartObject();
      w.Key("model");
      w.String(s.codex.model.data(), static_cast<rapidjson::SizeType>(s.codex.model.size()));
      w.Key("session");
      w.String(s.codex.session.data(), static_cast<rapidjson::SizeType>(s.codex.session.size()));
      w.Key("project");
      w.String(s.codex.project.data(), static_cast<rapidjson::SizeType>(s.codex.project.size()));
      w.Key("subagent");
      w.Int(s.codex.subagent ? 1 : 0);
      if (s.codex.have_prev) {
        w.Key("prev");
        w.StartArray();
        for (int64_t v : s.codex.prev) w.Int64(v);
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndObject();
    buf.Put('\n');
  }
  // A name of this call's own: threads of one process may save at once, and
  // must not write into each other's temporary file.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return PosixError(errno, "cannot create", tmp);
  absl::Status s = WriteAll(fd, buf.GetString(), buf.GetSize(), tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = PosixError(errno, "cannot rename", tmp);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

// --- Reading one file. -------------------------------------------------------

struct FileJob {
  const FileInfo* file = nullptr;
  int64_t begin = 0;        // offset to read from
  int64_t lines_before = 0; // complete lines before `begin`
  CodexContext codex;
};

// What the counts need of an entry handed to the ledger.
struct Pending {
  Micros cost;
  TokenCounts tokens;
  bool priced;
  std::string model;  // only when unpriced
};

struct FileResult {
  std::vector<Entry> entries;      // priced, one per source key; moved into `encoded` at the end
  EncodedEntries encoded;          // the entries as ledger lines
  std::vector<Pending> pending;    // and what the counts need of each
  std::vector<IngestIssue> issues; // up to the cap
  int64_t issue_count = 0;         // unusable lines (issues may also explain unpriced entries)
  int64_t lines = 0;
  int64_t usage_lines = 0;
  int64_t copies_merged = 0;
  int64_t before_since = 0;
  int64_t bytes_read = 0;
  int64_t end = 0;                 // offset after the last complete line
  CodexContext codex;
  absl::Status error;
};

class FileReader {
 public:
  FileReader(IngestSource source, const RateTable& rates, const IngestOptions& options)
      : source_(source), rates_(rates), options_(options) {}

  void Read(const FileJob& job, FileResult* out) {
    *out = FileResult();
    out->end = job.begin;
    out->codex = job.codex;
    out->codex.file_key = job.file->path;
    out->codex.file_mtime = absl::FromUnixNanos(job.file->mtime_ns);
    index_.clear();
    // About one entry per 1.5 KB of transcript.
    out->entries.reserve(static_cast<size_t>(std::min<int64_t>((job.file->size - job.begin) / 1536 + 16, 65536)));
    const int fd = ::open(job.file->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Issue(out, job.file->path, 0, absl::StrCat("cannot open: ", std::strerror(errno)));
      return;
    }
    ::posix_fadvise(fd, job.begin, 0, POSIX_FADV_SEQUENTIAL);
    int64_t pos = job.begin;       // next byte to read
    int64_t line_start = job.begin; // file offset of buf_[0]
    int64_t line_no = job.lines_before;
    size_t held = 0;               // bytes in buf_
    bool skipping_long = false;    // inside a line longer than kMaxLineBytes
    int64_t long_start = 0;
    if (Room() < kReadChunk) buf_.resize(kReadChunk + kSlack);
    for (;;) {
      if (held == Room()) {
        if (Room() < kMaxLineBytes) {
          buf_.resize(std::min(kMaxLineBytes, Room() * 2) + kSlack);
        } else {
          // One line fills the largest buffer: skip to its end.
          if (!skipping_long) {
            skipping_long = true;
            long_start = line_start;
          }
          line_start += static_cast<int64_t>(held);
          held = 0;
        }
      }
      const size_t want = Room() - held;
      absl::StatusOr<size_t> got = PreadAll(fd, buf_.data() + held, want, pos, job.file->path);
      if (!got.ok()) {
        out->error = got.status();
        break;
      }
      if (*got == 0) break;
      out->bytes_read += static_cast<int64_t>(*got);
      pos += static_cast<int64_t>(*got);
      const size_t filled = held + *got;
      size_t at = 0;
      while (at < filled) {
        char* start = buf_.data() + at;
        char* nl = static_cast<char*>(std::memchr(start, '\n', filled - at));
        if (nl == nullptr) break;
        const size_t len = static_cast<size_t>(nl - start);
        ++line_no;
        ++out->lines;
        if (skipping_long) {
          skipping_long = false;
          Issue(out, job.file->path, line_no,
                absl::StrCat("line longer than ", kMaxLineBytes, " bytes (at offset ", long_start, "); skipped"));
        } else {
          out->codex.line_offset = line_start + static_cast<int64_t>(at);
          Line(job, start, len, line_no, out);
        }
        at += len + 1;
      }
      line_start += static_cast<int64_t>(at);
      held = filled - at;
      if (held > 0 && at > 0) std::memmove(buf_.data(), buf_.data() + at, held);
    }
    ::close(fd);
    out->end = skipping_long ? long_start : line_start;
    // Encoded here, on this reading thread, so that the appending thread
    // only copies bytes and checks keys.
    if (out->error.ok()) {
      out->pending.reserve(out->entries.size());
      for (Entry& e : out->entries) {
        absl::Status s = out->encoded.Add(e);
        if (!s.ok()) {
          out->error = absl::Status(s.code(), absl::StrCat(job.file->path, ": ", s.message()));
          break;
        }
        out->pending.push_back(Pending{e.cost, e.tokens, e.priced(), e.priced() ? std::string() : e.model});
      }
    }
    out->entries.clear();
    out->entries.shrink_to_fit();
    if (Room() > 4 * kReadChunk) {
      std::vector<char>(kReadChunk + kSlack).swap(buf_);  // do not keep a huge line's buffer
    }
  }

 private:
  // Records an issue; `unusable`: the line was not used (else the entry was
  // recorded, e.g. unpriced, and the issue says why).
  void Issue(FileResult* out, const std::string& file, int64_t line, std::string reason, bool unusable = true) {
    if (unusable) ++out->issue_count;
    if (out->issues.size() < options_.max_issues) out->issues.push_back(IngestIssue{file, line, std::move(reason)});
  }

  void Line(const FileJob& job, char* line, size_t len, int64_t line_no, FileResult* out) {
    int64_t total = 0;
    std::string reason;
    bool usage = false;
    bool unusable = false;
    if (source_ == IngestSource::kClaudeCode) {
      const LineKind k = claude_.Parse(line, len, job.file->folder, &scratch_, &total, &reason, /*padded=*/true);
      usage = k == LineKind::kUsage;
      unusable = k == LineKind::kUnusable;
    } else {
      const CodexLineKind k = ingest_internal::ParseCodexLine(line, len, &out->codex, &doc_, &scratch_, &reason);
      usage = k == CodexLineKind::kUsage;
      unusable = k == CodexLineKind::kUnusable;
      if (usage) {
        total = scratch_.tokens.input().value() + scratch_.tokens.output().value() +
                scratch_.tokens.cache_read().value();
      }
    }
    if (unusable) {
      ++out->usage_lines;
      Issue(out, job.file->path, line_no, std::move(reason));
      return;
    }
    if (!usage) return;
    ++out->usage_lines;
    if (options_.since.has_value() && scratch_.timestamp < *options_.since) {
      ++out->before_since;
      return;
    }
    // Copies of one response in this file: keep the one with the largest
    // token total (the earliest of equals), at the first copy's place.
    auto [it, inserted] = index_.try_emplace(scratch_.source_key, out->entries.size());
    if (!inserted) {
      ++out->copies_merged;
      Entry& kept = out->entries[it->second];
      if (total > totals_[it->second]) {
        totals_[it->second] = total;
        Price(job, line_no, &scratch_, out);
        std::swap(kept, scratch_);
      }
      return;
    }
    if (totals_.size() < out->entries.size() + 1) totals_.resize(out->entries.size() + 1);
    totals_[out->entries.size()] = total;
    Price(job, line_no, &scratch_, out);
    out->entries.push_back(std::move(scratch_));
    scratch_ = Entry();
  }

  void Price(const FileJob& job, int64_t line_no, Entry* e, FileResult* out) {
    if (e->model == "<synthetic>") {
      // Claude Code's own placeholder for a message no model produced.
      e->cost = Micros(0);
      e->cost_source = CostSource::kComputed;
      e->rates_as_of = rates_.as_of();
      return;
    }
    absl::Status s = PriceEntry(rates_, e);
    if (!s.ok()) {
      // A known model asked for a tier it does not have, say: loud, not $0.
      Issue(out, job.file->path, line_no, absl::StrCat("model ", e->model, ": ", s.message(), "; recorded unpriced"),
            /*unusable=*/false);
      e->cost = Micros(0);
      e->cost_source = CostSource::kUnpriced;
      e->rates_as_of.clear();
    }
  }

  const IngestSource source_;
  const RateTable& rates_;
  const IngestOptions& options_;
  ClaudeCodeLineParser claude_;
  rapidjson::Document doc_;
  // Bytes read, then kSlack more: the NUL written after a line and the
  // bytes past it that SIMD scanning may read (Room() is what holds file
  // bytes).
  static constexpr size_t kSlack = ClaudeCodeLineParser::kLinePadding;
  size_t Room() const { return buf_.size() < kSlack ? 0 : buf_.size() - kSlack; }
  std::vector<char> buf_;
  Entry scratch_;
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<int64_t> totals_;
};

}  // namespace

absl::StatusOr<IngestResult> Ingest(Book& book, IngestSource source, const IngestOptions& options) {
  if (IsDocumentSource(source)) {
    return absl::InvalidArgumentError(
        absl::StrCat(IngestSourceName(source), " is one document: use ParseUsageDocument and Book::LogBatch"));
  }
  IngestResult result;
  result.source = std::string(IngestSourceName(source));
  TKB_ASSIGN_OR_RETURN(std::vector<FileInfo> files, FindFiles(source, options.paths));
  result.files = static_cast<int64_t>(files.size());

  const std::string state_path = StatePath(book.ledger().dir(), source);
  std::map<std::string, FileState> state;
  const std::string ledger_path = book.ledger().ledger_path();
  if (options.incremental) state = LoadState(state_path, ledger_path);
  const bool keep_state = !options.dry_run && !options.since.has_value();

  // What to read of each file.
  std::vector<FileJob> jobs;
  IngestProgress progress;
  for (const FileInfo& f : files) {
    FileJob job;
    job.file = &f;
    auto it = state.find(f.path);
    if (it != state.end()) {
      const FileState& s = it->second;
      if (s.ino == f.ino && s.size == f.size && s.mtime_ns == f.mtime_ns) continue;  // unchanged
      if (s.ino == f.ino && f.size >= s.offset) {
        // Grown (or touched): read on from the last complete line.
        job.begin = s.offset;
        job.lines_before = s.lines;
        job.codex = s.codex;
      }
    }
    progress.bytes_total += f.size - job.begin;
    jobs.push_back(std::move(job));
  }
  progress.files_total = static_cast<int64_t>(jobs.size());
  result.files_read = static_cast<int64_t>(jobs.size());

  // Workers read files in any order; results are taken in file order.
  unsigned hw = std::thread::hardware_concurrency();
  if (hw == 0) hw = 2;
  const size_t threads = std::max<size_t>(
      1, std::min<size_t>(options.threads > 0 ? static_cast<size_t>(options.threads) : std::min(hw, 4u), jobs.size()));
  // Results in flight: enough that a worker on a large file does not stall
  // the others behind the file order.
  const size_t window = threads * 4;
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::unique_ptr<FileResult>> ready(jobs.size());
  size_t next_job = 0;
  size_t consumed = 0;
  bool stop = false;
  auto worker = [&] {
    FileReader reader(source, book.rates(), options);
    for (;;) {
      size_t k;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] { return stop || next_job >= jobs.size() || next_job < consumed + window; });
        if (stop || next_job >= jobs.size()) return;
        k = next_job++;
      }
      auto r = std::make_unique<FileResult>();
      reader.Read(jobs[k], r.get());
      {
        std::lock_guard<std::mutex> lock(mu);
        ready[k] = std::move(r);
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads && !jobs.empty(); ++t) pool.emplace_back(worker);
  struct Join {
    std::vector<std::thread>* pool;
    std::mutex* mu;
    bool* stop;
    std::condition_variable* changed;
    ~Join() {
      {
        std::lock_guard<std::mutex> lock(*mu);
        *stop = true;
      }
      changed->notify_all();
      for (std::thread& t : *pool) t.join();
    }
  } join{&pool, &mu, &stop, &changed};

  // The source-key cache (cache/source-keys.jsonl) is brought up to date
  // once, by the last write, under the ledger's usual rule (when the ledger
  // has outgrown it enough): rewriting it per write would cost O(keys) each
  // time, and leaving it behind would make the next process with something
  // new (a hook after the next turn) rebuild the key index from the whole
  // ledger. Writes with refresh_cache off let the ledger stage the new
  // cache as they go, so the last one only completes it.
  AppendOptions append_options;
  append_options.existing_ids = false;
  append_options.refresh_cache = false;
  std::set<std::string> unpriced_models;
  absl::flat_hash_set<std::string> dry_keys;  // dry run: keys this run would add
  absl::Status failure;

  // Files' entries are appended a file at a time (each file's lines as they
  // were encoded on its reading thread, one write() each), and their state
  // committed in batches of about kBatchEntries entries.
  std::vector<std::pair<size_t, std::unique_ptr<FileResult>>> done_files;  // awaiting their batch
  size_t batch_entries = 0;
  std::vector<bool> added;
  auto write_batch = [&](bool last) -> absl::Status {
    size_t last_written = done_files.size();
    for (size_t i = 0; i < done_files.size(); ++i) {
      if (!done_files[i].second->encoded.empty()) last_written = i;
    }
    for (size_t i = 0; i < done_files.size(); ++i) {
      FileResult& r = *done_files[i].second;
      if (r.encoded.empty()) continue;
      if (options.dry_run) {
        added.assign(r.encoded.size(), false);
        for (size_t j = 0; j < r.encoded.size(); ++j) {
          const absl::string_view key = r.encoded.key(j);
          TKB_ASSIGN_OR_RETURN(const bool present, book.ledger().HasSourceKey(key));
          added[j] = !present && dry_keys.insert(std::string(key)).second;
        }
      } else {
        append_options.refresh_cache = last && i == last_written;
        TKB_RETURN_IF_ERROR(book.ledger().AppendEncoded(r.encoded, append_options, &added));
      }
      r.encoded = EncodedEntries();
      for (size_t j = 0; j < r.pending.size(); ++j) {
        const Pending& p = r.pending[j];
        if (!added[j]) {
          ++result.duplicates;
          continue;
        }
        ++result.entries;
        if (!CheckedAdd(&result.cost, p.cost)) return absl::OutOfRangeError("the cost of the ingested entries overflows");
        for (TokenKind k : kAllTokenKinds) {
          Tokens sum = result.tokens[k];
          if (!CheckedAdd(&sum, p.tokens[k])) return absl::OutOfRangeError("the ingested token count overflows");
          result.tokens[k] = sum;
        }
        if (!p.priced) {
          ++result.unpriced;
          unpriced_models.insert(p.model);
        }
      }
      r.pending.clear();
      r.pending.shrink_to_fit();
    }
    if (last && last_written == done_files.size() && !options.dry_run) {
      // No file of the last batch had an entry: the last write, empty, still
      // ends the bulk append (the key cache under the usual rule).
      append_options.refresh_cache = true;
      TKB_RETURN_IF_ERROR(book.ledger().AppendEncoded(EncodedEntries(), append_options, &added));
    }
    batch_entries = 0;
    return absl::OkStatus();
  };

  auto commit_files = [&] {
    for (auto& [k, r] : done_files) {
      const FileInfo& f = *jobs[k].file;
      FileState& s = state[f.path];
      s.size = f.size;
      s.mtime_ns = f.mtime_ns;
      s.ino = f.ino;
      s.offset = r->end;
      s.lines = jobs[k].lines_before + r->lines;
      s.codex = r->codex;
      s.codex.file_key.clear();
      result.pending_bytes += std::max<int64_t>(0, f.size - r->end);
      if (r->end < f.size) {
        // The bytes after the last newline are a line still being written:
        // they stay for the next run, so the file is not "unchanged".
        s.size = -1;
      }
    }
    done_files.clear();
  };

  for (size_t k = 0; k < jobs.size(); ++k) {
    std::unique_ptr<FileResult> r;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return ready[k] != nullptr; });
      r = std::move(ready[k]);
      ++consumed;
    }
    changed.notify_all();
    if (!r->error.ok()) {
      failure = r->error;
      break;
    }
    result.bytes_read += r->bytes_read;
    result.lines += r->lines;
    result.usage_lines += r->usage_lines;
    result.copies_merged += r->copies_merged;
    result.before_since += r->before_since;
    result.unusable += r->issue_count;
    for (IngestIssue& issue : r->issues) {
      if (result.issues.size() < options.max_issues) result.issues.push_back(std::move(issue));
    }
    batch_entries += r->encoded.size();
    done_files.emplace_back(k, std::move(r));
    if (batch_entries >= kBatchEntries) {
      failure = write_batch(/*last=*/false);
      if (!failure.ok()) break;
      commit_files();
    }
    if (options.progress) {
      progress.files_done = static_cast<int64_t>(k + 1);
      progress.bytes_done += jobs[k].file->size - jobs[k].begin;
      options.progress(progress);
    }
  }
  if (failure.ok()) {
    failure = write_batch(/*last=*/true);
    if (failure.ok()) commit_files();
  }
  // Save what was written even after a failure, so that a re-run starts
  // there (and the source keys make a re-read harmless anyway).
  if (keep_state) {
    // Files that vanished drop out of the state; files outside this run's
    // paths (a hook ingests one transcript) keep theirs.
    for (auto it = state.begin(); it != state.end();) {
      struct stat st;
      if (::stat(it->first.c_str(), &st) != 0) {
        it = state.erase(it);
      } else {
        ++it;
      }
    }
    absl::Status saved = SaveState(state_path, source, state, ledger_path);
    if (failure.ok()) failure = saved;
  }
  if (!failure.ok()) return failure;
  result.unpriced_models.assign(unpriced_models.begin(), unpriced_models.end());
  return result;
}

std::string IngestResultJson(const IngestResult& r, bool dry_run) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto key = [&w](absl::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); };
  auto str = [&w](absl::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); };
  auto num = [&](absl::string_view k, int64_t v) {
    key(k);
    w.Int64(v);
  };
  w.StartObject();
  key("source");
  str(r.source);
  key("dry_run");
  w.Bool(dry_run);
  num("files", r.files);
  num("files_read", r.files_read);
  num("bytes_read", r.bytes_read);
  num("lines", r.lines);
  num("usage_lines", r.usage_lines);
  num("entries", r.entries);
  num("copies_merged", r.copies_merged);
  num("duplicates", r.duplicates);
  num("before_since", r.before_since);
  num("unpriced", r.unpriced);
  num("unusable", r.unusable);
  num("pending_bytes", r.pending_bytes);
  num("cost_micros", r.cost.value());
  key("cost_usd");
  str(FormatUsd(r.cost, 6));
  key("tokens");
  w.StartObject();
  for (TokenKind k : kAllTokenKinds) num(TokenKindName(k), r.tokens[k].value());
  w.EndObject();
  key("unpriced_models");
  w.StartArray();
  for (const std::string& m : r.unpriced_models) str(m);
  w.EndArray();
  key("issues");
  w.StartArray();
  for (const IngestIssue& i : r.issues) {
    w.StartObject();
    key("file");
    str(i.file);
    num("line", i.line);
    key("reason");
    str(i.reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace v1
}  // namespace tokenbook
