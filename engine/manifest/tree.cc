// Reading a manifest tree from disk: the walk, symbolic links, unreadable
// folders and files, and the size bounds (docs/security.md). Parsing is in
// loader.cc.
#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/escape.h"
#include "core/parallel.h"
#include "core/sha256.h"
#include "manifest/ignore.h"
#include "manifest/limits.h"
#include "manifest/loader.h"

namespace otaroll::manifest {
namespace fs = std::filesystem;
using core::Diagnostic;

namespace {

bool IsManifestName(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// A folder's entry as readdir gives it: its name and, where the file system
// tells, its type (unknown otherwise); "." and ".." left out.
struct Listed {
  std::string name;
  fs::file_type type = fs::file_type::unknown;
};

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

std::vector<Listed> List(const fs::path& dir, std::error_code& ec) {
  std::vector<Listed> out;
  ec.clear();
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) {
    ec = std::error_code(errno, std::generic_category());
    return out;
  }
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) ec = std::error_code(errno, std::generic_category());
      return out;
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    fs::file_type type = fs::file_type::unknown;
    switch (e->d_type) {
      case DT_REG: type = fs::file_type::regular; break;
      case DT_DIR: type = fs::file_type::directory; break;
      case DT_LNK: type = fs::file_type::symlink; break;
      case DT_FIFO: type = fs::file_type::fifo; break;
      case DT_SOCK: type = fs::file_type::socket; break;
      case DT_CHR: type = fs::file_type::character; break;
      case DT_BLK: type = fs::file_type::block; break;
      default: break;
    }
    out.push_back(Listed{std::string(name), type});
  }
}

// Collects the manifest files below a root, reporting every folder, file or
// link that stops the tree from being read whole.
class Walk {
 public:
  Walk(const fs::path& root, std::string root_display, fs::path real_root, IgnoreRules ignore)
      : root_(root),
        root_display_(std::move(root_display)),
        real_root_(std::move(real_root)),
        ignore_(std::move(ignore)) {}

  std::vector<std::pair<std::string, std::string>>
      files;  // display name, path (no fs::path: its parts cost more than its text)
  std::vector<Diagnostic> errors;

  std::string Display(const fs::path& p) const {
    if (p == root_) return root_display_;
    return Normal(p);
  }
  // The path below the root as shown: the root as given joined with the
  // path below it, normalized.
  std::string Normal(const fs::path& p) const {
    return core::Printable((root_ / p.lexically_relative(root_)).lexically_normal().generic_string());
  }
  // Normal() of a folder's entry from Normal() of the folder: the name
  // appended, as normalizing would (a folder's normal form may be "." or end
  // in '/'), without normalizing every entry's path again.
  static std::string Child(const std::string& folder, const std::string& name) {
    if (folder == ".") return core::Printable(name);
    return folder + (!folder.empty() && folder.back() == '/' ? "" : "/") + core::Printable(name);
  }
  void Error(const fs::path& p, std::string message) {
    errors.push_back(Diagnostic{Display(p), 0, 0, "", std::move(message)});
  }

  void Folder(const fs::path& dir) {
    std::error_code ec;
    std::vector<Listed> entries = List(dir, ec);
    if (ec) {
      Error(dir, fmt::format("cannot read the folder: {}; every folder of the tree must be readable (nothing is "
                             "planned from a tree read in part): fix its permissions, or move it out of the tree",
                             ec.message()));
      return;
    }
    // By name: the order directory_entry paths of one folder sort in.
    std::sort(entries.begin(), entries.end(), [](const Listed& a, const Listed& b) { return a.name < b.name; });
    const std::string shown = Normal(dir);
    for (const auto& entry : entries) {
      if (files.size() > kMaxFiles) return;
      if (entry.name[0] == '.') continue;  // hidden
      const fs::path p = dir / entry.name;
      // readdir's type spares a stat; only an unknown type is looked up.
      const fs::file_status st =
          entry.type != fs::file_type::unknown ? fs::file_status(entry.type) : fs::symlink_status(p, ec);
      if (!ignore_.empty() && !ec &&
          ignore_.Ignored(p.lexically_relative(root_).generic_string(), fs::is_directory(st))) {
        continue;
      }
      if (ec) {
        Error(p, fmt::format("cannot read it: {}", ec.message()));
      } else if (fs::is_symlink(st)) {
        Link(p);
      } else if (fs::is_directory(st)) {
        Folder(p);
      } else if (IsManifestName(p)) {
        Add(p, st, Child(shown, entry.name));
      }
    }
  }

  // A link is followed only to a file inside the tree; a linked folder is
  // not walked (its files are read where they are, if inside the tree).
  void Link(const fs::path& p) {
    std::error_code ec;
    fs::path target = fs::canonical(p, ec);
    if (ec) {
      if (IsManifestName(p)) {
        Error(p, fmt::format("a symbolic link that leads nowhere ({}); remove it or fix its target", ec.message()));
      }
      return;
    }
    auto st = fs::status(target, ec);
    const bool folder = !ec && fs::is_directory(st);
    if (!folder && !IsManifestName(p)) return;
    if (!Inside(target)) {
      Error(p, fmt::format("a symbolic link to a {} outside the tree; manifests are read only from inside {} (the "
                           "target was not read): replace the link by the file itself",
                           folder ? "folder" : "file", root_display_));
      return;
    }
    if (!folder) Add(p, st, Display(p));
  }

  void Add(const fs::path& p, const fs::file_status& st, std::string shown) {
    if (!fs::is_regular_file(st)) {
      Error(p,
            "not a regular file (a FIFO, socket or device); remove it or rename it to end in something other "
            "than .yaml/.yml");
      return;
    }
    files.emplace_back(std::move(shown), p.native());
    if (files.size() > kMaxFiles) {
      Error(root_, fmt::format("more than {} manifest files; split the tree", kMaxFiles));
    }
  }

 private:
  bool Inside(const fs::path& target) const {
    auto rel = target.lexically_relative(real_root_);
    return !rel.empty() && *rel.begin() != "..";
  }

  fs::path root_;
  std::string root_display_;
  fs::path real_root_;
  IgnoreRules ignore_;
};

// Reads one file, but never more than one byte past kMaxFileBytes (ParseText
// reports a file that long); an error diagnostic when it cannot be read.
std::optional<std::string> ReadFile(const std::string& display, const std::string& path,
                                    std::vector<Diagnostic>& errors) {
  auto fail = [&](std::string message) {
    errors.push_back(Diagnostic{display, 0, 0, "", std::move(message)});
    return std::nullopt;
  };
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return fail(fmt::format("cannot read the file: {}; check its permissions", std::strerror(errno)));
  std::string text;
  char buf[65536];
  for (;;) {
    size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, std::min(n, kMaxFileBytes + 1 - text.size()));
    if (text.size() > kMaxFileBytes || n < sizeof buf) break;
  }
  if (std::ferror(f.get())) return fail(fmt::format("cannot read the file: {}", std::strerror(errno)));
  return text;
}

// The stat fields a file is known by (nullopt when it cannot be stat'ed:
// then it is always read).
std::optional<FileStamp> Stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  FileStamp s;
  s.device = static_cast<uint64_t>(st.st_dev);
  s.inode = static_cast<uint64_t>(st.st_ino);
  s.size = static_cast<int64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return s;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Files = std::vector<std::pair<std::string, std::string>>;  // display name, path

// Below this many files one thread parses them all (a thread costs more
// than it saves).
constexpr size_t kParallelFrom = 64;

// Parses `files` into `result` (texts already read by path are not read
// again). The files are independent: with many of them, each core parses a
// contiguous share into documents and errors of its own, and the shares are
// joined in order, so the result is exactly what one thread would make.
void Parse(const Files& files, const std::map<std::string, std::string>& texts, LoadResult& result) {
  struct Share {
    Documents docs;
    std::vector<Diagnostic> errors;
  };
  std::vector<Share> shares(core::ShareCount(files.size(), kParallelFrom));
  core::ForEachShare(files.size(), kParallelFrom, [&](size_t s, size_t from, size_t to) {
    Share& share = shares[s];
    for (size_t i = from; i < to; ++i) {
      const auto& [display, path] = files[i];
      auto read = texts.find(path);
      if (read != texts.end()) {
        ParseText(read->second, display, share.docs, share.errors);
      } else if (auto text = ReadFile(display, path, share.errors)) {
        ParseText(*text, display, share.docs, share.errors);
      }
    }
  });
  Documents rollouts;  // each share's documents moved over one at a time
  for (Share& share : shares) {
    for (; !share.docs.rollouts.empty(); share.docs.rollouts.pop_front()) {
      rollouts.rollouts.push_back(std::move(share.docs.rollouts.front()));
    }
    for (; !share.docs.freezes.empty(); share.docs.freezes.pop_front()) {
      rollouts.freezes.push_back(std::move(share.docs.freezes.front()));
    }
    for (auto& e : share.errors) result.errors.push_back(std::move(e));
  }
  result.set.files = files.size();
  FinishSet(std::move(rollouts), result);
}

// The tree's digest from every file's content hash, reading only the files
// whose stat changed; parsed only when the digest changed.
LoadResult LoadCached(const Files& files, LoadResult result, TreeCache& cache) {
  std::map<std::string, std::string> texts;  // by path: what was read for the digest
  std::vector<std::optional<FileStamp>> stamps(files.size());
  std::vector<bool> unreadable(files.size(), false);
  bool same_files = files.size() == cache.files.size();  // every file stat'ed as cached
  std::string lines;                                     // what the digest is of, hashed at once
  // The stats are most of an unchanged tree's cost: on every core.
  constexpr size_t kStatInParallelFrom = 512;
  core::ForEachShare(files.size(), kStatInParallelFrom, [&](size_t, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) stamps[i] = Stamp(files[i].second);
  });
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [display, path] = files[i];
    std::optional<FileStamp>& stamp = stamps[i];
    auto known = cache.files.find(path);
    if (stamp && known != cache.files.end() && known->second.trusted && *stamp == known->second) {
      stamp->sha256 = known->second.sha256;
      stamp->trusted = true;
    } else {
      same_files = false;
      auto text = ReadFile(display, path, result.errors);
      if (!text) {  // said in result.errors, which are part of the digest
        unreadable[i] = true;
        stamp.reset();
        continue;
      }
      ++cache.files_read;
      if (stamp) {
        const int64_t now = NowNs();
        stamp->sha256 = core::Sha256Hex(*text);
        stamp->trusted = now - stamp->mtime_ns > cache.racy_window_ns && now - stamp->ctime_ns > cache.racy_window_ns;
      }
      texts.emplace(path, std::move(*text));
    }
    fmt::format_to(std::back_inserter(lines), "{}:{}:{}\n", display.size(), display,
                   stamp ? stamp->sha256 : std::string("?"));
  }
  for (const auto& e : result.errors) lines += e.Format() + "\n";  // walk and read errors are part of the tree
  if (!same_files) {                                               // else every cached stamp stands as it is
    std::map<std::string, FileStamp> now;
    for (size_t i = 0; i < files.size(); ++i) {
      if (stamps[i]) now.emplace(files[i].second, std::move(*stamps[i]));
    }
    cache.files = std::move(now);
  }
  std::string hash = core::Sha256Hex(lines);
  if (hash == cache.digest) return LoadResult{};  // unchanged: cache.result stands
  Files readable;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!unreadable[i]) readable.push_back(files[i]);
  }
  Parse(readable, texts, result);
  result.set.files = files.size();
  cache.digest = std::move(hash);
  cache.result = std::move(result);
  ++cache.parses;
  return LoadResult{};  // the caller reads cache.result
}

}  // namespace

namespace {

// Reads the tree: parses every file (no cache), or, with a cache, reads the
// files whose stat changed and parses only when the tree's digest changed.
core::Result<LoadResult> LoadTreeWith(const std::string& dir, TreeCache* cache);

}  // namespace

core::Result<LoadResult> LoadTree(const std::string& dir) {
  return LoadTreeWith(dir, nullptr);
}

LoadResult LoadSources(const std::vector<SourceFile>& files) {
  LoadResult result;
  Documents rollouts;
  for (const auto& f : files) {
    if (!f.problem.empty()) {
      result.errors.push_back(Diagnostic{f.shown, 0, 0, "", f.problem});
    } else if (f.too_large) {
      result.errors.push_back(FileTooLarge(f.shown));
    } else {
      ParseText(f.text, f.shown, rollouts, result.errors);
    }
  }
  result.set.files = files.size();
  FinishSet(std::move(rollouts), result);
  return result;
}

bool IsManifestPath(const std::string& relative) {
  size_t at = 0;
  while (at < relative.size()) {
    if (relative[at] == '.') return false;  // a hidden folder or file
    const size_t slash = relative.find('/', at);
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  return IsManifestName(fs::path(relative));
}

core::Result<const LoadResult*> LoadTree(const std::string& dir, TreeCache& cache) {
  auto loaded = LoadTreeWith(dir, &cache);  // fills cache.result
  if (!loaded.ok()) return loaded.status();
  return &cache.result;
}

namespace {

core::Result<LoadResult> LoadTreeWith(const std::string& dir, TreeCache* cache) {
  std::error_code ec;
  fs::path root(dir);
  const std::string shown = core::Printable(dir);
  auto status = fs::status(root, ec);
  if (ec || !fs::exists(status)) {
    return core::Status::NotFound(fmt::format("{}: no such file or directory; name a manifest directory", shown));
  }
  LoadResult result;
  Files files;
  if (!fs::is_directory(status)) {
    if (!fs::is_regular_file(status)) {
      return core::Status::Invalid(
          fmt::format("{}: not a regular file or a directory; name a manifest directory", shown));
    }
    files.emplace_back(shown, root);
  } else {
    fs::path real_root = fs::canonical(root, ec);
    if (ec) return core::Status::IOError(fmt::format("{}: cannot read the directory: {}", shown, ec.message()));
    fs::directory_iterator probe(root, ec);
    if (ec) return core::Status::IOError(fmt::format("{}: cannot read the directory: {}", shown, ec.message()));
    // An ignore file that cannot be read is an error: which files to skip is unknown.
    IgnoreRules ignore;
    if (const fs::path ignore_file = root / kIgnoreFile; fs::exists(ignore_file, ec)) {
      if (auto text = ReadFile(shown + "/" + kIgnoreFile, ignore_file, result.errors)) {
        ignore = IgnoreRules::Parse(*text);
      }
    }
    Walk walk(root, shown, real_root, std::move(ignore));
    walk.Folder(root);
    files = std::move(walk.files);
    result.errors = std::move(walk.errors);
    if (files.size() > kMaxFiles) files.clear();
  }
  if (cache == nullptr) {
    Parse(files, {}, result);
    return result;
  }
  return LoadCached(files, std::move(result), *cache);
}

}  // namespace

}  // namespace otaroll::manifest
