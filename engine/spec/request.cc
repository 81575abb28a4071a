#include "spec/request.h"

#include <algorithm>

#include "manifest/model.h"

namespace otaroll::spec {

namespace {

std::string Value(const std::map<std::string, std::string>& flat, const std::string& name) {
  auto it = flat.find(name);
  return it == flat.end() ? "" : it->second;
}

// The values of a flattened list (SrcVersion.1, SrcVersion.2, …), sorted.
std::vector<std::string> List(const std::map<std::string, std::string>& flat, const std::string& name) {
  std::vector<std::string> out;
  const std::string prefix = name + ".";
  for (const auto& [k, v] : flat) {
    if (k.rfind(prefix, 0) == 0) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool StoredRequest::gray() const {
  return target_selection == manifest::TargetName(manifest::Target::kGray);
}
bool StoredRequest::group() const {
  return target_selection == manifest::TargetName(manifest::Target::kGroup);
}
bool StoredRequest::specific() const {
  return target_selection == manifest::TargetName(manifest::Target::kSpecific);
}

StoredRequest ReadRequest(const std::map<std::string, std::string>& flat) {
  StoredRequest r;
  r.product_key = Value(flat, "ProductKey");
  r.firmware_id = Value(flat, "FirmwareId");
  r.target_selection = Value(flat, "TargetSelection");
  r.gray_percent = Value(flat, "GrayPercent");
  r.group_id = Value(flat, "GroupId");
  r.device_names = List(flat, "TargetDeviceName");
  r.src_versions = List(flat, "SrcVersion");
  r.retry_interval = Value(flat, "RetryInterval");
  r.retry_count = Value(flat, "RetryCount");
  r.timeout_in_minutes = Value(flat, "TimeoutInMinutes");
  r.need_push = Value(flat, "NeedPush");
  r.need_confirm = Value(flat, "NeedConfirm");
  r.download_protocol = Value(flat, "DownloadProtocol");
  return r;
}

}  // namespace otaroll::spec
