// Unit tests for include/tokenbook/model_names.h and the name-resolution half
// of include/tokenbook/rates.h (RateTable): normalisation, exact -> alias ->
// normalised -> family resolution with its version guard, the cache, Add and
// MergeFrom rules, Suggest, and concurrent Resolve.
#include "tokenbook/model_names.h"

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tokenbook/rates.h"

namespace tokenbook {
namespace {

ModelRates M(std::string id, std::vector<std::string> aliases = {}, int64_t input = 1'000'000) {
  ModelRates m;
  m.id = std::move(id);
  m.provider = "testco";
  m.aliases = std::move(aliases);
  m.pricing.standard.rates[TokenKind::kInput] = MicrosPerMTok(input);
  m.pricing.standard.rates[TokenKind::kOutput] = MicrosPerMTok(input * 5);
  return m;
}

RateTable BuildTable() {
  RateTable t;
  t.set_as_of("2026-11-01");
  const std::vector<ModelRates> models = {
      M("claude-sonnet-4-5", {"claude-sonnet-4-5-20250929"}, 3'000'000),
      M("claude-sonnet-4", {"claude-sonnet-4-20250514"}, 3'000'001),
      M("claude-opus-4-1", {"claude-opus-4-1-20250805"}, 15'000'000),
      M("claude-haiku-4-5", {}, 1'000'000),
      M("gpt-5", {}, 1'250'000),
      M("gpt-5-mini", {}, 250'000),
      M("gpt-4o", {}, 2'500'000),
      M("gpt-4.1", {}, 2'000'000),
      M("o3", {}, 2'000'001),
      M("gemini-2.5-flash", {}, 300'000),
      M("deepseek-v3", {}, 270'000),
      M("deepseek-v2", {}, 140'000),
      M("qwen2.5-coder", {}, 0),
  };
  for (const ModelRates& m : models) REQUIRE(t.Add(m).ok());
  return t;
}

// "id/match" for a resolved name, "unknown" for none.
std::string Resolved(const RateTable& t, absl::string_view name) {
  const Resolution r = t.Resolve(name);
  if (r.model == nullptr) {
    CHECK(r.match == MatchKind::kUnknown);
    return "unknown";
  }
  CHECK(r.match != MatchKind::kUnknown);
  return absl::StrCat(r.model->id, "/", MatchKindName(r.match));
}

// ---------------------------------------------------------------------------
// NormalizeModelName

TEST_CASE("NormalizeModelName reduces every spelling to one key") {
  const std::pair<const char*, const char*> cases[] = {
      // case and whitespace
      {"claude-sonnet-4-5", "claude-sonnet-4-5"},
      {"Claude-Sonnet-4-5", "claude-sonnet-4-5"},
      {"  GPT-5\t", "gpt-5"},
      // provider paths
      {"anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"},
      {"openai/gpt-5", "gpt-5"},
      {"openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"},
      {"vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
      {"bedrock/anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"},
      {"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
      // Bedrock region and vendor prefixes
      {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
      {"eu.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"},
      {"apac.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"},
      {"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
      {"anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
      {"meta.llama3-70b-instruct-v1:0", "llama3-70b-instruct"},
      // revisions
      {"claude-sonnet-4-5-v1:0", "claude-sonnet-4-5"},
      {"claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"},
      {"claude-sonnet-4-5-20250929-v1", "claude-sonnet-4-5"},
      // date suffixes
      {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
      {"claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
      {"gpt-4.1-2025-04-14", "gpt-4-1"},
      {"gpt-4o-2024-08-06", "gpt-4o"},
      {"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
      {"model@latest", "model"},
      // 4.5 <-> 4-5, only between digits
      {"claude-sonnet-4.5", "claude-sonnet-4-5"},
      {"GPT-5.4-Mini", "gpt-5-4-mini"},
      {"gemini-2.5-flash", "gemini-2-5-flash"},
      {"qwen2.5-coder", "qwen2-5-coder"},
      {"claude-v.2", "claude-v.2"},
      {"1.5", "1-5"},
      // Ollama tags
      {"qwen2.5-coder:7b", "qwen2-5-coder"},
      {"llama3.1:8b-instruct-q4_K_M", "llama3-1"},
      {"openrouter/anthropic/claude-3.7-sonnet:thinking", "claude-3-7-sonnet"},
      // a -vN that is part of the name stays
      {"deepseek-v3", "deepseek-v3"},
      {"DeepSeek-V2", "deepseek-v2"},
      {"deepseek-v3:671b", "deepseek-v3"},
      {"deepseek-v3.1", "deepseek-v3-1"},
      {"anthropic.claude-v2", "claude-v2"},
      {"amazon.titan-text-express-v1", "titan-text-express-v1"},
      {"claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"},
      {"mistral-7b-instruct-v0.2", "mistral-7b-instruct-v0-2"},
      // dates that are not dates are kept
      {"gpt-4-0613", "gpt-4-0613"},
      {"gemini-2.5-flash-preview-05-20", "gemini-2-5-flash-preview-05-20"},
      {"model-12345678", "model-12345678"},
      {"", ""},
  };
  for (const auto& [name, key] : cases) {
    CAPTURE(std::string(name));
    CHECK(NormalizeModelName(name) == std::string(key));
    // Normalising is idempotent.
    CHECK(NormalizeModelName(NormalizeModelName(name)) == NormalizeModelName(name));
  }
  // The many spellings of one model agree.
  const std::string key = NormalizeModelName("claude-sonnet-4-5");
  for (const char* spelling :
       {"anthropic/claude-sonnet-4.5", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "claude-sonnet-4-5@20250929", "vertex_ai/claude-sonnet-4-5@20250929", "Claude-Sonnet-4.5",
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"}) {
    CAPTURE(std::string(spelling));
    CHECK(NormalizeModelName(spelling) == key);
  }
  // Two different models never collapse into one key.
  CHECK(NormalizeModelName("deepseek-v3") != NormalizeModelName("deepseek-v2"));
  CHECK(NormalizeModelName("gpt-5.4") != NormalizeModelName("gpt-5"));
  CHECK(NormalizeModelName("gpt-4.1") != NormalizeModelName("gpt-4"));
}

TEST_CASE("IsFamilySuffix accepts only mode and release words, and refuses versions and variants") {
  for (const char* rest : {"-thinking", "-latest", "-chat-latest", "-preview-05-20", "-exp", "-exp-0827",
                           "-preview", "-thinking-latest"}) {
    CAPTURE(std::string(rest));
    CHECK(IsFamilySuffix(rest));
  }
  for (const char* rest : {"", "-", "--x", "x", "thinking", "-4", "-5-mini", "-4o", "-0613", "-7b", "-mini",
                           "-nano", "-pro", "-lite", "-turbo", "-sonnet", "-codex-mini",
                           "-thinking-max", "-realtime--mini", "-audio-preview-mini", "-high",
                           "-thinking-16k", "-search-preview", "-realtime-preview", "-deep-research"}) {
    CAPTURE(std::string(rest));
    CHECK(!IsFamilySuffix(rest));
  }
}

// ---------------------------------------------------------------------------
// Resolve

TEST_CASE("Resolve: exact, then alias, then normalised, then family") {
  const RateTable t = BuildTable();
  const std::pair<const char*, const char*> cases[] = {
      {"claude-sonnet-4-5", "claude-sonnet-4-5/exact"},
      {"gpt-4.1", "gpt-4.1/exact"},
      {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5/alias"},
      {"claude-opus-4-1-20250805", "claude-opus-4-1/alias"},
      // normalised: case, provider prefixes, revisions, dates, dots
      {"Claude-Sonnet-4-5", "claude-sonnet-4-5/normalized"},
      {"anthropic/claude-sonnet-4-5", "claude-sonnet-4-5/normalized"},
      {"openai/gpt-5", "gpt-5/normalized"},
      {"bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5/normalized"},
      {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5/normalized"},
      {"vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5/normalized"},
      {"claude-sonnet-4-5-v1:0", "claude-sonnet-4-5/normalized"},
      {"claude-sonnet-4.5", "claude-sonnet-4-5/normalized"},
      {"openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5/normalized"},
      {"claude-sonnet-4-2025-05-14", "claude-sonnet-4/normalized"},
      {"eu.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1/normalized"},
      {"gpt-4-1", "gpt-4.1/normalized"},
      {"gpt-4.1-2025-04-14", "gpt-4.1/normalized"},
      {"gpt-4o-2024-08-06", "gpt-4o/normalized"},
      {"GPT-5-MINI", "gpt-5-mini/normalized"},
      {"gpt-5-mini-2025-08-07", "gpt-5-mini/normalized"},
      {"o3-2025-04-16", "o3/normalized"},
      {"gemini-2-5-flash", "gemini-2.5-flash/normalized"},
      {"qwen2.5-coder:7b", "qwen2.5-coder/normalized"},
      {"DeepSeek-V3", "deepseek-v3/normalized"},
      {"deepseek-v3:671b", "deepseek-v3/normalized"},
      {"deepseek-v2", "deepseek-v2/exact"},
      {" gpt-5 ", "gpt-5/normalized"},
      // family: a new word after a known model
      {"claude-sonnet-4-5-thinking", "claude-sonnet-4-5/family"},
      {"anthropic/claude-sonnet-4.5-thinking", "claude-sonnet-4-5/family"},
      {"claude-sonnet-4-thinking", "claude-sonnet-4/family"},
      {"gpt-5-chat-latest", "gpt-5/family"},
      {"gemini-2.5-flash-preview-05-20", "gemini-2.5-flash/family"},
      {"gpt-5-mini-latest", "gpt-5-mini/family"},
      // version guard: never a cheaper or dearer sibling
      {"gpt-5.4-mini", "unknown"},
      {"gpt-5.4", "unknown"},
      {"gpt-5-4", "unknown"},
      {"gpt-5-nano", "unknown"},
      {"gpt-5-codex-mini", "unknown"},
      {"gpt-4o-mini", "unknown"},
      {"gpt-4o-mini-2024-07-18", "unknown"},
      {"gpt-4.1-mini", "unknown"},
      {"gpt-4", "unknown"},
      {"claude-sonnet-4-7", "unknown"},
      {"claude-opus-4", "unknown"},
      {"claude-opus-4-1-mini", "unknown"},
      {"gemini-2.5-flash-lite", "unknown"},
      {"gemini-2.5-pro", "unknown"},
      {"o3-pro", "unknown"},
      {"o3-mini", "unknown"},
      {"deepseek-v4", "unknown"},
      {"deepseek", "unknown"},
      {"ft:gpt-4o-mini:org::abc123", "unknown"},
      {"claude", "unknown"},
      {"totally-unknown", "unknown"},
      {"", "unknown"},
      {"-", "unknown"},
      {"---", "unknown"},
  };
  for (const auto& [name, want] : cases) {
    CAPTURE(std::string(name));
    CHECK(Resolved(t, name) == std::string(want));
    CHECK(Resolved(t, name) == std::string(want));  // and again, from the cache
  }
}

TEST_CASE("Resolve: the version guard without the exact model in the table") {
  RateTable t;
  REQUIRE(t.Add(M("claude-sonnet-4")).ok());
  REQUIRE(t.Add(M("gpt-5")).ok());
  REQUIRE(t.Add(M("gpt-4o")).ok());
  CHECK(Resolved(t, "claude-sonnet-4-5") == "unknown");
  CHECK(Resolved(t, "claude-sonnet-4.5") == "unknown");
  CHECK(Resolved(t, "claude-sonnet-4-5-20250929") == "unknown");
  CHECK(Resolved(t, "claude-sonnet-4-5-thinking") == "unknown");
  CHECK(Resolved(t, "claude-sonnet-4-thinking") == "claude-sonnet-4/family");
  CHECK(Resolved(t, "gpt-5-mini") == "unknown");
  CHECK(Resolved(t, "gpt-5.4-mini") == "unknown");
  CHECK(Resolved(t, "openai/gpt-5.4-mini") == "unknown");
  CHECK(Resolved(t, "gpt-4o-mini") == "unknown");
  CHECK(Resolved(t, "gpt-4o-latest") == "gpt-4o/family");
}

TEST_CASE("Resolve: a canonical id holds its normalised key whatever the order") {
  const std::vector<std::string> spellings = {
      "vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5",
      "us.anthropic.claude-sonnet-4-5-20250929-v1:0"};
  for (int rotation = 0; rotation < 3; ++rotation) {
    CAPTURE(rotation);
    RateTable t;
    for (int i = 0; i < 3; ++i) REQUIRE(t.Add(M(spellings[(rotation + i) % 3])).ok());
    CHECK(Resolved(t, "Claude-Sonnet-4.5") == "claude-sonnet-4-5/normalized");
    CHECK(Resolved(t, "claude-sonnet-4-5-thinking") == "claude-sonnet-4-5/family");
    // Each spelling still finds itself exactly.
    for (const std::string& s : spellings) CHECK(t.Resolve(s).model->id == s);
  }
  // A dotted id is as plain as a dashed one.
  for (bool plain_first : {true, false}) {
    CAPTURE(plain_first);
    RateTable t;
    if (plain_first) REQUIRE(t.Add(M("gpt-4.1")).ok());
    REQUIRE(t.Add(M("azure/gpt-4.1")).ok());
    REQUIRE(t.Add(M("openai/gpt-4.1-2025-04-14")).ok());
    if (!plain_first) REQUIRE(t.Add(M("gpt-4.1")).ok());
    CHECK(Resolved(t, "GPT-4.1") == "gpt-4.1/normalized");
    CHECK(Resolved(t, "gpt-4-1") == "gpt-4.1/normalized");
    CHECK(Resolved(t, "gpt-4.1-2025-04-14") == "gpt-4.1/normalized");
  }
  // Without a plain spelling, the latest decorated id holds the key.
  RateTable decorated;
  REQUIRE(decorated.Add(M("vertex_ai/claude-sonnet-4-5@20250929")).ok());
  REQUIRE(decorated.Add(M("claude-sonnet-4-5-20250929")).ok());
  CHECK(Resolved(decorated, "claude-sonnet-4-5") == "claude-sonnet-4-5-20250929/normalized");
}

TEST_CASE("Resolve caches its answers and Add invalidates the cache") {
  RateTable t = BuildTable();
  const Resolution a = t.Resolve("Claude-Sonnet-4.5");
  const Resolution b = t.Resolve("Claude-Sonnet-4.5");
  REQUIRE(a.model != nullptr);
  CHECK(a.model == b.model);
  CHECK(a.match == b.match);
  CHECK(a.model == t.FindById("claude-sonnet-4-5"));
  CHECK(t.Resolve("claude-sonnet-4-5").model == a.model);

  CHECK(t.Resolve("gpt-5-nano").model == nullptr);
  CHECK(t.Resolve("GPT-5-Nano").model == nullptr);
  CHECK(t.Resolve("gpt-5-nano-thinking").model == nullptr);
  REQUIRE(t.Add(M("gpt-5-nano", {"nano-alias"})).ok());
  CHECK(Resolved(t, "gpt-5-nano") == "gpt-5-nano/exact");
  CHECK(Resolved(t, "GPT-5-Nano") == "gpt-5-nano/normalized");
  CHECK(Resolved(t, "gpt-5-nano-thinking") == "gpt-5-nano/family");
  CHECK(Resolved(t, "nano-alias") == "gpt-5-nano/alias");
  // Pointers handed out before the Add stay valid.
  CHECK(a.model->id == "claude-sonnet-4-5");
  CHECK(t.Resolve("Claude-Sonnet-4.5").model == a.model);
}

TEST_CASE("ResolveUncached agrees with Resolve") {
  const RateTable t = BuildTable();
  for (const char* name : {"gpt-5", "Claude-Sonnet-4.5", "claude-sonnet-4-5-thinking", "nope", "gpt-5.4-mini"}) {
    CAPTURE(std::string(name));
    const Resolution cached = t.Resolve(name);
    const Resolution direct = t.ResolveUncached(name);
    CHECK(cached.model == direct.model);
    CHECK(cached.match == direct.match);
  }
}

// ---------------------------------------------------------------------------
// Add

TEST_CASE("Add refuses ids and aliases that are already taken") {
  RateTable t;
  REQUIRE(t.Add(M("claude-sonnet-4-5", {"sonnet", "claude-sonnet-4-5"})).ok());  // own id as alias is fine
  REQUIRE(t.Add(M("gpt-5", {"flagship"})).ok());
  CHECK(t.size() == 2);

  absl::Status s = t.Add(M("claude-sonnet-4-5"));
  CHECK(s.code() == absl::StatusCode::kAlreadyExists);
  CHECK(s.message().find("claude-sonnet-4-5") != absl::string_view::npos);

  s = t.Add(M("sonnet"));  // an id that is another model's alias
  CHECK(s.code() == absl::StatusCode::kAlreadyExists);
  CHECK(s.message().find("claude-sonnet-4-5") != absl::string_view::npos);

  s = t.Add(M("other", {"gpt-5"}));  // an alias that is another model's id
  CHECK(s.code() == absl::StatusCode::kAlreadyExists);
  CHECK(s.message().find("gpt-5") != absl::string_view::npos);

  s = t.Add(M("other", {"fresh", "flagship"}));  // an alias that is another model's alias
  CHECK(s.code() == absl::StatusCode::kAlreadyExists);
  CHECK(s.message().find("flagship") != absl::string_view::npos);
  CHECK(s.message().find("gpt-5") != absl::string_view::npos);

  // A refused model leaves no trace.
  CHECK(t.size() == 2);
  CHECK(t.FindById("other") == nullptr);
  CHECK(t.FindById("sonnet") == nullptr);
  CHECK(Resolved(t, "fresh") == "unknown");
  CHECK(Resolved(t, "flagship") == "gpt-5/alias");
  CHECK(Resolved(t, "sonnet") == "claude-sonnet-4-5/alias");
  CHECK(Resolved(t, "Sonnet") == "claude-sonnet-4-5/normalized");
  CHECK(t.Add(M("other", {"fresh"})).ok());
  CHECK(Resolved(t, "fresh") == "other/alias");
  CHECK(t.size() == 3);
}

TEST_CASE("Models lists every model once, by id") {
  const RateTable t = BuildTable();
  const std::vector<const ModelRates*> all = t.Models();
  REQUIRE(all.size() == t.size());
  CHECK(all.size() == 13);
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1]->id < all[i]->id);
  CHECK(all.front()->id == "claude-haiku-4-5");
  CHECK(all.back()->id == "qwen2.5-coder");
  CHECK(t.FindById("gpt-5")->pricing.standard.rates[TokenKind::kInput]->value() == 1'250'000);
  CHECK(t.FindById("GPT-5") == nullptr);  // FindById is exact
  CHECK(t.as_of() == "2026-11-01");
}

// ---------------------------------------------------------------------------
// MergeFrom

TEST_CASE("MergeFrom: the overlay replaces same ids, keeps the rest, its aliases win") {
  RateTable base;
  base.set_as_of("2026-01-01");
  REQUIRE(base.Add(M("claude-sonnet-4-5", {"sonnet"}, 3'000'000)).ok());
  REQUIRE(base.Add(M("gpt-5", {"flagship", "old-name"}, 1'250'000)).ok());
  REQUIRE(base.Add(M("gemini-2.5-pro", {"gemini-pro-latest"}, 1'250'000)).ok());
  const ModelRates* old_gpt = base.FindById("gpt-5");
  // Resolve once so that the merge must invalidate what was cached.
  CHECK(Resolved(base, "Flagship") == "gpt-5/normalized");
  CHECK(Resolved(base, "my-model") == "unknown");
  CHECK(Resolved(base, "old-name") == "gpt-5/alias");

  RateTable top;
  top.set_as_of("2026-11-01");
  REQUIRE(top.Add(M("claude-sonnet-4-5", {}, 4'000'000)).ok());
  REQUIRE(top.Add(M("my-model", {"flagship"}, 7'000'000)).ok());
  REQUIRE(top.Add(M("old-name", {}, 9'000'000)).ok());  // an id over a base alias
  REQUIRE(top.Add(M("mine-too", {"gpt-5"}, 8'000'000)).ok());  // an alias over a base id

  base.MergeFrom(top);
  CHECK(base.size() == 6);
  CHECK(base.as_of() == "2026-11-01");
  // Same id: replaced whole.
  CHECK(base.FindById("claude-sonnet-4-5")->pricing.standard.rates[TokenKind::kInput]->value() == 4'000'000);
  CHECK(Resolved(base, "claude-sonnet-4-5") == "claude-sonnet-4-5/exact");
  CHECK(base.Resolve("Claude-Sonnet-4.5").model == base.FindById("claude-sonnet-4-5"));
  // Others kept, untouched.
  CHECK(base.FindById("gpt-5") == old_gpt);
  CHECK(Resolved(base, "gemini-pro-latest") == "gemini-2.5-pro/alias");
  // The overlay's alias wins, exactly and after normalising.
  CHECK(Resolved(base, "flagship") == "my-model/alias");
  CHECK(Resolved(base, "Flagship") == "my-model/normalized");
  CHECK(Resolved(base, "FLAGSHIP") == "my-model/normalized");
  // An overlay id shadows a base alias of the same spelling.
  CHECK(Resolved(base, "old-name") == "old-name/exact");
  // A base id is never taken over by an overlay alias.
  CHECK(Resolved(base, "gpt-5") == "gpt-5/exact");
  CHECK(Resolved(base, "GPT-5") == "gpt-5/normalized");
  CHECK(Resolved(base, "my-model") == "my-model/exact");
  // The overlay table is unchanged and shares its models.
  CHECK(top.size() == 4);
  CHECK(base.FindById("my-model") == top.FindById("my-model"));
  // An older overlay does not move the table's as_of back.
  RateTable older;
  older.set_as_of("2025-01-01");
  base.MergeFrom(older);
  CHECK(base.as_of() == "2026-11-01");
}

TEST_CASE("MergeFrom: an overlay's alias does not take a key held by an id below") {
  RateTable base;
  REQUIRE(base.Add(M("claude-sonnet-4-5")).ok());
  RateTable top;
  REQUIRE(top.Add(M("my-sonnet", {"Claude-Sonnet-4.5"})).ok());
  base.MergeFrom(top);
  CHECK(Resolved(base, "Claude-Sonnet-4.5") == "my-sonnet/alias");     // the exact alias
  CHECK(Resolved(base, "claude-sonnet-4-5") == "claude-sonnet-4-5/exact");
  CHECK(Resolved(base, "CLAUDE-SONNET-4-5") == "claude-sonnet-4-5/normalized");
}

// ---------------------------------------------------------------------------
// Suggest

TEST_CASE("Suggest names the closest known ids") {
  const RateTable t = BuildTable();
  std::vector<std::string> s = t.Suggest("claude-sonet-4-5");
  REQUIRE(s.size() == 3);
  CHECK(s[0] == "claude-sonnet-4-5");
  CHECK(s[1] == "claude-sonnet-4");
  s = t.Suggest("GPT5", 2);
  REQUIRE(s.size() == 2);
  CHECK(s[0] == "gpt-5");
  s = t.Suggest("gpt-5.4-mini", 1);
  REQUIRE(s.size() == 1);
  CHECK(s[0] == "gpt-5-mini");
  s = t.Suggest("anthropic/claude-opus-4.1");
  CHECK(s[0] == "claude-opus-4-1");
  CHECK(t.Suggest("anything", 0).empty());
  CHECK(t.Suggest("x", 100).size() == t.size());
  CHECK(RateTable().Suggest("gpt-5").empty());
  // Deterministic: equal distances are ordered by id.
  RateTable ab;
  REQUIRE(ab.Add(M("b-model")).ok());
  REQUIRE(ab.Add(M("a-model")).ok());
  s = ab.Suggest("c-model");
  REQUIRE(s.size() == 2);
  CHECK(s[0] == "a-model");
  CHECK(s[1] == "b-model");
}

TEST_CASE("EditDistance") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("abc", "") == 3);
  CHECK(EditDistance("", "abc") == 3);
  CHECK(EditDistance("kitten", "sitting") == 3);
  CHECK(EditDistance("gpt-5", "gpt-5") == 0);
  CHECK(EditDistance("gpt5", "gpt-5") == 1);
}

// ---------------------------------------------------------------------------
// Threads

TEST_CASE("concurrent Resolve on one built table") {
  const RateTable t = BuildTable();
  // Names that hit every path, plus enough distinct ones to fill the cache
  // past its limit so that it is cleared while other threads read it.
  std::vector<std::string> names = {"gpt-5", "Claude-Sonnet-4.5", "claude-sonnet-4-5-thinking",
                                    "claude-sonnet-4-5-20250929", "gpt-5.4-mini", "unknown-model",
                                    "us.anthropic.claude-opus-4-1-20250805-v1:0", "qwen2.5-coder:7b"};
  for (int i = 0; i < 70'000; ++i) {  // the cache holds 65,536
    names.push_back(absl::StrCat(i % 2 == 0 ? "gpt-5-preview-" : "nobody-", i));
  }
  std::vector<Resolution> expected;
  for (const std::string& n : names) expected.push_back(t.ResolveUncached(n));

  constexpr int kThreads = 8;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int round = 0; round < 2; ++round) {
        for (size_t k = 0; k < names.size(); ++k) {
          const size_t i = (k * 7919 + static_cast<size_t>(th) * 104729 + static_cast<size_t>(round)) %
                           names.size();
          const Resolution r = t.Resolve(names[i]);
          if (r.model != expected[i].model || r.match != expected[i].match) ++mismatches;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(mismatches.load() == 0);
  CHECK(Resolved(t, "gpt-5-preview-2") == "gpt-5/family");
  CHECK(Resolved(t, "nobody-1") == "unknown");
}

TEST_CASE("a moved table keeps resolving") {
  RateTable t = BuildTable();
  CHECK(Resolved(t, "Claude-Sonnet-4.5") == "claude-sonnet-4-5/normalized");
  RateTable moved = std::move(t);
  CHECK(Resolved(moved, "Claude-Sonnet-4.5") == "claude-sonnet-4-5/normalized");
  CHECK(Resolved(moved, "gpt-5") == "gpt-5/exact");
  RateTable assigned;
  assigned = std::move(moved);
  CHECK(Resolved(assigned, "gpt-4o-2024-08-06") == "gpt-4o/normalized");
}

TEST_CASE("MatchKindName") {
  CHECK(MatchKindName(MatchKind::kExact) == "exact");
  CHECK(MatchKindName(MatchKind::kAlias) == "alias");
  CHECK(MatchKindName(MatchKind::kNormalized) == "normalized");
  CHECK(MatchKindName(MatchKind::kFamily) == "family");
  CHECK(MatchKindName(MatchKind::kUnknown) == "unknown");
}

}  // namespace
}  // namespace tokenbook
