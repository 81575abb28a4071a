// Rows read back into values, the same way from every SQL backend: a row is
// anything with IsNull(col), Int(col) and Text(col) (db.h's Stmt, or
// pg_store.h's PgRow), columns 0-based, NULL read as "" / 0. A value that
// cannot be what it should is Corruption naming the state (`where`).
#pragma once

#include <fmt/format.h>

#include <string>

#include "core/status.h"
#include "core/time.h"
#include "state/events.h"
#include "state/request.h"
#include "state/snapshot.h"

namespace otaroll::state {

// A state that cannot be read as it should: Corruption naming it.
core::Status Damaged(const std::string& where, const std::string& detail);

// The columns AttemptFromRow reads, in its order (a SELECT list).
inline constexpr const char* kAttemptColumns =
    "id, intent_id, rollout, stage, part, parts, spec_hash, request_json, status, job_id, job_created_at, "
    "job_status, request_id, error_code, error_message, attempt_count, created_at, updated_at, superseded_by";
// The columns EventRow reads, in its order.
inline constexpr const char* kEventColumns = "seq, at, rollout, stage, attempt_id, kind, message, data_json";

// A time column (RFC 3339 text); `what` names it in the message.
template <typename Row>
core::Result<core::Time> TimeColumn(const Row& row, int col, const std::string& where, const std::string& what) {
  std::string text = row.Text(col);
  auto t = core::ParseRfc3339(text);
  if (!t) return Damaged(where, fmt::format("{} is \"{}\", not an RFC 3339 time", what, text));
  return *t;
}

// One row of `SELECT kAttemptColumns FROM attempts`.
template <typename Row>
core::Result<Attempt> AttemptFromRow(const Row& row, const std::string& path) {
  Attempt a;
  a.id = row.Int(0);
  std::string where = fmt::format("attempt {}", a.id);
  a.intent_id = row.Text(1);
  a.rollout = row.Text(2);
  a.stage = row.Text(3);
  a.part = static_cast<int>(row.Int(4));
  a.parts = static_cast<int>(row.Int(5));
  a.spec_hash = row.Text(6);
  a.request = row.Text(7);
  if (!IsRequestText(a.request)) {
    return Damaged(path, where + " has a request_json that is not a JSON object of strings");
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

// One row of `SELECT kEventColumns FROM events`.
template <typename Row>
core::Result<Event> EventRow(const Row& row, const std::string& path) {
  Event e;
  e.seq = row.Int(0);
  auto at = TimeColumn(row, 1, path, fmt::format("event {}", e.seq));
  if (!at.ok()) return at.status();
  e.at = *at;
  e.rollout = row.Text(2);
  e.stage = row.Text(3);
  if (!row.IsNull(4)) e.attempt_id = row.Int(4);
  e.kind = row.Text(5);
  e.message = row.Text(6);
  e.data_json = row.Text(7);
  return e;
}

}  // namespace otaroll::state
