// The lease row of a PostgreSQL state; the rules are lease.h's, the clock is
// the database's.
#include <fmt/format.h>

#include "state/columns.h"
#include "state/pg_store.h"

namespace otaroll::state {

core::Result<core::Time> PgStore::DatabaseNow() {
  auto row = Exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", {}, "reading the database's clock");
  if (!row.ok()) return row.status();
  return core::Time(std::chrono::milliseconds(row->Int(0, 0)));
}

core::Result<std::optional<Lease>> PgStore::ReadLeaseRow(const std::string& doing, bool for_share) {
  auto rows = Exec(fmt::format("SELECT holder_host, holder_pid, started_at, heartbeat_ms, ttl_seconds, token, epoch "
                               "FROM lease WHERE id = 1{}",
                               for_share ? " FOR SHARE" : ""),
                   {}, doing);
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return std::optional<Lease>();
  const PgRow row{*rows, 0};
  Lease l;
  l.host = row.Text(0);
  l.pid = row.Int(1);
  auto started = TimeColumn(row, 2, where_, "the lease's started_at");
  if (!started.ok()) return started.status();
  l.started_at = *started;
  l.heartbeat_at = core::Time(std::chrono::milliseconds(row.Int(3)));
  l.ttl_seconds = row.Int(4);
  l.token = row.Text(5);
  l.epoch = row.Int(6);
  return std::optional<Lease>(std::move(l));
}

core::Result<LeaseAcquired> PgStore::AcquireLease(const Lease& me, core::Time /*now: the database's instead*/) {
  const std::string doing = "taking the lease";
  LeaseAcquired got;
  core::Status s = Write(doing, [&]() -> core::Status {
    // Takers go one at a time: the epoch row is locked to the end.
    auto last = Exec("SELECT lease_epoch FROM otaroll_meta WHERE id = 1 FOR UPDATE", {}, doing);
    if (!last.ok()) return last.status();
    auto held = ReadLeaseRow(doing, /*for_share=*/false);
    if (!held.ok()) return held.status();
    auto now = DatabaseNow();
    if (!now.ok()) return now.status();
    auto decided = DecideAcquire(*held, me, *now, where_, last->Int(0, 0));
    if (!decided.ok()) return decided.status();
    got = std::move(*decided);
    const Lease& l = got.lease;
    auto put = Exec(
        "INSERT INTO lease (id, holder_host, holder_pid, started_at, heartbeat_at, heartbeat_ms, ttl_seconds, token, "
        "epoch) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET holder_host = "
        "excluded.holder_host, holder_pid = excluded.holder_pid, started_at = excluded.started_at, heartbeat_at = "
        "excluded.heartbeat_at, heartbeat_ms = excluded.heartbeat_ms, ttl_seconds = excluded.ttl_seconds, token = "
        "excluded.token, epoch = excluded.epoch",
        {l.host, std::to_string(l.pid), core::FormatRfc3339(l.started_at), core::FormatRfc3339(l.heartbeat_at),
         std::to_string(l.heartbeat_at.time_since_epoch().count()), std::to_string(l.ttl_seconds), l.token,
         std::to_string(l.epoch)},
        doing);
    if (!put.ok()) return put.status();
    return Exec("UPDATE otaroll_meta SET lease_epoch = $1 WHERE id = 1", {std::to_string(l.epoch)}, doing).status();
  });
  if (!s.ok()) return s;
  return got;
}

core::Status PgStore::Heartbeat(const std::string& token, core::Time /*now: the database's instead*/) {
  const std::string doing = "renewing the lease";
  return Write(doing, [&]() -> core::Status {
    auto now = DatabaseNow();
    if (!now.ok()) return now.status();
    auto beat = Exec("UPDATE lease SET heartbeat_at = $2, heartbeat_ms = $3 WHERE id = 1 AND token = $1",
                     {token, core::FormatRfc3339(*now), std::to_string(now->time_since_epoch().count())}, doing);
    if (!beat.ok()) return beat.status();
    if (beat->Affected() == 1) return core::Status::Ok();
    auto held = ReadLeaseRow(doing, /*for_share=*/false);
    if (!held.ok()) return held.status();
    return LeaseLost(*held, where_);
  });
}

core::Status PgStore::ReleaseLease(const std::string& token) {
  const std::string doing = "releasing the lease";
  return Write(doing, [&]() -> core::Status {
    return Exec("DELETE FROM lease WHERE id = 1 AND token = $1", {token}, doing).status();
  });
}

core::Result<std::optional<Lease>> PgStore::ReadLease() {
  return ReadLeaseRow("reading the lease", /*for_share=*/false);
}

core::Result<std::optional<Lease>> PgStore::ForceUnlock(bool force) {
  const std::string doing = "removing the lease";
  std::optional<Lease> removed;
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = ReadLeaseRow(doing, /*for_share=*/false);
    if (!held.ok()) return held.status();
    if (auto refused = CheckForceUnlock(*held, force, where_); !refused.ok()) return refused;
    removed = *held;
    return Exec("DELETE FROM lease", {}, doing).status();
  });
  if (!s.ok()) return s;
  return removed;
}

}  // namespace otaroll::state
