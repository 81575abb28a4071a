// `otaroll platform jobs|job|tasks` against the real sandbox: the issue's
// "done when" (lists with the right credentials, a clear authentication
// message with a wrong secret, the secret in no output), and the sandbox
// serving Alibaba Cloud's official Node.js SDK.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "platform/client.h"
#include "platform/curl_transport.h"
#include "test_util/child.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"

namespace otaroll {
namespace {

namespace fs = std::filesystem;
using test_util::RunOptions;
using test_util::RunResult;
using test_util::SandboxProcess;
using test_util::TempDir;

// Distinctive secrets, so a search for them cannot match anything by chance.
constexpr const char* kKeyId = "LTAI-otaroll-test";
constexpr const char* kSecret = "s3cr3t-Right-9f27c1e4";
constexpr const char* kWrongSecret = "s3cr3t-Wrong-5d01b8aa";

std::vector<std::string> SandboxArgs(const TempDir& dir, std::vector<std::string> extra = {},
                                     const std::string& data = "sandbox.db") {
  std::vector<std::string> args = {
      "--data",       dir.Join(data), "--access-key",   std::string(kKeyId) + ":" + kSecret,
      "--fleet-size", "100",          "--task-seconds", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

RunResult Otaroll(std::vector<std::string> args, const std::string& secret = kSecret) {
  args.insert(args.begin(), OTAROLL_BIN);
  RunOptions options;
  options.env = {{"OTAROLL_ACCESS_KEY_ID", kKeyId}, {"OTAROLL_ACCESS_KEY_SECRET", secret}, {"OTAROLL_ENDPOINT", ""}};
  options.timeout_seconds = 60;
  return test_util::Run(std::move(args), options);
}

// Creates a GRAY job of firmware 167 through the library client.
std::string CreateJob(const std::string& url, platform::Style style = platform::Style::kTuya) {
  platform::CurlTransport transport;
  core::SystemClock clock;
  platform::ClientConfig config;
  config.endpoint = url;
  config.style = style;
  config.region = "cn-shanghai";
  platform::Client client(config, platform::Credentials{kKeyId, kSecret}, transport, clock);
  spec::ParamSet part = {{"ProductKey", {"k1nhvyl0000"}}, {"FirmwareId", {"167"}},  {"TargetSelection", {"GRAY"}},
                         {"GrayPercent", {"10"}},         {"NeedPush", {"true"}},   {"NeedConfirm", {"false"}},
                         {"DownloadProtocol", {"HTTPS"}}, {"SrcVersion", {"1.0.1"}}};
  auto created = client.CreateJob(part, "intent-7");
  EXPECT_TRUE(created.ok()) << created.error().Describe();
  return created.ok() ? created->job_id : "";
}

TEST(PlatformCliTest, JobsListsTheFirmwaresJobs) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  std::string a = CreateJob(sandbox.url());
  std::string b = CreateJob(sandbox.url());

  RunResult r = Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", sandbox.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("JOB ID               PRODUCT      SELECTION  STATUS", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(a + "  k1nhvyl0000  GRAY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(b + "  k1nhvyl0000  GRAY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n2 jobs of firmware 167\n"), std::string::npos) << r.out;

  RunResult json = Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", sandbox.url(), "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["format_version"], 1);
  EXPECT_EQ(doc["firmware_id"], "167");
  ASSERT_EQ(doc["jobs"].size(), 2u);
  EXPECT_TRUE(doc["jobs"][0]["job_id"].is_string());

  RunResult none = Otaroll({"platform", "jobs", "--firmware", "999", "--endpoint", sandbox.url()});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "firmware 999 has no jobs\n");
}

TEST(PlatformCliTest, JobAndTasksShowOneJob) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir, {"--style", "alibaba"}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  std::string id = CreateJob(sandbox.url(), platform::Style::kAlibaba);
  std::vector<std::string> alibaba = {"--endpoint", sandbox.url(), "--platform", "alibaba", "--region", "cn-shanghai"};

  std::vector<std::string> job_args = {"platform", "job", id};
  job_args.insert(job_args.end(), alibaba.begin(), alibaba.end());
  RunResult job = Otaroll(job_args);
  ASSERT_EQ(job.exit_code, 0) << job.err;
  EXPECT_NE(job.out.find("job:              " + id + "\n"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("target:           GRAY 10%\n"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("source versions:  1.0.1\n"), std::string::npos) << job.out;
  EXPECT_NE(job.out.find("tags:             otaroll.intent=intent-7\n"), std::string::npos) << job.out;

  std::vector<std::string> task_args = {"platform", "tasks", id, "--format", "json"};
  task_args.insert(task_args.end(), alibaba.begin(), alibaba.end());
  RunResult tasks = Otaroll(task_args);
  ASSERT_EQ(tasks.exit_code, 0) << tasks.err;
  auto doc = nlohmann::json::parse(tasks.out);
  EXPECT_EQ(doc["job_id"], id);
  EXPECT_EQ(doc["tasks"].size(), 10u);  // 10 % of 100 devices
  size_t counted = 0;
  for (const auto& [status, n] : doc["counts"].items()) counted += n.get<size_t>();
  EXPECT_EQ(counted, 10u);

  std::vector<std::string> text_args = {"platform", "tasks", id};
  text_args.insert(text_args.end(), alibaba.begin(), alibaba.end());
  RunResult text = Otaroll(text_args);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("TASK ID", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("\n10 tasks: "), std::string::npos) << text.out;
}

TEST(PlatformCliTest, WrongSecretFailsWithAClearAuthenticationMessage) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  RunResult r = Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", sandbox.url()}, kWrongSecret);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  const std::string head =
      "otaroll: error: the platform refused the credentials while listing the jobs of firmware 167: "
      "SignatureDoesNotMatch: ";
  const std::string tail = "; check the access key secret (OTAROLL_ACCESS_KEY_SECRET or --credentials-file)\n";
  EXPECT_EQ(r.err.rfind(head, 0), 0u) << r.err;
  ASSERT_GE(r.err.size(), tail.size());
  EXPECT_EQ(r.err.substr(r.err.size() - tail.size()), tail) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(PlatformCliTest, ConnectionProblemsAreReportedWithTheFix) {
  RunResult no_endpoint = Otaroll({"platform", "jobs", "--firmware", "167"});
  EXPECT_EQ(no_endpoint.exit_code, 1);
  EXPECT_EQ(no_endpoint.err,
            "otaroll: error: no platform endpoint: pass --endpoint URL or set OTAROLL_ENDPOINT (e.g. "
            "https://iot.cn-shanghai.aliyuncs.com)\n");
  RunResult cleartext = Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", "http://iot.example.com"});
  EXPECT_EQ(cleartext.err,
            "otaroll: error: --endpoint: plain http is only allowed to a loopback address (the sandbox); use "
            "https://iot.example.com\n");
  RunResult region =
      Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", "http://127.0.0.1:1", "--platform", "alibaba"});
  EXPECT_EQ(region.err, "otaroll: error: --platform alibaba needs --region (the RegionId, e.g. cn-shanghai)\n");
}

// Everything below `root` and every captured stream, searched for `needle`.
std::vector<std::string> PlacesContaining(const std::string& needle, const std::string& root,
                                          const std::vector<std::pair<std::string, std::string>>& streams,
                                          const std::set<std::string>& skip) {
  std::vector<std::string> found;
  for (const auto& [name, text] : streams) {
    if (text.find(needle) != std::string::npos) found.push_back(name);
  }
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || skip.count(entry.path().string())) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (content.find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

TEST(PlatformCliTest, TheSecretAppearsInNoOutputOfFailingOrSucceedingCalls) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> streams;
  auto record = [&](const std::string& name, const RunResult& r) {
    streams.emplace_back(name + " stdout", r.out);
    streams.emplace_back(name + " stderr", r.err);
  };
  std::string creds = dir.Write(
      "creds", std::string("OTAROLL_ACCESS_KEY_ID=") + kKeyId + "\nOTAROLL_ACCESS_KEY_SECRET=" + kSecret + "\n");
  chmod(creds.c_str(), 0600);
  std::string open_creds = dir.Write(
      "open-creds", std::string("OTAROLL_ACCESS_KEY_ID=") + kKeyId + "\nOTAROLL_ACCESS_KEY_SECRET=" + kSecret + "\n");
  chmod(open_creds.c_str(), 0644);
  {
    SandboxProcess sandbox(SandboxArgs(dir));
    ASSERT_TRUE(sandbox.started()) << sandbox.error();
    std::string id = CreateJob(sandbox.url());
    std::string url = sandbox.url();
    record("jobs", Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", url}));
    record("jobs json", Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", url, "--format", "json"}));
    record("job", Otaroll({"platform", "job", id, "--endpoint", url}));
    record("tasks", Otaroll({"platform", "tasks", id, "--endpoint", url, "--http-method", "GET"}));
    record("wrong secret", Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", url}, kWrongSecret));
    record("wrong secret GET",
           Otaroll({"platform", "job", id, "--endpoint", url, "--http-method", "GET"}, kWrongSecret));
    record("credentials file",
           Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", url, "--credentials-file", creds}, ""));
    record("open credentials file",
           Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", url, "--credentials-file", open_creds}, ""));
    record("unreachable", Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", "http://127.0.0.1:1",
                                   "--connect-timeout", "1"}));
    EXPECT_EQ(sandbox.Stop(), 0);
    streams.emplace_back("sandbox log", sandbox.Log());
  }
  {
    SandboxProcess throttling(SandboxArgs(dir, {"--throttle-rate", "1"}, "throttled.db"));
    ASSERT_TRUE(throttling.started()) << throttling.error();
    record("throttled", Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", throttling.url()}));
    EXPECT_EQ(throttling.Stop(), 0);
    streams.emplace_back("throttled sandbox log", throttling.Log());
  }
  // The runs above did what they should (so the search is over real output).
  ASSERT_GE(streams.size(), 20u);
  EXPECT_NE(streams[0].second.find("1 job of firmware 167"), std::string::npos) << streams[0].second;
  EXPECT_NE(streams[9].second.find("SignatureDoesNotMatch"), std::string::npos) << streams[9].second;
  EXPECT_NE(streams[15].second.find("chmod 600"), std::string::npos) << streams[15].second;

  std::set<std::string> skip = {creds, open_creds};
  for (const char* secret : {kSecret, kWrongSecret}) {
    EXPECT_EQ(PlacesContaining(secret, dir.path(), streams, skip), std::vector<std::string>{}) << secret;
  }
}

// Alibaba Cloud's official Node.js RPC client signs its own requests; the
// sandbox must serve it like the platform does.
class SdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script_ = std::string(OTAROLL_SOURCE_DIR) + "/tools/sdk-check/call.js";
    ASSERT_TRUE(fs::exists(std::string(OTAROLL_SOURCE_DIR) + "/tools/sdk-check/node_modules/@alicloud/pop-core"))
        << "run scripts/install-deps.sh: it installs the SDK from tools/sdk-check/package-lock.json";
    for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
      if (fs::exists(std::string(dir) + "/node")) node_ = std::string(dir) + "/node";
    }
    ASSERT_FALSE(node_.empty()) << "node is not installed; run scripts/install-deps.sh";
  }

  RunResult Sdk(const std::string& url, const std::string& action, const nlohmann::json& params,
                const std::string& method, const std::string& secret = kSecret) {
    RunOptions options;
    options.env = {{"SDK_ACCESS_KEY_ID", kKeyId}, {"SDK_ACCESS_KEY_SECRET", secret}};
    options.timeout_seconds = 60;
    return test_util::Run({node_, script_, url, action, params.dump(), method}, options);
  }

  std::string script_;
  std::string node_;
};

TEST_F(SdkTest, OfficialAlibabaSdkIsServedAndSeesTheSameJobsAsOtaroll) {
  TempDir dir;
  SandboxProcess sandbox(SandboxArgs(dir, {"--style", "alibaba"}));
  ASSERT_TRUE(sandbox.started()) << sandbox.error();

  nlohmann::json create = {{"ProductKey", "k1nhvyl0000"},
                           {"FirmwareId", "167"},
                           {"TargetSelection", "GRAY"},
                           {"GrayPercent", "10"},
                           {"SrcVersion", {"1.0.1", "1.0.2"}}};
  RunResult post = Sdk(sandbox.url(), "CreateOTAStaticUpgradeJob", create, "POST");
  ASSERT_EQ(post.exit_code, 0) << post.out << post.err << sandbox.Log();
  auto created = nlohmann::json::parse(post.out);
  ASSERT_TRUE(created["Success"].get<bool>()) << post.out;
  std::string sdk_job = created["Data"]["JobId"];

  std::string otaroll_job = CreateJob(sandbox.url(), platform::Style::kAlibaba);

  RunResult get = Sdk(sandbox.url(), "ListOTAJobByFirmware", {{"FirmwareId", "167"}}, "GET");
  ASSERT_EQ(get.exit_code, 0) << get.out << get.err;
  auto listed = nlohmann::json::parse(get.out);
  std::set<std::string> ids;
  for (const auto& j : listed["Data"]["SimpleOTAJobInfo"]) ids.insert(j["JobId"].get<std::string>());
  EXPECT_EQ(ids, (std::set<std::string>{sdk_job, otaroll_job}));

  RunResult query = Sdk(sandbox.url(), "QueryOTAJob", {{"JobId", sdk_job}}, "POST");
  ASSERT_EQ(query.exit_code, 0) << query.out;
  auto job = nlohmann::json::parse(query.out)["Data"];
  EXPECT_EQ(job["SrcVersions"]["SrcVersion"], (nlohmann::json{"1.0.1", "1.0.2"}));  // 1-based lists from the SDK

  RunResult mine = Otaroll({"platform", "jobs", "--firmware", "167", "--endpoint", sandbox.url(), "--platform",
                            "alibaba", "--region", "cn-shanghai"});
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_NE(mine.out.find(sdk_job), std::string::npos) << mine.out;

  RunResult forged = Sdk(sandbox.url(), "ListOTAJobByFirmware", {{"FirmwareId", "167"}}, "GET", kWrongSecret);
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(forged.out)["error"], "SignatureDoesNotMatch") << forged.out;
}

}  // namespace
}  // namespace otaroll
