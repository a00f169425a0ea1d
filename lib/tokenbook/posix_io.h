// Small POSIX file helpers shared by the ledger and the budget service:
// errno as absl::Status, whole writes and reads that retry on EINTR, and the
// fingerprint that tells a cache file which ledger bytes it was built from.
#ifndef TOKENBOOK_LIB_POSIX_IO_H_
#define TOKENBOOK_LIB_POSIX_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokenbook {
inline namespace v1 {
namespace posix_io {

// "cannot write /path: No space left on device", with the matching code.
absl::Status PosixError(int err, absl::string_view what, absl::string_view path);

// write() until all `size` bytes are written.
absl::Status WriteAll(int fd, const char* data, size_t size, const std::string& path);

// pwrite() until all `size` bytes are written at `offset`.
absl::Status PwriteAll(int fd, const char* data, size_t size, int64_t offset, const std::string& path);

// pread() until `size` bytes are read or the file ends; returns the count.
absl::StatusOr<size_t> PreadAll(int fd, char* data, size_t size, int64_t offset, const std::string& path);

absl::StatusOr<int64_t> FileSize(int fd, const std::string& path);

// 64-bit FNV-1a (chain calls by passing the previous hash), and its
// 16-digit hex form.
inline constexpr uint64_t kFnvOffset = 14695981039346656037ull;
uint64_t Fnv1a(absl::string_view s, uint64_t h = kFnvOffset);
std::string Hex64(uint64_t v);

// The hashes of the first and last `bytes` of [0, offset) of the file:
// a cache records them to notice a ledger replaced or truncated behind its
// back. DataLoss when the file is shorter than `offset`.
absl::StatusOr<std::pair<uint64_t, uint64_t>> LedgerFingerprint(int fd, const std::string& path, int64_t offset,
                                                                int64_t bytes = 4096);

}  // namespace posix_io
}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_POSIX_IO_H_
