// The name rule shared by rollouts and stages (SPEC §1), checked by the
// manifest loader and by the state commands that take a name.
#pragma once

#include <string_view>

namespace otaroll::core {

// [a-z0-9]([-a-z0-9.]*[a-z0-9])?, at most 63 characters.
constexpr bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool edge = i == 0 || i + 1 == s.size();
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!edge && (c == '-' || c == '.')))) return false;
  }
  return true;
}

}  // namespace otaroll::core
