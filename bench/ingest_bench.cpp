// Ingestion: one Claude Code line through the parser (a usage line, a line
// the filter drops), and whole directories of transcripts into a fresh
// ledger, first run and re-run. The side-by-side comparison with ccusage is
// bench/compare_ccusage.sh.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tokenbook/book.h"
#include "tokenbook/ingest.h"

namespace {

using tokenbook::Entry;

std::string AssistantLine(int i, int output) {
  return absl::StrCat(
      R"({"parentUuid":"e8e25d94-0ed9-4475-9531-985d5d9dc9f8","isSidechain":false,"userType":"external",)",
      R"("cwd":"/home/dev/work/proj-0","sessionId":"6513270e-269e-4d37-b2a7-4de452e6b438","version":"2.0.8",)",
      R"("gitBranch":"main","message":{"id":"msg_01QrroDnobDQCm5JUc)", i,
      R"(","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use",)",
      R"("id":"toolu_01930d6eaf-14f4-433f-b","name":"Read","input":{"file_path":"/home/dev/work/proj-0/src/main.cpp"}}],)",
      R"("stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":24,"cache_creation_input_tokens":15256,)",
      R"("cache_read_input_tokens":78582,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":15256},)",
      R"("output_tokens":)", output, R"(,"service_tier":"standard"}},"requestId":"req_011C3uMGonrNZGmwEnDq)", i,
      R"(","type":"assistant","uuid":"930d6eaf-14f4-433f-be7d-1bfbc7a2ea20","timestamp":"2025-09-05T16:07:10.429Z"})");
}

std::string UserLine() {
  return R"({"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"/home/dev/work/proj-0",)"
         R"("sessionId":"6513270e-269e-4d37-b2a7-4de452e6b438","version":"2.0.8","gitBranch":"main","type":"user",)"
         R"("message":{"role":"user","content":[{"tool_use_id":"toolu_01","type":"tool_result","content":"parser )"
         R"(build passes edge edge passes still passes rollups edge build and the ledger reads every line"}]},)"
         R"("uuid":"e8e25d94-0ed9-4475-9531-985d5d9dc9f8","timestamp":"2025-09-05T16:07:09.000Z"})";
}

void ParseLine(benchmark::State& state, const std::string& line) {
  tokenbook::ClaudeCodeLineParser parser;
  std::vector<char> buf(line.size() + 1);
  Entry e;
  int64_t total = 0;
  std::string reason;
  for (auto _ : state) {
    std::copy(line.begin(), line.end(), buf.begin());  // parsed in place
    benchmark::DoNotOptimize(parser.Parse(buf.data(), line.size(), "proj", &e, &total, &reason));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}

void BM_ClaudeLineUsage(benchmark::State& state) { ParseLine(state, AssistantLine(1, 339)); }
void BM_ClaudeLineNoUsage(benchmark::State& state) { ParseLine(state, UserLine()); }
BENCHMARK(BM_ClaudeLineUsage);
BENCHMARK(BM_ClaudeLineNoUsage);

// A directory of `files` transcripts of `lines` lines: one user line for two
// assistant responses, each written as two copies (a partial one first).
std::string MakeHome(int files, int lines) {
  const std::string root = absl::StrCat("/tmp/tokenbook_ingest_bench_", files, "x", lines);
  if (std::filesystem::exists(root)) return root;
  int id = 0;
  for (int f = 0; f < files; ++f) {
    const std::string dir = absl::StrCat(root, "/projects/p", f % 10);
    std::filesystem::create_directories(dir);
    std::ofstream out(absl::StrCat(dir, "/s", f, ".jsonl"));
    for (int n = 0; n < lines;) {
      out << UserLine() << '\n';
      ++n;
      for (int k = 0; k < 2 && n < lines; ++k, ++id) {
        out << AssistantLine(id, 100) << '\n' << AssistantLine(id, 339) << '\n';
        n += 2;
      }
    }
  }
  return root;
}

void BM_IngestFirstRun(benchmark::State& state) {
  const std::string home = MakeHome(static_cast<int>(state.range(0)), 1000);
  int64_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    char tmpl[] = "/tmp/tokenbook_ingest_bench_ledger_XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    auto book = tokenbook::Book::Open(dir);
    state.ResumeTiming();
    tokenbook::IngestOptions o;
    o.paths = {home};
    auto r = tokenbook::Ingest(**book, tokenbook::IngestSource::kClaudeCode, o);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    bytes += r.ok() ? r->bytes_read : 0;
    state.PauseTiming();
    book->reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_IngestFirstRun)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IngestNothingNew(benchmark::State& state) {
  const std::string home = MakeHome(static_cast<int>(state.range(0)), 1000);
  char tmpl[] = "/tmp/tokenbook_ingest_bench_ledger_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    auto book = tokenbook::Book::Open(dir);
    tokenbook::IngestOptions o;
    o.paths = {home};
    if (!tokenbook::Ingest(**book, tokenbook::IngestSource::kClaudeCode, o).ok()) state.SkipWithError("ingest");
  }
  for (auto _ : state) {
    auto book = tokenbook::Book::Open(dir);
    tokenbook::IngestOptions o;
    o.paths = {home};
    auto r = tokenbook::Ingest(**book, tokenbook::IngestSource::kClaudeCode, o);
    if (!r.ok() || r->bytes_read != 0) state.SkipWithError("a re-run read bytes");
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IngestNothingNew)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
