// A webhook receiver for the notification tests, on 127.0.0.1: records every
// POST and answers as the test says (statuses in turn, then 200; optionally
// slowly). A test waits for what it expects with WaitFor, never by sleeping.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "test_util/http_server.h"

namespace otaroll::test_util {

class Receiver {
 public:
  struct Request {
    std::string path;
    std::string body;
    std::string idempotency_key;
    std::string event;  // X-Otaroll-Event
    std::string authorization;
    std::string content_type;
    int answered = 200;
  };

  // `port` 0: any free port; a port: come back where a receiver was.
  explicit Receiver(int port = 0) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      Request r;
      r.path = req.path;
      r.body = req.body;
      r.idempotency_key = req.get_header_value("Idempotency-Key");
      r.event = req.get_header_value("X-Otaroll-Event");
      r.authorization = req.get_header_value("Authorization");
      r.content_type = req.get_header_value("Content-Type");
      if (!statuses_.empty()) {
        r.answered = statuses_.front();
        statuses_.pop_front();
      }
      // A slow receiver: holds the answer (bounded; the destructor ends it).
      cv_.wait_for(lock, delay_, [this] { return closing_; });
      requests_.push_back(r);
      res.status = r.answered;
      res.set_content(r.answered < 300 ? "ok" : "no", "text/plain");
      cv_.notify_all();
    });
    thread_ = std::make_unique<ServerThread>(server_, port);
  }
  ~Receiver() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    thread_.reset();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string Url(const std::string& path = "/hook") const { return thread_->Url(path); }
  int port() const { return thread_->port(); }

  // The next answers, in turn; 200 after them.
  void Answer(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_.assign(statuses.begin(), statuses.end());
  }
  void Delay(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    delay_ = d;
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Those answered 2xx.
  std::vector<Request> delivered() const {
    std::vector<Request> out;
    for (auto& r : requests()) {
      if (r.answered < 300) out.push_back(r);
    }
    return out;
  }
  // Waits (bounded) until `done(requests)` holds; `done` runs under the
  // receiver's lock: it must read its argument, not call back in.
  bool WaitFor(const std::function<bool(const std::vector<Request>&)>& done,
               std::chrono::milliseconds bound = std::chrono::seconds(30)) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, bound, [&] { return done(requests_); });
  }

 private:
  httplib::Server server_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<int> statuses_;
  std::chrono::milliseconds delay_{0};
  bool closing_ = false;
  std::vector<Request> requests_;
  std::unique_ptr<ServerThread> thread_;
};

// A free loopback port with nothing listening: a receiver that is down.
inline int DownPort() {
  Receiver r;
  return r.port();
}

}  // namespace otaroll::test_util
