// Pacing of platform calls per call class, shared by every thread that calls
// (SPEC §5 "a client-side rate limit", issue 13):
// - each class (create, read, cancel) has a budget in calls per second and
//   hands out evenly spaced slots: a caller reserves the next slot under a
//   lock and waits for it outside the lock, so any number of threads together
//   stay within the budget;
// - adaptive: the account's budget is shared with other clients, so a
//   throttled answer halves the class's rate (never below 1/16 of its
//   budget) and pushes the next slot out by one new interval; each answer
//   that was not throttled wins back 1/16 of the budget, up to the budget.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"

namespace otaroll::platform {

enum class CallClass { kCreate, kRead, kCancel };
constexpr size_t kCallClassCount = 3;
const char* CallClassName(CallClass cls);  // "create", "read", "cancel"

// The platform's documented per-account limits (API.md §5): create 20/s,
// query and list 10/s, cancel 5/s.
struct RateLimits {
  double create_qps = 20;
  double read_qps = 10;
  double cancel_qps = 5;
  double Of(CallClass cls) const;
};

// otaroll paces each class this much below the account's limit, so that a
// little jitter on the way does not cross it.
constexpr double kPaceShare = 0.975;

// "CREATE,QUERY,CANCEL" calls per second, each > 0 and ≤ 1e6, e.g. "20,10,5";
// nullopt for anything else (the caller names its flag in the error).
std::optional<RateLimits> ParseRateFigures(const std::string& text);

class Pacer {
 public:
  // `budget`: calls per second per class (≤ 0: that class is not paced).
  Pacer(RateLimits budget, core::Clock& clock);

  // Waits (through the clock) until this call's slot.
  void Wait(CallClass cls);
  // The call was answered Throttling*: slow this class down.
  void Throttled(CallClass cls);
  // The call was answered, not throttled: speed back up toward the budget.
  void Answered(CallClass cls);

  double rate(CallClass cls) const;  // the class's current calls per second
  int64_t throttled() const;         // throttled answers seen, every class

 private:
  struct Lane {
    double budget = 0;
    double rate = 0;
    core::Time next{};
  };
  core::Duration Interval(const Lane& lane) const;

  core::Clock& clock_;
  mutable std::mutex mu_;
  std::array<Lane, kCallClassCount> lanes_;
  int64_t throttled_ = 0;
};

}  // namespace otaroll::platform
