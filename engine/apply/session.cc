#include "apply/session.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "notify/conditions.h"

namespace otaroll::apply {

core::Result<std::unique_ptr<LeaseGuard>> LeaseGuard::Acquire(state::Store& store, core::Clock& clock,
                                                              std::chrono::milliseconds heartbeat,
                                                              std::chrono::seconds ttl) {
  state::Lease me = state::ThisProcessLease(ttl.count());
  const auto taken_at = std::chrono::steady_clock::now();
  auto got = store.AcquireLease(me, clock.Now());
  if (!got.ok()) return got.status();
  // The heartbeat thread writes through a handle of its own.
  auto beats = store.OpenAnother();
  if (!beats.ok()) {
    (void)store.ReleaseLease(me.token);
    return beats.status();
  }
  return std::unique_ptr<LeaseGuard>(new LeaseGuard(store, std::move(*beats), std::move(*got), heartbeat, taken_at));
}

LeaseGuard::LeaseGuard(state::Store& store, std::unique_ptr<state::Store> beats, state::LeaseAcquired got,
                       std::chrono::milliseconds heartbeat, std::chrono::steady_clock::time_point taken_at)
    : store_(store),
      lease_(std::move(got.lease)),
      ttl_(lease_.ttl_seconds),
      taken_over_from_(std::move(got.taken_over_from)) {
  // Every intent from here on checks, in its own transaction, that the lease
  // is still ours at this epoch.
  store_.SetFence(lease_.token, lease_.epoch);
  keeper_ = std::make_unique<state::LeaseKeeper>(std::move(beats), lease_.token, heartbeat, ttl_, taken_at);
}

LeaseGuard::~LeaseGuard() {
  keeper_.reset();  // no heartbeat after the release
  // A release that fails leaves a lease whose pid is gone: the next otaroll
  // on this host takes it over at once, others after its TTL.
  (void)store_.ReleaseLease(lease_.token);
  store_.SetFence("", 0);
}

namespace {

// Whether a run has anything to do beyond reading.
// The plan the run leaves, and the conditions tracked with it.
core::Status Settle(state::Store& store, core::Clock& clock, const plan::Resolved& resolved, const SessionOptions& o,
                    SessionResult& result) {
  if (!o.track) return core::Status::Ok();
  auto after = store.Load();
  if (!after.ok()) return after.status();
  const core::Time now = clock.Now();
  if (after->serial != result.plan.state_serial) result.after = plan::Build(resolved, *after, now);
  result.observations = std::move(after->observations);
  const std::string commit = o.track->commit.empty() ? "digest:" + result.plan.manifest_digest : o.track->commit;
  auto next = notify::Record(store, result.latest(), now, commit, o.track->remind_after);
  if (!next.ok()) return next.status();
  result.next_reminder = *next;
  result.settled = true;
  return core::Status::Ok();
}

}  // namespace

void RecordLeaseLost(state::Store& store, core::Clock& clock, const LeaseGuard& guard) {
  const state::Lease me = state::ThisProcessLease();
  const std::string message = fmt::format("pid {} on host {} lost the lease on the state ({}); it stopped creating",
                                          me.pid, me.host, guard.status().message());
  const nlohmann::json data = {{"host", me.host}, {"pid", me.pid}};
  (void)store.AppendEvent(state::Event{0, clock.Now(), "", "", std::nullopt, "lease-lost", message, data.dump()});
}

namespace {

bool Worth(const plan::Plan& p, bool prune) {
  if (p.HasChanges() || p.summary.Count(plan::Action::kUnknown) > 0) return true;
  return prune && !p.orphans.empty();
}

// A saved plan is applied exactly, or not at all.
core::Status CheckSaved(state::Store& store, const std::string& digest, const SessionOptions& o) {
  auto current = store.Load();
  if (!current.ok()) return current.status();
  std::string why;
  if (digest != o.saved->manifest_digest) {
    why = "the manifests changed since it was made";
  } else if (current->serial != o.saved->state_serial) {
    why = fmt::format("the state changed since it was made (serial {} then, {} now)", o.saved->state_serial,
                      current->serial);
  }
  if (why.empty()) return core::Status::Ok();
  return core::Status::Conflict(
      fmt::format("--plan: {} is stale: {}; run 'otaroll plan --out' again", o.saved_source, why));
}

}  // namespace

core::Result<SessionResult> ApplyOnce(state::Store& store, Platform& platform, core::Clock& clock,
                                      const manifest::ManifestSet& manifests, const SessionOptions& o) {
  std::unique_ptr<LeaseGuard> taken;
  if (o.held == nullptr) {
    auto lease = LeaseGuard::Acquire(store, clock, o.heartbeat, o.lease_ttl);
    if (!lease.ok()) return lease.status();
    taken = std::move(*lease);
    if (taken->taken_over_from() && o.took_over) o.took_over(*taken->taken_over_from());
  }
  const LeaseGuard& guard = o.held != nullptr ? *o.held : *taken;
  Options options = o.apply;
  std::optional<plan::Resolved> resolved;  // the specs, resolved once for the whole run
  if (options.resolved == nullptr || &options.resolved->manifests() != &manifests) {
    options.resolved = &resolved.emplace(manifests);
  }
  if (o.saved != nullptr) {
    if (auto s = CheckSaved(store, options.resolved->digest(), o); !s.ok()) return s;
  }
  options.only = o.saved;
  options.lease_lost = [&guard] { return guard.lost(); };
  options.lease_unsafe = [&guard] { return !guard.safe(); };
  Applier applier(store, platform, clock, options);
  SessionResult result;
  if (auto s = applier.Refresh(manifests, &result.report); !s.ok()) return s;
  if (result.report.stopped) return result;
  auto p = applier.Plan(manifests);
  if (!p.ok()) return p.status();
  result.plan = std::move(*p);
  const Report& r = result.report;
  const bool worth = Worth(result.plan, options.prune);
  if (!worth && r.adopted + r.cancelled + r.superseded == 0 && r.problems.empty()) {
    result.outcome = SessionResult::Outcome::kNothingToDo;
    if (auto s = Settle(store, clock, *options.resolved, o, result); !s.ok()) return s;
    return result;
  }
  if (worth && o.confirm && !o.confirm(result.plan)) {
    result.outcome = SessionResult::Outcome::kDeclined;
    return result;
  }
  if (auto s = applier.Execute(manifests, &result.report); !s.ok()) return s;
  if (taken && taken->lost()) {
    RecordLeaseLost(store, clock, *taken);
    return result;
  }
  if (result.report.stopped) return result;
  if (auto s = Settle(store, clock, *options.resolved, o, result); !s.ok()) return s;
  return result;
}

}  // namespace otaroll::apply
