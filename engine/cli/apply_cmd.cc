// `otaroll apply`: refresh from the platform, show the plan, confirm, create.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apply/applier.h"
#include "apply/session.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/platform_options.h"
#include "core/escape.h"
#include "render/render.h"
#include "state/open.h"

namespace otaroll::cli {
namespace {

struct Settings {
  std::string dir = ".";
  std::string state;
  std::string plan_file;
  bool yes = false;
  bool retry_failed = false;
  bool prune = false;
  int prune_limit = 10;
  bool prune_empty_tree = false;
  bool cancel_superseded = false;
  int max_creates = -1;
  PlatformOptions platform;
};

// The parts of a saved JSON plan (`plan --out`) that apply --plan checks and follows.
core::Result<plan::Plan> ReadSavedPlan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Status::NotFound(fmt::format("--plan: cannot read {}", path));
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  auto bad = [&](const std::string& what) {
    return core::Status::Invalid(
        fmt::format("--plan: {} is not a plan written by 'otaroll plan --out' ({}); make it again", path, what));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  try {
    if (j.value("format_version", 0) != plan::kFormatVersion) return bad("unknown format_version");
    plan::Plan p;
    p.manifest_digest = j.at("manifest_digest").get<std::string>();
    p.state_serial = j.at("state").at("serial").get<int64_t>();
    p.mode = j.value("mode", "state");
    for (const auto& r : j.at("rollouts")) {
      plan::RolloutPlan rp;
      rp.name = r.at("name").get<std::string>();
      for (const auto& s : r.at("stages")) {
        plan::StagePlan sp;
        sp.name = s.at("name").get<std::string>();
        std::string action = s.at("action").get<std::string>();
        for (size_t a = 0; a < plan::kActionCount; ++a) {
          if (action == plan::ActionName(static_cast<plan::Action>(a))) sp.action = static_cast<plan::Action>(a);
        }
        sp.spec_hash = s.at("spec_hash").get<std::string>();
        rp.stages.push_back(std::move(sp));
      }
      p.rollouts.push_back(std::move(rp));
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

bool Confirm(const plan::Plan& p) {
  std::cout << render::Text(p, render::TextOptions{UseColor()}) << "\n"
            << "Apply these changes to the platform? Only 'yes' is accepted: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

std::string Counts(const plan::Summary& summary) {
  std::string counts;
  for (size_t a = 0; a < plan::kActionCount; ++a) {
    int n = summary.counts[a];
    if (n > 0)
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, plan::ActionName(static_cast<plan::Action>(a)));
  }
  return counts.empty() ? "no stages" : counts;
}

// Argument checks, the terminal prompt, output and exit codes; the apply
// itself is apply::ApplyOnce, the daemon's path too.
int Run(const Settings& s) {
  bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  if (!s.yes && !terminal) {
    PrintError(
        "apply creates jobs on the platform and needs a confirmation: pass --yes (e.g. in CI), or run it on a terminal "
        "to answer the prompt");
    return kExitError;
  }
  // Nothing is opened or called before the manifests are valid.
  auto manifests = LoadManifests(s.dir);
  if (!manifests) return kExitError;
  std::optional<plan::Plan> saved;
  if (!s.plan_file.empty()) {
    auto read = ReadSavedPlan(s.plan_file);
    if (!read.ok()) {
      PrintError(read.status().message());
      return kExitError;
    }
    if (read->mode == "baseline") {
      PrintError(
          fmt::format("--plan: {} was made with --baseline, against a tree, not the state; make it with "
                      "'otaroll plan --out' instead",
                      s.plan_file));
      return kExitError;
    }
    saved = std::move(*read);
  }
  auto connection = Connect(s.platform);
  if (!connection.ok()) {
    PrintError(connection.status().message());
    return kExitError;
  }
  auto store = state::OpenStore(StateValue(s.state, s.dir));
  if (!store.ok()) {
    PrintError(store.status().message());
    return kExitError;
  }

  apply::SessionOptions o;
  o.apply.retry_failed = s.retry_failed;
  o.apply.cancel_superseded = s.cancel_superseded;
  o.apply.prune = s.prune;
  o.apply.prune_limit = s.prune_limit;
  o.apply.prune_empty_tree = s.prune_empty_tree;
  o.apply.max_creates = s.max_creates;
  o.apply.intent_tags = s.platform.platform == "alibaba";
  o.apply.settle =
      std::chrono::milliseconds(static_cast<int64_t>(s.platform.timeout_s * 1000)) + std::chrono::seconds(1);
  // Things done are shown as they happen; problems at the end, as errors.
  o.apply.on_event = [&](const apply::ApplyEvent& e) {
    if (e.problem) return;
    std::cout << (terminal && e.due > 0 ? fmt::format("[{}/{}] ", e.done, e.due) : "") << core::Printable(e.message)
              << "\n"
              << std::flush;
  };
  o.saved = saved ? &*saved : nullptr;
  o.saved_source = s.plan_file;
  if (!s.yes) o.confirm = Confirm;
  o.took_over = [](const state::Lease& from) {
    std::cerr << fmt::format("otaroll: took over the lease of pid {} on host {} (gone or expired)\n", from.pid,
                             core::Printable(from.host));
  };
  core::SystemClock clock;
  apply::ClientPlatform platform(*connection->client);
  auto result = apply::ApplyOnce(**store, platform, clock, *manifests, o);
  if (!result.ok()) {
    PrintError(result.status().message());
    return kExitError;
  }
  using Outcome = apply::SessionResult::Outcome;
  if (result->outcome == Outcome::kNothingToDo) {
    std::cout << fmt::format("otaroll: nothing to do now: {}\n", Counts(result->plan.summary));
    return kExitOk;
  }
  if (result->outcome == Outcome::kDeclined) {
    std::cout << "otaroll: apply cancelled; nothing was created\n";
    return kExitError;
  }
  const apply::Report& report = result->report;
  for (const auto& problem : report.problems) PrintError(problem);
  std::cout << fmt::format(
      "otaroll: apply: {} created, {} adopted, {} failed, {} unknown, {} to retry; {} superseded, {} cancelled\n",
      report.created, report.adopted, report.failed, report.unknown, report.not_created, report.superseded,
      report.cancelled);
  return report.ok() ? kExitOk : kExitError;
}

}  // namespace

Runner AddApplyCommand(CLI::App& app) {
  auto s = std::make_shared<Settings>();
  auto* cmd = app.add_subcommand("apply", "Create on the platform, exactly once, every job the plan says to create");
  cmd->add_option("dir", s->dir, "manifest directory (default: .)");
  cmd->add_option("--state", s->state, "state file (default: $OTAROLL_STATE, else DIR/.otaroll/state.db)");
  cmd->add_option("--plan", s->plan_file,
                  "apply exactly this saved plan (from 'otaroll plan --out'); refused if stale");
  cmd->add_flag("--yes", s->yes, "do not ask for confirmation (required when not on a terminal)");
  cmd->add_flag("--retry-failed", s->retry_failed, "try again the stages whose last attempt the platform rejected");
  cmd->add_flag("--prune", s->prune, "cancel the unfinished tasks of jobs whose stage is no longer in the manifests");
  cmd->add_option("--prune-limit", s->prune_limit, "with --prune: refuse to prune more jobs than this (default 10)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--prune-empty-tree", s->prune_empty_tree,
                "with --prune: prune even when the manifests hold no rollout at all (refused otherwise)");
  cmd->add_flag("--cancel-superseded", s->cancel_superseded,
                "when a stage is replaced, cancel the old job's unfinished tasks");
  cmd->add_option("--max-creates", s->max_creates, "create at most this many jobs in this run")
      ->check(CLI::NonNegativeNumber);
  AddPlatformOptions(cmd, &s->platform);
  return [s] { return Run(*s); };
}

}  // namespace otaroll::cli
