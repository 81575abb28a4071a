// Conflicting rollouts (SPEC §1): two rollouts of one product whose jobs
// could hold the same devices at once. Which overlap, which goes first, and
// how the later one's first stage waits.
#include "plan/conflicts.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "plan/plan.h"
#include "spec/spec.h"
#include "state/request.h"
#include "test_util/manifests.h"

namespace otaroll::plan {
namespace {

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

std::string Rollout(const std::string& name, const std::string& product, const std::string& extra,
                    const std::string& stages = "    - {name: canary, gray: 10}\n    - {name: all, all: true}\n") {
  return "---\napiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: " + name + "}\nspec:\n  productKey: " + product +
         "\n  firmwareId: \"1\"\n" + extra + "  stages:\n" + stages;
}

const manifest::Rollout& Named(const manifest::ManifestSet& set, const std::string& name) {
  return *set.Find(name);
}

TEST(Conflicts, WhichRolloutsOverlap) {
  const auto set = test_util::Parse(Rollout("a", "pk1", "") + Rollout("b", "pk1", "") + Rollout("c", "pk2", "") +
                                    Rollout("v1", "pk3", "  srcVersions: [\"1.0\"]\n") +
                                    Rollout("v2", "pk3", "  srcVersions: [\"2.0\"]\n") +
                                    Rollout("v3", "pk3", "  srcVersions: [\"2.0\", \"3.0\"]\n") +
                                    Rollout("d1", "pk4", "", "    - {name: s, devices: [x, y]}\n") +
                                    Rollout("d2", "pk4", "", "    - {name: s, devices: [z]}\n") +
                                    Rollout("d3", "pk4", "", "    - {name: s, devices: [y]}\n"));
  EXPECT_TRUE(Overlap(Named(set, "a"), Named(set, "b")));
  EXPECT_FALSE(Overlap(Named(set, "a"), Named(set, "c")));    // another product
  EXPECT_FALSE(Overlap(Named(set, "v1"), Named(set, "v2")));  // devices on other versions
  EXPECT_TRUE(Overlap(Named(set, "v2"), Named(set, "v3")));
  EXPECT_FALSE(Overlap(Named(set, "d1"), Named(set, "d2")));  // disjoint device lists
  EXPECT_TRUE(Overlap(Named(set, "d1"), Named(set, "d3")));
  std::vector<std::string> pairs;
  for (const auto& [x, y] : OverlappingPairs(set)) pairs.push_back(x->name + "+" + y->name);
  EXPECT_EQ(pairs, (std::vector<std::string>{"a+b", "v2+v3", "d1+d3"}));  // by product, then name
}

// State helpers: a created job of `stage` of rollout `r`, created at `at`.
void Created(state::Snapshot& s, const manifest::Rollout& r, size_t stage, core::Time at, const std::string& job) {
  const auto spec = spec::Resolve(r, r.stages[stage]);
  state::Attempt a;
  a.id = static_cast<int64_t>(s.attempts.size()) + 1;
  a.intent_id = "i" + std::to_string(a.id);
  a.rollout = r.name;
  a.stage = r.stages[stage].name;
  a.spec_hash = spec.hash;
  a.request = state::RequestText(spec::Flatten(spec.part(0)));
  a.status = state::AttemptStatus::kCreated;
  a.job_id = job;
  a.job_created_at = at;
  a.created_at = a.updated_at = at;
  s.attempts.push_back(a);
}

const RolloutPlan& Of(const Plan& p, const std::string& name) {
  for (const auto& r : p.rollouts) {
    if (r.name == name) return r;
  }
  throw std::runtime_error("no rollout " + name);
}

const std::string kBlocked =
    "rollout a of the same product goes first: its jobs could hold the same devices (a device is in one pending job "
    "at a time); this rollout starts when a has finished (every stage created, every job completed or cancelled), "
    "or list it in spec.supersedes";

TEST(Conflicts, TheLaterRolloutsFirstStageWaitsForTheEarlierToFinish) {
  const auto set = test_util::Parse(Rollout("a", "pk1", "") + Rollout("b", "pk1", ""));
  const core::Time now = T("2026-12-01T10:00:00Z");
  state::Snapshot s;
  s.exists = true;

  // Neither started: by name, a goes first.
  Plan p = Build(set, s, now);
  EXPECT_EQ(Of(p, "a").stages[0].action, Action::kCreate);
  EXPECT_EQ(Of(p, "b").stages[0].action, Action::kBlocked);
  EXPECT_EQ(Of(p, "b").stages[0].reason, kBlocked);
  ASSERT_EQ(Of(p, "b").conflicts.size(), 1u);
  EXPECT_TRUE(Of(p, "b").conflicts[0].other_first);
  ASSERT_EQ(Of(p, "a").conflicts.size(), 1u);
  EXPECT_FALSE(Of(p, "a").conflicts[0].other_first);

  // a running: b still waits, and knows which jobs it waits for.
  Created(s, Named(set, "a"), 0, T("2026-12-01T09:00:00Z"), "ja0");
  Created(s, Named(set, "a"), 1, T("2026-12-01T09:30:00Z"), "ja1");
  p = Build(set, s, now);
  EXPECT_EQ(Of(p, "b").stages[0].action, Action::kBlocked);
  EXPECT_EQ(Of(p, "b").conflicts[0].unfinished_jobs, (std::vector<std::string>{"ja0", "ja1"}));

  // One job observed done, the other cancelled: a has finished; no conflict.
  s.observations["ja0"] = state::Observation{"ja0", now, 10, {{"SUCCEEDED", 9}, {"FAILED", 1}}};
  s.attempts[1].job_status = "CANCELED";
  p = Build(set, s, now);
  EXPECT_EQ(Of(p, "b").stages[0].action, Action::kCreate);
  EXPECT_TRUE(Of(p, "b").conflicts.empty());
  EXPECT_TRUE(Of(p, "a").conflicts.empty());
}

TEST(Conflicts, TheOneThatStartedFirstGoesFirstWhateverItsName) {
  const auto set = test_util::Parse(Rollout("a", "pk1", "") + Rollout("b", "pk1", ""));
  state::Snapshot s;
  s.exists = true;
  Created(s, Named(set, "b"), 0, T("2026-12-01T09:00:00Z"), "jb0");
  Plan p = Build(set, s, T("2026-12-01T10:00:00Z"));
  EXPECT_EQ(Of(p, "a").stages[0].action, Action::kBlocked);
  EXPECT_EQ(Of(p, "a").conflicts[0].rollout, "b");
  EXPECT_TRUE(Of(p, "a").conflicts[0].other_first);
}

TEST(Conflicts, SupersedesLetsTheLaterGoAtOnceAndIsStillReported) {
  const auto set = test_util::Parse(Rollout("a", "pk1", "") + Rollout("b", "pk1", "  supersedes: [a]\n"));
  state::Snapshot s;
  s.exists = true;
  Created(s, Named(set, "a"), 0, T("2026-12-01T09:00:00Z"), "ja0");
  Plan p = Build(set, s, T("2026-12-01T10:00:00Z"));
  EXPECT_EQ(Of(p, "b").stages[0].action, Action::kCreate);
  ASSERT_EQ(Of(p, "b").conflicts.size(), 1u);
  EXPECT_TRUE(Of(p, "b").conflicts[0].superseded);
  EXPECT_TRUE(Of(p, "a").conflicts[0].superseded);
}

}  // namespace
}  // namespace otaroll::plan
