#include "notify/payload.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace otaroll::notify {
namespace {

state::Event Halted() {
  state::Event e;
  e.seq = 42;
  e.at = *core::ParseRfc3339("2026-11-30T10:00:00Z");
  e.rollout = "hvac";
  e.stage = "wave";
  e.kind = "halted";
  e.message = "hvac/wave is halted at commit 0123456789ab: stage canary breached its health gate: 80% failed";
  e.data_json =
      R"({"commit":"0123456789abcdef","health":{"failed":8,"finished":10,"job":"J1","observed_at":"2026-11-30T09:59:00Z","succeeded":2,"total":10}})";
  return e;
}

TEST(Payload, WhichEventsNotify) {
  for (const char* kind : {"created", "halted", "failed", "adopted", "duplicate", "tree-invalid", "tree-untrusted",
                           "lease-lost", "reminder"}) {
    state::Event e;
    e.kind = kind;
    EXPECT_TRUE(Notifies(e)) << kind;
  }
  for (const char* kind : {"intent", "cycle", "unknown", "lookup-failed", "superseded", "git-failed", "not-created"}) {
    state::Event e;
    e.kind = kind;
    EXPECT_FALSE(Notifies(e)) << kind;
  }
  state::Event resolved;
  resolved.kind = "not-created";
  resolved.data_json = R"({"resolved":true})";
  EXPECT_TRUE(Notifies(resolved));
}

TEST(Payload, TheJsonDocumentCarriesTheEventWhole) {
  const auto doc = nlohmann::json::parse(Body(Halted(), Format::kJson));
  EXPECT_EQ(doc["id"], IdempotencyKey(Halted()));
  EXPECT_EQ(doc["seq"], 42);
  EXPECT_EQ(doc["kind"], "halted");
  EXPECT_EQ(doc["title"], "stage halted");
  EXPECT_EQ(doc["at"], "2026-11-30T10:00:00Z");
  EXPECT_EQ(doc["rollout"], "hvac");
  EXPECT_EQ(doc["stage"], "wave");
  EXPECT_EQ(doc["data"]["health"]["failed"], 8);
  state::Event whole = Halted();
  whole.rollout = whole.stage = "";
  EXPECT_TRUE(nlohmann::json::parse(Body(whole, Format::kJson))["rollout"].is_null());
}

// Every kind's JSON body agrees with schemas/notification.schema.json (Ajv,
// strict mode; scripts/install-deps.sh installs the checker).
TEST(Payload, TheJsonBodyMatchesItsSchema) {
  const std::string root = OTAROLL_SOURCE_DIR;
  if (!std::filesystem::exists(root + "/tools/schema-check/node_modules/ajv") ||
      std::system("node --version >/dev/null 2>&1") != 0) {
    FAIL() << "node or tools/schema-check/node_modules is missing; run scripts/install-deps.sh";
  }
  std::string files;
  for (const char* kind : {"created", "halted", "tree-invalid", "lease-lost"}) {
    state::Event e = Halted();
    e.kind = kind;
    if (std::string(kind) != "halted") e.rollout = e.stage = "";
    const std::string path = fmt::format("{}/otaroll-notification-{}.json", ::testing::TempDir(), kind);
    std::ofstream(path) << Body(e, Format::kJson);
    files += " '" + path + "'";
  }
  const std::string log = ::testing::TempDir() + "/otaroll-notification-schema.log";
  const int rc = std::system(
      fmt::format("node '{0}/tools/schema-check/check-json.mjs' '{0}/schemas/notification.schema.json'{1} >'{2}' 2>&1",
                  root, files, log)
          .c_str());
  std::ifstream in(log);
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << out;
}

TEST(Payload, SlackGetsAReadableTextWithTheFiguresAndEscapedMarkup) {
  const auto doc = nlohmann::json::parse(Body(Halted(), Format::kSlack));
  EXPECT_EQ(doc["text"],
            ":rotating_light: *otaroll: stage halted* · `hvac/wave`\n"
            "hvac/wave is halted at commit 0123456789ab: stage canary breached its health gate: 80% failed\n"
            ">succeeded 2 · failed 8 · finished 10 of 10 (observed 2026-11-30T09:59:00Z)\n"
            "_2026-11-30T10:00:00Z · commit 0123456789ab_");
  state::Event e = Halted();
  e.kind = "reminder";
  e.message = "frozen by <!channel> & co";
  e.data_json = "[1]";  // not ours: shown without details
  EXPECT_EQ(
      nlohmann::json::parse(Body(e, Format::kSlack))["text"],
      ":hourglass: *otaroll: reminder* · `hvac/wave`\nfrozen by &lt;!channel&gt; &amp; co\n_2026-11-30T10:00:00Z_");
}

TEST(Payload, TheIdempotencyKeyIsTheSameForTheSameEventOnly) {
  EXPECT_EQ(IdempotencyKey(Halted()), IdempotencyKey(Halted()));
  EXPECT_EQ(IdempotencyKey(Halted()).rfind("otaroll-42-", 0), 0u);
  EXPECT_EQ(IdempotencyKey(Halted()).size(), std::string("otaroll-42-").size() + 16);
  state::Event other = Halted();
  other.message += ".";
  EXPECT_NE(IdempotencyKey(other), IdempotencyKey(Halted()));
}

}  // namespace
}  // namespace otaroll::notify
