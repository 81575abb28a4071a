// OpenPGP keys made by the test for signed-commit tests: each key in a
// GNUPGHOME of its own in a temp dir (batch mode, no passphrase), its gpg
// agent stopped when it goes.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "test_util/child.h"
#include "test_util/git_repo.h"
#include "test_util/temp_dir.h"

namespace otaroll::test_util {

class GpgKey {
 public:
  GpgKey(const TempDir& dir, const std::string& name) : home_(dir.Join("gpg-" + name)) {
    std::filesystem::create_directories(home_);
    std::filesystem::permissions(home_, std::filesystem::perms::owner_all);
    RunResult made =
        Gpg({"--passphrase", "", "--quick-gen-key", name + " <" + name + "@example.com>", "ed25519", "sign", "never"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    RunResult listed = Gpg({"--with-colons", "--fingerprint", "--list-secret-keys"});
    std::istringstream lines(listed.out);
    for (std::string line; fingerprint_.empty() && std::getline(lines, line);) {
      if (line.rfind("fpr:", 0) != 0) continue;
      std::vector<std::string> fields;
      std::istringstream in(line);
      for (std::string f; std::getline(in, f, ':');) fields.push_back(f);
      if (fields.size() > 9) fingerprint_ = fields[9];  // the primary key's: listed first
    }
    EXPECT_EQ(fingerprint_.size(), 40u) << listed.out;
  }
  ~GpgKey() { Run({"gpgconf", "--homedir", home_, "--kill", "all"}, Options()); }

  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& home() const { return home_; }
  // The armored public key.
  std::string Armored() { return Gpg({"--armor", "--export", fingerprint_}).out; }
  // git commit -S with this key, in `repo`.
  RunResult CommitSigned(const std::string& repo, const std::string& message) {
    RunOptions o = Options();
    o.env.insert({{"GIT_AUTHOR_NAME", "t"},
                  {"GIT_AUTHOR_EMAIL", "t@example.com"},
                  {"GIT_COMMITTER_NAME", "t"},
                  {"GIT_COMMITTER_EMAIL", "t@example.com"},
                  {"GIT_CONFIG_GLOBAL", "/dev/null"}});
    return Run({"git", "-C", repo, "-c", "gpg.program=gpg", "-c", "user.signingkey=" + fingerprint_, "commit",
                "--quiet", "-S", "-m", message},
               o);
  }

 private:
  RunOptions Options() const {
    RunOptions o;
    o.search_path = true;
    o.env = {{"GNUPGHOME", home_}};
    o.timeout_seconds = 60;
    return o;
  }
  RunResult Gpg(std::vector<std::string> args) {
    args.insert(args.begin(), {"gpg", "--batch", "--no-tty", "--homedir", home_});
    return Run(args, Options());
  }
  std::string home_;
  std::string fingerprint_;
};

}  // namespace otaroll::test_util
