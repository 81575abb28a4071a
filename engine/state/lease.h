// The single-writer lease (SPEC §4, docs/state.md): at most one process
// applies per state. The rules of taking, keeping and removing it live here,
// once, and every store backend follows them; the stores only keep the row.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "core/time.h"

namespace otaroll::state {

struct Attempt;

struct Lease {
  std::string host;
  int64_t pid = 0;
  core::Time started_at{};
  core::Time heartbeat_at{};
  int64_t ttl_seconds = 30;
  std::string token;  // random, identifies this holder
  // Grows by one on every acquisition that is not a renewal (a first take, a
  // takeover, a take after a release): with the token it fences intents, so
  // a holder that lost the lease and took it again later is told apart.
  int64_t epoch = 0;
};

struct LeaseAcquired {
  Lease lease;                           // ours
  std::optional<Lease> taken_over_from;  // a dead or expired holder we replaced
};

// This machine's host name (gethostname); "" when it cannot be read.
std::string LocalHostName();
// The holder of `l`, a process on this host, certainly no longer exists: no
// process has its pid, the process is a zombie (killed or exited, not yet
// reaped by its parent), or the process that has it started after the
// holder's last heartbeat (the pid was reused, e.g. after a reboot).
bool HolderGone(const Lease& l);
// The holder of `l` is a live process on this host (force-unlock refuses it).
bool HolderAliveHere(const Lease& l);
// A fresh random lease token (128 bits from the OS, as 32 hex digits).
std::string NewLeaseToken();
// A lease for this process: LocalHostName(), getpid(), `ttl_seconds` and a
// fresh token (the times are set by AcquireLease).
Lease ThisProcessLease(int64_t ttl_seconds = 30);

// The rules, for a store named `where` in messages (a path or a URL):

// AcquireLease: the lease to write for `me` at `now` when `held` is the
// current row: taken when nobody holds it, when the holder's heartbeat is
// older than its TTL, or when the holder is a process on this host that no
// longer exists; kept (same started_at) when `me` already holds it.
// Otherwise Conflict, naming the holder and what to do. Invalid when `me`
// has no token or no TTL. `last_epoch` is the greatest epoch the store ever
// handed out: a lease taken anew gets the next one, a renewal keeps its own.
core::Result<LeaseAcquired> DecideAcquire(const std::optional<Lease>& held, const Lease& me, core::Time now,
                                          const std::string& where, int64_t last_epoch);
// How long before its TTL runs out a lease stops being used to create: an
// intent is written, and a create is sent, only while at least this much of
// the lease is left (a third of the TTL). A create sent then has that long
// to be answered before another process may take over and look it up.
std::chrono::milliseconds SafetyMargin(int64_t ttl_seconds);
// Heartbeat: the Conflict for a heartbeat of `token` that found `held`
// instead (removed, or taken by another process).
core::Status LeaseLost(const std::optional<Lease>& held, const std::string& where);
// ForceUnlock: Conflict, removing nothing, when `held` is a live process on
// this host and not `force`.
core::Status CheckForceUnlock(const std::optional<Lease>& held, bool force, const std::string& where);
// An intent write fenced by `fence` (a token; "" = not fenced) at `epoch`:
// Conflict when the lease is no longer held with that token at that epoch.
core::Status CheckFence(const std::optional<Lease>& held, const std::string& fence, int64_t epoch,
                        const Attempt& intent, const std::string& where);

}  // namespace otaroll::state
