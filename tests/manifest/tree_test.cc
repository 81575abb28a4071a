// Reading a tree from disk: nothing is planned from a tree that was not read
// whole, and nothing outside the tree is read (docs/security.md).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "manifest/limits.h"
#include "manifest/loader.h"
#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll::manifest {
namespace {

namespace fs = std::filesystem;
using test_util::TempDir;

std::string Rollout(const std::string& name) {
  return "apiVersion: otaroll/v1\nkind: Rollout\nmetadata:\n  name: " + name +
         "\nspec:\n  productKey: k1\n  firmwareId: \"178\"\n  stages:\n    - name: canary\n      gray: 10\n";
}

// Every diagnostic, one per line, or "ok: N rollouts".
std::string Load(const std::string& dir) {
  auto loaded = LoadTree(dir);
  if (!loaded.ok()) return "status: " + loaded.status().message();
  if (loaded->ok()) return "ok: " + std::to_string(loaded->set.rollouts.size()) + " rollouts";
  std::string out;
  for (const auto& d : loaded->errors) out += d.Format() + "\n";
  return out;
}

// Load() as an unprivileged user (uid/gid 65534) when the suite runs as root,
// where permissions do not stop anything; otherwise as we are.
std::string LoadUnprivileged(const std::string& dir) {
  return test_util::AsUnprivileged([&] { return Load(dir); });
}

TEST(Tree, AnUnreadableFolderIsAnErrorNamingItNotAnEmptyTree) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/hvac/thermo.yaml", Rollout("thermo"));
  tmp.Write("tree/lighting/bulb.yaml", Rollout("bulb"));
  chmod(tmp.path().c_str(), 0755);
  chmod(tree.c_str(), 0755);
  chmod((tree + "/hvac").c_str(), 0755);
  chmod((tree + "/hvac/thermo.yaml").c_str(), 0644);
  chmod((tree + "/lighting").c_str(), 0);
  EXPECT_EQ(LoadUnprivileged(tree),
            tree +
                "/lighting: cannot read the folder: Permission denied; every folder of the tree must be readable "
                "(nothing is planned from a tree read in part): fix its permissions, or move it out of the tree\n");
  chmod((tree + "/lighting").c_str(), 0755);
}

TEST(Tree, AnUnreadableFileIsAnError) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/thermo.yaml", Rollout("thermo"));
  chmod(tmp.path().c_str(), 0755);
  chmod(tree.c_str(), 0755);
  chmod((tree + "/thermo.yaml").c_str(), 0);
  EXPECT_EQ(LoadUnprivileged(tree),
            tree + "/thermo.yaml: cannot read the file: Permission denied; check its permissions\n");
}

TEST(Tree, DanglingAndLoopingManifestLinksAreErrors) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/thermo.yaml", Rollout("thermo"));
  fs::create_symlink("gone.yaml", tree + "/dangling.yaml");
  fs::create_symlink("loop-b.yaml", tree + "/loop-a.yaml");
  fs::create_symlink("loop-a.yaml", tree + "/loop-b.yaml");
  fs::create_symlink("nowhere", tree + "/README");  // not a manifest name: not read, not reported
  EXPECT_EQ(Load(tree),
            tree +
                "/dangling.yaml: a symbolic link that leads nowhere (No such file or directory); remove it or fix "
                "its target\n" +
                tree +
                "/loop-a.yaml: a symbolic link that leads nowhere (Too many levels of symbolic links); "
                "remove it or fix its target\n" +
                tree +
                "/loop-b.yaml: a symbolic link that leads nowhere (Too many levels of symbolic links); "
                "remove it or fix its target\n");
}

TEST(Tree, LinksOutOfTheTreeAreErrorsAndTheTargetIsNeverRead) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/thermo.yaml", Rollout("thermo"));
  std::string secret = tmp.Write("home/.otaroll/credentials",
                                 "OTAROLL_ACCESS_KEY_ID=AKIDEXAMPLE\nOTAROLL_ACCESS_KEY_SECRET=topsecret123\n");
  fs::create_directories(tree + "/hvac");
  fs::create_symlink(secret, tree + "/hvac/notes.yaml");
  fs::create_symlink("../../home", tree + "/hvac/shared");
  // Everything readable by the unprivileged user too: only the rule stops the read.
  for (const std::string& d : {tmp.path(), tree, tree + "/hvac", tmp.Join("home"), tmp.Join("home/.otaroll")}) {
    chmod(d.c_str(), 0755);
  }
  chmod(secret.c_str(), 0644);
  chmod((tree + "/thermo.yaml").c_str(), 0644);
  std::string out = LoadUnprivileged(tree);
  EXPECT_EQ(out, tree +
                     "/hvac/notes.yaml: a symbolic link to a file outside the tree; manifests are read only from "
                     "inside " +
                     tree + " (the target was not read): replace the link by the file itself\n" + tree +
                     "/hvac/shared: a symbolic link to a folder outside the tree; manifests are read only "
                     "from inside " +
                     tree + " (the target was not read): replace the link by the file itself\n");
  EXPECT_EQ(out.find("topsecret"), std::string::npos);
}

TEST(Tree, LinksInsideTheTreeAreFollowedToFilesButNotToFolders) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/shared/thermo.yaml", Rollout("thermo"));
  tmp.Write("tree/real/bulb.yml", Rollout("bulb"));
  fs::create_symlink("../real/bulb.yml", tree + "/shared/bulb-link.yaml");  // read (and so bulb twice)
  fs::create_symlink("shared", tree + "/alias");                            // a folder: not walked
  auto loaded = LoadTree(tree);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->errors.size(), 1u);
  EXPECT_EQ(loaded->errors[0].Format(),
            tree + "/shared/bulb-link.yaml:4:9: metadata.name: \"bulb\" is already defined at " + tree +
                "/real/bulb.yml:4:9; names must be unique across the tree (rollouts and freezes)");
  EXPECT_EQ(loaded->set.files, 3u);
}

TEST(Tree, AFifoNamedLikeAManifestIsAnError) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/thermo.yaml", Rollout("thermo"));
  ASSERT_EQ(mkfifo((tree + "/pipe.yaml").c_str(), 0644), 0);
  EXPECT_EQ(Load(tree), tree +
                            "/pipe.yaml: not a regular file (a FIFO, socket or device); remove it or rename it to "
                            "end in something other than .yaml/.yml\n");
}

TEST(Tree, AFileOverTheSizeLimitIsRefusedBeforeItIsParsed) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  std::string big = Rollout("thermo") + "# " + std::string(kMaxFileBytes, 'x') + "\n";
  tmp.Write("tree/big.yaml", big);
  EXPECT_EQ(Load(tree),
            tree + "/big.yaml: larger than 4 MiB, the limit for one manifest file; split it into several files\n");
  EXPECT_EQ(Load(tree + "/big.yaml"),
            tree + "/big.yaml: larger than 4 MiB, the limit for one manifest file; split it into several files\n");
}

TEST(Tree, FileNamesWithControlCharactersAreShownEscaped) {
  TempDir tmp;
  const std::string tree = tmp.Join("tree");
  tmp.Write("tree/evil\x1b[2J.yaml", "apiVersion: [");
  std::string out = Load(tree);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.rfind(tree + "/evil\\x1b[2J.yaml:", 0), 0u) << out;
}

}  // namespace
}  // namespace otaroll::manifest
