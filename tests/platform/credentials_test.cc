#include "platform/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <optional>

#include "test_util/temp_dir.h"

namespace otaroll::platform {
namespace {

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) saved_ = v;
  }
  ~EnvGuard() {
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(CredentialsTest, FromEnvironment) {
  EnvGuard a(kAccessKeyIdEnv), b(kAccessKeySecretEnv);
  setenv(kAccessKeyIdEnv, "id1", 1);
  setenv(kAccessKeySecretEnv, "sec1", 1);
  auto c = CredentialsFromEnv();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "id1");
  EXPECT_EQ(c->access_key_secret, "sec1");
}

TEST(CredentialsTest, MissingEnvironmentSaysWhatToSet) {
  EnvGuard a(kAccessKeyIdEnv), b(kAccessKeySecretEnv);
  unsetenv(kAccessKeyIdEnv);
  unsetenv(kAccessKeySecretEnv);
  EXPECT_EQ(CredentialsFromEnv().status().message(),
            "no platform credentials: set OTAROLL_ACCESS_KEY_ID and OTAROLL_ACCESS_KEY_SECRET, or pass "
            "--credentials-file FILE");
  setenv(kAccessKeyIdEnv, "id1", 1);
  EXPECT_EQ(CredentialsFromEnv().status().message(),
            "OTAROLL_ACCESS_KEY_ID is set but OTAROLL_ACCESS_KEY_SECRET is not; set both, or pass "
            "--credentials-file FILE");
}

TEST(CredentialsTest, PrivateFile) {
  test_util::TempDir dir;
  std::string path =
      dir.Write("creds", "# otaroll\nOTAROLL_ACCESS_KEY_ID=id2\nexport OTAROLL_ACCESS_KEY_SECRET=\"sec 2\"\n");
  chmod(path.c_str(), 0600);
  auto c = CredentialsFromFile(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->access_key_id, "id2");
  EXPECT_EQ(c->access_key_secret, "sec 2");
}

TEST(CredentialsTest, GroupOrWorldReadableFileIsRefusedWithTheReason) {
  test_util::TempDir dir;
  std::string path = dir.Write("creds", "OTAROLL_ACCESS_KEY_ID=id2\nOTAROLL_ACCESS_KEY_SECRET=topsecret\n");
  chmod(path.c_str(), 0644);
  auto c = CredentialsFromFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            path +
                ": the credentials file is readable or writable by group or others (mode 0644); a secret must be "
                "private: run chmod 600 " +
                path);
  chmod(path.c_str(), 0640);
  EXPECT_FALSE(CredentialsFromFile(path).ok());
}

TEST(CredentialsTest, MalformedFileNeverQuotesTheLine) {
  test_util::TempDir dir;
  std::string path = dir.Write("creds", "OTAROLL_ACCESS_KEY_ID=id2\ntopsecret-without-a-name\n");
  chmod(path.c_str(), 0600);
  auto c = CredentialsFromFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            path + ":2: expected NAME=value (OTAROLL_ACCESS_KEY_ID or OTAROLL_ACCESS_KEY_SECRET)");
  EXPECT_EQ(c.status().message().find("topsecret"), std::string::npos);
}

TEST(CredentialsTest, IncompleteFile) {
  test_util::TempDir dir;
  std::string path = dir.Write("creds", "OTAROLL_ACCESS_KEY_ID=id2\n");
  chmod(path.c_str(), 0600);
  EXPECT_EQ(CredentialsFromFile(path).status().message(),
            path + ": the credentials file must set both OTAROLL_ACCESS_KEY_ID and OTAROLL_ACCESS_KEY_SECRET");
}

TEST(CredentialsTest, MissingFile) {
  EXPECT_EQ(CredentialsFromFile("/nonexistent/creds").status().message(),
            "/nonexistent/creds: cannot read the credentials file: No such file or directory");
}

}  // namespace
}  // namespace otaroll::platform
