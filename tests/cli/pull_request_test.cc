// Pull-request checks as CI runs them: `otaroll plan --baseline-ref` against
// a real git repository in a temp dir, with a base branch and a change.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "test_util/child.h"
#include "test_util/git_repo.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::Git;
using test_util::RunResult;
using test_util::TempDir;

const std::string kBin = OTAROLL_BIN;
const std::string kExamples = std::string(OTAROLL_SOURCE_DIR) + "/examples";
const std::string kNow = "--now=2026-11-25T10:00:00Z";

RunResult Otaroll(std::vector<std::string> args, const std::string& cwd = "") {
  args.insert(args.begin(), kBin);
  test_util::RunOptions o;
  o.env = {{"OTAROLL_STATE", ""}, {"GIT_CONFIG_GLOBAL", "/dev/null"}};
  o.cwd = cwd;
  return test_util::Run(std::move(args), o);
}

// Everything but the line naming the baseline (text and Markdown: "Baseline:
// …"; JSON: "source": …).
std::string WithoutBaselineLine(const std::string& text) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string line = text.substr(at, end - at);
    if (line.find("Baseline: ") == std::string::npos && line.find("\"source\": ") == std::string::npos) out += line;
    at = end;
  }
  return out;
}

// A repository whose main branch holds examples/ in fleet/, and a branch
// "change" that alters one stage and adds a rollout; the author's clone is
// left on "change".
class PullRequest : public ::testing::Test {
 protected:
  PullRequest() : repos_(dir_) {
    fs::copy(kExamples, repos_.author + "/fleet", fs::copy_options::recursive);
    fs::remove_all(repos_.author + "/fleet/.otaroll");
    Git({"-C", repos_.author, "add", "fleet"});
    Git({"-C", repos_.author, "commit", "--quiet", "-m", "fleet"});
    repos_.Push();
    fs::copy(repos_.author + "/fleet", dir_.Join("base"), fs::copy_options::recursive);  // a checkout of main
    Git({"-C", repos_.author, "checkout", "--quiet", "-b", "change"});
    const std::string file = repos_.author + "/fleet/hvac/thermostat-2-4-0.yaml";
    std::string text = test_util::detail::Slurp(file);
    text.replace(text.find("gray: 10"), 8, "gray: 20");
    std::ofstream(file) << text;
    repos_.Commit("fleet/new.yaml",
                  "apiVersion: otaroll/v1\nkind: Rollout\nmetadata: {name: new-one}\nspec:\n  productKey: pk\n"
                  "  firmwareId: \"9\"\n  stages:\n    - {name: all, all: true}\n");
    Git({"-C", repos_.author, "commit", "--quiet", "-am", "change"});
  }
  TempDir dir_;
  test_util::GitRepos repos_;
};

// --baseline-ref plans exactly what --baseline does on a checkout of the
// ref, in every format (but for the line naming the baseline).
TEST_F(PullRequest, BaselineRefPlansWhatBaselineDoesOnACheckoutOfTheRef) {
  const std::string fleet = repos_.author + "/fleet";
  for (const char* format : {"text", "markdown", "json"}) {
    RunResult by_ref =
        Otaroll({"plan", fleet, "--baseline-ref", "origin/main", kNow, "--format", format, "--detailed-exitcode"});
    RunResult by_dir =
        Otaroll({"plan", fleet, "--baseline", dir_.Join("base"), kNow, "--format", format, "--detailed-exitcode"});
    ASSERT_EQ(by_ref.exit_code, 2) << format << ": " << by_ref.err;
    EXPECT_EQ(by_dir.exit_code, 2) << by_dir.err;
    EXPECT_EQ(WithoutBaselineLine(by_ref.out), WithoutBaselineLine(by_dir.out)) << format;
    const std::string named = "origin/main (" + test_util::GitRepos::Head(repos_.remote).substr(0, 12) + ")";
    EXPECT_NE(by_ref.out.find(named), std::string::npos) << by_ref.out.substr(0, 400);
  }
  // From inside the folder, with a relative DIR, the same.
  RunResult here = Otaroll({"plan", ".", "--baseline-ref", "main", kNow}, fleet);
  RunResult there = Otaroll({"plan", ".", "--baseline", dir_.Join("base"), kNow}, fleet);
  EXPECT_EQ(here.exit_code, 0) << here.err;
  EXPECT_EQ(WithoutBaselineLine(here.out), WithoutBaselineLine(there.out));
}

TEST_F(PullRequest, BaselineRefErrorsNameTheRefAndTheRepository) {
  const std::string fleet = repos_.author + "/fleet";
  RunResult unknown = Otaroll({"plan", fleet, "--baseline-ref", "origin/nope", kNow});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "otaroll: error: --baseline-ref origin/nope: unknown ref origin/nope in repository " +
                             repos_.author + "; name a branch, tag or commit it has (git -C " + fleet +
                             " branch -a lists the branches; git -C " + fleet + " fetch gets the remote's)\n");
  RunResult both = Otaroll({"plan", fleet, "--baseline-ref", "main", "--state", dir_.Join("s.db")});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.err,
            "otaroll: error: --baseline-ref excludes --state; it plans against the tree at a git ref instead\n");

  // A base branch whose tree is invalid.
  Git({"-C", repos_.author, "checkout", "--quiet", "-b", "broken", "main"});
  repos_.Commit("fleet/bad.yaml", "apiVersion: otaroll/v1\nkind: Rollout\n");
  Git({"-C", repos_.author, "checkout", "--quiet", "change"});
  RunResult broken = Otaroll({"plan", fleet, "--baseline-ref", "broken", kNow});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("otaroll: error: broken:fleet/bad.yaml:"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("otaroll: error: the baseline tree at broken is invalid (see above); fix it or plan "
                            "without --baseline-ref\n"),
            std::string::npos)
      << broken.err;
}

// ---------------------------------------------------------------- the CI workflows of examples/ci

// Stand-ins for the hosting service's clients: each logs its arguments to
// $FAKE_LOG (one call a line) and answers a listing with $FAKE_EXISTING
// (the id of the sticky comment, or nothing).
void WriteFakes(const TempDir& dir) {
  const std::string gh =
      "#!/bin/sh\necho \"gh $*\" >> \"$FAKE_LOG\"\n"
      "case \"$*\" in *--paginate*) [ -n \"$FAKE_EXISTING\" ] && echo \"$FAKE_EXISTING\";; esac\n"
      "for a in \"$@\"; do case \"$a\" in body=@*) cp \"${a#body=@}\" \"$FAKE_LOG.body\";; esac; done\nexit 0\n";
  const std::string curl =
      "#!/bin/sh\necho \"curl $*\" >> \"$FAKE_LOG\"\n"
      "for a in \"$@\"; do case \"$a\" in body@*) cp \"${a#body@}\" \"$FAKE_LOG.body\";; esac; done\n"
      "case \"$*\" in *per_page*) echo '[]';; esac\nexit 0\n";
  const std::string jq = "#!/bin/sh\ncat > /dev/null\n[ -n \"$FAKE_EXISTING\" ] && echo \"$FAKE_EXISTING\"\nexit 0\n";
  for (const auto& [name, text] : {std::pair{"gh", gh}, std::pair{"curl", curl}, std::pair{"jq", jq}}) {
    dir.Write(std::string("fakes/") + name, text);
    fs::permissions(dir.Join(std::string("fakes/") + name), fs::perms::owner_all);
  }
}

// `${{ github.X }}` expressions of the GitHub workflow, as a pull request #7
// of acme/fleet against main would have them.
std::string Expand(std::string value) {
  const std::vector<std::pair<std::string, std::string>> known = {{"${{ github.base_ref }}", "main"},
                                                                  {"${{ github.token }}", "not-a-token"},
                                                                  {"${{ github.event.pull_request.number }}", "7"},
                                                                  {"${{ github.repository }}", "acme/fleet"}};
  for (const auto& [from, to] : known) {
    for (size_t at = value.find(from); at != std::string::npos; at = value.find(from))
      value.replace(at, from.size(), to);
  }
  EXPECT_EQ(value.find("${{"), std::string::npos) << "an expression the test does not know: " << value;
  return value;
}

class Workflows : public PullRequest {
 protected:
  Workflows() { WriteFakes(dir_); }
  // Runs a shell script as the CI service would, in the change's checkout,
  // with otaroll and the fakes first on PATH.
  RunResult Shell(const std::string& script, std::map<std::string, std::string> env) {
    test_util::RunOptions o;
    o.cwd = repos_.author;
    env["PATH"] = fs::path(kBin).parent_path().string() + ":" + dir_.Join("fakes") + ":" + std::getenv("PATH");
    env["FAKE_LOG"] = dir_.Join("calls.log");
    env["OTAROLL_STATE"] = "";
    env["GIT_CONFIG_GLOBAL"] = "/dev/null";
    o.env = std::move(env);
    o.timeout_seconds = 120;
    return test_util::Run({"/bin/bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script}, o);
  }
  std::string Calls() {
    return fs::exists(dir_.Join("calls.log")) ? test_util::detail::Slurp(dir_.Join("calls.log")) : "";
  }
  std::string Body() { return test_util::detail::Slurp(dir_.Join("calls.log.body")); }
};

TEST_F(Workflows, GitHubActionsValidatesPlansAndKeepsOneComment) {
  const YAML::Node workflow = YAML::LoadFile(std::string(OTAROLL_SOURCE_DIR) + "/examples/ci/github-actions.yml");
  ASSERT_TRUE(workflow["on"]["pull_request"]);
  EXPECT_EQ(workflow["permissions"]["pull-requests"].as<std::string>(), "write");
  const YAML::Node job = workflow["jobs"]["plan"];
  std::map<std::string, std::string> job_env;
  for (const auto& kv : job["env"]) job_env[kv.first.as<std::string>()] = Expand(kv.second.as<std::string>());
  job_env["OTAROLL_DIR"] = "fleet";  // where this repository keeps its manifests
  std::map<std::string, YAML::Node> steps;
  for (const YAML::Node& step : job["steps"]) {
    if (step["name"]) steps[step["name"].as<std::string>()] = step;
  }
  ASSERT_TRUE(steps.count("Validate") && steps.count("Plan") && steps.count("Comment"));
  auto run = [&](const std::string& name, std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> env = job_env;
    for (const auto& kv : steps[name]["env"]) env[kv.first.as<std::string>()] = Expand(kv.second.as<std::string>());
    env["GITHUB_OUTPUT"] = dir_.Join("github-output");
    for (auto& [k, v] : extra) env[k] = v;
    return Shell(steps[name]["run"].as<std::string>(), env);
  };

  RunResult validate = run("Validate");
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  RunResult plan = run("Plan");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_EQ(test_util::detail::Slurp(dir_.Join("github-output")), "exitcode=2\n");
  const std::string comment = test_util::detail::Slurp(repos_.author + "/comment.md");
  EXPECT_EQ(comment.rfind("<!-- otaroll-plan -->\n**otaroll plan**: ", 0), 0u) << comment;
  EXPECT_NE(comment.find("new-one"), std::string::npos) << comment;
  EXPECT_NE(comment.find("GrayPercent: 10 → 20"), std::string::npos) << comment;

  // The first push comments; the next ones update that comment.
  RunResult first = run("Comment");
  EXPECT_EQ(first.exit_code, 0) << first.err;
  RunResult again = run("Comment", {{"FAKE_EXISTING", "42"}});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  const std::string calls = Calls();
  EXPECT_NE(calls.find("gh api repos/acme/fleet/issues/7/comments --paginate"), std::string::npos) << calls;
  EXPECT_NE(calls.find("gh api --method POST repos/acme/fleet/issues/7/comments -F body=@comment.md"),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("gh api --method PATCH repos/acme/fleet/issues/comments/42 -F body=@comment.md"),
            std::string::npos)
      << calls;
  EXPECT_EQ(Body(), comment);

  // A change with an invalid manifest fails the job at validation.
  repos_.Commit("fleet/broken.yaml", "apiVersion: otaroll/v1\nkind: Rollout\n");
  RunResult invalid = run("Validate");
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.err.find("otaroll: error: fleet/broken.yaml:"), std::string::npos) << invalid.err;
}

TEST_F(Workflows, GitLabCiValidatesPlansAndKeepsOneNote) {
  const YAML::Node ci = YAML::LoadFile(std::string(OTAROLL_SOURCE_DIR) + "/examples/ci/gitlab-ci.yml");
  const YAML::Node job = ci["otaroll-plan"];
  ASSERT_TRUE(job);
  EXPECT_EQ(job["rules"][0]["if"].as<std::string>(), "$CI_PIPELINE_SOURCE == \"merge_request_event\"");
  std::map<std::string, std::string> env;
  for (const auto& kv : job["variables"]) env[kv.first.as<std::string>()] = kv.second.as<std::string>();
  env["OTAROLL_DIR"] = "fleet";
  env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = "main";
  env["CI_API_V4_URL"] = "https://gitlab.example.com/api/v4";
  env["CI_PROJECT_ID"] = "5";
  env["CI_MERGE_REQUEST_IID"] = "7";
  env["OTAROLL_GITLAB_TOKEN"] = "glpat-not-a-token";
  std::string script;
  for (const auto& line : job["script"]) script += line.as<std::string>() + "\n";

  // The target branch is fetched by the job itself: drop it from the clone first.
  Git({"-C", repos_.author, "update-ref", "-d", "refs/remotes/origin/main"});
  RunResult first = Shell(script, env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  env["FAKE_EXISTING"] = "99";
  RunResult again = Shell(script, env);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const std::string note = test_util::detail::Slurp(repos_.author + "/note.md");
  EXPECT_EQ(note.rfind("<!-- otaroll-plan -->\n**otaroll plan**: ", 0), 0u) << note;
  EXPECT_NE(note.find("new-one"), std::string::npos) << note;
  const std::string calls = Calls();
  const std::string api = "https://gitlab.example.com/api/v4/projects/5/merge_requests/7/notes";
  EXPECT_NE(calls.find("--request POST --header PRIVATE-TOKEN: glpat-not-a-token --data-urlencode body@note.md " + api),
            std::string::npos)
      << calls;
  EXPECT_NE(calls.find("--request PUT --header PRIVATE-TOKEN: glpat-not-a-token --data-urlencode body@note.md " + api +
                       "/99"),
            std::string::npos)
      << calls;
  EXPECT_EQ(Body(), note);

  repos_.Commit("fleet/broken.yaml", "apiVersion: otaroll/v1\nkind: Rollout\n");
  RunResult invalid = Shell(script, env);
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.err.find("otaroll: error: fleet/broken.yaml:"), std::string::npos) << invalid.err;
}

}  // namespace
}  // namespace otaroll
