// Gate durations: one or more <integer><unit>, units s m h d ("1h30m", "2d").
#pragma once

#include <string>

#include "core/time.h"

namespace otaroll::manifest {

struct DurationParse {
  core::Duration value{};
  std::string error;  // empty on success; else "is not a duration" / "is too long"
};

DurationParse ParseDuration(const std::string& text);

}  // namespace otaroll::manifest
