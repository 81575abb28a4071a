// The state store seam. The planner reads a Snapshot; apply (a later issue)
// writes through the same interface. SqliteStore is the real one.
#pragma once

#include "core/status.h"
#include "state/snapshot.h"

namespace otaroll::state {

class Store {
 public:
  virtual ~Store() = default;
  // A consistent read of the whole state (one read transaction).
  virtual core::Result<Snapshot> Load() = 0;
};

// A Store over a Snapshot held in memory (tests, --baseline).
class MemoryStore final : public Store {
 public:
  explicit MemoryStore(Snapshot s) : snapshot_(std::move(s)) {}
  core::Result<Snapshot> Load() override { return snapshot_; }

 private:
  Snapshot snapshot_;
};

}  // namespace otaroll::state
