// Running `otaroll sandbox` in a test, and talking to it.
//
//   test_util::TempDir dir;
//   test_util::SandboxProcess sandbox({"--data", dir.Join("sandbox.db"), "--access-key", "testid:testsecret"});
//   ASSERT_TRUE(sandbox.started()) << sandbox.error();
//   auto reply = test_util::SandboxCall(sandbox.url(), "QueryOTAJob", {{"JobId", id}});
//   EXPECT_EQ(sandbox.Stop(), 0);
//
// Unless ARGS say --rate-limits, the platform's rate limits are off.
// The process listens on 127.0.0.1:0; its port comes from the first stdout
// line, read with a bound. Its stderr (the request log) goes to a file that
// Log() reads. Destruction stops it (SIGTERM, bounded wait, then SIGKILL). It
// is a test_util::Child: it never outlives the test binary nor its time bound.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/time.h"
#include "platform/signature.h"
#include "test_util/child.h"
#include "test_util/temp_dir.h"

namespace otaroll::test_util {

inline constexpr const char* kSandboxKeyId = "testid";
inline constexpr const char* kSandboxSecret = "testsecret";

class SandboxProcess {
 public:
  struct Options {
    std::string binary = OTAROLL_BIN;
    unsigned start_timeout_seconds = 30;  // for the listening line
    unsigned life_seconds = 600;          // SIGALRM kills the sandbox after this
  };

  // Starts `otaroll sandbox --listen 127.0.0.1:0 ARGS…`; started() tells whether it listens.
  explicit SandboxProcess(std::vector<std::string> args) : SandboxProcess(std::move(args), Options()) {}
  SandboxProcess(std::vector<std::string> args, const Options& options) {
    std::vector<std::string> argv = {options.binary, "sandbox", "--listen", "127.0.0.1:0"};
    // The platform's rate limits only where a test asks for them
    // (--rate-limits on): the others create as fast as they can.
    if (std::find(args.begin(), args.end(), "--rate-limits") == args.end()) {
      argv.insert(argv.end(), {"--rate-limits", "off"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions run;
    run.stdout_pipe = true;
    run.timeout_seconds = options.life_seconds;
    child_ = std::make_unique<Child>(std::move(argv), run);
    if (!child_->ok()) {
      error_ = child_->spawn_error();
      return;
    }
    ReadListeningLine(options.start_timeout_seconds);
  }

  ~SandboxProcess() { Stop(); }
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  bool started() const { return port_ > 0; }
  // Why it did not start: the exit code or timeout, and its log.
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (https with --tls-cert/--tls-key).
  const std::string& url() const { return url_; }
  pid_t pid() const { return child_->pid(); }
  // Everything the sandbox wrote to stderr so far: a startup line, one line per request.
  std::string Log() const { return child_->Err(); }

  // SIGTERM, then waits up to `timeout_seconds` (SIGKILL after that). Returns
  // the exit code; -1 when it died of a signal. Idempotent.
  int Stop(unsigned timeout_seconds = 20) { return child_->Finish(SIGTERM, timeout_seconds); }
  // SIGKILL: a crash.
  int Kill() { return child_->Finish(SIGKILL, 20); }

 private:
  void ReadListeningLine(unsigned timeout_seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    std::string line;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error_ = fmt::format("no listening line within {}s; log:\n{}", timeout_seconds, Log());
        return;
      }
      pollfd p{child_->stdout_fd(), POLLIN, 0};
      int n = poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) continue;
      char buf[256];
      ssize_t got = read(child_->stdout_fd(), buf, sizeof buf);
      if (got <= 0) {
        int code = child_->Finish(SIGKILL, 5);
        error_ = fmt::format("the sandbox exited ({}) before listening; log:\n{}", code, Log());
        return;
      }
      line.append(buf, static_cast<size_t>(got));
    }
    line = line.substr(0, line.find('\n'));
    const std::string prefix = "otaroll sandbox: listening on ";
    size_t colon = line.rfind(':');
    if (!line.starts_with(prefix) || colon == std::string::npos) {
      error_ = "unexpected first line: " + line;
      return;
    }
    url_ = line.substr(prefix.size());
    port_ = std::atoi(line.c_str() + colon + 1);
  }

  std::unique_ptr<Child> child_;
  int port_ = 0;
  std::string url_;
  std::string error_;
};

// The common parameters of API.md §1 for `action` plus `params`, signed as
// API.md §2 says for `method`. Timestamp is now; the nonce is random.
inline platform::Params SandboxSign(const std::string& method, const std::string& action, platform::Params params,
                                    const std::string& key_id = kSandboxKeyId,
                                    const std::string& secret = kSandboxSecret) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  params["Action"] = action;
  params["AccessKeyId"] = key_id;
  params["Format"] = "JSON";
  params["Version"] = "2018-01-20";
  params["SignatureMethod"] = "HMAC-SHA1";
  params["SignatureVersion"] = "1.0";
  params["SignatureNonce"] = fmt::format("{:016x}{:016x}", rng(), rng());
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  params["Timestamp"] = core::FormatRfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(now));
  params.erase("Signature");
  params["Signature"] = platform::SignRequest(method, params, secret);
  return params;
}

// "a=1&b=%20x": every name and value percent-encoded.
inline std::string SandboxEncode(const platform::Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += platform::PercentEncode(k) + "=" + platform::PercentEncode(v);
  }
  return out;
}

struct SandboxReply {
  int status = -1;  // -1: no HTTP answer (see error)
  std::string body;
  nlohmann::json json;  // null when the body is not JSON
  httplib::Error error = httplib::Error::Success;
};

struct SandboxCallOptions {
  std::string method = "POST";
  std::string key_id = kSandboxKeyId;
  std::string secret = kSandboxSecret;
  std::string ca_file{};  // for https: trust this certificate
  int timeout_seconds = 30;
};

// One signed call to a sandbox at `url` ("http://127.0.0.1:PORT").
inline SandboxReply SandboxCall(const std::string& url, const std::string& action, platform::Params params,
                                const SandboxCallOptions& options = {}) {
  platform::Params signed_params =
      SandboxSign(options.method, action, std::move(params), options.key_id, options.secret);
  httplib::Client client(url);
  client.set_connection_timeout(options.timeout_seconds, 0);
  client.set_read_timeout(options.timeout_seconds, 0);
  client.set_write_timeout(options.timeout_seconds, 0);
  if (!options.ca_file.empty()) client.set_ca_cert_path(options.ca_file.c_str());
  httplib::Result result = options.method == "GET"
                               ? client.Get("/?" + SandboxEncode(signed_params))
                               : client.Post("/", SandboxEncode(signed_params), "application/x-www-form-urlencoded");
  SandboxReply reply;
  if (!result) {
    reply.error = result.error();
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  reply.json = nlohmann::json::parse(reply.body, nullptr, false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

}  // namespace otaroll::test_util
