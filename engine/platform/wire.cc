#include "platform/wire.h"

#include <fmt/format.h>

#include <cmath>
#include <exception>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/escape.h"
#include "core/text.h"

namespace otaroll::platform {

bool IsJobId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  const char first = id[0];  // never an option-like "-1" or a lone "."
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || (first >= '0' && first <= '9'))) {
    return false;
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == '*';
    if (!ok) return false;
  }
  return true;
}

namespace {

using core::EqualsIgnoreCase;
using core::StartsWithIgnoreCase;

using nlohmann::json;

// At most this many characters of a body are quoted in a message.
constexpr size_t kQuotedBodyChars = 40;
// A platform message longer than this is cut (Describe() stays readable).
constexpr size_t kMessageChars = 300;
constexpr size_t kRequestIdChars = 100;

// The member `name` of an object, matched exactly first and then without
// regard to case; nullptr when absent or when `obj` is not an object.
const json* Find(const json* obj, std::string_view name) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto exact = obj->find(std::string(name));
  if (exact != obj->end()) return &*exact;
  for (auto it = obj->begin(); it != obj->end(); ++it) {
    if (EqualsIgnoreCase(it.key(), name)) return &*it;
  }
  return nullptr;
}

// Like Find, but a JSON null counts as absent.
const json* FindValue(const json* obj, std::string_view name) {
  const json* v = Find(obj, name);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

// Length of the valid UTF-8 sequence starting at text[i], or 0.
size_t Utf8Length(std::string_view text, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  // Overlong forms, surrogates and code points above U+10FFFF.
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;
  if (c == 0xED && b(i + 1) > 0x9F) return 0;
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;
  if (c == 0xF4 && b(i + 1) > 0x8F) return 0;
  return n;
}

// Text fit for a one-line message: runs of whitespace and control characters
// become one space, invalid UTF-8 becomes '?', leading and trailing space is
// dropped, and at most `max_chars` characters are kept ("…" marks a cut).
std::string OneLine(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    size_t n = Utf8Length(text, i);
    bool blank = false;
    if (n == 1) {
      auto c = static_cast<unsigned char>(text[i]);
      blank = c <= 0x20 || c == 0x7f;
    } else if (n == 2) {
      // C1 control characters U+0080..U+009F.
      blank = static_cast<unsigned char>(text[i]) == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
    }
    if (blank) {
      pending_space = !out.empty();
      i += n;
      continue;
    }
    size_t needed = pending_space ? 2 : 1;
    if (chars + needed > max_chars) {
      out += "…";
      return out;
    }
    if (pending_space) {
      out += ' ';
      ++chars;
      pending_space = false;
    }
    if (n == 0) {
      out += '?';
      i += 1;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
    ++chars;
  }
  return out;
}

// "an object", "a string", … for messages.
std::string Kind(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_float: return "a fractional number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "a number";
    case json::value_t::null: return "null";
    default: return "an unexpected value";
  }
}

// Decimal text of a JSON number: integers exactly; a float that holds a whole
// number below 2^53 without a fraction, any other float in its shortest form.
std::string NumberText(const json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  double d = v.get<double>();
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(d));
  }
  return fmt::format("{}", d);
}

CallError MakeError(ErrorClass cls, const HttpResponse& r, std::string message, std::string request_id = "") {
  CallError e;
  e.cls = cls;
  e.sent = true;
  e.http_status = r.status;
  e.message = std::move(message);
  e.request_id = std::move(request_id);
  return e;
}

// A body that is not a JSON object: the gateway or a proxy answered, not the
// API. On 5xx that is a server failure; on 429 a rate limiter; otherwise the
// answer cannot be used.
CallError BodyError(const HttpResponse& r, const std::string& what) {
  ErrorClass cls = ErrorClass::kMalformed;
  if (r.status >= 500) {
    cls = ErrorClass::kTransient;
  } else if (r.status == 429) {
    cls = ErrorClass::kThrottled;
  }
  return MakeError(cls, r, fmt::format("the platform answered HTTP {} with {}", r.status, what));
}

std::string DescribeBadBody(const std::string& body, const json::parse_error* error) {
  std::string_view text = body;
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "an empty body";
  text.remove_prefix(start);
  // A body that starts like JSON and failed only when the input ran out (the
  // parser had read past the last byte): cut short.
  if (error != nullptr && (text.front() == '{' || text.front() == '[') && error->byte > body.size()) {
    return fmt::format("JSON that ends early (after {} bytes)", body.size());
  }
  return fmt::format("a body that is not JSON (it starts with \"{}\")", OneLine(text, kQuotedBodyChars));
}

// The checked envelope of a successful answer.
struct Envelope {
  json root;
  std::string request_id;
  const json* Data() const { return FindValue(&root, "Data"); }
};

std::string ScalarText(const json* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number()) return NumberText(*v);
  return "";
}

// Parses the body and checks the envelope; fills `env` and returns nullopt
// on success, or the classified error.
std::optional<CallError> Open(const HttpResponse& r, Envelope* env) {
  if (r.status == 413 || r.status == 414) {
    // Refused before it was read: nothing was done, and sending the same
    // request again would be refused again.
    return MakeError(ErrorClass::kRefused, r,
                     fmt::format("the platform refused the request unread as too large (HTTP {})", r.status));
  }
  try {
    env->root = json::parse(r.body);
  } catch (const json::parse_error& e) {
    return BodyError(r, DescribeBadBody(r.body, &e));
  } catch (const json::exception&) {
    // The body parsed as JSON up to a number no double can hold (1e400).
    return BodyError(r, "JSON holding a number out of range");
  }
  if (!env->root.is_object()) {
    return BodyError(r, fmt::format("a JSON {} instead of an object", env->root.type_name()));
  }
  const json* root = &env->root;
  env->request_id = OneLine(ScalarText(FindValue(root, "RequestId")), kRequestIdChars);
  std::string code = OneLine(ScalarText(FindValue(root, "Code")), kMessageChars);
  std::string message;
  for (const char* name : {"Message", "ErrorMessage", "msg"}) {
    std::string m = OneLine(ScalarText(FindValue(root, name)), kMessageChars);
    if (!m.empty()) {
      message = std::move(m);
      break;
    }
  }

  std::optional<bool> success;
  bool bad_success = false;
  if (const json* s = FindValue(root, "Success")) {
    if (s->is_boolean()) {
      success = s->get<bool>();
    } else if (s->is_string() && EqualsIgnoreCase(s->get<std::string>(), "true")) {
      success = true;
    } else if (s->is_string() && EqualsIgnoreCase(s->get<std::string>(), "false")) {
      success = false;
    } else {
      bad_success = true;
    }
  }
  bool ok_status = r.status >= 200 && r.status < 300;
  bool failed = r.status >= 400 || success == false || (ok_status && !success.has_value() && !code.empty());
  if (failed) {
    CallError e = MakeError(ClassifyCode(code, r.status), r, message, env->request_id);
    e.code = code;
    if (code.empty() && message.empty()) {
      e.message = success == false
                      ? fmt::format("the platform answered HTTP {} with Success=false and no error code", r.status)
                      : fmt::format("the platform answered HTTP {} without an error code", r.status);
    }
    return e;
  }
  if (bad_success) {
    return MakeError(
        ErrorClass::kMalformed, r,
        fmt::format("the platform answered HTTP {} with a Success field that is neither true nor false", r.status),
        env->request_id);
  }
  if (!ok_status) {
    return MakeError(ErrorClass::kMalformed, r,
                     fmt::format("the platform answered HTTP {}, which is not a success status", r.status),
                     env->request_id);
  }
  return std::nullopt;
}

// Reads fields of one answer, keeping the first problem ("a GrayPercent that
// is an object, not a value"); the caller turns it into a kMalformed error.
class Reader {
 public:
  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  void Fail(std::string problem) {
    if (problem_.empty()) problem_ = std::move(problem);
  }

  // A scalar as text; "" when absent or null.
  std::string Text(const json& obj, std::string_view name) {
    const json* v = FindValue(&obj, name);
    if (v == nullptr) return "";
    if (v->is_string()) return v->get<std::string>();
    if (v->is_number()) return NumberText(*v);
    if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
    Fail(fmt::format("a {} that is {}, not a value", name, Kind(*v)));
    return "";
  }

  // A job id: Id() that is also a bounded token (IsJobId). Anything else is a
  // protocol error: a create's outcome stays unknown and is looked up.
  std::string JobId(const json& obj, std::string_view name) {
    std::string id = Id(obj, name);
    if (!id.empty() && !IsJobId(id)) {
      Fail(
          fmt::format("a {} that is not a job id ({}); job ids are 1-64 letters, digits and _ - . *, beginning with a "
                      "letter or digit",
                      name, core::Excerpt(id, 24)));
      return "";
    }
    return id;
  }

  // An id: a non-empty string, or a JSON integer as its exact decimal text.
  // "" when absent or null.
  std::string Id(const json& obj, std::string_view name) {
    const json* v = FindValue(&obj, name);
    if (v == nullptr) return "";
    std::string id;
    if (v->is_string()) {
      id = v->get<std::string>();
    } else if (v->is_number_integer()) {
      id = NumberText(*v);
    } else {
      Fail(fmt::format("a {} that is {}, not a string", name, Kind(*v)));
      return "";
    }
    if (id.empty()) Fail(fmt::format("an empty {}", name));
    return id;
  }

  std::optional<bool> Bool(const json& obj, std::string_view name) {
    const json* v = FindValue(&obj, name);
    if (v == nullptr) return std::nullopt;
    if (v->is_boolean()) return v->get<bool>();
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      if (EqualsIgnoreCase(s, "true")) return true;
      if (EqualsIgnoreCase(s, "false")) return false;
      if (s.empty()) return std::nullopt;
    }
    Fail(fmt::format("a {} that is neither true nor false", name));
    return std::nullopt;
  }

  // A count: a non-negative whole number, as a JSON number or numeric text.
  std::optional<int64_t> Count(const json* obj, std::string_view name) {
    const json* v = FindValue(obj, name);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_unsigned()) {
      auto u = v->get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
      auto i = v->get<int64_t>();
      if (i >= 0) return i;
    } else if (v->is_number_float()) {
      double d = v->get<double>();
      if (d >= 0 && d < 9007199254740992.0 && std::trunc(d) == d) return static_cast<int64_t>(d);
    } else if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      // At most 18 digits: no overflow.
      bool digits = !s.empty() && s.size() <= 18;
      int64_t n = 0;
      for (size_t i = 0; digits && i < s.size(); ++i) {
        digits = s[i] >= '0' && s[i] <= '9';
        n = n * 10 + (s[i] - '0');
      }
      if (digits) return n;
    }
    Fail(fmt::format("a {} that is not a whole number", name));
    return std::nullopt;
  }

  // The elements of a list sent as {"<wrapper>":[…]}, a bare array, or a
  // single element where a list was expected.
  std::vector<const json*> Elements(const json* v, std::string_view wrapper) {
    std::vector<const json*> out;
    if (v != nullptr && v->is_object()) {
      const json* inner = Find(v, wrapper);
      if (inner == nullptr && !v->empty()) Fail(fmt::format("an object without {} where a list was expected", wrapper));
      v = inner;
    }
    if (v == nullptr || v->is_null()) return out;
    if (v->is_array()) {
      for (const auto& item : *v) out.push_back(&item);
    } else {
      out.push_back(v);
    }
    return out;
  }

  std::vector<std::string> Strings(const json& obj, std::string_view name, std::string_view wrapper) {
    std::vector<std::string> out;
    for (const json* item : Elements(FindValue(&obj, name), wrapper)) {
      if (item->is_string()) {
        out.push_back(item->get<std::string>());
      } else if (item->is_number()) {
        out.push_back(NumberText(*item));
      } else {
        Fail(fmt::format("a {} item that is {}, not a string", wrapper, Kind(*item)));
      }
    }
    return out;
  }

  platform::Tags TagList(const json& obj) {
    platform::Tags out;
    for (const json* item : Elements(FindValue(&obj, "Tags"), "OtaTagDTO")) {
      if (!item->is_object()) {
        Fail(fmt::format("a tag that is {}, not an object", Kind(*item)));
        continue;
      }
      out.emplace_back(Text(*item, "Key"), Text(*item, "Value"));
    }
    return out;
  }

 private:
  std::string problem_;
};

JobInfo ReadJob(const json& o, Reader& r) {
  JobInfo j;
  j.job_id = r.JobId(o, "JobId");
  if (r.ok() && j.job_id.empty()) r.Fail("a job without a JobId");
  j.utc_create = r.Text(o, "UtcCreate");
  j.utc_modified = r.Text(o, "UtcModified");
  j.product_key = r.Text(o, "ProductKey");
  j.firmware_id = r.Id(o, "FirmwareId");
  j.job_status = r.Text(o, "JobStatus");
  if (j.job_status == "COMPLETE") j.job_status = "COMPLETED";
  j.job_type = r.Text(o, "JobType");
  j.target_selection = r.Text(o, "TargetSelection");
  j.selection_type = r.Text(o, "SelectionType");
  j.gray_percent = r.Text(o, "GrayPercent");
  j.group_id = r.Text(o, "GroupId");
  j.src_versions = r.Strings(o, "SrcVersions", "SrcVersion");
  j.target_device_names = r.Strings(o, "TargetDeviceNames", "TargetDeviceName");
  j.retry_interval = r.Text(o, "RetryInterval");
  j.retry_count = r.Text(o, "RetryCount");
  j.timeout_in_minutes = r.Text(o, "TimeoutInMinutes");
  j.need_push = r.Bool(o, "NeedPush");
  j.need_confirm = r.Bool(o, "NeedConfirm");
  j.download_protocol = r.Text(o, "DownloadProtocol");
  j.tags = r.TagList(o);
  return j;
}

TaskInfo ReadTask(const json& o, Reader& r) {
  TaskInfo t;
  t.task_id = r.Id(o, "TaskId");
  t.device_name = r.Text(o, "DeviceName");
  t.src_version = r.Text(o, "SrcVersion");
  t.dest_version = r.Text(o, "DestVersion");
  t.task_status = r.Text(o, "TaskStatus");
  t.progress = r.Text(o, "Progress");
  t.task_desc = r.Text(o, "TaskDesc");
  t.utc_create = r.Text(o, "UtcCreate");
  t.utc_modified = r.Text(o, "UtcModified");
  return t;
}

CallError Problem(const HttpResponse& response, const Envelope& env, const std::string& problem) {
  return MakeError(ErrorClass::kMalformed, response,
                   fmt::format("the platform answered HTTP {} with {}", response.status, problem), env.request_id);
}

// Runs a parser so that nothing escapes it: an unexpected exception is a
// malformed answer, not a crash.
template <typename T, typename F>
CallResult<T> Guarded(const HttpResponse& response, F&& parse) {
  try {
    return parse();
  } catch (const std::exception& e) {
    return MakeError(
        ErrorClass::kMalformed, response,
        fmt::format("the platform's answer (HTTP {}) could not be read: {}", response.status, OneLine(e.what(), 80)));
  } catch (...) {
    return MakeError(ErrorClass::kMalformed, response,
                     fmt::format("the platform's answer (HTTP {}) could not be read", response.status));
  }
}

template <typename T>
CallResult<Page<T>> ParsePage(const HttpResponse& response, std::string_view wrapper, T (*read)(const json&, Reader&)) {
  Envelope env;
  if (auto error = Open(response, &env)) return *error;
  Reader r;
  const json* data = env.Data();
  Page<T> page;
  page.request_id = env.request_id;

  auto count = [&](std::string_view name) -> std::optional<int64_t> {
    auto top = r.Count(&env.root, name);
    if (top) return top;
    return (data != nullptr && data->is_object()) ? r.Count(data, name) : std::nullopt;
  };
  // An absent field stays 0, which the client reads as "not said".
  auto total = count("Total");
  if (total && *total > kMaxCount) {
    r.Fail(fmt::format("a Total of {}, more than any fleet holds (at most {})", *total, kMaxCount));
  }
  page.total = total.value_or(0);
  page.has_total = total.has_value();
  page.page_size = count("PageSize").value_or(0);
  page.page_count = count("PageCount").value_or(0);
  page.current_page = count("CurrentPage").value_or(0);

  // Data.<wrapper> as an array, a single object or null; or Data itself as
  // an array.
  const json* list = nullptr;
  if (data != nullptr && data->is_array()) {
    list = data;
  } else if (data != nullptr && data->is_object()) {
    list = Find(data, wrapper);
  } else if (data != nullptr) {
    r.Fail(fmt::format("a Data that is {}, not a list", Kind(*data)));
  }
  std::vector<const json*> items;
  if (list != nullptr && list->is_array()) {
    for (const auto& item : *list) items.push_back(&item);
  } else if (list != nullptr && !list->is_null()) {
    items.push_back(list);
  }
  // No list at all is an empty page only when the platform says there is
  // nothing: a lookup that misses a job would create a second one.
  if (r.ok() && list == nullptr && total.value_or(-1) != 0) r.Fail(fmt::format("no {} list", wrapper));
  for (const json* item : items) {
    if (!r.ok()) break;
    if (!item->is_object()) {
      r.Fail(fmt::format("a {} item that is {}, not an object", wrapper, Kind(*item)));
      break;
    }
    page.items.push_back(read(*item, r));
  }
  if (!r.ok()) return Problem(response, env, r.problem());
  return page;
}

}  // namespace

const char* StyleName(Style s) {
  switch (s) {
    case Style::kTuya: return "tuya";
    case Style::kAlibaba: return "alibaba";
  }
  return "tuya";
}

CallResult<CreatedJob> ParseCreateJob(const HttpResponse& response) {
  return Guarded<CreatedJob>(response, [&]() -> CallResult<CreatedJob> {
    Envelope env;
    if (auto error = Open(response, &env)) return *error;
    const json* data = env.Data();
    Reader r;
    CreatedJob job;
    job.request_id = env.request_id;
    if (data != nullptr && data->is_object()) {
      // Alibaba: Data.JobId. Tuya's documented example: data.firmwareId.
      bool has_job_id = FindValue(data, "JobId") != nullptr;
      job.job_id = r.JobId(*data, has_job_id ? "JobId" : "firmwareId");
      job.utc_create = r.Text(*data, "UtcCreate");
    }
    if (r.ok() && job.job_id.empty()) r.Fail("a success without a job id");
    if (!r.ok()) return Problem(response, env, r.problem());
    return job;
  });
}

CallResult<JobInfo> ParseQueryJob(const HttpResponse& response) {
  return Guarded<JobInfo>(response, [&]() -> CallResult<JobInfo> {
    Envelope env;
    if (auto error = Open(response, &env)) return *error;
    const json* data = env.Data();
    if (data == nullptr) return Problem(response, env, "a success without Data");
    if (!data->is_object()) return Problem(response, env, fmt::format("a Data that is {}, not an object", Kind(*data)));
    Reader r;
    JobInfo job = ReadJob(*data, r);
    if (!r.ok()) return Problem(response, env, r.problem());
    return job;
  });
}

CallResult<Page<JobInfo>> ParseJobPage(const HttpResponse& response) {
  return Guarded<Page<JobInfo>>(response, [&] { return ParsePage<JobInfo>(response, "SimpleOTAJobInfo", ReadJob); });
}

CallResult<Page<TaskInfo>> ParseTaskPage(const HttpResponse& response) {
  return Guarded<Page<TaskInfo>>(response,
                                 [&] { return ParsePage<TaskInfo>(response, "SimpleOTATaskInfo", ReadTask); });
}

CallResult<Empty> ParseAck(const HttpResponse& response) {
  return Guarded<Empty>(response, [&]() -> CallResult<Empty> {
    Envelope env;
    if (auto error = Open(response, &env)) return *error;
    return Empty{};
  });
}

Params CreateJobParams(const spec::ParamSet& part, Style style, const std::string& intent_id) {
  Params out = spec::Flatten(part);
  if (style == Style::kAlibaba) {
    auto target = part.find("TargetSelection");
    if (target != part.end() && !target->second.empty() && target->second.front() == "GROUP") {
      out["GroupType"] = "LINK_PLATFORM";
    }
    if (!intent_id.empty()) {
      out["Tag.1.Key"] = kIntentTagKey;
      out["Tag.1.Value"] = intent_id;
    }
  }
  return out;
}

}  // namespace otaroll::platform
