// The stand-in OTA platform without HTTP: one call in (method, decoded
// parameters, client address), one answer out (HTTP status, JSON body, and
// whether to drop the connection instead of answering). It checks the common
// parameters and the signature like the platform's gateway (API.md §1–§2),
// serves the five OTA calls (API.md §3–§4) in either response style, keeps
// jobs in a JobStore, simulates the fleet (sandbox/fleet.h) and injects
// faults from a seeded random generator. Thread-safe: one mutex around
// everything but the injected latency.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "platform/signature.h"
#include "platform/wire.h"
#include "sandbox/fleet.h"
#include "sandbox/job.h"
#include "sandbox/nonces.h"
#include "sandbox/rate.h"
#include "sandbox/store.h"

namespace otaroll::sandbox {

struct FaultConfig {
  double fail_rate = 0;      // HTTP 503 ServiceUnavailable, nothing done
  double throttle_rate = 0;  // HTTP 400 Throttling.User, nothing done
  double drop_rate = 0;      // the call is performed, then the connection is closed without an answer
  int64_t latency_ms = 0;    // wait before handling each call
};

struct Options {
  platform::Style style = platform::Style::kTuya;
  std::map<std::string, std::string> access_keys;  // id → secret
  FaultConfig faults;
  RateLimits limits;  // the platform's per-account limits, on unless told otherwise
  FleetConfig fleet;  // fleet.seed also seeds faults, job ids and request ids
  size_t max_nonces = 1000000;
};

inline constexpr core::Duration kTimestampWindow{15 * 60 * 1000};

struct Request {
  std::string method;  // GET or POST
  std::string path = "/";
  platform::Params params;  // query string and form body merged
  std::string remote;       // "127.0.0.1:54321", for the log
};

struct Response {
  int status = 200;
  std::string body;
  bool drop = false;  // close the connection without sending any byte of the answer
  // For the request log (never a secret nor the signature).
  std::string action;
  std::string access_key_id;
  std::string outcome;  // the error code, the job id, or "ok"
  std::string request_id;
};

// Builds a Request from HTTP pieces: the raw request target ("/?a=1"), and for
// a POST with Content-Type application/x-www-form-urlencoded, the body (its
// parameters win over the query's). False on a malformed percent escape.
bool DecodeRequest(std::string_view method, std::string_view target, std::string_view content_type,
                   std::string_view body, Request* out);

class Platform {
 public:
  // Opens (or creates) the data file and rebuilds the busy-device tracker
  // from the jobs that may still be running.
  static core::Result<std::unique_ptr<Platform>> Open(const std::string& data_path, Options options,
                                                      core::Clock& clock);

  Response Handle(const Request& request);
  // The answer to a request whose query or body could not be decoded.
  Response Malformed(const Request& request);

  core::Result<int64_t> JobCount();
  const Options& options() const { return options_; }

 private:
  Platform(std::unique_ptr<JobStore> store, Options options, core::Clock& clock);

  using Json = nlohmann::ordered_json;
  struct Paging {
    int64_t total = 0;
    int64_t page_size = 0;
    int64_t current_page = 0;
  };

  Response HandleLocked(const Request& request, core::Time now);
  // The gateway's checks: a refusal, or nullopt to go on.
  std::optional<Response> CheckCommon(const platform::Params& params, Response& r) const;
  std::optional<Response> Authenticate(const Request& request, core::Time now, Response& r);
  Response Gateway(int http_status, const std::string& code, const std::string& message, Response r) const;
  Response Business(const std::string& code, const std::string& message, Response r) const;
  Response Success(Json data, const Paging* paging, const char* list_key, Response r) const;
  Response Internal(const core::Status& status, Response r) const;

  Response CreateJob(const platform::Params& p, core::Time now, Response r);
  Response QueryJob(const platform::Params& p, core::Time now, Response r);
  Response ListJobs(const platform::Params& p, core::Time now, Response r);
  Response ListTasks(const platform::Params& p, core::Time now, Response r);
  Response CancelTasks(const platform::Params& p, core::Time now, Response r);

  Json JobSummary(const Job& job, const JobState& state) const;
  Json JobDetail(const Job& job, const JobState& state) const;
  Json TagsJson(const Job& job) const;
  std::string NewRequestId();
  core::Result<std::string> NewJobId();

  std::unique_ptr<JobStore> store_;
  Options options_;
  core::Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 fault_rng_;
  std::mt19937_64 id_rng_;
  std::mt19937_64 request_id_rng_;
  NonceCache nonces_;
  RateLimiter limiter_;
  BusyTracker busy_;
  uint64_t creates_ = 0;
};

}  // namespace otaroll::sandbox
