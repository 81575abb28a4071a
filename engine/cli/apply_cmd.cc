// `otaroll apply`: refresh from the platform, show the plan, confirm, create.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "apply/applier.h"
#include "apply/session.h"
#include "cli/app.h"
#include "cli/apply_options.h"
#include "cli/commands.h"
#include "cli/log.h"
#include "cli/notify_options.h"
#include "cli/platform_options.h"
#include "cli/progress.h"
#include "core/escape.h"
#include "git/checkout.h"
#include "render/render.h"

namespace otaroll::cli {
namespace {

struct Settings {
  std::string dir = ".";
  std::string state;
  std::string plan_file;
  bool yes = false;
  bool retry_failed = false;
  ApplyFlags flags;
  NotifySettings notify;
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

// Problems of the notifications (apply logs no delivery that went through).
void NotifyLog(const daemon::LogLine& line) {
  WriteLog(std::cerr, line,
           fmt::format("otaroll: {}: {}", line.level == "error" ? "error" : "warning", core::Printable(line.message)));
}

// The commit the manifests are at, for conditions (notify/conditions.h);
// "" when DIR is not a git checkout (the manifest digest stands in).
std::string HeadCommit(const std::string& dir) {
  auto head = git::Checkout(dir, std::chrono::seconds(10)).Head();
  return head.ok() ? *head : "";
}

// What the run does besides creating: show progress, confirm, track.
apply::SessionOptions Options(const Settings& s, const NotifyConfig& notify, Progress& progress,
                              const std::optional<plan::Plan>& saved) {
  apply::SessionOptions o;
  o.apply = ToApplyOptions(s.flags, s.platform);
  o.apply.retry_failed = s.retry_failed;
  // Things done are shown as they happen; problems at the end, as errors.
  o.apply.on_event = [&progress](const apply::ApplyEvent& e) {
    if (e.problem) return;
    daemon::LogLine line{"info", apply::EventKindName(e.kind), e.rollout, e.stage, e.attempt, e.job, e.code, e.message};
    if (CurrentLogFormat() == LogFormat::kJson) {
      WriteLog(std::cout, line);
      return;
    }
    progress.Line(core::Printable(e.message), e.done, e.due);
  };
  o.saved = saved ? &*saved : nullptr;
  o.saved_source = s.plan_file;
  if (!s.yes) o.confirm = Confirm;
  o.took_over = [](const state::Lease& from) {
    const std::string message =
        fmt::format("took over the lease of pid {} on host {} (gone or expired)", from.pid, from.host);
    WriteLog(std::cerr, daemon::LogLine{"warn", "lease", "", "", "", "", "", message},
             "otaroll: " + core::Printable(message));
  };
  o.track = apply::SessionOptions::Tracking{HeadCommit(s.dir), notify.remind_after};
  return o;
}

// What the run did, said once; the exit code.
int Finish(const apply::SessionResult& result) {
  using Outcome = apply::SessionResult::Outcome;
  if (result.outcome == Outcome::kNothingToDo) {
    const std::string message = fmt::format("nothing to do now: {}", Counts(result.plan.summary));
    WriteLog(std::cout, daemon::LogLine{"info", "apply", "", "", "", "", "", message}, "otaroll: " + message);
    return kExitOk;
  }
  if (result.outcome == Outcome::kDeclined) {
    std::cout << "otaroll: apply cancelled; nothing was created\n";
    return kExitError;
  }
  const apply::Report& report = result.report;
  for (const auto& problem : report.problems) PrintError(problem);
  const std::string summary = fmt::format(
      "apply: {} created, {} adopted, {} failed, {} unknown, {} to retry; {} superseded, {} cancelled", report.created,
      report.adopted, report.failed, report.unknown, report.not_created, report.superseded, report.cancelled);
  WriteLog(std::cout, daemon::LogLine{report.ok() ? "info" : "warn", "apply", "", "", "", "", "", summary},
           "otaroll: " + summary);
  return report.ok() ? kExitOk : kExitError;
}

// Argument checks, the terminal prompt, output and exit codes; the apply
// itself is apply::ApplyOnce, the daemon's path too.
int Run(const Settings& s) {
  const bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  if (!s.yes && !terminal) {
    PrintError(
        "apply creates jobs on the platform and needs a confirmation: pass --yes (e.g. in CI), or run it on a terminal "
        "to answer the prompt");
    return kExitError;
  }
  // Nothing is opened or called before the manifests and options are valid.
  auto manifests = LoadManifests(s.dir);
  if (!manifests) return kExitError;
  auto notify = ParseNotify(s.notify);
  if (!notify.ok()) {
    PrintError(notify.status().message());
    return kExitError;
  }
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
  auto session = OpenSession(s.platform, s.state, s.dir);
  if (!session.ok()) {
    PrintError(session.status().message());
    return kExitError;
  }
  state::Store& store = *session->store;
  // Started before the run: a new webhook's cursor is placed before its events.
  auto outbox = StartOutbox(store, *notify, NotifyLog, "", nullptr);
  if (!outbox.ok()) {
    PrintError(outbox.status().message());
    return kExitError;
  }
  Progress progress(std::cout, isatty(STDOUT_FILENO) != 0);
  core::SystemClock clock;
  apply::ClientPlatform platform(*session->connection.client);
  auto result = apply::ApplyOnce(store, platform, clock, *manifests, Options(s, *notify, progress, saved));
  progress.Finish();
  DrainOutbox(**outbox, store, kNotifyDrain, NotifyLog);
  if (!result.ok()) {
    PrintError(result.status().message());
    return kExitError;
  }
  return Finish(*result);
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
  AddApplyFlags(cmd, &s->flags, "in this run");
  AddNotifyOptions(cmd, &s->notify);
  AddPlatformOptions(cmd, &s->platform);
  return [s] { return Run(*s); };
}

}  // namespace otaroll::cli
