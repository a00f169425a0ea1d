// Loading rate tables: LiteLLM's whole price database parsed from text held in
// memory (the work the command does once per run when a user points it at
// that file), the same through LoadRateFile() with the file read included,
// and the built-in TOML table.
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tokenbook/rate_sources.h"
#include "tokenbook/rates.h"

namespace {

constexpr char kLiteLlmPath[] = TOKENBOOK_SOURCE_DIR "/tests/data/litellm_model_prices.json";
constexpr char kBuiltinPath[] = TOKENBOOK_SOURCE_DIR "/data/builtin_rates.toml";

std::optional<std::string> ReadWhole(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

void BM_ParseLiteLlmJson(benchmark::State& state) {
  const std::optional<std::string> text = ReadWhole(kLiteLlmPath);
  if (!text.has_value()) {
    state.SkipWithError(absl::StrCat("cannot read ", kLiteLlmPath).c_str());
    return;
  }
  size_t models = 0;
  size_t warnings = 0;
  {
    std::vector<std::string> w;
    auto table = tokenbook::ParseLiteLlmJson(*text, "litellm", &w);
    if (!table.ok()) {
      state.SkipWithError(table.status().ToString().c_str());
      return;
    }
    models = table->size();
    warnings = w.size();
  }
  for (auto _ : state) {
    auto table = tokenbook::ParseLiteLlmJson(*text, "litellm");
    benchmark::DoNotOptimize(table);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text->size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(models));
  state.counters["models"] = static_cast<double>(models);
  state.counters["warnings"] = static_cast<double>(warnings);
}
BENCHMARK(BM_ParseLiteLlmJson)->Unit(benchmark::kMillisecond);

void BM_LoadRateFileLiteLlm(benchmark::State& state) {
  for (auto _ : state) {
    auto table = tokenbook::LoadRateFile(kLiteLlmPath);
    if (!table.ok()) {
      state.SkipWithError(table.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(table);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoadRateFileLiteLlm)->Unit(benchmark::kMillisecond);

void BM_ParseBuiltinToml(benchmark::State& state) {
  const std::optional<std::string> text = ReadWhole(kBuiltinPath);
  if (!text.has_value()) {
    state.SkipWithError(absl::StrCat("cannot read ", kBuiltinPath).c_str());
    return;
  }
  size_t models = 0;
  {
    auto table = tokenbook::ParseRateTableToml(*text, "builtin");
    if (!table.ok()) {
      state.SkipWithError(table.status().ToString().c_str());
      return;
    }
    models = table->size();
  }
  for (auto _ : state) {
    auto table = tokenbook::ParseRateTableToml(*text, "builtin");
    benchmark::DoNotOptimize(table);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text->size()));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(models));
  state.counters["models"] = static_cast<double>(models);
}
BENCHMARK(BM_ParseBuiltinToml)->Unit(benchmark::kMicrosecond);

}  // namespace
