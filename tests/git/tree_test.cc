// git::ReadTreeAt against real repositories in a temp dir: the files of a
// folder as they are at a ref, links, and the errors that say what to do.
#include "git/tree.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "test_util/git_repo.h"
#include "test_util/temp_dir.h"

namespace otaroll::git {
namespace {

using test_util::Git;

RefTreeOptions Yaml() {
  RefTreeOptions o;
  o.select = [](const std::string& path) {
    return path.size() > 5 && path.substr(path.size() - 5) == ".yaml" && path[0] != '.';
  };
  return o;
}

class RefTreeTest : public ::testing::Test {
 protected:
  RefTreeTest() : repos_(dir_) {}
  // Writes and commits `file` in the author's clone.
  void Commit(const std::string& file, const std::string& text) { repos_.Commit(file, text); }
  void Link(const std::string& file, const std::string& target) {
    std::filesystem::create_symlink(target, std::filesystem::path(repos_.author) / file);
    Git({"-C", repos_.author, "add", file});
    Git({"-C", repos_.author, "commit", "--quiet", "-m", "link " + file});
  }
  test_util::TempDir dir_;
  test_util::GitRepos repos_;
};

// The folder's selected files as committed at the ref, not as the work tree
// holds them; a link to a file of the tree reads that file; a link out of it
// is a file with a problem; a linked folder is not walked.
TEST_F(RefTreeTest, TheFilesOfAFolderAtARef) {
  Commit("rollouts/a.yaml", "a at main\n");
  Commit("rollouts/sub/b.yaml", "b\n");
  Commit("rollouts/notes.txt", "not selected\n");
  Commit("outside.yaml", "outside the folder\n");
  Link("rollouts/c.yaml", "sub/b.yaml");
  Link("rollouts/d.yaml", "../outside.yaml");
  Link("rollouts/linked", "sub");
  Git({"-C", repos_.author, "tag", "base"});
  Commit("rollouts/a.yaml", "a after the tag\n");
  std::ofstream(repos_.author + "/rollouts/a.yaml") << "a in the work tree\n";

  auto tree = ReadTreeAt(repos_.author + "/rollouts", "base", Yaml());
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  EXPECT_EQ(tree->commit.size(), 40u);
  ASSERT_EQ(tree->files.size(), 4u);
  EXPECT_EQ(tree->files[0].path, "a.yaml");
  EXPECT_EQ(tree->files[0].shown, "base:rollouts/a.yaml");
  EXPECT_EQ(tree->files[0].text, "a at main\n");
  EXPECT_EQ(tree->files[1].path, "c.yaml");
  EXPECT_EQ(tree->files[1].text, "b\n");
  EXPECT_EQ(tree->files[2].path, "d.yaml");
  EXPECT_EQ(tree->files[2].problem,
            "a symbolic link to ../outside.yaml in base, which is not a file of the tree below rollouts/; replace "
            "the link by the file itself");
  EXPECT_EQ(tree->files[3].path, "sub/b.yaml");
  EXPECT_EQ(tree->files[3].text, "b\n");

  // From the top of the repository, every selected file.
  auto top = ReadTreeAt(repos_.author, "base", Yaml());
  ASSERT_TRUE(top.ok()) << top.status().message();
  EXPECT_EQ(top->files.size(), 5u);
  EXPECT_EQ(top->files[0].shown, "base:outside.yaml");
}

TEST_F(RefTreeTest, ALargeFileIsNotReadAndTooManyFilesAreAnError) {
  Commit("big.yaml", std::string(100, 'x'));
  Commit("small.yaml", "s\n");
  RefTreeOptions o = Yaml();
  o.max_file_bytes = 50;
  auto tree = ReadTreeAt(repos_.author, "HEAD", o);
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  ASSERT_EQ(tree->files.size(), 2u);
  EXPECT_TRUE(tree->files[0].too_large);
  EXPECT_EQ(tree->files[0].text, "");
  EXPECT_EQ(tree->files[1].text, "s\n");
  o.max_files = 1;
  auto many = ReadTreeAt(repos_.author, "HEAD", o);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().message(), "more than 1 manifest files below the top in HEAD; split the tree");
}

TEST_F(RefTreeTest, UnknownRefsAndFoldersOutsideARepositoryAreExplained) {
  auto unknown = ReadTreeAt(repos_.author, "origin/nope", Yaml());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "unknown ref origin/nope in repository " + repos_.author +
                                            "; name a branch, tag or commit it has (git -C " + repos_.author +
                                            " branch -a lists the branches; git -C " + repos_.author +
                                            " fetch gets the remote's)");

  auto option = ReadTreeAt(repos_.author, "--output=x", Yaml());
  ASSERT_FALSE(option.ok());
  EXPECT_EQ(option.status().message(), "\"--output=x\" is not a ref; name a branch, tag or commit");

  std::filesystem::create_directories(dir_.Join("plain"));
  auto plain = ReadTreeAt(dir_.Join("plain"), "main", Yaml());
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().message().rfind(dir_.Join("plain") + " is not in a git repository (", 0), 0u)
      << plain.status().message();
  EXPECT_NE(plain.status().message().find("); read the baseline from a clone of the repository, or from a folder "
                                          "with --baseline"),
            std::string::npos);
}

// A shallow clone (CI checks out one commit) does not have the base branch:
// the error says how to fetch it.
TEST_F(RefTreeTest, AShallowCloneWithoutTheRefSaysHowToFetchIt) {
  Git({"-C", repos_.author, "checkout", "--quiet", "-b", "change"});
  Commit("a.yaml", "changed\n");
  Git({"-C", repos_.author, "push", "--quiet", "origin", "change"});
  const std::string shallow = dir_.Join("shallow");
  Git({"clone", "--quiet", "--depth=1", "--branch", "change", "--single-branch", "file://" + repos_.remote, shallow});
  auto tree = ReadTreeAt(shallow, "origin/main", Yaml());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().message(),
            "unknown ref origin/main in repository " + shallow +
                ", a shallow clone that may not have fetched it: fetch it (git -C " + shallow +
                " fetch --depth=1 origin main:refs/remotes/origin/main), or clone with the whole history "
                "(actions/checkout: fetch-depth: 0)");
  // The fetch it names works.
  Git({"-C", shallow, "fetch", "--quiet", "--depth=1", "origin", "main:refs/remotes/origin/main"});
  EXPECT_TRUE(ReadTreeAt(shallow, "origin/main", Yaml()).ok());
}

}  // namespace
}  // namespace otaroll::git
