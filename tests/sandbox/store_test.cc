#include "sandbox/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "test_util/temp_dir.h"

namespace otaroll::sandbox {
namespace {

core::Time T0() {
  return *core::ParseRfc3339("2024-11-20T08:50:00.239Z");
}

Job MakeJob(const std::string& id, const std::string& firmware, core::Time created) {
  Job job;
  job.job_id = id;
  job.request_id = "REQ-" + id;
  job.access_key_id = "testid";
  job.created = created;
  job.product_key = "pk1";
  job.firmware_id = firmware;
  job.target_selection = "SPECIFIC";
  job.devices = {"dev-1", "dev-2"};
  job.src_versions = {"1.0.1", "1.0.2"};
  job.retry_interval = 60;
  job.retry_count = 2;
  job.timeout_minutes = 1440;
  job.need_push = false;
  job.need_confirm = true;
  job.download_protocol = "HTTPS";
  job.tags = {{"otaroll.intent", "i-1"}, {"team", "hvac"}};
  job.params = {{"FirmwareId", firmware}, {"TargetDeviceName.1", "dev-1"}, {"Tag.1.Key", "otaroll.intent"}};
  job.fleet.fleet_size = 7;
  job.fleet.failure_percent = 3.5;
  job.fleet.task_ms = 1234;
  job.fleet.seed = 99;
  job.fleet.busy_devices = false;
  job.busy = {"dev-2"};
  return job;
}

void ExpectSame(const Job& a, const Job& b) {
  EXPECT_EQ(a.job_id, b.job_id);
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.access_key_id, b.access_key_id);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.product_key, b.product_key);
  EXPECT_EQ(a.firmware_id, b.firmware_id);
  EXPECT_EQ(a.target_selection, b.target_selection);
  EXPECT_EQ(a.gray_percent, b.gray_percent);
  EXPECT_EQ(a.group_id, b.group_id);
  EXPECT_EQ(a.devices, b.devices);
  EXPECT_EQ(a.src_versions, b.src_versions);
  EXPECT_EQ(a.retry_interval, b.retry_interval);
  EXPECT_EQ(a.retry_count, b.retry_count);
  EXPECT_EQ(a.timeout_minutes, b.timeout_minutes);
  EXPECT_EQ(a.need_push, b.need_push);
  EXPECT_EQ(a.need_confirm, b.need_confirm);
  EXPECT_EQ(a.download_protocol, b.download_protocol);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.fleet.fleet_size, b.fleet.fleet_size);
  EXPECT_EQ(a.fleet.failure_percent, b.fleet.failure_percent);
  EXPECT_EQ(a.fleet.task_ms, b.fleet.task_ms);
  EXPECT_EQ(a.fleet.seed, b.fleet.seed);
  EXPECT_EQ(a.fleet.busy_devices, b.fleet.busy_devices);
  EXPECT_EQ(a.busy, b.busy);
}

TEST(JobStore, JobsAndCancellationsSurviveReopening) {
  test_util::TempDir dir;
  std::string path = dir.Join("sandbox.db");
  Job job = MakeJob("1000000000000000001", "178", T0());
  Cancel cancel;
  cancel.at = T0() + std::chrono::seconds(5);
  cancel.request_id = "REQ-cancel";
  cancel.queued = true;
  cancel.unconfirmed = true;
  {
    auto store = JobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->Insert(job).ok());
    ASSERT_TRUE((*store)->AddCancel(job.job_id, cancel).ok());
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto got = (*store)->Get(job.job_id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  ExpectSame(**got, job);
  ASSERT_EQ((*got)->cancels.size(), 1u);
  const Cancel& c = (*got)->cancels[0];
  EXPECT_EQ(c.at, cancel.at);
  EXPECT_EQ(c.request_id, "REQ-cancel");
  EXPECT_TRUE(c.queued);
  EXPECT_TRUE(c.unconfirmed);
  EXPECT_FALSE(c.notified);
  EXPECT_FALSE(c.in_progress);
  EXPECT_FALSE(c.scheduled);
  EXPECT_EQ(*(*store)->CountJobs(), 1);
  auto missing = (*store)->Get("1000000000000000002");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST(JobStore, DuplicateIdsAreRefused) {
  test_util::TempDir dir;
  auto store = JobStore::Open(dir.Join("sandbox.db"));
  ASSERT_TRUE(store.ok());
  Job job = MakeJob("1000000000000000001", "178", T0());
  ASSERT_TRUE((*store)->Insert(job).ok());
  EXPECT_EQ((*store)->Insert(job).code(), core::Status::Code::kConflict);
  EXPECT_TRUE(*(*store)->Exists(job.job_id));
  EXPECT_FALSE(*(*store)->Exists("1000000000000000009"));
}

TEST(JobStore, ListsByFirmwareNewestFirstWithPaging) {
  test_util::TempDir dir;
  auto store = JobStore::Open(dir.Join("sandbox.db"));
  ASSERT_TRUE(store.ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        (*store)->Insert(MakeJob(fmt::format("100000000000000000{}", i), "178", T0() + std::chrono::seconds(i))).ok());
  }
  ASSERT_TRUE((*store)->Insert(MakeJob("1000000000000000009", "other", T0())).ok());
  EXPECT_EQ(*(*store)->CountByFirmware("178"), 5);
  EXPECT_EQ(*(*store)->CountByFirmware("none"), 0);
  auto page1 = (*store)->ListByFirmware("178", 0, 2);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].job_id, "1000000000000000004");
  EXPECT_EQ((*page1)[1].job_id, "1000000000000000003");
  auto page3 = (*store)->ListByFirmware("178", 4, 2);
  ASSERT_EQ(page3->size(), 1u);
  EXPECT_EQ((*page3)[0].job_id, "1000000000000000000");
}

TEST(JobStore, RecentJobsAreThoseThatMayStillRun) {
  test_util::TempDir dir;
  auto store = JobStore::Open(dir.Join("sandbox.db"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Insert(MakeJob("1000000000000000001", "178", T0())).ok());  // runs 1.234 s
  ASSERT_TRUE((*store)->Insert(MakeJob("1000000000000000002", "178", T0() + std::chrono::seconds(10))).ok());
  auto recent = (*store)->Recent(T0() + std::chrono::seconds(5));
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].job_id, "1000000000000000002");
}

TEST(JobStore, RefusesFilesThatAreNotItsOwn) {
  test_util::TempDir dir;
  std::string text = dir.Write("notes.txt", std::string(4096, 'x'));
  auto store = JobStore::Open(text);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("sandbox data file"), std::string::npos) << store.status().message();
  EXPECT_EQ(store.status().message().find("--state"), std::string::npos) << store.status().message();

  std::string other = dir.Join("other.db");
  {
    auto db = JobStore::Open(other);
    ASSERT_TRUE(db.ok());
  }
  auto again = JobStore::Open(other);
  EXPECT_TRUE(again.ok());
  auto nowhere = JobStore::Open(dir.Join("missing/dir/sandbox.db"));
  EXPECT_FALSE(nowhere.ok());
}

TEST(JobStore, JobRecordRoundTripsThroughJson) {
  Job job = MakeJob("1000000000000000001", "178", T0());
  Job back;
  ASSERT_TRUE(JobFromJson(JobToJson(job), &back).ok());
  back.params = job.params;
  ExpectSame(back, job);
  EXPECT_EQ(JobFromJson("{}", &back).code(), core::Status::Code::kCorruption);
  EXPECT_EQ(JobFromJson("not json", &back).code(), core::Status::Code::kCorruption);
}

TEST(JobStore, UtcMillisAlwaysHasMilliseconds) {
  EXPECT_EQ(UtcMillis(*core::ParseRfc3339("2024-11-20T08:50:00Z")), "2024-11-20T08:50:00.000Z");
  EXPECT_EQ(UtcMillis(*core::ParseRfc3339("2024-11-20T08:50:00.239Z")), "2024-11-20T08:50:00.239Z");
}

}  // namespace
}  // namespace otaroll::sandbox
