#include "sandbox/rate.h"

#include <gtest/gtest.h>

namespace otaroll::sandbox {
namespace {

using Class = RateLimiter::Class;

const core::Time kT0 = *core::ParseRfc3339("2026-11-30T10:00:00Z");

TEST(RateLimiter, EachAccountAndCallClassHasABudgetOfItsOwn) {
  RateLimiter limiter{RateLimits{}};
  int taken = 0;
  for (int i = 0; i < 30; ++i) taken += limiter.Take("a", Class::kCreate, kT0);
  EXPECT_EQ(taken, 20);
  EXPECT_TRUE(limiter.Take("b", Class::kCreate, kT0));  // another account
  taken = 0;
  for (int i = 0; i < 30; ++i) taken += limiter.Take("a", Class::kQuery, kT0);
  EXPECT_EQ(taken, 10);
  taken = 0;
  for (int i = 0; i < 30; ++i) taken += limiter.Take("a", Class::kCancel, kT0);
  EXPECT_EQ(taken, 5);
}

TEST(RateLimiter, TheBudgetRefillsContinuouslyUpToOneSecondOfIt) {
  RateLimiter limiter{RateLimits{}};
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(limiter.Take("a", Class::kCreate, kT0));
  EXPECT_FALSE(limiter.Take("a", Class::kCreate, kT0));
  EXPECT_FALSE(limiter.Take("a", Class::kCreate, kT0 + std::chrono::milliseconds(49)));
  EXPECT_TRUE(limiter.Take("a", Class::kCreate, kT0 + std::chrono::milliseconds(50)));
  // A long pause refills one second's worth, no more.
  int taken = 0;
  for (int i = 0; i < 40; ++i) taken += limiter.Take("a", Class::kCreate, kT0 + std::chrono::minutes(1));
  EXPECT_EQ(taken, 20);
}

TEST(RateLimiter, OffTakesEverything) {
  RateLimiter limiter{RateLimits{.enabled = false}};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Take("a", Class::kCreate, kT0));
}

TEST(RateLimiter, ActionsFallIntoTheirClasses) {
  EXPECT_EQ(RateLimiter::ClassOf("CreateOTAStaticUpgradeJob"), Class::kCreate);
  EXPECT_EQ(RateLimiter::ClassOf("CancelOTATaskByJob"), Class::kCancel);
  for (const char* read : {"QueryOTAJob", "ListOTAJobByFirmware", "ListOTATaskByJob"}) {
    EXPECT_EQ(RateLimiter::ClassOf(read), Class::kQuery) << read;
  }
}

TEST(RateLimits, TheOptionReadsOnOffOrThreeFigures) {
  EXPECT_TRUE(ParseRateLimits("on")->enabled);
  EXPECT_EQ(Describe(*ParseRateLimits("on")), "20/s create, 10/s query and list, 5/s cancel");
  EXPECT_FALSE(ParseRateLimits("off")->enabled);
  EXPECT_EQ(Describe(*ParseRateLimits("off")), "off");
  auto custom = ParseRateLimits("40,20.5,10");
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->create, 40);
  EXPECT_EQ(custom->query, 20.5);
  EXPECT_EQ(custom->cancel, 10);
  for (const char* bad : {"", "fast", "20,10", "20,10,5,1", "20,0,5", "20,,5", "20,-1,5", "20,10,5x"}) {
    auto r = ParseRateLimits(bad);
    ASSERT_FALSE(r.ok()) << bad;
  }
  EXPECT_EQ(ParseRateLimits("20,10").status().message(),
            "--rate-limits 20,10: not on, off, or three calls-per-second figures CREATE,QUERY,CANCEL (the "
            "platform's are 20,10,5)");
}

}  // namespace
}  // namespace otaroll::sandbox
