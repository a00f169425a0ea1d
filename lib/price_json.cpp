#include "tokenbook/price_json.h"

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace tokenbook {
inline namespace v1 {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& w, absl::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void Str(Writer& w, absl::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void Money(Writer& w, absl::string_view prefix, Micros amount) {
  Key(w, absl::StrCat(prefix, "_micros"));
  w.Int64(amount.value());
  Key(w, absl::StrCat(prefix, "_usd"));
  Str(w, FormatUsd(amount, 6));
}

}  // namespace

std::string PriceBreakdownJson(const PriceBreakdown& b, absl::string_view requested_model, MatchKind match,
                               int64_t requests) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "model");
  Str(w, b.model);
  Key(w, "requested_model");
  Str(w, requested_model);
  Key(w, "match");
  Str(w, MatchKindName(match));
  Key(w, "provider");
  Str(w, b.provider);
  Key(w, "rates_as_of");
  Str(w, b.as_of);
  Money(w, "cost", b.total);
  Key(w, "breakdown");
  w.StartObject();
  for (const KindCost& line : b.lines) {
    Key(w, TokenKindName(line.kind));
    w.StartObject();
    Key(w, "tokens");
    w.Int64(line.tokens.value());
    Key(w, "rate_micros_per_mtok");
    w.Int64(line.rate.value());
    Money(w, "cost", line.cost);
    if (line.borrowed_from.has_value()) {
      Key(w, "rate_from");
      Str(w, TokenKindName(*line.borrowed_from));
    }
    w.EndObject();
  }
  if (b.request_fees.value() != 0) {
    Key(w, "requests");
    w.StartObject();
    Key(w, "count");
    w.Int64(requests);
    Money(w, "cost", b.request_fees);
    w.EndObject();
  }
  w.EndObject();
  Key(w, "long_context_tier");
  if (b.tier < 0) {
    w.Null();
  } else {
    w.StartObject();
    Key(w, "above_tokens");
    w.Int64(b.tier_above_tokens);
    Key(w, "counted_tokens");
    w.Int64(b.tier_counted_tokens);
    w.EndObject();
  }
  Key(w, "service_tier");
  Str(w, b.service_tier);
  Key(w, "multiplier");
  Str(w, ToString(b.multiplier));
  Key(w, "historical_rates");
  w.Bool(b.historical);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace v1
}  // namespace tokenbook
