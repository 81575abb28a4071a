// The simulated fleet: which devices a job targets and where each device's
// task stands at a given instant. Pure functions of (job, now): nothing runs
// in the background, a task's state is computed when someone asks.
//
// Per product key the fleet is `fleet_size` devices named
// "<productKey>-0001" … (at least four digits). Targets: ALL = the fleet;
// GRAY = exactly round(size × percent / 100) devices (at least one), chosen by
// a hash of (seed, job, device); GROUP = the devices whose hash of (seed,
// product, group, device) falls in 20 % (a group is the same set for every
// job); SPECIFIC = the listed names, whatever they are.
//
// A task goes QUEUED (CONFIRM when NeedConfirm=true) → NOTIFIED → IN_PROGRESS →
// SUCCEEDED or FAILED at offsets derived from a hash of (seed, job, device):
// it ends between task_ms / 2 and task_ms after the job's creation, and
// failure_percent of the tasks end FAILED. A target that was upgrading in an
// earlier job when this one was created (Job::busy) is FAILED from the start.
// A cancellation at T turns every task that is, at T, in a cancelled
// category into CANCELED from T on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/time.h"
#include "sandbox/job.h"

namespace otaroll::sandbox {

enum class TaskStatus { kConfirm, kQueued, kNotified, kInProgress, kSucceeded, kFailed, kCanceled };
const char* TaskStatusName(TaskStatus s);  // "CONFIRM", …, "CANCELED"
std::optional<TaskStatus> ParseTaskStatus(std::string_view text);

inline constexpr const char* kBusyTaskDesc = "device is upgrading in another job";
inline constexpr const char* kCanceledTaskDesc = "canceled by CancelOTATaskByJob";

struct Task {
  std::string device;
  std::string task_id;  // 19 decimal digits, stable per (job, device)
  TaskStatus status = TaskStatus::kQueued;
  int progress = 0;  // 0..100
  std::string desc;
  core::Time modified{};            // the last change at or before now
  std::optional<core::Time> ended;  // when it became SUCCEEDED, FAILED or CANCELED
  std::string src_version;
  std::string dest_version;
};

struct JobState {
  std::string status;  // IN_PROGRESS, COMPLETED, CANCELED
  core::Time modified{};
  std::optional<core::Time> ended;
};

// "<productKey>-0001"; the width grows with the fleet (at least 4 digits).
std::string DeviceName(std::string_view product_key, int64_t index, int64_t fleet_size);

// The job's target devices, in a stable order: fleet order for ALL, GRAY and
// GROUP, request order for SPECIFIC.
std::vector<std::string> Targets(const Job& job);

// One device's task at `now` (the device need not be a target).
Task TaskAt(const Job& job, const std::string& device, core::Time now);

// Every target's task at `now`, in Targets() order.
std::vector<Task> TasksAt(const Job& job, core::Time now);

// The job's status at `now`: CANCELED once a cancellation was made while a
// task was still unfinished; otherwise COMPLETED when every task has ended,
// else IN_PROGRESS.
JobState JobStateAt(const Job& job, core::Time now);

// Which devices are upgrading, per product, so a new job can tell which of
// its targets are busy. In memory; rebuilt from recent jobs at startup.
class BusyTracker {
 public:
  // The targets of `job` (sorted) that have an unfinished task of another job at job.created.
  std::vector<std::string> BusyTargets(const Job& job, const std::vector<std::string>& targets) const;
  // A new job occupies each of its non-busy targets until that task ends.
  void Occupy(const Job& job, const std::vector<std::string>& targets);
  // After a cancellation: devices still held by this job are held until their (earlier) end.
  void Refresh(const Job& job);
  // Forgets devices that are free at `now`.
  void Purge(core::Time now);
  size_t size() const;

 private:
  struct Holder {
    core::Time until{};
    std::string job_id;
  };
  std::map<std::string, std::unordered_map<std::string, Holder>> by_product_;
};

}  // namespace otaroll::sandbox
