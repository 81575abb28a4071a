#include "platform/curl_transport.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

namespace otaroll::platform {

std::string DefaultUserAgent() {
  return "otaroll/" OTAROLL_VERSION;
}

namespace {

constexpr const char* kFallbackCaPath = "/etc/ssl/certs";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The system CA directory, kept next to a custom CAINFO so that ca_bundle
// adds to the system trust instead of replacing it.
std::string SystemCaPath() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  if (info != nullptr && info->capath != nullptr && info->capath[0] != '\0') return info->capath;
  return kFallbackCaPath;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::optional<std::string> UrlPart(CURLU* url, CURLUPart part, unsigned flags) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

// What a message may say about the URL: scheme and host:port, never the path
// or the query string (which carries AccessKeyId and Signature).
struct Target {
  std::string scheme;
  std::string host_port;
  std::string host;
};

std::variant<Target, TransportError> ParseTarget(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed) return TransportError{false, "cannot parse the URL: out of memory"};
  CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) return TransportError{false, fmt::format("invalid URL: {}", curl_url_strerror(rc))};
  auto scheme = UrlPart(parsed.get(), CURLUPART_SCHEME, 0);
  auto host = UrlPart(parsed.get(), CURLUPART_HOST, 0);
  auto port = UrlPart(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return TransportError{false, "invalid URL: no host"};
  Target target{*scheme, fmt::format("{}:{}", *host, *port), *host};
  if (target.scheme != "http" && target.scheme != "https") {
    return TransportError{false, fmt::format("cannot send to {}: unsupported URL scheme {} (use http or https)",
                                             target.host_port, target.scheme)};
  }
  return target;
}

// Removes the query string (and the URL carrying it) from a libcurl message.
std::string Scrub(std::string message, const std::string& url) {
  auto erase_all = [&message](const std::string& what, const char* with) {
    if (what.empty()) return;
    for (size_t pos = message.find(what); pos != std::string::npos; pos = message.find(what, pos)) {
      message.replace(pos, what.size(), with);
      pos += std::strlen(with);
    }
  };
  erase_all(url, "<url>");
  size_t q = url.find('?');
  if (q != std::string::npos) erase_all(url.substr(q + 1), "...");
  while (!message.empty() && (message.back() == '\n' || message.back() == '.')) message.pop_back();
  return message;
}

std::string Lowercase1(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string ErrnoText(long os_errno) {
  if (os_errno == 0) return "";
  return Lowercase1(std::strerror(static_cast<int>(os_errno)));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{}s", d.count() / 1000);
  return fmt::format("{}ms", d.count());
}

std::string FormatBytes(size_t n) {
  if (n != 0 && n % (size_t{1} << 20) == 0) return fmt::format("{} MiB", n >> 20);
  if (n != 0 && n % (size_t{1} << 10) == 0) return fmt::format("{} KiB", n >> 10);
  return fmt::format("{} bytes", n);
}

bool HasHeader(const HttpRequest& request, std::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(), [name](const auto& h) {
    return h.first.size() == name.size() &&
           std::equal(h.first.begin(), h.first.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
  });
}

bool IsIssuerProblem(long verify_result) {
  switch (verify_result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED: return true;
    default: return false;
  }
}

struct Sink {
  std::string body;
  size_t limit = 0;
  bool too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * nmemb;
  if (n > sink->limit - sink->body.size()) {
    sink->too_large = true;
    return 0;  // fails the transfer with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

// A request body libcurl reads once and can never rewind: what makes a
// create safe on a reused connection (SetOptions).
struct Body {
  std::string_view rest;
};

size_t ReadBody(char* to, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = std::min(size * nmemb, body->rest.size());
  std::memcpy(to, body->rest.data(), n);
  body->rest.remove_prefix(n);
  return n;
}

int CannotRewind(void* /*user*/, curl_off_t /*offset*/, int /*origin*/) {
  return CURL_SEEKFUNC_CANTSEEK;
}

// What happened to a transfer that ended without a response.
struct Failure {
  CURLcode code = CURLE_OK;
  std::string errbuf;  // libcurl's detail, already scrubbed
  long os_errno = 0;
  long verify_result = X509_V_OK;
  long request_bytes = 0;      // CURLINFO_REQUEST_SIZE
  long header_bytes = 0;       // CURLINFO_HEADER_SIZE: response headers received
  curl_off_t pretransfer = 0;  // CURLINFO_PRETRANSFER_TIME_T: >0 once the request started going out
  bool too_large = false;
};

// libcurl's own host name check (it does not use OpenSSL's) says so in words.
bool NamesAnotherHost(const std::string& detail) {
  return detail.find("subject name") != std::string::npos || detail.find("does not match") != std::string::npos ||
         detail.find("target host name") != std::string::npos;
}

// no_proxy as the environment gives it, plus the loopback names: a request to
// the sandbox on this machine never goes through a proxy.
std::string NoProxy() {
  const char* env = std::getenv("no_proxy");
  if (env == nullptr || *env == '\0') env = std::getenv("NO_PROXY");
  std::string list = env != nullptr ? env : "";
  if (list == "*") return list;
  return (list.empty() ? "" : list + ",") + "localhost,127.0.0.0/8,::1";
}

TransportError Classify(const Failure& f, const Target& t, const CurlTransportOptions& o) {
  const std::string& hp = t.host_port;
  const std::string detail = f.errbuf.empty() ? std::string(curl_easy_strerror(f.code)) : f.errbuf;
  // Failures that happen before the request is written: it cannot have
  // reached the server unless bytes were written anyway (a retry by libcurl
  // after a first attempt went out), in which case it may have.
  auto not_sent = [&f](std::string message) { return TransportError{f.request_bytes > 0, std::move(message)}; };
  auto sent = [](std::string message) { return TransportError{true, std::move(message)}; };
  // TLS failures are about certificates and configuration: trying again
  // cannot help, so they are not retried.
  auto tls = [&f](std::string message) { return TransportError{f.request_bytes > 0, std::move(message), true}; };
  switch (f.code) {
    case CURLE_COULDNT_RESOLVE_HOST: return not_sent(fmt::format("cannot connect to {}: host name not found", hp));
    case CURLE_COULDNT_RESOLVE_PROXY:
      return not_sent(fmt::format("cannot connect to {}: proxy host name not found (see the *_proxy variables)", hp));
    case CURLE_COULDNT_CONNECT: {
      std::string why = ErrnoText(f.os_errno);
      return not_sent(fmt::format("cannot connect to {}: {}", hp, why.empty() ? "connection failed" : why));
    }
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return not_sent(fmt::format("cannot send to {}: invalid URL ({})", hp, detail));
    case CURLE_PEER_FAILED_VERIFICATION:
      if (f.verify_result == X509_V_ERR_HOSTNAME_MISMATCH || NamesAnotherHost(detail)) {
        return tls(fmt::format(
            "TLS certificate of {} is for another host name: the name in --endpoint ({}) is not among the names it was "
            "issued for; use the host name of the certificate, or a certificate for this name",
            hp, t.host));
      }
      if (f.verify_result != X509_V_OK && IsIssuerProblem(f.verify_result)) {
        return tls(fmt::format("TLS certificate of {} not trusted: {}; pass --ca-bundle with the CA that signed it", hp,
                               X509_verify_cert_error_string(f.verify_result)));
      }
      if (f.verify_result != X509_V_OK) {
        return tls(
            fmt::format("TLS certificate of {} rejected: {}", hp, X509_verify_cert_error_string(f.verify_result)));
      }
      return tls(fmt::format("TLS certificate of {} rejected: {}", hp, detail));
    case CURLE_SSL_CACERT_BADFILE:
      return tls(fmt::format("cannot check the TLS certificate of {}: cannot read the CA bundle {}", hp,
                             o.ca_bundle.empty() ? "of the system" : o.ca_bundle));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED: return tls(fmt::format("TLS handshake with {} failed: {}", hp, detail));
    case CURLE_OPERATION_TIMEDOUT: {
      if (f.pretransfer <= 0 && f.request_bytes <= 0) {
        return TransportError{false, fmt::format("cannot connect to {}: timed out after {}", hp,
                                                 FormatDuration(std::min(o.connect_timeout, o.total_timeout)))};
      }
      if (f.header_bytes > 0) {
        return sent(fmt::format("answer from {} not complete within {}", hp, FormatDuration(o.total_timeout)));
      }
      return sent(
          fmt::format("no answer from {} within {} after the request was sent", hp, FormatDuration(o.total_timeout)));
    }
    case CURLE_GOT_NOTHING:
    // A reused connection died after a create went out on it: libcurl
    // would have had to send it again (SetOptions).
    case CURLE_SEND_FAIL_REWIND: return sent(fmt::format("{} closed the connection without answering", hp));
    case CURLE_PARTIAL_FILE: return sent(fmt::format("{} closed the connection in the middle of the answer", hp));
    case CURLE_SEND_ERROR: {
      std::string why = ErrnoText(f.os_errno);
      return sent(fmt::format("sending the request to {} failed: {}", hp, why.empty() ? detail : why));
    }
    case CURLE_RECV_ERROR: {
      std::string why = ErrnoText(f.os_errno);
      return sent(fmt::format("receiving the answer from {} failed: {}", hp, why.empty() ? detail : why));
    }
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (f.too_large || f.code == CURLE_FILESIZE_EXCEEDED) {
        return sent(fmt::format("answer from {} is larger than {}", hp, FormatBytes(o.max_response_bytes)));
      }
      return sent(fmt::format("request to {} failed: {}", hp, detail));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING: return sent(fmt::format("{} sent an invalid HTTP answer: {}", hp, detail));
    default:
      // Unsure whether the request went out: say it may have.
      return sent(fmt::format("request to {} failed: {}", hp, detail));
  }
}

}  // namespace

struct CurlTransport::Handle {
  CURL* curl = curl_easy_init();
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

CurlTransport::CurlTransport(Options options) : options_(std::move(options)) {
  GlobalInit();
  ca_path_ = SystemCaPath();
  no_proxy_ = NoProxy();
  idle_.push_back(std::make_unique<Handle>());
}

CurlTransport::~CurlTransport() = default;

std::unique_ptr<CurlTransport::Handle> CurlTransport::Borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return std::make_unique<Handle>();
}

void CurlTransport::GiveBack(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(handle));
}

namespace {

using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// The request's header lines for libcurl; an error for a header that would
// split the request (a line break) or when libcurl cannot allocate.
std::variant<HeaderList, TransportError> BuildHeaders(const HttpRequest& request, const Target& target) {
  HeaderList headers;
  bool ok = true;
  auto add = [&headers, &ok](const std::string& line) {
    if (!ok) return;
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next == nullptr) {
      ok = false;
      return;
    }
    (void)headers.release();
    headers.reset(next);
  };
  if (request.method == "POST") {
    if (!HasHeader(request, "Content-Type")) add("Content-Type: application/x-www-form-urlencoded");
    add("Expect:");  // no 100-continue round trip
  }
  for (const auto& [name, value] : request.headers) {
    if ((name + value).find_first_of("\r\n") != std::string::npos) {
      return TransportError{false,
                            fmt::format("cannot send to {}: header {} contains a line break", target.host_port, name)};
    }
    // "Name;" is libcurl's way to send a header with an empty value.
    add(value.empty() ? name + ";" : name + ": " + value);
  }
  if (!ok) {
    return TransportError{false, fmt::format("cannot send to {}: libcurl could not be initialised", target.host_port)};
  }
  return headers;
}

// Every option of one call on a freshly reset handle; the first option
// libcurl refuses is returned.
CURLcode SetOptions(CURL* curl, const HttpRequest& request, const CurlTransportOptions& options,
                    const std::string& ca_path, const std::string& no_proxy, curl_slist* headers, Sink* sink,
                    Body* body, char* errbuf) {
  CURLcode rc = CURLE_OK;
  auto set = [&rc, curl](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(curl, option, value);
  };
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_USERAGENT, options.user_agent.c_str());
  // TLS verification is always on; nothing turns it off.
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_bundle.empty()) {
    // CAINFO alone would replace the system trust; CAPATH keeps it.
    set(CURLOPT_CAINFO, options.ca_bundle.c_str());
    set(CURLOPT_CAPATH, ca_path.c_str());
  }
  // CURLOPT_PROXY is deliberately never set: libcurl then takes the proxy from
  // http_proxy / https_proxy / all_proxy. NOPROXY is no_proxy plus loopback.
  set(CURLOPT_NOPROXY, no_proxy.c_str());
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes));
  set(CURLOPT_WRITEFUNCTION, &WriteBody);
  set(CURLOPT_WRITEDATA, static_cast<void*>(sink));
  // libcurl 7.88 silently resends a request on a new connection when a
  // REUSED connection dies before any byte of the response arrives
  // (Curl_retry_request). The server may well have received and executed
  // the first copy, so a create whose response was lost would be created
  // twice; CURLOPT_FORBID_RETRY_ON_REUSE only exists from libcurl 8.16.
  // To send it again libcurl must rewind the body it sent (Curl_readrewind):
  // a non-idempotent POST's body is read through a callback that cannot
  // rewind, so the failure reaches us instead (CURLE_SEND_FAIL_REWIND) and
  // the create becomes "unknown", to be resolved by lookup, and the
  // connection can be reused (a fresh one per create cost a quarter of its
  // CPU). A connection idle for a second or more (`once_reuse_idle`) is not
  // reused for one: servers close idle ones after a few seconds, and a
  // create sent into a closing connection is an unknown outcome and a
  // lookup. A non-idempotent GET has no body to refuse, so it gets a fresh
  // connection, which libcurl never retries.
  const bool once = !request.idempotent;
  if (request.method == "POST") {
    set(CURLOPT_POST, 1L);
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (once) {
      body->rest = request.body;
      set(CURLOPT_READFUNCTION, &ReadBody);
      set(CURLOPT_READDATA, static_cast<void*>(body));
      set(CURLOPT_SEEKFUNCTION, &CannotRewind);
      set(CURLOPT_MAXAGE_CONN, static_cast<long>(options.once_reuse_idle.count()));
    } else {
      set(CURLOPT_POSTFIELDS, request.body.c_str());
    }
  } else {
    set(CURLOPT_HTTPGET, 1L);
    if (once) set(CURLOPT_FRESH_CONNECT, 1L);
  }
  if (headers != nullptr) set(CURLOPT_HTTPHEADER, headers);
  return rc;
}

// What libcurl says of a failed transfer, for Classify.
Failure ReadFailure(CURL* curl, CURLcode result, const char* errbuf, const std::string& url, const Sink& sink) {
  Failure failure;
  failure.code = result;
  failure.errbuf = Scrub(errbuf, url);
  failure.too_large = sink.too_large;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &failure.os_errno);
  curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &failure.verify_result);
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &failure.request_bytes);
  curl_easy_getinfo(curl, CURLINFO_HEADER_SIZE, &failure.header_bytes);
  curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &failure.pretransfer);
  return failure;
}

}  // namespace

HttpResult CurlTransport::Send(const HttpRequest& request) {
  auto parsed = ParseTarget(request.url);
  if (auto* error = std::get_if<TransportError>(&parsed)) return *error;
  const Target& target = std::get<Target>(parsed);
  if (request.method != "GET" && request.method != "POST") {
    return TransportError{
        false, fmt::format("cannot send to {}: unsupported HTTP method {}", target.host_port, request.method)};
  }
  auto built = BuildHeaders(request, target);
  if (auto* error = std::get_if<TransportError>(&built)) return *error;
  const HeaderList& headers = std::get<HeaderList>(built);

  std::unique_ptr<Handle> handle = Borrow();
  struct Return {
    CurlTransport* self;
    std::unique_ptr<Handle>& handle;
    ~Return() { self->GiveBack(std::move(handle)); }
  } give_back{this, handle};
  CURL* curl = handle->curl;
  if (curl == nullptr) {
    return TransportError{false, fmt::format("cannot send to {}: libcurl could not be initialised", target.host_port)};
  }
  // Reset clears every option of the previous call but keeps the live
  // connections, the DNS cache and the TLS session cache.
  curl_easy_reset(curl);
  Sink sink;
  sink.limit = options_.max_response_bytes;
  Body body;
  char errbuf[CURL_ERROR_SIZE] = {};
  if (CURLcode rc = SetOptions(curl, request, options_, ca_path_, no_proxy_, headers.get(), &sink, &body, errbuf);
      rc != CURLE_OK) {
    return TransportError{false, fmt::format("cannot send to {}: libcurl rejected an option: {}", target.host_port,
                                             curl_easy_strerror(rc))};
  }

  CURLcode result = curl_easy_perform(curl);
  if (result != CURLE_OK) return Classify(ReadFailure(curl, result, errbuf, request.url, sink), target, options_);
  HttpResponse response;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  char* content_type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type != nullptr) {
    response.content_type = content_type;
  }
  response.body = std::move(sink.body);
  return response;
}

}  // namespace otaroll::platform
