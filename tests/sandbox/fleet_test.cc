#include "sandbox/fleet.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/time.h"

namespace otaroll::sandbox {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

core::Time T0() {
  return *core::ParseRfc3339("2024-11-20T08:50:00Z");
}

Job MakeJob(const std::string& selection, int64_t fleet_size = 1000, uint64_t seed = 1) {
  Job job;
  job.job_id = "1834567890123456789";
  job.product_key = "pk1";
  job.firmware_id = "178";
  job.target_selection = selection;
  job.created = T0();
  job.fleet.fleet_size = fleet_size;
  job.fleet.seed = seed;
  job.fleet.task_ms = 60000;
  job.fleet.failure_percent = 2;
  return job;
}

std::map<std::string, int> Count(const std::vector<Task>& tasks) {
  std::map<std::string, int> out;
  for (const auto& t : tasks) ++out[TaskStatusName(t.status)];
  return out;
}

TEST(Fleet, DeviceNamesAreDeterministicAndWidenWithTheFleet) {
  EXPECT_EQ(DeviceName("pk1", 1, 1000), "pk1-0001");
  EXPECT_EQ(DeviceName("pk1", 1000, 1000), "pk1-1000");
  EXPECT_EQ(DeviceName("pk1", 7, 20000), "pk1-00007");
}

TEST(Fleet, AllTargetsTheWholeFleetInOrder) {
  auto targets = Targets(MakeJob("ALL", 12));
  ASSERT_EQ(targets.size(), 12u);
  EXPECT_EQ(targets.front(), "pk1-0001");
  EXPECT_EQ(targets.back(), "pk1-0012");
}

TEST(Fleet, GrayTargetsExactlyThePercentDeterministically) {
  Job job = MakeJob("GRAY");
  job.gray_percent = 10;
  auto targets = Targets(job);
  EXPECT_EQ(targets.size(), 100u);
  EXPECT_TRUE(std::is_sorted(targets.begin(), targets.end()));
  EXPECT_EQ(Targets(job), targets);
  Job other = job;
  other.fleet.seed = 2;
  EXPECT_NE(Targets(other), targets);
  Job another = job;
  another.job_id = "1834567890123456790";
  EXPECT_NE(Targets(another), targets) << "each job draws its own devices";
  job.gray_percent = 1;
  job.fleet.fleet_size = 10;
  EXPECT_EQ(Targets(job).size(), 1u) << "at least one device";
  job.gray_percent = 100;
  EXPECT_EQ(Targets(job).size(), 10u);
}

TEST(Fleet, GroupIsTheSameSubsetForEveryJob) {
  Job job = MakeJob("GROUP");
  job.group_id = "CtjzCkNuOx";
  auto targets = Targets(job);
  EXPECT_GT(targets.size(), 120u);
  EXPECT_LT(targets.size(), 280u);
  Job other = job;
  other.job_id = "1834567890123456790";
  EXPECT_EQ(Targets(other), targets);
  other.group_id = "another";
  EXPECT_NE(Targets(other), targets);
}

TEST(Fleet, SpecificTargetsTheListedNames) {
  Job job = MakeJob("SPECIFIC");
  job.devices = {"dev-b", "dev-a", "anything at all"};
  EXPECT_EQ(Targets(job), job.devices);
}

TEST(Fleet, TasksProgressOverTimeAndAllEndWithinTaskTime) {
  Job job = MakeJob("ALL", 200);
  auto at0 = Count(TasksAt(job, T0()));
  EXPECT_EQ(at0["QUEUED"], 200);
  auto mid = Count(TasksAt(job, T0() + seconds(20)));
  EXPECT_GT(mid["NOTIFIED"] + mid["IN_PROGRESS"], 0);
  EXPECT_EQ(mid["SUCCEEDED"] + mid["FAILED"], 0) << "no task ends before half the task time";
  auto late = Count(TasksAt(job, T0() + seconds(45)));
  EXPECT_GT(late["SUCCEEDED"], 0);
  EXPECT_GT(late["IN_PROGRESS"], 0);
  auto end = Count(TasksAt(job, T0() + seconds(60)));
  EXPECT_EQ(end["SUCCEEDED"] + end["FAILED"], 200);
  EXPECT_EQ(JobStateAt(job, T0() + seconds(59)).status, "IN_PROGRESS");
  JobState done = JobStateAt(job, T0() + seconds(60));
  EXPECT_EQ(done.status, "COMPLETED");
  ASSERT_TRUE(done.ended);
  EXPECT_LE(*done.ended, T0() + seconds(60));
  EXPECT_EQ(done.modified, *done.ended);
}

TEST(Fleet, OneTaskWalksThroughEveryStateInOrder) {
  Job job = MakeJob("ALL", 10);
  std::vector<TaskStatus> seen;
  for (int ms = 0; ms <= 60000; ms += 50) {
    Task t = TaskAt(job, "pk1-0003", T0() + milliseconds(ms));
    if (seen.empty() || seen.back() != t.status) seen.push_back(t.status);
    EXPECT_LE(t.modified, T0() + milliseconds(ms));
    EXPECT_GE(t.progress, 0);
    EXPECT_LE(t.progress, 100);
  }
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0], TaskStatus::kQueued);
  EXPECT_EQ(seen[1], TaskStatus::kNotified);
  EXPECT_EQ(seen[2], TaskStatus::kInProgress);
  EXPECT_TRUE(seen[3] == TaskStatus::kSucceeded || seen[3] == TaskStatus::kFailed);
}

TEST(Fleet, DeterministicWithASeedAndDifferentWithAnother) {
  Job a = MakeJob("ALL", 300, 7);
  Job b = MakeJob("ALL", 300, 7);
  Job c = MakeJob("ALL", 300, 8);
  auto when = T0() + seconds(40);
  auto ta = TasksAt(a, when);
  auto tb = TasksAt(b, when);
  auto tc = TasksAt(c, when);
  int differ = 0;
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].status, tb[i].status);
    EXPECT_EQ(ta[i].modified, tb[i].modified);
    EXPECT_EQ(ta[i].task_id, tb[i].task_id);
    if (ta[i].modified != tc[i].modified) ++differ;
  }
  EXPECT_GT(differ, 250);
}

TEST(Fleet, FailureShareIsRoughlyAsConfigured) {
  Job job = MakeJob("ALL", 100000);
  job.fleet.failure_percent = 5;
  auto counts = Count(TasksAt(job, T0() + seconds(60)));
  EXPECT_NEAR(counts["FAILED"], 5000, 400);
  EXPECT_EQ(counts["FAILED"] + counts["SUCCEEDED"], 100000);
  job.fleet.failure_percent = 0;
  EXPECT_EQ(Count(TasksAt(job, T0() + seconds(60)))["FAILED"], 0);
  job.fleet.failure_percent = 100;
  job.fleet.fleet_size = 1000;
  EXPECT_EQ(Count(TasksAt(job, T0() + seconds(60)))["FAILED"], 1000);
}

TEST(Fleet, FailedTasksSayWhy) {
  Job job = MakeJob("ALL", 100);
  job.fleet.failure_percent = 100;
  for (const auto& t : TasksAt(job, T0() + seconds(60))) {
    EXPECT_EQ(t.status, TaskStatus::kFailed);
    EXPECT_FALSE(t.desc.empty());
    EXPECT_LT(t.progress, 100);
  }
}

TEST(Fleet, NeedConfirmShowsConfirmInsteadOfQueued) {
  Job job = MakeJob("ALL", 5);
  job.need_confirm = true;
  EXPECT_EQ(Count(TasksAt(job, T0()))["CONFIRM"], 5);
}

TEST(Fleet, CancelTurnsTasksInTheCancelledCategoriesIntoCanceledFromThen) {
  Job job = MakeJob("ALL", 500);
  core::Time at = T0() + seconds(20);
  auto before = TasksAt(job, at);
  Cancel cancel;
  cancel.at = at;
  cancel.queued = true;
  cancel.notified = true;
  job.cancels.push_back(cancel);
  auto later = TasksAt(job, T0() + seconds(120));
  int canceled = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    bool hit = before[i].status == TaskStatus::kQueued || before[i].status == TaskStatus::kNotified;
    if (hit) {
      ++canceled;
      EXPECT_EQ(later[i].status, TaskStatus::kCanceled);
      EXPECT_EQ(later[i].modified, at);
      EXPECT_EQ(later[i].desc, kCanceledTaskDesc);
    } else {
      EXPECT_TRUE(later[i].status == TaskStatus::kSucceeded || later[i].status == TaskStatus::kFailed)
          << "in progress at the cancellation: goes on";
    }
  }
  EXPECT_GT(canceled, 0);
  EXPECT_LT(canceled, 500);
  // Before the cancellation nothing changed.
  auto earlier = TasksAt(job, T0() + seconds(10));
  for (const auto& t : earlier) EXPECT_NE(t.status, TaskStatus::kCanceled);
  JobState state = JobStateAt(job, T0() + seconds(120));
  EXPECT_EQ(state.status, "CANCELED");
  ASSERT_TRUE(state.ended);
  EXPECT_EQ(*state.ended, at);
  EXPECT_EQ(JobStateAt(job, T0() + seconds(10)).status, "IN_PROGRESS");
}

TEST(Fleet, CancelInProgressOnly) {
  Job job = MakeJob("ALL", 300);
  core::Time at = T0() + seconds(35);
  auto before = TasksAt(job, at);
  Cancel cancel;
  cancel.at = at;
  cancel.in_progress = true;
  job.cancels.push_back(cancel);
  auto after = TasksAt(job, at + seconds(100));
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].status == TaskStatus::kInProgress) {
      EXPECT_EQ(after[i].status, TaskStatus::kCanceled);
      EXPECT_EQ(after[i].progress, before[i].progress);
    } else {
      EXPECT_NE(after[i].status, TaskStatus::kCanceled);
    }
  }
}

TEST(Fleet, CancelAfterCompletionChangesNothing) {
  Job job = MakeJob("ALL", 50);
  Cancel cancel;
  cancel.at = T0() + seconds(61);
  cancel.queued = cancel.notified = cancel.in_progress = cancel.unconfirmed = cancel.scheduled = true;
  job.cancels.push_back(cancel);
  EXPECT_EQ(JobStateAt(job, T0() + seconds(70)).status, "COMPLETED");
  EXPECT_EQ(Count(TasksAt(job, T0() + seconds(70)))["CANCELED"], 0);
}

TEST(Fleet, JobWithoutTargetsIsCompletedAtOnce) {
  Job job = MakeJob("ALL", 0);
  EXPECT_EQ(JobStateAt(job, T0()).status, "COMPLETED");
}

TEST(Fleet, BusyDevicesFailInTheLaterJob) {
  BusyTracker tracker;
  Job first = MakeJob("ALL", 100);
  tracker.Occupy(first, Targets(first));
  EXPECT_EQ(tracker.size(), 100u);

  Job second = MakeJob("GRAY", 100);
  second.job_id = "1834567890123456790";
  second.gray_percent = 50;
  second.created = T0() + seconds(40);
  auto targets = Targets(second);
  second.busy = tracker.BusyTargets(second, targets);
  auto first_at = TasksAt(first, second.created);
  std::set<std::string> unfinished;
  for (const auto& t : first_at) {
    if (!t.ended) unfinished.insert(t.device);
  }
  std::set<std::string> expected;
  for (const auto& d : targets) {
    if (unfinished.count(d)) expected.insert(d);
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(std::set<std::string>(second.busy.begin(), second.busy.end()), expected);
  for (const auto& t : TasksAt(second, second.created + seconds(1))) {
    if (expected.count(t.device)) {
      EXPECT_EQ(t.status, TaskStatus::kFailed);
      EXPECT_EQ(t.desc, kBusyTaskDesc);
      EXPECT_EQ(t.modified, second.created);
    } else {
      EXPECT_NE(t.desc, kBusyTaskDesc);
    }
  }
  // Another product is never busy; once everything ended, nothing is.
  Job other = second;
  other.product_key = "pk2";
  EXPECT_TRUE(tracker.BusyTargets(other, targets).empty());
  Job much_later = second;
  much_later.created = T0() + seconds(61);
  tracker.Occupy(second, targets);
  much_later.job_id = "1834567890123456791";
  much_later.created = T0() + seconds(200);
  EXPECT_TRUE(tracker.BusyTargets(much_later, targets).empty());
  tracker.Purge(T0() + seconds(200));
  EXPECT_EQ(tracker.size(), 0u);
}

TEST(Fleet, CancelledDevicesAreFreeFromTheCancellation) {
  BusyTracker tracker;
  Job first = MakeJob("ALL", 50);
  tracker.Occupy(first, Targets(first));
  Cancel cancel;
  cancel.at = T0() + seconds(1);
  cancel.queued = cancel.notified = cancel.in_progress = true;
  first.cancels.push_back(cancel);
  tracker.Refresh(first);
  Job second = MakeJob("ALL", 50);
  second.job_id = "1834567890123456790";
  second.created = T0() + seconds(2);
  EXPECT_TRUE(tracker.BusyTargets(second, Targets(second)).empty());
}

TEST(Fleet, BusyDevicesCanBeIgnored) {
  BusyTracker tracker;
  Job first = MakeJob("ALL", 10);
  first.fleet.busy_devices = false;
  tracker.Occupy(first, Targets(first));
  EXPECT_EQ(tracker.size(), 0u);
}

TEST(Fleet, TaskStatusNamesRoundTrip) {
  for (auto s : {TaskStatus::kConfirm, TaskStatus::kQueued, TaskStatus::kNotified, TaskStatus::kInProgress,
                 TaskStatus::kSucceeded, TaskStatus::kFailed, TaskStatus::kCanceled}) {
    EXPECT_EQ(ParseTaskStatus(TaskStatusName(s)), s);
  }
  EXPECT_FALSE(ParseTaskStatus("queued"));
}

}  // namespace
}  // namespace otaroll::sandbox
