#include "state/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "state/db.h"
#include "state/schema.h"

namespace otaroll::state {

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kLoadTries = 5;

// Transport parameters of one call, never part of a job's specification; two
// are derived from the secret.
constexpr std::string_view kForbiddenRequestKeys[] = {"AccessKeyId", "AccessKeySecret", "Signature",
                                                      "SignatureNonce"};

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

core::Status Damaged(const std::string& path, const std::string& detail) {
  return core::Status::Corruption(
      fmt::format("state file {} is damaged ({}); restore it from a backup", path, detail));
}

core::Result<core::Time> TimeColumn(const Stmt& row, int col, const std::string& path, const std::string& what) {
  std::string text = row.Text(col);
  auto t = core::ParseRfc3339(text);
  if (!t) return Damaged(path, fmt::format("{} is \"{}\", not an RFC 3339 time", what, text));
  return *t;
}

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

// Everything below runs inside the caller's read transaction.
core::Result<Snapshot> ReadState(const Db& db, const std::string& path) {
  auto schema = CheckSchema(db);
  if (!schema.ok()) return schema.status();
  Snapshot snap;
  snap.exists = true;
  snap.source = path;
  if (schema->state == SchemaState::kEmpty) return snap;
  if (schema->state == SchemaState::kOlder) {
    return core::Status::Unsupported(fmt::format(
        "state file {} has schema version {} and this otaroll reads version {}; run otaroll apply or otaroll "
        "daemon once to upgrade it",
        path, schema->version, kSchemaVersion));
  }

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

// One consistent read: a deferred transaction holds a single snapshot (WAL)
// or a shared lock (rollback journal) from the first read to the end.
core::Result<Snapshot> ReadInTransaction(const Db& db, const std::string& path) {
  if (auto s = db.Exec("BEGIN", "starting a read"); !s.ok()) return s;
  auto snap = ReadState(db, path);
  db.Exec(snap.ok() ? "COMMIT" : "ROLLBACK", "ending a read");
  return snap;
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

core::Result<Snapshot> ReadOnce(const std::string& path, bool immutable) {
  auto db = Db::Open(SqliteUri(path, immutable ? "mode=ro&immutable=1" : "mode=ro"),
                     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, path);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout((*db)->raw(), kBusyTimeoutMs);
  return ReadInTransaction(**db, path);
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

}  // namespace

core::Result<Snapshot> LoadSnapshot(const std::string& path) {
  const std::string wal = path + "-wal";
  for (int attempt = 1;; ++attempt) {
    struct stat before;
    if (::stat(path.c_str(), &before) != 0) {
      if (errno == ENOENT) {
        Snapshot missing;
        missing.source = path;
        return missing;
      }
      return core::Status::IOError(fmt::format("cannot read state file {} ({}); check its permissions", path,
                                               std::strerror(errno)));
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
    core::Result<Snapshot> snap = ReadOnce(path, immutable);
    if (immutable) {
      struct stat after;
      if (::stat(path.c_str(), &after) == 0 && SameFile(before, after) && !Exists(wal)) return snap;
    } else if (snap.ok() || Exists(wal) == had_wal) {
      return snap.ok() ? snap : ExplainReadFailure(path, snap.status());
    }
    if (attempt == kLoadTries) {
      return core::Status::Conflict(
          fmt::format("state file {} kept changing while it was read; retry in a moment", path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
  }
}

// ---------------------------------------------------------------------------

Transaction::Transaction(Transaction&& other) noexcept : store_(other.store_) { other.store_ = nullptr; }

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
      return core::Status::IOError(fmt::format("cannot create directory {} for state file {} ({}); check its "
                                               "permissions",
                                               parent.string(), path, ec.message()));
    }
  }
  auto opened = Db::Open(SqliteUri(path, "mode=rwc"),
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, path);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<Db> db = std::move(*opened);
  sqlite3_busy_timeout(db->raw(), kBusyTimeoutMs);

  // Identify the file before anything writes to it: switching a foreign
  // database to WAL would already modify it.
  if (auto info = CheckSchema(*db); !info.ok()) return info.status();

  std::string mode;
  {
    auto stmt = db->Prepare("PRAGMA journal_mode = WAL", "turning on WAL journaling");
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (*row) mode = stmt->Text(0);
  }  // finalized here: an unfinished statement would make COMMIT fail as busy
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
    return core::Status::Invalid(fmt::format(
        "a transaction is already open on state file {}; commit it before beginning another", path_));
  }
  if (auto s = db_->Exec("BEGIN IMMEDIATE", "beginning a transaction"); !s.ok()) return s;
  in_transaction_ = true;
  return Transaction(this);
}

template <typename F>
core::Status SqliteStore::Write(const std::string& doing, F&& body) {
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
      return core::Status::Invalid(
          fmt::format("cannot mark attempt {} superseded by attempt {} in state file {}: {}", old_id, new_id,
                      path_, why));
    };
    if (old_id == new_id) return refuse("an attempt cannot replace itself");
    if (old_row->rollout != new_row->rollout || old_row->stage != new_row->stage) {
      return refuse(fmt::format("they belong to different stages ({}/{} and {}/{})", old_row->rollout,
                                old_row->stage, new_row->rollout, new_row->stage));
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
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare(
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
        .Bind(7, data)
        .Run();
  });
}

core::Result<std::vector<Event>> SqliteStore::Events(const std::string& rollout_filter) {
  auto stmt = db_->Prepare(
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
    auto at = TimeColumn(*stmt, 1, path_, fmt::format("event {}", e.seq));
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

core::Result<std::vector<RolloutRecord>> SqliteStore::Rollouts() {
  auto stmt = db_->Prepare(
      "SELECT name, product_key, firmware_id, first_seen, last_seen FROM rollouts ORDER BY name", "reading rollouts");
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
    auto first = TimeColumn(*stmt, 3, path_, "rollout " + r.name + " first_seen");
    if (!first.ok()) return first.status();
    auto last = TimeColumn(*stmt, 4, path_, "rollout " + r.name + " last_seen");
    if (!last.ok()) return last.status();
    r.first_seen = *first;
    r.last_seen = *last;
    rollouts.push_back(std::move(r));
  }
}

}  // namespace otaroll::state
