// Loading a manifest tree: recursive walk, multi-document files, every rule of
// SPEC §1, and all errors of all files in one run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/status.h"
#include "manifest/model.h"

namespace otaroll::manifest {

struct LoadResult {
  ManifestSet set;                       // only meaningful when errors is empty
  std::vector<core::Diagnostic> errors;  // sorted by file, line, column
  bool ok() const { return errors.empty(); }
};

// Loads every *.yaml / *.yml below dir (hidden files and folders skipped).
// A Status error only when dir itself cannot be read; manifest problems are
// diagnostics in the result.
core::Result<LoadResult> LoadTree(const std::string& dir);

// Parses one file's text. display_name is used in positions and diagnostics.
// Appends rollouts and diagnostics; cross-file rules (duplicate names) are
// checked by LoadTree / CheckUniqueNames.
void ParseText(std::string_view text, const std::string& display_name, std::vector<Rollout>& out,
               std::vector<core::Diagnostic>& errors);

// Duplicate metadata.name across the set: one diagnostic per later occurrence,
// naming the first. Sorts rollouts by name.
void FinishSet(std::vector<Rollout> rollouts, LoadResult& result);

}  // namespace otaroll::manifest
