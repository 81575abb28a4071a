// Parsing manifest text in tests, failing the test on any diagnostic.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "manifest/loader.h"

namespace otaroll::test_util {

inline manifest::ManifestSet Parse(const std::string& text, const std::string& file = "m.yaml") {
  manifest::Documents docs;
  std::vector<core::Diagnostic> errors;
  manifest::ParseText(text, file, docs, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.Format();
  manifest::LoadResult result;
  manifest::FinishSet(std::move(docs), result);
  for (const auto& e : result.errors) ADD_FAILURE() << e.Format();
  return result.set;
}

inline std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "not in the manifest: " << from;
  for (; pos != std::string::npos; pos = text.find(from, pos + to.size())) text.replace(pos, from.size(), to);
  return text;
}

}  // namespace otaroll::test_util
