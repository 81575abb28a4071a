#include "apply/match.h"

#include <algorithm>
#include <vector>

#include "core/text.h"

namespace otaroll::apply {
namespace {

// Equal when the platform did not report the field, or reports the same value.
bool SameText(const std::string& reported, const std::string& wanted) {
  return reported.empty() || core::EqualsIgnoreCase(reported, wanted);
}

bool SameFlag(const std::optional<bool>& reported, const std::string& wanted) {
  return !reported || (*reported ? "true" : "false") == wanted;
}

}  // namespace

bool IsCandidate(const platform::JobInfo& job, const spec::StoredRequest& request, core::Time intent_at,
                 core::Duration skew, const std::set<std::string>& known_job_ids) {
  if (job.job_id.empty() || known_job_ids.count(job.job_id)) return false;
  if (!job.product_key.empty() && job.product_key != request.product_key) return false;
  if (!job.firmware_id.empty() && job.firmware_id != request.firmware_id) return false;
  if (!SameText(job.target_selection, request.target_selection)) return false;
  if (auto created = core::ParseRfc3339(job.utc_create); created && *created < intent_at - skew) return false;
  return true;
}

std::optional<std::string> IntentTag(const platform::JobInfo& job) {
  for (const auto& [k, v] : job.tags) {
    if (k == platform::kIntentTagKey) return v;
  }
  return std::nullopt;
}

bool SameSpec(const platform::JobInfo& job, const spec::StoredRequest& request) {
  if (!SameText(job.target_selection, request.target_selection)) return false;
  if (request.gray() && !SameText(job.gray_percent, request.gray_percent)) return false;
  if (request.group() && !SameText(job.group_id, request.group_id)) return false;
  if (!job.target_device_names.empty()) {
    auto reported = job.target_device_names;
    std::sort(reported.begin(), reported.end());
    if (reported != request.device_names) return false;
  }
  // The platform lists source versions when it has any; a job without them
  // matches only an intent without them.
  auto versions = job.src_versions;
  std::sort(versions.begin(), versions.end());
  if (versions != request.src_versions) return false;
  if (!SameText(job.retry_interval, request.retry_interval)) return false;
  if (!SameText(job.retry_count, request.retry_count)) return false;
  if (!SameText(job.timeout_in_minutes, request.timeout_in_minutes)) return false;
  if (!SameFlag(job.need_push, request.need_push)) return false;
  if (!SameFlag(job.need_confirm, request.need_confirm)) return false;
  if (!SameText(job.download_protocol, request.download_protocol)) return false;
  return true;
}

bool DevicesFit(const std::vector<platform::TaskInfo>& tasks, const spec::StoredRequest& request) {
  const auto& wanted = request.device_names;
  for (const auto& t : tasks) {
    if (!std::binary_search(wanted.begin(), wanted.end(), t.device_name)) return false;
  }
  return true;
}

}  // namespace otaroll::apply
