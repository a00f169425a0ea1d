#include "tokenbook/libpq_api.h"

#if TOKENBOOK_LIBPQ_DLOPEN
#include <dlfcn.h>
#endif

#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#ifndef TOKENBOOK_LIBPQ_SONAME
#define TOKENBOOK_LIBPQ_SONAME "libpq.so.5"
#endif

namespace tokenbook {
inline namespace v1 {
namespace libpq {
namespace {

Api api;
std::string load_error;  // empty once loaded

void LoadOnce() {
#if TOKENBOOK_LIBPQ_DLOPEN
  // TOKENBOOK_LIBPQ names another file (a libpq outside the loader's path);
  // not in a set-user-ID or file-capability process, which must not load a
  // library its caller names.
  const char* env = secure_getenv("TOKENBOOK_LIBPQ");
  const std::string file = env != nullptr && env[0] != '\0' ? env : TOKENBOOK_LIBPQ_SONAME;
  // RTLD_LOCAL: libpq's own dependencies stay out of the global namespace.
  // Never closed: connections may outlive any one ledger.
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    load_error = absl::StrCat("the PostgreSQL backend needs libpq (", file,
                              "), which cannot be loaded: ", why != nullptr ? why : "unknown error",
                              " (on Debian: apt-get install libpq5; or set TOKENBOOK_LIBPQ to its path)");
    return;
  }
#define TOKENBOOK_LIBPQ_RESOLVE(name)                                                                       \
  api.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name));                                     \
  if (api.name == nullptr) {                                                                                \
    load_error = absl::StrCat("the PostgreSQL backend needs libpq 14 or later: ", file, " has no ", #name); \
    api = Api{};                                                                                            \
    return;                                                                                                 \
  }
  TOKENBOOK_LIBPQ_FUNCTIONS(TOKENBOOK_LIBPQ_RESOLVE)
#undef TOKENBOOK_LIBPQ_RESOLVE
#else
#define TOKENBOOK_LIBPQ_LINK(name) api.name = &::name;
  TOKENBOOK_LIBPQ_FUNCTIONS(TOKENBOOK_LIBPQ_LINK)
#undef TOKENBOOK_LIBPQ_LINK
#endif
  load_error.clear();
}

}  // namespace

absl::Status Load(absl::string_view what) {
  static std::once_flag once;
  std::call_once(once, [] {
    load_error = "not loaded";
    LoadOnce();
  });
  if (load_error.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(what, ": ", load_error));
}

const Api& Loaded() { return api; }

}  // namespace libpq
}  // namespace v1
}  // namespace tokenbook
