// `kind: Freeze` documents (SPEC §1), manifest-internal: ParseText hands
// every document whose kind is Freeze to ReadFreeze.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "manifest/model.h"

namespace otaroll::manifest {

// A mapping whose kind is the string "Freeze".
bool IsFreeze(const YAML::Node& doc);

// The freeze, or nullopt with every problem in `errors`.
std::optional<Freeze> ReadFreeze(const YAML::Node& doc, const std::string& file, std::vector<core::Diagnostic>& errors);

}  // namespace otaroll::manifest
