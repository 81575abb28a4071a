#include "state/snapshot.h"

#include <algorithm>
#include <tuple>

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

namespace {

bool StageBefore(const Attempt* a, const Attempt* b) {
  if (int c = a->rollout.compare(b->rollout); c != 0) return c < 0;
  if (int c = a->stage.compare(b->stage); c != 0) return c < 0;
  return a->id < b->id;
}

bool SameStage(const Attempt* a, const Attempt* b) {
  return a->rollout == b->rollout && a->stage == b->stage;
}

}  // namespace

AttemptsByStage::AttemptsByStage(const Snapshot& snapshot) {
  sorted_.reserve(snapshot.attempts.size());
  for (const Attempt& a : snapshot.attempts) sorted_.push_back(&a);
  std::sort(sorted_.begin(), sorted_.end(), StageBefore);
}

StageAttempts AttemptsByStage::Of(const std::string& rollout, const std::string& stage) const {
  auto key = [](const Attempt* a) { return std::tie(a->rollout, a->stage); };
  const auto wanted = std::tie(rollout, stage);
  auto first = std::lower_bound(sorted_.begin(), sorted_.end(), wanted,
                                [&](const Attempt* a, const auto& w) { return key(a) < w; });
  auto last =
      std::upper_bound(first, sorted_.end(), wanted, [&](const auto& w, const Attempt* a) { return w < key(a); });
  return StageAttempts(sorted_.data() + (first - sorted_.begin()), static_cast<size_t>(last - first));
}

std::vector<StageAttempts> AttemptsByStage::Stages() const {
  std::vector<StageAttempts> out;
  for (size_t i = 0; i < sorted_.size();) {
    size_t j = i + 1;
    while (j < sorted_.size() && SameStage(sorted_[i], sorted_[j])) ++j;
    out.emplace_back(sorted_.data() + i, j - i);
    i = j;
  }
  return out;
}

std::map<int, const Attempt*> CurrentParts(StageAttempts stage_attempts, const std::string& spec_hash,
                                           bool (*keep)(const Attempt&)) {
  std::map<int, const Attempt*> out;
  for (const Attempt* a : stage_attempts) {
    if (a->spec_hash == spec_hash && (keep == nullptr || keep(*a))) out[a->part] = a;  // later ids win
  }
  return out;
}

std::vector<std::string> DuplicateJobs(StageAttempts stage_attempts, const std::string& spec_hash) {
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
