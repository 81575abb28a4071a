#include "notify/conditions.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "state/memory_store.h"

namespace otaroll::notify {
namespace {

using std::chrono::hours;

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

const core::Time kT0 = T("2026-11-30T10:00:00Z");
const core::Duration kDay = hours(24);

plan::Plan OneStage(plan::Action action, const std::string& cause, std::optional<core::Time> opens = std::nullopt) {
  plan::StagePlan s;
  s.name = "wave";
  s.action = action;
  s.cause = cause;
  s.reason = action == plan::Action::kHalted ? "stage canary breached its health gate: 80% failed > maxFailedPercent 5"
                                             : "gate.hold is set; remove it to promote this stage";
  s.opens_at = opens;
  if (action == plan::Action::kHalted) {
    plan::HealthView h;
    h.job_id = "J1";
    h.observed_at = kT0;
    h.total = 10;
    h.finished = 10;
    h.succeeded = 2;
    h.failed = 8;
    s.health = h;
  }
  plan::RolloutPlan r;
  r.name = "hvac";
  r.stages = {s};
  plan::Plan p;
  p.rollouts = {r};
  return p;
}

// Runs Track and applies its result to `open`, as Record would.
Tracked Step(std::vector<state::Condition>& open, const plan::Plan& p, core::Time now, const std::string& commit) {
  Tracked t = Track(p, open, now, commit, kDay);
  for (const auto& [rollout, stage] : t.clear) {
    std::erase_if(open, [&](const state::Condition& c) { return c.rollout == rollout && c.stage == stage; });
  }
  for (const auto& c : t.put) {
    std::erase_if(open, [&](const state::Condition& o) { return o.rollout == c.rollout && o.stage == c.stage; });
    open.push_back(c);
  }
  return t;
}

TEST(Conditions, AHaltNotifiesOncePerCommitUntilItClearsAndAgainWhenItComesBack) {
  std::vector<state::Condition> open;
  const plan::Plan halted = OneStage(plan::Action::kHalted, "health");
  Tracked t = Step(open, halted, kT0, "c1");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].kind, "halted");
  EXPECT_EQ(t.events[0].rollout, "hvac");
  EXPECT_EQ(t.events[0].stage, "wave");
  EXPECT_EQ(t.events[0].message,
            "hvac/wave is halted at commit c1: stage canary breached its health gate: 80% failed > maxFailedPercent 5");
  const auto data = nlohmann::json::parse(t.events[0].data_json);
  EXPECT_EQ(data["health"]["failed"], 8);
  EXPECT_EQ(data["health"]["succeeded"], 2);
  EXPECT_EQ(data["commit"], "c1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].state, "halted");
  EXPECT_EQ(open[0].reason, "health");
  EXPECT_EQ(open[0].since, kT0);

  // Still halted, same commit: nothing, and nothing to write.
  t = Step(open, halted, kT0 + hours(1), "c1");
  EXPECT_TRUE(t.events.empty());
  EXPECT_TRUE(t.put.empty());
  // A new commit with the stage still halted: told again, since kept.
  t = Step(open, halted, kT0 + hours(2), "c2");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].kind, "halted");
  EXPECT_EQ(open[0].since, kT0);
  // Cleared (the gate was changed and the stage created), then halted again.
  t = Step(open, OneStage(plan::Action::kInSync, ""), kT0 + hours(3), "c3");
  EXPECT_TRUE(t.events.empty());
  ASSERT_EQ(t.clear.size(), 1u);
  EXPECT_TRUE(open.empty());
  t = Step(open, halted, kT0 + hours(4), "c3");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(open[0].since, kT0 + hours(4));
}

TEST(Conditions, AHeldStageIsRemindedOnceAfterRemindAfter) {
  std::vector<state::Condition> open;
  const plan::Plan held = OneStage(plan::Action::kHeld, "hold");
  Tracked t = Step(open, held, kT0, "c1");
  EXPECT_TRUE(t.events.empty());
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(t.next_reminder, kT0 + kDay);

  t = Step(open, held, kT0 + hours(23), "c1");
  EXPECT_TRUE(t.events.empty());
  EXPECT_EQ(t.next_reminder, kT0 + kDay);
  t = Step(open, held, kT0 + kDay, "c1");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].kind, "reminder");
  EXPECT_EQ(t.events[0].message,
            "hvac/wave has been held for 1d (since 2026-11-30T10:00:00Z): gate.hold is set; remove it to promote this "
            "stage");
  EXPECT_FALSE(t.next_reminder.has_value());
  t = Step(open, held, kT0 + kDay * 3, "c1");
  EXPECT_TRUE(t.events.empty());
  // Another commit, still held: one more reminder (a new key), at once.
  t = Step(open, held, kT0 + kDay * 3, "c2");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].kind, "reminder");
}

TEST(Conditions, AnotherCauseIsAnotherCondition) {
  std::vector<state::Condition> open;
  Step(open, OneStage(plan::Action::kHeld, "hold"), kT0, "c1");
  Step(open, OneStage(plan::Action::kHeld, "paused"), kT0 + hours(20), "c1");
  Tracked t = Step(open, OneStage(plan::Action::kHeld, "paused"), kT0 + kDay, "c1");
  EXPECT_TRUE(t.events.empty());  // paused for 4 h only
  EXPECT_EQ(open[0].since, kT0 + hours(20));
}

TEST(Conditions, AWaitWithAKnownEndIsNotRemindedUntilThatEndHasPassed) {
  std::vector<state::Condition> open;
  const core::Time opens = kT0 + kDay * 3;
  Tracked t = Step(open, OneStage(plan::Action::kWaiting, "soak", opens), kT0, "c1");
  EXPECT_FALSE(t.next_reminder.has_value());
  t = Step(open, OneStage(plan::Action::kWaiting, "soak", opens), kT0 + kDay * 2, "c1");
  EXPECT_TRUE(t.events.empty());
  // Past its soak, still waiting on the health gate: stuck.
  t = Step(open, OneStage(plan::Action::kWaiting, "health"), kT0 + kDay * 3, "c1");
  EXPECT_TRUE(t.events.empty());
  t = Step(open, OneStage(plan::Action::kWaiting, "health"), kT0 + kDay * 4, "c1");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].kind, "reminder");
}

TEST(Conditions, ZeroRemindAfterSendsNoReminders) {
  Tracked t = Track(OneStage(plan::Action::kHeld, "hold"), {}, kT0, "c1", core::Duration::zero());
  EXPECT_TRUE(t.events.empty());
  EXPECT_FALSE(t.next_reminder.has_value());
  ASSERT_EQ(t.put.size(), 1u);
}

TEST(Conditions, AStageGoneFromThePlanClears) {
  std::vector<state::Condition> open;
  Step(open, OneStage(plan::Action::kHeld, "hold"), kT0, "c1");
  Tracked t = Step(open, plan::Plan{}, kT0 + hours(1), "c1");
  ASSERT_EQ(t.clear.size(), 1u);
  EXPECT_EQ(t.clear[0], std::make_pair(std::string("hvac"), std::string("wave")));
}

TEST(Conditions, RecordWritesConditionsAndEventsInOneGoWithoutChangingTheSerialForConditionsAlone) {
  state::MemoryStore store;
  auto next = Record(store, OneStage(plan::Action::kHeld, "hold"), kT0, "c1", kDay);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(*next, kT0 + kDay);
  EXPECT_EQ(*store.Serial(), 0);
  EXPECT_EQ(store.Conditions()->size(), 1u);
  next = Record(store, OneStage(plan::Action::kHalted, "health"), kT0 + hours(1), "c1", kDay);
  ASSERT_TRUE(next.ok());
  auto events = store.Events("");
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "halted");
  EXPECT_EQ((*store.Conditions())[0].state, "halted");
}

}  // namespace
}  // namespace otaroll::notify
