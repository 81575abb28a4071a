#include "sandbox/rate.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "core/escape.h"
#include "platform/pacer.h"

namespace otaroll::sandbox {

core::Result<RateLimits> ParseRateLimits(const std::string& text) {
  RateLimits limits;
  if (text == "on") return limits;
  if (text == "off") {
    limits.enabled = false;
    return limits;
  }
  auto figures = platform::ParseRateFigures(text);
  if (!figures) {
    return core::Status::Invalid(fmt::format(
        "--rate-limits {}: not on, off, or three calls-per-second figures CREATE,QUERY,CANCEL (the platform's are "
        "20,10,5)",
        core::Shown(text)));
  }
  limits.create = figures->create_qps;
  limits.query = figures->read_qps;
  limits.cancel = figures->cancel_qps;
  return limits;
}

std::string Describe(const RateLimits& limits) {
  if (!limits.enabled) return "off";
  return fmt::format("{:g}/s create, {:g}/s query and list, {:g}/s cancel", limits.create, limits.query, limits.cancel);
}

RateLimiter::Class RateLimiter::ClassOf(const std::string& action) {
  if (action == "CreateOTAStaticUpgradeJob") return Class::kCreate;
  if (action == "CancelOTATaskByJob") return Class::kCancel;
  return Class::kQuery;
}

double RateLimiter::RateOf(Class cls) const {
  switch (cls) {
    case Class::kCreate: return limits_.create;
    case Class::kQuery: return limits_.query;
    case Class::kCancel: return limits_.cancel;
  }
  return limits_.query;
}

bool RateLimiter::Take(const std::string& access_key, Class cls, core::Time now) {
  if (!limits_.enabled) return true;
  const double rate = RateOf(cls);
  auto [it, added] = buckets_.try_emplace({access_key, cls}, Bucket{rate, now});
  Bucket& b = it->second;
  if (now > b.at) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(rate, b.tokens + elapsed * rate);
    b.at = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace otaroll::sandbox
