// A tree of files read straight from a git repository at a ref, with git's
// own plumbing (rev-parse, ls-tree, one cat-file --batch): no checkout and
// no copy of the repository (`otaroll plan --baseline-ref`, SPEC §3).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace otaroll::git {

struct RefFile {
  std::string path;        // relative to the folder read, '/'-separated
  std::string shown;       // REF:path-from-the-repository's-top, as git names it
  std::string text;        // the blob's bytes (empty when too_large)
  bool too_large = false;  // larger than the bound given: not read
  std::string problem;     // a symbolic link that does not lead to a file of the tree: why (text empty)
};

struct RefTree {
  std::string commit;          // the ref's commit
  std::vector<RefFile> files;  // sorted by path
};

struct RefTreeOptions {
  // Which files to read, by path relative to the folder (hidden folders and
  // other extensions are the caller's to skip).
  std::function<bool(const std::string& path)> select;
  // A file at the folder's top that says what to select (`.otarollignore`):
  // its text at the ref ("" when there is none) is handed to `on_rules`
  // before `select` is first called, from the same listing.
  std::string rules_file;
  std::function<void(const std::string& text)> on_rules;
  size_t max_files = 10000;                                     // more selected files than this: an error
  size_t max_file_bytes = 4 << 20;                              // a larger blob is not read (too_large)
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // for each git call
};

// The files below `dir` (a folder inside a git work tree) as they are in
// commit `ref`. Errors name the ref and the repository and say what to do:
// not a repository, an unknown ref (in a shallow clone: how to fetch it),
// git missing or too slow. Symbolic links are followed to a file of the same
// tree below `dir`; any other link is a file with a `problem`.
core::Result<RefTree> ReadTreeAt(const std::string& dir, const std::string& ref, const RefTreeOptions& options);

}  // namespace otaroll::git
