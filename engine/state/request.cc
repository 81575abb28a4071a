#include "state/request.h"

#include <nlohmann/json.hpp>

namespace otaroll::state {

namespace {

// Accepts one JSON object of strings and nothing else.
class FlatObject : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return false; }
  bool boolean(bool /*value*/) override { return false; }
  bool number_integer(number_integer_t /*value*/) override { return false; }
  bool number_unsigned(number_unsigned_t /*value*/) override { return false; }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return false; }
  bool string(string_t& /*value*/) override { return depth_ == 1; }
  bool binary(binary_t& /*value*/) override { return false; }
  bool start_object(std::size_t /*size*/) override { return ++depth_ == 1; }
  bool key(string_t& /*key*/) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t /*size*/) override { return false; }
  bool end_array() override { return false; }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

 private:
  int depth_ = 0;
};

}  // namespace

std::string RequestText(const RequestParams& params) {
  return nlohmann::json(params).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsRequestText(std::string_view text) {
  FlatObject checker;
  return nlohmann::json::sax_parse(text, &checker);
}

std::optional<RequestParams> ParseRequest(std::string_view text) {
  if (!IsRequestText(text)) return std::nullopt;
  return nlohmann::json::parse(text).get<RequestParams>();
}

RequestParams ParamsOf(std::string_view text) {
  return ParseRequest(text).value_or(RequestParams{});
}

}  // namespace otaroll::state
