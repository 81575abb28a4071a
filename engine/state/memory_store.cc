#include "state/memory_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>

#include "state/checks.h"

namespace otaroll::state {

namespace {

// What a state file's tables hold.
struct Tables {
  std::map<std::string, RolloutRecord> rollouts;
  std::vector<Attempt> attempts;          // ordered by id
  std::vector<Observation> observations;  // every one, in the order added
  std::vector<Event> events;              // ordered by seq
  std::optional<Lease> lease;
  int64_t last_epoch = 0;                                               // the greatest lease epoch handed out
  std::map<std::string, int64_t> cursors;                               // by sink
  std::map<std::pair<std::string, std::string>, Condition> conditions;  // by (rollout, stage)
  int64_t serial = 0;  // grows on every change but to the lease and last_seen
  int64_t next_attempt_id = 1;
  int64_t next_seq = 1;
};

// How long a write waits for another handle's transaction (SQLite's busy timeout).
constexpr std::chrono::seconds kBusyWait{5};

Attempt* Find(Tables& t, int64_t id) {
  auto it = std::lower_bound(t.attempts.begin(), t.attempts.end(), id,
                             [](const Attempt& a, int64_t want) { return a.id < want; });
  return it != t.attempts.end() && it->id == id ? &*it : nullptr;
}

Snapshot SnapshotOf(const Tables& t, const std::string& source) {
  Snapshot s;
  s.exists = true;
  s.source = source;
  s.serial = t.serial;
  s.attempts = t.attempts;
  // The latest observation of each job: greatest observed_at, then the last added.
  for (const Observation& o : t.observations) {
    auto it = s.observations.find(o.job_id);
    if (it == s.observations.end() || o.observed_at >= it->second.observed_at) s.observations[o.job_id] = o;
  }
  return s;
}

}  // namespace

struct MemoryStore::Shared {
  std::mutex mu;
  std::condition_variable turn;         // signalled when a transaction ends
  const MemoryStore* writer = nullptr;  // the handle with an open transaction
  Tables data;                          // with the open transaction's writes
  Tables committed;                     // what other handles read meanwhile
  std::string where = "memory";

  // What handle `h` reads: the committed tables while another handle's
  // transaction is open, else the current ones.
  const Tables& VisibleTo(const MemoryStore* h) const { return writer != nullptr && writer != h ? committed : data; }
};

namespace {

// The refusal SQLite gives for a broken constraint, said for memory.
core::Status Refused(const std::string& where, const std::string& doing, const std::string& detail) {
  return core::Status::Invalid(
      fmt::format("state file {} refused a change while {} ({}); this is a bug in otaroll, please report it", where,
                  doing, detail));
}

// The table constraints of an attempt row (schema.cc), `self` = its old row.
core::Status CheckRow(const Tables& t, const Attempt& a, const Attempt* self, const std::string& where,
                      const std::string& doing) {
  if (!t.rollouts.count(a.rollout)) return Refused(where, doing, "FOREIGN KEY constraint failed");
  if (a.part < 0 || a.parts < 1 || a.part >= a.parts) return Refused(where, doing, "CHECK constraint failed");
  const bool has_job = a.status == AttemptStatus::kCreated || a.status == AttemptStatus::kSuperseded ||
                       a.status == AttemptStatus::kCancelled;
  if (has_job && a.job_id.empty()) return Refused(where, doing, "CHECK constraint failed");
  if (a.superseded_by && (a.status != AttemptStatus::kSuperseded || *a.superseded_by == a.id)) {
    return Refused(where, doing, "CHECK constraint failed");
  }
  for (const Attempt& other : t.attempts) {
    if (&other == self) continue;
    if (other.intent_id == a.intent_id) return Refused(where, doing, "UNIQUE constraint failed: attempts.intent_id");
    if (!a.job_id.empty() && other.job_id == a.job_id) {
      return Refused(where, doing, "UNIQUE constraint failed: attempts.job_id");
    }
  }
  return core::Status::Ok();
}

}  // namespace

MemoryStore::MemoryStore() : shared_(std::make_shared<Shared>()) {}

MemoryStore::MemoryStore(Snapshot snapshot) : MemoryStore() {
  Tables& t = shared_->data;
  if (!snapshot.source.empty()) shared_->where = snapshot.source;
  t.serial = snapshot.serial;
  for (const Attempt& a : snapshot.attempts) {
    RolloutRecord& r = t.rollouts[a.rollout];
    r.name = a.rollout;
    t.next_attempt_id = std::max(t.next_attempt_id, a.id + 1);
  }
  t.attempts = std::move(snapshot.attempts);
  std::sort(t.attempts.begin(), t.attempts.end(), [](const Attempt& x, const Attempt& y) { return x.id < y.id; });
  for (auto& [job, o] : snapshot.observations) t.observations.push_back(std::move(o));
  shared_->committed = t;
}

MemoryStore::MemoryStore(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

MemoryStore::~MemoryStore() {
  if (shared_->writer == this) RollbackTransaction();
}

const std::string& MemoryStore::where() const {
  return shared_->where;
}

core::Result<std::unique_ptr<Store>> MemoryStore::OpenAnother() {
  return std::unique_ptr<Store>(new MemoryStore(shared_));
}

core::Result<Snapshot> MemoryStore::Load() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return SnapshotOf(shared_->VisibleTo(this), shared_->where);
}

core::Result<int64_t> MemoryStore::Serial() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->VisibleTo(this).serial;
}

core::Status MemoryStore::BeginTransaction(Durability /*durability: memory is never durable*/) {
  std::unique_lock<std::mutex> lock(shared_->mu);
  if (shared_->writer == this) {
    return core::Status::Invalid(fmt::format(
        "a transaction is already open on state file {}; commit it before beginning another", shared_->where));
  }
  if (!shared_->turn.wait_for(lock, kBusyWait, [&] { return shared_->writer == nullptr; })) {
    return core::Status::Conflict(fmt::format(
        "state file {} stayed locked by another process while beginning a transaction; retry when that process has "
        "finished",
        shared_->where));
  }
  shared_->writer = this;
  shared_->committed = shared_->data;
  return core::Status::Ok();
}

core::Status MemoryStore::CommitTransaction() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->writer = nullptr;
  }
  shared_->turn.notify_all();
  return core::Status::Ok();
}

void MemoryStore::RollbackTransaction() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->data = shared_->committed;
    shared_->writer = nullptr;
  }
  shared_->turn.notify_all();
}

// Runs `body` on the tables under the lock, after any other handle's
// transaction; `body` checks everything before it changes anything.
template <class Body>
auto MemoryWrite(MemoryStore::Shared& shared, const MemoryStore* self, const std::string& doing, Body&& body)
    -> decltype(body(shared.data)) {
  std::unique_lock<std::mutex> lock(shared.mu);
  if (!shared.turn.wait_for(lock, kBusyWait, [&] { return shared.writer == nullptr || shared.writer == self; })) {
    return core::Status::Conflict(
        fmt::format("state file {} stayed locked by another process while {}; retry when that process has finished",
                    shared.where, doing));
  }
  return body(shared.data);
}

core::Status MemoryStore::UpsertRollout(const std::string& name, const std::string& product_key,
                                        const std::string& firmware_id, core::Time now) {
  return MemoryWrite(*shared_, this, "recording rollout " + name, [&](Tables& t) -> core::Status {
    auto [it, added] = t.rollouts.try_emplace(name, RolloutRecord{name, product_key, firmware_id, now, now});
    RolloutRecord& r = it->second;
    if (!added) {
      if (r.product_key != product_key || r.firmware_id != firmware_id) ++t.serial;
      r.product_key = product_key;
      r.firmware_id = firmware_id;
      r.last_seen = now;
    } else {
      ++t.serial;
    }
    return core::Status::Ok();
  });
}

core::Result<int64_t> MemoryStore::InsertAttempt(const Attempt& attempt) {
  if (auto checked = CheckRequest(attempt, shared_->where); !checked.ok()) return checked;
  const std::string doing =
      fmt::format("recording attempt {} of {}/{}", attempt.intent_id, attempt.rollout, attempt.stage);
  return MemoryWrite(*shared_, this, doing, [&](Tables& t) -> core::Result<int64_t> {
    if (attempt.status == AttemptStatus::kPending) {
      if (auto s = CheckFence(t.lease, fence(), fence_epoch(), attempt, shared_->where); !s.ok()) return s;
      for (const Attempt& other : t.attempts) {
        if (other.rollout == attempt.rollout && other.stage == attempt.stage && other.part == attempt.part &&
            other.spec_hash == attempt.spec_hash && Live(other)) {
          return LiveIntentConflict(attempt, other.intent_id, StatusName(other.status));
        }
      }
    }
    Attempt row = attempt;
    row.id = t.next_attempt_id;
    if (auto s = CheckRow(t, row, nullptr, shared_->where, doing); !s.ok()) return s;
    ++t.next_attempt_id;
    ++t.serial;
    t.attempts.push_back(std::move(row));
    return t.attempts.back().id;
  });
}

core::Status MemoryStore::UpdateAttempt(const Attempt& attempt) {
  if (auto checked = CheckRequest(attempt, shared_->where); !checked.ok()) return checked;
  const std::string doing = fmt::format("updating attempt {} ({})", attempt.id, attempt.intent_id);
  return MemoryWrite(*shared_, this, doing, [&](Tables& t) -> core::Status {
    Attempt* old = Find(t, attempt.id);
    if (old == nullptr) return NoSuchAttempt(attempt.id, shared_->where);
    if (!SameIntent(*old, attempt)) return IntentChanged(attempt.id, shared_->where);
    if (auto s = CheckRow(t, attempt, old, shared_->where, doing); !s.ok()) return s;
    if (attempt.superseded_by && Find(t, *attempt.superseded_by) == nullptr) {
      return Refused(shared_->where, doing, "FOREIGN KEY constraint failed");
    }
    *old = attempt;
    ++t.serial;
    return core::Status::Ok();
  });
}

core::Status MemoryStore::MarkSuperseded(int64_t old_id, int64_t new_id) {
  const std::string doing = fmt::format("marking attempt {} superseded by attempt {}", old_id, new_id);
  return MemoryWrite(*shared_, this, doing, [&](Tables& t) -> core::Status {
    Attempt* old_a = Find(t, old_id);
    if (old_a == nullptr) return NoSuchAttempt(old_id, shared_->where);
    Attempt* new_a = Find(t, new_id);
    if (new_a == nullptr) return NoSuchAttempt(new_id, shared_->where);
    if (auto s = CheckSupersede(*old_a, *new_a, shared_->where); !s.ok()) return s;
    old_a->status = AttemptStatus::kSuperseded;
    old_a->superseded_by = new_id;
    old_a->updated_at = new_a->updated_at;
    ++t.serial;
    return core::Status::Ok();
  });
}

core::Status MemoryStore::AddObservation(const Observation& observation) {
  if (auto s = CheckObservation(observation, shared_->where); !s.ok()) return s;
  const std::string doing = "recording an observation of job " + observation.job_id;
  return MemoryWrite(*shared_, this, doing, [&](Tables& t) -> core::Status {
    bool negative = observation.total < 0;
    for (const auto& [status, n] : observation.by_status) negative = negative || n < 0;
    if (negative) return Refused(shared_->where, doing, "CHECK constraint failed");
    Observation o = observation;
    std::erase_if(o.by_status, [](const auto& entry) { return entry.second == 0; });  // as read back from a file
    t.observations.push_back(std::move(o));
    ++t.serial;
    return core::Status::Ok();
  });
}

core::Status MemoryStore::AppendEvent(const Event& event) {
  auto data = EventData(event, shared_->where);
  if (!data.ok()) return data.status();
  return MemoryWrite(*shared_, this, "recording event " + event.kind, [&](Tables& t) -> core::Status {
    Event e = event;
    e.data_json = *data;
    e.seq = t.next_seq++;
    t.events.push_back(std::move(e));
    ++t.serial;
    return core::Status::Ok();
  });
}

core::Result<std::vector<Event>> MemoryStore::Events(const std::string& rollout_filter) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  const Tables& t = shared_->VisibleTo(this);
  std::vector<Event> out;
  for (const Event& e : t.events) {
    if (rollout_filter.empty() || e.rollout == rollout_filter) out.push_back(e);
  }
  return out;
}

core::Result<std::vector<Event>> MemoryStore::RecentEvents(const std::string& rollout_filter, size_t limit) {
  auto all = Events(rollout_filter);
  if (!all.ok() || all->size() <= limit) return all;
  return std::vector<Event>(all->end() - static_cast<std::ptrdiff_t>(limit), all->end());
}

core::Result<std::vector<RolloutRecord>> MemoryStore::Rollouts() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  const Tables& t = shared_->VisibleTo(this);
  std::vector<RolloutRecord> out;
  for (const auto& [name, r] : t.rollouts) out.push_back(r);
  return out;
}

core::Result<std::vector<Event>> MemoryStore::EventsAfter(int64_t after, size_t limit) {
  std::lock_guard<std::mutex> lock(shared_->mu);
  const Tables& t = shared_->VisibleTo(this);
  std::vector<Event> out;
  for (const Event& e : t.events) {
    if (out.size() >= limit) break;
    if (e.seq > after) out.push_back(e);
  }
  return out;
}

core::Result<int64_t> MemoryStore::Cursor(const std::string& sink) {
  return MemoryWrite(*shared_, this, "reading a notification cursor", [&](Tables& t) -> core::Result<int64_t> {
    auto [it, added] = t.cursors.emplace(sink, t.events.empty() ? 0 : t.events.back().seq);
    return it->second;
  });
}

core::Status MemoryStore::SetCursor(const std::string& sink, int64_t seq) {
  return MemoryWrite(*shared_, this, "moving a notification cursor", [&](Tables& t) -> core::Status {
    int64_t& cursor = t.cursors[sink];
    cursor = std::max(cursor, seq);
    return core::Status::Ok();
  });
}

core::Result<std::vector<Condition>> MemoryStore::Conditions() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  std::vector<Condition> out;
  for (const auto& [key, c] : shared_->VisibleTo(this).conditions) out.push_back(c);
  return out;
}

core::Status MemoryStore::PutCondition(const Condition& c) {
  return MemoryWrite(*shared_, this, "recording a condition", [&](Tables& t) -> core::Status {
    t.conditions[{c.rollout, c.stage}] = c;
    return core::Status::Ok();
  });
}

core::Status MemoryStore::ClearCondition(const std::string& rollout, const std::string& stage) {
  return MemoryWrite(*shared_, this, "clearing a condition", [&](Tables& t) -> core::Status {
    t.conditions.erase({rollout, stage});
    return core::Status::Ok();
  });
}

core::Result<LeaseAcquired> MemoryStore::AcquireLease(const Lease& me, core::Time now) {
  return MemoryWrite(*shared_, this, "taking the lease", [&](Tables& t) -> core::Result<LeaseAcquired> {
    auto got = DecideAcquire(t.lease, me, now, shared_->where, t.last_epoch);
    if (got.ok()) {
      t.lease = got->lease;
      t.last_epoch = got->lease.epoch;
    }
    return got;
  });
}

core::Status MemoryStore::Heartbeat(const std::string& token, core::Time now) {
  return MemoryWrite(*shared_, this, "renewing the lease", [&](Tables& t) -> core::Status {
    if (!t.lease || t.lease->token != token) return LeaseLost(t.lease, shared_->where);
    t.lease->heartbeat_at = now;
    return core::Status::Ok();
  });
}

core::Status MemoryStore::ReleaseLease(const std::string& token) {
  return MemoryWrite(*shared_, this, "releasing the lease", [&](Tables& t) -> core::Status {
    if (t.lease && t.lease->token == token) t.lease.reset();
    return core::Status::Ok();
  });
}

core::Result<std::optional<Lease>> MemoryStore::ReadLease() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  const Tables& t = shared_->VisibleTo(this);
  return t.lease;
}

core::Result<std::optional<Lease>> MemoryStore::ForceUnlock(bool force) {
  return MemoryWrite(*shared_, this, "removing the lease", [&](Tables& t) -> core::Result<std::optional<Lease>> {
    if (auto s = CheckForceUnlock(t.lease, force, shared_->where); !s.ok()) return s;
    std::optional<Lease> removed = std::move(t.lease);
    t.lease.reset();
    return removed;
  });
}

}  // namespace otaroll::state
