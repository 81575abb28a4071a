// Each command lives in its own file: it adds its subcommand (options bound to
// its own settings) and returns what to run when that subcommand is chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "manifest/model.h"

namespace otaroll::cli {

using Runner = std::function<int()>;

Runner AddSandboxCommand(CLI::App& app);   // sandbox_cmd.cc
Runner AddPlatformCommand(CLI::App& app);  // platform_cmd.cc
Runner AddStatusCommand(CLI::App& app);    // state_cmd.cc
Runner AddHistoryCommand(CLI::App& app);   // state_cmd.cc
Runner AddStateCommand(CLI::App& app);     // state_cmd.cc
Runner AddApplyCommand(CLI::App& app);     // apply_cmd.cc
Runner AddDaemonCommand(CLI::App& app);    // daemon_cmd.cc

// "otaroll: error: <message>" on stderr.
void PrintError(const std::string& message);

// Loads and validates a manifest tree, printing every diagnostic and a
// summary line; nullopt when anything is invalid.
std::optional<manifest::ManifestSet> LoadManifests(const std::string& dir);

// The --state value: `option` when given, else $OTAROLL_STATE, else
// DIR/.otaroll/state.db (state::OpenStore and state::ParseLocation read it).
std::string StateValue(const std::string& option, const std::string& dir);

// Colour only on a terminal and when NO_COLOR is unset or empty.
bool UseColor();

// Columns padded to their widest cell, each line indented; the last column is
// not padded. Every cell is escaped (core::Printable).
std::string Table(std::vector<std::vector<std::string>> rows, const std::string& indent = "");

}  // namespace otaroll::cli
