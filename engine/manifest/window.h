// Promotion windows in time (SPEC §1): when a window is open, in the local
// time of a zone of the system's tz database (Howard Hinnant's date library,
// Debian's libhowardhinnant-date-dev, reading /usr/share/zoneinfo; g++ 12's
// <chrono> has no time zones yet). Never a hand-written offset table.
//
// A window opens on each of its days at its start, local time, and closes at
// its end the same day, or the next day when it wraps midnight. Local times
// that do not exist (the hour skipped when clocks go forward) open at the
// instant the clocks jump; local times that occur twice (clocks go back)
// open at their first occurrence and close at their last: a window holds
// every instant whose wall-clock time is inside it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "manifest/model.h"

namespace otaroll::manifest {

// Whether `name` is a zone of the system's tz database ("UTC" included).
bool KnownTimeZone(const std::string& name);

// The earliest instant at or after `t` at which one of `windows` is open
// (`t` itself when one is open at `t`); nullopt when `windows` is empty or
// none opens within two weeks (a window with no day: not after validation).
std::optional<core::Time> NextOpening(const std::vector<Window>& windows, core::Time t);

// "Tue, Wed, Thu 02:00-05:00 Europe/Berlin"; "every day 22:00-02:00 UTC".
std::string Describe(const Window& w);

}  // namespace otaroll::manifest
