#include "core/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace otaroll::core {

Status WriteFile(const std::string& path, std::string_view content) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (out) return Status::Ok();
  return Status::IOError(errno != 0 ? std::strerror(errno) : "the write failed");
}

}  // namespace otaroll::core
