// Real git repositories in a temp dir for the daemon's tests: a bare
// "remote", an author's clone that commits and pushes, and the checkout the
// daemon pulls. git runs with no global config, fixed identities, and never
// prompts.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll::test_util {

inline RunResult Git(std::vector<std::string> args, bool expect_ok = true) {
  args.insert(args.begin(), "git");
  RunOptions o;
  o.search_path = true;
  o.env = {{"GIT_AUTHOR_NAME", "t"},           {"GIT_AUTHOR_EMAIL", "t@example.com"},
           {"GIT_COMMITTER_NAME", "t"},        {"GIT_COMMITTER_EMAIL", "t@example.com"},
           {"GIT_CONFIG_GLOBAL", "/dev/null"}, {"GIT_TERMINAL_PROMPT", "0"}};
  o.timeout_seconds = 60;
  RunResult r = Run(args, o);
  if (expect_ok) {
    EXPECT_EQ(r.exit_code, 0) << "git " << args[1] << " " << args[2] << ": " << r.err;
  }
  return r;
}

class GitRepos {
 public:
  // The remote with one commit on main (`first_file` holding `first_text`),
  // and two clones of it.
  explicit GitRepos(const TempDir& dir, const std::string& first_file = "README.md",
                    const std::string& first_text = "rollouts\n")
      : remote(dir.Join("remote.git")), author(dir.Join("author")), checkout(dir.Join("checkout")) {
    Git({"init", "--quiet", "--bare", "--initial-branch=main", remote});
    Git({"clone", "--quiet", remote, author});
    Git({"-C", author, "checkout", "--quiet", "-B", "main"});
    Commit(first_file, first_text);
    Push();
    Git({"clone", "--quiet", remote, checkout});
  }

  // Writes `file` (creating its folders) in the author's clone and commits it.
  void Commit(const std::string& file, const std::string& text) const {
    const std::filesystem::path path = std::filesystem::path(author) / file;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    Git({"-C", author, "add", file});
    Git({"-C", author, "commit", "--quiet", "-m", "change " + file});
  }
  void Push(bool force = false) const {
    if (force) {
      Git({"-C", author, "push", "--quiet", "--force", "origin", "HEAD:main"});
    } else {
      Git({"-C", author, "push", "--quiet", "origin", "HEAD:main"});
    }
  }
  static std::string Head(const std::string& repo) {
    std::string out = Git({"-C", repo, "rev-parse", "HEAD"}).out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::string remote, author, checkout;
};

}  // namespace otaroll::test_util
