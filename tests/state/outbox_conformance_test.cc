// store.h's notification methods (the outbox, cursors and conditions), held
// to one contract on every backend.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace otaroll::state {
namespace {

using testing::Backend;
using testing::T;

class OutboxConformance : public testing::StoreFixture {
 protected:
  void Append(const std::string& kind) {
    Event e;
    e.at = T("2026-11-25T10:00:00Z");
    e.kind = kind;
    e.message = kind + " happened";
    ASSERT_TRUE(store_->AppendEvent(e).ok());
  }
  int64_t CursorOf(const std::string& sink) {
    auto c = store_->Cursor(sink);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : -1;
  }
  static Condition Held(const std::string& rollout, const std::string& stage) {
    Condition c;
    c.rollout = rollout;
    c.stage = stage;
    c.state = "held";
    c.reason = "hold";
    c.commit = "c1";
    c.since = T("2026-11-25T10:00:00Z");
    return c;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, OutboxConformance, testing::kAllBackends, testing::BackendName);

TEST_P(OutboxConformance, EventsAfterReadsOnFromASeqInOrderAndBounded) {
  for (const char* kind : {"a", "b", "c", "d"}) Append(kind);
  auto all = store_->EventsAfter(0, 10);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 4u);
  auto two = store_->EventsAfter((*all)[0].seq, 2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].kind, "b");
  EXPECT_EQ((*two)[1].kind, "c");
  EXPECT_TRUE(store_->EventsAfter((*all)[3].seq, 10)->empty());
}

TEST_P(OutboxConformance, ANewSinkStartsAtTheEndOfTheLogAndNeverMovesBack) {
  EXPECT_EQ(CursorOf("empty"), 0);
  Append("a");
  Append("b");
  const int64_t end = store_->EventsAfter(0, 10)->back().seq;
  EXPECT_EQ(CursorOf("late"), end);
  EXPECT_EQ(CursorOf("empty"), 0);  // made before the events: it keeps its place

  ASSERT_TRUE(store_->SetCursor("empty", end).ok());
  EXPECT_EQ(CursorOf("empty"), end);
  ASSERT_TRUE(store_->SetCursor("empty", end - 1).ok());
  EXPECT_EQ(CursorOf("empty"), end);
}

TEST_P(OutboxConformance, CursorsAndConditionsDoNotChangeTheSerial) {
  Append("a");
  const int64_t before = Serial();
  ASSERT_TRUE(store_->Cursor("s").ok());
  ASSERT_TRUE(store_->SetCursor("s", 1).ok());
  ASSERT_TRUE(store_->PutCondition(Held("r1", "canary")).ok());
  ASSERT_TRUE(store_->ClearCondition("r1", "canary").ok());
  EXPECT_EQ(Serial(), before);
}

TEST_P(OutboxConformance, ConditionsAreKeptPerStageReplacedAndCleared) {
  Condition late = Held("r2", "canary");
  Condition first = Held("r1", "wave");
  first.state = "halted";
  first.reason = "health";
  first.reminded = true;
  ASSERT_TRUE(store_->PutCondition(late).ok());
  ASSERT_TRUE(store_->PutCondition(first).ok());
  ASSERT_TRUE(store_->PutCondition(Held("r1", "canary")).ok());
  auto all = store_->Conditions();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], Held("r1", "canary"));
  EXPECT_EQ((*all)[1], first);
  EXPECT_EQ((*all)[2], late);

  Condition moved = late;
  moved.commit = "c2";
  moved.since = T("2026-11-26T10:00:00Z");
  ASSERT_TRUE(store_->PutCondition(moved).ok());
  ASSERT_TRUE(store_->ClearCondition("r1", "canary").ok());
  ASSERT_TRUE(store_->ClearCondition("r9", "none").ok());
  all = store_->Conditions();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], first);
  EXPECT_EQ((*all)[1], moved);
}

TEST_P(OutboxConformance, ConditionWritesJoinAnOpenTransaction) {
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store_->PutCondition(Held("r1", "canary")).ok());
    Append("halted");
  }  // rolled back
  EXPECT_TRUE(store_->Conditions()->empty());
  EXPECT_TRUE(store_->EventsAfter(0, 10)->empty());
}

}  // namespace
}  // namespace otaroll::state
