#include "manifest/rules.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/escape.h"

namespace otaroll::manifest {
namespace {

bool IsWordChar(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

}  // namespace

bool IsWord(const std::string& s, std::string_view extra) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [&](char c) { return IsWordChar(c, extra); });
}

bool IsToken(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '!' && c <= '~'; });
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, prev + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

std::string Quote(const std::string& s) {
  return core::Excerpt(s, 64);
}

std::string Raw(const std::string& s) {
  return core::Shown(s, 64);
}

std::string Key(const Node& key) {
  return key.IsScalar() ? core::Shown(key.Scalar(), 64) : "?";
}

}  // namespace otaroll::manifest
