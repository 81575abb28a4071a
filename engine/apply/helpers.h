// Small helpers the apply files share (applier.cc, create.cc, resolve.cc).
#pragma once

#include <map>
#include <string>

#include "platform/errors.h"
#include "state/snapshot.h"

namespace otaroll::apply {

// "rollout/stage", as messages name a stage.
inline std::string StageName(const std::string& rollout, const std::string& stage) {
  return rollout + "/" + stage;
}

// The created attempts of a stage's current spec, by part (applier.cc).
std::map<int, const state::Attempt*> CreatedParts(const state::Snapshot& s, const std::string& rollout,
                                                  const std::string& stage, const std::string& hash);

// The short form of a failed call for state and messages.
inline std::string CodeOf(const platform::CallError& e) {
  return e.code.empty() ? platform::ErrorClassName(e.cls) : e.code;
}

}  // namespace otaroll::apply
