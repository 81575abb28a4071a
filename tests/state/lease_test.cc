// The single-writer lease (SPEC §4): who may take it and when, what a
// refused process is told, heartbeats, force-unlock, and the LeaseKeeper.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "state/lease_keeper.h"
#include "state/sqlite_store.h"
#include "state_test_util.h"

namespace otaroll::state {
namespace {

using testing::RawDb;
using testing::T;

class LeaseTest : public testing::StateTest {
 protected:
  void SetUp() override {
    StateTest::SetUp();
    path_ = Path("state.db");
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    StateTest::TearDown();
  }

  std::unique_ptr<SqliteStore> Open() {
    auto store = SqliteStore::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static Lease Holder(const std::string& host, int64_t pid, const std::string& token, int64_t ttl = 30) {
    Lease l;
    l.host = host;
    l.pid = pid;
    l.token = token;
    l.ttl_seconds = ttl;
    return l;
  }

  int64_t Serial() {
    auto snap = store_->Load();
    EXPECT_TRUE(snap.ok()) << snap.status().message();
    return snap.ok() ? snap->serial : -1;
  }

  std::optional<Lease> Held() {
    auto held = store_->ReadLease();
    EXPECT_TRUE(held.ok()) << held.status().message();
    return held.ok() ? *held : std::nullopt;
  }

  // The pid of a child that has exited and been reaped: no process has it.
  static pid_t DeadPid() {
    pid_t child = fork();
    if (child == 0) _exit(0);
    int status = 0;
    waitpid(child, &status, 0);
    return child;
  }

  static core::Time Now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(LeaseTest, AFreeLeaseIsTakenAndRecorded) {
  EXPECT_FALSE(Held().has_value());
  auto got = store_->AcquireLease(Holder("host-a", 4242, "tok-a", 45), T("2026-11-25T10:00:00Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_FALSE(got->taken_over_from.has_value());
  EXPECT_EQ(got->lease.host, "host-a");
  EXPECT_EQ(got->lease.started_at, T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(got->lease.heartbeat_at, T("2026-11-25T10:00:00Z"));
  auto held = Held();
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->host, "host-a");
  EXPECT_EQ(held->pid, 4242);
  EXPECT_EQ(held->started_at, T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(held->heartbeat_at, T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(held->ttl_seconds, 45);
  EXPECT_EQ(held->token, "tok-a");
}

TEST_F(LeaseTest, OurOwnTokenIsOurs) {
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 4242, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  auto again = store_->AcquireLease(Holder("host-a", 4242, "tok-a"), T("2026-11-25T10:00:05Z"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->taken_over_from.has_value());
  EXPECT_EQ(again->lease.started_at, T("2026-11-25T10:00:00Z"));  // still the same holder since then
  EXPECT_EQ(Held()->heartbeat_at, T("2026-11-25T10:00:05Z"));
  EXPECT_EQ(Held()->started_at, T("2026-11-25T10:00:00Z"));
}

TEST_F(LeaseTest, ALiveLocalHolderIsRefusedWithWhoHoldsItAndWhatToDo) {
  const core::Time start = Now();
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-live"), start).ok());
  auto refused = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-other"), start + std::chrono::seconds(12));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(refused.status().message(),
            path_ + " is locked by another otaroll (pid " + std::to_string(getpid()) + " on host " + LocalHostName() +
                " since " + core::FormatRfc3339(start) +
                ", last heartbeat 12s ago); wait for it to finish, or run 'otaroll state force-unlock' if it is gone");
  EXPECT_EQ(Held()->token, "tok-live");
}

TEST_F(LeaseTest, ADeadLocalHolderIsTakenOverAtOnce) {
  const pid_t dead = DeadPid();
  const core::Time start = Now();
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), dead, "tok-dead"), start).ok());
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-new"), start + std::chrono::seconds(1));
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->taken_over_from.has_value());
  EXPECT_EQ(got->taken_over_from->pid, dead);
  EXPECT_EQ(got->taken_over_from->token, "tok-dead");
  EXPECT_EQ(Held()->token, "tok-new");
  EXPECT_EQ(Held()->pid, getpid());
}

TEST_F(LeaseTest, ALocalPidNowUsedByAProcessStartedAfterTheLastHeartbeatIsGone) {
  // This test process started long after 2001: its pid was "reused".
  ASSERT_TRUE(
      store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-old", 1000000000), T("2001-01-01T00:00:00Z")).ok());
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-new"), T("2001-01-01T00:00:01Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->taken_over_from->token, "tok-old");
}

TEST_F(LeaseTest, ARemoteHolderKeepsTheLeaseUntilItsTtlHasPassed) {
  const pid_t dead_here = DeadPid();  // means nothing on another host
  ASSERT_TRUE(
      store_->AcquireLease(Holder("elsewhere.example", dead_here, "tok-remote", 30), T("2026-11-25T10:00:00Z")).ok());
  auto early = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-me"), T("2026-11-25T10:00:20Z"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().message(),
            path_ + " is locked by another otaroll (pid " + std::to_string(dead_here) +
                " on host elsewhere.example since 2026-11-25T10:00:00Z, last heartbeat 20s ago); wait for it to "
                "finish, or run 'otaroll state force-unlock' if it is gone");
  // A heartbeat moves the deadline.
  ASSERT_TRUE(store_->Heartbeat("tok-remote", T("2026-11-25T10:00:25Z")).ok());
  EXPECT_FALSE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-me"), T("2026-11-25T10:00:50Z")).ok());
  // Exactly at heartbeat + TTL it is still held; a millisecond later it is not.
  EXPECT_FALSE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-me"), T("2026-11-25T10:00:55Z")).ok());
  auto late = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-me"), T("2026-11-25T10:00:55.001Z"));
  ASSERT_TRUE(late.ok()) << late.status().message();
  ASSERT_TRUE(late->taken_over_from.has_value());
  EXPECT_EQ(late->taken_over_from->host, "elsewhere.example");
  EXPECT_EQ(late->taken_over_from->heartbeat_at, T("2026-11-25T10:00:25Z"));
  EXPECT_EQ(Held()->token, "tok-me");

  // The old holder learns it at its next heartbeat.
  auto stale = store_->Heartbeat("tok-remote", T("2026-11-25T10:01:00Z"));
  EXPECT_EQ(stale.code(), core::Status::Code::kConflict);
  EXPECT_EQ(stale.message(), "the lease on " + path_ + " was taken by another process (pid " +
                                 std::to_string(getpid()) + " on host " + LocalHostName() + "); stop");
}

TEST_F(LeaseTest, HeartbeatAfterForceUnlockIsAConflict) {
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->Heartbeat("tok-a", T("2026-11-25T10:00:10Z")).ok());
  EXPECT_EQ(Held()->heartbeat_at, T("2026-11-25T10:00:10Z"));

  auto removed = store_->ForceUnlock();
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  ASSERT_TRUE(removed->has_value());
  EXPECT_EQ((*removed)->token, "tok-a");
  EXPECT_EQ((*removed)->heartbeat_at, T("2026-11-25T10:00:10Z"));
  EXPECT_FALSE(Held().has_value());

  auto beat = store_->Heartbeat("tok-a", T("2026-11-25T10:00:20Z"));
  EXPECT_EQ(beat.code(), core::Status::Code::kConflict);
  EXPECT_EQ(beat.message(), "the lease on " + path_ + " was removed (otaroll state force-unlock); stop");

  auto again = store_->ForceUnlock();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(LeaseTest, ReleaseGivesUpOnlyOurOwnLease) {
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->ReleaseLease("tok-other").ok());  // not ours: nothing happens, no error
  EXPECT_EQ(Held()->token, "tok-a");
  ASSERT_TRUE(store_->ReleaseLease("tok-a").ok());
  EXPECT_FALSE(Held().has_value());
  ASSERT_TRUE(store_->ReleaseLease("tok-a").ok());  // twice is fine
}

TEST_F(LeaseTest, LeaseWritesNeverChangeTheSerial) {
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
  const int64_t serial = Serial();
  ASSERT_EQ(serial, 1);
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'lease'"), 0);

  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->Heartbeat("tok-a", T("2026-11-25T10:00:10Z")).ok());
  ASSERT_TRUE(store_->ReleaseLease("tok-a").ok());
  ASSERT_TRUE(store_->AcquireLease(Holder("host-b", 8, "tok-b"), T("2026-11-25T10:01:00Z")).ok());
  ASSERT_TRUE(store_->AcquireLease(Holder("host-c", 9, "tok-c"), T("2026-11-25T10:05:00Z")).ok());  // takeover
  ASSERT_TRUE(store_->ForceUnlock().ok());
  EXPECT_EQ(Serial(), serial);
}

TEST_F(LeaseTest, ALeaseNeedsATokenAndAPositiveTtl) {
  auto no_token = store_->AcquireLease(Holder("host-a", 7, ""), T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(no_token.status().code(), core::Status::Code::kInvalid);
  auto no_ttl = store_->AcquireLease(Holder("host-a", 7, "tok", 0), T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(no_ttl.status().code(), core::Status::Code::kInvalid);
  EXPECT_FALSE(Held().has_value());
}

TEST_F(LeaseTest, ThisProcessLeaseNamesThisProcessWithAFreshToken) {
  Lease a = ThisProcessLease(20), b = ThisProcessLease();
  EXPECT_EQ(a.host, LocalHostName());
  EXPECT_FALSE(a.host.empty());
  EXPECT_EQ(a.pid, getpid());
  EXPECT_EQ(a.ttl_seconds, 20);
  EXPECT_EQ(b.ttl_seconds, 30);
  EXPECT_EQ(a.token.size(), 32u);
  EXPECT_NE(a.token, b.token);
}

TEST_F(LeaseTest, AcquireJoinsAnOpenTransaction) {
  auto tx = store_->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  { Transaction dropped = std::move(*tx); }  // rolled back
  EXPECT_FALSE(Held().has_value());
}

// Polls `done` until it holds or `bound` passes: waiting on an observable
// condition, never sleeping as synchronisation.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_F(LeaseTest, LeaseKeeperHeartbeatsUntilTheLeaseIsTakenAway) {
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-keep"), T("2026-11-25T10:00:00Z")).ok());
  LeaseKeeper keeper(path_, "tok-keep", std::chrono::milliseconds(10));
  // The keeper renews through its own connection: the heartbeat moves to now.
  ASSERT_TRUE(Eventually([&] { return Held() && Held()->heartbeat_at > T("2026-11-25T10:00:00Z"); }));
  ASSERT_TRUE(Eventually([&] { return keeper.heartbeats() >= 3; }));
  EXPECT_FALSE(keeper.lost());
  EXPECT_TRUE(keeper.status().ok()) << keeper.status().message();

  ASSERT_TRUE(store_->ForceUnlock(/*force=*/true).ok());  // the holder is this live process
  ASSERT_TRUE(Eventually([&] { return keeper.lost(); }));
  EXPECT_EQ(keeper.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(keeper.status().message(), "the lease on " + path_ + " was removed (otaroll state force-unlock); stop");
  // Once lost it stops: it never re-creates or touches a lease.
  const int64_t beats = keeper.heartbeats();
  ASSERT_TRUE(store_->AcquireLease(Holder("host-b", 8, "tok-b"), T("2026-11-25T10:00:00Z")).ok());
  EXPECT_EQ(keeper.heartbeats(), beats);
  EXPECT_EQ(Held()->heartbeat_at, T("2026-11-25T10:00:00Z"));
}

TEST_F(LeaseTest, LeaseKeeperStopsAtOnceWhenDestroyed) {
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-keep"), T("2026-11-25T10:00:00Z")).ok());
  const auto start = std::chrono::steady_clock::now();
  {
    LeaseKeeper keeper(path_, "tok-keep", std::chrono::hours(1));
    EXPECT_FALSE(keeper.lost());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Held()->heartbeat_at, T("2026-11-25T10:00:00Z"));  // no beat before the first interval
}

TEST_F(LeaseTest, LeaseKeeperIsNotLostWhileTheFileIsOnlyBusy) {
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-keep"), T("2026-11-25T10:00:00Z")).ok());
  LeaseKeeper keeper(path_, "tok-keep", std::chrono::milliseconds(10));
  ASSERT_TRUE(Eventually([&] { return keeper.heartbeats() >= 1; }));
  {
    // Another process holds the write lock: heartbeats wait (busy timeout),
    // then fail, but the lease is still ours.
    RawDb raw(path_);
    ASSERT_EQ(raw.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
    ASSERT_TRUE(Eventually([&] { return !keeper.status().ok(); }, std::chrono::seconds(30)));
    EXPECT_FALSE(keeper.lost());
    ASSERT_EQ(raw.Exec("ROLLBACK"), SQLITE_OK);
  }
  const int64_t beats = keeper.heartbeats();
  ASSERT_TRUE(Eventually([&] { return keeper.heartbeats() > beats; }));
  EXPECT_FALSE(keeper.lost());
}

}  // namespace
}  // namespace otaroll::state
