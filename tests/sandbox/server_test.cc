// The sandbox over HTTP: in-process (Server + Platform) where the test needs
// to control timing, and through the real binary (OTAROLL_BIN) for the
// command line, signals, restarts, the log, faults and TLS.
#include "sandbox/server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "test_util/child.h"
#include "test_util/sandbox_process.h"
#include "test_util/temp_dir.h"
#include "test_util/tls.h"

namespace otaroll::sandbox {
namespace {

using nlohmann::json;
using test_util::SandboxCall;
using test_util::SandboxCallOptions;
using test_util::SandboxProcess;
using test_util::TempDir;

const std::string kKey = "testid:testsecret";

platform::Params GrayJob(const std::string& firmware = "178") {
  return {{"FirmwareId", firmware}, {"ProductKey", "pk1"}, {"TargetSelection", "GRAY"}, {"GrayPercent", "10"}};
}

// Sends one signed POST over a raw socket and returns every byte that comes
// back before the server closes the connection (or a 20 s bound passes).
std::string RawPost(int port, const platform::Params& params, bool* closed) {
  std::string body = test_util::SandboxEncode(params);
  std::string request = fmt::format(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      port, body.size(), body);
  *closed = false;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string received;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {  // EOF or reset: the server closed the connection
      *closed = true;
      break;
    }
    received.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return received;
}

int64_t JobTotal(const std::string& url, const std::string& firmware = "178", const SandboxCallOptions& options = {}) {
  auto reply = SandboxCall(url, "ListOTAJobByFirmware", {{"FirmwareId", firmware}}, options);
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json.is_object() ? reply.json.value("total", reply.json.value("Total", int64_t{-1})) : -1;
}

test_util::RunResult Otaroll(std::vector<std::string> args) {
  args.insert(args.begin(), OTAROLL_BIN);
  test_util::RunOptions options;
  options.timeout_seconds = 60;
  return test_util::Run(std::move(args), options);
}

// --- In-process ---------------------------------------------------------------

// A clock whose Sleep (the injected latency) blocks until the test releases it.
class GateClock : public core::Clock {
 public:
  core::Time Now() const override { return system_.Now(); }
  void Sleep(core::Duration) override {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
  }
  bool WaitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [this] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  core::SystemClock system_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

std::unique_ptr<Platform> OpenPlatform(const TempDir& dir, core::Clock& clock, FaultConfig faults = {}) {
  Options o;
  o.access_keys = {{"testid", "testsecret"}};
  o.faults = faults;
  o.limits.enabled = false;  // these tests are about serving, not budgets
  o.fleet.fleet_size = 20;
  auto p = Platform::Open(dir.Join("sandbox.db"), o, clock);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(*p) : nullptr;
}

TEST(SandboxServer, StopFinishesTheRequestInFlight) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  GateClock clock;
  auto platform = OpenPlatform(dir, clock, FaultConfig{0, 0, 0, 1});
  ASSERT_NE(platform, nullptr);
  Server server(*platform, clock, nullptr);
  auto port = server.Bind({});
  ASSERT_TRUE(port.ok()) << port.status().message();
  core::Status served = core::Status::Invalid("not run");
  std::thread runner([&] { served = server.Run(); });
  test_util::SandboxReply reply;
  std::thread client([&] { reply = SandboxCall(server.url(), "CreateOTAStaticUpgradeJob", GrayJob()); });
  ASSERT_TRUE(clock.WaitEntered());  // the request is being handled
  std::thread stopper([&] { server.Stop(); });
  stopper.join();
  clock.Release();
  client.join();
  runner.join();
  EXPECT_TRUE(served.ok()) << served.message();
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json["data"]["firmwareId"].get<std::string>().size(), 19u);
  EXPECT_EQ(*platform->JobCount(), 1);
  auto after = SandboxCall(server.url(), "QueryOTAJob", {{"JobId", "1"}}, {.timeout_seconds = 5});
  EXPECT_EQ(after.status, -1) << "nothing listens any more";
}

TEST(SandboxServer, StopBeforeRunReturnsAtOnce) {
  TempDir dir;
  core::SystemClock clock;
  auto platform = OpenPlatform(dir, clock);
  ASSERT_NE(platform, nullptr);
  Server server(*platform, clock, nullptr);
  ASSERT_TRUE(server.Bind({}).ok());
  server.Stop();
  EXPECT_TRUE(server.Run().ok());
}

TEST(SandboxServer, DroppedResponseSendsNoByteAfterCommitting) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  core::SystemClock clock;
  auto platform = OpenPlatform(dir, clock, FaultConfig{0, 0, 1, 0});
  ASSERT_NE(platform, nullptr);
  Server server(*platform, clock, nullptr);
  auto port = server.Bind({});
  ASSERT_TRUE(port.ok());
  std::thread runner([&] { (void)server.Run(); });
  bool closed = false;
  std::string got = RawPost(*port, test_util::SandboxSign("POST", "CreateOTAStaticUpgradeJob", GrayJob()), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  EXPECT_EQ(*platform->JobCount(), 1);
  server.Stop();
  runner.join();
}

// A connection serves many calls, as a production gateway's does (httplib
// alone closes it after 5): clients that keep connections pay no connect
// per call.
TEST(SandboxServer, OneConnectionServesManyCalls) {
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  core::SystemClock clock;
  auto platform = OpenPlatform(dir, clock);
  ASSERT_NE(platform, nullptr);
  Server server(*platform, clock, nullptr);
  auto port = server.Bind({});
  ASSERT_TRUE(port.ok());
  std::thread runner([&] { (void)server.Run(); });
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(*port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = fmt::format("GET /?Action=QueryOTAJob HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", *port);
  int answered = 0;
  std::string pending;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int call = 0; call < 20; ++call) {
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    // One whole answer: its head, then Content-Length bytes of body.
    for (;;) {
      const size_t head_end = pending.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t at = pending.find("Content-Length: ");
        ASSERT_NE(at, std::string::npos) << pending;
        const size_t length = std::stoul(pending.substr(at + 16));
        if (pending.size() >= head_end + 4 + length) {
          EXPECT_EQ(pending.find("Connection: close"), std::string::npos) << "call " << call + 1;
          pending.erase(0, head_end + 4 + length);
          ++answered;
          break;
        }
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "the server closed the connection after " << answered << " calls";
      pending.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  EXPECT_EQ(answered, 20);
  server.Stop();
  runner.join();
}

TEST(SandboxServer, FindsAndShutsDownOnlyTheRightConnection) {
  EXPECT_FALSE(ShutdownConnection("127.0.0.1", 1, 0)) << "no such connection";
}

// --- The binary ---------------------------------------------------------------

TEST(SandboxBinary, ListensPrintsItsUrlAndStopsOnSigterm) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  EXPECT_EQ(sandbox.url(), fmt::format("http://127.0.0.1:{}", sandbox.port()));
  EXPECT_EQ(JobTotal(sandbox.url()), 0);
  EXPECT_EQ(sandbox.Stop(), 0);
  EXPECT_NE(sandbox.Log().find("otaroll sandbox: stopped on SIGTERM"), std::string::npos) << sandbox.Log();
  EXPECT_TRUE(std::filesystem::exists(dir.Join("sandbox.db")));
}

TEST(SandboxBinary, SigintStopsItToo) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  ASSERT_EQ(kill(sandbox.pid(), SIGINT), 0);
  EXPECT_EQ(sandbox.Stop(), 0);
  EXPECT_NE(sandbox.Log().find("otaroll sandbox: stopped on SIG"), std::string::npos) << sandbox.Log();
}

TEST(SandboxBinary, AJobSurvivesARestart) {
  TempDir dir;
  std::vector<std::string> args = {"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--style", "alibaba"};
  std::string id;
  {
    SandboxProcess sandbox(args);
    ASSERT_TRUE(sandbox.started()) << sandbox.error();
    auto reply = SandboxCall(sandbox.url(), "CreateOTAStaticUpgradeJob", GrayJob());
    ASSERT_EQ(reply.status, 200) << reply.body;
    id = reply.json["Data"]["JobId"];
    EXPECT_EQ(sandbox.Stop(), 0);
  }
  SandboxProcess again(args);
  ASSERT_TRUE(again.started()) << again.error();
  auto reply = SandboxCall(again.url(), "QueryOTAJob", {{"JobId", id}}, {.method = "GET"});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json["Data"]["JobId"], id);
  EXPECT_EQ(reply.json["Data"]["GrayPercent"], "10");
  EXPECT_EQ(JobTotal(again.url()), 1);
  EXPECT_NE(again.Log().find("(1 job)"), std::string::npos) << again.Log();
}

TEST(SandboxBinary, LogsOneLinePerRequestWithoutSecrets) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--access-key", "k2:s3cr3t-two"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  platform::Params signed_params = test_util::SandboxSign("POST", "CreateOTAStaticUpgradeJob", GrayJob());
  auto created = SandboxCall(sandbox.url(), "CreateOTAStaticUpgradeJob", GrayJob());
  ASSERT_EQ(created.status, 200);
  std::string id = created.json["data"]["firmwareId"];
  auto listed = SandboxCall(sandbox.url(), "ListOTAJobByFirmware", {{"FirmwareId", "178"}}, {.method = "GET"});
  auto forged = SandboxCall(sandbox.url(), "QueryOTAJob", {{"JobId", id}}, {.secret = "wrong"});
  EXPECT_EQ(forged.json["code"], "SignatureDoesNotMatch");
  EXPECT_EQ(sandbox.Stop(), 0);
  std::string log = sandbox.Log();
  EXPECT_EQ(log.find("testsecret"), std::string::npos) << log;
  EXPECT_EQ(log.find("s3cr3t-two"), std::string::npos) << log;
  EXPECT_EQ(log.find(signed_params["Signature"]), std::string::npos);
  std::vector<std::string> lines;
  std::stringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("otaroll sandbox:")) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 3u) << log;
  const std::string t = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z client=127\.0\.0\.1:\d+ )";
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(t +
                                                    "method=POST action=CreateOTAStaticUpgradeJob key=testid "
                                                    "status=200 outcome=" +
                                                    id + " request=" + created.json["requestId"].get<std::string>())))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(t +
                                                    "method=GET action=ListOTAJobByFirmware key=testid "
                                                    "status=200 outcome=ok request=" +
                                                    listed.json["requestId"].get<std::string>())))
      << lines[1];
  EXPECT_TRUE(std::regex_match(lines[2], std::regex(t + "method=POST action=QueryOTAJob key=testid status=400 "
                                                        "outcome=SignatureDoesNotMatch request=[0-9a-f-]{36}")))
      << lines[2];
}

TEST(SandboxBinary, FailRateOneAnswers503) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--fail-rate", "1"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  auto reply = SandboxCall(sandbox.url(), "CreateOTAStaticUpgradeJob", GrayJob());
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.json["code"], "ServiceUnavailable");
  EXPECT_EQ(sandbox.Stop(), 0);
  SandboxProcess clean({"--data", dir.Join("sandbox.db"), "--access-key", kKey});
  ASSERT_TRUE(clean.started()) << clean.error();
  EXPECT_EQ(JobTotal(clean.url()), 0);
}

TEST(SandboxBinary, ThrottleRateOneAnswersThrottling) {
  TempDir dir;
  SandboxProcess sandbox(
      {"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--throttle-rate", "1", "--style", "alibaba"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  auto reply = SandboxCall(sandbox.url(), "CreateOTAStaticUpgradeJob", GrayJob());
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json["Code"], "Throttling.User");
  EXPECT_EQ(sandbox.Stop(), 0);
  SandboxProcess clean({"--data", dir.Join("sandbox.db"), "--access-key", kKey});
  ASSERT_TRUE(clean.started()) << clean.error();
  EXPECT_EQ(JobTotal(clean.url()), 0);
}

TEST(SandboxBinary, DroppedResponseZeroBytesButTheJobExists) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--drop-response-rate", "1"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  bool closed = false;
  std::string got =
      RawPost(sandbox.port(), test_util::SandboxSign("POST", "CreateOTAStaticUpgradeJob", GrayJob()), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.size(), 0u) << got;
  auto reply = SandboxCall(sandbox.url(), "CreateOTAStaticUpgradeJob", GrayJob("179"));
  EXPECT_EQ(reply.status, -1) << "the client sees no answer";
  EXPECT_EQ(sandbox.Stop(), 0);
  EXPECT_NE(sandbox.Log().find("response=dropped"), std::string::npos) << sandbox.Log();
  EXPECT_EQ(sandbox.Log().find("drop-failed"), std::string::npos) << sandbox.Log();

  SandboxProcess clean({"--data", dir.Join("sandbox.db"), "--access-key", kKey});
  ASSERT_TRUE(clean.started()) << clean.error();
  EXPECT_EQ(JobTotal(clean.url(), "178"), 1);
  EXPECT_EQ(JobTotal(clean.url(), "179"), 1);
}

TEST(SandboxBinary, LatencyDelaysEveryAnswer) {
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--latency-ms", "300"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  auto start = std::chrono::steady_clock::now();
  auto reply = SandboxCall(sandbox.url(), "ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.status, 200);
  EXPECT_GE(took, std::chrono::milliseconds(300));
}

TEST(SandboxBinary, ServesHttpsWithTheGivenCertificate) {
  TempDir dir;
  test_util::TestPki pki = test_util::MakeTestPki(dir.path());
  std::vector<std::string> args = {"--data",     dir.Join("sandbox.db"), "--access-key", kKey,
                                   "--tls-cert", pki.server_cert,        "--tls-key",    pki.server_key};
  SandboxProcess sandbox(args);
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  EXPECT_EQ(sandbox.url(), fmt::format("https://127.0.0.1:{}", sandbox.port()));
  SandboxCallOptions trust{.ca_file = pki.ca_cert};
  auto reply = SandboxCall(sandbox.url(), "CreateOTAStaticUpgradeJob", GrayJob(), trust);
  EXPECT_EQ(reply.status, 200) << reply.body << " " << httplib::to_string(reply.error);
  SandboxCallOptions distrust{.ca_file = pki.other_ca_cert};
  EXPECT_EQ(SandboxCall(sandbox.url(), "ListOTAJobByFirmware", {{"FirmwareId", "178"}}, distrust).status, -1);
  EXPECT_EQ(sandbox.Stop(), 0);

  // A lost answer over TLS: the job is there, the client got nothing.
  args.insert(args.end(), {"--drop-response-rate", "1"});
  SandboxProcess dropping(args);
  ASSERT_TRUE(dropping.started()) << dropping.error();
  EXPECT_EQ(SandboxCall(dropping.url(), "CreateOTAStaticUpgradeJob", GrayJob("179"), trust).status, -1);
  EXPECT_EQ(dropping.Stop(), 0);
  EXPECT_NE(dropping.Log().find("response=dropped"), std::string::npos) << dropping.Log();
  args.resize(args.size() - 2);
  SandboxProcess clean(args);
  ASSERT_TRUE(clean.started()) << clean.error();
  EXPECT_EQ(JobTotal(clean.url(), "179", trust), 1);
}

TEST(SandboxBinary, BadTlsFilesAreAClearError) {
  TempDir dir;
  std::string junk = dir.Write("junk.pem", "not a certificate\n");
  auto r = Otaroll({"sandbox", "--listen", "127.0.0.1:0", "--data", dir.Join("s.db"), "--access-key", kKey,
                    "--tls-cert", junk, "--tls-key", junk});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("otaroll: error: cannot use the TLS certificate"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(SandboxBinary, RefusesANonLoopbackAddress) {
  for (const char* listen : {"0.0.0.0:0", "192.168.1.10:8080", "example.com:80", "[::]:0"}) {
    TempDir dir;
    auto r = Otaroll({"sandbox", "--listen", listen, "--data", dir.Join("s.db"), "--access-key", kKey});
    EXPECT_EQ(r.exit_code, 1) << listen;
    EXPECT_TRUE(r.err.starts_with("otaroll: error: --listen")) << r.err;
    EXPECT_NE(r.err.find("not a loopback address"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.Join("s.db"))) << "refused before touching anything";
  }
}

TEST(SandboxBinary, UsageErrorsAreOneClearSentence) {
  TempDir dir;
  std::string db = dir.Join("s.db");
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {{"--listen", "127.0.0.1:0", "--data", db},
       "at least one access key is required (--access-key ID:SECRET, --access-keys-file or "
       "$OTAROLL_SANDBOX_ACCESS_KEY)"},
      {{"--listen", "127.0.0.1:0", "--data", db, "--access-key", "nocolonsecret"}, "--access-key takes ID:SECRET"},
      {{"--listen", "127.0.0.1:0", "--data", db, "--access-key", "id:"}, "--access-key takes ID:SECRET"},
      {{"--listen", "127.0.0.1:0", "--data", db, "--access-key", kKey, "--access-key", "testid:other"}, "given twice"},
      {{"--data", db, "--access-key", kKey}, "--listen"},
      {{"--listen", "127.0.0.1", "--access-key", kKey}, "is not HOST:PORT"},
      {{"--listen", "127.0.0.1:99999", "--access-key", kKey}, "the port must be a number from 0 to 65535"},
      {{"--listen", "127.0.0.1:0", "--access-key", kKey, "--fail-rate", "2"}, "--fail-rate"},
      {{"--listen", "127.0.0.1:0", "--access-key", kKey, "--style", "aws"}, "--style"},
      {{"--listen", "127.0.0.1:0", "--access-key", kKey, "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go"},
      {{"--listen", "127.0.0.1:0", "--access-key", kKey, "--task-seconds", "0"}, "--task-seconds"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"sandbox"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = Otaroll(args);
    EXPECT_EQ(r.exit_code, 1) << c.says;
    EXPECT_TRUE(r.err.starts_with("otaroll: error: ")) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find("nocolonsecret"), std::string::npos) << "never echoes a secret: " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(db));
}

TEST(SandboxBinary, PortInUseIsAClearError) {
  TempDir dir;
  SandboxProcess first({"--data", dir.Join("a.db"), "--access-key", kKey});
  ASSERT_TRUE(first.started()) << first.error();
  auto r = Otaroll({"sandbox", "--listen", fmt::format("127.0.0.1:{}", first.port()), "--data", dir.Join("b.db"),
                    "--access-key", kKey});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("otaroll: error: cannot listen on 127.0.0.1:"), std::string::npos) << r.err;
}

TEST(SandboxBinary, ServesAlibabasOfficialNodeSdk) {
  const std::string tool = std::string(OTAROLL_SOURCE_DIR) + "/tools/sdk-check";
  ASSERT_TRUE(std::filesystem::exists(tool + "/node_modules/@alicloud/pop-core") &&
              system("node --version >/dev/null 2>&1") == 0)
      << "node or tools/sdk-check/node_modules missing (scripts/install-deps.sh installs them)";
  TempDir dir;
  SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", kKey, "--style", "alibaba"});
  ASSERT_TRUE(sandbox.started()) << sandbox.error();
  test_util::RunOptions options;
  options.env = {{"SDK_ACCESS_KEY_ID", "testid"}, {"SDK_ACCESS_KEY_SECRET", "testsecret"}};
  options.timeout_seconds = 60;
  auto node = [&](const std::string& action, const std::string& params, const std::string& method) {
    return test_util::Run({"/usr/bin/env", "node", tool + "/call.js", sandbox.url(), action, params, method}, options);
  };
  auto created = node("CreateOTAStaticUpgradeJob",
                      R"({"FirmwareId":"178","ProductKey":"pk1","TargetSelection":"SPECIFIC",)"
                      R"("TargetDeviceName":["dev 1","dev*2"],"SrcVersion":["1.0.1","1.0.10","1.0.2"],)"
                      R"("Tag":[{"Key":"otaroll.intent","Value":"i-1"}],"RegionId":"cn-shanghai"})",
                      "POST");
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  json answer = json::parse(created.out);
  std::string id = answer["Data"]["JobId"];
  auto queried = node("QueryOTAJob", fmt::format(R"({{"JobId":"{}"}})", id), "GET");
  ASSERT_EQ(queried.exit_code, 0) << queried.out << queried.err;
  json job = json::parse(queried.out)["Data"];
  EXPECT_EQ(job["SrcVersions"]["SrcVersion"], json({"1.0.1", "1.0.10", "1.0.2"}));
  EXPECT_EQ(job["Tags"]["OtaTagDTO"][0]["Value"], "i-1");
  auto tasks = node("ListOTATaskByJob", fmt::format(R"({{"JobId":"{}","CurrentPage":1,"PageSize":10}})", id), "GET");
  ASSERT_EQ(tasks.exit_code, 0) << tasks.out << tasks.err;
  EXPECT_EQ(json::parse(tasks.out)["Data"]["SimpleOTATaskInfo"][1]["DeviceName"], "dev*2");
  auto refused = node("QueryOTAJob", R"({"JobId":"1"})", "POST");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("iot.ota.JobNotFound"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace otaroll::sandbox
