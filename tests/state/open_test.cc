// The --state value → store factory (state/open.h).
#include "state/open.h"

#include <gtest/gtest.h>

#include "state_test_util.h"

namespace otaroll::state {
namespace {

using testing::StateTest;

class OpenTest : public StateTest {};

TEST_F(OpenTest, APathOrSqlitePathIsASqliteFile) {
  auto plain = ParseLocation("rollouts/.otaroll/state.db");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->kind, Location::Kind::kSqlite);
  EXPECT_EQ(plain->path, "rollouts/.otaroll/state.db");
  auto prefixed = ParseLocation("sqlite:/var/lib/otaroll/state.db");
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(prefixed->path, "/var/lib/otaroll/state.db");
  // A colon or "//" inside a path is not a scheme.
  EXPECT_EQ(ParseLocation("a:b/state.db")->path, "a:b/state.db");
  EXPECT_EQ(ParseLocation("dir/x://y")->path, "dir/x://y");
}

TEST_F(OpenTest, PostgresUrisArePostgresAndOtherSchemesAreNamedWithoutTheRestOfTheUrl) {
  for (const char* uri : {"postgres://otaroll:s3cret@db.example/otaroll", "postgresql://h/db"}) {
    auto pg = ParseLocation(uri);
    ASSERT_TRUE(pg.ok()) << pg.status().message();
    EXPECT_EQ(pg->kind, Location::Kind::kPostgres);
    EXPECT_EQ(pg->path, uri);
  }
  EXPECT_EQ(Shown(*ParseLocation("postgres://otaroll:s3cret@db.example/otaroll")),
            "postgresql://otaroll@db.example:5432/otaroll");
  EXPECT_EQ(Shown(*ParseLocation("sqlite:/var/lib/otaroll/state.db")), "/var/lib/otaroll/state.db");
  EXPECT_EQ(ParseLocation("etcd://u:pw@h").status().message(),
            "--state etcd://…: unknown state scheme etcd; pass a state file path (or sqlite:PATH)");
  EXPECT_EQ(ParseLocation("sqlite:").status().message(),
            "--state sqlite: names no file; pass sqlite:PATH or just the path");
}

TEST_F(OpenTest, OpenStoreAndLoadSnapshotAtGoThroughTheSameParse) {
  const std::string path = Path("state.db");
  EXPECT_FALSE(LoadSnapshotAt("sqlite:" + path)->exists);  // nothing created by a read
  EXPECT_TRUE(Listing().empty());
  auto store = OpenStore("sqlite:" + path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ((*store)->where(), path);
  ASSERT_TRUE((*store)->UpsertRollout("r1", "k1", "178", testing::T("2026-11-25T09:00:00Z")).ok());
  auto snap = LoadSnapshotAt(path);
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->exists);
  EXPECT_EQ(snap->serial, 1);
  EXPECT_FALSE(OpenStore("postgres://h/db").ok());
  EXPECT_FALSE(LoadSnapshotAt("postgres://h/db").ok());
}

}  // namespace
}  // namespace otaroll::state
