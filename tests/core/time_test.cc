#include "core/time.h"

#include <gtest/gtest.h>

namespace otaroll::core {
namespace {

TEST(Time, ParsesAndFormatsRfc3339) {
  auto t = ParseRfc3339("2026-12-01T02:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-12-01T02:00:00Z");
  auto ms = ParseRfc3339("2024-11-20T08:50:00.239Z");
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(FormatRfc3339(*ms), "2024-11-20T08:50:00.239Z");
}

TEST(Time, AppliesOffsets) {
  auto t = ParseRfc3339("2026-12-01T04:30:00+02:30");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatRfc3339(*t), "2026-12-01T02:00:00Z");
}

TEST(Time, RejectsMalformed) {
  EXPECT_FALSE(ParseRfc3339("2026-13-01T02:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-02-30T02:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-12-01T02:00:00"));
  EXPECT_FALSE(ParseRfc3339("2026-12-01 02:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-12-01T24:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-12-01T02:00:00Zjunk"));
}

TEST(Time, FormatsDurations) {
  using namespace std::chrono;
  EXPECT_EQ(FormatDuration(hours(24)), "1d");
  EXPECT_EQ(FormatDuration(minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(seconds(0)), "0s");
  EXPECT_EQ(FormatDuration(hours(49) + seconds(5)), "2d1h5s");
}

}  // namespace
}  // namespace otaroll::core
