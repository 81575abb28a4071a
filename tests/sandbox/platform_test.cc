// The sandbox platform without HTTP, on a fixed clock: gateway checks,
// validation codes, both response styles, paging, simulation through the
// API, cancellation, faults and persistence.
#include "sandbox/platform.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "sandbox/create.h"
#include "test_util/temp_dir.h"

namespace otaroll::sandbox {
namespace {

using nlohmann::json;
using platform::Style;
using std::chrono::minutes;
using std::chrono::seconds;

const core::Time kT0 = *core::ParseRfc3339("2024-11-20T08:50:00Z");

std::string WireTime(core::Time t) {
  return core::FormatRfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

class PlatformTest : public ::testing::Test {
 protected:
  // The platform's rate limits are off here (the fixed clock never refills
  // a budget) unless a test sets limits_ before Open.
  void Open(Style style = Style::kAlibaba, FaultConfig faults = {}, FleetConfig fleet = {}, size_t max_nonces = 1000) {
    platform_.reset();
    Options o;
    o.limits = limits_;
    o.style = style;
    o.access_keys = {{"testid", "testsecret"}, {"other", "othersecret"}};
    o.faults = faults;
    if (fleet.task_ms == FleetConfig().task_ms && fleet.fleet_size == FleetConfig().fleet_size) {
      fleet.fleet_size = 100;
    }
    o.fleet = fleet;
    o.max_nonces = max_nonces;
    auto p = Platform::Open(dir_.Join("sandbox.db"), o, clock_);
    ASSERT_TRUE(p.ok()) << p.status().message();
    platform_ = std::move(*p);
  }

  // The common parameters, signed for `method` with the fixed clock's time.
  platform::Params Signed(const std::string& action, platform::Params params, const std::string& method = "GET",
                          const std::string& secret = "testsecret") {
    params.emplace("Action", action);
    params.emplace("AccessKeyId", "testid");
    params.emplace("Format", "JSON");
    params.emplace("Version", "2018-01-20");
    params.emplace("SignatureMethod", "HMAC-SHA1");
    params.emplace("SignatureVersion", "1.0");
    params.emplace("SignatureNonce", fmt::format("nonce-{}", ++nonce_));
    params.emplace("Timestamp", WireTime(clock_.Now()));
    params.erase("Signature");
    params["Signature"] = platform::SignRequest(method, params, secret);
    return params;
  }

  Response Send(platform::Params params, const std::string& method = "GET") {
    Request r;
    r.method = method;
    r.params = std::move(params);
    r.remote = "127.0.0.1:40000";
    return platform_->Handle(r);
  }

  Response Call(const std::string& action, platform::Params params = {}, const std::string& method = "GET") {
    return Send(Signed(action, std::move(params), method), method);
  }

  static json Body(const Response& r) {
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  // A GRAY job with every option set.
  static platform::Params FullJob() {
    return {{"FirmwareId", "178"},           {"ProductKey", "pk1"},
            {"TargetSelection", "GRAY"},     {"GrayPercent", "10"},
            {"SrcVersion.1", "1.0.1"},       {"SrcVersion.2", "1.0.2"},
            {"RetryInterval", "60"},         {"RetryCount", "1"},
            {"TimeoutInMinutes", "1440"},    {"NeedPush", "true"},
            {"NeedConfirm", "false"},        {"DownloadProtocol", "HTTPS"},
            {"Tag.1.Key", "otaroll.intent"}, {"Tag.1.Value", "abc"}};
  }

  std::string Create(platform::Params params) {
    Response r = Call("CreateOTAStaticUpgradeJob", std::move(params));
    json j = Body(r);
    EXPECT_EQ(r.status, 200) << r.body;
    if (j.contains("Data")) return j["Data"]["JobId"].get<std::string>();
    if (j.contains("data")) return j["data"]["firmwareId"].get<std::string>();
    ADD_FAILURE() << r.body;
    return "";
  }

  int64_t Jobs() { return *platform_->JobCount(); }

  std::map<std::string, int64_t> StatusTotals(const std::string& job_id) {
    std::map<std::string, int64_t> out;
    for (const char* s : {"CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELED"}) {
      json j = Body(
          Call("ListOTATaskByJob", {{"JobId", job_id}, {"TaskStatus", s}, {"PageSize", "1"}, {"CurrentPage", "1"}}));
      out[s] = j.value("Total", int64_t{0});
    }
    return out;
  }

  test_util::TempDir dir_;
  core::FixedClock clock_{kT0};
  RateLimits limits_{.enabled = false};
  std::unique_ptr<Platform> platform_;
  int nonce_ = 0;
};

// --- The gateway -----------------------------------------------------------

TEST_F(PlatformTest, AcceptsASignedGet) {
  Open();
  Response r = Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Body(r)["Success"].get<bool>());
  EXPECT_EQ(r.action, "ListOTAJobByFirmware");
  EXPECT_EQ(r.access_key_id, "testid");
  EXPECT_FALSE(r.drop);
}

TEST_F(PlatformTest, AcceptsASignedPostFromItsFormBody) {
  Open();
  platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"Note", "a b*c~/+"}}, "POST");
  std::string body;
  for (const auto& [k, v] : p)
    body += (body.empty() ? "" : "&") + platform::PercentEncode(k) + "=" + platform::PercentEncode(v);
  Request request;
  ASSERT_TRUE(DecodeRequest("POST", "/", "application/x-www-form-urlencoded; charset=UTF-8", body, &request));
  EXPECT_EQ(request.params, p);
  Response r = platform_->Handle(request);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(PlatformTest, ASignatureCoversTheMethod) {
  Open();
  Response r = Send(Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}}, "GET"), "POST");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["Code"], "SignatureDoesNotMatch");
}

TEST_F(PlatformTest, RefusesAForgedSignatureAndShowsTheStringToSign) {
  Open();
  platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  p["FirmwareId"] = "179";
  Response r = Send(p);
  EXPECT_EQ(r.status, 400);
  json j = Body(r);
  EXPECT_EQ(j["Code"], "SignatureDoesNotMatch");
  EXPECT_NE(j["Message"].get<std::string>().find(platform::StringToSign("GET", p)), std::string::npos);
  EXPECT_EQ(r.body.find("testsecret"), std::string::npos);
  EXPECT_EQ(Send(Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}}, "GET", "wrongsecret")).status, 400);
}

TEST_F(PlatformTest, RefusesAnUnknownKey) {
  Open();
  platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  p["AccessKeyId"] = "nobody";
  p["Signature"] = platform::SignRequest("GET", p, "testsecret");
  Response r = Send(p);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["Code"], "InvalidAccessKeyId.NotFound");
}

TEST_F(PlatformTest, RefusesAReplayedNonceOnlyAfterTheSignatureVerified) {
  Open();
  platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  platform::Params forged = p;
  forged["Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_EQ(Body(Send(forged))["Code"], "SignatureDoesNotMatch");
  EXPECT_EQ(Send(p).status, 200) << "a forged request does not use up the nonce";
  Response replay = Send(p);
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(Body(replay)["Code"], "SignatureNonceUsed");
  // The same nonce under another key is another nonce.
  platform::Params other = p;
  other["AccessKeyId"] = "other";
  other["Signature"] = platform::SignRequest("GET", other, "othersecret");
  EXPECT_EQ(Send(other).status, 200);
}

TEST_F(PlatformTest, RemembersNoncesForTwiceTheTimestampWindowWithBoundedMemory) {
  Open(Style::kAlibaba, {}, {}, /*max_nonces=*/2);
  platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  EXPECT_EQ(Send(p).status, 200);
  clock_.Set(kT0 + minutes(29));
  platform::Params replay = p;
  replay["Timestamp"] = WireTime(clock_.Now() - minutes(14));  // a valid timestamp, re-signed: same nonce
  replay["Signature"] = platform::SignRequest("GET", replay, "testsecret");
  EXPECT_EQ(Body(Send(replay))["Code"], "SignatureNonceUsed");
  EXPECT_EQ(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}}).status, 200);
  Response full = Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  EXPECT_EQ(full.status, 400);
  EXPECT_EQ(Body(full)["Code"], "Throttling.User");
  clock_.Set(kT0 + minutes(31));  // the first nonce is forgotten
  EXPECT_EQ(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}}).status, 200);
  replay["Timestamp"] = WireTime(clock_.Now());
  replay["Signature"] = platform::SignRequest("GET", replay, "testsecret");
  EXPECT_EQ(Send(replay).status, 400) << "the store is full again";
}

TEST_F(PlatformTest, TimestampsWithin15MinutesOnly) {
  Open();
  for (auto [offset, ok] : {std::pair{minutes(14), true},
                            {-minutes(14), true},
                            {minutes(15), true},
                            {minutes(16), false},
                            {-minutes(16), false}}) {
    platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
    p["Timestamp"] = WireTime(kT0 + offset);
    p["Signature"] = platform::SignRequest("GET", p, "testsecret");
    Response r = Send(p);
    if (ok) {
      EXPECT_EQ(r.status, 200) << offset.count() << " " << r.body;
    } else {
      EXPECT_EQ(r.status, 400) << offset.count();
      EXPECT_EQ(Body(r)["Code"], "InvalidTimeStamp.Expired");
    }
  }
}

TEST_F(PlatformTest, MalformedTimestamps) {
  Open();
  for (const char* t : {"2024-11-20T08:50:00.000Z", "2024-11-20 08:50:00Z", "2024-11-20T08:50:00+00:00",
                        "2024-13-01T08:50:00Z", "1732092600", "2024-11-20T08:50:00z"}) {
    platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
    p["Timestamp"] = t;
    p["Signature"] = platform::SignRequest("GET", p, "testsecret");
    Response r = Send(p);
    EXPECT_EQ(r.status, 400) << t;
    EXPECT_EQ(Body(r)["Code"], "InvalidTimeStamp.Format") << t;
  }
}

TEST_F(PlatformTest, MissingAndInvalidCommonParameters) {
  Open();
  const std::vector<std::pair<std::string, std::string>> missing = {
      {"Action", "MissingAction"},
      {"Version", "MissingVersion"},
      {"AccessKeyId", "MissingAccessKeyId"},
      {"SignatureMethod", "MissingSignatureMethod"},
      {"SignatureVersion", "MissingSignatureVersion"},
      {"SignatureNonce", "MissingSignatureNonce"},
      {"Timestamp", "MissingTimestamp"},
      {"Format", "MissingFormat"},
      {"Signature", "MissingSignature"},
  };
  for (const auto& [name, code] : missing) {
    platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
    p.erase(name);
    if (name != "Signature") p["Signature"] = platform::SignRequest("GET", p, "testsecret");
    Response r = Send(p);
    EXPECT_EQ(r.status, 400) << name;
    EXPECT_EQ(Body(r)["Code"], code) << name;
  }
  const std::vector<std::tuple<std::string, std::string, int, std::string>> invalid = {
      {"SignatureMethod", "HMAC-SHA256", 400, "IncompleteSignature"},
      {"SignatureVersion", "2.0", 400, "IncompleteSignature"},
      {"Version", "2017-01-01", 400, "InvalidVersion"},
      {"Action", "DeleteEverything", 404, "InvalidApi.NotFound"},
      {"Format", "XML", 400, "InvalidParameter.Format"},
  };
  for (const auto& [name, value, status, code] : invalid) {
    platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
    p[name] = value;
    p["Signature"] = platform::SignRequest("GET", p, "testsecret");
    Response r = Send(p);
    EXPECT_EQ(r.status, status) << name;
    EXPECT_EQ(Body(r)["Code"], code) << name;
  }
  platform::Params p = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  p["Format"] = "json";
  p["Version"] = "2022-01-01";
  p["Signature"] = platform::SignRequest("GET", p, "testsecret");
  EXPECT_EQ(Send(p).status, 200) << "json in any case, and Tuya's 2022-01-01";
}

TEST_F(PlatformTest, IgnoresExtraCommonParameters) {
  Open();
  Response r = Call("ListOTAJobByFirmware", {{"FirmwareId", "178"},
                                             {"RegionId", "cn-shanghai"},
                                             {"IotInstanceId", "iot-123"},
                                             {"SecurityToken", "token"},
                                             {"SignatureType", ""}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(PlatformTest, OnlyTheRootPath) {
  Open();
  Request r;
  r.method = "GET";
  r.path = "/v1/jobs";
  r.params = Signed("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  EXPECT_EQ(platform_->Handle(r).status, 404);
}

TEST_F(PlatformTest, DecodesQueryAndFormTogether) {
  Request r;
  ASSERT_TRUE(DecodeRequest("POST", "/?A=1&B=2", "application/x-www-form-urlencoded", "B=3&C=%20x+y", &r));
  EXPECT_EQ(r.path, "/");
  EXPECT_EQ(r.params, (platform::Params{{"A", "1"}, {"B", "3"}, {"C", " x y"}}));
  ASSERT_TRUE(DecodeRequest("POST", "/?A=1", "application/json", "B=3", &r));
  EXPECT_EQ(r.params, (platform::Params{{"A", "1"}}));
  ASSERT_TRUE(DecodeRequest("GET", "/", "", "", &r));
  EXPECT_TRUE(r.params.empty());
  EXPECT_FALSE(DecodeRequest("GET", "/?A=%4", "", "", &r));
  EXPECT_FALSE(DecodeRequest("POST", "/", "application/x-www-form-urlencoded", "A=%zz", &r));
  Open(Style::kTuya);
  Response bad = platform_->Malformed(r);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["code"], "InvalidParameter");
}

// --- CreateOTAStaticUpgradeJob validation ---------------------------------

struct Case {
  std::string name;
  platform::Params set;
  std::vector<std::string> erase;
  std::string code;  // "" = accepted
};

platform::Params Devices(int n, int first = 1) {
  platform::Params p;
  for (int i = 0; i < n; ++i) p[fmt::format("TargetDeviceName.{}", i + first)] = fmt::format("dev-{}", i);
  return p;
}

platform::Params Tags(int n) {
  platform::Params p;
  for (int i = 1; i <= n; ++i) {
    p[fmt::format("Tag.{}.Key", i)] = fmt::format("k{}", i);
    p[fmt::format("Tag.{}.Value", i)] = "v";
  }
  return p;
}

platform::Params Merge(platform::Params a, const platform::Params& b) {
  for (const auto& [k, v] : b) a[k] = v;
  return a;
}

TEST_F(PlatformTest, EveryValidationRuleHasItsCode) {
  Open(Style::kAlibaba);
  const platform::Params base = {
      {"FirmwareId", "178"}, {"ProductKey", "pk1"}, {"TargetSelection", "GRAY"}, {"GrayPercent", "10"}};
  const platform::Params specific = {{"TargetSelection", "SPECIFIC"}};
  const std::vector<Case> cases = {
      {"valid gray", {}, {}, ""},
      {"no firmware", {}, {"FirmwareId"}, "MissingFirmwareId"},
      {"empty firmware", {{"FirmwareId", ""}}, {}, "MissingFirmwareId"},
      {"no product", {}, {"ProductKey"}, "MissingProductKey"},
      {"no selection", {}, {"TargetSelection"}, "MissingTargetSelection"},
      {"lower-case selection", {{"TargetSelection", "gray"}}, {}, "InvalidParameter.TargetSelection"},
      {"unknown selection", {{"TargetSelection", "SOME"}}, {}, "InvalidParameter.TargetSelection"},
      {"no gray percent", {}, {"GrayPercent"}, "MissingGrayPercent"},
      {"gray 0", {{"GrayPercent", "0"}}, {}, "InvalidParameter.GrayPercent"},
      {"gray 101", {{"GrayPercent", "101"}}, {}, "InvalidParameter.GrayPercent"},
      {"gray fraction", {{"GrayPercent", "10.5"}}, {}, "InvalidParameter.GrayPercent"},
      {"gray negative", {{"GrayPercent", "-5"}}, {}, "InvalidParameter.GrayPercent"},
      {"gray percent sign", {{"GrayPercent", "10%"}}, {}, "InvalidParameter.GrayPercent"},
      {"gray 1", {{"GrayPercent", "1"}}, {}, ""},
      {"gray 100", {{"GrayPercent", "100"}}, {}, ""},
      {"group without id", {{"TargetSelection", "GROUP"}, {"GroupType", "LINK_PLATFORM"}}, {}, "MissingGroupId"},
      {"group without type (alibaba)", {{"TargetSelection", "GROUP"}, {"GroupId", "g1"}}, {}, "MissingGroupType"},
      {"group with another type",
       {{"TargetSelection", "GROUP"}, {"GroupId", "g1"}, {"GroupType", "OTHER"}},
       {},
       "InvalidParameter.GroupType"},
      {"group", {{"TargetSelection", "GROUP"}, {"GroupId", "g1"}, {"GroupType", "LINK_PLATFORM"}}, {}, ""},
      {"specific without devices", specific, {}, "MissingTargetDeviceName"},
      {"specific 200", Merge(specific, Devices(200)), {}, ""},
      {"specific 201", Merge(specific, Devices(201)), {}, "iot.ota.TooManyDevices"},
      {"specific duplicate",
       Merge(specific, {{"TargetDeviceName.1", "a"}, {"TargetDeviceName.2", "a"}}),
       {},
       "InvalidParameter.TargetDeviceName"},
      {"specific 0-based", Merge(specific, Devices(2, 0)), {}, "InvalidParameter.TargetDeviceName"},
      {"specific gap",
       Merge(specific, {{"TargetDeviceName.1", "a"}, {"TargetDeviceName.3", "b"}}),
       {},
       "InvalidParameter.TargetDeviceName"},
      {"specific bare name", Merge(specific, {{"TargetDeviceName", "a"}}), {}, "InvalidParameter.TargetDeviceName"},
      {"specific empty name", Merge(specific, {{"TargetDeviceName.1", ""}}), {}, "InvalidParameter.TargetDeviceName"},
      {"all", {{"TargetSelection", "ALL"}}, {}, ""},
      {"src versions", {{"SrcVersion.1", "1.0"}, {"SrcVersion.2", "1.1"}}, {}, ""},
      {"src version twice", {{"SrcVersion.1", "1.0"}, {"SrcVersion.2", "1.0"}}, {}, "InvalidParameter.SrcVersion"},
      {"src version 0-based", {{"SrcVersion.0", "1.0"}}, {}, "InvalidParameter.SrcVersion"},
      {"retry interval 15", {{"RetryInterval", "15"}, {"RetryCount", "1"}}, {}, "InvalidParameter.RetryInterval"},
      {"retry interval text", {{"RetryInterval", "ten"}, {"RetryCount", "1"}}, {}, "InvalidParameter.RetryInterval"},
      {"retry interval alone", {{"RetryInterval", "60"}}, {}, "MissingRetryCount"},
      {"retry count alone", {{"RetryCount", "1"}}, {}, "InvalidParameter.RetryCount"},
      {"retry count 3", {{"RetryInterval", "60"}, {"RetryCount", "3"}}, {}, "InvalidParameter.RetryCount"},
      {"retry 0 x 1", {{"RetryInterval", "0"}, {"RetryCount", "1"}}, {}, ""},
      {"retry 1440 x 5", {{"RetryInterval", "1440"}, {"RetryCount", "5"}}, {}, ""},
      {"retry not below timeout",
       {{"RetryInterval", "60"}, {"RetryCount", "2"}, {"TimeoutInMinutes", "60"}},
       {},
       "InvalidParameter.RetryInterval"},
      {"retry below timeout", {{"RetryInterval", "30"}, {"RetryCount", "2"}, {"TimeoutInMinutes", "60"}}, {}, ""},
      {"timeout 0", {{"TimeoutInMinutes", "0"}}, {}, "InvalidParameter.TimeoutInMinutes"},
      {"timeout 1441", {{"TimeoutInMinutes", "1441"}}, {}, "InvalidParameter.TimeoutInMinutes"},
      {"timeout 1", {{"TimeoutInMinutes", "1"}}, {}, ""},
      {"timeout 1440", {{"TimeoutInMinutes", "1440"}}, {}, ""},
      {"need push yes", {{"NeedPush", "yes"}}, {}, "InvalidParameter.NeedPush"},
      {"need confirm 1", {{"NeedConfirm", "1"}}, {}, "InvalidParameter.NeedConfirm"},
      {"flags", {{"NeedPush", "false"}, {"NeedConfirm", "true"}}, {}, ""},
      {"protocol MQTT", {{"DownloadProtocol", "MQTT"}}, {}, "InvalidParameter.DownloadProtocol"},
      {"protocol HTTPS", {{"DownloadProtocol", "HTTPS"}}, {}, ""},
      {"10 tags", Tags(10), {}, ""},
      {"11 tags", Tags(11), {}, "iot.ota.TooManyTags"},
      {"tag key 30", {{"Tag.1.Key", std::string(30, 'k')}, {"Tag.1.Value", "v"}}, {}, ""},
      {"tag key 31", {{"Tag.1.Key", std::string(31, 'k')}, {"Tag.1.Value", "v"}}, {}, "InvalidParameter.Tag"},
      {"tag key dash", {{"Tag.1.Key", "a-b"}, {"Tag.1.Value", "v"}}, {}, "InvalidParameter.Tag"},
      {"tag without value", {{"Tag.1.Key", "a"}}, {}, "MissingTag.1.Value"},
      {"tag without key", {{"Tag.1.Value", "v"}}, {}, "MissingTag.1.Key"},
      {"tag twice",
       {{"Tag.1.Key", "a"}, {"Tag.1.Value", "v"}, {"Tag.2.Key", "a"}, {"Tag.2.Value", "w"}},
       {},
       "InvalidParameter.Tag"},
      {"tag 0-based", {{"Tag.0.Key", "a"}, {"Tag.0.Value", "v"}}, {}, "InvalidParameter.Tag"},
      {"tag odd field", {{"Tag.1.Name", "a"}}, {}, "InvalidParameter.Tag"},
      {"unknown parameters are ignored", {{"ScheduleTime", "0"}, {"Whatever", "x"}}, {}, ""},
  };
  int64_t accepted = 0;
  for (const auto& c : cases) {
    platform::Params p = Merge(base, c.set);
    for (const auto& e : c.erase) p.erase(e);
    Response r = Call("CreateOTAStaticUpgradeJob", p, "POST");
    json j = Body(r);
    EXPECT_EQ(r.status, 200) << c.name;
    if (c.code.empty()) {
      ++accepted;
      EXPECT_TRUE(j["Success"].get<bool>()) << c.name << ": " << r.body;
    } else {
      EXPECT_FALSE(j["Success"].get<bool>()) << c.name;
      EXPECT_EQ(j["Code"], c.code) << c.name << ": " << r.body;
      EXPECT_FALSE(j["ErrorMessage"].get<std::string>().empty()) << c.name;
      EXPECT_EQ(j["RequestId"], r.request_id);
      EXPECT_EQ(r.outcome, c.code);
    }
    EXPECT_EQ(Jobs(), accepted) << c.name << ": a refused call creates nothing";
  }
}

TEST_F(PlatformTest, TuyaStyleNeedsNoGroupTypeButAcceptsTagsAndGroupType) {
  Open(Style::kTuya);
  Response r = Call("CreateOTAStaticUpgradeJob", {{"FirmwareId", "178"},
                                                  {"ProductKey", "pk1"},
                                                  {"TargetSelection", "GROUP"},
                                                  {"GroupId", "g1"},
                                                  {"Tag.1.Key", "otaroll.intent"},
                                                  {"Tag.1.Value", "i-1"}});
  EXPECT_TRUE(Body(r)["success"].get<bool>()) << r.body;
  r = Call("CreateOTAStaticUpgradeJob", {{"FirmwareId", "178"},
                                         {"ProductKey", "pk1"},
                                         {"TargetSelection", "GROUP"},
                                         {"GroupId", "g1"},
                                         {"GroupType", "LINK_PLATFORM"}});
  EXPECT_TRUE(Body(r)["success"].get<bool>()) << r.body;
  r = Call("CreateOTAStaticUpgradeJob", {{"FirmwareId", "178"}, {"ProductKey", "pk1"}, {"TargetSelection", "GRAY"}});
  EXPECT_EQ(r.body, fmt::format(R"({{"code":"MissingGrayPercent","errorMessage":"The parameter GrayPercent is )"
                                R"(required.","requestId":"{}","success":false}})",
                                r.request_id));
}

// --- Both styles, exactly ---------------------------------------------------

TEST_F(PlatformTest, CreateAnswerAlibabaStyle) {
  Open(Style::kAlibaba);
  clock_.Set(kT0 + std::chrono::milliseconds(239));
  Response r = Call("CreateOTAStaticUpgradeJob", FullJob(), "POST");
  ASSERT_EQ(r.status, 200);
  json j = Body(r);
  std::string id = j["Data"]["JobId"];
  EXPECT_TRUE(std::regex_match(id, std::regex("[1-9][0-9]{18}"))) << id;
  EXPECT_TRUE(std::regex_match(r.request_id, std::regex("[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-"
                                                        "[0-9A-F]{12}")))
      << r.request_id;
  EXPECT_EQ(r.body, fmt::format(R"({{"RequestId":"{}","Success":true,"Data":{{"JobId":"{}","UtcCreate":)"
                                R"("2024-11-20T08:50:00.239Z"}}}})",
                                r.request_id, id));
  EXPECT_EQ(r.outcome, id);
}

TEST_F(PlatformTest, CreateAnswerTuyaStyle) {
  Open(Style::kTuya);
  clock_.Set(kT0 + std::chrono::milliseconds(239));
  Response r = Call("CreateOTAStaticUpgradeJob", FullJob(), "POST");
  ASSERT_EQ(r.status, 200);
  json j = Body(r);
  std::string id = j["data"]["firmwareId"];
  EXPECT_TRUE(std::regex_match(r.request_id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                                        "[0-9a-f]{12}")))
      << r.request_id;
  EXPECT_EQ(r.body, fmt::format(R"({{"code":"","data":{{"firmwareId":"{}","utcCreate":"2024-11-20T08:50:00.239Z"}},)"
                                R"("requestId":"{}","success":true}})",
                                id, r.request_id));
}

TEST_F(PlatformTest, QueryAnswerAlibabaStyle) {
  Open(Style::kAlibaba);
  std::string id = Create(FullJob());
  Response r = Call("QueryOTAJob", {{"JobId", id}});
  const std::string t = "2024-11-20T08:50:00.000Z";
  EXPECT_EQ(r.body,
            fmt::format(R"({{"RequestId":"{0}","Success":true,"Data":{{"JobId":"{1}","UtcCreate":"{2}",)"
                        R"("UtcModified":"{2}","ProductKey":"pk1","FirmwareId":"178","UtcStartTime":"{2}",)"
                        R"("JobStatus":"IN_PROGRESS","JobType":"UPGRADE_FIRMWARE","TargetSelection":"GRAY",)"
                        R"("SelectionType":"STATIC","GrayPercent":"10","SrcVersions":{{"SrcVersion":["1.0.1",)"
                        R"("1.0.2"]}},"RetryInterval":60,"RetryCount":1,"TimeoutInMinutes":1440,"NeedPush":true,)"
                        R"("NeedConfirm":false,"DownloadProtocol":"HTTPS","Tags":{{"OtaTagDTO":[{{"Key":)"
                        R"("otaroll.intent","Value":"abc"}}]}}}}}})",
                        r.request_id, id, t));
}

TEST_F(PlatformTest, QueryAnswerTuyaStyle) {
  Open(Style::kTuya);
  std::string id = Create(FullJob());
  Response r = Call("QueryOTAJob", {{"JobId", id}});
  const std::string t = "2024-11-20T08:50:00.000Z";
  EXPECT_EQ(r.body,
            fmt::format(R"({{"code":"","data":{{"downloadProtocol":"HTTPS","firmwareId":"178","grayPercent":"10",)"
                        R"("jobId":"{1}","jobStatus":"IN_PROGRESS","jobType":"UPGRADE_FIRMWARE","needConfirm":false,)"
                        R"("needPush":true,"productKey":"pk1","retryCount":1,"retryInterval":60,)"
                        R"("selectionType":"STATIC","srcVersions":{{"srcVersion":["1.0.1","1.0.2"]}},)"
                        R"("tags":{{"otaTagDTO":[{{"key":"otaroll.intent","value":"abc"}}]}},)"
                        R"("targetSelection":"GRAY","timeoutInMinutes":1440,"utcCreate":"{2}","utcModified":"{2}",)"
                        R"("utcStartTime":"{2}"}},"requestId":"{0}","success":true}})",
                        r.request_id, id, t));
}

TEST_F(PlatformTest, QueryReportsDefaultsAndGroups) {
  Open(Style::kAlibaba);
  std::string id = Create({{"FirmwareId", "178"},
                           {"ProductKey", "pk1"},
                           {"TargetSelection", "GROUP"},
                           {"GroupId", "g1"},
                           {"GroupType", "LINK_PLATFORM"}});
  json d = Body(Call("QueryOTAJob", {{"JobId", id}}))["Data"];
  EXPECT_EQ(d["GroupId"], "g1");
  EXPECT_EQ(d["GroupType"], "LINK_PLATFORM");
  EXPECT_FALSE(d.contains("GrayPercent"));
  EXPECT_FALSE(d.contains("RetryInterval"));
  EXPECT_FALSE(d.contains("TimeoutInMinutes"));
  EXPECT_EQ(d["NeedPush"], true);
  EXPECT_EQ(d["NeedConfirm"], false);
  EXPECT_EQ(d["DownloadProtocol"], "HTTPS");
  EXPECT_EQ(d["SrcVersions"]["SrcVersion"], json::array());
  EXPECT_EQ(d["Tags"]["OtaTagDTO"], json::array());
}

TEST_F(PlatformTest, QueryOfAnUnknownJob) {
  for (Style style : {Style::kAlibaba, Style::kTuya}) {
    Open(style);
    Response r = Call("QueryOTAJob", {{"JobId", "1000000000000000000"}});
    EXPECT_EQ(r.status, 200);
    json j = Body(r);
    EXPECT_EQ(j[style == Style::kTuya ? "code" : "Code"], "iot.ota.JobNotFound");
    EXPECT_EQ(j[style == Style::kTuya ? "success" : "Success"], false);
    EXPECT_EQ(Body(Call("QueryOTAJob"))[style == Style::kTuya ? "code" : "Code"], "MissingJobId");
  }
}

TEST_F(PlatformTest, GatewayErrorsInBothStyles) {
  Open(Style::kAlibaba);
  platform::Params p = Signed("QueryOTAJob", {});
  p["AccessKeyId"] = "nobody";
  Response r = Send(p);
  EXPECT_EQ(r.body, fmt::format(R"({{"RequestId":"{}","Code":"InvalidAccessKeyId.NotFound","Message":"Specified )"
                                R"(access key is not found."}})",
                                r.request_id));
  Open(Style::kTuya);
  r = Send(p);
  EXPECT_EQ(r.body, fmt::format(R"({{"code":"InvalidAccessKeyId.NotFound","message":"Specified access key is not )"
                                R"(found.","requestId":"{}"}})",
                                r.request_id));
}

TEST_F(PlatformTest, ListJobsInBothStyles) {
  Open(Style::kAlibaba);
  std::string id = Create(FullJob());
  Response r = Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"CurrentPage", "1"}, {"PageSize", "10"}});
  const std::string t = "2024-11-20T08:50:00.000Z";
  EXPECT_EQ(r.body, fmt::format(R"({{"RequestId":"{0}","Success":true,"Total":1,"PageSize":10,"PageCount":1,)"
                                R"("CurrentPage":1,"Data":{{"SimpleOTAJobInfo":[{{"JobId":"{1}","UtcCreate":"{2}",)"
                                R"("UtcModified":"{2}","ProductKey":"pk1","FirmwareId":"178","UtcStartTime":"{2}",)"
                                R"("JobStatus":"IN_PROGRESS","JobType":"UPGRADE_FIRMWARE","TargetSelection":"GRAY",)"
                                R"("SelectionType":"STATIC","Tags":{{"OtaTagDTO":[{{"Key":"otaroll.intent",)"
                                R"("Value":"abc"}}]}}}}]}}}})",
                                r.request_id, id, t));
  Open(Style::kTuya);
  r = Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"CurrentPage", "1"}, {"PageSize", "10"}});
  json j = Body(r);
  EXPECT_EQ(j["code"], "");
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(j["pageSize"], 10);
  EXPECT_EQ(j["pageCount"], 1);
  EXPECT_EQ(j["currentPage"], 1);
  ASSERT_TRUE(j["data"].is_array());
  EXPECT_EQ(j["data"][0]["jobId"], id);
  EXPECT_EQ(j["data"][0]["tags"]["otaTagDTO"][0]["key"], "otaroll.intent");
  EXPECT_FALSE(j["data"][0].contains("grayPercent")) << "list items carry no GrayPercent";
}

TEST_F(PlatformTest, ListTasksInBothStyles) {
  for (Style style : {Style::kAlibaba, Style::kTuya}) {
    Open(style);
    std::string id = Create({{"FirmwareId", "178"},
                             {"ProductKey", style == Style::kTuya ? "pk-tuya" : "pk-alibaba"},  // no busy devices
                             {"TargetSelection", "SPECIFIC"},
                             {"TargetDeviceName.1", "dev-b"},
                             {"TargetDeviceName.2", "dev-a"},
                             {"SrcVersion.1", "1.0.1"}});
    Response r = Call("ListOTATaskByJob", {{"JobId", id}, {"CurrentPage", "1"}, {"PageSize", "10"}});
    json j = Body(r);
    if (style == Style::kAlibaba) {
      EXPECT_EQ(j["Total"], 2);
      EXPECT_EQ(j["PageCount"], 1);
      json item = j["Data"]["SimpleOTATaskInfo"][0];
      EXPECT_EQ(item["DeviceName"], "dev-b");
      EXPECT_EQ(item["JobId"], id);
      EXPECT_EQ(item["TaskStatus"], "QUEUED");
      EXPECT_EQ(item["Progress"], "0");
      EXPECT_EQ(item["SrcVersion"], "1.0.1");
      EXPECT_EQ(item["DestVersion"], "firmware-178");
      EXPECT_EQ(item["UtcCreate"], "2024-11-20T08:50:00.000Z");
      EXPECT_TRUE(item["TaskId"].is_string());
      for (const char* key : {"TaskId", "JobId", "ProductKey", "DeviceName", "FirmwareId", "SrcVersion", "DestVersion",
                              "TaskStatus", "Progress", "TaskDesc", "UtcCreate", "UtcModified"}) {
        EXPECT_TRUE(item.contains(key)) << key;
      }
    } else {
      EXPECT_EQ(j["total"], 2);
      ASSERT_TRUE(j["data"].is_array());
      EXPECT_EQ(j["data"][1]["deviceName"], "dev-a");
      EXPECT_EQ(j["data"][1]["taskStatus"], "QUEUED");
    }
  }
}

TEST_F(PlatformTest, CancelInBothStyles) {
  Open(Style::kAlibaba);
  std::string id = Create(FullJob());
  Response r = Call("CancelOTATaskByJob", {{"JobId", id}, {"CancelQueuedTask", "true"}});
  EXPECT_EQ(r.body, fmt::format(R"({{"RequestId":"{}","Success":true}})", r.request_id));
  Open(Style::kTuya);
  r = Call("CancelOTATaskByJob", {{"JobId", id}, {"CancelInProgressTask", "true"}});
  EXPECT_EQ(r.body, fmt::format(R"({{"code":"","requestId":"{}","success":true}})", r.request_id));
}

// --- Paging -------------------------------------------------------------------

TEST_F(PlatformTest, JobPagingNewestFirst) {
  Open(Style::kAlibaba);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Create(FullJob()));
    clock_.Sleep(seconds(1));
  }
  Create(Merge(FullJob(), {{"FirmwareId", "other"}}));
  std::vector<std::string> seen;
  for (int page = 1; page <= 4; ++page) {
    json j = Body(Call("ListOTAJobByFirmware",
                       {{"FirmwareId", "178"}, {"CurrentPage", std::to_string(page)}, {"PageSize", "2"}}));
    EXPECT_EQ(j["Total"], 5);
    EXPECT_EQ(j["PageCount"], 3);
    EXPECT_EQ(j["CurrentPage"], page);
    EXPECT_EQ(j["PageSize"], 2);
    size_t expected = page <= 2 ? 2 : page == 3 ? 1 : 0;
    EXPECT_EQ(j["Data"]["SimpleOTAJobInfo"].size(), expected);
    for (const auto& item : j["Data"]["SimpleOTAJobInfo"]) seen.push_back(item["JobId"]);
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));
  json empty = Body(Call("ListOTAJobByFirmware", {{"FirmwareId", "nothing"}}));
  EXPECT_EQ(empty["Total"], 0);
  EXPECT_EQ(empty["PageCount"], 0);
  EXPECT_EQ(empty["PageSize"], 10) << "default page size";
  EXPECT_EQ(Body(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"PageSize", "200"}}))["Success"], true);
  EXPECT_EQ(Body(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"PageSize", "201"}}))["Code"],
            "InvalidParameter.PageSize");
  EXPECT_EQ(Body(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"PageSize", "0"}}))["Code"],
            "InvalidParameter.PageSize");
  EXPECT_EQ(Body(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}, {"CurrentPage", "0"}}))["Code"],
            "InvalidParameter.CurrentPage");
  EXPECT_EQ(Body(Call("ListOTAJobByFirmware", {{"CurrentPage", "1"}}))["Code"], "MissingFirmwareId");
}

TEST_F(PlatformTest, TaskPagingAndFilters) {
  FleetConfig fleet;
  fleet.fleet_size = 250;
  Open(Style::kAlibaba, {}, fleet);
  std::string id = Create({{"FirmwareId", "178"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  std::set<std::string> devices;
  for (int page = 1; page <= 3; ++page) {
    json j =
        Body(Call("ListOTATaskByJob", {{"JobId", id}, {"CurrentPage", std::to_string(page)}, {"PageSize", "100"}}));
    EXPECT_EQ(j["Total"], 250);
    EXPECT_EQ(j["PageCount"], 3);
    EXPECT_EQ(j["Data"]["SimpleOTATaskInfo"].size(), page < 3 ? 100u : 50u);
    for (const auto& t : j["Data"]["SimpleOTATaskInfo"]) devices.insert(t["DeviceName"]);
  }
  EXPECT_EQ(devices.size(), 250u);
  EXPECT_EQ(*devices.begin(), "pk1-0001");
  EXPECT_EQ(Body(Call("ListOTATaskByJob", {{"JobId", id}, {"PageSize", "101"}}))["Code"], "InvalidParameter.PageSize");
  EXPECT_EQ(Body(Call("ListOTATaskByJob", {{"JobId", id}, {"PageSize", "100"}, {"CurrentPage", "1000"}}))["Success"],
            true);
  EXPECT_EQ(Body(Call("ListOTATaskByJob", {{"JobId", id}, {"PageSize", "100"}, {"CurrentPage", "1001"}}))["Code"],
            "InvalidParameter.CurrentPage");
  EXPECT_EQ(Body(Call("ListOTATaskByJob", {{"JobId", id}, {"TaskStatus", "DONE"}}))["Code"],
            "InvalidParameter.TaskStatus");
  EXPECT_EQ(Body(Call("ListOTATaskByJob", {{"JobId", "1000000000000000000"}}))["Code"], "iot.ota.JobNotFound");

  clock_.Set(kT0 + seconds(40));
  auto totals = StatusTotals(id);
  int64_t sum = 0;
  for (const auto& [status, n] : totals) sum += n;
  EXPECT_EQ(sum, 250);
  EXPECT_GT(totals["SUCCEEDED"], 0);
  EXPECT_GT(totals["IN_PROGRESS"], 0);
  json queued = Body(Call("ListOTATaskByJob", {{"JobId", id}, {"TaskStatus", "IN_PROGRESS"}, {"PageSize", "100"}}));
  for (const auto& t : queued["Data"]["SimpleOTATaskInfo"]) EXPECT_EQ(t["TaskStatus"], "IN_PROGRESS");
}

// --- The fleet through the API ----------------------------------------------

TEST_F(PlatformTest, TasksProgressAndTheJobCompletes) {
  FleetConfig fleet;
  fleet.fleet_size = 1000;
  fleet.task_ms = 10000;
  fleet.failure_percent = 10;
  Open(Style::kAlibaba, {}, fleet);
  std::string id = Create(FullJob());  // 10 % gray: 100 devices
  auto start = StatusTotals(id);
  EXPECT_EQ(start["QUEUED"], 100);
  clock_.Set(kT0 + seconds(10));
  auto end = StatusTotals(id);
  EXPECT_EQ(end["SUCCEEDED"] + end["FAILED"], 100);
  EXPECT_GT(end["FAILED"], 0);
  EXPECT_LT(end["FAILED"], 30);
  json d = Body(Call("QueryOTAJob", {{"JobId", id}}))["Data"];
  EXPECT_EQ(d["JobStatus"], "COMPLETED");
  EXPECT_TRUE(d.contains("UtcEndTime"));
}

TEST_F(PlatformTest, CancelSemantics) {
  FleetConfig fleet;
  fleet.fleet_size = 400;
  Open(Style::kAlibaba, {}, fleet);
  std::string id = Create({{"FirmwareId", "178"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  EXPECT_EQ(Body(Call("CancelOTATaskByJob", {{"JobId", id}}))["Code"], "InvalidParameter.CancelTask");
  EXPECT_EQ(Body(Call("CancelOTATaskByJob", {{"JobId", id}, {"CancelQueuedTask", "false"}}))["Code"],
            "InvalidParameter.CancelTask");
  EXPECT_EQ(Body(Call("CancelOTATaskByJob", {{"JobId", id}, {"CancelQueuedTask", "maybe"}}))["Code"],
            "InvalidParameter.CancelQueuedTask");
  EXPECT_EQ(Body(Call("CancelOTATaskByJob", {{"JobId", "1000000000000000000"}, {"CancelQueuedTask", "true"}}))["Code"],
            "iot.ota.JobNotFound");
  EXPECT_EQ(Body(Call("CancelOTATaskByJob", {{"CancelQueuedTask", "true"}}))["Code"], "MissingJobId");

  clock_.Set(kT0 + seconds(15));
  auto at_cancel = StatusTotals(id);
  ASSERT_GT(at_cancel["QUEUED"] + at_cancel["NOTIFIED"], 0);
  ASSERT_GT(at_cancel["IN_PROGRESS"], 0);
  Response r =
      Call("CancelOTATaskByJob", {{"JobId", id}, {"CancelQueuedTask", "true"}, {"CancelNotifiedTask", "true"}});
  EXPECT_EQ(Body(r)["Success"], true) << r.body;
  auto right_after = StatusTotals(id);
  EXPECT_EQ(right_after["CANCELED"], at_cancel["QUEUED"] + at_cancel["NOTIFIED"]);
  EXPECT_EQ(right_after["IN_PROGRESS"], at_cancel["IN_PROGRESS"]);
  clock_.Set(kT0 + seconds(120));
  auto later = StatusTotals(id);
  EXPECT_EQ(later["CANCELED"], at_cancel["QUEUED"] + at_cancel["NOTIFIED"]);
  EXPECT_EQ(later["SUCCEEDED"] + later["FAILED"],
            at_cancel["IN_PROGRESS"] + at_cancel["SUCCEEDED"] + at_cancel["FAILED"]);
  json d = Body(Call("QueryOTAJob", {{"JobId", id}}))["Data"];
  EXPECT_EQ(d["JobStatus"], "CANCELED");
  EXPECT_EQ(d["UtcEndTime"], "2024-11-20T08:50:15.000Z");
}

TEST_F(PlatformTest, DevicesBusyInAnEarlierJobGetFailedTasks) {
  FleetConfig fleet;
  fleet.fleet_size = 50;
  Open(Style::kAlibaba, {}, fleet);
  Create({{"FirmwareId", "178"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  clock_.Set(kT0 + seconds(10));
  std::string second = Create({{"FirmwareId", "179"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  json j = Body(Call("ListOTATaskByJob", {{"JobId", second}, {"PageSize", "100"}}));
  for (const auto& t : j["Data"]["SimpleOTATaskInfo"]) {
    EXPECT_EQ(t["TaskStatus"], "FAILED");
    EXPECT_EQ(t["TaskDesc"], "device is upgrading in another job");
  }
  std::string third = Create({{"FirmwareId", "179"}, {"ProductKey", "pk2"}, {"TargetSelection", "ALL"}});
  EXPECT_EQ(StatusTotals(third)["QUEUED"], 50) << "another product";

  FleetConfig relaxed = fleet;
  relaxed.busy_devices = false;
  Open(Style::kAlibaba, {}, relaxed);
  std::string fourth = Create({{"FirmwareId", "180"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  EXPECT_EQ(StatusTotals(fourth)["QUEUED"], 50);
}

// --- Faults -----------------------------------------------------------------

TEST_F(PlatformTest, FailRateAnswers503BeforeDoingAnything) {
  Open(Style::kAlibaba, FaultConfig{1, 0, 0, 0});
  Response r = Call("CreateOTAStaticUpgradeJob", FullJob());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Body(r)["Code"], "ServiceUnavailable");
  EXPECT_FALSE(r.drop);
  EXPECT_EQ(Jobs(), 0);
}

TEST_F(PlatformTest, ThrottleRateAnswersThrottlingAndDoesNothing) {
  Open(Style::kTuya, FaultConfig{0, 1, 0, 0});
  Response r = Call("CreateOTAStaticUpgradeJob", FullJob());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["code"], "Throttling.User");
  EXPECT_EQ(Jobs(), 0);
}

// The platform's documented per-account limits: 20 creates, 10 reads and 5
// cancels a second, per access key, refused with Throttling.User having
// done nothing.
TEST_F(PlatformTest, ThePerAccountRateLimitsAreEnforced) {
  limits_ = RateLimits{};
  Open(Style::kTuya);
  int created = 0, throttled = 0;
  for (int i = 0; i < 25; ++i) {
    Response r = Call("CreateOTAStaticUpgradeJob", FullJob());
    if (r.status == 200) {
      ++created;
    } else {
      EXPECT_EQ(r.status, 400);
      EXPECT_EQ(Body(r)["code"], "Throttling.User");
      ++throttled;
    }
  }
  EXPECT_EQ(created, 20);
  EXPECT_EQ(throttled, 5);
  EXPECT_EQ(Jobs(), 20);
  // Reads have a budget of their own.
  int reads = 0;
  for (int i = 0; i < 12; ++i) reads += Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}}).status == 200;
  EXPECT_EQ(reads, 10);
  // The budget refills with time: 100 ms is two more creates.
  clock_.Sleep(std::chrono::milliseconds(100));
  EXPECT_EQ(Call("CreateOTAStaticUpgradeJob", FullJob()).status, 200);
  EXPECT_EQ(Call("CreateOTAStaticUpgradeJob", FullJob()).status, 200);
  EXPECT_EQ(Call("CreateOTAStaticUpgradeJob", FullJob()).status, 400);
}

TEST_F(PlatformTest, DropRatePerformsTheCallThenDrops) {
  Open(Style::kAlibaba, FaultConfig{0, 0, 1, 0});
  Response r = Call("CreateOTAStaticUpgradeJob", FullJob());
  EXPECT_TRUE(r.drop);
  EXPECT_EQ(Jobs(), 1);
  EXPECT_EQ(r.outcome.size(), 19u);
}

TEST_F(PlatformTest, FaultsFollowTheSeed) {
  auto pattern = [this](uint64_t seed) {
    FleetConfig fleet;
    fleet.seed = seed;
    Open(Style::kAlibaba, FaultConfig{0.3, 0.3, 0.3, 0}, fleet);
    std::string out;
    for (int i = 0; i < 200; ++i) {
      Response r = Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
      out += r.status == 503 ? 'F' : r.status == 400 ? 'T' : r.drop ? 'D' : '.';
    }
    return out;
  };
  std::string a = pattern(5);
  EXPECT_EQ(pattern(5), a);
  EXPECT_NE(pattern(6), a);
  EXPECT_NEAR(std::count(a.begin(), a.end(), 'F'), 60, 25);
  EXPECT_GT(std::count(a.begin(), a.end(), 'T'), 15);
  EXPECT_GT(std::count(a.begin(), a.end(), 'D'), 10);
  EXPECT_GT(std::count(a.begin(), a.end(), '.'), 40);
}

TEST_F(PlatformTest, LatencyWaitsThroughTheClock) {
  Open(Style::kAlibaba, FaultConfig{0, 0, 0, 250});
  Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}});
  EXPECT_EQ(clock_.slept(), std::chrono::milliseconds(500));
}

// --- Ids and persistence ------------------------------------------------------

TEST_F(PlatformTest, JobIdsAreUnique19DigitStrings) {
  Open(Style::kAlibaba);
  std::set<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    std::string id = Create(FullJob());
    EXPECT_TRUE(std::regex_match(id, std::regex("[1-9][0-9]{18}"))) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 60u);
  // Reopened with the same seed: new ids still.
  Open(Style::kAlibaba);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(ids.insert(Create(FullJob())).second);
}

TEST_F(PlatformTest, JobsSurviveReopening) {
  FleetConfig fleet;
  fleet.fleet_size = 30;
  Open(Style::kAlibaba, {}, fleet);
  std::string id = Create(FullJob());
  clock_.Set(kT0 + seconds(30));
  ASSERT_EQ(Body(Call("CancelOTATaskByJob", {{"JobId", id}, {"CancelInProgressTask", "true"}}))["Success"], true);
  clock_.Set(kT0 + seconds(40));
  json before = Body(Call("QueryOTAJob", {{"JobId", id}}))["Data"];
  json tasks_before = Body(Call("ListOTATaskByJob", {{"JobId", id}, {"PageSize", "100"}}))["Data"];

  FleetConfig other;  // restarted with other fleet options: the job keeps its own
  other.fleet_size = 5;
  other.seed = 77;
  Open(Style::kAlibaba, {}, other);
  EXPECT_EQ(Body(Call("QueryOTAJob", {{"JobId", id}}))["Data"], before);
  EXPECT_EQ(Body(Call("ListOTATaskByJob", {{"JobId", id}, {"PageSize", "100"}}))["Data"], tasks_before);
  EXPECT_EQ(Body(Call("ListOTAJobByFirmware", {{"FirmwareId", "178"}}))["Total"], 1);
}

TEST_F(PlatformTest, BusyDevicesAreRememberedAcrossRestarts) {
  FleetConfig fleet;
  fleet.fleet_size = 20;
  Open(Style::kAlibaba, {}, fleet);
  Create({{"FirmwareId", "178"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  Open(Style::kAlibaba, {}, fleet);
  clock_.Set(kT0 + seconds(5));
  std::string second = Create({{"FirmwareId", "179"}, {"ProductKey", "pk1"}, {"TargetSelection", "ALL"}});
  EXPECT_EQ(StatusTotals(second)["FAILED"], 20);
}

}  // namespace
}  // namespace otaroll::sandbox
