#include "tokenbook/csv.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {
namespace {

void AppendTagPart(absl::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '%': out->append("%25"); break;
      case ';': out->append("%3B"); break;
      case '=': out->append("%3D"); break;
      default: out->push_back(c);
    }
  }
}

}  // namespace

void AppendCsvField(absl::string_view field, std::string* out) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    out->append(field.data(), field.size());
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvRecord(const std::vector<absl::string_view>& fields, std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendCsvField(fields[i], out);
  }
  out->append("\r\n");
}

std::string EncodeCsvTags(const std::vector<std::pair<std::string, std::string>>& tags) {
  std::string out;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) out.push_back(';');
    AppendTagPart(tags[i].first, &out);
    out.push_back('=');
    AppendTagPart(tags[i].second, &out);
  }
  return out;
}

const std::vector<absl::string_view>& EntryCsvColumns() {
  // Token kinds in TokenKind order, dimensions in kDimensionNames order
  // (model and provider up front); csv_test.cpp checks both orders.
  static const auto* columns = new std::vector<absl::string_view>{
      "id", "timestamp", "model", "provider",
      "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
      "reasoning_tokens", "requests", "cost_micros", "cost_usd", "cost_source", "rates_as_of",
      "session", "agent", "category", "action_type", "action", "feature", "project", "tool", "task_type",
      "service_tier", "duration_ms", "tags", "notes", "source_kind", "source_key"};
  return *columns;
}

void AppendEntryCsvHeader(std::string* out) { AppendCsvRecord(EntryCsvColumns(), out); }

absl::Status AppendEntryCsv(const Entry& e, std::string* out) {
  absl::StatusOr<std::string> ts = FormatLedgerTime(e.timestamp);
  if (!ts.ok()) return ts.status();
  // Numbers are formatted into `numbers` first; it is sized up front so
  // that the views into it stay valid.
  std::vector<std::string> numbers;
  numbers.reserve(kTokenKindCount + 4);
  for (TokenKind k : kAllTokenKinds) numbers.push_back(absl::StrCat(e.tokens[k].value()));
  numbers.push_back(absl::StrCat(e.requests));
  numbers.push_back(absl::StrCat(e.cost.value()));
  numbers.push_back(FormatUsd(e.cost, 6));
  numbers.push_back(e.duration_ms.has_value() ? absl::StrCat(*e.duration_ms) : std::string());
  const std::string tags = EncodeCsvTags(e.tags);

  std::vector<absl::string_view> fields = {e.id, *ts, e.model, e.provider};
  for (int k = 0; k < kTokenKindCount; ++k) fields.push_back(numbers[static_cast<size_t>(k)]);
  fields.push_back(numbers[kTokenKindCount]);      // requests
  fields.push_back(numbers[kTokenKindCount + 1]);  // cost_micros
  fields.push_back(numbers[kTokenKindCount + 2]);  // cost_usd
  fields.push_back(CostSourceName(e.cost_source));
  fields.push_back(e.rates_as_of);
  for (const auto& [dim, name] : kDimensionNames) {
    if (dim != Dimension::kModel && dim != Dimension::kProvider) fields.push_back(e.Get(dim));
  }
  fields.push_back(numbers[kTokenKindCount + 3]);  // duration_ms
  fields.push_back(tags);
  fields.push_back(e.notes);
  fields.push_back(e.source_kind);
  fields.push_back(e.source_key);
  AppendCsvRecord(fields, out);
  return absl::OkStatus();
}

}  // namespace v1
}  // namespace tokenbook
