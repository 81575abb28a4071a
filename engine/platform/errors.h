// Classified call failures (API.md §5). What the caller does depends on the
// class, never on the message text.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace otaroll::platform {

enum class ErrorClass {
  kThrottled,  // Throttling*: nothing was done; back off and retry
  kTransient,  // HTTP 5xx, InternalError, ServiceUnavailable, iot.system.SystemException
  kNetwork,    // no HTTP response; see CallError::sent
  kAuth,       // signature, key, permission, clock or nonce: stop the run
  kRejected,   // a definite business rejection (Missing*, Invalid*, iot.*)
  kMalformed,  // an HTTP response whose body is not a usable answer
  kRefused,    // HTTP 413/414: the server refused the request unread (nothing was done; not retried)
};

const char* ErrorClassName(ErrorClass c);  // "throttled", "transient", …

struct CallError {
  ErrorClass cls = ErrorClass::kTransient;
  // Whether the request may have reached the platform. Always true for an
  // HTTP response; for kNetwork it is the transport's verdict.
  bool sent = true;
  long http_status = 0;    // 0 when there was no response
  std::string code;        // platform code, e.g. "Throttling.User"; "" when none
  std::string message;     // platform message or transport description
  std::string request_id;  // "" when none
  int attempts = 1;        // requests made, including retries
  // The transport's verdict that repeating the request cannot help (a TLS
  // certificate that is not trusted or names another host): never retried.
  bool permanent = false;

  // For a call that changes something (create): true when it may have taken
  // effect although no success was seen, so the outcome is unknown and must
  // be resolved by lookup (SPEC §4 step 6).
  bool OutcomeUnknown() const {
    switch (cls) {
      case ErrorClass::kTransient:
      case ErrorClass::kMalformed: return true;
      case ErrorClass::kNetwork: return sent;
      default: return false;
    }
  }
  // Whether a read call may simply be repeated.
  bool RetryableRead() const {
    if (permanent) return false;
    return cls == ErrorClass::kThrottled || cls == ErrorClass::kTransient || cls == ErrorClass::kNetwork ||
           cls == ErrorClass::kMalformed;
  }
  // Whether a create may be repeated without risk: nothing was created.
  bool RetryableCreate() const {
    return !permanent && (cls == ErrorClass::kThrottled || (cls == ErrorClass::kNetwork && !sent));
  }
  // "Throttling.User: Request was denied due to user flow control (HTTP 400, request 5E4…)"
  std::string Describe() const;
};

// Classifies a platform error code (API.md §5). HTTP status decides only when
// the code is unknown.
ErrorClass ClassifyCode(const std::string& code, long http_status);

// A call's value or its classified failure.
template <typename T>
class CallResult {
 public:
  CallResult(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  CallResult(CallError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const CallError& error() const { return std::get<CallError>(v_); }
  const T* operator->() const { return &value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, CallError> v_;
};

struct Empty {};

}  // namespace otaroll::platform
