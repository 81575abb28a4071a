#include "platform/wire.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace otaroll::platform {
namespace {

std::string Body(const std::string& name) {
  std::ifstream in(std::string(OTAROLL_TEST_DIR) + "/platform/bodies/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing recorded body " << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

HttpResponse Recorded(long status, const std::string& name) {
  return {status, Body(name), "application/json"};
}
HttpResponse Inline(long status, std::string body) {
  return {status, std::move(body), "application/json"};
}

template <typename T>
CallError ErrorOf(const CallResult<T>& result) {
  EXPECT_FALSE(result.ok()) << "expected an error";
  if (result.ok()) return CallError{};
  return result.error();
}

template <typename T>
const T& ValueOf(const CallResult<T>& result) {
  static const T kEmpty{};
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().Describe());
  return result.ok() ? result.value() : kEmpty;
}

// ---------------------------------------------------------------------------
// CreateOTAStaticUpgradeJob

TEST(WireCreateTest, AlibabaSuccess) {
  CreatedJob job = ValueOf(ParseCreateJob(Recorded(200, "create_alibaba.json")));
  EXPECT_EQ(job.job_id, "wahVIzGkCMuAUE2gDERM02****");
  EXPECT_EQ(job.utc_create, "2024-11-20T08:50:00.239Z");
  EXPECT_EQ(job.request_id, "5E4C8E5C-9B2F-4B5D-A1C3-3F8B2D6E7A10");
}

TEST(WireCreateTest, TuyaDocumentedExampleCarriesTheIdInFirmwareId) {
  CreatedJob job = ValueOf(ParseCreateJob(Recorded(200, "create_tuya.json")));
  EXPECT_EQ(job.job_id, "183634077921266****");
  EXPECT_EQ(job.utc_create, "2024-11-20T08:50:00.239Z");
  EXPECT_EQ(job.request_id, "d2fce065-5d0b-4f0e-9a4d-7b0c1e2f3a4b");
}

TEST(WireCreateTest, NumericIdsKeepEveryDigit) {
  EXPECT_EQ(ValueOf(ParseCreateJob(Recorded(200, "create_tuya_numeric_id.json"))).job_id, "1836340779212660001");
  // Above int64 but within uint64.
  EXPECT_EQ(ValueOf(ParseCreateJob(Inline(200, R"({"Success":true,"Data":{"JobId":18446744073709551615}})"))).job_id,
            "18446744073709551615");
  // A negative number is no job id: a protocol error (the create's outcome stays unknown).
  auto negative = ParseCreateJob(Inline(200, R"({"Success":true,"Data":{"JobId":-5}})"));
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().cls, ErrorClass::kMalformed);
  EXPECT_TRUE(negative.error().OutcomeUnknown());
}

TEST(WireCreateTest, JobIdWinsOverFirmwareIdAndKeysMatchInAnyCase) {
  EXPECT_EQ(ValueOf(ParseCreateJob(Inline(200, R"({"success":true,"data":{"firmwareId":"f1","JOBID":"j1"}})"))).job_id,
            "j1");
  // A null JobId is no JobId.
  EXPECT_EQ(ValueOf(ParseCreateJob(Inline(200, R"({"success":true,"data":{"jobId":null,"firmwareId":"f1"}})"))).job_id,
            "f1");
  CreatedJob job = ValueOf(ParseCreateJob(
      Inline(200, R"({"REQUESTID":"r-9","SUCCESS":true,"DATA":{"JobID":"j2","UTCCREATE":"2024-01-01T00:00:00Z"}})")));
  EXPECT_EQ(job.job_id, "j2");
  EXPECT_EQ(job.utc_create, "2024-01-01T00:00:00Z");
  EXPECT_EQ(job.request_id, "r-9");
}

TEST(WireCreateTest, SuccessMayBeAbsentOrText) {
  EXPECT_EQ(ValueOf(ParseCreateJob(Inline(200, R"({"Data":{"JobId":"j1"}})"))).job_id, "j1");
  EXPECT_EQ(ValueOf(ParseCreateJob(Inline(200, R"({"Code":"","Data":{"JobId":"j1"}})"))).job_id, "j1");
  EXPECT_EQ(ValueOf(ParseCreateJob(Inline(201, R"({"Success":"TRUE","Data":{"JobId":"j1"}})"))).job_id, "j1");
}

TEST(WireCreateTest, SuccessWithoutJobIdIsMalformed) {
  CallError e = ErrorOf(ParseCreateJob(Recorded(200, "create_without_job_id.json")));
  EXPECT_EQ(e.cls, ErrorClass::kMalformed);
  EXPECT_TRUE(e.OutcomeUnknown());  // it may have created a job: look it up
  EXPECT_EQ(e.http_status, 200);
  EXPECT_EQ(e.code, "");
  EXPECT_EQ(e.request_id, "0C2D4E6F-1A3B-4C5D-8E9F-A0B1C2D3E4F5");
  EXPECT_EQ(e.Describe(),
            "the platform answered HTTP 200 with a success without a job id (request "
            "0C2D4E6F-1A3B-4C5D-8E9F-A0B1C2D3E4F5)");

  for (const char* body : {R"({"Success":true})", R"({"Success":true,"Data":null})", R"({"Success":true,"Data":[]})",
                           R"({"Success":true,"Data":"j1"})", R"({"Success":true,"Data":{"jobId":null}})", "{}"}) {
    CallError e2 = ErrorOf(ParseCreateJob(Inline(200, body)));
    EXPECT_EQ(e2.cls, ErrorClass::kMalformed) << body;
    EXPECT_EQ(e2.message, "the platform answered HTTP 200 with a success without a job id") << body;
  }
}

TEST(WireCreateTest, JobIdsOfTheWrongTypeAreMalformed) {
  struct Case {
    const char* body;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"({"Success":true,"Data":{"JobId":1.8363407792126602e18}})",
       "the platform answered HTTP 200 with a JobId that is a fractional number, not a string"},
      // Too many digits for any integer: parsed as a float, so not exact.
      {R"({"success":true,"data":{"firmwareId":183634077921266000012345}})",
       "the platform answered HTTP 200 with a firmwareId that is a fractional number, not a string"},
      {R"({"Success":true,"Data":{"JobId":{"id":"j1"}}})",
       "the platform answered HTTP 200 with a JobId that is an object, not a string"},
      {R"({"Success":true,"Data":{"JobId":["j1"]}})",
       "the platform answered HTTP 200 with a JobId that is a list, not a string"},
      {R"({"Success":true,"Data":{"JobId":true}})",
       "the platform answered HTTP 200 with a JobId that is a boolean, not a string"},
      {R"({"Success":true,"Data":{"JobId":""}})", "the platform answered HTTP 200 with an empty JobId"},
      {R"({"success":true,"data":{"firmwareId":""}})", "the platform answered HTTP 200 with an empty firmwareId"},
  };
  for (const auto& c : cases) {
    CallError e = ErrorOf(ParseCreateJob(Inline(200, c.body)));
    EXPECT_EQ(e.cls, ErrorClass::kMalformed) << c.body;
    EXPECT_EQ(e.message, c.message) << c.body;
  }
}

TEST(WireCreateTest, OddSuccessFieldsAndStatusesAreMalformed) {
  CallError e = ErrorOf(ParseCreateJob(Inline(200, R"({"Success":1,"Data":{"JobId":"j1"}})")));
  EXPECT_EQ(e.cls, ErrorClass::kMalformed);
  EXPECT_EQ(e.message, "the platform answered HTTP 200 with a Success field that is neither true nor false");

  e = ErrorOf(ParseCreateJob(Inline(302, R"({"Success":true,"Data":{"JobId":"j1"}})")));
  EXPECT_EQ(e.cls, ErrorClass::kMalformed);
  EXPECT_EQ(e.Describe(), "the platform answered HTTP 302, which is not a success status");
}

// ---------------------------------------------------------------------------
// Bodies that are not a JSON object

struct BadBodyCase {
  const char* file;
  long status;
  ErrorClass cls;
  const char* message;
};

const std::vector<BadBodyCase> kBadBodies = {
    {"truncated.json", 200, ErrorClass::kMalformed,
     "the platform answered HTTP 200 with JSON that ends early (after 99 bytes)"},
    {"html_502.html", 502, ErrorClass::kTransient,
     "the platform answered HTTP 502 with a body that is not JSON (it starts with \"<html> <head><title>502 Bad "
     "Gateway</tit…\")"},
    {"html_200.html", 200, ErrorClass::kMalformed,
     "the platform answered HTTP 200 with a body that is not JSON (it starts with \"<!DOCTYPE html> <html "
     "lang=\"en\"><head><m…\")"},
    {"html_502.html", 404, ErrorClass::kMalformed,
     "the platform answered HTTP 404 with a body that is not JSON (it starts with \"<html> <head><title>502 Bad "
     "Gateway</tit…\")"},
    {"html_502.html", 429, ErrorClass::kThrottled,
     "the platform answered HTTP 429 with a body that is not JSON (it starts with \"<html> <head><title>502 Bad "
     "Gateway</tit…\")"},
    {"empty.txt", 200, ErrorClass::kMalformed, "the platform answered HTTP 200 with an empty body"},
    {"empty.txt", 504, ErrorClass::kTransient, "the platform answered HTTP 504 with an empty body"},
    {"top_level_array.json", 200, ErrorClass::kMalformed,
     "the platform answered HTTP 200 with a JSON array instead of an object"},
};

TEST(WireBadBodyTest, EveryParserClassifiesBodiesThatAreNotAnObject) {
  for (const auto& c : kBadBodies) {
    SCOPED_TRACE(std::string(c.file) + " on HTTP " + std::to_string(c.status));
    HttpResponse r = Recorded(c.status, c.file);
    std::vector<CallError> errors = {ErrorOf(ParseCreateJob(r)), ErrorOf(ParseQueryJob(r)), ErrorOf(ParseJobPage(r)),
                                     ErrorOf(ParseTaskPage(r)), ErrorOf(ParseAck(r))};
    for (const auto& e : errors) {
      EXPECT_EQ(ErrorClassName(e.cls), std::string(ErrorClassName(c.cls)));
      EXPECT_EQ(e.code, "");
      EXPECT_EQ(e.http_status, c.status);
      EXPECT_TRUE(e.sent);
      EXPECT_EQ(e.message, c.message);
      EXPECT_EQ(e.Describe(), c.message);  // the message already names the status
    }
  }
}

TEST(WireBadBodyTest, OtherJsonValuesAtTheTop) {
  EXPECT_EQ(ErrorOf(ParseAck(Inline(200, "\"ok\""))).message,
            "the platform answered HTTP 200 with a JSON string instead of an object");
  EXPECT_EQ(ErrorOf(ParseAck(Inline(200, "null"))).message,
            "the platform answered HTTP 200 with a JSON null instead of an object");
  EXPECT_EQ(ErrorOf(ParseAck(Inline(200, " 42 "))).message,
            "the platform answered HTTP 200 with a JSON number instead of an object");
  EXPECT_EQ(ErrorOf(ParseAck(Inline(200, "  \r\n\t "))).message, "the platform answered HTTP 200 with an empty body");
  EXPECT_EQ(ErrorOf(ParseAck(Inline(200, R"({"Success":true} trailing)"))).message,
            "the platform answered HTTP 200 with a body that is not JSON (it starts with \"{\"Success\":true} "
            "trailing\")");
}

TEST(WireBadBodyTest, QuotesAtMostFortyCharactersOnOneLine) {
  std::string huge = "Error:\n\n\x01\x02 " + std::string(10'000'000, 'x');
  CallError e = ErrorOf(ParseCreateJob(Inline(500, huge)));
  EXPECT_EQ(e.cls, ErrorClass::kTransient);
  EXPECT_EQ(e.message,
            "the platform answered HTTP 500 with a body that is not JSON (it starts with \"Error: "
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\")");
  // Invalid UTF-8 and C1 controls do not reach the terminal; valid UTF-8 is
  // cut on a character boundary.
  e = ErrorOf(ParseCreateJob(Inline(
      200, "\xff\xfe<p>\xc2\x85服务不可用服务不可用服务不可用服务不可用服务不可用服务不可用服务不可用服务不可用")));
  EXPECT_EQ(e.message,
            "the platform answered HTTP 200 with a body that is not JSON (it starts with \"?\?<p> "
            "服务不可用服务不可用服务不可用服务不可用服务不可用服务不可用服务不可…\")");
}

TEST(WireBadBodyTest, NoCrashOnHostileJson) {
  // Deep nesting, valid and truncated.
  std::string deep = R"({"Success":true,"Data":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_EQ(ErrorOf(ParseJobPage(Inline(200, deep))).cls, ErrorClass::kMalformed);
  EXPECT_EQ(ErrorOf(ParseCreateJob(Inline(200, deep))).cls, ErrorClass::kMalformed);
  EXPECT_EQ(ErrorOf(ParseQueryJob(Inline(200, deep))).cls, ErrorClass::kMalformed);
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += R"({"Data":)";
  EXPECT_EQ(
      ErrorOf(ParseCreateJob(Inline(200, deep_objects))).message,
      fmt::format("the platform answered HTTP 200 with JSON that ends early (after {} bytes)", deep_objects.size()));
  // Numbers beyond any double, and beyond any integer.
  CallError e = ErrorOf(ParseCreateJob(Inline(200, R"({"Success":true,"Data":{"JobId":1e400}})")));
  EXPECT_EQ(e.cls, ErrorClass::kMalformed);
  EXPECT_EQ(e.message, "the platform answered HTTP 200 with JSON holding a number out of range");
  e = ErrorOf(ParseJobPage(Inline(200, R"({"Success":true,"Total":1e300,"Data":[]})")));
  EXPECT_EQ(e.message, "the platform answered HTTP 200 with a Total that is not a whole number");
  e = ErrorOf(ParseJobPage(Inline(200, R"({"Success":true,"Total":99999999999999999999999,"Data":[]})")));
  EXPECT_EQ(e.message, "the platform answered HTTP 200 with a Total that is not a whole number");
  e = ErrorOf(ParseJobPage(Inline(200, R"({"Success":true,"Total":"999999999999999999999","Data":[]})")));
  EXPECT_EQ(e.message, "the platform answered HTTP 200 with a Total that is not a whole number");
  JobInfo job = ValueOf(ParseQueryJob(Inline(200, R"({"Success":true,"Data":{"JobId":"j","GrayPercent":1e300}})")));
  EXPECT_EQ(job.gray_percent, "1e+300");
  // Invalid UTF-8 inside strings is a parse error, not a crash.
  EXPECT_EQ(ErrorOf(ParseAck(Inline(200, "{\"Message\":\"\xff\"}"))).cls, ErrorClass::kMalformed);
}

TEST(WireBadBodyTest, EveryCutOrDamagedRecordingIsAnErrorNeverACrash) {
  const std::vector<std::string> files = {"create_alibaba.json",  "create_tuya.json",       "job_page_alibaba.json",
                                          "job_page_tuya.json",   "query_job_alibaba.json", "task_page_tuya.json",
                                          "throttling_user.json", "html_502.html"};
  for (const auto& file : files) {
    std::string body = Body(file);
    while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
    for (size_t n = 0; n < body.size(); ++n) {
      HttpResponse r = Inline(200, body.substr(0, n));
      // A cut answer is never a success.
      EXPECT_FALSE(ParseCreateJob(r).ok()) << file << " cut at " << n;
      EXPECT_FALSE(ParseQueryJob(r).ok()) << file << " cut at " << n;
      EXPECT_FALSE(ParseJobPage(r).ok()) << file << " cut at " << n;
      EXPECT_FALSE(ParseTaskPage(r).ok()) << file << " cut at " << n;
      EXPECT_FALSE(ParseAck(r).ok()) << file << " cut at " << n;
    }
    // Damaged bytes (in the compact recordings): whatever comes out, nothing
    // throws.
    if (body.find('\n') != std::string::npos) continue;
    for (size_t i = 0; i < body.size(); ++i) {
      for (char c : {'"', '{', ']', '\xff'}) {
        std::string damaged = body;
        damaged[i] = c;
        HttpResponse r = Inline(200, damaged);
        EXPECT_NO_THROW({
          (void)ParseCreateJob(r);
          (void)ParseQueryJob(r);
          (void)ParseJobPage(r);
          (void)ParseTaskPage(r);
          (void)ParseAck(r);
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Error envelopes

struct ErrorCase {
  const char* file;
  long status;
  ErrorClass cls;
  const char* code;
  const char* describe;
};

const std::vector<ErrorCase> kErrorBodies = {
    {"firmware_not_exist.json", 200, ErrorClass::kRejected, "iot.ota.FirmwareNotExist",
     "iot.ota.FirmwareNotExist: The firmware does not exist (HTTP 200, request 57b144cf-09fc-4916-a272-a62902d5b207)"},
    {"signature_does_not_match.json", 400, ErrorClass::kAuth, "SignatureDoesNotMatch",
     "SignatureDoesNotMatch: Specified signature is not matched with our calculation (HTTP 400, request "
     "B1D9E6E1-3E40-4A6B-9C4A-0D8D2B7E1F22)"},
    {"access_key_not_found.json", 404, ErrorClass::kAuth, "InvalidAccessKeyId.NotFound",
     "InvalidAccessKeyId.NotFound: Specified access key is not found (HTTP 404, request "
     "6A1F0E9C-2B7D-4C3E-9F10-8D2E4B6A7C91)"},
    {"timestamp_expired.json", 400, ErrorClass::kAuth, "InvalidTimeStamp.Expired",
     "InvalidTimeStamp.Expired: Specified time stamp or date value is expired (HTTP 400, request "
     "3F2E1D0C-9B8A-4765-8432-10FEDCBA9876)"},
    {"signature_nonce_used.json", 400, ErrorClass::kAuth, "SignatureNonceUsed",
     "SignatureNonceUsed: Specified signature nonce was used already (HTTP 400, request "
     "9D8C7B6A-5E4F-4321-8765-0A1B2C3D4E5F)"},
    {"throttling_user.json", 400, ErrorClass::kThrottled, "Throttling.User",
     "Throttling.User: Request was denied due to user flow control (HTTP 400, request "
     "5E4C2A1B-7D3F-4E8A-9B6C-1F2E3D4C5B6A)"},
    {"service_unavailable.json", 503, ErrorClass::kTransient, "ServiceUnavailable",
     "ServiceUnavailable: The request has failed due to a temporary failure of the server (HTTP 503, request "
     "C0FFEE00-1234-4567-89AB-CDEF01234567)"},
    {"invalid_parameter.json", 400, ErrorClass::kRejected, "InvalidParameter",
     "InvalidParameter: The specified parameter GrayPercent is not valid (HTTP 400, request "
     "A1B2C3D4-E5F6-4789-ABCD-EF0123456789)"},
};

TEST(WireErrorTest, RecordedErrorsAreClassifiedByEveryParser) {
  for (const auto& c : kErrorBodies) {
    SCOPED_TRACE(c.file);
    HttpResponse r = Recorded(c.status, c.file);
    std::vector<CallError> errors = {ErrorOf(ParseCreateJob(r)), ErrorOf(ParseQueryJob(r)), ErrorOf(ParseJobPage(r)),
                                     ErrorOf(ParseTaskPage(r)), ErrorOf(ParseAck(r))};
    for (const auto& e : errors) {
      EXPECT_EQ(ErrorClassName(e.cls), std::string(ErrorClassName(c.cls)));
      EXPECT_EQ(e.code, c.code);
      EXPECT_EQ(e.http_status, c.status);
      EXPECT_EQ(e.Describe(), c.describe);
    }
  }
}

TEST(WireErrorTest, KeepsThePlatformMessageAndRequestId) {
  CallError e = ErrorOf(ParseCreateJob(Recorded(200, "firmware_not_exist.json")));
  EXPECT_EQ(e.message, "The firmware does not exist.");
  EXPECT_EQ(e.request_id, "57b144cf-09fc-4916-a272-a62902d5b207");
  EXPECT_FALSE(e.OutcomeUnknown());
  e = ErrorOf(ParseCreateJob(Recorded(400, "throttling_user.json")));
  EXPECT_TRUE(e.RetryableCreate());
  e = ErrorOf(ParseCreateJob(Recorded(503, "service_unavailable.json")));
  EXPECT_TRUE(e.OutcomeUnknown());
  EXPECT_FALSE(e.RetryableCreate());
}

TEST(WireErrorTest, MessageKeysInEveryCase) {
  struct Case {
    const char* body;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"({"Success":false,"Code":"iot.x","Message":"m1"})", "m1"},
      {R"({"Success":false,"Code":"iot.x","ErrorMessage":"m2"})", "m2"},
      {R"({"success":false,"code":"iot.x","errorMessage":"m3"})", "m3"},
      {R"({"success":false,"code":"iot.x","msg":"m4"})", "m4"},
      {R"({"success":false,"code":"iot.x","MSG":"m5"})", "m5"},
      {R"({"success":false,"code":"iot.x","message":"","errorMessage":"m6"})", "m6"},
      {R"({"success":false,"code":"iot.x","message":null,"msg":"m7"})", "m7"},
      {R"({"success":false,"code":"iot.x","message":"line one\nline two"})", "line one line two"},
  };
  for (const auto& c : cases) {
    CallError e = ErrorOf(ParseAck(Inline(200, c.body)));
    EXPECT_EQ(e.cls, ErrorClass::kRejected) << c.body;
    EXPECT_EQ(e.code, "iot.x") << c.body;
    EXPECT_EQ(e.message, c.message) << c.body;
  }
}

TEST(WireErrorTest, StatusAndSuccessDecideTogether) {
  // Success=false on HTTP 200, lower-case Tuya form.
  CallError e =
      ErrorOf(ParseAck(Inline(200, R"({"success":false,"code":"Throttling.User","msg":"too fast","requestId":"r1"})")));
  EXPECT_EQ(e.cls, ErrorClass::kThrottled);
  EXPECT_EQ(e.Describe(), "Throttling.User: too fast (HTTP 200, request r1)");
  // No Success but a code on HTTP 200 is an error.
  e = ErrorOf(ParseAck(Inline(200, R"({"Code":"iot.ota.JobNotExist","Message":"no such job"})")));
  EXPECT_EQ(e.cls, ErrorClass::kRejected);
  EXPECT_EQ(e.Describe(), "iot.ota.JobNotExist: no such job (HTTP 200)");
  // An HTTP error status wins over Success=true.
  e = ErrorOf(ParseAck(Inline(400, R"({"Success":true,"Code":"MissingJobId","Message":"JobId is mandatory."})")));
  EXPECT_EQ(e.cls, ErrorClass::kRejected);
  EXPECT_EQ(e.Describe(), "MissingJobId: JobId is mandatory (HTTP 400)");
  // A numeric code is kept as text.
  e = ErrorOf(ParseAck(Inline(200, R"({"success":false,"code":1010,"msg":"token invalid"})")));
  EXPECT_EQ(e.code, "1010");
  EXPECT_EQ(e.cls, ErrorClass::kRejected);
  // Codeless errors.
  e = ErrorOf(ParseAck(Inline(200, R"({"Success":false,"RequestId":"r2"})")));
  EXPECT_EQ(e.cls, ErrorClass::kRejected);
  EXPECT_EQ(e.Describe(), "the platform answered HTTP 200 with Success=false and no error code (request r2)");
  e = ErrorOf(ParseAck(Inline(500, "{}")));
  EXPECT_EQ(e.cls, ErrorClass::kTransient);
  EXPECT_EQ(e.Describe(), "the platform answered HTTP 500 without an error code");
  e = ErrorOf(ParseAck(Inline(429, R"({"message":"slow down"})")));
  EXPECT_EQ(e.cls, ErrorClass::kThrottled);
  EXPECT_EQ(e.Describe(), "slow down (HTTP 429)");
  e = ErrorOf(ParseAck(Inline(
      403, R"({"Code":"Forbidden.RAM","Message":"User not authorized to operate on the specified resource."})")));
  EXPECT_EQ(e.cls, ErrorClass::kAuth);
  // Success=false with a code from the auth family on HTTP 200.
  e = ErrorOf(ParseAck(
      Inline(200, R"({"Success":false,"Code":"iot.common.RamActionPermissionDeny","ErrorMessage":"denied"})")));
  EXPECT_EQ(e.cls, ErrorClass::kAuth);
}

TEST(WireErrorTest, LongMessagesAreCut) {
  std::string body = R"({"Success":false,"Code":"iot.x","Message":")" + std::string(5000, 'm') + "\"}";
  CallError e = ErrorOf(ParseAck(Inline(200, body)));
  EXPECT_EQ(e.message, std::string(300, 'm') + "…");
}

// ---------------------------------------------------------------------------
// ListOTAJobByFirmware

TEST(WireJobPageTest, AlibabaWrappedList) {
  Page<JobInfo> page = ValueOf(ParseJobPage(Recorded(200, "job_page_alibaba.json")));
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(page.page_size, 200);
  EXPECT_EQ(page.page_count, 1);
  EXPECT_EQ(page.current_page, 1);
  EXPECT_EQ(page.request_id, "7BAC1F3E-5D2A-4B6C-9E8F-0A1B2C3D4E5F");
  ASSERT_EQ(page.items.size(), 2u);
  const JobInfo& a = page.items[0];
  EXPECT_EQ(a.job_id, "wahVIzGkCMuAUE2gDERM02****");
  EXPECT_EQ(a.utc_create, "2024-11-20T08:50:00.239Z");
  EXPECT_EQ(a.utc_modified, "2024-11-20T08:52:13.000Z");
  EXPECT_EQ(a.product_key, "k1nhvyl0001");
  EXPECT_EQ(a.firmware_id, "s8SSHiKjpBfrM3BSN0z803****");
  EXPECT_EQ(a.job_status, "IN_PROGRESS");
  EXPECT_EQ(a.job_type, "UPGRADE_FIRMWARE");
  EXPECT_EQ(a.target_selection, "GRAY");
  EXPECT_EQ(a.selection_type, "STATIC");
  EXPECT_EQ(a.tags, (Tags{{"otaroll.intent", "thermo/canary/3c1f9a"}}));
  // List items carry no spec details.
  EXPECT_EQ(a.gray_percent, "");
  EXPECT_TRUE(a.src_versions.empty());
  EXPECT_FALSE(a.need_push.has_value());
  const JobInfo& b = page.items[1];
  EXPECT_EQ(b.job_id, "HvKuBpuk3rdk0wV7tYtl02****");
  EXPECT_EQ(b.job_status, "COMPLETED");  // COMPLETE normalized
  EXPECT_EQ(b.target_selection, "SPECIFIC");
  EXPECT_TRUE(b.tags.empty());
}

TEST(WireJobPageTest, TuyaLowerCaseBareArrayWithTopLevelPaging) {
  Page<JobInfo> page = ValueOf(ParseJobPage(Recorded(200, "job_page_tuya.json")));
  EXPECT_EQ(page.total, 3);
  EXPECT_EQ(page.page_size, 2);
  EXPECT_EQ(page.page_count, 2);
  EXPECT_EQ(page.current_page, 1);
  EXPECT_EQ(page.request_id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].job_id, "1836340779212660001");
  EXPECT_EQ(page.items[0].firmware_id, "183634077921266");
  EXPECT_EQ(page.items[0].job_status, "COMPLETED");
  EXPECT_EQ(page.items[0].target_selection, "GROUP");
  EXPECT_EQ(page.items[0].tags, (Tags{{"otaroll.intent", "thermo/pilot/77aa01"}}));
  EXPECT_EQ(page.items[1].job_id, "1836340779212660002");
  EXPECT_EQ(page.items[1].job_status, "PLANNED");
  EXPECT_EQ(page.items[1].job_type, "");
  EXPECT_TRUE(page.items[1].tags.empty());
}

TEST(WireJobPageTest, SingleObjectWhereAListWasExpected) {
  Page<JobInfo> page = ValueOf(ParseJobPage(Inline(
      200,
      R"({"Success":true,"Data":{"SimpleOTAJobInfo":{"JobId":"j1","Tags":{"OtaTagDTO":{"Key":"k","Value":"v"}}}}})")));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].job_id, "j1");
  EXPECT_EQ(page.items[0].tags, (Tags{{"k", "v"}}));
  EXPECT_EQ(page.total, 0);  // not sent: 0, as the client expects
}

TEST(WireJobPageTest, PagingInsideDataAndEmptyPages) {
  Page<JobInfo> page = ValueOf(ParseJobPage(Inline(
      200,
      R"({"Success":true,"Data":{"Total":"7","PageSize":5.0,"PageCount":2,"CurrentPage":"2","SimpleOTAJobInfo":[]}})")));
  EXPECT_EQ(page.total, 7);
  EXPECT_EQ(page.page_size, 5);
  EXPECT_EQ(page.page_count, 2);
  EXPECT_EQ(page.current_page, 2);
  EXPECT_TRUE(page.items.empty());
  // Nothing there, and the platform says so.
  for (const char* body :
       {R"({"Success":true,"Total":0})", R"({"Success":true,"Total":0,"Data":{}})",
        R"({"Success":true,"Total":"0","Data":null})", R"({"Success":true,"Data":{"SimpleOTAJobInfo":null}})"}) {
    Page<JobInfo> empty = ValueOf(ParseJobPage(Inline(200, body)));
    EXPECT_TRUE(empty.items.empty()) << body;
    EXPECT_EQ(empty.total, 0) << body;
  }
}

TEST(WireJobPageTest, MalformedPages) {
  struct Case {
    const char* body;
    const char* message;
  };
  const std::vector<Case> cases = {
      // A lookup that silently found nothing could create a second job.
      {R"({"Success":true})", "the platform answered HTTP 200 with no SimpleOTAJobInfo list"},
      {R"({"Success":true,"Total":3,"Data":{}})", "the platform answered HTTP 200 with no SimpleOTAJobInfo list"},
      {R"({"Success":true,"Data":{"Jobs":[]}})", "the platform answered HTTP 200 with no SimpleOTAJobInfo list"},
      {R"({"Success":true,"Data":"none"})", "the platform answered HTTP 200 with a Data that is a string, not a list"},
      {R"({"Success":true,"Data":{"SimpleOTAJobInfo":"j1"}})",
       "the platform answered HTTP 200 with a SimpleOTAJobInfo item that is a string, not an object"},
      {R"({"Success":true,"Data":[{"JobId":"j1"},7]})",
       "the platform answered HTTP 200 with a SimpleOTAJobInfo item that is a number, not an object"},
      {R"({"Success":true,"Data":[{"JobStatus":"PLANNED"}]})",
       "the platform answered HTTP 200 with a job without a JobId"},
      {R"({"Success":true,"Total":"many","Data":[]})",
       "the platform answered HTTP 200 with a Total that is not a whole number"},
      {R"({"Success":true,"Total":-1,"Data":[]})",
       "the platform answered HTTP 200 with a Total that is not a whole number"},
      {R"({"Success":true,"PageSize":2.5,"Data":[]})",
       "the platform answered HTTP 200 with a PageSize that is not a whole number"},
      {R"({"Success":true,"Data":[{"JobId":"j1","Tags":{"Other":[]}}]})",
       "the platform answered HTTP 200 with an object without OtaTagDTO where a list was expected"},
      {R"({"Success":true,"Data":[{"JobId":"j1","Tags":["k=v"]}]})",
       "the platform answered HTTP 200 with a tag that is a string, not an object"},
  };
  for (const auto& c : cases) {
    CallError e = ErrorOf(ParseJobPage(Inline(200, c.body)));
    EXPECT_EQ(e.cls, ErrorClass::kMalformed) << c.body;
    EXPECT_EQ(e.message, c.message) << c.body;
  }
}

// ---------------------------------------------------------------------------
// QueryOTAJob

TEST(WireQueryJobTest, AlibabaFull) {
  JobInfo j = ValueOf(ParseQueryJob(Recorded(200, "query_job_alibaba.json")));
  EXPECT_EQ(j.job_id, "wahVIzGkCMuAUE2gDERM02****");
  EXPECT_EQ(j.utc_create, "2024-11-20T08:50:00.239Z");
  EXPECT_EQ(j.utc_modified, "2024-11-20T08:52:13.000Z");
  EXPECT_EQ(j.product_key, "k1nhvyl0001");
  EXPECT_EQ(j.firmware_id, "s8SSHiKjpBfrM3BSN0z803****");
  EXPECT_EQ(j.job_status, "IN_PROGRESS");
  EXPECT_EQ(j.job_type, "UPGRADE_FIRMWARE");
  EXPECT_EQ(j.target_selection, "GRAY");
  EXPECT_EQ(j.selection_type, "STATIC");
  EXPECT_EQ(j.gray_percent, "10");
  EXPECT_EQ(j.group_id, "");
  EXPECT_EQ(j.src_versions, (std::vector<std::string>{"1.0.1", "1.0.2"}));
  EXPECT_TRUE(j.target_device_names.empty());
  EXPECT_EQ(j.retry_interval, "60");
  EXPECT_EQ(j.retry_count, "1");
  EXPECT_EQ(j.timeout_in_minutes, "1440");
  EXPECT_EQ(j.need_push, true);
  EXPECT_EQ(j.need_confirm, false);
  EXPECT_EQ(j.download_protocol, "HTTPS");
  EXPECT_EQ(j.tags, (Tags{{"otaroll.intent", "thermo/canary/3c1f9a"}, {"team", "hvac"}}));
}

TEST(WireQueryJobTest, TuyaLowerCaseWithTextValues) {
  JobInfo j = ValueOf(ParseQueryJob(Recorded(200, "query_job_tuya.json")));
  EXPECT_EQ(j.job_id, "1836340779212660001");
  EXPECT_EQ(j.job_status, "COMPLETED");
  EXPECT_EQ(j.target_selection, "SPECIFIC");
  EXPECT_EQ(j.gray_percent, "");
  EXPECT_EQ(j.retry_interval, "10");
  EXPECT_EQ(j.retry_count, "2");
  EXPECT_EQ(j.timeout_in_minutes, "30");
  EXPECT_EQ(j.need_push, true);
  EXPECT_EQ(j.need_confirm, false);
  EXPECT_EQ(j.src_versions, (std::vector<std::string>{"1.0.1"}));  // one value where a list was expected
  EXPECT_EQ(j.target_device_names, (std::vector<std::string>{"dev-001", "dev-002"}));
  EXPECT_TRUE(j.tags.empty());
}

TEST(WireQueryJobTest, NumbersAsDecimalText) {
  JobInfo j = ValueOf(ParseQueryJob(Inline(
      200,
      R"({"Success":true,"Data":{"JobId":"j","GrayPercent":10.0,"RetryInterval":"30","RetryCount":2,"TimeoutInMinutes":12.5,"SrcVersions":[1,"2.0"],"TargetDeviceNames":["d1"],"NeedPush":false,"NeedConfirm":"true"}})")));
  EXPECT_EQ(j.gray_percent, "10");
  EXPECT_EQ(j.retry_interval, "30");
  EXPECT_EQ(j.retry_count, "2");
  EXPECT_EQ(j.timeout_in_minutes, "12.5");
  EXPECT_EQ(j.src_versions, (std::vector<std::string>{"1", "2.0"}));
  EXPECT_EQ(j.target_device_names, (std::vector<std::string>{"d1"}));
  EXPECT_EQ(j.need_push, false);
  EXPECT_EQ(j.need_confirm, true);
}

TEST(WireQueryJobTest, MalformedJobs) {
  struct Case {
    const char* body;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"({"Success":true})", "the platform answered HTTP 200 with a success without Data"},
      {R"({"Success":true,"Data":[]})", "the platform answered HTTP 200 with a Data that is a list, not an object"},
      {R"({"Success":true,"Data":{}})", "the platform answered HTTP 200 with a job without a JobId"},
      {R"({"Success":true,"Data":{"JobId":"j","GrayPercent":{"v":10}}})",
       "the platform answered HTTP 200 with a GrayPercent that is an object, not a value"},
      {R"({"Success":true,"Data":{"JobId":"j","NeedPush":"yes"}})",
       "the platform answered HTTP 200 with a NeedPush that is neither true nor false"},
      {R"({"Success":true,"Data":{"JobId":"j","NeedConfirm":1}})",
       "the platform answered HTTP 200 with a NeedConfirm that is neither true nor false"},
      {R"({"Success":true,"Data":{"JobId":"j","SrcVersions":{"SrcVersion":[{"v":"1"}]}}})",
       "the platform answered HTTP 200 with a SrcVersion item that is an object, not a string"},
  };
  for (const auto& c : cases) {
    CallError e = ErrorOf(ParseQueryJob(Inline(200, c.body)));
    EXPECT_EQ(e.cls, ErrorClass::kMalformed) << c.body;
    EXPECT_EQ(e.message, c.message) << c.body;
  }
}

// ---------------------------------------------------------------------------
// ListOTATaskByJob

TEST(WireTaskPageTest, AlibabaWrappedList) {
  Page<TaskInfo> page = ValueOf(ParseTaskPage(Recorded(200, "task_page_alibaba.json")));
  EXPECT_EQ(page.total, 2);
  EXPECT_EQ(page.page_size, 100);
  EXPECT_EQ(page.page_count, 1);
  EXPECT_EQ(page.current_page, 1);
  EXPECT_EQ(page.request_id, "4B5C6D7E-8F90-4A1B-B2C3-D4E5F6071829");
  ASSERT_EQ(page.items.size(), 2u);
  const TaskInfo& a = page.items[0];
  EXPECT_EQ(a.task_id, "y3tOmCDNgpR8F9jnVEzC01****");
  EXPECT_EQ(a.device_name, "dev-001");
  EXPECT_EQ(a.src_version, "1.0.1");
  EXPECT_EQ(a.dest_version, "1.1.0");
  EXPECT_EQ(a.task_status, "SUCCEEDED");
  EXPECT_EQ(a.progress, "100");
  EXPECT_EQ(a.task_desc, "");
  EXPECT_EQ(a.utc_create, "2024-11-20T08:50:01.000Z");
  EXPECT_EQ(a.utc_modified, "2024-11-20T08:58:40.000Z");
  const TaskInfo& b = page.items[1];
  EXPECT_EQ(b.device_name, "dev-002");
  EXPECT_EQ(b.task_status, "FAILED");
  EXPECT_EQ(b.progress, "35");
  EXPECT_EQ(b.task_desc, "Device upgrade timeout.");
}

TEST(WireTaskPageTest, TuyaSingleObjectWithPagingInsideData) {
  Page<TaskInfo> page = ValueOf(ParseTaskPage(Recorded(200, "task_page_tuya.json")));
  EXPECT_EQ(page.total, 1);
  EXPECT_EQ(page.page_size, 1);
  EXPECT_EQ(page.page_count, 1);
  EXPECT_EQ(page.current_page, 1);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].task_id, "1836340779212669999");
  EXPECT_EQ(page.items[0].device_name, "dev-007");
  EXPECT_EQ(page.items[0].task_status, "IN_PROGRESS");
  EXPECT_EQ(page.items[0].progress, "42");
}

TEST(WireTaskPageTest, CountOnlyPage) {
  Page<TaskInfo> page = ValueOf(ParseTaskPage(Recorded(200, "task_page_empty.json")));
  EXPECT_EQ(page.total, 0);
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.request_id, "61E5C1A0-7B2D-4F3E-8A9B-0C1D2E3F4A5B");
  // A count read with PageSize=1: Total is what matters.
  page = ValueOf(ParseTaskPage(
      Inline(200, R"({"Success":true,"Total":1234,"PageSize":1,"Data":{"SimpleOTATaskInfo":[{"TaskId":"t1"}]}})")));
  EXPECT_EQ(page.total, 1234);
  EXPECT_EQ(page.items.size(), 1u);
}

TEST(WireTaskPageTest, MalformedTaskPages) {
  EXPECT_EQ(ErrorOf(ParseTaskPage(Inline(200, R"({"Success":true,"Data":{}})"))).message,
            "the platform answered HTTP 200 with no SimpleOTATaskInfo list");
  EXPECT_EQ(ErrorOf(ParseTaskPage(Inline(200, R"({"Success":true,"Data":[{"TaskId":1.5}]})"))).message,
            "the platform answered HTTP 200 with a TaskId that is a fractional number, not a string");
  EXPECT_EQ(ErrorOf(ParseTaskPage(Inline(200, R"({"Success":true,"Data":[{"TaskStatus":["FAILED"]}]})"))).message,
            "the platform answered HTTP 200 with a TaskStatus that is a list, not a value");
}

// ---------------------------------------------------------------------------
// CancelOTATaskByJob

TEST(WireAckTest, EnvelopeOnly) {
  EXPECT_TRUE(ParseAck(Recorded(200, "cancel_ack.json")).ok());
  EXPECT_TRUE(ParseAck(Inline(200, R"({"requestId":"r","success":true,"data":null})")).ok());
  EXPECT_TRUE(ParseAck(Inline(200, R"({"RequestId":"r"})")).ok());
}

// ---------------------------------------------------------------------------
// CreateJobParams

spec::ParamSet Part(const std::string& target) {
  spec::ParamSet p = {{"ProductKey", {"k1nhvyl0001"}},    {"FirmwareId", {"178"}},   {"TargetSelection", {target}},
                      {"SrcVersion", {"1.0.1", "1.0.2"}}, {"RetryInterval", {"60"}}, {"RetryCount", {"1"}},
                      {"TimeoutInMinutes", {"1440"}},     {"NeedPush", {"true"}},    {"NeedConfirm", {"false"}},
                      {"DownloadProtocol", {"HTTPS"}}};
  if (target == "GRAY") p["GrayPercent"] = {"10"};
  if (target == "GROUP") p["GroupId"] = {"CtjzCkNuOx"};
  return p;
}

Params Common() {
  return {{"ProductKey", "k1nhvyl0001"}, {"FirmwareId", "178"},   {"SrcVersion.1", "1.0.1"},
          {"SrcVersion.2", "1.0.2"},     {"RetryInterval", "60"}, {"RetryCount", "1"},
          {"TimeoutInMinutes", "1440"},  {"NeedPush", "true"},    {"NeedConfirm", "false"},
          {"DownloadProtocol", "HTTPS"}};
}

Params With(Params p, const Params& more) {
  for (const auto& [k, v] : more) p[k] = v;
  return p;
}

const Params kIntentTag = {{"Tag.1.Key", "otaroll.intent"}, {"Tag.1.Value", "thermo/canary/3c1f9a"}};

TEST(CreateJobParamsTest, Gray) {
  Params want = With(Common(), {{"TargetSelection", "GRAY"}, {"GrayPercent", "10"}});
  EXPECT_EQ(CreateJobParams(Part("GRAY"), Style::kTuya, "thermo/canary/3c1f9a"), want);
  EXPECT_EQ(CreateJobParams(Part("GRAY"), Style::kAlibaba, "thermo/canary/3c1f9a"), With(want, kIntentTag));
}

TEST(CreateJobParamsTest, GroupAddsGroupTypeOnAlibabaOnly) {
  Params want = With(Common(), {{"TargetSelection", "GROUP"}, {"GroupId", "CtjzCkNuOx"}});
  EXPECT_EQ(CreateJobParams(Part("GROUP"), Style::kTuya, "thermo/canary/3c1f9a"), want);
  EXPECT_EQ(CreateJobParams(Part("GROUP"), Style::kAlibaba, "thermo/canary/3c1f9a"),
            With(With(want, {{"GroupType", "LINK_PLATFORM"}}), kIntentTag));
  EXPECT_EQ(CreateJobParams(Part("GROUP"), Style::kAlibaba, ""), With(want, {{"GroupType", "LINK_PLATFORM"}}));
}

TEST(CreateJobParamsTest, SpecificListsAreOneBased) {
  spec::ParamSet part = Part("SPECIFIC");
  part["SrcVersion"] = {"1.0.1", "1.0.10", "1.0.2"};
  for (int i = 1; i <= 12; ++i) part["TargetDeviceName"].push_back(fmt::format("dev-{:03}", i));
  Params want = Common();
  want["TargetSelection"] = "SPECIFIC";
  want["SrcVersion.1"] = "1.0.1";
  want["SrcVersion.2"] = "1.0.10";
  want["SrcVersion.3"] = "1.0.2";
  for (int i = 1; i <= 12; ++i) want[fmt::format("TargetDeviceName.{}", i)] = fmt::format("dev-{:03}", i);
  Params tuya = CreateJobParams(part, Style::kTuya, "thermo/vip/1");
  EXPECT_EQ(tuya, want);
  EXPECT_EQ(tuya.count("TargetDeviceName.0"), 0u);
  EXPECT_EQ(tuya.at("TargetDeviceName.10"), "dev-010");
  EXPECT_EQ(tuya.at("TargetDeviceName.12"), "dev-012");
  // Byte order of the names, as signed: .1 < .10 < .11 < .12 < .2.
  std::vector<std::string> names;
  for (const auto& [k, v] : tuya) {
    if (k.starts_with("TargetDeviceName.")) names.push_back(k);
  }
  ASSERT_EQ(names.size(), 12u);
  EXPECT_EQ(names[0], "TargetDeviceName.1");
  EXPECT_EQ(names[1], "TargetDeviceName.10");
  EXPECT_EQ(names[4], "TargetDeviceName.2");
  EXPECT_EQ(CreateJobParams(part, Style::kAlibaba, "thermo/vip/1"),
            With(want, {{"Tag.1.Key", "otaroll.intent"}, {"Tag.1.Value", "thermo/vip/1"}}));
}

TEST(CreateJobParamsTest, All) {
  Params want = With(Common(), {{"TargetSelection", "ALL"}});
  EXPECT_EQ(CreateJobParams(Part("ALL"), Style::kTuya, "thermo/everyone/9"), want);
  EXPECT_EQ(CreateJobParams(Part("ALL"), Style::kTuya, ""), want);
  EXPECT_EQ(CreateJobParams(Part("ALL"), Style::kAlibaba, ""), want);
  EXPECT_EQ(CreateJobParams(Part("ALL"), Style::kAlibaba, "thermo/everyone/9"),
            With(want, {{"Tag.1.Key", "otaroll.intent"}, {"Tag.1.Value", "thermo/everyone/9"}}));
}

TEST(CreateJobParamsTest, StyleNames) {
  EXPECT_STREQ(StyleName(Style::kTuya), "tuya");
  EXPECT_STREQ(StyleName(Style::kAlibaba), "alibaba");
}

}  // namespace
}  // namespace otaroll::platform
