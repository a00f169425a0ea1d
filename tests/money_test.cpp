// Unit tests for include/tokenbook/money.h: exact decimal parsing, half-even
// scaling, prices, rationals and display rounding. Every expectation is an
// exact integer or an exact string; nothing here goes through a float.
#include "tokenbook/money.h"

#include <cstdint>
#include <limits>
#include <string>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tokenbook {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// round_half_even(text × 10^shift), or the parse / range error.
absl::StatusOr<Rounded> Scale(absl::string_view text, int shift) {
  auto d = ParseDecimal(text);
  if (!d.ok()) return d.status();
  return ScaleHalfEven(*d, shift);
}

// The exact value of `text` × 10^shift, which must round to nothing.
int64_t Exact(absl::string_view text, int shift) {
  auto r = Scale(text, shift);
  REQUIRE_MESSAGE(r.ok(), text, ": ", r.status().ToString());
  CHECK_MESSAGE(!r->inexact, text, " should be exact at shift ", shift);
  return r->value;
}

// The rounded value of `text` × 10^shift, which must have needed rounding.
int64_t Inexact(absl::string_view text, int shift) {
  auto r = Scale(text, shift);
  REQUIRE_MESSAGE(r.ok(), text, ": ", r.status().ToString());
  CHECK_MESSAGE(r->inexact, text, " should be inexact at shift ", shift);
  return r->value;
}

absl::StatusCode ScaleCode(absl::string_view text, int shift) {
  return Scale(text, shift).status().code();
}

int64_t Price(absl::string_view text, PriceUnit unit) {
  auto r = ParsePrice(text, unit);
  REQUIRE_MESSAGE(r.ok(), text, ": ", r.status().ToString());
  return r->value;
}

Rational Rat(absl::string_view text) {
  auto r = ParseRational(text);
  REQUIRE_MESSAGE(r.ok(), text, ": ", r.status().ToString());
  return *r;
}

int64_t Div(__int128 num, __int128 den) { return static_cast<int64_t>(DivRoundHalfEven(num, den)); }

// ---------------------------------------------------------------------------
// ParseDecimal

TEST_CASE("ParseDecimal normalises equal values to equal representations") {
  struct Case {
    const char* text;
    bool negative;
    const char* digits;
    int64_t exponent;
  };
  const Case cases[] = {
      {"3", false, "3", 0},
      {"3.00", false, "3", 0},
      {"3.", false, "3", 0},
      {"5.", false, "5", 0},
      {"0003.000", false, "3", 0},
      {"30", false, "3", 1},
      {"300.0", false, "3", 2},
      {"0.275", false, "275", -3},
      {".5", false, "5", -1},
      {"-.5", true, "5", -1},
      {"+1", false, "1", 0},
      {"-0.275", true, "275", -3},
      {"3e-06", false, "3", -6},
      {"3E-6", false, "3", -6},
      {"1.25E-7", false, "125", -9},
      {"1.25e+7", false, "125", 5},
      {"12e2", false, "12", 2},
      {"120e-1", false, "12", 0},
      {"0.000", false, "", 0},
      {"0", false, "", 0},
      {"-0", false, "", 0},
      {"+0", false, "", 0},
      {"-0.000e5", false, "", 0},
      {"000", false, "", 0},
      {"1e100000", false, "1", 100000},
      {"1e-100000", false, "1", -100000},
      {"1e0000000000000000000000000007", false, "1", 7},
  };
  for (const Case& c : cases) {
    CAPTURE(std::string(c.text));
    auto d = ParseDecimal(c.text);
    REQUIRE(d.ok());
    CHECK(d->negative == c.negative);
    CHECK(d->digits == c.digits);
    CHECK(d->exponent == c.exponent);
    CHECK(d->is_zero() == (std::string(c.digits).empty()));
  }
}

TEST_CASE("ParseDecimal rejects malformed text") {
  const char* bad[] = {"",     " 3",  "3 ",   " ",     "abc",  "nan",   "NaN",   "inf",   "-inf",
                       "Infinity", "0x10", "1e",  "1e+", "1e-",  "e5",    ".",     "-",     "+",
                       "--1",  "+-1",  "-+1", "1.2.3", "1..2", "1e100001", "1e-100001", "1e5.5",
                       "1e5e5", "1,5", "1_000", "3\n", "\t3", ".e1", "-.", "1 e5", "1e 5", "١"};
  for (const char* text : bad) {
    CAPTURE(std::string(text));
    auto d = ParseDecimal(text);
    CHECK(d.status().code() == absl::StatusCode::kInvalidArgument);
    // The message quotes the text, so a user can see which price was wrong.
    CHECK(d.status().message().find(absl::StrCat("\"", text, "\"")) != absl::string_view::npos);
  }
  // An embedded NUL is not the end of the number.
  CHECK(!ParseDecimal(absl::string_view("3\0", 2)).ok());
}

TEST_CASE("ParseDecimal keeps every digit of very long mantissas") {
  const std::string ones(300, '1');
  auto d = ParseDecimal(ones);
  REQUIRE(d.ok());
  CHECK(d->digits == ones);
  CHECK(d->exponent == 0);

  const std::string padded = std::string(150, '0') + "42" + "." + std::string(150, '0');
  d = ParseDecimal(padded);
  REQUIRE(d.ok());
  CHECK(d->digits == "42");
  CHECK(d->exponent == 0);

  const std::string tiny = "0." + std::string(200, '0') + "7";
  d = ParseDecimal(tiny);
  REQUIRE(d.ok());
  CHECK(d->digits == "7");
  CHECK(d->exponent == -201);
}

// ---------------------------------------------------------------------------
// ScaleHalfEven

TEST_CASE("ScaleHalfEven scales exactly") {
  CHECK(Exact("3", 6) == 3'000'000);
  CHECK(Exact("3.00", 6) == 3'000'000);
  CHECK(Exact("0.275", 6) == 275'000);
  CHECK(Exact(".5", 6) == 500'000);
  CHECK(Exact("5.", 6) == 5'000'000);
  CHECK(Exact("3e-06", 12) == 3'000'000);
  CHECK(Exact("1.25E-7", 12) == 125'000);
  CHECK(Exact("+1", 0) == 1);
  CHECK(Exact("-0", 6) == 0);
  CHECK(Exact("0", 0) == 0);
  CHECK(Exact("-17", 0) == -17);
  CHECK(Exact("-0.275", 6) == -275'000);
  CHECK(Exact("1200", -2) == 12);
  CHECK(Exact("000123.4500000", 2) == 12'345);
  CHECK(Exact("0.000001", 6) == 1);
  CHECK(Exact("1e18", 0) == 1'000'000'000'000'000'000);
  // Zero stays zero at any shift, even an absurd one.
  CHECK(Exact("0e99999", 1000) == 0);
  CHECK(Exact("0", -1000) == 0);
}

TEST_CASE("ScaleHalfEven rounds ties to even, in both directions") {
  CHECK(Inexact("0.5", 0) == 0);
  CHECK(Inexact("1.5", 0) == 2);
  CHECK(Inexact("2.5", 0) == 2);
  CHECK(Inexact("3.5", 0) == 4);
  CHECK(Inexact("-0.5", 0) == 0);
  CHECK(Inexact("-1.5", 0) == -2);
  CHECK(Inexact("-2.5", 0) == -2);
  CHECK(Inexact("-3.5", 0) == -4);
  // Trailing zeros do not make a tie any less a tie.
  CHECK(Inexact("2.50000", 0) == 2);
  CHECK(Inexact("2.5000000000000000000000000000", 0) == 2);
  CHECK(Inexact("25e-1", 0) == 2);
  CHECK(Inexact("250000e-5", 0) == 2);
  // Just above or below a tie goes to the nearer integer.
  CHECK(Inexact("2.5000001", 0) == 3);
  CHECK(Inexact("2.4999999", 0) == 2);
  CHECK(Inexact("-2.5000001", 0) == -3);
  CHECK(Inexact("-2.4999999", 0) == -2);
  CHECK(Inexact("0.51", 0) == 1);
  CHECK(Inexact("0.49", 0) == 0);
  CHECK(Inexact("9.5", 0) == 10);
  CHECK(Inexact("99.5", 0) == 100);
  CHECK(Inexact("999.5", 0) == 1000);
  // Ties at a price's resolution: µ$/MTok.
  CHECK(Inexact("3.0000005", 6) == 3'000'000);
  CHECK(Inexact("3.0000015", 6) == 3'000'002);
  CHECK(Inexact("3.00000150", 6) == 3'000'002);
  CHECK(Inexact("3.0000025", 6) == 3'000'002);
  CHECK(Inexact("3.00000250000001", 6) == 3'000'003);
}

TEST_CASE("ScaleHalfEven rounds values below one unit") {
  CHECK(Inexact("0.0000004", 6) == 0);
  CHECK(Inexact("0.0000005", 6) == 0);  // tie, 0 is even
  CHECK(Inexact("0.00000050001", 6) == 1);
  CHECK(Inexact("0.0000006", 6) == 1);
  CHECK(Inexact("0.0000015", 6) == 2);
  CHECK(Inexact("0.00000001", 6) == 0);
  CHECK(Inexact("-0.0000004", 6) == 0);
  CHECK(Inexact("-0.0000006", 6) == -1);
  CHECK(Inexact("1e-100000", 0) == 0);
  CHECK(Inexact("9e-100000", 99990) == 0);
  CHECK(Inexact("0.09", 0) == 0);  // the first fractional digit is a zero
  CHECK(Inexact("0.95", 0) == 1);
}

TEST_CASE("ScaleHalfEven handles very long digit strings exactly") {
  // 0.5000...0001 (120 digits): above the tie, rounds up.
  const std::string above = "0.5" + std::string(118, '0') + "1";
  CHECK(Inexact(above, 0) == 1);
  // 0.5000...0000: exactly the tie, to even.
  CHECK(Inexact("0.5" + std::string(150, '0'), 0) == 0);
  CHECK(Inexact("1.5" + std::string(150, '0'), 0) == 2);
  // 0.4999...9 (200 nines) stays below.
  CHECK(Inexact("0." + std::string(200, '4') + "9", 0) == 0);
  CHECK(Inexact("0.4" + std::string(200, '9'), 0) == 0);
  // 2.999...9 (150 nines) rounds up to 3.
  CHECK(Inexact("2." + std::string(150, '9'), 0) == 3);
  // 150 leading zeros then an exact integer.
  CHECK(Exact(std::string(150, '0') + "123456789", 0) == 123'456'789);
  // A tail far beyond the rounding place still breaks the tie.
  CHECK(Inexact("2.5" + std::string(500, '0') + "1", 0) == 3);
  CHECK(Inexact("-2.5" + std::string(500, '0') + "1", 0) == -3);
  // 100 significant digits whose integer part fits.
  const std::string hundred = "1234567890." + std::string(90, '3');
  CHECK(Inexact(hundred, 6) == 1'234'567'890'333'333);
  // 101 integer digits do not fit.
  CHECK(ScaleCode("1" + std::string(100, '0'), 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode(std::string(100, '9'), 0) == absl::StatusCode::kOutOfRange);
}

TEST_CASE("ScaleHalfEven at the int64 boundaries") {
  CHECK(Exact("9223372036854775807", 0) == kMax);
  CHECK(Exact("-9223372036854775808", 0) == kMin);
  CHECK(Exact("9223372036854.775807", 6) == kMax);
  CHECK(Exact("-9223372036854.775808", 6) == kMin);
  CHECK(Exact("9.223372036854775807e18", 0) == kMax);
  CHECK(Exact("922337203685477580700e-2", 0) == kMax);
  CHECK(Exact("00009223372036854775807.000", 0) == kMax);
  CHECK(ScaleCode("9223372036854775808", 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("-9223372036854775809", 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("9223372036854.775808", 6) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("-9223372036854.775809", 6) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("10000000000000000000", 0) == absl::StatusCode::kOutOfRange);  // 20 digits
  CHECK(ScaleCode("99999999999999999999", 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("18446744073709551616", 0) == absl::StatusCode::kOutOfRange);  // 2^64
  CHECK(ScaleCode("18446744073709551615", 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("9999999999999999999", 0) == absl::StatusCode::kOutOfRange);  // 19 digits
  CHECK(ScaleCode("1", 19) == absl::StatusCode::kOutOfRange);
  CHECK(Exact("1", 18) == 1'000'000'000'000'000'000);
  CHECK(ScaleCode("1e100000", 6) == absl::StatusCode::kOutOfRange);
  // Rounding onto the boundary fits; rounding past it does not.
  CHECK(Inexact("9223372036854775806.5", 0) == kMax - 1);
  CHECK(Inexact("9223372036854775806.51", 0) == kMax);
  CHECK(Inexact("9223372036854775807.4", 0) == kMax);
  CHECK(ScaleCode("9223372036854775807.5", 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("9223372036854775807.50001", 0) == absl::StatusCode::kOutOfRange);
  CHECK(Inexact("-9223372036854775807.5", 0) == kMin);
  CHECK(Inexact("-9223372036854775808.5", 0) == kMin);  // tie, 2^63 is even
  CHECK(Inexact("-9223372036854775808.4", 0) == kMin);
  CHECK(ScaleCode("-9223372036854775808.6", 0) == absl::StatusCode::kOutOfRange);
  CHECK(ScaleCode("-9223372036854775808.50001", 0) == absl::StatusCode::kOutOfRange);
}

// ---------------------------------------------------------------------------
// ParsePrice

TEST_CASE("ParsePrice reads per-MTok, per-token and USD text") {
  CHECK(Price("3", PriceUnit::kPerMTok) == 3'000'000);
  CHECK(Price("3.00", PriceUnit::kPerMTok) == 3'000'000);
  CHECK(Price("0.275", PriceUnit::kPerMTok) == 275'000);
  CHECK(Price("15", PriceUnit::kPerMTok) == 15'000'000);
  CHECK(Price("0", PriceUnit::kPerMTok) == 0);
  CHECK(Price("-0", PriceUnit::kPerMTok) == 0);
  CHECK(Price("+1", PriceUnit::kPerMTok) == 1'000'000);
  // The same price per token and per MTok is the same integer.
  CHECK(Price("3e-06", PriceUnit::kPerToken) == 3'000'000);
  CHECK(Price("0.000003", PriceUnit::kPerToken) == 3'000'000);
  CHECK(Price("3E-6", PriceUnit::kPerToken) == Price("3", PriceUnit::kPerMTok));
  CHECK(Price("1.25E-7", PriceUnit::kPerToken) == 125'000);
  CHECK(Price("1.25e-7", PriceUnit::kPerToken) == Price("0.125", PriceUnit::kPerMTok));
  CHECK(Price("3.75e-06", PriceUnit::kPerToken) == 3'750'000);
  CHECK(Price("1e-12", PriceUnit::kPerToken) == 1);
  // USD (per-request fees, overrides) resolve to µ$.
  CHECK(Price("0.01", PriceUnit::kUsd) == 10'000);
  CHECK(Price("1", PriceUnit::kUsd) == 1'000'000);
  CHECK(Price("9223372036854.775807", PriceUnit::kUsd) == kMax);
}

TEST_CASE("ParsePrice rounds finer-than-unit prices half-even and says so") {
  // LiteLLM writes binary-float noise; the exact text is honoured.
  auto r = ParsePrice("2.9999900000000002e-06", PriceUnit::kPerToken);
  REQUIRE(r.ok());
  CHECK(r->value == 2'999'990);
  CHECK(r->inexact);
  r = ParsePrice("3.0000005", PriceUnit::kPerMTok);
  REQUIRE(r.ok());
  CHECK(r->value == 3'000'000);
  CHECK(r->inexact);
  r = ParsePrice("0.0000004", PriceUnit::kPerMTok);
  REQUIRE(r.ok());
  CHECK(r->value == 0);
  CHECK(r->inexact);
  r = ParsePrice("1.25E-7", PriceUnit::kPerMTok);  // $0.000000125/MTok = 0.125 µ$/MTok
  REQUIRE(r.ok());
  CHECK(r->value == 0);
  CHECK(r->inexact);
  r = ParsePrice("1.5e-12", PriceUnit::kPerToken);
  REQUIRE(r.ok());
  CHECK(r->value == 2);
  CHECK(r->inexact);
  r = ParsePrice("2.5e-12", PriceUnit::kPerToken);
  REQUIRE(r.ok());
  CHECK(r->value == 2);
  CHECK(r->inexact);
  r = ParsePrice("3.00", PriceUnit::kPerMTok);
  REQUIRE(r.ok());
  CHECK(!r->inexact);
}

TEST_CASE("ParsePrice rejects bad and negative prices") {
  for (const char* text : {"", " 3", "3 ", "abc", "nan", "inf", "0x10", "1e", "1e+", "--1", "1.2.3",
                           "1e100001", "$3", "3USD"}) {
    CAPTURE(std::string(text));
    CHECK(ParsePrice(text, PriceUnit::kPerMTok).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
  for (const char* text : {"-1", "-0.000001", "-3e-06", "-1e-30"}) {
    CAPTURE(std::string(text));
    auto r = ParsePrice(text, PriceUnit::kPerToken);
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(r.status().message().find("negative") != absl::string_view::npos);
  }
  CHECK(ParsePrice("9223372036854.775808", PriceUnit::kPerMTok).status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(ParsePrice("9223373", PriceUnit::kPerToken).status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(ParsePrice("1e100000", PriceUnit::kPerToken).status().code() ==
        absl::StatusCode::kOutOfRange);
}

TEST_CASE("ScaleFor maps each unit to its power of ten") {
  CHECK(ScaleFor(PriceUnit::kPerMTok) == 6);
  CHECK(ScaleFor(PriceUnit::kPerToken) == 12);
  CHECK(ScaleFor(PriceUnit::kUsd) == 6);
}

// ---------------------------------------------------------------------------
// ParseRational

TEST_CASE("ParseRational reads decimals and fractions, reduced") {
  auto same = [](Rational r, int64_t num, int64_t den) {
    CHECK(r.num == num);
    CHECK(r.den == den);
  };
  same(Rat("0.5"), 1, 2);
  same(Rat("1/2"), 1, 2);
  same(Rat("2/4"), 1, 2);
  same(Rat("11/10"), 11, 10);
  same(Rat("1.1"), 11, 10);
  same(Rat("1.10"), 11, 10);
  same(Rat("6"), 6, 1);
  same(Rat("6.0"), 6, 1);
  same(Rat("12/2"), 6, 1);
  same(Rat("1"), 1, 1);
  same(Rat("0"), 0, 1);
  same(Rat("0/7"), 0, 1);
  same(Rat("0.25"), 1, 4);
  same(Rat("0.125"), 1, 8);
  same(Rat("1.5e1"), 15, 1);
  same(Rat("25e-2"), 1, 4);
  same(Rat("1e3/2"), 500, 1);
  same(Rat("1e-18"), 1, 1'000'000'000'000'000'000);
  same(Rat("9223372036854775807"), kMax, 1);
  same(Rat("1/9223372036854775807"), 1, kMax);
  CHECK(Rat("0.5") == Rat("1/2"));
  CHECK(Rat("1.1") == Rat("11/10"));
  CHECK(Rat("1").is_one());
  CHECK(Rat("7/7").is_one());
  CHECK(!Rat("1.1").is_one());
  CHECK(ToString(Rat("0.5")) == "1/2");
  CHECK(ToString(Rat("6")) == "6");
  CHECK(ToString(Rat("1.1")) == "11/10");
}

TEST_CASE("ParseRational rejects what is not a non-negative multiplier") {
  for (const char* text :
       {"1/0", "0/0", "-1", "-0.5", "-1/2", "1/-2", "a/b", "1/2/3", "", "/", "1/", "/2", "1.5/2",
        "1/2.5", " 1/2", "1/2 ", "1 / 2", "nan", "inf", "1e-19", "0.1234567890123456789",
        "9223372036854775808", "1/9223372036854775808", "1e19"}) {
    CAPTURE(std::string(text));
    auto r = ParseRational(text);
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

// ---------------------------------------------------------------------------
// DivRoundHalfEven

TEST_CASE("DivRoundHalfEven rounds half to even for any sign of numerator") {
  CHECK(Div(0, 5) == 0);
  CHECK(Div(1, 2) == 0);
  CHECK(Div(3, 2) == 2);
  CHECK(Div(5, 2) == 2);
  CHECK(Div(7, 2) == 4);
  CHECK(Div(-1, 2) == 0);
  CHECK(Div(-3, 2) == -2);
  CHECK(Div(-5, 2) == -2);
  CHECK(Div(-7, 2) == -4);
  CHECK(Div(-9, 4) == -2);   // -2.25
  CHECK(Div(-10, 4) == -2);  // -2.5
  CHECK(Div(-11, 4) == -3);  // -2.75
  CHECK(Div(-6, 4) == -2);   // -1.5
  CHECK(Div(-2, 4) == 0);    // -0.5
  CHECK(Div(-1, 3) == 0);
  CHECK(Div(-2, 3) == -1);
  CHECK(Div(-4, 3) == -1);
  CHECK(Div(-5, 3) == -2);
  CHECK(Div(-12, 3) == -4);
  CHECK(Div(-1'500'000, 1'000'000) == -2);
  CHECK(Div(-2'500'000, 1'000'000) == -2);
  CHECK(Div(-2'500'001, 1'000'000) == -3);
  CHECK(Div(-2'499'999, 1'000'000) == -2);
  // Every numerator in a range against an independent reference.
  for (int64_t den = 1; den <= 12; ++den) {
    for (int64_t num = -200; num <= 200; ++num) {
      CAPTURE(num);
      CAPTURE(den);
      // Reference: floor, then compare twice the remainder with den.
      int64_t q = num / den;
      int64_t r = num - q * den;
      if (r < 0) {
        r += den;
        --q;
      }
      if (2 * r > den || (2 * r == den && q % 2 != 0)) ++q;
      CHECK(Div(num, den) == q);
      CHECK(Div(-num, den) == -Div(num, den));  // half-even is symmetric
    }
  }
  // Large 128-bit magnitudes.
  const __int128 big = static_cast<__int128>(kMax) * 1'000'000;
  CHECK(DivRoundHalfEven(big, 1'000'000) == kMax);
  CHECK(DivRoundHalfEven(-big, 1'000'000) == -static_cast<__int128>(kMax));
  CHECK(DivRoundHalfEven(big + 500'000, 1'000'000) == static_cast<__int128>(kMax) + 1);  // odd: up
  CHECK(DivRoundHalfEven(-big - 500'000, 1'000'000) == -static_cast<__int128>(kMax) - 1);
}

// ---------------------------------------------------------------------------
// Display

TEST_CASE("FormatUsd rounds half-even at every precision") {
  CHECK(FormatUsd(Micros(1'234'567)) == "1.23");
  CHECK(FormatUsd(Micros(1'234'567), 6) == "1.234567");
  CHECK(FormatUsd(Micros(1'234'567), 5) == "1.23457");
  CHECK(FormatUsd(Micros(1'234'567), 4) == "1.2346");
  CHECK(FormatUsd(Micros(1'234'567), 3) == "1.235");
  CHECK(FormatUsd(Micros(1'234'567), 1) == "1.2");
  CHECK(FormatUsd(Micros(1'234'567), 0) == "1");
  CHECK(FormatUsd(Micros(0)) == "0.00");
  CHECK(FormatUsd(Micros(0), 0) == "0");
  CHECK(FormatUsd(Micros(0), 6) == "0.000000");
  CHECK(FormatUsd(Micros(1), 6) == "0.000001");
  CHECK(FormatUsd(Micros(-1), 6) == "-0.000001");
  // Ties at each precision, to even.
  CHECK(FormatUsd(Micros(500'000), 0) == "0");
  CHECK(FormatUsd(Micros(1'500'000), 0) == "2");
  CHECK(FormatUsd(Micros(2'500'000), 0) == "2");
  CHECK(FormatUsd(Micros(2'500'001), 0) == "3");
  CHECK(FormatUsd(Micros(50'000), 1) == "0.0");
  CHECK(FormatUsd(Micros(150'000), 1) == "0.2");
  CHECK(FormatUsd(Micros(250'000), 1) == "0.2");
  CHECK(FormatUsd(Micros(5'000), 2) == "0.00");
  CHECK(FormatUsd(Micros(15'000), 2) == "0.02");
  CHECK(FormatUsd(Micros(25'000), 2) == "0.02");
  CHECK(FormatUsd(Micros(25'001), 2) == "0.03");
  CHECK(FormatUsd(Micros(995'000), 2) == "1.00");
  CHECK(FormatUsd(Micros(985'000), 2) == "0.98");
  CHECK(FormatUsd(Micros(500), 3) == "0.000");
  CHECK(FormatUsd(Micros(1'500), 3) == "0.002");
  CHECK(FormatUsd(Micros(2'500), 3) == "0.002");
  CHECK(FormatUsd(Micros(50), 4) == "0.0000");
  CHECK(FormatUsd(Micros(150), 4) == "0.0002");
  CHECK(FormatUsd(Micros(5), 5) == "0.00000");
  CHECK(FormatUsd(Micros(15), 5) == "0.00002");
  CHECK(FormatUsd(Micros(25), 5) == "0.00002");
  // Negatives: symmetric, and never "-0.00".
  CHECK(FormatUsd(Micros(-1'234'567)) == "-1.23");
  CHECK(FormatUsd(Micros(-5'000), 2) == "0.00");
  CHECK(FormatUsd(Micros(-4'999), 2) == "0.00");
  CHECK(FormatUsd(Micros(-1), 2) == "0.00");
  CHECK(FormatUsd(Micros(-1), 0) == "0");
  CHECK(FormatUsd(Micros(-15'000), 2) == "-0.02");
  CHECK(FormatUsd(Micros(-25'000), 2) == "-0.02");
  CHECK(FormatUsd(Micros(-2'500'000), 0) == "-2");
  CHECK(FormatUsd(Micros(-500'000), 0) == "0");
  CHECK(FormatUsd(Micros(-1'500'000), 0) == "-2");
  CHECK(FormatUsd(Micros(-5'000'001), 0) == "-5");
  CHECK(FormatUsd(Micros(-100'000'000)) == "-100.00");
  // Out-of-range precisions are clamped.
  CHECK(FormatUsd(Micros(1'234'567), -3) == "1");
  CHECK(FormatUsd(Micros(1'234'567), 7) == "1.234567");
  CHECK(FormatUsd(Micros(1'234'567), 100) == "1.234567");
}

TEST_CASE("FormatUsd at the int64 boundaries") {
  CHECK(FormatUsd(Micros(kMax), 6) == "9223372036854.775807");
  CHECK(FormatUsd(Micros(kMax), 2) == "9223372036854.78");
  CHECK(FormatUsd(Micros(kMax), 0) == "9223372036855");
  CHECK(FormatUsd(Micros(kMin), 6) == "-9223372036854.775808");
  CHECK(FormatUsd(Micros(kMin), 2) == "-9223372036854.78");
  CHECK(FormatUsd(Micros(kMin), 0) == "-9223372036855");
  CHECK(FormatUsd(Micros(kMin + 1), 5) == "-9223372036854.77581");
  CHECK(FormatDollars(Micros(kMax)) == "$9223372036854.78");
  CHECK(FormatDollars(Micros(kMin)) == "-$9223372036854.78");
}

TEST_CASE("FormatUsd round-trips through ParsePrice at 6 decimals") {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 2000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int64_t v = static_cast<int64_t>(state) >> (i % 60);
    CAPTURE(v);
    const std::string text = FormatUsd(Micros(v), 6);
    auto d = ParseDecimal(text);
    REQUIRE(d.ok());
    auto back = ScaleHalfEven(*d, 6);
    REQUIRE(back.ok());
    CHECK(back->value == v);
    CHECK(!back->inexact);
  }
}

TEST_CASE("FormatDollars puts the sign before the dollar") {
  CHECK(FormatDollars(Micros(1'234'567)) == "$1.23");
  CHECK(FormatDollars(Micros(-1'234'567)) == "-$1.23");
  CHECK(FormatDollars(Micros(0)) == "$0.00");
  CHECK(FormatDollars(Micros(-1)) == "$0.00");
  CHECK(FormatDollars(Micros(-15'000)) == "-$0.02");
  CHECK(FormatDollars(Micros(1'234'567), 6) == "$1.234567");
  CHECK(FormatDollars(Micros(2'500'000), 0) == "$2");
}

TEST_CASE("FormatRate prints as many decimals as the rate needs") {
  CHECK(FormatRate(MicrosPerMTok(3'000'000)) == "3");
  CHECK(FormatRate(MicrosPerMTok(275'000)) == "0.275");
  CHECK(FormatRate(MicrosPerMTok(0)) == "0");
  CHECK(FormatRate(MicrosPerMTok(1)) == "0.000001");
  CHECK(FormatRate(MicrosPerMTok(10)) == "0.00001");
  CHECK(FormatRate(MicrosPerMTok(1'500'000)) == "1.5");
  CHECK(FormatRate(MicrosPerMTok(10'000'000)) == "10");
  CHECK(FormatRate(MicrosPerMTok(100'000'000)) == "100");
  CHECK(FormatRate(MicrosPerMTok(2'999'990)) == "2.99999");
  CHECK(FormatRate(MicrosPerMTok(-275'000)) == "-0.275");
  CHECK(FormatRate(MicrosPerMTok(kMax)) == "9223372036854.775807");
  CHECK(FormatRate(MicrosPerMTok(kMin)) == "-9223372036854.775808");
  // What FormatRate prints, ParsePrice reads back to the same integer.
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{275'000}, int64_t{3'750'000}, kMax}) {
    CHECK(Price(FormatRate(MicrosPerMTok(v)), PriceUnit::kPerMTok) == v);
  }
}

// ---------------------------------------------------------------------------
// Quantities

TEST_CASE("CheckedAdd refuses to wrap") {
  Micros acc(kMax - 1);
  CHECK(CheckedAdd(&acc, Micros(1)));
  CHECK(acc == Micros(kMax));
  CHECK(!CheckedAdd(&acc, Micros(1)));
  CHECK(acc == Micros(kMax));  // untouched
  Micros low(kMin);
  CHECK(!CheckedAdd(&low, Micros(-1)));
  CHECK(low == Micros(kMin));
  CHECK(CheckedAdd(&low, Micros(kMax)));
  CHECK(low == Micros(-1));
  Tokens t(5);
  CHECK(CheckedAdd(&t, Tokens(-5)));
  CHECK(t.value() == 0);
  CHECK(Micros(1) < Micros(2));
  CHECK(Micros(2) >= Micros(2));
  CHECK(Micros(3) != Micros(2));
  CHECK(Micros().value() == 0);
}

TEST_CASE("FormatMoney shows cents, or four places under a cent") {
  CHECK(FormatMoney(Micros(0)) == "$0.00");
  CHECK(FormatMoney(Micros(4200)) == "$0.0042");
  CHECK(FormatMoney(Micros(9999)) == "$0.0100");  // under a cent: four places, rounded half-even
  CHECK(FormatMoney(Micros(10000)) == "$0.01");
  CHECK(FormatMoney(Micros(13820000)) == "$13.82");
  CHECK(FormatMoney(Micros(15000)) == "$0.02");    // 1.5 cents: half-even to 2
  CHECK(FormatMoney(Micros(25000)) == "$0.02");    // 2.5 cents: half-even to 2
  CHECK(FormatMoney(Micros(-4200)) == "-$0.0042");
  CHECK(FormatMoney(Micros(-1500000)) == "-$1.50");
}

}  // namespace
}  // namespace tokenbook
