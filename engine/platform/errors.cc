#include "platform/errors.h"

#include <fmt/format.h>

#include <string_view>

#include "core/text.h"

namespace otaroll::platform {
namespace {

using core::EqualsIgnoreCase;
using core::StartsWithIgnoreCase;

// "Name" or "Name.<anything>".
bool IsFamily(std::string_view code, std::string_view name) {
  if (EqualsIgnoreCase(code, name)) return true;
  return code.size() > name.size() && code[name.size()] == '.' && StartsWithIgnoreCase(code, name);
}

bool IsAuthCode(std::string_view code) {
  return EqualsIgnoreCase(code, "SignatureDoesNotMatch") || EqualsIgnoreCase(code, "IncompleteSignature") ||
         EqualsIgnoreCase(code, "SignatureNonceUsed") || EqualsIgnoreCase(code, "iot.common.RamActionPermissionDeny") ||
         IsFamily(code, "InvalidAccessKeyId") || IsFamily(code, "InvalidTimeStamp") ||
         StartsWithIgnoreCase(code, "Forbidden");
}

bool IsThrottlingCode(std::string_view code) {
  return IsFamily(code, "Throttling");
}

bool IsTransientCode(std::string_view code) {
  return EqualsIgnoreCase(code, "InternalError") || EqualsIgnoreCase(code, "ServiceUnavailable") ||
         EqualsIgnoreCase(code, "iot.system.SystemException");
}

bool IsRejectedCode(std::string_view code) {
  return StartsWithIgnoreCase(code, "Missing") || StartsWithIgnoreCase(code, "Invalid") ||
         StartsWithIgnoreCase(code, "iot.");
}

// Describe() is one line whatever the parts hold.
std::string OneLine(std::string text) {
  for (char& c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return text;
}

// "…flow control." reads badly before " (HTTP 400, …)": one final full stop
// goes.
std::string WithoutFinalStop(std::string text) {
  constexpr std::string_view kIdeographic = "\xE3\x80\x82";  // U+3002, the ideographic full stop
  if (!text.empty() && text.back() == '.' && (text.size() < 2 || text[text.size() - 2] != '.')) {
    text.pop_back();
  } else if (text.size() >= kIdeographic.size() && text.ends_with(kIdeographic)) {
    text.resize(text.size() - kIdeographic.size());
  }
  return text;
}

}  // namespace

const char* ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kThrottled: return "throttled";
    case ErrorClass::kTransient: return "transient";
    case ErrorClass::kNetwork: return "network";
    case ErrorClass::kAuth: return "auth";
    case ErrorClass::kRejected: return "rejected";
    case ErrorClass::kMalformed: return "malformed";
    case ErrorClass::kRefused: return "refused";
  }
  return "unknown";
}

ErrorClass ClassifyCode(const std::string& code, long http_status) {
  // Auth and clock first: InvalidAccessKeyId.* and InvalidTimeStamp.* must
  // not fall into the generic Invalid* rejection.
  if (IsAuthCode(code)) return ErrorClass::kAuth;
  if (IsThrottlingCode(code)) return ErrorClass::kThrottled;
  if (IsTransientCode(code)) return ErrorClass::kTransient;
  if (IsRejectedCode(code)) return ErrorClass::kRejected;
  // An unknown or absent code: the HTTP status decides.
  if (http_status == 429) return ErrorClass::kThrottled;
  if (http_status >= 500) return ErrorClass::kTransient;
  return ErrorClass::kRejected;
}

std::string CallError::Describe() const {
  if (cls == ErrorClass::kNetwork) return OneLine(message);
  std::string where;
  if (http_status > 0) where = fmt::format("HTTP {}", http_status);
  if (!request_id.empty()) where += fmt::format("{}request {}", where.empty() ? "" : ", ", request_id);
  if (code.empty()) {
    // Messages otaroll writes itself already name the status ("the platform
    // answered HTTP 502 with …"); the request id may still be worth adding.
    if (http_status > 0 && message.find(fmt::format("HTTP {}", http_status)) != std::string::npos) {
      where = request_id.empty() ? "" : fmt::format("request {}", request_id);
    }
    if (message.empty()) return OneLine(where.empty() ? std::string("the platform answered without a result") : where);
    return OneLine(where.empty() ? message : fmt::format("{} ({})", WithoutFinalStop(message), where));
  }
  std::string out = code;
  // Alibaba appends its whole string to sign to SignatureDoesNotMatch: a
  // screen of percent-encoding that tells an operator nothing more.
  std::string text = message.substr(0, message.find(" server string to sign is:"));
  if (!text.empty()) out += ": " + (where.empty() ? text : WithoutFinalStop(text));
  if (!where.empty()) out += fmt::format(" ({})", where);
  return OneLine(std::move(out));
}

}  // namespace otaroll::platform
