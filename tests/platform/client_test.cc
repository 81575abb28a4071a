#include "platform/client.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>
#include <memory>

#include "core/clock.h"
#include "platform/signature.h"

namespace otaroll::platform {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A scripted transport: answers each request with the next scripted result
// and records what it was asked.
class FakeTransport : public HttpTransport {
 public:
  HttpResult Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (script.empty()) return HttpResponse{500, R"({"Code":"NoScript","Message":"script exhausted"})", ""};
    HttpResult r = script.front();
    script.pop_front();
    return r;
  }
  void Answer(long status, std::string body) {
    script.emplace_back(HttpResponse{status, std::move(body), "application/json"});
  }
  void Fail(bool sent, std::string message) { script.emplace_back(TransportError{sent, std::move(message)}); }

  // The parameters of request i, decoded from its body or query.
  Params ParamsOf(size_t i) const {
    const HttpRequest& r = requests.at(i);
    std::string text = r.method == "GET" ? r.url.substr(r.url.find('?') + 1) : r.body;
    Params p;
    EXPECT_TRUE(DecodeForm(text, &p));
    return p;
  }

  std::deque<HttpResult> script;
  std::vector<HttpRequest> requests;
};

constexpr const char* kCreated =
    R"({"RequestId":"R1","Success":true,"Data":{"JobId":"9000000000000000001","UtcCreate":"2026-11-25T10:00:00.000Z"}})";
constexpr const char* kThrottled =
    R"({"RequestId":"R2","Code":"Throttling.User","Message":"Request was denied due to user flow control."})";
constexpr const char* kUnavailable = R"({"RequestId":"R3","Code":"ServiceUnavailable","Message":"busy"})";

spec::ParamSet GrayPart() {
  return {{"ProductKey", {"k1nhvyl0000"}}, {"FirmwareId", {"167"}},
          {"TargetSelection", {"GRAY"}},   {"GrayPercent", {"10"}},
          {"NeedPush", {"true"}},          {"NeedConfirm", {"false"}},
          {"DownloadProtocol", {"HTTPS"}}, {"SrcVersion", {"1.0.1", "1.0.10", "1.0.2"}}};
}

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : clock_(*core::ParseRfc3339("2026-11-25T10:00:00.250Z")) {}

  std::unique_ptr<Client> Make(ClientConfig config = {}) {
    if (config.endpoint.empty()) config.endpoint = "http://127.0.0.1:8686";
    auto c = std::make_unique<Client>(config, Credentials{"testid", "s3cr3t-never-printed"}, transport_, clock_);
    c->set_nonce_source([this] { return "nonce-" + std::to_string(++nonces_); });
    c->set_seed(7);
    return c;
  }

  FakeTransport transport_;
  core::FixedClock clock_;
  int nonces_ = 0;
};

TEST_F(ClientTest, SignsCommonParametersAndTheCallsOwn) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200, kCreated);
  auto r = c.CreateJob(GrayPart(), "");
  ASSERT_TRUE(r.ok()) << r.error().Describe();
  EXPECT_EQ(r->job_id, "9000000000000000001");
  ASSERT_EQ(transport_.requests.size(), 1u);
  EXPECT_EQ(transport_.requests[0].method, "POST");
  EXPECT_EQ(transport_.requests[0].url, "http://127.0.0.1:8686/");
  Params p = transport_.ParamsOf(0);
  EXPECT_EQ(p["Action"], "CreateOTAStaticUpgradeJob");
  EXPECT_EQ(p["AccessKeyId"], "testid");
  EXPECT_EQ(p["SignatureMethod"], "HMAC-SHA1");
  EXPECT_EQ(p["SignatureVersion"], "1.0");
  EXPECT_EQ(p["SignatureNonce"], "nonce-1");
  EXPECT_EQ(p["Timestamp"], "2026-11-25T10:00:00Z");  // no fraction
  EXPECT_EQ(p["Format"], "JSON");
  EXPECT_EQ(p["Version"], "2018-01-20");
  EXPECT_EQ(p["SrcVersion.1"], "1.0.1");
  EXPECT_EQ(p["SrcVersion.3"], "1.0.2");
  EXPECT_EQ(p.count("RegionId"), 0u);  // tuya
  std::string signature = p["Signature"];
  p.erase("Signature");
  EXPECT_EQ(signature, SignRequest("POST", p, "s3cr3t-never-printed"));
}

TEST_F(ClientTest, TheSecretIsNeverSent) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200, kCreated);
  ASSERT_TRUE(c.CreateJob(GrayPart(), "").ok());
  EXPECT_EQ(transport_.requests[0].body.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(transport_.requests[0].url.find("s3cr3t"), std::string::npos);
}

TEST_F(ClientTest, GetPutsEverythingInTheQueryString) {
  ClientConfig config;
  config.method = "GET";
  config.endpoint = "https://iot.example.test/";
  auto made = Make(config);
  Client& c = *made;
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"JobId":"1"}})");
  ASSERT_TRUE(c.QueryJob("1").ok());
  EXPECT_EQ(transport_.requests[0].body, "");
  EXPECT_EQ(transport_.requests[0].url.rfind("https://iot.example.test/?", 0), 0u);
  Params p = transport_.ParamsOf(0);
  std::string signature = p["Signature"];
  p.erase("Signature");
  EXPECT_EQ(signature, SignRequest("GET", p, "s3cr3t-never-printed"));
}

TEST_F(ClientTest, AlibabaAddsRegionGroupTypeAndIntentTag) {
  ClientConfig config;
  config.style = Style::kAlibaba;
  config.region = "cn-shanghai";
  config.iot_instance_id = "iot-06z00";
  auto made = Make(config);
  Client& c = *made;
  transport_.Answer(200, kCreated);
  spec::ParamSet group = {
      {"ProductKey", {"k1"}}, {"FirmwareId", {"167"}}, {"TargetSelection", {"GROUP"}}, {"GroupId", {"CtjzCkNuOx"}}};
  ASSERT_TRUE(c.CreateJob(group, "intent42").ok());
  Params p = transport_.ParamsOf(0);
  EXPECT_EQ(p["RegionId"], "cn-shanghai");
  EXPECT_EQ(p["IotInstanceId"], "iot-06z00");
  EXPECT_EQ(p["GroupType"], "LINK_PLATFORM");
  EXPECT_EQ(p["Tag.1.Key"], "otaroll.intent");
  EXPECT_EQ(p["Tag.1.Value"], "intent42");
}

TEST_F(ClientTest, CreateIsNeverSentOnAReusedConnectionReadsMayBe) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"JobId":"1"}})");
  transport_.Answer(200, kCreated);
  ASSERT_TRUE(c.QueryJob("1").ok());
  ASSERT_TRUE(c.CreateJob(GrayPart(), "").ok());
  EXPECT_TRUE(transport_.requests[0].idempotent);
  EXPECT_FALSE(transport_.requests[1].idempotent);
}

TEST_F(ClientTest, ThrottledCreateIsRetriedFreshlySignedAfterABackoff) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(400, kThrottled);
  transport_.Answer(400, kThrottled);
  transport_.Answer(200, kCreated);
  auto r = c.CreateJob(GrayPart(), "");
  ASSERT_TRUE(r.ok()) << r.error().Describe();
  ASSERT_EQ(transport_.requests.size(), 3u);
  Params first = transport_.ParamsOf(0);
  Params third = transport_.ParamsOf(2);
  EXPECT_NE(first["SignatureNonce"], third["SignatureNonce"]);
  EXPECT_NE(first["Signature"], third["Signature"]);
  EXPECT_GT(clock_.slept(), milliseconds(0));
}

TEST_F(ClientTest, CreateNotSentIsRetried) {
  auto made = Make();
  Client& c = *made;
  transport_.Fail(false, "cannot connect to 127.0.0.1:8686: connection refused");
  transport_.Answer(200, kCreated);
  auto r = c.CreateJob(GrayPart(), "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(transport_.requests.size(), 2u);
}

TEST_F(ClientTest, CreateWhoseOutcomeCannotBeKnownIsNotRetried) {
  struct Case {
    const char* name;
    std::function<void(FakeTransport&)> script;
  };
  std::vector<Case> cases = {
      {"sent, no answer",
       [](FakeTransport& t) { t.Fail(true, "127.0.0.1:8686 closed the connection without answering"); }},
      {"503", [](FakeTransport& t) { t.Answer(503, kUnavailable); }},
      {"HTML 200", [](FakeTransport& t) { t.Answer(200, "<html>oops</html>"); }},
      {"success without job id",
       [](FakeTransport& t) { t.Answer(200, R"({"RequestId":"R","Success":true,"Data":{}})"); }},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    transport_.requests.clear();
    auto made = Make();
    Client& c = *made;
    k.script(transport_);
    transport_.Answer(200, kCreated);  // must not be reached
    auto r = c.CreateJob(GrayPart(), "");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().OutcomeUnknown());
    EXPECT_EQ(transport_.requests.size(), 1u);
    transport_.script.clear();
  }
}

TEST_F(ClientTest, RejectedAndAuthFailuresReturnAtOnce) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(
      200, R"({"RequestId":"R","Success":false,"Code":"iot.ota.FirmwareNotExist","ErrorMessage":"no such firmware"})");
  auto r = c.CreateJob(GrayPart(), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cls, ErrorClass::kRejected);
  EXPECT_FALSE(r.error().OutcomeUnknown());
  transport_.Answer(400, R"({"RequestId":"R","Code":"SignatureDoesNotMatch","Message":"bad"})");
  auto q = c.QueryJob("1");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().cls, ErrorClass::kAuth);
  EXPECT_EQ(transport_.requests.size(), 2u);
}

// A nonce of ours the platform calls "used" means it got this very request
// before (resent by the HTTP stack or a proxy) and the answer was lost.
TEST_F(ClientTest, NonceUsedIsALostAnswerNotACredentialsProblem) {
  auto made = Make();
  Client& c = *made;
  constexpr const char* kUsed = R"({"RequestId":"R","Code":"SignatureNonceUsed","Message":"used"})";
  transport_.Answer(400, kUsed);
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"JobId":"5"}})");
  auto read = c.QueryJob("5");
  ASSERT_TRUE(read.ok()) << read.error().Describe();
  EXPECT_EQ(transport_.requests.size(), 2u);

  transport_.Answer(400, kUsed);
  transport_.Answer(200, kCreated);  // must not be reached
  auto created = c.CreateJob(GrayPart(), "");
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(created.error().OutcomeUnknown());
  EXPECT_EQ(created.error().code, "SignatureNonceUsed");
  EXPECT_EQ(created.error().message,
            "the platform had already received this request (SignatureNonceUsed); its answer was lost");
  EXPECT_EQ(transport_.requests.size(), 3u);
}

TEST_F(ClientTest, ReadsRetryTransientFailures) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(503, kUnavailable);
  transport_.Fail(true, "reset");
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"JobId":"5","JobStatus":"COMPLETE"}})");
  auto r = c.QueryJob("5");
  ASSERT_TRUE(r.ok()) << r.error().Describe();
  EXPECT_EQ(r->job_status, "COMPLETED");
  EXPECT_EQ(transport_.requests.size(), 3u);
}

TEST_F(ClientTest, RetriesAreBoundedAndBackoffIsCappedWithFullJitter) {
  ClientConfig config;
  config.retry.max_attempts = 5;
  config.retry.base_delay = milliseconds(100);
  config.retry.max_delay = milliseconds(300);
  config.limits = {0, 0, 0};  // no rate limit: only backoff sleeps
  auto made = Make(config);
  Client& c = *made;
  for (int i = 0; i < 10; ++i) transport_.Answer(400, kThrottled);
  auto r = c.CreateJob(GrayPart(), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cls, ErrorClass::kThrottled);
  EXPECT_EQ(r.error().attempts, 5);
  EXPECT_EQ(transport_.requests.size(), 5u);
  // Four sleeps, each within its cap: 100, 200, 300, 300 ms.
  EXPECT_LE(clock_.slept(), milliseconds(900));
}

TEST_F(ClientTest, BackoffIsDeterministicWithASeedAndJittered) {
  ClientConfig config;
  config.retry.max_attempts = 4;
  config.limits = {0, 0, 0};
  std::vector<core::Duration> totals;
  for (int run = 0; run < 2; ++run) {
    core::FixedClock clock(*core::ParseRfc3339("2026-11-25T10:00:00Z"));
    FakeTransport t;
    for (int i = 0; i < 4; ++i) t.Answer(400, kThrottled);
    config.endpoint = "http://127.0.0.1:1";
    Client c(config, Credentials{"id", "secret"}, t, clock);
    c.set_seed(1);
    (void)c.QueryJob("1");
    totals.push_back(clock.slept());
  }
  EXPECT_EQ(totals[0], totals[1]);
  EXPECT_LT(totals[0], milliseconds(200 + 400 + 800));
}

TEST_F(ClientTest, RateLimitSpacesRequestsPerCallClass) {
  ClientConfig config;
  config.limits.read_qps = 5;  // one read every 200 ms
  config.limits.create_qps = 10;
  auto made = Make(config);
  Client& c = *made;
  for (int i = 0; i < 10; ++i) transport_.Answer(200, R"({"Success":true,"Data":{"JobId":"1"}})");
  core::Time start = clock_.Now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.QueryJob("1").ok());
  EXPECT_EQ(clock_.Now() - start, milliseconds(9 * 200));
  // Another class has its own budget: the first create does not wait.
  transport_.Answer(200, kCreated);
  core::Time before = clock_.Now();
  ASSERT_TRUE(c.CreateJob(GrayPart(), "").ok());
  EXPECT_EQ(clock_.Now(), before);
}

TEST_F(ClientTest, ListsEveryPageOfJobsOnce) {
  auto made = Make();
  Client& c = *made;
  auto page = [](int n, std::vector<std::string> ids) {
    std::string items;
    for (const auto& id : ids) items += (items.empty() ? "" : ",") + std::string(R"({"JobId":")") + id + "\"}";
    return R"({"RequestId":"R","Success":true,"Total":450,"PageSize":200,"PageCount":3,"CurrentPage":)" +
           std::to_string(n) + R"(,"Data":{"SimpleOTAJobInfo":[)" + items + "]}}";
  };
  transport_.Answer(200, page(1, {"1", "2"}));
  transport_.Answer(200, page(2, {"2", "3"}));  // "2" shifted pages: kept once
  transport_.Answer(200, page(3, {"4"}));
  auto r = c.ListJobsByFirmware("167");
  ASSERT_TRUE(r.ok()) << r.error().Describe();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[3].job_id, "4");
  ASSERT_EQ(transport_.requests.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    Params p = transport_.ParamsOf(i);
    EXPECT_EQ(p["Action"], "ListOTAJobByFirmware");
    EXPECT_EQ(p["FirmwareId"], "167");
    EXPECT_EQ(p["PageSize"], "200");
    EXPECT_EQ(p["CurrentPage"], std::to_string(i + 1));
  }
}

TEST_F(ClientTest, CountsTasksFromTotalWithPageSizeOne) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200,
                    R"({"RequestId":"R","Success":true,"Total":37,"Data":{"SimpleOTATaskInfo":[{"TaskId":"t"}]}})");
  auto r = c.CountTasks("55", "FAILED");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 37);
  Params p = transport_.ParamsOf(0);
  EXPECT_EQ(p["Action"], "ListOTATaskByJob");
  EXPECT_EQ(p["TaskStatus"], "FAILED");
  EXPECT_EQ(p["PageSize"], "1");
}

TEST_F(ClientTest, CountWithoutTotalIsAnErrorNotZero) {
  auto made = Make();
  Client& c = *made;
  for (int i = 0; i < 6; ++i)
    transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"SimpleOTATaskInfo":[]}})");
  auto r = c.CountTasks("55", "FAILED");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cls, ErrorClass::kMalformed);
  EXPECT_EQ(r.error().message, "the platform's task list has no Total, so the tasks cannot be counted");
}

TEST_F(ClientTest, CancelSendsTheChosenKinds) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200, R"({"RequestId":"R","Success":true})");
  CancelWhich which;
  which.in_progress = true;
  ASSERT_TRUE(c.CancelTasks("55", which).ok());
  Params p = transport_.ParamsOf(0);
  EXPECT_EQ(p["CancelQueuedTask"], "true");
  EXPECT_EQ(p["CancelInProgressTask"], "true");
  EXPECT_EQ(p.count("CancelScheduledTask"), 0u);
  CancelWhich none{false, false, false, false, false};
  auto r = c.CancelTasks("55", none);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport_.requests.size(), 1u);
}

TEST_F(ClientTest, ObserverSeesEveryAttemptWithoutSecrets) {
  auto made = Make();
  Client& c = *made;
  std::vector<AttemptEvent> events;
  c.set_observer([&](const AttemptEvent& e) { events.push_back(e); });
  transport_.Answer(400, kThrottled);
  transport_.Answer(200, kCreated);
  ASSERT_TRUE(c.CreateJob(GrayPart(), "").ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].outcome, "Throttling.User");
  EXPECT_EQ(events[1].outcome, "ok");
  EXPECT_EQ(events[1].attempt, 2);
}

TEST_F(ClientTest, AJobIdThatIsNotATokenIsAProtocolErrorAndTheCreateStaysUnknown) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"(" ")", "\" \""},
      {R"("-1")", "\"-1\""},
      {"-1", "\"-1\""},
      {"\"" + std::string(10000, '7') + "\"", "\"777777777777777777777777…\" (10000 characters)"},
      {R"("12\u000034")", "\"12\\x0034\""},
      {R"("12\u202e34")", "\"12\\u{202E}34\""},
  };
  for (const auto& [json_id, shown] : bad) {
    SCOPED_TRACE(json_id.substr(0, 30));
    transport_.requests.clear();
    auto made = Make();
    Client& c = *made;
    transport_.Answer(200, R"({"RequestId":"R1","Success":true,"Data":{"JobId":)" + json_id + "}}");
    transport_.Answer(200, kCreated);  // must not be reached: never sent twice
    auto r = c.CreateJob(GrayPart(), "");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().OutcomeUnknown());
    EXPECT_EQ(r.error().message, "the platform answered HTTP 200 with a JobId that is not a job id (" + shown +
                                     "); job ids are 1-64 letters, digits and _ - . *, beginning with a letter or "
                                     "digit");
    EXPECT_EQ(transport_.requests.size(), 1u);
    transport_.script.clear();
  }
}

TEST_F(ClientTest, AListingThatClaimsAMillionPagesIsRefusedAfterOneCall) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Total":200000000,"PageSize":200,"PageCount":1000000,)"
                         R"("CurrentPage":1,"Data":{"SimpleOTAJobInfo":[{"JobId":"1"}]}})");
  auto r = c.ListJobsByFirmware("167");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cls, ErrorClass::kMalformed);
  EXPECT_EQ(r.error().message,
            "the platform lists 200000000 jobs in 1000000 pages for firmware 167, more than the 10000 otaroll reads; a "
            "listing that long is not believed");
  EXPECT_EQ(transport_.requests.size(), 1u);
}

TEST_F(ClientTest, AJobListedTwiceOnOnePageIsAProtocolError) {
  auto made = Make();
  Client& c = *made;
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Total":2,"PageCount":1,"CurrentPage":1,)"
                         R"("Data":{"SimpleOTAJobInfo":[{"JobId":"77"},{"JobId":"77"}]}})");
  auto r = c.ListJobsByFirmware("167");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "the platform listed job 77 twice on one page of firmware 167's jobs");
}

TEST_F(ClientTest, ACountNearTheIntegerLimitIsAProtocolErrorNotANegativeCount) {
  auto made = Make();
  Client& c = *made;
  for (int i = 0; i < 6; ++i) {
    transport_.Answer(200, R"({"RequestId":"R","Success":true,"Total":9223372036854775806,)"
                           R"("Data":{"SimpleOTATaskInfo":[]}})");
  }
  auto r = c.CountTasks("55", "FAILED");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().cls, ErrorClass::kMalformed);
  EXPECT_EQ(r.error().message,
            "the platform answered HTTP 200 with a Total of 9223372036854775806, more than any fleet holds (at most "
            "1000000000)");
}

TEST_F(ClientTest, ARequestRefusedUnreadAsTooLargeCreatedNothingAndIsNotRetried) {
  for (long status : {413L, 414L}) {
    SCOPED_TRACE(status);
    transport_.requests.clear();
    auto made = Make();
    Client& c = *made;
    transport_.Answer(status, "<html>Request Entity Too Large</html>");
    transport_.Answer(200, kCreated);  // must not be reached
    auto r = c.CreateJob(GrayPart(), "");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().cls, ErrorClass::kRefused);
    EXPECT_FALSE(r.error().OutcomeUnknown());
    EXPECT_FALSE(r.error().RetryableCreate());
    EXPECT_EQ(r.error().message, fmt::format("the platform refused the request unread as too large (HTTP {})", status));
    EXPECT_EQ(transport_.requests.size(), 1u);
    transport_.script.clear();
  }
}

TEST_F(ClientTest, ALargeRequestGoesAsPostEvenWhenGetIsConfigured) {
  ClientConfig config;
  config.method = "GET";
  auto made = Make(config);
  Client& c = *made;
  spec::ParamSet part = GrayPart();
  part["TargetSelection"] = {"SPECIFIC"};
  part.erase("GrayPercent");
  for (int i = 0; i < 200; ++i) part["TargetDeviceName"].push_back(fmt::format("{:0>64}", i));
  transport_.Answer(200, kCreated);
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"JobId":"1"}})");
  ASSERT_TRUE(c.CreateJob(part, "").ok());
  ASSERT_TRUE(c.QueryJob("1").ok());
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[0].method, "POST");
  EXPECT_EQ(transport_.requests[0].url, "http://127.0.0.1:8686/");
  Params sent = transport_.ParamsOf(0);
  Params unsigned_params = sent;
  unsigned_params.erase("Signature");
  EXPECT_EQ(sent["Signature"], SignRequest("POST", unsigned_params, "s3cr3t-never-printed"));
  EXPECT_EQ(transport_.requests[1].method, "GET");  // small ones keep the configured method
}

TEST_F(ClientTest, APermanentTransportFailureIsNotRetried) {
  auto made = Make();
  Client& c = *made;
  transport_.script.emplace_back(TransportError{false, "TLS certificate of h:443 is for another host name", true});
  transport_.Answer(200, R"({"RequestId":"R","Success":true,"Data":{"JobId":"1"}})");
  auto r = c.QueryJob("1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().attempts, 1);
  EXPECT_EQ(transport_.requests.size(), 1u);
}

TEST(RandomUuidTest, IsAVersion4UuidAndFresh) {
  std::string a = RandomUuid();
  std::string b = RandomUuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
}

}  // namespace
}  // namespace otaroll::platform
