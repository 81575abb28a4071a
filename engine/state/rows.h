// Helpers shared by the SQLite store's files: sqlite_store.cc (open, the
// writers), read.cc (the loaders), import.cc (import, rename), lease.cc.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

class Db;
class Stmt;

// How long a connection waits for a busy file, and how often a read-only
// load retries a file that changed under it.
inline constexpr int kBusyTimeoutMs = 5000;
inline constexpr int kLoadTries = 5;

// request_json of an attempt: a JSON object of strings, keys sorted; refuses
// call parameters (AccessKeyId, Signature, …) that never belong in state.
core::Result<std::string> RequestJson(const Attempt& a, const std::string& path);
// Appends `e` (data_json already checked) inside the caller's transaction.
core::Status InsertEvent(const Db& db, const Event& e, const std::string& doing);

// Readers that run inside the caller's read (or write) transaction.
core::Result<Snapshot> ReadState(const Db& db, const std::string& path);
core::Result<std::vector<RolloutRecord>> ReadRollouts(const Db& db, const std::string& path);
core::Result<std::vector<Event>> ReadEvents(const Db& db, const std::string& path, const std::string& rollout_filter);
// ReadState in its own read transaction: one consistent snapshot.
core::Result<Snapshot> ReadInTransaction(const Db& db, const std::string& path);

// The lease row, if any.
core::Result<std::optional<Lease>> ReadLeaseRow(const Db& db, const std::string& path, const std::string& doing);

// A state file that cannot be read as it should: Corruption naming it.
core::Status Damaged(const std::string& path, const std::string& detail);

// A time column read back from the state file; a damaged value is an error
// naming the file and `what`.
core::Result<core::Time> TimeColumn(const Stmt& row, int col, const std::string& path, const std::string& what);

}  // namespace otaroll::state
