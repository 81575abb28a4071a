// The daemon's parts: when it wakes, the waker, git against real
// repositories in a temp dir (a bare "remote" and a clone), the endpoints,
// and the metrics exposition checked by promtool.
#include "daemon/daemon.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/metrics.h"
#include "daemon/server.h"
#include "notify/outbox.h"
#include "state/memory_store.h"
#include "test_util/child.h"
#include "test_util/git_repo.h"
#include "test_util/gpg.h"
#include "test_util/receiver.h"
#include "test_util/temp_dir.h"

namespace otaroll::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

// ---------------------------------------------------------------- NextWake

TEST(NextWake, TheIntervalWithJitterWhenNoGateIsWaiting) {
  Options o;
  o.interval = std::chrono::minutes(5);
  const core::Time now = T("2026-11-30T10:00:00Z");
  EXPECT_EQ(NextWake(Cycle{}, now, o, 0.0), T("2026-11-30T10:05:00Z"));
  EXPECT_EQ(NextWake(Cycle{}, now, o, 1.0), T("2026-11-30T10:05:30Z"));   // +10 %
  EXPECT_EQ(NextWake(Cycle{}, now, o, -1.0), T("2026-11-30T10:04:30Z"));  // −10 %
  EXPECT_EQ(NextWake(Cycle{}, now, o, 7.0), T("2026-11-30T10:05:30Z"));   // clamped
}

TEST(NextWake, TheEarliestGateOpeningComesFirstButNeverInThePast) {
  Options o;
  o.interval = std::chrono::minutes(5);
  const core::Time now = T("2026-11-30T10:00:00Z");
  Cycle c;
  c.next_gate = T("2026-11-30T10:01:07Z");
  EXPECT_EQ(NextWake(c, now, o, 0.0), T("2026-11-30T10:01:07Z"));
  c.next_gate = T("2026-11-30T09:00:00Z");  // already open: at once
  EXPECT_EQ(NextWake(c, now, o, 0.0), now);
  c.next_gate = T("2026-11-30T11:00:00Z");  // later than the interval: the interval
  EXPECT_EQ(NextWake(c, now, o, 0.0), T("2026-11-30T10:05:00Z"));
}

TEST(NextWake, AJudgingHealthGateIsObservedAtTheCadence) {
  Options o;
  o.interval = std::chrono::minutes(5);
  o.health_cadence = seconds(30);
  Cycle c;
  c.judging = true;
  EXPECT_EQ(NextWake(c, T("2026-11-30T10:00:00Z"), o, 0.0), T("2026-11-30T10:00:30Z"));
}

// ---------------------------------------------------------------- Waker

TEST(Waker, ReconcileAndStopWakeAtOnceADeadlineOtherwise) {
  Waker w;
  const auto soon = std::chrono::steady_clock::now() + milliseconds(20);
  EXPECT_EQ(w.WaitUntil(soon), Waker::Why::kDue);
  w.Reconcile();
  EXPECT_EQ(w.WaitUntil(std::chrono::steady_clock::now() + std::chrono::hours(1)), Waker::Why::kReconcile);
  EXPECT_EQ(w.WaitUntil(std::chrono::steady_clock::now() + milliseconds(1)), Waker::Why::kDue);  // consumed
  std::thread stopper([&] { w.Stop(); });
  EXPECT_EQ(w.WaitUntil(std::chrono::steady_clock::now() + std::chrono::hours(1)), Waker::Why::kStop);
  stopper.join();
  EXPECT_TRUE(w.stopping());
}

// ---------------------------------------------------------------- the loop, in process

// The platform of the loop in process: every call fails the test, but
// creates when they are allowed (job ids j1, j2, ...).
class TestPlatform final : public apply::Platform {
 public:
  explicit TestPlatform(bool creates_allowed = true) : creates_allowed_(creates_allowed) {}
  int creates = 0;

  platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet&, const std::string&) override {
    if (!creates_allowed_) return Refuse<platform::CreatedJob>("CreateJob");
    platform::CreatedJob job;
    job.job_id = "j" + std::to_string(++creates);
    return job;
  }
  platform::CallResult<std::vector<platform::JobInfo>> ListJobsByFirmware(const std::string&) override {
    return Refuse<std::vector<platform::JobInfo>>("ListJobsByFirmware");
  }
  platform::CallResult<platform::JobInfo> QueryJob(const std::string&) override {
    return Refuse<platform::JobInfo>("QueryJob");
  }
  platform::CallResult<std::vector<platform::TaskInfo>> ListTasks(const std::string&) override {
    return Refuse<std::vector<platform::TaskInfo>>("ListTasks");
  }
  platform::CallResult<int64_t> CountTasks(const std::string&, const std::string&) override {
    return Refuse<int64_t>("CountTasks");
  }
  platform::CallResult<platform::Empty> CancelTasks(const std::string&, const platform::CancelWhich&) override {
    return Refuse<platform::Empty>("CancelTasks");
  }

 private:
  template <typename T>
  platform::CallResult<T> Refuse(const char* what) {
    ADD_FAILURE() << "unexpected platform call: " << what;
    platform::CallError e;
    e.cls = platform::ErrorClass::kNetwork;
    return e;
  }
  bool creates_allowed_;
};

// A daemon over `tree` (with `o`'s other options), its lease taken.
std::unique_ptr<Daemon> Started(Options o, const std::string& tree, state::Store& store, apply::Platform& platform,
                                core::Clock& clock, LogSink log = nullptr) {
  o.dir = tree;
  auto d = std::make_unique<Daemon>(o, store, platform, clock, std::move(log));
  EXPECT_TRUE(d->Start().ok());
  return d;
}

// Events of `kind` in `store` (whose data holds `data`, when given).
size_t CountEvents(state::Store& store, const std::string& kind, const std::string& data = "") {
  auto events = store.Events("");
  EXPECT_TRUE(events.ok());
  size_t n = 0;
  for (const auto& e : events.ok() ? *events : std::vector<state::Event>{}) {
    n += e.kind == kind && e.data_json.find(data) != std::string::npos;
  }
  return n;
}

// A cycle after a quiet one (nothing done but reading) neither plans nor
// applies while its inputs are unchanged: the same tree, the same state
// serial, no gate opened. A change of any of them, an hour without a full
// cycle, or a full cycle asked for (SIGHUP) plans again.
TEST(DaemonLoop, AQuietCycleIsNotPlannedAgainUntilAnInputChanges) {
  test_util::TempDir dir;
  dir.Write("tree/a.yaml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: later}\nspec:\n  productKey: pk\n"
            "  firmwareId: \"1\"\n  stages:\n    - {name: all, all: true, gate: {notBefore: 2026-12-01T10:00:00Z}}\n");
  state::MemoryStore store;
  TestPlatform platform;
  core::FixedClock clock(T("2026-12-01T08:00:00Z"));
  auto d = Started({}, dir.Join("tree"), store, platform, clock);
  Cycle first = d->RunCycle(nullptr);
  EXPECT_EQ(first.outcome, "nothing-to-do") << first.error;
  EXPECT_FALSE(first.unchanged);
  Cycle quiet = d->RunCycle(nullptr);
  EXPECT_TRUE(quiet.unchanged);
  EXPECT_EQ(quiet.outcome, "nothing-to-do");
  EXPECT_EQ(quiet.digest, first.digest);
  ASSERT_TRUE(quiet.next_gate.has_value());
  EXPECT_EQ(*quiet.next_gate, T("2026-12-01T10:00:00Z"));  // it still wakes at the gate

  // Asked for (SIGHUP): planned again.
  EXPECT_FALSE(d->RunCycle(nullptr, /*full=*/true).unchanged);
  EXPECT_TRUE(d->RunCycle(nullptr).unchanged);

  // The state changed (another handle wrote): planned again, then quiet.
  auto other = store.OpenAnother();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->UpsertRollout("elsewhere", "pk2", "2", clock.Now()).ok());
  EXPECT_FALSE(d->RunCycle(nullptr).unchanged);
  EXPECT_TRUE(d->RunCycle(nullptr).unchanged);

  // An hour without a full cycle: planned again.
  clock.Set(T("2026-12-01T09:00:01Z"));
  EXPECT_FALSE(d->RunCycle(nullptr).unchanged);
  EXPECT_TRUE(d->RunCycle(nullptr).unchanged);
  EXPECT_EQ(platform.creates, 0);

  // The gate opened: planned again, and the stage created.
  clock.Set(T("2026-12-01T10:00:00Z"));
  Cycle opened = d->RunCycle(nullptr);
  EXPECT_FALSE(opened.unchanged);
  EXPECT_EQ(opened.outcome, "applied");
  EXPECT_EQ(platform.creates, 1);
  EXPECT_FALSE(d->RunCycle(nullptr).unchanged);  // that cycle created: the next one plans again
  EXPECT_TRUE(d->RunCycle(nullptr).unchanged);

  // The tree changed: parsed and planned again.
  dir.Write("tree/b.yaml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: paused}\nspec:\n  productKey: pk3\n"
            "  firmwareId: \"3\"\n  paused: true\n  stages:\n    - {name: all, all: true}\n");
  Cycle changed = d->RunCycle(nullptr);
  EXPECT_FALSE(changed.unchanged);
  EXPECT_NE(changed.digest, first.digest);
  EXPECT_TRUE(d->RunCycle(nullptr).unchanged);
  EXPECT_EQ(platform.creates, 1);

  // Every cycle, quiet or not, is recorded.
  EXPECT_EQ(CountEvents(store, "cycle"), 13u);
  EXPECT_EQ(CountEvents(store, "cycle", "\"unchanged\":true"), 6u);
}

// A health gate with no observation of the previous stage's job yet is
// judging: the loop wakes at the observation cadence, not at the interval.
TEST(DaemonLoop, AHealthGateWaitingForItsFirstObservationIsJudging) {
  test_util::TempDir dir;
  dir.Write("tree/a.yaml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: gated}\nspec:\n  productKey: pk\n"
            "  firmwareId: \"1\"\n  stages:\n    - {name: canary, gray: 10}\n"
            "    - {name: all, all: true, gate: {health: {minTasks: 5, maxFailedPercent: 20}}}\n");
  state::MemoryStore store;
  TestPlatform platform;
  core::SystemClock clock;
  auto d = Started({}, dir.Join("tree"), store, platform, clock);
  Cycle c = d->RunCycle(nullptr);
  EXPECT_EQ(c.outcome, "applied") << c.error;
  EXPECT_EQ(platform.creates, 1);
  EXPECT_TRUE(c.judging);
  // No time gate: the only instant ahead is the reminder, --remind-after
  // (24 h) after the stage began waiting.
  ASSERT_TRUE(c.next_gate.has_value());
  EXPECT_GE(*c.next_gate - clock.Now(), std::chrono::hours(23));
}

// A stage outside its window, or frozen, wakes the loop at the instant it
// opens; at that instant the stage is created.
TEST(DaemonLoop, WakesWhenAWindowOpensOrAFreezeEnds) {
  test_util::TempDir dir;
  dir.Write("tree/a.yaml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: night, labels: {team: a}}\nspec:\n"
            "  productKey: pk\n  firmwareId: \"1\"\n  stages:\n    - name: all\n      all: true\n      gate:\n"
            "        window: [{hours: \"22:00-04:00\", timeZone: Europe/Berlin}]\n");
  dir.Write("tree/freeze.yaml",
            "apiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: f}\nspec:\n  from: 2026-12-01T20:00:00Z\n"
            "  until: 2026-12-01T22:30:00Z\n  reason: a release party\n  selector: {team: a}\n");
  state::MemoryStore store;
  TestPlatform platform;
  core::FixedClock clock(T("2026-12-01T08:00:00Z"));
  auto d = Started({}, dir.Join("tree"), store, platform, clock);
  Cycle c = d->RunCycle(nullptr);
  ASSERT_TRUE(c.next_gate.has_value()) << c.outcome << c.error;
  EXPECT_EQ(*c.next_gate, T("2026-12-01T22:30:00Z"));  // the window opens at 21:00Z, inside the freeze
  clock.Set(*c.next_gate);
  Cycle opened = d->RunCycle(nullptr);
  EXPECT_EQ(opened.outcome, "applied");
  EXPECT_EQ(platform.creates, 1);
}

// --verify-commits: a commit signed by a trusted key is acted on; one signed
// by another key, an unsigned one and uncommitted changes to manifests are
// reported once and not acted on; the last trusted tree keeps being
// reconciled; the signer is recorded with each cycle.
TEST(DaemonLoop, OnlyCommitsSignedByATrustedKeyAreActedOn) {
  test_util::TempDir dir;
  test_util::GpgKey trusted(dir, "trusted"), other(dir, "other");
  std::ofstream(dir.Join("trusted.asc")) << trusted.Armored();
  test_util::GitRepos repos(dir);
  auto commit = [&](test_util::GpgKey* key, const std::string& name, const std::string& firmware) {
    std::ofstream(repos.author + "/" + name + ".yaml")
        << "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: " << name << "}\nspec:\n  productKey: pk"
        << firmware << "\n  firmwareId: \"" << firmware << "\"\n  stages:\n    - {name: all, all: true}\n";
    test_util::Git({"-C", repos.author, "add", name + ".yaml"});
    if (key != nullptr) {
      EXPECT_EQ(key->CommitSigned(repos.author, name).exit_code, 0);
    } else {
      test_util::Git({"-C", repos.author, "commit", "--quiet", "-m", name});
    }
  };
  state::MemoryStore store;
  TestPlatform platform;
  core::SystemClock clock;
  std::vector<LogLine> log;
  Options o;
  o.verify_commits = true;
  o.trusted_keys = dir.Join("trusted.asc");
  auto d = Started(o, repos.author, store, platform, clock, [&](const LogLine& l) { log.push_back(l); });
  // Each untrusted commit is notified (notify/outbox.h, a receiver on loopback).
  test_util::Receiver receiver;
  auto hook = notify::ParseWebhook(receiver.Url(), notify::Format::kJson, {});
  ASSERT_TRUE(hook.ok());
  auto outbox = notify::Outbox::Start(store, {*hook}, notify::SenderOptions{}, nullptr);
  ASSERT_TRUE(outbox.ok()) << outbox.status().message();
  d->SetOutbox(outbox->get());

  commit(&trusted, "first", "1");
  Cycle good = d->RunCycle(nullptr);
  EXPECT_EQ(good.outcome, "applied") << good.error;
  EXPECT_EQ(good.signer, trusted.fingerprint());
  EXPECT_EQ(platform.creates, 1);

  commit(&other, "second", "2");
  Cycle foreign = d->RunCycle(nullptr);
  EXPECT_FALSE(foreign.tree_valid);
  EXPECT_EQ(foreign.outcome, "invalid-tree");
  EXPECT_NE(foreign.untrusted.find("which is not in " + dir.Join("trusted.asc")), std::string::npos)
      << foreign.untrusted;
  EXPECT_EQ(platform.creates, 1);  // second.yaml is on disk, but never acted on
  EXPECT_EQ(d->health().not_ready.rfind("commit " + foreign.commit.substr(0, 12) + " is not trusted: commit ", 0), 0u)
      << d->health().not_ready;
  d->RunCycle(nullptr);  // reported once
  size_t reported = 0;
  for (const auto& l : log)
    reported +=
        l.kind == "tree-untrusted" && l.message.find("is not trusted; the last trusted tree") != std::string::npos;
  EXPECT_EQ(reported, 1u);

  commit(nullptr, "third", "3");
  EXPECT_NE(d->RunCycle(nullptr).untrusted.find(" is not signed; "), std::string::npos);
  EXPECT_EQ(platform.creates, 1);

  commit(&trusted, "fourth", "4");  // signs the history before it: everything is acted on
  Cycle again = d->RunCycle(nullptr);
  EXPECT_EQ(again.outcome, "applied");
  EXPECT_EQ(platform.creates, 4);

  // A manifest changed without a commit is not what was signed.
  std::ofstream(repos.author + "/fourth.yaml", std::ios::app) << "# edited\n";
  Cycle edited = d->RunCycle(nullptr);
  EXPECT_NE(edited.untrusted.find("has changes that are not in commit"), std::string::npos) << edited.untrusted;
  EXPECT_EQ(CountEvents(store, "tree-untrusted"), 3u);
  EXPECT_EQ(CountEvents(store, "cycle", trusted.fingerprint()), 2u);

  EXPECT_TRUE((*outbox)->Drain(store, std::chrono::seconds(20)).empty());
  std::vector<std::string> untrusted;
  for (const auto& r : receiver.delivered()) {
    if (r.event == "tree-untrusted") untrusted.push_back(r.body);
  }
  ASSERT_EQ(untrusted.size(), 3u);
  const auto body = nlohmann::json::parse(untrusted[0]);
  EXPECT_EQ(body["title"], "commit not trusted");
  const std::string saved = std::string(OTAROLL_BUILD_DIR) + "/notifications";
  std::filesystem::create_directories(saved);
  std::ofstream(saved + "/tree-untrusted.json") << body.dump(2) << "\n";
}

// A cycle with no changed manifest does not parse the tree again; an invalid
// tree is reported once, and the last valid one is what the cycle acts on.
TEST(DaemonLoop, UnchangedTreesAreNotParsedAgainAndInvalidOnesReportedOnce) {
  test_util::TempDir dir;
  const std::string waiting =
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: later}\nspec:\n  productKey: pk\n"
      "  firmwareId: \"1\"\n  stages:\n    - {name: all, all: true, gate: {notBefore: 2099-01-01T00:00:00Z}}\n";
  dir.Write("tree/a.yaml", waiting);
  state::MemoryStore store;
  TestPlatform platform(/*creates_allowed=*/false);
  core::SystemClock clock;
  std::vector<LogLine> log;
  auto d = Started({}, dir.Join("tree"), store, platform, clock, [&](const LogLine& l) { log.push_back(l); });
  Cycle first = d->RunCycle(nullptr);
  EXPECT_EQ(first.outcome, "nothing-to-do") << first.error;
  EXPECT_TRUE(first.tree_valid);
  ASSERT_TRUE(first.next_gate.has_value());
  EXPECT_EQ(*first.next_gate, T("2099-01-01T00:00:00Z"));
  Cycle second = d->RunCycle(nullptr);
  EXPECT_EQ(d->health().tree_parses, 1);
  EXPECT_EQ(second.digest, first.digest);

  dir.Write("tree/a.yaml", waiting + "    - {name: oops, gray: 150}\n");
  Cycle bad = d->RunCycle(nullptr);
  Cycle bad_again = d->RunCycle(nullptr);
  EXPECT_EQ(d->health().tree_parses, 2);
  EXPECT_EQ(bad.outcome, "invalid-tree");
  EXPECT_FALSE(bad.tree_valid);
  EXPECT_EQ(bad.digest, first.digest);  // the last valid tree is what it acted on
  size_t reported = 0;
  for (const auto& l : log) {
    if (l.kind != "tree-invalid" || l.message.find("is invalid (1 error)") == std::string::npos) continue;
    ++reported;
    EXPECT_EQ(l.message,
              "the tree at commit (not a git checkout) is invalid (1 error); the last valid tree keeps being "
              "reconciled");
  }
  EXPECT_EQ(reported, 1u);
  EXPECT_FALSE(d->health().ready);
  EXPECT_EQ(CountEvents(store, "cycle"), 4u);
  EXPECT_EQ(CountEvents(store, "tree-invalid"), 1u);
}

// ---------------------------------------------------------------- endpoints

std::string Get(const std::string& url, const std::string& path, int* status) {
  httplib::Client c(url);
  c.set_connection_timeout(5);
  c.set_read_timeout(5);
  auto r = c.Get(path);
  *status = r ? r->status : -1;
  return r ? r->body : "";
}

TEST(Server, HealthzReadyzAndMetrics) {
  Metrics metrics;
  Health h;
  h.not_ready = "no cycle has finished yet";
  h.lease_held = true;
  bool alive = true;
  Server server([&] { return h; }, [&] { return alive; }, metrics);
  ASSERT_TRUE(server.Start(":0").ok());
  int status = 0;
  EXPECT_EQ(Get(server.url(), "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(Get(server.url(), "/readyz", &status),
            R"({"ready":false,"reason":"no cycle has finished yet","tree_valid":false,"commit":"","valid_commit":"",)"
            R"("manifest_digest":"","cycles":0,"last_cycle":"","last_success":"","lease_held":true,"standby":false})"
            "\n");
  EXPECT_EQ(status, 503);
  h.ready = true;
  h.tree_valid = true;
  Get(server.url(), "/readyz", &status);
  EXPECT_EQ(status, 200);
  alive = false;
  Get(server.url(), "/healthz", &status);
  EXPECT_EQ(status, 503);
  const std::string text = Get(server.url(), "/metrics", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(text.find("otaroll_lease_held"), std::string::npos) << text;
}

TEST(Server, AMalformedOrTakenAddressIsAClearError) {
  Metrics metrics;
  Server a([] { return Health{}; }, [] { return true; }, metrics);
  EXPECT_EQ(a.Start("9090").message(),
            "--listen 9090: expected HOST:PORT, e.g. 127.0.0.1:9090 (or :9090 for loopback)");
  EXPECT_EQ(a.Start(":http").message(), "--listen :http: the port must be a number from 0 to 65535");
  Server b([] { return Health{}; }, [] { return true; }, metrics);
  ASSERT_TRUE(b.Start("127.0.0.1:0").ok());
  const std::string taken = "127.0.0.1:" + b.url().substr(b.url().rfind(':') + 1);
  Server c([] { return Health{}; }, [] { return true; }, metrics);
  EXPECT_EQ(c.Start(taken).message(), "--listen " + taken +
                                          ": cannot listen there (in use, or not an address of this host); pick "
                                          "another port");
}

// ---------------------------------------------------------------- metrics

// promtool (Debian package prometheus) checks the exposition: names, types,
// help, suffixes, label cardinality.
TEST(Metrics, TheExpositionPassesPromtool) {
  Metrics m;
  apply::Report r;
  r.created = 2;
  r.adopted = 1;
  m.CycleDone("applied", 0.25, r, true, 1764496800.0);
  m.ApiCall("CreateOTAStaticUpgradeJob", "", false);
  m.ApiCall("ListOTAJobByFirmware", "Throttling.User", true);
  m.TreeValid(true);
  m.LeaseHeld(true);
  m.Commit("0123456789abcdef0123456789abcdef01234567");
  plan::Plan p;
  plan::RolloutPlan rollout;
  rollout.name = "thermostat";
  plan::StagePlan canary;
  canary.name = "canary";
  canary.action = plan::Action::kInSync;
  plan::StagePlan pilot;
  pilot.name = "pilot";
  pilot.action = plan::Action::kWaiting;
  rollout.stages = {canary, pilot};
  p.rollouts = {rollout};
  m.Stages(p);
  const std::string text = m.Text();
  EXPECT_NE(text.find(R"(otaroll_jobs_total{outcome="created"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(otaroll_stage_info{rollout="thermostat",stage="pilot",state="waiting"} 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(otaroll_api_throttles_total{action="ListOTAJobByFirmware"} 1)"), std::string::npos) << text;

  // A stage that moves on or goes away leaves no stale series.
  p.rollouts[0].stages[1].action = plan::Action::kInSync;
  p.rollouts[0].stages.erase(p.rollouts[0].stages.begin());
  m.Stages(p);
  const std::string later = m.Text();
  EXPECT_EQ(later.find(R"(state="waiting"} 1)"), std::string::npos) << later;
  EXPECT_EQ(later.find(R"(stage="canary")"), std::string::npos) << later;
  EXPECT_NE(later.find(R"(otaroll_stage_info{rollout="thermostat",stage="pilot",state="in-sync"} 1)"),
            std::string::npos)
      << later;

  test_util::TempDir dir;
  const std::string file = dir.Join("metrics.txt");
  std::ofstream(file) << later;
  test_util::RunOptions o;
  o.search_path = true;
  o.merge_output = true;
  auto check = test_util::Run({"sh", "-c", "promtool check metrics < " + file}, o);
  EXPECT_EQ(check.exit_code, 0) << check.out << "\n" << later;
  EXPECT_EQ(check.out, "");
}

}  // namespace
}  // namespace otaroll::daemon
