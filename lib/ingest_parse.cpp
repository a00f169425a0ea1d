// Parsers of agent logs and response bodies (lib/tokenbook/ingest.h).
//
// Claude Code lines, which are most of what ingestion reads, are parsed by
// simdjson (SIMD validation and indexing, about four times RapidJSON's speed
// on transcript lines), and the few fields needed are taken from its DOM
// only when every one of them has its usual type. Anything else (invalid
// JSON, a count that is not a plain integer, a wrong type) goes to the
// reader that decides and explains: RapidJSON's SAX reader, in place, into
// a handler that keeps only those fields, iteratively so that deep nesting
// stays off the call stack. Of the lines simdjson accepts, RapidJSON refuses
// only some with a fraction or an exponent (0e309), which the fast path
// leaves to it, and the fast path reads the fields exactly as the handler
// does (a repeated key: the last one counts), so both give the same entry;
// the claude_code_line fuzz target checks that they agree. Codex lines and response bodies are small
// and rare: a reused RapidJSON DOM.
#include "tokenbook/ingest_internal.h"

// RapidJSON's SSE2 scanning (CMakeLists.txt) loads aligned 16-byte blocks,
// which in situ may reach up to 15 bytes past the NUL that ends the text,
// and simdjson reads up to 64 bytes past the end: every line is parsed in a
// buffer with ClaudeCodeLineParser::kLinePadding bytes after it (the
// reader's own, or PaddedCopy), so no read leaves the buffer.

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/encodings.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "simdjson.h"
#include "tokenbook/entry_json.h"
#include "tokenbook/status.h"

namespace tokenbook {
inline namespace v1 {

absl::string_view IngestSourceName(IngestSource source) {
  switch (source) {
    case IngestSource::kClaudeCode: return "claude-code";
    case IngestSource::kCodex: return "codex";
    case IngestSource::kClaudeJson: return "claude-json";
    case IngestSource::kAnthropicResponse: return "anthropic-response";
    case IngestSource::kOpenAiResponse: return "openai-response";
  }
  return "?";
}

std::optional<IngestSource> ParseIngestSource(absl::string_view name) {
  for (IngestSource s : {IngestSource::kClaudeCode, IngestSource::kCodex, IngestSource::kClaudeJson,
                         IngestSource::kAnthropicResponse, IngestSource::kOpenAiResponse}) {
    if (IngestSourceName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsDocumentSource(IngestSource source) {
  return source == IngestSource::kClaudeJson || source == IngestSource::kAnthropicResponse ||
         source == IngestSource::kOpenAiResponse;
}

namespace ingest_internal {

bool IsValidUtf8(absl::string_view s) {
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return true;  // the usual case, without decoding
  rapidjson::MemoryStream is(s.data(), s.size());
  while (is.Tell() < s.size()) {
    unsigned code_point = 0;
    if (!rapidjson::UTF8<>::Decode(is, &code_point)) return false;
  }
  return true;
}

absl::StatusOr<absl::Time> ParseLogTime(absl::string_view text) {
  absl::StatusOr<absl::Time> t = ParseLedgerTime(text);
  if (t.ok()) return t;
  absl::Time out;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &out, &err)) return out;
  return absl::InvalidArgumentError(absl::StrCat("\"", text.substr(0, 40), "\" is not an RFC 3339 time"));
}

std::string ProjectFromCwd(absl::string_view cwd) {
  while (cwd.size() > 1 && cwd.back() == '/') cwd.remove_suffix(1);
  const size_t slash = cwd.find_last_of('/');
  if (slash != absl::string_view::npos && slash + 1 < cwd.size()) cwd.remove_prefix(slash + 1);
  return std::string(cwd);
}

}  // namespace ingest_internal

namespace {

using ingest_internal::IsValidUtf8;
using ingest_internal::ParseLogTime;
using ingest_internal::ProjectFromCwd;

// A token count: a JSON integer in [0, 2^62).
struct Count {
  int64_t value = 0;
  bool set = false;
  const char* error = nullptr;  // "negative", "not an integer"
};

void SetCount(Count* c, int64_t v) {
  c->set = true;
  if (v < 0) {
    c->error = "a negative count";
  } else if (v >= (int64_t{1} << 62)) {
    c->error = "a count beyond 2^62";
  } else {
    c->value = v;
  }
}

// ---------------------------------------------------------------------------
// Claude Code.

enum class Field : uint8_t {
  kNone,
  // envelope
  kTimestamp,
  kSessionId,
  kRequestId,
  kCwd,
  kIsSidechain,
  kType,
  kMessage,
  kData,
  // message
  kId,
  kModel,
  kUsage,
  // usage
  kInput,
  kOutput,
  kCacheCreation,
  kCacheRead,
  kCacheCreationObject,
  kServiceTier,
  kSpeed,
  // usage.cache_creation
  kEphemeral5m,
  kEphemeral1h,
};

enum class Frame : uint8_t { kEnvelope, kMessage, kUsage, kCacheCreation, kData, kSkip };

struct Side {
  absl::string_view timestamp, session, request_id, cwd, type, id, model, service_tier, speed;
  bool sidechain = false;
  bool has_usage = false;
  Count input, output, cache_creation, cache_read, e5m, e1h;
  bool has_split = false;
  const char* error_field = nullptr;
  const char* error = nullptr;
};

template <size_t N>
bool KeyIs(const char* s, size_t n, const char (&lit)[N]) {
  return n == N - 1 && std::memcmp(s, lit, N - 1) == 0;
}

class ClaudeHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ClaudeHandler> {
 public:
  void Reset() {
    depth_ = 0;
    field_ = Field::kNone;
    sides_[0] = Side();
    sides_[1] = Side();
  }
  const Side& side(int i) const { return sides_[i]; }

  bool StartObject() {
    if (depth_ >= kMaxTracked) return Push(Frame::kSkip, 0);
    if (depth_ == 0) return Push(Frame::kEnvelope, 0);
    const Frame f = frames_[depth_ - 1];
    const int s = sides_of_[depth_ - 1];
    Frame next = Frame::kSkip;
    int side = s;
    switch (field_) {
      case Field::kMessage: next = f == Frame::kEnvelope ? Frame::kMessage : (f == Frame::kData ? Frame::kEnvelope : Frame::kSkip);
        if (f == Frame::kData) side = 1;
        break;
      case Field::kData: next = (f == Frame::kEnvelope && s == 0) ? Frame::kData : Frame::kSkip; break;
      case Field::kUsage:
        next = Frame::kUsage;
        sides_[s].has_usage = true;
        break;
      case Field::kCacheCreationObject:
        next = Frame::kCacheCreation;
        sides_[s].has_split = true;
        break;
      default:
        if (field_ != Field::kNone) Wrong("an object");  // a token count must not be one
        break;
    }
    field_ = Field::kNone;
    return Push(next, side);
  }
  bool EndObject(rapidjson::SizeType) { return Pop(); }
  bool StartArray() {
    if (field_ != Field::kNone && depth_ > 0 && depth_ <= kMaxTracked) Wrong("an array");
    field_ = Field::kNone;
    return Push(Frame::kSkip, 0);
  }
  bool EndArray(rapidjson::SizeType) { return Pop(); }

  bool Key(const char* k, rapidjson::SizeType n, bool) {
    field_ = Field::kNone;
    if (depth_ == 0 || depth_ > kMaxTracked) return true;
    switch (frames_[depth_ - 1]) {
      case Frame::kEnvelope:
        if (KeyIs(k, n, "timestamp")) field_ = Field::kTimestamp;
        else if (KeyIs(k, n, "sessionId")) field_ = Field::kSessionId;
        else if (KeyIs(k, n, "requestId")) field_ = Field::kRequestId;
        else if (KeyIs(k, n, "cwd")) field_ = Field::kCwd;
        else if (KeyIs(k, n, "isSidechain")) field_ = Field::kIsSidechain;
        else if (KeyIs(k, n, "type")) field_ = Field::kType;
        else if (KeyIs(k, n, "message")) field_ = Field::kMessage;
        else if (KeyIs(k, n, "data")) field_ = Field::kData;
        break;
      case Frame::kData:
        if (KeyIs(k, n, "message")) field_ = Field::kMessage;
        break;
      case Frame::kMessage:
        if (KeyIs(k, n, "id")) field_ = Field::kId;
        else if (KeyIs(k, n, "model")) field_ = Field::kModel;
        else if (KeyIs(k, n, "usage")) field_ = Field::kUsage;
        break;
      case Frame::kUsage:
        if (KeyIs(k, n, "input_tokens")) field_ = Field::kInput;
        else if (KeyIs(k, n, "output_tokens")) field_ = Field::kOutput;
        else if (KeyIs(k, n, "cache_creation_input_tokens")) field_ = Field::kCacheCreation;
        else if (KeyIs(k, n, "cache_read_input_tokens")) field_ = Field::kCacheRead;
        else if (KeyIs(k, n, "cache_creation")) field_ = Field::kCacheCreationObject;
        else if (KeyIs(k, n, "service_tier")) field_ = Field::kServiceTier;
        else if (KeyIs(k, n, "speed")) field_ = Field::kSpeed;
        break;
      case Frame::kCacheCreation:
        if (KeyIs(k, n, "ephemeral_5m_input_tokens")) field_ = Field::kEphemeral5m;
        else if (KeyIs(k, n, "ephemeral_1h_input_tokens")) field_ = Field::kEphemeral1h;
        break;
      case Frame::kSkip: break;
    }
    return true;
  }

  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (field_ == Field::kNone) return true;
    Side& d = sides_[sides_of_[depth_ - 1]];
    const absl::string_view v(s, n);
    switch (field_) {
      case Field::kTimestamp: d.timestamp = v; break;
      case Field::kSessionId: d.session = v; break;
      case Field::kRequestId: d.request_id = v; break;
      case Field::kCwd: d.cwd = v; break;
      case Field::kType: d.type = v; break;
      case Field::kId: d.id = v; break;
      case Field::kModel: d.model = v; break;
      case Field::kServiceTier: d.service_tier = v; break;
      case Field::kSpeed: d.speed = v; break;
      default: Wrong("a string"); break;
    }
    field_ = Field::kNone;
    return true;
  }
  bool Bool(bool b) {
    if (field_ == Field::kIsSidechain) sides_[sides_of_[depth_ - 1]].sidechain = b;
    else if (field_ != Field::kNone) Wrong("a boolean");
    field_ = Field::kNone;
    return true;
  }
  bool Null() {
    field_ = Field::kNone;
    return true;
  }
  bool Int(int v) { return Integer(v); }
  bool Uint(unsigned v) { return Integer(v); }
  bool Int64(int64_t v) { return Integer(v); }
  bool Uint64(uint64_t v) {
    return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? Integer(std::numeric_limits<int64_t>::max())
                                                                            : Integer(static_cast<int64_t>(v));
  }
  bool Double(double) {
    if (field_ != Field::kNone) Wrong("not an integer (or beyond 64 bits)");
    field_ = Field::kNone;
    return true;
  }

 private:
  static constexpr int kMaxTracked = 64;

  bool Push(Frame f, int side) {
    if (depth_ < kMaxTracked) {
      frames_[depth_] = f;
      sides_of_[depth_] = static_cast<uint8_t>(side);
    }
    ++depth_;
    return true;
  }
  bool Pop() {
    --depth_;
    field_ = Field::kNone;
    return true;
  }
  Count* CountFor(Side& d) {
    switch (field_) {
      case Field::kInput: return &d.input;
      case Field::kOutput: return &d.output;
      case Field::kCacheCreation: return &d.cache_creation;
      case Field::kCacheRead: return &d.cache_read;
      case Field::kEphemeral5m: return &d.e5m;
      case Field::kEphemeral1h: return &d.e1h;
      default: return nullptr;
    }
  }
  bool Integer(int64_t v) {
    if (field_ == Field::kNone) return true;
    Side& d = sides_[sides_of_[depth_ - 1]];
    if (Count* c = CountFor(d); c != nullptr) {
      SetCount(c, v);
      if (c->error != nullptr && d.error == nullptr) {
        d.error_field = FieldName(field_);
        d.error = c->error;
      }
    } else {
      Wrong("a number");
    }
    field_ = Field::kNone;
    return true;
  }
  // A known field with a value of the wrong type. Token counts matter; a
  // wrong-typed string field is treated as absent.
  void Wrong(const char* what) {
    Side& d = sides_[sides_of_[depth_ - 1]];
    if (CountFor(d) != nullptr && d.error == nullptr) {
      d.error_field = FieldName(field_);
      d.error = what;
    }
  }
  static const char* FieldName(Field f) {
    switch (f) {
      case Field::kInput: return "input_tokens";
      case Field::kOutput: return "output_tokens";
      case Field::kCacheCreation: return "cache_creation_input_tokens";
      case Field::kCacheRead: return "cache_read_input_tokens";
      case Field::kEphemeral5m: return "cache_creation.ephemeral_5m_input_tokens";
      case Field::kEphemeral1h: return "cache_creation.ephemeral_1h_input_tokens";
      default: return "?";
    }
  }

  int depth_ = 0;
  Field field_ = Field::kNone;
  Frame frames_[kMaxTracked];
  uint8_t sides_of_[kMaxTracked];
  Side sides_[2];
};

// Whether the parsed document holds a number that is not an integer
// anywhere. RapidJSON refuses some numbers simdjson reads (0e309: an
// exponent beyond what a double holds, though the value is 0), so a line
// with any such number is left to the exact reader, which decides. A walk
// over simdjson's tape (its documented layout, doc/tape.md: the root word's
// payload is the index of the closing root word; a 64-bit number takes the
// word after its tag too), a few nanoseconds a line: transcripts rarely
// hold a fraction.
bool HasNonInteger(const simdjson::dom::parser& parser) {
  const uint64_t* tape = parser.doc.tape.get();
  constexpr uint64_t kPayload = (uint64_t{1} << 56) - 1;
  const uint64_t end = tape[0] & kPayload;
  for (uint64_t i = 1; i < end; ++i) {
    const char tag = static_cast<char>(tape[i] >> 56);
    if (tag == 'd') return true;
    if (tag == 'l' || tag == 'u') ++i;  // the value's own word
  }
  return false;
}

// Whether the whitespace after the last byte of the document holds a
// newline: simdjson allows it, the exact reader (for one transcript line)
// does not.
bool TrailingNewline(const char* text, size_t size) {
  while (size > 0) {
    const char c = text[size - 1];
    if (c == '\n') return true;
    if (c != ' ' && c != '\t' && c != '\r') return false;
    --size;
  }
  return false;
}

// The fast path: the same fields as ClaudeHandler, from simdjson's DOM of a
// line it has validated. Returns false as soon as a tracked field holds
// anything but its usual type (a string, a boolean, an object, an integer
// count in [0, 2^62)): the exact reader then decides, and explains. Keys are
// visited in order and a later value overwrites an earlier one, as the
// handler's callbacks do.
class FastClaudeReader {
 public:
  bool Read(simdjson::dom::element root, Side* sides) {
    sides_ = sides;
    simdjson::dom::object obj;
    if (root.get(obj) != simdjson::SUCCESS) return false;
    return Fill(obj, Frame::kEnvelope, 0);
  }

 private:
  static bool Str(simdjson::dom::element v, absl::string_view* out) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return false;
    *out = absl::string_view(s.data(), s.size());
    return true;
  }
  static bool CountOf(simdjson::dom::element v, Count* c) {
    int64_t n = 0;
    if (v.type() != simdjson::dom::element_type::INT64 || v.get(n) != simdjson::SUCCESS) return false;
    if (n < 0 || n >= (int64_t{1} << 62)) return false;
    c->set = true;
    c->value = n;
    return true;
  }
  bool Sub(simdjson::dom::element v, Frame f, int side) {
    simdjson::dom::object o;
    if (v.get(o) != simdjson::SUCCESS) return false;
    return Fill(o, f, side);
  }

  bool Fill(simdjson::dom::object obj, Frame frame, int s) {
    Side& d = sides_[s];
    for (simdjson::dom::key_value_pair kv : obj) {
      const std::string_view k = kv.key;
      const simdjson::dom::element v = kv.value;
      bool ok = true;
      switch (frame) {
        case Frame::kEnvelope:
          if (k == "timestamp") ok = Str(v, &d.timestamp);
          else if (k == "sessionId") ok = Str(v, &d.session);
          else if (k == "requestId") ok = Str(v, &d.request_id);
          else if (k == "cwd") ok = Str(v, &d.cwd);
          else if (k == "type") ok = Str(v, &d.type);
          else if (k == "isSidechain") ok = v.get(d.sidechain) == simdjson::SUCCESS;
          else if (k == "message") ok = Sub(v, Frame::kMessage, s);
          else if (k == "data" && s == 0) ok = Sub(v, Frame::kData, 0);  // not read inside data.message
          break;
        case Frame::kData:
          if (k == "message") ok = Sub(v, Frame::kEnvelope, 1);
          break;
        case Frame::kMessage:
          if (k == "id") ok = Str(v, &d.id);
          else if (k == "model") ok = Str(v, &d.model);
          else if (k == "usage") ok = (d.has_usage = true, Sub(v, Frame::kUsage, s));
          break;
        case Frame::kUsage:
          if (k == "input_tokens") ok = CountOf(v, &d.input);
          else if (k == "output_tokens") ok = CountOf(v, &d.output);
          else if (k == "cache_creation_input_tokens") ok = CountOf(v, &d.cache_creation);
          else if (k == "cache_read_input_tokens") ok = CountOf(v, &d.cache_read);
          else if (k == "cache_creation") ok = (d.has_split = true, Sub(v, Frame::kCacheCreation, s));
          else if (k == "service_tier") ok = Str(v, &d.service_tier);
          else if (k == "speed") ok = Str(v, &d.speed);
          break;
        case Frame::kCacheCreation:
          if (k == "ephemeral_5m_input_tokens") ok = CountOf(v, &d.e5m);
          else if (k == "ephemeral_1h_input_tokens") ok = CountOf(v, &d.e1h);
          break;
        case Frame::kSkip: break;
      }
      if (!ok) return false;
    }
    return true;
  }

  Side* sides_ = nullptr;
};

}  // namespace

char* ingest_internal::PaddedCopy(const char* line, size_t size, std::vector<char>* buf) {
  constexpr size_t kPadding = ClaudeCodeLineParser::kLinePadding - 1;
  static_assert(kPadding >= simdjson::SIMDJSON_PADDING);
  constexpr size_t kKeep = size_t{4} << 20;  // a buffer grown past this by a huge line is not kept
  const size_t need = size + 1 + kPadding;
  if (buf->size() < need || (buf->size() > kKeep && need <= kKeep)) {
    std::vector<char>(std::max(need, std::min(kKeep, 2 * buf->size()))).swap(*buf);
  }
  std::memcpy(buf->data(), line, size);
  std::memset(buf->data() + size, 0, 1 + kPadding);
  return buf->data();
}

namespace {
LineKind BuildClaudeEntry(const Side* sides, absl::string_view folder_project, Entry* entry, int64_t* total,
                          std::string* reason, bool utf8_checked);
}  // namespace

struct ClaudeCodeLineParser::State {
  simdjson::dom::parser fast;
  FastClaudeReader fast_reader;
  rapidjson::Reader reader;
  ClaudeHandler handler;
  std::vector<char> copy;  // the line being parsed, padded (PaddedCopy)
  Side sides[2];
};

ClaudeCodeLineParser::ClaudeCodeLineParser() : state_(std::make_unique<State>()) {}
ClaudeCodeLineParser::~ClaudeCodeLineParser() = default;

LineKind ClaudeCodeLineParser::Parse(char* line, size_t size, absl::string_view folder_project, Entry* entry,
                                     int64_t* total, std::string* reason, bool padded) {
  char* text = padded ? line : ingest_internal::PaddedCopy(line, size, &state_->copy);
  Side* sides = state_->sides;
  sides[0] = Side();
  sides[1] = Side();
  // The fast path, for a line that opens an object (simdjson would skip a
  // byte-order mark that RapidJSON refuses). It reads every such line, with
  // usage or not: validating a line costs less than searching it for
  // "usage" (below) does.
  size_t first = 0;
  while (first < size && (text[first] == ' ' || text[first] == '\t' || text[first] == '\r')) ++first;
  simdjson::dom::element root;
  if (!exact_only_ && first < size && text[first] == '{' &&
      state_->fast.parse(text, size, /*realloc_if_needed=*/false).get(root) == simdjson::SUCCESS &&
      !HasNonInteger(state_->fast) && !TrailingNewline(text, size) && state_->fast_reader.Read(root, sides)) {
    ++fast_reads_;
    // simdjson has validated the UTF-8 of the whole line and of every
    // escape it decoded.
    return BuildClaudeEntry(sides, folder_project, entry, total, reason, /*utf8_checked=*/true);
  }
  // For the exact reader: only a line that names "usage" can carry it (a
  // key spelled with \u escapes would hide it, so such lines are parsed
  // too). memmem, not string_view::find: the latter compares at every '"',
  // and JSON is full of them. A response line ends with its usage
  // (message.usage, then a few short fields), so the last kilobyte is
  // searched first: a long message is then recognised without a scan of its
  // text.
  constexpr size_t kTail = 1024;
  const bool names_usage =
      size > kTail ? ::memmem(line + size - kTail, kTail, "\"usage\"", 7) != nullptr ||
                         ::memmem(line, size - kTail + 6, "\"usage\"", 7) != nullptr
                   : ::memmem(line, size, "\"usage\"", 7) != nullptr;
  if (!names_usage && ::memmem(line, size, "\\u", 2) == nullptr) return LineKind::kOther;
  sides[0] = Side();
  sides[1] = Side();
  // In-place parsing needs a terminator; a NUL inside the line ends the
  // document early and is reported as invalid JSON below.
  ClaudeHandler& h = state_->handler;
  h.Reset();
  text[size] = '\0';
  rapidjson::InsituStringStream in(text);
  rapidjson::ParseResult ok =
      state_->reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(in, h);
  if (ok && in.Tell() < size) {
    // Only whitespace may follow the document.
    for (size_t i = in.Tell(); i < size; ++i) {
      const char c = line[i];
      if (c != ' ' && c != '\t' && c != '\r') {
        ok = rapidjson::ParseResult(rapidjson::kParseErrorDocumentRootNotSingular, i);
        break;
      }
    }
  }
  if (!ok) {
    // In-place parsing may have rewritten escapes before the error; a line
    // that names usage at all is reported either way.
    if (::memmem(line, size, "usage", 5) == nullptr) return LineKind::kOther;
    *reason = absl::StrCat("invalid JSON at column ", ok.Offset() + 1, ": ", rapidjson::GetParseError_En(ok.Code()));
    return LineKind::kUnusable;
  }
  sides[0] = h.side(0);
  sides[1] = h.side(1);
  return BuildClaudeEntry(sides, folder_project, entry, total, reason, /*utf8_checked=*/false);
}

namespace {

LineKind BuildClaudeEntry(const Side* sides, absl::string_view folder_project, Entry* entry, int64_t* total,
                          std::string* reason, bool utf8_checked) {
  const Side& outer = sides[0];
  const Side& inner = sides[1];
  const bool use_inner = !outer.has_usage && inner.has_usage;
  if (!outer.has_usage && !inner.has_usage) return LineKind::kOther;
  const Side& s = use_inner ? inner : outer;
  const char* where = use_inner ? "data.message.message.usage." : "message.usage.";
  if (s.error != nullptr) {
    *reason = absl::StrCat("field \"", where, s.error_field, "\": ", s.error);
    return LineKind::kUnusable;
  }
  if (s.model.empty()) {
    *reason = absl::StrCat("usage without a model (", use_inner ? "data.message.message" : "message", ".model)");
    return LineKind::kUnusable;
  }
  absl::string_view ts = s.timestamp.empty() ? outer.timestamp : s.timestamp;
  if (ts.empty()) {
    *reason = "usage without a timestamp";
    return LineKind::kUnusable;
  }
  absl::StatusOr<absl::Time> when = ParseLogTime(ts);
  if (!when.ok()) {
    *reason = absl::StrCat("field \"timestamp\": ", when.status().message());
    return LineKind::kUnusable;
  }
  const absl::string_view session = s.session.empty() ? outer.session : s.session;
  const absl::string_view cwd = s.cwd.empty() ? outer.cwd : s.cwd;
  for (absl::string_view v : {s.model, session, cwd, s.id, s.request_id, s.service_tier, s.speed}) {
    if (!utf8_checked && !IsValidUtf8(v)) {
      *reason = "invalid UTF-8 in a string field";
      return LineKind::kUnusable;
    }
  }

  Entry& e = *entry;
  e.timestamp = *when;
  e.model.assign(s.model.data(), s.model.size());
  e.provider = "anthropic";
  e.tokens = TokenCounts();
  e.tokens[TokenKind::kInput] = Tokens(s.input.value);
  e.tokens[TokenKind::kOutput] = Tokens(s.output.value);
  e.tokens[TokenKind::kCacheRead] = Tokens(s.cache_read.value);
  // The 5-minute / 1-hour split when given; what the split does not cover
  // is a 5-minute write (the only kind older logs know).
  int64_t w5 = s.e5m.value;
  const int64_t w1 = s.e1h.value;
  if (s.cache_creation.value > w5 + w1) w5 = s.cache_creation.value - w1;
  e.tokens[TokenKind::kCacheWrite5m] = Tokens(w5);
  e.tokens[TokenKind::kCacheWrite1h] = Tokens(w1);
  e.requests = 1;
  e.cost = Micros(0);
  e.cost_source = CostSource::kComputed;
  e.rates_as_of.clear();
  e.session.assign(session.data(), session.size());
  e.project = cwd.empty() ? std::string(folder_project) : ProjectFromCwd(cwd);
  e.tool = "claude-code";
  if (s.speed == "fast") {
    e.service_tier = "fast";
  } else if (!IsStandardTier(s.service_tier)) {
    e.service_tier.assign(s.service_tier.data(), s.service_tier.size());
  } else {
    e.service_tier.clear();
  }
  e.source_kind = "claude-code";
  // One API response is one (message id, request id) pair, whichever file
  // or copy it is written in.
  if (!s.id.empty()) {
    e.source_key = absl::StrCat("cc:", s.id, s.request_id.empty() ? "" : ":", s.request_id);
  } else {
    e.source_key = absl::StrCat("cc:", session, ":", ts, ":", s.input.value, ":", s.output.value, ":",
                                s.cache_creation.value, ":", s.cache_read.value);
  }
  *total = s.input.value + s.output.value + std::max(s.cache_creation.value, w5 + w1) + s.cache_read.value;
  return LineKind::kUsage;
}

}  // namespace

// ---------------------------------------------------------------------------
// Codex and documents: a reused DOM.

namespace ingest_internal {

namespace {

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

const rapidjson::Value* Path(const rapidjson::Value& root, std::initializer_list<const char*> names) {
  const rapidjson::Value* v = &root;
  for (const char* n : names) {
    v = Member(*v, n);
    if (v == nullptr) return nullptr;
  }
  return v;
}

absl::string_view Str(const rapidjson::Value* v) {
  if (v == nullptr || !v->IsString()) return {};
  return absl::string_view(v->GetString(), v->GetStringLength());
}

// Reads a count field: absent is 0; anything but a non-negative integer
// below 2^62 is an error naming `name`.
absl::Status ReadCount(const rapidjson::Value* obj, const char* field, absl::string_view where, int64_t* out) {
  *out = 0;
  if (obj == nullptr) return absl::OkStatus();
  const rapidjson::Value* v = Member(*obj, field);
  if (v == nullptr || v->IsNull()) return absl::OkStatus();
  if (!v->IsInt64()) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", where, field, "\": ",
                                                   v->IsNumber() ? "not an integer (or beyond 64 bits)"
                                                                 : "not a number"));
  }
  const int64_t n = v->GetInt64();
  if (n < 0 || n >= (int64_t{1} << 62)) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", where, field, "\": ", n < 0 ? "a negative count" : "a count beyond 2^62"));
  }
  *out = n;
  return absl::OkStatus();
}

// OpenAI-style usage (input includes cached; output includes reasoning).
absl::Status FillOpenAiTokens(int64_t input, int64_t cached, int64_t output, int64_t reasoning, Entry* e) {
  if (cached > input) {
    return absl::InvalidArgumentError(
        absl::StrCat("cached input tokens (", cached, ") exceed input tokens (", input, ")"));
  }
  e->tokens = TokenCounts();
  e->tokens[TokenKind::kInput] = Tokens(input - cached);
  e->tokens[TokenKind::kCacheRead] = Tokens(cached);
  e->tokens[TokenKind::kOutput] = Tokens(output);
  e->tokens[TokenKind::kReasoning] = Tokens(std::min(reasoning, output));
  return absl::OkStatus();
}

}  // namespace

// --- Codex ---

CodexLineKind ParseCodexLine(char* line, size_t size, CodexContext* ctx, rapidjson::Document* doc, Entry* entry,
                             std::string* reason) {
  const absl::string_view text(line, size);
  const bool interesting = text.find("token_count") != absl::string_view::npos ||
                           text.find("turn_context") != absl::string_view::npos ||
                           text.find("session_meta") != absl::string_view::npos ||
                           text.find("turn.completed") != absl::string_view::npos ||
                           text.find("\"result\"") != absl::string_view::npos || text.find("\\u") != absl::string_view::npos;
  if (!interesting) return CodexLineKind::kOther;
  thread_local std::vector<char> copy;
  doc->ParseInsitu<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(PaddedCopy(line, size, &copy));
  if (doc->HasParseError() || !doc->IsObject()) {
    if (text.find("usage") == absl::string_view::npos) return CodexLineKind::kOther;
    *reason = doc->HasParseError()
                  ? absl::StrCat("invalid JSON at column ", doc->GetErrorOffset() + 1, ": ",
                                 rapidjson::GetParseError_En(doc->GetParseError()))
                  : "not a JSON object";
    return CodexLineKind::kUnusable;
  }
  const rapidjson::Value& root = *doc;
  const absl::string_view type = Str(Member(root, "type"));
  const rapidjson::Value* payload = Member(root, "payload");
  if (type == "session_meta" && payload != nullptr) {
    const absl::string_view id = Str(Member(*payload, "id"));
    if (!id.empty() && IsValidUtf8(id)) ctx->session.assign(id.data(), id.size());
    const absl::string_view cwd = Str(Member(*payload, "cwd"));
    if (!cwd.empty() && IsValidUtf8(cwd)) ctx->project = ProjectFromCwd(cwd);
    if (Path(*payload, {"source", "subagent"}) != nullptr) ctx->subagent = true;
    return CodexLineKind::kOther;
  }
  if (type == "turn_context" && payload != nullptr) {
    const absl::string_view model = Str(Member(*payload, "model"));
    if (!model.empty() && IsValidUtf8(model)) ctx->model.assign(model.data(), model.size());
    return CodexLineKind::kOther;
  }

  absl::string_view ts = Str(Member(root, "timestamp"));
  Entry& e = *entry;
  e = Entry();
  e.tool = "codex";
  e.provider = "openai";
  e.source_kind = "codex";
  e.session = ctx->session;
  e.project = ctx->project;
  int64_t input = 0, cached = 0, output = 0, reasoning = 0;

  if (type == "event_msg" && payload != nullptr && Str(Member(*payload, "type")) == "token_count") {
    const rapidjson::Value* info = Member(*payload, "info");
    if (info == nullptr || info->IsNull()) return CodexLineKind::kOther;  // a rate-limit update only
    const rapidjson::Value* last = Member(*info, "last_token_usage");
    const rapidjson::Value* cum = Member(*info, "total_token_usage");
    if ((last == nullptr || !last->IsObject()) && (cum == nullptr || !cum->IsObject())) {
      *reason = "token_count without last_token_usage or total_token_usage";
      return CodexLineKind::kUnusable;
    }
    int64_t t[5] = {0, 0, 0, 0, 0};  // input, cached, output, reasoning, total
    const char* names[5] = {"input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens",
                            "total_tokens"};
    bool have_total = cum != nullptr && cum->IsObject();
    if (have_total) {
      for (int k = 0; k < 5; ++k) {
        absl::Status s = ReadCount(cum, names[k], "payload.info.total_token_usage.", &t[k]);
        if (!s.ok()) {
          *reason = std::string(s.message());
          return CodexLineKind::kUnusable;
        }
      }
    }
    if (last != nullptr && last->IsObject()) {
      int64_t l[5];
      for (int k = 0; k < 5; ++k) {
        absl::Status s = ReadCount(last, names[k], "payload.info.last_token_usage.", &l[k]);
        if (!s.ok()) {
          *reason = std::string(s.message());
          return CodexLineKind::kUnusable;
        }
      }
      input = l[0], cached = l[1], output = l[2], reasoning = l[3];
    } else {
      // The difference of the cumulative counters; a counter that went
      // down was restarted (a new thread), so it counts from zero.
      bool restarted = !ctx->have_prev;
      for (int k = 0; k < 4; ++k) restarted = restarted || t[k] < ctx->prev[k];
      input = t[0] - (restarted ? 0 : ctx->prev[0]);
      cached = t[1] - (restarted ? 0 : ctx->prev[1]);
      output = t[2] - (restarted ? 0 : ctx->prev[2]);
      reasoning = t[3] - (restarted ? 0 : ctx->prev[3]);
    }
    if (have_total) {
      for (int k = 0; k < 4; ++k) ctx->prev[k] = t[k];
      ctx->have_prev = true;
    }
    if (input == 0 && output == 0 && cached == 0) return CodexLineKind::kOther;  // nothing billed
    const absl::string_view model = Str(Member(*info, "model"));
    e.model = !model.empty() ? std::string(model) : ctx->model;
    // The same event, wherever it is written (a sub-agent's rollout replays
    // its parent's history), has the same cumulative counters and the same
    // last usage: that pair is its key.
    if (have_total) {
      e.source_key = absl::StrCat("codex:", t[0], ".", t[1], ".", t[2], ".", t[3], ".", t[4], ":", input, ".",
                                  cached, ".", output, ".", reasoning);
    } else {
      e.source_key = absl::StrCat("codex:", ctx->session, ":", ts, ":", input, ".", cached, ".", output, ".",
                                  reasoning);
    }
  } else if (type == "turn.completed") {
    const rapidjson::Value* usage = Member(root, "usage");
    if (usage == nullptr || !usage->IsObject()) {
      *reason = "turn.completed without a usage object";
      return CodexLineKind::kUnusable;
    }
    for (auto [field, out] : {std::pair<const char*, int64_t*>{"input_tokens", &input}, {"cached_input_tokens", &cached},
                              {"output_tokens", &output}, {"reasoning_output_tokens", &reasoning}}) {
      absl::Status s = ReadCount(usage, field, "usage.", out);
      if (!s.ok()) {
        *reason = std::string(s.message());
        return CodexLineKind::kUnusable;
      }
    }
    const absl::string_view model = Str(Member(root, "model"));
    e.model = !model.empty() ? std::string(model) : ctx->model;
    e.source_key = absl::StrCat("codex-exec:", ctx->file_key, ":", ctx->line_offset);
  } else if (type == "result") {
    const rapidjson::Value* data = Member(root, "data");
    const rapidjson::Value* usage = data != nullptr ? Member(*data, "usage") : nullptr;
    if (usage == nullptr || !usage->IsObject()) return CodexLineKind::kOther;
    for (auto [field, out] : {std::pair<const char*, int64_t*>{"prompt_tokens", &input}, {"cached_tokens", &cached},
                              {"completion_tokens", &output}, {"reasoning_tokens", &reasoning}}) {
      absl::Status s = ReadCount(usage, field, "data.usage.", out);
      if (!s.ok()) {
        *reason = std::string(s.message());
        return CodexLineKind::kUnusable;
      }
    }
    if (ts.empty()) ts = Str(Member(*data, "timestamp"));
    const absl::string_view model = Str(Member(*data, "model_name"));
    e.model = !model.empty() ? std::string(model) : ctx->model;
    e.source_key = absl::StrCat("codex-result:", ts, ":", input, ".", cached, ".", output, ".", reasoning);
  } else {
    return CodexLineKind::kOther;
  }

  if (e.model.empty()) {
    *reason = "usage before any model is named (no turn_context, no model field)";
    return CodexLineKind::kUnusable;
  }
  if (!IsValidUtf8(e.model) || !IsValidUtf8(ts)) {
    *reason = "invalid UTF-8 in a string field";
    return CodexLineKind::kUnusable;
  }
  if (ts.empty()) {
    e.timestamp = ctx->file_mtime;
  } else {
    absl::StatusOr<absl::Time> when = ParseLogTime(ts);
    if (!when.ok()) {
      *reason = absl::StrCat("field \"timestamp\": ", when.status().message());
      return CodexLineKind::kUnusable;
    }
    e.timestamp = *when;
  }
  absl::Status s = FillOpenAiTokens(input, cached, output, reasoning, &e);
  if (!s.ok()) {
    *reason = std::string(s.message());
    return CodexLineKind::kUnusable;
  }
  return CodexLineKind::kUsage;
}

}  // namespace ingest_internal

// ---------------------------------------------------------------------------
// Documents.

absl::StatusOr<std::vector<Entry>> ParseUsageDocument(IngestSource source, absl::string_view json,
                                                      const DocumentContext& context) {
  using ingest_internal::FillOpenAiTokens;
  using ingest_internal::Member;
  using ingest_internal::ReadCount;
  using ingest_internal::Str;
  if (!IsDocumentSource(source)) {
    return absl::InvalidArgumentError(absl::StrCat(IngestSourceName(source), " is not a document source"));
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON at offset ", doc.GetErrorOffset(), ": ",
                                                   rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return absl::InvalidArgumentError("expected a JSON object");
  std::vector<Entry> out;
  auto base = [&](absl::string_view kind) {
    Entry e;
    e.timestamp = context.now;
    e.source_kind = std::string(kind);
    e.requests = 1;
    return e;
  };

  if (source == IngestSource::kAnthropicResponse) {
    const rapidjson::Value* usage = Member(doc, "usage");
    if (usage == nullptr || !usage->IsObject()) return absl::InvalidArgumentError("field \"usage\": missing");
    Entry e = base("anthropic-response");
    int64_t in = 0, outp = 0, cw = 0, cr = 0, w5 = 0, w1 = 0;
    TKB_RETURN_IF_ERROR(ReadCount(usage, "input_tokens", "usage.", &in));
    TKB_RETURN_IF_ERROR(ReadCount(usage, "output_tokens", "usage.", &outp));
    TKB_RETURN_IF_ERROR(ReadCount(usage, "cache_creation_input_tokens", "usage.", &cw));
    TKB_RETURN_IF_ERROR(ReadCount(usage, "cache_read_input_tokens", "usage.", &cr));
    const rapidjson::Value* split = Member(*usage, "cache_creation");
    if (split != nullptr && split->IsObject()) {
      TKB_RETURN_IF_ERROR(ReadCount(split, "ephemeral_5m_input_tokens", "usage.cache_creation.", &w5));
      TKB_RETURN_IF_ERROR(ReadCount(split, "ephemeral_1h_input_tokens", "usage.cache_creation.", &w1));
    }
    if (cw > w5 + w1) w5 = cw - w1;
    e.tokens[TokenKind::kInput] = Tokens(in);
    e.tokens[TokenKind::kOutput] = Tokens(outp);
    e.tokens[TokenKind::kCacheRead] = Tokens(cr);
    e.tokens[TokenKind::kCacheWrite5m] = Tokens(w5);
    e.tokens[TokenKind::kCacheWrite1h] = Tokens(w1);
    e.model = std::string(Str(Member(doc, "model")));
    e.provider = "anthropic";
    const absl::string_view tier = Str(Member(*usage, "service_tier"));
    if (!IsStandardTier(tier)) e.service_tier = std::string(tier);
    if (Str(Member(*usage, "speed")) == "fast") e.service_tier = "fast";
    const absl::string_view id = Str(Member(doc, "id"));
    if (!id.empty()) e.source_key = absl::StrCat("anthropic:", id);
    out.push_back(std::move(e));
  } else if (source == IngestSource::kOpenAiResponse) {
    const rapidjson::Value* usage = Member(doc, "usage");
    if (usage == nullptr || !usage->IsObject()) return absl::InvalidArgumentError("field \"usage\": missing");
    Entry e = base("openai-response");
    int64_t in = 0, cached = 0, outp = 0, reasoning = 0;
    if (Member(*usage, "prompt_tokens") != nullptr || Member(*usage, "completion_tokens") != nullptr) {
      // Chat Completions.
      TKB_RETURN_IF_ERROR(ReadCount(usage, "prompt_tokens", "usage.", &in));
      TKB_RETURN_IF_ERROR(ReadCount(usage, "completion_tokens", "usage.", &outp));
      TKB_RETURN_IF_ERROR(ReadCount(Member(*usage, "prompt_tokens_details"), "cached_tokens",
                                    "usage.prompt_tokens_details.", &cached));
      TKB_RETURN_IF_ERROR(ReadCount(Member(*usage, "completion_tokens_details"), "reasoning_tokens",
                                    "usage.completion_tokens_details.", &reasoning));
    } else {
      // Responses API.
      TKB_RETURN_IF_ERROR(ReadCount(usage, "input_tokens", "usage.", &in));
      TKB_RETURN_IF_ERROR(ReadCount(usage, "output_tokens", "usage.", &outp));
      TKB_RETURN_IF_ERROR(ReadCount(Member(*usage, "input_tokens_details"), "cached_tokens",
                                    "usage.input_tokens_details.", &cached));
      TKB_RETURN_IF_ERROR(ReadCount(Member(*usage, "output_tokens_details"), "reasoning_tokens",
                                    "usage.output_tokens_details.", &reasoning));
    }
    TKB_RETURN_IF_ERROR(FillOpenAiTokens(in, cached, outp, reasoning, &e));
    e.model = std::string(Str(Member(doc, "model")));
    e.provider = "openai";
    const absl::string_view tier = Str(Member(doc, "service_tier"));
    if (!IsStandardTier(tier)) e.service_tier = std::string(tier);
    const rapidjson::Value* created = Member(doc, "created");
    if (created == nullptr) created = Member(doc, "created_at");
    if (created != nullptr && created->IsInt64() && created->GetInt64() > 0) {
      e.timestamp = absl::FromUnixSeconds(created->GetInt64());
    }
    const absl::string_view id = Str(Member(doc, "id"));
    if (!id.empty()) e.source_key = absl::StrCat("openai:", id);
    out.push_back(std::move(e));
  } else {
    // claude -p --output-format json: per-model usage under modelUsage.
    const absl::string_view session = Str(Member(doc, "session_id"));
    const absl::string_view uuid = Str(Member(doc, "uuid"));
    const rapidjson::Value* per_model = Member(doc, "modelUsage");
    if (per_model != nullptr && per_model->IsObject() && per_model->MemberCount() > 0) {
      for (auto it = per_model->MemberBegin(); it != per_model->MemberEnd(); ++it) {
        const absl::string_view model(it->name.GetString(), it->name.GetStringLength());
        const std::string where = absl::StrCat("modelUsage.", model, ".");
        Entry e = base("claude-json");
        int64_t in = 0, outp = 0, cw = 0, cr = 0;
        TKB_RETURN_IF_ERROR(ReadCount(&it->value, "inputTokens", where, &in));
        TKB_RETURN_IF_ERROR(ReadCount(&it->value, "outputTokens", where, &outp));
        TKB_RETURN_IF_ERROR(ReadCount(&it->value, "cacheCreationInputTokens", where, &cw));
        TKB_RETURN_IF_ERROR(ReadCount(&it->value, "cacheReadInputTokens", where, &cr));
        e.tokens[TokenKind::kInput] = Tokens(in);
        e.tokens[TokenKind::kOutput] = Tokens(outp);
        e.tokens[TokenKind::kCacheRead] = Tokens(cr);
        e.tokens[TokenKind::kCacheWrite5m] = Tokens(cw);
        e.model = std::string(model);
        e.provider = "anthropic";
        e.session = std::string(session);
        e.tool = "claude-code";
        if (!session.empty() || !uuid.empty()) {
          e.source_key = absl::StrCat("claude-json:", session, ":", uuid, ":", model);
        }
        out.push_back(std::move(e));
      }
    } else {
      const rapidjson::Value* usage = Member(doc, "usage");
      if (usage == nullptr || !usage->IsObject()) {
        return absl::InvalidArgumentError("neither \"modelUsage\" nor \"usage\" in the result object");
      }
      return absl::InvalidArgumentError(
          "the result object has \"usage\" but no \"modelUsage\": it does not say which model was used");
    }
  }
  for (Entry& e : out) {
    if (e.model.empty()) return absl::InvalidArgumentError("field \"model\": missing");
    // The reader validates the document's bytes, but a \u escape of a lone
    // low surrogate still decodes to bytes that are not UTF-8.
    for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"model", &e.model},
                                       {"session_id", &e.session},
                                       {"service_tier", &e.service_tier},
                                       {"id", &e.source_key}}) {
      if (!IsValidUtf8(*value)) {
        return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": not valid UTF-8"));
      }
    }
    if (!context.source_key.empty()) {
      e.source_key = out.size() == 1 ? context.source_key : absl::StrCat(context.source_key, ":", e.model);
    }
  }
  return out;
}

}  // namespace v1
}  // namespace tokenbook
