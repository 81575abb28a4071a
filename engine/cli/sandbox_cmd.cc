// `otaroll sandbox`: a stand-in OTA platform on loopback (SPEC §6,
// docs/sandbox.md). Prints "otaroll sandbox: listening on URL" as the first
// line on stdout, one line per request on stderr, and stops cleanly on
// SIGTERM or SIGINT.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/app.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "sandbox/platform.h"
#include "sandbox/rate.h"
#include "sandbox/server.h"

namespace otaroll::cli {
namespace {

struct SandboxOptions {
  std::string listen;
  std::string data = "otaroll-sandbox.db";
  std::vector<std::string> access_keys;
  std::string access_keys_file;
  std::string style = "tuya";
  double fail_rate = 0;
  double throttle_rate = 0;
  double drop_response_rate = 0;
  int64_t latency_ms = 0;
  uint64_t seed = 1;
  std::string tls_cert;
  std::string tls_key;
  int64_t fleet_size = 1000;
  double failure_percent = 2;
  double task_seconds = 60;
  std::string rate_limits = "on";
  bool ignore_busy_devices = false;
};

// HOST:PORT on a loopback address. Returns "" and fills host/port, or the
// sentence to print.
std::string ParseListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return fmt::format("--listen \"{}\" is not HOST:PORT; use e.g. 127.0.0.1:8080 (port 0 picks a free port)", listen);
  }
  std::string h = listen.substr(0, colon);
  std::string p = listen.substr(colon + 1);
  bool digits = !p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(p) > 65535) {
    return fmt::format("--listen \"{}\": the port must be a number from 0 to 65535 (0 picks a free port)", listen);
  }
  *port = std::stoi(p);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h == "localhost") h.assign("127.0.0.1");
  in_addr v4{};
  in6_addr v6{};
  bool loopback = false;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  }
  if (!loopback) {
    return fmt::format(
        "--listen \"{}\" is not a loopback address; the sandbox accepts test credentials and listens only on "
        "127.0.0.1 (or another 127.x.x.x address, or [::1]), e.g. --listen 127.0.0.1:8080",
        listen);
  }
  *host = h;
  return "";
}

// Keys from --access-key, from --access-keys-file (one ID:SECRET a line, '#'
// comments; readable by its owner only, like a credentials file) and from
// $OTAROLL_SANDBOX_ACCESS_KEY, so that a secret need not be on the command line.
std::string GatherKeys(const SandboxOptions& o, std::vector<std::string>* keys) {
  *keys = o.access_keys;
  if (const char* env = std::getenv("OTAROLL_SANDBOX_ACCESS_KEY"); env != nullptr && *env != '\0') {
    keys->emplace_back(env);
  }
  if (o.access_keys_file.empty()) return "";
  struct stat st {};
  if (::stat(o.access_keys_file.c_str(), &st) != 0) {
    return fmt::format("--access-keys-file: cannot read {}: {}", o.access_keys_file, std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return fmt::format("--access-keys-file: {} can be read by others (mode {:o}); run 'chmod 600 {}'",
                       o.access_keys_file, st.st_mode & 0777, o.access_keys_file);
  }
  std::ifstream in(o.access_keys_file);
  if (!in) return fmt::format("--access-keys-file: cannot read {}: {}", o.access_keys_file, std::strerror(errno));
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    keys->push_back(line);
  }
  return "";
}

std::string ParseKeys(const std::vector<std::string>& keys, std::map<std::string, std::string>* out) {
  if (keys.empty()) {
    return "at least one access key is required (--access-key ID:SECRET, --access-keys-file or "
           "$OTAROLL_SANDBOX_ACCESS_KEY); clients sign their requests with it";
  }
  for (const auto& k : keys) {
    size_t colon = k.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == k.size()) {
      return "--access-key takes ID:SECRET with both parts non-empty, e.g. --access-key testid:testsecret";
    }
    std::string id = k.substr(0, colon);
    if (id.find_first_of(" \t\r\n") != std::string::npos) {
      return "--access-key: the key id must not contain white space";
    }
    if (!out->emplace(id, k.substr(colon + 1)).second) {
      return fmt::format("--access-key: the key id {} is given twice; give each id once", id);
    }
  }
  return "";
}

// The sandbox's options from the command line; a message naming the option
// and the fix when one is wrong.
std::string BuildOptions(const SandboxOptions& o, sandbox::Options* options) {
  std::vector<std::string> keys;
  if (std::string e = GatherKeys(o, &keys); !e.empty()) return e;
  if (std::string e = ParseKeys(keys, &options->access_keys); !e.empty()) return e;
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return "--tls-cert and --tls-key go together; give both to serve HTTPS, or neither for HTTP";
  }
  if (!(o.task_seconds > 0) || o.task_seconds > 86400) {
    return fmt::format("--task-seconds {} is out of range; give a duration above 0 and at most 86400 seconds",
                       o.task_seconds);
  }
  options->style = o.style == "alibaba" ? platform::Style::kAlibaba : platform::Style::kTuya;
  options->faults.fail_rate = o.fail_rate;
  options->faults.throttle_rate = o.throttle_rate;
  options->faults.drop_rate = o.drop_response_rate;
  options->faults.latency_ms = o.latency_ms;
  auto limits = sandbox::ParseRateLimits(o.rate_limits);
  if (!limits.ok()) return limits.status().message();
  options->limits = *limits;
  options->fleet.seed = o.seed;
  options->fleet.fleet_size = o.fleet_size;
  options->fleet.failure_percent = o.failure_percent;
  options->fleet.task_ms = std::max<int64_t>(1, std::llround(o.task_seconds * 1000));
  options->fleet.busy_devices = !o.ignore_busy_devices;
  return "";
}

int RunSandbox(const SandboxOptions& o) {
  std::string host;
  int port = 0;
  if (std::string e = ParseListen(o.listen, &host, &port); !e.empty()) {
    PrintError(e);
    return kExitError;
  }
  sandbox::Options options;
  if (std::string e = BuildOptions(o, &options); !e.empty()) {
    PrintError(e);
    return kExitError;
  }

  // Signals are taken by a dedicated thread (sigwait); every thread started
  // from here on (httplib's pool) inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  core::SystemClock clock;
  auto platform = sandbox::Platform::Open(o.data, options, clock);
  if (!platform.ok()) {
    PrintError(platform.status().message());
    return kExitError;
  }
  auto jobs = (*platform)->JobCount();
  sandbox::Server server(**platform, clock, stderr);
  sandbox::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  server_options.tls_cert = o.tls_cert;
  server_options.tls_key = o.tls_key;
  auto bound = server.Bind(server_options);
  if (!bound.ok()) {
    PrintError(bound.status().message());
    return kExitError;
  }
  std::cout << "otaroll sandbox: listening on " << server.url() << std::endl;
  std::string ids;
  for (const auto& [id, secret] : options.access_keys) ids += (ids.empty() ? "" : ", ") + id;
  int64_t stored = jobs.ok() ? *jobs : 0;
  std::cerr << fmt::format(
                   "otaroll sandbox: data {} ({} job{}), style {}, seed {}, fleet {} devices per product, tasks take "
                   "up to {}s, rate limits {}, access keys: {}\n",
                   o.data, stored, stored == 1 ? "" : "s", o.style, o.seed, o.fleet_size, o.task_seconds,
                   sandbox::Describe(options.limits), ids)
            << std::flush;

  std::atomic<bool> finished{false};
  std::atomic<int> received{0};
  std::thread waiter([&] {
    int sig = 0;
    if (sigwait(&stop_signals, &sig) != 0) return;
    if (finished) return;
    received = sig;
    server.Stop();
  });
  core::Status served = server.Run();
  finished = true;
  if (received == 0) pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter when it still waits
  waiter.join();
  platform.value().reset();  // closes the data file
  if (!served.ok()) {
    PrintError(served.message());
    return kExitError;
  }
  std::cerr << fmt::format("otaroll sandbox: stopped{}\n", received == SIGINT    ? " on SIGINT"
                                                           : received == SIGTERM ? " on SIGTERM"
                                                                                 : "")
            << std::flush;
  return kExitOk;
}

}  // namespace

Runner AddSandboxCommand(CLI::App& app) {
  auto o = std::make_shared<SandboxOptions>();
  auto* cmd = app.add_subcommand("sandbox", "Run a stand-in OTA platform on loopback (demos and tests)");
  cmd->add_option("--listen", o->listen, "loopback HOST:PORT, e.g. 127.0.0.1:8080; port 0 picks a free port")
      ->required();
  cmd->add_option("--data", o->data, "the sandbox's SQLite file (default: otaroll-sandbox.db)");
  cmd->add_option("--access-key", o->access_keys, "ID:SECRET accepted for signatures; repeatable")->take_all();
  cmd->add_option("--access-keys-file", o->access_keys_file,
                  "file of ID:SECRET lines, mode 600 (also: $OTAROLL_SANDBOX_ACCESS_KEY=ID:SECRET)");
  cmd->add_option("--style", o->style, "response style: tuya (default) or alibaba")
      ->check(CLI::IsMember({"tuya", "alibaba"}));
  cmd->add_option("--fail-rate", o->fail_rate, "share of calls answered HTTP 503 ServiceUnavailable, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--throttle-rate", o->throttle_rate, "share of calls answered Throttling.User, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--drop-response-rate", o->drop_response_rate,
                  "share of calls performed and then answered by closing the connection, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--rate-limits", o->rate_limits,
                  "the platform's per-account limits: on (20/s create, 10/s query and list, 5/s cancel; default), "
                  "off, or CREATE,QUERY,CANCEL per second");
  cmd->add_option("--latency-ms", o->latency_ms, "wait this long before handling each call")
      ->check(CLI::Range(int64_t{0}, int64_t{600000}));
  cmd->add_option("--seed", o->seed, "seed of faults, ids and the fleet simulation (default 1)");
  cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--fleet-size", o->fleet_size, "simulated devices per product key (default 1000)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  cmd->add_option("--failure-percent", o->failure_percent, "share of device tasks that end FAILED (default 2)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--task-seconds", o->task_seconds,
                  "how long a device task takes from QUEUED to its end, at most (default 60)");
  cmd->add_flag("--ignore-busy-devices", o->ignore_busy_devices,
                "do not fail the tasks of devices still upgrading in an earlier job");
  return [o] { return RunSandbox(*o); };
}

}  // namespace otaroll::cli
