// The PostgreSQL state's schema and its forward-only migrations
// (docs/state.md, docs/high-availability.md): the same tables as a state
// file (schema.h) in the database the URI names, recognised and versioned by
// the one-row table otaroll_meta. Its versions count on their own: they are
// not the state file's.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "state/pg_db.h"

namespace otaroll::state {

inline constexpr int64_t kPgSchemaVersion = 1;

// PgMigrations()[i] moves a database from version i to i + 1. Append-only:
// once released, a step's SQL never changes.
struct PgMigration {
  const char* summary;
  const char* sql;  // constant SQL; otaroll_meta.schema_version is set by MigratePg
};
const std::vector<PgMigration>& PgMigrations();

// The version of the otaroll schema in the database: 0 when it has none yet.
// Unsupported when a newer otaroll wrote it.
core::Result<int64_t> PgSchemaVersion(PgDb& db);

// Brings the database to kPgSchemaVersion, each step in a transaction of its
// own under a transaction-scoped advisory lock, so two processes starting
// together migrate it once.
core::Status MigratePg(PgDb& db);

}  // namespace otaroll::state
