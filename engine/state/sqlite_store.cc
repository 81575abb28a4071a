#include "state/sqlite_store.h"

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
#include "state/db.h"
#include "state/lease_row.h"
#include "state/schema.h"

namespace otaroll::state {

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kLoadTries = 5;

// Transport parameters of one call, never part of a job's specification; two
// are derived from the secret.
constexpr std::string_view kForbiddenRequestKeys[] = {"AccessKeyId", "AccessKeySecret", "Signature", "SignatureNonce"};

// request_json: a JSON object of strings, keys sorted (std::map order).
core::Result<std::string> RequestJson(const Attempt& a, const std::string& path) {
  for (const auto& [key, value] : a.request) {
    if (std::find(std::begin(kForbiddenRequestKeys), std::end(kForbiddenRequestKeys), key) !=
        std::end(kForbiddenRequestKeys)) {
      return core::Status::Invalid(fmt::format(
          "attempt {} for state file {} carries the call parameter {}; record only the job's own parameters",
          a.intent_id, path, key));
    }
  }
  try {
    return nlohmann::json(a.request).dump();
  } catch (const nlohmann::json::exception&) {
    return core::Status::Invalid(fmt::format(
        "attempt {} for state file {} has a request parameter that is not valid UTF-8; fix the manifest value",
        a.intent_id, path));
  }
}

// Appends `e` (data_json already checked) inside the caller's transaction.
core::Status InsertEvent(const Db& db, const Event& e, const std::string& doing) {
  auto stmt = db.Prepare(
      "INSERT INTO events (at, rollout, stage, attempt_id, kind, message, data_json) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
      doing);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, core::FormatRfc3339(e.at))
      .Bind(2, e.rollout)
      .Bind(3, e.stage)
      .BindOptional(4, e.attempt_id)
      .Bind(5, e.kind)
      .Bind(6, e.message)
      .Bind(7, e.data_json)
      .Run();
}

}  // namespace

core::Status Damaged(const std::string& path, const std::string& detail) {
  return core::Status::Corruption(fmt::format("state file {} is damaged ({}); restore it from a backup", path, detail));
}

core::Result<core::Time> TimeColumn(const Stmt& row, int col, const std::string& path, const std::string& what) {
  std::string text = row.Text(col);
  auto t = core::ParseRfc3339(text);
  if (!t) return Damaged(path, fmt::format("{} is \"{}\", not an RFC 3339 time", what, text));
  return *t;
}

namespace {

constexpr const char* kSelectAttempts =
    "SELECT id, intent_id, rollout, stage, part, parts, spec_hash, request_json, status, job_id, "
    "job_created_at, job_status, request_id, error_code, error_message, attempt_count, created_at, "
    "updated_at, superseded_by FROM attempts ORDER BY id";

core::Result<Attempt> AttemptFromRow(const Stmt& row, const std::string& path) {
  Attempt a;
  a.id = row.Int(0);
  std::string where = fmt::format("attempt {}", a.id);
  a.intent_id = row.Text(1);
  a.rollout = row.Text(2);
  a.stage = row.Text(3);
  a.part = static_cast<int>(row.Int(4));
  a.parts = static_cast<int>(row.Int(5));
  a.spec_hash = row.Text(6);
  auto request = nlohmann::json::parse(row.Text(7), nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) return Damaged(path, where + " has a request_json that is not a JSON object");
  for (const auto& [key, value] : request.items()) {
    if (!value.is_string()) return Damaged(path, fmt::format("{} has a non-string request value {}", where, key));
    a.request[key] = value.get<std::string>();
  }
  auto status = ParseStatus(row.Text(8));
  if (!status) return Damaged(path, fmt::format("{} has status \"{}\"", where, row.Text(8)));
  a.status = *status;
  a.job_id = row.Text(9);
  if (!row.IsNull(10)) {
    auto t = TimeColumn(row, 10, path, where + " job_created_at");
    if (!t.ok()) return t.status();
    a.job_created_at = *t;
  }
  a.job_status = row.Text(11);
  a.request_id = row.Text(12);
  a.error_code = row.Text(13);
  a.error_message = row.Text(14);
  a.attempt_count = static_cast<int>(row.Int(15));
  auto created = TimeColumn(row, 16, path, where + " created_at");
  if (!created.ok()) return created.status();
  a.created_at = *created;
  auto updated = TimeColumn(row, 17, path, where + " updated_at");
  if (!updated.ok()) return updated.status();
  a.updated_at = *updated;
  if (!row.IsNull(18)) a.superseded_by = row.Int(18);
  return a;
}

// The latest observation of each job: greatest observed_at, then greatest id.
constexpr const char* kSelectLatestObservations =
    "SELECT job_id, observed_at, total, confirm, queued, notified, in_progress, succeeded, failed, canceled "
    "FROM (SELECT *, row_number() OVER (PARTITION BY job_id ORDER BY observed_ms DESC, id DESC) AS rn "
    "FROM observations) WHERE rn = 1 ORDER BY job_id";

// Readers below run inside the caller's read transaction.

// True when the file holds the current schema, false when it is empty (no
// tables yet); Unsupported when it must be migrated first.
core::Result<bool> CheckReadable(const Db& db, const std::string& path) {
  auto schema = CheckSchema(db);
  if (!schema.ok()) return schema.status();
  if (schema->state == SchemaState::kEmpty) return false;
  if (schema->state == SchemaState::kOlder) {
    return core::Status::Unsupported(fmt::format(
        "state file {} has schema version {} and this otaroll reads version {}; run otaroll apply or otaroll "
        "daemon once to upgrade it",
        path, schema->version, kSchemaVersion));
  }
  return true;
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

  auto attempts = db.Prepare(kSelectAttempts, "reading attempts");
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

core::Result<std::vector<Event>> ReadEvents(const Db& db, const std::string& path, const std::string& rollout_filter) {
  auto stmt = db.Prepare(
      "SELECT seq, at, rollout, stage, attempt_id, kind, message, data_json FROM events "
      "WHERE ?1 = '' OR rollout = ?1 ORDER BY seq",
      "reading events");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, rollout_filter);
  std::vector<Event> events;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return events;
    Event e;
    e.seq = stmt->Int(0);
    auto at = TimeColumn(*stmt, 1, path, fmt::format("event {}", e.seq));
    if (!at.ok()) return at.status();
    e.at = *at;
    e.rollout = stmt->Text(2);
    e.stage = stmt->Text(3);
    if (!stmt->IsNull(4)) e.attempt_id = stmt->Int(4);
    e.kind = stmt->Text(5);
    e.message = stmt->Text(6);
    e.data_json = stmt->Text(7);
    events.push_back(std::move(e));
  }
}

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
  for (const auto& [key, value] : a.request) request[key] = value;
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

// The whole file, every row of every history table, as the export document.
core::Result<StateExport> ReadExport(const Db& db, const std::string& path) {
  StateExport out;
  ordered_json doc;
  doc["format_version"] = 1;
  doc["schema_version"] = kSchemaVersion;
  ordered_json rollouts = ordered_json::array(), attempts = ordered_json::array(), observations = ordered_json::array(),
               events = ordered_json::array();
  auto readable = CheckReadable(db, path);
  if (!readable.ok()) return readable.status();
  if (*readable) {
    auto serial = db.QueryInt("SELECT value FROM serial WHERE id = 1", "reading its serial");
    if (!serial.ok()) return serial.status();
    out.serial = *serial;

    auto records = ReadRollouts(db, path);
    if (!records.ok()) return records.status();
    for (const auto& r : *records) {
      rollouts.push_back(ordered_json{{"name", r.name},
                                      {"product_key", r.product_key},
                                      {"firmware_id", r.firmware_id},
                                      {"first_seen", core::FormatRfc3339(r.first_seen)},
                                      {"last_seen", core::FormatRfc3339(r.last_seen)}});
    }

    auto stmt = db.Prepare(kSelectAttempts, "reading attempts");
    if (!stmt.ok()) return stmt.status();
    for (;;) {
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto a = AttemptFromRow(*stmt, path);
      if (!a.ok()) return a.status();
      attempts.push_back(AttemptJson(*a));
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
      ordered_json o;
      o["id"] = obs->Int(0);
      o["job_id"] = obs->Text(1);
      auto at = TimeColumn(*obs, 2, path, fmt::format("observation {}", obs->Int(0)));
      if (!at.ok()) return at.status();
      o["observed_at"] = core::FormatRfc3339(*at);
      o["total"] = obs->Int(3);
      ordered_json counts = ordered_json::object();
      for (size_t i = 0; i < statuses.size(); ++i) counts[statuses[i]] = obs->Int(static_cast<int>(4 + i));
      o["counts"] = std::move(counts);
      observations.push_back(std::move(o));
    }

    auto all_events = ReadEvents(db, path, "");
    if (!all_events.ok()) return all_events.status();
    for (const auto& e : *all_events) {
      bool data_is_json = false;
      ordered_json event = EventJson(e, &data_is_json);
      if (!data_is_json) return Damaged(path, fmt::format("event {} has data that is not JSON", e.seq));
      events.push_back(std::move(event));
    }
  }
  out.counts = StateCounts{static_cast<int64_t>(rollouts.size()), static_cast<int64_t>(attempts.size()),
                           static_cast<int64_t>(observations.size()), static_cast<int64_t>(events.size())};
  doc["serial"] = out.serial;
  doc["rollouts"] = std::move(rollouts);
  doc["attempts"] = std::move(attempts);
  doc["observations"] = std::move(observations);
  doc["events"] = std::move(events);
  // Text the platform sent may not be valid UTF-8; an export must still work.
  out.json = doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
  return out;
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

core::Result<Snapshot> ReadInTransaction(const Db& db, const std::string& path) {
  return InReadTransaction(db, [&](const Db& d) { return ReadState(d, path); });
}

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
      "needs write access to {}; run this as a user who may write there, or run otaroll apply or otaroll daemon "
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

// ---------------------------------------------------------------------------

Transaction::Transaction(Transaction&& other) noexcept : store_(other.store_) {
  other.store_ = nullptr;
}

Transaction::~Transaction() {
  if (store_ == nullptr) return;
  store_->db_->Exec("ROLLBACK", "rolling back a transaction");
  store_->in_transaction_ = false;
}

core::Status Transaction::Commit() {
  if (store_ == nullptr) {
    return core::Status::Invalid("a state transaction was committed twice; this is a bug in otaroll");
  }
  // Some errors (disk full, I/O) make SQLite roll back the whole transaction.
  if (sqlite3_get_autocommit(store_->db_->raw())) {
    store_->in_transaction_ = false;
    store_ = nullptr;
    return core::Status::IOError("a state transaction was rolled back after an earlier error; retry");
  }
  if (auto s = store_->db_->Exec("COMMIT", "committing a transaction"); !s.ok()) return s;
  store_->in_transaction_ = false;
  store_ = nullptr;
  return core::Status::Ok();
}

SqliteStore::SqliteStore(std::unique_ptr<Db> db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

SqliteStore::~SqliteStore() = default;

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return core::Status::IOError(
          fmt::format("cannot create directory {} for state file {} ({}); check its "
                      "permissions",
                      parent.string(), path, ec.message()));
    }
  }
  auto opened =
      Db::Open(SqliteUri(path, "mode=rwc"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, path);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<Db> db = std::move(*opened);
  sqlite3_busy_timeout(db->raw(), kBusyTimeoutMs);

  // Identify the file before anything writes to it: switching a foreign
  // database to WAL would already modify it.
  if (auto info = CheckSchema(*db); !info.ok()) return info.status();

  std::string mode;
  // Switching a new file to WAL needs it to itself, and SQLite reports busy
  // at once here instead of waiting in the busy handler: two processes
  // opening a new state file together would make one of them fail. So wait
  // here, as long as the busy timeout.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    auto stmt = db->Prepare("PRAGMA journal_mode = WAL", "turning on WAL journaling");
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (row.ok()) {
      if (*row) mode = stmt->Text(0);
      break;
    }
    if (row.status().code() != core::Status::Code::kConflict || std::chrono::steady_clock::now() > deadline) {
      return row.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // another process holds the file for a moment
  }  // each statement is finalized within its pass: an unfinished one would make COMMIT fail as busy
  if (mode != "wal") {
    return core::Status::IOError(fmt::format(
        "state file {} cannot use WAL journaling (the file system does not support it); keep the state file on "
        "a local disk",
        path));
  }
  // FULL: a committed intent row must survive a power loss before the
  // platform is called (SPEC §4 step 1); NORMAL would only survive a crash.
  if (auto s = db->Exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", "configuring it"); !s.ok()) return s;
  if (auto s = Migrate(*db); !s.ok()) return s;
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db), path));
}

core::Result<Snapshot> SqliteStore::Load() {
  // Inside an open Transaction the read sees that transaction's own writes.
  return in_transaction_ ? ReadState(*db_, path_) : ReadInTransaction(*db_, path_);
}

core::Result<Transaction> SqliteStore::Begin() {
  if (in_transaction_) {
    return core::Status::Invalid(
        fmt::format("a transaction is already open on state file {}; commit it before beginning another", path_));
  }
  if (auto s = db_->Exec("BEGIN IMMEDIATE", "beginning a transaction"); !s.ok()) return s;
  in_transaction_ = true;
  return Transaction(this);
}

core::Status SqliteStore::Write(const std::string& doing, const std::function<core::Status()>& body) {
  if (in_transaction_) return body();
  // IMMEDIATE takes the write lock up front, so a busy database waits in
  // busy_timeout instead of failing at the first write.
  if (auto s = db_->Exec("BEGIN IMMEDIATE", doing); !s.ok()) return s;
  core::Status s = body();
  if (s.ok()) s = db_->Exec("COMMIT", doing);
  if (!s.ok()) db_->Exec("ROLLBACK", doing);
  return s;
}

core::Status SqliteStore::UpsertRollout(const std::string& name, const std::string& product_key,
                                        const std::string& firmware_id, core::Time now) {
  std::string doing = fmt::format("recording rollout {}", name);
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare(
        "INSERT INTO rollouts (name, product_key, firmware_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4) "
        "ON CONFLICT (name) DO UPDATE SET product_key = excluded.product_key, "
        "firmware_id = excluded.firmware_id, last_seen = excluded.last_seen",
        doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, name).Bind(2, product_key).Bind(3, firmware_id).Bind(4, core::FormatRfc3339(now)).Run();
  });
}

core::Result<int64_t> SqliteStore::InsertAttempt(const Attempt& a) {
  auto request = RequestJson(a, path_);
  if (!request.ok()) return request.status();
  std::string doing = fmt::format("recording attempt {} of {}/{}", a.intent_id, a.rollout, a.stage);
  int64_t id = 0;
  core::Status s = Write(doing, [&]() -> core::Status {
    if (a.status == AttemptStatus::kPending) {
      if (auto fenced = CheckIntent(a); !fenced.ok()) return fenced;
    }
    auto stmt = db_->Prepare(
        "INSERT INTO attempts (intent_id, rollout, stage, part, parts, spec_hash, request_json, status, job_id, "
        "job_created_at, job_status, request_id, error_code, error_message, attempt_count, created_at, "
        "updated_at, superseded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16, ?17, ?18)",
        doing);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, a.intent_id)
        .Bind(2, a.rollout)
        .Bind(3, a.stage)
        .Bind(4, int64_t{a.part})
        .Bind(5, int64_t{a.parts})
        .Bind(6, a.spec_hash)
        .Bind(7, *request)
        .Bind(8, StatusName(a.status))
        .BindNullIfEmpty(9, a.job_id)
        .BindNullIfEmpty(10, a.job_created_at ? core::FormatRfc3339(*a.job_created_at) : "")
        .BindNullIfEmpty(11, a.job_status)
        .BindNullIfEmpty(12, a.request_id)
        .BindNullIfEmpty(13, a.error_code)
        .BindNullIfEmpty(14, a.error_message)
        .Bind(15, int64_t{a.attempt_count})
        .Bind(16, core::FormatRfc3339(a.created_at))
        .Bind(17, core::FormatRfc3339(a.updated_at))
        .BindOptional(18, a.superseded_by);
    if (auto r = stmt->Run(); !r.ok()) return r;
    id = db_->LastInsertId();
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

core::Status SqliteStore::CheckIntent(const Attempt& a) {
  const std::string doing =
      fmt::format("checking the lease before attempt {} of {}/{}", a.intent_id, a.rollout, a.stage);
  if (!fence_.empty()) {
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    if (!*held || (*held)->token != fence_) {
      return core::Status::Conflict(fmt::format(
          "the lease on {} is no longer held by this process ({}); no intent was written for {}/{} and nothing was "
          "created; the run stopped",
          path_,
          *held ? fmt::format("pid {} on host {} holds it now", (*held)->pid, (*held)->host)
                : std::string("it was removed by 'otaroll state force-unlock'"),
          a.rollout, a.stage));
    }
  }
  auto stmt = db_->Prepare(
      "SELECT intent_id, status FROM attempts WHERE rollout = ?1 AND stage = ?2 AND part = ?3 AND spec_hash = ?4 "
      "AND status IN ('pending', 'unknown', 'created') LIMIT 1",
      doing);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, a.rollout).Bind(2, a.stage).Bind(3, int64_t{a.part}).Bind(4, a.spec_hash);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    return core::Status::Conflict(fmt::format(
        "{}/{} already has attempt {} ({}) for this spec; no second intent was written and nothing was created "
        "(another otaroll planned from the same state); the run stopped",
        a.rollout, a.stage, stmt->Text(0), stmt->Text(1)));
  }
  return core::Status::Ok();
}

core::Status SqliteStore::UpdateAttempt(const Attempt& a) {
  auto request = RequestJson(a, path_);
  if (!request.ok()) return request.status();
  std::string doing = fmt::format("updating attempt {} ({})", a.id, a.intent_id);
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare(
        "UPDATE attempts SET status = ?2, job_id = ?3, job_created_at = ?4, job_status = ?5, request_id = ?6, "
        "error_code = ?7, error_message = ?8, attempt_count = ?9, updated_at = ?10, superseded_by = ?11 "
        "WHERE id = ?1 AND intent_id = ?12 AND rollout = ?13 AND stage = ?14 AND part = ?15 AND parts = ?16 "
        "AND spec_hash = ?17 AND request_json = ?18 AND created_at = ?19",
        doing);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, a.id)
        .Bind(2, StatusName(a.status))
        .BindNullIfEmpty(3, a.job_id)
        .BindNullIfEmpty(4, a.job_created_at ? core::FormatRfc3339(*a.job_created_at) : "")
        .BindNullIfEmpty(5, a.job_status)
        .BindNullIfEmpty(6, a.request_id)
        .BindNullIfEmpty(7, a.error_code)
        .BindNullIfEmpty(8, a.error_message)
        .Bind(9, int64_t{a.attempt_count})
        .Bind(10, core::FormatRfc3339(a.updated_at))
        .BindOptional(11, a.superseded_by)
        .Bind(12, a.intent_id)
        .Bind(13, a.rollout)
        .Bind(14, a.stage)
        .Bind(15, int64_t{a.part})
        .Bind(16, int64_t{a.parts})
        .Bind(17, a.spec_hash)
        .Bind(18, *request)
        .Bind(19, core::FormatRfc3339(a.created_at));
    if (auto r = stmt->Run(); !r.ok()) return r;
    if (db_->Changes() == 1) return core::Status::Ok();
    auto exists = db_->Prepare("SELECT 1 FROM attempts WHERE id = ?1", doing);
    if (!exists.ok()) return exists.status();
    auto row = exists->Bind(1, a.id).Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return core::Status::NotFound(fmt::format("state file {} has no attempt {}", path_, a.id));
    }
    return core::Status::Invalid(fmt::format(
        "attempt {} in state file {} was recorded with a different intent (intent id, rollout, stage, part, "
        "spec hash, request or created_at); its intent never changes, record a new attempt instead",
        a.id, path_));
  });
}

core::Status SqliteStore::MarkSuperseded(int64_t old_id, int64_t new_id) {
  std::string doing = fmt::format("marking attempt {} superseded by attempt {}", old_id, new_id);
  return Write(doing, [&]() -> core::Status {
    struct Row {
      std::string rollout, stage, status;
    };
    auto fetch = [&](int64_t id) -> core::Result<Row> {
      auto stmt = db_->Prepare("SELECT rollout, stage, status FROM attempts WHERE id = ?1", doing);
      if (!stmt.ok()) return stmt.status();
      auto row = stmt->Bind(1, id).Step();
      if (!row.ok()) return row.status();
      if (!*row) return core::Status::NotFound(fmt::format("state file {} has no attempt {}", path_, id));
      return Row{stmt->Text(0), stmt->Text(1), stmt->Text(2)};
    };
    auto old_row = fetch(old_id);
    if (!old_row.ok()) return old_row.status();
    auto new_row = fetch(new_id);
    if (!new_row.ok()) return new_row.status();
    auto refuse = [&](const std::string& why) {
      return core::Status::Invalid(fmt::format("cannot mark attempt {} superseded by attempt {} in state file {}: {}",
                                               old_id, new_id, path_, why));
    };
    if (old_id == new_id) return refuse("an attempt cannot replace itself");
    if (old_row->rollout != new_row->rollout || old_row->stage != new_row->stage) {
      return refuse(fmt::format("they belong to different stages ({}/{} and {}/{})", old_row->rollout, old_row->stage,
                                new_row->rollout, new_row->stage));
    }
    if (old_row->status != "created") return refuse(fmt::format("the old one is {}, not created", old_row->status));
    if (new_row->status != "created") return refuse(fmt::format("the new one is {}, not created", new_row->status));
    auto stmt = db_->Prepare(
        "UPDATE attempts SET status = 'superseded', superseded_by = ?2, "
        "updated_at = (SELECT updated_at FROM attempts WHERE id = ?2) WHERE id = ?1",
        doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, old_id).Bind(2, new_id).Run();
  });
}

core::Status SqliteStore::AddObservation(const Observation& o) {
  const auto& statuses = TaskStatuses();
  std::vector<int64_t> counts(statuses.size(), 0);
  for (const auto& [status, n] : o.by_status) {
    auto it = std::find(statuses.begin(), statuses.end(), status);
    if (it == statuses.end()) {
      return core::Status::Invalid(fmt::format(
          "observation of job {} counts task status {}, which state file {} cannot record; known statuses are "
          "CONFIRM, QUEUED, NOTIFIED, IN_PROGRESS, SUCCEEDED, FAILED and CANCELED",
          o.job_id, status, path_));
    }
    counts[static_cast<size_t>(it - statuses.begin())] = n;
  }
  std::string doing = fmt::format("recording an observation of job {}", o.job_id);
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare(
        "INSERT INTO observations (job_id, observed_at, observed_ms, total, confirm, queued, notified, "
        "in_progress, succeeded, failed, canceled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        doing);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, o.job_id)
        .Bind(2, core::FormatRfc3339(o.observed_at))
        .Bind(3, static_cast<int64_t>(o.observed_at.time_since_epoch().count()))
        .Bind(4, o.total);
    for (size_t i = 0; i < counts.size(); ++i) stmt->Bind(static_cast<int>(5 + i), counts[i]);
    return stmt->Run();
  });
}

core::Status SqliteStore::AppendEvent(const Event& e) {
  std::string data = e.data_json.empty() ? "{}" : e.data_json;
  if (!nlohmann::json::accept(data)) {
    return core::Status::Invalid(fmt::format(
        "event {} for state file {} has data that is not JSON; pass a JSON value or nothing", e.kind, path_));
  }
  std::string doing = fmt::format("recording event {}", e.kind);
  Event row = e;
  row.data_json = data;
  return Write(doing, [&]() -> core::Status { return InsertEvent(*db_, row, doing); });
}

core::Result<std::vector<Event>> SqliteStore::Events(const std::string& rollout_filter) {
  return ReadEvents(*db_, path_, rollout_filter);
}

core::Result<std::vector<RolloutRecord>> SqliteStore::Rollouts() {
  return ReadRollouts(*db_, path_);
}

// ---------------------------------------------------------------------------
// Import and rename

namespace {

// "known rollouts: a, b, c" (at most 10, then "and N more"), or that there are none.
std::string KnownRollouts(const std::vector<std::string>& names) {
  if (names.empty()) return "it records no rollouts";
  std::string out = "known rollouts: ";
  for (size_t i = 0; i < names.size() && i < 10; ++i) out += (i == 0 ? "" : ", ") + names[i];
  if (names.size() > 10) out += fmt::format(" and {} more", names.size() - 10);
  return out;
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

core::Result<StateCounts> CountRows(const Db& db, const std::string& doing) {
  auto stmt = db.Prepare(
      "SELECT (SELECT count(*) FROM rollouts), (SELECT count(*) FROM attempts), "
      "(SELECT count(*) FROM observations), (SELECT count(*) FROM events)",
      doing);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return StateCounts{stmt->Int(0), stmt->Int(1), stmt->Int(2), stmt->Int(3)};
}

core::Result<std::vector<std::string>> RolloutNames(const Db& db, const std::string& doing) {
  auto stmt = db.Prepare("SELECT name FROM rollouts ORDER BY name", doing);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> names;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return names;
    names.push_back(stmt->Text(0));
  }
}

using nlohmann::ordered_json;

// Reads the fields of one object of an export; the first problem is kept in
// *error and later reads return placeholders, so a record is read straight
// through and checked once.
class Fields {
 public:
  Fields(const ordered_json& object, std::string where, const std::string& source, core::Status* error)
      : object_(object), where_(std::move(where)), source_(source), error_(error) {
    if (!object_.is_object()) Fail("", "must be a JSON object");
  }

  const ordered_json* Get(const char* key, bool nullable) {
    if (!error_->ok() || !object_.is_object()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) {
      Fail(key, "is missing");
      return nullptr;
    }
    if (it->is_null()) {
      if (!nullable) Fail(key, "must not be null");
      return nullptr;
    }
    return &*it;
  }
  std::string Text(const char* key, bool nullable = false, bool required = false) {
    const ordered_json* v = Get(key, nullable);
    if (v == nullptr) return std::string();
    if (!v->is_string()) {
      Fail(key, "must be a string");
      return std::string();
    }
    std::string text = v->get<std::string>();
    if (required && text.empty()) Fail(key, "must not be empty");
    return text;
  }
  std::optional<int64_t> Int(const char* key, int64_t min, bool nullable = false) {
    const ordered_json* v = Get(key, nullable);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) {
      Fail(key, "must be an integer");
      return std::nullopt;
    }
    int64_t n = v->get<int64_t>();
    if (n < min) {
      Fail(key, fmt::format("must be at least {}", min));
      return std::nullopt;
    }
    return n;
  }
  std::optional<core::Time> Time(const char* key, bool nullable = false) {
    const ordered_json* v = Get(key, nullable);
    if (v == nullptr) return std::nullopt;
    auto t = v->is_string() ? core::ParseRfc3339(v->get<std::string>()) : std::nullopt;
    if (!t) Fail(key, "must be an RFC 3339 time");
    return t;
  }
  void Fail(const std::string& key, const std::string& problem) {
    if (!error_->ok()) return;
    std::string place = where_.empty() || key.empty() ? where_ + key : where_ + "." + key;
    if (place.empty()) place = "the file";
    *error_ = core::Status::Invalid(fmt::format(
        "cannot import {}: {} {}; import a file written by 'otaroll state export'", source_, place, problem));
  }

 private:
  const ordered_json& object_;
  std::string where_;
  const std::string& source_;
  core::Status* error_;
};

std::string Rfc(const std::optional<core::Time>& t) {
  return t ? core::FormatRfc3339(*t) : std::string();
}

// Byte offset → "line L, column C" of `text`.
std::string Position(const std::string& text, size_t byte) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("line {}, column {}", line, column);
}

}  // namespace

std::string DescribeCounts(const StateCounts& c) {
  std::vector<std::string> parts;
  if (c.rollouts) parts.push_back(Plural(c.rollouts, "rollout", "rollouts"));
  if (c.attempts) parts.push_back(Plural(c.attempts, "attempt", "attempts"));
  if (c.observations) parts.push_back(Plural(c.observations, "observation", "observations"));
  if (c.events) parts.push_back(Plural(c.events, "event", "events"));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  }
  return out.empty() ? std::string("nothing") : out;
}

core::Result<StateCounts> SqliteStore::Import(const std::string& json_text, const std::string& source) {
  ordered_json doc;
  try {
    doc = ordered_json::parse(json_text);
  } catch (const ordered_json::parse_error& e) {
    return core::Status::Invalid(
        fmt::format("cannot import {}: it is not valid JSON (at {}); import a file written by 'otaroll state export'",
                    source, Position(json_text, e.byte == 0 ? 0 : e.byte - 1)));
  }
  core::Status error;
  Fields top(doc, "", source, &error);
  auto format_version = top.Int("format_version", 1);
  if (!error.ok()) return error;
  if (*format_version != 1) {
    return core::Status::Unsupported(fmt::format(
        "cannot import {}: it has format_version {} and this otaroll reads format_version 1; upgrade otaroll", source,
        *format_version));
  }
  auto schema_version = top.Int("schema_version", 1);
  if (!error.ok()) return error;
  if (*schema_version > kSchemaVersion) {
    return core::Status::Unsupported(fmt::format(
        "cannot import {}: it was exported from schema version {} and this otaroll knows {}; upgrade otaroll", source,
        *schema_version, kSchemaVersion));
  }
  auto list = [&](const char* key) -> const ordered_json* {
    const ordered_json* v = top.Get(key, false);
    if (v != nullptr && !v->is_array()) {
      top.Fail(key, "must be a JSON array");
      return nullptr;
    }
    return v;
  };
  const ordered_json* rollouts = list("rollouts");
  const ordered_json* attempts = list("attempts");
  const ordered_json* observations = list("observations");
  const ordered_json* events = list("events");
  if (!error.ok()) return error;

  // Parse and check everything before touching the file.
  std::vector<RolloutRecord> rollout_rows;
  std::set<std::string> rollout_names;
  for (size_t i = 0; i < rollouts->size(); ++i) {
    Fields f((*rollouts)[i], fmt::format("rollouts[{}]", i), source, &error);
    RolloutRecord r;
    r.name = f.Text("name");
    r.product_key = f.Text("product_key");
    r.firmware_id = f.Text("firmware_id");
    auto first = f.Time("first_seen");
    auto last = f.Time("last_seen");
    if (error.ok() && !core::IsName(r.name)) f.Fail("name", fmt::format("\"{}\" is not a rollout name", r.name));
    if (error.ok() && !rollout_names.insert(r.name).second) {
      f.Fail("name", fmt::format("\"{}\" appears twice", r.name));
    }
    if (!error.ok()) return error;
    r.first_seen = *first;
    r.last_seen = *last;
    rollout_rows.push_back(std::move(r));
  }

  std::vector<Attempt> attempt_rows;
  std::set<int64_t> attempt_ids;
  for (size_t i = 0; i < attempts->size(); ++i) {
    Fields f((*attempts)[i], fmt::format("attempts[{}]", i), source, &error);
    Attempt a;
    auto id = f.Int("id", 1);
    a.intent_id = f.Text("intent_id", false, true);
    a.rollout = f.Text("rollout");
    a.stage = f.Text("stage", false, true);
    auto part = f.Int("part", 0);
    auto parts = f.Int("parts", 1);
    a.spec_hash = f.Text("spec_hash", false, true);
    if (const ordered_json* request = f.Get("request", false)) {
      if (!request->is_object()) f.Fail("request", "must be a JSON object of strings");
      for (const auto& [key, value] : request->items()) {
        if (!error.ok()) break;
        if (!value.is_string()) {
          f.Fail("request." + key, "must be a string");
          break;
        }
        a.request[key] = value.get<std::string>();
      }
    }
    std::string status = f.Text("status");
    auto parsed_status = ParseStatus(status);
    if (error.ok() && !parsed_status) {
      f.Fail("status",
             fmt::format("\"{}\" is not one of pending, created, failed, unknown, superseded, cancelled", status));
    }
    a.job_id = f.Text("job_id", true);
    a.job_created_at = f.Time("job_created_at", true);
    a.job_status = f.Text("job_status", true);
    a.request_id = f.Text("request_id", true);
    a.error_code = f.Text("error_code", true);
    a.error_message = f.Text("error_message", true);
    auto attempt_count = f.Int("attempt_count", 0);
    auto created_at = f.Time("created_at");
    auto updated_at = f.Time("updated_at");
    a.superseded_by = f.Int("superseded_by", 1, true);
    if (error.ok() && !rollout_names.count(a.rollout)) {
      f.Fail("rollout", fmt::format("\"{}\" is not among the rollouts of the file", a.rollout));
    }
    if (error.ok() && *part >= *parts) f.Fail("part", fmt::format("must be less than parts ({})", *parts));
    if (error.ok() && !attempt_ids.insert(*id).second) f.Fail("id", fmt::format("{} appears twice", *id));
    if (!error.ok()) return error;
    a.id = *id;
    a.part = static_cast<int>(*part);
    a.parts = static_cast<int>(*parts);
    a.status = *parsed_status;
    a.attempt_count = static_cast<int>(*attempt_count);
    a.created_at = *created_at;
    a.updated_at = *updated_at;
    if (auto request = RequestJson(a, path_); !request.ok()) return request.status();
    attempt_rows.push_back(std::move(a));
  }
  for (size_t i = 0; i < attempt_rows.size(); ++i) {
    const auto& by = attempt_rows[i].superseded_by;
    if (by && !attempt_ids.count(*by)) {
      Fields(ordered_json::object(), fmt::format("attempts[{}]", i), source, &error)
          .Fail("superseded_by", fmt::format("{} is not the id of an attempt in the file", *by));
      return error;
    }
  }

  const auto& statuses = TaskStatuses();
  std::vector<Observation> observation_rows;
  std::vector<int64_t> observation_ids;
  for (size_t i = 0; i < observations->size(); ++i) {
    Fields f((*observations)[i], fmt::format("observations[{}]", i), source, &error);
    Observation o;
    auto id = f.Int("id", 1);
    o.job_id = f.Text("job_id", false, true);
    auto at = f.Time("observed_at");
    auto total = f.Int("total", 0);
    if (const ordered_json* counts = f.Get("counts", false)) {
      if (!counts->is_object()) f.Fail("counts", "must be a JSON object");
      for (const auto& [key, value] : counts->items()) {
        if (!error.ok()) break;
        if (std::find(statuses.begin(), statuses.end(), key) == statuses.end()) {
          f.Fail("counts", fmt::format("names the unknown task status {}", key));
        } else if (!value.is_number_integer() || value.get<int64_t>() < 0) {
          f.Fail("counts." + key, "must be an integer of at least 0");
        } else {
          o.by_status[key] = value.get<int64_t>();
        }
      }
    }
    if (!error.ok()) return error;
    o.observed_at = *at;
    o.total = *total;
    observation_ids.push_back(*id);
    observation_rows.push_back(std::move(o));
  }

  std::vector<Event> event_rows;
  for (size_t i = 0; i < events->size(); ++i) {
    Fields f((*events)[i], fmt::format("events[{}]", i), source, &error);
    Event e;
    auto seq = f.Int("seq", 1);
    auto at = f.Time("at");
    e.rollout = f.Text("rollout");
    e.stage = f.Text("stage");
    e.attempt_id = f.Int("attempt_id", 1, true);
    e.kind = f.Text("kind", false, true);
    e.message = f.Text("message");
    const ordered_json* data = f.Get("data", true);
    if (error.ok() && e.attempt_id && !attempt_ids.count(*e.attempt_id)) {
      f.Fail("attempt_id", fmt::format("{} is not the id of an attempt in the file", *e.attempt_id));
    }
    if (!error.ok()) return error;
    e.seq = *seq;
    e.at = *at;
    e.data_json =
        data == nullptr ? std::string("{}") : data->dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    event_rows.push_back(std::move(e));
  }

  const std::string doing = "importing " + source;
  // A row the schema refuses (a duplicate id or job id, a status without a
  // job id, ...) names the record rather than blaming otaroll.
  auto refused = [&](const core::Status& s, const std::string& where) {
    if (s.code() != core::Status::Code::kInvalid) return s;
    return core::Status::Invalid(fmt::format(
        "cannot import {}: {} breaks a rule of the state file ({}); import a file written by 'otaroll state export'",
        source, where, sqlite3_errmsg(db_->raw())));
  };
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = CountRows(*db_, doing);
    if (!held.ok()) return held.status();
    if (held->rollouts + held->attempts + held->observations + held->events > 0) {
      return core::Status::Conflict(fmt::format(
          "cannot import {} into state file {}: it already holds {}; import only into a new state file (pass a path "
          "that does not exist yet with --state)",
          source, path_, DescribeCounts(*held)));
    }
    // superseded_by points at later attempts: check references at COMMIT.
    if (auto d = db_->Exec("PRAGMA defer_foreign_keys = ON", doing); !d.ok()) return d;
    for (size_t i = 0; i < rollout_rows.size(); ++i) {
      const auto& r = rollout_rows[i];
      auto stmt = db_->Prepare(
          "INSERT INTO rollouts (name, product_key, firmware_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
          doing);
      if (!stmt.ok()) return stmt.status();
      auto run = stmt->Bind(1, r.name)
                     .Bind(2, r.product_key)
                     .Bind(3, r.firmware_id)
                     .Bind(4, core::FormatRfc3339(r.first_seen))
                     .Bind(5, core::FormatRfc3339(r.last_seen))
                     .Run();
      if (!run.ok()) return refused(run, fmt::format("rollouts[{}]", i));
    }
    for (size_t i = 0; i < attempt_rows.size(); ++i) {
      const auto& a = attempt_rows[i];
      auto request = RequestJson(a, path_);
      if (!request.ok()) return request.status();
      auto stmt = db_->Prepare(
          "INSERT INTO attempts (id, intent_id, rollout, stage, part, parts, spec_hash, request_json, status, "
          "job_id, job_created_at, job_status, request_id, error_code, error_message, attempt_count, created_at, "
          "updated_at, superseded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
          "?16, ?17, ?18, ?19)",
          doing);
      if (!stmt.ok()) return stmt.status();
      auto run = stmt->Bind(1, a.id)
                     .Bind(2, a.intent_id)
                     .Bind(3, a.rollout)
                     .Bind(4, a.stage)
                     .Bind(5, int64_t{a.part})
                     .Bind(6, int64_t{a.parts})
                     .Bind(7, a.spec_hash)
                     .Bind(8, *request)
                     .Bind(9, StatusName(a.status))
                     .BindNullIfEmpty(10, a.job_id)
                     .BindNullIfEmpty(11, Rfc(a.job_created_at))
                     .BindNullIfEmpty(12, a.job_status)
                     .BindNullIfEmpty(13, a.request_id)
                     .BindNullIfEmpty(14, a.error_code)
                     .BindNullIfEmpty(15, a.error_message)
                     .Bind(16, int64_t{a.attempt_count})
                     .Bind(17, core::FormatRfc3339(a.created_at))
                     .Bind(18, core::FormatRfc3339(a.updated_at))
                     .BindOptional(19, a.superseded_by)
                     .Run();
      if (!run.ok()) return refused(run, fmt::format("attempts[{}]", i));
    }
    for (size_t i = 0; i < observation_rows.size(); ++i) {
      const auto& o = observation_rows[i];
      auto stmt = db_->Prepare(
          "INSERT INTO observations (id, job_id, observed_at, observed_ms, total, confirm, queued, notified, "
          "in_progress, succeeded, failed, canceled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
          doing);
      if (!stmt.ok()) return stmt.status();
      stmt->Bind(1, observation_ids[i])
          .Bind(2, o.job_id)
          .Bind(3, core::FormatRfc3339(o.observed_at))
          .Bind(4, static_cast<int64_t>(o.observed_at.time_since_epoch().count()))
          .Bind(5, o.total);
      for (size_t k = 0; k < statuses.size(); ++k) stmt->Bind(static_cast<int>(6 + k), o.Count(statuses[k]));
      if (auto run = stmt->Run(); !run.ok()) return refused(run, fmt::format("observations[{}]", i));
    }
    for (size_t i = 0; i < event_rows.size(); ++i) {
      const auto& e = event_rows[i];
      auto stmt = db_->Prepare(
          "INSERT INTO events (seq, at, rollout, stage, attempt_id, kind, message, data_json) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
          doing);
      if (!stmt.ok()) return stmt.status();
      auto run = stmt->Bind(1, e.seq)
                     .Bind(2, core::FormatRfc3339(e.at))
                     .Bind(3, e.rollout)
                     .Bind(4, e.stage)
                     .BindOptional(5, e.attempt_id)
                     .Bind(6, e.kind)
                     .Bind(7, e.message)
                     .Bind(8, e.data_json)
                     .Run();
      if (!run.ok()) return refused(run, fmt::format("events[{}]", i));
    }
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return StateCounts{static_cast<int64_t>(rollout_rows.size()), static_cast<int64_t>(attempt_rows.size()),
                     static_cast<int64_t>(observation_rows.size()), static_cast<int64_t>(event_rows.size())};
}

core::Result<int64_t> SqliteStore::RenameRollout(const std::string& from, const std::string& to, core::Time now) {
  if (!core::IsName(to)) {
    return core::Status::Invalid(fmt::format(
        "cannot rename rollout {} to \"{}\" in state file {}: that is not a rollout name; use 1 to 63 lowercase "
        "letters, digits, '-' and '.', starting and ending with a letter or digit",
        from, to, path_));
  }
  const std::string doing = fmt::format("renaming rollout {} to {}", from, to);
  int64_t moved = 0;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto names = RolloutNames(*db_, doing);
    if (!names.ok()) return names.status();
    if (std::find(names->begin(), names->end(), from) == names->end()) {
      return core::Status::NotFound(
          fmt::format("state file {} has no rollout {} to rename; {}", path_, from, KnownRollouts(*names)));
    }
    if (std::find(names->begin(), names->end(), to) != names->end()) {
      return core::Status::Conflict(fmt::format(
          "cannot rename rollout {} to {} in state file {}: a rollout {} is already recorded; choose another name",
          from, to, path_, to));
    }
    auto count = db_->Prepare("SELECT count(*) FROM attempts WHERE rollout = ?1", doing);
    if (!count.ok()) return count.status();
    auto row = count->Bind(1, from).Step();
    if (!row.ok()) return row.status();
    moved = count->Int(0);
    // Attempts follow through ON UPDATE CASCADE.
    auto rename = db_->Prepare("UPDATE rollouts SET name = ?2 WHERE name = ?1", doing);
    if (!rename.ok()) return rename.status();
    if (auto r = rename->Bind(1, from).Bind(2, to).Run(); !r.ok()) return r;
    auto events = db_->Prepare("UPDATE events SET rollout = ?2 WHERE rollout = ?1", doing);
    if (!events.ok()) return events.status();
    if (auto r = events->Bind(1, from).Bind(2, to).Run(); !r.ok()) return r;
    Event e;
    e.at = now;
    e.rollout = to;
    e.kind = "renamed";
    e.message = fmt::format("rollout {} was renamed to {} (otaroll state mv)", from, to);
    e.data_json = ordered_json{{"from", from}, {"to", to}}.dump();
    return InsertEvent(*db_, e, doing);
  });
  if (!s.ok()) return s;
  return moved;
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
