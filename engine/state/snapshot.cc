#include "state/snapshot.h"

namespace otaroll::state {

namespace {
constexpr const char* kNames[] = {"pending", "created", "failed", "unknown", "superseded", "cancelled"};
}

const char* StatusName(AttemptStatus s) {
  return kNames[static_cast<int>(s)];
}

std::optional<AttemptStatus> ParseStatus(const std::string& s) {
  for (int i = 0; i < 6; ++i) {
    if (s == kNames[i]) return static_cast<AttemptStatus>(i);
  }
  return std::nullopt;
}

const std::vector<std::string>& TaskStatuses() {
  static const std::vector<std::string> kStatuses = {"CONFIRM",   "QUEUED", "NOTIFIED", "IN_PROGRESS",
                                                     "SUCCEEDED", "FAILED", "CANCELED"};
  return kStatuses;
}

int64_t Observation::Count(const std::string& status) const {
  auto it = by_status.find(status);
  return it == by_status.end() ? 0 : it->second;
}

bool Unresolved(const Attempt& a) {
  return a.status == AttemptStatus::kPending || a.status == AttemptStatus::kUnknown;
}

bool Active(const Attempt& a) {
  return a.status != AttemptStatus::kSuperseded && a.status != AttemptStatus::kCancelled;
}

bool Live(const Attempt& a) {
  return Unresolved(a) || a.status == AttemptStatus::kCreated;
}

AttemptsByStage IndexByStage(const Snapshot& snapshot) {
  AttemptsByStage out;
  for (const Attempt& a : snapshot.attempts) out[{a.rollout, a.stage}].push_back(&a);
  return out;
}

std::map<int, const Attempt*> CurrentParts(const std::vector<const Attempt*>& stage_attempts,
                                           const std::string& spec_hash, bool (*keep)(const Attempt&)) {
  std::map<int, const Attempt*> out;
  for (const Attempt* a : stage_attempts) {
    if (a->spec_hash == spec_hash && (keep == nullptr || keep(*a))) out[a->part] = a;  // later ids win
  }
  return out;
}

std::vector<std::string> DuplicateJobs(const std::vector<const Attempt*>& stage_attempts,
                                       const std::string& spec_hash) {
  std::map<int, std::vector<std::string>> created;
  for (const Attempt* a : stage_attempts) {
    if (a->spec_hash == spec_hash && a->status == AttemptStatus::kCreated) created[a->part].push_back(a->job_id);
  }
  std::vector<std::string> out;
  for (const auto& [part, ids] : created) {
    if (ids.size() > 1) out.insert(out.end(), ids.begin(), ids.end());
  }
  return out;
}

}  // namespace otaroll::state
