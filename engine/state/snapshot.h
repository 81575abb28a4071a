// What the planner knows about the past: every job attempt, the latest
// observation of each job's device tasks, and the state file's serial.
// A Snapshot is a plain value; stores produce it, the planner reads it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/time.h"

namespace otaroll::state {

enum class AttemptStatus { kPending, kCreated, kFailed, kUnknown, kSuperseded, kCancelled };
const char* StatusName(AttemptStatus s);  // "pending", "created", ...
std::optional<AttemptStatus> ParseStatus(const std::string& s);

// error_code of a `failed` attempt that created nothing and may be tried
// again: the lookup after an unknown outcome showed no job, or every request
// was throttled or never left. Not a permanent failure: the planner does not
// block on it, and the next apply creates the stage again when its gate is
// open.
inline constexpr const char* kNotCreated = "otaroll.NotCreated";

// One attempt to create one job (one part of one stage).
struct Attempt {
  int64_t id = 0;
  std::string intent_id;  // unique; stamped on the job as a tag where supported
  std::string rollout;
  std::string stage;
  int part = 0;   // 0-based part of a split SPECIFIC stage
  int parts = 1;  // how many parts the stage had for this spec
  std::string spec_hash;
  std::string request = "{}";  // this part's flattened wire parameters, as stored (state/request.h)
  AttemptStatus status = AttemptStatus::kPending;
  std::string job_id;  // set once created
  std::optional<core::Time> job_created_at;
  std::string request_id;
  std::string error_code;
  std::string error_message;
  int attempt_count = 0;  // calls made for this intent
  core::Time created_at{};
  core::Time updated_at{};
  std::string job_status;                // last platform JobStatus seen ("IN_PROGRESS", ...)
  std::optional<int64_t> superseded_by;  // id of the attempt that replaced this one
};

// The 7 task statuses an observation counts (API.md §4), in the order of the
// state file's columns.
const std::vector<std::string>& TaskStatuses();

// Counts of a job's device tasks by status (API.md §4), taken at observed_at.
struct Observation {
  std::string job_id;
  core::Time observed_at{};
  int64_t total = 0;
  std::map<std::string, int64_t> by_status;  // "SUCCEEDED" -> 40, "FAILED" -> 2, ...
  int64_t Count(const std::string& status) const;
};

struct Snapshot {
  bool exists = false;                              // false: no state file, nothing created yet
  std::string source;                               // path of the state file, or "baseline DIR"
  int64_t serial = 0;                               // changes on every write to the state file
  std::vector<Attempt> attempts;                    // ordered by id
  std::map<std::string, Observation> observations;  // latest per job id
};

// An attempt whose outcome is not known yet (pending or unknown): resolved by
// lookup before anything else touches its stage.
bool Unresolved(const Attempt& a);
// Not replaced or cancelled: it still speaks for its stage part.
bool Active(const Attempt& a);
// Live: holds, or may hold, a job for its part (pending, unknown or created);
// one per part and spec (the intent fence).
bool Live(const Attempt& a);

// One stage's attempts, ordered by id.
using StageAttempts = std::span<const Attempt* const>;

// Every stage's attempts, ordered by id, by (rollout, stage): built once per
// snapshot, so that reading a stage's attempts is a lookup, not a scan. One
// sorted array of pointers into the snapshot, which must outlive it (a
// map of stages held megabytes more on a large state).
class AttemptsByStage {
 public:
  explicit AttemptsByStage(const Snapshot& snapshot);
  // The stage's attempts; empty when it has none.
  StageAttempts Of(const std::string& rollout, const std::string& stage) const;
  // Every stage that has attempts, in (rollout, stage) order: its first
  // attempt names it.
  std::vector<StageAttempts> Stages() const;

 private:
  std::vector<const Attempt*> sorted_;  // by (rollout, stage, id)
};

// The newest attempt of each part of spec `spec_hash` among `stage_attempts`
// (one stage's, ordered by id) that `keep` accepts (every one when unset).
// plan, apply and `otaroll status` all read a stage's parts through this.
std::map<int, const Attempt*> CurrentParts(StageAttempts stage_attempts, const std::string& spec_hash,
                                           bool (*keep)(const Attempt&) = nullptr);

// Duplicates on the platform: the job ids of the created attempts of spec
// `spec_hash` in every part that holds more than one (two otaroll processes
// created the same stage), in the order of `stage_attempts`; empty normally.
// `status` and `plan` both say so.
std::vector<std::string> DuplicateJobs(StageAttempts stage_attempts, const std::string& spec_hash);

}  // namespace otaroll::state
