// The notification tables of a SQLite state file (schema version 2): the
// event log read as an outbox, the delivery cursors and the conditions.
#include <fmt/format.h>

#include "state/db.h"
#include "state/rows.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

core::Result<std::vector<Event>> SqliteStore::EventsAfter(int64_t after, size_t limit) {
  auto stmt = db_->Prepare(
      "SELECT seq, at, rollout, stage, attempt_id, kind, message, data_json FROM events WHERE seq > ?1 "
      "ORDER BY seq LIMIT ?2",
      "reading events to notify");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  std::vector<Event> events;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return events;
    auto e = EventRow(*stmt, path_);
    if (!e.ok()) return e.status();
    events.push_back(std::move(*e));
  }
}

core::Result<int64_t> SqliteStore::Cursor(const std::string& sink) {
  int64_t cursor = 0;
  const std::string doing = "reading a notification cursor";
  core::Status s = Write(doing, [&]() -> core::Status {
    auto start = db_->Prepare(
        "INSERT INTO notify_cursors (sink, seq) VALUES (?1, (SELECT coalesce(max(seq), 0) FROM events)) "
        "ON CONFLICT (sink) DO NOTHING",
        doing);
    if (!start.ok()) return start.status();
    if (auto r = start->Bind(1, sink).Run(); !r.ok()) return r;
    auto read = db_->Prepare("SELECT seq FROM notify_cursors WHERE sink = ?1", doing);
    if (!read.ok()) return read.status();
    auto row = read->Bind(1, sink).Step();
    if (!row.ok()) return row.status();
    cursor = *row ? read->Int(0) : 0;
    return core::Status::Ok();
  });
  if (!s.ok()) return s;
  return cursor;
}

core::Status SqliteStore::SetCursor(const std::string& sink, int64_t seq) {
  const std::string doing = "moving a notification cursor";
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare(
        "INSERT INTO notify_cursors (sink, seq) VALUES (?1, ?2) "
        "ON CONFLICT (sink) DO UPDATE SET seq = max(seq, excluded.seq)",
        doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, sink).Bind(2, seq).Run();
  });
}

core::Result<std::vector<Condition>> SqliteStore::Conditions() {
  auto stmt = db_->Prepare(
      "SELECT rollout, stage, state, reason, commit_id, since, reminded FROM conditions ORDER BY rollout, stage",
      "reading conditions");
  if (!stmt.ok()) return stmt.status();
  std::vector<Condition> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    Condition c;
    c.rollout = stmt->Text(0);
    c.stage = stmt->Text(1);
    c.state = stmt->Text(2);
    c.reason = stmt->Text(3);
    c.commit = stmt->Text(4);
    auto since = TimeColumn(*stmt, 5, path_, fmt::format("condition of {}/{} since", c.rollout, c.stage));
    if (!since.ok()) return since.status();
    c.since = *since;
    c.reminded = stmt->Int(6) != 0;
    out.push_back(std::move(c));
  }
}

core::Status SqliteStore::PutCondition(const Condition& c) {
  const std::string doing = fmt::format("recording the condition of {}/{}", c.rollout, c.stage);
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare(
        "INSERT OR REPLACE INTO conditions (rollout, stage, state, reason, commit_id, since, reminded) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, c.rollout)
        .Bind(2, c.stage)
        .Bind(3, c.state)
        .Bind(4, c.reason)
        .Bind(5, c.commit)
        .Bind(6, core::FormatRfc3339(c.since))
        .Bind(7, static_cast<int64_t>(c.reminded ? 1 : 0))
        .Run();
  });
}

core::Status SqliteStore::ClearCondition(const std::string& rollout, const std::string& stage) {
  const std::string doing = fmt::format("clearing the condition of {}/{}", rollout, stage);
  return Write(doing, [&]() -> core::Status {
    auto stmt = db_->Prepare("DELETE FROM conditions WHERE rollout = ?1 AND stage = ?2", doing);
    if (!stmt.ok()) return stmt.status();
    return stmt->Bind(1, rollout).Bind(2, stage).Run();
  });
}

}  // namespace otaroll::state
