#include "platform/client.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <set>

#include "core/time.h"

namespace otaroll::platform {
namespace {

// Largest page sizes the platform accepts (API.md §4) and the task listing's
// window (page × size ≤ 100,000).
constexpr int kJobPageSize = 200;
constexpr int kTaskPageSize = 100;
constexpr int kMaxTaskPages = 100000 / kTaskPageSize;
// At most 10,000 jobs per firmware: a listing that claims more is a protocol
// error, not thousands of calls.
constexpr int kMaxJobPages = 50;
// A GET whose URL would be longer than this goes as POST instead (proxies and
// servers refuse long URLs; a 200-device create does not fit). The common
// parameters and the signature add at most kSignedOverhead bytes.
constexpr size_t kMaxGetUrl = 4096;
constexpr size_t kSignedOverhead = 512;

// The endpoint with a path: "http://h:1" → "http://h:1/".
std::string NormalizeEndpoint(const std::string& endpoint) {
  auto scheme = endpoint.find("://");
  size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  if (endpoint.find('/', host_start) == std::string::npos) return endpoint + "/";
  return endpoint;
}

std::string EncodeAll(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(name);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

// A job listing page that cannot be believed (more pages than any firmware
// has, one job id twice): a protocol error.
std::optional<CallError> CheckJobPage(const Page<JobInfo>& page, const std::string& firmware_id) {
  auto protocol = [&](std::string message) {
    CallError e;
    e.cls = ErrorClass::kMalformed;
    e.message = std::move(message);
    e.request_id = page.request_id;
    return e;
  };
  const int64_t max_jobs = int64_t{kMaxJobPages} * kJobPageSize;
  if (page.page_count > kMaxJobPages || page.total > max_jobs) {
    return protocol(fmt::format(
        "the platform lists {} jobs in {} pages for firmware {}, more than the {} otaroll reads; a listing that long "
        "is not believed",
        page.total, page.page_count, firmware_id, max_jobs));
  }
  std::set<std::string> ids;
  for (const auto& job : page.items) {
    if (!ids.insert(job.job_id).second) {
      return protocol(
          fmt::format("the platform listed job {} twice on one page of firmware {}'s jobs", job.job_id, firmware_id));
    }
  }
  return std::nullopt;
}

}  // namespace

RateLimits PacedBelow(const RateLimits& account) {
  return {account.create_qps * kPaceShare, account.read_qps * kPaceShare, account.cancel_qps * kPaceShare};
}

std::string RandomUuid() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // The CSPRNG failing is not recoverable; fall back to a non-repeating
    // source rather than a fixed value (a repeated nonce is rejected anyway).
    std::random_device rd;
    for (auto& c : b) c = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  std::string hex;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex.push_back('-');
    hex += fmt::format("{:02x}", b[i]);
  }
  return hex;
}

Client::Client(ClientConfig config, Credentials credentials, HttpTransport& transport, core::Clock& clock)
    : config_(std::move(config)),
      credentials_(std::move(credentials)),
      transport_(transport),
      clock_(clock),
      nonce_(RandomUuid),
      pacer_(config_.limits, clock),
      rng_(std::random_device{}()) {
  config_.endpoint = NormalizeEndpoint(config_.endpoint);
}

Params Client::SignedParams(const std::string& action, const Params& call_params, const std::string& method) {
  Params p = call_params;
  p["Action"] = action;
  p["AccessKeyId"] = credentials_.access_key_id;
  p["SignatureMethod"] = "HMAC-SHA1";
  p["SignatureVersion"] = "1.0";
  p["SignatureNonce"] = nonce_();
  p["Timestamp"] = core::FormatRfc3339(std::chrono::floor<std::chrono::seconds>(clock_.Now()));
  p["Format"] = "JSON";
  p["Version"] = config_.api_version;
  if (config_.style == Style::kAlibaba && !config_.region.empty()) p["RegionId"] = config_.region;
  if (!config_.iot_instance_id.empty()) p["IotInstanceId"] = config_.iot_instance_id;
  p["Signature"] = SignRequest(method, p, credentials_.access_key_secret);
  return p;
}

core::Duration Client::Backoff(int attempt) {
  // Exponential backoff with full jitter: uniform in [0, min(max, base·2^(n-1))].
  auto cap = config_.retry.base_delay;
  for (int i = 1; i < attempt && cap < config_.retry.max_delay; ++i) cap *= 2;
  cap = std::min(cap, config_.retry.max_delay);
  std::uniform_int_distribution<int64_t> pick(0, cap.count());
  std::lock_guard lock(rng_mu_);
  return core::Duration(pick(rng_));
}

template <typename T>
CallResult<T> Client::Call(CallClass cls, const std::string& action, const Params& params,
                           CallResult<T> (*parse)(const HttpResponse&)) {
  for (int attempt = 1;; ++attempt) {
    pacer_.Wait(cls);
    std::string method = config_.method;
    if (method == "GET" && config_.endpoint.size() + 1 + EncodeAll(params).size() + kSignedOverhead > kMaxGetUrl) {
      method = "POST";
    }
    std::string encoded = EncodeAll(SignedParams(action, params, method));
    HttpRequest request;
    request.method = method;
    request.idempotent = cls != CallClass::kCreate;
    if (method == "GET") {
      request.url = config_.endpoint + "?" + encoded;
    } else {
      request.url = config_.endpoint;
      request.body = std::move(encoded);
    }
    core::Time start = clock_.Now();
    HttpResult sent = transport_.Send(request);
    std::optional<CallResult<T>> result;
    if (const auto* response = std::get_if<HttpResponse>(&sent)) {
      result.emplace(parse(*response));
    } else {
      const auto& failure = std::get<TransportError>(sent);
      CallError e;
      e.cls = ErrorClass::kNetwork;
      e.sent = failure.sent;
      e.permanent = failure.permanent;
      e.message = failure.message;
      result.emplace(std::move(e));
    }
    if (!result->ok() && result->error().cls == ErrorClass::kThrottled) {
      pacer_.Throttled(cls);
    } else {
      pacer_.Answered(cls);
    }
    AttemptEvent event;
    event.action = action;
    event.attempt = attempt;
    event.ok = result->ok();
    event.elapsed = clock_.Now() - start;
    if (result->ok()) {
      event.outcome = "ok";
      if (observer_) observer_(event);
      return std::move(*result);
    }
    CallError error = result->error();
    error.attempts = attempt;
    if (error.code == "SignatureNonceUsed") {
      // Our nonces are fresh random UUIDs: a "used" one means the platform
      // already received this very request (resent by the HTTP stack or a
      // proxy) and its answer was lost. Not a credentials problem: a read is
      // repeated with a new nonce; a create's outcome is unknown.
      error.cls = ErrorClass::kTransient;
      error.message = "the platform had already received this request (SignatureNonceUsed); its answer was lost";
    }
    event.outcome = error.code.empty() ? ErrorClassName(error.cls) : error.code;
    if (observer_) observer_(event);
    bool retryable = cls == CallClass::kCreate ? error.RetryableCreate() : error.RetryableRead();
    if (!retryable || attempt >= config_.retry.max_attempts) return error;
    clock_.Sleep(Backoff(attempt));
  }
}

CallResult<CreatedJob> Client::CreateJob(const spec::ParamSet& part, const std::string& intent_id) {
  return Call<CreatedJob>(CallClass::kCreate, "CreateOTAStaticUpgradeJob",
                          CreateJobParams(part, config_.style, intent_id), &ParseCreateJob);
}

CallResult<JobInfo> Client::QueryJob(const std::string& job_id) {
  return Call<JobInfo>(CallClass::kRead, "QueryOTAJob", {{"JobId", job_id}}, &ParseQueryJob);
}

CallResult<std::vector<JobInfo>> Client::ListJobsByFirmware(const std::string& firmware_id) {
  std::vector<JobInfo> jobs;
  std::set<std::string> seen;
  for (int page = 1; page <= kMaxJobPages; ++page) {
    auto r = Call<Page<JobInfo>>(CallClass::kRead, "ListOTAJobByFirmware",
                                 {{"FirmwareId", firmware_id},
                                  {"CurrentPage", std::to_string(page)},
                                  {"PageSize", std::to_string(kJobPageSize)}},
                                 &ParseJobPage);
    if (!r.ok()) return r.error();
    if (auto e = CheckJobPage(*r, firmware_id); e) return *e;
    // Jobs created while paging can shift items between pages: keep each once.
    for (const auto& job : r->items) {
      if (seen.insert(job.job_id).second) jobs.push_back(job);
    }
    bool last = r->items.empty() || (r->page_count > 0 && page >= r->page_count) ||
                (r->total > 0 && static_cast<int64_t>(page) * kJobPageSize >= r->total) ||
                (r->total == 0 && r->page_count == 0 && static_cast<int>(r->items.size()) < kJobPageSize);
    if (last) break;
  }
  return jobs;
}

CallResult<std::vector<TaskInfo>> Client::ListTasks(const std::string& job_id, const std::string& status) {
  std::vector<TaskInfo> tasks;
  for (int page = 1; page <= kMaxTaskPages; ++page) {
    Params params = {
        {"JobId", job_id}, {"CurrentPage", std::to_string(page)}, {"PageSize", std::to_string(kTaskPageSize)}};
    if (!status.empty()) params["TaskStatus"] = status;
    auto r = Call<Page<TaskInfo>>(CallClass::kRead, "ListOTATaskByJob", params, &ParseTaskPage);
    if (!r.ok()) return r.error();
    tasks.insert(tasks.end(), r->items.begin(), r->items.end());
    bool last = r->items.empty() || (r->page_count > 0 && page >= r->page_count) ||
                (r->total > 0 && static_cast<int64_t>(page) * kTaskPageSize >= r->total) ||
                (r->total == 0 && r->page_count == 0 && static_cast<int>(r->items.size()) < kTaskPageSize);
    if (last) break;
  }
  return tasks;
}

CallResult<int64_t> Client::CountTasks(const std::string& job_id, const std::string& status) {
  Params params = {{"JobId", job_id}, {"CurrentPage", "1"}, {"PageSize", "1"}};
  if (!status.empty()) params["TaskStatus"] = status;
  auto r = Call<Page<TaskInfo>>(CallClass::kRead, "ListOTATaskByJob", params, &ParseTaskPage);
  if (!r.ok()) return r.error();
  if (!r->has_total) {
    // Counting from a page of one would read 0 and could open a health gate.
    CallError e;
    e.cls = ErrorClass::kMalformed;
    e.message = "the platform's task list has no Total, so the tasks cannot be counted";
    e.request_id = r->request_id;
    return e;
  }
  return r->total;
}

CallResult<Empty> Client::CancelTasks(const std::string& job_id, const CancelWhich& which) {
  Params params = {{"JobId", job_id}};
  auto flag = [&](bool on, const char* name) {
    if (on) params[name] = "true";
  };
  flag(which.scheduled, "CancelScheduledTask");
  flag(which.queued, "CancelQueuedTask");
  flag(which.notified, "CancelNotifiedTask");
  flag(which.in_progress, "CancelInProgressTask");
  flag(which.unconfirmed, "CancelUnconfirmedTask");
  if (params.size() == 1) {
    CallError e;
    e.cls = ErrorClass::kRejected;
    e.sent = false;
    e.message = "CancelOTATaskByJob needs at least one kind of task to cancel";
    return e;
  }
  return Call<Empty>(CallClass::kCancel, "CancelOTATaskByJob", params, &ParseAck);
}

}  // namespace otaroll::platform
