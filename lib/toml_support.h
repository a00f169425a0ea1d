// The one place toml++ is included, and the helpers every TOML reader in lib/
// shares: positions in messages, exact decimal text of numbers, strict key
// sets.
//
// toml++ is used header-only and without exceptions. Debian's CMake target
// for it is the compiled library built with exceptions and forces
// TOML_HEADER_ONLY=0; mixing the two modes fails to link, so nothing links
// that target and nothing else includes <toml++/toml.h>. Include this header
// from .cpp files in lib/ only: it must not leak into public headers.
#ifndef TOKENBOOK_LIB_TOML_SUPPORT_H_
#define TOKENBOOK_LIB_TOML_SUPPORT_H_

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
// toml++ 3.3's parser asserts things about its position that hostile text
// breaks (`a = [}]`, `[}x]`: fuzz/README.md), and the code after each such
// assertion already reports the text as a parse error. With assertions on
// (no NDEBUG) they abort the process; with NDEBUG under clang they become
// __builtin_assume, undefined behaviour. Both are avoided by a TOML_ASSERT of
// our own, with NDEBUG unset while the header is read, since toml++ defines
// TOML_ASSERT_ASSUME as TOML_ASSERT exactly when NDEBUG is unset.
#define TOML_ASSERT(expr) static_cast<void>(0)
#ifdef NDEBUG
#define TOKENBOOK_TOML_NDEBUG
#undef NDEBUG
#endif
#include <toml++/toml.h>
#ifdef TOKENBOOK_TOML_NDEBUG
#define NDEBUG
#undef TOKENBOOK_TOML_NDEBUG
#endif
#include <cassert>  // assert() as NDEBUG says again, should the header have included it

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {
namespace toml_support {

inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// "source:line:column", or "source" when toml++ recorded no position.
inline std::string Where(absl::string_view source, const toml::source_region& region) {
  if (!region.begin) return std::string(source);
  return absl::StrCat(source, ":", region.begin.line, ":", region.begin.column);
}

// "source:line:column: context: message" (the context may be empty).
inline std::string Message(absl::string_view source, const toml::source_region& region,
                           absl::string_view context, absl::string_view message) {
  if (context.empty()) return absl::StrCat(Where(source, region), ": ", message);
  return absl::StrCat(Where(source, region), ": ", context, ": ", message);
}

inline absl::Status ErrorAt(absl::string_view source, const toml::source_region& region,
                            absl::string_view context, absl::string_view message) {
  return absl::InvalidArgumentError(Message(source, region, context, message));
}

// A TOML value type as a user would name it.
inline absl::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// TOML allows characters beyond ASCII only in strings and comments. toml++
// 3.3 asks whether such a character elsewhere is whitespace, and for
// U+00A1..U+0499 and U+2D6E..U+3167 that question reaches
// __builtin_unreachable(): undefined behaviour on a typo such as `[café]`
// (found by fuzz/config_toml). So a document is first scanned for them, with
// an error of our own: "source:line:column: invalid TOML: ...". A quote
// opens a string only at the start of a token, as toml++ sees tokens: in a
// value, `x = 1a["é"`, toml++ reads ahead over a bare token until a blank,
// newline, `,`, `]`, `}` or `#`, and looks at the é (found by fuzzing).
[[nodiscard]] inline absl::Status CheckAsciiOutsideStrings(absl::string_view text, absl::string_view source) {
  int64_t line = 1, column = 1;  // column in characters, as toml++ counts them
  bool in_bare = false;           // inside a bare token (key, number, date, ...)
  bool in_value = false;          // after `=` (or inside an array that began after one)
  int arrays = 0;                 // arrays open in the current value
  size_t i = 0;
  const size_t n = text.size();
  auto starts = [&](absl::string_view s) { return text.substr(i, s.size()) == s; };
  auto step = [&] {  // past one byte, keeping line and column
    const unsigned char c = static_cast<unsigned char>(text[i++]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++column;
    }
  };
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '#') {
      while (i < n && text[i] != '\n') step();
    } else if ((c == '"' || c == '\'') && in_bare) {
      step();
    } else if (starts("\"\"\"") || starts("'''")) {
      const absl::string_view close = text.substr(i, 3);
      for (int k = 0; k < 3; ++k) step();
      while (i < n && !starts(close)) {
        if (close[0] == '"' && text[i] == '\\' && i + 1 < n) step();
        step();
      }
      // The closing delimiter, and up to two more quotes that belong to the string.
      for (int k = 0; k < 5 && i < n && text[i] == close[0]; ++k) step();
    } else if (c == '"' || c == '\'') {
      step();
      while (i < n && text[i] != static_cast<char>(c) && text[i] != '\n') {
        if (c == '"' && text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') step();
        step();
      }
      if (i < n && text[i] == static_cast<char>(c)) step();
    } else if (c >= 0x80) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ":", column,
                                                     ": invalid TOML: a character beyond ASCII outside a string "
                                                     "or comment (a key that needs one must be quoted)"));
    } else {
      if (c == '\n') {
        if (arrays == 0) in_value = false;
        in_bare = false;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == ',' || c == '}') {
        in_bare = false;
      } else if (c == ']') {
        if (arrays > 0) --arrays;
        in_bare = false;
      } else if (c == '=') {
        in_value = true;
        in_bare = false;
      } else if (c == '[' || c == '{') {
        if (!in_bare && in_value && c == '[') ++arrays;
      } else if (c == '.' && !in_value) {
        in_bare = false;  // a dotted key: `a."b"`
      } else {
        in_bare = true;
      }
      step();
    }
  }
  return absl::OkStatus();
}

// Parses a whole document. A syntax error reads
// "source:line:column: invalid TOML: <toml++'s description>".
[[nodiscard]] inline absl::StatusOr<toml::table> ParseDocument(absl::string_view text,
                                                               absl::string_view source) {
  if (absl::Status s = CheckAsciiOutsideStrings(text, source); !s.ok()) return s;
  toml::parse_result result = toml::parse(ToStd(text), std::string(source));
  if (!result) {
    const toml::parse_error& error = result.error();
    return absl::InvalidArgumentError(
        Message(source, error.source(), "", absl::StrCat("invalid TOML: ", ToAbsl(error.description()))));
  }
  return std::move(result).table();
}

// The shortest text that reads back as exactly `value` ("0.275", "1e-07"):
// what a person wrote, for every number short enough to write by hand. The
// double itself never takes part in arithmetic.
inline std::string ShortestText(double value) {
  char buffer[64];
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (r.ec != std::errc()) return "nan";  // cannot happen with 64 bytes
  return std::string(buffer, r.ptr);
}

// The exact decimal text of a number-like value, to be parsed by
// ParseDecimal/ParsePrice/ParseRational: a string as written, an integer
// exactly, a float through its shortest round-trip text. NaN, infinities
// and other types are errors (the message names neither source nor field;
// callers add both).
[[nodiscard]] inline absl::StatusOr<std::string> DecimalText(const toml::node& node,
                                                             absl::string_view expected) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return absl::StrCat(i->get());
  if (const auto* f = node.as_floating_point()) {
    const double d = f->get();
    if (std::isnan(d)) return absl::InvalidArgumentError("not a number (nan)");
    if (std::isinf(d)) {
      return absl::InvalidArgumentError(absl::StrCat("not a finite number (", d < 0 ? "-inf" : "inf", ")"));
    }
    return ShortestText(d);
  }
  return absl::InvalidArgumentError(absl::StrCat("expected ", expected, ", not ", TypeName(node)));
}

// Every key of `table` must be one of `allowed`; an unknown key is an error
// at the key's position ("... unknown key \"cache_raed\" (did you mean
// \"cache_read\"?)"), so a typo never silently changes a meaning.
[[nodiscard]] inline absl::Status CheckKeys(const toml::table& table,
                                            std::initializer_list<absl::string_view> allowed,
                                            absl::string_view source, absl::string_view context) {
  for (auto&& [key, value] : table) {
    const absl::string_view name = ToAbsl(key.str());
    absl::string_view closest;
    size_t best = std::numeric_limits<size_t>::max();
    bool known = false;
    for (absl::string_view a : allowed) {
      if (a == name) {
        known = true;
        break;
      }
      const size_t d = EditDistance(name, a);
      if (d < best) {
        best = d;
        closest = a;
      }
    }
    if (known) continue;
    std::string message = absl::StrCat("unknown key \"", name, "\"");
    if (!closest.empty() && best <= 2) absl::StrAppend(&message, " (did you mean \"", closest, "\"?)");
    return ErrorAt(source, key.source(), context, message);
  }
  return absl::OkStatus();
}

// A calendar date written "YYYY-MM-DD" (exactly that shape), or nullopt.
inline std::optional<absl::CivilDay> ParseIsoDate(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9')) return std::nullopt;
  }
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) return std::nullopt;
  // ParseCivilTime normalises 2025-02-30 to 2025-03-02; a date must read back unchanged.
  if (absl::FormatCivilTime(day) != text) return std::nullopt;
  return day;
}

// A TOML date (UTC midnight) or offset date-time as an instant. A string is
// read as "YYYY-MM-DD" or RFC 3339 with an offset. A local date-time (no
// offset) is refused: it names no instant.
[[nodiscard]] inline absl::StatusOr<absl::Time> ReadInstant(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    const std::string& text = s->get();
    if (std::optional<absl::CivilDay> day = ParseIsoDate(text)) {
      return absl::FromCivil(*day, absl::UTCTimeZone());
    }
    absl::Time t;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time with an offset"));
  }
  if (const auto* d = node.as_date()) {
    const toml::date& v = d->get();
    const absl::CivilDay day(v.year, v.month, v.day);
    if (day.year() != v.year || day.month() != v.month || day.day() != v.day) {
      return absl::InvalidArgumentError("not a valid date");
    }
    return absl::FromCivil(day, absl::UTCTimeZone());
  }
  if (const auto* dt = node.as_date_time()) {
    const toml::date_time& v = dt->get();
    if (!v.offset.has_value()) {
      return absl::InvalidArgumentError(
          "a date-time needs an offset (Z or +hh:mm) to name an instant");
    }
    const absl::CivilSecond civil(v.date.year, v.date.month, v.date.day, v.time.hour, v.time.minute,
                                  v.time.second);
    return absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Nanoseconds(v.time.nanosecond) -
           absl::Minutes(v.offset->minutes);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected a date (\"YYYY-MM-DD\") or an RFC 3339 date-time, not ", TypeName(node)));
}

}  // namespace toml_support
}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_LIB_TOML_SUPPORT_H_
