// The planner: for every stage, one state of SPEC §2 and the reason for it.
// A pure function of (manifests, state snapshot, now).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/parallel.h"
#include "core/sha256.h"
#include "manifest/window.h"
#include "plan/conflicts.h"
#include "plan/plan.h"
#include "state/request.h"

namespace otaroll::plan {
namespace {

using state::Attempt;
using state::AttemptStatus;

using state::Active;
using state::Unresolved;

JobRef ToJobRef(const Attempt& a) {
  return JobRef{a.job_id, a.intent_id,      a.spec_hash,  state::StatusName(a.status),
                a.part,   a.job_created_at, a.error_code, a.error_message};
}

std::string Percent(double v) {
  return fmt::format("{:.1f}%", v);
}

// What the planner derived about one stage that the next stage's gate needs.
struct StageFacts {
  Action action = Action::kCreate;
  bool created = false;                  // every part of the current spec has a job
  std::optional<core::Time> created_at;  // when the last of those jobs was created
  std::vector<std::string> job_ids;      // the current spec's jobs
  const Attempt* failure = nullptr;      // the current spec's permanent failure
};

class Planner {
 public:
  Planner(const state::Snapshot& state, core::Time now, const std::vector<manifest::Freeze>& freezes)
      : state_(state), now_(now), freezes_(freezes), by_stage_(state) {}

  RolloutPlan PlanRollout(const manifest::Rollout& r, const std::vector<spec::StageSpec>& specs,
                          std::vector<Conflict> conflicts) const {
    RolloutPlan out{r.name, r.name_position, r.product_key, r.firmware_id, r.paused, {}, std::move(conflicts)};
    out.stages.reserve(r.stages.size());
    StageFacts prev;
    for (size_t i = 0; i < r.stages.size(); ++i) {
      StageFacts facts;
      out.stages.push_back(PlanStage(r, i, specs[i], out.conflicts, i == 0 ? nullptr : &prev, facts));
      prev = facts;
    }
    return out;
  }

  // Each overlapping pair whose earlier rollout has not finished, from both
  // sides, by rollout name (plan.h, Conflict).
  std::map<std::string, std::vector<Conflict>> Conflicts(const Resolved& resolved) const {
    const manifest::ManifestSet& set = resolved.manifests();
    std::map<std::string, std::vector<Conflict>> out;
    for (const auto& [a, b] : OverlappingPairs(set)) {
      const Progress pa = ProgressOf(*a, resolved, *set.FindIndex(a->name));
      const Progress pb = ProgressOf(*b, resolved, *set.FindIndex(b->name));
      // By first-stage creation, else by name (a's is the smaller).
      const bool a_first = pa.first_created && pb.first_created ? *pa.first_created <= *pb.first_created
                                                                : pa.first_created || !pb.first_created;
      const manifest::Rollout& earlier = a_first ? *a : *b;
      const manifest::Rollout& later = a_first ? *b : *a;
      const Progress& progress = a_first ? pa : pb;
      if (progress.finished) continue;
      const bool superseded = Supersedes(later, earlier);
      out[later.name].push_back(Conflict{earlier.name, true, superseded, progress.unfinished_jobs});
      out[earlier.name].push_back(Conflict{later.name, false, superseded, {}});
    }
    for (auto& [name, list] : out) {
      std::sort(list.begin(), list.end(), [](const Conflict& x, const Conflict& y) { return x.rollout < y.rollout; });
    }
    return out;
  }

  std::vector<Orphan> Orphans(const manifest::ManifestSet& manifests) const {
    std::vector<Orphan> out;
    for (const state::StageAttempts attempts : by_stage_.Stages()) {
      const std::string& rollout = attempts.front()->rollout;
      const std::string& stage_name = attempts.front()->stage;
      const manifest::Rollout* r = manifests.Find(rollout);
      bool known = r && std::any_of(r->stages.begin(), r->stages.end(),
                                    [&](const manifest::Stage& s) { return s.name == stage_name; });
      if (known) continue;
      for (const Attempt* a : attempts) {
        if (Active(*a) && a->status != AttemptStatus::kFailed) out.push_back(Orphan{rollout, stage_name, ToJobRef(*a)});
      }
    }
    return out;
  }

 private:
  // How far a rollout has come, for its conflicts.
  struct Progress {
    std::optional<core::Time> first_created;  // its first stage's earliest job
    bool finished = false;                    // every stage created, every job finished
    std::vector<std::string> unfinished_jobs;
  };

  // A job is finished once cancelled or completed, or when its last
  // observation counts no task still to run.
  bool JobFinished(const Attempt& a) const {
    if (a.job_status == "CANCELED" || a.job_status == "COMPLETED") return true;
    auto o = state_.observations.find(a.job_id);
    if (o == state_.observations.end() || o->second.total == 0) return false;
    const state::Observation& seen = o->second;
    return seen.Count("CONFIRM") + seen.Count("QUEUED") + seen.Count("NOTIFIED") + seen.Count("IN_PROGRESS") == 0;
  }

  Progress ProgressOf(const manifest::Rollout& r, const Resolved& resolved, size_t index) const {
    Progress p;
    bool all_created = true;
    for (size_t i = 0; i < r.stages.size(); ++i) {
      const state::StageAttempts attempts = by_stage_.Of(r.name, r.stages[i].name);
      for (const Attempt* a : attempts) {
        if (i == 0 && a->status == AttemptStatus::kCreated && a->job_created_at &&
            (!p.first_created || *a->job_created_at < *p.first_created)) {
          p.first_created = a->job_created_at;
        }
      }
      const auto created = state::CurrentParts(attempts, resolved.hash(index, i),
                                               [](const Attempt& a) { return a.status == AttemptStatus::kCreated; });
      if (created.size() < resolved.parts(index, i)) all_created = false;
      for (const auto& [part, a] : created) {
        if (!JobFinished(*a)) p.unfinished_jobs.push_back(a->job_id);
      }
    }
    p.finished = all_created && p.unfinished_jobs.empty();
    return p;
  }

  StagePlan PlanStage(const manifest::Rollout& r, size_t i, const spec::StageSpec& spec,
                      const std::vector<Conflict>& conflicts, const StageFacts* prev, StageFacts& facts) const {
    const manifest::Stage& stage = r.stages[i];
    StagePlan p;
    p.name = stage.name;
    p.index = static_cast<int>(i);
    p.target = spec::DescribeTarget(*spec.params);
    p.spec_hash = spec.hash;
    p.parts = static_cast<int>(spec.part_count());
    p.params = spec.params;
    p.position = stage.position;

    const state::StageAttempts attempts = by_stage_.Of(r.name, stage.name);
    for (const Attempt* a : attempts) p.jobs.push_back(ToJobRef(*a));

    // The current spec's attempts, the newest per part.
    const std::map<int, const Attempt*> current = state::CurrentParts(attempts, spec.hash, Active);
    const Attempt* replaced = nullptr;  // newest created job of an older spec
    for (const Attempt* a : attempts) {
      if (Active(*a) && a->spec_hash != spec.hash && a->status == AttemptStatus::kCreated) replaced = a;
    }
    p.duplicate_jobs = state::DuplicateJobs(attempts, spec.hash);
    int created = 0;
    for (const auto& [part, a] : current) {
      if (a->status == AttemptStatus::kCreated && part < p.parts) {
        ++created;
        facts.job_ids.push_back(a->job_id);
        if (a->job_created_at && (!facts.created_at || *a->job_created_at > *facts.created_at)) {
          facts.created_at = a->job_created_at;
        }
      } else if (a->status == AttemptStatus::kFailed && a->error_code != state::kNotCreated && !facts.failure) {
        facts.failure = a;
      }
    }
    facts.created = created == p.parts;
    p.parts_to_create = p.parts - created;

    auto decide = [&](Action action, std::string reason = "", std::string cause = "") {
      p.action = facts.action = action;
      p.reason = std::move(reason);
      p.cause = std::move(cause);
      if (action != Action::kCreate && action != Action::kReplace) p.parts_to_create = 0;
      return p;
    };

    // 1. An attempt whose outcome is not known comes before anything else.
    for (const Attempt* a : attempts) {
      if (!Active(*a) || !Unresolved(*a)) continue;
      return decide(Action::kUnknown,
                    a->status == AttemptStatus::kPending
                        ? fmt::format("attempt {} was interrupted before its outcome was recorded (pending since {}); "
                                      "apply looks the job up on the platform before anything else",
                                      a->intent_id, core::FormatRfc3339(a->updated_at))
                        : fmt::format("the outcome of attempt {} is unknown (since {}); apply looks the job up on "
                                      "the platform before anything else",
                                      a->intent_id, core::FormatRfc3339(a->updated_at)),
                    "outcome");
    }
    // 2. Done already.
    if (facts.created) return decide(Action::kInSync);
    // 3. The current spec was rejected: no retry until it changes.
    if (facts.failure) {
      return decide(Action::kBlocked,
                    fmt::format("the last attempt failed ({}: {}); change the stage or run `otaroll apply "
                                "--retry-failed`",
                                facts.failure->error_code, facts.failure->error_message),
                    "failed");
    }
    if (replaced) {
      p.previous_hash = replaced->spec_hash;
      std::vector<std::map<std::string, std::string>> old_parts;
      for (const Attempt* a : attempts) {
        if (a->status == AttemptStatus::kCreated && a->spec_hash == replaced->spec_hash)
          old_parts.push_back(state::ParamsOf(a->request));
      }
      p.changes = spec::Diff(spec::Unflatten(old_parts), *spec.params);
    }
    // 4. Gates.
    if (r.paused) return decide(Action::kHeld, "the rollout is paused (spec.paused: true)", "paused");
    const bool started = std::any_of(attempts.begin(), attempts.end(),
                                     [](const Attempt* a) { return a->status == AttemptStatus::kCreated; });
    if (i == 0 && !started) {
      for (const Conflict& c : conflicts) {
        if (!c.other_first || c.superseded) continue;
        return decide(Action::kBlocked,
                      fmt::format("rollout {} of the same product goes first: its jobs could hold the same devices "
                                  "(a device is in one pending job at a time); this rollout starts when {} has "
                                  "finished (every stage created, every job completed or cancelled), or list it in "
                                  "spec.supersedes",
                                  c.rollout, c.rollout),
                      "conflict");
      }
    }
    if (prev && !prev->created) {
      const manifest::Stage& before = r.stages[i - 1];
      if (prev->failure) {
        return decide(Action::kBlocked, fmt::format("stage {} failed ({})", before.name, prev->failure->error_code),
                      "previous");
      }
      return decide(Action::kBlocked,
                    fmt::format("stage {} is not created yet ({})", before.name, ActionName(prev->action)), "previous");
    }
    const manifest::Gate& gate = stage.gate;
    if (gate.hold) return decide(Action::kHeld, "gate.hold is set; remove it to promote this stage", "hold");

    std::vector<std::string> waiting;
    std::string causes;
    auto because = [&](const std::string& cause) { causes += (causes.empty() ? "" : "+") + cause; };
    std::optional<core::Time> opens;
    auto wait_until = [&](core::Time t, std::string why, const std::string& cause) {
      because(cause);
      waiting.push_back(std::move(why));
      if (!opens || t > *opens) opens = t;
    };
    if (gate.health && prev) {
      const manifest::Stage& before = r.stages[i - 1];
      std::string halted, unmet;
      Health(*gate.health, before.name, *prev, p, halted, unmet);
      if (!halted.empty()) return decide(Action::kHalted, halted, "health");
      if (!unmet.empty()) {
        because("health");
        waiting.push_back(unmet);
      }
    }
    if (gate.soak && prev && prev->created_at) {
      core::Time at = *prev->created_at + *gate.soak;
      if (at > now_) {
        wait_until(at,
                   fmt::format("soak {} after stage {}: opens {}", gate.soak_text, r.stages[i - 1].name,
                               core::FormatRfc3339(at)),
                   "soak");
      }
    }
    if (gate.not_before && *gate.not_before > now_) {
      wait_until(*gate.not_before, fmt::format("notBefore: opens {}", core::FormatRfc3339(*gate.not_before)),
                 "not-before");
    }
    if (auto start = Start(r, gate, opens && *opens > now_ ? *opens : now_)) {
      wait_until(start->first, std::move(start->second.reason), start->second.cause);
    }
    if (!waiting.empty()) {
      p.opens_at = opens;
      std::string reason;
      for (const auto& w : waiting) reason += (reason.empty() ? "" : "; ") + w;
      return decide(Action::kWaiting, reason, causes);
    }
    return decide(replaced ? Action::kReplace : Action::kCreate);
  }

  // When a new job of this stage may start, from `t` (now, or when its time
  // gates open) on: not during a freeze that matches the rollout, and only
  // inside one of its windows; a freeze wins. Nothing when that is now;
  // else the instant and why ("…: opens …", cause "freeze", "window" or
  // "freeze+window").
  struct Why {
    std::string reason;
    std::string cause;
  };
  std::optional<std::pair<core::Time, Why>> Start(const manifest::Rollout& r, const manifest::Gate& gate,
                                                  core::Time t) const {
    std::vector<std::string> notes;
    bool frozen = false;
    bool outside = false;
    auto note = [&](std::string n) {
      if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(std::move(n));
    };
    for (int round = 0; round < 64; ++round) {  // freezes and windows push each other later; bounded
      bool moved = false;
      for (const manifest::Freeze& f : freezes_) {
        if (f.from <= t && t < f.until && f.Matches(r)) {
          frozen = true;
          note(fmt::format("frozen by {} until {} ({})", f.name, core::FormatRfc3339(f.until), f.reason));
          t = f.until;
          moved = true;
        }
      }
      if (!gate.windows.empty()) {
        auto open = manifest::NextOpening(gate.windows, t);
        if (!open) return std::make_pair(t, Why{"no window of this stage ever opens", "window"});
        if (*open > t) {
          std::string which;
          for (const auto& w : gate.windows) which += (which.empty() ? "" : " | ") + manifest::Describe(w);
          outside = true;
          note(fmt::format("outside window{} {}", gate.windows.size() == 1 ? "" : "s", which));
          t = *open;
          moved = true;
        }
      }
      if (!moved) break;
    }
    if (t <= now_ || notes.empty()) return std::nullopt;
    std::string reason;
    for (const auto& n : notes) reason += (reason.empty() ? "" : "; ") + n;
    std::string cause = frozen ? "freeze" : "";
    if (outside) cause += cause.empty() ? "window" : "+window";
    return std::make_pair(t, Why{fmt::format("{}: opens {}", reason, core::FormatRfc3339(t)), cause});
  }

  // Judges the health gate on the latest observations of the previous
  // stage's jobs (summed over its parts).
  void Health(const manifest::Health& h, const std::string& before, const StageFacts& prev, StagePlan& p,
              std::string& halted, std::string& unmet) const {
    HealthView view;
    int64_t canceled = 0;
    bool all_observed = !prev.job_ids.empty();
    for (const auto& id : prev.job_ids) {
      auto it = state_.observations.find(id);
      if (it == state_.observations.end()) {
        all_observed = false;
        continue;
      }
      const state::Observation& o = it->second;
      if (view.job_id.empty() || o.observed_at < view.observed_at) view.observed_at = o.observed_at;
      view.job_id += (view.job_id.empty() ? "" : ",") + id;
      view.succeeded += o.Count("SUCCEEDED");
      view.failed += o.Count("FAILED");
      canceled += o.Count("CANCELED");
      view.total += o.total;
    }
    if (!all_observed) {
      unmet = fmt::format("health: no observation of stage {}'s job yet (each apply records them)", before);
      return;
    }
    // Finished = every terminal task; cancelled ones count against success.
    view.finished = view.succeeded + view.failed + canceled;
    view.age = now_ - view.observed_at;
    p.health = view;
    std::string seen =
        fmt::format("{} of {} finished, observed {} ago", view.finished, view.total, core::FormatDuration(view.age));
    if (view.finished < h.min_tasks) {
      unmet = fmt::format("health: {} of {} tasks needed have finished on stage {} ({})", view.finished, h.min_tasks,
                          before, seen);
      return;
    }
    double failed = 100.0 * static_cast<double>(view.failed) / static_cast<double>(view.finished);
    double succeeded = 100.0 * static_cast<double>(view.succeeded) / static_cast<double>(view.finished);
    if (h.max_failed_percent && failed > *h.max_failed_percent) {
      halted = fmt::format(
          "stage {} breached its health gate: {} failed > maxFailedPercent {} ({}); fix the "
          "firmware or the gate in the manifest",
          before, Percent(failed), *h.max_failed_percent, seen);
      return;
    }
    if (h.min_succeeded_percent && succeeded < *h.min_succeeded_percent) {
      unmet = fmt::format("health: {} succeeded on stage {} < minSucceededPercent {} ({})", Percent(succeeded), before,
                          *h.min_succeeded_percent, seen);
    }
  }

  const state::Snapshot& state_;
  core::Time now_;
  const std::vector<manifest::Freeze>& freezes_;
  state::AttemptsByStage by_stage_;
};

// Everything apply acts on, one rollout's share: specs and gates, not
// comments or file layout.
nlohmann::json DigestItem(const manifest::Rollout& r, const std::vector<spec::StageSpec>& specs) {
  nlohmann::json stages = nlohmann::json::array();
  for (size_t j = 0; j < r.stages.size(); ++j) {
    const manifest::Gate& g = r.stages[j].gate;
    stages.push_back({r.stages[j].name, specs[j].hash, g.soak ? g.soak->count() : -1, g.hold,
                      g.not_before ? core::FormatRfc3339(*g.not_before) : "",
                      g.health ? nlohmann::json{g.health->min_tasks, g.health->max_failed_percent.value_or(-1),
                                                g.health->min_succeeded_percent.value_or(-1)}
                               : nlohmann::json()});
    for (const auto& w : g.windows) stages.back().push_back({w.days, w.start_minute, w.end_minute, w.time_zone});
  }
  return {r.name, r.paused, r.cancel_superseded, r.on_halt == manifest::OnHalt::kCancel, stages};
}

// SHA-256 of the JSON array of every rollout's item (dumped, in order)
// followed by every freeze's: the bytes of one dump() of the whole array.
std::string ManifestDigest(const manifest::ManifestSet& manifests, const std::vector<std::string>& items) {
  core::Sha256 sha;
  sha.Update("[");
  bool first = true;
  auto add = [&](std::string_view item) {
    if (!first) sha.Update(",");
    first = false;
    sha.Update(item);
  };
  for (const std::string& item : items) add(item);
  for (const auto& f : manifests.freezes) {
    add(nlohmann::json{"freeze", f.name, core::FormatRfc3339(f.from), core::FormatRfc3339(f.until), f.reason,
                       f.selector}
            .dump());
  }
  sha.Update("]");
  return sha.HexDigest();
}

}  // namespace

Resolved::Resolved(const manifest::ManifestSet& manifests, Keep keep) : manifests_(manifests), keep_(keep) {
  // Rollouts resolve independently: a large set on every core (up to 8),
  // each thread a contiguous share written in place, so the result is one
  // thread's.
  constexpr size_t kParallelFrom = 256;
  const size_t n = manifests.rollouts.size();
  if (keep == Keep::kParams) {
    specs_.resize(n);
  } else {
    first_.resize(n + 1, 0);
    for (size_t i = 0; i < n; ++i) first_[i + 1] = first_[i] + manifests.rollouts[i].stages.size();
    hashes_.resize(first_[n]);
    parts_.resize(first_[n]);
  }
  std::vector<std::string> digest_items(n);
  core::ForEachShare(n, kParallelFrom, [&](size_t, size_t from, size_t to) {
    std::vector<spec::StageSpec> specs;
    for (size_t i = from; i < to; ++i) {
      const manifest::Rollout& r = manifests.rollouts[i];
      specs.clear();
      for (const manifest::Stage& stage : r.stages) specs.push_back(spec::Resolve(r, stage));
      digest_items[i] = DigestItem(r, specs).dump();
      if (keep == Keep::kParams) {
        specs_[i] = std::move(specs);
        continue;
      }
      for (size_t j = 0; j < specs.size(); ++j) {
        std::copy_n(specs[j].hash.begin(), hashes_[first_[i] + j].size(), hashes_[first_[i] + j].begin());
        parts_[first_[i] + j] = static_cast<uint32_t>(specs[j].part_count());
      }
    }
  });
  digest_ = ManifestDigest(manifests, digest_items);
}

std::string Resolved::hash(size_t rollout, size_t stage) const {
  if (keep_ == Keep::kParams) return specs_[rollout][stage].hash;
  const std::array<char, 64>& h = hashes_[first_[rollout] + stage];
  return std::string(h.data(), h.size());
}

size_t Resolved::parts(size_t rollout, size_t stage) const {
  if (keep_ == Keep::kParams) return specs_[rollout][stage].part_count();
  return parts_[first_[rollout] + stage];
}

namespace {

// How many rollouts BuildEach plans before handing them on: enough for
// every core to have a share, few enough that their plans and parameters
// stay small (a batch of 1,024 held 4 MB more at plan's peak).
constexpr size_t kRolloutsAtOnce = 256;

}  // namespace

Plan BuildEach(const Resolved& resolved, const state::Snapshot& state, core::Time now,
               const std::function<void(RolloutPlan&&)>& each) {
  const manifest::ManifestSet& manifests = resolved.manifests();
  Plan plan;
  plan.now = now;
  plan.state_source = state.source;
  plan.state_exists = state.exists;
  plan.state_serial = state.serial;
  plan.mode = "state";
  plan.manifest_digest = resolved.digest();
  Planner planner(state, now, manifests.freezes);
  const std::map<std::string, std::vector<Conflict>> conflicts = planner.Conflicts(resolved);
  // Rollouts plan independently (the planner is const; conflicts are known
  // first): a batch at a time, each batch on every core, each rollout into
  // its own slot; then handed on in order.
  constexpr size_t kParallelFrom = 128;
  std::vector<RolloutPlan> batch;
  for (size_t first = 0; first < manifests.rollouts.size(); first += kRolloutsAtOnce) {
    batch.assign(std::min(kRolloutsAtOnce, manifests.rollouts.size() - first), RolloutPlan{});
    core::ForEachShare(batch.size(), kParallelFrom, [&](size_t, size_t from, size_t to) {
      std::vector<spec::StageSpec> again;  // the specs of Keep::kHashes, resolved again
      for (size_t k = from; k < to; ++k) {
        const size_t i = first + k;
        const manifest::Rollout& r = manifests.rollouts[i];
        const std::vector<spec::StageSpec>* specs = &again;
        if (resolved.has_params()) {
          specs = &resolved.specs(i);
        } else {
          again.clear();
          for (size_t j = 0; j < r.stages.size(); ++j)
            again.push_back(spec::Resolve(r, r.stages[j], resolved.hash(i, j)));
        }
        auto mine = conflicts.find(r.name);
        batch[k] = planner.PlanRollout(r, *specs, mine == conflicts.end() ? std::vector<Conflict>{} : mine->second);
      }
    });
    for (RolloutPlan& r : batch) {
      for (const StagePlan& s : r.stages) ++plan.summary.counts[static_cast<size_t>(s.action)];
      each(std::move(r));
    }
  }
  plan.orphans = planner.Orphans(manifests);
  plan.summary.counts[static_cast<size_t>(Action::kOrphaned)] = static_cast<int>(plan.orphans.size());
  return plan;
}

Plan Build(const Resolved& resolved, const state::Snapshot& state, core::Time now) {
  std::vector<RolloutPlan> rollouts;
  rollouts.reserve(resolved.manifests().rollouts.size());
  Plan plan = BuildEach(resolved, state, now, [&](RolloutPlan&& r) { rollouts.push_back(std::move(r)); });
  plan.rollouts = std::move(rollouts);
  return plan;
}

Plan Build(const manifest::ManifestSet& manifests, const state::Snapshot& state, core::Time now) {
  return Build(Resolved(manifests), state, now);
}

void LetGoOfUnreadRequests(const Resolved& resolved, state::Snapshot* snapshot) {
  const manifest::ManifestSet& manifests = resolved.manifests();
  for (Attempt& a : snapshot->attempts) {
    bool read = false;  // a created job of an older spec of a stage in the manifests (a replace's changes)
    const auto index = a.status == AttemptStatus::kCreated ? manifests.FindIndex(a.rollout) : std::nullopt;
    if (index) {
      const manifest::Rollout& r = manifests.rollouts[*index];
      for (size_t j = 0; j < r.stages.size(); ++j) {
        if (r.stages[j].name == a.stage) read = resolved.hash(*index, j) != a.spec_hash;
      }
    }
    if (!read) std::string().swap(a.request);
  }
}

state::Snapshot SnapshotFromBaseline(const manifest::ManifestSet& baseline, const std::string& source) {
  state::Snapshot s;
  s.exists = true;
  s.source = source;
  int64_t id = 0;
  for (const manifest::Rollout& r : baseline.rollouts) {
    for (const manifest::Stage& stage : r.stages) {
      spec::StageSpec spec = spec::Resolve(r, stage);
      for (size_t part = 0; part < spec.part_count(); ++part) {
        Attempt a;
        a.id = ++id;
        a.intent_id = fmt::format("baseline:{}/{}/{}", r.name, stage.name, part);
        a.rollout = r.name;
        a.stage = stage.name;
        a.part = static_cast<int>(part);
        a.parts = static_cast<int>(spec.part_count());
        a.spec_hash = spec.hash;
        a.request = state::RequestText(spec::Flatten(spec.part(part)));
        a.status = AttemptStatus::kCreated;
        a.job_id = "baseline";
        a.job_created_at = core::Time{};
        s.attempts.push_back(std::move(a));
      }
    }
  }
  return s;
}

}  // namespace otaroll::plan
