#include "git/tree.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "core/escape.h"
#include "git/run.h"

namespace otaroll::git {

namespace {

struct Entry {
  std::string mode;  // 100644, 100755, 120000 (a link), 160000 (a submodule)
  std::string sha;
  int64_t size = -1;
};

// Runs one git command for ReadTreeAt: an error names what was being done.
core::Result<std::string> Git(const std::string& dir, const std::vector<std::string>& args, const RefTreeOptions& o,
                              const std::string& doing, std::string input = "", size_t max_output = size_t{1} << 20) {
  auto r = RunGit(dir, args, o.timeout, std::move(input), max_output);
  if (!r.ok()) return core::Status::Unavailable(fmt::format("cannot run git ({}); install git", r.status().message()));
  if (r->timed_out) {
    return core::Status::Unavailable(fmt::format("{}: git took longer than {}s while {}", core::Printable(dir),
                                                 std::chrono::duration_cast<std::chrono::seconds>(o.timeout).count(),
                                                 doing));
  }
  if (r->exit_code != 0) return core::Status::Invalid(GitSays(*r));
  if (r->truncated) return core::Status::IOError(fmt::format("git said more than expected while {}", doing));
  return std::move(r->out);
}

// The commit `ref` names; errors say how to get it.
core::Result<std::string> Resolve(const std::string& dir, const std::string& top, const std::string& ref,
                                  const RefTreeOptions& o) {
  auto commit = Git(dir, {"rev-parse", "--verify", "--quiet", ref + "^{commit}"}, o, "resolving the ref");
  if (commit.ok()) return Chomp(*commit);
  if (commit.status().code() == core::Status::Code::kUnavailable) return commit.status();
  auto shallow = Git(dir, {"rev-parse", "--is-shallow-repository"}, o, "checking for a shallow clone");
  const std::string shown_ref = core::Printable(ref);
  const std::string shown_dir = core::Printable(dir);
  if (shallow.ok() && Chomp(*shallow) == "true") {
    const auto slash = ref.find('/');
    const std::string fetch =
        slash != std::string::npos && slash > 0 && slash + 1 < ref.size()
            ? fmt::format("git -C {} fetch --depth=1 {} {}:refs/remotes/{}", shown_dir,
                          core::Printable(ref.substr(0, slash)), core::Printable(ref.substr(slash + 1)), shown_ref)
            : fmt::format("git -C {} fetch --depth=1 origin {}", shown_dir, shown_ref);
    return core::Status::NotFound(
        fmt::format("unknown ref {} in repository {}, a shallow clone that may not have fetched it: fetch it ({}), "
                    "or clone with the whole history (actions/checkout: fetch-depth: 0)",
                    shown_ref, core::Printable(top), fetch));
  }
  return core::Status::NotFound(
      fmt::format("unknown ref {} in repository {}; name a branch, tag or commit it has (git -C {} branch -a lists "
                  "the branches; git -C {} fetch gets the remote's)",
                  shown_ref, core::Printable(top), shown_dir, shown_dir));
}

// Every entry below `prefix` (a path from the top ending in '/', or "") of
// `commit`, by path from the top.
core::Result<std::map<std::string, Entry>> List(const std::string& top, const std::string& commit,
                                                const std::string& prefix, const RefTreeOptions& o) {
  std::vector<std::string> args = {"ls-tree", "-r", "-l", "-z", commit};
  if (!prefix.empty()) args.insert(args.end(), {"--", ":(literal)" + prefix});
  auto out = Git(top, args, o, "listing the tree", "", size_t{256} << 20);
  if (!out.ok()) return out.status();
  std::map<std::string, Entry> entries;
  size_t at = 0;
  while (at < out->size()) {
    const size_t end = out->find('\0', at);
    const std::string record = out->substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? out->size() : end + 1;
    // "<mode> <type> <sha> <size>\t<path>"
    const size_t tab = record.find('\t');
    if (tab == std::string::npos) continue;
    Entry e;
    char type[16] = {}, sha[65] = {}, size[32] = {}, mode[8] = {};
    if (std::sscanf(record.substr(0, tab).c_str(), "%7s %15s %64s %31s", mode, type, sha, size) != 4) continue;
    e.mode = mode;
    e.sha = sha;
    e.size = std::string(size) == "-" ? -1 : std::stoll(size);
    entries.emplace(record.substr(tab + 1), std::move(e));
  }
  return entries;
}

// The blobs `shas` (in that order) in one `git cat-file --batch`.
core::Result<std::vector<std::string>> ReadBlobs(const std::string& top, const std::vector<std::string>& shas,
                                                 int64_t total, const RefTreeOptions& o) {
  if (shas.empty()) return std::vector<std::string>{};
  std::string input;
  for (const auto& s : shas) input += s + "\n";
  const size_t bound = static_cast<size_t>(total) + 128 * shas.size() + 1024;
  auto out = Git(top, {"cat-file", "--batch"}, o, "reading the files", std::move(input), bound);
  if (!out.ok()) return out.status();
  std::vector<std::string> blobs;
  size_t at = 0;
  for (const auto& sha : shas) {
    const size_t eol = out->find('\n', at);
    if (eol == std::string::npos) return core::Status::IOError("git cat-file ended early");
    const std::string header = out->substr(at, eol - at);  // "<sha> blob <size>" or "<sha> missing"
    const size_t space = header.rfind(' ');
    if (header.rfind(sha, 0) != 0 || header.find(" blob ") == std::string::npos || space == std::string::npos) {
      return core::Status::IOError(fmt::format("git cat-file could not read object {}: {}", sha, header));
    }
    const size_t size = std::stoull(header.substr(space + 1));
    if (eol + 1 + size > out->size()) return core::Status::IOError("git cat-file ended early");
    blobs.push_back(out->substr(eol + 1, size));
    at = eol + 1 + size + 1;  // the blob, then a newline
  }
  return blobs;
}

// Where the link at `path` (from the top) with target `target` leads, from
// the top; "" when it leaves the repository or is absolute.
std::string LinkTarget(const std::string& path, const std::string& target) {
  if (target.empty() || target[0] == '/') return "";
  std::vector<std::string> parts;
  const size_t slash = path.rfind('/');
  std::string joined = (slash == std::string::npos ? "" : path.substr(0, slash + 1)) + target;
  size_t at = 0;
  while (at <= joined.size()) {
    size_t end = joined.find('/', at);
    if (end == std::string::npos) end = joined.size();
    const std::string part = joined.substr(at, end - at);
    if (part == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    at = end + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// The selected links of a listing: where each leads (a blob's path from the
// top, or "" when it leads nowhere usable, with its target text), and which
// lead to folders (not walked, as in a checkout).
struct LinkMap {
  std::map<std::string, std::pair<std::string, std::string>> leads_to;  // link -> (blob path or "", target)
  std::set<std::string> folders;
};

core::Result<LinkMap> Links(const std::string& top, const std::map<std::string, Entry>& entries,
                            const std::string& below, const RefTreeOptions& o) {
  std::vector<std::string> links, shas;
  for (const auto& [path, e] : entries) {
    if (e.mode == "120000" && o.select(path.substr(below.size()))) {
      links.push_back(path);
      shas.push_back(e.sha);
    }
  }
  auto targets = ReadBlobs(top, shas, int64_t{1} << 20, o);
  if (!targets.ok()) return targets.status();
  LinkMap out;
  for (size_t i = 0; i < links.size(); ++i) {
    const std::string to = LinkTarget(links[i], (*targets)[i]);
    auto under = to.empty() ? entries.end() : entries.lower_bound(to + "/");
    if (under != entries.end() && under->first.rfind(to + "/", 0) == 0) {
      out.folders.insert(links[i]);
      continue;
    }
    auto it = to.empty() ? entries.end() : entries.find(to);
    const bool usable =
        it != entries.end() && to.rfind(below, 0) == 0 && it->second.mode != "120000" && it->second.mode != "160000";
    out.leads_to[links[i]] = {usable ? to : "", (*targets)[i]};
  }
  return out;
}

}  // namespace

core::Result<RefTree> ReadTreeAt(const std::string& dir, const std::string& ref, const RefTreeOptions& o) {
  if (ref.empty() || ref[0] == '-') {
    return core::Status::Invalid(
        fmt::format("\"{}\" is not a ref; name a branch, tag or commit", core::Printable(ref)));
  }
  auto top = Git(dir, {"rev-parse", "--show-toplevel"}, o, "finding the repository");
  if (!top.ok()) {
    if (top.status().code() == core::Status::Code::kUnavailable) return top.status();
    return core::Status::Invalid(fmt::format(
        "{} is not in a git repository ({}); read the baseline from a clone of the repository, or from a folder "
        "with --baseline",
        core::Printable(dir), top.status().message()));
  }
  const std::string root = Chomp(*top);
  auto prefix = Git(dir, {"rev-parse", "--show-prefix"}, o, "finding the folder in the repository");
  if (!prefix.ok()) return prefix.status();
  const std::string below = Chomp(*prefix);
  auto commit = Resolve(dir, root, ref, o);
  if (!commit.ok()) return commit.status();
  auto entries = List(root, *commit, below, o);
  if (!entries.ok()) return entries.status();

  if (o.on_rules) {
    std::string text;
    auto rules = entries->find(below + o.rules_file);
    if (rules != entries->end() && rules->second.mode != "120000" && rules->second.mode != "160000" &&
        rules->second.size <= static_cast<int64_t>(o.max_file_bytes)) {
      auto blob = ReadBlobs(root, {rules->second.sha}, rules->second.size, o);
      if (!blob.ok()) return blob.status();
      text = std::move(blob->front());
    }
    o.on_rules(text);
  }
  auto links = Links(root, *entries, below, o);
  if (!links.ok()) return links.status();
  RefTree tree;
  tree.commit = *commit;
  std::vector<std::string> wanted;  // blob shas to read
  int64_t total = 0;
  for (const auto& [path, e] : *entries) {
    const std::string rel = path.substr(below.size());
    if (e.mode == "160000" || links->folders.count(path) || !o.select(rel)) continue;
    RefFile f;
    f.path = rel;
    f.shown = core::Printable(ref + ":" + path);
    const Entry* blob = &e;
    if (e.mode == "120000") {
      const auto& [to, target] = links->leads_to.at(path);
      if (to.empty()) {
        f.problem = fmt::format(
            "a symbolic link to {} in {}, which is not a file of the tree below {}; replace the link by the file "
            "itself",
            core::Printable(target), core::Printable(ref), below.empty() ? std::string("the top") : below);
        tree.files.push_back(std::move(f));
        continue;
      }
      blob = &entries->at(to);
    }
    if (blob->size > static_cast<int64_t>(o.max_file_bytes)) {
      f.too_large = true;
    } else {
      wanted.push_back(blob->sha);
      total += std::max<int64_t>(blob->size, 0);
      f.text = blob->sha;  // replaced by the bytes below
    }
    tree.files.push_back(std::move(f));
    if (tree.files.size() > o.max_files) {
      return core::Status::Invalid(fmt::format("more than {} manifest files below {} in {}; split the tree",
                                               o.max_files, below.empty() ? "the top" : below, core::Printable(ref)));
    }
  }
  auto blobs = ReadBlobs(root, wanted, total, o);
  if (!blobs.ok()) return blobs.status();
  size_t next = 0;
  for (auto& f : tree.files) {
    if (!f.too_large && f.problem.empty()) f.text = std::move((*blobs)[next++]);
  }
  return tree;
}

}  // namespace otaroll::git
