#include "tokenbook/binary_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tokenbook/posix_io.h"

namespace tokenbook {
inline namespace v1 {
namespace binary_cache {

void LedgerStamp::Write(Writer* w) const {
  w->U64(dev);
  w->U64(ino);
  w->I64(covered);
  w->U64(head_hash);
  w->U64(tail_hash);
}

bool LedgerStamp::Read(Reader* r) {
  return r->U64(&dev) && r->U64(&ino) && r->I64(&covered) && r->U64(&head_hash) && r->U64(&tail_hash) && covered >= 0;
}

bool StampLedger(int fd, const std::string& ledger_path, int64_t covered, LedgerStamp* stamp) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || covered < 0 || covered > st.st_size) return false;
  stamp->dev = st.st_dev;
  stamp->ino = st.st_ino;
  stamp->covered = covered;
  stamp->head_hash = stamp->tail_hash = 0;
  if (covered == 0) return true;
  absl::StatusOr<std::pair<uint64_t, uint64_t>> fp = posix_io::LedgerFingerprint(fd, ledger_path, covered);
  if (!fp.ok()) return false;
  stamp->head_hash = fp->first;
  stamp->tail_hash = fp->second;
  return true;
}

bool StampMatches(const LedgerStamp& stamp, int fd, const std::string& ledger_path) {
  LedgerStamp now;
  return StampLedger(fd, ledger_path, stamp.covered, &now) && now.dev == stamp.dev && now.ino == stamp.ino &&
         now.head_hash == stamp.head_hash && now.tail_hash == stamp.tail_hash;
}

bool Unseal(absl::string_view magic, absl::string_view data, absl::string_view* body) {
  uint64_t check;
  if (data.size() < magic.size() + 2 * sizeof check || data.substr(0, magic.size()) != magic) return false;
  std::memcpy(&check, data.data() + data.size() - sizeof check, sizeof check);
  data.remove_suffix(sizeof check);
  if (posix_io::Fnv1a(data) != check) return false;
  Reader r(data.substr(magic.size()));
  uint64_t bom = 0;
  if (!r.U64(&bom) || bom != kByteOrderMark) return false;
  *body = data.substr(magic.size() + sizeof bom);
  return true;
}

bool ReadWholeFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && st.st_size >= 0;
  if (ok) {
    out->resize(static_cast<size_t>(st.st_size));
    absl::StatusOr<size_t> got = posix_io::PreadAll(fd, out->data(), out->size(), 0, path);
    ok = got.ok() && *got == out->size();
  }
  ::close(fd);
  return ok;
}

void WriteCacheFile(const std::string& path, absl::string_view magic, const std::function<void(Writer*)>& body,
                    uint32_t file_mode, uint32_t dir_mode) {
  static std::atomic<uint64_t> counter{0};
  const std::string dir = path.substr(0, path.rfind('/'));
  ::mkdir(dir.c_str(), static_cast<mode_t>(dir_mode));
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, static_cast<mode_t>(file_mode));
  if (fd < 0) return;
  uint64_t hash = posix_io::kFnvOffset;
  bool ok = true;
  Writer w([&](absl::string_view chunk) {
    hash = posix_io::Fnv1a(chunk, hash);
    ok = ok && posix_io::WriteAll(fd, chunk.data(), chunk.size(), tmp).ok();
  });
  w.Raw(magic);
  w.U64(kByteOrderMark);
  body(&w);
  w.Flush();
  const uint64_t check = hash;
  w.U64(check);
  w.Flush();
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace binary_cache
}  // namespace v1
}  // namespace tokenbook
