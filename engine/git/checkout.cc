#include "git/checkout.h"

#include <fmt/format.h>

#include <vector>

#include "core/escape.h"
#include "git/run.h"

namespace otaroll::git {

core::Result<std::string> Checkout::Run(const std::vector<std::string>& args, const std::string& doing) const {
  auto r = RunGit(dir_, args, timeout_);
  if (!r.ok()) {
    return core::Status::Unavailable(
        fmt::format("{}: {} failed: {}; install git or fix PATH", dir_, doing, r.status().message()));
  }
  if (r->timed_out) {
    return core::Status::Unavailable(
        fmt::format("{}: {} timed out after {}s; the checkout was left as it was (check the remote's reachability)",
                    dir_, doing, std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()));
  }
  if (r->exit_code != 0) {
    return core::Status::Invalid(fmt::format("{}: {} failed: {}", dir_, doing, GitSays(*r)));
  }
  return Chomp(r->out);
}

core::Result<std::string> Checkout::Head() const {
  auto r = RunGit(dir_, {"rev-parse", "--verify", "--quiet", "HEAD^{commit}"}, timeout_);
  if (!r.ok()) return r.status();
  if (r->timed_out) return core::Status::Unavailable(fmt::format("{}: git rev-parse timed out", dir_));
  if (r->exit_code != 0) return core::Status::NotFound(fmt::format("{} is not a git checkout with a commit", dir_));
  return Chomp(r->out);
}

core::Result<std::vector<std::string>> Checkout::Changes() const {
  auto out = Run({"status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all", "--", "."},
                 "checking for local changes");
  if (!out.ok()) return out.status();
  std::vector<std::string> paths;
  size_t at = 0;
  while (at < out->size()) {  // "XY path\0"
    size_t end = out->find('\0', at);
    if (end == std::string::npos) end = out->size();
    if (end - at > 3) paths.push_back(out->substr(at + 3, end - at - 3));
    at = end + 1;
  }
  return paths;
}

core::Result<PullResult> Checkout::FetchAndFastForward() const {
  auto before = Head();
  if (!before.ok()) {
    return core::Status::Invalid(
        fmt::format("{} is not a git checkout with a commit; --git-pull needs a clone (git clone URL {})", dir_, dir_));
  }
  if (auto branch = Run({"symbolic-ref", "--quiet", "--short", "HEAD"}, "reading the branch"); !branch.ok()) {
    return core::Status::Invalid(fmt::format(
        "{}: HEAD is detached (at {}); --git-pull follows a branch: check one out (git -C {} checkout main)", dir_,
        before->substr(0, 12), dir_));
  }
  auto upstream = Run({"rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"}, "finding the upstream");
  if (!upstream.ok()) {
    return core::Status::Invalid(fmt::format(
        "{}: the branch has no upstream to pull from; set one (git -C {} branch --set-upstream-to origin/main)", dir_,
        dir_));
  }
  auto changes = Run({"status", "--porcelain", "--untracked-files=no"}, "checking for local changes");
  if (!changes.ok()) return changes.status();
  if (!changes->empty()) {
    return core::Status::Invalid(fmt::format(
        "{} has local changes to tracked files; the daemon only fast-forwards and left the checkout as it was: "
        "commit or discard them",
        dir_));
  }
  if (auto fetched = Run({"fetch", "--quiet", "--no-tags"}, "git fetch"); !fetched.ok()) return fetched.status();
  auto remote = Run({"rev-parse", "--verify", "--quiet", "@{upstream}^{commit}"}, "reading the upstream");
  if (!remote.ok()) return remote.status();
  PullResult result{*before, *before};
  if (*remote == *before) return result;
  auto ancestor = RunGit(dir_, {"merge-base", "--is-ancestor", "HEAD", "@{upstream}"}, timeout_);
  if (!ancestor.ok()) return ancestor.status();
  if (ancestor->exit_code == 1) {
    return core::Status::Invalid(fmt::format(
        "{}: {} cannot be fast-forwarded to {} ({}): its history was rewritten or has diverged; the checkout was "
        "left at {}: reset it on purpose (git -C {} reset --hard {}) if the remote is right",
        dir_, before->substr(0, 12), remote->substr(0, 12), *upstream, before->substr(0, 12), dir_, *upstream));
  }
  if (ancestor->exit_code != 0 || ancestor->timed_out) {
    return core::Status::Unavailable(fmt::format("{}: git merge-base failed: {}", dir_, GitSays(*ancestor)));
  }
  if (auto merged = Run({"merge", "--ff-only", "--quiet", "@{upstream}"}, "git merge --ff-only"); !merged.ok()) {
    return merged.status();
  }
  auto after = Head();
  if (!after.ok()) return after.status();
  result.after = *after;
  return result;
}

}  // namespace otaroll::git
