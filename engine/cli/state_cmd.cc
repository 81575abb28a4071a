// `otaroll status`, `otaroll history` and `otaroll state
// export|import|mv|force-unlock`: what the state file records, and the
// operator's tools for moving, renaming and unlocking it (docs/state.md).
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/commands.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/files.h"
#include "state/open.h"
#include "state/pg_store.h"
#include "state/schema.h"
#include "state/sqlite_store.h"

namespace otaroll::cli {
namespace {

using nlohmann::ordered_json;

struct Settings {
  std::string state;
  std::string dir = ".";
  std::string format = "text";
  std::string rollout;
  std::string out;
  std::string file;
  std::string old_name;
  std::string new_name;
  bool force = false;
};

// As for plan: --state, else $OTAROLL_STATE, else DIR/.otaroll/state.db: a
// state file (a path or sqlite:PATH) or a postgres:// URI.
struct StateAt {
  std::string value;  // as given: what state::*At read
  std::string shown;  // what messages call it (never a password)
  bool postgres = false;
};
core::Result<StateAt> StatePath(const Settings& s) {
  const std::string value = StateValue(s.state, s.dir);
  auto where = state::ParseLocation(value);
  if (!where.ok()) return where.status();
  return StateAt{where->kind == state::Location::Kind::kPostgres ? value : where->path, state::Shown(*where),
                 where->kind == state::Location::Kind::kPostgres};
}

void AddStateOptions(CLI::App* command, Settings* s) {
  command->add_option("--state", s->state, "state file (default: $OTAROLL_STATE, else DIR/.otaroll/state.db)");
  command->add_option("--dir", s->dir, "find the state file at DIR/.otaroll/state.db (default: .)");
}

void AddFormatOption(CLI::App* command, Settings* s) {
  command->add_option("--format", s->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int Fail(const core::Status& status) {
  PrintError(status.message());
  return kExitError;
}

int Print(const std::string& text) {
  std::cout << text;
  std::cout.flush();
  return std::cout ? kExitOk : kExitError;
}

std::string NoState(const std::string& path) {
  return fmt::format("otaroll: no state at {}: nothing has been created yet\n", path);
}

std::string Join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : separator) + items[i];
  return out;
}

// "known rollouts: a, b" (at most 10, then "and N more"), or that there are none.
std::string KnownRollouts(const std::set<std::string>& names) {
  if (names.empty()) return "it records no rollouts";
  std::vector<std::string> shown;
  for (const auto& n : names) {
    if (shown.size() == 10) break;
    shown.push_back(n);
  }
  std::string out = "known rollouts: " + Join(shown);
  if (names.size() > 10) out += fmt::format(" and {} more", names.size() - 10);
  return out;
}

ordered_json TextOrNull(const std::string& s) {
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}

// ---------------------------------------------------------------------------
// status

// One stage as the state file records it.
struct StageView {
  std::string name;
  std::vector<const state::Attempt*> attempts;  // every attempt, by id
  std::vector<const state::Attempt*> current;   // the newest attempt of each part of the newest spec, by part
  int parts = 1;
  // Created jobs of the newest spec beyond one per part: duplicates on the
  // platform (two otaroll processes created the same stage), with the job
  // each part kept in `current`.
  std::vector<std::string> duplicate_jobs;
};

std::vector<StageView> Stages(const std::vector<const state::Attempt*>& attempts) {
  std::vector<StageView> stages;  // in order of first attempt (attempts come by id)
  for (const state::Attempt* a : attempts) {
    auto it = std::find_if(stages.begin(), stages.end(), [&](const StageView& s) { return s.name == a->stage; });
    if (it == stages.end()) {
      stages.push_back(StageView{a->stage, {}, {}, 1, {}});
      it = std::prev(stages.end());
    }
    it->attempts.push_back(a);
  }
  for (StageView& s : stages) {
    const state::Attempt* newest = s.attempts.back();
    s.parts = newest->parts;
    for (const auto& [part, a] : state::CurrentParts(s.attempts, newest->spec_hash)) s.current.push_back(a);
    s.duplicate_jobs = state::DuplicateJobs(s.attempts, newest->spec_hash);
  }
  return stages;
}

// One status when every part has the same, else "2 created, 1 failed".
std::string StateText(const StageView& s) {
  std::map<state::AttemptStatus, int> counts;
  for (const state::Attempt* a : s.current) ++counts[a->status];
  const int missing = s.parts - static_cast<int>(s.current.size());
  if (counts.size() == 1 && missing <= 0) return state::StatusName(counts.begin()->first);
  std::vector<std::string> parts;
  for (const auto& [status, n] : counts) parts.push_back(fmt::format("{} {}", n, state::StatusName(status)));
  if (missing > 0) parts.push_back(fmt::format("{} not attempted", missing));
  return Join(parts);
}

std::string StateWord(const StageView& s) {
  std::set<state::AttemptStatus> statuses;
  for (const state::Attempt* a : s.current) statuses.insert(a->status);
  return statuses.size() == 1 && static_cast<int>(s.current.size()) >= s.parts ? state::StatusName(*statuses.begin())
                                                                               : "mixed";
}

std::optional<core::Time> CreatedAt(const StageView& s) {
  std::optional<core::Time> latest;
  for (const state::Attempt* a : s.current) {
    if (a->job_created_at && (!latest || *a->job_created_at > *latest)) latest = a->job_created_at;
  }
  return latest;
}

int64_t Calls(const StageView& s) {
  int64_t calls = 0;
  for (const state::Attempt* a : s.attempts) calls += a->attempt_count;
  return calls;
}

// The error of the most recently updated current part that has one.
const state::Attempt* LastError(const StageView& s) {
  const state::Attempt* last = nullptr;
  for (const state::Attempt* a : s.current) {
    if ((!a->error_code.empty() || !a->error_message.empty()) && (!last || a->updated_at >= last->updated_at)) {
      last = a;
    }
  }
  return last;
}

std::string ErrorText(const state::Attempt& a) {
  if (a.error_code.empty()) return a.error_message;
  if (a.error_message.empty()) return a.error_code;
  return a.error_code + ": " + a.error_message;
}

// The latest observations of the current parts' jobs, summed.
std::optional<state::Observation> Devices(const StageView& s, const state::Snapshot& snap) {
  std::optional<state::Observation> sum;
  for (const state::Attempt* a : s.current) {
    auto it = a->job_id.empty() ? snap.observations.end() : snap.observations.find(a->job_id);
    if (it == snap.observations.end()) continue;
    if (!sum) {
      sum = state::Observation{};
      sum->observed_at = it->second.observed_at;
    }
    sum->job_id = sum->job_id.empty() ? it->second.job_id : sum->job_id + "," + it->second.job_id;
    sum->observed_at = std::max(sum->observed_at, it->second.observed_at);
    sum->total += it->second.total;
    for (const auto& [status, n] : it->second.by_status) sum->by_status[status] += n;
  }
  return sum;
}

// "40/100 succeeded, 2 failed, 58 in progress".
std::string DevicesText(const state::Observation& o) {
  std::string out = fmt::format("{}/{} succeeded", o.Count("SUCCEEDED"), o.total);
  for (const std::string& status : state::TaskStatuses()) {
    int64_t n = o.Count(status);
    if (status == "SUCCEEDED" || n == 0) continue;
    std::string word;
    for (char c : status) word += c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += fmt::format(", {} {}", n, word);
  }
  return out;
}

ordered_json StageJson(const StageView& s, const state::Snapshot& snap) {
  ordered_json jobs = ordered_json::array();
  for (const state::Attempt* a : s.current) {
    jobs.push_back(ordered_json{
        {"part", a->part},
        {"attempt_id", a->id},
        {"intent_id", a->intent_id},
        {"status", state::StatusName(a->status)},
        {"job_id", TextOrNull(a->job_id)},
        {"job_created_at", a->job_created_at ? ordered_json(core::FormatRfc3339(*a->job_created_at)) : ordered_json()},
        {"job_status", TextOrNull(a->job_status)},
    });
  }
  ordered_json o;
  o["name"] = s.name;
  o["state"] = StateWord(s);
  o["spec_hash"] = s.attempts.back()->spec_hash;
  o["parts"] = s.parts;
  o["jobs"] = std::move(jobs);
  if (!s.duplicate_jobs.empty()) o["duplicate_jobs"] = s.duplicate_jobs;
  auto created = CreatedAt(s);
  o["created_at"] = created ? ordered_json(core::FormatRfc3339(*created)) : ordered_json();
  o["attempts"] = s.attempts.size();
  o["calls"] = Calls(s);
  const state::Attempt* error = LastError(s);
  o["last_error"] =
      error ? ordered_json{{"code", TextOrNull(error->error_code)}, {"message", TextOrNull(error->error_message)}}
            : ordered_json();
  auto devices = Devices(s, snap);
  if (devices) {
    ordered_json counts = ordered_json::object();
    for (const std::string& status : state::TaskStatuses()) {
      if (devices->Count(status) != 0) counts[status] = devices->Count(status);
    }
    o["devices"] = ordered_json{
        {"observed_at", core::FormatRfc3339(devices->observed_at)}, {"total", devices->total}, {"counts", counts}};
  } else {
    o["devices"] = nullptr;
  }
  return o;
}

std::vector<std::string> StageRow(const StageView& s, const state::Snapshot& snap) {
  std::vector<std::string> jobs;
  for (const state::Attempt* a : s.current) {
    if (!a->job_id.empty()) jobs.push_back(a->job_id);
  }
  auto created = CreatedAt(s);
  const state::Attempt* error = LastError(s);
  auto devices = Devices(s, snap);
  const int64_t calls = Calls(s);
  if (!s.duplicate_jobs.empty()) jobs = s.duplicate_jobs;
  return {s.name,
          s.duplicate_jobs.empty()
              ? StateText(s)
              : fmt::format("{}, DUPLICATE: {} jobs for one part", StateText(s), s.duplicate_jobs.size()),
          jobs.empty() ? "-" : Join(jobs),
          created ? core::FormatRfc3339(*created) : "-",
          fmt::format("{} ({} call{})", s.attempts.size(), calls, calls == 1 ? "" : "s"),
          devices ? DevicesText(*devices) : "-",
          error ? ErrorText(*error) : "-"};
}

// The daemon's last cycle recorded in state ("cycle" events), if any.
core::Result<std::optional<state::Event>> LastCycle(const std::string& value) {
  auto log = state::LoadEventsAt(value, "");
  if (!log.ok()) return log.status();
  for (auto it = log->events.rbegin(); it != log->events.rend(); ++it) {
    if (it->kind == "cycle") return std::optional<state::Event>(*it);
  }
  return std::optional<state::Event>();
}

int RunStatus(const Settings& s) {
  const auto state_path = StatePath(s);
  if (!state_path.ok()) return Fail(state_path.status());
  const std::string& path = state_path->shown;
  auto loaded = state::LoadSnapshotAt(state_path->value);
  if (!loaded.ok()) return Fail(loaded.status());
  const state::Snapshot& snap = *loaded;

  std::map<std::string, std::vector<const state::Attempt*>> by_rollout;
  for (const state::Attempt& a : snap.attempts) by_rollout[a.rollout].push_back(&a);
  if (!s.rollout.empty() && snap.exists && !by_rollout.count(s.rollout)) {
    std::set<std::string> known;
    for (const auto& [name, attempts] : by_rollout) known.insert(name);
    return Fail(core::Status::NotFound(
        fmt::format("state file {} has no rollout {}; {}", path, s.rollout, KnownRollouts(known))));
  }
  if (!s.rollout.empty()) {
    std::erase_if(by_rollout, [&](const auto& entry) { return entry.first != s.rollout; });
  }
  std::optional<state::Event> cycle;
  if (snap.exists) {
    auto last = LastCycle(state_path->value);
    if (!last.ok()) return Fail(last.status());
    cycle = *last;
  }

  if (s.format == "json") {
    ordered_json rollouts = ordered_json::array();
    for (const auto& [name, attempts] : by_rollout) {
      ordered_json stages = ordered_json::array();
      for (const StageView& stage : Stages(attempts)) stages.push_back(StageJson(stage, snap));
      rollouts.push_back(ordered_json{{"name", name}, {"stages", std::move(stages)}});
    }
    ordered_json out{{"format_version", 1}, {"state", path}, {"exists", snap.exists}};
    if (snap.exists) out["serial"] = snap.serial;
    if (cycle) {
      auto data = ordered_json::parse(cycle->data_json, nullptr, false);
      out["daemon"] = ordered_json{{"last_cycle", core::FormatRfc3339(cycle->at)},
                                   {"commit", data.is_object() ? data.value("commit", "") : ""},
                                   {"valid_commit", data.is_object() ? data.value("valid_commit", "") : ""},
                                   {"outcome", data.is_object() ? data.value("outcome", "") : ""},
                                   {"signer", data.is_object() ? data.value("signer", "") : ""},
                                   {"message", cycle->message}};
    }
    out["rollouts"] = std::move(rollouts);
    return Print(out.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n");
  }
  if (!snap.exists) return Print(NoState(path));
  if (by_rollout.empty()) {
    return Print(fmt::format("otaroll: state {} records no attempts yet: nothing has been created\n", path));
  }
  std::string text;
  for (const auto& [name, attempts] : by_rollout) {
    std::vector<std::vector<std::string>> rows = {
        {"STAGE", "STATE", "JOBS", "CREATED", "ATTEMPTS", "DEVICES", "LAST ERROR"}};
    for (const StageView& stage : Stages(attempts)) rows.push_back(StageRow(stage, snap));
    text += (text.empty() ? "" : "\n") + fmt::format("rollout {}\n", name) + Table(rows, "  ");
  }
  if (cycle) {
    text += fmt::format("\ndaemon: last {} (at {})\n", core::Printable(cycle->message), core::FormatRfc3339(cycle->at));
  }
  return Print(text);
}

// ---------------------------------------------------------------------------
// history

std::string Where(const state::Event& e) {
  if (e.rollout.empty()) return "-";
  return e.stage.empty() ? e.rollout : e.rollout + "/" + e.stage;
}

int RunHistory(const Settings& s) {
  const auto state_path = StatePath(s);
  if (!state_path.ok()) return Fail(state_path.status());
  const std::string& path = state_path->shown;
  auto log = state::LoadEventsAt(state_path->value, s.rollout);
  if (!log.ok()) return Fail(log.status());
  if (!s.rollout.empty() && log->exists && log->events.empty()) {
    auto all = state::LoadEventsAt(state_path->value, "");
    if (!all.ok()) return Fail(all.status());
    std::set<std::string> known;
    for (const state::Event& e : all->events) {
      if (!e.rollout.empty()) known.insert(e.rollout);
    }
    return Fail(core::Status::NotFound(
        fmt::format("state file {} has no history of rollout {}; {}", path, s.rollout, KnownRollouts(known))));
  }
  if (s.format == "json") {
    ordered_json events = ordered_json::array();
    for (const state::Event& e : log->events) events.push_back(state::EventJson(e));
    ordered_json out{{"format_version", 1}, {"state", path}, {"exists", log->exists}};
    if (!s.rollout.empty()) out["rollout"] = s.rollout;
    out["events"] = std::move(events);
    return Print(out.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n");
  }
  if (!log->exists) return Print(NoState(path));
  if (log->events.empty()) return Print(fmt::format("otaroll: state {} records no events yet\n", path));
  std::vector<std::vector<std::string>> rows = {{"SEQ", "AT", "ROLLOUT/STAGE", "KIND", "MESSAGE"}};
  for (const state::Event& e : log->events) {
    rows.push_back({std::to_string(e.seq), core::FormatRfc3339(e.at), Where(e), e.kind, e.message});
  }
  return Print(Table(rows, ""));
}

// ---------------------------------------------------------------------------
// state export|import|mv|force-unlock

core::Time Now() {
  return core::SystemClock().Now();
}

// The lease held by a state command for its one short write; released when
// it goes out of scope.
class CommandLease {
 public:
  static core::Result<CommandLease> Take(state::Store& store) {
    state::Lease me = state::ThisProcessLease();
    auto got = store.AcquireLease(me, Now());
    if (!got.ok()) return got.status();
    return CommandLease(store, me.token);
  }
  CommandLease(CommandLease&& other) noexcept : store_(other.store_), token_(std::move(other.token_)) {
    other.store_ = nullptr;
  }
  CommandLease& operator=(CommandLease&&) = delete;
  ~CommandLease() {
    // A lease left behind (release failed) belongs to a pid that is gone:
    // the next otaroll on this host takes it over at once, others after its TTL.
    if (store_ != nullptr) store_->ReleaseLease(token_);
  }

 private:
  CommandLease(state::Store& store, std::string token) : store_(&store), token_(std::move(token)) {}
  state::Store* store_;
  std::string token_;
};

// Opens an existing state file for writing; a missing one is an error (these
// commands must not create one by accident).
core::Result<std::unique_ptr<state::Store>> OpenExisting(const StateAt& at) {
  if (at.postgres) return state::OpenStore(at.value);
  if (!FileExists(at.value)) {
    return core::Status::NotFound(
        fmt::format("state file {} does not exist; pass the path of an existing state file with --state", at.value));
  }
  return state::OpenStore(at.value);
}

int RunExport(const Settings& s) {
  const auto state_path = StatePath(s);
  if (!state_path.ok()) return Fail(state_path.status());
  const std::string& path = state_path->shown;
  // Read-only in one read transaction, like plan: a consistent copy even
  // while apply or the daemon writes, and no lease needed.
  auto exported = state::ExportStateAt(state_path->value);
  if (!exported.ok()) return Fail(exported.status());
  if (s.out.empty()) return Print(exported->json);
  if (auto written = core::WriteFile(s.out, exported->json); !written.ok()) {
    return Fail(core::Status::IOError(fmt::format(
        "cannot write the export to {} ({}); check the path and its permissions", s.out, written.message())));
  }
  return Print(fmt::format("otaroll: exported {} (serial {}: {}) to {}\n", path, exported->serial,
                           state::DescribeCounts(exported->counts), s.out));
}

// Into a database without otaroll history (PgStore::Import); the schema it
// creates stays when the import fails (an empty state, like a new database's).
int ImportIntoPostgres(const StateAt& at, const std::string& text, const std::string& source) {
  auto store = state::PgStore::Open(at.value);
  if (!store.ok()) return Fail(store.status());
  auto lease = CommandLease::Take(**store);
  if (!lease.ok()) return Fail(lease.status());
  auto imported = (*store)->Import(text, source);
  if (!imported.ok()) return Fail(imported.status());
  return Print(fmt::format("otaroll: imported {} into {}: {}\n", source, at.shown, state::DescribeCounts(*imported)));
}

int RunImport(const Settings& s) {
  const auto state_path = StatePath(s);
  if (!state_path.ok()) return Fail(state_path.status());
  const std::string& path = state_path->value;
  std::string text;
  if (s.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(s.file, std::ios::binary);
    if (!in) {
      return Fail(core::Status::IOError(
          fmt::format("cannot read {} ({}); pass the path of a file written by 'otaroll state export'", s.file,
                      std::strerror(errno))));
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string source = s.file == "-" ? std::string("standard input") : s.file;
  if (state_path->postgres) return ImportIntoPostgres(*state_path, text, source);
  const bool existed = FileExists(path);
  // A state file this import created is removed again when the import fails:
  // nothing is left behind that a later apply would take for an empty state.
  auto remove_new = [&] {
    if (existed) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
  };
  std::optional<core::Status> failed;
  {
    auto store = state::SqliteStore::Open(path);
    if (!store.ok()) {
      remove_new();
      return Fail(store.status());
    }
    auto lease = CommandLease::Take(**store);
    if (!lease.ok()) return Fail(lease.status());
    auto imported = (*store)->Import(text, source);
    if (imported.ok()) {
      return Print(fmt::format("otaroll: imported {} into {}: {}\n", source, path, state::DescribeCounts(*imported)));
    }
    failed = imported.status();
  }
  remove_new();
  return Fail(*failed);
}

int RunMove(const Settings& s) {
  const auto state_path = StatePath(s);
  if (!state_path.ok()) return Fail(state_path.status());
  const std::string& path = state_path->value;
  if (state_path->postgres) {
    return Fail(core::Status::Unsupported(fmt::format(
        "state mv: {}: renaming a rollout in a PostgreSQL state is not supported yet; export it, move it in a state "
        "file (state import, state mv) and import it into a new database",
        state_path->shown)));
  }
  if (!FileExists(path)) return Fail(OpenExisting(*state_path).status());
  auto store = state::SqliteStore::Open(path);
  if (!store.ok()) return Fail(store.status());
  auto lease = CommandLease::Take(**store);
  if (!lease.ok()) return Fail(lease.status());
  auto moved = (*store)->RenameRollout(s.old_name, s.new_name, Now());
  if (!moved.ok()) return Fail(moved.status());
  return Print(fmt::format("otaroll: renamed rollout {} to {} in {} ({} attempt{})\n", s.old_name, s.new_name, path,
                           *moved, *moved == 1 ? "" : "s"));
}

int RunForceUnlock(const Settings& s) {
  const auto state_path = StatePath(s);
  if (!state_path.ok()) return Fail(state_path.status());
  const std::string& path = state_path->shown;
  auto store = OpenExisting(*state_path);
  if (!store.ok()) return Fail(store.status());
  auto removed = (*store)->ForceUnlock(s.force);
  if (!removed.ok()) return Fail(removed.status());
  if (!*removed) return Print(fmt::format("otaroll: {} is not locked\n", path));
  const state::Lease& l = **removed;
  if (s.force && state::HolderAliveHere(l)) {
    std::cerr << fmt::format(
        "otaroll: warning: pid {} is still running; it can no longer write an intent, so it creates nothing more, "
        "but a create it already sent still completes\n",
        l.pid);
  }
  const core::Time now = Now();
  const int64_t ago =
      now > l.heartbeat_at ? std::chrono::duration_cast<std::chrono::seconds>(now - l.heartbeat_at).count() : 0;
  return Print(fmt::format("otaroll: removed the lease of pid {} on host {} (since {}, last heartbeat {}s ago)\n",
                           l.pid, l.host, core::FormatRfc3339(l.started_at), ago));
}

}  // namespace

Runner AddStatusCommand(CLI::App& app) {
  auto s = std::make_shared<Settings>();
  auto* status = app.add_subcommand("status", "Show what the state file records per rollout and stage");
  status->add_option("rollout", s->rollout, "only this rollout");
  AddStateOptions(status, s.get());
  AddFormatOption(status, s.get());
  return [s]() { return RunStatus(*s); };
}

Runner AddHistoryCommand(CLI::App& app) {
  auto s = std::make_shared<Settings>();
  auto* history = app.add_subcommand("history", "Show the state file's event history, oldest first");
  history->add_option("rollout", s->rollout, "only this rollout");
  AddStateOptions(history, s.get());
  AddFormatOption(history, s.get());
  return [s]() { return RunHistory(*s); };
}

Runner AddStateCommand(CLI::App& app) {
  auto s = std::make_shared<Settings>();
  auto* state_cmd = app.add_subcommand("state", "Export, import, rename in, or unlock the state file");
  state_cmd->require_subcommand(1);
  auto* exp = state_cmd->add_subcommand("export", "Write the whole state as JSON (read-only, never locks)");
  exp->add_option("--out", s->out, "write to this file instead of standard output");
  AddStateOptions(exp, s.get());
  auto* imp = state_cmd->add_subcommand("import", "Load an export into a state file that holds nothing yet");
  imp->add_option("file", s->file, "a file written by 'otaroll state export' (- for standard input)")->required();
  AddStateOptions(imp, s.get());
  auto* mv = state_cmd->add_subcommand("mv", "Rename a rollout in state (after renaming it in its manifest)");
  mv->add_option("old", s->old_name, "the rollout's recorded name")->required();
  mv->add_option("new", s->new_name, "its new name")->required();
  AddStateOptions(mv, s.get());
  auto* unlock = state_cmd->add_subcommand("force-unlock", "Remove the lease of an otaroll that is gone");
  unlock->add_flag("--force", s->force, "remove it even when the holder is a live process on this host");
  AddStateOptions(unlock, s.get());
  return [s, exp, imp, mv, unlock]() {
    if (exp->parsed()) return RunExport(*s);
    if (imp->parsed()) return RunImport(*s);
    if (mv->parsed()) return RunMove(*s);
    if (unlock->parsed()) return RunForceUnlock(*s);
    return kExitError;
  };
}

}  // namespace otaroll::cli
