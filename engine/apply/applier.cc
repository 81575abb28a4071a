#include "apply/applier.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "apply/helpers.h"
#include "apply/match.h"
#include "core/random.h"
#include "platform/wire.h"
#include "spec/spec.h"

namespace otaroll::apply {
namespace {

using state::Attempt;
using state::AttemptStatus;

// The plan's stage entry for (rollout, stage), or nullptr.
const plan::StagePlan* FindStage(const plan::Plan& p, const std::string& rollout, const std::string& stage) {
  for (const auto& r : p.rollouts) {
    if (r.name != rollout) continue;
    for (const auto& s : r.stages) {
      if (s.name == stage) return &s;
    }
  }
  return nullptr;
}

// `a` once the unfinished tasks of its job were cancelled; `retire`: it no
// longer speaks for its stage (superseded or pruned), else it stays created.
Attempt AfterCancel(Attempt a, bool retire, core::Time now) {
  if (retire) a.status = AttemptStatus::kCancelled;
  a.job_status = platform::kJobCanceled;
  a.updated_at = now;
  return a;
}

}  // namespace

std::map<int, const Attempt*> CreatedParts(const state::Snapshot& s, const std::string& rollout,
                                           const std::string& stage, const std::string& hash) {
  std::vector<const Attempt*> stage_attempts;
  for (const auto& a : s.attempts) {
    if (a.rollout == rollout && a.stage == stage) stage_attempts.push_back(&a);
  }
  return state::CurrentParts(stage_attempts, hash,
                             [](const Attempt& a) { return a.status == AttemptStatus::kCreated; });
}

Applier::Applier(state::Store& store, Platform& platform, core::Clock& clock, Options options)
    : store_(store), platform_(platform), clock_(clock), options_(std::move(options)) {}

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kCreated: return "created";
    case EventKind::kAdopted: return "adopted";
    case EventKind::kNotCreated: return "not-created";
    case EventKind::kFailed: return "failed";
    case EventKind::kUnknown: return "unknown";
    case EventKind::kDuplicate: return "duplicate";
    case EventKind::kSuperseded: return "superseded";
    case EventKind::kCancelled: return "cancelled";
    case EventKind::kPruned: return "pruned";
    case EventKind::kObserveFailed: return "observe-failed";
    case EventKind::kCancelFailed: return "cancel-failed";
    case EventKind::kSkipped: return "skipped";
    case EventKind::kLeaseLost: return "lease-lost";
    case EventKind::kStopped: return "stopped";
  }
  return "unknown";
}

void Applier::Emit(ApplyEvent e, Report* report) {
  e.done = done_;
  e.due = due_;
  if (e.problem && report != nullptr) report->problems.push_back(e.message);
  if (options_.on_event) options_.on_event(e);
}

void Applier::Say(EventKind kind, const Attempt& a, std::string message) {
  Emit(ApplyEvent{kind, a.rollout, a.stage, a.intent_id, a.job_id, a.error_code, std::move(message)}, nullptr);
}

void Applier::Problem(EventKind kind, const Attempt& a, std::string message, Report* report) {
  ApplyEvent e{kind, a.rollout, a.stage, a.intent_id, a.job_id, a.error_code, std::move(message)};
  e.problem = true;
  Emit(std::move(e), report);
}

void Applier::Problem(EventKind kind, const std::string& rollout, const std::string& stage, std::string message,
                      Report* report) {
  ApplyEvent e;
  e.kind = kind;
  e.rollout = rollout;
  e.stage = stage;
  e.message = std::move(message);
  e.problem = true;
  Emit(std::move(e), report);
}

core::Status Applier::Event(const Attempt* attempt, const std::string& rollout, const std::string& stage,
                            const std::string& kind, const std::string& message, const std::string& data_json) {
  state::Event e;
  e.at = clock_.Now();
  e.rollout = rollout;
  e.stage = stage;
  if (attempt != nullptr && attempt->id > 0) e.attempt_id = attempt->id;
  e.kind = kind;
  e.message = message;
  e.data_json = data_json;
  return store_.AppendEvent(e);
}

core::Status Applier::Record(const Attempt& a, const std::string& kind, const std::string& message,
                             const std::string& data_json, state::Durability durability) {
  auto tx = store_.Begin(durability);
  if (!tx.ok()) return tx.status();
  if (auto s = store_.UpdateAttempt(a); !s.ok()) return s;
  if (auto s = Event(&a, a.rollout, a.stage, kind, message, data_json); !s.ok()) return s;
  return tx->Commit();
}

bool Applier::Stopped(const platform::CallError& error, const std::string& what, Report* report) {
  if (error.cls != platform::ErrorClass::kAuth) return false;
  report->stopped = true;
  ApplyEvent e;
  e.kind = EventKind::kStopped;
  e.code = error.code;
  e.message = fmt::format("the platform refused the credentials while {}: {}; the run stopped", what, error.Describe());
  e.problem = true;
  Emit(std::move(e), report);
  return true;
}

core::Result<plan::Plan> Applier::Plan(const manifest::ManifestSet& manifests) {
  auto snapshot = store_.Load();
  if (!snapshot.ok()) return snapshot.status();
  return PlanFor(manifests, *snapshot);
}

plan::Plan Applier::PlanFor(const manifest::ManifestSet& manifests, const state::Snapshot& snapshot) const {
  const state::Snapshot* planned = &snapshot;
  state::Snapshot hidden;
  if (options_.retry_failed) {
    // Permanent failures are hidden from the planner: their stages are
    // planned as if never tried. Only failures of specs still in the
    // manifests matter; others are history.
    hidden = snapshot;
    for (auto& a : hidden.attempts) {
      if (a.status == AttemptStatus::kFailed) a.status = AttemptStatus::kCancelled;
    }
    planned = &hidden;
  }
  if (options_.resolved != nullptr && &options_.resolved->manifests() == &manifests) {
    return plan::Build(*options_.resolved, *planned, clock_.Now());
  }
  return plan::Build(manifests, *planned, clock_.Now());
}

// ---------------------------------------------------------------- refresh

core::Status Applier::Refresh(const manifest::ManifestSet& manifests, Report* report) {
  auto snapshot = store_.Load();
  if (!snapshot.ok()) return snapshot.status();
  if (auto s = Resolve(*snapshot, report); !s.ok() || report->stopped) return s;

  snapshot = store_.Load();
  if (!snapshot.ok()) return snapshot.status();
  plan::Plan p = PlanFor(manifests, *snapshot);
  if (auto s = FinishReplacements(manifests, p, *snapshot, report); !s.ok() || report->stopped) return s;
  if (auto s = Observe(manifests, p, report); !s.ok() || report->stopped) return s;

  // Observations can halt a rollout.
  snapshot = store_.Load();
  if (!snapshot.ok()) return snapshot.status();
  return CancelHalted(manifests, PlanFor(manifests, *snapshot), *snapshot, report);
}

core::Status Applier::FinishReplacements(const manifest::ManifestSet& manifests, const plan::Plan& p,
                                         const state::Snapshot& snapshot, Report* report) {
  const state::AttemptsByStage by_stage(snapshot);
  for (const auto& r : p.rollouts) {
    const manifest::Rollout* rollout = manifests.Find(r.name);
    if (rollout == nullptr) continue;
    for (const auto& s : r.stages) {
      if (s.action != plan::Action::kInSync) continue;
      const state::StageAttempts attempts = by_stage.Of(r.name, s.name);
      if (attempts.empty()) continue;
      bool stale = std::any_of(attempts.begin(), attempts.end(), [&](const Attempt* a) {
        return a->status == AttemptStatus::kCreated && a->spec_hash != s.spec_hash;
      });
      if (!stale) continue;
      auto parts = state::CurrentParts(attempts, s.spec_hash,
                                       [](const Attempt& a) { return a.status == AttemptStatus::kCreated; });
      if (parts.empty()) continue;
      if (auto st = Supersede(*rollout, s.name, s.spec_hash, parts.rbegin()->second->id, snapshot, report);
          !st.ok() || report->stopped) {
        return st;
      }
    }
  }
  return core::Status::Ok();
}

core::Status Applier::Supersede(const manifest::Rollout& rollout, const std::string& stage, const std::string& hash,
                                int64_t replacement, const state::Snapshot& snapshot, Report* report) {
  bool cancel = options_.cancel_superseded || rollout.cancel_superseded;
  for (const auto& old : snapshot.attempts) {
    if (old.rollout != rollout.name || old.stage != stage || old.status != AttemptStatus::kCreated ||
        old.spec_hash == hash) {
      continue;
    }
    const std::string where = StageName(rollout.name, stage);
    if (cancel) {
      auto r = platform_.CancelTasks(old.job_id, platform::CancelWhich{});
      if (r.ok()) {
        if (auto s = Record(AfterCancel(old, true, clock_.Now()), "superseded",
                            fmt::format("job {} superseded by attempt {}; its unfinished tasks were cancelled",
                                        old.job_id, replacement));
            !s.ok()) {
          return s;
        }
        ++report->cancelled;
        ++report->superseded;
        Say(EventKind::kSuperseded, old,
            fmt::format("{}: job {} superseded; its unfinished tasks were cancelled", where, old.job_id));
        continue;
      }
      if (Stopped(r.error(), fmt::format("cancelling the tasks of job {}", old.job_id), report)) {
        return core::Status::Ok();
      }
      Problem(EventKind::kCancelFailed, old,
              fmt::format("{}: cancelling the tasks of superseded job {} failed: {}", where, old.job_id,
                          r.error().Describe()),
              report);
    }
    if (auto s = store_.MarkSuperseded(old.id, replacement); !s.ok()) return s;
    ++report->superseded;
    Say(EventKind::kSuperseded, old, fmt::format("{}: job {} superseded", where, old.job_id));
    if (auto s = Event(&old, rollout.name, stage, "superseded",
                       fmt::format("job {} superseded by attempt {}{}", old.job_id, replacement,
                                   cancel ? "; cancelling its tasks failed" : ""));
        !s.ok()) {
      return s;
    }
  }
  return core::Status::Ok();
}

core::Status Applier::Observe(const manifest::ManifestSet& manifests, const plan::Plan& p, Report* report) {
  std::set<std::string> seen;  // each job once per refresh
  for (const auto& r : p.rollouts) {
    const manifest::Rollout* rollout = manifests.Find(r.name);
    if (rollout == nullptr) continue;
    // The jobs that gate a next stage's health.
    for (size_t i = 1; i < r.stages.size(); ++i) {
      const plan::StagePlan& s = r.stages[i];
      const plan::StagePlan& before = r.stages[i - 1];
      if (!rollout->stages[i].gate.health || s.action == plan::Action::kInSync ||
          before.action != plan::Action::kInSync) {
        continue;
      }
      for (const auto& job : before.jobs) {
        if (job.spec_hash != before.spec_hash || job.status != "created" || job.job_id.empty()) continue;
        if (!seen.insert(job.job_id).second) continue;
        if (auto st = ObserveJob(r.name, before.name, job.job_id, report); !st.ok() || report->stopped) return st;
      }
    }
    // The jobs of an earlier conflicting rollout this one's first stage waits for.
    if (r.stages.empty() || r.stages[0].action != plan::Action::kBlocked) continue;
    for (const auto& c : r.conflicts) {
      if (!c.other_first || c.superseded) continue;
      for (const auto& job : c.unfinished_jobs) {
        if (!seen.insert(job).second) continue;
        if (auto st = ObserveJob(c.rollout, "", job, report); !st.ok() || report->stopped) return st;
      }
    }
  }
  return core::Status::Ok();
}

core::Status Applier::ObserveJob(const std::string& rollout, const std::string& stage, const std::string& job_id,
                                 Report* report) {
  state::Observation o;
  o.job_id = job_id;
  o.observed_at = clock_.Now();
  for (const auto& status : state::TaskStatuses()) {
    auto n = platform_.CountTasks(job_id, status);
    if (!n.ok()) {
      if (Stopped(n.error(), fmt::format("counting the tasks of job {}", job_id), report)) return core::Status::Ok();
      Problem(EventKind::kObserveFailed, rollout, stage,
              fmt::format("{}: counting the {} tasks of job {} failed: {}",
                          stage.empty() ? rollout : StageName(rollout, stage), status, job_id, n.error().Describe()),
              report);
      return core::Status::Ok();
    }
    if (*n > 0) o.by_status[status] = *n;
    // The total is the sum of what was counted: tasks move between
    // statuses while they are counted, so a separate total would not add up.
    o.total += *n;
  }
  if (auto st = store_.AddObservation(o); !st.ok()) return st;
  ++report->observed;
  return core::Status::Ok();
}

core::Status Applier::CancelHalted(const manifest::ManifestSet& manifests, const plan::Plan& p,
                                   const state::Snapshot& snapshot, Report* report) {
  for (const auto& r : p.rollouts) {
    const manifest::Rollout* rollout = manifests.Find(r.name);
    if (rollout == nullptr || rollout->on_halt != manifest::OnHalt::kCancel) continue;
    for (size_t i = 1; i < r.stages.size(); ++i) {
      if (r.stages[i].action != plan::Action::kHalted) continue;
      const plan::StagePlan& before = r.stages[i - 1];
      for (const auto& a : snapshot.attempts) {
        if (a.rollout != r.name || a.stage != before.name || a.spec_hash != before.spec_hash ||
            a.status != AttemptStatus::kCreated || a.job_status == platform::kJobCanceled) {
          continue;
        }
        auto c = platform_.CancelTasks(a.job_id, platform::CancelWhich{});
        if (!c.ok()) {
          if (Stopped(c.error(), fmt::format("cancelling the tasks of job {}", a.job_id), report)) {
            return core::Status::Ok();
          }
          Problem(EventKind::kCancelFailed, a,
                  fmt::format("{}: cancelling the tasks of halted job {} failed: {}", StageName(r.name, before.name),
                              a.job_id, c.error().Describe()),
                  report);
          continue;
        }
        if (auto s = Record(AfterCancel(a, false, clock_.Now()), "halt-cancelled",
                            fmt::format("health gate of stage {} breached; cancelled the unfinished tasks of job {}",
                                        r.stages[i].name, a.job_id));
            !s.ok()) {
          return s;
        }
        ++report->cancelled;
        Say(EventKind::kCancelled, a,
            fmt::format("{}: the health gate of stage {} was breached (onHalt: cancel); the unfinished tasks of job {} "
                        "were cancelled",
                        StageName(r.name, before.name), r.stages[i].name, a.job_id));
      }
    }
  }
  return core::Status::Ok();
}

// ---------------------------------------------------------------- execute

core::Status Applier::Execute(const manifest::ManifestSet& manifests, Report* report) {
  for (;;) {
    if (report->stopped) return core::Status::Ok();
    auto snapshot = store_.Load();
    if (!snapshot.ok()) return snapshot.status();
    auto wave = NextWave(manifests, PlanFor(manifests, *snapshot), *snapshot, report);
    if (!wave.ok()) return wave.status();
    if (wave->empty()) break;
    if (auto st = CreateWave(*wave, report); !st.ok()) return st;
  }
  if (options_.prune && !report->stopped) {
    auto snapshot = store_.Load();
    if (!snapshot.ok()) return snapshot.status();
    return Prune(PlanFor(manifests, *snapshot), *snapshot, report);
  }
  return core::Status::Ok();
}

core::Result<std::vector<Applier::StageWork>> Applier::NextWave(const manifest::ManifestSet& manifests,
                                                                const plan::Plan& p, const state::Snapshot& snapshot,
                                                                Report* report) {
  std::vector<StageWork> wave;
  for (const auto& r : p.rollouts) {
    const manifest::Rollout* rollout = manifests.Find(r.name);
    for (const auto& s : r.stages) {
      if (s.action != plan::Action::kCreate && s.action != plan::Action::kReplace) continue;
      if (!tried_.insert({r.name, s.name}).second) continue;  // one try per stage per run
      if (options_.only != nullptr) {
        const plan::StagePlan* saved = FindStage(*options_.only, r.name, s.name);
        if (saved == nullptr || (saved->action != plan::Action::kCreate && saved->action != plan::Action::kReplace) ||
            saved->spec_hash != s.spec_hash) {
          continue;
        }
      }
      if (options_.max_creates >= 0 && report->create_calls >= options_.max_creates) {
        Problem(
            EventKind::kSkipped, r.name, s.name,
            fmt::format("{}: not started: --max-creates {} reached", StageName(r.name, s.name), options_.max_creates),
            report);
        continue;
      }
      auto work = Prepare(*rollout, s, snapshot);
      if (!work) continue;
      due_ += s.parts_to_create;
      wave.push_back(std::move(*work));
      break;  // this rollout's later stages wait for the next wave
    }
  }
  return wave;
}

core::Status Applier::Prune(const plan::Plan& p, const state::Snapshot& snapshot, Report* report) {
  std::vector<const Attempt*> jobs;
  for (const auto& o : p.orphans) {
    for (const auto& a : snapshot.attempts) {
      if (a.intent_id == o.job.intent_id && a.status == AttemptStatus::kCreated) jobs.push_back(&a);
    }
  }
  if (jobs.empty()) return core::Status::Ok();
  if (p.rollouts.empty() && !options_.prune_empty_tree) {
    Problem(
        EventKind::kSkipped, "", "",
        fmt::format(
            "the manifests hold no rollout at all; --prune refuses to cancel all {} job{} from an empty tree (a wrong "
            "path or an empty checkout looks the same); nothing was pruned; to prune them all on purpose, add "
            "--prune-empty-tree",
            jobs.size(), jobs.size() == 1 ? "" : "s"),
        report);
    return core::Status::Ok();
  }
  if (static_cast<int>(jobs.size()) > options_.prune_limit) {
    Problem(
        EventKind::kSkipped, "", "",
        fmt::format("{} orphaned jobs exceed --prune-limit {}; nothing was pruned; raise the limit to prune them all",
                    jobs.size(), options_.prune_limit),
        report);
    return core::Status::Ok();
  }
  for (const Attempt* a : jobs) {
    auto c = platform_.CancelTasks(a->job_id, platform::CancelWhich{});
    if (!c.ok()) {
      if (Stopped(c.error(), fmt::format("cancelling the tasks of job {}", a->job_id), report)) {
        return core::Status::Ok();
      }
      Problem(EventKind::kCancelFailed, *a,
              fmt::format("{}: pruning job {} failed: {}", StageName(a->rollout, a->stage), a->job_id,
                          c.error().Describe()),
              report);
      continue;
    }
    if (auto s = Record(AfterCancel(*a, true, clock_.Now()), "pruned",
                        fmt::format("the stage is no longer in the manifests; cancelled the unfinished tasks of job {}",
                                    a->job_id));
        !s.ok()) {
      return s;
    }
    ++report->cancelled;
    Say(EventKind::kPruned, *a,
        fmt::format("{}: orphaned job {} pruned (its unfinished tasks were cancelled)", StageName(a->rollout, a->stage),
                    a->job_id));
  }
  return core::Status::Ok();
}

}  // namespace otaroll::apply
