// The single-writer lease (SPEC §4), part of the store conformance suite:
// who may take it and when, what a refused process is told, heartbeats,
// force-unlock, and the LeaseKeeper, against every backend.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "state/lease_keeper.h"
#include "store_fixture.h"
#include "test_util/child.h"

namespace otaroll::state {
namespace {

using testing::Backend;
using testing::Eventually;
using testing::Holder;
using testing::RawDb;
using testing::T;

class LeaseConformance : public testing::StoreFixture {
 protected:
  // A handle of its own for a LeaseKeeper.
  std::unique_ptr<Store> Another() {
    auto other = store_->OpenAnother();
    EXPECT_TRUE(other.ok()) << other.status().message();
    return other.ok() ? std::move(*other) : nullptr;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, LeaseConformance, testing::kAllBackends, testing::BackendName);

TEST_P(LeaseConformance, AFreeLeaseIsTakenAndRecorded) {
  if (postgres()) GTEST_SKIP() << "a PostgreSQL lease keeps the database's time, not the one given (pg_store_test.cc)";
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

TEST_P(LeaseConformance, OurOwnTokenIsOurs) {
  if (postgres()) GTEST_SKIP() << "a PostgreSQL lease keeps the database's time, not the one given (pg_store_test.cc)";
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 4242, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  auto again = store_->AcquireLease(Holder("host-a", 4242, "tok-a"), T("2026-11-25T10:00:05Z"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->taken_over_from.has_value());
  EXPECT_EQ(again->lease.started_at, T("2026-11-25T10:00:00Z"));  // still the same holder since then
  EXPECT_EQ(Held()->heartbeat_at, T("2026-11-25T10:00:05Z"));
  EXPECT_EQ(Held()->started_at, T("2026-11-25T10:00:00Z"));
}

TEST_P(LeaseConformance, ALiveLocalHolderIsRefusedWithWhoHoldsItAndWhatToDo) {
  if (postgres()) GTEST_SKIP() << "a PostgreSQL lease keeps the database's time, not the one given (pg_store_test.cc)";
  const core::Time start = Now();
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-live"), start).ok());
  auto refused = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-other"), start + std::chrono::seconds(12));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(refused.status().message(),
            where_ + " is locked by another otaroll (pid " + std::to_string(getpid()) + " on host " + LocalHostName() +
                " since " + core::FormatRfc3339(start) +
                ", last heartbeat 12s ago); wait for it to finish, or run 'otaroll state force-unlock' if it is gone");
  EXPECT_EQ(Held()->token, "tok-live");
}

TEST_P(LeaseConformance, ADeadLocalHolderIsTakenOverAtOnce) {
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

// A killed holder whose parent has not reaped it yet is a zombie: gone, not
// a live holder to wait out for a whole TTL.
TEST_P(LeaseConformance, AZombieLocalHolderIsTakenOverAtOnce) {
  test_util::Child zombie({"/bin/true"}, {});
  ASSERT_TRUE(zombie.ok()) << zombie.spawn_error();
  const std::string stat = "/proc/" + std::to_string(zombie.pid()) + "/stat";
  auto state = [&] {
    std::ifstream in(stat);
    std::string line;
    std::getline(in, line);
    const size_t close = line.rfind(')');
    return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
  };
  ASSERT_TRUE(Eventually([&] { return state() == 'Z'; }));  // exited, not reaped: Child reaps only when asked
  const core::Time start = Now();
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), zombie.pid(), "tok-zombie"), start).ok());
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-new"), start + std::chrono::seconds(1));
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->taken_over_from.has_value());
  EXPECT_EQ(got->taken_over_from->token, "tok-zombie");
}

TEST_P(LeaseConformance, ALocalPidNowUsedByAProcessStartedAfterTheLastHeartbeatIsGone) {
  if (postgres()) GTEST_SKIP() << "a PostgreSQL lease keeps the database's time, not the one given (pg_store_test.cc)";
  // This test process started long after 2001: its pid was "reused".
  ASSERT_TRUE(
      store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-old", 1000000000), T("2001-01-01T00:00:00Z")).ok());
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-new"), T("2001-01-01T00:00:01Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->taken_over_from->token, "tok-old");
}

TEST_P(LeaseConformance, ARemoteHolderKeepsTheLeaseUntilItsTtlHasPassed) {
  if (postgres()) GTEST_SKIP() << "a PostgreSQL lease keeps the database's time, not the one given (pg_store_test.cc)";
  const pid_t dead_here = DeadPid();  // means nothing on another host
  ASSERT_TRUE(
      store_->AcquireLease(Holder("elsewhere.example", dead_here, "tok-remote", 30), T("2026-11-25T10:00:00Z")).ok());
  auto early = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-me"), T("2026-11-25T10:00:20Z"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().message(),
            where_ + " is locked by another otaroll (pid " + std::to_string(dead_here) +
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
  EXPECT_EQ(stale.message(), "the lease on " + where_ + " was taken by another process (pid " +
                                 std::to_string(getpid()) + " on host " + LocalHostName() + "); stop");
}

TEST_P(LeaseConformance, HeartbeatAfterForceUnlockIsAConflict) {
  if (postgres()) GTEST_SKIP() << "a PostgreSQL lease keeps the database's time, not the one given (pg_store_test.cc)";
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->Heartbeat("tok-a", T("2026-11-25T10:00:10Z")).ok());
  EXPECT_EQ(Held()->heartbeat_at, T("2026-11-25T10:00:10Z"));

  auto removed = store_->ForceUnlock(/*force=*/false);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  ASSERT_TRUE(removed->has_value());
  EXPECT_EQ((*removed)->token, "tok-a");
  EXPECT_EQ((*removed)->heartbeat_at, T("2026-11-25T10:00:10Z"));
  EXPECT_FALSE(Held().has_value());

  auto beat = store_->Heartbeat("tok-a", T("2026-11-25T10:00:20Z"));
  EXPECT_EQ(beat.code(), core::Status::Code::kConflict);
  EXPECT_EQ(beat.message(), "the lease on " + where_ + " was removed (otaroll state force-unlock); stop");

  auto again = store_->ForceUnlock(/*force=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_P(LeaseConformance, ReleaseGivesUpOnlyOurOwnLease) {
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->ReleaseLease("tok-other").ok());  // not ours: nothing happens, no error
  EXPECT_EQ(Held()->token, "tok-a");
  ASSERT_TRUE(store_->ReleaseLease("tok-a").ok());
  EXPECT_FALSE(Held().has_value());
  ASSERT_TRUE(store_->ReleaseLease("tok-a").ok());  // twice is fine
}

TEST_P(LeaseConformance, LeaseWritesNeverChangeTheSerial) {
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
  const int64_t serial = Serial();
  ASSERT_EQ(serial, 1);
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->Heartbeat("tok-a", T("2026-11-25T10:00:10Z")).ok());
  ASSERT_TRUE(store_->ReleaseLease("tok-a").ok());
  // A holder on this host whose process is gone: taken over at once.
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), DeadPid(), "tok-b"), T("2026-11-25T10:01:00Z")).ok());
  auto taken = store_->AcquireLease(Holder("host-c", 9, "tok-c"), T("2026-11-25T10:05:00Z"));
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  ASSERT_TRUE(taken->taken_over_from.has_value());
  ASSERT_TRUE(store_->ForceUnlock(/*force=*/false).ok());
  EXPECT_EQ(Serial(), serial);
}

TEST_P(LeaseConformance, ALeaseNeedsATokenAndAPositiveTtl) {
  auto no_token = store_->AcquireLease(Holder("host-a", 7, ""), T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(no_token.status().code(), core::Status::Code::kInvalid);
  auto no_ttl = store_->AcquireLease(Holder("host-a", 7, "tok", 0), T("2026-11-25T10:00:00Z"));
  EXPECT_EQ(no_ttl.status().code(), core::Status::Code::kInvalid);
  EXPECT_FALSE(Held().has_value());
}

TEST_P(LeaseConformance, ThisProcessLeaseNamesThisProcessWithAFreshToken) {
  Lease a = ThisProcessLease(20), b = ThisProcessLease();
  EXPECT_EQ(a.host, LocalHostName());
  EXPECT_FALSE(a.host.empty());
  EXPECT_EQ(a.pid, getpid());
  EXPECT_EQ(a.ttl_seconds, 20);
  EXPECT_EQ(b.ttl_seconds, 30);
  EXPECT_EQ(a.token.size(), 32u);
  EXPECT_NE(a.token, b.token);
}

TEST_P(LeaseConformance, AcquireJoinsAnOpenTransaction) {
  auto tx = store_->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 7, "tok-a"), T("2026-11-25T10:00:00Z")).ok());
  { Transaction dropped = std::move(*tx); }  // rolled back
  EXPECT_FALSE(Held().has_value());
}

TEST_P(LeaseConformance, LeaseKeeperHeartbeatsUntilTheLeaseIsTakenAway) {
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-keep"), T("2026-11-25T10:00:00Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  LeaseKeeper keeper(Another(), "tok-keep", std::chrono::milliseconds(10));
  // The keeper renews through its own connection: the heartbeat moves to now.
  ASSERT_TRUE(Eventually([&] { return Held() && Held()->heartbeat_at > got->lease.heartbeat_at; }));
  ASSERT_TRUE(Eventually([&] { return keeper.heartbeats() >= 3; }));
  EXPECT_FALSE(keeper.lost());
  EXPECT_TRUE(keeper.status().ok()) << keeper.status().message();

  ASSERT_TRUE(store_->ForceUnlock(/*force=*/true).ok());  // the holder is this live process
  ASSERT_TRUE(Eventually([&] { return keeper.lost(); }));
  EXPECT_EQ(keeper.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(keeper.status().message(), "the lease on " + where_ + " was removed (otaroll state force-unlock); stop");
  // Once lost it stops: it never re-creates or touches a lease.
  const int64_t beats = keeper.heartbeats();
  auto theirs = store_->AcquireLease(Holder("host-b", 8, "tok-b"), T("2026-11-25T10:00:00Z"));
  ASSERT_TRUE(theirs.ok()) << theirs.status().message();
  EXPECT_EQ(keeper.heartbeats(), beats);
  EXPECT_EQ(Held()->heartbeat_at, theirs->lease.heartbeat_at);
}

TEST_P(LeaseConformance, LeaseKeeperStopsAtOnceWhenDestroyed) {
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-keep"), T("2026-11-25T10:00:00Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  const auto start = std::chrono::steady_clock::now();
  {
    LeaseKeeper keeper(Another(), "tok-keep", std::chrono::hours(1));
    EXPECT_FALSE(keeper.lost());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Held()->heartbeat_at, got->lease.heartbeat_at);  // no beat before the first interval
}

// The safety margin (LeaseKeeper::SafeFor): measured on the monotonic clock
// from the take, then from the start of the last heartbeat that succeeded.
TEST_P(LeaseConformance, LeaseKeeperIsSafeOnlyWhileItsMarginIsLeftBeforeTheTtl) {
  auto got = store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-safe", /*ttl=*/1), Now());
  ASSERT_TRUE(got.ok()) << got.status().message();
  const auto now = std::chrono::steady_clock::now();
  {
    // Taken 900 ms ago with a 1 s TTL and no heartbeat since: 100 ms left.
    LeaseKeeper late(Another(), "tok-safe", std::chrono::hours(1), std::chrono::seconds(1),
                     now - std::chrono::milliseconds(900));
    EXPECT_FALSE(late.SafeFor(SafetyMargin(1)));
    EXPECT_TRUE(late.SafeFor(std::chrono::milliseconds(0)));
    EXPECT_FALSE(late.lost());
  }
  {
    // Heartbeats every 20 ms keep it safe although it was taken long ago.
    LeaseKeeper beating(Another(), "tok-safe", std::chrono::milliseconds(20), std::chrono::seconds(1),
                        now - std::chrono::seconds(5));
    EXPECT_FALSE(beating.SafeFor(SafetyMargin(1)));
    ASSERT_TRUE(Eventually([&] { return beating.heartbeats() >= 1; }));
    EXPECT_TRUE(beating.SafeFor(SafetyMargin(1)));
  }
  EXPECT_EQ(SafetyMargin(30), std::chrono::seconds(10));
}

// What only a SQLite state file has: no trigger on the lease (its writes are
// not history), and other processes' write locks.
using SqliteLeaseTest = testing::SqliteTest;

TEST_F(SqliteLeaseTest, TheLeaseTableHasNoSerialTrigger) {
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'lease'"), 0);
}

TEST_F(SqliteLeaseTest, LeaseKeeperIsNotLostWhileTheFileIsOnlyBusy) {
  ASSERT_TRUE(store_->AcquireLease(Holder(LocalHostName(), getpid(), "tok-keep"), T("2026-11-25T10:00:00Z")).ok());
  auto own = SqliteStore::Open(path_);
  ASSERT_TRUE(own.ok());
  LeaseKeeper keeper(std::move(*own), "tok-keep", std::chrono::milliseconds(10));
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
