// Promotion windows in time (manifest/window.h): days, wrapping midnight,
// several windows, and daylight-saving transitions in two zones, from the
// system's tz database.
#include "manifest/window.h"

#include <gtest/gtest.h>

namespace otaroll::manifest {
namespace {

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

Window W(std::vector<int> days, int start_h, int end_h, const char* zone) {
  Window w;
  w.days = std::move(days);
  w.start_minute = start_h * 60;
  w.end_minute = end_h * 60;
  w.hours = "x";
  w.time_zone = zone;
  return w;
}

constexpr int kMon = 0, kTue = 1, kWed = 2, kThu = 3, kSat = 5;

TEST(Window, KnownZones) {
  EXPECT_TRUE(KnownTimeZone("Europe/Berlin"));
  EXPECT_TRUE(KnownTimeZone("America/New_York"));
  EXPECT_TRUE(KnownTimeZone("UTC"));
  EXPECT_FALSE(KnownTimeZone("Europe/Berln"));
  EXPECT_FALSE(KnownTimeZone(""));
}

// Tue–Thu 22:00–04:00 Berlin: it wraps midnight, so Friday 03:00 is inside
// (opened Thursday) and Saturday 03:00 is not.
TEST(Window, ANightWindowWrapsMidnightAndKeepsToItsDays) {
  const std::vector<Window> night = {W({kTue, kWed, kThu}, 22, 4, "Europe/Berlin")};
  // Wednesday 2026-11-25 11:00 CET: next Wednesday 22:00 CET = 21:00Z.
  EXPECT_EQ(NextOpening(night, T("2026-11-25T10:00:00Z")), T("2026-11-25T21:00:00Z"));
  EXPECT_EQ(NextOpening(night, T("2026-11-27T02:00:00Z")), T("2026-11-27T02:00:00Z"));  // Fri 03:00, opened Thu
  EXPECT_EQ(NextOpening(night, T("2026-11-28T02:00:00Z")), T("2026-12-01T21:00:00Z"));  // Sat: next Tue
  EXPECT_EQ(NextOpening(night, T("2026-11-27T03:00:00Z")), T("2026-12-01T21:00:00Z"));  // Fri 04:00: closed
  EXPECT_EQ(Describe(night[0]), "Tue, Wed, Thu x Europe/Berlin");
}

TEST(Window, SeveralWindowsAnyOfThem) {
  const std::vector<Window> both = {W({kMon}, 9, 10, "UTC"), W({kWed}, 1, 2, "UTC")};
  EXPECT_EQ(NextOpening(both, T("2026-11-24T12:00:00Z")), T("2026-11-25T01:00:00Z"));  // Tue → Wed 01:00
  EXPECT_EQ(NextOpening(both, T("2026-11-25T02:00:00Z")), T("2026-11-30T09:00:00Z"));  // Wed 02:00 → Mon 09:00
  Window every = W({}, 0, 24, "UTC");
  EXPECT_EQ(NextOpening({every}, T("2026-11-25T02:00:00Z")), T("2026-11-25T02:00:00Z"));
  EXPECT_FALSE(NextOpening({}, T("2026-11-25T02:00:00Z")).has_value());
}

// Berlin, 2027-03-28: clocks jump from 02:00 CET to 03:00 CEST. 02:00–05:00
// local opens at the jump (01:00Z) and closes at 05:00 CEST (03:00Z).
TEST(Window, BerlinSpringForwardOpensAtTheJump) {
  const std::vector<Window> w = {W({}, 2, 5, "Europe/Berlin")};
  EXPECT_EQ(NextOpening(w, T("2027-03-27T20:00:00Z")), T("2027-03-28T01:00:00Z"));
  EXPECT_EQ(NextOpening(w, T("2027-03-28T02:59:00Z")), T("2027-03-28T02:59:00Z"));
  EXPECT_EQ(NextOpening(w, T("2027-03-28T03:00:00Z")), T("2027-03-29T00:00:00Z"));  // 02:00 CEST the next day
}

// Berlin, 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET, so
// 02:00–03:00 local happens twice; the window holds both: 00:00Z–02:00Z.
TEST(Window, BerlinFallBackHoldsTheRepeatedHourTwice) {
  const std::vector<Window> w = {W({}, 2, 3, "Europe/Berlin")};
  EXPECT_EQ(NextOpening(w, T("2026-10-24T22:00:00Z")), T("2026-10-25T00:00:00Z"));
  EXPECT_EQ(NextOpening(w, T("2026-10-25T01:30:00Z")), T("2026-10-25T01:30:00Z"));  // the second 02:30
  EXPECT_EQ(NextOpening(w, T("2026-10-25T02:00:00Z")), T("2026-10-26T01:00:00Z"));  // 02:00 CET next day
}

// New York, 2027-03-14: clocks jump from 02:00 EST to 03:00 EDT. Saturday's
// 22:00–02:00 window closes at the jump (07:00Z), not an hour later.
TEST(Window, NewYorkSpringForwardClosesAWrappingWindowAtTheJump) {
  const std::vector<Window> w = {W({kSat}, 22, 2, "America/New_York")};
  EXPECT_EQ(NextOpening(w, T("2027-03-13T12:00:00Z")), T("2027-03-14T03:00:00Z"));  // Sat 22:00 EST
  EXPECT_EQ(NextOpening(w, T("2027-03-14T06:59:00Z")), T("2027-03-14T06:59:00Z"));
  EXPECT_EQ(NextOpening(w, T("2027-03-14T07:00:00Z")), T("2027-03-21T02:00:00Z"));  // next Sat 22:00 EDT
}

// New York, 2026-11-01: clocks go back from 02:00 EDT to 01:00 EST; a window
// 01:00–01:30 holds both 01:00–01:30 (EDT and EST): 05:00Z–06:30Z.
TEST(Window, NewYorkFallBack) {
  Window w = W({}, 1, 1, "America/New_York");
  w.end_minute = 90;
  EXPECT_EQ(NextOpening({w}, T("2026-11-01T00:00:00Z")), T("2026-11-01T05:00:00Z"));
  EXPECT_EQ(NextOpening({w}, T("2026-11-01T06:15:00Z")), T("2026-11-01T06:15:00Z"));
  EXPECT_EQ(NextOpening({w}, T("2026-11-01T06:30:00Z")), T("2026-11-02T06:00:00Z"));
}

}  // namespace
}  // namespace otaroll::manifest
