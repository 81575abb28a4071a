// Concurrent creates (apply::Options::concurrency, issue 13): independent
// stage parts overlap up to the bound, a rollout's stages stay in order, and
// --max-creates and a lost lease hold exactly as with one worker. The
// platform is a thread-safe fake that can hold each create until a number of
// them are in flight together (bounded: it lets go after 10 s).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/applier.h"
#include "core/clock.h"
#include "state/memory_store.h"
#include "test_util/manifests.h"

namespace otaroll::apply {
namespace {

using state::AttemptStatus;

class GatheringPlatform final : public Platform {
 public:
  explicit GatheringPlatform(int gather) : gather_(gather) {}

  platform::CallResult<platform::CreatedJob> CreateJob(const spec::ParamSet& part, const std::string& intent) override {
    if (on_create_) on_create_(intent);
    std::unique_lock lock(mu_);
    const std::string key = Key(part);
    for (const auto& other : in_flight_) {
      if (other.substr(0, other.find('#')) == key.substr(0, key.find('#'))) overlapping_rollout_ = true;
    }
    in_flight_.insert(key);
    calls_.push_back(key);
    const std::string id = std::to_string(9000000000000000000LL + static_cast<int64_t>(calls_.size()));
    most_ = std::max(most_, static_cast<int>(in_flight_.size()));
    if (on_call_) on_call_(static_cast<int>(calls_.size()));
    cv_.notify_all();
    // Held until `gather_` creates are in flight together (or all that will
    // come have come: the test's own count), bounded.
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return most_ >= gather_; });
    in_flight_.erase(in_flight_.find(key));
    return platform::CreatedJob{id, "2026-11-30T10:00:00.000Z", "req-" + id};
  }
  platform::CallResult<std::vector<platform::JobInfo>> ListJobsByFirmware(const std::string&) override {
    return std::vector<platform::JobInfo>{};
  }
  platform::CallResult<platform::JobInfo> QueryJob(const std::string&) override { return platform::JobInfo{}; }
  platform::CallResult<std::vector<platform::TaskInfo>> ListTasks(const std::string&) override {
    return std::vector<platform::TaskInfo>{};
  }
  platform::CallResult<int64_t> CountTasks(const std::string&, const std::string&) override { return int64_t{0}; }
  platform::CallResult<platform::Empty> CancelTasks(const std::string&, const platform::CancelWhich&) override {
    return platform::Empty{};
  }

  // "firmware#target#first-device": a rollout is its firmware here.
  static std::string Key(const spec::ParamSet& part) {
    std::string key = part.at("FirmwareId").front() + "#" + part.at("TargetSelection").front();
    if (part.count("TargetDeviceName")) key += "#" + part.at("TargetDeviceName").front();
    return key;
  }

  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int most() {
    std::lock_guard lock(mu_);
    return most_;
  }
  bool overlapping_rollout() {
    std::lock_guard lock(mu_);
    return overlapping_rollout_;
  }
  void set_on_call(std::function<void(int)> f) { on_call_ = std::move(f); }
  void set_on_create(std::function<void(const std::string&)> f) { on_create_ = std::move(f); }

 private:
  const int gather_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multiset<std::string> in_flight_;
  std::vector<std::string> calls_;
  int most_ = 0;
  bool overlapping_rollout_ = false;
  std::function<void(int)> on_call_;
  std::function<void(const std::string&)> on_create_;
};

// `n` rollouts of `stages` (gray 10, group, all; no gates between them), each
// of its own product and firmware 100+i.
manifest::ManifestSet Rollouts(int n, int stages) {
  const char* kinds[] = {"{name: canary, gray: 10}", "{name: pilot, group: CtjzCkNuOx}", "{name: everyone, all: true}"};
  std::string text;
  for (int i = 0; i < n; ++i) {
    std::string list;
    for (int s = 0; s < stages; ++s) list += std::string(s ? ", " : "") + kinds[s];
    text += fmt::format(
        "---\napiVersion: otaroll/v1\nkind: Rollout\nmetadata: {{name: r{}}}\nspec:\n  productKey: k1nhvyl{:04}\n"
        "  firmwareId: \"{}\"\n  srcVersions: [\"2.3.9\"]\n  stages: [{}]\n",
        i, i, 100 + i, list);
  }
  return test_util::Parse(text);
}

class ConcurrentCreates : public ::testing::Test {
 protected:
  ConcurrentCreates() : clock_(*core::ParseRfc3339("2026-11-30T10:00:00Z")) {}

  Report Apply(const manifest::ManifestSet& m, Platform& platform, Options options) {
    Applier applier(store_, platform, clock_, std::move(options));
    Report report;
    auto s = applier.Refresh(m, &report);
    EXPECT_TRUE(s.ok()) << s.message();
    s = applier.Execute(m, &report);
    EXPECT_TRUE(s.ok()) << s.message();
    return report;
  }
  std::vector<state::Attempt> Attempts() {
    auto s = store_.Load();
    EXPECT_TRUE(s.ok());
    return s->attempts;
  }

  core::FixedClock clock_;
  state::MemoryStore store_;
};

TEST_F(ConcurrentCreates, IndependentStagesOverlapUpToTheBound) {
  GatheringPlatform platform(4);
  Options o;
  o.concurrency = 4;
  Report r = Apply(Rollouts(12, 1), platform, o);
  EXPECT_TRUE(r.ok()) << fmt::format("{}", fmt::join(r.problems, "\n"));
  EXPECT_EQ(r.created, 12);
  EXPECT_EQ(platform.most(), 4) << "four creates in flight at once, never more";
  const auto calls = platform.calls();
  EXPECT_EQ(std::set<std::string>(calls.begin(), calls.end()).size(), 12u) << "each stage once";
  for (const auto& a : Attempts()) EXPECT_EQ(a.status, AttemptStatus::kCreated);
}

TEST_F(ConcurrentCreates, ARolloutsStagesStayInOrder) {
  GatheringPlatform platform(4);
  Options o;
  o.concurrency = 8;
  Report r = Apply(Rollouts(4, 3), platform, o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.created, 12);
  EXPECT_EQ(platform.most(), 4) << "the four rollouts' stages overlap";
  EXPECT_FALSE(platform.overlapping_rollout()) << "two stages of one rollout were in flight together";
  std::map<std::string, std::vector<std::string>> by_rollout;
  for (const auto& call : platform.calls()) {
    by_rollout[call.substr(0, call.find('#'))].push_back(call.substr(call.find('#') + 1));
  }
  ASSERT_EQ(by_rollout.size(), 4u);
  for (const auto& [firmware, targets] : by_rollout) {
    EXPECT_EQ(targets, (std::vector<std::string>{"GRAY", "GROUP", "ALL"})) << firmware;
  }
}

TEST_F(ConcurrentCreates, ThePartsOfALargeStageOverlap) {
  std::string devices;
  for (int d = 0; d < 5 * 200; ++d) devices += fmt::format("{}dev-{:04}", d ? ", " : "", d);
  auto m = test_util::Parse(
      fmt::format("apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {{name: big}}\nspec:\n  productKey: k1nhvyl0001\n"
                  "  firmwareId: \"178\"\n  srcVersions: [\"2.3.9\"]\n  stages: [{{name: lab, devices: [{}]}}]\n",
                  devices));
  GatheringPlatform platform(5);
  Options o;
  o.concurrency = 8;
  Report r = Apply(m, platform, o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.created, 5);
  EXPECT_EQ(platform.most(), 5) << "the five parts (200 devices each) in flight together";
  std::set<int> parts;
  for (const auto& a : Attempts()) {
    EXPECT_EQ(a.status, AttemptStatus::kCreated);
    parts.insert(a.part);
  }
  EXPECT_EQ(parts, (std::set<int>{0, 1, 2, 3, 4}));
}

// Intents are committed a batch at a time (one sync for several creates),
// and every one of them before its call: another handle on the state sees it
// pending when the platform is called.
TEST_F(ConcurrentCreates, EveryIntentIsCommittedBeforeItsCall) {
  GatheringPlatform platform(4);
  auto other = store_.OpenAnother();
  ASSERT_TRUE(other.ok());
  std::mutex mu;
  std::set<std::string> seen_pending;
  std::optional<size_t> pending_at_first_call;
  platform.set_on_create([&](const std::string& intent) {
    auto snapshot = (*other)->Load();
    ASSERT_TRUE(snapshot.ok());
    std::lock_guard lock(mu);
    size_t pending = 0;
    for (const auto& a : snapshot->attempts) {
      if (a.status != AttemptStatus::kPending) continue;
      ++pending;
      if (a.intent_id == intent) seen_pending.insert(intent);
    }
    if (!pending_at_first_call) pending_at_first_call = pending;
  });
  Options o;
  o.concurrency = 4;
  o.intent_tags = true;  // the platform is told each call's intent
  Report r = Apply(Rollouts(12, 1), platform, o);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.created, 12);
  EXPECT_EQ(seen_pending.size(), 12u) << "a call was made before its intent was committed";
  EXPECT_EQ(pending_at_first_call, 4u) << "the first four intents were committed together, before the first call";
  EXPECT_EQ(Attempts().size(), 12u);
}

TEST_F(ConcurrentCreates, MaxCreatesHoldsExactly) {
  GatheringPlatform platform(3);
  Options o;
  o.concurrency = 8;
  o.max_creates = 3;
  Report r = Apply(Rollouts(10, 1), platform, o);
  EXPECT_EQ(r.created, 3);
  EXPECT_EQ(r.create_calls, 3);
  EXPECT_EQ(platform.calls().size(), 3u);
  EXPECT_EQ(Attempts().size(), 3u) << "no intent is written for a part that is not started";
  ASSERT_EQ(r.problems.size(), 7u);
  EXPECT_EQ(r.problems[0].substr(r.problems[0].find(':')), ": not started: --max-creates 3 reached");
}

TEST_F(ConcurrentCreates, ALostLeaseStopsEveryWorkerBeforeItsNextCreate) {
  GatheringPlatform platform(1);
  std::atomic<bool> lost{false};
  platform.set_on_call([&](int n) {
    if (n == 3) lost = true;  // taken away while the third create is in flight
  });
  Options o;
  o.concurrency = 2;
  o.lease_lost = [&] { return lost.load(); };
  Report r = Apply(Rollouts(10, 1), platform, o);
  EXPECT_TRUE(r.stopped);
  const size_t calls = platform.calls().size();
  EXPECT_GE(calls, 3u);
  EXPECT_LE(calls, 4u) << "at most the other worker's call in flight goes on";
  // Intents are written two at a time (one per worker): one written for a
  // call that was then not made is recorded as not created, never left
  // pending; no intent is written after the loss.
  size_t created = 0, not_sent = 0;
  for (const auto& a : Attempts()) {
    if (a.status == AttemptStatus::kCreated) {
      ++created;
    } else {
      EXPECT_EQ(a.status, AttemptStatus::kFailed);
      EXPECT_EQ(a.error_code, state::kNotCreated);
      EXPECT_EQ(a.error_message, "not created: the run stopped before its call was made");
      ++not_sent;
    }
  }
  EXPECT_EQ(created, calls) << "every call in flight recorded";
  EXPECT_LE(not_sent, 1u);
  EXPECT_EQ(r.not_created, static_cast<int>(not_sent));
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems.back(), "the lease on the state file was lost (another process took it); the run stopped");
}

// A lease that may run out before a create is answered (its heartbeats are
// late, or the process was paused past its margin) stops the run before the
// next create, as a lost one does: intents already written are recorded as
// not created, never sent.
TEST_F(ConcurrentCreates, ALeaseWithoutItsSafetyMarginLeftStopsTheRunBeforeItsNextCreate) {
  GatheringPlatform platform(1);
  std::atomic<bool> unsafe{false};
  platform.set_on_call([&](int n) {
    if (n == 2) unsafe = true;  // the margin runs out while the second create is in flight
  });
  Options o;
  o.concurrency = 1;
  o.lease_unsafe = [&] { return unsafe.load(); };
  Report r = Apply(Rollouts(10, 1), platform, o);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(platform.calls().size(), 2u) << "no create after the margin ran out";
  for (const auto& a : Attempts()) {
    if (a.status != AttemptStatus::kCreated) {
      EXPECT_EQ(a.status, AttemptStatus::kFailed);
      EXPECT_EQ(a.error_code, state::kNotCreated);
    }
  }
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems.back(),
            "the lease on the state may run out before a create is answered (its heartbeats are late); nothing more "
            "is sent and the run stopped");
}

}  // namespace
}  // namespace otaroll::apply
