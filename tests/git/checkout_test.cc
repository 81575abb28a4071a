// git::Checkout against real repositories in a temp dir: a bare "remote",
// an author's clone and the checkout the daemon follows.
#include "git/checkout.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "test_util/child.h"
#include "test_util/git_repo.h"
#include "test_util/temp_dir.h"

namespace otaroll::git {
namespace {

using std::chrono::seconds;

class GitTest : public ::testing::Test {
 protected:
  GitTest() : repos_(dir_, "a.yaml", "one\n"), author_(repos_.author), checkout_(repos_.checkout) {}
  static test_util::RunResult Git(std::vector<std::string> args) { return test_util::Git(std::move(args)); }
  static std::string Head(const std::string& repo) { return test_util::GitRepos::Head(repo); }
  void Commit(const std::string& file, const std::string& text) { repos_.Commit(file, text); }
  void Push() { repos_.Push(/*force=*/true); }

  test_util::TempDir dir_;
  test_util::GitRepos repos_;
  std::string author_, checkout_;
};

TEST_F(GitTest, FetchesAndFastForwards) {
  Checkout git(checkout_, seconds(30));
  const std::string before = Head(checkout_);
  auto same = git.FetchAndFastForward();
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_FALSE(same->advanced());
  Commit("b.yaml", "two\n");
  Push();
  auto moved = git.FetchAndFastForward();
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  EXPECT_EQ(moved->before, before);
  EXPECT_EQ(moved->after, Head(author_));
  EXPECT_EQ(Head(checkout_), Head(author_));
  EXPECT_EQ(*git.Head(), Head(author_));
}

TEST_F(GitTest, RewrittenHistoryIsReportedAndTheCheckoutLeftAsItWas) {
  Git({"-C", author_, "commit", "--quiet", "--amend", "-m", "rewritten"});
  Push();
  const std::string before = Head(checkout_);
  auto r = Checkout(checkout_, seconds(30)).FetchAndFastForward();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            checkout_ + ": " + before.substr(0, 12) + " cannot be fast-forwarded to " + Head(author_).substr(0, 12) +
                " (origin/main): its history was rewritten or has diverged; the checkout was left at " +
                before.substr(0, 12) + ": reset it on purpose (git -C " + checkout_ +
                " reset --hard origin/main) if the remote is right");
  EXPECT_EQ(Head(checkout_), before);
}

TEST_F(GitTest, LocalChangesADetachedHeadAndNoCheckoutAreReported) {
  std::ofstream(checkout_ + "/a.yaml") << "edited by hand\n";
  auto dirty = Checkout(checkout_, seconds(30)).FetchAndFastForward();
  ASSERT_FALSE(dirty.ok());
  EXPECT_EQ(dirty.status().message(),
            checkout_ +
                " has local changes to tracked files; the daemon only fast-forwards and left the checkout as it "
                "was: commit or discard them");
  Git({"-C", checkout_, "checkout", "--quiet", "a.yaml"});
  Git({"-C", checkout_, "checkout", "--quiet", "--detach"});
  auto detached = Checkout(checkout_, seconds(30)).FetchAndFastForward();
  ASSERT_FALSE(detached.ok());
  EXPECT_EQ(detached.status().message(), checkout_ + ": HEAD is detached (at " + Head(checkout_).substr(0, 12) +
                                             "); --git-pull follows a branch: check one out (git -C " + checkout_ +
                                             " checkout main)");
  const std::string plain = dir_.Join("plain");
  std::filesystem::create_directories(plain);
  auto none = Checkout(plain, seconds(30)).FetchAndFastForward();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), plain +
                                         " is not a git checkout with a commit; --git-pull needs a clone (git "
                                         "clone URL " +
                                         plain + ")");
}

// A remote that never answers: the fetch is killed at the deadline, with
// everything it started.
TEST_F(GitTest, AHangingRemoteIsCutOffAtTheDeadline) {
  Git({"-C", checkout_, "config", "protocol.ext.allow", "always"});
  Git({"-C", checkout_, "remote", "set-url", "origin", "ext::sh -c sleep% 600"});
  const auto start = std::chrono::steady_clock::now();
  auto r = Checkout(checkout_, seconds(1)).FetchAndFastForward();
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), checkout_ +
                                      ": git fetch timed out after 1s; the checkout was left as it was (check the "
                                      "remote's reachability)");
  EXPECT_LT(took, seconds(30));
}

}  // namespace
}  // namespace otaroll::git
