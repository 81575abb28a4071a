// `otaroll state export|import|mv` at the store level: the export document,
// the export → import → export round trip, what import refuses, and renaming
// a rollout.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "core/names.h"
#include "state/request.h"
#include "state/sqlite_store.h"
#include "state_test_util.h"

namespace otaroll::state {
namespace {

using testing::PendingAttempt;
using testing::RawDb;
using testing::T;

class ExportTest : public testing::StateTest {
 protected:
  std::unique_ptr<SqliteStore> Open(const std::string& path) {
    auto store = SqliteStore::Open(path);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static void AddEvent(SqliteStore& store, const std::string& at, const std::string& rollout, const std::string& stage,
                       std::optional<int64_t> attempt, const std::string& kind, const std::string& message,
                       const std::string& data) {
    Event e;
    e.at = T(at.c_str());
    e.rollout = rollout;
    e.stage = stage;
    e.attempt_id = attempt;
    e.kind = kind;
    e.message = message;
    e.data_json = data;
    ASSERT_TRUE(store.AppendEvent(e).ok());
  }

  // Every kind of row and every kind of field value: NULLs, a superseded
  // attempt (pointing at a later id), a split stage, unicode, observations
  // out of order, events about the whole file, a held lease.
  void Fill(SqliteStore& store) {
    ASSERT_TRUE(store.UpsertRollout("thermostat-2-4-0", "k1", "178", T("2026-11-20T09:00:00Z")).ok());
    ASSERT_TRUE(store.UpsertRollout("thermostat-2-4-0", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
    ASSERT_TRUE(store.UpsertRollout("sensor.v2", "k2", "9", T("2026-11-21T09:00:00Z")).ok());

    Attempt old = PendingAttempt("intent-1", "thermostat-2-4-0", "canary");
    old.status = AttemptStatus::kCreated;
    old.job_id = "1000000000000000001";
    old.job_created_at = T("2026-11-25T10:00:01.5Z");
    old.job_status = "IN_PROGRESS";
    old.request_id = "REQ-1";
    old.attempt_count = 1;
    old.updated_at = T("2026-11-25T10:00:02Z");
    auto old_id = store.InsertAttempt(old);
    ASSERT_TRUE(old_id.ok());

    Attempt failed = PendingAttempt("intent-2", "thermostat-2-4-0", "pilot");
    failed.status = AttemptStatus::kFailed;
    failed.error_code = "iot.ota.InvalidParameter";
    failed.error_message = "GrayPercent is out of range — «100»";
    failed.attempt_count = 3;
    ASSERT_TRUE(store.InsertAttempt(failed).ok());

    Attempt replacement = PendingAttempt("intent-3", "thermostat-2-4-0", "canary");
    replacement.spec_hash = "hash-canary-2";
    replacement.status = AttemptStatus::kCreated;
    replacement.job_id = "1000000000000000002";
    replacement.job_created_at = T("2026-11-26T08:00:00Z");
    replacement.attempt_count = 2;
    replacement.error_code = "Throttling";
    replacement.error_message = "retried after throttling";
    replacement.created_at = T("2026-11-26T07:59:59.999Z");
    replacement.updated_at = T("2026-11-26T08:00:01Z");
    auto new_id = store.InsertAttempt(replacement);
    ASSERT_TRUE(new_id.ok());
    ASSERT_TRUE(store.MarkSuperseded(*old_id, *new_id).ok());

    for (int part = 0; part < 2; ++part) {
      Attempt split = PendingAttempt("intent-vip-" + std::to_string(part), "sensor.v2", "vip");
      split.part = part;
      split.parts = 2;
      split.request =
          state::RequestText({{"TargetSelection", "SPECIFIC"}, {"TargetDeviceName.1", "dev-" + std::to_string(part)}});
      if (part == 1) split.status = AttemptStatus::kUnknown;
      ASSERT_TRUE(store.InsertAttempt(split).ok());
    }

    Observation o;
    o.job_id = "1000000000000000002";
    o.observed_at = T("2026-11-26T09:00:00.239Z");
    o.total = 100;
    o.by_status = {{"SUCCEEDED", 40}, {"FAILED", 2}, {"IN_PROGRESS", 58}};
    ASSERT_TRUE(store.AddObservation(o).ok());
    o.observed_at = T("2026-11-26T08:30:00Z");  // recorded later, observed earlier
    o.by_status = {{"QUEUED", 100}};
    ASSERT_TRUE(store.AddObservation(o).ok());

    AddEvent(store, "2026-11-25T10:00:00Z", "thermostat-2-4-0", "canary", *old_id, "intent", "wrote the intent",
             R"({"intent": "intent-1", "b": 1, "a": [1, 2.5, null]})");
    AddEvent(store, "2026-11-25T10:00:02Z", "", "", std::nullopt, "lease", "took the lease", "");
    AddEvent(store, "2026-11-26T08:00:01Z", "thermostat-2-4-0", "canary", *new_id, "created", "created job 2", "[1,2]");

    Lease me;
    me.host = "host-a";
    me.pid = 7;
    me.token = "tok";
    ASSERT_TRUE(store.AcquireLease(me, T("2026-11-26T09:00:00Z")).ok());
  }

  static std::string WithoutSerial(const std::string& json) {
    auto doc = nlohmann::ordered_json::parse(json);
    doc.erase("serial");
    return doc.dump(2);
  }
};

TEST_F(ExportTest, TheExportDocumentHasEveryFieldInAStableShape) {
  const std::string path = Path("state.db");
  {
    auto store = Open(path);
    ASSERT_TRUE(store->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
    Attempt a = PendingAttempt("intent-1", "r1", "canary");
    a.status = AttemptStatus::kCreated;
    a.job_id = "J1";
    a.job_created_at = T("2026-11-25T10:00:01.5Z");
    a.attempt_count = 1;
    ASSERT_TRUE(store->InsertAttempt(a).ok());
    Observation o;
    o.job_id = "J1";
    o.observed_at = T("2026-11-25T11:00:00Z");
    o.total = 10;
    o.by_status = {{"SUCCEEDED", 4}, {"QUEUED", 6}};
    ASSERT_TRUE(store->AddObservation(o).ok());
    AddEvent(*store, "2026-11-25T10:00:02Z", "r1", "canary", 1, "created", "created job J1", R"({"job":"J1"})");
  }
  const std::string before = HashFile(path);
  auto exported = ExportState(path);
  ASSERT_TRUE(exported.ok()) << exported.status().message();
  EXPECT_EQ(exported->serial, 4);
  EXPECT_EQ(DescribeCounts(exported->counts), "1 rollout, 1 attempt, 1 observation and 1 event");
  EXPECT_EQ(exported->json, R"({
  "format_version": 1,
  "schema_version": 3,
  "serial": 4,
  "rollouts": [
    {
      "name": "r1",
      "product_key": "k1",
      "firmware_id": "178",
      "first_seen": "2026-11-25T09:00:00Z",
      "last_seen": "2026-11-25T09:00:00Z"
    }
  ],
  "attempts": [
    {
      "id": 1,
      "intent_id": "intent-1",
      "rollout": "r1",
      "stage": "canary",
      "part": 0,
      "parts": 1,
      "spec_hash": "hash-canary",
      "request": {
        "FirmwareId": "178",
        "GrayPercent": "10",
        "ProductKey": "k1",
        "TargetSelection": "GRAY"
      },
      "status": "created",
      "job_id": "J1",
      "job_created_at": "2026-11-25T10:00:01.500Z",
      "job_status": null,
      "request_id": null,
      "error_code": null,
      "error_message": null,
      "attempt_count": 1,
      "created_at": "2026-11-25T10:00:00Z",
      "updated_at": "2026-11-25T10:00:00Z",
      "superseded_by": null
    }
  ],
  "observations": [
    {
      "id": 1,
      "job_id": "J1",
      "observed_at": "2026-11-25T11:00:00Z",
      "total": 10,
      "counts": {
        "CONFIRM": 0,
        "QUEUED": 6,
        "NOTIFIED": 0,
        "IN_PROGRESS": 0,
        "SUCCEEDED": 4,
        "FAILED": 0,
        "CANCELED": 0
      }
    }
  ],
  "events": [
    {
      "seq": 1,
      "at": "2026-11-25T10:00:02Z",
      "rollout": "r1",
      "stage": "canary",
      "attempt_id": 1,
      "kind": "created",
      "message": "created job J1",
      "data": {
        "job": "J1"
      }
    }
  ]
}
)");
  EXPECT_EQ(HashFile(path), before);  // export only reads
}

TEST_F(ExportTest, ExportImportExportIsIdenticalExceptTheSerial) {
  const std::string from = Path("from.db"), to = Path("to.db");
  auto source = Open(from);
  Fill(*source);
  auto first = ExportState(from);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(DescribeCounts(first->counts), "2 rollouts, 5 attempts, 2 observations and 3 events");

  auto target = Open(to);
  auto imported = target->Import(first->json, "backup.json");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(DescribeCounts(*imported), "2 rollouts, 5 attempts, 2 observations and 3 events");
  auto second = ExportState(to);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(WithoutSerial(second->json), WithoutSerial(first->json));
  EXPECT_NE(second->serial, 0);

  // What the planner reads is the same, and the lease did not travel.
  auto a = LoadSnapshot(from), b = LoadSnapshot(to);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->attempts.size(), b->attempts.size());
  for (size_t i = 0; i < a->attempts.size(); ++i) {
    EXPECT_EQ(a->attempts[i].id, b->attempts[i].id);
    EXPECT_EQ(a->attempts[i].intent_id, b->attempts[i].intent_id);
    EXPECT_EQ(a->attempts[i].job_id, b->attempts[i].job_id);
    EXPECT_EQ(a->attempts[i].job_created_at, b->attempts[i].job_created_at);
    EXPECT_EQ(a->attempts[i].superseded_by, b->attempts[i].superseded_by);
    EXPECT_EQ(a->attempts[i].request, b->attempts[i].request);
    EXPECT_EQ(a->attempts[i].updated_at, b->attempts[i].updated_at);
  }
  ASSERT_EQ(b->observations.size(), 1u);
  EXPECT_EQ(b->observations.at("1000000000000000002").observed_at, T("2026-11-26T09:00:00.239Z"));
  EXPECT_EQ(b->observations.at("1000000000000000002").Count("SUCCEEDED"), 40);
  auto lease = target->ReadLease();
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->has_value());
  RawDb raw(to), raw_from(from);
  EXPECT_EQ(raw.Int("SELECT observed_ms FROM observations WHERE id = 1"),
            raw_from.Int("SELECT observed_ms FROM observations WHERE id = 1"));
  EXPECT_EQ(raw.Text("SELECT data_json FROM events WHERE seq = 1"), R"({"intent":"intent-1","b":1,"a":[1,2.5,null]})");

  // New rows continue after the imported ones.
  AddEvent(*target, "2026-11-27T00:00:00Z", "", "", std::nullopt, "note", "after the import", "");
  auto events = target->Events("");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->back().seq, 4);
  auto next = target->InsertAttempt(PendingAttempt("intent-next", "sensor.v2", "all"));
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(*next, 6);
}

TEST_F(ExportTest, ExportingAMissingOrEmptyFile) {
  auto missing = ExportState(Path("missing.db"));
  EXPECT_EQ(missing.status().code(), core::Status::Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "state file " + Path("missing.db") +
                                            " does not exist; pass the path of an existing state file with --state");
  EXPECT_EQ(Listing(), std::set<std::string>{});  // nothing created

  WriteBytes(Path("empty.db"), "");
  auto empty = ExportState(Path("empty.db"));
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->json,
            "{\n  \"format_version\": 1,\n  \"schema_version\": 3,\n  \"serial\": 0,\n  \"rollouts\": [],\n  "
            "\"attempts\": [],\n  \"observations\": [],\n  \"events\": []\n}\n");
  // ... which imports into another empty file.
  auto store = Open(Path("again.db"));
  auto imported = store->Import(empty->json, "empty.json");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(DescribeCounts(*imported), "nothing");
}

TEST_F(ExportTest, ImportRefusesAStateFileThatAlreadyHoldsSomething) {
  auto source = Open(Path("from.db"));
  Fill(*source);
  auto exported = ExportState(Path("from.db"));
  ASSERT_TRUE(exported.ok());
  auto s = source->Import(exported->json, "backup.json");
  EXPECT_EQ(s.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(s.status().message(), "cannot import backup.json into state file " + Path("from.db") +
                                      ": it already holds 2 rollouts, 5 attempts, 2 observations and 3 events; "
                                      "import only into a new state file (pass a path that does not exist yet with "
                                      "--state)");

  // A rollout alone is enough to refuse.
  auto other = Open(Path("other.db"));
  ASSERT_TRUE(other->UpsertRollout("r9", "k", "1", T("2026-11-25T09:00:00Z")).ok());
  auto one = other->Import(exported->json, "backup.json");
  EXPECT_EQ(one.status().message(), "cannot import backup.json into state file " + Path("other.db") +
                                        ": it already holds 1 rollout; import only into a new state file (pass a "
                                        "path that does not exist yet with --state)");
}

TEST_F(ExportTest, ImportNamesWhatIsWrongAndChangesNothing) {
  auto source = Open(Path("from.db"));
  Fill(*source);
  auto exported = ExportState(Path("from.db"));
  ASSERT_TRUE(exported.ok());
  const auto good = nlohmann::ordered_json::parse(exported->json);
  const std::string to = Path("to.db");
  auto target = Open(to);

  auto import = [&](const std::string& text) { return target->Import(text, "b.json").status(); };
  auto edited = [&](const std::function<void(nlohmann::ordered_json&)>& edit) {
    auto doc = good;
    edit(doc);
    return import(doc.dump());
  };
  const std::string tail = "; import a file written by 'otaroll state export'";

  EXPECT_EQ(import("{\n  \"format_version\": 1,\n  oops\n}").message(),
            "cannot import b.json: it is not valid JSON (at line 3, column 3)" + tail);
  EXPECT_EQ(import("[]").message(), "cannot import b.json: the file must be a JSON object" + tail);
  EXPECT_EQ(import("{}").message(), "cannot import b.json: format_version is missing" + tail);
  auto v2 = edited([](auto& d) { d["format_version"] = 2; });
  EXPECT_EQ(v2.code(), core::Status::Code::kUnsupported);
  EXPECT_EQ(v2.message(),
            "cannot import b.json: it has format_version 2 and this otaroll reads format_version 1; upgrade otaroll");
  EXPECT_EQ(edited([](auto& d) { d["schema_version"] = 7; }).message(),
            "cannot import b.json: it was exported from schema version 7 and this otaroll knows 3; upgrade otaroll");
  EXPECT_EQ(edited([](auto& d) { d.erase("events"); }).message(), "cannot import b.json: events is missing" + tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][2]["status"] = "done"; }).message(),
            "cannot import b.json: attempts[2].status \"done\" is not one of pending, created, failed, unknown, "
            "superseded, cancelled" +
                tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][0]["created_at"] = "yesterday"; }).message(),
            "cannot import b.json: attempts[0].created_at must be an RFC 3339 time" + tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][0]["part"] = "0"; }).message(),
            "cannot import b.json: attempts[0].part must be an integer" + tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][0]["request"]["GrayPercent"] = 10; }).message(),
            "cannot import b.json: attempts[0].request.GrayPercent must be a string" + tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][1]["rollout"] = "nope"; }).message(),
            "cannot import b.json: attempts[1].rollout \"nope\" is not among the rollouts of the file" + tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][0]["superseded_by"] = 99; }).message(),
            "cannot import b.json: attempts[0].superseded_by 99 is not the id of an attempt in the file" + tail);
  EXPECT_EQ(edited([](auto& d) { d["events"][0]["attempt_id"] = 99; }).message(),
            "cannot import b.json: events[0].attempt_id 99 is not the id of an attempt in the file" + tail);
  EXPECT_EQ(edited([](auto& d) { d["rollouts"][1]["name"] = "Bad Name"; }).message(),
            "cannot import b.json: rollouts[1].name \"Bad Name\" is not a rollout name" + tail);
  EXPECT_EQ(edited([](auto& d) { d["observations"][0]["counts"]["LOST"] = 1; }).message(),
            "cannot import b.json: observations[0].counts names the unknown task status LOST" + tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][0]["request"]["Signature"] = "x"; }).message(),
            "attempt intent-1 for state file " + to +
                " carries the call parameter Signature; record only the job's own parameters");
  // What only the schema can see: two attempts with one job id.
  EXPECT_EQ(edited([](auto& d) { d["attempts"][2]["job_id"] = d["attempts"][0]["job_id"]; }).message(),
            "cannot import b.json: attempts[2] breaks a rule of the state file (UNIQUE constraint failed: "
            "attempts.job_id)" +
                tail);
  EXPECT_EQ(edited([](auto& d) { d["attempts"][1]["status"] = "created"; }).message(),
            "cannot import b.json: attempts[1] breaks a rule of the state file (CHECK constraint failed: status NOT "
            "IN ('created', 'superseded', 'cancelled') OR job_id IS NOT NULL)" +
                tail);

  auto snap = target->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->attempts.empty());
  EXPECT_EQ(snap->serial, 0);
  // ... and after all that, the good file still imports.
  EXPECT_TRUE(import(exported->json).ok());
}

class RenameTest : public ExportTest {
 protected:
  void SetUp() override {
    ExportTest::SetUp();
    path_ = Path("state.db");
    store_ = Open(path_);
    Fill(*store_);
  }
  void TearDown() override {
    store_.reset();
    ExportTest::TearDown();
  }
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(RenameTest, RenamingMovesAttemptsAndHistoryAndRecordsIt) {
  const int64_t serial = store_->Load()->serial;
  auto moved = store_->RenameRollout("thermostat-2-4-0", "thermostat-2-4-1", T("2026-11-27T00:00:00Z"));
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  EXPECT_EQ(*moved, 3);

  auto snap = store_->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_GT(snap->serial, serial);
  int renamed = 0;
  for (const Attempt& a : snap->attempts) {
    EXPECT_NE(a.rollout, "thermostat-2-4-0");
    renamed += a.rollout == "thermostat-2-4-1";
  }
  EXPECT_EQ(renamed, 3);
  auto rollouts = store_->Rollouts();
  ASSERT_TRUE(rollouts.ok());
  ASSERT_EQ(rollouts->size(), 2u);
  EXPECT_EQ((*rollouts)[1].name, "thermostat-2-4-1");
  EXPECT_EQ((*rollouts)[1].first_seen, T("2026-11-20T09:00:00Z"));

  EXPECT_TRUE(store_->Events("thermostat-2-4-0")->empty());
  auto events = store_->Events("thermostat-2-4-1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  const Event& last = events->back();
  EXPECT_EQ(last.kind, "renamed");
  EXPECT_EQ(last.at, T("2026-11-27T00:00:00Z"));
  EXPECT_EQ(last.stage, "");
  EXPECT_EQ(last.message, "rollout thermostat-2-4-0 was renamed to thermostat-2-4-1 (otaroll state mv)");
  EXPECT_EQ(last.data_json, R"({"from":"thermostat-2-4-0","to":"thermostat-2-4-1"})");

  // The other rollout and the whole-file event are untouched.
  EXPECT_EQ(store_->Events("")->size(), 4u);
  EXPECT_EQ(store_->Events("sensor.v2")->size(), 0u);
}

TEST_F(RenameTest, RenamingRefusesABadNewNameAMissingOldOneAndATakenOne) {
  const int64_t serial = store_->Load()->serial;
  auto bad = store_->RenameRollout("sensor.v2", "Sensor_V2", T("2026-11-27T00:00:00Z"));
  EXPECT_EQ(bad.status().code(), core::Status::Code::kInvalid);
  EXPECT_EQ(bad.status().message(),
            "cannot rename rollout sensor.v2 to \"Sensor_V2\" in state file " + path_ +
                ": that is not a rollout name; use 1 to 63 lowercase letters, digits, '-' and '.', starting and ending "
                "with a letter or digit");
  EXPECT_FALSE(store_->RenameRollout("sensor.v2", "-x", T("2026-11-27T00:00:00Z")).ok());
  EXPECT_FALSE(store_->RenameRollout("sensor.v2", std::string(64, 'a'), T("2026-11-27T00:00:00Z")).ok());
  EXPECT_FALSE(store_->RenameRollout("sensor.v2", "", T("2026-11-27T00:00:00Z")).ok());

  auto missing = store_->RenameRollout("heater", "heater-2", T("2026-11-27T00:00:00Z"));
  EXPECT_EQ(missing.status().code(), core::Status::Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "state file " + path_ +
                                            " has no rollout heater to rename; known rollouts: sensor.v2, "
                                            "thermostat-2-4-0");

  auto taken = store_->RenameRollout("sensor.v2", "thermostat-2-4-0", T("2026-11-27T00:00:00Z"));
  EXPECT_EQ(taken.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(taken.status().message(), "cannot rename rollout sensor.v2 to thermostat-2-4-0 in state file " + path_ +
                                          ": a rollout thermostat-2-4-0 is already recorded; choose another name");
  EXPECT_EQ(store_->Load()->serial, serial);
}

TEST_F(RenameTest, AnUnknownRolloutListsAtMostTenKnownOnes) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(store_->UpsertRollout(fmt::format("r{:02}", i), "k", "1", T("2026-11-25T09:00:00Z")).ok());
  }
  auto missing = store_->RenameRollout("heater", "heater-2", T("2026-11-27T00:00:00Z"));
  EXPECT_EQ(missing.status().message(), "state file " + path_ +
                                            " has no rollout heater to rename; known rollouts: r00, r01, r02, r03, "
                                            "r04, r05, r06, r07, r08, r09 and 4 more");
}

TEST(RolloutName, FollowsTheManifestRule) {
  for (const char* ok : {"a", "r1", "thermostat-2-4-0", "sensor.v2", "0"}) EXPECT_TRUE(core::IsName(ok)) << ok;
  for (const char* bad : {"", "-a", "a-", ".a", "a.", "A", "a_b", "a b", "ü"}) EXPECT_FALSE(core::IsName(bad)) << bad;
  EXPECT_TRUE(core::IsName(std::string(63, 'a')));
  EXPECT_FALSE(core::IsName(std::string(64, 'a')));
}

}  // namespace
}  // namespace otaroll::state
