// Small helpers the apply files share (applier.cc, resolve.cc).
#pragma once

#include <string>

#include "platform/errors.h"
#include "state/snapshot.h"

namespace otaroll::apply {

// "rollout/stage", as messages name a stage.
inline std::string StageName(const std::string& rollout, const std::string& stage) {
  return rollout + "/" + stage;
}

// An attempt whose outcome is not known yet: resolved by lookup before anything else.
inline bool Unresolved(const state::Attempt& a) {
  return a.status == state::AttemptStatus::kPending || a.status == state::AttemptStatus::kUnknown;
}

// The short form of a failed call for state and messages.
inline std::string CodeOf(const platform::CallError& e) {
  return e.code.empty() ? platform::ErrorClassName(e.cls) : e.code;
}

}  // namespace otaroll::apply
