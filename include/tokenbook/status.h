// Status helpers shared by every layer: Debian's Abseil (20220623) has no
// ASSIGN_OR_RETURN, so the two macros the code base uses are defined once here.
#ifndef TOKENBOOK_STATUS_H_
#define TOKENBOOK_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TKB_STATUS_CONCAT_INNER_(a, b) a##b
#define TKB_STATUS_CONCAT_(a, b) TKB_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// unless it is OK.
#define TKB_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::absl::Status tkb_status_ = (expr);           \
    if (!tkb_status_.ok()) return tkb_status_;     \
  } while (false)

// `TKB_ASSIGN_OR_RETURN(auto x, Foo());` declares or assigns `x` from the
// value of an absl::StatusOr, or returns its status from the enclosing function.
#define TKB_ASSIGN_OR_RETURN(lhs, expr) \
  TKB_ASSIGN_OR_RETURN_IMPL_(TKB_STATUS_CONCAT_(tkb_statusor_, __LINE__), lhs, expr)

#define TKB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // TOKENBOOK_STATUS_H_
