// The Pacer (platform/pacer.h): evenly spaced slots per call class, shared by
// every thread, halved by throttling and won back by answers. Time is a fake
// clock that records every wait instead of sleeping.
#include "platform/pacer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/time.h"
#include "platform/client.h"

namespace otaroll::platform {
namespace {

using std::chrono::milliseconds;

// Now() is fixed; Sleep(d) records d and returns at once (thread-safe).
class RecordingClock final : public core::Clock {
 public:
  core::Time Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Sleep(core::Duration d) override {
    std::lock_guard lock(mu_);
    waits_.push_back(d);
  }
  void Advance(core::Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  std::vector<core::Duration> waits() const {
    std::lock_guard lock(mu_);
    return waits_;
  }

 private:
  mutable std::mutex mu_;
  core::Time now_ = *core::ParseRfc3339("2026-11-30T10:00:00Z");
  std::vector<core::Duration> waits_;
};

TEST(Pacer, SlotsAreEvenlySpacedAtTheBudget) {
  RecordingClock clock;
  Pacer pacer(RateLimits{20, 10, 5}, clock);
  for (int i = 0; i < 4; ++i) pacer.Wait(CallClass::kCreate);
  for (int i = 0; i < 2; ++i) pacer.Wait(CallClass::kCancel);
  // The first call of each class goes at once; the next wait 1/20 s, 2/20 s…
  // (creates) and 1/5 s (cancels): each class has its own budget.
  std::vector<core::Duration> want = {milliseconds(50), milliseconds(100), milliseconds(150), milliseconds(200)};
  EXPECT_EQ(clock.waits(), want);
}

TEST(Pacer, ManyThreadsTogetherStayWithinTheBudget) {
  RecordingClock clock;
  Pacer pacer(RateLimits{20, 10, 5}, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) pacer.Wait(CallClass::kCreate);
    });
  }
  for (auto& t : threads) t.join();
  // 80 calls took 80 distinct slots 50 ms apart: 0 (no wait), 50 ms, …, 3950 ms.
  auto waits = clock.waits();
  std::set<int64_t> slots;
  for (auto d : waits) slots.insert(std::chrono::duration_cast<milliseconds>(d).count());
  ASSERT_EQ(waits.size(), 79u);
  ASSERT_EQ(slots.size(), 79u);
  EXPECT_EQ(*slots.begin(), 50);
  EXPECT_EQ(*slots.rbegin(), 79 * 50);
}

TEST(Pacer, ThrottlingHalvesTheRateAndAnswersWinItBack) {
  RecordingClock clock;
  Pacer pacer(RateLimits{16, 10, 5}, clock);
  EXPECT_EQ(pacer.rate(CallClass::kCreate), 16);
  pacer.Throttled(CallClass::kCreate);
  EXPECT_EQ(pacer.rate(CallClass::kCreate), 8);
  pacer.Throttled(CallClass::kCreate);
  EXPECT_EQ(pacer.rate(CallClass::kCreate), 4);
  for (int i = 0; i < 10; ++i) pacer.Throttled(CallClass::kCreate);
  EXPECT_EQ(pacer.rate(CallClass::kCreate), 1) << "never below 1/16 of the budget";
  EXPECT_EQ(pacer.rate(CallClass::kRead), 10) << "other classes are not slowed";
  EXPECT_EQ(pacer.throttled(), 12);
  // Each answer wins back 1/16 of the budget (1/s here), up to the budget.
  for (int i = 0; i < 7; ++i) pacer.Answered(CallClass::kCreate);
  EXPECT_EQ(pacer.rate(CallClass::kCreate), 8);
  for (int i = 0; i < 20; ++i) pacer.Answered(CallClass::kCreate);
  EXPECT_EQ(pacer.rate(CallClass::kCreate), 16);
}

TEST(Pacer, AThrottledAnswerPushesTheNextSlotOut) {
  RecordingClock clock;
  Pacer pacer(RateLimits{20, 10, 5}, clock);
  pacer.Wait(CallClass::kCreate);       // at once; the next slot is 50 ms on
  pacer.Throttled(CallClass::kCreate);  // 10/s now: the next slot is 100 ms on
  clock.Advance(milliseconds(40));
  pacer.Wait(CallClass::kCreate);
  std::vector<core::Duration> want = {milliseconds(60)};
  EXPECT_EQ(clock.waits(), want);
}

TEST(Pacer, AClassWithoutABudgetIsNotPaced) {
  RecordingClock clock;
  Pacer pacer(RateLimits{0, 10, 5}, clock);
  for (int i = 0; i < 100; ++i) pacer.Wait(CallClass::kCreate);
  pacer.Throttled(CallClass::kCreate);
  EXPECT_TRUE(clock.waits().empty());
}

// The client's default pace is 2.5 % under the platform's documented limits.
TEST(Pacer, TheClientPacesJustUnderTheAccountsLimits) {
  const RateLimits paced = PacedBelow(RateLimits{});
  EXPECT_EQ(paced.create_qps, 19.5);
  EXPECT_EQ(paced.read_qps, 9.75);
  EXPECT_EQ(paced.cancel_qps, 4.875);
  const RateLimits defaults = ClientConfig{}.limits;
  EXPECT_EQ(defaults.create_qps, 19.5);
  EXPECT_EQ(defaults.read_qps, 9.75);
  EXPECT_EQ(defaults.cancel_qps, 4.875);
  EXPECT_EQ(PacedBelow(RateLimits{40, 20, 10}).create_qps, 39);
}

TEST(Pacer, RateFiguresAreThreePositiveNumbers) {
  auto ok = ParseRateFigures("20,10,5");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->create_qps, 20);
  EXPECT_EQ(ok->read_qps, 10);
  EXPECT_EQ(ok->cancel_qps, 5);
  auto fractional = ParseRateFigures("0.5,2.25,1");
  ASSERT_TRUE(fractional.has_value());
  EXPECT_EQ(fractional->create_qps, 0.5);
  for (const char* bad :
       {"", "20", "20,10", "20,10,5,1", "20,,5", "20,10,", "a,b,c", "0,10,5", "-1,10,5", "20,10,5x", "2e7,10,5"}) {
    EXPECT_FALSE(ParseRateFigures(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace otaroll::platform
