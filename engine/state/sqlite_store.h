// The SQLite state file (SPEC §4, docs/state.md): a read-only, lock-free
// loader for `otaroll plan`, export, and the read-write store used by apply.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "state/events.h"
#include "state/snapshot.h"
#include "state/store.h"

namespace otaroll::state {

class Db;

// Reads the whole state file in one read transaction, without writing to it,
// locking it for writing, or creating anything: a missing file is
// Snapshot{exists=false}. Works while another process is writing.
core::Result<Snapshot> LoadSnapshot(const std::string& path);

// An event as JSON (export and `otaroll history --format json`): seq, at,
// rollout, stage, attempt_id, kind, message, data. `data_is_json` says whether
// data_json parsed; when it did not, "data" holds the raw text.
nlohmann::ordered_json EventJson(const Event& e, bool* data_is_json = nullptr);

// The events of `rollout_filter` ("" = every rollout), ordered by seq, read
// like LoadSnapshot: read-only, one read transaction, never locks. A missing
// file is EventLog{exists=false} (`otaroll history`).
struct EventLog {
  bool exists = false;
  std::vector<Event> events;
};
core::Result<EventLog> LoadEvents(const std::string& path, const std::string& rollout_filter);

// How many rows of each kind an export or import carried.
struct StateCounts {
  int64_t rollouts = 0;
  int64_t attempts = 0;
  int64_t observations = 0;
  int64_t events = 0;
};
// "2 rollouts, 3 attempts and 1 event" (the non-zero counts), or "nothing".
std::string DescribeCounts(const StateCounts& counts);

// `otaroll state export`: the whole state file (format_version 1, schema
// version, serial, rollouts, every attempt with every field, every
// observation, every event) as stable pretty JSON ending in a newline; see
// docs/state.md "Export, import, rename". Read like LoadSnapshot (read-only,
// never locks). NotFound when the file does not exist.
struct StateExport {
  std::string json;
  int64_t serial = 0;
  StateCounts counts;
};
core::Result<StateExport> ExportState(const std::string& path);

// The SQLite state file: a Store (store.h, whose contract every method
// follows) plus what only a file has: import and rename.
class SqliteStore final : public Store {
 public:
  // Creates the parent directories and the file if needed, checks that it is
  // an otaroll state file, migrates it, and turns on WAL, foreign keys,
  // synchronous=FULL and a busy timeout.
  static core::Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  const std::string& where() const override { return path_; }
  core::Result<std::unique_ptr<Store>> OpenAnother() override;
  core::Result<Snapshot> Load() override;
  core::Result<int64_t> Serial() override;

  core::Status UpsertRollout(const std::string& name, const std::string& product_key, const std::string& firmware_id,
                             core::Time now) override;
  core::Result<int64_t> InsertAttempt(const Attempt& attempt) override;
  core::Status UpdateAttempt(const Attempt& attempt) override;
  core::Status MarkSuperseded(int64_t old_id, int64_t new_id) override;
  core::Status AddObservation(const Observation& observation) override;
  core::Status AppendEvent(const Event& event) override;
  core::Result<std::vector<Event>> Events(const std::string& rollout_filter) override;
  core::Result<std::vector<Event>> RecentEvents(const std::string& rollout_filter, size_t limit) override;
  core::Result<std::vector<RolloutRecord>> Rollouts() override;
  core::Result<std::vector<Event>> EventsAfter(int64_t after, size_t limit) override;
  core::Result<int64_t> Cursor(const std::string& sink) override;
  core::Status SetCursor(const std::string& sink, int64_t seq) override;
  core::Result<std::vector<Condition>> Conditions() override;
  core::Status PutCondition(const Condition& condition) override;
  core::Status ClearCondition(const std::string& rollout, const std::string& stage) override;

  core::Result<LeaseAcquired> AcquireLease(const Lease& me, core::Time now) override;
  core::Status Heartbeat(const std::string& token, core::Time now) override;
  core::Status ReleaseLease(const std::string& token) override;
  core::Result<std::optional<Lease>> ReadLease() override;
  core::Result<std::optional<Lease>> ForceUnlock(bool force) override;

  // `otaroll state import`: loads `json_text` (what ExportState wrote; `source`
  // names it in messages) into this state file in one transaction, keeping
  // ids, intent ids, job ids, times and events. The state file must hold
  // nothing yet (no rollouts, attempts, observations or events): Conflict
  // otherwise. Does not touch the lease.
  core::Result<StateCounts> Import(const std::string& json_text, const std::string& source);
  // `otaroll state mv`: renames rollout `from` to `to` (attempts follow
  // through ON UPDATE CASCADE, events are rewritten) and appends a "renamed"
  // event at `now`, in one transaction. Returns how many attempts moved.
  // NotFound when `from` is not recorded, Conflict when `to` is, Invalid when
  // `to` is not a rollout name.
  core::Result<int64_t> RenameRollout(const std::string& from, const std::string& to, core::Time now);

  const std::string& path() const { return path_; }
  // The connection's PRAGMA synchronous (2 = FULL, 1 = NORMAL), for tests.
  int64_t SyncLevel() const;

 protected:
  core::Status BeginTransaction(Durability durability) override;
  core::Status CommitTransaction() override;
  void RollbackTransaction() override;

 private:
  SqliteStore(std::unique_ptr<Db> db, std::string path);
  // Runs body in a write transaction (or in the open Transaction).
  core::Status Write(const std::string& doing, const std::function<core::Status()>& body);
  // Back to synchronous = FULL after a lazy transaction.
  void EndLazy();
  // The fence and live-intent checks of InsertAttempt, inside its transaction.
  core::Status CheckIntent(const Attempt& attempt);

  std::unique_ptr<Db> db_;
  std::string path_;
  bool in_transaction_ = false;
  bool lazy_ = false;  // the open transaction is Durability::kLazy
};

}  // namespace otaroll::state
