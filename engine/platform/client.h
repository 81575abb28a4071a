// The platform client: typed calls over a signed RPC (API.md), with retries
// for the failures that allow them, exponential backoff with full jitter, and
// a client-side rate limit per call class. Every attempt is a new request:
// new nonce, new timestamp, new signature.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "platform/errors.h"
#include "platform/http.h"
#include "platform/pacer.h"
#include "platform/wire.h"
#include "spec/spec.h"

namespace otaroll::platform {

// Credentials are held only here and used only to sign; nothing prints them.
struct Credentials {
  std::string access_key_id;
  std::string access_key_secret;
};

struct RetryPolicy {
  int max_attempts = 6;  // per call, the first included
  core::Duration base_delay{std::chrono::milliseconds(200)};
  core::Duration max_delay{std::chrono::seconds(20)};
};

// The pace for an account whose limits are `account`: kPaceShare of each.
RateLimits PacedBelow(const RateLimits& account);

struct ClientConfig {
  Style style = Style::kTuya;
  std::string endpoint;  // e.g. https://iot.cn-shanghai.aliyuncs.com/ or http://127.0.0.1:8686
  std::string api_version = "2018-01-20";
  std::string region;           // RegionId, alibaba only
  std::string iot_instance_id;  // IotInstanceId, when the account has one
  std::string method = "POST";  // "POST" (form body) or "GET" (query string)
  RetryPolicy retry;
  // Calls per second per class, shared by every thread using the client
  // (platform/pacer.h); default: just below the platform's documented limits.
  RateLimits limits = PacedBelow(RateLimits{});
};

// One HTTP attempt, reported to the observer (logs, metrics). Never carries
// the secret or the signature.
struct AttemptEvent {
  std::string action;
  int attempt = 1;
  bool ok = false;
  std::string outcome;  // "ok", or the error code / class
  core::Duration elapsed{0};
};

struct CancelWhich {
  bool scheduled = false;
  bool queued = true;
  bool notified = true;
  bool in_progress = false;
  bool unconfirmed = true;
};

// Thread-safe: calls may be made from several threads at once (over a
// transport that allows it, as CurlTransport does); they share one Pacer.
class Client {
 public:
  // nonce: a fresh unique value per request (default: random UUID v4);
  // seed: the jitter generator's seed (default: from the OS).
  Client(ClientConfig config, Credentials credentials, HttpTransport& transport, core::Clock& clock);
  void set_nonce_source(std::function<std::string()> nonce) { nonce_ = std::move(nonce); }
  void set_seed(uint64_t seed) {
    std::lock_guard lock(rng_mu_);
    rng_.seed(seed);
  }
  void set_observer(std::function<void(const AttemptEvent&)> observer) { observer_ = std::move(observer); }

  // Retries only what cannot have created anything (throttling, a request
  // that was never sent); any other failure returns at once, and
  // error().OutcomeUnknown() tells whether a job may exist.
  CallResult<CreatedJob> CreateJob(const spec::ParamSet& part, const std::string& intent_id);
  CallResult<JobInfo> QueryJob(const std::string& job_id);
  // Every page.
  CallResult<std::vector<JobInfo>> ListJobsByFirmware(const std::string& firmware_id);
  // Every page (at most the platform's 100,000 tasks); status "" = all.
  CallResult<std::vector<TaskInfo>> ListTasks(const std::string& job_id, const std::string& status);
  // Total of ListOTATaskByJob with TaskStatus=status and PageSize=1.
  CallResult<int64_t> CountTasks(const std::string& job_id, const std::string& status);
  CallResult<Empty> CancelTasks(const std::string& job_id, const CancelWhich& which);

  const ClientConfig& config() const { return config_; }
  const Pacer& pacer() const { return pacer_; }

  // The common parameters plus Signature for one attempt (exposed for tests).
  Params SignedParams(const std::string& action, const Params& call_params, const std::string& method);

 private:
  template <typename T>
  CallResult<T> Call(CallClass cls, const std::string& action, const Params& params,
                     CallResult<T> (*parse)(const HttpResponse&));
  core::Duration Backoff(int attempt);

  ClientConfig config_;
  Credentials credentials_;
  HttpTransport& transport_;
  core::Clock& clock_;
  std::function<std::string()> nonce_;
  std::function<void(const AttemptEvent&)> observer_;
  Pacer pacer_;
  std::mutex rng_mu_;  // guards rng_
  std::mt19937_64 rng_;
};

// A random UUID v4 from the OS's CSPRNG.
std::string RandomUuid();

}  // namespace otaroll::platform
