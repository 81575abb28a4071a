// `otaroll daemon` as operators run it: the real binary against the real
// `otaroll sandbox` over loopback, real git repositories in a temp dir, real
// signals. Every wait polls an observable condition with a bound.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "state/sqlite_store.h"
#include "test_util/apply_rig.h"
#include "test_util/child.h"
#include "test_util/daemon_process.h"
#include "test_util/git_repo.h"
#include "test_util/receiver.h"

namespace otaroll {
namespace {

using namespace test_util;  // NOLINT(google-build-using-namespace): the harness (test_util/apply_rig.h)

// A rollout of its own product (pk<firmware>) unless `product` is given:
// rollouts of one product conflict (SPEC §1) and run one after the other.
std::string Rollout(const std::string& name, const std::string& firmware, const std::string& stages,
                    const std::string& product = "") {
  return fmt::format(
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {{name: {}}}\nspec:\n  productKey: {}\n"
      "  firmwareId: \"{}\"\n  stages:\n{}",
      name, product.empty() ? "pk" + firmware : product, firmware, stages);
}

size_t Created(const std::string& state_path) {
  return CountAttempts(state_path, {state::AttemptStatus::kCreated});
}

// The created attempt of rollout/stage (nullopt when none).
std::optional<state::Attempt> CreatedAttempt(const std::string& state_path, const std::string& rollout,
                                             const std::string& stage) {
  auto snap = state::LoadSnapshot(state_path);
  if (!snap.ok()) return std::nullopt;
  for (const auto& a : snap->attempts) {
    if (a.rollout == rollout && a.stage == stage && a.status == state::AttemptStatus::kCreated) return a;
  }
  return std::nullopt;
}

class DaemonCli : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = std::make_unique<SandboxProcess>(SandboxArgs(dir_));
    ASSERT_TRUE(sandbox_->started()) << sandbox_->error();
    state_ = dir_.Join("state.db");
  }
  // A tree of one rollout whose canary, on a sandbox failing most tasks,
  // breaches the next stage's health gate; `more` adds spec lines.
  std::string BadFirmwareTree(const std::string& firmware, const std::string& more) {
    const std::string tree = dir_.Join("tree");
    std::filesystem::create_directories(tree);
    std::ofstream(tree + "/bad.yaml")
        << "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: bad-firmware}\nspec:\n"
           "  productKey: k1nhvyl0001\n  firmwareId: \""
        << firmware << "\"\n"
        << more
        << "  stages:\n"
           "    - {name: canary, gray: 50}\n"
           "    - {name: everyone, all: true, gate: {health: {minTasks: 5, maxFailedPercent: 20}}}\n";
    return tree;
  }

  TempDir dir_;
  std::unique_ptr<SandboxProcess> sandbox_;
  std::string state_;
};

// Each stage is created within seconds of its soak ending, not at the next
// interval (an hour away); SIGTERM stops it with exit 0 and the lease free;
// a second daemon meanwhile fails fast naming the first.
TEST_F(DaemonCli, StagesAdvanceByThemselvesWhenTheirGatesOpen) {
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/thermostat.yaml") << Rollout("thermostat", "178",
                                                      "    - {name: canary, gray: 10}\n"
                                                      "    - {name: pilot, gray: 50, gate: {soak: 2s}}\n"
                                                      "    - {name: everyone, all: true, gate: {soak: 2s}}\n");
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 3; }, seconds(40))) << d.Log() << d.child().Err();

  // The delay from a gate opening to its create.
  auto canary = CreatedAttempt(state_, "thermostat", "canary");
  auto pilot = CreatedAttempt(state_, "thermostat", "pilot");
  auto everyone = CreatedAttempt(state_, "thermostat", "everyone");
  ASSERT_TRUE(canary && pilot && everyone);
  const auto delay1 = pilot->created_at - (*canary->job_created_at + seconds(2));
  const auto delay2 = everyone->created_at - (*pilot->job_created_at + seconds(2));
  std::printf("gate open → create: %lld ms, %lld ms\n", static_cast<long long>(delay1.count()),
              static_cast<long long>(delay2.count()));
  EXPECT_LT(delay1, seconds(3));
  EXPECT_LT(delay2, seconds(3));
  EXPECT_GE(delay1, milliseconds(-1000));  // never before the gate (the platform's clock rounds to seconds)

  RunResult second = Otaroll({"daemon", tree, "--state", state_, "--endpoint", sandbox_->url()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find(kLeaseMessage + std::to_string(d.child().pid())), std::string::npos) << second.err;

  d.child().Signal(SIGTERM);
  const RunResult& done = d.child().Wait();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_LT(d.child().elapsed(), seconds(60));
  EXPECT_FALSE(LeaseHolderPid(state_).has_value());
  EXPECT_NE(done.out.find("info stop: stopped; the lease is released"), std::string::npos) << done.out;
  EXPECT_EQ(ListFleetJobs(sandbox_->url(), {"178"}).size(), 3u);
}

// A health gate opens when enough of the canary's tasks have finished well:
// observed every --observe-every while it judges, the next stage is created
// within seconds of the canary's tasks finishing (1 s each in this sandbox).
TEST_F(DaemonCli, AHealthGatedStageIsCreatedWithinSecondsOfItsCanaryBecomingHealthy) {
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/good.yaml") << Rollout(
      "good-firmware", "702",
      "    - {name: canary, gray: 50}\n"
      "    - {name: everyone, all: true, gate: {health: {minTasks: 5, maxFailedPercent: 50}}}\n");
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h", "--observe-every", "1s"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 2; }, seconds(40))) << d.Log() << d.child().Err();
  auto canary = CreatedAttempt(state_, "good-firmware", "canary");
  auto everyone = CreatedAttempt(state_, "good-firmware", "everyone");
  ASSERT_TRUE(canary && everyone);
  const auto delay = everyone->created_at - *canary->job_created_at;
  std::printf("canary created → next stage created (health gate, 1 s tasks): %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(delay).count()));
  EXPECT_LT(delay, seconds(10));
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
}

// Two rollouts of one product: the later one's first stage is created only
// once the daemon has seen every task of the earlier one's jobs finish.
TEST_F(DaemonCli, AConflictingRolloutWaitsForTheEarlierOneToFinish) {
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/a.yaml") << Rollout("sensor-a", "801", "    - {name: half, gray: 50}\n", "k1nhvyl0001");
  std::ofstream(tree + "/b.yaml") << Rollout("sensor-b", "802", "    - {name: half, gray: 50}\n", "k1nhvyl0001");
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h", "--observe-every", "1s"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 2; }, seconds(40))) << d.Log() << d.child().Err();
  auto a = CreatedAttempt(state_, "sensor-a", "half");
  auto b = CreatedAttempt(state_, "sensor-b", "half");
  ASSERT_TRUE(a && b);
  EXPECT_GT(b->created_at, *a->job_created_at);
  // The observation that let it go: every task of a's job finished before b's create.
  auto snap = state::LoadSnapshot(state_);
  ASSERT_TRUE(snap.ok());
  auto seen = snap->observations.find(a->job_id);
  ASSERT_NE(seen, snap->observations.end());
  EXPECT_LE(seen->second.observed_at, b->created_at);
  EXPECT_GT(seen->second.total, 0);
  EXPECT_EQ(seen->second.Count("QUEUED") + seen->second.Count("NOTIFIED") + seen->second.Count("IN_PROGRESS"), 0);
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
}

// The status page of a running daemon in a real browser: headless Chromium
// loads it from --listen, saves a screenshot under the build folder
// (status-page.png) and its DOM shows the rollouts, a countdown and events.
TEST_F(DaemonCli, TheStatusPageRendersInABrowser) {
  RunResult which = test_util::Run({"sh", "-c", "command -v chromium"}, [] {
    RunOptions o;
    o.search_path = true;
    return o;
  }());
  ASSERT_EQ(which.exit_code, 0) << "chromium is missing: scripts/install-deps.sh installs it";
  // The demo's rollout (README command a): canary, then health and soak gates.
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::filesystem::copy_file(std::string(OTAROLL_SOURCE_DIR) + "/examples/daemon-demo/fast-sensor.yaml",
                             tree + "/fast-sensor.yaml");
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h", "--observe-every", "1s"});
  ASSERT_TRUE(d.WaitFor("info listen: listening on")) << d.Log() << d.child().Err();
  // Once the canary's devices have been observed, the page has a progress bar.
  int status = 0;
  ASSERT_TRUE(Eventually([&] { return d.Get("/", &status).find("devices (observed") != std::string::npos; }))
      << d.Log();
  const std::string url = d.url() + "/";
  const std::string shot = std::string(OTAROLL_BUILD_DIR) + "/status-page.png";
  std::filesystem::remove(shot);
  auto chromium = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--user-data-dir=" + dir_.Join("chromium"),
                                     "--window-size=1280,900"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.search_path = true;
    o.timeout_seconds = 90;
    o.env = {{"HOME", dir_.path()}};
    return test_util::Run(argv, o);
  };
  RunResult dom = chromium({"--dump-dom", url});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_NE(dom.out.find("<a href=\"/rollouts/fast-sensor-demo\">fast-sensor-demo</a>"), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find("class=\"bar\""), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find("devices (observed"), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find("<td>fast-sensor-demo</td><td>canary</td><td>created</td>"), std::string::npos) << dom.out;
  RunResult png = chromium({"--screenshot=" + shot, url});
  EXPECT_EQ(png.exit_code, 0) << png.err;
  ASSERT_TRUE(std::filesystem::exists(shot)) << png.err;
  EXPECT_GT(std::filesystem::file_size(shot), 10000u);  // a page, not a blank image
  const std::string rollout = d.Get("/rollouts/fast-sensor-demo", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(rollout.find("<h2>History</h2>"), std::string::npos);
  d.Get("/rollouts/nope", &status);
  EXPECT_EQ(status, 404);
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
}

// A bad firmware (most device tasks fail) halts after the canary: the next
// stage is never created, and with onHalt: cancel the canary's unfinished
// tasks are cancelled once, however many cycles follow.
TEST_F(DaemonCli, ABadFirmwareHaltsAfterTheCanaryAndItsJobIsCancelledOnce) {
  const std::string data = dir_.Join("bad-firmware.db");
  SandboxProcess bad(SandboxArgs(dir_, {"--failure-percent", "80"}, "bad-firmware.db"));
  ASSERT_TRUE(bad.started()) << bad.error();
  const std::string tree = BadFirmwareTree("701", "  onHalt: cancel\n");
  DaemonProcess d(tree, state_, bad.url(), {"--interval", "1h", "--observe-every", "1s"});
  ASSERT_TRUE(d.WaitFor("info cancelled: ", seconds(40))) << d.Log() << d.child().Err();
  ASSERT_TRUE(d.WaitFor("info sleep: next cycle at")) << d.Log();

  // More cycles: nothing more is cancelled or created.
  for (int i = 0; i < 2; ++i) {
    const size_t cycles = d.Count("info cycle: ");
    d.child().Signal(SIGHUP);
    ASSERT_TRUE(Eventually([&] { return d.Count("info cycle: ") > cycles; })) << d.Log();
  }
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0) << d.Log();
  EXPECT_EQ(d.Count("info cancelled: "), 1u) << d.Log();
  EXPECT_EQ(QueryInt(data, "SELECT COUNT(*) FROM cancels"), 1);
  auto jobs = ListFleetJobs(bad.url(), {"701"});
  ASSERT_EQ(jobs.size(), 1u);  // the canary's, and never the next stage's
  RunResult plan = Otaroll({"plan", tree, "--state", state_});
  EXPECT_NE(plan.out.find("halted"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("stage canary breached its health gate"), std::string::npos) << plan.out;
}

// Notifications from the daemon (SPEC §7): a receiver that is down while
// the daemon runs and restarts loses nothing (the outbox and its cursor are
// in state); a slow one does not hold the loop; each notification kind is
// delivered once per condition, and saved under the build folder.
TEST_F(DaemonCli, NotifiesWhatAPersonMustKnowAndLosesNothingWhileTheReceiverIsDown) {
  SandboxProcess bad(SandboxArgs(dir_, {"--failure-percent", "80"}, "bad-firmware.db"));
  ASSERT_TRUE(bad.started()) << bad.error();
  const std::string tree = BadFirmwareTree("702", "");
  const int port = DownPort();
  const std::vector<std::string> args = {
      "--interval",     "1h", "--observe-every",  "1s",
      "--remind-after", "3s", "--notify-webhook", fmt::format("http://127.0.0.1:{}/hook", port)};
  {
    DaemonProcess d(tree, state_, bad.url(), args);
    ASSERT_TRUE(d.WaitFor("warn notify: webhook ", seconds(40))) << d.Log() << d.child().Err();
    d.child().Signal(SIGTERM);
    EXPECT_EQ(d.child().Wait().exit_code, 0) << d.Log();
    EXPECT_EQ(d.Log().find("/hook"), std::string::npos) << "the URL's path is never logged\n" << d.Log();
    EXPECT_NE(d.Log().find("not delivered yet (last error: cannot connect to 127.0.0.1:"), std::string::npos)
        << d.Log();
  }
  Receiver receiver(port);
  DaemonProcess d(tree, state_, bad.url(), args);
  // Distinct notifications (by idempotency key) of `kind` the receiver took.
  auto count = [](const std::vector<Receiver::Request>& got, const std::string& kind) {
    std::set<std::string> keys;
    for (const auto& r : got) {
      if (r.event == kind && r.answered < 300) keys.insert(r.idempotency_key);
    }
    return keys.size();
  };
  auto kinds = [&](const std::string& kind) { return count(receiver.requests(), kind); };
  ASSERT_TRUE(receiver.WaitFor([&](const auto& got) {
    return count(got, "created") >= 1 && count(got, "halted") >= 1;
  })) << d.Log();
  ASSERT_TRUE(receiver.WaitFor([&](const auto& got) { return count(got, "reminder") >= 1; })) << d.Log();

  // A slow receiver does not hold the loop: cycles go on while a POST waits.
  ASSERT_TRUE(d.WaitFor("info sleep: next cycle at")) << d.Log();  // the restarted daemon has a valid tree
  receiver.Delay(milliseconds(6000));
  std::ofstream(tree + "/broken.yaml") << "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: broken}\n";
  const size_t cycles = d.Count("info cycle: ");
  d.child().Signal(SIGHUP);
  ASSERT_TRUE(d.WaitFor("error tree-invalid: ")) << d.Log();
  ASSERT_TRUE(Eventually([&] { return d.Count("info cycle: ") > cycles; }, seconds(3))) << d.Log();
  d.child().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return d.Count("info cycle: ") > cycles + 1; }, seconds(3))) << d.Log();
  ASSERT_TRUE(receiver.WaitFor([&](const auto& got) { return count(got, "tree-invalid") >= 1; })) << d.Log();
  EXPECT_NE(d.Log().find("is invalid (1 error); the last valid tree keeps being reconciled"), std::string::npos)
      << d.Log();
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0) << d.Log();

  // Once each: the halt and its reminder are not repeated by later cycles.
  EXPECT_EQ(kinds("created"), 1u);
  EXPECT_EQ(kinds("halted"), 1u);
  EXPECT_EQ(kinds("reminder"), 1u);
  EXPECT_EQ(kinds("tree-invalid"), 1u);
  const std::string saved = std::string(OTAROLL_BUILD_DIR) + "/notifications";
  std::filesystem::create_directories(saved);
  for (const auto& r : receiver.delivered()) {
    const auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["id"], r.idempotency_key);
    std::ofstream(saved + "/" + r.event + ".json") << body.dump(2) << "\n";
    if (r.event == "halted") {
      EXPECT_EQ(body["stage"], "everyone");
      EXPECT_GT(body["data"]["health"]["failed"].get<int>(), 0) << r.body;
    }
  }
}

// SIGHUP: reconcile now, not at the next interval.
TEST_F(DaemonCli, SighupReconcilesNow) {
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/a.yaml") << Rollout("a", "301", "    - {name: all, all: true}\n");
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 1; })) << d.Log();
  ASSERT_TRUE(d.WaitFor("info sleep: next cycle at")) << d.Log();
  std::ofstream(tree + "/b.yaml") << Rollout("b", "302", "    - {name: all, all: true}\n");
  d.child().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 2; }, seconds(20))) << d.Log();
  EXPECT_NE(d.Log().find("SIGHUP: reconciling now"), std::string::npos);
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
}

// --log-format json: the daemon's log is one JSON object per line.
TEST_F(DaemonCli, JsonLogs) {
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/a.yaml") << Rollout("a", "601", "    - {name: all, all: true}\n");
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h", "--log-format", "json"});
  ASSERT_TRUE(d.WaitFor("\"event\":\"sleep\"")) << d.Log();
  d.child().Signal(SIGTERM);
  const RunResult& done = d.child().Wait();
  EXPECT_EQ(done.exit_code, 0);
  std::istringstream out(done.out);
  std::vector<std::string> events;
  for (std::string line; std::getline(out, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    events.push_back(j["event"]);
  }
  EXPECT_EQ(events, (std::vector<std::string>{"listen", "start", "created", "cycle", "sleep", "stop"}));
}

// --git-pull: commits move rollouts along; an invalid commit is reported with
// its place and nothing is done on its behalf while the last valid tree is
// still reconciled; the next valid commit is picked up; rewritten history is
// reported and the checkout left as it was.
TEST_F(DaemonCli, GitPullFollowsTheRemoteAndNeverActsOnAnInvalidTree) {
  GitRepos repos(dir_);
  repos.Commit("rollouts/a.yaml", Rollout("a", "401", "    - {name: all, all: true}\n"));
  repos.Push();
  DaemonProcess d(repos.checkout, state_, sandbox_->url(), {"--git-pull", "--interval", "1s"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 1; })) << d.Log() << d.child().Err();

  // An invalid manifest: gray 150.
  repos.Commit("rollouts/b.yaml", Rollout("b", "402", "    - {name: canary, gray: 150}\n"));
  repos.Push();
  const std::string bad = GitRepos::Head(repos.author);
  ASSERT_TRUE(d.WaitFor("the tree at commit " + bad.substr(0, 12) + " is invalid (1 error)")) << d.Log();
  EXPECT_NE(d.Log().find(repos.checkout + "/rollouts/b.yaml:8:"), std::string::npos) << d.Log();
  int status = 0;
  ASSERT_TRUE(Eventually([&] {
    d.Get("/readyz", &status);
    return status == 503;
  }));
  const std::string ready = d.Get("/readyz", &status);
  EXPECT_NE(ready.find("\"reason\":\"the tree at commit " + bad.substr(0, 12) + " is invalid\""), std::string::npos)
      << ready;
  EXPECT_NE(ready.find("stages[0].gray: 150 is out of range"), std::string::npos) << ready;
  // Cycles go on (the last valid tree), said once, and nothing for b.
  const size_t cycles = d.Count("info cycle: ");
  ASSERT_TRUE(Eventually([&] { return d.Count("info cycle: ") >= cycles + 2; })) << d.Log();
  EXPECT_EQ(d.Count("is invalid (1 error)"), 1u) << d.Log();
  EXPECT_TRUE(ListFleetJobs(sandbox_->url(), {"402"}).empty());
  EXPECT_EQ(Created(state_), 1u);

  // Fixed: picked up.
  repos.Commit("rollouts/b.yaml", Rollout("b", "402", "    - {name: canary, gray: 15}\n"));
  repos.Push();
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 2; })) << d.Log();
  ASSERT_TRUE(Eventually([&] {
    d.Get("/readyz", &status);
    return status == 200;
  }));

  // `otaroll status` shows the daemon's last cycle and its commit.
  const std::string good = GitRepos::Head(repos.checkout);
  ASSERT_TRUE(Eventually([&] {
    return Otaroll({"status", "--state", state_})
               .out.find("\ndaemon: last cycle at commit " + good.substr(0, 12) + ": ") != std::string::npos;
  })) << Otaroll({"status", "--state", state_}).out;
  auto json = nlohmann::json::parse(Otaroll({"status", "--state", state_, "--format", "json"}).out);
  EXPECT_EQ(json["daemon"]["commit"], good);

  // Rewritten history: reported, the checkout stays where it was.
  const std::string before = GitRepos::Head(repos.checkout);
  Git({"-C", repos.author, "commit", "--quiet", "--amend", "-m", "rewritten"});
  repos.Push(/*force=*/true);
  ASSERT_TRUE(d.WaitFor("its history was rewritten or has diverged")) << d.Log();
  EXPECT_EQ(GitRepos::Head(repos.checkout), before);

  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
}

// /metrics passes promtool, and its created-job counter equals the sandbox's
// own job count.
TEST_F(DaemonCli, MetricsPassPromtoolAndCountWhatTheSandboxHolds) {
  FleetOptions fo;
  fo.prefix = "metrics";
  fo.count = 3;
  Fleet fleet = WriteFleet(dir_, "tree", fo);
  DaemonProcess d(fleet.dir, state_, sandbox_->url(), {"--interval", "1h"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == fleet.stages.size(); })) << d.Log();
  int status = 0;
  std::string text;
  ASSERT_TRUE(Eventually([&] {
    text = d.Get("/metrics", &status);
    return text.find(fmt::format("otaroll_jobs_total{{outcome=\"created\"}} {}", fleet.stages.size())) !=
           std::string::npos;
  })) << text;
  EXPECT_EQ(ListFleetJobs(sandbox_->url(), fleet.firmware_ids).size(), fleet.stages.size());
  EXPECT_NE(text.find("otaroll_lease_held 1"), std::string::npos) << text;
  EXPECT_NE(text.find("otaroll_tree_valid 1"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(otaroll_api_calls_total{action="CreateOTAStaticUpgradeJob",code=""})"), std::string::npos)
      << text;
  const std::string file = dir_.Join("metrics.txt");
  std::ofstream(file) << text;
  RunOptions o;
  o.search_path = true;
  o.merge_output = true;
  RunResult check = test_util::Run({"sh", "-c", "promtool check metrics < " + file}, o);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out, "");
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
}

// SIGTERM while a create is in flight (the sandbox answers slowly): the call
// and its state write finish, the lease is released, exit 0 within
// --timeout + 5 s; a restart creates nothing twice.
TEST_F(DaemonCli, SigtermDuringACreateFinishesItAndExitsZero) {
  sandbox_.reset();
  sandbox_ = std::make_unique<SandboxProcess>(SandboxArgs(dir_, {"--latency-ms", "1500"}, "slow.db"));
  ASSERT_TRUE(sandbox_->started()) << sandbox_->error();
  FleetOptions fo;
  fo.prefix = "term";
  fo.count = 2;
  Fleet fleet = WriteFleet(dir_, "tree", fo);
  DaemonProcess d(fleet.dir, state_, sandbox_->url(), {"--interval", "1h"});
  ASSERT_TRUE(Eventually([&] {
    return CountAttempts(state_, {state::AttemptStatus::kPending}) >= 1;  // an intent: its create is in flight
  })) << d.Log()
      << d.child().Err();
  d.child().Signal(SIGTERM);
  const RunResult& done = d.child().Wait();
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_LT(d.child().elapsed(), seconds(2 + 5 + 10));  // --timeout 2, + 5 s, + the time it ran before the signal
  EXPECT_EQ(CountAttempts(state_, {state::AttemptStatus::kPending, state::AttemptStatus::kUnknown}), 0u);
  EXPECT_FALSE(LeaseHolderPid(state_).has_value());
  EXPECT_NE(done.err.find("otaroll: SIGTERM: finishing the call in flight, then stopping"), std::string::npos);
  EXPECT_LT(Created(state_), fleet.stages.size());  // it stopped before the rest

  DaemonProcess again(fleet.dir, state_, sandbox_->url(), {"--interval", "1h"});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == fleet.stages.size(); }, seconds(60))) << again.Log();
  again.child().Signal(SIGTERM);
  EXPECT_EQ(again.child().Wait().exit_code, 0);
  ExpectExactlyOnce(sandbox_->url(), fleet, state_);
}

// A lease taken away (force-unlock --force) stops the daemon: no create
// after that, exit 1 naming what happened.
TEST_F(DaemonCli, LosingTheLeaseStopsTheDaemonWithAnError) {
  const std::string tree = dir_.Join("tree");
  std::filesystem::create_directories(tree);
  std::ofstream(tree + "/a.yaml") << Rollout("a", "501", "    - {name: all, all: true}\n");
  Receiver receiver;
  DaemonProcess d(tree, state_, sandbox_->url(), {"--interval", "1h", "--notify-webhook", receiver.Url()});
  ASSERT_TRUE(Eventually([&] { return Created(state_) == 1; })) << d.Log();
  RunResult unlocked = Otaroll({"state", "force-unlock", "--force", "--state", state_});
  ASSERT_EQ(unlocked.exit_code, 0) << unlocked.err;
  const RunResult& done = d.child().Wait();  // heartbeats every 5 s notice it
  EXPECT_EQ(done.exit_code, 1);
  EXPECT_NE(done.err.find("otaroll: error: the lease was lost: the lease on " + state_ +
                          " was removed (otaroll state force-unlock); stop; the daemon stopped"),
            std::string::npos)
      << done.err;
  EXPECT_LT(d.child().elapsed(), seconds(60));
  // The loss is told (the daemon drains its notifications before exiting).
  const auto got = receiver.delivered();
  ASSERT_EQ(got.size(), 2u) << d.Log();
  EXPECT_EQ(got[0].event, "created");
  EXPECT_EQ(got[1].event, "lease-lost");
  const auto body = nlohmann::json::parse(got[1].body);
  EXPECT_EQ(body["message"],
            fmt::format("pid {} on host {} lost the lease on the state (the lease on {} was removed (otaroll state "
                        "force-unlock); stop); it stopped creating",
                        d.child().pid(), body["data"]["host"].get<std::string>(), state_));
  const std::string saved = std::string(OTAROLL_BUILD_DIR) + "/notifications";
  std::filesystem::create_directories(saved);
  std::ofstream(saved + "/lease-lost.json") << body.dump(2) << "\n";
}

// kill -9 at random instants and a restart: no duplicate, none lost, checked
// against the sandbox's own job list.
TEST_F(DaemonCli, KillingTheDaemonAndRestartingItNeitherDuplicatesNorLosesAJob) {
  const uint64_t seed = TestSeed();
  std::printf("daemon crash test: seed %llu (repeat with OTAROLL_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  // Slow creates, so kills land between an intent and its answer.
  sandbox_.reset();
  sandbox_ = std::make_unique<SandboxProcess>(SandboxArgs(dir_, {"--latency-ms", "40"}, "slow.db"));
  ASSERT_TRUE(sandbox_->started()) << sandbox_->error();
  FleetOptions fo;
  fo.prefix = "dcrash";
  fo.count = 8;
  Fleet fleet = WriteFleet(dir_, "tree", fo);
  for (int kill = 0; kill < 4; ++kill) {
    DaemonProcess d(fleet.dir, state_, sandbox_->url(), {"--interval", "1s"});
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(50, 600)(rng)));  // the kill instant
    d.child().Signal(SIGKILL);
    d.child().Wait();
  }
  DaemonProcess d(fleet.dir, state_, sandbox_->url(), {"--interval", "1s"});
  ASSERT_TRUE(Eventually(
      [&] {
        return Plan(Rig{fleet.dir, state_, sandbox_->url()}).Converged();
      },
      seconds(90)))
      << d.Log();
  d.child().Signal(SIGTERM);
  EXPECT_EQ(d.child().Wait().exit_code, 0);
  ExpectExactlyOnce(sandbox_->url(), fleet, state_);
}

}  // namespace
}  // namespace otaroll
