// The apply path with a scripted platform and the in-memory store (the same
// contract as the SQLite file: tests/state/store_conformance_test.cc): the
// intent protocol, resolution of unknown outcomes, replacement, failures. The
// real SQLite file and real processes are in tests/cli.
#include "apply/applier.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "notify/outbox.h"
#include "state/memory_store.h"
#include "state/request.h"
#include "test_util/manifests.h"
#include "test_util/receiver.h"

namespace otaroll::apply {
namespace {

using platform::CallError;
using platform::ErrorClass;
using state::AttemptStatus;
using std::chrono::minutes;
using std::chrono::seconds;

// What the fake does with the next create call.
enum class CreateFault {
  kNone,
  kCreatedAnswerLost,   // the job is made, the answer is lost: unknown outcome
  kLostBeforeCreating,  // unknown outcome, but nothing was made
  kThrottled,           // nothing made; the client gave up retrying
  kRejected,            // iot.ota.FirmwareNotExist
  kAuth,                // SignatureDoesNotMatch
};

class FakePlatform : public Platform {
 public:
  explicit FakePlatform(core::Clock& clock) : clock_(clock) {}

  platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet& part, const std::string& intent) override {
    ++creates;
    CreateFault fault = faults.empty() ? CreateFault::kNone : faults.front();
    if (!faults.empty()) faults.pop_front();
    CallError e;
    switch (fault) {
      case CreateFault::kRejected:
        e.cls = ErrorClass::kRejected;
        e.code = "iot.ota.FirmwareNotExist";
        e.message = "no such firmware";
        return e;
      case CreateFault::kThrottled:
        e.cls = ErrorClass::kThrottled;
        e.code = "Throttling.User";
        e.attempts = 6;
        return e;
      case CreateFault::kAuth:
        e.cls = ErrorClass::kAuth;
        e.code = "SignatureDoesNotMatch";
        return e;
      case CreateFault::kLostBeforeCreating:
        e.cls = ErrorClass::kNetwork;
        e.sent = true;
        e.message = "closed without answering";
        return e;
      default: break;
    }
    platform::JobInfo job;
    job.job_id = std::to_string(9000000000000000000LL + static_cast<int64_t>(jobs.size()) + 1);
    job.utc_create = core::FormatRfc3339(clock_.Now());
    job.product_key = part.at("ProductKey").front();
    job.firmware_id = part.at("FirmwareId").front();
    job.target_selection = part.at("TargetSelection").front();
    if (part.count("GrayPercent")) job.gray_percent = part.at("GrayPercent").front();
    if (part.count("GroupId")) job.group_id = part.at("GroupId").front();
    if (part.count("SrcVersion")) job.src_versions = part.at("SrcVersion");
    job.need_push = part.at("NeedPush").front() == "true";
    job.need_confirm = part.at("NeedConfirm").front() == "true";
    job.download_protocol = part.at("DownloadProtocol").front();
    job.job_status = "IN_PROGRESS";
    if (!intent.empty()) job.tags = {{platform::kIntentTagKey, intent}};
    if (part.count("TargetDeviceName")) devices[job.job_id] = part.at("TargetDeviceName");
    jobs.push_back(job);
    if (fault == CreateFault::kCreatedAnswerLost) {
      e.cls = ErrorClass::kNetwork;
      e.sent = true;
      e.message = "closed without answering";
      return e;
    }
    return platform::CreatedJob{job.job_id, job.utc_create, "req-" + job.job_id};
  }

  platform::CallResult<std::vector<platform::JobInfo>> ListJobsByFirmware(const std::string& firmware) override {
    ++lists;
    if (fail_lists) {
      CallError e;
      e.cls = ErrorClass::kTransient;
      e.code = "ServiceUnavailable";
      return e;
    }
    std::vector<platform::JobInfo> out;
    for (const auto& j : jobs) {
      if (j.firmware_id != firmware) continue;
      platform::JobInfo listed = j;  // the listing has no GrayPercent, GroupId or SrcVersions
      listed.gray_percent.clear();
      listed.group_id.clear();
      listed.src_versions.clear();
      out.push_back(listed);
    }
    return out;
  }

  platform::CallResult<platform::JobInfo> QueryJob(const std::string& id) override {
    ++queries;
    for (const auto& j : jobs) {
      if (j.job_id == id) return j;
    }
    CallError e;
    e.cls = ErrorClass::kRejected;
    e.code = "iot.ota.JobNotFound";
    return e;
  }

  platform::CallResult<std::vector<platform::TaskInfo>> ListTasks(const std::string& id) override {
    std::vector<platform::TaskInfo> out;
    for (const auto& j : jobs) {
      if (j.job_id != id) continue;
      for (const auto& d : devices[id])
        out.push_back(platform::TaskInfo{"t-" + d, d, "", "", "QUEUED", "0", "", "", ""});
    }
    return out;
  }

  platform::CallResult<int64_t> CountTasks(const std::string&, const std::string& status) override {
    ++counts;
    auto it = task_counts.find(status);
    return it == task_counts.end() ? int64_t{0} : it->second;
  }

  platform::CallResult<platform::Empty> CancelTasks(const std::string& id, const platform::CancelWhich&) override {
    cancelled.push_back(id);
    return platform::Empty{};
  }

  core::Clock& clock_;
  std::vector<platform::JobInfo> jobs;
  std::deque<CreateFault> faults;
  bool fail_lists = false;
  std::map<std::string, int64_t> task_counts;
  std::vector<std::string> cancelled;
  std::map<std::string, std::vector<std::string>> devices;  // a SPECIFIC job's devices, seen only through its tasks
  int creates = 0, lists = 0, queries = 0, counts = 0;
};

const char* kThreeStages = R"(apiVersion: otaroll/v1
kind: Rollout
metadata: {name: thermostat}
spec:
  productKey: k1nhvyl0001
  firmwareId: "178"
  srcVersions: ["2.3.9"]
  stages:
    - {name: canary, gray: 10}
    - {name: pilot, group: CtjzCkNuOx}
    - {name: everyone, all: true}
)";

class ApplierTest : public ::testing::Test {
 protected:
  ApplierTest() : clock_(*core::ParseRfc3339("2026-11-25T10:00:00Z")), platform_(clock_) {}

  Report Apply(const manifest::ManifestSet& m, Options options = {}) {
    options.settle = seconds(61);
    Applier applier(*store_, platform_, clock_, options);
    Report report;
    auto s = applier.Refresh(m, &report);
    EXPECT_TRUE(s.ok()) << s.message();
    s = applier.Execute(m, &report);
    EXPECT_TRUE(s.ok()) << s.message();
    clock_.Sleep(seconds(1));
    return report;
  }

  std::vector<state::Attempt> Attempts() {
    auto s = store_->Load();
    EXPECT_TRUE(s.ok());
    return s->attempts;
  }

  int Count(AttemptStatus status) {
    int n = 0;
    for (const auto& a : Attempts()) n += a.status == status;
    return n;
  }

  core::FixedClock clock_;
  FakePlatform platform_;
  // What a webhook receives of this test's events (notify/outbox.h over
  // loopback), once Notified is called; one of each kind is saved under the
  // build folder.
  void StartNotifying() {
    auto hook = notify::ParseWebhook(receiver_.Url(), notify::Format::kJson, {});
    ASSERT_TRUE(hook.ok());
    auto box = notify::Outbox::Start(*store_, {*hook}, notify::SenderOptions{}, nullptr);
    ASSERT_TRUE(box.ok()) << box.status().message();
    outbox_ = std::move(*box);
  }
  std::vector<test_util::Receiver::Request> Notified(const std::string& kind) {
    EXPECT_TRUE(outbox_->Drain(*store_, std::chrono::seconds(20)).empty());
    std::vector<test_util::Receiver::Request> out;
    for (const auto& r : receiver_.delivered()) {
      if (r.event != kind) continue;
      out.push_back(r);
      const std::string saved = std::string(OTAROLL_BUILD_DIR) + "/notifications";
      std::filesystem::create_directories(saved);
      std::ofstream(saved + "/" + kind + ".json") << nlohmann::json::parse(r.body).dump(2) << "\n";
    }
    return out;
  }

  std::unique_ptr<state::Store> store_ = std::make_unique<state::MemoryStore>();
  test_util::Receiver receiver_;
  std::unique_ptr<notify::Outbox> outbox_;  // declared after the store: stopped before it
};

TEST_F(ApplierTest, CreatesEveryOpenStageInOrderInOneRunAndThenNothing) {
  auto m = test_util::Parse(kThreeStages);
  Report r = Apply(m);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.created, 3);
  ASSERT_EQ(platform_.jobs.size(), 3u);
  EXPECT_EQ(platform_.jobs[0].target_selection, "GRAY");
  EXPECT_EQ(platform_.jobs[1].target_selection, "GROUP");
  EXPECT_EQ(platform_.jobs[2].target_selection, "ALL");
  EXPECT_EQ(Count(AttemptStatus::kCreated), 3);
  for (const auto& a : Attempts()) {
    EXPECT_FALSE(a.job_id.empty());
    EXPECT_EQ(a.request_id, "req-" + a.job_id);
  }

  Report again = Apply(m);
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.create_calls, 0);
  EXPECT_EQ(platform_.creates, 3);
}

TEST_F(ApplierTest, TheIntentIsDurableBeforeTheCall) {
  auto m = test_util::Parse(kThreeStages);
  // The fake reads what is committed, through a handle of its own, while the
  // create is in flight.
  struct Spy : FakePlatform {
    using FakePlatform::FakePlatform;
    platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet& part,
                                                         const std::string& intent) override {
      auto seen = reader->Load();
      EXPECT_TRUE(seen.ok());
      pending_seen += seen.ok() && !seen->attempts.empty() && seen->attempts.back().status == AttemptStatus::kPending;
      return FakePlatform::CreateJob(part, intent);
    }
    std::unique_ptr<state::Store> reader;
    int pending_seen = 0;
  } spy(clock_);
  auto reader = store_->OpenAnother();
  ASSERT_TRUE(reader.ok());
  spy.reader = std::move(*reader);
  Options o;
  Applier applier(*store_, spy, clock_, o);
  Report report;
  ASSERT_TRUE(applier.Execute(m, &report).ok());
  EXPECT_EQ(spy.pending_seen, 3);
}

TEST_F(ApplierTest, LostAnswerIsUnknownThenAdoptedNeverCreatedTwice) {
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kCreatedAnswerLost};
  Report first = Apply(m);
  EXPECT_EQ(first.unknown, 1);
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(platform_.jobs.size(), 1u);  // the later stages wait behind the unknown one
  EXPECT_EQ(Count(AttemptStatus::kUnknown), 1);

  // The job is listed: it is adopted at once, without waiting for the
  // request to settle.
  Report next = Apply(m);
  EXPECT_EQ(platform_.lists, 1);
  EXPECT_EQ(next.adopted, 1);
  EXPECT_EQ(next.created, 2);
  EXPECT_TRUE(next.ok());
  EXPECT_EQ(platform_.jobs.size(), 3u);
  EXPECT_EQ(Count(AttemptStatus::kCreated), 3);
  EXPECT_EQ(Attempts()[0].job_id, platform_.jobs[0].job_id);
}

TEST_F(ApplierTest, WhenThePlatformShowsTwoJobsForOneIntentTheOldestIsAdoptedAndTheOtherNamed) {
  StartNotifying();
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kCreatedAnswerLost};
  Apply(m);
  ASSERT_EQ(platform_.jobs.size(), 1u);
  auto copy = platform_.jobs[0];  // the same job made twice (say, by a proxy's resend)
  copy.job_id = "9999999999999999999";
  copy.utc_create = "2026-11-25T10:00:30.000Z";
  platform_.jobs.push_back(copy);
  const std::string first = platform_.jobs[0].job_id;
  clock_.Sleep(minutes(2));
  Report r = Apply(m);
  EXPECT_EQ(r.adopted, 1);
  EXPECT_FALSE(r.ok());
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems[0], "thermostat/canary: the platform shows 2 jobs for attempt " + Attempts()[0].intent_id +
                               ": adopted the oldest, " + first +
                               "; 9999999999999999999 is a duplicate: cancel its tasks on the platform");
  EXPECT_EQ(Attempts()[0].job_id, first);
  auto events = store_->Events("");
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(std::any_of(events->begin(), events->end(), [](const state::Event& e) { return e.kind == "duplicate"; }));
  // Told to a person: the duplicate and the adoption.
  EXPECT_EQ(Notified("duplicate").size(), 1u);
  EXPECT_EQ(Notified("adopted").size(), 1u);
}

// Apply speaks in typed events (apply/events.h): what the CLI prints, and
// what logs, metrics and notifications will read.
TEST_F(ApplierTest, EveryThingDoneAndEveryProblemIsATypedEvent) {
  auto m = test_util::Parse(kThreeStages);
  std::vector<ApplyEvent> events;
  Options options;
  options.on_event = [&](const ApplyEvent& e) { events.push_back(e); };
  platform_.faults = {CreateFault::kCreatedAnswerLost};
  Report first = Apply(m, options);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kUnknown);
  EXPECT_TRUE(events[0].problem);
  EXPECT_EQ(events[0].rollout, "thermostat");
  EXPECT_EQ(events[0].stage, "canary");
  EXPECT_EQ(events[0].attempt, Attempts()[0].intent_id);
  EXPECT_EQ(first.problems, std::vector<std::string>{events[0].message});
  EXPECT_EQ(events[1].kind, EventKind::kUnknown);  // the progress line of the same outcome
  EXPECT_FALSE(events[1].problem);
  EXPECT_EQ(events[1].done, 1);

  events.clear();
  clock_.Sleep(minutes(2));
  Report later = Apply(m, options);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, EventKind::kAdopted);
  EXPECT_EQ(events[0].job, platform_.jobs[0].job_id);
  EXPECT_EQ(events[1].kind, EventKind::kCreated);
  EXPECT_EQ(events[1].stage, "pilot");
  EXPECT_EQ(events[1].job, platform_.jobs[1].job_id);
  EXPECT_EQ(events[2].kind, EventKind::kCreated);
  EXPECT_EQ(events[2].stage, "everyone");
  EXPECT_EQ(std::string(EventKindName(events[2].kind)), "created");
  EXPECT_TRUE(later.problems.empty());
}

TEST_F(ApplierTest, UnknownWithNoJobOnThePlatformIsCreatedAgain) {
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kLostBeforeCreating};
  Apply(m);
  EXPECT_EQ(platform_.jobs.size(), 0u);
  clock_.Sleep(minutes(2));
  Report r = Apply(m);
  EXPECT_EQ(r.absent, 1);  // the lookup showed nothing
  EXPECT_EQ(r.created, 3);
  EXPECT_EQ(platform_.jobs.size(), 3u);
  auto attempts = Attempts();
  ASSERT_EQ(attempts.size(), 4u);
  EXPECT_EQ(attempts[0].status, AttemptStatus::kFailed);
  EXPECT_EQ(attempts[0].error_code, state::kNotCreated);
}

// Only "nothing was created" waits for the request to settle: until then a
// request that is still in flight could make the job.
TEST_F(ApplierTest, NoJobListedIsConcludedNotCreatedOnlyOnceTheRequestHasSettled) {
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kLostBeforeCreating};
  Apply(m);
  Report early = Apply(m);
  EXPECT_EQ(platform_.lists, 1);  // looked up at once
  EXPECT_EQ(early.unknown, 1);
  EXPECT_EQ(early.absent, 0);
  EXPECT_EQ(early.create_calls, 0);
  ASSERT_EQ(early.problems.size(), 1u);
  const state::Attempt a = Attempts()[0];
  EXPECT_EQ(early.problems[0], "thermostat/canary: attempt " + a.intent_id + " was sent at " +
                                   core::FormatRfc3339(a.updated_at) +
                                   " and may still be in flight; no job for it is listed yet; it is looked up again, "
                                   "and concluded not created once it has settled (after " +
                                   core::FormatRfc3339(a.updated_at + seconds(61)) + ")");
  EXPECT_EQ(Count(AttemptStatus::kUnknown), 1);
  clock_.Sleep(minutes(2));
  Report later = Apply(m);
  EXPECT_EQ(later.absent, 1);
  EXPECT_EQ(later.created, 3);
}

TEST_F(ApplierTest, LookupFailureLeavesTheStageUnknownAndCreatesNothing) {
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kLostBeforeCreating};
  Apply(m);
  clock_.Sleep(minutes(2));
  platform_.fail_lists = true;
  Report r = Apply(m);
  EXPECT_EQ(r.unknown, 1);
  EXPECT_EQ(r.create_calls, 0);
  EXPECT_EQ(Count(AttemptStatus::kUnknown), 1);
  EXPECT_EQ(platform_.creates, 1);
}

TEST_F(ApplierTest, PendingAttemptFromACrashIsLookedUpBeforeAnythingElse) {
  auto m = test_util::Parse(kThreeStages);
  // A crash after the intent was committed and the request went out: the
  // platform made the job, state only has the pending intent.
  platform_.faults = {CreateFault::kCreatedAnswerLost};
  Apply(m);
  auto attempts = Attempts();
  state::Attempt pending = attempts[0];
  pending.status = AttemptStatus::kPending;
  pending.error_code.clear();
  pending.error_message.clear();
  ASSERT_TRUE(store_->UpdateAttempt(pending).ok());
  clock_.Sleep(minutes(2));
  Report r = Apply(m);
  EXPECT_EQ(r.adopted, 1);
  EXPECT_EQ(platform_.jobs.size(), 3u);
}

TEST_F(ApplierTest, AnotherJobOfTheSameSpecIsNotAdoptedWhenOlderThanTheIntent) {
  auto m = test_util::Parse(kThreeStages);
  // An identical job made by someone else an hour before.
  platform_.faults = {};
  FakePlatform other(clock_);
  core::Time now = clock_.Now();
  clock_.Set(now - std::chrono::hours(1));
  (void)other.CreateJob(spec::Resolve(m.rollouts[0], m.rollouts[0].stages[0]).part(0), "");
  clock_.Set(now);
  platform_.jobs = other.jobs;
  platform_.faults = {CreateFault::kLostBeforeCreating};
  Apply(m);
  clock_.Sleep(minutes(2));
  Report r = Apply(m);
  EXPECT_EQ(r.adopted, 0);
  EXPECT_EQ(r.absent, 1);
  EXPECT_EQ(platform_.jobs.size(), 4u);  // ours were created; the old one was not taken for ours
}

// Two rollouts of one firmware whose SPECIFIC stages differ only in their
// devices: the platform's job listing and QueryOTAJob do not name devices,
// so the lookup must read the candidates' tasks, or the two could swap jobs
// (one lost, one duplicated).
TEST_F(ApplierTest, SpecificStagesOfOneFirmwareDoNotTakeEachOthersJobs) {
  auto m = test_util::Parse(R"(apiVersion: otaroll/v1
kind: Rollout
metadata: {name: pilot}
spec:
  productKey: k1
  firmwareId: "178"
  stages: [{name: lab, devices: [dev-1, dev-2]}]
---
apiVersion: otaroll/v1
kind: Rollout
metadata: {name: vip}
spec:
  productKey: k1
  firmwareId: "178"
  stages: [{name: lab, devices: [dev-8, dev-9]}]
)");
  platform_.faults = {CreateFault::kLostBeforeCreating, CreateFault::kCreatedAnswerLost};
  Report first = Apply(m);
  EXPECT_EQ(first.unknown, 2);
  ASSERT_EQ(platform_.jobs.size(), 1u);  // vip's
  clock_.Sleep(minutes(2));
  Report r = Apply(m);
  EXPECT_EQ(r.adopted, 1);
  EXPECT_EQ(r.absent, 1);
  EXPECT_EQ(r.created, 1);
  EXPECT_TRUE(r.ok()) << (r.problems.empty() ? "" : r.problems[0]);
  ASSERT_EQ(platform_.jobs.size(), 2u);
  for (const auto& a : Attempts()) {
    if (a.status != AttemptStatus::kCreated) continue;
    EXPECT_EQ(platform_.devices[a.job_id].front(), a.rollout == "pilot" ? "dev-1" : "dev-8") << a.rollout;
  }
}

TEST_F(ApplierTest, IntentTagsDecideOnAlibaba) {
  auto m = test_util::Parse(kThreeStages);
  Options tags;
  tags.intent_tags = true;
  platform_.faults = {CreateFault::kLostBeforeCreating};
  Apply(m, tags);
  // A job with the same spec, made after our intent by someone else, with
  // another intent's tag: not ours.
  platform::JobInfo foreign;
  foreign.job_id = "123";
  foreign.firmware_id = "178";
  foreign.product_key = "k1nhvyl0001";
  foreign.target_selection = "GRAY";
  foreign.gray_percent = "10";
  foreign.src_versions = {"2.3.9"};
  foreign.utc_create = core::FormatRfc3339(clock_.Now());
  foreign.tags = {{platform::kIntentTagKey, "someone-else"}};
  platform_.jobs.push_back(foreign);
  clock_.Sleep(minutes(2));
  Report r = Apply(m, tags);
  EXPECT_EQ(r.adopted, 0);
  EXPECT_EQ(r.absent, 1);
  EXPECT_EQ(platform_.queries, 0);  // the listing's tags were enough
  for (const auto& a : Attempts()) {
    if (a.status == AttemptStatus::kCreated) {
      EXPECT_EQ(state::ParseRequest(a.request)->at("Tag.1.Value"), a.intent_id);
    }
  }
}

TEST_F(ApplierTest, RejectionFailsTheStageUntilRetryFailed) {
  StartNotifying();
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kRejected};
  Report r = Apply(m);
  EXPECT_EQ(r.failed, 1);
  const auto failed = Notified("failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].body.find("iot.ota.FirmwareNotExist"), std::string::npos) << failed[0].body;
  EXPECT_EQ(platform_.creates, 1);
  auto a = Attempts()[0];
  EXPECT_EQ(a.status, AttemptStatus::kFailed);
  EXPECT_EQ(a.error_code, "iot.ota.FirmwareNotExist");

  Report again = Apply(m);
  EXPECT_EQ(again.create_calls, 0);  // not retried until the spec changes

  Options retry;
  retry.retry_failed = true;
  Report retried = Apply(m, retry);
  EXPECT_EQ(retried.created, 3);
  EXPECT_TRUE(retried.ok());
}

TEST_F(ApplierTest, ThrottledCreateIsTriedAgainOnTheNextRun) {
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kThrottled};
  Report r = Apply(m);
  EXPECT_EQ(r.not_created, 1);
  EXPECT_EQ(r.create_calls, 1);  // one try per stage per run
  EXPECT_EQ(platform_.jobs.size(), 0u);
  Report next = Apply(m);
  EXPECT_EQ(next.created, 3);
  EXPECT_EQ(next.unknown + next.adopted, 0);  // no lookup needed: nothing was sent
  EXPECT_EQ(platform_.lists, 0);
}

TEST_F(ApplierTest, RefusedCredentialsStopTheRun) {
  auto m = test_util::Parse(kThreeStages);
  platform_.faults = {CreateFault::kAuth};
  Report r = Apply(m);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.create_calls, 1);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems.back(),
            "the platform refused the credentials while creating a job for thermostat/canary: SignatureDoesNotMatch; "
            "the run stopped");
}

TEST_F(ApplierTest, ChangedStageGetsANewJobAndTheOldOneIsSuperseded) {
  auto m = test_util::Parse(kThreeStages);
  Apply(m);
  auto changed = test_util::Parse(test_util::ReplaceAll(kThreeStages, "gray: 10", "gray: 20"));
  Report r = Apply(changed);
  EXPECT_EQ(r.created, 1);
  EXPECT_EQ(r.superseded, 1);
  EXPECT_TRUE(platform_.cancelled.empty());
  EXPECT_EQ(Count(AttemptStatus::kSuperseded), 1);
  EXPECT_EQ(platform_.jobs.back().gray_percent, "20");
  EXPECT_EQ(Apply(changed).create_calls, 0);

  auto again = test_util::Parse(test_util::ReplaceAll(kThreeStages, "gray: 10", "gray: 30"));
  Options cancel;
  cancel.cancel_superseded = true;
  Report c = Apply(again, cancel);
  EXPECT_EQ(c.cancelled, 1);
  ASSERT_EQ(platform_.cancelled.size(), 1u);
  EXPECT_EQ(platform_.cancelled[0], platform_.jobs[3].job_id);
  EXPECT_EQ(Count(AttemptStatus::kCancelled), 1);
}

TEST_F(ApplierTest, HealthGateReadsObservationsBeforePlanning) {
  auto m = test_util::Parse(test_util::ReplaceAll(kThreeStages, "{name: pilot, group: CtjzCkNuOx}",
                                                  "{name: pilot, group: CtjzCkNuOx, gate: {health: {minTasks: 10, "
                                                  "maxFailedPercent: 5}}}"));
  Report first = Apply(m);
  EXPECT_EQ(first.created, 1);  // pilot waits for health data
  platform_.task_counts = {{"SUCCEEDED", 19}, {"FAILED", 1}};
  Report second = Apply(m);
  EXPECT_EQ(second.observed, 1);
  EXPECT_EQ(second.created, 2);
  auto snapshot = store_->Load();
  ASSERT_EQ(snapshot->observations.size(), 1u);
  const state::Observation& o = snapshot->observations.begin()->second;
  EXPECT_EQ(o.total, 20);
  EXPECT_EQ(o.Count("FAILED"), 1);
}

TEST_F(ApplierTest, HealthBreachHaltsTheRolloutAndOnHaltCancelCancelsTheBreachingJobOnce) {
  auto m = test_util::Parse(test_util::ReplaceAll(
      test_util::ReplaceAll(kThreeStages, "{name: pilot, group: CtjzCkNuOx}",
                            "{name: pilot, group: CtjzCkNuOx, gate: {health: {minTasks: 10, maxFailedPercent: 5}}}"),
      "  srcVersions:", "  onHalt: cancel\n  srcVersions:"));
  platform_.task_counts = {{"SUCCEEDED", 10}, {"FAILED", 10}};  // 50 % failed
  EXPECT_EQ(Apply(m).created, 1);                               // canary; pilot waits for health data

  Report breached = Apply(m);
  EXPECT_EQ(breached.observed, 1);
  EXPECT_EQ(breached.created, 0);
  EXPECT_EQ(breached.cancelled, 1);
  EXPECT_EQ(platform_.cancelled, std::vector<std::string>{platform_.jobs[0].job_id});
  Applier look(*store_, platform_, clock_, Options{});
  auto p = look.Plan(m);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->rollouts[0].stages[1].action, plan::Action::kHalted) << p->rollouts[0].stages[1].reason;

  Report again = Apply(m);
  EXPECT_EQ(again.cancelled, 0);  // cancelled once, not on every run
  EXPECT_EQ(again.created, 0);
  EXPECT_EQ(platform_.cancelled.size(), 1u);
}

TEST_F(ApplierTest, MaxCreatesBoundsARun) {
  auto m = test_util::Parse(kThreeStages);
  Options o;
  o.max_creates = 2;
  Report r = Apply(m, o);
  EXPECT_EQ(r.created, 2);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Apply(m).created, 1);
}

TEST_F(ApplierTest, PruneCancelsOrphansWithinTheLimit) {
  auto m = test_util::Parse(kThreeStages);
  Apply(m);
  auto two = test_util::Parse(test_util::ReplaceAll(kThreeStages, "    - {name: everyone, all: true}\n", ""));
  Options o;
  EXPECT_TRUE(Apply(two, o).ok());
  EXPECT_TRUE(platform_.cancelled.empty());  // orphans are left alone without --prune
  o.prune = true;
  o.prune_limit = 0;
  Report refused = Apply(two, o);
  EXPECT_TRUE(platform_.cancelled.empty());
  ASSERT_EQ(refused.problems.size(), 1u);
  EXPECT_EQ(refused.problems[0],
            "1 orphaned jobs exceed --prune-limit 0; nothing was pruned; raise the limit to prune them all");
  o.prune_limit = 5;
  Report pruned = Apply(two, o);
  EXPECT_EQ(pruned.cancelled, 1);
  EXPECT_EQ(platform_.cancelled, std::vector<std::string>{platform_.jobs[2].job_id});
}

}  // namespace
}  // namespace otaroll::apply
