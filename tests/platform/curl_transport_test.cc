#include "platform/curl_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_util/http_server.h"
#include "test_util/temp_dir.h"
#include "test_util/tls.h"

namespace otaroll::platform {
namespace {

using namespace std::chrono_literals;
using test_util::ServerThread;

// ---------------------------------------------------------------------------
// Helpers

HttpResponse ExpectResponse(const HttpResult& result) {
  if (const auto* error = std::get_if<TransportError>(&result)) {
    ADD_FAILURE() << "expected a response, got TransportError{sent=" << error->sent << "}: " << error->message;
    return {};
  }
  return std::get<HttpResponse>(result);
}

TransportError ExpectError(const HttpResult& result) {
  if (const auto* response = std::get_if<HttpResponse>(&result)) {
    ADD_FAILURE() << "expected a TransportError, got HTTP " << response->status << ": " << response->body;
    return {};
  }
  return std::get<TransportError>(result);
}

HttpRequest Get(std::string url) {
  return HttpRequest{"GET", std::move(url), "", {}, true};
}

HttpRequest Post(std::string url, std::string body, bool idempotent = true) {
  return HttpRequest{"POST", std::move(url), std::move(body), {}, idempotent};
}

// A 127.0.0.1 port with nothing listening: bound, then closed.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// Lets a server handler "hang" until the test releases it, with its own bound.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 20s, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Opens the gate when it goes out of scope; declare it after the server
// thread so held handlers return before the server is stopped.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.Open(); }
};

std::string Answer(const std::string& body) {
  return fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}", body.size(), body);
}

// A bare HTTP/1.1 server on a POSIX socket, for what httplib will not do on
// purpose: close a kept-alive connection without answering, accept a proxy's
// absolute-form request target, or never answer at all. One thread polls the
// listening socket, every connection and a wake-up pipe; it stops when the
// object is destroyed, or by itself after 30 s.
class RawServer {
 public:
  struct Request {
    int connection = 0;  // 1-based, in accept order
    std::string text;    // request line, headers and body as received
  };
  // Called for each complete request, numbered from 1 across connections.
  // Returns the bytes to answer with, or nullopt to close the connection
  // without answering.
  using Handler = std::function<std::optional<std::string>(int index)>;

  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 || getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        pipe2(wake_, O_CLOEXEC) != 0) {
      throw std::runtime_error("raw test server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~RawServer() {
    char byte = 0;
    (void)!write(wake_[1], &byte, 1);
    thread_.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  std::string HostPort() const { return fmt::format("127.0.0.1:{}", port_); }
  std::string Url(const std::string& path = "/") const { return "http://" + HostPort() + path; }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  struct Connection {
    int id = 0;
    std::string buffer;
  };

  // Takes one complete request (head and Content-Length body) off `buffer`.
  static std::optional<std::string> TakeRequest(std::string& buffer) {
    size_t head_end = buffer.find("\r\n\r\n");
    if (head_end == std::string::npos) return std::nullopt;
    std::string head = buffer.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t body_size = 0;
    size_t cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos) body_size = std::stoul(head.substr(cl + 17));
    size_t total = head_end + 4 + body_size;
    if (buffer.size() < total) return std::nullopt;
    std::string request = buffer.substr(0, total);
    buffer.erase(0, total);
    return request;
  }

  static void SendAll(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  void Run() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::map<int, Connection> connections;  // by fd
    int next_id = 1;
    int next_index = 1;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (const auto& [fd, conn] : connections) fds.push_back({fd, POLLIN, 0});
      int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || fds[0].revents != 0) break;
      if ((fds[1].revents & POLLIN) != 0) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) connections[fd] = Connection{next_id++, ""};
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        int fd = fds[i].fd;
        Connection& conn = connections[fd];
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        bool keep = got > 0;
        if (keep) conn.buffer.append(buf, static_cast<size_t>(got));
        while (keep) {
          auto request = TakeRequest(conn.buffer);
          if (!request) break;
          {
            std::lock_guard<std::mutex> lock(mu_);
            requests_.push_back({conn.id, *request});
          }
          auto answer = handler_(next_index++);
          if (answer) {
            SendAll(fd, *answer);
          } else {
            keep = false;
          }
        }
        if (!keep) {
          close(fd);
          connections.erase(fd);
        }
      }
    }
    for (const auto& [fd, conn] : connections) close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

// Every test starts without proxy variables (a developer's proxy must not
// capture 127.0.0.1), and the environment is restored afterwards.
class CurlTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    for (const char* name : kProxyVariables) {
      const char* value = std::getenv(name);
      if (value != nullptr) saved_[name] = value;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kProxyVariables) {
      auto it = saved_.find(name);
      if (it != saved_.end()) {
        setenv(name, it->second.c_str(), 1);
      } else {
        unsetenv(name);
      }
    }
  }

 private:
  static constexpr const char* kProxyVariables[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                                    "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  std::map<std::string, std::string> saved_;
};

// ---------------------------------------------------------------------------
// Requests and responses

TEST_F(CurlTransportTest, GetSendsQueryStringAndUserAgentAndNoBody) {
  struct Seen {
    std::string method, action, job_id, body, user_agent;
    bool has_content_type = true;
  } seen;
  std::mutex mu;
  httplib::Server server;
  server.Get("/rpc", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen = {req.method, req.get_param_value("Action"),      req.get_param_value("JobId"),
            req.body,   req.get_header_value("User-Agent"), req.has_header("Content-Type")};
    res.set_content(R"({"Success":true})", "application/json;charset=utf-8");
  });
  ServerThread thread(server);
  CurlTransport transport;

  HttpResponse response = ExpectResponse(transport.Send(Get(thread.Url("/rpc?Action=QueryOTAJob&JobId=j%201"))));

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"Success":true})");
  EXPECT_EQ(response.content_type, "application/json;charset=utf-8");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.action, "QueryOTAJob");
  EXPECT_EQ(seen.job_id, "j 1");
  EXPECT_EQ(seen.body, "");
  EXPECT_FALSE(seen.has_content_type);
  EXPECT_EQ(seen.user_agent, "otaroll/" OTAROLL_VERSION);
}

TEST_F(CurlTransportTest, PostSendsFormBodyHeadersAndReturnsErrorStatusAsResponse) {
  struct Seen {
    std::string method, content_type, body, name, extra, user_agent, expect;
  } seen;
  std::mutex mu;
  httplib::Server server;
  server.Post("/", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen = {req.method,
            req.get_header_value("Content-Type"),
            req.body,
            req.get_param_value("Name"),
            req.get_header_value("X-Otaroll-Test"),
            req.get_header_value("User-Agent"),
            req.get_header_value("Expect")};
    res.status = 400;
    res.set_content(R"({"Code":"Throttling","Message":"slow down"})", "application/json");
  });
  ServerThread thread(server);
  CurlTransport::Options options;
  options.user_agent = "otaroll/test-agent";
  CurlTransport transport(options);
  HttpRequest request = Post(thread.Url("/"), "Action=CreateOTAStaticUpgradeJob&Name=a%20b");
  request.headers = {{"X-Otaroll-Test", "yes"}};

  HttpResponse response = ExpectResponse(transport.Send(request));

  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"Code":"Throttling","Message":"slow down"})");
  EXPECT_EQ(response.content_type, "application/json");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(seen.body, "Action=CreateOTAStaticUpgradeJob&Name=a%20b");
  EXPECT_EQ(seen.name, "a b");
  EXPECT_EQ(seen.extra, "yes");
  EXPECT_EQ(seen.user_agent, "otaroll/test-agent");
  EXPECT_EQ(seen.expect, "");
}

TEST_F(CurlTransportTest, DefaultUserAgentNamesOtarollAndItsVersion) {
  EXPECT_EQ(DefaultUserAgent(), "otaroll/" OTAROLL_VERSION);
  EXPECT_EQ(CurlTransport::Options{}.user_agent, "otaroll/" OTAROLL_VERSION);
  EXPECT_EQ(CurlTransport::Options{}.connect_timeout, 10s);
  EXPECT_EQ(CurlTransport::Options{}.total_timeout, 60s);
  EXPECT_EQ(CurlTransport::Options{}.ca_bundle, "");
}

TEST_F(CurlTransportTest, RedirectIsReturnedNotFollowed) {
  std::atomic<int> target_hits{0};
  httplib::Server server;
  server.Get("/from", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/to", 302); });
  server.Get("/to", [&](const httplib::Request&, httplib::Response& res) {
    ++target_hits;
    res.set_content("moved here", "text/plain");
  });
  ServerThread thread(server);
  CurlTransport transport;

  HttpResponse response = ExpectResponse(transport.Send(Get(thread.Url("/from"))));

  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(target_hits.load(), 0);
}

TEST_F(CurlTransportTest, ResponseBodyIsCapped) {
  httplib::Server server;
  server.Get("/sized", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::string(std::stoul(req.get_param_value("n")), 'x'), "text/plain");
  });
  server.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 4096) {
        sink.done();
        return true;
      }
      std::string chunk(512, 'y');
      return sink.write(chunk.data(), chunk.size());
    });
  });
  ServerThread thread(server);
  CurlTransport::Options options;
  options.max_response_bytes = 1024;
  CurlTransport transport(options);

  EXPECT_EQ(ExpectResponse(transport.Send(Get(thread.Url("/sized?n=1024")))).body.size(), 1024u);
  TransportError known_length = ExpectError(transport.Send(Get(thread.Url("/sized?n=1025"))));
  EXPECT_TRUE(known_length.sent);
  EXPECT_EQ(known_length.message, fmt::format("answer from {} is larger than 1 KiB", thread.HostPort()));
  TransportError chunked = ExpectError(transport.Send(Get(thread.Url("/chunked"))));
  EXPECT_TRUE(chunked.sent);
  EXPECT_EQ(chunked.message, fmt::format("answer from {} is larger than 1 KiB", thread.HostPort()));
}

TEST_F(CurlTransportTest, RequestsThatCannotBeSentAreRefusedUpFront) {
  CurlTransport transport;

  TransportError scheme = ExpectError(transport.Send(Get("ftp://127.0.0.1/?Signature=secret")));
  EXPECT_FALSE(scheme.sent);
  EXPECT_EQ(scheme.message, "cannot send to 127.0.0.1:21: unsupported URL scheme ftp (use http or https)");

  TransportError url = ExpectError(transport.Send(Get("no scheme here?Signature=secret")));
  EXPECT_FALSE(url.sent);
  EXPECT_EQ(url.message, "invalid URL: Bad scheme");

  HttpRequest put = Get("http://127.0.0.1/?Signature=secret");
  put.method = "PUT";
  TransportError method = ExpectError(transport.Send(put));
  EXPECT_FALSE(method.sent);
  EXPECT_EQ(method.message, "cannot send to 127.0.0.1:80: unsupported HTTP method PUT");

  HttpRequest header = Get("http://127.0.0.1/");
  header.headers = {{"X-Bad", "a\r\nInjected: 1"}};
  TransportError injected = ExpectError(transport.Send(header));
  EXPECT_FALSE(injected.sent);
  EXPECT_EQ(injected.message, "cannot send to 127.0.0.1:80: header X-Bad contains a line break");
}

// ---------------------------------------------------------------------------
// Connections

// A server on loopback that answers GET and POST "/" with "ok" and records
// the client port of each call: one port, one connection. It closes a
// connection idle for `keep_alive_seconds`.
class PortRecorder {
 public:
  explicit PortRecorder(time_t keep_alive_seconds = 1) {
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      ports_.push_back(req.remote_port);
      res.set_content("ok", "text/plain");
    };
    server_.Get("/", record);
    server_.Post("/", record);
    thread_.emplace(server_, 0, keep_alive_seconds);
  }
  std::string Url(const std::string& path) const { return thread_->Url(path); }
  std::vector<int> ports() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ports_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<int> ports_;
  httplib::Server server_;
  std::optional<ServerThread> thread_;
};

TEST_F(CurlTransportTest, CallsReuseOneConnectionCreatesToo) {
  PortRecorder server;
  CurlTransport transport;

  ExpectResponse(transport.Send(Get(server.Url("/?n=1"))));
  ExpectResponse(transport.Send(Post(server.Url("/"), "n=2")));
  ExpectResponse(transport.Send(Get(server.Url("/?n=3"))));
  ExpectResponse(transport.Send(Post(server.Url("/"), "n=4", /*idempotent=*/false)));

  const std::vector<int> ports = server.ports();
  ASSERT_EQ(ports.size(), 4u);
  EXPECT_EQ(ports[1], ports[0]);
  EXPECT_EQ(ports[2], ports[0]);
  EXPECT_EQ(ports[3], ports[0]) << "a create reuses it too: its body can never be sent twice";
}

// A create reuses only a connection that has been idle for no longer than
// `once_reuse_idle`: a server may be closing one idle for longer.
TEST_F(CurlTransportTest, ACreateDoesNotReuseAConnectionIdleLongerThanItsBound) {
  PortRecorder server(/*keep_alive_seconds=*/5);  // the server would keep it
  CurlTransport::Options options;
  options.once_reuse_idle = std::chrono::seconds(0);
  CurlTransport transport(options);

  ExpectResponse(transport.Send(Get(server.Url("/?n=1"))));
  ExpectResponse(transport.Send(Post(server.Url("/"), "n=2", /*idempotent=*/false)));  // idle < 1 s: reused
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));                        // the idle time under test
  ExpectResponse(transport.Send(Post(server.Url("/"), "n=3", /*idempotent=*/false)));

  const std::vector<int> ports = server.ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[1], ports[0]);
  EXPECT_NE(ports[2], ports[0]) << "idle for over a second: not reused for a create";
}

// The server answers the first request and keeps the connection; it takes the
// second request and closes the connection without answering; it answers
// everything after that.
std::optional<std::string> AnswerFirstDropSecond(int index) {
  if (index == 2) return std::nullopt;
  return Answer(fmt::format("answer {}", index));
}

TEST_F(CurlTransportTest, NonIdempotentRequestWhoseAnswerIsLostIsNotResent) {
  RawServer server(AnswerFirstDropSecond);
  CurlTransport transport;

  EXPECT_EQ(ExpectResponse(transport.Send(Get(server.Url("/?Action=QueryOTAJob")))).body, "answer 1");
  TransportError error =
      ExpectError(transport.Send(Post(server.Url("/"), "Action=CreateOTAStaticUpgradeJob", /*idempotent=*/false)));

  EXPECT_TRUE(error.sent);
  EXPECT_EQ(error.message, fmt::format("{} closed the connection without answering", server.HostPort()));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u) << "the create must reach the server exactly once";
  EXPECT_EQ(requests[1].connection, requests[0].connection) << "sent on the reused connection";
  EXPECT_NE(requests[1].text.find("Action=CreateOTAStaticUpgradeJob"), std::string::npos);
}

// A non-idempotent GET has no body libcurl would have to rewind: it goes on
// a fresh connection, which libcurl never sends again.
TEST_F(CurlTransportTest, NonIdempotentGetGoesOnAFreshConnectionAndIsNotResent) {
  RawServer server(AnswerFirstDropSecond);
  CurlTransport transport;

  EXPECT_EQ(ExpectResponse(transport.Send(Get(server.Url("/?Action=QueryOTAJob")))).body, "answer 1");
  HttpRequest create = Get(server.Url("/?Action=CreateOTAStaticUpgradeJob"));
  create.idempotent = false;
  TransportError error = ExpectError(transport.Send(create));

  EXPECT_TRUE(error.sent);
  EXPECT_EQ(error.message, fmt::format("{} closed the connection without answering", server.HostPort()));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u) << "the create must reach the server exactly once";
  EXPECT_NE(requests[1].connection, requests[0].connection) << "sent on a fresh connection";
}

// Documents the libcurl behaviour the rule above guards against: the same
// loss on a REUSED connection makes libcurl 7.88 send the request again on a
// new connection, without telling the caller.
TEST_F(CurlTransportTest, IdempotentRequestOnDyingReusedConnectionIsResentByLibcurl) {
  RawServer server(AnswerFirstDropSecond);
  CurlTransport transport;

  EXPECT_EQ(ExpectResponse(transport.Send(Get(server.Url("/?Action=QueryOTAJob")))).body, "answer 1");
  HttpResponse response = ExpectResponse(transport.Send(Post(server.Url("/"), "Action=ListOTAJobByFirmware")));

  EXPECT_EQ(response.body, "answer 3");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].connection, requests[0].connection) << "the second request reused the connection";
  EXPECT_NE(requests[2].connection, requests[1].connection) << "libcurl resent it on a new one";
  EXPECT_EQ(requests[2].text, requests[1].text);
}

TEST_F(CurlTransportTest, SendIsSafeFromSeveralThreads) {
  httplib::Server server;
  server.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_param_value("i"), "text/plain");
  });
  ServerThread thread(server);
  CurlTransport transport;
  std::atomic<int> ok{0};

  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string tag = fmt::format("{}-{}", t, i);
        HttpResult result = transport.Send(Get(thread.Url("/?i=" + tag)));
        const auto* response = std::get_if<HttpResponse>(&result);
        if (response != nullptr && response->status == 200 && response->body == tag) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();

  EXPECT_EQ(ok.load(), 40);
}

// Calls from several threads run at once (each borrows a handle of its own):
// the server holds every request until four are in its handler together.
TEST_F(CurlTransportTest, CallsFromSeveralThreadsRunAtOnce) {
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0, most = 0;
  httplib::Server server;
  server.Post("/", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mu);
    most = std::max(most, ++inside);
    cv.notify_all();
    const bool together = cv.wait_for(lock, std::chrono::seconds(10), [&] { return most >= 4; });
    --inside;
    res.set_content(together ? "together" : "alone", "text/plain");
  });
  ServerThread thread(server);
  CurlTransport transport;
  std::atomic<int> together{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpResult result = transport.Send(Post(thread.Url("/"), "x=1", /*idempotent=*/false));
      const auto* response = std::get_if<HttpResponse>(&result);
      if (response != nullptr && response->body == "together") ++together;
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(together.load(), 4);
  EXPECT_EQ(most, 4);
}

// ---------------------------------------------------------------------------
// Failures: sent or not, and what the message says

TEST_F(CurlTransportTest, ConnectionRefusedIsNotSent) {
  int port = UnusedPort();
  CurlTransport transport;

  TransportError get =
      ExpectError(transport.Send(Get(fmt::format("http://127.0.0.1:{}/?AccessKeyId=KEYID&Signature=SIG", port))));
  TransportError create = ExpectError(transport.Send(
      Post(fmt::format("http://127.0.0.1:{}/", port), "AccessKeyId=KEYID&Signature=SIG", /*idempotent=*/false)));

  for (const TransportError& error : {get, create}) {
    EXPECT_FALSE(error.sent);
    EXPECT_EQ(error.message, fmt::format("cannot connect to 127.0.0.1:{}: connection refused", port));
  }
}

TEST_F(CurlTransportTest, TimeoutAfterTheRequestWentOutIsSent) {
  Gate gate;
  std::atomic<int> received{0};
  httplib::Server server;
  server.Post("/", [&](const httplib::Request&, httplib::Response& res) {
    ++received;
    gate.Wait();  // holds the answer until the test is over (at most 20 s)
    res.set_content("too late", "text/plain");
  });
  ServerThread thread(server);
  OpenOnExit release{gate};
  CurlTransport::Options options;
  options.total_timeout = 300ms;
  CurlTransport transport(options);

  TransportError error = ExpectError(
      transport.Send(Post(thread.Url("/?Signature=SIG"), "Action=CreateOTAStaticUpgradeJob", /*idempotent=*/false)));

  EXPECT_TRUE(error.sent);
  EXPECT_EQ(error.message, fmt::format("no answer from {} within 300ms after the request was sent", thread.HostPort()));
  EXPECT_EQ(received.load(), 1);
}

TEST_F(CurlTransportTest, TimeoutBeforeTheConnectionIsEstablishedIsNotSent) {
  // Accepts TCP but never completes a TLS handshake.
  RawServer server([](int) { return std::optional<std::string>(); });
  CurlTransport::Options options;
  options.connect_timeout = 300ms;
  CurlTransport transport(options);

  TransportError error = ExpectError(
      transport.Send(Post("https://" + server.HostPort() + "/", "Action=CreateOTAStaticUpgradeJob", false)));

  EXPECT_FALSE(error.sent);
  EXPECT_EQ(error.message, fmt::format("cannot connect to {}: timed out after 300ms", server.HostPort()));
  EXPECT_TRUE(server.requests().empty());
}

// ---------------------------------------------------------------------------
// TLS

class CurlTransportTlsTest : public CurlTransportTest {
 protected:
  void SetUp() override {
    CurlTransportTest::SetUp();
    pki_ = test_util::MakeTestPki(dir_.path());
    server_ = std::make_unique<httplib::SSLServer>(pki_.server_cert.c_str(), pki_.server_key.c_str());
    server_->Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("secure", "text/plain"); });
    thread_ = std::make_unique<ServerThread>(*server_);
  }
  void TearDown() override {
    thread_.reset();
    server_.reset();
    CurlTransportTest::TearDown();
  }
  std::string Untrusted() const {
    return fmt::format(
        "TLS certificate of {} not trusted: unable to get local issuer certificate; "
        "pass --ca-bundle with the CA that signed it",
        thread_->HostPort());
  }

  test_util::TempDir dir_;
  test_util::TestPki pki_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::unique_ptr<ServerThread> thread_;
};

TEST_F(CurlTransportTlsTest, CaBundleWithTheSigningCaIsTrusted) {
  CurlTransport::Options options;
  options.ca_bundle = pki_.ca_cert;
  CurlTransport transport(options);

  HttpResponse response = ExpectResponse(transport.Send(Get(thread_->Url("/?x=1"))));

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "secure");
}

TEST_F(CurlTransportTlsTest, CaBundleWithAnUnrelatedCaIsRejectedBeforeSending) {
  CurlTransport::Options options;
  options.ca_bundle = pki_.other_ca_cert;
  CurlTransport transport(options);

  TransportError error = ExpectError(transport.Send(Post(thread_->Url("/?Signature=SIG"), "a=b", false)));

  EXPECT_FALSE(error.sent);
  EXPECT_EQ(error.message, Untrusted());
}

TEST_F(CurlTransportTlsTest, SystemTrustAloneRejectsTheTestCa) {
  CurlTransport transport;

  TransportError error = ExpectError(transport.Send(Get(thread_->Url("/?Signature=SIG"))));

  EXPECT_FALSE(error.sent);
  EXPECT_EQ(error.message, Untrusted());
}

TEST_F(CurlTransportTlsTest, UnreadableCaBundleIsReported) {
  std::string missing = dir_.Join("missing.pem");
  CurlTransport::Options options;
  options.ca_bundle = missing;
  CurlTransport transport(options);

  TransportError error = ExpectError(transport.Send(Get(thread_->Url("/"))));

  EXPECT_FALSE(error.sent);
  EXPECT_EQ(error.message, fmt::format("cannot check the TLS certificate of {}: cannot read the CA bundle {}",
                                       thread_->HostPort(), missing));
}

TEST_F(CurlTransportTlsTest, ACertificateForAnotherHostNameSaysSoAndIsPermanent) {
  httplib::SSLServer wrong(pki_.wrong_name_cert.c_str(), pki_.server_key.c_str());
  wrong.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("secure", "text/plain"); });
  ServerThread thread(wrong);
  CurlTransport::Options options;
  options.ca_bundle = pki_.ca_cert;  // trusted, but issued for otherhost.example
  CurlTransport transport(options);

  TransportError error = ExpectError(transport.Send(Get(thread.Url("/"))));

  EXPECT_FALSE(error.sent);
  EXPECT_TRUE(error.permanent);
  EXPECT_EQ(error.message,
            fmt::format("TLS certificate of {} is for another host name: the name in --endpoint (127.0.0.1) is not "
                        "among the names it was issued for; use the host name of the certificate, or a certificate "
                        "for this name",
                        thread.HostPort()));
}

TEST_F(CurlTransportTlsTest, AnUntrustedCertificateIsPermanent) {
  CurlTransport transport;
  TransportError error = ExpectError(transport.Send(Get(thread_->Url("/"))));
  EXPECT_TRUE(error.permanent);
}

// ---------------------------------------------------------------------------
// Proxy

TEST_F(CurlTransportTest, ProxyComesFromTheEnvironment) {
  RawServer proxy([](int) { return std::optional<std::string>(Answer("proxied")); });
  setenv("http_proxy", ("http://" + proxy.HostPort()).c_str(), 1);
  CurlTransport transport;

  HttpResponse response = ExpectResponse(transport.Send(Get("http://otaroll-proxy-test.invalid/?x=1")));

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "proxied");
  auto requests = proxy.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].text.rfind("GET http://otaroll-proxy-test.invalid/?x=1 HTTP/1.1\r\n", 0), 0u)
      << requests[0].text;
  EXPECT_NE(requests[0].text.find("\r\nHost: otaroll-proxy-test.invalid\r\n"), std::string::npos) << requests[0].text;
}

}  // namespace
}  // namespace otaroll::platform
