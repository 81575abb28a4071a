// One apply, start to end: the path `otaroll apply` takes once and the daemon
// takes every cycle (two callers of one engine path, never two copies):
//   take the lease (a LeaseGuard: fenced intents, heartbeats, released on
//   every way out) → check that a saved plan is not stale → refresh from the
//   platform → plan → confirm → execute.
// The caller loads and validates the manifests, connects to the platform and
// opens the state first, and renders the result.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "apply/applier.h"
#include "apply/platform.h"
#include "core/clock.h"
#include "core/status.h"
#include "manifest/model.h"
#include "plan/plan.h"
#include "state/lease_keeper.h"
#include "state/store.h"

namespace otaroll::apply {

// Holds the state's lease for as long as it lives: takes it (taking over
// a dead or expired holder), fences every intent with its token, heartbeats
// it from a background thread, and releases it on destruction.
class LeaseGuard {
 public:
  // Conflict (naming the holder) when another live process holds it.
  static core::Result<std::unique_ptr<LeaseGuard>> Acquire(state::Store& store, core::Clock& clock,
                                                           std::chrono::milliseconds heartbeat,
                                                           std::chrono::seconds ttl = std::chrono::seconds(30));
  ~LeaseGuard();
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;

  // True once a heartbeat found the lease taken away: stop creating.
  bool lost() const { return keeper_->lost(); }
  // Whether the lease may be used to create now: it is certainly ours for
  // its safety margin more (state::SafetyMargin; LeaseKeeper::SafeFor).
  bool safe() const { return keeper_->SafeFor(state::SafetyMargin(ttl_.count())); }
  const state::Lease& lease() const { return lease_; }
  // Why it was lost (naming the new holder), or the last failed heartbeat.
  core::Status status() const { return keeper_->status(); }
  // The dead or expired holder this lease was taken over from, if any.
  const std::optional<state::Lease>& taken_over_from() const { return taken_over_from_; }

 private:
  LeaseGuard(state::Store& store, std::unique_ptr<state::Store> beats, state::LeaseAcquired got,
             std::chrono::milliseconds heartbeat, std::chrono::steady_clock::time_point taken_at);
  state::Store& store_;
  state::Lease lease_;
  std::chrono::seconds ttl_;
  std::optional<state::Lease> taken_over_from_;
  std::unique_ptr<state::LeaseKeeper> keeper_;
};

struct SessionOptions {
  Options apply;  // passed to the Applier (lease_lost is set by the session)
  // --plan: apply exactly this saved plan (named `saved_source` in messages),
  // or nothing when the manifests or the state changed since it was made.
  const plan::Plan* saved = nullptr;
  std::string saved_source;
  // Asked with the plan when there is something to do; false: nothing is
  // created. Unset: go ahead (--yes, the daemon).
  std::function<bool(const plan::Plan&)> confirm;
  // Told once the lease is taken when it was taken over from a dead or
  // expired holder.
  std::function<void(const state::Lease& from)> took_over;
  std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
  std::chrono::seconds lease_ttl{std::chrono::seconds(30)};
  // A lease the caller already holds (the daemon holds one for its whole
  // life): used instead of taking one for this run.
  const LeaseGuard* held = nullptr;
  // Set: once the run is done, the plan it leaves is made (SessionResult::
  // after) and conditions are tracked with it (notify/conditions.h: halted
  // events, reminders), for `commit` (the manifest digest when empty).
  struct Tracking {
    std::string commit;
    core::Duration remind_after{std::chrono::hours(24)};
  };
  std::optional<Tracking> track;
};

struct SessionResult {
  enum class Outcome {
    kNothingToDo,  // nothing to create, replace, resolve or prune: nothing was called but reads
    kDeclined,     // confirm said no: nothing was created
    kApplied,      // executed (see report)
  };
  Outcome outcome = Outcome::kApplied;
  plan::Plan plan;  // the plan after refresh (what was confirmed)
  Report report;
  // With SessionOptions::track, unless the run was declined or stopped:
  // the plan over the state the run left, when that state differs from
  // `plan`'s; the latest observation of each job; when the next reminder
  // falls due.
  std::optional<plan::Plan> after;
  std::map<std::string, state::Observation> observations;
  std::optional<core::Time> next_reminder;
  bool settled = false;  // the three above were made
  const plan::Plan& latest() const { return after ? *after : plan; }
};

// Appends a "lease-lost" event (a notification) for `guard`, lost: this
// process stopped creating. Not checked: the lease is gone, the history may
// still be written.
void RecordLeaseLost(state::Store& store, core::Clock& clock, const LeaseGuard& guard);

// Errors (a Status) for what stops the session before or outside the
// protocol: the lease held by another process, a stale saved plan, a state
// file that cannot be read or written. Problems met while applying are in
// the report.
core::Result<SessionResult> ApplyOnce(state::Store& store, Platform& platform, core::Clock& clock,
                                      const manifest::ManifestSet& manifests, const SessionOptions& options);

}  // namespace otaroll::apply
