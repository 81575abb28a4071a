#include "daemon/daemon.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/escape.h"
#include "daemon/page.h"
#include "manifest/ignore.h"
#include "manifest/loader.h"

namespace otaroll::daemon {

// ---------------------------------------------------------------- waker

Waker::Why Waker::WaitUntil(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return stop_ || reconcile_; });
  if (stop_) return Why::kStop;
  if (reconcile_) {
    reconcile_ = false;
    return Why::kReconcile;
  }
  return Why::kDue;
}

void Waker::Reconcile() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reconcile_ = true;
  }
  cv_.notify_all();
}

void Waker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool Waker::stopping() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

// ---------------------------------------------------------------- when to wake

core::Time NextWake(const Cycle& cycle, core::Time now, const Options& o, double jitter_sample) {
  const double sample = std::clamp(jitter_sample, -1.0, 1.0);
  const auto spread = std::chrono::duration_cast<core::Duration>(
      std::chrono::duration<double, std::milli>(static_cast<double>(o.interval.count()) * o.jitter * sample));
  core::Time wake = now + std::chrono::duration_cast<core::Duration>(o.interval) + spread;
  if (cycle.next_gate) wake = std::min(wake, *cycle.next_gate);
  if (cycle.judging) wake = std::min(wake, now + std::chrono::duration_cast<core::Duration>(o.health_cadence));
  return std::max(wake, now);
}

namespace {

// However quiet the tree and the state, a full cycle (refresh, plan, apply)
// runs at least this often: a bound on what an unforeseen input could hide.
constexpr core::Duration kFullCycleEvery = std::chrono::hours(1);

// Recent events on the status page.
constexpr size_t kPageEvents = 30;

// The earliest time gate of a waiting stage, and whether a health gate is
// still judging (waiting on observations, not on time: no observation yet,
// or not enough finished tasks) or a first stage waits for a conflicting
// rollout's jobs to finish.
void Gates(const manifest::ManifestSet& manifests, const plan::Plan& p, Cycle& cycle) {
  for (const auto& r : p.rollouts) {
    // A first stage waiting for an earlier conflicting rollout to finish:
    // its jobs are observed at the same cadence.
    if (!r.stages.empty() && r.stages[0].action == plan::Action::kBlocked &&
        std::any_of(r.conflicts.begin(), r.conflicts.end(),
                    [](const plan::Conflict& c) { return c.other_first && !c.superseded; })) {
      cycle.judging = true;
    }
  }
  for (const auto& r : p.rollouts) {
    const manifest::Rollout* rollout = manifests.Find(r.name);
    for (const auto& s : r.stages) {
      if (s.action != plan::Action::kWaiting) continue;
      if (s.opens_at) {
        if (!cycle.next_gate || *s.opens_at < *cycle.next_gate) cycle.next_gate = s.opens_at;
      } else if (rollout != nullptr && static_cast<size_t>(s.index) < rollout->stages.size() &&
                 rollout->stages[static_cast<size_t>(s.index)].gate.health) {
        cycle.judging = true;
      }
    }
  }
}

std::string Short(const std::string& commit) {
  return commit.empty() ? "(not a git checkout)" : commit.substr(0, 12);
}

}  // namespace

// ---------------------------------------------------------------- the daemon

Daemon::Daemon(Options options, state::Store& store, apply::Platform& platform, core::Clock& clock, LogSink log,
               Metrics* metrics)
    : options_(std::move(options)),
      store_(store),
      platform_(platform),
      clock_(clock),
      log_(std::move(log)),
      metrics_(metrics) {}

Daemon::~Daemon() {
  if (metrics_ != nullptr) metrics_->LeaseHeld(false);
}

void Daemon::Log(const std::string& level, const std::string& kind, const std::string& message) const {
  if (!log_) return;
  LogLine line;
  line.level = level;
  line.kind = kind;
  line.message = message;
  log_(line);
}

void Daemon::StandBy(const core::Status& why) {
  std::string holder = "another otaroll";
  if (auto held = store_.ReadLease(); held.ok() && held->has_value()) {
    holder = fmt::format("{} pid {}", core::Printable((*held)->host), (*held)->pid);
  }
  const std::string reason = why.code() == core::Status::Code::kConflict
                                 ? fmt::format("standby, held by {}", holder)
                                 : fmt::format("standby, the state cannot be reached: {}", why.message());
  if (reason != standing_by_for_) {
    standing_by_for_ = reason;
    Log("info", "standby",
        reason + fmt::format("; taking over when it stops (lease TTL {}s)", options_.lease_ttl.count()));
  }
  if (metrics_ != nullptr) {
    metrics_->LeaseHeld(false);
    metrics_->Standby(true);
  }
  std::lock_guard<std::mutex> lock(mu_);
  health_.lease_held = false;
  health_.standby = true;
  health_.ready = false;
  health_.not_ready = reason;
}

core::Status Daemon::Start(Waker* waker) {
  if (options_.verify_commits && keys_ == nullptr) {
    auto keys = git::TrustedKeys::Import(options_.trusted_keys, options_.git_timeout);
    if (!keys.ok()) return keys.status();
    keys_ = std::move(*keys);
    Log("info", "start",
        fmt::format("--verify-commits: acting only on commits signed by {} key{} of {}", keys_->fingerprints().size(),
                    keys_->fingerprints().size() == 1 ? "" : "s", core::Printable(options_.trusted_keys)));
  }
  lease_.reset();  // a lost one (Run returned): released, if it still can be
  for (;;) {
    auto lease = apply::LeaseGuard::Acquire(store_, clock_, options_.heartbeat, options_.lease_ttl);
    if (lease.ok()) {
      lease_ = std::move(*lease);
      break;
    }
    const auto code = lease.status().code();
    const bool waits = code == core::Status::Code::kConflict || code == core::Status::Code::kUnavailable;
    if (!options_.standby || waker == nullptr || !waits) return lease.status();
    StandBy(lease.status());
    if (waker->WaitUntil(std::chrono::steady_clock::now() + options_.heartbeat) == Waker::Why::kStop) {
      return core::Status::Ok();
    }
  }
  standing_by_for_.clear();
  if (metrics_ != nullptr) metrics_->Standby(false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_.standby = false;
  }
  if (metrics_ != nullptr) metrics_->LeaseHeld(true);
  if (const auto& from = lease_->taken_over_from()) {
    Log("warn", "lease",
        fmt::format("took over the lease of pid {} on host {} (gone or expired)", from->pid,
                    core::Printable(from->host)));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_.lease_held = true;
    health_.not_ready = "no cycle has finished yet";
  }
  // What a restart on an invalid tree says it last acted on.
  auto events = store_.Events("");
  if (!events.ok()) return events.status();
  for (auto it = events->rbegin(); it != events->rend(); ++it) {
    if (it->kind != "cycle") continue;
    auto data = nlohmann::json::parse(it->data_json, nullptr, false);
    if (data.is_object() && !data.value("valid_commit", "").empty()) {
      valid_commit_ = data.value("valid_commit", "");
      valid_digest_ = data.value("digest", "");
      Log("info", "start",
          fmt::format("the last cycle recorded in state acted on commit {} (manifest digest {})", Short(valid_commit_),
                      valid_digest_.substr(0, 12)));
    }
    break;
  }
  return core::Status::Ok();
}

const manifest::ManifestSet* Daemon::LoadTree(Cycle& cycle) {
  git::Checkout git(options_.dir, options_.git_timeout);
  if (options_.git_pull) {
    auto pulled = git.FetchAndFastForward();
    if (!pulled.ok()) {
      Log("error", "git", pulled.status().message());
      (void)store_.AppendEvent(
          state::Event{0, clock_.Now(), "", "", std::nullopt, "git-failed", pulled.status().message(), ""});
    } else if (pulled->advanced()) {
      Log("info", "git",
          fmt::format("fast-forwarded {} from {} to {}", options_.dir, Short(pulled->before), Short(pulled->after)));
    }
  }
  if (auto head = git.Head(); head.ok()) cycle.commit = *head;
  std::vector<std::string> errors;
  const std::string untrusted = cycle.untrusted = Untrusted(git, cycle);
  if (!untrusted.empty()) {
    errors.push_back(untrusted);  // not even parsed: nothing of it is acted on
  } else {
    const int64_t parses = tree_.parses;
    auto loaded = manifest::LoadTree(options_.dir, tree_);
    if (!loaded.ok()) {
      errors.push_back(loaded.status().message());
    } else {
      for (const auto& d : (*loaded)->errors) errors.push_back(d.Format());
    }
    if (errors.empty() && (tree_.parses != parses || !valid_)) {
      // An unchanged tree was taken as valid_ the cycle it was parsed.
      resolved_.reset();  // it refers to valid_
      valid_ = (*loaded)->set;
      resolved_.emplace(*valid_);
    }
  }
  cycle.tree_valid = errors.empty();
  if (cycle.tree_valid) {
    valid_commit_ = cycle.commit;
    reported_invalid_.clear();
  } else {
    ReportInvalid(cycle, errors, !untrusted.empty());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_.tree_valid = cycle.tree_valid;
    health_.tree_errors = errors;
    health_.commit = cycle.commit;
    health_.tree_parses = tree_.parses;
  }
  if (metrics_ != nullptr) {
    metrics_->TreeValid(cycle.tree_valid);
    metrics_->Commit(cycle.commit);
  }
  return valid_ ? &*valid_ : nullptr;
}

std::string Daemon::Untrusted(const git::Checkout& git, Cycle& cycle) const {
  if (!keys_) return "";
  if (cycle.commit.empty()) {
    return fmt::format("{} is not a git checkout with a commit; --verify-commits acts only on signed commits",
                       options_.dir);
  }
  auto signer = keys_->Verify(options_.dir, cycle.commit);
  if (!signer.ok()) return signer.status().message();
  auto changes = git.Changes();
  if (!changes.ok()) return changes.status().message();
  for (const auto& path : *changes) {
    // Only what the walk reads counts (hidden files, such as the state, do not).
    const bool ignore_file = std::filesystem::path(path).filename() == manifest::kIgnoreFile;
    if (!manifest::IsManifestPath(path) && !ignore_file) continue;
    return fmt::format(
        "the checkout {} has changes that are not in commit {} ({}); with --verify-commits only what was signed is "
        "acted on: commit or discard them",
        options_.dir, Short(cycle.commit), core::Printable(path));
  }
  cycle.signer = *signer;
  return "";
}

void Daemon::ReportInvalid(const Cycle& cycle, const std::vector<std::string>& errors, bool untrusted) {
  // Reported once per commit and set of errors: every error, with its place.
  std::string key = cycle.commit;
  for (const auto& e : errors) key += "\n" + e;
  if (key == reported_invalid_) return;
  reported_invalid_ = key;
  const char* kind = untrusted ? "tree-untrusted" : "tree-invalid";
  for (const auto& e : errors) Log("error", kind, e);
  const char* good = untrusted ? "trusted" : "valid";
  const std::string what =
      valid_ ? fmt::format("the last {} tree{} keeps being reconciled", good,
                           valid_commit_.empty() ? "" : fmt::format(" (commit {})", Short(valid_commit_)))
      : valid_commit_.empty()
          ? fmt::format("no {} tree has been seen yet: nothing is done until one appears", good)
          : fmt::format("the last {} commit acted on was {}; nothing is done until a {} tree appears", good,
                        Short(valid_commit_), good);
  const std::string message =
      untrusted ? fmt::format("commit {} is not trusted; {}", Short(cycle.commit), what)
                : fmt::format("the tree at commit {} is invalid ({} error{}); {}", Short(cycle.commit), errors.size(),
                              errors.size() == 1 ? "" : "s", what);
  Log("error", kind, message);
  nlohmann::json data = {{"commit", cycle.commit}, {"errors", errors}};
  (void)store_.AppendEvent(state::Event{0, clock_.Now(), "", "", std::nullopt, kind, message, data.dump()});
}

bool Daemon::Quiet(core::Time now) {
  if (!quiet_ || tree_.parses != quiet_->parses) return false;
  if (quiet_->next_gate && now >= *quiet_->next_gate) return false;
  if (now - quiet_->planned_at >= kFullCycleEvery) return false;
  auto serial = store_.Serial();
  return serial.ok() && *serial == quiet_->serial;
}

Cycle Daemon::RunCycle(const std::function<bool()>& stop, bool full) {
  const auto started = std::chrono::steady_clock::now();
  Cycle cycle;
  const manifest::ManifestSet* manifests = LoadTree(cycle);
  const plan::Plan* planned = nullptr;
  apply::SessionResult result;
  const core::Time now = clock_.Now();
  if (manifests == nullptr) {
    cycle.outcome = "no-valid-tree";
    quiet_.reset();
  } else if (!full && cycle.tree_valid && Quiet(now)) {
    cycle.unchanged = true;
    cycle.outcome = "nothing-to-do";
    cycle.valid_commit = valid_commit_;
    cycle.digest = valid_digest_;
    cycle.next_gate = quiet_->next_gate;
  } else {
    quiet_.reset();
    cycle.valid_commit = valid_commit_;
    apply::SessionOptions o;
    o.apply = options_.apply;
    o.apply.stop = stop;
    o.apply.resolved = &*resolved_;
    o.held = lease_.get();
    o.track = apply::SessionOptions::Tracking{valid_commit_, options_.remind_after};
    o.apply.on_event = [&](const apply::ApplyEvent& e) {
      if (!log_) return;
      LogLine line;
      line.level = e.problem ? "warn" : "info";
      line.kind = apply::EventKindName(e.kind);
      line.rollout = e.rollout;
      line.stage = e.stage;
      line.attempt = e.attempt;
      line.job = e.job;
      line.code = e.code;
      line.message = e.message;
      log_(line);
    };
    auto applied = apply::ApplyOnce(store_, platform_, clock_, *manifests, o);
    if (!applied.ok()) {
      cycle.outcome = "error";
      cycle.error = applied.status().message();
      Log("error", "cycle", cycle.error);
    } else {
      result = std::move(*applied);
      cycle.report = result.report;
      cycle.digest = result.plan.manifest_digest;
      valid_digest_ = cycle.digest;
      planned = &result.latest();
      cycle.outcome = result.report.stopped && stop && stop()                         ? "stopped"
                      : result.outcome == apply::SessionResult::Outcome::kNothingToDo ? "nothing-to-do"
                                                                                      : "applied";
      // The plan after this cycle's creates: what waits, and until when.
      const plan::Plan& latest = result.latest();
      Gates(*manifests, latest, cycle);
      if (result.next_reminder && (!cycle.next_gate || *result.next_reminder < *cycle.next_gate)) {
        cycle.next_gate = result.next_reminder;  // a reminder falls due: wake then
      }
      if (result.settled) Publish(latest, std::move(result.observations));
      const apply::Report& r = result.report;
      if (cycle.outcome == "nothing-to-do" && cycle.tree_valid && !cycle.judging && r.ok() && r.observed == 0) {
        quiet_ = QuietInputs{tree_.parses, 0, cycle.next_gate, now};
      }
    }
    if (!cycle.tree_valid && cycle.outcome != "error") cycle.outcome = "invalid-tree";
  }
  cycle.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (auto s = Record(cycle); !s.ok()) {
    quiet_.reset();
    Log("error", "cycle", s.message());
  }
  Observe(cycle, planned);
  return cycle;
}

core::Status Daemon::Record(const Cycle& cycle) {
  const apply::Report& r = cycle.report;
  nlohmann::json data = {{"commit", cycle.commit},
                         {"signer", cycle.signer},
                         {"valid_commit", cycle.valid_commit},
                         {"digest", cycle.digest},
                         {"outcome", cycle.outcome},
                         {"tree_valid", cycle.tree_valid},
                         {"duration_ms", cycle.duration.count()},
                         {"created", r.created},
                         {"adopted", r.adopted},
                         {"failed", r.failed},
                         {"not_created", r.not_created + r.absent},
                         {"unknown", r.unknown},
                         {"superseded", r.superseded},
                         {"cancelled", r.cancelled},
                         {"observed", r.observed}};
  data["unchanged"] = cycle.unchanged;
  const std::string signed_by = cycle.signer.empty() ? "" : fmt::format(" (signed by {})", cycle.signer);
  const std::string message =
      cycle.unchanged ? fmt::format("cycle at commit {}: nothing-to-do (nothing changed since the last plan) in {} ms",
                                    Short(cycle.commit), cycle.duration.count())
                      : fmt::format("cycle at commit {}: {} ({} created, {} adopted, {} failed, {} unknown) in {} ms",
                                    Short(cycle.commit), cycle.outcome, r.created, r.adopted, r.failed, r.unknown,
                                    cycle.duration.count());
  Log(cycle.outcome == "error" ? "error" : "info", "cycle", message);
  auto tx = store_.Begin();
  if (!tx.ok()) return tx.status();
  auto appended =
      store_.AppendEvent(state::Event{0, clock_.Now(), "", "", std::nullopt, "cycle", message, data.dump()});
  if (!appended.ok()) return appended;
  auto serial = store_.Serial();
  if (!serial.ok()) return serial.status();
  if (auto s = tx->Commit(); !s.ok()) return s;
  if (quiet_) quiet_->serial = *serial;
  if (outbox_ != nullptr) outbox_->Wake();
  return core::Status::Ok();
}

void Daemon::Observe(const Cycle& cycle, const plan::Plan* plan) {
  const bool success = cycle.outcome == "applied" || cycle.outcome == "nothing-to-do";
  const core::Time now = clock_.Now();
  if (metrics_ != nullptr) {
    metrics_->CycleDone(cycle.outcome, static_cast<double>(cycle.duration.count()) / 1000.0, cycle.report,
                        success && cycle.report.ok(), static_cast<double>(now.time_since_epoch().count()) / 1000.0);
    if (plan != nullptr) metrics_->Stages(*plan);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++health_.cycles;
  health_.last_cycle = now;
  health_.valid_commit = valid_commit_;
  health_.digest = valid_digest_;
  if (success) health_.last_success = now;
  health_.ready = success && cycle.tree_valid;
  if (health_.ready) {
    health_.not_ready.clear();
  } else if (!cycle.tree_valid) {
    health_.not_ready = cycle.untrusted.empty()
                            ? fmt::format("the tree at commit {} is invalid", Short(cycle.commit))
                            : fmt::format("commit {} is not trusted: {}", Short(cycle.commit), cycle.untrusted);
  } else if (cycle.outcome == "error") {
    health_.not_ready = "the last cycle failed: " + cycle.error;
  } else {
    health_.not_ready = "the last cycle was " + cycle.outcome;
  }
}

core::Status Daemon::Run(Waker& waker) {
  bool full = false;  // SIGHUP: plan and apply even when nothing changed
  for (;;) {
    if (lease_->lost()) {
      if (metrics_ != nullptr) metrics_->LeaseHeld(false);
      {
        std::lock_guard<std::mutex> lock(mu_);
        health_.lease_held = false;
      }
      const std::string why = lease_->status().message();
      Log("error", "lease-lost", "the lease was lost: " + why + "; the daemon stops");
      apply::RecordLeaseLost(store_, clock_, *lease_);
      if (outbox_ != nullptr) outbox_->Wake();
      return core::Status::Conflict("the lease was lost: " + why + "; the daemon stopped");
    }
    Cycle cycle = RunCycle([&] { return waker.stopping() || lease_->lost(); }, full);
    full = false;
    if (waker.stopping()) return core::Status::Ok();
    if (lease_->lost()) continue;  // said above, at the top
    const core::Time now = clock_.Now();
    std::uniform_real_distribution<double> jitter(-1.0, 1.0);
    const core::Time wake = NextWake(cycle, now, options_, jitter(rng_));
    Log("info", "sleep",
        fmt::format("next cycle at {}{}", core::FormatRfc3339(wake),
                    cycle.next_gate && *cycle.next_gate <= wake ? " (a gate opens)" : ""));
    // At most a heartbeat apart, so a lost lease is noticed while sleeping.
    for (;;) {
      const auto left = wake - clock_.Now();
      if (left <= core::Duration::zero() || lease_->lost()) break;
      const auto step = std::min<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(left),
                                                            options_.heartbeat);
      const Waker::Why why = waker.WaitUntil(std::chrono::steady_clock::now() + step);
      if (why == Waker::Why::kStop) return core::Status::Ok();
      if (why == Waker::Why::kReconcile) {
        Log("info", "reconcile", "SIGHUP: reconciling now");
        full = true;
        break;
      }
    }
  }
}

void Daemon::Publish(const plan::Plan& plan, std::map<std::string, state::Observation> observations) {
  auto model = std::make_shared<PageModel>();
  model->plan = plan;
  model->observations = std::move(observations);
  if (auto events = store_.RecentEvents("", kPageEvents); events.ok()) model->events = std::move(*events);
  std::lock_guard<std::mutex> lock(mu_);
  page_ = std::move(model);
}

std::shared_ptr<const PageModel> Daemon::page() const {
  std::lock_guard<std::mutex> lock(mu_);
  return page_;
}

Health Daemon::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

}  // namespace otaroll::daemon
