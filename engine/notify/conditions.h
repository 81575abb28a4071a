// Conditions (SPEC §7, docs/notifications.md): stages that stay in a state a
// person must know of, tracked across runs so that each notifies once per
// (rollout, stage, reason, commit) until it clears, and fires again if it
// comes back.
//
// Track compares the plan a run left with the conditions recorded in state:
//   - a stage halted, held, waiting or unknown opens a condition (since =
//     now); halted appends a "halted" event at once, with the health figures;
//   - the condition's key is (rollout, stage, state, plan cause, commit): the
//     same state for another cause is a new condition; a new commit keeps
//     `since` but is a new key: a halted stage notifies again, and the
//     reminder may be sent again;
//   - once a stage has stayed so for `remind_after` (from `since`), one
//     "reminder" event per key. A waiting stage is reminded only once none
//     of its time gates is still to open (a soak, notBefore, window or
//     freeze with a known end is not stuck; a health gate that never passes
//     is); a remind_after of zero sends no reminders;
//   - a stage no longer in that state, or gone from the plan, clears.
// `commit` is a commit id, or "digest:<manifest digest>" when the manifests
// are not a git checkout (messages then say "manifest digest").
// Pure: the caller records the result (Record does, in one transaction).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "plan/plan.h"
#include "state/events.h"
#include "state/store.h"

namespace otaroll::notify {

struct Tracked {
  std::vector<state::Condition> put;                       // opened or changed
  std::vector<std::pair<std::string, std::string>> clear;  // (rollout, stage)
  std::vector<state::Event> events;                        // "halted" and "reminder", in plan order
  std::optional<core::Time> next_reminder;                 // the earliest reminder still to come
};

Tracked Track(const plan::Plan& plan, const std::vector<state::Condition>& open, core::Time now,
              const std::string& commit, core::Duration remind_after);

// Reads the conditions, tracks, and writes the changes and events in one
// transaction. Returns when the next reminder falls due (a daemon wakes then).
core::Result<std::optional<core::Time>> Record(state::Store& store, const plan::Plan& plan, core::Time now,
                                               const std::string& commit, core::Duration remind_after);

}  // namespace otaroll::notify
