// Helpers shared by the SQLite store's files: sqlite_store.cc (open, the
// writers), read.cc (the loaders), import.cc (import, rename), lease.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/checks.h"
#include "state/columns.h"
#include "state/sqlite_store.h"

namespace otaroll::state {

class Db;
class Stmt;

// How long a connection waits for a busy file, and how often a read-only
// load retries a file that changed under it.
inline constexpr int kBusyTimeoutMs = 5000;
inline constexpr int kLoadTries = 5;

// One writer per table, inside the caller's transaction. `with_id` /
// `with_seq` / `id`: keep the given key (import); otherwise SQLite assigns it.
core::Status InsertRolloutRow(const Db& db, const RolloutRecord& r, const std::string& doing);
core::Status InsertAttemptRow(const Db& db, const Attempt& a, bool with_id, const std::string& doing);
core::Status InsertObservationRow(const Db& db, const Observation& o, std::optional<int64_t> id,
                                  const std::string& doing);
// Appends `e` (data_json already checked).
core::Status InsertEvent(const Db& db, const Event& e, const std::string& doing, bool with_seq = false);

// Readers that run inside the caller's read (or write) transaction.
core::Result<Snapshot> ReadState(const Db& db, const std::string& path);
core::Result<std::vector<RolloutRecord>> ReadRollouts(const Db& db, const std::string& path);
// Oldest first; with `last` > 0 only the last `last` of them.
core::Result<std::vector<Event>> ReadEvents(const Db& db, const std::string& path, const std::string& rollout_filter,
                                            size_t last = 0);
// The serial alone (0 for a state file without tables yet).
core::Result<int64_t> ReadSerial(const Db& db, const std::string& path);

// ReadState in its own read transaction: one consistent snapshot.
core::Result<Snapshot> ReadInTransaction(const Db& db, const std::string& path);

// The lease row, if any.
core::Result<std::optional<Lease>> ReadLeaseRow(const Db& db, const std::string& path, const std::string& doing);

}  // namespace otaroll::state
