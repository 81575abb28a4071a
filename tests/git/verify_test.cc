// git::TrustedKeys with keys made by the test: a commit signed by a trusted
// key verifies; one signed by another key, an unsigned one, and a keyring
// that is not one are refused with a sentence saying why.
#include "git/verify.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "test_util/git_repo.h"
#include "test_util/gpg.h"
#include "test_util/temp_dir.h"

namespace otaroll::git {
namespace {

using std::chrono::seconds;

class VerifyTest : public ::testing::Test {
 protected:
  VerifyTest() : trusted_(dir_, "trusted"), other_(dir_, "other"), repos_(dir_) {
    keys_file_ = dir_.Join("trusted.asc");
    std::ofstream(keys_file_) << trusted_.Armored();
  }
  std::string Commit(test_util::GpgKey* key, const std::string& file) {
    std::ofstream(repos_.author + "/" + file) << file << "\n";
    test_util::Git({"-C", repos_.author, "add", file});
    if (key != nullptr) {
      auto r = key->CommitSigned(repos_.author, "signed " + file);
      EXPECT_EQ(r.exit_code, 0) << r.err;
    } else {
      test_util::Git({"-C", repos_.author, "commit", "--quiet", "-m", "unsigned " + file});
    }
    return test_util::GitRepos::Head(repos_.author);
  }
  test_util::TempDir dir_;
  test_util::GpgKey trusted_, other_;
  test_util::GitRepos repos_;
  std::string keys_file_;
};

TEST_F(VerifyTest, OnlyCommitsSignedByATrustedKeyVerify) {
  auto keys = TrustedKeys::Import(keys_file_, seconds(30));
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  EXPECT_EQ((*keys)->fingerprints(), (std::vector<std::string>{trusted_.fingerprint()}));

  const std::string good = Commit(&trusted_, "a.yaml");
  auto signer = (*keys)->Verify(repos_.author, good);
  ASSERT_TRUE(signer.ok()) << signer.status().message();
  EXPECT_EQ(*signer, trusted_.fingerprint());

  const std::string foreign = Commit(&other_, "b.yaml");
  auto refused = (*keys)->Verify(repos_.author, foreign);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "commit " + foreign.substr(0, 12) + " is signed by key " +
                                            other_.fingerprint().substr(24) + ", which is not in " + keys_file_ +
                                            "; only commits signed by a trusted key are acted on");

  const std::string unsigned_commit = Commit(nullptr, "c.yaml");
  auto bare = (*keys)->Verify(repos_.author, unsigned_commit);
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().message(), "commit " + unsigned_commit.substr(0, 12) +
                                         " is not signed; with --verify-commits only commits signed by a key of " +
                                         keys_file_ + " are acted on");
}

TEST_F(VerifyTest, AKeyringThatIsNotOneIsRefused) {
  std::ofstream(dir_.Join("not-keys.asc")) << "hello\n";
  auto keys = TrustedKeys::Import(dir_.Join("not-keys.asc"), seconds(30));
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().message().rfind(
                "--trusted-keys " + dir_.Join("not-keys.asc") + ": no OpenPGP public key could be imported (", 0),
            0u)
      << keys.status().message();
  auto missing = TrustedKeys::Import(dir_.Join("missing.asc"), seconds(30));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "--trusted-keys " + dir_.Join("missing.asc") +
                                            ": no such file; name an armored OpenPGP public keyring (gpg --armor "
                                            "--export)");
}

}  // namespace
}  // namespace otaroll::git
