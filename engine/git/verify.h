// Signed commits (`otaroll daemon --verify-commits --trusted-keys FILE`,
// SPEC §7): the daemon acts only on a commit whose signature verifies
// against exactly the keys of FILE, an armored OpenPGP public keyring. gpg
// runs with a private, temporary GNUPGHOME that holds only those keys; the
// user's keyring and trust settings are never read.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace otaroll::git {

class TrustedKeys {
 public:
  // Imports FILE into a new temporary GNUPGHOME; an error (naming FILE and
  // what gpg said) when no key could be imported.
  static core::Result<std::unique_ptr<TrustedKeys>> Import(const std::string& file, std::chrono::milliseconds timeout);
  ~TrustedKeys();  // stops gpg's agents for the home and removes it
  TrustedKeys(const TrustedKeys&) = delete;
  TrustedKeys& operator=(const TrustedKeys&) = delete;

  // The primary keys' fingerprints, upper-case hex.
  const std::vector<std::string>& fingerprints() const { return primaries_; }

  // The fingerprint of the primary key whose signature on `commit` (in the
  // repository at `dir`) verifies; else an error saying why: unsigned,
  // signed by a key not in FILE, or a bad signature.
  core::Result<std::string> Verify(const std::string& dir, const std::string& commit) const;

 private:
  TrustedKeys(std::string home, std::string file, std::chrono::milliseconds timeout)
      : home_(std::move(home)), file_(std::move(file)), timeout_(timeout) {}
  std::string home_, file_;
  std::chrono::milliseconds timeout_;
  std::vector<std::string> primaries_;
  std::vector<std::string> all_;  // primaries and subkeys: any may sign
};

}  // namespace otaroll::git
