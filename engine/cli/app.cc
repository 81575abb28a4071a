#include "cli/app.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "cli/commands.h"
#include "cli/log.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/files.h"
#include "git/tree.h"
#include "manifest/ignore.h"
#include "manifest/limits.h"
#include "manifest/loader.h"
#include "plan/conflicts.h"
#include "plan/plan.h"
#include "render/render.h"
#include "state/open.h"

namespace otaroll::cli {
namespace {

namespace fs = std::filesystem;

}  // namespace

// Loads and validates a manifest tree; prints every diagnostic.
namespace {

// Every diagnostic of an invalid tree and the summary line; nullopt. The
// set when it is valid.
std::optional<manifest::ManifestSet> Checked(manifest::LoadResult* loaded) {
  if (!loaded->ok()) {
    std::set<std::string> files;
    for (const auto& d : loaded->errors) {
      PrintError(d.Format());
      files.insert(d.file);
    }
    const std::string summary =
        fmt::format("{} error{} in {} file{}; nothing was planned or changed", loaded->errors.size(),
                    loaded->errors.size() == 1 ? "" : "s", files.size(), files.size() == 1 ? "" : "s");
    WriteLog(std::cerr, daemon::LogLine{"error", "invalid", "", "", "", "", "", summary}, "otaroll: " + summary);
    return std::nullopt;
  }
  return std::move(loaded->set);
}

}  // namespace

std::optional<manifest::ManifestSet> LoadManifests(const std::string& dir) {
  auto loaded = manifest::LoadTree(dir);
  if (!loaded.ok()) {
    PrintError(loaded.status().message());
    return std::nullopt;
  }
  return Checked(&*loaded);
}

bool UseColor() {
  const char* no_color = std::getenv("NO_COLOR");
  return isatty(STDOUT_FILENO) && (no_color == nullptr || *no_color == '\0');
}

namespace {

struct ValidateOptions {
  std::string path = ".";
};

int Validate(const ValidateOptions& o) {
  auto set = LoadManifests(o.path);
  if (!set) return kExitError;
  size_t stages = 0;
  for (const auto& r : set->rollouts) stages += r.stages.size();
  // Conflicting rollouts are allowed (the planner orders them) but worth a look.
  for (const auto& [a, b] : plan::OverlappingPairs(*set)) {
    if (plan::Supersedes(*a, *b) || plan::Supersedes(*b, *a)) continue;
    const std::string message = fmt::format(
        "{}:{}:{}: rollouts {} and {} both update product {} and could hold the same devices at once; the later "
        "to start waits until the earlier has finished (or list the earlier in the later's spec.supersedes)",
        b->name_position.file, b->name_position.line, b->name_position.column, a->name, b->name, a->product_key);
    WriteLog(std::cerr, daemon::LogLine{"warn", "conflict", a->name, "", "", "", "", message},
             "otaroll: warning: " + core::Printable(message));
  }
  const size_t freezes = set->freezes.size();
  std::cout << fmt::format("otaroll: {} is valid: {} rollout{}, {} stage{}{} in {} file{}\n", o.path,
                           set->rollouts.size(), set->rollouts.size() == 1 ? "" : "s", stages, stages == 1 ? "" : "s",
                           freezes == 0 ? "" : fmt::format(", {} freeze{}", freezes, freezes == 1 ? "" : "s"),
                           set->files, set->files == 1 ? "" : "s");
  return kExitOk;
}

struct PlanOptions {
  std::string dir = ".";
  std::string state;
  std::string baseline;
  std::string baseline_ref;
  std::string format = "text";
  std::string out;
  bool detailed_exitcode = false;
  std::string now;
};

}  // namespace

std::string StateValue(const std::string& option, const std::string& dir) {
  if (!option.empty()) return option;
  if (const char* env = std::getenv("OTAROLL_STATE"); env && *env) return env;
  fs::path base(dir);
  if (fs::is_regular_file(base)) base = base.parent_path();
  return (base / ".otaroll" / "state.db").lexically_normal().generic_string();
}

namespace {

// --baseline-ref: the baseline tree read from DIR's git repository at REF
// (git/tree.h), and how the plan names it ("origin/main (1a2b3c4d5e6f)").
std::optional<std::pair<manifest::ManifestSet, std::string>> LoadBaselineRef(const std::string& dir,
                                                                             const std::string& ref) {
  git::RefTreeOptions options;
  options.max_files = manifest::kMaxFiles;
  options.max_file_bytes = manifest::kMaxFileBytes;
  // The ignore file as it is at the ref says which files are not manifests.
  manifest::IgnoreRules ignore;
  options.rules_file = manifest::kIgnoreFile;
  options.on_rules = [&ignore](const std::string& text) { ignore = manifest::IgnoreRules::Parse(text); };
  options.select = [&ignore](const std::string& path) {
    return manifest::IsManifestPath(path) && !ignore.IgnoredPath(path);
  };
  auto tree = git::ReadTreeAt(dir, ref, options);
  if (!tree.ok()) {
    PrintError(fmt::format("--baseline-ref {}: {}", core::Printable(ref), tree.status().message()));
    return std::nullopt;
  }
  std::vector<manifest::SourceFile> files;
  for (auto& f : tree->files) files.push_back({f.shown, std::move(f.text), f.too_large, f.problem});
  manifest::LoadResult loaded = manifest::LoadSources(files);
  auto set = Checked(&loaded);
  if (!set) {
    PrintError(fmt::format("the baseline tree at {} is invalid (see above); fix it or plan without --baseline-ref",
                           core::Printable(ref)));
    return std::nullopt;
  }
  return std::make_pair(std::move(*set), fmt::format("{} ({})", core::Printable(ref), tree->commit.substr(0, 12)));
}

// Plans and writes the plan as it is made, never holding it whole (a large
// tree's plan is many times its manifests): the parameters are let go once
// hashed, the requests the plan never reads once the specs are resolved,
// and each batch of rollouts is rendered and dropped. Text and JSON have
// their counts first, so their rollouts wait in a temporary file until the
// counts are known (Markdown keeps only what fits in a comment).
int WritePlan(const PlanOptions& o, const manifest::ManifestSet& manifests, state::Snapshot snapshot, core::Time now,
              bool baseline) {
  const plan::Resolved resolved(manifests, plan::Resolved::Keep::kHashes);
  plan::LetGoOfUnreadRequests(resolved, &snapshot);
  auto cannot_write = [&](const std::string& why) {
    PrintError(fmt::format("{}: cannot write the plan: {}; check the path and its permissions", o.out, why));
    return kExitError;
  };
  std::ofstream file;
  if (!o.out.empty()) {
    errno = 0;
    file.open(o.out, std::ios::binary | std::ios::trunc);
    if (!file) return cannot_write(errno != 0 ? std::strerror(errno) : "the write failed");
  }
  // JSON has its counts first: its rollouts wait in a nameless temporary
  // file until they are known (render::JsonSpool).
  const bool json = o.format == "json" || !o.out.empty();
  std::optional<render::JsonSpool> spool;
  if (json) {
    auto opened = core::Spill::Open();
    if (!opened.ok()) {
      PrintError(fmt::format("cannot write the plan: {}; set TMPDIR to a writable folder", opened.status().message()));
      return kExitError;
    }
    spool.emplace(std::move(*opened));
  }
  render::TextWriter text(render::TextOptions{UseColor()});
  // A text plan's rollouts wait in a temporary file too when there is one
  // (without one they are held: a text plan never needed a folder).
  if (o.format == "text") {
    if (auto opened = core::Spill::Open(); opened.ok()) text.SpillTo(std::move(*opened));
  }
  render::MarkdownWriter markdown;
  plan::Plan p = plan::BuildEach(resolved, snapshot, now, [&](plan::RolloutPlan&& r) {
    if (o.format == "markdown") {
      markdown.Add(r);
    } else if (o.format == "text") {
      text.Add(r);
    }
    if (spool) spool->Add(std::move(r));
  });
  if (baseline) p.mode = "baseline";
  if (!o.out.empty()) {
    errno = 0;
    const core::Status written = spool->WriteTo(p, file);
    file.close();
    if (!written.ok()) return cannot_write(written.message());
    if (!file) return cannot_write(errno != 0 ? std::strerror(errno) : "the write failed");
  }
  if (o.format == "json") {
    if (auto written = spool->WriteTo(p, std::cout); !written.ok()) {
      PrintError(fmt::format("cannot write the plan: {}", written.message()));
      return kExitError;
    }
  } else if (o.format == "markdown") {
    std::cout << markdown.Finish(p);
  } else if (auto written = text.WriteTo(p, std::cout); !written.ok()) {
    PrintError(fmt::format("cannot write the plan: {}", written.message()));
    return kExitError;
  }
  std::cout.flush();
  if (!std::cout) return kExitError;
  return o.detailed_exitcode && p.HasChanges() ? kExitChanges : kExitOk;
}

int RunPlan(const PlanOptions& o) {
  core::SystemClock system_clock;
  core::Time now = system_clock.Now();
  if (!o.now.empty()) {
    auto t = core::ParseRfc3339(o.now);
    if (!t) {
      PrintError(fmt::format("--now: \"{}\" is not an RFC 3339 time; expected e.g. 2026-11-25T10:00:00Z", o.now));
      return kExitError;
    }
    now = *t;
  }
  if (!o.baseline.empty() && !o.state.empty()) {
    PrintError("--baseline and --state exclude each other; --baseline plans against a tree instead of a state file");
    return kExitError;
  }
  if (!o.baseline_ref.empty() && (!o.baseline.empty() || !o.state.empty())) {
    PrintError(fmt::format("--baseline-ref excludes {}; it plans against the tree at a git ref instead",
                           o.baseline.empty() ? "--state" : "--baseline"));
    return kExitError;
  }
  // The state file is read while the tree is parsed: neither waits on the
  // other, and a state error is still told only for a valid tree.
  std::future<core::Result<state::Snapshot>> state_read;
  if (o.baseline_ref.empty() && o.baseline.empty()) {
    state_read =
        std::async(std::launch::async, [where = StateValue(o.state, o.dir)] { return state::LoadSnapshotAt(where); });
  }
  auto manifests = LoadManifests(o.dir);
  if (!manifests) return kExitError;

  state::Snapshot snapshot;
  std::optional<std::pair<manifest::ManifestSet, std::string>> at_ref;
  if (!o.baseline_ref.empty()) {
    at_ref = LoadBaselineRef(o.dir, o.baseline_ref);
    if (!at_ref) return kExitError;
    snapshot = plan::SnapshotFromBaseline(at_ref->first, at_ref->second);
  } else if (!o.baseline.empty()) {
    auto baseline = LoadManifests(o.baseline);
    if (!baseline) {
      PrintError(
          fmt::format("the baseline tree {} is invalid (see above); fix it or plan without --baseline", o.baseline));
      return kExitError;
    }
    snapshot = plan::SnapshotFromBaseline(*baseline, o.baseline);
  } else {
    auto loaded = state_read.get();
    if (!loaded.ok()) {
      PrintError(loaded.status().message());
      return kExitError;
    }
    snapshot = std::move(*loaded);
  }

  const bool baseline = !o.baseline.empty() || at_ref.has_value();
  return WritePlan(o, *manifests, std::move(snapshot), now, baseline);
}

}  // namespace

std::string Table(std::vector<std::vector<std::string>> rows, const std::string& indent) {
  std::vector<size_t> width;
  for (auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      // Cells hold job ids, messages and names read from the platform or a state file.
      row[i] = core::Printable(row[i]);
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], width[i]) : row[i];
    }
    out += line + "\n";
  }
  return out;
}

void PrintError(const std::string& message) {
  // Messages quote file names, platform answers and state contents: escaped, one line.
  daemon::LogLine line;
  line.level = "error";
  line.kind = "error";
  line.message = message;
  WriteLog(std::cerr, line, "otaroll: error: " + core::Printable(message));
}

int run(int argc, char** argv) {
  CLI::App app{"otaroll: declarative, exactly-once rollouts of IoT firmware upgrade jobs", "otaroll"};
  app.set_version_flag("--version", std::string("otaroll ") + OTAROLL_VERSION);
  app.require_subcommand(1);
  // --log-format belongs to every command: subcommands pass options they do
  // not know to this level, which knows only it.
  app.fallthrough(true);
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "log lines as text (default) or json: one object per line")
      ->check(CLI::IsMember({"text", "json"}));

  ValidateOptions validate;
  auto* v = app.add_subcommand("validate", "Check every manifest below DIR (or one file); exit 0 valid, 1 invalid");
  v->add_option("path", validate.path, "manifest directory or file (default: .)");

  PlanOptions plan;
  auto* p = app.add_subcommand("plan", "Show what apply would do, without credentials or network");
  p->add_option("dir", plan.dir, "manifest directory (default: .)");
  p->add_option("--state", plan.state,
                "state file (default: $OTAROLL_STATE, else DIR/.otaroll/state.db); opened read-only, never locked");
  p->add_option("--baseline", plan.baseline,
                "treat every stage of this tree (e.g. the target branch) as created; excludes --state");
  p->add_option("--baseline-ref", plan.baseline_ref,
                "like --baseline, with the tree of DIR as it is at this git ref (e.g. origin/main), read from "
                "DIR's repository without a checkout");
  p->add_option("--format", plan.format, "text, json or markdown (a pull-request comment)")
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  p->add_option("--out", plan.out, "also write the plan as JSON to this file (for apply --plan)");
  p->add_flag("--detailed-exitcode", plan.detailed_exitcode,
              "exit 2 when there is something to create or replace, 0 when nothing, 1 on error");
  p->add_option("--now", plan.now, "plan as of this RFC 3339 instant instead of the clock");

  const std::vector<std::pair<std::string, Runner>> commands = {
      {"apply", AddApplyCommand(app)},     {"daemon", AddDaemonCommand(app)}, {"platform", AddPlatformCommand(app)},
      {"sandbox", AddSandboxCommand(app)}, {"status", AddStatusCommand(app)}, {"history", AddHistoryCommand(app)},
      {"state", AddStateCommand(app)},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e);  // --help, --version
      return kExitOk;
    }
    std::string which = app.get_subcommands().empty()
                            ? "otaroll --help"
                            : "otaroll " + app.get_subcommands().front()->get_name() + " --help";
    PrintError(fmt::format("{}; see '{}'", e.what(), which));
    return kExitError;
  }
  SetLogFormat(log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  if (v->parsed()) return Validate(validate);
  if (p->parsed()) return RunPlan(plan);
  for (const auto& [name, runner] : commands) {
    if (app.get_subcommand(name)->parsed()) return runner();
  }
  return kExitError;
}

}  // namespace otaroll::cli
