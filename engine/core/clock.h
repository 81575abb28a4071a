// The clock seam: everything that asks "what time is it" takes a Clock, so
// the planner is a pure function and tests pin time.
#pragma once

#include "core/time.h"

namespace otaroll::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Time Now() const override;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(Time t) : t_(t) {}
  Time Now() const override { return t_; }
  void Set(Time t) { t_ = t; }

 private:
  Time t_;
};

}  // namespace otaroll::core
