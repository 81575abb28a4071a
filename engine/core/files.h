// Writing a whole file, as the commands that save output do (plan --out,
// state export --out), and spilling output that comes before what it
// follows (plan's JSON rollouts, written before their counts are known).
#pragma once

#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "core/status.h"

namespace otaroll::core {

// Replaces `path` with `content`. IOError whose message is the system's
// reason alone ("Permission denied"): callers say what was being written.
Status WriteFile(const std::string& path, std::string_view content);

// A file with no name in $TMPDIR (or /tmp) that text is spilled to and read
// back from; gone when closed, even if the process dies.
class Spill {
 public:
  // The spill, or IOError with the system's reason and the folder.
  static Result<Spill> Open();
  Status Write(std::string_view text);
  bool empty() const { return bytes_ == 0; }
  // Everything written so far, copied to `out` from the start.
  Status CopyTo(std::ostream& out);

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<char[]> buffer_;  // the file's (closed before it is freed)
  std::unique_ptr<std::FILE, Closer> file_;
  std::string dir_;
  size_t bytes_ = 0;
};

}  // namespace otaroll::core
