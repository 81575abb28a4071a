// Windows on gates and Freeze documents as the loader reads them: what is
// accepted, and the exact error of each rule.
#include <gtest/gtest.h>

#include "manifest/loader.h"

namespace otaroll::manifest {
namespace {

using Lines = std::vector<std::string>;

struct Parsed {
  LoadResult result;
  Lines errors;
};

Parsed Load(const std::string& text) {
  Documents docs;
  std::vector<core::Diagnostic> errors;
  ParseText(text, "m.yaml", docs, errors);
  Parsed p;
  FinishSet(std::move(docs), p.result);
  errors.insert(errors.end(), p.result.errors.begin(), p.result.errors.end());
  core::SortDiagnostics(errors);
  for (const auto& d : errors) p.errors.push_back(d.Format());
  return p;
}

std::string WithWindow(const std::string& window) {
  return "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  productKey: pk\n  firmwareId: \"1\"\n"
         "  stages:\n    - name: all\n      all: true\n      gate:\n        window:\n" +
         window;
}

const std::string kFreeze =
    "apiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: holidays}\nspec:\n"
    "  from: 2026-12-23T00:00:00+01:00\n  until: 2027-01-04T00:00:00+01:00\n  reason: holiday change freeze\n";

TEST(Windows, AreReadWithTheirDaysHoursAndZone) {
  Parsed p =
      Load(WithWindow("          - {days: [Thu, Tue], hours: \"22:00-04:00\", timeZone: Europe/Berlin}\n"
                      "          - {hours: \"00:00-24:00\"}\n"));
  ASSERT_TRUE(p.errors.empty()) << p.errors[0];
  const auto& windows = p.result.set.rollouts[0].stages[0].gate.windows;
  ASSERT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows[0].days, (std::vector<int>{1, 3}));
  EXPECT_EQ(windows[0].start_minute, 22 * 60);
  EXPECT_EQ(windows[0].end_minute, 4 * 60);
  EXPECT_EQ(windows[0].time_zone, "Europe/Berlin");
  EXPECT_EQ(windows[1].end_minute, 1440);
  EXPECT_EQ(windows[1].time_zone, "UTC");
  EXPECT_TRUE(windows[1].days.empty());
}

TEST(Windows, EveryRuleHasItsError) {
  EXPECT_EQ(Load(WithWindow("          - {days: [Thursday], hours: \"02:00-05:00\"}\n")).errors,
            Lines{"m.yaml:12:21: spec.stages[0].gate.window[0].days[0]: \"Thursday\" is not a valid day; allowed: Mon, "
                  "Tue, Wed, Thu, Fri, Sat, Sun"});
  EXPECT_EQ(
      Load(WithWindow("          - {days: [Mon, Mon], hours: \"02:00-05:00\"}\n")).errors,
      Lines{"m.yaml:12:26: spec.stages[0].gate.window[0].days[1]: \"Mon\" repeats [0]; each day may be given once"});
  EXPECT_EQ(Load(WithWindow("          - {hours: \"2:00-5:00\"}\n")).errors,
            Lines{"m.yaml:12:21: spec.stages[0].gate.window[0].hours: \"2:00-5:00\" is not a range of hours; expected "
                  "HH:MM-HH:MM on a 24-hour clock, e.g. \"02:00-05:00\" (24:00 only as an end; \"22:00-02:00\" "
                  "wraps midnight)"});
  EXPECT_EQ(Load(WithWindow("          - {hours: \"24:00-05:00\"}\n")).errors.size(), 1u);
  EXPECT_EQ(
      Load(WithWindow("          - {hours: \"05:00-05:00\"}\n")).errors,
      Lines{"m.yaml:12:21: spec.stages[0].gate.window[0].hours: \"05:00-05:00\" is empty: it ends where it starts; "
            "use \"00:00-24:00\" for the whole day"});
  EXPECT_EQ(
      Load(WithWindow("          - {days: [Mon]}\n")).errors,
      Lines{"m.yaml:12:13: spec.stages[0].gate.window[0].hours: missing; a range of hours like \"02:00-05:00\" is "
            "required"});
  EXPECT_EQ(Load(WithWindow("          - {hours: \"02:00-05:00\", timeZone: Europe/Berln}\n")).errors,
            Lines{"m.yaml:12:46: spec.stages[0].gate.window[0].timeZone: \"Europe/Berln\" is not a time zone of the tz "
                  "database; expected an IANA name like Europe/Berlin, America/New_York or UTC"});
  EXPECT_EQ(
      Load(WithWindow("          hours: \"02:00-05:00\"\n")).errors,
      Lines{"m.yaml:12:11: spec.stages[0].gate.window: found a mapping; expected a list of windows, each with days, "
            "hours and timeZone"});
  EXPECT_EQ(Load(WithWindow("          []\n")).errors,
            Lines{"m.yaml:12:11: spec.stages[0].gate.window: empty list; give at least one window or remove the key"});
}

TEST(Freezes, AreReadAndShareTheNamespaceOfRollouts) {
  Parsed p = Load(kFreeze + "  selector: {team: hvac}\n");
  ASSERT_TRUE(p.errors.empty()) << p.errors[0];
  ASSERT_EQ(p.result.set.freezes.size(), 1u);
  const Freeze& f = p.result.set.freezes[0];
  EXPECT_EQ(f.name, "holidays");
  EXPECT_EQ(core::FormatRfc3339(f.from), "2026-12-22T23:00:00Z");
  EXPECT_EQ(core::FormatRfc3339(f.until), "2027-01-03T23:00:00Z");
  EXPECT_EQ(f.reason, "holiday change freeze");
  EXPECT_EQ(f.selector.at("team"), "hvac");
  Rollout hvac;
  hvac.labels = {{"team", "hvac"}, {"x", "y"}};
  EXPECT_TRUE(f.Matches(hvac));
  EXPECT_FALSE(f.Matches(Rollout{}));

  const std::string rollout =
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: holidays}\nspec:\n  productKey: pk\n"
      "  firmwareId: \"1\"\n  stages:\n    - {name: all, all: true}\n";
  EXPECT_EQ(Load(kFreeze + "---\n" + rollout).errors,
            Lines{"m.yaml:11:18: metadata.name: \"holidays\" is already defined at m.yaml:3:18; names must be unique "
                  "across the tree (rollouts and freezes)"});
}

TEST(Freezes, EveryRuleHasItsError) {
  EXPECT_EQ(Load("apiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: f}\nspec:\n  from: 2026-12-23T00:00:00Z\n"
                 "  until: 2026-12-22T00:00:00Z\n  reason: r\n")
                .errors,
            Lines{"m.yaml:6:10: spec.until: 2026-12-22T00:00:00Z is not after spec.from (2026-12-23T00:00:00Z); a "
                  "freeze ends after it begins"});
  EXPECT_EQ(Load("apiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: f}\nspec:\n  from: 2026-12-23\n"
                 "  until: 2027-01-04T00:00:00Z\n  reason: r\n")
                .errors,
            Lines{"m.yaml:5:9: spec.from: \"2026-12-23\" is not an RFC 3339 time; expected e.g. "
                  "2026-12-23T00:00:00+01:00"});
  EXPECT_EQ(Load("apiVersion: otaroll/v1\nkind: Freeze\nmetadata: {name: f}\nspec:\n  from: 2026-12-23T00:00:00Z\n"
                 "  until: 2027-01-04T00:00:00Z\n")
                .errors,
            Lines{"m.yaml:5:3: spec.reason: missing; a reason people will read in the plan is required"});
  EXPECT_EQ(Load(kFreeze + "  rollouts: [a]\n").errors,
            Lines{"m.yaml:8:3: spec.rollouts: unknown key; allowed here: from, until, reason, selector"});
  EXPECT_EQ(Load(kFreeze + "  selector: [hvac]\n").errors,
            Lines{"m.yaml:8:13: spec.selector: found a list; expected a mapping of strings"});
}

TEST(Supersedes, NamesOtherRolloutsOnly) {
  const std::string head =
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: fix}\nspec:\n  productKey: pk\n  firmwareId: \"2\"\n";
  const std::string stages = "  stages:\n    - {name: all, all: true}\n";
  Parsed ok = Load(head + "  supersedes: [broken, gone-long-ago]\n" + stages);
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0];
  EXPECT_EQ(ok.result.set.rollouts[0].supersedes, (std::vector<std::string>{"broken", "gone-long-ago"}));
  EXPECT_EQ(Load(head + "  supersedes: [fix]\n" + stages).errors,
            Lines{"m.yaml:7:16: spec.supersedes[0]: \"fix\" is this rollout; list the other rollouts of the same "
                  "product it may overlap"});
  EXPECT_EQ(Load(head + "  supersedes: broken\n" + stages).errors,
            Lines{"m.yaml:7:15: spec.supersedes: found a string (\"broken\"); expected a list of rollout name"});
  EXPECT_EQ(Load(head + "  supersedes: [Broken]\n" + stages).errors,
            Lines{"m.yaml:7:16: spec.supersedes[0]: \"Broken\" is not a valid rollout name; allowed: 1-63 lower-case "
                  "letters, digits, '-' and '.', beginning and ending with a letter or digit"});
}

}  // namespace
}  // namespace otaroll::manifest
