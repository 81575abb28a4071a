#include "daemon/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "apply/helpers.h"

namespace otaroll::daemon {

struct Metrics::Families {
  prometheus::Family<prometheus::Counter>& cycles;
  prometheus::Family<prometheus::Histogram>& cycle_seconds;
  prometheus::Family<prometheus::Counter>& jobs;
  prometheus::Family<prometheus::Counter>& api_calls;
  prometheus::Family<prometheus::Counter>& throttles;
  prometheus::Family<prometheus::Gauge>& stages;
  prometheus::Family<prometheus::Gauge>& stage_info;
  prometheus::Family<prometheus::Gauge>& last_success;
  prometheus::Family<prometheus::Gauge>& lease_held;
  prometheus::Family<prometheus::Gauge>& standby;
  prometheus::Family<prometheus::Gauge>& tree_valid;
  prometheus::Family<prometheus::Gauge>& commit;
  prometheus::Family<prometheus::Counter>& notifications;
};

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  f_ = std::unique_ptr<Families>(new Families{
      prometheus::BuildCounter().Name("otaroll_cycles_total").Help("Reconcile cycles, by outcome.").Register(r),
      prometheus::BuildHistogram()
          .Name("otaroll_cycle_duration_seconds")
          .Help("How long a reconcile cycle took.")
          .Register(r),
      prometheus::BuildCounter()
          .Name("otaroll_jobs_total")
          .Help("Jobs by what happened to them: created, adopted, failed, not_created, unknown, superseded, "
                "cancelled.")
          .Register(r),
      prometheus::BuildCounter()
          .Name("otaroll_api_calls_total")
          .Help("Platform API calls, by action and error code (\"\" for success).")
          .Register(r),
      prometheus::BuildCounter()
          .Name("otaroll_api_throttles_total")
          .Help("Platform API calls that ended throttled after retries, by action.")
          .Register(r),
      prometheus::BuildGauge().Name("otaroll_stages").Help("Stages of the manifests, by plan state.").Register(r),
      prometheus::BuildGauge()
          .Name("otaroll_stage_info")
          .Help("One series per stage of the manifests with its plan state; value 1.")
          .Register(r),
      prometheus::BuildGauge()
          .Name("otaroll_last_successful_cycle_timestamp_seconds")
          .Help("When the last cycle that reached the platform without error ended (Unix time).")
          .Register(r),
      prometheus::BuildGauge().Name("otaroll_lease_held").Help("1 while this daemon holds the lease.").Register(r),
      prometheus::BuildGauge()
          .Name("otaroll_standby")
          .Help("1 while this daemon stands by for the lease another daemon holds.")
          .Register(r),
      prometheus::BuildGauge()
          .Name("otaroll_tree_valid")
          .Help("1 when the checkout's manifests are valid, 0 when the last valid tree is reconciled instead.")
          .Register(r),
      prometheus::BuildGauge().Name("otaroll_commit_info").Help("The commit checked out; value 1.").Register(r),
      prometheus::BuildCounter()
          .Name("otaroll_notifications_total")
          .Help("Notification POSTs by webhook (its id, never its URL) and result: delivered, retrying, rejected, "
                "state-error.")
          .Register(r),
  });
  for (const char* outcome : {"applied", "nothing-to-do", "invalid-tree", "no-valid-tree", "error", "stopped"}) {
    f_->cycles.Add({{"outcome", outcome}});
  }
  for (const char* what : {"created", "adopted", "failed", "not_created", "unknown", "superseded", "cancelled"}) {
    f_->jobs.Add({{"outcome", what}});
  }
  cycle_seconds_ = &f_->cycle_seconds.Add(
      {}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300});
  f_->last_success.Add({});
  f_->lease_held.Add({});
  f_->standby.Add({});
  f_->tree_valid.Add({});
}

Metrics::~Metrics() = default;

void Metrics::CycleDone(const std::string& outcome, double seconds, const apply::Report& report, bool success,
                        double now_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  f_->cycles.Add({{"outcome", outcome}}).Increment();
  cycle_seconds_->Observe(seconds);
  const std::pair<const char*, int> counts[] = {
      {"created", report.created},    {"adopted", report.adopted},
      {"failed", report.failed},      {"not_created", report.not_created + report.absent},
      {"unknown", report.unknown},    {"superseded", report.superseded},
      {"cancelled", report.cancelled}};
  for (const auto& [what, n] : counts) {
    if (n > 0) f_->jobs.Add({{"outcome", what}}).Increment(n);
  }
  if (success) f_->last_success.Add({}).Set(now_seconds);
}

void Metrics::ApiCall(const std::string& action, const std::string& code, bool throttled) {
  std::lock_guard<std::mutex> lock(mu_);
  f_->api_calls.Add({{"action", action}, {"code", code}}).Increment();
  if (throttled) f_->throttles.Add({{"action", action}}).Increment();
}

void Metrics::Stages(const plan::Plan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::pair<std::string, std::string>, std::string> now;
  std::map<std::string, int> by_state;
  for (size_t a = 0; a < plan::kActionCount; ++a) by_state[plan::ActionName(static_cast<plan::Action>(a))] = 0;
  for (const auto& r : plan.rollouts) {
    for (const auto& s : r.stages) {
      now[{r.name, s.name}] = plan::ActionName(s.action);
      ++by_state[plan::ActionName(s.action)];
    }
  }
  for (auto it = stage_info_.begin(); it != stage_info_.end();) {
    auto next = now.find(it->first);
    if (next == now.end() || next->second != stage_state_[it->first]) {
      f_->stage_info.Remove(it->second);
      stage_state_.erase(it->first);
      it = stage_info_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [key, state] : now) {
    if (stage_info_.count(key)) continue;
    stage_info_[key] = &f_->stage_info.Add({{"rollout", key.first}, {"stage", key.second}, {"state", state}});
    stage_info_[key]->Set(1);
    stage_state_[key] = state;
  }
  for (const auto& [state, n] : by_state) f_->stages.Add({{"state", state}}).Set(n);
}

void Metrics::Notification(const std::string& webhook, const std::string& result) {
  std::lock_guard<std::mutex> lock(mu_);
  f_->notifications.Add({{"webhook", webhook}, {"result", result}}).Increment();
}

void Metrics::TreeValid(bool valid) {
  std::lock_guard<std::mutex> lock(mu_);
  f_->tree_valid.Add({}).Set(valid ? 1 : 0);
}

void Metrics::LeaseHeld(bool held) {
  std::lock_guard<std::mutex> lock(mu_);
  f_->lease_held.Add({}).Set(held ? 1 : 0);
}

void Metrics::Standby(bool standing_by) {
  std::lock_guard<std::mutex> lock(mu_);
  f_->standby.Add({}).Set(standing_by ? 1 : 0);
}

void Metrics::Commit(const std::string& commit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (commit_ != nullptr) f_->commit.Remove(commit_);
  commit_ = nullptr;
  if (!commit.empty()) {
    commit_ = &f_->commit.Add({{"commit", commit}});
    commit_->Set(1);
  }
}

std::string Metrics::Text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

template <typename T>
platform::CallResult<T> CountingPlatform::Count(const char* action, platform::CallResult<T> r) {
  if (r.ok()) {
    metrics_.ApiCall(action, "", false);
  } else {
    metrics_.ApiCall(action, apply::CodeOf(r.error()), r.error().cls == platform::ErrorClass::kThrottled);
  }
  return r;
}

platform::CallResult<platform::CreatedJob> CountingPlatform::CreateJob(const spec::ParamSet& part,
                                                                       const std::string& intent_id) {
  return Count("CreateOTAStaticUpgradeJob", inner_.CreateJob(part, intent_id));
}
platform::CallResult<std::vector<platform::JobInfo>> CountingPlatform::ListJobsByFirmware(
    const std::string& firmware_id) {
  return Count("ListOTAJobByFirmware", inner_.ListJobsByFirmware(firmware_id));
}
platform::CallResult<platform::JobInfo> CountingPlatform::QueryJob(const std::string& job_id) {
  return Count("QueryOTAJob", inner_.QueryJob(job_id));
}
platform::CallResult<std::vector<platform::TaskInfo>> CountingPlatform::ListTasks(const std::string& job_id) {
  return Count("ListOTATaskByJob", inner_.ListTasks(job_id));
}
platform::CallResult<int64_t> CountingPlatform::CountTasks(const std::string& job_id, const std::string& status) {
  return Count("ListOTATaskByJob", inner_.CountTasks(job_id, status));
}
platform::CallResult<platform::Empty> CountingPlatform::CancelTasks(const std::string& job_id,
                                                                    const platform::CancelWhich& which) {
  return Count("CancelOTATaskByJob", inner_.CancelTasks(job_id, which));
}

}  // namespace otaroll::daemon
