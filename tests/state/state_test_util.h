// Shared helpers for the state tests: a fresh temporary directory per test,
// raw SQLite access for poking at files behind the store's back, and builders.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "core/sha256.h"
#include "core/time.h"
#include "state/request.h"
#include "state/snapshot.h"

namespace otaroll::state::testing {

inline core::Time T(const char* rfc3339) {
  return *core::ParseRfc3339(rfc3339);
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "otaroll-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::set<std::string> Listing() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) names.insert(entry.path().filename());
    return names;
  }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void WriteBytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  static std::string HashFile(const std::string& path) { return core::Sha256Hex(ReadBytes(path)); }

  std::filesystem::path dir_;
};

// A second, independent connection to a state file, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  int Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (err) {
      last_error_ = err;
      sqlite3_free(err);
    }
    return rc;
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      v = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string v;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      if (auto* p = sqlite3_column_text(stmt, 0)) v = reinterpret_cast<const char*>(p);
    }
    sqlite3_finalize(stmt);
    return v;
  }
  const std::string& last_error() const { return last_error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string last_error_;
};

inline Attempt PendingAttempt(const std::string& intent, const std::string& rollout, const std::string& stage) {
  Attempt a;
  a.intent_id = intent;
  a.rollout = rollout;
  a.stage = stage;
  a.spec_hash = "hash-" + stage;
  a.request = state::RequestText(
      {{"ProductKey", "k1"}, {"FirmwareId", "178"}, {"TargetSelection", "GRAY"}, {"GrayPercent", "10"}});
  a.status = AttemptStatus::kPending;
  a.attempt_count = 0;
  a.created_at = T("2026-11-25T10:00:00Z");
  a.updated_at = a.created_at;
  return a;
}

}  // namespace otaroll::state::testing
