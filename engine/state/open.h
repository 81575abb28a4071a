// The one place that turns a --state value into a store (docs/state.md): a
// path, or `sqlite:PATH`, is a SQLite state file; a postgres:// or
// postgresql:// URI (libpq's) is a PostgreSQL state. Every command and the
// daemon go through here.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "state/snapshot.h"
#include "state/sqlite_store.h"
#include "state/store.h"

namespace otaroll::state {

struct Location {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::string path;  // kSqlite: the state file; kPostgres: the URI as given (never shown)
};

// Invalid, naming the scheme but nothing after it (a URL may carry a
// password), for a scheme this build cannot open, and for `sqlite:` with
// no path.
core::Result<Location> ParseLocation(const std::string& value);
// What messages call the state at `where`: its path, or its URI without
// the password (ShownPgUri).
std::string Shown(const Location& where);
// The read-write store at `value` (created when it is a new file).
core::Result<std::unique_ptr<Store>> OpenStore(const std::string& value);
// A consistent read of the state at `value` without taking the lease or
// creating anything: Snapshot{exists=false} when there is none yet.
core::Result<Snapshot> LoadSnapshotAt(const std::string& value);
// The events of `rollout_filter` at `value`, read like LoadSnapshotAt
// (`otaroll history`, `otaroll status`): EventLog{exists=false} when there
// is no state yet.
core::Result<EventLog> LoadEventsAt(const std::string& value, const std::string& rollout_filter);
// `otaroll state export` of the state at `value` (ExportState, from either
// backend): NotFound when there is none.
core::Result<StateExport> ExportStateAt(const std::string& value);

}  // namespace otaroll::state
