// Matching a platform job to an intent whose outcome is unknown (SPEC §4
// step 6): the job must be for the intent's product and firmware, created
// after the intent (allowing for clock skew), not already known to otaroll,
// and carry the intent's exact parameters as far as the platform reports
// them — or, where the platform keeps tags, the intent's tag.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/time.h"
#include "platform/wire.h"
#include "spec/request.h"

namespace otaroll::apply {

// From the job listing alone: could this job be the intent's? (product,
// selection, creation time, not already known). `request` is the intent's.
bool IsCandidate(const platform::JobInfo& job, const spec::StoredRequest& request, core::Time intent_at,
                 core::Duration skew, const std::set<std::string>& known_job_ids);

// The intent tag on a job: its value, or nullopt when the job carries none.
std::optional<std::string> IntentTag(const platform::JobInfo& job);

// From QueryOTAJob's full answer: does every parameter the platform reports
// equal the intent's? Fields the platform leaves out are not compared.
bool SameSpec(const platform::JobInfo& job, const spec::StoredRequest& request);

// A SPECIFIC job's devices, from its tasks, fit the intent: every task is
// for one of the intent's devices (the platform skips devices already on the
// target version, so fewer tasks than devices is normal).
bool DevicesFit(const std::vector<platform::TaskInfo>& tasks, const spec::StoredRequest& request);

}  // namespace otaroll::apply
