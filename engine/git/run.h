// Running the git command, for engine/git only: arguments, never a shell;
// never a prompt or an editor; git's messages in the C locale.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/process.h"
#include "core/status.h"

namespace otaroll::git {

// git -C dir args…; `input` goes to its stdin; at most `max_output` bytes
// of its stdout are kept (result.truncated says when more came).
core::Result<core::ProcessResult> RunGit(const std::string& dir, const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout, std::string input = "",
                                         size_t max_output = size_t{1} << 20);

// git's own message, on one line, short (from stderr, else stdout).
std::string GitSays(const core::ProcessResult& r);

// `text` without its trailing newlines.
std::string Chomp(std::string text);

}  // namespace otaroll::git
