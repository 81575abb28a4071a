// The state store seam (SPEC §4, docs/state.md). The planner reads a
// Snapshot; apply and the daemon write attempts, events and observations and
// hold the lease through this interface, and through nothing else.
// SqliteStore (sqlite_store.h) is the real one, MemoryStore (memory_store.h)
// the in-memory one; tests/state/store_conformance_test.cc holds both to the
// same contract. OpenStore (open.h) picks one from the --state value.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "state/events.h"
#include "state/lease.h"
#include "state/snapshot.h"

namespace otaroll::state {

struct RolloutRecord {
  std::string name;
  std::string product_key;
  std::string firmware_id;
  core::Time first_seen{};
  core::Time last_seen{};
};

class Store;

// How a transaction's commit must outlast failures.
enum class Durability {
  // On disk before Commit returns: survives a power loss (an intent).
  kDurable,
  // Committed, atomic and seen by every reader at once, and it survives the
  // process being killed; a power loss or OS crash before the next durable
  // commit may undo it. Only for a write whose loss the protocol already
  // covers: a create's outcome, whose durable intent is looked up on the
  // platform when its outcome is missing (SPEC §4 steps 6–7).
  kLazy,
};

// An explicit write transaction. Writer methods called on the same store
// while it is open join it; it rolls back on destruction unless committed.
// Must not outlive its store.
class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  core::Status Commit();

 private:
  friend class Store;
  explicit Transaction(Store* store) : store_(store) {}
  Store* store_;
};

class Store {
 public:
  virtual ~Store() = default;

  // What messages call this state: its path or URL.
  virtual const std::string& where() const = 0;
  // Another handle on the same state, for a thread of its own (the lease
  // heartbeat): a connection of its own; its writes wait for, and its reads
  // never see, a transaction open on this handle.
  virtual core::Result<std::unique_ptr<Store>> OpenAnother() = 0;

  // A consistent read of the whole state (one read transaction). Inside an
  // open Transaction it sees that transaction's own writes.
  virtual core::Result<Snapshot> Load() = 0;
  // Snapshot::serial alone, without reading the rest: a caller that keeps a
  // snapshot (the daemon between cycles) reads the state again only when it
  // changed. Inside an open Transaction it sees that transaction's writes.
  virtual core::Result<int64_t> Serial() = 0;

  // Fails (Invalid) when a transaction is already open on this handle.
  core::Result<Transaction> Begin(Durability durability = Durability::kDurable);

  // Each writer is one committed transaction, unless a Transaction is open.
  virtual core::Status UpsertRollout(const std::string& name, const std::string& product_key,
                                     const std::string& firmware_id, core::Time now) = 0;
  // Attempt.id is ignored; returns the new id. The rollout must be recorded.
  // An intent (status pending) is refused with Conflict, in the same
  // transaction that would write it, when a fence token is set and the lease
  // is no longer held with that token, and when the same part of the same
  // stage and spec already has a live attempt (pending, unknown or created):
  // a process that lost the lease, or planned from an old read, can never
  // write an intent, so it can never create. A request carrying a call
  // parameter (AccessKeyId, Signature, …) is refused (Invalid).
  virtual core::Result<int64_t> InsertAttempt(const Attempt& attempt) = 0;
  // Updates the outcome fields (status, job_*, request_id, error_*,
  // attempt_count, updated_at, superseded_by) of attempt.id. The intent fields
  // (intent_id, rollout, stage, part, parts, spec_hash, request, created_at)
  // never change: a mismatch is refused (Invalid); NotFound for no such id.
  virtual core::Status UpdateAttempt(const Attempt& attempt) = 0;
  // created → superseded by `new_id`, a created attempt of the same stage;
  // updated_at becomes the replacement's updated_at.
  virtual core::Status MarkSuperseded(int64_t old_id, int64_t new_id) = 0;
  // Task statuses must be API.md's (Invalid otherwise).
  virtual core::Status AddObservation(const Observation& observation) = 0;
  // Event.seq is assigned; data_json must be JSON or "" ("{}").
  virtual core::Status AppendEvent(const Event& event) = 0;

  // Ordered by seq; "" = every rollout.
  virtual core::Result<std::vector<Event>> Events(const std::string& rollout_filter) = 0;
  // The last `limit` events of Events(rollout_filter), oldest first,
  // without reading the others (the status page's recent events).
  virtual core::Result<std::vector<Event>> RecentEvents(const std::string& rollout_filter, size_t limit) = 0;
  // Ordered by name.
  virtual core::Result<std::vector<RolloutRecord>> Rollouts() = 0;

  // Notifications (docs/notifications.md): the event log is their outbox.
  // None of these writes changes the serial: delivering notifications and
  // tracking conditions is bookkeeping (like a heartbeat), not history.
  // Events with seq > `after`, oldest first, at most `limit`.
  virtual core::Result<std::vector<Event>> EventsAfter(int64_t after, size_t limit) = 0;
  // The delivery cursor of `sink` (the seq of the last event it delivered or
  // passed over). A sink seen for the first time starts at the end of the
  // log as it is now: a new webhook is not sent the whole history.
  virtual core::Result<int64_t> Cursor(const std::string& sink) = 0;
  // Moves the cursor of `sink` to `seq`; never backwards (a smaller seq is
  // ignored: two processes delivering at once do not send events again).
  virtual core::Status SetCursor(const std::string& sink, int64_t seq) = 0;
  // Ordered by rollout, then stage.
  virtual core::Result<std::vector<Condition>> Conditions() = 0;
  // Inserts or replaces the condition of (rollout, stage).
  virtual core::Status PutCondition(const Condition& condition) = 0;
  // Removes the condition of (rollout, stage), if any.
  virtual core::Status ClearCondition(const std::string& rollout, const std::string& stage) = 0;

  // The lease (rules in lease.h). AcquireLease takes it for `me` (times set
  // to now) or fails with Conflict naming the holder; it never changes the
  // serial. Heartbeat refreshes ours, Conflict when it is no longer ours.
  // ReleaseLease gives it up if it is still ours (no error if it is not).
  // ForceUnlock removes it and returns it (`otaroll state force-unlock`),
  // refusing a live holder on this host unless `force`.
  virtual core::Result<LeaseAcquired> AcquireLease(const Lease& me, core::Time now) = 0;
  virtual core::Status Heartbeat(const std::string& token, core::Time now) = 0;
  virtual core::Status ReleaseLease(const std::string& token) = 0;
  virtual core::Result<std::optional<Lease>> ReadLease() = 0;
  virtual core::Result<std::optional<Lease>> ForceUnlock(bool force) = 0;

  // From now on every intent written through this handle checks that the
  // lease is still held with `token` at `epoch` (see InsertAttempt); ""
  // stops checking. Set by apply right after it takes the lease.
  void SetFence(std::string token, int64_t epoch) {
    fence_ = std::move(token);
    fence_epoch_ = epoch;
  }

 protected:
  const std::string& fence() const { return fence_; }
  int64_t fence_epoch() const { return fence_epoch_; }
  // The transaction behind Begin(): Invalid when one is open on this handle.
  virtual core::Status BeginTransaction(Durability durability) = 0;
  virtual core::Status CommitTransaction() = 0;
  virtual void RollbackTransaction() = 0;

 private:
  friend class Transaction;
  std::string fence_;  // the lease token intents are fenced by; "" = none
  int64_t fence_epoch_ = 0;
};

}  // namespace otaroll::state
