#include "manifest/ignore.h"

#include <fnmatch.h>

namespace otaroll::manifest {

IgnoreRules IgnoreRules::Parse(std::string_view text) {
  IgnoreRules rules;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(at, end - at));
    at = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Rule r;
    if (line.back() == '/') {
      r.folder_only = true;
      line.pop_back();
    }
    if (!line.empty() && line[0] == '/') line.erase(0, 1);
    if (line.empty()) continue;
    r.anchored = line.find('/') != std::string::npos;
    r.pattern = std::move(line);
    rules.rules_.push_back(std::move(r));
  }
  return rules;
}

bool IgnoreRules::Ignored(const std::string& relative, bool folder) const {
  const size_t slash = relative.rfind('/');
  const std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
  for (const Rule& r : rules_) {
    if (r.folder_only && !folder) continue;
    const std::string& subject = r.anchored ? relative : name;
    if (::fnmatch(r.pattern.c_str(), subject.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

bool IgnoreRules::IgnoredPath(const std::string& relative_file) const {
  if (rules_.empty()) return false;
  for (size_t slash = relative_file.find('/'); slash != std::string::npos; slash = relative_file.find('/', slash + 1)) {
    if (Ignored(relative_file.substr(0, slash), true)) return true;
  }
  return Ignored(relative_file, false);
}

}  // namespace otaroll::manifest
