#include "sandbox/create.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace otaroll::sandbox {
namespace {

const std::string* Find(const platform::Params& params, const std::string& name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

Rejection Missing(const std::string& name) {
  return {"Missing" + name, fmt::format("The parameter {} is required.", name)};
}

Rejection Invalid(const std::string& name, std::string message) {
  return {"InvalidParameter." + name, std::move(message)};
}

// 1-based index text: digits, no leading zero.
std::optional<size_t> ParseIndex(std::string_view text) {
  if (text.empty() || text.size() > 6 || text[0] == '0') return std::nullopt;
  size_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

bool PrintableText(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::optional<Rejection> CheckIndexes(const std::string& name, const std::map<size_t, std::string>& found) {
  size_t expected = 1;
  for (const auto& [index, value] : found) {
    if (index != expected) {
      return Invalid(name,
                     fmt::format("{}.{} is missing: list items are numbered from 1 without gaps.", name, expected));
    }
    ++expected;
  }
  return std::nullopt;
}

std::optional<Rejection> ReadTags(const platform::Params& params, Job* job) {
  std::map<size_t, std::pair<const std::string*, const std::string*>> tags;
  const std::string prefix = "Tag.";
  for (auto it = params.lower_bound(prefix); it != params.end() && it->first.starts_with(prefix); ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    size_t dot = rest.find('.');
    auto index = dot == std::string_view::npos ? std::nullopt : ParseIndex(rest.substr(0, dot));
    std::string_view field = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (!index || (field != "Key" && field != "Value")) {
      return Invalid(
          "Tag", fmt::format("{} is not a tag parameter; send Tag.N.Key and Tag.N.Value with N from 1.", it->first));
    }
    (field == "Key" ? tags[*index].first : tags[*index].second) = &it->second;
  }
  if (params.count("Tag") != 0) {
    return Invalid("Tag", "Tags are sent as Tag.N.Key and Tag.N.Value with N from 1.");
  }
  if (tags.size() > kMaxTags) {
    return Rejection{"iot.ota.TooManyTags", fmt::format("A job has at most {} tags; got {}.", kMaxTags, tags.size())};
  }
  std::map<size_t, std::string> indexes;
  for (const auto& [index, kv] : tags) indexes[index];
  if (auto r = CheckIndexes("Tag", indexes)) return r;
  std::set<std::string> keys;
  for (const auto& [index, kv] : tags) {
    if (kv.first == nullptr) return Missing(fmt::format("Tag.{}.Key", index));
    if (kv.second == nullptr) return Missing(fmt::format("Tag.{}.Value", index));
    const std::string& key = *kv.first;
    bool key_ok = !key.empty() && key.size() <= 30 && std::all_of(key.begin(), key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.';
    });
    if (!key_ok) {
      return Invalid(
          "Tag", fmt::format("Tag.{}.Key \"{}\" must be 1-30 characters of letters, digits and periods.", index, key));
    }
    if (!PrintableText(*kv.second, 1024)) {
      return Invalid("Tag", fmt::format("Tag.{}.Value must be 1-1024 characters without control characters.", index));
    }
    if (!keys.insert(key).second) return Invalid("Tag", fmt::format("The tag key {} appears twice.", key));
    job->tags.emplace_back(key, *kv.second);
  }
  return std::nullopt;
}

std::optional<Rejection> ReadOptionalInt(const platform::Params& params, const std::string& name,
                                         std::optional<int>* out) {
  const std::string* text = Find(params, name);
  if (text == nullptr) return std::nullopt;
  *out = ParseSmallInt(*text);
  if (!*out) return Invalid(name, fmt::format("{} must be an integer; got \"{}\".", name, *text));
  return std::nullopt;
}

std::optional<Rejection> ReadBool(const platform::Params& params, const std::string& name, bool* out) {
  const std::string* text = Find(params, name);
  if (text == nullptr) return std::nullopt;
  auto v = ParseBool(*text);
  if (!v) return Invalid(name, fmt::format("{} must be true or false; got \"{}\".", name, *text));
  *out = *v;
  return std::nullopt;
}

}  // namespace

std::optional<bool> ParseBool(const std::string& text) {
  std::string lower;
  for (char c : text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "true") return true;
  if (lower == "false") return false;
  return std::nullopt;
}

std::optional<int> ParseSmallInt(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<Rejection> ReadList(const platform::Params& params, const std::string& name,
                                  std::vector<std::string>* values) {
  if (params.count(name) != 0) {
    return Invalid(name, fmt::format("{} is a list: send {}.1, {}.2, … (numbered from 1).", name, name, name));
  }
  std::map<size_t, std::string> found;
  const std::string prefix = name + ".";
  for (auto it = params.lower_bound(prefix); it != params.end() && it->first.starts_with(prefix); ++it) {
    auto index = ParseIndex(std::string_view(it->first).substr(prefix.size()));
    if (!index) {
      return Invalid(name, fmt::format("{} is not a list item: items are {}.1, {}.2, … (numbered from 1).", it->first,
                                       name, name));
    }
    found[*index] = it->second;
  }
  if (auto r = CheckIndexes(name, found)) return r;
  values->clear();
  for (auto& [index, value] : found) values->push_back(std::move(value));
  return std::nullopt;
}

namespace {

// TargetSelection and what it needs: GrayPercent, GroupId (and GroupType on
// alibaba), or the TargetDeviceName list.
std::optional<Rejection> ParseTarget(const platform::Params& params, platform::Style style, Job* job) {
  const std::string& selection = job->target_selection;
  if (selection == "GRAY") {
    const std::string* text = Find(params, "GrayPercent");
    if (text == nullptr || text->empty()) return Missing("GrayPercent");
    auto percent = ParseSmallInt(*text);
    if (!percent || *percent < 1 || *percent > 100) {
      return Invalid("GrayPercent", fmt::format("GrayPercent must be an integer from 1 to 100; got \"{}\".", *text));
    }
    job->gray_percent = *percent;
  } else if (selection == "GROUP") {
    const std::string* group = Find(params, "GroupId");
    if (group == nullptr || group->empty()) return Missing("GroupId");
    if (!PrintableText(*group, 128)) {
      return Invalid("GroupId", "GroupId must be 1-128 characters without control characters.");
    }
    job->group_id = *group;
    const std::string* type = Find(params, "GroupType");
    if (type == nullptr && style == platform::Style::kAlibaba) return Missing("GroupType");
    if (type != nullptr && *type != "LINK_PLATFORM") {
      return Invalid("GroupType", fmt::format("GroupType must be LINK_PLATFORM; got \"{}\".", *type));
    }
    if (type != nullptr) job->group_type = *type;
  } else if (selection == "SPECIFIC") {
    if (auto r = ReadList(params, "TargetDeviceName", &job->devices)) return r;
    if (job->devices.empty()) return Missing("TargetDeviceName");
    if (job->devices.size() > kMaxDevicesPerJob) {
      return Rejection{"iot.ota.TooManyDevices",
                       fmt::format("A static upgrade job targets at most {} devices per call; got {}.",
                                   kMaxDevicesPerJob, job->devices.size())};
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < job->devices.size(); ++i) {
      const std::string& device = job->devices[i];
      if (!PrintableText(device, 128)) {
        return Invalid("TargetDeviceName",
                       fmt::format("TargetDeviceName.{} must be 1-128 characters without control characters.", i + 1));
      }
      if (!seen.insert(device).second) {
        return Invalid("TargetDeviceName", fmt::format("The device {} is listed twice.", device));
      }
    }
  } else if (selection != "ALL") {
    return Invalid("TargetSelection",
                   fmt::format("TargetSelection must be ALL, SPECIFIC, GRAY or GROUP; got \"{}\".", selection));
  }

  return std::nullopt;
}

// SrcVersion.N: printable, none twice.
std::optional<Rejection> ParseSourceVersions(const platform::Params& params, Job* job) {
  if (auto r = ReadList(params, "SrcVersion", &job->src_versions)) return r;
  std::set<std::string> versions;
  for (const auto& v : job->src_versions) {
    if (!PrintableText(v, 64)) {
      return Invalid("SrcVersion", "Each SrcVersion must be 1-64 characters without control characters.");
    }
    if (!versions.insert(v).second) return Invalid("SrcVersion", fmt::format("The version {} is listed twice.", v));
  }

  return std::nullopt;
}

// RetryInterval, RetryCount and TimeoutInMinutes, and how they combine.
std::optional<Rejection> ParseRetry(const platform::Params& params, Job* job) {
  if (auto r = ReadOptionalInt(params, "RetryInterval", &job->retry_interval)) return r;
  if (auto r = ReadOptionalInt(params, "RetryCount", &job->retry_count)) return r;
  if (auto r = ReadOptionalInt(params, "TimeoutInMinutes", &job->timeout_minutes)) return r;
  if (job->retry_interval) {
    int v = *job->retry_interval;
    if (v != 0 && v != 10 && v != 30 && v != 60 && v != 1440) {
      return Invalid("RetryInterval", fmt::format("RetryInterval must be one of 0, 10, 30, 60, 1440; got {}.", v));
    }
    if (!job->retry_count) return Missing("RetryCount");
  }
  if (job->retry_count) {
    if (!job->retry_interval) {
      return Invalid("RetryCount", "RetryCount is only allowed together with RetryInterval.");
    }
    int v = *job->retry_count;
    if (v != 1 && v != 2 && v != 5) {
      return Invalid("RetryCount", fmt::format("RetryCount must be one of 1, 2, 5; got {}.", v));
    }
  }
  if (job->timeout_minutes && (*job->timeout_minutes < 1 || *job->timeout_minutes > 1440)) {
    return Invalid("TimeoutInMinutes",
                   fmt::format("TimeoutInMinutes must be from 1 to 1440; got {}.", *job->timeout_minutes));
  }
  if (job->retry_interval && job->timeout_minutes && *job->retry_interval >= *job->timeout_minutes) {
    return Invalid("RetryInterval", fmt::format("RetryInterval ({}) must be below TimeoutInMinutes ({}).",
                                                *job->retry_interval, *job->timeout_minutes));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Rejection> ParseCreateJob(const platform::Params& params, platform::Style style, Job* job) {
  for (const char* name : {"FirmwareId", "ProductKey", "TargetSelection"}) {
    const std::string* v = Find(params, name);
    if (v == nullptr || v->empty()) return Missing(name);
  }
  job->firmware_id = *Find(params, "FirmwareId");
  job->product_key = *Find(params, "ProductKey");
  job->target_selection = *Find(params, "TargetSelection");
  for (const auto& [name, value] : {std::pair{"FirmwareId", job->firmware_id}, {"ProductKey", job->product_key}}) {
    if (!PrintableText(value, 128)) {
      return Invalid(name, fmt::format("{} must be 1-128 characters without control characters.", name));
    }
  }

  if (auto r = ParseTarget(params, style, job)) return r;
  if (auto r = ParseSourceVersions(params, job)) return r;
  if (auto r = ParseRetry(params, job)) return r;
  if (auto r = ReadBool(params, "NeedPush", &job->need_push)) return r;
  if (auto r = ReadBool(params, "NeedConfirm", &job->need_confirm)) return r;
  if (const std::string* protocol = Find(params, "DownloadProtocol")) {
    if (*protocol != "HTTPS") {
      return Invalid("DownloadProtocol", fmt::format("DownloadProtocol must be HTTPS; got \"{}\".", *protocol));
    }
    job->download_protocol = *protocol;
  }
  if (auto r = ReadTags(params, job)) return r;
  return std::nullopt;
}

}  // namespace otaroll::sandbox
