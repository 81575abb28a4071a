#include "core/clock.h"

#include <thread>

namespace otaroll::core {

Time SystemClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

void SystemClock::Sleep(Duration d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

}  // namespace otaroll::core
