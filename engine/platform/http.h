// The HTTP transport seam. The client builds and signs requests; a transport
// only moves bytes. CurlTransport is the real one; tests inject fakes.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace otaroll::platform {

struct HttpRequest {
  std::string method;  // "GET" or "POST"
  std::string url;     // full URL including the query string for GET
  std::string body;    // form body for POST
  std::vector<std::pair<std::string, std::string>> headers;
  // false for calls that must never be sent twice (CreateOTAStaticUpgradeJob):
  // the transport then sends it on a fresh connection, because libcurl
  // silently resends a request whose reused connection died before answering.
  bool idempotent = true;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;
};

// A request that got no HTTP response. `sent` tells whether the server may
// have received the request: false for DNS, connect and TLS handshake
// failures (safe to retry anything), true for a timeout, reset or close after
// the request went out (a create's outcome is then unknown).
struct TransportError {
  bool sent = false;
  std::string message;  // one sentence, e.g. "connection refused by 127.0.0.1:8686"
  // Repeating the request cannot help (an untrusted certificate, one for
  // another host name): the client does not retry it.
  bool permanent = false;
};

using HttpResult = std::variant<HttpResponse, TransportError>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResult Send(const HttpRequest& request) = 0;
};

}  // namespace otaroll::platform
