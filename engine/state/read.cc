// Reading a state file: the read-only, lock-free loaders (plan, status,
// history, export) and the readers the store uses inside its transactions.
#include <fmt/format.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "core/names.h"
#include "state/columns.h"
#include "state/db.h"
#include "state/request.h"
#include "state/rows.h"
#include "state/schema.h"
#include "state/sqlite_store.h"
#include "state/transfer.h"

namespace otaroll::state {

namespace {

const std::string& SelectAttempts() {
  static const std::string sql = std::string("SELECT ") + kAttemptColumns + " FROM attempts ORDER BY id";
  return sql;
}

// The latest observation of each job: greatest observed_at, then greatest id.
constexpr const char* kSelectLatestObservations =
    "SELECT job_id, observed_at, total, confirm, queued, notified, in_progress, succeeded, failed, canceled "
    "FROM (SELECT *, row_number() OVER (PARTITION BY job_id ORDER BY observed_ms DESC, id DESC) AS rn "
    "FROM observations) WHERE rn = 1 ORDER BY job_id";

// Readers below run inside the caller's read transaction.

// True when the file holds an otaroll schema, false when it is empty (no
// tables yet). An older schema is read as it is: the readers read only
// tables every version has (version 2 added the notification tables, which
// only writers use), so `plan` works on a state file that no writer has
// migrated yet.
core::Result<bool> CheckReadable(const Db& db, const std::string& /*path*/) {
  auto schema = CheckSchema(db);
  if (!schema.ok()) return schema.status();
  return schema->state != SchemaState::kEmpty;
}

}  // namespace

core::Result<int64_t> ReadSerial(const Db& db, const std::string& path) {
  auto readable = CheckReadable(db, path);
  if (!readable.ok()) return readable.status();
  if (!*readable) return int64_t{0};
  return db.QueryInt("SELECT value FROM serial WHERE id = 1", "reading its serial");
}

core::Result<Snapshot> ReadState(const Db& db, const std::string& path) {
  Snapshot snap;
  snap.exists = true;
  snap.source = path;
  auto readable = CheckReadable(db, path);
  if (!readable.ok()) return readable.status();
  if (!*readable) return snap;

  auto serial = db.QueryInt("SELECT value FROM serial WHERE id = 1", "reading its serial");
  if (!serial.ok()) return serial.status();
  snap.serial = *serial;

  // Sized exactly (same transaction): a large state's attempts are much of
  // what plan holds.
  auto count = db.QueryInt("SELECT count(*) FROM attempts", "counting attempts");
  if (!count.ok()) return count.status();
  snap.attempts.reserve(static_cast<size_t>(*count));
  auto attempts = db.Prepare(SelectAttempts(), "reading attempts");
  if (!attempts.ok()) return attempts.status();
  for (;;) {
    auto row = attempts->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto a = AttemptFromRow(*attempts, path);
    if (!a.ok()) return a.status();
    snap.attempts.push_back(std::move(*a));
  }

  auto observations = db.Prepare(kSelectLatestObservations, "reading observations");
  if (!observations.ok()) return observations.status();
  const auto& statuses = TaskStatuses();
  for (;;) {
    auto row = observations->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Observation o;
    o.job_id = observations->Text(0);
    auto at = TimeColumn(*observations, 1, path, "an observation of job " + o.job_id);
    if (!at.ok()) return at.status();
    o.observed_at = *at;
    o.total = observations->Int(2);
    for (size_t i = 0; i < statuses.size(); ++i) {
      // Only non-zero counts: Count() reads a missing status as 0.
      if (int64_t n = observations->Int(static_cast<int>(3 + i)); n != 0) o.by_status[statuses[i]] = n;
    }
    snap.observations[o.job_id] = std::move(o);
  }
  return snap;
}

namespace {}  // namespace

core::Result<std::vector<RolloutRecord>> ReadRollouts(const Db& db, const std::string& path) {
  auto stmt = db.Prepare("SELECT name, product_key, firmware_id, first_seen, last_seen FROM rollouts ORDER BY name",
                         "reading rollouts");
  if (!stmt.ok()) return stmt.status();
  std::vector<RolloutRecord> rollouts;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return rollouts;
    RolloutRecord r;
    r.name = stmt->Text(0);
    r.product_key = stmt->Text(1);
    r.firmware_id = stmt->Text(2);
    auto first = TimeColumn(*stmt, 3, path, "rollout " + r.name + " first_seen");
    if (!first.ok()) return first.status();
    auto last = TimeColumn(*stmt, 4, path, "rollout " + r.name + " last_seen");
    if (!last.ok()) return last.status();
    r.first_seen = *first;
    r.last_seen = *last;
    rollouts.push_back(std::move(r));
  }
}

namespace {}  // namespace

core::Result<std::vector<Event>> ReadEvents(const Db& db, const std::string& path, const std::string& rollout_filter,
                                            size_t last) {
  auto stmt = db.Prepare(last == 0 ? "SELECT seq, at, rollout, stage, attempt_id, kind, message, data_json FROM events "
                                     "WHERE ?1 = '' OR rollout = ?1 ORDER BY seq"
                                   : "SELECT seq, at, rollout, stage, attempt_id, kind, message, data_json FROM events "
                                     "WHERE ?1 = '' OR rollout = ?1 ORDER BY seq DESC LIMIT ?2",
                         "reading events");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, rollout_filter);
  if (last > 0) stmt->Bind(2, static_cast<int64_t>(last));
  std::vector<Event> events;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      if (last > 0) std::reverse(events.begin(), events.end());
      return events;
    }
    auto e = EventRow(*stmt, path);
    if (!e.ok()) return e.status();
    events.push_back(std::move(*e));
  }
}

namespace {

core::Result<EventLog> ReadEventLog(const Db& db, const std::string& path, const std::string& rollout_filter) {
  EventLog log;
  log.exists = true;
  auto readable = CheckReadable(db, path);
  if (!readable.ok()) return readable.status();
  if (!*readable) return log;
  auto events = ReadEvents(db, path, rollout_filter);
  if (!events.ok()) return events.status();
  log.events = std::move(*events);
  return log;
}

using nlohmann::ordered_json;

ordered_json TextOrNull(const std::string& s) {
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}

ordered_json AttemptJson(const Attempt& a) {
  ordered_json o;
  o["id"] = a.id;
  o["intent_id"] = a.intent_id;
  o["rollout"] = a.rollout;
  o["stage"] = a.stage;
  o["part"] = a.part;
  o["parts"] = a.parts;
  o["spec_hash"] = a.spec_hash;
  ordered_json request = ordered_json::object();
  for (auto& [key, value] : ParamsOf(a.request)) request[key] = std::move(value);
  o["request"] = std::move(request);
  o["status"] = StatusName(a.status);
  o["job_id"] = TextOrNull(a.job_id);
  o["job_created_at"] = a.job_created_at ? ordered_json(core::FormatRfc3339(*a.job_created_at)) : ordered_json();
  o["job_status"] = TextOrNull(a.job_status);
  o["request_id"] = TextOrNull(a.request_id);
  o["error_code"] = TextOrNull(a.error_code);
  o["error_message"] = TextOrNull(a.error_message);
  o["attempt_count"] = a.attempt_count;
  o["created_at"] = core::FormatRfc3339(a.created_at);
  o["updated_at"] = core::FormatRfc3339(a.updated_at);
  o["superseded_by"] = a.superseded_by ? ordered_json(*a.superseded_by) : ordered_json();
  return o;
}

// The whole file, every row of every history table.
core::Result<StateExport> ReadExport(const Db& db, const std::string& path) {
  StateRows rows;
  int64_t serial = 0;
  auto readable = CheckReadable(db, path);
  if (!readable.ok()) return readable.status();
  if (*readable) {
    auto read_serial = db.QueryInt("SELECT value FROM serial WHERE id = 1", "reading its serial");
    if (!read_serial.ok()) return read_serial.status();
    serial = *read_serial;
    auto records = ReadRollouts(db, path);
    if (!records.ok()) return records.status();
    rows.rollouts = std::move(*records);

    auto stmt = db.Prepare(SelectAttempts(), "reading attempts");
    if (!stmt.ok()) return stmt.status();
    for (;;) {
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto a = AttemptFromRow(*stmt, path);
      if (!a.ok()) return a.status();
      rows.attempts.push_back(std::move(*a));
    }

    const auto& statuses = TaskStatuses();
    auto obs = db.Prepare(
        "SELECT id, job_id, observed_at, total, confirm, queued, notified, in_progress, succeeded, failed, canceled "
        "FROM observations ORDER BY id",
        "reading observations");
    if (!obs.ok()) return obs.status();
    for (;;) {
      auto row = obs->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      Observation o;
      o.job_id = obs->Text(1);
      auto at = TimeColumn(*obs, 2, path, fmt::format("observation {}", obs->Int(0)));
      if (!at.ok()) return at.status();
      o.observed_at = *at;
      o.total = obs->Int(3);
      for (size_t i = 0; i < statuses.size(); ++i) o.by_status[statuses[i]] = obs->Int(static_cast<int>(4 + i));
      rows.observation_ids.push_back(obs->Int(0));
      rows.observations.push_back(std::move(o));
    }

    auto all_events = ReadEvents(db, path, "");
    if (!all_events.ok()) return all_events.status();
    rows.events = std::move(*all_events);
  }
  return ExportDocument(rows, serial, path);
}

// One consistent read: a deferred transaction holds a single snapshot (WAL)
// or a shared lock (rollback journal) from the first read to the end.
template <typename Read>
auto InReadTransaction(const Db& db, Read&& read) -> decltype(read(db)) {
  if (auto s = db.Exec("BEGIN", "starting a read"); !s.ok()) return s;
  auto result = read(db);
  db.Exec(result.ok() ? "COMMIT" : "ROLLBACK", "ending a read");
  return result;
}

}  // namespace

core::Result<Snapshot> ReadInTransaction(const Db& db, const std::string& path) {
  return InReadTransaction(db, [&](const Db& d) { return ReadState(d, path); });
}

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// True when the file's header says WAL journal mode (file format bytes 18-19).
bool HeaderSaysWal(const std::string& path) {
  char header[20] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(header, sizeof header)) return false;
  return std::memcmp(header, "SQLite format 3", 16) == 0 && header[18] == 2 && header[19] == 2;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

template <typename T>
using Reader = std::function<core::Result<T>(const Db&)>;

template <typename T>
core::Result<T> ReadOnce(const std::string& path, bool immutable, const Reader<T>& read) {
  auto db = Db::Open(SqliteUri(path, immutable ? "mode=ro&immutable=1" : "mode=ro"),
                     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout((*db)->raw(), kBusyTimeoutMs);
  return InReadTransaction(**db, read);
}

// A writer that died leaves committed pages in -wal and no -shm; reading them
// needs a wal-index, which only a connection that may create -shm can build.
core::Status ExplainReadFailure(const std::string& path, const core::Status& status) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  if (status.code() != core::Status::Code::kIOError || !Exists(path + "-wal") || Exists(path + "-shm") ||
      ::access(dir.c_str(), W_OK) == 0) {
    return status;
  }
  return core::Status::IOError(fmt::format(
      "state file {} holds changes in {}-wal from a writer that stopped without closing it, and reading them "
      "needs write access to {}; run this as a user who may write there, or run otaroll apply "
      "once to recover the file",
      path, path, dir));
}

// Reads `path` with `read` inside one read transaction, without writing to
// it, locking it for writing, or creating anything; nullopt when the file
// does not exist. Works while another process is writing.
template <typename T>
core::Result<std::optional<T>> ReadOnly(const std::string& path, const Reader<T>& read) {
  auto found = [](core::Result<T> r) -> core::Result<std::optional<T>> {
    if (!r.ok()) return r.status();
    return std::optional<T>(std::move(*r));
  };
  const std::string wal = path + "-wal";
  for (int attempt = 1;; ++attempt) {
    struct stat before;
    if (::stat(path.c_str(), &before) != 0) {
      if (errno == ENOENT) return std::optional<T>();
      return core::Status::IOError(
          fmt::format("cannot read state file {} ({}); check its permissions", path, std::strerror(errno)));
    }
    if (!S_ISREG(before.st_mode)) {
      return core::Status::Invalid(fmt::format(
          "state file {} is not a regular file; pass the path of an otaroll state file with --state", path));
    }
    // A WAL-mode file without a -wal file was closed cleanly: everything is
    // in the main file. A read-only connection would create -wal and -shm
    // next to it (or fail when the directory is not writable), so read it as
    // immutable instead, and afterwards make sure no writer came meanwhile:
    // a writer always has a -wal file, and its checkpoints change the file.
    const bool had_wal = Exists(wal);
    const bool immutable = HeaderSaysWal(path) && !had_wal;
    core::Result<T> snap = ReadOnce(path, immutable, read);
    if (immutable) {
      struct stat after;
      if (::stat(path.c_str(), &after) == 0 && SameFile(before, after) && !Exists(wal)) return found(std::move(snap));
    } else if (snap.ok() || Exists(wal) == had_wal) {
      return snap.ok() ? found(std::move(snap)) : ExplainReadFailure(path, snap.status());
    }
    if (attempt == kLoadTries) {
      return core::Status::Conflict(
          fmt::format("state file {} kept changing while it was read; retry in a moment", path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
  }
}

}  // namespace

core::Result<Snapshot> LoadSnapshot(const std::string& path) {
  auto snap = ReadOnly<Snapshot>(path, [&](const Db& db) { return ReadState(db, path); });
  if (!snap.ok()) return snap.status();
  if (*snap) return std::move(**snap);
  Snapshot missing;
  missing.source = path;
  return missing;
}

core::Result<EventLog> LoadEvents(const std::string& path, const std::string& rollout_filter) {
  auto log = ReadOnly<EventLog>(path, [&](const Db& db) { return ReadEventLog(db, path, rollout_filter); });
  if (!log.ok()) return log.status();
  if (*log) return std::move(**log);
  return EventLog{};
}

core::Result<StateExport> ExportState(const std::string& path) {
  auto exported = ReadOnly<StateExport>(path, [&](const Db& db) { return ReadExport(db, path); });
  if (!exported.ok()) return exported.status();
  if (!*exported) {
    return core::Status::NotFound(
        fmt::format("state file {} does not exist; pass the path of an existing state file with --state", path));
  }
  return std::move(**exported);
}

core::Result<StateExport> ExportDocument(const StateRows& rows, int64_t serial, const std::string& where) {
  StateExport out;
  ordered_json doc;
  doc["format_version"] = 1;
  doc["schema_version"] = kSchemaVersion;
  ordered_json rollouts = ordered_json::array(), attempts = ordered_json::array(), observations = ordered_json::array(),
               events = ordered_json::array();
  for (const auto& r : rows.rollouts) {
    rollouts.push_back(ordered_json{{"name", r.name},
                                    {"product_key", r.product_key},
                                    {"firmware_id", r.firmware_id},
                                    {"first_seen", core::FormatRfc3339(r.first_seen)},
                                    {"last_seen", core::FormatRfc3339(r.last_seen)}});
  }
  for (const auto& a : rows.attempts) attempts.push_back(AttemptJson(a));
  const auto& statuses = TaskStatuses();
  for (size_t i = 0; i < rows.observations.size(); ++i) {
    const Observation& obs = rows.observations[i];
    ordered_json o;
    o["id"] = rows.observation_ids.at(i);
    o["job_id"] = obs.job_id;
    o["observed_at"] = core::FormatRfc3339(obs.observed_at);
    o["total"] = obs.total;
    ordered_json counts = ordered_json::object();
    for (const auto& status : statuses) counts[status] = obs.Count(status);
    o["counts"] = std::move(counts);
    observations.push_back(std::move(o));
  }
  for (const auto& e : rows.events) {
    bool data_is_json = false;
    ordered_json event = EventJson(e, &data_is_json);
    if (!data_is_json) return Damaged(where, fmt::format("event {} has data that is not JSON", e.seq));
    events.push_back(std::move(event));
  }
  out.serial = serial;
  out.counts = StateCounts{static_cast<int64_t>(rollouts.size()), static_cast<int64_t>(attempts.size()),
                           static_cast<int64_t>(observations.size()), static_cast<int64_t>(events.size())};
  doc["serial"] = serial;
  doc["rollouts"] = std::move(rollouts);
  doc["attempts"] = std::move(attempts);
  doc["observations"] = std::move(observations);
  doc["events"] = std::move(events);
  // Text the platform sent may not be valid UTF-8; an export must still work.
  out.json = doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
  return out;
}

nlohmann::ordered_json EventJson(const Event& e, bool* data_is_json) {
  using nlohmann::ordered_json;
  auto data = ordered_json::parse(e.data_json.empty() ? std::string("{}") : e.data_json, nullptr,
                                  /*allow_exceptions=*/false);
  if (data_is_json != nullptr) *data_is_json = !data.is_discarded();
  return ordered_json{{"seq", e.seq},
                      {"at", core::FormatRfc3339(e.at)},
                      {"rollout", e.rollout},
                      {"stage", e.stage},
                      {"attempt_id", e.attempt_id ? ordered_json(*e.attempt_id) : ordered_json()},
                      {"kind", e.kind},
                      {"message", e.message},
                      {"data", data.is_discarded() ? ordered_json(e.data_json) : std::move(data)}};
}

}  // namespace otaroll::state
