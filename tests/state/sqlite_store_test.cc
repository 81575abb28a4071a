// What only a SQLite state file has, beyond the store contract
// (store_conformance_test.cc): the serial's triggers and other processes'
// write locks.
#include "state/sqlite_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "state/db.h"
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

// A lazy transaction turns the connection's sync off for itself only: every
// other commit (an intent) is synced again.
TEST_F(SqliteStoreTest, ALazyTransactionSyncsNothingAndTheNextCommitsSyncAgain) {
  EXPECT_EQ(store_->SyncLevel(), 2) << "FULL";
  {
    auto tx = store_->Begin(Durability::kLazy);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    EXPECT_EQ(store_->SyncLevel(), 1) << "NORMAL: WAL frames are not synced at commit";
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(store_->SyncLevel(), 2);
  {
    auto tx = store_->Begin(Durability::kLazy);
    ASSERT_TRUE(tx.ok());
  }  // rolled back
  EXPECT_EQ(store_->SyncLevel(), 2);
}

// Statements are compiled once per connection and reused, bindings cleared.
TEST_F(SqliteStoreTest, StatementsAreCompiledOnceAndReusedClean) {
  auto db = Db::Open(Path("cache.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "cache.db");
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto statements = [&] {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt((*db)->raw(), nullptr); s != nullptr;
         s = sqlite3_next_stmt((*db)->raw(), s)) {
      ++n;
    }
    return n;
  };
  for (int i = 0; i < 100; ++i) {
    auto stmt = (*db)->Prepare("SELECT ?1", "testing");
    ASSERT_TRUE(stmt.ok());
    if (i % 2 == 0) stmt->Bind(1, int64_t{i});
    auto row = stmt->Step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(stmt->IsNull(0), i % 2 == 1) << "a binding of the previous use was kept";
  }
  EXPECT_EQ(statements(), 1);
  {
    // The same text twice at once: two statements, each its own.
    auto a = (*db)->Prepare("SELECT ?1", "testing");
    auto b = (*db)->Prepare("SELECT ?1", "testing");
    ASSERT_TRUE(a.ok() && b.ok());
    a->Bind(1, int64_t{1});
    b->Bind(1, int64_t{2});
    ASSERT_TRUE(*a->Step() && *b->Step());
    EXPECT_EQ(a->Int(0), 1);
    EXPECT_EQ(b->Int(0), 2);
  }
  EXPECT_EQ(statements(), 1) << "the second copy was finalized, not cached";
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*db)->Prepare(fmt::format("SELECT {}", i), "testing").ok());
  EXPECT_EQ(statements(), static_cast<int>(Db::kCachedStatements));
}

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
                     "'2026-11-25T10:00:00Z', 30, 'tok', 1)"),
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
