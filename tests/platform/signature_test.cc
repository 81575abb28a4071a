#include "platform/signature.h"

#include <gtest/gtest.h>

namespace otaroll::platform {
namespace {

// API.md §2, official vector 1 (Alibaba "Request signatures", DescribeRegions).
TEST(SignatureTest, OfficialDescribeRegionsVector) {
  Params p = {{"AccessKeyId", "testid"},
              {"Action", "DescribeRegions"},
              {"Format", "XML"},
              {"SignatureMethod", "HMAC-SHA1"},
              {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
              {"SignatureVersion", "1.0"},
              {"Timestamp", "2016-02-23T12:46:24Z"},
              {"Version", "2014-05-26"}};
  EXPECT_EQ(StringToSign("GET", p),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
            "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp"
            "%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
  EXPECT_EQ(SignRequest("GET", p, "testsecret"), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

// API.md §2, official vector 2 (Alibaba SMS page): UTF-8 and JSON in values.
TEST(SignatureTest, OfficialSendSmsVectorWithUtf8AndJson) {
  Params p = {{"AccessKeyId", "testId"},
              {"Action", "SendSms"},
              {"Format", "XML"},
              {"OutId", "123"},
              {"PhoneNumbers", "15300000001"},
              {"RegionId", "cn-hangzhou"},
              {"SignName", "阿里云短信测试专用"},
              {"SignatureMethod", "HMAC-SHA1"},
              {"SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"},
              {"SignatureVersion", "1.0"},
              {"TemplateCode", "SMS_71390007"},
              {"TemplateParam", "{\"customer\":\"test\"}"},
              {"Timestamp", "2017-07-12T02:42:19Z"},
              {"Version", "2017-05-25"}};
  EXPECT_EQ(SignRequest("GET", p, "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
}

// API.md §2, regression vector: POST, 1-based lists sorted in byte order
// (SrcVersion.1 < SrcVersion.10 < SrcVersion.2).
TEST(SignatureTest, PostCreateJobVectorWithListOrdering) {
  Params p = {{"AccessKeyId", "testid"},
              {"Action", "CreateOTAStaticUpgradeJob"},
              {"FirmwareId", "167"},
              {"Format", "JSON"},
              {"GrayPercent", "10"},
              {"ProductKey", "k1nhvyl0000"},
              {"RetryCount", "1"},
              {"RetryInterval", "60"},
              {"SignatureMethod", "HMAC-SHA1"},
              {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
              {"SignatureVersion", "1.0"},
              {"SrcVersion.1", "1.0.1"},
              {"SrcVersion.2", "1.0.2"},
              {"SrcVersion.10", "1.0.10"},
              {"TargetSelection", "GRAY"},
              {"TimeoutInMinutes", "1440"},
              {"Timestamp", "2024-11-19T09:47:43Z"},
              {"Version", "2018-01-20"}};
  std::string query = CanonicalQuery(p);
  EXPECT_NE(query.find("SrcVersion.1=1.0.1&SrcVersion.10=1.0.10&SrcVersion.2=1.0.2"), std::string::npos) << query;
  EXPECT_EQ(SignRequest("POST", p, "testsecret"), "HOcAkfGGlyg/G9AuOuWyNP4B5CM=");
}

TEST(SignatureTest, SignatureParameterIsNotSigned) {
  Params p = {{"AccessKeyId", "testid"}, {"Action", "X"}};
  std::string without = SignRequest("GET", p, "s");
  p["Signature"] = "anything";
  EXPECT_EQ(SignRequest("GET", p, "s"), without);
}

TEST(SignatureTest, PercentEncodingRules) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode(" "), "%20");
  EXPECT_EQ(PercentEncode("*"), "%2A");
  EXPECT_EQ(PercentEncode("+"), "%2B");
  EXPECT_EQ(PercentEncode("/"), "%2F");
  EXPECT_EQ(PercentEncode(":"), "%3A");
  EXPECT_EQ(PercentEncode("é"), "%C3%A9");
  EXPECT_EQ(PercentEncode("="), "%3D");
}

TEST(SignatureTest, MethodIsPartOfTheSignature) {
  Params p = {{"AccessKeyId", "testid"}, {"Action", "X"}};
  EXPECT_NE(SignRequest("GET", p, "s"), SignRequest("POST", p, "s"));
}

TEST(SignatureTest, DecodeFormRoundTripsEncodedValues) {
  Params in = {{"A", "x y+z/é"}, {"Tag.1.Key", "otaroll.intent"}, {"Empty", ""}};
  Params out;
  ASSERT_TRUE(DecodeForm(CanonicalQuery(in), &out));
  EXPECT_EQ(out, in);
  Params plus;
  ASSERT_TRUE(DecodeForm("a=1+2", &plus));
  EXPECT_EQ(plus["a"], "1 2");
}

TEST(SignatureTest, DecodeFormRejectsBrokenEscapes) {
  Params out;
  EXPECT_FALSE(DecodeForm("a=%2", &out));
  EXPECT_FALSE(DecodeForm("a=%zz", &out));
}

TEST(SignatureTest, ConstantTimeCompare) {
  EXPECT_TRUE(SignaturesEqual("abc=", "abc="));
  EXPECT_FALSE(SignaturesEqual("abc=", "abd="));
  EXPECT_FALSE(SignaturesEqual("abc", "abc="));
}

}  // namespace
}  // namespace otaroll::platform
