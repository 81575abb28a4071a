// The options `apply` and `daemon` share (what to create, prune and cancel),
// registered and turned into apply::Options in one place.
#pragma once

#include <CLI/CLI.hpp>

#include "apply/applier.h"
#include "cli/platform_options.h"
#include "core/status.h"
#include "state/store.h"

namespace otaroll::cli {

struct ApplyFlags {
  bool prune = false;
  int prune_limit = 10;
  bool prune_empty_tree = false;
  bool cancel_superseded = false;
  int max_creates = -1;
  int concurrency = kDefaultConcurrency;
  static constexpr int kDefaultConcurrency = 8;
};

// --prune, --prune-limit, --prune-empty-tree, --cancel-superseded and
// --max-creates ("in this run" or "per cycle": `max_creates_scope`) and
// --concurrency.
void AddApplyFlags(CLI::App* command, ApplyFlags* flags, const char* max_creates_scope);

// apply::Options from the flags and the platform connection: intent tags on
// alibaba, and the settle window (the request timeout plus one second).
apply::Options ToApplyOptions(const ApplyFlags& flags, const PlatformOptions& platform);

// What `apply` and `daemon` open before they act: the platform connection
// (credentials read, options checked) and the state store of `--state`.
struct Session {
  Connection connection;
  std::unique_ptr<state::Store> store;
};
// One sentence naming the option and the fix when either cannot be opened.
core::Result<Session> OpenSession(const PlatformOptions& platform, const std::string& state_option,
                                  const std::string& dir);

}  // namespace otaroll::cli
