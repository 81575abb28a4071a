// The one place that turns a --state value into a store (docs/state.md): a
// path, or `sqlite:PATH`, is a SQLite state file; URL schemes (postgres://)
// come with their backends. Every command and the daemon go through here.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "state/snapshot.h"
#include "state/store.h"

namespace otaroll::state {

struct Location {
  enum class Kind { kSqlite };
  Kind kind = Kind::kSqlite;
  std::string path;  // kSqlite: the state file
};

// Invalid, naming the scheme but nothing after it (a URL may carry a
// password), for a scheme this build cannot open, and for `sqlite:` with
// no path.
core::Result<Location> ParseLocation(const std::string& value);
// The read-write store at `value` (created when it is a new file).
core::Result<std::unique_ptr<Store>> OpenStore(const std::string& value);
// A consistent read of the state at `value` without taking the lease or
// creating anything: Snapshot{exists=false} when there is none yet.
core::Result<Snapshot> LoadSnapshotAt(const std::string& value);

}  // namespace otaroll::state
