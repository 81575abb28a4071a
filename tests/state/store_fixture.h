// The store conformance suite's fixture: every test written against it runs
// once per backend (SQLite file, memory, PostgreSQL on a real server the
// test binary starts), holding all three to store.h's contract.
// Messages are compared with the backend's where() in place of the path.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "state/memory_store.h"
#include "state/pg_store.h"
#include "state/sqlite_store.h"
#include "state/store.h"
#include "state_test_util.h"
#include "test_util/child.h"
#include "test_util/postgres.h"

namespace otaroll::state::testing {

enum class Backend { kSqlite, kMemory, kPostgres };

inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : b == Backend::kMemory ? "memory" : "postgres");
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : info.param == Backend::kMemory ? "Memory" : "Postgres";
}

inline const auto kAllBackends = ::testing::Values(Backend::kSqlite, Backend::kMemory, Backend::kPostgres);

// One PostgreSQL server for the whole test binary, started at first use and
// stopped when the binary exits; null (with last_error()) when it cannot start.
inline test_util::PostgresServer* SharedPostgres() {
  static const std::unique_ptr<test_util::PostgresServer> server = test_util::PostgresServer::Start();
  return server.get();
}

// A URI of an empty database of its own on SharedPostgres(): every test
// starts from nothing, as with a new state file.
inline std::string FreshPostgres() {
  static int made = 0;
  test_util::PostgresServer* server = SharedPostgres();
  if (server == nullptr) return "";
  const std::string name = fmt::format("t{}_{}", ::getpid(), ++made);
  auto admin = PgDb::Connect(server->Uri());
  if (!admin.ok()) return "";
  if (!(*admin)->Exec("CREATE DATABASE " + name, {}, "making a test database").ok()) return "";
  return server->Uri(name);
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
    } else if (GetParam() == Backend::kPostgres) {
      uri_ = FreshPostgres();
      ASSERT_FALSE(uri_.empty()) << test_util::PostgresServer::last_error();
      auto store = PgStore::Open(uri_);
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

  bool postgres() const { return GetParam() == Backend::kPostgres; }
  // How messages name the state: "state file PATH", or the URI alone.
  std::string Named() const { return postgres() ? where_ : "state file " + where_; }

  std::unique_ptr<Store> store_;
  std::string where_;  // what the store's messages call it
  std::string uri_;    // kPostgres: the database's URI
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
