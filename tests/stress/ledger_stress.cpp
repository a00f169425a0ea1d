// tokenbook_stress: the ledger's promises (docs/ledger-format.md, "Writing:
// locking and crashes") checked with real processes, through the C ABI only,
// as an embedding program uses it. docs/reliability.md has the figures.
//
//   tokenbook_stress run  --dir D --processes P --threads T --seconds S
//                         [--entries N] [--ingest CLAUDE_DIR] [--budget-entries K]
//     P processes of T threads each append at once to one ledger: single
//     entries, batches, entries with shared source keys, admissions that
//     reserve against a blocking budget then commit or release, and (thread
//     0 of each process) ingestion of the same Claude Code logs. Each thread
//     stops after N operations or S seconds. Then: every acknowledged entry is
//     in the ledger exactly once, no line is torn or duplicated, every other
//     line is an ingested entry and ingestion added each one once, costs and
//     totals are exact to the micro-dollar, the blocking budget was never
//     overshot, and the report reads it all without an issue.
//
//   tokenbook_stress kill --dir D --rounds R [--seed X] [--max-delay-ms M]
//     R times: a writer process appends (small entries, large ones, batches
//     of large ones so that a kill often lands inside a write) and prints
//     each id to a pipe once the call has returned; it is killed with SIGKILL
//     after a random delay. After each round: every acknowledged id is in the
//     ledger once, only the last line may be partial, every earlier invalid
//     line is a torn tail that a later writer closed, and the report runs and
//     names the torn line. The next round's writer is the recovery.
//
// Prints one JSON object of figures; exits 0 when every check passed, 1 with
// each failure on stderr, 2 on a usage error.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rapidjson/document.h"
#include "tokenbook/tokenbook.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int g_failures = 0;

void Fail(const std::string& what) {
  if (g_failures < 50) std::fprintf(stderr, "tokenbook_stress: FAIL: %s\n", what.c_str());
  ++g_failures;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

bool WriteAllFd(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

uint64_t Fnv(const char* p, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

// The int64 field `name` of `o`, or `fallback`.
int64_t Int(const rapidjson::Value& o, const char* name, int64_t fallback = -1) {
  if (!o.IsObject()) return fallback;
  auto it = o.FindMember(name);
  return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : fallback;
}

std::string Str(const rapidjson::Value& o, const char* name) {
  if (!o.IsObject()) return "";
  auto it = o.FindMember(name);
  return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString()) : "";
}

// One line of the ledger, as far as the checks need it.
struct Line {
  std::string id;
  int64_t cost = 0;
  std::string project;
  std::string source_kind;
  std::string source_key;
};

bool ParseLine(const char* p, size_t n, Line* out) {
  rapidjson::Document d;
  d.Parse(p, n);
  if (d.HasParseError() || !d.IsObject()) return false;
  out->id = Str(d, "id");
  out->cost = Int(d, "cost_micros", 0);
  out->project = Str(d, "project");
  out->source_kind.clear();
  out->source_key.clear();
  if (auto it = d.FindMember("source"); it != d.MemberEnd() && it->value.IsObject()) {
    out->source_kind = Str(it->value, "kind");
    out->source_key = Str(it->value, "key");
  }
  return !out->id.empty();
}

// The report of the whole ledger through the C ABI.
bool Report(const std::string& dir, rapidjson::Document* doc) {
  tkb_ledger* ledger = nullptr;
  tkb_open_options options = TKB_OPEN_OPTIONS_INIT;
  options.create = 0;
  if (tkb_ledger_open(&ledger, dir.c_str(), &options) != TKB_OK) {
    Fail(std::string("report: cannot open the ledger: ") + tkb_last_error());
    return false;
  }
  tkb_report_query query = TKB_REPORT_QUERY_INIT;
  query.period = "all";
  char* json = nullptr;
  const tkb_status s = tkb_ledger_report(ledger, &query, &json);
  tkb_ledger_free(ledger);
  if (s != TKB_OK) {
    Fail(std::string("report failed: ") + tkb_last_error());
    return false;
  }
  doc->Parse(json);
  tkb_free(json);
  if (doc->HasParseError() || !doc->IsObject()) {
    Fail("report: not a JSON object");
    return false;
  }
  return true;
}

std::string Micros(int64_t m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%06" PRId64, m / 1000000, m % 1000000);
  return buf;
}

struct Args {
  std::string mode;
  std::string dir;
  int processes = 4;
  int threads = 4;
  double seconds = 2;
  int64_t entries = 1000000000;
  std::string ingest;
  int64_t budget_entries = 200;
  int64_t rounds = 100;
  uint64_t seed = 0;
  int max_delay_ms = 20;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "tokenbook_stress: %s\n"
               "usage: tokenbook_stress run --dir D [--processes P] [--threads T] [--seconds S] [--entries N]\n"
               "                            [--ingest CLAUDE_DIR] [--budget-entries K]\n"
               "       tokenbook_stress kill --dir D [--rounds R] [--seed X] [--max-delay-ms M]\n",
               why);
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  if (argc < 2) Usage("no mode");
  Args a;
  a.mode = argv[1];
  if (a.mode != "run" && a.mode != "kill") Usage("the mode is run or kill");
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("no value after " + flag).c_str());
    const char* v = argv[++i];
    if (flag == "--dir") a.dir = v;
    else if (flag == "--processes") a.processes = std::atoi(v);
    else if (flag == "--threads") a.threads = std::atoi(v);
    else if (flag == "--seconds") a.seconds = std::atof(v);
    else if (flag == "--entries") a.entries = std::atoll(v);
    else if (flag == "--ingest") a.ingest = v;
    else if (flag == "--budget-entries") a.budget_entries = std::atoll(v);
    else if (flag == "--rounds") a.rounds = std::atoll(v);
    else if (flag == "--seed") a.seed = std::strtoull(v, nullptr, 10);
    else if (flag == "--max-delay-ms") a.max_delay_ms = std::atoi(v);
    else Usage(("unknown flag " + flag).c_str());
  }
  if (a.dir.empty()) Usage("--dir is required");
  if (a.processes < 1 || a.threads < 1 || a.max_delay_ms < 1) Usage("counts must be positive");
  if (a.seed == 0) a.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  return a;
}

// ---------------------------------------------------------------------------
// run

constexpr int64_t kGuardedCost = 1000;  // µ$ per guarded request, estimate = actual
constexpr int kSharedKeys = 64;         // source keys every process tries to log

// What one thread did, one record a line: "A <id> <cost>" an acknowledged
// append, "K <key> <id> <appended>" a keyed log, "D" a denied admission, "R"
// a released one, "I <entries> <cost>" an ingestion run, "E <message>".
struct Tally {
  std::string records;
  void Add(const std::string& r) {
    records += r;
    records.push_back('\n');
  }
};

void FillEntry(tkb_entry* e, std::mt19937_64& rng, const std::string& session, const std::string& tags,
               const std::string* notes) {
  e->model = (rng() % 4 == 0) ? "gpt-5" : "claude-sonnet-4-5";
  e->tokens.input = static_cast<int64_t>(rng() % 50000);
  e->tokens.output = static_cast<int64_t>(rng() % 8000);
  e->tokens.cache_read = static_cast<int64_t>(rng() % 20000);
  e->session = session.c_str();
  e->agent = "stress";
  e->project = "plain";
  e->tags = tags.c_str();
  e->notes = notes != nullptr ? notes->c_str() : nullptr;
}

void RunThread(const std::string& ledger_dir, tkb_ledger* ledger, const Args& a, int p, int t,
               Clock::time_point deadline, Tally* out) {
  std::mt19937_64 rng(a.seed * 1000003u + static_cast<uint64_t>(p) * 131u + static_cast<uint64_t>(t));
  const std::string session = "s-" + std::to_string(p) + "-" + std::to_string(t);
  const std::string big_notes(64 * 1024 + rng() % (256 * 1024), 'n');
  auto error = [&](const char* what) { out->Add(std::string("E ") + what + ": " + tkb_last_error()); };
  auto ack = [&](const tkb_log_result& r) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "A %s %" PRId64, r.id, r.cost_micros);
    out->Add(buf);
  };
  for (int64_t n = 0; n < a.entries && Clock::now() < deadline; ++n) {
    const std::string tags = "worker=" + std::to_string(p) + "." + std::to_string(t) + "\nseq=" + std::to_string(n);
    if (t == 0 && !a.ingest.empty() && n % 40 == 0) {
      char* json = nullptr;
      if (tkb_ingest(ledger_dir.c_str(), "claude-code", a.ingest.c_str(), 0, &json) != TKB_OK) {
        error("ingest");
        continue;
      }
      rapidjson::Document d;
      d.Parse(json);
      tkb_free(json);
      out->Add("I " + std::to_string(Int(d, "entries")) + " " + std::to_string(Int(d, "cost_micros")));
      continue;
    }
    const unsigned op = static_cast<unsigned>(rng() % 100);
    if (op < 45) {  // one entry, now and then a large one
      tkb_entry e = TKB_ENTRY_INIT;
      FillEntry(&e, rng, session, tags, rng() % 50 == 0 ? &big_notes : nullptr);
      tkb_log_result r = TKB_LOG_RESULT_INIT;
      if (tkb_ledger_log(ledger, &e, &r) != TKB_OK) {
        error("log");
        continue;
      }
      ack(r);
    } else if (op < 60) {  // a batch of four
      tkb_entry es[4];
      tkb_log_result rs[4];
      std::string batch_tags[4];
      for (int k = 0; k < 4; ++k) {
        es[k] = tkb_entry TKB_ENTRY_INIT;
        rs[k] = tkb_log_result TKB_LOG_RESULT_INIT;
        batch_tags[k] = tags + "\nitem=" + std::to_string(k);
        FillEntry(&es[k], rng, session, batch_tags[k], nullptr);
      }
      if (tkb_ledger_log_batch(ledger, es, 4, rs) != TKB_OK) {
        error("log_batch");
        continue;
      }
      for (const tkb_log_result& r : rs) ack(r);
    } else if (op < 70) {  // a key every process logs: one of them appends it
      const std::string key = "stress:shared:" + std::to_string(rng() % kSharedKeys);
      tkb_entry e = TKB_ENTRY_INIT;
      FillEntry(&e, rng, session, tags, nullptr);
      e.source_kind = "stress";
      e.source_key = key.c_str();
      tkb_log_result r = TKB_LOG_RESULT_INIT;
      if (tkb_ledger_log(ledger, &e, &r) != TKB_OK) {
        error("log keyed");
        continue;
      }
      out->Add("K " + key + " " + r.id + " " + std::to_string(r.appended) + " " + std::to_string(r.cost_micros));
    } else {  // admission against the blocking budget, then commit or release
      tkb_entry e = TKB_ENTRY_INIT;
      e.model = "claude-sonnet-4-5";
      e.tokens.input = 1000;
      e.has_cost_override = 1;
      e.cost_override_micros = kGuardedCost;
      e.project = "guarded";
      e.session = session.c_str();
      e.tags = tags.c_str();
      tkb_admission adm = TKB_ADMISSION_INIT;
      if (tkb_ledger_admit(ledger, &e, 1, &adm) != TKB_OK) {
        error("admit");
        continue;
      }
      if (adm.decision == TKB_DENY) {
        out->Add("D");
        continue;
      }
      if (adm.reservation == 0) {
        out->Add("E admit: allowed without a reservation");
        continue;
      }
      if (rng() % 4 == 0) {
        if (tkb_ledger_release(ledger, adm.reservation) != TKB_OK) {
          error("release");
          continue;
        }
        out->Add("R");
        continue;
      }
      tkb_log_result r = TKB_LOG_RESULT_INIT;
      if (tkb_ledger_commit(ledger, adm.reservation, &e, &r) != TKB_OK) {
        error("commit");
        continue;
      }
      ack(r);
    }
  }
}

int RunWorker(const std::string& ledger_dir, const std::string& acks_dir, const Args& a, int p,
              Clock::time_point deadline) {
  tkb_ledger* ledger = nullptr;
  if (tkb_ledger_open(&ledger, ledger_dir.c_str(), nullptr) != TKB_OK) {
    std::fprintf(stderr, "tokenbook_stress: process %d: cannot open the ledger: %s\n", p, tkb_last_error());
    return 1;
  }
  std::vector<Tally> tallies(static_cast<size_t>(a.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < a.threads; ++t) {
    threads.emplace_back(RunThread, std::cref(ledger_dir), ledger, std::cref(a), p, t, deadline,
                         &tallies[static_cast<size_t>(t)]);
  }
  for (std::thread& th : threads) th.join();
  tkb_ledger_free(ledger);
  std::string all;
  for (const Tally& t : tallies) all += t.records;
  WriteFile(acks_dir + "/" + std::to_string(p), all);
  return 0;
}

int Run(const Args& a) {
  const std::string ledger_dir = a.dir + "/ledger";
  const std::string acks_dir = a.dir + "/acks";
  fs::create_directories(acks_dir);
  fs::create_directories(ledger_dir);
  const int64_t limit = a.budget_entries * kGuardedCost;
  WriteFile(ledger_dir + "/config.toml",
            "[budgets]\naction = \"warn\"\n\n[[budgets.scoped]]\nproject = \"guarded\"\nperiod = \"monthly\"\n"
            "limit = \"" + Micros(limit) + "\"\naction = \"block\"\n");

  // What ingesting the logs into an empty ledger adds: the figure every
  // concurrent run together must add, once.
  int64_t ingest_entries = 0;
  int64_t ingest_cost = 0;
  if (!a.ingest.empty()) {
    const std::string probe = a.dir + "/probe";
    char* json = nullptr;
    if (tkb_ingest(probe.c_str(), "claude-code", a.ingest.c_str(), 1, &json) != TKB_OK) {
      std::fprintf(stderr, "tokenbook_stress: cannot ingest %s: %s\n", a.ingest.c_str(), tkb_last_error());
      return 1;
    }
    rapidjson::Document d;
    d.Parse(json);
    tkb_free(json);
    ingest_entries = Int(d, "entries");
    ingest_cost = Int(d, "cost_micros");
  }

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::microseconds(static_cast<int64_t>(a.seconds * 1e6));
  std::vector<pid_t> children;
  for (int p = 0; p < a.processes; ++p) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) ::_exit(RunWorker(ledger_dir, acks_dir, a, p, deadline));
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail("a writer process failed (status " + std::to_string(status) + ")");
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  // What the writers were told.
  std::unordered_map<std::string, int64_t> acked;  // id -> cost
  std::map<std::string, std::set<std::string>> key_ids;  // shared key -> ids reported
  std::map<std::string, int> key_appended;
  int64_t acks = 0, denied = 0, released = 0, ingest_runs = 0, ingest_added = 0, ingest_added_cost = 0, errors = 0;
  int64_t keyed_calls = 0;
  for (int p = 0; p < a.processes; ++p) {
    std::istringstream in(ReadFile(acks_dir + "/" + std::to_string(p)));
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string tag;
      f >> tag;
      if (tag == "A") {
        std::string id;
        int64_t cost = 0;
        f >> id >> cost;
        ++acks;
        if (!acked.emplace(id, cost).second) Fail("id " + id + " acknowledged twice");
      } else if (tag == "K") {
        std::string key, id;
        int appended = 0;
        int64_t cost = 0;
        f >> key >> id >> appended >> cost;
        ++keyed_calls;
        key_ids[key].insert(id);
        if (appended != 0) {
          ++key_appended[key];
          ++acks;
          if (!acked.emplace(id, cost).second) Fail("id " + id + " acknowledged twice");
        }
      } else if (tag == "D") {
        ++denied;
      } else if (tag == "R") {
        ++released;
      } else if (tag == "I") {
        int64_t n = 0, c = 0;
        f >> n >> c;
        ++ingest_runs;
        ingest_added += n;
        ingest_added_cost += c;
      } else if (tag == "E") {
        ++errors;
        Fail("a call failed: " + line.substr(2));
      }
    }
  }

  // What the ledger holds.
  const std::string text = ReadFile(ledger_dir + "/ledger.jsonl");
  if (!text.empty() && text.back() != '\n') Fail("the ledger does not end with a newline (a torn line)");
  std::unordered_map<std::string, int> seen;
  std::map<std::string, int> keys_in_ledger;
  int64_t lines = 0, total = 0, guarded = 0, guarded_entries = 0, ingested = 0, ingested_cost = 0, bad = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    ++lines;
    Line l;
    if (!ParseLine(text.data() + at, nl - at, &l)) {
      ++bad;
      Fail("line " + std::to_string(lines) + " is not a whole entry: " + text.substr(at, std::min<size_t>(nl - at, 80)));
    } else {
      if (++seen[l.id] == 2) Fail("id " + l.id + " is in the ledger twice (a duplicated line)");
      total += l.cost;
      if (l.project == "guarded") {
        guarded += l.cost;
        ++guarded_entries;
      }
      if (!l.source_key.empty()) ++keys_in_ledger[l.source_key];
      if (l.source_kind == "claude-code") {
        ++ingested;
        ingested_cost += l.cost;
      } else if (auto it = acked.find(l.id); it == acked.end()) {
        Fail("line " + std::to_string(lines) + ": id " + l.id + " was never acknowledged");
      } else if (it->second != l.cost) {
        Fail("id " + l.id + ": acknowledged at " + std::to_string(it->second) + " µ$, in the ledger at " +
             std::to_string(l.cost));
      }
    }
    at = nl + 1;
  }
  int64_t acked_total = 0;
  for (const auto& [id, cost] : acked) {
    acked_total += cost;
    if (seen.find(id) == seen.end()) Fail("acknowledged id " + id + " is missing from the ledger (lost)");
  }
  for (const auto& [key, n] : keys_in_ledger) {
    if (n != 1) Fail("source key " + key + " is in the ledger " + std::to_string(n) + " times");
  }
  for (const auto& [key, ids] : key_ids) {
    if (key_appended[key] != 1) Fail("shared key " + key + " appended " + std::to_string(key_appended[key]) + " times");
    if (ids.size() != 1) Fail("shared key " + key + ": callers were told " + std::to_string(ids.size()) + " different ids");
  }
  if (!a.ingest.empty()) {
    if (ingested != ingest_entries) {
      Fail("ingested entries in the ledger: " + std::to_string(ingested) + ", expected " + std::to_string(ingest_entries));
    }
    if (ingest_added != ingest_entries) {
      Fail("the ingestion runs together reported " + std::to_string(ingest_added) + " entries added, expected " +
           std::to_string(ingest_entries));
    }
    if (ingested_cost != ingest_cost || ingest_added_cost != ingest_cost) Fail("ingested cost is not exact");
  }
  if (total != acked_total + ingested_cost) {
    Fail("ledger total " + std::to_string(total) + " µ$ != acknowledged " + std::to_string(acked_total) +
         " + ingested " + std::to_string(ingested_cost));
  }
  if (guarded > limit) Fail("the blocking budget was overshot: " + std::to_string(guarded) + " > " + std::to_string(limit));

  // The report sees exactly the same, with no issue.
  rapidjson::Document report;
  int64_t report_entries = -1, report_cost = -1, report_issues = -1;
  if (Report(ledger_dir, &report)) {
    const rapidjson::Value& totals = report["totals"];
    report_entries = Int(totals, "entries");
    report_cost = Int(totals, "cost_micros");
    report_issues = report.HasMember("issues") && report["issues"].IsArray() ? report["issues"].Size() : -1;
    if (report_entries != lines - bad) Fail("report: " + std::to_string(report_entries) + " entries, ledger " + std::to_string(lines));
    if (report_cost != total) Fail("report: total " + std::to_string(report_cost) + " µ$, ledger " + std::to_string(total));
    if (report_issues != 0) Fail("report: " + std::to_string(report_issues) + " issues");
  }

  std::printf(
      "{\"mode\":\"run\",\"ok\":%s,\"processes\":%d,\"threads\":%d,\"seconds\":%.2f,\"entries_acknowledged\":%" PRId64
      ",\"ledger_lines\":%" PRId64 ",\"ledger_bytes\":%zu,\"duplicated_ids\":%" PRId64 ",\"lost\":%" PRId64
      ",\"torn_or_invalid_lines\":%" PRId64 ",\"total_micros\":%" PRId64 ",\"report_total_micros\":%" PRId64
      ",\"keyed_calls\":%" PRId64 ",\"shared_keys\":%zu,\"admissions_denied\":%" PRId64
      ",\"reservations_released\":%" PRId64 ",\"guarded_entries\":%" PRId64 ",\"guarded_micros\":%" PRId64
      ",\"budget_limit_micros\":%" PRId64 ",\"ingest_runs\":%" PRId64 ",\"ingested_entries\":%" PRId64
      ",\"expected_ingested_entries\":%" PRId64 ",\"errors\":%" PRId64 ",\"failures\":%d}\n",
      g_failures == 0 ? "true" : "false", a.processes, a.threads, elapsed, acks, lines, text.size(),
      static_cast<int64_t>(std::count_if(seen.begin(), seen.end(), [](const auto& kv) { return kv.second > 1; })),
      static_cast<int64_t>(std::count_if(acked.begin(), acked.end(), [&](const auto& kv) { return !seen.contains(kv.first); })),
      bad, total, report_cost, keyed_calls, key_ids.size(), denied, released, guarded_entries, guarded, limit, ingest_runs,
      ingested, ingest_entries, errors, g_failures);
  return g_failures == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------
// kill

// The writer: appends until killed, and reports each id on `ack_fd` once
// the call that wrote it has returned.
[[noreturn]] void KillWriter(const std::string& ledger_dir, int ack_fd, uint64_t seed) {
  std::mt19937_64 rng(seed);
  tkb_ledger* ledger = nullptr;
  if (tkb_ledger_open(&ledger, ledger_dir.c_str(), nullptr) != TKB_OK) {
    std::fprintf(stderr, "tokenbook_stress: writer: cannot open the ledger: %s\n", tkb_last_error());
    ::_exit(3);
  }
  // Ready: the kill clock starts now, so that rounds are not spent killing
  // a process that has not reached the ledger yet.
  if (!WriteAllFd(ack_fd, "ready\n", 6)) ::_exit(5);
  // Large notes make a long write(), so that kills often land inside one.
  std::string notes(512 * 1024, 'x');
  for (size_t i = 0; i < notes.size(); i += 61) notes[i] = static_cast<char>('a' + (i / 61) % 26);
  std::vector<std::string> note_texts;
  for (int k = 0; k < 6; ++k) note_texts.push_back(notes.substr(0, 64 * 1024 + rng() % (448 * 1024)));
  for (uint64_t n = 0;; ++n) {
    const unsigned op = static_cast<unsigned>(rng() % 10);
    const int count = op < 7 ? 1 : 2 + static_cast<int>(rng() % 4);
    tkb_entry es[8];
    tkb_log_result rs[8];
    const std::string tags = "seq=" + std::to_string(n);
    for (int k = 0; k < count; ++k) {
      es[k] = tkb_entry TKB_ENTRY_INIT;
      rs[k] = tkb_log_result TKB_LOG_RESULT_INIT;
      es[k].model = "claude-sonnet-4-5";
      es[k].tokens.input = static_cast<int64_t>(rng() % 100000);
      es[k].tokens.output = static_cast<int64_t>(rng() % 10000);
      es[k].agent = "killed-writer";
      es[k].tags = tags.c_str();
      if (op >= 5) es[k].notes = note_texts[(n + static_cast<uint64_t>(k)) % note_texts.size()].c_str();
    }
    // "big" before a large write: the parent aims its kill at those.
    if (op >= 5 && !WriteAllFd(ack_fd, "big\n", 4)) ::_exit(5);
    const tkb_status s = count == 1 ? tkb_ledger_log(ledger, &es[0], &rs[0]) : tkb_ledger_log_batch(ledger, es, static_cast<size_t>(count), rs);
    if (s != TKB_OK) {
      std::fprintf(stderr, "tokenbook_stress: writer: %s\n", tkb_last_error());
      ::_exit(4);
    }
    std::string out;
    for (int k = 0; k < count; ++k) {
      out += rs[k].id;
      out.push_back('\n');
    }
    if (!WriteAllFd(ack_fd, out.data(), out.size())) ::_exit(5);
  }
}

struct TornTail {
  int64_t offset;
  size_t size;
  uint64_t hash;
};

// Incremental checks of one ledger across rounds.
class KillChecker {
 public:
  explicit KillChecker(std::string path) : path_(std::move(path)) {}

  // Reads what was appended since the last call; checks the ids in `acked`.
  // Returns the size of the partial last line (0 when none).
  size_t Check(const std::vector<std::string>& acked, int64_t round) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Fail("cannot open " + path_ + ": " + std::strerror(errno));
      return 0;
    }
    struct stat st;
    ::fstat(fd, &st);
    std::string buf(static_cast<size_t>(st.st_size - verified_), '\0');
    size_t got = 0;
    while (got < buf.size()) {
      const ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, verified_ + static_cast<off_t>(got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    ::close(fd);
    buf.resize(got);
    size_t at = 0;
    for (;;) {
      const size_t nl = buf.find('\n', at);
      if (nl == std::string::npos) break;
      const int64_t offset = verified_ + static_cast<int64_t>(at);
      ++lines_;
      Line l;
      if (ParseLine(buf.data() + at, nl - at, &l)) {
        if (!ids_.insert(l.id).second) Fail("round " + std::to_string(round) + ": id " + l.id + " twice");
        ++entries_;
      } else {
        // Only a torn tail of an earlier round, closed by the next writer.
        const uint64_t h = Fnv(buf.data() + at, nl - at);
        auto it = std::find_if(torn_.begin(), torn_.end(),
                               [&](const TornTail& t) { return t.offset == offset && t.size == nl - at && t.hash == h; });
        if (it == torn_.end()) {
          Fail("round " + std::to_string(round) + ": line " + std::to_string(lines_) +
               " is invalid and was not a torn tail (" + buf.substr(at, std::min<size_t>(nl - at, 60)) + ")");
        } else {
          ++closed_torn_;
        }
      }
      at = nl + 1;
    }
    verified_ += static_cast<int64_t>(at);
    const size_t tail = buf.size() - at;
    if (tail > 0 && (torn_.empty() || torn_.back().offset != verified_ || torn_.back().size != tail)) {
      torn_.push_back({verified_, tail, Fnv(buf.data() + at, tail)});
    }
    for (const std::string& id : acked) {
      if (!ids_.contains(id)) Fail("round " + std::to_string(round) + ": acknowledged id " + id + " is not in the ledger");
    }
    acked_ += static_cast<int64_t>(acked.size());
    return tail;
  }

  int64_t lines() const { return lines_; }
  int64_t entries() const { return entries_; }
  int64_t acked() const { return acked_; }
  int64_t closed_torn() const { return closed_torn_; }
  int64_t bytes() const { return verified_; }
  int64_t torn_tails() const { return static_cast<int64_t>(torn_.size()); }

 private:
  const std::string path_;
  int64_t verified_ = 0;  // bytes of whole lines checked
  int64_t lines_ = 0;
  int64_t entries_ = 0;
  int64_t acked_ = 0;
  int64_t closed_torn_ = 0;
  std::unordered_set<std::string> ids_;
  std::vector<TornTail> torn_;
};

// The report runs and, when the ledger ends in a torn line, names it.
void CheckReport(const std::string& ledger_dir, const KillChecker& checker, size_t torn, int64_t round) {
  rapidjson::Document report;
  if (!Report(ledger_dir, &report)) return;
  const rapidjson::Value& issues = report["issues"];
  const int64_t entries = Int(report["totals"], "entries");
  if (entries != checker.entries()) {
    Fail("round " + std::to_string(round) + ": the report counts " + std::to_string(entries) + " entries, the ledger " +
         std::to_string(checker.entries()));
  }
  bool named = false;
  int64_t invalid = 0;
  for (const rapidjson::Value& i : issues.GetArray()) {
    const std::string message = Str(i, "message");
    if (message.find("torn last line") != std::string::npos) {
      named = Int(i, "line") == checker.lines() + 1;
    } else {
      ++invalid;
    }
  }
  if (torn > 0 && !named) Fail("round " + std::to_string(round) + ": the report does not name the torn last line");
  if (torn == 0 && named) Fail("round " + std::to_string(round) + ": the report names a torn line that is not there");
  if (invalid != checker.closed_torn()) {
    Fail("round " + std::to_string(round) + ": the report skips " + std::to_string(invalid) +
         " lines, expected the " + std::to_string(checker.closed_torn()) + " closed torn tails");
  }
}

// Returns once the file has grown past its present size and `extra` has
// passed since (or after two seconds).
void WaitForGrowth(const std::string& path, std::chrono::microseconds extra) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  ::fstat(fd, &st);
  const off_t base = st.st_size;
  const auto give_up = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < give_up) {
    ::fstat(fd, &st);
    if (st.st_size > base) break;
  }
  ::close(fd);
  const auto until = Clock::now() + extra;
  while (Clock::now() < until) {
  }
}

int Kill(const Args& a) {
  std::mt19937_64 rng(a.seed);
  const auto start = Clock::now();
  constexpr int64_t kRoundsPerLedger = 20;  // a fresh ledger now and then keeps the disk use bounded
  int64_t generation = 0, kills = 0, torn_rounds = 0, acked_total = 0, entries_total = 0, closed_total = 0;
  int64_t torn_total = 0;
  int64_t bytes_total = 0, lines_total = 0;
  std::string ledger_dir;
  std::unique_ptr<KillChecker> checker;
  auto finish_ledger = [&]() {
    if (!checker) return;
    acked_total += checker->acked();
    entries_total += checker->entries();
    closed_total += checker->closed_torn();
    torn_total += checker->torn_tails();
    bytes_total += checker->bytes();
    lines_total += checker->lines();
    checker.reset();
    fs::remove_all(ledger_dir);
  };
  for (int64_t round = 0; round < a.rounds && g_failures == 0; ++round) {
    if (round % kRoundsPerLedger == 0) {
      finish_ledger();
      ledger_dir = a.dir + "/ledger-" + std::to_string(generation++);
      fs::create_directories(ledger_dir);
      checker = std::make_unique<KillChecker>(ledger_dir + "/ledger.jsonl");
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      std::perror("pipe");
      return 1;
    }
    const uint64_t child_seed = rng();
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      ::close(fds[0]);
      KillWriter(ledger_dir, fds[1], child_seed);
    }
    ::close(fds[1]);
    // Wait for the writer to be ready, read acknowledgements until the kill
    // time, then kill, then drain.
    std::string acks;
    char chunk[65536];
    while (acks.find('\n') == std::string::npos) {
      const ssize_t r = ::read(fds[0], chunk, sizeof chunk);
      if (r <= 0) break;
      acks.append(chunk, static_cast<size_t>(r));
    }
    if (acks.rfind("ready\n", 0) != 0) Fail("round " + std::to_string(round) + ": the writer did not start");
    acks.erase(0, 6);
    // Half the rounds kill at a random point. The others aim inside a large
    // write(): once the writer announces one, watch the file and kill as
    // soon as it starts to grow (plus a random few microseconds), since a
    // write() is a small share of a writer's time.
    const bool aim = rng() % 2 == 0;
    const auto kill_at = Clock::now() + std::chrono::microseconds(
                                      static_cast<int64_t>(rng() % (static_cast<uint64_t>(a.max_delay_ms) * 1000)));
    const bool armed = !aim;
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    for (;;) {
      const auto now = Clock::now();
      if (armed && now >= kill_at) break;
      if (now >= give_up) break;
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>((armed ? kill_at : give_up) - now).count();
      struct pollfd pfd = {fds[0], POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left / 1000)) > 0) {
        const ssize_t r = ::read(fds[0], chunk, sizeof chunk);
        if (r > 0) acks.append(chunk, static_cast<size_t>(r));
        if (r == 0) break;  // the writer died by itself
        if (!armed && acks.find("big\n") != std::string::npos) {
          WaitForGrowth(ledger_dir + "/ledger.jsonl", std::chrono::microseconds(static_cast<int64_t>(rng() % 40)));
          break;
        }
      }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      Fail("round " + std::to_string(round) + ": the writer ended by itself (status " + std::to_string(status) + ")");
    }
    ++kills;
    for (;;) {
      const ssize_t r = ::read(fds[0], chunk, sizeof chunk);
      if (r <= 0) break;
      acks.append(chunk, static_cast<size_t>(r));
    }
    ::close(fds[0]);
    std::vector<std::string> acked;
    std::istringstream in(acks);
    for (std::string id; std::getline(in, id);) {
      if (in.eof() && !acks.empty() && acks.back() != '\n') break;  // a partial ack line is not an ack
      if (id != "big") acked.push_back(id);
    }
    const size_t torn = checker->Check(acked, round);
    if (torn > 0) ++torn_rounds;
    // The report must run, and name the torn line; checked on every torn
    // round and before each ledger is dropped.
    if (torn > 0 || round % kRoundsPerLedger == kRoundsPerLedger - 1) CheckReport(ledger_dir, *checker, torn, round);
  }
  // A last writer that is not killed: it recovers from whatever the last
  // kill left, and the ledger ends whole.
  if (checker && g_failures == 0) {
    tkb_ledger* ledger = nullptr;
    if (tkb_ledger_open(&ledger, ledger_dir.c_str(), nullptr) != TKB_OK) {
      Fail(std::string("final writer: ") + tkb_last_error());
    } else {
      std::vector<std::string> acked;
      for (int k = 0; k < 10; ++k) {
        tkb_entry e = TKB_ENTRY_INIT;
        e.model = "claude-sonnet-4-5";
        e.tokens.input = 1000;
        tkb_log_result r = TKB_LOG_RESULT_INIT;
        if (tkb_ledger_log(ledger, &e, &r) != TKB_OK) {
          Fail(std::string("final writer: ") + tkb_last_error());
          break;
        }
        acked.push_back(r.id);
      }
      tkb_ledger_free(ledger);
      if (checker->Check(acked, a.rounds) != 0) Fail("the final writer left a partial line");
      CheckReport(ledger_dir, *checker, 0, a.rounds);
    }
  }
  finish_ledger();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"mode\":\"kill\",\"ok\":%s,\"rounds\":%" PRId64 ",\"kills\":%" PRId64
              ",\"rounds_ending_in_a_torn_line\":%" PRId64 ",\"torn_tails\":%" PRId64
              ",\"torn_tails_closed_by_next_writer\":%" PRId64 ",\"acknowledged\":%" PRId64 ",\"entries\":%" PRId64
              ",\"lines\":%" PRId64 ",\"bytes\":%" PRId64 ",\"ledgers\":%" PRId64 ",\"seconds\":%.2f,\"seed\":%" PRIu64
              ",\"failures\":%d}\n",
              g_failures == 0 ? "true" : "false", a.rounds, kills, torn_rounds, torn_total, closed_total, acked_total, entries_total,
              lines_total, bytes_total, generation, elapsed, a.seed, g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = ParseArgs(argc, argv);
  std::error_code ec;
  fs::create_directories(a.dir, ec);
  if (ec) Usage(("cannot create " + a.dir).c_str());
  return a.mode == "run" ? Run(a) : Kill(a);
}
