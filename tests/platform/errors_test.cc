#include "platform/errors.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace otaroll::platform {
namespace {

struct CodeCase {
  const char* code;
  long status;
  ErrorClass want;
};

// API.md §5, in the order the rules are checked.
const std::vector<CodeCase> kCodeCases = {
    // Auth and clock: they win over the generic Invalid* and iot.* rules.
    {"SignatureDoesNotMatch", 400, ErrorClass::kAuth},
    {"IncompleteSignature", 400, ErrorClass::kAuth},
    {"InvalidAccessKeyId", 400, ErrorClass::kAuth},
    {"InvalidAccessKeyId.NotFound", 404, ErrorClass::kAuth},
    {"InvalidAccessKeyId.Inactive", 400, ErrorClass::kAuth},
    {"Forbidden", 403, ErrorClass::kAuth},
    {"Forbidden.RAM", 403, ErrorClass::kAuth},
    {"Forbidden.AccessKeyDisabled", 403, ErrorClass::kAuth},
    {"iot.common.RamActionPermissionDeny", 200, ErrorClass::kAuth},
    {"InvalidTimeStamp.Expired", 400, ErrorClass::kAuth},
    {"InvalidTimeStamp.Format", 400, ErrorClass::kAuth},
    {"SignatureNonceUsed", 400, ErrorClass::kAuth},
    {"SignatureNonceUsed", 500, ErrorClass::kAuth},     // a known code is not decided by the status
    {"signaturedoesnotmatch", 400, ErrorClass::kAuth},  // codes match without regard to case
    // Throttled.
    {"Throttling", 400, ErrorClass::kThrottled},
    {"Throttling.User", 400, ErrorClass::kThrottled},
    {"Throttling.Api", 400, ErrorClass::kThrottled},
    {"Throttling.User", 503, ErrorClass::kThrottled},
    {"", 429, ErrorClass::kThrottled},
    {"SomethingNew", 429, ErrorClass::kThrottled},
    // Transient.
    {"InternalError", 500, ErrorClass::kTransient},
    {"InternalError", 200, ErrorClass::kTransient},
    {"ServiceUnavailable", 503, ErrorClass::kTransient},
    {"iot.system.SystemException", 200, ErrorClass::kTransient},
    {"", 500, ErrorClass::kTransient},
    {"", 502, ErrorClass::kTransient},
    {"", 504, ErrorClass::kTransient},
    {"SomethingNew", 503, ErrorClass::kTransient},
    // Rejected.
    {"MissingFirmwareId", 400, ErrorClass::kRejected},
    {"InvalidParameter", 400, ErrorClass::kRejected},
    {"InvalidParameter", 500, ErrorClass::kRejected},
    {"InvalidAccessKeyIdFoo", 400, ErrorClass::kRejected},  // not the InvalidAccessKeyId family
    {"ThrottlingFoo", 400, ErrorClass::kRejected},          // not the Throttling family
    {"iot.ota.FirmwareNotExist", 200, ErrorClass::kRejected},
    {"iot.prod.NotExistedProduct", 200, ErrorClass::kRejected},
    {"iot.device.NotExistedDevice", 200, ErrorClass::kRejected},
    {"iot.common.InvalidPageParams", 200, ErrorClass::kRejected},
    {"SomethingNew", 400, ErrorClass::kRejected},
    {"SomethingNew", 200, ErrorClass::kRejected},
    {"", 400, ErrorClass::kRejected},
    {"", 404, ErrorClass::kRejected},
    {"", 200, ErrorClass::kRejected},  // Success=false without a code
};

TEST(ErrorsTest, ClassifyCodeTable) {
  for (const auto& c : kCodeCases) {
    EXPECT_EQ(ErrorClassName(ClassifyCode(c.code, c.status)), std::string(ErrorClassName(c.want)))
        << "code \"" << c.code << "\" on HTTP " << c.status;
  }
}

TEST(ErrorsTest, ClassNames) {
  EXPECT_STREQ(ErrorClassName(ErrorClass::kThrottled), "throttled");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kTransient), "transient");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kNetwork), "network");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kAuth), "auth");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kRejected), "rejected");
  EXPECT_STREQ(ErrorClassName(ErrorClass::kMalformed), "malformed");
}

struct DecisionCase {
  ErrorClass cls;
  bool sent;
  bool outcome_unknown;
  bool retryable_create;
  bool retryable_read;
};

TEST(ErrorsTest, WhatEachClassAllows) {
  const std::vector<DecisionCase> cases = {
      {ErrorClass::kThrottled, true, false, true, true}, {ErrorClass::kTransient, true, true, false, true},
      {ErrorClass::kNetwork, false, false, true, true},  // never sent: nothing can exist
      {ErrorClass::kNetwork, true, true, false, true},   // sent, no answer: a job may exist
      {ErrorClass::kAuth, true, false, false, false},    {ErrorClass::kRejected, true, false, false, false},
      {ErrorClass::kMalformed, true, true, false, true},
  };
  for (const auto& c : cases) {
    CallError e;
    e.cls = c.cls;
    e.sent = c.sent;
    SCOPED_TRACE(std::string(ErrorClassName(c.cls)) + (c.sent ? ", sent" : ", not sent"));
    EXPECT_EQ(e.OutcomeUnknown(), c.outcome_unknown);
    EXPECT_EQ(e.RetryableCreate(), c.retryable_create);
    EXPECT_EQ(e.RetryableRead(), c.retryable_read);
  }
}

CallError Error(ErrorClass cls, long status, std::string code, std::string message, std::string request_id) {
  CallError e;
  e.cls = cls;
  e.http_status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  e.request_id = std::move(request_id);
  return e;
}

TEST(ErrorsTest, DescribeNamesCodeMessageStatusAndRequest) {
  EXPECT_EQ(Error(ErrorClass::kThrottled, 400, "Throttling.User", "Request was denied due to user flow control.",
                  "5E4C2A1B-7D3F-4E8A-9B6C-1F2E3D4C5B6A")
                .Describe(),
            "Throttling.User: Request was denied due to user flow control (HTTP 400, request "
            "5E4C2A1B-7D3F-4E8A-9B6C-1F2E3D4C5B6A)");
  EXPECT_EQ(
      Error(ErrorClass::kRejected, 200, "iot.ota.FirmwareNotExist", "The firmware does not exist.", "").Describe(),
      "iot.ota.FirmwareNotExist: The firmware does not exist (HTTP 200)");
  EXPECT_EQ(Error(ErrorClass::kAuth, 400, "SignatureNonceUsed", "", "9D8C").Describe(),
            "SignatureNonceUsed (HTTP 400, request 9D8C)");
  // An ellipsis is not a full stop; an ideographic full stop is.
  EXPECT_EQ(Error(ErrorClass::kRejected, 400, "InvalidParameter", "GrayPercent...", "").Describe(),
            "InvalidParameter: GrayPercent... (HTTP 400)");
  EXPECT_EQ(Error(ErrorClass::kRejected, 200, "iot.ota.FirmwareNotExist", "固件不存在。", "r1").Describe(),
            "iot.ota.FirmwareNotExist: 固件不存在 (HTTP 200, request r1)");
}

TEST(ErrorsTest, DescribeCodelessErrorsAddTheStatusOnce) {
  EXPECT_EQ(Error(ErrorClass::kTransient, 503, "", "upstream connect error", "").Describe(),
            "upstream connect error (HTTP 503)");
  EXPECT_EQ(
      Error(ErrorClass::kMalformed, 200, "", "the platform answered HTTP 200 with a success without a job id", "0C2D")
          .Describe(),
      "the platform answered HTTP 200 with a success without a job id (request 0C2D)");
  EXPECT_EQ(Error(ErrorClass::kTransient, 502, "", "the platform answered HTTP 502 with an empty body", "").Describe(),
            "the platform answered HTTP 502 with an empty body");
}

TEST(ErrorsTest, DescribeNetworkErrorsIsTheTransportMessage) {
  CallError e = Error(ErrorClass::kNetwork, 0, "", "connection refused by 127.0.0.1:8686", "");
  e.sent = false;
  EXPECT_EQ(e.Describe(), "connection refused by 127.0.0.1:8686");
}

TEST(ErrorsTest, DescribeIsOneLine) {
  EXPECT_EQ(Error(ErrorClass::kRejected, 400, "InvalidParameter", "bad\nvalue\r\there", "r\n2").Describe(),
            "InvalidParameter: bad value  here (HTTP 400, request r 2)");
  CallError e = Error(ErrorClass::kNetwork, 0, "", "timed out\nafter 30 s", "");
  EXPECT_EQ(e.Describe(), "timed out after 30 s");
}

}  // namespace
}  // namespace otaroll::platform

namespace otaroll::platform {
namespace {

TEST(DescribeTest, DropsTheServerStringToSignOfSignatureDoesNotMatch) {
  CallError e;
  e.cls = ErrorClass::kAuth;
  e.http_status = 400;
  e.code = "SignatureDoesNotMatch";
  e.request_id = "R1";
  e.message =
      "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3Did1";
  EXPECT_EQ(e.Describe(),
            "SignatureDoesNotMatch: Specified signature is not matched with our calculation (HTTP 400, request R1)");
}

}  // namespace
}  // namespace otaroll::platform
