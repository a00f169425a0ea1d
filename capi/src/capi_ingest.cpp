// C ABI: ingestion — one response body (tkb_ledger_log_response) and an
// agent's log directory (tkb_ingest). Thin shims over lib/tokenbook/ingest.h.
//
// tkb_ledger_log_response turns the body into entries in C++ and logs them
// through tkb_ledger_log_batch, so that logging has one path in the C ABI.
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "capi_internal.h"
#include "capi_types.h"
#include "tokenbook/book.h"
#include "tokenbook/ingest.h"
#include "tokenbook/ledger.h"

namespace tokenbook::capi {
namespace {

// The first published layouts.
constexpr size_t kEntryV1Size = sizeof(tkb_entry);

absl::StatusOr<IngestSource> ResponseKind(int32_t kind) {
  switch (kind) {
    case TKB_RESPONSE_ANTHROPIC: return IngestSource::kAnthropicResponse;
    case TKB_RESPONSE_OPENAI: return IngestSource::kOpenAiResponse;
    case TKB_RESPONSE_CLAUDE_JSON: return IngestSource::kClaudeJson;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown response kind ", kind,
                                                     " (TKB_RESPONSE_ANTHROPIC, _OPENAI or _CLAUDE_JSON)"));
  }
}

// A tkb_entry for `e` (pointing into `e`'s strings), with the caller's
// dimensions from `dims` where it gives them.
tkb_entry ToCEntry(const Entry& e, const tkb_entry* dims, const std::string& tags) {
  tkb_entry c = dims != nullptr ? *dims : tkb_entry{};
  c.struct_size = sizeof(tkb_entry);
  c.model = e.model.c_str();
  c.tokens.input = e.tokens.input().value();
  c.tokens.output = e.tokens.output().value();
  c.tokens.cache_read = e.tokens.cache_read().value();
  c.tokens.cache_write_5m = e.tokens.cache_write_5m().value();
  c.tokens.cache_write_1h = e.tokens.cache_write_1h().value();
  c.tokens.reasoning = e.tokens.reasoning().value();
  c.requests = 1;
  c.has_cost_override = 0;
  c.cost_override_micros = 0;
  if (dims == nullptr || dims->timestamp_unix_ms == 0) c.timestamp_unix_ms = absl::ToUnixMillis(e.timestamp);
  if (dims == nullptr) {
    c.duration_ms = -1;
    c.tags = nullptr;
  } else {
    c.tags = tags.empty() ? nullptr : tags.c_str();
  }
  auto or_parsed = [](const char* given, const std::string& parsed) -> const char* {
    return given != nullptr ? given : (parsed.empty() ? nullptr : parsed.c_str());
  };
  c.session = or_parsed(dims != nullptr ? dims->session : nullptr, e.session);
  c.tool = or_parsed(dims != nullptr ? dims->tool : nullptr, e.tool);
  c.service_tier = or_parsed(dims != nullptr ? dims->service_tier : nullptr, e.service_tier);
  c.source_kind = e.source_kind.c_str();
  c.source_key = e.source_key.empty() ? nullptr : e.source_key.c_str();
  return c;
}

}  // namespace
}  // namespace tokenbook::capi

using namespace tokenbook;
using namespace tokenbook::capi;

extern "C" {

tkb_status tkb_ledger_log_response(tkb_ledger* ledger, int32_t kind, const char* json, size_t len,
                                   const tkb_entry* dims, tkb_log_result* result) {
  std::vector<Entry> entries;
  std::vector<tkb_entry> c_entries;
  std::vector<tkb_log_result> results;
  std::string tags;
  const tkb_status parsed = Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(ledger, "ledger"));
    TKB_RETURN_IF_ERROR(NotNull(json, "json"));
    if (dims != nullptr) {
      TKB_RETURN_IF_ERROR(CheckStructSize(dims->struct_size, kEntryV1Size, sizeof(tkb_entry), "tkb_entry"));
      if (dims->tags != nullptr) tags = dims->tags;
    }
    if (result != nullptr) {
      TKB_RETURN_IF_ERROR(CheckStructSize(result->struct_size, sizeof(tkb_log_result), sizeof(tkb_log_result),
                                          "tkb_log_result"));
    }
    TKB_ASSIGN_OR_RETURN(const IngestSource source, ResponseKind(kind));
    DocumentContext ctx;
    ctx.now = absl::Now();
    if (dims != nullptr && dims->source_key != nullptr) ctx.source_key = dims->source_key;
    TKB_ASSIGN_OR_RETURN(entries, ParseUsageDocument(source, absl::string_view(json, len), ctx));
    for (const Entry& e : entries) c_entries.push_back(ToCEntry(e, dims, tags));
    tkb_log_result init = TKB_LOG_RESULT_INIT;
    results.assign(c_entries.size(), init);
    return absl::OkStatus();
  });
  if (parsed != TKB_OK) return parsed;
  const tkb_status logged = tkb_ledger_log_batch(ledger, c_entries.data(), c_entries.size(), results.data());
  if (logged != TKB_OK || result == nullptr) return logged;
  return Guard([&]() -> absl::Status {
    int64_t total = 0;
    bool appended = false;
    bool priced = true;
    for (const tkb_log_result& r : results) {
      if (__builtin_add_overflow(total, r.cost_micros, &total)) {
        return absl::OutOfRangeError("the total cost of the response overflows");
      }
      appended = appended || r.appended != 0;
      priced = priced && r.priced != 0;
    }
    result->cost_micros = total;
    result->appended = appended ? 1 : 0;
    result->priced = priced ? 1 : 0;
    std::memcpy(result->id, results.front().id, sizeof(result->id));
    return absl::OkStatus();
  });
}

tkb_status tkb_ingest(const char* ledger_dir, const char* source, const char* path, int32_t dry_run,
                      char** json_out) {
  return Guard([&]() -> absl::Status {
    TKB_RETURN_IF_ERROR(NotNull(source, "source"));
    TKB_RETURN_IF_ERROR(NotNull(json_out, "json_out"));
    const std::optional<IngestSource> s = ParseIngestSource(source);
    if (!s.has_value() || IsDocumentSource(*s)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown log source \"", source,
                                                     "\" (claude-code or codex; responses go through "
                                                     "tkb_ledger_log_response)"));
    }
    TKB_ASSIGN_OR_RETURN(const std::string dir, FindLedgerDir(ledger_dir == nullptr ? "" : ledger_dir, ""));
    TKB_ASSIGN_OR_RETURN(std::unique_ptr<Book> book, Book::Open(dir));
    IngestOptions options;
    if (path != nullptr) options.paths.push_back(path);
    options.dry_run = dry_run != 0;
    TKB_ASSIGN_OR_RETURN(IngestResult r, Ingest(*book, *s, options));
    *json_out = AllocString(IngestResultJson(r, options.dry_run));
    return absl::OkStatus();
  });
}

}  // extern "C"
