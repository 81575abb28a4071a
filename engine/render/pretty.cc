#include "render/pretty.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/escape.h"

namespace otaroll::render {

void PrettyJson::NewLine() {
  out_ += '\n';
  out_.append(base_ + 2 * levels_.size(), ' ');
}

// The next member or item of the container being written: after a comma
// unless it is the first, on a line of its own.
void PrettyJson::NextItem() {
  Level& in = levels_.back();
  if (!in.empty) out_ += ',';
  in.empty = false;
  NewLine();
}

void PrettyJson::BeforeValue() {
  if (after_key_) {
    after_key_ = false;  // right after "key": on the same line
  } else if (!levels_.empty()) {
    NextItem();  // an array's item (a value alone needs nothing)
  }
}

PrettyJson& PrettyJson::Key(std::string_view key) {
  NextItem();
  Quoted(key);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

void PrettyJson::BeginObject() {
  BeforeValue();
  out_ += '{';
  levels_.push_back(Level{});
}

void PrettyJson::BeginArray() {
  BeforeValue();
  out_ += '[';
  levels_.push_back(Level{});
}

void PrettyJson::EndObject() {
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty) NewLine();
  out_ += '}';
}

void PrettyJson::EndArray() {
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty) NewLine();
  out_ += ']';
}

void PrettyJson::Quoted(std::string_view text) {
  if (core::AppendAsciiJsonString(out_, text)) return;
  // Text past ASCII (and platform messages, which need not be UTF-8): as
  // nlohmann writes it, the reference.
  nlohmann::detail::serializer<nlohmann::json> serializer(nlohmann::detail::output_adapter<char>(out_), ' ',
                                                          nlohmann::json::error_handler_t::replace);
  serializer.dump(nlohmann::json(std::string(text)), false, false, 0);
}

void PrettyJson::String(std::string_view text) {
  BeforeValue();
  Quoted(text);
}

void PrettyJson::StringOrNull(std::string_view text) {
  if (text.empty()) {
    Null();
  } else {
    String(text);
  }
}

void PrettyJson::Int(int64_t value) {
  BeforeValue();
  out_ += fmt::format_int(value).c_str();
}

void PrettyJson::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
}

void PrettyJson::Null() {
  BeforeValue();
  out_ += "null";
}

void PrettyJson::Strings(const std::vector<std::string>& values) {
  BeginArray();
  for (const std::string& v : values) String(v);
  EndArray();
}

}  // namespace otaroll::render
