#include "git/verify.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/escape.h"
#include "core/process.h"
#include "git/run.h"

namespace otaroll::git {

namespace {

std::vector<std::string> Fields(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  return out;
}

}  // namespace

core::Result<std::unique_ptr<TrustedKeys>> TrustedKeys::Import(const std::string& file,
                                                               std::chrono::milliseconds timeout) {
  const std::string shown = core::Printable(file);
  if (!std::filesystem::is_regular_file(file)) {
    return core::Status::NotFound(fmt::format(
        "--trusted-keys {}: no such file; name an armored OpenPGP public keyring (gpg --armor --export)", shown));
  }
  char pattern[] = "/tmp/otaroll-gnupg.XXXXXX";  // mode 0700
  if (::mkdtemp(pattern) == nullptr) {
    return core::Status::IOError(
        fmt::format("--trusted-keys: cannot make a temporary GNUPGHOME: {}", std::strerror(errno)));
  }
  std::unique_ptr<TrustedKeys> keys(new TrustedKeys(pattern, file, timeout));
  core::ProcessOptions o;
  o.timeout = timeout;
  auto imported = core::RunProcess({"gpg", "--batch", "--no-tty", "--homedir", keys->home_, "--import", file}, o);
  if (!imported.ok())
    return core::Status::Unavailable(fmt::format("--trusted-keys: {}; install gnupg", imported.status().message()));
  auto listed = core::RunProcess(
      {"gpg", "--batch", "--no-tty", "--homedir", keys->home_, "--with-colons", "--fingerprint", "--list-keys"}, o);
  if (!listed.ok()) return listed.status();
  bool primary = false;
  std::istringstream lines(listed->out);
  for (std::string line; std::getline(lines, line);) {
    const auto f = Fields(line, ':');
    if (f.empty()) continue;
    if (f[0] == "pub" || f[0] == "sub") primary = f[0] == "pub";
    if (f[0] == "fpr" && f.size() > 9) {
      keys->all_.push_back(f[9]);
      if (primary) keys->primaries_.push_back(f[9]);
      primary = false;
    }
  }
  if (keys->primaries_.empty()) {
    return core::Status::Invalid(
        fmt::format("--trusted-keys {}: no OpenPGP public key could be imported ({}); "
                    "export the keys with gpg --armor --export KEYID",
                    shown, GitSays(*imported)));
  }
  return keys;
}

TrustedKeys::~TrustedKeys() {
  core::ProcessOptions o;
  o.timeout = std::chrono::seconds(10);
  (void)core::RunProcess({"gpgconf", "--homedir", home_, "--kill", "all"}, o);
  std::error_code ec;
  std::filesystem::remove_all(home_, ec);
}

core::Result<std::string> TrustedKeys::Verify(const std::string& dir, const std::string& commit) const {
  core::ProcessOptions o;
  o.timeout = timeout_;
  o.env = {{"GNUPGHOME", home_}, {"GIT_TERMINAL_PROMPT", "0"}, {"LC_ALL", "C"}};
  auto r = core::RunProcess(
      {"git", "-C", dir, "-c", "gpg.program=gpg", "-c", "gpg.format=openpgp", "verify-commit", "--raw", commit}, o);
  if (!r.ok()) return core::Status::Unavailable(fmt::format("cannot run git verify-commit: {}", r.status().message()));
  if (r->timed_out) return core::Status::Unavailable("git verify-commit took too long");
  const std::string short_commit = commit.substr(0, 12);
  std::string valid_primary, bad_key, unknown_key;
  std::istringstream lines(r->err);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("[GNUPG:] ", 0) != 0) continue;
    const auto f = Fields(line.substr(9), ' ');
    if (f.empty()) continue;
    if (f[0] == "VALIDSIG" && f.size() > 10 && std::find(all_.begin(), all_.end(), f[1]) != all_.end()) {
      valid_primary = f[10];
    } else if (f[0] == "BADSIG" && f.size() > 1) {
      bad_key = f[1];
    } else if ((f[0] == "NO_PUBKEY" || f[0] == "ERRSIG") && f.size() > 1) {
      unknown_key = f[1];
    }
  }
  const std::string keys = core::Printable(file_);
  if (!bad_key.empty()) {
    return core::Status::Invalid(fmt::format(
        "commit {} has a bad signature (key {}): it was changed after it was signed", short_commit, bad_key));
  }
  if (!valid_primary.empty() && std::find(primaries_.begin(), primaries_.end(), valid_primary) != primaries_.end()) {
    return valid_primary;
  }
  if (!unknown_key.empty()) {
    return core::Status::Invalid(fmt::format(
        "commit {} is signed by key {}, which is not in {}; only commits signed by a trusted key are acted on",
        short_commit, unknown_key, keys));
  }
  return core::Status::Invalid(
      fmt::format("commit {} is not signed; with --verify-commits only commits signed by a key of {} are acted on",
                  short_commit, keys));
}

}  // namespace otaroll::git
