#include "render/render.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/sha256.h"

namespace otaroll::render {
namespace {

using namespace std::chrono;
using plan::Action;

core::Time At(const char* text) {
  return *core::ParseRfc3339(text);
}
// Real-looking spec hashes, so the samples also pass the schema.
std::string H(const std::string& s) {
  return core::Sha256Hex(s);
}

plan::JobRef Job(std::string id, std::string hash, std::string status = "created") {
  plan::JobRef j;
  j.job_id = std::move(id);
  j.intent_id = "intent-" + j.job_id;
  j.spec_hash = std::move(hash);
  j.status = std::move(status);
  j.created_at = At("2026-11-20T10:00:00Z");
  return j;
}

plan::StagePlan Stage(std::string name, int index, Action action, std::string target) {
  plan::StagePlan s;
  s.name = std::move(name);
  s.index = index;
  s.action = action;
  s.target = std::move(target);
  s.spec_hash = H(s.name);
  s.params = std::make_shared<const spec::ParamSet>(
      spec::ParamSet{{"ProductKey", {"k1nhvyl0001"}},
                     {"FirmwareId", {"178"}},
                     {"SrcVersion", {"1.0.1"}},
                     {"TargetSelection", {s.target.substr(0, s.target.find(' '))}}});
  s.position = {"examples/hvac/thermostat.yaml", 10 + index * 3, 9};
  return s;
}

// A stage's parameters with `more` added (a plan's parameters are shared, const).
std::shared_ptr<const spec::ParamSet> With(const std::shared_ptr<const spec::ParamSet>& params, spec::ParamSet more) {
  spec::ParamSet all = *params;
  for (auto& [name, values] : more) all[name] = std::move(values);
  return std::make_shared<const spec::ParamSet>(std::move(all));
}

// Counts are the planner's job; hand-built plans compute them the same way.
void Summarize(plan::Plan& p) {
  p.summary = {};
  for (const auto& r : p.rollouts) {
    for (const auto& s : r.stages) ++p.summary.counts[static_cast<size_t>(s.action)];
  }
  p.summary.counts[static_cast<size_t>(Action::kOrphaned)] += static_cast<int>(p.orphans.size());
}

plan::Plan BasePlan() {
  plan::Plan p;
  p.now = At("2026-11-25T10:00:00Z");
  p.mode = "state";
  p.state_source = "examples/.otaroll/state.db";
  p.state_exists = true;
  p.state_serial = 42;
  p.manifest_digest = std::string(64, 'a');
  return p;
}

// Every action once: one rollout with create/replace/waiting/in-sync/blocked,
// one with held/unknown/halted, one all in sync, and an orphan.
plan::Plan FullPlan() {
  plan::Plan p = BasePlan();
  plan::RolloutPlan r;
  r.name = "thermostat-2-4-0";
  r.position = {"examples/hvac/thermostat.yaml", 4, 9};
  r.product_key = "k1nhvyl0001";
  r.firmware_id = "178";

  auto canary = Stage("canary", 0, Action::kCreate, "GRAY 10%");
  canary.parts_to_create = 1;
  canary.params =
      With(canary.params, {{"GrayPercent", {"10"}}, {"NeedPush", {"true"}}, {"TimeoutInMinutes", {"1440"}}});
  auto pilot = Stage("pilot", 1, Action::kReplace, "GROUP CtjzCkNuOx");
  pilot.reason = "job 1234 is superseded";
  pilot.previous_hash = H("old");
  pilot.parts_to_create = 1;
  pilot.changes = {{"GrayPercent", "10", "20"}, {"TimeoutInMinutes", "", "720"}, {"RetryCount", "1", ""}};
  pilot.jobs = {Job("1234", H("old"))};
  auto vip = Stage("vip", 2, Action::kInSync, "SPECIFIC 2 devices");
  vip.params = With(vip.params, {{"TargetDeviceName", {"dev-001", "dev-002"}}});
  vip.jobs = {Job("5678", H("vip"))};
  auto everyone = Stage("everyone", 3, Action::kWaiting, "ALL");
  everyone.reason = "soak 48h after vip";
  everyone.opens_at = At("2026-11-27T10:00:00Z");
  auto x = Stage("x", 4, Action::kBlocked, "ALL");
  x.reason = "stage everyone is not created yet";
  r.stages = {canary, pilot, vip, everyone, x};
  p.rollouts.push_back(r);

  plan::RolloutPlan g;
  g.name = "gateway-1-2-0";
  g.position = {"examples/gw.yaml", 1, 1};
  g.product_key = "pk|gw";
  g.firmware_id = "9";
  auto a = Stage("a", 0, Action::kInSync, "GRAY 5%");
  a.jobs = {Job("11", H("a"))};
  auto b = Stage("b", 1, Action::kHalted, "GRAY 50%");
  b.reason = "job 11 breached maxFailedPercent 2 (3.0% failed)";
  b.health = plan::HealthView{"11", At("2026-11-25T08:00:00Z"), hours(2), 100, 97, 3, 120};
  auto c = Stage("c", 2, Action::kHeld, "ALL");
  c.reason = "hold: true";
  auto d = Stage("d", 3, Action::kUnknown, "GROUP g1");
  d.reason = "an earlier create attempt has an unknown outcome";
  d.jobs = {Job("", H("d"), "unknown")};
  d.jobs[0].created_at.reset();
  d.jobs[0].error_code = "Timeout";
  g.stages = {a, b, c, d};
  p.rollouts.push_back(g);

  plan::RolloutPlan s;
  s.name = "lamp-1-0-0";
  s.position = {"examples/lamp.yaml", 1, 1};
  s.product_key = "pk2";
  s.firmware_id = "7";
  s.stages = {Stage("one", 0, Action::kInSync, "ALL"), Stage("two", 1, Action::kInSync, "ALL")};
  p.rollouts.push_back(s);

  plan::Orphan o{"oldrollout", "canary", Job("999", H("x"), "superseded")};
  o.job.created_at = At("2026-10-01T00:00:00Z");
  p.orphans.push_back(o);
  Summarize(p);
  return p;
}

TEST(Text, GoldenFullPlan) {
  EXPECT_EQ(Text(FullPlan(), {}),
            "Plan: 1 to create, 1 to replace; 1 waiting, 1 held, 1 blocked, 1 unknown, 1 halted, 4 in sync, "
            "1 orphaned.\n"
            "State: examples/.otaroll/state.db (serial 42)\n"
            "Now: 2026-11-25T10:00:00Z\n"
            "\n"
            "rollout thermostat-2-4-0  (examples/hvac/thermostat.yaml:4:9)  product k1nhvyl0001, firmware 178\n"
            "  + canary    create   GRAY 10%\n"
            "  ~ pilot     replace  GROUP CtjzCkNuOx    job 1234 is superseded\n"
            "        GrayPercent: 10 → 20\n"
            "        + TimeoutInMinutes: 720\n"
            "        - RetryCount: 1\n"
            "  = vip       in-sync  SPECIFIC 2 devices  job 5678\n"
            "  > everyone  waiting  ALL                 soak 48h after vip: opens 2026-11-27T10:00:00Z\n"
            "  ! x         blocked  ALL                 stage everyone is not created yet\n"
            "rollout gateway-1-2-0  (examples/gw.yaml:1:1)  product pk|gw, firmware 9\n"
            "  = a  in-sync  GRAY 5%   job 11\n"
            "  X b  halted   GRAY 50%  job 11 breached maxFailedPercent 2 (3.0% failed)\n"
            "        health of job 11 observed 2h ago: 100/120 finished, 97 succeeded, 3 failed\n"
            "  H c  held     ALL       hold: true\n"
            "  ? d  unknown  GROUP g1  an earlier create attempt has an unknown outcome\n"
            "= rollout lamp-1-0-0: 2 stages in sync\n"
            "\n"
            "orphaned (in state, no longer in the manifests; nothing is called unless --prune):\n"
            "  - oldrollout/canary  job 999 (superseded, created 2026-10-01T00:00:00Z)\n");
}

// The writers are how the CLI renders a plan it never holds whole (Text,
// Json and Markdown are them over a whole plan, held to their goldens
// above and below). Text keeps the rollouts' text only up to a bound
// (Markdown's full-plan section needs no more): past it, the summary,
// state, time and orphans stay and no rollout is written.
TEST(Text, AWriterPastItsBoundKeepsAllButTheRollouts) {
  const plan::Plan p = FullPlan();
  ASSERT_FALSE(p.orphans.empty());
  TextWriter bounded(TextOptions{false}, 100);
  for (const auto& r : p.rollouts) bounded.Add(r);
  EXPECT_TRUE(bounded.overflowed());
  const std::string whole = Text(p, TextOptions{false});
  const size_t rollouts = whole.find("\n\n") + 2;  // after the "Now:" line
  const size_t orphans = whole.find("\norphaned");
  ASSERT_NE(orphans, std::string::npos);
  EXPECT_EQ(bounded.Finish(p), whole.substr(0, rollouts) + whole.substr(orphans));
}

// What the CLI prints: the writer's text streamed, its rollouts not copied
// into one more string first.
TEST(Text, AWriterWrittenToAStreamIsTheWholeText) {
  const plan::Plan p = FullPlan();
  ASSERT_FALSE(p.orphans.empty());
  TextWriter writer(TextOptions{true});
  for (const auto& r : p.rollouts) writer.Add(r);
  std::ostringstream out;
  ASSERT_TRUE(writer.WriteTo(p, out).ok());
  EXPECT_EQ(out.str(), Text(p, TextOptions{true}));
}

// plan's text on a large tree: the rollouts' text goes to a temporary file
// a chunk at a time (here every rollout or two) instead of being held; the
// text written is the whole plan's, as often as asked.
TEST(Text, AWriterThatSpillsItsRolloutsWritesTheWholeText) {
  const plan::Plan p = FullPlan();
  ASSERT_GE(p.rollouts.size(), 3u);
  auto spill = core::Spill::Open();
  ASSERT_TRUE(spill.ok()) << spill.status().message();
  TextWriter writer(TextOptions{false});
  writer.SpillTo(std::move(*spill), 100);
  for (const auto& r : p.rollouts) writer.Add(r);
  std::ostringstream once, twice;
  ASSERT_TRUE(writer.WriteTo(p, once).ok());
  ASSERT_TRUE(writer.WriteTo(p, twice).ok());
  EXPECT_EQ(once.str(), Text(p, TextOptions{false}));
  EXPECT_EQ(twice.str(), once.str());
}

// JSON spooled while the plan is made: rollouts made into text in batches
// on every core and kept in a temporary file, then the whole document,
// as often as asked: the document of the whole plan each time.
TEST(Json, ASpooledPlanIsTheWholePlansDocument) {
  const plan::Plan p = FullPlan();
  plan::Plan many = p;
  for (int i = 0; i < 150; ++i) {
    many.rollouts.push_back(p.rollouts[static_cast<size_t>(i) % p.rollouts.size()]);
    many.rollouts.back().name += fmt::format("-{}", i);
  }
  auto spill = core::Spill::Open();
  ASSERT_TRUE(spill.ok()) << spill.status().message();
  JsonSpool spool(std::move(*spill), 64);  // three batches and a rest
  for (auto r : many.rollouts) spool.Add(std::move(r));
  std::ostringstream once, twice;
  ASSERT_TRUE(spool.WriteTo(many, once).ok());
  ASSERT_TRUE(spool.WriteTo(many, twice).ok());
  EXPECT_EQ(once.str(), Json(many));
  EXPECT_EQ(twice.str(), Json(many));

  auto empty_spill = core::Spill::Open();
  ASSERT_TRUE(empty_spill.ok());
  JsonSpool none(std::move(*empty_spill));
  plan::Plan no_rollouts = p;
  no_rollouts.rollouts.clear();
  std::ostringstream empty;
  ASSERT_TRUE(none.WriteTo(no_rollouts, empty).ok());
  EXPECT_EQ(empty.str(), Json(no_rollouts));
}

TEST(Text, StateLines) {
  plan::Plan p = BasePlan();
  p.state_exists = false;
  std::string t = Text(p, {});
  EXPECT_EQ(t,
            "Plan: 0 to create, 0 to replace.\n"
            "State: examples/.otaroll/state.db does not exist yet: nothing has been created.\n"
            "Now: 2026-11-25T10:00:00Z\n\n"
            "No rollouts in the manifests.\n");
  p.mode = "baseline";
  p.state_source = "/tmp/base";
  EXPECT_NE(Text(p, {}).find("Baseline: /tmp/base (every stage of it counts as created)\n"), std::string::npos);
}

TEST(Text, ColorOnlyWhenAsked) {
  plan::Plan p = FullPlan();
  EXPECT_EQ(Text(p, {false}).find('\x1b'), std::string::npos);
  std::string colored = Text(p, {true});
  EXPECT_NE(colored.find("\x1b[32m+\x1b[0m"), std::string::npos);        // green create
  EXPECT_NE(colored.find("\x1b[33mreplace\x1b[0m"), std::string::npos);  // yellow replace
  EXPECT_NE(colored.find("\x1b[31mhalted\x1b[0m "), std::string::npos);  // red halted
  EXPECT_NE(colored.find("\x1b[2m= rollout lamp-1-0-0"), std::string::npos);
}

TEST(Text, UntrustedTextCannotControlTheTerminal) {
  plan::Plan p = FullPlan();
  p.rollouts[0].stages[4].reason = "bad\x1b[2Jthing\nsecond line";
  std::string t = Text(p, {});
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  EXPECT_NE(t.find("  ! x         blocked  ALL                 bad\\x1b[2Jthing second line\n"), std::string::npos)
      << t;
}

TEST(Text, Deterministic) {
  EXPECT_EQ(Text(FullPlan(), {}), Text(FullPlan(), {}));
  EXPECT_EQ(Text(FullPlan(), {true}), Text(FullPlan(), {true}));
}

TEST(Text, MultiPartAndReplaceWithoutReason) {
  plan::Plan p = BasePlan();
  plan::RolloutPlan r;
  r.name = "r";
  auto s = Stage("s", 0, Action::kReplace, "SPECIFIC 450 devices");
  s.previous_hash = H("old");
  s.parts = 3;
  s.parts_to_create = 3;
  s.jobs = {Job("1", H("old")), Job("2", H("old"))};
  r.stages = {s};
  r.paused = true;
  p.rollouts.push_back(r);
  Summarize(p);
  std::string t = Text(p, {});
  EXPECT_NE(t.find("  ~ s  replace  SPECIFIC 450 devices  replaces jobs 1, 2; 3 jobs\n"), std::string::npos) << t;
  EXPECT_NE(t.find(", paused\n"), std::string::npos);
}

// ---------------------------------------------------------------------------

TEST(Json, FieldsAndShape) {
  std::string out = Json(FullPlan());
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(out.rfind("{\n  \"format_version\": 1,\n  \"now\": \"2026-11-25T10:00:00Z\",\n", 0), 0u)
      << out.substr(0, 80);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["mode"], "state");
  EXPECT_EQ(j["state"]["source"], "examples/.otaroll/state.db");
  EXPECT_EQ(j["state"]["exists"], true);
  EXPECT_EQ(j["state"]["serial"], 42);
  EXPECT_EQ(j["manifest_digest"], std::string(64, 'a'));
  EXPECT_EQ(j["summary"]["counts"]["create"], 1);
  EXPECT_EQ(j["summary"]["counts"]["in-sync"], 4);
  EXPECT_EQ(j["summary"]["counts"]["orphaned"], 1);
  EXPECT_EQ(j["summary"]["counts"].size(), plan::kActionCount);
  EXPECT_EQ(j["summary"]["changes"], 2);
  ASSERT_EQ(j["rollouts"].size(), 3u);
  const auto& r = j["rollouts"][0];
  EXPECT_EQ(r["name"], "thermostat-2-4-0");
  EXPECT_EQ(r["file"], "examples/hvac/thermostat.yaml");
  EXPECT_EQ(r["line"], 4);
  EXPECT_EQ(r["paused"], false);
  const auto& canary = r["stages"][0];
  EXPECT_EQ(canary["action"], "create");
  EXPECT_TRUE(canary["opens_at"].is_null());
  EXPECT_TRUE(canary["reason"].is_null());
  EXPECT_TRUE(canary["previous_hash"].is_null());
  EXPECT_TRUE(canary["health"].is_null());
  EXPECT_EQ(canary["params"]["FirmwareId"], "178");
  EXPECT_EQ(canary["params"]["GrayPercent"], "10");
  EXPECT_EQ(canary["params"]["SrcVersion"], nlohmann::json::array({"1.0.1"}));  // a list even with one item
  const auto& pilot = r["stages"][1];
  EXPECT_EQ(pilot["previous_hash"], H("old"));
  EXPECT_EQ(pilot["changes"][0], (nlohmann::json{{"field", "GrayPercent"}, {"before", "10"}, {"after", "20"}}));
  EXPECT_TRUE(pilot["changes"][1]["before"].is_null());
  EXPECT_TRUE(pilot["changes"][2]["after"].is_null());
  EXPECT_EQ(pilot["jobs"][0]["job_id"], "1234");
  EXPECT_EQ(pilot["jobs"][0]["created_at"], "2026-11-20T10:00:00Z");
  EXPECT_TRUE(pilot["jobs"][0]["error_code"].is_null());
  EXPECT_EQ(r["stages"][2]["params"]["TargetDeviceName"], nlohmann::json::array({"dev-001", "dev-002"}));
  EXPECT_EQ(r["stages"][3]["opens_at"], "2026-11-27T10:00:00Z");
  const auto& halted = j["rollouts"][1]["stages"][1];
  EXPECT_EQ(halted["health"]["age_seconds"], 7200);
  EXPECT_EQ(halted["health"]["observed_at"], "2026-11-25T08:00:00Z");
  EXPECT_EQ(halted["health"]["failed"], 3);
  const auto& unknown = j["rollouts"][1]["stages"][3];
  EXPECT_TRUE(unknown["jobs"][0]["job_id"].is_null());
  EXPECT_TRUE(unknown["jobs"][0]["created_at"].is_null());
  EXPECT_EQ(unknown["jobs"][0]["error_code"], "Timeout");
  EXPECT_EQ(j["orphans"][0]["rollout"], "oldrollout");
  EXPECT_EQ(j["orphans"][0]["job"]["status"], "superseded");
}

TEST(Json, FixedKeyOrder) {
  auto j = nlohmann::ordered_json::parse(Json(FullPlan()));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"format_version", "now", "mode", "state", "manifest_digest", "summary",
                                            "rollouts", "orphans"}));
  keys.clear();
  for (const auto& [k, v] : j["rollouts"][0]["stages"][0].items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "index", "action", "reason", "opens_at", "target", "spec_hash",
                                            "previous_hash", "parts", "parts_to_create", "params", "changes", "jobs",
                                            "health", "file", "line", "column"}));
}

// The document is written a rollout at a time (JsonTo), laid out exactly as
// one dump(2) of the whole tree would be: with rollouts and orphans, and
// with none of either.
TEST(Json, WrittenPieceByPieceIsTheWholeTreesDump) {
  plan::Plan empty = BasePlan();
  for (const plan::Plan& p : {FullPlan(), empty}) {
    const std::string out = Json(p);
    EXPECT_EQ(out, nlohmann::ordered_json::parse(out).dump(2) + "\n");
    std::ostringstream streamed;
    JsonTo(p, streamed);
    EXPECT_EQ(streamed.str(), out);
  }
  EXPECT_NE(Json(empty).find("  \"rollouts\": [],\n  \"orphans\": []\n}\n"), std::string::npos) << Json(empty);
}

TEST(Json, DeterministicAndSafeOnBadUtf8) {
  EXPECT_EQ(Json(FullPlan()), Json(FullPlan()));
  plan::Plan p = FullPlan();
  p.rollouts[1].stages[3].jobs[0].error_message = "bad \xff byte";
  std::string out;
  ASSERT_NO_THROW(out = Json(p));
  EXPECT_TRUE(nlohmann::json::accept(out));
}

// The schema and the renderer must agree: real output is validated with Ajv
// (strict mode); scripts/install-deps.sh installs the checker.
TEST(Json, MatchesSchema) {
  const std::string root = OTAROLL_SOURCE_DIR;
  if (!std::filesystem::exists(root + "/tools/schema-check/node_modules/ajv") ||
      std::system("node --version >/dev/null 2>&1") != 0) {
    FAIL() << "node or tools/schema-check/node_modules is missing; run scripts/install-deps.sh";
  }
  plan::Plan empty = BasePlan();
  empty.mode = "baseline";
  empty.state_source = "base/";
  Summarize(empty);
  std::string files;
  for (auto [name, p] : {std::pair{"full", FullPlan()}, std::pair{"empty", empty}}) {
    std::string path = fmt::format("{}/otaroll-render-{}.json", ::testing::TempDir(), name);
    std::ofstream(path) << Json(p);
    files += " '" + path + "'";
  }
  std::string log = ::testing::TempDir() + "/otaroll-render-schema.log";
  int rc = std::system(fmt::format("node '{0}/tools/schema-check/check-json.mjs' '{0}/schemas/plan.schema.json'{1} "
                                   ">'{2}' 2>&1",
                                   root, files, log)
                           .c_str());
  std::ifstream in(log);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << out;
}

// ---------------------------------------------------------------------------

TEST(Markdown, SummaryTablesAndDetails) {
  std::string md = Markdown(FullPlan());
  EXPECT_EQ(md.rfind("**otaroll plan**: 1 to create, 1 to replace · 1 waiting · 1 held · 1 blocked · 1 unknown · "
                     "1 halted · 4 in sync · 1 orphaned\n",
                     0),
            0u)
      << md;
  EXPECT_NE(
      md.find("| stage | action | target | details |\n|---|---|---|---|\n| canary | **create** | GRAY 10% |  |\n"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("| pilot | **replace** | GROUP CtjzCkNuOx | job 1234 is superseded<br>GrayPercent: 10 → 20<br>"
                    "+ TimeoutInMinutes: 720<br>- RetryCount: 1 |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("**gateway-1-2-0** · product pk\\|gw · firmware 9"), std::string::npos);  // escaped pipe
  EXPECT_EQ(md.find("**lamp-1-0-0**"), std::string::npos);                                    // all in sync: no table
  EXPECT_NE(md.find("\n1 rollout with every stage in sync is not listed.\n"), std::string::npos);
  EXPECT_NE(md.find("- oldrollout/canary  job 999 (superseded, created 2026-10-01T00:00:00Z)\n"), std::string::npos);
  EXPECT_NE(md.find("State: examples/.otaroll/state.db (serial 42) · now 2026-11-25T10:00:00Z\n"), std::string::npos);
  EXPECT_NE(
      md.find("<details><summary>Full plan</summary>\n\n```text\n" + Text(FullPlan(), {}) + "```\n\n</details>\n"),
      std::string::npos);
  EXPECT_EQ(md.find('\x1b'), std::string::npos);
  EXPECT_EQ(md, Markdown(FullPlan()));
}

TEST(Markdown, EscapesUserStrings) {
  plan::Plan p = FullPlan();
  auto& st = p.rollouts[0].stages[4];
  st.reason = "a|b <script> `x` @team\nnext";
  st.changes = {{"GroupId", "g|1", "g`2"}};
  std::string md = Markdown(p);
  EXPECT_NE(
      md.find("| x | blocked | ALL | a\\|b &#60;script&#62; \\`x\\` &#64;team<br>next<br>GroupId: g\\|1 → g\\`2 |\n"),
      std::string::npos)
      << md;
  // The reason's backticks cannot close the code fence of the full plan.
  EXPECT_NE(md.find("```text\n"), std::string::npos);
  p.rollouts[0].stages[4].reason = "````";
  EXPECT_NE(Markdown(p).find("\n`````text\n"), std::string::npos);
}

TEST(Markdown, NoChanges) {
  plan::Plan p = BasePlan();
  plan::RolloutPlan r;
  r.name = "lamp";
  r.stages = {Stage("one", 0, Action::kInSync, "ALL")};
  p.rollouts.push_back(r);
  Summarize(p);
  std::string md = Markdown(p);
  EXPECT_EQ(md.rfind("**otaroll plan**: No changes. 1 in sync\n", 0), 0u) << md;
  EXPECT_EQ(md.find("| stage |"), std::string::npos);
  p.rollouts.clear();
  Summarize(p);
  md = Markdown(p);
  EXPECT_EQ(md.rfind("**otaroll plan**: No changes.\n\nNo rollouts in the manifests.\n", 0), 0u) << md;
}

// Table bodies by rollout name, from the "**name** · product" heading that
// precedes each one.
std::map<std::string, int> TableRows(const std::string& md) {
  std::map<std::string, int> rows;
  std::istringstream in(md);
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.rfind("**", 0) == 0 && line.find("** · product") != std::string::npos) {
      current = line.substr(2, line.find("**", 2) - 2);
      rows[current] = 0;
    } else if (line.rfind("| ", 0) == 0 && line != "| stage | action | target | details |") {
      ++rows[current];
    } else if (line.empty() || line.rfind("|", 0) != 0) {
      if (line.find("<summary>") != std::string::npos) break;  // the full plan is not a table
    }
  }
  return rows;
}

TEST(Markdown, SizeBoundKeepsTablesWhole) {
  plan::Plan p = BasePlan();
  for (int i = 0; i < 400; ++i) {
    plan::RolloutPlan r;
    r.name = fmt::format("rollout-{:03}", i);
    r.position = {fmt::format("m/{}.yaml", i), 1, 1};
    r.product_key = "pk";
    r.firmware_id = "1";
    int stages = 1 + i % 4;  // tables of different sizes
    for (int s = 0; s < stages; ++s) {
      r.stages.push_back(Stage(fmt::format("s{}", s), s, s == 0 ? Action::kCreate : Action::kBlocked, "ALL"));
      r.stages.back().reason = s == 0 ? "" : "stage s0 is not created yet";
    }
    p.rollouts.push_back(r);
  }
  Summarize(p);
  for (size_t limit : {1500u, 4000u, 9999u, 60000u}) {
    std::string md = Markdown(p, limit);
    ASSERT_LE(md.size(), limit);
    auto rows = TableRows(md);
    ASSERT_FALSE(rows.empty()) << limit;
    int shown_stages = 0;
    for (const auto& [name, n] : rows) {
      int i = std::stoi(name.substr(8));
      EXPECT_EQ(n, 1 + i % 4) << name << " at limit " << limit;
      shown_stages += n;
    }
    int left_rollouts = 400 - static_cast<int>(rows.size());
    int left_stages = 0;
    for (int i = 0; i < 400; ++i) left_stages += 1 + i % 4;
    left_stages -= shown_stages;
    EXPECT_NE(md.find(fmt::format("**{} rollouts ({} stages) not shown**", left_rollouts, left_stages)),
              std::string::npos)
        << md.substr(md.size() - 400);
    EXPECT_NE(md.find("run `otaroll plan` (or see the JSON plan) for all"), std::string::npos);
    EXPECT_EQ(md.find("<details>"), std::string::npos);
  }
}

TEST(Markdown, OmitsFullPlanWhenOnlyItDoesNotFit) {
  plan::Plan p = FullPlan();
  std::string full = Markdown(p, 1000000);
  size_t details = full.find("\n<details>");
  ASSERT_NE(details, std::string::npos);
  std::string md = Markdown(p, details + 120);
  EXPECT_LE(md.size(), details + 120);
  EXPECT_EQ(md.find("<details>"), std::string::npos);
  EXPECT_NE(md.find("The full plan is omitted"), std::string::npos);
  EXPECT_EQ(TableRows(md), (std::map<std::string, int>{{"thermostat-2-4-0", 5}, {"gateway-1-2-0", 4}}));
}

TEST(Markdown, TinyLimitsStayWithinBound) {
  plan::Plan p = FullPlan();
  for (size_t limit : {0u, 1u, 10u, 50u, 100u, 200u, 300u, 500u}) {
    std::string md = Markdown(p, limit);
    EXPECT_LE(md.size(), limit);
    for (const auto& [name, n] : TableRows(md)) EXPECT_EQ(n, name == "thermostat-2-4-0" ? 5 : 4);
  }
}

}  // namespace
}  // namespace otaroll::render
