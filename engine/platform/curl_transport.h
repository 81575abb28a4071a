// CurlTransport: the real HttpTransport, over libcurl.
//
// - Send may be called from several threads at once: each call borrows an
//   idle easy handle (made when none is idle) and gives it back, so calls run
//   concurrently and each handle keeps its connections alive for reuse.
// - TLS verification is always on for https (peer certificate and host name);
//   there is no way to turn it off.
// - `ca_bundle` ADDS the CAs of a PEM file to the system trust, it does not
//   replace it: the file becomes CURLOPT_CAINFO and the system CA directory
//   (libcurl's built-in capath, else /etc/ssl/certs) is kept as
//   CURLOPT_CAPATH, so public endpoints still verify. Without `ca_bundle`
//   libcurl's defaults (the system bundle) apply unchanged.
// - Proxies come from the standard environment variables (http_proxy,
//   https_proxy/HTTPS_PROXY, all_proxy, no_proxy), which libcurl reads itself
//   because CURLOPT_PROXY is never set.
// - HTTP/1.1 only; redirects are not followed; response bodies are capped.
// - A request with `idempotent == false` is never sent twice by libcurl:
//   a POST's body is read through a callback that cannot rewind, so libcurl
//   cannot resend it when a reused connection dies (the call fails instead);
//   it may reuse a connection idle for at most `once_reuse_idle`. A GET one
//   (no body) always goes on a fresh connection (see curl_transport.cc).
// - TransportError messages name host:port, never the path, query string
//   (which carries AccessKeyId and Signature) or body.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "platform/http.h"

namespace otaroll::platform {

// "otaroll/<version>".
std::string DefaultUserAgent();

struct CurlTransportOptions {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};  // TCP connect + TLS handshake (+ proxy)
  std::chrono::milliseconds total_timeout{std::chrono::seconds(60)};    // the whole call
  std::string ca_bundle;  // PEM file of extra trusted CAs; "" = system trust only
  std::string user_agent = DefaultUserAgent();
  size_t max_response_bytes = size_t{32} << 20;  // a larger body is a TransportError
  // A non-idempotent POST reuses only a connection idle for no more than
  // this many whole seconds (libcurl's CURLOPT_MAXAGE_CONN counts idle time
  // in whole seconds: 0 reuses one idle for less than a second). Servers
  // close idle connections after a few seconds (the sandbox after 2), and a
  // create sent into a closing one fails as an unknown outcome.
  std::chrono::seconds once_reuse_idle{0};
};

class CurlTransport final : public HttpTransport {
 public:
  using Options = CurlTransportOptions;

  explicit CurlTransport(Options options = {});
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResult Send(const HttpRequest& request) override;

 private:
  struct Handle;

  std::unique_ptr<Handle> Borrow();
  void GiveBack(std::unique_ptr<Handle> handle);

  Options options_;
  std::string ca_path_;   // the system CA directory, kept when ca_bundle is set
  std::string no_proxy_;  // NoProxy(), read once from the environment
  std::mutex mu_;         // guards idle_
  std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace otaroll::platform
