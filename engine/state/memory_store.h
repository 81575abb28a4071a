// A Store held in memory: the whole contract of store.h (transactions, the
// fenced intent checks, the lease and its rules), without a file. Used by the
// fast apply unit tests; held to the same contract
// as SqliteStore by tests/state/store_conformance_test.cc. Handles made by
// OpenAnother share one state, like two connections to one file: a
// transaction open on one handle makes the others' writes wait (up to 5 s,
// then Conflict, as a busy file does) and their reads see what was
// committed before it.
#pragma once

#include <memory>
#include <string>

#include "state/store.h"

namespace otaroll::state {

class MemoryStore final : public Store {
 public:
  // An empty state that exists (as a state file just created).
  MemoryStore();
  // A state holding `snapshot` (its rollouts are recorded from its attempts).
  explicit MemoryStore(Snapshot snapshot);
  ~MemoryStore() override;

  const std::string& where() const override;
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

  struct Shared;  // the state all handles share (memory_store.cc)

 protected:
  core::Status BeginTransaction(Durability durability) override;
  core::Status CommitTransaction() override;
  void RollbackTransaction() override;

 private:
  explicit MemoryStore(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

}  // namespace otaroll::state
