// `kind: Freeze` documents (SPEC §1), manifest-internal: ParseText hands
// every document whose kind is Freeze to ReadFreeze.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "manifest/model.h"
#include "manifest/node.h"

namespace otaroll::manifest {

// A mapping whose kind is the string "Freeze".
bool IsFreeze(const Node& doc);

// The freeze, or nullopt with every problem in `errors`.
std::optional<Freeze> ReadFreeze(const Node& doc, const FileName& file, std::vector<core::Diagnostic>& errors);

}  // namespace otaroll::manifest
