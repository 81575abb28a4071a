#include "state/snapshot.h"

namespace otaroll::state {

namespace {
constexpr const char* kNames[] = {"pending", "created", "failed", "unknown", "superseded", "cancelled"};
}

const char* StatusName(AttemptStatus s) {
  return kNames[static_cast<int>(s)];
}

std::optional<AttemptStatus> ParseStatus(const std::string& s) {
  for (int i = 0; i < 6; ++i) {
    if (s == kNames[i]) return static_cast<AttemptStatus>(i);
  }
  return std::nullopt;
}

int64_t Observation::Count(const std::string& status) const {
  auto it = by_status.find(status);
  return it == by_status.end() ? 0 : it->second;
}

}  // namespace otaroll::state
