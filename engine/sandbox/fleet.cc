#include "sandbox/fleet.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sandbox/hash.h"

namespace otaroll::sandbox {
namespace {

constexpr uint64_t kGroupSharePercent = 20;

constexpr const char* kFailureReasons[] = {
    "device reported an upgrade failure: firmware verification failed",
    "device reported a download failure",
    "device did not report progress before the upgrade timed out",
};

// Where a task stands without busy devices or cancellations; offsets in ms
// after the job's creation.
struct Timeline {
  uint64_t hash = 0;
  int64_t notified = 0;
  int64_t in_progress = 0;
  int64_t end = 0;
  bool failed = false;
  int fail_progress = 0;
};

Timeline NaturalTimeline(const Job& job, const std::string& device) {
  Timeline t;
  t.hash = Hash64(job.fleet.seed, {"task", job.job_id, device});
  double u_notify = Unit(Mix64(t.hash ^ 1));
  double u_start = Unit(Mix64(t.hash ^ 2));
  double u_end = Unit(Mix64(t.hash ^ 3));
  double u_fail = Unit(Mix64(t.hash ^ 4));
  auto total = static_cast<double>(job.fleet.task_ms);
  t.end = std::clamp<int64_t>(std::llround(total * (0.5 + 0.5 * u_end)), 1, job.fleet.task_ms);
  auto end = static_cast<double>(t.end);
  t.notified = std::clamp<int64_t>(std::llround(end * (0.05 + 0.25 * u_notify)), 1, t.end);
  t.in_progress = std::clamp<int64_t>(
      t.notified + std::llround((end - static_cast<double>(t.notified)) * (0.1 + 0.3 * u_start)), t.notified, t.end);
  t.failed = u_fail * 100.0 < job.fleet.failure_percent;
  t.fail_progress = static_cast<int>(Unit(Mix64(t.hash ^ 6)) * 90);
  return t;
}

struct State {
  TaskStatus status = TaskStatus::kQueued;
  int progress = 0;
  std::string desc;
  int64_t modified = 0;  // offset of the last change
};

State NaturalAt(const Job& job, const Timeline& t, int64_t elapsed) {
  State s;
  if (elapsed >= t.end) {
    s.modified = t.end;
    if (t.failed) {
      s.status = TaskStatus::kFailed;
      s.progress = t.fail_progress;
      s.desc = kFailureReasons[Mix64(t.hash ^ 5) % std::size(kFailureReasons)];
    } else {
      s.status = TaskStatus::kSucceeded;
      s.progress = 100;
      s.desc = "upgrade succeeded";
    }
  } else if (elapsed >= t.in_progress) {
    s.status = TaskStatus::kInProgress;
    int64_t span = std::max<int64_t>(1, t.end - t.in_progress);
    int top = t.failed ? t.fail_progress : 99;
    s.progress = static_cast<int>(std::min<int64_t>(top, (elapsed - t.in_progress) * top / span));
    s.desc = "upgrading";
    s.modified = t.in_progress;
  } else if (elapsed >= t.notified) {
    s.status = TaskStatus::kNotified;
    s.desc = "device notified";
    s.modified = t.notified;
  } else {
    s.status = job.need_confirm ? TaskStatus::kConfirm : TaskStatus::kQueued;
    s.desc = job.need_confirm ? "waiting for the user's confirmation" : "queued";
    s.modified = 0;
  }
  return s;
}

bool Cancels(const Cancel& c, TaskStatus s) {
  switch (s) {
    case TaskStatus::kConfirm: return c.unconfirmed;
    case TaskStatus::kQueued: return c.queued;
    case TaskStatus::kNotified: return c.notified;
    case TaskStatus::kInProgress: return c.in_progress;
    default: return false;
  }
}

int64_t Offset(const Job& job, core::Time t) {
  return std::max<int64_t>(0, (t - job.created).count());
}

bool IsBusy(const Job& job, const std::string& device) {
  return std::binary_search(job.busy.begin(), job.busy.end(), device);
}

// The earliest cancellation made at or before `now`.
const Cancel* FirstCancel(const Job& job, core::Time now) {
  const Cancel* first = nullptr;
  for (const auto& c : job.cancels) {
    if (c.at <= now && (first == nullptr || c.at < first->at)) first = &c;
  }
  return first;
}

}  // namespace

const char* TaskStatusName(TaskStatus s) {
  switch (s) {
    case TaskStatus::kConfirm: return "CONFIRM";
    case TaskStatus::kQueued: return "QUEUED";
    case TaskStatus::kNotified: return "NOTIFIED";
    case TaskStatus::kInProgress: return "IN_PROGRESS";
    case TaskStatus::kSucceeded: return "SUCCEEDED";
    case TaskStatus::kFailed: return "FAILED";
    case TaskStatus::kCanceled: return "CANCELED";
  }
  return "";
}

std::optional<TaskStatus> ParseTaskStatus(std::string_view text) {
  for (auto s : {TaskStatus::kConfirm, TaskStatus::kQueued, TaskStatus::kNotified, TaskStatus::kInProgress,
                 TaskStatus::kSucceeded, TaskStatus::kFailed, TaskStatus::kCanceled}) {
    if (text == TaskStatusName(s)) return s;
  }
  return std::nullopt;
}

std::string DeviceName(std::string_view product_key, int64_t index, int64_t fleet_size) {
  int width = std::max<int>(4, static_cast<int>(fmt::format("{}", fleet_size).size()));
  return fmt::format("{}-{:0{}}", product_key, index, width);
}

std::vector<std::string> Targets(const Job& job) {
  std::vector<std::string> out;
  const int64_t n = job.fleet.fleet_size;
  if (job.target_selection == "SPECIFIC") return job.devices;
  if (job.target_selection == "ALL") {
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 1; i <= n; ++i) out.push_back(DeviceName(job.product_key, i, n));
  } else if (job.target_selection == "GROUP") {
    for (int64_t i = 1; i <= n; ++i) {
      std::string name = DeviceName(job.product_key, i, n);
      if (Hash64(job.fleet.seed, {"group", job.product_key, job.group_id, name}) % 100 < kGroupSharePercent) {
        out.push_back(std::move(name));
      }
    }
  } else if (job.target_selection == "GRAY" && n > 0) {
    int64_t k = std::clamp<int64_t>((n * job.gray_percent + 50) / 100, 1, n);
    std::vector<std::pair<uint64_t, int64_t>> ranked;
    ranked.reserve(static_cast<size_t>(n));
    for (int64_t i = 1; i <= n; ++i) {
      ranked.emplace_back(Hash64(job.fleet.seed, {"gray", job.job_id, DeviceName(job.product_key, i, n)}), i);
    }
    std::nth_element(ranked.begin(), ranked.begin() + (k - 1), ranked.end());
    std::vector<int64_t> chosen;
    chosen.reserve(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) chosen.push_back(ranked[static_cast<size_t>(i)].second);
    std::sort(chosen.begin(), chosen.end());
    for (int64_t i : chosen) out.push_back(DeviceName(job.product_key, i, n));
  }
  return out;
}

Task TaskAt(const Job& job, const std::string& device, core::Time now) {
  Task task;
  task.device = device;
  uint64_t id_hash = Hash64(0, {"task-id", job.job_id, device});
  task.task_id = fmt::format("{}", 1000000000000000000ULL + id_hash % 9000000000000000000ULL);
  task.dest_version = "firmware-" + job.firmware_id;
  if (job.src_versions.empty()) {
    task.src_version.assign("1.0.0");
  } else {
    task.src_version =
        job.src_versions[Mix64(Hash64(job.fleet.seed, {"src", job.job_id, device})) % job.src_versions.size()];
  }
  if (IsBusy(job, device)) {
    task.status = TaskStatus::kFailed;
    task.desc.assign(kBusyTaskDesc);
    task.modified = job.created;
    task.ended = job.created;
    return task;
  }
  Timeline t = NaturalTimeline(job, device);
  // The earliest cancellation that caught the task in a cancelled category.
  const Cancel* hit = nullptr;
  State at_hit;
  for (const auto& c : job.cancels) {
    if (c.at > now || (hit != nullptr && c.at >= hit->at)) continue;
    int64_t offset = Offset(job, c.at);
    if (offset >= t.end) continue;  // already ended
    State s = NaturalAt(job, t, offset);
    if (Cancels(c, s.status)) {
      hit = &c;
      at_hit = s;
    }
  }
  if (hit != nullptr) {
    task.status = TaskStatus::kCanceled;
    task.progress = at_hit.progress;
    task.desc.assign(kCanceledTaskDesc);
    task.modified = hit->at;
    task.ended = hit->at;
    return task;
  }
  State s = NaturalAt(job, t, Offset(job, now));
  task.status = s.status;
  task.progress = s.progress;
  task.desc = std::move(s.desc);
  task.modified = job.created + core::Duration(s.modified);
  if (s.status == TaskStatus::kSucceeded || s.status == TaskStatus::kFailed) task.ended = task.modified;
  return task;
}

std::vector<Task> TasksAt(const Job& job, core::Time now) {
  std::vector<Task> out;
  for (const auto& device : Targets(job)) out.push_back(TaskAt(job, device, now));
  return out;
}

JobState JobStateAt(const Job& job, core::Time now) {
  std::vector<std::string> targets = Targets(job);
  JobState state;
  state.modified = job.created;
  core::Time natural_end = job.created;
  bool all_ended = true;
  core::Time last_end = job.created;
  for (const auto& device : targets) {
    if (!IsBusy(job, device)) {
      natural_end = std::max(natural_end, job.created + core::Duration(NaturalTimeline(job, device).end));
    }
    Task task = TaskAt(job, device, now);
    state.modified = std::max(state.modified, task.modified);
    if (task.ended) {
      last_end = std::max(last_end, *task.ended);
    } else {
      all_ended = false;
    }
  }
  const Cancel* first = FirstCancel(job, now);
  if (first != nullptr && first->at < natural_end) {
    state.status.assign("CANCELED");
    state.ended = first->at;
    state.modified = std::max(state.modified, first->at);
  } else if (all_ended) {
    state.status.assign("COMPLETED");
    state.ended = last_end;
  } else {
    state.status.assign("IN_PROGRESS");
  }
  return state;
}

std::vector<std::string> BusyTracker::BusyTargets(const Job& job, const std::vector<std::string>& targets) const {
  std::vector<std::string> busy;
  if (!job.fleet.busy_devices) return busy;
  auto product = by_product_.find(job.product_key);
  if (product == by_product_.end()) return busy;
  for (const auto& device : targets) {
    auto it = product->second.find(device);
    if (it != product->second.end() && it->second.job_id != job.job_id && it->second.until > job.created) {
      busy.push_back(device);
    }
  }
  std::sort(busy.begin(), busy.end());
  busy.erase(std::unique(busy.begin(), busy.end()), busy.end());
  return busy;
}

void BusyTracker::Occupy(const Job& job, const std::vector<std::string>& targets) {
  if (!job.fleet.busy_devices) return;
  core::Time horizon = job.created + core::Duration(job.fleet.task_ms);
  auto& devices = by_product_[job.product_key];
  for (const auto& device : targets) {
    if (IsBusy(job, device)) continue;
    Task task = TaskAt(job, device, horizon);
    devices[device] = Holder{task.ended.value_or(horizon), job.job_id};
  }
}

void BusyTracker::Refresh(const Job& job) {
  if (!job.fleet.busy_devices) return;
  auto product = by_product_.find(job.product_key);
  if (product == by_product_.end()) return;
  core::Time horizon = job.created + core::Duration(job.fleet.task_ms);
  for (auto& [device, holder] : product->second) {
    if (holder.job_id != job.job_id) continue;
    holder.until = TaskAt(job, device, horizon).ended.value_or(horizon);
  }
}

void BusyTracker::Purge(core::Time now) {
  for (auto product = by_product_.begin(); product != by_product_.end();) {
    std::erase_if(product->second, [now](const auto& entry) { return entry.second.until <= now; });
    product = product->second.empty() ? by_product_.erase(product) : std::next(product);
  }
}

size_t BusyTracker::size() const {
  size_t n = 0;
  for (const auto& [product, devices] : by_product_) n += devices.size();
  return n;
}

}  // namespace otaroll::sandbox
