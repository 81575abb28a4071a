// One test per manifest rule (SPEC §1), each asserting the exact text users see.
#include "manifest/loader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util/manifests.h"
#include "test_util/temp_dir.h"

namespace otaroll::manifest {
namespace {

// A valid rollout; tests replace one line to break exactly one rule.
// line 1  apiVersion: otaroll/v1
// line 4    name: thermo
// line 9      - name: canary     (value at column 13)
// line 10       gray: 10         (value at column 13)
constexpr const char* kValid = R"(apiVersion: otaroll/v1
kind: Rollout
metadata:
  name: thermo
spec:
  productKey: k1nhvyl0001
  firmwareId: "178"
  stages:
    - name: canary
      gray: 10
    - name: rest
      all: true
      gate:
        soak: 24h
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

std::vector<std::string> Errors(const std::string& text) {
  Documents docs;
  std::vector<core::Diagnostic> errors;
  ParseText(text, "m.yaml", docs, errors);
  LoadResult result;
  FinishSet(std::move(docs), result);
  errors.insert(errors.end(), result.errors.begin(), result.errors.end());
  core::SortDiagnostics(errors);
  std::vector<std::string> out;
  for (const auto& d : errors) out.push_back(d.Format());
  return out;
}

using Lines = std::vector<std::string>;

TEST(Loader, AcceptsTheBaseManifest) {
  Documents docs;
  std::vector<core::Diagnostic> errors;
  ParseText(kValid, "m.yaml", docs, errors);
  ASSERT_TRUE(errors.empty()) << errors[0].Format();
  ASSERT_EQ(docs.rollouts.size(), 1u);
  const Rollout& r = docs.rollouts[0];
  EXPECT_EQ(r.name, "thermo");
  EXPECT_EQ(r.firmware_id, "178");
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.stages[0].target, Target::kGray);
  EXPECT_EQ(r.stages[0].gray_percent, 10);
  EXPECT_EQ(r.stages[0].position.line, 9);
  EXPECT_EQ(r.stages[0].position.column, 13);
  EXPECT_EQ(r.stages[1].gate.soak, std::chrono::hours(24));
}

TEST(Loader, GrayOutOfRange) {
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "gray: 150")),
            Lines{"m.yaml:10:13: spec.stages[0].gray: 150 is out of range; allowed: 1..100"});
}

TEST(Loader, GrayPercentString) {
  EXPECT_TRUE(Errors(Replace(kValid, "gray: 10", "gray: \"10%\"")).empty());
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "gray: \"150%\"")),
            Lines{"m.yaml:10:13: spec.stages[0].gray: \"150%\" is not a percentage from 1% to 100%; allowed: an "
                  "integer 1..100 or a percentage \"1%\"..\"100%\""});
}

TEST(Loader, GrayNotWhole) {
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "gray: 10.5")),
            Lines{"m.yaml:10:13: spec.stages[0].gray: 10.5 is not a whole number; allowed: 1..100"});
}

TEST(Loader, UnknownKeySuggestsTheNearestOne) {
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "grey: 10")),
            (Lines{"m.yaml:9:7: spec.stages[0]: no target; a stage takes exactly one of gray, group, devices, all",
                   "m.yaml:10:7: spec.stages[0].grey: unknown key (did you mean \"gray\"?); allowed here: name, gray, "
                   "group, devices, all, gate, upgrade"}));
}

TEST(Loader, UnknownTopLevelKey) {
  EXPECT_EQ(Errors(std::string(kValid) + "status: done\n"),
            Lines{"m.yaml:15:1: status: unknown key; allowed here: apiVersion, kind, metadata, spec"});
}

TEST(Loader, DuplicateKey) {
  EXPECT_EQ(Errors(Replace(kValid, "  firmwareId: \"178\"\n", "  firmwareId: \"178\"\n  firmwareId: \"179\"\n")),
            Lines{"m.yaml:8:3: spec.firmwareId: duplicate key; it is already given at line 7"});
}

TEST(Loader, TwoTargets) {
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10\n", "gray: 10\n      group: g1\n")),
            Lines{"m.yaml:11:14: spec.stages[0]: both gray and group are given; a stage takes exactly one of gray, "
                  "group, devices, all"});
}

TEST(Loader, MissingRequiredField) {
  EXPECT_EQ(Errors(Replace(kValid, "  productKey: k1nhvyl0001\n", "")),
            Lines{"m.yaml:6:3: spec.productKey: missing; a product key is required"});
  EXPECT_EQ(Errors(Replace(kValid, "kind: Rollout\n", "")),
            Lines{"m.yaml:1:1: kind: missing; kind: Rollout is required"});
}

TEST(Loader, WrongApiVersionAndKind) {
  EXPECT_EQ(Errors(Replace(kValid, "otaroll/v1", "otaroll/v2")),
            Lines{"m.yaml:1:13: apiVersion: \"otaroll/v2\" is not supported; allowed: otaroll/v1"});
  EXPECT_EQ(Errors(Replace(kValid, "kind: Rollout", "kind: Deployment")),
            Lines{"m.yaml:2:7: kind: \"Deployment\" is not supported; allowed: Rollout, Freeze"});
}

TEST(Loader, BadRolloutName) {
  EXPECT_EQ(Errors(Replace(kValid, "name: thermo", "name: Thermo_2")),
            Lines{"m.yaml:4:9: metadata.name: \"Thermo_2\" is not a valid name; allowed: 1-63 lower-case letters, "
                  "digits, '-' and '.', beginning and ending with a letter or digit"});
  EXPECT_EQ(Errors(Replace(kValid, "name: thermo", "name: " + std::string(64, 'a'))).size(), 1u);
}

TEST(Loader, WrongTypesNameTheFix) {
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n", "  paused: \"yes\"\n  stages:\n")),
            Lines{"m.yaml:8:11: spec.paused: found a string (\"yes\"); expected true or false"});
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "group: 12345")),
            Lines{"m.yaml:10:14: spec.stages[0].group: found an integer (12345); expected a group id (quote it: "
                  "\"12345\")"});
}

TEST(Loader, FirmwareIdBareIntegerKeptAsDecimalText) {
  Documents docs;
  std::vector<core::Diagnostic> errors;
  ParseText(Replace(kValid, "\"178\"", "178"), "m.yaml", docs, errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(docs.rollouts[0].firmware_id, "178");
  EXPECT_EQ(Errors(Replace(kValid, "\"178\"", "1.5")),
            Lines{"m.yaml:7:15: spec.firmwareId: found a number (1.5); expected a firmware id string (or a "
                  "non-negative integer)"});
}

TEST(Loader, SrcVersionsRules) {
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n", "  srcVersions: []\n  stages:\n")),
            Lines{"m.yaml:8:16: spec.srcVersions: empty list; give at least one version or remove the key"});
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n", "  srcVersions: [\"1.0\", 1.10]\n  stages:\n")),
            Lines{"m.yaml:8:24: spec.srcVersions[1]: found a number (1.10); expected version (quote it: \"1.10\")"});
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n", "  srcVersions: [\"1.0\", \"1.0\"]\n  stages:\n")),
            Lines{"m.yaml:8:24: spec.srcVersions[1]: \"1.0\" repeats [0]; each version may be listed once"});
}

TEST(Loader, DevicesRules) {
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "devices: [dev-1, dev-2, dev-1]")),
            Lines{"m.yaml:10:31: spec.stages[0].devices[2]: \"dev-1\" repeats [0]; each device may be listed once"});
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "devices: []")),
            Lines{"m.yaml:10:16: spec.stages[0].devices: empty list; give at least one device name or remove the key"});
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "devices: [\"dev 1\"]")),
            Lines{"m.yaml:10:17: spec.stages[0].devices[0]: \"dev 1\" is not a valid device name; allowed: 1-64 "
                  "letters, digits and _ . : @ -"});
}

TEST(Loader, DuplicateStageNames) {
  EXPECT_EQ(Errors(Replace(kValid, "name: rest", "name: canary")),
            Lines{"m.yaml:11:13: spec.stages[1].name: \"canary\" is already the name of spec.stages[0]; stage "
                  "names must be unique within a rollout"});
}

TEST(Loader, EmptyStages) {
  EXPECT_EQ(Errors(std::string(kValid).substr(0, std::string(kValid).find("  stages:")) + "  stages: []\n"),
            Lines{"m.yaml:8:11: spec.stages: empty list; a rollout needs at least one stage"});
}

TEST(Loader, Durations) {
  EXPECT_EQ(Errors(Replace(kValid, "soak: 24h", "soak: 24 hours")),
            Lines{"m.yaml:14:15: spec.stages[1].gate.soak: \"24 hours\" is not a duration; expected "
                  "<integer><unit>... with units s, m, h, d (e.g. 24h, 1h30m)"});
  EXPECT_EQ(Errors(Replace(kValid, "soak: 24h", "soak: 99999999999d")),
            Lines{"m.yaml:14:15: spec.stages[1].gate.soak: \"99999999999d\" is too long (at most 10 years); "
                  "expected <integer><unit>... with units s, m, h, d (e.g. 24h, 1h30m)"});
  EXPECT_TRUE(Errors(Replace(kValid, "soak: 24h", "soak: 1d2h30m15s")).empty());
}

TEST(Loader, FirstStageHasNoSoakOrHealth) {
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10\n", "gray: 10\n      gate: {soak: 1h}\n")),
            Lines{"m.yaml:11:20: spec.stages[0].gate.soak: the first stage has no previous stage; allowed on the "
                  "first stage: hold, notBefore"});
  EXPECT_TRUE(Errors(Replace(kValid, "gray: 10\n", "gray: 10\n      gate: {hold: true}\n")).empty());
}

TEST(Loader, NotBeforeMustBeRfc3339) {
  EXPECT_EQ(Errors(Replace(kValid, "soak: 24h", "notBefore: 2026-13-01T00:00:00Z")),
            Lines{"m.yaml:14:20: spec.stages[1].gate.notBefore: \"2026-13-01T00:00:00Z\" is not an RFC 3339 time; "
                  "expected e.g. 2026-12-01T02:00:00Z"});
}

TEST(Loader, HealthNeedsAThreshold) {
  EXPECT_EQ(Errors(Replace(kValid, "soak: 24h", "health: {minTasks: 5}")),
            Lines{"m.yaml:14:17: spec.stages[1].gate.health: neither maxFailedPercent nor minSucceededPercent is "
                  "given; set at least one"});
  EXPECT_EQ(Errors(Replace(kValid, "soak: 24h", "health: {maxFailedPercent: 101}")),
            Lines{"m.yaml:14:36: spec.stages[1].gate.health.maxFailedPercent: 101 is out of range; allowed: 0..100"});
}

TEST(Loader, UpgradeOptionRanges) {
  auto with = [](const std::string& options) {
    return Replace(kValid, "  stages:\n", "  upgrade: {" + options + "}\n  stages:\n");
  };
  EXPECT_EQ(Errors(with("retryIntervalMinutes: 15, retryCount: 1")),
            Lines{"m.yaml:8:35: spec.upgrade.retryIntervalMinutes: 15 is not allowed; allowed: 0, 10, 30, 60, 1440"});
  EXPECT_EQ(Errors(with("retryIntervalMinutes: 10, retryCount: 3")),
            Lines{"m.yaml:8:51: spec.upgrade.retryCount: 3 is not allowed; allowed: 1, 2, 5"});
  EXPECT_EQ(Errors(with("timeoutMinutes: 0")),
            Lines{"m.yaml:8:29: spec.upgrade.timeoutMinutes: 0 is out of range; allowed: 1..1440"});
  EXPECT_EQ(Errors(with("downloadProtocol: MQTT")),
            Lines{"m.yaml:8:31: spec.upgrade.downloadProtocol: \"MQTT\" is not allowed; allowed: HTTPS"});
}

TEST(Loader, RetryCountAndIntervalGoTogether) {
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n", "  upgrade: {retryCount: 2}\n  stages:\n")),
            Lines{"m.yaml:8:25: spec.upgrade.retryCount: given without retryIntervalMinutes; set both in this "
                  "block, or neither"});
}

TEST(Loader, RetryIntervalBelowTimeoutAcrossBlocks) {
  // Within spec.upgrade: reported once, at the timeout.
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n",
                           "  upgrade: {retryIntervalMinutes: 60, retryCount: 1, timeoutMinutes: 60}\n  stages:\n")),
            Lines{"m.yaml:8:70: spec.upgrade.timeoutMinutes: 60 is not above retryIntervalMinutes 60 "
                  "(spec.upgrade.retryIntervalMinutes); the retry interval must be below the timeout"});
  // The stage override conflicts with the inherited interval.
  std::string inherited =
      Replace(kValid, "  stages:\n", "  upgrade: {retryIntervalMinutes: 60, retryCount: 1}\n  stages:\n");
  EXPECT_EQ(Errors(Replace(inherited, "gray: 10\n", "gray: 10\n      upgrade: {timeoutMinutes: 30}\n")),
            Lines{"m.yaml:12:33: spec.stages[0].upgrade.timeoutMinutes: 30 is not above retryIntervalMinutes 60 "
                  "(spec.upgrade.retryIntervalMinutes); the retry interval must be below the timeout"});
  // The stage's interval conflicts with the inherited timeout: reported at the interval.
  std::string timeout = Replace(kValid, "  stages:\n", "  upgrade: {timeoutMinutes: 30}\n  stages:\n");
  EXPECT_EQ(
      Errors(Replace(timeout, "gray: 10\n", "gray: 10\n      upgrade: {retryCount: 1, retryIntervalMinutes: 60}\n")),
      Lines{"m.yaml:12:54: spec.stages[0].upgrade.retryIntervalMinutes: 60 is not below timeoutMinutes 30 "
            "(spec.upgrade.timeoutMinutes); the retry interval must be below the timeout"});
}

TEST(Loader, AllMustBeTrue) {
  EXPECT_EQ(Errors(Replace(kValid, "all: true", "all: false")),
            Lines{"m.yaml:12:12: spec.stages[1].all: false is not allowed; write all: true, or target the stage "
                  "with gray, group or devices"});
}

TEST(Loader, LabelsAreStrings) {
  EXPECT_EQ(Errors(Replace(kValid, "  name: thermo\n", "  name: thermo\n  labels: {team: 7}\n")),
            Lines{"m.yaml:5:18: metadata.labels.team: found an integer (7); expected a string (quote it: \"7\")"});
}

TEST(Loader, OnHaltValues) {
  EXPECT_EQ(Errors(Replace(kValid, "  stages:\n", "  onHalt: rollback\n  stages:\n")),
            Lines{"m.yaml:8:11: spec.onHalt: \"rollback\" is not allowed; allowed: stop, cancel"});
}

TEST(Loader, DocumentMustBeAMapping) {
  EXPECT_EQ(Errors("- a\n- b\n"),
            Lines{"m.yaml:1:1: found a list; expected a Rollout mapping (apiVersion, kind, metadata, spec)"});
}

TEST(Loader, YamlSyntaxErrorGivesTheParserPosition) {
  EXPECT_EQ(Errors("apiVersion: otaroll/v1\nspec: {stages: [\n"),
            Lines{"m.yaml:3:1: invalid YAML: end of sequence flow not found"});
}

TEST(Loader, ReportsEveryErrorOfEveryDocument) {
  std::string second = Replace(Replace(kValid, "name: thermo", "name: other"), "gray: 10", "gray: 0");
  std::string text = std::string(kValid) + "---\n" + Replace(second, "all: true", "all: 1");
  EXPECT_EQ(Errors(text), (Lines{"m.yaml:25:13: spec.stages[0].gray: 0 is out of range; allowed: 1..100",
                                 "m.yaml:27:12: spec.stages[1].all: found an integer (1); expected true or false"}));
}

TEST(Loader, DuplicateRolloutNamesAcrossFilesNameBothPlaces) {
  test_util::TempDir dir;
  dir.Write("a.yaml", kValid);
  dir.Write("sub/b.yml", kValid);
  dir.Write(".hidden/c.yaml", "not: [valid");
  dir.Write("notes.txt", "ignored");
  auto loaded = LoadTree(dir.path());
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->errors.size(), 1u);
  EXPECT_EQ(loaded->errors[0].Format(),
            dir.path() + "/sub/b.yml:4:9: metadata.name: \"thermo\" is already defined at " + dir.path() +
                "/a.yaml:4:9; names must be unique across the tree (rollouts and freezes)");
  EXPECT_EQ(loaded->set.files, 2u);
}

// A large tree is parsed on every core; the result (documents in order,
// every diagnostic in order, duplicates across the shares) is exactly what
// one thread parsing the same files in the same order makes.
TEST(Loader, ALargeTreeParsedInParallelEqualsOneThread) {
  test_util::TempDir dir;
  std::vector<SourceFile> sources;
  for (int i = 0; i < 300; ++i) {
    const std::string name = fmt::format("f{:03}.yaml", i);
    std::string text = test_util::ReplaceAll(kValid, "name: thermo", fmt::format("name: r{}", i));
    if (i % 37 == 0) text = test_util::ReplaceAll(text, "gray: 10", "gray: 150");  // invalid
    if (i == 250) text = test_util::ReplaceAll(text, "name: r250", "name: r3");    // a duplicate of a name in share 1
    if (i == 199) text = "not: [valid";
    dir.Write(name, text);
    SourceFile source;
    source.shown = dir.path() + "/" + name;
    source.text = text;
    sources.push_back(std::move(source));
  }
  auto parallel = LoadTree(dir.path());
  ASSERT_TRUE(parallel.ok());
  LoadResult one = LoadSources(sources);
  ASSERT_EQ(parallel->errors.size(), one.errors.size());
  EXPECT_GE(one.errors.size(), 10u);
  for (size_t i = 0; i < one.errors.size(); ++i) EXPECT_EQ(parallel->errors[i].Format(), one.errors[i].Format()) << i;
  ASSERT_EQ(parallel->set.rollouts.size(), one.set.rollouts.size());
  for (size_t i = 0; i < one.set.rollouts.size(); ++i) {
    EXPECT_EQ(parallel->set.rollouts[i].name, one.set.rollouts[i].name) << i;
    EXPECT_EQ(parallel->set.rollouts[i].position.file, one.set.rollouts[i].position.file) << i;
  }
  EXPECT_EQ(parallel->set.files, 300u);
}

TEST(Loader, MissingDirectoryIsAnError) {
  auto loaded = LoadTree("/nonexistent/otaroll-manifests");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(),
            "/nonexistent/otaroll-manifests: no such file or directory; name a manifest directory");
}

TEST(Loader, OnlyCoreYamlTagsAreUnderstood) {
  EXPECT_EQ(Errors(Replace(kValid, "firmwareId: \"178\"", "firmwareId: !env FIRMWARE_ID")),
            Lines{"m.yaml:7:15: unsupported YAML tag !env; remove it (manifests use plain YAML values)"});
  EXPECT_EQ(Errors(Replace(kValid, "gray: 10", "gray: !!int ten")),
            Lines{"m.yaml:10:13: the value does not fit its tag !!int; remove the tag or fix the value"});
  EXPECT_TRUE(Errors(Replace(kValid, "gray: 10", "gray: !!int 10")).empty());
  EXPECT_TRUE(Errors(Replace(kValid, "firmwareId: \"178\"", "firmwareId: !!str 178")).empty());
}

TEST(Loader, ManifestsAreUtf8TextWithoutControlCharacters) {
  EXPECT_EQ(Errors(Replace(kValid, "name: thermo", "name: ther\x07mo")),
            Lines{"m.yaml:4:13: control character U+0007; remove it (only tab, line feed and carriage return are "
                  "allowed)"});
  EXPECT_EQ(Errors(Replace(kValid, "kind: Rollout", "kind: Rollout # caf\xE9")),
            Lines{"m.yaml:2:20: invalid UTF-8 (byte 0xE9); save the manifest as UTF-8 text"});
  EXPECT_TRUE(Errors(std::string("\xEF\xBB\xBF") + Replace(kValid, "kind: Rollout", "kind: Rollout # café")).empty());
}

TEST(Loader, FirmwareIdWithAZeroFractionIsAnInteger) {
  Documents docs;
  std::vector<core::Diagnostic> errors;
  ParseText(Replace(kValid, "\"178\"", "178.0"), "m.yaml", docs, errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(docs.rollouts[0].firmware_id, "178");
}

TEST(Loader, EmptyDocumentsAreSkipped) {
  EXPECT_TRUE(Errors(std::string("---\n") + kValid + "---\n").empty());
}

// A one-stage rollout of that name, as the tree-cache tests write it.
std::string OneStageRollout(const std::string& name) {
  return "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: " + name +
         "}\nspec:\n  productKey: pk\n  firmwareId: \"1\"\n  stages:\n    - {name: all, all: true}\n";
}

// A file whose stat fields are unchanged is not read again; one rewritten to
// the same size with its mtime put back is, through its ctime.
TEST(TreeCache, OnlyFilesWhoseStatChangedAreReadAgain) {
  test_util::TempDir dir;
  dir.Write("a.yaml", OneStageRollout("a"));
  dir.Write("b.yaml", OneStageRollout("b"));
  TreeCache cache;
  cache.racy_window_ns = 0;  // trust a stat at once (else files written within 2 s are read again)
  ASSERT_TRUE(LoadTree(dir.path(), cache).ok());
  EXPECT_EQ(cache.files_read, 2);
  ASSERT_TRUE(LoadTree(dir.path(), cache).ok());
  EXPECT_EQ(cache.files_read, 2);
  EXPECT_EQ(cache.parses, 1);

  const std::filesystem::path a = dir.Join("a.yaml");
  const auto mtime = std::filesystem::last_write_time(a);
  dir.Write("a.yaml", OneStageRollout("c"));  // the same size
  std::filesystem::last_write_time(a, mtime);
  auto changed = LoadTree(dir.path(), cache);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(cache.files_read, 3);
  EXPECT_EQ(cache.parses, 2);
  ASSERT_EQ((*changed)->set.rollouts.size(), 2u);
  EXPECT_EQ((*changed)->set.rollouts[1].name, "c");
}

// A file renamed (the tree keeps as many files) or turned into a folder
// changes the tree: the cache keeps the stamps of the files there are.
TEST(TreeCache, ARenamedOrVanishedFileChangesTheTree) {
  test_util::TempDir dir;
  dir.Write("a.yaml", OneStageRollout("a"));
  dir.Write("b.yaml", OneStageRollout("b"));
  TreeCache cache;
  cache.racy_window_ns = 0;
  ASSERT_TRUE(LoadTree(dir.path(), cache).ok());
  std::filesystem::rename(dir.Join("b.yaml"), dir.Join("c.yaml"));
  auto renamed = LoadTree(dir.path(), cache);
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(cache.parses, 2);
  EXPECT_EQ(cache.files.count(dir.Join("b.yaml")), 0u);
  EXPECT_EQ(cache.files.count(dir.Join("c.yaml")), 1u);
  ASSERT_TRUE((*renamed)->ok());
  ASSERT_EQ((*renamed)->set.rollouts.size(), 2u);
  EXPECT_EQ((*renamed)->set.rollouts[1].position.file, dir.Join("c.yaml"));

  std::filesystem::remove(dir.Join("c.yaml"));
  std::filesystem::create_directory(dir.Join("c.yaml"));  // not a file any more: a folder of that name
  auto folder = LoadTree(dir.path(), cache);
  ASSERT_TRUE(folder.ok());
  EXPECT_EQ(cache.parses, 3);
  EXPECT_EQ(cache.files.size(), 1u);
  EXPECT_EQ((*folder)->set.rollouts.size(), 1u);
}

// A file modified within the racy window of its reading is read again, even
// with its stat unchanged: a write in the same timestamp tick leaves the
// mtime as it was.
TEST(TreeCache, RecentlyModifiedFilesAreReadAgain) {
  test_util::TempDir dir;
  dir.Write("a.yaml", "apiVersion: otaroll/v1\n");
  TreeCache cache;
  ASSERT_TRUE(LoadTree(dir.path(), cache).ok());
  ASSERT_TRUE(LoadTree(dir.path(), cache).ok());
  EXPECT_EQ(cache.files_read, 2);
  EXPECT_EQ(cache.parses, 1);  // read again, hashed the same: not parsed
}

}  // namespace
}  // namespace otaroll::manifest

namespace otaroll::manifest {
namespace {

// The daemon's cache: a tree whose files hash the same is not parsed again;
// any change of a name or a byte is.
TEST(TreeCache, AnUnchangedTreeIsNotParsedAgain) {
  test_util::TempDir dir;
  const std::string rollout =
      "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: a}\nspec:\n  productKey: pk\n  firmwareId: \"1\"\n"
      "  stages:\n    - {name: all, all: true}\n";
  dir.Write("a.yaml", rollout);
  TreeCache cache;
  auto first = LoadTree(dir.path(), cache);
  ASSERT_TRUE(first.ok() && (*first)->ok());
  EXPECT_EQ(cache.parses, 1);
  auto again = LoadTree(dir.path(), cache);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(cache.parses, 1);
  ASSERT_EQ((*again)->set.rollouts.size(), 1u);
  EXPECT_EQ((*again)->set.rollouts[0].name, "a");

  dir.Write("a.yaml", std::string(rollout).replace(rollout.find("name: a"), 7, "name: b"));
  auto changed = LoadTree(dir.path(), cache);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(cache.parses, 2);
  EXPECT_EQ((*changed)->set.rollouts[0].name, "b");

  dir.Write("sub/c.yaml", "apiVersion: otaroll/v1\nkind: Rollout\n");  // a new, invalid file
  auto invalid = LoadTree(dir.path(), cache);
  ASSERT_TRUE(invalid.ok());
  EXPECT_EQ(cache.parses, 3);
  EXPECT_FALSE((*invalid)->ok());
  const size_t errors = (*invalid)->errors.size();
  auto still = LoadTree(dir.path(), cache);
  EXPECT_EQ(cache.parses, 3);
  EXPECT_EQ((*still)->errors.size(), errors);
}

}  // namespace
}  // namespace otaroll::manifest
