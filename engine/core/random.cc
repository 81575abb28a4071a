#include "core/random.h"

#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

namespace otaroll::core {

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::getrandom(buf.data() + got, buf.size() - got, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    got += static_cast<size_t>(n);
  }
  if (got < buf.size()) {
    static std::atomic<uint64_t> counter{0};
    const uint64_t mix[2] = {static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
                             (static_cast<uint64_t>(::getpid()) << 32) ^ counter.fetch_add(1)};
    for (size_t i = 0; i < buf.size(); ++i) buf[i] ^= reinterpret_cast<const unsigned char*>(mix)[i % sizeof mix];
  }
  std::string hex;
  hex.reserve(buf.size() * 2);
  for (unsigned char b : buf) hex += fmt::format("{:02x}", b);
  return hex;
}

}  // namespace otaroll::core
