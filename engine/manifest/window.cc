#include "manifest/window.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace otaroll::manifest {

namespace {

constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

const date::time_zone* Zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

bool KnownTimeZone(const std::string& name) {
  return Zone(name) != nullptr;
}

std::optional<core::Time> NextOpening(const std::vector<Window>& windows, core::Time t) {
  using std::chrono::minutes;
  std::optional<core::Time> best;
  for (const Window& w : windows) {
    const date::time_zone* zone = Zone(w.time_zone);
    if (zone == nullptr) continue;  // validation refused it
    const auto local = zone->to_local(t);
    const auto today = date::floor<date::days>(local);
    // From the day before (a window that wrapped midnight may still be open) on.
    for (int d = -1; d <= 14; ++d) {
      const date::local_days day = today + date::days{d};
      const int weekday = static_cast<int>((date::weekday(day).c_encoding() + 6) % 7);  // Monday = 0
      if (!w.days.empty() && std::find(w.days.begin(), w.days.end(), weekday) == w.days.end()) continue;
      const auto start_local = day + minutes(w.start_minute);
      const auto end_local =
          day + minutes(w.end_minute) + (w.end_minute <= w.start_minute ? date::days{1} : date::days{0});
      const auto start = zone->to_sys(start_local, date::choose::earliest);
      const auto end = zone->to_sys(end_local, date::choose::latest);
      if (start <= t && t < end) return t;
      if (start > t) {
        const auto opening = std::chrono::time_point_cast<core::Duration>(start);
        if (!best || opening < *best) best = opening;
        break;  // later days open later
      }
    }
  }
  return best;
}

std::string Describe(const Window& w) {
  std::string days;
  for (int d : w.days) days += (days.empty() ? "" : ", ") + std::string(kDays[d]);
  return fmt::format("{} {} {}", days.empty() ? "every day" : days, w.hours, w.time_zone);
}

}  // namespace otaroll::manifest
