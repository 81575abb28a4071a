// LoadSnapshot is what `otaroll plan` uses: read-only, lock-free, no side effects.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "state/request.h"
#include "state/sqlite_store.h"
#include "state_test_util.h"
#include "test_util/child.h"

namespace otaroll::state {
namespace {

using testing::PendingAttempt;
using testing::RawDb;
using testing::T;

class LoadSnapshotTest : public testing::StateTest {
 protected:
  // A state file with one rollout, one created attempt and one observation.
  std::unique_ptr<SqliteStore> Seed(const std::string& path) {
    auto store = SqliteStore::Open(path);
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (!store.ok()) return nullptr;
    EXPECT_TRUE((*store)->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
    Attempt a = PendingAttempt("i1", "r1", "canary");
    a.status = AttemptStatus::kCreated;
    a.job_id = "J1";
    a.job_created_at = T("2026-11-25T10:00:00Z");
    EXPECT_TRUE((*store)->InsertAttempt(a).ok());
    Observation o;
    o.job_id = "J1";
    o.observed_at = T("2026-11-25T11:00:00Z");
    o.total = 10;
    o.by_status = {{"SUCCEEDED", 9}, {"FAILED", 1}};
    EXPECT_TRUE((*store)->AddObservation(o).ok());
    return std::move(*store);
  }

  static bool HeaderSaysWal(const std::string& path) {
    std::string bytes = ReadBytes(path);
    return bytes.size() >= 100 && bytes[18] == 2 && bytes[19] == 2;
  }
};

TEST_F(LoadSnapshotTest, MissingFileMeansNothingCreatedAndCreatesNothing) {
  const std::string path = Path("state.db");
  auto snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_FALSE(snap->exists);
  EXPECT_EQ(snap->source, path);
  EXPECT_EQ(snap->serial, 0);
  EXPECT_TRUE(snap->attempts.empty());
  EXPECT_TRUE(Listing().empty());

  auto nested = LoadSnapshot(Path(".otaroll/state.db"));
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  EXPECT_FALSE(nested->exists);
  EXPECT_TRUE(Listing().empty());
}

TEST_F(LoadSnapshotTest, ADirectoryIsNotAStateFile) {
  auto snap = LoadSnapshot(dir_.string());
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().message(), "state file " + dir_.string() +
                                         " is not a regular file; pass the path of an otaroll state file with --state");
}

TEST_F(LoadSnapshotTest, ReadsEverythingTheStoreWrote) {
  const std::string path = Path("state.db");
  auto store = Seed(path);
  ASSERT_NE(store, nullptr);
  auto snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_TRUE(snap->exists);
  EXPECT_EQ(snap->source, path);
  EXPECT_EQ(snap->serial, 3);
  ASSERT_EQ(snap->attempts.size(), 1u);
  EXPECT_EQ(snap->attempts[0].job_id, "J1");
  EXPECT_EQ(state::ParseRequest(snap->attempts[0].request)->at("GrayPercent"), "10");
  ASSERT_EQ(snap->observations.count("J1"), 1u);
  EXPECT_EQ(snap->observations.at("J1").Count("FAILED"), 1);
}

TEST_F(LoadSnapshotTest, ARequestThatIsNotAnObjectOfStringsIsDamage) {
  const std::string path = Path("state.db");
  auto store = Seed(path);
  ASSERT_NE(store, nullptr);
  store.reset();
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("UPDATE attempts SET request_json = '{\"GrayPercent\":10}'"), SQLITE_OK);
  }
  auto snap = LoadSnapshot(path);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().message(),
            "state file " + path +
                " is damaged (attempt 1 has a request_json that is not a JSON object of strings); restore it from a "
                "backup");
}

TEST_F(LoadSnapshotTest, WorksDuringAnotherConnectionsWriteTransaction) {
  const std::string path = Path("state.db");
  auto store = Seed(path);
  ASSERT_NE(store, nullptr);
  RawDb writer(path);
  ASSERT_EQ(writer.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(writer.Exec("UPDATE attempts SET job_status = 'COMPLETED'"), SQLITE_OK);
  ASSERT_EQ(writer.Exec("INSERT INTO rollouts VALUES ('r2', 'k', '1', '2026-11-25T09:00:00Z', "
                        "'2026-11-25T09:00:00Z')"),
            SQLITE_OK);

  auto snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->serial, 3);  // the last committed state, not the open transaction
  ASSERT_EQ(snap->attempts.size(), 1u);
  EXPECT_EQ(snap->attempts[0].job_status, "");

  ASSERT_EQ(writer.Exec("COMMIT"), SQLITE_OK);
  snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->serial, 5);
  EXPECT_EQ(snap->attempts.at(0).job_status, "COMPLETED");
}

TEST_F(LoadSnapshotTest, LeavesTheStateFileByteIdentical) {
  const std::string path = Path("state.db");
  auto store = Seed(path);
  ASSERT_NE(store, nullptr);
  // While the writer is open (its -wal file exists) ...
  const std::string db_hash = HashFile(path);
  const std::string wal_hash = HashFile(path + "-wal");
  ASSERT_TRUE(LoadSnapshot(path).ok());
  EXPECT_EQ(HashFile(path), db_hash);
  EXPECT_EQ(HashFile(path + "-wal"), wal_hash);

  // ... and after it closed.
  store.reset();
  const std::string closed_hash = HashFile(path);
  const auto listing = Listing();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(LoadSnapshot(path).ok());
  EXPECT_EQ(HashFile(path), closed_hash);
  EXPECT_EQ(Listing(), listing);
}

TEST_F(LoadSnapshotTest, ReadsACleanlyClosedWalFileWithoutWalAndShmFiles) {
  const std::string path = Path("state.db");
  Seed(path).reset();
  ASSERT_TRUE(HeaderSaysWal(path));
  ASSERT_EQ(Listing(), std::set<std::string>{"state.db"});

  auto snap = LoadSnapshot(path);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->serial, 3);
  EXPECT_EQ(snap->attempts.size(), 1u);
  EXPECT_EQ(Listing(), std::set<std::string>{"state.db"});  // no -wal/-shm left behind

  // A writer opening afterwards still works and sees the same data.
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ((*store)->Load()->serial, 3);
}

// `otaroll plan` run by a user who may read the state file but not write to
// its directory (the daemon's account owns it): "" when LoadSnapshot read
// `serial`, else what went wrong.
std::string LoadAsReader(const std::string& path, int64_t serial) {
  auto load = [&]() -> std::string {
    auto snap = LoadSnapshot(path);
    if (!snap.ok()) return snap.status().message();
    return snap->serial == serial ? "" : "serial " + std::to_string(snap->serial);
  };
  // root ignores permissions: read as nobody in a child process.
  return test_util::AsUnprivileged(load);
}

TEST_F(LoadSnapshotTest, WorksWithoutWriteAccessToAClosedStateFile) {
  const std::string path = Path("state.db");
  Seed(path).reset();
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  EXPECT_EQ(LoadAsReader(path, 3), "");
  EXPECT_EQ(Listing(), std::set<std::string>{"state.db"});
}

TEST_F(LoadSnapshotTest, WorksWithoutWriteAccessWhileTheWriterIsOpen) {
  const std::string path = Path("state.db");
  auto store = Seed(path);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  EXPECT_EQ(LoadAsReader(path, 3), "");
}

TEST_F(LoadSnapshotTest, ReadsWhatACrashedWriterCommitted) {
  const std::string path = Path("state.db");
  auto store = Seed(path);
  ASSERT_NE(store, nullptr);
  // The image kill -9 leaves: committed data still in -wal, no -shm.
  const std::string crashed = Path("crashed.db");
  WriteBytes(crashed, ReadBytes(path));
  WriteBytes(crashed + "-wal", ReadBytes(path + "-wal"));
  ASSERT_GT(ReadBytes(crashed + "-wal").size(), 0u);
  store.reset();

  // Recovering the wal-index needs to create crashed.db-shm: without write
  // access that is impossible, and ignoring -wal would show stale state.
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  EXPECT_EQ(LoadAsReader(crashed, 3),
            "state file " + crashed + " holds changes in " + crashed +
                "-wal from a writer that stopped without closing it, and reading them needs write access to " +
                dir_.string() +
                "; run this as a user who may write there, or run otaroll apply "
                "once to recover the file");
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);

  const std::string hash = HashFile(crashed);
  auto snap = LoadSnapshot(crashed);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->serial, 3);
  EXPECT_EQ(HashFile(crashed), hash);
}

}  // namespace
}  // namespace otaroll::state
