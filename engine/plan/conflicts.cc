#include "plan/conflicts.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace otaroll::plan {

namespace {

// Every device of a rollout made only of SPECIFIC stages; nullopt when a
// stage targets a share, a group or everyone (any device).
std::optional<std::set<std::string>> OnlyDevices(const manifest::Rollout& r) {
  std::set<std::string> devices;
  for (const auto& s : r.stages) {
    if (s.target != manifest::Target::kSpecific) return std::nullopt;
    devices.insert(s.devices.begin(), s.devices.end());
  }
  return devices;
}

bool Meet(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return true;
  return std::any_of(a.begin(), a.end(),
                     [&](const std::string& v) { return std::find(b.begin(), b.end(), v) != b.end(); });
}

}  // namespace

bool Overlap(const manifest::Rollout& a, const manifest::Rollout& b) {
  if (a.product_key != b.product_key || !Meet(a.src_versions, b.src_versions)) return false;
  auto da = OnlyDevices(a);
  auto db = OnlyDevices(b);
  if (!da || !db) return true;
  return std::any_of(da->begin(), da->end(), [&](const std::string& d) { return db->count(d) > 0; });
}

bool Supersedes(const manifest::Rollout& r, const manifest::Rollout& other) {
  return std::find(r.supersedes.begin(), r.supersedes.end(), other.name) != r.supersedes.end();
}

std::vector<std::pair<const manifest::Rollout*, const manifest::Rollout*>> OverlappingPairs(
    const manifest::ManifestSet& set) {
  std::map<std::string, std::vector<const manifest::Rollout*>> by_product;
  for (const auto& r : set.rollouts) by_product[r.product_key].push_back(&r);
  std::vector<std::pair<const manifest::Rollout*, const manifest::Rollout*>> out;
  for (const auto& [product, rollouts] : by_product) {
    for (size_t i = 0; i < rollouts.size(); ++i) {
      for (size_t j = i + 1; j < rollouts.size(); ++j) {
        if (Overlap(*rollouts[i], *rollouts[j])) out.emplace_back(rollouts[i], rollouts[j]);
      }
    }
  }
  return out;
}

}  // namespace otaroll::plan
