// Matching a platform job to an intent whose outcome is unknown (SPEC §4
// step 6): the job must be for the intent's product and firmware, created
// after the intent (allowing for clock skew), not already known to otaroll,
// and carry the intent's exact parameters as far as the platform reports
// them — or, where the platform keeps tags, the intent's tag.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "platform/wire.h"

namespace otaroll::apply {

// The value of one parameter of a flattened request; "" when absent.
std::string RequestValue(const std::map<std::string, std::string>& request, const std::string& name);

// From the job listing alone: could this job be the intent's? (product,
// selection, creation time, not already known). `request` is the intent's
// flattened wire parameters.
bool IsCandidate(const platform::JobInfo& job, const std::map<std::string, std::string>& request, core::Time intent_at,
                 core::Duration skew, const std::set<std::string>& known_job_ids);

// The intent tag on a job: its value, or nullopt when the job carries none.
std::optional<std::string> IntentTag(const platform::JobInfo& job);

// From QueryOTAJob's full answer: does every parameter the platform reports
// equal the intent's? Fields the platform leaves out are not compared.
bool SameSpec(const platform::JobInfo& job, const std::map<std::string, std::string>& request);

// A SPECIFIC job's devices, from its tasks, fit the intent: every task is
// for one of the intent's devices (the platform skips devices already on the
// target version, so fewer tasks than devices is normal).
bool DevicesFit(const std::vector<platform::TaskInfo>& tasks, const std::map<std::string, std::string>& request);

}  // namespace otaroll::apply
