// Running another program (git) with a deadline: arguments, never a shell;
// stdout and stderr captured; the program and everything it starts (ssh, a
// credential helper) run in a process group of their own, killed whole when
// the deadline passes, so a hanging remote can never stall the caller.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace otaroll::core {

struct ProcessOptions {
  std::string cwd;                         // "" = ours
  std::map<std::string, std::string> env;  // added to our environment
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  size_t max_output = 1 << 20;  // bytes kept of stdout and of stderr each; the rest is read and dropped
  std::string input;            // written to the program's stdin, then closed ("" = /dev/null)
};

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal
  bool timed_out = false;
  std::string out;
  std::string err;
  bool truncated = false;  // stdout or stderr went past max_output
};

// Runs args[0] (looked up in PATH) with args. An error only when it could
// not be started (IOError naming it); a non-zero exit or a timeout is a
// result.
Result<ProcessResult> RunProcess(const std::vector<std::string>& args, const ProcessOptions& options = {});

}  // namespace otaroll::core
