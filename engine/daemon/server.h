// The daemon's endpoints on --listen (SPEC §7, docs/daemon.md): /healthz (the
// loop is alive), /readyz (a cycle succeeded and the tree is valid; JSON
// detail either way), /metrics (Prometheus text). Loopback unless told
// otherwise; served by cpp-httplib on a thread of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/page.h"

namespace httplib {
class Server;
}

namespace otaroll::daemon {

class Server {
 public:
  // `health` is read on every request; `alive` says whether the loop still turns.
  Server(std::function<Health()> health, std::function<bool()> alive, Metrics& metrics);
  ~Server();  // stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The status page (daemon/page.h) at "/" and "/rollouts/NAME": `page`
  // gives the last model (may be null), `history` a rollout's events. Set
  // before Start; without it those paths are 404.
  void SetPages(std::function<std::shared_ptr<const PageModel>()> page,
                std::function<std::vector<state::Event>(const std::string& rollout)> history);

  // Binds `address` ("HOST:PORT", ":PORT" = 127.0.0.1, port 0 = any free
  // one) and serves in the background. Invalid for a malformed address,
  // IOError when it cannot bind.
  core::Status Start(const std::string& address);
  // "http://HOST:PORT" once started.
  const std::string& url() const { return url_; }

  // The bodies, for tests: /readyz's JSON and whether it is ready.
  static std::string ReadyJson(const Health& h);

 private:
  std::function<Health()> health_;
  std::function<bool()> alive_;
  std::function<std::shared_ptr<const PageModel>()> page_;
  std::function<std::vector<state::Event>(const std::string&)> history_;
  Metrics& metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string url_;
};

}  // namespace otaroll::daemon
