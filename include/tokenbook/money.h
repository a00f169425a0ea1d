// Money for tokenbook: exact integer units, exact decimal parsing and
// half-even rounding. No float or double ever touches a value here.
//
//   Micros         an amount in micro-dollars (1 USD = 1,000,000 µ$)
//   MicrosPerMTok  a rate in micro-dollars per million tokens ($3/MTok = 3,000,000)
//   Tokens         a token count
//
// tokens × (µ$/MTok) is exactly an amount in pico-dollars (1 µ$ = 10^6 p$), so a
// cost is summed exactly in pico-dollars and rounded once to whole µ$.
#ifndef TOKENBOOK_MONEY_H_
#define TOKENBOOK_MONEY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tokenbook {
inline namespace v1 {

inline constexpr int64_t kMicrosPerDollar = 1'000'000;
inline constexpr int64_t kPicosPerMicro = 1'000'000;
inline constexpr int64_t kTokensPerMTok = 1'000'000;

// A signed 64-bit quantity of one unit; distinct units never mix silently.
template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(int64_t value) : value_(value) {}
  constexpr int64_t value() const { return value_; }

  friend constexpr bool operator==(Quantity a, Quantity b) { return a.value_ == b.value_; }
  friend constexpr bool operator!=(Quantity a, Quantity b) { return a.value_ != b.value_; }
  friend constexpr bool operator<(Quantity a, Quantity b) { return a.value_ < b.value_; }
  friend constexpr bool operator<=(Quantity a, Quantity b) { return a.value_ <= b.value_; }
  friend constexpr bool operator>(Quantity a, Quantity b) { return a.value_ > b.value_; }
  friend constexpr bool operator>=(Quantity a, Quantity b) { return a.value_ >= b.value_; }

 private:
  int64_t value_ = 0;
};

struct MicrosTag {};
struct MicrosPerMTokTag {};
struct TokensTag {};
using Micros = Quantity<MicrosTag>;
using MicrosPerMTok = Quantity<MicrosPerMTokTag>;
using Tokens = Quantity<TokensTag>;

// Adds `b` to `*acc`; false (and `*acc` untouched) when the sum would not fit.
template <typename Tag>
[[nodiscard]] inline bool CheckedAdd(Quantity<Tag>* acc, Quantity<Tag> b) {
  int64_t sum;
  if (__builtin_add_overflow(acc->value(), b.value(), &sum)) return false;
  *acc = Quantity<Tag>(sum);
  return true;
}

// ---------------------------------------------------------------------------
// Exact decimal text.

// value = (negative ? -1 : 1) × digits × 10^exponent, digits without leading
// zeros ("" is zero). Holds any decimal literal exactly, however long.
struct Decimal {
  bool negative = false;
  std::string digits;
  int64_t exponent = 0;

  bool is_zero() const { return digits.empty(); }
};

// Parses "3", "3.00", "-0.275", ".5", "3e-06", "1.25E-7", "+12". Rejects
// empty text, spaces, "nan", "inf", hexadecimal and exponents beyond ±100000.
[[nodiscard]] inline absl::StatusOr<Decimal> ParseDecimal(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("not a decimal number: \"", text, "\" (", why, ")"));
  };
  Decimal out;
  size_t i = 0;
  const size_t n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-')) {
    out.negative = text[i] == '-';
    ++i;
  }
  std::string all;  // every mantissa digit, leading zeros included
  int64_t fraction_digits = 0;
  bool seen_point = false;
  bool any_digit = false;
  for (; i < n; ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      any_digit = true;
      all.push_back(c);
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!any_digit) return bad("no digits");
  int64_t exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) {
      exp_negative = text[i] == '-';
      ++i;
    }
    if (i == n) return bad("empty exponent");
    for (; i < n; ++i) {
      const char c = text[i];
      if (c < '0' || c > '9') return bad("unexpected character in exponent");
      exponent = exponent * 10 + (c - '0');
      if (exponent > 100000) return bad("exponent out of range");
    }
    if (exp_negative) exponent = -exponent;
  }
  if (i != n) return bad("unexpected character");
  // Drop trailing zeros into the exponent and leading zeros altogether, so
  // that equal values have equal representations.
  size_t end = all.size();
  int64_t trailing = 0;
  while (end > 0 && all[end - 1] == '0') {
    --end;
    ++trailing;
  }
  size_t begin = 0;
  while (begin < end && all[begin] == '0') ++begin;
  out.digits = all.substr(begin, end - begin);
  out.exponent = out.digits.empty() ? 0 : exponent - fraction_digits + trailing;
  if (out.digits.empty()) out.negative = false;
  return out;
}

// An integer produced by rounding, and whether rounding changed the value.
struct Rounded {
  int64_t value = 0;
  bool inexact = false;
};

// round_half_even(d × 10^shift) as an int64; OutOfRange when it does not fit.
[[nodiscard]] inline absl::StatusOr<Rounded> ScaleHalfEven(const Decimal& d, int shift) {
  if (d.is_zero()) return Rounded{};
  const int64_t len = static_cast<int64_t>(d.digits.size());
  const int64_t int_digits = len + d.exponent + shift;  // digits left of the point
  if (int_digits > 19) {
    return absl::OutOfRangeError("decimal value does not fit in 64 bits");
  }
  const uint64_t limit =
      d.negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t acc = 0;
  for (int64_t k = 0; k < int_digits; ++k) {
    const uint64_t digit = k < len ? static_cast<uint64_t>(d.digits[static_cast<size_t>(k)] - '0') : 0;
    if (acc > (limit - digit) / 10) {
      return absl::OutOfRangeError("decimal value does not fit in 64 bits");
    }
    acc = acc * 10 + digit;
  }
  int first = 0;
  bool rest = false;
  if (int_digits < 0) {
    rest = true;  // digits exist, all below the first fractional place
  } else if (int_digits < len) {
    first = d.digits[static_cast<size_t>(int_digits)] - '0';
    for (int64_t k = int_digits + 1; k < len && !rest; ++k) rest = d.digits[static_cast<size_t>(k)] != '0';
  }
  const bool round_up = first > 5 || (first == 5 && (rest || (acc & 1) != 0));
  if (round_up) {
    if (acc == limit) return absl::OutOfRangeError("decimal value does not fit in 64 bits");
    ++acc;
  }
  Rounded out;
  out.inexact = first != 0 || rest;
  out.value = d.negative ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
  return out;
}

// Units in which price text is written.
enum class PriceUnit {
  kPerMTok,   // USD per million tokens ("3.00")
  kPerToken,  // USD per token, as LiteLLM writes ("3e-06")
  kUsd,       // plain USD, e.g. a per-request fee or a cost override
};

inline int ScaleFor(PriceUnit unit) {
  switch (unit) {
    case PriceUnit::kPerMTok: return 6;    // USD/MTok -> µ$/MTok
    case PriceUnit::kPerToken: return 12;  // USD/token -> µ$/MTok
    case PriceUnit::kUsd: return 6;        // USD -> µ$
  }
  return 6;
}

// Parses non-negative price text into the integer unit (µ$/MTok or µ$),
// rounding half-even; `inexact` says a finer-than-1-unit value was rounded.
[[nodiscard]] inline absl::StatusOr<Rounded> ParsePrice(absl::string_view text, PriceUnit unit) {
  auto decimal = ParseDecimal(text);
  if (!decimal.ok()) return decimal.status();
  if (decimal->negative) {
    return absl::InvalidArgumentError(absl::StrCat("negative price \"", text, "\""));
  }
  return ScaleHalfEven(*decimal, ScaleFor(unit));
}

// ---------------------------------------------------------------------------
// Exact rationals for multipliers (batch 1/2, regional 11/10, fast 6).

struct Rational {
  int64_t num = 1;
  int64_t den = 1;
  bool is_one() const { return num == den; }
  friend bool operator==(const Rational& a, const Rational& b) {
    return static_cast<__int128>(a.num) * b.den == static_cast<__int128>(b.num) * a.den;
  }
};

inline int64_t Gcd(int64_t a, int64_t b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Parses "0.5", "1.1", "6", "1/2", "11/10" into a reduced non-negative rational.
[[nodiscard]] inline absl::StatusOr<Rational> ParseRational(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("not a multiplier: \"", text, "\" (", why, ")"));
  };
  Rational r;
  const size_t slash = text.find('/');
  if (slash != absl::string_view::npos) {
    auto num = ParseDecimal(text.substr(0, slash));
    auto den = ParseDecimal(text.substr(slash + 1));
    if (!num.ok() || !den.ok()) return bad("expected INTEGER/INTEGER");
    auto n = ScaleHalfEven(*num, 0);
    auto d = ScaleHalfEven(*den, 0);
    if (!n.ok() || !d.ok() || n->inexact || d->inexact) return bad("expected INTEGER/INTEGER");
    r.num = n->value;
    r.den = d->value;
  } else {
    auto dec = ParseDecimal(text);
    if (!dec.ok()) return bad("expected a decimal or a fraction");
    if (dec->is_zero()) return Rational{0, 1};
    if (dec->exponent >= 0) {
      auto n = ScaleHalfEven(*dec, 0);
      if (!n.ok()) return bad("too large");
      r.num = n->value;
      r.den = 1;
    } else {
      if (dec->exponent < -18) return bad("too many decimal places");
      const int places = static_cast<int>(-dec->exponent);
      auto n = ScaleHalfEven(*dec, places);
      if (!n.ok()) return bad("too large");
      r.num = n->value;
      r.den = 1;
      for (int k = 0; k < places; ++k) r.den *= 10;
    }
  }
  if (r.num < 0 || r.den < 0) return bad("negative");
  if (r.den == 0) return bad("zero denominator");
  const int64_t g = Gcd(r.num, r.den);
  if (g > 1) {
    r.num /= g;
    r.den /= g;
  }
  return r;
}

inline std::string ToString(const Rational& r) {
  if (r.den == 1) return absl::StrCat(r.num);
  return absl::StrCat(r.num, "/", r.den);
}

// ---------------------------------------------------------------------------
// Rounding and display.

// round_half_even(num / den) for den > 0.
inline __int128 DivRoundHalfEven(__int128 num, __int128 den) {
  __int128 q = num / den;
  __int128 r = num % den;
  if (r < 0) {  // make the remainder non-negative (floor division)
    r += den;
    q -= 1;
  }
  const __int128 twice = r * 2;
  if (twice > den || (twice == den && (q & 1) != 0)) q += 1;
  return q;
}

// The amount as decimal dollars rounded half-even to `decimals` places
// (0..6): FormatUsd(Micros(1234567), 2) == "1.23"; no currency sign.
inline std::string FormatUsd(Micros amount, int decimals = 2) {
  if (decimals < 0) decimals = 0;
  if (decimals > 6) decimals = 6;
  int64_t divisor = 1;
  for (int k = decimals; k < 6; ++k) divisor *= 10;
  const __int128 scaled = DivRoundHalfEven(amount.value(), divisor);
  const bool negative = scaled < 0;
  unsigned __int128 magnitude = negative ? static_cast<unsigned __int128>(-scaled)
                                         : static_cast<unsigned __int128>(scaled);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  while (static_cast<int>(digits.size()) <= decimals) digits.insert(digits.begin(), '0');
  std::string out = negative ? "-" : "";
  const size_t point = digits.size() - static_cast<size_t>(decimals);
  out += digits.substr(0, point);
  if (decimals > 0) {
    out += '.';
    out += digits.substr(point);
  }
  return out;
}

// "$1.23" style, for text output.
inline std::string FormatDollars(Micros amount, int decimals = 2) {
  std::string s = FormatUsd(amount, decimals);
  if (!s.empty() && s[0] == '-') return "-$" + s.substr(1);
  return "$" + s;
}

// Dollars for people: two decimals, or four for a non-zero amount under a
// cent (one request often costs $0.0042): "$13.82", "$0.0042", "-$1.50".
inline std::string FormatMoney(Micros amount) {
  const int64_t v = amount.value() < 0 ? -amount.value() : amount.value();
  return FormatDollars(amount, v != 0 && v < 10'000 ? 4 : 2);
}

// A rate as USD per MTok with as many decimals as it needs ("3", "0.275").
inline std::string FormatRate(MicrosPerMTok rate) {
  std::string s = FormatUsd(Micros(rate.value()), 6);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_MONEY_H_
