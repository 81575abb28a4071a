#include "sandbox/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace otaroll::sandbox {
namespace {

// Log values come from the client: printable ASCII without spaces, bounded.
std::string Clean(const std::string& text) {
  if (text.empty()) return "-";
  std::string out;
  for (char c : text.substr(0, 64)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u > 0x20 && u < 0x7f ? c : '?');
  }
  if (text.size() > 64) out += "...";
  return out;
}

// The numeric address and port of a socket name; false for other families.
bool AddressOf(const sockaddr_storage& ss, std::string* addr, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) return false;
    *port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) == nullptr) return false;
    *port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  addr->assign(buf);
  return true;
}

bool IsConnection(int fd, const std::string& remote_addr, int remote_port, int local_port) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
  std::string addr;
  int port = -1;
  if (!AddressOf(peer, &addr, &port) || port != remote_port || addr != remote_addr) return false;
  if (local_port > 0) {
    sockaddr_storage self{};
    len = sizeof self;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) != 0) return false;
    std::string self_addr;
    int self_port = -1;
    if (!AddressOf(self, &self_addr, &self_port) || self_port != local_port) return false;
  }
  return true;
}

}  // namespace

bool ShutdownConnection(const std::string& remote_addr, int remote_port, int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir != nullptr) {
    int own = dirfd(dir);
    bool found = false;
    while (dirent* entry = readdir(dir)) {
      char* end = nullptr;
      long fd = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0' || fd == own) continue;
      if (IsConnection(static_cast<int>(fd), remote_addr, remote_port, local_port)) {
        found = ::shutdown(static_cast<int>(fd), SHUT_RDWR) == 0;
        break;
      }
    }
    closedir(dir);
    return found;
  }
  for (int fd = 0; fd < 65536; ++fd) {
    if (IsConnection(fd, remote_addr, remote_port, local_port)) return ::shutdown(fd, SHUT_RDWR) == 0;
  }
  return false;
}

Server::Server(Platform& platform, core::Clock& clock, std::FILE* log)
    : platform_(platform), clock_(clock), log_(log) {}

Server::~Server() {
  Stop();
}

core::Result<int> Server::Bind(const ServerOptions& options) {
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!tls->is_valid()) {
      return core::Status::Invalid(fmt::format(
          "cannot use the TLS certificate {} with the key {}; check that both are readable PEM files and belong "
          "together",
          options.tls_cert, options.tls_key));
    }
    http_ = std::move(tls);
    scheme_.assign("https");
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  size_t threads = options.threads;
  // listen_after_bind() asks for its task queue right after it marks itself
  // running, so this is the moment from which stop() works.
  http_->new_task_queue = [this, threads] {
    {
      std::lock_guard lock(state_mu_);
      running_ = true;
    }
    state_cv_.notify_all();
    return new httplib::ThreadPool(threads);
  };
  http_->set_keep_alive_timeout(options.keep_alive_seconds);
  // Like a production gateway (nginx's long-standing keepalive_requests),
  // not httplib's 5: a connection serves many calls.
  http_->set_keep_alive_max_count(100);
  http_->set_tcp_nodelay(true);
  // httplib's default adds SO_REUSEPORT, which would let a second sandbox
  // share the port silently; a taken port must be an error.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // The largest valid request (200 device names of 64 characters, each
  // percent-encoded up to three times its length) is about 45 KiB: 1 MiB
  // leaves room; more is refused with 413 before it is read.
  constexpr size_t kMaxBody = 1024 * 1024;
  http_->set_payload_max_length(kMaxBody);
  http_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) { Handle(req, req.body, res); });
  http_->Post(".*", [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    std::string body;
    bool too_large = false;
    const bool read_whole = read([&](const char* data, size_t n) {
      if (body.size() + n > kMaxBody) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (!read_whole) {
      // Over the limit (httplib refuses a Content-Length over it before
      // reading, setting 413 itself), or a connection that broke mid-body.
      res.status = too_large || res.status == 413 ? 413 : 400;
      return;
    }
    Handle(req, body, res);
  });
  host_ = options.host;
  if (options.port == 0) {
    port_ = http_->bind_to_any_port(options.host);
  } else {
    port_ = http_->bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (port_ <= 0) {
    return core::Status::Unavailable(
        fmt::format("cannot listen on {}:{}; is the port already in use?", options.host, options.port));
  }
  return port_;
}

std::string Server::url() const {
  std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return fmt::format("{}://{}:{}", scheme_, host, port_);
}

core::Status Server::Run() {
  if (!http_) return core::Status::Invalid("the sandbox server was not bound before running");
  entered_ = true;
  bool ok = stop_requested_ || http_->listen_after_bind();
  {
    std::lock_guard lock(state_mu_);
    done_ = true;
  }
  state_cv_.notify_all();
  if (!ok && !stop_requested_) {
    return core::Status::Unavailable(fmt::format("the sandbox stopped serving {} unexpectedly", url()));
  }
  return core::Status::Ok();
}

void Server::Stop() {
  stop_requested_ = true;
  if (!entered_ || !http_) return;
  // Run may not have started httplib's loop yet; stop() only acts on a running server.
  std::unique_lock lock(state_mu_);
  state_cv_.wait(lock, [this] { return running_ || done_; });
  if (!done_ && !stop_sent_) {
    stop_sent_ = true;
    http_->stop();
  }
}

void Server::Log(const std::string& line) {
  std::lock_guard lock(log_mu_);
  if (log_ == nullptr) return;
  std::fputs(line.c_str(), log_);
  std::fflush(log_);
}

void Server::Handle(const httplib::Request& req, const std::string& body, httplib::Response& res) {
  Request request;
  bool decoded = DecodeRequest(req.method, req.target, req.get_header_value("Content-Type"), body, &request);
  request.remote = fmt::format("{}:{}", req.remote_addr, req.remote_port);
  Response response = decoded ? platform_.Handle(request) : platform_.Malformed(request);
  bool dropped = false;
  if (response.drop) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (req.ssl != nullptr) {
      int fd = SSL_get_fd(req.ssl);
      dropped = fd >= 0 && ::shutdown(fd, SHUT_RDWR) == 0;
    }
#endif
    if (!dropped) dropped = ShutdownConnection(req.remote_addr, req.remote_port, req.local_port);
  }
  res.status = response.status;
  res.set_content(response.body, "application/json;charset=utf-8");
  Log(fmt::format("{} client={} method={} action={} key={} status={} outcome={} request={}{}\n",
                  UtcMillis(clock_.Now()), Clean(request.remote), Clean(req.method), Clean(response.action),
                  Clean(response.access_key_id), response.status, Clean(response.outcome), response.request_id,
                  response.drop ? (dropped ? " response=dropped" : " response=drop-failed") : ""));
}

}  // namespace otaroll::sandbox
