// The PostgreSQL state: opening, transactions and the history writers.
// Reads, the lease and the outbox are in pg_read.cc.
#include "state/pg_store.h"

#include <fmt/format.h>

#include "state/checks.h"
#include "state/columns.h"
#include "state/pg_schema.h"

namespace otaroll::state {

namespace {

std::optional<std::string> Text(const std::string& s) {
  return s;
}
std::optional<std::string> NullIfEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}
std::optional<std::string> Int(int64_t v) {
  return std::to_string(v);
}
std::optional<std::string> Optional(const std::optional<int64_t>& v) {
  return v ? Int(*v) : std::nullopt;
}
std::optional<std::string> Time(core::Time t) {
  return core::FormatRfc3339(t);
}

}  // namespace

PgStore::PgStore(std::unique_ptr<PgDb> db, std::string uri)
    : db_(std::move(db)), uri_(std::move(uri)), where_(db_->display()) {}

PgStore::~PgStore() = default;

core::Result<std::unique_ptr<PgStore>> PgStore::Open(const std::string& uri) {
  auto db = PgDb::Connect(uri);
  if (!db.ok()) return db.status();
  if (auto s = MigratePg(**db); !s.ok()) return s;
  return std::unique_ptr<PgStore>(new PgStore(std::move(*db), uri));
}

core::Result<std::unique_ptr<Store>> PgStore::OpenAnother() {
  // The schema is current: this handle's Open made it so. Another handle
  // (each apply's heartbeat, the status page's) only connects.
  auto db = PgDb::Connect(uri_);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Store>(new PgStore(std::move(*db), uri_));
}

core::Result<PgRows> PgStore::Exec(std::string_view sql, const Params& params, const std::string& doing) {
  if (!in_transaction_ && !db_->ok() && !db_->Reconnect()) {
    return core::Status::Unavailable(
        fmt::format("{}: cannot connect again while {}; check that the server is up", where_, doing));
  }
  return db_->Exec(sql, params, doing);
}

core::Status PgStore::BeginTransaction(Durability durability) {
  if (in_transaction_) {
    return core::Status::Invalid(
        fmt::format("a transaction is already open on {}; commit it before beginning another", where_));
  }
  if (auto s = Exec("BEGIN", {}, "beginning a transaction"); !s.ok()) return s.status();
  in_transaction_ = true;
  // A lazy commit returns before the WAL reaches disk (store.h kLazy).
  if (durability == Durability::kLazy) {
    if (auto s = Exec("SET LOCAL synchronous_commit = off", {}, "beginning a transaction"); !s.ok()) {
      RollbackTransaction();
      return s.status();
    }
  }
  return core::Status::Ok();
}

core::Status PgStore::CommitTransaction() {
  in_transaction_ = false;
  auto s = db_->Exec("COMMIT", {}, "committing a transaction");
  if (!s.ok()) return s.status();
  // COMMIT of a transaction that failed earlier rolls it back and says so.
  if (s->Command() == "ROLLBACK") {
    return core::Status::IOError(
        fmt::format("a transaction on {} was rolled back after an earlier error; retry", where_));
  }
  return core::Status::Ok();
}

void PgStore::RollbackTransaction() {
  in_transaction_ = false;
  if (db_->ok()) (void)db_->Exec("ROLLBACK", {}, "rolling back a transaction");
}

core::Status PgStore::Write(const std::string& doing, const std::function<core::Status()>& body) {
  if (in_transaction_) return body();
  if (auto s = Exec("BEGIN", {}, doing); !s.ok()) return s.status();
  in_transaction_ = true;
  core::Status s = body();
  if (!s.ok()) {
    RollbackTransaction();
    return s;
  }
  return CommitTransaction();
}

core::Status PgStore::Read(const std::string& doing, const std::function<core::Status()>& body) {
  if (in_transaction_) return body();
  if (auto s = Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, doing); !s.ok()) return s.status();
  in_transaction_ = true;
  core::Status s = body();
  in_transaction_ = false;
  if (db_->ok()) (void)db_->Exec(s.ok() ? "COMMIT" : "ROLLBACK", {}, doing);
  return s;
}

core::Status PgStore::UpsertRollout(const std::string& name, const std::string& product_key,
                                    const std::string& firmware_id, core::Time now) {
  const std::string doing = fmt::format("recording rollout {}", name);
  return Write(doing, [&]() -> core::Status {
    return Exec(
               "INSERT INTO rollouts (name, product_key, firmware_id, first_seen, last_seen) VALUES ($1, $2, $3, "
               "$4, $4) ON CONFLICT (name) DO UPDATE SET product_key = excluded.product_key, "
               "firmware_id = excluded.firmware_id, last_seen = excluded.last_seen",
               {name, product_key, firmware_id, Time(now)}, doing)
        .status();
  });
}

namespace {

constexpr const char* kInsertAttempt =
    "INSERT INTO attempts (intent_id, rollout, stage, part, parts, spec_hash, request_json, status, job_id, "
    "job_created_at, job_status, request_id, error_code, error_message, attempt_count, created_at, updated_at, "
    "superseded_by{}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18{}) "
    "RETURNING id";

std::vector<std::optional<std::string>> AttemptValues(const Attempt& a) {
  return {a.intent_id,
          a.rollout,
          a.stage,
          Int(a.part),
          Int(a.parts),
          a.spec_hash,
          a.request,
          Text(StatusName(a.status)),
          NullIfEmpty(a.job_id),
          a.job_created_at ? Time(*a.job_created_at) : std::nullopt,
          NullIfEmpty(a.job_status),
          NullIfEmpty(a.request_id),
          NullIfEmpty(a.error_code),
          NullIfEmpty(a.error_message),
          Int(a.attempt_count),
          Time(a.created_at),
          Time(a.updated_at),
          Optional(a.superseded_by)};
}

}  // namespace

// Import's writers (pg_read.cc) keep the ids they are given.
core::Status PgInsertAttemptWithId(PgDb& db, const Attempt& a, const std::string& doing) {
  auto values = AttemptValues(a);
  values.push_back(Int(a.id));
  return db.Exec(fmt::format(kInsertAttempt, ", id", ", $19"), values, doing).status();
}

core::Status PgInsertObservation(PgDb& db, const Observation& o, std::optional<int64_t> id, const std::string& doing) {
  std::vector<std::optional<std::string>> values = {
      o.job_id, Time(o.observed_at), Int(static_cast<int64_t>(o.observed_at.time_since_epoch().count())), Int(o.total)};
  for (const auto& status : TaskStatuses()) values.push_back(Int(o.Count(status)));
  values.push_back(Optional(id));
  return db
      .Exec(
          "INSERT INTO observations (job_id, observed_at, observed_ms, total, confirm, queued, notified, "
          "in_progress, succeeded, failed, canceled, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
          "coalesce($12::bigint, nextval(pg_get_serial_sequence('observations', 'id'))))",
          values, doing)
      .status();
}

core::Status PgInsertEvent(PgDb& db, const Event& e, std::optional<int64_t> seq, const std::string& doing) {
  return db
      .Exec(
          "INSERT INTO events (at, rollout, stage, attempt_id, kind, message, data_json, seq) VALUES ($1, $2, $3, "
          "$4, $5, $6, $7, coalesce($8::bigint, nextval(pg_get_serial_sequence('events', 'seq'))))",
          {Time(e.at), e.rollout, e.stage, Optional(e.attempt_id), e.kind, e.message, e.data_json, Optional(seq)},
          doing)
      .status();
}

core::Result<int64_t> PgStore::InsertAttempt(const Attempt& a) {
  if (auto checked = CheckRequest(a, where_); !checked.ok()) return checked;
  const std::string doing = fmt::format("recording attempt {} of {}/{}", a.intent_id, a.rollout, a.stage);
  int64_t id = 0;
  core::Status s = Write(doing, [&]() -> core::Status {
    if (a.status == AttemptStatus::kPending) {
      if (auto fenced = CheckIntent(a); !fenced.ok()) return fenced;
    }
    auto row = Exec(fmt::format(kInsertAttempt, "", ""), AttemptValues(a), doing);
    if (!row.ok()) return row.status();
    id = row->Int(0, 0);
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

core::Status PgStore::CheckIntent(const Attempt& a) {
  const std::string doing =
      fmt::format("checking the lease before attempt {} of {}/{}", a.intent_id, a.rollout, a.stage);
  // Intent writers one at a time: the live-intent check below and the
  // insert after it are not raced by another process's.
  if (auto s = Exec("SELECT value FROM serial WHERE id = 1 FOR UPDATE", {}, doing); !s.ok()) return s.status();
  if (!fence().empty()) {
    auto held = ReadLeaseRow(doing, /*for_share=*/true);
    if (!held.ok()) return held.status();
    if (auto s = CheckFence(*held, fence(), fence_epoch(), a, where_); !s.ok()) return s;
    auto now = DatabaseNow();
    if (!now.ok()) return now.status();
    const Lease& l = **held;
    const auto left = l.heartbeat_at + std::chrono::seconds(l.ttl_seconds) - *now;
    const auto margin = SafetyMargin(l.ttl_seconds);
    if (left < margin) {
      return core::Status::Conflict(
          fmt::format("the lease on {} has {} ms left by the database's clock, less than its safety margin ({} ms; its "
                      "heartbeats are late); no intent was written for {}/{} and nothing was created; the run stopped",
                      where_, std::chrono::duration_cast<std::chrono::milliseconds>(left).count(), margin.count(),
                      a.rollout, a.stage));
    }
  }
  auto live = Exec(
      "SELECT intent_id, status FROM attempts WHERE rollout = $1 AND stage = $2 AND part = $3 AND spec_hash = $4 "
      "AND status IN ('pending', 'unknown', 'created') LIMIT 1",
      {a.rollout, a.stage, Int(a.part), a.spec_hash}, doing);
  if (!live.ok()) return live.status();
  if (live->size() > 0) return LiveIntentConflict(a, live->Text(0, 0), live->Text(0, 1));
  return core::Status::Ok();
}

core::Status PgStore::UpdateAttempt(const Attempt& a) {
  if (auto checked = CheckRequest(a, where_); !checked.ok()) return checked;
  const std::string doing = fmt::format("updating attempt {} ({})", a.id, a.intent_id);
  return Write(doing, [&]() -> core::Status {
    auto updated = Exec(
        "UPDATE attempts SET status = $2, job_id = $3, job_created_at = $4, job_status = $5, request_id = $6, "
        "error_code = $7, error_message = $8, attempt_count = $9, updated_at = $10, superseded_by = $11 "
        "WHERE id = $1 AND intent_id = $12 AND rollout = $13 AND stage = $14 AND part = $15 AND parts = $16 "
        "AND spec_hash = $17 AND request_json = $18 AND created_at = $19",
        {Int(a.id), Text(StatusName(a.status)), NullIfEmpty(a.job_id),
         a.job_created_at ? Time(*a.job_created_at) : std::nullopt, NullIfEmpty(a.job_status),
         NullIfEmpty(a.request_id), NullIfEmpty(a.error_code), NullIfEmpty(a.error_message), Int(a.attempt_count),
         Time(a.updated_at), Optional(a.superseded_by), a.intent_id, a.rollout, a.stage, Int(a.part), Int(a.parts),
         a.spec_hash, a.request, Time(a.created_at)},
        doing);
    if (!updated.ok()) return updated.status();
    if (updated->Affected() == 1) return core::Status::Ok();
    auto exists = Exec("SELECT 1 FROM attempts WHERE id = $1", {Int(a.id)}, doing);
    if (!exists.ok()) return exists.status();
    if (exists->size() == 0) return NoSuchAttempt(a.id, where_);
    return IntentChanged(a.id, where_);
  });
}

core::Status PgStore::MarkSuperseded(int64_t old_id, int64_t new_id) {
  const std::string doing = fmt::format("marking attempt {} superseded by attempt {}", old_id, new_id);
  return Write(doing, [&]() -> core::Status {
    auto fetch = [&](int64_t id) -> core::Result<Attempt> {
      auto row = Exec("SELECT rollout, stage, status FROM attempts WHERE id = $1", {Int(id)}, doing);
      if (!row.ok()) return row.status();
      if (row->size() == 0) return NoSuchAttempt(id, where_);
      auto status = ParseStatus(row->Text(0, 2));
      if (!status) return Damaged(where_, fmt::format("attempt {} has status \"{}\"", id, row->Text(0, 2)));
      Attempt a;
      a.id = id;
      a.rollout = row->Text(0, 0);
      a.stage = row->Text(0, 1);
      a.status = *status;
      return a;
    };
    auto old_row = fetch(old_id);
    if (!old_row.ok()) return old_row.status();
    auto new_row = fetch(new_id);
    if (!new_row.ok()) return new_row.status();
    if (auto s = CheckSupersede(*old_row, *new_row, where_); !s.ok()) return s;
    return Exec(
               "UPDATE attempts SET status = 'superseded', superseded_by = $2, "
               "updated_at = (SELECT updated_at FROM attempts WHERE id = $2) WHERE id = $1",
               {Int(old_id), Int(new_id)}, doing)
        .status();
  });
}

core::Status PgStore::AddObservation(const Observation& o) {
  if (auto s = CheckObservation(o, where_); !s.ok()) return s;
  const std::string doing = fmt::format("recording an observation of job {}", o.job_id);
  return Write(doing, [&]() -> core::Status { return PgInsertObservation(*db_, o, std::nullopt, doing); });
}

core::Status PgStore::AppendEvent(const Event& e) {
  auto data = EventData(e, where_);
  if (!data.ok()) return data.status();
  const std::string doing = fmt::format("recording event {}", e.kind);
  Event row = e;
  row.data_json = *data;
  return Write(doing, [&]() -> core::Status { return PgInsertEvent(*db_, row, std::nullopt, doing); });
}

}  // namespace otaroll::state
