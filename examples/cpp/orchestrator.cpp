// The orchestrator of examples/c/orchestrator.c in C++17, on the RAII header
// over the stable C ABI (tokenbook/tokenbook.hpp).
//
// Admission with a reservation before each simulated call; the real usage is
// committed after it. A failed call throws, and the Reservation's destructor
// gives the budget back. A denied call is retried once on a cheaper model; a
// second denial stops the run. Pass --keep to leave the temporary ledger.
// Exits 0 when the run went as designed (at least one denial, spend within
// the budget), 1 otherwise.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tokenbook/tokenbook.hpp"

namespace {

namespace fs = std::filesystem;
namespace tkb = tokenbook::capi;

constexpr const char* kSession = "demo-session";
constexpr std::int64_t kBudgetMicros = 500000;  // $0.50, as in config.toml below
constexpr const char* kFallbackModel = "claude-haiku-4-5";

struct Task {
  const char* agent;
  const char* model;
  std::int64_t estimated_input, estimated_output;  // estimate output generously
  std::int64_t real_input, real_output;            // what the provider reports
  bool fails;                                      // the call errors out
};

const std::vector<Task> kTasks = {
    {"planner", "claude-sonnet-4-5", 20000, 4000, 18000, 2500, false},
    {"coder", "claude-sonnet-4-5", 20000, 4000, 19000, 3000, false},
    {"coder", "claude-sonnet-4-5", 20000, 4000, 0, 0, true},
    {"reviewer", "claude-sonnet-4-5", 20000, 4000, 15000, 2000, false},
    {"coder", "claude-sonnet-4-5", 20000, 4000, 20000, 3500, false},
    {"tester", "claude-sonnet-4-5", 20000, 4000, 16000, 2200, false},
    {"writer", "claude-sonnet-4-5", 20000, 4000, 17000, 2400, false},
    {"writer", "claude-sonnet-4-5", 20000, 4000, 17000, 2400, false},
    {"reviewer", "claude-sonnet-4-5", 20000, 4000, 15000, 2000, false},
    {"planner", "claude-sonnet-4-5", 20000, 4000, 18000, 2500, false},
};

struct ProviderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Stands in for the model provider: the usage it would report.
tkb_tokens CallModel(const Task& t) {
  if (t.fails) throw ProviderError("the provider timed out");
  tkb_tokens used{};
  used.input = t.real_input;
  used.output = t.real_output;
  return used;
}

// A temporary directory removed on scope exit unless kept.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tokenbook-example-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!keep_) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  fs::path path_;
  bool keep_ = false;
};

class Orchestrator {
 public:
  explicit Orchestrator(tkb::Ledger& ledger) : ledger_(ledger) {}

  // One attempt of `t` on `model`; returns the admission decision.
  tkb::Decision Attempt(int n, const Task& t, const char* model) {
    tkb_entry e = TKB_ENTRY_INIT;
    e.model = model;
    e.session = kSession;
    e.agent = t.agent;
    e.project = "example";
    e.tokens.input = t.estimated_input;
    e.tokens.output = t.estimated_output;

    tkb::Admission admission = ledger_.Admit(e, /*reserve=*/true);
    std::cout << "call " << n << "  " << Pad(t.agent, 8) << "  " << Pad(model, 17) << "  "
              << Pad(tkb::DecisionName(admission.decision), 5) << "  estimate $"
              << tkb::FormatMicros(admission.estimated_cost_micros);
    if (!admission.allowed()) {
      std::cout << "  -> not made (" << admission.reason << ")\n";
      return admission.decision;
    }

    try {
      e.tokens = CallModel(t);
    } catch (const ProviderError& err) {
      // admission.reservation releases the budget when it leaves scope.
      std::cout << "  -> call failed (" << err.what() << "), reservation released\n";
      return admission.decision;
    }
    e.duration_ms = 1200;
    const tkb_log_result logged = admission.reservation.Commit(e);
    spent_ += logged.cost_micros;
    std::cout << "  -> logged $" << tkb::FormatMicros(logged.cost_micros);
    if (admission.decision == tkb::Decision::kWarn) std::cout << " (warning: " << admission.reason << ")";
    std::cout << "\n";
    return admission.decision;
  }

  // Runs every task; returns the number of denials.
  int Run() {
    int denials = 0;
    for (std::size_t i = 0; i < kTasks.size(); ++i) {
      const Task& t = kTasks[i];
      const int n = static_cast<int>(i) + 1;
      if (Attempt(n, t, t.model) != tkb::Decision::kDeny) continue;
      ++denials;
      if (Attempt(n, t, kFallbackModel) == tkb::Decision::kDeny) {
        ++denials;
        std::cout << "budget exhausted, stopping\n";
        break;
      }
    }
    return denials;
  }

  std::int64_t spent() const { return spent_; }

 private:
  static std::string Pad(std::string_view s, std::size_t width) {
    std::string out(s);
    if (out.size() < width) out.append(width - out.size(), ' ');
    return out;
  }

  tkb::Ledger& ledger_;
  std::int64_t spent_ = 0;
};

int Main(bool keep) {
  tkb::CheckAbi();
  TempDir dir;
  if (keep) dir.keep();
  {
    std::ofstream config(dir.path() / "config.toml");
    config << "# Written by examples/cpp/orchestrator.cpp\n"
              "[budgets]\n"
              "warning_percent = 60\n"
              "session = { limit = \"0.50\", action = \"block\" }\n";
    if (!config) throw std::runtime_error("cannot write config.toml");
  }

  tkb::Ledger ledger = tkb::Ledger::Open(dir.path().string());
  std::cout << "tokenbook " << tkb::Version() << ", ledger " << dir.path().string() << ", session budget $"
            << tkb::FormatMicros(kBudgetMicros) << " (blocking)\n";

  Orchestrator orchestrator(ledger);
  const int denials = orchestrator.Run();
  std::cout << "spent $" << tkb::FormatMicros(orchestrator.spent()) << " of $" << tkb::FormatMicros(kBudgetMicros)
            << " in session " << kSession << ", " << denials << " denial(s)\n";

  // The ledger's own report agrees with what the commits returned.
  tkb_report_query query = TKB_REPORT_QUERY_INIT;
  query.period = "all";
  const std::string expected = "\"cost_micros\":" + std::to_string(orchestrator.spent()) + ",";
  const bool agrees = ledger.Report(query).find(expected) != std::string::npos;
  std::cout << "ledger report " << (agrees ? "agrees" : "DISAGREES") << ": " << expected << "\n";
  if (keep) std::cout << "ledger kept in " << dir.path().string() << "\n";

  if (!agrees || denials == 0 || orchestrator.spent() > kBudgetMicros) {
    std::cerr << "orchestrator: expected a denial and spend within the budget\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc > 1 && std::string_view(argv[1]) == "--keep");
  } catch (const tkb::Error& e) {
    std::cerr << "orchestrator: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "orchestrator: " << e.what() << "\n";
  }
  return 1;
}
