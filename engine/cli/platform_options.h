// The platform connection options shared by every command that talks to the
// platform (platform, apply, daemon): SPEC §3 "Platform connection".
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "platform/client.h"
#include "platform/http.h"

namespace otaroll::cli {

struct PlatformOptions {
  std::string platform = "tuya";
  std::string endpoint;  // else $OTAROLL_ENDPOINT
  std::string api_version = "2018-01-20";
  std::string region;
  std::string iot_instance_id;
  std::string credentials_file;
  std::string ca_bundle;
  std::string http_method = "POST";
  double qps = 0;           // --qps: every class at this pace; 0: paced below --rate-limits
  std::string rate_limits;  // --rate-limits CREATE,QUERY,CANCEL: the account's limits; "": the platform's
  double connect_timeout_s = 10;
  double timeout_s = 60;
};

void AddPlatformOptions(CLI::App* command, PlatformOptions* options);

// A ready client with its transport and clock.
struct Connection {
  std::unique_ptr<core::Clock> clock;
  std::unique_ptr<platform::HttpTransport> transport;
  std::unique_ptr<platform::Client> client;
};

// Checks the options, reads the credentials and builds the client. Fails with
// one sentence naming the option and the fix.
core::Result<Connection> Connect(const PlatformOptions& options);

// One sentence for a failed call, naming what to do about it; `what` says
// what was being done ("listing the jobs of firmware 167").
std::string DescribeFailure(const platform::CallError& error, const std::string& what);

}  // namespace otaroll::cli
