// Runs a configured httplib::Server (or httplib::SSLServer) on 127.0.0.1 at a
// port the kernel picks, in its own thread. The destructor stops the server
// and joins the thread. Declare it after the server and before any client,
// so clients close their connections first and the server stops at once.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace otaroll::test_util {

class ServerThread {
 public:
  // Register the handlers on `server` before; it must outlive this object.
  // `port` 0: one the kernel picks; else that one (a server coming back).
  // An idle kept-alive connection is closed after `keep_alive_seconds`; it
  // holds a worker (and so stop()) for at most that long.
  explicit ServerThread(httplib::Server& server, int port = 0, time_t keep_alive_seconds = 1) : server_(server) {
    server_.set_keep_alive_timeout(keep_alive_seconds);
    // Without it, Nagle's algorithm and delayed ACKs cost ~40 ms per answer.
    server_.set_tcp_nodelay(true);
    // listen_after_bind() calls new_task_queue right after it marks itself
    // running: from then on stop() works, so that is "ready".
    server_.new_task_queue = [this] {
      MarkReady();
      return new httplib::ThreadPool(4);
    };
    port_ = port == 0 ? server_.bind_to_any_port("127.0.0.1") : (server_.bind_to_port("127.0.0.1", port) ? port : -1);
    if (port_ <= 0) throw std::runtime_error("test server: cannot bind to 127.0.0.1 (bad certificate?)");
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      MarkReady();  // in case it returned without running
    });
    WaitReady();
  }
  ~ServerThread() {
    server_.stop();
    thread_.join();
  }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  int port() const { return port_; }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  // "http://127.0.0.1:<port><path>", or https for an SSLServer.
  std::string Url(std::string_view path = "/") const {
    const char* scheme = dynamic_cast<httplib::SSLServer*>(&server_) != nullptr ? "https" : "http";
    return std::string(scheme) + "://" + HostPort() + std::string(path);
  }

 private:
  void MarkReady() {
    std::lock_guard<std::mutex> lock(mu_);
    ready_ = true;
    cv_.notify_all();
  }
  void WaitReady() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return ready_; });
  }

  httplib::Server& server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;
};

}  // namespace otaroll::test_util
