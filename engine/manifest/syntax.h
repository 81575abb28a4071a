// The checks a manifest file's text and YAML structure pass before any
// field is read: UTF-8 without control characters, no aliases, bounded
// nesting, bounded alias expansion, core-schema tags only (docs/security.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "core/diagnostic.h"

namespace otaroll::manifest {

// The first invalid UTF-8 sequence or control character (tab, line feed and
// carriage return are allowed), if any.
std::optional<core::Diagnostic> CheckText(std::string_view text, const std::string& file);

// Where the values of the text's documents, with every alias (*name)
// expanded, first number more than kMaxExpandedValues; nullopt when they
// never do. Cheap when the text holds no '&' or no '*' (then no alias can be).
std::optional<YAML::Mark> AliasesExpandTooFar(std::string_view text);

// Reports every tag outside the YAML core schema; returns false (after
// reporting it) when the nesting is deeper than kMaxDepth.
bool CheckTags(const YAML::Node& node, const std::string& file, std::vector<core::Diagnostic>& errors,
               size_t depth = 1);

}  // namespace otaroll::manifest
