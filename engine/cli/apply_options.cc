#include "cli/apply_options.h"

#include <fmt/format.h>

#include "cli/commands.h"
#include "state/open.h"

namespace otaroll::cli {

void AddApplyFlags(CLI::App* cmd, ApplyFlags* f, const char* max_creates_scope) {
  cmd->add_flag("--prune", f->prune, "cancel the unfinished tasks of jobs whose stage is no longer in the manifests");
  cmd->add_option("--prune-limit", f->prune_limit, "with --prune: refuse to prune more jobs than this (default 10)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--prune-empty-tree", f->prune_empty_tree,
                "with --prune: prune even when the manifests hold no rollout at all (refused otherwise)");
  cmd->add_flag("--cancel-superseded", f->cancel_superseded,
                "when a stage is replaced, cancel the old job's unfinished tasks");
  cmd->add_option("--max-creates", f->max_creates, fmt::format("create at most this many jobs {}", max_creates_scope))
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--concurrency", f->concurrency,
                  fmt::format("creates in flight at once, across rollouts and the parts of a large stage; a rollout's "
                              "stages stay in order (default {})",
                              ApplyFlags::kDefaultConcurrency))
      ->check(CLI::Range(1, 64));
}

apply::Options ToApplyOptions(const ApplyFlags& f, const PlatformOptions& platform) {
  apply::Options o;
  o.cancel_superseded = f.cancel_superseded;
  o.prune = f.prune;
  o.prune_limit = f.prune_limit;
  o.prune_empty_tree = f.prune_empty_tree;
  o.max_creates = f.max_creates;
  o.concurrency = f.concurrency;
  o.intent_tags = platform.platform == "alibaba";
  o.settle = std::chrono::milliseconds(static_cast<int64_t>(platform.timeout_s * 1000)) + std::chrono::seconds(1);
  return o;
}

core::Result<Session> OpenSession(const PlatformOptions& platform, const std::string& state_option,
                                  const std::string& dir) {
  auto connection = Connect(platform);
  if (!connection.ok()) return connection.status();
  auto store = state::OpenStore(StateValue(state_option, dir));
  if (!store.ok()) return store.status();
  return Session{std::move(*connection), std::move(*store)};
}

}  // namespace otaroll::cli
