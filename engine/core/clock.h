// The clock seam: everything that asks "what time is it" takes a Clock, so
// the planner is a pure function and tests pin time.
#pragma once

#include "core/time.h"

namespace otaroll::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  // Waits for d; backoff and rate limits wait through this, so a fake clock
  // makes them instant and observable.
  virtual void Sleep(Duration d) = 0;
};

class SystemClock final : public Clock {
 public:
  Time Now() const override;
  void Sleep(Duration d) override;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(Time t) : t_(t) {}
  Time Now() const override { return t_; }
  // Sleeping advances the fixed time and is recorded.
  void Sleep(Duration d) override {
    t_ += d;
    slept_ += d;
  }
  void Set(Time t) { t_ = t; }
  Duration slept() const { return slept_; }

 private:
  Time t_;
  Duration slept_{0};
};

}  // namespace otaroll::core
