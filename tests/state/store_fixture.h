// The store conformance suite's fixture: every test written against it runs
// once per backend (SQLite file, memory), holding both to store.h's contract.
// Messages are compared with the backend's where() in place of the path.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "state/memory_store.h"
#include "state/sqlite_store.h"
#include "state/store.h"
#include "state_test_util.h"
#include "test_util/child.h"

namespace otaroll::state::testing {

enum class Backend { kSqlite, kMemory };

inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : "memory");
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Memory";
}

// Polls `done` until it holds or `bound` passes: waiting on an observable
// condition, never sleeping as synchronisation.
template <typename F>
inline bool Eventually(F done, std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A lease as another process would hold it.
inline Lease Holder(const std::string& host, int64_t pid, const std::string& token, int64_t ttl = 30) {
  Lease l;
  l.host = host;
  l.pid = pid;
  l.token = token;
  l.ttl_seconds = ttl;
  return l;
}

class StoreFixture : public StateTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    StateTest::SetUp();
    if (GetParam() == Backend::kSqlite) {
      auto store = SqliteStore::Open(Path("state.db"));
      ASSERT_TRUE(store.ok()) << store.status().message();
      store_ = std::move(*store);
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
    where_ = store_->where();
  }
  void TearDown() override {
    store_.reset();
    StateTest::TearDown();
  }

  Snapshot Load() {
    auto snap = store_->Load();
    EXPECT_TRUE(snap.ok()) << snap.status().message();
    return snap.ok() ? *snap : Snapshot{};
  }
  // Store::Serial, checked against the serial of a whole Load.
  int64_t Serial() {
    auto serial = store_->Serial();
    EXPECT_TRUE(serial.ok()) << serial.status().message();
    EXPECT_EQ(serial.ok() ? *serial : -1, Load().serial);
    return serial.ok() ? *serial : -1;
  }

  int64_t Insert(const Attempt& a) {
    auto id = store_->InsertAttempt(a);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }

  std::optional<Lease> Held() {
    auto held = store_->ReadLease();
    EXPECT_TRUE(held.ok()) << held.status().message();
    return held.ok() ? *held : std::nullopt;
  }

  // The pid of a child that has exited and been reaped: no process has it.
  static pid_t DeadPid() {
    test_util::Child child({"/bin/true"}, {});
    child.Wait();
    return child.pid();
  }

  static core::Time Now() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

  std::unique_ptr<Store> store_;
  std::string where_;  // what the store's messages call it
};

// What only a SQLite file has (triggers, other processes' locks) is tested
// on a SqliteStore of its own.
class SqliteTest : public StateTest {
 protected:
  void SetUp() override {
    StateTest::SetUp();
    path_ = Path("state.db");
    auto store = SqliteStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    StateTest::TearDown();
  }

  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

}  // namespace otaroll::state::testing
