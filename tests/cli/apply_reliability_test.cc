// The reliability bars of SPEC §8 for `otaroll apply`, as integration tests
// of the real binaries: the real `otaroll apply` against the real
// `otaroll sandbox`, checked against the sandbox's own job list.
//
// - killing apply at any instant and running it again never creates a
//   duplicate and never loses a job;
// - faults (errors, throttling, lost responses) never do either, also when
//   two unknown creates of one firmware could match the same job;
// - two applies at once: one proceeds, one fails fast naming the holder;
// - a killed holder's lease is taken over;
// - an invalid tree gets a clear error and leaves state untouched;
// - a changed stage gets a new job and supersedes the old one, once.
//
// The random choices (kill delays, the sandbox's fault seed) come from one
// seed printed by every test that uses it; OTAROLL_TEST_SEED=S repeats the
// kill instants and the fault seed (the request timing still varies).
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "notify/payload.h"
#include "platform/client.h"
#include "platform/curl_transport.h"
#include "state/db.h"
#include "state/sqlite_store.h"
#include "test_util/apply_rig.h"
#include "test_util/child.h"
#include "test_util/fleet_manifests.h"
#include "test_util/manifests.h"
#include "test_util/receiver.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): the harness (test_util/apply_rig.h)

// ---------------------------------------------------------------------------
// 1. kill -9 at random instants

TEST(ApplyReliability, KillingApplyAtRandomInstantsNeitherDuplicatesNorLosesAJob) {
  const uint64_t seed = TestSeed();
  std::printf("crash test: seed %llu (repeat with OTAROLL_TEST_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  FleetOptions o;
  o.prefix = "crash";
  o.count = 30;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  ASSERT_EQ(fleet.stages.size(), 90u);
  // 100 ms per call, 4 creates in flight: the 90 creates and the lookups
  // after each kill take longer than the kills' delays add up to, so the
  // kills land in the work, each among up to 4 calls in flight.
  SandboxProcess sandbox(SandboxArgs(dir, {"--latency-ms", "100", "--seed", std::to_string(seed % 1000000)}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  Rig s{fleet.dir, dir.Join("state/state.db"), sandbox.url()};
  s.concurrency = "4";

  // Kill until 20 runs died of SIGKILL (a run may also finish first, e.g.
  // when everything left waits for an unknown attempt to settle).
  const int kKills = 20, kMaxRuns = 45;
  int runs = 0, kills = 0, finished_first = 0, lease_conflicts = 0;
  size_t most_left = 0;                // the most intents one kill left open (creates in flight together)
  std::set<std::string> open_intents;  // pending/unknown intent ids left by a kill
  auto OpenIntents = [&] {
    std::set<std::string> ids;
    if (!fs::exists(s.state)) return ids;
    auto snapshot = state::LoadSnapshot(s.state);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().message();
    if (!snapshot.ok()) return ids;
    for (const auto& a : snapshot->attempts) {
      if (a.status == state::AttemptStatus::kPending || a.status == state::AttemptStatus::kUnknown) {
        ids.insert(a.intent_id);
      }
    }
    return ids;
  };
  std::string transcript;
  while (kills < kKills && runs < kMaxRuns) {
    int delay_ms = std::uniform_int_distribution<int>(10, 400)(rng);
    std::set<std::string> before = OpenIntents();
    Child apply(s.ApplyArgs(), ChildOptions(60));
    ASSERT_TRUE(apply.ok());
    ++runs;
    std::this_thread::sleep_for(milliseconds(delay_ms));  // the deliberate random kill instant
    bool exited = apply.Exited();
    apply.Signal(SIGKILL);
    const RunResult& r = apply.Wait();
    bool killed = !exited && apply.signal() == SIGKILL;
    kills += killed;
    finished_first += !killed;
    if (r.err.find(kLeaseMessage) != std::string::npos) ++lease_conflicts;
    size_t left = 0;
    for (const auto& id : OpenIntents()) {
      if (!before.count(id)) {
        ++left;
        if (killed) open_intents.insert(id);
      }
    }
    if (killed) most_left = std::max(most_left, left);
    transcript +=
        fmt::format("--- run {}: {} after {} ms; {} new pending/unknown attempts\n{}", runs,
                    killed ? "SIGKILL" : "had exited " + std::to_string(r.exit_code), delay_ms, left, Tail(r.err, 4));
  }
  EXPECT_EQ(kills, kKills) << "seed " << seed << "\n" << transcript;
  Convergence c = ApplyUntilConverged(s);
  ASSERT_TRUE(c.converged) << "seed " << seed << ": not in sync after " << c.applies << " applies\n"
                           << transcript << c.transcript << "sandbox log:\n"
                           << Tail(sandbox.Log(), 60);
  EXPECT_EQ(lease_conflicts + c.lease_conflicts, 0)
      << "a killed apply's lease was not taken over (seed " << seed << ")\n"
      << transcript << c.transcript;

  Audit audit = ExpectExactlyOnce(s.url, fleet, s.state);
  std::string log = sandbox.Log();
  size_t creates = CountLines(log, {"action=CreateOTAStaticUpgradeJob", "status=200"});
  EXPECT_EQ(creates, fleet.stages.size()) << "create calls the sandbox performed (seed " << seed << ")";
  if (HasFailure()) {
    ADD_FAILURE() << "seed " << seed << "\n" << transcript << c.transcript << "sandbox log:\n" << log;
  }
  // What became of the intents the kills left open: adopted (the job had
  // been created) or closed as not created (and created again).
  size_t adopted = 0, not_created = 0;
  if (auto snapshot = state::LoadSnapshot(s.state); snapshot.ok()) {
    for (const auto& a : snapshot->attempts) {
      if (!open_intents.count(a.intent_id)) continue;
      adopted += a.status == state::AttemptStatus::kCreated;
      not_created += a.status == state::AttemptStatus::kFailed;
    }
  }
  int applies = runs + c.applies;
  RecordProperty("kills", kills);
  RecordProperty("finished_before_kill", finished_first);
  RecordProperty("intents_left_by_kills", static_cast<int>(open_intents.size()));
  RecordProperty("intents_adopted", static_cast<int>(adopted));
  RecordProperty("intents_not_created", static_cast<int>(not_created));
  RecordProperty("applies", applies);
  RecordProperty("jobs", static_cast<int>(audit.jobs));
  RecordProperty("duplicates", static_cast<int>(audit.duplicates));
  RecordProperty("lost", static_cast<int>(audit.lost));
  std::printf(
      "crash test: seed %llu, %d kills (+%d runs that finished first), %d applies (%d to converge), %zu intents left "
      "open by kills (at most %zu by one kill; %zu adopted, %zu proved not created), %zu jobs, %zu duplicates, %zu "
      "lost\n",
      static_cast<unsigned long long>(seed), kills, finished_first, applies, c.applies, open_intents.size(), most_left,
      adopted, not_created, audit.jobs, audit.duplicates, audit.lost);
}

// ---------------------------------------------------------------------------
// 2. sandbox faults

// Every event of the history that notifies reached the receiver (by its
// idempotency key), and nothing else did; one of each kind is saved under
// the build folder (build/notifications/).
void ExpectEveryNotificationDelivered(const std::string& state_path, const test_util::Receiver& receiver) {
  auto store = state::SqliteStore::Open(state_path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto events = (*store)->Events("");
  ASSERT_TRUE(events.ok());
  std::set<std::string> expected, got;
  std::map<std::string, size_t> kinds;
  for (const auto& e : *events) {
    if (!notify::Notifies(e)) continue;
    expected.insert(notify::IdempotencyKey(e));
    ++kinds[e.kind];
  }
  const std::string saved = std::string(OTAROLL_BUILD_DIR) + "/notifications";
  std::filesystem::create_directories(saved);
  for (const auto& r : receiver.delivered()) {
    got.insert(r.idempotency_key);
    const auto body = nlohmann::json::parse(r.body);
    const bool resolved = r.event == "not-created";
    std::ofstream(saved + "/" + (resolved ? std::string("not-created-resolved") : r.event) + ".json")
        << body.dump(2) << "\n";
  }
  EXPECT_EQ(got, expected);
  std::string counts;
  for (const auto& [kind, n] : kinds) counts += fmt::format(" {}={}", kind, n);
  std::printf("notifications: %zu in the history, %zu distinct delivered (%zu POSTs):%s\n", expected.size(), got.size(),
              receiver.requests().size(), counts.c_str());
}

TEST(ApplyReliability, FaultsNeitherDuplicateNorLoseAJob) {
  const uint64_t seed = TestSeed();
  const std::string sandbox_seed = std::to_string(seed % 1000000 + 1);
  std::printf("fault test: seed %llu (sandbox --seed %s)\n", static_cast<unsigned long long>(seed),
              sandbox_seed.c_str());
  RecordProperty("seed", std::to_string(seed));
  TempDir dir;
  FleetOptions o;
  o.prefix = "fault";
  o.count = 30;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  std::string log;
  Convergence c;
  // Every run notifies a receiver: through faults, crashes of the platform's
  // answers and many runs, it must get every notification the history holds.
  test_util::Receiver receiver;
  {
    SandboxProcess faulty(SandboxArgs(
        dir, {"--drop-response-rate", "0.2", "--throttle-rate", "0.1", "--fail-rate", "0.1", "--seed", sandbox_seed}));
    ASSERT_TRUE(faulty.started()) << faulty.error();
    Rig s{fleet.dir, dir.Join("state.db"), faulty.url(), {"--notify-webhook", receiver.Url()}};
    // More runs than elsewhere: every fault-hit create waits out the settle
    // time, and a replayed read stops a run (see nonce_refusals below).
    c = ApplyUntilConverged(s, 60, seconds(120));
    EXPECT_EQ(faulty.Stop(), 0);
    log = faulty.Log();
    ASSERT_TRUE(c.converged) << "seed " << seed << ": not in sync after " << c.applies << " applies\n"
                             << c.transcript << "sandbox log:\n"
                             << Tail(log, 80);
  }
  EXPECT_EQ(c.lease_conflicts, 0) << c.transcript;
  // The same data file, served without faults, for the audit.
  SandboxProcess clean(SandboxArgs(dir));
  ASSERT_TRUE(clean.started()) << clean.error();
  Audit audit = ExpectExactlyOnce(clean.url(), fleet, dir.Join("state.db"));
  if (HasFailure()) ADD_FAILURE() << "seed " << seed << "\n" << c.transcript << "sandbox log:\n" << log;

  size_t unavailable = CountLines(log, {"outcome=ServiceUnavailable"});
  size_t throttled = CountLines(log, {"outcome=Throttling.User"});
  size_t dropped = CountLines(log, {" response=dropped"});
  size_t dropped_creates = CountLines(log, {"action=CreateOTAStaticUpgradeJob", " response=dropped"});
  size_t failed_creates = CountLines(log, {"action=CreateOTAStaticUpgradeJob", "outcome=ServiceUnavailable"});
  size_t requests = CountLines(log, {" action="});
  // A read whose answer is lost on a reused keep-alive connection is resent
  // by libcurl with the same nonce; the platform refuses the copy. Counted,
  // not asserted: it stops a run but cannot duplicate or lose a job.
  size_t nonce_refusals = CountLines(log, {"outcome=SignatureNonceUsed"});
  size_t runs_stopped_on_credentials =
      static_cast<size_t>(std::count_if(c.stderrs.begin(), c.stderrs.end(), [](const std::string& err) {
        return err.find("the platform refused the credentials") != std::string::npos;
      }));
  size_t not_created = 0;
  if (auto snapshot = state::LoadSnapshot(dir.Join("state.db")); snapshot.ok()) {
    for (const auto& a : snapshot->attempts) {
      not_created += a.status == state::AttemptStatus::kFailed && a.error_code == "otaroll.NotCreated";
    }
  }
  ExpectEveryNotificationDelivered(dir.Join("state.db"), receiver);
  // The faults must have hit creates, or the test proves nothing.
  EXPECT_GT(dropped_creates, 0u) << "seed " << seed;
  EXPECT_GT(failed_creates, 0u) << "seed " << seed;
  RecordProperty("applies", c.applies);
  RecordProperty("requests", static_cast<int>(requests));
  RecordProperty("service_unavailable", static_cast<int>(unavailable));
  RecordProperty("throttled", static_cast<int>(throttled));
  RecordProperty("dropped", static_cast<int>(dropped));
  RecordProperty("dropped_creates", static_cast<int>(dropped_creates));
  RecordProperty("nonce_refusals", static_cast<int>(nonce_refusals));
  RecordProperty("runs_stopped_on_credentials", static_cast<int>(runs_stopped_on_credentials));
  RecordProperty("intents_proved_not_created", static_cast<int>(not_created));
  RecordProperty("jobs", static_cast<int>(audit.jobs));
  RecordProperty("duplicates", static_cast<int>(audit.duplicates));
  RecordProperty("lost", static_cast<int>(audit.lost));
  std::printf(
      "fault test: seed %llu, %d applies (exit codes %s), %zu requests, faults: %zu ServiceUnavailable (%zu on "
      "create), %zu Throttling.User, %zu dropped responses (%zu of creates); %zu intents proved not created; %zu "
      "replayed reads refused as SignatureNonceUsed (%zu runs stopped on 'refused the credentials'); %zu jobs, %zu "
      "duplicates, %zu lost\n",
      static_cast<unsigned long long>(seed), c.applies, fmt::format("{}", fmt::join(c.exit_codes, " ")).c_str(),
      requests, unavailable, failed_creates, throttled, dropped, dropped_creates, not_created, nonce_refusals,
      runs_stopped_on_credentials, audit.jobs, audit.duplicates, audit.lost);
  if (!c.exit_codes.empty() && c.exit_codes.back() != 0) {
    std::printf("fault test: the apply that converged exited %d; stderr:\n%s\nstdout:\n%s\n", c.exit_codes.back(),
                Tail(c.stderrs.back(), 10).c_str(), Tail(c.last_out, 10).c_str());
  }
}

// ---------------------------------------------------------------------------
// 2b. two unknown creates of one firmware

// The device names of a job, from its tasks (the job itself does not list them).
std::set<std::string> JobDevices(platform::Client& client, const std::string& job_id) {
  std::set<std::string> devices;
  auto tasks = client.ListTasks(job_id, "");
  EXPECT_TRUE(tasks.ok()) << (tasks.ok() ? "" : tasks.error().Describe());
  if (tasks.ok()) {
    for (const auto& t : *tasks) devices.insert(t.device_name);
  }
  return devices;
}

// Two rollouts of one product and firmware, each with a SPECIFIC stage (say
// a pilot and a VIP rollout of the same build). In one run the first create
// fails with 503 (nothing created, outcome unknown) and the second is created
// but its answer is lost (outcome unknown). The platform's job list does not
// name a SPECIFIC job's devices, so the lookup must not take the second
// rollout's job for the first's: that would leave the first rollout's devices
// without a job and give the second's two.
void TwoUnknownCreatesOfOneFirmware(platform::Style style) {
  const bool alibaba = style == platform::Style::kAlibaba;
  const std::vector<std::string> style_args =
      alibaba ? std::vector<std::string>{"--style", "alibaba"} : std::vector<std::string>{};
  const std::vector<std::string> platform_args =
      alibaba ? std::vector<std::string>{"--platform", "alibaba", "--region", "cn-shanghai"}
              : std::vector<std::string>{};
  TempDir dir;
  auto rollout = [](const std::string& name, const std::string& devices) {
    return "apiVersion: otaroll/v1\nkind: Rollout\nmetadata:\n  name: " + name +
           "\nspec:\n  productKey: pk-shared\n  firmwareId: fw-shared\n  srcVersions: [\"1.0.0\"]\n  stages:\n"
           "    - name: devices\n      devices: " +
           devices + "\n";
  };
  std::string tree = dir.Join("tree");
  dir.Write("tree/rollouts.yaml",
            rollout("pilot", "[dev-a-1, dev-a-2]") + "---\n" + rollout("vip", "[dev-b-1, dev-b-2]"));
  const std::set<std::string> pilot_devices = {"dev-a-1", "dev-a-2"}, vip_devices = {"dev-b-1", "dev-b-2"};

  // Find a fault seed that fails the first create and drops the second's answer.
  std::string data, state_path, first_log, first_err;
  int seed = 0;
  for (int candidate = 1; candidate <= 60 && seed == 0; ++candidate) {
    std::string sub = fmt::format("try-{}", candidate);
    std::vector<std::string> faults = {"--fail-rate", "0.5",    "--drop-response-rate",
                                       "0.5",         "--seed", std::to_string(candidate)};
    faults.insert(faults.end(), style_args.begin(), style_args.end());
    SandboxProcess faulty(SandboxArgs(dir, faults, sub + ".db"));
    ASSERT_TRUE(faulty.started()) << faulty.error();
    Rig s{tree, dir.Join(sub + "-state.db"), faulty.url(), platform_args};
    RunResult r = s.Apply();
    EXPECT_EQ(faulty.Stop(), 0);
    std::string log = faulty.Log();
    std::vector<std::string> creates;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("action=CreateOTAStaticUpgradeJob") != std::string::npos) creates.push_back(line);
    }
    if (creates.size() == 2 && creates[0].find("outcome=ServiceUnavailable") != std::string::npos &&
        creates[1].find(" response=dropped") != std::string::npos) {
      seed = candidate;
      data = sub + ".db";
      state_path = s.state;
      first_log = log;
      first_err = r.err;
    }
  }
  ASSERT_NE(seed, 0) << "no sandbox seed in 1..60 gave 503 then a lost answer";

  // The same platform without faults: resolve and converge.
  SandboxProcess sandbox(SandboxArgs(dir, style_args, data));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  Rig s{tree, state_path, sandbox.url(), platform_args};
  Convergence c = ApplyUntilConverged(s, 20, seconds(30));
  ASSERT_TRUE(c.converged) << c.transcript;

  platform::CurlTransport transport;
  core::SystemClock clock;
  auto client = MakeClient(sandbox.url(), transport, clock, style);
  auto jobs = client->ListJobsByFirmware("fw-shared");
  ASSERT_TRUE(jobs.ok()) << jobs.error().Describe();
  std::map<std::string, std::set<std::string>> devices_of;  // job id -> devices
  std::map<std::set<std::string>, int> jobs_for;            // devices -> number of jobs
  for (const auto& j : *jobs) {
    devices_of[j.job_id] = JobDevices(*client, j.job_id);
    ++jobs_for[devices_of[j.job_id]];
  }
  auto snapshot = state::LoadSnapshot(s.state);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().message();
  std::map<std::string, std::string> recorded;  // rollout -> job id of its created attempt
  std::string attempts;
  for (const auto& a : snapshot->attempts) {
    attempts += fmt::format("  {} {} {} job {} ({})\n", a.rollout, a.intent_id, state::StatusName(a.status), a.job_id,
                            a.error_code);
    if (a.status == state::AttemptStatus::kCreated) recorded[a.rollout] = a.job_id;
  }
  std::string detail = fmt::format("sandbox seed {}\nstate:\n{}first apply:\n{}{}sandbox log of the first apply:\n{}",
                                   seed, attempts, first_err, c.transcript, first_log);
  EXPECT_EQ(jobs_for[pilot_devices], 1) << "jobs for the pilot's devices (LOST when 0)\n" << detail;
  EXPECT_EQ(jobs_for[vip_devices], 1) << "jobs for the vip's devices (DUPLICATE when 2)\n" << detail;
  EXPECT_EQ(devices_of[recorded["pilot"]], pilot_devices) << "state records another rollout's job for pilot\n"
                                                          << detail;
  EXPECT_EQ(devices_of[recorded["vip"]], vip_devices) << "state records another rollout's job for vip\n" << detail;
  std::printf("two unknown creates (%s, sandbox seed %d): %d job(s) for the pilot's devices, %d for the vip's\n",
              platform::StyleName(style), seed, jobs_for[pilot_devices], jobs_for[vip_devices]);
}

// Tuya keeps no tags: the lookup has only what the job list and QueryOTAJob report.
// Against the platform's documented rate limits (the sandbox's, on), a
// client that ignores its own budget (--qps 500) is throttled many times:
// it backs off and retries, and nothing is duplicated or lost; with its
// default budget it is not throttled at all.
TEST(ApplyReliability, ThePlatformsRateLimitsThrottleButNeitherDuplicateNorLose) {
  TempDir dir;
  FleetOptions o;
  o.prefix = "budget";
  o.count = 30;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  const std::string state = dir.Join("state.db");
  {
    SandboxProcess limited(SandboxArgs(dir, {"--rate-limits", "on"}));
    ASSERT_TRUE(limited.started()) << limited.error();
    Rig s{fleet.dir, state, limited.url()};
    Convergence c = ApplyUntilConverged(s, 20, seconds(120));
    ASSERT_TRUE(c.converged) << c.transcript << Tail(limited.Log(), 40);
    const size_t throttled = CountLines(limited.Log(), {"outcome=Throttling.User"});
    EXPECT_GT(throttled, 0u) << "--qps 500 must run into the platform's limits";

    // The default client budget (create 10/s, read 5/s) stays under them.
    FleetOptions more = o;
    more.first = 30;
    more.count = 10;
    Fleet added = test_util::WriteFleet(dir, "tree", more);
    fleet.stages.insert(fleet.stages.end(), added.stages.begin(), added.stages.end());
    fleet.firmware_ids.insert(fleet.firmware_ids.end(), added.firmware_ids.begin(), added.firmware_ids.end());
    Child polite({kBin, "apply", fleet.dir, "--state", state, "--yes", "--endpoint", limited.url(), "--timeout", "1",
                  "--max-creates", "1000"},
                 ChildOptions(120));
    RunResult r = polite.Wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CountLines(limited.Log(), {"outcome=Throttling.User"}), throttled) << Tail(limited.Log(), 40);
    std::printf("rate limits: %zu calls throttled at --qps 500, none at the default budget\n", throttled);
  }
  // The audit reads the same data file without limits (it lists every firmware at once).
  SandboxProcess clean(SandboxArgs(dir));
  ASSERT_TRUE(clean.started()) << clean.error();
  ExpectExactlyOnce(clean.url(), fleet, state);
}

TEST(ApplyReliability, UnknownCreatesOfTwoRolloutsOfOneFirmwareAreNotMixedUpTuya) {
  TwoUnknownCreatesOfOneFirmware(platform::Style::kTuya);
}

// Alibaba keeps the otaroll.intent tag on every job.
TEST(ApplyReliability, UnknownCreatesOfTwoRolloutsOfOneFirmwareAreNotMixedUpAlibaba) {
  TwoUnknownCreatesOfOneFirmware(platform::Style::kAlibaba);
}

// ---------------------------------------------------------------------------
// 3. two applies at once

TEST(ApplyReliability, TwoAppliesAtOnceOneProceedsOneFailsFastNamingTheHolder) {
  TempDir dir;
  // 50 ms per call: 30 creates hold the lease for well over a second.
  SandboxProcess sandbox(SandboxArgs(dir, {"--latency-ms", "50"}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  FleetOptions o;
  o.prefix = "pair";
  o.count = 10;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  Rig s{fleet.dir, dir.Join("state/state.db"), sandbox.url()};

  // Round 1: a state file that does not exist yet (both create it);
  // round 2: an existing one, with ten more rollouts to create.
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round == 2) {
      FleetOptions more = o;
      more.first = 10;
      Fleet added = test_util::WriteFleet(dir, "tree", more);
      fleet.stages.insert(fleet.stages.end(), added.stages.begin(), added.stages.end());
      fleet.firmware_ids.insert(fleet.firmware_ids.end(), added.firmware_ids.begin(), added.firmware_ids.end());
    }
    Child a(s.ApplyArgs(), ChildOptions(60));
    Child b(s.ApplyArgs(), ChildOptions(60));
    ASSERT_TRUE(a.ok() && b.ok());
    RunResult ra = a.Wait(), rb = b.Wait();
    std::string both =
        fmt::format("apply A (pid {}) exited {} after {} ms:\n{}\napply B (pid {}) exited {} after {} ms:\n{}", a.pid(),
                    ra.exit_code, std::chrono::duration_cast<milliseconds>(a.elapsed()).count(), ra.err, b.pid(),
                    rb.exit_code, std::chrono::duration_cast<milliseconds>(b.elapsed()).count(), rb.err);
    bool a_lost = ra.err.find(kLeaseMessage) != std::string::npos;
    bool b_lost = rb.err.find(kLeaseMessage) != std::string::npos;
    ASSERT_NE(a_lost, b_lost) << "exactly one apply must fail on the lease\n" << both;
    const RunResult& loser = a_lost ? ra : rb;
    const RunResult& winner = a_lost ? rb : ra;
    pid_t winner_pid = a_lost ? b.pid() : a.pid();
    const Child& loser_child = a_lost ? a : b;
    EXPECT_EQ(loser.exit_code, 1) << both;
    EXPECT_NE(loser.err.find(fmt::format("{}{} on host ", kLeaseMessage, winner_pid)), std::string::npos)
        << "the lease message must name the holder's pid " << winner_pid << "\n"
        << both;
    EXPECT_EQ(loser.err.rfind("otaroll: error: ", 0), 0u) << both;
    EXPECT_LT(loser_child.elapsed(), seconds(5)) << "the second apply must fail fast\n" << both;
    EXPECT_EQ(winner.exit_code, 0) << both;
    PlanView plan = Plan(s);
    EXPECT_TRUE(plan.Converged()) << (plan.ok ? plan.counts : plan.error) << "\n" << both;
    RecordProperty("round" + std::to_string(round) + "_loser_ms",
                   static_cast<int>(std::chrono::duration_cast<milliseconds>(loser_child.elapsed()).count()));
  }
  Audit audit = ExpectExactlyOnce(s.url, fleet, s.state);
  if (HasFailure()) ADD_FAILURE() << "sandbox log:\n" << sandbox.Log();
  std::printf("two applies: 2 rounds, %zu jobs, %zu duplicates, %zu lost\n", audit.jobs, audit.duplicates, audit.lost);
}

// A holder that is force-unlocked while it lives can never write an intent
// again (the fence): a second apply then proceeds, and nothing is duplicated.
TEST(ApplyReliability, ForceUnlockingALiveHolderThenApplyingAgainDuplicatesNothing) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir, {"--latency-ms", "100"}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  FleetOptions o;
  o.prefix = "fence";
  o.count = 20;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  Rig s{fleet.dir, dir.Join("state.db"), sandbox.url()};

  Child a(s.ApplyArgs(), ChildOptions(90));
  ASSERT_TRUE(a.ok());
  // Wait until A holds the lease and has created a few jobs: it is mid-run.
  auto deadline = Clock::now() + seconds(30);
  bool mid_run = false;
  while (Clock::now() < deadline && !a.Exited()) {
    auto pid = LeaseHolderPid(s.state);
    if (pid && *pid == a.pid() && CountAttempts(s.state, {state::AttemptStatus::kCreated}) >= 3) {
      mid_run = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(5));  // bounded polling of the state file
  }
  ASSERT_TRUE(mid_run) << "apply A never got going:\n" << a.Wait().err;

  RunResult refused = Otaroll({"state", "force-unlock", "--state", s.state});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find(fmt::format("is locked by a live otaroll (pid {} on this host", a.pid())),
            std::string::npos)
      << refused.err;
  RunResult forced = Otaroll({"state", "force-unlock", "--force", "--state", s.state});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  Child b(s.ApplyArgs(), ChildOptions(90));
  ASSERT_TRUE(b.ok());
  const RunResult& ra = a.Wait();
  const RunResult& rb = b.Wait();
  // A stops at its next intent (the fence) or at its next heartbeat, whichever comes first.
  const bool fenced = ra.err.find(fmt::format("otaroll: error: the lease on {} is no longer held by this process",
                                              s.state)) != std::string::npos;
  const bool keeper = ra.err.find("the lease on the state file was lost") != std::string::npos;
  EXPECT_TRUE(fenced || keeper) << "apply A went on after losing the lease:\n" << ra.err;
  EXPECT_EQ(ra.exit_code, 1) << ra.err;
  Convergence c = ApplyUntilConverged(s);
  ASSERT_TRUE(c.converged) << "A:\n" << ra.err << "B:\n" << rb.err << c.transcript;
  Audit audit = ExpectExactlyOnce(s.url, fleet, s.state);
  if (HasFailure())
    ADD_FAILURE() << "A:\n" << ra.err << "B:\n" << rb.err << "sandbox log:\n" << Tail(sandbox.Log(), 80);
  std::printf("force-unlock of a live holder: stopped by %s; %zu jobs, %zu duplicates, %zu lost\n",
              fenced ? "the intent fence" : "its heartbeat", audit.jobs, audit.duplicates, audit.lost);
}

// ---------------------------------------------------------------------------
// 4. a killed holder's lease

TEST(ApplyReliability, AKilledHoldersLeaseIsTakenOver) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir, {"--latency-ms", "300"}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  FleetOptions o;
  o.prefix = "lease";
  o.count = 3;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  Rig s{fleet.dir, dir.Join("state.db"), sandbox.url()};

  pid_t holder = 0;
  {
    Child apply(s.ApplyArgs(), ChildOptions(60));
    ASSERT_TRUE(apply.ok());
    holder = apply.pid();
    // Poll the state file until it shows the lease held by the child and a
    // pending intent (the create call is then in flight, 300 ms long).
    auto deadline = Clock::now() + seconds(20);
    bool seen = false;
    while (Clock::now() < deadline && !apply.Exited()) {
      auto pid = LeaseHolderPid(s.state);
      if (pid && *pid == holder && CountAttempts(s.state, {state::AttemptStatus::kPending}) > 0) {
        seen = true;
        break;
      }
      std::this_thread::sleep_for(milliseconds(5));  // bounded polling of the state file
    }
    apply.Signal(SIGKILL);
    const RunResult& r = apply.Wait();
    ASSERT_TRUE(seen) << "the state file never showed apply's lease and a pending attempt; apply exited " << r.exit_code
                      << ":\n"
                      << r.err;
    EXPECT_EQ(apply.signal(), SIGKILL);
  }
  // The dead holder's row is still there: the next apply must take it over.
  EXPECT_EQ(LeaseHolderPid(s.state), std::optional<int64_t>(holder));
  EXPECT_GE(CountAttempts(s.state, {state::AttemptStatus::kPending}), 1u);

  RunResult next = s.Apply();
  EXPECT_EQ(next.err.find(kLeaseMessage), std::string::npos) << "the dead holder's lease was not taken over:\n"
                                                             << next.err;
  EXPECT_NE(next.exit_code, -1) << next.err;
  Convergence c = ApplyUntilConverged(s);
  ASSERT_TRUE(c.converged) << "first apply after the kill exited " << next.exit_code << ":\n"
                           << next.err << c.transcript << "sandbox log:\n"
                           << Tail(sandbox.Log(), 60);
  EXPECT_EQ(c.lease_conflicts, 0) << c.transcript;
  Audit audit = ExpectExactlyOnce(s.url, fleet, s.state);
  if (HasFailure()) ADD_FAILURE() << next.err << c.transcript << "sandbox log:\n" << sandbox.Log();
  EXPECT_NE(LeaseHolderPid(s.state), std::optional<int64_t>(holder));
  std::printf(
      "lease takeover: holder pid %d killed with a create in flight; %d more applies; %zu jobs, %zu "
      "duplicates, %zu lost\n",
      holder, 1 + c.applies, audit.jobs, audit.duplicates, audit.lost);
}

// ---------------------------------------------------------------------------
// 5. invalid manifests

// "FILE:LINE:COL" of the first occurrence of `needle` in the file at `path`.
std::string Position(const std::string& path, const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  size_t line_start = text.rfind('\n', at);
  size_t col = line_start == std::string::npos ? at + 1 : at - line_start;
  return fmt::format("{}:{}:{}", path, line, col);
}

TEST(ApplyReliability, AnInvalidTreeIsReportedAndLeavesStateUntouched) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  FleetOptions o;
  o.prefix = "invalid";
  o.count = 2;
  o.per_file = 1;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  Rig s{fleet.dir, dir.Join("state.db"), sandbox.url()};
  RunResult first = s.Apply();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(Plan(s).Converged());

  const std::string file = fleet.files[0];
  const std::string valid = test_util::detail::Slurp(file);
  struct Case {
    std::string name;
    std::string text;        // the new content of `file`
    std::string extra_file;  // written too when not empty
    std::string extra_text;
    std::string expect;               // a stderr line must start with this
    std::vector<std::string> also{};  // stderr must contain these too
  };
  std::vector<Case> cases;
  {
    std::string text = test_util::ReplaceAll(valid, "gray: 10", "grey: 10");
    cases.push_back({"unknown key", text, "", "",
                     "otaroll: error: " + Position(file, text, "grey") + ": spec.stages[0].grey: unknown key"});
  }
  {
    std::string text = test_util::ReplaceAll(valid, "gray: 10", "gray: 101");
    cases.push_back(
        {"out of range", text, "", "", "otaroll: error: " + Position(file, text, "101") + ": spec.stages[0].gray: "});
  }
  {
    std::string text = valid + "    - name: broken\n      gray: [10\n";
    cases.push_back({"not YAML", text, "", "", "otaroll: error: " + file + ":"});
  }
  {
    std::string extra = fleet.dir + "/copy.yaml";
    // Both locations are named; which one the message is attached to is the loader's choice.
    cases.push_back({"duplicate name",
                     valid,
                     extra,
                     valid,
                     "otaroll: error: ",
                     {"metadata.name", Position(extra, valid, "invalid-000"), Position(file, valid, "invalid-000")}});
  }

  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    { std::ofstream(file, std::ios::binary) << c.text; }
    if (!c.extra_file.empty()) std::ofstream(c.extra_file, std::ios::binary) << c.extra_text;
    auto before = FileBytes(s.state);
    auto before_wal = FileBytes(s.state + "-wal");
    ASSERT_TRUE(before.has_value());
    size_t log_before = sandbox.Log().size();

    RunResult r = s.Apply();
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(("\n" + r.err).find("\n" + c.expect), std::string::npos) << "expected a line starting with\n"
                                                                       << c.expect << "\nin:\n"
                                                                       << r.err;
    for (const auto& part : c.also) EXPECT_NE(r.err.find(part), std::string::npos) << part << "\nnot in:\n" << r.err;
    std::regex located("^otaroll: error: [^\n]+:[0-9]+:[0-9]+: ");
    EXPECT_TRUE(std::regex_search(r.err, located)) << r.err;
    EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
    EXPECT_EQ(sandbox.Log().substr(log_before), "") << "apply called the platform with an invalid tree";
    EXPECT_TRUE(FileBytes(s.state) == before) << "the state file changed";
    EXPECT_TRUE(FileBytes(s.state + "-wal") == before_wal) << "the state file's -wal changed";

    // Without any state file, an invalid tree creates none.
    std::string fresh = dir.Join("fresh/state.db");
    RunResult none = Rig{s.tree, fresh, s.url}.Apply();
    EXPECT_EQ(none.exit_code, 1) << none.err;
    EXPECT_FALSE(fs::exists(fresh)) << "apply created a state file for an invalid tree";
    EXPECT_FALSE(fs::exists(dir.Join("fresh"))) << "apply created the state file's folder for an invalid tree";
    EXPECT_EQ(sandbox.Log().substr(log_before), "") << "apply called the platform with an invalid tree";

    { std::ofstream(file, std::ios::binary) << valid; }
    if (!c.extra_file.empty()) fs::remove(c.extra_file);
  }
  RunResult again = s.Apply();
  EXPECT_EQ(again.exit_code, 0) << again.err;
  ExpectExactlyOnce(s.url, fleet, s.state);
}

// ---------------------------------------------------------------------------
// 6. a changed stage

TEST(ApplyReliability, AChangedStageGetsANewJobOnceAndSupersedesTheOld) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  FleetOptions o;
  o.prefix = "change";
  o.count = 2;
  o.per_file = 1;
  Fleet fleet = test_util::WriteFleet(dir, "tree", o);
  Rig s{fleet.dir, dir.Join("state.db"), sandbox.url()};
  RunResult first = s.Apply();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(Plan(s).Converged());
  ExpectExactlyOnce(s.url, fleet, s.state);
  std::string old_job;
  for (const auto& j : ListFleetJobs(s.url, {fleet.firmware_ids[0]})) {
    if (j.key == fleet.stages[0].Key()) old_job = j.job_id;
  }
  ASSERT_FALSE(old_job.empty());

  // Stage 1 of the first rollout: gray 10 -> 20.
  std::string text = test_util::detail::Slurp(fleet.files[0]);
  { std::ofstream(fleet.files[0], std::ios::binary) << test_util::ReplaceAll(text, "gray: 10", "gray: 20"); }
  Fleet changed = fleet;
  changed.stages[0].target = "20";
  PlanView plan = Plan(s);
  ASSERT_TRUE(plan.ok) << plan.error;
  EXPECT_EQ(plan.actions["change-000/gray"], "replace");
  EXPECT_EQ(plan.Count("in-sync"), 5u) << plan.counts;

  RunResult second = s.Apply();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  ASSERT_TRUE(Plan(s).Converged()) << Plan(s).counts;

  // The platform: the old job and the new one, nothing else new.
  std::vector<PlatformJob> jobs = ListFleetJobs(s.url, fleet.firmware_ids);
  EXPECT_EQ(jobs.size(), 7u);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& j : jobs) by_key[j.key].push_back(j.job_id);
  for (const auto& stage : changed.stages) EXPECT_EQ(by_key[stage.Key()].size(), 1u) << stage.Key();
  EXPECT_EQ(by_key[fleet.stages[0].Key()], std::vector<std::string>{old_job});
  ASSERT_EQ(by_key[changed.stages[0].Key()].size(), 1u);
  std::string new_job = by_key[changed.stages[0].Key()][0];
  for (const auto& j : jobs) {
    if (j.job_id == old_job) {
      EXPECT_NE(j.status, "CANCELED") << "the old job was cancelled";
    }
  }
  std::string log = sandbox.Log();
  EXPECT_EQ(CountLines(log, {"action=CancelOTATaskByJob"}), 0u) << "cancelled without --cancel-superseded";

  // State: the old attempt superseded by the new one.
  auto snapshot = state::LoadSnapshot(s.state);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().message();
  const state::Attempt *old_attempt = nullptr, *new_attempt = nullptr;
  for (const auto& a : snapshot->attempts) {
    if (a.job_id == old_job) old_attempt = &a;
    if (a.job_id == new_job) new_attempt = &a;
    EXPECT_TRUE(a.status == state::AttemptStatus::kCreated || a.status == state::AttemptStatus::kSuperseded)
        << a.rollout << "/" << a.stage << " is " << state::StatusName(a.status);
  }
  ASSERT_TRUE(old_attempt && new_attempt);
  EXPECT_EQ(old_attempt->status, state::AttemptStatus::kSuperseded);
  EXPECT_EQ(old_attempt->superseded_by, std::optional<int64_t>(new_attempt->id));
  EXPECT_EQ(new_attempt->status, state::AttemptStatus::kCreated);
  EXPECT_EQ(new_attempt->rollout + "/" + new_attempt->stage, "change-000/gray");
  EXPECT_NE(new_attempt->spec_hash, old_attempt->spec_hash);

  // Once more: nothing to create.
  size_t creates_before = CountLines(sandbox.Log(), {"action=CreateOTAStaticUpgradeJob"});
  RunResult third = s.Apply();
  EXPECT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(CountLines(sandbox.Log(), {"action=CreateOTAStaticUpgradeJob"}), creates_before)
      << "an apply with nothing to do called CreateOTAStaticUpgradeJob";
  EXPECT_EQ(ListFleetJobs(s.url, fleet.firmware_ids).size(), 7u);
  EXPECT_TRUE(Plan(s).Converged());
}

}  // namespace
}  // namespace otaroll
