#include "core/files.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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

Result<Spill> Spill::Open() {
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
  std::string name = dir + "/otaroll-spill-XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot make a temporary file in {}: {}", dir, std::strerror(errno)));
  }
  ::unlink(name.c_str());  // nameless from now on
  Spill spill;
  spill.dir_ = dir;
  spill.file_.reset(::fdopen(fd, "w+b"));
  if (!spill.file_) {
    ::close(fd);
    return Status::IOError(fmt::format("cannot make a temporary file in {}: {}", dir, std::strerror(errno)));
  }
  // A large plan's text is tens of megabytes, written a rollout (a few
  // kilobytes) at a time: one system call a megabyte, not one a rollout.
  constexpr size_t kBuffer = size_t{1} << 20;
  spill.buffer_ = std::make_unique<char[]>(kBuffer);
  std::setvbuf(spill.file_.get(), spill.buffer_.get(), _IOFBF, kBuffer);
  return spill;
}

Status Spill::Write(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size()) {
    return Status::IOError(fmt::format("cannot write a temporary file in {}: {}; set TMPDIR to a folder with room",
                                       dir_, std::strerror(errno)));
  }
  bytes_ += text.size();
  return Status::Ok();
}

Status Spill::CopyTo(std::ostream& out) {
  if (std::fflush(file_.get()) != 0 || std::fseek(file_.get(), 0, SEEK_SET) != 0) {
    return Status::IOError(fmt::format("cannot read a temporary file back: {}", std::strerror(errno)));
  }
  std::string buffer(1 << 16, '\0');
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file_.get())) > 0) {
    out.write(buffer.data(), static_cast<std::streamsize>(n));
  }
  if (std::ferror(file_.get())) {
    return Status::IOError(fmt::format("cannot read a temporary file back: {}", std::strerror(errno)));
  }
  return std::fseek(file_.get(), 0, SEEK_END) == 0 ? Status::Ok() : Status::IOError("cannot seek a temporary file");
}

}  // namespace otaroll::core
