// tokenbook migrate: imports the JSONL usage logs of the tools people come
// from, keeping the cost each line recorded and saying where our price for
// the same tokens differs.
//
// Two line shapes are read (any other field is ignored):
//   {"timestamp", "session", "model", "input_tokens", "output_tokens",
//    "total_tokens", "cost_usd", "notes"}
//   {"timestamp", "session_id", "project", "model", "tool", "input_tokens",
//    "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd",
//    "task_type", "duration_seconds"}
//
// Idempotence: each entry's source key is "migrate:" + the FNV-1a 128-bit
// hash (hex) of the line's normalised record (the values imported, not the
// bytes, so re-serialising a log changes nothing) + ":" + how many times
// that same record has occurred in the file so far. Migrating a file again
// adds nothing; two identical lines in one file are two entries (a tool
// that wrote two lines meant two requests); a line copied into another
// file is recognised and not imported twice.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "commands.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/ledger.h"

namespace tokenbook::cli {
namespace {

constexpr absl::string_view kSourceKind = "migrate";

struct MigrateOptions {
  std::string file;
  bool dry_run = false;
  bool skip_bad = false;
  bool json = false;
};

// ---------------------------------------------------------------------------
// The top-level fields of one line, as text: numbers keep their exact
// spelling (kParseNumbersAsStringsFlag), so no value passes through a double.

struct JsonValue {
  enum class Kind { kString, kNumber, kBool, kNull, kObject, kArray };
  Kind kind = Kind::kNull;
  std::string text;  // strings and numbers
};

class LineFields {
 public:
  void Clear() {
    index_.clear();
    values_.clear();
    duplicate_.clear();
  }

  void Add(absl::string_view key, JsonValue value) {
    auto [it, inserted] = index_.try_emplace(key, values_.size());
    if (!inserted) {
      if (duplicate_.empty()) duplicate_ = std::string(key);
      return;
    }
    values_.push_back(std::move(value));
  }

  // Null counts as absent.
  const JsonValue* Find(absl::string_view key) const {
    auto it = index_.find(key);
    if (it == index_.end() || values_[it->second].kind == JsonValue::Kind::kNull) return nullptr;
    return &values_[it->second];
  }

  const std::string& duplicate() const { return duplicate_; }

 private:
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<JsonValue> values_;
  std::string duplicate_;
};

// A SAX handler that keeps the root object's members and skips what is
// nested inside them (recording only that a value was an object or array).
class FieldsHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, FieldsHandler> {
 public:
  explicit FieldsHandler(LineFields* out) : out_(out) {}

  bool Null() { return Scalar(JsonValue::Kind::kNull, {}); }
  bool Bool(bool b) { return Scalar(JsonValue::Kind::kBool, b ? "true" : "false"); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return Scalar(JsonValue::Kind::kNumber, {s, n}); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return Scalar(JsonValue::Kind::kString, {s, n}); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ == 1) key_.assign(s, n);
    return true;
  }
  bool StartObject() { return Open(JsonValue::Kind::kObject); }
  bool StartArray() { return Open(JsonValue::Kind::kArray); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

  bool not_object() const { return not_object_; }

 private:
  bool Scalar(JsonValue::Kind kind, absl::string_view text) {
    if (depth_ == 0) return NotObject();
    if (depth_ == 1) out_->Add(key_, JsonValue{kind, std::string(text)});
    return true;
  }
  bool Open(JsonValue::Kind kind) {
    if (depth_ == 0 && kind != JsonValue::Kind::kObject) return NotObject();
    if (depth_ == 1) out_->Add(key_, JsonValue{kind, {}});
    ++depth_;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  bool NotObject() {
    not_object_ = true;
    return false;  // stops the parse
  }

  LineFields* out_;
  int depth_ = 0;
  std::string key_;
  bool not_object_ = false;
};

// ---------------------------------------------------------------------------
// Reading fields.

// A line that cannot be imported: `field` is empty when the problem is the
// line as a whole.
struct BadLine {
  int64_t line = 0;
  std::string field;
  std::string message;
};

struct FieldError {
  std::string field;
  std::string message;
};

// A value for a message, cut short when long: "12k", 1.5, an object.
std::string Shown(const JsonValue& v) {
  switch (v.kind) {
    case JsonValue::Kind::kObject: return "an object";
    case JsonValue::Kind::kArray: return "an array";
    case JsonValue::Kind::kNull: return "null";
    case JsonValue::Kind::kBool:
    case JsonValue::Kind::kNumber:
    case JsonValue::Kind::kString: break;
  }
  std::string text = v.text.size() > 40 ? absl::StrCat(v.text.substr(0, 40), "...") : v.text;
  return v.kind == JsonValue::Kind::kString ? absl::StrCat("\"", text, "\"") : text;
}

const char* KindName(JsonValue::Kind kind) {
  switch (kind) {
    case JsonValue::Kind::kString: return "a string";
    case JsonValue::Kind::kNumber: return "a number";
    case JsonValue::Kind::kBool: return "a boolean";
    case JsonValue::Kind::kNull: return "null";
    case JsonValue::Kind::kObject: return "an object";
    case JsonValue::Kind::kArray: return "an array";
  }
  return "?";
}

// An optional string field ("" when absent or null).
std::optional<FieldError> ReadString(const LineFields& f, const char* name, std::string* out) {
  out->clear();
  const JsonValue* v = f.Find(name);
  if (v == nullptr) return std::nullopt;
  if (v->kind != JsonValue::Kind::kString) {
    return FieldError{name, absl::StrCat("expected a string, got ", KindName(v->kind))};
  }
  *out = v->text;
  return std::nullopt;
}

// A token count: a JSON integer, 0 <= n < 2^62 (what pricing accepts); 0
// when absent unless `required`.
std::optional<FieldError> ReadCount(const LineFields& f, const char* name, bool required, int64_t* out) {
  *out = 0;
  const JsonValue* v = f.Find(name);
  if (v == nullptr) {
    if (required) return FieldError{name, "missing"};
    return std::nullopt;
  }
  const bool integer_text = v->kind == JsonValue::Kind::kNumber &&
                            v->text.find_first_of(".eE") == std::string::npos;
  if (!integer_text) return FieldError{name, absl::StrCat("expected a whole number of tokens, got ", Shown(*v))};
  int64_t n = 0;
  if (!absl::SimpleAtoi(v->text, &n)) return FieldError{name, absl::StrCat("does not fit in 64 bits: ", Shown(*v))};
  if (n < 0) return FieldError{name, absl::StrCat("must not be negative, got ", n)};
  constexpr int64_t kMaxTokens = (int64_t{1} << 62) - 1;
  if (n > kMaxTokens) return FieldError{name, absl::StrCat("too large (at most ", kMaxTokens, "), got ", n)};
  *out = n;
  return std::nullopt;
}

// A non-negative decimal (a JSON number or a string holding one), exactly.
std::optional<FieldError> ReadDecimal(const LineFields& f, const char* name, std::optional<Decimal>* out) {
  out->reset();
  const JsonValue* v = f.Find(name);
  if (v == nullptr) return std::nullopt;
  if (v->kind != JsonValue::Kind::kNumber && v->kind != JsonValue::Kind::kString) {
    return FieldError{name, absl::StrCat("expected a decimal number, got ", KindName(v->kind))};
  }
  absl::StatusOr<Decimal> d = ParseDecimal(v->text);
  if (!d.ok()) return FieldError{name, absl::StrCat("expected a decimal number, got ", Shown(*v))};
  if (d->negative) return FieldError{name, absl::StrCat("must not be negative, got ", Shown(*v))};
  *out = *std::move(d);
  return std::nullopt;
}

// "-12e-3": one spelling per value, for the source key.
std::string CanonicalDecimal(const std::optional<Decimal>& d) {
  if (!d.has_value()) return "";
  if (d->is_zero()) return "0";
  return absl::StrCat(d->negative ? "-" : "", d->digits, "e", d->exponent);
}

// RFC 3339 with or without a fraction; a space instead of the "T" is
// accepted (Python's str(datetime)). Without an offset the time is read in
// `naive_zone` and `*naive` is set.
std::optional<FieldError> ReadTimestamp(const LineFields& f, const absl::TimeZone& naive_zone, absl::Time* out,
                                        bool* naive, std::string* canonical) {
  const JsonValue* v = f.Find("timestamp");
  if (v == nullptr) {
    return FieldError{"timestamp", "missing (a line needs timestamp, model, input_tokens and output_tokens)"};
  }
  if (v->kind != JsonValue::Kind::kString) {
    return FieldError{"timestamp", absl::StrCat("expected an RFC 3339 string, got ", KindName(v->kind))};
  }
  std::string text(absl::StripAsciiWhitespace(v->text));
  if (text.size() > 10 && text[10] == ' ') text[10] = 'T';
  std::string err;
  *naive = false;
  if (!absl::ParseTime(absl::RFC3339_full, text, out, &err)) {
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, naive_zone, out, &err)) {
      return FieldError{"timestamp", absl::StrCat(Shown(*v), " is not RFC 3339 (2025-09-30T12:00:00Z, "
                                                             "2025-09-30T14:00:00.250+02:00 or, read in ",
                                                  naive_zone.name(), ", 2025-09-30T12:00:00)")};
    }
    *naive = true;
  }
  if (!FormatLedgerTime(*out).ok()) {
    return FieldError{"timestamp", absl::StrCat(Shown(*v), " is outside the years 0000..9999")};
  }
  if (*out == absl::UnixEpoch()) {
    // The ledger reads a zero timestamp as "not set" and would put "now" there.
    return FieldError{"timestamp", absl::StrCat(Shown(*v), " is the Unix epoch itself, which cannot be recorded")};
  }
  // A naive time keeps its text in the key, so that reading it in another
  // zone later does not make it a new record.
  *canonical = *naive ? absl::StrCat("naive ", text)
                      : absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", *out, absl::UTCTimeZone());
  return std::nullopt;
}

// 128-bit FNV-1a: stable across runs, builds and machines (unlike
// absl::Hash), and wide enough that distinct records never share a key in
// practice.
std::string Fnv1a128Hex(absl::string_view s) {
  unsigned __int128 h = (static_cast<unsigned __int128>(0x6c62272e07bb0142ULL) << 64) | 0x62b821756295c58dULL;
  const unsigned __int128 prime = (static_cast<unsigned __int128>(1) << 88) | 0x13b;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= prime;
  }
  return absl::StrFormat("%016x%016x", static_cast<uint64_t>(h >> 64), static_cast<uint64_t>(h));
}

// Appends "name=<length>:value;" so that no two records share a text.
void AppendKeyPart(absl::string_view name, absl::string_view value, std::string* out) {
  absl::StrAppend(out, name, "=", value.size(), ":", value, ";");
}

// ---------------------------------------------------------------------------
// One migrated line.

struct Migrated {
  int64_t line = 0;
  Entry entry;                   // moved into the batch when written
  std::string model;             // entry.model and entry.cost, kept for the summary
  Micros cost;
  std::string given_model;       // as the line spelled it
  bool reported = false;         // the line carried cost_usd
  bool known_model = false;      // our rate table prices it
  Micros ours;                   // our price, when known_model
  bool naive_time = false;
};

class LineReader {
 public:
  LineReader(const RateTable& rates, absl::TimeZone naive_zone) : rates_(rates), naive_zone_(naive_zone) {}

  // Reads one non-blank line into `*out`, or says what is wrong with it.
  std::optional<BadLine> Read(int64_t line_no, absl::string_view line, Migrated* out) {
    auto bad = [&](std::string field, std::string message) {
      return BadLine{line_no, std::move(field), std::move(message)};
    };
    auto bad_field = [&](const FieldError& e) { return bad(e.field, e.message); };
    if (line.size() > kMaxLedgerLineBytes) return bad("", "line longer than 1 MiB");
    if (line.find('\0') != absl::string_view::npos) return bad("", "a NUL byte in the line");
    fields_.Clear();
    FieldsHandler handler(&fields_);
    rapidjson::Reader reader;
    rapidjson::StringStream stream(buffer_.assign(line.data(), line.size()).c_str());
    const rapidjson::ParseResult ok =
        reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag |
                     rapidjson::kParseIterativeFlag>(stream, handler);
    if (handler.not_object()) return bad("", "not a JSON object");
    if (!ok) {
      return bad("", absl::StrCat("invalid JSON at column ", ok.Offset() + 1, ": ",
                                  rapidjson::GetParseError_En(ok.Code())));
    }
    if (!fields_.duplicate().empty()) return bad(fields_.duplicate(), "given twice");

    Migrated m;
    m.line = line_no;
    Entry& e = m.entry;
    std::string canonical;
    std::string ts_key;
    if (auto err = ReadTimestamp(fields_, naive_zone_, &e.timestamp, &m.naive_time, &ts_key)) return bad_field(*err);
    if (auto err = ReadString(fields_, "model", &e.model)) return bad_field(*err);
    if (e.model.empty()) {
      return bad("model", fields_.Find("model") == nullptr ? "missing" : "must not be empty");
    }
    m.given_model = e.model;
    std::string session_id;
    if (auto err = ReadString(fields_, "session", &e.session)) return bad_field(*err);
    if (auto err = ReadString(fields_, "session_id", &session_id)) return bad_field(*err);
    if (!session_id.empty()) {
      if (!e.session.empty() && e.session != session_id) {
        return bad("session_id", absl::StrCat("\"", session_id, "\" differs from session \"", e.session, "\""));
      }
      e.session = session_id;
    }
    if (auto err = ReadString(fields_, "project", &e.project)) return bad_field(*err);
    if (auto err = ReadString(fields_, "tool", &e.tool)) return bad_field(*err);
    if (auto err = ReadString(fields_, "task_type", &e.task_type)) return bad_field(*err);
    if (auto err = ReadString(fields_, "notes", &e.notes)) return bad_field(*err);
    int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, total = 0;
    if (auto err = ReadCount(fields_, "input_tokens", true, &input)) return bad_field(*err);
    if (auto err = ReadCount(fields_, "output_tokens", true, &output)) return bad_field(*err);
    if (auto err = ReadCount(fields_, "cache_read_tokens", false, &cache_read)) return bad_field(*err);
    if (auto err = ReadCount(fields_, "cache_write_tokens", false, &cache_write)) return bad_field(*err);
    // total_tokens is checked for a count, not stored: the ledger keeps the parts.
    if (auto err = ReadCount(fields_, "total_tokens", false, &total)) return bad_field(*err);
    e.tokens[TokenKind::kInput] = Tokens(input);
    e.tokens[TokenKind::kOutput] = Tokens(output);
    e.tokens[TokenKind::kCacheRead] = Tokens(cache_read);
    e.tokens[TokenKind::kCacheWrite5m] = Tokens(cache_write);  // Anthropic's default cache lifetime

    std::optional<Decimal> cost, duration;
    if (auto err = ReadDecimal(fields_, "cost_usd", &cost)) return bad_field(*err);
    if (auto err = ReadDecimal(fields_, "duration_seconds", &duration)) return bad_field(*err);
    if (cost.has_value()) {
      absl::StatusOr<Rounded> micros = ScaleHalfEven(*cost, 6);  // half-even to the micro-dollar
      if (!micros.ok()) return bad("cost_usd", absl::StrCat(Shown(*fields_.Find("cost_usd")), " is too large"));
      e.cost = Micros(micros->value);
      e.cost_source = CostSource::kReported;
      m.reported = true;
    }
    if (duration.has_value()) {
      absl::StatusOr<Rounded> ms = ScaleHalfEven(*duration, 3);
      if (!ms.ok()) {
        return bad("duration_seconds", absl::StrCat(Shown(*fields_.Find("duration_seconds")), " is too large"));
      }
      e.duration_ms = ms->value;
    }

    // Our price, on a copy: a reported cost is kept whatever we think.
    Entry ours = e;
    ours.cost = Micros(0);
    ours.cost_source = CostSource::kComputed;
    if (absl::Status s = PriceEntry(rates_, &ours); !s.ok()) return bad("", std::string(s.message()));
    m.known_model = ours.priced();
    m.ours = ours.cost;
    if (m.known_model) {
      e.model = ours.model;  // the id reports group by, whatever the spelling
      e.provider = ours.provider;
    }
    if (!m.reported) {
      e.cost = ours.cost;
      e.cost_source = ours.cost_source;
      e.rates_as_of = ours.rates_as_of;
    }

    AppendKeyPart("timestamp", ts_key, &canonical);
    AppendKeyPart("session", e.session, &canonical);
    AppendKeyPart("project", e.project, &canonical);
    AppendKeyPart("model", m.given_model, &canonical);
    AppendKeyPart("tool", e.tool, &canonical);
    AppendKeyPart("task_type", e.task_type, &canonical);
    AppendKeyPart("notes", e.notes, &canonical);
    for (int64_t n : {input, output, cache_read, cache_write}) AppendKeyPart("n", absl::StrCat(n), &canonical);
    AppendKeyPart("cost_usd", CanonicalDecimal(cost), &canonical);
    AppendKeyPart("duration_seconds", CanonicalDecimal(duration), &canonical);
    const std::string hash = Fnv1a128Hex(canonical);
    const int64_t occurrence = ++occurrences_[hash];
    e.source_kind = std::string(kSourceKind);
    e.source_key = absl::StrCat(kSourceKind, ":", hash, ":", occurrence);

    // Whatever else the ledger line format refuses, refuse it here, by line.
    e.id = NewUlid();
    scratch_.clear();
    if (absl::Status s = EncodeEntryJson(e, &scratch_); !s.ok()) return bad("", std::string(s.message()));
    m.model = e.model;
    m.cost = e.cost;
    *out = std::move(m);
    return std::nullopt;
  }

 private:
  const RateTable& rates_;
  absl::TimeZone naive_zone_;
  LineFields fields_;
  std::string buffer_;
  std::string scratch_;
  absl::flat_hash_map<std::string, int64_t> occurrences_;
};

std::string BadLineText(const std::string& file, const BadLine& b) {
  return b.field.empty() ? absl::StrCat(file, ":", b.line, ": ", b.message)
                         : absl::StrCat(file, ":", b.line, ": field \"", b.field, "\": ", b.message);
}

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

// Opens the file to migrate, before anything else is touched.
absl::StatusOr<File> OpenInput(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (f == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  struct stat st;
  if (::fstat(fileno(f.get()), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path, ": it is a directory"));
  }
  return f;
}

// Calls `fn` with every line (1-based number, no line ending).
absl::Status ReadLines(FILE* f, const std::string& path,
                       const std::function<void(int64_t, absl::string_view)>& fn) {
  char* data = nullptr;
  size_t cap = 0;
  int64_t line_no = 0;
  ssize_t n;
  while ((n = ::getline(&data, &cap, f)) >= 0) {
    ++line_no;
    absl::string_view line(data, static_cast<size_t>(n));
    absl::ConsumeSuffix(&line, "\n");
    absl::ConsumeSuffix(&line, "\r");
    fn(line_no, line);
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::free(data);
  if (failed) return absl::ErrnoToStatus(err, absl::StrCat("cannot read ", path));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The run.

struct Outcome {
  std::vector<Migrated> entries;
  std::vector<BadLine> bad;
  int64_t imported = 0;
  int64_t present = 0;
  bool written = false;
  std::string naive_zone;
};

struct PriceCheck {
  int64_t compared = 0;  // entries with a reported cost and a known model
  Micros reported;
  Micros ours;
  std::vector<const Migrated*> differing;
  std::vector<const Migrated*> unknown;  // reported cost, model not in our table
  int64_t computed = 0;                  // no reported cost: priced by us
  int64_t unpriced = 0;                  // no reported cost, unknown model
  int64_t naive = 0;
};

absl::StatusOr<PriceCheck> Check(const std::vector<Migrated>& entries) {
  PriceCheck c;
  for (const Migrated& m : entries) {
    if (m.naive_time) ++c.naive;
    if (!m.reported) {
      (m.known_model ? c.computed : c.unpriced) += 1;
      continue;
    }
    if (!m.known_model) {
      c.unknown.push_back(&m);
      continue;
    }
    ++c.compared;
    if (!CheckedAdd(&c.reported, m.cost) || !CheckedAdd(&c.ours, m.ours)) {
      return absl::OutOfRangeError("the total cost of the file overflows 64 bits");
    }
    if (m.ours != m.cost) c.differing.push_back(&m);
  }
  return c;
}

Micros Minus(Micros a, Micros b) { return Micros(a.value() - b.value()); }  // both within [0, 2^63)

std::string SignedDollars(Micros amount) {
  return amount.value() > 0 ? absl::StrCat("+", FormatDollars(amount, 6)) : FormatDollars(amount, 6);
}

void PrintJsonOutcome(const MigrateOptions& o, const Outcome& out, const PriceCheck& c, bool refused) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  WriteKey(w, "file");
  WriteString(w, o.file);
  WriteKey(w, "dry_run");
  w.Bool(o.dry_run);
  if (refused) {
    WriteKey(w, "error");
    WriteString(w, "bad_lines");
  }
  WriteKey(w, "entries");
  w.Int64(static_cast<int64_t>(out.entries.size()));
  WriteKey(w, "imported");
  w.Int64(out.imported);
  WriteKey(w, "already_present");
  w.Int64(out.present);
  WriteKey(w, "bad_lines");
  w.StartArray();
  for (const BadLine& b : out.bad) {
    w.StartObject();
    WriteKey(w, "line");
    w.Int64(b.line);
    WriteKey(w, "field");
    if (b.field.empty()) {
      w.Null();
    } else {
      WriteString(w, b.field);
    }
    WriteKey(w, "message");
    WriteString(w, b.message);
    WriteKey(w, "text");
    WriteString(w, BadLineText(o.file, b));
    w.EndObject();
  }
  w.EndArray();
  WriteKey(w, "price_check");
  w.StartObject();
  WriteKey(w, "entries");
  w.Int64(c.compared);
  WriteMoney(w, "reported", c.reported);
  WriteMoney(w, "ours", c.ours);
  WriteMoney(w, "difference", Minus(c.ours, c.reported));
  WriteKey(w, "differences");
  w.StartArray();
  for (const Migrated* m : c.differing) {
    w.StartObject();
    WriteKey(w, "line");
    w.Int64(m->line);
    WriteKey(w, "model");
    WriteString(w, m->model);
    WriteMoney(w, "reported", m->cost);
    WriteMoney(w, "ours", m->ours);
    WriteMoney(w, "difference", Minus(m->ours, m->cost));
    w.EndObject();
  }
  w.EndArray();
  WriteKey(w, "unknown_models");
  w.StartArray();
  for (const Migrated* m : c.unknown) {
    w.StartObject();
    WriteKey(w, "line");
    w.Int64(m->line);
    WriteKey(w, "model");
    WriteString(w, m->given_model);
    WriteMoney(w, "reported", m->cost);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  WriteKey(w, "computed_entries");
  w.Int64(c.computed);
  WriteKey(w, "unpriced_entries");
  w.Int64(c.unpriced);
  WriteKey(w, "naive_timestamps");
  w.Int64(c.naive);
  WriteKey(w, "naive_time_zone");
  WriteString(w, out.naive_zone);
  w.EndObject();
  PrintJson(buffer);
}

std::string Plural(int64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(GroupThousands(n), " ", n == 1 ? one : many);
}

void PrintTextOutcome(const MigrateOptions& o, const Outcome& out, const PriceCheck& c) {
  std::string head = absl::StrCat(o.file, ": ", Plural(static_cast<int64_t>(out.entries.size()), "entry", "entries"),
                                  " read");
  if (!out.bad.empty()) {
    absl::StrAppend(&head, ", ", Plural(static_cast<int64_t>(out.bad.size()), "bad line", "bad lines"), " skipped");
  }
  std::printf("%s\n", head.c_str());
  if (o.dry_run) {
    std::printf("dry run: would import %s, %s already in the ledger; nothing written\n",
                Plural(out.imported, "new entry", "new entries").c_str(), GroupThousands(out.present).c_str());
  } else {
    std::printf("imported %s, %s already in the ledger\n", Plural(out.imported, "new entry", "new entries").c_str(),
                GroupThousands(out.present).c_str());
  }
  if (c.compared > 0) {
    std::printf("reported cost %s on %s; our price %s (ours - reported: %s)\n", FormatDollars(c.reported, 6).c_str(),
                Plural(c.compared, "entry", "entries").c_str(), FormatDollars(c.ours, 6).c_str(),
                SignedDollars(Minus(c.ours, c.reported)).c_str());
  }
  if (!c.differing.empty()) {
    std::printf("our price differs on %s (the reported cost is what is recorded):\n",
                Plural(static_cast<int64_t>(c.differing.size()), "entry", "entries").c_str());
    for (const Migrated* m : c.differing) {
      std::printf("  %s:%lld  %s  reported %s  ours %s  (%s)\n", o.file.c_str(), static_cast<long long>(m->line),
                  m->model.c_str(), FormatDollars(m->cost, 6).c_str(), FormatDollars(m->ours, 6).c_str(),
                  SignedDollars(Minus(m->ours, m->cost)).c_str());
    }
  }
  if (!c.unknown.empty()) {
    std::printf("not checked, the model is not in the rate table (the reported cost is recorded):\n");
    for (const Migrated* m : c.unknown) {
      std::printf("  %s:%lld  %s  reported %s\n", o.file.c_str(), static_cast<long long>(m->line),
                  m->given_model.c_str(), FormatDollars(m->cost, 6).c_str());
    }
  }
  if (c.computed > 0) {
    std::printf("%s without cost_usd priced from the rate table\n", Plural(c.computed, "entry", "entries").c_str());
  }
  if (c.unpriced > 0) {
    std::printf("UNPRICED: %s without cost_usd and with a model not in the rate table (recorded at $0, flagged)\n",
                Plural(c.unpriced, "entry", "entries").c_str());
  }
  if (c.naive > 0) {
    std::printf("%s without a UTC offset read in %s\n", Plural(c.naive, "timestamp", "timestamps").c_str(),
                out.naive_zone.c_str());
  }
}

int RunMigrate(const GlobalOptions& global, const MigrateOptions& o) {
  absl::StatusOr<absl::Time> now = Now();
  if (!now.ok()) return Fail(kExitUsage, now.status().message());
  absl::StatusOr<File> input = OpenInput(o.file);
  if (!input.ok()) return Fail(kExitNoInput, input.status().message());

  // A dry run writes nothing, not even a new ledger directory: without a
  // ledger it checks the file against the rate tables alone.
  std::unique_ptr<Book> book;
  std::optional<RateTable> loose_rates;
  bool open_book = !o.dry_run;
  if (o.dry_run) {
    absl::StatusOr<std::string> dir = LedgerDir(global);
    if (!dir.ok()) return Fail(dir.status());
    open_book = LedgerExists(*dir);
  }
  if (open_book) {
    absl::StatusOr<std::unique_ptr<Book>> opened = OpenBook(global, /*create=*/!o.dry_run);
    if (!opened.ok()) return Fail(opened.status());
    book = *std::move(opened);
    for (const std::string& w : book->rate_warnings()) std::fprintf(stderr, "tokenbook: warning: %s\n", w.c_str());
  } else {
    std::vector<std::string> warnings;
    absl::StatusOr<RateTable> rates = LoadRates(global, &warnings);
    for (const std::string& w : warnings) std::fprintf(stderr, "tokenbook: warning: %s\n", w.c_str());
    if (!rates.ok()) return Fail(rates.status());
    loose_rates = *std::move(rates);
  }
  const RateTable& rates = book != nullptr ? book->rates() : *loose_rates;

  Outcome out;
  absl::TimeZone naive_zone = book != nullptr ? book->config().time_zone : absl::UTCTimeZone();
  out.naive_zone = book != nullptr ? book->config().time_zone_name : "UTC";
  if (!global.tz.empty()) {
    if (!absl::LoadTimeZone(global.tz, &naive_zone)) {
      return Fail(kExitUsage, absl::StrCat("--tz: unknown time zone \"", global.tz, "\""));
    }
    out.naive_zone = global.tz;
  }

  LineReader reader(rates, naive_zone);
  absl::Status read = ReadLines(input->get(), o.file, [&](int64_t line_no, absl::string_view line) {
    if (absl::StripAsciiWhitespace(line).empty()) return;
    Migrated m;
    if (std::optional<BadLine> bad = reader.Read(line_no, line, &m)) {
      out.bad.push_back(*std::move(bad));
    } else {
      out.entries.push_back(std::move(m));
    }
  });
  if (!read.ok()) return Fail(kExitNoInput, read.message());
  for (const BadLine& b : out.bad) std::fprintf(stderr, "tokenbook: %s\n", BadLineText(o.file, b).c_str());

  absl::StatusOr<PriceCheck> check = Check(out.entries);
  if (!check.ok()) return Fail(check.status());
  if (!out.bad.empty() && !o.skip_bad) {
    if (o.json) PrintJsonOutcome(o, out, *check, /*refused=*/true);
    return Fail(kExitDataError,
                absl::StrCat(Plural(static_cast<int64_t>(out.bad.size()), "bad line", "bad lines"), " in ", o.file,
                             "; nothing imported (fix them, or import the other ",
                             Plural(static_cast<int64_t>(out.entries.size()), "line", "lines"), " with --skip-bad)"));
  }

  if (o.dry_run) {
    for (const Migrated& m : out.entries) {
      bool present = false;
      if (book != nullptr) {
        absl::StatusOr<bool> has = book->ledger().HasSourceKey(m.entry.source_key);
        if (!has.ok()) return Fail(has.status());
        present = *has;
      }
      (present ? out.present : out.imported) += 1;
    }
  } else {
    std::vector<Entry> batch;
    batch.reserve(out.entries.size());
    for (Migrated& m : out.entries) batch.push_back(std::move(m.entry));
    // One write for the whole file: all of it is in the ledger, or none.
    absl::StatusOr<std::vector<LogOutcome>> logged = book->LogBatch(std::move(batch), *now);
    if (!logged.ok()) return Fail(logged.status());
    for (const LogOutcome& l : *logged) (l.append.appended ? out.imported : out.present) += 1;
  }
  if (o.json) {
    PrintJsonOutcome(o, out, *check, /*refused=*/false);
  } else {
    PrintTextOutcome(o, out, *check);
  }
  return kExitOk;
}

}  // namespace

void RegisterMigrateCommand(CLI::App& root, GlobalOptions& global, std::vector<Command>& out) {
  auto o = std::make_shared<MigrateOptions>();
  CLI::App* sub = root.add_subcommand(
      "migrate", "Import another tool's JSONL usage log, keeping its recorded costs (idempotent)");
  sub->add_option("file", o->file, "The JSONL file to import")->required();
  sub->add_flag("--dry-run,-n", o->dry_run, "Check the file and show what would be imported; write nothing");
  sub->add_flag("--skip-bad", o->skip_bad, "Import the good lines even when some are bad (still reported)");
  sub->add_flag("--json", o->json, "Print a JSON object");
  out.push_back(Command{sub, [&global, o] { return RunMigrate(global, *o); }});
}

}  // namespace tokenbook::cli
