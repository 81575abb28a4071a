#include "spec/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/escape.h"
#include "core/sha256.h"

namespace otaroll::spec {

bool IsListParam(const std::string& name) {
  return std::any_of(std::begin(kListParams), std::end(kListParams), [&](const char* l) { return name == l; });
}

bool IsSpecParam(const std::string& name) {
  return std::any_of(std::begin(kSpecParams), std::end(kSpecParams), [&](const char* p) { return name == p; });
}

std::map<std::string, std::string> Flatten(const ParamSet& params) {
  std::map<std::string, std::string> out;
  for (const auto& [name, values] : params) {
    if (!IsListParam(name)) {
      if (!values.empty()) out[name] = values.front();
      continue;
    }
    for (size_t i = 0; i < values.size(); ++i) out[fmt::format("{}.{}", name, i + 1)] = values[i];
  }
  return out;
}

ParamSet Unflatten(const std::vector<std::map<std::string, std::string>>& parts) {
  ParamSet out;
  for (size_t n = 0; n < parts.size(); ++n) {
    ParamSet one;
    std::map<std::string, std::map<int, std::string>> lists;
    for (const auto& [key, value] : parts[n]) {
      auto dot = key.rfind('.');
      if (dot != std::string::npos && IsListParam(key.substr(0, dot))) {
        lists[key.substr(0, dot)][std::atoi(key.c_str() + dot + 1)] = value;
      } else if (IsSpecParam(key)) {
        one[key] = {value};
      }
    }
    for (auto& [name, items] : lists) {
      for (auto& [index, value] : items) one[name].push_back(value);
    }
    if (n == 0) {
      out = std::move(one);
      continue;
    }
    // Parts differ only in their share of the devices.
    auto& devices = out["TargetDeviceName"];
    auto more = one.find("TargetDeviceName");
    if (more != one.end()) devices.insert(devices.end(), more->second.begin(), more->second.end());
  }
  return out;
}

namespace {

// Canonical() as nlohmann::json builds and dumps it: the reference, and the
// way for any text that is not plain ASCII.
std::string CanonicalByJson(const ParamSet& params) {
  nlohmann::json p = nlohmann::json::object();
  for (const auto& [name, values] : params) {
    p[name] = IsListParam(name) ? nlohmann::json(values) : nlohmann::json(values.empty() ? "" : values.front());
  }
  // nlohmann::json objects keep keys sorted; dump() is compact and stable.
  return nlohmann::json{{"otaroll.stage-spec", 1}, {"params", p}}.dump();
}

}  // namespace

// Written directly (it is most of a large plan's hashing); byte for byte
// what CanonicalByJson gives, which the tests check.
std::string Canonical(const ParamSet& params) {
  std::string out = "{\"otaroll.stage-spec\":1,\"params\":{";
  bool first = true;
  for (const auto& [name, values] : params) {
    if (!first) out += ',';
    first = false;
    if (!core::AppendAsciiJsonString(out, name)) return CanonicalByJson(params);
    out += ':';
    if (IsListParam(name)) {
      out += '[';
      for (size_t i = 0; i < values.size(); ++i) {
        if (i != 0) out += ',';
        if (!core::AppendAsciiJsonString(out, values[i])) return CanonicalByJson(params);
      }
      out += ']';
    } else if (!core::AppendAsciiJsonString(out, values.empty() ? std::string() : values.front())) {
      return CanonicalByJson(params);
    }
  }
  out += "}}";
  return out;
}

std::string Hash(const ParamSet& params) {
  return core::Sha256Hex(Canonical(params));
}

namespace {

ParamSet Params(const manifest::Rollout& rollout, const manifest::Stage& stage) {
  using manifest::Target;
  ParamSet p;
  p["ProductKey"] = {rollout.product_key};
  p["FirmwareId"] = {rollout.firmware_id};
  p["TargetSelection"] = {manifest::TargetName(stage.target)};
  switch (stage.target) {
    case Target::kGray: p["GrayPercent"] = {std::to_string(stage.gray_percent)}; break;
    case Target::kGroup: p["GroupId"] = {stage.group_id}; break;
    case Target::kSpecific: {
      // Order is not meaning: sorted, so reordering devices keeps the hash.
      auto devices = stage.devices;
      std::sort(devices.begin(), devices.end());
      p["TargetDeviceName"] = devices;
      break;
    }
    case Target::kAll: break;
  }
  if (!rollout.src_versions.empty()) {
    auto versions = rollout.src_versions;
    std::sort(versions.begin(), versions.end());
    p["SrcVersion"] = versions;
  }
  const manifest::Upgrade& own = stage.upgrade;
  const manifest::Upgrade& base = rollout.upgrade;
  auto interval = own.retry_interval_minutes ? own.retry_interval_minutes : base.retry_interval_minutes;
  auto count = own.retry_count ? own.retry_count : base.retry_count;
  auto timeout = own.timeout_minutes ? own.timeout_minutes : base.timeout_minutes;
  if (interval) p["RetryInterval"] = {std::to_string(*interval)};
  if (count) p["RetryCount"] = {std::to_string(*count)};
  if (timeout) p["TimeoutInMinutes"] = {std::to_string(*timeout)};
  // Platform defaults are made explicit: the request is exact and writing a
  // default in the manifest does not change the hash.
  bool push = own.need_push.value_or(base.need_push.value_or(true));
  bool confirm = own.need_confirm.value_or(base.need_confirm.value_or(false));
  p["NeedPush"] = {push ? "true" : "false"};
  p["NeedConfirm"] = {confirm ? "true" : "false"};
  p["DownloadProtocol"] = {own.download_protocol.value_or(base.download_protocol.value_or("HTTPS"))};

  return p;
}

StageSpec Finish(ParamSet p, std::string hash) {
  StageSpec out;
  out.hash = std::move(hash);
  auto devices = p.find("TargetDeviceName");
  if (devices != p.end() && devices->second.size() > kMaxDevicesPerJob) {
    const auto& all = devices->second;
    for (size_t i = 0; i < all.size(); i += kMaxDevicesPerJob) {
      ParamSet part = p;
      part["TargetDeviceName"].assign(all.begin() + static_cast<long>(i),
                                      all.begin() + static_cast<long>(std::min(all.size(), i + kMaxDevicesPerJob)));
      out.split.push_back(std::move(part));
    }
  }
  out.parts = out.split.empty() ? 1 : out.split.size();
  out.params = std::make_shared<const ParamSet>(std::move(p));
  return out;
}

}  // namespace

StageSpec Resolve(const manifest::Rollout& rollout, const manifest::Stage& stage) {
  ParamSet p = Params(rollout, stage);
  std::string hash = Hash(p);
  return Finish(std::move(p), std::move(hash));
}

StageSpec Resolve(const manifest::Rollout& rollout, const manifest::Stage& stage, std::string known_hash) {
  return Finish(Params(rollout, stage), std::move(known_hash));
}

namespace {

std::string Show(const std::vector<std::string>& values, bool list) {
  if (!list) return values.empty() ? "" : values.front();
  if (values.empty()) return "";
  constexpr size_t kShown = 5;
  std::string out;
  for (size_t i = 0; i < values.size() && i < kShown; ++i) out += (i ? ", " : "") + values[i];
  if (values.size() > kShown) out += fmt::format(", … ({} in all)", values.size());
  return "[" + out + "]";
}

}  // namespace

std::vector<FieldChange> Diff(const ParamSet& before, const ParamSet& after) {
  std::set<std::string> names;
  for (const auto& [k, v] : before) names.insert(k);
  for (const auto& [k, v] : after) names.insert(k);
  std::vector<FieldChange> out;
  static const std::vector<std::string> kNone;
  for (const auto& name : names) {
    auto b = before.find(name);
    auto a = after.find(name);
    const auto& bv = b == before.end() ? kNone : b->second;
    const auto& av = a == after.end() ? kNone : a->second;
    if (bv == av) continue;
    const bool list = IsListParam(name);
    FieldChange change{name, Show(bv, list), Show(av, list)};
    if (list && !bv.empty() && !av.empty()) {
      std::set<std::string> bs(bv.begin(), bv.end()), as(av.begin(), av.end());
      size_t added = 0, removed = 0;
      for (const auto& x : as) added += bs.count(x) ? 0 : 1;
      for (const auto& x : bs) removed += as.count(x) ? 0 : 1;
      change.after += fmt::format(" (+{} −{})", added, removed);
    }
    out.push_back(std::move(change));
  }
  return out;
}

std::string DescribeTarget(const ParamSet& params) {
  auto get = [&](const char* k) -> std::string {
    auto it = params.find(k);
    return it == params.end() || it->second.empty() ? "" : it->second.front();
  };
  std::string sel = get("TargetSelection");
  if (sel == "GRAY") return fmt::format("GRAY {}%", get("GrayPercent"));
  if (sel == "GROUP") return fmt::format("GROUP {}", get("GroupId"));
  if (sel == "SPECIFIC") {
    auto it = params.find("TargetDeviceName");
    size_t n = it == params.end() ? 0 : it->second.size();
    return fmt::format("SPECIFIC {} device{}", n, n == 1 ? "" : "s");
  }
  return sel;
}

}  // namespace otaroll::spec
