// The real client stack (Client + CurlTransport) against the real
// `otaroll sandbox` over loopback: every call in both styles, HTTPS with a
// certificate made by the test, and each injected fault classified as
// API.md §5 says.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "platform/client.h"
#include "platform/curl_transport.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"
#include "test_util/tls.h"

namespace otaroll::platform {
namespace {

using test_util::SandboxProcess;
using test_util::TempDir;

spec::ParamSet GrayPart(const std::string& firmware = "167") {
  return {{"ProductKey", {"k1nhvyl0000"}}, {"FirmwareId", {firmware}},
          {"TargetSelection", {"GRAY"}},   {"GrayPercent", {"10"}},
          {"NeedPush", {"true"}},          {"NeedConfirm", {"false"}},
          {"DownloadProtocol", {"HTTPS"}}, {"SrcVersion", {"1.0.1", "1.0.2"}},
          {"RetryInterval", {"60"}},       {"RetryCount", {"1"}},
          {"TimeoutInMinutes", {"1440"}}};
}

// A client on the real transport, with fast retries so failing cases end quickly.
struct Stack {
  explicit Stack(const std::string& url, Style style = Style::kTuya, CurlTransport::Options transport_options = {},
                 Credentials credentials = {test_util::kSandboxKeyId, test_util::kSandboxSecret})
      : transport(transport_options), client(Config(url, style), credentials, transport, clock) {}

  static ClientConfig Config(const std::string& url, Style style) {
    ClientConfig c;
    c.endpoint = url;
    c.style = style;
    c.region = style == Style::kAlibaba ? "cn-shanghai" : "";
    c.retry.max_attempts = 3;
    c.retry.base_delay = std::chrono::milliseconds(5);
    c.retry.max_delay = std::chrono::milliseconds(20);
    c.limits = {0, 0, 0};
    return c;
  }

  CurlTransport transport;
  core::SystemClock clock;
  Client client;
};

class SandboxClientTest : public ::testing::TestWithParam<Style> {};

TEST_P(SandboxClientTest, EveryCallRoundTrips) {
  TempDir dir;
  std::string style = GetParam() == Style::kAlibaba ? "alibaba" : "tuya";
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", "testid:testsecret", "--style", style,
                          "--fleet-size", "200", "--task-seconds", "1"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  Stack s(sandbox.url(), GetParam());

  auto created = s.client.CreateJob(GrayPart(), "intent-1");
  ASSERT_TRUE(created.ok()) << created.error().Describe();
  EXPECT_EQ(created->job_id.size(), 19u);
  EXPECT_FALSE(created->utc_create.empty());

  auto job = s.client.QueryJob(created->job_id);
  ASSERT_TRUE(job.ok()) << job.error().Describe();
  EXPECT_EQ(job->job_id, created->job_id);
  EXPECT_EQ(job->product_key, "k1nhvyl0000");
  EXPECT_EQ(job->firmware_id, "167");
  EXPECT_EQ(job->target_selection, "GRAY");
  EXPECT_EQ(job->gray_percent, "10");
  EXPECT_EQ(job->src_versions, (std::vector<std::string>{"1.0.1", "1.0.2"}));
  EXPECT_EQ(job->retry_interval, "60");
  EXPECT_EQ(job->retry_count, "1");
  EXPECT_EQ(job->timeout_in_minutes, "1440");
  if (GetParam() == Style::kAlibaba) {
    EXPECT_EQ(job->tags, (Tags{{"otaroll.intent", "intent-1"}}));
  } else {
    EXPECT_TRUE(job->tags.empty());  // tuya: no tags are sent
  }

  auto second = s.client.CreateJob(GrayPart(), "intent-2");
  ASSERT_TRUE(second.ok());
  auto other_firmware = s.client.CreateJob(GrayPart("168"), "intent-3");
  ASSERT_TRUE(other_firmware.ok());
  auto jobs = s.client.ListJobsByFirmware("167");
  ASSERT_TRUE(jobs.ok()) << jobs.error().Describe();
  ASSERT_EQ(jobs->size(), 2u);
  std::set<std::string> ids = {(*jobs)[0].job_id, (*jobs)[1].job_id};
  EXPECT_EQ(ids, (std::set<std::string>{created->job_id, second->job_id}));

  // 10 % of a 200-device fleet.
  auto tasks = s.client.ListTasks(created->job_id, "");
  ASSERT_TRUE(tasks.ok()) << tasks.error().Describe();
  EXPECT_EQ(tasks->size(), 20u);
  auto count = s.client.CountTasks(created->job_id, "");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 20);

  auto cancelled = s.client.CancelTasks(created->job_id, CancelWhich{});
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().Describe();
  EXPECT_EQ(sandbox.Stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Styles, SandboxClientTest, ::testing::Values(Style::kTuya, Style::kAlibaba),
                         [](const auto& info) { return std::string(StyleName(info.param)); });

// The largest valid create: 200 devices of 64 characters (well over the 8 KiB
// that HTTP libraries accept for a form by default), over POST and over GET
// (which the client then sends as POST).
TEST(SandboxClientLargeTest, TheLargestValidCreateIsAccepted) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", "testid:testsecret"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  for (const char* method : {"POST", "GET"}) {
    SCOPED_TRACE(method);
    spec::ParamSet part = GrayPart(std::string("17") + method);
    part["TargetSelection"] = {"SPECIFIC"};
    part.erase("GrayPercent");
    for (int i = 0; i < 200; ++i) part["TargetDeviceName"].push_back(fmt::format("device-{:-<54}{:0>3}", "", i));
    ASSERT_EQ(part["TargetDeviceName"][0].size(), 64u);
    Stack s(sandbox.url());
    ClientConfig config = Stack::Config(sandbox.url(), Style::kTuya);
    config.method = method;
    Client client(config, {test_util::kSandboxKeyId, test_util::kSandboxSecret}, s.transport, s.clock);
    auto created = client.CreateJob(part, "");
    ASSERT_TRUE(created.ok()) << created.error().Describe();
    auto tasks = client.ListTasks(created->job_id, "");
    ASSERT_TRUE(tasks.ok()) << tasks.error().Describe();
    EXPECT_EQ(tasks->size(), 200u);
  }
}

TEST(SandboxClientLargeTest, ABodyOverTheSandboxLimitIsRefusedUnreadAsNotCreated) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", "testid:testsecret"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  Stack s(sandbox.url());
  spec::ParamSet part = GrayPart();
  part["SrcVersion"] = {};
  for (int i = 0; i < 20000; ++i) part["SrcVersion"].push_back(fmt::format("{:0>60}", i));  // > 1 MiB
  auto refused = s.client.CreateJob(part, "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().cls, ErrorClass::kRefused) << refused.error().Describe();
  EXPECT_FALSE(refused.error().OutcomeUnknown());
  EXPECT_EQ(refused.error().attempts, 1);
  auto jobs = s.client.ListJobsByFirmware("167");
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE(jobs->empty());
}

TEST(SandboxClientHttpsTest, VerifiesTheSandboxCertificate) {
  TempDir dir;
  test_util::TestPki pki = test_util::MakeTestPki(dir.path());
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", "testid:testsecret", "--tls-cert",
                          pki.server_cert, "--tls-key", pki.server_key});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  ASSERT_EQ(sandbox.url().rfind("https://127.0.0.1:", 0), 0u) << sandbox.url();

  CurlTransport::Options trusted;
  trusted.ca_bundle = pki.ca_cert;
  Stack good(sandbox.url(), Style::kTuya, trusted);
  auto created = good.client.CreateJob(GrayPart(), "");
  ASSERT_TRUE(created.ok()) << created.error().Describe();

  CurlTransport::Options wrong;
  wrong.ca_bundle = pki.other_ca_cert;
  Stack bad(sandbox.url(), Style::kTuya, wrong);
  auto refused = bad.client.CreateJob(GrayPart(), "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().cls, ErrorClass::kNetwork);
  EXPECT_FALSE(refused.error().sent);  // nothing reached the sandbox: safe to retry, not unknown
  EXPECT_FALSE(refused.error().OutcomeUnknown());
  EXPECT_NE(refused.error().message.find("not trusted"), std::string::npos) << refused.error().message;

  auto jobs = good.client.ListJobsByFirmware("167");
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 1u);  // the refused create made nothing
}

// Jobs in a sandbox's data file, read by a fault-free sandbox on the same file.
size_t JobsInDataFile(const std::string& data, const std::string& firmware = "167") {
  SandboxProcess sandbox({"--data", data, "--access-key", "testid:testsecret"});
  EXPECT_TRUE(sandbox.started()) << sandbox.error();
  Stack s(sandbox.url());
  auto jobs = s.client.ListJobsByFirmware(firmware);
  EXPECT_TRUE(jobs.ok()) << jobs.error().Describe();
  return jobs.ok() ? jobs->size() : 0;
}

TEST(SandboxFaultTest, ServiceUnavailableOnCreateIsUnknownAndOnReadIsRetried) {
  TempDir dir;
  std::string data = dir.Join("sandbox.db");
  {
    SandboxProcess sandbox({"--data", data, "--access-key", "testid:testsecret", "--fail-rate", "1"});
    ASSERT_TRUE(sandbox.started()) << sandbox.error();
    Stack s(sandbox.url());
    auto created = s.client.CreateJob(GrayPart(), "");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().cls, ErrorClass::kTransient);
    EXPECT_EQ(created.error().code, "ServiceUnavailable");
    EXPECT_EQ(created.error().http_status, 503);
    EXPECT_TRUE(created.error().OutcomeUnknown());
    EXPECT_EQ(created.error().attempts, 1);  // never repeated blind

    auto jobs = s.client.ListJobsByFirmware("167");
    ASSERT_FALSE(jobs.ok());
    EXPECT_EQ(jobs.error().attempts, 3);  // reads are retried up to the policy
  }
  EXPECT_EQ(JobsInDataFile(data), 0u);  // 503 came before anything was done
}

TEST(SandboxFaultTest, ThrottledCreateIsRetriedAndNeverUnknown) {
  TempDir dir;
  std::string data = dir.Join("sandbox.db");
  {
    SandboxProcess sandbox({"--data", data, "--access-key", "testid:testsecret", "--throttle-rate", "1"});
    ASSERT_TRUE(sandbox.started()) << sandbox.error();
    Stack s(sandbox.url());
    auto created = s.client.CreateJob(GrayPart(), "");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().cls, ErrorClass::kThrottled);
    EXPECT_EQ(created.error().code, "Throttling.User");
    EXPECT_FALSE(created.error().OutcomeUnknown());
    EXPECT_EQ(created.error().attempts, 3);
  }
  EXPECT_EQ(JobsInDataFile(data), 0u);
}

TEST(SandboxFaultTest, DroppedCreateResponseIsUnknownAndTheJobExists) {
  TempDir dir;
  std::string data = dir.Join("sandbox.db");
  {
    SandboxProcess sandbox({"--data", data, "--access-key", "testid:testsecret", "--drop-response-rate", "1"});
    ASSERT_TRUE(sandbox.started()) << sandbox.error();
    Stack s(sandbox.url());
    auto created = s.client.CreateJob(GrayPart(), "");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().cls, ErrorClass::kNetwork);
    EXPECT_TRUE(created.error().sent);
    EXPECT_TRUE(created.error().OutcomeUnknown());
    EXPECT_EQ(created.error().attempts, 1);
    EXPECT_NE(created.error().message.find("closed the connection without answering"), std::string::npos)
        << created.error().message;
  }
  EXPECT_EQ(JobsInDataFile(data), 1u);  // created exactly once
}

TEST(SandboxFaultTest, AnswerLaterThanTheTimeoutIsUnknownForACreate) {
  TempDir dir;
  std::string data = dir.Join("sandbox.db");
  {
    SandboxProcess sandbox({"--data", data, "--access-key", "testid:testsecret", "--latency-ms", "1500"});
    ASSERT_TRUE(sandbox.started()) << sandbox.error();
    CurlTransport::Options impatient;
    impatient.total_timeout = std::chrono::milliseconds(300);
    Stack s(sandbox.url(), Style::kTuya, impatient);
    auto created = s.client.CreateJob(GrayPart(), "");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().cls, ErrorClass::kNetwork);
    EXPECT_TRUE(created.error().OutcomeUnknown());
    EXPECT_EQ(created.error().attempts, 1);
    EXPECT_EQ(sandbox.Stop(), 0);  // finishes the in-flight create first
  }
  EXPECT_EQ(JobsInDataFile(data), 1u);
}

TEST(SandboxAuthTest, BadCredentialsAndClockAreAuthFailures) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", "testid:testsecret"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  {
    Stack s(sandbox.url(), Style::kTuya, {}, Credentials{"testid", "wrong-secret"});
    auto r = s.client.ListJobsByFirmware("167");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().cls, ErrorClass::kAuth);
    EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
    EXPECT_EQ(r.error().attempts, 1);
  }
  {
    Stack s(sandbox.url(), Style::kTuya, {}, Credentials{"nobody", "testsecret"});
    auto r = s.client.CreateJob(GrayPart(), "");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().cls, ErrorClass::kAuth);
    EXPECT_EQ(r.error().code, "InvalidAccessKeyId.NotFound");
    EXPECT_FALSE(r.error().OutcomeUnknown());
  }
  {
    // A client whose clock is 20 minutes behind.
    CurlTransport transport;
    core::FixedClock late(std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) -
                          std::chrono::minutes(20));
    Client client(Stack::Config(sandbox.url(), Style::kTuya), Credentials{"testid", "testsecret"}, transport, late);
    auto r = client.QueryJob("1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().cls, ErrorClass::kAuth);
    EXPECT_EQ(r.error().code, "InvalidTimeStamp.Expired");
  }
}

}  // namespace
}  // namespace otaroll::platform
