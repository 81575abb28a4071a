// Integration tests of the real otaroll binary: exit codes, messages, the
// three plan formats, --baseline, --out, determinism and colour.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "manifest/loader.h"
#include "plan/plan.h"
#include "state/sqlite_store.h"
#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::RunOptions;
using test_util::RunResult;
using test_util::TempDir;

const std::string kBin = OTAROLL_BIN;
const std::string kSource = OTAROLL_SOURCE_DIR;
const std::string kExamples = kSource + "/examples";
const std::string kNow = "--now=2026-11-25T10:00:00Z";

RunResult Otaroll(std::vector<std::string> args, RunOptions options = {}) {
  args.insert(args.begin(), kBin);
  options.env.emplace("OTAROLL_STATE", "");  // the tests name their state explicitly
  return test_util::Run(std::move(args), options);
}

// A copy of examples/ in a temp dir, so tests can edit it and keep state in it.
std::string CopyExamples(const TempDir& dir, const std::string& name = "tree") {
  std::string to = dir.Join(name);
  fs::copy(kExamples, to, fs::copy_options::recursive);
  fs::remove_all(to + "/.otaroll");
  return to;
}

std::string ReadFile(const std::string& path) {
  return test_util::detail::Slurp(path);
}

// Records every stage of the tree as created, as apply would have: the
// baseline snapshot of the tree is exactly that set of attempts.
void RecordEverythingCreated(const std::string& tree, const std::string& state_path) {
  auto loaded = manifest::LoadTree(tree);
  ASSERT_TRUE(loaded.ok() && loaded->ok());
  auto store = state::SqliteStore::Open(state_path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  core::Time then = *core::ParseRfc3339("2026-01-01T00:00:00Z");
  for (const auto& r : loaded->set.rollouts) {
    ASSERT_TRUE((*store)->UpsertRollout(r.name, r.product_key, r.firmware_id, then).ok());
  }
  for (state::Attempt a : plan::SnapshotFromBaseline(loaded->set, tree).attempts) {
    a.job_id = "job-" + std::to_string(a.id);
    a.job_created_at = a.created_at = a.updated_at = then;
    a.attempt_count = 1;
    auto id = (*store)->InsertAttempt(a);
    ASSERT_TRUE(id.ok()) << id.status().message();
  }
}

TEST(Cli, ValidateAcceptsTheExamples) {
  RunResult r = Otaroll({"validate", kExamples});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("otaroll: " + kExamples + " is valid: ", 0), 0u) << r.out;
}

TEST(Cli, ValidateReportsEveryBrokenFileWithItsPlace) {
  TempDir dir;
  const std::string good = ReadFile(kExamples + "/hvac/thermostat-2-4-0.yaml");
  dir.Write("good.yaml", good);
  dir.Write("a/syntax.yaml", "apiVersion: otaroll/v1\nspec: {stages: [\n");
  dir.Write("b/types.yml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: b}\nspec:\n  productKey: pk\n"
            "  firmwareId: \"1\"\n  stages:\n    - {name: one, gray: 150}\n    - {name: two, all: true, gate: {soak: "
            "soon}}\n");
  dir.Write("c/list.yaml", "- not\n- a\n- rollout\n");
  RunResult r = Otaroll({"validate", dir.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  const std::string d = dir.path();
  EXPECT_EQ(r.err,
            "otaroll: error: " + d + "/a/syntax.yaml:3:1: invalid YAML: end of sequence flow not found\n" +
                "otaroll: error: " + d +
                "/b/types.yml:8:25: spec.stages[0].gray: 150 is out of range; allowed: 1..100\n" +
                "otaroll: error: " + d +
                "/b/types.yml:9:43: spec.stages[1].gate.soak: \"soon\" is not a duration; expected "
                "<integer><unit>... with units s, m, h, d (e.g. 24h, 1h30m)\n" +
                "otaroll: error: " + d +
                "/c/list.yaml:1:1: found a list; expected a Rollout mapping (apiVersion, kind, metadata, spec)\n" +
                "otaroll: 4 errors in 3 files; nothing was planned or changed\n");
}

TEST(Cli, ValidateAcceptsASingleFileAndRejectsAMissingPath) {
  EXPECT_EQ(Otaroll({"validate", kExamples + "/hvac/thermostat-2-4-0.yaml"}).exit_code, 0);
  RunResult r = Otaroll({"validate", "/nonexistent/tree"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "otaroll: error: /nonexistent/tree: no such file or directory; name a manifest directory\n");
}

TEST(Cli, PlanExitCodes) {
  TempDir dir;
  std::string tree = CopyExamples(dir);
  EXPECT_EQ(Otaroll({"plan", tree, kNow}).exit_code, 0);
  RunResult detailed = Otaroll({"plan", tree, kNow, "--detailed-exitcode"});
  EXPECT_EQ(detailed.exit_code, 2) << detailed.err;
  EXPECT_NE(detailed.out.find("State: " + tree + "/.otaroll/state.db does not exist yet: nothing has been created."),
            std::string::npos)
      << detailed.out;
  dir.Write("tree/broken.yaml", "apiVersion: otaroll/v1\n");
  RunResult broken = Otaroll({"plan", tree, kNow, "--detailed-exitcode"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_EQ(broken.out, "");
  EXPECT_NE(broken.err.find("broken.yaml:1:1: kind: missing; kind: Rollout is required"), std::string::npos);
}

TEST(Cli, PlanWithEveryStageCreatedHasNothingToDo) {
  TempDir dir;
  std::string tree = CopyExamples(dir);
  std::string state = tree + "/.otaroll/state.db";
  RecordEverythingCreated(tree, state);
  std::string before = core::Sha256Hex(ReadFile(state));
  RunResult r = Otaroll({"plan", tree, kNow, "--detailed-exitcode", "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  auto plan = nlohmann::json::parse(r.out);
  EXPECT_EQ(plan["summary"]["changes"], 0);
  for (const auto& rollout : plan["rollouts"]) {
    for (const auto& stage : rollout["stages"]) EXPECT_EQ(stage["action"], "in-sync") << stage["name"];
  }
  // plan reads state and never writes it
  EXPECT_EQ(core::Sha256Hex(ReadFile(state)), before);
  // the same, found through OTAROLL_STATE and an explicit --state
  RunOptions env;
  env.env["OTAROLL_STATE"] = state;
  EXPECT_EQ(test_util::Run({kBin, "plan", kExamples, kNow, "--detailed-exitcode"}, env).exit_code, 0);
  EXPECT_EQ(Otaroll({"plan", kExamples, kNow, "--detailed-exitcode", "--state", state}).exit_code, 0);
}

TEST(Cli, BaselineShowsOnlyWhatTheChangeAddsOrAlters) {
  TempDir dir;
  std::string base = CopyExamples(dir, "main");
  std::string head = CopyExamples(dir, "branch");
  EXPECT_EQ(Otaroll({"plan", head, "--baseline", base, kNow, "--detailed-exitcode"}).exit_code, 0);

  // Alter one stage and add one rollout on the branch.
  std::string file = head + "/hvac/thermostat-2-4-0.yaml";
  std::string text = ReadFile(file);
  ASSERT_NE(text.find("gray: 10"), std::string::npos);
  text.replace(text.find("gray: 10"), 8, "gray: 20");
  std::ofstream(file) << text;
  dir.Write("branch/new.yaml",
            "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: new-one}\nspec:\n  productKey: pk\n"
            "  firmwareId: \"9\"\n  stages:\n    - {name: all, all: true}\n");
  RunResult r = Otaroll({"plan", head, "--baseline", base, kNow, "--detailed-exitcode", "--format", "json"});
  ASSERT_EQ(r.exit_code, 2) << r.err;
  auto plan = nlohmann::json::parse(r.out);
  EXPECT_EQ(plan["mode"], "baseline");
  std::vector<std::string> changed;
  for (const auto& rollout : plan["rollouts"]) {
    for (const auto& stage : rollout["stages"]) {
      if (stage["action"] != "in-sync") {
        changed.push_back(rollout["name"].get<std::string>() + "/" + stage["name"].get<std::string>() + " " +
                          stage["action"].get<std::string>());
      }
    }
  }
  EXPECT_EQ(changed, (std::vector<std::string>{"new-one/all create", "thermostat-2-4-0/canary replace"}));
  RunResult text_plan = Otaroll({"plan", head, "--baseline", base, kNow});
  EXPECT_NE(text_plan.out.find("GrayPercent: 10 → 20"), std::string::npos) << text_plan.out;
}

TEST(Cli, BaselineAndStateExcludeEachOther) {
  RunResult r = Otaroll({"plan", kExamples, "--baseline", kExamples, "--state", "/tmp/x.db"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "otaroll: error: --baseline and --state exclude each other; --baseline plans against a tree instead of a "
            "state file\n");
}

// A window and a freeze of the examples, with the instant they open, in
// every format.
TEST(Cli, WindowsAndFreezesShowInEveryFormat) {
  const std::string reason =
      "frozen by holidays-2026 until 2027-01-03T23:00:00Z (holiday change freeze, nobody on call); outside window "
      "Tue, Wed, Thu 22:00-04:00 Europe/Berlin: opens 2027-01-05T21:00:00Z";
  TempDir dir;
  const std::string state = dir.Join("none.db");
  RunResult text = Otaroll({"plan", kExamples, "--state", state, "--now=2026-12-24T22:00:00Z"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("  > canary    waiting  GRAY 5%  " + reason + "\n"), std::string::npos) << text.out;
  RunResult markdown =
      Otaroll({"plan", kExamples, "--state", state, "--now=2026-12-24T22:00:00Z", "--format", "markdown"});
  EXPECT_NE(markdown.out.find("| canary | waiting | GRAY 5% | " + reason + " |"), std::string::npos) << markdown.out;
  RunResult json = Otaroll({"plan", kExamples, "--state", state, "--now=2026-12-24T22:00:00Z", "--format", "json"});
  auto plan = nlohmann::json::parse(json.out);
  bool found = false;
  for (const auto& r : plan["rollouts"]) {
    if (r["name"] != "heat-pump-5-2-0") continue;
    found = true;
    EXPECT_EQ(r["stages"][0]["action"], "waiting");
    EXPECT_EQ(r["stages"][0]["reason"], reason);
    EXPECT_EQ(r["stages"][0]["opens_at"], "2027-01-05T21:00:00Z");
  }
  EXPECT_TRUE(found);
  RunResult valid = Otaroll({"validate", kExamples});
  EXPECT_NE(valid.out.find(" stages, 1 freeze in "), std::string::npos) << valid.out;
}

// Two rollouts of one product: validate warns (and passes); plan blocks the
// later one's first stage and says why, in every format.
TEST(Cli, ConflictingRolloutsAreAWarningAndAnOrder) {
  TempDir dir;
  auto rollout = [](const std::string& name) {
    return "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: " + name +
           "}\nspec:\n  productKey: k1nhvyl0001\n  firmwareId: \"1\"\n  stages:\n    - {name: all, all: true}\n";
  };
  dir.Write("tree/a.yaml", rollout("thermostat-a"));
  dir.Write("tree/b.yaml", rollout("thermostat-b"));
  RunResult v = Otaroll({"validate", dir.Join("tree")});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.err, "otaroll: warning: " + dir.Join("tree") +
                       "/b.yaml:3:18: rollouts thermostat-a and thermostat-b both update product k1nhvyl0001 and "
                       "could hold the same devices at once; the later to start waits until the earlier has finished "
                       "(or list the earlier in the later's spec.supersedes)\n");
  const std::string state = dir.Join("none.db");
  RunResult text = Otaroll({"plan", dir.Join("tree"), "--state", state, kNow});
  EXPECT_NE(text.out.find("  ! conflict: conflicts with thermostat-a (same product, could hold the same devices): "
                          "thermostat-a goes first; this rollout's first stage waits until it has finished\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  ! all  blocked  ALL  rollout thermostat-a of the same product goes first"),
            std::string::npos)
      << text.out;
  RunResult md = Otaroll({"plan", dir.Join("tree"), "--state", state, kNow, "--format", "markdown"});
  EXPECT_NE(md.out.find("⚠ conflict: conflicts with thermostat-a"), std::string::npos) << md.out;
  RunResult json = Otaroll({"plan", dir.Join("tree"), "--state", state, kNow, "--format", "json"});
  auto plan = nlohmann::json::parse(json.out);
  EXPECT_EQ(plan["rollouts"][1]["conflicts"][0]["rollout"], "thermostat-a");
  EXPECT_EQ(plan["rollouts"][1]["conflicts"][0]["other_first"], true);
  EXPECT_EQ(plan["rollouts"][0]["conflicts"][0]["other_first"], false);

  // Listing the earlier one in spec.supersedes resolves it: no warning.
  std::string b = rollout("thermostat-b");
  b.replace(b.find("  stages:"), 0, "  supersedes: [thermostat-a]\n");
  dir.Write("tree/b.yaml", b);
  RunResult resolved = Otaroll({"validate", dir.Join("tree")});
  EXPECT_EQ(resolved.exit_code, 0);
  EXPECT_EQ(resolved.err, "");
}

TEST(Cli, PlanIsByteIdenticalForTheSameInputs) {
  for (const char* format : {"text", "json", "markdown"}) {
    RunResult a = Otaroll({"plan", kExamples, kNow, "--format", format});
    RunResult b = Otaroll({"plan", kExamples, kNow, "--format", format});
    EXPECT_EQ(a.exit_code, 0) << a.err;
    EXPECT_FALSE(a.out.empty());
    EXPECT_EQ(a.out, b.out) << format;
  }
}

TEST(Cli, MarkdownIsAPullRequestComment) {
  RunResult r = Otaroll({"plan", kExamples, kNow, "--format", "markdown"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("**otaroll plan**: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("| stage | action | target | details |"), std::string::npos);
  EXPECT_NE(r.out.find("<details><summary>Full plan</summary>"), std::string::npos);
}

TEST(Cli, OutWritesTheJsonPlan) {
  TempDir dir;
  std::string out = dir.Join("plan.json");
  RunResult text = Otaroll({"plan", kExamples, kNow, "--out", out});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  RunResult json = Otaroll({"plan", kExamples, kNow, "--format", "json"});
  EXPECT_EQ(ReadFile(out), json.out);
  EXPECT_EQ(nlohmann::json::parse(json.out)["format_version"], 1);
  RunResult bad = Otaroll({"plan", kExamples, kNow, "--out", dir.Join("missing/dir/plan.json")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "otaroll: error: " + dir.Join("missing/dir/plan.json") +
                         ": cannot write the plan: No such file or directory; check the path and its permissions\n");
}

// A plan written as JSON spills its rollouts to a nameless file in $TMPDIR
// until its counts are written; without one it says where and what to do.
TEST(Cli, AJsonPlanWithoutATemporaryFolderSaysSo) {
  TempDir dir;
  RunOptions o;
  o.env["TMPDIR"] = dir.Join("missing");
  RunResult r = Otaroll({"plan", kExamples, kNow, "--format", "json"}, o);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "otaroll: error: cannot write the plan: cannot make a temporary file in " + dir.Join("missing") +
                       ": No such file or directory; set TMPDIR to a writable folder\n");
  o.env["TMPDIR"] = dir.path();
  RunResult ok = Otaroll({"plan", kExamples, kNow, "--format", "json"}, o);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["format_version"], 1);
  EXPECT_TRUE(fs::is_empty(dir.path()));  // the spill left nothing behind
}

// A text plan keeps its rollouts in a temporary file when there is one, and
// in memory when there is none: it never needed a folder, and still does not.
TEST(Cli, ATextPlanNeedsNoTemporaryFolder) {
  TempDir dir;
  RunOptions o;
  o.env["TMPDIR"] = dir.path();
  RunResult spilled = Otaroll({"plan", kExamples, kNow}, o);
  EXPECT_EQ(spilled.exit_code, 0) << spilled.err;
  EXPECT_NE(spilled.out.find("rollout "), std::string::npos) << spilled.out;
  EXPECT_TRUE(fs::is_empty(dir.path()));  // the spill left nothing behind
  o.env["TMPDIR"] = dir.Join("missing");
  RunResult held = Otaroll({"plan", kExamples, kNow}, o);
  EXPECT_EQ(held.exit_code, 0) << held.err;
  EXPECT_EQ(held.err, "");
  EXPECT_EQ(held.out, spilled.out);
}

TEST(Cli, JsonPlanValidatesAgainstItsSchema) {
  TempDir dir;
  std::string tree = CopyExamples(dir);
  std::string fresh = dir.Join("fresh.json"), synced = dir.Join("synced.json"), baseline = dir.Join("baseline.json");
  ASSERT_EQ(Otaroll({"plan", tree, kNow, "--out", fresh}).exit_code, 0);
  RecordEverythingCreated(tree, tree + "/.otaroll/state.db");
  ASSERT_EQ(Otaroll({"plan", tree, kNow, "--out", synced}).exit_code, 0);
  ASSERT_EQ(Otaroll({"plan", tree, "--baseline", kExamples, kNow, "--out", baseline}).exit_code, 0);
  const std::string checker = kSource + "/tools/schema-check/check-json.mjs";
  ASSERT_TRUE(fs::exists(kSource + "/tools/schema-check/node_modules"))
      << "the schema checker is not installed; run scripts/install-deps.sh";
  RunResult r =
      test_util::Run({"/usr/bin/env", "node", checker, kSource + "/schemas/plan.schema.json", fresh, synced, baseline});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "valid " + fresh + "\nvalid " + synced + "\nvalid " + baseline + "\n");
}

TEST(Cli, BadNowAndUnknownOptionsAreClearErrors) {
  RunResult now = Otaroll({"plan", kExamples, "--now", "tomorrow"});
  EXPECT_EQ(now.exit_code, 1);
  EXPECT_EQ(now.err,
            "otaroll: error: --now: \"tomorrow\" is not an RFC 3339 time; expected e.g. 2026-11-25T10:00:00Z\n");
  RunResult format = Otaroll({"plan", kExamples, "--format", "yaml"});
  EXPECT_EQ(format.exit_code, 1);
  EXPECT_EQ(format.err.rfind("otaroll: error: --format: yaml not in {", 0), 0u) << format.err;
  EXPECT_NE(format.err.find("see 'otaroll plan --help'"), std::string::npos) << format.err;
  RunResult none = Otaroll({});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err.rfind("otaroll: error: ", 0), 0u);
}

TEST(Cli, EveryCommandHasHelp) {
  for (const char* cmd : {"validate", "plan"}) {
    RunResult r = Otaroll({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find(cmd), std::string::npos) << r.out;
  }
  RunResult plan = Otaroll({"plan", "--help"});
  for (const char* option : {"--state", "--baseline", "--format", "--out", "--detailed-exitcode", "--now"}) {
    EXPECT_NE(plan.out.find(option), std::string::npos) << option;
  }
  EXPECT_EQ(Otaroll({"--version"}).out, "otaroll " OTAROLL_VERSION "\n");
}

TEST(Cli, ColourOnlyOnATerminalAndNeverWithNoColor) {
  const std::vector<std::string> args{kBin, "plan", kExamples, kNow};
  RunOptions tty;
  tty.env = {{"NO_COLOR", ""}, {"OTAROLL_STATE", ""}, {"TERM", "xterm"}};
  RunResult coloured = test_util::RunOnTerminal(args, tty);
  EXPECT_EQ(coloured.exit_code, 0);
  EXPECT_NE(coloured.out.find("\x1b["), std::string::npos) << coloured.out;
  tty.env["NO_COLOR"] = "1";
  RunResult plain = test_util::RunOnTerminal(args, tty);
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_NE(plain.out.find("Plan: "), std::string::npos);
  EXPECT_EQ(plain.out.find("\x1b["), std::string::npos);
  RunResult piped = Otaroll({"plan", kExamples, kNow});
  EXPECT_EQ(piped.out.find("\x1b["), std::string::npos);
}

}  // namespace
}  // namespace otaroll
