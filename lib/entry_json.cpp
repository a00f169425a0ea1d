// Ledger lines: the encoder writes the JSON by hand (fixed key order, no
// intermediate document); the decoder is a RapidJSON SAX handler that fills
// an Entry in place. Numbers reach the handler as their text
// (kParseNumbersAsStringsFlag) and are read as exact integers here, so no
// number ever passes through a double.
#include "tokenbook/entry_json.h"

// RapidJSON's SSE2 scanning (CMakeLists.txt) loads aligned 16-byte blocks,
// which may extend past the NUL that ends the text: EntryDecoder's buffer
// carries 16 zero bytes of padding for that.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "simdjson.h"
#include "tokenbook/entry.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {
namespace {

// ---------------------------------------------------------------------------
// Civil time, UTC. Howard Hinnant's days_from_civil / civil_from_days: exact
// proleptic Gregorian arithmetic, far cheaper than a time zone lookup.

constexpr int64_t kMillisPerDay = 86'400'000;

constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDay {
  int64_t year;
  unsigned month;
  unsigned day;
};

constexpr CivilDay CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDay{y + (m <= 2 ? 1 : 0), m, d};
}

constexpr int64_t kFirstLedgerMillis = DaysFromCivil(0, 1, 1) * kMillisPerDay;
constexpr int64_t kEndLedgerMillis = DaysFromCivil(10000, 1, 1) * kMillisPerDay;

constexpr bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned DaysInMonth(int64_t y, unsigned m) {
  constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

void PutDigits(char* at, int64_t value, int width) {
  for (int k = width - 1; k >= 0; --k) {
    at[k] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Writes the 24 characters of "2026-11-22T05:49:04.123Z"; false when out of range.
bool FormatTime(absl::Time t, char* buf) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return false;
  const int64_t ms = absl::ToUnixMillis(t);  // rounds toward the past
  if (ms < kFirstLedgerMillis || ms >= kEndLedgerMillis) return false;
  int64_t days = ms / kMillisPerDay;
  int64_t rem = ms % kMillisPerDay;
  if (rem < 0) {
    rem += kMillisPerDay;
    --days;
  }
  const CivilDay civil = CivilFromDays(days);
  PutDigits(buf, civil.year, 4);
  buf[4] = '-';
  PutDigits(buf + 5, civil.month, 2);
  buf[7] = '-';
  PutDigits(buf + 8, civil.day, 2);
  buf[10] = 'T';
  PutDigits(buf + 11, rem / 3'600'000, 2);
  buf[13] = ':';
  PutDigits(buf + 14, rem / 60'000 % 60, 2);
  buf[16] = ':';
  PutDigits(buf + 17, rem / 1000 % 60, 2);
  buf[19] = '.';
  PutDigits(buf + 20, rem % 1000, 3);
  buf[23] = 'Z';
  return true;
}

bool ReadDigits(absl::string_view s, size_t at, int width, int64_t* out) {
  int64_t v = 0;
  for (int k = 0; k < width; ++k) {
    const char c = s[at + static_cast<size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool ParseTime(absl::string_view s, absl::Time* out) {
  // YYYY-MM-DDTHH:MM:SS  then  [.F{1,9}]  then  Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return false;
  }
  int64_t year, month, day, hour, minute, second;
  if (!ReadDigits(s, 0, 4, &year) || !ReadDigits(s, 5, 2, &month) || !ReadDigits(s, 8, 2, &day) ||
      !ReadDigits(s, 11, 2, &hour) || !ReadDigits(s, 14, 2, &minute) || !ReadDigits(s, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, static_cast<unsigned>(month)) || hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  size_t i = 19;
  int64_t nanos = 0;
  if (s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++digits > 9) return false;
      nanos = nanos * 10 + (s[i] - '0');
      ++i;
    }
    if (digits == 0) return false;
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  if (i + 1 != s.size() || s[i] != 'Z') return false;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86'400 + hour * 3600 + minute * 60 + second;
  *out = absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  return true;
}

// ---------------------------------------------------------------------------
// Encoding.

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode table
// 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto byte = [&](size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  const auto tail = [](unsigned b, unsigned lo = 0x80, unsigned hi = 0xBF) { return b >= lo && b <= hi; };
  const unsigned b0 = byte(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return tail(byte(1)) ? 2 : 0;
  if (b0 == 0xE0) return tail(byte(1), 0xA0) && tail(byte(2)) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return tail(byte(1)) && tail(byte(2)) ? 3 : 0;
  if (b0 == 0xED) return tail(byte(1), 0x80, 0x9F) && tail(byte(2)) ? 3 : 0;
  if (b0 == 0xF0) return tail(byte(1), 0x90) && tail(byte(2)) && tail(byte(3)) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return tail(byte(1)) && tail(byte(2)) && tail(byte(3)) ? 4 : 0;
  if (b0 == 0xF4) return tail(byte(1), 0x80, 0x8F) && tail(byte(2)) && tail(byte(3)) ? 4 : 0;
  return 0;
}

// Writes a line into room the caller made beforehand (no capacity check per
// byte: an entry is encoded with a handful of memcpy calls).
class LineWriter {
 public:
  explicit LineWriter(char* p) : p_(p) {}
  char* pos() const { return p_; }

  void Raw(absl::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Char(char c) { *p_++ = c; }

  void Int(int64_t v) {
    uint64_t u = static_cast<uint64_t>(v);
    if (v < 0) {
      *p_++ = '-';
      u = 0 - u;
    }
    Unsigned(u);
  }

  // "0.117150" for 117150 µ$: cost_usd is exact, so always 6 decimals.
  void Usd(int64_t micros) {
    uint64_t u = static_cast<uint64_t>(micros);
    if (micros < 0) {
      *p_++ = '-';
      u = 0 - u;
    }
    Unsigned(u / 1'000'000);
    *p_++ = '.';
    PutDigits(p_, static_cast<int64_t>(u % 1'000'000), 6);
    p_ += 6;
  }

  // `s` as a JSON string literal; false when `s` is not valid UTF-8.
  bool String(absl::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    *p_++ = '"';
    const auto* u = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
      const size_t run = i;
      while (i < n && u[i] >= 0x20 && u[i] < 0x80 && u[i] != '"' && u[i] != '\\') ++i;
      Raw(s.substr(run, i - run));
      if (i == n) break;
      const unsigned char c = u[i];
      if (c >= 0x80) {
        const size_t len = Utf8SequenceLength(s, i);
        if (len == 0) return false;
        Raw(s.substr(i, len));
        i += len;
        continue;
      }
      *p_++ = '\\';
      switch (c) {
        case '"': *p_++ = '"'; break;
        case '\\': *p_++ = '\\'; break;
        case '\n': *p_++ = 'n'; break;
        case '\r': *p_++ = 'r'; break;
        case '\t': *p_++ = 't'; break;
        case '\b': *p_++ = 'b'; break;
        case '\f': *p_++ = 'f'; break;
        default:
          Raw("u00");
          *p_++ = kHex[c >> 4];
          *p_++ = kHex[c & 0xF];
      }
      ++i;
    }
    *p_++ = '"';
    return true;
  }

  // The most bytes String(s) can take.
  static size_t MaxString(absl::string_view s) { return 6 * s.size() + 2; }

 private:
  void Unsigned(uint64_t u) {
    char tmp[20];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    while (n > 0) *p_++ = tmp[--n];
  }

  char* p_;
};

void AppendUsd(int64_t micros, std::string* out) {
  char buf[32];
  LineWriter w(buf);
  w.Usd(micros);
  out->append(buf, static_cast<size_t>(w.pos() - buf));
}

// ---------------------------------------------------------------------------
// Decoding.

enum class Field : uint8_t {
  kUnknown,
  kV,
  kId,
  kTs,
  kModel,
  kProvider,
  kTokens,
  kRequests,
  kCostMicros,
  kCostUsd,
  kCostSource,
  kRatesAsOf,
  kSession,
  kAgent,
  kCategory,
  kActionType,
  kAction,
  kFeature,
  kProject,
  kTool,
  kTaskType,
  kServiceTier,
  kDurationMs,
  kTags,
  kNotes,
  kSource,
};

constexpr std::array<absl::string_view, 26> kFieldNames = {
    "?",        "v",           "id",           "ts",          "model",   "provider", "tokens",
    "requests", "cost_micros", "cost_usd",     "cost_source", "rates_as_of", "session", "agent",
    "category", "action_type", "action",       "feature",     "project", "tool",     "task_type",
    "service_tier", "duration_ms", "tags",     "notes",       "source"};

absl::string_view NameOf(Field f) { return kFieldNames[static_cast<size_t>(f)]; }

constexpr uint32_t Bit(Field f) { return uint32_t{1} << static_cast<unsigned>(f); }

constexpr uint32_t kRequiredFields =
    Bit(Field::kV) | Bit(Field::kId) | Bit(Field::kTs) | Bit(Field::kModel) | Bit(Field::kCostMicros) |
    Bit(Field::kCostSource);

Field LookupField(absl::string_view k) {
  if (k.empty()) return Field::kUnknown;
  // At most a handful of comparisons per key: dispatch on the first letter.
  switch (k[0]) {
    case 'v': return k == "v" ? Field::kV : Field::kUnknown;
    case 'i': return k == "id" ? Field::kId : Field::kUnknown;
    case 't':
      if (k == "ts") return Field::kTs;
      if (k == "tokens") return Field::kTokens;
      if (k == "tool") return Field::kTool;
      if (k == "tags") return Field::kTags;
      if (k == "task_type") return Field::kTaskType;
      return Field::kUnknown;
    case 'm': return k == "model" ? Field::kModel : Field::kUnknown;
    case 'p':
      if (k == "provider") return Field::kProvider;
      if (k == "project") return Field::kProject;
      return Field::kUnknown;
    case 'r':
      if (k == "requests") return Field::kRequests;
      if (k == "rates_as_of") return Field::kRatesAsOf;
      return Field::kUnknown;
    case 'c':
      if (k == "cost_micros") return Field::kCostMicros;
      if (k == "cost_usd") return Field::kCostUsd;
      if (k == "cost_source") return Field::kCostSource;
      if (k == "category") return Field::kCategory;
      return Field::kUnknown;
    case 's':
      if (k == "session") return Field::kSession;
      if (k == "service_tier") return Field::kServiceTier;
      if (k == "source") return Field::kSource;
      return Field::kUnknown;
    case 'a':
      if (k == "agent") return Field::kAgent;
      if (k == "action_type") return Field::kActionType;
      if (k == "action") return Field::kAction;
      return Field::kUnknown;
    case 'f': return k == "feature" ? Field::kFeature : Field::kUnknown;
    case 'd': return k == "duration_ms" ? Field::kDurationMs : Field::kUnknown;
    case 'n': return k == "notes" ? Field::kNotes : Field::kUnknown;
    default: return Field::kUnknown;
  }
}

int LookupTokenKind(absl::string_view k) {
  for (TokenKind kind : kAllTokenKinds) {
    if (k == TokenKindName(kind)) return static_cast<int>(kind);
  }
  return -1;
}

enum class Kind { kNull, kBool, kNumber, kString, kObject, kArray };

absl::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kNull: return "null";
    case Kind::kBool: return "a boolean";
    case Kind::kNumber: return "a number";
    case Kind::kString: return "a string";
    case Kind::kObject: return "an object";
    case Kind::kArray: return "an array";
  }
  return "?";
}

enum class IntResult { kOk, kNotInteger, kOutOfRange };

// `text` is a JSON number as RapidJSON validated it: -?digits[.digits][e±digits].
IntResult ParseJsonInteger(absl::string_view text, int64_t* out) {
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) i = 1;
  if (i == text.size()) return IntResult::kNotInteger;
  const uint64_t limit = negative ? uint64_t{1} << 63 : uint64_t{std::numeric_limits<int64_t>::max()};
  uint64_t acc = 0;
  bool overflow = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return IntResult::kNotInteger;  // a fraction or an exponent
    const auto digit = static_cast<uint64_t>(c - '0');
    if (overflow || acc > (limit - digit) / 10) {
      overflow = true;  // keep looking: "1e400"-like text is "not an integer" first
      continue;
    }
    acc = acc * 10 + digit;
  }
  if (overflow) return IntResult::kOutOfRange;
  *out = negative ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
  return IntResult::kOk;
}

// True when `usd` is decimal text for exactly `amount`.
bool SameAmount(absl::string_view usd, Micros amount) {
  absl::StatusOr<Decimal> d = ParseDecimal(usd);
  if (!d.ok()) return false;
  absl::StatusOr<Rounded> r = ScaleHalfEven(*d, 6);
  return r.ok() && !r->inexact && r->value == amount.value();
}

absl::string_view Clip(absl::string_view s) { return s.size() > 40 ? s.substr(0, 40) : s; }

size_t FindInvalidUtf8(absl::string_view s);

// Reads one entry from SAX events. Semantic errors do not stop the parse, so
// that a schema version newer than ours is reported even when the line's
// other fields do not make sense to this reader; the first error is kept.
class EntryHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EntryHandler> {
 public:
  void Reset(Entry* e) {
    e_ = e;
    e->id.clear();
    e->timestamp = absl::UnixEpoch();
    e->model.clear();
    e->provider.clear();
    e->tokens = TokenCounts{};
    e->requests = 1;
    e->cost = Micros(0);
    e->cost_source = CostSource::kComputed;
    e->rates_as_of.clear();
    e->session.clear();
    e->agent.clear();
    e->category.clear();
    e->action_type.clear();
    e->action.clear();
    e->feature.clear();
    e->project.clear();
    e->tool.clear();
    e->task_type.clear();
    e->service_tier.clear();
    e->duration_ms.reset();
    e->tags.clear();
    e->notes.clear();
    e->source_kind.clear();
    e->source_key.clear();
    level_ = 0;
    skip_ = 0;
    field_ = Field::kUnknown;
    sub_ = Field::kUnknown;
    sub_key_ = -1;
    seen_ = 0;
    sub_seen_ = 0;
    root_object_ = false;
    failed_ = false;
    error_.clear();
    version_seen_ = false;
    version_ = 0;
    cost_usd_seen_ = false;
  }

  // The outcome once the parse succeeded.
  absl::Status Finish() {
    if (version_seen_ && version_ != kLedgerSchemaVersion) {
      if (version_ > kLedgerSchemaVersion) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field \"v\": schema version ", version_, " is newer than this reader understands (",
            kLedgerSchemaVersion, "); upgrade tokenbook to read this line"));
      }
      return absl::InvalidArgumentError(absl::StrCat("field \"v\": unknown schema version ", version_));
    }
    if (!root_object_) return absl::InvalidArgumentError("expected a JSON object");
    if (failed_) return absl::InvalidArgumentError(error_);
    if ((seen_ & kRequiredFields) != kRequiredFields) {
      for (Field f : {Field::kV, Field::kId, Field::kTs, Field::kModel, Field::kCostMicros, Field::kCostSource}) {
        if ((seen_ & Bit(f)) == 0) {
          return absl::InvalidArgumentError(absl::StrCat("field \"", NameOf(f), "\": missing"));
        }
      }
    }
    if (cost_usd_seen_) {
      // Informative only, but it must agree with cost_micros exactly. The
      // writer's own spelling is compared as text; any other as a number.
      usd_scratch_.clear();
      AppendUsd(e_->cost.value(), &usd_scratch_);
      if (cost_usd_ != usd_scratch_ && !SameAmount(cost_usd_, e_->cost)) {
        return absl::InvalidArgumentError(absl::StrCat("field \"cost_usd\": \"", Clip(cost_usd_),
                                                       "\" does not match cost_micros ", e_->cost.value(),
                                                       " (expected \"", usd_scratch_, "\")"));
      }
    }
    std::sort(e_->tags.begin(), e_->tags.end());
    for (size_t k = 1; k < e_->tags.size(); ++k) {
      if (e_->tags[k].first == e_->tags[k - 1].first) {
        return absl::InvalidArgumentError(
            absl::StrCat("field \"tags\": key \"", Clip(e_->tags[k].first), "\" appears twice"));
      }
    }
    return absl::OkStatus();
  }

  // SAX events. Numbers arrive as text (RawNumber) only.
  bool Null() { return Scalar(Kind::kNull, {}); }
  bool Bool(bool) { return Scalar(Kind::kBool, {}); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return Scalar(Kind::kNumber, {s, n}); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (LoneSurrogate(s, n) && Kept()) {
      FailField(Path(), "a \\u escape stands for a lone UTF-16 surrogate (not valid UTF-8)");
      return true;
    }
    return Scalar(Kind::kString, {s, n});
  }

  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (skip_ > 0) return true;
    const absl::string_view k(s, n);
    if (level_ == 2 && sub_ == Field::kTags && LoneSurrogate(s, n)) {
      FailField("tags", "a key's \\u escape stands for a lone UTF-16 surrogate (not valid UTF-8)");
    }
    if (level_ == 1) {
      field_ = LookupField(k);
    } else if (sub_ == Field::kTokens) {
      sub_key_ = LookupTokenKind(k);
    } else if (sub_ == Field::kSource) {
      sub_key_ = k == "kind" ? 0 : k == "key" ? 1 : -1;
    } else if (sub_ == Field::kTags) {
      tag_key_.assign(s, n);  // the reader reuses its buffer for the value
    }
    return true;
  }

  bool StartObject() {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    if (level_ == 0) {
      level_ = 1;
      root_object_ = true;
      return true;
    }
    if (level_ == 1 && (field_ == Field::kTokens || field_ == Field::kTags || field_ == Field::kSource)) {
      if (!MarkSeen(field_)) {
        skip_ = 1;
        return true;
      }
      sub_ = field_;
      sub_seen_ = 0;
      sub_key_ = -1;
      level_ = 2;
      return true;
    }
    Unexpected(Kind::kObject);
    skip_ = 1;
    return true;
  }

  bool EndObject(rapidjson::SizeType) {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    if (level_ == 2) {
      level_ = 1;
      sub_ = Field::kUnknown;
    } else if (level_ == 1) {
      level_ = 0;
    }
    return true;
  }

  bool StartArray() {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    Unexpected(Kind::kArray);
    skip_ = 1;
    return true;
  }

  bool EndArray(rapidjson::SizeType) {
    if (skip_ > 0) --skip_;
    return true;
  }

 private:
  // RapidJSON 1.1 checks a \u escape of a high surrogate for its pair but
  // writes a lone low one (\udc00) as the three bytes ED B0 80, which are
  // not UTF-8. Every surrogate's encoding starts with 0xED, so only strings
  // holding that byte are checked again.
  static bool LoneSurrogate(const char* s, size_t n) {
    return std::memchr(s, 0xED, n) != nullptr && FindInvalidUtf8({s, n}) != absl::string_view::npos;
  }

  // Whether the string value about to be read is kept in the entry.
  bool Kept() const {
    if (skip_ > 0 || level_ == 0) return false;
    if (level_ == 1) return field_ != Field::kUnknown;
    return sub_ == Field::kTags || sub_key_ >= 0;
  }

  void Fail(std::string message) {
    if (failed_) return;
    failed_ = true;
    error_ = std::move(message);
  }

  void FailField(absl::string_view path, absl::string_view why) {
    if (failed_) return;
    Fail(absl::StrCat("field \"", path, "\": ", why));
  }

  // The dotted name of the value being read ("tokens.input", "tags.team").
  std::string Path() const {
    if (level_ == 1) return std::string(NameOf(field_));
    if (sub_ == Field::kTokens) {
      return absl::StrCat("tokens.", TokenKindName(static_cast<TokenKind>(sub_key_)));
    }
    if (sub_ == Field::kSource) return sub_key_ == 0 ? "source.kind" : "source.key";
    return absl::StrCat("tags.", Clip(tag_key_));
  }

  // A composite value where it has no place (known fields only; values of
  // unknown fields are skipped whatever they are).
  void Unexpected(Kind kind) {
    if (level_ == 0) {
      Fail("expected a JSON object");
      return;
    }
    if (level_ == 1) {
      if (field_ == Field::kUnknown || !MarkSeen(field_)) return;
      if (field_ == Field::kTokens || field_ == Field::kTags || field_ == Field::kSource) {
        FailField(NameOf(field_), absl::StrCat("expected an object, got ", KindName(kind)));
        return;
      }
      ExpectScalar(kind, {});
      return;
    }
    if (sub_ == Field::kTags) {
      FailField(Path(), absl::StrCat("expected a string, got ", KindName(kind)));
    } else if (sub_key_ >= 0) {
      ExpectScalar(kind, {});
    }
  }

  // The error for a value of the wrong kind in the current known field.
  void ExpectScalar(Kind kind, absl::string_view) {
    const bool wants_integer =
        level_ == 2 ? sub_ == Field::kTokens
                    : (field_ == Field::kV || field_ == Field::kRequests || field_ == Field::kCostMicros ||
                       field_ == Field::kDurationMs);
    FailField(Path(), absl::StrCat(wants_integer ? "expected an integer, got " : "expected a string, got ",
                                   KindName(kind)));
  }

  bool MarkSeen(Field f) {
    if ((seen_ & Bit(f)) != 0) {
      FailField(NameOf(f), "appears twice");
      return false;
    }
    seen_ |= Bit(f);
    return true;
  }

  // Reads an integer value; false (with the error recorded) otherwise.
  bool Integer(Kind kind, absl::string_view text, bool non_negative, int64_t* out) {
    if (kind != Kind::kNumber) {
      ExpectScalar(kind, text);
      return false;
    }
    switch (ParseJsonInteger(text, out)) {
      case IntResult::kOk: break;
      case IntResult::kNotInteger:
        FailField(Path(), absl::StrCat("expected an integer, got ", Clip(text)));
        return false;
      case IntResult::kOutOfRange:
        FailField(Path(), absl::StrCat("integer ", Clip(text), " is out of range (beyond 64 bits)"));
        return false;
    }
    if (non_negative && *out < 0) {
      FailField(Path(), absl::StrCat("must not be negative, got ", *out));
      return false;
    }
    return true;
  }

  bool Text(Kind kind, absl::string_view text, std::string* out) {
    if (kind != Kind::kString) {
      ExpectScalar(kind, text);
      return false;
    }
    out->assign(text.data(), text.size());
    return true;
  }

  bool Scalar(Kind kind, absl::string_view text) {
    if (skip_ > 0) return true;
    if (level_ == 0) {
      Fail("expected a JSON object");
      return true;
    }
    if (level_ == 2) {
      SubValue(kind, text);
      return true;
    }
    if (field_ == Field::kUnknown || !MarkSeen(field_)) return true;
    Entry& e = *e_;
    int64_t n = 0;
    switch (field_) {
      case Field::kUnknown: break;
      case Field::kV:
        if (Integer(kind, text, false, &n)) {
          version_seen_ = true;
          version_ = n;
        }
        break;
      case Field::kId:
        if (Text(kind, text, &e.id) && e.id.empty()) FailField("id", "must not be empty");
        break;
      case Field::kTs:
        if (kind != Kind::kString) {
          ExpectScalar(kind, text);
        } else if (!ParseTime(text, &e.timestamp)) {
          FailField("ts", absl::StrCat("expected a UTC time like \"2026-11-22T05:49:04.123Z\", got \"",
                                       Clip(text), "\""));
        }
        break;
      case Field::kModel:
        if (Text(kind, text, &e.model) && e.model.empty()) FailField("model", "must not be empty");
        break;
      case Field::kProvider: Text(kind, text, &e.provider); break;
      case Field::kTokens:
      case Field::kTags:
      case Field::kSource:
        FailField(NameOf(field_), absl::StrCat("expected an object, got ", KindName(kind)));
        break;
      case Field::kRequests:
        if (Integer(kind, text, true, &n)) e.requests = n;
        break;
      case Field::kCostMicros:
        if (Integer(kind, text, false, &n)) e.cost = Micros(n);
        break;
      case Field::kCostUsd:
        if (Text(kind, text, &cost_usd_)) cost_usd_seen_ = true;
        break;
      case Field::kCostSource:
        if (kind != Kind::kString) {
          ExpectScalar(kind, text);
        } else if (std::optional<CostSource> cs = ParseCostSource(text)) {
          e.cost_source = *cs;
        } else {
          FailField("cost_source", absl::StrCat("unknown value \"", Clip(text),
                                                "\" (expected computed, override, reported or unpriced)"));
        }
        break;
      case Field::kRatesAsOf: Text(kind, text, &e.rates_as_of); break;
      case Field::kSession: Text(kind, text, &e.session); break;
      case Field::kAgent: Text(kind, text, &e.agent); break;
      case Field::kCategory: Text(kind, text, &e.category); break;
      case Field::kActionType: Text(kind, text, &e.action_type); break;
      case Field::kAction: Text(kind, text, &e.action); break;
      case Field::kFeature: Text(kind, text, &e.feature); break;
      case Field::kProject: Text(kind, text, &e.project); break;
      case Field::kTool: Text(kind, text, &e.tool); break;
      case Field::kTaskType: Text(kind, text, &e.task_type); break;
      case Field::kServiceTier: Text(kind, text, &e.service_tier); break;
      case Field::kDurationMs:
        if (Integer(kind, text, true, &n)) e.duration_ms = n;
        break;
      case Field::kNotes: Text(kind, text, &e.notes); break;
    }
    return true;
  }

  void SubValue(Kind kind, absl::string_view text) {
    Entry& e = *e_;
    if (sub_ == Field::kTags) {
      if (kind != Kind::kString) {
        FailField(Path(), absl::StrCat("expected a string, got ", KindName(kind)));
        return;
      }
      if (tag_key_.empty()) {
        FailField("tags", "a tag key is empty");
        return;
      }
      e.tags.emplace_back(tag_key_, std::string(text));
      return;
    }
    if (sub_key_ < 0) return;  // a field a newer writer added: ignored
    const uint32_t bit = uint32_t{1} << static_cast<unsigned>(sub_key_);
    if ((sub_seen_ & bit) != 0) {
      FailField(Path(), "appears twice");
      return;
    }
    sub_seen_ |= bit;
    if (sub_ == Field::kTokens) {
      int64_t n = 0;
      if (Integer(kind, text, true, &n)) e.tokens[static_cast<TokenKind>(sub_key_)] = Tokens(n);
    } else if (sub_ == Field::kSource) {
      Text(kind, text, sub_key_ == 0 ? &e.source_kind : &e.source_key);
    }
  }

  Entry* e_ = nullptr;
  int level_ = 0;  // 0: outside the root object, 1: in it, 2: in tokens/tags/source
  int skip_ = 0;   // depth inside a composite value being skipped
  Field field_ = Field::kUnknown;  // the root field whose value comes next
  Field sub_ = Field::kUnknown;    // the object at level 2
  int sub_key_ = -1;               // token kind, or 0 kind / 1 key in source
  std::string tag_key_;
  uint32_t seen_ = 0;
  uint32_t sub_seen_ = 0;
  bool root_object_ = false;
  bool failed_ = false;
  std::string error_;
  bool version_seen_ = false;
  int64_t version_ = 0;
  bool cost_usd_seen_ = false;
  std::string cost_usd_;
  std::string usd_scratch_;
};

// Iterative parsing keeps hostile nesting off the C stack; numbers stay
// text; in situ, strings are unescaped where they lie instead of being copied
// byte by byte onto the reader's stack. UTF-8 is checked beforehand, over the
// whole line at once (FindInvalidUtf8), which is several times cheaper than
// RapidJSON's per-character kParseValidateEncodingFlag and rejects the same
// lines. \u escapes, the only other way to put text in a string, are checked
// by the reader, except for a lone low surrogate (EntryHandler::String).
constexpr unsigned kReadFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

// Offset of the first byte of `s` that is not well-formed UTF-8, or npos.
size_t FindInvalidUtf8(absl::string_view s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    while (i + 8 <= n) {  // ASCII, eight bytes at a time
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof(word));
      if ((word & 0x8080808080808080ull) != 0) break;
      i += 8;
    }
    while (i < n && static_cast<unsigned char>(s[i]) < 0x80) ++i;
    if (i == n) break;
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return absl::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------

absl::StatusOr<std::string> FormatLedgerTime(absl::Time t) {
  char buf[24];
  if (!FormatTime(t, buf)) {
    return absl::OutOfRangeError(
        absl::StrCat("time ", absl::FormatTime(t, absl::UTCTimeZone()), " is outside years 0000..9999"));
  }
  return std::string(buf, sizeof(buf));
}

absl::StatusOr<absl::Time> ParseLedgerTime(absl::string_view text) {
  absl::Time t;
  if (!ParseTime(text, &t)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a UTC time like \"2026-11-22T05:49:04.123Z\", got \"", Clip(text), "\""));
  }
  return t;
}

absl::Status EncodeEntryJson(const Entry& e, std::string* out) {
  const size_t start = out->size();
  auto fail = [&](absl::string_view field, absl::string_view why) {
    out->resize(start);
    return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": ", why));
  };
  if (e.id.empty()) return fail("id", "must not be empty");
  if (e.model.empty()) return fail("model", "must not be empty");
  char ts[24];
  if (!FormatTime(e.timestamp, ts)) return fail("ts", "outside years 0000..9999");
  for (TokenKind kind : kAllTokenKinds) {
    if (e.tokens[kind].value() < 0) return fail(absl::StrCat("tokens.", TokenKindName(kind)), "must not be negative");
  }
  if (e.requests < 0) return fail("requests", "must not be negative");
  if (e.duration_ms.has_value() && *e.duration_ms < 0) return fail("duration_ms", "must not be negative");
  if (!IsValidActionType(e.action_type)) {
    return fail("action_type", absl::StrCat("\"", Clip(e.action_type),
                                            "\" is not one of skill, agent, manual, scheduled"));
  }

  // Tags are written sorted by key (the Entry contract), whatever order the
  // caller built them in.
  std::array<size_t, 16> small_order;
  std::vector<size_t> large_order;
  size_t* order = small_order.data();
  if (e.tags.size() > small_order.size()) {
    large_order.resize(e.tags.size());
    order = large_order.data();
  }
  for (size_t k = 0; k < e.tags.size(); ++k) order[k] = k;
  std::sort(order, order + e.tags.size(),
            [&](size_t a, size_t b) { return e.tags[a].first < e.tags[b].first; });
  for (size_t k = 0; k < e.tags.size(); ++k) {
    const std::string& key = e.tags[order[k]].first;
    if (key.empty()) return fail("tags", "a tag key is empty");
    if (k > 0 && key == e.tags[order[k - 1]].first) {
      return fail("tags", absl::StrCat("key \"", Clip(key), "\" appears twice"));
    }
  }

  // Every string field, with the key written in front of it.
  const std::array<std::pair<absl::string_view, const std::string*>, 15> strings = {{
      {",\"model\":", &e.model},
      {",\"provider\":", &e.provider},
      {",\"rates_as_of\":", &e.rates_as_of},
      {",\"session\":", &e.session},
      {",\"agent\":", &e.agent},
      {",\"category\":", &e.category},
      {",\"action_type\":", &e.action_type},
      {",\"action\":", &e.action},
      {",\"feature\":", &e.feature},
      {",\"project\":", &e.project},
      {",\"tool\":", &e.tool},
      {",\"task_type\":", &e.task_type},
      {",\"service_tier\":", &e.service_tier},
      {",\"notes\":", &e.notes},
      {",\"id\":", &e.id},
  }};
  // Room for the worst case (every byte escaped), trimmed at the end.
  size_t room = 512 + LineWriter::MaxString(e.source_kind) + LineWriter::MaxString(e.source_key);
  for (const auto& [key, value] : strings) room += key.size() + LineWriter::MaxString(*value);
  for (const auto& [k, v] : e.tags) room += 2 + LineWriter::MaxString(k) + LineWriter::MaxString(v);
  out->resize(start + room);
  LineWriter w(out->data() + start);

  absl::string_view bad_field;
  auto string_field = [&](size_t index) {
    const auto& [key, value] = strings[index];
    if (value->empty()) return;
    w.Raw(key);
    if (!w.String(*value) && bad_field.empty()) bad_field = key;
  };

  w.Raw("{\"v\":1,\"id\":");
  if (!w.String(e.id)) bad_field = ",\"id\":";
  w.Raw(",\"ts\":\"");
  w.Raw(absl::string_view(ts, sizeof(ts)));
  w.Char('"');
  string_field(0);  // model
  string_field(1);  // provider
  w.Raw(",\"tokens\":{");
  bool first = true;
  for (TokenKind kind : kAllTokenKinds) {
    const int64_t n = e.tokens[kind].value();
    if (n == 0) continue;
    w.Raw(first ? "\"" : ",\"");
    w.Raw(TokenKindName(kind));
    w.Raw("\":");
    w.Int(n);
    first = false;
  }
  w.Raw("},\"requests\":");
  w.Int(e.requests);
  w.Raw(",\"cost_micros\":");
  w.Int(e.cost.value());
  w.Raw(",\"cost_usd\":\"");
  w.Usd(e.cost.value());
  w.Raw("\",\"cost_source\":\"");
  w.Raw(CostSourceName(e.cost_source));
  w.Char('"');
  for (size_t k = 2; k <= 12; ++k) string_field(k);  // rates_as_of, then the dimensions
  if (e.duration_ms.has_value()) {
    w.Raw(",\"duration_ms\":");
    w.Int(*e.duration_ms);
  }
  if (!e.tags.empty()) {
    w.Raw(",\"tags\":{");
    for (size_t k = 0; k < e.tags.size(); ++k) {
      if (k > 0) w.Char(',');
      const bool ok = w.String(e.tags[order[k]].first);
      w.Char(':');
      if ((!w.String(e.tags[order[k]].second) || !ok) && bad_field.empty()) bad_field = ",\"tags\":";
    }
    w.Char('}');
  }
  string_field(13);  // notes
  if (!e.source_kind.empty() || !e.source_key.empty()) {
    w.Raw(",\"source\":{");
    bool ok = true;
    if (!e.source_kind.empty()) {
      w.Raw("\"kind\":");
      ok = w.String(e.source_kind);
    }
    if (!e.source_key.empty()) {
      w.Raw(e.source_kind.empty() ? "\"key\":" : ",\"key\":");
      ok = w.String(e.source_key) && ok;
    }
    w.Char('}');
    if (!ok && bad_field.empty()) bad_field = ",\"source\":";
  }
  w.Char('}');
  out->resize(static_cast<size_t>(w.pos() - out->data()));

  if (!bad_field.empty()) {
    // bad_field is `,"name":`; report the bare name.
    bad_field.remove_prefix(2);
    bad_field.remove_suffix(2);
    return fail(bad_field, "not valid UTF-8");
  }
  if (out->size() - start > kMaxLedgerLineBytes) {
    return fail("notes", absl::StrCat("the entry would take ", out->size() - start,
                                      " bytes; a ledger line holds at most ", kMaxLedgerLineBytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EntryToJson(const Entry& entry) {
  std::string out;
  absl::Status s = EncodeEntryJson(entry, &out);
  if (!s.ok()) return s;
  return out;
}

// The fast path: simdjson validates the line and builds its DOM, which is
// then replayed to EntryHandler as the SAX events RapidJSON would send, in
// document order, repeated keys included. Numbers go as their text: a JSON
// integer simdjson reads as a 64-bit integer is written back exactly as it
// stood (the grammar allows one spelling of each but zero, which may be
// "-0": a zero goes to the exact reader, which quotes what was written).
// Anything else (a fraction, an exponent, an integer beyond 64 bits)
// returns false, and the exact reader reads the line again.
// simdjson refuses every line RapidJSON refuses (invalid UTF-8, lone
// surrogates, control characters in strings included), so no line the exact
// reader would refuse gets through.
class DomReplay {
 public:
  explicit DomReplay(EntryHandler* handler) : h_(handler) {}

  bool Value(simdjson::dom::element v) {
    using simdjson::dom::element_type;
    switch (v.type()) {
      case element_type::OBJECT: {
        h_->StartObject();
        simdjson::dom::object obj;
        if (v.get(obj) != simdjson::SUCCESS) return false;
        for (simdjson::dom::key_value_pair kv : obj) {
          h_->Key(kv.key.data(), static_cast<rapidjson::SizeType>(kv.key.size()), true);
          if (!Value(kv.value)) return false;
        }
        h_->EndObject(0);
        return true;
      }
      case element_type::ARRAY: {
        h_->StartArray();
        simdjson::dom::array arr;
        if (v.get(arr) != simdjson::SUCCESS) return false;
        for (simdjson::dom::element item : arr) {
          if (!Value(item)) return false;
        }
        h_->EndArray(0);
        return true;
      }
      case element_type::STRING: {
        std::string_view str;
        if (v.get(str) != simdjson::SUCCESS) return false;
        h_->String(str.data(), static_cast<rapidjson::SizeType>(str.size()), true);
        return true;
      }
      case element_type::INT64: {
        int64_t n = 0;
        if (v.get(n) != simdjson::SUCCESS || n == 0) return false;
        return Number(absl::AlphaNum(n).Piece());
      }
      case element_type::UINT64: {
        uint64_t n = 0;
        if (v.get(n) != simdjson::SUCCESS) return false;
        return Number(absl::AlphaNum(n).Piece());
      }
      case element_type::BOOL: {
        bool b = false;
        if (v.get(b) != simdjson::SUCCESS) return false;
        h_->Bool(b);
        return true;
      }
      case element_type::NULL_VALUE:
        h_->Null();
        return true;
      case element_type::DOUBLE:
        return false;
    }
    return false;
  }

 private:
  bool Number(absl::string_view text) {
    h_->RawNumber(text.data(), static_cast<rapidjson::SizeType>(text.size()), true);
    return true;
  }

  EntryHandler* h_;
};

struct EntryDecoder::State {
  simdjson::dom::parser fast;
  rapidjson::Reader reader;
  EntryHandler handler;
  // The line being parsed in situ: NUL-terminated, then kPadding zero bytes
  // (what simdjson may read past the end).
  static constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;
  std::unique_ptr<char[]> text;
  size_t capacity = 0;
};

EntryDecoder::EntryDecoder() : state_(std::make_unique<State>()) {}
EntryDecoder::~EntryDecoder() = default;

absl::Status EntryDecoder::Decode(absl::string_view line, Entry* out) {
  State& st = *state_;
  st.handler.Reset(out);
  const size_t need = line.size() + 1 + State::kPadding;
  if (st.capacity < need) {  // grows, never shrinks: one allocation for a whole ledger
    st.capacity = std::max(need, std::max<size_t>(1024, st.capacity * 2));
    st.text = std::make_unique<char[]>(st.capacity);
  }
  std::memcpy(st.text.get(), line.data(), line.size());
  std::memset(st.text.get() + line.size(), 0, 1 + State::kPadding);
  if (!exact_only_) {
    // A line that opens an object (simdjson would skip a byte-order mark
    // that RapidJSON refuses).
    const size_t first = line.find_first_not_of(" \t\r");
    simdjson::dom::element root;
    if (first != absl::string_view::npos && line[first] == '{' &&
        st.fast.parse(st.text.get(), line.size(), /*realloc_if_needed=*/false).get(root) == simdjson::SUCCESS) {
      DomReplay replay(&st.handler);
      if (replay.Value(root)) {
        ++fast_reads_;
        return st.handler.Finish();
      }
      st.handler.Reset(out);
    }
  }
  if (const size_t bad = FindInvalidUtf8(line); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON at column ", bad + 1, ": invalid UTF-8"));
  }
  rapidjson::InsituStringStream in(st.text.get());
  const rapidjson::ParseResult r = st.reader.Parse<kReadFlags>(in, st.handler);
  if (r.IsError()) {
    // The reader takes a NUL byte for the end of the text, so a NUL inside a
    // string reads as a string never closed: name the byte instead.
    if (const void* nul = std::memchr(line.data(), '\0', line.size());
        nul != nullptr && static_cast<size_t>(static_cast<const char*>(nul) - line.data()) <= r.Offset()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid JSON at column ", static_cast<const char*>(nul) - line.data() + 1, ": a NUL byte"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at column ", r.Offset() + 1, ": ", rapidjson::GetParseError_En(r.Code())));
  }
  if (in.Tell() != line.size()) {
    // The reader takes a NUL byte for the end of the text.
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON at column ", in.Tell() + 1, ": a NUL byte"));
  }
  return st.handler.Finish();
}

absl::StatusOr<Entry> DecodeEntryJson(absl::string_view line) {
  EntryDecoder decoder;
  Entry entry;
  absl::Status s = decoder.Decode(line, &entry);
  if (!s.ok()) return s;
  return entry;
}

}  // namespace v1
}  // namespace tokenbook
