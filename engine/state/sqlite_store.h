// The SQLite state file (SPEC §4, docs/state.md): a read-only, lock-free
// loader for `otaroll plan`, and the read-write store used by apply.
#pragma once

#include <cstdint>
#include <memory>
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

struct RolloutRecord {
  std::string name;
  std::string product_key;
  std::string firmware_id;
  core::Time first_seen{};
  core::Time last_seen{};
};

class SqliteStore;

// An explicit write transaction (BEGIN IMMEDIATE). Writer methods called
// while it is open join it; it rolls back on destruction unless committed.
// Must not outlive its store.
class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  core::Status Commit();

 private:
  friend class SqliteStore;
  explicit Transaction(SqliteStore* store) : store_(store) {}
  SqliteStore* store_;
};

class SqliteStore final : public Store {
 public:
  // Creates the parent directories and the file if needed, checks that it is
  // an otaroll state file, migrates it, and turns on WAL, foreign keys,
  // synchronous=FULL and a busy timeout.
  static core::Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  core::Result<Snapshot> Load() override;

  // Fails (Invalid) when a transaction is already open on this store.
  core::Result<Transaction> Begin();

  // Each of these is one committed transaction, unless a Transaction is open.
  core::Status UpsertRollout(const std::string& name, const std::string& product_key,
                             const std::string& firmware_id, core::Time now);
  // Attempt.id is ignored; returns the new id. The rollout must be recorded.
  core::Result<int64_t> InsertAttempt(const Attempt& attempt);
  // Updates the outcome fields (status, job_*, request_id, error_*,
  // attempt_count, updated_at, superseded_by) of attempt.id. The intent fields
  // (intent_id, rollout, stage, part, parts, spec_hash, request, created_at)
  // never change: a mismatch is refused.
  core::Status UpdateAttempt(const Attempt& attempt);
  // created → superseded by `new_id`, a created attempt of the same stage;
  // updated_at becomes the replacement's updated_at.
  core::Status MarkSuperseded(int64_t old_id, int64_t new_id);
  core::Status AddObservation(const Observation& observation);
  core::Status AppendEvent(const Event& event);

  // Ordered by seq; "" = every rollout.
  core::Result<std::vector<Event>> Events(const std::string& rollout_filter);
  // Ordered by name.
  core::Result<std::vector<RolloutRecord>> Rollouts();

  const std::string& path() const { return path_; }

 private:
  friend class Transaction;
  SqliteStore(std::unique_ptr<Db> db, std::string path);
  template <typename F>
  core::Status Write(const std::string& doing, F&& body);

  std::unique_ptr<Db> db_;
  std::string path_;
  bool in_transaction_ = false;
};

}  // namespace otaroll::state
