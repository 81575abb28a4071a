// Each command lives in its own file: it adds its subcommand (options bound to
// its own settings) and returns what to run when that subcommand is chosen.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace otaroll::cli {

using Runner = std::function<int()>;

Runner AddSandboxCommand(CLI::App& app);   // sandbox_cmd.cc
Runner AddPlatformCommand(CLI::App& app);  // platform_cmd.cc

// "otaroll: error: <message>" on stderr.
void PrintError(const std::string& message);

}  // namespace otaroll::cli
