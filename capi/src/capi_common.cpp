// Version, errors and memory of the C ABI.
#include <cstdlib>

#include "capi_internal.h"

namespace tokenbook::capi {
namespace {
thread_local std::string last_error;
}  // namespace

tkb_status SetError(const absl::Status& status) {
  last_error = std::string(status.message());
  return static_cast<tkb_status>(status.code());
}

tkb_status SetError(tkb_status code, absl::string_view message) {
  last_error = std::string(message);
  return code;
}

void ClearError() { last_error.clear(); }

char* AllocString(absl::string_view text) {
  char* p = static_cast<char*>(std::malloc(text.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\0';
  return p;
}

size_t CopyOut(absl::string_view text, char* buf, size_t cap) {
  if (buf != nullptr && cap > 0) {
    const size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  return text.size() + 1;
}

}  // namespace tokenbook::capi

extern "C" {

int tkb_version_number(void) { return TKB_VERSION_NUMBER; }
const char* tkb_version_string(void) { return TKB_VERSION_STRING; }
int tkb_abi_version(void) { return TKB_ABI_VERSION; }

const char* tkb_last_error(void) {
  try {
    return tokenbook::capi::last_error.c_str();
  } catch (...) {
    return "";
  }
}

const char* tkb_status_name(tkb_status status) {
  switch (status) {
    case TKB_OK: return "OK";
    case TKB_CANCELLED: return "CANCELLED";
    case TKB_UNKNOWN: return "UNKNOWN";
    case TKB_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case TKB_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case TKB_NOT_FOUND: return "NOT_FOUND";
    case TKB_ALREADY_EXISTS: return "ALREADY_EXISTS";
    case TKB_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case TKB_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case TKB_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case TKB_ABORTED: return "ABORTED";
    case TKB_OUT_OF_RANGE: return "OUT_OF_RANGE";
    case TKB_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case TKB_INTERNAL: return "INTERNAL";
    case TKB_UNAVAILABLE: return "UNAVAILABLE";
    case TKB_DATA_LOSS: return "DATA_LOSS";
    case TKB_UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN_STATUS";
  }
}

void tkb_free(void* p) { std::free(p); }

}  // extern "C"
