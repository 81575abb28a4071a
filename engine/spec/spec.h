// A stage's resolved specification: the exact CreateOTAStaticUpgradeJob
// parameters (API.md §3) after defaults and overrides, and its hash.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "manifest/model.h"

namespace otaroll::spec {

// The platform accepts at most this many TargetDeviceName.N per call; a
// SPECIFIC stage with more devices becomes several jobs ("parts").
inline constexpr size_t kMaxDevicesPerJob = 200;

// Wire parameters by name; scalars hold one value, lists (SrcVersion,
// TargetDeviceName) hold theirs in order. Lists are not yet flattened.
using ParamSet = std::map<std::string, std::vector<std::string>>;

inline constexpr const char* kListParams[] = {"SrcVersion", "TargetDeviceName"};
bool IsListParam(const std::string& name);

// The parameters a stage's specification is made of (SPEC §1). A request
// sent to the platform may carry more (alibaba's GroupType and Tag.N.*
// intent tag): those are how a spec travels, not part of it.
inline constexpr const char* kSpecParams[] = {
    "ProductKey",    "FirmwareId", "TargetSelection",  "GrayPercent", "GroupId",     "TargetDeviceName", "SrcVersion",
    "RetryInterval", "RetryCount", "TimeoutInMinutes", "NeedPush",    "NeedConfirm", "DownloadProtocol"};
bool IsSpecParam(const std::string& name);

// Flattens lists 1-based: SrcVersion.1, SrcVersion.2, ... (API.md §2).
std::map<std::string, std::string> Flatten(const ParamSet& params);
// The inverse of Flatten; given several parts of one stage, merges them into
// the stage-level set (their TargetDeviceName lists concatenated in order).
// Keeps only spec parameters (IsSpecParam): a stored request's transport
// additions never show as changes.
ParamSet Unflatten(const std::vector<std::map<std::string, std::string>>& parts);

struct StageSpec {
  // The whole stage, shared (a plan's stages point at it rather than copy
  // it); null only once let go (plan::Resolved::Keep::kHashes).
  std::shared_ptr<const ParamSet> params;
  // The jobs a SPECIFIC stage of more than 200 devices is split into (200
  // each); empty otherwise: its one job is `params` itself.
  std::vector<ParamSet> split;
  std::string hash;  // hex SHA-256 of Canonical(*params)
  size_t parts = 1;  // jobs the stage needs: split.size(), or 1

  size_t part_count() const { return parts; }
  const ParamSet& part(size_t i) const { return split.empty() ? *params : split[i]; }
};

// Canonical encoding: versioned, sorted keys, normalized values (SPEC §1).
std::string Canonical(const ParamSet& params);
std::string Hash(const ParamSet& params);

StageSpec Resolve(const manifest::Rollout& rollout, const manifest::Stage& stage);
// Resolve() of a stage whose hash is known already (it was resolved before
// and its parameters let go, plan::Resolved::Keep::kHashes): the same spec
// without hashing again.
StageSpec Resolve(const manifest::Rollout& rollout, const manifest::Stage& stage, std::string known_hash);

// Field-level differences for "GrayPercent: 10 → 20". Lists show the items
// added and removed ("TargetDeviceName: +dev-9 −dev-1", long lists abridged).
struct FieldChange {
  std::string field;
  std::string before;  // "" when absent
  std::string after;   // "" when removed
};
std::vector<FieldChange> Diff(const ParamSet& before, const ParamSet& after);

// "GRAY 10%", "GROUP CtjzCkNuOx", "SPECIFIC 2 devices", "ALL".
std::string DescribeTarget(const ParamSet& params);

}  // namespace otaroll::spec
