#include "state/request.h"

#include <gtest/gtest.h>

namespace otaroll::state {
namespace {

TEST(Request, TheStoredTextIsTheSortedCompactObjectAndReadsBack) {
  const RequestParams params = {{"TargetSelection", "GRAY"}, {"GrayPercent", "10"}, {"Note", "ünï \"q\"\\\n"}};
  const std::string text = RequestText(params);
  EXPECT_EQ(text, R"({"GrayPercent":"10","Note":"ünï \"q\"\\\n","TargetSelection":"GRAY"})");
  EXPECT_TRUE(IsRequestText(text));
  EXPECT_EQ(ParseRequest(text), params);
  EXPECT_EQ(RequestText({}), "{}");
  EXPECT_EQ(ParseRequest("{}"), RequestParams{});
}

TEST(Request, AValueThatIsNotUtf8IsReplacedNotThrown) {
  EXPECT_EQ(RequestText({{"TargetDeviceName.1", "dev-\xff"}}), "{\"TargetDeviceName.1\":\"dev-\xEF\xBF\xBD\"}");
}

TEST(Request, OnlyOneObjectOfStringsIsAStoredRequest) {
  for (const char* text : {"", "[]", "\"x\"", "{", R"({"a":1})", R"({"a":null})", R"({"a":{"b":"c"}})",
                           R"({"a":["b"]})", R"({"a":"b"} {})", R"({"a":"b"}x)", "{\"a\":\"\xff\"}"}) {
    EXPECT_FALSE(IsRequestText(text)) << text;
    EXPECT_FALSE(ParseRequest(text).has_value()) << text;
  }
  EXPECT_TRUE(IsRequestText(R"( {"a" : "b", "c":""} )"));
}

TEST(Request, ParamsOfATextThatIsNotOneAreNone) {
  EXPECT_EQ(ParamsOf(R"({"a":"b"})"), (RequestParams{{"a", "b"}}));
  EXPECT_EQ(ParamsOf(R"({"a":1})"), RequestParams{});
  EXPECT_EQ(ParamsOf(""), RequestParams{});
}

}  // namespace
}  // namespace otaroll::state
