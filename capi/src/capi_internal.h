// Shared machinery of the C ABI shims: the thread-local last error, status
// conversion and the exception barrier every entry point goes through.
#ifndef TOKENBOOK_CAPI_INTERNAL_H_
#define TOKENBOOK_CAPI_INTERNAL_H_

#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tokenbook/tokenbook.h"

namespace tokenbook::capi {

// Records `status` as this thread's last error and returns its code.
tkb_status SetError(const absl::Status& status);
tkb_status SetError(tkb_status code, absl::string_view message);
void ClearError();

// Runs `fn` (returning absl::Status), turning exceptions into statuses.
template <typename Fn>
tkb_status Guard(Fn&& fn) noexcept {
  try {
    absl::Status s = fn();
    if (!s.ok()) return SetError(s);
    ClearError();
    return TKB_OK;
  } catch (const std::bad_alloc&) {
    return SetError(TKB_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception& e) {
    return SetError(TKB_INTERNAL, absl::StrCat("internal error: ", e.what()));
  } catch (...) {
    return SetError(TKB_INTERNAL, "internal error: unknown exception");
  }
}

// Checks a caller's struct_size against the first and current versions.
inline absl::Status CheckStructSize(uint32_t given, size_t first, size_t current, const char* name) {
  if (given < first || given > current) {
    return absl::InvalidArgumentError(absl::StrCat(name, ".struct_size is ", given, "; expected ", current,
                                                   " (initialise it with the _INIT macro)"));
  }
  return absl::OkStatus();
}

inline absl::Status NotNull(const void* p, const char* what) {
  if (p == nullptr) return absl::InvalidArgumentError(absl::StrCat(what, " is NULL"));
  return absl::OkStatus();
}

// Copies `text` into a malloc'd NUL-terminated string for tkb_free.
char* AllocString(absl::string_view text);

// snprintf-style copy: writes at most cap bytes (NUL-terminated when cap > 0)
// and returns the size needed including the NUL.
size_t CopyOut(absl::string_view text, char* buf, size_t cap);

}  // namespace tokenbook::capi

#endif  // TOKENBOOK_CAPI_INTERNAL_H_
