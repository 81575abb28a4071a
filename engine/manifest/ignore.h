// `.otarollignore` at the top of a manifest tree: files and folders below it
// that are not manifests (CI workflows, kustomizations, other tools' YAML),
// which the walk then does not read. One pattern a line; blank lines and
// lines starting with # are skipped. A pattern ending in "/" matches folders
// only. A pattern with no other "/" matches a name at any depth; one with a
// "/" matches a path from the tree's top. `*`, `?` and `[...]` match within
// one path component (fnmatch with FNM_PATHNAME). No negation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace otaroll::manifest {

inline constexpr const char* kIgnoreFile = ".otarollignore";

class IgnoreRules {
 public:
  static IgnoreRules Parse(std::string_view text);
  // Whether `relative` ('/'-separated, from the tree's top) is ignored: a
  // folder (`folder`) or a file matched by a rule.
  bool Ignored(const std::string& relative, bool folder) const;
  // Whether a file is ignored, or any folder on its way.
  bool IgnoredPath(const std::string& relative_file) const;
  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    std::string pattern;
    bool folder_only = false;
    bool anchored = false;  // has a "/" (other than a trailing one): matched from the top
  };
  std::vector<Rule> rules_;
};

}  // namespace otaroll::manifest
