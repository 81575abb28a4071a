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

// What the daemon keeps between cycles: the content hash of the tree it last
// parsed (every file's name and bytes) and the result. A tree whose files
// hash the same is not parsed again.
struct TreeCache {
  std::string digest;
  LoadResult result;
  int64_t parses = 0;  // how often a tree was parsed (not taken from the cache)
};
// LoadTree, reading every file but parsing only when the tree's content
// differs from what `cache` holds; the cache is updated and its result
// returned (no copy of the manifests).
core::Result<const LoadResult*> LoadTree(const std::string& dir, TreeCache& cache);

// Parses one file's text. display_name is used in positions and diagnostics.
// Appends rollouts and diagnostics; cross-file rules (duplicate names) are
// checked by LoadTree / CheckUniqueNames.
void ParseText(std::string_view text, const std::string& display_name, std::vector<Rollout>& out,
               std::vector<core::Diagnostic>& errors);

// Duplicate metadata.name across the set: one diagnostic per later occurrence,
// naming the first. Sorts rollouts by name.
void FinishSet(std::vector<Rollout> rollouts, LoadResult& result);

}  // namespace otaroll::manifest
