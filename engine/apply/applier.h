// Apply: turns the plan into platform jobs, exactly once per stage part, with
// the intent protocol of SPEC §4:
//   1. a `pending` attempt is committed before each create;
//   2. the create is called;
//   3. success → `created` with job id, creation time and request id;
//   4. a definite rejection → `failed` (not retried until the spec changes or
//      --retry-failed);
//   5. throttling or a request that never left is retried by the client with
//      backoff; when that runs out the attempt is `failed` with
//      state::kNotCreated, which a later run tries again;
//   6. an outcome that cannot be known → `unknown`, resolved by lookup before
//      anything else touches the stage (Refresh);
//   7. a crash leaves at most a `pending` or `unknown` attempt, which the next
//      run's Refresh resolves.
//
// Refresh (before the plan is shown) reads the platform: it resolves pending
// and unknown attempts, finishes replacements a crash interrupted, records
// task observations for health gates and cancels halted jobs when the
// rollout says onHalt: cancel. Execute creates what the plan says, stage by
// stage, until no stage is eligible.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/events.h"
#include "apply/platform.h"
#include "core/clock.h"
#include "core/status.h"
#include "manifest/model.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "state/store.h"

namespace otaroll::apply {

struct Options {
  bool retry_failed = false;       // --retry-failed: permanent failures of the current spec are tried again
  bool cancel_superseded = false;  // --cancel-superseded (or spec.cancelSuperseded per rollout)
  bool prune = false;              // --prune: cancel orphaned jobs
  int prune_limit = 10;            // refuse to prune more than this many jobs at once
  // --prune-empty-tree: prune even when the manifests hold no rollout at all
  // (otherwise refused: an empty tree is more often a wrong path than intent).
  bool prune_empty_tree = false;
  int max_creates = -1;  // --max-creates; < 0: no limit
  // --concurrency: creates in flight at once. Independent stage parts (of
  // different rollouts, or the parts of one large stage) overlap; a rollout's
  // stages stay in order (one stage per rollout per wave). The platform must
  // then take calls from several threads (platform::Client does; its Pacer
  // keeps them within the account's budget).
  int concurrency = 1;
  bool intent_tags = false;  // stamp jobs with their intent id (alibaba)
  // A platform clock this far behind ours still counts as "created after the intent".
  core::Duration skew{std::chrono::minutes(5)};
  // An intent younger than this may still be in flight (a killed process's
  // request can reach the platform later): it is not concluded "not created".
  core::Duration settle{std::chrono::seconds(61)};
  // The manifests' specs resolved once (plan::Resolved): used while they are
  // the manifests a call is given; ApplyOnce makes one per run when unset,
  // the daemon keeps one while its tree is unchanged.
  const plan::Resolved* resolved = nullptr;
  // --plan: execute only the stages this saved plan creates or replaces.
  const plan::Plan* only = nullptr;
  // Checked before every create: true stops the run (the lease was lost).
  std::function<bool()> lease_lost;
  // Checked before every create: true stops the run, as lease_lost does:
  // the lease may run out before the call is answered (less than its
  // safety margin is certainly left; state::SafetyMargin).
  std::function<bool()> lease_unsafe;
  // Checked before every create: true stops the run quietly (a signal asked
  // the daemon to stop; the call in flight and its state write finish first).
  std::function<bool()> stop;
  // Every thing done and every problem, as it happens (apply/events.h).
  std::function<void(const ApplyEvent&)> on_event;
};

struct Report {
  int created = 0;      // jobs created in this run
  int adopted = 0;      // unknown outcomes resolved to an existing job
  int absent = 0;       // unknown outcomes the lookup proved created nothing (the stage is created again)
  int not_created = 0;  // creates that made nothing (throttled, never sent) and wait for the next run
  int failed = 0;       // definite rejections
  int unknown = 0;      // outcomes still unknown at the end
  int superseded = 0;
  int cancelled = 0;  // jobs whose tasks were cancelled (superseded, halted, pruned)
  int observed = 0;   // observations recorded
  int create_calls = 0;
  bool stopped = false;               // an authentication failure or a lost lease stopped the run
  std::vector<std::string> problems;  // the problem events' sentences, in order

  bool ok() const { return failed == 0 && unknown == 0 && not_created == 0 && !stopped && problems.empty(); }
};

class Applier {
 public:
  Applier(state::Store& store, Platform& platform, core::Clock& clock, Options options);

  core::Status Refresh(const manifest::ManifestSet& manifests, Report* report);
  core::Status Execute(const manifest::ManifestSet& manifests, Report* report);

  // The plan as apply sees it now (--retry-failed hides current failures).
  core::Result<plan::Plan> Plan(const manifest::ManifestSet& manifests);

 private:
  plan::Plan PlanFor(const manifest::ManifestSet& manifests, const state::Snapshot& snapshot) const;
  core::Status Resolve(const state::Snapshot& snapshot, Report* report);
  // Records that a lookup could not conclude (`why`): the attempt stays
  // unknown, with the failed call's code, and the run says so.
  core::Status StillUnknown(state::Attempt attempt, const platform::CallError& error, std::string why, Report* report);
  core::Status ResolveOne(state::Attempt attempt, const std::vector<platform::JobInfo>& jobs,
                          std::set<std::string>& known, Report* report);
  // The platform's jobs that are this attempt's (none: nothing was created);
  // nullopt when the run stopped or the lookup could not conclude (then
  // recorded by StillUnknown).
  core::Result<std::optional<std::vector<platform::JobInfo>>> FindJobs(const state::Attempt& attempt,
                                                                       const std::vector<platform::JobInfo>& jobs,
                                                                       const std::set<std::string>& known,
                                                                       Report* report);
  // Several jobs fit one intent: said as a problem and recorded.
  core::Status SayDuplicates(const state::Attempt& attempt, const std::vector<platform::JobInfo>& matches,
                             Report* report);
  core::Status FinishReplacements(const manifest::ManifestSet& manifests, const plan::Plan& p,
                                  const state::Snapshot& snapshot, Report* report);
  // Observes the jobs that gate a next stage's health, and the jobs of an
  // earlier conflicting rollout that a first stage waits for.
  core::Status Observe(const manifest::ManifestSet& manifests, const plan::Plan& p, Report* report);
  // Counts one job's tasks by status and records the observation; a failed
  // count is a problem of `rollout`/`stage` ("" = the rollout).
  core::Status ObserveJob(const std::string& rollout, const std::string& stage, const std::string& job_id,
                          Report* report);
  core::Status CancelHalted(const manifest::ManifestSet& manifests, const plan::Plan& p,
                            const state::Snapshot& snapshot, Report* report);
  // One stage to create in a wave (create.cc).
  struct StageWork {
    const manifest::Rollout* rollout = nullptr;
    plan::StagePlan stage;  // the plan's entry (the plan is made again for every wave)
    spec::StageSpec spec;
    std::vector<size_t> parts;  // the parts to create, in order
    bool halted = false;        // a part failed or was not started: the parts not started yet wait
    int started = 0;            // parts whose create was called in this wave
  };
  struct WaveRun;
  // The stages Execute creates next: per rollout, the first stage to create
  // or replace that was not tried in this run.
  core::Result<std::vector<StageWork>> NextWave(const manifest::ManifestSet& manifests, const plan::Plan& p,
                                                const state::Snapshot& snapshot, Report* report);
  // The parts of `stage` still to create (none when the manifest lacks it).
  std::optional<StageWork> Prepare(const manifest::Rollout& rollout, const plan::StagePlan& stage,
                                   const state::Snapshot& snapshot) const;
  // create.cc: every part of the wave, by up to Options::concurrency workers,
  // then the replacements it completed supersede their old jobs.
  core::Status CreateWave(std::vector<StageWork>& wave, Report* report);
  void CreateParts(WaveRun& run, Report* report);  // one worker, holding run.mu but for the calls
  // The intents of the next parts (up to WaveRun::batch), committed together
  // (one sync for several creates); the calls are made one by one after.
  core::Status WriteIntents(WaveRun& run, Report* report);
  // True (said once) when the lease was lost or a stop was asked: checked
  // before every batch of intents and before every call.
  bool Stopping(const StageWork& w, Report* report);
  // Whether a part may start: --max-creates counts the calls made and the
  // `in_hand` intents written for calls to come (said when not).
  bool Admit(StageWork& w, size_t part, size_t in_hand, Report* report);
  // An intent whose call was never made (the run stopped): not created.
  core::Status RecordNotSent(const StageWork& w, state::Attempt a, Report* report);
  core::Status RecordCreate(StageWork& w, state::Attempt a, const platform::CallResult<platform::CreatedJob>& r,
                            Report* report);
  core::Status Supersede(const manifest::Rollout& rollout, const std::string& stage, const std::string& hash,
                         int64_t replacement, const state::Snapshot& snapshot, Report* report);
  core::Status Prune(const plan::Plan& p, const state::Snapshot& snapshot, Report* report);

  core::Status Event(const state::Attempt* attempt, const std::string& rollout, const std::string& stage,
                     const std::string& kind, const std::string& message, const std::string& data_json = "");
  // The one way apply reports: Emit fills in the progress counts, collects
  // problems into the report and hands the event to Options::on_event.
  void Emit(ApplyEvent event, Report* report);
  void Say(EventKind kind, const state::Attempt& attempt, std::string message);
  void Problem(EventKind kind, const state::Attempt& attempt, std::string message, Report* report);
  void Problem(EventKind kind, const std::string& rollout, const std::string& stage, std::string message,
               Report* report);
  // An authentication failure (`error`, met while `what`) stops the run: it
  // is said once and true is returned; any other error returns false.
  bool Stopped(const platform::CallError& error, const std::string& what, Report* report);
  // The one place an attempt's outcome is recorded: its row and its history
  // event (`kind`, `message`, `data_json`), in one transaction. A create's
  // outcome is kLazy: its intent is durable, and an outcome a power loss
  // undoes leaves it pending, which the next run looks up (steps 6–7).
  core::Status Record(const state::Attempt& attempt, const std::string& kind, const std::string& message,
                      const std::string& data_json = "", state::Durability durability = state::Durability::kDurable);
  // create.cc: the intent of one part, with its event and the rollout's row,
  // in the caller's open transaction (committed before the call).
  core::Result<state::Attempt> WriteIntent(const manifest::Rollout& rollout, const std::string& stage,
                                           const spec::StageSpec& spec, size_t part);
  // create.cc: a create that failed (steps 4–6), recorded and said.
  core::Status RecordFailedCreate(state::Attempt attempt, const platform::CallError& error, const std::string& where,
                                  Report* report);

  state::Store& store_;
  Platform& platform_;
  core::Clock& clock_;
  Options options_;
  std::set<std::pair<std::string, std::string>> tried_;  // stages Execute already acted on
  int done_ = 0;                                         // creates attempted
  int due_ = 0;                                          // creates known to be due
};

}  // namespace otaroll::apply
