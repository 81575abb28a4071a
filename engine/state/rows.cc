// One row writer per table, shared by the store's writers and by import.
#include "state/rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>

#include "state/db.h"
#include "state/schema.h"

namespace otaroll::state {

namespace {

std::string RfcOrEmpty(const std::optional<core::Time>& t) {
  return t ? core::FormatRfc3339(*t) : std::string();
}

}  // namespace

core::Status InsertRolloutRow(const Db& db, const RolloutRecord& r, const std::string& doing) {
  auto stmt = db.Prepare(
      "INSERT INTO rollouts (name, product_key, firmware_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
      doing);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, r.name)
      .Bind(2, r.product_key)
      .Bind(3, r.firmware_id)
      .Bind(4, core::FormatRfc3339(r.first_seen))
      .Bind(5, core::FormatRfc3339(r.last_seen))
      .Run();
}

core::Status InsertAttemptRow(const Db& db, const Attempt& a, bool with_id, const std::string& doing) {
  auto stmt = db.Prepare(
      "INSERT INTO attempts (id, intent_id, rollout, stage, part, parts, spec_hash, request_json, status, job_id, "
      "job_created_at, job_status, request_id, error_code, error_message, attempt_count, created_at, updated_at, "
      "superseded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
      doing);
  if (!stmt.ok()) return stmt.status();
  return stmt->BindOptional(1, with_id ? std::optional<int64_t>(a.id) : std::nullopt)
      .Bind(2, a.intent_id)
      .Bind(3, a.rollout)
      .Bind(4, a.stage)
      .Bind(5, int64_t{a.part})
      .Bind(6, int64_t{a.parts})
      .Bind(7, a.spec_hash)
      .Bind(8, a.request)
      .Bind(9, StatusName(a.status))
      .BindNullIfEmpty(10, a.job_id)
      .BindNullIfEmpty(11, RfcOrEmpty(a.job_created_at))
      .BindNullIfEmpty(12, a.job_status)
      .BindNullIfEmpty(13, a.request_id)
      .BindNullIfEmpty(14, a.error_code)
      .BindNullIfEmpty(15, a.error_message)
      .Bind(16, int64_t{a.attempt_count})
      .Bind(17, core::FormatRfc3339(a.created_at))
      .Bind(18, core::FormatRfc3339(a.updated_at))
      .BindOptional(19, a.superseded_by)
      .Run();
}

core::Status InsertObservationRow(const Db& db, const Observation& o, std::optional<int64_t> id,
                                  const std::string& doing) {
  auto stmt = db.Prepare(
      "INSERT INTO observations (id, job_id, observed_at, observed_ms, total, confirm, queued, notified, "
      "in_progress, succeeded, failed, canceled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
      doing);
  if (!stmt.ok()) return stmt.status();
  stmt->BindOptional(1, id)
      .Bind(2, o.job_id)
      .Bind(3, core::FormatRfc3339(o.observed_at))
      .Bind(4, static_cast<int64_t>(o.observed_at.time_since_epoch().count()))
      .Bind(5, o.total);
  const auto& statuses = TaskStatuses();
  for (size_t k = 0; k < statuses.size(); ++k) stmt->Bind(static_cast<int>(6 + k), o.Count(statuses[k]));
  return stmt->Run();
}

core::Status InsertEvent(const Db& db, const Event& e, const std::string& doing, bool with_seq) {
  auto stmt = db.Prepare(
      "INSERT INTO events (seq, at, rollout, stage, attempt_id, kind, message, data_json) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      doing);
  if (!stmt.ok()) return stmt.status();
  return stmt->BindOptional(1, with_seq ? std::optional<int64_t>(e.seq) : std::nullopt)
      .Bind(2, core::FormatRfc3339(e.at))
      .Bind(3, e.rollout)
      .Bind(4, e.stage)
      .BindOptional(5, e.attempt_id)
      .Bind(6, e.kind)
      .Bind(7, e.message)
      .Bind(8, e.data_json)
      .Run();
}

}  // namespace otaroll::state
