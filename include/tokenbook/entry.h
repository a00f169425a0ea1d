// A usage entry: one priced request (or a batch of them) with every
// dimension reports group by. Prompts and responses are never part of it.
#ifndef TOKENBOOK_ENTRY_H_
#define TOKENBOOK_ENTRY_H_

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokenbook/money.h"
#include "tokenbook/rates.h"

namespace tokenbook {
inline namespace v1 {

// How an entry's cost was obtained.
enum class CostSource {
  kComputed,  // priced from the rate table at log time
  kOverride,  // given by the caller (--cost)
  kReported,  // recorded by the tool the entry was ingested from
  kUnpriced,  // the model is unknown: no cost, reported loudly everywhere
};

inline absl::string_view CostSourceName(CostSource s) {
  switch (s) {
    case CostSource::kComputed: return "computed";
    case CostSource::kOverride: return "override";
    case CostSource::kReported: return "reported";
    case CostSource::kUnpriced: return "unpriced";
  }
  return "?";
}

inline std::optional<CostSource> ParseCostSource(absl::string_view s) {
  if (s == "computed") return CostSource::kComputed;
  if (s == "override") return CostSource::kOverride;
  if (s == "reported") return CostSource::kReported;
  if (s == "unpriced") return CostSource::kUnpriced;
  return std::nullopt;
}

// The dimensions an entry can be grouped and filtered by.
enum class Dimension {
  kModel,
  kProvider,
  kSession,
  kAgent,
  kCategory,
  kActionType,
  kAction,
  kFeature,
  kProject,
  kTool,
  kTaskType,
  kServiceTier,
};

inline constexpr std::array<std::pair<Dimension, absl::string_view>, 12> kDimensionNames = {{
    {Dimension::kModel, "model"},
    {Dimension::kProvider, "provider"},
    {Dimension::kSession, "session"},
    {Dimension::kAgent, "agent"},
    {Dimension::kCategory, "category"},
    {Dimension::kActionType, "action_type"},
    {Dimension::kAction, "action"},
    {Dimension::kFeature, "feature"},
    {Dimension::kProject, "project"},
    {Dimension::kTool, "tool"},
    {Dimension::kTaskType, "task_type"},
    {Dimension::kServiceTier, "service_tier"},
}};

inline absl::string_view DimensionName(Dimension d) {
  for (const auto& [dim, name] : kDimensionNames) {
    if (dim == d) return name;
  }
  return "?";
}

inline std::optional<Dimension> ParseDimension(absl::string_view name) {
  for (const auto& [dim, n] : kDimensionNames) {
    if (n == name) return dim;
  }
  return std::nullopt;
}

// action_type takes one of these values (or is empty).
inline bool IsValidActionType(absl::string_view s) {
  return s.empty() || s == "skill" || s == "agent" || s == "manual" || s == "scheduled";
}

struct Entry {
  std::string id;        // ULID (26 characters, Crockford base 32), unique
  absl::Time timestamp;  // UTC, stored to the millisecond
  std::string model;     // the resolved model id (or the name given, when unpriced)
  std::string provider;
  TokenCounts tokens;
  int64_t requests = 1;
  Micros cost;           // zero when unpriced
  CostSource cost_source = CostSource::kComputed;
  std::string rates_as_of;

  // Dimensions; empty means absent.
  std::string session;
  std::string agent;
  std::string category;
  std::string action_type;  // skill | agent | manual | scheduled
  std::string action;
  std::string feature;
  std::string project;
  std::string tool;
  std::string task_type;
  std::string service_tier;
  std::optional<int64_t> duration_ms;
  std::vector<std::pair<std::string, std::string>> tags;  // sorted by key, keys unique
  std::string notes;

  // For ingested entries: where it came from; `source_key` is unique in a ledger.
  std::string source_kind;  // "claude-code", "codex", ...
  std::string source_key;

  bool priced() const { return cost_source != CostSource::kUnpriced; }

  const std::string& Get(Dimension d) const {
    switch (d) {
      case Dimension::kModel: return model;
      case Dimension::kProvider: return provider;
      case Dimension::kSession: return session;
      case Dimension::kAgent: return agent;
      case Dimension::kCategory: return category;
      case Dimension::kActionType: return action_type;
      case Dimension::kAction: return action;
      case Dimension::kFeature: return feature;
      case Dimension::kProject: return project;
      case Dimension::kTool: return tool;
      case Dimension::kTaskType: return task_type;
      case Dimension::kServiceTier: return service_tier;
    }
    return model;
  }

  // The value of tag `key`, or null.
  const std::string* Tag(absl::string_view key) const {
    for (const auto& [k, v] : tags) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

// Resolves the model name to its id and fills `provider` when empty; then,
// unless the cost was given (override or reported), prices `entry` from
// `rates`, setting `cost`, `cost_source` and `rates_as_of`. An unknown model leaves
// the entry unpriced (cost 0, CostSource::kUnpriced) — or, with `strict`,
// is a NotFound error naming the closest known ids.
[[nodiscard]] inline absl::Status PriceEntry(const RateTable& rates, Entry* entry, bool strict = false) {
  const Resolution r = rates.Resolve(entry->model);
  if (entry->cost_source == CostSource::kOverride || entry->cost_source == CostSource::kReported) {
    // The cost stands as given, but the model is still named as every other
    // entry of it is, so that reports group and filter it with them.
    if (r.model != nullptr) {
      entry->model = r.model->id;
      if (entry->provider.empty()) entry->provider = r.model->provider;
    }
    return absl::OkStatus();
  }
  if (r.model == nullptr) {
    if (strict) {
      return absl::NotFoundError(absl::StrCat("unknown model \"", entry->model, "\"; closest known: ",
                                              absl::StrJoin(rates.Suggest(entry->model, 3), ", ")));
    }
    entry->cost = Micros(0);
    entry->cost_source = CostSource::kUnpriced;
    entry->rates_as_of.clear();
    return absl::OkStatus();
  }
  PriceRequest req;
  req.tokens = entry->tokens;
  req.requests = entry->requests;
  req.service_tier = entry->service_tier;
  req.at = entry->timestamp;
  absl::StatusOr<Micros> cost = CostOf(*r.model, req);
  if (!cost.ok()) return cost.status();
  entry->model = r.model->id;
  if (entry->provider.empty()) entry->provider = r.model->provider;
  entry->cost = *cost;
  entry->cost_source = CostSource::kComputed;
  entry->rates_as_of = r.model->as_of;
  return absl::OkStatus();
}

}  // namespace v1
}  // namespace tokenbook

#endif  // TOKENBOOK_ENTRY_H_
