// One entry of a state file's append-only history (`otaroll history`), and
// what notifications keep beside it (docs/notifications.md): the history is
// their outbox.
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

// A stage that stays in a state a person must know of (halted, held,
// waiting, unknown): notify/conditions.h opens, updates and clears these so
// that each notifies once per (rollout, stage, reason, commit) until it
// clears, across restarts.
struct Condition {
  std::string rollout;
  std::string stage;
  std::string state;      // the plan's action name: "halted", "held", "waiting", "unknown"
  std::string reason;     // a stable word for why: "health", "hold", "paused", "soak+window", …
  std::string commit;     // the commit (or manifest digest) it was last notified for
  core::Time since{};     // when the stage entered this state for this reason
  bool reminded = false;  // the --remind-after reminder was sent for this commit
};

inline bool operator==(const Condition& a, const Condition& b) {
  return a.rollout == b.rollout && a.stage == b.stage && a.state == b.state && a.reason == b.reason &&
         a.commit == b.commit && a.since == b.since && a.reminded == b.reminded;
}

}  // namespace otaroll::state
