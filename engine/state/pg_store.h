// The PostgreSQL state (docs/high-availability.md): a Store (store.h, whose
// contract every method follows) over one connection to the database a
// postgres:// URI names, for daemons on several hosts sharing one state.
//
// What differs from a state file, and why:
//  - Lease times come from the database's clock (clock_timestamp()), never
//    from the hosts': AcquireLease and Heartbeat ignore their `now`.
//  - Every intent, in its own transaction, locks the serial row (intent
//    writers go one at a time, as a state file's do) and reads the lease row
//    with FOR SHARE: a takeover (an UPDATE of that row) waits for it or it
//    sees the takeover. It is refused unless the lease is held with the
//    fence's token at its epoch and has at least its safety margin left by
//    the database's clock (lease.h SafetyMargin).
//  - Load reads in one REPEATABLE READ, READ ONLY transaction: a consistent
//    snapshot that takes no lock and never waits for a writer.
//  - A lost connection is Unavailable; the next call outside a transaction
//    connects again (a transaction open when it was lost is rolled back by
//    the server: nothing of it was committed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/pg_db.h"
#include "state/sqlite_store.h"
#include "state/store.h"

namespace otaroll::state {

// One row of a PgRows, read like a Stmt (state/columns.h).
struct PgRow {
  const PgRows& rows;
  size_t row;
  bool IsNull(int col) const { return rows.IsNull(row, col); }
  int64_t Int(int col) const { return rows.Int(row, col); }
  std::string Text(int col) const { return rows.Text(row, col); }
};

class PgStore final : public Store {
 public:
  // Connects, and creates or migrates the schema.
  static core::Result<std::unique_ptr<PgStore>> Open(const std::string& uri);
  // Connects without creating or migrating anything (the readers: plan,
  // status, history, export): null when the database has no otaroll schema
  // yet. The readers read every schema version as it is.
  static core::Result<std::unique_ptr<PgStore>> OpenWithoutCreating(const std::string& uri);
  // A consistent read without taking the lease or creating anything:
  // Snapshot{exists=false} when the database has no otaroll schema yet.
  static core::Result<Snapshot> LoadWithoutCreating(const std::string& uri);
  ~PgStore() override;

  const std::string& where() const override { return where_; }
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

  // `otaroll state import` (as SqliteStore::Import): into a database that
  // holds no history yet, keeping ids, seqs and times.
  core::Result<StateCounts> Import(const std::string& json_text, const std::string& source);
  // `otaroll state export` (as ExportState): one consistent read.
  core::Result<StateExport> Export();

  // The database's clock now (tests, and the lease).
  core::Result<core::Time> DatabaseNow();

 protected:
  core::Status BeginTransaction(Durability durability) override;
  core::Status CommitTransaction() override;
  void RollbackTransaction() override;

 private:
  PgStore(std::unique_ptr<PgDb> db, std::string uri);
  using Params = std::vector<std::optional<std::string>>;
  // One statement; outside a transaction a lost connection is connected
  // again first.
  core::Result<PgRows> Exec(std::string_view sql, const Params& params, const std::string& doing);
  // Runs body in a transaction (or in the open Transaction).
  core::Status Write(const std::string& doing, const std::function<core::Status()>& body);
  // Runs body in a REPEATABLE READ, READ ONLY transaction (or in the open one).
  core::Status Read(const std::string& doing, const std::function<core::Status()>& body);
  // The fence and live-intent checks of InsertAttempt, inside its transaction.
  core::Status CheckIntent(const Attempt& attempt);
  core::Result<std::optional<Lease>> ReadLeaseRow(const std::string& doing, bool for_share);
  core::Result<Snapshot> ReadSnapshot();
  core::Result<std::vector<Event>> ReadEvents(const std::string& sql, const Params& params);

  std::unique_ptr<PgDb> db_;
  std::string uri_;    // as given: OpenAnother connects with it; never shown
  std::string where_;  // ShownPgUri(uri_)
  bool in_transaction_ = false;
};

}  // namespace otaroll::state
