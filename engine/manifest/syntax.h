// The checks a manifest file's text and YAML structure pass before any
// field is read: UTF-8 without control characters, no aliases, bounded
// nesting, bounded alias expansion, core-schema tags only (docs/security.md).
#pragma once

#include <yaml-cpp/mark.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "manifest/model.h"
#include "manifest/node.h"

namespace otaroll::manifest {

// yaml-cpp's 0-based mark as the 1-based place users see; line and column
// 0 for a null mark (the whole file).
Position PositionOf(const FileName& file, const YAML::Mark& mark);
// A diagnostic at `p`.
core::Diagnostic DiagnosticAt(const Position& p, std::string field, std::string message);

// The first invalid UTF-8 sequence or control character (tab, line feed and
// carriage return are allowed), if any.
std::optional<core::Diagnostic> CheckText(std::string_view text, const std::string& file);

// A problem that stops a file's reading, with its place and the sentence
// users see.
struct YamlProblem {
  YAML::Mark mark;
  std::string message;
};

// Parses the text's documents into `out` in one pass over yaml-cpp's events,
// checking the structure on the way, before anything is held that a
// problem could make huge (YAML::LoadAll would never return on some of
// them): more values than kMaxExpandedValues once aliases are expanded, a
// list or mapping of more than kMaxCollectionItems items, more than
// kMaxDocuments documents, nesting past the parser's guard, a stray ','
// on which the parser makes no progress, or a syntax error ("invalid YAML:
// ..." with yaml-cpp's own words). nullopt when the text is read whole.
std::optional<YamlProblem> ParseYaml(std::string_view text, YamlFile& out);

// Reports every tag outside the YAML core schema; returns false (after
// reporting it) when the nesting is deeper than kMaxDepth.
bool CheckTags(const Node& node, const std::string& file, std::vector<core::Diagnostic>& errors, size_t depth = 1);

}  // namespace otaroll::manifest
