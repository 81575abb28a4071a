#include "platform/credentials.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace otaroll::platform {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

core::Result<Credentials> CredentialsFromEnv() {
  const char* id = std::getenv(kAccessKeyIdEnv);
  const char* secret = std::getenv(kAccessKeySecretEnv);
  bool has_id = id != nullptr && *id != '\0';
  bool has_secret = secret != nullptr && *secret != '\0';
  if (!has_id && !has_secret) {
    return core::Status::Invalid(fmt::format("no platform credentials: set {} and {}, or pass --credentials-file FILE",
                                             kAccessKeyIdEnv, kAccessKeySecretEnv));
  }
  if (!has_id || !has_secret) {
    return core::Status::Invalid(fmt::format("{} is set but {} is not; set both, or pass --credentials-file FILE",
                                             has_id ? kAccessKeyIdEnv : kAccessKeySecretEnv,
                                             has_id ? kAccessKeySecretEnv : kAccessKeyIdEnv));
  }
  return Credentials{id, secret};
}

core::Result<Credentials> CredentialsFromFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return core::Status::NotFound(fmt::format("{}: cannot read the credentials file: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return core::Status::Invalid(fmt::format("{}: the credentials file is not a regular file", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return core::Status::Invalid(fmt::format(
        "{}: the credentials file is readable or writable by group or others (mode {:04o}); a secret must be "
        "private: run chmod 600 {}",
        path, st.st_mode & 07777, path));
  }
  std::ifstream in(path);
  if (!in) {
    return core::Status::IOError(fmt::format("{}: cannot read the credentials file: {}", path, std::strerror(errno)));
  }
  Credentials c;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = Trim(t.substr(7));
    size_t eq = t.find('=');
    // Never quote the line: it may hold the secret.
    if (eq == std::string::npos) {
      return core::Status::Invalid(
          fmt::format("{}:{}: expected NAME=value ({} or {})", path, number, kAccessKeyIdEnv, kAccessKeySecretEnv));
    }
    std::string name = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (name == kAccessKeyIdEnv) {
      c.access_key_id = value;
    } else if (name == kAccessKeySecretEnv) {
      c.access_key_secret = value;
    } else {
      return core::Status::Invalid(fmt::format("{}:{}: unknown name \"{}\"; expected {} or {}", path, number,
                                               name.substr(0, 64), kAccessKeyIdEnv, kAccessKeySecretEnv));
    }
  }
  if (c.access_key_id.empty() || c.access_key_secret.empty()) {
    return core::Status::Invalid(
        fmt::format("{}: the credentials file must set both {} and {}", path, kAccessKeyIdEnv, kAccessKeySecretEnv));
  }
  return c;
}

}  // namespace otaroll::platform
