#include "state/schema.h"

#include <gtest/gtest.h>

#include "state/sqlite_store.h"
#include "state_test_util.h"

namespace otaroll::state {
namespace {

using testing::RawDb;
using testing::T;

class SchemaTest : public testing::StateTest {};

TEST_F(SchemaTest, MigrationsEndAtTheCurrentVersion) {
  EXPECT_EQ(static_cast<int64_t>(Migrations().size()), kSchemaVersion);
}

TEST_F(SchemaTest, OpenCreatesDirectoriesAndMigratesFromEmpty) {
  const std::string path = Path("a/b/state.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Int("PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(raw.Int("PRAGMA application_id"), kApplicationId);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  for (const char* table : {"rollouts", "attempts", "observations", "events", "lease", "serial"}) {
    EXPECT_EQ(
        raw.Int(std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '") + table + "'"), 1)
        << table;
  }
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 12);
  EXPECT_EQ(raw.Int("SELECT value FROM serial"), 0);
}

TEST_F(SchemaTest, ReopenKeepsDataAndDoesNotMigrateAgain) {
  const std::string path = Path("state.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->UpsertRollout("r1", "k1", "178", T("2026-11-25T10:00:00Z")).ok());
    ASSERT_TRUE((*store)->InsertAttempt(testing::PendingAttempt("i1", "r1", "canary")).ok());
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto snap = (*store)->Load();
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  ASSERT_EQ(snap->attempts.size(), 1u);
  EXPECT_EQ(snap->attempts[0].intent_id, "i1");
  EXPECT_EQ(snap->serial, 2);
}

// A state file of version 1 (before notifications), as an older otaroll
// left it: plan reads it as it is, the first writer migrates it and keeps
// every row.
TEST_F(SchemaTest, AVersion1FileIsReadAsItIsAndMigratedByTheFirstWriter) {
  const std::string path = Path("state.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec(Migrations().at(0).sql), SQLITE_OK);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 1"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO rollouts VALUES ('r1', 'k1', '178', '2026-11-25T10:00:00Z', "
                       "'2026-11-25T10:00:00Z')"),
              SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO events (at, kind, message) VALUES ('2026-11-25T10:00:00Z', 'cycle', 'c')"),
              SQLITE_OK);
  }
  auto read = LoadSnapshot(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_TRUE(read->exists);
  EXPECT_EQ(RawDb(path).Int("PRAGMA user_version"), 1);

  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(RawDb(path).Int("PRAGMA user_version"), kSchemaVersion);
  auto rollouts = (*store)->Rollouts();
  ASSERT_TRUE(rollouts.ok());
  ASSERT_EQ(rollouts->size(), 1u);
  EXPECT_EQ((*rollouts)[0].name, "r1");
  // The cursor of a new webhook starts after the events already there.
  auto cursor = (*store)->Cursor("sink");
  ASSERT_TRUE(cursor.ok()) << cursor.status().message();
  EXPECT_EQ(*cursor, 1);
}

TEST_F(SchemaTest, NewerSchemaVersionIsRefused) {
  const std::string path = Path("state.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 4"), SQLITE_OK);
  }
  const std::string hash = HashFile(path);
  const std::string want = "state file " + path +
                           " was written by a newer otaroll (schema version 4; this otaroll knows 3); upgrade otaroll";

  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), core::Status::Code::kUnsupported);
  EXPECT_EQ(store.status().message(), want);

  auto snap = LoadSnapshot(path);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), core::Status::Code::kUnsupported);
  EXPECT_EQ(snap.status().message(), want);
  EXPECT_EQ(HashFile(path), hash);
}

TEST_F(SchemaTest, RandomBytesAreRefused) {
  const std::string path = Path("state.db");
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += static_cast<char>((i * 7919 + 13) % 251);
  WriteBytes(path, bytes);
  const std::string want = "state file " + path +
                           " is not an otaroll state file (not an SQLite database); pass the right --state path or "
                           "move the file away";

  auto snap = LoadSnapshot(path);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(snap.status().message(), want);

  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(store.status().message(), want);
  EXPECT_EQ(ReadBytes(path), bytes);
}

TEST_F(SchemaTest, ForeignSqliteDatabaseIsRefusedAndLeftAlone) {
  const std::string path = Path("state.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')"), SQLITE_OK);
  }
  const std::string hash = HashFile(path);
  const std::string want = "state file " + path +
                           " is not an otaroll state file (an SQLite database of another application); pass the "
                           "right --state path or move the file away";

  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(store.status().message(), want);

  auto snap = LoadSnapshot(path);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(snap.status().message(), want);

  EXPECT_EQ(HashFile(path), hash);
  EXPECT_EQ(Listing(), std::set<std::string>{"state.db"});
}

TEST_F(SchemaTest, OtherApplicationIdIsRefused) {
  const std::string path = Path("state.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA application_id = 42"), SQLITE_OK);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), core::Status::Code::kCorruption);
}

TEST_F(SchemaTest, EmptyFileIsAnEmptyStateAndOpenInitialisesIt) {
  const std::string path = Path("state.db");
  WriteBytes(path, "");
  auto snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_TRUE(snap->exists);
  EXPECT_TRUE(snap->attempts.empty());
  EXPECT_EQ(ReadBytes(path), "");

  ASSERT_TRUE(SqliteStore::Open(path).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Int("PRAGMA user_version"), kSchemaVersion);
}

TEST_F(SchemaTest, ConstraintsGuardTheLifecycle) {
  const std::string path = Path("state.db");
  ASSERT_TRUE(SqliteStore::Open(path).ok());
  RawDb raw(path);
  ASSERT_EQ(raw.Exec("PRAGMA foreign_keys = ON"), SQLITE_OK);
  ASSERT_EQ(raw.Exec("INSERT INTO rollouts VALUES ('r', 'k', '1', 'x', 'x')"), SQLITE_OK);
  const std::string insert =
      "INSERT INTO attempts (intent_id, rollout, stage, part, parts, spec_hash, request_json, status, job_id, "
      "created_at, updated_at) VALUES ";
  EXPECT_NE(raw.Exec(insert + "('a', 'r', 's', 0, 1, 'h', '{}', 'done', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_NE(raw.Exec(insert + "('b', 'r', 's', 0, 1, 'h', '{}', 'created', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_NE(raw.Exec(insert + "('c', 'r', 's', 1, 1, 'h', '{}', 'pending', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_NE(raw.Exec(insert + "('d', 'nope', 's', 0, 1, 'h', '{}', 'pending', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_EQ(raw.Exec(insert + "('e', 'r', 's', 0, 1, 'h', '{}', 'created', 'J1', 'x', 'x')"), SQLITE_OK);
  EXPECT_NE(raw.Exec(insert + "('f', 'r', 's', 0, 1, 'h', '{}', 'created', 'J1', 'x', 'x')"), SQLITE_OK);
  EXPECT_EQ(raw.Exec(insert + "('g', 'r', 's', 0, 1, 'h', '{}', 'pending', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_EQ(raw.Exec(insert + "('h', 'r', 's', 0, 1, 'h', '{}', 'failed', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_NE(raw.Exec(insert + "('g', 'r', 's', 0, 1, 'h', '{}', 'pending', NULL, 'x', 'x')"), SQLITE_OK);
  EXPECT_NE(raw.Exec("INSERT INTO lease VALUES (2, 'h', 1, 'x', 'x', 30, 't', 1)"), SQLITE_OK);
}

}  // namespace
}  // namespace otaroll::state
