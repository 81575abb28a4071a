// Writing a whole file, as the commands that save output do (plan --out,
// state export --out).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace otaroll::core {

// Replaces `path` with `content`. IOError whose message is the system's
// reason alone ("Permission denied"): callers say what was being written.
Status WriteFile(const std::string& path, std::string_view content);

}  // namespace otaroll::core
