// tokenbook.hpp — C++17 RAII wrappers over the stable C ABI (tokenbook.h).
//
// For C++ programs that want the stable ABI of libtokenbook.so.1 rather than
// the header-only core (tokenbook::core, which ties them to Abseil). Only the
// C header is included: no Abseil, RapidJSON or toml++ type appears here, and
// everything is inline, so this header adds nothing to the ABI.
//
//   auto ledger = tokenbook::capi::Ledger::Open(".tokenbook");
//   tkb_entry e = TKB_ENTRY_INIT;
//   e.model = "claude-sonnet-4-5";
//   e.tokens.input = 12000;
//   e.tokens.output = 4500;
//   auto admission = ledger.Admit(e, /*reserve=*/true);
//   if (admission.allowed()) {
//     ... make the call, fill e with the real usage ...
//     admission.reservation.Commit(e);  // else released when it goes out of scope
//   }
//
// Errors: every failing C call throws tokenbook::capi::Error, which carries the
// tkb_status and the message of tkb_last_error(). Handles are std::unique_ptr
// with deleters calling the matching _free function; strings the library
// allocates are owned by a unique_ptr calling tkb_free until copied out.
//
// Thread safety is the C API's: a Ledger may be used by several threads, a
// Rates is immutable, and an Error captures the message of its own thread.
#ifndef TOKENBOOK_TOKENBOOK_HPP_
#define TOKENBOOK_TOKENBOOK_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenbook/tokenbook.h"

namespace tokenbook {
namespace capi {

// ---------------------------------------------------------------------------
// Ownership

struct RatesDeleter {
  void operator()(tkb_rates* rates) const noexcept { tkb_rates_free(rates); }
};
struct LedgerDeleter {
  void operator()(tkb_ledger* ledger) const noexcept { tkb_ledger_free(ledger); }
};
struct FreeDeleter {
  void operator()(void* p) const noexcept { tkb_free(p); }
};

using RatesPtr = std::unique_ptr<tkb_rates, RatesDeleter>;
using LedgerPtr = std::unique_ptr<tkb_ledger, LedgerDeleter>;
// A string allocated by the library; never free() it.
using StringPtr = std::unique_ptr<char, FreeDeleter>;

// ---------------------------------------------------------------------------
// Errors

class Error : public std::runtime_error {
 public:
  Error(tkb_status status, const std::string& message)
      : std::runtime_error(std::string(tkb_status_name(status)) + ": " + message),
        status_(status),
        message_(message) {}

  tkb_status status() const noexcept { return status_; }
  // "NOT_FOUND", "INVALID_ARGUMENT", ...
  const char* status_name() const noexcept { return tkb_status_name(status_); }
  // tkb_last_error() of the failed call, without the status name.
  const std::string& message() const noexcept { return message_; }

 private:
  tkb_status status_;
  std::string message_;
};

// Throws Error for anything but TKB_OK. Reads tkb_last_error() at once, before
// any other tokenbook call in this thread can replace it.
inline void Check(tkb_status status) {
  if (status != TKB_OK) throw Error(status, tkb_last_error());
}

// Takes ownership of a library string and copies it out; nullptr gives "".
inline std::string TakeString(char* s) {
  StringPtr owned(s);
  return owned ? std::string(owned.get()) : std::string();
}

// Throws FAILED_PRECONDITION when the library loaded at run time is not the
// ABI this header was compiled against (a different SONAME should make that
// impossible; this catches a header from one install and a library from another).
inline void CheckAbi() {
  if (tkb_abi_version() != TKB_ABI_VERSION) {
    throw Error(TKB_FAILED_PRECONDITION,
                "the tokenbook library has ABI " + std::to_string(tkb_abi_version()) +
                    " but this program was compiled for ABI " + std::to_string(TKB_ABI_VERSION));
  }
}

inline std::string Version() { return tkb_version_string(); }

// ---------------------------------------------------------------------------
// Rate tables

class Rates {
 public:
  // The table embedded in the library.
  static Rates Builtin() {
    tkb_rates* out = nullptr;
    Check(tkb_rates_builtin(&out));
    return Rates(out);
  }
  // A TOML rate table, or LiteLLM's JSON when the path ends in ".json".
  static Rates Load(const std::string& path) {
    tkb_rates* out = nullptr;
    Check(tkb_rates_load(&out, path.c_str()));
    return Rates(out);
  }
  // `format` is "toml" or "litellm".
  static Rates Parse(std::string_view text, const std::string& format = "toml",
                     const std::string& source_name = "<memory>") {
    tkb_rates* out = nullptr;
    Check(tkb_rates_parse(&out, text.data(), text.size(), format.c_str(), source_name.c_str()));
    return Rates(out);
  }

  // A new table: this one with `top` layered over it.
  Rates Layer(const Rates& top) const {
    tkb_rates* out = nullptr;
    Check(tkb_rates_layer(&out, get(), top.get()));
    return Rates(out);
  }

  std::size_t size() const {
    std::size_t n = 0;
    Check(tkb_rates_count(get(), &n));
    return n;
  }

  // The id any spelling of a model name resolves to.
  std::string Resolve(const std::string& model) const {
    std::size_t needed = 0;
    Check(tkb_rates_resolve(get(), model.c_str(), nullptr, 0, &needed));
    std::string id(needed, '\0');
    Check(tkb_rates_resolve(get(), model.c_str(), id.data(), id.size(), &needed));
    id.resize(needed > 0 ? needed - 1 : 0);
    return id;
  }

  // The exact cost of one request in µ$.
  std::int64_t Price(const tkb_price_request& request) const {
    std::int64_t cost = 0;
    Check(tkb_price(get(), &request, &cost));
    return cost;
  }

  // The cost with its breakdown, as JSON.
  std::string Explain(const tkb_price_request& request) const {
    char* json = nullptr;
    Check(tkb_price_explain(get(), &request, &json));
    return TakeString(json);
  }

  const tkb_rates* get() const noexcept { return ptr_.get(); }

 private:
  explicit Rates(tkb_rates* rates) : ptr_(rates) {}
  RatesPtr ptr_;
};

// ---------------------------------------------------------------------------
// Admission

enum class Decision : std::int32_t { kAllow = TKB_ALLOW, kWarn = TKB_WARN, kDeny = TKB_DENY };

inline const char* DecisionName(Decision d) noexcept {
  switch (d) {
    case Decision::kAllow: return "allow";
    case Decision::kWarn: return "warn";
    case Decision::kDeny: return "deny";
  }
  return "?";
}

// Budget held for one request. Commit() logs the real usage and ends it;
// otherwise it is released when destroyed, so an exception between admission
// and commit never leaves budget reserved. Does not own the ledger, which
// must outlive it.
class Reservation {
 public:
  Reservation() = default;
  Reservation(tkb_ledger* ledger, std::uint64_t id) noexcept : ledger_(ledger), id_(id) {}
  Reservation(Reservation&& other) noexcept
      : ledger_(std::exchange(other.ledger_, nullptr)), id_(std::exchange(other.id_, 0)) {}
  Reservation& operator=(Reservation&& other) noexcept {
    if (this != &other) {
      Drop();
      ledger_ = std::exchange(other.ledger_, nullptr);
      id_ = std::exchange(other.id_, 0);
    }
    return *this;
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation() { Drop(); }

  // True while budget is held.
  explicit operator bool() const noexcept { return id_ != 0; }
  std::uint64_t id() const noexcept { return id_; }

  // Logs `entry` (the real usage) and ends the reservation.
  tkb_log_result Commit(const tkb_entry& entry) {
    if (id_ == 0) throw Error(TKB_FAILED_PRECONDITION, "no reservation is held");
    tkb_log_result result = TKB_LOG_RESULT_INIT;
    Check(tkb_ledger_commit(ledger_, id_, &entry, &result));
    ledger_ = nullptr;
    id_ = 0;
    return result;
  }

  // Gives the budget back without logging.
  void Release() {
    if (id_ == 0) return;
    const tkb_status status = tkb_ledger_release(ledger_, id_);
    ledger_ = nullptr;
    id_ = 0;
    Check(status);
  }

 private:
  void Drop() noexcept {
    if (id_ != 0) (void)tkb_ledger_release(ledger_, id_);
    ledger_ = nullptr;
    id_ = 0;
  }

  tkb_ledger* ledger_ = nullptr;
  std::uint64_t id_ = 0;
};

struct Admission {
  Decision decision = Decision::kAllow;
  std::int64_t estimated_cost_micros = 0;
  std::string reason;       // the budget that decided; empty when allowed
  Reservation reservation;  // held when reserve was asked and not denied

  bool allowed() const noexcept { return decision != Decision::kDeny; }
};

// ---------------------------------------------------------------------------
// Ledgers

class Ledger {
 public:
  // Opens the ledger in `dir`; an empty `dir` finds it like the C API does
  // for NULL ($TOKENBOOK_DIR, then the nearest .tokenbook/ upward, then the
  // per-user default). `options` may be null for the defaults.
  static Ledger Open(const std::string& dir, const tkb_open_options* options = nullptr) {
    tkb_ledger* out = nullptr;
    Check(tkb_ledger_open(&out, dir.empty() ? nullptr : dir.c_str(), options));
    return Ledger(out);
  }

  // Prices and appends one entry.
  tkb_log_result Log(const tkb_entry& entry) {
    tkb_log_result result = TKB_LOG_RESULT_INIT;
    Check(tkb_ledger_log(get(), &entry, &result));
    return result;
  }

  // The exact cost of one request in µ$, with the ledger's own rate table.
  std::int64_t Price(const tkb_price_request& request) {
    std::int64_t cost = 0;
    Check(tkb_ledger_price(get(), &request, &cost));
    return cost;
  }

  // Appends every entry with one write; all or nothing.
  std::vector<tkb_log_result> LogBatch(const std::vector<tkb_entry>& entries) {
    const tkb_log_result init = TKB_LOG_RESULT_INIT;
    std::vector<tkb_log_result> results(entries.size(), init);
    Check(tkb_ledger_log_batch(get(), entries.data(), entries.size(), results.data()));
    return results;
  }

  // A report as JSON (docs/capi-json.md).
  std::string Report(const tkb_report_query& query) {
    char* json = nullptr;
    Check(tkb_ledger_report(get(), &query, &json));
    return TakeString(json);
  }
  std::string Report() {
    const tkb_report_query query = TKB_REPORT_QUERY_INIT;
    return Report(query);
  }

  // Every budget's status as JSON.
  std::string Budget() {
    char* json = nullptr;
    Check(tkb_ledger_budget(get(), &json));
    return TakeString(json);
  }

  // May this request go ahead? With `reserve`, a decision other than deny
  // holds its estimated cost until the reservation is committed or released.
  Admission Admit(const tkb_entry& estimate, bool reserve) {
    tkb_admission raw = TKB_ADMISSION_INIT;
    Check(tkb_ledger_admit(get(), &estimate, reserve ? 1 : 0, &raw));
    Admission out;
    out.decision = static_cast<Decision>(raw.decision);
    out.estimated_cost_micros = raw.estimated_cost_micros;
    out.reason = raw.reason;
    if (raw.reservation != 0) out.reservation = Reservation(get(), raw.reservation);
    return out;
  }

  // The C calls for a reservation id kept elsewhere.
  tkb_log_result Commit(std::uint64_t reservation, const tkb_entry& entry) {
    tkb_log_result result = TKB_LOG_RESULT_INIT;
    Check(tkb_ledger_commit(get(), reservation, &entry, &result));
    return result;
  }
  void Release(std::uint64_t reservation) { Check(tkb_ledger_release(get(), reservation)); }

  tkb_ledger* get() const noexcept { return ptr_.get(); }

 private:
  explicit Ledger(tkb_ledger* ledger) : ptr_(ledger) {}
  LedgerPtr ptr_;
};

// Formats µ$ as dollars with six decimals ("0.103500", "-1.000000"), exactly.
inline std::string FormatMicros(std::int64_t micros) {
  const bool negative = micros < 0;
  // Through unsigned so that INT64_MIN has a magnitude.
  const std::uint64_t magnitude =
      negative ? std::uint64_t{0} - static_cast<std::uint64_t>(micros) : static_cast<std::uint64_t>(micros);
  std::string frac = std::to_string(magnitude % 1000000);
  frac.insert(0, 6 - frac.size(), '0');
  return (negative ? "-" : "") + std::to_string(magnitude / 1000000) + "." + frac;
}

}  // namespace capi
}  // namespace tokenbook

#endif  // TOKENBOOK_TOKENBOOK_HPP_
