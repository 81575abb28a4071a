// The status page on the daemon's --listen (SPEC §7): plain HTML rendered
// on the server, no JavaScript, nothing loaded from elsewhere, refreshed by
// the browser every 30 s. `/` shows every rollout as a row of stage cells
// (state colour, job, device progress from the last observation and its
// age, gate countdown, held/halted/frozen reasons), the commits, the last
// cycle and recent events; `/rollouts/NAME` one rollout with its history.
// Every string from manifests, state or the platform is escaped.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "daemon/daemon.h"
#include "plan/plan.h"
#include "state/events.h"
#include "state/snapshot.h"

namespace otaroll::daemon {

// What the page shows of the last planned cycle: published by the daemon
// after each one, shared by every request (the health is the server's, of
// the moment it renders).
struct PageModel {
  plan::Plan plan;                                         // after the cycle's creates
  std::map<std::string, state::Observation> observations;  // latest per job
  std::vector<state::Event> events;                        // the most recent, oldest first
};

// `text` safe inside HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// "3 h 12 min", "45 s", "2 d 3 h": how long `d` is, roughly, for people.
std::string Humanize(core::Duration d);

// "/" at `now`, with the daemon's `health` of now.
std::string StatusPage(const PageModel& model, const Health& health, core::Time now);

// "/rollouts/NAME": the rollout and its `history` (its events, oldest
// first); nullopt when the plan has no such rollout.
std::optional<std::string> RolloutPage(const PageModel& model, const std::string& name,
                                       const std::vector<state::Event>& history, core::Time now);

}  // namespace otaroll::daemon
