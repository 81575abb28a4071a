// `otaroll state export|import` on a PostgreSQL state (state/transfer.h):
// the rows read in one snapshot, or written in one transaction.
#include <fmt/format.h>

#include "state/columns.h"
#include "state/pg_store.h"
#include "state/transfer.h"

namespace otaroll::state {

// pg_store.cc's writers that keep the ids they are given.
core::Status PgInsertAttemptWithId(PgDb& db, const Attempt& a, const std::string& doing);
core::Status PgInsertObservation(PgDb& db, const Observation& o, std::optional<int64_t> id, const std::string& doing);
core::Status PgInsertEvent(PgDb& db, const Event& e, std::optional<int64_t> seq, const std::string& doing);

core::Result<StateExport> PgStore::Export() {
  StateRows rows;
  int64_t serial = 0;
  core::Status s = Read("exporting the state", [&]() -> core::Status {
    auto read_serial = Serial();
    if (!read_serial.ok()) return read_serial.status();
    serial = *read_serial;
    auto rollouts = Rollouts();
    if (!rollouts.ok()) return rollouts.status();
    rows.rollouts = std::move(*rollouts);
    auto snap = ReadSnapshot();  // every attempt, in id order
    if (!snap.ok()) return snap.status();
    rows.attempts = std::move(snap->attempts);
    auto obs = Exec(
        "SELECT id, job_id, observed_at, total, confirm, queued, notified, in_progress, succeeded, failed, canceled "
        "FROM observations ORDER BY id",
        {}, "reading observations");
    if (!obs.ok()) return obs.status();
    const auto& statuses = TaskStatuses();
    for (size_t i = 0; i < obs->size(); ++i) {
      const PgRow row{*obs, i};
      Observation o;
      o.job_id = row.Text(1);
      auto at = TimeColumn(row, 2, where_, fmt::format("observation {}", row.Int(0)));
      if (!at.ok()) return at.status();
      o.observed_at = *at;
      o.total = row.Int(3);
      for (size_t k = 0; k < statuses.size(); ++k) o.by_status[statuses[k]] = row.Int(static_cast<int>(4 + k));
      rows.observation_ids.push_back(row.Int(0));
      rows.observations.push_back(std::move(o));
    }
    auto events = Events("");
    if (!events.ok()) return events.status();
    rows.events = std::move(*events);
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return ExportDocument(rows, serial, where_);
}

core::Result<StateCounts> PgStore::Import(const std::string& json_text, const std::string& source) {
  auto rows = ParseExport(json_text, source, where_);
  if (!rows.ok()) return rows.status();
  const std::string doing = "importing " + source;
  // A row the schema refuses names the record rather than blaming otaroll.
  auto refused = [&](const core::Status& s, const std::string& record) {
    if (s.code() != core::Status::Code::kInvalid) return s;
    return core::Status::Invalid(fmt::format(
        "cannot import {}: {} breaks a rule of the state ({}); import a file written by 'otaroll state export'", source,
        record, s.message()));
  };
  core::Status s = Write(doing, [&]() -> core::Status {
    auto held = Exec(
        "SELECT (SELECT count(*) FROM rollouts), (SELECT count(*) FROM attempts), (SELECT count(*) FROM "
        "observations), (SELECT count(*) FROM events)",
        {}, doing);
    if (!held.ok()) return held.status();
    const StateCounts there{held->Int(0, 0), held->Int(0, 1), held->Int(0, 2), held->Int(0, 3)};
    if (there.rollouts + there.attempts + there.observations + there.events > 0) {
      return core::Status::Conflict(
          fmt::format("cannot import {} into {}: it already holds {}; import only into a database without otaroll "
                      "history",
                      source, where_, DescribeCounts(there)));
    }
    // superseded_by and events' attempt_id may point at later rows.
    if (auto d = Exec("SET CONSTRAINTS ALL DEFERRED", {}, doing); !d.ok()) return d.status();
    for (size_t i = 0; i < rows->rollouts.size(); ++i) {
      const RolloutRecord& r = rows->rollouts[i];
      auto put = Exec(
          "INSERT INTO rollouts (name, product_key, firmware_id, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5)",
          {r.name, r.product_key, r.firmware_id, core::FormatRfc3339(r.first_seen), core::FormatRfc3339(r.last_seen)},
          doing);
      if (!put.ok()) return refused(put.status(), fmt::format("rollouts[{}]", i));
    }
    for (size_t i = 0; i < rows->attempts.size(); ++i) {
      if (auto put = PgInsertAttemptWithId(*db_, rows->attempts[i], doing); !put.ok()) {
        return refused(put, fmt::format("attempts[{}]", i));
      }
    }
    for (size_t i = 0; i < rows->observations.size(); ++i) {
      if (auto put = PgInsertObservation(*db_, rows->observations[i], rows->observation_ids[i], doing); !put.ok()) {
        return refused(put, fmt::format("observations[{}]", i));
      }
    }
    for (size_t i = 0; i < rows->events.size(); ++i) {
      if (auto put = PgInsertEvent(*db_, rows->events[i], rows->events[i].seq, doing); !put.ok()) {
        return refused(put, fmt::format("events[{}]", i));
      }
    }
    // New rows continue after the imported ids.
    return Exec(
               "SELECT setval(pg_get_serial_sequence('attempts', 'id'), coalesce((SELECT max(id) FROM attempts), 0) "
               "+ 1, false), setval(pg_get_serial_sequence('observations', 'id'), coalesce((SELECT max(id) FROM "
               "observations), 0) + 1, false), setval(pg_get_serial_sequence('events', 'seq'), coalesce((SELECT "
               "max(seq) FROM events), 0) + 1, false)",
               {}, doing)
        .status();
  });
  if (!s.ok()) return s;
  return StateCounts{static_cast<int64_t>(rows->rollouts.size()), static_cast<int64_t>(rows->attempts.size()),
                     static_cast<int64_t>(rows->observations.size()), static_cast<int64_t>(rows->events.size())};
}

}  // namespace otaroll::state
