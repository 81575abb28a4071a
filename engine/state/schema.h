// The state file's SQLite schema and its forward-only migrations
// (docs/state.md). A state file is recognised by PRAGMA application_id and
// versioned by PRAGMA user_version.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/db.h"

namespace otaroll::state {

inline constexpr int32_t kApplicationId = 0x4F544152;  // "OTAR"
inline constexpr int64_t kSchemaVersion = 3;

// Migrations()[i] moves a state file from schema version i to i + 1. Entries
// are append-only: once released, a step's SQL never changes.
struct Migration {
  const char* summary;
  const char* sql;  // constant SQL; user_version is set by Migrate
};
const std::vector<Migration>& Migrations();

enum class SchemaState {
  kEmpty,    // no tables at all: a file otaroll has just created (or a 0-byte file)
  kOlder,    // an otaroll state file that needs migrating
  kCurrent,  // kSchemaVersion
};
struct SchemaInfo {
  SchemaState state = SchemaState::kEmpty;
  int64_t version = 0;
};

// Identifies what `db` holds. Errors: Corruption when the file is not an
// otaroll state file, Unsupported when a newer otaroll wrote it.
core::Result<SchemaInfo> CheckSchema(const Db& db);

// Brings a writable connection to kSchemaVersion, one transaction per step;
// safe against another process migrating the same file at the same time.
core::Status Migrate(const Db& db);

}  // namespace otaroll::state
