// JSON text laid out exactly as nlohmann's dump(2) lays it out, written
// straight into a string with no tree: building an ordered_json object per
// stage and job was most of a large JSON plan's cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace otaroll::render {

// Values are written in order: BeginObject, then Key and a value for each
// member, EndObject; arrays the same without keys. The first line of the
// value is not indented (it follows a key, or the caller's own text); the
// lines after it are indented `indent` spaces more than dump(2) would, the
// text the value has at that depth of a larger document.
class PrettyJson {
 public:
  PrettyJson(std::string& out, size_t indent) : out_(out), base_(indent) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  PrettyJson& Key(std::string_view key);     // then the member's value
  void String(std::string_view text);        // any bytes: invalid UTF-8 becomes U+FFFD, as dump() with replace
  void StringOrNull(std::string_view text);  // null when empty
  void Int(int64_t value);
  void Bool(bool value);
  void Null();
  void Strings(const std::vector<std::string>& values);  // an array of strings

 private:
  void BeforeValue();
  void NextItem();
  void Quoted(std::string_view text);
  void NewLine();
  struct Level {
    bool empty = true;  // no member or item written yet
  };
  std::string& out_;
  size_t base_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

}  // namespace otaroll::render
