#include "state/schema.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <optional>

namespace otaroll::state {

namespace {

// Version 1: the intent protocol of SPEC §4. Times are RFC 3339 text; empty
// optional text is NULL (so UNIQUE(job_id) ignores attempts without a job).
constexpr const char* kV1 = R"sql(
PRAGMA application_id = 1330921810;

-- Bumped by the triggers below on every change to the recorded history, so a
-- saved plan can tell whether state moved since it was made.
CREATE TABLE serial (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO serial (id, value) VALUES (1, 0);

CREATE TABLE rollouts (
  name        TEXT PRIMARY KEY NOT NULL,
  product_key TEXT NOT NULL,
  firmware_id TEXT NOT NULL,
  first_seen  TEXT NOT NULL,
  last_seen   TEXT NOT NULL
);

CREATE TABLE attempts (
  id             INTEGER PRIMARY KEY,
  intent_id      TEXT NOT NULL UNIQUE,
  rollout        TEXT NOT NULL REFERENCES rollouts (name) ON UPDATE CASCADE,
  stage          TEXT NOT NULL,
  part           INTEGER NOT NULL CHECK (part >= 0),
  parts          INTEGER NOT NULL CHECK (parts >= 1 AND part < parts),
  spec_hash      TEXT NOT NULL,
  request_json   TEXT NOT NULL,
  status         TEXT NOT NULL
                 CHECK (status IN ('pending', 'created', 'failed', 'unknown', 'superseded', 'cancelled')),
  job_id         TEXT,
  job_created_at TEXT,
  job_status     TEXT,
  request_id     TEXT,
  error_code     TEXT,
  error_message  TEXT,
  attempt_count  INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  superseded_by  INTEGER REFERENCES attempts (id),
  CHECK (status NOT IN ('created', 'superseded', 'cancelled') OR job_id IS NOT NULL),
  CHECK (superseded_by IS NULL OR (status = 'superseded' AND superseded_by <> id))
);
CREATE INDEX attempts_by_stage ON attempts (rollout, stage);
CREATE UNIQUE INDEX attempts_by_job ON attempts (job_id) WHERE job_id IS NOT NULL;

-- observed_ms orders observations: RFC 3339 text with an optional fraction
-- does not sort as text.
CREATE TABLE observations (
  id          INTEGER PRIMARY KEY,
  job_id      TEXT NOT NULL,
  observed_at TEXT NOT NULL,
  observed_ms INTEGER NOT NULL,
  total       INTEGER NOT NULL CHECK (total >= 0),
  confirm     INTEGER NOT NULL DEFAULT 0 CHECK (confirm >= 0),
  queued      INTEGER NOT NULL DEFAULT 0 CHECK (queued >= 0),
  notified    INTEGER NOT NULL DEFAULT 0 CHECK (notified >= 0),
  in_progress INTEGER NOT NULL DEFAULT 0 CHECK (in_progress >= 0),
  succeeded   INTEGER NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
  failed      INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
  canceled    INTEGER NOT NULL DEFAULT 0 CHECK (canceled >= 0)
);
CREATE INDEX observations_by_job ON observations (job_id, observed_ms, id);

CREATE TABLE events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  at         TEXT NOT NULL,
  rollout    TEXT NOT NULL DEFAULT '',
  stage      TEXT NOT NULL DEFAULT '',
  attempt_id INTEGER REFERENCES attempts (id),
  kind       TEXT NOT NULL,
  message    TEXT NOT NULL,
  data_json  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_rollout ON events (rollout, seq);

-- At most one row: the process allowed to apply. No row = nobody holds it.
CREATE TABLE lease (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  holder_host  TEXT NOT NULL,
  holder_pid   INTEGER NOT NULL,
  started_at   TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL,
  ttl_seconds  INTEGER NOT NULL CHECK (ttl_seconds > 0),
  token        TEXT NOT NULL
);

CREATE TRIGGER serial_rollouts_insert AFTER INSERT ON rollouts BEGIN UPDATE serial SET value = value + 1; END;
-- Touching last_seen alone is bookkeeping, like a lease heartbeat: not history.
CREATE TRIGGER serial_rollouts_update AFTER UPDATE ON rollouts
  WHEN OLD.name IS NOT NEW.name OR OLD.product_key IS NOT NEW.product_key
    OR OLD.firmware_id IS NOT NEW.firmware_id OR OLD.first_seen IS NOT NEW.first_seen
  BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_rollouts_delete AFTER DELETE ON rollouts BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_attempts_insert AFTER INSERT ON attempts BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_attempts_update AFTER UPDATE ON attempts BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_attempts_delete AFTER DELETE ON attempts BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_observations_insert AFTER INSERT ON observations BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_observations_update AFTER UPDATE ON observations BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_observations_delete AFTER DELETE ON observations BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_events_insert AFTER INSERT ON events BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_events_update AFTER UPDATE ON events BEGIN UPDATE serial SET value = value + 1; END;
CREATE TRIGGER serial_events_delete AFTER DELETE ON events BEGIN UPDATE serial SET value = value + 1; END;
)sql";

// Version 2: notifications (docs/notifications.md). Neither table has a
// serial trigger: delivering and tracking is bookkeeping, not history.
constexpr const char* kV2 = R"sql(
-- Per webhook (a hash of its URL: never the URL, which may hold a token), the
-- seq of the last event it delivered or passed over.
CREATE TABLE notify_cursors (
  sink TEXT PRIMARY KEY NOT NULL,
  seq  INTEGER NOT NULL CHECK (seq >= 0)
);

-- Stages that stay halted, held, waiting or unknown (notify/conditions.h).
CREATE TABLE conditions (
  rollout   TEXT NOT NULL,
  stage     TEXT NOT NULL,
  state     TEXT NOT NULL CHECK (state IN ('halted', 'held', 'waiting', 'unknown')),
  reason    TEXT NOT NULL,
  commit_id TEXT NOT NULL,
  since     TEXT NOT NULL,
  reminded  INTEGER NOT NULL DEFAULT 0 CHECK (reminded IN (0, 1)),
  PRIMARY KEY (rollout, stage)
);
)sql";

// Version 3: the lease's epoch (lease.h), which grows on every acquisition
// that is not a renewal, and the greatest one handed out (a released lease's
// row is gone, its epoch is not). Neither changes the serial.
constexpr const char* kV3 = R"sql(
ALTER TABLE lease ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
CREATE TABLE lease_epoch (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL CHECK (value >= 0)
);
INSERT INTO lease_epoch (id, value) VALUES (1, 0);
)sql";

static_assert(kApplicationId == 1330921810, "kV1 sets the application id literally");

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {"create the v1 schema (rollouts, attempts, observations, events, lease, serial)", kV1},
      {"add the notification tables (notify_cursors, conditions)", kV2},
      {"add the lease epoch (lease.epoch, lease_epoch)", kV3},
  };
  return kMigrations;
}

namespace {

// Every table, index and trigger of a schema as (type, name, sql), ordered.
core::Result<std::vector<std::string>> SchemaObjects(const Db& db) {
  auto stmt = db.Prepare(
      "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
      "ORDER BY type, name",
      "reading its schema");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> out;
  for (;;) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(stmt->Text(0));
  }
}

// The objects a current state file must hold: kV1 and every migration, run
// on an empty in-memory database.
core::Result<std::vector<std::string>> ExpectedObjects() {
  auto db = Db::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY, "the schema");
  if (!db.ok()) return db.status();
  for (const Migration& step : Migrations()) {
    if (auto s = (*db)->Exec(step.sql, "building the expected schema"); !s.ok()) return s;
  }
  return SchemaObjects(**db);
}

// A current state file whose tables, indexes or triggers differ from what
// the schema creates (a dropped unique index lets a job be recorded twice).
core::Status CheckIntegrity(const Db& db) {
  static const core::Result<std::vector<std::string>> expected = ExpectedObjects();
  if (!expected.ok()) return expected.status();
  auto actual = SchemaObjects(db);
  if (!actual.ok()) return actual.status();
  if (*actual == *expected) return core::Status::Ok();
  std::string what;
  for (const auto& e : *expected) {
    if (std::find(actual->begin(), actual->end(), e) == actual->end()) {
      what = "missing or altered: " + e.substr(0, e.find(':'));
      break;
    }
  }
  if (what.empty()) {
    for (const auto& a : *actual) {
      if (std::find(expected->begin(), expected->end(), a) == expected->end()) {
        what = "unexpected: " + a.substr(0, a.find(':'));
        break;
      }
    }
  }
  return core::Status::Corruption(fmt::format(
      "state file {} is damaged (its schema was changed by hand; {}); restore it from a backup", db.display(), what));
}

}  // namespace

core::Result<SchemaInfo> CheckSchema(const Db& db) {
  // One statement, so one consistent read: three separate ones could see a
  // file another process is creating half before and half after its
  // migration commits (no application id yet, but tables already).
  auto stmt = db.Prepare(
      "SELECT (SELECT application_id FROM pragma_application_id()), (SELECT user_version FROM "
      "pragma_user_version()), (SELECT count(*) FROM sqlite_master)",
      "reading its application id and schema version");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  const std::optional<int64_t> app = *row ? std::optional<int64_t>(stmt->Int(0)) : std::nullopt;
  const std::optional<int64_t> version = *row ? std::optional<int64_t>(stmt->Int(1)) : std::nullopt;
  const std::optional<int64_t> objects = *row ? std::optional<int64_t>(stmt->Int(2)) : std::nullopt;
  if (!app || !version || !objects) {
    return core::Status::Corruption(
        fmt::format("state file {} cannot be identified; restore it from a backup", db.display()));
  }

  if (*app == 0 && *version == 0 && *objects == 0) return SchemaInfo{SchemaState::kEmpty, 0};
  if (*app != kApplicationId) {
    return core::Status::Corruption(
        fmt::format("state file {} is not an otaroll state file (an SQLite database of another application); pass the "
                    "right --state path or move the file away",
                    db.display()));
  }
  if (*version > kSchemaVersion) {
    return core::Status::Unsupported(fmt::format(
        "state file {} was written by a newer otaroll (schema version {}; this otaroll knows {}); upgrade otaroll",
        db.display(), *version, kSchemaVersion));
  }
  if (*version < 1) {
    return core::Status::Corruption(
        fmt::format("state file {} is damaged (schema version {}); restore it from a backup", db.display(), *version));
  }
  if (*version == kSchemaVersion) {
    if (auto s = CheckIntegrity(db); !s.ok()) return s;
  }
  return SchemaInfo{*version < kSchemaVersion ? SchemaState::kOlder : SchemaState::kCurrent, *version};
}

core::Status Migrate(const Db& db) {
  static_assert(kSchemaVersion > 0);
  for (;;) {
    // IMMEDIATE: the check and the step happen under the write lock, so a
    // concurrent migrator either finished before us or waits for us.
    if (auto s = db.Exec("BEGIN IMMEDIATE", "starting a schema migration"); !s.ok()) return s;
    auto info = CheckSchema(db);
    if (!info.ok() || info->state == SchemaState::kCurrent) {
      db.Exec("ROLLBACK", "ending a schema check");
      return info.status();
    }
    const int64_t from = info->version;
    const Migration& step = Migrations().at(static_cast<size_t>(from));
    std::string doing = fmt::format("migrating it from schema version {} to {}", from, from + 1);
    core::Status s = db.Exec(step.sql, doing);
    if (s.ok()) s = db.Exec(fmt::format("PRAGMA user_version = {}", from + 1).c_str(), doing);
    if (s.ok()) s = db.Exec("COMMIT", doing);
    if (!s.ok()) {
      db.Exec("ROLLBACK", doing);
      return s;
    }
  }
}

}  // namespace otaroll::state
