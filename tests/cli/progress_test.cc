#include "cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace otaroll::cli {
namespace {

using std::chrono::seconds;

TEST(Progress, RendersCountsRateAndTimeLeft) {
  EXPECT_EQ(Progress::Render(0, 40, 0.0), "[0/40]");
  EXPECT_EQ(Progress::Render(12, 40, 3.14), "[12/40] 3.1 jobs/s, 9 s left");
  EXPECT_EQ(Progress::Render(10, 1000, 2.0), "[10/1000] 2.0 jobs/s, 8 min left");
  EXPECT_EQ(Progress::Render(40, 40, 19.5), "[40/40] 19.5 jobs/s");
}

TEST(Progress, OnATerminalTheLineStaysUnderTheEventsAndIsClearedAtTheEnd) {
  std::ostringstream out;
  auto t = std::chrono::steady_clock::time_point{};
  {
    Progress p(out, true, [&] { return t; });
    p.Line("refreshed", 0, 0);  // nothing due yet: no live line
    p.Line("a: created job J1", 1, 3);
    t += seconds(2);
    p.Line("b: created job J2", 2, 3);
    p.Finish();
  }
  EXPECT_EQ(out.str(),
            "refreshed\n"
            "a: created job J1\n"
            "[1/3]"
            "\r\x1b[K"
            "b: created job J2\n"
            "[2/3] 0.5 jobs/s, 2 s left"
            "\r\x1b[K");
}

TEST(Progress, ElsewhereOnlyTheLines) {
  std::ostringstream out;
  Progress p(out, false);
  p.Line("a: created job J1", 1, 3);
  p.Line("b: created job J2", 2, 3);
  p.Finish();
  EXPECT_EQ(out.str(), "a: created job J1\nb: created job J2\n");
}

}  // namespace
}  // namespace otaroll::cli
