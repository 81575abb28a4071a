// What only a SQLite state file has, beyond the store contract
// (store_conformance_test.cc): the serial's triggers and other processes'
// write locks.
#include "state/sqlite_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "store_fixture.h"

namespace otaroll::state {
namespace {

using testing::PendingAttempt;
using testing::RawDb;
using testing::T;

class SqliteStoreTest : public testing::SqliteTest {
 protected:
  void SetUp() override {
    SqliteTest::SetUp();
    ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
  }
  int64_t Serial() {
    auto snap = store_->Load();
    EXPECT_TRUE(snap.ok()) << snap.status().message();
    return snap.ok() ? snap->serial : -1;
  }
};

// Rows changed behind the store's back still move the serial; the lease never does.
TEST_F(SqliteStoreTest, SerialTriggersCountEveryTableButTheLease) {
  ASSERT_TRUE(store_->UpsertRollout("r2", "k1", "179", T("2026-11-25T10:00:00Z")).ok());
  Observation o;
  o.job_id = "J1";
  ASSERT_TRUE(store_->AddObservation(o).ok());
  int64_t serial = Serial();
  auto bumped = [&](const char* what) {
    int64_t now = Serial();
    EXPECT_GT(now, serial) << what;
    serial = now;
  };
  RawDb raw(path_);
  ASSERT_EQ(raw.Exec("DELETE FROM observations"), SQLITE_OK);
  bumped("observation delete");
  ASSERT_EQ(raw.Exec("DELETE FROM rollouts WHERE name = 'r2'"), SQLITE_OK);
  bumped("rollout delete");

  ASSERT_EQ(raw.Exec("INSERT INTO lease VALUES (1, 'host-a', 42, '2026-11-25T10:00:00Z', "
                     "'2026-11-25T10:00:00Z', 30, 'tok')"),
            SQLITE_OK);
  ASSERT_EQ(raw.Exec("UPDATE lease SET heartbeat_at = '2026-11-25T10:00:10Z'"), SQLITE_OK);
  ASSERT_EQ(raw.Exec("DELETE FROM lease"), SQLITE_OK);
  EXPECT_EQ(Serial(), serial);
}

TEST_F(SqliteStoreTest, AWriteWhileAnotherProcessHoldsTheWriteLockWaitsThenSucceeds) {
  RawDb raw(path_);
  ASSERT_EQ(raw.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(raw.Exec("INSERT INTO rollouts VALUES ('r9', 'k', '1', '2026-11-25T09:00:00Z', "
                     "'2026-11-25T09:00:00Z')"),
            SQLITE_OK);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    raw.Exec("COMMIT");
  });
  auto id = store_->InsertAttempt(PendingAttempt("i1", "r9", "canary"));
  releaser.join();
  ASSERT_TRUE(id.ok()) << id.status().message();
}

}  // namespace
}  // namespace otaroll::state
