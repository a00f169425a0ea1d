// Derived-state caches beside a JSONL ledger (cache/*.bin): a compact
// binary encoding, the stamp that ties a cache to the ledger bytes it was
// built from, and whole-file reads and atomic writes.
//
// A cache is always safe to delete, and is never believed unless whole: it
// ends with an FNV-1a checksum of everything before it, and its stamp names
// the ledger's device and inode and fingerprints the ledger's first and last
// 4 KiB before the offset it covers (posix_io::LedgerFingerprint), so a
// ledger replaced, truncated or rewritten near its end makes it stale. The
// encoding is the machine's own byte order; a byte-order mark after the
// magic makes a cache from another machine stale too.
#ifndef TOKENBOOK_LIB_BINARY_CACHE_H_
#define TOKENBOOK_LIB_BINARY_CACHE_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {
namespace binary_cache {

inline constexpr uint64_t kByteOrderMark = 0x0102030405060708ull;

class Writer {
 public:
  Writer() = default;
  // Hands each kChunkBytes written to `sink` instead of keeping them all.
  explicit Writer(std::function<void(absl::string_view)> sink) : sink_(std::move(sink)) {}

  void U64(uint64_t v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
    if (sink_ && out_.size() >= kChunkBytes) Flush();
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(absl::string_view v) {
    U64(v.size());
    out_.append(v.data(), v.size());
  }
  void Counts(const TokenCounts& t) {
    for (int k = 0; k < kTokenKindCount; ++k) I64(t.by_kind[k].value());
  }
  // Unix nanoseconds; the infinities as INT64_MIN and INT64_MAX. A time
  // that is not a whole nanosecond, or lies outside the years 1678..2262,
  // does not survive: callers check Representable() first.
  void Time(absl::Time t) {
    I64(t == absl::InfinitePast() ? INT64_MIN : t == absl::InfiniteFuture() ? INT64_MAX : absl::ToUnixNanos(t));
  }
  void Raw(absl::string_view bytes) { out_.append(bytes.data(), bytes.size()); }
  // Hands what is kept to the sink (when there is one).
  void Flush() {
    if (!sink_) return;
    sink_(out_);
    out_.clear();
  }
  std::string& out() { return out_; }

 private:
  static constexpr size_t kChunkBytes = size_t{64} << 10;
  std::function<void(absl::string_view)> sink_;
  std::string out_;
};

// True when Writer::Time() keeps `t` exactly.
inline bool Representable(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return true;
  const int64_t ns = absl::ToUnixNanos(t);
  return ns != INT64_MIN && ns != INT64_MAX && absl::FromUnixNanos(ns) == t;
}

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool U64(uint64_t* v) {
    if (in_.size() < sizeof *v) return false;
    std::memcpy(v, in_.data(), sizeof *v);
    in_.remove_prefix(sizeof *v);
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  // A count of items of at least `min_bytes_each` bytes that could fit.
  bool Count(uint64_t* n, size_t min_bytes_each) {
    return U64(n) && (min_bytes_each == 0 || *n <= in_.size() / min_bytes_each);
  }
  bool Str(std::string* v) {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    v->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool Micro(Micros* v) {
    int64_t x;
    if (!I64(&x)) return false;
    *v = Micros(x);
    return true;
  }
  bool Counts(TokenCounts* t) {
    for (int k = 0; k < kTokenKindCount; ++k) {
      int64_t x;
      if (!I64(&x)) return false;
      t->by_kind[k] = Tokens(x);
    }
    return true;
  }
  bool Time(absl::Time* t) {
    int64_t ns;
    if (!I64(&ns)) return false;
    *t = ns == INT64_MIN ? absl::InfinitePast() : ns == INT64_MAX ? absl::InfiniteFuture() : absl::FromUnixNanos(ns);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

// Which ledger bytes a cache was built from: [0, covered) of the file with
// this device and inode, whose first and last 4 KiB hash so.
struct LedgerStamp {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t covered = 0;
  uint64_t head_hash = 0;
  uint64_t tail_hash = 0;

  void Write(Writer* w) const;
  bool Read(Reader* r);
};

// The stamp of [0, covered) of the open ledger `fd`; false when it cannot
// be read.
bool StampLedger(int fd, const std::string& ledger_path, int64_t covered, LedgerStamp* stamp);

// True when `stamp` describes the open ledger `fd` as it is now.
bool StampMatches(const LedgerStamp& stamp, int fd, const std::string& ledger_path);

// The body of a cache file (see WriteCacheFile); false when `data` is not
// whole or does not start with `magic`.
bool Unseal(absl::string_view magic, absl::string_view data, absl::string_view* body);

// Reads the whole file; false when it cannot.
bool ReadWholeFile(const std::string& path, std::string* out);

// Best effort: writes `magic` (8 bytes), the byte-order mark, the body that
// `body` writes, then the checksum, streaming, to a temporary file beside
// `path` (unique to this call), and renames it over `path`, creating the
// directory when missing, so concurrent readers see one whole cache or
// another. A cache that cannot be written is rebuilt next time.
void WriteCacheFile(const std::string& path, absl::string_view magic, const std::function<void(Writer*)>& body,
                    uint32_t file_mode = 0600, uint32_t dir_mode = 0700);

}  // namespace binary_cache
}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_BINARY_CACHE_H_
