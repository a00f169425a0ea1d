#include "tokenbook/money.h"
#include "tokenbook/rates.h"
#include <doctest/doctest.h>
using namespace tokenbook;
TEST_CASE("smoke") { CHECK(FormatUsd(Micros(1234567)) == "1.23"); }
