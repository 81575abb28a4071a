#include "state/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "state/db.h"
#include "state/rows.h"
#include "state/schema.h"

namespace otaroll::state {

core::Status Damaged(const std::string& path, const std::string& detail) {
  return core::Status::Corruption(fmt::format("state file {} is damaged ({}); restore it from a backup", path, detail));
}

// ---------------------------------------------------------------------------

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

core::Result<int64_t> SqliteStore::Serial() {
  return ReadSerial(*db_, path_);  // one statement: consistent on its own
}

core::Result<std::unique_ptr<Store>> SqliteStore::OpenAnother() {
  auto other = Open(path_);
  if (!other.ok()) return other.status();
  return std::unique_ptr<Store>(std::move(*other));
}

core::Status SqliteStore::BeginTransaction(Durability durability) {
  if (in_transaction_) {
    return core::Status::Invalid(
        fmt::format("a transaction is already open on state file {}; commit it before beginning another", path_));
  }
  // In WAL mode, synchronous = NORMAL commits without syncing the log; the
  // next FULL commit syncs it, this transaction's frames with it.
  if (durability == Durability::kLazy) {
    if (auto s = db_->Exec("PRAGMA synchronous = NORMAL", "beginning a transaction"); !s.ok()) return s;
    lazy_ = true;
  }
  if (auto s = db_->Exec("BEGIN IMMEDIATE", "beginning a transaction"); !s.ok()) {
    EndLazy();
    return s;
  }
  in_transaction_ = true;
  return core::Status::Ok();
}

int64_t SqliteStore::SyncLevel() const {
  auto level = db_->QueryInt("PRAGMA synchronous", "reading the sync level");
  return level.ok() ? *level : -1;
}

void SqliteStore::EndLazy() {
  if (!lazy_) return;
  lazy_ = false;
  db_->Exec("PRAGMA synchronous = FULL", "ending a transaction");  // fails only on a closed connection
}

core::Status SqliteStore::CommitTransaction() {
  // Some errors (disk full, I/O) make SQLite roll back the whole transaction.
  if (sqlite3_get_autocommit(db_->raw())) {
    in_transaction_ = false;
    EndLazy();
    return core::Status::IOError("a state transaction was rolled back after an earlier error; retry");
  }
  if (auto s = db_->Exec("COMMIT", "committing a transaction"); !s.ok()) {
    RollbackTransaction();
    return s;
  }
  in_transaction_ = false;
  EndLazy();
  return core::Status::Ok();
}

void SqliteStore::RollbackTransaction() {
  db_->Exec("ROLLBACK", "rolling back a transaction");
  in_transaction_ = false;
  EndLazy();
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
  if (auto checked = CheckRequest(a, path_); !checked.ok()) return checked;
  std::string doing = fmt::format("recording attempt {} of {}/{}", a.intent_id, a.rollout, a.stage);
  int64_t id = 0;
  core::Status s = Write(doing, [&]() -> core::Status {
    if (a.status == AttemptStatus::kPending) {
      if (auto fenced = CheckIntent(a); !fenced.ok()) return fenced;
    }
    if (auto r = InsertAttemptRow(*db_, a, /*with_id=*/false, doing); !r.ok()) return r;
    id = db_->LastInsertId();
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

core::Status SqliteStore::CheckIntent(const Attempt& a) {
  const std::string doing =
      fmt::format("checking the lease before attempt {} of {}/{}", a.intent_id, a.rollout, a.stage);
  if (!fence().empty()) {
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    if (auto s = CheckFence(*held, fence(), fence_epoch(), a, path_); !s.ok()) return s;
  }
  auto stmt = db_->Prepare(
      "SELECT intent_id, status FROM attempts WHERE rollout = ?1 AND stage = ?2 AND part = ?3 AND spec_hash = ?4 "
      "AND status IN ('pending', 'unknown', 'created') LIMIT 1",
      doing);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, a.rollout).Bind(2, a.stage).Bind(3, int64_t{a.part}).Bind(4, a.spec_hash);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (*row) return LiveIntentConflict(a, stmt->Text(0), stmt->Text(1));
  return core::Status::Ok();
}

core::Status SqliteStore::UpdateAttempt(const Attempt& a) {
  if (auto checked = CheckRequest(a, path_); !checked.ok()) return checked;
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
        .Bind(18, a.request)
        .Bind(19, core::FormatRfc3339(a.created_at));
    if (auto r = stmt->Run(); !r.ok()) return r;
    if (db_->Changes() == 1) return core::Status::Ok();
    auto exists = db_->Prepare("SELECT 1 FROM attempts WHERE id = ?1", doing);
    if (!exists.ok()) return exists.status();
    auto row = exists->Bind(1, a.id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NoSuchAttempt(a.id, path_);
    return IntentChanged(a.id, path_);
  });
}

core::Status SqliteStore::MarkSuperseded(int64_t old_id, int64_t new_id) {
  std::string doing = fmt::format("marking attempt {} superseded by attempt {}", old_id, new_id);
  return Write(doing, [&]() -> core::Status {
    auto fetch = [&](int64_t id) -> core::Result<Attempt> {
      auto stmt = db_->Prepare("SELECT rollout, stage, status FROM attempts WHERE id = ?1", doing);
      if (!stmt.ok()) return stmt.status();
      auto row = stmt->Bind(1, id).Step();
      if (!row.ok()) return row.status();
      if (!*row) return NoSuchAttempt(id, path_);
      auto status = ParseStatus(stmt->Text(2));
      if (!status) return Damaged(path_, fmt::format("attempt {} has status \"{}\"", id, stmt->Text(2)));
      Attempt a;
      a.id = id;
      a.rollout = stmt->Text(0);
      a.stage = stmt->Text(1);
      a.status = *status;
      return a;
    };
    auto old_row = fetch(old_id);
    if (!old_row.ok()) return old_row.status();
    auto new_row = fetch(new_id);
    if (!new_row.ok()) return new_row.status();
    if (auto s = CheckSupersede(*old_row, *new_row, path_); !s.ok()) return s;
    auto stmt = db_->Prepare(
        "UPDATE attempts SET status = 'superseded', superseded_by = ?2, "
        "updated_at = (SELECT updated_at FROM attempts WHERE id = ?2) WHERE id = ?1",
        doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, old_id).Bind(2, new_id).Run();
  });
}

core::Status SqliteStore::AddObservation(const Observation& o) {
  if (auto s = CheckObservation(o, path_); !s.ok()) return s;
  std::string doing = fmt::format("recording an observation of job {}", o.job_id);
  return Write(doing, [&]() -> core::Status { return InsertObservationRow(*db_, o, std::nullopt, doing); });
}

core::Status SqliteStore::AppendEvent(const Event& e) {
  auto data = EventData(e, path_);
  if (!data.ok()) return data.status();
  std::string doing = fmt::format("recording event {}", e.kind);
  Event row = e;
  row.data_json = *data;
  return Write(doing, [&]() -> core::Status { return InsertEvent(*db_, row, doing); });
}

core::Result<std::vector<Event>> SqliteStore::RecentEvents(const std::string& rollout_filter, size_t limit) {
  return ReadEvents(*db_, path_, rollout_filter, limit);
}

core::Result<std::vector<Event>> SqliteStore::Events(const std::string& rollout_filter) {
  return ReadEvents(*db_, path_, rollout_filter);
}

core::Result<std::vector<RolloutRecord>> SqliteStore::Rollouts() {
  return ReadRollouts(*db_, path_);
}

}  // namespace otaroll::state
