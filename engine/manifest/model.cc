#include "manifest/model.h"

#include <algorithm>

namespace otaroll::manifest {

const std::string& FileName::str() const {
  static const std::string kNone;
  return name_ ? *name_ : kNone;
}

std::optional<size_t> ManifestSet::FindIndex(const std::string& name) const {
  auto it = std::lower_bound(rollouts.begin(), rollouts.end(), name,
                             [](const Rollout& r, const std::string& n) { return r.name < n; });
  if (it == rollouts.end() || it->name != name) return std::nullopt;
  return static_cast<size_t>(it - rollouts.begin());
}

const Rollout* ManifestSet::Find(const std::string& name) const {
  const std::optional<size_t> i = FindIndex(name);
  return i ? &rollouts[*i] : nullptr;
}

bool Freeze::Matches(const Rollout& r) const {
  for (const auto& [key, value] : selector) {
    auto it = r.labels.find(key);
    if (it == r.labels.end() || it->second != value) return false;
  }
  return true;
}

const char* TargetName(Target t) {
  switch (t) {
    case Target::kGray: return "GRAY";
    case Target::kGroup: return "GROUP";
    case Target::kSpecific: return "SPECIFIC";
    case Target::kAll: return "ALL";
  }
  return "ALL";
}

}  // namespace otaroll::manifest
