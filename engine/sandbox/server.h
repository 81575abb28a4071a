// The thin HTTP layer of `otaroll sandbox`: cpp-httplib (plain or TLS) on a
// loopback address, every GET and POST handed to the Platform, one log line
// per request, and the "drop the connection" fault carried out on the
// accepted socket.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "sandbox/platform.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace otaroll::sandbox {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;          // 0: any free port
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  size_t threads = 32;
  time_t keep_alive_seconds = 2;  // also bounds how long a stop waits for idle connections
};

class Server {
 public:
  // `log` receives one line per request (stderr in the command).
  Server(Platform& platform, core::Clock& clock, std::FILE* log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address; returns the port (the real one for port 0).
  core::Result<int> Bind(const ServerOptions& options);
  // "http://127.0.0.1:PORT" (https with TLS); IPv6 hosts in brackets.
  std::string url() const;

  // Serves until Stop(); in-flight requests are finished before it returns.
  core::Status Run();
  // From any thread, at any time (before, during or after Run).
  void Stop();

 private:
  // `body` is the request's body (read by the route: httplib's own reading
  // refuses form bodies over 8 KiB, far below a 200-device create).
  void Handle(const httplib::Request& req, const std::string& body, httplib::Response& res);
  void Log(const std::string& line);

  Platform& platform_;
  core::Clock& clock_;
  std::FILE* log_;
  std::mutex log_mu_;
  std::unique_ptr<httplib::Server> http_;
  std::string scheme_ = "http";
  std::string host_;
  int port_ = 0;
  std::atomic<bool> entered_{false};
  std::atomic<bool> stop_requested_{false};
  std::mutex state_mu_;
  std::condition_variable state_cv_;
  bool running_ = false;  // httplib's loop is up: its stop() works from now on
  bool done_ = false;
  bool stop_sent_ = false;
};

// Shuts down (both directions) the accepted socket whose peer is
// remote_addr:remote_port and whose local port is local_port, found among
// this process's descriptors (/proc/self/fd). True when one was found.
bool ShutdownConnection(const std::string& remote_addr, int remote_port, int local_port);

}  // namespace otaroll::sandbox
