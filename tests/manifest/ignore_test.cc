// .otarollignore: which files and folders of a tree are not manifests.
#include "manifest/ignore.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "manifest/loader.h"
#include "test_util/temp_dir.h"

namespace otaroll::manifest {
namespace {

TEST(IgnoreRules, PatternsMatchNamesAnywhereOrPathsFromTheTop) {
  const auto rules =
      IgnoreRules::Parse("# CI and other tools\n\nci/\n/kustomize/base\n*.gen.yaml\nteam-*/draft.yaml   \r\n");
  EXPECT_TRUE(rules.Ignored("ci", true));
  EXPECT_TRUE(rules.Ignored("deep/ci", true));  // a name at any depth
  EXPECT_FALSE(rules.Ignored("ci", false));     // "ci/": folders only
  EXPECT_TRUE(rules.IgnoredPath("ci/github-actions.yml"));
  EXPECT_TRUE(rules.IgnoredPath("kustomize/base/kustomization.yaml"));
  EXPECT_FALSE(rules.IgnoredPath("other/kustomize/base/a.yaml"));  // anchored at the top
  EXPECT_TRUE(rules.IgnoredPath("x/y/z.gen.yaml"));
  EXPECT_TRUE(rules.IgnoredPath("team-hvac/draft.yaml"));
  EXPECT_FALSE(rules.IgnoredPath("team-hvac/sub/draft.yaml"));  // * stays within one component
  EXPECT_FALSE(rules.IgnoredPath("hvac/thermostat.yaml"));
  EXPECT_TRUE(IgnoreRules::Parse("# only a comment\n\n").empty());
}

TEST(IgnoreRules, TheWalkSkipsWhatTheTopsIgnoreFileNames) {
  test_util::TempDir dir;
  dir.Write("a.yaml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: a}\nspec:\n  productKey: pk\n"
            "  firmwareId: \"1\"\n  stages:\n    - {name: all, all: true}\n");
  dir.Write("ci/workflow.yml", "on: [pull_request]\njobs: {}\n");
  dir.Write("kustomization.yaml", "resources: []\n");
  auto without = LoadTree(dir.path());
  ASSERT_TRUE(without.ok());
  std::set<std::string> files;  // the two files are not manifests
  for (const auto& e : without->errors) files.insert(e.file.substr(dir.path().size() + 1));
  EXPECT_EQ(files, (std::set<std::string>{"ci/workflow.yml", "kustomization.yaml"}));
  dir.Write(".otarollignore", "ci/\nkustomization.yaml\n");
  auto with = LoadTree(dir.path());
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(with->errors.empty()) << with->errors.front().Format();
  EXPECT_EQ(with->set.files, 1u);
  EXPECT_TRUE(IsManifestPath("a/b.yml"));
  EXPECT_FALSE(IsManifestPath("a/.hidden/b.yaml"));
  EXPECT_FALSE(IsManifestPath("a/b.json"));
}

}  // namespace
}  // namespace otaroll::manifest
