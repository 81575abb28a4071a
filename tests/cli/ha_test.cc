// High availability (docs/high-availability.md): two `otaroll daemon`
// processes (the real binary) on one PostgreSQL state (a real server the
// test starts), the real sandbox with faults on as the platform.
// - kill -9 of the active daemon at random instants during creates: the
//   standby takes over each time, and the sandbox ends with exactly one job
//   per stage;
// - a holder paused (SIGSTOP) past its lease's TTL, then woken, creates
//   nothing more: the standby took over, and it stands by again.
// The kill instants and the sandbox's fault seed come from one seed printed
// by each test; OTAROLL_TEST_SEED=S repeats them.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "state/pg_db.h"
#include "state/pg_store.h"
#include "test_util/apply_rig.h"
#include "test_util/daemon_process.h"
#include "test_util/fleet_manifests.h"
#include "test_util/postgres.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): the harness (test_util/apply_rig.h)

constexpr const char* kTtl = "2s";

class HighAvailability : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PostgresServer::Start();
    ASSERT_NE(pg_, nullptr) << PostgresServer::last_error();
    auto admin = state::PgDb::Connect(pg_->Uri());
    ASSERT_TRUE(admin.ok()) << admin.status().message();
    ASSERT_TRUE((*admin)->Exec("CREATE DATABASE fleet", {}, "making the state's database").ok());
    uri_ = pg_->Uri("fleet");
  }

  // A daemon on the shared state: cycles every second, a 2 s lease (a
  // heartbeat every 333 ms), creates 2 at a time.
  // `key`: the sandbox access key it calls with (the sandbox logs it).
  std::unique_ptr<DaemonProcess> Daemon(const std::string& tree, const std::string& url,
                                        const std::string& key = kSandboxKeyId) const {
    return std::make_unique<DaemonProcess>(tree, uri_, url,
                                           std::vector<std::string>{"--interval", "1s", "--lease-ttl", kTtl,
                                                                    "--concurrency", "2", "--max-creates", "1000"},
                                           std::map<std::string, std::string>{{"OTAROLL_ACCESS_KEY_ID", key}});
  }
  // The lease as the database has it now.
  std::optional<state::Lease> Lease() const {
    auto store = state::PgStore::OpenWithoutCreating(uri_);
    if (!store.ok() || *store == nullptr) return std::nullopt;
    auto held = (*store)->ReadLease();
    return held.ok() ? *held : std::nullopt;
  }
  // The created attempts in state (0 before the schema exists).
  size_t Created() const { return CountAttempts(uri_, {state::AttemptStatus::kCreated}); }
  // Waits until `d` holds the lease at an epoch past `after`; the epoch.
  std::optional<int64_t> WaitForHolder(const DaemonProcess& d, int64_t after, std::chrono::milliseconds bound) {
    std::optional<int64_t> epoch;
    Eventually(
        [&] {
          auto l = Lease();
          if (l && l->pid == d.pid() && l->epoch > after) epoch = l->epoch;
          return epoch.has_value();
        },
        bound);
    return epoch;
  }

  std::unique_ptr<PostgresServer> pg_;
  std::string uri_;
  TempDir dir_;
};

TEST_F(HighAvailability, KillingTheActiveDaemonAtRandomInstantsNeitherDuplicatesNorLosesAJob) {
  const uint64_t seed = TestSeed();
  std::printf("failover test: seed %llu (repeat with OTAROLL_TEST_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  FleetOptions o;
  o.prefix = "ha";
  o.count = 80;
  Fleet fleet = WriteFleet(dir_, "tree", o);
  ASSERT_EQ(fleet.stages.size(), 240u);
  const std::string sandbox_seed = std::to_string(seed % 1000000 + 1);
  std::string sandbox_log;
  std::vector<long long> takeover_ms;
  int kills = 0;
  {
    // 150 ms a call, faults on: creates take long enough for every kill to
    // land among them, and some answers are lost (unknown outcomes).
    SandboxProcess faulty(SandboxArgs(dir_, {"--latency-ms", "150", "--drop-response-rate", "0.1", "--throttle-rate",
                                             "0.05", "--fail-rate", "0.05", "--seed", sandbox_seed}));
    ASSERT_TRUE(faulty.started()) << faulty.error();
    std::unique_ptr<DaemonProcess> a = Daemon(fleet.dir, faulty.url());
    ASSERT_TRUE(WaitForHolder(*a, 0, seconds(30)).has_value()) << a->Log();
    std::unique_ptr<DaemonProcess> b = Daemon(fleet.dir, faulty.url());
    // The standby says so: alive, not ready, and whose the lease is.
    ASSERT_TRUE(b->WaitFor("info standby: standby, held by")) << b->Log();
    int status = 0;
    EXPECT_EQ(b->Get("/healthz", &status), "ok\n");
    EXPECT_EQ(status, 200);
    const std::string ready = b->Get("/readyz", &status);
    EXPECT_EQ(status, 503);
    EXPECT_NE(ready.find(fmt::format("\"reason\":\"standby, held by {} pid {}\"", state::LocalHostName(), a->pid())),
              std::string::npos)
        << ready;
    EXPECT_NE(b->Get("/metrics", &status).find("otaroll_standby 1"), std::string::npos);
    // A 2 s platform timeout against a 2 s lease: said at start (docs/high-availability.md).
    EXPECT_NE(b->Log().find("warn lease: --timeout 2s is not below the lease's safety margin (666 ms, a third of "
                            "--lease-ttl)"),
              std::string::npos)
        << b->Log();

    std::string transcript;
    int64_t epoch = Lease()->epoch;
    const int kKills = 10;
    while (kills < kKills && Created() < fleet.stages.size()) {
      // A random instant while the active daemon creates.
      const int delay_ms = std::uniform_int_distribution<int>(100, 900)(rng);
      std::this_thread::sleep_for(milliseconds(delay_ms));  // the deliberate random kill instant
      const size_t before = Created();
      a->child().Signal(SIGKILL);
      const auto killed_at = Clock::now();
      a->child().Wait();
      ++kills;
      auto next = WaitForHolder(*b, epoch, seconds(10));
      ASSERT_TRUE(next.has_value()) << "kill " << kills << ": the standby did not take over\n" << b->Log();
      takeover_ms.push_back(std::chrono::duration_cast<milliseconds>(Clock::now() - killed_at).count());
      epoch = *next;
      transcript += fmt::format("kill {} after {} ms ({} created): taken over in {} ms at epoch {}\n", kills, delay_ms,
                                before, takeover_ms.back(), epoch);
      // The killed one comes back as the new standby.
      a = std::move(b);
      b = Daemon(fleet.dir, faulty.url());
    }
    EXPECT_EQ(kills, kKills) << "the work ran out before the kills did\n" << transcript;
    // The last holder carries the fleet to the end.
    const bool done = Eventually(
        [&] {
          auto snap = state::LoadSnapshotAt(uri_);
          if (!snap.ok()) return false;
          size_t created = 0, open = 0;
          for (const auto& at : snap->attempts) {
            created += at.status == state::AttemptStatus::kCreated;
            open += state::Unresolved(at);
          }
          return created == fleet.stages.size() && open == 0;
        },
        seconds(180));
    EXPECT_TRUE(done) << transcript << "active:\n" << Tail(a->Log(), 40);
    a->child().Signal(SIGTERM);
    b->child().Signal(SIGTERM);
    a->child().Wait();
    b->child().Wait();
    EXPECT_EQ(faulty.Stop(), 0);
    sandbox_log = faulty.Log();
    if (HasFailure()) ADD_FAILURE() << "seed " << seed << "\n" << transcript;
  }
  // The same data, served without faults, for the audit.
  SandboxProcess clean(SandboxArgs(dir_));
  ASSERT_TRUE(clean.started()) << clean.error();
  Audit audit = ExpectExactlyOnce(clean.url(), fleet, uri_);
  const size_t dropped = CountLines(sandbox_log, {"action=CreateOTAStaticUpgradeJob", " response=dropped"});
  long long longest = 0, total = 0;
  for (long long ms : takeover_ms) {
    longest = std::max(longest, ms);
    total += ms;
  }
  RecordProperty("kills", kills);
  RecordProperty("takeovers", static_cast<int>(takeover_ms.size()));
  RecordProperty("longest_takeover_ms", static_cast<int>(longest));
  RecordProperty("jobs", static_cast<int>(audit.jobs));
  RecordProperty("duplicates", static_cast<int>(audit.duplicates));
  RecordProperty("lost", static_cast<int>(audit.lost));
  std::printf(
      "failover test: seed %llu, %d kills, %zu takeovers (mean %lld ms, longest %lld ms), %zu create answers dropped, "
      "%zu jobs, %zu duplicates, %zu lost\n",
      static_cast<unsigned long long>(seed), kills, takeover_ms.size(),
      takeover_ms.empty() ? 0 : total / static_cast<long long>(takeover_ms.size()), longest, dropped, audit.jobs,
      audit.duplicates, audit.lost);
}

// `t` as the sandbox's log writes times: UTC, always with milliseconds
// ("2026-12-01T06:27:41.740Z"), so text order is time order.
std::string SandboxTime(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

// The creates the sandbox answered for access key `key` at or after `since`.
size_t CreatesBy(const std::string& log, const std::string& key, const std::string& since) {
  size_t n = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("action=CreateOTAStaticUpgradeJob") == std::string::npos) continue;
    if (line.find(" key=" + key + " ") == std::string::npos) continue;
    if (line.substr(0, line.find(' ')) >= since) ++n;
  }
  return n;
}

TEST_F(HighAvailability, APausedHolderThatWakesAfterLosingItsLeaseCreatesNothing) {
  FleetOptions o;
  o.prefix = "pause";
  o.count = 40;
  Fleet fleet = WriteFleet(dir_, "tree", o);
  // The paused daemon calls with an access key of its own: the sandbox's log
  // tells its creates from the other's.
  SandboxProcess sandbox(SandboxArgs(dir_, {"--latency-ms", "150", "--access-key", "paused:testsecret"}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  std::unique_ptr<DaemonProcess> a = Daemon(fleet.dir, sandbox.url(), "paused");
  auto first = WaitForHolder(*a, 0, seconds(30));
  ASSERT_TRUE(first.has_value()) << a->Log();
  std::unique_ptr<DaemonProcess> b = Daemon(fleet.dir, sandbox.url());
  ASSERT_TRUE(b->WaitFor("info standby: standby, held by")) << b->Log();
  ASSERT_TRUE(Eventually([&] { return Created() >= 5; })) << a->Log();

  // Paused mid-work: alive (its pid is there), silent. The standby waits out
  // the TTL on the database's clock, then takes over.
  a->child().Signal(SIGSTOP);
  const auto paused_at = Clock::now();
  auto taken = WaitForHolder(*b, *first, seconds(15));
  ASSERT_TRUE(taken.has_value()) << b->Log();
  const auto takeover = std::chrono::duration_cast<milliseconds>(Clock::now() - paused_at).count();
  EXPECT_GE(takeover, 1500) << "a live holder's lease was taken before its TTL";
  ASSERT_TRUE(Eventually([&] { return Created() >= 10; })) << b->Log();

  // Woken: its lease is gone and it knows before anything else (its lease
  // ran out on its own monotonic clock); it sends no create and stands by.
  const std::string woke_at = SandboxTime(std::chrono::system_clock::now());
  a->child().Signal(SIGCONT);
  ASSERT_TRUE(a->WaitFor("standing by again", seconds(15))) << a->Log();
  ASSERT_TRUE(Eventually([&] { return Created() == fleet.stages.size(); }, seconds(120))) << b->Log();
  a->child().Signal(SIGTERM);
  b->child().Signal(SIGTERM);
  a->child().Wait();
  b->child().Wait();
  const std::string log = sandbox.Log();
  EXPECT_GT(CreatesBy(log, "paused", ""), 0u) << "the paused daemon created nothing before its pause";
  EXPECT_EQ(CreatesBy(log, "paused", woke_at), 0u) << Tail(log, 30);
  Audit audit = ExpectExactlyOnce(sandbox.url(), fleet, uri_);
  std::printf(
      "pause test: taken over %lld ms after the pause (lease TTL %s); %zu creates by the paused daemon "
      "after it woke; %zu jobs, %zu duplicates, %zu lost\n",
      static_cast<long long>(takeover), kTtl, CreatesBy(log, "paused", woke_at), audit.jobs, audit.duplicates,
      audit.lost);
}

}  // namespace
}  // namespace otaroll
