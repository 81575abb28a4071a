#include "daemon/server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"

namespace otaroll::daemon {

Server::Server(std::function<Health()> health, std::function<bool()> alive, Metrics& metrics)
    : health_(std::move(health)), alive_(std::move(alive)), metrics_(metrics) {}

Server::~Server() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Server::ReadyJson(const Health& h) {
  nlohmann::ordered_json j;
  j["ready"] = h.ready;
  if (!h.ready) j["reason"] = h.not_ready;
  j["tree_valid"] = h.tree_valid;
  if (!h.tree_errors.empty()) j["tree_errors"] = h.tree_errors;
  j["commit"] = h.commit;
  j["valid_commit"] = h.valid_commit;
  j["manifest_digest"] = h.digest;
  j["cycles"] = h.cycles;
  j["last_cycle"] = h.last_cycle ? core::FormatRfc3339(*h.last_cycle) : "";
  j["last_success"] = h.last_success ? core::FormatRfc3339(*h.last_success) : "";
  j["lease_held"] = h.lease_held;
  j["standby"] = h.standby;
  return j.dump() + "\n";
}

void Server::SetPages(std::function<std::shared_ptr<const PageModel>()> page,
                      std::function<std::vector<state::Event>(const std::string&)> history) {
  page_ = std::move(page);
  history_ = std::move(history);
}

core::Status Server::Start(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return core::Status::Invalid(
        fmt::format("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:9090 (or :9090 for loopback)", address));
  }
  std::string host = address.substr(0, colon);
  if (host.empty()) host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return core::Status::Invalid(fmt::format("--listen {}: the port must be a number from 0 to 65535", address));
  }
  http_ = std::make_unique<httplib::Server>();
  // SO_REUSEADDR only: cpp-httplib's default SO_REUSEPORT would let a second
  // daemon bind the same port silently.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof yes);
  });
  http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const bool alive = alive_();
    res.status = alive ? 200 : 503;
    res.set_content(alive ? "ok\n" : "the reconcile loop has stopped\n", "text/plain; charset=utf-8");
  });
  http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const Health h = health_();
    res.status = h.ready ? 200 : 503;
    res.set_content(ReadyJson(h), "application/json");
  });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.Text(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (page_) {
    // The model as last published (shared, not copied), with the health of now.
    auto model = [this] {
      static const auto kEmpty = std::make_shared<const PageModel>();
      auto shown = page_();
      return shown ? shown : kEmpty;
    };
    http_->Get("/", [this, model](const httplib::Request&, httplib::Response& res) {
      res.set_content(StatusPage(*model(), health_(), core::SystemClock().Now()), "text/html; charset=utf-8");
    });
    http_->Get(R"(/rollouts/([a-z0-9][-a-z0-9.]{0,62}))",
               [this, model](const httplib::Request& req, httplib::Response& res) {
                 const std::string name = req.matches[1];
                 auto page = RolloutPage(*model(), name, history_ ? history_(name) : std::vector<state::Event>{},
                                         core::SystemClock().Now());
                 res.status = page ? 200 : 404;
                 res.set_content(page ? *page : "no rollout " + HtmlEscape(name) + " in the last plan\n",
                                 page ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
               });
  }
  const int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return core::Status::IOError(fmt::format(
        "--listen {}: cannot listen there (in use, or not an address of this host); pick another port", address));
  }
  url_ = fmt::format("http://{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, bound);
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // Until it runs, stop() would be a no-op and the thread would then serve
  // forever: wait for it (bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!http_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return core::Status::Ok();
}

}  // namespace otaroll::daemon
