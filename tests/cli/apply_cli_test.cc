// `otaroll apply` through the real binary against the real sandbox: the
// confirmation rule, saved plans, output and exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "state/sqlite_store.h"
#include "test_util/child.h"
#include "test_util/manifests.h"
#include "test_util/receiver.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::RunResult;
using test_util::SandboxProcess;
using test_util::TempDir;

const char* kRollout = R"(apiVersion: otaroll/v1
kind: Rollout
metadata: {name: thermostat}
spec:
  productKey: k1nhvyl0001
  firmwareId: "178"
  stages:
    - {name: canary, gray: 10}
    - {name: everyone, all: true}
)";

class ApplyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = dir_.Write("tree/thermostat.yaml", kRollout);
    tree_ = dir_.Join("tree");
    state_ = dir_.Join("state.db");
    sandbox_ = std::make_unique<SandboxProcess>(std::vector<std::string>{
        "--data", dir_.Join("sandbox.db"), "--access-key", "testid:testsecret", "--fleet-size", "50"});
    ASSERT_TRUE(sandbox_->started()) << sandbox_->error();
  }

  RunResult Otaroll(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {}) {
    args.insert(args.begin(), OTAROLL_BIN);
    test_util::RunOptions o;
    o.env = {{"OTAROLL_ACCESS_KEY_ID", "testid"},
             {"OTAROLL_ACCESS_KEY_SECRET", "testsecret"},
             {"OTAROLL_ENDPOINT", sandbox_->url()},
             {"OTAROLL_STATE", ""}};
    o.env.insert(env.begin(), env.end());
    o.timeout_seconds = 60;
    return test_util::Run(std::move(args), o);
  }

  size_t Created() {
    auto s = state::LoadSnapshot(state_);
    size_t n = 0;
    for (const auto& a : s->attempts) n += a.status == state::AttemptStatus::kCreated;
    return n;
  }

  TempDir dir_;
  std::string tree_;
  std::string state_;
  std::unique_ptr<SandboxProcess> sandbox_;
};

TEST_F(ApplyCliTest, CreatesThePlanAndThenHasNothingToDo) {
  RunResult r = Otaroll({"apply", tree_, "--state", state_, "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("thermostat/canary: created job "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("thermostat/everyone: created job "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("otaroll: apply: 2 created, 0 adopted, 0 failed, 0 unknown, 0 to retry; 0 superseded, 0 "
                       "cancelled\n"),
            std::string::npos)
      << r.out;
  // Off a terminal: plain lines, no progress line.
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("[1/"), std::string::npos) << r.out;
  EXPECT_EQ(Created(), 2u);

  RunResult again = Otaroll({"apply", tree_, "--state", state_, "--yes"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "otaroll: nothing to do now: 2 in-sync\n");
}

// --rate-limits and --concurrency are checked before anything is done.
TEST_F(ApplyCliTest, RateLimitsAndConcurrencyAreCheckedUpFront) {
  RunResult limits = Otaroll({"apply", tree_, "--state", state_, "--yes", "--rate-limits", "20,10"});
  EXPECT_EQ(limits.exit_code, 1);
  EXPECT_EQ(limits.err,
            "otaroll: error: --rate-limits 20,10: not three calls-per-second figures CREATE,QUERY,CANCEL (the "
            "platform's are 20,10,5)\n");
  RunResult zero = Otaroll({"apply", tree_, "--state", state_, "--yes", "--concurrency", "0"});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_EQ(zero.err, "otaroll: error: --concurrency: Value 0 not in range 1 to 64; see 'otaroll apply --help'\n");
  EXPECT_FALSE(std::filesystem::exists(state_)) << "nothing was done";
  RunResult ok =
      Otaroll({"apply", tree_, "--state", state_, "--yes", "--rate-limits", "40,20,10", "--concurrency", "2"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(Created(), 2u);
}

// Every command reads the --state value through one factory (state/open.h).
TEST_F(ApplyCliTest, StateIsAPathASqliteUrlOrAPostgresUri) {
  RunResult r = Otaroll({"apply", tree_, "--state", "sqlite:" + state_, "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Created(), 2u);
  auto args = [&](const std::string& command, const std::string& state) -> std::vector<std::string> {
    if (command == "status") return {command, "--state", state};
    if (command == "apply") return {command, tree_, "--state", state, "--yes"};
    return {command, tree_, "--state", state, "--now", "2026-12-01T00:00:00Z"};
  };
  for (const char* command : {"plan", "status"}) {
    RunResult same = Otaroll(args(command, "sqlite:" + state_));
    RunResult plain = Otaroll(args(command, state_));
    EXPECT_EQ(same.exit_code, 0) << same.err;
    EXPECT_EQ(same.out, plain.out) << command;
  }
  // A postgres:// URI is a PostgreSQL state: named without its password,
  // here with no server listening (port 1).
  for (const char* command : {"plan", "apply", "status"}) {
    RunResult pg = Otaroll(args(command, "postgres://otaroll:s3cret@127.0.0.1:1/otaroll"));
    EXPECT_EQ(pg.exit_code, 1) << command;
    EXPECT_EQ(pg.err,
              "otaroll: error: postgresql://otaroll@127.0.0.1:1/otaroll: cannot connect: connection to server at "
              "\"127.0.0.1\", port 1 failed: Connection refused  Is the server running on that host and accepting "
              "TCP/IP connections?; check that the server is up and the user, password and database\n")
        << command;
  }
}

// --log-format json: every log line one JSON object, on every command.
TEST_F(ApplyCliTest, JsonLogsAreOneObjectPerLine) {
  RunResult r = Otaroll({"apply", tree_, "--state", state_, "--yes", "--log-format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    lines.push_back(j);
  }
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["event"], "created");
  EXPECT_EQ(lines[0]["rollout"], "thermostat");
  EXPECT_EQ(lines[0]["stage"], "canary");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_FALSE(lines[0]["job"].get<std::string>().empty());
  EXPECT_EQ(lines[0]["attempt"].get<std::string>().size(), 32u);
  EXPECT_TRUE(lines[0].contains("time"));
  EXPECT_EQ(lines[2]["event"], "apply");
  EXPECT_EQ(lines[2]["message"],
            "apply: 2 created, 0 adopted, 0 failed, 0 unknown, 0 to retry; 0 superseded, 0 cancelled");

  RunResult bad = Otaroll({"plan", tree_, "--state", "etcd://u:pw@127.0.0.1/x", "--log-format", "json"});
  EXPECT_EQ(bad.exit_code, 1);
  auto err = nlohmann::json::parse(bad.err, nullptr, false);
  ASSERT_TRUE(err.is_object()) << bad.err;
  EXPECT_EQ(err["level"], "error");
  EXPECT_EQ(err["message"], "--state etcd://…: unknown state scheme etcd; pass a state file path (or sqlite:PATH)");
  EXPECT_EQ(bad.err.find("pw@"), std::string::npos);
}

TEST_F(ApplyCliTest, RefusesWithoutConfirmationOffATerminal) {
  RunResult r = Otaroll({"apply", tree_, "--state", state_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "otaroll: error: apply creates jobs on the platform and needs a confirmation: pass --yes (e.g. in CI), or "
            "run it on a terminal to answer the prompt\n");
  EXPECT_FALSE(fs::exists(state_));
}

TEST_F(ApplyCliTest, OnATerminalItShowsThePlanAndAsks) {
  test_util::RunOptions o;
  o.env = {{"OTAROLL_ACCESS_KEY_ID", "testid"},
           {"OTAROLL_ACCESS_KEY_SECRET", "testsecret"},
           {"OTAROLL_ENDPOINT", sandbox_->url()},
           {"OTAROLL_STATE", ""},
           {"NO_COLOR", "1"}};
  o.timeout_seconds = 60;
  o.terminal_input = "no\n";
  RunResult declined = test_util::RunOnTerminal({OTAROLL_BIN, "apply", tree_, "--state", state_}, o);
  EXPECT_EQ(declined.exit_code, 1);
  EXPECT_NE(declined.out.find("Plan: 1 to create, 0 to replace; 1 blocked."), std::string::npos) << declined.out;
  EXPECT_NE(declined.out.find("Apply these changes to the platform? Only 'yes' is accepted: "), std::string::npos)
      << declined.out;
  EXPECT_NE(declined.out.find("otaroll: apply cancelled; nothing was created"), std::string::npos) << declined.out;
  EXPECT_EQ(Created(), 0u);

  o.terminal_input = "yes\n";
  RunResult accepted = test_util::RunOnTerminal({OTAROLL_BIN, "apply", tree_, "--state", state_}, o);
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out;
  EXPECT_NE(accepted.out.find("thermostat/canary: created job "), std::string::npos) << accepted.out;
  EXPECT_NE(accepted.out.find("thermostat/everyone: created job "), std::string::npos) << accepted.out;
  // The live progress line, drawn under the event lines and cleared in place.
  EXPECT_NE(accepted.out.find("[1/1]"), std::string::npos) << accepted.out;
  EXPECT_NE(accepted.out.find("\r\x1b[K"), std::string::npos) << accepted.out;
  EXPECT_NE(accepted.out.find("[2/2] "), std::string::npos) << accepted.out;
  EXPECT_NE(accepted.out.find(" jobs/s"), std::string::npos) << accepted.out;
  EXPECT_EQ(Created(), 2u);
}

// apply --notify-webhook: each created stage reaches a Slack receiver, with
// the token header from the environment; neither the token nor the URL's
// path is ever printed.
TEST_F(ApplyCliTest, NotifiesEachCreatedStageToASlackWebhook) {
  test_util::Receiver receiver;
  const std::string url = receiver.Url("/services/T0/B0/s3cr3t-path");
  RunResult r = Otaroll({"apply", tree_, "--state", state_, "--yes", "--notify-webhook", url, "--notify-format",
                         "slack", "--notify-header", "Authorization: env:HOOK_TOKEN"},
                        {{"HOOK_TOKEN", "Bearer t0k3n"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // apply waited for its notifications before exiting.
  const auto got = receiver.delivered();
  ASSERT_EQ(got.size(), 2u) << r.out << r.err;
  for (const auto& n : got) {
    EXPECT_EQ(n.event, "created");
    EXPECT_EQ(n.authorization, "Bearer t0k3n");
    EXPECT_EQ(n.path, "/services/T0/B0/s3cr3t-path");
  }
  const auto text = nlohmann::json::parse(got[0].body)["text"].get<std::string>();
  EXPECT_EQ(text.rfind(":white_check_mark: *otaroll: stage created* · `thermostat/canary`\nattempt ", 0), 0u) << text;
  EXPECT_NE(got[0].idempotency_key, got[1].idempotency_key);
  for (const std::string& secret : {std::string("t0k3n"), std::string("s3cr3t")}) {
    EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
  }
  // A token on the command line is refused before anything is done.
  RunResult bad = Otaroll({"apply", tree_, "--state", dir_.Join("other.db"), "--yes", "--notify-webhook", url,
                           "--notify-header", "Authorization: Bearer t0k3n"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err,
            "otaroll: error: --notify-header Authorization: a value on the command line is visible to every user of "
            "this machine (ps); take it from env:VAR or file:PATH\n");
  EXPECT_FALSE(fs::exists(dir_.Join("other.db")));
}

TEST_F(ApplyCliTest, SavedPlanIsAppliedExactlyOrRefusedWhenStale) {
  std::string saved = dir_.Join("plan.json");
  ASSERT_EQ(Otaroll({"plan", tree_, "--state", state_, "--out", saved}).exit_code, 0);
  RunResult r = Otaroll({"apply", tree_, "--state", state_, "--yes", "--plan", saved});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The plan said "create canary" only ("everyone" was blocked then): exactly that.
  EXPECT_EQ(Created(), 1u);

  RunResult stale = Otaroll({"apply", tree_, "--state", state_, "--yes", "--plan", saved});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_EQ(
      stale.err.rfind(
          "otaroll: error: --plan: " + saved + " is stale: the state changed since it was made (serial 0 then, ", 0),
      0u)
      << stale.err;
  EXPECT_EQ(Created(), 1u);

  ASSERT_EQ(Otaroll({"plan", tree_, "--state", state_, "--out", saved}).exit_code, 0);
  dir_.Write("tree/thermostat.yaml", test_util::ReplaceAll(kRollout, "gray: 10", "gray: 15"));
  RunResult changed = Otaroll({"apply", tree_, "--state", state_, "--yes", "--plan", saved});
  EXPECT_EQ(changed.exit_code, 1);
  EXPECT_EQ(changed.err, "otaroll: error: --plan: " + saved +
                             " is stale: the manifests changed since it was made; run 'otaroll plan --out' again\n");
}

TEST_F(ApplyCliTest, RefusedCredentialsStopWithTheFix) {
  test_util::RunOptions o;
  o.env = {{"OTAROLL_ACCESS_KEY_ID", "testid"},
           {"OTAROLL_ACCESS_KEY_SECRET", "wrong"},
           {"OTAROLL_ENDPOINT", sandbox_->url()},
           {"OTAROLL_STATE", ""}};
  o.timeout_seconds = 60;
  RunResult r = test_util::Run({OTAROLL_BIN, "apply", tree_, "--state", state_, "--yes"}, o);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("otaroll: error: the platform refused the credentials while creating a job for "
                       "thermostat/canary: SignatureDoesNotMatch: "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Created(), 0u);
}

}  // namespace
}  // namespace otaroll
