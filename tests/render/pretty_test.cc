// PrettyJson writes JSON laid out as nlohmann's dump(2) (the reference),
// without building a tree: every kind of value, empty and nested
// containers, and strings that need escaping or are not valid UTF-8.
#include "render/pretty.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace otaroll::render {
namespace {

using OJson = nlohmann::ordered_json;

const std::vector<std::string> kTexts = {
    "plain",         "",         "quote \" and back\\slash", "\x01 control \x1f, tab\t, line\n, cr\r, \b\f",
    "héllo wörld ✓", "\x7f del",
};

// The same value both ways: written by `write`, built as `tree`.
void Same(const std::function<void(PrettyJson&)>& write, const OJson& tree) {
  std::string out;
  PrettyJson w(out, 0);
  write(w);
  EXPECT_EQ(out, tree.dump(2));
}

TEST(PrettyJson, EveryKindOfValueIsLaidOutAsDump2) {
  Same([](PrettyJson& w) { w.Null(); }, OJson(nullptr));
  Same([](PrettyJson& w) { w.Int(-42); }, OJson(-42));
  Same([](PrettyJson& w) { w.Bool(true); }, OJson(true));
  Same([](PrettyJson& w) { w.BeginObject(), w.EndObject(); }, OJson::object());
  Same([](PrettyJson& w) { w.BeginArray(), w.EndArray(); }, OJson::array());
  for (const std::string& text : kTexts) Same([&](PrettyJson& w) { w.String(text); }, OJson(text));

  OJson tree = OJson::object();
  tree["name"] = "r1";
  tree["empty"] = "";
  tree["none"] = nullptr;
  tree["count"] = 9007199254740993LL;
  tree["flags"] = {true, false};
  tree["nothing"] = OJson::object();
  tree["no items"] = OJson::array();
  tree["texts"] = kTexts;
  tree["key \"with\" quotes\n"] = OJson::array({OJson::object(), OJson::array(), OJson::array({1, 2}),
                                                OJson{{"a", OJson::object()}, {"b", OJson::array({"x"})}}});
  Same(
      [](PrettyJson& w) {
        w.BeginObject();
        w.Key("name").String("r1");
        w.Key("empty").String("");
        w.Key("none").StringOrNull("");
        w.Key("count").Int(9007199254740993LL);
        w.Key("flags").BeginArray();
        w.Bool(true);
        w.Bool(false);
        w.EndArray();
        w.Key("nothing").BeginObject();
        w.EndObject();
        w.Key("no items").BeginArray();
        w.EndArray();
        w.Key("texts").Strings(kTexts);
        w.Key("key \"with\" quotes\n").BeginArray();
        w.BeginObject();
        w.EndObject();
        w.BeginArray();
        w.EndArray();
        w.BeginArray();
        w.Int(1);
        w.Int(2);
        w.EndArray();
        w.BeginObject();
        w.Key("a").BeginObject();
        w.EndObject();
        w.Key("b").Strings({"x"});
        w.EndObject();
        w.EndArray();
        w.EndObject();
      },
      tree);
}

// A value written deeper in a document: its lines after the first are
// indented by the depth, as nlohmann's serializer writes it from there.
TEST(PrettyJson, AValueAtADepthIsIndentedByIt) {
  const OJson tree = {{"a", {1, 2}}, {"b", OJson::object()}};
  std::string want;
  nlohmann::detail::serializer<OJson> serializer(nlohmann::detail::output_adapter<char>(want), ' ');
  serializer.dump(tree, true, false, 2, 4);
  std::string out;
  PrettyJson w(out, 4);
  w.BeginObject();
  w.Key("a").BeginArray();
  w.Int(1);
  w.Int(2);
  w.EndArray();
  w.Key("b").BeginObject();
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(out, want);
}

// Text from the platform need not be UTF-8: each bad sequence becomes
// U+FFFD, as dump() with error_handler_t::replace writes it.
TEST(PrettyJson, TextThatIsNotUtf8IsReplacedAsDumpReplacesIt) {
  for (const std::string text : {"bad \xff byte", "\xc3 cut", "end \xe2\x9c", "\xed\xa0\x80 surrogate"}) {
    std::string out;
    PrettyJson w(out, 0);
    w.String(text);
    EXPECT_EQ(out, OJson(text).dump(-1, ' ', false, OJson::error_handler_t::replace)) << text;
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
  }
}

}  // namespace
}  // namespace otaroll::render
