#include "tokenbook/posix_io.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {
namespace posix_io {

absl::Status PosixError(int err, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

absl::Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PwriteAll(int fd, const char* data, size_t size, int64_t offset, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> PreadAll(int fd, char* data, size_t size, int64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, data + done, size - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "cannot read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::StatusOr<int64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError(errno, "cannot stat", path);
  return static_cast<int64_t>(st.st_size);
}

uint64_t Fnv1a(absl::string_view s, uint64_t h) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex64(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int k = 15; k >= 0; --k) {
    out[static_cast<size_t>(k)] = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

absl::StatusOr<std::pair<uint64_t, uint64_t>> LedgerFingerprint(int fd, const std::string& path, int64_t offset,
                                                                int64_t bytes) {
  std::vector<char> buf(static_cast<size_t>(bytes));
  const auto n = static_cast<size_t>(std::min(offset, bytes));
  TKB_ASSIGN_OR_RETURN(const size_t head, PreadAll(fd, buf.data(), n, 0, path));
  const uint64_t head_hash = Fnv1a(absl::string_view(buf.data(), head));
  TKB_ASSIGN_OR_RETURN(const size_t tail, PreadAll(fd, buf.data(), n, offset - static_cast<int64_t>(n), path));
  const uint64_t tail_hash = Fnv1a(absl::string_view(buf.data(), tail));
  if (head != n || tail != n) return absl::DataLossError("ledger shorter than the cache says");
  return std::make_pair(head_hash, tail_hash);
}

}  // namespace posix_io
}  // namespace v1
}  // namespace tokenbook
