// The daemon's Prometheus metrics (SPEC §7, docs/daemon.md "Metrics"), kept
// with prometheus-cpp and served as text on /metrics. Names carry the
// otaroll_ prefix, counters end in _total, durations are _seconds; labels
// are bounded (outcomes, call actions and error codes, and one
// otaroll_stage_info series per stage of the manifests, removed when the
// stage goes away).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "apply/applier.h"
#include "apply/platform.h"
#include "plan/plan.h"

namespace prometheus {
class Registry;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace otaroll::daemon {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One cycle ended with `outcome` after `seconds`; `report` is what apply did.
  void CycleDone(const std::string& outcome, double seconds, const apply::Report& report, bool success,
                 double now_seconds);
  // One platform call (`action`: the API name) ended with `code` ("" = ok).
  void ApiCall(const std::string& action, const std::string& code, bool throttled);
  // The stages as planned now: one otaroll_stage_info per stage, and the
  // count per state; series of stages no longer planned are removed.
  void Stages(const plan::Plan& plan);
  // One notification POST to webhook `webhook` (its id) ended with `result`.
  void Notification(const std::string& webhook, const std::string& result);
  void TreeValid(bool valid);
  void LeaseHeld(bool held);
  // 1 while this daemon stands by for a lease another process holds.
  void Standby(bool standing_by);
  void Commit(const std::string& commit);

  // The exposition, Prometheus text format 0.0.4.
  std::string Text() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*> stage_info_;  // (rollout, stage) → series
  std::map<std::pair<std::string, std::string>, std::string> stage_state_;
  prometheus::Gauge* commit_ = nullptr;
  prometheus::Histogram* cycle_seconds_ = nullptr;
};

// A Platform that counts every call into Metrics (otaroll_api_calls_total).
class CountingPlatform final : public apply::Platform {
 public:
  CountingPlatform(apply::Platform& inner, Metrics& metrics) : inner_(inner), metrics_(metrics) {}
  platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet& part,
                                                       const std::string& intent_id) override;
  platform::CallResult<std::vector<platform::JobInfo>> ListJobsByFirmware(const std::string& firmware_id) override;
  platform::CallResult<platform::JobInfo> QueryJob(const std::string& job_id) override;
  platform::CallResult<std::vector<platform::TaskInfo>> ListTasks(const std::string& job_id) override;
  platform::CallResult<int64_t> CountTasks(const std::string& job_id, const std::string& status) override;
  platform::CallResult<platform::Empty> CancelTasks(const std::string& job_id,
                                                    const platform::CancelWhich& which) override;

 private:
  template <typename T>
  platform::CallResult<T> Count(const char* action, platform::CallResult<T> r);
  apply::Platform& inner_;
  Metrics& metrics_;
};

}  // namespace otaroll::daemon
