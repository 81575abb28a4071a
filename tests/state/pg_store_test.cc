// What only a PostgreSQL state has (pg_store.h): the database's clock for
// the lease, the safety margin checked with every intent, a connection cut
// mid-transaction, its own schema versions, and moving a state between
// backends. Its Store contract is the conformance suite's (Backend::kPostgres).
#include "state/pg_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "state/pg_schema.h"
#include "state/transfer.h"
#include "store_fixture.h"

namespace otaroll::state {
namespace {

using testing::Eventually;
using testing::FreshPostgres;
using testing::Holder;
using testing::PendingAttempt;
using testing::T;

std::string WithoutSerial(const std::string& json) {
  auto doc = nlohmann::ordered_json::parse(json);
  doc.erase("serial");
  return doc.dump(2);
}

class PgStoreTest : public testing::StateTest {
 protected:
  void SetUp() override {
    StateTest::SetUp();
    uri_ = FreshPostgres();
    ASSERT_FALSE(uri_.empty()) << test_util::PostgresServer::last_error();
    auto store = PgStore::Open(uri_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }
  core::Time DbNow() {
    auto now = store_->DatabaseNow();
    EXPECT_TRUE(now.ok()) << now.status().message();
    return now.ok() ? *now : core::Time{};
  }
  // Runs `sql` on a connection of its own.
  void Admin(const std::string& sql) {
    auto db = PgDb::Connect(uri_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    auto done = (*db)->Exec(sql, {}, "testing");
    ASSERT_TRUE(done.ok()) << done.status().message();
  }

  std::string uri_;
  std::unique_ptr<PgStore> store_;
};

TEST_F(PgStoreTest, LeaseTimesComeFromTheDatabasesClockNotTheCallers) {
  const core::Time before = DbNow();
  auto got = store_->AcquireLease(Holder("build-7", 4242, "tok"), T("2001-01-01T00:00:00Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  const core::Time after = DbNow();
  EXPECT_GE(got->lease.heartbeat_at, before);
  EXPECT_LE(got->lease.heartbeat_at, after);
  EXPECT_EQ(got->lease.started_at, got->lease.heartbeat_at);
  ASSERT_TRUE(store_->Heartbeat("tok", T("2001-01-01T00:00:00Z")).ok());
  auto held = store_->ReadLease();
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_GE((*held)->heartbeat_at, after);
  EXPECT_EQ((*held)->started_at, got->lease.started_at);
}

// Expiry is judged on the database's clock: a remote holder keeps the lease
// until its TTL has passed there, whatever time the taker's host has.
TEST_F(PgStoreTest, ARemoteHolderIsTakenOverOnceItsTtlHasPassedOnTheDatabasesClock) {
  auto first = store_->AcquireLease(Holder("elsewhere.example", 77, "theirs", /*ttl=*/1), T("2001-01-01T00:00:00Z"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto early = store_->AcquireLease(Holder("here.example", 78, "ours"), T("2099-01-01T00:00:00Z"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), core::Status::Code::kConflict);
  ASSERT_TRUE(Eventually([&] { return DbNow() > first->lease.heartbeat_at + std::chrono::seconds(1); }));
  auto late = store_->AcquireLease(Holder("here.example", 78, "ours"), T("2001-01-01T00:00:00Z"));
  ASSERT_TRUE(late.ok()) << late.status().message();
  ASSERT_TRUE(late->taken_over_from.has_value());
  EXPECT_EQ(late->taken_over_from->token, "theirs");
  EXPECT_EQ(late->lease.epoch, first->lease.epoch + 1);
}

// An intent is written only while the lease has its safety margin left by
// the database's clock: a holder whose heartbeats stopped writes none.
TEST_F(PgStoreTest, AnIntentNeedsTheLeasesSafetyMarginLeftOnTheDatabasesClock) {
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T10:00:00Z")).ok());
  auto got = store_->AcquireLease(Holder("build-7", 4242, "tok", /*ttl=*/1), T("2001-01-01T00:00:00Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  store_->SetFence("tok", got->lease.epoch);
  ASSERT_TRUE(store_->InsertAttempt(PendingAttempt("i1", "r1", "canary")).ok());
  // Past TTL minus margin (1 s - 333 ms), not yet past the TTL: still ours, no longer safe.
  ASSERT_TRUE(Eventually([&] { return DbNow() > got->lease.heartbeat_at + std::chrono::milliseconds(700); }));
  auto late = store_->InsertAttempt(PendingAttempt("i2", "r1", "pilot"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), core::Status::Code::kConflict);
  EXPECT_TRUE(std::regex_match(
      late.status().message(),
      std::regex("the lease on postgresql://otaroll@127\\.0\\.0\\.1:[0-9]+/t[0-9_]+ has -?[0-9]+ ms left by the "
                 "database's clock, less than its safety margin \\(333 ms; its "
                 "heartbeats are late\\); no intent was written for r1/pilot and nothing was created; the run "
                 "stopped")))
      << late.status().message();
  // A heartbeat makes it safe again: nobody else took it.
  ASSERT_TRUE(store_->Heartbeat("tok", T("2001-01-01T00:00:00Z")).ok());
  EXPECT_TRUE(store_->InsertAttempt(PendingAttempt("i2", "r1", "pilot")).ok());
}

// The connection is cut (the server ends it) while a transaction holding an
// intent is open: the commit fails as Unavailable, nothing of it is kept,
// and the next call connects again.
TEST_F(PgStoreTest, AConnectionCutMidTransactionLosesNothingAndTheNextCallConnectsAgain) {
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->InsertAttempt(PendingAttempt("i1", "r1", "canary")).ok());
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(store_->InsertAttempt(PendingAttempt("i2", "r1", "pilot")).ok());
    Admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'otaroll' AND pid <> "
        "pg_backend_pid() AND datname = current_database()");
    core::Status committed = tx->Commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_EQ(committed.code(), core::Status::Code::kUnavailable) << committed.message();
    EXPECT_EQ(committed.message().rfind(store_->where() + ": lost the connection while committing a transaction: ", 0),
              0u)
        << committed.message();
  }
  auto snap = store_->Load();  // connects again
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  ASSERT_EQ(snap->attempts.size(), 1u);
  EXPECT_EQ(snap->attempts[0].intent_id, "i1");  // committed before the cut: kept
  EXPECT_TRUE(store_->InsertAttempt(PendingAttempt("i2", "r1", "pilot")).ok());
}

TEST_F(PgStoreTest, ASchemaIsCreatedOnceAndANewerOneIsRefused) {
  auto db = PgDb::Connect(uri_);
  ASSERT_TRUE(db.ok());
  auto version = PgSchemaVersion(**db);
  ASSERT_TRUE(version.ok()) << version.status().message();
  EXPECT_EQ(*version, kPgSchemaVersion);
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T10:00:00Z")).ok());
  auto again = PgStore::Open(uri_);  // already current: nothing migrates, nothing is lost
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->Rollouts()->size(), 1u);

  Admin(fmt::format("UPDATE otaroll_meta SET schema_version = {}", kPgSchemaVersion + 1));
  auto newer = PgStore::Open(uri_);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), core::Status::Code::kUnsupported);
  EXPECT_EQ(newer.status().message(),
            fmt::format("{} was written by a newer otaroll (schema version {}; this otaroll knows {}); upgrade otaroll",
                        store_->where(), kPgSchemaVersion + 1, kPgSchemaVersion));
}

TEST_F(PgStoreTest, ADatabaseWithoutOtarollsSchemaIsReadAsNoStateAndLeftAsItIs) {
  const std::string empty = FreshPostgres();
  auto snap = PgStore::LoadWithoutCreating(empty);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_FALSE(snap->exists);
  auto db = PgDb::Connect(empty);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*PgSchemaVersion(**db), 0);  // nothing was created by the read
}

// A state moves between backends and back without changing a row: SQLite
// export → PostgreSQL import → export → SQLite import → export.
TEST_F(PgStoreTest, ExportAndImportMoveAStateBetweenBackendsUnchanged) {
  const std::string file = Path("state.db");
  {
    auto sqlite = SqliteStore::Open(file);
    ASSERT_TRUE(sqlite.ok());
    SqliteStore& s = **sqlite;
    ASSERT_TRUE(s.UpsertRollout("r1", "k1", "178", T("2026-11-25T10:00:00Z")).ok());
    auto id = s.InsertAttempt(PendingAttempt("i1", "r1", "canary"));
    ASSERT_TRUE(id.ok());
    Attempt done = s.Load()->attempts.at(0);
    done.status = AttemptStatus::kCreated;
    done.job_id = "J1";
    done.job_created_at = T("2026-11-25T10:00:01.250Z");
    ASSERT_TRUE(s.UpdateAttempt(done).ok());
    Observation o;
    o.job_id = "J1";
    o.observed_at = T("2026-11-25T10:05:00Z");
    o.total = 10;
    o.by_status["SUCCEEDED"] = 9;
    o.by_status["FAILED"] = 1;
    ASSERT_TRUE(s.AddObservation(o).ok());
    ASSERT_TRUE(s.AppendEvent(Event{0, T("2026-11-25T10:00:02Z"), "r1", "canary", *id, "created",
                                    "r1/canary: created J1", R"({"job":"J1","ünï":"cödé"})"})
                    .ok());
  }
  auto from_sqlite = ExportState(file);
  ASSERT_TRUE(from_sqlite.ok()) << from_sqlite.status().message();
  auto imported = store_->Import(from_sqlite->json, "state.json");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(DescribeCounts(*imported), "1 rollout, 1 attempt, 1 observation and 1 event");
  auto from_pg = store_->Export();
  ASSERT_TRUE(from_pg.ok()) << from_pg.status().message();
  // The same rows, ids and times; the serial counts the writes of each
  // state (an import is one write per row).
  EXPECT_EQ(WithoutSerial(from_pg->json), WithoutSerial(from_sqlite->json));
  EXPECT_EQ(from_pg->serial, 4);

  // New rows continue after the imported ids.
  auto next = store_->InsertAttempt(PendingAttempt("i2", "r1", "pilot"));
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(*next, 2);
  // A database that holds history refuses an import.
  auto twice = store_->Import(from_sqlite->json, "state.json");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), core::Status::Code::kConflict);

  auto back = SqliteStore::Open(Path("back.db"));
  ASSERT_TRUE(back.ok());
  auto again = store_->Export();
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*back)->Import(again->json, "pg.json").ok());
  auto round = ExportState(Path("back.db"));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->json, again->json);  // both imported: one write per row each
}

}  // namespace
}  // namespace otaroll::state
