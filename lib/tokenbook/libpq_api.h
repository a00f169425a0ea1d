// The libpq functions the postgresql:// ledger calls, reached through one
// table so that the library need not be linked: by default it is loaded with
// dlopen() the first time a PostgreSQL ledger is opened. A process that never
// opens one (an ingest, `tokenbook statusline` after every message) then does
// not map libpq nor what it brings (OpenSSL, GnuTLS, Kerberos, LDAP), which
// costs about 5 MiB and some start-up time in every process.
//
// Built with TOKENBOOK_LIBPQ_DLOPEN=OFF (static packaging), the table points
// at the linked functions instead.
//
// Only lib/ledger_postgres.cpp includes this; it defines each PQ name as the
// table's entry, so that the code reads as plain libpq.
#ifndef TOKENBOOK_LIB_LIBPQ_API_H_
#define TOKENBOOK_LIB_LIBPQ_API_H_

#include <libpq-fe.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tokenbook {
inline namespace v1 {
namespace libpq {

#define TOKENBOOK_LIBPQ_FUNCTIONS(X) \
  X(PQclear)                         \
  X(PQconnectdbParams)               \
  X(PQconninfoFree)                  \
  X(PQconninfoParse)                 \
  X(PQenterPipelineMode)             \
  X(PQerrorMessage)                  \
  X(PQexec)                          \
  X(PQexecParams)                    \
  X(PQexecPrepared)                  \
  X(PQexitPipelineMode)              \
  X(PQfinish)                        \
  X(PQfreemem)                       \
  X(PQgetResult)                     \
  X(PQgetisnull)                     \
  X(PQgetlength)                     \
  X(PQgetvalue)                      \
  X(PQntuples)                       \
  X(PQpipelineSync)                  \
  X(PQprepare)                       \
  X(PQresultErrorField)              \
  X(PQresultErrorMessage)            \
  X(PQresultStatus)                  \
  X(PQsendQueryParams)               \
  X(PQsendQueryPrepared)             \
  X(PQsetClientEncoding)             \
  X(PQsetNoticeProcessor)            \
  X(PQsocket)                        \
  X(PQstatus)

struct Api {
#define TOKENBOOK_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
  TOKENBOOK_LIBPQ_FUNCTIONS(TOKENBOOK_LIBPQ_MEMBER)
#undef TOKENBOOK_LIBPQ_MEMBER
};

// Loads libpq once per process (thread-safe) and resolves every function.
// FailedPrecondition, naming the library and why, when it cannot: `what`
// (the redacted ledger URL) leads the message.
absl::Status Load(absl::string_view what);

// The table; only valid after Load() has succeeded.
const Api& Loaded();

}  // namespace libpq
}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_LIBPQ_API_H_
