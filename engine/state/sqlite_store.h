// The SQLite state file (SPEC §4, docs/state.md): a read-only, lock-free
// loader for `otaroll plan`, and the read-write store used by apply.
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

struct RolloutRecord {
  std::string name;
  std::string product_key;
  std::string firmware_id;
  core::Time first_seen{};
  core::Time last_seen{};
};

class SqliteStore;

// The single-writer lease (SPEC §4): at most one process applies per state file.
struct Lease {
  std::string host;
  int64_t pid = 0;
  core::Time started_at{};
  core::Time heartbeat_at{};
  int64_t ttl_seconds = 30;
  std::string token;  // random, identifies this holder
};

struct LeaseAcquired {
  Lease lease;                           // ours
  std::optional<Lease> taken_over_from;  // a dead or expired holder we replaced
};

// This machine's host name (gethostname); "" when it cannot be read.
std::string LocalHostName();
// The holder of `l`, a process on this host, certainly no longer exists: no
// process has its pid, or the process that has it started after the
// holder's last heartbeat (the pid was reused, e.g. after a reboot).
bool HolderGone(const Lease& l);
// The holder of `l` is a live process on this host (force-unlock refuses it).
bool HolderAliveHere(const Lease& l);
// A fresh random lease token (128 bits from the OS, as 32 hex digits).
std::string NewLeaseToken();
// A lease for this process: LocalHostName(), getpid(), `ttl_seconds` and a
// fresh token (the times are set by AcquireLease).
Lease ThisProcessLease(int64_t ttl_seconds = 30);

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
  core::Status UpsertRollout(const std::string& name, const std::string& product_key, const std::string& firmware_id,
                             core::Time now);
  // Attempt.id is ignored; returns the new id. The rollout must be recorded.
  // An intent (status pending) is refused with Conflict, in the same
  // transaction that would write it, when a fence token is set and the lease
  // is no longer held with that token, and when the same part of the same
  // stage and spec already has a live attempt (pending, unknown or created):
  // a process that lost the lease, or planned from an old read, can never
  // write an intent, so it can never create.
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

  // Takes the lease for `me` (host, pid, ttl, token; times are set to now)
  // when nobody holds it, when the holder's heartbeat is older than its TTL,
  // or when the holder is a process on this host that no longer exists.
  // Otherwise Conflict, naming the holder and what to do. Never changes the
  // serial.
  core::Result<LeaseAcquired> AcquireLease(const Lease& me, core::Time now);
  // Refreshes our heartbeat; Conflict when the lease is no longer ours
  // (force-unlocked, or taken over after expiry).
  core::Status Heartbeat(const std::string& token, core::Time now);
  // Gives the lease up if it is still ours (no error if it is not).
  core::Status ReleaseLease(const std::string& token);
  core::Result<std::optional<Lease>> ReadLease();
  // Removes the lease and returns it (`otaroll state force-unlock`). Refuses
  // with Conflict, removing nothing, when the holder is a live process on
  // this host, unless `force`.
  core::Result<std::optional<Lease>> ForceUnlock(bool force = false);

  // From now on every intent written through this store checks that the
  // lease is still held with `token` (see InsertAttempt). Set by apply right
  // after it takes the lease.
  void SetFence(std::string token) { fence_ = std::move(token); }

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

  // Ordered by seq; "" = every rollout.
  core::Result<std::vector<Event>> Events(const std::string& rollout_filter);
  // Ordered by name.
  core::Result<std::vector<RolloutRecord>> Rollouts();

  const std::string& path() const { return path_; }

 private:
  friend class Transaction;
  SqliteStore(std::unique_ptr<Db> db, std::string path);
  // Runs body in a write transaction (or in the open Transaction).
  core::Status Write(const std::string& doing, const std::function<core::Status()>& body);
  // The fence and live-intent checks of InsertAttempt, inside its transaction.
  core::Status CheckIntent(const Attempt& attempt);

  std::unique_ptr<Db> db_;
  std::string path_;
  bool in_transaction_ = false;
  std::string fence_;  // the lease token intents are fenced by; "" = none
};

}  // namespace otaroll::state
