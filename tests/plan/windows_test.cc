// The planner and when a stage may start: promotion windows and freezes
// (SPEC §1): `waiting` with the reason and the instant it opens.
#include <gtest/gtest.h>

#include "plan/plan.h"
#include "test_util/manifests.h"

namespace otaroll::plan {
namespace {

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

// A rollout whose first stage starts only Tue–Thu 22:00–04:00 Berlin time;
// `more` is appended to the tree (freezes).
manifest::ManifestSet Tree(const std::string& labels, const std::string& more = "") {
  return test_util::Parse(
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: heat, labels: {" + labels +
      "}}\nspec:\n  productKey: pk\n  firmwareId: \"1\"\n  stages:\n    - name: canary\n      gray: 5\n"
      "      gate:\n        window:\n          - {days: [Tue, Wed, Thu], hours: \"22:00-04:00\", timeZone: "
      "Europe/Berlin}\n" +
      more);
}

const std::string kHolidays =
    "---\napiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: holidays}\nspec:\n"
    "  from: 2026-12-23T00:00:00+01:00\n  until: 2027-01-04T00:00:00+01:00\n  reason: nobody on call\n"
    "  selector: {team: hvac}\n";

const StagePlan& Canary(const Plan& p) {
  return p.rollouts.at(0).stages.at(0);
}

TEST(PlanWindows, OutsideItsWindowAStageWaitsForTheOpening) {
  const auto set = Tree("team: hvac");
  state::Snapshot empty;
  Plan p = Build(set, empty, T("2026-11-25T10:00:00Z"));  // Wednesday 11:00 in Berlin
  EXPECT_EQ(Canary(p).action, Action::kWaiting);
  EXPECT_EQ(Canary(p).reason, "outside window Tue, Wed, Thu 22:00-04:00 Europe/Berlin: opens 2026-11-25T21:00:00Z");
  ASSERT_TRUE(Canary(p).opens_at.has_value());
  EXPECT_EQ(*Canary(p).opens_at, T("2026-11-25T21:00:00Z"));
  EXPECT_EQ(Canary(Build(set, empty, T("2026-11-25T21:00:00Z"))).action, Action::kCreate);
  EXPECT_EQ(Canary(Build(set, empty, T("2026-11-27T02:59:00Z"))).action, Action::kCreate);  // Fri 03:59
  EXPECT_EQ(Canary(Build(set, empty, T("2026-11-27T03:00:00Z"))).action, Action::kWaiting);
}

TEST(PlanWindows, AFreezeWinsAndItsEndIsFollowedByTheNextWindow) {
  const auto set = Tree("team: hvac", kHolidays);
  state::Snapshot empty;
  // Thursday 2026-12-24 23:00 Berlin: inside the window, but frozen; the freeze
  // ends Monday 2027-01-04 00:00 CET, and the window opens Tuesday 22:00 CET.
  Plan p = Build(set, empty, T("2026-12-24T22:00:00Z"));
  EXPECT_EQ(Canary(p).action, Action::kWaiting);
  EXPECT_EQ(Canary(p).reason,
            "frozen by holidays until 2027-01-03T23:00:00Z (nobody on call); outside window Tue, Wed, Thu "
            "22:00-04:00 Europe/Berlin: opens 2027-01-05T21:00:00Z");
  EXPECT_EQ(*Canary(p).opens_at, T("2027-01-05T21:00:00Z"));
  // Before the freeze, inside the window: created.
  EXPECT_EQ(Canary(Build(set, empty, T("2026-12-22T21:30:00Z"))).action, Action::kCreate);
}

TEST(PlanWindows, AFreezeHoldsOnlyTheRolloutsItSelects) {
  const auto other = Tree("team: lighting", kHolidays);
  state::Snapshot empty;
  EXPECT_EQ(Canary(Build(other, empty, T("2026-12-24T22:00:00Z"))).action, Action::kCreate);
  // Without a selector, every rollout.
  std::string all = kHolidays;
  all.erase(all.find("  selector"));
  const auto everyone = Tree("team: lighting", all);
  EXPECT_EQ(Canary(Build(everyone, empty, T("2026-12-24T22:00:00Z"))).action, Action::kWaiting);
}

TEST(PlanWindows, WindowsAndFreezesAreInTheManifestDigest) {
  state::Snapshot empty;
  const auto plain = Tree("team: hvac");
  const auto frozen = Tree("team: hvac", kHolidays);
  EXPECT_NE(Build(plain, empty, T("2026-11-25T10:00:00Z")).manifest_digest,
            Build(frozen, empty, T("2026-11-25T10:00:00Z")).manifest_digest);
}

}  // namespace
}  // namespace otaroll::plan
