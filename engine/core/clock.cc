#include "core/clock.h"

namespace otaroll::core {

Time SystemClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace otaroll::core
