// core::Spill: text written before what it follows is known, read back
// whole (plan's JSON rollouts, spilled until their counts are written).
#include "core/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

namespace otaroll::core {
namespace {

namespace fs = std::filesystem;

// Points TMPDIR at a folder of the test's own for its lifetime.
class TempDirEnv {
 public:
  TempDirEnv() : dir_(fs::temp_directory_path() / ("otaroll-spill-test-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    const char* old = std::getenv("TMPDIR");
    if (old != nullptr) old_ = old;
    ::setenv("TMPDIR", dir_.c_str(), 1);
  }
  ~TempDirEnv() {
    if (old_.empty()) {
      ::unsetenv("TMPDIR");
    } else {
      ::setenv("TMPDIR", old_.c_str(), 1);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::string old_;
};

TEST(Spill, WhatIsWrittenIsReadBackWholeAsOftenAsAskedAndLeavesNoFile) {
  TempDirEnv env;
  auto spill = Spill::Open();
  ASSERT_TRUE(spill.ok()) << spill.status().message();
  EXPECT_TRUE(spill->empty());
  EXPECT_TRUE(fs::is_empty(env.dir()));  // nameless from the start
  std::string big(200000, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(spill->Write("head,").ok());
  ASSERT_TRUE(spill->Write(big).ok());
  EXPECT_FALSE(spill->empty());
  std::ostringstream once, twice;
  ASSERT_TRUE(spill->CopyTo(once).ok());
  ASSERT_TRUE(spill->Write(",tail").ok());  // writing goes on at the end
  ASSERT_TRUE(spill->CopyTo(twice).ok());
  EXPECT_EQ(once.str(), "head," + big);
  EXPECT_EQ(twice.str(), "head," + big + ",tail");
}

TEST(Spill, AnUnwritableFolderIsNamedWithTheReason) {
  TempDirEnv env;
  ::setenv("TMPDIR", (env.dir() / "missing").c_str(), 1);
  auto spill = Spill::Open();
  ASSERT_FALSE(spill.ok());
  EXPECT_EQ(spill.status().message(),
            "cannot make a temporary file in " + (env.dir() / "missing").string() + ": No such file or directory");
}

}  // namespace
}  // namespace otaroll::core
