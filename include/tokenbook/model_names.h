// Model-name normalisation: the many spellings one model goes by
// ("anthropic/claude-sonnet-4.5", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
// "claude-sonnet-4-5@20250929") reduce to one key ("claude-sonnet-4-5").
#ifndef TOKENBOOK_MODEL_NAMES_H_
#define TOKENBOOK_MODEL_NAMES_H_

#include <array>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace tokenbook {
inline namespace v1 {
namespace model_names_internal {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

inline bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// Strips one trailing date stamp: -20250929, @20250929, -2025-04-14.
inline bool StripDateSuffix(std::string* s) {
  const size_t n = s->size();
  if (n > 9 && ((*s)[n - 9] == '-' || (*s)[n - 9] == '@') &&
      AllDigits(absl::string_view(*s).substr(n - 8)) && (*s)[n - 8] == '2') {
    s->resize(n - 9);
    return true;
  }
  if (n > 11 && (*s)[n - 11] == '-' && (*s)[n - 6] == '-' && (*s)[n - 3] == '-' &&
      AllDigits(absl::string_view(*s).substr(n - 10, 4)) &&
      AllDigits(absl::string_view(*s).substr(n - 5, 2)) &&
      AllDigits(absl::string_view(*s).substr(n - 2, 2))) {
    s->resize(n - 11);
    return true;
  }
  return false;
}

// True when `s` ends in a date stamp StripDateSuffix() would remove.
inline bool EndsWithDate(const std::string& s) {
  std::string copy = s;
  return StripDateSuffix(&copy);
}

// Strips a Bedrock revision: -v1:0 anywhere, a bare -v2 only right after a
// date stamp (claude-...-20240307-v1). A bare -vN elsewhere is part of the
// model's name: deepseek-v3 and deepseek-v2 are different models.
inline bool StripRevisionSuffix(std::string* s) {
  const size_t dash_v = s->rfind("-v");
  if (dash_v == std::string::npos) return false;
  absl::string_view tail = absl::string_view(*s).substr(dash_v + 2);
  const size_t colon = tail.find(':');
  absl::string_view major = tail.substr(0, colon);
  if (!AllDigits(major)) return false;
  if (colon != absl::string_view::npos && !AllDigits(tail.substr(colon + 1))) return false;
  if (colon == absl::string_view::npos && !EndsWithDate(s->substr(0, dash_v))) return false;
  s->resize(dash_v);
  return true;
}

}  // namespace model_names_internal

// Region and vendor prefixes that Bedrock and Vertex put before a model id.
inline constexpr std::array<absl::string_view, 8> kRegionPrefixes = {
    "us.", "eu.", "apac.", "global.", "au.", "jp.", "ca.", "us-gov."};
inline constexpr std::array<absl::string_view, 9> kVendorPrefixes = {
    "anthropic.", "openai.", "google.", "meta.", "mistral.", "amazon.", "cohere.", "deepseek.", "qwen."};

// Lower-cases, drops any "provider/" path (anthropic/, openai/, bedrock/,
// vertex_ai/, openrouter/anthropic/...), Bedrock region and vendor prefixes
// (us.anthropic.), revision (-v1:0) and date (-20250929, @20250929,
// -2025-04-14) suffixes and an Ollama-style ":tag", and writes the dot between
// two digits as a dash (4.5 -> 4-5).
inline std::string NormalizeModelName(absl::string_view name) {
  using namespace model_names_internal;
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  const size_t slash = s.rfind('/');
  if (slash != std::string::npos) s.erase(0, slash + 1);
  for (absl::string_view region : kRegionPrefixes) {
    if (absl::StartsWith(s, region)) {
      s.erase(0, region.size());
      break;
    }
  }
  for (absl::string_view vendor : kVendorPrefixes) {
    if (absl::StartsWith(s, vendor)) {
      s.erase(0, vendor.size());
      break;
    }
  }
  // Suffixes come in the order date, revision (claude-...-20241022-v2:0);
  // an Ollama tag (qwen2.5-coder:7b) ends the name.
  StripRevisionSuffix(&s);
  const size_t colon = s.find(':');
  if (colon != std::string::npos) s.resize(colon);
  StripDateSuffix(&s);
  const size_t at = s.find('@');
  if (at != std::string::npos) s.resize(at);
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '.' && IsDigit(s[i - 1]) && IsDigit(s[i + 1])) s[i] = '-';
  }
  return s;
}

// Words that may follow a family name without naming a different model:
// a thinking mode, a moving alias, a pre-release. This is an allow list on
// purpose: "gpt-4o-mini", "gpt-4o-realtime-preview", "o3-pro" and
// "o3-deep-research" are other models at other prices, and an unknown model
// reported loudly is better than a known one priced wrongly.
inline constexpr std::array<absl::string_view, 9> kFamilySuffixWords = {
    "thinking", "latest", "preview", "exp", "experimental", "beta", "alpha", "snapshot", "chat"};

// True when `rest`, the text after a family key in a normalised name, may be
// priced as that family: it starts a new segment, its first segment is an
// allowed word ("-thinking", "-latest", "-preview"), and every later segment
// is an allowed word or a number ("gemini-2-5-flash-preview-05-20").
// Versions ("-4", "-5-mini") and any other word are refused.
inline bool IsFamilySuffix(absl::string_view rest) {
  if (rest.size() < 2 || rest[0] != '-') return false;
  absl::string_view tail = rest.substr(1);
  bool first = true;
  while (true) {
    const size_t dash = tail.find('-');
    const absl::string_view segment = tail.substr(0, dash);
    if (segment.empty()) return false;
    bool allowed = false;
    for (absl::string_view word : kFamilySuffixWords) {
      if (segment == word) allowed = true;
    }
    if (!allowed && (first || !model_names_internal::AllDigits(segment))) return false;
    first = false;
    if (dash == absl::string_view::npos) break;
    tail = tail.substr(dash + 1);
  }
  return true;
}

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_MODEL_NAMES_H_
