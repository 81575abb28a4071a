// A job's parameters as stored with its attempt (the flattened request,
// API.md §2), read by meaning. Apply matches platform jobs against these
// fields; only spec/ and platform/ know the wire names.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace otaroll::spec {

struct StoredRequest {
  std::string product_key;
  std::string firmware_id;
  std::string target_selection;  // GRAY, GROUP, SPECIFIC, ALL
  std::string gray_percent;
  std::string group_id;
  std::vector<std::string> device_names;  // TargetDeviceName.N, sorted
  std::vector<std::string> src_versions;  // SrcVersion.N, sorted
  std::string retry_interval;
  std::string retry_count;
  std::string timeout_in_minutes;
  std::string need_push;  // "true" / "false"
  std::string need_confirm;
  std::string download_protocol;

  bool gray() const;
  bool group() const;
  bool specific() const;
};

// Absent parameters are "" (or empty lists).
StoredRequest ReadRequest(const std::map<std::string, std::string>& flat);

}  // namespace otaroll::spec
