// Instants are UTC with millisecond precision; text form is RFC 3339.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace otaroll::core {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

// Parses RFC 3339 ("2026-12-01T02:00:00Z", "…T02:00:00.239+02:00"). Requires
// a valid calendar date and an explicit offset. nullopt when malformed.
std::optional<Time> ParseRfc3339(std::string_view text);

// "2026-12-01T02:00:00Z", with ".239" only when the milliseconds are not zero.
std::string FormatRfc3339(Time t);

// "1d2h", "30m", "0s": the shortest form in units d h m s (milliseconds dropped).
std::string FormatDuration(Duration d);

}  // namespace otaroll::core
