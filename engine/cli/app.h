// The otaroll command line: parses arguments, dispatches to a command, and is
// the one top-level place that turns a failure into "otaroll: error: …" and
// an exit code.
#pragma once

namespace otaroll::cli {

// Exit codes (SPEC §3).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitChanges = 2;  // plan --detailed-exitcode: create or replace present

int run(int argc, char** argv);

}  // namespace otaroll::cli
