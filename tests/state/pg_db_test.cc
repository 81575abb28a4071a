// The libpq layer of the PostgreSQL state against a real server started by
// the test (test_util/postgres.h): statements with parameters, failures as
// values that say what and where, and a password that never reaches a
// message, whichever way it came.
#include "state/pg_db.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "test_util/postgres.h"

namespace otaroll::state {
namespace {

using test_util::PostgresServer;

class PgDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PostgresServer::Start().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << PostgresServer::last_error(); }
  std::string Shown() const { return fmt::format("postgresql://otaroll@127.0.0.1:{}/postgres", server_->port()); }

  static PostgresServer* server_;
};
PostgresServer* PgDbTest::server_ = nullptr;

TEST_F(PgDbTest, RunsStatementsWithParametersAgainstARealServer) {
  auto db = PgDb::Connect(server_->Uri());
  ASSERT_TRUE(db.ok()) << db.status().message();
  EXPECT_EQ((*db)->display(), Shown());
  ASSERT_TRUE(
      (*db)
          ->Exec("CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, note TEXT)", {}, "making notes")
          .ok());
  const std::string tricky = "it's \"quoted\"; DROP TABLE notes; -- ✓";
  auto added = (*db)->Exec("INSERT INTO notes (name, note) VALUES ($1, $2), ($3, $4)",
                           {"first", tricky, "second", std::nullopt}, "adding notes");
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(added->Affected(), 2);
  auto rows = (*db)->Exec("SELECT id, name, note FROM notes WHERE id >= $1 ORDER BY id", {"1"}, "reading notes");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->Int(0, 0), 1);
  EXPECT_EQ(rows->Text(0, 1), "first");
  EXPECT_EQ(rows->Text(0, 2), tricky);
  EXPECT_FALSE(rows->IsNull(0, 2));
  EXPECT_TRUE(rows->IsNull(1, 2));
  EXPECT_EQ(rows->Text(1, 2), "");
  EXPECT_TRUE((*db)->ok());
}

TEST_F(PgDbTest, AFailedStatementSaysWhatWhereAndItsSqlstate) {
  auto db = PgDb::Connect(server_->Uri());
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto rows = (*db)->Exec("SELECT * FROM nowhere WHERE id = $1", {"1"}, "reading nowhere");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().message(),
            Shown() + ": relation \"nowhere\" does not exist (SQLSTATE 42P01) while reading nowhere");
  EXPECT_EQ((*db)->last_sqlstate(), "42P01");
  EXPECT_TRUE((*db)->Exec("SELECT 1", {}, "checking").ok());
  EXPECT_EQ((*db)->last_sqlstate(), "");
}

TEST_F(PgDbTest, APasswordNeverReachesAMessage) {
  const std::string wrong = "not-the-Passw0rd";
  auto refused = PgDb::Connect(
      fmt::format("postgresql://otaroll:{}@127.0.0.1:{}/postgres?sslmode=disable", wrong, server_->port()));
  ASSERT_FALSE(refused.ok());
  const std::string message = refused.status().message();
  EXPECT_EQ(message.rfind(Shown() + ": cannot connect: ", 0), 0u) << message;
  EXPECT_NE(message.find("password authentication failed for user \"otaroll\""), std::string::npos) << message;
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;

  // A URI libpq cannot read: its own message could quote the password.
  auto unreadable = PgDb::Connect("postgresql://otaroll:%zzsecret-pass@127.0.0.1:1/x");
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.status().message(),
            "postgresql://…: not a PostgreSQL connection URI libpq can read; write it as "
            "postgresql://USER@HOST:PORT/DATABASE (the password from PGPASSWORD or PGPASSFILE)");
}

TEST_F(PgDbTest, ThePasswordComesFromPgpasswordOrAPassfile) {
  const std::string uri = server_->UriWithoutPassword();
  ::setenv("PGPASSWORD", PostgresServer::kPassword, 1);
  auto by_env = PgDb::Connect(uri);
  ::unsetenv("PGPASSWORD");
  EXPECT_TRUE(by_env.ok()) << by_env.status().message();

  test_util::TempDir dir;
  const std::string file =
      dir.Write("pgpass", fmt::format("127.0.0.1:{}:*:otaroll:{}\n", server_->port(), PostgresServer::kPassword));
  ::chmod(file.c_str(), 0600);
  ::setenv("PGPASSFILE", file.c_str(), 1);
  auto by_file = PgDb::Connect(uri);
  ::unsetenv("PGPASSFILE");
  EXPECT_TRUE(by_file.ok()) << by_file.status().message();
}

TEST(PgDb, ItsNameShowsNeitherPasswordNorOptions) {
  EXPECT_EQ(ShownPgUri("postgresql://fleet:pw@db.example:5433/ota?sslmode=require"),
            "postgresql://fleet@db.example:5433/ota");
  EXPECT_EQ(ShownPgUri("postgres://db.example/ota"), "postgresql://db.example:5432/ota");
  EXPECT_EQ(ShownPgUri("postgresql://fleet@db.example"), "postgresql://fleet@db.example:5432/fleet");
  EXPECT_EQ(ShownPgUri("postgresql://fleet:%zz@db/x"), "postgresql://…");
}

// A server that goes away (stopped at once, as a crash would) mid-session:
// the next statement says the connection was lost, and ok() turns false.
TEST(PgDbServer, AServerThatGoesAwayLosesTheConnection) {
  auto server = PostgresServer::Start();
  ASSERT_NE(server, nullptr) << PostgresServer::last_error();
  auto db = PgDb::Connect(server->Uri());
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_EQ(server->Stop().exit_code, 0);
  auto rows = (*db)->Exec("SELECT 1", {}, "checking the server");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), core::Status::Code::kUnavailable);
  EXPECT_EQ(
      rows.status().message().rfind(
          fmt::format("postgresql://otaroll@127.0.0.1:{}/postgres: lost the connection while checking the server: ",
                      server->port()),
          0),
      0u)
      << rows.status().message();
  EXPECT_FALSE((*db)->ok());
}

}  // namespace
}  // namespace otaroll::state
