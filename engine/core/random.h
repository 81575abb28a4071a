// Random identifiers: lease tokens and intent ids.
#pragma once

#include <cstddef>
#include <string>

namespace otaroll::core {

// `bytes` random bytes from the operating system (getrandom) as lower-case
// hex. Should the OS have no randomness, a value still unique per process
// and instant (which is all a token or an intent id needs).
std::string RandomHex(size_t bytes = 16);

}  // namespace otaroll::core
