# Writes OUTPUT, a C++ file defining tokenbook::internal::kBuiltinRatesToml as
# the bytes of INPUT (any bytes: written as a hex array, not a string literal).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${name} at build time; do not edit.
#include <cstddef>
#include <string_view>
namespace tokenbook::internal {
static const unsigned char kData[] = {
${bytes}0x00};
extern const std::string_view kBuiltinRatesToml;
const std::string_view kBuiltinRatesToml(reinterpret_cast<const char*>(kData), ${size});
}  // namespace tokenbook::internal
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
