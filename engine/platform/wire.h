// What the platform answers (API.md §3–§5), parsed leniently where the
// platforms differ and strictly where a mistake would be costly: keys are
// matched case-insensitively, lists are accepted inside or outside the Data
// wrapper, ids stay strings, and a body that is not a usable answer is a
// kMalformed CallError, never a crash or a made-up success.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/errors.h"
#include "platform/http.h"
#include "platform/signature.h"
#include "spec/spec.h"

namespace otaroll::platform {

// Which platform: capability flags (API.md intro). Alibaba adds RegionId,
// GroupType=LINK_PLATFORM and tags.
enum class Style { kTuya, kAlibaba };
const char* StyleName(Style s);  // "tuya", "alibaba"

struct CreatedJob {
  std::string job_id;
  std::string utc_create;  // as the platform wrote it; "" when absent
  std::string request_id;
};

using Tags = std::vector<std::pair<std::string, std::string>>;

// The JobStatus of a job whose unfinished tasks were cancelled (API.md §4).
inline constexpr const char* kJobCanceled = "CANCELED";

// One job, from QueryOTAJob (full) or ListOTAJobByFirmware (no GrayPercent,
// GroupId or SrcVersions). Numbers are kept as their decimal text; "" or
// nullopt when the platform did not send the field.
struct JobInfo {
  std::string job_id;
  std::string utc_create;
  std::string utc_modified;
  std::string product_key;
  std::string firmware_id;
  std::string job_status;  // PLANNED, IN_PROGRESS, COMPLETED (COMPLETE is normalized), CANCELED (kJobCanceled)
  std::string job_type;
  std::string target_selection;
  std::string selection_type;
  std::string gray_percent;
  std::string group_id;
  std::vector<std::string> src_versions;
  std::vector<std::string> target_device_names;  // only if the platform lists them
  std::string retry_interval;
  std::string retry_count;
  std::string timeout_in_minutes;
  std::optional<bool> need_push;
  std::optional<bool> need_confirm;
  std::string download_protocol;
  Tags tags;
};

struct TaskInfo {
  std::string task_id;
  std::string device_name;
  std::string src_version;
  std::string dest_version;
  std::string task_status;  // CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, FAILED, CANCELED
  std::string progress;
  std::string task_desc;
  std::string utc_create;
  std::string utc_modified;
};

template <typename T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;
  bool has_total = false;  // whether the platform sent Total
  int64_t page_size = 0;
  int64_t page_count = 0;
  int64_t current_page = 0;
  std::string request_id;
};

// A job id as otaroll accepts it from the platform: 1-64 ASCII letters,
// digits, '_', '-', '.' and '*' (Tuya's are up to ~19 digits, Alibaba's 24
// letters and digits; the documentation masks digits with '*'), beginning
// with a letter or digit. Anything else in a JobId is a protocol error.
bool IsJobId(std::string_view id);

// The largest count (Total) otaroll believes: more is a protocol error.
inline constexpr int64_t kMaxCount = 1000000000;

// Each parser first checks the envelope: an HTTP status >= 400 or
// Success=false becomes a classified CallError carrying Code, Message (or
// ErrorMessage) and RequestId; a body that is not a JSON object (truncated,
// HTML, empty) is kMalformed.
CallResult<CreatedJob> ParseCreateJob(const HttpResponse& response);
CallResult<JobInfo> ParseQueryJob(const HttpResponse& response);
CallResult<Page<JobInfo>> ParseJobPage(const HttpResponse& response);
CallResult<Page<TaskInfo>> ParseTaskPage(const HttpResponse& response);
CallResult<Empty> ParseAck(const HttpResponse& response);  // CancelOTATaskByJob

// CreateOTAStaticUpgradeJob's own parameters (API.md §3) from one part of a
// resolved stage spec: lists flattened 1-based. On alibaba, a GROUP target
// adds GroupType=LINK_PLATFORM, and a non-empty intent id adds
// Tag.1.Key=otaroll.intent / Tag.1.Value=<intent id>. Common parameters
// (Action, AccessKeyId, …) are the client's business.
inline constexpr const char* kIntentTagKey = "otaroll.intent";
Params CreateJobParams(const spec::ParamSet& part, Style style, const std::string& intent_id);

}  // namespace otaroll::platform
