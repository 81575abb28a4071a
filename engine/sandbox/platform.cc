#include "sandbox/platform.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "sandbox/create.h"
#include "sandbox/hash.h"

namespace otaroll::sandbox {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kCreate = "CreateOTAStaticUpgradeJob";
constexpr const char* kQuery = "QueryOTAJob";
constexpr const char* kListJobs = "ListOTAJobByFirmware";
constexpr const char* kListTasks = "ListOTATaskByJob";
constexpr const char* kCancel = "CancelOTATaskByJob";

constexpr int64_t kMaxJobPageSize = 200;
constexpr int64_t kMaxTaskPageSize = 100;
constexpr int64_t kMaxTaskWindow = 100000;
constexpr int64_t kDefaultPageSize = 10;

const std::string* Find(const platform::Params& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

std::string Upper(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

// Exactly YYYY-MM-DDThh:mm:ssZ, a real calendar instant.
std::optional<core::Time> ParseWireTimestamp(const std::string& text) {
  if (text.size() != 20) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = false;
    switch (i) {
      case 4:
      case 7: ok = c == '-'; break;
      case 10: ok = c == 'T'; break;
      case 13:
      case 16: ok = c == ':'; break;
      case 19: ok = c == 'Z'; break;
      default: ok = c >= '0' && c <= '9';
    }
    if (!ok) return std::nullopt;
  }
  return core::ParseRfc3339(text);
}

// The Tuya style: every key with a lower-case first letter, keys sorted.
nlohmann::json LowerKeys(const Json& in) {
  if (in.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : in.items()) {
      std::string k = key;
      if (!k.empty()) k[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(k[0])));
      out[k] = LowerKeys(value);
    }
    return out;
  }
  if (in.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : in) out.push_back(LowerKeys(v));
    return out;
  }
  if (in.is_string()) return in.get<std::string>();
  if (in.is_boolean()) return in.get<bool>();
  if (in.is_number_unsigned()) return in.get<uint64_t>();
  if (in.is_number_integer()) return in.get<int64_t>();
  if (in.is_number_float()) return in.get<double>();
  return nullptr;
}

template <typename J>
std::string Dump(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

std::optional<Rejection> ReadPaging(const platform::Params& p, int64_t max_size, int64_t* page, int64_t* size) {
  *page = 1;
  *size = kDefaultPageSize;
  if (const std::string* text = Find(p, "CurrentPage")) {
    auto v = ParseSmallInt(*text);
    if (!v || *v < 1) {
      return Rejection{"InvalidParameter.CurrentPage",
                       fmt::format("CurrentPage must be an integer of at least 1; got \"{}\".", *text)};
    }
    *page = *v;
  }
  if (const std::string* text = Find(p, "PageSize")) {
    auto v = ParseSmallInt(*text);
    if (!v || *v < 1 || *v > max_size) {
      return Rejection{"InvalidParameter.PageSize",
                       fmt::format("PageSize must be an integer from 1 to {}; got \"{}\".", max_size, *text)};
    }
    *size = *v;
  }
  return std::nullopt;
}

}  // namespace

bool DecodeRequest(std::string_view method, std::string_view target, std::string_view content_type,
                   std::string_view body, Request* out) {
  out->method = std::string(method);
  size_t q = target.find('?');
  out->path = std::string(target.substr(0, q));
  out->params.clear();
  if (q != std::string_view::npos && !platform::DecodeForm(target.substr(q + 1), &out->params)) return false;
  std::string type;
  for (char c : content_type) type.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (method == "POST" && type.starts_with("application/x-www-form-urlencoded")) {
    platform::Params form;
    if (!platform::DecodeForm(body, &form)) return false;
    for (auto& [k, v] : form) out->params[k] = std::move(v);
  }
  return true;
}

Platform::Platform(std::unique_ptr<JobStore> store, Options options, core::Clock& clock)
    : store_(std::move(store)),
      options_(std::move(options)),
      clock_(clock),
      fault_rng_(Mix64(options_.fleet.seed ^ 0x4641554c54ULL)),
      nonces_(kTimestampWindow, options_.max_nonces),
      limiter_(options_.limits) {}

core::Result<std::unique_ptr<Platform>> Platform::Open(const std::string& data_path, Options options,
                                                       core::Clock& clock) {
  auto store = JobStore::Open(data_path);
  if (!store.ok()) return store.status();
  std::unique_ptr<Platform> p(new Platform(std::move(*store), std::move(options), clock));
  auto count = p->store_->CountJobs();
  if (!count.ok()) return count.status();
  // Ids depend on the seed and on what the file already holds, so a restart
  // with the same seed does not walk through taken ids again.
  uint64_t salt = static_cast<uint64_t>(*count);
  p->id_rng_.seed(Mix64(p->options_.fleet.seed ^ 0x4a4f42ULL ^ Mix64(salt)));
  p->request_id_rng_.seed(Mix64(p->options_.fleet.seed ^ 0x524551ULL ^ Mix64(salt + 1)));
  auto recent = p->store_->Recent(clock.Now());
  if (!recent.ok()) return recent.status();
  for (const auto& job : *recent) p->busy_.Occupy(job, Targets(job));
  return p;
}

core::Result<int64_t> Platform::JobCount() {
  std::lock_guard lock(mu_);
  return store_->CountJobs();
}

Response Platform::Handle(const Request& request) {
  if (options_.faults.latency_ms > 0) clock_.Sleep(core::Duration(options_.faults.latency_ms));
  std::lock_guard lock(mu_);
  return HandleLocked(request, clock_.Now());
}

Response Platform::Malformed(const Request& request) {
  std::lock_guard lock(mu_);
  Response r;
  r.request_id = NewRequestId();
  r.action = request.params.count("Action") ? request.params.at("Action") : "";
  return Gateway(400, "InvalidParameter",
                 "The query string or form body has a malformed percent escape; encode parameters as API.md §2 says.",
                 std::move(r));
}

std::string Platform::NewRequestId() {
  uint64_t hi = request_id_rng_();
  uint64_t lo = request_id_rng_();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;        // version 4
  lo = (lo & ~(3ULL << 62)) | (2ULL << 62);  // RFC 4122 variant
  std::string id = fmt::format("{:08X}-{:04X}-{:04X}-{:04X}-{:012X}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                               lo >> 48, lo & 0xffffffffffffULL);
  if (options_.style == platform::Style::kTuya) {
    std::transform(id.begin(), id.end(), id.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  }
  return id;
}

core::Result<std::string> Platform::NewJobId() {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string id = fmt::format("{}", 1000000000000000000ULL + id_rng_() % 9000000000000000000ULL);
    auto taken = store_->Exists(id);
    if (!taken.ok()) return taken.status();
    if (!*taken) return id;
  }
  return core::Status::Unavailable("no free job id after 1000 tries");
}

Response Platform::Gateway(int http_status, const std::string& code, const std::string& message, Response r) const {
  r.status = http_status;
  r.outcome = code;
  Json body;
  body["RequestId"] = r.request_id;
  body["Code"] = code;
  body["Message"] = message;
  r.body = options_.style == platform::Style::kTuya ? Dump(LowerKeys(body)) : Dump(body);
  return r;
}

Response Platform::Business(const std::string& code, const std::string& message, Response r) const {
  r.status = 200;
  r.outcome = code;
  Json body;
  body["RequestId"] = r.request_id;
  body["Success"] = false;
  body["Code"] = code;
  body["ErrorMessage"] = message;
  r.body = options_.style == platform::Style::kTuya ? Dump(LowerKeys(body)) : Dump(body);
  return r;
}

Response Platform::Internal(const core::Status& status, Response r) const {
  return Gateway(500, "InternalError", "The request processing has failed: " + status.message(), std::move(r));
}

Response Platform::Success(Json data, const Paging* paging, const char* list_key, Response r) const {
  r.status = 200;
  if (r.outcome.empty()) r.outcome.assign("ok");
  if (options_.style == platform::Style::kTuya) {
    nlohmann::json body = nlohmann::json::object();
    body["code"] = "";
    body["requestId"] = r.request_id;
    body["success"] = true;
    if (paging != nullptr) {
      body["total"] = paging->total;
      body["pageSize"] = paging->page_size;
      body["pageCount"] = (paging->total + paging->page_size - 1) / paging->page_size;
      body["currentPage"] = paging->current_page;
    }
    if (!data.is_null()) body["data"] = LowerKeys(data);
    r.body = Dump(body);
    return r;
  }
  Json body;
  body["RequestId"] = r.request_id;
  body["Success"] = true;
  if (paging != nullptr) {
    body["Total"] = paging->total;
    body["PageSize"] = paging->page_size;
    body["PageCount"] = (paging->total + paging->page_size - 1) / paging->page_size;
    body["CurrentPage"] = paging->current_page;
  }
  if (list_key != nullptr) {
    body["Data"] = Json::object();
    body["Data"][list_key] = std::move(data);
  } else if (!data.is_null()) {
    body["Data"] = std::move(data);
  }
  r.body = Dump(body);
  return r;
}

// The API and its common parameters (API.md §1): the first one missing or
// wrong is refused, as the gateway does.
std::optional<Response> Platform::CheckCommon(const platform::Params& p, Response& r) const {
  const std::string* action = Find(p, "Action");
  if (action == nullptr || action->empty()) {
    return Gateway(400, "MissingAction",
                   "The input parameter Action that is mandatory for processing this request "
                   "is not supplied.",
                   std::move(r));
  }
  const std::string* version = Find(p, "Version");
  if (version == nullptr || version->empty()) {
    return Gateway(400, "MissingVersion",
                   "The input parameter Version that is mandatory for processing this request "
                   "is not supplied.",
                   std::move(r));
  }
  if (*version != "2018-01-20" && *version != "2022-01-01") {
    return Gateway(
        400, "InvalidVersion",
        fmt::format("Specified parameter Version is not valid: {} (use 2018-01-20 or 2022-01-01).", *version),
        std::move(r));
  }
  static const std::set<std::string> kActions = {kCreate, kQuery, kListJobs, kListTasks, kCancel};
  if (kActions.count(*action) == 0) {
    return Gateway(404, "InvalidApi.NotFound",
                   fmt::format("Specified api is not found, please check your url and method: {}.", *action),
                   std::move(r));
  }
  for (const char* name :
       {"AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "Format", "Signature"}) {
    const std::string* v = Find(p, name);
    if (v == nullptr || v->empty()) {
      return Gateway(400, fmt::format("Missing{}", name),
                     fmt::format("The input parameter {} that is mandatory for processing this request is not "
                                 "supplied.",
                                 name),
                     std::move(r));
    }
  }
  if (p.at("SignatureMethod") != "HMAC-SHA1") {
    return Gateway(400, "IncompleteSignature",
                   "The request signature does not conform to Aliyun standards: SignatureMethod must be HMAC-SHA1.",
                   std::move(r));
  }
  if (p.at("SignatureVersion") != "1.0") {
    return Gateway(400, "IncompleteSignature",
                   "The request signature does not conform to Aliyun standards: SignatureVersion must be 1.0.",
                   std::move(r));
  }
  if (Upper(p.at("Format")) != "JSON") {
    return Gateway(400, "InvalidParameter.Format",
                   fmt::format("Format {} is not supported by otaroll sandbox; send Format=JSON.", p.at("Format")),
                   std::move(r));
  }
  return std::nullopt;
}

// The clock, the key, the signature and the nonce (API.md §2).
std::optional<Response> Platform::Authenticate(const Request& request, core::Time now, Response& r) {
  const platform::Params& p = request.params;
  auto timestamp = ParseWireTimestamp(p.at("Timestamp"));
  if (!timestamp) {
    return Gateway(400, "InvalidTimeStamp.Format",
                   "Specified time stamp or date value is not well formatted; expected YYYY-MM-DDThh:mm:ssZ in UTC.",
                   std::move(r));
  }
  if (*timestamp > now + kTimestampWindow || *timestamp < now - kTimestampWindow) {
    return Gateway(400, "InvalidTimeStamp.Expired",
                   fmt::format("Specified time stamp or date value is expired: {} is more than 15 minutes from the "
                               "server's time {}.",
                               p.at("Timestamp"), core::FormatRfc3339(now)),
                   std::move(r));
  }
  auto key = options_.access_keys.find(p.at("AccessKeyId"));
  if (key == options_.access_keys.end()) {
    return Gateway(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", std::move(r));
  }
  std::string string_to_sign = platform::StringToSign(request.method, p);
  if (!platform::SignaturesEqual(platform::Sign(key->second, string_to_sign), p.at("Signature"))) {
    return Gateway(
        400, "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation. server string to sign is:" + string_to_sign,
        std::move(r));
  }
  switch (nonces_.Use(key->first, p.at("SignatureNonce"), now)) {
    case NonceCache::Outcome::kReused:
      return Gateway(400, "SignatureNonceUsed", "Specified signature nonce was used already.", std::move(r));
    case NonceCache::Outcome::kFull:
      return Gateway(400, "Throttling.User",
                     "Request was denied due to user flow control: the sandbox remembers at most " +
                         std::to_string(options_.max_nonces) + " nonces per 30 minutes.",
                     std::move(r));
    case NonceCache::Outcome::kFresh: break;
  }

  return std::nullopt;
}

Response Platform::HandleLocked(const Request& request, core::Time now) {
  Response r;
  r.request_id = NewRequestId();
  const platform::Params& p = request.params;
  if (const std::string* v = Find(p, "Action")) r.action = *v;
  if (const std::string* v = Find(p, "AccessKeyId")) r.access_key_id = *v;
  if (request.path != "/") {
    return Gateway(404, "InvalidApi.NotFound",
                   fmt::format("The sandbox serves the API at / only, not at {}.", request.path), std::move(r));
  }

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double fail = unit(fault_rng_);
  double throttle = unit(fault_rng_);
  double drop = unit(fault_rng_);
  if (fail < options_.faults.fail_rate) {
    return Gateway(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                   std::move(r));
  }
  if (throttle < options_.faults.throttle_rate) {
    return Gateway(400, "Throttling.User", "Request was denied due to user flow control.", std::move(r));
  }

  // The gateway: API lookup, common parameters, clock, key, signature, nonce.
  if (auto refused = CheckCommon(p, r)) return std::move(*refused);
  if (auto refused = Authenticate(request, now, r)) return std::move(*refused);
  const std::string* action = Find(p, "Action");
  // The account's budget (rate.h): counted on authenticated calls.
  if (!limiter_.Take(p.at("AccessKeyId"), RateLimiter::ClassOf(*action), now)) {
    return Gateway(400, "Throttling.User", "Request was denied due to user flow control.", std::move(r));
  }
  if (*action == kCreate) {
    r = CreateJob(p, now, std::move(r));
  } else if (*action == kQuery) {
    r = QueryJob(p, now, std::move(r));
  } else if (*action == kListJobs) {
    r = ListJobs(p, now, std::move(r));
  } else if (*action == kListTasks) {
    r = ListTasks(p, now, std::move(r));
  } else {
    r = CancelTasks(p, now, std::move(r));
  }
  r.drop = drop < options_.faults.drop_rate;
  return r;
}

Json Platform::TagsJson(const Job& job) const {
  Json list = Json::array();
  for (const auto& [k, v] : job.tags) list.push_back(Json{{"Key", k}, {"Value", v}});
  return Json{{"OtaTagDTO", std::move(list)}};
}

Json Platform::JobSummary(const Job& job, const JobState& state) const {
  Json j;
  j["JobId"] = job.job_id;
  j["UtcCreate"] = UtcMillis(job.created);
  j["UtcModified"] = UtcMillis(state.modified);
  j["ProductKey"] = job.product_key;
  j["FirmwareId"] = job.firmware_id;
  j["UtcStartTime"] = UtcMillis(job.created);
  if (state.ended) j["UtcEndTime"] = UtcMillis(*state.ended);
  j["JobStatus"] = state.status;
  j["JobType"] = "UPGRADE_FIRMWARE";
  j["TargetSelection"] = job.target_selection;
  j["SelectionType"] = "STATIC";
  j["Tags"] = TagsJson(job);
  return j;
}

Json Platform::JobDetail(const Job& job, const JobState& state) const {
  // The summary's fields, then the specification; Tags stay last.
  Json j = JobSummary(job, state);
  j.erase("Tags");
  if (job.target_selection == "GRAY") j["GrayPercent"] = std::to_string(job.gray_percent);
  if (job.target_selection == "GROUP") {
    j["GroupId"] = job.group_id;
    j["GroupType"] = "LINK_PLATFORM";
  }
  j["SrcVersions"] = Json{{"SrcVersion", job.src_versions}};
  if (job.retry_interval) j["RetryInterval"] = *job.retry_interval;
  if (job.retry_count) j["RetryCount"] = *job.retry_count;
  if (job.timeout_minutes) j["TimeoutInMinutes"] = *job.timeout_minutes;
  j["NeedPush"] = job.need_push;
  j["NeedConfirm"] = job.need_confirm;
  j["DownloadProtocol"] = job.download_protocol.empty() ? std::string("HTTPS") : job.download_protocol;
  j["Tags"] = TagsJson(job);
  return j;
}

Response Platform::CreateJob(const platform::Params& p, core::Time now, Response r) {
  Job job;
  if (auto rejection = ParseCreateJob(p, options_.style, &job)) {
    return Business(rejection->code, rejection->message, std::move(r));
  }
  auto id = NewJobId();
  if (!id.ok()) return Internal(id.status(), std::move(r));
  job.job_id = *id;
  job.request_id = r.request_id;
  job.access_key_id = p.at("AccessKeyId");
  job.created = now;
  job.params = p;
  job.params.erase("Signature");
  job.fleet = options_.fleet;
  std::vector<std::string> targets = Targets(job);
  job.busy = busy_.BusyTargets(job, targets);
  if (auto s = store_->Insert(job); !s.ok()) return Internal(s, std::move(r));
  busy_.Occupy(job, targets);
  if (++creates_ % 256 == 0) busy_.Purge(now);
  r.outcome = job.job_id;
  Json data;
  data[options_.style == platform::Style::kTuya ? "FirmwareId" : "JobId"] = job.job_id;
  data["UtcCreate"] = UtcMillis(job.created);
  return Success(std::move(data), nullptr, nullptr, std::move(r));
}

Response Platform::QueryJob(const platform::Params& p, core::Time now, Response r) {
  const std::string* job_id = Find(p, "JobId");
  if (job_id == nullptr || job_id->empty()) {
    return Business("MissingJobId", "The parameter JobId is required.", std::move(r));
  }
  auto job = store_->Get(*job_id);
  if (!job.ok()) return Internal(job.status(), std::move(r));
  if (!*job) return Business("iot.ota.JobNotFound", fmt::format("The job {} does not exist.", *job_id), std::move(r));
  r.outcome = *job_id;
  return Success(JobDetail(**job, JobStateAt(**job, now)), nullptr, nullptr, std::move(r));
}

Response Platform::ListJobs(const platform::Params& p, core::Time now, Response r) {
  const std::string* firmware = Find(p, "FirmwareId");
  if (firmware == nullptr || firmware->empty()) {
    return Business("MissingFirmwareId", "The parameter FirmwareId is required.", std::move(r));
  }
  Paging paging;
  if (auto rejection = ReadPaging(p, kMaxJobPageSize, &paging.current_page, &paging.page_size)) {
    return Business(rejection->code, rejection->message, std::move(r));
  }
  auto total = store_->CountByFirmware(*firmware);
  if (!total.ok()) return Internal(total.status(), std::move(r));
  paging.total = *total;
  auto jobs = store_->ListByFirmware(*firmware, (paging.current_page - 1) * paging.page_size, paging.page_size);
  if (!jobs.ok()) return Internal(jobs.status(), std::move(r));
  Json items = Json::array();
  for (const auto& job : *jobs) items.push_back(JobSummary(job, JobStateAt(job, now)));
  return Success(std::move(items), &paging, "SimpleOTAJobInfo", std::move(r));
}

Response Platform::ListTasks(const platform::Params& p, core::Time now, Response r) {
  const std::string* job_id = Find(p, "JobId");
  if (job_id == nullptr || job_id->empty()) {
    return Business("MissingJobId", "The parameter JobId is required.", std::move(r));
  }
  Paging paging;
  if (auto rejection = ReadPaging(p, kMaxTaskPageSize, &paging.current_page, &paging.page_size)) {
    return Business(rejection->code, rejection->message, std::move(r));
  }
  if (paging.current_page * paging.page_size > kMaxTaskWindow) {
    return Business("InvalidParameter.CurrentPage",
                    fmt::format("CurrentPage × PageSize must not exceed {}; got {} × {}.", kMaxTaskWindow,
                                paging.current_page, paging.page_size),
                    std::move(r));
  }
  std::optional<TaskStatus> filter;
  if (const std::string* text = Find(p, "TaskStatus"); text != nullptr && !text->empty()) {
    filter = ParseTaskStatus(*text);
    if (!filter) {
      return Business("InvalidParameter.TaskStatus",
                      fmt::format("TaskStatus must be one of CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, "
                                  "FAILED, CANCELED; got \"{}\".",
                                  *text),
                      std::move(r));
    }
  }
  auto job = store_->Get(*job_id);
  if (!job.ok()) return Internal(job.status(), std::move(r));
  if (!*job) return Business("iot.ota.JobNotFound", fmt::format("The job {} does not exist.", *job_id), std::move(r));
  std::vector<Task> tasks = TasksAt(**job, now);
  if (filter) std::erase_if(tasks, [&](const Task& t) { return t.status != *filter; });
  paging.total = static_cast<int64_t>(tasks.size());
  Json items = Json::array();
  const size_t begin = static_cast<size_t>((paging.current_page - 1) * paging.page_size);
  const size_t end = std::min(tasks.size(), begin + static_cast<size_t>(paging.page_size));
  for (size_t i = begin; i < end; ++i) {
    const Task& t = tasks[i];
    Json item;
    item["TaskId"] = t.task_id;
    item["JobId"] = (*job)->job_id;
    item["ProductKey"] = (*job)->product_key;
    item["DeviceName"] = t.device;
    item["FirmwareId"] = (*job)->firmware_id;
    item["SrcVersion"] = t.src_version;
    item["DestVersion"] = t.dest_version;
    item["TaskStatus"] = TaskStatusName(t.status);
    item["Progress"] = std::to_string(t.progress);
    item["TaskDesc"] = t.desc;
    item["UtcCreate"] = UtcMillis((*job)->created);
    item["UtcModified"] = UtcMillis(t.modified);
    items.push_back(std::move(item));
  }
  r.outcome = *job_id;
  return Success(std::move(items), &paging, "SimpleOTATaskInfo", std::move(r));
}

Response Platform::CancelTasks(const platform::Params& p, core::Time now, Response r) {
  const std::string* job_id = Find(p, "JobId");
  if (job_id == nullptr || job_id->empty()) {
    return Business("MissingJobId", "The parameter JobId is required.", std::move(r));
  }
  Cancel cancel;
  cancel.at = now;
  cancel.request_id = r.request_id;
  const std::pair<const char*, bool*> flags[] = {{"CancelScheduledTask", &cancel.scheduled},
                                                 {"CancelQueuedTask", &cancel.queued},
                                                 {"CancelNotifiedTask", &cancel.notified},
                                                 {"CancelInProgressTask", &cancel.in_progress},
                                                 {"CancelUnconfirmedTask", &cancel.unconfirmed}};
  bool any = false;
  for (const auto& [name, flag] : flags) {
    const std::string* text = Find(p, name);
    if (text == nullptr) continue;
    auto v = ParseBool(*text);
    if (!v) {
      return Business(fmt::format("InvalidParameter.{}", name),
                      fmt::format("{} must be true or false; got \"{}\".", name, *text), std::move(r));
    }
    *flag = *v;
    any = any || *v;
  }
  if (!any) {
    return Business("InvalidParameter.CancelTask",
                    "Set at least one of CancelScheduledTask, CancelQueuedTask, CancelNotifiedTask, "
                    "CancelInProgressTask, CancelUnconfirmedTask to true.",
                    std::move(r));
  }
  auto job = store_->Get(*job_id);
  if (!job.ok()) return Internal(job.status(), std::move(r));
  if (!*job) return Business("iot.ota.JobNotFound", fmt::format("The job {} does not exist.", *job_id), std::move(r));
  if (auto s = store_->AddCancel(*job_id, cancel); !s.ok()) return Internal(s, std::move(r));
  (*job)->cancels.push_back(cancel);
  busy_.Refresh(**job);
  r.outcome = *job_id;
  return Success(Json(), nullptr, nullptr, std::move(r));
}

}  // namespace otaroll::sandbox
