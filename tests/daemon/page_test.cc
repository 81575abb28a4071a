// The status page (daemon/page.h) over a state fixture: the rows of stage
// cells, device progress and its age, gate countdowns, reasons, events, and
// every manifest string escaped.
#include "daemon/page.h"

#include <gtest/gtest.h>

#include "plan/plan.h"
#include "spec/spec.h"
#include "state/request.h"
#include "test_util/manifests.h"

namespace otaroll::daemon {
namespace {

core::Time T(const char* text) {
  return *core::ParseRfc3339(text);
}

Health Ready(core::Time now) {
  Health h;
  h.ready = true;
  h.commit = "0123456789abcdef0123";
  h.valid_commit = "0123456789abcdef0123";
  h.cycles = 3;
  h.last_cycle = now - std::chrono::seconds(20);
  h.lease_held = true;
  return h;
}

// A rollout whose canary is created and observed, its next stage waiting on
// a soak, and a freeze whose reason holds markup.
PageModel Fixture(core::Time now) {
  const auto set = test_util::Parse(
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: thermo, labels: {team: hvac}}\nspec:\n"
      "  productKey: k1\n  firmwareId: \"178\"\n  stages:\n    - {name: canary, gray: 10}\n"
      "    - {name: everyone, all: true, gate: {soak: 4h}}\n"
      "---\napiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: frozen, labels: {team: lighting}}\nspec:\n  "
      "productKey: k2\n"
      "  firmwareId: \"9\"\n  stages:\n    - {name: all, all: true}\n"
      "---\napiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: f}\nspec:\n  from: 2026-12-01T00:00:00Z\n"
      "  until: 2026-12-02T00:00:00Z\n  reason: \"<script>alert(1)</script> & friends\"\n  selector: {team: "
      "lighting}\n");
  state::Snapshot s;
  s.exists = true;
  const auto& r = *set.Find("thermo");
  const auto spec = spec::Resolve(r, r.stages[0]);
  state::Attempt a;
  a.id = 1;
  a.intent_id = "i1";
  a.rollout = "thermo";
  a.stage = "canary";
  a.spec_hash = spec.hash;
  a.request = state::RequestText(spec::Flatten(spec.part(0)));
  a.status = state::AttemptStatus::kCreated;
  a.job_id = "J-canary";
  a.job_created_at = now - std::chrono::minutes(48);  // the 4 h soak opens in 3 h 12 min
  s.attempts.push_back(a);
  s.observations["J-canary"] = state::Observation{
      "J-canary", now - std::chrono::minutes(5), 10, {{"SUCCEEDED", 8}, {"FAILED", 1}, {"IN_PROGRESS", 1}}};
  PageModel m;
  m.plan = plan::Build(set, s, now);
  m.observations = s.observations;
  m.events.push_back(state::Event{1, now - std::chrono::minutes(48), "thermo", "canary", 1, "created",
                                  "thermo/canary: created job J-canary (GRAY 10%)", "{}"});
  return m;
}

TEST(StatusPage, ShowsStagesProgressCountdownsAndEvents) {
  const core::Time now = T("2026-12-01T10:00:00Z");
  const std::string page = StatusPage(Fixture(now), Ready(now), now);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<meta http-equiv=\"refresh\" content=\"30\">"), std::string::npos);
  EXPECT_NE(page.find("<h2><a href=\"/rollouts/thermo\">thermo</a></h2>"), std::string::npos);
  EXPECT_NE(page.find("<div class=\"stage in-sync\"><span class=\"action\">in-sync</span><div class=\"name\">canary"),
            std::string::npos);
  EXPECT_NE(page.find("<div class=\"why\">job J-canary</div>"), std::string::npos);
  EXPECT_NE(page.find("8 succeeded · 1 failed · 1 in progress of 10 devices (observed 5 min ago)"), std::string::npos);
  EXPECT_NE(page.find("style=\"width:80.0%\""), std::string::npos);
  EXPECT_NE(page.find("<div class=\"stage waiting\">"), std::string::npos);
  EXPECT_NE(page.find("<strong>opens in 3 h 12 min</strong> (2026-12-01T13:12:00Z)"), std::string::npos);
  EXPECT_NE(page.find("ready</span> · commit 0123456789ab · last valid commit 0123456789ab"), std::string::npos);
  EXPECT_NE(page.find("last cycle 20 s ago"), std::string::npos);
  EXPECT_NE(page.find("<td>created</td><td>thermo/canary: created job J-canary (GRAY 10%)</td>"), std::string::npos);
  // The freeze's reason is shown, escaped: no markup of a manifest reaches the page.
  EXPECT_NE(page.find("frozen by f until 2026-12-02T00:00:00Z (&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends)"),
            std::string::npos)
      << page;
  EXPECT_EQ(page.find("<script"), std::string::npos);
  // Nothing is loaded from elsewhere.
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
}

TEST(StatusPage, ARolloutPageHasItsHistoryAndAnUnknownOneIsNone) {
  const core::Time now = T("2026-12-01T10:00:00Z");
  const PageModel m = Fixture(now);
  auto page = RolloutPage(m, "thermo", m.events, now);
  ASSERT_TRUE(page.has_value());
  EXPECT_NE(page->find("<h2>thermo</h2>"), std::string::npos);
  EXPECT_NE(page->find("<h2>History</h2>"), std::string::npos);
  EXPECT_NE(page->find("J-canary"), std::string::npos);
  EXPECT_EQ(page->find("frozen"), std::string::npos);  // only this rollout
  EXPECT_FALSE(RolloutPage(m, "nope", {}, now).has_value());
}

TEST(StatusPage, HumanizedDurationsAndEscapes) {
  EXPECT_EQ(Humanize(std::chrono::seconds(45)), "45 s");
  EXPECT_EQ(Humanize(std::chrono::minutes(192)), "3 h 12 min");
  EXPECT_EQ(Humanize(std::chrono::hours(51)), "2 d 3 h");
  EXPECT_EQ(Humanize(std::chrono::hours(2)), "2 h");
  EXPECT_EQ(Humanize(-std::chrono::seconds(3)), "0 s");
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

}  // namespace
}  // namespace otaroll::daemon
