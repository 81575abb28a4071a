// `otaroll daemon` (SPEC §7, docs/daemon.md): the GitOps reconciler. It
// holds the lease for its whole life and loops, each cycle:
//   1. with --git-pull: fetch and fast-forward the checkout (git.h);
//   2. load the tree; an invalid tree is reported once and the last valid
//      tree keeps being reconciled (none yet: nothing is done);
//   3. the same engine path as `otaroll apply` (apply::ApplyOnce): refresh,
//      plan, execute;
//   4. record the cycle (commit, manifest digest, outcome, counts, duration)
//      as a "cycle" event in state;
// then waits until the next interval or the earliest instant a gate opens,
// whichever comes first (NextWake). The CLI (cli/daemon_cmd.cc) turns
// signals into Waker calls and serves Health on --listen.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "apply/applier.h"
#include "apply/platform.h"
#include "apply/session.h"
#include "core/clock.h"
#include "core/status.h"
#include "daemon/metrics.h"
#include "git/checkout.h"
#include "git/verify.h"
#include "manifest/loader.h"
#include "manifest/model.h"
#include "notify/outbox.h"
#include "plan/plan.h"
#include "state/store.h"

namespace otaroll::daemon {

struct Options {
  std::string dir = ".";
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  double jitter = 0.1;  // ± this share of the interval
  bool git_pull = false;
  std::chrono::milliseconds git_timeout{std::chrono::seconds(60)};
  // --verify-commits --trusted-keys FILE: act only on commits signed by a
  // key of FILE (git/verify.h); others are treated like an invalid tree.
  bool verify_commits = false;
  std::string trusted_keys;
  // While a health gate is still judging (observations gate the next
  // stage), the loop wakes at least this often to observe again.
  std::chrono::milliseconds health_cadence{std::chrono::seconds(30)};
  std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
  // --lease-ttl: another process may take the lease over this long after
  // its last heartbeat (docs/high-availability.md).
  std::chrono::seconds lease_ttl{std::chrono::seconds(30)};
  // A state several daemons share (PostgreSQL): while another process holds
  // the lease, Start stands by (trying again every heartbeat) instead of
  // failing; the CLI stands by again after a lost lease.
  bool standby = false;
  // --remind-after: a stage halted, held, waiting or unknown this long is
  // reminded of (notify/conditions.h); zero: never.
  core::Duration remind_after{std::chrono::hours(24)};
  apply::Options apply;  // --cancel-superseded, --prune, --max-creates, … (on_event is the daemon's)
};

// One line of the daemon's log (rendered as text or JSON by the CLI).
struct LogLine {
  std::string level;  // "info", "warn", "error"
  std::string kind;   // "cycle", "tree-invalid", "git", "created", … (apply's event kinds)
  std::string rollout, stage, attempt, job, code;
  std::string message;
};
using LogSink = std::function<void(const LogLine&)>;

// What one cycle did.
struct Cycle {
  std::string commit;        // "" when the tree is not a git checkout
  std::string signer;        // --verify-commits: the fingerprint of the key that signed it
  std::string untrusted;     // --verify-commits: why the commit is not acted on ("" = it is, or no check)
  std::string digest;        // the manifest digest acted on ("" when nothing was)
  std::string outcome;       // "applied", "nothing-to-do", "invalid-tree", "no-valid-tree", "error", "stopped"
  bool tree_valid = false;   // the tree as it is now
  std::string valid_commit;  // the commit of the tree acted on
  apply::Report report;
  std::string error;  // outcome "error": why
  std::chrono::milliseconds duration{0};
  std::optional<core::Time> next_gate;  // the earliest instant a waiting gate opens
  bool judging = false;                 // a health gate is still judging
  // Nothing the plan depends on changed since a quiet cycle (Daemon::Quiet):
  // neither planned nor applied again.
  bool unchanged = false;
};

// What the endpoints show (a copy taken under a lock).
struct Health {
  bool ready = false;     // a cycle succeeded and the tree is valid
  std::string not_ready;  // why not, one sentence
  bool tree_valid = false;
  std::vector<std::string> tree_errors;  // file:line:col: … of the invalid tree
  std::string commit, valid_commit, digest;
  std::optional<core::Time> last_cycle, last_success;
  int64_t cycles = 0;
  bool lease_held = false;
  bool standby = false;     // standing by for the lease another process holds (not_ready says whose)
  int64_t tree_parses = 0;  // cycles that parsed the tree (the others found it unchanged)
};

struct PageModel;  // daemon/page.h

// Wakes the loop: the next cycle is due, SIGHUP (reconcile now) or a stop.
class Waker {
 public:
  enum class Why { kDue, kReconcile, kStop };
  // Returns at `deadline`, or at once when asked to reconcile or stop.
  Why WaitUntil(std::chrono::steady_clock::time_point deadline);
  void Reconcile();
  void Stop();
  bool stopping() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool reconcile_ = false;
  bool stop_ = false;
};

// When the loop wakes next: `now` + `interval` with `jitter` (a sample in
// [-1, 1] scaled by the jitter share), or the earliest gate opening, or the
// health cadence while a health gate is judging, whichever comes first;
// never in the past.
core::Time NextWake(const Cycle& cycle, core::Time now, const Options& options, double jitter_sample);

class Daemon {
 public:
  Daemon(Options options, state::Store& store, apply::Platform& platform, core::Clock& clock, LogSink log,
         Metrics* metrics = nullptr);
  ~Daemon();

  // Takes the lease for the daemon's life (Conflict naming the holder), and
  // reads the last cycle recorded in state (what a restart on an invalid
  // tree says it last acted on). With Options::standby and a waker, a lease
  // held by another process (or a state that cannot be reached) is waited
  // for instead: /readyz says "standby, held by HOST pid N", and it is tried
  // again every heartbeat until it is taken (a dead holder at once, a
  // silent one after its TTL) or the waker says stop (Ok, holding()
  // false). May be called again after Run returned a lost lease.
  core::Status Start(Waker* waker = nullptr);
  // Whether the lease is held (after Start).
  bool holding() const { return lease_ != nullptr; }
  // One cycle; `stop` is checked before every create. `full`: plan and
  // apply even when nothing changed since a quiet cycle (SIGHUP).
  Cycle RunCycle(const std::function<bool()>& stop, bool full = false);
  // Cycles until the waker says stop (exit 0) or the lease is lost (an
  // error naming the new holder).
  core::Status Run(Waker& waker);

  // The notifications' outbox (notify/outbox.h), woken after each cycle's
  // events are written; null = none. Must outlive Run.
  void SetOutbox(notify::Outbox* outbox) { outbox_ = outbox; }

  Health health() const;
  // What the status page shows (daemon/page.h): the plan after the last
  // planned cycle, its observations and recent events; null before one.
  std::shared_ptr<const PageModel> page() const;

 private:
  // Loads the tree (and pulls first with --git-pull); sets the manifests to
  // act on, and reports an invalid tree once per commit and errors.
  const manifest::ManifestSet* LoadTree(Cycle& cycle);
  // --verify-commits: why the checked-out commit may not be acted on ("" =
  // it may: signed by a trusted key, and the checkout is what was signed).
  std::string Untrusted(const git::Checkout& git, Cycle& cycle) const;
  // An invalid or untrusted tree, reported once per commit and errors.
  void ReportInvalid(const Cycle& cycle, const std::vector<std::string>& errors, bool untrusted);
  // Whether the inputs of the last quiet cycle's plan are unchanged: the
  // same parsed tree, the same state serial (no write but the daemon's own
  // cycle events), no gate opened since and no full cycle due. Then this
  // cycle would plan exactly what that one did, and act on nothing.
  bool Quiet(core::Time now);
  // Records the cycle as an event; the state's serial after it is what the
  // next Quiet compares with (read in the same transaction).
  core::Status Record(const Cycle& cycle);
  void Log(const std::string& level, const std::string& kind, const std::string& message) const;
  // Standing by: says why (once per holder) on the log, /readyz and metrics.
  void StandBy(const core::Status& why);
  void Observe(const Cycle& cycle, const plan::Plan* plan);
  // Publishes what the status page shows after a planned cycle.
  void Publish(const plan::Plan& plan, std::map<std::string, state::Observation> observations);

  Options options_;
  state::Store& store_;
  apply::Platform& platform_;
  core::Clock& clock_;
  LogSink log_;
  Metrics* metrics_;
  notify::Outbox* outbox_ = nullptr;
  std::unique_ptr<apply::LeaseGuard> lease_;
  std::unique_ptr<git::TrustedKeys> keys_;      // --verify-commits
  manifest::TreeCache tree_;                    // what was parsed last: unchanged trees are not parsed again
  std::optional<manifest::ManifestSet> valid_;  // the last valid tree
  std::optional<plan::Resolved> resolved_;      // valid_'s specs, resolved once per tree
  std::string valid_commit_, valid_digest_;
  std::string reported_invalid_;  // the commit and errors last reported invalid
  std::string standing_by_for_;   // the holder last logged while standing by
  // What the last quiet cycle planned on: a cycle that did nothing but read
  // (no create, no observation, no problem, no health gate judging).
  struct QuietInputs {
    int64_t parses = 0;  // tree_.parses then
    int64_t serial = 0;  // the state's serial after its cycle event
    std::optional<core::Time> next_gate;
    core::Time planned_at{};  // of the last full cycle
  };
  std::optional<QuietInputs> quiet_;
  std::mt19937_64 rng_{std::random_device{}()};

  mutable std::mutex mu_;
  Health health_;                          // guarded by mu_
  std::shared_ptr<const PageModel> page_;  // guarded by mu_
};

}  // namespace otaroll::daemon
