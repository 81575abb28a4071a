// Hostile trees, hostile state files and a live lease, through the real
// binary (issue: fail loudly, leak nothing, never act on a partial read).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "state/sqlite_store.h"
#include "test_util/child.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::RunResult;
using test_util::SandboxProcess;
using test_util::TempDir;

// A rollout of its own product: rollouts of one product would run one after
// the other (SPEC §1, conflicting rollouts).
std::string Rollout(const std::string& name, const std::string& firmware) {
  return "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: " + name + "}\nspec:\n  productKey: pk" + firmware +
         "\n  firmwareId: \"" + firmware + "\"\n  stages:\n    - {name: canary, gray: 10}\n";
}

class HostileCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("tree/hvac/thermostat.yaml", Rollout("thermostat", "178"));
    dir_.Write("tree/lighting/bulb.yaml", Rollout("bulb", "179"));
    tree_ = dir_.Join("tree");
    state_ = dir_.Join("state.db");
  }
  void StartSandbox(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data", dir_.Join("sandbox.db"), "--fleet-size", "20"};
    if (extra.empty()) extra = {"--access-key", "testid:testsecret"};
    args.insert(args.end(), extra.begin(), extra.end());
    sandbox_ = std::make_unique<SandboxProcess>(args);
    ASSERT_TRUE(sandbox_->started()) << sandbox_->error();
  }

  // Runs otaroll; as the unprivileged uid 65534 (setpriv) when `unprivileged`
  // and the suite runs as root, where permissions would not stop anything.
  RunResult Otaroll(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                    bool unprivileged = false) {
    args.insert(args.begin(), OTAROLL_BIN);
    if (unprivileged && geteuid() == 0) {
      args.insert(args.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
      args[0] = "/usr/bin/setpriv";
    }
    test_util::RunOptions o;
    o.env = {{"OTAROLL_ACCESS_KEY_ID", "testid"}, {"OTAROLL_ACCESS_KEY_SECRET", "testsecret"}, {"OTAROLL_STATE", ""}};
    if (sandbox_) o.env["OTAROLL_ENDPOINT"] = sandbox_->url();
    for (const auto& [k, v] : env) o.env[k] = v;
    o.timeout_seconds = 60;
    return test_util::Run(std::move(args), o);
  }

  size_t Count(state::AttemptStatus status) {
    auto s = state::LoadSnapshot(state_);
    size_t n = 0;
    for (const auto& a : s->attempts) n += a.status == status;
    return n;
  }

  TempDir dir_;
  std::string tree_;
  std::string state_;
  std::unique_ptr<SandboxProcess> sandbox_;
};

TEST_F(HostileCliTest, AnUnreadableFolderStopsValidateAndApplyPruneBeforeAnything) {
  StartSandbox();
  ASSERT_EQ(Otaroll({"apply", tree_, "--state", state_, "--yes"}).exit_code, 0);
  ASSERT_EQ(Count(state::AttemptStatus::kCreated), 2u);
  for (const std::string& p : {dir_.path(), tree_, tree_ + "/hvac", state_}) chmod(p.c_str(), 0755);
  chmod((tree_ + "/hvac/thermostat.yaml").c_str(), 0644);
  chmod((tree_ + "/lighting").c_str(), 0);
  const std::string error = "otaroll: error: " + tree_ +
                            "/lighting: cannot read the folder: Permission denied; every folder of the tree must be "
                            "readable (nothing is planned from a tree read in part): fix its permissions, or move it "
                            "out of the tree\n";

  RunResult v = Otaroll({"validate", tree_}, {}, /*unprivileged=*/true);
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_EQ(v.out, "");
  EXPECT_EQ(v.err, error + "otaroll: 1 error in 1 file; nothing was planned or changed\n");

  RunResult prune = Otaroll({"apply", tree_, "--state", state_, "--yes", "--prune"}, {}, /*unprivileged=*/true);
  EXPECT_EQ(prune.exit_code, 1);
  EXPECT_EQ(prune.err, error + "otaroll: 1 error in 1 file; nothing was planned or changed\n");
  chmod((tree_ + "/lighting").c_str(), 0755);
  EXPECT_EQ(Count(state::AttemptStatus::kCreated), 2u);
  EXPECT_EQ(Count(state::AttemptStatus::kCancelled), 0u);
}

TEST_F(HostileCliTest, PruneRefusesAnEmptyTreeUnlessAskedOnPurpose) {
  StartSandbox();
  ASSERT_EQ(Otaroll({"apply", tree_, "--state", state_, "--yes"}).exit_code, 0);
  fs::remove_all(tree_);
  fs::create_directories(tree_);
  RunResult refused = Otaroll({"apply", tree_, "--state", state_, "--yes", "--prune"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            "otaroll: error: the manifests hold no rollout at all; --prune refuses to cancel all 2 jobs from an empty "
            "tree (a wrong path or an empty checkout looks the same); nothing was pruned; to prune them all on "
            "purpose, add --prune-empty-tree\n");
  EXPECT_EQ(Count(state::AttemptStatus::kCancelled), 0u);

  RunResult pruned = Otaroll({"apply", tree_, "--state", state_, "--yes", "--prune", "--prune-empty-tree"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_EQ(Count(state::AttemptStatus::kCancelled), 2u);
}

TEST_F(HostileCliTest, ForceUnlockRefusesALiveHolderOnThisHostUnlessForced) {
  auto store = state::SqliteStore::Open(state_);
  ASSERT_TRUE(store.ok());
  state::Lease me = state::ThisProcessLease();  // this test process: alive
  const core::Time now = core::SystemClock().Now();
  auto got = (*store)->AcquireLease(me, now);
  ASSERT_TRUE(got.ok());

  RunResult refused = Otaroll({"state", "force-unlock", "--state", state_});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, fmt::format("otaroll: error: {} is locked by a live otaroll (pid {} on this host, since "
                                     "{}); nothing was removed: wait for it to finish or stop it; 'otaroll state "
                                     "force-unlock --force' removes the lease anyway (that otaroll then creates "
                                     "nothing more)\n",
                                     state_, getpid(), core::FormatRfc3339(now)));
  ASSERT_TRUE((*store)->ReadLease().ok());
  EXPECT_TRUE((*store)->ReadLease()->has_value());

  RunResult forced = Otaroll({"state", "force-unlock", "--force", "--state", state_});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.err, fmt::format("otaroll: warning: pid {} is still running; it can no longer write an intent, so "
                                    "it creates nothing more, but a create it already sent still completes\n",
                                    getpid()));
  EXPECT_EQ(forced.out.rfind(fmt::format("otaroll: removed the lease of pid {} on host ", getpid()), 0), 0u)
      << forced.out;
  EXPECT_FALSE((*store)->ReadLease()->has_value());
}

TEST_F(HostileCliTest, AStateFileWhoseSchemaWasChangedByHandIsRefused) {
  StartSandbox();
  ASSERT_EQ(Otaroll({"apply", tree_, "--state", state_, "--yes"}).exit_code, 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(state_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP INDEX attempts_by_job", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const std::string damaged = "otaroll: error: state file " + state_ +
                              " is damaged (its schema was changed by hand; missing or altered: index "
                              "attempts_by_job); restore it from a backup\n";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status", "--state", state_},
                                             {"plan", tree_, "--state", state_},
                                             {"apply", tree_, "--state", state_, "--yes"}}) {
    RunResult r = Otaroll(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.err, damaged) << args[0];
  }
}

TEST_F(HostileCliTest, AFailedImportLeavesNoStateFileBehind) {
  dir_.Write("bad.json", "{\"format_version\": 1, \"rollouts\": 12}");
  const std::string fresh = dir_.Join("new/state.db");
  RunResult r = Otaroll({"state", "import", dir_.Join("bad.json"), "--state", fresh});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("otaroll: error: ", 0), 0u) << r.err;
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_FALSE(fs::exists(fresh + "-wal"));
}

TEST_F(HostileCliTest, EscapesFromAnEditedStateNeverReachTheTerminal) {
  StartSandbox();
  ASSERT_EQ(Otaroll({"apply", tree_, "--state", state_, "--yes"}).exit_code, 0);
  RunResult exported = Otaroll({"state", "export", "--state", state_});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto doc = nlohmann::json::parse(exported.out);
  doc["attempts"][0]["job_id"] = "J\x1b[2J\xe2\x80\xae";
  doc["attempts"][0]["error_message"] = "boom\x1b]0;pwned\x07\nsecond line";
  doc["events"][0]["message"] = "evil\x1b[31m red";
  dir_.Write("edited.json", doc.dump());
  const std::string edited = dir_.Join("edited.db");
  RunResult imported = Otaroll({"state", "import", dir_.Join("edited.json"), "--state", edited});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status", "--state", edited}, {"history", "--state", edited}, {"plan", tree_, "--state", edited}}) {
    RunResult r = Otaroll(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_EQ((r.out + r.err).find('\x1b'), std::string::npos) << args[0] << ":\n" << r.out;
    EXPECT_EQ((r.out + r.err).find("\xe2\x80\xae"), std::string::npos) << args[0] << ":\n" << r.out;
  }
  RunResult status = Otaroll({"status", "--state", edited});
  EXPECT_NE(status.out.find("J\\x1b[2J\\u{202E}"), std::string::npos) << status.out;
  RunResult history = Otaroll({"history", "--state", edited});
  EXPECT_NE(history.out.find("evil\\x1b[31m red"), std::string::npos) << history.out;
}

TEST_F(HostileCliTest, StatusAndPlanSayWhenAStageHasDuplicateJobs) {
  StartSandbox();
  ASSERT_EQ(Otaroll({"apply", tree_, "--state", state_, "--yes"}).exit_code, 0);
  // What two processes that both planned from one read would have recorded.
  auto store = state::SqliteStore::Open(state_);
  ASSERT_TRUE(store.ok());
  auto snap = (*store)->Load();
  ASSERT_TRUE(snap.ok());
  state::Attempt dup = snap->attempts.at(0);
  dup.intent_id = "intent-of-the-second-process";
  dup.job_id = "9999999999";
  ASSERT_TRUE((*store)->InsertAttempt(dup).ok());
  const std::string first = snap->attempts.at(0).job_id;

  RunResult status = Otaroll({"status", dup.rollout, "--state", state_});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("created, DUPLICATE: 2 jobs for one part  " + first + ", 9999999999"), std::string::npos)
      << status.out;
  RunResult plan = Otaroll({"plan", tree_, "--state", state_});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("DUPLICATE jobs " + first +
                          ", 9999999999 for one part of this stage; cancel the extra "
                          "one's tasks on the platform"),
            std::string::npos)
      << plan.out;
  RunResult json = Otaroll({"plan", tree_, "--state", state_, "--format", "json"});
  EXPECT_NE(json.out.find("\"duplicate_jobs\": [\n"), std::string::npos) << json.out;
}

TEST_F(HostileCliTest, PlainHttpIsForLoopbackAddressesOnly) {
  RunResult r = Otaroll({"platform", "jobs", "--firmware", "178", "--endpoint", "http://127.evil.example:8686"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "otaroll: error: --endpoint: plain http is only allowed to a loopback address (the sandbox); use "
            "https://127.evil.example:8686\n");
}

TEST_F(HostileCliTest, LoopbackNeverGoesThroughAProxy) {
  StartSandbox();
  // A proxy that refuses every connection: were it used, the call would fail.
  RunResult r = Otaroll({"platform", "jobs", "--firmware", "178"},
                        {{"http_proxy", "http://127.0.0.1:9"}, {"HTTP_PROXY", "http://127.0.0.1:9"}, {"no_proxy", ""}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "firmware 178 has no jobs\n");
}

TEST_F(HostileCliTest, TheSandboxTakesItsKeyFromTheEnvironmentOrAPrivateFile) {
  // From the environment: the secret is on no command line.
  setenv("OTAROLL_SANDBOX_ACCESS_KEY", "testid:testsecret", 1);
  StartSandbox({"--latency-ms", "0"});
  unsetenv("OTAROLL_SANDBOX_ACCESS_KEY");
  EXPECT_EQ(Otaroll({"platform", "jobs", "--firmware", "178"}).exit_code, 0);
  sandbox_.reset();

  std::string keys = dir_.Write("keys", "# sandbox keys\ntestid:testsecret\n");
  chmod(keys.c_str(), 0644);
  RunResult open = Otaroll({"sandbox", "--listen", "127.0.0.1:0", "--access-keys-file", keys});
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_EQ(open.err, "otaroll: error: --access-keys-file: " + keys +
                          " can be read by others (mode 644); run 'chmod 600 " + keys + "'\n");
  chmod(keys.c_str(), 0600);
  StartSandbox({"--access-keys-file", keys});
  EXPECT_EQ(Otaroll({"platform", "jobs", "--firmware", "178"}).exit_code, 0);
  EXPECT_EQ(sandbox_->Log().find("testsecret"), std::string::npos);
}

}  // namespace
}  // namespace otaroll
