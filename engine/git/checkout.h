// A checkout the daemon follows (SPEC §7, docs/daemon.md): the `git` command itself, as
// Argo CD does, so users' SSH keys, credential helpers and proxies work
// unchanged. Fetch, then fast-forward only: a checkout that cannot
// fast-forward (rewritten or diverged history, local changes, a detached
// HEAD, no upstream) is reported and left untouched. Every call has a
// deadline; git never prompts.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"

namespace otaroll::git {

struct PullResult {
  std::string before;  // HEAD before
  std::string after;   // HEAD after (== before when already up to date)
  bool advanced() const { return before != after; }
};

class Checkout {
 public:
  Checkout(std::string dir, std::chrono::milliseconds timeout) : dir_(std::move(dir)), timeout_(timeout) {}

  // The commit checked out at `dir`; NotFound when `dir` is not in a git
  // checkout.
  core::Result<std::string> Head() const;
  // The files below `dir` that differ from the commit checked out: changed,
  // staged or untracked (paths from the repository's top). What
  // --verify-commits acts on must be what was signed.
  core::Result<std::vector<std::string>> Changes() const;
  // `git fetch`, then `git merge --ff-only` of the branch's upstream. An
  // error (naming the checkout and the fix) leaves the checkout as it was.
  core::Result<PullResult> FetchAndFastForward() const;

 private:
  // git -C dir args…, its stdout without the final newline; Unavailable
  // when it timed out or could not start, Invalid (naming `doing` and
  // git's message) for a non-zero exit.
  core::Result<std::string> Run(const std::vector<std::string>& args, const std::string& doing) const;

  std::string dir_;
  std::chrono::milliseconds timeout_;
};

}  // namespace otaroll::git
