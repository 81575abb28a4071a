// CreateOTAStaticUpgradeJob's parameters (API.md §3), validated the way the
// platform does, with platform-style error codes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "platform/signature.h"
#include "platform/wire.h"
#include "sandbox/job.h"

namespace otaroll::sandbox {

// A business error: Success=false with Code and ErrorMessage.
struct Rejection {
  std::string code;
  std::string message;
};

inline constexpr size_t kMaxDevicesPerJob = 200;
inline constexpr size_t kMaxTags = 10;

// Fills the job's request fields from `params` (the id, times and fleet are
// the caller's), or says why the platform would refuse them. Alibaba style
// requires GroupType=LINK_PLATFORM for GROUP; both styles accept tags.
std::optional<Rejection> ParseCreateJob(const platform::Params& params, platform::Style style, Job* job);

// A flattened list NAME.1 … NAME.n: the indexes must run 1..n without gaps
// (NAME.0, NAME.01 or a bare NAME are refused). Shared by the list readers.
std::optional<Rejection> ReadList(const platform::Params& params, const std::string& name,
                                  std::vector<std::string>* values);

// "true" / "false" (any case); nullopt otherwise.
std::optional<bool> ParseBool(const std::string& text);

// A non-negative decimal integer of at most 9 digits; nullopt otherwise.
std::optional<int> ParseSmallInt(const std::string& text);

}  // namespace otaroll::sandbox
