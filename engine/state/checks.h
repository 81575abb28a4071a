// What every store backend refuses, said once (docs/state.md): the checks of
// Store's writers that do not depend on how rows are kept. `where` names the
// state (a path or a URL) in messages.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "state/events.h"
#include "state/snapshot.h"

namespace otaroll::state {

// An attempt's request is fit for the state's request_json: a JSON object of
// strings (state/request.h), without call parameters (AccessKeyId,
// Signature, …) that never belong in state, and UTF-8.
core::Status CheckRequest(const Attempt& a, const std::string& where);
// An intent for the part of `intent` while `live` (pending, unknown or
// created, same rollout, stage, part and spec) exists: Conflict.
core::Status LiveIntentConflict(const Attempt& intent, const std::string& live_intent_id,
                                const std::string& live_status);
// UpdateAttempt of an id that does not exist, or that changes intent fields.
core::Status NoSuchAttempt(int64_t id, const std::string& where);
core::Status IntentChanged(int64_t id, const std::string& where);
// Whether `a` and `b` have the same intent fields (UpdateAttempt keeps them).
bool SameIntent(const Attempt& a, const Attempt& b);
// MarkSuperseded of `old_a` by `new_a`: both created, one stage, not the same.
core::Status CheckSupersede(const Attempt& old_a, const Attempt& new_a, const std::string& where);
// AddObservation: only API.md's task statuses.
core::Status CheckObservation(const Observation& o, const std::string& where);
// AppendEvent: the data to store ("" becomes "{}"), Invalid when not JSON.
core::Result<std::string> EventData(const Event& e, const std::string& where);

}  // namespace otaroll::state
