// The platform's documented per-account rate limits (API.md §5, SPEC §6):
// create 20/s, query and list 10/s, cancel 5/s. Like the platform, the
// sandbox refuses a call over its account's budget with HTTP 400
// Throttling.User, having done nothing. Each (access key, call class) has a
// token bucket that holds at most one second of its rate and refills
// continuously; an authenticated call takes one token or is refused.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "core/status.h"
#include "core/time.h"

namespace otaroll::sandbox {

struct RateLimits {
  bool enabled = true;
  double create = 20;  // CreateOTAStaticUpgradeJob
  double query = 10;   // QueryOTAJob, ListOTAJobByFirmware, ListOTATaskByJob
  double cancel = 5;   // CancelOTATaskByJob
};

// --rate-limits: "on" (the platform's figures), "off", or
// "CREATE,QUERY,CANCEL" calls per second, e.g. "40,20,10".
core::Result<RateLimits> ParseRateLimits(const std::string& text);
// "20/s create, 10/s query and list, 5/s cancel" or "off".
std::string Describe(const RateLimits& limits);

class RateLimiter {
 public:
  enum class Class { kCreate, kQuery, kCancel };
  static Class ClassOf(const std::string& action);

  explicit RateLimiter(RateLimits limits) : limits_(limits) {}
  // True when the call may go on (it took a token); false: throttled.
  bool Take(const std::string& access_key, Class cls, core::Time now);

 private:
  struct Bucket {
    double tokens = 0;
    core::Time at{};
  };
  double RateOf(Class cls) const;

  RateLimits limits_;
  std::map<std::pair<std::string, Class>, Bucket> buckets_;
};

}  // namespace otaroll::sandbox
