// Integration tests of `otaroll status`, `otaroll history` and `otaroll state
// export|import|mv|force-unlock` on the real binary: exact output, exit
// codes, read-only reads, and the lease around every state write.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/sha256.h"
#include "state/request.h"
#include "state/sqlite_store.h"
#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::RunOptions;
using test_util::RunResult;
using test_util::TempDir;

const std::string kBin = OTAROLL_BIN;

RunResult Otaroll(std::vector<std::string> args, RunOptions options = {}) {
  args.insert(args.begin(), kBin);
  options.env.emplace("OTAROLL_STATE", "");  // the tests name their state explicitly
  return test_util::Run(std::move(args), options);
}

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

std::string ReadFile(const std::string& path) {
  return test_util::detail::Slurp(path);
}

std::unique_ptr<state::SqliteStore> Open(const std::string& path) {
  auto store = state::SqliteStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().message();
  return store.ok() ? std::move(*store) : nullptr;
}

state::Attempt NewAttempt(const std::string& intent, const std::string& rollout, const std::string& stage) {
  state::Attempt a;
  a.intent_id = intent;
  a.rollout = rollout;
  a.stage = stage;
  a.spec_hash = "hash-" + stage;
  a.request = state::RequestText(
      {{"ProductKey", "k1"}, {"FirmwareId", "178"}, {"TargetSelection", "GRAY"}, {"GrayPercent", "10"}});
  a.created_at = a.updated_at = T("2026-11-25T10:00:00Z");
  return a;
}

void AddEvent(state::SqliteStore& store, const char* at, const std::string& rollout, const std::string& stage,
              const std::string& kind, const std::string& message, const std::string& data = "") {
  state::Event e;
  e.at = T(at);
  e.rollout = rollout;
  e.stage = stage;
  e.kind = kind;
  e.message = message;
  e.data_json = data;
  ASSERT_TRUE(store.AppendEvent(e).ok());
}

// Two rollouts: a replaced canary with device counts, a failed pilot, and a
// split stage whose parts disagree.
void Fill(state::SqliteStore& store) {
  ASSERT_TRUE(store.UpsertRollout("thermostat-2-4-0", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
  ASSERT_TRUE(store.UpsertRollout("sensor.v2", "k2", "9", T("2026-11-25T09:00:00Z")).ok());

  state::Attempt old = NewAttempt("intent-1", "thermostat-2-4-0", "canary");
  old.status = state::AttemptStatus::kCreated;
  old.job_id = "1000000000000000001";
  old.job_created_at = T("2026-11-25T10:00:01Z");
  old.attempt_count = 1;
  auto old_id = store.InsertAttempt(old);
  ASSERT_TRUE(old_id.ok());

  state::Attempt failed = NewAttempt("intent-2", "thermostat-2-4-0", "pilot");
  failed.status = state::AttemptStatus::kFailed;
  failed.error_code = "iot.ota.InvalidParameter";
  failed.error_message = "GrayPercent is out of range";
  failed.attempt_count = 1;
  ASSERT_TRUE(store.InsertAttempt(failed).ok());

  state::Attempt replacement = NewAttempt("intent-3", "thermostat-2-4-0", "canary");
  replacement.spec_hash = "hash-canary-2";
  replacement.status = state::AttemptStatus::kCreated;
  replacement.job_id = "1000000000000000002";
  replacement.job_created_at = T("2026-11-26T08:00:00Z");
  replacement.job_status = "IN_PROGRESS";
  replacement.attempt_count = 2;
  replacement.error_code = "Throttling";
  replacement.error_message = "retried after throttling";
  replacement.updated_at = T("2026-11-26T08:00:01Z");
  auto new_id = store.InsertAttempt(replacement);
  ASSERT_TRUE(new_id.ok());
  ASSERT_TRUE(store.MarkSuperseded(*old_id, *new_id).ok());

  for (int part = 0; part < 2; ++part) {
    state::Attempt split = NewAttempt("intent-vip-" + std::to_string(part), "sensor.v2", "vip");
    split.part = part;
    split.parts = 2;
    split.request =
        state::RequestText({{"TargetSelection", "SPECIFIC"}, {"TargetDeviceName.1", "dev-" + std::to_string(part)}});
    if (part == 1) {
      split.status = state::AttemptStatus::kCreated;
      split.job_id = "1000000000000000003";
      split.job_created_at = T("2026-11-25T10:05:00Z");
      split.attempt_count = 1;
    }
    ASSERT_TRUE(store.InsertAttempt(split).ok());
  }

  state::Observation o;
  o.job_id = "1000000000000000002";
  o.observed_at = T("2026-11-26T08:30:00Z");
  o.total = 100;
  o.by_status = {{"QUEUED", 100}};
  ASSERT_TRUE(store.AddObservation(o).ok());
  o.observed_at = T("2026-11-26T09:00:00Z");
  o.by_status = {{"SUCCEEDED", 40}, {"FAILED", 2}, {"IN_PROGRESS", 58}};
  ASSERT_TRUE(store.AddObservation(o).ok());

  AddEvent(store, "2026-11-25T10:00:00Z", "thermostat-2-4-0", "canary", "intent", "wrote intent intent-1",
           R"({"intent":"intent-1"})");
  AddEvent(store, "2026-11-25T10:00:01Z", "thermostat-2-4-0", "canary", "created", "created job 1000000000000000001");
  AddEvent(store, "2026-11-25T10:00:02Z", "", "", "lease", "took over the lease of pid 12 on host a");
  AddEvent(store, "2026-11-25T10:05:00Z", "sensor.v2", "vip", "created", "created job 1000000000000000003");
}

// A lease held by a process on another host whose heartbeat is in the
// future, so the refusal and force-unlock texts are exact ("0s ago").
void HoldLease(const std::string& path) {
  auto store = Open(path);
  state::Lease other;
  other.host = "other-host";
  other.pid = 4242;
  other.token = "tok-other";
  auto got = store->AcquireLease(other, T("2100-01-01T00:00:00Z"));
  ASSERT_TRUE(got.ok()) << got.status().message();
}

std::optional<state::Lease> Held(const std::string& path) {
  auto store = Open(path);
  auto held = store->ReadLease();
  EXPECT_TRUE(held.ok());
  return held.ok() ? *held : std::nullopt;
}

class StateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.Join("tree/.otaroll/state.db");
    Fill(*Open(state_));
  }
  TempDir dir_;
  std::string state_;
};

using StatusCli = StateCliTest;
using HistoryCli = StateCliTest;
using StateCli = StateCliTest;

// ---------------------------------------------------------------------------
// status

TEST_F(StatusCli, ShowsEveryStageOfEveryRollout) {
  const std::string before = core::Sha256Hex(ReadFile(state_));
  RunResult r = Otaroll({"status", "--state", state_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "rollout sensor.v2\n"
            "  STAGE  STATE                 JOBS                 CREATED               ATTEMPTS    DEVICES  "
            "LAST ERROR\n"
            "  vip    1 pending, 1 created  1000000000000000003  2026-11-25T10:05:00Z  2 (1 call)  -        -\n"
            "\n"
            "rollout thermostat-2-4-0\n"
            "  STAGE   STATE    JOBS                 CREATED               ATTEMPTS     DEVICES                        "
            "             LAST ERROR\n"
            "  canary  created  1000000000000000002  2026-11-26T08:00:00Z  2 (3 calls)  40/100 succeeded, 58 in "
            "progress, 2 failed  Throttling: retried after throttling\n"
            "  pilot   failed   -                    -                     1 (1 call)   -                              "
            "             iot.ota.InvalidParameter: GrayPercent is out of range\n");
  EXPECT_EQ(core::Sha256Hex(ReadFile(state_)), before);  // status never writes
}

TEST_F(StatusCli, OneRolloutFoundThroughDirOrTheEnvironment) {
  RunResult by_dir = Otaroll({"status", "sensor.v2", "--dir", dir_.Join("tree")});
  EXPECT_EQ(by_dir.exit_code, 0) << by_dir.err;
  EXPECT_EQ(by_dir.out.rfind("rollout sensor.v2\n", 0), 0u) << by_dir.out;
  EXPECT_EQ(by_dir.out.find("thermostat"), std::string::npos) << by_dir.out;

  RunOptions env;
  env.env["OTAROLL_STATE"] = state_;
  RunResult by_env = test_util::Run({kBin, "status", "sensor.v2"}, env);
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  EXPECT_EQ(by_env.out, by_dir.out);

  RunOptions cwd;
  cwd.cwd = dir_.Join("tree");
  cwd.env["OTAROLL_STATE"] = "";
  RunResult here = test_util::Run({kBin, "status", "sensor.v2"}, cwd);
  EXPECT_EQ(here.exit_code, 0) << here.err;
  EXPECT_EQ(here.out, by_dir.out);
}

TEST_F(StatusCli, AnUnknownRolloutIsAnErrorListingTheKnownOnes) {
  RunResult r = Otaroll({"status", "heater", "--state", state_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "otaroll: error: state file " + state_ +
                       " has no rollout heater; known rollouts: sensor.v2, thermostat-2-4-0\n");
}

TEST_F(StatusCli, JsonCarriesEachStageInFull) {
  RunResult r = Otaroll({"status", "thermostat-2-4-0", "--state", state_, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["format_version"], 1);
  EXPECT_EQ(doc["state"], state_);
  EXPECT_EQ(doc["exists"], true);
  EXPECT_GT(doc["serial"].get<int64_t>(), 0);
  ASSERT_EQ(doc["rollouts"].size(), 1u);
  EXPECT_EQ(doc["rollouts"][0]["name"], "thermostat-2-4-0");
  const auto& stages = doc["rollouts"][0]["stages"];
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0], nlohmann::json::parse(R"({
    "name": "canary", "state": "created", "spec_hash": "hash-canary-2", "parts": 1,
    "jobs": [{"part": 0, "attempt_id": 3, "intent_id": "intent-3", "status": "created",
              "job_id": "1000000000000000002", "job_created_at": "2026-11-26T08:00:00Z", "job_status": "IN_PROGRESS"}],
    "created_at": "2026-11-26T08:00:00Z", "attempts": 2, "calls": 3,
    "last_error": {"code": "Throttling", "message": "retried after throttling"},
    "devices": {"observed_at": "2026-11-26T09:00:00Z", "total": 100,
                "counts": {"IN_PROGRESS": 58, "SUCCEEDED": 40, "FAILED": 2}}})"));
  EXPECT_EQ(stages[1]["name"], "pilot");
  EXPECT_EQ(stages[1]["state"], "failed");
  EXPECT_EQ(stages[1]["created_at"], nullptr);
  EXPECT_EQ(stages[1]["devices"], nullptr);
  EXPECT_EQ(stages[1]["last_error"]["code"], "iot.ota.InvalidParameter");

  RunResult split = Otaroll({"status", "sensor.v2", "--state", state_, "--format", "json"});
  auto vip = nlohmann::json::parse(split.out)["rollouts"][0]["stages"][0];
  EXPECT_EQ(vip["state"], "mixed");
  EXPECT_EQ(vip["parts"], 2);
  ASSERT_EQ(vip["jobs"].size(), 2u);
  EXPECT_EQ(vip["jobs"][0]["status"], "pending");
  EXPECT_EQ(vip["jobs"][0]["job_id"], nullptr);
  EXPECT_EQ(vip["jobs"][1]["status"], "created");
}

TEST(StatusCliNoState, AMissingStateFileMeansNothingCreatedYet) {
  TempDir dir;
  RunOptions cwd;
  cwd.cwd = dir.path();
  cwd.env["OTAROLL_STATE"] = "";
  RunResult r = test_util::Run({kBin, "status"}, cwd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "otaroll: no state at .otaroll/state.db: nothing has been created yet\n");
  RunResult h = test_util::Run({kBin, "history"}, cwd);
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(h.out, "otaroll: no state at .otaroll/state.db: nothing has been created yet\n");
  RunResult json = test_util::Run({kBin, "status", "--format", "json"}, cwd);
  EXPECT_EQ(json.out,
            "{\n  \"format_version\": 1,\n  \"state\": \".otaroll/state.db\",\n  \"exists\": false,\n  \"rollouts\": "
            "[]\n}\n");
  EXPECT_TRUE(fs::is_empty(dir.path()));  // nothing was created

  // An initialised but empty state file.
  std::string empty = dir.Join("empty.db");
  Open(empty);
  RunResult none = Otaroll({"status", "--state", empty});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "otaroll: state " + empty + " records no attempts yet: nothing has been created\n");
  RunResult no_events = Otaroll({"history", "--state", empty});
  EXPECT_EQ(no_events.out, "otaroll: state " + empty + " records no events yet\n");
}

TEST_F(StatusCli, ReadsWhileAnotherOtarollHoldsTheLease) {
  HoldLease(state_);
  RunResult r = Otaroll({"status", "--state", state_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  RunResult h = Otaroll({"history", "--state", state_});
  EXPECT_EQ(h.exit_code, 0) << h.err;
  RunResult e = Otaroll({"state", "export", "--state", state_});
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(Held(state_)->token, "tok-other");
}

TEST(StatusCliDamaged, AFileThatIsNotStateIsAClearError) {
  TempDir dir;
  std::string bad = dir.Write("state.db", "not a database, just text\n");
  for (const char* command : {"status", "history"}) {
    RunResult r = Otaroll({command, "--state", bad});
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(r.err, "otaroll: error: state file " + bad +
                         " is not an otaroll state file (not an SQLite database); pass the right --state path or move "
                         "the file away\n")
        << command;
  }
}

// ---------------------------------------------------------------------------
// history

TEST_F(HistoryCli, ListsEveryEventInOrder) {
  RunResult r = Otaroll({"history", "--state", state_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "SEQ  AT                    ROLLOUT/STAGE            KIND     MESSAGE\n"
            "1    2026-11-25T10:00:00Z  thermostat-2-4-0/canary  intent   wrote intent intent-1\n"
            "2    2026-11-25T10:00:01Z  thermostat-2-4-0/canary  created  created job 1000000000000000001\n"
            "3    2026-11-25T10:00:02Z  -                        lease    took over the lease of pid 12 on host a\n"
            "4    2026-11-25T10:05:00Z  sensor.v2/vip            created  created job 1000000000000000003\n");
}

TEST_F(HistoryCli, OneRolloutAndAnUnknownOne) {
  RunResult r = Otaroll({"history", "sensor.v2", "--state", state_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "SEQ  AT                    ROLLOUT/STAGE  KIND     MESSAGE\n"
            "4    2026-11-25T10:05:00Z  sensor.v2/vip  created  created job 1000000000000000003\n");
  RunResult unknown = Otaroll({"history", "heater", "--state", state_});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "otaroll: error: state file " + state_ +
                             " has no history of rollout heater; known rollouts: sensor.v2, thermostat-2-4-0\n");
}

TEST_F(HistoryCli, Json) {
  RunResult r = Otaroll({"history", "thermostat-2-4-0", "--state", state_, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["format_version"], 1);
  EXPECT_EQ(doc["rollout"], "thermostat-2-4-0");
  ASSERT_EQ(doc["events"].size(), 2u);
  EXPECT_EQ(doc["events"][0], nlohmann::json::parse(R"({"seq": 1, "at": "2026-11-25T10:00:00Z",
    "rollout": "thermostat-2-4-0", "stage": "canary", "attempt_id": null, "kind": "intent",
    "message": "wrote intent intent-1", "data": {"intent": "intent-1"}})"));
  EXPECT_EQ(doc["events"][1]["data"], nlohmann::json::object());
}

// ---------------------------------------------------------------------------
// state export | import

TEST_F(StateCli, ExportImportExportRoundTrips) {
  RunResult printed = Otaroll({"state", "export", "--state", state_});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const std::string file = dir_.Join("backup.json");
  RunResult written = Otaroll({"state", "export", "--state", state_, "--out", file});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const int64_t serial = nlohmann::json::parse(printed.out)["serial"];
  EXPECT_EQ(written.out, "otaroll: exported " + state_ + " (serial " + std::to_string(serial) +
                             ": 2 rollouts, 5 attempts, 2 observations and 4 events) to " + file + "\n");
  EXPECT_EQ(ReadFile(file), printed.out);

  const std::string copy = dir_.Join("copy/state.db");
  RunResult imported = Otaroll({"state", "import", file, "--state", copy});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(imported.out,
            "otaroll: imported " + file + " into " + copy + ": 2 rollouts, 5 attempts, 2 observations and 4 events\n");
  EXPECT_FALSE(Held(copy).has_value());  // the import's own lease was released

  RunResult again = Otaroll({"state", "export", "--state", copy});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto a = nlohmann::ordered_json::parse(printed.out), b = nlohmann::ordered_json::parse(again.out);
  a.erase("serial");
  b.erase("serial");
  EXPECT_EQ(a.dump(2), b.dump(2));
  EXPECT_EQ(Otaroll({"status", "--state", copy}).out, Otaroll({"status", "--state", state_}).out);
  EXPECT_EQ(Otaroll({"history", "--state", copy}).out, Otaroll({"history", "--state", state_}).out);

  // From standard input, into yet another file.
  RunResult piped =
      test_util::Run({"/bin/sh", "-c", kBin + " state import - --state " + dir_.Join("p.db") + " < " + file});
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, "otaroll: imported standard input into " + dir_.Join("p.db") +
                           ": 2 rollouts, 5 attempts, 2 observations and 4 events\n");
}

TEST_F(StateCli, ImportRefusesAFileThatHoldsStateAndABadExport) {
  const std::string file = dir_.Join("backup.json");
  ASSERT_EQ(Otaroll({"state", "export", "--state", state_, "--out", file}).exit_code, 0);
  RunResult into_itself = Otaroll({"state", "import", file, "--state", state_});
  EXPECT_EQ(into_itself.exit_code, 1);
  EXPECT_EQ(into_itself.out, "");
  EXPECT_EQ(into_itself.err, "otaroll: error: cannot import " + file + " into state file " + state_ +
                                 ": it already holds 2 rollouts, 5 attempts, 2 observations and 4 events; import only "
                                 "into a new state file (pass a path that does not exist yet with --state)\n");
  EXPECT_FALSE(Held(state_).has_value());

  const std::string bad = dir_.Write("bad.json", "{\"format_version\": 1, \"schema_version\": 1, \"rollouts\": 3}");
  RunResult r = Otaroll({"state", "import", bad, "--state", dir_.Join("new.db")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "otaroll: error: cannot import " + bad +
                       ": rollouts must be a JSON array; import a file written by 'otaroll state export'\n");

  RunResult missing = Otaroll({"state", "import", dir_.Join("nope.json"), "--state", dir_.Join("new2.db")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "otaroll: error: cannot read " + dir_.Join("nope.json") +
                             " (No such file or directory); pass the path of a file written by 'otaroll state "
                             "export'\n");
  EXPECT_FALSE(fs::exists(dir_.Join("new2.db")));
}

TEST_F(StateCli, ExportOfAMissingStateFileIsAnErrorAndCreatesNothing) {
  const std::string missing = dir_.Join("none/state.db");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"state", "export"}, std::vector<std::string>{"state", "mv", "a", "b"},
        std::vector<std::string>{"state", "force-unlock"}}) {
    args.push_back("--state");
    args.push_back(missing);
    RunResult r = Otaroll(args);
    EXPECT_EQ(r.exit_code, 1) << args[1];
    EXPECT_EQ(r.err, "otaroll: error: state file " + missing +
                         " does not exist; pass the path of an existing state file with --state\n")
        << args[1];
  }
  EXPECT_FALSE(fs::exists(dir_.Join("none")));
  RunResult unwritable = Otaroll({"state", "export", "--state", state_, "--out", dir_.Join("no/dir/x.json")});
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_EQ(unwritable.err, "otaroll: error: cannot write the export to " + dir_.Join("no/dir/x.json") +
                                " (No such file or directory); check the path and its permissions\n");
}

// ---------------------------------------------------------------------------
// state mv

TEST_F(StateCli, MvRenamesARolloutAndRecordsIt) {
  RunResult r = Otaroll({"state", "mv", "thermostat-2-4-0", "thermostat", "--state", state_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "otaroll: renamed rollout thermostat-2-4-0 to thermostat in " + state_ + " (3 attempts)\n");
  EXPECT_FALSE(Held(state_).has_value());
  RunResult status = Otaroll({"status", "thermostat", "--state", state_});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("  canary  created"), std::string::npos) << status.out;
  RunResult history = Otaroll({"history", "thermostat", "--state", state_, "--format", "json"});
  auto events = nlohmann::json::parse(history.out)["events"];
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2]["kind"], "renamed");
  EXPECT_EQ(events[2]["message"], "rollout thermostat-2-4-0 was renamed to thermostat (otaroll state mv)");
  EXPECT_EQ(events[2]["data"], nlohmann::json::parse(R"({"from": "thermostat-2-4-0", "to": "thermostat"})"));
  EXPECT_EQ(Otaroll({"status", "thermostat-2-4-0", "--state", state_}).exit_code, 1);
}

TEST_F(StateCli, MvRefusesWhatItCannotDo) {
  RunResult taken = Otaroll({"state", "mv", "sensor.v2", "thermostat-2-4-0", "--state", state_});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_EQ(taken.err, "otaroll: error: cannot rename rollout sensor.v2 to thermostat-2-4-0 in state file " + state_ +
                           ": a rollout thermostat-2-4-0 is already recorded; choose another name\n");
  RunResult missing = Otaroll({"state", "mv", "heater", "heater-2", "--state", state_});
  EXPECT_EQ(missing.err, "otaroll: error: state file " + state_ +
                             " has no rollout heater to rename; known rollouts: sensor.v2, thermostat-2-4-0\n");
  RunResult invalid = Otaroll({"state", "mv", "sensor.v2", "Sensor", "--state", state_});
  EXPECT_EQ(invalid.err, "otaroll: error: cannot rename rollout sensor.v2 to \"Sensor\" in state file " + state_ +
                             ": that is not a rollout name; use 1 to 63 lowercase letters, digits, '-' and '.', "
                             "starting and ending with a letter or digit\n");
  RunResult one_arg = Otaroll({"state", "mv", "sensor.v2", "--state", state_});
  EXPECT_EQ(one_arg.exit_code, 1);
  EXPECT_EQ(one_arg.err.rfind("otaroll: error: ", 0), 0u);
  EXPECT_FALSE(Held(state_).has_value());
}

// ---------------------------------------------------------------------------
// the lease around state writes, and force-unlock

TEST_F(StateCli, WritersRefuseWhileTheLeaseIsHeldAndForceUnlockFreesIt) {
  HoldLease(state_);
  const std::string before = Otaroll({"state", "export", "--state", state_}).out;
  const std::string locked = "otaroll: error: " + state_ +
                             " is locked by another otaroll (pid 4242 on host other-host since "
                             "2100-01-01T00:00:00Z, last heartbeat 0s ago); wait for it to finish, or run 'otaroll "
                             "state force-unlock' if it is gone\n";
  RunResult mv = Otaroll({"state", "mv", "sensor.v2", "sensor-v2", "--state", state_});
  EXPECT_EQ(mv.exit_code, 1);
  EXPECT_EQ(mv.out, "");
  EXPECT_EQ(mv.err, locked);

  // An import into a file another otaroll holds is refused the same way.
  const std::string empty = dir_.Join("empty.db");
  HoldLease(empty);
  const std::string file = dir_.Write("backup.json", before);
  RunResult imported = Otaroll({"state", "import", file, "--state", empty});
  EXPECT_EQ(imported.exit_code, 1);
  EXPECT_EQ(imported.err, "otaroll: error: " + empty +
                              " is locked by another otaroll (pid 4242 on host other-host since "
                              "2100-01-01T00:00:00Z, last heartbeat 0s ago); wait for it to finish, or run 'otaroll "
                              "state force-unlock' if it is gone\n");
  EXPECT_EQ(Otaroll({"state", "export", "--state", state_}).out, before);  // nothing changed

  RunResult unlock = Otaroll({"state", "force-unlock", "--state", state_});
  EXPECT_EQ(unlock.exit_code, 0) << unlock.err;
  EXPECT_EQ(unlock.out,
            "otaroll: removed the lease of pid 4242 on host other-host (since 2100-01-01T00:00:00Z, last heartbeat 0s "
            "ago)\n");
  EXPECT_FALSE(Held(state_).has_value());
  RunResult again = Otaroll({"state", "force-unlock", "--state", state_});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, "otaroll: " + state_ + " is not locked\n");

  RunResult now_mv = Otaroll({"state", "mv", "sensor.v2", "sensor-v2", "--state", state_});
  EXPECT_EQ(now_mv.exit_code, 0) << now_mv.err;
  // force-unlock is coordination, not history: the serial moved only for mv
  // (the rollout, its 2 attempts, its 1 event, and the "renamed" event).
  EXPECT_EQ(nlohmann::json::parse(Otaroll({"state", "export", "--state", state_}).out)["serial"].get<int64_t>(),
            nlohmann::json::parse(before)["serial"].get<int64_t>() + 5);
}

TEST_F(StateCli, AWriterTakesOverTheLeaseOfAnOtarollThatIsGone) {
  // A lease left by a process of this host that has exited.
  test_util::Child exited({"/bin/true"}, {});
  exited.Wait();
  const pid_t child = exited.pid();
  {
    auto store = Open(state_);
    state::Lease gone;
    gone.host = state::LocalHostName();
    gone.pid = child;
    gone.token = "tok-gone";
    ASSERT_TRUE(store->AcquireLease(gone, core::SystemClock().Now()).ok());
  }
  RunResult mv = Otaroll({"state", "mv", "sensor.v2", "sensor-v2", "--state", state_});
  EXPECT_EQ(mv.exit_code, 0) << mv.err;
  EXPECT_FALSE(Held(state_).has_value());
}

TEST(StateCliHelp, EveryCommandHasHelp) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"status", "--help"}, std::vector<std::string>{"history", "--help"},
        std::vector<std::string>{"state", "--help"}, std::vector<std::string>{"state", "export", "--help"},
        std::vector<std::string>{"state", "import", "--help"}, std::vector<std::string>{"state", "mv", "--help"},
        std::vector<std::string>{"state", "force-unlock", "--help"}}) {
    RunResult r = Otaroll(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1];
    const bool leaf = args[0] != "state" || args[1] != "--help";
    EXPECT_NE(r.out.find(leaf ? "--state" : "force-unlock"), std::string::npos) << r.out;
  }
  RunResult none = Otaroll({"state"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err.rfind("otaroll: error: ", 0), 0u) << none.err;
}

}  // namespace
}  // namespace otaroll
