#include "cli/platform_options.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>

#include "core/escape.h"
#include "platform/credentials.h"
#include "platform/curl_transport.h"

namespace otaroll::cli {
namespace {

// The host of an http(s) URL, without port or userinfo.
std::string HostOf(const std::string& url) {
  auto scheme = url.find("://");
  std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

// A loopback address written as an address (127.0.0.0/8, ::1), or the name
// localhost; "127.evil.example" is a host name and not loopback.
bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

void AddPlatformOptions(CLI::App* command, PlatformOptions* o) {
  command->add_option("--platform", o->platform, "tuya (default) or alibaba (adds RegionId, GroupType and tags)")
      ->check(CLI::IsMember({"tuya", "alibaba"}));
  command->add_option("--endpoint", o->endpoint, "platform URL (default: $OTAROLL_ENDPOINT)");
  command->add_option("--api-version", o->api_version, "API version (default 2018-01-20)");
  command->add_option("--region", o->region, "RegionId (alibaba), e.g. cn-shanghai");
  command->add_option("--iot-instance-id", o->iot_instance_id, "IotInstanceId, when the account's instance has one");
  command->add_option("--credentials-file", o->credentials_file,
                      "file with OTAROLL_ACCESS_KEY_ID=… and OTAROLL_ACCESS_KEY_SECRET=… lines, mode 600 "
                      "(default: those environment variables)");
  command->add_option("--ca-bundle", o->ca_bundle, "PEM file of a CA to trust in addition to the system's");
  command->add_option("--http-method", o->http_method, "POST (form body, default) or GET (query string)")
      ->check(CLI::IsMember({"GET", "POST"}));
  command
      ->add_option("--qps", o->qps,
                   "calls per second for every kind of call, exactly (default: 2.5 % below each of --rate-limits)")
      ->check(CLI::PositiveNumber);
  command->add_option("--rate-limits", o->rate_limits,
                      "the account's limits in calls per second, CREATE,QUERY,CANCEL (default 20,10,5, the "
                      "platform's); otaroll paces each 2.5 % below and slows down while the platform throttles");
  command->add_option("--connect-timeout", o->connect_timeout_s, "seconds to establish a connection (default 10)")
      ->check(CLI::PositiveNumber);
  command->add_option("--timeout", o->timeout_s, "seconds for a whole request (default 60)")
      ->check(CLI::PositiveNumber);
}

core::Result<Connection> Connect(const PlatformOptions& o) {
  std::string endpoint = o.endpoint;
  if (endpoint.empty()) {
    if (const char* env = std::getenv("OTAROLL_ENDPOINT"); env != nullptr) endpoint = env;
  }
  if (endpoint.empty()) {
    return core::Status::Invalid(
        "no platform endpoint: pass --endpoint URL or set OTAROLL_ENDPOINT (e.g. "
        "https://iot.cn-shanghai.aliyuncs.com)");
  }
  bool https = endpoint.rfind("https://", 0) == 0;
  bool http = endpoint.rfind("http://", 0) == 0;
  if ((!https && !http) || HostOf(endpoint).empty()) {
    return core::Status::Invalid(fmt::format(
        "--endpoint: \"{}\" is not an http(s) URL; expected e.g. https://iot.cn-shanghai.aliyuncs.com", endpoint));
  }
  if (http && !IsLoopback(HostOf(endpoint))) {
    return core::Status::Invalid(
        fmt::format("--endpoint: plain http is only allowed to a loopback address (the sandbox); use https://{}",
                    endpoint.substr(7)));
  }
  if (o.platform == "alibaba" && o.region.empty()) {
    return core::Status::Invalid("--platform alibaba needs --region (the RegionId, e.g. cn-shanghai)");
  }
  auto credentials =
      o.credentials_file.empty() ? platform::CredentialsFromEnv() : platform::CredentialsFromFile(o.credentials_file);
  if (!credentials.ok()) return credentials.status();

  platform::ClientConfig config;
  config.style = o.platform == "alibaba" ? platform::Style::kAlibaba : platform::Style::kTuya;
  config.endpoint = endpoint;
  config.api_version = o.api_version;
  config.region = o.region;
  config.iot_instance_id = o.iot_instance_id;
  config.method = o.http_method;
  if (!o.rate_limits.empty()) {
    auto limits = platform::ParseRateFigures(o.rate_limits);
    if (!limits) {
      return core::Status::Invalid(
          fmt::format("--rate-limits {}: not three calls-per-second figures CREATE,QUERY,CANCEL (the platform's are "
                      "20,10,5)",
                      core::Shown(o.rate_limits)));
    }
    config.limits = platform::PacedBelow(*limits);
  }
  if (o.qps > 0) config.limits = {o.qps, o.qps, o.qps};

  platform::CurlTransport::Options transport_options;
  transport_options.connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.connect_timeout_s * 1000));
  transport_options.total_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  transport_options.ca_bundle = o.ca_bundle;

  Connection c;
  c.clock = std::make_unique<core::SystemClock>();
  c.transport = std::make_unique<platform::CurlTransport>(transport_options);
  c.client = std::make_unique<platform::Client>(config, std::move(*credentials), *c.transport, *c.clock);
  return c;
}

std::string DescribeFailure(const platform::CallError& e, const std::string& what) {
  using platform::ErrorClass;
  std::string fix;
  switch (e.cls) {
    case ErrorClass::kAuth:
      if (e.code.rfind("InvalidTimeStamp", 0) == 0) {
        fix = "check this machine's clock (the platform allows 15 minutes of difference)";
      } else if (e.code.rfind("InvalidAccessKeyId", 0) == 0) {
        fix = "check the access key id (OTAROLL_ACCESS_KEY_ID or --credentials-file)";
      } else if (e.code == "SignatureDoesNotMatch" || e.code == "IncompleteSignature") {
        fix = "check the access key secret (OTAROLL_ACCESS_KEY_SECRET or --credentials-file)";
      } else {
        fix = "check that the access key is allowed to call the OTA API";
      }
      return fmt::format("the platform refused the credentials while {}: {}; {}", what, e.Describe(), fix);
    case ErrorClass::kThrottled:
      return fmt::format("the platform kept throttling while {} ({} attempts): {}; try again later or lower --qps",
                         what, e.attempts, e.Describe());
    case ErrorClass::kNetwork:
      return fmt::format("{} failed after {} attempt{}: {}; check --endpoint and the network", what, e.attempts,
                         e.attempts == 1 ? "" : "s", e.Describe());
    case ErrorClass::kTransient:
      return fmt::format("the platform failed while {} ({} attempt{}): {}; try again later", what, e.attempts,
                         e.attempts == 1 ? "" : "s", e.Describe());
    case ErrorClass::kRefused:
      return fmt::format("the platform refused the request unread while {}: {}; the request is too large for it", what,
                         e.Describe());
    case ErrorClass::kMalformed:
      return fmt::format("the platform's answer could not be used while {}: {}; check --endpoint and --platform", what,
                         e.Describe());
    case ErrorClass::kRejected:
      return fmt::format("the platform rejected the request while {}: {}", what, e.Describe());
  }
  return e.Describe();
}

}  // namespace otaroll::cli
