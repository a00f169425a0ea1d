// A C++17 program using the installed RAII header over the C ABI
// (tokenbook/tokenbook.hpp): pricing, a ledger, admission with a reservation
// and the error path. Prints one line and exits 0 when everything checks.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <tokenbook/tokenbook.hpp>

namespace tkb = tokenbook::capi;

#define EXPECT(cond)                                                               \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::cerr << __FILE__ << ":" << __LINE__ << ": expected " << #cond << "\n"; \
      return 1;                                                                    \
    }                                                                              \
  } while (0)

int main() {
  try {
    tkb::CheckAbi();
    const tkb::Rates rates = tkb::Rates::Builtin();
    EXPECT(rates.size() > 0);
    EXPECT(rates.Resolve("anthropic/claude-sonnet-4.5") == "claude-sonnet-4-5");
    tkb_price_request req = TKB_PRICE_REQUEST_INIT;
    req.model = "claude-sonnet-4-5";
    req.tokens.input = 12000;
    req.tokens.output = 4500;
    EXPECT(rates.Price(req) == 103500);
    EXPECT(tkb::FormatMicros(rates.Price(req)) == "0.103500");

    // Errors carry the status and the library's message.
    req.model = "no-such-model";
    try {
      (void)rates.Price(req);
      EXPECT(false);
    } catch (const tkb::Error& e) {
      EXPECT(e.status() == TKB_NOT_FOUND);
      EXPECT(!e.message().empty());
    }

    std::string tmpl = (std::filesystem::temp_directory_path() / "tokenbook-consumer-XXXXXX").string();
    EXPECT(mkdtemp(tmpl.data()) != nullptr);
    const std::filesystem::path dir = tmpl;
    {
      tkb::Ledger ledger = tkb::Ledger::Open(dir.string());
      req.model = "claude-sonnet-4-5";
      EXPECT(ledger.Price(req) == 103500);
      tkb_entry e = TKB_ENTRY_INIT;
      e.model = "claude-sonnet-4-5";
      e.tokens.input = 12000;
      e.tokens.output = 4500;
      {
        tkb::Admission a = ledger.Admit(e, /*reserve=*/true);
        EXPECT(a.allowed());
        EXPECT(static_cast<bool>(a.reservation));
        EXPECT(a.reservation.Commit(e).cost_micros == 103500);
        EXPECT(!a.reservation);
      }
      {
        // Released on scope exit, never logged.
        tkb::Admission a = ledger.Admit(e, /*reserve=*/true);
        EXPECT(static_cast<bool>(a.reservation));
      }
      tkb_report_query q = TKB_REPORT_QUERY_INIT;
      q.period = "all";
      EXPECT(ledger.Report(q).find("\"cost_micros\":103500") != std::string::npos);
    }
    std::filesystem::remove_all(dir);
    std::cout << "C++ RAII consumer: tokenbook " << tkb::Version() << ": ok\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "C++ RAII consumer: " << e.what() << "\n";
    return 1;
  }
}
