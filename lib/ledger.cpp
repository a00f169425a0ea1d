// The JSONL ledger on a POSIX file system (docs/ledger-format.md).
//
// Appends: entries are encoded outside any lock; then, under the Ledger's
// mutex (threads of this process) and flock(LOCK_EX) on ledger.jsonl (other
// processes, and other Ledger objects of this one), the writer looks at the
// file's end, checks source keys, and issues one write() of all the lines.
// The mutex matters because flock() locks belong to the open file
// description: two threads sharing our descriptor would not exclude each
// other through flock() alone.
//
// Source keys: loaded on first need (an append that carries one, or
// HasSourceKey), from cache/source-keys.jsonl when it is valid, then brought
// up to date by reading only the ledger past the offset it covers. Before
// each later append the same catch-up runs under the lock, so entries other
// processes appended meanwhile are seen: dedup holds across processes and
// costs O(new lines). Entries without a source key never need the set, so a
// plain `log` never reads the ledger at all.
//
// The index in memory is compact: per key a 64-bit hash and the place of a
// line that names the key (its offset in the ledger, or in the cache file
// this object loaded, which it keeps open), 16 bytes a key however long the
// key. A hash hit is confirmed by reading that one line, which also yields
// the existing entry's id; keys whose hashes collide live in a small side
// map. A million keys cost about 17 MB instead of the ~200 MB that strings
// of keys and ids took.
//
// A write that fails part-way is cut back off (ftruncate to where it began,
// still under the lock), so a failed append leaves nothing behind.
//
// Reads never take the lock, except once at the very end when the file does
// not end with a newline: a shared lock then waits out any write in flight,
// so that only a real crash is reported as a torn line.
#include "tokenbook/ledger.h"
#include "tokenbook/ledger_postgres.h"
#include "tokenbook/ledger_sqlite.h"
#include "tokenbook/posix_io.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "tokenbook/entry.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/quarter_totals.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {
namespace {

using posix_io::FileSize;
using posix_io::Fnv1a;
using posix_io::kFnvOffset;
using posix_io::Hex64;
using posix_io::PosixError;
using posix_io::PreadAll;
using posix_io::WriteAll;

constexpr char kLedgerFile[] = "ledger.jsonl";
constexpr char kCacheDir[] = "cache";
constexpr char kKeyCacheFile[] = "source-keys.jsonl";
constexpr char kTotalsCacheFile[] = "report-totals.bin";

// Scan reads this much at a time: large enough that reading is a few dozen
// system calls per 100 MB, small enough to bound a reader's memory. It must
// exceed kMaxLedgerLineBytes so that a line of the maximum size fits.
constexpr size_t kReadChunk = size_t{4} << 20;
static_assert(kReadChunk > kMaxLedgerLineBytes + 1);

// The source-key cache is rewritten once the ledger has grown past the
// offset it covers by this much, or by an eighth of that offset if more:
// each rewrite (O(keys)) is paid for by a proportional amount of new
// ledger, and a reader never rescans more than that.
constexpr int64_t kCacheMinGap = int64_t{1} << 20;
// Bytes of the ledger hashed at each end of the covered range, to notice a
// ledger that was replaced or truncated behind the cache's back.
constexpr int64_t kCacheFingerprintBytes = 4096;

absl::StatusOr<std::pair<uint64_t, uint64_t>> LedgerFingerprint(int fd, const std::string& path, int64_t offset) {
  return posix_io::LedgerFingerprint(fd, path, offset, kCacheFingerprintBytes);
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() { Reset(); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// flock() held for a scope (released early by Release()).
class FileLock {
 public:
  FileLock() = default;
  ~FileLock() { Release(); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  absl::Status Acquire(int fd, int op, const std::string& path) {
    Release();
    while (::flock(fd, op) != 0) {
      if (errno != EINTR) return PosixError(errno, "cannot lock", path);
    }
    fd_ = fd;
    return absl::OkStatus();
  }
  void Release() {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// mkdir -p, with `mode` for every directory it creates.
absl::Status MakeDirs(const std::string& path, uint32_t mode) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    TKB_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), mode));
  }
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
    return PosixError(errno, "cannot create directory", path);
  }
  return absl::OkStatus();
}

bool IsBlank(absl::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// Reads the complete lines of the byte range [begin, limit) of a file in
// large chunks, with memory bounded by the chunk size whatever the file holds.
class LineReader {
 public:
  enum class Result { kLine, kLongLine, kEnd };

  LineReader(int fd, const std::string& path, int64_t begin, int64_t limit, size_t capacity)
      : fd_(fd),
        path_(path),
        limit_(limit),
        read_pos_(begin),
        begin_offset_(begin),
        capacity_(capacity),
        buf_(new char[capacity]) {}

  // kLine: `*line` (without its newline) starts at `*offset`. kLongLine: a
  // line longer than kMaxLedgerLineBytes starting at `*offset` was skipped.
  // kEnd: no complete line is left before the limit.
  absl::StatusOr<Result> Next(absl::string_view* line, int64_t* offset) {
    for (;;) {
      const char* start = buf_.get() + begin_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
      if (nl != nullptr) {
        const auto len = static_cast<size_t>(nl - start);
        *offset = begin_offset_;
        begin_ += len + 1;
        begin_offset_ += static_cast<int64_t>(len + 1);
        if (in_long_line_) {
          in_long_line_ = false;
          *offset = long_line_offset_;
          return Result::kLongLine;
        }
        if (len > kMaxLedgerLineBytes) return Result::kLongLine;
        *line = absl::string_view(start, len);
        return Result::kLine;
      }
      size_t pending = end_ - begin_;
      if (pending > kMaxLedgerLineBytes) {
        // Drop what we hold of an over-long line and look for its end.
        if (!in_long_line_) {
          in_long_line_ = true;
          long_line_offset_ = begin_offset_;
        }
        begin_offset_ += static_cast<int64_t>(pending);
        begin_ = end_ = 0;
        pending = 0;
      }
      if (read_pos_ >= limit_) return Result::kEnd;
      if (begin_ > 0) {
        std::memmove(buf_.get(), buf_.get() + begin_, pending);
        begin_ = 0;
        end_ = pending;
      }
      const size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(capacity_ - end_), limit_ - read_pos_));
      TKB_ASSIGN_OR_RETURN(const size_t got, PreadAll(fd_, buf_.get() + end_, want, read_pos_, path_));
      if (got == 0) {
        limit_ = read_pos_;  // the file is shorter than it was
        continue;
      }
      end_ += got;
      read_pos_ += static_cast<int64_t>(got);
    }
  }

  // After kEnd: where the bytes after the last complete line start (equal
  // to limit() when the range ends with a newline).
  int64_t tail_offset() const { return in_long_line_ ? long_line_offset_ : begin_offset_; }
  int64_t limit() const { return limit_; }
  void ExtendLimit(int64_t limit) { limit_ = std::max(limit_, limit); }

 private:
  const int fd_;
  const std::string& path_;
  int64_t limit_;
  int64_t read_pos_;      // next file offset to read
  int64_t begin_offset_;  // file offset of buf_[begin_]
  const size_t capacity_;
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool in_long_line_ = false;
  int64_t long_line_offset_ = 0;
};

// ---------------------------------------------------------------------------
// Scan: the ledger is cut into chunks of whole lines, decoded by the calling
// thread and, for a large ledger, one helper thread; the caller hands the
// entries to the callback strictly in file order. Memory stays bounded by the
// chunks in flight, whatever the size of the ledger.

constexpr size_t kScanChunkBytes = size_t{2} << 20;
static_assert(kScanChunkBytes > kMaxLedgerLineBytes + 1);
constexpr size_t kScanChunksInFlight = 4;
constexpr int64_t kParallelScanBytes = 4 * static_cast<int64_t>(kScanChunkBytes);

std::string LongLineMessage() { return absl::StrCat("line longer than ", kMaxLedgerLineBytes, " bytes; skipped"); }

struct ScanChunk {
  explicit ScanChunk(size_t cap) : capacity(cap), data(new char[cap]) {}
  const size_t capacity;
  std::unique_ptr<char[]> data;
  int64_t index = 0;       // position in the file's sequence of chunks
  size_t bytes = 0;        // file bytes this chunk stands for
  bool long_line = false;  // one over-long line, not held in `data`
  // Decoded: the first `count` entries (the vector keeps the others' buffers
  // for reuse), the number of lines, and the lines skipped.
  struct Issue {
    int64_t line;           // within the chunk, from 1
    size_t entries_before;  // valid entries above it in the chunk
    std::string message;
  };
  std::vector<Entry> entries;
  size_t count = 0;
  int64_t lines = 0;
  std::vector<Issue> issues;
};

// Cuts [0, limit) of the ledger into chunks of whole lines, in file order.
class Chunker {
 public:
  Chunker(int fd, const std::string& path, int64_t limit, int64_t begin = 0)
      : fd_(fd), path_(path), pos_(begin), limit_(limit) {}

  // Fills `c` with the next whole lines; false when none is left before the
  // limit, the bytes in [pos(), limit()) being then a last line without a
  // newline.
  absl::StatusOr<bool> Next(ScanChunk* c) {
    if (pos_ >= limit_) return false;
    const size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(c->capacity), limit_ - pos_));
    TKB_ASSIGN_OR_RETURN(size_t got, PreadAll(fd_, c->data.get(), want, pos_, path_));
    if (got < want) limit_ = pos_ + static_cast<int64_t>(got);  // the file is shorter than it was
    if (got == 0) return false;
    if (const void* nl = ::memrchr(c->data.get(), '\n', got); nl != nullptr) {
      c->bytes = static_cast<size_t>(static_cast<const char*>(nl) - c->data.get()) + 1;
      c->long_line = false;
    } else if (got < c->capacity) {
      return false;  // what is left has no newline
    } else {
      // No newline in a whole chunk: a line longer than any entry. Find its
      // end without keeping it.
      int64_t at = pos_ + static_cast<int64_t>(got);
      for (;;) {
        if (at >= limit_) return false;  // it runs to the end of the file
        const size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(c->capacity), limit_ - at));
        TKB_ASSIGN_OR_RETURN(got, PreadAll(fd_, c->data.get(), n, at, path_));
        if (got == 0) {
          limit_ = at;
          return false;
        }
        if (const void* end = std::memchr(c->data.get(), '\n', got); end != nullptr) {
          at += static_cast<const char*>(end) - c->data.get() + 1;
          break;
        }
        at += static_cast<int64_t>(got);
      }
      c->bytes = static_cast<size_t>(at - pos_);
      c->long_line = true;
    }
    c->index = issued_++;
    pos_ += static_cast<int64_t>(c->bytes);
    return true;
  }

  int64_t pos() const { return pos_; }
  int64_t limit() const { return limit_; }
  int64_t issued() const { return issued_; }
  void ExtendLimit(int64_t limit) { limit_ = std::max(limit_, limit); }

 private:
  const int fd_;
  const std::string& path_;
  int64_t pos_ = 0;
  int64_t limit_;
  int64_t issued_ = 0;
};

void DecodeChunk(ScanChunk* c, EntryDecoder* decoder) {
  c->count = 0;
  c->lines = 0;
  c->issues.clear();
  if (c->long_line) {
    c->lines = 1;
    c->issues.push_back({1, 0, LongLineMessage()});
    return;
  }
  const char* p = c->data.get();
  const char* const end = p + c->bytes;
  while (p < end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const absl::string_view line(p, static_cast<size_t>(nl - p));
    p = nl + 1;
    ++c->lines;
    if (line.size() > kMaxLedgerLineBytes) {
      c->issues.push_back({c->lines, c->count, LongLineMessage()});
      continue;
    }
    if (IsBlank(line)) continue;
    if (c->count == c->entries.size()) c->entries.emplace_back();
    absl::Status s = decoder->Decode(line, &c->entries[c->count]);
    if (s.ok()) {
      ++c->count;
    } else {
      c->issues.push_back({c->lines, c->count, std::string(s.message())});
    }
  }
}

// One pass of Scan over what the chunker has left.
class ScanPass {
 public:
  ScanPass(Chunker* chunker, size_t chunks) : chunker_(chunker) {
    for (size_t k = 0; k < chunks; ++k) free_.push_back(std::make_unique<ScanChunk>(kScanChunkBytes));
  }

  // Decodes and delivers every chunk, with a helper thread when `parallel`.
  // `deliver` runs on the calling thread only, in file order.
  absl::Status Run(bool parallel, const std::function<void(const ScanChunk&)>& deliver) {
    {
      const int64_t issued = ChunksIssued();
      std::lock_guard<std::mutex> lock(mu_);
      exhausted_ = false;
      stop_ = false;
      next_ = issued;
    }
    std::thread helper;
    if (parallel) helper = std::thread([this] { HelperLoop(); });
    struct Join {  // also when `deliver` throws
      ScanPass* pass;
      std::thread* thread;
      ~Join() {
        {
          std::lock_guard<std::mutex> lock(pass->mu_);
          pass->stop_ = true;
        }
        pass->changed_.notify_all();
        if (thread->joinable()) thread->join();
      }
    } join{this, &helper};

    for (;;) {
      std::unique_ptr<ScanChunk> chunk;
      bool produce = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] {
          return !error_.ok() || ready_.contains(next_) || (exhausted_ && next_ == total_) ||
                 (!exhausted_ && !free_.empty());
        });
        if (!error_.ok()) return error_;
        if (auto it = ready_.find(next_); it != ready_.end()) {
          chunk = std::move(it->second);
          ready_.erase(it);
        } else if (exhausted_) {
          return absl::OkStatus();  // every chunk delivered
        } else {
          chunk = std::move(free_.back());
          free_.pop_back();
          produce = true;
        }
      }
      if (produce) {
        Produce(std::move(chunk), &decoder_);
        continue;
      }
      deliver(*chunk);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++next_;
        free_.push_back(std::move(chunk));
      }
      changed_.notify_all();
    }
  }

 private:
  int64_t ChunksIssued() {
    std::lock_guard<std::mutex> lock(read_mu_);
    return chunker_->issued();
  }

  // Reads the next chunk into `chunk` and decodes it, or marks the end.
  void Produce(std::unique_ptr<ScanChunk> chunk, EntryDecoder* decoder) {
    absl::StatusOr<bool> got;
    int64_t total = 0;
    {
      std::lock_guard<std::mutex> lock(read_mu_);
      got = chunker_->Next(chunk.get());
      total = chunker_->issued();
    }
    if (got.ok() && *got) DecodeChunk(chunk.get(), decoder);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!got.ok()) {
        error_ = got.status();
        free_.push_back(std::move(chunk));
      } else if (!*got) {
        exhausted_ = true;
        total_ = total;
        free_.push_back(std::move(chunk));
      } else {
        const int64_t index = chunk->index;
        ready_.emplace(index, std::move(chunk));
      }
    }
    changed_.notify_all();
  }

  void HelperLoop() {
    EntryDecoder decoder;
    for (;;) {
      std::unique_ptr<ScanChunk> chunk;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return stop_ || exhausted_ || !error_.ok() || !free_.empty(); });
        if (stop_ || exhausted_ || !error_.ok()) return;
        chunk = std::move(free_.back());
        free_.pop_back();
      }
      Produce(std::move(chunk), &decoder);
    }
  }

  Chunker* const chunker_;
  EntryDecoder decoder_;  // the calling thread's
  std::mutex read_mu_;  // the chunker; never held with mu_
  std::mutex mu_;
  std::condition_variable changed_;  // any of the state below changed
  std::vector<std::unique_ptr<ScanChunk>> free_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, std::unique_ptr<ScanChunk>> ready_ ABSL_GUARDED_BY(mu_);
  int64_t next_ ABSL_GUARDED_BY(mu_) = 0;   // the chunk to deliver next
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;  // chunks issued, once exhausted_
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// fork() detection without a system call per append: a child handler bumps a
// generation number, and state that must not be shared with a parent (the
// ULID sequence, a ledger's open file description) remembers the generation
// it belongs to.

std::atomic<uint64_t> g_fork_generation{0};

void OnForkChild() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

uint64_t ForkGeneration() {
  static const bool registered = (::pthread_atfork(nullptr, nullptr, &OnForkChild), true);
  (void)registered;
  return g_fork_generation.load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// ULIDs.

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void RandomBytes(unsigned char* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::getrandom(out + done, n - done, 0);
    if (got > 0) {
      done += static_cast<size_t>(got);
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    // No getrandom(): fall back to the device.
    FileDescriptor fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
    if (fd.get() >= 0) {
      while (done < n) {
        const ssize_t r = ::read(fd.get(), out + done, n - done);
        if (r <= 0 && errno != EINTR) break;
        if (r > 0) done += static_cast<size_t>(r);
      }
    }
    if (done < n) std::abort();  // no entropy at all: refuse to mint ids that could collide
  }
}

class UlidGenerator {
 public:
  std::string Next() {
    const uint64_t now_ms = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())) & ((uint64_t{1} << 48) - 1);
    unsigned __int128 value;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const uint64_t generation = ForkGeneration();
      if (generation != generation_) {  // a fork()ed child must not continue the parent's sequence
        generation_ = generation;
        last_ms_ = 0;
        have_last_ = false;
      }
      constexpr unsigned __int128 kRandomMask = (static_cast<unsigned __int128>(1) << 80) - 1;
      if (!have_last_ || now_ms > last_ms_) {
        last_ms_ = now_ms;
        random_ = FreshRandom();
      } else {
        // Same millisecond (or the clock went back): count up, so ids stay
        // strictly increasing in this process.
        random_ = (random_ + 1) & kRandomMask;
        if (random_ == 0) {
          ++last_ms_;
          random_ = FreshRandom();
        }
      }
      have_last_ = true;
      value = (static_cast<unsigned __int128>(last_ms_) << 80) | random_;
    }
    std::string out(26, '0');
    for (int k = 0; k < 26; ++k) {
      out[static_cast<size_t>(k)] = kCrockford[static_cast<unsigned>(value >> (125 - 5 * k)) & 31];
    }
    return out;
  }

 private:
  static unsigned __int128 FreshRandom() {
    unsigned char bytes[10];
    RandomBytes(bytes, sizeof(bytes));
    unsigned __int128 r = 0;
    for (unsigned char b : bytes) r = (r << 8) | b;
    return r;
  }

  std::mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = ~uint64_t{0};
  bool have_last_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t last_ms_ ABSL_GUARDED_BY(mu_) = 0;
  unsigned __int128 random_ ABSL_GUARDED_BY(mu_) = 0;
};

UlidGenerator& Ulids() {
  static UlidGenerator* const generator = new UlidGenerator();
  return *generator;
}

// ---------------------------------------------------------------------------
// The source-key cache file.

// Appends `s` as a JSON string (keys and ids come from valid ledger lines,
// so they are valid UTF-8).
void AppendQuoted(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(esc, sizeof(esc));
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

// The index's hash of a source key (stable within the process only).
uint64_t KeyHash(absl::string_view key) { return absl::Hash<absl::string_view>{}(key); }

// Reads one `["key","id"]` line of the cache.
class KeyLineHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, KeyLineHandler> {
 public:
  bool Default() { return false; }
  bool StartArray() { return depth_++ == 0; }
  bool EndArray(rapidjson::SizeType n) { return --depth_ == 0 && n == 2; }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ != 1 || count_ >= 2) return false;
    (count_++ == 0 ? key : id).assign(s, n);
    return true;
  }
  void Reset() {
    depth_ = 0;
    count_ = 0;
  }
  std::string key;
  std::string id;

 private:
  int depth_ = 0;
  int count_ = 0;
};

// ---------------------------------------------------------------------------

class LedgerImpl final : public Ledger {
 public:
  // `not_writable`: why appends are refused; empty for a writable ledger.
  LedgerImpl(std::string dir, LedgerOptions options, int fd, std::string not_writable)
      : dir_(std::move(dir)),
        path_(absl::StrCat(dir_, "/", kLedgerFile)),
        cache_dir_(absl::StrCat(dir_, "/", kCacheDir)),
        cache_path_(absl::StrCat(cache_dir_, "/", kKeyCacheFile)),
        totals_path_(absl::StrCat(cache_dir_, "/", kTotalsCacheFile)),
        options_(options),
        writable_(not_writable.empty()),
        not_writable_(std::move(not_writable)),
        fd_(fd),
        generation_(ForkGeneration()) {}

  ~LedgerImpl() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (staged_ != nullptr) {
        // A bulk append that ended without its last batch (an error on the
        // way): keep what the staged cache holds when it is whole.
        if (generation_ != ForkGeneration()) {
          staged_.reset();  // the parent's (see EnsureOwnDescriptorLocked)
        } else if (keys_loaded_) {
          FinishStagedLocked().IgnoreError();
        } else {
          DropStagedLocked();
        }
      }
    }
    if (fd_ >= 0) ::close(fd_);
  }

  const std::string& dir() const override { return dir_; }
  std::string ledger_path() const override { return path_; }

  absl::StatusOr<AppendResult> Append(Entry entry) override {
    AppendResult result;
    TKB_RETURN_IF_ERROR(AppendEntries(&entry, 1, &result, AppendOptions{}));
    return result;
  }

  absl::StatusOr<std::vector<AppendResult>> AppendBatch(std::vector<Entry> entries) override {
    return AppendBatch(std::move(entries), AppendOptions{});
  }

  absl::StatusOr<std::vector<AppendResult>> AppendBatch(std::vector<Entry> entries,
                                                        const AppendOptions& options) override {
    std::vector<AppendResult> results(entries.size());
    if (entries.empty()) return results;
    TKB_RETURN_IF_ERROR(AppendEntries(entries.data(), entries.size(), results.data(), options));
    return results;
  }

  absl::Status Scan(const std::function<void(const Entry&)>& fn,
                    std::vector<LedgerIssue>* issues) const override {
    FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return PosixError(errno, "cannot open", path_);
    TKB_ASSIGN_OR_RETURN(const int64_t size, FileSize(fd.get(), path_));
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    Chunker chunker(fd.get(), path_, size);
    const bool parallel = size >= kParallelScanBytes && std::thread::hardware_concurrency() > 1;
    ScanPass pass(&chunker, parallel ? kScanChunksInFlight : 1);
    int64_t line_base = 0;
    auto deliver = [&](const ScanChunk& c) {
      // Entries and issues interleave as their lines do in the file.
      size_t k = 0;
      for (const ScanChunk::Issue& issue : c.issues) {
        for (; k < issue.entries_before; ++k) fn(c.entries[k]);
        if (issues != nullptr) issues->push_back(LedgerIssue{path_, line_base + issue.line, issue.message});
      }
      for (; k < c.count; ++k) fn(c.entries[k]);
      line_base += c.lines;
    };
    TKB_RETURN_IF_ERROR(pass.Run(parallel, deliver));
    if (chunker.pos() < chunker.limit()) {
      // No newline at the end: either a crash tore the last line, or a
      // writer is in the middle of its write(). Writers hold LOCK_EX for the
      // whole write, so once we get LOCK_SH every byte up to the size we
      // then see belongs to a finished write.
      int64_t now = 0;
      {
        FileLock shared;
        TKB_RETURN_IF_ERROR(shared.Acquire(fd.get(), LOCK_SH, path_));
        TKB_ASSIGN_OR_RETURN(now, FileSize(fd.get(), path_));
      }
      if (now > chunker.limit()) {
        chunker.ExtendLimit(now);
        TKB_RETURN_IF_ERROR(pass.Run(false, deliver));
      }
    }
    if (chunker.pos() < chunker.limit() && !IsBlankTail(fd.get(), chunker.pos(), chunker.limit())) {
      if (issues != nullptr) {
        issues->push_back(LedgerIssue{path_, line_base + 1,
                                      absl::StrCat("torn last line (", chunker.limit() - chunker.pos(),
                                                   " bytes without a newline; a crash during a write?); skipped")});
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> ScanFrom(int64_t begin, const std::function<void(const Entry&)>& fn,
                                   std::vector<LedgerIssue>* issues) const override {
    FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return PosixError(errno, "cannot open", path_);
    TKB_ASSIGN_OR_RETURN(const int64_t size, FileSize(fd.get(), path_));
    if (begin < 0 || begin > size) {
      return absl::OutOfRangeError(absl::StrCat("offset ", begin, " is beyond the end of ", path_, " (", size, " bytes)"));
    }
    ::posix_fadvise(fd.get(), begin, 0, POSIX_FADV_SEQUENTIAL);
    Chunker chunker(fd.get(), path_, size, begin);
    const bool parallel = size - begin >= kParallelScanBytes && std::thread::hardware_concurrency() > 1;
    ScanPass pass(&chunker, parallel ? kScanChunksInFlight : 1);
    int64_t line_base = 0;
    auto deliver = [&](const ScanChunk& c) {
      size_t k = 0;
      for (const ScanChunk::Issue& issue : c.issues) {
        for (; k < issue.entries_before; ++k) fn(c.entries[k]);
        if (issues != nullptr) issues->push_back(LedgerIssue{path_, line_base + issue.line, issue.message});
      }
      for (; k < c.count; ++k) fn(c.entries[k]);
      line_base += c.lines;
    };
    TKB_RETURN_IF_ERROR(pass.Run(parallel, deliver));
    return chunker.pos();
  }

  // From cache/report-totals.bin (see quarter_totals.h), brought up to date
  // by reading the lines past it, when the query allows and the ledger has
  // no line that Scan would report: a skipped line or a torn tail leaves the
  // report to Scan, which names them. The cache is rewritten when the lines
  // read past it were many (kCacheMinGap, and an eighth of what it covers).
  absl::StatusOr<bool> AddTotalsTo(Rollup* rollup) const override {
    int64_t first = 0, end = 0;
    if (!QuarterTotals::Answers(rollup->query(), &first, &end)) return false;
    FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return false;  // Scan reports it
    QuarterTotals sums;
    binary_cache::LedgerStamp stamp;
    if (!LoadQuarterTotalsCache(totals_path_, fd.get(), path_, &sums, &stamp)) stamp.covered = 0;
    TKB_ASSIGN_OR_RETURN(const int64_t size, FileSize(fd.get(), path_));
    if (stamp.covered < size) {
      std::vector<LedgerIssue> issues;
      TKB_ASSIGN_OR_RETURN(const int64_t read_to,
                           ScanFrom(stamp.covered, [&](const Entry& e) { sums.Add(e); }, &issues));
      if (!issues.empty() || !sums.usable()) return false;
      if (read_to < size) {
        // A last line without its newline: a write in progress, which
        // LOCK_SH waits out, or a torn line for Scan to report.
        FileLock shared;
        TKB_RETURN_IF_ERROR(shared.Acquire(fd.get(), LOCK_SH, path_));
        TKB_ASSIGN_OR_RETURN(const int64_t now, FileSize(fd.get(), path_));
        char last = '\n';
        TKB_ASSIGN_OR_RETURN(const size_t got, PreadAll(fd.get(), &last, 1, now - 1, path_));
        if (got != 1 || last != '\n') return false;
      }
      const int64_t gap = read_to - stamp.covered;
      if (writable_ && gap >= kCacheMinGap && gap >= stamp.covered / 8) {
        StoreQuarterTotalsCache(totals_path_, fd.get(), path_, read_to, sums, options_.file_mode, options_.dir_mode);
      }
    }
    return sums.AddTo(rollup);
  }

  absl::StatusOr<bool> HasSourceKey(absl::string_view key) const override {
    if (key.empty()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(EnsureOwnDescriptorLocked());
    FileLock file_lock;
    TKB_RETURN_IF_ERROR(file_lock.Acquire(fd_, LOCK_SH, path_));
    TKB_ASSIGN_OR_RETURN(const int64_t size, FileSize(fd_, path_));
    TKB_RETURN_IF_ERROR(CatchUpLocked(size));
    file_lock.Release();
    MaybePersistKeysLocked(false).IgnoreError();
    TKB_ASSIGN_OR_RETURN(const int64_t where, FindKeyLocked(key));
    return where != kNoKey;
  }

  absl::Status RefreshCache() override {
    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(EnsureOwnDescriptorLocked());
    FileLock file_lock;
    TKB_RETURN_IF_ERROR(file_lock.Acquire(fd_, LOCK_SH, path_));
    TKB_ASSIGN_OR_RETURN(const int64_t size, FileSize(fd_, path_));
    TKB_RETURN_IF_ERROR(CatchUpLocked(size));
    file_lock.Release();
    return MaybePersistKeysLocked(true);
  }

 private:
  // A trailing piece of only blanks is not an entry: nothing to report.
  static bool IsBlankTail(int fd, int64_t begin, int64_t end) {
    const int64_t n = end - begin;
    if (n > 64) return false;
    char buf[64];
    const ssize_t got = ::pread(fd, buf, static_cast<size_t>(n), static_cast<off_t>(begin));
    return got == n && IsBlank(absl::string_view(buf, static_cast<size_t>(n)));
  }

  absl::Status AppendEntries(Entry* entries, size_t n, AppendResult* results, const AppendOptions& options) {
    if (!writable_) {
      return absl::PermissionDeniedError(not_writable_);
    }
    // Encode outside the lock.
    thread_local EncodedEntries encoded;
    thread_local std::vector<bool> appended;
    struct Trim {  // a huge batch must not pin its memory to the thread
      ~Trim() {
        if (encoded.text.capacity() > kReadChunk) encoded = EncodedEntries();
        if (encoded.ends.capacity() > 4096) encoded = EncodedEntries();
      }
    } trim;
    encoded.Clear();
    const absl::Time now = absl::Now();
    for (size_t k = 0; k < n; ++k) {
      Entry& e = entries[k];
      if (e.timestamp == absl::UnixEpoch()) e.timestamp = now;
      absl::Status s = encoded.Add(e);
      if (!s.ok()) {
        if (n == 1) return s;
        return absl::Status(s.code(), absl::StrCat("entry ", k + 1, " of ", n, ": ", s.message()));
      }
    }
    TKB_RETURN_IF_ERROR(WriteEncoded(encoded, options, &appended, results));
    for (size_t k = 0; k < n; ++k) {
      if (appended[k]) results[k] = AppendResult{true, entries[k].id};
    }
    return absl::OkStatus();
  }

  absl::Status AppendEncoded(const EncodedEntries& entries, const AppendOptions& options,
                             std::vector<bool>* appended) override {
    if (!writable_ && !entries.empty()) {
      return absl::PermissionDeniedError(not_writable_);
    }
    return WriteEncoded(entries, options, appended, nullptr);
  }

  // Appends the encoded lines whose source key is neither in the ledger nor
  // earlier in `enc`, with one write() under the lock. `results`, when not
  // null, gets the id of each entry not appended (its namesake's).
  absl::Status WriteEncoded(const EncodedEntries& enc, const AppendOptions& options, std::vector<bool>* appended,
                            AppendResult* results) {
    const size_t n = enc.size();
    appended->assign(n, true);
    if (n == 0) {
      if (options.refresh_cache) {
        std::lock_guard<std::mutex> lock(mu_);
        EndBulkLocked();
      }
      return absl::OkStatus();
    }
    bool any_key = false;
    for (size_t k = 0; k < n && !any_key; ++k) any_key = !enc.key(k).empty();

    std::lock_guard<std::mutex> lock(mu_);
    TKB_RETURN_IF_ERROR(EnsureOwnDescriptorLocked());
    FileLock file_lock;
    TKB_RETURN_IF_ERROR(file_lock.Acquire(fd_, LOCK_EX, path_));
    TKB_ASSIGN_OR_RETURN(const int64_t size, FileSize(fd_, path_));

    bool torn_tail = false;
    if (any_key || keys_loaded_) {
      TKB_RETURN_IF_ERROR(CatchUpLocked(size));
      torn_tail = covered_ < size;
    } else if (size > 0 && size != known_end_) {
      char last = '\n';
      TKB_ASSIGN_OR_RETURN(const size_t got, PreadAll(fd_, &last, 1, size - 1, path_));
      torn_tail = got == 1 && last != '\n';
    }

    // Drop entries whose source key is in the ledger, or earlier in this batch.
    const std::string& buf = enc.text;
    const char* data = buf.data() + 1;
    size_t length = buf.size() - 1;
    std::string kept;
    if (any_key) {
      absl::flat_hash_map<absl::string_view, size_t> batch_keys;
      bool dropped = false;
      for (size_t k = 0; k < n; ++k) {
        const absl::string_view key = enc.key(k);
        if (key.empty()) continue;
        TKB_ASSIGN_OR_RETURN(const int64_t where, FindKeyLocked(key));
        if (where != kNoKey) {
          (*appended)[k] = false;
          if (results != nullptr) {
            results[k] = AppendResult{false, {}};
            if (options.existing_ids) {
              std::string existing_key;
              TKB_RETURN_IF_ERROR(ReadKeyAtLocked(where, &existing_key, &results[k].id));
            }
          }
          dropped = true;
        } else if (auto [bit, inserted] = batch_keys.try_emplace(key, k); !inserted) {
          (*appended)[k] = false;
          if (results != nullptr) results[k] = AppendResult{false, std::string(enc.id(bit->second))};
          dropped = true;
        }
      }
      if (dropped) {
        kept.push_back('\n');
        for (size_t k = 0; k < n; ++k) {
          if (!(*appended)[k]) continue;
          const size_t begin = k == 0 ? 1 : enc.ends[k - 1];
          kept.append(buf, begin, enc.ends[k] - begin);
        }
        data = kept.data() + 1;
        length = kept.size() - 1;
      }
    }
    if (length == 0) {
      file_lock.Release();
      if (options.refresh_cache) EndBulkLocked();
      return absl::OkStatus();
    }
    if (!options.refresh_cache || track_ != nullptr) PrepareTotalsLocked(size);
    if (torn_tail) {
      --data;  // the '\n' in front
      ++length;
    }

    absl::Status written = WriteAll(fd_, data, length, path_);
    if (written.ok() && options_.durability == Durability::kFsync && ::fsync(fd_) != 0) {
      written = PosixError(errno, "cannot fsync", path_);
    }
    if (!written.ok()) {
      known_end_ = -1;
      if (track_ != nullptr) track_->off = true;
      return UndoFailedWriteLocked(size, written);
    }
    const int64_t end = size + static_cast<int64_t>(length);
    known_end_ = end;
    if (track_ != nullptr) TrackTotalsLocked(enc, *appended, end);
    if (keys_loaded_) {
      // Each appended line's offset: they follow one another from where the
      // write began (after the newline that closed a torn tail).
      int64_t at = size + (torn_tail ? 1 : 0);
      bool indexed = true;
      for (size_t k = 0; k < n && indexed; ++k) {
        if (!(*appended)[k]) continue;
        const size_t begin = k == 0 ? 1 : enc.ends[k - 1];
        if (!enc.key(k).empty()) indexed = AddKeyLocked(enc.key(k), at).ok();
        at += static_cast<int64_t>(enc.ends[k] - begin);
      }
      if (indexed) {
        if (!options.refresh_cache || staged_ != nullptr) StageKeysLocked(enc, *appended, end);
        covered_ = end;
      } else {
        ForgetKeysLocked();  // a line failed to read back: rebuild the index on next need
      }
    }
    file_lock.Release();
    if (options.refresh_cache) EndBulkLocked();
    return absl::OkStatus();
  }

  // After the last write of a bulk append (or any write with refresh_cache):
  // the cache under the usual rule; a cache staged but not worth keeping goes.
  void EndBulkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (keys_loaded_) MaybePersistKeysLocked(false).IgnoreError();
    DropStagedLocked();
    if (track_ != nullptr) {
      if (!track_->off && writable_) {
        StoreQuarterTotalsCache(totals_path_, fd_, path_, track_->covered, track_->sums, options_.file_mode,
                                options_.dir_mode);
      }
      track_.reset();
    }
  }

  // The report totals cache of a bulk append (ingestion). Without it, the
  // first report after an ingest would decode every line just appended;
  // with it, that report reads a few thousand rows. The totals are kept from
  // the entries as they were encoded (EncodedEntries::sums), so the ledger
  // is never read back for them. They start from the cache, or from nothing
  // for an empty ledger, and follow the ledger only while every byte of it
  // is accounted for: lines other writers append between batches are read
  // (up to kTotalsCatchUpBytes of them); a skipped line, a torn tail, a
  // failed write or a ledger without a usable cache turns tracking off, and
  // the next report rebuilds the cache from the ledger instead.
  struct TotalsTrack {
    QuarterTotals sums;
    int64_t covered = 0;  // sums are those of the ledger's bytes [0, covered)
    bool off = false;
  };
  static constexpr int64_t kTotalsCatchUpBytes = int64_t{8} << 20;

  // Called under LOCK_EX before a write at `size`.
  void PrepareTotalsLocked(int64_t size) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (track_ == nullptr) {
      track_ = std::make_unique<TotalsTrack>();
      binary_cache::LedgerStamp stamp;
      if (LoadQuarterTotalsCache(totals_path_, fd_, path_, &track_->sums, &stamp)) {
        track_->covered = stamp.covered;
      } else {
        track_->off = size > 0;
      }
    }
    TotalsTrack& t = *track_;
    if (t.off || t.covered == size) return;
    if (t.covered > size || size - t.covered > kTotalsCatchUpBytes) {
      t.off = true;
      return;
    }
    std::vector<LedgerIssue> issues;
    absl::StatusOr<int64_t> end = ScanFrom(t.covered, [&](const Entry& e) { t.sums.Add(e); }, &issues);
    t.off = !end.ok() || *end != size || !issues.empty() || !t.sums.usable();
    t.covered = size;
  }

  // Called after the batch `enc` was written, up to `end`.
  void TrackTotalsLocked(const EncodedEntries& enc, const std::vector<bool>& appended, int64_t end) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TotalsTrack& t = *track_;
    if (t.off) return;
    if (std::find(appended.begin(), appended.end(), false) == appended.end()) {
      t.sums.Merge(enc.sums);
    } else {
      for (size_t k = 0; k < enc.size(); ++k) {
        if (!appended[k]) continue;
        if (!decoder_.Decode(enc.line(k), &scratch_).ok()) {
          t.off = true;
          return;
        }
        t.sums.Add(scratch_);
      }
    }
    t.covered = end;
    t.off = !t.sums.usable();
  }

  // The source-key cache of a bulk append (ingestion appends batch after
  // batch with refresh_cache off, then its last batch with it on). Rather
  // than read every appended line back at the end to list its key, the new
  // cache file is written as the batches go: the old cache's key lines and
  // those of lines it does not cover when the first batch is written, then
  // each batch's keys, straight from the encoded entries. Its header, which
  // names the ledger offset covered and fingerprints the ledger up to it, is
  // written last, into room left at the start of the file (JSON allows the
  // spaces that pad it). The usual rule then decides whether it replaces
  // the cache; any error drops it, and the usual rewrite applies.
  struct StagedCache {
    std::string tmp;
    FileDescriptor fd;
    std::string out;           // key lines not yet written
    int64_t written = 0;       // bytes of key lines written
    uint64_t hash = kFnvOffset;
    int64_t count = 0;
    int64_t covered = 0;       // the ledger offset the key lines reach
    absl::Status status;
  };
  static constexpr int64_t kStagedHeaderRoom = 512;  // the header line, padded, with its newline

  void StageLineLocked(absl::string_view key, absl::string_view id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StagedCache& st = *staged_;
    const size_t begin = st.out.size();
    st.out.push_back('[');
    AppendQuoted(key, &st.out);
    st.out.push_back(',');
    AppendQuoted(id, &st.out);
    st.out.append("]\n");
    st.hash = Fnv1a(absl::string_view(st.out).substr(begin), st.hash);
    ++st.count;
    if (st.out.size() >= (size_t{1} << 20)) FlushStagedLocked();
  }

  void FlushStagedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StagedCache& st = *staged_;
    if (st.status.ok() && !st.out.empty()) {
      st.status = WriteAll(st.fd.get(), st.out.data(), st.out.size(), st.tmp);
      st.written += static_cast<int64_t>(st.out.size());
    }
    st.out.clear();
  }

  // Lists the keys of the lines the index points at in [staged covered,
  // covered_): what other writers appended, caught up before this write.
  void StageIndexedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StagedCache& st = *staged_;
    if (!st.status.ok() || st.covered >= covered_) return;
    absl::StatusOr<int64_t> tail = ForEachIndexedLineLocked(
        st.covered, covered_, [&](absl::string_view key, absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          StageLineLocked(key, id);
          return st.status;
        });
    if (!tail.ok() && st.status.ok()) st.status = tail.status();
    st.covered = covered_;
  }

  // Called after a batch written at the old covered_ up to `end` (covered_
  // not yet moved) with every appended key indexed.
  void StageKeysLocked(const EncodedEntries& enc, const std::vector<bool>& appended, int64_t end) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!writable_) return;
    if (staged_ == nullptr) {
      // Worth it only when the old cache is small to copy (a first ingest)
      // or the usual rule would rewrite it at the end anyway.
      const int64_t old_keys = cache_fd_.get() >= 0 ? cache_keys_end_ - cache_keys_begin_ : 0;
      const int64_t gap = end - cache_offset_;
      if (old_keys >= kCacheMinGap && gap < cache_offset_ / 8) return;
      if (!StartStagedLocked()) return;
    }
    StagedCache& st = *staged_;
    StageIndexedLocked();  // covered_ is where this write began
    for (size_t k = 0; k < enc.size() && st.status.ok(); ++k) {
      if (appended[k] && !enc.key(k).empty()) StageLineLocked(enc.key(k), enc.id(k));
    }
    st.covered = end;
    if (!st.status.ok()) DropStagedLocked();
  }

  bool StartStagedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!MakeDirs(cache_dir_, options_.dir_mode).ok()) return false;
    auto st = std::make_unique<StagedCache>();
    st->tmp = CacheTempPath();
    st->fd.Reset(::open(st->tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(options_.file_mode)));
    if (st->fd.get() < 0) return false;
    if (::lseek(st->fd.get(), kStagedHeaderRoom, SEEK_SET) != kStagedHeaderRoom) {
      ::unlink(st->tmp.c_str());
      return false;
    }
    st->covered = cache_offset_;
    staged_ = std::move(st);
    StagedCache& s = *staged_;
    // The old cache's key lines, verbatim (and counted, as the reader will).
    if (cache_fd_.get() >= 0) {
      LineReader old(cache_fd_.get(), cache_path_, cache_keys_begin_, cache_keys_end_, kReadChunk);
      for (;;) {
        absl::string_view line;
        int64_t offset = 0;
        absl::StatusOr<LineReader::Result> r = old.Next(&line, &offset);
        if (!r.ok()) {
          s.status = r.status();
          break;
        }
        if (*r == LineReader::Result::kEnd) break;
        if (*r == LineReader::Result::kLongLine) continue;
        const size_t begin = s.out.size();
        s.out.append(line.data(), line.size());
        s.out.push_back('\n');
        s.hash = Fnv1a(absl::string_view(s.out).substr(begin), s.hash);
        ++s.count;
        if (s.out.size() >= (size_t{1} << 20)) FlushStagedLocked();
      }
    }
    if (!s.status.ok()) {
      DropStagedLocked();
      return false;
    }
    return true;
  }

  // A temporary name beside the cache file, unique in this process (one
  // counter for every ledger object and both ways the cache is written).
  std::string CacheTempPath() const {
    static std::atomic<uint64_t> counter{0};
    return absl::StrCat(cache_path_, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  }

  void DropStagedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (staged_ == nullptr) return;
    if (staged_->fd.get() >= 0) ::unlink(staged_->tmp.c_str());
    staged_.reset();
  }

  // Completes the staged cache up to covered_ and puts it in place.
  absl::Status FinishStagedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    struct Drop {
      const LedgerImpl* self;
      ~Drop() { self->DropStagedLocked(); }
    } drop{this};
    StagedCache& st = *staged_;
    StageIndexedLocked();
    FlushStagedLocked();
    TKB_RETURN_IF_ERROR(st.status);
    if (static_cast<size_t>(st.count) != KeyCountLocked()) {
      return absl::InternalError(absl::StrCat("source-key cache: staged ", st.count, " keys, the index holds ",
                                              KeyCountLocked()));
    }
    TKB_ASSIGN_OR_RETURN(auto fingerprint, LedgerFingerprint(fd_, path_, covered_));
    std::string header = absl::StrCat("{\"v\":1,\"kind\":\"source-keys\",\"ledger_offset\":", covered_,
                                      ",\"head_fnv1a64\":\"", Hex64(fingerprint.first), "\",\"tail_fnv1a64\":\"",
                                      Hex64(fingerprint.second), "\"}");
    if (static_cast<int64_t>(header.size()) >= kStagedHeaderRoom) {
      return absl::InternalError("source-key cache: header longer than its room");
    }
    header.resize(kStagedHeaderRoom - 1, ' ');
    header.push_back('\n');
    TKB_RETURN_IF_ERROR(posix_io::PwriteAll(st.fd.get(), header.data(), header.size(), 0, st.tmp));
    const std::string trailer =
        absl::StrCat("{\"end\":true,\"count\":", st.count, ",\"fnv1a64\":\"", Hex64(st.hash), "\"}\n");
    TKB_RETURN_IF_ERROR(WriteAll(st.fd.get(), trailer.data(), trailer.size(), st.tmp));
    if (::rename(st.tmp.c_str(), cache_path_.c_str()) != 0) return PosixError(errno, "cannot rename", st.tmp);
    cache_fd_.Reset(st.fd.release());
    cache_keys_begin_ = kStagedHeaderRoom;
    cache_keys_end_ = kStagedHeaderRoom + st.written;
    cache_offset_ = covered_;
    staged_.reset();
    return absl::OkStatus();
  }

  // A write that failed part-way (a full disk, a file-size limit, an I/O
  // error) may have left part of a line, or whole lines of a batch, that the
  // caller is told were not appended. We still hold LOCK_EX, so every byte
  // past `size` is ours: cutting them off keeps "an error means nothing was
  // appended" true, and leaves no half line behind for readers to skip.
  // Nothing acknowledged is ever touched: `size` is where this write began.
  absl::Status UndoFailedWriteLocked(int64_t size, const absl::Status& error) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int rc;
    do {
      rc = ::ftruncate(fd_, static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) return absl::Status(error.code(), absl::StrCat(error.message(), "; nothing was appended"));
    const int err = errno;
    return absl::Status(error.code(),
                        absl::StrCat(error.message(), "; part of the write may remain as a torn line (cannot truncate: ",
                                     std::strerror(err), ")"));
  }

  // After fork(), the child shares our open file description and with it
  // the flock(): it must lock through a description of its own.
  absl::Status EnsureOwnDescriptorLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t generation = ForkGeneration();
    if (generation == generation_) return absl::OkStatus();
    // A cache the parent is staging stays the parent's: not written, not removed.
    staged_.reset();
    track_.reset();
    const int flags = writable_ ? (O_RDWR | O_APPEND | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
    const int fd = ::open(path_.c_str(), flags);
    if (fd < 0) return PosixError(errno, "cannot reopen", path_);
    ::close(fd_);
    fd_ = fd;
    generation_ = generation;
    return absl::OkStatus();
  }

  // Where a key's line is: >= 0 an offset in the ledger; < 0 the line's
  // offset within the key lines of the open cache file, as -(offset + 1).
  static constexpr int64_t kNoKey = std::numeric_limits<int64_t>::min();

  // Where the line that carries `key` is, or kNoKey.
  absl::StatusOr<int64_t> FindKeyLocked(absl::string_view key) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!key_collisions_.empty()) {
      if (auto it = key_collisions_.find(key); it != key_collisions_.end()) return it->second;
    }
    auto it = keys_.find(KeyHash(key));
    if (it == keys_.end()) return kNoKey;
    std::string found;
    TKB_RETURN_IF_ERROR(ReadKeyAtLocked(it->second, &found, nullptr));
    return found == key ? it->second : kNoKey;
  }

  // Records that the line at `where` carries `key`, unless a line before
  // it already does (the first one wins, as readers see it).
  absl::Status AddKeyLocked(absl::string_view key, int64_t where) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto [it, inserted] = keys_.try_emplace(KeyHash(key), where);
    if (inserted) return absl::OkStatus();
    std::string found;
    TKB_RETURN_IF_ERROR(ReadKeyAtLocked(it->second, &found, nullptr));
    if (found != key) key_collisions_.try_emplace(std::string(key), where);
    return absl::OkStatus();
  }

  size_t KeyCountLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return keys_.size() + key_collisions_.size();
  }

  // Reads the key (and, when `id` is not null, the entry id) of the line at
  // `where`.
  absl::Status ReadKeyAtLocked(int64_t where, std::string* key, std::string* id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const bool in_cache = where < 0;
    const int fd = in_cache ? cache_fd_.get() : fd_;
    const std::string& path = in_cache ? cache_path_ : path_;
    const int64_t offset = in_cache ? cache_keys_begin_ + (-(where + 1)) : where;
    std::string& line = line_buf_;
    size_t want = 1024;
    for (;;) {
      line.resize(want);
      TKB_ASSIGN_OR_RETURN(const size_t got, PreadAll(fd, line.data(), want, offset, path));
      line.resize(got);
      const size_t nl = line.find('\n');
      if (nl != std::string::npos) {
        line.resize(nl);
        break;
      }
      if (got < want || want > kMaxLedgerLineBytes) {
        return absl::DataLossError(absl::StrCat(path, ": no whole line at offset ", offset));
      }
      want *= 4;
    }
    if (in_cache) {
      KeyLineHandler handler;
      rapidjson::Reader reader;
      rapidjson::MemoryStream in(line.data(), line.size());
      if (reader.Parse(in, handler).IsError()) {
        return absl::DataLossError(absl::StrCat(path, ": unreadable key line at offset ", offset));
      }
      *key = std::move(handler.key);
      if (id != nullptr) *id = std::move(handler.id);
      return absl::OkStatus();
    }
    // A decoder of its own: callers may hold references into scratch_.
    absl::Status s = lookup_decoder_.Decode(line, &lookup_scratch_);
    if (!s.ok()) return absl::DataLossError(absl::StrCat(path, ": offset ", offset, ": ", s.message()));
    *key = lookup_scratch_.source_key;
    if (id != nullptr) *id = lookup_scratch_.id;
    return absl::OkStatus();
  }

  void ForgetKeysLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    DropStagedLocked();
    absl::flat_hash_map<uint64_t, int64_t>().swap(keys_);
    key_collisions_.clear();
    cache_fd_.Reset();
    cache_keys_begin_ = cache_keys_end_ = 0;
    covered_ = 0;
    cache_offset_ = 0;
    keys_loaded_ = false;
  }

  // Calls fn(key, id, offset) for every line with a source key in the
  // ledger range [begin, end); returns where the bytes after the last
  // complete line start.
  absl::StatusOr<int64_t> ForEachKeyedLineLocked(
      int64_t begin, int64_t end,
      const std::function<absl::Status(const std::string&, const std::string&, int64_t)>& fn) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (begin >= end) return begin;
    const size_t capacity = static_cast<size_t>(std::clamp<int64_t>(end - begin, 1, static_cast<int64_t>(kReadChunk)));
    LineReader reader(fd_, path_, begin, end, capacity);
    for (;;) {
      absl::string_view line;
      int64_t offset = 0;
      TKB_ASSIGN_OR_RETURN(const LineReader::Result r, reader.Next(&line, &offset));
      if (r == LineReader::Result::kEnd) break;
      if (r == LineReader::Result::kLongLine) continue;
      // Only a line that mentions "source" can carry a key. A key name
      // spelled with \u escapes would hide it, so such lines are decoded too.
      if (line.find("\"source\"") == absl::string_view::npos && line.find("\\u") == absl::string_view::npos) {
        continue;
      }
      // A line readers skip does not count: its key is not in the ledger.
      if (!decoder_.Decode(line, &scratch_).ok() || scratch_.source_key.empty()) continue;
      TKB_RETURN_IF_ERROR(fn(scratch_.source_key, scratch_.id, offset));
    }
    return reader.tail_offset();
  }

  // True when the index records the line at `offset` as the one carrying `key`.
  bool IsIndexedAtLocked(absl::string_view key, int64_t offset) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!key_collisions_.empty()) {
      if (auto c = key_collisions_.find(key); c != key_collisions_.end() && c->second == offset) return true;
    }
    auto it = keys_.find(KeyHash(key));
    return it != keys_.end() && it->second == offset;
  }

  // The id and source key of a line as EncodeEntryJson writes it
  // ({"v":1,"id":"...", ... ,"source":{"kind":"...","key":"..."}}), when
  // neither needs unescaping; false for any other shape.
  static bool CanonicalIdAndKey(absl::string_view line, absl::string_view* id, absl::string_view* key) {
    constexpr absl::string_view kHead = "{\"v\":1,\"id\":\"";
    constexpr absl::string_view kTail = "\"}}";
    constexpr absl::string_view kSource = ",\"source\":{\"kind\":\"";
    constexpr absl::string_view kKey = "\",\"key\":\"";
    if (!absl::StartsWith(line, kHead) || !absl::EndsWith(line, kTail)) return false;
    const size_t id_end = line.find('"', kHead.size());
    if (id_end == absl::string_view::npos) return false;
    *id = line.substr(kHead.size(), id_end - kHead.size());
    const size_t source = line.rfind(kSource);
    if (source == absl::string_view::npos || source < id_end) return false;
    const size_t kind_begin = source + kSource.size();
    const size_t key_marker = line.find(kKey, kind_begin);
    if (key_marker == absl::string_view::npos) return false;
    const size_t key_begin = key_marker + kKey.size();
    if (key_begin > line.size() - kTail.size()) return false;
    *key = line.substr(key_begin, line.size() - kTail.size() - key_begin);
    const absl::string_view kind = line.substr(kind_begin, key_marker - kind_begin);
    for (absl::string_view part : {*id, kind, *key}) {
      if (part.find('\\') != absl::string_view::npos || part.find('"') != absl::string_view::npos) return false;
    }
    return !key->empty();
  }

  // Calls fn(key, id) for every line in [begin, end) that the index records
  // as the first to carry its key, in file order.
  absl::StatusOr<int64_t> ForEachIndexedLineLocked(
      int64_t begin, int64_t end, const std::function<absl::Status(absl::string_view, absl::string_view)>& fn) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (begin >= end) return begin;
    const size_t capacity = static_cast<size_t>(std::clamp<int64_t>(end - begin, 1, static_cast<int64_t>(kReadChunk)));
    LineReader reader(fd_, path_, begin, end, capacity);
    for (;;) {
      absl::string_view line;
      int64_t offset = 0;
      TKB_ASSIGN_OR_RETURN(const LineReader::Result r, reader.Next(&line, &offset));
      if (r == LineReader::Result::kEnd) break;
      if (r == LineReader::Result::kLongLine) continue;
      absl::string_view id;
      absl::string_view key;
      if (CanonicalIdAndKey(line, &id, &key)) {
        if (IsIndexedAtLocked(key, offset)) TKB_RETURN_IF_ERROR(fn(key, id));
        continue;
      }
      if (line.find("\"source\"") == absl::string_view::npos && line.find("\\u") == absl::string_view::npos) {
        continue;
      }
      if (!decoder_.Decode(line, &scratch_).ok() || scratch_.source_key.empty()) continue;
      if (IsIndexedAtLocked(scratch_.source_key, offset)) TKB_RETURN_IF_ERROR(fn(scratch_.source_key, scratch_.id));
    }
    return reader.tail_offset();
  }

  // Brings the key index up to `size`, loading it first if needed. Call
  // with the file locked (shared or exclusive), so that no write is in
  // flight.
  absl::Status CatchUpLocked(int64_t size) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (keys_loaded_ && size < covered_) {
      // The ledger shrank: it was replaced or truncated. Start over.
      ForgetKeysLocked();
    }
    if (!keys_loaded_) {
      ForgetKeysLocked();
      LoadCacheLocked(size);  // a missing or stale cache just means a full read
      keys_loaded_ = true;
    }
    if (covered_ >= size) return absl::OkStatus();
    absl::StatusOr<int64_t> tail = ForEachKeyedLineLocked(
        covered_, size, [this](const std::string& key, const std::string&, int64_t offset)
                            ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return AddKeyLocked(key, offset); });
    if (!tail.ok()) {
      ForgetKeysLocked();  // leave no half-read state behind
      return tail.status();
    }
    covered_ = *tail;
    return absl::OkStatus();
  }

  // Loads cache/source-keys.jsonl if it is whole and matches the ledger,
  // reading it in chunks (its size grows with the ledger) and keeping it
  // open: the index points into it.
  void LoadCacheLocked(int64_t size) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    FileDescriptor fd(::open(cache_path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return;
    absl::StatusOr<int64_t> cache_size = FileSize(fd.get(), cache_path_);
    if (!cache_size.ok() || *cache_size <= 0) return;
    LineReader lines(fd.get(), cache_path_, 0, *cache_size, kReadChunk);
    absl::string_view line;
    int64_t line_offset = 0;
    absl::StatusOr<LineReader::Result> r = lines.Next(&line, &line_offset);
    if (!r.ok() || *r != LineReader::Result::kLine) return;
    rapidjson::Document header;
    header.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(line.data(), line.size());
    if (header.HasParseError() || !header.IsObject()) return;
    auto int_field = [&](const rapidjson::Value& obj, const char* name, int64_t* out) {
      auto it = obj.FindMember(name);
      if (it == obj.MemberEnd() || !it->value.IsInt64()) return false;
      *out = it->value.GetInt64();
      return true;
    };
    auto string_field = [&](const rapidjson::Value& obj, const char* name) -> absl::string_view {
      auto it = obj.FindMember(name);
      if (it == obj.MemberEnd() || !it->value.IsString()) return {};
      return absl::string_view(it->value.GetString(), it->value.GetStringLength());
    };
    int64_t version = 0;
    int64_t offset = 0;
    if (!int_field(header, "v", &version) || version != 1 || string_field(header, "kind") != "source-keys" ||
        !int_field(header, "ledger_offset", &offset) || offset <= 0 || offset > size) {
      return;
    }
    absl::StatusOr<std::pair<uint64_t, uint64_t>> fingerprint = LedgerFingerprint(fd_, path_, offset);
    if (!fingerprint.ok() || string_field(header, "head_fnv1a64") != Hex64(fingerprint->first) ||
        string_field(header, "tail_fnv1a64") != Hex64(fingerprint->second)) {
      return;
    }

    struct Discard {  // anything short of a whole, valid cache leaves no keys behind
      const LedgerImpl* self;
      bool keep = false;
      ~Discard() {
        if (!keep) self->ForgetKeysLocked();
      }
    } discard{this};
    const int64_t keys_begin = lines.tail_offset();
    cache_fd_.Reset(fd.release());
    cache_keys_begin_ = keys_begin;
    rapidjson::Reader reader;
    KeyLineHandler handler;
    uint64_t hash = kFnvOffset;
    int64_t count = 0;
    for (;;) {
      r = lines.Next(&line, &line_offset);
      if (!r.ok() || *r != LineReader::Result::kLine) return;  // no trailer: the file is cut short
      if (!line.empty() && line[0] == '{') break;
      hash = Fnv1a(line, hash);
      hash = Fnv1a("\n", hash);
      // ["key","id"] without escapes is read as it stands (the checksum
      // vouches for the file); anything else goes through the JSON reader.
      absl::string_view key;
      const size_t sep = line.find("\",\"");
      if (line.size() >= 7 && absl::StartsWith(line, "[\"") && absl::EndsWith(line, "\"]") &&
          sep != absl::string_view::npos && line.find('\\') == absl::string_view::npos &&
          line.find('"', sep + 3) == line.size() - 2) {
        key = line.substr(2, sep - 2);
      } else {
        handler.Reset();
        rapidjson::MemoryStream in(line.data(), line.size());
        if (reader.Parse<rapidjson::kParseValidateEncodingFlag>(in, handler).IsError()) return;
        key = handler.key;
      }
      ++count;
      const int64_t where = -(line_offset - keys_begin) - 1;
      auto [it, inserted] = keys_.try_emplace(KeyHash(key), where);
      if (!inserted) {
        // Two keys with one hash (or a key listed twice): tell them apart
        // by the earlier line.
        std::string other;
        if (!ReadKeyAtLocked(it->second, &other, nullptr).ok()) return;
        if (other != key) key_collisions_.try_emplace(std::string(key), where);
      }
    }
    cache_keys_end_ = line_offset;
    rapidjson::Document trailer;
    trailer.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
    int64_t listed = 0;
    if (trailer.HasParseError() || !trailer.IsObject() || !int_field(trailer, "count", &listed) || listed != count ||
        static_cast<size_t>(count) != KeyCountLocked() || string_field(trailer, "fnv1a64") != Hex64(hash)) {
      return;
    }
    r = lines.Next(&line, &line_offset);
    if (!r.ok() || *r != LineReader::Result::kEnd || lines.tail_offset() != *cache_size) return;
    covered_ = offset;
    cache_offset_ = offset;
    discard.keep = true;
  }

  // Rewrites the cache when `force`, or when the ledger has outgrown it
  // enough (kCacheMinGap): the key lines of the cache this object holds,
  // copied as they are, then those of the ledger lines past it. Written to a
  // temporary file then renamed, so a reader sees the old cache or the new
  // one, never a mix; the new file is the one kept open from then on.
  absl::Status MaybePersistKeysLocked(bool force) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!keys_loaded_ || covered_ <= 0) return absl::OkStatus();
    const int64_t gap = covered_ - cache_offset_;
    if (!force && (gap < kCacheMinGap || gap < cache_offset_ / 8)) return absl::OkStatus();
    if (force && gap == 0 && cache_offset_ > 0) return absl::OkStatus();
    if (!writable_) return absl::OkStatus();
    if (staged_ != nullptr) {
      absl::Status staged = FinishStagedLocked();
      if (staged.ok()) return staged;
      // Else the usual rewrite below.
    }
    TKB_RETURN_IF_ERROR(MakeDirs(cache_dir_, options_.dir_mode));
    TKB_ASSIGN_OR_RETURN(auto fingerprint, LedgerFingerprint(fd_, path_, covered_));
    const std::string tmp = CacheTempPath();
    FileDescriptor fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(options_.file_mode)));
    if (fd.get() < 0) return PosixError(errno, "cannot create", tmp);
    std::string out = absl::StrCat("{\"v\":1,\"kind\":\"source-keys\",\"ledger_offset\":", covered_,
                                   ",\"head_fnv1a64\":\"", Hex64(fingerprint.first), "\",\"tail_fnv1a64\":\"",
                                   Hex64(fingerprint.second), "\"}\n");
    const int64_t new_keys_begin = static_cast<int64_t>(out.size());
    uint64_t hash = kFnvOffset;
    int64_t count = 0;
    absl::Status s;
    auto flush = [&](bool always) {
      if (s.ok() && (always || out.size() >= (size_t{1} << 20))) {
        s = WriteAll(fd.get(), out.data(), out.size(), tmp);
        out.clear();
      }
    };
    // The old cache's key lines, verbatim: their offsets relative to the
    // first key line stay valid in the new file.
    if (cache_fd_.get() >= 0) {
      LineReader old(cache_fd_.get(), cache_path_, cache_keys_begin_, cache_keys_end_, kReadChunk);
      for (;;) {
        absl::string_view line;
        int64_t offset = 0;
        absl::StatusOr<LineReader::Result> r = old.Next(&line, &offset);
        if (!r.ok()) {
          s = r.status();
          break;
        }
        if (*r == LineReader::Result::kEnd) break;
        if (*r == LineReader::Result::kLongLine) continue;
        const size_t begin = out.size();
        out.append(line.data(), line.size());
        out.push_back('\n');
        hash = Fnv1a(absl::string_view(out).substr(begin), hash);
        ++count;
        flush(false);
      }
    }
    // Then the keys of the ledger lines the old cache did not cover, each
    // at its first line only: the lines the index points at, which were
    // validated when they were indexed, so their key and id can be read
    // without decoding the line again when it has the writer's own shape.
    if (s.ok()) {
      absl::StatusOr<int64_t> tail = ForEachIndexedLineLocked(
          cache_offset_, covered_,
          [&](absl::string_view key, absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            const size_t begin = out.size();
            out.push_back('[');
            AppendQuoted(key, &out);
            out.push_back(',');
            AppendQuoted(id, &out);
            out.append("]\n");
            hash = Fnv1a(absl::string_view(out).substr(begin), hash);
            ++count;
            flush(false);
            return s;
          });
      if (!tail.ok() && s.ok()) s = tail.status();
    }
    const int64_t new_keys_end = [&] {
      off_t at = ::lseek(fd.get(), 0, SEEK_CUR);
      return static_cast<int64_t>(at) + static_cast<int64_t>(out.size());
    }();
    if (s.ok()) {
      absl::StrAppend(&out, "{\"end\":true,\"count\":", count, ",\"fnv1a64\":\"", Hex64(hash), "\"}\n");
      flush(true);
    }
    if (s.ok() && static_cast<size_t>(count) != KeyCountLocked()) {
      s = absl::InternalError(absl::StrCat("source-key cache: wrote ", count, " keys, the index holds ",
                                           KeyCountLocked()));
    }
    if (s.ok() && ::rename(tmp.c_str(), cache_path_.c_str()) != 0) s = PosixError(errno, "cannot rename", tmp);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    cache_fd_.Reset(fd.release());
    cache_keys_begin_ = new_keys_begin;
    cache_keys_end_ = new_keys_end;
    cache_offset_ = covered_;
    return absl::OkStatus();
  }

  const std::string dir_;
  const std::string path_;
  const std::string cache_dir_;
  const std::string cache_path_;
  const std::string totals_path_;
  const LedgerOptions options_;
  const bool writable_;
  const std::string not_writable_;

  // std::mutex rather than absl::Mutex: Debian's Abseil is built without
  // ThreadSanitizer annotations, so TSan would not see absl::Mutex at all.
  mutable std::mutex mu_;
  mutable int fd_ ABSL_GUARDED_BY(mu_);
  mutable uint64_t generation_ ABSL_GUARDED_BY(mu_);  // ForkGeneration() of fd_
  // The file ended with a newline at this size after our last write.
  int64_t known_end_ ABSL_GUARDED_BY(mu_) = -1;
  // The source keys of every complete line before covered_ (valid once
  // keys_loaded_): KeyHash(key) -> where the line carrying it is (see
  // kNoKey), and keys whose hash an earlier key already took.
  mutable bool keys_loaded_ ABSL_GUARDED_BY(mu_) = false;
  mutable absl::flat_hash_map<uint64_t, int64_t> keys_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, int64_t> key_collisions_ ABSL_GUARDED_BY(mu_);
  // The cache file the index was loaded from (or last written), and the
  // byte range of its key lines.
  mutable FileDescriptor cache_fd_ ABSL_GUARDED_BY(mu_);
  mutable int64_t cache_keys_begin_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int64_t cache_keys_end_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::string line_buf_ ABSL_GUARDED_BY(mu_);
  mutable int64_t covered_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int64_t cache_offset_ ABSL_GUARDED_BY(mu_) = 0;  // what the cache file covers
  // A new cache file being written while a bulk append goes on (see
  // StageKeysLocked); null when none is.
  mutable std::unique_ptr<StagedCache> staged_ ABSL_GUARDED_BY(mu_);
  // The report totals of a bulk append (see PrepareTotalsLocked); null
  // when none is under way.
  mutable std::unique_ptr<TotalsTrack> track_ ABSL_GUARDED_BY(mu_);
  mutable EntryDecoder decoder_ ABSL_GUARDED_BY(mu_);
  mutable Entry scratch_ ABSL_GUARDED_BY(mu_);
  mutable EntryDecoder lookup_decoder_ ABSL_GUARDED_BY(mu_);
  mutable Entry lookup_scratch_ ABSL_GUARDED_BY(mu_);
};

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string JoinPath(absl::string_view base, absl::string_view path) {
  if (path.empty() || path[0] == '/' || base.empty()) return std::string(path);
  if (base.back() == '/') return absl::StrCat(base, path);
  return absl::StrCat(base, "/", path);
}

absl::StatusOr<std::string> CurrentDirectory() {
  std::string buf(4096, '\0');
  for (;;) {
    if (::getcwd(buf.data(), buf.size()) != nullptr) {
      buf.resize(std::strlen(buf.data()));
      return buf;
    }
    if (errno != ERANGE) return absl::ErrnoToStatus(errno, "cannot get the working directory");
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

std::string NewUlid() { return Ulids().Next(); }

absl::Status EncodedEntries::Add(Entry& entry) {
  if (entry.id.empty()) entry.id = NewUlid();
  const size_t before = text.size();
  absl::Status s = EncodeEntryJson(entry, &text);
  if (!s.ok()) {
    text.resize(before);
    return s;
  }
  text.push_back('\n');
  ends.push_back(text.size());
  keys_and_ids.append(entry.source_key);
  key_ends.push_back(keys_and_ids.size());
  keys_and_ids.append(entry.id);
  id_ends.push_back(keys_and_ids.size());
  const absl::Time t = entry.timestamp;
  entry.timestamp = absl::FromUnixMillis(absl::ToUnixMillis(t));  // as the line has it
  sums.Add(entry);
  entry.timestamp = t;
  return absl::OkStatus();
}

void EncodedEntries::Clear() {
  text.assign(1, '\n');
  ends.clear();
  keys_and_ids.clear();
  key_ends.clear();
  id_ends.clear();
  sums.Clear();
}

absl::Status Ledger::AppendEncoded(const EncodedEntries& entries, const AppendOptions& options,
                                   std::vector<bool>* appended) {
  if (entries.empty()) {
    appended->clear();
    return absl::OkStatus();
  }
  std::vector<Entry> decoded;
  decoded.reserve(entries.size());
  for (size_t k = 0; k < entries.size(); ++k) {
    TKB_ASSIGN_OR_RETURN(Entry e, DecodeEntryJson(entries.line(k)));
    decoded.push_back(std::move(e));
  }
  TKB_ASSIGN_OR_RETURN(std::vector<AppendResult> results, AppendBatch(std::move(decoded), options));
  appended->assign(results.size(), false);
  for (size_t k = 0; k < results.size(); ++k) (*appended)[k] = results[k].appended;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(const std::string& dir, const LedgerOptions& options) {
  if (dir.empty()) return absl::InvalidArgumentError("empty ledger directory");
  if (IsLedgerUrl(dir)) {
    TKB_ASSIGN_OR_RETURN(LedgerLocation where, ResolveLedgerLocation(dir));
    LedgerOptions o = options;
    o.backend = where.backend;
    return Ledger::Open(where.dir, o);
  }
  if (!options.backend.empty()) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    TKB_ASSIGN_OR_RETURN(LedgerLocation where, ResolveLedgerLocation(options.backend, d));
    if (where.backend.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("backend \"", options.backend, "\" is not a database URL"));
    }
    if (options.create) TKB_RETURN_IF_ERROR(MakeDirs(d, options.dir_mode));
    if (IsPostgresUrl(where.backend)) return OpenPostgresLedger(d, where.backend, options);
    TKB_ASSIGN_OR_RETURN(std::string db, SqlitePathOfUrl(where.backend, d));
    const size_t slash = db.find_last_of('/');
    if (options.create && slash != std::string::npos && slash > 0) {
      TKB_RETURN_IF_ERROR(MakeDirs(db.substr(0, slash), options.dir_mode));
    }
    // As for ledger.jsonl below: a directory of another user is read only.
    std::string not_writable;
    struct stat dst;
    if (::stat(d.c_str(), &dst) == 0 && dst.st_uid != ::geteuid()) {
      const char* allow = std::getenv("TOKENBOOK_ALLOW_OTHER_OWNER");
      if (allow == nullptr || absl::string_view(allow) != "1") {
        not_writable = absl::StrCat("the ledger directory ", d, " belongs to uid ", dst.st_uid, ", not to uid ",
                                    ::geteuid(), " running tokenbook: refusing to write into its database (reports "
                                    "still read it; set TOKENBOOK_ALLOW_OTHER_OWNER=1 to write anyway)");
      }
    }
    return OpenSqliteLedger(d, db, options, std::move(not_writable));
  }
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  struct stat st;
  if (::stat(d.c_str(), &st) != 0) {
    if (errno != ENOENT) return PosixError(errno, "cannot stat", d);
    if (!options.create) return absl::NotFoundError(absl::StrCat("no ledger directory at ", d));
    TKB_RETURN_IF_ERROR(MakeDirs(d, options.dir_mode));
  } else if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(d, " is not a directory"));
  }
  const std::string path = absl::StrCat(d, "/", kLedgerFile);
  // A directory another user owns is read, never written: a .tokenbook/
  // planted above the working directory (in /tmp, say) must not collect
  // someone else's entries, and root must not leave root-owned files in a
  // user's ledger. TOKENBOOK_ALLOW_OTHER_OWNER=1 lifts this (a container
  // whose bind mount belongs to another uid).
  std::string not_writable;
  if (::stat(d.c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
    const char* allow = std::getenv("TOKENBOOK_ALLOW_OTHER_OWNER");
    if (allow == nullptr || absl::string_view(allow) != "1") {
      not_writable = absl::StrCat("the ledger directory ", d, " belongs to uid ", st.st_uid, ", not to uid ",
                                  ::geteuid(), " running tokenbook: refusing to write into it (reports still "
                                  "read it; set TOKENBOOK_ALLOW_OTHER_OWNER=1 to write anyway)");
    }
  }
  bool writable = not_writable.empty();
  int fd = writable ? ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | (options.create ? O_CREAT : 0),
                             static_cast<mode_t>(options.file_mode))
                    : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && writable && (errno == EACCES || errno == EROFS)) {
    // A ledger we may read but not write (a read-only checkout): reports
    // work, appends say why they cannot.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    writable = false;
    not_writable = absl::StrCat("the ledger ", path, " is not writable");
  }
  if (fd < 0) {
    if (!not_writable.empty() && errno == ENOENT) return absl::PermissionDeniedError(not_writable);
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no ledger at ", path));
    return PosixError(errno, "cannot open", path);
  }
  if (writable && options.durability == Durability::kFsync) {
    // Make the file's existence durable too, not only its contents.
    FileDescriptor dir_fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  }
  return std::unique_ptr<Ledger>(new LedgerImpl(d, options, fd, std::move(not_writable)));
}

absl::StatusOr<std::string> FindLedgerDir(absl::string_view flag, absl::string_view cwd) {
  std::string base(cwd);
  if (base.empty()) {
    TKB_ASSIGN_OR_RETURN(base, CurrentDirectory());
  }
  auto place = [&](absl::string_view where) -> absl::StatusOr<std::string> {
    if (!IsLedgerUrl(where)) return JoinPath(base, where);
    TKB_ASSIGN_OR_RETURN(LedgerLocation loc, ResolveLedgerLocation(where, base));
    return loc.backend;
  };
  if (!flag.empty()) return place(flag);
  if (const char* env = std::getenv("TOKENBOOK_DIR"); env != nullptr && *env != '\0') {
    return place(env);
  }
  // The nearest .tokenbook/ from the working directory upward.
  std::string at = base;
  while (!at.empty()) {
    const std::string candidate = JoinPath(at, ".tokenbook");
    if (IsDirectory(candidate)) return candidate;
    if (at == "/") break;
    const size_t slash = at.find_last_of('/');
    if (slash == std::string::npos) break;
    at = slash == 0 ? "/" : at.substr(0, slash);
  }
  // The per-user default (XDG base directories; a relative XDG_DATA_HOME is
  // invalid by the spec and ignored).
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    return JoinPath(xdg, "tokenbook");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return JoinPath(home, ".local/share/tokenbook");
  }
  return absl::NotFoundError(
      "no ledger directory: pass --ledger, set TOKENBOOK_DIR, create .tokenbook/, or set HOME");
}

}  // namespace v1
}  // namespace tokenbook
