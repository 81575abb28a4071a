// The plan: a pure value describing, for every stage of every rollout, what
// apply would do and why (SPEC §2). Built by plan::Build from manifests, a
// state snapshot and an instant; rendered by render/.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "manifest/model.h"
#include "spec/spec.h"
#include "state/snapshot.h"

namespace otaroll::plan {

inline constexpr int kFormatVersion = 1;

enum class Action {
  kInSync,
  kCreate,
  kReplace,
  kWaiting,
  kHeld,
  kBlocked,
  kUnknown,
  kHalted,
  kOrphaned,
};
inline constexpr size_t kActionCount = 9;
const char* ActionName(Action a);  // "in-sync", "create", ...

// A job otaroll created earlier for this stage (from state).
struct JobRef {
  std::string job_id;  // empty when not created (pending/unknown/failed)
  std::string intent_id;
  std::string spec_hash;
  std::string status;  // state::StatusName
  int part = 0;
  std::optional<core::Time> created_at;
  std::string error_code;
  std::string error_message;
};

// The latest observation of the previous stage's job, as the health gate saw it.
struct HealthView {
  std::string job_id;
  core::Time observed_at{};
  core::Duration age{};
  int64_t finished = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t total = 0;
};

struct StagePlan {
  std::string name;
  int index = 0;
  Action action = Action::kCreate;
  std::string reason;  // one sentence; empty for create/in-sync
  // A stable word for the kind of reason (notifications key on it, the
  // sentence has figures that change): "outcome" (unknown), "failed",
  // "conflict", "previous" (blocked), "paused", "hold" (held), "health"
  // (halted, or waiting on the health gate), "soak", "not-before",
  // "window", "freeze" (waiting; several joined by "+"); empty for
  // create/in-sync.
  std::string cause;
  std::optional<core::Time> opens_at;  // waiting on a time gate
  std::string target;                  // "GRAY 10%", ...
  std::string spec_hash;
  std::string previous_hash;                     // replace: the hash of the job being replaced
  int parts = 1;                                 // jobs the stage needs
  int parts_to_create = 0;                       // create/replace: how many jobs apply would create
  std::shared_ptr<const spec::ParamSet> params;  // resolved wire parameters (shared with the spec)
  std::vector<spec::FieldChange> changes;        // replace: field by field
  std::vector<JobRef> jobs;                      // attempts in state for this stage, newest last
  // More than one created job for one part of the current spec: the
  // platform holds duplicates (two otaroll processes created the same
  // stage). Their ids, oldest first; empty normally.
  std::vector<std::string> duplicate_jobs;
  std::optional<HealthView> health;  // when this stage has a health gate
  manifest::Position position;
};

// Another rollout of the same product whose jobs could hold the same
// devices as this one's while it has not finished (plan/conflicts.h). The
// later of the two (by first-stage creation, else by name) does not start
// its first stage until the earlier has finished: all its stages created
// and every job completed or cancelled, as last observed; unless the later
// lists the earlier in spec.supersedes.
struct Conflict {
  std::string rollout;       // the other rollout
  bool other_first = false;  // the other is the earlier one
  bool superseded = false;   // the later lists the earlier in spec.supersedes: the later does not wait
  // other_first: the other's jobs not seen finished yet (apply observes them).
  std::vector<std::string> unfinished_jobs;
};

struct RolloutPlan {
  std::string name;
  manifest::Position position;
  std::string product_key;
  std::string firmware_id;
  bool paused = false;
  std::vector<StagePlan> stages;
  std::vector<Conflict> conflicts;  // by the other's name
};

// A job in state whose rollout or stage is no longer in the manifests.
struct Orphan {
  std::string rollout;
  std::string stage;
  JobRef job;
};

struct Summary {
  std::array<int, kActionCount> counts{};
  int Count(Action a) const { return counts[static_cast<size_t>(a)]; }
  int Changes() const { return Count(Action::kCreate) + Count(Action::kReplace); }
};

struct Plan {
  int format_version = kFormatVersion;
  core::Time now{};
  std::string mode;          // "state" or "baseline"
  std::string state_source;  // state file path, or baseline DIR
  bool state_exists = false;
  int64_t state_serial = 0;
  std::string manifest_digest;  // SHA-256 over every rollout's name and stage hashes and gates
  std::vector<RolloutPlan> rollouts;
  std::vector<Orphan> orphans;
  Summary summary;

  bool HasChanges() const { return summary.Changes() > 0; }
};

// The specs of a manifest set resolved once (spec::Resolve of every stage)
// and its manifest digest: what every plan of the same manifests shares, and
// the costly part of planning. The daemon keeps one while its tree is
// unchanged; an apply makes one per run. Refers to `manifests`, which must
// outlive it and not change.
class Resolved {
 public:
  // kHashes keeps only every stage's hash and part count, in one flat
  // table (no specs() then): for one plan of a large tree, which BuildEach
  // resolves again a batch at a time.
  enum class Keep { kParams, kHashes };
  explicit Resolved(const manifest::ManifestSet& manifests, Keep keep = Keep::kParams);
  const manifest::ManifestSet& manifests() const { return manifests_; }
  // Keep::kParams only: the specs of manifests().rollouts[rollout]'s
  // stages, in order.
  const std::vector<spec::StageSpec>& specs(size_t rollout) const { return specs_[rollout]; }
  // Either way: the hash (hex) of stage `stage` of that rollout, and the
  // jobs it needs.
  std::string hash(size_t rollout, size_t stage) const;
  size_t parts(size_t rollout, size_t stage) const;
  const std::string& digest() const { return digest_; }
  // Keep::kParams: specs() hold their parameters (else only hashes).
  bool has_params() const { return keep_ == Keep::kParams; }

 private:
  const manifest::ManifestSet& manifests_;
  std::vector<std::vector<spec::StageSpec>> specs_;  // kParams
  // kHashes: rollout i's stages are entries first_[i] .. first_[i + 1] - 1.
  std::vector<size_t> first_;
  std::vector<std::array<char, 64>> hashes_;
  std::vector<uint32_t> parts_;
  std::string digest_;
  Keep keep_;
};

// Pure: same inputs, same plan.
Plan Build(const Resolved& resolved, const state::Snapshot& state, core::Time now);
// The same plan without holding it: each rollout's plan is handed to `each`
// as soon as it is made, in order (a batch of rollouts is planned at a
// time); returns the rest (rollouts empty; summary, orphans, digest filled).
Plan BuildEach(const Resolved& resolved, const state::Snapshot& state, core::Time now,
               const std::function<void(RolloutPlan&&)>& each);
Plan Build(const manifest::ManifestSet& manifests, const state::Snapshot& state, core::Time now);

// The planner reads an attempt's request only for a replace's changes: a
// created job of an older spec of a stage in the manifests. A plan of a
// large state lets go of every other request once the manifests are
// resolved (they are most of a snapshot's text); the plan is the same.
void LetGoOfUnreadRequests(const Resolved& resolved, state::Snapshot* snapshot);

// --baseline: every stage of the baseline tree as a created job (created at
// the epoch, so soak gates on it are open; no observations).
state::Snapshot SnapshotFromBaseline(const manifest::ManifestSet& baseline, const std::string& source);

}  // namespace otaroll::plan
