// One entry of a state file's append-only history (`otaroll history`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/time.h"

namespace otaroll::state {

struct Event {
  int64_t seq = 0;  // assigned by the store, increasing; ignored by AppendEvent
  core::Time at{};
  std::string rollout;  // "" for events about the whole state file
  std::string stage;    // "" for events about a whole rollout
  std::optional<int64_t> attempt_id;
  std::string kind;       // short machine word: "intent", "created", "failed", ...
  std::string message;    // one human sentence
  std::string data_json;  // a JSON value with details; "" is stored as "{}"
};

}  // namespace otaroll::state
