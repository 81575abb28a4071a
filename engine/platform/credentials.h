// Where the access key comes from (SPEC §3): the environment
// (OTAROLL_ACCESS_KEY_ID, OTAROLL_ACCESS_KEY_SECRET) or a private file. The
// secret is never part of any message.
#pragma once

#include <string>

#include "core/status.h"
#include "platform/client.h"

namespace otaroll::platform {

inline constexpr const char* kAccessKeyIdEnv = "OTAROLL_ACCESS_KEY_ID";
inline constexpr const char* kAccessKeySecretEnv = "OTAROLL_ACCESS_KEY_SECRET";

// From the environment.
core::Result<Credentials> CredentialsFromEnv();

// From a file of `NAME=value` lines (OTAROLL_ACCESS_KEY_ID=…,
// OTAROLL_ACCESS_KEY_SECRET=…; '#' comments and blank lines allowed), which
// must not be readable or writable by group or others.
core::Result<Credentials> CredentialsFromFile(const std::string& path);

}  // namespace otaroll::platform
