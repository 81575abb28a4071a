// The lease row of a SQLite state file; the rules are lease.h's.
#include <fmt/format.h>

#include "state/db.h"
#include "state/rows.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

core::Result<std::optional<Lease>> ReadLeaseRow(const Db& db, const std::string& path, const std::string& doing) {
  auto stmt = db.Prepare(
      "SELECT holder_host, holder_pid, started_at, heartbeat_at, ttl_seconds, token, epoch FROM lease WHERE id = 1",
      doing);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Lease>();
  Lease l;
  l.host = stmt->Text(0);
  l.pid = stmt->Int(1);
  auto started = TimeColumn(*stmt, 2, path, "the lease's started_at");
  if (!started.ok()) return started.status();
  auto beat = TimeColumn(*stmt, 3, path, "the lease's heartbeat_at");
  if (!beat.ok()) return beat.status();
  l.started_at = *started;
  l.heartbeat_at = *beat;
  l.ttl_seconds = stmt->Int(4);
  l.token = stmt->Text(5);
  l.epoch = stmt->Int(6);
  return std::optional<Lease>(std::move(l));
}

core::Result<LeaseAcquired> SqliteStore::AcquireLease(const Lease& me, core::Time now) {
  const std::string doing = "taking the lease";
  LeaseAcquired got;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    auto last = db_->QueryInt("SELECT value FROM lease_epoch WHERE id = 1", doing);
    if (!last.ok()) return last.status();
    auto decided = DecideAcquire(*held, me, now, path_, *last);
    if (!decided.ok()) return decided.status();
    got = std::move(*decided);
    auto stmt = db_->Prepare(
        "INSERT OR REPLACE INTO lease (id, holder_host, holder_pid, started_at, heartbeat_at, ttl_seconds, token, "
        "epoch) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        doing);
    if (!stmt.ok()) return stmt.status();
    auto epoch = db_->Prepare("UPDATE lease_epoch SET value = ?1 WHERE id = 1", doing);
    if (!epoch.ok()) return epoch.status();
    if (auto r = epoch->Bind(1, got.lease.epoch).Run(); !r.ok()) return r;
    return stmt->Bind(1, got.lease.host)
        .Bind(2, got.lease.pid)
        .Bind(3, core::FormatRfc3339(got.lease.started_at))
        .Bind(4, core::FormatRfc3339(got.lease.heartbeat_at))
        .Bind(5, got.lease.ttl_seconds)
        .Bind(6, got.lease.token)
        .Bind(7, got.lease.epoch)
        .Run();
  });
  if (!s.ok()) return s;
  return got;
}

core::Status SqliteStore::Heartbeat(const std::string& token, core::Time now) {
  const std::string doing = "renewing the lease";
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare("UPDATE lease SET heartbeat_at = ?2 WHERE id = 1 AND token = ?1", doing);
    if (!stmt.ok()) return stmt.status();
    if (auto r = stmt->Bind(1, token).Bind(2, core::FormatRfc3339(now)).Run(); !r.ok()) return r;
    if (db_->Changes() == 1) return core::Status::Ok();
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    return LeaseLost(*held, path_);
  });
}

core::Status SqliteStore::ReleaseLease(const std::string& token) {
  const std::string doing = "releasing the lease";
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare("DELETE FROM lease WHERE id = 1 AND token = ?1", doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, token).Run();
  });
}

core::Result<std::optional<Lease>> SqliteStore::ReadLease() {
  return ReadLeaseRow(*db_, path_, "reading the lease");
}

core::Result<std::optional<Lease>> SqliteStore::ForceUnlock(bool force) {
  const std::string doing = "removing the lease";
  std::optional<Lease> removed;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = ReadLeaseRow(*db_, path_, doing);
    if (!held.ok()) return held.status();
    if (auto refused = CheckForceUnlock(*held, force, path_); !refused.ok()) return refused;
    removed = *held;
    return db_->Exec("DELETE FROM lease", doing);
  });
  if (!s.ok()) return s;
  return removed;
}

}  // namespace otaroll::state
