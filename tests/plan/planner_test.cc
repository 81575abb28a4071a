// The planner over state fixtures: every state of SPEC §2, with its reason.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "platform/wire.h"
#include "render/render.h"
#include "state/request.h"
#include "test_util/manifests.h"

namespace otaroll::plan {
namespace {

using state::Attempt;
using state::AttemptStatus;
using test_util::Parse;
using test_util::ReplaceAll;
using namespace std::chrono_literals;

constexpr const char* kRollout = R"(apiVersion: otaroll/v1
kind: Rollout
metadata:
  name: thermo
spec:
  productKey: k1nhvyl0001
  firmwareId: "178"
  stages:
    - name: canary
      gray: 10
    - name: pilot
      group: CtjzCkNuOx
      gate:
        soak: 24h
        health: {minTasks: 10, maxFailedPercent: 5, minSucceededPercent: 90}
    - name: everyone
      all: true
)";

const core::Time kNow = *core::ParseRfc3339("2026-11-25T10:00:00Z");

// Builds state the way apply will have written it.
class Fixture {
 public:
  explicit Fixture(std::string manifest = kRollout) : set_(Parse(manifest)) {}

  Attempt& Add(const std::string& stage, AttemptStatus status, core::Time created) {
    const manifest::Rollout& r = set_.rollouts[0];
    for (const auto& s : r.stages) {
      if (s.name != stage) continue;
      auto spec = spec::Resolve(r, s);
      Attempt a;
      a.id = static_cast<int64_t>(snap_.attempts.size()) + 1;
      a.intent_id = "intent-" + std::to_string(a.id);
      a.rollout = r.name;
      a.stage = stage;
      a.spec_hash = spec.hash;
      a.request = state::RequestText(spec::Flatten(spec.part(0)));
      a.status = status;
      a.created_at = a.updated_at = created;
      if (status == AttemptStatus::kCreated) {
        a.job_id = "job-" + std::to_string(a.id);
        a.job_created_at = created;
      }
      snap_.attempts.push_back(a);
      return snap_.attempts.back();
    }
    ADD_FAILURE() << "no stage " << stage;
    return snap_.attempts.emplace_back();
  }
  void Observe(const std::string& job_id, int64_t succeeded, int64_t failed, int64_t total, core::Time at,
               int64_t canceled = 0) {
    state::Observation o{job_id, at, total, {{"SUCCEEDED", succeeded}, {"FAILED", failed}, {"CANCELED", canceled}}};
    snap_.observations[job_id] = o;
  }
  state::Snapshot& snapshot() { return snap_; }
  Plan Build(core::Time now = kNow) {
    snap_.exists = true;
    return plan::Build(set_, snap_, now);
  }

 private:
  manifest::ManifestSet set_;
  state::Snapshot snap_;
};

struct Expect {
  Action action;
  std::string reason;  // exact
};

void ExpectStages(const Plan& p, const std::vector<Expect>& want) {
  ASSERT_EQ(p.rollouts.size(), 1u);
  const auto& stages = p.rollouts[0].stages;
  ASSERT_EQ(stages.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(ActionName(stages[i].action), std::string(ActionName(want[i].action))) << "stage " << stages[i].name;
    EXPECT_EQ(stages[i].reason, want[i].reason) << "stage " << stages[i].name;
  }
}

struct Case {
  const char* name;
  std::function<void(Fixture&)> setup;
  std::vector<Expect> want;
  std::string manifest = kRollout;
};

class PlannerTable : public ::testing::TestWithParam<Case> {};

TEST_P(PlannerTable, DecidesEveryStage) {
  const Case& c = GetParam();
  Fixture f(c.manifest);
  c.setup(f);
  ExpectStages(f.Build(), c.want);
}

const std::string kHealthy = "health: {minTasks: 10, maxFailedPercent: 5, minSucceededPercent: 90}";

INSTANTIATE_TEST_SUITE_P(
    States, PlannerTable,
    ::testing::Values(
        Case{"EmptyStateCreatesTheFirstStage",
             [](Fixture&) {},
             {{Action::kCreate, ""},
              {Action::kBlocked, "stage canary is not created yet (create)"},
              {Action::kBlocked, "stage pilot is not created yet (blocked)"}}},
        Case{"SoakNotElapsedWaitsWithTheInstant",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 1h);
               f.Observe("job-1", 50, 0, 50, kNow - 5min);
             },
             {{Action::kInSync, ""},
              {Action::kWaiting, "soak 24h after stage canary: opens 2026-11-26T09:00:00Z"},
              {Action::kBlocked, "stage pilot is not created yet (waiting)"}}},
        Case{"OpenGatesCreate",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 25h);
               f.Observe("job-1", 95, 1, 100, kNow - 2h);
             },
             {{Action::kInSync, ""},
              {Action::kCreate, ""},
              {Action::kBlocked, "stage pilot is not created yet (create)"}}},
        Case{"HealthBreachHalts",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 25h);
               f.Observe("job-1", 80, 20, 120, kNow - 2h);
             },
             {{Action::kInSync, ""},
              {Action::kHalted,
               "stage canary breached its health gate: 20.0% failed > maxFailedPercent 5 (100 of 120 finished, "
               "observed 2h ago); fix the firmware or the gate in the manifest"},
              {Action::kBlocked, "stage pilot is not created yet (halted)"}}},
        Case{"TooFewFinishedTasksWait",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 25h);
               f.Observe("job-1", 3, 0, 100, kNow - 30min);
             },
             {{Action::kInSync, ""},
              {Action::kWaiting,
               "health: 3 of 10 tasks needed have finished on stage canary (3 of 100 finished, observed 30m ago)"},
              {Action::kBlocked, "stage pilot is not created yet (waiting)"}}},
        Case{"TooFewSucceededWait",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 25h);
               f.Observe("job-1", 40, 2, 100, kNow - 1h, 8);
               f.Observe("other", 0, 0, 0, kNow);
             },
             {{Action::kInSync, ""},
              {Action::kWaiting,
               "health: 80.0% succeeded on stage canary < minSucceededPercent 90 (50 of 100 finished, observed 1h "
               "ago)"},
              {Action::kBlocked, "stage pilot is not created yet (waiting)"}}},
        Case{"NoObservationYetWaits",
             [](Fixture& f) { f.Add("canary", AttemptStatus::kCreated, kNow - 25h); },
             {{Action::kInSync, ""},
              {Action::kWaiting, "health: no observation of stage canary's job yet (each apply records them)"},
              {Action::kBlocked, "stage pilot is not created yet (waiting)"}}},
        Case{"PendingIntentIsUnknown",
             [](Fixture& f) { f.Add("canary", AttemptStatus::kPending, kNow - 1min); },
             {{Action::kUnknown,
               "attempt intent-1 was interrupted before its outcome was recorded (pending since "
               "2026-11-25T09:59:00Z); apply looks the job up on the platform before anything else"},
              {Action::kBlocked, "stage canary is not created yet (unknown)"},
              {Action::kBlocked, "stage pilot is not created yet (blocked)"}}},
        Case{"UnknownOutcomeIsUnknown",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 48h);
               f.Add("pilot", AttemptStatus::kUnknown, kNow - 1h);
             },
             {{Action::kInSync, ""},
              {Action::kUnknown,
               "the outcome of attempt intent-2 is unknown (since 2026-11-25T09:00:00Z); apply looks the job up on "
               "the platform before anything else"},
              {Action::kBlocked, "stage pilot is not created yet (unknown)"}}},
        Case{"PermanentFailureBlocksWithTheCode",
             [](Fixture& f) {
               Attempt& a = f.Add("canary", AttemptStatus::kFailed, kNow - 1h);
               a.error_code = "iot.ota.FirmwareNotExist";
               a.error_message = "The firmware does not exist.";
             },
             {{Action::kBlocked,
               "the last attempt failed (iot.ota.FirmwareNotExist: The firmware does not exist.); change the stage "
               "or run `otaroll apply --retry-failed`"},
              {Action::kBlocked, "stage canary failed (iot.ota.FirmwareNotExist)"},
              {Action::kBlocked, "stage pilot is not created yet (blocked)"}}},
        Case{"PausedRolloutIsHeld",
             [](Fixture& f) { f.Add("canary", AttemptStatus::kCreated, kNow - 48h); },
             {{Action::kInSync, ""},
              {Action::kHeld, "the rollout is paused (spec.paused: true)"},
              {Action::kHeld, "the rollout is paused (spec.paused: true)"}},
             ReplaceAll(kRollout, "  stages:\n", "  paused: true\n  stages:\n")},
        Case{"HoldGateIsHeld",
             [](Fixture& f) { f.Add("canary", AttemptStatus::kCreated, kNow - 48h); },
             {{Action::kInSync, ""},
              {Action::kHeld, "gate.hold is set; remove it to promote this stage"},
              {Action::kBlocked, "stage pilot is not created yet (held)"}},
             ReplaceAll(kRollout, kHealthy, "hold: true")},
        Case{"NotBeforeWaits",
             [](Fixture&) {},
             {{Action::kWaiting, "notBefore: opens 2026-12-01T02:00:00Z"},
              {Action::kBlocked, "stage canary is not created yet (waiting)"},
              {Action::kBlocked, "stage pilot is not created yet (blocked)"}},
             ReplaceAll(kRollout, "      gray: 10\n",
                        "      gray: 10\n      gate: {notBefore: 2026-12-01T02:00:00Z}\n")},
        Case{"EverythingCreatedIsInSync",
             [](Fixture& f) {
               f.Add("canary", AttemptStatus::kCreated, kNow - 72h);
               f.Add("pilot", AttemptStatus::kCreated, kNow - 48h);
               f.Add("everyone", AttemptStatus::kCreated, kNow - 1h);
             },
             {{Action::kInSync, ""}, {Action::kInSync, ""}, {Action::kInSync, ""}}},
        Case{"SupersededJobsDoNotCount",
             [](Fixture& f) { f.Add("canary", AttemptStatus::kSuperseded, kNow - 72h).job_id = "old"; },
             {{Action::kCreate, ""},
              {Action::kBlocked, "stage canary is not created yet (create)"},
              {Action::kBlocked, "stage pilot is not created yet (blocked)"}}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// On --platform alibaba the stored request also carries GroupType and the
// intent tag (Tag.1.Key/Value): they are not part of the spec and must not
// show as removed fields.
TEST(Planner, AlibabaRequestAdditionsAreNotShownAsChanges) {
  const std::string old_text =
      ReplaceAll(ReplaceAll(kRollout, "gray: 10", "gray: 5"), "group: CtjzCkNuOx", "group: OldGroup01");
  Fixture old_tree(old_text);
  const manifest::ManifestSet old_set = Parse(old_text);
  const manifest::Rollout& old_rollout = old_set.rollouts[0];
  for (const char* stage : {"canary", "pilot"}) {
    Attempt& a = old_tree.Add(stage, AttemptStatus::kCreated, kNow - 72h);
    for (const auto& s : old_rollout.stages) {
      if (s.name == stage) {
        a.request = state::RequestText(
            platform::CreateJobParams(spec::Resolve(old_rollout, s).part(0), platform::Style::kAlibaba, a.intent_id));
      }
    }
    ASSERT_EQ(state::ParseRequest(a.request)->count("Tag.1.Key"), 1u);
  }
  state::Snapshot snap = old_tree.snapshot();
  snap.exists = true;
  Plan p = plan::Build(Parse(kRollout), snap, kNow);
  const StagePlan& canary = p.rollouts[0].stages[0];
  ASSERT_EQ(canary.changes.size(), 1u);
  EXPECT_EQ(canary.changes[0].field, "GrayPercent");
  const StagePlan& pilot = p.rollouts[0].stages[1];
  ASSERT_EQ(pilot.changes.size(), 1u);
  EXPECT_EQ(pilot.changes[0].field, "GroupId");
  EXPECT_EQ(pilot.changes[0].before, "OldGroup01");
  EXPECT_EQ(pilot.changes[0].after, "CtjzCkNuOx");
}

TEST(Planner, ChangedSpecIsReplacedFieldByField) {
  Fixture old_tree(ReplaceAll(kRollout, "gray: 10", "gray: 5"));
  old_tree.Add("canary", AttemptStatus::kCreated, kNow - 72h);
  state::Snapshot snap = old_tree.snapshot();
  snap.exists = true;
  Plan p = plan::Build(Parse(kRollout), snap, kNow);
  const StagePlan& canary = p.rollouts[0].stages[0];
  EXPECT_EQ(canary.action, Action::kReplace);
  EXPECT_EQ(canary.previous_hash, snap.attempts[0].spec_hash);
  ASSERT_EQ(canary.changes.size(), 1u);
  EXPECT_EQ(canary.changes[0].field, "GrayPercent");
  EXPECT_EQ(canary.changes[0].before, "5");
  EXPECT_EQ(canary.changes[0].after, "10");
  EXPECT_EQ(canary.parts_to_create, 1);
  // The next stage waits for the replacement, not the superseded job.
  EXPECT_EQ(p.rollouts[0].stages[1].reason, "stage canary is not created yet (replace)");
  EXPECT_TRUE(p.HasChanges());
}

TEST(Planner, JobsWithoutAManifestAreOrphaned) {
  Fixture f;
  f.Add("canary", AttemptStatus::kCreated, kNow - 72h);
  Attempt gone = f.snapshot().attempts[0];
  gone.id = 2;
  gone.rollout = "retired";
  gone.job_id = "job-retired";
  f.snapshot().attempts.push_back(gone);
  Attempt failed = gone;
  failed.id = 3;
  failed.stage = "never-created";
  failed.status = AttemptStatus::kFailed;
  failed.job_id.clear();
  f.snapshot().attempts.push_back(failed);
  Plan p = f.Build();
  ASSERT_EQ(p.orphans.size(), 1u);
  EXPECT_EQ(p.orphans[0].rollout, "retired");
  EXPECT_EQ(p.orphans[0].job.job_id, "job-retired");
  EXPECT_EQ(p.summary.Count(Action::kOrphaned), 1);
}

TEST(Planner, SplitStageIsInSyncOnlyWhenEveryPartExists) {
  std::string devices;
  for (int i = 0; i < 250; ++i) devices += (i ? ", d" : "d") + std::to_string(i);
  std::string text = ReplaceAll(kRollout, "gray: 10", "devices: [" + devices + "]");
  Fixture f(text);
  f.Add("canary", AttemptStatus::kCreated, kNow - 1h);
  Plan partial = f.Build();
  EXPECT_EQ(partial.rollouts[0].stages[0].action, Action::kCreate);
  EXPECT_EQ(partial.rollouts[0].stages[0].parts, 2);
  EXPECT_EQ(partial.rollouts[0].stages[0].parts_to_create, 1);
  Attempt second = f.snapshot().attempts[0];
  second.id = 2;
  second.part = 1;
  second.job_id = "job-2";
  f.snapshot().attempts.push_back(second);
  EXPECT_EQ(f.Build().rollouts[0].stages[0].action, Action::kInSync);
}

TEST(Planner, SummaryCountsEveryStage) {
  Fixture f;
  Plan p = f.Build();
  EXPECT_EQ(p.summary.Count(Action::kCreate), 1);
  EXPECT_EQ(p.summary.Count(Action::kBlocked), 2);
  EXPECT_EQ(p.summary.Changes(), 1);
}

TEST(Planner, BaselineTreatsEveryBaselineStageAsCreated) {
  auto base = Parse(kRollout);
  Plan same = plan::Build(base, SnapshotFromBaseline(base, "main"), kNow);
  EXPECT_FALSE(same.HasChanges());
  for (const auto& s : same.rollouts[0].stages) {
    // the health gate has no observation in baseline mode, but the stage exists
    EXPECT_EQ(s.action, Action::kInSync) << s.name;
  }
  std::string changed = ReplaceAll(kRollout, "gray: 10", "gray: 20");
  Plan p = plan::Build(Parse(changed), SnapshotFromBaseline(base, "main"), kNow);
  EXPECT_EQ(p.rollouts[0].stages[0].action, Action::kReplace);
  EXPECT_EQ(p.rollouts[0].stages[1].action, Action::kInSync);
  EXPECT_EQ(p.summary.Changes(), 1);
}

// A large set is resolved on every core, each rollout's specs in its own
// slot: the same specs as resolving one rollout at a time.
TEST(Planner, ALargeSetIsResolvedInParallelAsOneThreadWould) {
  std::string text;
  for (int i = 0; i < 300; ++i) {
    text += fmt::format(
        "---\napiVersion: otaroll/v1\nkind: Rollout\nmetadata: {{name: r{:03}}}\nspec:\n  productKey: pk{:06}\n"
        "  firmwareId: \"{}\"\n  stages: [{{name: canary, gray: {}}}, {{name: all, all: true}}]\n",
        i, i, 1000 + i, 1 + i % 99);
  }
  const manifest::ManifestSet set = Parse(text);
  ASSERT_EQ(set.rollouts.size(), 300u);
  const plan::Resolved resolved(set);
  for (size_t i = 0; i < set.rollouts.size(); ++i) {
    ASSERT_EQ(resolved.specs(i).size(), 2u) << i;
    for (size_t s = 0; s < 2; ++s) {
      const spec::StageSpec one = spec::Resolve(set.rollouts[i], set.rollouts[i].stages[s]);
      EXPECT_EQ(resolved.specs(i)[s].hash, one.hash) << set.rollouts[i].name;
      EXPECT_EQ(*resolved.specs(i)[s].params, *one.params) << set.rollouts[i].name;
    }
  }
}

// A large set's rollouts are planned on every core; each rollout's plan is
// the one a small set (planned on one thread) gives it: with state (created,
// replaced, in sync) and conflicts between rollouts of one product.
TEST(Planner, ALargeSetIsPlannedInParallelAsOneThreadWould) {
  auto rollout = [](int i) {
    // Pairs (2k, 2k+1) share a product: the later one waits for the earlier.
    return fmt::format(
        "---\napiVersion: otaroll/v1\nkind: Rollout\nmetadata: {{name: r{:03}}}\nspec:\n  productKey: pk{:06}\n"
        "  firmwareId: \"{}\"\n  stages: [{{name: canary, gray: {}}}, {{name: all, all: true}}]\n",
        i, i / 2, 1000 + i, 1 + i % 99);
  };
  state::Snapshot snapshot;
  for (int i = 0; i < 300; i += 3) {
    // Every third rollout's canary was created, half of them for another spec.
    Attempt a;
    a.id = i + 1;
    a.intent_id = fmt::format("i{}", i);
    a.rollout = fmt::format("r{:03}", i);
    a.stage = "canary";
    a.spec_hash = i % 2 == 0 ? "old" : "";
    a.status = AttemptStatus::kCreated;
    a.job_id = fmt::format("job{}", i);
    a.job_created_at = kNow - 1h;
    snapshot.attempts.push_back(a);
  }
  std::string all;
  for (int i = 0; i < 300; ++i) all += rollout(i);
  const manifest::ManifestSet whole_set = Parse(all);
  // The one-thread plans need the created canaries' real hashes.
  const plan::Resolved resolved(whole_set);
  for (Attempt& a : snapshot.attempts) {
    if (a.spec_hash.empty()) a.spec_hash = resolved.specs(*whole_set.FindIndex(a.rollout))[0].hash;
  }
  const Plan whole = plan::Build(resolved, snapshot, kNow);
  ASSERT_EQ(whole.rollouts.size(), 300u);
  EXPECT_GT(whole.summary.Count(Action::kInSync), 0);
  EXPECT_GT(whole.summary.Count(Action::kReplace), 0);
  EXPECT_GT(whole.summary.Count(Action::kBlocked), 0);
  const nlohmann::json want = nlohmann::json::parse(render::Json(whole))["rollouts"];
  for (int from = 0; from < 300; from += 100) {  // 100 < 128: planned on one thread
    std::string before;
    for (int i = 0; i < from; ++i) before += rollout(i);
    std::string part(static_cast<size_t>(std::count(before.begin(), before.end(), '\n')), '\n');  // same positions
    for (int i = from; i < from + 100; ++i) part += rollout(i);
    const nlohmann::json got =
        nlohmann::json::parse(render::Json(plan::Build(Parse(part), snapshot, kNow)))["rollouts"];
    for (int i = 0; i < 100; ++i) ASSERT_EQ(got[i], want[from + i]) << "rollout " << from + i;
  }
}

// plan's CLI never holds a large plan: BuildEach hands each rollout on as
// it is planned, a batch at a time, from specs whose parameters were let go
// once hashed (Keep::kHashes) and are resolved again. What it hands on, and
// the rest it returns, are Build's plan exactly: over several batches, with
// stages split in parts, replaces (their changes come from the parameters),
// and an orphan.
TEST(Planner, BuildEachHandsOnBuildsPlanFromHashesAlone) {
  std::string devices;
  for (int d = 0; d < 450; ++d) devices += fmt::format("{}d{:03}", d == 0 ? "" : ", ", d);
  manifest::ManifestSet set;
  std::string file;
  for (int i = 0; i < 2100; ++i) {  // more than two batches, in files of 700
    std::string text = fmt::format(
        "---\napiVersion: otaroll/v1\nkind: Rollout\nmetadata: {{name: r{:04}}}\nspec:\n  productKey: pk{:06}\n"
        "  firmwareId: \"{}\"\n  stages: [{{name: canary, gray: {}}}, {}]\n",
        i, i, 1000 + i, 1 + i % 99,
        i % 7 == 0 ? fmt::format("{{name: vip, devices: [{}]}}", devices) : "{name: all, all: true}");
    file += text;
    if (i % 700 == 699) {
      for (auto& r : Parse(file, fmt::format("m{}.yaml", i / 700)).rollouts) set.rollouts.push_back(std::move(r));
      file.clear();
    }
  }
  ASSERT_EQ(set.rollouts.size(), 2100u);
  const plan::Resolved full(set);
  state::Snapshot snapshot;
  for (size_t i = 0; i < set.rollouts.size(); i += 5) {
    // Every fifth canary was created; every tenth for an older firmware (a replace).
    Attempt a;
    a.id = static_cast<int64_t>(i) + 1;
    a.intent_id = fmt::format("i{}", i);
    a.rollout = set.rollouts[i].name;
    a.stage = "canary";
    a.spec_hash = i % 2 == 0 ? "older" : full.specs(i)[0].hash;
    a.request = state::RequestText({{"FirmwareId", "1"}, {"ProductKey", set.rollouts[i].product_key}});
    a.status = AttemptStatus::kCreated;
    a.job_id = fmt::format("job{}", i);
    a.job_created_at = kNow - 2h;
    snapshot.attempts.push_back(a);
  }
  Attempt gone = snapshot.attempts.back();
  gone.id = 100000;
  gone.intent_id = "gone";
  gone.rollout = "removed";
  gone.job_id = "job-gone";
  snapshot.attempts.push_back(gone);

  const Plan want = plan::Build(full, snapshot, kNow);
  const plan::Resolved hashes(set, plan::Resolved::Keep::kHashes);
  EXPECT_FALSE(hashes.has_params());
  EXPECT_EQ(hashes.hash(0, 0), full.specs(0)[0].hash);
  EXPECT_EQ(hashes.hash(2099, 1), full.specs(2099)[1].hash);
  EXPECT_EQ(hashes.parts(0, 1), 3u);  // r0000's vip: 450 devices
  EXPECT_EQ(hashes.parts(1, 1), 1u);
  EXPECT_EQ(hashes.digest(), full.digest());
  std::vector<plan::RolloutPlan> handed;
  Plan got = plan::BuildEach(hashes, snapshot, kNow, [&](plan::RolloutPlan&& r) { handed.push_back(std::move(r)); });
  EXPECT_TRUE(got.rollouts.empty());
  got.rollouts = std::move(handed);
  EXPECT_GT(want.summary.Count(Action::kReplace), 0);
  EXPECT_EQ(want.orphans.size(), 1u);
  EXPECT_EQ(render::Json(got), render::Json(want));

  // plan lets go of the requests it will not read: only the replaced jobs'
  // (a created job of an older spec) stay, and the plan is the same.
  plan::LetGoOfUnreadRequests(hashes, &snapshot);
  size_t kept = 0;
  for (const Attempt& a : snapshot.attempts) {
    EXPECT_EQ(a.request.empty(), a.spec_hash != "older") << a.intent_id;
    kept += a.request.empty() ? 0 : 1;
  }
  EXPECT_EQ(kept, 210u);
  Plan again = plan::Build(full, snapshot, kNow);
  EXPECT_EQ(render::Json(again), render::Json(want));
}

TEST(Planner, IsDeterministicAndDigestIgnoresCosmetics) {
  Fixture f;
  Plan a = f.Build();
  Plan b = f.Build();
  EXPECT_EQ(a.manifest_digest, b.manifest_digest);
  state::Snapshot empty;
  Plan commented =
      plan::Build(Parse(ReplaceAll(kRollout, "  stages:\n", "  # stages\n  stages:\n"), "x.yaml"), empty, kNow);
  Plan plain = plan::Build(Parse(kRollout), empty, kNow);
  EXPECT_EQ(commented.manifest_digest, plain.manifest_digest);
  Plan regated = plan::Build(Parse(ReplaceAll(kRollout, "soak: 24h", "soak: 48h")), empty, kNow);
  EXPECT_NE(regated.manifest_digest, plain.manifest_digest);
}

}  // namespace
}  // namespace otaroll::plan
