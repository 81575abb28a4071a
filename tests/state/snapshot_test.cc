// The snapshot's index of attempts by stage (plan, apply and status read a
// stage's attempts through it).
#include "state/snapshot.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace otaroll::state {
namespace {

Attempt Made(int64_t id, const std::string& rollout, const std::string& stage) {
  Attempt a;
  a.id = id;
  a.rollout = rollout;
  a.stage = stage;
  return a;
}

std::vector<int64_t> Ids(StageAttempts attempts) {
  std::vector<int64_t> ids;
  for (const Attempt* a : attempts) ids.push_back(a->id);
  return ids;
}

// Attempts in id order, stages interleaved, a rollout whose name is another's
// prefix and a stage named like another rollout's: each stage's attempts come
// back whole, in id order, and nothing else.
TEST(AttemptsByStage, EachStageHasItsOwnAttemptsInIdOrder) {
  Snapshot s;
  s.attempts = {Made(1, "hvac", "canary"), Made(2, "hvac-eu", "canary"), Made(3, "hvac", "everyone"),
                Made(4, "hvac", "canary"), Made(5, "a", "hvac"),         Made(6, "hvac-eu", "canary")};
  const AttemptsByStage index(s);
  EXPECT_EQ(Ids(index.Of("hvac", "canary")), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(Ids(index.Of("hvac-eu", "canary")), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(Ids(index.Of("hvac", "everyone")), (std::vector<int64_t>{3}));
  EXPECT_EQ(Ids(index.Of("a", "hvac")), (std::vector<int64_t>{5}));
  EXPECT_TRUE(index.Of("hvac", "pilot").empty());
  EXPECT_TRUE(index.Of("zz", "canary").empty());
  EXPECT_TRUE(index.Of("", "").empty());

  std::vector<std::string> stages;
  for (StageAttempts stage : index.Stages()) {
    stages.push_back(stage.front()->rollout + "/" + stage.front()->stage + " " + std::to_string(stage.size()));
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"a/hvac 1", "hvac/canary 2", "hvac/everyone 1", "hvac-eu/canary 2"}));
}

TEST(AttemptsByStage, AnEmptySnapshotHasNoStages) {
  const Snapshot s;
  const AttemptsByStage index(s);
  EXPECT_TRUE(index.Stages().empty());
  EXPECT_TRUE(index.Of("hvac", "canary").empty());
}

}  // namespace
}  // namespace otaroll::state
