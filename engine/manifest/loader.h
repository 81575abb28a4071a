// Loading a manifest tree: recursive walk, multi-document files, every rule of
// SPEC §1, and all errors of all files in one run.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
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

// What the daemon keeps between cycles: the tree it last parsed, its digest
// (every file's name and content hash, and the walk's errors) and every
// file's content hash with the stat fields it was read with. A file whose
// stat fields (device, inode, size, mtime, ctime) are unchanged is not read
// again, unless it was modified less than kRacyWindow before it was read
// (a write in the same timestamp tick would not change its mtime: git's
// "racily clean" entries). A tree whose digest is unchanged is not parsed.
struct FileStamp {
  uint64_t device = 0, inode = 0;
  int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
  std::string sha256;    // hex, of the bytes read
  bool trusted = false;  // read long enough after its last modification
  bool operator==(const FileStamp& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
  }
};
struct TreeCache {
  int64_t racy_window_ns = 2'000'000'000;  // a file modified this recently is read again next time
  std::string digest;
  LoadResult result;
  std::map<std::string, FileStamp> files;  // by path as walked
  int64_t parses = 0;                      // how often a tree was parsed (not taken from the cache)
  int64_t files_read = 0;                  // how often a file's bytes were read
};
// LoadTree, reading only the files whose stat fields changed and parsing
// only when the tree's digest differs from what `cache` holds; the cache is
// updated and its result returned (no copy of the manifests).
core::Result<const LoadResult*> LoadTree(const std::string& dir, TreeCache& cache);

// A manifest file read from elsewhere than a folder (a git ref): its name as
// diagnostics show it and its bytes; `too_large`: over kMaxFileBytes (not
// read); `problem`: why it could not be read (one sentence with the fix).
struct SourceFile {
  std::string shown;
  std::string text;
  bool too_large = false;
  std::string problem;
};
// Parses `files` as one tree, as LoadTree parses a folder's files.
LoadResult LoadSources(const std::vector<SourceFile>& files);

// Whether a '/'-separated path relative to a tree's folder names a file the
// walk reads: *.yaml or *.yml, with no hidden folder or file on the way.
bool IsManifestPath(const std::string& relative);

// "larger than 4 MiB, the limit for one manifest file; …" for `display_name`.
core::Diagnostic FileTooLarge(const std::string& display_name);

// The documents of one or more files, before the cross-file rules. Deques:
// they grow without copying and are moved into the set a document at a
// time (FinishSet), so a large tree's model is never held twice.
struct Documents {
  std::deque<Rollout> rollouts;
  std::deque<Freeze> freezes;
};

// Parses one file's text. display_name is used in positions and diagnostics.
// Appends documents and diagnostics; cross-file rules (duplicate names) are
// checked by FinishSet.
void ParseText(std::string_view text, const std::string& display_name, Documents& out,
               std::vector<core::Diagnostic>& errors);

// Duplicate metadata.name across the set (rollouts and freezes share one
// namespace): one diagnostic per later occurrence, naming the first. Sorts
// rollouts and freezes by name.
void FinishSet(Documents docs, LoadResult& result);

}  // namespace otaroll::manifest
