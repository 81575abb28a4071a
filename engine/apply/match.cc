#include "apply/match.h"

#include <algorithm>
#include <vector>

#include "core/text.h"

namespace otaroll::apply {
namespace {

// The values of a flattened list (SrcVersion.1, SrcVersion.2, …), sorted.
std::vector<std::string> List(const std::map<std::string, std::string>& request, const std::string& name) {
  std::vector<std::string> out;
  std::string prefix = name + ".";
  for (const auto& [k, v] : request) {
    if (k.rfind(prefix, 0) == 0) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Equal when the platform did not report the field, or reports the same value.
bool SameText(const std::string& reported, const std::string& wanted) {
  return reported.empty() || core::EqualsIgnoreCase(reported, wanted);
}

bool SameFlag(const std::optional<bool>& reported, const std::string& wanted) {
  return !reported || (*reported ? "true" : "false") == wanted;
}

}  // namespace

std::string RequestValue(const std::map<std::string, std::string>& request, const std::string& name) {
  auto it = request.find(name);
  return it == request.end() ? "" : it->second;
}

bool IsCandidate(const platform::JobInfo& job, const std::map<std::string, std::string>& request, core::Time intent_at,
                 core::Duration skew, const std::set<std::string>& known_job_ids) {
  if (job.job_id.empty() || known_job_ids.count(job.job_id)) return false;
  if (!job.product_key.empty() && job.product_key != RequestValue(request, "ProductKey")) return false;
  if (!job.firmware_id.empty() && job.firmware_id != RequestValue(request, "FirmwareId")) return false;
  if (!SameText(job.target_selection, RequestValue(request, "TargetSelection"))) return false;
  if (auto created = core::ParseRfc3339(job.utc_create); created && *created < intent_at - skew) return false;
  return true;
}

std::optional<std::string> IntentTag(const platform::JobInfo& job) {
  for (const auto& [k, v] : job.tags) {
    if (k == platform::kIntentTagKey) return v;
  }
  return std::nullopt;
}

bool SameSpec(const platform::JobInfo& job, const std::map<std::string, std::string>& request) {
  std::string selection = RequestValue(request, "TargetSelection");
  if (!SameText(job.target_selection, selection)) return false;
  if (selection == "GRAY" && !SameText(job.gray_percent, RequestValue(request, "GrayPercent"))) return false;
  if (selection == "GROUP" && !SameText(job.group_id, RequestValue(request, "GroupId"))) return false;
  if (!job.target_device_names.empty()) {
    auto reported = job.target_device_names;
    std::sort(reported.begin(), reported.end());
    if (reported != List(request, "TargetDeviceName")) return false;
  }
  // The platform lists source versions when it has any; a job without them
  // matches only an intent without them.
  auto versions = job.src_versions;
  std::sort(versions.begin(), versions.end());
  if (versions != List(request, "SrcVersion")) return false;
  if (!SameText(job.retry_interval, RequestValue(request, "RetryInterval"))) return false;
  if (!SameText(job.retry_count, RequestValue(request, "RetryCount"))) return false;
  if (!SameText(job.timeout_in_minutes, RequestValue(request, "TimeoutInMinutes"))) return false;
  if (!SameFlag(job.need_push, RequestValue(request, "NeedPush"))) return false;
  if (!SameFlag(job.need_confirm, RequestValue(request, "NeedConfirm"))) return false;
  if (!SameText(job.download_protocol, RequestValue(request, "DownloadProtocol"))) return false;
  return true;
}

bool DevicesFit(const std::vector<platform::TaskInfo>& tasks, const std::map<std::string, std::string>& request) {
  auto wanted = List(request, "TargetDeviceName");
  for (const auto& t : tasks) {
    if (!std::binary_search(wanted.begin(), wanted.end(), t.device_name)) return false;
  }
  return true;
}

}  // namespace otaroll::apply
