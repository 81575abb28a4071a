// Lease helpers shared by the SQLite store's files (lease.cc, sqlite_store.cc).
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

class Db;
class Stmt;

// The lease row, if any.
core::Result<std::optional<Lease>> ReadLeaseRow(const Db& db, const std::string& path, const std::string& doing);

// A state file that cannot be read as it should: Corruption naming it.
core::Status Damaged(const std::string& path, const std::string& detail);

// A time column read back from the state file; a damaged value is an error
// naming the file and `what`.
core::Result<core::Time> TimeColumn(const Stmt& row, int col, const std::string& path, const std::string& what);

}  // namespace otaroll::state
