#include "platform/pacer.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace otaroll::platform {
namespace {

constexpr double kFloorShare = 1.0 / 16;  // slowest: this share of the budget
constexpr double kStepShare = 1.0 / 16;   // won back per answer

}  // namespace

const char* CallClassName(CallClass cls) {
  switch (cls) {
    case CallClass::kCreate: return "create";
    case CallClass::kRead: return "read";
    case CallClass::kCancel: return "cancel";
  }
  return "read";
}

double RateLimits::Of(CallClass cls) const {
  switch (cls) {
    case CallClass::kCreate: return create_qps;
    case CallClass::kRead: return read_qps;
    case CallClass::kCancel: return cancel_qps;
  }
  return read_qps;
}

std::optional<RateLimits> ParseRateFigures(const std::string& text) {
  std::vector<double> figures;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    char* end = nullptr;
    const double v = std::strtod(part.c_str(), &end);
    if (part.empty() || *end != '\0' || !(v > 0) || v > 1e6) return std::nullopt;
    figures.push_back(v);
  }
  if (figures.size() != 3 || text.back() == ',') return std::nullopt;
  return RateLimits{figures[0], figures[1], figures[2]};
}

Pacer::Pacer(RateLimits budget, core::Clock& clock) : clock_(clock) {
  for (size_t i = 0; i < kCallClassCount; ++i) {
    lanes_[i].budget = budget.Of(static_cast<CallClass>(i));
    lanes_[i].rate = lanes_[i].budget;
  }
}

core::Duration Pacer::Interval(const Lane& lane) const {
  return std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(1.0 / lane.rate));
}

void Pacer::Wait(CallClass cls) {
  core::Time slot;
  core::Time now;
  {
    std::lock_guard lock(mu_);
    Lane& lane = lanes_[static_cast<size_t>(cls)];
    if (lane.budget <= 0) return;
    now = clock_.Now();
    slot = std::max(now, lane.next);
    lane.next = slot + Interval(lane);
  }
  if (slot > now) clock_.Sleep(slot - now);
}

void Pacer::Throttled(CallClass cls) {
  std::lock_guard lock(mu_);
  ++throttled_;
  Lane& lane = lanes_[static_cast<size_t>(cls)];
  if (lane.budget <= 0) return;
  lane.rate = std::max(lane.budget * kFloorShare, lane.rate / 2);
  lane.next = std::max(lane.next, clock_.Now() + Interval(lane));
}

void Pacer::Answered(CallClass cls) {
  std::lock_guard lock(mu_);
  Lane& lane = lanes_[static_cast<size_t>(cls)];
  if (lane.budget <= 0) return;
  lane.rate = std::min(lane.budget, lane.rate + lane.budget * kStepShare);
}

double Pacer::rate(CallClass cls) const {
  std::lock_guard lock(mu_);
  return lanes_[static_cast<size_t>(cls)].rate;
}

int64_t Pacer::throttled() const {
  std::lock_guard lock(mu_);
  return throttled_;
}

}  // namespace otaroll::platform
