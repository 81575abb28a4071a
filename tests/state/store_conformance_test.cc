// The store conformance suite (store.h's contract): attempts, observations,
// events, transactions and the intent fence, run against every backend. The
// lease's part is in lease_test.cc; what only a SQLite file has (triggers,
// other processes' locks, files on disk) is in sqlite_store_test.cc and the
// other tests of this folder.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "state/request.h"
#include "store_fixture.h"

namespace otaroll::state {
namespace {

using testing::Backend;
using testing::Holder;
using testing::PendingAttempt;
using testing::T;

class StoreConformance : public testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
  }

  // A created attempt of r1/canary with job `job`.
  int64_t InsertCreated(const std::string& intent, const std::string& job, core::Time at) {
    Attempt a = PendingAttempt(intent, "r1", "canary");
    a.status = AttemptStatus::kCreated;
    a.job_id = job;
    a.job_created_at = at;
    a.updated_at = at;
    return Insert(a);
  }

  static void ExpectSameAttempt(const Attempt& got, const Attempt& want) {
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.intent_id, want.intent_id);
    EXPECT_EQ(got.rollout, want.rollout);
    EXPECT_EQ(got.stage, want.stage);
    EXPECT_EQ(got.part, want.part);
    EXPECT_EQ(got.parts, want.parts);
    EXPECT_EQ(got.spec_hash, want.spec_hash);
    EXPECT_EQ(got.request, want.request);
    EXPECT_EQ(got.status, want.status);
    EXPECT_EQ(got.job_id, want.job_id);
    EXPECT_EQ(got.job_created_at, want.job_created_at);
    EXPECT_EQ(got.job_status, want.job_status);
    EXPECT_EQ(got.request_id, want.request_id);
    EXPECT_EQ(got.error_code, want.error_code);
    EXPECT_EQ(got.error_message, want.error_message);
    EXPECT_EQ(got.attempt_count, want.attempt_count);
    EXPECT_EQ(got.created_at, want.created_at);
    EXPECT_EQ(got.updated_at, want.updated_at);
    EXPECT_EQ(got.superseded_by, want.superseded_by);
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, testing::kAllBackends, testing::BackendName);

TEST_P(StoreConformance, AttemptRoundTripsEveryField) {
  Attempt a = PendingAttempt("intent-vip-1", "r1", "vip");
  a.part = 1;
  a.parts = 3;
  a.spec_hash = "5f2c";
  a.request = state::RequestText(
      {{"TargetSelection", "SPECIFIC"}, {"TargetDeviceName.1", "dev-201"}, {"Note", "ünïcode \"q\""}});
  a.attempt_count = 1;
  a.created_at = T("2026-11-25T10:00:00.239Z");
  a.updated_at = a.created_at;
  a.id = Insert(a);
  ASSERT_GT(a.id, 0);

  Snapshot snap = Load();
  ASSERT_EQ(snap.attempts.size(), 1u);
  ExpectSameAttempt(snap.attempts[0], a);
  EXPECT_FALSE(snap.attempts[0].job_created_at.has_value());
  EXPECT_FALSE(snap.attempts[0].superseded_by.has_value());

  a.status = AttemptStatus::kCreated;
  a.job_id = "8847329472634";
  a.job_created_at = T("2026-11-25T10:00:01.5Z");
  a.job_status = "IN_PROGRESS";
  a.request_id = "E4A2-11";
  a.error_code = "Throttling";
  a.error_message = "retried after throttling";
  a.attempt_count = 2;
  a.updated_at = T("2026-11-25T10:00:02Z");
  ASSERT_TRUE(store_->UpdateAttempt(a).ok());

  snap = Load();
  ASSERT_EQ(snap.attempts.size(), 1u);
  ExpectSameAttempt(snap.attempts[0], a);

  // Back to "no value": empty text and nullopt round-trip as such.
  a.status = AttemptStatus::kUnknown;
  a.job_id.clear();
  a.job_created_at.reset();
  a.job_status.clear();
  a.request_id.clear();
  a.error_code.clear();
  a.error_message.clear();
  ASSERT_TRUE(store_->UpdateAttempt(a).ok());
  ExpectSameAttempt(Load().attempts.at(0), a);
}

TEST_P(StoreConformance, AttemptsComeBackOrderedById) {
  ASSERT_TRUE(store_->UpsertRollout("r0", "k1", "178", T("2026-11-25T09:00:00Z")).ok());
  int64_t first = Insert(PendingAttempt("b", "r1", "pilot"));
  int64_t second = Insert(PendingAttempt("a", "r0", "canary"));
  Snapshot snap = Load();
  ASSERT_EQ(snap.attempts.size(), 2u);
  EXPECT_EQ(snap.attempts[0].id, first);
  EXPECT_EQ(snap.attempts[1].id, second);
  EXPECT_LT(first, second);
}

TEST_P(StoreConformance, UpdateRefusesAChangedIntentAndAMissingAttempt) {
  Attempt a = PendingAttempt("i1", "r1", "canary");
  a.id = Insert(a);
  Attempt changed = a;
  changed.spec_hash = "other";
  auto s = store_->UpdateAttempt(changed);
  EXPECT_EQ(s.code(), core::Status::Code::kInvalid);
  EXPECT_EQ(s.message(), "attempt 1 in state file " + where_ +
                             " was recorded with a different intent (intent id, rollout, stage, part, spec hash, "
                             "request or created_at); its intent never changes, record a new attempt instead");

  Attempt missing = a;
  missing.id = 99;
  s = store_->UpdateAttempt(missing);
  EXPECT_EQ(s.code(), core::Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "state file " + where_ + " has no attempt 99");
  ExpectSameAttempt(Load().attempts.at(0), a);
}

TEST_P(StoreConformance, InsertRefusesDuplicatesUnknownRolloutsAndCallParameters) {
  Insert(PendingAttempt("i1", "r1", "canary"));
  auto dup = store_->InsertAttempt(PendingAttempt("i1", "r1", "pilot"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), core::Status::Code::kInvalid);
  EXPECT_EQ(dup.status().message(),
            postgres() ? where_ +
                             ": duplicate key value violates unique constraint \"attempts_intent_id_key\" (SQLSTATE "
                             "23505) while recording attempt i1 of r1/pilot"
                       : "state file " + where_ +
                             " refused a change while recording attempt i1 of r1/pilot (UNIQUE constraint failed: "
                             "attempts.intent_id); this is a bug in otaroll, please report it");

  auto orphan = store_->InsertAttempt(PendingAttempt("i2", "nope", "canary"));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.status().code(), core::Status::Code::kInvalid);

  Attempt signed_request = PendingAttempt("i3", "r1", "canary");
  signed_request.request = R"({"GrayPercent":"10","Signature":"abc="})";
  auto refused = store_->InsertAttempt(signed_request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "attempt i3 for state file " + where_ +
                " carries the call parameter Signature; record only the job's own parameters");

  Attempt bad_utf8 = PendingAttempt("i4", "r1", "canary");
  bad_utf8.request = "{\"TargetDeviceName.1\":\"dev-\xff\"}";
  auto not_utf8 = store_->InsertAttempt(bad_utf8);
  ASSERT_FALSE(not_utf8.ok());
  EXPECT_EQ(not_utf8.status().message(),
            "attempt i4 for state file " + where_ +
                " has a request parameter that is not valid UTF-8; fix the manifest value");

  Attempt not_flat = PendingAttempt("i5", "r1", "canary");
  not_flat.request = R"({"RetryCount":2})";
  auto refused_shape = store_->InsertAttempt(not_flat);
  ASSERT_FALSE(refused_shape.ok());
  EXPECT_EQ(refused_shape.status().message(),
            "attempt i5 for state file " + where_ +
                " has a request that is not a JSON object of strings; record the part's flattened parameters "
                "(state::RequestText)");
  EXPECT_EQ(Load().attempts.size(), 1u);
}

TEST_P(StoreConformance, JobIdsAreUnique) {
  InsertCreated("i1", "J1", T("2026-11-25T10:00:00Z"));
  Attempt again = PendingAttempt("i2", "r1", "canary");
  again.status = AttemptStatus::kCreated;
  again.job_id = "J1";
  EXPECT_FALSE(store_->InsertAttempt(again).ok());
}

TEST_P(StoreConformance, MarkSupersededLinksTheReplacement) {
  int64_t old_id = InsertCreated("i1", "J1", T("2026-11-25T10:00:00Z"));
  int64_t new_id = InsertCreated("i2", "J2", T("2026-11-26T08:00:00Z"));
  ASSERT_TRUE(store_->MarkSuperseded(old_id, new_id).ok());
  Snapshot snap = Load();
  ASSERT_EQ(snap.attempts.size(), 2u);
  EXPECT_EQ(snap.attempts[0].status, AttemptStatus::kSuperseded);
  EXPECT_EQ(snap.attempts[0].superseded_by, new_id);
  EXPECT_EQ(snap.attempts[0].updated_at, T("2026-11-26T08:00:00Z"));
  EXPECT_EQ(snap.attempts[0].job_id, "J1");
  EXPECT_EQ(snap.attempts[1].status, AttemptStatus::kCreated);

  auto again = store_->MarkSuperseded(old_id, new_id);
  EXPECT_EQ(again.code(), core::Status::Code::kInvalid);
  EXPECT_EQ(again.message(), "cannot mark attempt 1 superseded by attempt 2 in state file " + where_ +
                                 ": the old one is superseded, not created");
  EXPECT_EQ(store_->MarkSuperseded(new_id, 42).code(), core::Status::Code::kNotFound);
  EXPECT_EQ(store_->MarkSuperseded(new_id, new_id).code(), core::Status::Code::kInvalid);
}

TEST_P(StoreConformance, MarkSupersededNeedsACreatedReplacementOfTheSameStage) {
  int64_t old_id = InsertCreated("i1", "J1", T("2026-11-25T10:00:00Z"));
  Attempt newer = PendingAttempt("i2", "r1", "canary");
  newer.spec_hash = "hash-canary-v2";
  int64_t pending = Insert(newer);
  EXPECT_EQ(store_->MarkSuperseded(old_id, pending).message(),
            "cannot mark attempt 1 superseded by attempt 2 in state file " + where_ +
                ": the new one is pending, not created");
  Attempt other = PendingAttempt("i3", "r1", "pilot");
  other.status = AttemptStatus::kCreated;
  other.job_id = "J3";
  int64_t other_stage = Insert(other);
  EXPECT_EQ(store_->MarkSuperseded(old_id, other_stage).message(),
            "cannot mark attempt 1 superseded by attempt 3 in state file " + where_ +
                ": they belong to different stages (r1/canary and r1/pilot)");
  EXPECT_EQ(Load().attempts.at(0).status, AttemptStatus::kCreated);
}

TEST_P(StoreConformance, LatestObservationPerJobWins) {
  auto observe = [&](const std::string& job, const char* at, int64_t succeeded, int64_t failed) {
    Observation o;
    o.job_id = job;
    o.observed_at = T(at);
    o.total = 100;
    o.by_status = {{"SUCCEEDED", succeeded}, {"FAILED", failed}, {"QUEUED", 0}};
    ASSERT_TRUE(store_->AddObservation(o).ok());
  };
  observe("J1", "2026-11-25T10:00:00Z", 1, 0);
  observe("J1", "2026-11-25T12:00:00Z", 50, 1);  // the latest
  observe("J1", "2026-11-25T11:00:00Z", 20, 0);  // recorded later, observed earlier
  observe("J2", "2026-11-25T12:00:00.239Z", 7, 0);
  observe("J2", "2026-11-25T12:00:00Z", 3, 0);  // sorts after .239 as text, but is earlier

  Snapshot snap = Load();
  ASSERT_EQ(snap.observations.size(), 2u);
  const Observation& j1 = snap.observations.at("J1");
  EXPECT_EQ(j1.observed_at, T("2026-11-25T12:00:00Z"));
  EXPECT_EQ(j1.total, 100);
  EXPECT_EQ(j1.Count("SUCCEEDED"), 50);
  EXPECT_EQ(j1.Count("FAILED"), 1);
  EXPECT_EQ(j1.Count("QUEUED"), 0);
  EXPECT_EQ(j1.by_status, (std::map<std::string, int64_t>{{"FAILED", 1}, {"SUCCEEDED", 50}}));
  EXPECT_EQ(snap.observations.at("J2").observed_at, T("2026-11-25T12:00:00.239Z"));
  EXPECT_EQ(snap.observations.at("J2").Count("SUCCEEDED"), 7);

  observe("J1", "2026-11-25T12:00:00Z", 60, 1);  // same instant: the later record wins
  EXPECT_EQ(Load().observations.at("J1").Count("SUCCEEDED"), 60);
}

TEST_P(StoreConformance, ObservationOfAnUnknownTaskStatusIsRefused) {
  Observation o;
  o.job_id = "J1";
  o.observed_at = T("2026-11-25T12:00:00Z");
  o.by_status = {{"EXPLODED", 1}};
  auto s = store_->AddObservation(o);
  EXPECT_EQ(s.code(), core::Status::Code::kInvalid);
  EXPECT_EQ(s.message(), "observation of job J1 counts task status EXPLODED, which state file " + where_ +
                             " cannot record; known statuses are CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, "
                             "SUCCEEDED, FAILED and CANCELED");
  EXPECT_TRUE(Load().observations.empty());
}

TEST_P(StoreConformance, SerialChangesOnEveryDataWriteButNotOnLeaseWrites) {
  int64_t serial = Serial();
  EXPECT_EQ(serial, 1);  // the rollout upserted in SetUp
  auto bumped = [&](const char* what) {
    int64_t now = Serial();
    EXPECT_GT(now, serial) << what;
    serial = now;
  };
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "178", T("2026-11-25T09:30:00Z")).ok());
  EXPECT_EQ(Serial(), serial);  // only last_seen moved
  ASSERT_TRUE(store_->UpsertRollout("r1", "k1", "179", T("2026-11-25T10:00:00Z")).ok());
  bumped("rollout update");
  ASSERT_TRUE(store_->UpsertRollout("r2", "k1", "179", T("2026-11-25T10:00:00Z")).ok());
  bumped("rollout insert");
  Attempt a = PendingAttempt("i1", "r1", "canary");
  a.id = Insert(a);
  bumped("attempt insert");
  a.status = AttemptStatus::kFailed;
  a.error_code = "iot.ota.Invalid";
  ASSERT_TRUE(store_->UpdateAttempt(a).ok());
  bumped("attempt update");
  Observation o;
  o.job_id = "J1";
  ASSERT_TRUE(store_->AddObservation(o).ok());
  bumped("observation");
  Event e;
  e.kind = "intent";
  ASSERT_TRUE(store_->AppendEvent(e).ok());
  bumped("event");

  ASSERT_TRUE(store_->AcquireLease(Holder("host-a", 42, "tok"), T("2026-11-25T10:00:00Z")).ok());
  ASSERT_TRUE(store_->Heartbeat("tok", T("2026-11-25T10:00:10Z")).ok());
  ASSERT_TRUE(store_->ForceUnlock(/*force=*/false).ok());
  EXPECT_EQ(Serial(), serial);
}

// Inside a transaction the serial counts its own writes (the daemon reads it
// after its cycle event, before committing); other handles see them only
// once committed.
TEST_P(StoreConformance, SerialInsideATransactionSeesItsOwnWrites) {
  const int64_t before = Serial();
  auto other = store_->OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status().message();
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    Event e;
    e.kind = "cycle";
    ASSERT_TRUE(store_->AppendEvent(e).ok());
    auto inside = store_->Serial();
    ASSERT_TRUE(inside.ok());
    EXPECT_GT(*inside, before);
    auto outside = (*other)->Serial();
    ASSERT_TRUE(outside.ok());
    EXPECT_EQ(*outside, before);
    ASSERT_TRUE(tx->Commit().ok());
    auto committed = (*other)->Serial();
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(*committed, *inside);
  }
}

TEST_P(StoreConformance, EventsAppendInOrderAndFilterByRollout) {
  int64_t attempt = Insert(PendingAttempt("i1", "r1", "canary"));
  auto append = [&](const std::string& rollout, const std::string& kind, const std::string& data) {
    Event e;
    e.at = T("2026-11-25T10:00:00Z");
    e.rollout = rollout;
    e.stage = rollout.empty() ? "" : "canary";
    if (rollout == "r1") e.attempt_id = attempt;
    e.kind = kind;
    e.message = kind + " happened";
    e.data_json = data;
    ASSERT_TRUE(store_->AppendEvent(e).ok());
  };
  append("r1", "intent", R"({"intent":"i1"})");
  append("r2", "created", "");
  append("", "lease", "[1,2]");
  append("r1", "created", R"({"job":"J1"})");

  auto all = store_->Events("");
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].seq, (*all)[i].seq);
  EXPECT_EQ((*all)[1].data_json, "{}");
  EXPECT_EQ((*all)[2].rollout, "");

  auto r1 = store_->Events("r1");
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->size(), 2u);
  EXPECT_EQ((*r1)[0].kind, "intent");
  EXPECT_EQ((*r1)[0].attempt_id, attempt);
  EXPECT_EQ((*r1)[0].data_json, R"({"intent":"i1"})");
  EXPECT_EQ((*r1)[0].message, "intent happened");
  EXPECT_EQ((*r1)[0].at, T("2026-11-25T10:00:00Z"));
  EXPECT_EQ((*r1)[1].kind, "created");
  EXPECT_FALSE((*all)[1].attempt_id.has_value());
  EXPECT_TRUE(store_->Events("nope")->empty());

  // The last ones only, oldest first.
  auto recent = store_->RecentEvents("", 2);
  ASSERT_TRUE(recent.ok()) << recent.status().message();
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].kind, "lease");
  EXPECT_EQ((*recent)[1].kind, "created");
  EXPECT_EQ((*recent)[1].rollout, "r1");
  auto recent_r1 = store_->RecentEvents("r1", 10);
  ASSERT_TRUE(recent_r1.ok());
  EXPECT_EQ(recent_r1->size(), 2u);

  Event bad;
  bad.kind = "oops";
  bad.data_json = "{not json";
  auto s = store_->AppendEvent(bad);
  EXPECT_EQ(s.code(), core::Status::Code::kInvalid);
  EXPECT_EQ(s.message(),
            "event oops for state file " + where_ + " has data that is not JSON; pass a JSON value or nothing");
}

TEST_P(StoreConformance, UpsertRolloutKeepsFirstSeen) {
  ASSERT_TRUE(store_->UpsertRollout("r1", "k2", "180", T("2026-11-26T09:00:00Z")).ok());
  auto rollouts = store_->Rollouts();
  ASSERT_TRUE(rollouts.ok());
  ASSERT_EQ(rollouts->size(), 1u);
  const RolloutRecord& r = rollouts->at(0);
  EXPECT_EQ(r.name, "r1");
  EXPECT_EQ(r.product_key, "k2");
  EXPECT_EQ(r.firmware_id, "180");
  EXPECT_EQ(r.first_seen, T("2026-11-25T09:00:00Z"));
  EXPECT_EQ(r.last_seen, T("2026-11-26T09:00:00Z"));
}

TEST_P(StoreConformance, TransactionCommitsOrRollsBack) {
  auto other = store_->OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status().message();
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    Insert(PendingAttempt("rolled-back", "r1", "canary"));
    EXPECT_EQ(Load().attempts.size(), 1u);            // the transaction sees its own writes
    EXPECT_TRUE((*other)->Load()->attempts.empty());  // others do not
    auto nested = store_->Begin();
    ASSERT_FALSE(nested.ok());
    EXPECT_EQ(nested.status().message(),
              "a transaction is already open on " + Named() + "; commit it before beginning another");
  }
  EXPECT_TRUE(Load().attempts.empty());
  int64_t serial = Serial();
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(tx.ok());
    Insert(PendingAttempt("kept-1", "r1", "canary"));
    Insert(PendingAttempt("kept-2", "r1", "pilot"));
    ASSERT_TRUE(tx->Commit().ok());
    EXPECT_FALSE(tx->Commit().ok());
  }
  Snapshot snap = Load();
  ASSERT_EQ(snap.attempts.size(), 2u);
  EXPECT_EQ(snap.serial, serial + 2);
  EXPECT_EQ((*other)->Load()->attempts.size(), 2u);
}

// A lazy transaction (a create's outcome) commits, rolls back and is seen
// like any other; only what a power loss may undo differs.
TEST_P(StoreConformance, ALazyTransactionCommitsAndRollsBackLikeAnyOther) {
  auto other = store_->OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status().message();
  {
    auto tx = store_->Begin(Durability::kLazy);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    Insert(PendingAttempt("rolled-back", "r1", "canary"));
  }
  EXPECT_TRUE(Load().attempts.empty());
  {
    auto tx = store_->Begin(Durability::kLazy);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    Insert(PendingAttempt("lazy", "r1", "canary"));
    ASSERT_TRUE(tx->Commit().ok());
  }
  ASSERT_EQ((*other)->Load()->attempts.size(), 1u);
  EXPECT_EQ((*other)->Load()->attempts[0].intent_id, "lazy");
  auto tx = store_->Begin();  // a durable one after it
  ASSERT_TRUE(tx.ok()) << tx.status().message();
  Insert(PendingAttempt("durable", "r1", "pilot"));
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_EQ((*other)->Load()->attempts.size(), 2u);
}

TEST_P(StoreConformance, AWriteFromAnotherHandleWaitsForAnOpenTransaction) {
  auto other = store_->OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status().message();
  auto reader = store_->OpenAnother();
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto tx = store_->Begin();
  ASSERT_TRUE(tx.ok());
  Insert(PendingAttempt("i1", "r1", "canary"));
  core::Result<int64_t> theirs = core::Status::Invalid("not run");
  std::thread writer([&] { theirs = (*other)->InsertAttempt(PendingAttempt("i2", "r1", "pilot")); });
  EXPECT_TRUE((*reader)->Load()->attempts.empty());  // reads never wait, and see only what was committed
  ASSERT_TRUE(tx->Commit().ok());
  writer.join();
  ASSERT_TRUE(theirs.ok()) << theirs.status().message();
  EXPECT_EQ(Load().attempts.size(), 2u);
}

// The fence (docs/security.md): intents only while the lease is ours, one live
// intent per part and spec.
TEST_P(StoreConformance, AnIntentIsWrittenOnlyWhileTheLeaseIsStillOurs) {
  const core::Time now = T("2026-11-25T10:00:00Z");
  auto holder = [](const std::string& token) {
    Lease l;
    l.host = "build-7";
    l.pid = 4242;
    l.token = token;
    return l;
  };
  auto ours = store_->AcquireLease(holder("ours"), now);
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  store_->SetFence("ours", ours->lease.epoch);
  ASSERT_TRUE(store_->InsertAttempt(PendingAttempt("i1", "r1", "canary")).ok());

  ASSERT_TRUE(store_->ForceUnlock(/*force=*/true).ok());
  auto removed = store_->InsertAttempt(PendingAttempt("i2", "r1", "pilot"));
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(removed.status().message(),
            "the lease on " + where_ +
                " is no longer held by this process (it was removed by 'otaroll state force-unlock'); no intent was "
                "written for r1/pilot and nothing was created; the run stopped");

  ASSERT_TRUE(store_->AcquireLease(holder("theirs"), now).ok());
  auto taken = store_->InsertAttempt(PendingAttempt("i3", "r1", "pilot"));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().message(),
            "the lease on " + where_ +
                " is no longer held by this process (pid 4242 on host build-7 holds it now); no intent was written "
                "for r1/pilot and nothing was created; the run stopped");
  auto snap = store_->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->attempts.size(), 1u);  // only the intent written while the lease was ours

  // Outcomes of intents already written are still recorded: they are the truth.
  Attempt done = snap->attempts.at(0);
  done.status = AttemptStatus::kCreated;
  done.job_id = "J1";
  EXPECT_TRUE(store_->UpdateAttempt(done).ok());
}

// The epoch grows on every acquisition but a renewal; a fence names one.
TEST_P(StoreConformance, TheLeaseEpochGrowsOnEveryTakeAndFencesTheOldOne) {
  const core::Time now = T("2026-11-25T10:00:00Z");
  auto first = store_->AcquireLease(Holder("build-7", 4242, "ours"), now);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_GE(first->lease.epoch, 1);
  auto renewed = store_->AcquireLease(Holder("build-7", 4242, "ours"), now);
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  EXPECT_EQ(renewed->lease.epoch, first->lease.epoch);
  store_->SetFence("ours", first->lease.epoch);

  // Released and taken again by the same holder: a new epoch, and the old
  // fence no longer writes.
  ASSERT_TRUE(store_->ReleaseLease("ours").ok());
  auto again = store_->AcquireLease(Holder("build-7", 4242, "ours"), now);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->lease.epoch, first->lease.epoch + 1);
  auto read = store_->ReadLease();
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->epoch, again->lease.epoch);
  auto stale = store_->InsertAttempt(PendingAttempt("i1", "r1", "canary"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().message(),
            fmt::format("the lease on {} is no longer held by this process (it was taken again since, at epoch {}); "
                        "no intent was written for r1/canary and nothing was created; the run stopped",
                        where_, again->lease.epoch));
  store_->SetFence("ours", again->lease.epoch);
  EXPECT_TRUE(store_->InsertAttempt(PendingAttempt("i1", "r1", "canary")).ok());

  // Removed, then taken by another: the epoch never goes back.
  ASSERT_TRUE(store_->ForceUnlock(/*force=*/true).ok());
  auto theirs = store_->AcquireLease(Holder("build-8", 4343, "theirs"), now);
  ASSERT_TRUE(theirs.ok()) << theirs.status().message();
  EXPECT_EQ(theirs->lease.epoch, again->lease.epoch + 1);
}

TEST_P(StoreConformance, ASecondLiveIntentForTheSamePartAndSpecIsRefused) {
  ASSERT_TRUE(store_->InsertAttempt(PendingAttempt("i1", "r1", "canary")).ok());
  auto second = store_->InsertAttempt(PendingAttempt("i2", "r1", "canary"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), core::Status::Code::kConflict);
  EXPECT_EQ(second.status().message(),
            "r1/canary already has attempt i1 (pending) for this spec; no second intent was written and nothing was "
            "created (another otaroll planned from the same state); the run stopped");
  Attempt other_part = PendingAttempt("i3", "r1", "canary");
  other_part.part = 1;
  other_part.parts = 2;
  EXPECT_TRUE(store_->InsertAttempt(other_part).ok());
}

}  // namespace
}  // namespace otaroll::state
